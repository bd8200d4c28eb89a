#!/bin/bash
# `make test`: unit tests and the scenario lab on this kernel, then again inside every kernel
# of tests/vm/kernels.list (booted in QEMU), with each backend that kernel accepts.
# Ends with a matrix table, the time it took, and "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
START=$(date +%s)
LOG=$(mktemp -d /tmp/pwhy-test.XXXXXX)
trap 'rm -rf "$LOG"' EXIT

echo "== this machine: $(uname -r)"
tests/run-host.sh --host-extras | tee "$LOG/host"
grep '^ROW ' "$LOG/host" | sed "s/^ROW kernel=\([^ ]*\)/ROW kernel=\1 (this machine)/" > "$LOG/rows"
grep -q '^ROW ' "$LOG/host" || echo "ROW kernel=$(uname -r) backend=all passed=0 failed=1 skipped=0" >> "$LOG/rows"

if [ "${PWHY_NO_VM:-0}" = 1 ]; then
	echo "ROW kernel=vm-matrix backend=- passed=0 failed=0 skipped=1 (PWHY_NO_VM=1)" >> "$LOG/rows"
else
	# Kernels boot in parallel, one vCPU each: with several vCPUs, TCG has been seen to crash a
	# guest while the kernel patches its own text (static keys flipped by attaching probes).
	export PWHY_VM_SMP=${PWHY_VM_SMP:-1}
	KERNELS=$(awk '!/^#/ && NF {print $1}' tests/vm/kernels.list)
	for k in $KERNELS; do
		tests/vm/fetch-kernels.sh "$k" >/dev/null 2>&1	# serialise downloads before the boots
		# the soak runs 600 s here, a minute in emulation (the VM has its own time limit)
		( PWHY_VM_TIMEOUT=${PWHY_VM_TIMEOUT:-3300} PWHY_SOAK_SECONDS=${PWHY_VM_SOAK_SECONDS:-60} tests/vm/vm-run.sh "$k" -- tests/run-host.sh > "$LOG/vm-$k" 2>&1; echo $? > "$LOG/vm-$k.rc" ) &
	done
	wait
	for k in $KERNELS; do
		st=$(cat "$LOG/vm-$k.rc" 2>/dev/null || echo 125)
		echo "== kernel $k (QEMU), vm-run exited $st"
		cat "$LOG/vm-$k"
		grep '^ROW ' "$LOG/vm-$k" >> "$LOG/rows"
		# a VM that could not boot or run is a failure, never a skip
		if [ "$st" -ge 124 ] || ! grep -q '^ROW ' "$LOG/vm-$k"; then
			echo "ROW kernel=$k backend=vm passed=0 failed=1 skipped=0 (vm-run exited $st)" >> "$LOG/rows"
		fi
	done
fi

echo
echo "== matrix"
printf '%-36s %-11s %7s %7s %8s\n' KERNEL BACKEND PASSED FAILED SKIPPED
P=0 F=0 S=0
while read -r line; do
	k=$(sed -n 's/^ROW kernel=\(.*\) backend=.*/\1/p' <<<"$line")
	b=$(sed -n 's/.* backend=\([^ ]*\).*/\1/p' <<<"$line")
	p=$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$line")
	f=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$line")
	s=$(sed -n 's/.* skipped=\([0-9]*\).*/\1/p' <<<"$line")
	printf '%-36s %-11s %7s %7s %8s\n' "$k" "$b" "$p" "$f" "$s"
	P=$((P + p)); F=$((F + f)); S=$((S + s))
done < "$LOG/rows"
echo "time: $(( $(date +%s) - START )) s"
echo "$P passed, $F failed, $S skipped"
[ $F = 0 ]
