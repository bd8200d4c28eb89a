#!/bin/bash
# fetch-kernels.sh [--update] [NAME...]
#
# Download the Debian kernel packages named in kernels.list (all of them, or
# only NAME...) with `apt-get download`, unpack each once into the cache and
# run depmod on its modules. Running it again does nothing for kernels that are
# already there; --update asks apt again and switches to a newer package when
# one matches.
#
# Cache: $PWHY_VM_CACHE (default /var/cache/pwhy-vm), one directory per NAME:
#   NAME/current     "KVER PACKAGE" of the unpacked kernel in use
#   NAME/KVER/       the unpacked package (boot/vmlinuz-KVER, lib/modules/KVER)
#   NAME/*.deb       the downloaded package
set -euo pipefail
shopt -s extglob

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LIST=${PWHY_VM_KERNELS:-$HERE/kernels.list}
CACHE=${PWHY_VM_CACHE:-/var/cache/pwhy-vm}
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "fetch-kernels: $*" >&2; }
die() { say "$*"; exit 1; }

UPDATE=0
if [ "${1:-}" = --update ]; then UPDATE=1; shift; fi
case ${1:-} in -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

[ -r "$LIST" ] || die "cannot read the kernel list $LIST"
for tool in apt-get apt-cache dpkg-deb depmod flock; do
    command -v "$tool" >/dev/null || die "$tool is missing (install: apt-get install apt dpkg kmod util-linux)"
done

# list_names: every NAME in the list; pattern_of NAME: its package pattern
list_names() { awk '$1 !~ /^#/ && NF >= 2 { print $1 }' "$LIST"; }
pattern_of() { awk -v n="$1" '$1 !~ /^#/ && NF >= 2 && $1 == n { print $2; exit }' "$LIST"; }

# candidates PATTERN: matching package names apt can download, newest first
candidates() {
    local pat=$1 prefix name
    prefix=$(printf '%s' "$pat" | sed 's/[][*?+@!(].*//')
    apt-cache pkgnames "$prefix" 2>/dev/null | while IFS= read -r name; do
        # shellcheck disable=SC2053  # the pattern is meant to be a glob
        [[ $name == $pat ]] || continue
        ver=$(apt-cache policy "$name" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
        [ -n "$ver" ] && [ "$ver" != "(none)" ] && printf '%s %s\n' "$ver" "$name"
    done | sort -V -r | awk '{ print $2 }'
}

APT_UPDATED=0
resolve() { # NAME PATTERN -> newest downloadable package name
    local c
    c=$(candidates "$2" | head -n1)
    if [ -z "$c" ] && [ "$APT_UPDATED" = 0 ] && [ "$(id -u)" = 0 ]; then
        say "no package matches '$2' in apt's lists; running apt-get update once"
        apt-get update -q >&2 || true
        APT_UPDATED=1
        c=$(candidates "$2" | head -n1)
    fi
    [ -n "$c" ] || die "kernel '$1': apt knows no package matching '$2' (run apt-get update as root; is a Debian 12 (bookworm) repository with its security updates in the apt sources?)"
    printf '%s\n' "$c"
}

fetch_one() {
    local name=$1 pat dir pkg deb tmp kv
    pat=$(pattern_of "$name")
    [ -n "$pat" ] || die "unknown kernel '$name' (known: $(list_names | paste -sd " "); see $LIST)"
    dir=$CACHE/$name
    mkdir -p "$dir" 2>/dev/null || die "cannot create $dir (set PWHY_VM_CACHE to a writable directory)"
    # one fetcher per kernel at a time; concurrent callers wait and then find it done
    exec {lockfd}>"$dir/.lock"
    flock "$lockfd"
    if [ "$UPDATE" = 0 ] && [ -s "$dir/current" ]; then
        read -r kv pkg < "$dir/current"
        if [ -s "$dir/$kv/lib/modules/$kv/modules.dep" ] && [ -f "$dir/$kv/boot/vmlinuz-$kv" ]; then
            say "$name: $pkg (kernel $kv) is ready in $dir"
            exec {lockfd}>&-
            return 0
        fi
    fi
    pkg=$(resolve "$name" "$pat")
    deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n1)
    if [ -z "$deb" ]; then
        say "$name: downloading $pkg"
        tmp=$(mktemp -d "$dir/.dl.XXXXXX")
        local aptopt=()
        [ "$(id -u)" = 0 ] && aptopt=(-o APT::Sandbox::User=root)
        if ! (cd "$tmp" && apt-get download -q "${aptopt[@]}" "$pkg" >&2); then
            rm -rf "$tmp"
            die "kernel '$name': apt-get download $pkg failed"
        fi
        deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
        [ -n "$deb" ] || { rm -rf "$tmp"; die "kernel '$name': apt-get download $pkg produced no .deb"; }
        mv "$deb" "$dir/"
        deb=$dir/${deb##*/}
        rm -rf "$tmp"
    fi
    say "$name: unpacking ${deb##*/}"
    tmp=$(mktemp -d "$dir/.x.XXXXXX")
    dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; die "kernel '$name': cannot unpack $deb"; }
    kv=$(find "$tmp/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -n1)
    if [ -z "$kv" ] || [ ! -f "$tmp/boot/vmlinuz-$kv" ]; then
        rm -rf "$tmp"
        die "kernel '$name': $deb holds no boot/vmlinuz-* with lib/modules/* (not a linux-image package?)"
    fi
    depmod -b "$tmp" "$kv" || { rm -rf "$tmp"; die "kernel '$name': depmod failed"; }
    rm -rf "${dir:?}/$kv"
    mv -T "$tmp" "$dir/$kv"
    printf '%s %s\n' "$kv" "$pkg" > "$dir/current.new"
    mv "$dir/current.new" "$dir/current"
    say "$name: $pkg (kernel $kv) is ready in $dir"
    exec {lockfd}>&-
}

if [ $# -eq 0 ]; then
    mapfile -t names < <(list_names)
    set -- "${names[@]}"
fi
for n in "$@"; do fetch_one "$n"; done
