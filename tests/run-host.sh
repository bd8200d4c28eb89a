#!/bin/bash
# Unit tests and the scenario lab on the running kernel, once per backend it supports.
#   tests/run-host.sh [--unit-only] [--host-extras] [--backends "fentry kprobe tracepoint"]
# --host-extras adds the sets that run once per `make test`, on the build machine only: the unit
# tests and two scenarios under ASan+UBSan (tests/run-san.sh) and the fuzz targets for a bounded
# time (tests/run-fuzz.sh); they need `make san fuzz`.
# Prints each case's ok/not ok line, one "ROW kernel=K backend=B passed=N failed=M skipped=S"
# line per backend, and finally "N passed, N failed, N skipped". Exit status 1 on any failure.
set -u
cd "$(dirname "$0")/.."
UNIT_ONLY=0
EXTRAS=0
BACKENDS=""
while [ $# -gt 0 ]; do
	case $1 in
	--unit-only) UNIT_ONLY=1 ;;
	--host-extras) EXTRAS=1 ;;
	--backends) BACKENDS=$2; shift ;;
	*) echo "usage: $0 [--unit-only] [--host-extras] [--backends LIST]" >&2; exit 2 ;;
	esac
	shift
done
KERNEL=$(uname -r)
TP=0 TF=0 TS=0

# run_set NAME CMD...: run, echo its lines, count them into P F S
run_set() {
	local name=$1; shift
	local out; out=$(mktemp)
	"$@" >"$out" 2>&1
	local st=$?
	cat "$out"
	local p f s
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out"); s=$(grep -c '^skip ' "$out")
	if [ "$st" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exited $st without a failing case"; f=1
	fi
	P=$((P + p)); F=$((F + f)); S=$((S + s))
	rm -f "$out"
}

row() {	# BACKEND
	echo "ROW kernel=$KERNEL backend=$1 passed=$P failed=$F skipped=$S"
	TP=$((TP + P)); TF=$((TF + F)); TS=$((TS + S))
}

P=0 F=0 S=0
for t in build/tests/test_*; do
	[ -x "$t" ] && run_set "$(basename "$t")" "$t"
done
row unit
if [ $EXTRAS = 1 ]; then
	for set in san fuzz; do
		P=0 F=0 S=0 t0=$(date +%s)
		run_set "$set" tests/run-$set.sh
		echo "# $set set took $(( $(date +%s) - t0 )) s"
		row "$set"
	done
fi
if [ $UNIT_ONLY = 0 ]; then
	if [ -z "$BACKENDS" ]; then
		BACKENDS=$(./pwhy backends --supported)
	fi
	first=1
	for b in $BACKENDS; do
		P=0 F=0 S=0
		for s in tests/scenarios/*.sh; do
			case $(basename "$s") in lib.sh) continue ;; esac
			# backend-independent checks run once
			if [ $first = 0 ] && grep -q '^# backend-independent' "$s"; then continue; fi
			PWHY_BACKEND=$b run_set "$(basename "$s" .sh)" bash "$s"
		done
		row "$b"
		first=0
	done
fi
echo "$TP passed, $TF failed, $TS skipped"
[ "$TF" = 0 ]
