# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# vpp_apps.sh - our programs next to a real VPP, and the bookkeeping of the
# vpp_real_*.sh cells: sourced (after common.sh and vpp_lib.sh), not run.
#
# A script sources common.sh (waiting for log lines and listeners),
# vpp_lib.sh (VPP itself) and this file, then calls va_setup "$@", which
# takes the options every vpp_real_*.sh script has:
#   --bin-dir DIR   the examples (icmp-responder, icmp-pinger, memif-tap)
#   --bench PATH    memif-bench (only the fault cells use it)
#   --keep          keep the work directory (logs, VPP's CLI log, commands)
# and any other option goes to the script's own parser (VA_ARGS).
#
# Our programs:
#   va_start NAME CMD...   CMD in the background, as a child of this shell
#                          (its pid in VA_PID[NAME], killed if this shell
#                          dies), output in WORK/NAME.log, standard input a
#                          fifo that va_cmd writes to (the responder's
#                          commands)
#   va_cmd NAME LINE       one line on NAME's standard input
#   va_show NAME           the responder's `show`, waited for; text in VA_OUT
#   va_counter FIELD       a counter of the `counters:` line in VA_OUT: rx, tx
#                          (packets), arp, icmp (replies), ignored, bad,
#                          drops (tx drops), connects
#   va_queue_stat DIR Q    packets of "DIR queue Q" (DIR rx|tx) in VA_OUT:
#                          the library's own counters (memif_get_queue_stats)
#   va_wait_log NAME REGEX SECS   a line of NAME's log, after the last mark
#   va_mark NAME           from now on va_wait_log looks only at new lines
#   va_stop NAME           SIGTERM; exit status in VA_RC (124: had to be killed)
#   va_kill NAME           SIGKILL, as a crash
#   va_fds NAME            how many fds NAME's process has open
# VA_HOOKS: more commands for the EXIT trap, run after our programs and VPP
# are stopped (e.g. removing a network namespace).
# Cells: va_cell TITLE starts one, va_fail MSG marks it failed (and says
# why), va_eq WHAT GOT WANT compares, va_cell_done records it (PASS/FAIL and
# seconds) and dumps the logs of a failed one; va_summary prints the table
# and sets the exit status. A cell goes on after a failed check where it
# can, so one run shows everything that is wrong.

# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

VA_BIN_DIR="" VA_BENCH="" VA_KEEP=0 WORK="" VA_OUT="" VA_RC=0
VA_ARGS=()
VA_HOOKS=() # commands va_cleanup runs once our programs and VPP are stopped
declare -A VA_PID=() VA_FD=() VA_MARK=()
VA_RESULTS=() VA_CELL="" VA_CELL_OK=1 VA_CELL_T0=0 VA_FAILED=0

va_setup() {
	local name=$1
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--bin-dir) VA_BIN_DIR=$2; shift ;;
		--bench) VA_BENCH=$2; shift ;;
		--keep) VA_KEEP=1 ;;
		*) VA_ARGS+=("$1") ;;
		esac
		shift
	done
	if [ -z "$VA_BIN_DIR" ] || [ ! -x "$VA_BIN_DIR/icmp-responder" ]; then
		echo "the examples are not in '$VA_BIN_DIR' (pass --bin-dir)" >&2
		exit 2
	fi
	# VPP's CLI keeps only [A-Za-z0-9/_.-] of a socket name: so does ours.
	WORK=$(mktemp -d "/tmp/memif-vpp-$name-$$.XXXXXX")
	trap va_cleanup EXIT
	trap 'exit 130' INT TERM
	vpp_find "$WORK" # exits 77 (skipped) without a VPP
}

va_cleanup() {
	local rc=$? name
	for name in "${!VA_PID[@]}"; do
		kill -TERM "${VA_PID[$name]}" 2>/dev/null
	done
	for name in "${!VA_PID[@]}"; do
		va__reap "$name" 3
	done
	vpp_stop_all
	for name in ${VA_HOOKS[@]+"${VA_HOOKS[@]}"}; do
		eval "$name" >/dev/null 2>&1
	done
	if [ "$VA_KEEP" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then
		rm -rf "$WORK/vpp-runtime" # the unpacked tarball (16 MB), not a log
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# va__reap NAME SECS: wait up to SECS for NAME to exit (then KILL); VA_RC.
va__reap() {
	local name=$1 pid=${VA_PID[$1]:-} end=$((SECONDS + $2))
	VA_RC=0
	[ -n "$pid" ] || return 0
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt "$end" ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		VA_RC=124
	else
		wait "$pid" 2>/dev/null
		VA_RC=$?
	fi
	unset "VA_PID[$name]"
	local fd=${VA_FD[$name]:-}
	if [ -n "$fd" ]; then
		exec {fd}>&-
		unset "VA_FD[$name]"
	fi
	return 0
}

va_start() {
	local name=$1 fifo="$WORK/$1.in" fd
	shift
	rm -f "$fifo"
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	VA_FD[$name]=$fd
	VA_MARK[$name]=0
	printf '+ %s\n' "$*" >>"$WORK/commands"
	# setpriv execs CMD in this child, so $! is CMD's pid; the parent-death
	# signal stops it even if this script is killed.
	setpriv --pdeathsig TERM -- "$@" <"$fifo" >"$WORK/$name.log" 2>&1 {fd}>&- &
	VA_PID[$name]=$!
}

va_cmd() {
	printf '%s\n' "$2" >&"${VA_FD[$1]}"
}

va_mark() {
	VA_MARK[$1]=$(wc -l <"$WORK/$1.log")
}

# va_wait_log NAME REGEX SECS
va_wait_log() {
	local name=$1 re=$2 end=$((SECONDS + $3)) from=$((${VA_MARK[$1]:-0} + 1))
	while [ $SECONDS -le "$end" ]; do
		tail -n +"$from" "$WORK/$name.log" 2>/dev/null | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	return 1
}

# va_show NAME: `show`, then `help`, whose last line ("  exit") ends the answer.
va_show() {
	local name=$1 from
	va_mark "$name"
	from=$((${VA_MARK[$name]} + 1))
	va_cmd "$name" show
	va_cmd "$name" help
	if ! va_wait_log "$name" '^  exit$' 5; then
		VA_OUT=""
		return 1
	fi
	VA_OUT=$(tail -n +"$from" "$WORK/$name.log" | sed '/^commands:$/,$d')
}

va_counter() {
	local field=$1 re
	case "$field" in
	rx) re=' rx \([0-9][0-9]*\) packets' ;;
	tx) re=' tx \([0-9][0-9]*\) packets' ;;
	arp) re=' \([0-9][0-9]*\) arp replies' ;;
	icmp) re=' \([0-9][0-9]*\) icmp replies' ;;
	ignored) re=' \([0-9][0-9]*\) ignored' ;;
	bad) re=' \([0-9][0-9]*\) bad' ;;
	drops) re=' \([0-9][0-9]*\) tx drops' ;;
	connects) re=' \([0-9][0-9]*\) connects' ;;
	*) echo "va_counter: no field $field" >&2; return 1 ;;
	esac
	printf '%s\n' "$VA_OUT" | sed -n "s/^  counters:.*$re.*/\\1/p" | tail -n 1
}

# va_queue_stat rx|tx Q [TEXT]: "rx queue 0: 6 packets, ..." (any indent).
va_queue_stat() {
	local v
	v=$(printf '%s\n' "${3-$VA_OUT}" |
		sed -n "s/^ *$1 queue $2: \\([0-9]*\\) packets,.*/\\1/p" | tail -n 1)
	echo "${v:-0}"
}

va_stop() {
	local pid=${VA_PID[$1]:-}
	VA_RC=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	va__reap "$1" 5
}

va_kill() {
	local pid=${VA_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	va__reap "$1" 5
}

va_running() {
	local pid=${VA_PID[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

va_fds() {
	local pid=${VA_PID[$1]:-}
	[ -n "$pid" ] || { echo 0; return; }
	find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# ---- cells ----------------------------------------------------------------------

va_cell() {
	VA_CELL=$1
	VA_CELL_OK=1
	VA_CELL_T0=$(date +%s%N)
	echo
	echo "=== $VA_CELL"
}

va_fail() {
	echo "FAIL [$VA_CELL]: $*"
	VA_CELL_OK=0
}

va_ok() {
	echo "  ok: $*"
}

# va_eq WHAT GOT WANT
va_eq() {
	if [ "$2" = "$3" ]; then
		va_ok "$1 = $3"
	else
		va_fail "$1 is ${2:-(nothing)}, expected $3"
	fi
}

# va_has WHAT TEXT REGEX: TEXT has a line matching REGEX (grep -E).
va_has() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		va_ok "$1"
	else
		va_fail "$1: no line matching '$3' in:"
		printf '%s\n' "$2" | sed 's/^/    | /' | head -n 40
	fi
}

va_cell_done() {
	local ms=$((($(date +%s%N) - VA_CELL_T0) / 1000000)) verdict=PASS f
	if [ "$VA_CELL_OK" != 1 ]; then
		verdict=FAIL
		VA_FAILED=$((VA_FAILED + 1))
		for f in "$WORK"/*.log; do
			[ -f "$f" ] && show_log "$(basename "$f" .log)" "$f" 30
		done
		[ -n "$VPP_PID" ] && vpp_dump
	fi
	VA_RESULTS+=("$(printf '%-4s %6.1f s  %s' "$verdict" "$(echo "$ms" | awk '{print $1 / 1000}')" "$VA_CELL")")
	echo "--- $verdict: $VA_CELL ($ms ms)"
}

va_summary() {
	local line
	echo
	echo "===== results ($SECONDS s in all) ====="
	for line in "${VA_RESULTS[@]}"; do
		echo "$line"
	done
	if [ "$VA_FAILED" -ne 0 ]; then
		echo "$VA_FAILED cell(s) failed"
		exit 1
	fi
	echo "PASS"
	exit 0
}
