#!/bin/bash
# pwru-like metadata and filters: --timestamp, --filter-netns/-mark/-ifname (each with a case it
# excludes), --output-tcp-flags, --output-caller, --output-stack, --output-skb, and
# --output-limit-lines, in text and JSON.
#   X 10.92.0.1 (x0) <--veth--> Y 10.92.0.2 (y0)
. "$(dirname "$0")/lib.sh"
SCENARIO=output_opts
X=$(ns_new out-x); Y=$(ns_new out-y); Z=$(ns_new out-z)
for ns in $X $Y; do ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
veth $X x0 $Y y0 || { bad "cannot build the namespaces"; finish; }
ip -n $X addr add 10.92.0.1/24 dev x0
ip -n $Y addr add 10.92.0.2/24 dev y0
ip -n $X neigh replace 10.92.0.2 lladdr $(ip -n $Y -o link show y0 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/') dev x0 nud permanent
ino() { stat -L -c %i /run/netns/$1; }
EV='^(0x[0-9a-f]{16}|[0-9]+ +0x[0-9a-f]{16}) '	# an event line (optionally time-stamped)

# two datagrams X -> Y:7 (nobody listens): from port 4242 with mark 42, from 4343 without
send_two() {
	ip netns exec $X sh -c "$NETTOOL udp-send --to 10.92.0.2:7 --from 10.92.0.1:4242 --mark 42 --payload m; $NETTOOL udp-send --to 10.92.0.2:7 --from 10.92.0.1:4343 --payload n"
}
export -f send_two 2>/dev/null
run_two() {	# OUT FLAGS...
	local out=$1; shift
	pwhy_run $out --events --timeout 60 "$@" 'udp and port 7' -- bash -c "$(declare -f send_two); X=$X NETTOOL=$NETTOOL send_two"
}

# --timestamp
run_two $WORK/ts --timestamp
expect_grep $WORK/ts "^TIME +SKB" "--timestamp: the header has a TIME column"
expect_grep $WORK/ts "^[0-9]+ +0x[0-9a-f]{16} .*10\.92\.0\.1:4242->10\.92\.0\.2:7\(udp\)" "--timestamp: event lines start with the kernel time"
run_two $WORK/nots
expect_no_grep $WORK/nots "^[0-9]+ +0x" "without --timestamp: no time column"

# --filter-netns
run_two $WORK/ns --filter-netns $Y
if grep -Eq "$EV" $WORK/ns; then
	others=$(grep -E "$EV" $WORK/ns | awk '{print $4}' | grep -vx "$(ino $Y)" | sort -u)
	[ -z "$others" ] && ok "--filter-netns: every event is in the chosen netns" ||
		bad "--filter-netns: events in other netns: $others"
else
	bad "--filter-netns: no event at all"; sed 's/^/#   /' $WORK/ns | tail
fi
run_two $WORK/nsz --filter-netns $Z
expect_no_grep $WORK/nsz "$EV" "--filter-netns: a netns without traffic shows nothing"
pwhy_run $WORK/nsbad --filter-netns no-such-netns-here -- true
expect_status $? 2 "--filter-netns: an unknown netns is a usage error" $WORK/nsbad

# --filter-mark (the mark is scrubbed when the skb crosses into Y; tracking follows it on)
run_two $WORK/mark --filter-mark 42
expect_grep $WORK/mark "0x2a +x0:[0-9]+ .*:4242->10\.92\.0\.2:7\(udp\)" "--filter-mark: the marked datagram is shown"
expect_grep $WORK/mark "y0:[0-9]+ .*:4242->10\.92\.0\.2:7\(udp\)" "--filter-mark: and followed into Y after the mark is cleared"
expect_no_grep $WORK/mark ":4343->" "--filter-mark: the unmarked one is not"
run_two $WORK/mark7 --filter-mark 0x40/0xf0
expect_no_grep $WORK/mark7 "$EV" "--filter-mark M/MASK: no datagram has that mark"

# --filter-ifname: a device name means that device in --filter-netns (else pwhy's own netns)
run_two $WORK/if --filter-netns $Y --filter-ifname y0
expect_grep $WORK/if "y0:[0-9]+ .*10\.92\.0\.2:7\(udp\)" "--filter-ifname y0: events on y0 are shown"
expect_no_grep $WORK/if " x0:[0-9]+ " "--filter-ifname y0: nothing before y0 is shown"
run_two $WORK/iflo --filter-ifname lo
expect_no_grep $WORK/iflo "$EV" "--filter-ifname lo (pwhy's netns): the namespaces' traffic is excluded"
pwhy_run $WORK/ifbad --filter-ifname no-such-if0 -- true
expect_status $? 2 "--filter-ifname: an unknown device is a usage error" $WORK/ifbad

# --output-tcp-flags
rm -f $WORK/ready
nt $Y tcp-serve --listen 10.92.0.2:7070 --timeout 600000 --ready-file $WORK/ready >/dev/null &
wait_file $WORK/ready
pwhy_run $WORK/tcp --events --timeout 60 --output-tcp-flags 'tcp and port 7070' -- \
	ip netns exec $X $NETTOOL tcp-connect --to 10.92.0.2:7070
expect_grep $WORK/tcp "10\.92\.0\.1:[0-9]+->10\.92\.0\.2:7070\(tcp\) \[S\] " "--output-tcp-flags: the SYN is [S]"
expect_grep $WORK/tcp "10\.92\.0\.2:7070->10\.92\.0\.1:[0-9]+\(tcp\) \[S\.\] " "--output-tcp-flags: the SYN-ACK is [S.]"
expect_grep $WORK/tcp "\(tcp\) \[F?P?\.\] " "--output-tcp-flags: ACK segments are [.]-style"
expect_no_grep $WORK/ts "\(udp\) \[" "no flags on UDP or without the flag"
ns_kill $Y; wait

# --output-caller / --output-stack / --output-skb, text and JSON
run_two $WORK/meta --output-caller --output-stack --output-skb
expect_grep $WORK/meta "$EV.* caller=[a-z_][a-z0-9_.]*(\+0x[0-9a-f]+)?$" "--output-caller: event lines name a caller"
# function probes know their caller; a tracepoint's comes from the stack, which some kernels
# cannot unwind past the softirq stack (seen on 6.1: only the tracer's own frames)
if [ "$(grep -c " caller=?$" $WORK/meta)" -lt "$(grep -c " caller=" $WORK/meta)" ]; then
	ok "--output-caller: most events have one ($(grep -c " caller=?$" $WORK/meta) unknown of $(grep -c " caller=" $WORK/meta))"
else bad "--output-caller: no event has a caller"; fi
expect_grep $WORK/meta "^    (ip_|udp_|__dev_queue_xmit|__netif|netif_|__sys_|do_syscall)[a-z0-9_.]*\+0x" "--output-stack: kernel frames follow the events"
expect_no_grep $WORK/meta "^    bpf_(prog|trampoline)_" "--output-stack: the tracer's own frames are left out"
expect_grep $WORK/meta "^\(struct sk_buff\)\{" "--output-skb: the skb is printed through BTF"
expect_grep $WORK/meta "^[[:space:]]*\.len = \(unsigned int\)[0-9]+," "--output-skb: with its fields"
case $(used_backend $WORK/meta) in
tracepoint) expect_grep $WORK/meta.err "note: --output-caller on the tracepoint backend" "--output-caller: the tracepoint backend says what its caller is" ;;
esac
run_two $WORK/metaj --output-json --output-caller --output-stack --output-skb
expect_grep $WORK/metaj "\"probe\":\"[a-z_]+\".*\"caller\":\"[a-z_].*\",\"stack\":\[\"[a-z_]" "JSON: caller and stack"
expect_grep $WORK/metaj "^\{\"skb\":\"0x[0-9a-f]+\",\"ts_ns\":[0-9]+,\"skb_btf\":\"\(struct sk_buff\)\{" "JSON: the skb dump is its own object"
expect_no_grep $WORK/nots "caller=|^    [a-z_]+\+0x|struct sk_buff" "without the flags: no caller, stack or skb"

# --output-limit-lines: trace stops by itself after N event lines, exit 0
"$PWHY" trace --backend "$BACKEND" --timeout 120 --output-limit-lines 3 'udp and port 7' >$WORK/lim 2>$WORK/lim.err &
pid=$!
for _ in $(seq 600); do grep -q "tracing with" $WORK/lim.err && break; sleep 0.1; done
for i in 1 2 3; do send_two >/dev/null; done
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	bad "--output-limit-lines: trace still running after the lines were printed"; kill $pid
else
	wait $pid; expect_status $? 0 "--output-limit-lines: trace exits 0 by itself" $WORK/lim
	n=$(grep -Ec "$EV" $WORK/lim)
	[ "$n" = 3 ] && ok "--output-limit-lines 3: exactly 3 event lines" || bad "--output-limit-lines 3: $n event lines"
fi
wait
finish
