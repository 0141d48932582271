/* The neighbour planes of a training batch (lib/train/neighbour_batch.h)
 * over real CGOS games (random games when the data is absent) and a `.spn`
 * file pre-computed from a two-half retriever: the planes against a naive
 * recomputation, crafted files refused, the §2.3 regularisations, and the
 * generator's determinism. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "semiparam.h"
#include "train/neighbour_batch.h"
#include "train/train_internal.h"

#define DIM 8
#define K 4
#define AREA 81
#define PLANES ((size_t)SP_NEIGHBOUR_PLANES * AREA)

static char tmpdir[256];
static sp_dataset *ds;
static char spn_path[512];
static uint64_t *train_pos; /* the file's query positions, in its row order */
static size_t train_count;
static uint64_t test_position; /* a position of a test game: in no row */
static char spn_id_path[512];  /* the same rows found by a retriever of embedder EMBEDDER */
#define EMBEDDER 0xe5e5e5e5e5e5e5e5ull

/* The set-up runs before the tests, where libcheck's assertions cannot report. */
#define REQUIRE(x)                                                                                         \
    do {                                                                                                   \
        if (!(x)) {                                                                                        \
            fprintf(stderr, "test_train_neighbours: %s:%d: %s failed (%s)\n", __FILE__, __LINE__, #x,      \
                    sp_last_error());                                                                      \
            exit(EXIT_FAILURE);                                                                            \
        }                                                                                                  \
    } while (0)

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int at;
    at = (at + 1) % 4;
    snprintf(buf[at], sizeof buf[at], "%s/%s", tmpdir, name);
    return buf[at];
}

static uint64_t game_of(uint64_t position)
{
    uint64_t game;
    ck_assert_int_eq(sp_dataset_position_locate(ds, position, &game, NULL), SP_OK);
    return game;
}

/* 120 real games, or random ones without the shared data. */
static void load_games(void)
{
    REQUIRE(sp_dataset_create(&ds, 9) == SP_OK);
    const char *dir = getenv("SP_DATA_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/go9/cgos9x9_2015.sgf.xz", dir ? dir : "../shared/data");
    if (access(path, R_OK) == 0) {
        sp_import_options io;
        sp_import_options_init(&io, SP_IMPORT_OPTIONS_VERSION);
        io.max_games = 120;
        REQUIRE(sp_dataset_import(ds, path, &io, NULL) == SP_OK);
        return;
    }
    fprintf(stderr, "test_train_neighbours: %s not found, random games instead\n", path);
    sp_game *g;
    sp_rng *rng;
    REQUIRE(sp_game_create(&g, NULL) == SP_OK);
    REQUIRE(sp_rng_create(&rng, 3) == SP_OK);
    for (int i = 0; i < 120; i++) {
        sp_game_clear(g);
        for (int m = 0; m < 20 + i % 30; m++) {
            int move;
            REQUIRE(sp_game_random_move(g, rng, &move) == SP_OK);
            REQUIRE(sp_game_play(g, move) == SP_OK);
        }
        sp_game_set_info(g, "RE", i % 2 ? "B+R" : "W+R");
        REQUIRE(sp_dataset_add_game(ds, g, "test", 0, NULL) == SP_OK);
    }
    sp_rng_free(rng);
    sp_game_free(g);
}

/* Made once before the tests fork: the dataset, and the .spn of every
 * training position against the other half, as training makes it. */
static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp_test_train_neighbours.XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    load_games();
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    so.test_fraction = 0.1f;
    REQUIRE(sp_dataset_positions(ds, SP_PART_TRAIN, &so, NULL, 0, &train_count) == SP_ERR_BUFFER_TOO_SMALL);
    train_pos = malloc(train_count * sizeof *train_pos);
    REQUIRE(sp_dataset_positions(ds, SP_PART_TRAIN, &so, train_pos, train_count, &train_count) == SP_OK);
    REQUIRE(train_count > 1000);
    size_t test_count;
    uint64_t first_test[1];
    int rc = sp_dataset_positions(ds, SP_PART_TEST, &so, first_test, 1, &test_count);
    REQUIRE(rc == SP_OK || rc == SP_ERR_BUFFER_TOO_SMALL);
    REQUIRE(test_count > 0);
    test_position = first_test[0];
    /* Rows in a shuffled order: the index must not rely on sorted rows. */
    sp_rng *rng;
    REQUIRE(sp_rng_create(&rng, 17) == SP_OK);
    for (size_t i = train_count - 1; i > 0; i--) {
        size_t j = sp_rng_below(rng, (uint32_t)(i + 1));
        uint64_t t = train_pos[i];
        train_pos[i] = train_pos[j];
        train_pos[j] = t;
    }
    uint32_t *games = malloc(train_count * sizeof *games);
    float *keys = malloc(train_count * DIM * sizeof *keys);
    for (size_t i = 0; i < train_count; i++) {
        uint64_t game;
        REQUIRE(sp_dataset_position_locate(ds, train_pos[i], &game, NULL) == SP_OK);
        games[i] = (uint32_t)game;
        for (int d = 0; d < DIM; d++)
            keys[i * DIM + d] = (float)sp_rng_uniform(rng);
    }
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.factory = "Flat";
    ro.halves = 2;
    ro.threads = 1;
    sp_retriever *r;
    REQUIRE(sp_retriever_build(&r, keys, train_pos, games, train_count, DIM, &ro) == SP_OK);
    snprintf(spn_path, sizeof spn_path, "%s/train.spn", tmpdir);
    REQUIRE(sp_retriever_precompute(r, keys, train_pos, games, train_count, DIM, K, NULL, spn_path) == SP_OK);
    sp_retriever_free(r);
    ro.embedder_id = EMBEDDER;
    REQUIRE(sp_retriever_build(&r, keys, train_pos, games, train_count, DIM, &ro) == SP_OK);
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = EMBEDDER;
    snprintf(spn_id_path, sizeof spn_id_path, "%s/train-id.spn", tmpdir);
    REQUIRE(sp_retriever_precompute(r, keys, train_pos, games, train_count, DIM, K, &q, spn_id_path) == SP_OK);
    sp_retriever_free(r);
    sp_rng_free(rng);
    free(keys);
    free(games);
}

static void teardown(void)
{
    sp_dataset_free(ds);
    free(train_pos);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_train_neighbours: could not remove %s\n", tmpdir);
}

static sp_neighbours *open_file(const char *path)
{
    sp_neighbours *f;
    ck_assert_msg(sp_neighbours_open(&f, path) == SP_OK, "%s", sp_last_error());
    return f;
}

static sp__neighbour_batch *make(const sp_neighbours *f, const sp__neighbour_options *o)
{
    sp__neighbour_batch *nb;
    ck_assert_msg(sp__neighbour_batch_create(&nb, ds, f, o) == SP_OK, "%s", sp_last_error());
    return nb;
}

/* The file's row of a position by a linear scan, and its k ids. */
static uint64_t naive_row(const sp_neighbours *f, uint64_t position, uint64_t *ids)
{
    for (uint64_t r = 0; r < sp_neighbours_count(f); r++) {
        uint64_t q;
        ck_assert_int_eq(sp_neighbours_row(f, r, &q, ids, NULL), SP_OK);
        if (q == position)
            return r;
    }
    ck_abort_msg("position %llu has no row", (unsigned long long)position);
    return 0;
}

/* The planes a neighbour id stands for: zeros for "no such key". */
static void naive_planes(uint64_t id, int symmetry, float *out)
{
    if (id == SP_RETRIEVER_NO_ID) {
        memset(out, 0, PLANES * sizeof *out);
        return;
    }
    ck_assert_int_eq(sp_dataset_neighbour_planes(ds, id, symmetry, out, PLANES), SP_OK);
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return 0;
    return 1;
}

/* n samples spread over the file's rows, symmetries 0..7 in turn. */
static void samples(int n, uint64_t *positions, int32_t *symmetry)
{
    for (int i = 0; i < n; i++) {
        positions[i] = train_pos[((size_t)i * 7919u) % train_count];
        symmetry[i] = i % 8;
    }
}

static float *fill(const sp__neighbour_batch *nb, const sp__neighbour_rng *rng, const uint64_t *positions,
                   const int32_t *symmetry, int n)
{
    size_t floats = (size_t)n * sp__neighbour_batch_sample_floats(nb);
    float *out = malloc(floats * sizeof *out);
    ck_assert_msg(sp__neighbour_batch_fill(nb, rng, positions, symmetry, n, 0, out, floats) == SP_OK, "%s",
                  sp_last_error());
    return out;
}

/* A batch with options o equals `want`. */
static void fills_the_same(const sp_neighbours *f, const sp__neighbour_options *o, const sp__neighbour_rng *rng,
                           const uint64_t *positions, const int32_t *symmetry, int n, const float *want)
{
    sp__neighbour_batch *nb = make(f, o);
    float *got = fill(nb, rng, positions, symmetry, n);
    ck_assert_mem_eq(got, want, (size_t)n * sp__neighbour_batch_sample_floats(nb) * sizeof *got);
    free(got);
    sp__neighbour_batch_free(nb);
}

START_TEST(planes_match_a_naive_recomputation)
{
    sp_neighbours *f = open_file(spn_path);
    ck_assert_uint_eq(sp_neighbours_count(f), train_count);
    enum { N = 3, n = 40 };
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = N;
    sp__neighbour_batch *nb = make(f, &o);
    ck_assert_uint_eq(sp__neighbour_batch_sample_floats(nb), N * PLANES);
    uint64_t positions[n];
    int32_t symmetry[n];
    samples(n, positions, symmetry);
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 1);
    float *got = fill(nb, &rng, positions, symmetry, n);
    float *want = malloc(PLANES * sizeof *want), *plain = malloc(PLANES * sizeof *plain);
    int turned = 0;
    for (int i = 0; i < n; i++) {
        uint64_t ids[K], row;
        uint64_t naive = naive_row(f, positions[i], ids);
        ck_assert_int_eq(sp__neighbour_batch_row(nb, positions[i], &row), SP_OK);
        ck_assert_uint_eq(row, naive);
        for (int j = 0; j < N; j++) {
            ck_assert_uint_ne(game_of(ids[j]), game_of(positions[i]));
            naive_planes(ids[j], symmetry[i], want);
            const float *at = got + ((size_t)i * N + j) * PLANES;
            ck_assert_msg(memcmp(at, want, PLANES * sizeof *at) == 0, "sample %d neighbour %d", i, j);
            ck_assert(!all_zero(at, PLANES));
            naive_planes(ids[j], 0, plain);
            turned += memcmp(plain, want, PLANES * sizeof *plain) != 0;
        }
    }
    /* The symmetries did turn the planes (the comparison would see them ignored). */
    ck_assert_int_gt(turned, n);
    /* More threads, the same batch. */
    o.threads = 3;
    fills_the_same(f, &o, &rng, positions, symmetry, n, got);
    free(want);
    free(plain);
    free(got);
    sp__neighbour_batch_free(nb);
    sp_neighbours_free(f);
}
END_TEST

/* A .spn written by hand from docs/file-formats.md: rows x (query, k ids,
 * k distances), the header with both CRC-32s. */
static void write_spn(const char *path, uint64_t rows, uint32_t k, const uint64_t *queries, const uint64_t *ids)
{
    size_t row_bytes = 8 + 12 * (size_t)k, length = 64 + rows * row_bytes;
    unsigned char *data = calloc(1, length);
    for (uint64_t r = 0; r < rows; r++) {
        unsigned char *at = data + 64 + r * row_bytes;
        memcpy(at, &queries[r], 8);
        memcpy(at + 8, ids + r * k, 8 * (size_t)k);
        for (uint32_t j = 0; j < k; j++) {
            float d = (float)j;
            memcpy(at + 8 + 8 * (size_t)k + 4 * j, &d, 4);
        }
    }
    memcpy(data, "SPNEIGH\x1a", 8);
    uint32_t version = 1, mark = 0x0A0B0C0Du;
    uint64_t embedder = 0;
    memcpy(data + 8, &version, 4);
    memcpy(data + 12, &mark, 4);
    memcpy(data + 16, &rows, 8);
    memcpy(data + 24, &k, 4);
    memcpy(data + 32, &embedder, 8);
    uint32_t body = (uint32_t)crc32(0, data + 64, (uInt)(length - 64));
    memcpy(data + 40, &body, 4);
    uint32_t head = (uint32_t)crc32(0, data, 64);
    memcpy(data + 44, &head, 4);
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fwrite(data, 1, length, out), length);
    ck_assert_int_eq(fclose(out), 0);
    free(data);
}

/* The rows of the real file as arrays, for crafting. */
static void read_rows(uint64_t **queries, uint64_t **ids)
{
    sp_neighbours *f = open_file(spn_path);
    *queries = malloc(train_count * sizeof **queries);
    *ids = malloc(train_count * K * sizeof **ids);
    for (uint64_t r = 0; r < train_count; r++)
        ck_assert_int_eq(sp_neighbours_row(f, r, &(*queries)[r], *ids + r * K, NULL), SP_OK);
    sp_neighbours_free(f);
}

/* The fill of position's sample fails with `status` and a message holding both texts. */
static void refused(const sp__neighbour_batch *nb, uint64_t position, int status, const char *text1,
                    const char *text2)
{
    float *out = malloc(sp__neighbour_batch_sample_floats(nb) * sizeof *out);
    int32_t symmetry = 5;
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 1);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, &position, &symmetry, 1, 0, out,
                                              sp__neighbour_batch_sample_floats(nb)), status);
    ck_assert_msg(strstr(sp_last_error(), text1) && strstr(sp_last_error(), text2), "%s", sp_last_error());
    free(out);
}

START_TEST(crafted_files_are_refused)
{
    uint64_t *queries, *ids;
    read_rows(&queries, &ids);
    const uint64_t positions = sp_dataset_position_count(ds);
    /* Row 3: an id past the dataset; row 5: a position of the query's own
     * game; row 8: the largest id but the marker; row 9: "no such key" in slot 1. */
    uint64_t own = queries[5] == 0 || game_of(queries[5] - 1) != game_of(queries[5]) ? queries[5] + 1
                                                                                        : queries[5] - 1;
    ck_assert_uint_eq(game_of(own), game_of(queries[5]));
    ids[3 * K + 2] = positions;
    ids[5 * K + 1] = own;
    ids[8 * K + 0] = SP_RETRIEVER_NO_ID - 1;
    ids[9 * K + 1] = SP_RETRIEVER_NO_ID;
    const char *path = tmp_path("crafted.spn");
    write_spn(path, train_count, K, queries, ids);
    sp_neighbours *f = open_file(path);
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = K;
    sp__neighbour_batch *nb = make(f, &o);
    char row[32], id[32];
    snprintf(row, sizeof row, "row 3:");
    snprintf(id, sizeof id, "%llu", (unsigned long long)positions);
    refused(nb, queries[3], SP_ERR_FORMAT, row, id);
    snprintf(row, sizeof row, "row 5:");
    snprintf(id, sizeof id, "%llu", (unsigned long long)own);
    refused(nb, queries[5], SP_ERR_FORMAT, row, id);
    snprintf(row, sizeof row, "row 8:");
    snprintf(id, sizeof id, "%llu", (unsigned long long)(SP_RETRIEVER_NO_ID - 1));
    refused(nb, queries[8], SP_ERR_FORMAT, row, id);
    /* Under dropout the bad ids are refused all the same. */
    o.dropout = 1.0f;
    sp__neighbour_batch *dropped = make(f, &o);
    snprintf(row, sizeof row, "row 5:");
    snprintf(id, sizeof id, "%llu", (unsigned long long)own);
    refused(dropped, queries[5], SP_ERR_FORMAT, row, id);
    sp__neighbour_batch_free(dropped);
    /* The marker gives zeros, the other slots their planes. */
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 1);
    int32_t symmetry = 2;
    float *got = fill(nb, &rng, &queries[9], &symmetry, 1);
    float *want = malloc(PLANES * sizeof *want);
    for (int j = 0; j < K; j++) {
        naive_planes(ids[9 * K + j], symmetry, want);
        ck_assert_mem_eq(got + (size_t)j * PLANES, want, PLANES * sizeof *want);
    }
    ck_assert(all_zero(got + PLANES, PLANES));
    ck_assert(!all_zero(got, PLANES));
    free(got);
    /* In a batch, the first failing sample is named, whatever the threads. */
    uint64_t batch[6] = { queries[9], queries[10], queries[5], queries[11], queries[3], queries[12] };
    float *out = malloc(6 * sp__neighbour_batch_sample_floats(nb) * sizeof *out);
    for (int threads = 1; threads <= 4; threads += 3) {
        o.threads = threads;
        o.dropout = 0.0f;
        sp__neighbour_batch *t = make(f, &o);
        ck_assert_int_eq(sp__neighbour_batch_fill(t, &rng, batch, NULL, 6, 0, out,
                                                  6 * sp__neighbour_batch_sample_floats(t)), SP_ERR_FORMAT);
        ck_assert_msg(strstr(sp_last_error(), "sample 2:") && strstr(sp_last_error(), "row 5:"), "%s",
                      sp_last_error());
        sp__neighbour_batch_free(t);
    }
    free(out);
    sp__neighbour_batch_free(nb);
    sp_neighbours_free(f);
    /* A query position past the dataset, and a position in two rows. */
    sp__neighbour_batch *none = (sp__neighbour_batch *)1;
    queries[7] = positions + 3;
    write_spn(path, train_count, K, queries, ids);
    f = open_file(path);
    ck_assert_int_eq(sp__neighbour_batch_create(&none, ds, f, NULL), SP_ERR_FORMAT);
    ck_assert_ptr_null(none);
    snprintf(id, sizeof id, "%llu", (unsigned long long)(positions + 3));
    ck_assert_msg(strstr(sp_last_error(), "row 7:") && strstr(sp_last_error(), id), "%s", sp_last_error());
    sp_neighbours_free(f);
    queries[7] = queries[2];
    write_spn(path, train_count, K, queries, ids);
    f = open_file(path);
    ck_assert_int_eq(sp__neighbour_batch_create(&none, ds, f, NULL), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "rows 2 and 7"), "%s", sp_last_error());
    sp_neighbours_free(f);
    free(want);
    free(queries);
    free(ids);
}
END_TEST

START_TEST(absent_positions_and_bad_arguments_are_refused)
{
    sp_neighbours *f = open_file(spn_path);
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    sp__neighbour_batch *nb = (sp__neighbour_batch *)1;
    /* N > k, and options out of range. */
    o.neighbours = K + 1;
    ck_assert_int_eq(sp__neighbour_batch_create(&nb, ds, f, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(nb);
    ck_assert_msg(strstr(sp_last_error(), "5 neighbours") && strstr(sp_last_error(), "4 per position"), "%s",
                  sp_last_error());
    o.neighbours = K;
    sp__neighbour_batch_free(make(f, &o)); /* N = k is fine */
    sp__neighbour_options bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = (sp__neighbour_options)SP__NEIGHBOUR_OPTIONS_INIT;
    bad[0].neighbours = 0;
    bad[1].dropout = 1.5f;
    bad[2].dropout = NAN;
    bad[3].randomise = -0.1f;
    bad[4].zero_neighbours = 2;
    bad[5].threads = 0;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(sp__neighbour_batch_create(&nb, ds, f, &bad[i]), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_create(NULL, ds, f, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_create(&nb, NULL, f, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_create(&nb, ds, NULL, NULL), SP_ERR_INVALID_ARG);
    sp__neighbour_batch_free(NULL);
    ck_assert_uint_eq(sp__neighbour_batch_sample_floats(NULL), 0);
    /* A test position has no row: named, whatever the options. */
    char id[32];
    snprintf(id, sizeof id, "position %llu", (unsigned long long)test_position);
    for (int zero = 0; zero <= 1; zero++) {
        o = (sp__neighbour_options)SP__NEIGHBOUR_OPTIONS_INIT;
        o.zero_neighbours = zero;
        nb = make(f, &o);
        uint64_t row;
        ck_assert_int_eq(sp__neighbour_batch_row(nb, test_position, &row), SP_ERR_INVALID_ARG);
        refused(nb, test_position, SP_ERR_INVALID_ARG, id, "no row");
        sp__neighbour_batch_free(nb);
    }
    /* Fill's arguments. */
    nb = make(f, NULL);
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 1);
    float out[2 * PLANES];
    uint64_t pos[2] = { train_pos[0], train_pos[1] };
    int32_t sym[2] = { 0, 8 };
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, pos, NULL, 2, 0, out, 2 * PLANES - 1),
                     SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, pos, sym, 2, 0, out, 2 * PLANES), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "symmetry 8"), "%s", sp_last_error());
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, pos, NULL, 2, 0, out, 2 * PLANES), SP_OK);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, NULL, pos, NULL, 2, 0, out, 2 * PLANES), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, NULL, NULL, 2, 0, out, 2 * PLANES), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, pos, NULL, -1, 0, out, 2 * PLANES), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, pos, NULL, 2, -1, out, 2 * PLANES), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, NULL, NULL, 0, 0, NULL, 0), SP_OK);
    sp__neighbour_batch_free(nb);
    sp_neighbours_free(f);
}
END_TEST

START_TEST(dropout_and_zero_neighbours)
{
    sp_neighbours *f = open_file(spn_path);
    enum { n = 64 };
    uint64_t positions[n];
    int32_t symmetry[n];
    samples(n, positions, symmetry);
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 9);
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = K;
    sp__neighbour_batch *plain = make(f, &o);
    float *base = fill(plain, &rng, positions, symmetry, n);
    const size_t floats = (size_t)n * K * PLANES;
    /* Rate 0: as without dropout. */
    o.dropout = 0.0f;
    o.randomise = 0.0f;
    fills_the_same(f, &o, &rng, positions, symmetry, n, base);
    sp__neighbour_batch *nb;
    float *got;
    /* Rate 1, and the baseline without neighbours: every plane zero. */
    for (int mode = 0; mode < 2; mode++) {
        o = (sp__neighbour_options)SP__NEIGHBOUR_OPTIONS_INIT;
        o.neighbours = K;
        if (mode)
            o.zero_neighbours = 1;
        else
            o.dropout = 1.0f;
        nb = make(f, &o);
        got = fill(nb, &rng, positions, symmetry, n);
        ck_assert(all_zero(got, floats));
        free(got);
        sp__neighbour_batch_free(nb);
    }
    /* Rate 0.5: about half the slots zero, the others untouched. */
    o = (sp__neighbour_options)SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = K;
    o.dropout = 0.5f;
    nb = make(f, &o);
    got = fill(nb, &rng, positions, symmetry, n);
    int zeroed = 0;
    for (int s = 0; s < n * K; s++) {
        const float *at = got + (size_t)s * PLANES;
        if (all_zero(at, PLANES))
            zeroed++;
        else
            ck_assert_mem_eq(at, base + (size_t)s * PLANES, PLANES * sizeof *at);
    }
    ck_assert_int_gt(zeroed, n * K * 3 / 10);
    ck_assert_int_lt(zeroed, n * K * 7 / 10);
    free(got);
    sp__neighbour_batch_free(nb);
    sp__neighbour_batch_free(plain);
    free(base);
    sp_neighbours_free(f);
}
END_TEST

/* A hash of a slot's planes, to find which ids could have given them. */
static uint64_t planes_hash(const float *x)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < PLANES * sizeof *x; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

typedef struct candidate {
    uint64_t hash, game, row_game;
} candidate;

START_TEST(randomisation_avoids_the_own_game)
{
    sp_neighbours *f = open_file(spn_path);
    uint64_t rows = sp_neighbours_count(f);
    /* Every slot's possible neighbours: (planes, its game, its row's game). */
    candidate *cand = malloc(rows * K * sizeof *cand);
    float *planes = malloc(PLANES * sizeof *planes);
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t q, ids[K];
        ck_assert_int_eq(sp_neighbours_row(f, r, &q, ids, NULL), SP_OK);
        for (int j = 0; j < K; j++) {
            naive_planes(ids[j], 0, planes);
            cand[(size_t)j * rows + r] = (candidate){ planes_hash(planes), game_of(ids[j]), game_of(q) };
        }
    }
    enum { n = 512 };
    uint64_t positions[n];
    for (int i = 0; i < n; i++)
        positions[i] = train_pos[((size_t)i * 7919u) % train_count];
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = K;
    sp__neighbour_batch *plain = make(f, &o);
    o.randomise = 1.0f;
    sp__neighbour_batch *nb = make(f, &o);
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 4);
    float *base = fill(plain, &rng, positions, NULL, n);
    float *got = fill(nb, &rng, positions, NULL, n);
    int changed = 0;
    for (int i = 0; i < n; i++) {
        uint64_t game = game_of(positions[i]);
        for (int j = 0; j < K; j++) {
            const float *at = got + ((size_t)i * K + j) * PLANES;
            ck_assert(!all_zero(at, PLANES));
            changed += memcmp(at, base + ((size_t)i * K + j) * PLANES, PLANES * sizeof *at) != 0;
            /* Some same-index neighbour of a row of another game, itself of another game, has these planes. */
            uint64_t h = planes_hash(at);
            int found = 0;
            for (uint64_t r = 0; r < rows && !found; r++) {
                const candidate *c = &cand[(size_t)j * rows + r];
                found = c->hash == h && c->game != game && c->row_game != game;
            }
            ck_assert_msg(found, "sample %d slot %d: no neighbour of another game gives its planes", i, j);
        }
    }
    ck_assert_int_gt(changed, n * K * 9 / 10);
    /* Rate 0 changes nothing. */
    o.randomise = 0.0f;
    fills_the_same(f, &o, &rng, positions, NULL, n, base);
    free(got);
    free(base);
    free(planes);
    free(cand);
    sp__neighbour_batch_free(nb);
    sp__neighbour_batch_free(plain);
    sp_neighbours_free(f);
}
END_TEST

START_TEST(generator_state_decides_the_output)
{
    sp_neighbours *f = open_file(spn_path);
    enum { n = 24, batches = 4 };
    sp__neighbour_options o = SP__NEIGHBOUR_OPTIONS_INIT;
    o.neighbours = K;
    o.dropout = 0.3f;
    o.randomise = 0.4f;
    sp__neighbour_batch *nb = make(f, &o);
    o.threads = 4;
    sp__neighbour_batch *nb4 = make(f, &o);
    const size_t floats = (size_t)n * K * PLANES;
    uint64_t positions[batches][n];
    int32_t symmetry[batches][n];
    for (int b = 0; b < batches; b++)
        for (int i = 0; i < n; i++) {
            positions[b][i] = train_pos[((size_t)(b * n + i) * 104729u) % train_count];
            symmetry[b][i] = (b + i) % 8;
        }
    /* An uninterrupted run. */
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, 77);
    float *run[batches];
    sp__neighbour_rng saved;
    for (int b = 0; b < batches; b++) {
        if (b == 2)
            saved = rng;
        run[b] = fill(nb, &rng, positions[b], symmetry[b], n);
        sp__neighbour_rng_advance(&rng);
    }
    /* Consecutive batches differ, as do other seeds. */
    ck_assert(memcmp(run[0], run[1], floats * sizeof(float)) != 0);
    float *again = fill(nb, &saved, positions[0], symmetry[0], n);
    ck_assert(memcmp(again, run[0], floats * sizeof(float)) != 0);
    free(again);
    sp__neighbour_rng other;
    sp__neighbour_rng_seed(&other, 78);
    again = fill(nb, &other, positions[0], symmetry[0], n);
    ck_assert(memcmp(again, run[0], floats * sizeof(float)) != 0);
    free(again);
    /* Resumed from the state saved before batch 2 (a copy through bytes, as a
     * checkpoint keeps it), with 4 threads: the same continuation. */
    unsigned char bytes[sizeof saved];
    memcpy(bytes, &saved, sizeof saved);
    sp__neighbour_rng resumed;
    memcpy(&resumed, bytes, sizeof resumed);
    for (int b = 2; b < batches; b++) {
        again = fill(nb4, &resumed, positions[b], symmetry[b], n);
        ck_assert_mem_eq(again, run[b], floats * sizeof(float));
        free(again);
        sp__neighbour_rng_advance(&resumed);
    }
    /* Cut into slices at their rows of the global batch: the same batch. */
    sp__neighbour_rng_seed(&rng, 77);
    float *sliced = malloc(floats * sizeof *sliced);
    const size_t per = sp__neighbour_batch_sample_floats(nb);
    for (int from = 0; from < n; from += 10) {
        int count = n - from < 10 ? n - from : 10;
        ck_assert_int_eq(sp__neighbour_batch_fill(nb, &rng, positions[0] + from, symmetry[0] + from, count, from,
                                                  sliced + (size_t)from * per, (size_t)count * per), SP_OK);
    }
    ck_assert_mem_eq(sliced, run[0], floats * sizeof(float));
    free(sliced);
    for (int b = 0; b < batches; b++)
        free(run[b]);
    sp__neighbour_batch_free(nb4);
    sp__neighbour_batch_free(nb);
    sp_neighbours_free(f);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* The trainer and the evaluation of a retrieval model (train.h) */

enum { T_NB = 2 };

/* A tiny retrieval model: 4 channels, 2 of them the neighbours'. */
static sp_model *retrieval_model(int neighbours, uint64_t seed)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    o.history = 1;
    o.channels = 4;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.policy_channels = 1;
    o.value_channels = 1;
    o.value_hidden = 4;
    o.neighbours = neighbours;
    o.neighbour_channels = 2;
    o.neighbour_blocks = 1;
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = seed;
    sp_model *m = NULL;
    ck_assert_msg(sp_model_create(&m, &o, &nn) == SP_OK, "%s", sp_last_error());
    return m;
}

static sp_trainer_options trainer_opts(const sp_neighbours *f)
{
    sp_trainer_options o;
    sp_trainer_options_init(&o, SP_TRAINER_OPTIONS_VERSION);
    o.batch_size = 8;
    o.unroll = 2;
    o.test_fraction = 0.1f; /* the split the file was made with */
    o.learning_rate = 0.02;
    o.neighbours = f;
    return o;
}

static sp_trainer *trainer_open(sp_model *m, const sp_trainer_options *o)
{
    sp_trainer *t = NULL;
    ck_assert_msg(sp_trainer_create(&t, m, ds, o) == SP_OK, "%s", sp_last_error());
    return t;
}

static float *param_values(const sp_model *m, const char *name, size_t *count)
{
    for (size_t i = 0; i < m->net.ps.count; i++)
        if (strcmp(m->net.ps.items[i]->name, name) == 0) {
            *count = m->net.ps.items[i]->count;
            float *v = malloc(*count * sizeof *v);
            ck_assert_int_eq(sp__param_read(m->net.ps.items[i], v), SP_OK);
            return v;
        }
    ck_abort_msg("no parameter %s", name);
    return NULL;
}

static float *all_values(const sp_model *m, size_t *count)
{
    *count = sp__params_total(&m->net.ps);
    float *v = malloc(*count * sizeof *v), *at = v;
    for (size_t i = 0; i < m->net.ps.count; i++) {
        ck_assert_int_eq(sp__param_read(m->net.ps.items[i], at), SP_OK);
        at += m->net.ps.items[i]->count;
    }
    return v;
}

/* The trainer draws the file's positions only, feeds their neighbours (the
 * loss moves with them), records the file's embedder id in the model, and
 * the model saved after training keeps it. */
START_TEST(trainer_draws_the_files_positions)
{
    sp_neighbours *f = open_file(spn_id_path);
    sp_model *m = retrieval_model(T_NB, 5);
    sp_trainer_options o = trainer_opts(f);
    sp_trainer *t = trainer_open(m, &o);
    ck_assert_uint_eq(sp_model_embedder_id(m), EMBEDDER);
    ck_assert_uint_eq(sp_sampler_position_count(t->sampler), train_count);
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    for (int step = 0; step < 4; step++) {
        ck_assert_msg(sp_trainer_run(t, 1, &st) == SP_OK, "%s", sp_last_error());
        ck_assert(isfinite(st.loss));
        for (int i = 0; i < o.batch_size; i++) {
            uint64_t row;
            ck_assert_msg(sp__neighbour_batch_row(t->nb, t->positions[i], &row) == SP_OK, "drew %llu",
                          (unsigned long long)t->positions[i]);
        }
    }
    sp_trainer_free(t);
    const char *path = tmp_path("trained.spm");
    ck_assert_int_eq(sp_model_save(m, path), SP_OK);
    sp_model *back = NULL;
    ck_assert_int_eq(sp_model_load(&back, path, NULL), SP_OK);
    ck_assert_uint_eq(sp_model_embedder_id(back), EMBEDDER);
    ck_assert_int_eq(sp_model_check_retrieval(back, EMBEDDER, T_NB), SP_OK);
    sp_model_free(back);
    sp_model_free(m);
    sp_neighbours_free(f);
}
END_TEST

/* Six steps in one run, and three, a checkpoint, a new model and trainer,
 * a resume and three more, end on the same bits, with dropout,
 * randomisation and the regulariser on; a resume with another dropout rate
 * is refused. */
START_TEST(trainer_resume_with_neighbours_is_exact)
{
    sp_neighbours *f = open_file(spn_id_path);
    sp_trainer_options o = trainer_opts(f);
    o.neighbour_dropout = 0.3f;
    o.neighbour_randomise = 0.3f;
    o.neighbour_regularisation = 0.5f;
    sp_model *a = retrieval_model(T_NB, 7), *b = retrieval_model(T_NB, 7);
    sp_trainer *ta = trainer_open(a, &o), *tb = trainer_open(b, &o);
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    ck_assert_int_eq(sp_trainer_run(ta, 6, &st), SP_OK);
    ck_assert_msg(st.regularisation > 0, "the regulariser is not reported");
    ck_assert_int_eq(sp_trainer_run(tb, 3, NULL), SP_OK);
    const char *path = tmp_path("resume.spm");
    ck_assert_int_eq(sp_trainer_save(tb, path), SP_OK);
    sp_trainer_free(tb);
    sp_model_free(b);
    b = retrieval_model(T_NB, 99);
    tb = trainer_open(b, &o);
    ck_assert_msg(sp_trainer_resume(tb, path) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(sp_trainer_run(tb, 3, NULL), SP_OK);
    size_t na, nb;
    float *va = all_values(a, &na), *vb = all_values(b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(!memcmp(va, vb, na * sizeof *va), "a resumed run ends elsewhere");
    sp_trainer_free(tb);
    o.neighbour_dropout = 0.2f;
    tb = trainer_open(b, &o);
    ck_assert_int_eq(sp_trainer_resume(tb, path), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "neighbour_dropout"), "%s", sp_last_error());
    free(va);
    free(vb);
    sp_trainer_free(tb);
    sp_trainer_free(ta);
    sp_model_free(a);
    sp_model_free(b);
    sp_neighbours_free(f);
}
END_TEST

/* With every x_i = 0 (and no weight decay) the neighbour network's stem
 * weights on the neighbour planes get no gradient and stay as they were;
 * with the file's neighbours they move. */
START_TEST(zero_neighbours_leave_their_weights_alone)
{
    sp_neighbours *f = open_file(spn_path);
    for (int zero = 0; zero <= 1; zero++) {
        sp_model *m = retrieval_model(T_NB, 11);
        size_t n;
        float *before = param_values(m, "nbr.stem.conv.weight", &n);
        sp_trainer_options o = trainer_opts(f);
        o.weight_decay = 0;
        o.zero_neighbours = zero;
        sp_trainer *t = trainer_open(m, &o);
        ck_assert_int_eq(sp_trainer_run(t, 4, NULL), SP_OK);
        sp_trainer_free(t);
        float *after = param_values(m, "nbr.stem.conv.weight", &n);
        /* Weights (out, in, 3, 3): inputs 0..1 read o_e, 2..18 the neighbour planes. */
        const size_t in = 2 + SP_NEIGHBOUR_PLANES;
        int moved = 0;
        for (size_t w = 0; w < n; w++)
            if ((w / 9) % in >= 2)
                moved += before[w] != after[w];
        if (zero)
            ck_assert_msg(moved == 0, "%d weights on zero planes moved", moved);
        else
            ck_assert_msg(moved > 0, "no weight on the neighbour planes moved");
        free(before);
        free(after);
        sp_model_free(m);
    }
    sp_neighbours_free(f);
}
END_TEST

START_TEST(trainer_refuses_what_does_not_fit)
{
    sp_neighbours *f = open_file(spn_id_path);
    sp_model *m = retrieval_model(T_NB, 13), *plain = retrieval_model(0, 13);
    sp_trainer *t = NULL;
    sp_trainer_options o = trainer_opts(NULL);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "options.neighbours"), "%s", sp_last_error());
    o = trainer_opts(f);
    ck_assert_int_eq(sp_trainer_create(&t, plain, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "reads no neighbours"), "%s", sp_last_error());
    o = trainer_opts(NULL);
    o.zero_neighbours = 1;
    ck_assert_int_eq(sp_trainer_create(&t, plain, ds, &o), SP_ERR_INVALID_ARG);
    o = trainer_opts(f);
    o.neighbour_dropout = 1.5f;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "neighbour_dropout"), "%s", sp_last_error());
    o.neighbour_dropout = 0;
    o.neighbour_randomise = -0.1f;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    o.neighbour_randomise = 0;
    o.neighbour_regularisation = NAN;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    o.neighbour_regularisation = 0;
    o.zero_neighbours = 2;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    /* A model trained on another embedder's neighbours. */
    o.zero_neighbours = 0;
    ck_assert_int_eq(sp_model_set_embedder(m, 0x1234), SP_OK);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "0000000000001234"), "%s", sp_last_error());
    ck_assert_ptr_null(t);
    /* More neighbours than the file has. */
    sp_model *wide = retrieval_model(K + 1, 13);
    ck_assert_int_eq(sp_trainer_create(&t, wide, ds, &o), SP_ERR_INVALID_ARG);
    sp_model_free(wide);
    sp_model_free(plain);
    sp_model_free(m);
    sp_neighbours_free(f);
}
END_TEST

/* Each row's query position and ids, ordered by position (for lookups). */
typedef struct row_copy {
    uint64_t position, ids[K];
} row_copy;

static int by_position(const void *a, const void *b)
{
    const row_copy *x = a, *y = b;
    return x->position < y->position ? -1 : x->position > y->position;
}

static row_copy *sorted_rows(const sp_neighbours *f)
{
    uint64_t n = sp_neighbours_count(f);
    row_copy *rows = malloc(n * sizeof *rows);
    for (uint64_t r = 0; r < n; r++)
        ck_assert_int_eq(sp_neighbours_row(f, r, &rows[r].position, rows[r].ids, NULL), SP_OK);
    qsort(rows, n, sizeof *rows, by_position);
    return rows;
}

/* Step 0's top-1 and value MSE of sp_model_evaluate over the file's
 * positions of the training part, against the public inference with each
 * position's planes and its first N neighbours' planes, recomputed here. */
START_TEST(evaluation_with_neighbours_matches_inference)
{
    sp_neighbours *f = open_file(spn_path);
    sp_model *m = retrieval_model(T_NB, 17);
    sp_trainer_options to = trainer_opts(f);
    sp_trainer *t = trainer_open(m, &to);
    ck_assert_int_eq(sp_trainer_run(t, 5, NULL), SP_OK);
    sp_trainer_free(t);
    sp_eval_options eo;
    sp_eval_options_init(&eo, SP_EVAL_OPTIONS_VERSION);
    eo.unroll = 0;
    eo.part = SP_PART_TRAIN;
    eo.test_fraction = 0.1f;
    eo.batch_size = 64;
    eo.neighbours = f;
    sp_eval_report r = SP_EVAL_REPORT_INIT;
    ck_assert_msg(sp_model_evaluate(m, ds, &eo, &r) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_eq(r.positions, train_count);
    /* The naive pass, in position order (the order does not matter). */
    const int planes = sp_go_plane_count(1);
    float *obs = malloc((size_t)planes * AREA * sizeof *obs);
    float *x = malloc(T_NB * PLANES * sizeof *x), logits[AREA + 1], value;
    uint64_t hits = 0;
    double se = 0;
    row_copy *rows = sorted_rows(f);
    for (size_t i = 0; i < train_count; i++) {
        uint64_t position = rows[i].position, game, *ids = rows[i].ids;
        uint32_t move;
        ck_assert_int_eq(sp_dataset_position_locate(ds, position, &game, &move), SP_OK);
        sp_game *g;
        ck_assert_int_eq(sp_dataset_game_replay(ds, game, (int)move, &g), SP_OK);
        ck_assert_int_eq(sp_game_planes(g, 1, obs, (size_t)planes * AREA), SP_OK);
        int mover = sp_game_to_play(g);
        sp_game_free(g);
        for (int j = 0; j < T_NB; j++)
            naive_planes(ids[j], 0, x + (size_t)j * PLANES);
        ck_assert_int_eq(sp_model_initial_neighbours(m, obs, x, 1, NULL, logits, &value), SP_OK);
        int32_t moves[1024];
        size_t count;
        ck_assert_int_eq(sp_dataset_game_moves(ds, game, moves, 1024, &count), SP_OK);
        int best = 0;
        for (int a = 1; a <= AREA; a++)
            best = logits[a] > logits[best] ? a : best;
        hits += best == moves[move];
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        ck_assert_int_eq(sp_dataset_game_info_get(ds, game, &info), SP_OK);
        double z = info.winner == SP_EMPTY ? 0 : info.winner == mover ? 1 : -1;
        se += (value - z) * (value - z);
    }
    double top1 = (double)hits / (double)train_count, mse = se / (double)train_count;
    /* Training's layer-by-layer pass and inference's folded one may round a
     * near tie the other way: a few positions of thousands. */
    ck_assert_msg(fabs(r.top1[0] - top1) <= 3.0 / (double)train_count, "top-1 %.6f, recomputed %.6f", r.top1[0],
                  top1);
    ck_assert_msg(fabs(r.value_mse[0] - mse) <= 1e-5 * fmax(mse, 1e-3), "value MSE %.8f, recomputed %.8f",
                  r.value_mse[0], mse);
    /* Zeroed and random neighbours change what the model predicts. */
    eo.neighbour_mode = SP_EVAL_ZEROED;
    sp_eval_report zeroed = SP_EVAL_REPORT_INIT, random = SP_EVAL_REPORT_INIT;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &eo, &zeroed), SP_OK);
    eo.neighbour_mode = SP_EVAL_RANDOM;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &eo, &random), SP_OK);
    ck_assert(zeroed.value_mse[0] != r.value_mse[0] && random.value_mse[0] != r.value_mse[0]);
    ck_assert_uint_eq(zeroed.positions, train_count);
    /* Refused: a mode out of range, a model without neighbours given a file. */
    eo.neighbour_mode = 3;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &eo, &zeroed), SP_ERR_INVALID_ARG);
    sp_model *plain = retrieval_model(0, 17);
    eo.neighbour_mode = SP_EVAL_RETRIEVED;
    ck_assert_int_eq(sp_model_evaluate(plain, ds, &eo, &zeroed), SP_ERR_INVALID_ARG);
    sp_model_free(plain);
    free(obs);
    free(x);
    free(rows);
    sp_model_free(m);
    sp_neighbours_free(f);
}
END_TEST

/* Inference from neighbour ids into the dataset: the same bits as the
 * planes sp_dataset_neighbour_planes writes for them, "no such key" as
 * zeros; an id past the dataset, a model without neighbours and another
 * board size refused. */
START_TEST(inference_from_ids_equals_inference_from_planes)
{
    sp_neighbours *f = open_file(spn_path);
    sp_model *m = retrieval_model(T_NB, 19);
    enum { OBS = 3 };
    const size_t obs_floats = (size_t)sp_go_plane_count(1) * AREA;
    float *obs = calloc(OBS * obs_floats, sizeof *obs), *x = calloc(OBS * T_NB * PLANES, sizeof *x);
    uint64_t ids[OBS * T_NB], row_ids[K];
    for (int i = 0; i < OBS; i++) {
        ck_assert_int_eq(sp_neighbours_row(f, (uint64_t)i * 7, NULL, row_ids, NULL), SP_OK);
        for (int j = 0; j < T_NB; j++)
            ids[i * T_NB + j] = row_ids[j];
        obs[i * obs_floats + (size_t)i * 5] = 1.0f; /* a stone, so the observations differ */
    }
    ids[2 * T_NB + 1] = SP_RETRIEVER_NO_ID;
    for (int s = 0; s < OBS * T_NB; s++)
        naive_planes(ids[s], 0, x + (size_t)s * PLANES);
    float a_logits[OBS * (AREA + 1)], b_logits[OBS * (AREA + 1)], a_value[OBS], b_value[OBS];
    ck_assert_msg(sp_model_initial_ids(m, obs, ds, ids, OBS, NULL, a_logits, a_value) == SP_OK, "%s",
                  sp_last_error());
    ck_assert_int_eq(sp_model_initial_neighbours(m, obs, x, OBS, NULL, b_logits, b_value), SP_OK);
    ck_assert_mem_eq(a_logits, b_logits, sizeof a_logits);
    ck_assert_mem_eq(a_value, b_value, sizeof a_value);
    ids[3] = sp_dataset_position_count(ds);
    ck_assert_int_eq(sp_model_initial_ids(m, obs, ds, ids, OBS, NULL, a_logits, a_value), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "ids[3] (observation 1, neighbour 1)"), "%s", sp_last_error());
    ck_assert_int_eq(sp_model_initial_ids(m, obs, NULL, ids, OBS, NULL, a_logits, a_value), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_initial_ids(m, obs, ds, ids, 0, NULL, a_logits, a_value), SP_ERR_INVALID_ARG);
    sp_model *plain = retrieval_model(0, 19);
    ck_assert_int_eq(sp_model_initial_ids(plain, obs, ds, ids, OBS, NULL, a_logits, a_value), SP_ERR_INVALID_ARG);
    sp_model_free(plain);
    sp_dataset *small;
    ck_assert_int_eq(sp_dataset_create(&small, 7), SP_OK);
    ck_assert_int_eq(sp_model_initial_ids(m, obs, small, ids, OBS, NULL, a_logits, a_value), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "7x7"), "%s", sp_last_error());
    sp_dataset_free(small);
    free(obs);
    free(x);
    sp_model_free(m);
    sp_neighbours_free(f);
}
END_TEST

int main(void)
{
    setup();
    Suite *s = suite_create("train_neighbours");
    TCase *tc = tcase_create("neighbour_batch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, planes_match_a_naive_recomputation);
    tcase_add_test(tc, crafted_files_are_refused);
    tcase_add_test(tc, absent_positions_and_bad_arguments_are_refused);
    tcase_add_test(tc, dropout_and_zero_neighbours);
    tcase_add_test(tc, randomisation_avoids_the_own_game);
    tcase_add_test(tc, generator_state_decides_the_output);
    suite_add_tcase(s, tc);
    tc = tcase_create("trainer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, trainer_draws_the_files_positions);
    tcase_add_test(tc, trainer_resume_with_neighbours_is_exact);
    tcase_add_test(tc, zero_neighbours_leave_their_weights_alone);
    tcase_add_test(tc, trainer_refuses_what_does_not_fit);
    tcase_add_test(tc, evaluation_with_neighbours_matches_inference);
    tcase_add_test(tc, inference_from_ids_equals_inference_from_planes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    teardown();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
