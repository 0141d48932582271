#!/bin/sh
# The library's ABI against the committed baseline (tests/abi/libsemiparam.so.0.abi,
# written by abidw, and beside it .versions: the version of each versioned
# public struct). Added functions pass, and so do fields appended at the end of
# a versioned struct whose version grew with them (the library touches only the
# fields of the caller's version; abi_appends.py cuts such appends off before
# abidiff compares). Anything else abidiff reports fails (a removed function, a
# changed signature, a field inserted, removed or retyped, an append without a
# new version) unless the SONAME was bumped. Refresh the baseline with
# tools/abi-baseline (docs/architecture.md says when).
# Usage: check-abi.sh check BASELINE LIBRARY SOURCE_ROOT BUILD_ROOT
#        check-abi.sh dump LIBRARY SOURCE_ROOT BUILD_ROOT   (abidw XML on stdout)
#        check-abi.sh versions SOURCE_ROOT                  (struct versions on stdout)
set -eu
here=$(dirname "$0")

dump() { # LIBRARY SOURCE_ROOT BUILD_ROOT: the public ABI (private types and the private node dropped)
    readelf -S "$1" | grep -q '\.debug_info' ||
        { echo "FAIL: $1 has no debug information for abidw (lib/meson.build adds -gdwarf-5)" >&2; return 1; }
    abidw --headers-dir "$2/include/semiparam" --headers-dir "$3/include/semiparam" --drop-private-types \
          --no-corpus-path --no-comp-dir-path "$1" >"$tmp/dump.abi"
    python3 "$here/abi_public.py" <"$tmp/dump.abi"
}

if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
    echo "SKIP: abigail-tools (abidw, abidiff) not installed"; exit 77
fi
mode=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$mode" = dump ]; then
    dump "$@"; exit
fi
if [ "$mode" = versions ]; then
    python3 "$here/abi_appends.py" versions "$1/include/semiparam"; exit
fi
[ "$mode" = check ] || { echo "usage: check-abi.sh check|dump ..." >&2; exit 2; }
baseline=$1 lib=$2 src=$3 build=$4
[ -s "$baseline" ] || { echo "FAIL: no baseline at $baseline (tools/abi-baseline writes it)"; exit 1; }
dump "$lib" "$src" "$build" >"$tmp/current.abi"

old=$(sed -n "s/^<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$baseline")
new=$(sed -n "s/^<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$tmp/current.abi")
if [ "$old" != "$new" ]; then
    echo "ok: SONAME bumped ($old -> $new): incompatible changes are allowed; refresh the baseline (tools/abi-baseline)"
    exit 0
fi
# Versioned structs may grow at their end with a new version: compare a copy
# of the current ABI with those appends cut off (abi_appends.py says which).
compared=$tmp/current.abi
versions=${baseline%.abi}.versions
if [ -s "$versions" ]; then
    python3 "$here/abi_appends.py" project "$baseline" "$versions" "$tmp/current.abi" "$src/include/semiparam" \
        >"$tmp/projected.abi" 2>"$tmp/appends" || { cat "$tmp/appends"; echo "FAIL: abi_appends.py"; exit 1; }
    sed 's/^/      /' "$tmp/appends"
    compared=$tmp/projected.abi
else
    echo "note: no $versions: appended fields are not told apart from other changes"
fi
rc=0
abidiff --no-added-syms "$baseline" "$compared" >"$tmp/report" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
    cat "$tmp/report"
    echo "FAIL: the ABI of $new changed incompatibly (abidiff exit $rc) against $baseline."
    echo "      Keep the old ABI (new behaviour gets a new function), or bump the SONAME; while 0.1 is"
    echo "      unreleased, refresh the baseline on purpose with tools/abi-baseline."
    exit 1
fi
echo "ok: $new is ABI-compatible with the baseline ($(grep -c '<elf-symbol ' "$tmp/current.abi") symbols)"
