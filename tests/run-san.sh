#!/bin/bash
# The unit tests and two scenarios (no_sk_port: `pwhy run`; report: `pwhy report`) with pwhy,
# the unit tests and nettool built with AddressSanitizer + UBSan (`make san` → build-san/).
# Any sanitizer report is fatal and fails the case that produced it: reports are written to
# files, so a report from a process whose exit status a scenario ignores still counts.
# Prints ok/not ok lines like every other set.
set -u
cd "$(dirname "$0")/.."
SAN=build-san
if [ ! -x $SAN/pwhy ]; then
	echo "not ok - sanitizers: $SAN/pwhy missing (run \`make san\`)"
	exit 1
fi
LOGS=$(mktemp -d /tmp/pwhy-san.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:log_path=$LOGS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"
FAILS=0

# reports NAME: fail NAME when a sanitizer wrote anything, then start afresh
reports() {
	local f
	f=$(ls "$LOGS" 2>/dev/null)
	if [ -n "$f" ]; then
		echo "not ok - sanitizers: $1: sanitizer report"
		cat "$LOGS"/* | sed 's/^/#   /' | head -60
		rm -f "$LOGS"/*
		FAILS=$((FAILS + 1))
	else
		echo "ok - sanitizers: $1: no sanitizer report"
	fi
}

# cases CMD...: run, pass through its ok/not ok/skip lines prefixed, count its failures
cases() {
	local out st
	out=$("$@" 2>&1); st=$?
	sed -n 's/^\(ok\|not ok\|skip\) - /\1 - sanitizers: /p' <<<"$out"
	if grep -q '^not ok ' <<<"$out" || [ $st != 0 ]; then
		FAILS=$((FAILS + 1))
		grep -q '^not ok ' <<<"$out" || echo "not ok - sanitizers: $* exited $st"
	fi
}

for t in $SAN/tests/test_*; do
	cases "$t"
	reports "$(basename "$t")"
done
for s in no_sk_port report; do
	PWHY=$PWD/$SAN/pwhy NETTOOL=$PWD/$SAN/tools/nettool PWHY_BACKEND=${PWHY_BACKEND:-auto} \
		cases bash tests/scenarios/$s.sh
	reports "scenario $s"
done
[ $FAILS = 0 ]
