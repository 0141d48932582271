#!/bin/sh
# Install into a scratch destdir, then build a tiny program outside the tree
# against the installed headers, library and semiparam.pc, and run it; then
# again linked statically against libsemiparam.a with `pkg-config --static`.
# Usage: check-install.sh BUILD_ROOT CC VERSION [SANITIZE]
set -eu
build=$1 cc=$2 version=$3 sanitize=${4:-none}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$dest" -name semiparam.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: semiparam.pc not installed"; exit 1; }
so=$(find "$dest" -name 'libsemiparam.so.0' | head -n 1)
[ -n "$so" ] || { echo "FAIL: libsemiparam.so.0 not installed"; exit 1; }

mkdir "$tmp/app"
cat >"$tmp/app/app.c" <<'CEOF'
#include <semiparam.h>
#include <stdio.h>

int main(void)
{
    sp_game *game = NULL;
    char vertex[8];
    int move;
    if (sp_game_create(&game, NULL) != SP_OK)
        return 1;
    if (sp_move_from_gtp(9, "E5", &move) != SP_OK || sp_game_play(game, move) != SP_OK)
        return 2;
    if (sp_move_to_gtp(9, move, vertex, sizeof vertex) != SP_OK)
        return 3;
    printf("version %s\nplayed %s colour %d to_play %d\n", sp_version_string(), vertex,
           sp_game_color_at(game, move), sp_game_to_play(game));
    sp_game_free(game);
    /* A call into each module with dependencies (data: liblzma and zlib; nn;
     * retrieval), so that a static link pulls them all in; a module left out
     * of the build answers SP_ERR_UNSUPPORTED. */
    int devices = 0;
    char factory[64];
    if (sp_dataset_import(NULL, "none", NULL, NULL) != SP_ERR_INVALID_ARG)
        return 4;
    if ((sp_nn_device_count(SP_BACKEND_CPU, &devices) == SP_OK) != sp_has_feature(SP_FEATURE_NN))
        return 5;
    if ((sp_retriever_default_factory(8, 1000, factory, sizeof factory) == SP_OK) !=
        sp_has_feature(SP_FEATURE_RETRIEVAL))
        return 6;
    return 0;
}
CEOF

PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
unset PKG_CONFIG_LIBDIR || true
flags=$(pkg-config --cflags --libs semiparam) || { echo "FAIL: pkg-config semiparam"; exit 1; }
extra=""
[ "$sanitize" = none ] || extra="-fsanitize=$sanitize"
# shellcheck disable=SC2086
(cd "$tmp/app" && $cc -std=c11 -Wall -Werror $extra app.c -o app $flags) ||
    { echo "FAIL: compiling against the installed library with: $flags"; exit 1; }
out=$(LD_LIBRARY_PATH="$(dirname "$so")" "$tmp/app/app") || { echo "FAIL: the program exited with $?"; exit 1; }
echo "$out"
expected="version $version
played E5 colour 1 to_play 2"
[ "$out" = "$expected" ] || { echo "FAIL: expected:"; echo "$expected"; exit 1; }
# The program must have loaded the installed copy, not one from the build tree.
LD_LIBRARY_PATH="$(dirname "$so")" ldd "$tmp/app/app" | grep -q "$dest" ||
    { echo "FAIL: the program did not resolve the installed library"; exit 1; }
echo "ok: installed with pkg-config flags: $flags"

# The static archive with the flags `pkg-config --static` gives and nothing
# else: Requires.private and Libs.private must name every library it needs.
# The shared library leaves the scratch tree so that -lsemiparam finds the archive.
archive=$(find "$dest" -name libsemiparam.a | head -n 1)
[ -n "$archive" ] || { echo "FAIL: libsemiparam.a not installed"; exit 1; }
rm -f "$(dirname "$so")"/libsemiparam.so*
static_flags=$(pkg-config --static --cflags --libs semiparam) || { echo "FAIL: pkg-config --static semiparam"; exit 1; }
# shellcheck disable=SC2086
(cd "$tmp/app" && $cc -std=c11 -Wall -Werror $extra app.c -o app-static $static_flags) ||
    { echo "FAIL: linking statically with: $static_flags"; exit 1; }
if readelf -d "$tmp/app/app-static" | grep NEEDED | grep -q semiparam; then
    echo "FAIL: the static program still needs a shared libsemiparam"; exit 1
fi
out=$("$tmp/app/app-static") || { echo "FAIL: the static program exited with $?"; exit 1; }
[ "$out" = "$expected" ] || { echo "FAIL: the static program printed:"; echo "$out"; exit 1; }
echo "ok: linked statically with pkg-config --static flags: $static_flags"
