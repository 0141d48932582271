/* Versioned structs: the central check (lib/core/options.c) on a struct with
 * two versions whose first is really shorter, and every public _init against
 * its header's version. Run under ASan, the heap blocks sized to a version
 * show any access past it. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "semiparam.h"

/* A struct at version 2; version 1 ended before `appended`. */
typedef struct two {
    uint32_t version;
    int32_t kept;
    double appended;
} two;

/* The same struct as a version-1 header declared it. */
typedef struct two_v1 {
    uint32_t version;
    int32_t kept;
} two_v1;

static const two two_defaults = { 2, 7, 0.5 };
static const sp__options_type two_type = { "two", 2, sizeof(two), &two_defaults, { offsetof(two, appended) } };

/* A version-1 caller's struct, alone in a heap block of exactly its size. */
static two_v1 *old_two(int32_t kept)
{
    two_v1 *t = malloc(sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->version = 1;
    t->kept = kept;
    return t;
}

START_TEST(read_stops_at_the_callers_version)
{
    two_v1 *caller = old_two(3);
    two got;
    ck_assert_int_eq(sp__options_read(&got, caller, &two_type, "test"), SP_OK);
    ck_assert_uint_eq(got.version, 1);
    ck_assert_int_eq(got.kept, 3);
    ck_assert(got.appended == 0.5); /* the default, not bytes past the caller's block */
    free(caller);

    ck_assert_int_eq(sp__options_read(&got, NULL, &two_type, "test"), SP_OK);
    ck_assert_int_eq(got.kept, 7);
}
END_TEST

START_TEST(init_and_write_stop_at_the_callers_version)
{
    two_v1 *caller = old_two(0);
    ck_assert_int_eq(sp__options_init(caller, 1, &two_type, "test"), SP_OK);
    ck_assert_uint_eq(caller->version, 1);
    ck_assert_int_eq(caller->kept, 7);

    two full = { 2, 11, 9.0 };
    ck_assert_int_eq(sp__options_write(caller, &full, &two_type, "test"), SP_OK);
    ck_assert_uint_eq(caller->version, 1); /* the caller's version stays */
    ck_assert_int_eq(caller->kept, 11);
    free(caller);

    /* Past the version's bytes nothing changes: a sentinel behind them stays. */
    unsigned char buf[sizeof(two)];
    memset(buf, 0xA5, sizeof buf);
    ck_assert_int_eq(sp__options_init(buf, 1, &two_type, "test"), SP_OK);
    for (size_t i = offsetof(two, appended); i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0xA5);
    ck_assert_int_eq(sp__options_init(buf, 2, &two_type, "test"), SP_OK);
    ck_assert(((two *)buf)->appended == 0.5);
}
END_TEST

START_TEST(zero_and_newer_versions_are_refused)
{
    two t = { 0, 1, 1.0 }, got;
    ck_assert_int_eq(sp__options_read(&got, &t, &two_type, "sp_thing_create"), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "sp_thing_create"));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "two"));
    t.version = 3;
    ck_assert_int_eq(sp__options_read(&got, &t, &two_type, "sp_thing_create"), SP_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "version 3"));
    ck_assert_int_eq(sp__options_write(&t, &got, &two_type, "test"), SP_ERR_VERSION);
    ck_assert_int_eq(t.kept, 1);
    ck_assert_int_eq(sp__options_init(&t, 0, &two_type, "test"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__options_init(&t, 3, &two_type, "test"), SP_ERR_VERSION);
    ck_assert_int_eq(sp__options_init(NULL, 1, &two_type, "test"), SP_ERR_INVALID_ARG);
}
END_TEST

START_TEST(a_table_that_did_not_grow_is_an_internal_error)
{
    /* Version 2 declared, no size for version 1: the library's bug, said loudly. */
    static const sp__options_type broken = { "broken", 2, sizeof(two), &two_defaults, { 0 } };
    two t = { 1, 1, 1.0 }, got;
    ck_assert_int_eq(sp__options_read(&got, &t, &broken, "test"), SP_ERR_INTERNAL);
    static const sp__options_type shrinking = { "shrinking", 2, sizeof(two), &two_defaults, { sizeof(two) + 8 } };
    ck_assert_int_eq(sp__options_init(&t, 1, &shrinking, "test"), SP_ERR_INTERNAL);
}
END_TEST

/* Every public _init, through a wrapper of one type. */
#define WRAP(fn, type)                                                                                              \
    static int fn##_wrap(void *s, uint32_t version) { return fn((type *)s, version); }
WRAP(sp_game_options_init, sp_game_options)
WRAP(sp_go_evaluator_options_init, sp_go_evaluator_options)
WRAP(sp_search_options_init, sp_search_options)
WRAP(sp_nn_options_init, sp_nn_options)
WRAP(sp_retriever_options_init, sp_retriever_options)
WRAP(sp_retriever_query_init, sp_retriever_query)
WRAP(sp_import_options_init, sp_import_options)
WRAP(sp_split_options_init, sp_split_options)
WRAP(sp_sampler_options_init, sp_sampler_options)

static const struct {
    const char *name;
    int (*init)(void *, uint32_t);
    uint32_t version;
    size_t size;
} inits[] = {
#define ROW(fn, type, version) { #fn, fn##_wrap, version, sizeof(type) }
    ROW(sp_game_options_init, sp_game_options, SP_GAME_OPTIONS_VERSION),
    ROW(sp_go_evaluator_options_init, sp_go_evaluator_options, SP_GO_EVALUATOR_OPTIONS_VERSION),
    ROW(sp_search_options_init, sp_search_options, SP_SEARCH_OPTIONS_VERSION),
    ROW(sp_nn_options_init, sp_nn_options, SP_NN_OPTIONS_VERSION),
    ROW(sp_retriever_options_init, sp_retriever_options, SP_RETRIEVER_OPTIONS_VERSION),
    ROW(sp_retriever_query_init, sp_retriever_query, SP_RETRIEVER_QUERY_VERSION),
    ROW(sp_import_options_init, sp_import_options, SP_IMPORT_OPTIONS_VERSION),
    ROW(sp_split_options_init, sp_split_options, SP_SPLIT_OPTIONS_VERSION),
    ROW(sp_sampler_options_init, sp_sampler_options, SP_SAMPLER_OPTIONS_VERSION),
#undef ROW
};

START_TEST(every_init_takes_its_headers_version_and_no_other)
{
    for (size_t i = 0; i < sizeof inits / sizeof *inits; i++) {
        unsigned char buf[512];
        ck_assert_uint_le(inits[i].size + 16, sizeof buf);
        memset(buf, 0xA5, sizeof buf);
        int rc = inits[i].init(buf, inits[i].version);
        if (rc == SP_ERR_UNSUPPORTED) /* a module left out of this build: test_disabled's business */
            continue;
        ck_assert_msg(rc == SP_OK, "%s: %s", inits[i].name, sp_last_error());
        uint32_t version;
        memcpy(&version, buf, sizeof version);
        ck_assert_uint_eq(version, inits[i].version);
        for (size_t b = inits[i].size; b < sizeof buf; b++)
            ck_assert_msg(buf[b] == 0xA5, "%s wrote byte %zu past its struct", inits[i].name, b);

        ck_assert_int_eq(inits[i].init(NULL, inits[i].version), SP_ERR_INVALID_ARG);
        ck_assert_int_eq(inits[i].init(buf, 0), SP_ERR_INVALID_ARG);
        ck_assert_int_eq(inits[i].init(buf, inits[i].version + 1), SP_ERR_VERSION);
        ck_assert_msg(strstr(sp_last_error(), inits[i].name), "%s: %s", inits[i].name, sp_last_error());
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("versions");
    tcase_add_test(tc, read_stops_at_the_callers_version);
    tcase_add_test(tc, init_and_write_stop_at_the_callers_version);
    tcase_add_test(tc, zero_and_newer_versions_are_refused);
    tcase_add_test(tc, a_table_that_did_not_grow_is_an_internal_error);
    tcase_add_test(tc, every_init_takes_its_headers_version_and_no_other);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
