#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Usage: node_memif.sh BUILD_DIR RESPONDER [CACHE_DIR]
#
# A real third-party consumer: the npm package `memif` (node-memif, a C++
# addon written for upstream libmemif 4.0), unchanged, built with node-gyp
# against our library installed into a temporary prefix, then run
# (node_memif.mjs) against our icmp-responder in both roles: the node side
# as slave ("client") and as master ("server"), frames of 60 to 9000 bytes
# (up to 5 chained 2048-byte buffers each way).
#
#   BUILD_DIR  the build tree to install (cmake --install) and test
#   RESPONDER  the icmp-responder program of that tree
#   CACHE_DIR  where the package tarball and npm's cache are kept between
#              runs (default BUILD_DIR/test/binding/npm)
#
# Environment: NODE_MEMIF_SPEC, the package to fetch (default
# memif@0.0.20250210, the version this test was written against).
#
# Exit 0 on success, 1 on failure, 77 ("skipped: <why>") when node, npm,
# node-gyp, the node headers or a compiler are missing, or when the npm
# registry is unreachable and the cache cannot stand in for it.
set -u

build=$(cd "${1:?build dir}" && pwd)
responder=${2:?icmp-responder}
cache=${3:-$build/test/binding/npm}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
spec=${NODE_MEMIF_SPEC:-memif@0.0.20250210}

# shellcheck disable=SC2034 # read by lib.sh
EX_BINDIR=$(dirname "$responder")
# shellcheck source=examples/tests/lib.sh
. "$src/examples/tests/lib.sh"

# ---- What the build needs --------------------------------------------------------

for tool in node npm make python3; do
	command -v "$tool" >/dev/null 2>&1 || t_skip "$tool is not installed"
done
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 ||
	t_skip "no C++ compiler"
# The addon is built with --nodedir=/usr: node's headers and common.gypi
# (Debian: libnode-dev, or the nodejs package of NodeSource).
if [ ! -f /usr/include/node/node_api.h ] || [ ! -f /usr/include/node/common.gypi ]; then
	t_skip "node headers missing in /usr/include/node (Debian: libnode-dev)"
fi
# node-gyp: Debian's package (/usr/bin/node-gyp) or the copy inside npm.
if command -v node-gyp >/dev/null 2>&1; then
	gyp=(node-gyp)
else
	npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
	gyp_js=$npm_dir/node_modules/node-gyp/bin/node-gyp.js
	[ -f "$gyp_js" ] || t_skip "node-gyp not found (Debian: node-gyp)"
	gyp=(node "$gyp_js")
fi
t_need_programs "$responder"

t_log "node $(node --version), npm $(npm --version), node-gyp $("${gyp[@]}" --version)"

# ---- The package, from the registry or the cache ------------------------------

mkdir -p "$cache"
export npm_config_cache=$cache/cache
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
npm_net=(--fetch-timeout=30000 --fetch-retries=1)

registry_down() {
	! timeout 60 npm ping "${npm_net[@]}" >"$T_DIR/npm-ping.log" 2>&1
}

# An exact version is fetched once and then taken from the cache.
tarball=
case "$spec" in
*@[0-9]*) tarball=$(find "$cache" -maxdepth 1 -name "${spec%@*}-${spec##*@}.tgz" -print -quit) ;;
esac
if [ -z "$tarball" ]; then
	# npm pack prints the tarball's file name on stdout, notices on stderr.
	if ! (cd "$cache" && timeout 120 npm pack "${npm_net[@]}" "$spec") >"$T_DIR/npm-pack.out" \
		2>"$T_DIR/npm-pack.log"; then
		registry_down && t_skip "npm registry unreachable"
		t_fail "npm pack $spec failed with the registry up"
	fi
	tarball=$cache/$(tail -n 1 "$T_DIR/npm-pack.out")
	[ -f "$tarball" ] || t_fail "npm pack $spec made no $tarball"
fi
t_log "package $(basename "$tarball")"

# ---- Our library, installed into a prefix -------------------------------------

prefix=$T_DIR/prefix
manifest=$build/install_manifest.txt
if [ -f "$manifest" ]; then
	cp -p "$manifest" "$T_DIR/manifest.saved"
	T_CLEANUP_HOOKS+=("cp -p '$T_DIR/manifest.saved' '$manifest'")
else
	T_CLEANUP_HOOKS+=("rm -f '$manifest'")
fi
cmake --install "$build" --prefix "$prefix" >"$T_DIR/install.log" 2>&1 ||
	t_fail "cmake --install into $prefix"
libdir=$(dirname "$(find "$prefix" -name libmemif.so -print -quit)")
if [ ! -f "$prefix/include/libmemif.h" ] || [ ! -f "$libdir/libmemif.so" ]; then
	t_fail "no libmemif.h or libmemif.so under $prefix"
fi
[ -e /usr/local/lib/libmemif.so ] &&
	t_log "note: /usr/local/lib/libmemif.so exists (binding.gyp links with -L/usr/local/lib);" \
		"the run below still checks that the addon runs on $libdir"

# ---- The consumer: npm install, then node-gyp against the prefix ---------------

app=$T_DIR/app
mkdir -p "$app"
printf '{ "name": "memif-consumer", "version": "1.0.0", "private": true, "type": "module" }\n' \
	>"$app/package.json"
# --ignore-scripts: the package's install script is `node-gyp rebuild`, run
# below by hand with our paths (the package itself is not changed).
if ! (cd "$app" && timeout 180 npm install "${npm_net[@]}" --prefer-offline --ignore-scripts \
	"$tarball") >"$T_DIR/npm-install.log" 2>&1; then
	registry_down && t_skip "npm registry unreachable"
	t_fail "npm install $tarball failed with the registry up"
fi
pkg=$app/node_modules/memif
t_log "installed memif $(node -p "require('$pkg/package.json').version")," \
	"node-addon-api $(node -p "require('$app/node_modules/node-addon-api/package.json').version")"

# binding.gyp compiles src/memif.cc with #include <libmemif.h> and links
# -L/usr/local/lib -lmemif: CPATH and LIBRARY_PATH put our prefix first.
if ! (cd "$pkg" &&
	CPATH="$prefix/include${CPATH:+:$CPATH}" LIBRARY_PATH="$libdir${LIBRARY_PATH:+:$LIBRARY_PATH}" \
		timeout 240 "${gyp[@]}" rebuild --nodedir=/usr) >"$T_DIR/node-gyp.log" 2>&1; then
	grep -E 'error|undefined reference' "$T_DIR/node-gyp.log" | head -n 40
	t_fail "node-gyp could not build the addon against $prefix (log above)"
fi
addon=$pkg/build/Release/memif-native.node
[ -f "$addon" ] || t_fail "node-gyp built no $addon"
# The compiler's dependency file names the header it really read.
deps=$(find "$pkg/build" -name 'memif.o.d' -print -quit)
grep -q "$prefix/include/libmemif.h" "$deps" ||
	t_fail "the addon was not compiled with $prefix/include/libmemif.h: $(grep -o '[^ ]*libmemif\.h' "$deps")"
t_log "addon built against $prefix/include/libmemif.h"
cp "$here/node_memif.mjs" "$app/"

# ---- Runs against icmp-responder ------------------------------------------------

# LD_BIND_NOW: every symbol the addon uses must resolve in our library at load.
node_env=(env LD_LIBRARY_PATH="$libdir" LD_BIND_NOW=1)
node_cmd=(node "$app/node_memif.mjs" --lib-dir "$libdir" --responder-ip 192.0.2.1
	--responder-mac 02:fe:00:00:00:01)
resp_args=(-S "$T_DIR/memif.sock" -b 2048 -a 192.0.2.1 --mac 02:fe:00:00:00:01 --no-stdin)

check_responder() { # check_responder LOG NODE_LOG: its counters match what node sent
	local rlog=$1 nlog=$2 n
	n=$(sed -n 's/^PASS: .* exchanged \([0-9]*\) packets .*/\1/p' "$nlog")
	[ -n "$n" ] || t_fail "no PASS line in $(basename "$nlog")"
	t_expect_log "$rlog" '^caught signal 15, stopping$'
	t_expect_log "$rlog" "counters: rx $n packets, tx $n packets, 1 arp replies, $((n - 1)) icmp replies, 0 ignored, 0 bad, 0 tx drops"
	t_expect_log "$rlog" 'connected to .*\(app "node-memif"\)'
}

run_role() { # run_role client|server
	local role=$1 rc=0 resp_role=master
	[ "$role" = client ] || resp_role=slave
	rm -f "$T_DIR/memif.sock"
	t_log "node-memif as $role, icmp-responder as $resp_role"
	if [ "$role" = client ]; then
		t_bg "responder-$role" 90 "$responder" --role "$resp_role" "${resp_args[@]}"
		local resp_pid=$T_BG_PID
		t_wait_log "$T_DIR/responder-$role.log" '^icmp-responder: ' 10
		(cd "$app" && timeout -k 10 60 "${node_env[@]}" "${node_cmd[@]}" --role "$role" \
			--socket "$T_DIR/memif.sock") >"$T_DIR/node-$role.log" 2>&1 || rc=$?
	else
		(cd "$app" && exec timeout -k 10 60 "${node_env[@]}" "${node_cmd[@]}" --role "$role" \
			--socket "$T_DIR/memif.sock") >"$T_DIR/node-$role.log" 2>&1 &
		local node_pid=$!
		T_PIDS+=("$node_pid")
		t_wait_log "$T_DIR/node-$role.log" 'waiting for the link' 20
		t_bg "responder-$role" 90 "$responder" --role "$resp_role" "${resp_args[@]}"
		local resp_pid=$T_BG_PID
		t_wait "$node_pid" || rc=$?
	fi
	[ "$rc" -eq 0 ] || t_fail "node-memif as $role exited with $rc"
	rc=0
	t_stop "$resp_pid" || rc=$?
	[ "$rc" -eq 0 ] || t_fail "icmp-responder ($resp_role) exited with $rc after SIGTERM"
	check_responder "$T_DIR/responder-$role.log" "$T_DIR/node-$role.log"
	grep -E '^\[node|^PASS' "$T_DIR/node-$role.log"
}

run_role client
run_role server
t_log "ok: $(basename "$tarball") built against the installed libmemif, both roles, up to 9000-byte chained frames"
