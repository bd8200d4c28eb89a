#!/bin/bash
# -w FILE: every traced packet in pcap-ng with a comment (probe, skb, netns, device, drop reason,
# finding), readable by tshark; --pcap-once writes one packet per skb; a bad path is refused
# before anything is attached. Traffic: a veth pair between two namespaces made here, one
# datagram delivered to a listener and one to a closed port (dropped NO_SOCKET).
. "$(dirname "$0")/lib.sh"
SCENARIO=pcapng

# --- bad input first: these need neither tshark nor traffic
for bad_path in "$WORK/no/such/dir/x.pcapng" "$WORK"; do
	"$PWHY" trace --backend "$BACKEND" --timeout 1 -w "$bad_path" udp >$WORK/bad.out 2>$WORK/bad.err
	st=$?
	expect_status $st 2 "unwritable -w $(basename "$bad_path"): exit 2" $WORK/bad
	if [ "$(wc -l <$WORK/bad.err)" = 1 ] && grep -q "^pwhy: cannot write $bad_path: " $WORK/bad.err; then
		ok "unwritable -w $(basename "$bad_path"): one line '$(cat $WORK/bad.err)'"
	else
		bad "unwritable -w $(basename "$bad_path"): want one 'pwhy: cannot write' line"; sed 's/^/#   /' $WORK/bad.err | head -5
	fi
	expect_no_grep $WORK/bad.err "tracing with" "unwritable -w $(basename "$bad_path"): nothing was attached"
done
"$PWHY" trace --backend "$BACKEND" --timeout 1 --pcap-once udp >$WORK/once.out 2>$WORK/once.err
expect_status $? 2 "--pcap-once without -w is a usage error" $WORK/once
"$PWHY" run --backend "$BACKEND" -w "$WORK/no/x.pcapng" udp -- true >$WORK/runbad.out 2>$WORK/runbad.err
expect_status $? 2 "run with an unwritable -w: exit 2" $WORK/runbad

if ! command -v tshark >/dev/null; then
	skip "tshark is not installed (tests/install-deps.sh installs it): the file is not dissected"
	finish
fi

A=$(ns_new pa)
B=$(ns_new pb)
veth $A pcapa0 $B pcapb0
ip -n $A addr add 10.213.7.1/24 dev pcapa0
ip -n $B addr add 10.213.7.2/24 dev pcapb0

# trace_with OUT FLAGS...: pwhy trace in the background, scoped to namespace A (skbs that
# matched there are followed into B), while one datagram is delivered and one dropped
trace_with() {
	local out=$1; shift
	rm -f $WORK/ready
	nt $B udp-serve --listen 10.213.7.2:5000 --timeout 20000 --ready-file $WORK/ready >/dev/null &
	local srv=$!
	"$PWHY" trace --backend "$BACKEND" --timeout 6 --filter-netns $A "$@" udp >$out 2>$out.err &
	local pw=$!
	for _ in $(seq 1200); do grep -q "tracing with" $out.err 2>/dev/null && break; sleep 0.05; done
	wait_file $WORK/ready
	nt $A udp-send --to 10.213.7.2:5000 --payload delivered >/dev/null
	nt $A udp-send --to 10.213.7.2:9 --payload closed >/dev/null
	wait $srv 2>/dev/null
	# packets reach the file within about a second, while pwhy still runs
	sleep 2
	if kill -0 $pw 2>/dev/null; then
		cp "$F" $out.early 2>/dev/null
	fi
	wait $pw
	echo $? >$out.status
}

# "SKB PROBE" of every event line / of every packet comment, sorted
events_of() { awk '$1 ~ /^0x/ { print $1, $10 }' "$1" | sort; }
comments_of() {
	tshark -r "$1" -T fields -e frame.comment 2>/dev/null |
		sed -n 's/^pwhy: \([^ ]*\).* skb=\(0x[0-9a-f]*\) .*/\2 \1/p' | sort
}

# --- every event
F=$WORK/all.pcapng
trace_with $WORK/all -w "$F"
expect_status "$(cat $WORK/all.status)" 0 "trace -w exits 0" $WORK/all
nev=$(grep -c '^0x' $WORK/all)
npk=$(tshark -r "$F" 2>/dev/null | wc -l)
if [ "$nev" -ge 2 ] && [ "$npk" = "$nev" ]; then ok "one packet per event line ($npk)"
else bad "packets ($npk) != event lines ($nev)"; fi
expect_grep $WORK/all.err "^pwhy: wrote $nev packets to " "pwhy says how many packets it wrote"
if cmp -s <(events_of $WORK/all) <(comments_of "$F"); then
	ok "each packet's comment names the probe and skb of its event line"
else
	bad "comments differ from the event lines"; diff <(events_of $WORK/all) <(comments_of "$F") | head -10 | sed 's/^/#   /'
fi
tshark -r "$F" -V >$WORK/all.V 2>&1
expect_grep $WORK/all.V "^Packet comments" "tshark -V shows packet comments"
expect_grep $WORK/all.V "pwhy: net_dev_queue skb=0x[0-9a-f]+ netns=[0-9]+ if=pcapa0:[0-9]+ mark=0x0 proc=nettool:[0-9]+" \
	"a comment names probe, skb, netns, device, mark and process"
expect_grep $WORK/all.V "pwhy: kfree_skb\(NO_SOCKET\) @[^ ]+ skb=0x[0-9a-f]+ .*\[finding no-sk: .*10\.213\.7\.2:9/udp" \
	"the drop's comment has the reason, location and the no-sk finding"
expect_grep $WORK/all.V "Interface name: pcapa0:[0-9]+ netns=[0-9]+" "interfaces are named device:ifindex netns=N"
expect_grep $WORK/all.V "Src: 10\.213\.7\.1, Dst: 10\.213\.7\.2" "the packets dissect as IPv4"
nudp=$(tshark -r "$F" -Y udp 2>/dev/null | wc -l)
if [ "$nudp" = "$npk" ]; then ok "every packet dissects as UDP ($nudp)"; else bad "only $nudp of $npk packets dissect as UDP"; fi
nlen=$(tshark -r "$F" -Y 'udp.payload == "delivered" || data.data == 64:65:6c:69:76:65:72:65:64' 2>/dev/null | wc -l)
if [ "$nlen" -ge 1 ]; then ok "the payload is in the packets"; else bad "payload 'delivered' not found"; fi
if [ -s $WORK/all.early ] && [ "$(tshark -r $WORK/all.early 2>/dev/null | wc -l)" -ge 1 ]; then
	ok "packets are flushed to the file while pwhy runs"
else
	bad "nothing in the file 2 s after the traffic while pwhy still ran"
fi

# --- one packet per skb: the first event of each skb lifetime (the kfree_skb/consume_skb
# tracepoints end it and the address may be reused by the next skb; the function probes
# kfree_skb_reason & co. do not end it)
F=$WORK/once.pcapng
trace_with $WORK/once -w "$F" --pcap-once
expect_status "$(cat $WORK/once.status)" 0 "trace -w --pcap-once exits 0" $WORK/once
awk '$1 ~ /^0x/ { if (!($1 in live)) { print $1, $10; live[$1] = 1 }
		  if ($10 ~ /^kfree_skb\(/ || $10 == "consume_skb") delete live[$1] }' $WORK/once | sort >$WORK/once.first
nfirst=$(wc -l <$WORK/once.first)
npk=$(tshark -r "$F" 2>/dev/null | wc -l)
nev=$(grep -c '^0x' $WORK/once)
if [ "$nfirst" -ge 2 ] && [ "$npk" = "$nfirst" ] && [ "$nev" -gt "$npk" ]; then
	ok "--pcap-once: one packet per skb ($npk packets for $nev events)"
else
	bad "--pcap-once: $npk packets, $nfirst skbs, $nev events"
fi
if cmp -s $WORK/once.first <(comments_of "$F"); then ok "--pcap-once: each packet is its skb's first event"
else bad "--pcap-once: packets are not the first events"; diff $WORK/once.first <(comments_of "$F") | head | sed 's/^/#   /'; fi
tshark -r "$F" -V >$WORK/once.V 2>&1
expect_grep $WORK/once.V "\[then dropped NO_SOCKET @[^]]+\] \[finding no-sk: " \
	"--pcap-once: the dropped skb's packet says how it ended and why"

# --- pwhy run -w: the file is written for run too
F=$WORK/run.pcapng
pwhy_run $WORK/run -w "$F" --expect no-sk --filter-netns $A udp -- \
	ip netns exec $A $NETTOOL udp-send --to 10.213.7.2:9 --payload x
expect_status $? 0 "run -w --expect no-sk exits 0" $WORK/run
tshark -r "$F" -V >$WORK/run.V 2>&1
expect_grep $WORK/run.V "kfree_skb\(NO_SOCKET\).*\[finding no-sk: " "run -w: the drop and its finding are in the file"
ns_kill $A; ns_kill $B; wait
finish
