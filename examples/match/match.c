/* A refereed game: the library's sp_game decides what is legal; an engine
   that errs, crashes, hangs or answers garbage loses the game. */
#include <stdarg.h>
#include <string.h>

#include "match.h"

int match_engine_start(match_engine *e, int timeout_ms, char *why, size_t why_size)
{
    if (e->gtp)
        return 0;
    e->gtp = gtp_client_start_shell(e->command, -1);
    if (!e->gtp) {
        snprintf(why, why_size, "cannot start '%s'", e->command);
        return -1;
    }
    /* `name` is required by GTP v2: an engine that cannot answer it is not one. */
    const char *text;
    enum gtp_reply r = gtp_client_command(e->gtp, "name", timeout_ms, &text);
    if (r != GTP_REPLY_OK) {
        snprintf(why, why_size, "'%s' does not answer GTP 'name' (%s)", e->command, gtp_reply_name(r));
        match_engine_stop(e);
        return -1;
    }
    snprintf(e->name, sizeof e->name, "%s", text);
    if (gtp_client_command(e->gtp, "version", timeout_ms, &text) == GTP_REPLY_OK && text[0]) {
        size_t n = strlen(e->name);
        snprintf(e->name + n, sizeof e->name - n, " %s", text);
    }
    return 0;
}

void match_engine_stop(match_engine *e)
{
    gtp_client_stop(e->gtp, 1000);
    e->gtp = NULL;
}

static int other(int color)
{
    return color == SP_BLACK ? SP_WHITE : SP_BLACK;
}

static const char *color_name(int color)
{
    return color == SP_BLACK ? "black" : "white";
}

/* The engine playing @p loser lost by a fault: the RE value says forfeit
   (F) or time (T), and the engine is stopped so that the next game starts
   it afresh in a known state. */
static void lose(match_result *res, match_engine *loser, int loser_color, char kind, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    res->winner = other(loser_color);
    res->end = MATCH_END_FAULT;
    snprintf(res->reason, sizeof res->reason, "%s (%s, %.100s) %s", color_name(loser_color), loser->label,
             loser->name[0] ? loser->name : loser->command, detail);
    snprintf(res->re, sizeof res->re, "%c+%c", res->winner == SP_BLACK ? 'B' : 'W', kind);
    match_engine_stop(loser);
}

/* Send one command to @p e; a reply other than '=' is a fault of @p e. */
static int command_or_lose(match_result *res, match_engine *e, int color, int timeout_ms, const char *command,
                           const char **out_text)
{
    enum gtp_reply r = gtp_client_command(e->gtp, command, timeout_ms, out_text);
    if (r == GTP_REPLY_OK)
        return 0;
    if (r == GTP_REPLY_TIMEOUT)
        lose(res, e, color, 'T', "gave no answer to '%s' within %d ms", command, timeout_ms);
    else if (r == GTP_REPLY_ERROR)
        lose(res, e, color, 'F', "refused '%s': %s", command, *out_text);
    else
        lose(res, e, color, 'F', "on '%s': %s", command, gtp_reply_name(r));
    return -1;
}

static void score(const sp_game *game, match_result *res)
{
    sp_game_score(game, &res->score);
    char margin[16];
    float m = res->score < 0 ? -res->score : res->score;
    snprintf(margin, sizeof margin, m == (float)(int)m ? "%.0f" : "%.1f", m);
    if (res->score == 0) {
        res->winner = SP_EMPTY;
        snprintf(res->re, sizeof res->re, "0");
    } else {
        res->winner = res->score > 0 ? SP_BLACK : SP_WHITE;
        snprintf(res->re, sizeof res->re, "%c+%s", res->score > 0 ? 'B' : 'W', margin);
    }
}

static int setup(match_engine *e, int color, const match_settings *s, match_result *res)
{
    char why[256], cmd[64];
    const char *text;
    if (match_engine_start(e, s->timeout_ms, why, sizeof why) < 0) {
        lose(res, e, color, 'F', "could not start: %s", why);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "boardsize %d", s->size);
    if (command_or_lose(res, e, color, s->timeout_ms, cmd, &text) < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "komi %g", (double)s->komi);
    if (command_or_lose(res, e, color, s->timeout_ms, cmd, &text) < 0)
        return -1;
    return command_or_lose(res, e, color, s->timeout_ms, "clear_board", &text);
}

static void play_moves(match_engine *black, match_engine *white, const match_settings *s, sp_game *game,
                       match_result *res)
{
    while (!sp_game_is_over(game)) {
        if (sp_game_move_count(game) >= s->max_moves) {
            score(game, res);
            res->end = MATCH_END_MOVE_LIMIT;
            snprintf(res->reason, sizeof res->reason, "move limit %d reached; board scored as it stands",
                     s->max_moves);
            return;
        }
        int color = sp_game_to_play(game);
        match_engine *mover = color == SP_BLACK ? black : white;
        match_engine *watcher = color == SP_BLACK ? white : black;
        char cmd[64], vertex[16];
        const char *text;
        snprintf(cmd, sizeof cmd, "genmove %s", color_name(color));
        if (command_or_lose(res, mover, color, s->timeout_ms, cmd, &text) < 0)
            return;
        int move;
        if (sp_move_from_gtp(s->size, text, &move) != SP_OK) {
            lose(res, mover, color, 'F', "answered the unparsable move '%.40s'", text);
            return;
        }
        if (move == SP_RESIGN) {
            sp_game_play(game, SP_RESIGN);
            res->winner = other(color);
            res->end = MATCH_END_RESIGN;
            snprintf(res->re, sizeof res->re, "%c+R", res->winner == SP_BLACK ? 'B' : 'W');
            snprintf(res->reason, sizeof res->reason, "%s (%s) resigned", color_name(color), mover->label);
            return;
        }
        sp_move_to_gtp(s->size, move, vertex, sizeof vertex);
        if (sp_game_play(game, move) != SP_OK) {
            lose(res, mover, color, 'F', "played the illegal move %s at move %d: %s", vertex,
                 sp_game_move_count(game) + 1, sp_last_error());
            return;
        }
        snprintf(cmd, sizeof cmd, "play %s %s", color_name(color), vertex);
        if (command_or_lose(res, watcher, other(color), s->timeout_ms, cmd, &text) < 0)
            return;
        if (s->show) {
            fprintf(s->out, "move %d: %s %s\n", sp_game_move_count(game), color_name(color), vertex);
            match_print_board(s->out, game);
            fflush(s->out);
        }
    }
    score(game, res);
    res->end = MATCH_END_SCORE;
    snprintf(res->reason, sizeof res->reason, "two passes; Tromp-Taylor score %+.1f", (double)res->score);
}

/* The given opening, told to both engines as `play` commands. An engine
 * that refuses a legal move loses; an illegal opening move is the caller's
 * mistake and ends the opening early. */
static int play_opening(match_engine *black, match_engine *white, const match_settings *s, sp_game *game,
                        match_result *res)
{
    for (int i = 0; i < s->opening_moves; i++) {
        int color = sp_game_to_play(game), move = s->opening[i];
        if (sp_game_play(game, move) != SP_OK)
            return 0;
        char cmd[64], vertex[16];
        const char *text;
        sp_move_to_gtp(s->size, move, vertex, sizeof vertex);
        snprintf(cmd, sizeof cmd, "play %s %s", color_name(color), vertex);
        if (command_or_lose(res, black, SP_BLACK, s->timeout_ms, cmd, &text) < 0
            || command_or_lose(res, white, SP_WHITE, s->timeout_ms, cmd, &text) < 0)
            return -1;
    }
    return 0;
}

void match_play_game(match_engine *black, match_engine *white, const match_settings *s, sp_game *game,
                     match_result *res)
{
    memset(res, 0, sizeof *res);
    sp_game_set_size(game, s->size);
    sp_game_set_komi(game, s->komi);
    if (setup(black, SP_BLACK, s, res) == 0 && setup(white, SP_WHITE, s, res) == 0
        && play_opening(black, white, s, game, res) == 0)
        play_moves(black, white, s, game, res);
    res->moves = sp_game_move_count(game);
}
