/* The evaluated positions from the public dataset API: each game's part
 * (sp_dataset_game_part) and ratings (sp_dataset_game_info_get) decide as
 * the library's evaluation does, so a .spn of these positions is evaluated
 * whole; the sample is selection sampling (one pass, still in order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_positions.h"

/* Whether game `game` counts: in the part, and both players rated at least
 * min_rating (a missing rating, NaN, fails) when a filter is set. */
static int game_counts(const sp_dataset *ds, uint64_t game, const eval_selection *s, const sp_split_options *split,
                       sp_dataset_game_info *info, int *out)
{
    int part, rc = sp_dataset_game_part(ds, game, split, &part);
    if (!rc)
        rc = sp_dataset_game_info_get(ds, game, info);
    if (rc)
        return rc;
    int in_part = s->part == SP_PART_ALL || part == s->part || (s->part == SP_PART_TRAIN && part != SP_PART_TEST);
    *out = in_part && (s->min_rating <= 0 ||
                       (info->black_rating >= s->min_rating && info->white_rating >= s->min_rating));
    return SP_OK;
}

/* splitmix64: the sample's draws, fixed by the seed alone. */
static uint64_t next_draw(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int eval_positions_pick(const sp_dataset *ds, const eval_selection *s, uint64_t **out, uint64_t *count)
{
    *out = NULL;
    *count = 0;
    sp_split_options split;
    sp_split_options_init(&split, SP_SPLIT_OPTIONS_VERSION);
    split.seed = s->split_seed;
    split.test_fraction = s->test_fraction;
    uint64_t games = sp_dataset_game_count(ds), total = 0;
    unsigned char *counts = malloc(games ? games : 1);
    if (!counts)
        return SP_ERR_NOMEM;
    sp_dataset_game_info info;
    memset(&info, 0, sizeof info);
    info.version = SP_DATASET_GAME_INFO_VERSION;
    int rc = SP_OK, in;
    for (uint64_t g = 0; g < games && !rc; g++) {
        rc = game_counts(ds, g, s, &split, &info, &in);
        counts[g] = (unsigned char)(!rc && in);
        total += counts[g] ? info.moves : 0;
    }
    uint64_t sample = s->fraction > 0 ? (uint64_t)ceil(s->fraction * (double)total) : s->sample;
    uint64_t want = sample && sample < total ? sample : total;
    uint64_t *ids = rc ? NULL : malloc((want ? want : 1) * sizeof *ids);
    if (!rc && !ids)
        rc = SP_ERR_NOMEM;
    uint64_t state = s->seed, seen = 0, taken = 0;
    for (uint64_t g = 0; g < games && !rc && taken < want; g++) {
        if (!counts[g] || (rc = sp_dataset_game_info_get(ds, g, &info)) != SP_OK)
            continue;
        for (uint32_t t = 0; t < info.moves && taken < want; t++, seen++) {
            /* Take it with probability (still wanted) / (still to see). */
            double u = (double)(next_draw(&state) >> 11) * 0x1p-53;
            if (want == total || u * (double)(total - seen) < (double)(want - taken))
                ids[taken++] = info.first_position + t;
        }
    }
    free(counts);
    if (rc) {
        free(ids);
        return rc;
    }
    *out = ids;
    *count = taken;
    return SP_OK;
}

int eval_positions_contain(const uint64_t *ids, uint64_t n, uint64_t position)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < position)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == position;
}
