#!/bin/sh
# sp-data end to end: gen with two GNU Go levels in two jobs (SGFs and a
# .spd, then appending to it), import of the SGFs it wrote, info and split.
set -u
data=$1
gnugo=/usr/games/gnugo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "check-sp-data: $*" >&2; cat "$tmp/out" >&2 2>/dev/null; exit 1; }
value() { sed -n "s/^$1 *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1; }

if [ ! -x "$gnugo" ]; then
    echo "check-sp-data: $gnugo not installed, skipped"
    exit 77
fi
"$data" gen "$tmp/gen.spd" --black "$gnugo --mode gtp --level 1" --white "$gnugo --mode gtp --level 2" \
    --games 2 --jobs 2 --random-moves 3 --sgf-dir "$tmp/sgf" --timeout 30 >"$tmp/out" 2>"$tmp/err" ||
    fail "gen exited with $?"
[ ! -s "$tmp/err" ] || fail "gen wrote to stderr off a terminal: $(cat "$tmp/err")"
grep -q '^summary: games=2 faults=0 duplicates=0 stored=2 ' "$tmp/out" || fail "gen summary"
[ "$(ls "$tmp/sgf" | wc -l)" = 2 ] || fail "expected 2 SGF files"
"$data" gen "$tmp/gen.spd" --black "$gnugo --mode gtp --level 1" --white "$gnugo --mode gtp --level 1" \
    --games 1 --seed 9 >"$tmp/out" 2>&1 || fail "gen (append) exited with $?"
"$data" info "$tmp/gen.spd" >"$tmp/out" || fail "info exited with $?"
[ "$(value games "$tmp/out")" = 3 ] || fail "info: expected 3 games after appending"
# The SGFs gen wrote import back as the same two games.
"$data" import "$tmp/imported.spd" "$tmp/sgf" >"$tmp/out" || fail "import exited with $?"
[ "$(value 'games added' "$tmp/out")" = 2 ] || fail "import: expected 2 games added"
"$data" import "$tmp/imported.spd" "$tmp/sgf" --append >"$tmp/out" || fail "import --append exited with $?"
[ "$(value 'skipped duplicate' "$tmp/out")" = 2 ] || fail "import --append: expected 2 duplicates"
"$data" split "$tmp/gen.spd" --test-fraction 0.5 --out "$tmp/part" >"$tmp/out" || fail "split exited with $?"
for part in train test half0 half1; do
    [ -f "$tmp/part-$part.spd" ] || fail "split wrote no $part file"
done
echo "check-sp-data: ok"
