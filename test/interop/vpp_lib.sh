# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# vpp_lib.sh - a real VPP for the tests: sourced, not run.
#
# Starts FD.io VPP (26.06, memif and ping plugins only) as an ordinary process
# in a private directory: its own startup.conf, CLI, API and stats sockets,
# runtime-dir and api-segment prefix, so nothing lands in /run/vpp, and VPP's
# shared-memory files go to a private tmpfs on /dev/shm (a mount namespace of
# its own), so nothing lands in the host's /dev/shm either.
#
# Where VPP comes from, first found wins:
#   MEMIF_VPP_DIR=DIR        an unpacked or installed VPP: DIR/bin/vpp,
#                            DIR/bin/vppctl, libraries in DIR/lib/x86_64-linux-gnu
#                            (or DIR/lib); e.g. /usr for Debian's vpp packages
#   MEMIF_VPP_TARBALL=FILE   a vpp-*-memif-runtime.tar.xz, unpacked per use
#   <source>/../shared/peers/vpp/vpp-26.06-memif-runtime.tar.xz, beside the checkout
# Without any of them vpp_find prints "skipped: ..." and how to point it at a
# VPP, and exits 77 (CTest's skip; scripts/test.sh fails a skip under CI=true).
#
# API (every function returns non-zero on failure; vpp_start and vppctl never
# exit the caller):
#   vpp_find WORKDIR            locate (unpack) VPP; sets VPP_BIN, VPPCTL_BIN, VPP_LIBDIR
#   vpp_start [NAME [CONF...]]  start one instance in WORKDIR/vpp-NAME, extra
#                               startup.conf lines appended; waits for its CLI
#                               (10 s). Sets VPP_PID, VPP_DIR (the instance's
#                               directory) and VPP_CLI. Several instances may run:
#                               vpp_use NAME switches VPP_* between them.
#   vppctl ARGS...              one CLI command against the current instance; its
#                               output on stdout, and logged in VPP_DIR/cli.log
#   vpp_cli ARGS...             the same for a command that changes something:
#                               fails (output on stderr) when VPP answers with an
#                               error ("create memif socket: ...", "unknown input")
#   vpp_stop [NAME]             SIGTERM, then SIGKILL after 5 s; reaped
#   vpp_kill [NAME]             SIGKILL at once (a crash, for fault tests); reaped
#   vpp_stop_all                stop every instance still running: call it from
#                               the caller's EXIT trap
#   vpp_wait_connected IF SECS  until `show memif IF` says "connected"
#   vpp_wait_disconnected IF SECS  until it no longer does
#   vpp_ping ADDR [ARGS...]     `ping ADDR ARGS`; the count of replies in
#                               VPP_PING_RX, the whole output in VPP_PING_OUT
#   vpp_if_counter IF NAME      a counter of `show interface IF` (e.g. "rx packets",
#                               "tx packets", "drops"); 0 when VPP shows none
#   vpp_if_rx_mode IF MODE      rx-mode of every queue of IF (interrupt | polling |
#                               adaptive); only once IF is connected: VPP accepts
#                               it before and does nothing, and a reconnected
#                               interface is back in polling
#   vpp_show_memif IF           `show memif IF` in VPP_MEMIF
#   vpp_ring FIELD DIR Q        from VPP_MEMIF: FIELD (ring-size, head, tail, flags,
#                               interrupts) of ring Q in direction DIR (s2m | m2s)
#   vpp_dump                    the current instance's log and `show memif`
#
# Safety net: VPP is started with a parent-death signal (setpriv --pdeathsig
# KILL), so even a test script killed with SIGKILL leaves no VPP behind.
# A connected memif interface in VPP's default rx-mode polls a whole core: put
# interfaces in interrupt mode unless polling is under test
# (vpp_if_rx_mode IF interrupt, once the interface is connected).

VPP_BIN="" VPPCTL_BIN="" VPP_LIBDIR="" VPP_WORK=""
VPP_PID="" VPP_DIR="" VPP_CLI="" VPP_NAME=""
VPP_PING_RX=0 VPP_PING_OUT=""
declare -A VPP_PIDS=()

vpp__src_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); }

vpp__skip() {
	echo "skipped: $*"
	echo "skipped: the real-VPP tests need FD.io VPP with the memif and ping plugins;" \
		"set MEMIF_VPP_DIR=DIR (DIR/bin/vpp, DIR/bin/vppctl) or" \
		"MEMIF_VPP_TARBALL=vpp-26.06-memif-runtime.tar.xz"
	exit 77
}

# vpp_find WORKDIR
vpp_find() {
	VPP_WORK=$1
	local dir="" tarball=""
	if [ -n "${MEMIF_VPP_DIR:-}" ]; then
		dir=$MEMIF_VPP_DIR
		[ -x "$dir/bin/vpp" ] && [ -x "$dir/bin/vppctl" ] ||
			vpp__skip "MEMIF_VPP_DIR=$dir has no bin/vpp and bin/vppctl"
	else
		tarball=${MEMIF_VPP_TARBALL:-$(vpp__src_root)/../shared/peers/vpp/vpp-26.06-memif-runtime.tar.xz}
		[ -f "$tarball" ] || vpp__skip "no VPP: $tarball does not exist and MEMIF_VPP_DIR is not set"
		mkdir -p "$VPP_WORK/vpp-runtime"
		tar -xJf "$tarball" -C "$VPP_WORK/vpp-runtime" ||
			vpp__skip "cannot unpack $tarball"
		dir="$VPP_WORK/vpp-runtime/vpp"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		vpp__skip "the real-VPP tests run VPP as root (a mount namespace for its /dev/shm files)"
	fi
	VPP_BIN=$dir/bin/vpp
	VPPCTL_BIN=$dir/bin/vppctl
	if [ -d "$dir/lib/x86_64-linux-gnu" ]; then
		VPP_LIBDIR=$dir/lib/x86_64-linux-gnu
	else
		VPP_LIBDIR=$dir/lib
	fi
	[ -x "$VPP_BIN" ] || vpp__skip "no executable $VPP_BIN"
	return 0
}

# vpp_use NAME: make instance NAME the current one.
vpp_use() {
	VPP_NAME=$1
	VPP_DIR="$VPP_WORK/vpp-$1"
	VPP_CLI="$VPP_DIR/cli.sock"
	VPP_PID=${VPP_PIDS[$1]:-}
}

# vpp_start [NAME [extra startup.conf lines...]]
vpp_start() {
	local name=${1:-vpp}
	shift || true
	[ -n "$VPP_BIN" ] || { echo "vpp_start: call vpp_find first" >&2; return 1; }
	vpp_use "$name"
	rm -rf "$VPP_DIR"
	mkdir -p "$VPP_DIR/run"
	# The api-segment prefix names VPP's shared-memory files; unique per
	# instance and run, although they land on a private tmpfs anyway.
	local prefix="memif-test-$$-$name"
	cat >"$VPP_DIR/startup.conf" <<EOF
unix { nodaemon cli-listen $VPP_DIR/cli.sock log $VPP_DIR/vpp.log runtime-dir $VPP_DIR/run pidfile $VPP_DIR/run/vpp.pid }
api-segment { prefix $prefix }
socksvr { socket-name $VPP_DIR/api.sock }
plugins { plugin default { disable } plugin memif_plugin.so { enable } plugin ping_plugin.so { enable } }
memory { main-heap-size 512M main-heap-page-size 4k }
buffers { buffers-per-numa 16384 page-size 4k }
statseg { socket-name $VPP_DIR/stats.sock size 32M page-size 4k }
EOF
	local line
	for line in "$@"; do
		printf '%s\n' "$line" >>"$VPP_DIR/startup.conf"
	done
	# One process all along (unshare, sh, setpriv and vpp each exec the next),
	# so $! is VPP's pid and this shell is its parent.
	LD_LIBRARY_PATH=$VPP_LIBDIR unshare --mount --propagation private -- \
		sh -c 'mount -t tmpfs -o size=256m,mode=1777 memif-test-shm /dev/shm && exec "$@"' sh \
		setpriv --pdeathsig KILL -- "$VPP_BIN" -c "$VPP_DIR/startup.conf" \
		</dev/null >"$VPP_DIR/stdout.log" 2>&1 &
	VPP_PID=$!
	VPP_PIDS[$name]=$VPP_PID
	echo "+ vpp -c $VPP_DIR/startup.conf (pid $VPP_PID)" >>"$VPP_WORK/commands"
	local end=$((SECONDS + 10))
	while [ $SECONDS -lt $end ]; do
		if ! kill -0 "$VPP_PID" 2>/dev/null; then
			echo "vpp_start: VPP exited at start-up" >&2
			vpp__reap "$name"
			vpp_dump >&2
			return 1
		fi
		if [ -S "$VPP_CLI" ] && vppctl show version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "vpp_start: VPP's CLI did not answer within 10 s" >&2
	vpp_dump >&2
	return 1
}

vpp__reap() {
	local name=$1 pid=${VPP_PIDS[$1]:-}
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	unset "VPP_PIDS[$name]"
	[ "$VPP_NAME" = "$name" ] && VPP_PID=""
	return 0
}

# vpp_stop [NAME]: SIGTERM, SIGKILL after 5 s.
vpp_stop() {
	local name=${1:-$VPP_NAME} pid i=0
	pid=${VPP_PIDS[$name]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	vpp__reap "$name"
}

# vpp_kill [NAME]: SIGKILL, as a crash would.
vpp_kill() {
	local name=${1:-$VPP_NAME} pid
	pid=${VPP_PIDS[$name]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	vpp__reap "$name"
}

vpp_stop_all() {
	local name
	for name in "${!VPP_PIDS[@]}"; do
		vpp_stop "$name"
	done
}

# vppctl ARGS...: one CLI command against the current instance.
vppctl() {
	local out rc=0
	out=$(LD_LIBRARY_PATH=$VPP_LIBDIR timeout 10 "$VPPCTL_BIN" -s "$VPP_CLI" "$@" 2>&1) || rc=$?
	out=${out//$'\r'/} # vppctl ends its lines with CR LF
	{
		echo "vpp# $*"
		[ -n "$out" ] && printf '%s\n' "$out"
	} >>"$VPP_DIR/cli.log"
	[ -n "$out" ] && printf '%s\n' "$out"
	return $rc
}

# vpp_cli ARGS...: a configuration command; non-zero when VPP refused it.
# VPP's CLI answers an error with the command's path and a colon, or with
# "unknown input"; vppctl itself exits 0 either way.
vpp_cli() {
	local out rc=0
	out=$(vppctl "$@") || rc=$?
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -Eq '^[a-z][a-z0-9 -]*: |unknown input'; then
		echo "vpp# $*: ${out:-vppctl exited with $rc}" >&2
		return 1
	fi
	[ -n "$out" ] && printf '%s\n' "$out"
	return 0
}

# vpp_wait_connected IF SECS
vpp_wait_connected() {
	local ifname=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		vppctl show memif "$ifname" 2>/dev/null | grep -q '^ *flags .*connected' && return 0
		sleep 0.1
	done
	return 1
}

# vpp_wait_disconnected IF SECS
vpp_wait_disconnected() {
	local ifname=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		vppctl show memif "$ifname" 2>/dev/null | grep -q '^ *flags .*connected' || return 0
		sleep 0.1
	done
	return 1
}

# vpp_if_rx_mode IF MODE: every receive queue of IF (interrupt | polling | adaptive).
vpp_if_rx_mode() {
	vpp_cli set interface rx-mode "$1" "$2" >/dev/null
}

VPP_MEMIF=""
vpp_show_memif() {
	VPP_MEMIF=$(vppctl show memif "$1")
}

# vpp_ring FIELD s2m|m2s Q: e.g. vpp_ring flags s2m 0 -> 0x0001
vpp_ring() {
	local field=$1 dir=slave-to-master
	[ "$2" = m2s ] && dir=master-to-slave
	printf '%s\n' "$VPP_MEMIF" | awk -v hdr="$dir ring $3:" -v f="$field" '
		$0 ~ "^ *" hdr "$" { on = 1; next }
		on && /ring [0-9]+:$/ { exit }
		on { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# vpp_ping ADDR [ARGS...]
vpp_ping() {
	VPP_PING_OUT=$(vppctl ping "$@")
	VPP_PING_RX=$(printf '%s\n' "$VPP_PING_OUT" |
		sed -n 's/^Statistics: [0-9]* sent, \([0-9]*\) received.*/\1/p' | tail -n 1)
	VPP_PING_RX=${VPP_PING_RX:-0}
}

# vpp_if_counter IF NAME: e.g. vpp_if_counter memif1/0 "rx packets"
vpp_if_counter() {
	local ifname=$1 counter=$2 v
	v=$(vppctl show interface "$ifname" | sed -n "s/.* $counter  *\([0-9][0-9]*\) *\$/\1/p" | head -n 1)
	echo "${v:-0}"
}

vpp_dump() {
	echo "----- VPP ${VPP_NAME:-?} ($VPP_DIR) -----"
	[ -f "$VPP_DIR/stdout.log" ] && tail -n 30 "$VPP_DIR/stdout.log"
	[ -f "$VPP_DIR/vpp.log" ] && tail -n 30 "$VPP_DIR/vpp.log"
	if [ -n "$VPP_PID" ] && kill -0 "$VPP_PID" 2>/dev/null; then
		vppctl show memif 2>/dev/null | head -n 60
	fi
	[ -f "$VPP_DIR/cli.log" ] && { echo "--- CLI:"; tail -n 60 "$VPP_DIR/cli.log"; }
	echo "----- end of VPP -----"
}
