/* Tromp-Taylor area scoring and the winner of a finished game. */
#include "game_internal.h"

int sp_game_score(const sp_game *game, float *out_score)
{
    int rc = sp__check_game(game, "sp_game_score");
    if (rc)
        return rc;
    if (!out_score)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_score: out_score is NULL");
    uint8_t owner[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    *out_score = (float)sp__board_area(&game->board, owner) - game->komi;
    return SP_OK;
}

int sp_game_ownership(const sp_game *game, uint8_t *out, size_t capacity)
{
    int rc = sp__check_game(game, "sp_game_ownership");
    if (rc)
        return rc;
    size_t need = (size_t)(game->board.size * game->board.size);
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_game_ownership: out is NULL");
    if (capacity < need)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_game_ownership: %zu bytes needed", need);
    sp__board_area(&game->board, out);
    return SP_OK;
}

int sp_game_winner(const sp_game *game)
{
    if (!game)
        return SP_EMPTY;
    if (game->end == SP_END_RESIGN)
        return sp__opponent(game->moves[game->n_moves - 1].color);
    if (game->end != SP_END_PASSES)
        return SP_EMPTY;
    float score;
    sp_game_score(game, &score);
    return score > 0 ? SP_BLACK : score < 0 ? SP_WHITE : SP_EMPTY;
}
