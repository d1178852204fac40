#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/ab.sh - what a change to the library costs: the same benchmark
# binaries run against two builds of libmemif, alternately, in one run.
#
# Only the library differs between the two sides of a pair (LD_LIBRARY_PATH),
# so a difference is the library's. Pairs alternate their order (old first,
# then new first) so that a drift of the machine hits both alike, and the
# figure that counts is the median of the per-pair ratios new/old, with the
# quartiles of those ratios beside it: on a shared machine single runs
# spread by several percent, and only many pairs tell a 2 % step.
#
# Two measurements, per frame size:
#   cross  copy-mode throughput between two processes, the way compare.sh
#          row (a) measures it: memif-bench tx (slave, CPU 1) -> memif-bench
#          rx (master, CPU 0), polling; the rate is what rx counted.
#   cost   memif-cost (one thread, both ends, CPU 1): the library's CPU time
#          per packet without the cross-core cache traffic. It shows every
#          instruction a change adds, so it bounds the cross figure from
#          above.
#   instr  memif-cost with a fixed packet count under valgrind's callgrind,
#          once per library: instructions per packet in the data-path calls
#          (memif_buffer_alloc, memif_tx_burst, memif_rx_burst,
#          memif_refill_queue, everything they call included). Exact and
#          free of noise; it needs valgrind (skipped with a note without).
# Before and after each run, the cross-core cache-line probe (eventfd-rtt
# --spin) is printed beside it: shared hosts switch between states where that
# round trip differs by 5x. A pair whose four probes differ by more than 1.5x
# ran (at least partly) in two different states and is left out of the
# summary (EXCLUDED); a switch in the middle of a run can still slip through.
#
# Usage:
#   bench/ab.sh [--old-rev REV | --old-lib DIR] [--new-lib DIR] [--bin-dir DIR]
#               [--sizes "64 1500"] [--pairs N] [--secs S] [--what cross,cost]
#   --old-rev REV  build the library of git revision REV (Release) and use it
#                  as "old" (default: --old-lib must be given)
#   --new-lib DIR  directory holding libmemif.so.4 of the "new" side (default:
#                  this tree, built in Release into build-ab/new)
#   --bin-dir DIR  memif-bench, memif-cost and eventfd-rtt (default: the new
#                  build's bench/). Both sides run these same binaries.
#   --work DIR     builds and run logs (default: build-ab/ in the source tree)
# Prints one line per run and a summary per size and measurement:
#   SUMMARY what=cross size=64 pairs=12 excluded=0 old=.. new=.. ratio=0.995 q1=.. q3=..
#   SUMMARY what=instr size=64 old=119.3 new=121.8 ratio=1.0210 (per packet)
set -uo pipefail
exec </dev/null

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
old_rev="" old_lib="" new_lib="" bin_dir="" work=""
sizes="64 1500" pairs=10 secs=3 what="cross,cost" straddle=1.5

usage() { sed -n '4,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--old-rev) old_rev=$2; shift 2 ;;
	--old-lib) old_lib=$2; shift 2 ;;
	--new-lib) new_lib=$2; shift 2 ;;
	--bin-dir) bin_dir=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--pairs) pairs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--what) what=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "ab.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$old_rev" ] && [ -z "$old_lib" ]; then
	echo "ab.sh: give --old-rev REV or --old-lib DIR" >&2
	exit 2
fi

[ -n "$work" ] || work="$root/build-ab"
mkdir -p "$work"

build() { # SRC_DIR BUILD_DIR TARGETS...
	local src=$1 dir=$2
	shift 2
	cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release >"$dir.log" 2>&1 &&
		cmake --build "$dir" -j"$(nproc)" --target "$@" >>"$dir.log" 2>&1 || {
		echo "ab.sh: build of $src failed (log: $dir.log)" >&2
		exit 1
	}
}

if [ -n "$old_rev" ]; then
	rm -rf "$work/old-src"
	mkdir -p "$work/old-src"
	git -C "$root" archive "$old_rev" | tar -x -C "$work/old-src" || {
		echo "ab.sh: no revision $old_rev" >&2
		exit 1
	}
	build "$work/old-src" "$work/old" memif
	old_lib="$work/old"
fi
if [ -z "$new_lib" ]; then
	build "$root" "$work/new" memif memif-bench memif-cost eventfd-rtt
	new_lib="$work/new"
fi
[ -n "$bin_dir" ] || bin_dir="$new_lib/bench"
for f in "$old_lib/libmemif.so.4" "$new_lib/libmemif.so.4" "$bin_dir/memif-bench" \
	"$bin_dir/memif-cost" "$bin_dir/eventfd-rtt"; do
	[ -e "$f" ] || { echo "ab.sh: missing $f" >&2; exit 1; }
done
old_lib=$(cd "$old_lib" && pwd) new_lib=$(cd "$new_lib" && pwd)
# The binaries must load the library given (an RPATH, unlike a RUNPATH, would
# win over LD_LIBRARY_PATH and measure one library twice).
for lib in "$old_lib" "$new_lib"; do
	for b in memif-bench memif-cost; do
		got=$(LD_LIBRARY_PATH=$lib ldd "$bin_dir/$b" | awk '/libmemif\.so/ { print $3 }')
		if [ "$(cd "$(dirname "$got")" 2>/dev/null && pwd)" != "$lib" ]; then
			echo "ab.sh: $b loads ${got:-no libmemif}, not the one in $lib" >&2
			exit 1
		fi
	done
done
echo "ab.sh: old=$old_lib${old_rev:+ ($old_rev)} new=$new_lib bin=$bin_dir pairs=$pairs secs=$secs"

probe() {
	"$bin_dir/eventfd-rtt" --spin 2>/dev/null | grep -o 'p50_ns=[0-9]*' | head -1 | cut -d= -f2
}

run_cross() { # LIB SIZE -> pps
	local lib=$1 size=$2 sock="@memif-ab-$$-$RANDOM" rxp txp
	LD_LIBRARY_PATH=$lib "$bin_dir/memif-bench" rx --role master --cpu 0 -s "$sock" \
		-S "$size" -d "$secs" -W 10 -Q >"$work/rx.out" 2>&1 &
	rxp=$!
	sleep 0.2
	LD_LIBRARY_PATH=$lib "$bin_dir/memif-bench" tx --role slave --cpu 1 -s "$sock" \
		-S "$size" -d $((${secs%.*} + 3)) -W 10 -Q >"$work/tx.out" 2>&1 &
	txp=$!
	wait "$rxp"
	kill "$txp" 2>/dev/null
	wait "$txp" 2>/dev/null
	grep -o ' pps=[0-9.]*' "$work/rx.out" | head -1 | cut -d= -f2
}

run_cost() { # LIB SIZE -> pps
	LD_LIBRARY_PATH=$1 "$bin_dir/memif-cost" -c 1 -S "$2" -d "$secs" 2>&1 |
		grep -o ' pps=[0-9.]*' | head -1 | cut -d= -f2
}

# Instructions per packet in the data-path calls, with copies (memif-cost's
# default), measured by callgrind. LIB SIZE -> number
run_instr() {
	local out="$work/callgrind.out" line all
	line=$(LD_LIBRARY_PATH=$1 valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$bin_dir/memif-cost" -S "$2" -n 200000 -W 3200 2>/dev/null | grep '^RESULT')
	all=$(echo "$line" | grep -o 'all_packets=[0-9]*' | cut -d= -f2)
	[ -n "$all" ] || return 0
	callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
		awk -v all="$all" '/:memif_(buffer_alloc|tx_burst|rx_burst|refill_queue) / {
			gsub(",", "", $1); ir += $1 } END { if (ir > 0) printf "%.2f", ir / all }'
}

# Median and quartiles of the numbers on stdin.
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan"; exit }
		printf "%s %s %s\n", q(0.25), q(0.5), q(0.75) }
		function q(p,  h, i) { h = (NR - 1) * p + 1; i = int(h)
			return i >= NR ? v[NR] : v[i] + (h - i) * (v[i + 1] - v[i]) }'
}

fail=0
for w in ${what//,/ }; do
	case "$w" in cross | cost | instr) ;; *) echo "ab.sh: unknown measurement $w" >&2; exit 2 ;; esac
	if [ "$w" = instr ]; then
		if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
			echo "ab.sh: instr skipped: valgrind (callgrind) is not installed"
			continue
		fi
		for size in $sizes; do
			i_old=$(run_instr "$old_lib" "$size")
			i_new=$(run_instr "$new_lib" "$size")
			if [ -z "$i_old" ] || [ -z "$i_new" ]; then
				echo "ab.sh: an instr run at $size B failed (log: $work/callgrind.out)" >&2
				fail=1
				continue
			fi
			printf 'SUMMARY what=instr size=%s old=%s new=%s ratio=%.4f (per packet)\n' \
				"$size" "$i_old" "$i_new" "$(awk -v a="$i_new" -v b="$i_old" 'BEGIN { print a / b }')"
		done
		continue
	fi
	for size in $sizes; do
		olds=() news=() ratios=() excluded=0
		for p in $(seq "$pairs"); do
			if [ $((p % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
			declare -A r=() pr=()
			for side in $order; do
				lib=$old_lib
				[ "$side" = new ] && lib=$new_lib
				p0=$(probe)
				r[$side]=$("run_$w" "$lib" "$size")
				p1=$(probe)
				pr[$side]="${p0:-0} ${p1:-0}"
				printf 'RUN what=%s size=%s pair=%s lib=%s pps=%s probe_ns=%s,%s\n' \
					"$w" "$size" "$p" "$side" "${r[$side]:-none}" "${p0:-?}" "${p1:-?}"
			done
			if [ -z "${r[old]}" ] || [ -z "${r[new]}" ]; then
				echo "ab.sh: a $w run at $size B failed (last logs in $work)" >&2
				fail=1
				continue
			fi
			# The host changed state around the pair: not a comparison.
			if ! echo "${pr[old]} ${pr[new]}" | awk -v f="$straddle" '{
				lo = hi = $1
				for (i = 1; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }
				exit !(lo > 0 && hi <= f * lo) }'; then
				echo "EXCLUDED what=$w size=$size pair=$p: probes ${pr[old]} ${pr[new]} ns differ by more than ${straddle}x"
				excluded=$((excluded + 1))
				continue
			fi
			olds+=("${r[old]}")
			news+=("${r[new]}")
			ratios+=("$(awk -v a="${r[new]}" -v b="${r[old]}" 'BEGIN { printf "%.4f", a / b }')")
		done
		read -r _ mo _ < <(printf '%s\n' "${olds[@]}" | stats)
		read -r _ mn _ < <(printf '%s\n' "${news[@]}" | stats)
		read -r q1 mr q3 < <(printf '%s\n' "${ratios[@]}" | stats)
		printf 'SUMMARY what=%s size=%s pairs=%s excluded=%s old=%.0f new=%.0f ratio=%.4f q1=%.4f q3=%.4f\n' \
			"$w" "$size" "${#ratios[@]}" "$excluded" "$mo" "$mn" "$mr" "$q1" "$q3"
	done
done
exit $fail
