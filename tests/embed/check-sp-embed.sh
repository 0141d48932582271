#!/bin/sh
# sp-index's embedder commands end to end on 300 real games (issue 14): a raw
# embedder fitted and saved, keys embedded into a .spk file (all positions,
# and a seeded 15% share), an index built from the key file, queries shown as
# board diagrams (an indexed position is its own nearest neighbour at
# distance 0 with --exclude none, and absent from --exclude game), queries
# with another embedder refused, recall with keys read from the key file as
# with keys embedded again, precompute with a key file's keys as with keys
# embedded again; truncated, bit-flipped and foreign key files
# refused with a message, a write that fails (file size limit, as a full
# disk) leaves neither the file nor a temporary, and the temporary of a writer
# killed at its rename goes at the next write. With SP_TRAIN (a build with
# the nn module): the learned path on a tiny model trained for a few steps,
# and its embedder refused without its model or with another one.
# Usage: check-sp-embed.sh SP_DATA SP_INDEX [SP_TRAIN]
set -u
data=$1
index=$2
train=${3:-}
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "check-sp-embed: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }
value() { sed -n "s/^$1 *\([0-9a-f][0-9a-f]*\).*/\1/p" "$2" | head -n 1; }
no_temporaries() {
    for f in "$tmp"/*.tmp.*; do
        [ ! -e "$f" ] || fail "$1: a temporary file is left: $f"
    done
}
# sp-index with its output in $tmp/out and $tmp/err and its status in $rc.
# Under an ASan build any sanitizer report fails the test, refusals included.
run() {
    "$index" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ! grep -q "Sanitizer" "$tmp/err" || fail "sp-index $1: a sanitizer report"
}
# A refusal: a non-zero status and a message matching the pattern.
refused() { # PATTERN WHAT COMMAND...
    pattern=$1
    what=$2
    shift 2
    run "$@"
    [ $rc != 0 ] || fail "$what: accepted"
    grep -q -- "$pattern" "$tmp/err" || fail "$what: no message matching '$pattern'"
}

if [ ! -r "$games" ]; then
    echo "check-sp-embed: $games not found, skipped"
    exit 77
fi
"$data" import "$tmp/d.spd" "$games" --max-games 300 >"$tmp/out" 2>"$tmp/err" || fail "sp-data import exited with $?"
positions=$(value 'dataset positions' "$tmp/out")
[ -n "$positions" ] || fail "sp-data import: no position count"

# A raw embedder: PCA of the planes of history 1 to 16 dimensions.
run embedder "$tmp/raw.spe" --spd "$tmp/d.spd" --dim 16 --sample 3000 --history 1 --seed 1
[ $rc = 0 ] || fail "embedder (raw): exit $rc"
grep -q "^kind  *raw" "$tmp/out" || fail "embedder (raw): kind not raw"
grep -q "^dimension  *16 " "$tmp/out" || fail "embedder (raw): dimension not 16"
raw_id=$(value id "$tmp/out")
[ -n "$raw_id" ] || fail "embedder (raw): no id"
refused "--layer names a layer" "embedder --layer without --model" embedder "$tmp/x.spe" --spd "$tmp/d.spd" --layer repr
[ ! -e "$tmp/x.spe" ] || fail "a refused embedder wrote a file"

# Keys of every position, then of a seeded 15%: repeatable, seed-dependent.
run embed "$tmp/all.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe"
[ $rc = 0 ] || fail "embed: exit $rc"
[ "$(value keys "$tmp/out")" = "$positions" ] || fail "embed: $(value keys "$tmp/out") keys, not $positions"
[ "$(value 'embedder id' "$tmp/out")" = "$raw_id" ] || fail "embed: another embedder id than the embedder's"
[ "$(wc -c <"$tmp/all.spk")" = $((64 + positions * (12 + 4 * 16))) ] || fail "embed: file size"
run info "$tmp/all.spk"
[ $rc = 0 ] || fail "info of the key file: exit $rc"
[ "$(value keys "$tmp/out")" = "$positions" ] || fail "info of the key file: key count"
[ "$(value dimension "$tmp/out")" = 16 ] || fail "info of the key file: dimension"
[ "$(value 'embedder id' "$tmp/out")" = "$raw_id" ] || fail "info of the key file: embedder id"
run embed "$tmp/f1.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --fraction 0.15 --seed 5
[ $rc = 0 ] || fail "embed --fraction: exit $rc"
n=$(value keys "$tmp/out")
if [ "$n" -le $((positions / 10)) ] || [ "$n" -ge $((positions / 5)) ]; then
    fail "embed --fraction 0.15: $n of $positions"
fi
run embed "$tmp/f2.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --fraction 0.15 --seed 5
cmp -s "$tmp/f1.spk" "$tmp/f2.spk" || fail "embed --fraction 0.15 --seed 5 twice: other files"
run embed "$tmp/f3.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --fraction 0.15 --seed 6
! cmp -s "$tmp/f1.spk" "$tmp/f3.spk" || fail "embed --fraction: seeds 5 and 6 gave the same file"
run embed "$tmp/lim.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part test --limit 100
[ "$(value keys "$tmp/out")" = 100 ] || fail "embed --part test --limit 100: not 100 keys"
refused "one of the two" "embed with --embedder and --pca" embed "$tmp/x.spk" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --pca "$tmp/raw.spe"
refused "fraction takes a number" "embed --fraction 1.5" embed "$tmp/x.spk" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --fraction 1.5
[ ! -e "$tmp/x.spk" ] || fail "a refused embed wrote a file"
no_temporaries "embed"

# An index from the key file: the embedder id comes with the keys.
run build "$tmp/i.spi" --keys "$tmp/all.spk" --factory Flat
[ $rc = 0 ] || fail "build --keys: exit $rc"
run info "$tmp/i.spi"
[ "$(value 'embedder id' "$tmp/out")" = "$raw_id" ] || fail "build --keys: the index has another embedder id"
[ "$(value keys "$tmp/out")" = "$positions" ] || fail "build --keys: not every key indexed"
# A seeded share of the key file's rows: about that share, the same index
# twice with one seed, fewer keys for a smaller share, none refused.
run build "$tmp/s3.spi" --keys "$tmp/all.spk" --factory Flat --fraction 0.3 --seed 2
[ $rc = 0 ] || fail "build --keys --fraction 0.3: exit $rc"
kept3=$(value kept "$tmp/out")
[ -n "$kept3" ] && [ $((kept3 * 10)) -gt $((positions * 2)) ] && [ $((kept3 * 10)) -lt $((positions * 4)) ] ||
    fail "build --keys --fraction 0.3 kept $kept3 of $positions keys"
run info "$tmp/s3.spi"
[ "$(value keys "$tmp/out")" = "$kept3" ] || fail "build --keys --fraction: the index holds other than the kept keys"
run build "$tmp/s3b.spi" --keys "$tmp/all.spk" --factory Flat --fraction 0.3 --seed 2
cmp -s "$tmp/s3.spi" "$tmp/s3b.spi" || fail "build --keys --fraction 0.3 --seed 2 twice: other indexes"
run build "$tmp/s1.spi" --keys "$tmp/all.spk" --factory Flat --fraction 0.1 --seed 2
kept1=$(value kept "$tmp/out")
[ -n "$kept1" ] && [ "$kept1" -lt "$kept3" ] || fail "build --keys --fraction 0.1 kept $kept1, 0.3 kept $kept3"
refused "kept no key" "build --keys with a share that keeps nothing" build "$tmp/x.spi" --keys "$tmp/all.spk" \
    --factory Flat --fraction 0.00001 --seed 2
refused "do not go with it" "build --keys with --embedder" build "$tmp/x.spi" --keys "$tmp/all.spk" \
    --embedder "$tmp/raw.spe"

# A position deep in game 3 (ids past its first): with --exclude none it is
# its own neighbour at distance 0; with --exclude game no neighbour is of its game.
p=$((positions / 2))
run query "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --position $p --k 8 --exclude none
[ $rc = 0 ] || fail "query: exit $rc"
awk -v p=$p '$2 == p && $5 == "0.0000" { found = 1 } END { exit !found }' "$tmp/out" ||
    fail "query --exclude none: position $p is not its own neighbour at distance 0"
grep -q "^query  *#1  d " "$tmp/out" || fail "query: no query diagram beside the first neighbour's"
grep -q "#8  d " "$tmp/out" || fail "query: no diagram of the 8th neighbour"
grep -q " to move: \(win\|loss\|draw\|no result\)" "$tmp/out" || fail "query: no outcome"
grep -q "next \([A-HJ-T][0-9]*\|pass\|end\)" "$tmp/out" || fail "query: no next move"
grep -q "^ 5 .*[XO]" "$tmp/out" || fail "query: no board rows"
[ "$(grep -c '\*' "$tmp/out")" -ge 1 ] || fail "query: the next move is not marked"
game=$(sed -n 's/^query position .*(game \([0-9]*\),.*/\1/p' "$tmp/out")
run query "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --position $p --k 8 --exclude game --boards 0
[ $rc = 0 ] || fail "query --exclude game: exit $rc"
awk -v g="$game" '$1 ~ /^[0-9]+$/ && NF == 5 && $3 == g { bad = 1 } END { exit bad }' "$tmp/out" ||
    fail "query --exclude game: a neighbour of the query's own game $game"
! grep -q "#1  d " "$tmp/out" || fail "query --boards 0: diagrams drawn"
# The old way, --pca P.spp, is a raw embedder of the same id: build and query.
run build "$tmp/p.spi" --spd "$tmp/d.spd" --pca-dim 16 --pca-sample 2000 --history 1 --factory Flat
[ $rc = 0 ] || fail "build (trained PCA): exit $rc"
run query "$tmp/p.spi" --spd "$tmp/d.spd" --pca "$tmp/p.spi.spp" --position $p --k 3
[ $rc = 0 ] || fail "query --pca: exit $rc"
# Queries from another embedder are refused by the index.
refused "embedder" "query of the raw index with another embedder" query "$tmp/i.spi" --spd "$tmp/d.spd" \
    --pca "$tmp/p.spi.spp" --position $p

# recall with the keys looked up in the key file the index was built from
# gives what re-embedding gives (the queries/s column aside); a key file of
# another embedder, or one lacking an indexed position, is refused.
recall_lines() { awk '$1 != "index" { print $1, $2, $3, $4 }' "$tmp/out"; }
run recall "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 40 --k 5 --nprobe 1
[ $rc = 0 ] || fail "recall: exit $rc"
recall_lines >"$tmp/recall.embedded"
[ "$(wc -l <"$tmp/recall.embedded")" = 2 ] || fail "recall: not an exact row and one nprobe row"
run recall "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 40 --k 5 --nprobe 1 \
    --keys "$tmp/all.spk"
[ $rc = 0 ] || fail "recall --keys: exit $rc"
recall_lines | cmp -s - "$tmp/recall.embedded" || fail "recall --keys: other figures than re-embedding"
run embed "$tmp/o.spk" --spd "$tmp/d.spd" --pca "$tmp/p.spi.spp" --limit 50
[ $rc = 0 ] || fail "embed --pca: exit $rc"
refused "o.spk holds keys of embedder" "recall --keys of another embedder" recall "$tmp/i.spi" \
    --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --queries 40 --keys "$tmp/o.spk"
refused "lacks position" "recall --keys of a 15% share" recall "$tmp/i.spi" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --queries 40 --keys "$tmp/f1.spk"

# precompute --keys: the neighbours of a key file's positions with the key
# file's keys and game ids. Over the positions the embedder path takes too
# (the first 600 of the training part), the very file it writes; over a
# seeded 15% share of the training part, the rows of the embedder path over
# the whole training part at the same positions (keys embedded in other
# chunks differ in their last bits: a neighbour id may differ only where
# both rows hold a neighbour at the same distance); a key file of another
# embedder than the index's or EMB's refused, naming both.
run embed "$tmp/t600.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part train --limit 600
[ $rc = 0 ] || fail "embed --part train --limit 600: exit $rc"
run precompute "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --out "$tmp/e600.spn" --k 4 --limit 600
[ $rc = 0 ] || fail "precompute --limit 600: exit $rc"
run precompute "$tmp/i.spi" --keys "$tmp/t600.spk" --out "$tmp/k600.spn" --k 4
[ $rc = 0 ] || fail "precompute --keys: exit $rc"
cmp -s "$tmp/e600.spn" "$tmp/k600.spn" || fail "precompute --keys: another file than the embedder's over the same positions"
run precompute "$tmp/i.spi" --keys "$tmp/t600.spk" --out "$tmp/k600e.spn" --k 4 --embedder "$tmp/raw.spe"
[ $rc = 0 ] || fail "precompute --keys with its embedder: exit $rc"
cmp -s "$tmp/e600.spn" "$tmp/k600e.spn" || fail "precompute --keys with its embedder: another file"
run info "$tmp/k600.spn"
[ $rc = 0 ] || fail "info of the neighbour file: exit $rc"
[ "$(value rows "$tmp/out")" = 600 ] || fail "info of the neighbour file: not 600 rows"
[ "$(value neighbours "$tmp/out")" = 4 ] || fail "info of the neighbour file: not 4 neighbours per row"
[ "$(value 'embedder id' "$tmp/out")" = "$raw_id" ] || fail "info of the neighbour file: embedder id"
[ "$(value 'empty slots' "$tmp/out")" = 0 ] || fail "info of the neighbour file: empty slots"
run embed "$tmp/f4.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --part train --fraction 0.15 --seed 5
[ $rc = 0 ] || fail "embed --part train --fraction 0.15: exit $rc"
n=$(value keys "$tmp/out")
run precompute "$tmp/i.spi" --keys "$tmp/f4.spk" --out "$tmp/k15.spn" --k 4
[ $rc = 0 ] || fail "precompute --keys of a 15% share: exit $rc"
run precompute "$tmp/i.spi" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --out "$tmp/train.spn" --k 4
[ $rc = 0 ] || fail "precompute of the training part: exit $rc"
# A row of k = 4 is 56 bytes: its query id, 4 neighbour ids and 4 squared
# distances, read as 7 u64 and as 14 f32 (the last 4 the distances).
spn_rows() { od -An -v -tu8 -w56 -j64 "$1" >"$tmp/ids"; od -An -v -tf4 -w56 -j64 "$1" >"$tmp/dist"; paste "$tmp/ids" "$tmp/dist"; }
spn_rows "$tmp/k15.spn" >"$tmp/k15.rows"
spn_rows "$tmp/train.spn" >"$tmp/train.rows"
od -An -v -tu8 -w8 -j64 -N $((8 * n)) "$tmp/f4.spk" | tr -d ' ' >"$tmp/f4.positions"
awk '{ print $1 }' "$tmp/k15.rows" | cmp -s - "$tmp/f4.positions" ||
    fail "precompute --keys: the rows are not the key file's positions in its order"
awk 'function off(a, b) { d = a - b; if (d < 0) d = -d; return d > 1e-4 + 1e-4 * (a < 0 ? -a : a) }
     NR == FNR { row[$1] = $0; next }
     {
         if (!($1 in row)) { print "position " $1 " not in the embedder path file"; bad = 1; next }
         split(row[$1], e)
         for (j = 2; j <= 5; j++) {
             if (off($(j + 16), e[j + 16])) { print "position " $1 " slot " j - 1 ": distance " $(j + 16) ", not " e[j + 16]; bad = 1 }
             else if ($j != e[j]) ties++
         }
     }
     END { printf "%d neighbour ids differ at equal distances\n", ties; exit bad }' "$tmp/train.rows" "$tmp/k15.rows" \
    >"$tmp/out" 2>"$tmp/err" || fail "precompute --keys of a 15% share: rows other than the embedder path's"
refused "o.spk holds keys of embedder [0-9a-f]* (16 floats), the embedder of the index .*i.spi is $raw_id (16)" \
    "precompute --keys of another embedder than the index's" precompute "$tmp/i.spi" --keys "$tmp/o.spk" \
    --out "$tmp/x.spn"
refused "all.spk holds keys of embedder $raw_id (16 floats), the embedder given is" \
    "precompute --keys of another embedder than EMB's" precompute "$tmp/i.spi" --keys "$tmp/all.spk" \
    --pca "$tmp/p.spi.spp" --out "$tmp/x.spn"
refused "do not go with it" "precompute --keys with --spd" precompute "$tmp/i.spi" --keys "$tmp/all.spk" \
    --spd "$tmp/d.spd" --out "$tmp/x.spn"
refused "do not go with it" "precompute --keys with --limit" precompute "$tmp/i.spi" --keys "$tmp/all.spk" \
    --limit 5 --out "$tmp/x.spn"
[ ! -e "$tmp/x.spn" ] || fail "a refused precompute wrote a file"

# Damaged key files: refused, named, and no index written.
size=$(wc -c <"$tmp/all.spk")
head -c $((size - 7)) "$tmp/all.spk" >"$tmp/short.spk"
refused "short.spk: truncated" "a truncated key file" build "$tmp/x.spi" --keys "$tmp/short.spk"
head -c 40 "$tmp/all.spk" >"$tmp/stub.spk"
refused "stub.spk: truncated" "a key file cut in its header" build "$tmp/x.spi" --keys "$tmp/stub.spk"
cp "$tmp/all.spk" "$tmp/flip.spk"
# One bit of one key flipped (0x01 xor'ed into a byte past the ids).
at=$((64 + positions * 12 + 1000))
byte=$(od -An -tu1 -j $at -N 1 "$tmp/all.spk" | tr -d ' ')
# shellcheck disable=SC2059 # the octal escape is the point
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$tmp/flip.spk" bs=1 seek=$at conv=notrunc 2>/dev/null
! cmp -s "$tmp/all.spk" "$tmp/flip.spk" || fail "the bit flip did not land"
refused "flip.spk: the keys (bytes .*) fail their CRC-32" "a bit-flipped key file" build "$tmp/x.spi" \
    --keys "$tmp/flip.spk"
refused "d.spd: not an sp-index key file" "a dataset given as a key file" build "$tmp/x.spi" --keys "$tmp/d.spd"
[ ! -e "$tmp/x.spi" ] || fail "a refused key file left an index"
# A write that fails part way (the file size limit, as a full disk): no
# file, no temporary.
(trap '' XFSZ; ulimit -f 64; exec "$index" embed "$tmp/big.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe") \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc != 0 ] || fail "embed past the file size limit: exit 0"
grep -q "big.spk: writing failed" "$tmp/err" || fail "embed past the file size limit: no message"
[ ! -e "$tmp/big.spk" ] || fail "embed past the file size limit left a file"
no_temporaries "embed past the file size limit"
# A writer killed with SIGKILL at its rename (strace) leaves its temporary;
# the next write of the same file removes it.
if command -v strace >/dev/null 2>&1; then
    strace -f -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL \
        "$index" embed "$tmp/k.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --limit 50 >"$tmp/out" 2>"$tmp/err"
    set -- "$tmp"/k.spk.tmp.*
    [ -e "$1" ] || fail "embed killed at its rename left no temporary (did the kill land?)"
    run embed "$tmp/k.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" --limit 50
    [ $rc = 0 ] || fail "embed after a killed one: exit $rc"
    no_temporaries "embed after a killed one"
else
    echo "check-sp-embed: strace not installed, the killed-writer check skipped"
fi

# The learned path (needs sp-train, i.e. the nn module).
if [ -z "$train" ]; then
    echo "check-sp-embed: ok (raw path; no sp-train, the learned path skipped)"
    exit 0
fi
tiny="--dataset $tmp/d.spd --channels 4 --repr-blocks 1 --dyn-blocks 1 --value-hidden 8 --history 1 --batch 8
      --unroll 2 --threads 1 --test-fraction 0.2 --eval-positions 40 --checkpoint-minutes 0 --steps 2"
# shellcheck disable=SC2086
"$train" $tiny --out "$tmp/m1.spm" >"$tmp/out" 2>"$tmp/err" || fail "sp-train (model 1): exit $?"
# shellcheck disable=SC2086
"$train" $tiny --seed 2 --out "$tmp/m2.spm" >"$tmp/out" 2>"$tmp/err" || fail "sp-train (model 2): exit $?"
run embedder "$tmp/l.spe" --spd "$tmp/d.spd" --model "$tmp/m1.spm" --dim 16 --sample 2000
[ $rc = 0 ] || fail "embedder (learned): exit $rc"
grep -q "^kind  *learned (layer repr" "$tmp/out" || fail "embedder (learned): kind or layer"
learned_id=$(value id "$tmp/out")
[ "$learned_id" != "$raw_id" ] || fail "the learned and raw embedders share an id"
refused "l.spe" "a learned embedder without its model" embed "$tmp/x.spk" --spd "$tmp/d.spd" --embedder "$tmp/l.spe"
refused "l.spe" "a learned embedder with another model" embed "$tmp/x.spk" --spd "$tmp/d.spd" \
    --embedder "$tmp/l.spe" --model "$tmp/m2.spm"
refused "raw.spe" "a raw embedder given a model" embed "$tmp/x.spk" --spd "$tmp/d.spd" --embedder "$tmp/raw.spe" \
    --model "$tmp/m1.spm"
[ ! -e "$tmp/x.spk" ] || fail "a refused embed wrote a file"
run embed "$tmp/l.spk" --spd "$tmp/d.spd" --embedder "$tmp/l.spe" --model "$tmp/m1.spm" --fraction 0.15
[ $rc = 0 ] || fail "embed (learned): exit $rc"
[ "$(value 'embedder id' "$tmp/out")" = "$learned_id" ] || fail "embed (learned): another embedder id"
run build "$tmp/l.spi" --keys "$tmp/l.spk" --factory Flat
[ $rc = 0 ] || fail "build --keys (learned): exit $rc"
# An indexed position of the 15%: the first position id of the key file.
q=$(od -An -tu8 -j 64 -N 8 "$tmp/l.spk" | tr -d ' ')
run query "$tmp/l.spi" --spd "$tmp/d.spd" --embedder "$tmp/l.spe" --model "$tmp/m1.spm" --position "$q" --k 4
[ $rc = 0 ] || fail "query (learned): exit $rc"
awk -v p="$q" '$2 == p && $5 == "0.0000" { found = 1 } END { exit !found }' "$tmp/out" ||
    fail "query (learned): position $q is not its own neighbour at distance 0"
refused "embedder" "the learned index queried with raw keys" query "$tmp/l.spi" --spd "$tmp/d.spd" \
    --embedder "$tmp/raw.spe" --position "$q"
no_temporaries "the learned path"
echo "check-sp-embed: ok"
