/* The standard GTP 2 commands that set up, play and score a game. Error
 * texts are the ones the specification names ("syntax error", "illegal
 * move", "cannot undo", "unacceptable size"), which controllers match. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtp_internal.h"

static int cmd_protocol_version(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    gtp_printf(e, "2");
    return 0;
}

static int cmd_name(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    gtp_printf(e, "libsemiparam");
    return 0;
}

static int cmd_version(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    gtp_printf(e, "%s (%s player)", sp_version_string(), e->player.name ? e->player.name : "custom");
    return 0;
}

static int cmd_boardsize(gtp_engine *e, int argc, char **args, void *payload)
{
    int size;
    if (argc != 1 || gtp__parse_int(args[0], -1000000, 1000000, &size))
        return gtp__fail(e, "syntax error");
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return gtp__fail(e, "unacceptable size");
    gtp__game_ends(e);
    if (sp_game_set_size(e->game, size) != SP_OK)
        return gtp__fail(e, "unacceptable size");
    return 0;
}

static int cmd_clear_board(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    gtp__game_ends(e);
    return sp_game_clear(e->game) == SP_OK ? 0 : gtp__fail(e, "cannot clear the board");
}

static int cmd_komi(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc != 1)
        return gtp__fail(e, "syntax error");
    char *end;
    float komi = strtof(args[0], &end);
    if (end == args[0] || *end || !isfinite(komi) || sp_game_set_komi(e->game, komi) != SP_OK)
        return gtp__fail(e, "syntax error");
    return 0;
}

/* A vertex as `play` takes it: a point or pass (resign is no vertex). */
static int parse_vertex(gtp_engine *e, const char *text, int *out_move)
{
    return sp_move_from_gtp(sp_game_size(e->game), text, out_move) == SP_OK && *out_move != SP_RESIGN ? 0 : -1;
}

static int cmd_play(gtp_engine *e, int argc, char **args, void *payload)
{
    int move, color = argc == 2 ? gtp_parse_color(args[0]) : -1;
    if (color < 0 || parse_vertex(e, args[1], &move))
        return gtp__fail(e, "syntax error");
    return sp_game_play_as(e->game, color, move) == SP_OK ? 0 : gtp__fail(e, "illegal move");
}

static int cmd_genmove(gtp_engine *e, int argc, char **args, void *payload)
{
    int color = argc == 1 ? gtp_parse_color(args[0]) : -1;
    if (color < 0)
        return gtp__fail(e, "syntax error");
    /* After two passes (or a resignation) the game accepts no move: keep passing. */
    int move = SP_PASS;
    if (!sp_game_is_over(e->game)) {
        char message[512];
        if (e->player.genmove(e->player.payload, e->game, color, &e->clock[color], &move)) {
            snprintf(message, sizeof message, "the player failed to choose a move: %s", sp_last_error());
            return gtp__fail(e, message);
        }
        if (sp_game_play_as(e->game, color, move) != SP_OK) {
            char vertex[8];
            sp_move_to_gtp(sp_game_size(e->game), move, vertex, sizeof vertex);
            snprintf(message, sizeof message, "the player chose %s: %s", vertex, sp_last_error());
            return gtp__fail(e, message);
        }
    }
    char vertex[8];
    sp_move_to_gtp(sp_game_size(e->game), move, vertex, sizeof vertex);
    gtp_printf(e, "%s", vertex);
    return 0;
}

static int cmd_undo(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    return sp_game_undo(e->game) == SP_OK ? 0 : gtp__fail(e, "cannot undo");
}

static int cmd_final_score(gtp_engine *e, int argc, char **args, void *payload)
{
    if (argc)
        return gtp__fail(e, "syntax error");
    int n = sp_game_move_count(e->game), color = SP_EMPTY, move = SP_PASS;
    if (sp_game_end_reason(e->game) == SP_END_RESIGN && sp_game_move_at(e->game, n - 1, &color, &move) == SP_OK) {
        gtp_printf(e, "%c+R", color == SP_BLACK ? 'W' : 'B');
        return 0;
    }
    float score;
    if (sp_game_score(e->game, &score) != SP_OK)
        return gtp__fail(e, "cannot score");
    if (score == 0.0f)
        gtp_printf(e, "0");
    else
        gtp_printf(e, "%c+%g", score > 0 ? 'B' : 'W', (double)fabsf(score));
    return 0;
}

/* The diagram: columns lettered above and below, rows numbered both sides,
 * X for Black, O for White, then who is to move and the prisoners. */
static int cmd_showboard(gtp_engine *e, int argc, char **args, void *payload)
{
    static const char columns[] = "ABCDEFGHJKLMNOPQRST";
    if (argc)
        return gtp__fail(e, "syntax error");
    int size = sp_game_size(e->game);
    gtp_printf(e, "\n  ");
    for (int col = 0; col < size; col++)
        gtp_printf(e, " %c", columns[col]);
    for (int row = 0; row < size; row++) {
        gtp_printf(e, "\n%2d", size - row);
        for (int col = 0; col < size; col++) {
            int c = sp_game_color_at(e->game, sp_point(size, row, col));
            gtp_printf(e, " %c", c == SP_BLACK ? 'X' : c == SP_WHITE ? 'O' : '.');
        }
        gtp_printf(e, " %d", size - row);
    }
    gtp_printf(e, "\n  ");
    for (int col = 0; col < size; col++)
        gtp_printf(e, " %c", columns[col]);
    gtp_printf(e, "\n%s to play; captured by black (X): %d, by white (O): %d; komi %g",
               sp_game_to_play(e->game) == SP_BLACK ? "black" : "white", sp_game_captures(e->game, SP_WHITE),
               sp_game_captures(e->game, SP_BLACK), (double)sp_game_komi(e->game));
    return 0;
}

static int cmd_time_settings(gtp_engine *e, int argc, char **args, void *payload)
{
    int main_time, byo_yomi_time, byo_yomi_stones;
    if (argc != 3 || gtp__parse_int(args[0], 0, 1000000000, &main_time)
        || gtp__parse_int(args[1], 0, 1000000000, &byo_yomi_time)
        || gtp__parse_int(args[2], 0, 1000000000, &byo_yomi_stones))
        return gtp__fail(e, "syntax error");
    for (int c = SP_BLACK; c <= SP_WHITE; c++)
        e->clock[c] = (gtp_clock){ main_time, byo_yomi_time, byo_yomi_stones, -1, 0 };
    return 0;
}

static int cmd_time_left(gtp_engine *e, int argc, char **args, void *payload)
{
    int time_left, stones, color = argc == 3 ? gtp_parse_color(args[0]) : -1;
    if (color < 0 || gtp__parse_int(args[1], -1000000000, 1000000000, &time_left)
        || gtp__parse_int(args[2], 0, 1000000000, &stones))
        return gtp__fail(e, "syntax error");
    e->clock[color].time_left = time_left;
    e->clock[color].stones_left = stones;
    return 0;
}

int gtp__register_standard(gtp_engine *e)
{
    static const struct {
        const char *name;
        gtp_command_fn fn;
    } table[] = {
        { "protocol_version", cmd_protocol_version },
        { "name", cmd_name },
        { "version", cmd_version },
        { "boardsize", cmd_boardsize },
        { "clear_board", cmd_clear_board },
        { "komi", cmd_komi },
        { "play", cmd_play },
        { "genmove", cmd_genmove },
        { "undo", cmd_undo },
        { "final_score", cmd_final_score },
        { "showboard", cmd_showboard },
        { "time_settings", cmd_time_settings },
        { "time_left", cmd_time_left },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (gtp_engine_register(e, table[i].name, table[i].fn, NULL))
            return -1;
    return 0;
}
