#!/bin/bash
# backend-independent
# pwhy report on a mixed workload in a throwaway netns: datagrams to a closed UDP port (v4 and
# v6), the tproxy reply from a socket without IP_TRANSPARENT (seed 001), datagrams sent with
# IP_PKTINFO whose LOCAL_OUT reroute finds no route (seed 000) and, beside them, datagrams a plain
# netfilter DROP rule discards (same reason, no finding). The NO_SOCKET count must equal the
# netns's own UdpNoPorts + Udp6NoPorts counters, NETFILTER_DROP its IpOutDiscards, and the
# findings must explain the drops. Markdown with --duration, JSON with --interval and Ctrl-C, a healthy netns that stays
# silent, and the exit codes of bad input and of a non-root user.
. "$(dirname "$0")/lib.sh"
SCENARIO=report
N4=23 N6=11 NOIF=7 NDROP=4

# no_ports NS: UdpNoPorts + Udp6NoPorts as that netns counts them
no_ports() {
	ip netns exec "$1" awk '
		/^Udp: / { if (!hdr) { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1 } else v4 = $col["NoPorts"] }
		/^Udp6NoPorts/ { v6 = $2 }
		END { print v4 + v6 }' /proc/net/snmp /proc/net/snmp6
}

# out_discards NS: IpOutDiscards as that netns counts them
out_discards() {
	ip netns exec "$1" awk '/^Ip: / { if (!hdr) { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1 }
		else print $col["OutDiscards"] }' /proc/net/snmp
}

# NO_SOCKET drops in the last JSON document of a file
json_no_socket() {
	tail -1 "$1" | sed -n 's/.*"by_reason":\[[^]]*{"reason":"NO_SOCKET","value":[0-9]*,"drops":\([0-9]*\).*/\1/p'
}

# the netns of seed 001 (copied from no_sk_tproxy.sh), IPv4
T=$(ns_new rtp); P=$(ns_new rtpx)
veth $T rt$$ $P rp$$
ip -n $T addr add 10.78.0.1/24 dev rt$$; ip -n $P addr add 10.78.0.2/24 dev rp$$
ip -n $T route add default via 10.78.0.2
ip -n $T addr add fd78::1/64 dev rt$$ nodad
TPROXY=1
tproxy_rules $T 4 127.0.0.1 || { TPROXY=0; bad "TPROXY rules could not be installed"; }
nt $T tproxy-proxy --listen 127.0.0.1:15353 --reply-mode plain --count 0 --timeout 120000 \
	--ready-file $WORK/ready >$WORK/proxy &
wait_file $WORK/ready || bad "the tproxy proxy did not start"
# seed 000 without a fallback: 192.0.2.77 is reachable only through OB (a rule for that oif);
# the main table says unreachable, which is what the reroute (oif 0, mark 2) finds
veth $T ob$$ $P pb$$
ip -n $T addr add 10.79.0.1/24 dev ob$$; ip -n $P addr add 10.79.0.2/24 dev pb$$
ip -n $T route add 192.0.2.77/32 via 10.79.0.2 dev ob$$ table 77
ip -n $T rule add oif ob$$ lookup 77
ip -n $T route add unreachable 192.0.2.77/32
ip netns exec $T iptables -t mangle -A OUTPUT -p udp --dport 9999 -j MARK --set-mark 2
# and a plain DROP rule: the same drop reason, nothing lost about the oif
ip netns exec $T iptables -A OUTPUT -p udp --dport 7777 -j DROP

# the workload: closed ports v4 and v6, then one DNS query through the tproxy whose reply dies
workload() {
	nt $T udp-send --to 127.0.0.1:9 --count $N4 --payload x >/dev/null
	nt $T udp-send --to '[::1]:9' --count $N6 --payload x >/dev/null
	nt $T udp-send --to 192.0.2.77:9999 --pktinfo-if ob$$ --count $NOIF --payload x >/dev/null 2>&1
	nt $T udp-send --to 10.78.0.2:7777 --count $NDROP --payload x >/dev/null 2>&1
	[ $TPROXY = 1 ] && nt $T udp-send --to 198.51.100.53:53 --connect --wait-reply --timeout 2000 >$WORK/client.$1
	return 0
}

# ---------------------------------------------------------------- Markdown, --duration
out=$WORK/report.md
before=$(no_ports $T); obefore=$(out_discards $T)
"$PWHY" report --duration 10 --output-markdown --filter-netns $T >$out 2>$out.err &
pid=$!
if wait_ready $out.err $pid; then
	workload md
	kill -0 $pid 2>/dev/null || bad "markdown: pwhy ended before the workload did (--duration too short for this machine)"
	wait $pid; st=$?
	after=$(no_ports $T)
	want=$((after - before))
	expect_status $st 0 "markdown: report --duration exits 0" $out
	if [ $want -ge $((N4 + N6 + TPROXY)) ]; then ok "markdown: the kernel counted $want NoPorts drops in the netns"
	else bad "markdown: the kernel counted only $want NoPorts drops (sent $N4 + $N6 + $TPROXY)"; fi
	expect_grep $out "^\| NO_SOCKET \| $want \| " "markdown: NO_SOCKET count equals UdpNoPorts + Udp6NoPorts ($want)"
	expect_grep $out "^#### By reason" "markdown: a by-reason table"
	owant=$(( $(out_discards $T) - obefore ))
	if [ $owant = $((NOIF + NDROP)) ]; then ok "markdown: the kernel counted $owant IpOutDiscards"
	else bad "markdown: the kernel counted $owant IpOutDiscards (sent $NOIF + $NDROP to be dropped)"; fi
	expect_grep $out "^\| NETFILTER_DROP \| $owant \| " "markdown: NETFILTER_DROP count equals IpOutDiscards ($owant)"
	expect_grep $out "^- \*\*oif-change\*\* \($NOIF drops, 1 flow\): .*sent through ob$$:[0-9]+, but a LOCAL_OUT reroute keyed by mark 0x2 and oif 0 .*finds no route" "markdown: the lost oif is explained, only for the pktinfo flow"
	expect_grep $out "reroute_mark=2" "markdown: the reroute's mark is a fact"
	expect_no_grep $out "^- .*:7777" "markdown: the plain DROP rule's flow gets no finding"
	expect_grep $out "^\| \`__udp4_lib_rcv\+0x[0-9a-f]+\` \| NO_SOCKET \| " "markdown: the v4 drop location is symbolized"
	expect_grep $out "^\| \`__udp6_lib_rcv\+0x[0-9a-f]+\` \| NO_SOCKET \| " "markdown: the v6 drop location is symbolized"
	expect_grep $out "^\| [0-9]+ \| lo:1 \| [0-9]+ \| NO_SOCKET $want" "markdown: netns/device table names lo"
	expect_grep $out "^\| $N4 \| NO_SOCKET \| [0-9]+ \| lo:1 \| \`127\.0\.0\.1:[0-9]+->127\.0\.0\.1:9\(udp\)\`" "markdown: the v4 closed-port flow with its $N4 drops"
	expect_grep $out "^- \*\*no-sk\*\* \($N4 drops, 1 flow\): .*no socket on 127\.0\.0\.1:9/udp" "markdown: finding for the closed v4 port"
	expect_grep $out "^- \*\*no-sk\*\* \($N6 drops, 1 flow\): .*no socket on \[::1\]:9/udp" "markdown: finding for the closed v6 port"
	if [ $TPROXY = 1 ]; then
		expect_grep $out "^- \*\*no-sk\*\* \(1 drops, 1 flow\): .*nearest socket 10\.78\.0\.1:[0-9]+ of nettool: socket is connected to another peer" "markdown: the tproxy reply is explained (client connected to another peer)"
		expect_grep $out "socket_peer=198\.51\.100\.53:53" "markdown: the client's peer is the original destination"
	fi
else
	bad "markdown: pwhy report did not start"; sed 's/^/#   /' $out.err | tail -5
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi

# --------------------------------------------------------- JSON, --interval and Ctrl-C
out=$WORK/report.json
before=$(no_ports $T)
"$PWHY" report --interval 1 --output-json --filter-netns $T >$out 2>$out.err &
pid=$!
if wait_ready $out.err $pid; then
	workload json
	sleep 1.2	# at least one interval report
	kill -INT $pid; wait $pid; st=$?
	after=$(no_ports $T)
	want=$((after - before))
	expect_status $st 0 "json: Ctrl-C ends the report with exit 0" $out
	if [ "$(grep -c '^{"report":"drops","kind":"interval"' $out)" -ge 1 ]; then ok "json: interval reports are printed"
	else bad "json: no interval report"; fi
	expect_grep <(tail -1 $out) '^\{"report":"drops","kind":"total",' "json: the last document is the total"
	got=$(json_no_socket $out)
	if [ "$got" = "$want" ]; then ok "json: NO_SOCKET count equals UdpNoPorts + Udp6NoPorts ($want)"
	else bad "json: NO_SOCKET count '$got', the kernel counted $want"; tail -1 $out | cut -c1-600 | sed 's/^/#   /'; fi
	ino=$(stat -c %i /run/netns/$T)
	expect_grep <(tail -1 $out) "\"netns_filter\":$ino," "json: the netns filter is the namespace's inode"
	expect_grep <(tail -1 $out) '"finding":"no-sk",[^}]*"nearest_miss":"none".*"summary":"dropped NO_SOCKET at __udp4_lib_rcv\+0x[0-9a-f]+: no socket on 127\.0\.0\.1:9/udp"' "json: closed-port finding"
	[ $TPROXY = 1 ] && expect_grep <(tail -1 $out) '"socket_peer":"198\.51\.100\.53:53",[^}]*"nearest_miss":"peer",[^}]*"summary":"[^"]*connected to another peer"' "json: tproxy finding"
	if command -v jq >/dev/null; then
		if jq -e . $out >/dev/null 2>&1; then ok "json: every report is a JSON document (jq)"
		else bad "json: jq cannot parse the output"; fi
		n=$(jq -s '[.[] | select(.kind == "interval") | .by_reason[] | select(.reason == "NO_SOCKET") | .drops] | add // 0' $out)
		if [ "$n" -le "$want" ]; then ok "json: interval windows add up to no more than the total"
		else bad "json: interval windows count $n NO_SOCKET drops, more than the total $want"; fi
	else
		skip "json: jq not installed, documents not parsed"
	fi
else
	bad "json: pwhy report did not start"; sed 's/^/#   /' $out.err | tail -5
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi
ns_kill $T; wait 2>/dev/null

# --------------------------------------------------- healthy: a listener, nothing dropped
H=$(ns_new rok)
nt $H udp-serve --listen 127.0.0.1:9 --count 0 --timeout 60000 --ready-file $WORK/hready >/dev/null &
wait_file $WORK/hready
out=$WORK/healthy.json
"$PWHY" report --duration 60 --output-json --filter-netns $H >$out 2>$out.err &
pid=$!
if wait_ready $out.err $pid; then
	nt $H udp-send --to 127.0.0.1:9 --count 5 --payload x >/dev/null
	kill -INT $pid; wait $pid
	expect_no_grep $out '"reason":"NO_SOCKET"' "healthy: no NO_SOCKET drop with a listener on the port"
	expect_grep $out '"findings":\[\]' "healthy: no finding"
else
	bad "healthy: pwhy report did not start"
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi
ns_kill $H; wait 2>/dev/null

# ------------------------------------------------------------------ bad input, not root
usage_case() {	# NAME ARGS...
	local name=$1; shift
	"$PWHY" report "$@" >$WORK/usage 2>$WORK/usage.err
	local st=$? lines
	lines=$(wc -l <$WORK/usage.err)
	if [ $st = 2 ] && [ "$lines" = 1 ]; then ok "usage: $name exits 2 with one line"
	else bad "usage: $name exits $st with $lines lines (want 2, 1)"; sed 's/^/#   /' $WORK/usage.err | head -5; fi
}
usage_case "--top 0" --top 0
usage_case "--top x" --top x
usage_case "--interval abc" --interval abc
usage_case "--duration -1" --duration -1
usage_case "unknown flag" --bogus
usage_case "missing value" --duration
usage_case "json and markdown" --output-json --output-markdown
usage_case "unknown netns" --filter-netns no-such-netns-$$
usage_case "a filter expression" udp
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PWHY" report --duration 1 >$WORK/nr 2>$WORK/nr.err
	st=$?
	if [ $st = 3 ] && grep -q 'must run as root' $WORK/nr.err; then ok "not root: exits 3 and says why"
	else bad "not root: exit $st"; sed 's/^/#   /' $WORK/nr.err | head -3; fi
else
	skip "not root: setpriv not installed"
fi
finish
