#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memif-mt: an echo and a generator, each with one worker thread per queue.
# The generator checks that every frame comes back intact and in order.
#
# Options: --generator master|slave   --rx interrupt|polling   --queues N
#          --mode ethernet|ip          --frames N (per queue)   --size BYTES
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

gen_role=slave rx=interrupt queues=2 mode=ethernet frames=20000 size=64
while [ $# -gt 0 ]; do
	case $1 in
	--generator) gen_role=$2; shift ;;
	--rx) rx=$2; shift ;;
	--queues) queues=$2; shift ;;
	--mode) mode=$2; shift ;;
	--frames) frames=$2; shift ;;
	--size) size=$2; shift ;;
	*) t_fail "unknown option $1" ;;
	esac
	shift
done
t_need_programs "$MT"

echo_role=master
[ "$gen_role" = master ] && echo_role=slave
common=(-S "$T_DIR/mt.sock" -q "$queues" -M "$mode")
[ "$rx" = polling ] && common+=(-p)
t_log "generator $gen_role, echo $echo_role, $rx, $queues queues, $mode mode," \
	"$frames frames of $size bytes per queue"

gen=("$MT" --role "$gen_role" "${common[@]}" -g "$frames" -l "$size" -t 40)
if [ "$echo_role" = master ]; then
	t_bg echo 90 "$MT" --role master "${common[@]}"
	echo_pid=$T_BG_PID
	t_wait_log "$T_DIR/echo.log" '^memif-mt: echo ' 10
	rc=0
	timeout -k 30 60 "${gen[@]}" >"$T_DIR/generator.log" 2>&1 </dev/null || rc=$?
else
	# The generator listens first, so the slave echo connects at once.
	t_bg generator 60 "${gen[@]}"
	gen_pid=$T_BG_PID
	t_wait_log "$T_DIR/generator.log" '^memif-mt: generating ' 10
	t_bg echo 90 "$MT" --role slave "${common[@]}"
	echo_pid=$T_BG_PID
	rc=0
	t_wait "$gen_pid" || rc=$?
fi
[ "$rc" -eq 0 ] || t_fail "generator exited with $rc"
total=$((frames * queues))
t_expect_log "$T_DIR/generator.log" "^memif-mt: $total of $total frames back intact, 0 lost or bad, $queues queues finished"
t_log "$(grep -E '^memif-mt: ' "$T_DIR/generator.log" | tail -n 1)"

# The echo sees the generator leave (its workers stopped in on_disconnect),
# then stops cleanly on SIGTERM.
t_wait_log "$T_DIR/echo.log" '^disconnected$' 10
rc=0
t_stop "$echo_pid" || rc=$?
[ "$rc" -eq 0 ] || t_fail "echo exited with $rc after SIGTERM"
t_expect_log "$T_DIR/echo.log" "^memif-mt: $total frames received, $total echoed, 0 dropped\$"
t_log "ok"
