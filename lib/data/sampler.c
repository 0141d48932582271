/* The training batch sampler: uniform positions of a part, their planes,
 * K-step action, policy and value targets, one random symmetry per sample.
 * Sample i of batch n draws from its own generator seeded by (seed, n, i),
 * so batches do not depend on how rows are shared among threads, and a
 * checkpoint restores the stream by restoring n alone. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/workers.h"
#include "data_internal.h"

struct sp_sampler {
    const sp_dataset *ds;
    sp_sampler_options o;
    uint64_t *games;   /* games of the part with a kept position */
    uint64_t *cum;     /* kept positions in games[0..i] */
    uint64_t n_games, total;
    uint64_t *listed;  /* with opts.positions: the positions drawn, sorted; NULL: every kept one */
    uint64_t batch_no;
    int planes;
    uint8_t **ring;    /* the last `history` boards of a replay, one ring per worker */
    int *sym_map;      /* [symmetry][point]: where each point goes */
};

static const sp_sampler_options sampler_defaults = SP_SAMPLER_OPTIONS_INIT;
static const sp__options_type sampler_options_type = { "sp_sampler_options", SP_SAMPLER_OPTIONS_VERSION,
                                                       sizeof(sp_sampler_options), &sampler_defaults,
                                                       { offsetof(sp_sampler_options, min_rating),
                                                         offsetof(sp_sampler_options, positions) } };
static const sp_batch batch_defaults = { SP_BATCH_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
static const sp__options_type batch_type = { "sp_batch", SP_BATCH_VERSION, sizeof(sp_batch), &batch_defaults,
                                             { 0 } };

int sp_sampler_options_init(sp_sampler_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &sampler_options_type, "sp_sampler_options_init");
}

void sp_sampler_free(sp_sampler *s)
{
    if (!s)
        return;
    for (int i = 0; s->ring && i < s->o.threads; i++)
        free(s->ring[i]);
    free(s->ring);
    free(s->sym_map);
    free(s->games);
    free(s->cum);
    free(s->listed);
    free(s);
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* opts.positions: sorted, without repeats, only those of the part the
 * filters keep, into s->listed and s->total (the per-game arrays stay
 * empty: pick() reads the list). */
static int list_positions(sp_sampler *s)
{
    const sp_dataset *ds = s->ds;
    uint64_t n = s->o.position_count;
    s->listed = malloc((n ? n : 1) * sizeof *s->listed);
    if (!s->listed)
        return sp__error(SP_ERR_NOMEM, "out of memory creating a sampler");
    for (uint64_t i = 0; i < n; i++) {
        if (s->o.positions[i] >= ds->n_positions)
            return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: positions[%llu] = %llu is not a position of "
                             "the dataset (%llu)", (unsigned long long)i, (unsigned long long)s->o.positions[i],
                             (unsigned long long)ds->n_positions);
        s->listed[i] = s->o.positions[i];
    }
    qsort(s->listed, (size_t)n, sizeof *s->listed, by_id);
    uint64_t kept = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = s->listed[i], game = sp__ds_game_of(ds, p);
        const sp__spd_game *g = sp__ds_game(ds, game);
        if ((kept && s->listed[kept - 1] == p) ||
            !sp__split_in_part(sp__split_part(g->key, game, &s->o.split), s->o.part) ||
            !sp__game_rated(g, s->o.min_rating) || !sp__split_kept(g->key, (uint32_t)(p - g->first_position), &s->o.split))
            continue;
        s->listed[kept++] = p;
    }
    s->total = kept;
    s->o.positions = NULL; /* the caller's array is not kept */
    return SP_OK;
}

uint64_t sp_sampler_position_count(const sp_sampler *s) { return s ? s->total : 0; }

int sp_sampler_create(sp_sampler **out, const sp_dataset *ds, const sp_sampler_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: out is NULL");
    *out = NULL;
    if (!ds)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: dataset is NULL");
    sp_sampler_options o;
    int rc = sp__options_read(&o, opts, &sampler_options_type, "sp_sampler_create");
    if (!rc)
        rc = sp__split_options(&o.split, &o.split, "sp_sampler_create");
    if (rc)
        return rc;
    if (o.part < SP_PART_ALL || o.part > SP_PART_HALF1 || o.history < 1 || o.history > 16 || o.unroll < 0
        || o.unroll > 64 || o.threads < 1 || o.threads > 256)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: part, history (1..16), unroll (0..64) or "
                                             "threads (1..256) out of range");
    if (!(o.min_rating >= 0) || isinf(o.min_rating))
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: min_rating %g is not a finite rating >= 0",
                         (double)o.min_rating);
    sp_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return sp__error(SP_ERR_NOMEM, "out of memory creating a sampler");
    s->ds = ds;
    s->o = o;
    s->planes = sp_go_plane_count(o.history);
    s->games = malloc((ds->n_games ? ds->n_games : 1) * sizeof *s->games);
    s->cum = malloc((ds->n_games ? ds->n_games : 1) * sizeof *s->cum);
    s->ring = calloc((size_t)o.threads, sizeof *s->ring);
    s->sym_map = malloc((size_t)SP_SYMMETRY_COUNT * (size_t)ds->area * sizeof *s->sym_map);
    if (!s->games || !s->cum || !s->ring || !s->sym_map) {
        sp_sampler_free(s);
        return sp__error(SP_ERR_NOMEM, "out of memory creating a sampler");
    }
    for (int i = 0; i < o.threads; i++) {
        s->ring[i] = malloc((size_t)o.history * (size_t)ds->area);
        if (!s->ring[i]) {
            sp_sampler_free(s);
            return sp__error(SP_ERR_NOMEM, "out of memory creating a sampler");
        }
    }
    for (int sym = 0; sym < SP_SYMMETRY_COUNT; sym++)
        for (int p = 0; p < ds->area; p++)
            s->sym_map[sym * ds->area + p] = sp_symmetry_point(sym, ds->size, p);
    if (o.positions && (rc = list_positions(s)) != SP_OK) {
        sp_sampler_free(s);
        return rc;
    }
    for (uint64_t i = 0; i < ds->n_games && !s->listed; i++) {
        const sp__spd_game *g = sp__ds_game(ds, i);
        if (!sp__split_in_part(sp__split_part(g->key, i, &o.split), o.part) || !sp__game_rated(g, o.min_rating))
            continue;
        uint64_t kept = 0;
        for (uint32_t m = 0; m < g->moves; m++)
            kept += (uint64_t)sp__split_kept(g->key, m, &o.split);
        if (!kept)
            continue;
        s->total += kept;
        s->games[s->n_games] = i;
        s->cum[s->n_games++] = s->total;
    }
    if (!s->total) {
        sp_sampler_free(s);
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_create: the part holds no position%s%s",
                         o.min_rating > 0 ? " of a game rated at least min_rating" : "",
                         o.positions ? " among the positions given" : "");
    }
    *out = s;
    return SP_OK;
}

/* The game and move of the r-th kept position of the part. */
static void pick(const sp_sampler *s, uint64_t r, uint64_t *game, uint32_t *move)
{
    if (s->listed) {
        *game = sp__ds_game_of(s->ds, s->listed[r]);
        *move = (uint32_t)(s->listed[r] - sp__ds_game(s->ds, *game)->first_position);
        return;
    }
    uint64_t lo = 0, hi = s->n_games - 1; /* first i with cum[i] > r */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->cum[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    uint64_t j = r - (lo ? s->cum[lo - 1] : 0);
    *game = s->games[lo];
    const sp__spd_game *g = sp__ds_game(s->ds, *game);
    if (s->o.split.keep_fraction >= 1) {
        *move = (uint32_t)j;
        return;
    }
    for (uint32_t m = 0; m < g->moves; m++)
        if (sp__split_kept(g->key, m, &s->o.split) && j-- == 0) {
            *move = m;
            return;
        }
    *move = 0; /* unreachable: cum counts exactly these */
}

/* The planes of sp_game_planes(), written straight into place through the symmetry. */
int sp__ds_position_planes(const sp_dataset *ds, uint64_t game, uint32_t t, int history, const int *map,
                           uint8_t *ring, float *planes)
{
    const int area = ds->area, H = history;
    const sp__spd_game *g = sp__ds_game(ds, game);
    int rc = sp__ds_replay_boards(ds, game, t, H, ring);
    if (rc)
        return rc;
    size_t plane_floats = (size_t)sp_go_plane_count(H) * (size_t)area;
    memset(planes, 0, plane_floats * sizeof *planes);
    const int me = t % 2 ? 3 - g->first_color : g->first_color;
    for (int k = 0; k < H && (uint32_t)k <= t; k++) {
        const uint8_t *stones = ring + (size_t)((t - (uint32_t)k) % (uint32_t)H) * (size_t)area;
        float *own = planes + (size_t)(2 * k) * (size_t)area, *theirs = own + area;
        for (int p = 0; p < area; p++) {
            int to = map ? map[p] : p;
            if (stones[p] == me)
                own[to] = 1.0f;
            else if (stones[p] != SP_EMPTY)
                theirs[to] = 1.0f;
        }
    }
    float *black_to_play = planes + (size_t)(2 * H) * (size_t)area, *ones = black_to_play + area;
    for (int p = 0; p < area; p++) {
        black_to_play[p] = me == SP_BLACK ? 1.0f : 0.0f;
        ones[p] = 1.0f;
    }
    return SP_OK;
}

/* Row `row` of the caller's batch is row first_row + row of the stream's
 * batch: its generator is keyed by the latter. */
static int fill_row(sp_sampler *s, int worker, const sp_batch *b, int row, int64_t first_row)
{
    const sp_dataset *ds = s->ds;
    const int area = ds->area, actions = area + 1, K = s->o.unroll;
    struct sp_rng rng;
    uint64_t key = s->batch_no * 0x100000001b3ull + (uint64_t)(first_row + row);
    sp__rng_seed(&rng, sp__mix64(s->o.seed ^ sp__mix64(key)));
    uint64_t r = (uint64_t)(((unsigned __int128)sp__rng_next(&rng) * s->total) >> 64);
    uint64_t game;
    uint32_t t;
    pick(s, r, &game, &t);
    int sym = s->o.symmetries ? (int)sp__rng_below(&rng, SP_SYMMETRY_COUNT) : 0;
    const sp__spd_game *g = sp__ds_game(ds, game);
    const int *map = s->sym_map + (size_t)sym * (size_t)area;
    int rc = sp__ds_position_planes(ds, game, t, s->o.history, map, s->ring[worker],
                                    b->planes + (size_t)row * (size_t)s->planes * (size_t)area);
    if (rc)
        return rc;
    for (int k = 0; k <= K; k++) {
        uint64_t m = (uint64_t)t + (uint64_t)k;
        int inside = m < g->moves;
        int a = -1;
        if (inside) {
            a = sp__ds_move(ds, g->move_offset + m);
            if (a != area)
                a = map[a];
        }
        if (b->actions && k < K)
            b->actions[(size_t)row * (size_t)K + (size_t)k] = inside ? a : (int32_t)sp__rng_below(&rng, (uint32_t)actions);
        size_t step = (size_t)row * (size_t)(K + 1) + (size_t)k;
        if (b->policy) {
            float *p = b->policy + step * (size_t)actions;
            if (inside) {
                memset(p, 0, (size_t)actions * sizeof *p);
                p[a] = 1.0f;
            } else {
                for (int i = 0; i < actions; i++)
                    p[i] = 1.0f / (float)actions;
            }
        }
        if (b->value) {
            int mover = m % 2 ? 3 - g->first_color : g->first_color;
            b->value[step] = g->winner == SP_EMPTY ? 0.0f : g->winner == mover ? 1.0f : -1.0f;
        }
        if (b->mask)
            b->mask[step] = (uint8_t)inside;
    }
    if (b->positions)
        b->positions[row] = g->first_position + t;
    if (b->symmetry)
        b->symmetry[row] = sym;
    return SP_OK;
}

typedef struct job {
    sp_sampler *s;
    const sp_batch *b;
    int64_t first_row;
    int worker, stride;
    int rc;
    char error[256];
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int row = j->worker; row < j->b->size && !j->rc; row += j->stride)
        j->rc = fill_row(j->s, j->worker, j->b, row, j->first_row);
    if (j->rc)
        snprintf(j->error, sizeof j->error, "%s", sp_last_error());
    return NULL;
}

/* Rows [first_row, first_row + size) of the current batch into a checked
 * copy of the caller's batch; the batch number stays. */
static int draw_rows(sp_sampler *s, const sp_batch *batch, int64_t first_row)
{
    int threads = s->o.threads < batch->size ? s->o.threads : (batch->size ? batch->size : 1);
    job jobs[SP__WORKERS_MAX];
    for (int i = 0; i < threads; i++)
        jobs[i] = (job){ .s = s, .b = batch, .first_row = first_row, .worker = i, .stride = threads };
    sp__run_workers(jobs, sizeof *jobs, threads, run_job);
    int rc = SP_OK;
    for (int i = 0; i < threads && !rc; i++)
        if (jobs[i].rc)
            rc = sp__error(jobs[i].rc, "%s", jobs[i].error);
    return rc;
}

/* The library's copy of a caller's batch: arrays a later version adds stay
 * NULL (skipped). */
static int read_batch(sp_batch *copy, const sp_batch *caller_batch, const char *fn)
{
    int rc = sp__options_read(copy, caller_batch, &batch_type, fn);
    if (rc != SP_OK)
        return rc;
    if (!copy->planes || copy->size < 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: planes is NULL or size negative", fn);
    return SP_OK;
}

int sp_sampler_next(sp_sampler *s, sp_batch *caller_batch)
{
    if (!s || !caller_batch)
        return sp__error(SP_ERR_INVALID_ARG, "sp_sampler_next: a pointer is NULL");
    sp_batch copy;
    int rc = read_batch(&copy, caller_batch, "sp_sampler_next");
    if (rc != SP_OK)
        return rc;
    rc = draw_rows(s, &copy, 0);
    s->batch_no++;
    return rc;
}

int sp__sampler_draw_rows(sp_sampler *s, sp_batch *caller_batch, int64_t first_row)
{
    if (!s || !caller_batch)
        return sp__error(SP_ERR_INVALID_ARG, "sp__sampler_draw_rows: a pointer is NULL");
    if (first_row < 0 || first_row > INT32_MAX)
        return sp__error(SP_ERR_INVALID_ARG, "sp__sampler_draw_rows: first row %lld out of range",
                         (long long)first_row);
    sp_batch copy;
    int rc = read_batch(&copy, caller_batch, "sp__sampler_draw_rows");
    return rc != SP_OK ? rc : draw_rows(s, &copy, first_row);
}

uint64_t sp__sampler_batch_no(const sp_sampler *s) { return s->batch_no; }

void sp__sampler_set_batch_no(sp_sampler *s, uint64_t batch_no) { s->batch_no = batch_no; }
