#!/bin/bash
# A datagram to a port nobody listens on: dropped NO_SOCKET, and pwhy says so (v4 and v6).
. "$(dirname "$0")/lib.sh"
SCENARIO=no_sk_port
NS=$(ns_new port)
for fam in 4 6; do
	if [ $fam = 4 ]; then dst=127.0.0.1:9; re='127\.0\.0\.1:9'; else dst='[::1]:9'; re='\[::1\]:9'; fi
	pwhy_run $WORK/out$fam --events --expect no-sk 'udp and port 9' -- \
		ip netns exec $NS $NETTOOL udp-send --to $dst --payload x
	expect_status $? 0 "v$fam: run --expect no-sk exits 0" $WORK/out$fam
	expect_grep $WORK/out$fam "kfree_skb\(NO_SOCKET\)" "v$fam: the drop is printed with its reason name"
	expect_grep $WORK/out$fam "net_dev_queue" "v$fam: the path before the drop is printed"
	expect_func_path $WORK/out$fam "v$fam"
	expect_grep $WORK/out$fam "^FINDING no-sk .*no socket on $re/udp" "v$fam: NO_SK finding names $dst"
done
# healthy: somebody listens on the port -> no drop, no finding
nt $NS udp-serve --listen 127.0.0.1:9 --timeout 60000 --ready-file $WORK/ready >/dev/null &
wait_file $WORK/ready
pwhy_run $WORK/healthy --events --expect-none no-sk 'udp and port 9' -- \
	ip netns exec $NS $NETTOOL udp-send --to 127.0.0.1:9 --payload x
expect_status $? 0 "healthy: a listener on port 9, no finding" $WORK/healthy
expect_no_grep $WORK/healthy "FINDING" "healthy: nothing printed as a finding"
ns_kill $NS; wait
finish
