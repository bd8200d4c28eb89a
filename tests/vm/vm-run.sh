#!/bin/bash
# vm-run.sh NAME -- CMD [ARGS...]
#
# Boot kernel NAME of kernels.list in QEMU (fetched on first use) and run CMD
# in it as root, in the current directory, with the current environment.
# The guest sees this machine's / read-only over 9p under a writable tmpfs
# overlay (writes are thrown away), so the work tree and its built binaries are
# at the same paths; /run, /tmp, /dev/shm are fresh tmpfs; proc, sys, tracefs,
# debugfs, bpffs, cgroup2 and devpts are mounted; the kernel's own modules are
# at /lib/modules/$(uname -r), so modprobe and module autoloading work; lo is up.
# CMD's stdout and stderr are streamed to ours, its stdin is /dev/null.
#
# Exit status: CMD's; 124 when PWHY_VM_TIMEOUT ran out; 125 when the VM could
# not run CMD or never reported its status (unknown kernel, failed fetch,
# failed boot, kernel panic). A message and the guest console's tail go to
# stderr in the last two cases.
#
# Environment:
#   PWHY_VM_TIMEOUT=1200  seconds for the whole VM run, boot included
#   PWHY_VM_MEM=1G        guest memory      PWHY_VM_SMP=2  guest CPUs
#   PWHY_VM_CACHE=/var/cache/pwhy-vm  kernels, initramfs and saved VM states
#   PWHY_VM_SNAPSHOT=1    resume a VM state saved just before the root is
#                         mounted instead of booting (made on first use;
#                         0 = always boot)
#   PWHY_VM_ACCEL=tcg     or kvm where /dev/kvm works
#   PWHY_VM_CONSOLE=1     copy the guest console to stderr at the end
#   PWHY_VM_KEEP=1        keep the per-run directory (printed on stderr)
#   PWHY_VM_KERNELS=FILE  another kernel list than kernels.list beside this script
set -uo pipefail

# the guest gets the environment exactly as it is here, before we touch PATH
HOSTTMP=${TMPDIR:-/tmp}
[ -d "$HOSTTMP" ] && [ -w "$HOSTTMP" ] || HOSTTMP=/tmp
CALLER_ENV=$(mktemp "$HOSTTMP/pwhy-vm-env.XXXXXX") || exit 125
env -0 > "$CALLER_ENV"

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LIST=${PWHY_VM_KERNELS:-$HERE/kernels.list}
CACHE=${PWHY_VM_CACHE:-/var/cache/pwhy-vm}
TIMEOUT=${PWHY_VM_TIMEOUT:-1200}
MEM=${PWHY_VM_MEM:-1G}
SMP=${PWHY_VM_SMP:-2}
ACCEL=${PWHY_VM_ACCEL:-tcg}
PATH="$PATH:/usr/sbin:/sbin"

WORK=
STATEDIR=
QPID=
RELAYS=()
cleanup() {
    [ -z "$QPID" ] || kill "$QPID" 2>/dev/null
    [ ${#RELAYS[@]} -eq 0 ] || kill "${RELAYS[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -f "$CALLER_ENV"
    [ -z "$STATEDIR" ] || rm -rf "$STATEDIR"
    if [ -n "$WORK" ]; then
        if [ "${PWHY_VM_KEEP:-0}" = 1 ]; then echo "vm-run: kept $WORK" >&2; else rm -rf "$WORK"; fi
    fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "vm-run: $*" >&2; }
console_tail() { # FILE: its last 30 lines on stderr
    if [ -s "$1" ]; then tail -n 30 "$1" | tr -d '\r' >&2; else echo "(the guest console is empty)" >&2; fi
}
die() { say "$*"; exit 125; }
usage() { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 125; }

[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
NAME=$1
shift
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || usage

case $TIMEOUT in ''|*[!0-9]*) die "PWHY_VM_TIMEOUT must be a number of seconds, not '$TIMEOUT'" ;; esac
case $ACCEL in
    tcg) ACC=(-accel tcg,thread=multi -cpu max) ;;
    kvm) ACC=(-accel kvm -cpu host) ;;
    *) die "PWHY_VM_ACCEL must be tcg or kvm, not '$ACCEL'" ;;
esac
for tool in qemu-system-x86_64 busybox timeout flock mkfifo tail; do
    command -v "$tool" > /dev/null ||
        die "$tool is missing (apt-get install qemu-system-x86 busybox-static kmod zstd xz-utils)"
done
ldd "$(command -v busybox)" > /dev/null 2>&1 &&
    die "$(command -v busybox) is linked dynamically; the guest's initramfs needs busybox-static"

# --- the kernel -------------------------------------------------------------
[ -r "$LIST" ] || die "cannot read the kernel list $LIST"
KNOWN=$(awk '$1 !~ /^#/ && NF >= 2 { printf "%s ", $1 }' "$LIST")
case " $KNOWN" in *" $NAME "*) ;; *) die "unknown kernel '$NAME' (known: ${KNOWN% }; see $LIST)" ;; esac
KDIR=$CACHE/$NAME
kernel_ready() {
    [ -s "$KDIR/current" ] || return 1
    read -r KV _ < "$KDIR/current"
    [ -f "$KDIR/$KV/boot/vmlinuz-$KV" ] && [ -s "$KDIR/$KV/lib/modules/$KV/modules.dep" ]
}
if ! kernel_ready; then
    "$HERE/fetch-kernels.sh" "$NAME" || die "could not fetch kernel '$NAME'"
    kernel_ready || die "kernel '$NAME' is still missing from $KDIR after fetching it"
fi
KROOT=$KDIR/$KV
KIMG=$KROOT/boot/vmlinuz-$KV
MODDIR=$KROOT/lib/modules/$KV
ART=$KDIR/vm-$KV              # initramfs and saved states of this kernel
mkdir -p "$ART" || die "cannot create $ART"

# serialise the making of the initramfs and the saved state per kernel
exec {LOCK}> "$ART/.lock"
flock "$LOCK"

# --- initramfs: static busybox, guest-init.sh as /init, the boot modules ----
BOOT_MODULES="virtio_pci virtio_console 9pnet_virtio 9p overlay"
IKEY=$({ cat "$HERE/guest-init.sh"; echo "$BOOT_MODULES"; cksum < "$(command -v busybox)"; } | cksum | cut -d' ' -f1)
INITRD=$ART/initrd-$IKEY.cpio
if [ ! -s "$INITRD" ]; then
    IR=$(mktemp -d "$ART/.initrd.XXXXXX") || die "cannot make a directory in $ART"
    mkdir -p "$IR"/{bin,mods,proc,sys,dev,lower,upper,newroot,rundir}
    cp "$(command -v busybox)" "$IR/bin/busybox"
    cp "$HERE/guest-init.sh" "$IR/init"
    chmod 755 "$IR/init"
    n=0
    for f in $(for m in $BOOT_MODULES; do modprobe -d "$KROOT" -S "$KV" --show-depends "$m" ||
                   echo "FAILED $m"; done | awk '$1 == "insmod" && !seen[$2]++ { print $2 } $1 == "FAILED" { print }'); do
        [ "$f" != FAILED ] || die "kernel $KV lacks a module the VM needs to boot ($BOOT_MODULES)"
        n=$((n + 1))
        ko=$(printf '%02d-%s' "$n" "${f##*/}")
        ko=${ko%.xz}; ko=${ko%.zst}; ko=${ko%.gz}
        case $f in
            *.xz) xz -dc "$f" ;;
            *.zst) zstd -dcq "$f" ;;
            *.gz) gzip -dc "$f" ;;
            *) cat "$f" ;;
        esac > "$IR/mods/$ko" || die "cannot decompress $f"
        echo "$ko" >> "$IR/mods/order"
    done
    touch "$IR/mods/order"
    (cd "$IR" && find . | busybox cpio -o -H newc 2> /dev/null) > "$IR.cpio" || die "cannot pack the initramfs"
    mv "$IR.cpio" "$INITRD"
    rm -rf "$IR"
    find "$ART" -maxdepth 1 -name 'initrd-*.cpio' ! -name "${INITRD##*/}" -delete
fi

APPEND="console=ttyS0 loglevel=4 panic=-1"

# qemu_cmd DIR: the qemu command line in Q; DIR gets the console, the ctl
# fifos and the out/err/rc files of the guest's ports
qemu_cmd() {
    local d=$1
    Q=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
        -machine pc "${ACC[@]}" -m "$MEM" -smp "$SMP"
        -kernel "$KIMG" -initrd "$INITRD" -append "$APPEND"
        -serial "file:$d/console"
        -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -device virtio-serial-pci,max_ports=5
        -chardev "pipe,id=ctl,path=$d/ctl" -device virtserialport,chardev=ctl,name=pwhy.ctl
        -chardev "file,id=out,path=$d/out" -device virtserialport,chardev=out,name=pwhy.out
        -chardev "file,id=err,path=$d/err" -device virtserialport,chardev=err,name=pwhy.err
        -chardev "file,id=rc,path=$d/rc" -device virtserialport,chardev=rc,name=pwhy.rc)
}

# --- saved VM state: boot once to the point where /init waits for the host ---
QEMU_VERSION=$(qemu-system-x86_64 --version | head -n1)
SKEY=$(printf '%s\n' "$IKEY" "$KIMG" "$(stat -c %s.%Y "$KIMG")" "$MEM" "$SMP" "$ACCEL" "$APPEND" \
    "$QEMU_VERSION" "$(declare -f qemu_cmd)" | cksum | cut -d' ' -f1)
SNAP=$ART/state-$SKEY

# make_snapshot: boot once up to where /init waits for the host and save the
# VM there in $SNAP. Returns 0 when saved; 1 when saving failed (booting works,
# so runs boot instead); 2 when the kernel did not boot; 3 when it did not boot
# within PWHY_VM_TIMEOUT (at most 600 s).
make_snapshot() {
    local d line t0=$SECONDS ret=2 limit=$TIMEOUT qrc ci co mi mo
    [ "$limit" -le 600 ] || limit=600
    d=$(mktemp -d "$ART/.state.XXXXXX") || return 1
    STATEDIR=$d
    mkfifo "$d/ctl.in" "$d/ctl.out" "$d/mon.in" "$d/mon.out"
    qemu_cmd "$d"
    # <> on a fifo never blocks, and holding both ends keeps data from being lost
    exec {ci}<> "$d/ctl.in" {co}<> "$d/ctl.out" {mi}<> "$d/mon.in" {mo}<> "$d/mon.out"
    timeout -k 5 "$limit" "${Q[@]}" -chardev "pipe,id=mon,path=$d/mon" -mon chardev=mon,mode=readline \
        < /dev/null > "$d/qemu.log" 2>&1 &
    QPID=$!
    while kill -0 "$QPID" 2> /dev/null; do
        if read -r -t 1 line <&"$co" && [ "$line" = READY ]; then
            ret=1
            sleep 0.5   # let /init block in its read
            printf 'migrate "exec:cat > %q && touch %q"\ninfo migrate\nquit\n' \
                "$d/state" "$d/state.done" >&"$mi"
            break
        fi
    done
    wait "$QPID"
    qrc=$?
    QPID=
    if [ $ret = 1 ]; then
        for _ in $(seq 600); do [ -e "$d/state.done" ] && break; sleep 0.1; done
        while read -r -t 0.5 line <&"$mo"; do printf '%s\n' "$line"; done > "$d/monitor.log"
        grep -q 'Migration status: completed' "$d/monitor.log" && [ -e "$d/state.done" ] &&
            [ -s "$d/state" ] && ret=0
    elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
        ret=3
    fi
    exec {ci}>&- {co}<&- {mi}>&- {mo}<&-
    case $ret in
        0)  mv "$d/state" "$SNAP"
            find "$ART" -maxdepth 1 -name 'state-*' ! -name "${SNAP##*/}" -delete
            say "$NAME: saved the booted VM in $((SECONDS - t0)) s; later runs resume it" ;;
        1)  say "$NAME: could not save the booted VM ($(tail -n1 "$d/qemu.log")); every run will boot" ;;
        2)  say "$NAME: kernel $KV did not boot (qemu exit $qrc); last lines of qemu and the guest console:"
            tail -n 5 "$d/qemu.log" >&2
            console_tail "$d/console" ;;
        3)  say "$NAME: kernel $KV did not finish booting within $limit s; last lines of the guest console:"
            console_tail "$d/console" ;;
    esac
    if [ "${PWHY_VM_KEEP:-0}" = 1 ]; then say "kept $d"; else rm -rf "$d"; fi
    STATEDIR=
    return $ret
}

if [ "${PWHY_VM_SNAPSHOT:-1}" = 1 ]; then
    if [ -e "$SNAP.failed" ]; then
        SNAP=
    elif [ ! -s "$SNAP" ]; then
        say "$NAME: no saved VM for kernel $KV yet: booting it once to save one (under a minute)"
        make_snapshot
        case $? in
            0) ;;
            1) : > "$SNAP.failed"; SNAP= ;;
            3) exit 124 ;;
            *) exit 125 ;;
        esac
    fi
else
    SNAP=
fi
exec {LOCK}>&-

# --- the run ------------------------------------------------------------------
WORK=$(mktemp -d "$HOSTTMP/pwhy-vm.XXXXXX") || die "cannot make a run directory"
chmod 755 "$WORK"
mkdir "$WORK/in"
mv "$CALLER_ENV" "$WORK/in/env"
printf '%s\0' "$@" > "$WORK/in/argv"
printf '%s\0' "$PWD" > "$WORK/in/cwd"
TOPTMP=
case $PWD in /tmp/?*) rest=${PWD#/tmp/}; TOPTMP=/tmp/${rest%%/*} ;; esac
printf 'KV=%q\nMODDIR=%q\nTOPTMP=%q\n' "$KV" "$MODDIR" "$TOPTMP" > "$WORK/in/vars"
cp "$HERE/guest-run.sh" "$WORK/in/guest-run.sh"

DEADLINE=$((SECONDS + TIMEOUT))
QRC=0

# run_vm cold|resume: one VM run; sets QRC (124 or 137: the timeout hit)
run_vm() {
    local extra=() ci co left
    : > "$WORK/rc"
    : > "$WORK/out"
    : > "$WORK/err"
    rm -f "$WORK/ctl.in" "$WORK/ctl.out"
    mkfifo "$WORK/ctl.in" "$WORK/ctl.out"
    qemu_cmd "$WORK"
    [ "$1" = resume ] && extra=(-incoming "exec:cat $(printf %q "$SNAP")")
    left=$((DEADLINE - SECONDS))
    [ "$left" -gt 0 ] || left=1
    exec {ci}<> "$WORK/ctl.in" {co}<> "$WORK/ctl.out"
    timeout -k 5 "$left" "${Q[@]}" "${extra[@]}" < /dev/null > "$WORK/qemu.log" 2>&1 &
    QPID=$!
    # the guest reads: host time, a random seed, the run directory
    printf '%s %s %s\n' "$(date +%s)" "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" "$WORK/in" >&"$ci"
    tail -c +1 -s 0.1 -f --pid="$QPID" "$WORK/out" 2> /dev/null &
    RELAYS=($!)
    tail -c +1 -s 0.1 -f --pid="$QPID" "$WORK/err" >&2 2> /dev/null &
    RELAYS+=($!)
    if [ "$1" = resume ]; then
        # a resumed VM reaches CMD in seconds; if not, give up on it
        local t=0
        until grep -q started "$WORK/rc" 2> /dev/null || ! kill -0 "$QPID" 2> /dev/null; do
            t=$((t + 1))
            if [ "$t" -gt 1200 ]; then kill "$QPID" 2> /dev/null; break; fi
            sleep 0.1
        done
    fi
    wait "$QPID"
    QRC=$?
    QPID=
    wait "${RELAYS[@]}" 2> /dev/null
    RELAYS=()
    exec {ci}>&- {co}<&-
}

if [ -n "$SNAP" ]; then
    run_vm resume
    if ! grep -q started "$WORK/rc"; then
        if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
            :
        else
            say "$NAME: resuming the saved VM failed (qemu exit $QRC: $(tail -n1 "$WORK/qemu.log")); booting instead"
            cp "$WORK/console" "$WORK/resume-console"
            cp "$WORK/qemu.log" "$WORK/resume-qemu.log"
            [ "${PWHY_VM_KEEP:-0}" = 1 ] || rm -f "$SNAP"
            run_vm cold
        fi
    fi
else
    run_vm cold
fi

[ "${PWHY_VM_CONSOLE:-0}" = 1 ] && tr -d '\r' < "$WORK/console" >&2
STATUS=$(sed -n 's/^exit \([0-9][0-9]*\)$/\1/p' "$WORK/rc" | tail -n1)
[ -n "$STATUS" ] && exit "$STATUS"
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    say "$NAME: timed out after $TIMEOUT s (PWHY_VM_TIMEOUT); last lines of the guest console:"
    console_tail "$WORK/console"
    exit 124
fi
if grep -q started "$WORK/rc"; then
    say "$NAME: the guest died while running the command (qemu exit $QRC); last lines of the guest console:"
else
    say "$NAME: the VM did not get to run the command (qemu exit $QRC); last lines of qemu and the guest console:"
    tail -n 5 "$WORK/qemu.log" >&2
fi
console_tail "$WORK/console"
exit 125
