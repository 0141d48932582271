/* Deterministic splits by whole game and position sub-sampling. Test games
 * and kept positions hash the seed with the game's move-sequence key, so they
 * do not depend on game ids: appending or merging files never moves a game
 * between training and test. The two retrieval halves of the training games
 * follow the game id instead (sp__game_half), as the retriever does. */
#include <math.h>
#include <string.h>

#include "data_internal.h"

static const sp_split_options split_defaults = SP_SPLIT_OPTIONS_INIT;
static const sp__options_type split_options_type = { "sp_split_options", SP_SPLIT_OPTIONS_VERSION,
                                                     sizeof(sp_split_options), &split_defaults, { 0 } };

int sp_split_options_init(sp_split_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &split_options_type, "sp_split_options_init");
}

int sp__split_options(const sp_split_options *opts, sp_split_options *o, const char *fn)
{
    /* opts may be o itself (a sampler's embedded split): read through a copy. */
    sp_split_options read;
    int rc = sp__options_read(&read, opts, &split_options_type, fn);
    if (!rc && !(read.test_fraction >= 0 && read.test_fraction <= 1 && read.keep_fraction > 0
                 && read.keep_fraction <= 1))
        rc = sp__error(SP_ERR_INVALID_ARG, "%s: fractions must be in [0, 1] (keep_fraction above 0)", fn);
    *o = read;
    return rc;
}

/* Uniform in [0, 1) from a hash. */
static double unit(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

uint32_t sp__game_half(uint64_t game) { return (uint32_t)(sp__mix64(game) & 1); }

int sp__split_part(uint64_t key, uint64_t game, const sp_split_options *o)
{
    uint64_t h = sp__mix64(key ^ sp__mix64(o->seed * 0x9e3779b97f4a7c15ull + 1));
    if (unit(h) < o->test_fraction)
        return SP_PART_TEST;
    return sp__game_half(game) ? SP_PART_HALF1 : SP_PART_HALF0;
}

int sp__split_kept(uint64_t key, uint32_t move, const sp_split_options *o)
{
    if (o->keep_fraction >= 1)
        return 1;
    uint64_t h = sp__mix64(key ^ sp__mix64((o->seed + 0x632be59bd9b4e019ull) ^ ((uint64_t)move << 32)));
    return unit(h) < o->keep_fraction;
}

int sp__split_in_part(int game_part, int part)
{
    switch (part) {
    case SP_PART_ALL: return 1;
    case SP_PART_TRAIN: return game_part != SP_PART_TEST;
    default: return game_part == part;
    }
}

int sp_dataset_game_part(const sp_dataset *ds, uint64_t game, const sp_split_options *opts, int *out_part)
{
    if (!ds || !out_part || game >= ds->n_games)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_game_part: %s",
                         !ds || !out_part ? "a pointer is NULL" : "game out of range");
    sp_split_options o;
    int rc = sp__split_options(opts, &o, "sp_dataset_game_part");
    if (rc)
        return rc;
    *out_part = sp__split_part(sp__ds_game(ds, game)->key, game, &o);
    return SP_OK;
}

int sp_dataset_position_kept(const sp_dataset *ds, uint64_t position, const sp_split_options *opts, int *out_kept)
{
    if (!ds || !out_kept || position >= ds->n_positions)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_position_kept: %s",
                         !ds || !out_kept ? "a pointer is NULL" : "position out of range");
    sp_split_options o;
    int rc = sp__split_options(opts, &o, "sp_dataset_position_kept");
    if (rc)
        return rc;
    uint64_t game = sp__ds_game_of(ds, position);
    const sp__spd_game *g = sp__ds_game(ds, game);
    *out_kept = sp__split_kept(g->key, (uint32_t)(position - g->first_position), &o);
    return SP_OK;
}

/* Shared with the sampler: count (out NULL) or list the kept positions of a part. */
int sp__ds_part_positions(const sp_dataset *ds, int part, const sp_split_options *o, uint64_t *out,
                          size_t capacity, size_t *count)
{
    size_t n = 0;
    for (uint64_t i = 0; i < ds->n_games; i++) {
        const sp__spd_game *g = sp__ds_game(ds, i);
        if (!sp__split_in_part(sp__split_part(g->key, i, o), part))
            continue;
        for (uint32_t m = 0; m < g->moves; m++) {
            if (!sp__split_kept(g->key, m, o))
                continue;
            if (out && n < capacity)
                out[n] = g->first_position + m;
            n++;
        }
    }
    *count = n;
    return SP_OK;
}

int sp_dataset_positions(const sp_dataset *ds, int part, const sp_split_options *opts, uint64_t *out,
                         size_t capacity, size_t *out_count)
{
    if (out_count)
        *out_count = 0;
    if (!ds || part < SP_PART_ALL || part > SP_PART_HALF1)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_positions: %s", ds ? "unknown part" : "dataset is NULL");
    sp_split_options o;
    int rc = sp__split_options(opts, &o, "sp_dataset_positions");
    if (rc)
        return rc;
    size_t n;
    sp__ds_part_positions(ds, part, &o, out, capacity, &n);
    if (out_count)
        *out_count = n;
    if (n > capacity || (!out && n))
        return sp__error(SP_ERR_BUFFER_TOO_SMALL, "sp_dataset_positions: %zu positions", n);
    return SP_OK;
}
