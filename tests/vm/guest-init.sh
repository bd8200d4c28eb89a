#!/bin/busybox sh
# /init of the VM's initramfs (run by the guest kernel; see vm-run.sh).
#
# Loads the modules for virtio/9p/overlay, waits for the host's "go" line on
# the pwhy.ctl port (the VM may be saved while it waits here and resumed many
# times), then builds the root: the host's / over 9p, read-only, under a tmpfs
# overlay, with the usual kernel filesystems, and hands over to guest-run.sh.
# Only busybox is used until switch_root.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
    echo "pwhy-vm: $*" >&2
    poweroff -f
}

while read -r m; do
    insmod "/mods/$m" || echo "pwhy-vm: insmod $m failed" >&2
done < /mods/order

# the host gives four named virtio-serial ports: pwhy.ctl pwhy.out pwhy.err pwhy.rc
i=0
while :; do
    named=0
    for p in /sys/class/virtio-ports/*; do
        [ -s "$p/name" ] && named=$((named + 1))
    done
    [ "$named" -ge 4 ] && break
    i=$((i + 1))
    [ "$i" -le 3000 ] || fail "virtio-serial ports did not show up"
    usleep 10000
done
for p in /sys/class/virtio-ports/*; do
    ln -sf "${p##*/}" "/dev/$(cat "$p/name")"
done

# The port stays open from here on: bytes that reach a closed port are lost.
exec 3<>/dev/pwhy.ctl
echo READY >&3
read -r T SEED W <&3
exec 3<&-
[ -n "$W" ] || fail "no run directory from the host"
date -s "@$T" > /dev/null
echo "$SEED" > /dev/urandom

O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$O,ro,cache=loose" hostroot /lower || fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /newroot ||
    fail "cannot mount the overlay root"
N=/newroot

# the run's files, copied out of the host's directory before /run and /tmp
# are covered
cp "$N$W"/* /rundir/ || fail "cannot read the run directory $W"
. /rundir/vars   # KV MODDIR TOPTMP
mount -t tmpfs -o mode=0755 run $N/run
mkdir -p $N/run/pwhy-vm
cp /rundir/* $N/run/pwhy-vm/

# a fresh /tmp; a work tree under the host's /tmp stays visible at its path
if [ -n "$TOPTMP" ] && [ -d "$N$TOPTMP" ]; then
    mkdir -p /hold
    mount --bind "$N$TOPTMP" /hold
fi
mount -t tmpfs -o mode=1777 tmp $N/tmp
if [ -n "$TOPTMP" ] && [ -d /hold ]; then
    mkdir -p "$N$TOPTMP"
    mount --move /hold "$N$TOPTMP"
fi

mount --move /proc $N/proc
mount --move /sys $N/sys
mount --move /dev $N/dev
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o ptmxmode=0666 devpts $N/dev/pts
mount -t tmpfs -o mode=1777 shm $N/dev/shm
ln -sf /proc/self/fd $N/dev/fd
ln -sf /proc/self/fd/0 $N/dev/stdin
ln -sf /proc/self/fd/1 $N/dev/stdout
ln -sf /proc/self/fd/2 $N/dev/stderr
mount -t tracefs tracefs $N/sys/kernel/tracing
mount -t debugfs debugfs $N/sys/kernel/debug
mount -t bpf bpf $N/sys/fs/bpf
mount -t cgroup2 cgroup2 $N/sys/fs/cgroup
mkdir -p "$N/lib/modules/$KV"
mount --bind "$N$MODDIR" "$N/lib/modules/$KV" || fail "cannot bind the modules of $KV"

hostname pwhy-vm
ip link set lo up

echo started > $N/dev/pwhy.rc
exec switch_root $N /bin/bash /run/pwhy-vm/guest-run.sh
