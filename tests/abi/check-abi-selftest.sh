#!/bin/sh
# The ABI check catches what it must: small copies of the library (core and
# go sources, built here) are compared with a baseline of the unchanged copy.
# An added function passes, and so does a field appended to a versioned struct
# together with a new version; a field inserted, removed or retyped (with a new
# version or not), an append without a new version, a changed signature and a
# removed function fail (naming what changed); the grown struct passes once
# the SONAME is bumped.
# Usage: check-abi-selftest.sh SOURCE_ROOT BUILD_ROOT CC
set -eu
src=$1 build=$2 cc=$3
check=$src/tests/abi/check-abi.sh
command -v abidw >/dev/null && command -v abidiff >/dev/null || { echo "SKIP: abigail-tools not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# variant NAME SONAME [EXTRA_SOURCES...]: a library from the copy in $tmp/NAME
variant() {
    name=$1 soname=$2; shift 2
    printf 'SEMIPARAM_0.1 { global: sp_*; local: *; };\n' >"$tmp/$name/map"
    # shellcheck disable=SC2086
    (cd "$tmp/$name" && $cc -std=c11 -D_GNU_SOURCE -shared -fPIC -gdwarf-5 -O0 -fvisibility=hidden \
        -Iinclude -I"$build/include" -Ilib lib/core/*.c lib/go/*.c "$@" \
        -Wl,--version-script=map -Wl,-soname,"$soname" -o "$name.so" -lm) ||
        { echo "FAIL: building variant $name"; exit 1; }
}
copy() { mkdir -p "$tmp/$1" && cp -r "$src/include" "$src/lib" "$tmp/$1/"; }
# expect NAME pass|fail [WORD]: the check's verdict on variant NAME, and WORD in its report
expect() {
    rc=0
    "$check" check "$tmp/base.abi" "$tmp/$1/$1.so" "$tmp/$1" "$build" >"$tmp/$1.log" 2>&1 || rc=$?
    if { [ "$2" = pass ] && [ $rc -ne 0 ]; } || { [ "$2" = fail ] && [ $rc -ne 1 ]; }; then
        cat "$tmp/$1.log"; echo "FAIL: variant $1: expected the check to $2 (exit $rc)"; exit 1
    fi
    if [ -n "${3:-}" ] && ! grep -q "$3" "$tmp/$1.log"; then
        cat "$tmp/$1.log"; echo "FAIL: variant $1: the report does not name $3"; exit 1
    fi
    echo "ok: $1: check says $2${3:+ (names $3)}"
}

copy base
variant base libsemiparam.so.0
"$check" dump "$tmp/base/base.so" "$tmp/base" "$build" >"$tmp/base.abi"
"$check" versions "$tmp/base" >"$tmp/base.versions"
grep -q '^sp_game_options 1$' "$tmp/base.versions" || { echo "FAIL: no version of sp_game_options"; exit 1; }

copy same
variant same libsemiparam.so.0
expect same pass

copy added
printf '#include "semiparam/core.h"\nSP_API int sp_abi_probe(int x);\nint sp_abi_probe(int x) { return x; }\n' \
    >"$tmp/added/added.c"
variant added libsemiparam.so.0 added.c
expect added pass

# edit_go NAME AWK_PROGRAM: rewrite the copy's go.h
edit_go() {
    awk "$2" "$tmp/$1/include/semiparam/go.h" >"$tmp/go.h" && mv "$tmp/go.h" "$tmp/$1/include/semiparam/go.h"
    grep -q handicap "$tmp/$1/include/semiparam/go.h" || { echo "FAIL: could not edit $1's go.h"; exit 1; }
}

copy grown  # a field inserted into a public options struct
edit_go grown '/^    int32_t board_size; / { print "    int32_t handicap;" } { print }'
variant grown libsemiparam.so.0
expect grown fail sp_game_options

copy appended  # a field appended without a new version: old callers could not be told apart
edit_go appended '{ print } /^    float komi; / { print "    int32_t handicap;" }'
variant appended libsemiparam.so.0
expect appended fail "appends handicap without a new version"

# version_go NAME: the copy's game options at version 2, the library's size
# table saying where version 1 ended (what a real append does)
version_go() {
    sed -i 's/^#define SP_GAME_OPTIONS_VERSION 1$/#define SP_GAME_OPTIONS_VERSION 2/' "$tmp/$1/include/semiparam/go.h"
    sed -i 's/sizeof(sp_game_options), &game_defaults, { 0 } };/sizeof(sp_game_options), \&game_defaults, { offsetof(sp_game_options, handicap) } };/' \
        "$tmp/$1/lib/go/game.c"
    grep -q 'offsetof(sp_game_options, handicap)' "$tmp/$1/lib/go/game.c" ||
        { echo "FAIL: could not version $1's game options"; exit 1; }
}

copy versioned  # the same append with version 2: old callers' structs are read and written only so far
edit_go versioned '{ print } /^    float komi; / { print "    int32_t handicap;" }'
version_go versioned
variant versioned libsemiparam.so.0
expect versioned pass "accepted: sp_game_options appends handicap with version 2"

copy retyped  # an append with version 2 does not excuse a changed field before it
edit_go retyped '{ sub(/^    float komi; /, "    double komi; "); print } /^    double komi; / { print "    int32_t handicap;" }'
version_go retyped
variant retyped libsemiparam.so.0
expect retyped fail komi

copy dropped  # nor a removed one
edit_go dropped '/^    float komi; / { print "    int32_t handicap;"; next } { print }'
sed -i 's/g->komi = o.komi;/g->komi = 7.0f;/; s/!isfinite(o.komi) || fabsf(o.komi) > 1000.0f/0/' "$tmp/dropped/lib/go/game.c"
sed -i '/opts\.komi = /d' "$tmp/dropped/lib/go/sgf_read.c"
sed -i 's/^#define SP_GAME_OPTIONS_INIT .*/#define SP_GAME_OPTIONS_INIT { SP_GAME_OPTIONS_VERSION, 9, 0 }/' \
    "$tmp/dropped/include/semiparam/go.h"
version_go dropped
variant dropped libsemiparam.so.0
expect dropped fail komi

copy signature  # a parameter widened
sed -i 's/uint32_t sp_rng_below(sp_rng \*rng, uint32_t bound)/uint32_t sp_rng_below(sp_rng *rng, uint64_t bound)/' \
    "$tmp/signature/include/semiparam/core.h" "$tmp/signature/lib/core/rng.c"
variant signature libsemiparam.so.0
expect signature fail sp_rng_below

copy removed  # a function renamed away
sed -i 's/sp_rng_uniform/sp_rng_uniform_renamed/' "$tmp/removed/include/semiparam/core.h" "$tmp/removed/lib/core/rng.c"
variant removed libsemiparam.so.0
expect removed fail "Removed function"

copy bumped  # the grown struct again, with a new SONAME
cp "$tmp/grown/include/semiparam/go.h" "$tmp/bumped/include/semiparam/go.h"
variant bumped libsemiparam.so.1
expect bumped pass "SONAME bumped"
