# Scenario lab helpers: throwaway network namespaces, pwhy runs, assertions.
# Every scenario sources this file; each assertion prints "ok - NAME" or "not ok - NAME".
# Traffic only ever goes to addresses inside namespaces created here, or to loopback.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PWHY=${PWHY:-$ROOT/pwhy}
NETTOOL=${NETTOOL:-$ROOT/build/tools/nettool}
BACKEND=${PWHY_BACKEND:-auto}
TAG=pw$$
WORK=$(mktemp -d /tmp/pwhy-scn.XXXXXX)
FAILS=0

# ns_kill NS: end every process running in a namespace (servers, proxies)
ns_kill() { ip netns pids "$1" 2>/dev/null | xargs -r kill 2>/dev/null; }

# ns_new runs in command substitutions (a subshell), so namespaces are found again by their tag
cleanup() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$TAG-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $SCENARIO: $*"; }
bad() { echo "not ok - $SCENARIO: $*"; FAILS=$((FAILS + 1)); }
skip() { echo "skip - $SCENARIO: $*"; }

# ns_new SHORT -> prints the unique name; the namespace has lo up
ns_new() {
	local n=$TAG-$1
	ip netns add "$n" || return 1
	ip -n "$n" link set lo up
	echo "$n"
}

# veth NS1 IF1 NS2 IF2
veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# need_vrf: end the scenario with a skip when this kernel has no VRF driver
need_vrf() {
	local probe; probe=$(ns_new vrfprobe)
	ip -n "$probe" link add vrfp type vrf table 10 2>/dev/null && return 0
	skip "no VRF support in this kernel"
	finish
}

# vrf_slave NS VRF TABLE SLAVE PEER_NS PEER: a VRF device in NS with SLAVE enslaved to it,
# SLAVE a veth whose peer PEER is in PEER_NS; all up
vrf_slave() {
	ip -n "$1" link add "$2" type vrf table "$3" && ip -n "$1" link set "$2" up &&
	veth "$1" "$4" "$5" "$6" && ip -n "$1" link set "$4" master "$2"
}

nt() { local ns=$1; shift; ip netns exec "$ns" "$NETTOOL" "$@"; }

# pwhy_run OUTFILE ARGS... : pwhy run with the scenario's backend; returns pwhy's status
pwhy_run() {
	local out=$1; shift
	"$PWHY" run --backend "$BACKEND" ${PWHY_VERBOSE:+-v} "$@" >"$out" 2>"$out.err"
}

# expect_grep FILE REGEX NAME / expect_no_grep FILE REGEX NAME
expect_grep() {
	if grep -Eq -- "$2" "$1"; then ok "$3"; else bad "$3 (no line matching /$2/ in output)"; sed 's/^/#   /' "$1" "$1.err" 2>/dev/null | tail -25; fi
}
expect_no_grep() {
	if grep -Eq -- "$2" "$1"; then bad "$3 (unexpected line matching /$2/)"; grep -E -- "$2" "$1" | sed 's/^/#   /' | head -5; else ok "$3"; fi
}
expect_status() {
	if [ "$1" = "$2" ]; then ok "$3"; else bad "$3 (exit status $1, want $2)"; sed 's/^/#   /' "$4.err" 2>/dev/null | tail -10; fi
}

# TPROXY for udp dport 53 in NS to the proxy on ONIP:15353; family 4|6. Tries iptables
# flavours, then nft.
tproxy_rules() {
	local ns=$1 fam=$2 onip=$3 ipt
	if [ "$fam" = 4 ]; then ipt=iptables; else ipt=ip6tables; fi
	ip -n "$ns" -$fam rule add fwmark 1 lookup 100
	if [ "$fam" = 4 ]; then ip -n "$ns" route add local 0.0.0.0/0 dev lo table 100
	else ip -n "$ns" -6 route add local ::/0 dev lo table 100; fi
	for f in $ipt $ipt-legacy; do
		command -v $f >/dev/null || continue
		ip netns exec "$ns" $f -t mangle -A OUTPUT -p udp --dport 53 -j MARK --set-mark 1 2>/dev/null &&
		ip netns exec "$ns" $f -t mangle -A PREROUTING -p udp --dport 53 -j TPROXY \
			--on-port 15353 --on-ip "$onip" --tproxy-mark 0x1/0x1 2>/dev/null && return 0
	done
	return 1
}

# wait_ready ERRFILE PID: until a pwhy running in the background says it is tracing (60 s:
# emulated kernels attach slowly); fails early when it exits
wait_ready() {
	for _ in $(seq 600); do
		grep -q '^pwhy: tracing with' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_file PATH: up to 3 s for a ready file
wait_file() { for _ in $(seq 60); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

# The backend pwhy really used for a run (from its ready line)
used_backend() { sed -n 's/^pwhy: tracing with the \([a-z]*\) backend.*/\1/p' "$1.err" | head -1; }

# On backends with function probes, the path between send and drop must show kernel functions
expect_func_path() {	# OUT NAME
	case $(used_backend "$1") in
	fentry|kprobe)
		expect_grep "$1" " (udp_send_skb|udp_v6_send_skb|ip_send_skb|ip6_send_skb|__dev_queue_xmit)( clone of 0x[0-9a-f]+)?$" "$2: the function path of the send is shown"
		expect_grep "$1" " (sk_skb_reason_drop|kfree_skb_reason)( clone of 0x[0-9a-f]+)?$" "$2: the dropping function is shown"
		;;
	esac
}

finish() { exit $((FAILS > 0)); }
