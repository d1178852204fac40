#!/usr/bin/env bash
# Usage: check_install.sh BUILD_DIR TEST_BUILD_CHECKS_DIR C_COMPILER [SANITIZERS]
#
# Installs the build tree into a temporary prefix (cmake --install), checks
# the files are there, runs the downstream build test against it
# (downstream.sh: pkg-config and find_package(memif) builds, man pages), and
# finally checks that the uninstall target removes every installed file.
# The build tree's own install_manifest.txt is preserved.
set -euo pipefail

build=$(cd "${1:?build dir}" && pwd)
here=$(cd "${2:?test/build-checks dir}" && pwd)
cc=${3:-cc}
sanitize=${4:-}

if [ -n "$sanitize" ]; then
	# A sanitized libmemif.so needs the sanitizer runtime in every program
	# that loads it; that is not what an installed library looks like.
	echo "skipped: install test under a sanitizer build ($sanitize)"
	exit 77
fi
if ! command -v pkg-config >/dev/null 2>&1; then
	echo "skipped: pkg-config is not installed"
	exit 77
fi

tmp=$(mktemp -d /tmp/memif-install-test.XXXXXX)
manifest="$build/install_manifest.txt"
had_manifest=no
if [ -f "$manifest" ]; then
	cp -p "$manifest" "$tmp/install_manifest.txt.saved"
	had_manifest=yes
fi
cleanup() {
	if [ "$had_manifest" = yes ]; then
		cp -p "$tmp/install_manifest.txt.saved" "$manifest"
	else
		rm -f "$manifest"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

prefix="$tmp/prefix"
step() { printf '== %s\n' "$*"; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
	cat "$tmp/install.log"
	exit 1
}

pc=$(find "$prefix" -name libmemif.pc -print -quit)
[ -n "$pc" ] || { echo "libmemif.pc was not installed"; exit 1; }
for f in libmemif.h memif.h; do
	[ -f "$prefix/include/$f" ] || { echo "include/$f was not installed"; exit 1; }
done
libso=$(find "$prefix" -name 'libmemif.so' -print -quit)
if [ -z "$libso" ] || [ ! -L "$libso" ]; then
	echo "libmemif.so namelink was not installed"
	exit 1
fi
libdir=$(dirname "$libso")
[ -e "$libdir/libmemif.so.4" ] || { echo "libmemif.so.4 was not installed"; exit 1; }
cfg=$(find "$prefix" -name memifConfig.cmake -print -quit)
[ -n "$cfg" ] || { echo "memifConfig.cmake was not installed"; exit 1; }

step "downstream builds"
man_opt=()
[ -f "$build/man/man7/libmemif.7" ] || man_opt=(--no-man)
bash "$here/downstream.sh" "$prefix" "$cc" "${man_opt[@]}"

step "uninstall"
# The real target, as the docs say: cmake --build build --target uninstall.
cmake --build "$build" --target uninstall >"$tmp/uninstall.log" || {
	cat "$tmp/uninstall.log"
	exit 1
}
left=$(find "$prefix" \( -type f -o -type l \) | head -5)
[ -z "$left" ] || { echo "uninstall left files behind:"; echo "$left"; exit 1; }
for d in lib/cmake/memif share/doc/libmemif; do
	[ ! -e "$prefix/$d" ] || { echo "uninstall left the directory $d behind"; exit 1; }
done

echo "ok: install, downstream builds (pkg-config, find_package, man) and uninstall all work"
