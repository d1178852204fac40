#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# icmp-responder against icmp-pinger over a real memif link.
#
# Options (all optional):
#   --responder master|slave   role of the responder; the pinger takes the other
#   --rx interrupt|polling     receive mode of both programs
#   --queues N                 queues per direction
#   --mode ethernet|ip
#   --interfaces N             responder interfaces, one pinger each (master only)
#   --size BYTES               ICMP payload (above the buffer size: chained buffers)
#   --abstract                 an abstract socket (@name) instead of a file
#   --count N                  echo requests per pinger
#
# Passes when every pinger prints "N of N ICMP echo replies" and exits 0, and
# the responder stops cleanly on SIGTERM with the matching counters.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

resp_role=master rx=interrupt queues=1 mode=ethernet ifaces=1 size=56 abstract=0 count=5
while [ $# -gt 0 ]; do
	case $1 in
	--responder) resp_role=$2; shift ;;
	--rx) rx=$2; shift ;;
	--queues) queues=$2; shift ;;
	--mode) mode=$2; shift ;;
	--interfaces) ifaces=$2; shift ;;
	--size) size=$2; shift ;;
	--abstract) abstract=1 ;;
	--count) count=$2; shift ;;
	*) t_fail "unknown option $1" ;;
	esac
	shift
done
[ "$resp_role" = master ] || [ "$ifaces" -eq 1 ] ||
	t_fail "several interfaces need a master responder (pingers cannot share a listening path)"

t_need_programs "$RESPONDER" "$PINGER"

if [ "$abstract" = 1 ]; then
	sock="@memif-ex-$$-$RANDOM"
else
	sock="$T_DIR/memif.sock"
fi
ping_role=slave
[ "$resp_role" = master ] || ping_role=master

common=(-S "$sock" -M "$mode" -q "$queues")
[ "$rx" = polling ] && common+=(-p)

t_log "responder $resp_role, pinger $ping_role, $mode mode, $rx, $queues queue(s)," \
	"$ifaces interface(s), $size-byte payload, socket $sock"

start_responder() {
	# Closed stdin for a master, /dev/null for a slave: both must run unattended.
	local stdin=/dev/null
	[ "$resp_role" = master ] && stdin=closed
	T_STDIN=$stdin t_bg responder 60 \
		"$RESPONDER" --role "$resp_role" "${common[@]}" -n "$ifaces" -a 192.0.2.1
	resp_pid=$T_BG_PID
	t_wait_log "$T_DIR/responder.log" '^icmp-responder: ' 10
}

# pinger_args I: arguments of the pinger for responder interface I.
pinger_args() {
	local i=$1
	echo --role "$ping_role" "${common[@]}" -I "$i" -a "192.0.$((2 + i)).2" \
		-t "192.0.$((2 + i)).1" -c "$count" -i 0.05 -W 3 -s "$size" --connect-timeout 10
}

check_pinger_log() {
	local log=$1
	t_expect_log "$log" "^$count of $count ICMP echo replies\$"
	t_expect_log "$log" '^rtt min/avg/max = '
	if [ "$mode" = ethernet ]; then
		t_expect_log "$log" '^ARP reply from 192\.0\.'
	fi
}

if [ "$resp_role" = master ]; then
	start_responder
	for ((i = 0; i < ifaces; i++)); do
		rc=0
		# shellcheck disable=SC2046 # word splitting of the argument list is wanted
		timeout -k 30 40 "$PINGER" $(pinger_args "$i") >"$T_DIR/pinger$i.log" 2>&1 </dev/null ||
			rc=$?
		[ "$rc" -eq 0 ] || t_fail "pinger $i exited with $rc"
		check_pinger_log "$T_DIR/pinger$i.log"
		t_log "pinger $i: $(grep 'ICMP echo replies' "$T_DIR/pinger$i.log")"
	done
else
	# The pinger listens first, so the slave responder connects at once.
	# shellcheck disable=SC2046
	t_bg pinger0 40 "$PINGER" $(pinger_args 0)
	ping_pid=$T_BG_PID
	t_wait_log "$T_DIR/pinger0.log" '^PING ' 10
	start_responder
	rc=0
	t_wait "$ping_pid" || rc=$?
	[ "$rc" -eq 0 ] || t_fail "pinger exited with $rc"
	check_pinger_log "$T_DIR/pinger0.log"
	t_log "pinger 0: $(grep 'ICMP echo replies' "$T_DIR/pinger0.log")"
fi

rc=0
t_stop "$resp_pid" || rc=$?
[ "$rc" -eq 0 ] || t_fail "responder exited with $rc after SIGTERM"
t_expect_log "$T_DIR/responder.log" '^caught signal 15, stopping$'
n_ok=$(grep -Ec " $count icmp replies, " "$T_DIR/responder.log")
[ "$n_ok" -eq "$ifaces" ] ||
	t_fail "responder counters: $n_ok of $ifaces interfaces show $count icmp replies"
if [ "$mode" = ethernet ]; then
	t_expect_log "$T_DIR/responder.log" ' [1-9][0-9]* arp replies, '
fi
t_log "ok"
