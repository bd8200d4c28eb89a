#!/bin/bash
# Each libFuzzer target of tests/fuzz/ (`make fuzz` → build-fuzz/fuzz/) for a bounded time,
# starting from its checked-in seed corpus (tests/fuzz/corpus/NAME, without the fuzz_ prefix;
# files named regress-* are inputs that once crashed). Any crash, sanitizer report, leak or
# timeout fails the target; its input is kept in build-fuzz/crashes/ to reproduce with
#   build-fuzz/fuzz/fuzz_NAME build-fuzz/crashes/FILE
# PWHY_FUZZ_SECONDS (default 20) per target. Prints ok/not ok lines.
set -u
cd "$(dirname "$0")/.."
SECS=${PWHY_FUZZ_SECONDS:-20}
FAILS=0
mkdir -p build-fuzz/crashes
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=build-fuzz/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz: $name not built (run \`make fuzz\`)"; FAILS=$((FAILS + 1)); continue
	fi
	work=$(mktemp -d /tmp/pwhy-fuzz.XXXXXX)
	cp tests/fuzz/corpus/"${name#fuzz_}"/* "$work/" 2>/dev/null
	mkdir "$work/art"
	# the seeds first, each on its own: a regression input must not crash
	"$bin" -runs=0 -artifact_prefix="$work/art/" "$work" >"$work/seeds.log" 2>&1
	st=$?
	if [ $st = 0 ]; then
		"$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$work/art/" "$work" >"$work/log" 2>&1
		st=$?
	else
		cp "$work/seeds.log" "$work/log"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	if [ $st = 0 ]; then
		echo "ok - fuzz: $name: ${runs:-?} inputs in ${SECS} s, no crash"
	else
		echo "not ok - fuzz: $name: exit $st"
		grep -E 'ERROR|SUMMARY|invalid|^    #[0-9] ' "$work/log" | head -20 | sed 's/^/#   /'
		for a in "$work"/art/*; do
			[ -e "$a" ] && cp "$a" build-fuzz/crashes/ && echo "#   input kept: build-fuzz/crashes/$(basename "$a")"
		done
		FAILS=$((FAILS + 1))
	fi
	rm -rf "$work"
done
[ $FAILS = 0 ]
