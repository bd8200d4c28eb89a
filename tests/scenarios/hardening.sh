#!/bin/bash
# pwhy under what a busy host throws at it: the netns or the device named in a flag disappears
# while traced, a ring buffer too small for the event rate, and a flood of datagrams under
# `pwhy trace` and `pwhy report`. Each time: no hang, no crash, the end at --timeout/--duration
# or Ctrl-C, nothing left attached (bpftool), fixes left as they were.
# PWHY_FLOOD_COUNT (default 1000000) is scaled down when this machine cannot send it in 20 s
# (emulated kernels), and the ok line says so.
# backend-independent
. "$(dirname "$0")/lib.sh"
SCENARIO=hardening
# The programs a pwhy process holds (ids from its fds), so that other tracers running at the same
# time do not count; after it ends, none of them may still be loaded.
prog_ids() { grep -h '^prog_id:' /proc/$1/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u; }
still_loaded() {	# IDS...: those still loaded (freed asynchronously: wait up to 60 s)
	local left
	for _ in $(seq 600); do
		left=$(for id in "$@"; do bpftool prog show id "$id" >/dev/null 2>&1 && echo "$id"; done)
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo $left
}
fixes() { "$PWHY" fix status 2>&1; }
# stop_and_check NAME PID ERRFILE: Ctrl-C, then exit 0 within 10 s
stop_and_check() {
	local st
	kill -INT "$2" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$2" 2>/dev/null; then
		bad "$1: still running 10 s after Ctrl-C"; kill -KILL "$2"; wait "$2" 2>/dev/null; return
	fi
	wait "$2"; st=$?
	if [ $st = 0 ]; then ok "$1: Ctrl-C ends it with exit 0"
	else bad "$1: exit $st after Ctrl-C"; sed 's/^/#   /' "$3" | tail -5; fi
}
fix_before=$(fixes)
NS=$(ns_new hard)

# ------------------------------------------------ the netns of --filter-netns is deleted
G=$(ns_new gone)
"$PWHY" trace --backend "$BACKEND" --filter-netns "$G" udp >$WORK/ns.out 2>$WORK/ns.err &
pid=$!
if wait_ready $WORK/ns.err $pid; then
	nt $G udp-send --to 127.0.0.1:9 --count 3 --payload x >/dev/null
	ip netns del "$G"
	nt $NS udp-send --to 127.0.0.1:9 --count 3 --payload x >/dev/null
	sleep 1
	if kill -0 $pid 2>/dev/null; then ok "netns deleted while traced: pwhy keeps running"
	else
		wait $pid; st=$?
		if [ "$(wc -l <$WORK/ns.err)" -le 2 ]; then ok "netns deleted while traced: pwhy ended with one line (exit $st)"
		else bad "netns deleted while traced: pwhy ended (exit $st) saying more than one line"; fi
	fi
	expect_grep $WORK/ns.out "127\.0\.0\.1:[0-9]+->127\.0\.0\.1:9" "netns deleted while traced: its traffic was traced before"
	kill -0 $pid 2>/dev/null && stop_and_check "netns deleted while traced" $pid $WORK/ns.err
else
	bad "netns deleted while traced: pwhy did not start"; sed 's/^/#   /' $WORK/ns.err | tail -3
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi

# --------------------------------------------- the device of --filter-ifname is deleted
DEV=pwhd$$
# a device of this netns (the one pwhy resolves names in); its peer lives in the test's netns
ip link add $DEV type veth peer name pwhp$$ netns $NS && ip link set $DEV up
"$PWHY" trace --backend "$BACKEND" --filter-ifname $DEV --timeout 8 >$WORK/dev.out 2>$WORK/dev.err &
pid=$!
if wait_ready $WORK/dev.err $pid; then
	ip link del $DEV
	nt $NS udp-send --to 127.0.0.1:9 --count 3 --payload x >/dev/null
	sleep 1
	if kill -0 $pid 2>/dev/null; then ok "device deleted while traced: pwhy keeps running"
		stop_and_check "device deleted while traced" $pid $WORK/dev.err
	else
		wait $pid; st=$?
		if [ "$(wc -l <$WORK/dev.err)" -le 2 ]; then ok "device deleted while traced: pwhy ended with one line (exit $st)"
		else bad "device deleted while traced: pwhy ended (exit $st) saying more than one line"; fi
	fi
else
	bad "device deleted while traced: pwhy did not start"; sed 's/^/#   /' $WORK/dev.err | tail -3
	kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi
ip link del $DEV 2>/dev/null

# ------------------------------------------------------------------ flood size for this machine
FLOOD=${PWHY_FLOOD_COUNT:-1000000}
t0=$(date +%s%N)
nt $NS udp-send --to 127.0.0.1:9 --count 20000 --payload x >/dev/null
rate=$(( 20000 * 1000000000 / ($(date +%s%N) - t0 + 1) ))
scaled=""
if [ $((FLOOD / (rate + 1))) -gt 20 ]; then
	scaled=" (scaled from $FLOOD: this machine sends $rate/s untraced)"
	FLOOD=$((rate * 20))
fi

# ------------------------------------------------------ a ring buffer that overflows
"$PWHY" trace --backend "$BACKEND" --ringbuf-kb 4 --filter-netns $NS --timeout 600 udp >/dev/null 2>$WORK/rb.err &
pid=$!
if wait_ready $WORK/rb.err $pid; then
	nt $NS udp-send --to 127.0.0.1:9 --count $((FLOOD / 10 + 1000)) --payload x >/dev/null
	stop_and_check "ring buffer overflow" $pid $WORK/rb.err
	lost=$(sed -n 's/^pwhy: warning: \([0-9]*\) events lost.*/\1/p' $WORK/rb.err)
	if [ -n "$lost" ] && [ "$lost" -gt 0 ]; then ok "ring buffer overflow: $lost lost events reported on stderr"
	else bad "ring buffer overflow: no lost count on stderr"; sed 's/^/#   /' $WORK/rb.err | tail -3; fi
else
	bad "ring buffer overflow: pwhy did not start"; kill $pid 2>/dev/null; wait $pid 2>/dev/null
fi

# ---------------------------------------------------------- a flood under trace and report
# flood_under NAME CMD...: CMD runs until its own time limit while FLOOD datagrams are sent
flood_under() {
	local name=$1 st t1 t2; shift
	# the previous run's ready line must not be mistaken for this one's
	rm -f $WORK/fl.out $WORK/fl.err
	"$@" >$WORK/fl.out 2>$WORK/fl.err &
	pid=$!
	if ! wait_ready $WORK/fl.err $pid; then
		bad "$name: pwhy did not start"; sed 's/^/#   /' $WORK/fl.err | tail -3
		kill $pid 2>/dev/null; wait $pid 2>/dev/null; return
	fi
	t1=$(date +%s)
	local ids; ids=$(prog_ids $pid)
	nt $NS udp-send --to 127.0.0.1:9 --count $FLOOD --payload x >/dev/null &
	local sender=$!
	for _ in $(seq $(( (LIMIT + 30) * 10 ))); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		bad "$name: still running 30 s past its limit"; kill -KILL $pid
	fi
	wait $pid; st=$?
	t2=$(date +%s)
	wait $sender
	if [ $st = 0 ] && ! grep -qiE 'error|sanitizer|segfault' $WORK/fl.err; then
		ok "$name: $FLOOD datagrams$scaled, exit 0 after $((t2 - t1)) s"
		# ended by its limit (counted from its start), not by the flood's end
		# (plus the detach: fentry trampolines take seconds each to go under emulation)
		if [ $((t2 - t1)) -le $((LIMIT + SLACK)) ]; then ok "$name: ends at its limit of $LIMIT s (+ detach)"
		else bad "$name: ended $((t2 - t1)) s after the flood began, its limit is $LIMIT s"; fi
	else
		bad "$name: exit $st"; sed 's/^/#   /' $WORK/fl.err | tail -5
	fi
	local left; left=$(still_loaded $ids)
	if [ -z "$ids" ]; then bad "$name: no program ids seen while it ran"
	elif [ -z "$left" ]; then ok "$name: nothing left attached ($(wc -w <<<"$ids") programs while it ran)"
	else bad "$name: programs $left still loaded after it ended"; fi
}
LIMIT=$(( FLOOD / (rate + 1) + 10 ))
SLACK=10
case $("$PWHY" backends --supported | awk '{print $1; exit}') in fentry|kprobe) SLACK=60 ;; esac
flood_under "flood under trace" "$PWHY" trace --backend "$BACKEND" --timeout $LIMIT --filter-netns $NS 'udp and port 9'
flood_under "flood under report" "$PWHY" report --duration $LIMIT --filter-netns $NS
expect_grep $WORK/fl.out "NO_SOCKET" "flood under report: the drops are counted"

ls /sys/fs/bpf 2>/dev/null | grep -i pwhy >$WORK/pins
if [ -s $WORK/pins ]; then
	if [ "$(fixes)" = "$fix_before" ]; then ok "pins under /sys/fs/bpf are those of the fixes applied before"
	else bad "pins left: $(tr '\n' ' ' <$WORK/pins)"; fi
else
	ok "no pwhy pins under /sys/fs/bpf"
fi
if [ "$(fixes)" = "$fix_before" ]; then ok "fixes left as they were"
else bad "fixes changed: before '$fix_before', after '$(fixes)'"; fi
ns_kill $NS; wait 2>/dev/null
finish
