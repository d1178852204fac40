#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/compare.sh - libmemif side by side with DPDK's memif driver, in one
# run on one machine, with the host's noise detected and the noisy runs re-run.
#
#   (a) throughput ours -> ours (memif-bench tx slave -> rx master) and
#       testpmd txonly -> testpmd rxonly, 64/1500/9000 bytes, burst 32,
#       one core per process, alternating repetitions, medians, ratio;
#   (b) ours <-> testpmd in both directions;
#   (c) latency: ping-pong round trip, ours in polling and interrupt mode, and
#       the bare eventfd round trip between two processes (the floor of
#       interrupt mode);
#   (d) scaling with 1, 2 and 4 queues (on 2 cores: queues share a core);
#   (e) receive modes side by side, same sender: polling, interrupt and
#       adaptive at full load (64, 1500 B), at offered loads of ping-pong
#       (1 k, 10 k and 100 k round trips/s, and on/off bursts: p50/p99 and the
#       echo side's CPU per frame) and idle (CPU); adaptive switching both
#       ways (traffic, pause, traffic: packets after the pause, MASK_INT seen
#       set and cleared); issue 21's verdicts (adaptive against the better of
#       interrupt and polling) as medians of paired ratios. --only rxm runs
#       this group alone and rewrites only its section of an existing report;
#   (f) zero copy: memif-bench tx --zero-copy (slave) vs testpmd txonly
#       zero-copy=yes (client), 64/1500/9000 bytes, and testpmd's zero-copy
#       client into our master;
#   (g) interfaces on one socket (1, 64, 1024): connect time for all, shared
#       memory and fds per interface (memif-scale; DPDK where it applies);
#   (h) with VPP 26.06 (test/interop/vpp_lib.sh finds it): VPP as the memif
#       master, polling on one core, its packet generator sending to
#       memif-bench rx and memif-bench tx sending into VPP, against testpmd
#       as the same VPP's peer; rates from VPP's counters, the peer's CPU per
#       packet, and what limits each figure (VPP's vectors per call, frames
#       it dropped at a full ring). --only vpp runs this group alone and
#       rewrites only its section of an existing report.
#
# Around every run: a cross-core cache-line ping-pong probe (eventfd-rtt
# --spin) before and after, a wait until the machine is idle before, and a
# sample of the run queue during. A run is flagged "slow" when a probe is
# above SLOW_FACTOR x the best probe seen, "busy" when other processes
# competed for the CPUs, "outlier" when its rate is below a third of the
# median of the case's earlier clean runs (a slow period between the two
# probes); flagged runs are re-run (up to --retries times) and
# never enter the medians while clean runs of the same case exist.
#
# Writes a Markdown report (default docs/performance.md) and plots
# (docs/img/perf-throughput.png, perf-latency.png, perf-rxmodes.png,
# perf-rxmodes-load.png) when gnuplot is installed.
#
# Usage: bench/compare.sh [--quick] [--bin-dir DIR] [--out FILE] [options]
# See --help. Run as root (testpmd without hugepages); dpdk-testpmd optional.
set -uo pipefail
exec </dev/null

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---- options ---------------------------------------------------------------

quick=0
bin_dir=""
out=""
reps=5
secs=3
warm=1
sizes="64 1500 9000"
queues="1 2 4"
lat_secs=3
lat_reps=3
mix_reps=3
scale_reps=3
retries=2
slow_factor=3
quiet_max=300
busy_limit=15
max_minutes=45
report_from=""
keep=0
no_dpdk=0
no_plot=0
rxm_reps=3
light_rate=10000
rxm_rates="1000 10000 100000"
rxm_onoff="0.002,0.018"
zc_sizes="64 1500 9000"
zc_reps=3
if_counts="1 64 1024"
if_reps=3
no_vpp=0
only=""
vpp_sizes="64 1500 9000"
vpp_reps=3

usage() {
	cat <<EOF
usage: bench/compare.sh [options]
  --quick            smoke run, about 1.5 min on a quiet machine: one repetition,
                     short runs, no re-runs; fails only if our own traffic does
                     not move or (library with adaptive mode) the adaptive
                     receiver does not switch both ways
  --bin-dir DIR      where memif-bench and eventfd-rtt are (default: build a
                     Release tree in build-perf/ and use it)
  --out FILE         the Markdown report (default docs/performance.md; plots go
                     to img/ beside it)
  --reps N           repetitions of each throughput case (default $reps)
  --secs S           seconds measured per throughput run (default $secs)
  --sizes "A B"      frame sizes (default "$sizes")
  --queues "A B"     queue counts for the scaling part (default "$queues")
  --lat-secs S       seconds per latency, light-load and idle run (default $lat_secs)
  --rxm-reps N       repetitions of each receive-mode case (default $rxm_reps)
  --rxm-rates "A B"  offered loads of the receive-mode part: ping-pong round
                     trips per second (default "$rxm_rates")
  --rxm-on-off ON,OFF  on/off bursts of the receive-mode part: back-to-back
                     round trips for ON s, silence for OFF s (default $rxm_onoff)
  --light-rate PPS   the load of issue 14's light-load verdicts (default
                     $light_rate; added to --rxm-rates if missing)
  --zc-sizes "A B"   frame sizes of the zero-copy part (default "$zc_sizes")
  --zc-reps N        repetitions of each zero-copy case (default $zc_reps)
  --if-counts "A B"  interface counts of the scale part (default "$if_counts")
  --if-reps N        repetitions of each scale case (default $if_reps)
  --retries N        re-runs of a flagged run (default $retries)
  --quiet-max S      wait at most S s for an idle machine before a run (default $quiet_max)
  --max-minutes M    after M minutes, stop waiting for idle and stop re-running
                     flagged runs: finish what is left as it comes (default $max_minutes)
  --vpp-sizes "A B"  frame sizes of the VPP part (default "$vpp_sizes")
  --vpp-reps N       repetitions of each VPP case (default $vpp_reps)
  --no-dpdk          skip every testpmd part
  --no-vpp           skip the VPP part (it is skipped anyway when no VPP is
                     found: see test/interop/vpp_lib.sh, MEMIF_VPP_DIR)
  --only vpp|rxm     run only the VPP part (vpp) or the receive-mode part
                     (rxm) and replace only its section of the existing
                     report (--out), keeping everything else
  --no-plot          no PNG
  --keep             keep the work directory with every log
  --report-from DIR  no measuring: rewrite the report and plots from the work
                     directory of an earlier run kept with --keep
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--bin-dir) bin_dir=$2; shift ;;
	--out) out=$2; shift ;;
	--reps) reps=$2; shift ;;
	--secs) secs=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	--queues) queues=$2; shift ;;
	--lat-secs) lat_secs=$2; shift ;;
	--rxm-reps) rxm_reps=$2; shift ;;
	--rxm-rates) rxm_rates=$2; shift ;;
	--rxm-on-off) rxm_onoff=$2; shift ;;
	--light-rate) light_rate=$2; shift ;;
	--zc-sizes) zc_sizes=$2; shift ;;
	--zc-reps) zc_reps=$2; shift ;;
	--if-counts) if_counts=$2; shift ;;
	--if-reps) if_reps=$2; shift ;;
	--vpp-sizes) vpp_sizes=$2; shift ;;
	--vpp-reps) vpp_reps=$2; shift ;;
	--no-vpp) no_vpp=1 ;;
	--only)
		case $2 in
		vpp | rxm) ;;
		*) echo "compare.sh: --only takes vpp or rxm (the groups that can run alone)" >&2; exit 2 ;;
		esac
		only=$2; shift ;;
	--retries) retries=$2; shift ;;
	--quiet-max) quiet_max=$2; shift ;;
	--max-minutes) max_minutes=$2; shift ;;
	--no-dpdk) no_dpdk=1 ;;
	--no-plot) no_plot=1 ;;
	--keep) keep=1 ;;
	--report-from) report_from=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	reps=1; secs=2; warm=0.5; sizes="64"; queues="1"; lat_secs=1; lat_reps=1
	mix_reps=1; scale_reps=1; retries=0; quiet_max=0
	rxm_reps=1; zc_sizes="64"; zc_reps=1; if_counts="1"; if_reps=1
	vpp_sizes="64"; vpp_reps=1; rxm_rates="$light_rate"
fi
[[ " $rxm_rates " == *" $light_rate "* ]] || rxm_rates="$rxm_rates $light_rate"
rxm_rates=$(tr ' ' '\n' <<<"$rxm_rates" | grep . | sort -n | tr '\n' ' ')
rxm_rates=${rxm_rates% }
# The VPP part's window: in a smoke run about 2 s per run, VPP's start included.
vpp_secs=$secs
vpp_warm=$warm
[ "$quick" = 1 ] && { vpp_secs=0.5; vpp_warm=0.2; }
[ -n "$out" ] || out="$root/docs/performance.md"

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---- tools -----------------------------------------------------------------

if [ -z "$bin_dir" ] && [ -n "$report_from" ]; then
	bin_dir=$(sed -n 's/^bin_dir=//p' "$report_from/meta.txt")
elif [ -z "$bin_dir" ]; then
	bin_dir="$root/build-perf/bench"
	log "building a Release tree in build-perf/"
	cmake -S "$root" -B "$root/build-perf" -DCMAKE_BUILD_TYPE=Release \
		-DMEMIF_BUILD_TESTS=OFF -DMEMIF_BUILD_EXAMPLES=OFF >/dev/null &&
		cmake --build "$root/build-perf" -j"$(nproc)" --target memif-bench eventfd-rtt memif-scale >/dev/null ||
		{ echo "compare.sh: build failed" >&2; exit 1; }
fi
bench="$bin_dir/memif-bench"
evrtt="$bin_dir/eventfd-rtt"
scale="$bin_dir/memif-scale"
for t in "$bench" "$evrtt" "$scale"; do
	[ -x "$t" ] || { echo "compare.sh: $t not found (build it, or pass --bin-dir)" >&2; exit 1; }
done

testpmd=""
if [ "$no_dpdk" = 0 ]; then
	testpmd=$(command -v dpdk-testpmd || true)
	if [ -z "$testpmd" ]; then
		log "dpdk-testpmd not installed: testpmd parts skipped"
	elif [ "$(id -u)" != 0 ]; then
		log "not root: testpmd (no hugepages) needs root; testpmd parts skipped"
		testpmd=""
	fi
fi

# The library's adaptive receive mode (MEMIF_HAVE_RX_MODE_ADAPTIVE): memif-bench
# offers -m adaptive only when it was built against a library that has it.
rx_modes="polling interrupt"
if "$bench" --help | grep -q 'interrupt|adaptive'; then
	rx_modes="polling interrupt adaptive"
else
	log "libmemif without MEMIF_RX_MODE_ADAPTIVE: adaptive rows skipped"
fi

ncpu=$(nproc)
cpu_rx=0
cpu_tx=$((ncpu > 1 ? 1 : 0))
[ "$ncpu" -gt 1 ] || log "one CPU only: both sides share CPU 0, figures are not comparable"

start_ts=$(date +%s)
if [ -n "$report_from" ]; then
	work=$report_from
	keep=1
else
	work=$(mktemp -d /tmp/memif-compare.XXXXXX)
fi
cur_tag=r0
declare -a run_labels run_cmds
results="$work/results.txt"   # one line per run: key=value ...
commands="$work/commands.txt" # the first command line of each kind
if [ -z "$report_from" ]; then
	: >"$results"
	: >"$commands"
fi
run_no=0
fail_ours=0
fail_switch=0
sampler_pid=""
srv_pid=""

cleanup() {
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
	vpp_leftovers
	if [ "$keep" = 1 ] || [ "$fail_ours" != 0 ]; then
		# The logs, not the 16 MB of VPP unpacked for the run.
		rm -rf "$work/vpp/vpp-runtime"
		log "logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The VPP part's runs start VPP and its peer inside measure's subshell, where
# vpp_lib.sh's table of instances does not reach this shell: each run lists
# its pids in $work/<run>.pids and removes the file once it has stopped them.
# A file left behind (the script was interrupted) names what to stop: only
# a process whose command line still names this work directory, so that a
# reused pid is never hit.
vpp_leftovers() {
	local f p
	for f in "$work"/r*.pids; do
		[ -f "$f" ] || continue
		while read -r p; do
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$work/" || continue
			kill -TERM "$p" 2>/dev/null
			sleep 0.2
			kill -KILL "$p" 2>/dev/null
		done <"$f"
		rm -f "$f"
	done
	declare -F vpp_stop_all >/dev/null && vpp_stop_all
	return 0
}

# VPP for the part (h): test/interop/vpp_lib.sh finds it (MEMIF_VPP_DIR,
# MEMIF_VPP_TARBALL or the 26.06 tarball beside the checkout, unpacked into
# the work directory). vpp_find exits 77 when there is none, so it is tried
# in a subshell first; then the unpacked copy is used as MEMIF_VPP_DIR.
vpp_ok=0
vpp_version=""
vpp_why=""
if [ -n "$report_from" ]; then
	:
elif [ "$no_vpp" = 1 ] || [ "$only" = rxm ]; then
	[ "$only" = rxm ] && vpp_why="--only rxm" || vpp_why="--no-vpp"
else
	# shellcheck source=../test/interop/vpp_lib.sh
	. "$root/test/interop/vpp_lib.sh"
	vpp_found=$(vpp_find "$work/vpp" && echo "found=$(dirname "$(dirname "$VPP_BIN")")")
	if [[ "$vpp_found" == *found=* ]]; then
		MEMIF_VPP_DIR=${vpp_found##*found=} vpp_find "$work/vpp"
		vpp_ok=1
		vpp_version=$(LD_LIBRARY_PATH=$VPP_LIBDIR "$VPP_BIN" --version 2>/dev/null | awk '{ print $2; exit }')
	else
		vpp_why=$(sed -n '1s/^skipped: //p' <<<"$vpp_found")
		log "VPP part skipped: ${vpp_why:-vpp_find failed}"
	fi
fi

# Remember how each kind of run was started (for the report).
note_cmd() { # kind, command line
	grep -q "^$1: " "$commands" || printf '%s: %s\n' "$1" "$2" >>"$commands"
}

field() { # key, line -> value (no fork: the report calls it thousands of times)
	local re="(^|[[:space:]])$1=([^[:space:]]*)"
	[[ " $2" =~ $re ]] && echo "${BASH_REMATCH[2]}"
	return 0
}

# ---- noise detection ---------------------------------------------------------

best_probe=""
probe_v=0

# Cache-line round trip between the two CPUs (median of batch means, ns) into
# probe_v; keeps best_probe. Not in a subshell: it updates globals.
probe() {
	local line v
	line=$("$evrtt" --spin -n 20000 -b 500 -C "$cpu_rx,$cpu_tx" 2>/dev/null | grep '^RESULT')
	v=$(field rtt_ns "$line")
	[ -n "$v" ] || v=0
	if [ "$v" -gt 0 ] && { [ -z "$best_probe" ] || [ "$v" -lt "$best_probe" ]; }; then
		best_probe=$v
	fi
	probe_v=$v
}

# Percentage of CPU time busy over 0.5 s (all CPUs).
busy_pct() {
	local a b
	read -r -a a </proc/stat
	sleep 0.5
	read -r -a b </proc/stat
	awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); t = 0
		for (i = 2; i <= n; i++) t += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6])
		printf "%d\n", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

over_budget() { [ $(($(date +%s) - start_ts)) -ge $((max_minutes * 60)) ]; }

# Wait until the machine is idle (other engineers' builds, tests...).
wait_quiet() {
	local waited=0 b
	while :; do
		b=$(busy_pct)
		[ "$b" -lt "$busy_limit" ] && return 0
		if [ "$waited" -ge "$quiet_max" ] || over_budget; then
			log "machine still ${b}% busy after ${waited}s: running anyway (run flagged)"
			return 1
		fi
		[ $((waited % 20)) = 0 ] && log "machine ${b}% busy: waiting for it to be idle"
		sleep 2
		waited=$((waited + 2))
	done
}

# Sample the run queue while a run goes on (procs_running, 5 Hz).
sampler_start() {
	local f=$1
	( while :; do
		while read -r k v; do
			[ "$k" = procs_running ] && { echo "$v" >>"$f"; break; }
		done </proc/stat
		sleep 0.2
	  done ) &
	sampler_pid=$!
}

# Mean number of runnable tasks beyond the `expected` ones (and the sampler).
sampler_stop() { # file, expected
	kill "$sampler_pid" 2>/dev/null
	wait "$sampler_pid" 2>/dev/null
	sampler_pid=""
	awk -v e="$2" '{ s += $1 - e - 1; n++ } END { printf "%.2f\n", n ? (s / n > 0 ? s / n : 0) : 0 }' "$1"
}

# ---- one run of each kind ------------------------------------------------------
# Each prints one line of key=value pairs (empty on failure).

sock_wait() { # path, pid: wait for a listening socket file
	for _ in $(seq 1 200); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_pid() { # pid [signal]: ask, then insist; only our own children
	local p=$1 sig=${2:-INT}
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
	kill -"$sig" "$p" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

testpmd_cmd() { # prefix, cpu, role, socket, fwd-mode, size [zc]
	local prefix=$1 cpu=$2 role=$3 sock=$4 fwd=$5 size=$6 zc=${7:-0} extra="" vzc="" eal=""
	if [ "$fwd" = txonly ]; then
		extra="--txpkts=$size --burst=32"
		# One mbuf per frame: the data room must hold it (memif chains it).
		[ "$size" -gt 2048 ] && extra="--mbuf-size=$((size + 344)) $extra"
	fi
	# Zero copy (client only): net_memif passes DPDK's own memory as
	# regions, which must be memfds: one file per segment list.
	[ "$zc" = 1 ] && { vzc=",zero-copy=yes"; eal=" --single-file-segments"; }
	# timeout: a safety net, nothing outlives the script for long.
	echo "timeout -s INT $((secs + 60)) $testpmd --lcores (0,1)@$cpu --no-huge -m 512 --no-pci$eal --file-prefix=$prefix" \
		"--vdev=net_memif0,role=$role,socket=$sock,socket-abstract=no$vzc" \
		"-- --forward-mode=$fwd $extra --auto-start --no-mlockall" \
		"--total-num-mbufs=16384 --stats-period=1"
}

# Mean Rx-pps of a testpmd log: skip the zero samples before traffic and the
# first sample with traffic (a partial second), then take up to $2 samples.
testpmd_pps() { # log, samples, key (Rx-pps|Tx-pps)
	grep -o "$3: *[0-9]*" "$1" | awk -v want="$2" '{ v = $2 + 0
		if (!started) { if (v > 0) started = 1; next }
		if (n < want && v > 0) { s += v; n++ } }
		END { if (n) printf "%.0f %d\n", s / n, n; else print "0 0" }'
}

# The two sides of a run talk over $work/$tag.sock; the server (the side that
# listens) starts first. Each side writes to $work/$tag.<name>.log.

# Start the server in the background and wait until it listens (srv_pid).
# Returns 1, the server stopped, when it does not.
srv_start() { # name command...
	local name=$1
	shift
	"$@" >"$work/$cur_tag.$name.log" 2>&1 &
	srv_pid=$!
	sock_wait "$work/$cur_tag.sock" "$srv_pid" || { stop_pid "$srv_pid"; return 1; }
}

# The client runs in the background until the server has run its course;
# then the client is stopped.
cli_while_srv() { # name command...
	local name=$1 pid
	shift
	"$@" >"$work/$cur_tag.$name.log" 2>&1 &
	pid=$!
	wait "$srv_pid"
	stop_pid "$pid"
}

# The client runs its course; then the server gets up to `tenths` x 0.1 s
# to end on its own (and report) before it is stopped.
cli_then_srv() { # name tenths command...
	local name=$1 n=$2
	shift 2
	"$@" >"$work/$cur_tag.$name.log" 2>&1
	for _ in $(seq 1 "$n"); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$srv_pid"
}

# Did traffic move, by a memif-bench RESULT line?
moved() { [ "$(field pps "$1")" != "" ] && [ "$(field pps "$1")" != 0 ]; }

# The round-trip figures of a memif-bench ping or eventfd-rtt RESULT line.
lat_of() { echo "p50=$(field p50_ns "$1") p99=$(field p99_ns "$1") p999=$(field p999_ns "$1") samples=$(field samples "$1")"; }

ours_tt() { # size queues [rx mode [sender options...]]
	local size=$1 q=$2 m=${3:-polling} tag sock rx tx line kind="${tt_kind:-}ours->ours"
	shift 2
	[ $# -gt 0 ] && shift
	tag=$cur_tag
	sock="$work/$tag.sock"
	rx=("$bench" rx --role master --socket "$sock" --size "$size" --burst 32 --queues "$q"
		--mode "$m" --duration "$secs" --warmup "$warm" --cpu "$cpu_rx" --wait 15 --quiet)
	tx=("$bench" tx --role slave --socket "$sock" --size "$size" --burst 32 --queues "$q"
		--duration "$(awk -v s="$secs" -v w="$warm" 'BEGIN { print s + w + 5 }')"
		--cpu "$cpu_tx" --quiet "$@")
	[ "$m" != polling ] && kind="${tt_kind:-}ours->ours $m"
	[ $# -gt 0 ] && kind="$kind ($*)"
	note_cmd "$kind rx" "${rx[*]}"
	note_cmd "$kind tx" "${tx[*]}"
	srv_start rx "${rx[@]}" || return
	cli_while_srv tx timeout -s INT $((secs + 30)) "${tx[@]}"
	line=$(grep '^RESULT' "$work/$tag.rx.log")
	moved "$line" && echo "pps=$(field pps "$line") gbps=$(field gbps "$line") pkts=$(field pkts "$line") cpu=$(field cpu_pct "$line") cpu_ns=$(field cpu_ns_pkt "$line") thr_cpu=$(field thr_cpu_pct "$line") masked=$(field masked_pct "$line")"
}

# testpmd -> testpmd, or mixed. $1 = tx impl, $2 = rx impl (ours|dpdk)
mixed_tt() { # txim rxim size [zc: testpmd's tx client in zero-copy mode]
	local txim=$1 rxim=$2 size=$3 zc=${4:-0} tag sock pfx txpid line pps n cmd
	tag=$cur_tag
	sock="$work/$tag.sock"
	pfx="mcmp$$-$tag"
	# The receiver is the master (server) and starts first; the DPDK client
	# connects only once, when its port starts.
	if [ "$rxim" = dpdk ]; then
		cmd=$(testpmd_cmd "$pfx-rx" "$cpu_rx" server "$sock" rxonly "$size")
		note_cmd "$txim->dpdk rx" "$cmd"
		# shellcheck disable=SC2086
		srv_start rx $cmd || { rm -rf "/var/run/dpdk/$pfx-rx"; return; }
	else
		# ours as the slave receiver of a testpmd txonly server
		cmd=$(testpmd_cmd "$pfx-tx" "$cpu_tx" server "$sock" txonly "$size")
		note_cmd "dpdk->ours tx" "$cmd"
		# shellcheck disable=SC2086
		srv_start tx $cmd || { rm -rf "/var/run/dpdk/$pfx-tx"; return; }
		local rx=("$bench" rx --role slave --socket "$sock" --size "$size" --burst 32
			--duration "$secs" --warmup "$warm" --cpu "$cpu_rx" --wait 15 --quiet)
		note_cmd "dpdk->ours rx" "${rx[*]}"
		cli_then_srv rx 0 timeout -s INT $((secs + 30)) "${rx[@]}"
		rm -rf "/var/run/dpdk/$pfx-tx"
		line=$(grep '^RESULT' "$work/$tag.rx.log")
		moved "$line" && echo "pps=$(field pps "$line") gbps=$(field gbps "$line")"
		return
	fi
	if [ "$txim" = dpdk ]; then
		cmd=$(testpmd_cmd "$pfx-tx" "$cpu_tx" client "$sock" txonly "$size" "$zc")
		note_cmd "dpdk->dpdk tx$([ "$zc" = 1 ] && echo " zero-copy")" "$cmd"
		# shellcheck disable=SC2086
		$cmd >"$work/$tag.tx.log" 2>&1 &
		txpid=$!
	else
		local tx=("$bench" tx --role slave --socket "$sock" --size "$size" --burst 32
			--duration $((secs + 10)) --cpu "$cpu_tx" --quiet)
		note_cmd "ours->dpdk tx" "${tx[*]}"
		"${tx[@]}" >"$work/$tag.tx.log" 2>&1 &
		txpid=$!
	fi
	# The first sample with traffic may be partial and is skipped; testpmd's
	# stats period drifts past 1 s: run secs + 4.5 s for secs full samples.
	sleep "$(awk -v s="$secs" 'BEGIN { print s + 4.5 }')"
	stop_pid "$srv_pid"
	stop_pid "$txpid"
	rm -rf "/var/run/dpdk/$pfx-rx" "/var/run/dpdk/$pfx-tx"
	read -r pps n < <(testpmd_pps "$work/$tag.rx.log" "$secs" Rx-pps)
	[ "${n:-0}" -gt 0 ] && [ "${pps:-0}" -gt 0 ] &&
		echo "pps=$pps gbps=$(awk -v p="$pps" -v s="$size" 'BEGIN { printf "%.3f", p * s * 8 / 1e9 }') samples=$n"
}

ours_ping() { # polling|interrupt
	local m=$1 tag sock line
	tag=$cur_tag
	sock="$work/$tag.sock"
	local echo_cmd=("$bench" echo --role master --socket "$sock" --size 64 --mode "$m"
		--duration 0 --cpu "$cpu_rx" --wait 15 --quiet)
	local ping_cmd=("$bench" ping --role slave --socket "$sock" --size 64 --burst 1 --mode "$m"
		--duration "$lat_secs" --delay 0.2 --cpu "$cpu_tx" --quiet)
	note_cmd "ping $m echo" "${echo_cmd[*]}"
	note_cmd "ping $m ping" "${ping_cmd[*]}"
	srv_start echo "${echo_cmd[@]}" || return
	cli_then_srv ping 0 timeout -s INT $((lat_secs + 30)) "${ping_cmd[@]}"
	line=$(grep '^RESULT' "$work/$tag.ping.log")
	[ -n "$line" ] && [ "$(field samples "$line")" -gt 0 ] 2>/dev/null && lat_of "$line"
}

efd_floor() { # "" | --epoll
	local tag line n opt=${1:-}
	tag=$cur_tag
	n=$((lat_secs * 8000))
	local cmd=("$evrtt" -n "$n" -C "$cpu_tx,$cpu_rx")
	[ -n "$opt" ] && cmd+=("$opt")
	note_cmd "eventfd${opt:+ $opt}" "${cmd[*]}"
	timeout $((lat_secs * 30 + 30)) "${cmd[@]}" >"$work/$tag.efd.log" 2>&1
	line=$(grep '^RESULT' "$work/$tag.efd.log")
	[ -n "$line" ] && lat_of "$line"
}

# An offered load of round trips: ping paced at `rate` round trips/s (0:
# back to back), or on/off bursts of back-to-back round trips, against echo,
# both in receive mode $1; the echo side is the receiver whose CPU is
# reported, over its whole run (pauses included). At low rates a run lasts
# long enough for 5000 round trips, so that p99 rests on 50 of them.
ours_rt() { # mode rate [on,off]
	local m=$1 r=$2 oo=${3:-} tag sock line eline dur kind
	tag=$cur_tag
	sock="$work/$tag.sock"
	dur=$(awk -v s="$lat_secs" -v r="$r" 'BEGIN { d = r > 0 ? 5000 / r : 0; print (d > s ? d : s) }')
	local echo_cmd=("$bench" echo --role master --socket "$sock" --size 64 --mode "$m"
		--duration 0 --cpu "$cpu_rx" --wait 15 --quiet)
	local ping_cmd=("$bench" ping --role slave --socket "$sock" --size 64 --burst 1 --mode "$m"
		--duration "$dur" --delay 0.2 --cpu "$cpu_tx" --quiet)
	if [ -n "$oo" ]; then
		ping_cmd+=(--on-off "$oo")
		kind="rxm on/off $m"
	else
		[ "$r" -gt 0 ] && ping_cmd+=(--rate "$r")
		kind="rxm $r/s $m"
	fi
	note_cmd "$kind echo" "${echo_cmd[*]}"
	note_cmd "$kind ping" "${ping_cmd[*]}"
	srv_start echo "${echo_cmd[@]}" || return
	# echo ends when ping leaves; its CPU covers link up to then.
	cli_then_srv ping 50 timeout -s INT "$(awk -v d="$dur" 'BEGIN { printf "%d", d + 30 }')" "${ping_cmd[@]}"
	line=$(grep '^RESULT' "$work/$tag.ping.log")
	eline=$(grep '^RESULT' "$work/$tag.echo.log")
	[ -n "$line" ] && [ "$(field samples "$line")" -gt 0 ] 2>/dev/null &&
		echo "$(lat_of "$line") rtps=$(field pps "$line") cpu=$(field cpu_pct "$eline") cpu_ns=$(field cpu_ns_pkt "$eline") thr_cpu=$(field thr_cpu_pct "$eline") masked=$(field masked_pct "$eline") ping_cpu=$(field cpu_pct "$line")"
}

# Idle: the link is up and nothing is sent; the receiver's CPU.
ours_idle() { # mode
	local m=$1 tag sock line
	tag=$cur_tag
	sock="$work/$tag.sock"
	local rx=("$bench" rx --idle --role master --socket "$sock" --mode "$m" --duration "$lat_secs"
		--warmup "$warm" --cpu "$cpu_rx" --wait 15 --quiet)
	local tx=("$bench" tx --idle --role slave --socket "$sock"
		--duration "$(awk -v s="$lat_secs" -v w="$warm" 'BEGIN { print s + w + 5 }')"
		--cpu "$cpu_tx" --quiet)
	note_cmd "rxm idle $m rx" "${rx[*]}"
	note_cmd "rxm idle $m tx" "${tx[*]}"
	srv_start rx "${rx[@]}" || return
	cli_while_srv tx timeout -s INT $((lat_secs + 30)) "${tx[@]}"
	line=$(grep '^RESULT' "$work/$tag.rx.log")
	[ -n "$(field cpu_pct "$line")" ] && [ "$(field cpu_pct "$line")" != - ] &&
		echo "cpu=$(field cpu_pct "$line") thr_cpu=$(field thr_cpu_pct "$line") masked=$(field masked_pct "$line") pkts=$(field pkts "$line")"
}

# Adaptive switching both ways: the sender alternates 0.4 s of full-rate
# traffic and 0.4 s of silence for 2 s; the adaptive receiver must get
# packets after a pause (it slept and was woken: resumes) and its ring's
# MASK_INT must be seen set (traffic) and cleared (pause). Prints the
# result with ok=1|0.
ours_switch() {
	local tag sock line res rs tm tu pk
	tag=$cur_tag
	sock="$work/$tag.sock"
	local rx=("$bench" rx --role master --socket "$sock" --mode adaptive --duration 0
		--cpu "$cpu_rx" --wait 15 --quiet)
	local tx=("$bench" tx --role slave --socket "$sock" --on-off "0.4,0.4" --duration 2
		--cpu "$cpu_tx" --quiet)
	note_cmd "rxm switch rx" "${rx[*]}"
	note_cmd "rxm switch tx" "${tx[*]}"
	srv_start rx "${rx[@]}" || return
	cli_then_srv tx 50 timeout -s INT 30 "${tx[@]}"
	line=$(grep '^RESULT' "$work/$tag.rx.log")
	[ -n "$line" ] || return
	pk=$(field pkts "$line"); rs=$(field resumes "$line")
	tm=$(field to_masked "$line"); tu=$(field to_unmasked "$line")
	res=0
	[ "${pk:-0}" -gt 0 ] && [ "${rs:-0}" -ge 1 ] && [ "${tm:-0}" -ge 1 ] && [ "${tu:-0}" -ge 1 ] && res=1
	echo "pkts=$pk resumes=$rs to_masked=$tm to_unmasked=$tu masked=$(field masked_pct "$line") ok=$res"
}

# testpmd's zero-copy client (txonly) into our master (memif-bench rx): needs
# our master to take DPDK's regions, which cannot be sealed.
dpdk_zc_ours() { # size
	local size=$1 tag sock pfx line cmd
	tag=$cur_tag
	sock="$work/$tag.sock"
	pfx="mcmp$$-$tag"
	local rx=("$bench" rx --role master --socket "$sock" --size "$size" --burst 32
		--duration "$secs" --warmup "$warm" --cpu "$cpu_rx" --wait 15 --quiet)
	note_cmd "dpdk zero-copy->ours rx" "${rx[*]}"
	srv_start rx "${rx[@]}" || return
	cmd=$(testpmd_cmd "$pfx-tx" "$cpu_tx" client "$sock" txonly "$size" 1)
	note_cmd "dpdk zero-copy->ours tx" "$cmd"
	# shellcheck disable=SC2086
	cli_while_srv tx $cmd
	rm -rf "/var/run/dpdk/$pfx-tx"
	line=$(grep '^RESULT' "$work/$tag.rx.log")
	moved "$line" && echo "pps=$(field pps "$line") gbps=$(field gbps "$line")"
}

# N interfaces on one socket. ours: memif-scale master and slave, the
# slave's connect time (from its first memif_create to all connected), shared
# memory per interface (both sides map the same regions) and each side's fds
# per interface. dpdk: testpmd as the client of one interface of our master
# (net_memif ports are ethdev ports, at most RTE_MAX_ETHPORTS per process):
# the shared memory of DPDK's layout as our master sees it.
if_scale() { # impl count
	local impl=$1 n=$2 tag sock spid mline sline cmd pfx
	tag=$cur_tag
	sock="$work/$tag.sock"
	pfx="mcmp$$-$tag"
	local m=("$scale" --role master --socket "$sock" --count "$n" --wait 60)
	note_cmd "scale master" "${m[*]}"
	srv_start m "${m[@]}" || return
	if [ "$impl" = ours ]; then
		local sl=("$scale" --role slave --socket "$sock" --count "$n" --hold 0.2 --wait 60)
		note_cmd "scale slave" "${sl[*]}"
		cli_then_srv s 100 timeout -s INT 90 "${sl[@]}"
		mline=$(grep '^RESULT' "$work/$tag.m.log")
		sline=$(grep '^RESULT' "$work/$tag.s.log")
		[ -n "$sline" ] && [ -n "$mline" ] &&
			echo "connect_ms=$(field connect_ms "$sline") shm=$(field shm_per_if "$sline") fds_slave=$(field fds_per_if "$sline") fds_master=$(field fds_per_if "$mline") regions=$(field regions_per_if "$sline")"
		return
	fi
	cmd="timeout -s INT 60 $testpmd --lcores (0,1)@$cpu_tx --no-huge -m 512 --no-pci --file-prefix=$pfx --vdev=net_memif0,role=client,id=0,socket=$sock,socket-abstract=no -- --forward-mode=rxonly --auto-start --no-mlockall --total-num-mbufs=16384 --stats-period=1"
	note_cmd "scale dpdk client" "$cmd"
	# shellcheck disable=SC2086
	$cmd >"$work/$tag.s.log" 2>&1 &
	spid=$!
	for _ in $(seq 1 300); do
		grep -q '^RESULT' "$work/$tag.m.log" && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$spid"
	rm -rf "/var/run/dpdk/$pfx"
	stop_pid "$srv_pid"
	mline=$(grep '^RESULT' "$work/$tag.m.log")
	[ -n "$mline" ] &&
		echo "shm=$(field shm_per_if "$mline") fds_master=$(field fds_per_if "$mline") regions=$(field regions_per_if "$mline")"
}

# ---- with VPP (h) ----------------------------------------------------------------
# VPP is the memif master (it listens), as it usually is deployed; the peer,
# memif-bench or testpmd, is its slave (client) with the slave's defaults
# (1024-slot rings, 2048-byte buffers). VPP polls on CPU $cpu_rx, its main
# thread only (no workers); the peer runs on CPU $cpu_tx. One VPP per run,
# started and stopped inside it: the probes around a run must not see it.

# An Ethernet/IPv4/UDP frame of `size` bytes (192.0.2.1 -> 192.0.2.2, port
# 1234 -> 5678, zeros after the headers), as hex for VPP's packet generator.
vpp_frame_hex() { # size
	local n=$1 h
	h=$(printf '0200000000020200000000010800''4500%04x000000004011''0000c0000201c0000202''04d2162e%04x0000' \
		$((n - 14)) $((n - 34)))
	printf '%s%0*d' "$h" $((2 * n - ${#h})) 0
}

# CPU ticks (user + system) of a process so far; 0 once it is gone.
proc_ticks() { # pid
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	st=${st##*) }
	awk '{ print $12 + $13 }' <<<"$st"
}

# The figures of one `show runtime` taken `clear runtime` + the window later:
# the window length in VPP's clock (input vectors over the input rate it
# prints, five digits), the frames its memif node passed in that window,
# that node's vectors per call, and (VPP sending) the frames offered to the
# interface, of which memif1/0-tx passed only those the ring had room for
# (the rest VPP drops as "no free tx slots" or "no enough space in tx
# buffers").
vpp_runtime_figures() { # file dir
	awk -v dir="$2" '
		/vector rates in/ { for (i = 1; i <= NF; i++) if ($i == "in") { r = $(i + 1); sub(/,$/, "", r); rate = r + 0 } }
		$1 == "pg-input" || $1 == "memif-input" { inv += $(NF - 3) }
		$1 == "memif-input" { rxv = $(NF - 3); rxc = $(NF - 4) }
		$1 == "memif1/0-output" { offv = $(NF - 3) }
		$1 == "memif1/0-tx" { txv = $(NF - 3); txc = $(NF - 4) }
		END {
			if (rate <= 0 || inv <= 0) exit
			t = inv / rate
			if (dir == "vpp-peer") {
				if (txv <= 0) exit
				printf "pps=%.0f vpc=%.1f offered=%.0f ringfull=%.2f win=%.3f\n", txv / t, txc ? txv / txc : 0,
					offv / t, offv ? 100 * (offv - txv) / offv : 0, t
			} else {
				if (rxv <= 0) exit
				printf "pps=%.0f vpc=%.1f win=%.3f\n", rxv / t, rxc ? rxv / rxc : 0, t
			}
		}' "$1"
}

# The end of a VPP run: the peer stopped (SIGINT: it reports), then VPP.
vpp_tt_end() { # tag peer-pid|"" dpdk-prefix
	[ -n "$2" ] && stop_pid "$2"
	vpp_stop "$1"
	rm -rf "/var/run/dpdk/$3" "$work/$1.pids"
}

# One run with VPP: `vpp-peer`, VPP's packet generator (unlimited rate) into
# the peer's receiver, or `peer-vpp`, the peer's sender into VPP, which
# drops every frame (ethernet-input: not its MAC). After `warm` s of
# traffic: clear VPP's counters, wait `secs` s, read them (show runtime,
# interface, errors: all kept in $work). Prints VPP's rate (pps), the
# peer's own count (peer_pps), the peer's and VPP's CPU over the window and
# the peer's CPU per frame VPP counted, VPP's vectors per call of its memif
# node and, VPP sending, the share it dropped at a full ring; stolen=1 (a
# busy run for measure) when either side had less than 90 % of its core.
vpp_tt() { # vpp-peer|peer-vpp ours|dpdk size
	local dir=$1 impl=$2 size=$3 tag=$cur_tag sock pfx kind ppid="" cpid="" cmd line
	local t0 t1 c0 c1 v0 v1 figs peer_pps="" tck own_ns=""
	sock="$work/$tag.sock"
	pfx="mcmp$$-$tag"
	[ "$dir" = vpp-peer ] && kind="vpp->$impl" || kind="$impl->vpp"
	vpp_start "$tag" "cpu { main-core $cpu_rx }" >"$work/$tag.vpp-start.log" 2>&1 || return
	echo "$VPP_PID" >"$work/$tag.pids"
	note_cmd "vpp startup.conf" "$(tr '\n' ' ' <"$VPP_DIR/startup.conf")"
	if ! { vppctl create memif socket id 1 filename "$sock" &&
		vppctl create interface memif id 0 socket-id 1 master &&
		vppctl set interface state memif1/0 up; } >"$work/$tag.vpp-cli.log" 2>&1; then
		vpp_tt_end "$tag" "$ppid" "$pfx"
		return
	fi
	note_cmd "vpp cli" "create memif socket id 1 filename SOCK; create interface memif id 0 socket-id 1 master; set interface state memif1/0 up"
	if [ "$dir" = vpp-peer ]; then
		# Straight into the interface's output node: pg-input ->
		# memif1/0-output -> memif1/0-tx, the shortest path VPP has.
		cmd="packet-generator new { name gen limit 0 size $size-$size node memif1/0 data { hex 0x$(vpp_frame_hex "$size") } }"
		note_cmd "vpp cli (vpp->peer)" "${cmd%%data*}data { hex 0x<Ethernet/IPv4/UDP frame> } }; packet-generator enable-stream gen"
		vppctl "$cmd" >>"$work/$tag.vpp-cli.log" 2>&1 || { vpp_tt_end "$tag" "" "$pfx"; return; }
		if [ "$impl" = ours ]; then
			# --duration 0: until stopped, so its count covers VPP's window.
			local rx=("$bench" rx --role slave --socket "$sock" --size "$size" --burst 32
				--duration 0 --warmup "$vpp_warm" --cpu "$cpu_tx" --wait 15 --quiet)
			note_cmd "$kind rx" "${rx[*]}"
			"${rx[@]}" >"$work/$tag.peer.log" 2>&1 &
		else
			cmd=$(testpmd_cmd "$pfx" "$cpu_tx" client "$sock" rxonly "$size")
			note_cmd "$kind rx" "$cmd"
			# shellcheck disable=SC2086
			$cmd >"$work/$tag.peer.log" 2>&1 &
		fi
	else
		if [ "$impl" = ours ]; then
			local tx=("$bench" tx --role slave --socket "$sock" --size "$size" --burst 32
				--duration 0 --cpu "$cpu_tx" --quiet)
			note_cmd "$kind tx" "${tx[*]}"
			"${tx[@]}" >"$work/$tag.peer.log" 2>&1 &
		else
			cmd=$(testpmd_cmd "$pfx" "$cpu_tx" client "$sock" txonly "$size")
			note_cmd "$kind tx" "$cmd"
			# shellcheck disable=SC2086
			$cmd >"$work/$tag.peer.log" 2>&1 &
		fi
	fi
	ppid=$!
	echo "$ppid" >>"$work/$tag.pids"
	if ! vpp_wait_connected memif1/0 15; then
		vppctl show memif >>"$work/$tag.vpp-cli.log" 2>&1
		vpp_tt_end "$tag" "$ppid" "$pfx"
		return
	fi
	cpid=$ppid
	if [ "$impl" = dpdk ]; then # testpmd runs under timeout
		cpid=$(pgrep -P "$ppid" | head -n 1)
		[ -n "$cpid" ] || cpid=$ppid
	fi
	[ "$dir" = vpp-peer ] && vppctl packet-generator enable-stream gen >>"$work/$tag.vpp-cli.log" 2>&1
	sleep "$vpp_warm"
	# Runtime counters last: their window is the one used.
	vppctl clear errors >/dev/null
	vppctl clear interfaces >/dev/null
	vppctl clear runtime >/dev/null
	t0=$(date +%s%N); v0=$(proc_ticks "$VPP_PID"); c0=$(proc_ticks "$cpid")
	sleep "$vpp_secs"
	t1=$(date +%s%N); v1=$(proc_ticks "$VPP_PID"); c1=$(proc_ticks "$cpid")
	vppctl show runtime >"$work/$tag.vpp-runtime.txt" 2>&1
	vppctl show interface >"$work/$tag.vpp-interface.txt" 2>&1
	vppctl show errors >"$work/$tag.vpp-errors.txt" 2>&1
	vpp_tt_end "$tag" "$ppid" "$pfx"
	figs=$(vpp_runtime_figures "$work/$tag.vpp-runtime.txt" "$dir")
	[ -n "$figs" ] || return
	if [ "$impl" = ours ]; then
		line=$(grep '^RESULT' "$work/$tag.peer.log")
		moved "$line" || return
		peer_pps=$(field pps "$line")
		own_ns=$(field cpu_ns_pkt "$line")
	else
		read -r peer_pps _ < <(testpmd_pps "$work/$tag.peer.log" 1000 \
			"$([ "$dir" = vpp-peer ] && echo Rx-pps || echo Tx-pps)")
	fi
	tck=$(getconf CLK_TCK)
	awk -v f="$figs" -v pp="$peer_pps" -v own="$own_ns" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
		-v v0="$v0" -v v1="$v1" -v hz="$tck" 'BEGIN {
		w = (t1 - t0) / 1e9
		n = split(f, kv, /[ =]/)
		for (i = 1; i < n; i += 2) if (kv[i] == "pps") pps = kv[i + 1]
		cpu = 100 * (c1 - c0) / hz / w
		vcpu = 100 * (v1 - v0) / hz / w
		# Both poll: less than 90 % of a core means the host ran
		# something else there (another vCPU state, a stolen slice).
		printf "%s peer_pps=%s cpu=%.1f cpu_ns=%.1f vpp_cpu=%.1f%s stolen=%d\n", f, pp, cpu,
			(pps > 0 ? cpu / 100 * 1e9 / pps : 0), vcpu, (own != "" ? " own_cpu_ns=" own : ""),
			(cpu < 90 || vcpu < 90)
	}'
}

# ---- the measuring wrapper -------------------------------------------------------

# Is this pps (labels given) below a third of the median of the case's
# earlier clean runs (at least two)? The host can turn slow and fast again
# between two probes; such a run looks clean but is not.
outlier() { # labels pps
	local key
	key=$(sed 's/ rep=[0-9]*//' <<<"$1")
	[ -n "$2" ] || return 1
	awk -v key="$key" -v pps="$2" '
		{ lab = $0; sub(/ tag=.*/, "", lab); sub(/ rep=[0-9]+/, "", lab) }
		lab == key && / status=ok / {
			for (i = 1; i <= NF; i++) if ($i ~ /^pps=/) { split($i, kv, "="); v[n++] = kv[2] + 0 }
		}
		END {
			if (n < 2) exit 1
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			exit !(pps * 3 < m)
		}' "$results"
}

# measure "key=value labels" expected_busy_threads command...
# Runs the command with probes around it; re-runs flagged runs.
measure() {
	local labels=$1 expect=$2
	shift 2
	local attempt=0 pb pa others res status quiet limit
	while :; do
		quiet=1
		wait_quiet || quiet=0
		probe
		pb=$probe_v
		run_no=$((run_no + 1))
		cur_tag="r$run_no"
		sampler_start "$work/sampler.$run_no"
		res=$("$@")
		others=$(sampler_stop "$work/sampler.$run_no" "$expect")
		rm -f "$work/sampler.$run_no"
		probe
		pa=$probe_v
		limit=$((${best_probe:-0} * slow_factor))
		[ "$limit" -gt 0 ] || limit=999999999
		status=ok
		if [ -z "$res" ]; then
			status=failed
		elif [ "$pb" -gt "$limit" ] || [ "$pa" -gt "$limit" ]; then
			status=slow
		elif [ "$quiet" = 0 ] || awk -v o="$others" 'BEGIN { exit !(o > 0.5) }' ||
			[ "$(field stolen "$res")" = 1 ]; then
			status=busy
		elif outlier "$labels" "$(field pps "$res")"; then
			status=outlier
		fi
		run_labels[$run_no]=$labels
		run_cmds[$run_no]="$expect $*"
		echo "$labels tag=$cur_tag $res probe_before=$pb probe_after=$pa others=$others status=$status attempt=$attempt" >>"$results"
		log "$labels: ${res:-no result} | probe ${pb}/${pa} ns (best $best_probe), others $others -> $status"
		[ "$status" = ok ] && return 0
		if [ "$attempt" -ge "$retries" ] || over_budget; then
			[ "$status" = failed ] && return 2
			return 1
		fi
		attempt=$((attempt + 1))
		if [ "$status" = slow ] || [ "$status" = outlier ]; then
			log "$status run: re-running in 10 s"
			sleep 10
		fi
	done
}

# measure a run of our own: when it gives no result even re-run, the
# script fails.
measure_ours() { # as measure
	measure "$@"
	[ $? = 2 ] && fail_ours=1
}

# ABAB...: ours first in odd repetitions, DPDK first in even ones.
ab_order() { [ $(($1 % 2)) = 0 ] && echo "dpdk ours" || echo "ours dpdk"; }

# The words after the first, rotated left by (rep - 1).
rotate() { # rep words...
	local k=$((($1 - 1) % ($# - 1))) i
	shift
	local w=("$@")
	for i in $(seq 0 $((${#w[@]} - 1))); do
		printf '%s ' "${w[$(((i + k) % ${#w[@]}))]}"
	done
}

# Threads expected busy in a ping-pong run: polling echo spins (and ping while
# it waits); adaptive may spin on both sides at 50 k round trips/s and more,
# or back to back (rate 0); interrupt mode runs one side at a time.
rt_busy() { # mode rate
	if [ "$1" = polling ] || { [ "$1" = adaptive ] && { [ "$2" = 0 ] || [ "$2" -ge 50000 ]; }; }; then
		echo 2
	else
		echo 1
	fi
}

# ---- the run ---------------------------------------------------------------------

if [ -n "$report_from" ]; then
	# shellcheck disable=SC1091
	. "$work/meta.txt"
	log "report from the runs in $work"
else
# The library measured: as the tree is now (it is built from it).
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src include 2>/dev/null | grep -q . && echo " + uncommitted changes in src/ or include/" || true)
log "work directory $work; CPUs rx=$cpu_rx tx=$cpu_tx; testpmd: ${testpmd:-none}"
probe; probe; probe
log "cache-line probe, best of 3: $best_probe ns"

if [ "$only" = vpp ] && [ "$vpp_ok" != 1 ]; then
	echo "skipped: --only vpp: ${vpp_why:-no VPP found}"
	exit 77
fi
if [ -z "$only" ]; then
log "(a) throughput: ours->ours vs testpmd->testpmd"
for rep in $(seq 1 "$reps"); do
	for size in $sizes; do
		for impl in $(ab_order "$rep"); do
			if [ "$impl" = ours ]; then
				measure_ours "sec=tput impl=ours size=$size rep=$rep" 2 ours_tt "$size" 1
			elif [ -n "$testpmd" ]; then
				measure "sec=tput impl=dpdk size=$size rep=$rep" 2 mixed_tt dpdk dpdk "$size"
			fi
		done
	done
done

if [ -n "$testpmd" ]; then
	log "(b) interop: ours <-> testpmd"
	for rep in $(seq 1 "$mix_reps"); do
		for size in $sizes; do
			measure "sec=mix dir=ours-dpdk size=$size rep=$rep" 2 mixed_tt ours dpdk "$size"
			measure "sec=mix dir=dpdk-ours size=$size rep=$rep" 2 mixed_tt dpdk ours "$size"
		done
	done
fi

log "(c) latency: ping-pong and the eventfd floor"
for rep in $(seq 1 "$lat_reps"); do
	# In a ping-pong one of the two processes is always runnable: expect 1.
	measure "sec=lat case=efd rep=$rep" 1 efd_floor ""
	measure "sec=lat case=efd-epoll rep=$rep" 1 efd_floor --epoll
	measure_ours "sec=lat case=interrupt rep=$rep" 1 ours_ping interrupt
	measure_ours "sec=lat case=polling rep=$rep" 2 ours_ping polling
done

log "(d) scaling with queues (64 bytes)"
for rep in $(seq 1 "$scale_reps"); do
	for q in $queues; do
		# Every queue thread of both processes is runnable: expect 2 x q.
		measure_ours "sec=scale queues=$q rep=$rep" $((2 * q)) ours_tt 64 "$q"
	done
done

fi # not --only
if [ -z "$only" ] || [ "$only" = rxm ]; then
log "(e) receive modes: $rx_modes; round trips at ${rxm_rates// / and }/s and on/off $rxm_onoff"
tt_kind="rxm "
for rep in $(seq 1 "$rxm_reps"); do
	# The modes in turn, starting one further each repetition: a drift of
	# the host does not always hit the same mode first.
	order=$(rotate "$rep" $rx_modes)
	for size in 64 1500; do
		[ "$quick" = 1 ] && [ "$size" != 64 ] && continue
		for m in $order; do
			# Sender and receiver both busy at full load.
			measure_ours "sec=rxm load=full mode=$m size=$size rep=$rep" 2 ours_tt "$size" 1 "$m"
		done
	done
	for r in $rxm_rates; do
		for m in $order; do
			# Polling echo spins; adaptive may spin on both sides once
			# round trips come faster than a wake-up; else one side
			# at a time.
			measure_ours "sec=rxm load=light rate=$r mode=$m rep=$rep" "$(rt_busy "$m" "$r")" ours_rt "$m" "$r"
		done
	done
	for m in $order; do
		measure_ours "sec=rxm load=onoff mode=$m rep=$rep" "$(rt_busy "$m" 0)" ours_rt "$m" 0 "$rxm_onoff"
	done
	for m in $order; do
		measure_ours "sec=rxm load=idle mode=$m rep=$rep" "$([ "$m" = polling ] && echo 1 || echo 0)" ours_idle "$m"
	done
done
tt_kind=""
if [[ " $rx_modes " == *" adaptive "* ]]; then
	measure "sec=switch rep=1" 2 ours_switch
	[ $? = 2 ] && fail_switch=1
	grep 'sec=switch ' "$results" | grep -q ' ok=1 ' || fail_switch=1
fi
fi # receive modes
if [ -z "$only" ]; then
log "(f) zero copy: ours vs testpmd"
for rep in $(seq 1 "$zc_reps"); do
	for size in $zc_sizes; do
		for impl in $(ab_order "$rep"); do
			if [ "$impl" = ours ]; then
				measure_ours "sec=zc impl=ours size=$size rep=$rep" 2 ours_tt "$size" 1 polling --zero-copy
			elif [ -n "$testpmd" ]; then
				measure "sec=zc impl=dpdk size=$size rep=$rep" 2 mixed_tt dpdk dpdk "$size" 1
			fi
		done
		[ -n "$testpmd" ] &&
			measure "sec=zc impl=dpdk-ours size=$size rep=$rep" 2 dpdk_zc_ours "$size"
	done
done

log "(g) interfaces on one socket: $if_counts"
for rep in $(seq 1 "$if_reps"); do
	for n in $if_counts; do
		measure_ours "sec=ifscale impl=ours count=$n rep=$rep" 1 if_scale ours "$n"
	done
	# DPDK: one interface only (see if_scale).
	[ -n "$testpmd" ] && [[ " $if_counts " == *" 1 "* ]] &&
		measure "sec=ifscale impl=dpdk count=1 rep=$rep" 1 if_scale dpdk 1
done
fi # not --only

if [ "$vpp_ok" = 1 ] && { [ -z "$only" ] || [ "$only" = vpp ]; }; then
	# VPP polls on one core and the peer on the other: expect 2. The smoke
	# run checks our side only (VPP -> ours, ours -> VPP).
	log "(h) with VPP $vpp_version: VPP -> peer and peer -> VPP, ours vs testpmd"
	for rep in $(seq 1 "$vpp_reps"); do
		for size in $vpp_sizes; do
			for dir in vpp-peer peer-vpp; do
				for impl in $(ab_order "$rep"); do
					if [ "$impl" = ours ]; then
						measure_ours "sec=vpp dir=$dir impl=ours size=$size rep=$rep" 2 vpp_tt "$dir" ours "$size"
					elif [ -n "$testpmd" ] && [ "$quick" = 0 ]; then
						measure "sec=vpp dir=$dir impl=dpdk size=$size rep=$rep" 2 vpp_tt "$dir" dpdk "$size"
					fi
				done
			done
		done
	done
fi
end_ts=$(date +%s)

# A run that looked fine against the best probe known then may not against
# the best of the whole session: re-check.
awk -v best="$best_probe" -v f="$slow_factor" '{
	pb = pa = 0
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "probe_before") pb = kv[2]
		if (kv[1] == "probe_after") pa = kv[2]
	}
	if ($0 ~ /status=ok/ && (pb > best * f || pa > best * f)) sub(/status=ok/, "status=slow-late")
	print }' "$results" >"$results.tmp" && mv "$results.tmp" "$results"

# Runs judged against a best probe that later proved slow (the session started
# in a slow period) are re-run once, if the budget allows.
for tag in $(sed -n 's/.* tag=r\([0-9]*\) .*status=slow-late.*/\1/p' "$results"); do
	over_budget && break
	lab=${run_labels[$tag]:-}
	[ -n "$lab" ] || continue
	log "re-running $lab (its probes were slow against the session's best)"
	# shellcheck disable=SC2086
	measure "$lab" ${run_cmds[$tag]}
done
end_ts=$(date +%s)
printf 'commit=%q\ndirty=%q\n' "$commit" "$dirty" >"$work/meta.txt"
printf 'start_ts=%s\nend_ts=%s\nbest_probe=%s\nbin_dir=%s\ntestpmd=%s\nquick=%s\nreps=%s\nsecs=%s\nwarm=%s\nsizes="%s"\nqueues="%s"\nlat_secs=%s\nlat_reps=%s\nmix_reps=%s\nretries=%s\n' \
	"$start_ts" "$end_ts" "$best_probe" "$bin_dir" "$testpmd" "$quick" "$reps" "$secs" "$warm" \
	"$sizes" "$queues" "$lat_secs" "$lat_reps" "$mix_reps" "$retries" >>"$work/meta.txt"
printf 'only=%s\nvpp_ok=%s\nvpp_version=%q\nvpp_why=%q\nvpp_sizes="%s"\nvpp_reps=%s\nvpp_secs=%s\nvpp_warm=%s\n' \
	"$only" "$vpp_ok" "$vpp_version" "$vpp_why" "$vpp_sizes" "$vpp_reps" "$vpp_secs" "$vpp_warm" >>"$work/meta.txt"
printf 'rx_modes="%s"\nrxm_reps=%s\nlight_rate=%s\nrxm_rates="%s"\nrxm_onoff=%s\nzc_sizes="%s"\nzc_reps=%s\nif_counts="%s"\nif_reps=%s\nfail_switch=%s\n' \
	"$rx_modes" "$rxm_reps" "$light_rate" "$rxm_rates" "$rxm_onoff" "$zc_sizes" "$zc_reps" "$if_counts" "$if_reps" \
	"$fail_switch" >>"$work/meta.txt"
fi # not --report-from

# ---- statistics -----------------------------------------------------------------

# stat FILTER KEY -> "median min max n flag" over clean runs (flag "*" when
# only flagged runs exist and those were used).
stat() {
	local filter=$1 key=$2 vals flag=""
	vals=$(grep -E "$filter" "$results" | grep 'status=ok ' | while read -r l; do field "$key" "$l"; done | grep -v '^$')
	if [ -z "$vals" ]; then
		vals=$(grep -E "$filter" "$results" | grep -v 'status=failed' | while read -r l; do field "$key" "$l"; done | grep -v '^$')
		flag="*"
	fi
	[ -n "$vals" ] || { echo "- - - 0 -"; return; }
	sort -g <<<"$vals" | awk -v flag="$flag" '{ a[NR] = $1 } END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%s %s %s %d %s\n", m, a[1], a[NR], NR, flag == "" ? "-" : flag }'
}

mpps() { awk -v v="$1" 'BEGIN { if (v == "-") print "–"; else printf "%.2f", v / 1e6 }'; }
# "median (min–max, n=N)" or "–" when no run gave a value.
cell() { # median min max n flag
	if [ "$4" = 0 ]; then echo "– (no result)"; return; fi
	local f=$5
	[ "$f" = "-" ] && f=""
	echo "$(mpps "$1")$f ($(mpps "$2")–$(mpps "$3"), n=$4)"
}
usec() { awk -v v="$1" 'BEGIN { if (v == "-") print "–"; else printf "%.1f", v / 1e3 }'; }
# A number with `d` decimals, "–" when missing.
num() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v == "-" || v == "") print "–"; else printf "%.*f", d, v }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "–"; else printf "%.2f", v / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "–"; else printf "%.2f", a / b }'; }
# Verdict against a target (ratios of medians).
verdict() { # value, target, "ge"|"le"
	awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN {
		if (v == "–" || v == "") { print "not measured"; exit }
		ok = d == "ge" ? v >= t : v <= t
		print ok ? "**met**" : "**not met**" }'
}
# A row: the ratio of two cases' medians of `key` against the target.
verdict_row() { # target text, case, reference case, key, target, "ge"|"le"
	local a b r
	read -r a _ _ _ _ < <(stat "$2" "$4")
	read -r b _ _ _ _ < <(stat "$3" "$4")
	r=$(ratio "$a" "$b")
	echo "| $1 | $r | $(verdict "$r" "$5" "$6") |"
}

# ---- the receive-mode section -----------------------------------------------------
# Written between markers, like the VPP section: a full run puts it in the
# report, --only rxm puts it in place of the existing one (and its plots).

rxm_cmd_re='^rxm '

# Paired ratio over repetitions: A's KEY / B's KEY, each repetition's A and B
# measured next to each other, so that a drift of the host hits both. Per
# case and repetition the clean run counts (the last flagged one if there is
# none). -> "median min max n flag"
paired() { # caseA caseB key
	awk -v fa="$1" -v fb="$2" -v key="$3" '
		function get(k,   i, kv) {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] }
			return ""
		}
		function take(side,   r, v, ok) {
			r = get("rep"); v = get(key); ok = / status=ok /
			if (v == "" || v == "-" || / status=failed /) return
			if (ok || !((side, r) in good)) { val[side, r] = v; if (ok) good[side, r] = 1 }
		}
		index($0, fa) == 1 { take("a") }
		index($0, fb) == 1 { take("b") }
		END {
			for (k in val) {
				split(k, p, SUBSEP)
				if (p[1] != "a" || !(("b", p[2]) in val) || val["b", p[2]] + 0 == 0) continue
				x[++n] = val["a", p[2]] / val["b", p[2]]
				if (!(("a", p[2]) in good) || !(("b", p[2]) in good)) flag = "*"
			}
			if (!n) { print "- - - 0 -"; exit }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
			m = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
			printf "%.4f %.4f %.4f %d %s\n", m, x[1], x[n], n, flag == "" ? "-" : flag
		}' "$results"
}

# A verdict row from a paired ratio: "| text | median (min–max, n) | verdict |";
# target "-" reports the ratio without judging it.
paired_row() { # text caseA caseB key target ge|le
	local m lo hi n fl
	read -r m lo hi n fl < <(paired "$2" "$3" "$4")
	[ "$fl" = "-" ] && fl=""
	if [ "$n" = 0 ]; then
		echo "| $1 | – | not measured |"
	elif [ "$5" = - ]; then
		echo "| $1 | $(num "$m" 2)$fl ($(num "$lo" 2)–$(num "$hi" 2), n=$n) | reported |"
	else
		echo "| $1 | $(num "$m" 2)$fl ($(num "$lo" 2)–$(num "$hi" 2), n=$n) | $(verdict "$(num "$m" 2)" "$5" "$6") |"
	fi
}

# The name of an offered load: 10000 -> "10 k round trips/s".
load_name() { # rate | onoff
	if [ "$1" = onoff ]; then
		echo "on/off (${rxm_onoff%,*} s on, ${rxm_onoff#*,} s off)"
	else
		awk -v r="$1" 'BEGIN { if (r >= 1000 && r % 1000 == 0) printf "%d k round trips/s\n", r / 1000; else printf "%d round trips/s\n", r }'
	fi
}

rxm_case() { # rate|onoff mode -> the labels of that case
	[ "$1" = onoff ] && echo "sec=rxm load=onoff mode=$2 " || echo "sec=rxm load=light rate=$1 mode=$2 "
}

rxm_section() {
	local size m pm om omin omax on ofl c cn mk r lc rt n fl p50 p99 p999 l lab val ic v k row
	echo "<!-- rxm:begin -->"
	echo "## Receive modes: polling, interrupt, adaptive"
	echo
	if [ "$only" = rxm ]; then
		echo "This section alone was measured by \`bench/compare.sh --only rxm\` on $(date -u -d "@$start_ts" '+%Y-%m-%d %H:%M UTC')"
		echo "($(( (end_ts - start_ts) / 60 )) min $(( (end_ts - start_ts) % 60 )) s, library at commit \`$commit\`$dirty); the rest of the page"
		echo "comes from the run named at the top."
	else
		echo "Measured in the same run as the rest of this page."
	fi
	echo
	echo "The same sender for every mode; only the receiver's \`--mode\` changes. **Polling** spins on"
	echo "\`memif_rx_burst\`; **interrupt** waits in \`epoll_wait\` on the queue's eventfd and then calls"
	echo "\`memif_rx_burst\` until it returns SUCCESS (ring drained); **adaptive**"
	echo "(\`MEMIF_RX_MODE_ADAPTIVE\`) is the same application loop, and the library decides from the"
	echo "traffic whether to behave as interrupt mode or to mask the sender's interrupts and keep the"
	echo "eventfd set, so that the loop spins ([event-loop.md](event-loop.md#adaptive-mode))."
	echo "CPU is the receiving process's user + system time (\`getrusage\`) over the measured interval,"
	echo "in % of one core (its control thread included); CPU per frame is that time over the frames"
	echo "it handled. *MASK_INT* is the share of 10 ms samples in which the receive ring asked the"
	echo "sender not to signal. $rxm_reps runs per case, the modes in turn (each repetition starts"
	echo "with the next mode); tables give medians, verdicts the median over the repetitions of the"
	echo "ratio of two modes measured next to each other (min–max beside it)."
	[[ " $rx_modes " == *" adaptive "* ]] || echo "
(The library measured has no adaptive mode: its rows are empty.)"
	echo
	echo "| target (issue 21: adaptive never worse than the better of interrupt and polling) | measured | |"
	echo "| --- | ---: | --- |"
	for size in 64 1500; do
		paired_row "full load, $size B: adaptive / polling rate ≥ 0.95" \
			"sec=rxm load=full mode=adaptive size=$size " "sec=rxm load=full mode=polling size=$size " pps 0.95 ge
	done
	read -r ic _ _ _ _ < <(stat "sec=rxm load=idle mode=adaptive " cpu)
	v=$(num "$ic" 2)
	echo "| idle: adaptive receiver CPU ≤ 1 % of a core | $v % | $(verdict "$v" 1 le) |"
	for r in $rxm_rates onoff; do
		paired_row "$(load_name "$r"): adaptive / interrupt CPU per frame ≤ 1.1" \
			"$(rxm_case "$r" adaptive)" "$(rxm_case "$r" interrupt)" cpu_ns 1.1 le
		paired_row "$(load_name "$r"): adaptive / interrupt p99 round trip ≤ 1.0" \
			"$(rxm_case "$r" adaptive)" "$(rxm_case "$r" interrupt)" p99 1.0 le
	done
	for r in $rxm_rates onoff; do
		paired_row "$(load_name "$r"), 64 B: adaptive / polling p50 round trip" \
			"$(rxm_case "$r" adaptive)" "$(rxm_case "$r" polling)" p50 - -
	done
	echo
	echo "| target (issue 14) | measured | |"
	echo "| --- | ---: | --- |"
	for size in 64 1500; do
		verdict_row "adaptive / polling rate at $size B, full load ≥ 0.90" \
			"sec=rxm load=full mode=adaptive size=$size " "sec=rxm load=full mode=polling size=$size " pps 0.90 ge
	done
	echo "| adaptive receiver idle: CPU ≤ 1 % of a core (≈ 0) | $v % | $(verdict "$v" 1 le) |"
	verdict_row "light load ($light_rate/s): adaptive CPU per packet ≤ 0.1 × polling's" \
		"$(rxm_case "$light_rate" adaptive)" "$(rxm_case "$light_rate" polling)" cpu_ns 0.1 le
	verdict_row "light load: adaptive p99 round trip ≤ interrupt's" \
		"$(rxm_case "$light_rate" adaptive)" "$(rxm_case "$light_rate" interrupt)" p99 1.0 le
	echo
	echo "### Full load: \`memif-bench tx\` (slave, unthrottled) → \`memif-bench rx\` (master)"
	echo
	echo "| frame | mode | Mpps (min–max) | vs polling | receiver CPU % | CPU ns/pkt | MASK_INT set |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
	for size in 64 1500; do
		read -r pm _ _ _ _ < <(stat "sec=rxm load=full mode=polling size=$size " pps)
		for m in polling interrupt adaptive; do
			read -r om omin omax on ofl < <(stat "sec=rxm load=full mode=$m size=$size " pps)
			read -r c _ _ _ _ < <(stat "sec=rxm load=full mode=$m size=$size " cpu)
			read -r cn _ _ _ _ < <(stat "sec=rxm load=full mode=$m size=$size " cpu_ns)
			read -r mk _ _ _ _ < <(stat "sec=rxm load=full mode=$m size=$size " masked)
			echo "| $size B | $m | $(cell "$om" "$omin" "$omax" "$on" "${ofl:--}") | $(ratio "$om" "$pm") | $(num "$c") | $(num "$cn") | $(num "$mk" 0) % |"
		done
	done
	echo
	echo "### Offered loads: ping-pong round trips, 64-byte frames"
	echo
	echo "\`memif-bench ping --rate R\` (slave) sends one frame every 1/R s (sleeping in"
	echo "\`clock_nanosleep\` in between) and waits for \`memif-bench echo\` (master) to return it; a round"
	echo "trip that comes back late sends the next at once, without catching up, so a mode whose round"
	echo "trip is longer than 1/R makes fewer (the round trips/s column). **on/off**: \`--on-off"
	echo "$rxm_onoff\`, round trips back to back for ${rxm_onoff%,*} s, then ${rxm_onoff#*,} s of silence. Both sides run in"
	echo "the mode of the row; a run lasts ${lat_secs} s, or longer where 5000 round trips at the offered rate"
	echo "take longer (1 k/s: 5 s). CPU is the echo side's over its whole run (link up to the end,"
	echo "pauses included), per frame echoed."
	echo
	echo "| load | mode | round trips/s | p50 µs | p99 µs | p99.9 µs | echo CPU % | CPU µs/frame | MASK_INT set |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for r in $rxm_rates onoff; do
		row="$r"
		[ "$r" = onoff ] && row=0
		for m in polling interrupt adaptive; do
			lc=$(rxm_case "$r" "$m")
			read -r rt _ _ n fl < <(stat "$lc" rtps)
			read -r p50 _ _ _ _ < <(stat "$lc" p50)
			read -r p99 _ _ _ _ < <(stat "$lc" p99)
			read -r p999 _ _ _ _ < <(stat "$lc" p999)
			read -r c _ _ _ _ < <(stat "$lc" cpu)
			read -r cn _ _ _ _ < <(stat "$lc" cpu_ns)
			read -r mk _ _ _ _ < <(stat "$lc" masked)
			[ "$fl" = "-" ] && fl=""
			echo "| $(load_name "$r") | $m | $(num "$rt" 0)$fl | $(usec "$p50") | $(usec "$p99") | $(usec "$p999") | $(num "$c") | $(usec "$cn") | $(num "$mk" 0) % |"
			row="$row $(awk -v a="$cn" -v b="$p99" 'BEGIN { printf "%s %s", a == "-" ? -1 : a / 1e3, b == "-" ? -1 : b / 1e3 }')"
		done
		[ "$r" != onoff ] && echo "$row" >>"$rxm_load_dat"
	done
	echo
	echo "### Idle: link up, nothing sent"
	echo
	echo "\`memif-bench rx --idle\` (master) against \`memif-bench tx --idle\` (slave), ${lat_secs} s measured."
	echo "The process figure includes memif-bench's own control thread (a 100 ms timer tick); the"
	echo "data thread is the receive loop alone."
	echo
	echo "| mode | receiver CPU % (process) | data thread CPU % |"
	echo "| --- | ---: | ---: |"
	for m in polling interrupt adaptive; do
		read -r c _ _ n fl < <(stat "sec=rxm load=idle mode=$m " cpu)
		read -r tc _ _ _ _ < <(stat "sec=rxm load=idle mode=$m " thr_cpu)
		[ "$fl" = "-" ] && fl=""
		echo "| $m | $(num "$c" 2)$fl | $(num "$tc" 2) |"
	done
	echo
	if grep -q 'sec=switch ' "$results"; then
		swl=$(grep 'sec=switch ' "$results" | grep ' ok=1 ' | tail -n1)
		[ -n "$swl" ] || swl=$(grep 'sec=switch ' "$results" | tail -n1)
		echo "**Switching both ways** (adaptive receiver; the sender alternates 0.4 s at full rate and 0.4 s"
		echo "of silence for 2 s): $(field pkts "$swl") packets, traffic resumed after a pause"
		echo "$(field resumes "$swl") times, MASK_INT seen set $(field to_masked "$swl") and cleared"
		echo "$(field to_unmasked "$swl") times: **$([ "$(field ok "$swl")" = 1 ] && echo passed || echo failed)**."
		echo
	fi
	for m in polling interrupt adaptive; do
		row="$m"
		for k in "load=full mode=$m size=64 :pps" "load=full mode=$m size=1500 :pps" \
			"load=full mode=$m size=64 :cpu" "load=full mode=$m size=1500 :cpu" \
			"load=light rate=$light_rate mode=$m :cpu" "load=idle mode=$m :cpu"; do
			read -r v _ _ _ _ < <(stat "sec=rxm ${k%:*}" "${k##*:}")
			# Missing: 0 for a rate, -1 for a CPU figure (0 % is a result).
			case ${k##*:} in
			pps) row="$row $(awk -v v="$v" 'BEGIN { print v == "-" ? 0 : v / 1e6 }')" ;;
			*) row="$row $(awk -v v="$v" 'BEGIN { print v == "-" ? -1 : v }')" ;;
			esac
		done
		echo "$row" >>"$rxm_dat"
	done
	if [ "$no_plot" = 0 ] && command -v gnuplot >/dev/null; then
		echo "![receive modes](img/perf-rxmodes.png)"
		echo
		echo "![receive modes against the offered load](img/perf-rxmodes-load.png)"
		echo
	fi
	echo "Runs, with probes and flags as in [Noise](#noise):"
	echo
	echo "| run | result | probe before / after (ns) | other runnable tasks | status |"
	echo "| --- | --- | ---: | ---: | --- |"
	grep -E 'sec=(rxm|switch) ' "$results" | while read -r l; do
		lab=$(sed 's/ tag=.*//; s/sec=//' <<<"$l")
		val=$(field pps "$l")
		if [ -n "$val" ]; then val="$(mpps "$val") Mpps"; else v=$(field p50 "$l"); val=${v:+p50 $(usec "$v") µs}; fi
		if [ -z "$val" ] && [ -n "$(field cpu "$l")" ]; then val="CPU $(field cpu "$l") %"; fi
		if [ -z "$val" ] && [ -n "$(field resumes "$l")" ]; then val="resumes $(field resumes "$l"), ok=$(field ok "$l")"; fi
		echo "| $lab | ${val:-–} | $(field probe_before "$l") / $(field probe_after "$l") | $(field others "$l") | $(field status "$l") |"
	done
	echo
	echo "Commands, exactly as run (temporary socket paths in a work directory):"
	echo
	echo '```'
	grep -E "$rxm_cmd_re" "$commands"
	echo '```'
	echo
	echo "Only this section again: \`sudo bench/compare.sh --only rxm\` (about $(( (rxm_reps * (3 * ($(wc -w <<<"$rxm_rates") + 3 + 2)) * 6 + 59) / 60 )) min without re-runs;"
	echo "\`--keep\` keeps the work directory, from which \`--report-from DIR\` rewrites the section)."
	echo "<!-- rxm:end -->"
}

# The receive-mode plots: bars (full load rate, CPU by load) and curves
# (CPU per frame and p99 against the offered load, one line per mode).
rxm_plots() {
	[ "$no_plot" = 0 ] && command -v gnuplot >/dev/null || return 0
	mkdir -p "$img_dir"
	gnuplot <<GP 2>"$work/gnuplot-rxm.err" || log "gnuplot failed: $(cat "$work/gnuplot-rxm.err")"
set terminal pngcairo size 1300,600 font "DejaVu Sans,12"
set output "$plot_rxm"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics nomirror
set multiplot layout 1,2 title "receive modes, same sender, one core per process (medians)"
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xtics ("polling" 0, "interrupt" 1, "adaptive" 2)
set title "full-load rate"
set ylabel "million frames per second"
plot "$rxm_dat" using 2 title "64 B" lc rgb "#1f77b4", \\
     ''         using 3 title "1500 B" lc rgb "#ff7f0e", \\
     ''         using (\$0 - 1.0/6):(\$2 > 0 ? \$2 : 1/0):(sprintf("%.1f", \$2)) with labels offset 0,0.8 font ",10" notitle, \\
     ''         using (\$0 + 1.0/6):(\$3 > 0 ? \$3 : 1/0):(sprintf("%.1f", \$3)) with labels offset 0,0.8 font ",10" notitle
set title "receiver CPU (% of one core)"
set ylabel "% of one core"
set yrange [0:*]
plot "$rxm_dat" using (\$4 > 0 ? \$4 : 0) title "full 64 B" lc rgb "#1f77b4", \\
     ''         using (\$5 > 0 ? \$5 : 0) title "full 1500 B" lc rgb "#ff7f0e", \\
     ''         using (\$6 > 0 ? \$6 : 0) title "$light_rate round trips/s" lc rgb "#2ca02c", \\
     ''         using (\$7 > 0 ? \$7 : 0) title "idle" lc rgb "#7f7f7f", \\
     ''         using (\$0 - 0.3):(\$4 >= 0 ? \$4 : 1/0):(sprintf("%.0f", \$4)) with labels offset 0,0.8 font ",9" notitle, \\
     ''         using (\$0 - 0.1):(\$5 >= 0 ? \$5 : 1/0):(sprintf("%.0f", \$5)) with labels offset 0,0.8 font ",9" notitle, \\
     ''         using (\$0 + 0.1):(\$6 >= 0 ? \$6 : 1/0):(sprintf("%.1f", \$6)) with labels offset 0,0.8 font ",9" notitle, \\
     ''         using (\$0 + 0.3):(\$7 >= 0 ? \$7 : 1/0):(sprintf("%.1f", \$7)) with labels offset 0,0.8 font ",9" notitle
unset multiplot
set output "$plot_rxm_load"
set multiplot layout 1,2 title "ping-pong at an offered load, 64-byte frames, both sides in the same mode (medians)"
set style data linespoints
set offsets 0, 0, 0, 0
set logscale xy
set xrange [$(awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%g:%g", lo * 0.6, hi * 1.6 }' "$rxm_load_dat")]
set xtics auto
set format x "%.0s%c"
set xlabel "offered round trips per second"
set key top right
set yrange [*:*]
set title "echo CPU per frame"
set ylabel "µs of CPU per frame"
plot "$rxm_load_dat" using 1:(\$2 > 0 ? \$2 : 1/0) title "polling" lw 2 pt 7 lc rgb "#1f77b4", \\
     ''              using 1:(\$4 > 0 ? \$4 : 1/0) title "interrupt" lw 2 pt 5 lc rgb "#d62728", \\
     ''              using 1:(\$6 > 0 ? \$6 : 1/0) title "adaptive" lw 2 pt 9 lc rgb "#2ca02c"
set title "p99 round trip"
set ylabel "µs"
plot "$rxm_load_dat" using 1:(\$3 > 0 ? \$3 : 1/0) title "polling" lw 2 pt 7 lc rgb "#1f77b4", \\
     ''              using 1:(\$5 > 0 ? \$5 : 1/0) title "interrupt" lw 2 pt 5 lc rgb "#d62728", \\
     ''              using 1:(\$7 > 0 ? \$7 : 1/0) title "adaptive" lw 2 pt 9 lc rgb "#2ca02c"
unset multiplot
GP
}

# Put a section (file) that --only NAME wrote in place of the report's own,
# between its <!-- NAME:begin --> and <!-- NAME:end --> lines; in a report
# without them, before the first heading that matches BEFORE (an awk
# regex), or at the end; a new report when there is none.
section_merge() { # name section-file report before-re
	if [ ! -f "$3" ]; then
		{ echo "# Performance"; echo; cat "$2"; } >"$3.tmp"
	elif grep -qF "<!-- $1:begin -->" "$3"; then
		awk -v f="$2" -v b="<!-- $1:begin -->" -v e="<!-- $1:end -->" '
			index($0, b) { while ((getline l < f) > 0) print l; skip = 1; next }
			index($0, e) { skip = 0; next }
			!skip' "$3" >"$3.tmp"
	else
		awk -v f="$2" -v before="$4" '
			function put(  l) { while ((getline l < f) > 0) print l; done = 1 }
			!done && $0 ~ before { put(); print "" }
			{ print }
			END { if (!done) { print ""; put() } }' "$3" >"$3.tmp"
	fi
	mv "$3.tmp" "$3"
}

# ---- the VPP section ------------------------------------------------------------
# Written between markers: a full run puts it in the report, --only vpp puts
# it in place of the existing one and leaves the rest of the page alone.

vpp_cmd_re='^(vpp[ -]|[a-z]+->vpp)'

# What limits one case, from the medians of VPP's figures.
vpp_limit() { # dir peer-name vectors/call ringfull% vpp-cpu%
	awk -v d="$1" -v p="$2" -v vpc="$3" -v rf="$4" -v vc="$5" 'BEGIN {
		if (vpc == "-" || vpc == "") { print "–"; exit }
		if (vc != "-" && vc < 90) { printf "the host: VPP had %.0f %% of its core\n", vc; exit }
		if (d == "vpp-peer") {
			if (rf >= 10) printf "**%s**, receiving: the ring was full, VPP dropped %.1f %% of what it generated\n", p, rf
			else if (rf >= 1) printf "**%s**, just: the ring filled now and then, VPP generated only %.1f %% more than it took\n", p, 100 * rf / (100 - rf)
			else printf "**VPP** (one core generating and copying; the ring never full, %.1f %% dropped)\n", rf
		} else if (vpc >= 224) printf "**VPP** (one core): a full vector (%.0f of 256) every poll, the ring stays full\n", vpc
		else if (vpc < 128) printf "**%s**, sending: VPP found %.0f frames per poll of 256 and had cycles to spare\n", p, vpc
		else printf "both near their limit: VPP took %.0f frames per poll of 256\n", vpc
	}'
}

vpp_section() {
	local v size dir d dn om omin omax on ofl dm dmin dmax dpn dfl oc dc impl pn vc vpc rf pp n fl l lab val
	echo "<!-- vpp:begin -->"
	v=${vpp_version#v}
	v=${v%-release}
	echo "## With VPP${v:+ $v}: ours vs DPDK as the memif peer of the same VPP"
	echo
	if [ "$only" = vpp ]; then
		echo "This section alone was measured by \`bench/compare.sh --only vpp\` on $(date -u -d "@$start_ts" '+%Y-%m-%d %H:%M UTC')"
		echo "($(( (end_ts - start_ts) / 60 )) min $(( (end_ts - start_ts) % 60 )) s, library at commit \`$commit\`$dirty, VPP \`$vpp_version\`); the rest"
		echo "of the page comes from the run named at the top."
	else
		echo "Measured in the same run as the rest of this page, VPP \`${vpp_version:-?}\`."
	fi
	echo
	if [ "$vpp_ok" != 1 ]; then
		echo "(VPP not run: ${vpp_why:-none found}. \`test/interop/vpp_lib.sh\` looks for it:"
		echo "\`MEMIF_VPP_DIR\`, \`MEMIF_VPP_TARBALL\` or the 26.06 tarball beside the checkout.)"
		echo
		echo "<!-- vpp:end -->"
		return
	fi
	echo "FD.io VPP with only its memif and ping plugins, started for each run as an ordinary process"
	echo "(\`test/interop/vpp_lib.sh\`: no hugepages, private sockets), **polling on one core**: its main"
	echo "thread alone, pinned to CPU $cpu_rx (\`cpu { main-core $cpu_rx }\`), no workers. VPP is the memif"
	echo "**master**, as it usually is deployed; the peer is its slave on CPU $cpu_tx with the slave's defaults"
	echo "(1024-slot rings, 2048-byte buffers): \`memif-bench\` (ours, copying every frame in or out as"
	echo "an application does) or \`dpdk-testpmd\` with \`net_memif\` as client. The two peers alternate"
	echo "(ABAB), runs per case: $vpp_reps; each run starts its own VPP."
	echo
	echo "- **VPP → peer**: VPP's packet generator at unlimited rate straight into the interface's"
	echo "  output node (\`packet-generator new { ... node memif1/0 ... }\`: pg-input → memif1/0-output →"
	echo "  memif1/0-tx, the shortest path VPP has; an l2 xconnect from a pg interface would add nodes)."
	echo "  VPP copies each frame into the slave's buffers; when the ring is full it drops the rest of the"
	echo "  vector. Receivers: \`memif-bench rx\`, \`testpmd --forward-mode=rxonly\`."
	echo "- **peer → VPP**: \`memif-bench tx\` / \`testpmd --forward-mode=txonly\`, burst 32. VPP copies each"
	echo "  frame into its own buffers and drops it (memif-input → ethernet-input: not its MAC); no"
	echo "  forwarding, so the figure is the memif path's, not VPP's switching."
	echo
	echo "Rates are VPP's own counts: \`clear runtime\` after ${vpp_warm} s of traffic, \`show runtime\` ${vpp_secs} s"
	echo "later, the frames its memif node passed over that window in VPP's clock (its CLI answers late"
	echo "under load, so the window can be longer). CPU per frame is the peer process's user + system"
	echo "time over the window (\`/proc/PID/stat\`) over those frames; every peer polls, so it is about"
	echo "1 / rate unless the peer waits for VPP."
	echo
	echo "| frame | direction | ours Mpps (min–max) | DPDK Mpps (min–max) | **ours / DPDK** | ours CPU ns/frame | testpmd CPU ns/frame |"
	echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
	for size in $vpp_sizes; do
		for dir in vpp-peer peer-vpp; do
			[ "$dir" = vpp-peer ] && dn="VPP → peer" || dn="peer → VPP"
			read -r om omin omax on ofl < <(stat "sec=vpp dir=$dir impl=ours size=$size " pps)
			read -r dm dmin dmax dpn dfl < <(stat "sec=vpp dir=$dir impl=dpdk size=$size " pps)
			read -r oc _ _ _ _ < <(stat "sec=vpp dir=$dir impl=ours size=$size " cpu_ns)
			read -r dc _ _ _ _ < <(stat "sec=vpp dir=$dir impl=dpdk size=$size " cpu_ns)
			echo "| $size B | $dn | $(cell "$om" "$omin" "$omax" "$on" "$ofl") | $(cell "$dm" "$dmin" "$dmax" "$dpn" "$dfl") | **$(ratio "$om" "$dm")** | $(num "$oc" 1) | $(num "$dc" 1) |"
		done
	done
	[ -n "$testpmd" ] || echo "
(testpmd not available on this run: DPDK columns empty.)"
	echo
	echo "### What limits each figure"
	echo
	echo "VPP polls, so its core is always busy (*VPP core*: its CPU time over the window, below 90 %"
	echo "when the host took the core away). What tells who limits is how VPP found the ring: sending,"
	echo "whether memif1/0-tx had to drop frames because the ring was full (the receiver is slower than"
	echo "VPP; 1–10 % dropped: only just; under 1 %: VPP is the limit); receiving, how many frames"
	echo "memif-input took per poll (a full vector of 256 every time means frames wait for VPP: VPP is"
	echo "the limit; from 224 up we say so, below 128 VPP waits for the sender, in between both are near"
	echo "their limit). Medians over the runs; *peer's own count* is memif-bench's RESULT line or"
	echo "testpmd's Rx-pps/Tx-pps over its whole run."
	echo
	echo "| frame | direction | peer | VPP core % | VPP frames per call | VPP dropped, ring full | peer's own count, Mpps | limited by |"
	echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |"
	for size in $vpp_sizes; do
		for dir in vpp-peer peer-vpp; do
			for impl in ours dpdk; do
				[ "$impl" = dpdk ] && [ -z "$testpmd" ] && continue
				read -r _ _ _ n _ < <(stat "sec=vpp dir=$dir impl=$impl size=$size " pps)
				[ "$n" = 0 ] && [ "$impl" = dpdk ] && continue
				if [ "$dir" = vpp-peer ]; then
					d="VPP → peer"
					[ "$impl" = ours ] && pn="memif-bench rx" || pn="testpmd rxonly"
				else
					d="peer → VPP"
					[ "$impl" = ours ] && pn="memif-bench tx" || pn="testpmd txonly"
				fi
				read -r vc _ _ _ _ < <(stat "sec=vpp dir=$dir impl=$impl size=$size " vpp_cpu)
				read -r vpc _ _ _ _ < <(stat "sec=vpp dir=$dir impl=$impl size=$size " vpc)
				read -r rf _ _ _ _ < <(stat "sec=vpp dir=$dir impl=$impl size=$size " ringfull)
				read -r pp _ _ _ _ < <(stat "sec=vpp dir=$dir impl=$impl size=$size " peer_pps)
				echo "| $size B | $d | \`$pn\` | $(num "$vc" 0) | $(num "$vpc" 0) | $([ "$dir" = vpp-peer ] && echo "$(num "$rf" 1) %" || echo "–") | $(mpps "$pp") | $(vpp_limit "$dir" "$pn" "$vpc" "$rf" "$vc") |"
			done
		done
	done
	echo
	echo "Runs, with probes and flags as in [Noise](#noise); a run in which VPP or the peer had less"
	echo "than 90 % of its core (both poll) is flagged *busy* as well:"
	echo
	echo "| run | VPP's count | probe before / after (ns) | other runnable tasks | status |"
	echo "| --- | ---: | ---: | ---: | --- |"
	grep 'sec=vpp ' "$results" | while read -r l; do
		lab=$(sed 's/ tag=.*//; s/sec=//; s/impl=//; s/dir=//' <<<"$l")
		val=$(field pps "$l")
		[ -n "$val" ] && val="$(mpps "$val") Mpps"
		echo "| $lab | ${val:-–} | $(field probe_before "$l") / $(field probe_after "$l") | $(field others "$l") | $(field status "$l") |"
	done
	echo
	echo "Commands, exactly as run (SOCK: the run's socket in the work directory; VPP's CLI through"
	echo "\`vppctl -s <its cli.sock>\`):"
	echo
	echo '```'
	grep -E "$vpp_cmd_re" "$commands"
	echo '```'
	echo
	echo "Only this section again: \`sudo bench/compare.sh --only vpp\` (about 7 s a run, $(( 2 * 2 * vpp_reps * $(wc -w <<<"$vpp_sizes") )) runs"
	echo "and the re-runs of flagged ones; \`--keep\` keeps the work directory, from which"
	echo "\`--report-from DIR\` rewrites the section)."
	echo "<!-- vpp:end -->"
}

# Put the section (file) in place of the report's own, or before its plots
# or noise, or at the end; a new report gets a title.

img_dir="$(dirname "$out")/img"
plot_tp="$img_dir/perf-throughput.png"
plot_lat="$img_dir/perf-latency.png"
plot_rxm="$img_dir/perf-rxmodes.png"
plot_rxm_load="$img_dir/perf-rxmodes-load.png"
rxm_dat="$work/rxm.dat"
rxm_load_dat="$work/rxm-load.dat"
: >"$rxm_dat"
: >"$rxm_load_dat"

if [ "$only" = rxm ]; then
	mkdir -p "$(dirname "$out")"
	rxm_section >"$work/rxm-section.md"
	section_merge rxm "$work/rxm-section.md" "$out" '^## (Zero copy|Plots|Noise)'
	rxm_plots
	log "receive-mode section written to $out (the rest of it unchanged)"
	if [ "$fail_ours" != 0 ]; then
		echo "compare.sh: FAILED: memif-bench traffic did not move (logs in $work)" >&2
		exit 1
	fi
	exit 0
fi

if [ "$only" = vpp ]; then
	mkdir -p "$(dirname "$out")"
	vpp_section >"$work/vpp-section.md"
	section_merge vpp "$work/vpp-section.md" "$out" '^## (Plots|Noise)$'
	log "VPP section written to $out (the rest of it unchanged)"
	if [ "$fail_ours" != 0 ]; then
		echo "compare.sh: FAILED: memif-bench traffic did not move with VPP (logs in $work)" >&2
		exit 1
	fi
	exit 0
fi

# ---- the report -----------------------------------------------------------------

all_runs=$(wc -l <"$results")
flagged=$(grep -vc 'status=ok ' "$results")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo)
avx512=no
grep -qw avx512f <<<"$flags" && avx512=yes
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
kernel=$(uname -r)
hyper=$(grep -qw hypervisor <<<"$flags" && echo "virtual machine" || echo "bare metal")
dpdk_ver=$(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || echo "not installed")
cc_ver=$(cc --version 2>/dev/null | head -n1)
probes=$(grep -o 'probe_[a-z]*=[0-9]*' "$results" | cut -d= -f2 | sort -n)
probe_med=$(awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }' <<<"$probes")
probe_max=$(tail -n1 <<<"$probes")
mode_text="full"
[ "$quick" = 1 ] && mode_text="quick (smoke: numbers indicative only)"

mkdir -p "$(dirname "$out")"
# Hand-written notes between these markers survive a rerun.
notes=""
if [ -f "$out" ] && grep -q '<!-- notes:begin -->' "$out"; then
	notes=$(sed -n '/<!-- notes:begin -->/,/<!-- notes:end -->/p' "$out")
fi
tput_dat="$work/tput.dat"
lat_dat="$work/lat.dat"
: >"$tput_dat"
: >"$lat_dat"

{
echo "# Performance"
echo
echo "Measured by \`bench/compare.sh\` ($mode_text run) on $(date -u -d "@$start_ts" '+%Y-%m-%d %H:%M UTC'),"
echo "$(( (end_ts - start_ts) / 60 )) min $(( (end_ts - start_ts) % 60 )) s, library at commit \`$commit\`$dirty."
echo "The script regenerates all of this file except the notes block below (\`--only vpp\` and"
echo "\`--only rxm\` rewrite only the VPP and the receive-mode sections)."
echo
echo "## Verdict"
echo
echo "| target (issue 7) | measured | |"
echo "| --- | ---: | --- |"
for size in 64 1500; do
	verdict_row "ours / DPDK at $size B ≥ 2.0" \
		"sec=tput impl=ours size=$size " "sec=tput impl=dpdk size=$size " pps 2.0 ge
done
verdict_row "interrupt-mode round trip ≤ 1.2 × eventfd floor (p50)" \
	"sec=lat case=interrupt " "sec=lat case=efd " p50 1.2 le
echo
echo "| target (issue 14) | measured | |"
echo "| --- | ---: | --- |"
for size in 64 1500; do
	verdict_row "zero copy: ours / DPDK at $size B ≥ 2.0" \
		"sec=zc impl=ours size=$size " "sec=zc impl=dpdk size=$size " pps 2.0 ge
done
echo
echo "The receive modes' verdicts (issue 14's adaptive-mode rows and issue 21) are in"
echo "[Receive modes](#receive-modes-polling-interrupt-adaptive)."
echo
if [ -n "$notes" ]; then
	echo "$notes"
else
	echo "<!-- notes:begin -->"
	echo "<!-- Notes written here, between the markers, are kept when compare.sh rewrites this file. -->"
	echo "<!-- notes:end -->"
fi
echo
echo "## The machine"
echo
echo "| | |"
echo "| --- | --- |"
echo "| CPU | $cpu_model, $ncpu vCPUs ($hyper), AVX-512: $avx512 |"
echo "| memory | $mem |"
echo "| kernel | $kernel |"
echo "| compiler | $cc_ver, Release build (-O3) |"
echo "| DPDK | ${dpdk_ver} (Debian \`dpdk-testpmd\` with \`net_memif\`) |"
echo "| pinning | receiver on CPU $cpu_rx, sender on CPU $cpu_tx; each process has one core |"
echo "| cache-line probe | best ${best_probe} ns, median ${probe_med:-?} ns, worst ${probe_max:-?} ns round trip between the two CPUs |"
echo
echo "Runs: $all_runs, of which $flagged flagged (slow host period, busy machine, outlier or failure)"
echo "and re-run up to $retries times; medians use clean runs only (a \`*\` marks a case"
echo "that had none, whose median then uses the flagged runs)."
echo
echo "## Throughput: ours vs DPDK, one core each, burst 32"
echo
echo "Frames/s counted on the receiving side after a ${warm} s warm-up, ${secs} s per run,"
echo "$reps runs per case alternating ours and DPDK (ABAB, order swapped every other"
echo "repetition). Ours: \`memif-bench tx\` (slave) → \`memif-bench rx\` (master), copy mode"
echo "(the application copies every frame into the tx buffer and out of the rx buffer)."
echo "DPDK: \`testpmd txonly\` (client) → \`testpmd rxonly\` (server), its default (copying)"
echo "memif mode. Both with 2048-byte buffers and 1024-slot rings."
echo
echo "| frame | ours Mpps (min–max) | DPDK Mpps (min–max) | **ours / DPDK** | ours Gbit/s | DPDK Gbit/s |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for size in $sizes; do
	read -r om omin omax on oflag < <(stat "sec=tput impl=ours size=$size " pps)
	read -r dm dmin dmax dn dflag < <(stat "sec=tput impl=dpdk size=$size " pps)
	[ "$oflag" = "-" ] && oflag=""
	[ "$dflag" = "-" ] && dflag=""
	og=$(awk -v p="$om" -v s="$size" 'BEGIN { if (p == "-") print "–"; else printf "%.1f", p * s * 8 / 1e9 }')
	dg=$(awk -v p="$dm" -v s="$size" 'BEGIN { if (p == "-") print "–"; else printf "%.1f", p * s * 8 / 1e9 }')
	echo "| $size B | $(cell "$om" "$omin" "$omax" "$on" "${oflag:--}") | $(cell "$dm" "$dmin" "$dmax" "$dn" "${dflag:--}") | **$(ratio "$om" "$dm")** | $og | $dg |"
	printf '%s %s %s' "$size" "$(awk -v v="$om" 'BEGIN { print v == "-" ? 0 : v / 1e6 }')" \
		"$(awk -v v="$dm" 'BEGIN { print v == "-" ? 0 : v / 1e6 }')" >>"$tput_dat"
	read -r m1 _ _ _ _ < <(stat "sec=mix dir=ours-dpdk size=$size " pps)
	read -r m2 _ _ _ _ < <(stat "sec=mix dir=dpdk-ours size=$size " pps)
	printf ' %s %s\n' "$(awk -v v="$m1" 'BEGIN { print v == "-" ? 0 : v / 1e6 }')" \
		"$(awk -v v="$m2" 'BEGIN { print v == "-" ? 0 : v / 1e6 }')" >>"$tput_dat"
done
[ -n "$testpmd" ] || echo "
(testpmd not available on this run: DPDK columns empty.)"
echo
if [ -n "$testpmd" ]; then
	echo "## Interoperability: ours ↔ testpmd"
	echo
	echo "Same setup, $mix_reps runs per case; our side is the slave, testpmd the server."
	echo "ours → testpmd is counted by testpmd rxonly, testpmd → ours by \`memif-bench rx\`."
	echo
	echo "| frame | ours → testpmd Mpps | testpmd → ours Mpps |"
	echo "| ---: | ---: | ---: |"
	for size in $sizes; do
		read -r a amin amax an aflag < <(stat "sec=mix dir=ours-dpdk size=$size " pps)
		read -r c cmin cmax cn cflag < <(stat "sec=mix dir=dpdk-ours size=$size " pps)
		[ "$aflag" = "-" ] && aflag=""
		[ "$cflag" = "-" ] && cflag=""
		echo "| $size B | $(cell "$a" "$amin" "$amax" "$an" "${aflag:--}") | $(cell "$c" "$cmin" "$cmax" "$cn" "${cflag:--}") |"
	done
	echo
fi
echo "## Latency: ping-pong round trip, 64-byte frames, one frame in flight"
echo
echo "\`memif-bench ping\` (slave, CPU $cpu_tx) sends one frame and waits for \`memif-bench echo\`"
echo "(master, CPU $cpu_rx) to return it, ${lat_secs} s per run, $lat_reps runs per case; the"
echo "percentiles are medians over the runs. The floor of interrupt mode is two processes"
echo "ping-ponging through two eventfds (\`eventfd-rtt\`): one cross-CPU wake-up each way,"
echo "which interrupt mode cannot avoid."
echo
echo "| case | p50 µs | p99 µs | p99.9 µs | p50 / eventfd floor |"
echo "| --- | ---: | ---: | ---: | ---: |"
read -r f50 _ _ _ _ < <(stat "sec=lat case=efd " p50)
for c in efd efd-epoll interrupt polling; do
	case $c in
	efd) name="eventfd floor (blocking read)" ;;
	efd-epoll) name="eventfd floor (epoll_wait, as memif-bench)" ;;
	interrupt) name="**ours, interrupt mode**" ;;
	polling) name="ours, polling mode" ;;
	esac
	read -r p50 _ _ n fl < <(stat "sec=lat case=$c " p50)
	read -r p99 _ _ _ _ < <(stat "sec=lat case=$c " p99)
	read -r p999 _ _ _ _ < <(stat "sec=lat case=$c " p999)
	[ "$fl" = "-" ] && fl=""
	echo "| $name | $(usec "$p50")$fl | $(usec "$p99") | $(usec "$p999") | $(ratio "$p50" "$f50") |"
	echo "\"$c\" $(awk -v a="$p50" -v b="$p99" 'BEGIN { printf "%s %s", a == "-" ? 0 : a / 1e3, b == "-" ? 0 : b / 1e3 }')" >>"$lat_dat"
done
echo
echo "## Scaling with queues (ours → ours, 64 bytes)"
echo
echo "One thread per queue in each process, but still **one core per process**: with more than"
echo "one queue the queue threads share that core (an idle thread yields to its siblings), so"
echo "this shows the per-queue overhead, not multi-core scaling, which this 2-vCPU machine cannot"
echo "show."
echo
echo "| queues | Mpps (min–max) | vs 1 queue |"
echo "| ---: | ---: | ---: |"
read -r s1 _ _ _ _ < <(stat "sec=scale queues=1 " pps)
for q in $queues; do
	read -r sm smin smax sn sfl < <(stat "sec=scale queues=$q " pps)
	[ "$sfl" = "-" ] && sfl=""
	echo "| $q | $(cell "$sm" "$smin" "$smax" "$sn" "${sfl:--}") | $(ratio "$sm" "$s1") |"
done
echo
rxm_section
echo
echo "## Zero copy: ours vs DPDK"
echo
echo "Ours: \`memif-bench tx --zero-copy\` (slave: frames built in the memif buffers) →"
echo "\`memif-bench rx\` (master, copying each frame out, as testpmd's server copies into mbufs)."
echo "DPDK: \`testpmd txonly\` as client with \`zero-copy=yes\` (its mbufs are the memif buffers; EAL"
echo "\`--single-file-segments\`) → \`testpmd rxonly\` (server). Last column: the same DPDK client"
echo "into our master, which must accept DPDK's regions (memfds it cannot seal). $zc_reps runs per"
echo "case, alternating."
echo
echo "| frame | ours zero-copy Mpps | DPDK zero-copy Mpps | **ours / DPDK** | DPDK zero-copy → ours Mpps |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for size in $zc_sizes; do
	read -r om omin omax on ofl < <(stat "sec=zc impl=ours size=$size " pps)
	read -r dm dmin dmax dn dfl < <(stat "sec=zc impl=dpdk size=$size " pps)
	read -r xm xmin xmax xn xfl < <(stat "sec=zc impl=dpdk-ours size=$size " pps)
	echo "| $size B | $(cell "$om" "$omin" "$omax" "$on" "$ofl") | $(cell "$dm" "$dmin" "$dmax" "$dn" "$dfl") | **$(ratio "$om" "$dm")** | $(cell "$xm" "$xmin" "$xmax" "$xn" "$xfl") |"
done
[ -n "$testpmd" ] || echo "
(testpmd not available on this run: DPDK columns empty.)"
echo
echo "## Interfaces on one socket"
echo
echo "\`memif-scale\`: N interfaces (ids 0…N−1, one queue pair, default ring and buffer sizes) on"
echo "one control socket in each process, master and slave. *Connect* is the slave's time from its"
echo "first \`memif_create\` until all N are connected; *shared memory* the sum of the region sizes"
echo "\`memif_get_details\` reports, per interface (both sides map the same regions); *fds* the file"
echo "descriptors each process opened per interface. DPDK: \`testpmd\` as the client of one"
echo "interface of our master, whose details give DPDK's layout. 64 and 1024 do not apply to DPDK:"
echo "each net_memif interface is an ethdev port, at most RTE_MAX_ETHPORTS (32 in Debian's build)"
echo "per process; and its connect time includes EAL start-up, so it is not given."
echo
echo "| interfaces | impl | connect all, ms | shared memory per interface, MiB | regions per interface | fds per interface (slave / master) |"
echo "| ---: | --- | ---: | ---: | ---: | ---: |"
for n in $if_counts; do
	for impl in ours dpdk; do
		[ "$impl" = dpdk ] && [ "$n" != 1 ] && continue
		read -r ct _ _ cn _ < <(stat "sec=ifscale impl=$impl count=$n " connect_ms)
		read -r sh _ _ sn _ < <(stat "sec=ifscale impl=$impl count=$n " shm)
		read -r rg _ _ _ _ < <(stat "sec=ifscale impl=$impl count=$n " regions)
		read -r fs _ _ _ _ < <(stat "sec=ifscale impl=$impl count=$n " fds_slave)
		read -r fm _ _ _ _ < <(stat "sec=ifscale impl=$impl count=$n " fds_master)
		[ "$sn" = 0 ] && [ "$impl" = dpdk ] && [ -z "$testpmd" ] && continue
		echo "| $n | $([ "$impl" = ours ] && echo "ours ↔ ours" || echo "DPDK client ↔ our master") | $(num "$ct" 1) | $(mib "$sh") | $(num "$rg" 0) | $(num "$fs" 1) / $(num "$fm" 1) |"
	done
done
echo
vpp_section
echo
if [ "$no_plot" = 0 ] && command -v gnuplot >/dev/null; then
	echo "## Plots"
	echo
	echo "![throughput](img/perf-throughput.png)"
	echo
	echo "![latency](img/perf-latency.png)"
	echo
fi
echo "## Noise"
echo
echo "Before and after every run, \`eventfd-rtt --spin\` bounces one cache line between the two"
echo "CPUs (median of batch means of 500 round trips). A run is **slow** when either probe is"
echo "above ${slow_factor}× the best probe of the session: the host has moved the vCPUs apart and"
echo "memif throughput drops several times. Before each run the script also waits until the"
echo "machine is idle (below ${busy_limit}% CPU), and samples the run queue during the run: a run"
echo "with other runnable tasks (another build, other tests) is **busy**. A run whose rate is"
echo "below a third of the median of the same case's earlier clean runs is an **outlier**: the"
echo "host can turn slow and back between the two probes. All three kinds are re-run."
echo
echo "| run | result | probe before / after (ns) | other runnable tasks | status |"
echo "| --- | --- | ---: | ---: | --- |"
while read -r l; do
	lab=$(sed 's/ tag=.*//; s/sec=//; s/impl=//; s/dir=//; s/case=//' <<<"$l")
	val=$(field pps "$l")
	if [ -n "$val" ]; then val="$(mpps "$val") Mpps"; else v=$(field p50 "$l"); val=${v:+p50 $(usec "$v") µs}; fi
	if [ -z "$val" ] && [ -n "$(field cpu "$l")" ]; then val="CPU $(field cpu "$l") %"; fi
	if [ -z "$val" ] && [ -n "$(field resumes "$l")" ]; then val="resumes $(field resumes "$l"), ok=$(field ok "$l")"; fi
	if [ -z "$val" ] && [ -n "$(field shm "$l")" ]; then
		val="$(mib "$(field shm "$l")") MiB/if"
		[ -n "$(field connect_ms "$l")" ] && val="$val, connect $(field connect_ms "$l") ms"
	fi
	echo "| $lab | ${val:-–} | $(field probe_before "$l") / $(field probe_after "$l") | $(field others "$l") | $(field status "$l") |"
done < <(grep -vE 'sec=(vpp|rxm|switch) ' "$results")
echo
echo "## Commands"
echo
echo "Exactly as run (temporary socket paths in a work directory):"
echo
echo '```'
grep -vE "$vpp_cmd_re" "$commands" | grep -vE "$rxm_cmd_re"
echo "probe: $evrtt --spin -n 20000 -b 500 -C $cpu_rx,$cpu_tx"
echo '```'
echo
echo "## Rerun"
echo
echo '```'
echo "sudo bench/compare.sh              # full run, about 30 min; rewrites this file and docs/img/perf-*.png"
echo "sudo bench/compare.sh --quick      # about 1.5 min smoke run (what CTest's bench_smoke does)"
echo "sudo bench/compare.sh --only vpp   # only the VPP section, the rest of this file unchanged"
echo "sudo bench/compare.sh --only rxm   # only the receive-mode section (and its plots)"
echo "bench/compare.sh --help            # sizes, repetitions, durations, --no-dpdk, --keep"
echo '```'
echo
echo "It needs \`dpdk-testpmd\` (\`apt-get install dpdk-dev librte-net-memif23 librte-mempool-ring23\`)"
echo "for the DPDK columns, VPP (found by \`test/interop/vpp_lib.sh\`: \`MEMIF_VPP_DIR\` or the 26.06 tarball"
echo "beside the checkout) for its section and \`gnuplot-nox\` for the plots; without them those parts"
echo "are skipped."
echo "Stop other work on the machine first: the script waits for an idle machine before each run."
} >"$out.tmp"
mv "$out.tmp" "$out"
log "report written to $out"

# ---- plots --------------------------------------------------------------------------

if [ "$no_plot" = 0 ] && command -v gnuplot >/dev/null; then
	mkdir -p "$img_dir"
	gnuplot <<EOF 2>"$work/gnuplot.err" || log "gnuplot failed: $(cat "$work/gnuplot.err")"
set terminal pngcairo size 1100,650 font "DejaVu Sans,12"
set output "$plot_tp"
set title "memif throughput, one core per process, burst 32 (median Mpps, log scale)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.05:*]
set ylabel "million frames per second"
set xlabel "frame size (bytes)"
set grid ytics
set key top right
set xtics nomirror
set offsets 0, 0, graph 0.1, 0
plot "$tput_dat" using 2:xtic(1) title "ours → ours" lc rgb "#1f77b4", \
     ''         using 3 title "testpmd → testpmd" lc rgb "#d62728", \
     ''         using 4 title "ours → testpmd" lc rgb "#7fa7d4", \
     ''         using 5 title "testpmd → ours" lc rgb "#e89a9a", \
     ''         using (\$0 - 0.3):(\$2 > 0 ? \$2 : 1/0):(sprintf("%.2f", \$2)) with labels offset 0,0.8 font ",10" notitle, \
     ''         using (\$0 - 0.1):(\$3 > 0 ? \$3 : 1/0):(sprintf("%.2f", \$3)) with labels offset 0,0.8 font ",10" notitle, \
     ''         using (\$0 + 0.1):(\$4 > 0 ? \$4 : 1/0):(sprintf("%.2f", \$4)) with labels offset 0,0.8 font ",10" notitle, \
     ''         using (\$0 + 0.3):(\$5 > 0 ? \$5 : 1/0):(sprintf("%.2f", \$5)) with labels offset 0,0.8 font ",10" notitle
set output "$plot_lat"
set title "ping-pong round trip, 64-byte frames (µs, log scale)"
unset xlabel
set ylabel "microseconds"
set yrange [0.1:*]
set xtics ("eventfd floor" 0, "eventfd floor (epoll)" 1, "ours interrupt" 2, "ours polling" 3)
plot "$lat_dat" using 2 title "p50" lc rgb "#1f77b4", \
     ''        using 3 title "p99" lc rgb "#ff7f0e", \
     ''        using (\$0 - 1.0/6):(\$2 > 0 ? \$2 : 1/0):(sprintf("%.1f", \$2)) with labels offset 0,0.8 notitle, \
     ''        using (\$0 + 1.0/6):(\$3 > 0 ? \$3 : 1/0):(sprintf("%.1f", \$3)) with labels offset 0,0.8 notitle
EOF
	[ -s "$plot_tp" ] && log "plots written to $img_dir"
fi
rxm_plots

# ---- verdict --------------------------------------------------------------------------

if [ "$fail_ours" != 0 ]; then
	echo "compare.sh: FAILED: memif-bench traffic did not move (logs in $work)" >&2
	exit 1
fi
if [ "$quick" = 1 ]; then
	moved=$(grep 'sec=tput impl=ours' "$results" | while read -r l; do field pkts "$l"; done | sort -n | tail -n1)
	if [ -z "$moved" ] || [ "$moved" -le 0 ]; then
		echo "compare.sh: FAILED: no packets moved ours -> ours" >&2
		fail_ours=1
		exit 1
	fi
	if [ "$fail_switch" != 0 ]; then
		echo "compare.sh: FAILED: adaptive mode did not switch both ways (see 'switch' in $out)" >&2
		fail_ours=1
		exit 1
	fi
	sw=""
	[[ " $rx_modes " == *" adaptive "* ]] && sw=", adaptive mode switched both ways"
	# (a VPP run of ours without a result has failed the script above)
	[ "$vpp_ok" = 1 ] && sw="$sw, traffic moved VPP -> ours and ours -> VPP"
	echo "compare.sh: smoke run passed: $moved packets moved ours -> ours$sw; report in $out"
fi
exit 0
