#!/bin/bash
# Second stage in the VM, PID 1 after switch_root (see guest-init.sh).
#
# Runs the caller's command as root in the caller's working directory with
# exactly the caller's environment, its stdout/stderr on the pwhy.out/pwhy.err
# ports and stdin from /dev/null, reports its exit status on pwhy.rc and
# powers the VM off.
D=/run/pwhy-vm
mapfile -d '' -t ENVV < "$D/env"
mapfile -d '' -t ARGV < "$D/argv"
IFS= read -r -d '' CWD < "$D/cwd"
cd -- "$CWD" 2>/dev/null || cd /

# the caller's TMPDIR may name a directory that the fresh /tmp lacks
for e in "${ENVV[@]}"; do
    case $e in TMPDIR=/?*) mkdir -p -- "${e#TMPDIR=}" 2>/dev/null ;; esac
done

env -i -- "${ENVV[@]}" "${ARGV[@]}" < /dev/null > /dev/pwhy.out 2> /dev/pwhy.err
rc=$?
echo "exit $rc" > /dev/pwhy.rc
echo o > /proc/sysrq-trigger
sleep 10
echo b > /proc/sysrq-trigger
sleep 10
