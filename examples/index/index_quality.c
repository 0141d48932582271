/* `sp-index quality`: how well an index's neighbours agree with their query
 * positions (next move, outcome, final ownership, exact matches, distance),
 * each with a 95% interval over queries, beside k random positions of the
 * same index per query (what chance gives). Public API only. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_quality.h"
#include "index/index_util.h"
#include "semiparam.h"

typedef struct qargs {
    const char *index, *spd, *embedder, *model, *pca, *part, *csv, *exclude, *pairs;
    uint64_t queries, seed, baseline_keys;
    uint32_t k, nprobe, threads;
    double min_rating; /* NAN: no filter */
} qargs;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sp-index quality INDEX.spi --spd D.spd (--embedder E.spe [--model M.spm] | --pca P.spp)\n"
            "    [--queries 10000] [--k 10] [--nprobe N] [--seed 1] [--part test|train|all] [--min-rating R]\n"
            "    [--exclude none|game] [--baseline-keys 1000] [--csv OUT.csv] [--pairs P.csv] [--threads T]\n"
            "Neighbours of --queries positions drawn (with --seed) from --part of D.spd (games whose weaker\n"
            "player is rated >= R with --min-rating), searched in INDEX.spi with the embedder that built it,\n"
            "against k random positions of the index per query. Per metric: the mean over queries of the\n"
            "mean over a query's neighbours, with a normal 95%% interval over queries; the median distance\n"
            "with a bootstrap interval over queries (1,000 resamples). --baseline-keys: queries whose random\n"
            "neighbours are embedded for the baseline's distance (embedding costs; 0: none). --pairs: every\n"
            "(query, neighbour) pair with its distance and metrics, for checking by hand.\n");
    return out == stdout ? 0 : 2;
}

static int number(const char *option, const char *text, uint64_t max, uint64_t *out)
{
    return index_number("sp-index quality", option, text, max, out);
}

static int parse(int argc, char **argv, qargs *a)
{
    *a = (qargs){ .part = "test", .exclude = "none", .queries = 10000, .seed = 1, .baseline_keys = 1000, .k = 10,
                  .min_rating = NAN };
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **str = !strcmp(o, "--spd") ? &a->spd : !strcmp(o, "--embedder") ? &a->embedder
                         : !strcmp(o, "--model") ? &a->model : !strcmp(o, "--pca") ? &a->pca
                         : !strcmp(o, "--part") ? &a->part : !strcmp(o, "--csv") ? &a->csv
                         : !strcmp(o, "--exclude") ? &a->exclude : !strcmp(o, "--pairs") ? &a->pairs : NULL;
        uint64_t n;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 1;
        }
        if (o[0] != '-') {
            if (a->index) {
                fprintf(stderr, "sp-index quality: one index only ('%s' and '%s')\n", a->index, o);
                return -1;
            }
            a->index = o;
            continue;
        }
        if (!v) {
            fprintf(stderr, "sp-index quality: %s needs a value\n", o);
            return -1;
        }
        i++;
        if (str) {
            *str = v;
        } else if (!strcmp(o, "--min-rating")) {
            char *end;
            a->min_rating = strtod(v, &end);
            if (end == v || *end || !isfinite(a->min_rating)) {
                fprintf(stderr, "sp-index quality: --min-rating takes a number, not '%s'\n", v);
                return -1;
            }
        } else if (!strcmp(o, "--queries") || !strcmp(o, "--seed") || !strcmp(o, "--baseline-keys")) {
            if (number(o, v, UINT64_MAX, &n))
                return -1;
            *(o[2] == 'q' ? &a->queries : o[2] == 's' ? &a->seed : &a->baseline_keys) = n;
        } else if (!strcmp(o, "--k") || !strcmp(o, "--nprobe") || !strcmp(o, "--threads")) {
            if (number(o, v, o[2] == 'k' ? 1024 : o[2] == 'n' ? SP_RETRIEVER_MAX_NPROBE : 1024, &n))
                return -1;
            *(o[2] == 'k' ? &a->k : o[2] == 'n' ? &a->nprobe : &a->threads) = (uint32_t)n;
        } else {
            fprintf(stderr, "sp-index quality: unknown option '%s'\n", o);
            return -1;
        }
    }
    const char *why = !a->index ? "no index file given"
                    : !a->spd ? "--spd is needed"
                    : !a->embedder == !a->pca ? "give the index's embedder: --embedder E.spe or --pca P.spp"
                    : a->model && !a->embedder ? "--model goes with --embedder"
                    : a->k == 0 ? "--k must be at least 1"
                    : a->queries == 0 ? "--queries must be at least 1"
                    : strcmp(a->part, "test") && strcmp(a->part, "train") && strcmp(a->part, "all")
                        ? "--part takes test, train or all"
                    : strcmp(a->exclude, "none") && strcmp(a->exclude, "game") ? "--exclude takes none or game"
                    : NULL;
    if (why) {
        fprintf(stderr, "sp-index quality: %s\n", why);
        return -1;
    }
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-index quality: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

/* Keys of positions by the command's embedder (any order; sorted is fastest). */
static int embed(const index_embedder *e, const sp_dataset *ds, const uint64_t *pos, uint64_t n, float *keys,
                 uint32_t *games)
{
    return n ? sp_embedder_embed_positions(e->embedder, ds, pos, n, keys, games) : SP_OK;
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */
/* ------------------------------------------------------------------------ */

static int part_of(const char *name)
{
    return !strcmp(name, "train") ? SP_PART_TRAIN : !strcmp(name, "test") ? SP_PART_TEST : SP_PART_ALL;
}

static int compare_ids(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A uniform 64-bit draw below n (n >= 1), without modulo bias. */
static uint64_t below(sp_rng *rng, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = sp_rng_next(rng);
    while (x >= limit);
    return x % n;
}

/* Positions of the part (of rated games with --min-rating), then
 * min(wanted, available) of them drawn without replacement, sorted. */
static int draw_queries(const sp_dataset *ds, const qargs *a, sp_rng *rng, uint64_t **out, uint64_t *n)
{
    size_t count = 0;
    int rc = sp_dataset_positions(ds, part_of(a->part), NULL, NULL, 0, &count);
    if (rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL)
        return fail("positions", rc);
    uint64_t *pos = malloc((count ? count : 1) * sizeof *pos);
    if (!pos)
        return fail("positions", SP_ERR_NOMEM);
    if ((rc = sp_dataset_positions(ds, part_of(a->part), NULL, pos, count, &count)) != SP_OK) {
        free(pos);
        return fail("positions", rc);
    }
    if (!isnan(a->min_rating)) {
        /* Positions are sorted, so a game's positions are consecutive. */
        uint64_t kept = 0, game = UINT64_MAX, end = 0;
        int rated = 0;
        for (size_t i = 0; i < count; i++) {
            if (pos[i] >= end) {
                uint32_t move;
                sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
                if ((rc = sp_dataset_position_locate(ds, pos[i], &game, &move)) != SP_OK ||
                    (rc = sp_dataset_game_info_get(ds, game, &info)) != SP_OK) {
                    free(pos);
                    return fail("games", rc);
                }
                end = info.first_position + info.moves;
                /* NaN (no rating) fails both comparisons: an unrated game is left out. */
                rated = info.black_rating >= a->min_rating && info.white_rating >= a->min_rating;
            }
            if (rated)
                pos[kept++] = pos[i];
        }
        count = kept;
    }
    if (count == 0) {
        fprintf(stderr, "sp-index quality: no position of part %s%s in %s\n", a->part,
                isnan(a->min_rating) ? "" : " in games rated that high", a->spd);
        free(pos);
        return 1;
    }
    *n = a->queries < count ? a->queries : count;
    for (uint64_t i = 0; i < *n; i++) { /* the first n steps of a Fisher-Yates shuffle */
        uint64_t j = i + below(rng, count - i), t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
    }
    qsort(pos, *n, sizeof *pos, compare_ids);
    *out = pos;
    return 0;
}

/* k positions per query drawn uniformly (with replacement) from the index's ids. */
static int draw_random(const sp_retriever *r, sp_rng *rng, uint64_t nq, uint32_t k, uint64_t *out)
{
    uint64_t total = sp_retriever_count(r);
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return fail("index ids", SP_ERR_NOMEM);
    uint64_t at = 0;
    int rc = SP_OK;
    for (uint32_t h = 0; rc == SP_OK && h < sp_retriever_halves(r); h++) {
        size_t got = 0;
        rc = sp_retriever_ids(r, h, all + at, NULL, (size_t)(total - at), &got);
        at += got;
    }
    if (rc != SP_OK || at == 0) {
        free(all);
        return rc != SP_OK ? fail("index ids", rc) : (fprintf(stderr, "sp-index quality: the index is empty\n"), 1);
    }
    for (uint64_t i = 0; i < nq * k; i++)
        out[i] = all[below(rng, at)];
    free(all);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* What each position is: replayed once per game, games in id order        */
/* ------------------------------------------------------------------------ */

typedef struct facts {
    uint64_t *ids; /* sorted, unique */
    uint64_t n;
    int area;
    uint8_t *board;   /* n x area sp_color */
    uint8_t *owner;   /* n x area: 0 neutral, 1 the side to move's, 2 the opponent's */
    int32_t *next;    /* the action played from the position; -1 none */
    int8_t *to_play;  /* SP_BLACK or SP_WHITE */
    int8_t *outcome;  /* +1 the side to move won the game, -1 lost, 0 draw or no result */
} facts;

static void facts_free(facts *f)
{
    free(f->ids);
    free(f->board);
    free(f->owner);
    free(f->next);
    free(f->to_play);
    free(f->outcome);
}

static uint64_t facts_find(const facts *f, uint64_t id)
{
    uint64_t lo = 0, hi = f->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (f->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One game's positions among ids[i..]: replayed up to each in turn; returns
 * the index past them, or UINT64_MAX on failure (reported). */
static uint64_t facts_game(const sp_dataset *ds, facts *f, uint64_t i, int32_t **moves, size_t *cap)
{
    uint64_t game;
    uint32_t move;
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    uint8_t own[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    size_t count = 0;
    int rc;
    if ((rc = sp_dataset_position_locate(ds, f->ids[i], &game, &move)) != SP_OK ||
        (rc = sp_dataset_game_info_get(ds, game, &info)) != SP_OK ||
        (rc = sp_dataset_game_ownership(ds, game, own, sizeof own)) != SP_OK)
        return fail("game", rc), UINT64_MAX;
    if (info.moves > *cap) {
        free(*moves);
        *cap = info.moves;
        if (!(*moves = malloc(*cap * sizeof **moves)))
            return *cap = 0, fail("moves", SP_ERR_NOMEM), UINT64_MAX;
    }
    if ((rc = sp_dataset_game_moves(ds, game, *moves, *cap, &count)) != SP_OK)
        return fail("moves", rc), UINT64_MAX;
    sp_game *g = NULL;
    if ((rc = sp_dataset_game_replay(ds, game, (int)move, &g)) != SP_OK)
        return fail("replay", rc), UINT64_MAX;
    uint32_t at = move;
    for (; i < f->n && f->ids[i] < info.first_position + info.moves; i++) {
        uint32_t m = (uint32_t)(f->ids[i] - info.first_position);
        for (; at < m && rc == SP_OK; at++) {
            int point;
            if ((rc = sp_action_to_move(sp_game_size(g), (*moves)[at], &point)) == SP_OK)
                rc = sp_game_play(g, point);
        }
        if (rc != SP_OK || (rc = sp_game_board(g, f->board + i * (uint64_t)f->area, (size_t)f->area)) != SP_OK) {
            sp_game_free(g);
            return fail("replay", rc), UINT64_MAX;
        }
        int me = sp_game_to_play(g);
        f->to_play[i] = (int8_t)me;
        f->next[i] = m < count ? (*moves)[m] : -1;
        f->outcome[i] = (int8_t)(info.winner == SP_EMPTY ? 0 : info.winner == me ? 1 : -1);
        for (int p = 0; p < f->area; p++)
            f->owner[i * (uint64_t)f->area + p] = (uint8_t)(own[p] == SP_EMPTY ? 0 : own[p] == me ? 1 : 2);
    }
    sp_game_free(g);
    return i;
}

/* Facts of every position in the given lists (duplicates welcome). */
static int facts_collect(const sp_dataset *ds, const uint64_t *const *lists, const uint64_t *lengths, int n_lists,
                         facts *f)
{
    uint64_t total = 0, at = 0;
    for (int l = 0; l < n_lists; l++)
        total += lengths[l];
    f->area = sp_dataset_board_size(ds) * sp_dataset_board_size(ds);
    f->ids = malloc((total ? total : 1) * sizeof *f->ids);
    if (!f->ids)
        return fail("positions", SP_ERR_NOMEM);
    for (int l = 0; l < n_lists; l++)
        for (uint64_t i = 0; i < lengths[l]; i++)
            if (lists[l][i] != SP_RETRIEVER_NO_ID)
                f->ids[at++] = lists[l][i];
    qsort(f->ids, at, sizeof *f->ids, compare_ids);
    f->n = 0;
    for (uint64_t i = 0; i < at; i++)
        if (f->n == 0 || f->ids[f->n - 1] != f->ids[i])
            f->ids[f->n++] = f->ids[i];
    uint64_t n = f->n ? f->n : 1;
    f->board = malloc(n * (uint64_t)f->area);
    f->owner = malloc(n * (uint64_t)f->area);
    f->next = malloc(n * sizeof *f->next);
    f->to_play = malloc(n);
    f->outcome = malloc(n);
    if (!f->board || !f->owner || !f->next || !f->to_play || !f->outcome)
        return fail("positions", SP_ERR_NOMEM);
    int32_t *moves = NULL;
    size_t cap = 0;
    uint64_t i = 0;
    while (i < f->n && (i = facts_game(ds, f, i, &moves, &cap)) != UINT64_MAX)
        index_progress("replay", i, f->n, NULL);
    free(moves);
    return i == UINT64_MAX;
}

/* ------------------------------------------------------------------------ */
/* Metrics of a query and one neighbour                                     */
/* ------------------------------------------------------------------------ */

enum { M_NEXT, M_NEXT_SYM, M_OUTCOME, M_OWNERSHIP, M_EXACT, METRICS };
static const char *const metric_name[METRICS] = { "next_move", "next_move_sym", "outcome", "ownership", "exact" };
static const char *const metric_text[METRICS] = {
    "next move equal", "next move equal, best symmetry", "outcome agrees (win/loss)",
    "final ownership agrees (points)", "exact position" };

/* A stone as the side to move sees it: 0 empty, 1 mine, 2 theirs. */
static int mine(uint8_t stone, int8_t to_play)
{
    return stone == SP_EMPTY ? 0 : stone == to_play ? 1 : 2;
}

/* Each metric for (query q, neighbour x), as facts indexes; valid[m] is 0
 * when the metric does not apply (outcome with a draw or no result). The
 * next move up to symmetry: the symmetries that make the neighbour's stones
 * (as its side to move sees them) agree with the query's on the most points
 * are the alignments of the two boards; the move counts when one of them maps
 * the neighbour's move onto the query's (all 8 on an empty board, where a
 * 3-3 point in any corner is the same move). */
static void pair_metrics(const facts *f, uint64_t q, uint64_t x, int (*sym)[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE],
                         double value[METRICS], int valid[METRICS])
{
    const int area = f->area;
    const uint8_t *qb = f->board + q * (uint64_t)area, *xb = f->board + x * (uint64_t)area;
    const uint8_t *qo = f->owner + q * (uint64_t)area, *xo = f->owner + x * (uint64_t)area;
    for (int m = 0; m < METRICS; m++)
        valid[m] = 1;
    value[M_NEXT] = f->next[q] >= 0 && f->next[q] == f->next[x];
    int agree[SP_SYMMETRY_COUNT], best = -1;
    for (int s = 0; s < SP_SYMMETRY_COUNT; s++) {
        agree[s] = 0;
        for (int p = 0; p < area; p++)
            agree[s] += mine(xb[p], f->to_play[x]) == mine(qb[sym[s][p]], f->to_play[q]);
        best = agree[s] > best ? agree[s] : best;
    }
    value[M_NEXT_SYM] = 0;
    for (int s = 0; s < SP_SYMMETRY_COUNT && f->next[q] >= 0; s++)
        if (agree[s] == best && f->next[q] == (f->next[x] >= 0 && f->next[x] < area ? sym[s][f->next[x]] : f->next[x]))
            value[M_NEXT_SYM] = 1;
    valid[M_OUTCOME] = f->outcome[q] != 0 && f->outcome[x] != 0;
    value[M_OUTCOME] = valid[M_OUTCOME] && f->outcome[q] == f->outcome[x];
    int own = 0;
    for (int p = 0; p < area; p++)
        own += qo[p] == xo[p];
    value[M_OWNERSHIP] = (double)own / area;
    value[M_EXACT] = f->to_play[q] == f->to_play[x] && !memcmp(qb, xb, (size_t)area);
}

/* ------------------------------------------------------------------------ */
/* Statistics over queries                                                  */
/* ------------------------------------------------------------------------ */

typedef struct estimate {
    double value, low, high;
    uint64_t n;
} estimate;

/* Mean of the per-query values that apply, with a normal 95% interval. */
static estimate mean_interval(const double *v, const uint8_t *ok, uint64_t nq)
{
    double sum = 0, sum2 = 0;
    uint64_t n = 0;
    for (uint64_t i = 0; i < nq; i++)
        if (ok[i]) {
            sum += v[i];
            n++;
        }
    double mean = n ? sum / (double)n : NAN;
    for (uint64_t i = 0; i < nq; i++)
        if (ok[i])
            sum2 += (v[i] - mean) * (v[i] - mean);
    double half = n > 1 ? 1.959964 * sqrt(sum2 / (double)(n - 1) / (double)n) : NAN;
    return (estimate){ mean, mean - half, mean + half, n };
}

static int compare_floats(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) (v reordered so that v[0..k) are the
 * smaller ones), by quickselect with three-way partitions: distances repeat
 * (0 for every exact match), and equal values must not make it quadratic. */
static float select_kth(float *v, uint64_t n, uint64_t k)
{
    uint64_t lo = 0, hi = n; /* the k-th lies in v[lo..hi) */
    for (;;) {
        float pivot = v[lo + (hi - lo) / 2], t;
        uint64_t lt = lo, i = lo, gt = hi; /* v[lo..lt) < pivot, v[lt..i) == pivot, v[gt..hi) > pivot */
        while (i < gt) {
            if (v[i] < pivot) {
                t = v[i], v[i++] = v[lt], v[lt++] = t;
            } else if (v[i] > pivot) {
                t = v[i], v[i] = v[--gt], v[gt] = t;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return pivot;
    }
}

static float median_of(float *v, uint64_t n)
{
    float upper = select_kth(v, n, n / 2);
    if (n % 2)
        return upper;
    float lower = v[0];
    for (uint64_t i = 1; i < n / 2; i++) /* after the select, v[0..n/2) holds the smaller half */
        lower = v[i] > lower ? v[i] : lower;
    return 0.5f * (lower + upper);
}

#define BOOTSTRAP 1000

/* Median of the finite distances of queries 0..nq-1 (k each, in d), with
 * a percentile bootstrap interval resampling queries, the unit of sampling. */
static estimate median_interval(const float *d, uint64_t nq, uint32_t k, sp_rng *rng)
{
    estimate e = { NAN, NAN, NAN, 0 };
    float *all = malloc((nq * k > 0 ? nq * k : 1) * sizeof *all), *medians = malloc(BOOTSTRAP * sizeof *medians);
    uint64_t n = 0;
    for (uint64_t i = 0; all && i < nq * k; i++)
        if (isfinite(d[i]))
            all[n++] = d[i];
    if (!all || !medians || n == 0)
        goto done;
    e.n = n;
    e.value = median_of(all, n);
    for (int b = 0; b < BOOTSTRAP; b++) {
        uint64_t m = 0;
        for (uint64_t i = 0; i < nq; i++) {
            const float *row = d + below(rng, nq) * k;
            for (uint32_t j = 0; j < k; j++)
                if (isfinite(row[j]))
                    all[m++] = row[j];
        }
        medians[b] = m ? median_of(all, m) : NAN;
    }
    qsort(medians, BOOTSTRAP, sizeof *medians, compare_floats);
    e.low = medians[(int)(0.025 * BOOTSTRAP)];
    e.high = medians[(int)(0.975 * BOOTSTRAP) - 1];
done:
    free(all);
    free(medians);
    return e;
}

/* Per query and metric: the mean over the query's neighbours, and whether
 * any neighbour counted. */
typedef struct per_query {
    double *value[METRICS];
    uint8_t *ok[METRICS];
} per_query;

/* Fill from nq x k neighbour ids (SP_RETRIEVER_NO_ID where missing);
 * *skipped counts the neighbours of queries with a result left out of the
 * outcome (their own game a draw or without a result). */
typedef struct pair_out {
    FILE *file;        /* NULL: no --pairs */
    const char *set;   /* "index" or "random" */
    const float *dist; /* the pairs' distances, for the first `with_dist` queries */
    uint64_t with_dist;
} pair_out;

static int per_query_fill(per_query *pq, const facts *f, const uint64_t *qpos, const uint64_t *ids, uint64_t nq,
                          uint32_t k, int (*sym)[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE], const pair_out *out,
                          uint64_t *skipped)
{
    for (int m = 0; m < METRICS; m++) {
        pq->value[m] = calloc(nq ? nq : 1, sizeof *pq->value[m]);
        pq->ok[m] = calloc(nq ? nq : 1, 1);
        if (!pq->value[m] || !pq->ok[m])
            return fail("metrics", SP_ERR_NOMEM);
    }
    *skipped = 0;
    for (uint64_t i = 0; i < nq; i++) {
        uint64_t q = facts_find(f, qpos[i]), count[METRICS] = { 0 };
        double sum[METRICS] = { 0 };
        for (uint32_t j = 0; j < k; j++) {
            uint64_t id = ids[i * k + j];
            if (id == SP_RETRIEVER_NO_ID)
                continue;
            double v[METRICS];
            int ok[METRICS];
            pair_metrics(f, q, facts_find(f, id), sym, v, ok);
            if (out->file) {
                fprintf(out->file, "%s,%llu,%llu,%u,%llu,", out->set, (unsigned long long)i,
                        (unsigned long long)qpos[i], j, (unsigned long long)id);
                if (i < out->with_dist)
                    fprintf(out->file, "%.9g", out->dist[i * k + j]);
                for (int m = 0; m < METRICS; m++)
                    fprintf(out->file, ok[m] ? ",%.9g" : ",", v[m]);
                fputc('\n', out->file);
            }
            for (int m = 0; m < METRICS; m++)
                if (ok[m]) {
                    sum[m] += v[m];
                    count[m]++;
                }
            *skipped += f->outcome[q] != 0 && !ok[M_OUTCOME];
        }
        for (int m = 0; m < METRICS; m++) {
            pq->ok[m][i] = count[m] > 0;
            pq->value[m][i] = count[m] ? sum[m] / (double)count[m] : 0;
        }
    }
    return 0;
}

static void per_query_free(per_query *pq)
{
    for (int m = 0; m < METRICS; m++) {
        free(pq->value[m]);
        free(pq->ok[m]);
    }
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct report {
    estimate index[METRICS + 1], random[METRICS + 1]; /* the last: median distance */
    uint64_t queries, outcome_unknown_queries, skipped_index, skipped_random, random_distance_queries;
} report;

static void print_report(const report *r, const qargs *a, uint32_t k)
{
    printf("\n%-34s %-28s %-28s %8s\n", "metric (mean over queries)", "index neighbours [95% CI]",
           "random neighbours [95% CI]", "queries");
    for (int m = 0; m <= METRICS; m++) {
        const estimate *x = &r->index[m], *y = &r->random[m];
        char left[64], right[64];
        const char *fmt = m == METRICS ? "%.4g [%.4g, %.4g]" : "%.4f [%.4f, %.4f]";
        snprintf(left, sizeof left, fmt, x->value, x->low, x->high);
        snprintf(right, sizeof right, fmt, y->value, y->low, y->high);
        printf("%-34s %-28s %-28s %8llu\n", m == METRICS ? "median squared distance" : metric_text[m], left, right,
               (unsigned long long)(m == METRICS ? r->queries : x->n));
    }
    printf("\n%llu queries from part %s%s, k = %u; intervals: normal over queries (each query the mean of its\n"
           "neighbours); the median distance's a percentile bootstrap over queries (%d resamples) of the median\n"
           "over all their neighbours (index: the search's distances over %llu neighbours; random: exact\n"
           "distances of the keys, over the random neighbours of the first %llu queries).\n"
           "outcome: %llu queries left out (their game a draw or without a result); %llu index neighbours and\n"
           "%llu random ones left out for the same reason.\n",
           (unsigned long long)r->queries, a->part, isnan(a->min_rating) ? "" : " (rated games)", k, BOOTSTRAP,
           (unsigned long long)r->index[METRICS].n, (unsigned long long)r->random_distance_queries,
           (unsigned long long)r->outcome_unknown_queries, (unsigned long long)r->skipped_index,
           (unsigned long long)r->skipped_random);
}

static int write_csv(const report *r, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "sp-index quality: cannot write %s\n", tmp);
        return 1;
    }
    fprintf(f, "name,value,low,high,n\n");
    for (int s = 0; s < 2; s++)
        for (int m = 0; m <= METRICS; m++) {
            const estimate *e = s ? &r->random[m] : &r->index[m];
            fprintf(f, "%s%s,%.9g,%.9g,%.9g,%llu\n", s ? "random_" : "", m == METRICS ? "median_distance"
                    : metric_name[m], e->value, e->low, e->high, (unsigned long long)e->n);
        }
    int bad = ferror(f) | fclose(f);
    if (bad || rename(tmp, path)) {
        remove(tmp);
        fprintf(stderr, "sp-index quality: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The command                                                              */
/* ------------------------------------------------------------------------ */

typedef struct run {
    sp_dataset *ds;
    sp_retriever *r;
    index_embedder e;
    uint32_t dim;
    uint64_t id;
    sp_rng *rng;
    uint64_t *qpos, *ids, *rand_ids, nq;
    float *qkeys, *dist, *rand_keys, *rand_dist;
    uint32_t *qgames;
    facts f;
    per_query pq[2];
} run;

static void run_free(run *x)
{
    sp_retriever_free(x->r);
    index_embedder_close(&x->e);
    sp_dataset_free(x->ds);
    sp_rng_free(x->rng);
    free(x->qpos);
    free(x->ids);
    free(x->rand_ids);
    free(x->qkeys);
    free(x->dist);
    free(x->rand_keys);
    free(x->rand_dist);
    free(x->qgames);
    facts_free(&x->f);
    per_query_free(&x->pq[0]);
    per_query_free(&x->pq[1]);
}

/* Inputs, their agreement (embedder ids, board sizes), the queries and their keys. */
static int open_run(run *x, const qargs *a)
{
    int rc;
    if ((rc = sp_dataset_load(&x->ds, a->spd)) != SP_OK)
        return fail(a->spd, rc);
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.threads = a->threads;
    if ((rc = sp_retriever_load(&x->r, a->index, SP_RETRIEVER_LOAD_MMAP, &ro)) != SP_OK)
        return fail(a->index, rc);
    index_embedder_args ea = { a->embedder, a->model, a->pca, SP_PRECISION_F32, a->threads };
    if (index_embedder_open(&ea, sp_dataset_board_size(x->ds), &x->e))
        return 1;
    x->dim = sp_embedder_dim(x->e.embedder);
    x->id = sp_embedder_id(x->e.embedder);
    const char *given = a->pca ? a->pca : a->embedder;
    if (sp_retriever_embedder_id(x->r) != x->id) {
        fprintf(stderr,
                "sp-index quality: %s holds keys of embedder %016llx but %s is embedder %016llx: keys of one\n"
                "embedder are never searched with queries of another; give the embedder the index was built with\n",
                a->index, (unsigned long long)sp_retriever_embedder_id(x->r), given, (unsigned long long)x->id);
        return 1;
    }
    if (sp_retriever_dim(x->r) != x->dim) {
        fprintf(stderr, "sp-index quality: %s has %u-dimensional keys, %s makes %u\n", a->index,
                sp_retriever_dim(x->r), given, x->dim);
        return 1;
    }
    if ((rc = sp_rng_create(&x->rng, a->seed)) != SP_OK)
        return fail("random numbers", rc);
    if (draw_queries(x->ds, a, x->rng, &x->qpos, &x->nq))
        return 1;
    x->qkeys = malloc(x->nq * x->dim * sizeof *x->qkeys);
    x->qgames = malloc(x->nq * sizeof *x->qgames);
    if (!x->qkeys || !x->qgames)
        return fail("query keys", SP_ERR_NOMEM);
    double t = index_now();
    if ((rc = embed(&x->e, x->ds, x->qpos, x->nq, x->qkeys, x->qgames)) != SP_OK)
        return fail("query keys", rc);
    printf("queries          %llu positions of part %s embedded in %.1f s\n", (unsigned long long)x->nq, a->part,
           index_now() - t);
    return 0;
}

/* The index's neighbours and the random ones, with their distances. */
static int neighbours(run *x, const qargs *a)
{
    const uint64_t nk = x->nq * a->k;
    x->ids = malloc(nk * sizeof *x->ids);
    x->dist = malloc(nk * sizeof *x->dist);
    x->rand_ids = malloc(nk * sizeof *x->rand_ids);
    if (!x->ids || !x->dist || !x->rand_ids)
        return fail("neighbours", SP_ERR_NOMEM);
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = x->id;
    q.nprobe = a->nprobe;
    q.threads = a->threads;
    q.exclude = strcmp(a->exclude, "game") ? SP_RETRIEVER_EXCLUDE_NONE : SP_RETRIEVER_EXCLUDE_GAME;
    q.game_ids = x->qgames;
    double t = index_now();
    int rc = sp_retriever_search(x->r, x->qkeys, x->nq, x->dim, a->k, &q, x->ids, x->dist, NULL);
    if (rc != SP_OK)
        return fail("search", rc);
    printf("search           %llu x %u neighbours in %.1f s (%s, nprobe %u)\n", (unsigned long long)x->nq, a->k,
           index_now() - t, sp_retriever_factory(x->r), a->nprobe);
    if (draw_random(x->r, x->rng, x->nq, a->k, x->rand_ids))
        return 1;
    /* Exact distances of the random neighbours of the first queries: their
     * keys cost an embedding each, and the median needs far fewer. */
    uint64_t nr = a->baseline_keys < x->nq ? a->baseline_keys : x->nq, nrk = nr * a->k;
    x->rand_keys = malloc((nrk ? nrk : 1) * x->dim * sizeof *x->rand_keys);
    x->rand_dist = malloc((nrk ? nrk : 1) * sizeof *x->rand_dist);
    if (!x->rand_keys || !x->rand_dist)
        return fail("random neighbours", SP_ERR_NOMEM);
    if ((rc = embed(&x->e, x->ds, x->rand_ids, nrk, x->rand_keys, NULL)) != SP_OK)
        return fail("random neighbours' keys", rc);
    for (uint64_t i = 0; i < nrk; i++) {
        const float *qk = x->qkeys + i / a->k * x->dim, *rk = x->rand_keys + i * x->dim;
        double d = 0;
        for (uint32_t c = 0; c < x->dim; c++)
            d += (double)(qk[c] - rk[c]) * (qk[c] - rk[c]);
        x->rand_dist[i] = (float)d;
    }
    return 0;
}

int index_quality_main(int argc, char **argv)
{
    qargs a;
    int p = parse(argc, argv, &a);
    if (p)
        return p > 0 ? 0 : usage(stderr);
    sp_set_progress_callback(index_progress, NULL);
    run x = { 0 };
    int status = 1;
    if (open_run(&x, &a) || neighbours(&x, &a))
        goto done;
    const uint64_t nk = x.nq * a.k, lengths[3] = { x.nq, nk, nk };
    const uint64_t *lists[3] = { x.qpos, x.ids, x.rand_ids };
    double t = index_now();
    if (facts_collect(x.ds, lists, lengths, 3, &x.f))
        goto done;
    printf("replay           %llu distinct positions in %.1f s\n", (unsigned long long)x.f.n, index_now() - t);
    int size = sp_dataset_board_size(x.ds);
    static int sym[SP_SYMMETRY_COUNT][SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    for (int s = 0; s < SP_SYMMETRY_COUNT; s++)
        for (int q = 0; q < size * size; q++)
            sym[s][q] = sp_symmetry_point(s, size, q);
    report r = { .queries = x.nq };
    r.random_distance_queries = a.baseline_keys < x.nq ? a.baseline_keys : x.nq;
    pair_out out[2] = { { NULL, "index", x.dist, x.nq }, { NULL, "random", x.rand_dist, r.random_distance_queries } };
    if (a.pairs && !(out[0].file = out[1].file = fopen(a.pairs, "w"))) {
        fprintf(stderr, "sp-index quality: cannot write %s\n", a.pairs);
        goto done;
    }
    if (out[0].file) {
        fprintf(out[0].file, "set,query,query_position,rank,position,distance");
        for (int m = 0; m < METRICS; m++)
            fprintf(out[0].file, ",%s", metric_name[m]);
        fputc('\n', out[0].file);
    }
    int bad = per_query_fill(&x.pq[0], &x.f, x.qpos, x.ids, x.nq, a.k, sym, &out[0], &r.skipped_index) ||
              per_query_fill(&x.pq[1], &x.f, x.qpos, x.rand_ids, x.nq, a.k, sym, &out[1], &r.skipped_random);
    if (out[0].file && (ferror(out[0].file) | fclose(out[0].file))) {
        fprintf(stderr, "sp-index quality: writing %s failed\n", a.pairs);
        bad = 1;
    }
    if (bad)
        goto done;
    for (uint64_t i = 0; i < x.nq; i++)
        r.outcome_unknown_queries += x.f.outcome[facts_find(&x.f, x.qpos[i])] == 0;
    for (int m = 0; m < METRICS; m++) {
        r.index[m] = mean_interval(x.pq[0].value[m], x.pq[0].ok[m], x.nq);
        r.random[m] = mean_interval(x.pq[1].value[m], x.pq[1].ok[m], x.nq);
    }
    r.index[METRICS] = median_interval(x.dist, x.nq, a.k, x.rng);
    r.random[METRICS] = median_interval(x.rand_dist, r.random_distance_queries, a.k, x.rng);
    print_report(&r, &a, a.k);
    status = a.csv ? write_csv(&r, a.csv) : 0;
done:
    run_free(&x);
    return status;
}
