#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# memif-loopback: a master and a slave in one process exchange numbered
# frames and check every byte, in several configurations.
# shellcheck source=examples/tests/lib.sh
. "$(dirname "$0")/lib.sh"

t_need_programs "$LOOPBACK"

run() {
	local name=$1 rc=0
	shift
	timeout -k 30 60 "$LOOPBACK" -t 30 "$@" >"$T_DIR/$name.log" 2>&1 </dev/null || rc=$?
	[ "$rc" -eq 0 ] || t_fail "memif-loopback $* exited with $rc"
	t_expect_log "$T_DIR/$name.log" ' 0 errors, '
	t_log "$name: $(grep -E '^memif-loopback: ' "$T_DIR/$name.log")"
}

run interrupt -n 20000
run polling -n 20000 -p
# Frames up to 9000 bytes in 2048-byte buffers: chains of up to 5 buffers.
run chained -n 5000 -s 9000 -S "$T_DIR/lb.sock"
# The largest frames in small buffers on a small ring: 64-buffer chains.
run big-frames -n 500 -s 65535 -b 1024 -R 8
run tiny-ring -n 5000 -R 2 -s 200

# Usage errors are reported as such.
rc=0
"$LOOPBACK" --frames=0 >"$T_DIR/usage.log" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 2 ] || t_fail "a bad frame count gave exit status $rc, expected 2"
t_log "ok"
