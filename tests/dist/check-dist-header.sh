#!/bin/sh
# dist.h compiles alone (twice: include guard) as C99 -pedantic and as C++11
# -pedantic, warnings as errors, with MPI's include path (check-headers.sh
# leaves it out for want of that path). C++ with OMPI_SKIP_MPICXX: Open MPI's
# deprecated C++ bindings, which mpi.h pulls in otherwise, warn by themselves.
# Usage: check-dist-header.sh SOURCE_ROOT BUILD_ROOT CC
set -eu
src=$1 build=$2 cc=$3
cxx=$(command -v g++ || command -v c++ || true)
mpi=$(pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "semiparam/dist.h"\n#include "semiparam/dist.h"\nint main(void) { return 0; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
status=0
# shellcheck disable=SC2086
$cc -std=c99 -pedantic -Werror -Wall -Wextra $mpi -I"$src/include" -I"$build/include" -c "$tmp/h.c" -o "$tmp/h.o" ||
    { echo "FAIL: dist.h as C99"; status=1; }
if [ -n "$cxx" ]; then
    # shellcheck disable=SC2086
    $cxx -std=c++11 -pedantic -Werror -Wall -Wextra -DOMPI_SKIP_MPICXX $mpi -I"$src/include" -I"$build/include" \
        -c "$tmp/h.cpp" -o "$tmp/h.o" || { echo "FAIL: dist.h as C++11"; status=1; }
else
    echo "FAIL: no C++ compiler (g++) found"; status=1
fi
[ $status -eq 0 ] && echo "ok: dist.h compiles alone as C99 and C++11"
exit $status
