#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel's ping through memif-tap to icmp-responder:
#
#   [netns: ping -> tap mtap0] <-> memif-tap (slave) <-memif-> icmp-responder (master)
#
# memif-tap runs inside a private network namespace, so the TAP device and
# the address on it exist only there; the memif socket is a file, which
# every namespace sees. Skips (exit 77) without root, /dev/net/tun, ip netns
# or ping.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip "needs root for a TAP device and a network namespace"
[ -c /dev/net/tun ] || t_skip "no /dev/net/tun (tun module not loaded?)"
command -v ip >/dev/null || t_skip "no ip command (install iproute2)"
command -v ping >/dev/null || t_skip "no ping command (install iputils-ping)"
t_need_programs "$RESPONDER" "$TAP"

ns="memif-ex-$$"
ip netns add "$ns" 2>"$T_DIR/netns.err" ||
	t_skip "cannot create a network namespace: $(cat "$T_DIR/netns.err")"
T_CLEANUP_HOOKS+=("ip netns del $ns")
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

sock="$T_DIR/tap.sock"
# Addresses from TEST-NET-1 (RFC 5737), reachable only inside the namespace.
t_bg responder 90 "$RESPONDER" --master -S "$sock" -a 192.0.2.1 --no-stdin
resp_pid=$T_BG_PID
t_wait_log "$T_DIR/responder.log" '^icmp-responder: ' 10

t_bg tap 90 ip netns exec "$ns" "$TAP" --slave -S "$sock" --tap mtap0 --up
tap_pid=$T_BG_PID
t_wait_log "$T_DIR/tap.log" '^(memif connected|error: )' 15
if grep -q '^error: cannot ' "$T_DIR/tap.log"; then
	t_skip "memif-tap cannot create its device here: $(grep '^error: ' "$T_DIR/tap.log")"
fi
t_expect_log "$T_DIR/tap.log" '^memif connected to "memif0" \(app "icmp-responder"\), bridging with mtap0$'

# No IPv6 chatter on the link: only what the test sends.
in_ns sysctl -qw net.ipv6.conf.mtap0.disable_ipv6=1 2>/dev/null || true
in_ns ip addr add 192.0.2.2/24 dev mtap0
in_ns ip link set mtap0 up

rc=0
in_ns timeout -k 30 30 ping -c 3 -i 0.2 -W 2 192.0.2.1 >"$T_DIR/ping.log" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || t_fail "kernel ping through the TAP device exited with $rc"
t_expect_log "$T_DIR/ping.log" '3 packets transmitted, 3 received'
t_log "$(grep -E 'packets transmitted' "$T_DIR/ping.log")"

# A bigger ping, still within the TAP device's 1500-byte MTU (the kernel
# would fragment a larger one, and the responder ignores fragments).
rc=0
in_ns timeout -k 30 30 ping -c 2 -i 0.2 -W 2 -s 1400 192.0.2.1 >"$T_DIR/ping-big.log" 2>&1 \
	</dev/null || rc=$?
[ "$rc" -eq 0 ] || t_fail "kernel ping with 1400-byte payload exited with $rc"

rc=0
t_stop "$tap_pid" || rc=$?
[ "$rc" -eq 0 ] || t_fail "memif-tap exited with $rc after SIGTERM"
t_expect_log "$T_DIR/tap.log" '^mtap0 -> memif: [1-9][0-9]* frames read, [1-9][0-9]* sent, '
t_expect_log "$T_DIR/tap.log" '^memif -> mtap0: [1-9][0-9]* frames received, [1-9][0-9]* written, '

rc=0
t_stop "$resp_pid" || rc=$?
[ "$rc" -eq 0 ] || t_fail "responder exited with $rc after SIGTERM"
t_expect_log "$T_DIR/responder.log" ' [1-9][0-9]* arp replies, [5-9] icmp replies, '
t_log "ok"
