#!/bin/bash
# Fix for seed 000: `pwhy fix apply pktinfo-oif`. The oif_reroute topology (IP_PKTINFO names A,
# a mangle MARK in OUTPUT makes the kernel reroute by B): without the fix the datagram reaches
# the peer on the B side; with it, on the A side with A's MAC. Also: addresses added (and moved)
# after apply are honoured by the keeper, --src limits the scope, applying twice is idempotent,
# remove brings the bug back and leaves nothing, a deleted namespace shows as stale and is
# cleaned, and bad input gets one line and exit 2.
# backend-independent
. "$(dirname "$0")/lib.sh"
SCENARIO=fix_oif
S=$(ns_new fs); R=$(ns_new fr); G=
A=fa$$; B=fb$$; RA=ra$$; RB=rb$$
fix_cleanup() {
	"$PWHY" fix remove --all --netns $S >/dev/null 2>&1
	[ -n "$G" ] && "$PWHY" fix remove --all --netns $G >/dev/null 2>&1
	ip netns pids $R 2>/dev/null | xargs -r kill 2>/dev/null
	cleanup
}
trap fix_cleanup EXIT
veth $S $A $R $RA; veth $S $B $R $RB
ip -n $S addr add 10.89.1.1/24 dev $A; ip -n $R addr add 10.89.1.2/24 dev $RA
ip -n $S addr add 10.89.2.1/24 dev $B; ip -n $R addr add 10.89.2.2/24 dev $RB
ip -n $S addr add fd89:1::1/64 dev $A nodad; ip -n $R addr add fd89:1::2/64 dev $RA nodad
ip -n $S addr add fd89:2::1/64 dev $B nodad; ip -n $R addr add fd89:2::2/64 dev $RB nodad
ip -n $R addr add 192.0.2.1/32 dev lo; ip -n $R addr add 2001:db8:89::1/128 dev lo
# B is preferred for the destination; A is what the sender asks for. Neighbours are learned
# (not permanent): the fix must cope with resolution itself.
ip -n $S route add 192.0.2.1/32 via 10.89.2.2 dev $B metric 10
ip -n $S route add 192.0.2.1/32 via 10.89.1.2 dev $A metric 20
ip -n $S -6 route add 2001:db8:89::1/128 via fd89:2::2 dev $B metric 10
ip -n $S -6 route add 2001:db8:89::1/128 via fd89:1::2 dev $A metric 20
ip netns exec $S iptables -t mangle -A OUTPUT -p udp --dport 9000:9999 -j MARK --set-mark 1
ip netns exec $S ip6tables -t mangle -A OUTPUT -p udp --dport 9000:9999 -j MARK --set-mark 1
MAC_A=$(ip -n $S -br link show $A | awk '{print $3}')
MAC_B=$(ip -n $S -br link show $B | awk '{print $3}')
INO=$(stat -L -c %i /run/netns/$S)

# the peer's view: every datagram to 9000-9999 with its source MAC, per interface
for i in $RA $RB; do
	ip netns exec $R tcpdump -l -e -n -i $i 'udp and dst portrange 9000-9999' >$WORK/cap.$i 2>$WORK/cap.$i.err &
done
for i in $RA $RB; do
	for _ in $(seq 100); do grep -q "listening on" $WORK/cap.$i.err && break; sleep 0.05; done
done

PORT=9000
# probe PORT FAMILY [udp-send args]: one datagram to a port not used before; prints
# "IFACE SRCMAC" of where it reached the peer, or "nowhere"
probe() {
	local port=$1 fam=$2 dst l; shift 2
	if [ $fam = 4 ]; then dst=192.0.2.1:$port; else dst="[2001:db8:89::1]:$port"; fi
	nt $S udp-send --to "$dst" "$@" --payload fix >/dev/null
	for _ in $(seq 60); do
		for i in $RA $RB; do
			if l=$(grep -m1 "\.$port: UDP" $WORK/cap.$i); then
				echo "$i $(awk '{print $2}' <<<"$l")"
				return
			fi
		done
		sleep 0.05
	done
	echo nowhere
}
expect_at() {	# NAME WANT FAMILY [udp-send args]
	local name=$1 want=$2 got; shift 2
	PORT=$((PORT + 1))
	got=$(probe $PORT "$@")
	if [ "$got" = "$want" ]; then ok "$name"; else bad "$name (reached: $got, want: $want)"; fi
}
# the keeper works asynchronously: retry a few times until WANT
expect_at_soon() {
	local name=$1 want=$2 got; shift 2
	for _ in 1 2 3 4 5 6 7 8; do
		PORT=$((PORT + 1))
		got=$(probe $PORT "$@")
		[ "$got" = "$want" ] && break
		sleep 0.25
	done
	if [ "$got" = "$want" ]; then ok "$name"; else bad "$name (reached: $got, want: $want)"; fi
}
fix() { "$PWHY" fix "$@" >$WORK/fix.out 2>$WORK/fix.out.err; }
pwhy_progs() { bpftool prog show 2>/dev/null | grep -c ' name pwhy_fix_oif' ; }
settle_progs() { for _ in $(seq 100); do [ "$(pwhy_progs)" = "$1" ] && return; sleep 0.05; done; }

# --- the bug
expect_at "v4 without the fix: leaves by B (the bug)" "$RB $MAC_B" 4 --pktinfo-if $A
expect_at "v6 without the fix: leaves by B (the bug)" "$RB $MAC_B" 6 --pktinfo-if $A

# the same script proves "bug present" without the fix and "bug gone" with it
run_oif() { pwhy_run $WORK/run.$1 --events "$2" oif-change,src-mac-mismatch 'udp and port 9990' -- \
	ip netns exec $S $NETTOOL udp-send --to 192.0.2.1:9990 --pktinfo-if $A --payload fix; }
run_oif bug --expect
expect_status $? 0 "pwhy run --expect oif-change,src-mac-mismatch without the fix: bug present" $WORK/run.bug

# --- the fix
fix apply pktinfo-oif --netns $S
expect_status $? 0 "apply exits 0" $WORK/fix.out
run_oif fixed --expect-none
expect_status $? 0 "pwhy run --expect-none oif-change,src-mac-mismatch with the fix: bug gone" $WORK/run.fixed
expect_grep $WORK/fix.out "pktinfo-oif applied in netns $S \(inode $INO\) on .*keeper pid [0-9]+" "apply says where and names the keeper"
expect_at "v4 with the fix: reaches the A side with A's MAC" "$RA $MAC_A" 4 --pktinfo-if $A
expect_at "v6 with the fix: reaches the A side with A's MAC" "$RA $MAC_A" 6 --pktinfo-if $A
expect_at "ordinary traffic from B's address stays on B" "$RB $MAC_B" 4
fix status
expect_grep $WORK/fix.out "^pktinfo-oif  netns $S \(inode $INO\)  active" "status: kind, netns and state"
expect_grep $WORK/fix.out "attached \(tc egress\): .*\b$A\b" "status: attached to A"
expect_grep $WORK/fix.out "attached \(tc egress\): .*\b$B\b" "status: attached to B"
expect_grep $WORK/fix.out "keeper: pid [0-9]+ running" "status: the keeper runs"
expect_grep $WORK/fix.out "since [0-9-]+ [0-9:]+" "status: since when"
expect_grep $WORK/fix.out "IPv4 redirected [1-9].*IPv6 redirected [1-9]" "status: counts the redirected packets"
[ -d /sys/fs/bpf/pwhy/$INO/pktinfo-oif ] && [ -e /sys/fs/bpf/pwhy/$INO/pktinfo-oif/prog ] &&
	[ "$(stat -c %a /sys/fs/bpf/pwhy/$INO/pktinfo-oif)" = 700 ] &&
	ok "pinned under /sys/fs/bpf/pwhy/$INO/pktinfo-oif (mode 0700)" || bad "pin directory missing or not 0700"

# --- idempotent
since1=$(sed -n 's/.*since \([0-9-]* [0-9:]*\).*/\1/p' $WORK/fix.out)
sleep 1
fix apply pktinfo-oif --netns $S
expect_status $? 0 "applying twice exits 0" $WORK/fix.out
expect_grep $WORK/fix.out "applied again" "applying twice says so"
n=$(ip netns exec $S bpftool net 2>/dev/null | grep -c pwhy_fix_oif)
[ "$n" = 2 ] && ok "applying twice: one filter per interface" || bad "applying twice: $n pwhy filters (want 2)"
settle_progs 1
[ "$(pwhy_progs)" = 1 ] && ok "applying twice: one program loaded" || bad "applying twice: $(pwhy_progs) programs"
fix status
[ "$(grep -c '^pktinfo-oif ' $WORK/fix.out)" = 1 ] && ok "applying twice: status lists it once" || bad "status lists $(grep -c '^pktinfo-oif ' $WORK/fix.out) entries"
expect_grep $WORK/fix.out "since $since1" "applying the same scope again keeps 'since'"
expect_at "v4 after applying twice: still the A side" "$RA $MAC_A" 4 --pktinfo-if $A

# --- addresses changed after apply
ip -n $S addr add 10.89.1.7/24 dev $A
ip -n $S addr add fd89:1::7/64 dev $A nodad
expect_at_soon "v4 address added to A after apply is honoured" "$RA $MAC_A" 4 --pktinfo-if $A --pktinfo-src 10.89.1.7
expect_at_soon "v6 address added to A after apply is honoured" "$RA $MAC_A" 6 --pktinfo-if $A --pktinfo-src fd89:1::7
# moved to B: its packets now belong on B and must not be pulled to A any more
ip -n $S addr del 10.89.1.7/24 dev $A
ip -n $S addr add 10.89.1.7/24 dev $B
expect_at_soon "v4 address moved from A to B after apply: no longer redirected to A" "$RB $MAC_B" 4 --pktinfo-if $A --pktinfo-src 10.89.1.7
ip -n $S addr del 10.89.1.7/24 dev $B

# --- scope: only the listed sources
fix apply pktinfo-oif --netns $S --src 10.89.1.1/32,fd89:1::1/128
expect_status $? 0 "apply with --src exits 0" $WORK/fix.out
ip -n $S addr add 10.89.1.8/24 dev $A
expect_at "--src: a source inside the scope is redirected" "$RA $MAC_A" 4 --pktinfo-if $A
sleep 0.3	# the keeper has seen 10.89.1.8 (it is on A: only the scope keeps it out)
expect_at "--src: a source outside the scope is left alone" "$RB $MAC_B" 4 --pktinfo-if $A --pktinfo-src 10.89.1.8
fix status
expect_grep $WORK/fix.out "sources 10\.89\.1\.1/32,fd89:1::1/128" "status shows the --src scope"
expect_grep $WORK/fix.out "left alone \(source outside --src\) [1-9]" "status counts packets left alone by the scope"

# --- remove
fix remove pktinfo-oif --netns $S
expect_status $? 0 "remove exits 0" $WORK/fix.out
expect_grep $WORK/fix.out "removed pktinfo-oif from netns $S" "remove says what it removed"
expect_at "v4 after remove: the bug is back" "$RB $MAC_B" 4 --pktinfo-if $A
expect_at "v6 after remove: the bug is back" "$RB $MAC_B" 6 --pktinfo-if $A
n=$(ip netns exec $S bpftool net 2>/dev/null | grep -c pwhy)
[ "$n" = 0 ] && ok "after remove: bpftool net shows nothing of pwhy" || bad "after remove: $n pwhy lines in bpftool net"
settle_progs 0
[ "$(pwhy_progs)" = 0 ] && ok "after remove: bpftool prog shows nothing of pwhy_fix" || bad "after remove: $(pwhy_progs) programs left"
ip netns exec $S tc qdisc show | grep -q clsact && bad "after remove: a clsact qdisc is left" || ok "after remove: the clsact qdiscs pwhy created are gone"
[ ! -e /sys/fs/bpf/pwhy/$INO ] && ok "after remove: nothing pinned for the namespace" || bad "after remove: /sys/fs/bpf/pwhy/$INO still exists"
pgrep -f "fix keep /sys/fs/bpf/pwhy/$INO/" >/dev/null && bad "after remove: the keeper still runs" || ok "after remove: the keeper is gone"
ip -n $S -6 neigh show | grep -q managed && bad "after remove: a managed neighbour is left" || ok "after remove: the managed neighbours it installed are gone"
fix remove pktinfo-oif --netns $S
expect_status $? 0 "remove when nothing is applied exits 0" $WORK/fix.out

# --- a namespace deleted under an applied fix
G=$(ns_new fg)
veth $G g0$$ $G g1$$
fix apply pktinfo-oif --netns $G --dev g0$$
expect_status $? 0 "apply in a second namespace" $WORK/fix.out
GINO=$(stat -L -c %i /run/netns/$G)
ip netns del $G
for _ in $(seq 60); do fix status; grep -q "STALE" $WORK/fix.out && break; sleep 0.1; done
expect_grep $WORK/fix.out "^pktinfo-oif  netns $G \(inode $GINO\)  STALE: the network namespace is gone" "status: a deleted namespace shows as stale"
fix remove pktinfo-oif --netns $G
expect_status $? 0 "remove by the name of a deleted namespace exits 0" $WORK/fix.out
[ ! -e /sys/fs/bpf/pwhy/$GINO ] && ok "stale fix: remove unpins it" || bad "stale fix: /sys/fs/bpf/pwhy/$GINO left"
fix status
expect_grep $WORK/fix.out "no fixes applied" "status after every remove: nothing applied"
G=

# --- bad input: one line, exit 2
expect_usage() {	# NAME REGEX ARGS...
	local name=$1 re=$2; shift 2
	"$PWHY" fix "$@" >$WORK/u.out 2>$WORK/u.err; st=$?
	if [ $st = 2 ] && [ "$(wc -l <$WORK/u.err)" = 1 ] && grep -Eq -- "$re" $WORK/u.err; then ok "$name"
	else bad "$name (status $st; stderr: $(head -c 300 $WORK/u.err))"; fi
}
expect_usage "apply without a kind" "needs a KIND" apply
expect_usage "unknown kind" "unknown kind 'bogus'" apply bogus
expect_usage "unknown namespace" "no such network namespace 'nosuch$$'" apply pktinfo-oif --netns nosuch$$
expect_usage "unknown interface" "no such interface 'nosuch0'" apply pktinfo-oif --netns $S --dev nosuch0
expect_usage "bad --src" "bad --src '10\.1\.2\.300/8'" apply pktinfo-oif --netns $S --src 10.1.2.300/8
expect_usage "vrf-lookup without --addr/--port refuses" "refuses to apply without --addr or --port" apply vrf-lookup --netns $S --vrf nosuch
expect_usage "vrf-lookup without --vrf" "needs --vrf" apply vrf-lookup --netns $S --port 53
expect_usage "remove without a kind" "KIND or --all" remove
"$PWHY" fix apply tproxy-reply >$WORK/t.out 2>&1; st=$?
if [ $st != 0 ] && grep -q "IP_TRANSPARENT" $WORK/t.out && grep -q "IP_RECVORIGDSTADDR" $WORK/t.out && grep -q "behaves as documented" $WORK/t.out; then
	ok "tproxy-reply: explains the application change and exits non-zero ($st)"
else
	bad "tproxy-reply (status $st): $(head -c 300 $WORK/t.out)"
fi
[ ! -e /sys/fs/bpf/pwhy/$INO ] && ok "failed applies leave nothing pinned" || bad "failed applies left /sys/fs/bpf/pwhy/$INO"
finish
