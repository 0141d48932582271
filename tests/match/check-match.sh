#!/bin/sh
# sp-match end to end: two GNU Go levels play a short match whose report
# parses, and engines that misbehave lose their games with the reason.
# Usage: check-match.sh SP_MATCH FAKE_ENGINE
set -u
match=$1 fake=$2
gnugo=/usr/games/gnugo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# field NAME FILE: the value of NAME=... on the summary line.
field() { sed -n 's/^summary: .*\b'"$1"'=\([^ ]*\).*/\1/p' "$2"; }

# Two levels of GNU Go: a real match, SGFs written, nothing on stderr off a terminal.
"$match" --black "$gnugo --mode gtp --level 1" --white "$gnugo --mode gtp --level 2" --games 2 \
    --sgf-dir "$tmp/sgf" >"$tmp/out" 2>"$tmp/err" || fail "gnugo match exited with $?"
cat "$tmp/out"
[ "$(field games "$tmp/out")" = 2 ] || fail "summary games != 2"
[ "$(field faults "$tmp/out")" = 0 ] || fail "faults in a GNU Go match"
sum=$(( $(field a_wins "$tmp/out") + $(field b_wins "$tmp/out") + $(field draws "$tmp/out") ))
[ "$sum" = 2 ] || fail "wins and draws do not add up to 2"
[ "$(grep -c '^game [12]: black=[AB] white=[AB] result=[BW0]' "$tmp/out")" = 2 ] || fail "per-game lines"
if ! grep -q '^game 1: black=A white=B' "$tmp/out" || ! grep -q '^game 2: black=B white=A' "$tmp/out"; then
    fail "colours do not alternate"
fi
[ -s "$tmp/err" ] && fail "stderr is not empty off a terminal: $(cat "$tmp/err")"
for n in 1 2; do
    f=$tmp/sgf/game-000$n.sgf
    if ! grep -qE 'RE\[(B\+|W\+|0\])' "$f" || ! grep -q 'PB\[GNU Go' "$f"; then
        fail "$f missing or without RE/PB"
    fi
done

# A faulty engine A against one that always passes: A loses both games, as
# Black and as White, with the end and reason recorded.
check_fault() {  # MODE RESULT_KIND REASON_TEXT
    "$match" --black "$fake $1" --white "$fake pass" --games 2 --timeout 1 >"$tmp/$1" 2>&1 ||
        fail "$1: sp-match exited with $?"
    [ "$(field b_wins "$tmp/$1")" = 2 ] || { fail "$1: B did not win both games"; cat "$tmp/$1"; }
    [ "$(grep -c "end=$2" "$tmp/$1")" = 2 ] || fail "$1: end is not $2"
    [ "$(grep -c "$3" "$tmp/$1")" = 2 ] || { fail "$1: reason lacks '$3'"; cat "$tmp/$1"; }
}
check_fault illegal fault 'illegal move A1'
check_fault garbage fault "unparsable move 'Z99'"
check_fault crash fault 'engine died'
check_fault hang fault 'no answer to .genmove'
check_fault refuse fault "refused 'play"
check_fault resign resign 'resigned'
grep -q 'result=W+T' "$tmp/hang" || fail "a timeout is not recorded as W+T"

# Two passes on an empty board: White wins by the komi, whoever is A.
"$match" --black "$fake pass" --white "$fake pass" --games 2 --komi 6.5 >"$tmp/pass" 2>&1
grep -q 'result=W+6.5 end=score moves=2' "$tmp/pass" || fail "empty board is not W+6.5"
[ "$(field a_win_rate "$tmp/pass")" = 0.5000 ] || fail "win rate of 1 of 2 is not 0.5"
[ "$(field wilson95_low "$tmp/pass")" = 0.0945 ] || fail "Wilson interval low for 1/2"
[ "$(field wilson95_high "$tmp/pass")" = 0.9055 ] || fail "Wilson interval high for 1/2"

# A gives 3 points: komi 7 + 3 when A is Black (game 1), 7 - 3 when A is White (game 2).
"$match" --black "$fake pass" --white "$fake pass" --games 2 --a-gives 3 >"$tmp/gives" 2>&1
grep -q '^game 1: black=A white=B result=W+10 end=score' "$tmp/gives" || fail "A as Black does not give komi 10"
grep -q '^game 2: black=B white=A result=W+4 end=score' "$tmp/gives" || fail "A as White does not give komi 4"

# Bad usage and engines that never start.
"$match" --black x >/dev/null 2>&1; [ $? = 2 ] || fail "missing --white is not a usage error"
"$match" --black x --white y --games 0 >/dev/null 2>&1; [ $? = 2 ] || fail "--games 0 accepted"
"$match" --black "$fake silent-name" --white "$fake pass" --timeout 0.5 >/dev/null 2>&1
[ $? = 1 ] || fail "an engine that does not answer 'name' does not stop the match"

[ $status = 0 ] && echo "ok: sp-match"
exit $status
