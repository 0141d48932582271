#!/bin/sh
# Every public header compiles alone (and twice: include guards) as C99
# -pedantic and as C++11 -pedantic, warnings as errors. Headers are globbed,
# so new ones are checked without touching this script.
# Usage: check-headers.sh SOURCE_ROOT BUILD_ROOT CC [CXX]
set -eu
src=$1 build=$2 cc=$3 cxx=${4:-}
[ -n "$cxx" ] || cxx=$(command -v g++ || command -v c++ || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

headers="semiparam.h"
# dist.h (libsemiparam-mpi) includes <mpi.h> and needs MPI's include path:
# tests/dist compiles it alone with that path instead.
for h in "$src"/include/semiparam/*.h "$build"/include/semiparam/*.h; do
    [ "$(basename "$h")" = dist.h ] && continue
    [ -e "$h" ] && headers="$headers semiparam/$(basename "$h")"
done
status=0 count=0
for h in $headers; do
    name=$(echo "$h" | tr '/.' '__')
    printf '#include "%s"\n#include "%s"\nint main(void) { return 0; }\n' "$h" "$h" >"$tmp/$name.c"
    printf '#include "%s"\n#include "%s"\nint main() { return 0; }\n' "$h" "$h" >"$tmp/$name.cpp"
    if ! $cc -std=c99 -pedantic -Werror -Wall -Wextra -I"$src/include" -I"$build/include" \
            -c "$tmp/$name.c" -o "$tmp/$name.o"; then
        echo "FAIL: $h as C99"; status=1
    fi
    if [ -n "$cxx" ]; then
        if ! $cxx -std=c++11 -pedantic -Werror -Wall -Wextra -I"$src/include" -I"$build/include" \
                -c "$tmp/$name.cpp" -o "$tmp/$name.o"; then
            echo "FAIL: $h as C++11"; status=1
        fi
    fi
    count=$((count + 1))
done
[ -n "$cxx" ] || { echo "FAIL: no C++ compiler (g++) found"; status=1; }
[ $status -eq 0 ] && echo "ok: $count headers compile alone ($headers)"
exit $status
