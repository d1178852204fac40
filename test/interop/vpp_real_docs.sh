#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vpp_real_docs.sh - docs/ExampleSetup.md is the test: its VPP CLI lines and
# its command lines are run, in the page's order, against one real VPP, and
# the output the page shows must be what they print.
#
#   vpp_real_docs.sh --bin-dir DIR --lib-dir DIR [--page PAGE] [--test NAME] [--keep]
#
# vpp_docs_page.py reads the page (see its docstring for the rules): `vpp# `
# lines of ```text blocks go to VPP's CLI (vppctl), the ```sh blocks marked
# <!-- test: by interop_vpp_docs --> are run as a reader would type them,
# and the output under a `vpp# ` line, or in a ```text block marked
# <!-- output -->, must appear (times, fds, MACs and VPP's version may
# differ). A `show` command is retried for up to 10 s until its output
# matches (the link takes a moment to come up); the output of a program left
# running (icmp-responder) is waited for as long.
#
# Only the socket paths are changed, so that the test touches nothing of the
# host: /run/vpp/ becomes this VPP's runtime directory (VPP_DIR/run/, where
# its default socket lives, as /run/vpp/memif.sock does for an installed
# VPP) and /run/memif a directory of the test's own. `sudo` is dropped (the
# test runs as root), and the program names are those of the build.
# ./first_slave is docs/examples/first_slave.c (GettingStarted.md's first
# program), compiled here with cc against the library in --lib-dir.
# icmp-responder runs in the background until the next heading, then gets
# SIGINT (a reader's Ctrl-C) and must exit 0; every other command runs in
# the foreground and must exit 0.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=vpp_lib.sh
. "$here/vpp_lib.sh"
# shellcheck source=vpp_apps.sh
. "$here/vpp_apps.sh"

va_setup docs "$@"
PAGE="$here/../../docs/ExampleSetup.md"
TEST=interop_vpp_docs
LIB_DIR=""
set -- ${VA_ARGS[@]+"${VA_ARGS[@]}"}
while [ $# -gt 0 ]; do
	case "$1" in
	--page) PAGE=$2; shift ;;
	--lib-dir) LIB_DIR=$2; shift ;;
	--test) TEST=$2; shift ;;
	*) echo "unknown option: $1" >&2; exit 2 ;;
	esac
	shift
done
command -v python3 >/dev/null || { echo "needs python3 to read the page" >&2; exit 1; }
python3 "$here/vpp_docs_page.py" plan "$PAGE" "$TEST" >"$WORK/plan" || exit 1
vpp_start docs || exit 1

# The page's paths -> ours.
sub() {
	local s=$1
	# /run/memif first: VPP_DIR/run/ may be followed by "memif.sock".
	s=${s//\/run\/memif/$WORK/run-memif}
	s=${s//\/run\/vpp\//$VPP_DIR/run/}
	printf '%s' "$s"
}

FAILS=0 N_VPP=0 N_SH=0 N_OUT=0
fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# What the last step printed, and what the page says it prints.
last_kind="" last_cmd="" last_out="" last_bg="" exp="$WORK/expected"
: >"$exp"

# check: compare the pending expected output with what the last step printed.
check() {
	[ -s "$exp" ] || { : >"$exp"; return 0; }
	local mode=exact end=$((SECONDS + 10)) ok=1
	N_OUT=$((N_OUT + 1))
	if [ "$last_kind" = V ]; then
		while ! python3 "$here/vpp_docs_page.py" match exact "$exp" "$last_out" >"$WORK/match" 2>&1; do
			if [ "${last_cmd%% *}" != show ] || [ $SECONDS -ge $end ]; then
				ok=0
				break
			fi
			sleep 0.2
			read -ra words <<<"$last_cmd"
			vppctl "${words[@]}" >"$last_out"
		done
	else
		[ -n "$last_bg" ] && mode=running
		while ! python3 "$here/vpp_docs_page.py" match "$mode" "$exp" "$last_out" >"$WORK/match" 2>&1; do
			if [ -z "$last_bg" ] || [ $SECONDS -ge $end ]; then
				ok=0
				break
			fi
			sleep 0.2
		done
	fi
	if [ $ok = 1 ]; then
		echo "  ok: the output the page shows for: $last_cmd"
	else
		fail "the output of '$last_cmd' is not what the page shows"
		cat "$WORK/match"
	fi
	: >"$exp"
}

# stop_bg: the programs a section left running get Ctrl-C.
BG=()
stop_bg() {
	local name
	for name in ${BG[@]+"${BG[@]}"}; do
		kill -INT "${VA_PID[$name]}" 2>/dev/null
		va__reap "$name" 5
		if [ "$VA_RC" -eq 0 ]; then
			echo "  ok: $name exited 0 after Ctrl-C"
		else
			fail "$name exited with $VA_RC after Ctrl-C"
		fi
	done
	BG=()
}

build_first_slave() {
	[ -x "$WORK/first_slave" ] && return 0
	if [ -z "$LIB_DIR" ] || [ ! -d "$LIB_DIR" ]; then
		fail "the page runs ./first_slave: pass --lib-dir (where libmemif.so is)"
		return 1
	fi
	"${CC:-cc}" -std=c11 -o "$WORK/first_slave" "$here/../../docs/examples/first_slave.c" \
		-I "$here/../../include" -L "$LIB_DIR" -lmemif -Wl,-rpath,"$LIB_DIR" ||
		{ fail "cannot build first_slave"; return 1; }
}

run_sh() {
	local line=$1 words prog
	read -ra words <<<"$(sub "$line")"
	[ "${words[0]}" = sudo ] && words=("${words[@]:1}")
	prog=${words[0]}
	N_SH=$((N_SH + 1))
	last_kind=S last_cmd=$line last_bg=""
	echo "\$ $line"
	case "$prog" in
	icmp-responder)
		local name="responder-$N_SH"
		va_start "$name" "$VA_BIN_DIR/$prog" "${words[@]:1}"
		BG+=("$name")
		last_bg=$name last_out="$WORK/$name.log"
		sleep 0.2
		va_running "$name" || fail "$line: exited at once: $(cat "$last_out")"
		;;
	icmp-pinger | mkdir | ./first_slave)
		case "$prog" in
		icmp-pinger) words[0]="$VA_BIN_DIR/$prog" ;;
		./first_slave) build_first_slave && words[0]="$WORK/first_slave" ;;
		esac
		last_out="$WORK/sh-$N_SH.out"
		local rc=0
		timeout -k 5 60 "${words[@]}" </dev/null >"$last_out" 2>&1 || rc=$?
		sed 's/^/    /' "$last_out"
		[ "$rc" -eq 0 ] || fail "$line: exit status $rc"
		;;
	*)
		fail "the page runs '$prog', which this test does not know how to run"
		;;
	esac
}

while IFS= read -r step; do
	kind=${step%% *}
	arg=${step#? }
	case "$kind" in
	H)
		check
		stop_bg
		echo "## $arg"
		;;
	V)
		check
		N_VPP=$((N_VPP + 1))
		last_kind=V last_cmd=$(sub "$arg") last_out="$WORK/vpp-$N_VPP.out" last_bg=""
		echo "vpp# $arg"
		read -ra words <<<"$last_cmd" # into words, as a shell would, without globbing
		vppctl "${words[@]}" >"$last_out"
		sed 's/^/    /' "$last_out"
		if grep -Eq '^[a-z][a-z0-9 -]*: |unknown input' "$last_out"; then
			fail "VPP refused: $arg"
		fi
		;;
	E | O)
		sub "$arg" >>"$exp"
		echo >>"$exp"
		;;
	S)
		check
		run_sh "$arg"
		;;
	esac
done <"$WORK/plan"
check
stop_bg

echo
echo "$N_VPP VPP commands, $N_SH command lines and $N_OUT outputs of $PAGE checked ($SECONDS s)"
if [ "$N_VPP" -lt 10 ] || [ "$N_SH" -lt 3 ] || [ "$N_OUT" -lt 5 ]; then
	fail "the page has fewer commands than it should: did its markers change?"
fi
if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS problem(s)"
	exit 1
fi
echo PASS
