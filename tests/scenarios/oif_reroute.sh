#!/bin/bash
# Seed 000: a datagram sent with IP_PKTINFO / IPV6_PKTINFO naming interface A is rerouted in
# LOCAL_OUT (a mangle MARK changes the routing key), ip(6)_route_me_harder looks it up again
# with sk_bound_dev_if (0) and the packet leaves B with A's source address and B's MAC.
# Variants: v4, v6, the no-route drop, and the healthy variant (no mark rule) that leaves A.
. "$(dirname "$0")/lib.sh"
SCENARIO=${SCENARIO_NAME:-oif_reroute}
S=$(ns_new ts); R=$(ns_new tr)
A=oa$$; B=ob$$
veth $S $A $R ra$$; veth $S $B $R rb$$
ip -n $S addr add 10.88.1.1/24 dev $A; ip -n $R addr add 10.88.1.2/24 dev ra$$
ip -n $S addr add 10.88.2.1/24 dev $B; ip -n $R addr add 10.88.2.2/24 dev rb$$
ip -n $S addr add fd88:1::1/64 dev $A nodad; ip -n $R addr add fd88:1::2/64 dev ra$$ nodad
ip -n $S addr add fd88:2::1/64 dev $B nodad; ip -n $R addr add fd88:2::2/64 dev rb$$ nodad
ip -n $R addr add 192.0.2.1/32 dev lo; ip -n $R addr add 2001:db8:88::1/128 dev lo
# B is preferred for the destination; A is what the sender asks for
ip -n $S route add 192.0.2.1/32 via 10.88.2.2 dev $B metric 10
ip -n $S route add 192.0.2.1/32 via 10.88.1.2 dev $A metric 20
ip -n $S -6 route add 2001:db8:88::1/128 via fd88:2::2 dev $B metric 10
ip -n $S -6 route add 2001:db8:88::1/128 via fd88:1::2 dev $A metric 20
MAC_A=$(ip -n $S -br link show $A | awk '{print $3}')
MAC_B=$(ip -n $S -br link show $B | awk '{print $3}')
# resolved neighbours: transmission happens in the sender's context, as on a busy host
for pair in "$A ra$$ 10.88.1.2 fd88:1::2" "$B rb$$ 10.88.2.2 fd88:2::2"; do
	set -- $pair
	peer_mac=$(ip -n $R -br link show $2 | awk '{print $3}')
	ip -n $S neigh replace $3 lladdr $peer_mac dev $1 nud permanent
	ip -n $S -6 neigh replace $4 lladdr $peer_mac dev $1 nud permanent
done
# the service the datagrams are for, so that the receiving side has nothing to report (idle
# for minutes under emulation while fentry programs attach)
nt $R udp-serve --listen 192.0.2.1:9999 --count 0 --timeout 900000 >/dev/null &
nt $R udp-serve --listen '[2001:db8:88::1]:9999' --count 0 --timeout 900000 >/dev/null &
A_IDX=$(ip netns exec $S cat /sys/class/net/$A/ifindex)
B_IDX=$(ip netns exec $S cat /sys/class/net/$B/ifindex)

mark_rule() {	# add|del
	local op=-A; [ "$1" = del ] && op=-D
	ip netns exec $S iptables -t mangle $op OUTPUT -p udp --dport 9999 -j MARK --set-mark 1
	ip netns exec $S ip6tables -t mangle $op OUTPUT -p udp --dport 9999 -j MARK --set-mark 1
}

send() {	# FAMILY OUT [pwhy run args...]
	local fam=$1 out=$2 dst; shift 2
	if [ $fam = 4 ]; then dst=192.0.2.1:9999; else dst='[2001:db8:88::1]:9999'; fi
	pwhy_run $out --events "$@" 'udp and port 9999' -- \
		ip netns exec $S $NETTOOL udp-send --to $dst ${HOW:---pktinfo-if} $A --payload oif
}

mark_rule add
for fam in 4 6; do
	if [ $fam = 4 ]; then src_re='10\.88\.1\.1'; else src_re='\[?fd88:1::1'; fi
	out=$WORK/buggy$fam
	send $fam $out --fail-on oif-change
	expect_status $? 1 "v$fam buggy: run --fail-on oif-change exits 1" $out
	expect_grep $out "^FINDING oif-change .*asked for $A:$A_IDX.*left $B:$B_IDX" "v$fam buggy: oif-change names requested $A and egress $B"
	expect_grep $out "requested_by=IP(V6)?_PKTINFO" "v$fam buggy: the request came from the pktinfo cmsg"
	expect_grep $out "reroute_mark=1 " "v$fam buggy: the mark that triggered the reroute"
	expect_grep $out "^FINDING src-mac-mismatch .*source $src_re.* belongs to $A:$A_IDX \(MAC $MAC_A\) but the frame leaves $B:$B_IDX with MAC $MAC_B" "v$fam buggy: src/MAC mismatch names both devices and MACs"
	expect_grep $out "$src_re.*net_dev_queue" "v$fam buggy: the packet path is printed"
done
# the same loss when the interface was asked for with IP_UNICAST_IF
out=$WORK/unicast4
HOW=--unicast-if send 4 $out --expect oif-change
expect_status $? 0 "v4 IP_UNICAST_IF: run --expect oif-change exits 0" $out
expect_grep $out "^FINDING oif-change .*IP_UNICAST_IF asked for $A:$A_IDX.*left $B:$B_IDX" "v4 IP_UNICAST_IF: the request and its origin are named"
# --output-json carries the same facts
out=$WORK/json4
send 4 $out --output-json --expect oif-change
expect_grep $out '^\{"finding":"oif-change",.*"requested_oif":"'$A:$A_IDX'",.*"egress_dev":"'$B:$B_IDX'"' "v4 JSON: the finding object with stable fields"
mark_rule del
for fam in 4 6; do
	out=$WORK/healthy$fam
	send $fam $out --expect-none oif-change,src-mac-mismatch
	expect_status $? 0 "v$fam healthy (no mark rule): no finding, exit 0" $out
	expect_grep $out "$A:$A_IDX .*net_dev_queue" "v$fam healthy: the packet leaves $A as asked"
	expect_no_grep $out "^FINDING" "v$fam healthy: silent"
done

# no-route variant: the only route to the destination lives in a table reached through the
# requested oif; the reroute (oif 0) finds nothing and the packet is dropped
ip -n $S route del 192.0.2.1/32 via 10.88.2.2 dev $B
ip -n $S route del 192.0.2.1/32 via 10.88.1.2 dev $A
ip -n $S route add 192.0.2.1/32 via 10.88.1.2 dev $A table 77
ip -n $S rule add oif $A lookup 77
mark_rule add
out=$WORK/noroute4
send 4 $out --expect oif-change
expect_status $? 0 "no-route: run --expect oif-change exits 0" $out
expect_grep $out "^FINDING oif-change .*found no route.*dropped" "no-route: the silent drop is reported"
expect_grep $out "send error: Network is unreachable" "no-route: the sender saw ENETUNREACH"
ns_kill $R; wait 2>/dev/null
finish
