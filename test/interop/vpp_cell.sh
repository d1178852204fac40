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

set -u

BIN="" RESPONDER="" ROLE=slave SOCKKIND=fs MODE=interrupt SIZES=98,1500,9000 COUNT=1000
SECRET="" ID=0 TIMEOUT=20 KEEP=0

usage() {
	sed -n '3,/^$/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--bin) BIN=$2; shift ;;
	--responder) RESPONDER=$2; shift ;;
	--role) ROLE=$2; shift ;;
	--socket) SOCKKIND=$2; shift ;;
	--mode) MODE=$2; shift ;;
	--sizes) SIZES=$2; shift ;;
	--count) COUNT=$2; shift ;;
	--secret) SECRET=$2; shift ;;
	--id) ID=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$ROLE" in slave|master) ;; *) echo "bad --role $ROLE" >&2; exit 2 ;; esac
case "$SOCKKIND" in fs|abstract) ;; *) echo "bad --socket $SOCKKIND" >&2; exit 2 ;; esac
case "$MODE" in interrupt|polling) ;; *) echo "bad --mode $MODE" >&2; exit 2 ;; esac
for p in "$BIN" "$RESPONDER"; do
	if [ -z "$p" ] || [ ! -x "$p" ]; then
		echo "program not found: '$p' (pass --bin and --responder)" >&2
		exit 2
	fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memif-vpp.XXXXXX")
if [ "$SOCKKIND" = fs ]; then
	SOCK="$WORK/memif.sock"
else
	SOCK="@memif-vpp-$$-$RANDOM"
fi
PIDS=()

cleanup() {
	local rc=$? pid i
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ "$SOCKKIND" = fs ] && rm -f "$SOCK"
	if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	local f
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f"
	done
	exit 1
}

forget() {
	local pid keep=()
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	PIDS=(${keep[@]+"${keep[@]}"})
}

# wait_line FILE REGEX SECONDS PID: REGEX shows up in FILE while PID lives.
wait_line() {
	local file=$1 re=$2 secs=$3 pid=$4
	local end=$((SECONDS + secs))
	while [ $SECONDS -le $end ]; do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { grep -qE -- "$re" "$file" 2>/dev/null; return; }
		sleep 0.05
	done
	return 1
}

resp_role=master
[ "$ROLE" = master ] && resp_role=slave
resp_args=(--role "$resp_role" -S "$SOCK" -I "$ID" --no-stdin -a 192.168.1.1)
peer_args=(--role "$ROLE" --socket "$SOCK" --id "$ID" --mode "$MODE" --sizes "$SIZES"
	--count "$COUNT" --timeout "$TIMEOUT" --ip 192.168.1.2 --peer-ip 192.168.1.1)
if [ -n "$SECRET" ]; then
	resp_args+=(-k "$SECRET")
	peer_args+=(--secret "$SECRET")
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

echo "vpp_peer $ROLE vs icmp-responder $resp_role, $SOCKKIND socket $SOCK, $MODE," \
	"sizes $SIZES x $COUNT${SECRET:+, secret of ${#SECRET} bytes}"

if [ "$ROLE" = slave ]; then
	start responder "$RESPONDER" "${resp_args[@]}"
	resp_pid=$LAST
	wait_line "$WORK/responder.log" '^icmp-responder: ' 10 "$resp_pid" ||
		fail "icmp-responder did not start"
	start peer "$BIN" "${peer_args[@]}"
	peer_pid=$LAST
else
	start peer "$BIN" "${peer_args[@]}"
	peer_pid=$LAST
	wait_line "$WORK/peer.log" '^listening on ' 10 "$peer_pid" ||
		fail "vpp_peer did not start listening"
	start responder "$RESPONDER" "${resp_args[@]}"
	resp_pid=$LAST
fi

rc=0
wait "$peer_pid" || rc=$?
forget "$peer_pid"
cat "$WORK/peer.log"
[ "$rc" -eq 0 ] || fail "vpp_peer exited with $rc"

kill -0 "$resp_pid" 2>/dev/null || fail "icmp-responder died during the run"
kill -TERM "$resp_pid"
rc=0
wait "$resp_pid" || rc=$?
forget "$resp_pid"
[ "$rc" -eq 0 ] || fail "icmp-responder exited with $rc after SIGTERM"
n_sizes=$(echo "$SIZES" | tr ',' '\n' | grep -c .)
want=$((COUNT * n_sizes))
grep -q " $want icmp replies, " "$WORK/responder.log" ||
	fail "icmp-responder did not count $want icmp replies"
grep -q ' 0 bad, 0 tx drops, ' "$WORK/responder.log" ||
	fail "icmp-responder counted bad packets or tx drops"
echo "icmp-responder: $(grep -E '^  counters: ' "$WORK/responder.log")"
echo "PASS"
