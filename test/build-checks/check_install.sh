#!/usr/bin/env bash
# Usage: check_install.sh BUILD_DIR TEST_BUILD_CHECKS_DIR C_COMPILER [SANITIZERS]
#
# Installs the build tree into a temporary prefix (cmake --install), then
# builds install_smoke.c against it twice, as a user would:
#   1. with `pkg-config --cflags --libs libmemif` (PKG_CONFIG_PATH -> prefix),
#   2. as a downstream CMake project using find_package(memif) + memif::memif,
# runs both, checks they load the installed library, and finally checks that
# cmake/uninstall.cmake removes every installed file.
# The build tree's own install_manifest.txt is preserved.
set -euo pipefail

build=$(cd "${1:?build dir}" && pwd)
here=$(cd "${2:?test/build-checks dir}" && pwd)
cc=${3:-cc}
sanitize=${4:-}
top=$(cd "$here/../.." && pwd)

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

# The program must load the library from the prefix, not some other copy.
check_loads_prefix() {
	local exe=$1 where
	where=$(LD_LIBRARY_PATH=${2:-} ldd "$exe" | awk '/libmemif\.so/ { print $3 }')
	case "$where" in
	"$prefix"/*) ;;
	*)
		echo "$exe loads libmemif from '$where', not from $prefix"
		exit 1
		;;
	esac
}

step "pkg-config build"
pcdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
version=$(pkg-config --modversion libmemif)
[ "$version" = "4.0.0" ] || { echo "pkg-config reports version '$version'"; exit 1; }
flags=$(pkg-config --cflags --libs libmemif)
echo "pkg-config --cflags --libs libmemif: $flags"
# shellcheck disable=SC2086 # word splitting of the flags is intended
"$cc" -std=c11 -Wall -Wextra -Werror "$here/install_smoke.c" -o "$tmp/smoke_pkgconfig" $flags
check_loads_prefix "$tmp/smoke_pkgconfig" "$libdir"
LD_LIBRARY_PATH="$libdir" "$tmp/smoke_pkgconfig"

step "find_package(memif) build"
if ! cmake -S "$here/downstream" -B "$tmp/downstream" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release >"$tmp/downstream.log" 2>&1 ||
	! cmake --build "$tmp/downstream" >>"$tmp/downstream.log" 2>&1; then
	cat "$tmp/downstream.log"
	exit 1
fi
# CMake gives the program an RPATH to the imported library: no LD_LIBRARY_PATH.
check_loads_prefix "$tmp/downstream/install_smoke"
"$tmp/downstream/install_smoke"

step "uninstall"
cmake -DMANIFEST="$manifest" -P "$top/cmake/uninstall.cmake" >"$tmp/uninstall.log" || {
	cat "$tmp/uninstall.log"
	exit 1
}
left=$(find "$prefix" \( -type f -o -type l \) | head -5)
[ -z "$left" ] || { echo "uninstall left files behind:"; echo "$left"; exit 1; }

echo "ok: install, pkg-config build, find_package build and uninstall all work"
