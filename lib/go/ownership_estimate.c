/* Monte-Carlo final ownership: what random playouts from a position make
 * of each point, for games that ended without counting (resignation, time). */

#include "game_internal.h"

void sp__game_ownership_estimate(const sp_game *g, uint32_t playouts, uint64_t seed, uint8_t *out)
{
    const int area = g->board.size * g->board.size;
    uint32_t black[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE] = { 0 }, white[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE] = { 0 };
    uint8_t owner[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    sp__board b;
    for (uint32_t i = 0; i < playouts; i++) {
        sp__board_copy(&b, &g->board);
        /* Two passes ended a counted game; the playouts must still play it out. */
        b.passes = 0;
        sp__board_playout(&b, &rng, 3 * area, owner);
        for (int p = 0; p < area; p++) {
            black[p] += owner[p] == SP_BLACK;
            white[p] += owner[p] == SP_WHITE;
        }
    }
    /* A strict majority: a point the playouts split (a seki's shared
     * liberty, a fight they settle either way) stays nobody's. */
    for (int p = 0; p < area; p++)
        out[p] = (uint8_t)(2 * (uint64_t)black[p] > playouts   ? SP_BLACK
                           : 2 * (uint64_t)white[p] > playouts ? SP_WHITE
                                                               : SP_EMPTY);
}
