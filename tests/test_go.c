/* Go rules: captures, suicide, ko and superko, pass/undo, end of game,
 * Tromp-Taylor scoring with seki, eyes, notation, planes, symmetries, playouts. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/board_play.h"
#include "go/game_internal.h"
#include "semiparam.h"

/* A game set up from rows of 'X' (Black), 'O' (White) and '.' (empty). */
static sp_game *diagram(int size, const char *const *rows, int to_play)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = size;
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_OK);
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++) {
            char ch = rows[r][c];
            if (ch != '.')
                ck_assert_int_eq(sp_game_setup(g, r * size + c, ch == 'X' ? SP_BLACK : SP_WHITE), SP_OK);
        }
    ck_assert_int_eq(sp_game_set_to_play(g, to_play), SP_OK);
    return g;
}

/* The board as rows of X/O/. joined by '/', for compact comparisons. */
static const char *picture(const sp_game *g)
{
    static char buf[512];
    int size = sp_game_size(g), n = 0;
    for (int p = 0; p < size * size; p++) {
        buf[n++] = ".XO"[sp_game_color_at(g, p)];
        if (p % size == size - 1 && p != size * size - 1)
            buf[n++] = '/';
    }
    buf[n] = '\0';
    return buf;
}

static int pt(int size, int row, int col) { return sp_point(size, row, col); }

START_TEST(single_capture_in_the_corner)
{
    const char *rows[] = { "O....", "X....", ".....", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 1)), SP_OK);
    ck_assert_str_eq(picture(g), ".X.../X..../...../...../.....");
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 1);
    ck_assert_int_eq(sp_game_captures(g, SP_BLACK), 0);
    ck_assert_int_eq(sp_game_to_play(g), SP_WHITE);
    sp_game_free(g);
}
END_TEST

START_TEST(one_move_captures_several_groups)
{
    const char *rows[] = { "O.OX.", "XOX..", ".X...", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    /* (0,1) takes the last liberty of three separate white stones. */
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 1)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 3);
    ck_assert_str_eq(picture(g), ".X.X./X.X../.X.../...../.....");
    sp_game_free(g);
    /* A connected chain of three stones goes at once. */
    const char *rows2[] = { "OOO.X", "XXXX.", ".....", ".....", "....." };
    g = diagram(5, rows2, SP_BLACK);
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 3)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 3);
    ck_assert_str_eq(picture(g), "...XX/XXXX./...../...../.....");
    sp_game_free(g);
}
END_TEST

START_TEST(snapback)
{
    const char *rows[] = { "..XO.", "XXXO.", "OOOO.", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_WHITE);
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 1)), SP_OK); /* throw-in */
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 0)), SP_OK); /* Black takes it */
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 1);
    /* Not a ko: White retakes at once and captures all five black stones. */
    ck_assert_int_eq(sp_game_ko_point(g), -1);
    ck_assert(sp_game_is_legal(g, SP_WHITE, pt(5, 0, 1)));
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 1)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_BLACK), 5);
    ck_assert_str_eq(picture(g), ".O.O./...O./OOOO./...../.....");
    sp_game_free(g);
}
END_TEST

START_TEST(suicide_is_illegal)
{
    const char *rows[] = { ".X...", "X....", ".....", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_WHITE);
    ck_assert(!sp_game_is_legal(g, SP_WHITE, pt(5, 0, 0)));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "suicide"));
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 0)), SP_ERR_ILLEGAL_MOVE);
    ck_assert(sp_game_is_legal(g, SP_BLACK, pt(5, 0, 0))); /* filling one's own eye is legal */
    sp_game_free(g);
    /* Multi-stone suicide: White's two stones would fill their last liberty. */
    const char *rows2[] = { "O.X..", "OXX..", "X....", ".....", "....." };
    g = diagram(5, rows2, SP_WHITE);
    ck_assert(!sp_game_is_legal(g, SP_WHITE, pt(5, 0, 1)));
    /* ... but the same point captures when it takes the opponent's last liberty. */
    const char *rows3[] = { ".XO..", "XO...", "O....", ".....", "....." };
    sp_game_free(g);
    g = diagram(5, rows3, SP_WHITE);
    ck_assert(sp_game_is_legal(g, SP_WHITE, pt(5, 0, 0)));
    ck_assert_int_eq(sp_game_play(g, pt(5, 0, 0)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_BLACK), 2);
    sp_game_free(g);
}
END_TEST

START_TEST(ko_and_positional_superko)
{
    const char *rows[] = { ".XO..", "XO.O.", ".XO..", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    int take = pt(5, 1, 2), retake = pt(5, 1, 1);
    ck_assert_int_eq(sp_game_play(g, take), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 1);
    ck_assert_int_eq(sp_game_ko_point(g), retake);
    ck_assert(!sp_game_is_legal(g, SP_WHITE, retake));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "ko"));
    /* A pass lifts the simple ko, but retaking would repeat the position
     * before Black's capture: positional superko still forbids it. */
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    ck_assert_int_eq(sp_game_ko_point(g), -1);
    ck_assert(!sp_game_is_legal(g, SP_WHITE, retake));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "superko"));
    ck_assert_int_eq(sp_game_play_as(g, SP_WHITE, retake), SP_ERR_ILLEGAL_MOVE);
    /* After a threat and its answer the position is new: the retake is legal. */
    ck_assert_int_eq(sp_game_play(g, pt(5, 4, 4)), SP_OK);  /* Black */
    ck_assert_int_eq(sp_game_play(g, pt(5, 4, 0)), SP_OK);  /* White threat */
    ck_assert_int_eq(sp_game_play(g, pt(5, 3, 0)), SP_OK);  /* Black answers */
    ck_assert(sp_game_is_legal(g, SP_WHITE, retake));
    ck_assert_int_eq(sp_game_play(g, retake), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_BLACK), 1);
    sp_game_free(g);
}
END_TEST

START_TEST(occupied_and_bad_points)
{
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    ck_assert_int_eq(sp_game_play(g, 40), SP_OK);
    ck_assert(!sp_game_is_legal(g, SP_WHITE, 40));
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "occupied"));
    ck_assert_int_eq(sp_game_play(g, 40), SP_ERR_ILLEGAL_MOVE);
    ck_assert_int_eq(sp_game_play(g, 81), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_play(g, -3), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_play_as(g, 3, 10), SP_ERR_INVALID_ARG);
    ck_assert(!sp_game_is_legal(g, SP_EMPTY, 10));
    ck_assert_int_eq(sp_game_move_count(g), 1);
    sp_game_free(g);
}
END_TEST

START_TEST(undo_restores_everything)
{
    const char *rows[] = { ".XO..", "XO.O.", ".XO..", ".....", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    char before[64];
    strcpy(before, picture(g));
    uint64_t hash = sp_game_hash(g);
    ck_assert_int_eq(sp_game_undo(g), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_game_play(g, pt(5, 1, 2)), SP_OK); /* ko capture */
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    ck_assert_int_eq(sp_game_undo(g), SP_OK);
    /* Back after the capture: the ko is in force again. */
    ck_assert_int_eq(sp_game_ko_point(g), pt(5, 1, 1));
    ck_assert_int_eq(sp_game_to_play(g), SP_WHITE);
    ck_assert_int_eq(sp_game_undo(g), SP_OK);
    ck_assert_str_eq(picture(g), before);
    ck_assert_uint_eq(sp_game_hash(g), hash);
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 0);
    ck_assert_int_eq(sp_game_to_play(g), SP_BLACK);
    ck_assert_int_eq(sp_game_move_count(g), 0);
    /* The board after undo plays on exactly as before. */
    ck_assert_int_eq(sp_game_play(g, pt(5, 1, 2)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_WHITE), 1);
    sp_game_free(g);
}
END_TEST

/* The board's incremental group data (roots, stone lists, the packed
 * pseudo-liberty sums, the atari test, the scratch group 0 on empty points
 * and the empty list) against a naive recount after every move of random
 * games on every board size, through both copies of sp__board_play: with
 * the hash and the playouts' one without. 19x19 has the largest vertex
 * numbers, where a packed field would carry into its neighbour first. */
/* The first disagreement, or NULL. Plain checks, not ck_assert: libcheck
 * reports every assertion to its parent process, too slow for this loop. */
#define EXPECT(cond) \
    do { \
        if (!(cond)) \
            return #cond; \
    } while (0)

static const char *board_disagrees_with_recount(const sp__board *b)
{
    const int size = b->size, s = b->stride;
    int region[SP__MAX_VERTS], seen[SP__MAX_VERTS] = { 0 }, n_empty = 0;
    int lib_mark[SP__MAX_VERTS] = { 0 }, mark = 0; /* lib_mark[u] == mark: u counted for this group */
    for (int p = 0; p < size * size; p++) {
        const int v = sp__vertex(b, p);
        if (b->color[v] == SP_EMPTY) {
            n_empty++;
            EXPECT(b->group[v] == 0);
            EXPECT(b->empty[b->empty_pos[v]] == v);
            continue;
        }
        if (seen[v])
            continue;
        /* Flood the group; count what the board should hold for it. */
        int n = 0, top = 0, stack[SP__MAX_VERTS], distinct = 0;
        uint64_t pseudo = 0, sum = 0, sum2 = 0;
        mark++;
        stack[top++] = v;
        seen[v] = 1;
        while (top) {
            const int u = stack[--top];
            region[n++] = u;
            const int nb[4] = { u - s, u - 1, u + 1, u + s };
            for (int k = 0; k < 4; k++) {
                const int c = b->color[nb[k]];
                if (c == SP_EMPTY) {
                    pseudo++;
                    sum += (uint64_t)nb[k];
                    sum2 += (uint64_t)nb[k] * (uint64_t)nb[k];
                    distinct += lib_mark[nb[k]] != mark;
                    lib_mark[nb[k]] = mark;
                } else if (c == b->color[v] && !seen[nb[k]]) {
                    seen[nb[k]] = 1;
                    stack[top++] = nb[k];
                }
            }
        }
        const int root = b->group[v];
        for (int i = 0; i < n; i++)
            EXPECT(b->group[region[i]] == root);
        int in_list = 0, u = root;
        do {
            in_list++;
            EXPECT(b->group[u] == root);
            u = b->next[u];
        } while (u != root && in_list <= n);
        EXPECT(in_list == n);
        const sp__group *g = &b->groups[root];
        EXPECT(g->stones == (uint32_t)n);
        EXPECT(g->libs == (pseudo | sum << SP__LIB_COUNT_BITS | sum2 << (SP__LIB_COUNT_BITS + SP__LIB_SUM_BITS)));
        EXPECT(distinct > 0);
        EXPECT(sp__group_in_atari(b, root) == (distinct == 1));
    }
    EXPECT(b->n_empty == n_empty);
    return NULL;
}

START_TEST(board_groups_match_a_recount_on_every_size)
{
    struct sp_rng rng;
    sp__rng_seed(&rng, 11);
    for (int size = SP_GO_MIN_SIZE; size <= SP_GO_MAX_SIZE; size++) {
        for (int game = 0; game < 2; game++) {
            sp__board b;
            sp__board_init(&b, size);
            for (int move = 0; move < 3 * size * size && b.passes < 2; move++) {
                const int color = b.to_play;
                int legal[SP__MAX_VERTS], n = 0;
                for (int i = 0; i < b.n_empty; i++) {
                    const int v = b.empty[i];
                    if (sp__is_legal_simple(&b, v, color) && !sp__is_eye(&b, v, color))
                        legal[n++] = v;
                }
                if (n == 0)
                    sp__board_pass(&b, color);
                else if (game == 0)
                    sp__board_play(&b, legal[sp__rng_below(&rng, (uint32_t)n)], color);
                else
                    sp__board_play_inline(&b, legal[sp__rng_below(&rng, (uint32_t)n)], color, 0);
                const char *wrong = board_disagrees_with_recount(&b);
                ck_assert_msg(!wrong, "%dx%d game %d move %d: %s", size, size, game, move, wrong);
            }
        }
    }
}
END_TEST

START_TEST(undo_matches_replay_over_random_games)
{
    sp_rng *rng;
    sp_rng_create(&rng, 7);
    for (int trial = 0; trial < 20; trial++) {
        sp_game *g, *replay;
        sp_game_create(&g, NULL);
        sp_game_create(&replay, NULL);
        int move, n = 0;
        while (!sp_game_is_over(g) && n < 200) {
            sp_game_random_move(g, rng, &move);
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
            n++;
        }
        int back = (int)sp_rng_below(rng, (uint32_t)n + 1);
        for (int i = 0; i < back; i++)
            ck_assert_int_eq(sp_game_undo(g), SP_OK);
        for (int i = 0; i < n - back; i++) {
            int color;
            sp_game_move_at(g, i, &color, &move);
            ck_assert_int_eq(sp_game_play_as(replay, color, move), SP_OK);
        }
        ck_assert_str_eq(picture(g), picture(replay));
        ck_assert_uint_eq(sp_game_hash(g), sp_game_hash(replay));
        ck_assert_int_eq(sp_game_ko_point(g), sp_game_ko_point(replay));
        ck_assert_int_eq(sp_game_captures(g, SP_BLACK), sp_game_captures(replay, SP_BLACK));
        uint8_t m1[82], m2[82];
        sp_game_legal_mask(g, m1, sizeof m1);
        sp_game_legal_mask(replay, m2, sizeof m2);
        ck_assert_mem_eq(m1, m2, sizeof m1);
        sp_game_free(g);
        sp_game_free(replay);
    }
    sp_rng_free(rng);
}
END_TEST

START_TEST(two_passes_and_resignation_end_the_game)
{
    sp_game *g;
    sp_game_create(&g, NULL);
    ck_assert_int_eq(sp_game_play(g, 10), SP_OK);
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    ck_assert(!sp_game_is_over(g));
    ck_assert_int_eq(sp_game_play(g, SP_PASS), SP_OK);
    ck_assert(sp_game_is_over(g));
    ck_assert_int_eq(sp_game_end_reason(g), SP_END_PASSES);
    ck_assert_int_eq(sp_game_play(g, 20), SP_ERR_ILLEGAL_MOVE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "over"));
    /* One black stone owns the whole empty board: 81 - 7. */
    float score;
    ck_assert_int_eq(sp_game_score(g, &score), SP_OK);
    ck_assert_float_eq(score, 74.0f);
    ck_assert_int_eq(sp_game_winner(g), SP_BLACK);
    ck_assert_int_eq(sp_game_undo(g), SP_OK);
    ck_assert(!sp_game_is_over(g));
    ck_assert_int_eq(sp_game_play_as(g, SP_WHITE, SP_RESIGN), SP_OK);
    ck_assert_int_eq(sp_game_end_reason(g), SP_END_RESIGN);
    ck_assert_int_eq(sp_game_winner(g), SP_BLACK);
    ck_assert_int_eq(sp_game_last_move(g), SP_RESIGN);
    sp_game_free(g);
}
END_TEST

START_TEST(scoring_with_komi_and_seki)
{
    /* The two inner groups share their only liberties (0,1) and (0,3): whoever
     * plays there first is captured, so both live in seki. Tromp-Taylor
     * counts their stones and leaves the shared liberties to nobody. */
    const char *rows[] = { "X.O.X", "XOOOX", "XXXXX", "OOOOO", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    ck_assert_int_eq(sp_game_set_komi(g, 7.0f), SP_OK);
    float score;
    ck_assert_int_eq(sp_game_score(g, &score), SP_OK);
    ck_assert_float_eq(score, 9.0f - 14.0f - 7.0f);
    uint8_t own[25];
    ck_assert_int_eq(sp_game_ownership(g, own, sizeof own), SP_OK);
    ck_assert_int_eq(own[pt(5, 0, 1)], SP_EMPTY);
    ck_assert_int_eq(own[pt(5, 0, 3)], SP_EMPTY);
    ck_assert_int_eq(own[pt(5, 4, 2)], SP_WHITE);
    ck_assert_int_eq(own[pt(5, 0, 2)], SP_WHITE);
    ck_assert_int_eq(own[pt(5, 0, 0)], SP_BLACK);
    /* Either side filling a shared liberty gets captured: it is seki. */
    ck_assert_int_eq(sp_game_play_as(g, SP_BLACK, pt(5, 0, 1)), SP_OK);
    ck_assert_int_eq(sp_game_play_as(g, SP_WHITE, pt(5, 0, 3)), SP_OK);
    ck_assert_int_eq(sp_game_captures(g, SP_BLACK), 10);
    ck_assert_int_eq(sp_game_set_komi(g, 0.5f), SP_OK);
    ck_assert_int_eq(sp_game_set_komi(g, NAN), SP_ERR_INVALID_ARG);
    ck_assert_float_eq(sp_game_komi(g), 0.5f);
    sp_game_free(g);
}
END_TEST

START_TEST(eyes)
{
    const char *rows[] = { ".X.X.", "X.X.X", ".X.X.", "X.X..", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    ck_assert(sp_game_is_eye(g, pt(5, 0, 0), SP_BLACK));   /* corner */
    ck_assert(sp_game_is_eye(g, pt(5, 0, 2), SP_BLACK));   /* edge */
    ck_assert(sp_game_is_eye(g, pt(5, 1, 1), SP_BLACK));   /* centre */
    ck_assert(sp_game_is_eye(g, pt(5, 1, 3), SP_BLACK));
    ck_assert(!sp_game_is_eye(g, pt(5, 1, 1), SP_WHITE));
    ck_assert(!sp_game_is_eye(g, pt(5, 1, 2), SP_BLACK));  /* occupied */
    ck_assert(sp_game_is_eye(g, pt(5, 2, 2), SP_BLACK));
    ck_assert(!sp_game_is_eye(g, pt(5, 3, 1), SP_BLACK));  /* open below */
    sp_game_free(g);
    /* On the edge one opposing diagonal makes the eye false. */
    const char *edge[] = { ".X.X.", "..XO.", ".....", ".....", "....." };
    g = diagram(5, edge, SP_BLACK);
    ck_assert(!sp_game_is_eye(g, pt(5, 0, 2), SP_BLACK));
    sp_game_free(g);
    /* In the centre one opposing diagonal is allowed, two are not. */
    const char *centre[] = { ".....", ".OX..", ".X.X.", ".OX..", "....." };
    g = diagram(5, centre, SP_BLACK);
    ck_assert(!sp_game_is_eye(g, pt(5, 2, 2), SP_BLACK));
    ck_assert_int_eq(sp_game_setup(g, pt(5, 1, 1), SP_EMPTY), SP_OK);
    ck_assert(sp_game_is_eye(g, pt(5, 2, 2), SP_BLACK));
    sp_game_free(g);
}
END_TEST

START_TEST(gtp_notation)
{
    char buf[8];
    int move;
    ck_assert_int_eq(sp_move_to_gtp(9, sp_point(9, 5, 3), buf, sizeof buf), SP_OK);
    ck_assert_str_eq(buf, "D4");
    ck_assert_int_eq(sp_move_to_gtp(9, sp_point(9, 0, 8), buf, sizeof buf), SP_OK);
    ck_assert_str_eq(buf, "J9"); /* no I column */
    ck_assert_int_eq(sp_move_to_gtp(19, sp_point(19, 0, 18), buf, sizeof buf), SP_OK);
    ck_assert_str_eq(buf, "T19");
    ck_assert_int_eq(sp_move_to_gtp(9, SP_PASS, buf, sizeof buf), SP_OK);
    ck_assert_str_eq(buf, "pass");
    ck_assert_int_eq(sp_move_to_gtp(9, SP_RESIGN, buf, 3), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_move_to_gtp(9, 81, buf, sizeof buf), SP_ERR_INVALID_ARG);
    for (int p = 0; p < 81; p++) {
        ck_assert_int_eq(sp_move_to_gtp(9, p, buf, sizeof buf), SP_OK);
        ck_assert_int_eq(sp_move_from_gtp(9, buf, &move), SP_OK);
        ck_assert_int_eq(move, p);
    }
    ck_assert_int_eq(sp_move_from_gtp(9, "d4", &move), SP_OK);
    ck_assert_int_eq(move, sp_point(9, 5, 3));
    ck_assert_int_eq(sp_move_from_gtp(9, "PASS", &move), SP_OK);
    ck_assert_int_eq(move, SP_PASS);
    ck_assert_int_eq(sp_move_from_gtp(9, "Resign", &move), SP_OK);
    ck_assert_int_eq(move, SP_RESIGN);
    const char *bad[] = { "", "I5", "A0", "A10", "K1", "A", "5", "A1x", "A01", "Z9", "A-1", "pas" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sp_move_from_gtp(9, bad[i], &move) == SP_ERR_INVALID_ARG, "accepted '%s'", bad[i]);
    ck_assert_int_eq(sp_move_from_gtp(9, NULL, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_move_from_gtp(1, "A1", &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_point(9, 9, 0), -1);
}
END_TEST

/* Searches and datasets number the points, then pass: one mapping, both ways. */
START_TEST(action_mapping)
{
    int move, action;
    for (int size = SP_GO_MIN_SIZE; size <= SP_GO_MAX_SIZE; size++) {
        const int area = size * size;
        for (int a = 0; a <= area; a++) {
            ck_assert_int_eq(sp_action_to_move(size, a, &move), SP_OK);
            ck_assert_int_eq(move, a == area ? SP_PASS : a);
            ck_assert_int_eq(sp_move_to_action(size, move, &action), SP_OK);
            ck_assert_int_eq(action, a);
        }
        ck_assert_int_eq(sp_action_to_move(size, area + 1, &move), SP_ERR_INVALID_ARG);
        ck_assert_int_eq(sp_action_to_move(size, -1, &move), SP_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(sp_last_error(), "sp_action_to_move: action -1"));
        ck_assert_int_eq(sp_move_to_action(size, area, &action), SP_ERR_INVALID_ARG);
    }
    ck_assert_int_eq(sp_move_to_action(9, SP_RESIGN, &action), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "resigning has no action"));
    ck_assert_int_eq(sp_action_to_move(1, 0, &move), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_move_to_action(20, 0, &action), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_action_to_move(9, 0, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_move_to_action(9, 0, NULL), SP_ERR_INVALID_ARG);
}
END_TEST

START_TEST(planes_show_history_from_the_movers_side)
{
    sp_game *g;
    sp_game_create(&g, NULL);
    const int a = 81, history = 8, planes = sp_go_plane_count(history);
    ck_assert_int_eq(planes, 18);
    float *x = malloc(sizeof(float) * (size_t)(planes * a));
    ck_assert_int_eq(sp_game_play(g, 0), SP_OK);  /* Black */
    ck_assert_int_eq(sp_game_play(g, 80), SP_OK); /* White */
    ck_assert_int_eq(sp_game_play(g, 40), SP_OK); /* Black; White to move */
    ck_assert_int_eq(sp_game_planes(g, history, x, (size_t)(planes * a)), SP_OK);
    /* Now: own (White) stones, opponent (Black) stones. */
    ck_assert_float_eq(x[0 * a + 80], 1.0f);
    ck_assert_float_eq(x[1 * a + 0], 1.0f);
    ck_assert_float_eq(x[1 * a + 40], 1.0f);
    /* One move ago Black had not played 40 yet. */
    ck_assert_float_eq(x[3 * a + 40], 0.0f);
    ck_assert_float_eq(x[3 * a + 0], 1.0f);
    ck_assert_float_eq(x[2 * a + 80], 1.0f);
    /* Three moves ago the board was empty; before the game all zeros. */
    float sum = 0.0f;
    for (int i = 6 * a; i < 16 * a; i++)
        sum += x[i];
    ck_assert_float_eq(sum, 0.0f);
    ck_assert_float_eq(x[16 * a + 5], 0.0f); /* White to play */
    ck_assert_float_eq(x[17 * a + 5], 1.0f);
    ck_assert_int_eq(sp_game_planes(g, history, x, 10), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_game_planes(g, 0, x, (size_t)(planes * a)), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_planes(NULL, 8, x, (size_t)(planes * a)), SP_ERR_INVALID_ARG);
    free(x);
    sp_game_free(g);
}
END_TEST

START_TEST(symmetries_round_trip_and_commute_with_play)
{
    for (int s = 0; s < SP_SYMMETRY_COUNT; s++) {
        int inv = sp_symmetry_inverse(s);
        for (int p = 0; p < 81; p++)
            ck_assert_int_eq(sp_symmetry_point(inv, 9, sp_symmetry_point(s, 9, p)), p);
        ck_assert_int_eq(sp_symmetry_point(s, 9, SP_PASS), SP_PASS);
    }
    ck_assert_int_eq(sp_symmetry_inverse(8), -1);
    ck_assert_int_eq(sp_symmetry_point(0, 9, 81), -1);
    /* All eight images of a corner-adjacent point are distinct. */
    int seen[81] = { 0 };
    for (int s = 0; s < 8; s++)
        seen[sp_symmetry_point(s, 9, sp_point(9, 0, 1))]++;
    int distinct = 0;
    for (int p = 0; p < 81; p++)
        distinct += seen[p] == 1;
    ck_assert_int_eq(distinct, 8);

    /* Planes of a game transformed = planes of the game played with
     * transformed moves; and the inverse transform brings them back. */
    sp_rng *rng;
    sp_rng_create(&rng, 3);
    const int n = 18 * 81;
    float *x = malloc(sizeof(float) * n), *tx = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n),
          *back = malloc(sizeof(float) * n);
    for (int s = 0; s < 8; s++) {
        sp_game *g, *h;
        sp_game_create(&g, NULL);
        sp_game_create(&h, NULL);
        for (int i = 0; i < 30; i++) {
            int move;
            sp_game_random_move(g, rng, &move);
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
            ck_assert_int_eq(sp_game_play(h, sp_symmetry_point(s, 9, move)), SP_OK);
        }
        sp_game_planes(g, 8, x, n);
        sp_game_planes(h, 8, y, n);
        ck_assert_int_eq(sp_symmetry_planes(s, 9, 18, x, tx), SP_OK);
        ck_assert_mem_eq(tx, y, sizeof(float) * n);
        sp_symmetry_planes(sp_symmetry_inverse(s), 9, 18, tx, back);
        ck_assert_mem_eq(back, x, sizeof(float) * n);
        sp_game_free(g);
        sp_game_free(h);
    }
    ck_assert_int_eq(sp_symmetry_planes(9, 9, 18, x, y), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_symmetry_planes(0, 9, 18, NULL, y), SP_ERR_INVALID_ARG);
    free(x);
    free(tx);
    free(y);
    free(back);
    sp_rng_free(rng);
}
END_TEST

START_TEST(hash_is_positional)
{
    sp_game *a, *b;
    sp_game_create(&a, NULL);
    sp_game_create(&b, NULL);
    sp_game_play(a, 10);
    sp_game_play(a, 20);
    sp_game_play(a, 30);
    sp_game_play(b, 30);
    sp_game_play(b, 20);
    sp_game_play(b, 10);
    ck_assert_uint_eq(sp_game_hash(a), sp_game_hash(b));
    sp_game_play(b, SP_PASS);
    ck_assert_uint_eq(sp_game_hash(a), sp_game_hash(b));
    sp_game_play(b, 40);
    ck_assert_uint_ne(sp_game_hash(a), sp_game_hash(b));
    sp_game_free(a);
    sp_game_free(b);
}
END_TEST

/* Neither side has a legal move that is not one of its own eyes. */
static int finished(const sp_game *g)
{
    for (int c = SP_BLACK; c <= SP_WHITE; c++)
        for (int p = 0; p < sp_game_size(g) * sp_game_size(g); p++)
            if (sp_game_color_at(g, p) == SP_EMPTY && sp_game_is_legal(g, c, p) && !sp_game_is_eye(g, p, c))
                return 0;
    return 1;
}

START_TEST(random_games_end_with_only_eyes_left)
{
    sp_rng *rng;
    sp_rng_create(&rng, 11);
    for (int trial = 0; trial < 30; trial++) {
        sp_game *g;
        sp_game_create(&g, NULL);
        int move;
        while (!sp_game_is_over(g)) {
            ck_assert_int_eq(sp_game_random_move(g, rng, &move), SP_OK);
            if (move != SP_PASS) {
                ck_assert(sp_game_is_legal(g, sp_game_to_play(g), move));
                ck_assert(!sp_game_is_eye(g, move, sp_game_to_play(g)));
            }
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
            ck_assert_int_lt(sp_game_move_count(g), 1000);
        }
        ck_assert(finished(g));
        ck_assert_int_eq(sp_game_random_move(g, rng, &move), SP_ERR_MISUSE);
        sp_game_free(g);
    }
    sp_rng_free(rng);
}
END_TEST

START_TEST(random_move_is_uniform)
{
    /* Black's candidates are the empty points that are neither illegal nor
     * Black's own eyes; each must come up about equally often. */
    const char *rows[] = { ".X...", "X.O..", ".....", "...O.", "....." };
    sp_game *g = diagram(5, rows, SP_BLACK);
    sp_rng *rng;
    sp_rng_create(&rng, 5);
    int counts[25] = { 0 }, draws = 210000, candidates = 0;
    for (int i = 0; i < draws; i++) {
        int move;
        sp_game_random_move(g, rng, &move);
        ck_assert_int_ge(move, 0);
        counts[move]++;
    }
    for (int p = 0; p < 25; p++) {
        int allowed = sp_game_color_at(g, p) == SP_EMPTY && !sp_game_is_eye(g, p, SP_BLACK);
        if (!allowed) {
            ck_assert_int_eq(counts[p], 0);
            continue;
        }
        candidates++;
    }
    ck_assert_int_eq(candidates, 20); /* 21 empty points but the corner eye */
    for (int p = 0; p < 25; p++)
        if (counts[p])
            ck_assert_msg(abs(counts[p] - draws / candidates) < 400, "point %d drawn %d times", p, counts[p]);
    sp_rng_free(rng);
    sp_game_free(g);
}
END_TEST

START_TEST(playouts_score_and_leave_the_game_alone)
{
    sp_game *g;
    sp_game_create(&g, NULL);
    sp_game_play(g, 40);
    uint64_t hash = sp_game_hash(g);
    sp_rng *rng;
    sp_rng_create(&rng, 9);
    double sum = 0.0;
    for (int i = 0; i < 2000; i++) {
        float score;
        uint8_t own[81];
        ck_assert_int_eq(sp_game_playout(g, rng, 0, &score, own, sizeof own), SP_OK);
        int black = 0, white = 0;
        for (int p = 0; p < 81; p++) {
            black += own[p] == SP_BLACK;
            white += own[p] == SP_WHITE;
        }
        ck_assert_float_eq(score, (float)(black - white) - 7.0f);
        sum += score;
    }
    /* Black's centre stone is worth a few points in random play. */
    ck_assert_double_gt(sum / 2000, -7.0 + 1.0);
    ck_assert_uint_eq(sp_game_hash(g), hash);
    ck_assert_int_eq(sp_game_move_count(g), 1);
    /* Same seed, same playout. */
    float s1, s2;
    sp_rng_seed(rng, 1);
    sp_game_playout(g, rng, 0, &s1, NULL, 0);
    sp_rng_seed(rng, 1);
    sp_game_playout(g, rng, 0, &s2, NULL, 0);
    ck_assert_float_eq(s1, s2);
    uint8_t small[10];
    ck_assert_int_eq(sp_game_playout(g, rng, 0, &s1, small, sizeof small), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_game_playout(g, NULL, 0, &s1, NULL, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_playout(g, rng, -1, &s1, NULL, 0), SP_ERR_INVALID_ARG);
    sp_rng_free(rng);
    sp_game_free(g);
}
END_TEST

START_TEST(clone_copy_and_info)
{
    sp_game *g, *c;
    sp_game_create(&g, NULL);
    ck_assert_int_eq(sp_game_set_info(g, "PB", "Alice"), SP_OK);
    ck_assert_int_eq(sp_game_set_info(g, "PW", "Bob"), SP_OK);
    ck_assert_int_eq(sp_game_set_info(g, "PB", "Carol"), SP_OK);
    ck_assert_int_eq(sp_game_set_info(g, "SZ", "9"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_set_info(g, "pb", "x"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_set_info(g, "", "x"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_info_count(g), 2);
    sp_rng *rng;
    sp_rng_create(&rng, 2);
    for (int i = 0; i < 40; i++) {
        int move;
        sp_game_random_move(g, rng, &move);
        ck_assert_int_eq(sp_game_play(g, move), SP_OK);
    }
    sp_rng_free(rng);
    ck_assert_int_eq(sp_game_clone(&c, g), SP_OK);
    ck_assert_str_eq(picture(c), picture(g));
    ck_assert_int_eq(sp_game_move_count(c), sp_game_move_count(g));
    ck_assert_str_eq(sp_game_info(c, "PB"), "Carol");
    sp_game_set_info(g, "PB", NULL);
    ck_assert_ptr_null(sp_game_info(g, "PB"));
    ck_assert_str_eq(sp_game_info(c, "PB"), "Carol"); /* a deep copy */
    const char *k, *v;
    ck_assert_int_eq(sp_game_info_at(c, 1, &k, &v), SP_OK);
    ck_assert_str_eq(k, "PW");
    ck_assert_str_eq(v, "Bob");
    ck_assert_int_eq(sp_game_info_at(c, 2, &k, &v), SP_ERR_INVALID_ARG);
    /* copy into a game of another size */
    sp_game *small;
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = 5;
    sp_game_create(&small, &o);
    ck_assert_int_eq(sp_game_copy(small, g), SP_OK);
    ck_assert_int_eq(sp_game_size(small), 9);
    ck_assert_str_eq(picture(small), picture(g));
    ck_assert_int_eq(sp_game_undo(small), SP_OK);
    ck_assert_int_eq(sp_game_clear(g), SP_OK);
    ck_assert_int_eq(sp_game_move_count(g), 0);
    ck_assert_str_eq(sp_game_info(g, "PW"), "Bob");
    sp_game_free(small);
    sp_game_free(c);
    sp_game_free(g);
}
END_TEST

/* The copy the playout evaluator makes of every search state: into a used
 * game of any size, its buffers reused, its record information left alone. */
START_TEST(copy_position_into_used_games)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    sp_game *g, *dst;
    sp_rng *rng;
    sp_rng_create(&rng, 8);
    o.board_size = 9;
    sp_game_create(&g, &o);
    sp_game_set_info(g, "PB", "Alice");
    for (int i = 0; i < 60; i++) {
        int move;
        sp_game_random_move(g, rng, &move);
        ck_assert_int_eq(sp_game_play(g, move), SP_OK);
    }
    const char *sizes[] = { "5", "19", "9" };
    for (int k = 0; k < 3; k++) {
        o.board_size = atoi(sizes[k]);
        sp_game_create(&dst, &o);
        sp_game_set_info(dst, "PW", sizes[k]);
        for (int i = 0; i < 3; i++) {
            int move;
            sp_game_random_move(dst, rng, &move);
            sp_game_play(dst, move);
        }
        ck_assert_int_eq(sp__game_copy_position(dst, g), SP_OK);
        ck_assert_int_eq(sp_game_size(dst), 9);
        ck_assert_int_eq(sp_game_move_count(dst), 60);
        ck_assert_str_eq(picture(dst), picture(g));
        ck_assert_ptr_null(sp_game_info(dst, "PB"));
        ck_assert_str_eq(sp_game_info(dst, "PW"), sizes[k]);
        /* The whole history came along: undo walks it back to the start. */
        sp_game *back;
        sp_game_clone(&back, g);
        for (int i = 0; i < 60; i++) {
            ck_assert_int_eq(sp_game_undo(dst), SP_OK);
            ck_assert_int_eq(sp_game_undo(back), SP_OK);
            ck_assert_uint_eq(sp_game_hash(dst), sp_game_hash(back));
        }
        ck_assert_int_eq(sp_game_undo(dst), SP_ERR_MISUSE);
        sp_game_free(back);
        ck_assert_int_eq(sp__game_copy_position(dst, g), SP_OK);
        int move;
        sp_game_random_move(dst, rng, &move);
        ck_assert_int_eq(sp_game_play(dst, move), SP_OK);
        sp_game_free(dst);
    }
    sp_rng_free(rng);
    sp_game_free(g);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    sp_game *g = (sp_game *)1;
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = 1;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(g);
    o.board_size = 20;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_ERR_INVALID_ARG);
    o = (sp_game_options)SP_GAME_OPTIONS_INIT;
    o.version = 2;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_ERR_VERSION);
    o.version = 0;
    ck_assert_int_eq(sp_game_create(&g, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_create(NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_options_init(NULL, SP_GAME_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_options_init(&o, SP_GAME_OPTIONS_VERSION), SP_OK);
    ck_assert_int_eq(o.board_size, 9);
    sp_game_free(NULL);
    ck_assert_int_eq(sp_game_play(NULL, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_undo(NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_clone(NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_clone(&g, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_copy(NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_score(NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_board(NULL, NULL, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_legal_mask(NULL, NULL, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_color_at(NULL, 0), -1);
    ck_assert_int_eq(sp_game_to_play(NULL), SP_EMPTY);
    ck_assert_int_eq(sp_game_is_over(NULL), 0);
    ck_assert_ptr_null(sp_game_info(NULL, "PB"));
    ck_assert_int_eq(sp_game_set_info(NULL, "PB", "x"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_random_move(NULL, NULL, NULL), SP_ERR_INVALID_ARG);
    sp_game_create(&g, NULL);
    uint8_t buf[81];
    ck_assert_int_eq(sp_game_board(g, buf, 80), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_game_legal_mask(g, buf, 81), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_game_set_size(g, 25), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_setup(g, 81, SP_BLACK), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_set_to_play(g, 0), SP_ERR_INVALID_ARG);
    sp_game_play(g, 0);
    ck_assert_int_eq(sp_game_setup(g, 5, SP_BLACK), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_game_set_to_play(g, SP_BLACK), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_game_move_at(g, 1, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_game_set_size(g, 19), SP_OK);
    ck_assert_int_eq(sp_game_move_count(g), 0);
    ck_assert_int_eq(sp_game_play(g, 360), SP_OK);
    sp_game_free(g);
    /* A setup stone without liberties is refused and leaves the board as it was. */
    const char *rows[] = { ".X...", "X....", ".....", ".....", "....." };
    g = diagram(5, rows, SP_BLACK);
    ck_assert_int_eq(sp_game_setup(g, 0, SP_WHITE), SP_ERR_ILLEGAL_MOVE);
    ck_assert_str_eq(picture(g), ".X.../X..../...../...../.....");
    sp_game_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("go");
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, single_capture_in_the_corner);
    tcase_add_test(rules, one_move_captures_several_groups);
    tcase_add_test(rules, snapback);
    tcase_add_test(rules, suicide_is_illegal);
    tcase_add_test(rules, ko_and_positional_superko);
    tcase_add_test(rules, occupied_and_bad_points);
    tcase_add_test(rules, undo_restores_everything);
    tcase_add_test(rules, undo_matches_replay_over_random_games);
    tcase_add_test(rules, board_groups_match_a_recount_on_every_size);
    tcase_add_test(rules, two_passes_and_resignation_end_the_game);
    tcase_add_test(rules, scoring_with_komi_and_seki);
    tcase_add_test(rules, eyes);
    tcase_add_test(rules, hash_is_positional);
    suite_add_tcase(s, rules);
    TCase *other = tcase_create("notation-features-playouts");
    tcase_set_timeout(other, 60);
    tcase_add_test(other, gtp_notation);
    tcase_add_test(other, action_mapping);
    tcase_add_test(other, copy_position_into_used_games);
    tcase_add_test(other, planes_show_history_from_the_movers_side);
    tcase_add_test(other, symmetries_round_trip_and_commute_with_play);
    tcase_add_test(other, random_games_end_with_only_eyes_left);
    tcase_add_test(other, random_move_is_uniform);
    tcase_add_test(other, playouts_score_and_leave_the_game_alone);
    tcase_add_test(other, clone_copy_and_info);
    tcase_add_test(other, bad_arguments_are_refused);
    suite_add_tcase(s, other);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
