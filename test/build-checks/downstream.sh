#!/usr/bin/env bash
# Usage: downstream.sh PREFIX C_COMPILER [--system] [--no-man]
#
# The downstream build test: what a user does with an installed libmemif.
# PREFIX is where it is installed (a `cmake --install --prefix` directory, or
# the usr/ of an unpacked .deb). Builds and runs, as a user would:
#   1. install_smoke.c with `pkg-config --cflags --libs libmemif`,
#   2. the downstream/ CMake project: find_package(memif) + memif::memif,
#   3. docs/examples/first_slave.c both ways (the program of
#      docs/GettingStarted.md; built only, it needs a peer to run),
# checks that the programs load libmemif from PREFIX, and that man finds a
# page for every function of the installed libmemif.h.
#
# Without --system the tools are pointed at PREFIX (PKG_CONFIG_PATH,
# CMAKE_PREFIX_PATH, LD_LIBRARY_PATH, man -M). With --system nothing is: the
# library must be found where the system looks (dpkg -i of the .deb).
# --no-man: the build had no man pages (MEMIF_MAN=OFF or no python3).
set -euo pipefail

prefix=$(cd "${1:?install prefix}" && pwd)
cc=${2:-cc}
system=no
want_man=yes
for arg in "${@:3}"; do
	case "$arg" in
	--system) system=yes ;;
	--no-man) want_man=no ;;
	*) echo "downstream.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

work=$(mktemp -d /tmp/memif-downstream.XXXXXX)
trap 'rm -rf "$work"' EXIT
step() { printf '== %s\n' "$*"; }

pc=$(find "$prefix" -name libmemif.pc -print -quit)
[ -n "$pc" ] || { echo "no libmemif.pc under $prefix"; exit 1; }
libso=$(find "$prefix" -name libmemif.so -print -quit)
[ -n "$libso" ] || { echo "no libmemif.so under $prefix"; exit 1; }
libdir=$(dirname "$libso")
header="$prefix/include/libmemif.h"
[ -f "$header" ] || { echo "no include/libmemif.h under $prefix"; exit 1; }

run_env=()
cmake_hint=()
man_args=()
if [ "$system" = no ]; then
	PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
	export PKG_CONFIG_PATH
	run_env=(env "LD_LIBRARY_PATH=$libdir")
	cmake_hint=(-DCMAKE_PREFIX_PATH="$prefix")
	man_args=(-M "$prefix/share/man")
fi

# The program must load the library from the prefix, not some other copy.
check_loads_prefix() {
	local exe=$1 where
	where=$("${run_env[@]}" ldd "$exe" | awk '/libmemif\.so/ { print $3 }')
	where=$(readlink -f "$where")
	case "$where" in
	"$prefix"/*) echo "$(basename "$exe") loads $where" ;;
	*)
		echo "$exe loads libmemif from '$where', not from $prefix"
		exit 1
		;;
	esac
}

step "pkg-config"
version=$(pkg-config --modversion libmemif)
[ "$version" = "4.0.0" ] || { echo "pkg-config reports version '$version'"; exit 1; }
flags=$(pkg-config --cflags --libs libmemif)
echo "pkg-config --cflags --libs libmemif: $flags"
for src in "$here/install_smoke.c" "$top/docs/examples/first_slave.c"; do
	exe="$work/$(basename "$src" .c)_pkgconfig"
	# shellcheck disable=SC2086 # word splitting of the flags is intended
	"$cc" -std=c11 -Wall -Wextra -Werror "$src" -o "$exe" $flags
	check_loads_prefix "$exe"
done
"${run_env[@]}" "$work/install_smoke_pkgconfig"

step "find_package(memif)"
for proj in "$here/downstream" "$top/docs/examples"; do
	name=$(basename "$proj")
	if ! cmake -S "$proj" -B "$work/cmake-$name" "${cmake_hint[@]}" -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" \
		>"$work/cmake-$name.log" 2>&1 ||
		! cmake --build "$work/cmake-$name" >>"$work/cmake-$name.log" 2>&1; then
		cat "$work/cmake-$name.log"
		exit 1
	fi
done
# CMake gives the programs an RPATH to the imported library: no LD_LIBRARY_PATH.
check_loads_prefix "$work/cmake-downstream/install_smoke"
check_loads_prefix "$work/cmake-examples/first_slave"
"$work/cmake-downstream/install_smoke"

step "man pages"
if [ "$want_man" = no ]; then
	echo "built without man pages: not checked"
elif command -v man >/dev/null 2>&1; then
	functions=$(grep -oE '^[a-z][a-z0-9_ ]*[ *]memif_[a-z0-9_]+\(' "$header" |
		sed -E 's/.*[ *](memif_[a-z0-9_]+)\($/\1/' | sort -u)
	n=0
	for f in $functions libmemif; do
		sec=3
		[ "$f" = libmemif ] && sec=7
		page=$(man "${man_args[@]}" -w "$sec" "$f" 2>/dev/null) || {
			echo "man ${man_args[*]} $sec $f: no page"
			exit 1
		}
		case "$(readlink -f "$page")" in
		"$prefix"/*) ;;
		*) echo "man $sec $f finds $page, not a page under $prefix"; exit 1 ;;
		esac
		n=$((n + 1))
	done
	man "${man_args[@]}" 3 memif_create 2>/dev/null | grep -q 'memif_create' ||
		{ echo "man 3 memif_create does not render"; exit 1; }
	echo "man finds all $n pages"
else
	echo "man is not installed: man pages not checked"
fi

echo "ok: downstream builds against $prefix (pkg-config, find_package, man)"
