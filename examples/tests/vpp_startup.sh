#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# icmp-pinger and icmp-responder as masters against a real VPP's zero-copy
# slave (VPP's default), which fills its receive ring only once it has seen
# the link up: the pinger's first ARP request comes before that on every
# run. Nothing may count as a send error or a drop, and every echo is
# answered.
#
# VPP comes from test/interop/vpp_lib.sh (see its header: MEMIF_VPP_DIR,
# MEMIF_VPP_TARBALL or the 26.06 tarball beside the checkout); without one,
# or without root, the test prints "skipped: ..." and exits 77.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/interop/vpp_lib.sh
. "$(dirname "$0")/../../test/interop/vpp_lib.sh"

t_need_programs "$RESPONDER" "$PINGER"
vpp_find "$T_DIR"
T_CLEANUP_HOOKS+=(vpp_stop_all)
vpp_start startup || t_fail "VPP did not start"

# check_clean LOG: no packet counted as not sent by the program or the library.
check_clean() {
	if grep -q 'not sent' "$1"; then
		t_fail "$(basename "$1"): a packet reported not sent"
	fi
	if grep -E 'no-buffer drops' "$1" | grep -Evq ' 0 no-buffer drops$'; then
		t_fail "$(basename "$1"): a queue counted no-buffer drops"
	fi
}

# One VPP slave interface per program, on its own socket, in interrupt mode.
vpp_slave() { # ID PATH ADDR
	vpp_cli create memif socket id "$1" filename "$2" >/dev/null || t_fail "VPP: socket $1"
	vpp_cli create interface memif id 0 socket-id "$1" slave >/dev/null ||
		t_fail "VPP: interface memif$1/0"
	vpp_cli set int state "memif$1/0" up >/dev/null
	vpp_cli set int ip address "memif$1/0" "$3/24" >/dev/null
}

# 1. The pinger as master: VPP answers. Three runs, three fresh links (the
#    first ARP request comes before VPP's buffers on most of them; each
#    run waits for VPP's slave to retry, every 3 s).
vpp_slave 1 "$T_DIR/p.sock" 192.0.2.1
for run in 1 2 3; do
	rc=0
	timeout -k 30 30 "$PINGER" --master -S "$T_DIR/p.sock" -a 192.0.2.2 -t 192.0.2.1 \
		-c 3 -i 0.1 >"$T_DIR/pinger-$run.log" 2>&1 </dev/null || rc=$?
	[ "$rc" -eq 0 ] || t_fail "pinger run $run exited with $rc"
	t_expect_log "$T_DIR/pinger-$run.log" '^3 of 3 ICMP echo replies$'
	t_expect_log "$T_DIR/pinger-$run.log" ', 0 send errors$'
	check_clean "$T_DIR/pinger-$run.log"
	vpp_wait_disconnected memif1/0 5 || t_fail "VPP still connected after run $run"
done
vppctl show memif memif1/0 | grep -q 'zero-copy' || t_fail "VPP's slave is not in zero-copy mode"

# 2. The responder as master: VPP pings it as soon as the link is up.
vpp_slave 2 "$T_DIR/r.sock" 192.0.3.2
T_STDIN=closed t_bg responder 60 "$RESPONDER" --master -S "$T_DIR/r.sock" -a 192.0.3.1
resp_pid=$T_BG_PID
vpp_wait_connected memif2/0 10 || t_fail "VPP did not connect to the responder"
vpp_if_rx_mode memif2/0 interrupt || t_fail "VPP: rx-mode"
vpp_ping 192.0.3.1 repeat 1 >/dev/null # the first one of a fresh link is lost
vpp_ping 192.0.3.1 repeat 5 interval 0.05
[ "$VPP_PING_RX" -eq 5 ] || t_fail "VPP got $VPP_PING_RX of 5 echo replies"
t_stop "$resp_pid" || t_fail "responder exited with an error after SIGTERM"
t_expect_log "$T_DIR/responder.log" ', 0 tx drops, '
check_clean "$T_DIR/responder.log"
t_log "ok"
