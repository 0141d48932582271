#!/bin/sh
# sp-index quality end to end on 300 real games (issue 14), against a naive
# recomputation in Python through the bindings: every (query, neighbour)
# pair of --pairs is replayed on its own (no sorting, no shared replay) and
# its next move (plain and up to symmetry), outcome, ownership agreement and
# exactness computed again; the per-query means, their means over queries,
# the normal intervals, the counts and the median distance of --csv are
# recomputed from those pairs. Besides: an index over every position
# queried by its own positions with k = 1 finds each query itself (exact 1,
# distance 0); --exclude game never returns the query's game; queries come
# from the test split, from rated games with --min-rating, the same for the
# same seed and others for another; an index of another embedder and bad
# arguments are refused with a message.
# Usage: check-quality.sh SP_DATA SP_INDEX LIBSEMIPARAM (the library the
# Python bindings load: under ASan give the environment the Python tests get).
set -u
data=$1
index=$2
lib=$3
root=${SP_SOURCE_ROOT:-$(dirname "$0")/../..}
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "check-quality: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }
run() {
    "$index" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
refused() { # PATTERN WHAT COMMAND...
    pattern=$1
    what=$2
    shift 2
    run "$@"
    [ $rc != 0 ] || fail "$what: accepted"
    grep -q -- "$pattern" "$tmp/err" || fail "$what: no message matching '$pattern'"
}
# A CSV row's field: csv FILE NAME COLUMN (2 value, 3 low, 4 high, 5 n).
csv() { awk -F, -v n="$2" -v c="$3" '$1 == n { print $c }' "$1"; }
# The naive recomputation: check.py PAIRS CSV [--test-part] [--min-rating R] [--other-game]
check() {
    SEMIPARAM_LIBRARY=$lib PYTHONPATH=$root/bindings/python python3 "$tmp/check.py" "$tmp/d.spd" "$@" \
        >"$tmp/out" 2>"$tmp/err" || fail "naive recomputation ($*)"
}

if [ ! -r "$games" ]; then
    echo "check-quality: $games not found, skipped"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "check-quality: no python3 for the naive recomputation, skipped"
    exit 77
fi
"$data" import "$tmp/d.spd" "$games" --max-games 300 >"$tmp/out" 2>"$tmp/err" || fail "sp-data import exited with $?"
run embedder "$tmp/raw.spe" --spd "$tmp/d.spd" --dim 16 --sample 3000 --history 1 --seed 1
[ $rc = 0 ] || fail "embedder: exit $rc"
run embedder "$tmp/other.spe" --spd "$tmp/d.spd" --dim 16 --sample 3000 --history 2 --seed 1
[ $rc = 0 ] || fail "embedder (other): exit $rc"
run build "$tmp/all.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --factory Flat --part all
[ $rc = 0 ] || fail "build (all): exit $rc"
run build "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --factory Flat --part train
[ $rc = 0 ] || fail "build (train): exit $rc"

cat >"$tmp/check.py" <<'EOF'
"""Recompute sp-index quality's pairs and table naively (see check-quality.sh)."""
import csv
import math
import sys

from semiparam import dataset, go

ds = dataset.Dataset.load(sys.argv[1])
pairs_path, table_path = sys.argv[2], sys.argv[3]
flags = sys.argv[4:]
size = ds.board_size
area = size * size
METRICS = ["next_move", "next_move_sym", "outcome", "ownership", "exact"]


def fail(message):
    sys.exit("check.py: " + message)


def facts(position):
    """(game, board, to_play, next action, outcome for the side to move, ownership as it sees it)."""
    game, move = ds.position_locate(position)
    g = ds.game_replay(game, move)
    me = g.to_play
    board = list(g.board())
    info = ds.game_info(game)
    outcome = 0 if info.winner == 0 else (1 if info.winner == me else -1)
    owner = [0 if c == 0 else (1 if c == me else 2) for c in ds.game_ownership(game)]
    moves = ds.game_moves(game)
    return game, board, me, (moves[move] if move < len(moves) else -1), outcome, owner, info


def mine(stone, me):
    return 0 if stone == 0 else (1 if stone == me else 2)


def metrics(q, x):
    """The five metrics of a pair, None where one does not apply."""
    _, qb, qme, qn, qo, qown, _ = q
    _, xb, xme, xn, xo, xown, _ = x
    agree = []
    for s in range(8):
        agree.append(sum(mine(xb[p], xme) == mine(qb[go.symmetry_point(s, size, p)], qme) for p in range(area)))
    best = max(agree)
    sym = any(agree[s] == best and qn >= 0 and
              qn == (go.symmetry_point(s, size, xn) if 0 <= xn < area else xn) for s in range(8))
    return [float(qn >= 0 and qn == xn), float(sym),
            None if qo == 0 or xo == 0 else float(qo == xo),
            sum(a == b for a, b in zip(qown, xown)) / area,
            float(qme == xme and qb == xb)]


cache = {}


def get(position):
    if position not in cache:
        cache[position] = facts(position)
    return cache[position]


rows = list(csv.DictReader(open(pairs_path)))
if not rows:
    fail("no pair")
per_query = {"index": {}, "random": {}}
distances = {"index": [], "random": []}
for r in rows:
    qpos, pos = int(r["query_position"]), int(r["position"])
    q, x = get(qpos), get(pos)
    want = metrics(q, x)
    for name, value in zip(METRICS, want):
        got = r[name]
        if value is None:
            if got != "":
                fail("%s pair %s-%s: %s given, not applicable" % (name, qpos, pos, got))
        elif got == "" or abs(float(got) - value) > 1e-6:
            fail("%s pair %s-%s: %s, naive %s" % (name, qpos, pos, got, value))
    if "--other-game" in flags and r["set"] == "index" and q[0] == x[0]:
        fail("pair %s-%s: a neighbour of the query's own game %d" % (qpos, pos, q[0]))
    per_query[r["set"]].setdefault(int(r["query"]), (qpos, []))[1].append(want)
    if r["distance"] != "":
        distances[r["set"]].append(float(r["distance"]))

table = {r[0]: r[1:] for r in csv.reader(open(table_path)) if r[0] != "name"}


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


for s, prefix in (("index", ""), ("random", "random_")):
    queries = per_query[s]
    for q, (qpos, _) in queries.items():
        game, _, _, _, _, _, info = get(qpos)
        if "--test-part" in flags and ds.game_part(game) != dataset.Part.TEST:
            fail("query %d (position %d): game %d is not in the test split" % (q, qpos, game))
        if "--min-rating" in flags:
            floor = float(flags[flags.index("--min-rating") + 1])
            if not (info.black_rating >= floor and info.white_rating >= floor):
                fail("query position %d: game %d rated %s/%s, below %s" % (qpos, game, info.black_rating,
                                                                          info.white_rating, floor))
    for m, name in enumerate(METRICS):
        means = []
        for _, values in queries.values():
            ok = [v[m] for v in values if v[m] is not None]
            if ok:
                means.append(sum(ok) / len(ok))
        n = len(means)
        mean = sum(means) / n
        half = 1.959964 * math.sqrt(sum((v - mean) ** 2 for v in means) / (n - 1) / n)
        value, low, high, count = table[prefix + name]
        if int(count) != n or not close(float(value), mean) or not close(float(low), mean - half) \
                or not close(float(high), mean + half):
            fail("%s%s: table %s [%s, %s] n %s; naive %.9g [%.9g, %.9g] n %d" % (
                prefix, name, value, low, high, count, mean, mean - half, mean + half, n))
    d = sorted(distances[s])
    median = (d[len(d) // 2] if len(d) % 2 else 0.5 * (d[len(d) // 2 - 1] + d[len(d) // 2])) if d else float("nan")
    value, low, high, count = table[prefix + "median_distance"]
    if int(count) != len(d) or (d and (abs(float(value) - median) > 1e-5 * max(1.0, median)
                                       or not float(low) <= float(value) <= float(high))):
        fail("%smedian_distance: table %s [%s, %s] n %s; naive %.9g n %d" % (prefix, value, low, high, count,
                                                                          median, len(d)))
print("pairs %d, positions %d: ok" % (len(rows), len(cache)))
EOF

# 1. Every position indexed, queried by its own positions with k = 1: the
# nearest key is the query's own (or an identical position's), so exact is
# 1 throughout and the median distance 0 (up to the projection's rounding).
run quality "$tmp/all.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part all --queries 300 --k 1 \
    --csv "$tmp/self.csv" --pairs "$tmp/self.pairs"
[ $rc = 0 ] || fail "quality (self): exit $rc"
[ "$(csv "$tmp/self.csv" exact 2)" = 1 ] || fail "quality (self): exact $(csv "$tmp/self.csv" exact 2), not 1"
if [ "$(csv "$tmp/self.csv" exact 3)" != 1 ] || [ "$(csv "$tmp/self.csv" exact 4)" != 1 ]; then
    fail "quality (self): the interval of exact is not [1, 1]"
fi
[ "$(csv "$tmp/self.csv" exact 5)" = 300 ] || fail "quality (self): n of exact is not 300"
awk -F, '$1 == "median_distance" { exit !($2 < 1e-3) }' "$tmp/self.csv" ||
    fail "quality (self): median distance $(csv "$tmp/self.csv" median_distance 2), not 0"
# Chance finds far fewer exact matches, at far larger distances.
awk -F, '$1 == "random_exact" { exit !($2 < 0.5) } $1 == "random_median_distance" { exit !($2 > 1) }' \
    "$tmp/self.csv" || fail "quality (self): the random baseline looks like the index"
grep -q "^exact position  *1.0000 \[1.0000, 1.0000\]" "$tmp/out" || fail "quality (self): no table row for exact"
check "$tmp/self.pairs" "$tmp/self.csv"

# 2. Test positions against the training index, k = 5, a small baseline of
# distances: every pair and aggregate recomputed; queries from the test split.
run quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 200 --k 5 --seed 3 \
    --baseline-keys 50 --csv "$tmp/q.csv" --pairs "$tmp/q.pairs"
[ $rc = 0 ] || fail "quality (test): exit $rc"
[ "$(csv "$tmp/q.csv" next_move 5)" = 200 ] || fail "quality (test): n of next_move is not 200"
[ "$(csv "$tmp/q.csv" random_median_distance 5)" = 250 ] || fail "quality (test): not 50 x 5 random distances"
grep -q "queries left out" "$tmp/out" || fail "quality (test): the outcome's exclusions are not said"
check "$tmp/q.pairs" "$tmp/q.csv" --test-part
# Better than chance on this easy ground: next move and ownership.
awk -F, '{ v[$1] = $2 } END { exit !(v["next_move"] > v["random_next_move"] && v["ownership"] > v["random_ownership"]) }' \
    "$tmp/q.csv" || fail "quality (test): the index's neighbours are no better than random ones"

# 3. The same seed, the same run; another seed, other queries.
run quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 200 --k 5 --seed 3 \
    --baseline-keys 50 --csv "$tmp/q2.csv" --pairs "$tmp/q2.pairs"
if ! cmp -s "$tmp/q.csv" "$tmp/q2.csv" || ! cmp -s "$tmp/q.pairs" "$tmp/q2.pairs"; then
    fail "quality: seed 3 twice differs"
fi
run quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 200 --k 5 --seed 4 \
    --baseline-keys 50 --pairs "$tmp/q4.pairs"
! cmp -s "$tmp/q.pairs" "$tmp/q4.pairs" || fail "quality: seeds 3 and 4 drew the same queries"

# 4. --exclude game over every position: no neighbour of the query's game.
run quality "$tmp/all.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part all --queries 100 --k 5 \
    --exclude game --csv "$tmp/x.csv" --pairs "$tmp/x.pairs"
[ $rc = 0 ] || fail "quality --exclude game: exit $rc"
check "$tmp/x.pairs" "$tmp/x.csv" --other-game

# 5. Rated games only; more queries asked than there are: all of them.
run quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 1000000 --k 2 \
    --min-rating 2000 --baseline-keys 0 --csv "$tmp/r.csv" --pairs "$tmp/r.pairs"
[ $rc = 0 ] || fail "quality --min-rating: exit $rc"
check "$tmp/r.pairs" "$tmp/r.csv" --test-part --min-rating 2000
n=$(csv "$tmp/r.csv" exact 5)
if [ "$n" -le 0 ] || [ "$n" -ge 1000000 ]; then
    fail "quality --min-rating: $n queries"
fi

# 6. Refusals.
refused "never searched with queries of another" "an index of another embedder" quality "$tmp/train.spi" \
    --spd "$tmp/d.spd" --embedder "$tmp/other.spe"
refused "give the index's embedder" "no embedder" quality "$tmp/train.spi" --spd "$tmp/d.spd"
refused "k must be at least 1" "--k 0" quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --k 0
refused "part takes" "--part half" quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part half
refused "whole number" "--queries -1" quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" \
    --queries -1
refused "min-rating takes a number" "--min-rating x" quality "$tmp/train.spi" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --min-rating x
refused "no position" "--min-rating 9999" quality "$tmp/train.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" \
    --min-rating 9999
refused "cannot write" "--csv in a missing directory" quality "$tmp/train.spi" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --queries 10 --csv "$tmp/none/q.csv"
refused "missing.spi" "a missing index" quality "$tmp/missing.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe"
echo "check-quality: ok"
