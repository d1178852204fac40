#!/usr/bin/env bash
# dpdk_cell.sh - one cell of the interop matrix: memif_peer (our library)
# against DPDK testpmd's net_memif in macswap (echo) mode.
#
#   our slave  <-> testpmd role=server (started first)
#   our master <-> testpmd role=client (started after we listen: the DPDK
#                  client connects only when its port starts, no retry)
#
# --zero-copy (our master only): testpmd's client runs with zero-copy=yes and
# EAL --single-file-segments. Region 0 then holds only its rings, and its
# buffers are its mbufs, sent as one region per DPDK memory segment list, at
# whatever (unaligned) offsets the mbufs have.
#
# Scenarios:
#   echo       frames of every size on every queue come back intact
#   refused    the peer has another secret: refused, and ours says why
#   reconnect  testpmd is killed (SIGKILL) mid-traffic; ours reports the
#              disconnect and releases the connection; a new testpmd starts;
#              ours reconnects (slave) or accepts it (master); traffic again
#   overrun    testpmd floods 9000-byte frames (5 buffers each) with txonly,
#              faster than ours (memif_peer --sink) frees buffers. DPDK
#              22.11's tx counts one slot too many for a chained packet when
#              the ring is nearly full: it writes a slot that was not offered
#              and can publish an index past the offered slots
#              (docs/interop.md). Ours must refuse that and disconnect (slave:
#              "peer moved tail beyond the buffers we gave", master: "peer
#              moved head beyond the ring"), report no other data-path fault,
#              not crash and leak nothing. Passes too if the peer never
#              overran (a fixed DPDK), and says so.
#
# Exit: 0 pass, 1 fail, 77 skipped (no dpdk-testpmd), 2 usage.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

parse_args "$@"
if [ "$ZERO_COPY" = 1 ] && [ "$ROLE" != master ]; then
	echo "--zero-copy needs --role master: net_memif supports zero copy as client only" >&2
	exit 2
fi
find_testpmd
setup_work

if [ "$ROLE" = slave ]; then DPDK_ROLE=server; else DPDK_ROLE=client; fi
echo "cell: dpdk scenario=$SCENARIO ours=$ROLE testpmd=$DPDK_ROLE zero-copy=$ZERO_COPY" \
	"socket=$SOCKKIND($SOCK_PATH)" \
	"mode=$MODE queues=$QUEUES sizes=$SIZES count=$COUNT secret='${SECRET}' peer-secret='${PEER_SECRET}'"

OURS_LOG="$WORK/ours.log"
rc=1
# Zero copy: let the library say which regions it mapped unsealed (warnings).
[ "$ZERO_COPY" = 1 ] && export MEMIF_LOG="${MEMIF_LOG:-2}"

fail() {
	echo "FAIL: $*"
	[ -f "$OURS_LOG" ] && show_log "memif_peer" "$OURS_LOG" 200
	for f in "$WORK"/testpmd-*.log; do [ -f "$f" ] && show_testpmd_log "$f"; done
	exit 1
}

# Start the listening side, then the connecting side.
# $1: extra memif_peer options; $2: testpmd tag
start_pair() {
	local extra=$1 tag=$2
	peer_args "$ROLE" "$MODE" "$SECRET" "$BUFSIZE"
	OURS_ARGS=("${PEER_ARGS[@]}")
	if [ "$ROLE" = slave ]; then
		start_testpmd server "$tag" "$PEER_SECRET"
		wait_for_listener "$LISTEN_NAME" 20 || fail "testpmd did not listen on $LISTEN_NAME"
		wait_testpmd_started 20 || fail "testpmd did not start forwarding"
		# shellcheck disable=SC2086
		start_peer "$OURS_LOG" "${OURS_ARGS[@]}" $extra
		OURS_PID=$LAST_PID
	else
		# shellcheck disable=SC2086
		start_peer "$OURS_LOG" "${OURS_ARGS[@]}" $extra
		OURS_PID=$LAST_PID
		wait_for_listener "$LISTEN_NAME" 10 || fail "memif_peer did not listen on $LISTEN_NAME"
		start_testpmd client "$tag" "$PEER_SECRET"
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
	echo "testpmd's view:"
	grep -E 'memif_msg|memif_disconnect|Disconnected' "$TESTPMD_LOG" | head -n 8
	;;
overrun)
	# testpmd's --txpkts takes segment lengths that fit one mbuf (2176
	# bytes): 9000 as a single length is refused and it falls back to 64.
	# shellcheck disable=SC2054 # the commas belong to --txpkts
	TESTPMD_FWD=(--forward-mode=txonly --txpkts=2048,2048,2048,2048,808 --burst=32)
	ours=(--sink --role "$ROLE" --socket "$SOCK_PATH" --id "$ID" --queues "$QUEUES"
		--mode "$MODE" --timeout "$TIMEOUT")
	[ -n "$SECRET" ] && ours+=(--secret "$SECRET")
	if [ "$ROLE" = slave ]; then
		start_testpmd server 1 "$PEER_SECRET"
		wait_for_listener "$LISTEN_NAME" 20 || fail "testpmd did not listen on $LISTEN_NAME"
		wait_testpmd_started 20 || fail "testpmd did not start forwarding"
		MEMIF_LOG="${MEMIF_LOG:-1}" start_peer "$OURS_LOG" "${ours[@]}"
		OURS_PID=$LAST_PID
		expected="peer moved tail beyond the buffers we gave"
	else
		MEMIF_LOG="${MEMIF_LOG:-1}" start_peer "$OURS_LOG" "${ours[@]}"
		OURS_PID=$LAST_PID
		wait_for_listener "$LISTEN_NAME" 10 || fail "memif_peer did not listen on $LISTEN_NAME"
		start_testpmd client 1 "$PEER_SECRET"
		expected="peer moved head beyond the ring"
	fi
	wait_pid "$OURS_PID" $((TIMEOUT + 10))
	rc=$WAIT_RC
	# The library logs each data-path fault once (MEMIF_LOG=1 above).
	overruns=$(grep -c -E "libmemif error: queue [0-9]+: $expected\$" "$OURS_LOG")
	# Any other data-path fault (tx.c, rx.c) would mean we read past the
	# overrun, or the peer broke something else.
	others=$(grep -E "libmemif error: queue [0-9]+: |EVENT error: '(peer moved|descriptor|NEXT chain)" \
		"$OURS_LOG" | grep -vF "$expected")
	frames=$(sed -n 's/^echo: received \([0-9]*\) frames.*/\1/p' "$OURS_LOG")
	[ "$rc" = 0 ] || fail "memif_peer --sink failed (exit status $rc)"
	echo "our $ROLE: received ${frames:-?} frames, refused $overruns overrun(s) ('$expected')"
	grep -E "libmemif error|EVENT (connected|disconnected|error)" "$OURS_LOG" | head -n 12
	if [ -n "$others" ]; then
		echo "$others"
		fail "a data-path fault other than the expected one"
	fi
	if [ -z "$frames" ] || [ "$frames" = 0 ]; then
		fail "no frame arrived from testpmd"
	fi
	if ! kill -0 "$TESTPMD_PID" 2>/dev/null; then
		echo "note: testpmd exited during the run (see its log below)"
		show_testpmd_log "$TESTPMD_LOG"
	fi
	if [ "$overruns" = 0 ]; then
		echo "note: testpmd never overran the ring this time (a fixed DPDK, or we kept" \
			"up): nothing to refuse"
	fi
	;;
reconnect)
	start_pair "--reconnect-test" 1
	wait_for_line "$OURS_LOG" 'EVENT traffic-running' 25 "$OURS_PID" ||
		fail "no traffic before the link loss"
	victim=$(testpmd_child "$TESTPMD_PID")
	[ -n "$victim" ] || fail "cannot find the testpmd process under pid $TESTPMD_PID"
	echo "killing testpmd (pid $victim) with SIGKILL mid-traffic"
	kill -KILL "$victim"
	wait_pid "$TESTPMD_PID" 5
	rm -rf "/var/run/dpdk/${PREFIXES[0]}"
	wait_for_line "$OURS_LOG" 'EVENT released' 15 "$OURS_PID" ||
		fail "our side did not report the disconnect and release the connection"
	if [ "$DPDK_ROLE" = server ] && [ "$SOCKKIND" = fs ] && [ -S "$SOCK_PATH" ]; then
		# A SIGKILLed server leaves its socket file behind, and a new
		# net_memif server fails on it ("Address already in use"): it does
		# not remove stale files. Remove it, as an operator would.
		echo "note: the killed testpmd left its socket file $SOCK_PATH: removing it"
		rm -f "$SOCK_PATH"
	fi
	echo "starting a new testpmd ($DPDK_ROLE)"
	if [ "$DPDK_ROLE" = server ]; then
		start_testpmd server 2 "$PEER_SECRET"
	else
		start_testpmd client 2 "$PEER_SECRET"
	fi
	wait_pid "$OURS_PID" $((TIMEOUT + 10))
	rc=$WAIT_RC
	;;
esac

cat "$OURS_LOG"
# Stop testpmd cleanly so that it prints its totals.
if [ -n "${TESTPMD_PID:-}" ] && kill -0 "$TESTPMD_PID" 2>/dev/null; then
	stop_pid "$TESTPMD_PID"
	# Its final totals read 0 once the link is down (net_memif resets its
	# counters on disconnect): show the last periodic (1 s) sample instead.
	echo "testpmd ($(basename "$TESTPMD_LOG")) last periodic statistics:"
	grep -E '^\s*(RX|TX)-packets: [0-9]+ +(RX-missed|TX-errors)' "$TESTPMD_LOG" | tail -n 2
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
	for f in "$WORK"/testpmd-*.log; do [ -f "$f" ] && show_testpmd_log "$f"; done
	echo "FAIL (memif_peer exit status $rc)"
	exit 1
fi
if [ "$SCENARIO" != refused ] && grep -q 'PEER BUG' "$OURS_LOG"; then
	echo "FAIL: peer bug observed (see PEER BUG lines)"
	exit 1
fi
if [ "$ZERO_COPY" = 1 ] && [ "$SCENARIO" = echo ]; then
	# Without zero copy net_memif sends one region (rings and buffers); with
	# it, region 0 (rings) and one per memory segment list: prove it did.
	regions=$(grep -m 1 -o ' regions=[0-9]*' "$OURS_LOG" | cut -d= -f2)
	if [ -z "$regions" ] || [ "$regions" -lt 2 ]; then
		echo "FAIL: testpmd did not run in zero-copy mode (regions='${regions}', expected >= 2)"
		exit 1
	fi
	echo "zero copy: testpmd sent $regions regions; unsealed ones, as our library reported them:"
	grep -E 'not sealed' "$OURS_LOG" | head -n 4
fi
echo "PASS"
exit 0
