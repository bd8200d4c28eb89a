#!/bin/bash
# A soak: mixed UDP traffic (datagrams to closed ports from many source ports, and datagrams a
# listener receives) under `pwhy report --interval` for PWHY_SOAK_SECONDS (default 600). pwhy's
# RSS and the entry counts of its BPF maps are sampled every ~30 s (6 samples at least): RSS
# must stay flat (last <= first * 1.1 + 2 MiB) and every hash map within its max_entries.
# backend-independent
. "$(dirname "$0")/lib.sh"
SCENARIO=soak
SECS=${PWHY_SOAK_SECONDS:-600}
STEP=$(( SECS / 20 < 30 ? (SECS / 6 > 0 ? SECS / 6 : 1) : 30 ))
NS=$(ns_new soak)
nt $NS udp-serve --listen 127.0.0.1:7 --count 0 --timeout $(( (SECS + 60) * 1000 )) --ready-file $WORK/ready >/dev/null &
wait_file $WORK/ready || bad "the listener did not start"

rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$1/status 2>/dev/null; }
# "name entries max" for each BPF map the process holds
maps() {
	local id
	for id in $(grep -h '^map_id:' /proc/$1/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
		local name max n
		name=$(bpftool map show id $id 2>/dev/null | sed -n 's/^[0-9]*: [a-z_]*  name \([^ ]*\) .*/\1/p')
		max=$(bpftool map show id $id 2>/dev/null | sed -n 's/.*max_entries \([0-9]*\).*/\1/p')
		# arrays always hold max_entries; hash maps are what can grow
		case $(bpftool map show id $id 2>/dev/null | head -1) in
		# a dump taken while the map changes may meet a key twice: count distinct keys
		*hash*) n=$(bpftool -j map dump id $id 2>/dev/null | python3 -c 'import json,sys; print(len({json.dumps(e.get("key")) for e in json.load(sys.stdin)}))' 2>/dev/null) ;;
		*) continue ;;
		esac
		[ -n "$name" ] && echo "$name ${n:-0} ${max:-0}"
	done
}

"$PWHY" report --interval $STEP --output-json --filter-netns $NS >$WORK/out 2>$WORK/err &
pid=$!
for _ in $(seq 600); do grep -q '^pwhy: tracing with' $WORK/err && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if ! grep -q '^pwhy: tracing with' $WORK/err; then
	bad "pwhy report did not start"; sed 's/^/#   /' $WORK/err | tail -3
	kill $pid 2>/dev/null; finish
fi

# traffic: each round, closed ports from fresh source ports (new flows: the flow table fills
# and must evict) and delivered datagrams
end=$(( $(date +%s) + SECS ))
(
	port=1000
	while [ "$(date +%s)" -lt $end ]; do
		nt $NS udp-send --to 127.0.0.1:$(( port % 2000 + 20000 )) --count 200 --payload x >/dev/null
		nt $NS udp-send --to 127.0.0.1:7 --count 200 --payload x >/dev/null
		port=$((port + 1))
	done
) &
traffic=$!

samples=0 first="" last="" maxbad=""
# at least 3 samples: under emulation one sample (bpftool dumps) can take longer than a step
while { [ "$(date +%s)" -lt $end ] || [ $samples -lt 3 ]; } && kill -0 $pid 2>/dev/null; do
	sleep $STEP
	r=$(rss_kb $pid); [ -z "$r" ] && break
	[ -z "$first" ] && first=$r
	last=$r; samples=$((samples + 1))
	maps $pid > $WORK/maps.$samples
	echo "# sample $samples: rss ${r} KiB; maps: $(awk '{printf "%s=%s/%s ", $1, $2, $3}' $WORK/maps.$samples)"
	over=$(awk '$3 > 0 && $2 > $3 {print $1}' $WORK/maps.$samples)
	[ -n "$over" ] && maxbad="$maxbad $over"
done
wait $traffic 2>/dev/null
if kill -0 $pid 2>/dev/null; then
	kill -INT $pid; wait $pid; st=$?
	expect_status $st 0 "report ends with exit 0 after ${SECS} s of traffic" $WORK/out
else
	wait $pid; bad "pwhy report ended by itself during the soak (exit $?)"; sed 's/^/#   /' $WORK/err | tail -5
fi
if [ $samples -ge 3 ]; then ok "$samples samples of RSS and map sizes"
else bad "only $samples samples"; fi
if [ -n "$first" ] && [ "$last" -le $(( first * 11 / 10 + 2048 )) ]; then ok "RSS flat: first ${first} KiB, last ${last} KiB"
else bad "RSS grew: first ${first:-?} KiB, last ${last:-?} KiB"; fi
if [ -z "$maxbad" ] && [ $samples -gt 0 ] && [ -s $WORK/maps.$samples ]; then ok "every hash map within its max_entries"
else bad "maps over their size or not sampled:$maxbad"; fi
expect_grep <(tail -1 $WORK/out) '"reason":"NO_SOCKET"' "the closed-port drops are reported"
n=$(grep -c '"kind":"interval"' $WORK/out)
if [ "$n" -ge 2 ]; then ok "$n interval reports"; else bad "$n interval reports"; fi
ns_kill $NS; wait 2>/dev/null
finish
