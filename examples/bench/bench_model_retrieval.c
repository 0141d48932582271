/* sp-bench model: the retrieval model's rows (issue 15). The bench's
 * architecture reading N neighbours, trained on a `.spn` pre-computed here
 * from the bench's dataset and as the equal-capacity baseline (every
 * x_i = 0), and its initial inference over random neighbour planes; the
 * main part (bench_model.c) times them beside the model without neighbours. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <semiparam.h>

#include "bench.h"
#include "bench_model.h"

/* Keys of the pre-computed file: random, as tests/test_train_neighbours.c
 * makes them. Only the time of reading neighbours matters here, not whom. */
#define KEY_DIM 8
/* The file holds at most this many training positions (a uniform sample):
 * enough for steps of any batch, and a pre-computation of about a second. */
#define SPN_POSITIONS 65536

struct bench_retrieval_model {
    sp_model *infer[BENCH_MODEL_PRECISIONS]; /* NULL: a precision this CPU lacks */
    sp_model *train_model[2];                /* retrieved, zero neighbours */
    sp_trainer *trainer[2];
    sp_neighbours *spn;
    uint64_t spn_rows;
    float *neighbour_planes; /* batch_of[last] x N x SP_NEIGHBOUR_PLANES x area, random stones */
    float *state, *logits, *value;
    char dir[64], spn_path[128];
    char why_untrained[256]; /* non-empty: no training rows, and why */
};

static int fail(const char *what)
{
    fprintf(stderr, "sp-bench model: retrieval model: %s: %s\n", what, sp_last_error());
    return 1;
}

static uint64_t next_random(uint64_t *h)
{
    *h ^= *h << 13, *h ^= *h >> 7, *h ^= *h << 17;
    return *h;
}

#ifndef BENCH_WITHOUT_RETRIEVAL
/* The training positions the trainers keep (their default split), a sample
 * of at most SPN_POSITIONS, random keys, a two-half Flat retriever, and
 * their k = N nearest neighbours in the other half written to a `.spn`. */
static int make_spn(bench_retrieval_model *b, const sp_dataset *ds, const sp_trainer_options *to, int32_t k,
                    int threads)
{
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    so.seed = to->split_seed;
    so.test_fraction = to->test_fraction;
    size_t count = 0;
    int rc = sp_dataset_positions(ds, SP_PART_TRAIN, &so, NULL, 0, &count);
    if (rc != SP_ERR_BUFFER_TOO_SMALL && rc != SP_OK)
        return fail("the training positions");
    uint64_t *pos = malloc((count ? count : 1) * sizeof *pos);
    uint32_t *games = malloc((count ? count : 1) * sizeof *games);
    float *keys = malloc((count ? count : 1) * KEY_DIM * sizeof *keys);
    sp_retriever *r = NULL;
    rc = 1;
    if (!pos || !games || !keys) {
        fprintf(stderr, "sp-bench model: retrieval model: out of memory for the neighbour file\n");
        goto out;
    }
    if (sp_dataset_positions(ds, SP_PART_TRAIN, &so, pos, count, &count)) {
        fail("the training positions");
        goto out;
    }
    uint64_t h = 0x9e3779b97f4a7c15ull;
    /* A partial Fisher-Yates shuffle: the first `kept` are a uniform sample. */
    size_t kept = count < SPN_POSITIONS ? count : SPN_POSITIONS;
    for (size_t i = 0; i < kept; i++) {
        size_t j = i + (size_t)(next_random(&h) % (count - i));
        uint64_t t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
    }
    for (size_t i = 0; i < kept; i++) {
        uint64_t game;
        if (sp_dataset_position_locate(ds, pos[i], &game, NULL)) {
            fail("locating a position");
            goto out;
        }
        games[i] = (uint32_t)game;
        for (int d = 0; d < KEY_DIM; d++)
            keys[i * KEY_DIM + d] = (float)(next_random(&h) >> 40) / (float)(1 << 24);
    }
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.factory = "Flat";
    ro.halves = 2;
    ro.threads = threads > 0 ? (uint32_t)threads : 0;
    if (sp_retriever_build(&r, keys, pos, games, kept, KEY_DIM, &ro) ||
        sp_retriever_precompute(r, keys, pos, games, kept, KEY_DIM, (uint32_t)k, NULL, b->spn_path) ||
        sp_neighbours_open(&b->spn, b->spn_path)) {
        fail("pre-computing the neighbour file");
        goto out;
    }
    b->spn_rows = sp_neighbours_count(b->spn);
    rc = 0;
out:
    sp_retriever_free(r);
    free(pos);
    free(games);
    free(keys);
    return rc;
}
#endif

/* The two trainers: neighbours read from the file, and every x_i = 0. */
static int open_trainers(bench_retrieval_model *b, const bench_retrieval_setup *s, const sp_model_options *arch)
{
    sp_trainer_options to;
    sp_trainer_options_init(&to, SP_TRAINER_OPTIONS_VERSION);
    to.batch_size = s->batch;
    to.unroll = s->unroll;
#ifdef BENCH_WITHOUT_RETRIEVAL
    (void)arch;
    snprintf(b->why_untrained, sizeof b->why_untrained,
             "sp-bench was built without the retrieval module, which pre-computes the .spn a retrieval model"
             " trains on");
    return 0;
#else
    if (!mkdtemp(strcpy(b->dir, "/tmp/sp-bench-model.XXXXXX"))) {
        b->dir[0] = '\0';
        perror("sp-bench model: a directory for the neighbour file");
        return 1;
    }
    snprintf(b->spn_path, sizeof b->spn_path, "%s/train.spn", b->dir);
    if (make_spn(b, s->ds, &to, arch->neighbours, s->threads))
        return 1;
    to.neighbours = b->spn;
    for (int z = 0; z < 2; z++) {
        to.zero_neighbours = z;
        if (bench_model_open(&b->train_model[z], NULL, arch, s->threads, SP_PRECISION_F32) ||
            sp_trainer_create(&b->trainer[z], b->train_model[z], s->ds, &to))
            return fail("creating the trainer");
    }
    return 0;
#endif
}

int bench_retrieval_model_open(bench_retrieval_model **out, const bench_retrieval_setup *s)
{
    bench_retrieval_model *b = calloc(1, sizeof *b);
    if (!(*out = b)) {
        fprintf(stderr, "sp-bench model: retrieval model: out of memory\n");
        return 1;
    }
    sp_model_options arch = *s->arch;
    arch.neighbours = s->neighbours;
    /* A model too narrow for p's default 16 channels keeps the default's
     * share (16 of 64); the rows print the split. */
    if (arch.channels <= arch.neighbour_channels)
        arch.neighbour_channels = arch.channels / 4 > 0 ? arch.channels / 4 : 1;
    for (int p = 0; p < BENCH_MODEL_PRECISIONS; p++) {
        int rc = bench_model_open(&b->infer[p], NULL, &arch, s->threads, p ? SP_PRECISION_BF16 : SP_PRECISION_F32);
        if (rc && (rc != SP_ERR_UNSUPPORTED || p == 0))
            return rc == SP_ERR_UNSUPPORTED ? fail("creating the model") : 1;
    }
    sp_model_info info = SP_MODEL_INFO_INIT;
    if (sp_model_describe(b->infer[0], &info))
        return fail("describing the model");
    const size_t n = (size_t)s->max_batch, area = (size_t)info.num_actions - 1;
    const size_t planes = n * (size_t)s->neighbours * SP_NEIGHBOUR_PLANES * area;
    b->neighbour_planes = malloc(planes * sizeof(float));
    b->state = malloc(n * (size_t)info.state_size * sizeof(float));
    b->logits = malloc(n * (size_t)info.num_actions * sizeof(float));
    b->value = malloc(n * sizeof(float));
    if (!b->neighbour_planes || !b->state || !b->logits || !b->value) {
        fprintf(stderr, "sp-bench model: retrieval model: out of memory\n");
        return 1;
    }
    uint64_t h = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < planes; i++)
        b->neighbour_planes[i] = (float)(next_random(&h) >> 63);
    return open_trainers(b, s, &arch);
}

const sp_model *bench_retrieval_model_handle(const bench_retrieval_model *b, int precision)
{
    return b->infer[precision];
}

uint64_t bench_retrieval_model_spn_rows(const bench_retrieval_model *b)
{
    return b->spn_rows;
}

const char *bench_retrieval_model_untrained(const bench_retrieval_model *b)
{
    return b->why_untrained[0] ? b->why_untrained : NULL;
}

static int train_step(void *p)
{
    return sp_trainer_run(p, 1, NULL);
}

double bench_retrieval_model_train(bench_retrieval_model *b, int zero, double seconds)
{
    if (!b->trainer[zero])
        return 0.0;
    double t = bench_time_per_call(seconds, train_step, b->trainer[zero]);
    if (t < 0.0)
        fail("training step");
    return t;
}

typedef struct initial_call {
    bench_retrieval_model *b;
    sp_model *m;
    const float *planes;
    int32_t n;
} initial_call;

static int initial_step(void *p)
{
    initial_call *c = p;
    return sp_model_initial_neighbours(c->m, c->planes, c->b->neighbour_planes, c->n, c->b->state,
                                       c->b->logits, c->b->value);
}

double bench_retrieval_model_initial(bench_retrieval_model *b, int precision, const float *planes, int32_t n,
                                     double seconds)
{
    if (!b->infer[precision])
        return 0.0;
    initial_call c = { b, b->infer[precision], planes, n };
    double t = bench_time_per_call(seconds, initial_step, &c);
    if (t < 0.0)
        fail("initial inference");
    return t;
}

void bench_retrieval_model_close(bench_retrieval_model *b)
{
    if (!b)
        return;
    for (int z = 0; z < 2; z++) {
        sp_trainer_free(b->trainer[z]);
        sp_model_free(b->train_model[z]);
    }
    for (int p = 0; p < BENCH_MODEL_PRECISIONS; p++)
        sp_model_free(b->infer[p]);
    sp_neighbours_free(b->spn);
    if (b->spn_path[0])
        unlink(b->spn_path);
    if (b->dir[0])
        rmdir(b->dir);
    free(b->neighbour_planes);
    free(b->state);
    free(b->logits);
    free(b->value);
    free(b);
}
