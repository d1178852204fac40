# SPDX-License-Identifier: MIT
# lib.sh - helpers for the example tests; sourced, not run.
#
# Every test:
#   - finds the programs in $EX_BINDIR (set by CTest; by hand:
#     EX_BINDIR=build/examples bash examples/tests/loopback.sh);
#   - works in a private directory from mktemp -d (socket files, logs);
#   - runs every program under timeout(1), so nothing can hang;
#   - kills what it started in the background, by pid, on any exit (trap);
#   - exits 0 on success, 1 on failure (printing the logs), and 77 with a
#     line "skipped: <why>" when the machine cannot run it.

set -u

T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/memif-ex-$T_NAME.XXXXXX")
T_PIDS=()
T_CLEANUP_HOOKS=()

: "${EX_BINDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/examples}"
# shellcheck disable=SC2034 # used by the scripts that source this file
RESPONDER=$EX_BINDIR/icmp-responder
# shellcheck disable=SC2034
PINGER=$EX_BINDIR/icmp-pinger
# shellcheck disable=SC2034
TAP=$EX_BINDIR/memif-tap
# shellcheck disable=SC2034
LOOPBACK=$EX_BINDIR/memif-loopback
# shellcheck disable=SC2034
MT=$EX_BINDIR/memif-mt

t_log() { printf '[%s] %s\n' "$T_NAME" "$*"; }

t_cleanup() {
	local pid hook
	for pid in ${T_PIDS[@]+"${T_PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in ${T_PIDS[@]+"${T_PIDS[@]}"}; do
		# Bounded: each background job runs under timeout(1).
		wait "$pid" 2>/dev/null
	done
	for hook in ${T_CLEANUP_HOOKS[@]+"${T_CLEANUP_HOOKS[@]}"}; do
		eval "$hook" >/dev/null 2>&1
	done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_skip() {
	echo "skipped: $*"
	exit 77
}

t_dump_logs() {
	local f
	for f in "$T_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f")"
		tail -n 60 "$f"
	done
}

t_fail() {
	echo "FAIL: $*"
	t_dump_logs
	exit 1
}

t_need_programs() {
	local p
	for p in "$@"; do
		[ -x "$p" ] || t_fail "program not built: $p (set EX_BINDIR)"
	done
}

# t_bg NAME SECONDS CMD... : start CMD in the background under timeout,
# stdout+stderr in $T_DIR/NAME.log, stdin from $T_STDIN (default /dev/null;
# "closed" closes it). The pid (of timeout, which forwards TERM/INT to CMD
# and exits with CMD's status) is left in T_BG_PID.
T_BG_PID=
t_bg() {
	local name=$1 secs=$2
	shift 2
	local stdin=${T_STDIN:-/dev/null}
	# --foreground: timeout passes a signal to CMD alone. Without it, it
	# also signals its process group and sends SIGCONT after, which can
	# arrive while CMD is exiting: in a sanitizer build, a SIGCONT during
	# LeakSanitizer's ptrace attach at exit undoes the attach's stop and
	# leaves CMD hanging until the kill.
	if [ "$stdin" = closed ]; then
		timeout --foreground -k 30 "$secs" "$@" >"$T_DIR/$name.log" 2>&1 <&- &
	else
		timeout --foreground -k 30 "$secs" "$@" >"$T_DIR/$name.log" 2>&1 <"$stdin" &
	fi
	T_BG_PID=$!
	T_PIDS+=("$T_BG_PID")
}

# t_wait_log FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX.
t_wait_log() {
	local file=$1 re=$2 secs=${3:-10}
	local end=$((SECONDS + secs))
	while [ "$SECONDS" -le "$end" ]; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	t_fail "no line matching '$re' in $(basename "$file") within ${secs}s"
}

# t_wait_log_after FILE LINE REGEX [SECONDS]: the same, past line LINE.
t_wait_log_after() {
	local file=$1 line=$2 re=$3 secs=${4:-10}
	local end=$((SECONDS + secs))
	while [ "$SECONDS" -le "$end" ]; do
		tail -n +"$((line + 1))" "$file" 2>/dev/null | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	t_fail "no line matching '$re' in $(basename "$file") (after line $line) within ${secs}s"
}

t_lines() { wc -l <"$1" 2>/dev/null || echo 0; }

# Drop a reaped pid from the cleanup list, so its number, possibly reused by
# then, is never signalled.
t_forget() {
	local pid keep=()
	for pid in ${T_PIDS[@]+"${T_PIDS[@]}"}; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	T_PIDS=(${keep[@]+"${keep[@]}"})
}

# t_stop PID: SIGTERM, then the exit status (the wait is bounded by timeout).
t_stop() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" || rc=$?
	t_forget "$pid"
	return "$rc"
}

# t_wait PID: exit status of a background job (bounded by its timeout).
t_wait() {
	local rc=0
	wait "$1" || rc=$?
	t_forget "$1"
	return "$rc"
}

t_expect_log() {
	local file=$1 re=$2
	grep -Eq -- "$re" "$file" || t_fail "expected a line matching '$re' in $(basename "$file")"
}
