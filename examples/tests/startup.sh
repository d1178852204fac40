#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A master's start-up against a slave that offers its receive buffers late,
# as VPP's zero-copy slave does: nothing the master has to send in the
# meantime may count as an error or a drop. The slave is one of ours with
# --refill-delay, which gives its receive ring its buffers only that long
# after connecting.
#
#   --master pinger     icmp-pinger --master, icmp-responder --slave --refill-delay:
#                       the pinger's first ARP request waits for buffers
#   --master responder  icmp-responder --master, icmp-pinger --slave --refill-delay:
#                       the replies to the requests sent before the slave's
#                       refill wait for buffers
#   --master tap        memif-tap --master, icmp-pinger --slave --refill-delay, the
#                       kernel answering behind the TAP device: its ARP reply waits
#                       (needs root, /dev/net/tun, ip netns; skipped otherwise)
#
# Passes when every echo is answered and no program counts a send error, a
# drop or a library no-buffer drop.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

master=pinger delay=0.3
while [ $# -gt 0 ]; do
	case $1 in
	--master) master=$2; shift ;;
	*) t_fail "unknown option $1" ;;
	esac
	shift
done
t_need_programs "$RESPONDER" "$PINGER" "$TAP"
sock="$T_DIR/memif.sock"
t_log "$master as master, the slave offers its buffers ${delay}s after connecting"

# check_no_drops LOG: the library counted no packet it could not send.
check_no_drops() {
	if grep -E 'no-buffer drops' "$1" | grep -Evq ' 0 no-buffer drops$'; then
		t_fail "$(basename "$1"): a queue counted no-buffer drops"
	fi
}

# run_pinger ROLE ARGS...: 3 echo requests, which must all be answered.
run_pinger() {
	local rc=0
	timeout -k 30 30 "$PINGER" -S "$sock" -c 3 -i 0.1 "$@" >"$T_DIR/pinger.log" 2>&1 \
		</dev/null || rc=$?
	[ "$rc" -eq 0 ] || t_fail "pinger exited with $rc"
	t_expect_log "$T_DIR/pinger.log" '^3 of 3 ICMP echo replies$'
	t_expect_log "$T_DIR/pinger.log" ', 0 send errors$'
	if grep -q 'not sent' "$T_DIR/pinger.log"; then
		t_fail "the pinger reported a packet not sent"
	fi
	check_no_drops "$T_DIR/pinger.log"
}

case $master in
pinger)
	t_bg responder 60 "$RESPONDER" --slave -S "$sock" --no-stdin --refill-delay "$delay"
	resp_pid=$T_BG_PID
	t_wait_log "$T_DIR/responder.log" '^icmp-responder: ' 10
	run_pinger --master --connect-timeout 10
	t_stop "$resp_pid" || t_fail "responder exited with an error after SIGTERM"
	t_expect_log "$T_DIR/responder.log" ', 0 tx drops, '
	;;
responder)
	T_STDIN=closed t_bg responder 60 "$RESPONDER" --master -S "$sock"
	resp_pid=$T_BG_PID
	t_wait_log "$T_DIR/responder.log" '^icmp-responder: ' 10
	run_pinger --slave --refill-delay "$delay"
	t_stop "$resp_pid" || t_fail "responder exited with an error after SIGTERM"
	# Its replies to the requests before the refill went out late, not lost.
	t_expect_log "$T_DIR/responder.log" ' [1-9][0-9]* arp replies, 3 icmp replies, .*, 0 tx drops, '
	check_no_drops "$T_DIR/responder.log"
	;;
tap)
	[ "$(id -u)" -eq 0 ] || t_skip "needs root for a TAP device and a network namespace"
	[ -c /dev/net/tun ] || t_skip "no /dev/net/tun (tun module not loaded?)"
	command -v ip >/dev/null || t_skip "no ip command (install iproute2)"
	ns="memif-ex-$$"
	ip netns add "$ns" 2>"$T_DIR/netns.err" ||
		t_skip "cannot create a network namespace: $(cat "$T_DIR/netns.err")"
	T_CLEANUP_HOOKS+=("ip netns del $ns")
	t_bg tap 60 ip netns exec "$ns" "$TAP" --master -S "$sock" --tap mtap0
	tap_pid=$T_BG_PID
	t_wait_log "$T_DIR/tap.log" '^(memif-tap: |error: )' 10
	if grep -q '^error: cannot ' "$T_DIR/tap.log"; then
		t_skip "memif-tap cannot create its device here: $(grep '^error: ' "$T_DIR/tap.log")"
	fi
	# The kernel answers ARP and ping for 192.0.2.1 (TEST-NET-1) behind the
	# device, and sends nothing else on it.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.mtap0.disable_ipv6=1 2>/dev/null || true
	ip netns exec "$ns" ip addr add 192.0.2.1/24 dev mtap0
	ip netns exec "$ns" ip link set mtap0 up
	run_pinger --slave --refill-delay "$delay" -a 192.0.2.2 -t 192.0.2.1
	t_stop "$tap_pid" || t_fail "memif-tap exited with an error after SIGTERM"
	t_expect_log "$T_DIR/tap.log" '^mtap0 -> memif: [1-9][0-9]* frames read, [1-9][0-9]* sent, .* 0 dropped \(ring full or error\)$'
	check_no_drops "$T_DIR/tap.log"
	;;
*) t_fail "unknown master $master" ;;
esac
t_log "ok"
