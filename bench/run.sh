#!/bin/bash
# `make bench`: what tracing costs, measured in one run as ratios to the untraced rate.
#
# UDP throughput (bench/udpbench.c: one sender and one receiver thread, 64-byte datagrams) on
# loopback and across a veth pair between two network namespaces, untraced, under `pwhy trace`
# (a filter matching nothing; every event written to a file; every packet to a pcap-ng file
# with -w when this pwhy has it), under `pwhy report`, and under bpftrace on the same
# tracepoints as the peer (printing every event; a predicate matching nothing). Each
# configuration runs BENCH_SECONDS, BENCH_REPEAT times; every traced run is paired with the
# untraced runs just before and after it, and the median of these ratios is reported. Also: a
# closed-port flood (every datagram dropped NO_SOCKET) for the drop counters, pwhy's
# start-to-ready time, events lost at a sustained event rate, peak RSS and CPU of the tracer.
# Prints a table and writes bench/results.json (BENCH_OUT).
#
# Other tracing programs on the machine (anyone's bpftool-visible tracing, raw_tracepoint,
# tracepoint or kprobe programs) slow every syscall or packet and skew the results: the bench
# counts them and says so.
#
#   BENCH_SECONDS=4 BENCH_REPEAT=3 BENCH_SIZE=64 BENCH_EVENT_RATE=200000 \
#   BENCH_SUSTAINED_SECONDS=10 BENCH_PATHS="loopback veth" bench/run.sh
# (BENCH_PATHS may also name `unconnected`: loopback with a route lookup per datagram.)
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PWHY=${PWHY:-$ROOT/pwhy}
SECS=${BENCH_SECONDS:-4}
REPEAT=${BENCH_REPEAT:-3}
SIZE=${BENCH_SIZE:-64}
EVENT_RATE=${BENCH_EVENT_RATE:-200000}
SUST_SECS=${BENCH_SUSTAINED_SECONDS:-10}
PATHS=${BENCH_PATHS:-loopback veth}
OUT=${BENCH_OUT:-$ROOT/bench/results.json}
PORT=9199
CLOSED_PORT=9198

if [ "$(id -u)" != 0 ]; then echo "bench: run as root (tracing needs it)" >&2; exit 3; fi
[ -x "$PWHY" ] || { echo "bench: $PWHY not built (make)" >&2; exit 2; }

mkdir -p build/bench
UDPBENCH=build/bench/udpbench
if [ ! -x $UDPBENCH ] || [ bench/udpbench.c -nt $UDPBENCH ]; then
	${CC:-cc} -O2 -Wall -Wextra -Werror -pthread -o $UDPBENCH bench/udpbench.c || exit 2
fi

BPFTRACE=$(command -v bpftrace || true)
if [ -z "$BPFTRACE" ]; then
	echo "bench: installing bpftrace (apt-get) for the peer rows"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null 2>&1; }
	BPFTRACE=$(command -v bpftrace || true)
	[ -n "$BPFTRACE" ] || echo "bench: bpftrace could not be installed: its rows are skipped" >&2
fi

WORK=$(mktemp -d /tmp/pwhy-bench.XXXXXX)
TRACER_PID=
NS_TX=pwhybench-tx-$$ NS_RX=pwhybench-rx-$$
cleanup() {
	[ -n "$TRACER_PID" ] && kill -KILL "$TRACER_PID" 2>/dev/null
	ip netns del $NS_TX 2>/dev/null
	ip netns del $NS_RX 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLK_TCK=$(getconf CLK_TCK)
now() { echo "$EPOCHREALTIME"; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a - b }'; }
# median of numbers on stdin ("null" when none); the mean of the middle two is rounded like its inputs
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1; if ($1 ~ /\./) f = 1 } END { if (!NR) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else if (f) printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ----------------------------------------------------------------------- the configurations

# pwhy's core probe set on the tracepoint backend: these five plus skb:skb_copy_datagram_iovec,
# fib lookups and sock:sock_send_length (raw sys_exit before 6.3). Every datagram of the benchmark passes the first
# five; the predicate keeps bpftrace's "every event" to the benchmark's port, as pwhy's filter.
BT_PROBES='tracepoint:skb:kfree_skb, tracepoint:skb:consume_skb, tracepoint:net:net_dev_queue, tracepoint:net:netif_receive_skb, tracepoint:net:netif_rx'
BT_PRINT="BEGIN { printf(\"ready\\n\"); } $BT_PROBES { printf(\"%lx %s %d %s\\n\", args->skbaddr, probe, pid, comm); }"
BT_NONE="BEGIN { printf(\"ready\\n\"); } $BT_PROBES /args->skbaddr == 0/ { printf(\"%lx %s %d %s\\n\", args->skbaddr, probe, pid, comm); }"
# -w FILE (pcap-ng) when this pwhy has it
HAS_PCAP=
"$PWHY" trace --help 2>&1 | grep -qE '(^|[ ,])-w[ ,]' && HAS_PCAP=1
BT_COUNT="BEGIN { printf(\"ready\\n\"); } tracepoint:skb:kfree_skb { @[args->reason, args->location] = count(); }"

CONFIGS="untraced pwhy_none pwhy_all"
[ -n "$HAS_PCAP" ] && CONFIGS="$CONFIGS pwhy_pcap"
CONFIGS="$CONFIGS pwhy_report"
[ -n "$BPFTRACE" ] && CONFIGS="$CONFIGS bpftrace_all bpftrace_none"
FLOOD_CONFIGS="untraced pwhy_report"
[ -n "$BPFTRACE" ] && FLOOD_CONFIGS="$FLOOD_CONFIGS bpftrace_count"

label() {
	case $1 in
	untraced) echo "untraced" ;;
	pwhy_none) echo "pwhy trace 'udp port 1' (matches nothing)" ;;
	pwhy_all) echo "pwhy trace --output-file F 'udp port P' (every event)" ;;
	pwhy_pcap) echo "pwhy trace --findings-only -w F.pcapng 'udp port P'" ;;
	pwhy_report) echo "pwhy report" ;;
	bpftrace_all) echo "bpftrace printing every event to a file" ;;
	bpftrace_none) echo "bpftrace, predicate matching nothing" ;;
	bpftrace_count) echo "bpftrace count() by reason, location" ;;
	esac
}

# start_tracer CONFIG: start it in the background, wait until it is ready (60 s at most).
# Sets TRACER_PID and READY_S; returns 1 when it did not become ready.
start_tracer() {
	local c=$1 out=$WORK/$1.out err=$WORK/$1.err pattern t0
	TRACER_PID= READY_S=
	rm -f "$out" "$err"
	t0=$(now)
	case $c in
	untraced) return 0 ;;
	pwhy_none) "$PWHY" trace --output-file "$out" 'udp port 1' 2>"$err" & pattern='^pwhy: tracing with' ;;
	pwhy_all) "$PWHY" trace --output-file "$out" "udp port $PORT" 2>"$err" & pattern='^pwhy: tracing with' ;;
	pwhy_pcap) "$PWHY" trace --findings-only -w "$out" "udp port $PORT" >/dev/null 2>"$err" & pattern='^pwhy: tracing with' ;;
	pwhy_report) "$PWHY" report >"$out" 2>"$err" & pattern='^pwhy: tracing with' ;;
	bpftrace_all) "$BPFTRACE" -B line -e "$BT_PRINT" >"$out" 2>"$err" & pattern='^ready$' ;;
	bpftrace_none) "$BPFTRACE" -B line -e "$BT_NONE" >"$out" 2>"$err" & pattern='^ready$' ;;
	bpftrace_count) "$BPFTRACE" -B line -e "$BT_COUNT" >"$out" 2>"$err" & pattern='^ready$' ;;
	esac
	TRACER_PID=$!
	for _ in $(seq 6000); do
		if head -c 65536 "$err" "$out" 2>/dev/null | grep -q "$pattern"; then
			READY_S=$(fsub "$(now)" "$t0")
			return 0
		fi
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.01
	done
	echo "bench: $c did not start:" >&2
	tail -5 "$err" >&2
	kill -KILL "$TRACER_PID" 2>/dev/null
	wait "$TRACER_PID" 2>/dev/null
	TRACER_PID=
	return 1
}

# stop_tracer: SIGINT, then SIGKILL after 30 s
stop_tracer() {
	[ -n "$TRACER_PID" ] || return 0
	kill -INT "$TRACER_PID" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$TRACER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$TRACER_PID" 2>/dev/null
	wait "$TRACER_PID" 2>/dev/null
	TRACER_PID=
}

# run_one CONFIG KIND [UDPBENCH ARGS]: one measurement; appends "key value" lines to
# $WORK/KIND.CONFIG.samples (pps, cpu, rss, events, lost)
run_one() {
	local c=$1 kind=$2; shift 2
	local s=$WORK/$kind.$c.samples line pps ticks0 ticks1 rss lost
	start_tracer "$c" || { echo "fail 1" >>"$s"; return 1; }
	[ -n "$TRACER_PID" ] && ticks0=$(cpu_ticks "$TRACER_PID")
	line=$($UDPBENCH --seconds "${RUN_SECS:-$SECS}" --size "$SIZE" "$@")
	if [ "$kind" = flood ]; then pps=$(sed -n 's/.* send_pps=\([0-9]*\).*/\1/p' <<<"$line")
	else pps=$(sed -n 's/.* recv_pps=\([0-9]*\).*/\1/p' <<<"$line"); fi
	echo "pps $pps" >>"$s"
	echo "dgrams $(sed -n 's/.* received=\([0-9]*\).*/\1/p' <<<"$line")" >>"$s"
	LAST_PPS=$pps
	if [ -n "$TRACER_PID" ]; then
		ticks1=$(cpu_ticks "$TRACER_PID")
		rss=$(hwm_kib "$TRACER_PID")
		echo "cpu $(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v s="${RUN_SECS:-$SECS}" 'BEGIN { printf "%.1f", 100 * t / hz / s }')" >>"$s"
		echo "rss ${rss:-0}" >>"$s"
		echo "ready $READY_S" >>"$s"
		stop_tracer
		case $c in
		pwhy_all|pwhy_pcap)
			[ $c = pwhy_all ] && echo "events $(($(wc -l <"$WORK/$c.out") - 1))" >>"$s"
			# pwhy warns at exit only when something was lost
			lost=$(sed -n 's/^pwhy: warning: \([0-9]*\) events lost.*/\1/p' "$WORK/$c.err" | head -1)
			echo "lost ${lost:-0}" >>"$s" ;;
		bpftrace_all)
			echo "events $(($(wc -l <"$WORK/$c.out") - 1))" >>"$s"
			echo "lost $(sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' "$WORK/$c.err" "$WORK/$c.out" | awk '{ n += $1 } END { print n + 0 }')" >>"$s" ;;
		esac
	fi
	rm -f "$WORK/$c.out"
}

# stat KIND CONFIG KEY: median of that key's samples
stat() { awk -v k="$3" '$1 == k { print $2 }' "$WORK/$1.$2.samples" 2>/dev/null | median; }
num1() { awk '{ if ($1 == "null") print "-"; else printf "%.1f\n", $1 }'; }
num3() { awk '{ if ($1 == "null") print "null"; else printf "%.3f\n", $1 }'; }
# cratio KIND CONFIG: the median of its per-run ratios (1.000 for untraced)
cratio() { if [ "$2" = untraced ]; then echo 1.000; else stat "$1" "$2" ratio | awk '{ if ($1 == "null") print; else printf "%.3f\n", $1 }'; fi; }
samples() { awk -v k="$3" '$1 == k { printf "%s%s", n++ ? "," : "", $2 }' "$WORK/$1.$2.samples" 2>/dev/null; }

# ------------------------------------------------------------------------------ measure

KERNEL=$(uname -r)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NCPU=$(nproc)
MEM_MIB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
BT_VERSION=$([ -n "$BPFTRACE" ] && "$BPFTRACE" --version 2>/dev/null | head -1)
# tracing programs loaded by anyone else: they tax every packet and syscall of both runs
foreign() { bpftool prog show 2>/dev/null | grep -cE '^[0-9]+: (tracing|tracepoint|raw_tracepoint|kprobe|perf_event) '; }
FOREIGN0=$(foreign)

# the veth path: two namespaces, a veth pair between them, the sender in one, the receiver in
# the other
VETH_ARGS=
if [[ " $PATHS " == *" veth "* ]]; then
	if ip netns add $NS_TX && ip netns add $NS_RX &&
	   ip link add pwb$$a netns $NS_TX type veth peer name pwb$$b netns $NS_RX &&
	   ip -n $NS_TX addr add 10.199.$(($$ % 250)).1/30 dev pwb$$a &&
	   ip -n $NS_RX addr add 10.199.$(($$ % 250)).2/30 dev pwb$$b &&
	   ip -n $NS_TX link set pwb$$a up && ip -n $NS_RX link set pwb$$b up; then
		VETH_ARGS="--addr 10.199.$(($$ % 250)).2 --tx-netns $NS_TX --rx-netns $NS_RX"
	else
		echo "bench: cannot set up the veth pair: that path is skipped" >&2
		PATHS=${PATHS//veth/}
	fi
fi
# unconnected: loopback, the sender naming the address in every sendto() (a route lookup each)
path_args() { case $1 in loopback) echo "--port $PORT" ;; veth) echo "--port $PORT $VETH_ARGS" ;;
	unconnected) echo "--port $PORT --unconnected" ;; esac; }

echo "pwhy bench: $KERNEL, $CPU, $NCPU CPUs; ${SIZE}-byte UDP datagrams over: $PATHS; $REPEAT rounds of ${SECS} s per configuration"
[ "$FOREIGN0" -gt 0 ] && echo "bench: warning: $FOREIGN0 other tracing programs are loaded: they slow traced and untraced runs alike and add noise"
[ -z "$HAS_PCAP" ] && echo "bench: this pwhy has no -w: the pcap-ng row is n/a"

# Each traced run sits between two untraced runs; its ratio is to their mean, so that the drift
# of a shared machine cancels out. The reported ratio is the median of these per-run ratios.
paired() {	# KIND CONFIGS -- UDPBENCH ARGS
	local kind=$1 configs=$2 before c; shift 3
	run_one untraced "$kind" "$@"; before=$LAST_PPS
	for c in $configs; do
		[ "$c" = untraced ] && continue
		LAST_PPS=
		run_one "$c" "$kind" "$@"; local traced=$LAST_PPS
		run_one untraced "$kind" "$@"
		[ -n "$traced" ] && echo "ratio $(awk -v t="$traced" -v a="$before" -v b="$LAST_PPS" 'BEGIN { printf "%.4f", 2 * t / (a + b) }')" >>"$WORK/$kind.$c.samples"
		before=$LAST_PPS
	done
}
for r in $(seq "$REPEAT"); do
	for p in $PATHS; do
		echo "round $r/$REPEAT: throughput, $p"
		# shellcheck disable=SC2046
		paired "tput_$p" "$CONFIGS" -- $(path_args $p)
	done
	echo "round $r/$REPEAT: closed-port flood"
	paired flood "$FLOOD_CONFIGS" -- --port $CLOSED_PORT --closed
done

# start-to-ready: a fresh pwhy each time, until its ready line on stderr
echo "start-to-ready"
for r in $(seq "$REPEAT"); do
	for c in pwhy_none pwhy_report; do
		start_tracer "$c" && echo "ready $READY_S" >>"$WORK/ready.$c.samples"
		[ -n "$TRACER_PID" ] && echo "rss $(hwm_kib "$TRACER_PID")" >>"$WORK/ready.$c.samples"
		stop_tracer
	done
done

# events lost at a sustained event rate: every event written to a file. The datagram rate
# follows from the events per datagram of short paced runs (batching changes it with the rate:
# the second run is paced at the rate the first one suggests).
EPD=3
for calib in calib calib2; do
	RATE=$(awk -v r="$EVENT_RATE" -v e="$EPD" 'BEGIN { printf "%d", r / e }')
	RUN_SECS=2 run_one pwhy_all $calib --port $PORT --rate "$RATE"
	EPD=$(awk '$1 == "events" { e += $2 } $1 == "dgrams" { d += $2 } END { if (e && d) printf "%.3f", e / d; else print 3 }' "$WORK/$calib.pwhy_all.samples" 2>/dev/null)
	[ -n "$EPD" ] || EPD=3
done
RATE=$(awk -v r="$EVENT_RATE" -v e="$EPD" 'BEGIN { printf "%d", r / e }')
echo "events lost at $EVENT_RATE events/s ($RATE datagrams/s x $EPD events each) for $SUST_SECS s"
RUN_SECS=$SUST_SECS run_one pwhy_all sustained --port $PORT --rate "$RATE"
SUST_DGRAMS=$(stat sustained pwhy_all dgrams)
FOREIGN1=$(foreign)

# ------------------------------------------------------------------------------- report

J=$WORK/json
{
	printf '{"machine":{"kernel":"%s","cpu":"%s","cpus":%s,"mem_mib":%s,"pwhy_backend":"%s","bpftrace":%s,"foreign_tracing_progs":[%s,%s]},\n' \
		"$KERNEL" "$CPU" "$NCPU" "$MEM_MIB" \
		"$(sed -n 's/^pwhy: tracing with the \([a-z]*\) backend.*/\1/p' "$WORK"/pwhy_none.err 2>/dev/null | head -1)" \
		"$([ -n "$BT_VERSION" ] && echo "\"$BT_VERSION\"" || echo null)" "$FOREIGN0" "$FOREIGN1"
	printf ' "params":{"seconds":%s,"repeat":%s,"datagram_bytes":%s,"paths":"%s","sustained_event_rate":%s,"sustained_seconds":%s},\n' \
		"$SECS" "$REPEAT" "$SIZE" "$PATHS" "$EVENT_RATE" "$SUST_SECS"
	for p in $PATHS; do
		printf ' "throughput_%s":[' "$p"
		sep=
		for c in $CONFIGS; do
			k=tput_$p
			printf '%s\n  {"config":"%s","label":"%s","recv_pps":%s,"ratio":%s,"samples_pps":[%s],"samples_ratio":[%s],"tracer_cpu_pct":%s,"peak_rss_kib":%s,"events_written":%s,"events_lost":%s}' \
				"$sep" "$c" "$(label $c | sed 's/"/\\"/g')" "$(stat $k $c pps)" "$(cratio $k $c)" "$(samples $k $c pps)" "$(samples $k $c ratio)" \
				"$(stat $k $c cpu)" "$(stat $k $c rss)" "$(stat $k $c events)" "$(stat $k $c lost)"
			sep=,
		done
		printf '],\n'
	done
	printf ' "drop_flood":['
	sep=
	for c in $FLOOD_CONFIGS; do
		printf '%s\n  {"config":"%s","label":"%s","send_pps":%s,"ratio":%s,"samples_pps":[%s],"samples_ratio":[%s],"tracer_cpu_pct":%s,"peak_rss_kib":%s}' \
			"$sep" "$c" "$(label $c)" "$(stat flood $c pps)" "$(cratio flood $c)" "$(samples flood $c pps)" "$(samples flood $c ratio)" \
			"$(stat flood $c cpu)" "$(stat flood $c rss)"
		sep=,
	done
	printf '],\n "start_to_ready_s":{"pwhy_trace":%s,"pwhy_report":%s,"samples_trace":[%s],"samples_report":[%s]},\n' \
		"$(stat ready pwhy_none ready)" "$(stat ready pwhy_report ready)" \
		"$(samples ready pwhy_none ready)" "$(samples ready pwhy_report ready)"
	printf ' "sustained":{"event_rate":%s,"datagram_rate":%s,"events_per_datagram":%s,"seconds":%s,"datagrams":%s,"events_written":%s,"events_lost":%s,"tracer_cpu_pct":%s,"peak_rss_kib":%s}\n}\n' \
		"$EVENT_RATE" "$RATE" "$EPD" "$SUST_SECS" "$SUST_DGRAMS" "$(stat sustained pwhy_all events)" "$(stat sustained pwhy_all lost)" \
		"$(stat sustained pwhy_all cpu)" "$(stat sustained pwhy_all rss)"
} >"$J"
sed -i 's/:,/:null,/g; s/:}/:null}/g; s/\[\]/[]/g' "$J"
cp "$J" "$OUT"

for p in $PATHS; do
	echo
	echo "throughput, $p:"
	printf '%-46s %10s %7s %8s %9s %11s %9s\n' CONFIG "PPS" RATIO "CPU%" "RSS MiB" EVENTS LOST
	for c in $CONFIGS; do
		k=tput_$p
		rss=$(stat $k $c rss)
		printf '%-46s %10s %7s %8s %9s %11s %9s\n' "$(label $c)" "$(stat $k $c pps)" "$(cratio $k $c)" \
			"$(stat $k $c cpu | num1)" \
			"$(awk -v k="$rss" 'BEGIN { if (k == "null") print "-"; else printf "%.1f", k / 1024 }')" \
			"$(stat $k $c events | sed 's/null/-/')" "$(stat $k $c lost | sed 's/null/-/')"
	done
	[ -z "$HAS_PCAP" ] && printf '%-46s %10s %7s\n' "pwhy trace -w F.pcapng (no -w in this pwhy)" n/a n/a
done
echo
echo "closed-port flood (every datagram dropped NO_SOCKET), send rate:"
for c in $FLOOD_CONFIGS; do
	printf '%-46s %10s %7s %8s\n' "$(label $c)" "$(stat flood $c pps)" "$(cratio flood $c)" "$(stat flood $c cpu | num1)"
done
echo
RT=$(stat ready pwhy_none ready | num3); RR=$(stat ready pwhy_report ready | num3)
SUST_EV=$(stat sustained pwhy_all events); SUST_LOST=$(stat sustained pwhy_all lost | sed 's/null/0/')
echo "start-to-ready (median): pwhy trace ${RT} s, pwhy report ${RR} s"
echo "sustained: $SUST_DGRAMS datagrams in $SUST_SECS s at $RATE/s, every event to a file: $SUST_EV events written ($(awk -v e="$SUST_EV" -v s="$SUST_SECS" 'BEGIN { printf "%d", e / s }')/s), $SUST_LOST lost"
[ "$FOREIGN1" -gt 0 ] && echo "bench: warning: $FOREIGN1 other tracing programs were loaded at the end"
echo
# the project's targets, on loopback
NONE=$(cratio tput_loopback pwhy_none); ALL=$(cratio tput_loopback pwhy_all)
BTN=$(cratio tput_loopback bpftrace_none 2>/dev/null); BTA=$(cratio tput_loopback bpftrace_all 2>/dev/null)
RSS=$(for p in $PATHS; do for c in pwhy_none pwhy_all pwhy_pcap pwhy_report; do stat tput_$p $c rss; done; done | grep -v null | sort -n | tail -1)
# the sustained target counts only if the rate was reached (within 5 %)
SUST_RATE=$(awk -v e="$SUST_EV" -v s="$SUST_SECS" 'BEGIN { printf "%d", e / s }')
SUST_VERDICT=$(awk -v l="$SUST_LOST" -v r="$SUST_RATE" -v t="$EVENT_RATE" 'BEGIN { if (l > 0) print "MISSED"; else if (r >= 0.95 * t) print "met"; else print "not shown: rate not reached" }')
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "null" || v == "") print "n/a"; else if ((op == ">=" && v >= t) || (op == "<" && v < t) || (op == ">" && v > t)) print "met"; else print "MISSED" }'; }
echo "targets (loopback): filter matching nothing >= 0.97: $NONE ($(verdict "$NONE" '>=' 0.97)), bpftrace $BTN ($(verdict "$NONE" '>' "$BTN") beaten);" \
	"every event to a file >= 0.5: $ALL ($(verdict "$ALL" '>=' 0.5)), bpftrace $BTA ($(verdict "$ALL" '>' "$BTA") beaten);" \
	"start-to-ready < 0.3 s: $RT ($(verdict "$RT" '<' 0.3)); 0 lost at $EVENT_RATE events/s: $SUST_LOST lost at $SUST_RATE/s ($SUST_VERDICT);" \
	"peak RSS < 30 MiB: $(awk -v k="$RSS" 'BEGIN { printf "%.1f", k / 1024 }') MiB ($(verdict "$RSS" '<' 30720))"
echo "results: $OUT"
