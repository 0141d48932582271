/* Fast replays of stored games on the bare board for the sampler and the
 * neighbour planes: no history arrays, no superko (the import checked it),
 * no allocation. A move the board refuses means a crafted file. */
#include <string.h>

#include "data_internal.h"
#include "go/board.h"

static void colours(const sp__board *b, int area, uint8_t *out)
{
    for (int p = 0; p < area; p++)
        out[p] = b->color[sp__vertex(b, p)];
}

int sp__ds_replay_boards(const sp_dataset *ds, uint64_t game, uint32_t t, int keep, uint8_t *ring)
{
    const sp__spd_game *g = sp__ds_game(ds, game);
    const int area = ds->area;
    sp__board b;
    sp__board_init(&b, ds->size);
    if (t < (uint32_t)keep)
        colours(&b, area, ring);
    for (uint32_t i = 0; i < t; i++) {
        int a = sp__ds_move(ds, g->move_offset + i), color = i % 2 ? 3 - g->first_color : g->first_color;
        if (a == area) {
            sp__board_pass(&b, color);
        } else {
            int v = sp__vertex(&b, a);
            if (!sp__is_legal_simple(&b, v, color))
                return sp__error(SP_ERR_FORMAT, "game %llu of the dataset does not replay: move %u is illegal",
                                 (unsigned long long)game, i + 1);
            sp__board_play(&b, v, color);
        }
        if (i + 1 + (uint32_t)keep > t) /* one of the last `keep` positions */
            colours(&b, area, ring + (size_t)((i + 1) % (uint32_t)keep) * (size_t)area);
    }
    return SP_OK;
}
