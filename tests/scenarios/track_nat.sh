#!/bin/bash
# skb tracking: a datagram matched by its ORIGINAL destination is still followed after a DNAT in
# a router namespace rewrote that destination, and a clone of it (an AF_PACKET socket on the
# router's egress gets one) is followed and linked to it. Without tracking, neither is shown.
#   client A 10.91.1.1 --a0/b0--> router B (DNAT 10.91.1.2:5000 -> 10.91.2.2:6000) --b1/c0--> server C
. "$(dirname "$0")/lib.sh"
SCENARIO=track_nat
A=$(ns_new nat-a); B=$(ns_new nat-b); C=$(ns_new nat-c)
# no IPv6 and no ARP on the links: the packet socket must read the datagram, nothing else
for ns in $A $B $C; do ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
veth $A a0 $B b0 && veth $B b1 $C c0 || { bad "cannot build the namespaces"; finish; }
ip -n $A addr add 10.91.1.1/24 dev a0
ip -n $B addr add 10.91.1.2/24 dev b0
ip -n $B addr add 10.91.2.1/24 dev b1
ip -n $C addr add 10.91.2.2/24 dev c0
ip -n $C route add default via 10.91.2.1
ip netns exec $B sysctl -qw net.ipv4.ip_forward=1
mac() { ip -n $1 -o link show $2 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'; }
ip -n $A neigh replace 10.91.1.2 lladdr $(mac $B b0) dev a0 nud permanent
ip -n $B neigh replace 10.91.1.1 lladdr $(mac $A a0) dev b0 nud permanent
ip -n $B neigh replace 10.91.2.2 lladdr $(mac $C c0) dev b1 nud permanent
ip -n $C neigh replace 10.91.2.1 lladdr $(mac $B b1) dev c0 nud permanent

dnat_rule() {
	if command -v nft >/dev/null && ip netns exec $B nft -f - 2>/dev/null <<-EOF
	table ip pwnat {
		chain pre {
			type nat hook prerouting priority dstnat; policy accept;
			ip daddr 10.91.1.2 udp dport 5000 dnat to 10.91.2.2:6000
		}
	}
	EOF
	then return 0; fi
	local f
	for f in iptables iptables-legacy; do
		command -v $f >/dev/null || continue
		ip netns exec $B $f -t nat -A PREROUTING -d 10.91.1.2 -p udp --dport 5000 \
			-j DNAT --to-destination 10.91.2.2:6000 2>/dev/null && return 0
	done
	return 1
}
if ! dnat_rule; then
	skip "no nftables/iptables NAT on this kernel"
	finish
fi

FILTER='udp and dst host 10.91.1.2 and dst port 5000'
PRE='10\.91\.1\.1:[0-9]+->10\.91\.1\.2:5000\(udp\)'
POST='10\.91\.1\.1:[0-9]+->10\.91\.2\.2:6000\(udp\)'

# one datagram through the NAT; the server in C and a packet socket on B's egress read it
send_once() {	# OUT [pwhy flags...]
	local out=$1; shift
	rm -f $WORK/ready1 $WORK/ready2
	# attaching can take long on slow machines: the readers wait, and are stopped after the run
	nt $C udp-serve --listen 10.91.2.2:6000 --timeout 600000 --ready-file $WORK/ready1 >$out.srv &
	nt $B pkt-recv --bind-dev b1 --timeout 600000 --ready-file $WORK/ready2 >$out.pkt &
	wait_file $WORK/ready1; wait_file $WORK/ready2
	# the readers run after the send returns: give them a second before the run ends
	pwhy_run $out --events --timeout 20 "$@" "$FILTER" -- \
		ip netns exec $A sh -c "$NETTOOL udp-send --to 10.91.1.2:5000 --payload natme; sleep 2"
	local st=$?
	ns_kill $B; ns_kill $C
	wait
	return $st
}

# the skbs (addresses) of lines matching REGEX
skbs_of() { grep -E -- "$2" "$1" | awk '{print $1}' | sort -u; }

send_once $WORK/track
expect_status $? 0 "tracked run exits 0" $WORK/track
grep -q "^got .* natme" $WORK/track.srv && ok "the datagram reached the server behind the DNAT" ||
	bad "the datagram did not reach the server: $(cat $WORK/track.srv)"
expect_grep $WORK/track "$PRE" "the datagram is shown with its original destination"
expect_grep $WORK/track "$POST" "after the DNAT it is still shown, with the new destination"
common=$(comm -12 <(skbs_of $WORK/track "$PRE") <(skbs_of $WORK/track "$POST"))
if [ -n "$common" ]; then ok "the same skb is shown before and after the rewrite ($(echo $common | head -c 18))"
else bad "no skb shown both before and after the rewrite"; sed 's/^/#   /' $WORK/track | head -20; fi
# after the rewrite: leaving B (every backend), and the UDP receive in C (function probes;
# UDP copies linear datagrams to the reader without a tracepoint)
expect_grep $WORK/track "b1:[0-9]+ .*$POST +net_dev_queue" "the rewritten datagram is followed out of the router"
case $(used_backend $WORK/track) in
fentry|kprobe)
	expect_grep $WORK/track "c0:[0-9]+ .*$POST +(__udp4_lib_rcv|udp_queue_rcv_skb|__udp_enqueue_schedule_skb)" \
		"the rewritten datagram is followed into the server's UDP receive" ;;
esac

# the packet socket on b1 gets a clone of the rewritten skb: same buffer, own address
if grep -q "^frame" $WORK/track.pkt; then
	clone_line=$(grep -E "$POST .* clone of 0x[0-9a-f]+" $WORK/track | head -1)
	if [ -n "$clone_line" ]; then
		orig=$(echo "$clone_line" | sed -E 's/.* clone of (0x[0-9a-f]+).*/\1/')
		clone=$(echo "$clone_line" | awk '{print $1}')
		ok "a clone of the tracked skb is followed ($clone)"
		[ "$orig" != "$clone" ] && grep -Eq "^$orig .*$PRE" $WORK/track &&
			ok "the clone is linked to the original skb that matched the filter ($orig)" ||
			bad "the clone names $orig, which is not the skb that matched the filter"
	else
		bad "no event of the packet socket's clone (no 'clone of' line)"
		sed 's/^/#   /' $WORK/track | head -30
	fi
else
	bad "the packet socket on b1 read nothing: $(cat $WORK/track.pkt)"
fi

# JSON carries the link as "clone_of"
send_once $WORK/json --output-json
expect_grep $WORK/json "\"tuple\":\"$POST\".*\"clone_of\":\"0x[0-9a-f]+\"" "JSON: the clone's events carry clone_of"

# negative: without tracking nothing after the rewrite is shown (the filter no longer matches)
send_once $WORK/notrack --no-track
expect_status $? 0 "--no-track run exits 0" $WORK/notrack
expect_grep $WORK/notrack "$PRE" "--no-track: the datagram before the DNAT is shown"
expect_no_grep $WORK/notrack "$POST" "--no-track: nothing after the DNAT is shown"
expect_no_grep $WORK/notrack "clone of" "--no-track: no clone is followed"

# healthy: a datagram the filter does not match at all is never shown, tracked or not
rm -f $WORK/ready1
nt $C udp-serve --listen 10.91.2.2:6001 --timeout 600000 --ready-file $WORK/ready1 >/dev/null &
wait_file $WORK/ready1
ip -n $A route add 10.91.2.0/24 via 10.91.1.2
pwhy_run $WORK/other --events --timeout 20 "$FILTER" -- \
	ip netns exec $A $NETTOOL udp-send --to 10.91.2.2:6001 --payload other
expect_grep $WORK/other "^sent 5 bytes" "the unmatched datagram was sent"
expect_no_grep $WORK/other "->10\.91\.2\.2:6001\\(udp\\)" "an unmatched datagram is not followed"
ns_kill $C
wait
finish
