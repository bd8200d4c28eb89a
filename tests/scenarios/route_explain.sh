#!/bin/bash
# Seed 002/004: what SO_BINDTODEVICE and SO_DONTROUTE do to the route lookup of a send, shown by
# --explain-route (keys, where the oif came from, scope, tables, result); and a datagram that
# reaches a socket bound to another device is explained at its NO_SOCKET drop.
. "$(dirname "$0")/lib.sh"
SCENARIO=route_explain
S=$(ns_new rs); R=$(ns_new rr)
veth $S ea$$ $R pa$$; veth $S eb$$ $R pb$$
ip -n $S addr add 10.66.1.1/24 dev ea$$; ip -n $R addr add 10.66.1.2/24 dev pa$$
ip -n $S addr add 10.66.2.1/24 dev eb$$; ip -n $R addr add 10.66.2.2/24 dev pb$$
ip -n $R addr add 192.0.2.66/32 dev lo
ip -n $S route add 192.0.2.66/32 via 10.66.1.2
EA=$(ip netns exec $S cat /sys/class/net/ea$$/ifindex)
EB=$(ip netns exec $S cat /sys/class/net/eb$$/ifindex)

out=$WORK/gw
pwhy_run $out --explain-route --expect-none all 'udp and port 7777' -- \
	ip netns exec $S $NETTOOL udp-send --to 192.0.2.66:7777 --dontroute
expect_grep $out "^route: send .* lookup 1: daddr 192\.0\.2\.66 .*scope link -> no route" "SO_DONTROUTE: the lookup runs with scope link and finds no route to an off-link host"
expect_grep $out "admits only on-link destinations" "SO_DONTROUTE: explained"
expect_grep $out "send error: Network is unreachable" "SO_DONTROUTE: the sender saw ENETUNREACH"

out=$WORK/bound
pwhy_run $out --explain-route --expect-none all 'udp and port 7777' -- \
	ip netns exec $S $NETTOOL udp-send --to 192.0.2.66:7777 --bind-dev eb$$
expect_grep $out "lookup 1: daddr 192\.0\.2\.66 .*oif eb$$:$EB \(SO_BINDTODEVICE\).* -> " "SO_BINDTODEVICE: the oif key and its origin"

out=$WORK/plain
pwhy_run $out --explain-route --expect-none all 'udp and port 7777' -- \
	ip netns exec $S $NETTOOL udp-send --to 192.0.2.66:7777
expect_grep $out "lookup 1: daddr 192\.0\.2\.66 .*oif 0 \(none\).*scope universe -> dev ea$$:$EA via 10\.66\.1\.2" "plain send: no oif, universe scope, gateway route"

# a socket bound to eb receives nothing that arrives on ea
nt $R udp-serve --listen 0.0.0.0:7778 --bind-dev pb$$ --count 0 --timeout 120000 --ready-file $WORK/r >/dev/null &
wait_file $WORK/r
out=$WORK/wrongdev
pwhy_run $out --expect no-sk 'udp and port 7778' -- \
	ip netns exec $S $NETTOOL udp-send --to 10.66.1.2:7778
expect_status $? 0 "bound to another device: NO_SK finding" $out
expect_grep $out "nearest_miss=bound-device" "bound to another device: the nearest socket missed on its device"
expect_grep $out "hint: the socket is bound to pb$$:[0-9]+ \(SO_BINDTODEVICE\) but the packet arrived on pa$$:[0-9]+" "bound to another device: names both devices"
ns_kill $R; wait 2>/dev/null
finish
