#!/bin/sh
# The library exports only sp_* symbols, exactly the set in the linker map,
# which is exactly the set the public headers declare with SP_API.
# Usage: check-exports.sh LIBRARY SOURCE_ROOT
set -eu
lib=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Symbols the linker defines itself, and the version node (an absolute symbol).
nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' |
    grep -v -x -E '_init|_fini|_edata|_end|__bss_start|SEMIPARAM_([A-Z]+_)?[0-9._]+' | sort -u >"$tmp/nm"
sed -n '/global:/,/local:/p' "$src/lib/libsemiparam.map" | grep -o 'sp_[a-z0-9_]*' | sort -u >"$tmp/map"
"$src/tools/exported-symbols" >"$tmp/headers"

status=0
if grep -v '^sp_' "$tmp/nm" >"$tmp/leaks"; then
    echo "FAIL: symbols outside the sp_ namespace are exported:"; cat "$tmp/leaks"; status=1
fi
# The public symbols: exactly the map's, in every build (a left-out module
# exports its stubs). The sp__ internals of the private node (for
# libsemiparam-mpi) are no ABI and are declared in no public header: a build
# may lack those of a left-out module (sp__retriever_query_read without
# retrieval), but exports none that the map does not list.
grep -v '^sp__' "$tmp/map" >"$tmp/map-public" || true
grep -v '^sp__' "$tmp/nm" >"$tmp/nm-public" || true
if ! diff -u "$tmp/map-public" "$tmp/nm-public" >"$tmp/d1"; then
    echo "FAIL: exports (+) differ from lib/libsemiparam.map (-):"; cat "$tmp/d1"; status=1
fi
if grep '^sp__' "$tmp/nm" | grep -v -x -F -f "$tmp/map" >"$tmp/extra"; then
    echo "FAIL: internals exported that the map's private node does not list:"; cat "$tmp/extra"; status=1
fi
if ! diff -u "$tmp/headers" "$tmp/map-public" >"$tmp/d2"; then
    echo "FAIL: lib/libsemiparam.map (+) differs from the SP_API declarations (-) (tools/exported-symbols):"
    cat "$tmp/d2"; status=1
fi
[ "$(wc -l <"$tmp/nm")" -gt 0 ] || { echo "FAIL: no symbols found in $lib"; status=1; }
[ $status -eq 0 ] && echo "ok: $(wc -l <"$tmp/nm") sp_* symbols exported, equal to the map and the headers"
exit $status
