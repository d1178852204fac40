#!/usr/bin/env bash
# test/valgrind.sh - run the integration tests under valgrind memcheck.
#
#   test/valgrind.sh <build dir> [<MEMIF_SANITIZE of that build>]
#
# Runs every test/integration/check_*.c executable of the build (in
# <build dir>/test/) as
#
#   CK_FORK=no valgrind --leak-check=full --error-exitcode=99 --track-fds=yes <test>
#
# plus --child-silent-after-fork=yes (peer processes a test forks are not
# judged, see below).
# (Check's fork mode hides the tests from valgrind: CK_FORK=no runs them in
# the process valgrind watches) and reports, per executable, "clean" or what
# was wrong: the test failed, memcheck found errors or leaks, or an fd the
# process did not inherit was still open at exit. Logs go to
# <build dir>/test/valgrind/<test>.{out,vg.<pid>}. Exit status: 0 all clean,
# 1 something was not, 77 skipped (no valgrind, or a sanitizer build, which
# valgrind cannot run).
#
# Environment:
#   MEMIF_VALGRIND_TESTS          test names to run (default: all of them but
#                                 check_thread_stress, left to TSan and ASan)
#   MEMIF_VALGRIND_TIMEOUT        seconds per executable (default 900)
#   MEMIF_VALGRIND_SOAK_CYCLES    cycles of check_soak (default 2000; 10 000
#                                 without valgrind)
#   MEMIF_TEST_TIME_SCALE         factor on the time budget of tests that have
#                                 one (check_thread; default 4 here, 1 outside)
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 <build dir> [<MEMIF_SANITIZE>]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
sanitize=${2:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v valgrind >/dev/null 2>&1; then
	echo "skipped: valgrind is not installed"
	exit 77
fi
if [ -z "$sanitize" ] && [ -f "$build/CMakeCache.txt" ]; then
	sanitize=$(sed -n 's/^MEMIF_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
fi
if [ -n "$sanitize" ]; then
	echo "skipped: $build is a sanitizer build ($sanitize); valgrind needs a plain one"
	exit 77
fi

if [ -n "${MEMIF_VALGRIND_TESTS:-}" ]; then
	read -r -a tests <<<"$MEMIF_VALGRIND_TESTS"
else
	tests=()
	for f in "$src"/integration/check_*.c; do
		# The thread stress test is the TSan and ASan stages' job: valgrind
		# runs one thread at a time, so it would test little and take long.
		[ "$(basename "$f" .c)" = check_thread_stress ] && continue
		tests+=("$(basename "$f" .c)")
	done
fi

logdir=$build/test/valgrind
mkdir -p "$logdir"
export CK_FORK=no
export MEMIF_SOAK_CYCLES=${MEMIF_VALGRIND_SOAK_CYCLES:-2000}
# Tests with a time budget (check_thread) get four times theirs: memcheck runs
# one thread at a time, and on a busy runner 30 s was not always enough.
export MEMIF_TEST_TIME_SCALE=${MEMIF_TEST_TIME_SCALE:-4}
limit=${MEMIF_VALGRIND_TIMEOUT:-900}

# Open fds at exit that the process did not inherit, from one valgrind log:
# "Open file descriptor N: <what>" followed by "<inherited from parent>" or
# by the stack that opened it.
fd_leaks() {
	awk '
		/Open file descriptor [0-9]+:/ {
			if (fd != "" && !inherited) printf "%s ", fd
			fd = $0; sub(/.*Open file descriptor /, "", fd); inherited = 0; next
		}
		/<inherited from parent>/ { inherited = 1; next }
		END { if (fd != "" && !inherited) printf "%s ", fd }
	' "$1"
}

failed=0
start_all=$SECONDS
for t in "${tests[@]}"; do
	exe=$build/test/$t
	if [ ! -x "$exe" ]; then
		echo "$t: NOT CLEAN: $exe was not built"
		failed=1
		continue
	fi
	rm -f "$logdir/$t".vg.* "$logdir/$t.out"
	start=$SECONDS
	# Peers forked by a test (check_twoproc) stay under valgrind, but
	# silent: their heap is a copy of the parent's and they end in _exit,
	# so their leak report is noise, and its exit code 99 would fail the
	# test. Memcheck judges the test process, where the library runs too.
	timeout --kill-after=10 "$limit" valgrind --quiet --leak-check=full --error-exitcode=99 \
		--track-fds=yes --child-silent-after-fork=yes --log-file="$logdir/$t.vg.%p" \
		"$exe" >"$logdir/$t.out" 2>&1
	rc=$?
	took=$((SECONDS - start))
	problems=()
	case $rc in
	0) ;;
	99) problems+=("memcheck errors or leaks") ;;
	124 | 137) problems+=("timed out after ${limit} s") ;;
	*) problems+=("the test failed (exit $rc)") ;;
	esac
	for log in "$logdir/$t".vg.*; do
		[ -f "$log" ] || continue
		if grep -q "ERROR SUMMARY: [1-9]" "$log"; then
			problems+=("$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log" | head -n 1) in $(basename "$log")")
		fi
		if grep -q "definitely lost: [1-9]\|indirectly lost: [1-9]\|possibly lost: [1-9]" "$log"; then
			problems+=("leaks in $(basename "$log")")
		fi
		leaks=$(fd_leaks "$log")
		if [ -n "$leaks" ]; then
			problems+=("fds open at exit in $(basename "$log"): $leaks")
		fi
	done
	if [ ${#problems[@]} -eq 0 ]; then
		echo "$t: clean (${took} s)"
	else
		failed=1
		printf '%s: NOT CLEAN (%s s): ' "$t" "$took"
		(
			IFS=';'
			echo "${problems[*]}"
		)
		echo "  logs: $logdir/$t.out $logdir/$t.vg.*"
		tail -n 5 "$logdir/$t.out" | sed 's/^/  | /'
	fi
done
echo "valgrind: ${#tests[@]} executables in $((SECONDS - start_all)) s: $([ $failed -eq 0 ] && echo clean || echo NOT clean)"
exit $failed
