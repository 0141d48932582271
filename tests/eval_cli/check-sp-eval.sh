#!/bin/sh
# shellcheck disable=SC2086 # the option lists split into words on purpose
# sp-eval end to end (examples/sp-eval) on a tiny retrieval model (N = 2)
# trained as tests/train_cli/check-sp-train.sh's retrieval part trains it,
# over 40 real games and raw keys:
#   - over a one-half index, the same top-1 lines in every mode as
#     sp-train --evaluate with the .spn sp-index precompute writes for the
#     same (test) positions; the modes differ from each other
#   - a sample's kept .spn (--neighbour-file-out) evaluated by sp-train and
#     reused by sp-eval --neighbour-file gives the figures of the search
#   - without --index, the retrieval set built now from the training
#     positions (--build-fraction 1: the one-half index's figures; the
#     default 5% share's size; --index-out keeps it)
#   - a model without neighbours: sp-train --evaluate's figures
#   - --csv: a header once, a row per (mode, k), Wilson intervals around
#     top-1, a symmetric interval around value MSE
#   - --distances: N rows per position, ranks 1..N, distances non-decreasing
#   - refusals: an embedder of another id, an index of fewer keys than N, an
#     index of another dataset, a missing and a corrupt model, another board
#     size, retrieval options for a model without neighbours
#   - no temporary .spn left in TMPDIR, also after a failure
#   - with gnuplot, tools/plot-retrieval writes a PNG of each kind
# Usage: check-sp-eval.sh SP_EVAL SP_TRAIN SP_DATA SP_INDEX
set -u
eval_=$1
train=$2
data=$3
index=$4
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-sp-eval: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }

if [ ! -r "$games" ]; then
    echo "check-sp-eval: $games not found, skipped"
    exit 77
fi
mkdir "$tmp/t"
TMPDIR=$tmp/t
export TMPDIR
x() { # PROGRAM ARGS...: must succeed
    "$@" >"$tmp/out" 2>"$tmp/err" || fail "$(basename "$1") $2 exited with $?"
}
run() { # sp-eval ARGS...: output in $tmp/out and $tmp/err, status in $rc
    "$eval_" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
expect() { # STATUS MESSAGE-PATTERN WHAT
    [ "$rc" = "$1" ] || fail "$3: exit $rc, expected $1"
    grep -q -- "$2" "$tmp/err" || fail "$3: no message matching '$2'"
}
no_temporaries() {
    [ -z "$(ls -A "$tmp/t")" ] || fail "$1: left in TMPDIR: $(ls -A "$tmp/t")"
}
top1() { grep '^top-1 k=' "$tmp/out"; }

x "$data" import "$tmp/d.spd" "$games" --max-games 40
# check-sp-train.sh's retrieval recipe: raw keys (history 1, d = 8), a
# two-half index for the training positions' neighbours, a one-half index
# for the test positions'.
x "$index" embedder "$tmp/r.spe" --spd "$tmp/d.spd" --dim 8 --sample 1000 --history 1 --seed 1
x "$index" build "$tmp/r2.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --halves 2 --factory Flat
x "$index" precompute "$tmp/r2.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --k 3 --out "$tmp/train.spn"
x "$index" build "$tmp/r1.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --halves 1 --factory Flat
x "$index" precompute "$tmp/r1.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part test --k 3 --out "$tmp/test.spn"
tiny="--dataset $tmp/d.spd --channels 4 --repr-blocks 1 --dyn-blocks 1 --value-hidden 8 --history 1 --batch 8
      --unroll 2 --threads 1 --test-fraction 0.05 --eval-positions 0 --checkpoint-minutes 0"
x "$train" $tiny --neighbours 2 --neighbour-channels 2 --steps 4 --out "$tmp/n.spm" --neighbour-file "$tmp/train.spn"
x "$train" $tiny --steps 4 --out "$tmp/p.spm"
# sp-index info of a model: a retrieval model's N and the embedder it was trained with.
x "$index" info "$tmp/n.spm"
grep -q '^neighbours  *2$' "$tmp/out" || fail "sp-index info n.spm does not give its 2 neighbours"
x "$index" info "$tmp/r.spe"
rid=$(sed -n 's/^id  *//p' "$tmp/out")
x "$index" info "$tmp/n.spm"
[ -n "$rid" ] && grep -q "^embedder id  *$rid$" "$tmp/out" || fail "sp-index info n.spm does not name embedder $rid"
x "$index" info "$tmp/p.spm"
grep -q '^neighbours  *0$' "$tmp/out" && ! grep -q '^embedder id' "$tmp/out" || fail "sp-index info p.spm: not a plain model"
common="--dataset $tmp/d.spd --unroll 2 --threads 1"
search="--index $tmp/r1.spi --embedder $tmp/r.spe"

# 1. Every test position (sp-index's parts use the default split): the
# search finds what sp-index precompute found, so each mode's figures are
# sp-train's over test.spn.
for mode in retrieved zeroed random; do
    x "$train" --evaluate "$tmp/n.spm" $common --test-fraction 0.05 --neighbour-file "$tmp/test.spn" \
        --neighbour-mode $mode
    top1 >"$tmp/train.$mode"
    run --model "$tmp/n.spm" $common $search --neighbour-mode $mode
    [ $rc = 0 ] || fail "sp-eval --neighbour-mode $mode: exit $rc"
    top1 >"$tmp/eval.$mode"
    [ "$(wc -l <"$tmp/eval.$mode")" = 3 ] || fail "sp-eval --unroll 2 printed other than 3 top-1 lines"
    cmp -s "$tmp/eval.$mode" "$tmp/train.$mode" ||
        fail "sp-eval ($mode) and sp-train --evaluate over sp-index's test.spn differ"
done
no_temporaries "after the evaluations"
if cmp -s "$tmp/eval.retrieved" "$tmp/eval.zeroed" || cmp -s "$tmp/eval.retrieved" "$tmp/eval.random" ||
    cmp -s "$tmp/eval.zeroed" "$tmp/eval.random"; then
    fail "two neighbour modes gave the same figures"
fi

# 1b. Without --index the embedder builds the retrieval set now. With
# --build-fraction 1 it is every training position in one half (Flat below
# 4,096 keys): r1.spi's set, so the figures are the search's above;
# --index-out keeps it. The default share (5%) keeps fewer keys, seeded.
run --model "$tmp/n.spm" $common --embedder "$tmp/r.spe" --build-fraction 1 --index-out "$tmp/built.spi"
[ $rc = 0 ] || fail "sp-eval building the retrieval set: exit $rc"
grep -q '^built the retrieval set .*built.spi: [0-9]* training positions (a share 1), 1 half, Flat' "$tmp/out" ||
    fail "sp-eval did not say how it built the retrieval set"
top1 | cmp -s - "$tmp/eval.retrieved" || fail "the retrieval set built now gives other figures than r1.spi's"
x "$index" info "$tmp/r1.spi"
grep '^keys' "$tmp/out" >"$tmp/keys.r1"
x "$index" info "$tmp/built.spi"
grep '^keys' "$tmp/out" | cmp -s - "$tmp/keys.r1" || fail "the index kept by --index-out is not r1.spi's keys"
all=$(sed -n 's/^keys  *//p' "$tmp/out")
run --model "$tmp/n.spm" $common --embedder "$tmp/r.spe" --index-out "$tmp/built5.spi"
[ $rc = 0 ] || fail "sp-eval building a 5% retrieval set: exit $rc"
x "$index" info "$tmp/built5.spi"
share=$(sed -n 's/^keys  *//p' "$tmp/out")
[ "$share" = "$(awk -v n="$all" 'BEGIN { s = n * 0.05; print (s == int(s)) ? s : int(s) + 1 }')" ] ||
    fail "the default share kept $share of $all keys, not 5% rounded up"
no_temporaries "after building retrieval sets"
run --model "$tmp/n.spm" $common $search --build-fraction 0.5
expect 2 "are for the retrieval set built without --index" "--build-fraction with --index"
run --model "$tmp/n.spm" $common --index-out "$tmp/x.spi"
expect 2 "are for the retrieval set built without --index" "--index-out without an embedder"
run --model "$tmp/n.spm" $common --embedder "$tmp/r.spe" --build-fraction 0
expect 2 "takes a number in" "--build-fraction 0"

# 2. --modes on the same positions in one go, with the CSV rows (twice: one header).
run --model "$tmp/n.spm" $common $search --modes retrieved,zeroed,random --csv "$tmp/s.csv" --label 1
[ $rc = 0 ] || fail "sp-eval --modes: exit $rc"
for mode in retrieved zeroed random; do
    sed -n "/^neighbour mode: $mode\$/,/^floors:/p" "$tmp/out" | grep '^top-1 k=' | cmp -s - "$tmp/eval.$mode" ||
        fail "--modes: the $mode block differs from a run of that mode alone"
done
run --model "$tmp/p.spm" $common --csv "$tmp/s.csv" --label 1
[ $rc = 0 ] || fail "sp-eval of a model without neighbours: exit $rc"
awk -F, -v n="$tmp/n.spm" -v p="$tmp/p.spm" -v i="$tmp/r1.spi" '
    function flag(why) { if (!bad) bad = why }
    NR == 1 { if ($0 != "model,neighbours,index,label,mode,k,positions,top1,top1_low,top1_high,policy_ce,value_mse,floor_top1,floor_value_mse,value_mse_low,value_mse_high") flag("header"); next }
    $1 == "model" { flag("a second header"); next }
    NF != 16 { flag("a row of " NF " fields") }
    $15 >= $12 || $16 <= $12 || $15 < 0 { flag("a value MSE interval not around it") }
    $15 > 0 && (($12 - $15) - ($16 - $12) > 3e-6 || ($16 - $12) - ($12 - $15) > 3e-6) { flag("an asymmetric value MSE interval") }
    $1 == n && ($2 != 2 || $3 != i) { flag("the retrieval rows name another N or index") }
    $1 == p && ($2 != 0 || $3 != "" || $5 != "none") { flag("the plain model rows") }
    $4 != 1 { flag("a label") }
    $9 > $8 || $10 < $8 || $9 < 0 || $10 > 1 { flag("a Wilson interval not around top-1") }
    { rows[$5 "," $6]++ }
    END {
        for (m = 0; m < 4; m++) for (k = 0; k < 3; k++) {
            mode = m == 0 ? "retrieved" : m == 1 ? "zeroed" : m == 2 ? "random" : "none"
            if (rows[mode "," k] != 1) flag("rows of " mode " k=" k ": " rows[mode "," k] + 0)
        }
        if (bad) { print bad; exit 1 }
    }' "$tmp/s.csv" >"$tmp/err" || fail "--csv: $(cat "$tmp/err")"
# The retrieved rows hold the printed figures.
grep "^$tmp/n.spm,2,.*,retrieved," "$tmp/s.csv" | cut -d, -f8 | awk '{ printf "%.3f\n", $1 }' >"$tmp/logged"
awk '{ print $3 }' "$tmp/eval.retrieved" | cmp -s - "$tmp/logged" || fail "--csv: the top-1 column differs from the print"
x "$train" --evaluate "$tmp/p.spm" $common --test-fraction 0.05 --positions 0
top1 >"$tmp/train.plain"
run --model "$tmp/p.spm" $common
top1 | cmp -s - "$tmp/train.plain" || fail "a model without neighbours: sp-eval and sp-train --evaluate differ"

# 3. A sample: its neighbours kept, the distances written; sp-train reads
# the kept file to the same figures, and sp-eval --neighbour-file too.
run --model "$tmp/n.spm" $common $search --positions 20 --seed 3 --neighbour-file-out "$tmp/kept.spn" \
    --distances "$tmp/dist.csv"
[ $rc = 0 ] || fail "sp-eval --positions 20: exit $rc"
grep -q '^positions 20$' "$tmp/out" || fail "--positions 20 evaluated another number of positions"
top1 >"$tmp/eval.sample"
x "$train" --evaluate "$tmp/n.spm" $common --test-fraction 0.05 --neighbour-file "$tmp/kept.spn"
top1 | cmp -s - "$tmp/eval.sample" || fail "sp-train over the kept .spn differs from sp-eval's search"
run --model "$tmp/n.spm" $common --neighbour-file "$tmp/kept.spn" --distances "$tmp/dist2.csv"
top1 | cmp -s - "$tmp/eval.sample" || fail "sp-eval --neighbour-file over the kept .spn differs from its search"
cmp -s "$tmp/dist.csv" "$tmp/dist2.csv" || fail "the distances of the search and of the kept file differ"
awk -F, 'NR == 1 { if ($0 != "position,rank,neighbour,distance") { print "header"; exit 1 } next }
    { n[$1]++; if ($2 != n[$1]) bad = "ranks out of order at " $1
      if ($2 > 1 && $4 + 0 < last) bad = "distance decreasing at position " $1 " rank " $2
      if ($4 + 0 < 0 || $3 == "") bad = "a bad distance or neighbour at " $1; last = $4 + 0 }
    END { for (p in n) { c++; if (n[p] != 2) bad = "position " p " has " n[p] " rows" }
          if (c != 20) bad = c " positions, not 20"
          if (bad) { print bad; exit 1 } }' "$tmp/dist.csv" >"$tmp/err" || fail "--distances: $(cat "$tmp/err")"
# A failure after the search removes the temporary file all the same.
run --model "$tmp/n.spm" $common $search --positions 5 --csv "$tmp/no-such-dir/s.csv"
expect 1 "no-such-dir/s.csv" "--csv into a missing directory"
no_temporaries "after a failed run"

# 4. Refusals.
x "$index" embedder "$tmp/other.spe" --spd "$tmp/d.spd" --dim 8 --sample 500 --history 1 --seed 2
run --model "$tmp/n.spm" $common --index "$tmp/r1.spi" --embedder "$tmp/other.spe"
expect 1 "other.spe (id [0-9a-f]*) did not make the keys of .*r1.spi (embedder [0-9a-f]*)" "an embedder of another id"
run --model "$tmp/n.spm" $common --embedder "$tmp/other.spe" --index-out "$tmp/other.spi"
expect 1 "n.spm was trained on neighbours of embedder [0-9a-f]*, the embedder .*other.spe is" \
    "building a retrieval set with an embedder of another id"
[ ! -e "$tmp/other.spi" ] || fail "a refused build left $tmp/other.spi"
x "$index" build "$tmp/tiny.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --limit 1 --factory Flat
run --model "$tmp/n.spm" $common --index "$tmp/tiny.spi" --embedder "$tmp/r.spe"
expect 1 "reads 2 neighbours, but .*tiny.spi can give at most 1" "an index of fewer keys than N"
# An index of another dataset (the games that ended by resignation): its
# ids would name other positions of d.spd.
x "$data" import "$tmp/o.spd" "$games" --max-games 40 --results resign
x "$index" build "$tmp/o.spi" --spd "$tmp/o.spd" --embedder "$tmp/r.spe" --halves 1 --factory Flat
run --model "$tmp/n.spm" $common --index "$tmp/o.spi" --embedder "$tmp/r.spe"
expect 1 "o.spi holds position [0-9]* .*: an index of another dataset" "an index of another dataset"
run --model "$tmp/no-such.spm" $common
expect 1 "no-such.spm" "a missing model"
head -c 300 "$tmp/n.spm" >"$tmp/cut.spm"
run --model "$tmp/cut.spm" $common $search
expect 1 "cut.spm" "a truncated model"
printf '(;GM[1]FF[4]SZ[13]KM[6.5]RE[B+R];B[aa];W[bb];B[cc])\n' >"$tmp/g13.sgf"
x "$data" import "$tmp/d13.spd" "$tmp/g13.sgf" --size 13
run --model "$tmp/p.spm" --dataset "$tmp/d13.spd"
expect 1 "plays 9x9, the games of .*d13.spd are 13x13" "another board size"
run --model "$tmp/p.spm" $common $search
expect 1 "reads no neighbours" "an index for a model without neighbours"
run --model "$tmp/n.spm" $common
expect 1 "reads 2 neighbours: give the retrieval set" "a retrieval model without neighbours"
run --model "$tmp/n.spm" $common --index "$tmp/r1.spi"
expect 2 "needs the embedder" "--index without an embedder"
no_temporaries "after the refusals"

# 5. The plots.
if command -v gnuplot >/dev/null 2>&1; then
    plot="$SP_SOURCE_ROOT/tools/plot-retrieval"
    x "$train" $tiny --steps 6 --eval-every 3 --out "$tmp/q.spm" --log "$tmp/q.csv"
    x "$train" $tiny --neighbours 2 --neighbour-channels 2 --steps 6 --eval-every 3 --out "$tmp/m.spm" \
        --log "$tmp/m.csv" --neighbour-file "$tmp/train.spn" --test-neighbour-file "$tmp/test.spn"
    # A sweep over the retrieval-set fraction: the two-half index is half the set.
    x "$eval_" --model "$tmp/n.spm" $common --index "$tmp/r2.spi" --embedder "$tmp/r.spe" --modes retrieved,zeroed \
        --csv "$tmp/s.csv" --label 0.5
    x "$eval_" --model "$tmp/m.spm" $common $search --csv "$tmp/s.csv" --label 1
    for kind in fig4a fig4b fig4d fig6a; do
        case $kind in
        fig4a) set -- "$tmp/q.csv:baseline" "$tmp/m.csv:N=2" ;;
        fig6a) set -- "$tmp/dist.csv:test" "$tmp/dist2.csv:again" ;;
        *) set -- "$tmp/s.csv" ;;
        esac
        x "$plot" $kind "$@" "$tmp/$kind.png"
        [ "$(od -An -c -N4 "$tmp/$kind.png" | tr -d ' ')" = '211PNG' ] || fail "plot-retrieval $kind wrote no PNG"
    done
    # The same distances as sp-gtp's move log (a row per position, d1..dN) plot the same figure.
    awk -F, 'function flush() { if (row != "") print row } NR == 1 { next }
        $1 != last { flush(); row = "0,B,A1,1,0,0,0,0,0,1"; last = $1 } { row = row "," $4 } END { flush() }' \
        "$tmp/dist.csv" | sed '1i move_number,color,move,simulations,reused,value,seconds,seconds_embed,seconds_retrieve,queries,d1,d2' \
        >"$tmp/moves.csv"
    x "$plot" fig6a "$tmp/moves.csv:test" "$tmp/dist2.csv:again" "$tmp/log.png"
    cmp -s "$tmp/fig6a.png" "$tmp/log.png" || fail "plot-retrieval fig6a of a move log differs from its sp-eval file's"
    printf 'bad,header\n1,2\n' >"$tmp/bad.csv"
    "$plot" fig6a "$tmp/bad.csv" "$tmp/x.png" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect 1 "nor an sp-gtp move log" "plot-retrieval of a foreign file"
    "$plot" fig4b "$tmp/no-such.csv" "$tmp/x.png" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect 1 "no-such.csv" "plot-retrieval of a missing file"
    no_temporaries "after the plots"
fi
echo "check-sp-eval: ok"
