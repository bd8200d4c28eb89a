#!/bin/bash
# Install what pwhy needs to build, run and test on Debian 12 (run as root). Also fetches the
# kernel packages of the VM matrix so that `make test` has everything it needs.
set -eu
cd "$(dirname "$0")/.."
PKGS="clang llvm make gcc pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libpcap-dev
      iproute2 iptables nftables procps util-linux
      qemu-system-x86 busybox-static kmod zstd xz-utils tshark
      libclang-rt-14-dev jq python3"
if [ "$(id -u)" != 0 ]; then echo "install-deps: run as root (apt-get)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
if [ "${PWHY_NO_VM:-0}" != 1 ]; then
	tests/vm/fetch-kernels.sh
fi
echo "install-deps: done"
