/* ABI rules that C code can check: options structs refuse unknown versions,
   _free(NULL) is a no-op, failed creation leaves *out NULL. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "semiparam.h"

START_TEST(game_options_versions)
{
    sp_game_options opts;
    ck_assert_int_eq(sp_game_options_init(&opts, SP_GAME_OPTIONS_VERSION), SP_OK);
    sp_game_options init = SP_GAME_OPTIONS_INIT;
    ck_assert_uint_eq(opts.version, SP_GAME_OPTIONS_VERSION);
    ck_assert_uint_eq(init.version, opts.version);
    ck_assert_int_eq(init.board_size, opts.board_size);
    ck_assert(init.komi == opts.komi);
    ck_assert_int_eq(sp_game_options_init(NULL, SP_GAME_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_options_init(&opts, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_options_init(&opts, SP_GAME_OPTIONS_VERSION + 1), SP_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "sp_game_options_init"));

    sp_game *game = (sp_game *)&opts; /* must be overwritten with NULL */
    opts.version = 0; /* never initialised: a broken argument, not a newer struct */
    ck_assert_int_eq(sp_game_create(&game, &opts), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(game);
    ck_assert_str_ne(sp_last_error(), "");

    game = (sp_game *)&opts;
    opts.version = SP_GAME_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_game_create(&game, &opts), SP_ERR_VERSION);
    ck_assert_ptr_null(game);

    opts.version = SP_GAME_OPTIONS_VERSION;
    opts.board_size = 13;
    ck_assert_int_eq(sp_game_create(&game, &opts), SP_OK);
    ck_assert_int_eq(sp_game_size(game), 13);
    sp_game_free(game);
}
END_TEST

START_TEST(free_null_is_a_no_op)
{
    sp_game_free(NULL);
    sp_rng_free(NULL);
}
END_TEST

START_TEST(status_values_are_frozen)
{
    /* Released values never change; new codes are only appended. */
    ck_assert_int_eq(SP_OK, 0);
    ck_assert_int_eq(SP_ERR_INVALID_ARG, -1);
    ck_assert_int_eq(SP_ERR_NOMEM, -2);
    ck_assert_int_eq(SP_ERR_IO, -3);
    ck_assert_int_eq(SP_ERR_FORMAT, -4);
    ck_assert_int_eq(SP_ERR_ILLEGAL_MOVE, -5);
    ck_assert_int_eq(SP_ERR_NO_DEVICE, -6);
    ck_assert_int_eq(SP_ERR_UNSUPPORTED, -7);
    ck_assert_int_eq(SP_ERR_BUFFER_TOO_SMALL, -8);
    ck_assert_int_eq(SP_ERR_MISUSE, -9);
    ck_assert_int_eq(SP_ERR_VERSION, -10);
    ck_assert_int_eq(SP_ERR_CANCELLED, -11);
    ck_assert_int_eq(SP_ERR_INTERNAL, -12);
    ck_assert_int_eq(SP_BLACK, 1);
    ck_assert_int_eq(SP_WHITE, 2);
    ck_assert_int_eq(SP_PASS, -1);
    ck_assert_int_eq(SP_RESIGN, -2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("abi");
    tcase_add_test(tc, game_options_versions);
    tcase_add_test(tc, free_null_is_a_no_op);
    tcase_add_test(tc, status_values_are_frozen);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
