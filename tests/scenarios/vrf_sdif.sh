#!/bin/bash
# Seed 003: a packet enters through a VRF slave, is routed to a local address, and no unbound
# socket matches because sdif != 0 and net.ipv4.{udp,tcp}_l3mdev_accept = 0. UDP and TCP.
# Healthy variant: l3mdev_accept = 1 in that netns — delivered, and pwhy stays silent.
. "$(dirname "$0")/lib.sh"
SCENARIO=vrf_sdif
need_vrf
VS=$(ns_new vs); VC=$(ns_new vc)
VRF=vb$$; SL=vs$$
vrf_slave $VS $VRF 10 $SL $VC vc$$
ip -n $VS addr add 10.10.0.2/24 dev $SL
ip -n $VC addr add 10.10.0.1/24 dev vc$$
# replies from unbound sockets are routed in the main table
ip -n $VS route add 10.10.0.0/24 dev $SL table main 2>/dev/null
VRF_IDX=$(ip netns exec $VS cat /sys/class/net/$VRF/ifindex)
SL_IDX=$(ip netns exec $VS cat /sys/class/net/$SL/ifindex)

start_servers() {
	rm -f $WORK/u.ready $WORK/t.ready
	nt $VS udp-serve --listen 0.0.0.0:5353 --count 0 --timeout 120000 --ready-file $WORK/u.ready >$WORK/udp.srv &
	nt $VS tcp-serve --listen 0.0.0.0:5454 --count 0 --timeout 120000 --ready-file $WORK/t.ready >$WORK/tcp.srv &
	wait_file $WORK/u.ready; wait_file $WORK/t.ready
}

start_servers
out=$WORK/udp
pwhy_run $out --events --expect vrf-sdif 'udp and port 5353' -- \
	ip netns exec $VC $NETTOOL udp-send --to 10.10.0.2:5353 --payload vrf
expect_status $? 0 "udp: run --expect vrf-sdif exits 0" $out
expect_grep $out "^FINDING vrf-sdif .*VRF slave $SL:$SL_IDX \(vrf $VRF:$VRF_IDX, sdif=$SL_IDX\)" "udp: names the VRF device and its slave (dif, sdif)"
expect_grep $out "socket=0\.0\.0\.0:5353 .*socket_comm=nettool" "udp: names the socket that would have matched and its process"
expect_grep $out "sysctl=net\.ipv4\.udp_l3mdev_accept=0" "udp: gives the sysctl value"
expect_grep $out "hint: .*udp_l3mdev_accept=1.*ip vrf exec" "udp: hints at the sysctl and ip vrf exec"

out=$WORK/tcp
pwhy_run $out --events --expect vrf-sdif 'tcp and port 5454' -- \
	ip netns exec $VC $NETTOOL tcp-connect --to 10.10.0.2:5454 --timeout 3000
expect_status $? 0 "tcp: run --expect vrf-sdif exits 0" $out
expect_grep $out "^FINDING vrf-sdif .*sdif=$SL_IDX.*tcp_l3mdev_accept=0" "tcp: the SYN's rejection is reported with the tcp sysctl"
expect_grep $out "connect error" "tcp: the client was refused"

# healthy: the sysctls admit unbound sockets for VRF ingress
ip netns exec $VS sysctl -qw net.ipv4.udp_l3mdev_accept=1 net.ipv4.tcp_l3mdev_accept=1
out=$WORK/udp.ok
pwhy_run $out --events --expect-none vrf-sdif,no-sk 'udp and port 5353' -- \
	ip netns exec $VC $NETTOOL udp-send --to 10.10.0.2:5353 --payload vrf
expect_status $? 0 "udp healthy (l3mdev_accept=1): no finding" $out
expect_grep $WORK/udp.srv "got 3 bytes from 10\.10\.0\.1" "udp healthy: the server got the datagram"
out=$WORK/tcp.ok
pwhy_run $out --events --expect-none vrf-sdif,no-sk 'tcp and port 5454' -- \
	ip netns exec $VC $NETTOOL tcp-connect --to 10.10.0.2:5454 --timeout 5000
expect_status $? 0 "tcp healthy (l3mdev_accept=1): no finding" $out
expect_grep $out "echo ok" "tcp healthy: handshake and data both ways"
ns_kill $VS; wait 2>/dev/null
finish
