#!/bin/sh
# Build the API reference; fail, showing every warning, when doxygen warns
# (an undocumented public symbol, a parameter named wrong or left out of a
# documented function, a broken reference).
# Usage: check-doxygen.sh DOXYGEN DOXYFILE OUTPUT_DIR
set -eu
doxygen=$1 doxyfile=$2 out=$3
mkdir -p "$out"
rm -f "$out/warnings.log"
status=0
"$doxygen" "$doxyfile" || status=$?
if [ -s "$out/warnings.log" ]; then
    echo "FAIL: doxygen warnings:"; cat "$out/warnings.log"; exit 1
fi
[ $status -eq 0 ] || { echo "FAIL: doxygen exited with $status"; exit 1; }
echo "ok: API reference in $out/html, no warnings"
