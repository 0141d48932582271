/* Network input planes of a position, seen from the side to move. */
#include <string.h>

#include "game_internal.h"

#define MAX_HISTORY 16

int sp_go_plane_count(int history)
{
    return history >= 1 && history <= MAX_HISTORY ? 2 * history + 2 : -1;
}

int sp_game_planes(const sp_game *game, int history, float *out, size_t capacity)
{
    int rc = sp__check_game(game, "sp_game_planes");
    if (rc)
        return rc;
    if (history < 1 || history > MAX_HISTORY)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_planes: history %d outside 1..%d", history, MAX_HISTORY);
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_planes: out is NULL");
    const size_t area = (size_t)(game->board.size * game->board.size);
    const size_t need = (size_t)sp_go_plane_count(history) * area;
    if (capacity < need)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_game_planes: %zu floats needed", need);
    memset(out, 0, need * sizeof *out);
    const int me = game->board.to_play;
    for (int k = 0; k < history && k <= game->n_moves; k++) {
        const uint8_t *stones = sp__game_board_at(game, game->n_moves - k);
        float *own = out + (size_t)(2 * k) * area, *theirs = own + area;
        for (size_t p = 0; p < area; p++) {
            if (stones[p] == me)
                own[p] = 1.0f;
            else if (stones[p] != SP_EMPTY)
                theirs[p] = 1.0f;
        }
    }
    float *black_to_play = out + (size_t)(2 * history) * area, *ones = black_to_play + area;
    for (size_t p = 0; p < area; p++) {
        black_to_play[p] = me == SP_BLACK ? 1.0f : 0.0f;
        ones[p] = 1.0f;
    }
    return SP_OK;
}
