/* What the agent retrieves: the neighbours of the positions its search
 * evaluates (embed, search the index, read the neighbours' planes from the
 * dataset), the root's kept for the report, and the games it remembers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_internal.h"
#include "core/core_internal.h"

double sp__agent_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int sp__agent_retrieval_init(sp_agent *a)
{
    const size_t N = (size_t)a->neighbours;
    a->root_ids = malloc(N * sizeof *a->root_ids);
    a->root_distances = malloc(N * sizeof *a->root_distances);
    a->root_planes = malloc(a->neighbour_floats * sizeof *a->root_planes);
    a->root_next_planes = malloc(a->neighbour_floats * sizeof *a->root_next_planes);
    if (!a->root_ids || !a->root_distances || !a->root_planes || !a->root_next_planes)
        return sp__error(SP_ERR_NOMEM, "sp_agent_create: out of memory for the neighbours");
    return SP_OK;
}

void sp__agent_retrieval_free(sp_agent *a)
{
    free(a->root_ids);
    free(a->root_distances);
    free(a->root_planes);
    free(a->root_next_planes);
}

/* Keys of n games, then their N nearest ids and distances; the seconds of
 * each stage are added to the agent's counts. */
static int retrieve(sp_agent *a, size_t n, const sp_game *const *games, uint64_t *ids, float *distances)
{
    float *keys = malloc(n * a->dim * sizeof *keys);
    if (!keys)
        return sp__error(SP_ERR_NOMEM, "agent: out of memory for %zu keys", n);
    const double t0 = sp__agent_now();
    int rc = sp_embedder_embed_games(a->embedder, games, n, keys);
    const double t1 = sp__agent_now();
    if (!rc) {
        sp_retriever_query q = SP_RETRIEVER_QUERY_INIT;
        q.nprobe = a->opts.nprobe;
        q.embedder_id = sp_embedder_id(a->embedder);
        /* The search's workers are the parallelism; FAISS's own threads
         * would only compete with them. */
        q.threads = 1;
        rc = sp_retriever_search(a->retriever, keys, n, a->dim, (uint32_t)a->neighbours, &q, ids, distances, NULL);
    }
    const double t2 = sp__agent_now();
    free(keys);
    pthread_mutex_lock(&a->lock);
    a->embed_seconds += t1 - t0;
    a->retrieve_seconds += t2 - t1;
    a->queries += (int64_t)n;
    pthread_mutex_unlock(&a->lock);
    return rc;
}

/* The planes of N neighbours by id (zeros for "no such key"). */
static int planes_of(const sp_agent *a, const uint64_t *ids, float *out)
{
    const size_t one = (size_t)SP_NEIGHBOUR_PLANES * (size_t)a->area;
    for (int j = 0; j < a->neighbours; j++) {
        float *dst = out + (size_t)j * one;
        if (ids[j] == SP_RETRIEVER_NO_ID) {
            memset(dst, 0, one * sizeof *dst);
            continue;
        }
        int rc = sp_dataset_neighbour_planes(a->dataset, ids[j], 0, dst, one);
        if (rc)
            return sp__error(rc, "agent: neighbour %llu of the retrieval set is not a position of the agent's "
                                 "dataset (%s): is the index of another dataset?",
                             (unsigned long long)ids[j], sp_last_error());
    }
    return SP_OK;
}

/* The planes of each neighbour's next position (the one after its next
 * move, in the same game), for the root's opponent to move; zeros where
 * the neighbour's game ends with it. */
static int next_planes_of(const sp_agent *a, const uint64_t *ids, float *out)
{
    const size_t one = (size_t)SP_NEIGHBOUR_PLANES * (size_t)a->area;
    const uint64_t positions = sp_dataset_position_count(a->dataset);
    for (int j = 0; j < a->neighbours; j++) {
        uint64_t game, next_game;
        uint32_t move;
        const int has_next = ids[j] != SP_RETRIEVER_NO_ID && ids[j] + 1 < positions &&
                             sp_dataset_position_locate(a->dataset, ids[j], &game, &move) == SP_OK &&
                             sp_dataset_position_locate(a->dataset, ids[j] + 1, &next_game, &move) == SP_OK &&
                             next_game == game;
        if (!has_next) {
            memset(out + (size_t)j * one, 0, one * sizeof *out);
            continue;
        }
        int rc = sp_dataset_neighbour_planes(a->dataset, ids[j] + 1, 0, out + (size_t)j * one, one);
        if (rc)
            return rc;
    }
    return SP_OK;
}

static int is_root(const sp_agent *a, const sp_game *g)
{
    return a->root_valid && sp_game_hash(g) == a->root_hash && sp_game_to_play(g) == a->root_to_play;
}

int sp__agent_retrieve_root(sp_agent *a, const sp_game *root)
{
    a->root_valid = 0;
    int rc = retrieve(a, 1, &root, a->root_ids, a->root_distances);
    const double t0 = sp__agent_now();
    if (!rc)
        rc = planes_of(a, a->root_ids, a->root_planes);
    if (!rc && !a->opts.per_node_neighbours)
        rc = next_planes_of(a, a->root_ids, a->root_next_planes);
    a->retrieve_seconds += sp__agent_now() - t0; /* before the search: no worker adds yet */
    if (rc)
        return rc;
    a->root_hash = sp_game_hash(root);
    a->root_to_play = sp_game_to_play(root);
    a->root_valid = 1;
    return SP_OK;
}

/* The planes the root's retrieval serves @p g with, or NULL when @p g retrieves its own. By
   default every position reads the root's neighbours (the positions a search reaches are a few
   moves from it), or for the other side to move their next positions. */
static const float *root_planes_for(const sp_agent *a, const sp_game *g)
{
    const int root_for_all = !a->opts.per_node_neighbours && a->root_valid;
    if (root_for_all && sp_game_to_play(g) != a->root_to_play)
        return a->root_next_planes;
    if (root_for_all || is_root(a, g))
        return a->root_planes;
    return NULL;
}

/* Retrieve, in one batch, the @p m positions of @p games that the root's planes do not serve. */
static int retrieve_misses(sp_agent *a, size_t n, const sp_game *const *games, size_t m, float *out)
{
    const size_t X = a->neighbour_floats, N = (size_t)a->neighbours;
    const sp_game **misses = malloc(m * sizeof *misses);
    size_t *rows = malloc(m * sizeof *rows);
    uint64_t *ids = malloc(m * N * sizeof *ids);
    float *distances = malloc(m * N * sizeof *distances);
    int rc = misses && rows && ids && distances ? SP_OK : sp__error(SP_ERR_NOMEM, "agent: out of memory");
    for (size_t i = 0, k = 0; i < n && !rc; i++)
        if (!root_planes_for(a, games[i])) {
            misses[k] = games[i];
            rows[k++] = i;
        }
    if (!rc)
        rc = retrieve(a, m, misses, ids, distances);
    const double t0 = sp__agent_now();
    for (size_t k = 0; k < m && !rc; k++)
        rc = planes_of(a, ids + k * N, out + rows[k] * X);
    const double spent = sp__agent_now() - t0;
    pthread_mutex_lock(&a->lock);
    a->retrieve_seconds += spent;
    pthread_mutex_unlock(&a->lock);
    free(misses);
    free(rows);
    free(ids);
    free(distances);
    return rc;
}

int sp__agent_neighbours(size_t n, const sp_game *const *games, float *out, void *payload)
{
    sp_agent *a = payload;
    const size_t X = a->neighbour_floats;
    /* The root's planes were retrieved before the search; the other positions retrieve now,
       and only then is anything allocated (by default none do: the search's hot path). */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const float *planes = root_planes_for(a, games[i]);
        if (planes)
            memcpy(out + i * X, planes, X * sizeof *out);
        else
            m++;
    }
    return m ? retrieve_misses(a, n, games, m, out) : SP_OK;
}

int sp_agent_neighbour_get(const sp_agent *a, int32_t index, sp_agent_neighbour *out)
{
    if (!a || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_neighbour_get: %s is NULL", a ? "out" : "agent");
    if (index < 0 || index >= a->report.neighbours)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_neighbour_get: index %d is outside 0..%d (the latest root's "
                                             "neighbours)", (int)index, (int)a->report.neighbours - 1);
    sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
    n.position = a->root_ids[index];
    n.distance = a->root_distances[index];
    uint32_t move = 0;
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    int rc = sp_dataset_position_locate(a->dataset, n.position, &n.game, &move);
    if (!rc)
        rc = sp_dataset_game_info_get(a->dataset, n.game, &info);
    int32_t *moves = rc ? NULL : malloc((info.moves + 1) * sizeof *moves);
    if (!rc && !moves)
        rc = sp__error(SP_ERR_NOMEM, "sp_agent_neighbour_get: out of memory");
    if (!rc)
        rc = sp_dataset_game_moves(a->dataset, n.game, moves, info.moves + 1, NULL);
    if (!rc) {
        n.move_number = (int32_t)move;
        /* Colours alternate from the first move (the dataset refuses games
         * whose colours do not). */
        const int to_play = move % 2 == 0 ? info.first_color : info.first_color == SP_BLACK ? SP_WHITE : SP_BLACK;
        n.outcome = info.winner == SP_EMPTY ? 0 : info.winner == to_play ? 1 : -1;
        for (int k = 0; k < SP_NEIGHBOUR_ACTIONS; k++) {
            const uint32_t at = move + (uint32_t)k;
            n.next_moves[k] = at >= info.moves ? -2 : moves[at] == a->area ? SP_PASS : moves[at];
        }
    }
    free(moves);
    if (rc)
        return rc;
    return sp__options_write(out, &n, &sp__agent_neighbour_type, "sp_agent_neighbour_get");
}

int sp_agent_add_game(sp_agent *a, const sp_game *game, const char *source, uint64_t *out_game)
{
    if (!a || !game)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_add_game: %s is NULL", a ? "game" : "agent");
    if (!a->neighbours)
        return sp__error(SP_ERR_MISUSE, "sp_agent_add_game: the agent retrieves nothing (%s), so it has no "
                                        "retrieval set to add to",
                         !a->model ? "random playouts" : a->opts.zero_neighbours ? "zero_neighbours"
                                                                                 : "a model without neighbours");
    if (sp_game_size(game) != a->size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_agent_add_game: a %dx%d game for a %dx%d agent",
                         sp_game_size(game), sp_game_size(game), a->size, a->size);
    const uint64_t first = sp_dataset_position_count(a->dataset);
    uint64_t id;
    int rc = sp_dataset_add_game(a->dataset, game, source, 0, &id);
    if (rc)
        return rc;
    if (out_game)
        *out_game = id;
    if (id >= UINT32_MAX)
        return sp__error(SP_ERR_MISUSE, "sp_agent_add_game: game id %llu is past the retriever's 32-bit game ids",
                         (unsigned long long)id);
    const uint64_t count = sp_dataset_position_count(a->dataset) - first;
    uint64_t *positions = malloc(count * sizeof *positions);
    uint32_t *games = malloc(count * sizeof *games);
    float *keys = malloc(count * a->dim * sizeof *keys);
    rc = positions && games && keys ? SP_OK : sp__error(SP_ERR_NOMEM, "sp_agent_add_game: out of memory");
    for (uint64_t i = 0; i < count && !rc; i++)
        positions[i] = first + i;
    if (!rc)
        rc = sp_embedder_embed_positions(a->embedder, a->dataset, positions, count, keys, games);
    if (!rc)
        rc = sp_retriever_add(a->retriever, keys, positions, games, count, a->dim);
    free(positions);
    free(games);
    free(keys);
    return rc;
}
