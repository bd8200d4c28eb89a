#!/bin/bash
# Bad input gets one clear line and a non-zero exit; nothing stays attached after pwhy ends,
# whether it stops by itself, by SIGINT, SIGTERM or SIGKILL.
# backend-independent
. "$(dirname "$0")/lib.sh"
SCENARIO=lifecycle
# the tracer's own programs (fix programs, pinned on purpose, are not counted)
progs() { bpftool prog show 2>/dev/null | grep -cE ' name pwhy(_(netif_rcv|netif_rx|copy_dgram|dev_queue|kfree_skb|consume|fib4|fib6|send[a-z_]*|sys_enter|sys_exit|fentry[0-9]|kprobe[0-9]|kmulti[0-9]))?  ' ; }

expect_fail() {	# NAME WANT_STATUS REGEX ARGS...
	local name=$1 want=$2 re=$3; shift 3
	"$PWHY" "$@" >$WORK/o 2>$WORK/e; st=$?
	if [ $st = $want ] && [ "$(wc -l <$WORK/e)" -ge 1 ] && grep -Eq -- "$re" $WORK/e; then ok "$name"
	else bad "$name (status $st, want $want; stderr: $(head -c 300 $WORK/e))"; fi
}
expect_fail "bad filter: one line naming the filter" 2 "bad filter 'udp and port xyz'" trace --timeout 1 udp and port xyz
expect_fail "unknown backend" 2 "unknown backend 'bogus'" trace --backend bogus
expect_fail "unknown interface" 2 "no such interface 'nosuch0'" trace --timeout 1 --filter-ifname nosuch0
expect_fail "unknown netns" 2 "no such network namespace" trace --filter-netns nosuchns
expect_fail "bad --fail-on kind" 2 "unknown finding kind" run --fail-on bogus -- true
expect_fail "run without a command" 2 "missing '-- COMMAND'" run
caps=$("$PWHY" trace --backend fentry --timeout 1 2>&1 >/dev/null)
if grep -q "refuses fentry" <<<"$caps"; then
	expect_fail "fentry refused: one line suggesting --backend tracepoint" 3 "refuses fentry programs.*--backend tracepoint" trace --backend fentry --timeout 1
else
	skip "this kernel accepts fentry"
fi
caps=$("$PWHY" trace --backend kprobe --timeout 1 2>&1 >/dev/null)
if grep -q "no kprobes" <<<"$caps"; then
	expect_fail "kprobe refused: one line suggesting --backend tracepoint" 3 "no kprobes.*--backend tracepoint" trace --backend kprobe --timeout 1
else
	skip "this kernel has kprobes"
fi
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PWHY" trace --timeout 1 >$WORK/o 2>$WORK/e
	st=$?; if [ $st = 3 ] && grep -q "must run as root" $WORK/e; then ok "not root: clear message, exit 3"; else bad "not root (status $st: $(cat $WORK/e))"; fi
fi
PWHY_BTF=/nonexistent "$PWHY" trace --timeout 1 >$WORK/o 2>$WORK/e
st=$?; if [ $st = 3 ] && grep -q "no kernel BTF" $WORK/e; then ok "missing BTF: clear message, exit 3"; else bad "missing BTF (status $st: $(cat $WORK/e))"; fi

# programs are freed asynchronously once their last fd is closed: allow a moment
# (detaching fentry trampolines waits for RCU grace periods: seconds under emulation)
settle() { for _ in $(seq 600); do [ "$(progs)" = "$1" ] && return; sleep 0.1; done; }
before=$(progs)
"$PWHY" trace --backend "$BACKEND" --timeout 1 udp >/dev/null 2>&1
settle $before
[ "$(progs)" = "$before" ] && ok "timeout: nothing left attached" || bad "timeout: programs left: $(progs)"
for sig in INT TERM KILL; do
	rm -f $WORK/sig.err	# the previous signal's ready line is not this run's
	"$PWHY" trace --backend "$BACKEND" udp >/dev/null 2>$WORK/sig.err &
	pid=$!
	for _ in $(seq 600); do grep -q "probes attached" $WORK/sig.err && break; sleep 0.1; done
	attached=$(progs)
	kill -$sig $pid
	for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -0 $pid 2>/dev/null && { bad "SIG$sig: pwhy still running 60 s later"; kill -KILL $pid; }
	wait $pid 2>/dev/null
	settle $before
	if [ "$attached" -gt "$before" ] && [ "$(progs)" = "$before" ]; then ok "SIG$sig: programs gone ($attached while tracing)"
	else bad "SIG$sig: $attached while tracing, $(progs) after (before: $before)"; fi
done
# A send ends at the socket layer's tracepoint where the kernel has it: the raw syscall exit,
# once attached, slows every syscall of every task.
if grep -q ' __traceiter_sock_send_length$' /proc/kallsyms; then want=pwhy_send_end other=pwhy_sys_exit
else want=pwhy_sys_exit other=pwhy_send_end; fi
rm -f $WORK/end.err
"$PWHY" trace --backend "$BACKEND" udp port 9 >/dev/null 2>$WORK/end.err &
pid=$!
for _ in $(seq 600); do grep -q "probes attached" $WORK/end.err && break; sleep 0.1; done
names=$(bpftool prog show 2>/dev/null | grep -oE ' name pwhy_(send_end|sys_exit) ' | sort | uniq -c | tr -s ' ')
kill -INT $pid; wait $pid 2>/dev/null
if grep -q " $want " <<<"$names" && ! grep -q " $other " <<<"$names"; then ok "the end of a send: $want, not $other"
else bad "the end of a send: want $want only, loaded: '${names}'"; fi
# The verifier's walk decides start-up time and, past a million instructions, whether a kernel
# takes the programs at all: every backend's programs (the filter spliced in, packet copies,
# route explanations: the longest variant) stay far below that. 6.1 once walked 890k.
for b in $("$PWHY" backends --supported); do
	"$PWHY" trace -v --backend $b --timeout 1 --explain-route -w $WORK/walk.pcapng udp port 9 >/dev/null 2>$WORK/walk
	n=$(sed -n 's/.*verifier: longest walk \([0-9]*\) instructions.*/\1/p' $WORK/walk)
	if [ -n "$n" ] && [ "$n" -lt 150000 ]; then ok "$b: longest verifier walk $n instructions (< 150000)"
	else bad "$b: longest verifier walk '${n}' ($(grep -m1 -E 'walk|error|cannot' $WORK/walk))"; fi
done
finish
