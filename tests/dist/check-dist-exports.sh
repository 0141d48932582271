#!/bin/sh
# libsemiparam-mpi exports only sp_dist_* symbols, exactly the set in its
# linker map, which is exactly the set dist.h declares with SP_DIST_API.
# Usage: check-dist-exports.sh LIBRARY SOURCE_ROOT
set -eu
lib=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' |
    grep -v -x -E '_init|_fini|_edata|_end|__bss_start|SEMIPARAM_MPI_[0-9._]+' | sort -u >"$tmp/nm"
sed -n '/global:/,/local:/p' "$src/lib/dist/libsemiparam-mpi.map" | grep -o 'sp_[a-z0-9_]*' | sort -u >"$tmp/map"
tr '\n' ' ' <"$src/include/semiparam/dist.h" | grep -o 'SP_DIST_API[^;]*;' | grep -o 'sp_[a-z0-9_]*(' |
    tr -d '(' | sort -u >"$tmp/header"
status=0
if grep -v '^sp_dist_' "$tmp/nm" >"$tmp/leaks"; then
    echo "FAIL: symbols outside sp_dist_ are exported:"; cat "$tmp/leaks"; status=1
fi
diff -u "$tmp/map" "$tmp/nm" || { echo "FAIL: exports (+) differ from lib/dist/libsemiparam-mpi.map (-)"; status=1; }
diff -u "$tmp/header" "$tmp/map" || { echo "FAIL: the map (+) differs from dist.h's SP_DIST_API (-)"; status=1; }
[ -s "$tmp/nm" ] || { echo "FAIL: no symbols in $lib"; status=1; }
# libsemiparam itself never links MPI.
if [ $status -eq 0 ] && ldd "$(dirname "$lib")/../libsemiparam.so" | grep -q -E 'libmpi|open-pal|open-rte'; then
    echo "FAIL: libsemiparam.so links MPI"; status=1
fi
[ $status -eq 0 ] && echo "ok: $(wc -l <"$tmp/nm") sp_dist_* symbols exported, equal to the map and dist.h; libsemiparam.so free of MPI"
exit $status
