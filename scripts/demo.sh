#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/demo.sh - from a fresh Debian machine to a ping over memif.
#
#   1. installs what the build needs, if missing (apt-get, as root):
#      cmake gcc make pkg-config check
#   2. builds libmemif and the examples in build-demo/ (tests off)
#   3. starts icmp-responder as master on a socket in a temporary directory
#   4. runs icmp-pinger as slave against it and prints the replies, ending
#      with a line such as "5 of 5 ICMP echo replies"
#
# Exits 0 when every echo request got its reply.
#
# Environment:
#   DEMO_COUNT=N        echo requests to send (default 5)
#   DEMO_BUILD_DIR=DIR  build directory (default build-demo in the source tree)
#   DEMO_NO_INSTALL=1   never run apt-get; fail if something is missing
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DEMO_BUILD_DIR:-$root/build-demo}
count=${DEMO_COUNT:-5}

say() { printf '\n=== %s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# ---- 1. build dependencies --------------------------------------------------

packages=(cmake gcc make pkg-config check)
missing=()
for p in "${packages[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "${DEMO_NO_INSTALL:-0}" = 1 ]; then
		die "missing packages: ${missing[*]} (DEMO_NO_INSTALL=1 is set)"
	fi
	command -v apt-get >/dev/null || die "missing packages: ${missing[*]}, and no apt-get to install them"
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- 2. build -----------------------------------------------------------------

say "building in $build"
cmake -S "$root" -B "$build" -DMEMIF_BUILD_TESTS=OFF -DMEMIF_BUILD_EXAMPLES=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
	{ cat "$build.configure.log"; die "cmake configure failed"; }
rm -f "$build.configure.log"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null ||
	die "build failed (run: cmake --build $build)"

responder=$build/examples/icmp-responder
pinger=$build/examples/icmp-pinger
if [ ! -x "$responder" ] || [ ! -x "$pinger" ]; then
	die "examples not found in $build/examples"
fi

# ---- 3. responder -------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memif-demo.XXXXXX")
sock=$tmp/memif.sock
resp_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$resp_pid" ]; then
		kill -TERM "$resp_pid" 2>/dev/null || true
		wait "$resp_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting icmp-responder (master, 192.168.1.1) on $sock"
timeout -k 5 120 "$responder" --master -S "$sock" -a 192.168.1.1 --no-stdin \
	>"$tmp/responder.log" 2>&1 </dev/null &
resp_pid=$!
for _ in $(seq 100); do
	grep -q '^icmp-responder: ' "$tmp/responder.log" 2>/dev/null && break
	kill -0 "$resp_pid" 2>/dev/null || break
	sleep 0.05
done
grep -q '^icmp-responder: ' "$tmp/responder.log" ||
	{ cat "$tmp/responder.log"; die "icmp-responder did not start"; }
cat "$tmp/responder.log"

# ---- 4. pinger ----------------------------------------------------------------

say "running icmp-pinger (slave, 192.168.1.2) -> 192.168.1.1, $count requests"
rc=0
timeout -k 5 60 "$pinger" --slave -S "$sock" -a 192.168.1.2 -t 192.168.1.1 -c "$count" \
	-i 0.2 </dev/null || rc=$?

say "stopping icmp-responder"
kill -TERM "$resp_pid" 2>/dev/null || true
wait "$resp_pid" 2>/dev/null || true
resp_pid=
sed -n '/^caught signal/,$p' "$tmp/responder.log"

if [ "$rc" -eq 0 ]; then
	say "demo passed: every echo request over memif got its reply"
else
	say "demo FAILED: icmp-pinger exited with $rc"
fi
exit "$rc"
