#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_real_cells.sh - traffic cells against a real VPP (26.06): one VPP for
# the whole run, one memif interface in it per cell, icmp-responder (and
# icmp-pinger) on our side.
#
#   vpp_real_cells.sh --bin-dir DIR [--keep] --cell "SPEC" [--cell "SPEC"]...
#
# SPEC is a list of key=value words (defaults in brackets):
#   ours=slave|master        our role; VPP takes the other [slave]
#   rx=interrupt|polling|adaptive   our receive mode [interrupt]
#   vpp-rx=interrupt|polling VPP's rx-mode, set once connected [interrupt]
#   sock=fs|abstract         a socket file in the work directory, or
#                            abstract:NAME in VPP and @NAME ours [fs]
#   mode=ethernet|ip         [ethernet]
#   q=N                      queue pairs [1] (ours -q N; VPP rx-queues and
#                            tx-queues N when it is the slave)
#   ring=N                   ring slots, a power of two [1024] (ours -R, VPP
#                            ring-size when it is the slave)
#   secret=S                 the same secret on both sides [none]
#   zc=yes|no                VPP slave only: zero copy (VPP's default) or
#                            no-zero-copy [yes]
#   sizes=A/B/..             ICMP payload sizes VPP pings the responder with
#                            [56/1472/8000]
#   burst=B repeat=R         VPP sends R bursts of B echo requests per size
#                            [32, 4]
#   pinger=A/B/..            then our icmp-pinger, in our role, pings VPP with
#                            50 requests of each payload size (one run per size)
#
# Each cell creates the interface (socket id = the cell's number, interface
# id = number - 1, subnet 10.18.<number>.0/24), waits for both sides to say
# connected, and checks:
#   - VPP's `show memif`: the flags (slave, connected, zero-copy), the ring
#     counts, each ring's size, the region count (2: rings and buffers; 1 for
#     VPP's no-zero-copy slave), the buffer size, the mode;
#   - the responder's `show`: queues, ring size, each queue's rx mode;
#   - after one warm-up ping (ethernet: VPP drops the request that made it
#     resolve our address) and `clear interfaces`: every echo request of
#     every size answered, VPP's rx and tx packets both equal to the number
#     of requests and no drops; the responder's rx, tx and icmp replies
#     counters and the library's per-queue counters moved by as many, no
#     bad packets, no tx drops;
#   - the interrupt-mask flag of each ring at rest: set on VPP's receive
#     rings exactly when VPP polls, on ours exactly when we poll (adaptive
#     unmasks once idle);
#   - the pinger: N of N replies, intact (it checks every payload byte), on
#     every one of our transmit queues, and VPP's rx/tx packets equal to our
#     tx/rx, no drops;
#   - our programs exit 0 on SIGTERM.
# Then the interface and socket are deleted in VPP. Exit 0 when every cell
# passed, 1 otherwise (with the logs), 77 without a VPP (see vpp_lib.sh).
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=vpp_lib.sh
. "$here/vpp_lib.sh"
# shellcheck source=vpp_apps.sh
. "$here/vpp_apps.sh"

va_setup cells "$@"
CELLS=()
set -- ${VA_ARGS[@]+"${VA_ARGS[@]}"}
while [ $# -gt 0 ]; do
	case "$1" in
	--cell) CELLS+=("$2"); shift ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
	shift
done
[ ${#CELLS[@]} -gt 0 ] || { echo "no --cell given" >&2; exit 2; }
RESPONDER=$VA_BIN_DIR/icmp-responder
vpp_start cells || exit 1
PINGER=$VA_BIN_DIR/icmp-pinger

log2() {
	local n=$1 l=0
	while [ $((1 << l)) -lt "$n" ]; do l=$((l + 1)); done
	[ $((1 << l)) -eq "$n" ] || return 1
	echo "$l"
}

# The pinger in our role, to VPP, COUNT requests of SIZE bytes; checks it.
pinger_run() {
	local size=$1 count=50 i rc=0 ourtx=0 ourrx=0 out
	vppctl clear interfaces >/dev/null
	printf '+ %s\n' "$PINGER ${our_args[*]} -t $vpp_ip -c $count -i 0.002 -s $size" >>"$WORK/commands"
	timeout -k 5 40 "$PINGER" "${our_args[@]}" -t "$vpp_ip" -c "$count" -i 0.002 -s "$size" \
		-W 2 --connect-timeout 15 </dev/null >"$WORK/pinger-$size.log" 2>&1 || rc=$?
	out=$(cat "$WORK/pinger-$size.log")
	va_eq "pinger exit status, $size bytes" "$rc" 0
	va_has "pinger: $count of $count replies, $size bytes" "$out" "^$count of $count ICMP echo replies\$"
	va_has "pinger: no duplicate, corrupt or unsent request" "$out" \
		"^sent $count echo requests, [0-9]+ ARP requests; 0 duplicates, 0 corrupt or unexpected, 0 send errors\$"
	for ((i = 0; i < q; i++)); do
		local t r
		t=$(va_queue_stat tx "$i" "$out")
		r=$(va_queue_stat rx "$i" "$out")
		ourtx=$((ourtx + t))
		ourrx=$((ourrx + r))
		[ "$t" -gt 0 ] || va_fail "pinger sent nothing on tx queue $i"
	done
	[ "$q" -gt 1 ] && va_ok "pinger sent on all $q tx queues"
	# Frames from the pinger, ARP included, are VPP's rx; VPP's tx are ours.
	va_eq "VPP rx packets = our tx ($size bytes)" "$(vpp_if_counter "$ifname" "rx packets")" "$ourtx"
	va_eq "VPP tx packets = our rx ($size bytes)" "$(vpp_if_counter "$ifname" "tx packets")" "$ourrx"
	va_eq "VPP drops ($size bytes)" "$(vpp_if_counter "$ifname" drops)" 0
	vpp_wait_disconnected "$ifname" 5 || va_fail "VPP still shows $ifname connected after the pinger left"
}

run_cell() {
	local n=$1 spec=$2 w
	local ours=slave rx=interrupt vrx=interrupt sock=fs mode=ethernet q=1 ring=1024 secret=""
	local zc=yes sizes=56/1472/8000 burst=32 repeat=4 pinger=""
	for w in $spec; do
		case "$w" in
		ours=*) ours=${w#*=} ;;
		rx=*) rx=${w#*=} ;;
		vpp-rx=*) vrx=${w#*=} ;;
		sock=*) sock=${w#*=} ;;
		mode=*) mode=${w#*=} ;;
		q=*) q=${w#*=} ;;
		ring=*) ring=${w#*=} ;;
		secret=*) secret=${w#*=} ;;
		zc=*) zc=${w#*=} ;;
		sizes=*) sizes=${w#*=} ;;
		burst=*) burst=${w#*=} ;;
		repeat=*) repeat=${w#*=} ;;
		pinger=*) pinger=${w#*=} ;;
		*) echo "bad cell key '$w' in: $spec" >&2; exit 2 ;;
		esac
	done
	local l2 id=$((n - 1)) sid=$n vpp_role=master
	l2=$(log2 "$ring") || { echo "ring=$ring is not a power of two" >&2; exit 2; }
	[ "$ours" = slave ] || vpp_role=slave
	ifname="memif$sid/$id"
	vpp_ip=10.18.$n.1
	local our_ip=10.18.$n.2 vpp_sock our_sock listen
	if [ "$sock" = fs ]; then
		our_sock="$WORK/c$n.sock" vpp_sock="$WORK/c$n.sock" listen="$WORK/c$n.sock"
	else
		our_sock="@memif-vpp-$$-c$n" vpp_sock="abstract:memif-vpp-$$-c$n" listen="@memif-vpp-$$-c$n"
	fi
	our_args=("--$ours" -S "$our_sock" -I "$id" -q "$q" -R "$l2" -a "$our_ip")
	local vpp_args=(id "$id" socket-id "$sid" "$vpp_role")
	if [ "$mode" = ip ]; then
		our_args+=(-M ip)
		vpp_args+=(mode ip)
	fi
	if [ -n "$secret" ]; then
		our_args+=(-k "$secret")
		vpp_args+=(secret "$secret")
	fi
	[ "$rx" = polling ] && our_args+=(-p)
	if [ "$vpp_role" = slave ]; then
		vpp_args+=(rx-queues "$q" tx-queues "$q" ring-size "$ring")
		[ "$zc" = no ] && vpp_args+=(no-zero-copy)
	fi

	va_cell "cell $n: $spec"
	echo "  ours: icmp-responder ${our_args[*]}"
	echo "  vpp#  create interface memif ${vpp_args[*]}"
	vpp_cli create memif socket id "$sid" filename "$vpp_sock" || va_fail "VPP refused the socket"

	if [ "$ours" = master ]; then
		va_start resp "$RESPONDER" "${our_args[@]}"
		wait_for_listener "$listen" 5 || va_fail "the responder does not listen on $listen"
	fi
	vpp_cli create interface memif "${vpp_args[@]}" || va_fail "VPP refused the interface"
	vpp_cli set interface state "$ifname" up || va_fail "set interface state"
	vpp_cli set interface ip address "$ifname" "$vpp_ip/24" || va_fail "set interface ip address"
	[ "$ours" = slave ] && va_start resp "$RESPONDER" "${our_args[@]}"
	if [ "$rx" = adaptive ]; then
		local i
		for ((i = 0; i < q; i++)); do va_cmd resp "rx-mode 0 $i adaptive"; done
	fi

	if ! vpp_wait_connected "$ifname" 10 || ! va_wait_log resp '^interface 0: connected to ' 5; then
		va_show resp
		vpp_show_memif "$ifname"
		va_fail "the link did not come up; ours: $(printf '%s\n' "$VA_OUT" | grep -a '^  state:')," \
			"VPP: $(printf '%s\n' "$VPP_MEMIF" | grep -a 'disc-reason' | tr -s ' ' | tr '\n' ' ')"
		return
	fi
	va_ok "connected"
	vpp_if_rx_mode "$ifname" "$vrx" || va_fail "VPP's rx-mode $vrx"

	# What VPP and we say about the link.
	local flags="admin-up connected" regions=2 vpp_rx=s2m our_rx=m2s bsize=0
	if [ "$vpp_role" = slave ]; then
		flags="admin-up slave connected"
		[ "$zc" = yes ] && flags="$flags zero-copy"
		[ "$zc" = no ] && regions=1
		vpp_rx=m2s our_rx=s2m bsize=2048
	fi
	vpp_show_memif "$ifname"
	va_has "VPP: flags $flags" "$VPP_MEMIF" "^  flags $flags\$"
	va_has "VPP: id $id, mode $mode" "$VPP_MEMIF" "^  socket-id $sid id $id mode $mode\$"
	va_has "VPP: $q rings each way, buffer-size $bsize, $regions region(s)" "$VPP_MEMIF" \
		"^  num-s2m-rings $q num-m2s-rings $q buffer-size $bsize num-regions $regions\$"
	local d i bad=0
	for d in s2m m2s; do
		for ((i = 0; i < q; i++)); do
			[ "$(vpp_ring ring-size "$d" "$i")" = "$ring" ] || bad=1
		done
	done
	if [ $bad = 0 ]; then
		va_ok "VPP: every ring has $ring slots"
	else
		va_fail "VPP: rings not of $ring slots"
	fi
	va_show resp
	va_has "ours: $q queues, ring size $ring" "$VA_OUT" "^  queues: $q rx, $q tx, ring size $ring, buffer size 2048\$"
	for ((i = 0; i < q; i++)); do
		va_has "ours: rx queue $i $rx" "$VA_OUT" "^  rx queue $i mode: $rx\$"
	done

	# VPP pings the responder: a warm-up, then the counted bursts.
	vpp_ping "$our_ip" repeat 1 interval 0.1
	va_show resp
	local rx0 tx0 icmp0 lrx0 ltx0 total=0 size
	rx0=$(va_counter rx) tx0=$(va_counter tx) icmp0=$(va_counter icmp)
	lrx0=0 ltx0=0
	for ((i = 0; i < q; i++)); do
		lrx0=$((lrx0 + $(va_queue_stat rx "$i"))) ltx0=$((ltx0 + $(va_queue_stat tx "$i")))
	done
	vppctl clear interfaces >/dev/null
	for size in ${sizes//\// }; do
		vpp_ping "$our_ip" size "$size" repeat "$repeat" burst "$burst" interval 0.1
		va_eq "VPP's echo replies, $size bytes" "$VPP_PING_RX" $((repeat * burst))
		total=$((total + repeat * burst))
	done
	va_eq "VPP rx packets" "$(vpp_if_counter "$ifname" "rx packets")" "$total"
	va_eq "VPP tx packets" "$(vpp_if_counter "$ifname" "tx packets")" "$total"
	va_eq "VPP drops" "$(vpp_if_counter "$ifname" drops)" 0
	va_show resp
	local lrx=0 ltx=0
	for ((i = 0; i < q; i++)); do
		lrx=$((lrx + $(va_queue_stat rx "$i"))) ltx=$((ltx + $(va_queue_stat tx "$i")))
	done
	va_eq "ours: rx packets" $(($(va_counter rx) - rx0)) "$total"
	va_eq "ours: tx packets" $(($(va_counter tx) - tx0)) "$total"
	va_eq "ours: icmp replies" $(($(va_counter icmp) - icmp0)) "$total"
	va_eq "ours: library rx queue packets" $((lrx - lrx0)) "$total"
	va_eq "ours: library tx queue packets" $((ltx - ltx0)) "$total"
	va_eq "ours: bad packets" "$(va_counter bad)" 0
	va_eq "ours: tx drops" "$(va_counter drops)" 0

	# Interrupt masks at rest (adaptive unmasks after MEMIF_ADAPTIVE_IDLE_US).
	sleep 0.1
	vpp_show_memif "$ifname"
	local want_vpp=0x0000 want_ours=0x0000
	[ "$vrx" = polling ] && want_vpp=0x0001
	[ "$rx" = polling ] && want_ours=0x0001
	for ((i = 0; i < q; i++)); do
		va_eq "VPP's rx ring $i ($vpp_rx) flags" "$(vpp_ring flags "$vpp_rx" "$i")" "$want_vpp"
		va_eq "our rx ring $i ($our_rx) flags" "$(vpp_ring flags "$our_rx" "$i")" "$want_ours"
	done

	va_stop resp
	va_eq "responder exit status after SIGTERM" "$VA_RC" 0
	if [ -n "$pinger" ]; then
		vpp_wait_disconnected "$ifname" 5 || va_fail "VPP still shows $ifname connected"
		for size in ${pinger//\// }; do
			pinger_run "$size"
		done
	fi
	return 0
}

n=0
for spec in "${CELLS[@]}"; do
	n=$((n + 1))
	run_cell "$n" "$spec"
	va_running resp && va_stop resp
	vppctl delete interface memif "$ifname" >/dev/null
	vppctl delete memif socket id "$n" >/dev/null
	va_cell_done
done
va_summary
