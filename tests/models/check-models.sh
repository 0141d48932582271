#!/bin/sh
# The shipped models (models/): each file's SHA-256 equals the one recorded in
# models/SHA256SUMS, and each model loads (every .spm section CRC checked)
# and plays a legal first move through sp-gtp --policy-only.
# Usage: check-models.sh SOURCE_ROOT SP_GTP
set -eu
root=$1 gtp=$2
cd "$root/models"
[ -s SHA256SUMS ] || { echo "FAIL: models/SHA256SUMS is missing or empty"; exit 1; }
sha256sum --check --strict SHA256SUMS
# Every shipped file is listed.
for f in *.spm; do
    grep -q "  $f\$" SHA256SUMS || { echo "FAIL: models/$f is not in models/SHA256SUMS"; exit 1; }
done
for f in $(awk '/\.spm$/ { print $2 }' SHA256SUMS); do
    out=$(printf 'boardsize 9\ngenmove b\nquit\n' | "$gtp" --model "$f" --policy-only)
    move=$(printf '%s\n' "$out" | sed -n 's/^= \([A-HJ-T][0-9]*\|pass\)$/\1/p' | head -1)
    [ -n "$move" ] || { echo "FAIL: $f: no move in: $out"; exit 1; }
    echo "ok: $f loads and plays $move"
done
