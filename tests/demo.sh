#!/bin/bash
# A first run that shows a real finding: the tproxy reply of a UDP transparent proxy, sent from
# a socket without IP_TRANSPARENT, dropped NO_SOCKET — in throwaway network namespaces.
set -u
cd "$(dirname "$0")/.."
export PWHY_VERBOSE=
. tests/scenarios/lib.sh
SCENARIO=demo
T=$(ns_new demo); P=$(ns_new demox)
veth $T dt$$ $P dp$$
ip -n $T addr add 10.99.0.1/24 dev dt$$; ip -n $P addr add 10.99.0.2/24 dev dp$$
ip -n $T route add default via 10.99.0.2
tproxy_rules $T 4 127.0.0.1 || { echo "demo: cannot install TPROXY rules" >&2; exit 1; }
nt $T tproxy-proxy --listen 127.0.0.1:15353 --reply-mode plain --timeout 60000 --ready-file $WORK/ready >/dev/null &
wait_file $WORK/ready
echo "+ pwhy run --events udp -- <client sends a DNS query to 198.51.100.53:53 through the tproxy>"
"$PWHY" run --events udp -- ip netns exec $T "$NETTOOL" udp-send --to 198.51.100.53:53 --connect --wait-reply --timeout 3000
ns_kill $T
exit 0
