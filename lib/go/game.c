/* The game: legality with positional superko, play, undo, setup, and the
 * history that records every position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "game_internal.h"

int sp__check_game(const sp_game *g, const char *fn)
{
    return g ? SP_OK : sp__error(SP_ERR_INVALID_ARG, "%s: game is NULL", fn);
}

int sp__check_color(int color, const char *fn)
{
    if (color == SP_BLACK || color == SP_WHITE)
        return SP_OK;
    return sp__error(SP_ERR_INVALID_ARG, "%s: color %d is neither SP_BLACK nor SP_WHITE", fn, color);
}

static const sp_game_options game_defaults = SP_GAME_OPTIONS_INIT;
static const sp__options_type game_options_type = { "sp_game_options", SP_GAME_OPTIONS_VERSION,
                                                    sizeof(sp_game_options), &game_defaults, { 0 } };

int sp_game_options_init(sp_game_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &game_options_type, "sp_game_options_init");
}

static int area(const sp_game *g) { return g->board.size * g->board.size; }

/* Make room for one more move in the history arrays. */
static int reserve(sp_game *g, int moves)
{
    if (moves < g->capacity)
        return SP_OK;
    int cap = g->capacity ? g->capacity * 2 : 128;
    while (cap <= moves)
        cap *= 2;
    sp__move *mv = realloc(g->moves, (size_t)cap * sizeof *mv);
    if (mv)
        g->moves = mv;
    sp__snapshot *sn = realloc(g->snaps, (size_t)(cap + 1) * sizeof *sn);
    if (sn)
        g->snaps = sn;
    uint8_t *bd = realloc(g->boards, (size_t)(cap + 1) * (size_t)area(g));
    if (bd)
        g->boards = bd;
    if (!mv || !sn || !bd)
        return sp__error(SP_ERR_NOMEM, "out of memory for the game history");
    g->capacity = cap;
    return SP_OK;
}

/* Store the board's current state as the position after `index` moves. */
static void record(sp_game *g, int index)
{
    const sp__board *b = &g->board;
    sp__snapshot *s = &g->snaps[index];
    s->hash = b->hash;
    s->ko = (int16_t)b->ko;
    s->ko_color = (int16_t)b->ko_color;
    s->passes = (int16_t)b->passes;
    s->to_play = (int16_t)b->to_play;
    memcpy(s->captures, b->captures, sizeof s->captures);
    const int stones = area(g) - b->n_empty;
    s->most_stones = index > 0 && g->snaps[index - 1].most_stones > stones ? g->snaps[index - 1].most_stones : stones;
    /* A board row is contiguous in the vertex layout: copy it whole. */
    uint8_t *out = g->boards + (size_t)index * (size_t)area(g);
    for (int row = 0; row < b->size; row++)
        memcpy(out + row * b->size, &b->color[(row + 1) * b->stride + 1], (size_t)b->size);
}

/* Rebuild the board from the recorded position after `index` moves. */
static void restore(sp_game *g, int index)
{
    sp__board *b = &g->board;
    sp__board_set_colors(b, b->size, sp__game_board_at(g, index));
    const sp__snapshot *s = &g->snaps[index];
    b->ko = s->ko;
    b->ko_color = s->ko_color;
    b->passes = s->passes;
    b->to_play = s->to_play;
    memcpy(b->captures, s->captures, sizeof s->captures);
    b->last_move = SP__NO_VERTEX;
    if (index > 0 && g->moves[index - 1].move >= 0)
        b->last_move = sp__vertex(b, g->moves[index - 1].move);
}

static int reset(sp_game *g, int size)
{
    int old_area = g->capacity ? area(g) : 0;
    sp__board_init(&g->board, size);
    if (area(g) > old_area && g->capacity) {
        uint8_t *bd = realloc(g->boards, (size_t)(g->capacity + 1) * (size_t)area(g));
        if (!bd)
            return sp__error(SP_ERR_NOMEM, "out of memory for the game history");
        g->boards = bd;
    }
    g->n_moves = 0;
    g->end = SP_END_NONE;
    int rc = reserve(g, 0);
    if (rc)
        return rc;
    record(g, 0);
    return SP_OK;
}

int sp_game_create(sp_game **out, const sp_game_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_create: out is NULL");
    *out = NULL;
    sp_game_options o;
    int rc = sp__options_read(&o, opts, &game_options_type, "sp_game_create");
    if (rc != SP_OK)
        return rc;
    if (o.board_size < SP_GO_MIN_SIZE || o.board_size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_create: board size %d outside %d..%d", (int)o.board_size,
                         SP_GO_MIN_SIZE, SP_GO_MAX_SIZE);
    if (!isfinite(o.komi) || fabsf(o.komi) > 1000.0f)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_create: komi must be finite and within +-1000");
    sp_game *g = calloc(1, sizeof *g);
    if (!g)
        return sp__error(SP_ERR_NOMEM, "sp_game_create: out of memory");
    g->komi = o.komi;
    g->board.size = o.board_size;
    rc = reset(g, o.board_size);
    if (rc) {
        sp_game_free(g);
        return rc;
    }
    *out = g;
    return SP_OK;
}

void sp_game_free(sp_game *g)
{
    if (!g)
        return;
    sp__info_free(g);
    free(g->moves);
    free(g->snaps);
    free(g->boards);
    free(g);
}

int sp__game_copy_position(sp_game *dst, const sp_game *src)
{
    if (dst->capacity && area(src) > area(dst)) {
        /* reserve() below sizes the boards only when the move capacity grows. */
        uint8_t *bd = realloc(dst->boards, (size_t)(dst->capacity + 1) * (size_t)area(src));
        if (!bd)
            return sp__error(SP_ERR_NOMEM, "out of memory for the game history");
        dst->boards = bd;
    }
    dst->board.size = src->board.size;
    int rc = reserve(dst, src->n_moves + 1);
    if (rc)
        return rc;
    sp__board_copy(&dst->board, &src->board);
    dst->komi = src->komi;
    dst->end = src->end;
    dst->n_moves = src->n_moves;
    memcpy(dst->moves, src->moves, (size_t)src->n_moves * sizeof *dst->moves);
    memcpy(dst->snaps, src->snaps, (size_t)(src->n_moves + 1) * sizeof *dst->snaps);
    memcpy(dst->boards, src->boards, (size_t)(src->n_moves + 1) * (size_t)area(src));
    return SP_OK;
}

int sp_game_copy(sp_game *dst, const sp_game *src)
{
    if (!dst || !src)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_copy: %s is NULL", dst ? "src" : "dst");
    if (dst == src)
        return SP_OK;
    /* Built aside, so that a failure leaves dst as it was. */
    sp_game tmp = { 0 };
    int rc = sp__game_copy_position(&tmp, src);
    if (!rc)
        rc = sp__info_copy(&tmp, src);
    if (rc) {
        free(tmp.moves);
        free(tmp.snaps);
        free(tmp.boards);
        sp__info_free(&tmp);
        return rc;
    }
    free(dst->moves);
    free(dst->snaps);
    free(dst->boards);
    sp__info_free(dst);
    /* The board is large; copy it by its used part, then the rest by value. */
    sp__board_copy(&dst->board, &tmp.board);
    dst->komi = tmp.komi;
    dst->end = tmp.end;
    dst->n_moves = tmp.n_moves;
    dst->capacity = tmp.capacity;
    dst->moves = tmp.moves;
    dst->snaps = tmp.snaps;
    dst->boards = tmp.boards;
    dst->n_info = tmp.n_info;
    dst->info = tmp.info;
    return SP_OK;
}

int sp_game_clone(sp_game **out, const sp_game *game)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_clone: out is NULL");
    *out = NULL;
    int rc = sp__check_game(game, "sp_game_clone");
    if (rc)
        return rc;
    sp_game *g = calloc(1, sizeof *g);
    if (!g)
        return sp__error(SP_ERR_NOMEM, "sp_game_clone: out of memory");
    rc = sp_game_copy(g, game);
    if (rc) {
        free(g);
        return rc;
    }
    *out = g;
    return SP_OK;
}

int sp_game_clear(sp_game *game)
{
    int rc = sp__check_game(game, "sp_game_clear");
    return rc ? rc : reset(game, game->board.size);
}

int sp_game_set_size(sp_game *game, int size)
{
    int rc = sp__check_game(game, "sp_game_set_size");
    if (rc)
        return rc;
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_set_size: board size %d outside %d..%d", size,
                         SP_GO_MIN_SIZE, SP_GO_MAX_SIZE);
    return reset(game, size);
}

int sp_game_size(const sp_game *game) { return game ? game->board.size : 0; }

int sp_game_set_komi(sp_game *game, float komi)
{
    int rc = sp__check_game(game, "sp_game_set_komi");
    if (rc)
        return rc;
    if (!isfinite(komi) || fabsf(komi) > 1000.0f)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_set_komi: komi must be finite and within +-1000");
    game->komi = komi;
    return SP_OK;
}

float sp_game_komi(const sp_game *game) { return game ? game->komi : 0.0f; }

int sp_game_to_play(const sp_game *game) { return game ? game->board.to_play : SP_EMPTY; }

int sp_game_set_to_play(sp_game *game, int color)
{
    int rc = sp__check_game(game, "sp_game_set_to_play");
    if (!rc)
        rc = sp__check_color(color, "sp_game_set_to_play");
    if (rc)
        return rc;
    if (game->n_moves > 0)
        return sp__error(SP_ERR_MISUSE, "sp_game_set_to_play: moves were already played");
    game->board.to_play = color;
    game->snaps[0].to_play = (int16_t)color;
    return SP_OK;
}

static int check_point(const sp_game *g, int point, const char *fn)
{
    if (point < 0 || point >= area(g))
        return sp__error(SP_ERR_INVALID_ARG, "%s: point %d is off the %dx%d board", fn, point, g->board.size,
                         g->board.size);
    return SP_OK;
}

int sp_game_setup(sp_game *game, int point, int color)
{
    int rc = sp__check_game(game, "sp_game_setup");
    if (!rc)
        rc = check_point(game, point, "sp_game_setup");
    if (!rc && color != SP_EMPTY)
        rc = sp__check_color(color, "sp_game_setup");
    if (rc)
        return rc;
    if (game->n_moves > 0)
        return sp__error(SP_ERR_MISUSE, "sp_game_setup: setup stones only before the first move");
    uint8_t *colors = game->boards;
    uint8_t old = colors[point];
    colors[point] = (uint8_t)color;
    int to_play = game->board.to_play;
    if (sp__board_set_colors(&game->board, game->board.size, colors) != 0) {
        colors[point] = old;
        sp__board_set_colors(&game->board, game->board.size, colors);
        game->board.to_play = to_play;
        return sp__error(SP_ERR_ILLEGAL_MOVE, "sp_game_setup: a stone at point %d leaves a group without liberties",
                         point);
    }
    game->board.to_play = to_play;
    record(game, 0);
    return SP_OK;
}

/* Would a stone of `color` at empty vertex v capture anything? */
static int captures_any(const sp__board *b, int v, int color)
{
    const int s = b->stride, opp = sp__opponent(color);
    const int nb[4] = { v - s, v - 1, v + 1, v + s };
    for (int k = 0; k < 4; k++)
        if (b->color[nb[k]] == opp && sp__group_in_atari(b, b->group[nb[k]]))
            return 1;
    return 0;
}

/* Why `color` may not play `move` now, or NULL when it may. */
static const char *illegal_reason(const sp_game *g, int color, int move)
{
    if (g->end != SP_END_NONE)
        return "the game is over";
    if (move == SP_PASS || move == SP_RESIGN)
        return NULL;
    const sp__board *b = &g->board;
    int v = sp__vertex(b, move);
    if (b->color[v] != SP_EMPTY)
        return "the point is occupied";
    if (v == b->ko && color == b->ko_color)
        return "ko: the stone just captured may not be retaken at once";
    if (sp__is_suicide(b, v, color))
        return "suicide";
    /* A position can only repeat one with as many stones. A move that
     * captures nothing leaves one stone more than now; when no earlier
     * position had more stones than this one (no captures yet, in most
     * games most of the time), none can repeat and the history scan is
     * skipped. */
    if (g->snaps[g->n_moves].most_stones == area(g) - b->n_empty && !captures_any(b, v, color))
        return NULL;
    uint64_t h = sp__board_hash_after(b, v, color);
    for (int i = 0; i <= g->n_moves; i++)
        if (g->snaps[i].hash == h)
            return "positional superko: the position was seen before";
    return NULL;
}

static int check_move_args(const sp_game *g, int color, int move, const char *fn)
{
    int rc = sp__check_game(g, fn);
    if (!rc)
        rc = sp__check_color(color, fn);
    if (!rc && move != SP_PASS && move != SP_RESIGN)
        rc = check_point(g, move, fn);
    return rc;
}

int sp_game_is_legal(const sp_game *game, int color, int move)
{
    if (check_move_args(game, color, move, "sp_game_is_legal"))
        return 0;
    const char *why = illegal_reason(game, color, move);
    if (why)
        sp__error(SP_ERR_ILLEGAL_MOVE, "illegal move: %s", why);
    return why == NULL;
}

int sp_game_play_as(sp_game *game, int color, int move)
{
    int rc = check_move_args(game, color, move, "sp_game_play");
    if (rc)
        return rc;
    const char *why = illegal_reason(game, color, move);
    if (why)
        return sp__error(SP_ERR_ILLEGAL_MOVE, "illegal move: %s", why);
    rc = reserve(game, game->n_moves + 1);
    if (rc)
        return rc;
    sp__board *b = &game->board;
    if (move == SP_RESIGN) {
        game->end = SP_END_RESIGN;
    } else if (move == SP_PASS) {
        sp__board_pass(b, color);
        if (b->passes >= 2)
            game->end = SP_END_PASSES;
    } else {
        sp__board_play(b, sp__vertex(b, move), color);
    }
    game->moves[game->n_moves] = (sp__move){ (int8_t)color, (int16_t)move };
    game->n_moves++;
    record(game, game->n_moves);
    return SP_OK;
}

int sp_game_play(sp_game *game, int move)
{
    return sp_game_play_as(game, game ? game->board.to_play : SP_BLACK, move);
}

int sp_game_undo(sp_game *game)
{
    int rc = sp__check_game(game, "sp_game_undo");
    if (rc)
        return rc;
    if (game->n_moves == 0)
        return sp__error(SP_ERR_MISUSE, "sp_game_undo: no move to take back");
    game->n_moves--;
    game->end = SP_END_NONE;
    restore(game, game->n_moves);
    return SP_OK;
}

int sp_game_move_count(const sp_game *game) { return game ? game->n_moves : 0; }

int sp_game_move_at(const sp_game *game, int index, int *out_color, int *out_move)
{
    int rc = sp__check_game(game, "sp_game_move_at");
    if (rc)
        return rc;
    if (index < 0 || index >= game->n_moves)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_move_at: index %d outside 0..%d", index, game->n_moves - 1);
    if (out_color)
        *out_color = game->moves[index].color;
    if (out_move)
        *out_move = game->moves[index].move;
    return SP_OK;
}

int sp_game_last_move(const sp_game *game)
{
    return game && game->n_moves ? game->moves[game->n_moves - 1].move : SP_PASS;
}

int sp_game_end_reason(const sp_game *game) { return game ? game->end : SP_END_NONE; }

int sp_game_is_over(const sp_game *game) { return game && game->end != SP_END_NONE; }

int sp_game_color_at(const sp_game *game, int point)
{
    if (!game || point < 0 || point >= area(game))
        return -1;
    return game->board.color[sp__vertex(&game->board, point)];
}

int sp_game_board(const sp_game *game, uint8_t *out, size_t capacity)
{
    int rc = sp__check_game(game, "sp_game_board");
    if (rc)
        return rc;
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_board: out is NULL");
    if (capacity < (size_t)area(game))
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_game_board: %d bytes needed", area(game));
    memcpy(out, sp__game_board_at(game, game->n_moves), (size_t)area(game));
    return SP_OK;
}

int sp_game_captures(const sp_game *game, int color)
{
    if (!game || (color != SP_BLACK && color != SP_WHITE))
        return -1;
    return game->board.captures[color];
}

int sp_game_ko_point(const sp_game *game)
{
    if (!game || game->board.ko == SP__NO_VERTEX)
        return -1;
    return sp__point(&game->board, game->board.ko);
}

uint64_t sp_game_hash(const sp_game *game) { return game ? game->board.hash : 0; }

int sp_game_legal_mask(const sp_game *game, uint8_t *out, size_t capacity)
{
    int rc = sp__check_game(game, "sp_game_legal_mask");
    if (rc)
        return rc;
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_legal_mask: out is NULL");
    if (capacity < (size_t)area(game) + 1)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_game_legal_mask: %d bytes needed", area(game) + 1);
    int color = game->board.to_play;
    for (int p = 0; p < area(game); p++)
        out[p] = illegal_reason(game, color, p) == NULL;
    out[area(game)] = game->end == SP_END_NONE;
    return SP_OK;
}

int sp_game_is_eye(const sp_game *game, int point, int color)
{
    if (!game || point < 0 || point >= area(game) || (color != SP_BLACK && color != SP_WHITE))
        return 0;
    int v = sp__vertex(&game->board, point);
    return game->board.color[v] == SP_EMPTY && sp__is_eye(&game->board, v, color);
}
