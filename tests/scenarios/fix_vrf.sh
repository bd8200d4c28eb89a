#!/bin/bash
# Fix for seed 003: `pwhy fix apply vrf-lookup`. A service address lives on a main-table
# device (lan) and clients reach it through a VRF slave; unbound sockets reject the packets
# (sdif != 0, l3mdev_accept = 0). With the fix, in-scope ports (UDP and TCP, IPv4 and IPv6)
# are delivered and answered; a port outside the scope stays rejected; after remove it fails
# again and nothing is left.
# backend-independent
. "$(dirname "$0")/lib.sh"
SCENARIO=fix_vrf
need_vrf
VS=$(ns_new xs); VC=$(ns_new xc)
fix_cleanup() {
	"$PWHY" fix remove --all --netns $VS >/dev/null 2>&1
	cleanup
}
trap fix_cleanup EXIT
VRF=xv$$; SL=xl$$; LAN=xn$$
vrf_slave $VS $VRF 10 $SL $VC xc$$
ip -n $VS addr add 10.10.0.2/24 dev $SL
ip -n $VS addr add fd10::2/64 dev $SL nodad
ip -n $VC addr add 10.10.0.1/24 dev xc$$
ip -n $VC addr add fd10::1/64 dev xc$$ nodad
# the service address is on a device of the main table, as in the seed
ip -n $VS link add $LAN type dummy
ip -n $VS link set $LAN up
ip -n $VS addr add 192.0.2.1/24 dev $LAN
ip -n $VS addr add 2001:db8:10::1/64 dev $LAN nodad
ip -n $VS route add 192.0.2.0/24 dev $LAN vrf $VRF
ip -n $VS -6 route add 2001:db8:10::/64 dev $LAN vrf $VRF
ip -n $VC route add 192.0.2.0/24 via 10.10.0.2
ip -n $VC -6 route add 2001:db8:10::/64 via fd10::2
SL_IDX=$(ip netns exec $VS cat /sys/class/net/$SL/ifindex)

rm -f $WORK/*.ready
nt $VS udp-serve --listen 0.0.0.0:5353 --echo --count 0 --timeout 300000 --ready-file $WORK/u4.ready >$WORK/u4.srv &
nt $VS udp-serve --listen '[::]:5353' --echo --count 0 --timeout 300000 --ready-file $WORK/u6.ready >$WORK/u6.srv &
nt $VS udp-serve --listen 0.0.0.0:6363 --echo --count 0 --timeout 300000 --ready-file $WORK/o4.ready >$WORK/o4.srv &
nt $VS tcp-serve --listen 0.0.0.0:5454 --count 0 --timeout 300000 --ready-file $WORK/t4.ready >$WORK/t4.srv &
nt $VS tcp-serve --listen '[::]:5454' --count 0 --timeout 300000 --ready-file $WORK/t6.ready >$WORK/t6.srv &
for f in u4 u6 o4 t4 t6; do wait_file $WORK/$f.ready; done

fix() { "$PWHY" fix "$@" >$WORK/fix.out 2>$WORK/fix.out.err; }
udp() {	# OUT DST: one datagram, wait for the echo
	nt $VC udp-send --to "$2" --payload vrf --wait-reply --timeout 1500 >$1 2>&1
}
tcp() {	# OUT DST [BYTES]
	nt $VC tcp-connect --to "$2" --bytes ${3:-100000} --timeout 5000 >$1 2>&1
}
check_all() {	# WHEN ok|fail
	local when=$1 want=$2
	udp $WORK/c.u4 192.0.2.1:5353
	udp $WORK/c.u6 '[2001:db8:10::1]:5353'
	tcp $WORK/c.t4 192.0.2.1:5454
	tcp $WORK/c.t6 '[2001:db8:10::1]:5454'
	if [ $want = ok ]; then
		expect_grep $WORK/c.u4 "reply from 192\.0\.2\.1:5353: vrf" "$when: UDP v4 delivered and answered"
		expect_grep $WORK/c.u6 "reply from \[2001:db8:10::1\]:5353: vrf" "$when: UDP v6 delivered and answered"
		expect_grep $WORK/c.t4 "echo ok 100000 bytes" "$when: TCP v4 handshake and 100000 bytes both ways"
		expect_grep $WORK/c.t6 "echo ok 100000 bytes" "$when: TCP v6 handshake and 100000 bytes both ways"
	else
		expect_grep $WORK/c.u4 "^no reply" "$when: UDP v4 gets no answer"
		expect_grep $WORK/c.u6 "^no reply" "$when: UDP v6 gets no answer"
		expect_grep $WORK/c.t4 "connect error" "$when: TCP v4 is refused"
		expect_grep $WORK/c.t6 "connect error" "$when: TCP v6 is refused"
	fi
}

# --- the bug
check_all "without the fix" fail

# --- refusals
fix apply vrf-lookup --netns $VS --vrf $VRF
expect_status $? 2 "apply without --addr/--port refuses (exit 2)" $WORK/fix.out
expect_grep $WORK/fix.out.err "refuses to apply without --addr or --port" "the refusal says why"
fix apply vrf-lookup --netns $VS --vrf $SL --port 5353
expect_status $? 2 "--vrf naming a non-VRF device: exit 2" $WORK/fix.out
[ ! -e /sys/fs/bpf/pwhy/$(stat -L -c %i /run/netns/$VS) ] && ok "refused applies leave nothing pinned" || bad "refused applies left pins"

# --- the fix
fix apply vrf-lookup --netns $VS --vrf $VRF --port 5353,5454 --route-back
expect_status $? 0 "apply --port 5353,5454 --route-back exits 0" $WORK/fix.out
expect_grep $WORK/fix.out "vrf-lookup applied in netns $VS .* on $SL \(tc ingress\)" "apply names the slave it attached to"
expect_grep $WORK/fix.out "installed the route back 10\.10\.0\.0/24 dev $SL" "apply installs the IPv4 route back and says so"
expect_grep $WORK/fix.out "installed the route back fd10::/64 dev $SL" "apply installs the IPv6 route back and says so"
check_all "with the fix" ok
udp $WORK/c.o4 192.0.2.1:6363
expect_grep $WORK/c.o4 "^no reply" "with the fix: a port outside the scope is still rejected"
if grep -q "got" $WORK/o4.srv; then bad "the out-of-scope server got a datagram"; else ok "the out-of-scope server got nothing"; fi
fix status
expect_grep $WORK/fix.out "^vrf-lookup  netns $VS \(inode [0-9]+\)  active" "status: kind, netns, state"
expect_grep $WORK/fix.out "attached \(tc ingress\): $SL$" "status: attached to the slave"
expect_grep $WORK/fix.out "scope: vrf $VRF, addresses any local, ports 5353,5454, target lo" "status: the scope"
expect_grep $WORK/fix.out "routes back installed: 10\.10\.0\.0/24@$SL;fd10::/64@$SL;" "status: the routes back"
expect_grep $WORK/fix.out "IPv4 redirected [1-9].*IPv6 redirected [1-9]" "status: counts redirected packets"

# --- idempotent
fix apply vrf-lookup --netns $VS --vrf $VRF --port 5353,5454 --route-back
expect_status $? 0 "applying twice exits 0" $WORK/fix.out
n=$(ip netns exec $VS bpftool net 2>/dev/null | grep -c pwhy_fix_vrf)
[ "$n" = 1 ] && ok "applying twice: one filter on the slave" || bad "applying twice: $n filters"
fix status
expect_grep $WORK/fix.out "routes back installed: 10\.10\.0\.0/24@$SL;fd10::/64@$SL;" "applying twice keeps the routes back it owns"
udp $WORK/c.u4 192.0.2.1:5353
expect_grep $WORK/c.u4 "reply from 192\.0\.2\.1:5353" "applying twice: still delivered"

# --- a slave enslaved after apply gets the program from the keeper
veth $VS xm$$ $VC xd$$
ip -n $VS link set xm$$ master $VRF
for _ in $(seq 40); do
	n=$(ip netns exec $VS bpftool net 2>/dev/null | grep -c pwhy_fix_vrf)
	[ "$n" = 2 ] && break
	sleep 0.1
done
[ "$n" = 2 ] && ok "a slave added after apply is attached too" || bad "a slave added after apply: $n filters (want 2)"

# --- remove
fix remove vrf-lookup --netns $VS
expect_status $? 0 "remove exits 0" $WORK/fix.out
check_all "after remove" fail
n=$(ip netns exec $VS bpftool net 2>/dev/null | grep -c pwhy)
[ "$n" = 0 ] && ok "after remove: bpftool net shows nothing of pwhy" || bad "after remove: $n pwhy lines in bpftool net"
ip -n $VS route show table main | grep -q "10.10.0.0/24 dev $SL" && bad "after remove: the route back is left" || ok "after remove: the route back is gone"
ip -n $VS -6 route show table main | grep -q "fd10::/64 dev $SL" && bad "after remove: the v6 route back is left" || ok "after remove: the v6 route back is gone"
pgrep -f "fix keep /sys/fs/bpf/pwhy/" >/dev/null && bad "after remove: a keeper still runs" || ok "after remove: no keeper"

# --- an address scope; the route back made by hand
ip -n $VS route add 10.10.0.0/24 dev $SL
fix apply vrf-lookup --netns $VS --vrf $VRF --addr 192.0.2.1
expect_status $? 0 "apply --addr 192.0.2.1 exits 0" $WORK/fix.out
udp $WORK/c.o4 192.0.2.1:6363
expect_grep $WORK/c.o4 "reply from 192\.0\.2\.1:6363" "--addr: every port of that address is delivered"
udp $WORK/c.u6 '[2001:db8:10::1]:5353'
expect_grep $WORK/c.u6 "^no reply" "--addr: another address stays rejected"
fix remove --all --netns $VS
expect_status $? 0 "remove --all exits 0" $WORK/fix.out
{ ns_kill $VS; wait; } 2>/dev/null
finish
