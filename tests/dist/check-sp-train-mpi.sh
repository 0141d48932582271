#!/bin/sh
# sp-train under mpirun (examples/sp-train, train_cluster.c) on a tiny network
# and a few dozen real games:
#   - 2 ranks write the model, the checkpoint and the log (the elapsed column
#     aside) byte for byte as 1 process with --micro-batches 2 does: the same
#     computation (each rank's rows normalised by their own statistics);
#   - a checkpoint of 2 ranks resumed by 1 process, and one of 1 process
#     resumed by 2 ranks, end where the uninterrupted run does, exactly;
#   - only rank 0 prints; 3 ranks run and refuse a batch that does not split.
# Usage: check-sp-train-mpi.sh SP_TRAIN SP_DATA
set -u
train=$1
data=$2
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (tools/setup installs openmpi-bin)"; exit 77; }
[ -r "$games" ] || { echo "check-sp-train-mpi: $games not found, skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-sp-train-mpi: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }
"$data" import "$tmp/d.spd" "$games" --max-games 40 >"$tmp/out" 2>"$tmp/err" || fail "sp-data import exited with $?"

# Checkpoints by steps only; the cosine's end fixed, so a run cut at step 6
# has the schedule of the whole one.
tiny="--dataset $tmp/d.spd --channels 4 --repr-blocks 1 --dyn-blocks 1 --value-hidden 8 --history 1 --batch 12
      --unroll 2 --threads 1 --test-fraction 0.2 --eval-positions 40 --checkpoint-minutes 0 --total-steps 12
      --checkpoint-every 4 --log-every 2 --eval-every 8"
# run NP [sp-train options]: NP 0 is a plain start without mpirun.
run() {
    np=$1; shift
    if [ "$np" = 0 ]; then
        # shellcheck disable=SC2086
        "$train" $tiny "$@" >"$tmp/out" 2>"$tmp/err"
    else
        # shellcheck disable=SC2086
        mpirun -np "$np" --oversubscribe "$train" $tiny "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    rc=$?
}
steady() { cut -d, -f1-3,5- "$1"; }

run 2 --steps 12 --out "$tmp/a.spm" --log "$tmp/a.csv"
[ $rc = 0 ] || fail "2 ranks: exit $rc"
[ "$(grep -c '^model written' "$tmp/out")" = 1 ] || fail "2 ranks: not exactly one rank printed"
run 0 --steps 12 --out "$tmp/c.spm" --log "$tmp/c.csv" --micro-batches 2
[ $rc = 0 ] || fail "1 process, 2 micro-batches: exit $rc"
cmp "$tmp/a.spm" "$tmp/c.spm" || fail "2 ranks and 1 process x 2 micro-batches wrote different models"
cmp "$tmp/a.spm.ckpt" "$tmp/c.spm.ckpt" || fail "... different checkpoints"
steady "$tmp/a.csv" >"$tmp/a.rows"
steady "$tmp/c.csv" >"$tmp/c.rows"
cmp "$tmp/a.rows" "$tmp/c.rows" || fail "... different logs"

run 2 --steps 6 --out "$tmp/b.spm"
[ $rc = 0 ] || fail "2 ranks to step 6: exit $rc"
run 0 --steps 12 --out "$tmp/b.spm" --resume --micro-batches 2
[ $rc = 0 ] || fail "the checkpoint of 2 ranks resumed by 1 process: exit $rc"
cmp "$tmp/a.spm" "$tmp/b.spm" || fail "the checkpoint of 2 ranks resumed by 1 process ends elsewhere"

run 0 --steps 6 --out "$tmp/e.spm" --micro-batches 2
[ $rc = 0 ] || fail "1 process to step 6: exit $rc"
run 2 --steps 12 --out "$tmp/e.spm" --resume
[ $rc = 0 ] || fail "the checkpoint of 1 process resumed by 2 ranks: exit $rc"
cmp "$tmp/a.spm" "$tmp/e.spm" || fail "the checkpoint of 1 process resumed by 2 ranks ends elsewhere"

run 3 --steps 4 --out "$tmp/f.spm"
[ $rc = 0 ] && [ -s "$tmp/f.spm" ] || fail "3 ranks: exit $rc"
run 3 --steps 4 --out "$tmp/g.spm" --batch 8
[ $rc != 0 ] || fail "3 ranks with a batch of 8 ran"
grep -q "multiple of 3" "$tmp/err" || fail "3 ranks with a batch of 8: no message naming the split"
[ ! -e "$tmp/g.spm" ] && [ ! -e "$tmp/g.spm.ckpt" ] || fail "3 ranks with a batch of 8 left a file"
echo "ok: sp-train under mpirun -np 2 equals --micro-batches 2 byte for byte, resumes across rank counts exactly"
