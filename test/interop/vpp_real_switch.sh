#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_real_switch.sh - a real VPP (26.06) as the switch between our programs,
# the way it is deployed: each program has a memif interface into VPP, and
# VPP's layer 2 joins them.
#
#   vpp_real_switch.sh --bin-dir DIR [--keep]         xconnect and bridge cells
#   vpp_real_switch.sh --bin-dir DIR --tap [--keep]   memif-tap behind VPP
#
# xconnect: memif1/0 and memif1/1, both VPP masters, joined by
#   `set interface l2 xconnect` both ways (a wire). icmp-pinger (slave, id 0)
#   pings icmp-responder (slave, id 1) through it: 20 requests each of 22,
#   1472 and 8000 payload bytes (frames of 64, 1514 and 8042 bytes: one
#   buffer, a full one, a chain of four). Every reply intact (the pinger
#   checks every byte), and VPP's counters add up: what one interface
#   received the other sent, no drops; the responder counted every request.
# bridge: a bridge domain with the pinger behind a VPP master (memif2/0) and
#   the responder as master behind a VPP slave in zero copy (memif3/0): the
#   same pings, the ARP request flooded by the bridge, the bridge having
#   learned both MACs (show l2fib).
# --tap: memif-tap (slave, in a network namespace of its own, its TAP device
#   with an address there) and the responder (slave) in one bridge domain:
#   the kernel pings the responder through VPP, and icmp-pinger, on a third
#   interface, pings the kernel. Needs /dev/net/tun and ip netns (skipped,
#   77, without them).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=vpp_lib.sh
. "$here/vpp_lib.sh"
# shellcheck source=vpp_apps.sh
. "$here/vpp_apps.sh"

va_setup switch "$@"
TAP_PART=0
set -- ${VA_ARGS[@]+"${VA_ARGS[@]}"}
while [ $# -gt 0 ]; do
	case "$1" in
	--tap) TAP_PART=1 ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
	shift
done
RESPONDER=$VA_BIN_DIR/icmp-responder
PINGER=$VA_BIN_DIR/icmp-pinger
TAP=$VA_BIN_DIR/memif-tap
NS=""
if [ "$TAP_PART" = 1 ]; then
	[ -c /dev/net/tun ] || { echo "skipped: no /dev/net/tun for memif-tap"; exit 77; }
	command -v ip >/dev/null || { echo "skipped: no ip command (iproute2)"; exit 77; }
	command -v ping >/dev/null || { echo "skipped: no ping command (iputils-ping)"; exit 77; }
	NS="memif-vpp-$$"
	ip netns add "$NS" 2>"$WORK/netns.err" ||
		{ echo "skipped: cannot create a network namespace: $(cat "$WORK/netns.err")"; exit 77; }
	VA_HOOKS+=("ip netns del $NS") # after memif-tap, which lives in it, is stopped
fi
vpp_start switch || exit 1

# up IF...: state up, then (once connected) interrupt mode.
vpp_up() {
	local i
	for i in "$@"; do vpp_cli set interface state "$i" up || va_fail "set $i up"; done
}
vpp_connected() {
	local i
	for i in "$@"; do
		if vpp_wait_connected "$i" 10; then
			vpp_if_rx_mode "$i" interrupt || va_fail "rx-mode of $i"
		else
			va_fail "$i did not connect"
		fi
	done
}

# ping_through NAME SIZE COUNT TARGET PINGER-ARGS...: the pinger's run, checked.
ping_through() {
	local name=$1 size=$2 count=$3 target=$4 rc=0 out
	shift 4
	printf '+ %s\n' "$PINGER $* -t $target -c $count -s $size" >>"$WORK/commands"
	timeout -k 5 40 "$PINGER" "$@" -t "$target" -c "$count" -i 0.005 -s "$size" -W 2 \
		--connect-timeout 15 </dev/null >"$WORK/$name.log" 2>&1 || rc=$?
	out=$(cat "$WORK/$name.log")
	va_eq "pinger exit status ($size bytes)" "$rc" 0
	va_has "$count of $count replies through VPP, $size payload bytes" "$out" \
		"^$count of $count ICMP echo replies\$"
	va_has "no duplicate, corrupt or unsent request" "$out" \
		"^sent $count echo requests, [0-9]+ ARP requests; 0 duplicates, 0 corrupt or unexpected, 0 send errors\$"
	PING_TX=$(va_queue_stat tx 0 "$out") PING_RX=$(va_queue_stat rx 0 "$out")
}

cell_xconnect() {
	va_cell "xconnect: icmp-pinger (slave) -> memif1/0 = memif1/1 -> icmp-responder (slave)"
	vpp_cli create memif socket id 1 filename "$WORK/xc.sock" || va_fail "socket"
	vpp_cli create interface memif id 0 socket-id 1 master || va_fail "memif1/0"
	vpp_cli create interface memif id 1 socket-id 1 master || va_fail "memif1/1"
	vpp_cli set interface l2 xconnect memif1/0 memif1/1 || va_fail "xconnect 0 -> 1"
	vpp_cli set interface l2 xconnect memif1/1 memif1/0 || va_fail "xconnect 1 -> 0"
	vpp_up memif1/0 memif1/1
	va_start resp "$RESPONDER" --slave -S "$WORK/xc.sock" -I 1 -a 10.0.0.2
	vpp_connected memif1/1
	local size
	for size in 22 1472 8000; do
		va_show resp
		local rx0 icmp0
		rx0=$(va_counter rx) icmp0=$(va_counter icmp)
		vppctl clear interfaces >/dev/null
		ping_through "xc-$size" "$size" 20 10.0.0.2 --slave -S "$WORK/xc.sock" -I 0 -a 10.0.0.1
		# memif1/0 polls while a pinger is connected: VPP puts each new
		# connection in polling mode, and a run is short.
		va_eq "memif1/0 rx = pinger tx ($size)" "$(vpp_if_counter memif1/0 "rx packets")" "$PING_TX"
		va_eq "memif1/1 tx = memif1/0 rx ($size)" "$(vpp_if_counter memif1/1 "tx packets")" "$PING_TX"
		va_eq "memif1/1 rx = memif1/0 tx ($size)" "$(vpp_if_counter memif1/1 "rx packets")" \
			"$(vpp_if_counter memif1/0 "tx packets")"
		va_eq "memif1/0 tx = pinger rx ($size)" "$(vpp_if_counter memif1/0 "tx packets")" "$PING_RX"
		va_eq "VPP drops ($size)" $(($(vpp_if_counter memif1/0 drops) + $(vpp_if_counter memif1/1 drops))) 0
		va_show resp
		va_eq "responder rx = pinger tx ($size)" $(($(va_counter rx) - rx0)) "$PING_TX"
		va_eq "responder icmp replies ($size)" $(($(va_counter icmp) - icmp0)) 20
		vpp_wait_disconnected memif1/0 5 || va_fail "memif1/0 still connected after the pinger left"
	done
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
}

cell_bridge() {
	va_cell "bridge domain: icmp-pinger (slave) -> memif2/0, memif3/0 (VPP slave, zero copy) -> icmp-responder (master)"
	va_start resp "$RESPONDER" --master -S "$WORK/br-resp.sock" -I 0 -a 10.0.1.2
	wait_for_listener "$WORK/br-resp.sock" 5 || va_fail "the responder does not listen"
	vpp_cli create memif socket id 2 filename "$WORK/br-ping.sock" || va_fail "socket 2"
	vpp_cli create memif socket id 3 filename "$WORK/br-resp.sock" || va_fail "socket 3"
	vpp_cli create interface memif id 0 socket-id 2 master || va_fail "memif2/0"
	vpp_cli create interface memif id 0 socket-id 3 slave || va_fail "memif3/0"
	vpp_cli create bridge-domain 10 || va_fail "bridge-domain 10"
	vpp_cli set interface l2 bridge memif2/0 10 || va_fail "memif2/0 in the bridge"
	vpp_cli set interface l2 bridge memif3/0 10 || va_fail "memif3/0 in the bridge"
	vpp_up memif2/0 memif3/0
	vpp_connected memif3/0
	vpp_show_memif memif3/0
	va_has "memif3/0: VPP's zero-copy slave" "$VPP_MEMIF" '^  flags admin-up slave connected zero-copy$'
	local size
	for size in 22 1472 8000; do
		ping_through "br-$size" "$size" 20 10.0.1.2 --slave -S "$WORK/br-ping.sock" -I 0 -a 10.0.1.1
		vpp_wait_disconnected memif2/0 5 || va_fail "memif2/0 still connected after the pinger left"
	done
	va_has "the bridge learned the pinger's MAC" "$(vppctl show l2fib verbose)" '02:fe:00:00:01:01 .* memif2/0'
	va_has "the bridge learned the responder's MAC" "$(vppctl show l2fib verbose)" '02:fe:00:00:00:01 .* memif3/0'
	va_show resp
	va_eq "responder icmp replies" "$(va_counter icmp)" 60
	va_eq "responder bad packets, tx drops" "$(va_counter bad)/$(va_counter drops)" 0/0
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
}

cell_tap() {
	va_cell "memif-tap behind VPP: kernel (netns) -> mtap0 -> memif-tap -> bridge -> icmp-responder, icmp-pinger -> bridge -> kernel"
	vpp_cli create memif socket id 4 filename "$WORK/tap.sock" || va_fail "socket 4"
	local i
	for i in 0 1 2; do
		vpp_cli create interface memif id $i socket-id 4 master || va_fail "memif4/$i"
	done
	vpp_cli create bridge-domain 20 || va_fail "bridge-domain 20"
	for i in 0 1 2; do
		vpp_cli set interface l2 bridge memif4/$i 20 || va_fail "memif4/$i in the bridge"
	done
	vpp_up memif4/0 memif4/1 memif4/2
	ip netns exec "$NS" ip link set lo up
	va_start tap ip netns exec "$NS" "$TAP" --slave -S "$WORK/tap.sock" -I 0 --tap mtap0 --up
	va_wait_log tap '^memif connected to "memif4/0"' 10 || { va_fail "memif-tap did not connect"; return; }
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.mtap0.disable_ipv6=1 2>/dev/null
	ip netns exec "$NS" ip addr add 10.0.2.3/24 dev mtap0
	va_start resp "$RESPONDER" --slave -S "$WORK/tap.sock" -I 1 -a 10.0.2.2
	vpp_connected memif4/0 memif4/1
	local rc=0 size
	for size in 56 1400; do
		rc=0
		ip netns exec "$NS" timeout -k 5 30 ping -c 5 -i 0.2 -W 2 -s "$size" 10.0.2.2 \
			</dev/null >"$WORK/kping-$size.log" 2>&1 || rc=$?
		va_eq "kernel ping -s $size to the responder, exit status" "$rc" 0
		va_has "kernel: 5 of 5 through memif-tap and VPP ($size bytes)" "$(cat "$WORK/kping-$size.log")" \
			'5 packets transmitted, 5 received'
	done
	for size in 56 1472; do
		ping_through "tap-$size" "$size" 20 10.0.2.3 --slave -S "$WORK/tap.sock" -I 2 -a 10.0.2.1
	done
	va_stop tap
	va_eq "memif-tap exit status" "$VA_RC" 0
	va_has "memif-tap: frames from VPP to the kernel" "$(cat "$WORK/tap.log")" \
		'^memif -> mtap0: [1-9][0-9]* frames received, [1-9][0-9]* written, '
	va_has "memif-tap: frames from the kernel to VPP" "$(cat "$WORK/tap.log")" \
		'^mtap0 -> memif: [1-9][0-9]* frames read, [1-9][0-9]* sent, '
	va_stop resp
	va_eq "responder exit status" "$VA_RC" 0
	va_has "responder answered the kernel" "$(cat "$WORK/resp.log")" ' 10 icmp replies, [0-9]+ ignored, 0 bad, 0 tx drops, '
}

if [ "$TAP_PART" = 1 ]; then
	cell_tap
	va_cell_done
else
	cell_xconnect
	va_cell_done
	cell_bridge
	va_cell_done
fi
va_summary
