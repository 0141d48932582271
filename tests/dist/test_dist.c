/* libsemiparam-mpi under mpirun (tests/dist/run-mpi.sh): a sharded Flat index
 * answers exactly as one index over the same keys, a sharded IVF-PQ index's
 * recall@10 equals one index's within noise, additions land on the rank that
 * owns their game, a set saved by 2 ranks answers exactly the same loaded by 3
 * or 1 (Flat and IVF-PQ), a sharded precompute writes one process's `.spn`
 * (byte for byte over Flat), and a bad argument on one rank fails the call everywhere.
 * Plain C (libcheck's forking does not mix with MPI); every rank checks and
 * the job fails when any rank does. dist.h comes first: it compiles alone. */
#include "semiparam/dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist_check.h"


/* The same keys on every rank: a deterministic generator. */
static uint64_t state;
static float uniform(void)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(state >> 40) / (float)(1u << 24);
}

/* n keys of dim: clusters of 20 keys around 40 centres (so IVF lists and PQ
 * codes have work), and every 25th key an exact copy of the one before, from
 * another game (distance ties between keys that may sit on different ranks). */
static float *make_keys(uint64_t n, uint32_t dim, uint64_t seed)
{
    float *keys = malloc(n * dim * sizeof *keys), *centres = malloc(40 * dim * sizeof *centres);
    state = seed;
    for (uint32_t i = 0; i < 40 * dim; i++)
        centres[i] = uniform() * 10.0f;
    for (uint64_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < dim; j++)
            keys[i * dim + j] = i % 25 == 24 ? keys[(i - 1) * dim + j]
                                             : centres[(i / 20 % 40) * dim + j] + uniform();
    free(centres);
    return keys;
}

static void make_ids(uint64_t n, uint64_t first_id, uint32_t first_game, uint64_t *ids, uint32_t *games)
{
    for (uint64_t i = 0; i < n; i++) {
        ids[i] = first_id + i;
        games[i] = first_game + (uint32_t)(i / 10);
    }
}

/* The keys i with i % size == rank: a partition that is not by game, so the
 * build has to route them. */
static uint64_t my_part(const float *keys, const uint64_t *ids, const uint32_t *games, uint64_t n, uint32_t dim,
                        int rank, int size, float *pk, uint64_t *pi, uint32_t *pg)
{
    uint64_t m = 0;
    for (uint64_t i = (uint64_t)rank; i < n; i += (uint64_t)size, m++) {
        memcpy(pk + m * dim, keys + i * dim, dim * sizeof *keys);
        pi[m] = ids[i];
        pg[m] = games[i];
    }
    return m;
}

/* n keys of every rank (keys, ids, games) and this rank's part of them (pk, pi, pg, m). */
struct fixture {
    float *keys, *pk;
    uint64_t *ids, *pi, m;
    uint32_t *games, *pg;
};

static struct fixture fixture_make(uint64_t n, uint32_t dim, uint64_t seed, int rank, int size)
{
    struct fixture f = { make_keys(n, dim, seed), malloc(n * dim * sizeof(float)), malloc(n * sizeof(uint64_t)),
                         malloc(n * sizeof(uint64_t)), 0, malloc(n * sizeof(uint32_t)),
                         malloc(n * sizeof(uint32_t)) };
    make_ids(n, 0, 0, f.ids, f.games);
    f.m = my_part(f.keys, f.ids, f.games, n, dim, rank, size, f.pk, f.pi, f.pg);
    return f;
}

static void fixture_free(struct fixture *f)
{
    free(f->keys), free(f->pk), free(f->ids), free(f->pi), free(f->games), free(f->pg);
}

/* A new directory TMPDIR/NAME-XXXXXX that rank 0 makes, named on every rank. */
static void shared_dir(int rank, const char *name, char *dir, size_t capacity)
{
    if (rank == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, capacity, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
        CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    }
    MPI_Bcast(dir, (int)capacity, MPI_CHAR, 0, MPI_COMM_WORLD);
}

/* Options of a sharded Flat index; ro must outlive the result's use. */
static sp_dist_retriever_options flat_options(sp_retriever_options *ro)
{
    *ro = (sp_retriever_options)SP_RETRIEVER_OPTIONS_INIT;
    ro->factory = "Flat";
    sp_dist_retriever_options o = SP_DIST_RETRIEVER_OPTIONS_INIT;
    o.retriever = ro;
    return o;
}

/* Options of a sharded index of factory that trains on n keys (all of a
 * test's keys: the sample one index trained on them sees); ro must outlive
 * the result's use. */
static sp_dist_retriever_options options_training_on(sp_retriever_options *ro, const char *factory, uint64_t n)
{
    *ro = (sp_retriever_options)SP_RETRIEVER_OPTIONS_INIT;
    ro->factory = factory;
    ro->train_size = n;
    sp_dist_retriever_options o = SP_DIST_RETRIEVER_OPTIONS_INIT;
    o.retriever = ro;
    o.train_size = n;
    return o;
}

static void test_flat_exact(int rank, int size)
{
    enum { N = 3000, DIM = 16, K = 10, NQ = 16 };
    struct fixture f = fixture_make(N, DIM, 1, rank, size);
    float *keys = f.keys;
    uint64_t *ids = f.ids, *pi = f.pi, m = f.m;
    uint32_t *games = f.games, *pg = f.pg;
    float *pk = f.pk;

    sp_retriever_options ro;
    sp_dist_retriever_options o = flat_options(&ro);
    sp_dist_retriever *d = NULL;
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, pk, pi, pg, m, DIM, &o);
    CHECK(rc == SP_OK, "sharded Flat build: %s", sp_status_str(rc));
    sp_retriever *single = NULL;
    rc = sp_retriever_build(&single, keys, ids, games, N, DIM, &ro);
    CHECK(rc == SP_OK, "single Flat build: %s", sp_status_str(rc));
    if (d && single) {
        CHECK(sp_dist_retriever_count(d) == N, "count %llu", (unsigned long long)sp_dist_retriever_count(d));
        /* Queries: keys that have an exact copy (ties at distance 0), and
         * points between clusters; batches of NQ < 20 keep FAISS on its
         * exact per-pair distances, the same in every index. */
        float q[NQ * DIM];
        for (int i = 0; i < NQ; i++)
            for (int j = 0; j < DIM; j++)
                q[i * DIM + j] = i % 2 ? keys[(size_t)(25 * i + 24) * DIM + j] : uniform() * 10.0f;
        for (int root = 0; root < size; root++) {
            uint64_t got[NQ * K], want[NQ * K];
            float gd[NQ * K], wd[NQ * K];
            uint32_t gg[NQ * K], wg[NQ * K];
            rc = sp_dist_retriever_search(d, root, rank == root ? q : NULL, rank == root ? NQ : 0, DIM, K, NULL,
                                          rank == root ? got : NULL, rank == root ? gd : NULL,
                                          rank == root ? gg : NULL);
            CHECK(rc == SP_OK, "sharded search from root %d: %s", root, sp_status_str(rc));
            if (rank != root || rc != SP_OK)
                continue;
            rc = sp_retriever_search(single, q, NQ, DIM, K, NULL, want, wd, wg);
            CHECK(rc == SP_OK, "single search: %s", sp_status_str(rc));
            int differ = 0;
            for (int i = 0; i < NQ * K; i++)
                differ += got[i] != want[i] || gd[i] != wd[i] || gg[i] != wg[i];
            CHECK(differ == 0, "root %d: %d of %d results differ from the single index (first query: %llu/%g vs "
                  "%llu/%g, %llu/%g vs %llu/%g)", root, differ, NQ * K, (unsigned long long)got[K], gd[K],
                  (unsigned long long)want[K], wd[K], (unsigned long long)got[K + 1], gd[K + 1],
                  (unsigned long long)want[K + 1], wd[K + 1]);
            int ties = 0;
            for (int i = 0; i < NQ; i++)
                ties += wd[i * K] == wd[i * K + 1];
            CHECK(ties >= NQ / 2, "only %d queries have tied nearest neighbours: the tie-break is not tested", ties);
        }
    }
    sp_dist_retriever_free(d);
    sp_retriever_free(single);
    fixture_free(&f);
}

static double recall_at_10(const uint64_t *got, const uint64_t *truth, int nq)
{
    int hit = 0;
    for (int i = 0; i < nq; i++)
        for (int a = 0; a < 10; a++)
            for (int b = 0; b < 10; b++)
                hit += got[i * 10 + a] == truth[i * 10 + b];
    return (double)hit / (10.0 * nq);
}

static void test_ivfpq_recall(int rank, int size)
{
    enum { N = 20000, DIM = 32, NQ = 200 };
    struct fixture f = fixture_make(N, DIM, 2, rank, size);
    sp_retriever_options ro = SP_RETRIEVER_OPTIONS_INIT;
    ro.factory = "IVF64,PQ32x4np";
    ro.train_size = N;
    sp_dist_retriever_options o = SP_DIST_RETRIEVER_OPTIONS_INIT;
    o.retriever = &ro;
    o.train_size = N;
    sp_dist_retriever *d = NULL;
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.pk, f.pi, f.pg, f.m, DIM, &o);
    CHECK(rc == SP_OK, "sharded IVF-PQ build: %s", sp_status_str(rc));
    float *q = malloc((size_t)NQ * DIM * sizeof *q);
    for (int i = 0; i < NQ * DIM; i++) /* near f.keys: a key plus noise */
        q[i] = f.keys[(size_t)(i / DIM * 97 % N) * DIM + i % DIM] + 0.3f * (uniform() - 0.5f);
    sp_retriever_query sq = SP_RETRIEVER_QUERY_INIT;
    sq.nprobe = 16;
    uint64_t *got = malloc(NQ * 10 * sizeof *got);
    rc = d ? sp_dist_retriever_search(d, 0, q, NQ, DIM, 10, &sq, got, NULL, NULL) : SP_ERR_MISUSE;
    CHECK(rc == SP_OK, "sharded IVF-PQ search: %s", sp_status_str(rc));
    if (rank == 0 && rc == SP_OK) {
        sp_retriever *flat = NULL, *single = NULL;
        sp_retriever_options fo = SP_RETRIEVER_OPTIONS_INIT;
        fo.factory = "Flat";
        uint64_t *truth = malloc(NQ * 10 * sizeof *truth), *one = malloc(NQ * 10 * sizeof *one);
        rc = sp_retriever_build(&flat, f.keys, f.ids, f.games, N, DIM, &fo);
        if (rc == SP_OK)
            rc = sp_retriever_search(flat, q, NQ, DIM, 10, NULL, truth, NULL, NULL);
        /* The single index trains on the sample the sharded build gathers
         * (train_size N: every rank's f.keys, in rank order), so both have the
         * same quantizer and codes; then it holds every key. */
        float *sample = malloc((size_t)N * DIM * sizeof *sample);
        uint64_t *si = malloc(N * sizeof *si), at = 0;
        uint32_t *sg = malloc(N * sizeof *sg);
        for (int r = 0; r < size; r++)
            at += my_part(f.keys, f.ids, f.games, N, DIM, r, size, sample + at * DIM, si + at, sg + at);
        if (rc == SP_OK)
            rc = sp_retriever_create(&single, DIM, N, &ro);
        if (rc == SP_OK)
            rc = sp_retriever_train(single, sample, N, DIM);
        if (rc == SP_OK)
            rc = sp_retriever_add(single, f.keys, f.ids, f.games, N, DIM);
        free(sample), free(si), free(sg);
        if (rc == SP_OK)
            rc = sp_retriever_search(single, q, NQ, DIM, 10, &sq, one, NULL, NULL);
        CHECK(rc == SP_OK, "single indexes: %s", sp_status_str(rc));
        double sharded = recall_at_10(got, truth, NQ), alone = recall_at_10(one, truth, NQ);
        printf("ivfpq recall@10 with %d ranks: sharded %.3f, single index %.3f\n", size, sharded, alone);
        CHECK(alone > 0.5, "the single index's recall %.3f is too low to compare", alone);
        CHECK(fabs(sharded - alone) <= 0.02, "sharded recall %.3f vs single %.3f", sharded, alone);
        sp_retriever_free(flat);
        sp_retriever_free(single);
        free(truth), free(one);
    }
    sp_dist_retriever_free(d);
    fixture_free(&f);
    free(q), free(got);
}

/* Each rank adds keys of its own new games; every key must land on the rank
 * sp_dist_game_rank() names, and be found there. */
static void test_add_routing(int rank, int size)
{
    enum { N = 600, DIM = 8, ADD = 120 };
    struct fixture f = fixture_make(N, DIM, 3, rank, size);
    sp_retriever_options ro;
    sp_dist_retriever_options o = flat_options(&ro);
    sp_dist_retriever *d = NULL;
    /* Rank 0 passes every key, the others none. */
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.keys, f.ids, f.games, rank == 0 ? N : 0, DIM, &o);
    CHECK(rc == SP_OK, "build: %s", sp_status_str(rc));
    if (!d) {
        fixture_free(&f);
        return;
    }
    float *add = make_keys(ADD, DIM, 100 + (uint64_t)rank);
    uint64_t aids[ADD];
    uint32_t agames[ADD];
    make_ids(ADD, 1000000 + (uint64_t)rank * ADD, 100000 + (uint32_t)rank * 1000, aids, agames);
    rc = sp_dist_retriever_add(d, add, aids, agames, ADD, DIM);
    CHECK(rc == SP_OK, "add: %s", sp_status_str(rc));
    CHECK(sp_dist_retriever_count(d) == N + (uint64_t)ADD * size, "count %llu after adding",
          (unsigned long long)sp_dist_retriever_count(d));
    /* What this rank should hold: the f.keys of f.games it owns, whoever added them. */
    uint64_t expect = 0;
    for (int i = 0; i < N; i++)
        expect += sp_dist_game_rank(f.games[i], (uint32_t)size) == (uint32_t)rank;
    for (int r = 0; r < size; r++)
        for (int i = 0; i < ADD; i++)
            expect += sp_dist_game_rank(100000 + (uint32_t)r * 1000 + (uint32_t)(i / 10), (uint32_t)size) ==
                      (uint32_t)rank;
    const sp_retriever *local = sp_dist_retriever_local(d);
    uint64_t held = sp_retriever_count(local);
    CHECK(held == expect, "shard %d holds %llu f.keys, owns %llu", rank, (unsigned long long)held,
          (unsigned long long)expect);
    uint32_t *held_games = malloc((held ? held : 1) * sizeof *held_games);
    size_t n = 0;
    rc = sp_retriever_ids(local, 0, NULL, held_games, held, &n);
    CHECK(rc == SP_OK && n == held, "f.ids of the shard: %s", sp_status_str(rc));
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += sp_dist_game_rank(held_games[i], (uint32_t)size) != (uint32_t)rank;
    CHECK(wrong == 0, "%d f.keys on shard %d belong to another rank", wrong, rank);
    /* The added f.keys are found from the last rank, at distance ~0. */
    uint64_t got[ADD];
    float dist[ADD];
    rc = sp_dist_retriever_search(d, rank == size - 1 ? rank : size - 1, add, ADD, DIM, 1, NULL, got, dist, NULL);
    CHECK(rc == SP_OK, "search for the added f.keys: %s", sp_status_str(rc));
    if (rank == size - 1 && rc == SP_OK) {
        int missing = 0;
        for (int i = 0; i < ADD; i++)
            missing += dist[i] > 1e-3f; /* >= 20 queries: FAISS's BLAS distances, not exactly 0 */
        CHECK(missing == 0, "%d added f.keys not found at distance ~0", missing);
    }
    free(held_games);
    free(add);
    sp_dist_retriever_free(d);
    fixture_free(&f);
}

/* Save, load with the same ranks: the same answers. A shard swapped in from
 * another save, a manifest of another rank count or a truncated one: refused
 * on every rank. */
/* Remove the two saves of `shards` shards at prefixes a and b, then dir:
 * the rmdir fails when a file was left behind. */
static void remove_saves(const char *dir, const char *a, const char *b, int shards)
{
    char path[512];
    const char *prefixes[2] = { a, b };
    for (int p = 0; p < 2; p++) {
        snprintf(path, sizeof path, "%s.manifest", prefixes[p]);
        remove(path);
        for (int r = 0; r < shards; r++) {
            snprintf(path, sizeof path, "%s.%d.spi", prefixes[p], r);
            remove(path);
        }
    }
    CHECK(rmdir(dir) == 0, "rmdir %s (files left behind)", dir);
}

static void test_save_load(int rank, int size)
{
    enum { N = 600, DIM = 8, NQ = 12, K = 5 };
    char dir[256] = "", path[512], other[512];
    shared_dir(rank, "test_dist", dir, sizeof dir);
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    struct fixture f = fixture_make(N, DIM, 5, rank, size), g = fixture_make(N, DIM, 6, rank, size);
    sp_retriever_options ro;
    sp_dist_retriever_options o = flat_options(&ro);
    sp_dist_retriever *d = NULL, *e = NULL, *loaded = (sp_dist_retriever *)&o;
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.pk, f.pi, f.pg, f.m, DIM, &o);
    if (rc == SP_OK)
        rc = sp_dist_retriever_build(&e, MPI_COMM_WORLD, g.pk, g.pi, g.pg, g.m, DIM, &o);
    CHECK(rc == SP_OK, "build: %s", sp_status_str(rc));
    if (rc == SP_OK)
        rc = sp_dist_retriever_save(d, a);
    if (rc == SP_OK)
        rc = sp_dist_retriever_save(e, b);
    CHECK(rc == SP_OK, "save: %s", sp_status_str(rc));
    CHECK(sp_dist_retriever_save(d, "") == SP_ERR_INVALID_ARG, "save to an empty prefix");
    if (rc == SP_OK)
        rc = sp_dist_retriever_load(&loaded, MPI_COMM_WORLD, a, NULL);
    CHECK(rc == SP_OK && loaded && sp_dist_retriever_count(loaded) == N, "load: %s", sp_status_str(rc));
    if (rc == SP_OK && loaded) {
        uint64_t want[NQ * K], got[NQ * K];
        float wd[NQ * K], gd[NQ * K];
        int r1 = sp_dist_retriever_search(d, 0, f.keys, NQ, DIM, K, NULL, want, wd, NULL);
        int r2 = sp_dist_retriever_search(loaded, 0, f.keys, NQ, DIM, K, NULL, got, gd, NULL);
        CHECK(r1 == SP_OK && r2 == SP_OK, "searches: %s %s", sp_status_str(r1), sp_status_str(r2));
        if (rank == 0 && r1 == SP_OK && r2 == SP_OK)
            CHECK(memcmp(want, got, sizeof want) == 0 && memcmp(wd, gd, sizeof wd) == 0,
                  "the loaded set answers differently");
    }
    sp_dist_retriever_free(loaded);
    /* Shard 0 of the other save under a's name. */
    if (rank == 0) {
        snprintf(path, sizeof path, "%s.0.spi", a);
        snprintf(other, sizeof other, "%s.0.spi", b);
        CHECK(rename(other, path) == 0, "rename %s", other);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    loaded = (sp_dist_retriever *)&o;
    rc = sp_dist_retriever_load(&loaded, MPI_COMM_WORLD, a, NULL);
    CHECK(rc == (rank == 0 ? SP_ERR_FORMAT : SP_ERR_MISUSE) && !loaded, "a mixed set: %s", sp_status_str(rc));
    /* Manifests cut short: no shard lines (another rank count is no longer
     * refused: test_reshard), and a shard line cut. */
    snprintf(path, sizeof path, "%s.manifest", b);
    for (int bad = 0; bad < 2; bad++) {
        if (rank == 0) {
            FILE *m = fopen(path, "w");
            CHECK(m != NULL, "rewrite %s", path);
            if (m) {
                if (bad == 0)
                    fprintf(m, "libsemiparam-mpi manifest 1\nranks %d\ndim %d\nkeys %d\n", size + 1, DIM, N);
                else
                    fprintf(m, "libsemiparam-mpi manifest 1\nranks %d\ndim %d\nkeys %d\nshard 0 1", size, DIM, N);
                fclose(m);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        rc = sp_dist_retriever_load(&loaded, MPI_COMM_WORLD, b, NULL);
        CHECK(rc == SP_ERR_FORMAT && !loaded, "manifest %s: %s", bad == 0 ? "without shard lines" : "cut short",
              sp_status_str(rc));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        remove_saves(dir, a, b, size);
    sp_dist_retriever_free(d);
    sp_dist_retriever_free(e);
    fixture_free(&f);
    fixture_free(&g);
}

/* Resharding: a set saved by 2 ranks (or by all of them) loaded by all the
 * ranks of the job and by one alone answers exactly as the handle that saved
 * it, for Flat and IVF-PQ (the shards' codes are read back untouched);
 * additions after the load land in the shard of their game; and the set it
 * saves again loads with the first rank count. */
enum { RQ = 24, RK = 10, RDIM = 16 };
struct answers {
    uint64_t ids[RQ * RK];
    float dist[RQ * RK];
    uint32_t games[RQ * RK];
};

/* A collective search of q from root 0 into *out (filled on the root). */
static int reshard_search(const sp_dist_retriever *d, const float *q, struct answers *out)
{
    sp_retriever_query sq = SP_RETRIEVER_QUERY_INIT;
    sq.nprobe = 8;
    return sp_dist_retriever_search(d, 0, q, RQ, RDIM, RK, &sq, out->ids, out->dist, out->games);
}

static void test_reshard(int rank, int size, const char *factory)
{
    enum { N = 4000, DIM = RDIM, NQ = RQ };
    char dir[256] = "", a[300], b[300];
    shared_dir(rank, "test_reshard", dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    /* The saving job: ranks 0 and 1 (all of them with 2 ranks; with 3 the
     * third one then loads shards it never held). */
    int savers = size > 2 ? 2 : size;
    MPI_Comm part;
    MPI_Comm_split(MPI_COMM_WORLD, rank < savers ? 0 : MPI_UNDEFINED, rank, &part);
    struct fixture f = fixture_make(N, DIM, 7, rank, savers);
    sp_retriever_options ro;
    sp_dist_retriever_options o = options_training_on(&ro, factory, N);
    float q[NQ * DIM];
    for (int i = 0; i < NQ * DIM; i++)
        q[i] = f.keys[(size_t)(i / DIM * 131 % N) * DIM + i % DIM] + 0.2f * (uniform() - 0.5f);
    sp_dist_retriever *saved = NULL, *all = NULL, *alone = NULL, *again = NULL;
    int rc = SP_OK;
    if (part != MPI_COMM_NULL) {
        rc = sp_dist_retriever_build(&saved, part, f.pk, f.pi, f.pg, f.m, DIM, &o);
        if (rc == SP_OK)
            rc = sp_dist_retriever_save(saved, a);
        CHECK(rc == SP_OK, "%s: build and save on %d ranks: %s", factory, savers, sp_status_str(rc));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    rc = sp_dist_retriever_load(&all, MPI_COMM_WORLD, a, NULL);
    CHECK(rc == SP_OK && sp_dist_retriever_count(all) == N, "%s: load of %d shards on %d ranks: %s", factory,
          savers, size, sp_status_str(rc));
    CHECK((sp_dist_retriever_local(all) != NULL) == (rank < savers), "%s: rank %d holds %s shard", factory, rank,
          sp_dist_retriever_local(all) ? "a" : "no");
    /* The saving handle's answers on rank 0 (the root of every search). */
    struct answers want, got;
    memset(&want, 0, sizeof want);
    if (saved)
        CHECK(reshard_search(saved, q, &want) == SP_OK, "%s: search of the saving handle", factory);
    if (all) {
        rc = reshard_search(all, q, &got);
        CHECK(rc == SP_OK, "%s: search on %d ranks: %s", factory, size, sp_status_str(rc));
        if (rank == 0 && rc == SP_OK)
            CHECK(!memcmp(&want, &got, sizeof want), "%s: %d ranks answer otherwise than the %d that saved",
                  factory, size, savers);
    }
    if (rank == 0) {
        rc = sp_dist_retriever_load(&alone, MPI_COMM_SELF, a, NULL);
        CHECK(rc == SP_OK && sp_dist_retriever_count(alone) == N, "%s: load on one rank: %s", factory,
              sp_status_str(rc));
        uint64_t held = 0;
        for (int i = 0; sp_dist_retriever_shard(alone, i); i++)
            held += sp_retriever_count(sp_dist_retriever_shard(alone, i));
        CHECK(held == N && sp_dist_retriever_shard(alone, savers - 1) && !sp_dist_retriever_shard(alone, savers) &&
                  !sp_dist_retriever_shard(alone, -1), "%s: one rank holds the %d shards, %llu keys", factory, savers,
              (unsigned long long)held);
        if (alone) {
            rc = reshard_search(alone, q, &got);
            CHECK(rc == SP_OK && !memcmp(&want, &got, sizeof want),
                  "%s: one rank answers otherwise than the %d that saved (%s)", factory, savers, sp_status_str(rc));
        }
    }
    /* Additions after a resharding load land in their game's shard. */
    if (all) {
        uint64_t id = 1000000 + (uint64_t)rank;
        uint32_t game = 500000 + (uint32_t)rank;
        rc = sp_dist_retriever_add(all, f.keys + (size_t)rank * DIM, &id, &game, 1, DIM);
        CHECK(rc == SP_OK && sp_dist_retriever_count(all) == N + (uint64_t)size, "%s: add after load: %s", factory,
              sp_status_str(rc));
        const sp_retriever *mine = sp_dist_retriever_local(all);
        uint64_t ids[N + 8];
        uint32_t games[N + 8];
        size_t n = 0;
        int wrong = 0;
        if (mine && sp_retriever_ids(mine, 0, ids, games, N + 8, &n) == SP_OK)
            for (size_t i = 0; i < n; i++)
                wrong += (int)(sp_dist_game_rank(games[i], (uint32_t)savers) % (uint32_t)size) != rank;
        CHECK(wrong == 0, "%s: %d keys in a shard not of their game", factory, wrong);
        rc = sp_dist_retriever_save(all, b);
        CHECK(rc == SP_OK, "%s: save after resharding: %s", factory, sp_status_str(rc));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (part != MPI_COMM_NULL) {
        rc = sp_dist_retriever_load(&again, part, b, NULL);
        CHECK(rc == SP_OK && sp_dist_retriever_count(again) == N + (uint64_t)size,
              "%s: the resaved set on %d ranks: %s", factory, savers, sp_status_str(rc));
        if (again) {
            rc = reshard_search(again, q, &got);
            CHECK(rc == SP_OK, "%s: search of the resaved set: %s", factory, sp_status_str(rc));
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    sp_dist_retriever_free(again);
    sp_dist_retriever_free(alone);
    sp_dist_retriever_free(all);
    sp_dist_retriever_free(saved);
    if (part != MPI_COMM_NULL)
        MPI_Comm_free(&part);
    if (rank == 0)
        remove_saves(dir, a, b, savers);
    fixture_free(&f);
}

/* The whole file at path, malloc'd (NULL when unreadable); *len its size. */
static char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    *len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)*len + 1)) && fread(data, 1, (size_t)*len, f) != (size_t)*len) {
        free(data);
        data = NULL;
    }
    if (f)
        fclose(f);
    return data;
}

/* Recall of the neighbour ids of file `got` against file `truth` (the same
 * positions in the same order), k per row. */
static double spn_recall(const char *got, const char *truth)
{
    sp_neighbours *a = NULL, *b = NULL;
    double recall = -1;
    if (sp_neighbours_open(&a, got) == SP_OK && sp_neighbours_open(&b, truth) == SP_OK &&
        sp_neighbours_count(a) == sp_neighbours_count(b) && sp_neighbours_k(a) == sp_neighbours_k(b)) {
        uint32_t k = sp_neighbours_k(a);
        uint64_t n = sp_neighbours_count(a), hit = 0, pa, pb, ia[64], ib[64];
        for (uint64_t i = 0; i < n && k <= 64; i++) {
            sp_neighbours_row(a, i, &pa, ia, NULL);
            sp_neighbours_row(b, i, &pb, ib, NULL);
            for (uint32_t x = 0; x < k && pa == pb; x++)
                for (uint32_t y = 0; y < k; y++)
                    hit += ia[x] == ib[y] && ia[x] != SP_RETRIEVER_NO_ID;
        }
        recall = (double)hit / ((double)n * k);
    }
    sp_neighbours_free(a);
    sp_neighbours_free(b);
    return recall;
}

/* The largest difference between the distances of the same row and place
 * in two `.spn` files of the same positions (INFINITY when they do not open
 * or differ in shape). */
static double spn_worst_distance(const char *a_path, const char *b_path)
{
    sp_neighbours *a = NULL, *b = NULL;
    double worst = INFINITY;
    if (sp_neighbours_open(&a, a_path) == SP_OK && sp_neighbours_open(&b, b_path) == SP_OK &&
        sp_neighbours_count(a) == sp_neighbours_count(b) && sp_neighbours_k(a) == sp_neighbours_k(b) &&
        sp_neighbours_k(a) <= 64) {
        float da[64], db[64];
        worst = 0;
        for (uint64_t i = 0; i < sp_neighbours_count(a); i++) {
            sp_neighbours_row(a, i, NULL, NULL, da);
            sp_neighbours_row(b, i, NULL, NULL, db);
            for (uint32_t x = 0; x < sp_neighbours_k(a); x++)
                worst = fmax(worst, fabs((double)da[x] - db[x]));
        }
    }
    sp_neighbours_free(a);
    sp_neighbours_free(b);
    return worst;
}

/* A progress callback that stops a precompute at its first report. */
static int cancel_precompute(const char *task, uint64_t done, uint64_t total, void *payload)
{
    (void)done, (void)total, (void)payload;
    return !strcmp(task, "index-precompute");
}

/* Rank r's share of the nq query positions: the first of its part of the
 * keys, so that the shares cut across the batches of 1,024 and the last
 * batch is small (FAISS's other distance path below 20 queries). */
static uint64_t query_share(int r, int size, uint64_t nq) { return nq / size + ((uint64_t)r < nq % size); }

/* sp_dist_retriever_precompute: every rank passes its share of npos
 * positions; the file rank 0 writes is the one sp_retriever_precompute
 * writes in one process over the shares in rank order (the single index
 * trained on the sample the sharded build gathers, its keys added in
 * position id order):
 *   - byte for byte where FAISS's distances do not depend on the index's
 *     layout: IVF1,Flat (an exact search, per-pair distances), IVF-PQ (the
 *     same codes and tables; checked within recall noise, printed whether the
 *     same), and Flat below 20 queries;
 *   - Flat over batches of 20 queries or more: FAISS's BLAS distances
 *     (|x|^2 + |y|^2 - 2 x.y) round differently with the keys' place in the
 *     index, so the same neighbours in each row and distances equal to 1e-3. */
static void test_precompute(int rank, int size, const char *factory, uint64_t npos)
{
    enum { N = 3000, DIM = 16, K = 10 };
    struct fixture f = fixture_make(N, DIM, 5, rank, size);
    sp_retriever_options ro;
    sp_dist_retriever_options o = options_training_on(&ro, factory, N);
    int flat = !strcmp(factory, "Flat");
    char dir[256] = "", sharded[512], alone[512], truth[512];
    shared_dir(rank, "test_dist", dir, sizeof dir);
    snprintf(sharded, sizeof sharded, "%s/sharded.spn", dir);
    snprintf(alone, sizeof alone, "%s/alone.spn", dir);
    snprintf(truth, sizeof truth, "%s/truth.spn", dir);
    sp_dist_retriever *d = NULL;
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.pk, f.pi, f.pg, f.m, DIM, &o);
    CHECK(rc == SP_OK, "%s: sharded build: %s", factory, sp_status_str(rc));
    uint64_t mine = query_share(rank, size, npos);
    sp_retriever_query q = SP_RETRIEVER_QUERY_INIT;
    q.nprobe = 4;
    rc = d ? sp_dist_retriever_precompute(d, f.pk, f.pi, f.pg, mine, DIM, K, &q, sharded) : SP_ERR_MISUSE;
    CHECK(rc == SP_OK, "%s: sharded precompute: %s", factory, sp_status_str(rc));
    if (rank == 0 && rc == SP_OK) {
        /* The shares in rank order, as one process would list them; the
         * single index trains on the sample the sharded build gathered
         * (every rank's part, in rank order) and then holds every key. */
        float *all = malloc((size_t)N * DIM * sizeof *all), *qk = malloc((size_t)npos * DIM * sizeof *qk);
        uint64_t *ai = malloc(N * sizeof *ai), *qi = malloc(npos * sizeof *qi), at = 0, nq = 0;
        uint32_t *ag = malloc(N * sizeof *ag), *qg = malloc(npos * sizeof *qg);
        for (int r = 0; r < size; r++) {
            uint64_t m = my_part(f.keys, f.ids, f.games, N, DIM, r, size, all + at * DIM, ai + at, ag + at);
            uint64_t s = query_share(r, size, npos);
            memcpy(qk + nq * DIM, all + at * DIM, s * DIM * sizeof *qk);
            memcpy(qi + nq, ai + at, s * sizeof *qi);
            memcpy(qg + nq, ag + at, s * sizeof *qg);
            at += m, nq += s;
        }
        sp_retriever *single = NULL, *exact = NULL;
        sp_retriever_options fo = SP_RETRIEVER_OPTIONS_INIT;
        fo.factory = "Flat";
        rc = sp_retriever_create(&single, DIM, N, &ro);
        if (rc == SP_OK)
            rc = sp_retriever_train(single, all, N, DIM);
        if (rc == SP_OK)
            rc = sp_retriever_add(single, f.keys, f.ids, f.games, N, DIM);
        if (rc == SP_OK)
            rc = sp_retriever_precompute(single, qk, qi, qg, npos, DIM, K, &q, alone);
        if (rc == SP_OK && !flat)
            rc = sp_retriever_build(&exact, f.keys, f.ids, f.games, N, DIM, &fo);
        if (rc == SP_OK && !flat)
            rc = sp_retriever_precompute(exact, qk, qi, qg, npos, DIM, K, &q, truth);
        CHECK(rc == SP_OK, "%s: one-process precompute: %s", factory, sp_status_str(rc));
        long la, lb;
        char *a = slurp(sharded, &la), *b = slurp(alone, &lb);
        int same = a && b && la == lb && memcmp(a, b, (size_t)la) == 0;
        CHECK(la == 64 + (long)npos * (8 + 12 * K), "%s: the sharded file has %ld bytes", factory, la);
        if (flat && npos >= 20) {
            double rs = spn_recall(sharded, alone), worst = spn_worst_distance(sharded, alone);
            printf("Flat precompute of %llu positions with %d ranks: neighbours %.4f the same, distances within %g "
                   "(%s file)\n", (unsigned long long)npos, size, rs, worst, same ? "the same" : "another");
            CHECK(rs == 1.0 && worst <= 1e-3, "Flat: %d ranks find other neighbours (%.4f the same) or distances "
                  "(%g apart) than one process", size, rs, worst);
        } else if (flat || !strcmp(factory, "IVF1,Flat")) {
            CHECK(same, "%s: the %d-rank file (%ld bytes) differs from one process's (%ld bytes)", factory, size,
                  la, lb);
        } else {
            double rs = spn_recall(sharded, truth), r1 = spn_recall(alone, truth);
            printf("%s precompute recall@%d with %d ranks: sharded %.4f, one process %.4f (%s file)\n", factory, K,
                   size, rs, r1, same ? "the same" : "another");
            CHECK(r1 > 0.5, "%s: one process's recall %.3f is too low to compare", factory, r1);
            CHECK(fabs(rs - r1) <= 0.02, "%s: sharded recall %.4f vs one process %.4f", factory, rs, r1);
        }
        free(a), free(b), free(all), free(qk), free(ai), free(qi), free(ag), free(qg);
        sp_retriever_free(single);
        sp_retriever_free(exact);
        remove(alone);
        remove(truth);
    }
    /* Bad arguments on one rank fail every rank, and leave no file. */
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        remove(sharded);
    MPI_Barrier(MPI_COMM_WORLD);
    if (d) {
        int last = rank == size - 1;
        rc = sp_dist_retriever_precompute(d, f.pk, f.pi, f.pg, mine, last ? DIM + 1 : DIM, K, &q, sharded);
        CHECK(rc == (last ? SP_ERR_INVALID_ARG : SP_ERR_MISUSE) || (size == 1 && rc == SP_ERR_INVALID_ARG),
              "wrong dim on the last rank: %s", sp_status_str(rc));
        rc = sp_dist_retriever_precompute(d, f.pk, f.pi, f.pg, mine, DIM, last ? K + 1 : K, &q, sharded);
        CHECK(size == 1 ? rc == SP_OK : rc == SP_ERR_INVALID_ARG, "k differing on the last rank: %s",
              sp_status_str(rc));
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0)
            remove(sharded);
        MPI_Barrier(MPI_COMM_WORLD);
        rc = sp_dist_retriever_precompute(d, last ? NULL : f.pk, f.pi, f.pg, mine, DIM, K, &q,
                                          last ? NULL : sharded);
        CHECK(rc == (last ? SP_ERR_INVALID_ARG : SP_ERR_MISUSE) || (size == 1 && rc == SP_ERR_INVALID_ARG),
              "NULL keys and path on the last rank: %s", sp_status_str(rc));
        sp_retriever_query newer = q;
        newer.version = SP_RETRIEVER_QUERY_VERSION + 1;
        rc = sp_dist_retriever_precompute(d, f.pk, f.pi, f.pg, mine, DIM, K, rank == 0 ? &newer : &q, sharded);
        CHECK(rc == (rank == 0 ? SP_ERR_VERSION : SP_ERR_MISUSE), "newer query on rank 0: %s", sp_status_str(rc));
        /* Rank 0's progress callback cancels after the first batch. */
        if (rank == 0)
            sp_set_progress_callback(cancel_precompute, NULL);
        rc = sp_dist_retriever_precompute(d, f.pk, f.pi, f.pg, mine, DIM, K, &q, sharded);
        sp_set_progress_callback(NULL, NULL);
        CHECK(rc == (rank == 0 ? SP_ERR_CANCELLED : SP_ERR_MISUSE) || npos == 0, "cancelled on rank 0: %s",
              sp_status_str(rc));
        CHECK(access(sharded, F_OK) != 0, "a failed precompute left %s", sharded);
    }
    CHECK(sp_dist_retriever_precompute(NULL, f.pk, f.pi, f.pg, mine, DIM, K, &q, sharded) == SP_ERR_INVALID_ARG,
          "precompute NULL handle");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        CHECK(rmdir(dir) == 0, "rmdir %s (files left behind)", dir);
    sp_dist_retriever_free(d);
    fixture_free(&f);
}

/* A bad argument on one rank fails the collective call on all of them. */
static void test_errors(int rank, int size)
{
    enum { N = 100, DIM = 4 };
    struct fixture f = fixture_make(N, DIM, 4, rank, size);
    sp_retriever_options ro;
    sp_dist_retriever_options o = flat_options(&ro);
    CHECK(sp_dist_retriever_options_init(NULL, 1) == SP_ERR_INVALID_ARG, "init NULL");
    CHECK(sp_dist_retriever_options_init(&o, 0) == SP_ERR_INVALID_ARG, "init version 0");
    CHECK(sp_dist_retriever_options_init(&o, SP_DIST_RETRIEVER_OPTIONS_VERSION + 1) == SP_ERR_VERSION,
          "init newer version");
    CHECK(sp_dist_retriever_options_init(&o, SP_DIST_RETRIEVER_OPTIONS_VERSION) == SP_OK && !o.retriever &&
              o.train_size == 0, "init defaults");
    o.retriever = &ro;
    sp_dist_retriever *d = (sp_dist_retriever *)&o;
    sp_dist_retriever_options newer = o;
    newer.version = SP_DIST_RETRIEVER_OPTIONS_VERSION + 1;
    int rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.keys, f.ids, f.games, N, DIM, rank == 0 ? &newer : &o);
    CHECK(rc == (rank == 0 ? SP_ERR_VERSION : SP_ERR_MISUSE) && !d, "newer options on rank 0: %s",
          sp_status_str(rc));
    CHECK(sp_dist_retriever_build(NULL, MPI_COMM_WORLD, f.keys, f.ids, f.games, N, DIM, &o) == SP_ERR_INVALID_ARG,
          "out NULL");
    rc = sp_dist_retriever_build(&d, MPI_COMM_WORLD, f.keys, f.ids, f.games, N, DIM, &o);
    CHECK(rc == SP_OK, "build: %s", sp_status_str(rc));
    if (d) {
        rc = sp_dist_retriever_add(d, f.keys, f.ids, f.games, 1, rank == size - 1 ? DIM + 1 : DIM);
        CHECK(rc == (rank == size - 1 ? SP_ERR_INVALID_ARG : SP_ERR_MISUSE), "wrong dim on the last rank: %s",
              sp_status_str(rc));
        CHECK(sp_dist_retriever_count(d) == (uint64_t)N * size, "count changed by a failed add");
        uint64_t out[N];
        rc = sp_dist_retriever_search(d, 0, f.keys, rank == 0 ? 1 : 0, DIM, 0, NULL, out, NULL, NULL);
        CHECK(rc == (rank == 0 ? SP_ERR_INVALID_ARG : SP_ERR_MISUSE), "k 0: %s", sp_status_str(rc));
        rc = sp_dist_retriever_search(d, size, f.keys, 1, DIM, 1, NULL, out, NULL, NULL);
        CHECK(rc == SP_ERR_INVALID_ARG, "root out of range: %s", sp_status_str(rc));
        rc = sp_dist_retriever_search(d, rank, f.keys, 1, DIM, 1, NULL, out, NULL, NULL);
        CHECK(size == 1 || rc == SP_ERR_INVALID_ARG, "different roots: %s", sp_status_str(rc));
        CHECK(sp_dist_retriever_rank(d) == rank && sp_dist_retriever_size(d) == size, "rank and size");
    }
    CHECK(sp_dist_retriever_add(NULL, f.keys, f.ids, f.games, 1, DIM) == SP_ERR_INVALID_ARG, "add NULL handle");
    CHECK(sp_dist_retriever_local(NULL) == NULL && sp_dist_retriever_shard(NULL, 0) == NULL &&
              sp_dist_retriever_search_bytes(NULL) == 0 && sp_dist_retriever_count(NULL) == 0 &&
              sp_dist_retriever_rank(NULL) == -1 && sp_dist_retriever_size(NULL) == 0, "accessors of NULL");
    CHECK(sp_dist_game_rank(7, 0) == 0, "game rank of 0 ranks");
    sp_dist_retriever_free(NULL);
    sp_dist_retriever_free(d);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    test_flat_exact(my_rank, size);
    test_ivfpq_recall(my_rank, size);
    test_add_routing(my_rank, size);
    test_save_load(my_rank, size);
    test_reshard(my_rank, size, "Flat");
    test_reshard(my_rank, size, "IVF32,PQ8x4np");
    test_precompute(my_rank, size, "Flat", 19);
    test_precompute(my_rank, size, "Flat", 2060);
    test_precompute(my_rank, size, "IVF1,Flat", 2060);
    test_precompute(my_rank, size, "IVF16,PQ16x4np", 2060);
    test_errors(my_rank, size);
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (my_rank == 0)
        printf("%s: %d failed checks over %d ranks\n", all ? "FAIL" : "ok", all, size);
    MPI_Finalize();
    return all ? 1 : 0;
}
