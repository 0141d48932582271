/* sp-bench retrieval: IVF-PQ indexes over PCA keys (d=64) of real CGOS
 * positions against exact flat search in the same run: recall@10 (ties
 * counted by distance), codes scanned per query, queries/s in batches of 256
 * and of 1 on 2 threads, build time, memory and bytes per key, for an nprobe
 * (rerank, max_codes) sweep. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <semiparam.h>

#include "bench.h"
#include "index/index_util.h"
#include "retrieval/retrieval_internal.h"

typedef struct rbench {
    uint64_t keys;
    uint64_t queries;
    uint64_t pca_sample;
    uint32_t threads;
    uint32_t k;
    const char *spd;
    const char *factories;
    const char *nprobes;
    const char *reranks;
    const char *max_codes;
    const char *data_dir;
    int free_exact;
    uint32_t rounds;
} rbench;

static int rb_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench retrieval [options]\n"
            "  --keys N|all      keys in the index (default 1000000); all: every position but the queries\n"
            "  --queries N       query positions, held out of the index (default 2000)\n"
            "  --spd FILE        take positions from this dataset (default: import CGOS from $SP_DATA_DIR/go9)\n"
            "  --factories L     ';'-separated FAISS factory strings, {nlist} = 4 sqrt(keys) rounded to a power of 2\n"
            "                    (default IVF{nlist},PQ16np;IVF{nlist},PQ16np,Refine(SQ8);IVF{nlist},PQ32x4fs,Refine(SQ8))\n"
            "  --nprobe L        nprobe sweep (default 1,4,16,64)\n"
            "  --rerank L        rerank (k_factor) sweep for refine indexes (default 4,16)\n"
            "  --max-codes L     max_codes sweep: codes scanned per query at most; 0 the retriever's default\n"
            "                    (2 x nprobe average lists), all: no budget (default 0)\n"
            "  --pca-sample N    positions the PCA is trained on (default 50000)\n"
            "  --threads T       FAISS threads (default 2)\n"
            "  --free-exact      time exact search once and free it before the IVF builds (for indexes that\n"
            "                    do not fit in memory twice); by default it is timed again beside every row\n"
            "  --rounds N        rounds of (exact batch, approximate batches) per row; medians (default 3)\n");
    return out == stdout ? 0 : 2;
}

/* Resident and peak memory of the process in MiB, from /proc/self/status. */
static void memory_mib(double *rss, double *peak)
{
    *rss = *peak = 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss = strtod(line + 6, NULL) / 1024;
        if (!strncmp(line, "VmHWM:", 6))
            *peak = strtod(line + 6, NULL) / 1024;
    }
    if (f)
        fclose(f);
}

/* Positions 0..N-1 of a dataset: the keys array is indexed by position id. */
typedef struct key_table {
    const float *keys;
    uint32_t dim;
} key_table;

static int table_keys(void *ctx, const uint64_t *ids, uint64_t n, float *out)
{
    const key_table *t = ctx;
    for (uint64_t i = 0; i < n; i++)
        memcpy(out + i * t->dim, t->keys + ids[i] * t->dim, t->dim * sizeof *out);
    return 0;
}

static int load_positions(const rbench *o, uint64_t need, sp_dataset **out)
{
    int rc;
    if (o->spd)
        return sp_dataset_load(out, o->spd);
    if ((rc = sp_dataset_create(out, 9)) != SP_OK)
        return rc;
    static const char *files[] = { "cgos9x9_2016.sgf.xz", "cgos9x9_2017.sgf.xz", "cgos9x9_2018.sgf.xz",
                                   "cgos9x9_2015.sgf.xz" };
    for (size_t i = 0; i < 4 && sp_dataset_position_count(*out) < need; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/go9/%s", o->data_dir, files[i]);
        sp_import_options io;
        sp_import_options_init(&io, SP_IMPORT_OPTIONS_VERSION);
        /* ~76 positions a game: stop reading a file soon after enough. */
        io.max_games = (need - sp_dataset_position_count(*out)) / 60 + 100;
        if ((rc = sp_dataset_import(*out, path, &io, NULL)) != SP_OK)
            return rc;
    }
    /* All four files and still short: the caller tells "all" from "too few". */
    return sp_dataset_position_count(*out) >= need ? SP_OK : SP_ERR_INVALID_ARG;
}

typedef struct single_job {
    const sp_retriever *r;
    const float *queries;
    uint64_t first, count;
    uint32_t dim, k;
    sp_retriever_query q;
    int rc;
} single_job;

static void *single_worker(void *p)
{
    single_job *j = p;
    uint64_t ids[64];
    float d[64];
    for (uint64_t i = j->first; i < j->first + j->count && j->rc == SP_OK; i++)
        j->rc = sp_retriever_search(j->r, j->queries + i * j->dim, 1, j->dim, j->k, &j->q, ids, d, NULL);
    return NULL;
}

/* Queries/s of one query per call, from two caller threads at once (each call one FAISS thread). */
static double single_qps(const sp_retriever *r, const float *queries, uint64_t n, uint32_t dim, uint32_t k,
                         const sp_retriever_query *q)
{
    single_job jobs[2];
    pthread_t th[2];
    double t = bench_now();
    for (int i = 0; i < 2; i++) {
        jobs[i] = (single_job){ r, queries, i * (n / 2), n / 2, dim, k, *q, SP_OK };
        jobs[i].q.threads = 1;
        pthread_create(&th[i], NULL, single_worker, &jobs[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    if (jobs[0].rc != SP_OK || jobs[1].rc != SP_OK)
        return -1;
    return (double)(2 * (n / 2)) / (bench_now() - t);
}

/* Queries/s in batches of 256 with o->threads FAISS threads; fills ids/dist. */
static double batch_qps(const sp_retriever *r, const float *queries, uint64_t n, uint32_t dim, uint32_t k,
                        const sp_retriever_query *q, uint64_t *ids, float *dist)
{
    double t = bench_now();
    for (uint64_t done = 0; done < n; done += 256) {
        uint64_t m = n - done < 256 ? n - done : 256;
        if (sp_retriever_search(r, queries + done * dim, m, dim, k, q, ids + done * k, dist ? dist + done * k : NULL,
                                NULL) != SP_OK)
            return -1;
    }
    return (double)n / (bench_now() - t);
}

static void expand(const char *pattern, uint64_t nlist, char *out, size_t cap)
{
    const char *p = strstr(pattern, "{nlist}");
    if (!p) {
        snprintf(out, cap, "%s", pattern);
        return;
    }
    snprintf(out, cap, "%.*s%llu%s", (int)(p - pattern), pattern, (unsigned long long)nlist, p + 7);
}

/* What one row of the table measures against. */
typedef struct row_ctx {
    const rbench *o;
    const sp_retriever *exact; /* NULL with --free-exact: flat_batch stands for it */
    const sp_retriever *r;
    const float *queries;
    uint32_t dim, k;
    uint64_t n_retime;
    double flat_batch;
    uint64_t *ids;
    const float *exact_d;
    key_table *table;
} row_ctx;

/* One row: rounds of (exact batch, approximate batches) for the ratio, then
 * recall and single-query rate. */
static void measure_row(const row_ctx *c, const sp_retriever_query *q, const char *factory, double build,
                        double index_mib)
{
    const rbench *o = c->o;
    sp_retriever_query qe = *q;
    qe.nprobe = qe.rerank = qe.max_codes = 0;
    double fqs[99], bqs[99], ratios[99];
    sp__ivf_codes_scanned_take(); /* exact search scans no IVF lists: only the batches below count */
    for (uint32_t round = 0; round < o->rounds; round++) {
        fqs[round] = c->exact ? batch_qps(c->exact, c->queries, c->n_retime, c->dim, c->k, &qe, c->ids, NULL)
                              : c->flat_batch;
        bqs[round] = batch_qps(c->r, c->queries, o->queries, c->dim, c->k, q, c->ids, NULL);
        ratios[round] = bqs[round] / fqs[round];
    }
    double codes = (double)sp__ivf_codes_scanned_take() / ((double)o->rounds * (double)o->queries);
    double fq = bench_median(fqs, o->rounds), bq = bench_median(bqs, o->rounds);
    double ratio = bench_median(ratios, o->rounds);
    double recall = index_recall(c->queries, o->queries, c->dim, c->k, c->exact_d, c->ids, table_keys, c->table);
    double sq = single_qps(c->r, c->queries, o->queries, c->dim, c->k, q);
    char budget[32];
    if (q->max_codes == SP_RETRIEVER_ALL_CODES)
        snprintf(budget, sizeof budget, "all");
    else if (q->max_codes == 0)
        snprintf(budget, sizeof budget, "default");
    else
        snprintf(budget, sizeof budget, "%u", q->max_codes);
    printf("| %s | %u | %u | %s | %.0f | %.3f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.1f |\n", factory,
           q->nprobe, q->rerank, budget, codes, recall, bq, fq, ratio, sq, build, index_mib,
           sp_retriever_bytes_per_key(c->r));
    fflush(stdout);
}

int bench_retrieval(int argc, char **argv)
{
    rbench o = { 1000000, 2000, 50000, 2, 10, NULL,
                 "IVF{nlist},PQ16np;IVF{nlist},PQ16np,Refine(SQ8);IVF{nlist},PQ32x4fs,Refine(SQ8)", "1,4,16,64", "4,16",
                 "0", NULL, 0, 3 };
    o.data_dir = getenv("SP_DATA_DIR") ? getenv("SP_DATA_DIR") : "../shared/data";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return rb_usage(stdout);
        else if (!strcmp(a, "--keys") && v) { o.keys = strcmp(v, "all") ? strtoull(v, NULL, 10) : 0; i++; }
        else if (!strcmp(a, "--queries") && v) { o.queries = strtoull(v, NULL, 10); i++; }
        else if (!strcmp(a, "--spd") && v) { o.spd = v; i++; }
        else if (!strcmp(a, "--factories") && v) { o.factories = v; i++; }
        else if (!strcmp(a, "--nprobe") && v) { o.nprobes = v; i++; }
        else if (!strcmp(a, "--rerank") && v) { o.reranks = v; i++; }
        else if (!strcmp(a, "--max-codes") && v) { o.max_codes = v; i++; }
        else if (!strcmp(a, "--pca-sample") && v) { o.pca_sample = strtoull(v, NULL, 10); i++; }
        else if (!strcmp(a, "--threads") && v) { o.threads = (uint32_t)strtoul(v, NULL, 10); i++; }
        else if (!strcmp(a, "--free-exact")) o.free_exact = 1;
        else if (!strcmp(a, "--rounds") && v) { o.rounds = (uint32_t)strtoul(v, NULL, 10); i++; }
        else return rb_usage(stderr);
    }
    o.queries -= o.queries % 2;
    if (o.rounds == 0 || o.rounds > 99)
        return rb_usage(stderr);
    sp_set_progress_callback(index_progress, NULL);
    double t0 = bench_now(), rss, peak;
    sp_dataset *ds;
    int rc = load_positions(&o, o.keys ? o.keys + o.queries : UINT64_MAX, &ds);
    uint64_t have = rc == SP_OK || rc == SP_ERR_INVALID_ARG ? sp_dataset_position_count(ds) : 0;
    if (rc == SP_ERR_INVALID_ARG && !o.keys)
        rc = SP_OK; /* "all": every file read, which is not a shortage */
    if (rc == SP_OK && !o.keys && have > o.queries)
        o.keys = have - o.queries;
    if (rc == SP_ERR_INVALID_ARG || (rc == SP_OK && (o.keys == 0 || have < o.keys + o.queries))) {
        fprintf(stderr, "sp-bench retrieval: %llu positions, fewer than the keys and queries asked for\n",
                (unsigned long long)have);
        return 1;
    }
    if (rc != SP_OK) {
        fprintf(stderr, "sp-bench retrieval: positions: %s\n", sp_last_error());
        return 1;
    }
    printf("# %llu keys, %llu held-out queries from %llu games (%.0f s to import)\n", (unsigned long long)o.keys,
           (unsigned long long)o.queries, (unsigned long long)sp_dataset_game_count(ds), bench_now() - t0);

    t0 = bench_now();
    sp_pca *pca;
    if ((rc = index_train_pca(ds, o.keys, o.pca_sample, SP_GO_DEFAULT_HISTORY, 64, o.threads, &pca)) != SP_OK) {
        fprintf(stderr, "sp-bench retrieval: pca: %s\n", sp_last_error());
        return 1;
    }
    uint32_t dim = sp_pca_dim_out(pca), k = o.k;
    uint64_t total = o.keys + o.queries;
    uint64_t *pos = malloc(total * sizeof *pos);
    float *keys = malloc(total * dim * sizeof *keys);
    uint32_t *games = malloc(total * sizeof *games);
    for (uint64_t i = 0; i < total; i++)
        pos[i] = i;
    if (!keys || (rc = sp_pca_position_keys(pca, ds, pos, total, SP_GO_DEFAULT_HISTORY, keys, games)) != SP_OK) {
        fprintf(stderr, "sp-bench retrieval: keys: %s\n", sp_last_error());
        return 1;
    }
    const float *queries = keys + o.keys * dim;
    printf("# PCA %u -> %u on %llu positions and keys of %llu positions: %.0f s\n", sp_pca_dim_in(pca), dim,
           (unsigned long long)o.pca_sample, (unsigned long long)total, bench_now() - t0);
    sp_dataset_free(ds);

    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.threads = o.threads;
    uint64_t *ids = malloc(o.queries * k * sizeof *ids);
    float *exact_d = malloc(o.queries * k * sizeof *exact_d);
    key_table table = { keys, dim };

    printf("\n| index | nprobe | rerank | max codes | codes/query | recall@10 | q/s batch 256 | exact q/s beside it | "
           "x exact (median of rounds) | q/s batch 1 (2 callers) | build s | index MiB | bytes/key |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.threads = o.threads;
    ro.factory = "Flat";
    sp_retriever *exact;
    double m0, m1;
    memory_mib(&m0, &peak);
    t0 = bench_now();
    if ((rc = sp_retriever_build(&exact, keys, pos, games, o.keys, dim, &ro)) != SP_OK) {
        fprintf(stderr, "sp-bench retrieval: flat: %s\n", sp_last_error());
        return 1;
    }
    double build = bench_now() - t0;
    memory_mib(&m1, &peak);
    double flat_batch = batch_qps(exact, queries, o.queries, dim, k, &q, ids, exact_d);
    /* One-at-a-time exact search costs a full scan per query: fewer of them at scale. */
    uint64_t n_single = 200000000ull / o.keys;
    n_single = n_single < 10 ? 10 : n_single > 200 ? 200 : n_single;
    n_single = n_single > o.queries ? o.queries : n_single;
    double flat_single = single_qps(exact, queries, n_single, dim, k, &q);
    printf("| Flat (exact) | - | - | - | %llu | 1 | %.0f | %.0f | 1 | %.1f | %.1f | %.0f | %.0f |\n",
           (unsigned long long)o.keys, flat_batch, flat_batch, flat_single, build, m1 - m0,
           sp_retriever_bytes_per_key(exact));
    fflush(stdout);
    if (o.free_exact) {
        sp_retriever_free(exact);
        exact = NULL;
    }
    /* The machine is shared: exact search is timed again on one batch right
     * before each row, so that each ratio compares rates taken under the same load. */
    uint64_t n_retime = o.queries < 256 ? o.queries : 256;

    char nlist_buf[64];
    sp_retriever_default_factory(dim, o.keys, nlist_buf, sizeof nlist_buf);
    uint64_t nlist = strtoull(nlist_buf + 3, NULL, 10);
    char list[2048];
    snprintf(list, sizeof list, "%s", o.factories);
    char *save_f = NULL;
    for (char *f = strtok_r(list, ";", &save_f); f; f = strtok_r(NULL, ";", &save_f)) {
        char factory[256];
        expand(f, nlist, factory, sizeof factory);
        ro.factory = factory;
        ro.train_size = 40 * nlist; /* FAISS asks for 39 training points per list */
        sp_retriever *r;
        memory_mib(&m0, &peak);
        t0 = bench_now();
        if ((rc = sp_retriever_build(&r, keys, pos, games, o.keys, dim, &ro)) != SP_OK) {
            fprintf(stderr, "sp-bench retrieval: %s: %s\n", factory, sp_last_error());
            continue;
        }
        build = bench_now() - t0;
        memory_mib(&m1, &peak);
        int refine = strstr(factory, "Refine") != NULL;
        char rr[256];
        snprintf(rr, sizeof rr, "%s", refine ? o.reranks : "1");
        char *save_r = NULL;
        for (char *rk = strtok_r(rr, ",", &save_r); rk; rk = strtok_r(NULL, ",", &save_r)) {
            char np[256];
            snprintf(np, sizeof np, "%s", o.nprobes);
            char *save_n = NULL;
            for (char *p = strtok_r(np, ",", &save_n); p; p = strtok_r(NULL, ",", &save_n)) {
                q.nprobe = (uint32_t)strtoul(p, NULL, 10);
                q.rerank = (uint32_t)strtoul(rk, NULL, 10);
                char mc[256];
                snprintf(mc, sizeof mc, "%s", o.max_codes);
                char *save_m = NULL;
                for (char *m = strtok_r(mc, ",", &save_m); m; m = strtok_r(NULL, ",", &save_m)) {
                    q.max_codes = strcmp(m, "all") ? (uint32_t)strtoul(m, NULL, 10) : SP_RETRIEVER_ALL_CODES;
                    row_ctx c = { &o, exact, r, queries, dim, k, n_retime, flat_batch, ids, exact_d, &table };
                    measure_row(&c, &q, factory, build, m1 - m0);
                }
            }
        }
        sp_retriever_free(r);
    }
    sp_retriever_free(exact);
    memory_mib(&rss, &peak);
    printf("\n# process peak memory %.0f MiB (keys and ids %.0f MiB of it); bytes/key = FAISS code size + 8-byte id "
           "for IVF lists, + 12 bytes of position and game id kept by the retriever\n",
           peak, (double)total * (dim * 4 + 12) / 1048576.0);
    q.nprobe = 0;
    free(pos);
    free(keys);
    free(games);
    free(ids);
    free(exact_d);
    sp_pca_free(pca);
    return 0;
}
