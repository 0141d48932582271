#!/bin/sh
# shellcheck disable=SC2015  # "A && B || fail": fail is what should run when A or B fails
# sp-index under mpirun (examples/sp-index.c, index/index_cluster.c) over a
# Flat index of a few dozen real games:
#   - 2 ranks build a sharded index (INDEX.<rank>.spi + INDEX.manifest), and
#     its query output is byte for byte the one-process index's (a sharded
#     flat index answers exactly as one index over the same keys);
#   - recall under 2 ranks prints the same recall as one process, and the
#     bytes rank 0 passed to MPI; only rank 0 prints;
#   - add under 2 ranks grows the sharded index as one process grows its own;
#   - the 2-rank save answers the same under 3 ranks and 1 (resharding);
#   - info reads the sharded save's manifest without mpirun;
#   - precompute under mpirun writes one process's .spn (Flat below 20
#     queries, IVF1,Flat over every training position, with 2, 3 and 1 ranks),
#     as with --keys of a key file of those positions (1 process, 2 ranks);
#     a failure on rank 0 fails every rank.
# Usage: check-sp-index-mpi.sh SP_INDEX SP_DATA
set -u
index=$1
data=$2
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (tools/setup installs openmpi-bin)"; exit 77; }
[ -r "$games" ] || { echo "check-sp-index-mpi: $games not found, skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-sp-index-mpi: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }
"$data" import "$tmp/d.spd" "$games" --max-games 60 >"$tmp/out" 2>"$tmp/err" || fail "sp-data import exited with $?"

# run NP OUTPUT sp-index-arguments: NP 0 is a plain start without mpirun.
run() {
    np=$1 out=$2; shift 2
    if [ "$np" = 0 ]; then
        "$index" "$@" >"$out" 2>"$tmp/err"
    else
        mpirun -np "$np" --oversubscribe "$index" "$@" >"$out" 2>"$tmp/err"
    fi
    rc=$?
}
inputs="--spd $tmp/d.spd --pca $tmp/one.spi.spp"

run 0 "$tmp/out" build "$tmp/one.spi" --spd "$tmp/d.spd" --factory Flat --pca-dim 16 --pca-sample 2000
[ $rc = 0 ] || fail "1 process build: exit $rc"
# shellcheck disable=SC2086
run 2 "$tmp/out" build "$tmp/two.spi" $inputs --factory Flat
[ $rc = 0 ] || fail "2 ranks build: exit $rc"
[ -s "$tmp/two.0.spi" ] && [ -s "$tmp/two.1.spi" ] && [ -s "$tmp/two.manifest" ] && [ ! -e "$tmp/two.spi" ] ||
    fail "2 ranks did not write two.0.spi, two.1.spi and two.manifest"
[ "$(grep -c '^index ' "$tmp/out")" = 1 ] || fail "2 ranks build: not exactly one rank printed"
grep -q "2 shards" "$tmp/out" || fail "2 ranks build: no shard count"

# Positions deep in their games: an empty board has dozens of exact twins at
# distance 0, and which k of more than k equal distances one FAISS index
# keeps is arbitrary (a sharded one keeps the smallest ids). Position 0 (the
# empty board) checks the distances alone.
# shellcheck disable=SC2086
run 0 "$tmp/q1" query "$tmp/one.spi" $inputs --position 0 --boards 0 --k 12
# shellcheck disable=SC2086
run 2 "$tmp/q2" query "$tmp/two.spi" $inputs --position 0 --boards 0 --k 12
[ "$(awk '{print $NF}' "$tmp/q1")" = "$(awk '{print $NF}' "$tmp/q2")" ] ||
    fail "query of the empty board: 2 ranks find other distances than 1 process"
for p in 123 777 1500 2900; do
    for ex in none game; do
        # shellcheck disable=SC2086
        run 0 "$tmp/q1" query "$tmp/one.spi" $inputs --position $p --boards 0 --k 12 --exclude $ex
        [ $rc = 0 ] || fail "1 process query $p: exit $rc"
        # shellcheck disable=SC2086
        run 2 "$tmp/q2" query "$tmp/two.spi" $inputs --position $p --boards 0 --k 12 --exclude $ex
        [ $rc = 0 ] || fail "2 ranks query $p: exit $rc"
        [ "$(wc -l <"$tmp/q1")" -gt 3 ] || fail "query $p: too few lines"
        cmp "$tmp/q1" "$tmp/q2" || fail "query $p --exclude $ex: 2 ranks answer differently from 1 process"
    done
done

# The 2-rank save loaded by 3 ranks and by 1 (under mpirun) answers the same.
for ranks in 3 1; do
    # shellcheck disable=SC2086
    run 0 "$tmp/q1" query "$tmp/one.spi" $inputs --position 1500 --boards 0 --k 12
    # shellcheck disable=SC2086
    run $ranks "$tmp/q2" query "$tmp/two.spi" $inputs --position 1500 --boards 0 --k 12
    [ $rc = 0 ] || fail "$ranks ranks query of a 2-rank save: exit $rc"
    cmp "$tmp/q1" "$tmp/q2" || fail "$ranks ranks query of a 2-rank save: other answers than 1 process"
done
# Recall of the 2-rank save on 3 ranks (one holds no shard) and on 1 (it
# holds both): the exact reference covers every shard's keys.
for ranks in 3 1; do
    # shellcheck disable=SC2086
    run $ranks "$tmp/r3" recall "$tmp/two.spi" $inputs --queries 19 --nprobe 1
    [ $rc = 0 ] && [ "$(awk '$1 == "Flat" && $2 == 1 {print $4}' "$tmp/r3")" = 1.0000 ] ||
        fail "recall of a 2-rank save on $ranks ranks: exit $rc, or not 1"
done
# Without mpirun a sharded save is not an index file: refused with a hint.
# shellcheck disable=SC2086
run 0 "$tmp/out" query "$tmp/two.spi" $inputs --position 1500 --boards 0
[ $rc != 0 ] && grep -q "sharded save" "$tmp/err" || fail "a sharded save queried without mpirun: no hint"

# 19 queries: below 20 FAISS computes exact per-pair distances (above, BLAS
# distances whose rounding near 0 makes recall@k of any flat index noise).
# shellcheck disable=SC2086
run 0 "$tmp/r1" recall "$tmp/one.spi" $inputs --queries 19 --nprobe 1
[ $rc = 0 ] || fail "1 process recall: exit $rc"
# shellcheck disable=SC2086
run 2 "$tmp/r2" recall "$tmp/two.spi" $inputs --queries 19 --nprobe 1
[ $rc = 0 ] || fail "2 ranks recall: exit $rc"
[ "$(awk '$1 == "Flat" && $2 == 1 {print $4}' "$tmp/r1")" = 1.0000 ] && [ "$(awk '$1 == "Flat" && $2 == 1 {print $4}' "$tmp/r2")" = 1.0000 ] ||
    fail "recall@k of a flat index, 1 process or 2 ranks, is not 1"
# What rank 0 passes to MPI for 19 queries of 16 floats, k 10: the batch
# (19 x 16 x 4) and the settings (48 bytes), its own candidates (19 x 10 x
# 16) and 6 agreements and the roots' check of 8 bytes each.
bytes=$((19 * 16 * 4 + 48 + 19 * 10 * 16 + 6 * 8))
grep -q "^mpi bytes *$bytes " "$tmp/r2" || fail "2 ranks recall: bytes passed to MPI not $bytes"

# Online growth: the same games added to both, then the same answers.
cp "$tmp/one.spi" "$tmp/grow.spi"
for f in 0.spi 1.spi manifest; do cp "$tmp/two.$f" "$tmp/grow2.$f"; done
# shellcheck disable=SC2086
run 0 "$tmp/out" add "$tmp/grow.spi" $inputs --first-game 0 --games 3
[ $rc = 0 ] || fail "1 process add: exit $rc"
# shellcheck disable=SC2086
run 2 "$tmp/a2" add "$tmp/grow2.spi" $inputs --first-game 0 --games 3
[ $rc = 0 ] || fail "2 ranks add: exit $rc"
cmp "$tmp/out" "$tmp/a2" >/dev/null 2>&1 ||
    [ "$(sed 's/ in .*//' "$tmp/out")" = "$(sed 's/ in .*//' "$tmp/a2")" ] || fail "add: 2 ranks report other counts"
# shellcheck disable=SC2086
run 0 "$tmp/q1" query "$tmp/grow.spi" $inputs --position 5 --boards 0 --k 12
# shellcheck disable=SC2086
run 2 "$tmp/q2" query "$tmp/grow2.spi" $inputs --position 5 --boards 0 --k 12
[ $rc = 0 ] && cmp "$tmp/q1" "$tmp/q2" || fail "after add: 2 ranks answer differently from 1 process"

run 0 "$tmp/out" info "$tmp/two.spi"
[ $rc = 0 ] || fail "info of a sharded save: exit $rc"
grep -q "^shards *2" "$tmp/out" && grep -q "^factory *Flat" "$tmp/out" || fail "info: no shard count or factory"

# precompute under mpirun: each rank keys a run of the positions, rank 0
# writes one .spn. 19 positions over Flat (FAISS's exact per-pair distances
# below 20 queries): the 2-rank file is one process's byte for byte.
# shellcheck disable=SC2086
run 0 "$tmp/out" precompute "$tmp/one.spi" $inputs --out "$tmp/n1.spn" --limit 19
[ $rc = 0 ] && [ -s "$tmp/n1.spn" ] || fail "1 process precompute: exit $rc"
# shellcheck disable=SC2086
run 2 "$tmp/out" precompute "$tmp/two.spi" $inputs --out "$tmp/n2.spn" --limit 19
[ $rc = 0 ] || fail "2 ranks precompute: exit $rc"
[ "$(grep -c '^neighbours *19 positions' "$tmp/out")" = 1 ] || fail "2 ranks precompute: not one line of 19 positions"
cmp "$tmp/n1.spn" "$tmp/n2.spn" || fail "precompute of 19 positions over Flat: 2 ranks write another file"
# Every training position (batches of 1,024, runs of 4,096 per rank) over
# IVF1,Flat: an exact search whose distances are per pair at any batch size
# (Flat's BLAS distances round with a key's place in the index). One
# process, 2 ranks, and the 2-rank save on 3 ranks (the first keys no
# position: 2 runs of 4,096 for 3 ranks; the last holds no shard) and on 1
# write the same file.
# shellcheck disable=SC2086
run 0 "$tmp/out" build "$tmp/ivf.spi" $inputs --factory IVF1,Flat
[ $rc = 0 ] || fail "1 process IVF1,Flat build: exit $rc"
# shellcheck disable=SC2086
run 2 "$tmp/out" build "$tmp/ivf2.spi" $inputs --factory IVF1,Flat
[ $rc = 0 ] || fail "2 ranks IVF1,Flat build: exit $rc"
# shellcheck disable=SC2086
run 0 "$tmp/out" precompute "$tmp/ivf.spi" $inputs --out "$tmp/i1.spn"
[ $rc = 0 ] || fail "1 process IVF1,Flat precompute: exit $rc"
positions=$(awk '$1 == "neighbours" {print $2}' "$tmp/out")
[ "${positions:-0}" -gt 4096 ] || fail "precompute of ${positions:-no} positions: too few to cross a run of 4,096"
for ranks in 2 3 1; do
    # shellcheck disable=SC2086
    run $ranks "$tmp/out" precompute "$tmp/ivf2.spi" $inputs --out "$tmp/i2.spn"
    [ $rc = 0 ] || fail "$ranks ranks IVF1,Flat precompute: exit $rc"
    cmp "$tmp/i1.spn" "$tmp/i2.spn" || fail "precompute over IVF1,Flat: $ranks ranks write another file than 1 process"
    rm -f "$tmp/i2.spn"
done
# precompute --keys: the rows of a key file of every training position
# (embedded once, in one process's chunks) split into the same runs: the
# same file in one process (0 ranks: no mpirun) and on 2 ranks.
# shellcheck disable=SC2086
run 0 "$tmp/out" embed "$tmp/train.spk" $inputs --part train
[ $rc = 0 ] || fail "embed of the training positions: exit $rc"
for ranks in 0 2; do
    # One process reads the one-process index, 2 ranks the 2-rank save.
    [ $ranks = 0 ] && i="$tmp/ivf.spi" || i="$tmp/ivf2.spi"
    run $ranks "$tmp/out" precompute "$i" --keys "$tmp/train.spk" --out "$tmp/k.spn"
    [ $rc = 0 ] || fail "$ranks ranks precompute --keys: exit $rc"
    cmp "$tmp/i1.spn" "$tmp/k.spn" || fail "precompute --keys over IVF1,Flat: $ranks ranks write another file than embedding"
    rm -f "$tmp/k.spn"
done
# A failure on one rank (rank 0 cannot write the file) fails every rank,
# and leaves no file.
# shellcheck disable=SC2086
run 2 "$tmp/out" precompute "$tmp/two.spi" $inputs --out "$tmp/none/n.spn" --limit 19
[ $rc != 0 ] && [ "$(grep -c 'sp-index: precompute' "$tmp/err")" = 2 ] && [ ! -e "$tmp/none" ] ||
    fail "precompute under mpirun into a missing directory: not every rank failed"
echo "ok: sp-index under mpirun -np 2 builds a sharded Flat index answering query, recall, add and precompute as 1 process does"
