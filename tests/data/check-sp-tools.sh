#!/bin/sh
# sp-data import and sp-index on their edges, without GNU Go: any number of
# input files, --size with --append, error messages that say what and where,
# out-of-range search parameters refused, a writer killed before its rename
# leaves no temporary behind the next write, and sp-index's error paths free
# everything (under valgrind when it is installed).
set -u
data=$1
index=$2
games=${SP_DATA_DIR:-../shared/data}/go9/cgos9x9_2015.sgf.xz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "check-sp-tools: $*" >&2; cat "$tmp/out" "$tmp/err" >&2 2>/dev/null; exit 1; }
value() { sed -n "s/^$1 *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1; }

if [ ! -r "$games" ]; then
    echo "check-sp-tools: $games not found, skipped"
    exit 77
fi
# 300 real games, one SGF file each: more inputs than the old fixed table held.
mkdir "$tmp/sgf"
xz -dc "$games" | awk -v dir="$tmp/sgf" '/^\(;/ { n++ } n > 300 { exit } n >= 1 { print > (dir "/g" n ".sgf") }'
set -- "$tmp"/sgf/*.sgf
[ $# = 300 ] || fail "expected 300 SGF files, made $#"
"$data" import "$tmp/d.spd" "$@" >"$tmp/out" 2>"$tmp/err" || fail "import exited with $?"
[ "$(value files "$tmp/out")" = 300 ] || fail "import: expected 300 files read"
[ "$(value 'games read' "$tmp/out")" = 300 ] || fail "import: expected 300 games read"

# Final ownership of the games not counted (issue 15): the Monte-Carlo estimate
# is reproducible, --ownership-playouts 0 keeps the last board's area instead,
# and ownership-check finds the estimate agreeing with counting on counted games.
"$data" import "$tmp/again.spd" "$@" >"$tmp/out" 2>"$tmp/err" || fail "import again exited with $?"
cmp -s "$tmp/d.spd" "$tmp/again.spd" || fail "two imports of the same games differ"
"$data" import "$tmp/area.spd" "$@" --ownership-playouts 0 >"$tmp/out" 2>"$tmp/err" ||
    fail "import --ownership-playouts 0 exited with $?"
cmp -s "$tmp/d.spd" "$tmp/area.spd" && fail "import --ownership-playouts 0 wrote the Monte-Carlo estimate"
"$data" ownership-check "$tmp/d.spd" --games 100 >"$tmp/out" 2>"$tmp/err" || fail "ownership-check exited with $?"
agree=$(sed -n 's/^points agreeing *\([0-9.]*\).*/\1/p' "$tmp/out")
awk -v a="$agree" 'BEGIN { exit !(a >= 0.95) }' || fail "ownership-check: agreement '$agree' below 0.95"
[ "$(value 'counted games checked' "$tmp/out")" -gt 50 ] || fail "ownership-check: too few counted games"

# --size against an existing file's board size.
"$data" import "$tmp/d.spd" "$tmp/sgf/g1.sgf" --append --size 19 >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] || fail "import --append --size 19 onto a 9x9 file was not refused"
grep -q -- "--size 19, but .*d.spd holds 9x9" "$tmp/err" || fail "import --size mismatch message"
"$data" import "$tmp/d.spd" "$tmp/sgf/g1.sgf" --append --size 9 >"$tmp/out" 2>"$tmp/err" ||
    fail "import --append --size 9 exited with $?"
[ "$(value 'skipped duplicate' "$tmp/out")" = 1 ] || fail "import --append: expected 1 duplicate"

# An error names the input and the library's reason.
"$data" import "$tmp/e.spd" "$tmp/no-such.sgf" >"$tmp/out" 2>"$tmp/err" && fail "import of a missing file succeeded"
grep -q "no-such.sgf: cannot find .*no-such.sgf" "$tmp/err" || fail "import error message: $(cat "$tmp/err")"

# A writer killed with SIGKILL just before it renames its temporary (strace
# delivers the signal at the rename): the temporary stays, the next write of
# the same file removes it.
killed_at_rename() {
    strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
        -e inject=rename,renameat,renameat2:signal=KILL "$@" >"$tmp/out" 2>"$tmp/err"
}
if command -v strace >/dev/null 2>&1; then
    killed_at_rename "$data" import "$tmp/k.spd" "$tmp/sgf/g1.sgf" "$tmp/sgf/g2.sgf"
    set -- "$tmp"/k.spd.tmp.*
    [ -e "$1" ] || fail "import killed at its rename left no temporary (did the kill land?)"
    "$data" import "$tmp/k.spd" "$tmp/sgf/g1.sgf" >"$tmp/out" 2>"$tmp/err" || fail "import after a kill: exit $?"
    set -- "$tmp"/k.spd.tmp.*
    [ ! -e "$1" ] || fail "the temporary of a killed import survived the next import: $*"
else
    echo "check-sp-tools: strace not installed, the killed-writer check skipped"
fi

# Search parameters FAISS cannot take are refused before anything is written.
"$index" build "$tmp/bad.spi" --spd "$tmp/d.spd" --nprobe 4294967295 >"$tmp/out" 2>"$tmp/err" &&
    fail "build --nprobe 4294967295 succeeded"
grep -q -- "--nprobe takes a whole number from 0 to 1048576" "$tmp/err" || fail "build --nprobe message"
[ ! -e "$tmp/bad.spi" ] || fail "build --nprobe wrote a file"
"$index" build "$tmp/bad.spi" --spd "$tmp/d.spd" --rerank 268435456 >"$tmp/out" 2>"$tmp/err" &&
    fail "build --rerank 2^28 succeeded"
"$index" build "$tmp/bad.spi" --spd "$tmp/d.spd" --k 12x >"$tmp/out" 2>"$tmp/err" && fail "--k 12x accepted"

"$index" build "$tmp/i.spi" --spd "$tmp/d.spd" --pca-dim 8 --pca-sample 3000 --history 1 --factory Flat \
    >"$tmp/out" 2>"$tmp/err" || fail "build exited with $?"
if command -v strace >/dev/null 2>&1; then
    killed_at_rename "$index" build "$tmp/i.spi" --spd "$tmp/d.spd" --pca-dim 8 --pca-sample 3000 --history 1 \
        --factory Flat
    left=0
    for f in "$tmp"/i.spi.tmp.* "$tmp"/i.spi.spp.tmp.*; do
        [ -e "$f" ] && left=1
    done
    [ $left = 1 ] || fail "build killed at its rename left no temporary"
    "$index" build "$tmp/i.spi" --spd "$tmp/d.spd" --pca-dim 8 --pca-sample 3000 --history 1 --factory Flat \
        >"$tmp/out" 2>"$tmp/err" || fail "build after a kill exited with $?"
    for f in "$tmp"/i.spi.tmp.* "$tmp"/i.spi.spp.tmp.*; do
        [ ! -e "$f" ] || fail "the temporary of a killed build survived the next build: $f"
    done
fi
# Error paths of query: every one frees what it opened.
run() {
    if ldd "$1" 2>/dev/null | grep -q libasan; then
        "$@" # an ASan build: LeakSanitizer reports leaks (exit 23), valgrind cannot run it
    elif command -v valgrind >/dev/null 2>&1; then
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "$@"
    else
        "$@"
    fi
}
for args in "--position 999999999" "--position 0 --exclude half" "--position 0 --k 0"; do
    # shellcheck disable=SC2086
    run "$index" query "$tmp/i.spi" --spd "$tmp/d.spd" --pca "$tmp/i.spi.spp" $args >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc = 1 ] || fail "query $args: exit $rc, expected 1 (99: valgrind, 23: LeakSanitizer found a leak)"
done
run "$index" query "$tmp/no-such.spi" --spd "$tmp/d.spd" --pca "$tmp/i.spi.spp" --position 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] || fail "query of a missing index: exit $rc"
run "$index" query "$tmp/i.spi" --spd "$tmp/d.spd" --pca "$tmp/i.spi.spp" --position 0 >"$tmp/out" 2>"$tmp/err" ||
    fail "query exited with $?"
echo "check-sp-tools: ok"
