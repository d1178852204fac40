#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_real_faults.sh - faults between a real VPP (26.06) and our programs:
# nothing lost, nothing stuck, no crash, our fds back where they were.
#
#   vpp_real_faults.sh --bin-dir DIR --bench PATH [--keep] [CELL...]
#
# Cells (all by default):
#   vpp-restart    VPP (master) SIGKILLed under a running icmp-responder
#                  (slave), then started again with the same configuration:
#                  the responder sees the link go, holds no more fds than
#                  before it ever connected, reconnects by itself (same
#                  process) and answers VPP's pings again.
#   app-restart    the responder SIGKILLed under VPP and started again, as
#                  slave (VPP master) and as master (VPP slave; its socket
#                  file is left behind by the killed process): VPP's
#                  interface comes back up and pings pass; VPP's own fd count
#                  is what it was before.
#   delete         `delete interface memif` in VPP while our side sends:
#                  memif-bench tx bursts (it must say "link down" and exit
#                  0), and an icmp-pinger flood (it must say "disconnected",
#                  come back to its fd count from before it connected, and
#                  end with exit status 1, not a signal).
#   refused        VPP's master refuses our slave: wrong id, wrong mode,
#                  wrong secret, no secret, an id already connected; the
#                  responder's `show` gives VPP's reason (from
#                  memif_get_details().error), VPP's `show memif` its own
#                  (for the secrets: VPP records no reason for the others),
#                  and the responder's fds stay at their count from before
#                  it ever reached VPP. And our master refusing VPP's slave
#                  (wrong secret): both sides say why.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=vpp_lib.sh
. "$here/vpp_lib.sh"
# shellcheck source=vpp_apps.sh
. "$here/vpp_apps.sh"

va_setup faults "$@"
CELL_NAMES=(${VA_ARGS[@]+"${VA_ARGS[@]}"})
[ ${#CELL_NAMES[@]} -gt 0 ] || CELL_NAMES=(vpp-restart app-restart delete refused)
RESPONDER=$VA_BIN_DIR/icmp-responder
PINGER=$VA_BIN_DIR/icmp-pinger
if [ -z "$VA_BENCH" ] || [ ! -x "$VA_BENCH" ]; then
	echo "memif-bench not found: '$VA_BENCH' (pass --bench)" >&2
	exit 2
fi

# fds_settle NAME WANT SECS: until NAME holds WANT fds (a retry may hold a
# socket for a moment); the count in FDS.
fds_settle() {
	local end=$((SECONDS + $3))
	FDS=$(va_fds "$1")
	while [ "$FDS" != "$2" ] && [ $SECONDS -lt "$end" ]; do
		sleep 0.1
		FDS=$(va_fds "$1")
	done
}

vpp_fds() {
	find "/proc/$VPP_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# pings_ok IF ADDR: a warm-up, then 5 of 5 (fast interval).
pings_ok() {
	vpp_if_rx_mode "$1" interrupt || va_fail "rx-mode of $1"
	vpp_ping "$2" repeat 1 interval 0.1
	vpp_ping "$2" repeat 5 interval 0.02
	va_eq "VPP's pings to $2 answered" "$VPP_PING_RX" 5
}

# vpp_master_setup [ARGS...]: socket 1 ($WORK/f.sock) and VPP's master
# interface memif1/0 (id 0; ARGS: more of create interface memif), up, with
# an address. vpp_master_if does the same without the socket.
vpp_master_setup() {
	vpp_cli create memif socket id 1 filename "$WORK/f.sock" || va_fail "socket 1"
	vpp_master_if "$@"
}
vpp_master_if() {
	vpp_cli create interface memif id 0 socket-id 1 master "$@" || va_fail "memif1/0"
	vpp_cli set interface state memif1/0 up || va_fail "memif1/0 up"
	vpp_cli set interface ip address memif1/0 10.20.0.1/24 || va_fail "memif1/0 address"
}

cell_vpp_restart() {
	va_cell "vpp-restart: VPP SIGKILLed and started again under a running slave"
	vpp_start faults || { va_fail "VPP did not start"; return; }
	vpp_cli create memif socket id 1 filename "$WORK/f.sock" || va_fail "socket 1"
	# No interface yet, so nothing listens: the responder's fds before any link.
	va_start resp "$RESPONDER" --slave -S "$WORK/f.sock" -I 0 -a 10.20.0.2
	sleep 0.3
	local base up pid=${VA_PID[resp]}
	base=$(va_fds resp)
	vpp_master_if
	vpp_wait_connected memif1/0 10 || { va_fail "no link"; return; }
	va_wait_log resp '^interface 0: connected to ' 5 || va_fail "the responder did not say connected"
	pings_ok memif1/0 10.20.0.2
	up=$(va_fds resp)
	va_ok "responder fds: $base before the link, $up with it"

	va_mark resp
	vpp_kill faults
	va_ok "VPP killed (SIGKILL)"
	va_wait_log resp '^interface 0: disconnected' 5 || va_fail "the responder did not see the link go"
	fds_settle resp "$base" 5
	va_eq "responder fds with VPP gone" "$FDS" "$base"
	va_running resp || va_fail "the responder died with VPP"

	# Same configuration: the socket file the killed VPP left behind is in
	# the way; VPP replaces it.
	vpp_start faults || { va_fail "VPP did not start again"; return; }
	vpp_master_setup
	vpp_wait_connected memif1/0 10 || { va_fail "the responder did not reconnect"; return; }
	va_wait_log resp '^interface 0: connected to ' 5 || va_fail "the responder did not say connected"
	va_eq "the same responder process" "${VA_PID[resp]}" "$pid"
	pings_ok memif1/0 10.20.0.2
	va_eq "responder fds on the new link" "$(va_fds resp)" "$up"
	va_show resp
	va_eq "responder connects" "$(va_counter connects)" 2
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
	vpp_stop faults
}

cell_app_restart() {
	va_cell "app-restart: the responder SIGKILLed and started again, as slave and as master"
	vpp_start faults || { va_fail "VPP did not start"; return; }
	vpp_master_setup
	local vfds
	vfds=$(vpp_fds)
	va_start resp "$RESPONDER" --slave -S "$WORK/f.sock" -I 0 -a 10.20.0.2
	vpp_wait_connected memif1/0 10 || { va_fail "no link"; return; }
	pings_ok memif1/0 10.20.0.2
	va_kill resp
	vpp_wait_disconnected memif1/0 5 || va_fail "VPP did not see the slave go"
	va_eq "VPP's fds once the slave is gone" "$(vpp_fds)" "$vfds"
	va_start resp "$RESPONDER" --slave -S "$WORK/f.sock" -I 0 -a 10.20.0.2
	vpp_wait_connected memif1/0 10 || { va_fail "no link with the new slave"; return; }
	va_ok "memif1/0 up again with the new slave"
	pings_ok memif1/0 10.20.0.2
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0

	# Ours as master: VPP's slave retries about every 3 s.
	va_start resp "$RESPONDER" --master -S "$WORK/m.sock" -I 0 -a 10.20.1.2
	wait_for_listener "$WORK/m.sock" 5 || va_fail "the responder does not listen"
	vpp_cli create memif socket id 2 filename "$WORK/m.sock" || va_fail "socket 2"
	vpp_cli create interface memif id 0 socket-id 2 slave || va_fail "memif2/0"
	vpp_cli set interface state memif2/0 up
	vpp_cli set interface ip address memif2/0 10.20.1.1/24
	vpp_wait_connected memif2/0 10 || { va_fail "no link"; return; }
	pings_ok memif2/0 10.20.1.2
	vfds=$(vpp_fds)
	va_kill resp
	vpp_wait_disconnected memif2/0 5 || va_fail "VPP did not see the master go"
	[ -S "$WORK/m.sock" ] && va_ok "the killed master left its socket file"
	va_start resp "$RESPONDER" --master -S "$WORK/m.sock" -I 0 -a 10.20.1.2
	wait_for_listener "$WORK/m.sock" 5 || va_fail "the new responder does not listen"
	vpp_wait_connected memif2/0 15 || { va_fail "VPP's slave did not come back"; return; }
	va_ok "memif2/0 up again with the new master"
	pings_ok memif2/0 10.20.1.2
	va_eq "VPP's fds on the new link" "$(vpp_fds)" "$vfds"
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
	vpp_stop faults
}

cell_delete() {
	va_cell "delete: delete interface memif in VPP while our side sends"
	vpp_start faults || { va_fail "VPP did not start"; return; }
	vpp_master_setup
	va_start bench "$VA_BENCH" tx -r slave -s "$WORK/f.sock" -i 0 -S 1500 -b 32 -m interrupt -d 30 -W 10
	vpp_wait_connected memif1/0 10 || { va_fail "no link with memif-bench"; return; }
	vpp_if_rx_mode memif1/0 interrupt
	sleep 0.5
	local rx
	rx=$(vpp_if_counter memif1/0 "rx packets")
	if [ "$rx" -gt 0 ]; then
		va_ok "VPP receives memif-bench's bursts ($rx packets)"
	else
		va_fail "VPP received nothing from memif-bench"
	fi
	vpp_cli delete interface memif memif1/0 || va_fail "delete interface memif"
	va__reap bench 10
	va_eq "memif-bench exit status" "$VA_RC" 0
	va_has "memif-bench saw the link go" "$(cat "$WORK/bench.log")" '^link down'
	va_has "memif-bench reported its traffic" "$(cat "$WORK/bench.log")" '^RESULT mode=tx .*pkts=[1-9]'
	vppctl show version >/dev/null && va_ok "VPP still answers"

	# The same with an icmp-pinger flood, whose fds can be counted after.
	# Socket 1 has no interface now, so nothing listens: the pinger's fds
	# before any link.
	va_start pinger "$PINGER" --slave -S "$WORK/f.sock" -I 0 -a 10.20.0.2 -t 10.20.0.1 \
		-c 65535 -i 0.0001 -s 1472 --connect-timeout 4
	sleep 0.3
	local base
	base=$(va_fds pinger)
	vpp_master_if
	vpp_wait_connected memif1/0 10 || { va_fail "no link with the pinger"; return; }
	vpp_if_rx_mode memif1/0 interrupt
	va_wait_log pinger 'icmp_seq=200 ' 10 || va_fail "the pinger's flood did not get going"
	vpp_cli delete interface memif memif1/0 || va_fail "delete interface memif"
	va_wait_log pinger '^disconnected$' 5 || va_fail "the pinger did not see the link go"
	fds_settle pinger "$base" 3
	va_eq "pinger fds after the link went" "$FDS" "$base"
	va__reap pinger 15
	va_eq "pinger exit status (1: not every reply)" "$VA_RC" 1
	va_has "pinger's summary" "$(cat "$WORK/pinger.log")" '^[0-9]+ of 65535 ICMP echo replies$'
	vpp_stop faults
}

# refuse_slave WHAT VPP-REASON ARGS...: a responder slave with ARGS against
# memif1/0 (id 0, ethernet, secret "right"), refused. It connects through a
# symbolic link that points nowhere at first, so that its fds can be counted
# before it ever reached VPP; then the link is pointed at VPP's socket.
N_REFUSE=0
refuse_slave() {
	local what=$1 reason=$2 base link
	shift 2
	N_REFUSE=$((N_REFUSE + 1))
	link="$WORK/refuse-$N_REFUSE.sock"
	ln -sfn "$WORK/nothing-here" "$link"
	va_start bad "$RESPONDER" --slave -S "$link" -a 10.20.0.9 "$@"
	sleep 0.3
	base=$(va_fds bad)
	ln -sfn "$WORK/f.sock" "$link"
	va_cmd bad "conn 0"
	local end=$((SECONDS + 6))
	while [ $SECONDS -lt $end ]; do
		va_show bad
		printf '%s\n' "$VA_OUT" | grep -q "last error: peer: $reason" && break
		sleep 0.2
	done
	va_has "$what: ours says why" "$VA_OUT" "^  state: not connected, retrying \\(last error: peer: $reason\\)\$"
	fds_settle bad "$base" 3
	va_eq "$what: our fds after the refusal, as before any contact" "$FDS" "$base"
	vpp_show_memif memif1/0
	va_stop bad
	va_eq "$what: exit status" "$VA_RC" 0
}

cell_refused() {
	va_cell "refused: VPP's master refuses our slave; our master refuses VPP's slave"
	vpp_start faults || { va_fail "VPP did not start"; return; }
	vpp_master_setup secret right
	local vfds
	vfds=$(vpp_fds)
	refuse_slave "wrong id" "unmatched interface id" -I 5 -k right
	# VPP keeps no local-disc-reason for these two: the interface is not
	# matched (wrong id), or the refusal comes before it is (mode).
	refuse_slave "wrong mode" "mode mismatch" -I 0 -M ip -k right
	# VPP's show memif sometimes prints a stray byte after its own reason
	# (the string is not terminated where it should be); what it sent us is
	# clean, and checked exactly above.
	refuse_slave "wrong secret" "incorrect secret" -I 0 -k wrong
	va_has "wrong secret: VPP says why" "$VPP_MEMIF" '^  local-disc-reason "incorrect secret'
	refuse_slave "no secret" "secret required" -I 0
	va_has "no secret: VPP says why" "$VPP_MEMIF" '^  local-disc-reason "secret required'
	va_start resp "$RESPONDER" --slave -S "$WORK/f.sock" -I 0 -k right -a 10.20.0.2
	vpp_wait_connected memif1/0 10 || va_fail "the right slave did not connect"
	refuse_slave "id already connected" "already connected" -I 0 -k right
	pings_ok memif1/0 10.20.0.2
	va_stop resp
	vpp_wait_disconnected memif1/0 5
	va_eq "VPP's fds after the refusals" "$(vpp_fds)" "$vfds"

	# Our master refuses VPP's slave.
	va_start resp "$RESPONDER" --master -S "$WORK/m.sock" -I 0 -k right -a 10.20.1.2
	wait_for_listener "$WORK/m.sock" 5 || va_fail "the responder does not listen"
	vpp_cli create memif socket id 2 filename "$WORK/m.sock" || va_fail "socket 2"
	vpp_cli create interface memif id 0 socket-id 2 slave secret wrong || va_fail "memif2/0"
	vpp_cli set interface state memif2/0 up
	local end=$((SECONDS + 6))
	while [ $SECONDS -lt $end ]; do
		vpp_show_memif memif2/0
		printf '%s\n' "$VPP_MEMIF" | grep -q 'remote-disc-reason' && break
		sleep 0.2
	done
	va_has "VPP's slave got our reason" "$VPP_MEMIF" '^  remote-disc-reason "secret mismatch"$'
	va_show resp
	va_has "our master says why" "$VA_OUT" \
		'^  state: listening, not connected \(last error: refused a peer: secret mismatch\)$'
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
	vpp_stop faults
}

for c in "${CELL_NAMES[@]}"; do
	case "$c" in
	vpp-restart) cell_vpp_restart ;;
	app-restart) cell_app_restart ;;
	delete) cell_delete ;;
	refused) cell_refused ;;
	*) echo "unknown cell $c" >&2; exit 2 ;;
	esac
	va_cell_done
	for name in "${!VA_PID[@]}"; do va_stop "$name"; done
	vpp_stop_all
done
va_summary
