#!/bin/sh
# The shipped models (models/): each file's SHA-256 equals the one recorded in
# models/SHA256SUMS, each model without neighbours loads (every .spm section
# CRC checked) and plays a legal first move through sp-gtp --policy-only,
# and, given SP_INDEX, each embedder (.spe) loads with one of the shipped
# models (a learned embedder loads only with the model whose content hash it
# names) and each retrieval model loads and reads a shipped embedder's
# neighbours. Given SP_DATA too and the CGOS games (SP_DATA_DIR), each
# retrieval model plays a legal first move through sp-gtp's search over an
# index of 150 games built with its embedder. --policy-only refuses a
# retrieval model (it would retrieve nothing) and must say so.
# Usage: check-models.sh SOURCE_ROOT SP_GTP [SP_INDEX [SP_DATA]]
set -eu
root=$1 gtp=$2 index=${3:-} data=${4:-}
cd "$root/models"
[ -s SHA256SUMS ] || { echo "FAIL: models/SHA256SUMS is missing or empty"; exit 1; }
sha256sum --check --strict SHA256SUMS
# Every shipped file is listed.
for f in *.spm *.spe; do
    [ -e "$f" ] || continue
    grep -q "  $f\$" SHA256SUMS || { echo "FAIL: models/$f is not in models/SHA256SUMS"; exit 1; }
done
retrieval=
for f in $(awk '/\.spm$/ { print $2 }' SHA256SUMS); do
    out=$(printf 'boardsize 9\ngenmove b\nquit\n' | "$gtp" --model "$f" --policy-only 2>&1) || true
    move=$(printf '%s\n' "$out" | sed -n 's/^= \([A-HJ-T][0-9]*\|pass\)$/\1/p' | head -1)
    if [ -z "$move" ] && printf '%s\n' "$out" | grep -q 'reads [0-9]* neighbours'; then
        retrieval="$retrieval $f"
        echo "ok: $f is a retrieval model, which --policy-only refuses"
        continue
    fi
    [ -n "$move" ] || { echo "FAIL: $f: no move in: $out"; exit 1; }
    echo "ok: $f loads and plays $move"
done
[ -n "$index" ] || exit 0
embedder_ids=
for f in $(awk '/\.spe$/ { print $2 }' SHA256SUMS); do
    found=
    for m in $(awk '/\.spm$/ { print $2 }' SHA256SUMS); do
        if out=$("$index" info "$f" --model "$m" 2>/dev/null); then
            found=$m
            break
        fi
    done
    [ -n "$found" ] || { echo "FAIL: $f loads with none of the shipped models"; exit 1; }
    id=$(printf '%s\n' "$out" | sed -n 's/^id  *//p' | head -1)
    embedder_ids="$embedder_ids $id"
    echo "ok: $f loads with $found: $id"
done
for f in $retrieval; do
    id=$("$index" info "$f" | sed -n 's/^embedder id  *//p')
    [ -n "$id" ] || { echo "FAIL: $f: sp-index info gives no embedder id"; exit 1; }
    case " $embedder_ids " in
    *" $id "*) echo "ok: $f loads and reads the neighbours of embedder $id, which ships" ;;
    *) echo "FAIL: $f reads the neighbours of embedder $id, which no shipped .spe is ($embedder_ids )"; exit 1 ;;
    esac
done
[ -n "$data" ] || exit 0
games="${SP_DATA_DIR:-$root/../shared/data}/go9/cgos9x9_2015.sgf.xz"
[ -r "$games" ] || { echo "skip: $games is absent, the retrieval models are not played"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$data" import "$tmp/small.spd" "$games" --max-games 150 >/dev/null
for f in $retrieval; do
    id=$("$index" info "$f" | sed -n 's/^embedder id  *//p')
    embedder= base=
    for e in $(awk '/\.spe$/ { print $2 }' SHA256SUMS); do
        for m in $(awk '/\.spm$/ { print $2 }' SHA256SUMS); do
            if "$index" info "$e" --model "$m" 2>/dev/null | grep -q "^id  *$id\$"; then
                embedder=$e base=$m
            fi
        done
    done
    "$index" build "$tmp/small.spi" --spd "$tmp/small.spd" --embedder "$embedder" --model "$base" \
        --factory Flat --threads 1 >/dev/null 2>&1 || { echo "FAIL: cannot index the games with $embedder"; exit 1; }
    small_keys=$("$index" info "$tmp/small.spi" | sed -n 's/^keys  *//p')
    corners='play b A1\nplay w J9\nplay b A9\nplay w J1\n'
    rm -f "$tmp/moves.csv"  # the log appends: one model's rows at a time
    out=$(printf "boardsize 9\\ngenmove b\\nsp-neighbours 2\\nclear_board\\n${corners}genmove b\\nsp-remember\\nclear_board\\n${corners}genmove b\\nsp-neighbours 1\\nquit\\n" |
        "$gtp" --model "$f" --embedder "$embedder" --embed-model "$base" \
        --index "$tmp/small.spi" --dataset "$tmp/small.spd" --simulations 8 --search-mode rules \
        --move-log "$tmp/moves.csv" 2>&1) || true
    move=$(printf '%s\n' "$out" | sed -n 's/^= \([A-HJ-T][0-9]*\|pass\)$/\1/p' | head -1)
    [ -n "$move" ] || { echo "FAIL: $f: no move over an index of $embedder: $out"; exit 1; }
    echo "ok: $f retrieves with $embedder and plays $move"
    # Its neighbours with boards; a game of corner moves remembered as game
    # 150 (the index's games are 0..149), whose position after the corners
    # the same moves played again find at distance 0 (no CGOS game has it).
    printf '%s\n' "$out" | grep -q '^= 1 game [0-9]* move [0-9]* distance' ||
        { echo "FAIL: $f: sp-neighbours shows no neighbour: $out"; exit 1; }
    printf '%s\n' "$out" | grep -q '^= game 150, 5 positions$' ||
        { echo "FAIL: $f: sp-remember did not add the game: $out"; exit 1; }
    printf '%s\n' "$out" | grep -q '^= 1 game 150 move 4 distance 0.0000' ||
        { echo "FAIL: $f: the remembered position is not the nearest neighbour of its repetition: $out"; exit 1; }
    # Without --remember the remembered game stays in memory: the file is as it was.
    [ "$("$index" info "$tmp/small.spi" | sed -n 's/^keys  *//p')" = "$small_keys" ] ||
        { echo "FAIL: sp-remember without --remember changed $tmp/small.spi"; exit 1; }
    echo "ok: $f shows its neighbours and remembers a game (in memory)"
    # --move-log: a header and a row per genmove, as wide as the header, the
    # neighbours' distances ascending; the last genmove's nearest is the
    # remembered position at distance 0, as sp-neighbours said.
    awk -F, 'NR == 1 { width = NF; if ($1 != "move_number" || $11 != "d1") bad = "header " $0; next }
        NF != width { bad = "row " NR " has " NF " fields, not " width }
        { for (i = 12; i <= NF; i++) if ($i + 0 < $(i - 1) + 0) bad = "row " NR ": distances not ascending" }
        END { if (NR != 4) bad = bad " " NR - 1 " rows, not 3"; if ($11 != "0.000000") bad = bad " last d1 " $11
              if (bad) { print bad; exit 1 } }' "$tmp/moves.csv" ||
        { echo "FAIL: $f: --move-log:"; cat "$tmp/moves.csv"; exit 1; }
    echo "ok: $f --move-log logs each move with its neighbours' distances"
    # Without its index (none given, none at the default place of an empty
    # home): refused at start-up, with the commands that build one.
    out=$(printf 'quit\n' | SEMIPARAM_HOME="$tmp/empty" "$gtp" --model "$f" --embedder "$embedder" \
        --embed-model "$base" 2>&1) && { echo "FAIL: $f played without an index"; exit 1; }
    printf '%s\n' "$out" | grep -q 'no retrieval set at' && printf '%s\n' "$out" | grep -q '^  sp-index build ' ||
        { echo "FAIL: $f without an index: no word of how to build one: $out"; exit 1; }
    echo "ok: $f without an index says how to build one"
    # --remember: two games end (clear_board, quit) and the files hold them after.
    cp "$tmp/small.spd" "$tmp/grow.spd"
    cp "$tmp/small.spi" "$tmp/grow.spi"
    keys=$("$index" info "$tmp/grow.spi" | sed -n 's/^keys  *//p')
    printf 'boardsize 9\nplay b A1\nplay w J9\nplay b pass\nplay w pass\nclear_board\nplay b E5\nquit\n' |
        "$gtp" --model "$f" --embedder "$embedder" --embed-model "$base" --index "$tmp/grow.spi" \
            --dataset "$tmp/grow.spd" --remember >/dev/null 2>&1 || { echo "FAIL: $f --remember failed"; exit 1; }
    grown=$("$index" info "$tmp/grow.spi" | sed -n 's/^keys  *//p')
    [ "$grown" -eq $((keys + 5)) ] || { echo "FAIL: --remember: $keys keys became $grown, not $((keys + 5))"; exit 1; }
    "$data" info "$tmp/grow.spd" | grep -q '^games  *152$' || { echo "FAIL: --remember: not 152 games"; exit 1; }
    echo "ok: $f --remember adds its two games (5 positions) to the files"
    # Its equal-capacity baseline: every x_i = 0, nothing retrieved.
    out=$(printf 'boardsize 9\ngenmove b\nquit\n' | SEMIPARAM_HOME="$tmp/empty" "$gtp" --model "$f" --zero-neighbours \
        --simulations 8 2>&1) || true
    move=$(printf '%s\n' "$out" | sed -n 's/^= \([A-HJ-T][0-9]*\|pass\)$/\1/p' | head -1)
    [ -n "$move" ] || { echo "FAIL: $f --zero-neighbours: no move: $out"; exit 1; }
    echo "ok: $f with every x_i = 0 plays $move"
done
