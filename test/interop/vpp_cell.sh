#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_cell.sh - one VPP-like interop cell: vpp_peer (a test program that
# behaves like VPP's memif plugin, see vpp_peer.c) pings the example
# icmp-responder over memif.
#
#   --bin PATH         vpp_peer
#   --responder PATH   icmp-responder
#   --role slave|master   the role of vpp_peer; the responder takes the other
#                      (slave: VPP's default zero-copy slave; master: copy mode)
#   --socket fs|abstract  a socket file in a private directory, or @name
#   --mode interrupt|polling  receive mode of both sides
#   --sizes A,B,..     total frame sizes (default 98,1500,9000)
#   --count N          echo requests per size (default 1000)
#   --secret S         the same secret on both sides
#   --id N             interface id (default 0)
#   --timeout S        vpp_peer's time limit (default 20)
#   --keep             keep the work directory (logs, commands)
#
# Passes when vpp_peer exits 0 (every reply intact, no rule broken) and the
# responder, stopped with SIGTERM, exits 0 and counted every echo request.
# Every process started here is stopped by pid on exit; the work directory
# (socket file, logs) is removed unless --keep or a failure.

# Argument checks, the work directory, cleanup, waiting for log lines:
# common.sh, shared with the other cells.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

RESPONDER="" SIZES=98,1500,9000 TIMEOUT=20 # common.sh's other defaults fit

usage() {
	sed -n '3,/^$/s/^# \{0,1\}//p' "$0"
}

# The options above, and only those; common.sh's parse_args checks them.
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--responder) RESPONDER=$2; shift ;;
	--bin|--role|--socket|--mode|--sizes|--count|--secret|--id|--timeout) args+=("$1" "$2"); shift ;;
	--keep) args+=("$1") ;;
	-h|--help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
parse_args ${args[@]+"${args[@]}"}
if [ -z "$RESPONDER" ] || [ ! -x "$RESPONDER" ]; then
	echo "icmp-responder not found: '$RESPONDER' (pass --responder)" >&2
	exit 2
fi
setup_work # WORK, SOCK_PATH, PIDS, the cleanup trap

# common.sh's cleanup, and the socket file goes even when the logs stay.
vpp_cleanup() {
	local rc=$?
	[ "$SOCKKIND" = fs ] && rm -f "$SOCK_PATH"
	(exit "$rc")
	cleanup
}
trap vpp_cleanup EXIT

fail() {
	echo "FAIL: $*"
	local f
	for f in "$WORK"/*.log; do
		[ -f "$f" ] && show_log "$(basename "$f" .log)" "$f" 40
	done
	exit 1
}

# Drop a reaped pid from PIDS, so that cleanup never signals its number.
forget() {
	local pid keep=()
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	PIDS=(${keep[@]+"${keep[@]}"})
}

resp_role=master
[ "$ROLE" = master ] && resp_role=slave
resp_args=(--role "$resp_role" -S "$SOCK_PATH" -I "$ID" --no-stdin -a 192.168.1.1)
vpp_args=(--role "$ROLE" --socket "$SOCK_PATH" --id "$ID" --mode "$MODE" --sizes "$SIZES"
	--count "$COUNT" --timeout "$TIMEOUT" --ip 192.168.1.2 --peer-ip 192.168.1.1)
if [ -n "$SECRET" ]; then
	resp_args+=(-k "$SECRET")
	vpp_args+=(--secret "$SECRET")
fi
[ "$MODE" = polling ] && resp_args+=(-p)

start() { # start NAME CMD...: in the background, pid in LAST
	local name=$1
	shift
	printf '%q ' "$@" >>"$WORK/commands"
	echo >>"$WORK/commands"
	timeout -k 5 $((TIMEOUT + 10)) "$@" </dev/null >"$WORK/$name.log" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
}
start_responder() { start responder "$RESPONDER" "${resp_args[@]}"; resp_pid=$LAST; }
start_vpp_peer() { start peer "$BIN" "${vpp_args[@]}"; peer_pid=$LAST; }

echo "vpp_peer $ROLE vs icmp-responder $resp_role, $SOCKKIND socket $SOCK_PATH, $MODE," \
	"sizes $SIZES x $COUNT${SECRET:+, secret of ${#SECRET} bytes}"

# The master first; the slave once the master has said it is up.
if [ "$ROLE" = slave ]; then
	start_responder
	wait_for_line "$WORK/responder.log" '^icmp-responder: ' 10 "$resp_pid" ||
		fail "icmp-responder did not start"
	start_vpp_peer
else
	start_vpp_peer
	wait_for_line "$WORK/peer.log" '^listening on ' 10 "$peer_pid" ||
		fail "vpp_peer did not start listening"
	start_responder
fi

rc=0
wait "$peer_pid" || rc=$?
forget "$peer_pid"
cat "$WORK/peer.log"
[ "$rc" -eq 0 ] || fail "vpp_peer exited with $rc"

kill -0 "$resp_pid" 2>/dev/null || fail "icmp-responder died during the run"
stop_pid "$resp_pid" # TERM; KILL after 5 s
forget "$resp_pid"
[ "$WAIT_RC" -eq 0 ] || fail "icmp-responder exited with $WAIT_RC after SIGTERM"
n_sizes=$(echo "$SIZES" | tr ',' '\n' | grep -c .)
want=$((COUNT * n_sizes))
grep -q " $want icmp replies, " "$WORK/responder.log" ||
	fail "icmp-responder did not count $want icmp replies"
grep -q ' 0 bad, 0 tx drops, ' "$WORK/responder.log" ||
	fail "icmp-responder counted bad packets or tx drops"
echo "icmp-responder: $(grep -E '^  counters: ' "$WORK/responder.log")"
echo "PASS"
