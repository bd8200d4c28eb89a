#!/bin/bash
# --all at pwru's scale: every function taking an skb is listed (--list-funcs) and probed; a
# datagram to a closed port is followed from udp_sendmsg to the NO_SOCKET drop; -v prints attach
# and detach times; Ctrl-C during the attach leaves nothing attached.
. "$(dirname "$0")/lib.sh"
SCENARIO=all_funcs
# emulated kernels attach thousands of probes slowly: generous, bounded waits
LIMIT=${PWHY_ALL_TIMEOUT:-900}
progs() { bpftool prog show 2>/dev/null | grep -cE ' name pwhy(_(netif_rcv|netif_rx|copy_dgram|dev_queue|kfree_skb|consume|fib4|fib6|send[a-z_]*|fentry[0-9]|kprobe[0-9]|kmulti[0-9]))?  ' ; }
CLONE='( clone of 0x[0-9a-f]+)?'	# a followed clone/copy says whose
settle() { for _ in $(seq 1200); do [ "$(progs)" = "$1" ] && return; sleep 0.1; done; }

# the list needs no BPF: it works on every kernel
"$PWHY" trace --all --list-funcs --backend "$BACKEND" >$WORK/list 2>$WORK/list.err
expect_status $? 0 "--list-funcs exits 0" $WORK/list
n=$(wc -l <$WORK/list)
if [ "$n" -ge 1000 ]; then ok "--list-funcs: $n functions"; else bad "--list-funcs: only $n functions (want >= 1000)"; fi
expect_grep $WORK/list "^udp_sendmsg	sendmsg$" "--list-funcs: udp_sendmsg (where the send starts)"
expect_grep $WORK/list "^__udp4_lib_rcv	skb1$" "--list-funcs: __udp4_lib_rcv with its skb argument"
expect_grep $WORK/list.err "^pwhy: $n functions, skipped [0-9]+ of [0-9]+ functions" "--list-funcs: one-line summary of what was left out"
expect_no_grep $WORK/list "^(__traceiter_|__bpf_trace_|perf_trace_)" "--list-funcs: no tracepoint glue"
"$PWHY" trace --filter-func '^__udp4_lib_' --list-funcs >$WORK/re 2>/dev/null
if [ -s $WORK/re ] && ! grep -qv '^__udp4_lib_' $WORK/re; then ok "--filter-func narrows the list ($(wc -l <$WORK/re))"; else bad "--filter-func '^__udp4_lib_': $(head -c 200 $WORK/re)"; fi

backend=$BACKEND
[ "$backend" = auto ] && backend=$("$PWHY" backends --supported | head -1)
if [ "$backend" = tracepoint ]; then
	skip "--all attach: needs fentry or kprobes, this run uses the tracepoint backend"
	finish
fi

# fentry needs a trampoline per function, and removing each waits for RCU-tasks grace periods:
# --all takes minutes to attach and detach under emulation (bench/attach.sh measures it), so the
# fentry rows run the same checks on the functions of the UDP/IP path (PWHY_ALL_FENTRY=1: --all)
SELECT=(--all) WANT=1000
if [ "$backend" = fentry ] && [ "${PWHY_ALL_FENTRY:-0}" != 1 ]; then
	SELECT=(--filter-func '^(udp_|__udp|udpv6_|ip_|__ip_|ip6_|__dev_queue_xmit|dev_hard_start_xmit|netif_|__netif_|sk_skb_reason_drop|kfree_skb_reason)') WANT=40
fi
NS=$(ns_new all)
before=$(progs)
timeout -s INT $LIMIT "$PWHY" run --backend "$BACKEND" -v --events --expect no-sk "${SELECT[@]}" 'udp and port 9' -- \
	ip netns exec $NS $NETTOOL udp-send --to 127.0.0.1:9 --payload x >$WORK/out 2>$WORK/out.err
expect_status $? 0 "${SELECT[0]} run exits 0" $WORK/out
got=$(sed -n 's/^pwhy: attached \([0-9]*\) probes in \([0-9.]*\) s.*/\1/p' $WORK/out.err)
if [ "${got:-0}" -ge $WANT ]; then ok "${SELECT[0]}: $got functions attached"; else bad "${SELECT[0]}: ${got:-no} functions attached (want >= $WANT)"; sed 's/^/#   /' $WORK/out.err | tail -5; fi
expect_grep $WORK/out.err "^pwhy: attached [0-9]+ probes in [0-9.]+ s" "-v: attach time"
expect_grep $WORK/out.err "^pwhy: detached [0-9]+ probes in [0-9.]+ s" "-v: detach time"
expect_grep $WORK/out.err "^pwhy: [0-9]+ functions attached, skipped [0-9]+ of [0-9]+" "-v: skipped functions summarized"
sed -n 's/^pwhy: \(attached\|detached\) /# \1 /p' $WORK/out.err
for f in udp_sendmsg __dev_queue_xmit __udp4_lib_rcv; do
	expect_grep $WORK/out " $f$CLONE$" "path shows $f"
done
expect_grep $WORK/out " (sk_skb_reason_drop|kfree_skb_reason)$CLONE$" "path shows the dropping function"
expect_grep $WORK/out "kfree_skb\(NO_SOCKET\)" "the drop is NO_SOCKET"
# the order: the send before the transmit before the receive before the drop
order=$(sed -E "s/$CLONE$//" $WORK/out | grep -nE " (udp_sendmsg|__dev_queue_xmit|__udp4_lib_rcv|sk_skb_reason_drop|kfree_skb_reason)$" |
	awk '{print $NF}' | awk '!seen[$0]++' | tr '\n' ' ')
case $order in
"udp_sendmsg __dev_queue_xmit __udp4_lib_rcv "*) ok "path in order: $order" ;;
*) bad "path out of order: $order" ;;
esac
settle $before
[ "$(progs)" = "$before" ] && ok "after --all: nothing left attached" || bad "after --all: $(progs) programs left (before: $before)"

# --kmods: functions of a loaded module (veth, loaded by creating a pair), from its split BTF
A=$(ns_new kma); B=$(ns_new kmb)
veth $A va $B vb && ip -n $A addr add 10.77.0.1/24 dev va && ip -n $B addr add 10.77.0.2/24 dev vb
if [ ! -e /sys/kernel/btf/veth ]; then
	skip "--kmods: veth has no BTF here (built in or without module BTF)"
else
	"$PWHY" trace --all --kmods --list-funcs >$WORK/kl 2>/dev/null
	expect_grep $WORK/kl "^veth_xmit	skb1	\[veth\]$" "--kmods --list-funcs: veth_xmit from the veth module's BTF"
	"$PWHY" trace --all --list-funcs >$WORK/nokl 2>/dev/null
	expect_no_grep $WORK/nokl "\[veth\]" "without --kmods: no module function"
	timeout -s INT $LIMIT "$PWHY" run --backend "$BACKEND" --events --expect no-sk --kmods \
		--filter-func '^(veth_xmit|__udp4_lib_rcv)$' 'udp and port 9' -- \
		ip netns exec $A $NETTOOL udp-send --to 10.77.0.2:9 --payload x >$WORK/km 2>$WORK/km.err
	expect_status $? 0 "--kmods run exits 0" $WORK/km
	expect_grep $WORK/km " veth_xmit$CLONE$" "--kmods: the module function veth_xmit is on the path"
fi

# Ctrl-C while attaching: prompt stop, one line, non-zero, nothing left
"$PWHY" trace --backend "$BACKEND" "${SELECT[@]}" 'udp and port 9' >/dev/null 2>$WORK/int.err &
pid=$!
# kprobe.multi attaches everything in about a second: interrupt as soon as the first program is
# in; one probe per function (fentry, perf kprobes) takes long enough to interrupt midway
delay=5
[ "${SELECT[0]}" = --filter-func ] && delay=1
[ "$backend" = kprobe ] && "$PWHY" backends | grep -q "^kprobe.multi *yes" && delay=0
for _ in $(seq 6000); do [ "$(progs)" -gt "$before" ] && break; sleep 0.01; done
sleep ${PWHY_INT_DELAY:-$delay}
kill -INT $pid
for _ in $(seq $((LIMIT * 10))); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then bad "SIGINT during attach: still running $LIMIT s later"; kill -KILL $pid; fi
wait $pid; st=$?
if grep -q "probes attached" $WORK/int.err; then
	skip "SIGINT came after the attach had finished ($(cat $WORK/int.err | head -1))"
else
	[ $st != 0 ] && ok "SIGINT during attach: exit status $st" || bad "SIGINT during attach: exit status 0"
	if [ "$(wc -l <$WORK/int.err)" = 1 ] && grep -q "interrupted while attaching" $WORK/int.err; then
		ok "SIGINT during attach: one line: $(cat $WORK/int.err)"
	else bad "SIGINT during attach: stderr: $(head -c 300 $WORK/int.err)"; fi
fi
settle $before
[ "$(progs)" = "$before" ] && ok "SIGINT during attach: no pwhy program left (bpftool)" || bad "SIGINT during attach: $(progs) programs left (before: $before)"
finish
