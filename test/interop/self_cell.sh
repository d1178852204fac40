#!/usr/bin/env bash
# self_cell.sh - one cell of the interop matrix between two processes of
# ours: memif_peer (the tester, role/mode as given) against memif_peer
# --echo in the other role and the other receive mode (so each cell
# exercises interrupts in one direction and polling in the other).
#
# Scenarios: echo | refused | reconnect, as in dpdk_cell.sh; in reconnect
# the echo process is SIGKILLed mid-traffic and a new one is started.
#
# Exit: 0 pass, 1 fail, 2 usage.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

parse_args "$@"
if [ "$SCENARIO" = overrun ] || [ "$ZERO_COPY" = 1 ]; then
	echo "--scenario overrun and --zero-copy are DPDK cells (dpdk_cell.sh)" >&2
	exit 2
fi
setup_work

ECHO_ROLE=$(other_role "$ROLE")
ECHO_MODE=$(other_mode "$MODE")
echo "cell: self scenario=$SCENARIO ours=$ROLE/$MODE echo=$ECHO_ROLE/$ECHO_MODE" \
	"socket=$SOCKKIND($SOCK_PATH) queues=$QUEUES sizes=$SIZES count=$COUNT" \
	"secret='${SECRET}' peer-secret='${PEER_SECRET}'"

OURS_LOG="$WORK/ours.log"
rc=1

fail() {
	echo "FAIL: $*"
	[ -f "$OURS_LOG" ] && show_log "memif_peer (tester)" "$OURS_LOG" 200
	for f in "$WORK"/echo-*.log; do [ -f "$f" ] && show_log "memif_peer --echo" "$f" 60; done
	exit 1
}

# start_echo TAG: the echo side; pid in ECHO_PID, log in ECHO_LOG.
start_echo() {
	local tag=$1
	ECHO_LOG="$WORK/echo-$tag.log"
	peer_args "$ECHO_ROLE" "$ECHO_MODE" "$PEER_SECRET" "$PEER_BUFSIZE"
	start_peer "$ECHO_LOG" "${PEER_ARGS[@]}" --echo --name memif_echo --timeout $((TIMEOUT + 20))
	ECHO_PID=$LAST_PID
}

start_pair() {
	local extra=$1 tag=$2
	peer_args "$ROLE" "$MODE" "$SECRET" "$BUFSIZE"
	OURS_ARGS=("${PEER_ARGS[@]}")
	if [ "$ROLE" = slave ]; then
		start_echo "$tag"
		wait_for_listener "$LISTEN_NAME" 10 || fail "the echo master did not listen on $LISTEN_NAME"
		# shellcheck disable=SC2086
		start_peer "$OURS_LOG" "${OURS_ARGS[@]}" $extra
		OURS_PID=$LAST_PID
	else
		# shellcheck disable=SC2086
		start_peer "$OURS_LOG" "${OURS_ARGS[@]}" $extra
		OURS_PID=$LAST_PID
		wait_for_listener "$LISTEN_NAME" 10 || fail "memif_peer did not listen on $LISTEN_NAME"
		start_echo "$tag"
	fi
}

case "$SCENARIO" in
echo)
	start_pair "" 1
	wait_pid "$OURS_PID" $((TIMEOUT + 10))
	rc=$WAIT_RC
	;;
refused)
	start_pair "--expect-refused --timeout 15" 1
	wait_pid "$OURS_PID" 25
	rc=$WAIT_RC
	echo "the echo side's view:"
	grep -E 'EVENT|error' "$ECHO_LOG" | head -n 5
	;;
reconnect)
	start_pair "--reconnect-test" 1
	wait_for_line "$OURS_LOG" 'EVENT traffic-running' 25 "$OURS_PID" ||
		fail "no traffic before the link loss"
	echo "killing the echo peer (pid $ECHO_PID) with SIGKILL mid-traffic"
	kill -KILL "$ECHO_PID"
	wait "$ECHO_PID" 2>/dev/null
	wait_for_line "$OURS_LOG" 'EVENT released' 15 "$OURS_PID" ||
		fail "our side did not report the disconnect and release the connection"
	if [ "$ECHO_ROLE" = master ] && [ -S "$SOCK_PATH" ]; then
		# Left on purpose: our library must replace a socket file that
		# nobody listens on (and refuse one that a live process serves).
		echo "note: the killed echo master left its socket file $SOCK_PATH (kept)"
	fi
	echo "starting a new echo peer ($ECHO_ROLE)"
	start_echo 2
	wait_pid "$OURS_PID" $((TIMEOUT + 10))
	rc=$WAIT_RC
	;;
esac

cat "$OURS_LOG"
if [ -n "${ECHO_PID:-}" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
	stop_pid "$ECHO_PID"
	echo_rc=$WAIT_RC
	tail -n 3 "$ECHO_LOG"
	if [ "$echo_rc" != 0 ] && [ "$SCENARIO" != refused ]; then
		show_log "memif_peer --echo" "$ECHO_LOG" 60
		echo "FAIL: the echo peer exited with status $echo_rc"
		exit 1
	fi
fi
if [ "$rc" = 3 ] && [ "$ALLOW_PEER_BUG" = 1 ]; then
	echo "PASS WITH PEER BUG: every frame came back intact, but the peer glued frames" \
		"together with stale NEXT flags (see the PEER BUG lines). This cell tolerates" \
		"that known bug (--allow-peer-bug) to prove we survive it; any other damage fails."
	exit 0
fi
if [ "$rc" != 0 ]; then
	[ "$rc" = 124 ] && echo "memif_peer did not finish in time"
	[ "$rc" = 3 ] && echo "FAIL: PEER BUG (stale NEXT flags) is the only damage seen"
	for f in "$WORK"/echo-*.log; do [ -f "$f" ] && show_log "memif_peer --echo" "$f" 60; done
	echo "FAIL (memif_peer exit status $rc)"
	exit 1
fi
echo "PASS"
exit 0
