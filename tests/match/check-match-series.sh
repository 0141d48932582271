#!/bin/sh
# tools/match-series: chunks add up to one match, a rerun plays no complete
# chunk again, an interrupted chunk is replayed, and another command is refused.
# Usage: check-match-series.sh MATCH-SERIES SP-MATCH SP-GTP
set -u
series=$1 match=$2 gtp=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { "$series" "$dir/m" "$1" 2 "$match" --size 5 --black "$gtp --player random" --white "$gtp --player random"; }

out=$(run 4 2>/dev/null) || fail "a 4-game series failed"
echo "$out" | grep -q '^summary: chunks=2 games=4 ' || fail "4 games in 2 chunks expected: $out"
[ "$(ls -d "$dir"/m/sgf-* | wc -l)" = 2 ] || fail "one SGF directory per chunk expected"
wins=$(cat "$dir"/m/chunk-*.txt | awk -F'a_wins=' '/^summary:/ { split($2, w, " "); s += w[1] } END { print s }')
echo "$out" | grep -q " a_wins=$wins " || fail "the series' wins differ from its chunks' ($wins): $out"

# A rerun keeps both chunks as they are.
sum1=$(cat "$dir"/m/chunk-*.txt | cksum)
run 4 >/dev/null 2>&1 || fail "rerun failed"
[ "$(cat "$dir"/m/chunk-*.txt | cksum)" = "$sum1" ] || fail "a rerun replayed complete chunks"

# A chunk without its summary (interrupted) is played again; a longer series adds chunks.
grep -v '^summary:' "$dir/m/chunk-2.txt" > "$dir/c2" && mv "$dir/c2" "$dir/m/chunk-2.txt"
out=$(run 6 2>/dev/null) || fail "6-game rerun failed"
echo "$out" | grep -q '^summary: chunks=3 games=6 ' || fail "6 games in 3 chunks expected: $out"

# Another command in the same directory, an odd chunk, a bad count: refused.
"$series" "$dir/m" 4 2 "$match" --size 5 --black "$gtp" --white "$gtp" >/dev/null 2>&1 && fail "another command accepted"
"$series" "$dir/n" 4 3 "$match" >/dev/null 2>&1 && fail "an odd chunk accepted"
"$series" "$dir/n" 5 2 "$match" >/dev/null 2>&1 && fail "games not a multiple of the chunk accepted"
echo "match-series: ok"
