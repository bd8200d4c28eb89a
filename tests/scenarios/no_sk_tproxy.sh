#!/bin/bash
# Seed 001: a UDP tproxy answers from a socket without IP_TRANSPARENT; the client is connected
# to the original destination, so no socket matches the reply and it is dropped NO_SOCKET.
# Healthy variant: the answer comes from an IP_TRANSPARENT socket bound to the original
# destination and is delivered. IPv4 and IPv6.
. "$(dirname "$0")/lib.sh"
SCENARIO=no_sk_tproxy
T=$(ns_new tp); P=$(ns_new tpx)
veth $T vt$$ $P vp$$
ip -n $T addr add 10.77.0.1/24 dev vt$$; ip -n $P addr add 10.77.0.2/24 dev vp$$
ip -n $T route add default via 10.77.0.2
ip -n $T addr add fd77::1/64 dev vt$$ nodad; ip -n $P addr add fd77::2/64 dev vp$$ nodad
ip -n $T -6 route add default via fd77::2
for fam in 4 6; do
	if [ $fam = 4 ]; then on=127.0.0.1; lis=127.0.0.1:15353; dst=198.51.100.53:53; dre='198\.51\.100\.53:53'
	else on=::1; lis='[::1]:15353'; dst='[2001:db8::53]:53'; dre='\[2001:db8::53\]:53'; fi
	if ! tproxy_rules $T $fam $on; then bad "v$fam: TPROXY rules could not be installed"; continue; fi
	for mode in plain transparent; do
		rm -f $WORK/ready
		nt $T tproxy-proxy --listen $lis --reply-mode $mode --timeout 60000 --ready-file $WORK/ready >$WORK/proxy.$fam.$mode &
		wait_file $WORK/ready
		out=$WORK/$mode.$fam
		if [ $mode = plain ]; then
			# the client keeps its socket open while pwhy asks sock_diag about the drop
			pwhy_run $out --events --expect no-sk 'udp' -- \
				ip netns exec $T $NETTOOL udp-send --to $dst --connect --wait-reply --timeout 3000
			expect_status $? 0 "v$fam plain reply: run --expect no-sk exits 0" $out
			expect_grep $out "kfree_skb\(NO_SOCKET\)" "v$fam plain reply: dropped with NO_SOCKET"
			expect_grep $out "^FINDING no-sk .*nearest socket .*connected to another peer" "v$fam plain reply: nearest socket is the client, connected to another peer"
			expect_grep $out "hint: .*IP_TRANSPARENT socket bound to the original destination" "v$fam plain reply: hint names IP_TRANSPARENT and the original destination"
			expect_grep $out "socket_peer=$dre" "v$fam plain reply: the client's peer is the original destination"
			expect_func_path $out "v$fam plain reply"
		else
			pwhy_run $out --events --expect-none no-sk 'udp' -- \
				ip netns exec $T $NETTOOL udp-send --to $dst --connect --wait-reply --timeout 1000
			expect_status $? 0 "v$fam transparent reply: no NO_SK finding" $out
			expect_no_grep $out "^FINDING" "v$fam transparent reply: silent"
			expect_grep $out "^reply from $dre: answer" "v$fam transparent reply: the client received the answer"
		fi
		ns_kill $T; wait
	done
done
finish
