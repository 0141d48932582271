/* A program built against an older header, run against today's library:
 * retriever.h as it was before sp_retriever_query version 2 appended
 * max_codes (generated from today's header by shorter_header.py, see
 * tests/meson.build). Version 1 of the query ends at `threads`; max_codes
 * took what was its tail padding, so whatever an old program leaves there
 * must be neither read nor written by the library. Links the shared library
 * like any outside program. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "retriever_query_v1.h"

_Static_assert(SP_RETRIEVER_QUERY_VERSION == 1, "the generated header describes query version 1");

#define DIM 8
#define N_KEYS 3000
#define N_QUERIES 60
#define K 10
#define LISTS 16

/* Bytes of the version-1 query's fields; what follows up to sizeof is padding. */
#define V1_END (offsetof(sp_retriever_query, threads) + sizeof(uint32_t))

static float keys[N_KEYS * DIM];
static uint64_t positions[N_KEYS];
static uint32_t games[N_KEYS];

/* Uniform keys: the ten nearest of most queries straddle several IVF lists,
 * so a search that stops after one list cannot come out exact. */
static void make_keys(void)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < N_KEYS * DIM; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        keys[i] = (float)(s >> 40) / (float)(1 << 24);
    }
    for (uint64_t i = 0; i < N_KEYS; i++) {
        positions[i] = i;
        games[i] = (uint32_t)i;
    }
}

static float sqdist(const float *a, const float *b)
{
    float d = 0;
    for (int j = 0; j < DIM; j++)
        d += (a[j] - b[j]) * (a[j] - b[j]);
    return d;
}

/* Whether `ids` holds query q's exact K nearest (brute force). */
static int exact(size_t q, const uint64_t *ids)
{
    float kth = 0;
    for (int j = 0; j < K; j++) {
        if (ids[j] >= N_KEYS)
            return 0;
        float d = sqdist(keys + q * DIM, keys + ids[j] * DIM);
        kth = d > kth ? d : kth;
    }
    int closer = 0;
    for (size_t i = 0; i < N_KEYS; i++)
        closer += sqdist(keys + q * DIM, keys + i * DIM) < kth;
    return closer <= K - 1;
}

START_TEST(init_writes_only_version_1)
{
    unsigned char buf[sizeof(sp_retriever_query) + 16];
    memset(buf, 0xA5, sizeof buf);
    ck_assert_int_eq(sp_retriever_query_init((sp_retriever_query *)buf, SP_RETRIEVER_QUERY_VERSION), SP_OK);
    sp_retriever_query q;
    memcpy(&q, buf, sizeof q);
    ck_assert_uint_eq(q.version, 1);
    ck_assert_uint_eq(q.nprobe, 0);
    ck_assert_ptr_null(q.game_ids);
    for (size_t i = V1_END; i < sizeof buf; i++)
        ck_assert_msg(buf[i] == 0xA5, "byte %zu past the version-1 query was written", i);
}
END_TEST

START_TEST(search_reads_only_version_1)
{
    make_keys();
    sp_retriever_options o = SP_RETRIEVER_OPTIONS_INIT;
    o.factory = "IVF16,Flat";
    o.embedder_id = 5;
    o.threads = 1;
    o.train_size = N_KEYS;
    sp_retriever *r = NULL;
    ck_assert_msg(sp_retriever_build(&r, keys, positions, games, N_KEYS, DIM, &o) == SP_OK, "%s", sp_last_error());

    /* An old program's query on the heap, its block exactly the old size, with
     * 1 in the padding where today's max_codes lies: read as a budget of one
     * code, the search would stop after the first list. */
    sp_retriever_query *q = malloc(sizeof *q);
    ck_assert_ptr_nonnull(q);
    memset(q, 0, sizeof *q);
    ck_assert_int_eq(sp_retriever_query_init(q, SP_RETRIEVER_QUERY_VERSION), SP_OK);
    ck_assert_uint_ge(sizeof *q, V1_END + sizeof(uint32_t));
    const uint32_t one = 1;
    memcpy((unsigned char *)q + V1_END, &one, sizeof one);
    q->nprobe = LISTS; /* every list: IVF-Flat is then exact */
    q->embedder_id = 5;

    uint64_t ids[N_QUERIES * K];
    ck_assert_msg(sp_retriever_search(r, keys, N_QUERIES, DIM, K, q, ids, NULL, NULL) == SP_OK, "%s",
                  sp_last_error());
    for (size_t i = 0; i < N_QUERIES; i++)
        ck_assert_msg(exact(i, ids + i * K), "query %zu is not exact: the padding was read as max_codes", i);

    q->version = SP_RETRIEVER_QUERY_VERSION + 2; /* newer than this library */
    ck_assert_int_eq(sp_retriever_search(r, keys, 1, DIM, K, q, ids, NULL, NULL), SP_ERR_VERSION);
    free(q);
    sp_retriever_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("old_header");
    TCase *tc = tcase_create("retriever_query_v1");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_writes_only_version_1);
    tcase_add_test(tc, search_reads_only_version_1);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
