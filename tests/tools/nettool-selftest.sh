#!/bin/bash
# Self-test for tests/tools/nettool.c: runs every subcommand inside throwaway
# network namespaces (two netns joined by a veth pair, plus a netns with a
# local TPROXY setup).  Traffic only goes to addresses inside those netns.
#
#   tests/tools/nettool-selftest.sh        (as root; NETTOOL=path overrides the binary)
#
# Exit 0 when every check passes, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
NETTOOL=${NETTOOL:-$here/../../build/tools/nettool}

if [ "$(id -u)" != 0 ]; then echo "nettool-selftest: needs root" >&2; exit 2; fi
if [ ! -x "$NETTOOL" ]; then echo "nettool-selftest: $NETTOOL not built (make tools)" >&2; exit 2; fi

A=ntA$$ B=ntB$$ T=ntT$$ P=ntP$$
VA=na$$ VB=nb$$ VT=nt$$ VP=np$$
tmp=$(mktemp -d)
pids=()
pass=0 fail=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in $A $B $T $P; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok()   { pass=$((pass + 1)); echo "ok   - $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL - $*"; }
nt()   { local ns=$1; shift; ip netns exec "$ns" "$NETTOOL" "$@"; }

# Start a nettool server in the background; wait for its ready file.
# usage: start NAME NS ARGS...   (output in $tmp/NAME.out, pid in $tmp/NAME.pid)
start() {
	local name=$1 ns=$2 i; shift 2
	rm -f "$tmp/$name.ready"
	ip netns exec "$ns" "$NETTOOL" "$@" --ready-file "$tmp/$name.ready" >"$tmp/$name.out" 2>&1 &
	echo $! >"$tmp/$name.pid"
	pids+=($!)
	for i in $(seq 100); do
		[ -e "$tmp/$name.ready" ] && return 0
		kill -0 "$(cat "$tmp/$name.pid")" 2>/dev/null || break
		sleep 0.02
	done
	bad "$name: server not ready: $(cat "$tmp/$name.out")"
	return 1
}

# usage: check DESC WANT_RC PATTERN RC OUTPUT
check() {
	local desc=$1 want=$2 pat=$3 rc=$4 out=$5
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then
		ok "$desc: $(grep -E -- "$pat" <<<"$out" | head -1)"
	else
		bad "$desc: rc=$rc (want $want), want /$pat/, got: $(tr '\n' '|' <<<"$out")"
	fi
}

# usage: client_server DESC NAME SERVER_NS SERVER_ARGS -- CLIENT_NS CLIENT_ARGS -- CPAT SPAT
# Runs a server and a client, checks both exit 0 and print the patterns.
client_server() {
	local desc=$1 name=$2 sns=$3 cns out rc srv; shift 3
	local sargs=() cargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done; shift
	cns=$1; shift
	while [ "$1" != -- ]; do cargs+=("$1"); shift; done; shift
	start "$name" "$sns" "${sargs[@]}" || return
	out=$(nt "$cns" "${cargs[@]}" 2>&1); rc=$?
	check "$desc (client)" 0 "$1" $rc "$out"
	wait "$(cat "$tmp/$name.pid")"; srv=$?
	check "$desc (server)" 0 "$2" $srv "$(cat "$tmp/$name.out")"
}

# ------------------------------------------------------------------ setup
ip netns add $A && ip netns add $B || { echo "nettool-selftest: ip netns add failed" >&2; exit 2; }
ip link add $VA netns $A type veth peer name $VB netns $B
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A addr add 10.0.0.1/24 dev $VA
ip -n $B addr add 10.0.0.2/24 dev $VB
ip -n $A addr add fd00::1/64 dev $VA nodad
ip -n $B addr add fd00::2/64 dev $VB nodad
ip -n $A link set $VA up
ip -n $B link set $VB up

# ---------------------------------------------------------------- basics
out=$(nt $A ifindex lo 2>&1); check "ifindex lo" 0 '^1$' $? "$out"
out=$(nt $A ifindex $VA 2>&1); check "ifindex $VA" 0 '^[0-9]+$' $? "$out"
out=$(nt $A ifindex nosuchif$$ 2>&1); check "ifindex unknown" 2 'no such interface' $? "$out"
out=$(nt $A udp-send 2>&1); check "usage error" 2 '--to ADDR:PORT is required' $? "$out"
out=$(nt $A udp-send --to fd00::2:53 2>&1); check "v6 needs brackets" 2 'write IPv6 as' $? "$out"

# ------------------------------------------------------------------- udp
client_server "udp v4 echo" u4 $B udp-serve --listen 10.0.0.2:7000 --echo -- \
	$A udp-send --to 10.0.0.2:7000 --payload ping-v4 --wait-reply -- \
	'^reply from 10\.0\.0\.2:7000: ping-v4$' '^got 7 bytes from 10\.0\.0\.1:[0-9]+: ping-v4$'

client_server "udp v6 echo (wildcard listener)" u6 $B udp-serve --listen [::]:7000 --echo -- \
	$A udp-send --to [fd00::2]:7000 --payload ping-v6 --wait-reply -- \
	'^reply from \[fd00::2\]:7000: ping-v6$' '^got 7 bytes from \[fd00::1\]:[0-9]+: ping-v6$'

client_server "udp v4 pktinfo-if x3 (wildcard listener)" u4p $B udp-serve --listen 0.0.0.0:7001 --count 3 --reply pong -- \
	$A udp-send --to 10.0.0.2:7001 --pktinfo-if $VA --pktinfo-src 10.0.0.1 --count 3 --wait-reply -- \
	'^reply from 10\.0\.0\.2:7001: pong$' '^replied 4 bytes to 10\.0\.0\.1:'

client_server "udp v6 pktinfo-if + unicast-if + connect" u6p $B udp-serve --listen [fd00::2]:7001 --echo -- \
	$A udp-send --to [fd00::2]:7001 --pktinfo-if $VA --unicast-if $VA --connect --wait-reply -- \
	'^reply from \[fd00::2\]:7001: hello$' '^got 5 bytes from \[fd00::1\]:'

client_server "udp v4 bind-dev + dontroute + msg-dontroute + from" u4d $B udp-serve --listen 10.0.0.2:7002 --echo -- \
	$A udp-send --to 10.0.0.2:7002 --from 10.0.0.1:7777 --bind-dev $VA --dontroute --msg-dontroute --wait-reply -- \
	'^reply from 10\.0\.0\.2:7002: hello$' '^got 5 bytes from 10\.0\.0\.1:7777: hello$'

out=$(nt $A udp-send --to 10.0.0.2:7999 --wait-reply --timeout 300 2>&1)
check "udp no listener -> no reply" 1 '^no reply$' $? "$out"
out=$(nt $A udp-send --to 10.0.0.2:7999 --connect --wait-reply --timeout 1000 2>&1)
check "udp connected, no listener -> ICMP error" 1 '^recv error: Connection refused' $? "$out"
out=$(nt $A udp-send --to 192.0.2.1:9 2>&1)   # no route in this netns: never leaves it
check "udp send without route" 1 '^send error: Network is unreachable' $? "$out"
out=$(nt $B udp-serve --listen 10.0.0.2:7003 --timeout 200 2>&1)
check "udp-serve timeout" 1 '^timeout \(got 0 of 1\)$' $? "$out"

# ------------------------------------------------------------------- tcp
client_server "tcp v4 bulk 100000" t4 $B tcp-serve --listen 10.0.0.2:7100 -- \
	$A tcp-connect --to 10.0.0.2:7100 --bytes 100000 -- \
	'^echo ok 100000 bytes$' '^echoed 100000 bytes$'
grep -q '^accepted from 10\.0\.0\.1:' "$tmp/t4.out" && ok "tcp v4 accepted line" || bad "tcp v4 accepted line: $(cat "$tmp/t4.out")"

client_server "tcp v6 bulk 100000" t6 $B tcp-serve --listen [fd00::2]:7100 -- \
	$A tcp-connect --to [fd00::2]:7100 --bytes 100000 -- \
	'^echo ok 100000 bytes$' '^echoed 100000 bytes$'

client_server "tcp v6 line, bind-dev, wildcard listener" t6l $B tcp-serve --listen [::]:7101 -- \
	$A tcp-connect --to [fd00::2]:7101 --bind-dev $VA -- \
	'^echo ok 6 bytes$' '^accepted from \[fd00::1\]:'
start t6l2 $B tcp-serve --listen 10.0.0.2:7102 --count 2 &&
{
	out=$(nt $A tcp-connect --to 10.0.0.2:7102 2>&1); check "tcp v4 line #1" 0 '^echo ok 6 bytes$' $? "$out"
	out=$(nt $A tcp-connect --to 10.0.0.2:7102 --bytes 3000 2>&1); check "tcp v4 bulk #2" 0 '^echo ok 3000 bytes$' $? "$out"
	wait "$(cat "$tmp/t6l2.pid")"; check "tcp-serve --count 2" 0 '^echoed 3000 bytes$' $? "$(cat "$tmp/t6l2.out")"
}

out=$(nt $A tcp-connect --to 10.0.0.2:7999 2>&1)
check "tcp connect refused" 1 '^connect error: Connection refused' $? "$out"

# ---------------------------------------------------------------- tproxy
# Netns T: a client and a transparent proxy on loopback; the veth to P only
# provides default routes.  Locally generated UDP to port 53 is marked in
# mangle OUTPUT, rerouted to lo by "fwmark 1 -> table 100 (local default)",
# and grabbed by TPROXY in PREROUTING.
ip netns add $T && ip netns add $P
ip link add $VT netns $T type veth peer name $VP netns $P
for ns in $T $P; do ip -n $ns link set lo up; done
ip -n $T addr add 10.1.0.1/24 dev $VT
ip -n $P addr add 10.1.0.2/24 dev $VP
ip -n $T addr add fd01::1/64 dev $VT nodad
ip -n $P addr add fd01::2/64 dev $VP nodad
ip -n $T link set $VT up
ip -n $P link set $VP up
ip -n $T route add default via 10.1.0.2
ip -n $T -6 route add default via fd01::2
ip -n $T rule add fwmark 1 lookup 100
ip -n $T route add local 0.0.0.0/0 dev lo table 100
ip -n $T -6 rule add fwmark 1 lookup 100
ip -n $T -6 route add local ::/0 dev lo table 100

# usage: tproxy_rules FLAVOUR FAMILY(4|6) -> 0 if the rules are in place
tproxy_rules() {
	local fl=$1 fam=$2 ipt onip
	if [ "$fam" = 4 ]; then onip=127.0.0.1; else onip=::1; fi
	case $fl in
	nft)
		local f=ip; [ "$fam" = 6 ] && f=ip6 onip="[::1]"
		ip netns exec $T nft -f - <<-EOF 2>/dev/null
		table $f nettool_tproxy {
			chain out { type route hook output priority mangle; udp dport 53 meta mark set 1; }
			chain pre { type filter hook prerouting priority mangle; udp dport 53 tproxy to $onip:15353 meta mark set 1 accept; }
		}
		EOF
		return;;
	iptables|iptables-legacy)
		ipt=$fl; [ "$fam" = 6 ] && ipt=${fl/iptables/ip6tables}
		command -v "$ipt" >/dev/null || return 1
		ip netns exec $T "$ipt" -t mangle -A OUTPUT -p udp --dport 53 -j MARK --set-mark 1 2>/dev/null &&
		ip netns exec $T "$ipt" -t mangle -A PREROUTING -p udp --dport 53 \
			-j TPROXY --on-port 15353 --on-ip $onip --tproxy-mark 0x1/0x1 2>/dev/null &&
		ip netns exec $T "$ipt" -t mangle -L PREROUTING -n 2>/dev/null | grep -q TPROXY && return 0
		ip netns exec $T "$ipt" -t mangle -F 2>/dev/null
		return 1;;
	esac
}

udp_noports() {
	if [ "$1" = 4 ]; then
		ip netns exec $T awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c["NoPorts"] }' /proc/net/snmp
	else
		ip netns exec $T awk '$1 == "Udp6NoPorts" { print $2 }' /proc/net/snmp6
	fi
}

for fam in 4 6; do
	if [ $fam = 4 ]; then lis=127.0.0.1:15353 dst=198.51.100.53:53 dst_re='198\.51\.100\.53:53'
	else lis=[::1]:15353 dst=[2001:db8::53]:53 dst_re='\[2001:db8::53\]:53'; fi
	flavour=
	for fl in ${NETTOOL_TPROXY_FLAVOUR:-iptables iptables-legacy nft}; do
		if tproxy_rules $fl $fam; then flavour=$fl; break; fi
	done
	if [ -z "$flavour" ]; then bad "tproxy v$fam: no iptables/nft flavour accepted the TPROXY rule"; continue; fi
	ok "tproxy v$fam rules installed with $flavour"

	# correct proxy: reply from a transparent socket bound to the original destination
	start tp$fam $T tproxy-proxy --listen $lis --reply-mode transparent --timeout 3000 || continue
	out=$(nt $T udp-send --to $dst --connect --payload q$fam --wait-reply 2>&1)
	check "tproxy v$fam transparent (client)" 0 "^reply from $dst_re: answer\$" $? "$out"
	wait "$(cat "$tmp/tp$fam.pid")"
	check "tproxy v$fam transparent (proxy)" 0 "^replied to .* from $dst_re\$" $? "$(cat "$tmp/tp$fam.out")"
	check "tproxy v$fam orig-dst" 0 "^proxied 2 bytes from .* orig-dst $dst_re\$" 0 "$(cat "$tmp/tp$fam.out")"

	# buggy proxies: the reply comes from the wrong address, the connected client drops it
	for mode in plain listener; do
		before=$(udp_noports $fam)
		start tp$fam$mode $T tproxy-proxy --listen $lis --reply-mode $mode --timeout 3000 || continue
		out=$(nt $T udp-send --to $dst --connect --wait-reply --timeout 700 2>&1)
		check "tproxy v$fam $mode (client)" 1 '^no reply$' $? "$out"
		wait "$(cat "$tmp/tp$fam$mode.pid")"
		check "tproxy v$fam $mode (proxy)" 0 "^replied to .* from $mode\$" $? "$(cat "$tmp/tp$fam$mode.out")"
		after=$(udp_noports $fam)
		if [ "$after" -gt "$before" ]; then ok "tproxy v$fam $mode: Udp NoPorts $before -> $after"
		else bad "tproxy v$fam $mode: Udp NoPorts did not increase ($before -> $after)"; fi
	done
done

echo "nettool-selftest: $pass passed, $fail failed"
[ $fail = 0 ]
