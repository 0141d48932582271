/* The sp_embedder handle: its options, fitting (the sample of training
 * positions, what the PCA reads for each, the PCA and the variance it
 * keeps), the raw embedder of an existing PCA, ids and describe. */
#include <stdlib.h>
#include <string.h>

#include "embed/embed_internal.h"

static const sp_embedder_options options_defaults = SP_EMBEDDER_OPTIONS_INIT;
static const sp__options_type options_type = { "sp_embedder_options", SP_EMBEDDER_OPTIONS_VERSION,
                                               sizeof(sp_embedder_options), &options_defaults, { 0 } };

static const sp_embedder_info info_defaults = SP_EMBEDDER_INFO_INIT;
static const sp__options_type info_type = { "sp_embedder_info", SP_EMBEDDER_INFO_VERSION, sizeof(sp_embedder_info),
                                            &info_defaults, { 0 } };

/* Past these the request is a mistake, not a big job. */
#define MAX_BATCH 65536
#define MAX_THREADS 1024

int sp_embedder_options_init(sp_embedder_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &options_type, "sp_embedder_options_init");
}

int sp__embedder_bind_model(sp_embedder *e, sp_model *model, const char *layer, const char *fn)
{
    sp_model_options mo = SP_MODEL_OPTIONS_INIT;
    sp_model_info info = SP_MODEL_INFO_INIT;
    int rc = sp_model_get_options(model, &mo);
    if (rc == SP_OK)
        rc = sp_model_describe(model, &info);
    if (rc != SP_OK)
        return rc;
    const char *want = layer ? layer : "repr";
    int32_t count = sp_model_layer_count(model);
    for (int32_t i = 0; i < count; i++) {
        sp_model_layer l = SP_MODEL_LAYER_INIT;
        if ((rc = sp_model_layer_info(model, i, &l)) != SP_OK)
            return rc;
        if (strcmp(l.name, want) != 0)
            continue;
        if (l.size == 0 || l.size > UINT32_MAX)
            return sp__error(SP_ERR_INTERNAL, "%s: layer \"%s\" gives %llu values", fn, want,
                             (unsigned long long)l.size);
        e->input_dim = (uint32_t)l.size;
        e->board_size = mo.board_size;
        e->history = mo.history;
        e->model_hash = info.content_hash;
        e->model = model;
        /* Zero-padded: the id and the file take all its bytes. */
        memset(e->layer, 0, sizeof e->layer);
        memcpy(e->layer, l.name, strnlen(l.name, sizeof e->layer - 1));
        return SP_OK;
    }
    return sp__error(SP_ERR_INVALID_ARG, "%s: the model has no layer \"%s\" (%d layers; \"repr\" is the default)",
                     fn, want, (int)count);
}

uint64_t sp__embedder_learned_id(const sp_embedder *e)
{
    /* What the keys depend on, in a fixed layout: the tag keeps a learned id
     * apart from the FNV of a PCA payload (a raw id) in all but chance. */
    unsigned char buf[8 + 4 + 8 + SP_MODEL_LAYER_NAME_MAX + 8];
    memset(buf, 0, sizeof buf);
    memcpy(buf, "SPEMBED", 8);
    uint32_t kind = (uint32_t)e->kind;
    memcpy(buf + 8, &kind, 4);
    memcpy(buf + 12, &e->model_hash, 8);
    memcpy(buf + 20, e->layer, SP_MODEL_LAYER_NAME_MAX);
    uint64_t pca_id = sp_pca_id(e->pca);
    memcpy(buf + 20 + SP_MODEL_LAYER_NAME_MAX, &pca_id, 8);
    return sp__embed_hash(buf, sizeof buf);
}

/* Knuth's selection sampling over the positions of every non-test game in
 * id order: each is taken with probability (wanted - taken) / (left), so the
 * result is a uniform sample without repeats, already sorted (each game is
 * then replayed once). Two passes: the count of candidates, then the draw. */
static int draw_sample(const sp_dataset *ds, uint64_t wanted, uint64_t seed, uint64_t **out, uint64_t *out_count)
{
    uint64_t games = sp_dataset_game_count(ds), candidates = 0;
    uint8_t *train = malloc(games ? games : 1);
    if (!train)
        return sp__error(SP_ERR_NOMEM, "sp_embedder_fit: out of memory");
    for (uint64_t g = 0; g < games; g++) {
        int part = 0;
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        int rc = sp_dataset_game_part(ds, g, NULL, &part);
        if (rc == SP_OK)
            rc = sp_dataset_game_info_get(ds, g, &info);
        if (rc != SP_OK) {
            free(train);
            return rc;
        }
        train[g] = part != SP_PART_TEST;
        candidates += train[g] ? info.moves : 0;
    }
    if (wanted > candidates)
        wanted = candidates;
    uint64_t *ids = malloc((wanted ? wanted : 1) * sizeof *ids);
    if (!ids) {
        free(train);
        return sp__error(SP_ERR_NOMEM, "sp_embedder_fit: out of memory for %llu positions",
                         (unsigned long long)wanted);
    }
    struct sp_rng rng;
    sp__rng_seed(&rng, seed);
    uint64_t taken = 0, left = candidates;
    for (uint64_t g = 0; g < games && taken < wanted; g++) {
        if (!train[g])
            continue;
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        sp_dataset_game_info_get(ds, g, &info);
        for (uint32_t i = 0; i < info.moves && taken < wanted; i++, left--) {
            double u = (double)(sp__rng_next(&rng) >> 11) * 0x1.0p-53;
            if (u * (double)left < (double)(wanted - taken))
                ids[taken++] = info.first_position + i;
        }
    }
    free(train);
    *out = ids;
    *out_count = taken;
    return SP_OK;
}

/* Sum of the per-dimension variances of n rows of dim floats, about their
 * means (two passes in double: the inputs are far from zero-mean). */
static double total_variance(const float *x, uint64_t n, size_t dim, double *mean)
{
    sp__embed_mean(x, n, dim, mean);
    double total = 0.0;
    for (uint64_t r = 0; r < n; r++)
        for (size_t j = 0; j < dim; j++) {
            double d = x[r * dim + j] - mean[j];
            total += d * d;
        }
    return total / (double)n;
}

/* Share of the sample's variance the keys keep: the keys' total variance
 * over the inputs'. */
static int explained_variance(sp_embedder *e, const float *x, uint64_t n)
{
    size_t din = e->input_dim, dout = e->dim;
    float *keys = malloc(n * dout * sizeof *keys);
    double *mean = malloc(din * sizeof *mean);
    if (!keys || !mean) {
        free(keys);
        free(mean);
        return sp__error(SP_ERR_NOMEM, "sp_embedder_fit: out of memory");
    }
    int rc = sp_pca_apply(e->pca, x, n, e->input_dim, keys);
    if (rc == SP_OK) {
        double total = total_variance(x, n, din, mean);
        double kept = total_variance(keys, n, dout, mean);
        e->explained_variance = total > 0 ? (kept < total ? kept / total : 1.0) : 0.0;
    }
    free(keys);
    free(mean);
    return rc;
}

/* Check the options a fit reads; the shapes are checked once known. */
static int check_options(const sp_embedder_options *o, const sp_model *model)
{
    static const char fn[] = "sp_embedder_fit";
    if (o->kind != SP_EMBEDDER_RAW && o->kind != SP_EMBEDDER_LEARNED)
        return sp__error(SP_ERR_INVALID_ARG, "%s: kind %d is neither SP_EMBEDDER_RAW nor SP_EMBEDDER_LEARNED", fn,
                         (int)o->kind);
    if (o->kind == SP_EMBEDDER_LEARNED && !sp_has_feature(SP_FEATURE_NN))
        return sp__error(SP_ERR_UNSUPPORTED, "%s: a learned embedder needs the nn module, not in this build", fn);
    if (o->kind == SP_EMBEDDER_LEARNED && !model)
        return sp__error(SP_ERR_INVALID_ARG, "%s: a learned embedder needs its model (model is NULL)", fn);
    if (o->kind == SP_EMBEDDER_RAW && model)
        return sp__error(SP_ERR_INVALID_ARG, "%s: a raw embedder takes no model (pass NULL)", fn);
    if (o->kind == SP_EMBEDDER_RAW && sp_go_plane_count(o->history) <= 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: history %d out of range (1..16)", fn, (int)o->history);
    if (o->dim == 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: dim is 0", fn);
    if (o->sample < 2)
        return sp__error(SP_ERR_INVALID_ARG, "%s: sample %llu: the PCA needs at least 2 positions", fn,
                         (unsigned long long)o->sample);
    if (o->batch < 1 || o->batch > MAX_BATCH)
        return sp__error(SP_ERR_INVALID_ARG, "%s: batch %d out of range (1..%d)", fn, (int)o->batch, MAX_BATCH);
    if (o->threads > MAX_THREADS)
        return sp__error(SP_ERR_INVALID_ARG, "%s: threads %u out of range (0..%d)", fn, o->threads, MAX_THREADS);
    return SP_OK;
}

/* Sample, compute what the PCA reads, train it, and measure what it keeps. */
static int fit(sp_embedder *e, const sp_dataset *ds, const sp_embedder_options *o)
{
    uint64_t *positions = NULL, n = 0;
    int rc = draw_sample(ds, o->sample, o->seed, &positions, &n);
    if (rc != SP_OK)
        return rc;
    float *x = NULL;
    if (n < 2)
        rc = sp__error(SP_ERR_INVALID_ARG, "sp_embedder_fit: the dataset has %llu training positions; the PCA needs 2",
                       (unsigned long long)n);
    else if (n > SIZE_MAX / sizeof *x / e->input_dim || !(x = malloc(n * e->input_dim * sizeof *x)))
        rc = sp__error(SP_ERR_NOMEM, "sp_embedder_fit: no memory for %llu x %u floats", (unsigned long long)n,
                       e->input_dim);
    if (rc == SP_OK)
        rc = sp__embedder_run(e, ds, positions, n, x, NULL, "embed-fit");
    free(positions);
    /* A learned embedder keeps the compact form (FAISS's also serialises the
     * input_dim^2 eigenvectors: 100 MB for "repr"), fitted directly: FAISS's
     * PCAMatrix computes every eigenvector of the input_dim^2 covariance, hours
     * for "repr". A raw one keeps FAISS's form: its id is its .spp's. */
    if (rc == SP_OK && e->kind == SP_EMBEDDER_LEARNED)
        rc = sp__pca_fit_compact(&e->pca, x, n, e->input_dim, o->dim, o->threads, "sp_embedder_fit");
    else if (rc == SP_OK)
        rc = sp_pca_train(&e->pca, x, n, e->input_dim, o->dim, o->threads);
    if (rc == SP_OK)
        rc = explained_variance(e, x, n);
    free(x);
    return rc;
}

int sp_embedder_fit(sp_embedder **out, sp_model *model, const sp_dataset *ds, const sp_embedder_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_fit: out is NULL");
    *out = NULL;
    sp_embedder_options o;
    int rc = sp__options_read(&o, opts, &options_type, "sp_embedder_fit");
    if (rc != SP_OK)
        return rc;
    if (!ds)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_fit: ds is NULL");
    if ((rc = check_options(&o, model)) != SP_OK)
        return rc;
    sp_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return sp__error(SP_ERR_NOMEM, "sp_embedder_fit: out of memory");
    e->kind = o.kind;
    e->batch = o.batch;
    e->threads = o.threads;
    if (o.kind == SP_EMBEDDER_LEARNED) {
        rc = sp__embedder_bind_model(e, model, o.layer, "sp_embedder_fit");
    } else {
        e->board_size = sp_dataset_board_size(ds);
        e->history = o.history;
        e->input_dim = (uint32_t)(sp_go_plane_count(o.history) * e->board_size * e->board_size);
    }
    if (rc == SP_OK && sp_dataset_board_size(ds) != e->board_size)
        rc = sp__error(SP_ERR_INVALID_ARG, "sp_embedder_fit: the dataset is %dx%d, the model %dx%d",
                       sp_dataset_board_size(ds), sp_dataset_board_size(ds), (int)e->board_size, (int)e->board_size);
    if (rc == SP_OK && o.dim > e->input_dim)
        rc = sp__error(SP_ERR_INVALID_ARG, "sp_embedder_fit: dim %u is above the %u values %s gives", o.dim,
                       e->input_dim, e->kind == SP_EMBEDDER_RAW ? "the planes" : e->layer);
    e->dim = o.dim;
    if (rc == SP_OK)
        rc = fit(e, ds, &o);
    if (rc != SP_OK) {
        sp_embedder_free(e);
        return rc;
    }
    e->id = e->kind == SP_EMBEDDER_RAW ? sp_pca_id(e->pca) : sp__embedder_learned_id(e);
    *out = e;
    return SP_OK;
}

int sp_embedder_from_pca(sp_embedder **out, const sp_pca *pca, int32_t board_size, int32_t history)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_from_pca: out is NULL");
    *out = NULL;
    if (!pca)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_from_pca: pca is NULL");
    /* A raw embedder's id is its .spp's PCA id, and a compact PCA has no .spp. */
    if (sp__pca_is_compact(pca))
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_from_pca: the PCA is a learned embedder's compact one; "
                         "a raw embedder takes a FAISS PCA (sp_pca_train, sp_pca_load)");
    int planes = sp_go_plane_count(history);
    if (planes <= 0 || board_size < 2 || board_size > SP_GO_MAX_SIZE)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_from_pca: board size %d or history %d out of range",
                         (int)board_size, (int)history);
    uint64_t want = (uint64_t)planes * (uint64_t)(board_size * board_size);
    if (sp_pca_dim_in(pca) != want)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_from_pca: the PCA reads %u values, history %d on %dx%d gives %llu",
                         sp_pca_dim_in(pca), (int)history, (int)board_size, (int)board_size, (unsigned long long)want);
    sp_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return sp__error(SP_ERR_NOMEM, "sp_embedder_from_pca: out of memory");
    const void *bytes;
    size_t size;
    sp__pca_bytes(pca, &bytes, &size);
    int rc = sp__pca_from_bytes(&e->pca, bytes, size, sp_pca_dim_in(pca), sp_pca_dim_out(pca), "sp_embedder_from_pca");
    if (rc != SP_OK) {
        free(e);
        return rc;
    }
    e->kind = SP_EMBEDDER_RAW;
    e->dim = sp_pca_dim_out(pca);
    e->input_dim = sp_pca_dim_in(pca);
    e->board_size = board_size;
    e->history = history;
    e->id = sp_pca_id(e->pca);
    e->batch = SP__EMBED_DEFAULT_BATCH;
    /* Unknown: the PCA came without its fitting sample. */
    e->explained_variance = 0.0;
    *out = e;
    return SP_OK;
}

void sp_embedder_free(sp_embedder *e)
{
    if (!e)
        return;
    sp_pca_free(e->pca);
    free(e);
}

uint64_t sp_embedder_id(const sp_embedder *e) { return e ? e->id : 0; }

uint32_t sp_embedder_dim(const sp_embedder *e) { return e ? e->dim : 0; }

const sp_pca *sp_embedder_pca(const sp_embedder *e) { return e ? e->pca : NULL; }

int sp_embedder_describe(const sp_embedder *e, sp_embedder_info *out)
{
    if (!e || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_describe: %s is NULL", e ? "out" : "embedder");
    int rc = sp__options_check(out->version, &info_type, "sp_embedder_describe", NULL);
    if (rc != SP_OK)
        return rc;
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    info.kind = e->kind;
    info.dim = e->dim;
    info.input_dim = e->input_dim;
    info.board_size = e->board_size;
    info.history = e->history;
    memcpy(info.layer, e->layer, sizeof info.layer);
    info.model_hash = e->model_hash;
    info.id = e->id;
    info.explained_variance = e->explained_variance;
    return sp__options_write(out, &info, &info_type, "sp_embedder_describe");
}
