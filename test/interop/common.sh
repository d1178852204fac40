# shellcheck shell=bash
# common.sh - sourced by the interop scripts (dpdk_cell.sh, self_cell.sh).
#
# Argument parsing shared by the cells, unique names per run, process
# bookkeeping with a cleanup trap, waiting for markers in logs, and the
# testpmd command line. Every process started here is tracked by pid and
# stopped by pid in cleanup; nothing is killed by name.

# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

set -u

BIN=""            # memif_peer executable
SCENARIO="echo"   # echo | refused | reconnect | overrun (dpdk_cell.sh)
ROLE=slave        # our role: master | slave
SOCKKIND=fs       # fs | abstract
MODE=interrupt    # our receive mode: interrupt | polling
QUEUES=1
SIZES=64,1500,9000
COUNT=1000
SECRET=""         # our secret
PEER_SECRET=""    # the peer's secret (default: same as ours)
PEER_SECRET_SET=0
ID=0
TIMEOUT=40        # seconds, for memif_peer; the CTest timeout is above it
KEEP=0            # keep the work directory (logs) after the run
MIXED=0           # one phase of mixed sizes instead of one phase per size
BUFSIZE=""        # our buffer size (matters when we are the slave)
PEER_BUFSIZE=""   # the peer's buffer size (when it is the slave: testpmd bsize=)
ALLOW_PEER_BUG=0  # a run whose only damage is a known peer bug still passes
ZERO_COPY=0       # testpmd as client in zero-copy mode (dpdk_cell.sh, --role master)

usage_common() {
	cat <<EOF
options: --bin PATH (memif_peer) --scenario echo|refused|reconnect|overrun --role master|slave
         --socket fs|abstract --mode interrupt|polling --queues N --sizes A,B,C
         --count N --secret S --peer-secret S --id N --timeout S --keep --mixed
         --allow-peer-bug --buffer-size N --peer-buffer-size N --zero-copy
EOF
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--bin) BIN=$2; shift ;;
		--scenario) SCENARIO=$2; shift ;;
		--role) ROLE=$2; shift ;;
		--socket) SOCKKIND=$2; shift ;;
		--mode) MODE=$2; shift ;;
		--queues) QUEUES=$2; shift ;;
		--sizes) SIZES=$2; shift ;;
		--count) COUNT=$2; shift ;;
		--secret) SECRET=$2; shift ;;
		--peer-secret) PEER_SECRET=$2; PEER_SECRET_SET=1; shift ;;
		--id) ID=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--keep) KEEP=1 ;;
		--mixed) MIXED=1 ;;
		--buffer-size) BUFSIZE=$2; shift ;;
		--peer-buffer-size) PEER_BUFSIZE=$2; shift ;;
		--allow-peer-bug) ALLOW_PEER_BUG=1 ;;
		--zero-copy) ZERO_COPY=1 ;;
		-h|--help) usage_common; exit 0 ;;
		*) echo "unknown option: $1" >&2; usage_common >&2; exit 2 ;;
		esac
		shift
	done
	[ "$PEER_SECRET_SET" = 1 ] || PEER_SECRET=$SECRET
	case "$ROLE" in master|slave) ;; *) echo "bad --role $ROLE" >&2; exit 2 ;; esac
	case "$SOCKKIND" in fs|abstract) ;; *) echo "bad --socket $SOCKKIND" >&2; exit 2 ;; esac
	case "$MODE" in interrupt|polling) ;; *) echo "bad --mode $MODE" >&2; exit 2 ;; esac
	case "$SCENARIO" in echo|refused|reconnect|overrun) ;; *) echo "bad --scenario $SCENARIO" >&2; exit 2 ;; esac
	if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
		echo "memif_peer not found: '$BIN' (pass --bin)" >&2
		exit 2
	fi
}

other_role() { [ "$1" = master ] && echo slave || echo master; }
other_mode() { [ "$1" = interrupt ] && echo polling || echo interrupt; }

# Unique names: socket, work directory, DPDK file prefixes.
setup_work() {
	NAME="memif-it-$$-${RANDOM}"
	WORK=$(mktemp -d "/tmp/${NAME}.XXXXXX")
	if [ "$SOCKKIND" = fs ]; then
		SOCK_PATH="$WORK/memif.sock"     # ours
		LISTEN_NAME="$SOCK_PATH"         # as /proc/net/unix shows it
	else
		SOCK_PATH="@$NAME"
		LISTEN_NAME="@$NAME"
	fi
	PIDS=()
	PREFIXES=()
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# Stop everything we started (by pid: TERM, then KILL) and remove leftovers.
cleanup() {
	local rc=$?
	local pid
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		local i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	local p
	for p in "${PREFIXES[@]}"; do
		rm -rf "/var/run/dpdk/$p"
	done
	if [ "$KEEP" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# Run memif_peer in the background; the pid goes to $LAST_PID.
start_peer() {
	local log=$1; shift
	echo "+ memif_peer $*" >>"$WORK/commands"
	"$BIN" "$@" </dev/null >"$log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# wait_for_line FILE REGEX SECONDS [PID]: 0 when REGEX shows up in FILE,
# 1 on timeout or when PID (if given) exits first.
wait_for_line() {
	local file=$1 re=$2 secs=$3 pid=${4:-}
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -qE "$re" "$file" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# wait_for_listener NAME SECONDS: a listening unix socket NAME appears
# (/proc/net/unix shows abstract names with a leading @).
wait_for_listener() {
	local name=$1 secs=$2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		# Flags 00010000: __SO_ACCEPTCON, a listening socket.
		awk -v n="$name" '$NF == n && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix &&
			return 0
		sleep 0.05
	done
	return 1
}

# wait_pid PID SECONDS: wait for PID to exit; its status goes to $WAIT_RC
# (124 on timeout, the process is then killed).
wait_pid() {
	local pid=$1 secs=$2
	local end=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		WAIT_RC=124
		return
	fi
	wait "$pid"
	WAIT_RC=$?
}

# stop_pid PID: TERM, a moment, then KILL; status in $WAIT_RC.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	wait_pid "$pid" 5
}

# peer_args ROLE MODE SECRET [BUFFER_SIZE]: memif_peer arguments in PEER_ARGS.
peer_args() {
	local role=$1 mode=$2 secret=$3 bsize=${4:-}
	PEER_ARGS=(--role "$role" --socket "$SOCK_PATH" --id "$ID" --queues "$QUEUES"
		--mode "$mode" --sizes "$SIZES" --count "$COUNT" --timeout "$TIMEOUT")
	[ -n "$secret" ] && PEER_ARGS+=(--secret "$secret")
	[ "$MIXED" = 1 ] && PEER_ARGS+=(--mixed)
	[ -n "$bsize" ] && PEER_ARGS+=(--buffer-size "$bsize")
	return 0
}

show_log() {
	local title=$1 file=$2 lines=${3:-60}
	echo "----- $title ($file) -----"
	if [ -f "$file" ]; then
		tail -n "$lines" "$file"
	fi
	echo "----- end of $title -----"
}

# ---- DPDK testpmd ----------------------------------------------------------

# MEMIF_TESTPMD may name another testpmd binary (a DPDK built elsewhere).
find_testpmd() {
	if [ -n "${MEMIF_TESTPMD:-}" ]; then
		TESTPMD=$MEMIF_TESTPMD
		[ -x "$TESTPMD" ] || TESTPMD=""
	else
		TESTPMD=$(command -v dpdk-testpmd 2>/dev/null || true)
	fi
	if [ -z "$TESTPMD" ]; then
		echo "skipped: dpdk-testpmd not found"
		exit 77
	fi
}

# testpmd's forwarding options; dpdk_cell.sh's overrun scenario replaces them.
TESTPMD_FWD=(--forward-mode=macswap)

# start_testpmd ROLE(server|client) TAG SECRET: an echo peer (macswap) with
# $QUEUES queue pairs on one forwarding core, pinned with its main lcore to
# cpu 0 so that our side has the other core. Sets TESTPMD_PID (the timeout
# wrapper), TESTPMD_LOG and records the file prefix for cleanup.
start_testpmd() {
	local role=$1 tag=$2 secret=$3
	local prefix="${NAME}-${tag}"
	local vdev="net_memif0,role=$role,id=$ID"
	if [ "$SOCKKIND" = fs ]; then
		vdev+=",socket=$SOCK_PATH,socket-abstract=no"
	else
		vdev+=",socket=${SOCK_PATH#@},socket-abstract=yes"
	fi
	[ -n "$secret" ] && vdev+=",secret=$secret"
	[ -n "$PEER_BUFSIZE" ] && vdev+=",bsize=$PEER_BUFSIZE"
	# Zero copy (client only): net_memif sends one fd per DPDK memory segment
	# list as a region, and accepts zero-copy=yes only with single-file segments.
	local eal_zc=()
	if [ "$ZERO_COPY" = 1 ]; then
		vdev+=",zero-copy=yes"
		eal_zc=(--single-file-segments)
	fi
	PREFIXES+=("$prefix")
	TESTPMD_LOG="$WORK/testpmd-$tag.log"
	local cmd=(timeout -s INT 90 "$TESTPMD" --lcores '(0,1)@0' --no-huge -m 512 --no-pci
		"${eal_zc[@]}"
		--file-prefix="$prefix" --vdev="$vdev" --log-level=pmd.net.memif:debug
		-- "${TESTPMD_FWD[@]}" --rxq="$QUEUES" --txq="$QUEUES" --nb-cores=1
		--auto-start --no-mlockall --total-num-mbufs=16384 --stats-period=1)
	echo "+ ${cmd[*]}" >>"$WORK/commands"
	"${cmd[@]}" </dev/null >"$TESTPMD_LOG" 2>&1 &
	TESTPMD_PID=$!
	PIDS+=("$TESTPMD_PID")
}

# The testpmd process itself (child of the timeout wrapper), for kill -9.
testpmd_child() {
	pgrep -P "$1" | head -n 1
}

# Wait for testpmd to be forwarding (its port started). A net_memif server
# listens (and accepts) from the moment the device is probed, but refuses
# INIT with "ID not found" until the port is started.
wait_testpmd_started() {
	wait_for_line "$TESTPMD_LOG" 'packet forwarding - ports=|Press enter to exit|Port statistics' "$1" "$TESTPMD_PID"
}

# The interesting lines of a testpmd log: memif messages, errors and the
# last statistics block.
show_testpmd_log() {
	local file=$1
	echo "----- testpmd ($file) -----"
	grep -vE '^\s*$|Throughput|Rx-pps|Tx-pps|^\s*#+\s*$' "$file" |
		grep -vE 'NIC statistics|RX-packets|RX-errors|RX-nombuf|TX-packets|^Port statistics' | tail -n 40
	echo "  last statistics:"
	grep -E 'RX-packets|TX-packets|RX-errors|RX-nombuf' "$file" | tail -n 4
	echo "----- end of testpmd -----"
}
