#!/bin/sh
# Installs the Debian packages uplinkd needs to build, test and run its lab.
# Idempotent and quiet when everything is present.  Usage: tests/deps.sh [build|test|all]
set -eu

build_pkgs="make gcc pkg-config libmnl-dev libnftnl-dev libnl-3-dev libnl-route-3-dev
	libiniparser-dev libcurl4-openssl-dev libc-ares-dev check python3"
test_pkgs="clang libclang-rt-14-dev iproute2 nftables conntrack iputils-ping procps psmisc
	qemu-system-x86 busybox-static kmod cpio ppp pppoe radvd dnsmasq-base isc-dhcp-server
	kea-dhcp6-server dhcpcd-base bind9-dnsutils util-linux
	tcpdump curl python3 socat systemd"

want=$build_pkgs
case "${1:-all}" in
build) ;;
test|all) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$s" in ii*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
