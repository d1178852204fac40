#!/usr/bin/env bash
# scripts/test.sh - THE test command of libmemif: installs what is missing
# (Debian 12, as root), then builds and tests in four stages:
#
#   main   build/       gcc, -O2 -g, warnings as errors   ctest: every test (docs included)
#   asan   build-asan/  gcc, ASan + UBSan                 ctest -LE 'build|interop|bench|binding'
#   tsan   build-tsan/  clang, TSan                       ctest -L tsan
#   fuzz   build-fuzz/  clang, libFuzzer + ASan + UBSan   ctest -L fuzz (60 s per target)
#
# and ends with one line "N passed, N failed, N skipped" summed over the stages.
# Exits non-zero if any stage fails to configure or build, or any test fails.
#
# Environment:
#   MEMIF_TEST_STAGES     stages to run, default "main asan tsan fuzz"
#   MEMIF_JOBS            parallel build jobs, default 2
#   CTEST_PARALLEL_LEVEL  parallel tests (ctest's own variable), default serial
#   MEMIF_NO_INSTALL=1    never run apt-get, only check what is there
set -euo pipefail
exec </dev/null

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

stages=${MEMIF_TEST_STAGES:-main asan tsan fuzz}
jobs=${MEMIF_JOBS:-2}

log() { printf '\n=== %s\n' "$*"; }

# ---- Dependencies ------------------------------------------------------------------

# Debian package names. The DPDK ones give test/interop its real peer
# (dpdk-testpmd with the memif driver); without them those tests skip.
# python3 writes the man pages, man-db checks them, dpkg-dev computes the
# .deb's Depends (tests labelled build and docs). Node.js for test/binding
# is added by ensure_packages when it is missing.
packages=(
	cmake make gcc g++ clang pkg-config check libsubunit-dev binutils
	iproute2 iputils-ping valgrind python3 man-db dpkg-dev
	dpdk-dev librte-net-memif23 librte-mempool-ring23
)

pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

apt_install() {
	log "installing: $*"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${memif_apt_updated:-}" ]; then
		apt-get update -qq
		memif_apt_updated=1
	fi
	apt-get install -y -qq --no-install-recommends "$@"
}

ensure_packages() {
	local missing=() p
	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "not a Debian system: make sure cmake, gcc, g++, clang, pkg-config and" \
			"Check are installed"
		return 0
	fi
	# test/binding builds the npm package `memif` with node-gyp: node, npm,
	# node-gyp and node's headers (/usr/include/node, libnode-dev). A nodejs
	# that comes with npm and headers (NodeSource's) needs nothing more.
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		packages+=(nodejs npm node-gyp libnode-dev)
	elif [ ! -f /usr/include/node/node_api.h ]; then
		packages+=(libnode-dev)
	fi
	for p in "${packages[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		if [ "$(id -u)" -ne 0 ] || [ -n "${MEMIF_NO_INSTALL:-}" ]; then
			echo "missing packages: ${missing[*]}" >&2
			echo "install them with:" >&2
			echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
			exit 1
		fi
		apt_install "${missing[@]}"
	fi
	# clang's sanitizer runtimes are only a Recommends of clang.
	local rt
	rt="libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
	if ! pkg_installed "$rt" && apt-cache show "$rt" >/dev/null 2>&1; then
		if [ "$(id -u)" -ne 0 ] || [ -n "${MEMIF_NO_INSTALL:-}" ]; then
			echo "missing package: $rt (clang's TSan runtime); install it with:" >&2
			echo "  sudo apt-get install -y --no-install-recommends $rt" >&2
			exit 1
		fi
		apt_install "$rt"
	fi
}

ensure_packages

# ---- Stages ----------------------------------------------------------------------

total_pass=0
total_fail=0
total_skip=0
summary=()

# A build directory configured from another tree or with another compiler is
# started afresh; otherwise it is reused (incremental and idempotent).
prepare_dir() {
	local dir=$1 cc=$2 cache=$1/CMakeCache.txt home compiler
	[ -f "$cache" ] || return 0
	home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
	compiler=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache")
	if [ "$home" != "$root" ] || [ "$(command -v "$compiler" 2>/dev/null)" != "$(command -v "$cc")" ]; then
		echo "$dir was configured elsewhere or with another compiler: starting afresh"
		rm -rf "$dir"
	fi
}

junit_attr() { # junit_attr FILE NAME -> value of the testsuite's attribute
	sed -n "s/^[[:space:]]*$2=\"\\([0-9]*\\)\".*/\\1/p" "$1" | head -n 1
}

# run_stage NAME DIR CC CXX "ctest args" [cmake args...]
run_stage() {
	local name=$1 dir=$2 cc=$3 cxx=$4 ctest_args=$5
	shift 5
	local junit="$root/$dir/ctest-junit.xml" start=$SECONDS
	local tests failures skipped disabled passed rc=0

	log "[$name] configure $dir"
	prepare_dir "$dir" "$cc"
	if ! cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
		-DMEMIF_WERROR=ON "$@"; then
		summary+=("$name: configure FAILED")
		total_fail=$((total_fail + 1))
		return 0
	fi
	log "[$name] build"
	if ! cmake --build "$dir" --parallel "$jobs"; then
		summary+=("$name: build FAILED")
		total_fail=$((total_fail + 1))
		return 0
	fi
	log "[$name] ctest $ctest_args"
	rm -f "$junit"
	# shellcheck disable=SC2086 # ctest_args is a list of words
	(cd "$dir" && ctest --output-on-failure --no-compress-output --output-junit "$junit" $ctest_args) ||
		rc=$?
	if [ ! -f "$junit" ]; then
		summary+=("$name: ctest FAILED (exit $rc, no report)")
		total_fail=$((total_fail + 1))
		return 0
	fi
	tests=$(junit_attr "$junit" tests)
	failures=$(junit_attr "$junit" failures)
	skipped=$(junit_attr "$junit" skipped)
	disabled=$(junit_attr "$junit" disabled)
	skipped=$((${skipped:-0} + ${disabled:-0}))
	passed=$((${tests:-0} - ${failures:-0} - skipped))
	if [ "$rc" -ne 0 ] && [ "${failures:-0}" -eq 0 ]; then
		failures=1 # ctest failed without a failing test: count the stage
	fi
	total_pass=$((total_pass + passed))
	total_fail=$((total_fail + ${failures:-0}))
	total_skip=$((total_skip + skipped))
	summary+=("$name: $passed passed, ${failures:-0} failed, $skipped skipped ($((SECONDS - start)) s)")
}

for stage in $stages; do
	case "$stage" in
	main)
		run_stage main build gcc g++ "" \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g"
		;;
	asan)
		ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_stage asan build-asan gcc g++ "-LE build|interop|bench|binding" \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
			-DMEMIF_SANITIZE=address,undefined
		;;
	tsan)
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			run_stage tsan build-tsan clang clang++ "-L tsan" \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
			-DMEMIF_SANITIZE=thread -DMEMIF_BUILD_EXAMPLES=OFF
		;;
	fuzz)
		# Bounded libFuzzer runs (MEMIF_FUZZ_SECONDS per target) plus a
		# regression pass over the seed corpora; see docs/fuzzing.md.
		run_stage fuzz build-fuzz clang clang++ "-L fuzz" \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
			-DMEMIF_FUZZ=ON -DMEMIF_FUZZ_SECONDS="${MEMIF_FUZZ_SECONDS:-60}" \
			-DMEMIF_BUILD_EXAMPLES=OFF -DMEMIF_BUILD_BENCH=OFF
		;;
	*)
		echo "unknown stage '$stage' (known: main asan tsan fuzz)" >&2
		summary+=("$stage: unknown stage")
		total_fail=$((total_fail + 1))
		;;
	esac
done

# In CI every peer is installed (this script installs them as root), so a
# skipped test means a test that silently stopped testing: fail the run.
if [ "${CI:-}" = true ]; then
	for junit in "$root"/build/ctest-junit.xml "$root"/build-asan/ctest-junit.xml; do
		[ -f "$junit" ] || continue
		skipped_names=$(grep -o '<testcase name="[^"]*"[^>]*status="\(notrun\|disabled\)"' "$junit" |
			sed 's/<testcase name="\([^"]*\)".*/\1/' || true)
		if [ -n "$skipped_names" ]; then
			echo "CI: these tests skipped, which CI does not allow:" >&2
			printf '  %s\n' $skipped_names >&2
			summary+=("CI: skipped tests are failures here")
			total_fail=$((total_fail + 1))
		fi
	done
fi

log "summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
