/* Datasets: import with skip reasons and filters, compressed streams, the
 * .spd file (round trip, append, every corruption and truncation refused),
 * splits, the batch sampler and the neighbour planes; a slice of the real
 * CGOS collection checked against its index. */
#include <check.h>
#include <lzma.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/data_internal.h"
#include "semiparam/dataset.h"
#include "semiparam/sgf.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* A small collection with one game of each kind the import must tell apart. */
static const char collection[] =
    "(;GM[1]FF[4]SZ[9]KM[7]PB[a]PW[b]BR[2300]WR[2100?]RE[B+Resign];B[ee];W[gc];B[cg];W[ce])\n"
    "(;GM[1]FF[4]SZ[9]KM[7]RE[W+7]PB[c]PW[d];B[ee];W[dd];B[];W[])\n"
    /* the same moves as the first game: a duplicate */
    "(;GM[1]FF[4]SZ[9]KM[6.5]RE[W+R];B[ee];W[gc];B[cg];W[ce])\n"
    /* a 19x19 game */
    "(;GM[1]FF[4]SZ[19]KM[7.5]RE[B+R];B[pd];W[dp])\n"
    /* no moves */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[Void])\n"
    /* an illegal move: occupied point */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[B+T];B[ee];W[ee])\n"
    /* broken: a property without a value */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[B+1];B[ee];W)\n"
    /* setup stones: handicap is not stored */
    "(;GM[1]FF[4]SZ[9]KM[0.5]AB[cc][gg]RE[W+T];W[ee];B[dd])\n"
    /* Black moves twice */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[Draw];B[ee];B[dd])\n"
    /* a draw, kept; a value with an escaped bracket and a parenthesis */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[0]C[a \\] ( tricky comment];B[cc];W[gg];B[gc])\n"
    /* cut off by the end of the data */
    "(;GM[1]FF[4]SZ[9]KM[7]RE[B+R];B[ee];W[dd]";

static void expect_counts(const sp_import_report *r)
{
    ck_assert_uint_eq(r->games_read, 11);
    ck_assert_uint_eq(r->games_added, 3);
    ck_assert_uint_eq(r->positions_added, 4 + 4 + 3);
    ck_assert_uint_eq(r->skipped[SP_SKIP_DUPLICATE], 1);
    ck_assert_uint_eq(r->skipped[SP_SKIP_BOARD_SIZE], 1);
    ck_assert_uint_eq(r->skipped[SP_SKIP_NO_MOVES], 1);
    ck_assert_uint_eq(r->skipped[SP_SKIP_ILLEGAL], 1);
    ck_assert_uint_eq(r->skipped[SP_SKIP_BROKEN], 2);
    ck_assert_uint_eq(r->skipped[SP_SKIP_UNSUPPORTED], 2);
    ck_assert_uint_eq(r->results[SP_RESULT_RESIGN], 1);
    ck_assert_uint_eq(r->results[SP_RESULT_SCORE], 1);
    ck_assert_uint_eq(r->results[SP_RESULT_DRAW], 1);
}

static sp_dataset *small_dataset(void)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, strlen(collection), "test", NULL, &r), SP_OK);
    return ds;
}

START_TEST(results_parse)
{
    static const struct { const char *text; int kind, winner; float margin; } cases[] = {
        { "B+Resign", SP_RESULT_RESIGN, SP_BLACK, NAN }, { "W+R", SP_RESULT_RESIGN, SP_WHITE, NAN },
        { "W+3.5", SP_RESULT_SCORE, SP_WHITE, 3.5f },    { "B+0.5", SP_RESULT_SCORE, SP_BLACK, 0.5f },
        { "B+T", SP_RESULT_TIME, SP_BLACK, NAN },        { "W+Time", SP_RESULT_TIME, SP_WHITE, NAN },
        { "B+Illegal", SP_RESULT_ILLEGAL, SP_BLACK, NAN }, { "W+F", SP_RESULT_FORFEIT, SP_WHITE, NAN },
        { "Draw", SP_RESULT_DRAW, SP_EMPTY, NAN },       { "0", SP_RESULT_DRAW, SP_EMPTY, NAN },
        { "Void", SP_RESULT_VOID, SP_EMPTY, NAN },       { "?", SP_RESULT_VOID, SP_EMPTY, NAN },
        { "B+", SP_RESULT_OTHER, SP_BLACK, NAN },        { "W+12x", SP_RESULT_OTHER, SP_WHITE, NAN },
        { "", SP_RESULT_NONE, SP_EMPTY, NAN },           { "nonsense", SP_RESULT_NONE, SP_EMPTY, NAN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int kind, winner;
        float margin;
        ck_assert_int_eq(sp_result_parse(cases[i].text, &kind, &winner, &margin), SP_OK);
        ck_assert_msg(kind == cases[i].kind && winner == cases[i].winner, "%s", cases[i].text);
        ck_assert(isnan(cases[i].margin) ? isnan(margin) : margin == cases[i].margin);
    }
    ck_assert_int_eq(sp_result_parse("B+1", NULL, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_str_eq(sp_result_kind_name(SP_RESULT_RESIGN), "resign");
    ck_assert_str_eq(sp_skip_reason_name(SP_SKIP_DUPLICATE), "duplicate");
    ck_assert_str_eq(sp_skip_reason_name(99), "unknown");
}
END_TEST

START_TEST(import_counts_by_reason)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, strlen(collection), "test", NULL, &r), SP_OK);
    expect_counts(&r);
    ck_assert_uint_eq(sp_dataset_game_count(ds), 3);
    ck_assert_uint_eq(sp_dataset_position_count(ds), 11);
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    ck_assert_int_eq(sp_dataset_game_info_get(ds, 0, &info), SP_OK);
    ck_assert_int_eq(info.result_kind, SP_RESULT_RESIGN);
    ck_assert_int_eq(info.winner, SP_BLACK);
    ck_assert(info.black_rating == 2300 && info.white_rating == 2100);
    ck_assert_uint_eq(info.flags,
                      SP_GAME_WHITE_PROVISIONAL | SP_GAME_OWNERSHIP_ESTIMATED | SP_GAME_OWNERSHIP_MONTE_CARLO);
    ck_assert_int_eq(sp_dataset_game_info_get(ds, 1, &info), SP_OK);
    ck_assert_int_eq(info.result_kind, SP_RESULT_SCORE);
    ck_assert(info.margin == 7.0f && info.winner == SP_WHITE && isnan(info.black_rating));
    ck_assert_uint_eq(info.flags, 0); /* counted: 1 stone each, komi 7 */
    char text[64];
    ck_assert_int_eq(sp_dataset_game_text(ds, 1, SP_TEXT_WHITE, text, sizeof text), SP_OK);
    ck_assert_str_eq(text, "d");
    ck_assert_int_eq(sp_dataset_game_text(ds, 1, SP_TEXT_SOURCE, text, sizeof text), SP_OK);
    ck_assert_str_eq(text, "test#1");
    ck_assert_int_eq(sp_dataset_game_text(ds, 1, SP_TEXT_SOURCE, text, 3), SP_ERR_BUFFER_TOO_SMALL);
    int32_t moves[8];
    size_t n;
    ck_assert_int_eq(sp_dataset_game_moves(ds, 1, moves, 8, &n), SP_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(moves[0], 4 * 9 + 4);
    ck_assert_int_eq(moves[2], 81);
    ck_assert_int_eq(sp_dataset_game_moves(ds, 1, moves, 2, &n), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 4);
    /* A margin that area counting of the final board does not give: ownership is only an estimate. */
    sp_dataset *other;
    ck_assert_int_eq(sp_dataset_create(&other, 9), SP_OK);
    static const char japanese[] = "(;SZ[9]KM[6.5]RE[W+3.5];B[ee];W[dd];B[];W[])";
    ck_assert_int_eq(sp_dataset_import_memory(other, japanese, strlen(japanese), NULL, NULL, NULL), SP_OK);
    ck_assert_int_eq(sp_dataset_game_info_get(other, 0, &info), SP_OK);
    ck_assert_uint_eq(info.flags, SP_GAME_OWNERSHIP_ESTIMATED | SP_GAME_OWNERSHIP_MONTE_CARLO);
    sp_dataset_free(other);
    /* Importing again adds nothing: every game is a duplicate now. */
    sp_import_report again = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, strlen(collection), "test", NULL, &again), SP_OK);
    ck_assert_uint_eq(again.games_added, 0);
    ck_assert_uint_eq(again.skipped[SP_SKIP_DUPLICATE], 4);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(import_filters)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_options o;
    ck_assert_int_eq(sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION), SP_OK);
    o.min_rating = 2000;
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, strlen(collection), NULL, &o, &r), SP_OK);
    ck_assert_uint_eq(r.games_added, 1); /* only the first game carries ratings */
    ck_assert_uint_eq(r.skipped[SP_SKIP_RATING], 3);
    sp_dataset_free(ds);

    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION);
    o.result_kinds = 1u << SP_RESULT_SCORE;
    o.komi_min = 6.9f;
    o.dedup = 0;
    sp_import_report r2 = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, strlen(collection), NULL, &o, &r2), SP_OK);
    ck_assert_uint_eq(r2.games_added, 1);
    ck_assert_uint_eq(r2.skipped[SP_SKIP_KOMI], 1);   /* the 6.5-komi copy, no longer a duplicate */
    ck_assert_uint_eq(r2.skipped[SP_SKIP_RESULT], 2); /* the resignation and the draw */
    ck_assert_uint_eq(r2.skipped[SP_SKIP_DUPLICATE], 0);
    sp_dataset_free(ds);

    o.version = SP_IMPORT_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    ck_assert_int_eq(sp_dataset_import_memory(ds, collection, 10, NULL, &o, NULL), SP_ERR_VERSION);
    sp_dataset_free(ds);
}
END_TEST

static void write_gz(const char *path, const char *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
    gzclose(f);
}

static void write_xz(const char *path, const char *data, size_t n, size_t cut)
{
    size_t cap = n + 4096, used = 0;
    uint8_t *out = malloc(cap);
    ck_assert_int_eq(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, (const uint8_t *)data, n, out, &used, cap),
                     LZMA_OK);
    FILE *f = fopen(path, "wb");
    fwrite(out, 1, used - cut, f);
    fclose(f);
    free(out);
}

static int progress_calls;
static uint64_t progress_total;

static int cancel_import(const char *task, uint64_t done, uint64_t total, void *payload)
{
    (void)payload;
    ck_assert_str_eq(task, "import");
    ck_assert_uint_le(done, total);
    progress_calls++;
    progress_total = total;
    return 1;
}

START_TEST(crafted_moves_and_cancel)
{
    /* Moves that break the rules in a dataset (as a crafted file could hold) fail the readers cleanly. */
    sp_dataset *ds = small_dataset();
    ds->moves.tail[1] = ds->moves.tail[0]; /* game 0: White plays on Black's stone */
    sp_game *g;
    ck_assert_int_eq(sp_dataset_game_replay(ds, 0, -1, &g), SP_ERR_FORMAT);
    ck_assert_ptr_null(g);
    float x[SP_NEIGHBOUR_PLANES * 81];
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 3, 0, x, sizeof x / sizeof x[0]), SP_ERR_FORMAT);
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 1, 0, x, sizeof x / sizeof x[0]), SP_OK);
    sp_dataset_free(ds);
    /* A progress callback that cancels. */
    const char *path = tmp_path("cancel.sgf.gz");
    write_gz(path, collection, strlen(collection));
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_options o;
    sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION);
    o.progress = cancel_import;
    ck_assert_int_eq(sp_dataset_import(ds, path, &o, NULL), SP_ERR_CANCELLED);
    ck_assert_int_eq(progress_calls, 1);
    struct stat st;
    stat(path, &st);
    ck_assert_uint_eq(progress_total, (uint64_t)st.st_size);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(compressed_files_and_directories)
{
    mkdir(tmp_path("dir"), 0700);
    mkdir(tmp_path("dir/sub"), 0700);
    write_gz(tmp_path("dir/a.sgf.gz"), collection, strlen(collection));
    write_xz(tmp_path("dir/sub/b.sgf.xz"), collection, strlen(collection), 0);
    FILE *f = fopen(tmp_path("dir/c.sgf"), "w");
    fputs(collection, f);
    fclose(f);
    f = fopen(tmp_path("dir/ignored.txt"), "w");
    fputs(collection, f);
    fclose(f);
    write_gz(tmp_path("dir/index.tsv.gz"), collection, strlen(collection)); /* not a game file */
    const char *names[] = { "dir/a.sgf.gz", "dir/sub/b.sgf.xz", "dir/c.sgf" };
    for (int i = 0; i < 3; i++) {
        sp_dataset *ds;
        ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
        sp_import_report r = SP_IMPORT_REPORT_INIT;
        ck_assert_int_eq(sp_dataset_import(ds, tmp_path(names[i]), NULL, &r), SP_OK);
        expect_counts(&r);
        ck_assert_uint_eq(r.bytes, strlen(collection));
        sp_dataset_free(ds);
    }
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import(ds, tmp_path("dir"), NULL, &r), SP_OK);
    ck_assert_uint_eq(r.files, 3);
    ck_assert_uint_eq(r.games_added, 3);
    ck_assert_uint_eq(r.skipped[SP_SKIP_DUPLICATE], 1 + 2 * 4);
    /* A cut xz stream is an I/O error; what was read before stays. */
    write_xz(tmp_path("cut.sgf.xz"), collection, strlen(collection), 20);
    ck_assert_int_eq(sp_dataset_import(ds, tmp_path("cut.sgf.xz"), NULL, NULL), SP_ERR_IO);
    ck_assert_int_eq(sp_dataset_import(ds, tmp_path("missing.sgf"), NULL, NULL), SP_ERR_IO);
    sp_dataset_free(ds);
}
END_TEST

static void assert_same_dataset(const sp_dataset *a, const sp_dataset *b)
{
    ck_assert_uint_eq(sp_dataset_game_count(a), sp_dataset_game_count(b));
    ck_assert_uint_eq(sp_dataset_position_count(a), sp_dataset_position_count(b));
    for (uint64_t g = 0; g < sp_dataset_game_count(a); g++) {
        sp_dataset_game_info x = { .version = 1 }, y = { .version = 1 };
        sp_dataset_game_info_get(a, g, &x);
        sp_dataset_game_info_get(b, g, &y);
        ck_assert_int_eq(x.moves, y.moves);
        ck_assert_int_eq(x.result_kind, y.result_kind);
        ck_assert_int_eq(x.winner, y.winner);
        ck_assert_uint_eq(x.key, y.key);
        ck_assert_uint_eq(x.flags, y.flags);
        ck_assert(x.komi == y.komi);
        int32_t ma[512], mb[512];
        size_t na, nb;
        ck_assert_int_eq(sp_dataset_game_moves(a, g, ma, 512, &na), SP_OK);
        ck_assert_int_eq(sp_dataset_game_moves(b, g, mb, 512, &nb), SP_OK);
        ck_assert_uint_eq(na, nb);
        ck_assert_mem_eq(ma, mb, na * sizeof ma[0]);
        for (int t = 0; t < 4; t++) {
            char ta[128], tb[128];
            ck_assert_int_eq(sp_dataset_game_text(a, g, t, ta, sizeof ta), SP_OK);
            ck_assert_int_eq(sp_dataset_game_text(b, g, t, tb, sizeof tb), SP_OK);
            ck_assert_str_eq(ta, tb);
        }
        uint8_t oa[81], ob[81];
        sp_dataset_game_ownership(a, g, oa, 81);
        sp_dataset_game_ownership(b, g, ob, 81);
        ck_assert_mem_eq(oa, ob, 81);
    }
}

START_TEST(spd_round_trip_and_append)
{
    sp_dataset *ds = small_dataset(), *back, *again;
    const char *path = tmp_path("small.spd");
    ck_assert_int_eq(sp_dataset_save(ds, path), SP_OK);
    ck_assert_int_eq(sp_dataset_load(&back, path), SP_OK);
    assert_same_dataset(ds, back);
    /* Saved again with nothing appended (as `sp-data import --append` does
     * when every game is a duplicate): still a valid file. */
    ck_assert_int_eq(sp_dataset_save(back, tmp_path("resaved.spd")), SP_OK);
    ck_assert_int_eq(sp_dataset_load(&again, tmp_path("resaved.spd")), SP_OK);
    assert_same_dataset(ds, again);
    sp_dataset_free(again);
    /* Append: a game played here, then save onto the file the dataset maps. */
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    ck_assert_int_eq(sp_game_play(g, 40), SP_OK);
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    uint64_t id;
    ck_assert_int_eq(sp_dataset_add_game(back, g, "played", 1, &id), SP_OK);
    ck_assert_uint_eq(id, 3);
    ck_assert_int_eq(sp_dataset_add_game(back, g, "played", 1, &id), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_dataset_add_game(ds, g, "played", 1, &id), SP_OK);
    ck_assert_int_eq(sp_dataset_save(back, path), SP_OK);
    ck_assert_int_eq(sp_dataset_load(&again, path), SP_OK);
    assert_same_dataset(ds, again);
    sp_dataset_game_info info = { .version = 1 };
    ck_assert_int_eq(sp_dataset_game_info_get(again, 3, &info), SP_OK);
    ck_assert_int_eq(info.result_kind, SP_RESULT_SCORE); /* 81 points for Black minus 7 komi */
    ck_assert(info.winner == SP_BLACK && info.margin == 74.0f);
    ck_assert_uint_eq(info.first_position, 11);
    uint64_t game;
    uint32_t move;
    ck_assert_int_eq(sp_dataset_position_locate(again, 12, &game, &move), SP_OK);
    ck_assert(game == 3 && move == 1);
    ck_assert_int_eq(sp_dataset_position_locate(again, 14, &game, &move), SP_ERR_INVALID_ARG);
    /* A replayed game is the stored one. */
    sp_game *r;
    ck_assert_int_eq(sp_dataset_game_replay(again, 0, -1, &r), SP_OK);
    ck_assert_int_eq(sp_game_move_count(r), 4);
    ck_assert_str_eq(sp_game_info(r, "RE"), "B+Resign");
    ck_assert_str_eq(sp_game_info(r, "WR"), "2100?");
    sp_game_free(r);
    sp_game_free(g);
    sp_dataset_free(again);
    sp_dataset_free(back);
    sp_dataset_free(ds);
    sp_dataset_free(NULL);
    ck_assert_int_eq(sp_dataset_load(&back, tmp_path("none.spd")), SP_ERR_IO);
    ck_assert_ptr_null(back);
}
END_TEST

START_TEST(spd_corruption_refused)
{
    sp_dataset *ds = small_dataset();
    const char *path = tmp_path("corrupt.spd");
    ck_assert_int_eq(sp_dataset_save(ds, path), SP_OK);
    sp_dataset_free(ds);
    FILE *f = fopen(path, "rb");
    uint64_t *words = calloc(1, 1 << 16);
    uint8_t *data = (uint8_t *)words;
    size_t n = fread(data, 1, 1 << 16, f);
    fclose(f);
    ck_assert_uint_gt(n, 200);
    sp_dataset *back;
    ck_assert_int_eq(sp_dataset_load_memory(&back, data, n), SP_OK);
    sp_dataset_free(back);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            data[i] ^= (uint8_t)(1u << bit);
            int rc = sp_dataset_load_memory(&back, data, n);
            ck_assert_msg(rc == SP_ERR_FORMAT, "byte %zu bit %d: %d", i, bit, rc);
            ck_assert_ptr_null(back);
            data[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len + 8);
        memcpy(copy, data, len);
        int rc = sp_dataset_load_memory(&back, len ? copy : NULL, len);
        ck_assert_msg(rc == SP_ERR_FORMAT, "length %zu: %d", len, rc);
        free(copy);
    }
    /* The same through the file loader, for a few lengths. */
    for (size_t len = 0; len < n; len += 97) {
        f = fopen(path, "wb");
        fwrite(data, 1, len, f);
        fclose(f);
        ck_assert_int_eq(sp_dataset_load(&back, path), SP_ERR_FORMAT);
    }
    free(words);
}
END_TEST

START_TEST(splits_are_disjoint_and_deterministic)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    sp_rng *rng;
    sp_rng_create(&rng, 7);
    for (int i = 0; i < 400; i++) { /* 400 short random games */
        sp_game_clear(g);
        int len = 3 + i % 20;
        for (int m = 0; m < len; m++) {
            int move;
            sp_game_random_move(g, rng, &move);
            sp_game_play(g, move);
        }
        ck_assert_int_eq(sp_dataset_add_game(ds, g, NULL, 1, NULL), SP_OK);
    }
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    so.test_fraction = 0.2f;
    so.keep_fraction = 0.3f;
    size_t counts[5];
    uint64_t *ids[5];
    for (int p = 0; p < 5; p++) {
        ck_assert_int_eq(sp_dataset_positions(ds, p, &so, NULL, 0, &counts[p]), SP_ERR_BUFFER_TOO_SMALL);
        ids[p] = malloc(counts[p] * sizeof *ids[p] + 8);
        ck_assert_int_eq(sp_dataset_positions(ds, p, &so, ids[p], counts[p], &counts[p]), SP_OK);
    }
    ck_assert_uint_eq(counts[SP_PART_ALL], counts[SP_PART_TRAIN] + counts[SP_PART_TEST]);
    ck_assert_uint_eq(counts[SP_PART_TRAIN], counts[SP_PART_HALF0] + counts[SP_PART_HALF1]);
    double kept = (double)counts[SP_PART_ALL] / (double)sp_dataset_position_count(ds);
    ck_assert_msg(kept > 0.25 && kept < 0.35, "kept %f", kept);
    uint8_t *owner = calloc(sp_dataset_game_count(ds), 1);
    for (int p = SP_PART_TEST; p <= SP_PART_HALF1; p++) /* no game in two of test, half0, half1 */
        for (size_t i = 0; i < counts[p]; i++) {
            uint64_t game;
            sp_dataset_position_locate(ds, ids[p][i], &game, NULL);
            ck_assert_msg(owner[game] == 0 || owner[game] == p, "game %llu in parts %d and %d",
                          (unsigned long long)game, owner[game], p);
            owner[game] = (uint8_t)p;
            int part, k;
            ck_assert_int_eq(sp_dataset_game_part(ds, game, &so, &part), SP_OK);
            ck_assert_int_eq(part, p);
            ck_assert_int_eq(sp_dataset_position_kept(ds, ids[p][i], &so, &k), SP_OK);
            ck_assert_int_eq(k, 1);
        }
    /* Game order does not move a game between training and test: a copy in
     * reverse order splits the same way; the retrieval half follows the id. */
    sp_dataset *rev;
    ck_assert_int_eq(sp_dataset_create(&rev, 9), SP_OK);
    for (uint64_t i = sp_dataset_game_count(ds); i-- > 0;)
        ck_assert_int_eq(sp_dataset_copy_game(rev, ds, i), SP_OK);
    for (uint64_t i = 0; i < sp_dataset_game_count(ds); i++) {
        uint64_t j = sp_dataset_game_count(ds) - 1 - i;
        int a, b;
        sp_dataset_game_part(ds, i, &so, &a);
        sp_dataset_game_part(rev, j, &so, &b);
        ck_assert_int_eq(a == SP_PART_TEST, b == SP_PART_TEST);
        if (b != SP_PART_TEST)
            ck_assert_int_eq(b, sp__game_half(j) ? SP_PART_HALF1 : SP_PART_HALF0);
    }
    size_t rev_count;
    sp_dataset_positions(rev, SP_PART_TRAIN, &so, NULL, 0, &rev_count);
    ck_assert_uint_eq(rev_count, counts[SP_PART_TRAIN]);
    for (int p = 0; p < 5; p++)
        free(ids[p]);
    free(owner);
    sp_dataset_free(rev);
    sp_rng_free(rng);
    sp_game_free(g);
    sp_dataset_save(ds, tmp_path("random.spd"));
    sp_dataset_free(ds);
}
END_TEST

/* Copying a game within one dataset appends to the buffers its texts and
 * moves are read from: thousands of copies force many reallocations. */
START_TEST(copy_game_within_one_dataset)
{
    sp_dataset *ds = small_dataset();
    uint64_t originals = sp_dataset_game_count(ds);
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(sp_dataset_copy_game(ds, ds, (uint64_t)i % sp_dataset_game_count(ds)), SP_OK);
    ck_assert_uint_eq(sp_dataset_game_count(ds), originals + 3000);
    /* Copy i (game originals + i) copies game i: a copy of a copy ... of game j. */
    for (uint64_t g = originals; g < sp_dataset_game_count(ds); g++) {
        uint64_t j = g;
        while (j >= originals)
            j -= originals;
        for (int field = 0; field < SP__SPD_TEXTS; field++) {
            char a[256], b[256];
            ck_assert_int_eq(sp_dataset_game_text(ds, j, field, a, sizeof a), SP_OK);
            ck_assert_int_eq(sp_dataset_game_text(ds, g, field, b, sizeof b), SP_OK);
            ck_assert_str_eq(a, b);
        }
        int32_t ma[64], mb[64];
        size_t na, nb;
        ck_assert_int_eq(sp_dataset_game_moves(ds, j, ma, 64, &na), SP_OK);
        ck_assert_int_eq(sp_dataset_game_moves(ds, g, mb, 64, &nb), SP_OK);
        ck_assert_uint_eq(na, nb);
        ck_assert_int_eq(memcmp(ma, mb, na * sizeof *ma), 0);
    }
    sp_dataset_free(ds);
}
END_TEST

/* Long work reports through the log callback: a line per skipped game with
 * its reason (and the parser's detail), and a summary per input. */
typedef struct log_lines {
    char text[64][256];
    int level[64];
    int n;
} log_lines;

static void keep_log(int level, const char *message, void *payload)
{
    log_lines *l = payload;
    if (l->n < 64) {
        snprintf(l->text[l->n], sizeof l->text[0], "%s", message);
        l->level[l->n++] = level;
    }
}

static int find_log(const log_lines *l, int level, const char *part)
{
    for (int i = 0; i < l->n; i++)
        if (l->level[i] == level && strstr(l->text[i], part))
            return 1;
    return 0;
}

START_TEST(import_logs_through_the_callback)
{
    static log_lines lines;
    sp_set_log_callback(keep_log, SP_LOG_DEBUG, &lines);
    sp_dataset *ds = small_dataset();
    sp_set_log_callback(NULL, 0, NULL);
    ck_assert_msg(find_log(&lines, SP_LOG_INFO, "import: reading test"), "no start line in %d", lines.n);
    ck_assert(find_log(&lines, SP_LOG_DEBUG, "test#2 skipped (duplicate)"));
    ck_assert(find_log(&lines, SP_LOG_DEBUG, "test#3 skipped (board-size)"));
    ck_assert(find_log(&lines, SP_LOG_DEBUG, "test#5 skipped (illegal-move): ")); /* with the parser's why */
    ck_assert(find_log(&lines, SP_LOG_DEBUG, "cut off by the end of the file"));
    ck_assert_msg(find_log(&lines, SP_LOG_INFO, "import: test: 11 games read, 3 added (11 positions), 8 skipped ("),
                  "no summary");
    for (int i = 0; i < lines.n; i++) /* skips are detail, not noise at INFO */
        ck_assert(!(lines.level[i] < SP_LOG_DEBUG && strstr(lines.text[i], "skipped (")
                    && !strstr(lines.text[i], "games read")));
    /* Above the callback's level nothing is formatted or sent. */
    lines.n = 0;
    sp_set_log_callback(keep_log, SP_LOG_WARNING, &lines);
    sp_dataset *quiet = small_dataset();
    sp_set_log_callback(NULL, 0, NULL);
    ck_assert_int_eq(lines.n, 0);
    sp_dataset_free(quiet);
    sp_dataset_free(ds);
}
END_TEST

typedef struct batch_store {
    sp_batch b;
    float *planes, *policy, *value;
    int32_t *actions, *symmetry;
    uint8_t *mask;
    uint64_t *positions;
} batch_store;

static void batch_alloc(batch_store *s, int size, int planes, int unroll)
{
    memset(s, 0, sizeof *s);
    s->b.version = SP_BATCH_VERSION;
    s->b.size = size;
    s->b.planes = calloc((size_t)size * (size_t)planes * 81, sizeof(float));
    s->b.actions = calloc((size_t)size * (size_t)unroll + 1, sizeof(int32_t));
    s->b.policy = calloc((size_t)size * (size_t)(unroll + 1) * 82, sizeof(float));
    s->b.value = calloc((size_t)size * (size_t)(unroll + 1), sizeof(float));
    s->b.mask = calloc((size_t)size * (size_t)(unroll + 1), 1);
    s->b.positions = calloc((size_t)size, sizeof(uint64_t));
    s->b.symmetry = calloc((size_t)size, sizeof(int32_t));
}

static void batch_free(batch_store *s)
{
    free(s->b.planes);
    free(s->b.actions);
    free(s->b.policy);
    free(s->b.value);
    free(s->b.mask);
    free(s->b.positions);
    free(s->b.symmetry);
}

static sp_dataset *random_dataset(void)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_load(&ds, tmp_path("random.spd")), SP_OK);
    return ds;
}

START_TEST(batches_reproducible_and_symmetric)
{
    sp_dataset *ds = small_dataset();
    sp_dataset_free(ds);
    /* random.spd comes from the split test; build it if this test runs alone. */
    if (access(tmp_path("random.spd"), R_OK) != 0) {
        ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
        sp_game *g;
        sp_game_create(&g, NULL);
        sp_rng *rng;
        sp_rng_create(&rng, 3);
        for (int i = 0; i < 100; i++) {
            sp_game_clear(g);
            for (int m = 0; m < 5 + i % 30; m++) {
                int move;
                sp_game_random_move(g, rng, &move);
                sp_game_play(g, move);
            }
            sp_dataset_add_game(ds, g, NULL, 1, NULL);
        }
        sp_dataset_save(ds, tmp_path("random.spd"));
        sp_dataset_free(ds);
        sp_rng_free(rng);
        sp_game_free(g);
    }
    ds = random_dataset();
    const int B = 64, K = 5, P = 18;
    sp_sampler_options o;
    sp_sampler_options_init(&o, SP_SAMPLER_OPTIONS_VERSION);
    o.seed = 42;
    sp_sampler *s1, *s2, *plain;
    ck_assert_int_eq(sp_sampler_create(&s1, ds, &o), SP_OK);
    o.threads = 3;
    ck_assert_int_eq(sp_sampler_create(&s2, ds, &o), SP_OK);
    o.threads = 1;
    o.symmetries = 0;
    ck_assert_int_eq(sp_sampler_create(&plain, ds, &o), SP_OK);
    batch_store a, b, c;
    batch_alloc(&a, B, P, K);
    batch_alloc(&b, B, P, K);
    batch_alloc(&c, B, P, K);
    int syms_seen = 0, past_end = 0;
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(sp_sampler_next(s1, &a.b), SP_OK);
        ck_assert_int_eq(sp_sampler_next(s2, &b.b), SP_OK);
        ck_assert_int_eq(sp_sampler_next(plain, &c.b), SP_OK);
        /* Same seed, different thread counts: identical batches. */
        ck_assert_mem_eq(a.b.planes, b.b.planes, (size_t)B * P * 81 * sizeof(float));
        ck_assert_mem_eq(a.b.policy, b.b.policy, (size_t)B * (K + 1) * 82 * sizeof(float));
        ck_assert_mem_eq(a.b.actions, b.b.actions, (size_t)B * K * sizeof(int32_t));
        ck_assert_mem_eq(a.b.value, b.b.value, (size_t)B * (K + 1) * sizeof(float));
        ck_assert_mem_eq(a.b.positions, b.b.positions, (size_t)B * sizeof(uint64_t));
        ck_assert_mem_eq(a.b.positions, c.b.positions, (size_t)B * sizeof(uint64_t));
        for (int i = 0; i < B; i++) {
            int sym = a.b.symmetry[i], inv = sp_symmetry_inverse(sym);
            syms_seen |= 1 << sym;
            ck_assert_int_eq(c.b.symmetry[i], 0);
            /* Undo the symmetry: the planes of the sample without one. */
            float back[18 * 81];
            sp_symmetry_planes(inv, 9, P, a.b.planes + (size_t)i * P * 81, back);
            ck_assert_mem_eq(back, c.b.planes + (size_t)i * P * 81, sizeof back);
            uint64_t game;
            uint32_t t;
            sp_dataset_position_locate(ds, a.b.positions[i], &game, &t);
            /* Independent reference: the planes of the position replayed by the rules. */
            sp_game *replay;
            float ref[18 * 81];
            ck_assert_int_eq(sp_dataset_game_replay(ds, game, (int)t, &replay), SP_OK);
            ck_assert_int_eq(sp_game_planes(replay, 8, ref, 18 * 81), SP_OK);
            ck_assert_mem_eq(ref, c.b.planes + (size_t)i * P * 81, sizeof ref);
            sp_game_free(replay);
            int32_t moves[64];
            size_t n;
            sp_dataset_game_moves(ds, game, moves, 64, &n);
            sp_dataset_game_info info = { .version = 1 };
            sp_dataset_game_info_get(ds, game, &info);
            for (int k = 0; k <= K; k++) {
                const float *pa = a.b.policy + ((size_t)i * (K + 1) + (size_t)k) * 82;
                const float *pc = c.b.policy + ((size_t)i * (K + 1) + (size_t)k) * 82;
                int inside = t + (uint32_t)k < n;
                ck_assert_int_eq(a.b.mask[i * (K + 1) + k], inside);
                if (!inside) {
                    past_end++;
                    for (int x = 0; x < 82; x++)
                        ck_assert(pa[x] == 1.0f / 82);
                } else {
                    int m = moves[t + (uint32_t)k];
                    ck_assert(pc[m] == 1.0f);
                    int turned = m == 81 ? 81 : sp_symmetry_point(sym, 9, m);
                    ck_assert(pa[turned] == 1.0f);
                    if (k < K) {
                        ck_assert_int_eq(a.b.actions[i * K + k], turned);
                        ck_assert_int_eq(c.b.actions[i * K + k], m);
                    }
                }
                /* Value from the side to move at t+k. */
                int mover = (t + (uint32_t)k) % 2 ? 3 - info.first_color : info.first_color;
                float want = info.winner == SP_EMPTY ? 0.0f : info.winner == mover ? 1.0f : -1.0f;
                ck_assert(a.b.value[i * (K + 1) + k] == want);
            }
        }
    }
    ck_assert_int_eq(syms_seen, 0xff);
    ck_assert_int_gt(past_end, 0);
    /* A fresh sampler with the same seed repeats the stream; another seed does not. */
    sp_sampler_free(s1);
    o.symmetries = 1;
    ck_assert_int_eq(sp_sampler_create(&s1, ds, &o), SP_OK);
    for (int round = 0; round < 3; round++)
        ck_assert_int_eq(sp_sampler_next(s1, &b.b), SP_OK);
    ck_assert_mem_eq(a.b.planes, b.b.planes, (size_t)B * P * 81 * sizeof(float));
    sp_sampler_free(s1);
    o.seed = 43;
    ck_assert_int_eq(sp_sampler_create(&s1, ds, &o), SP_OK);
    ck_assert_int_eq(sp_sampler_next(s1, &b.b), SP_OK);
    ck_assert(memcmp(a.b.positions, b.b.positions, (size_t)B * sizeof(uint64_t)) != 0);
    o.version = SP_SAMPLER_OPTIONS_VERSION + 1;
    sp_sampler *bad;
    ck_assert_int_eq(sp_sampler_create(&bad, ds, &o), SP_ERR_VERSION);
    ck_assert_ptr_null(bad);
    sp_sampler_free(NULL);
    sp_sampler_free(s1);
    sp_sampler_free(s2);
    sp_sampler_free(plain);
    batch_free(&a);
    batch_free(&b);
    batch_free(&c);
    sp_dataset_free(ds);
}
END_TEST

/* Sampler options version 2: the rating filter, and an old caller's struct
 * (version 1, a heap block of exactly its size) that still means no filter. */
START_TEST(sampler_rating_filter)
{
    sp_dataset *ds = small_dataset();
    sp_sampler_options o;
    ck_assert_int_eq(sp_sampler_options_init(&o, SP_SAMPLER_OPTIONS_VERSION), SP_OK);
    ck_assert(o.min_rating == 0.0f);
    o.part = SP_PART_ALL;
    o.unroll = 2;
    o.min_rating = 2000;
    /* Reference from the public game summaries: both players rated >= 2000. */
    uint64_t rated_positions = 0;
    for (uint64_t g = 0; g < sp_dataset_game_count(ds); g++) {
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        ck_assert_int_eq(sp_dataset_game_info_get(ds, g, &info), SP_OK);
        if (info.black_rating >= 2000 && info.white_rating >= 2000)
            rated_positions += info.moves;
    }
    ck_assert_uint_eq(rated_positions, 4); /* game 0 only: 2300 / 2100? */
    sp_sampler *s;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_OK);
    ck_assert_uint_eq(sp_sampler_position_count(s), rated_positions);
    batch_store b;
    batch_alloc(&b, 32, 18, 2);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(sp_sampler_next(s, &b.b), SP_OK);
        for (int i = 0; i < 32; i++) {
            uint64_t game;
            uint32_t t;
            ck_assert_int_eq(sp_dataset_position_locate(ds, b.b.positions[i], &game, &t), SP_OK);
            ck_assert_uint_eq(game, 0);
        }
    }
    sp_sampler_free(s);
    /* Nothing left, or a filter that is not a rating: refused, *out NULL. */
    o.min_rating = 2200;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "min_rating"));
    o.min_rating = -1;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    o.min_rating = NAN;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    o.min_rating = INFINITY;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    /* Version 1 as its header declared it; it ends where min_rating begins. */
    typedef struct sampler_options_v1 {
        uint32_t version;
        uint64_t seed;
        int32_t part, history, unroll, symmetries, threads;
        sp_split_options split;
    } sampler_options_v1;
    ck_assert_uint_eq(sizeof(sampler_options_v1), offsetof(sp_sampler_options, min_rating));
    sampler_options_v1 *old = malloc(sizeof *old);
    ck_assert_int_eq(sp_sampler_options_init((sp_sampler_options *)old, 1), SP_OK);
    old->part = SP_PART_ALL;
    ck_assert_int_eq(sp_sampler_create(&s, ds, (const sp_sampler_options *)old), SP_OK);
    ck_assert_uint_eq(sp_sampler_position_count(s), sp_dataset_position_count(ds));
    sp_sampler_free(s);
    free(old);
    batch_free(&b);
    sp_dataset_free(ds);
}
END_TEST

/* Sampler options version 3: draw only the positions given (sorted, repeats
 * once), of those the part and the filters keep; an id past the dataset
 * refused; a version 2 caller's struct still draws every position. */
START_TEST(sampler_draws_only_the_positions_given)
{
    sp_dataset *ds = small_dataset();
    uint64_t total = sp_dataset_position_count(ds);
    ck_assert_uint_ge(total, 8);
    sp_sampler_options o;
    ck_assert_int_eq(sp_sampler_options_init(&o, SP_SAMPLER_OPTIONS_VERSION), SP_OK);
    ck_assert_ptr_null(o.positions);
    o.part = SP_PART_ALL;
    o.unroll = 1;
    /* Game 0's second position, the last position, and game 0's again. */
    uint64_t ids[] = { total - 1, 1, 1 };
    o.positions = ids;
    o.position_count = 3;
    sp_sampler *s;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_OK);
    ck_assert_uint_eq(sp_sampler_position_count(s), 2);
    ids[0] = ids[1] = ids[2] = 0; /* copied at create: the caller's array may change */
    batch_store b;
    batch_alloc(&b, 32, 18, 1);
    int seen[2] = { 0, 0 };
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(sp_sampler_next(s, &b.b), SP_OK);
        for (int i = 0; i < 32; i++) {
            ck_assert_msg(b.b.positions[i] == 1 || b.b.positions[i] == total - 1, "drew %llu",
                          (unsigned long long)b.b.positions[i]);
            seen[b.b.positions[i] == 1]++;
        }
    }
    ck_assert(seen[0] > 0 && seen[1] > 0);
    sp_sampler_free(s);
    /* With the rating filter only game 0's is left. */
    ids[0] = total - 1;
    ids[1] = ids[2] = 1;
    o.min_rating = 2000;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_OK);
    ck_assert_uint_eq(sp_sampler_position_count(s), 1);
    sp_sampler_free(s);
    /* None left, and an id past the dataset: refused, naming them. */
    o.position_count = 1;
    ids[0] = total - 1;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "among the positions given"));
    ids[0] = total;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "positions[0]"));
    ck_assert_ptr_null(s);
    /* Version 2 as its header declared it ends where positions begin: every position of the part. */
    typedef struct sampler_options_v2 {
        uint32_t version;
        uint64_t seed;
        int32_t part, history, unroll, symmetries, threads;
        sp_split_options split;
        float min_rating;
    } sampler_options_v2;
    ck_assert_uint_eq(sizeof(sampler_options_v2), offsetof(sp_sampler_options, positions));
    sampler_options_v2 *old = malloc(sizeof *old);
    ck_assert_int_eq(sp_sampler_options_init((sp_sampler_options *)old, 2), SP_OK);
    old->part = SP_PART_ALL;
    ck_assert_int_eq(sp_sampler_create(&s, ds, (const sp_sampler_options *)old), SP_OK);
    ck_assert_uint_eq(sp_sampler_position_count(s), total);
    sp_sampler_free(s);
    free(old);
    batch_free(&b);
    sp_dataset_free(ds);
}
END_TEST

/* A checkpoint restores a sampler's stream by its batch number alone. */
START_TEST(sampler_batch_number_restores_the_stream)
{
    sp_dataset *ds = small_dataset();
    sp_sampler_options o;
    sp_sampler_options_init(&o, SP_SAMPLER_OPTIONS_VERSION);
    o.part = SP_PART_ALL;
    o.seed = 9;
    o.unroll = 3;
    enum { B = 16, P = 18, K = 3 };
    batch_store want, got;
    batch_alloc(&want, B, P, K);
    batch_alloc(&got, B, P, K);
    sp_sampler *s, *fresh;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &o), SP_OK);
    ck_assert_uint_eq(sp__sampler_batch_no(s), 0);
    for (int round = 0; round < 3; round++)
        ck_assert_int_eq(sp_sampler_next(s, &want.b), SP_OK);
    ck_assert_uint_eq(sp__sampler_batch_no(s), 3);
    /* Batch 2 again, from the same sampler and from a fresh one. */
    sp__sampler_set_batch_no(s, 2);
    ck_assert_int_eq(sp_sampler_next(s, &got.b), SP_OK);
    ck_assert_uint_eq(sp__sampler_batch_no(s), 3);
    ck_assert_mem_eq(got.b.positions, want.b.positions, B * sizeof(uint64_t));
    ck_assert_mem_eq(got.b.symmetry, want.b.symmetry, B * sizeof(int32_t));
    ck_assert_mem_eq(got.b.planes, want.b.planes, (size_t)B * P * 81 * sizeof(float));
    ck_assert_mem_eq(got.b.actions, want.b.actions, (size_t)B * K * sizeof(int32_t));
    ck_assert_int_eq(sp_sampler_create(&fresh, ds, &o), SP_OK);
    sp__sampler_set_batch_no(fresh, 2);
    ck_assert_int_eq(sp_sampler_next(fresh, &got.b), SP_OK);
    ck_assert_mem_eq(got.b.positions, want.b.positions, B * sizeof(uint64_t));
    ck_assert_mem_eq(got.b.policy, want.b.policy, (size_t)B * (K + 1) * 82 * sizeof(float));
    /* And batch 0 differs from batch 2 (the number is what moves the stream). */
    sp__sampler_set_batch_no(fresh, 0);
    ck_assert_int_eq(sp_sampler_next(fresh, &got.b), SP_OK);
    ck_assert(memcmp(got.b.positions, want.b.positions, B * sizeof(uint64_t)) != 0);
    sp_sampler_free(fresh);
    sp_sampler_free(s);
    batch_free(&want);
    batch_free(&got);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(neighbour_planes)
{
    sp_dataset *ds = small_dataset();
    enum { S = 81, N = SP_NEIGHBOUR_PLANES * 81 };
    float x[N], turned[N], back[N];
    /* Game 0: B ee, W gc, B cg, W ce; Black won by resignation. Position 1: White to move. */
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 1, 0, x, N), SP_OK);
    ck_assert(x[0 * S + 40] == 0.0f && x[1 * S + 40] == 1.0f); /* Black's stone is the opponent's */
    ck_assert(x[2 * S] == 0.0f);                                /* White to move */
    ck_assert(x[3 * S + 17] == -1.0f);                          /* White lost */
    ck_assert(x[6 * S] == 1.0f);                                /* ownership estimated: resignation */
    ck_assert(x[7 * S + 2 * 9 + 6] == 1.0f);                    /* next: W gc (row 2, col 6) */
    ck_assert(x[8 * S + 6 * 9 + 2] == 1.0f);                    /* then B cg */
    ck_assert(x[9 * S + 4 * 9 + 2] == 1.0f);                    /* then W ce */
    for (int k = 3; k < 5; k++) /* past the end: nothing */
        for (int p = 0; p < S; p++)
            ck_assert(x[(7 + k) * S + p] == 0.0f && x[(12 + k) * S + p] == 0.0f);
    uint8_t own[81];
    sp_dataset_game_ownership(ds, 0, own, 81);
    for (int p = 0; p < S; p++) {
        ck_assert(x[4 * S + p] == (own[p] == SP_WHITE));
        ck_assert(x[5 * S + p] == (own[p] == SP_BLACK));
    }
    /* Game 1 (W+7, counted) position 2 is Black's pass; from Black's view it lost. */
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 4 + 2, 0, x, N), SP_OK);
    ck_assert(x[2 * S] == 1.0f && x[3 * S] == -1.0f && x[6 * S] == 0.0f);
    for (int p = 0; p < S; p++)
        ck_assert(x[12 * S + p] == 1.0f && x[13 * S + p] == 1.0f && x[7 * S + p] == 0.0f);
    /* A symmetry turns every plane the same way. */
    for (int sym = 0; sym < 8; sym++) {
        ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 1, 0, x, N), SP_OK);
        ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 1, sym, turned, N), SP_OK);
        sp_symmetry_planes(sp_symmetry_inverse(sym), 9, SP_NEIGHBOUR_PLANES, turned, back);
        ck_assert_mem_eq(back, x, sizeof x);
    }
    /* Boards with captures: the stones agree with a full replay by the rules. */
    sp_dataset *rnd;
    ck_assert_int_eq(sp_dataset_create(&rnd, 9), SP_OK);
    sp_game *g;
    sp_rng *rng;
    sp_game_create(&g, NULL);
    sp_rng_create(&rng, 11);
    for (int i = 0; i < 5; i++) {
        sp_game_clear(g);
        for (int m = 0; m < 150 && !sp_game_is_over(g); m++) {
            int move;
            sp_game_random_move(g, rng, &move);
            sp_game_play(g, move);
        }
        ck_assert_int_eq(sp_dataset_add_game(rnd, g, NULL, 1, NULL), SP_OK);
    }
    for (uint64_t pos = 0; pos < sp_dataset_position_count(rnd); pos += 3) {
        uint64_t game;
        uint32_t t;
        sp_dataset_position_locate(rnd, pos, &game, &t);
        sp_game *r;
        ck_assert_int_eq(sp_dataset_game_replay(rnd, game, (int)t, &r), SP_OK);
        ck_assert_int_eq(sp_dataset_neighbour_planes(rnd, pos, 0, x, N), SP_OK);
        int me = sp_game_to_play(r);
        ck_assert(x[2 * S] == (me == SP_BLACK));
        for (int p = 0; p < S; p++) {
            int c = sp_game_color_at(r, p);
            ck_assert(x[p] == (c == me) && x[S + p] == (c == 3 - me));
        }
        sp_game_free(r);
    }
    sp_rng_free(rng);
    sp_game_free(g);
    sp_dataset_free(rnd);
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 1, 0, x, N - 1), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, 11, 0, x, N), SP_ERR_INVALID_ARG);
    sp_dataset_free(ds);
}
END_TEST

/* ---- real data ---------------------------------------------------------- */

static int data_path(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("SP_DATA_DIR");
    snprintf(buf, size, "%s/go9/%s", dir ? dir : "../shared/data", name);
    if (access(buf, R_OK) == 0)
        return 1;
    fprintf(stderr, "test_data: %s not found, real-data check skipped\n", buf);
    return 0;
}

/* The index rows of the first `max` games of cgos9x9_2015.sgf: moves and RE. */
static int read_index(const char *path, int max, int *moves, char (*re)[32])
{
    sp__stream *st;
    ck_assert_int_eq(sp__stream_open(&st, path), SP_OK);
    size_t cap = (size_t)max * 400 + 4096, len = 0, n;
    char *text = malloc(cap + 1);
    do {
        ck_assert_int_eq(sp__stream_read(st, text + len, cap - len, &n), SP_OK);
        len += n;
    } while (n && len < cap);
    sp__stream_close(st);
    text[len] = '\0';
    int rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && rows < max; line = strtok_r(NULL, "\n", &save)) {
        char *f[13];
        int nf = 0;
        for (char *p = line; p && nf < 13; nf++) {
            f[nf] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (nf < 13 || strcmp(f[0], "cgos9x9_2015.sgf") != 0)
            continue;
        moves[rows] = atoi(f[12]);
        snprintf(re[rows], 32, "%s", f[11]);
        rows++;
    }
    free(text);
    return rows;
}

START_TEST(cgos_slice_matches_index)
{
    enum { MAX = 3000 };
    char path[1024], index_path[1024];
    if (!data_path(path, sizeof path, "cgos9x9_2015.sgf.xz")
        || !data_path(index_path, sizeof index_path, "cgos9x9_index.tsv.xz"))
        return;
    static int moves[MAX];
    static char re[MAX][32];
    int rows = read_index(index_path, MAX, moves, re);
    ck_assert_int_eq(rows, MAX);
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_options o;
    sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION);
    o.max_games = MAX;
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    ck_assert_int_eq(sp_dataset_import(ds, path, &o, &r), SP_OK);
    ck_assert_uint_eq(r.games_read, MAX);
    uint64_t zero = 0, skipped = 0;
    for (int i = 0; i < MAX; i++)
        zero += moves[i] == 0;
    for (int i = 0; i < SP_SKIP_REASON_COUNT; i++)
        skipped += r.skipped[i];
    ck_assert_uint_eq(r.games_added + skipped, MAX);
    ck_assert_uint_eq(r.skipped[SP_SKIP_NO_MOVES], zero);
    ck_assert_uint_eq(r.skipped[SP_SKIP_BROKEN] + r.skipped[SP_SKIP_ILLEGAL] + r.skipped[SP_SKIP_BOARD_SIZE], 0);
    /* Every kept game: its move count and result agree with the index row it came from. */
    for (uint64_t g = 0; g < sp_dataset_game_count(ds); g++) {
        char source[64];
        sp_dataset_game_text(ds, g, SP_TEXT_SOURCE, source, sizeof source);
        const char *hash = strchr(source, '#');
        ck_assert_ptr_nonnull(hash);
        int row = atoi(hash + 1);
        ck_assert_int_lt(row, MAX);
        sp_dataset_game_info info = { .version = 1 };
        sp_dataset_game_info_get(ds, g, &info);
        ck_assert_int_eq((int)info.moves, moves[row]);
        int kind, winner;
        float margin;
        sp_result_parse(re[row], &kind, &winner, &margin);
        ck_assert_int_eq(info.result_kind, kind);
        ck_assert_int_eq(info.winner, winner);
        ck_assert(isnan(margin) ? isnan(info.margin) : margin == info.margin);
        ck_assert(info.komi == 7.0f && !isnan(info.black_rating));
    }
    /* A scored game's final ownership gives its margin: area counting. */
    int checked = 0;
    for (uint64_t g = 0; g < sp_dataset_game_count(ds) && checked < 200; g++) {
        sp_dataset_game_info info = { .version = 1 };
        sp_dataset_game_info_get(ds, g, &info);
        if (info.result_kind != SP_RESULT_SCORE)
            continue;
        uint8_t own[81];
        sp_dataset_game_ownership(ds, g, own, 81);
        float score = -info.komi;
        for (int p = 0; p < 81; p++)
            score += own[p] == SP_BLACK ? 1.0f : own[p] == SP_WHITE ? -1.0f : 0.0f;
        ck_assert_msg(score == (info.winner == SP_BLACK ? info.margin : -info.margin), "game %llu",
                      (unsigned long long)g);
        checked++;
    }
    ck_assert_int_gt(checked, 50);
    sp_dataset_free(ds);
}
END_TEST

/* SP_LONG_TESTS: all of CGOS, in bounded memory, with the counts of docs/datasets.md. */
START_TEST(cgos_full_import)
{
    const char *long_tests = getenv("SP_LONG_TESTS");
    if (!long_tests || strcmp(long_tests, "1") != 0)
        return;
    char dir[1024], path[1100];
    if (!data_path(dir, sizeof dir, "cgos9x9_2015.sgf.xz"))
        return;
    *strrchr(dir, '/') = '\0';
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_import_report r = SP_IMPORT_REPORT_INIT;
    for (int year = 2015; year <= 2018; year++) {
        snprintf(path, sizeof path, "%s/cgos9x9_%d.sgf.xz", dir, year);
        ck_assert_int_eq(sp_dataset_import(ds, path, NULL, &r), SP_OK);
    }
    ck_assert_uint_eq(r.games_read, 437880);
    ck_assert_uint_eq(r.games_added, 429856);
    ck_assert_uint_eq(r.positions_added, 32723229);
    ck_assert_uint_eq(r.skipped[SP_SKIP_NO_MOVES], 582);
    ck_assert_uint_eq(r.skipped[SP_SKIP_DUPLICATE], 7442);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cgos full import: peak RSS %ld MB for %llu MB of SGF\n", ru.ru_maxrss / 1024,
           (unsigned long long)(r.bytes >> 20));
    ck_assert_int_lt(ru.ru_maxrss, 400 * 1024); /* the SGF text alone is 483 MB */
    sp_dataset_free(ds);
}
END_TEST

int main(void)
{
    /* Made before the tests fork, so that they share it and it is removed at the end. */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp-test-data-XXXXXX");
    if (!mkdtemp(tmpdir))
        return EXIT_FAILURE;
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    const char *long_tests = getenv("SP_LONG_TESTS");
    tcase_set_timeout(tc, long_tests && strcmp(long_tests, "1") == 0 ? 900 : 240);
    tcase_add_test(tc, results_parse);
    tcase_add_test(tc, import_counts_by_reason);
    tcase_add_test(tc, import_filters);
    tcase_add_test(tc, compressed_files_and_directories);
    tcase_add_test(tc, crafted_moves_and_cancel);
    tcase_add_test(tc, spd_round_trip_and_append);
    tcase_add_test(tc, spd_corruption_refused);
    tcase_add_test(tc, splits_are_disjoint_and_deterministic);
    tcase_add_test(tc, copy_game_within_one_dataset);
    tcase_add_test(tc, import_logs_through_the_callback);
    tcase_add_test(tc, batches_reproducible_and_symmetric);
    tcase_add_test(tc, sampler_rating_filter);
    tcase_add_test(tc, sampler_draws_only_the_positions_given);
    tcase_add_test(tc, sampler_batch_number_restores_the_stream);
    tcase_add_test(tc, neighbour_planes);
    tcase_add_test(tc, cgos_slice_matches_index);
    tcase_add_test(tc, cgos_full_import);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (tmpdir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_data: could not remove %s\n", tmpdir);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
