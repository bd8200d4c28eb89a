#!/bin/bash
# Attach and detach time of `pwhy trace --all` (every function taking an skb) for each function
# backend this kernel has: kprobe (kprobe.multi where the kernel has it, else one perf kprobe
# per function) and fentry (one verified program and trampoline per function). Run it where
# those backends exist, e.g. a 6.12 VM:  tests/vm/vm-run.sh 6.12 -- bench/attach.sh
# Prints a table and one JSON line (prefixed "JSON ").
#
#   ATTACH_REPEAT=1 ATTACH_BACKENDS="kprobe fentry" bench/attach.sh
set -u
cd "$(dirname "$0")/.."
PWHY=${PWHY:-$(pwd)/pwhy}
REPEAT=${ATTACH_REPEAT:-1}
BACKENDS=${ATTACH_BACKENDS:-kprobe fentry}

if [ "$(id -u)" != 0 ]; then echo "attach bench: run as root" >&2; exit 3; fi
[ -x "$PWHY" ] || { echo "attach bench: $PWHY not built (make)" >&2; exit 2; }
supported=" $("$PWHY" backends --supported | tr '\n' ' ') "
nfuncs=$("$PWHY" trace --all --list-funcs 2>/dev/null | wc -l)
tmp=$(mktemp -d)
trap 'rm -rf $tmp' EXIT

now() { date +%s.%N; }
rows=() json=()
for b in $BACKENDS; do
	if [[ $supported != *" $b "* ]]; then
		rows+=("$(printf '%-13s %s' "$b" "not available on this kernel")")
		continue
	fi
	for r in $(seq "$REPEAT"); do
		s=$(now)
		"$PWHY" trace --all -v --backend "$b" --timeout 1 'udp and port 9' >/dev/null 2>$tmp/err
		st=$?
		wall=$(printf "%.2f" "$(echo "$(now) - $s" | bc)")
		kind=$(sed -n 's/^pwhy: attached [0-9]* probes in [0-9.]* s (\(.*\))$/\1/p' $tmp/err)
		probes=$(sed -n 's/^pwhy: attached \([0-9]*\) probes.*/\1/p' $tmp/err)
		att=$(sed -n 's/^pwhy: attached [0-9]* probes in \([0-9.]*\) s.*/\1/p' $tmp/err)
		det=$(sed -n 's/^pwhy: detached [0-9]* probes in \([0-9.]*\) s.*/\1/p' $tmp/err)
		refused=$(sed -n 's/.* \([0-9]*\) refused by the kernel.*/\1/p' $tmp/err)
		if [ $st != 0 ] || [ -z "$att" ]; then
			rows+=("$(printf '%-13s %s' "$b" "failed (status $st): $(grep -v note: $tmp/err | tail -1)")")
			continue
		fi
		rows+=("$(printf '%-13s %7s %7s %9s %9s %9s' "$kind" "$probes" "${refused:-0}" "$att" "$det" "$wall")")
		json+=("{\"backend\":\"$kind\",\"probes\":$probes,\"refused\":${refused:-0},\"attach_s\":$att,\"detach_s\":$det,\"wall_s\":$wall}")
	done
done
echo "pwhy trace --all on $(uname -r), $(nproc) CPU(s), $nfuncs functions planned"
printf '%-13s %7s %7s %9s %9s %9s\n' BACKEND PROBES REFUSED ATTACH_S DETACH_S WALL_S
printf '%s\n' "${rows[@]}"
( IFS=,; echo "JSON {\"bench\":\"attach-all\",\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),\"functions\":$nfuncs,\"runs\":[${json[*]}]}" )
