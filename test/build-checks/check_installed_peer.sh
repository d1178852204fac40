#!/usr/bin/env bash
# Usage: check_installed_peer.sh BUILD_DIR SOURCE_DIR [SANITIZERS]
#
# The API contract, proven on an installed library: install the build tree
# into a temporary prefix, build test/interop/memif_peer.c (written only
# from the public header) against it with pkg-config, and run two processes
# of it exchanging 64-byte and chained 9000-byte frames, in both roles.
set -euo pipefail

build=$(cd "${1:?build dir}" && pwd)
src=$(cd "${2:?source dir}" && pwd)
sanitize=${3:-}

if [ -n "$sanitize" ]; then
	echo "skipped: installed-library test under a sanitizer build ($sanitize)"
	exit 77
fi
command -v pkg-config >/dev/null 2>&1 || { echo "skipped: pkg-config is not installed"; exit 77; }

tmp=$(mktemp -d /tmp/memif-installed-peer.XXXXXX)
pids=()
manifest="$build/install_manifest.txt"
[ -f "$manifest" ] && cp -p "$manifest" "$tmp/manifest.saved"
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# cmake --install rewrote the build tree's manifest: put it back.
	if [ -f "$tmp/manifest.saved" ]; then cp -p "$tmp/manifest.saved" "$manifest"; else rm -f "$manifest"; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; exit 1; }
pcdir=$(dirname "$(find "$prefix" -name libmemif.pc -print -quit)")
libdir=$(dirname "$(find "$prefix" -name 'libmemif.so' -print -quit)")

# shellcheck disable=SC2046 # pkg-config output is a list of words
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$tmp/memif_peer" "$src/test/interop/memif_peer.c" \
	$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs libmemif)
export LD_LIBRARY_PATH="$libdir"
where=$(ldd "$tmp/memif_peer" | awk '/libmemif\.so/ { print $3 }')
case "$where" in
"$prefix"/*) ;;
*) echo "memif_peer loads libmemif from '$where', not from $prefix"; exit 1 ;;
esac

run_pair() { # run_pair TESTER_ROLE ECHO_ROLE
	local tester=$1 echo_role=$2 sock="@memif-installed-$$-$1"
	local common=(--socket "$sock" --id 3 --sizes 64,9000 --count 500 --timeout 30)
	if [ "$echo_role" = master ]; then
		"$tmp/memif_peer" --role master --echo "${common[@]}" >"$tmp/echo-$tester.log" 2>&1 &
		pids+=($!)
		sleep 0.3
		"$tmp/memif_peer" --role slave "${common[@]}" >"$tmp/tester-$tester.log" 2>&1 ||
			{ cat "$tmp/tester-$tester.log" "$tmp/echo-$tester.log"; exit 1; }
	else
		"$tmp/memif_peer" --role master "${common[@]}" >"$tmp/tester-$tester.log" 2>&1 &
		local tpid=$!
		sleep 0.3
		"$tmp/memif_peer" --role slave --echo "${common[@]}" >"$tmp/echo-$tester.log" 2>&1 &
		pids+=($!)
		wait "$tpid" || { cat "$tmp/tester-$tester.log" "$tmp/echo-$tester.log"; exit 1; }
	fi
	grep -h "RESULT" "$tmp/tester-$tester.log" || true
	echo "ok: tester $tester vs echo $echo_role (64 B and 9000 B chained)"
}

run_pair slave master
run_pair master slave
echo "PASS: a program built only against the installed header exchanged frames in both roles"
