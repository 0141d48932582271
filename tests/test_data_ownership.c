/* Final ownership of games that were not counted (issue 15): the Monte-Carlo
 * estimate at import on a handmade position with dead stones, its
 * determinism, the option that keeps the last board's area, version-1 import
 * options, and the .spd versions that may or may not hold the new flag. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "semiparam/dataset.h"
#include "semiparam/sgf.h"

/* Black's wall on column e, White's on column f, each with its side of the
 * board as territory; a dead White stone at bb (row 1, col 1) in Black's
 * and a dead Black stone at he (row 4, col 7) in White's. Black resigned. */
static const char walls[] = "(;GM[1]FF[4]SZ[9]KM[7]RE[W+R]"
                            ";B[ea];W[fa];B[eb];W[fb];B[ec];W[fc];B[ed];W[fd];B[ee];W[fe]"
                            ";B[ef];W[ff];B[eg];W[fg];B[eh];W[fh];B[ei];W[fi];B[he];W[bb])";
/* Another game, imported before it to shift its game id and position ids. */
static const char other[] = "(;GM[1]FF[4]SZ[9]KM[7]RE[B+R];B[cc];W[gg];B[cg];W[gc])";

enum { DEAD_WHITE = 1 * 9 + 1, DEAD_BLACK = 4 * 9 + 7 };

static sp_dataset *import_text(const char *text, uint32_t playouts)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_options o = SP_IMPORT_OPTIONS_INIT;
    o.ownership_playouts = playouts;
    ck_assert_int_eq(sp_dataset_import_memory(ds, text, strlen(text), "test", &o, NULL), SP_OK);
    return ds;
}

static uint32_t flags_of(const sp_dataset *ds, uint64_t game)
{
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    ck_assert_int_eq(sp_dataset_game_info_get(ds, game, &info), SP_OK);
    return info.flags;
}

START_TEST(estimate_owns_territory_and_dead_stones)
{
    sp_dataset *ds = import_text(walls, SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS);
    ck_assert_uint_eq(sp_dataset_game_count(ds), 1);
    ck_assert_uint_eq(flags_of(ds, 0), SP_GAME_OWNERSHIP_ESTIMATED | SP_GAME_OWNERSHIP_MONTE_CARLO);
    uint8_t own[81];
    ck_assert_int_eq(sp_dataset_game_ownership(ds, 0, own, sizeof own), SP_OK);
    for (int p = 0; p < 81; p++) {
        int want = p % 9 <= 4 ? SP_BLACK : SP_WHITE;
        ck_assert_msg(own[p] == want, "point %d (row %d col %d): %d, not %d", p, p / 9, p % 9, own[p], want);
    }
    ck_assert_int_eq(own[DEAD_WHITE], SP_BLACK);
    ck_assert_int_eq(own[DEAD_BLACK], SP_WHITE);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(zero_playouts_keep_the_last_boards_area)
{
    sp_dataset *ds = import_text(walls, 0);
    ck_assert_uint_eq(flags_of(ds, 0), SP_GAME_OWNERSHIP_ESTIMATED);
    uint8_t own[81];
    ck_assert_int_eq(sp_dataset_game_ownership(ds, 0, own, sizeof own), SP_OK);
    /* Dead stones stay alive, and the territories they sit in touch both
     * colours, so they are nobody's: what issue 15 complains of. */
    ck_assert_int_eq(own[DEAD_WHITE], SP_WHITE);
    ck_assert_int_eq(own[DEAD_BLACK], SP_BLACK);
    for (int p = 0; p < 81; p++) {
        int col = p % 9;
        int want = col == 4 ? SP_BLACK : col == 5 ? SP_WHITE : SP_EMPTY;
        if (p != DEAD_WHITE && p != DEAD_BLACK)
            ck_assert_msg(own[p] == want, "point %d: %d, not %d", p, own[p], want);
    }
    sp_dataset_free(ds);
}
END_TEST

/* The same game gets the same estimate, byte for byte, whatever was imported
 * before it; files of the same imports are the same bytes. */
START_TEST(estimate_is_deterministic)
{
    size_t n = strlen(other) + strlen(walls) + 2;
    char *both = malloc(n);
    snprintf(both, n, "%s\n%s", other, walls);
    sp_dataset *a = import_text(walls, 32), *b = import_text(walls, 32), *c = import_text(both, 32);
    uint8_t oa[81], ob[81], oc[81];
    sp_dataset_game_ownership(a, 0, oa, sizeof oa);
    sp_dataset_game_ownership(b, 0, ob, sizeof ob);
    sp_dataset_game_ownership(c, 1, oc, sizeof oc);
    ck_assert_mem_eq(oa, ob, sizeof oa);
    ck_assert_mem_eq(oa, oc, sizeof oa);
    /* Few playouts from four stones on an empty board leave the estimate to
     * chance; the same seed gives the same chance. */
    sp_dataset *d = import_text(other, 1), *e = import_text(both, 1);
    sp_dataset_game_ownership(d, 0, oa, sizeof oa);
    sp_dataset_game_ownership(e, 0, ob, sizeof ob);
    ck_assert_mem_eq(oa, ob, sizeof oa);
    int owned = 0;
    for (int p = 0; p < 81; p++)
        owned += oa[p] != SP_EMPTY;
    ck_assert_int_gt(owned, 60); /* one playout runs to the end: nearly every point is someone's */
    char path_a[] = "/tmp/test_data_ownership_XXXXXX", path_b[] = "/tmp/test_data_ownership_XXXXXX";
    int fa = mkstemp(path_a), fb = mkstemp(path_b);
    ck_assert(fa >= 0 && fb >= 0);
    ck_assert_int_eq(sp_dataset_save(c, path_a), SP_OK);
    sp_dataset_free(c);
    c = import_text(both, 32);
    ck_assert_int_eq(sp_dataset_save(c, path_b), SP_OK);
    FILE *f = fopen(path_a, "rb"), *g = fopen(path_b, "rb");
    static char ba[1 << 14], bb[1 << 14];
    size_t na = fread(ba, 1, sizeof ba, f), nb = fread(bb, 1, sizeof bb, g);
    fclose(f);
    fclose(g);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(ba, bb, na);
    remove(path_a);
    remove(path_b);
    sp_dataset_free(a);
    sp_dataset_free(b);
    sp_dataset_free(c);
    sp_dataset_free(d);
    sp_dataset_free(e);
    free(both);
}
END_TEST

/* A caller built against version 1 of sp_import_options (no
 * ownership_playouts) gets the default: the Monte-Carlo estimate. */
START_TEST(version_1_options_get_the_estimate)
{
    size_t bytes = offsetof(sp_import_options, ownership_playouts);
    sp_import_options *o = malloc(bytes);
    ck_assert_int_eq(sp_import_options_init(o, 1), SP_OK);
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    ck_assert_int_eq(sp_dataset_import_memory(ds, walls, strlen(walls), NULL, o, NULL), SP_OK);
    ck_assert_uint_eq(flags_of(ds, 0), SP_GAME_OWNERSHIP_ESTIMATED | SP_GAME_OWNERSHIP_MONTE_CARLO);
    sp_dataset_free(ds);
    free(o);
    sp_import_options now = SP_IMPORT_OPTIONS_INIT;
    ck_assert_uint_eq(now.ownership_playouts, SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS);
    ck_assert_int_eq(sp_import_options_init(&now, SP_IMPORT_OPTIONS_VERSION), SP_OK);
    ck_assert_uint_eq(now.ownership_playouts, SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS);
}
END_TEST

/* sp_dataset_add_game() estimates as the import does by default. */
START_TEST(add_game_estimates_too)
{
    sp_game *g;
    ck_assert_int_eq(sp_sgf_parse(&g, walls, strlen(walls), NULL), SP_OK);
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    ck_assert_int_eq(sp_dataset_add_game(ds, g, NULL, 1, NULL), SP_OK);
    sp_dataset *imported = import_text(walls, SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS);
    uint8_t a[81], b[81];
    sp_dataset_game_ownership(ds, 0, a, sizeof a);
    sp_dataset_game_ownership(imported, 0, b, sizeof b);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_uint_eq(flags_of(ds, 0), flags_of(imported, 0));
    sp_dataset_free(ds);
    sp_dataset_free(imported);
    sp_game_free(g);
}
END_TEST

/* A saved file as words, so that it can be loaded from memory (8-byte aligned). */
typedef struct image {
    uint64_t words[1 << 11];
    size_t n;
} image;

static void save_image(const sp_dataset *ds, image *im)
{
    char path[] = "/tmp/test_data_ownership_XXXXXX";
    ck_assert(mkstemp(path) >= 0);
    ck_assert_int_eq(sp_dataset_save(ds, path), SP_OK);
    FILE *f = fopen(path, "rb");
    im->n = fread(im->words, 1, sizeof im->words, f);
    fclose(f);
    remove(path);
    ck_assert_uint_lt(im->n, sizeof im->words);
}

/* Set the format version and game 0's flags, and fix the CRCs they are under
 * (header at 60; GAMES is section 1, its table entry at 64, flags at 58). */
static void patch_image(image *im, uint32_t version, uint8_t flags)
{
    uint8_t *d = (uint8_t *)im->words;
    uint64_t games_at;
    memcpy(&games_at, d + 64 + 8, 8);
    d[games_at + 58] = flags;
    uint64_t games_len;
    memcpy(&games_len, d + 64 + 16, 8);
    uint32_t crc = (uint32_t)crc32(0, d + games_at, (uInt)games_len);
    memcpy(d + 64 + 4, &crc, 4);
    memcpy(d + 8, &version, 4);
    memset(d + 60, 0, 4);
    crc = (uint32_t)crc32(0, d, 160);
    memcpy(d + 60, &crc, 4);
}

static int load_image(const image *im)
{
    sp_dataset *back = NULL;
    int rc = sp_dataset_load_memory(&back, im->words, im->n);
    sp_dataset_free(back);
    return rc;
}

START_TEST(spd_versions_and_the_new_flag)
{
    sp_dataset *ds = import_text(walls, 8);
    image *im = malloc(sizeof *im);
    save_image(ds, im);
    ck_assert_uint_eq(((uint8_t *)im->words)[8], 2);
    const uint8_t est = SP_GAME_OWNERSHIP_ESTIMATED, mc = SP_GAME_OWNERSHIP_MONTE_CARLO;
    patch_image(im, 2, est | mc);
    ck_assert_int_eq(load_image(im), SP_OK);
    patch_image(im, 2, mc); /* a Monte-Carlo estimate is an estimate */
    ck_assert_int_eq(load_image(im), SP_ERR_FORMAT);
    patch_image(im, 2, 16);
    ck_assert_int_eq(load_image(im), SP_ERR_FORMAT);
    /* Version 1, as files of older libraries: its flags are read as they were, without the new one. */
    patch_image(im, 1, est);
    ck_assert_int_eq(load_image(im), SP_OK);
    patch_image(im, 1, est | mc);
    ck_assert_int_eq(load_image(im), SP_ERR_FORMAT);
    patch_image(im, 3, est);
    ck_assert_int_eq(load_image(im), SP_ERR_VERSION);
    /* A version-1 file loads, keeps its flags, and is saved as version 2. */
    patch_image(im, 1, est);
    sp_dataset *old;
    ck_assert_int_eq(sp_dataset_load_memory(&old, im->words, im->n), SP_OK);
    ck_assert_uint_eq(flags_of(old, 0), est);
    image *again = malloc(sizeof *again);
    save_image(old, again);
    ck_assert_uint_eq(((uint8_t *)again->words)[8], 2);
    ck_assert_int_eq(load_image(again), SP_OK);
    sp_dataset_free(old);
    sp_dataset_free(ds);
    free(again);
    free(im);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_ownership");
    TCase *tc = tcase_create("data_ownership");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, estimate_owns_territory_and_dead_stones);
    tcase_add_test(tc, zero_playouts_keep_the_last_boards_area);
    tcase_add_test(tc, estimate_is_deterministic);
    tcase_add_test(tc, version_1_options_get_the_estimate);
    tcase_add_test(tc, add_game_estimates_too);
    tcase_add_test(tc, spd_versions_and_the_new_flag);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
