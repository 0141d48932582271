/* sp-index: retrieval indexes over the positions of a .spd dataset, keyed by
 * an embedder (a PCA of raw planes or of a model layer's activations): fit
 * an embedder, embed positions into a key file, build, add, query, recall,
 * precompute, info. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_cluster.h"
#include "index/index_quality.h"
#include "index/index_util.h"
#include "index/keys_file.h"
#include "semiparam.h"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sp-index <command> FILE [options]\n"
            "\n"
            "EMB, the embedder that makes the keys, is --embedder E.spe (with --model M.spm when it is a\n"
            "learned one; --precision f32|bf16 for the model) or --pca P.spp (a raw-plane PCA, as before).\n"
            "\n"
            "  embedder OUT.spe --spd D.spd     fit an embedder on a sample of the training positions and save it\n"
            "      [--model M.spm [--layer L]]  learned: PCA of layer L's activations (default repr); else raw planes\n"
            "      [--dim 64] [--sample 50000] [--history 8 (raw)] [--threads T] [--seed 1]\n"
            "  embed KEYS.spk --spd D.spd EMB   keys of positions into a key file\n"
            "      [--part all|train|test] [--fraction F --seed S] [--limit N]   (threads: OMP_NUM_THREADS)\n"
            "  build INDEX.spi --keys K.spk     index the keys of a key file (--fraction F --seed S: a seeded share\n"
            "                                   of its rows; one seed's smaller shares are subsets of its larger)\n"
            "  build INDEX.spi --spd D.spd [EMB]\n"
            "                                   index positions of a dataset (without EMB: train a raw PCA,\n"
            "                                   --pca-dim 64, --pca-sample 100000, --history 8, saved to --pca-out,\n"
            "                                   default INDEX.spi.spp)\n"
            "      --part all|train|test        positions to index (default all; split with the default seed)\n"
            "      --limit N                    only the first N of them\n"
            "      --factory S                  FAISS factory string (default: IVF with 4 sqrt(n) lists, PQ d/4, Refine(SQ8))\n"
            "      --halves 1|2, --train-size N, --nprobe N (stored default), --threads T\n"
            "  add INDEX.spi --spd D.spd EMB --first-game G [--games N] [--out NEW.spi]\n"
            "                                   add the positions of games G.. (online growth)\n"
            "  query INDEX.spi --spd D.spd EMB --position P [--k 10] [--nprobe N] [--rerank R]\n"
            "      [--exclude none|half|game]   its nearest positions (a table), then the query and them as board\n"
            "      [--boards N]                 diagrams (the first N; 0: none): game, move, squared distance,\n"
            "                                   outcome for the side to move, next move (* on the board)\n"
            "  recall INDEX.spi --spd D.spd EMB [--queries 1000] [--k 10] [--nprobe 1,4,16,64] [--rerank R]\n"
            "      [--keys K.spk]               recall@k against exact search over the same keys (embedded again,\n"
            "                                   or looked up in the key file the index was built from)\n"
            "  precompute INDEX.spi --spd D.spd EMB --out N.spn [--part train] [--k 10] [--nprobe N] [--limit N]\n"
            "                                   neighbours of every position from the other half, for training\n"
            "  precompute INDEX.spi --keys K.spk --out N.spn [EMB] [--k 10] [--nprobe N]\n"
            "                                   the same for the positions of a key file, with its keys and game\n"
            "                                   ids (no embedding; its embedder must be the index's, and EMB's)\n"
            "  info INDEX.spi                   factory, keys per half, embedder id, bytes per key\n"
            "  info KEYS.spk                    keys, dimension, board size, embedder id (the whole file checked)\n"
            "  info N.spn                       rows, neighbours per row, embedder id, empty neighbour slots\n"
            "  info E.spe [--model M.spm]       an embedder's kind, layer, dimension, id and explained variance\n"
            "  info M.spm                       a model's architecture; a retrieval model's N and embedder id\n"
            "                                   (a learned one loads only with its model)\n"
            "  quality ...                      neighbour quality of an index (sp-index quality --help)\n"
            "query, recall and precompute take --max-codes N|all: codes scanned per query at most\n"
            "(default twice the codes of nprobe average lists; all: no budget)\n"
            "\n"
            "Under mpirun -np R (R > 1; built with libsemiparam-mpi) the index is sharded by game over the R\n"
            "ranks: build, add, query and recall run on every rank, rank 0 alone prints, and INDEX.spi names\n"
            "the files INDEX.<shard>.spi (one per rank that built it) and INDEX.manifest (a trailing .spi is\n"
            "dropped). A sharded save loads under mpirun with any number of ranks and answers the same;\n"
            "info reads its manifest without mpirun. precompute under mpirun: each rank keys a run of the\n"
            "positions and rank 0 writes the .spn file one process writes (to BLAS rounding over Flat).\n"
            "embedder and embed run in one process.\n");
    return out == stdout ? 0 : 2;
}

typedef struct args {
    const char *index, *spd, *pca, *pca_out, *factory, *out, *exclude, *part, *nprobe_list;
    const char *embedder, *model, *layer, *keys;
    uint64_t limit, pca_sample, train_size, position, first_game, games, queries, sample, seed;
    uint32_t pca_dim, halves, threads, nprobe, rerank, max_codes, k, dim, boards;
    int history, precision;
    double fraction;
} args;

static int number(const char *option, const char *text, uint64_t max, uint64_t *out)
{
    return index_number("sp-index", option, text, max, out);
}

/* Every value of a comma-separated nprobe list, checked. */
static int nprobe_list_ok(const char *list)
{
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", list) >= (int)sizeof copy) {
        fprintf(stderr, "sp-index: --nprobe list too long\n");
        return -1;
    }
    uint64_t v;
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
        if (number("--nprobe", tok, SP_RETRIEVER_MAX_NPROBE, &v))
            return -1;
    return 0;
}

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->pca_dim = 64;
    a->pca_sample = 100000;
    a->history = SP_GO_DEFAULT_HISTORY;
    a->halves = 1;
    a->k = 10;
    a->queries = 1000;
    a->games = UINT64_MAX;
    a->part = "all";
    a->exclude = "none";
    a->nprobe_list = "1,4,16,64";
    a->position = UINT64_MAX;
    a->dim = 64;
    a->boards = UINT32_MAX;
    a->sample = 50000;
    a->seed = 1;
    a->fraction = 1.0;
    a->precision = SP_PRECISION_F32;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define STR(name, field) if (!strcmp(o, name) && v) { a->field = v; i++; continue; }
#define NUM(name, field)                                                                                         \
    if (!strcmp(o, name) && v) {                                                                                 \
        uint64_t n_;                                                                                             \
        if (number(name, v, sizeof a->field == 8 ? UINT64_MAX : INT32_MAX, &n_))                                  \
            return -1;                                                                                           \
        a->field = n_;                                                                                           \
        i++;                                                                                                     \
        continue;                                                                                                \
    }
        STR("--spd", spd) STR("--pca", pca) STR("--pca-out", pca_out) STR("--factory", factory) STR("--out", out)
        STR("--exclude", exclude) STR("--part", part) STR("--embedder", embedder) STR("--model", model)
        STR("--layer", layer) STR("--keys", keys)
        NUM("--sample", sample) NUM("--seed", seed) NUM("--dim", dim) NUM("--boards", boards)
        NUM("--limit", limit) NUM("--pca-sample", pca_sample) NUM("--train-size", train_size)
        NUM("--position", position) NUM("--first-game", first_game) NUM("--games", games) NUM("--queries", queries)
        NUM("--pca-dim", pca_dim) NUM("--halves", halves) NUM("--threads", threads) NUM("--rerank", rerank)
        NUM("--k", k) NUM("--history", history)
        if (!strcmp(o, "--max-codes") && v) {
            uint64_t n_ = SP_RETRIEVER_ALL_CODES;
            if (strcmp(v, "all") && number(o, v, UINT32_MAX, &n_))
                return -1;
            a->max_codes = (uint32_t)n_;
            i++;
            continue;
        }
        if (!strcmp(o, "--precision") && v) {
            if (strcmp(v, "f32") && strcmp(v, "bf16")) {
                fprintf(stderr, "sp-index: --precision takes f32 or bf16, not '%s'\n", v);
                return -1;
            }
            a->precision = strcmp(v, "bf16") ? SP_PRECISION_F32 : SP_PRECISION_BF16;
            i++;
            continue;
        }
        if (!strcmp(o, "--fraction") && v) {
            char *end;
            errno = 0;
            a->fraction = strtod(v, &end);
            if (errno || end == v || *end || !(a->fraction > 0 && a->fraction <= 1)) {
                fprintf(stderr, "sp-index: --fraction takes a number in (0, 1], not '%s'\n", v);
                return -1;
            }
            i++;
            continue;
        }
        if (!strcmp(o, "--nprobe") && v) {
            if (nprobe_list_ok(v))
                return -1;
            a->nprobe_list = v;
            a->nprobe = (uint32_t)strtoul(v, NULL, 10);
            i++;
            continue;
        }
#undef STR
#undef NUM
        if (o[0] == '-' || a->index) {
            fprintf(stderr, "sp-index: unknown or incomplete option '%s'\n", o);
            return -1;
        }
        a->index = o;
    }
    if (!a->index) {
        fprintf(stderr, "sp-index: no %s file given\n", !strcmp(argv[1], "embedder") ? "embedder (.spe)"
                                                     : !strcmp(argv[1], "embed")  ? "key (.spk)"
                                                                                  : "index");
        return -1;
    }
    if (a->rerank > SP_RETRIEVER_MAX_RERANK) {
        fprintf(stderr, "sp-index: --rerank takes at most %u\n", SP_RETRIEVER_MAX_RERANK);
        return -1;
    }
    return 0;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-index: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

static int part_of(const char *name)
{
    if (!strcmp(name, "train"))
        return SP_PART_TRAIN;
    if (!strcmp(name, "test"))
        return SP_PART_TEST;
    return SP_PART_ALL;
}

/* Position ids of a part, at most `limit` (0: all). */
static int part_positions(const sp_dataset *ds, const char *part, uint64_t limit, uint64_t **out, uint64_t *n)
{
    size_t count = 0;
    int rc = sp_dataset_positions(ds, part_of(part), NULL, NULL, 0, &count);
    if (rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL)
        return rc;
    *out = malloc((count ? count : 1) * sizeof **out);
    if (!*out)
        return SP_ERR_NOMEM;
    if ((rc = sp_dataset_positions(ds, part_of(part), NULL, *out, count, &count)) != SP_OK)
        return rc;
    *n = limit && limit < count ? limit : count;
    return SP_OK;
}

typedef struct key_ctx {
    const sp_embedder *embedder;
    const sp_dataset *ds;
    const keys_file *file; /* recall --keys: keys looked up here instead of embedded */
} key_ctx;

/* Keys (and game ids, when `games`) of positions: from the key file when
 * there is one, else embedded (with a progress line). */
static int lookup_or_embed(const key_ctx *c, const uint64_t *pos, uint64_t n, float *keys, uint32_t *games)
{
    if (!c->file)
        return n ? sp_embedder_embed_positions(c->embedder, c->ds, pos, n, keys, games) : SP_OK;
    char err[256];
    if (keys_file_lookup(c->file, pos, n, keys, games, err, sizeof err) == 0)
        return SP_OK;
    fprintf(stderr, "sp-index: --keys: %s\n", err);
    return SP_ERR_INVALID_ARG;
}

static int keys_of(void *ctx, const uint64_t *ids, uint64_t n, float *out)
{
    return lookup_or_embed(ctx, ids, n, out, NULL);
}

static int make_keys(const key_ctx *c, const uint64_t *pos, uint64_t n, float **keys, uint32_t **games)
{
    *keys = malloc((n ? n : 1) * sp_embedder_dim(c->embedder) * sizeof **keys);
    *games = malloc((n ? n : 1) * sizeof **games);
    if (!*keys || !*games)
        return SP_ERR_NOMEM;
    return lookup_or_embed(c, pos, n, *keys, *games);
}

static index_embedder_args embedder_args(const args *a)
{
    index_embedder_args e = { a->embedder, a->model, a->pca, a->precision, a->threads };
    return e;
}

/* Every command frees what it opened on every return, error paths included
 * (run under valgrind by tests/data/check-sp-index.sh). */
static int open_inputs_here(const args *a, sp_dataset **ds, index_embedder *emb, key_ctx *c)
{
    int rc;
    *ds = NULL;
    emb->embedder = NULL;
    emb->model = NULL;
    if (!a->spd || (!a->pca && !a->embedder)) {
        fprintf(stderr, "sp-index: --spd and an embedder (--embedder E.spe [--model M.spm], or --pca P.spp) "
                        "are needed\n");
        return 2;
    }
    if ((rc = sp_dataset_load(ds, a->spd)) != SP_OK)
        return fail(a->spd, rc);
    index_embedder_args ea = embedder_args(a);
    if (index_embedder_open(&ea, sp_dataset_board_size(*ds), emb)) {
        sp_dataset_free(*ds);
        *ds = NULL;
        return 1;
    }
    c->embedder = emb->embedder;
    c->ds = *ds;
    c->file = NULL;
    return 0;
}

/* open_inputs_here on every rank; all of them stop when one fails. */
static int open_inputs(const index_cluster *cl, const args *a, sp_dataset **ds, index_embedder *emb, key_ctx *c)
{
    int rc = open_inputs_here(a, ds, emb, c);
    if (!index_cluster_any(cl, rc != 0))
        return 0;
    if (rc == 0) {
        index_embedder_close(emb);
        sp_dataset_free(*ds);
        fprintf(stderr, "sp-index: rank %d stops: another rank could not open the inputs\n", cl->rank);
    }
    return rc ? rc : 1;
}

/* Whether some rank failed before a collective step (this one with a
 * message already printed); the others say they stop. */
static int stopped(const index_cluster *cl, int failed)
{
    if (!index_cluster_any(cl, failed))
        return 0;
    if (!failed)
        fprintf(stderr, "sp-index: rank %d stops: another rank failed\n", cl->rank);
    return 1;
}

/* Under mpirun each rank keys its share of the positions: blocks of 4,096
 * in turn (block b to rank b mod R; the library routes each key to the rank
 * owning its game). 4,096 is the chunk a raw embedder projects at
 * once, so every key is computed in the same chunk, bit for bit, as one
 * process computes it (the projection's rounding depends on the chunk). */
#define SHARE_BLOCK 4096u
static uint64_t rank_share(const index_cluster *cl, uint64_t *pos, uint64_t n)
{
    uint64_t m = 0;
    for (uint64_t i = 0; i < n; i++)
        if ((i / SHARE_BLOCK) % (uint64_t)cl->size == (uint64_t)cl->rank)
            pos[m++] = pos[i];
    return m;
}

/* The embedder of a build: the one --embedder or --pca names, or a raw PCA
 * that rank 0 trains and saves and the other ranks read back. */
static int build_embedder(const index_cluster *cl, const args *a, const sp_dataset *ds, index_embedder *emb)
{
    int rc = SP_OK, board = sp_dataset_board_size(ds);
    if (a->pca || a->embedder) {
        index_embedder_args ea = embedder_args(a);
        return stopped(cl, index_embedder_open(&ea, board, emb) != 0);
    }
    sp_pca *pca = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s", a->pca_out ? a->pca_out : a->index);
    if (!a->pca_out)
        strncat(path, ".spp", sizeof path - strlen(path) - 1);
    if (cl->rank == 0) {
        double t0 = index_now();
        if ((rc = index_train_pca(ds, sp_dataset_position_count(ds), a->pca_sample, a->history, a->pca_dim,
                                  a->threads, &pca)) != SP_OK)
            fail("training the PCA", rc);
        else if ((rc = sp_pca_save(pca, path)) != SP_OK)
            fail(path, rc);
        else
            printf("pca              %s (%u -> %u, %.1f s)\n", path, sp_pca_dim_in(pca), sp_pca_dim_out(pca),
                   index_now() - t0);
    }
    if (stopped(cl, rc != SP_OK)) {
        sp_pca_free(pca);
        return 1;
    }
    if (cl->rank != 0 && (rc = sp_pca_load(&pca, path)) != SP_OK)
        fail(path, rc);
    else if ((rc = sp_embedder_from_pca(&emb->embedder, pca, board, a->history)) != SP_OK)
        fail("embedder", rc);
    sp_pca_free(pca);
    return stopped(cl, rc != SP_OK);
}

/* Under mpirun each rank keeps its share of a key file's keys, the blocks
 * rank_share() gives it; returns the count kept. */
static uint64_t keys_share(const index_cluster *cl, keys_file *k)
{
    uint64_t m = 0;
    for (uint64_t i = 0; i < k->count; i++)
        if ((i / SHARE_BLOCK) % (uint64_t)cl->size == (uint64_t)cl->rank) {
            k->positions[m] = k->positions[i];
            k->games[m] = k->games[i];
            memmove(k->keys + m * k->dim, k->keys + i * k->dim, k->dim * sizeof *k->keys);
            m++;
        }
    return m;
}

/* Index keys with the build options of `a`; saves to a->index. */
static int index_keys(const index_cluster *cl, const args *a, const float *keys, const uint64_t *pos,
                      const uint32_t *games, uint64_t n, uint32_t dim, uint64_t embedder_id)
{
    index_set r = { 0 };
    sp_retriever_options o;
    sp_retriever_options_init(&o, SP_RETRIEVER_OPTIONS_VERSION);
    o.factory = a->factory;
    o.halves = a->halves;
    o.embedder_id = embedder_id;
    o.train_size = a->train_size;
    o.threads = a->threads;
    o.default_nprobe = a->nprobe;
    double t = index_now();
    int rc = index_set_build(cl, &r, keys, pos, games, n, dim, &o);
    if (rc != SP_OK) {
        fail("build", rc);
    } else {
        printf("index            %s, %llu keys in %.1f s", sp_retriever_factory(index_set_local(&r)),
               (unsigned long long)index_set_count(&r), index_now() - t);
        if (cl->size > 1)
            printf(", %d shards", cl->size);
        printf("\n");
        if ((rc = index_set_save(&r, a->index)) != SP_OK)
            fail(a->index, rc);
    }
    index_set_free(&r);
    return rc == SP_OK ? 0 : 1;
}

/* build --keys: the key file brings the keys, their ids and the embedder id. */
/* build --keys --fraction F --seed S: a seeded share F of the key file's
 * rows, drawn row by row in the file's order, so that with one seed a
 * smaller share is a subset of a larger one (the retrieval-set fractions of
 * the paper's Fig. 4d). Rows kept stay in order, compacted in place. */
static int keep_key_rows(keys_file *k, double fraction, uint64_t seed)
{
    if (fraction >= 1)
        return SP_OK;
    sp_rng *rng = NULL;
    int rc = sp_rng_create(&rng, seed);
    if (rc)
        return rc;
    uint64_t m = 0;
    for (uint64_t i = 0; i < k->count; i++) {
        if (!(sp_rng_uniform(rng) < fraction))
            continue;
        k->positions[m] = k->positions[i];
        k->games[m] = k->games[i];
        memmove(k->keys + m * k->dim, k->keys + i * k->dim, (size_t)k->dim * sizeof *k->keys);
        m++;
    }
    sp_rng_free(rng);
    k->count = m;
    return SP_OK;
}

static int build_from_keys(const index_cluster *cl, const args *a)
{
    if (a->embedder || a->pca || a->model || a->spd) {
        fprintf(stderr, "sp-index build: --keys brings the keys, positions and embedder id; "
                        "--spd, --embedder, --model and --pca do not go with it\n");
        return 2;
    }
    keys_file k;
    char err[4400];
    int failed = keys_file_read(&k, a->keys, err, sizeof err) != 0;
    if (failed)
        fprintf(stderr, "sp-index: %s\n", err);
    if (stopped(cl, failed))
        return 1;
    printf("keys             %llu of %u floats from %s (embedder %016llx)\n", (unsigned long long)k.count, k.dim,
           a->keys, (unsigned long long)k.embedder_id);
    if (a->fraction < 1) {
        int rc = keep_key_rows(&k, a->fraction, a->seed);
        if (rc)
            fail("--fraction", rc);
        else if (k.count == 0)
            fprintf(stderr, "sp-index build: --fraction %g kept no key of %s\n", a->fraction, a->keys);
        else
            printf("kept             %llu (--fraction %g, seed %llu)\n", (unsigned long long)k.count, a->fraction,
                   (unsigned long long)a->seed);
        if (stopped(cl, rc != SP_OK || k.count == 0)) {
            keys_file_free(&k);
            return 1;
        }
    }
    uint64_t n = cl->size > 1 ? keys_share(cl, &k) : k.count;
    int status = index_keys(cl, a, k.keys, k.positions, k.games, n, k.dim, k.embedder_id);
    keys_file_free(&k);
    return status;
}

static int cmd_build(const index_cluster *cl, const args *a)
{
    if (a->keys)
        return build_from_keys(cl, a);
    if (!a->spd) {
        fprintf(stderr, "sp-index build: --spd (or --keys) is needed\n");
        return 2;
    }
    sp_dataset *ds = NULL;
    index_embedder emb = { 0 };
    uint64_t *pos = NULL, n = 0;
    float *keys = NULL;
    uint32_t *games = NULL;
    int rc, status = 1;
    if ((rc = sp_dataset_load(&ds, a->spd)) != SP_OK)
        fail(a->spd, rc);
    else if ((rc = part_positions(ds, a->part, a->limit, &pos, &n)) != SP_OK)
        fail("positions", rc);
    if (stopped(cl, rc != SP_OK) || build_embedder(cl, a, ds, &emb))
        goto done;
    n = rank_share(cl, pos, n);
    key_ctx c = { emb.embedder, ds, NULL };
    double t1 = index_now();
    if ((rc = make_keys(&c, pos, n, &keys, &games)) != SP_OK)
        fail("keys", rc);
    if (stopped(cl, rc != SP_OK))
        goto done;
    printf("keys             %llu in %.1f s%s\n", (unsigned long long)n, index_now() - t1,
           cl->size > 1 ? " (rank 0's share)" : "");
    status = index_keys(cl, a, keys, pos, games, n, sp_embedder_dim(emb.embedder), sp_embedder_id(emb.embedder));
done:
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    free(keys);
    free(games);
    free(pos);
    return status;
}

static int cmd_add(const index_cluster *cl, const args *a)
{
    sp_dataset *ds;
    index_embedder emb;
    key_ctx c;
    int rc = open_inputs(cl, a, &ds, &emb, &c);
    if (rc)
        return rc;
    index_set r = { 0 };
    uint64_t *pos = NULL, n = 0;
    float *keys = NULL;
    uint32_t *gids = NULL;
    int status = 1;
    if ((rc = index_set_load(cl, &r, a->index, 0, NULL)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    uint64_t games = sp_dataset_game_count(ds), last = a->games == UINT64_MAX ? games : a->first_game + a->games;
    if (last > games)
        last = games;
    uint64_t cap = 1024;
    pos = malloc(cap * sizeof *pos);
    rc = SP_OK;
    for (uint64_t g = a->first_game; g < last && pos && rc == SP_OK; g++) {
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        if ((rc = sp_dataset_game_info_get(ds, g, &info)) != SP_OK) {
            fail("game", rc);
            break;
        }
        for (uint32_t m = 0; m < info.moves && pos; m++) {
            if (n == cap) {
                uint64_t *grown = realloc(pos, (cap *= 2) * sizeof *pos);
                if (!grown)
                    free(pos);
                pos = grown;
                if (!pos)
                    break;
            }
            pos[n++] = info.first_position + m;
        }
    }
    if (rc == SP_OK && !pos) {
        fprintf(stderr, "sp-index add: out of memory\n");
        rc = SP_ERR_NOMEM;
    }
    uint64_t all = n;
    n = rc == SP_OK ? rank_share(cl, pos, n) : 0;
    if (rc == SP_OK && (rc = make_keys(&c, pos, n, &keys, &gids)) != SP_OK)
        fail("keys", rc);
    if (stopped(cl, rc != SP_OK))
        goto done;
    if ((rc = index_set_add(&r, keys, pos, gids, n, sp_embedder_dim(emb.embedder))) != SP_OK) {
        fail("add", rc);
        goto done;
    }
    const char *out = a->out ? a->out : a->index;
    if ((rc = index_set_save(&r, out)) != SP_OK) {
        fail(out, rc);
        goto done;
    }
    printf("added            %llu positions of games %llu..%llu; %llu keys in %s\n", (unsigned long long)all,
           (unsigned long long)a->first_game, (unsigned long long)(last ? last - 1 : 0),
           (unsigned long long)index_set_count(&r), out);
    status = 0;
done:
    index_set_free(&r);
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    free(keys);
    free(gids);
    free(pos);
    return status;
}

/* The query and its neighbours as board diagrams, side by side as the
 * terminal's width ($COLUMNS, else 120) allows. */
static int show_neighbours(const sp_dataset *ds, uint64_t query, const uint64_t *ids, const float *d, uint32_t n)
{
    index_diagram *dg = malloc((n + 1) * sizeof *dg);
    if (!dg) {
        fprintf(stderr, "sp-index query: out of memory\n");
        return 1;
    }
    char title[64];
    snprintf(title, sizeof title, "query");
    int rc = index_diagram_make(ds, query, title, &dg[0]);
    for (uint32_t j = 0; rc == SP_OK && j < n; j++) {
        snprintf(title, sizeof title, "#%u  d %.4f", j + 1, d[j]);
        rc = index_diagram_make(ds, ids[j], title, &dg[j + 1]);
    }
    if (rc != SP_OK) {
        free(dg);
        return fail("diagram", rc);
    }
    const char *env = getenv("COLUMNS");
    int columns = env && atoi(env) >= 40 ? atoi(env) : 120;
    printf("\n");
    index_diagram_print(stdout, dg, n + 1, columns);
    free(dg);
    return 0;
}

static int cmd_query(const index_cluster *cl, const args *a)
{
    if (a->position == UINT64_MAX) {
        fprintf(stderr, "sp-index query: --position is needed\n");
        return 2;
    }
    sp_dataset *ds;
    index_embedder emb;
    key_ctx c;
    int rc = open_inputs(cl, a, &ds, &emb, &c);
    if (rc)
        return rc;
    index_set r = { 0 };
    uint32_t dim = sp_embedder_dim(emb.embedder), game;
    float *key = malloc(dim * sizeof *key), *d = malloc(a->k * sizeof *d);
    uint64_t *ids = malloc(a->k * sizeof *ids);
    uint32_t *games = malloc(a->k * sizeof *games);
    int status = 1;
    rc = SP_OK;
    if (!key || !d || !ids || !games) {
        fprintf(stderr, "sp-index query: out of memory\n");
        rc = SP_ERR_NOMEM;
    } else if ((rc = sp_embedder_embed_positions(emb.embedder, ds, &a->position, 1, key, &game)) != SP_OK) {
        fail("key", rc);
    }
    if (stopped(cl, rc != SP_OK))
        goto done;
    if ((rc = index_set_load(cl, &r, a->index, SP_RETRIEVER_LOAD_MMAP, NULL)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = sp_embedder_id(emb.embedder);
    q.nprobe = a->nprobe;
    q.rerank = a->rerank;
    q.max_codes = a->max_codes;
    q.game_ids = &game;
    q.exclude = !strcmp(a->exclude, "half") ? SP_RETRIEVER_EXCLUDE_OWN_HALF
              : !strcmp(a->exclude, "game") ? SP_RETRIEVER_EXCLUDE_GAME : SP_RETRIEVER_EXCLUDE_NONE;
    if ((rc = index_set_search(&r, key, 1, dim, a->k, &q, ids, d, games)) != SP_OK) {
        fail("search", rc);
        goto done;
    }
    uint32_t move;
    uint64_t g64;
    sp_dataset_position_locate(ds, a->position, &g64, &move);
    printf("query position %llu (game %llu, move %u)\n", (unsigned long long)a->position, (unsigned long long)g64,
           move);
    printf("%4s %12s %10s %6s %12s\n", "rank", "position", "game", "move", "distance");
    uint32_t found = 0;
    for (uint32_t j = 0; cl->rank == 0 && j < a->k && ids[j] != SP_RETRIEVER_NO_ID; j++, found++) {
        sp_dataset_position_locate(ds, ids[j], &g64, &move);
        printf("%4u %12llu %10u %6u %12.4f\n", j + 1, (unsigned long long)ids[j], games[j], move, d[j]);
    }
    if (found > a->boards)
        found = a->boards;
    status = cl->rank == 0 && a->boards ? show_neighbours(ds, a->position, ids, d, found) : 0;
done:
    free(key);
    free(ids);
    free(d);
    free(games);
    index_set_free(&r);
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    return status;
}

/* embed and embedder write one file from one process. */
static int one_process(const index_cluster *cl, const char *command)
{
    fprintf(stderr, "sp-index %s: runs in one process, not under mpirun -np %d\n", command, cl->size);
    return 2;
}

/* Keep a seeded random share `fraction` of the n positions (in order). */
static uint64_t sample_fraction(uint64_t *pos, uint64_t n, double fraction, uint64_t seed, int *rc)
{
    if (fraction >= 1)
        return n;
    sp_rng *rng = NULL;
    if ((*rc = sp_rng_create(&rng, seed)) != SP_OK)
        return 0;
    uint64_t m = 0;
    for (uint64_t i = 0; i < n; i++)
        if (sp_rng_uniform(rng) < fraction)
            pos[m++] = pos[i];
    sp_rng_free(rng);
    return m;
}

/* embed: keys of the chosen positions into a key file. */
static int cmd_embed(const index_cluster *cl, const args *a)
{
    if (cl->size > 1)
        return one_process(cl, "embed");
    sp_dataset *ds;
    index_embedder emb;
    key_ctx c;
    int rc = open_inputs(cl, a, &ds, &emb, &c);
    if (rc)
        return rc;
    uint64_t *pos = NULL, n = 0;
    float *keys = NULL;
    uint32_t *games = NULL;
    int status = 1;
    if ((rc = part_positions(ds, a->part, 0, &pos, &n)) != SP_OK) {
        fail("positions", rc);
        goto done;
    }
    n = sample_fraction(pos, n, a->fraction, a->seed, &rc);
    if (rc != SP_OK) {
        fail("sampling", rc);
        goto done;
    }
    if (a->limit && a->limit < n)
        n = a->limit;
    double t = index_now();
    if ((rc = make_keys(&c, pos, n, &keys, &games)) != SP_OK) {
        fail("keys", rc);
        goto done;
    }
    double seconds = index_now() - t;
    keys_file k = { sp_embedder_dim(emb.embedder), sp_dataset_board_size(ds), n, sp_embedder_id(emb.embedder),
                    pos, games, keys };
    char err[4400];
    if (keys_file_write(&k, a->index, err, sizeof err) != 0) {
        fprintf(stderr, "sp-index embed: %s\n", err);
        goto done;
    }
    printf("keys             %llu of %u floats in %.1f s (%.0f/s) -> %s\n", (unsigned long long)n, k.dim, seconds,
           seconds > 0 ? (double)n / seconds : 0.0, a->index);
    printf("embedder id      %016llx\n", (unsigned long long)k.embedder_id);
    status = 0;
done:
    free(pos);
    free(keys);
    free(games);
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    return status;
}

static void print_embedder(const char *path, const char *model, const sp_embedder_info *info)
{
    printf("embedder         %s\n", path);
    if (info->kind == SP_EMBEDDER_LEARNED)
        printf("kind             learned (layer %s of %s, model hash %016llx)\n", info->layer, model,
               (unsigned long long)info->model_hash);
    else
        printf("kind             raw (planes of history %d)\n", info->history);
    printf("dimension        %u (from %u floats)\n", info->dim, info->input_dim);
    printf("id               %016llx\n", (unsigned long long)info->id);
    printf("explained var    %.4f\n", info->explained_variance);
}

/* embedder: fit a raw or learned embedder on a dataset and save it. */
static int cmd_embedder(const index_cluster *cl, const args *a)
{
    if (cl->size > 1)
        return one_process(cl, "embedder");
    if (!a->spd) {
        fprintf(stderr, "sp-index embedder: --spd is needed\n");
        return 2;
    }
    if (a->layer && !a->model) {
        fprintf(stderr, "sp-index embedder: --layer names a layer of the model: give --model M.spm\n");
        return 2;
    }
    if (a->pca || a->embedder || a->keys) {
        fprintf(stderr, "sp-index embedder: fits a new embedder; --pca, --embedder and --keys do not go with it\n");
        return 2;
    }
    sp_dataset *ds = NULL;
    sp_model *model = NULL;
    sp_embedder *e = NULL;
    index_embedder_args ea = embedder_args(a);
    int rc, status = 1;
    if ((rc = sp_dataset_load(&ds, a->spd)) != SP_OK) {
        fail(a->spd, rc);
        goto done;
    }
    if (a->model && index_model_load(&ea, &model))
        goto done;
    sp_embedder_options o;
    sp_embedder_options_init(&o, SP_EMBEDDER_OPTIONS_VERSION);
    o.kind = model ? SP_EMBEDDER_LEARNED : SP_EMBEDDER_RAW;
    o.layer = a->layer;
    o.dim = a->dim;
    o.history = a->history;
    o.sample = a->sample;
    o.threads = a->threads;
    o.seed = a->seed;
    double t = index_now();
    if ((rc = sp_embedder_fit(&e, model, ds, &o)) != SP_OK) {
        fail("fitting the embedder", rc);
        goto done;
    }
    double seconds = index_now() - t;
    if ((rc = sp_embedder_save(e, a->index)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    if ((rc = sp_embedder_describe(e, &info)) != SP_OK) {
        fail("describe", rc);
        goto done;
    }
    print_embedder(a->index, a->model, &info);
    printf("seconds          %.1f\n", seconds);
    status = 0;
done:
    sp_embedder_free(e);
    sp_model_free(model);
    sp_dataset_free(ds);
    return status;
}

/* The position ids this rank holds: its index's, or its shards' when
 * sharded (none, one or several). */
static int held_positions(const index_set *s, uint64_t **pos, uint64_t *n)
{
    const sp_retriever *r;
    *n = 0;
    for (int i = 0; (r = index_set_held(s, i)) != NULL; i++)
        *n += sp_retriever_count(r);
    *pos = malloc((*n ? *n : 1) * sizeof **pos);
    if (!*pos)
        return SP_ERR_NOMEM;
    uint64_t at = 0;
    int rc = SP_OK;
    for (int i = 0; rc == SP_OK && (r = index_set_held(s, i)) != NULL; i++)
        for (uint32_t h = 0; rc == SP_OK && h < sp_retriever_halves(r); h++) {
            size_t got = 0;
            rc = sp_retriever_ids(r, h, *pos + at, NULL, (size_t)(*n - at), &got);
            at += got;
        }
    return rc;
}

/* Whether a key file's keys are of the embedder `what` names (id and
 * dimension); if not, says so naming both and returns 1. */
static int keys_not_of(const keys_file *k, const char *path, const char *what, uint64_t id, uint32_t dim)
{
    if (k->embedder_id == id && k->dim == dim)
        return 0;
    fprintf(stderr, "sp-index: %s holds keys of embedder %016llx (%u floats), %s is %016llx (%u)\n", path,
            (unsigned long long)k->embedder_id, k->dim, what, (unsigned long long)id, dim);
    return 1;
}

/* recall --keys K.spk: the key file the index was built from, whose keys
 * must be the embedder's (same id and dimension). Returns 0, or 1 with a
 * message. */
static int read_recall_keys(const char *path, const sp_embedder *e, keys_file *out)
{
    char err[4400];
    if (keys_file_read(out, path, err, sizeof err) != 0) {
        fprintf(stderr, "sp-index: %s\n", err);
        return 1;
    }
    if (keys_not_of(out, path, "the embedder given", sp_embedder_id(e), sp_embedder_dim(e))) {
        keys_file_free(out);
        return 1;
    }
    return 0;
}

static int cmd_recall(const index_cluster *cl, const args *a)
{
    sp_dataset *ds;
    index_embedder emb;
    key_ctx c;
    int rc = open_inputs(cl, a, &ds, &emb, &c);
    if (rc)
        return rc;
    index_set r = { 0 }, exact = { 0 };
    uint64_t *pos = NULL, *qpos = NULL, *ids = NULL, n = 0;
    float *keys = NULL, *queries = NULL, *exact_d = NULL;
    uint32_t *games = NULL;
    keys_file file = { 0 };
    int status = 1;
    if ((rc = index_set_load(cl, &r, a->index, SP_RETRIEVER_LOAD_MMAP, NULL)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    if (a->keys && read_recall_keys(a->keys, emb.embedder, &file))
        rc = SP_ERR_INVALID_ARG;
    c.file = a->keys ? &file : NULL;
    if (stopped(cl, rc != SP_OK))
        goto done;
    /* The exact index: a flat one over the keys of every position held
     * (sharded alike: each rank keys its own shard's positions). */
    if ((rc = held_positions(&r, &pos, &n)) != SP_OK)
        fail("position ids", rc);
    else if ((rc = make_keys(&c, pos, n, &keys, &games)) != SP_OK)
        fail("keys", rc);
    if (stopped(cl, rc != SP_OK))
        goto done;
    sp_retriever_options o;
    sp_retriever_options_init(&o, SP_RETRIEVER_OPTIONS_VERSION);
    o.factory = "Flat";
    o.embedder_id = sp_embedder_id(emb.embedder);
    o.threads = a->threads;
    uint32_t dim = sp_embedder_dim(emb.embedder), k = a->k;
    if ((rc = index_set_build(cl, &exact, keys, pos, games, n, dim, &o)) != SP_OK) {
        fail("exact index", rc);
        goto done;
    }
    /* Queries: positions spread over the whole dataset. */
    uint64_t nq = a->queries, total = sp_dataset_position_count(ds);
    qpos = malloc((nq ? nq : 1) * sizeof *qpos);
    queries = malloc((nq ? nq : 1) * dim * sizeof *queries);
    exact_d = malloc((nq ? nq : 1) * k * sizeof *exact_d);
    ids = malloc((nq ? nq : 1) * k * sizeof *ids);
    rc = SP_OK;
    if (!qpos || !queries || !exact_d || !ids) {
        fprintf(stderr, "sp-index recall: out of memory\n");
        rc = SP_ERR_NOMEM;
    } else {
        for (uint64_t i = 0; i < nq; i++)
            qpos[i] = (i * 7919 + 13) % total;
        if ((rc = sp_embedder_embed_positions(emb.embedder, ds, qpos, nq, queries, NULL)) != SP_OK)
            fail("query keys", rc);
    }
    if (stopped(cl, rc != SP_OK))
        goto done;
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = sp_embedder_id(emb.embedder);
    double t = index_now();
    if ((rc = index_set_search(&exact, queries, nq, dim, k, &q, ids, exact_d, NULL)) != SP_OK) {
        fail("exact search", rc);
        goto done;
    }
    printf("%-28s %8s %8s %10s %12s\n", "index", "nprobe", "rerank", "recall@k", "queries/s");
    printf("%-28s %8s %8s %10.4f %12.0f\n", "Flat (exact)", "-", "-", 1.0, (double)nq / (index_now() - t));
    char list[256];
    snprintf(list, sizeof list, "%s", a->nprobe_list);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        q.nprobe = (uint32_t)strtoul(tok, NULL, 10);
        q.rerank = a->rerank;
        q.max_codes = a->max_codes;
        t = index_now();
        if ((rc = index_set_search(&r, queries, nq, dim, k, &q, ids, NULL, NULL)) != SP_OK) {
            fail("search", rc);
            goto done;
        }
        double qps = (double)nq / (index_now() - t);
        /* The results are on rank 0 only. */
        double recall = cl->rank == 0 ? index_recall(queries, nq, dim, k, exact_d, ids, keys_of, &c) : 0;
        /* Rank 0 prints (it holds shard 0); a rank may hold no shard. */
        const sp_retriever *mine = index_set_local(&r);
        printf("%-28s %8u %8u %10.4f %12.0f\n", mine ? sp_retriever_factory(mine) : "-", q.nprobe,
               q.rerank ? q.rerank : 1, recall, qps);
    }
    if (cl->size > 1)
        printf("mpi bytes        %llu passed to MPI by rank 0 in the last batch of %llu queries (%d ranks)\n",
               (unsigned long long)index_set_search_bytes(&r), (unsigned long long)nq, cl->size);
    status = 0;
done:
    free(pos);
    free(keys);
    free(games);
    free(qpos);
    free(queries);
    free(exact_d);
    free(ids);
    index_set_free(&exact);
    index_set_free(&r);
    keys_file_free(&file);
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    return status;
}

/* Under mpirun, precompute's share of a rank: a contiguous run of whole
 * blocks of SHARE_BLOCK positions (rank r the r-th of R runs), so that the
 * ranks' shares in rank order are the list itself, the order of the .spn
 * rows, and every key is computed in one process's chunk. Moves the share
 * to the front of pos and returns its length. */
static void run_bounds(const index_cluster *cl, uint64_t n, uint64_t *lo, uint64_t *hi)
{
    uint64_t blocks = (n + SHARE_BLOCK - 1) / SHARE_BLOCK, r = (uint64_t)cl->rank, size = (uint64_t)cl->size;
    *lo = blocks * r / size * SHARE_BLOCK;
    *hi = blocks * (r + 1) / size * SHARE_BLOCK;
    *lo = *lo < n ? *lo : n;
    *hi = *hi < n ? *hi : n;
}

static uint64_t rank_run(const index_cluster *cl, uint64_t *pos, uint64_t n)
{
    uint64_t lo, hi;
    run_bounds(cl, n, &lo, &hi);
    memmove(pos, pos + lo, (hi - lo) * sizeof *pos);
    return hi - lo;
}

/* precompute's search and .spn file, with the query settings of `a`: `n`
 * positions here, `total` over every rank. Returns 0, or 1 with a message. */
static int write_neighbours(const args *a, const index_set *r, const float *keys, const uint64_t *pos,
                            const uint32_t *games, uint64_t n, uint64_t total, uint32_t dim, uint64_t embedder_id)
{
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = embedder_id;
    q.nprobe = a->nprobe;
    q.rerank = a->rerank;
    q.max_codes = a->max_codes;
    q.threads = a->threads;
    double t = index_now();
    int rc = index_set_precompute(r, keys, pos, games, n, dim, a->k, &q, a->out);
    if (rc != SP_OK)
        return fail("precompute", rc);
    printf("neighbours       %llu positions x %u in %.1f s -> %s\n", (unsigned long long)total, a->k,
           index_now() - t, a->out);
    return 0;
}

/* Under mpirun, a key file's share of a rank: the run rank_run() gives,
 * moved to the front of its arrays; returns its length. */
static uint64_t keys_run(const index_cluster *cl, keys_file *k)
{
    uint64_t lo, hi;
    run_bounds(cl, k->count, &lo, &hi);
    memmove(k->positions, k->positions + lo, (hi - lo) * sizeof *k->positions);
    memmove(k->games, k->games + lo, (hi - lo) * sizeof *k->games);
    memmove(k->keys, k->keys + lo * k->dim, (hi - lo) * k->dim * sizeof *k->keys);
    return hi - lo;
}

/* precompute --keys K.spk: the queries are the key file's positions, keys
 * and game ids, as embedded once by `sp-index embed`; its keys must be of
 * the index's embedder, and of EMB's when one is given (which then needs no
 * dataset). Returns 0, or 1 with a message. */
static int read_precompute_keys(const args *a, const index_set *r, keys_file *k)
{
    char err[4400], what[4200];
    if (keys_file_read(k, a->keys, err, sizeof err) != 0) {
        fprintf(stderr, "sp-index: %s\n", err);
        return 1;
    }
    const sp_retriever *local = index_set_local(r); /* NULL on a rank holding no shard */
    snprintf(what, sizeof what, "the embedder of the index %s", a->index);
    int bad = local && keys_not_of(k, a->keys, what, sp_retriever_embedder_id(local), sp_retriever_dim(local));
    if (!bad && (a->embedder || a->pca)) {
        index_embedder emb = { 0 };
        index_embedder_args ea = embedder_args(a);
        bad = index_embedder_open(&ea, k->board_size, &emb) != 0 ||
              keys_not_of(k, a->keys, "the embedder given", sp_embedder_id(emb.embedder), sp_embedder_dim(emb.embedder));
        index_embedder_close(&emb);
    }
    if (bad)
        keys_file_free(k);
    return bad;
}

/* precompute --keys: the neighbours of a key file's positions. */
static int precompute_from_keys(const index_cluster *cl, const args *a)
{
    if (a->spd || a->limit || strcmp(a->part, "all")) {
        fprintf(stderr, "sp-index precompute: --keys brings the positions, their keys and game ids; "
                        "--spd, --part and --limit do not go with it\n");
        return 2;
    }
    index_set r = { 0 };
    keys_file k = { 0 };
    int rc, status = 1;
    if ((rc = index_set_load(cl, &r, a->index, SP_RETRIEVER_LOAD_MMAP, NULL)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    if (stopped(cl, read_precompute_keys(a, &r, &k) != 0))
        goto done;
    printf("keys             %llu of %u floats from %s (embedder %016llx)\n", (unsigned long long)k.count, k.dim,
           a->keys, (unsigned long long)k.embedder_id);
    uint64_t total = k.count, n = cl->size > 1 ? keys_run(cl, &k) : k.count;
    status = write_neighbours(a, &r, k.keys, k.positions, k.games, n, total, k.dim, k.embedder_id);
done:
    keys_file_free(&k);
    index_set_free(&r);
    return status;
}

static int cmd_precompute(const index_cluster *cl, const args *a)
{
    if (!a->out) {
        fprintf(stderr, "sp-index precompute: --out is needed\n");
        return 2;
    }
    if (a->keys)
        return precompute_from_keys(cl, a);
    sp_dataset *ds;
    index_embedder emb;
    key_ctx c;
    int rc = open_inputs(cl, a, &ds, &emb, &c);
    if (rc)
        return rc;
    index_set r = { 0 };
    uint64_t *pos = NULL, n = 0, total = 0;
    float *keys = NULL;
    uint32_t *games = NULL;
    int status = 1;
    if ((rc = index_set_load(cl, &r, a->index, SP_RETRIEVER_LOAD_MMAP, NULL)) != SP_OK) {
        fail(a->index, rc);
        goto done;
    }
    if ((rc = part_positions(ds, strcmp(a->part, "all") ? a->part : "train", a->limit, &pos, &total)) != SP_OK) {
        fail("positions", rc);
    } else {
        n = cl->size > 1 ? rank_run(cl, pos, total) : total;
        if ((rc = make_keys(&c, pos, n, &keys, &games)) != SP_OK)
            fail("keys", rc);
    }
    if (stopped(cl, rc != SP_OK))
        goto done;
    status = write_neighbours(a, &r, keys, pos, games, n, total, sp_embedder_dim(emb.embedder),
                              sp_embedder_id(emb.embedder));
done:
    free(pos);
    free(keys);
    free(games);
    index_set_free(&r);
    index_embedder_close(&emb);
    sp_dataset_free(ds);
    return status;
}

/* info of a sharded save: its manifest, then the first shard's settings. */
static int sharded_info(const char *index)
{
    char prefix[4096], path[4200];
    index_cluster_prefix(index, prefix, sizeof prefix);
    snprintf(path, sizeof path, "%s.manifest", prefix);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sp-index: cannot read %s\n", path);
        return 1;
    }
    char line[512];
    int ranks = -1;
    printf("manifest         %s\n", path);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "ranks %d", &ranks) == 1)
            printf("shards           %d\n", ranks);
        else if (!strncmp(line, "shard ", 6))
            printf("%-16s (keys, bytes, CRC-32)\n", line);
        else if (strncmp(line, "libsemiparam-mpi", 16))
            printf("%s\n", line);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s.0.spi", prefix);
    sp_retriever *r;
    int rc = sp_retriever_load(&r, path, SP_RETRIEVER_LOAD_MMAP, NULL);
    if (rc != SP_OK)
        return fail(path, rc);
    printf("factory          %s\n", sp_retriever_factory(r));
    printf("embedder id      %016llx\n", (unsigned long long)sp_retriever_embedder_id(r));
    printf("bytes per key    %.1f (index) + 12 (position and game id)\n", sp_retriever_bytes_per_key(r));
    sp_retriever_free(r);
    return 0;
}

/* info of a key file: its header, after the whole file checks out. */
static int keys_info(const char *path)
{
    keys_file k;
    char err[4400];
    if (keys_file_read(&k, path, err, sizeof err) != 0) {
        fprintf(stderr, "sp-index: %s\n", err);
        return 1;
    }
    printf("key file         %s (version %u)\n", path, KEYS_FILE_VERSION);
    printf("keys             %llu\n", (unsigned long long)k.count);
    printf("dimension        %u\n", k.dim);
    printf("board size       %d\n", k.board_size);
    printf("embedder id      %016llx\n", (unsigned long long)k.embedder_id);
    keys_file_free(&k);
    return 0;
}

/* info of a neighbour file (.spn): its header, after the whole file checks
 * out, and the neighbour slots left empty (fewer keys than k found). */
static int neighbours_info(const char *path)
{
    sp_neighbours *nb;
    int rc = sp_neighbours_open(&nb, path);
    if (rc != SP_OK)
        return fail(path, rc);
    uint64_t rows = sp_neighbours_count(nb), empty = 0;
    uint32_t k = sp_neighbours_k(nb);
    uint64_t *ids = malloc((k ? k : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "sp-index info: out of memory\n");
        sp_neighbours_free(nb);
        return 1;
    }
    for (uint64_t row = 0; row < rows && rc == SP_OK; row++)
        if ((rc = sp_neighbours_row(nb, row, NULL, ids, NULL)) == SP_OK)
            for (uint32_t i = 0; i < k; i++)
                empty += ids[i] == UINT64_MAX;
    if (rc == SP_OK) {
        printf("neighbour file   %s\n", path);
        printf("rows             %llu\n", (unsigned long long)rows);
        printf("neighbours       %u per row\n", k);
        printf("embedder id      %016llx\n", (unsigned long long)sp_neighbours_embedder_id(nb));
        printf("empty slots      %llu\n", (unsigned long long)empty);
    }
    free(ids);
    sp_neighbours_free(nb);
    return rc == SP_OK ? 0 : fail(path, rc);
}

/* info E.spe [--model M.spm]: what an embedder file holds; a learned one
 * loads only with the model it was made from, which this checks too. */
static int embedder_info(const args *a)
{
    index_embedder_args ea = embedder_args(a);
    sp_model *model = NULL;
    sp_embedder *e = NULL;
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    int status = 1, rc;
    if (a->model && index_model_load(&ea, &model))
        return 1;
    if ((rc = sp_embedder_load(&e, a->index, model)) != SP_OK)
        fail(a->index, rc);
    else if ((rc = sp_embedder_describe(e, &info)) != SP_OK)
        fail("describe", rc);
    else {
        print_embedder(a->index, a->model, &info);
        status = 0;
    }
    sp_embedder_free(e);
    sp_model_free(model);
    return status;
}

/* info M.spm: the model's architecture and, for a retrieval model, the
 * neighbours it reads and the embedder whose neighbours they must be. */
static int model_info(const char *path)
{
    sp_model *m;
    int rc = sp_model_load(&m, path, NULL);
    if (rc != SP_OK)
        return fail(path, rc);
    sp_model_options o;
    sp_model_info info = SP_MODEL_INFO_INIT;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    if ((rc = sp_model_get_options(m, &o)) != SP_OK || (rc = sp_model_describe(m, &info)) != SP_OK) {
        sp_model_free(m);
        return fail(path, rc);
    }
    printf("model            %s\n", path);
    printf("board size       %d\n", o.board_size);
    printf("history          %d\n", o.history);
    printf("channels         %d\n", o.channels);
    printf("blocks           %d representation, %d dynamics\n", o.repr_blocks, o.dyn_blocks);
    printf("parameters       %llu\n", (unsigned long long)info.parameters);
    printf("neighbours       %d\n", o.neighbours);
    if (o.neighbours > 0) {
        printf("neighbour part   %d channels, %d blocks\n", o.neighbour_channels, o.neighbour_blocks);
        printf("embedder id      %016llx\n", (unsigned long long)sp_model_embedder_id(m));
    }
    sp_model_free(m);
    return 0;
}

static int cmd_info(const index_cluster *cl, const args *a)
{
    (void)cl;
    size_t len = strlen(a->index);
    if (len > 4 && !strcmp(a->index + len - 4, ".spk"))
        return keys_info(a->index);
    if (len > 4 && !strcmp(a->index + len - 4, ".spe"))
        return embedder_info(a);
    if (len > 4 && !strcmp(a->index + len - 4, ".spn"))
        return neighbours_info(a->index);
    if (len > 4 && !strcmp(a->index + len - 4, ".spm"))
        return model_info(a->index);
    if (index_cluster_is_sharded(a->index))
        return sharded_info(a->index);
    sp_retriever *r;
    int rc = sp_retriever_load(&r, a->index, SP_RETRIEVER_LOAD_MMAP, NULL);
    if (rc != SP_OK)
        return fail(a->index, rc);
    printf("factory          %s\n", sp_retriever_factory(r));
    printf("dimension        %u\n", sp_retriever_dim(r));
    printf("keys             %llu\n", (unsigned long long)sp_retriever_count(r));
    for (uint32_t h = 0; h < sp_retriever_halves(r); h++)
        printf("half %u           %llu\n", h, (unsigned long long)sp_retriever_half_count(r, h));
    printf("embedder id      %016llx\n", (unsigned long long)sp_retriever_embedder_id(r));
    printf("bytes per key    %.1f (index) + 12 (position and game id)\n", sp_retriever_bytes_per_key(r));
    sp_retriever_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return usage(stdout);
    if (!strcmp(argv[1], "quality"))
        return index_quality_main(argc, argv);
    args a;
    if (parse(argc, argv, &a) != 0)
        return usage(stderr);
    index_cluster cl;
    if (index_cluster_init(&cl, &argc, &argv))
        return 1;
    if (cl.rank == 0)
        sp_set_progress_callback(index_progress, NULL);
    static const struct {
        const char *name;
        int (*run)(const index_cluster *, const args *);
    } commands[] = { { "embedder", cmd_embedder }, { "embed", cmd_embed }, { "build", cmd_build }, { "add", cmd_add }, { "query", cmd_query }, { "recall", cmd_recall },
                     { "precompute", cmd_precompute }, { "info", cmd_info } };
    int status = -1;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && status < 0; i++)
        if (!strcmp(argv[1], commands[i].name))
            status = commands[i].run(&cl, &a);
    if (status < 0) {
        fprintf(stderr, "sp-index: unknown command '%s'\n", argv[1]);
        status = usage(stderr);
    }
    index_cluster_finish(&cl);
    return status;
}
