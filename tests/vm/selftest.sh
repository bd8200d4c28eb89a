#!/bin/bash
# selftest.sh [NAME...]
#
# Checks vm-run.sh itself on every kernel of kernels.list (or on NAME...):
# exit status and output passing, module autoloading (vrf, nftables,
# iptables), bpftool, BTF and tracefs, network namespaces, the timeout and
# the refusal of an unknown kernel. Ends with "N passed, N failed".
set -u
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
RUN=$HERE/vm-run.sh
PASS=0
FAIL=0

# check DESCRIPTION WANT_STATUS CMD...: the status of CMD must be WANT_STATUS
check() {
    local what=$1 want=$2 got out t0=$SECONDS
    shift 2
    out=$(mktemp)
    "$@" > "$out" 2>&1
    got=$?
    if [ "$got" = "$want" ]; then
        PASS=$((PASS + 1))
        echo "ok   $what ($((SECONDS - t0)) s)"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL $what: exit $got, wanted $want; its output:"
        sed 's/^/     /' "$out" | tail -n 40
    fi
    rm -f "$out"
}

if [ $# -eq 0 ]; then
    mapfile -t names < <(awk '$1 !~ /^#/ && NF >= 2 { print $1 }' "$HERE/kernels.list")
    set -- "${names[@]}"
fi

for k in "$@"; do
    echo "== kernel $k"
    errf=$(mktemp)
    kv=$("$RUN" "$k" -- uname -r 2> "$errf")
    rc=$?
    if [ $rc = 0 ] && [ -n "$kv" ] && [ "$kv" != "$(uname -r)" ]; then
        PASS=$((PASS + 1)); echo "ok   boots $kv"
        rm -f "$errf"
    else
        FAIL=$((FAIL + 1)); echo "FAIL boot: exit $rc, uname -r: '$kv'; its stderr:"
        sed 's/^/     /' "$errf" | tail -n 40
        rm -f "$errf"
        continue
    fi
    check "exit status passes through" 7 "$RUN" "$k" -- sh -c 'exit 7'
    check "stdout and stderr stay apart" 0 bash -c \
        "[ \"\$('$RUN' '$k' -- sh -c 'echo out; echo err >&2' 2>/dev/null)\" = out ]"
    check "cwd, environment and argv" 0 env PWHY_SELFTEST='a b' "$RUN" "$k" -- bash -c \
        '[ "$PWD" = "$1" ] && [ "$PWHY_SELFTEST" = "a b" ] && [ "$2" = "c d" ]' x "$PWD" 'c d'
    check "modprobe vrf, a VRF device" 0 "$RUN" "$k" -- sh -c \
        'modprobe vrf && ip link add v1 type vrf table 10 && ip link show v1'
    if command -v bpftool > /dev/null; then
        check "bpftool prog list" 0 "$RUN" "$k" -- bpftool prog list
    fi
    check "BTF and tracefs" 0 "$RUN" "$k" -- \
        ls /sys/kernel/btf/vmlinux /sys/kernel/tracing/available_filter_functions
    check "network namespaces" 0 "$RUN" "$k" -- sh -c \
        'ip netns add x && ip netns exec x ip link set lo up && ip netns del x'
    check "nft and iptables (module autoloading)" 0 "$RUN" "$k" -- sh -c \
        'nft list ruleset && iptables -t mangle -L -n'
    check "veth and clsact" 0 "$RUN" "$k" -- sh -c \
        'ip link add va type veth peer name vb && tc qdisc add dev va clsact'
done

echo "== runner"
check "an unknown kernel is refused" 125 "$RUN" no-such-kernel -- true
check "a hang ends with 124 at PWHY_VM_TIMEOUT" 124 env PWHY_VM_TIMEOUT=10 "$RUN" "$1" -- sleep 100000

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
