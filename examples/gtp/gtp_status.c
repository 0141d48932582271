/* The end of a game as servers and referees ask for it: final_status_list
 * (which stones are dead, by Monte-Carlo ownership: random playouts from
 * the position, a stone dead when the opponent owns its point in most of
 * them), kgs-genmove_cleanup (the player's move, but no pass while dead
 * stones of the opponent are left to capture) and kgs-time_settings. */
#include <stdlib.h>
#include <string.h>

#include "gtp_internal.h"

/* Playouts of the estimate: enough that a clearly dead or alive stone does
 * not flip, at about a millisecond each on 9x9. */
#define STATUS_PLAYOUTS 200

/* For each point, 1 when its stone is dead: the opponent owns it in more
 * than half of the playouts from the game's position. Seeded from the
 * position, so the same board always gets the same answer. */
static int dead_stones(const sp_game *g, uint8_t *dead)
{
    const int area = sp_game_size(g) * sp_game_size(g);
    int *owned_by_other = calloc((size_t)area, sizeof *owned_by_other);
    uint8_t *owner = malloc((size_t)area);
    sp_rng *rng = NULL;
    int rc = owned_by_other && owner ? sp_rng_create(&rng, sp_game_hash(g)) : SP_ERR_NOMEM;
    for (int i = 0; i < STATUS_PLAYOUTS && !rc; i++) {
        rc = sp_game_playout(g, rng, 0, NULL, owner, (size_t)area);
        for (int p = 0; p < area && !rc; p++) {
            const int c = sp_game_color_at(g, p);
            owned_by_other[p] += c != SP_EMPTY && owner[p] != SP_EMPTY && owner[p] != c;
        }
    }
    for (int p = 0; p < area && !rc; p++)
        dead[p] = 2 * owned_by_other[p] > STATUS_PLAYOUTS;
    sp_rng_free(rng);
    free(owned_by_other);
    free(owner);
    return rc;
}

/* The string of stones through point p (same colour, orthogonal), marked in `seen`, its points into `out`. */
static int string_at(const sp_game *g, int p, uint8_t *seen, int *out)
{
    const int size = sp_game_size(g), color = sp_game_color_at(g, p);
    int n = 0, top = 0;
    out[n++] = p;
    seen[p] = 1;
    while (top < n) {
        const int q = out[top++], row = q / size, col = q % size;
        const int next[4] = { row > 0 ? q - size : -1, row < size - 1 ? q + size : -1, col > 0 ? q - 1 : -1,
                              col < size - 1 ? q + 1 : -1 };
        for (int k = 0; k < 4; k++)
            if (next[k] >= 0 && !seen[next[k]] && sp_game_color_at(g, next[k]) == color) {
                seen[next[k]] = 1;
                out[n++] = next[k];
            }
    }
    return n;
}

/* final_status_list alive|dead|seki: one line per string of that status
 * (seki: none, the estimate does not tell it). */
static int cmd_final_status_list(gtp_engine *e, int argc, char **args, void *payload)
{
    (void)payload;
    if (argc != 1 || (strcmp(args[0], "alive") && strcmp(args[0], "dead") && strcmp(args[0], "seki")))
        return gtp__fail(e, "syntax error");
    if (strcmp(args[0], "seki") == 0)
        return 0;
    const int want_dead = strcmp(args[0], "dead") == 0, size = sp_game_size(e->game), area = size * size;
    uint8_t *dead = malloc((size_t)area), *seen = calloc((size_t)area, 1);
    int *points = malloc((size_t)area * sizeof *points);
    if (!dead || !seen || !points || dead_stones(e->game, dead)) {
        free(dead);
        free(seen);
        free(points);
        return gtp__fail(e, "cannot estimate the stones' status");
    }
    int lines = 0;
    for (int p = 0; p < area; p++) {
        if (seen[p] || sp_game_color_at(e->game, p) == SP_EMPTY)
            continue;
        const int n = string_at(e->game, p, seen, points);
        /* A string is as dead as most of its stones. */
        int dead_count = 0;
        for (int i = 0; i < n; i++)
            dead_count += dead[points[i]];
        if ((2 * dead_count > n) != want_dead)
            continue;
        gtp_printf(e, "%s", lines++ ? "\n" : "");
        for (int i = 0; i < n; i++) {
            char vertex[8];
            sp_move_to_gtp(size, points[i], vertex, sizeof vertex);
            gtp_printf(e, "%s%s", i ? " " : "", vertex);
        }
    }
    free(dead);
    free(seen);
    free(points);
    return 0;
}

/* A legal move of `color` next to a dead stone of the opponent, or SP_PASS. */
static int capture_move(const sp_game *g, int color, const uint8_t *dead)
{
    const int size = sp_game_size(g), area = size * size;
    for (int p = 0; p < area; p++) {
        const int c = sp_game_color_at(g, p);
        if (c == SP_EMPTY || c == color || !dead[p])
            continue;
        const int row = p / size, col = p % size;
        const int next[4] = { row > 0 ? p - size : -1, row < size - 1 ? p + size : -1, col > 0 ? p - 1 : -1,
                              col < size - 1 ? p + 1 : -1 };
        for (int k = 0; k < 4; k++)
            if (next[k] >= 0 && sp_game_color_at(g, next[k]) == SP_EMPTY && sp_game_is_legal(g, color, next[k]))
                return next[k];
    }
    return SP_PASS;
}

/* kgs-genmove_cleanup color: genmove, but a pass becomes a move against a
 * dead stone of the opponent while one is left (KGS's clean-up phase, where
 * stones not captured count as alive). */
static int cmd_genmove_cleanup(gtp_engine *e, int argc, char **args, void *payload)
{
    (void)payload;
    const int color = argc == 1 ? gtp_parse_color(args[0]) : -1;
    if (color < 0)
        return gtp__fail(e, "syntax error");
    int move = SP_PASS;
    if (!sp_game_is_over(e->game) &&
        e->player.genmove(e->player.payload, e->game, color, &e->clock[color], &move))
        return gtp_printf(e, "the player failed to choose a move: %s", sp_last_error()), -1;
    const int area = sp_game_size(e->game) * sp_game_size(e->game);
    uint8_t *dead = malloc((size_t)area);
    if (move == SP_PASS && !sp_game_is_over(e->game) && dead && dead_stones(e->game, dead) == SP_OK)
        move = capture_move(e->game, color, dead);
    free(dead);
    if (!sp_game_is_over(e->game) && sp_game_play_as(e->game, color, move) != SP_OK)
        return gtp_printf(e, "the player chose an illegal move: %s", sp_last_error()), -1;
    char vertex[8];
    sp_move_to_gtp(sp_game_size(e->game), move, vertex, sizeof vertex);
    gtp_printf(e, "%s", vertex);
    return 0;
}

/* kgs-time_settings none | absolute M | byoyomi M B P | canadian M B S, as
 * time_settings: byo-yomi periods of B seconds are one move each. */
static int cmd_kgs_time_settings(gtp_engine *e, int argc, char **args, void *payload)
{
    (void)payload;
    int main_time = 0, byo_time = 0, stones = 0, periods;
    int ok = argc >= 1;
    if (ok && strcmp(args[0], "none") == 0)
        ok = argc == 1;
    else if (ok && strcmp(args[0], "absolute") == 0)
        ok = argc == 2 && !gtp__parse_int(args[1], 0, 1000000000, &main_time);
    else if (ok && (strcmp(args[0], "byoyomi") == 0 || strcmp(args[0], "canadian") == 0)) {
        const int canadian = args[0][0] == 'c';
        ok = argc == 4 && !gtp__parse_int(args[1], 0, 1000000000, &main_time) &&
             !gtp__parse_int(args[2], 0, 1000000000, &byo_time) &&
             !gtp__parse_int(args[3], 0, 1000000000, canadian ? &stones : &periods);
        if (!canadian)
            stones = 1;
    } else
        ok = 0;
    if (!ok)
        return gtp__fail(e, "syntax error");
    for (int c = SP_BLACK; c <= SP_WHITE; c++)
        e->clock[c] = (gtp_clock){ main_time, byo_time, stones, -1, 0 };
    return 0;
}

int gtp__register_status(gtp_engine *e)
{
    return gtp_engine_register(e, "final_status_list", cmd_final_status_list, NULL) ||
                   gtp_engine_register(e, "kgs-genmove_cleanup", cmd_genmove_cleanup, NULL) ||
                   gtp_engine_register(e, "kgs-time_settings", cmd_kgs_time_settings, NULL)
               ? -1
               : 0;
}
