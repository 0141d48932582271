#!/bin/sh
# Follow docs/tutorial.md: run its sh blocks in order, in one shell, in a fresh
# copy of the source tree, except the blocks marked `tutorial-test: skip`.
# Sizes are made small by the substitutions below; each must still match the
# tutorial, so the two cannot drift apart silently.
# Usage: check-tutorial.sh SOURCE_ROOT [DATA_DIR]
set -eu
src=$(cd "$1" && pwd) data=${2:-}
[ -z "${SP_IN_TUTORIAL:-}" ] || { echo "SKIP: already inside the tutorial test"; exit 77; }
if [ -n "$data" ] && ! ls "$data"/cgos9x9_2015.sgf.xz >/dev/null 2>&1; then
    echo "SKIP: the game records the tutorial imports are not in $data"; exit 77
fi
export SP_IN_TUTORIAL=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The fenced sh blocks, skipping one after a "tutorial-test: skip" comment.
awk '/^<!-- tutorial-test: skip/ { skip = 1; next }
     /^```sh$/ { inside = 1; if (!skip) printf "\n"; next }
     /^```$/ && inside { inside = 0; skip = 0; next }
     inside && !skip { print }' "$src/docs/tutorial.md" >"$tmp/steps.sh"

# pattern|replacement: the tutorial's real sizes, then the test's small ones.
cat >"$tmp/small" <<'SUBST'
ninja -C build$|ninja -C build -j2
meson test -C build --print-errorlogs|meson test -C build --print-errorlogs --suite python --suite docs
--games 2 --sgf-dir|--games 1 --sgf-dir
--simulations 1000|--simulations 50
--max-games 20000|--max-games 300
--games 4 --jobs 2|--games 1 --jobs 1
--simulations 200 --seed 1|--simulations 20 --seed 1
play_gnugo.py --size 9 --simulations 200|play_gnugo.py --size 5 --simulations 20
--dim 64 --sample 50000|--dim 64 --sample 1000
SUBST
while IFS='|' read -r pattern replacement; do
    grep -q -e "$pattern" "$tmp/steps.sh" ||
        { echo "FAIL: the tutorial no longer contains '$pattern' (update docs/check-tutorial.sh)"; exit 1; }
    sed -i "s|$pattern|$replacement|" "$tmp/steps.sh"
done <"$tmp/small"

# A fresh copy of the tree: the tracked files only (no build directories).
mkdir "$tmp/libsemiparam"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -z | tar -C "$src" --null -T - -cf - | tar -C "$tmp/libsemiparam" -xf -
else
    tar -C "$src" --exclude='./build*' -cf - . | tar -C "$tmp/libsemiparam" -xf -
fi
[ -z "$data" ] || export DATA="$data"
unset SEMIPARAM_LIBRARY PYTHONPATH || true

echo "== running $(grep -c . "$tmp/steps.sh") tutorial lines in $tmp/libsemiparam"
cd "$tmp/libsemiparam"
if ! bash -eux -o pipefail "$tmp/steps.sh" >"$tmp/log" 2>&1; then
    tail -n 60 "$tmp/log"; echo "FAIL: a tutorial command failed (full script: docs/tutorial.md)"; exit 1
fi
tail -n 25 "$tmp/log"
echo "ok: every tutorial command ran"
