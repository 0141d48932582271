#!/bin/sh
# sp-train end to end on a tiny network and a few dozen real games, one part
# per meson test:
#   resume    a run killed with SIGKILL (strace, at its third checkpoint's
#             rename) and resumed ends with the same model file, byte for
#             byte, and the same log, as an uninterrupted run
#   signal    the training thread blocks SIGINT and SIGTERM (on Linux, from
#             /proc); they write a checkpoint and exit 130 / 143; a second
#             signal ends the run at once; the resumed runs continue the
#             steps and the log without a gap
#   refusals  bad options, --resume without a checkpoint, a fresh run over
#             a checkpoint, another board size, another architecture,
#             another batch size, a full disk: a clear message, a non-zero
#             exit and no partial file
#   evaluate  --evaluate prints one line per unroll step k = 0..K, and the
#             same figures as the training run's final evaluation; the log's
#             test rows hold them too, and tools/plot-training draws the log
#   retrieval a retrieval model (--neighbours 2) trained on the positions of
#             a .spn file that sp-index precomputed (raw keys), with test
#             metrics over a test .spn; --evaluate with retrieved, zeroed and
#             random neighbours gives three different sets of figures, and the
#             same figures as the run's final evaluation; a retrieval model
#             without its file, a plain model given one, and a resume with
#             other neighbour options are refused
# Usage: check-sp-train.sh PART SP_TRAIN SP_DATA [SP_INDEX]
set -u
part=$1
train=$2
data=$3
index=${4:-}
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-sp-train $part: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }

if [ ! -r "$games" ]; then
    echo "check-sp-train: $games not found, skipped"
    exit 77
fi
"$data" import "$tmp/d.spd" "$games" --max-games 40 >"$tmp/out" 2>"$tmp/err" || fail "sp-data import exited with $?"

# A network of a few thousand parameters on one thread (bitwise repeatable);
# checkpoints only by steps, never by the clock.
tiny="--dataset $tmp/d.spd --channels 4 --repr-blocks 1 --dyn-blocks 1 --value-hidden 8 --history 1 --batch 8
      --unroll 2 --threads 1 --test-fraction 0.2 --eval-positions 40 --checkpoint-minutes 0"

# sp-train with the tiny options; output in $tmp/out and $tmp/err, status in $rc.
run() {
    # shellcheck disable=SC2086
    "$train" $tiny "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
expect() { # STATUS MESSAGE-PATTERN WHAT
    [ "$rc" = "$1" ] || fail "$3: exit $rc, expected $1"
    grep -q -- "$2" "$tmp/err" || fail "$3: no message matching '$2'"
}
no_temporaries() {
    for f in "$tmp"/*.tmp.*; do
        [ ! -e "$f" ] || fail "$1: a temporary file is left: $f"
    done
}
# The log without its elapsed_s column (the only one that differs between runs).
steady() { cut -d, -f1-3,5- "$1"; }

part_resume() {
    command -v strace >/dev/null 2>&1 || { echo "check-sp-train: strace not installed, skipped"; exit 77; }
    common="--steps 16 --checkpoint-every 4 --log-every 2 --eval-every 8"
    run $common --out "$tmp/a.spm" --log "$tmp/a.csv"
    [ $rc = 0 ] || fail "uninterrupted run: exit $rc"
    # Killed as it renames its third checkpoint (step 12) into place: the one
    # on disk is step 8's, and the log already has rows past it.
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
        -e inject=rename,renameat,renameat2:signal=KILL:when=3 \
        "$train" $tiny $common --out "$tmp/b.spm" --log "$tmp/b.csv" >"$tmp/out" 2>"$tmp/err"
    [ ! -e "$tmp/b.spm" ] || fail "the killed run wrote its model"
    set -- "$tmp"/b.spm.ckpt.tmp.*
    [ -e "$1" ] || fail "no temporary of the checkpoint being written when killed (did the kill land?)"
    grep -q '^checkpoint,8,' "$tmp/b.csv" || fail "the killed run logged no checkpoint at step 8"
    grep -q '^checkpoint,12,' "$tmp/b.csv" && fail "the killed run logged the checkpoint it was killed in"
    grep -q '^train,12,' "$tmp/b.csv" || fail "the killed run had not logged step 12 (the cut goes untested)"
    # A row cut short, as a kill in the middle of writing it would leave.
    printf 'train,14,112,0.1,0.01' >>"$tmp/b.csv"

    run $common --out "$tmp/b.spm" --log "$tmp/b.csv" --resume
    [ $rc = 0 ] || fail "resumed run: exit $rc"
    cmp "$tmp/a.spm" "$tmp/b.spm" || fail "the resumed run's model differs from the uninterrupted run's"
    cmp "$tmp/a.spm.ckpt" "$tmp/b.spm.ckpt" || fail "the final checkpoints differ"
    steady "$tmp/a.csv" >"$tmp/a.rows"
    steady "$tmp/b.csv" >"$tmp/b.rows"
    cmp "$tmp/a.rows" "$tmp/b.rows" || fail "the logs differ: $(diff "$tmp/a.rows" "$tmp/b.rows" | head -5)"
    no_temporaries "after the resumed run"

    # Resumed once more at the step it already reached: nothing is trained,
    # the checkpoint's model is written as it is.
    run $common --checkpoint "$tmp/b.spm.ckpt" --out "$tmp/c.spm" --resume
    [ $rc = 0 ] || fail "resume past --steps: exit $rc"
    grep -q "is at step 16, past --steps 16: nothing to train" "$tmp/out" || fail "resume past --steps: message"
    cmp "$tmp/a.spm" "$tmp/c.spm" || fail "resume past --steps changed the model"
}

# Start a long run in the background and wait until the log has reached a step.
start_until() { # STEP OPTIONS...
    until_step=$1
    shift
    # shellcheck disable=SC2086
    "$train" $tiny "$@" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    polls=0
    while ! grep -q "^train,$until_step," "$tmp/s.csv" 2>/dev/null; do
        kill -0 $pid 2>/dev/null || { wait $pid; fail "the run ended (exit $?) before step $until_step"; }
        polls=$((polls + 1))
        [ $polls -lt 6000 ] || { kill -KILL $pid; fail "no step $until_step after 10 minutes: hung?"; }
        sleep 0.1
    done
}
stopped_step() { sed -n "s/.*$1: stopped at step \([0-9]*\), checkpoint .* written.*/\1/p" "$tmp/err"; }

part_signal() {
    long="--steps 100000000 --total-steps 1000 --log-every 1 --out $tmp/s.spm --log $tmp/s.csv"
    # shellcheck disable=SC2086
    start_until 3 $long
    # The training thread blocks both signals (a thread of their own takes
    # them): a handler run on it while a oneDNN GEMM kernel had rsp in the
    # heap wrote its signal frame there, and a free() aborted, rarely.
    if [ -r "/proc/$pid/task/$pid/status" ]; then
        blocked=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$pid/task/$pid/status")
        low=${blocked#"${blocked%????}"}
        [ $((0x$low & 0x4002)) = $((0x4002)) ] ||
            { kill -KILL $pid; fail "the training thread does not block SIGINT and SIGTERM (SigBlk $blocked)"; }
    fi
    kill -INT $pid
    wait $pid
    rc=$?
    expect 130 "SIGINT: stopped at step [0-9]*, checkpoint .*s.spm.ckpt written; continue with --resume" "SIGINT"
    n=$(stopped_step SIGINT)
    [ -n "$n" ] && [ "$n" -ge 3 ] || fail "SIGINT: stopped at step '$n'"
    [ -e "$tmp/s.spm.ckpt" ] || fail "SIGINT: no checkpoint"
    [ ! -e "$tmp/s.spm" ] || fail "SIGINT: the model was written as if the run had ended"
    grep -q "^checkpoint,$n," "$tmp/s.csv" || fail "SIGINT: no checkpoint row at step $n"

    # shellcheck disable=SC2086
    start_until $((n + 2)) $long --resume
    kill -TERM $pid
    wait $pid
    rc=$?
    expect 143 "SIGTERM: stopped at step" "SIGTERM"
    m=$(stopped_step SIGTERM)
    [ -n "$m" ] && [ "$m" -ge $((n + 2)) ] || fail "SIGTERM: stopped at step '$m'"

    # A second signal ends the run at once: stopped, the process gets SIGINT
    # and SIGTERM together; SIGINT's handler runs first (the lower number,
    # SIGTERM blocked meanwhile) and SIGTERM then finds the default action.
    cp "$tmp/s.spm.ckpt" "$tmp/s.before"
    # shellcheck disable=SC2086
    start_until $((m + 1)) $long --resume
    kill -STOP $pid
    kill -INT $pid
    kill -TERM $pid
    kill -CONT $pid
    wait $pid
    rc=$?
    expect 143 "stopping after this step to save a checkpoint (again to stop at once)" "a second signal"
    grep -q "stopped at step" "$tmp/err" && fail "a second signal: the run went on to its checkpoint"
    cmp -s "$tmp/s.spm.ckpt" "$tmp/s.before" || fail "a second signal: the checkpoint changed"

    run --steps $((m + 3)) --total-steps 1000 --log-every 1 --out "$tmp/s.spm" --log "$tmp/s.csv" --resume
    [ $rc = 0 ] || fail "the last resumed run: exit $rc"
    grep -q "step $((m + 3)) reached" "$tmp/out" || fail "the last resumed run did not reach step $((m + 3))"
    [ -e "$tmp/s.spm" ] || fail "no model after the last resumed run"
    # Every step has exactly one train row, in order, across the three runs.
    grep '^train,' "$tmp/s.csv" | cut -d, -f2 >"$tmp/steps"
    seq 1 $((m + 3)) >"$tmp/want"
    cmp "$tmp/steps" "$tmp/want" || fail "the log's train rows are not steps 1..$((m + 3)) once each"
    no_temporaries "after the signals"
}

part_refusals() {
    run --steps 2 --out "$tmp/r.spm" --bogus
    expect 2 "unknown option '--bogus'" "an unknown option"
    run --steps 2 --out "$tmp/r.spm" --lr
    expect 2 "\-\-lr needs a value" "a missing value"
    run --steps 2x --out "$tmp/r.spm"
    expect 2 "\-\-steps takes a whole number of at least 1, not '2x'" "a malformed number"
    run --steps 2 --out "$tmp/r.spm" --optimizer adam
    expect 2 "\-\-optimizer takes one of sgd|adamw, not 'adam'" "an unknown optimizer"
    run --out "$tmp/r.spm"
    expect 2 "no budget" "no budget"
    run --steps 2 --out "$tmp/r.spm" --resume
    expect 1 "\-\-resume: there is no checkpoint .*r.spm.ckpt" "--resume without a checkpoint"
    [ ! -e "$tmp/r.spm" ] || fail "a refused run wrote a model"

    run --steps 2 --out "$tmp/r.spm"
    [ $rc = 0 ] || fail "a 2-step run: exit $rc"
    run --steps 4 --out "$tmp/r.spm"
    expect 1 "the checkpoint .*r.spm.ckpt exists: continue it with --resume" "a fresh run over a checkpoint"

    run --steps 4 --out "$tmp/r.spm" --checkpoint "$tmp/r.spm"
    expect 2 "\-\-checkpoint and \-\-out are both .*r.spm" "--checkpoint the same file as --out"
    # The log of another run (another unroll, so another header): refused,
    # and the checkpoint stays at its step.
    cp "$tmp/r.spm.ckpt" "$tmp/r.before"
    printf 'kind,step,positions,elapsed_s,lr,loss,grad_norm,policy_loss_k0,value_loss_k0\n' >"$tmp/other.csv"
    run --steps 4 --out "$tmp/r.spm" --resume --log "$tmp/other.csv"
    expect 1 "the log .*other.csv is not this run's: its header differs" "the log of another run"
    cmp -s "$tmp/r.spm.ckpt" "$tmp/r.before" || fail "a refused log moved the checkpoint on"

    # Another board size: 7x7 games against the 9x9 checkpoint and model.
    printf '(;GM[1]FF[4]SZ[7]KM[7]RE[B+R];B[dd];W[cc];B[ee];W[bb])\n' >"$tmp/g7.sgf"
    "$data" import "$tmp/d7.spd" "$tmp/g7.sgf" --size 7 >/dev/null 2>&1 || fail "import of a 7x7 game"
    run --steps 4 --out "$tmp/r.spm" --resume --dataset "$tmp/d7.spd"
    expect 1 "d7.spd holds 7x7 games, but the model in .*r.spm.ckpt is for 9x9" "another board size (resume)"
    "$train" --evaluate "$tmp/r.spm" --dataset "$tmp/d7.spd" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect 1 "d7.spd holds 7x7 games, but the model in .*r.spm is for 9x9" "another board size (evaluate)"

    # Another architecture, and another option that decides the batches.
    run --steps 4 --out "$tmp/r.spm" --resume --channels 8
    expect 1 "\-\-channels 8, but the model in .*r.spm.ckpt has 4" "another architecture"
    run --steps 4 --out "$tmp/r.spm" --resume --batch 16
    expect 1 "batch_size" "another batch size"

    # A full disk. Writes past the file-size limit fail (EFBIG, SIGXFSZ
    # ignored) the way they fail on a full disk: the first checkpoint cannot
    # be written, and neither it nor the model is left behind.
    (
        ulimit -f 16
        trap '' XFSZ
        # shellcheck disable=SC2086
        exec "$train" $tiny --steps 4 --checkpoint-every 2 --out "$tmp/f.spm" >"$tmp/out" 2>"$tmp/err"
    )
    rc=$?
    expect 1 "f.spm.ckpt: .*cannot write" "a write failing for space"
    [ ! -e "$tmp/f.spm.ckpt" ] && [ ! -e "$tmp/f.spm" ] || fail "a failed write left a file"
    no_temporaries "after a failed write"
    # The disk full when the data is flushed (fsync gets ENOSPC), at the
    # model's save once the checkpoint is written.
    if command -v strace >/dev/null 2>&1; then
        # shellcheck disable=SC2086
        ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=fsync -e inject=fsync:error=ENOSPC:when=2 \
            "$train" $tiny --steps 2 --out "$tmp/g.spm" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        expect 1 "g.spm: .*No space left on device" "a full disk at the model's save"
        [ ! -e "$tmp/g.spm" ] || fail "a full disk left a model file"
        [ -e "$tmp/g.spm.ckpt" ] || fail "the checkpoint written before the disk filled is gone"
        no_temporaries "after a full disk"
    fi
}

part_evaluate() {
    run --steps 6 --unroll 3 --eval-positions 30 --seed 5 --out "$tmp/e.spm" --log "$tmp/e.csv" --eval-every 3
    [ $rc = 0 ] || fail "a 6-step run: exit $rc"
    grep '^top-1 k=' "$tmp/out" >"$tmp/final" || fail "the run printed no final metrics"
    # The test row at step 6 holds the printed top-1 figures (3 decimals in print, 6 in the log).
    grep '^test,6,' "$tmp/e.csv" | cut -d, -f16-19 | tr ',' '\n' | awk '{ printf "%.3f\n", $1 }' >"$tmp/logged"
    awk '{ print $3 }' "$tmp/final" | cmp -s - "$tmp/logged" || fail "the log's test row differs from the printed top-1"
    [ "$(grep -c '^test,' "$tmp/e.csv")" = 2 ] || fail "expected test rows at steps 3 and 6 only"
    if command -v gnuplot >/dev/null 2>&1; then
        "$SP_SOURCE_ROOT/tools/plot-training" "$tmp/e.csv" "$tmp/e.png" >"$tmp/out" 2>"$tmp/err" ||
            fail "tools/plot-training exited with $?"
        [ "$(od -An -c -N4 "$tmp/e.png" | tr -d ' ')" = '211PNG' ] || fail "tools/plot-training wrote no PNG"
    fi
    "$train" --evaluate "$tmp/e.spm" --dataset "$tmp/d.spd" --unroll 3 --positions 30 --seed 5 \
        --test-fraction 0.2 --threads 1 >"$tmp/out" 2>"$tmp/err" || fail "--evaluate exited with $?"
    grep '^top-1 k=' "$tmp/out" | sed 's/ \([0-9.]*\)  ce.*//' >"$tmp/ks"
    printf 'top-1 k=0\ntop-1 k=1\ntop-1 k=2\ntop-1 k=3\n' >"$tmp/want"
    cmp "$tmp/ks" "$tmp/want" || fail "--evaluate --unroll 3 printed other lines than k = 0..3"
    grep -q '^positions 30$' "$tmp/out" || fail "--evaluate --positions 30: no 'positions 30' line"
    grep '^top-1 k=' "$tmp/out" | cmp -s - "$tmp/final" ||
        fail "--evaluate and the run's final evaluation of the same sample differ"
    # Every figure a share or a non-negative mean: top-1 and its floor within [0, 1].
    awk '/^top-1 k=/ { if ($3 < 0 || $3 > 1 || $5 < 0 || $7 < 0) bad = 1 } END { exit bad }' "$tmp/out" ||
        fail "a metric out of range"
    "$train" --evaluate "$tmp/e.spm" --dataset "$tmp/d.spd" --unroll 0 --positions 30 --test-fraction 0.2 \
        >"$tmp/out" 2>"$tmp/err" || fail "--evaluate --unroll 0 exited with $?"
    [ "$(grep -c '^top-1 k=' "$tmp/out")" = 1 ] || fail "--evaluate --unroll 0: expected one line"
    "$train" --evaluate "$tmp/no-such.spm" --dataset "$tmp/d.spd" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    expect 1 "no-such.spm" "--evaluate of a missing model"
}

part_retrieval() {
    [ -n "$index" ] || fail "the retrieval part needs SP_INDEX"
    # Raw keys (PCA of history-1 planes to 8), an index of two halves for the
    # training positions and one of one half for the test positions.
    x() { "$index" "$@" >"$tmp/out" 2>"$tmp/err" || fail "sp-index $1 exited with $?"; }
    x embedder "$tmp/r.spe" --spd "$tmp/d.spd" --dim 8 --sample 1000 --history 1 --seed 1
    x build "$tmp/r2.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --halves 2 --factory Flat
    x precompute "$tmp/r2.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --k 3 --out "$tmp/train.spn"
    x build "$tmp/r1.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part train --halves 1 --factory Flat
    x precompute "$tmp/r1.spi" --spd "$tmp/d.spd" --embedder "$tmp/r.spe" --part test --k 3 --out "$tmp/test.spn"
    # sp-index's parts use the default split (test fraction 0.05).
    nb="--neighbours 2 --neighbour-channels 2 --test-fraction 0.05 --eval-positions 0"
    # shellcheck disable=SC2086
    run $nb --steps 4 --out "$tmp/n.spm" --neighbour-file "$tmp/train.spn" --test-neighbour-file "$tmp/test.spn" \
        --neighbour-dropout 0.1 --neighbour-randomise 0.1 --neighbour-regularisation 0.5
    [ $rc = 0 ] || fail "a retrieval run: exit $rc"
    grep '^top-1 k=' "$tmp/out" >"$tmp/final" || fail "the retrieval run printed no final metrics"
    for mode in retrieved zeroed random; do
        "$train" --evaluate "$tmp/n.spm" --dataset "$tmp/d.spd" --unroll 2 --test-fraction 0.05 --threads 1 \
            --neighbour-file "$tmp/test.spn" --neighbour-mode $mode >"$tmp/out" 2>"$tmp/err" ||
            fail "--evaluate --neighbour-mode $mode exited with $?"
        grep '^top-1 k=' "$tmp/out" | sed 's/  (.*//' >"$tmp/mse.$mode"
        grep -q "neighbours: .*test.spn.*$mode" "$tmp/out" || fail "--evaluate does not say which neighbours"
        [ "$mode" != retrieved ] || grep '^top-1 k=' "$tmp/out" | cmp -s - "$tmp/final" ||
            fail "--evaluate with the test file and the run's final evaluation differ"
    done
    ! cmp -s "$tmp/mse.retrieved" "$tmp/mse.zeroed" && ! cmp -s "$tmp/mse.retrieved" "$tmp/mse.random" ||
        fail "zeroed or random neighbours gave the retrieved neighbours' figures"
    # Refusals.
    # shellcheck disable=SC2086
    run $nb --steps 2 --out "$tmp/x.spm"
    expect 2 "needs --neighbour-file" "a retrieval model without its file"
    run --steps 2 --out "$tmp/y.spm" --neighbour-file "$tmp/train.spn"
    expect 1 "reads no neighbours" "a plain model given a neighbour file"
    # shellcheck disable=SC2086
    run $nb --steps 6 --out "$tmp/n.spm" --neighbour-file "$tmp/train.spn" --resume --neighbour-dropout 0.1 \
        --neighbour-randomise 0.1 --zero-neighbours
    expect 1 "zero_neighbours" "a resume with other neighbour options"
    [ ! -e "$tmp/x.spm" ] && [ ! -e "$tmp/y.spm" ] || fail "a refused run wrote a model"
}

case "$part" in
resume | signal | refusals | evaluate | retrieval) "part_$part" ;;
*) fail "unknown part '$part'" ;;
esac
echo "check-sp-train $part: ok"
