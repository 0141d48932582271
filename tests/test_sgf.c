/* SGF: parsing, writing, round trips, malformed input and the real 9x9
 * collections (professional games and CGOS) checked against their indexes. */
#include <check.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "go/game_internal.h"
#include "semiparam/sgf.h"

/* Parse text that must be valid. */
static sp_game *parse_ok(const char *text)
{
    sp_game *g = NULL;
    int rc = sp_sgf_parse(&g, text, strlen(text), NULL);
    ck_assert_msg(rc == SP_OK, "parse failed (%d): %s\n%s", rc, sp_last_error(), text);
    return g;
}

/* Parse text that must fail with `status` and its place in the message. */
static void parse_fails(const char *text, size_t length, int status)
{
    sp_game *g = (sp_game *)1;
    int rc = sp_sgf_parse(&g, text, length, NULL);
    ck_assert_msg(rc == status, "expected %d, got %d (%s) for: %.*s", status, rc, sp_last_error(), (int)length,
                  text);
    ck_assert_ptr_null(g);
    ck_assert_msg(strncmp(sp_last_error(), "line ", 5) == 0 && strstr(sp_last_error(), ", column ") &&
                      strstr(sp_last_error(), "(byte "),
                  "no line, column and offset in '%s'", sp_last_error());
}

static int move_at(const sp_game *g, int i, int *color)
{
    int move;
    ck_assert_int_eq(sp_game_move_at(g, i, color, &move), SP_OK);
    return move;
}

/* Everything the SGF round trip must keep. */
static void assert_same_game(const sp_game *a, const sp_game *b)
{
    ck_assert_int_eq(sp_game_size(a), sp_game_size(b));
    ck_assert(sp_game_komi(a) == sp_game_komi(b));
    int area = sp_game_size(a) * sp_game_size(a);
    ck_assert_mem_eq(sp__game_board_at(a, 0), sp__game_board_at(b, 0), (size_t)area);
    ck_assert_int_eq(a->snaps[0].to_play, b->snaps[0].to_play);
    ck_assert_int_eq(sp_game_move_count(a), sp_game_move_count(b));
    for (int i = 0; i < sp_game_move_count(a); i++) {
        int ca, cb;
        ck_assert_int_eq(move_at(a, i, &ca), move_at(b, i, &cb));
        ck_assert_int_eq(ca, cb);
    }
    ck_assert_int_eq(sp_game_to_play(a), sp_game_to_play(b));
    ck_assert_int_eq(sp_game_info_count(a), sp_game_info_count(b));
    for (int i = 0; i < sp_game_info_count(a); i++) {
        const char *key, *value;
        sp_game_info_at(a, i, &key, &value);
        ck_assert_ptr_nonnull(sp_game_info(b, key));
        ck_assert_str_eq(sp_game_info(b, key), value);
    }
}

static char *write_text(const sp_game *g)
{
    size_t need = 0;
    ck_assert_int_eq(sp_sgf_write(g, NULL, 0, &need), SP_ERR_BUFFER_TOO_SMALL);
    char *buf = malloc(need);
    size_t len;
    ck_assert_int_eq(sp_sgf_write(g, buf, need, &len), SP_OK);
    ck_assert_uint_eq(len + 1, need);
    ck_assert_uint_eq(strlen(buf), len);
    return buf;
}

static void assert_round_trip(const sp_game *g)
{
    char *text = write_text(g);
    sp_game *back = parse_ok(text);
    assert_same_game(g, back);
    sp_game_free(back);
    free(text);
}

START_TEST(parses_a_professional_game)
{
    const char *text = "(;\nEV[9x9 game]\nPB[Miyamoto Naoki]\nBR[8d]\nPW[Go Seigen]\nWR[9d]\nKM[0]\nRE[B+4]\n"
                       "DT[1968]\nDTX[Published 1968-08]\nSZ[9]\n\n;B[de];W[fe];B[ee];W[fd]\n;B[ff])";
    sp_game *g = parse_ok(text);
    ck_assert_int_eq(sp_game_size(g), 9);
    ck_assert(sp_game_komi(g) == 0.0f);
    ck_assert_int_eq(sp_game_move_count(g), 5);
    int color;
    ck_assert_int_eq(move_at(g, 0, &color), sp_point(9, 4, 3)); /* "de": column d, row e */
    ck_assert_int_eq(color, SP_BLACK);
    ck_assert_int_eq(move_at(g, 1, &color), sp_point(9, 4, 5));
    ck_assert_int_eq(color, SP_WHITE);
    ck_assert_str_eq(sp_game_info(g, "PB"), "Miyamoto Naoki");
    ck_assert_str_eq(sp_game_info(g, "RE"), "B+4");
    ck_assert_str_eq(sp_game_info(g, "DTX"), "Published 1968-08"); /* unknown root property kept */
    ck_assert_ptr_null(sp_game_info(g, "SZ"));
    ck_assert_int_eq(sp_game_to_play(g), SP_WHITE);
    assert_round_trip(g);
    sp_game_free(g);
}
END_TEST

START_TEST(defaults_follow_the_sgf_standard)
{
    sp_game *g = parse_ok("(;)");
    ck_assert_int_eq(sp_game_size(g), 19); /* no SZ: 19x19 */
    ck_assert(sp_game_komi(g) == 0.0f);    /* no KM: no komi */
    ck_assert_int_eq(sp_game_move_count(g), 0);
    sp_game_free(g);
    /* Two moves by one colour are played as given. */
    g = parse_ok("(;SZ[5]KM[-2.5];B[aa];B[bb];W[cc])");
    ck_assert(sp_game_komi(g) == -2.5f);
    int color;
    move_at(g, 1, &color);
    ck_assert_int_eq(color, SP_BLACK);
    ck_assert_int_eq(sp_game_to_play(g), SP_BLACK);
    sp_game_free(g);
}
END_TEST

START_TEST(escapes_and_text)
{
    sp_game *g = parse_ok("(;SZ[9]PB[a\\]b\\\\c\\d]PW[line\\\nbreak]EV[two\nlines\r\nhere\tx\\\ty]GC[keep\r\nthis\tline]"
                          "RE[W+R] ;B[e\\e])");
    ck_assert_str_eq(sp_game_info(g, "PB"), "a]b\\cd");
    ck_assert_str_eq(sp_game_info(g, "PW"), "linebreak"); /* soft line break removed */
    ck_assert_str_eq(sp_game_info(g, "EV"), "two lines here x y"); /* even an escaped tab is a space */
    ck_assert_str_eq(sp_game_info(g, "GC"), "keep\nthis line"); /* Text keeps its line breaks */
    ck_assert_int_eq(move_at(g, 0, NULL), sp_point(9, 4, 4));
    assert_round_trip(g);
    char *text = write_text(g);
    ck_assert_ptr_nonnull(strstr(text, "PB[a\\]b\\\\cd]"));
    free(text);
    sp_game_free(g);
}
END_TEST

START_TEST(main_line_of_variations)
{
    sp_game *g = parse_ok("(;SZ[9];B[aa](;W[bb];B[cc](;W[dd]C[x\\)(])(;W[ee]))(;W[ff]C[)\\]((])\n  (;W[gg]))");
    ck_assert_int_eq(sp_game_move_count(g), 4);
    ck_assert_int_eq(move_at(g, 1, NULL), sp_point(9, 1, 1));
    ck_assert_int_eq(move_at(g, 3, NULL), sp_point(9, 3, 3));
    sp_game_free(g);
    /* Nesting far deeper than any stack: the parser does not recurse. */
    size_t depth = 100000;
    char *deep = malloc(3 * depth + 16);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, i == 0 ? "(;SZ[9]" : "(;");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ')';
    sp_game *d = NULL;
    ck_assert_int_eq(sp_sgf_parse(&d, deep, n, NULL), SP_OK);
    sp_game_free(d);
    n = 0;
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "(;");
    ck_assert_int_eq(sp_sgf_parse(&d, deep, n, NULL), SP_ERR_FORMAT);
    free(deep);
}
END_TEST

START_TEST(passes_both_ways)
{
    sp_game *g = parse_ok("(;SZ[9];B[tt];W[ee];B[];W[tt])");
    ck_assert_int_eq(move_at(g, 0, NULL), SP_PASS);
    ck_assert_int_eq(move_at(g, 1, NULL), sp_point(9, 4, 4));
    ck_assert_int_eq(move_at(g, 2, NULL), SP_PASS);
    ck_assert_int_eq(move_at(g, 3, NULL), SP_PASS);
    ck_assert(sp_game_is_over(g));
    char *text = write_text(g);
    ck_assert_ptr_nonnull(strstr(text, ";B[];W[ee];B[];W[])"));
    free(text);
    sp_game_free(g);
    g = parse_ok("(;SZ[19];B[tt])");
    ck_assert_int_eq(move_at(g, 0, NULL), SP_PASS);
    sp_game_free(g);
}
END_TEST

START_TEST(setup_stones_and_player)
{
    sp_game *g = parse_ok("(;SZ[9]AB[aa:bc][ee]AW[ih] PL[W]AE[ab])");
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 0, 0)), SP_BLACK);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 2, 1)), SP_BLACK); /* the rectangle aa:bc */
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 0, 2)), SP_EMPTY);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 1, 0)), SP_BLACK); /* AE[ab] came first */
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 7, 8)), SP_WHITE);
    ck_assert_int_eq(sp_game_to_play(g), SP_WHITE);
    assert_round_trip(g);
    sp_game_free(g);
    /* Removed stones go first, whatever the order in the node. */
    g = parse_ok("(;SZ[9]AB[aa:cc];AE[bb]AB[ee];W[ff])");
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 1, 1)), SP_EMPTY);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 2, 2)), SP_BLACK);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 4, 4)), SP_BLACK);
    ck_assert_int_eq(sp__game_board_at(g, 0)[sp_point(9, 4, 4)], SP_BLACK);
    assert_round_trip(g);
    sp_game_free(g);
    /* FF[3] identifiers: lower-case letters are ignored. */
    g = parse_ok("(;GaMe[1]SiZe[9]AddBlack[ab]AddWhite[ba]PLayer[W];White[ee])");
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 1, 0)), SP_BLACK);
    ck_assert_int_eq(sp_game_color_at(g, sp_point(9, 0, 1)), SP_WHITE);
    ck_assert_int_eq(sp_game_move_count(g), 1);
    sp_game_free(g);
}
END_TEST

START_TEST(board_sizes)
{
    sp_game *g = parse_ok("(;SZ[13:13])");
    ck_assert_int_eq(sp_game_size(g), 13);
    sp_game_free(g);
    g = parse_ok("(;SZ[2];B[ab])");
    ck_assert_int_eq(sp_game_size(g), 2);
    sp_game_free(g);
    parse_fails("(;SZ[9:13])", 11, SP_ERR_UNSUPPORTED);
    parse_fails("(;SZ[20])", 9, SP_ERR_UNSUPPORTED);
    parse_fails("(;SZ[1])", 8, SP_ERR_UNSUPPORTED);
    parse_fails("(;SZ[0])", 8, SP_ERR_FORMAT);
    parse_fails("(;SZ[53])", 9, SP_ERR_FORMAT);
    parse_fails("(;SZ[nine])", 11, SP_ERR_FORMAT);
    parse_fails("(;SZ[99999999999999999999999999])", 33, SP_ERR_FORMAT);
}
END_TEST

START_TEST(collections_in_a_loop)
{
    const char *text = "\xEF\xBB\xBFjunk before; [\n(;SZ[9]GN[1];B[ee])\n(;SZ[9]GN[2];B[aa];W[bb])  "
                       "text (;SZ[9]GN[3]) trailing";
    size_t length = strlen(text), offset = 0;
    int games = 0;
    for (;;) {
        sp_game *g;
        size_t used;
        int rc = sp_sgf_parse(&g, text + offset, length - offset, &used);
        ck_assert_uint_gt(used, 0);
        offset += used;
        if (rc == SP_ERR_FORMAT && offset == length)
            break;
        ck_assert_int_eq(rc, SP_OK);
        games++;
        char gn[16];
        snprintf(gn, sizeof gn, "%d", games);
        ck_assert_str_eq(sp_game_info(g, "GN"), gn);
        ck_assert_int_eq(sp_game_move_count(g), games == 3 ? 0 : games);
        sp_game_free(g);
    }
    ck_assert_int_eq(games, 3);
    /* A bad game is skipped over: the next call starts after it. */
    const char *bad = "(;SZ[9];B[zz])(;SZ[9];B[ee])";
    sp_game *g;
    size_t used;
    ck_assert_int_eq(sp_sgf_parse(&g, bad, strlen(bad), &used), SP_ERR_FORMAT);
    ck_assert_uint_eq(used, 14);
    ck_assert_int_eq(sp_sgf_parse(&g, bad + used, strlen(bad) - used, &used), SP_OK);
    sp_game_free(g);
}
END_TEST

START_TEST(truncated_at_every_byte)
{
    const char *text = "(;FF[4]GM[1]SZ[9]KM[6.5]PB[x\\]y]AB[aa:bb]\n;B[ee];W[](;B[ff])(;B[gg]))";
    size_t length = strlen(text);
    for (size_t n = 0; n < length; n++)
        parse_fails(text, n, SP_ERR_FORMAT);
    /* The data need not end in a NUL: a copy without one, checked by ASan. */
    for (size_t n = 1; n <= length; n++) {
        char *copy = malloc(n);
        memcpy(copy, text, n);
        sp_game *g = NULL;
        int rc = sp_sgf_parse(&g, copy, n, NULL);
        ck_assert_int_eq(rc, n == length ? SP_OK : SP_ERR_FORMAT);
        sp_game_free(g);
        free(copy);
    }
}
END_TEST

static const struct {
    const char *text;
    int status;
} malformed[] = {
    { "", SP_ERR_FORMAT },
    { "no tree here", SP_ERR_FORMAT },
    { "()", SP_ERR_FORMAT },
    { "(B[aa])", SP_ERR_FORMAT },
    { "(;B[aa]", SP_ERR_FORMAT },
    { "(;B[aa])]", SP_OK },
    { "(;B[aa]))", SP_OK },
    { "(;B[aa)", SP_ERR_FORMAT },
    { "(;B[aa]\\])", SP_ERR_FORMAT },
    { "(;[aa])", SP_ERR_FORMAT },
    { "(;B)", SP_ERR_FORMAT },
    { "(;B [aa] ; W [bb])", SP_OK },
    { "(;b[aa])", SP_ERR_FORMAT },
    { "(;B1[aa])", SP_ERR_FORMAT },
    { "(;SZ[9];B[ja])", SP_ERR_FORMAT },
    { "(;SZ[9];B[aA])", SP_ERR_FORMAT },
    { "(;SZ[9];B[a])", SP_ERR_FORMAT },
    { "(;SZ[9];B[abc])", SP_ERR_FORMAT },
    { "(;SZ[9];B[aa][bb])", SP_ERR_FORMAT },
    { "(;SZ[9];B[aa]W[bb])", SP_ERR_FORMAT },
    { "(;SZ[9]AB[])", SP_ERR_FORMAT },
    { "(;SZ[9]AB[aa:])", SP_ERR_FORMAT },
    { "(;SZ[9]AB[tt])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[six])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[1e3])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[6.5.5])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[1001])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[99999999999999999999999999999999999999999999999])", SP_ERR_FORMAT },
    { "(;SZ[9]KM[ 7.5 ])", SP_OK },
    { "(;SZ[9]PL[X])", SP_ERR_FORMAT },
    { "(;GM[2]SZ[8])", SP_ERR_UNSUPPORTED },
    { "(;GM[x])", SP_ERR_UNSUPPORTED },
    { "(;GM[1]FF[4]CA[UTF-8])", SP_OK },
    { "(;SZ[9];B[aa];AB[bb])", SP_ERR_UNSUPPORTED },
    { "(;SZ[9];W[aa];PL[B])", SP_ERR_UNSUPPORTED },
    { "(;SZ[9];B[aa];W[aa])", SP_ERR_ILLEGAL_MOVE },
    { "(;SZ[9]AW[ba][ab];B[aa])", SP_ERR_ILLEGAL_MOVE },
    { "(;SZ[9];B[];W[];B[ee])", SP_ERR_ILLEGAL_MOVE },
    { "(;SZ[9]AW[ba][ab]AB[aa])", SP_ERR_ILLEGAL_MOVE },
    { "(;SZ[9]\x01)", SP_ERR_FORMAT },
    { "(;SZ[9](;B[aa])(;B[bb]\x01))", SP_ERR_FORMAT },
    { "(;SZ[9](;B[aa])(;B[bb]))", SP_OK },
    { "(;SZ[9](;B[aa])%)", SP_ERR_FORMAT },
    { "(;SZ[9];B[aa]C[unknown props are ignored]XX[1][2]VERYLONGNAME[3])", SP_OK },
};

START_TEST(malformed_inputs)
{
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const char *t = malformed[i].text;
        if (malformed[i].status == SP_OK) {
            sp_game_free(parse_ok(t));
            continue;
        }
        parse_fails(t, strlen(t), malformed[i].status);
    }
    sp_game *g;
    ck_assert_int_eq(sp_sgf_parse(NULL, "(;)", 3, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_sgf_parse(&g, NULL, 3, NULL), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(g);
    /* The place points at the culprit; columns count bytes from 1. */
    parse_fails("(;SZ[9];B[ee];W[zz])", 20, SP_ERR_FORMAT);
    ck_assert_str_eq(sp_last_error(), "line 1, column 16 (byte 15): [zz] is not a point of the 9x9 board");
    parse_fails("(;SZ[9];B[ee];W[ee])", 20, SP_ERR_ILLEGAL_MOVE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "line 1, column 16 (byte 15): move 2 W[ee]: "));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "occupied"));
    parse_fails("(;SZ[9]\n;B[ee]\r\n;W[zz])", 23, SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "line 3, column 3 (byte 18):"));
    parse_fails("(;SZ[9]\n;B[ee]\n", 15, SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "line 1, column 1 (byte 0): game tree not closed"));
}
END_TEST

START_TEST(random_games_round_trip)
{
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 2024), SP_OK);
    const int sizes[] = { 2, 5, 9, 13, 19 };
    for (int round = 0; round < 60; round++) {
        sp_game_options opts = SP_GAME_OPTIONS_INIT;
        opts.board_size = sizes[round % 5];
        opts.komi = (float)((int)sp_rng_below(rng, 41) - 20) / 4.0f;
        if (round % 7 == 3)
            opts.komi = 0.1f + (float)round / 3.0f; /* not a short decimal in binary */
        sp_game *g;
        ck_assert_int_eq(sp_game_create(&g, &opts), SP_OK);
        int area = opts.board_size * opts.board_size;
        for (int k = 0; k < area / 8; k++)
            sp_game_setup(g, (int)sp_rng_below(rng, (uint32_t)area), (int)sp_rng_below(rng, 3));
        if (round % 3 == 1)
            sp_game_set_to_play(g, SP_WHITE);
        sp_game_set_info(g, "PB", "Black ] \\ player");
        sp_game_set_info(g, "DT", "2026-11-25");
        if (round % 2)
            sp_game_set_info(g, "GC", "a comment\nover lines");
        int limit = (int)sp_rng_below(rng, (uint32_t)(3 * area));
        for (int m = 0; m < limit && !sp_game_is_over(g); m++) {
            int move;
            ck_assert_int_eq(sp_game_random_move(g, rng, &move), SP_OK);
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
        }
        assert_round_trip(g);
        sp_game_free(g);
    }
    sp_rng_free(rng);
}
END_TEST

/* Any float komi comes back bit for bit, tiny and denormal ones included. */
START_TEST(komi_round_trip)
{
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, 7), SP_OK);
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    for (int i = 0; i < 20000; i++) {
        uint32_t bits = (uint32_t)sp_rng_next(rng);
        float komi;
        memcpy(&komi, &bits, sizeof komi);
        if (i < 3)
            komi = i == 0 ? 1e-45f : i == 1 ? -1000.0f : 0.1f;
        if (sp_game_set_komi(g, komi) != SP_OK)
            continue; /* NaN, infinite or beyond +-1000 */
        char buf[256];
        ck_assert_int_eq(sp_sgf_write(g, buf, sizeof buf, NULL), SP_OK);
        sp_game *back = parse_ok(buf);
        ck_assert_msg(sp_game_komi(back) == komi, "komi %a written as %s", (double)komi, buf);
        sp_game_free(back);
    }
    sp_game_free(g);
    sp_rng_free(rng);
}
END_TEST

START_TEST(resignation_becomes_the_result)
{
    sp_game *g = parse_ok("(;SZ[9];B[ee];W[dd])");
    ck_assert_int_eq(sp_game_play(g, SP_RESIGN), SP_OK);
    char *text = write_text(g);
    ck_assert_ptr_nonnull(strstr(text, "RE[W+R]"));
    sp_game *back = parse_ok(text);
    ck_assert_int_eq(sp_game_move_count(back), 2);
    sp_game_free(back);
    free(text);
    sp_game_set_info(g, "RE", "W+Resign");
    text = write_text(g);
    ck_assert_ptr_null(strstr(text, "RE[W+R]"));
    ck_assert_ptr_nonnull(strstr(text, "RE[W+Resign]"));
    free(text);
    sp_game_free(g);
}
END_TEST

START_TEST(write_buffer_contract)
{
    sp_game *g = parse_ok("(;SZ[9]KM[6.5];B[ee])");
    char small[8] = "xxxxxxx";
    size_t need = 0, len;
    ck_assert_int_eq(sp_sgf_write(g, small, sizeof small, &need), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_str_eq(small, "");
    char *buf = malloc(need);
    ck_assert_int_eq(sp_sgf_write(g, buf, need - 1, &len), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_sgf_write(g, buf, need, &len), SP_OK);
    ck_assert_str_eq(buf, "(;FF[4]GM[1]CA[UTF-8]SZ[9]KM[6.5]\n\n;B[ee])\n");
    free(buf);
    ck_assert_int_eq(sp_sgf_write(NULL, small, sizeof small, &len), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_sgf_write(g, NULL, 5, &len), SP_ERR_INVALID_ARG);
    sp_game_free(g);
}
END_TEST

START_TEST(save_and_load)
{
    char dir[] = "/tmp/sp_sgf_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/game.sgf", dir);
    sp_game *g = parse_ok("(;SZ[7]KM[0.5]PW[w];B[dd];W[cc];B[])");
    ck_assert_int_eq(sp_sgf_save(g, path), SP_OK);
    sp_game *back;
    ck_assert_int_eq(sp_sgf_load(&back, path), SP_OK);
    assert_same_game(g, back);
    sp_game_free(back);
    ck_assert_int_eq(sp_sgf_load(&back, "/nonexistent/x.sgf"), SP_ERR_IO);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(sp_sgf_save(g, "/nonexistent/x.sgf"), SP_ERR_IO);
    ck_assert_int_eq(sp_sgf_save(NULL, path), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_sgf_load(&back, NULL), SP_ERR_INVALID_ARG);
    sp_game_free(g);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- real data ---------------------------------------------------------- */

/* A streaming .xz reader on liblzma, so that a test can stop early (the
 * CGOS collections decompress to ~500 MB). */
typedef struct xz_file {
    FILE *f;
    lzma_stream s;
    uint8_t in[1 << 16], out[1 << 16];
    size_t out_pos, out_len;
    int done;
} xz_file;

static xz_file *xz_open(const char *path)
{
    xz_file *x = calloc(1, sizeof *x);
    x->f = fopen(path, "rb");
    ck_assert_ptr_nonnull(x->f);
    x->s = (lzma_stream)LZMA_STREAM_INIT;
    ck_assert_int_eq(lzma_stream_decoder(&x->s, UINT64_MAX, LZMA_CONCATENATED), LZMA_OK);
    return x;
}

/* Refill the output buffer; 0 at the end of the data. */
static int xz_fill(xz_file *x)
{
    x->out_pos = x->out_len = 0;
    while (!x->done && x->out_len == 0) {
        if (x->s.avail_in == 0 && !feof(x->f)) {
            x->s.next_in = x->in;
            x->s.avail_in = fread(x->in, 1, sizeof x->in, x->f);
        }
        x->s.next_out = x->out;
        x->s.avail_out = sizeof x->out;
        lzma_ret r = lzma_code(&x->s, feof(x->f) && x->s.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
        ck_assert_msg(r == LZMA_OK || r == LZMA_STREAM_END, "xz error %d", (int)r);
        x->out_len = sizeof x->out - x->s.avail_out;
        x->done = r == LZMA_STREAM_END;
    }
    return x->out_len > 0;
}

static size_t xz_read(xz_file *x, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n && (x->out_pos < x->out_len || xz_fill(x))) {
        size_t k = x->out_len - x->out_pos < n - got ? x->out_len - x->out_pos : n - got;
        memcpy((char *)buf + got, x->out + x->out_pos, k);
        x->out_pos += k;
        got += k;
    }
    return got;
}

/* One line without its '\n' into *line (grown as needed); 0 at the end. */
static int xz_line(xz_file *x, char **line, size_t *cap)
{
    size_t n = 0;
    int ended = 0;
    for (;;) {
        if (x->out_pos == x->out_len && !xz_fill(x)) {
            ended = 1;
            break;
        }
        char c = (char)x->out[x->out_pos++];
        if (c == '\n')
            break;
        if (n + 2 > *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *line = realloc(*line, *cap);
        }
        (*line)[n++] = c;
    }
    if (*line)
        (*line)[n] = '\0';
    return n > 0 || !ended;
}

static void xz_close(xz_file *x)
{
    lzma_end(&x->s);
    fclose(x->f);
    free(x);
}

/* The first `max` decompressed bytes of an .xz file. */
static char *read_xz(const char *path, size_t max, size_t *out_length)
{
    xz_file *x = xz_open(path);
    char *data = malloc(max + 1);
    *out_length = xz_read(x, data, max);
    data[*out_length] = '\0';
    xz_close(x);
    return data;
}

typedef struct index_row {
    size_t offset, length;
    int moves;
    char re[32];
    float komi; /* 0 when the game has no KM */
} index_row;

/* The first `max` rows of a `*_index.tsv.xz` that belong to the collection
 * `file`, read as a stream (the CGOS index holds 437,880 rows). */
static index_row *read_index(const char *path, const char *file, int max, int *out_rows)
{
    xz_file *x = xz_open(path);
    int count = 0, cap = 1024;
    index_row *rows = malloc((size_t)cap * sizeof *rows);
    char *line = NULL;
    size_t line_cap = 0;
    while (count < max && xz_line(x, &line, &line_cap) && line) {
        char *fields[13];
        int nf = 0;
        for (char *p = line; nf < 13; nf++) {
            fields[nf] = p;
            p = strchr(p, '\t');
            if (!p) {
                nf++;
                break;
            }
            *p++ = '\0';
        }
        if (nf != 13 || strcmp(fields[0], file) != 0)
            continue;
        if (count == cap) {
            cap *= 2;
            rows = realloc(rows, (size_t)cap * sizeof *rows);
        }
        rows[count].offset = strtoull(fields[1], NULL, 10);
        rows[count].length = strtoull(fields[2], NULL, 10);
        rows[count].moves = atoi(fields[12]);
        rows[count].komi = strtof(fields[10], NULL);
        snprintf(rows[count].re, sizeof rows[count].re, "%s", fields[11]);
        count++;
    }
    free(line);
    xz_close(x);
    *out_rows = count;
    return rows;
}

static int data_path(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("SP_DATA_DIR");
    snprintf(buf, size, "%s/go9/%s", dir ? dir : "../shared/data", name);
    if (access(buf, R_OK) == 0)
        return 1;
    fprintf(stderr, "test_sgf: %s not found, real-data check skipped\n", buf);
    return 0;
}

/* Read `rows` games of a collection in a loop and compare with the index.
 * Returns the number of games that scored results (B+x / W+x) agree with. */
static int check_collection(const char *name, const char *index_name, const char *file, int max_games,
                            int *out_scored, int *out_agree)
{
    char path[1024], index_path[1024];
    if (!data_path(path, sizeof path, name) || !data_path(index_path, sizeof index_path, index_name))
        return -1;
    int rows;
    index_row *row = read_index(index_path, file, max_games, &rows);
    ck_assert_int_gt(rows, 0);
    size_t length;
    char *data = read_xz(path, row[rows - 1].offset + row[rows - 1].length, &length);
    ck_assert_uint_eq(length, row[rows - 1].offset + row[rows - 1].length);
    size_t offset = 0;
    int scored = 0, agree = 0, komi_counts[3] = { 0 };
    for (int i = 0; i < rows; i++) {
        sp_game *g;
        size_t used;
        int rc = sp_sgf_parse(&g, data + offset, length - offset, &used);
        ck_assert_msg(rc == SP_OK, "%s game %d at byte %zu: %s", name, i, offset, sp_last_error());
        /* The game's tree ends inside its original file's bytes. */
        ck_assert_uint_gt(offset + used, row[i].offset);
        ck_assert_uint_le(offset + used, row[i].offset + row[i].length);
        offset = row[i].offset + row[i].length;
        ck_assert_msg(sp_game_move_count(g) == row[i].moves, "%s game %d: %d moves, index says %d", name, i,
                      sp_game_move_count(g), row[i].moves);
        ck_assert_str_eq(sp_game_info(g, "RE") ? sp_game_info(g, "RE") : "", row[i].re);
        ck_assert_msg(sp_game_komi(g) == row[i].komi, "%s game %d: komi %g, index says %g", name, i,
                      (double)sp_game_komi(g), (double)row[i].komi);
        komi_counts[sp_game_komi(g) == 6.5f ? 0 : sp_game_komi(g) == 5.5f ? 1 : 2]++;
        char winner;
        float margin, score;
        if (sscanf(row[i].re, "%c+%f", &winner, &margin) == 2 && sp_game_is_over(g)) {
            sp_game_score(g, &score);
            scored++;
            agree += score == (winner == 'B' ? margin : -margin);
        }
        sp_game_free(g);
    }
    free(row);
    free(data);
    *out_scored = scored;
    *out_agree = agree;
    printf("%s: %d games, komi 6.5: %d, 5.5: %d, other: %d\n", name, rows, komi_counts[0], komi_counts[1],
           komi_counts[2]);
    return rows;
}

START_TEST(professional_games)
{
    /* Japanese rules and early resignations: too few scored games to compare. */
    int scored = 0, agree = 0;
    int games = check_collection("pro9x9_cwi.sgf.xz", "pro9x9_cwi_index.tsv.xz", "pro9x9_cwi.sgf", 1000, &scored,
                                 &agree);
    ck_assert(games == 488 || games == -1);
    printf("pro: %d scored games ended by two passes, %d agree with Tromp-Taylor\n", scored, agree);
}
END_TEST

START_TEST(cgos_games)
{
    int scored = 0, agree = 0;
    int games = check_collection("cgos9x9_2015.sgf.xz", "cgos9x9_index.tsv.xz", "cgos9x9_2015.sgf", 2000, &scored,
                                 &agree);
    ck_assert(games == 2000 || games == -1);
    printf("cgos: %d scored games ended by two passes, %d agree with Tromp-Taylor\n", scored, agree);
    /* CGOS scores finished games by area on the final board, as sp_game_score does. */
    ck_assert_int_eq(agree, scored);
}
END_TEST

/* Every CGOS game (437,880, ~506 MB of SGF), streamed game by game: all
 * parse, every game has the index's number of moves, and every result by
 * score agrees with Tromp-Taylor on the final board. Long: SP_LONG_TESTS=1. */
START_TEST(cgos_all_games)
{
    const char *env = getenv("SP_LONG_TESTS");
    if (!env || strcmp(env, "1") != 0)
        return;
    static const char *const years[] = { "2015", "2016", "2017", "2018" };
    char index_path[1024];
    if (!data_path(index_path, sizeof index_path, "cgos9x9_index.tsv.xz"))
        return;
    long games = 0, failed = 0, scored = 0, agree = 0;
    for (int y = 0; y < 4; y++) {
        char name[64], path[1024];
        snprintf(name, sizeof name, "cgos9x9_%s.sgf", years[y]);
        int rows;
        index_row *row = read_index(index_path, name, 1 << 30, &rows);
        snprintf(name, sizeof name, "cgos9x9_%s.sgf.xz", years[y]);
        if (!data_path(path, sizeof path, name))
            return;
        xz_file *f = xz_open(path);
        size_t at = 0, cap = 0;
        char *buf = NULL;
        for (int i = 0; i < rows; i++) {
            ck_assert_uint_eq(row[i].offset, at); /* the files lie back to back */
            if (row[i].length > cap) {
                cap = row[i].length;
                buf = realloc(buf, cap);
            }
            ck_assert_uint_eq(xz_read(f, buf, row[i].length), row[i].length);
            at += row[i].length;
            sp_game *g;
            games++;
            if (sp_sgf_parse(&g, buf, row[i].length, NULL) != SP_OK) {
                if (failed++ < 20)
                    printf("cgos %s row %d: %s\n", years[y], i, sp_last_error());
                continue;
            }
            ck_assert_int_eq(sp_game_move_count(g), row[i].moves);
            char winner;
            float margin, score;
            if (sscanf(row[i].re, "%c+%f", &winner, &margin) == 2 && sp_game_is_over(g)) {
                sp_game_score(g, &score);
                scored++;
                agree += score == (winner == 'B' ? margin : -margin);
            }
            sp_game_free(g);
        }
        free(buf);
        free(row);
        xz_close(f);
    }
    printf("cgos all: %ld games, %ld failed; %ld scored games ended by two passes, %ld agree\n", games, failed,
           scored, agree);
    /* Measured: all 437,880 parse, and all 211,143 scored by two passes agree. */
    ck_assert_int_eq(games, 437880);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(agree, scored);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sgf");
    TCase *tc = tcase_create("sgf");
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, parses_a_professional_game);
    tcase_add_test(tc, defaults_follow_the_sgf_standard);
    tcase_add_test(tc, escapes_and_text);
    tcase_add_test(tc, main_line_of_variations);
    tcase_add_test(tc, passes_both_ways);
    tcase_add_test(tc, setup_stones_and_player);
    tcase_add_test(tc, board_sizes);
    tcase_add_test(tc, collections_in_a_loop);
    tcase_add_test(tc, truncated_at_every_byte);
    tcase_add_test(tc, malformed_inputs);
    tcase_add_test(tc, random_games_round_trip);
    tcase_add_test(tc, komi_round_trip);
    tcase_add_test(tc, resignation_becomes_the_result);
    tcase_add_test(tc, write_buffer_contract);
    tcase_add_test(tc, save_and_load);
    tcase_add_test(tc, professional_games);
    tcase_add_test(tc, cgos_games);
    tcase_add_test(tc, cgos_all_games);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
