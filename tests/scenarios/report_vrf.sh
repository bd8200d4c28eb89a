#!/bin/bash
# backend-independent
# pwhy report on seed 003: datagrams entering through a VRF slave to an unbound socket are
# dropped NO_SOCKET; the report counts them as the netns's UdpNoPorts does and explains them as
# vrf-sdif (sdif, VRF, the socket that would have matched). Healthy: l3mdev_accept=1, no drop.
. "$(dirname "$0")/lib.sh"
SCENARIO=report_vrf
N=9
need_vrf
VS=$(ns_new rvs); VC=$(ns_new rvc)
VRF=rv$$; SL=rl$$
vrf_slave $VS $VRF 10 $SL $VC rc$$
ip -n $VS addr add 10.11.0.2/24 dev $SL
ip -n $VC addr add 10.11.0.1/24 dev rc$$
SL_IDX=$(ip netns exec $VS cat /sys/class/net/$SL/ifindex)
nt $VS udp-serve --listen 0.0.0.0:5353 --count 0 --timeout 120000 --ready-file $WORK/ready >/dev/null &
wait_file $WORK/ready || bad "the server did not start"

no_ports() { ip netns exec "$1" awk '/^Udp: / { if (!hdr) { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1 } else print $col["NoPorts"] }' /proc/net/snmp; }
for variant in bug healthy; do
	[ $variant = healthy ] && ip netns exec $VS sysctl -qw net.ipv4.udp_l3mdev_accept=1
	out=$WORK/$variant.md
	before=$(no_ports $VS)
	"$PWHY" report --output-markdown --filter-netns $VS >$out 2>$out.err &
	pid=$!
	if ! wait_ready $out.err $pid; then
		bad "$variant: pwhy report did not start"; kill $pid 2>/dev/null; wait $pid 2>/dev/null
		continue
	fi
	nt $VC udp-send --to 10.11.0.2:5353 --count $N --payload vrf >/dev/null
	sleep 1
	kill -INT $pid; wait $pid
	want=$(( $(no_ports $VS) - before ))
	if [ $variant = bug ]; then
		if [ $want = $N ]; then ok "bug: the kernel counted $N UdpNoPorts"; else bad "bug: the kernel counted $want UdpNoPorts, sent $N"; fi
		expect_grep $out "^\| NO_SOCKET \| $want \| " "bug: NO_SOCKET count equals UdpNoPorts ($want)"
		expect_grep $out "^- \*\*vrf-sdif\*\* \($N drops, 1 flow\)" "bug: the drops are explained as vrf-sdif"
		expect_grep $out "sdif=$SL_IDX" "bug: the slave's ifindex is the sdif"
		expect_grep $out "udp_l3mdev_accept=0" "bug: the sysctl is named"
	else
		if [ $want = 0 ]; then ok "healthy: the kernel counted no UdpNoPorts"; else bad "healthy: $want UdpNoPorts"; fi
		expect_no_grep $out "NO_SOCKET" "healthy: no NO_SOCKET drop in the report"
		expect_no_grep $out "vrf-sdif" "healthy: no vrf-sdif finding"
	fi
done
finish
