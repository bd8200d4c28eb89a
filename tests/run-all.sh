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
tests/run-host.sh | tee "$LOG/host"
grep '^ROW ' "$LOG/host" | sed "s/^ROW kernel=\([^ ]*\)/ROW kernel=\1 (this machine)/" > "$LOG/rows"
grep -q '^ROW ' "$LOG/host" || echo "ROW kernel=$(uname -r) backend=all passed=0 failed=1 skipped=0" >> "$LOG/rows"

if [ "${PWHY_NO_VM:-0}" = 1 ]; then
	echo "ROW kernel=vm-matrix backend=- passed=0 failed=0 skipped=1 (PWHY_NO_VM=1)" >> "$LOG/rows"
else
	for k in $(awk '!/^#/ && NF {print $1}' tests/vm/kernels.list); do
		echo "== kernel $k (QEMU)"
		tests/vm/vm-run.sh "$k" -- tests/run-host.sh > "$LOG/vm-$k" 2>&1
		st=$?
		cat "$LOG/vm-$k"
		if grep -q '^ROW ' "$LOG/vm-$k"; then
			grep '^ROW ' "$LOG/vm-$k" >> "$LOG/rows"
		fi
		# a VM that could not boot or run is a failure, never a skip
		if [ $st -ge 124 ] || ! grep -q '^ROW ' "$LOG/vm-$k"; then
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
