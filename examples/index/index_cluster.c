/* sp-index's ranks (index_cluster.h). SP_INDEX_MPI is defined when meson
 * found MPI and built libsemiparam-mpi. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../mpi_launch.h"
#include "index_cluster.h"

#ifdef SP_INDEX_MPI
#include "semiparam/dist.h"
#endif

int index_cluster_init(index_cluster *c, int *argc, char ***argv)
{
    *c = (index_cluster){ .rank = 0, .size = 1 };
    if (mpi_launch_init("sp-index", argc, argv, &c->rank, &c->size, &c->mpi))
        return 1;
    /* Every rank runs the same command; rank 0 alone reports. Errors stay
     * on stderr, where a failing rank says why. */
    if (c->rank != 0 && !freopen("/dev/null", "w", stdout)) {
        fprintf(stderr, "sp-index: rank %d cannot silence its stdout\n", c->rank);
        return 1;
    }
    return 0;
}

void index_cluster_finish(index_cluster *c) { mpi_launch_finish(&c->mpi); }

int index_cluster_any(const index_cluster *c, int flag) { return mpi_launch_any(c->size, flag); }

void index_cluster_prefix(const char *index, char *prefix, size_t capacity)
{
    size_t n = strlen(index);
    if (n > 4 && !strcmp(index + n - 4, ".spi"))
        n -= 4;
    snprintf(prefix, capacity, "%.*s", (int)n, index);
}

int index_cluster_is_sharded(const char *index)
{
    char prefix[4096], manifest[4200];
    struct stat st;
    index_cluster_prefix(index, prefix, sizeof prefix);
    snprintf(manifest, sizeof manifest, "%s.manifest", prefix);
    return stat(index, &st) != 0 && stat(manifest, &st) == 0;
}

#ifdef SP_INDEX_MPI
static int sharded(const index_cluster *c) { return c->size > 1; }
#endif

int index_set_build(const index_cluster *c, index_set *s, const float *keys, const uint64_t *pos,
                    const uint32_t *games, uint64_t n, uint32_t dim, const sp_retriever_options *o)
{
    *s = (index_set){ 0 };
#ifdef SP_INDEX_MPI
    if (sharded(c)) {
        sp_dist_retriever_options d;
        sp_dist_retriever_options_init(&d, SP_DIST_RETRIEVER_OPTIONS_VERSION);
        d.retriever = o;
        d.train_size = o->train_size;
        return sp_dist_retriever_build((sp_dist_retriever **)&s->dist, MPI_COMM_WORLD, keys, pos, games, n, dim,
                                       &d);
    }
#endif
    (void)c;
    return sp_retriever_build(&s->plain, keys, pos, games, n, dim, o);
}

int index_set_load(const index_cluster *c, index_set *s, const char *index, uint32_t flags,
                   const sp_retriever_options *o)
{
    *s = (index_set){ 0 };
#ifdef SP_INDEX_MPI
    /* A sharded save loads with any rank count, one included. */
    if (sharded(c) || (c->mpi && index_cluster_is_sharded(index))) {
        char prefix[4096];
        index_cluster_prefix(index, prefix, sizeof prefix);
        return sp_dist_retriever_load((sp_dist_retriever **)&s->dist, MPI_COMM_WORLD, prefix, o);
    }
#endif
    (void)c;
    if (index_cluster_is_sharded(index))
        fprintf(stderr, "sp-index: %s is a sharded save: run under mpirun (any -np)\n", index);
    return sp_retriever_load(&s->plain, index, flags, o);
}

int index_set_save(const index_set *s, const char *index)
{
#ifdef SP_INDEX_MPI
    if (s->dist) {
        char prefix[4096];
        index_cluster_prefix(index, prefix, sizeof prefix);
        return sp_dist_retriever_save(s->dist, prefix);
    }
#endif
    return sp_retriever_save(s->plain, index);
}

int index_set_add(index_set *s, const float *keys, const uint64_t *pos, const uint32_t *games, uint64_t n,
                  uint32_t dim)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_add(s->dist, keys, pos, games, n, dim);
#endif
    return sp_retriever_add(s->plain, keys, pos, games, n, dim);
}

int index_set_search(const index_set *s, const float *queries, uint64_t n, uint32_t dim, uint32_t k,
                     const sp_retriever_query *q, uint64_t *ids, float *distances, uint32_t *games)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_search(s->dist, 0, queries, n, dim, k, q, ids, distances, games);
#endif
    return sp_retriever_search(s->plain, queries, n, dim, k, q, ids, distances, games);
}

int index_set_precompute(const index_set *s, const float *keys, const uint64_t *pos, const uint32_t *games,
                         uint64_t n, uint32_t dim, uint32_t k, const sp_retriever_query *q, const char *path)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_precompute(s->dist, keys, pos, games, n, dim, k, q, path);
#endif
    return sp_retriever_precompute(s->plain, keys, pos, games, n, dim, k, q, path);
}

const sp_retriever *index_set_local(const index_set *s)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_local(s->dist);
#endif
    return s->plain;
}

const sp_retriever *index_set_held(const index_set *s, int i)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_shard(s->dist, i);
#endif
    return i == 0 ? s->plain : NULL;
}

uint64_t index_set_count(const index_set *s)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_count(s->dist);
#endif
    return sp_retriever_count(s->plain);
}

uint64_t index_set_search_bytes(const index_set *s)
{
#ifdef SP_INDEX_MPI
    if (s->dist)
        return sp_dist_retriever_search_bytes(s->dist);
#endif
    (void)s;
    return 0;
}

void index_set_free(index_set *s)
{
#ifdef SP_INDEX_MPI
    sp_dist_retriever_free(s->dist);
#endif
    sp_retriever_free(s->plain);
    *s = (index_set){ 0 };
}
