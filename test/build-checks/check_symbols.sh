#!/usr/bin/env bash
# Usage: check_symbols.sh path/to/libmemif.so [path/to/libmemif.h]
# Fails if the library exports a symbol that is not part of the public API:
# every defined dynamic symbol must start with memif_, and none may start with
# memif__ (the prefix of internal functions). Given the header, it also fails
# when a function declared there is not exported (a missing MEMIF_EXPORT).
set -euo pipefail
export LC_ALL=C

lib=${1:?usage: check_symbols.sh path/to/libmemif.so [path/to/libmemif.h]}
header=${2:-}
if ! command -v nm >/dev/null 2>&1; then
	echo "skipped: nm (binutils) is not installed"
	exit 77
fi
[ -f "$lib" ] || { echo "no such library: $lib" >&2; exit 1; }

# Columns: value type name[@version]. Absolute symbols (type A) are version
# nodes of the version script, not code or data.
syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u)
count=$(printf '%s\n' "$syms" | grep -c . || true)
bad=$(printf '%s\n' "$syms" | grep -v '^memif_' | grep . || true)
internal=$(printf '%s\n' "$syms" | grep '^memif__' || true)

status=0
if [ -n "$bad" ]; then
	echo "exported symbols outside the memif_ namespace:"
	printf '%s\n' "$bad" | sed 's/^/  /'
	status=1
fi
if [ -n "$internal" ]; then
	echo "internal memif__ symbols exported (missing static or hidden visibility?):"
	printf '%s\n' "$internal" | sed 's/^/  /'
	status=1
fi
if [ -n "$header" ]; then
	# Declarations start at column 0: "<type> [*]memif_name(".
	declared=$(grep -oE '^[a-z][a-z0-9_ ]*[ *]memif_[a-z0-9_]+\(' "$header" |
		sed -E 's/.*[ *](memif_[a-z0-9_]+)\($/\1/' | sort -u)
	missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$syms") | grep . || true)
	if [ -n "$missing" ]; then
		echo "declared in $(basename "$header") but not exported:"
		printf '%s\n' "$missing" | sed 's/^/  /'
		status=1
	fi
fi
if [ "$count" -eq 0 ]; then
	echo "no exported symbols at all in $lib"
	status=1
fi
[ "$status" -eq 0 ] && echo "ok: $count exported symbols, all memif_*"
exit "$status"
