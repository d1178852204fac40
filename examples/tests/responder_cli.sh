#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drive icmp-responder through its stdin commands while pingers use it:
# help, show, rx-mode, ip-set, del, conn, bad input, exit.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

t_need_programs "$RESPONDER" "$PINGER"

sock="$T_DIR/cli.sock"
fifo="$T_DIR/stdin"
log="$T_DIR/responder.log"
mkfifo "$fifo"
# Held open read-write, so the responder never sees EOF until we close it.
exec 3<>"$fifo"

T_STDIN=$fifo t_bg responder 90 "$RESPONDER" --master -S "$sock" -a 192.0.2.1
resp_pid=$T_BG_PID
t_wait_log "$log" "^type 'help' for commands\$" 10

# cmd "COMMAND" REGEX: send a command, wait for its answer.
cmd() {
	local before
	before=$(t_lines "$log")
	printf '%s\n' "$1" >&3
	t_wait_log_after "$log" "$before" "$2" 10
	t_log "$1 -> ok"
}

# ping_ok TARGET COUNT / ping_fails TARGET COUNT: run a pinger to completion.
ping_run() {
	timeout -k 30 40 "$PINGER" --slave -S "$sock" -a 192.0.2.2 -t "$1" -c "$2" -i 0.05 -W 1 \
		--connect-timeout "${3:-10}" >"$T_DIR/pinger.log" 2>&1 </dev/null
}
ping_ok() {
	local rc=0
	ping_run "$@" || rc=$?
	[ "$rc" -eq 0 ] || t_fail "pinger to $1 exited with $rc"
	t_expect_log "$T_DIR/pinger.log" "^$2 of $2 ICMP echo replies\$"
}
ping_fails() {
	local rc=0
	ping_run "$@" || rc=$?
	[ "$rc" -eq 1 ] || t_fail "pinger to $1 exited with $rc, expected 1"
	t_expect_log "$T_DIR/pinger.log" "^0 of $2 ICMP echo replies\$"
}

cmd help 'rx-mode <index> <qid> <polling\|interrupt\|adaptive>'

# A long pinger in the background, to look at a live link.
t_bg bgpinger 60 "$PINGER" --slave -S "$sock" -a 192.0.2.2 -t 192.0.2.1 -c 40 -i 0.1 \
	-W 3 --connect-timeout 10
bg_ping=$T_BG_PID
t_wait_log "$T_DIR/bgpinger.log" '^connected to ' 10
cmd show 'state: connected, peer "memif0" \(app "icmp-pinger"\)'
t_expect_log "$log" '^  rx queue 0 mode: interrupt$'
cmd 'rx-mode 0 0 polling' '^interface 0 queue 0: rx mode polling$'
cmd show '^  rx queue 0 mode: polling$'
cmd 'rx-mode 0 0 adaptive' '^interface 0 queue 0: rx mode adaptive$'
cmd show '^  rx queue 0 mode: adaptive$'
cmd 'rx-mode 0 0 interrupt' '^interface 0 queue 0: rx mode interrupt$'
cmd 'rx-mode 0 5 polling' 'error: interface 0 has 1 rx queues'
rc=0
t_wait "$bg_ping" || rc=$?
[ "$rc" -eq 0 ] || t_fail "background pinger exited with $rc (replies lost across rx-mode changes?)"
t_expect_log "$T_DIR/bgpinger.log" '^40 of 40 ICMP echo replies$'
t_log "40 of 40 replies across rx-mode changes"

cmd 'ip-set 0 192.0.2.77' '^interface 0: ip 192\.0\.2\.77$'
ping_fails 192.0.2.1 2
ping_ok 192.0.2.77 3
t_log "ip-set: old address silent, new address answers"

cmd 'del 0' '^interface 0: deleted$'
cmd show '^  state: deleted$'
cmd 'del 0' '^interface 0: already deleted$'
ping_fails 192.0.2.77 1 2
t_log "deleted interface refuses the pinger"

cmd 'conn 0' '^interface 0: created \(waiting for the slave\)$'
ping_ok 192.0.2.77 3
cmd 'conn 0' '^interface 0: master, waiting for the slave$'

cmd bogus "error: unknown command 'bogus'"
cmd 'del 7' "error: no interface '7'"
cmd 'rx-mode 0 0 sideways' "error: bad rx mode 'sideways'"
cmd 'ip-set 0 300.1.1.1' "error: bad IPv4 address '300\.1\.1\.1'"

cmd exit '^exiting$'
rc=0
t_wait "$resp_pid" || rc=$?
[ "$rc" -eq 0 ] || t_fail "responder exited with $rc after 'exit'"
t_expect_log "$log" '^  counters: rx [0-9]+ packets, tx [0-9]+ packets, '
t_log "ok"
