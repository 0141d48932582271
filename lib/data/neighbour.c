/* Neighbour metadata planes x_i (paper §2.2): what a retrieved position
 * tells the model: its board, its game's outcome and final ownership, and
 * the next actions, all from that position's side to move. */
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

/* Colour to move before move `m` of a game. */
static int mover_at(const sp__spd_game *g, uint64_t m) { return m % 2 ? 3 - g->first_color : g->first_color; }

int sp_dataset_neighbour_planes(const sp_dataset *ds, uint64_t position, int symmetry, float *out, size_t capacity)
{
    if (!ds || !out || position >= ds->n_positions || symmetry < 0 || symmetry >= SP_SYMMETRY_COUNT)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_neighbour_planes: %s",
                         !ds || !out ? "a pointer is NULL" : "position or symmetry out of range");
    const int area = ds->area;
    const size_t need = (size_t)SP_NEIGHBOUR_PLANES * (size_t)area;
    if (capacity < need)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_dataset_neighbour_planes: needs %zu floats", need);
    uint64_t game = sp__ds_game_of(ds, position);
    const sp__spd_game *g = sp__ds_game(ds, game);
    uint32_t t = (uint32_t)(position - g->first_position);
    uint8_t board[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    int rc = sp__ds_replay_boards(ds, game, t, 1, board);
    if (rc)
        return rc;
    const int me = mover_at(g, t), you = 3 - me;
    float *plane = out;
    memset(out, 0, need * sizeof *out);
    /* Everything is written in the stored orientation, then points move by the symmetry. */
    for (int p = 0; p < area; p++) {
        int q = sp_symmetry_point(symmetry, ds->size, p);
        plane[0 * area + q] = board[p] == me;
        plane[1 * area + q] = board[p] == you;
        int owner = sp__ds_owner(ds, game, p);
        plane[4 * area + q] = owner == me;
        plane[5 * area + q] = owner == you;
    }
    float outcome = g->winner == SP_EMPTY ? 0.0f : g->winner == me ? 1.0f : -1.0f;
    float estimated = g->flags & SP_GAME_OWNERSHIP_ESTIMATED ? 1.0f : 0.0f;
    for (int p = 0; p < area; p++) {
        plane[2 * area + p] = me == SP_BLACK;
        plane[3 * area + p] = outcome;
        plane[6 * area + p] = estimated;
    }
    for (int k = 0; k < SP_NEIGHBOUR_ACTIONS && t + (uint32_t)k < g->moves; k++) {
        int a = sp__ds_move(ds, g->move_offset + t + (uint64_t)k);
        if (a == area) {
            for (int p = 0; p < area; p++)
                plane[(12 + k) * area + p] = 1.0f;
        } else {
            plane[(7 + k) * area + sp_symmetry_point(symmetry, ds->size, a)] = 1.0f;
        }
    }
    return SP_OK;
}
