#!/usr/bin/env bash
# Usage: check_deb.sh SOURCE_DIR C_COMPILER [SANITIZERS]
#
# Builds the .deb as docs/BuildInstructions.md says (a fresh build tree
# configured with -DCMAKE_INSTALL_PREFIX=/usr, `--target package`), checks
# its control fields and contents, then runs the downstream build test
# (downstream.sh: pkg-config, find_package(memif), man) against it twice:
#   1. unpacked with `dpkg -x` into a temporary root: always;
#   2. installed for real with `dpkg -i`, found where the system looks, then
#      purged with `dpkg -P` (checking every file went): only as root, when
#      no libmemif package or pkg-config module is installed already (a
#      machine someone installed libmemif on by hand is left alone), and not
#      with MEMIF_TEST_NO_SYSTEM=1.
set -euo pipefail

src=$(cd "${1:?source dir}" && pwd)
cc=${2:-cc}
sanitize=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -n "$sanitize" ]; then
	echo "skipped: package test under a sanitizer build ($sanitize)"
	exit 77
fi
for tool in dpkg-deb pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool is not installed"
		exit 77
	fi
done

tmp=$(mktemp -d /tmp/memif-deb-test.XXXXXX)
installed_by_us=no
cleanup() {
	if [ "$installed_by_us" = yes ]; then
		echo "cleanup: dpkg -P libmemif"
		dpkg -P libmemif >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { printf '== %s\n' "$*"; }

step "build the .deb"
build="$tmp/build-deb"
if ! cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_COMPILER="$cc" -DMEMIF_BUILD_TESTS=OFF -DMEMIF_BUILD_EXAMPLES=OFF \
	-DMEMIF_BUILD_BENCH=OFF >"$tmp/build.log" 2>&1 ||
	! cmake --build "$build" --parallel 2 >>"$tmp/build.log" 2>&1 ||
	! cmake --build "$build" --target package >>"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log"
	exit 1
fi
arch=$(dpkg --print-architecture)
deb="$build/libmemif_4.0.0_${arch}.deb"
[ -f "$deb" ] || { echo "no $deb; built:"; ls "$build"; exit 1; }
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"

step "control fields"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = libmemif ] || { echo "Package: $(field Package)"; exit 1; }
[ "$(field Version)" = 4.0.0 ] || { echo "Version: $(field Version)"; exit 1; }
case "$(field Depends)" in
*libc6*) echo "Depends: $(field Depends)" ;;
*) echo "Depends does not name libc6: '$(field Depends)'"; exit 1 ;;
esac
[ -n "$(field Description)" ] || { echo "no Description"; exit 1; }

step "contents"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for f in \
	"/usr/lib/$multiarch/libmemif.so.4.0.0" "/usr/lib/$multiarch/libmemif.so.4" \
	"/usr/lib/$multiarch/libmemif.so" "/usr/lib/$multiarch/pkgconfig/libmemif.pc" \
	"/usr/lib/$multiarch/cmake/memif/memifConfig.cmake" /usr/include/libmemif.h \
	/usr/include/memif.h /usr/share/man/man7/libmemif.7 /usr/share/man/man3/memif_create.3 \
	/usr/share/doc/libmemif/README.md /usr/share/doc/libmemif/docs/GettingStarted.md; do
	grep -qx "$f" "$tmp/contents" || { echo "missing from the package: $f"; exit 1; }
done
bad=$(grep -Ev '^/usr/(lib|include|share)(/|$)' "$tmp/contents" | grep -v '^/usr/$' || true)
[ -z "$bad" ] || { echo "files outside /usr/{lib,include,share}:"; echo "$bad"; exit 1; }
echo "$(grep -c '[^/]$' "$tmp/contents") files, all under /usr/{lib,include,share}"

step "dpkg -x into a temporary root"
dpkg -x "$deb" "$tmp/root"
bash "$here/downstream.sh" "$tmp/root/usr" "$cc"

step "dpkg -i, then dpkg -P"
why=""
if [ "$(id -u)" -ne 0 ]; then
	why="not root"
elif [ -n "${MEMIF_TEST_NO_SYSTEM:-}" ]; then
	why="MEMIF_TEST_NO_SYSTEM is set"
elif dpkg-query -W -f='${db:Status-Status}' libmemif 2>/dev/null | grep -q installed; then
	why="a libmemif package is installed already (left alone)"
elif pkg-config --exists libmemif 2>/dev/null; then
	why="pkg-config already finds a libmemif ($(pkg-config --variable=pcfiledir libmemif))"
fi
if [ -n "$why" ]; then
	echo "not run: $why"
	echo "ok: the .deb builds, and its unpacked contents pass the downstream build test"
	exit 0
fi
installed_by_us=yes
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
dpkg -L libmemif >"$tmp/files"
bash "$here/downstream.sh" /usr "$cc" --system
dpkg -P libmemif >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
installed_by_us=no
left=""
while read -r f; do
	if [ -f "$f" ] || [ -L "$f" ]; then
		left="$left $f"
	fi
done <"$tmp/files"
[ -z "$left" ] || { echo "dpkg -P left files behind:$left"; exit 1; }
if ldconfig -p | grep -q 'libmemif\.so'; then
	echo "the dynamic linker cache still lists libmemif after dpkg -P"
	exit 1
fi
echo "ok: the .deb builds, installs, passes the downstream build test, and removes cleanly"
