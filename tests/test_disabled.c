/* A build without nn or retrieval (meson -Dnn=disabled / -Dretrieval=disabled):
 * the modules' functions are still there, fail with SP_ERR_UNSUPPORTED naming
 * themselves and the meson option, and leave out-parameters as on any failure.
 * The exports test checks that every declared function has a stub. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "semiparam.h"

/* `rc` is SP_ERR_UNSUPPORTED and sp_last_error() names `fn` and the option. */
static void check_unsupported(int rc, const char *fn, const char *option)
{
    ck_assert_int_eq(rc, SP_ERR_UNSUPPORTED);
    const char *msg = sp_last_error();
    ck_assert_msg(strstr(msg, fn) == msg, "'%s' does not start with %s", msg, fn);
    ck_assert_msg(strstr(msg, option), "'%s' does not name %s", msg, option);
}

START_TEST(features_say_what_is_out)
{
    ck_assert_int_eq(sp_has_feature(SP_FEATURE_NN) && sp_has_feature(SP_FEATURE_RETRIEVAL), 0);
    /* What needs a missing module is missing with it. */
    if (!sp_has_feature(SP_FEATURE_NN))
        ck_assert_int_eq(sp_has_feature(SP_FEATURE_GPU), 0);
    if (!sp_has_feature(SP_FEATURE_RETRIEVAL))
        ck_assert_int_eq(sp_has_feature(SP_FEATURE_FAISS_C_API) + sp_has_feature(SP_FEATURE_FAISS_BRIDGE), 0);
}
END_TEST

START_TEST(nn_stubs)
{
    if (sp_has_feature(SP_FEATURE_NN))
        return;
    sp_nn_options opts = SP_NN_OPTIONS_INIT;
    check_unsupported(sp_nn_options_init(&opts, SP_NN_OPTIONS_VERSION), "sp_nn_options_init", "-Dnn=enabled");
    int count = 7;
    check_unsupported(sp_nn_device_count(SP_BACKEND_CPU, &count), "sp_nn_device_count", "-Dnn=enabled");
    ck_assert_int_eq(count, 0);
    check_unsupported(sp_nn_device_count(SP_BACKEND_GPU, NULL), "sp_nn_device_count", "-Dnn=enabled");
}
END_TEST

START_TEST(model_stubs_fail_and_clear_outputs)
{
    if (sp_has_feature(SP_FEATURE_NN))
        return;
    const char *opt = "-Dnn=enabled";
    sp_model_options opts = SP_MODEL_OPTIONS_INIT;
    sp_model_search_options search_opts = SP_MODEL_SEARCH_OPTIONS_INIT;
    sp_model_info info = SP_MODEL_INFO_INIT;
    check_unsupported(sp_model_options_init(&opts, SP_MODEL_OPTIONS_VERSION), "sp_model_options_init", opt);
    check_unsupported(sp_model_search_options_init(&search_opts, SP_MODEL_SEARCH_OPTIONS_VERSION),
                      "sp_model_search_options_init", opt);
    /* Handles a caller forgot to initialise must come back NULL. */
    sp_model *m = (sp_model *)&opt;
    check_unsupported(sp_model_create(&m, &opts, NULL), "sp_model_create", opt);
    ck_assert_ptr_null(m);
    m = (sp_model *)&opt;
    check_unsupported(sp_model_load(&m, "x.spm", NULL), "sp_model_load", opt);
    ck_assert_ptr_null(m);
    check_unsupported(sp_model_load_into(NULL, "x.spm"), "sp_model_load_into", opt);
    check_unsupported(sp_model_save(NULL, "x.spm"), "sp_model_save", opt);
    check_unsupported(sp_model_get_options(NULL, &opts), "sp_model_get_options", opt);
    check_unsupported(sp_model_describe(NULL, &info), "sp_model_describe", opt);
    float planes[4] = { 0 }, out[4];
    int32_t action = 0;
    check_unsupported(sp_model_initial(NULL, planes, 1, out, NULL, NULL), "sp_model_initial", opt);
    check_unsupported(sp_model_recurrent(NULL, planes, &action, 1, out, NULL, NULL), "sp_model_recurrent", opt);
    check_unsupported(sp_model_initial_neighbours(NULL, planes, NULL, 1, out, NULL, NULL),
                      "sp_model_initial_neighbours", opt);
    check_unsupported(sp_model_set_embedder(NULL, 1), "sp_model_set_embedder", opt);
    check_unsupported(sp_model_initial_ids(NULL, planes, NULL, NULL, 1, out, NULL, NULL), "sp_model_initial_ids", opt);
    check_unsupported(sp_model_check_retrieval(NULL, 1, 1), "sp_model_check_retrieval", opt);
    ck_assert_uint_eq(sp_model_embedder_id(NULL), 0);
    sp_search_model sm = SP_SEARCH_MODEL_INIT;
    check_unsupported(sp_model_search_model(NULL, &search_opts, &sm), "sp_model_search_model", opt);
    /* The layer reader: no layers, and both calls refused. */
    sp_model_layer layer = SP_MODEL_LAYER_INIT;
    ck_assert_int_eq(sp_model_layer_count(NULL), 0);
    check_unsupported(sp_model_layer_info(NULL, 0, &layer), "sp_model_layer_info", opt);
    check_unsupported(sp_model_activations(NULL, "repr", planes, 1, out, 4), "sp_model_activations", opt);
    sp_model_free(NULL);
}
END_TEST

START_TEST(train_stubs_fail_and_clear_outputs)
{
    if (sp_has_feature(SP_FEATURE_NN))
        return;
    const char *opt = "-Dnn=enabled";
    sp_trainer_options to = SP_TRAINER_OPTIONS_INIT;
    sp_eval_options eo = SP_EVAL_OPTIONS_INIT;
    sp_train_stats stats = SP_TRAIN_STATS_INIT;
    sp_eval_report report = SP_EVAL_REPORT_INIT;
    check_unsupported(sp_trainer_options_init(&to, SP_TRAINER_OPTIONS_VERSION), "sp_trainer_options_init", opt);
    check_unsupported(sp_eval_options_init(&eo, SP_EVAL_OPTIONS_VERSION), "sp_eval_options_init", opt);
    sp_trainer *t = (sp_trainer *)&opt;
    check_unsupported(sp_trainer_create(&t, NULL, NULL, &to), "sp_trainer_create", opt);
    ck_assert_ptr_null(t);
    check_unsupported(sp_trainer_run(NULL, 1, &stats), "sp_trainer_run", opt);
    check_unsupported(sp_trainer_get_stats(NULL, &stats), "sp_trainer_get_stats", opt);
    check_unsupported(sp_trainer_save(NULL, "x.spm"), "sp_trainer_save", opt);
    check_unsupported(sp_trainer_resume(NULL, "x.spm"), "sp_trainer_resume", opt);
    check_unsupported(sp_model_evaluate(NULL, NULL, &eo, &report), "sp_model_evaluate", opt);
    sp_trainer_free(NULL);
}
END_TEST

START_TEST(retrieval_stubs_fail_and_clear_outputs)
{
    if (sp_has_feature(SP_FEATURE_RETRIEVAL))
        return;
    const char *opt = "-Dretrieval=enabled";
    /* Handles a caller forgot to initialise must come back NULL. */
    sp_retriever *r = (sp_retriever *)&opt;
    sp_pca *pca = (sp_pca *)&opt;
    sp_neighbours *nb = (sp_neighbours *)&opt;
    float keys[8] = { 0 };
    uint64_t ids[2] = { 0, 1 };
    uint32_t games[2] = { 0, 1 };
    sp_retriever_options opts = SP_RETRIEVER_OPTIONS_INIT;
    sp_retriever_query query = SP_RETRIEVER_QUERY_INIT;
    check_unsupported(sp_retriever_options_init(&opts, SP_RETRIEVER_OPTIONS_VERSION), "sp_retriever_options_init",
                      opt);
    check_unsupported(sp_retriever_query_init(&query, SP_RETRIEVER_QUERY_VERSION), "sp_retriever_query_init", opt);
    char factory[32] = "x";
    check_unsupported(sp_retriever_default_factory(4, 100, factory, sizeof factory), "sp_retriever_default_factory",
                      opt);
    ck_assert_str_eq(factory, "");
    check_unsupported(sp_retriever_create(&r, 4, 2, NULL), "sp_retriever_create", opt);
    ck_assert_ptr_null(r);
    r = (sp_retriever *)&opt;
    check_unsupported(sp_retriever_build(&r, keys, ids, games, 2, 4, &opts), "sp_retriever_build", opt);
    ck_assert_ptr_null(r);
    r = (sp_retriever *)&opt;
    check_unsupported(sp_retriever_load(&r, "x.spi", 0, NULL), "sp_retriever_load", opt);
    ck_assert_ptr_null(r);
    check_unsupported(sp_retriever_train(NULL, keys, 2, 4), "sp_retriever_train", opt);
    check_unsupported(sp_retriever_add(NULL, keys, ids, games, 2, 4), "sp_retriever_add", opt);
    check_unsupported(sp_retriever_search(NULL, keys, 2, 4, 1, &query, ids, NULL, NULL), "sp_retriever_search", opt);
    check_unsupported(sp_retriever_save(NULL, "x.spi"), "sp_retriever_save", opt);
    size_t held = 5;
    check_unsupported(sp_retriever_ids(NULL, 0, ids, games, 2, &held), "sp_retriever_ids", opt);
    ck_assert_uint_eq(held, 0);
    check_unsupported(sp_retriever_precompute(NULL, keys, ids, games, 2, 4, 1, NULL, "x.spn"),
                      "sp_retriever_precompute", opt);
    check_unsupported(sp_pca_train(&pca, keys, 2, 4, 2, 0), "sp_pca_train", opt);
    ck_assert_ptr_null(pca);
    pca = (sp_pca *)&opt;
    check_unsupported(sp_pca_load(&pca, "x.spp"), "sp_pca_load", opt);
    ck_assert_ptr_null(pca);
    check_unsupported(sp_pca_apply(NULL, keys, 1, 4, keys + 4), "sp_pca_apply", opt);
    check_unsupported(sp_pca_save(NULL, "x.spp"), "sp_pca_save", opt);
    check_unsupported(sp_pca_position_planes(NULL, ids, 1, 1, keys, 8, games), "sp_pca_position_planes", opt);
    check_unsupported(sp_pca_position_keys(NULL, NULL, ids, 1, 1, keys, games), "sp_pca_position_keys", opt);
    check_unsupported(sp_neighbours_open(&nb, "x.spn"), "sp_neighbours_open", opt);
    ck_assert_ptr_null(nb);
    check_unsupported(sp_neighbours_row(NULL, 0, ids, ids, NULL), "sp_neighbours_row", opt);
}
END_TEST

START_TEST(retrieval_stubs_answer_as_for_null)
{
    if (sp_has_feature(SP_FEATURE_RETRIEVAL))
        return;
    sp_retriever_free(NULL);
    sp_pca_free(NULL);
    sp_neighbours_free(NULL);
    ck_assert_uint_eq(sp_retriever_dim(NULL), 0);
    ck_assert_uint_eq(sp_retriever_count(NULL), 0);
    ck_assert_uint_eq(sp_retriever_half_count(NULL, 0), 0);
    ck_assert_uint_eq(sp_retriever_halves(NULL), 0);
    ck_assert_uint_eq(sp_retriever_embedder_id(NULL), 0);
    ck_assert_str_eq(sp_retriever_factory(NULL), "");
    ck_assert(sp_retriever_bytes_per_key(NULL) == 0.0);
    ck_assert_uint_eq(sp_pca_dim_in(NULL), 0);
    ck_assert_uint_eq(sp_pca_dim_out(NULL), 0);
    ck_assert_uint_eq(sp_pca_id(NULL), 0);
    ck_assert_uint_eq(sp_neighbours_count(NULL), 0);
    ck_assert_uint_eq(sp_neighbours_k(NULL), 0);
    ck_assert_uint_eq(sp_neighbours_embedder_id(NULL), 0);
}
END_TEST

START_TEST(game_half_is_the_same_in_every_build)
{
    /* The half needs no index: datasets split in a lean build must agree with
     * the retrievers of a full one. Bits of ids 0..63 as a full build gives them. */
    uint64_t bits = 0;
    for (uint32_t id = 0; id < 64; id++)
        bits |= (uint64_t)sp_retriever_game_half(id) << id;
    ck_assert_uint_eq(bits, 0xb345d63d0223b88bull);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("disabled");
    TCase *tc = tcase_create("disabled");
    tcase_add_test(tc, features_say_what_is_out);
    tcase_add_test(tc, nn_stubs);
    tcase_add_test(tc, model_stubs_fail_and_clear_outputs);
    tcase_add_test(tc, train_stubs_fail_and_clear_outputs);
    tcase_add_test(tc, retrieval_stubs_fail_and_clear_outputs);
    tcase_add_test(tc, retrieval_stubs_answer_as_for_null);
    tcase_add_test(tc, game_half_is_the_same_in_every_build);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
