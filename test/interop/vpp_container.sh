#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_container.sh - the examples in containers next to a real VPP.
#
#   --responder PATH   icmp-responder
#   --pinger PATH      icmp-pinger
#   --bin-dir DIR      both, from DIR (as the other vpp_real_*.sh cells take
#                      them; their --bench PATH is accepted and not used)
#   --keep             keep the work directory (logs, VPP's CLI log)
#
# VPP runs outside, in the host's namespaces (vpp_lib.sh). Each example runs
# in a container made by container_run.sh: its own mount, PID, network, IPC
# and UTS namespaces, the host's /usr and /etc and the build tree read-only,
# and one shared directory, VOLUME, at /run/vpp: VPP's socket directory, as a
# container volume. The examples run as nobody (65534:65534), without any
# capability. VOLUME is setgid to group 65534 and group-writable, so VPP's
# socket file (VPP makes it 0775) belongs to the container user's group.
# One VPP serves every case:
#
#   1. VPP master on VOLUME/memif.sock, icmp-responder slave in a container:
#      without write permission on the socket file the responder cannot
#      connect; with it, VPP pings 5 of 5 after a warm-up. The responder ran
#      in namespaces other than ours, saw itself as pid 1, had no capability,
#      and its memfd (sealed) and eventfds are open in VPP.
#   2. icmp-pinger slave in a container gets 5 of 5 from VPP.
#   3. icmp-responder master in a container creates VOLUME/responder.sock;
#      VPP, slave (zero copy), connects to it; 5 of 5; VPP's memfds and
#      eventfds are open in the responder.
#   4. An abstract socket does not cross a network namespace: VPP listens on
#      abstract:NAME, the responder in a container connects to @NAME and
#      never reaches it; the same container sharing the host's network
#      namespace connects and answers 5 of 5.
#
# At the end no process is left in any of the containers' namespaces and no
# container mount in ours. Needs root (unshare) and VPP (vpp_lib.sh: skipped
# with exit 77 otherwise).

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vpp_lib.sh
. "$here/vpp_lib.sh"

RESPONDER="" PINGER="" KEEP=0
usage() { sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--responder) RESPONDER=$2; shift ;;
	--pinger) PINGER=$2; shift ;;
	--bin-dir) RESPONDER=$2/icmp-responder PINGER=$2/icmp-pinger; shift ;;
	--bench) shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for b in "$RESPONDER" "$PINGER"; do
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		echo "not found: '$b' (pass --responder and --pinger)" >&2
		exit 2
	fi
done
# Absolute paths: they are the same inside the containers.
RESPONDER=$(realpath "$RESPONDER")
PINGER=$(realpath "$PINGER")

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: containers need root here (unshare of mount, PID, network, IPC, UTS)"
	exit 77
fi
if ! unshare --mount --pid --fork --net --ipc --uts --kill-child -- true 2>/dev/null; then
	echo "skipped: unshare --mount --pid --fork --net --ipc --uts is not permitted here"
	exit 77
fi

WORK=$(mktemp -d /tmp/memif-vpp-ct.XXXXXX)
VOLUME=$WORK/volume
CT_USER=65534:65534
declare -A CT_UNSHARE=() CT_PID=() # by container name: unshare's pid, the app's
CT_NS=()                           # "type:[inode]" of every namespace of ours not shared

cleanup() {
	local rc=$? name
	for name in "${!CT_UNSHARE[@]}"; do
		ct_stop "$name" >/dev/null 2>&1
	done
	vpp_stop_all
	if [ "$KEEP" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	local f
	for f in "$WORK"/ct-*.log; do
		[ -f "$f" ] && show_log "$(basename "$f" .log)" "$f" 30
	done
	[ -n "$VPP_NAME" ] && vpp_dump
	exit 1
}

show_log() {
	echo "----- $1 ($2) -----"
	tail -n "$3" "$2"
	echo "----- end of $1 -----"
}

# What a container needs read-only beyond /usr: the programs' directories and
# the directory of the libmemif they load (the build tree, or an install).
ro_dirs() {
	local b lib
	for b in "$RESPONDER" "$PINGER"; do
		dirname "$b"
		lib=$(ldd "$b" | sed -n 's/^\s*libmemif\.so[.0-9]* => \(\S*\) .*/\1/p')
		[ -n "$lib" ] && dirname "$(realpath "$lib")"
	done | sort -u
}
mapfile -t RO_DIRS < <(ro_dirs)

# ct_start NAME own|host COMMAND...: COMMAND in a container, its output in
# WORK/ct-NAME.log; own network namespace or the host's. Sets CT_PID[NAME],
# the app's pid as we see it (it is pid 1 inside), once it runs COMMAND.
ct_start() {
	local name=$1 net=$2 pid="" comm end
	shift 2
	local ns=(--mount --pid --fork)
	[ "$net" = own ] && ns+=(--net)
	ns+=(--ipc --uts --kill-child)
	local cmd=(unshare "${ns[@]}" -- bash "$here/container_run.sh" "$WORK/ct-$name-root"
		"$VOLUME" "$CT_USER" "${RO_DIRS[@]}" -- "$@")
	mkdir -p "$WORK/ct-$name-root"
	printf '%q ' "${cmd[@]}" >>"$WORK/commands"
	echo >>"$WORK/commands"
	# setpriv: unshare dies with us, even by SIGKILL, and with it (--kill-child)
	# the container.
	setpriv --pdeathsig KILL -- "${cmd[@]}" </dev/null >"$WORK/ct-$name.log" 2>&1 &
	CT_UNSHARE[$name]=$!
	comm=$(basename "$1")
	comm=${comm:0:15}
	end=$((SECONDS + 10))
	while [ $SECONDS -lt $end ]; do
		kill -0 "${CT_UNSHARE[$name]}" 2>/dev/null || break
		pid=$(cat "/proc/${CT_UNSHARE[$name]}/task/${CT_UNSHARE[$name]}/children" 2>/dev/null)
		pid=${pid// /}
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
			CT_PID[$name]=$pid
			ct_record_ns "$pid"
			return 0
		fi
		sleep 0.05
	done
	fail "container $name did not start $1"
}

# Namespaces of PID that are not ours, for the final check.
ct_record_ns() {
	local t mine theirs
	for t in mnt pid net ipc uts; do
		mine=$(readlink "/proc/$$/ns/$t")
		theirs=$(readlink "/proc/$1/ns/$t")
		[ "$theirs" != "$mine" ] && CT_NS+=("$theirs")
	done
	return 0
}

# ct_stop NAME: SIGTERM to the app (the container's init: unshare reaps it,
# and the namespaces go with it), SIGKILL after 5 s; the app's exit status in
# CT_RC. unshare is killed only when it outlives the app: killing it first
# would leave the app to the host's init.
ct_stop() {
	local name=$1 up=${CT_UNSHARE[$1]:-} pid=${CT_PID[$1]:-} i=0
	CT_RC=0
	[ -n "$up" ] || return 0
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	while kill -0 "$up" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$up" 2>/dev/null; then
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		sleep 0.2
		kill -KILL "$up" 2>/dev/null
	fi
	wait "$up"
	CT_RC=$?
	unset "CT_UNSHARE[$name]" "CT_PID[$name]"
}

# ct_wait NAME SECS: until the app exits by itself; its status in CT_RC.
ct_wait() {
	local up=${CT_UNSHARE[$1]} end=$((SECONDS + $2))
	while kill -0 "$up" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
	kill -0 "$up" 2>/dev/null && fail "container $1 still runs after $2 s"
	wait "$up"
	CT_RC=$?
	unset "CT_UNSHARE[$1]" "CT_PID[$1]"
}

# check_isolated PID own|host: PID runs in mount, PID, IPC and UTS namespaces
# other than ours (and network too when own), as pid 1 of its PID namespace,
# as 65534 with no capability.
check_isolated() {
	local pid=$1 net=$2 t mine theirs nspid
	for t in mnt pid ipc uts net; do
		mine=$(readlink "/proc/$$/ns/$t")
		theirs=$(readlink "/proc/$pid/ns/$t")
		if [ "$t" = net ] && [ "$net" = host ]; then
			[ "$theirs" = "$mine" ] || fail "pid $pid: not in our network namespace"
		else
			[ "$theirs" != "$mine" ] || fail "pid $pid: in our $t namespace ($mine)"
		fi
	done
	nspid=$(sed -n 's/^NSpid:\s*//p' "/proc/$pid/status")
	[ "${nspid##*[[:space:]]}" = 1 ] || fail "pid $pid: NSpid '$nspid', not 1 inside"
	grep -Eq '^Uid:\s+65534\s+65534\s+65534\s+65534$' "/proc/$pid/status" ||
		fail "pid $pid: not uid 65534: $(grep '^Uid:' "/proc/$pid/status")"
	grep -Eq '^CapEff:\s+0+$' "/proc/$pid/status" || fail "pid $pid: has capabilities"
	grep -Eq '^CapBnd:\s+0+$' "/proc/$pid/status" || fail "pid $pid: has a bounding set"
	# What it sees: the volume, no /dev/shm, not our work directory.
	[ -d "/proc/$pid/root/run/vpp" ] || fail "pid $pid: no /run/vpp inside"
	[ ! -e "/proc/$pid/root/dev/shm" ] || fail "pid $pid: /dev/shm exists inside"
	[ ! -e "/proc/$pid/root$WORK" ] || fail "pid $pid: sees $WORK"
	echo "pid $pid: pid 1 in its own namespaces (net: $net), uid 65534, no capabilities"
}

# fd_ids PID: the memfds ("memfd INODE") and eventfds ("eventfd ID") PID holds.
fd_ids() {
	local fd link
	for fd in "/proc/$1/fd"/*; do
		link=$(readlink "$fd" 2>/dev/null) || continue
		case $link in
		/memfd:*) echo "memfd $(sed -n 's/^ino:\s*//p' "/proc/$1/fdinfo/${fd##*/}")" ;;
		'anon_inode:[eventfd]') echo "eventfd $(sed -n 's/^eventfd-id:\s*//p' "/proc/$1/fdinfo/${fd##*/}")" ;;
		esac
	done | sort -u
}

# check_shared_fds A B MEMFDS EVENTFDS: at least that many memfds and eventfds
# open in both processes (the same files: passed with SCM_RIGHTS).
check_shared_fds() {
	local both m e
	both=$(comm -12 <(fd_ids "$1") <(fd_ids "$2"))
	m=$(grep -c '^memfd ' <<<"$both")
	e=$(grep -c '^eventfd ' <<<"$both")
	[ "$m" -ge "$3" ] || fail "pids $1 and $2 share $m memfds, not $3"
	[ "$e" -ge "$4" ] || fail "pids $1 and $2 share $e eventfds, not $4"
	echo "pids $1 and $2 share $m memfds and $e eventfds"
}

# seals_in PID OTHER: the seals (F_GET_SEALS) of each memfd PID holds that
# OTHER holds too, one line each.
seals_in() {
	local fd ino
	for fd in "/proc/$1/fd"/*; do
		case $(readlink "$fd") in /memfd:*) ;; *) continue ;; esac
		ino=$(sed -n 's/^ino:\s*//p' "/proc/$1/fdinfo/${fd##*/}")
		fd_ids "$2" | grep -qx "memfd $ino" || continue
		python3 -c 'import fcntl, os, sys
s = fcntl.fcntl(os.open(sys.argv[1], os.O_RDONLY), fcntl.F_GET_SEALS)
print(" ".join(n for n, b in (("seal", fcntl.F_SEAL_SEAL), ("shrink", fcntl.F_SEAL_SHRINK),
    ("grow", fcntl.F_SEAL_GROW), ("write", fcntl.F_SEAL_WRITE)) if s & b) or "none")' "$fd"
	done
}

# ping5 ADDR: a warm-up ping (lost to ARP on a fresh link), then 5 of 5.
ping5() {
	vpp_ping "$1" repeat 1 >/dev/null
	vpp_ping "$1" repeat 5 interval 0.2
	[ "$VPP_PING_RX" = 5 ] || fail "VPP got $VPP_PING_RX of 5 replies from $1: $VPP_PING_OUT"
	echo "VPP: 5 of 5 replies from $1"
}

# responder_done NAME: stop the responder; it exits 0 and answered >= 5 echoes.
responder_done() {
	local n
	ct_stop "$1"
	[ "$CT_RC" = 0 ] || fail "icmp-responder in container $1 exited with $CT_RC"
	n=$(sed -n 's/.* \([0-9]*\) icmp replies, .*/\1/p' "$WORK/ct-$1.log")
	[ "${n:-0}" -ge 5 ] || fail "icmp-responder in container $1 answered ${n:-0} echo requests"
	grep -q ' 0 bad, 0 tx drops, ' "$WORK/ct-$1.log" || fail "bad packets or drops in $1"
	echo "icmp-responder in $1: $n icmp replies, exit 0"
}

not_connected_for() { # IF SECS
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		vppctl show memif "$1" | grep -q '^ *flags .*connected' && return 1
		sleep 0.2
	done
	return 0
}

vpp_find "$WORK"
# The volume: setgid, so that the files VPP creates in it get the group of
# the container's user; group-writable, so that a container can create its
# own socket file in it.
install -d -m 2775 -g "${CT_USER#*:}" "$VOLUME"
vpp_start main || fail "VPP did not start"
ABSTRACT=memif-ct-$$

# VPP master on the volume: memif1/0 for the responder, memif1/1 for the
# pinger; on an abstract socket: memif2/0.
vppctl create memif socket id 1 filename "$VOLUME/memif.sock" >/dev/null
vppctl create interface memif id 0 socket-id 1 master >/dev/null
vppctl set int state memif1/0 up
vppctl set int ip address memif1/0 192.168.1.1/24
vppctl create interface memif id 1 socket-id 1 master >/dev/null
vppctl set int state memif1/1 up
vppctl set int ip address memif1/1 192.168.2.1/24
vppctl create memif socket id 2 filename "abstract:$ABSTRACT" >/dev/null
vppctl create interface memif id 0 socket-id 2 master >/dev/null
vppctl set int state memif2/0 up
vppctl set int ip address memif2/0 192.168.4.1/24
[ -S "$VOLUME/memif.sock" ] || fail "VPP made no $VOLUME/memif.sock"
echo "VPP's socket file: $(stat -c '%A %U:%G' "$VOLUME/memif.sock")"
[ "$(stat -c %g "$VOLUME/memif.sock")" = "${CT_USER#*:}" ] ||
	fail "VPP's socket file is not in group ${CT_USER#*:} (setgid volume)"

echo "== 1. VPP master, icmp-responder slave in a container"
# Connecting to a Unix socket file needs write permission on it.
chmod g-w "$VOLUME/memif.sock"
ct_start responder own "$RESPONDER" --slave -S /run/vpp/memif.sock -I 0 -a 192.168.1.2
check_isolated "${CT_PID[responder]}" own
not_connected_for memif1/0 3 || fail "connected without write permission on the socket file"
kill -0 "${CT_PID[responder]}" 2>/dev/null || fail "the responder gave up"
echo "no write permission on the socket file: not connected in 3 s"
chmod g+w "$VOLUME/memif.sock"
vpp_wait_connected memif1/0 5 || fail "memif1/0 did not connect once the socket file was writable"
vpp_if_rx_mode memif1/0 interrupt
echo "VPP: $(vppctl show memif memif1/0 | sed -n 's/^ *\(region [0-9]* size [0-9]*\).*/\1/p' | xargs)"
check_shared_fds "${CT_PID[responder]}" "$VPP_PID" 1 2
# Our slave's regions, as VPP holds them: sealed against shrinking (and
# against any further seal), the same files.
seals_in "$VPP_PID" "${CT_PID[responder]}" >"$WORK/seals"
echo "seals of the responder's memfds in VPP: $(sort "$WORK/seals" | uniq -c | xargs)"
[ -s "$WORK/seals" ] || fail "VPP holds none of the responder's memfds"
grep -vqx 'seal shrink' "$WORK/seals" && fail "a region in VPP is not sealed: $(cat "$WORK/seals")"
ping5 192.168.1.2
responder_done responder
vpp_wait_disconnected memif1/0 5 || fail "memif1/0 still connected"

echo "== 2. icmp-pinger slave in a container"
ct_start pinger own "$PINGER" --slave -S /run/vpp/memif.sock -I 1 -a 192.168.2.2 \
	-t 192.168.2.1 -c 5 -i 0.2
check_isolated "${CT_PID[pinger]}" own
vpp_wait_connected memif1/1 5 && vpp_if_rx_mode memif1/1 interrupt
ct_wait pinger 15
[ "$CT_RC" = 0 ] || fail "icmp-pinger exited with $CT_RC"
grep -q '^5 of 5 ICMP echo replies' "$WORK/ct-pinger.log" || fail "icmp-pinger did not get 5 of 5"
echo "icmp-pinger: 5 of 5 ICMP echo replies"

echo "== 3. icmp-responder master in a container, VPP slave"
ct_start master own "$RESPONDER" --master -S /run/vpp/responder.sock -I 0 -a 192.168.3.2
check_isolated "${CT_PID[master]}" own
end=$((SECONDS + 5))
while [ ! -S "$VOLUME/responder.sock" ] && [ $SECONDS -lt $end ]; do sleep 0.05; done
[ -S "$VOLUME/responder.sock" ] || fail "the responder made no socket file in the volume"
echo "the responder's socket file: $(stat -c '%A %U:%G' "$VOLUME/responder.sock")"
vppctl create memif socket id 3 filename "$VOLUME/responder.sock" >/dev/null
vppctl create interface memif id 0 socket-id 3 slave >/dev/null
vppctl set int state memif3/0 up
vppctl set int ip address memif3/0 192.168.3.1/24
vpp_wait_connected memif3/0 10 || fail "VPP's slave did not connect to the responder"
vpp_if_rx_mode memif3/0 interrupt
vppctl show memif memif3/0 | grep -q 'zero-copy' || fail "VPP's slave is not in zero copy"
# Region 0 (rings) and VPP's buffer pool.
check_shared_fds "${CT_PID[master]}" "$VPP_PID" 2 2
echo "seals of VPP's memfds in the responder: $(seals_in "${CT_PID[master]}" "$VPP_PID" | sort | uniq -c | xargs)"
ping5 192.168.3.2
responder_done master
[ ! -e "$VOLUME/responder.sock" ] || fail "the responder left its socket file behind"

echo "== 4. abstract sockets stay in their network namespace"
ct_start abstract own "$RESPONDER" --slave -S "@$ABSTRACT" -I 0 -a 192.168.4.2
check_isolated "${CT_PID[abstract]}" own
not_connected_for memif2/0 3 || fail "an abstract socket crossed network namespaces"
kill -0 "${CT_PID[abstract]}" 2>/dev/null || fail "the responder gave up"
echo "@$ABSTRACT from another network namespace: not connected in 3 s"
ct_stop abstract
[ "$CT_RC" = 0 ] || fail "icmp-responder in container abstract exited with $CT_RC"
ct_start abstract-hostnet host "$RESPONDER" --slave -S "@$ABSTRACT" -I 0 -a 192.168.4.2
check_isolated "${CT_PID[abstract-hostnet]}" host
vpp_wait_connected memif2/0 5 || fail "@$ABSTRACT did not connect from the host's network namespace"
vpp_if_rx_mode memif2/0 interrupt
ping5 192.168.4.2
responder_done abstract-hostnet

echo "== nothing left behind"
vpp_stop_all
for p in /proc/[0-9]*; do
	for t in mnt pid net ipc uts; do
		n=$(readlink "$p/ns/$t" 2>/dev/null) || continue
		for ns in "${CT_NS[@]}"; do
			[ "$n" = "$ns" ] && fail "process ${p#/proc/} is still in a container's namespace $ns"
		done
	done
done
grep -E "container-|$WORK" /proc/self/mountinfo && fail "container mounts in our mount namespace"
echo "no process in the ${#CT_NS[@]} container namespaces, no mount left"
echo "PASS"
