/* Raw observation planes and PCA keys of dataset positions: games are
 * replayed once and walked forward, so consecutive positions cost one move each. */
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "semiparam/embed.h"

/* A replay cursor: the game being walked and the move it stands before. */
typedef struct walker {
    const sp_dataset *ds;
    sp_game *game;
    uint64_t game_id;
    uint32_t move;
    int32_t *moves;
    size_t capacity;
    size_t count;
} walker;

static int walker_seek(walker *w, uint64_t position)
{
    uint64_t game_id;
    uint32_t move;
    int rc = sp_dataset_position_locate(w->ds, position, &game_id, &move);
    if (rc != SP_OK)
        return rc;
    if (!w->game || game_id != w->game_id || move < w->move) {
        sp_game_free(w->game);
        w->game = NULL;
        if ((rc = sp_dataset_game_replay(w->ds, game_id, 0, &w->game)) != SP_OK)
            return rc;
        size_t n = 0;
        rc = sp_dataset_game_moves(w->ds, game_id, w->moves, w->capacity, &n);
        if (rc == SP_ERR_BUFFER_TOO_SMALL) {
            int32_t *bigger = realloc(w->moves, n * sizeof *bigger);
            if (!bigger)
                return sp__error(SP_ERR_NOMEM, "dataset keys: out of memory");
            w->moves = bigger;
            w->capacity = n;
            rc = sp_dataset_game_moves(w->ds, game_id, w->moves, w->capacity, &n);
        }
        if (rc != SP_OK)
            return rc;
        w->count = n;
        w->game_id = game_id;
        w->move = 0;
    }
    const int size = sp_game_size(w->game);
    while (w->move < move) {
        if (w->move >= w->count)
            return sp__error(SP_ERR_FORMAT, "dataset keys: position %llu lies past its game's moves",
                             (unsigned long long)position);
        int m;
        rc = sp_action_to_move(size, w->moves[w->move], &m);
        if (rc != SP_OK || (rc = sp_game_play(w->game, m)) != SP_OK)
            return sp__error(SP_ERR_FORMAT, "dataset keys: stored move %d of game %llu is illegal", (int)w->move,
                             (unsigned long long)game_id);
        w->move++;
    }
    return SP_OK;
}

static void walker_free(walker *w)
{
    sp_game_free(w->game);
    free(w->moves);
}

int sp_pca_position_planes(const sp_dataset *ds, const uint64_t *positions, uint64_t count, int history,
                           float *out, size_t capacity, uint32_t *out_game_ids)
{
    if (!ds || (count > 0 && (!positions || !out)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_position_planes: NULL argument");
    int planes = sp_go_plane_count(history);
    if (planes <= 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_position_planes: history %d out of range", history);
    size_t per = (size_t)planes * (size_t)sp_dataset_board_size(ds) * (size_t)sp_dataset_board_size(ds);
    if (count > capacity / per)
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_pca_position_planes: %llu floats needed",
                         (unsigned long long)(count * per));
    walker w = { ds, NULL, 0, 0, NULL, 0, 0 };
    int rc = SP_OK;
    for (uint64_t i = 0; i < count && rc == SP_OK; i++) {
        rc = walker_seek(&w, positions[i]);
        if (rc == SP_OK)
            rc = sp_game_planes(w.game, history, out + i * per, per);
        if (rc == SP_OK && out_game_ids)
            out_game_ids[i] = (uint32_t)w.game_id;
    }
    walker_free(&w);
    return rc;
}

int sp_pca_position_keys(const sp_pca *pca, const sp_dataset *ds, const uint64_t *positions, uint64_t count,
                         int history, float *out_keys, uint32_t *out_game_ids)
{
    if (!pca || !ds || (count > 0 && (!positions || !out_keys)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_position_keys: NULL argument");
    uint32_t dim_in = sp_pca_dim_in(pca), dim_out = sp_pca_dim_out(pca);
    int planes = sp_go_plane_count(history);
    int size = sp_dataset_board_size(ds);
    if (planes <= 0 || (uint64_t)planes * (uint64_t)(size * size) != dim_in)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_position_keys: the PCA reads %u values, history %d on %dx%d gives %d",
                         dim_in, history, size, size, planes * size * size);
    enum { CHUNK = 4096 };
    float *buf = malloc((size_t)CHUNK * dim_in * sizeof *buf);
    if (!buf)
        return sp__error(SP_ERR_NOMEM, "sp_pca_position_keys: out of memory");
    int rc = SP_OK;
    for (uint64_t done = 0; done < count && rc == SP_OK;) {
        uint64_t n = count - done < CHUNK ? count - done : CHUNK;
        rc = sp_pca_position_planes(ds, positions + done, n, history, buf, (size_t)CHUNK * dim_in,
                                    out_game_ids ? out_game_ids + done : NULL);
        if (rc == SP_OK)
            rc = sp_pca_apply(pca, buf, n, dim_in, out_keys + done * dim_out);
        done += n;
        if (rc == SP_OK && sp__progress("pca-keys", done, count) != 0)
            rc = sp__error(SP_ERR_CANCELLED, "sp_pca_position_keys: cancelled");
    }
    free(buf);
    return rc;
}
