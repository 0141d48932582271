/* embed: the embedder of embed.h against independent references. Learned
 * keys against the model layer's activations (sp_model_activations) put
 * through the embedder's own PCA by a naive double loop, for every layer the
 * model offers; the PCA against the fitting sample (its mean, its explained
 * variance, its component variances against sp_pca_train on the same
 * activations); raw keys against sp_pca_apply of the dataset's planes; the
 * three ways in (planes, games, dataset positions) against each other, in
 * input order and on 1 and 2 threads; .spe round trips and refusals
 * (another model, no model, truncated and bit-flipped files, a failed save
 * leaving nothing; a learned file holding only A and m); the compact PCA
 * against the FAISS one it copies and a naive projection, and its bytes'
 * refusals; the direct fit of a learned embedder's PCA against FAISS's
 * (components up to sign, centre, explained variance) and a naive
 * covariance (eigenvector residuals, descending Rayleigh quotients,
 * orthonormal rows); a retriever refusing another embedder's queries;
 * cancelled fits and embeddings; a trainer holding the model; every bad
 * argument; two threads embedding at once. Tiny models (board 5, 8
 * channels) and random games. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "embed/embed_internal.h"
#include "semiparam/dataset.h"
#include "semiparam/embed.h"
#include "semiparam/go.h"
#include "semiparam/model.h"
#include "semiparam/retriever.h"
#include "semiparam/train.h"

#define SIZE 5
#define HISTORY 2
#define DIM 6
/* More than any test dataset holds: the fitting sample is then every
 * training position, which the tests can recompute. */
#define ALL_POSITIONS 1000000

static char tmpdir[64];

/* ------------------------------------------------------------------------ */
/* Helpers */

/* Board 5, 6 planes, 8 channels, 2 + 1 blocks: every layer kind, fast. */
static sp_model *tiny_model(uint64_t seed)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.board_size = SIZE;
    o.history = HISTORY;
    o.channels = 8;
    o.repr_blocks = 2;
    o.dyn_blocks = 1;
    o.policy_channels = 2;
    o.value_channels = 1;
    o.value_hidden = 8;
    sp_nn_options nn;
    ck_assert_int_eq(sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION), SP_OK);
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = seed;
    sp_model *model = NULL;
    ck_assert_msg(sp_model_create(&model, &o, &nn) == SP_OK, "%s", sp_last_error());
    return model;
}

static uint64_t model_hash(const sp_model *model)
{
    sp_model_info info = SP_MODEL_INFO_INIT;
    ck_assert_int_eq(sp_model_describe(model, &info), SP_OK);
    return info.content_hash;
}

/* Random games of @size; the dataset keeps them all (no dedup). */
static sp_dataset *random_dataset(int size, int games, uint64_t seed)
{
    sp_dataset *data = NULL;
    ck_assert_int_eq(sp_dataset_create(&data, size), SP_OK);
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, seed), SP_OK);
    sp_game_options go;
    ck_assert_int_eq(sp_game_options_init(&go, SP_GAME_OPTIONS_VERSION), SP_OK);
    go.board_size = size;
    for (int game = 0; game < games; game++) {
        sp_game *g;
        ck_assert_int_eq(sp_game_create(&g, &go), SP_OK);
        for (int move = 0; move < 10 + game % 7 && !sp_game_is_over(g); move++) {
            int mv;
            ck_assert_int_eq(sp_game_random_move(g, rng, &mv), SP_OK);
            ck_assert_int_eq(sp_game_play(g, mv), SP_OK);
        }
        ck_assert_msg(sp_dataset_add_game(data, g, "test", 0, NULL) == SP_OK, "%s", sp_last_error());
        sp_game_free(g);
    }
    sp_rng_free(rng);
    return data;
}

/* The training positions (the embedder's fitting sample when it asks for more). */
static uint64_t *train_positions(const sp_dataset *data, size_t *count)
{
    ck_assert_int_eq(sp_dataset_positions(data, SP_PART_TRAIN, NULL, NULL, 0, count), SP_ERR_BUFFER_TOO_SMALL);
    uint64_t *ids = malloc(*count * sizeof *ids);
    ck_assert_int_eq(sp_dataset_positions(data, SP_PART_TRAIN, NULL, ids, *count, count), SP_OK);
    return ids;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Every position, out of order (i * s mod n, s coprime with n): the walker must rewind. */
static uint64_t *shuffled_positions(const sp_dataset *data, uint64_t *count)
{
    *count = sp_dataset_position_count(data);
    ck_assert_uint_gt(*count, 20);
    uint64_t stride = 7;
    while (gcd(stride, *count) != 1)
        stride += 2;
    uint64_t *ids = malloc(*count * sizeof *ids);
    for (uint64_t i = 0; i < *count; i++)
        ids[i] = (i * stride) % *count;
    return ids;
}

/* What most tests start from: a tiny model (none for seed 0), random games,
 * every position out of order and their planes. Globals, since check runs
 * each test in a process of its own. */
static sp_model *m;
static sp_dataset *ds;
static uint64_t n;
static uint64_t *pos;
static float *planes;

static float *position_planes(const sp_dataset *data, const uint64_t *ids, uint64_t count, uint32_t *games);

static void open_bench(uint64_t model_seed, int games, uint64_t seed)
{
    m = model_seed ? tiny_model(model_seed) : NULL;
    ds = random_dataset(SIZE, games, seed);
    pos = shuffled_positions(ds, &n);
    planes = position_planes(ds, pos, n, NULL);
}

static void close_bench(void)
{
    free(planes);
    free(pos);
    sp_dataset_free(ds);
    sp_model_free(m);
    planes = NULL;
    pos = NULL;
    ds = NULL;
    m = NULL;
}

static sp_embedder_options options(int kind, const char *layer, uint32_t dim, uint32_t threads)
{
    sp_embedder_options o;
    ck_assert_int_eq(sp_embedder_options_init(&o, SP_EMBEDDER_OPTIONS_VERSION), SP_OK);
    o.kind = kind;
    o.layer = layer;
    o.dim = dim;
    o.history = HISTORY;
    o.sample = ALL_POSITIONS;
    /* Several learned batches, a short last one. A raw embedder projects in
     * chunks of 4,096 whatever the batch: its keys are bit for bit one
     * sp_pca_apply() of these few positions. */
    o.batch = 7;
    o.threads = threads;
    o.seed = 3;
    return o;
}

static sp_embedder *fit(sp_model *model, const sp_dataset *data, int kind, const char *layer, uint32_t dim,
                        uint32_t threads)
{
    sp_embedder_options o = options(kind, layer, dim, threads);
    sp_embedder *e = NULL;
    ck_assert_msg(sp_embedder_fit(&e, model, data, &o) == SP_OK, "%s", sp_last_error());
    ck_assert_ptr_nonnull(e);
    return e;
}

static sp_embedder_info describe(const sp_embedder *e)
{
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    ck_assert_msg(sp_embedder_describe(e, &info) == SP_OK, "%s", sp_last_error());
    return info;
}

static uint32_t planes_per_position(void)
{
    return (uint32_t)sp_go_plane_count(HISTORY) * SIZE * SIZE;
}

static float *position_planes(const sp_dataset *data, const uint64_t *ids, uint64_t count, uint32_t *games)
{
    size_t floats = (size_t)count * planes_per_position();
    float *x = malloc(floats * sizeof *x);
    ck_assert_int_eq(sp_pca_position_planes(data, ids, count, HISTORY, x, floats, games), SP_OK);
    return x;
}

/* The PCA's mean and matrix. */
typedef struct projection {
    uint32_t in, out;
    float *mean, *a;
} projection;

static projection projection_of(const sp_pca *pca)
{
    projection p = { sp_pca_dim_in(pca), sp_pca_dim_out(pca), NULL, NULL };
    ck_assert_uint_gt(p.in, 0);
    p.mean = malloc(p.in * sizeof *p.mean);
    p.a = malloc((size_t)p.out * p.in * sizeof *p.a);
    ck_assert_int_eq(sp_pca_components(pca, p.mean, p.a), SP_OK);
    return p;
}

static void projection_free(projection *p)
{
    free(p->mean);
    free(p->a);
}

/* keys[i] = sum_j A[i][j] (x[j] - mean[j]), by hand, in double. */
static double *naive_keys(const projection *p, const float *x, uint64_t rows)
{
    double *k = malloc((size_t)rows * p->out * sizeof *k);
    for (uint64_t r = 0; r < rows; r++)
        for (uint32_t i = 0; i < p->out; i++) {
            double s = 0;
            for (uint32_t j = 0; j < p->in; j++)
                s += (double)p->a[(size_t)i * p->in + j] * ((double)x[r * p->in + j] - (double)p->mean[j]);
            k[r * p->out + i] = s;
        }
    return k;
}

/* Largest |got - want| against the largest |want|: 1e-4 relative over the batch. */
static double relative_error(const float *got, const double *want, size_t count)
{
    double err = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
        err = fmax(err, fabs((double)got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    ck_assert_double_gt(scale, 0);
    return err / scale;
}

static double max_difference(const float *a, const float *b, size_t count)
{
    double d = 0;
    for (size_t i = 0; i < count; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

static float *activations(const char *layer, const float *x, uint64_t rows, uint64_t size)
{
    float *act = malloc((size_t)rows * size * sizeof *act);
    ck_assert_msg(sp_model_activations(m, layer, x, (int32_t)rows, act, (size_t)rows * size) == SP_OK, "%s",
                  sp_last_error());
    return act;
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int count = 0;
    for (struct dirent *ent; (ent = readdir(d));)
        count += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
    closedir(d);
    return count;
}

/* ------------------------------------------------------------------------ */
/* Learned keys */

/* For every layer the model offers: the keys are that layer's activations,
 * flattened, minus the PCA's mean, times its matrix. Reading another layer,
 * pooling instead of flattening, or dropping the mean fails the 1e-4 check. */
START_TEST(learned_keys_are_the_layer_through_the_pca)
{
    open_bench(1, 24, 5);
    int32_t layers = sp_model_layer_count(m);
    ck_assert_int_ge(layers, 2);
    float *repr_act = NULL;
    uint64_t repr_size = 0;
    for (int32_t l = 0; l < layers; l++) {
        sp_model_layer layer = SP_MODEL_LAYER_INIT;
        ck_assert_int_eq(sp_model_layer_info(m, l, &layer), SP_OK);
        ck_assert_uint_eq(layer.size, (uint64_t)layer.channels * (uint64_t)layer.height * (uint64_t)layer.width);
        uint32_t dim = layer.size < DIM ? (uint32_t)layer.size : DIM;
        sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, layer.name, dim, 1);
        sp_embedder_info info = describe(e);
        ck_assert_int_eq(info.kind, SP_EMBEDDER_LEARNED);
        ck_assert_str_eq(info.layer, layer.name);
        ck_assert_uint_eq(info.dim, dim);
        ck_assert_uint_eq(info.input_dim, layer.size);  /* flattened, not pooled */
        ck_assert_int_eq(info.board_size, SIZE);
        ck_assert_int_eq(info.history, HISTORY);
        ck_assert_uint_eq(info.model_hash, model_hash(m));
        ck_assert_uint_eq(info.id, sp_embedder_id(e));
        ck_assert_uint_ne(info.id, 0);
        ck_assert_uint_eq(sp_embedder_dim(e), dim);
        projection p = projection_of(sp_embedder_pca(e));
        ck_assert_uint_eq(p.in, layer.size);
        ck_assert_uint_eq(p.out, dim);
        float *act = activations(layer.name, planes, n, layer.size);
        double *want = naive_keys(&p, act, n);
        float *keys = malloc((size_t)n * dim * sizeof *keys);
        ck_assert_int_eq(sp_embedder_embed_planes(e, planes, n, keys), SP_OK);
        double err = relative_error(keys, want, (size_t)n * dim);
        ck_assert_msg(err < 1e-4, "layer %s: keys differ from the naive projection by %g", layer.name, err);
        if (l == 0) {
            ck_assert_str_eq(layer.name, "repr");  /* model.h: layer 0 is the default */
            repr_act = act;
            repr_size = layer.size;
            act = NULL;
        } else if (layer.size == repr_size) {
            /* Another layer of the same shape gives other keys: the check above
             * tells the layers apart. */
            double *other = naive_keys(&p, repr_act, n);
            ck_assert_double_gt(relative_error(keys, other, (size_t)n * dim), 1e-2);
            free(other);
        }
        free(want);
        free(keys);
        free(act);
        projection_free(&p);
        sp_embedder_free(e);
    }
    /* NULL layer means "repr". */
    sp_embedder *def = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1);
    sp_embedder *named = fit(m, ds, SP_EMBEDDER_LEARNED, "repr", DIM, 1);
    ck_assert_str_eq(describe(def).layer, "repr");
    ck_assert_uint_eq(sp_embedder_id(def), sp_embedder_id(named));
    sp_embedder_free(def);
    sp_embedder_free(named);
    free(repr_act);
    close_bench();
}
END_TEST

/* The PCA is a PCA of the fitting sample's activations: the sample's keys
 * are centred, their variances are the leading eigenvalues sp_pca_train
 * finds on the same activations, and the explained variance is their share
 * of the total variance, computed naively. */
START_TEST(learned_pca_is_a_pca_of_the_activations)
{
    open_bench(2, 30, 6);
    /* The fitting sample: every training position (options() asks for more). */
    size_t t;
    uint64_t *train = train_positions(ds, &t);
    float *x = position_planes(ds, train, t, NULL);
    sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, "repr", DIM, 1);
    sp_embedder_info info = describe(e);
    uint32_t in = info.input_dim;
    float *act = activations("repr", x, t, in);
    double total = 0;
    for (uint32_t j = 0; j < in; j++) {
        double mean = 0, var = 0;
        for (size_t r = 0; r < t; r++)
            mean += act[r * in + j];
        mean /= (double)t;
        for (size_t r = 0; r < t; r++)
            var += (act[r * in + j] - mean) * (act[r * in + j] - mean);
        total += var / (double)t;
    }
    /* The keys' variances against those of a PCA trained here on the same activations. */
    sp_pca *ref = NULL;
    ck_assert_int_eq(sp_pca_train(&ref, act, t, in, DIM, 1), SP_OK);
    float *keys = malloc(t * DIM * sizeof *keys), *ref_keys = malloc(t * DIM * sizeof *ref_keys);
    ck_assert_int_eq(sp_embedder_embed_planes(e, x, t, keys), SP_OK);
    ck_assert_int_eq(sp_pca_apply(ref, act, t, in, ref_keys), SP_OK);
    double kept = 0;
    for (uint32_t i = 0; i < DIM; i++) {
        double sum = 0, v = 0, v_ref = 0;
        for (size_t r = 0; r < t; r++) {
            sum += keys[r * DIM + i];
            v += (double)keys[r * DIM + i] * keys[r * DIM + i];
            v_ref += (double)ref_keys[r * DIM + i] * ref_keys[r * DIM + i];
        }
        /* Centred on the sample's mean: the keys of the sample average 0. (Only
         * the mean's part in A's row space matters, and that is all that
         * sp_pca_components() recovers: its `mean` need not be the sample's.) */
        ck_assert_msg(fabs(sum / (double)t) <= 1e-3 * sqrt(v / (double)t), "component %u: keys average %g", i,
                      sum / (double)t);
        ck_assert_msg(fabs(v - v_ref) <= 1e-3 * v_ref, "component %u: variance %g, sp_pca_train's %g", i, v, v_ref);
        kept += v / (double)t;
    }
    ck_assert_double_gt(kept, 0);
    ck_assert_msg(fabs(info.explained_variance - kept / total) < 1e-3, "explained variance %g, naive %g",
                  info.explained_variance, kept / total);
    ck_assert_double_le(info.explained_variance, 1.0);
    sp_pca_free(ref);
    free(keys);
    free(ref_keys);
    free(act);
    free(x);
    free(train);
    sp_embedder_free(e);
    close_bench();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The direct fit (sp__pca_fit_compact), against FAISS and a naive covariance */

#define FIT_N 400
#define FIT_IN 40
#define FIT_OUT 5

/* FIT_N samples about a centre in [-1, 1]^FIT_IN, with standard deviations
 * 10, 8, 6, 4, 3 along the first five vectors of a random orthonormal basis
 * (Gram-Schmidt of Gaussian vectors) and 0.5 along the others: the top five
 * components are well separated, in directions no axis gives away. */
static float *correlated_sample(uint64_t seed)
{
    static const double sd[FIT_OUT] = { 10, 8, 6, 4, 3 };
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, seed), SP_OK);
    double *gauss = malloc((FIT_IN * FIT_IN + FIT_N * FIT_IN) * sizeof *gauss), *basis = gauss;
    for (size_t i = 0; i < FIT_IN * FIT_IN + FIT_N * FIT_IN; i++) /* Box-Muller */
        gauss[i] = sqrt(-2.0 * log(1.0 - sp_rng_uniform(rng))) * cos(2.0 * M_PI * sp_rng_uniform(rng));
    for (size_t i = 0; i < FIT_IN; i++) {
        for (size_t k = 0; k < i; k++) {
            double dot = 0;
            for (size_t j = 0; j < FIT_IN; j++)
                dot += basis[i * FIT_IN + j] * basis[k * FIT_IN + j];
            for (size_t j = 0; j < FIT_IN; j++)
                basis[i * FIT_IN + j] -= dot * basis[k * FIT_IN + j];
        }
        double norm = 0;
        for (size_t j = 0; j < FIT_IN; j++)
            norm += basis[i * FIT_IN + j] * basis[i * FIT_IN + j];
        for (size_t j = 0; j < FIT_IN; j++)
            basis[i * FIT_IN + j] /= sqrt(norm);
    }
    double centre[FIT_IN];
    for (size_t j = 0; j < FIT_IN; j++)
        centre[j] = 2.0 * sp_rng_uniform(rng) - 1.0;
    float *x = malloc(FIT_N * FIT_IN * sizeof *x);
    for (size_t r = 0; r < FIT_N; r++) {
        const double *z = gauss + FIT_IN * FIT_IN + r * FIT_IN;
        for (size_t j = 0; j < FIT_IN; j++) {
            double v = centre[j];
            for (size_t k = 0; k < FIT_IN; k++)
                v += (k < FIT_OUT ? sd[k] : 0.5) * z[k] * basis[k * FIT_IN + j];
            x[r * FIT_IN + j] = (float)v;
        }
    }
    free(gauss);
    sp_rng_free(rng);
    return x;
}

/* The sample's covariance (about its mean, over n), naively in double. */
static void naive_covariance(const float *x, double *cov)
{
    double mean[FIT_IN] = { 0 };
    for (size_t r = 0; r < FIT_N; r++)
        for (size_t j = 0; j < FIT_IN; j++)
            mean[j] += x[r * FIT_IN + j] / (double)FIT_N;
    for (size_t i = 0; i < FIT_IN; i++)
        for (size_t j = 0; j < FIT_IN; j++) {
            double s = 0;
            for (size_t r = 0; r < FIT_N; r++)
                s += (x[r * FIT_IN + i] - mean[i]) * (x[r * FIT_IN + j] - mean[j]);
            cov[i * FIT_IN + j] = s / (double)FIT_N;
        }
}

/* Share of the sample's variance the PCA's outputs keep, naively in double. */
static double naive_explained_variance(const sp_pca *pca, const float *x)
{
    double cov[FIT_IN * FIT_IN], total = 0, kept = 0;
    naive_covariance(x, cov);
    for (size_t j = 0; j < FIT_IN; j++)
        total += cov[j * FIT_IN + j];
    float *y = malloc(FIT_N * FIT_OUT * sizeof *y);
    ck_assert_int_eq(sp_pca_apply(pca, x, FIT_N, FIT_IN, y), SP_OK);
    for (size_t i = 0; i < FIT_OUT; i++) {
        double mean = 0, var = 0;
        for (size_t r = 0; r < FIT_N; r++)
            mean += y[r * FIT_OUT + i] / (double)FIT_N;
        for (size_t r = 0; r < FIT_N; r++)
            var += (y[r * FIT_OUT + i] - mean) * (y[r * FIT_OUT + i] - mean) / (double)FIT_N;
        kept += var;
    }
    free(y);
    return kept / total;
}

/* The direct fit spans FAISS's subspace component by component (up to
 * sign), keeps its centre and its explained variance; its rows are
 * orthonormal eigenvectors of the naive covariance, in descending order of
 * their Rayleigh quotients, each with its largest entry positive; two fits
 * give the same bytes. */
START_TEST(direct_fit_is_faiss_pca_and_the_naive_eigenvectors)
{
    float *x = correlated_sample(11);
    sp_pca *fit = NULL, *again = NULL, *ref = NULL;
    ck_assert_msg(sp__pca_fit_compact(&fit, x, FIT_N, FIT_IN, FIT_OUT, 1, "test") == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(sp__pca_is_compact(fit), 1);
    ck_assert_int_eq(sp_pca_train(&ref, x, FIT_N, FIT_IN, FIT_OUT, 1), SP_OK);
    projection p = projection_of(fit), f = projection_of(ref);
    ck_assert_uint_eq(p.in, FIT_IN);
    ck_assert_uint_eq(p.out, FIT_OUT);
    for (size_t i = 0; i < FIT_OUT; i++) {
        double dot = 0;
        for (size_t j = 0; j < FIT_IN; j++)
            dot += (double)p.a[i * FIT_IN + j] * f.a[i * FIT_IN + j];
        ck_assert_msg(fabs(dot) > 0.999, "component %zu: |<fit, FAISS>| = %g", i, fabs(dot));
    }
    /* Both centres are the mean's part in the (shared) row space. */
    ck_assert_msg(max_difference(p.mean, f.mean, FIT_IN) < 1e-4, "centres differ by %g",
                  max_difference(p.mean, f.mean, FIT_IN));
    double ev = naive_explained_variance(fit, x), ev_ref = naive_explained_variance(ref, x);
    ck_assert_msg(fabs(ev - ev_ref) < 1e-4, "explained variance %g, FAISS's %g", ev, ev_ref);
    ck_assert_double_gt(ev, 0.9);

    double cov[FIT_IN * FIT_IN], previous = INFINITY;
    naive_covariance(x, cov);
    for (size_t i = 0; i < FIT_OUT; i++) {
        const float *a = p.a + i * FIT_IN;
        double ca[FIT_IN], rayleigh = 0, residual = 0;
        for (size_t j = 0; j < FIT_IN; j++) {
            ca[j] = 0;
            for (size_t k = 0; k < FIT_IN; k++)
                ca[j] += cov[j * FIT_IN + k] * a[k];
            rayleigh += a[j] * ca[j];
        }
        for (size_t j = 0; j < FIT_IN; j++)
            residual += (ca[j] - rayleigh * a[j]) * (ca[j] - rayleigh * a[j]);
        ck_assert_msg(sqrt(residual) < 1e-4 * rayleigh, "row %zu is no eigenvector: |C a - q a| = %g, q = %g", i,
                      sqrt(residual), rayleigh);
        ck_assert_msg(rayleigh < previous, "row %zu: Rayleigh quotient %g after %g", i, rayleigh, previous);
        previous = rayleigh;
        size_t top = 0;
        for (size_t j = 1; j < FIT_IN; j++)
            top = fabsf(a[j]) > fabsf(a[top]) ? j : top;
        ck_assert_msg(a[top] > 0, "row %zu: its largest entry %g is negative", i, a[top]);
        for (size_t k = 0; k <= i; k++) {
            double dot = 0;
            for (size_t j = 0; j < FIT_IN; j++)
                dot += (double)a[j] * p.a[k * FIT_IN + j];
            ck_assert_msg(fabs(dot - (k == i)) < 1e-5, "rows %zu and %zu: dot %g", i, k, dot);
        }
    }
    ck_assert_int_eq(sp__pca_fit_compact(&again, x, FIT_N, FIT_IN, FIT_OUT, 1, "test"), SP_OK);
    ck_assert_uint_eq(sp_pca_id(again), sp_pca_id(fit));
    projection_free(&p);
    projection_free(&f);
    sp_pca_free(again);
    sp_pca_free(ref);
    sp_pca_free(fit);
    free(x);
}
END_TEST

/* Bad arguments are refused before anything is read; degenerate and full
 * fits still give orthonormal, finite rows. */
START_TEST(direct_fit_refuses_bad_arguments)
{
    float x[4 * 3] = { 0 };
    sp_pca *pca = (sp_pca *)(void *)x; /* set to NULL on failure */
    ck_assert_int_eq(sp__pca_fit_compact(NULL, x, 4, 3, 2, 1, "test"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__pca_fit_compact(&pca, NULL, 4, 3, 2, 1, "test"), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(pca);
    ck_assert_int_eq(sp__pca_fit_compact(&pca, x, 1, 3, 2, 1, "test"), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "test"));
    ck_assert_int_eq(sp__pca_fit_compact(&pca, x, 4, 3, 0, 1, "test"), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp__pca_fit_compact(&pca, x, 4, 3, 4, 1, "test"), SP_ERR_INVALID_ARG);
    /* Past LAPACK's int sizes: refused before a value is read. */
    ck_assert_int_eq(sp__pca_fit_compact(&pca, x, 4, 0x7fffffffu, 2, 1, "test"), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(pca);
    /* Identical samples: a zero covariance still gives orthonormal rows and finite values. */
    ck_assert_msg(sp__pca_fit_compact(&pca, x, 4, 3, 2, 1, "test") == SP_OK, "%s", sp_last_error());
    projection p = projection_of(pca);
    for (size_t i = 0; i < 6; i++)
        ck_assert(isfinite(p.a[i]));
    projection_free(&p);
    sp_pca_free(pca);
    /* Every component (LAPACK's all-eigenvalue path): an orthonormal basis. */
    float *sample = correlated_sample(12);
    ck_assert_msg(sp__pca_fit_compact(&pca, sample, FIT_N, FIT_IN, FIT_IN, 2, "test") == SP_OK, "%s",
                  sp_last_error());
    p = projection_of(pca);
    for (size_t i = 0; i < FIT_IN; i++)
        for (size_t k = 0; k < FIT_IN; k++) {
            double dot = 0;
            for (size_t j = 0; j < FIT_IN; j++)
                dot += (double)p.a[i * FIT_IN + j] * p.a[k * FIT_IN + j];
            ck_assert_msg(fabs(dot - (i == k)) < 1e-5, "rows %zu and %zu: dot %g", i, k, dot);
        }
    projection_free(&p);
    sp_pca_free(pca);
    free(sample);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Raw keys */

START_TEST(raw_keys_are_the_pca_of_the_planes)
{
    open_bench(0, 20, 7);
    uint32_t *games = malloc(n * sizeof *games), *games2 = malloc(n * sizeof *games2);
    free(position_planes(ds, pos, n, games));
    sp_embedder *e = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 8, 1);
    sp_embedder_info info = describe(e);
    ck_assert_int_eq(info.kind, SP_EMBEDDER_RAW);
    ck_assert_str_eq(info.layer, "");
    ck_assert_uint_eq(info.model_hash, 0);
    ck_assert_uint_eq(info.input_dim, planes_per_position());
    ck_assert_int_eq(info.board_size, SIZE);
    ck_assert_int_eq(info.history, HISTORY);
    const sp_pca *pca = sp_embedder_pca(e);
    ck_assert_uint_eq(sp_embedder_id(e), sp_pca_id(pca));
    float *keys = malloc(n * 8 * sizeof *keys), *want = malloc(n * 8 * sizeof *want);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, n, keys, games2), SP_OK);
    ck_assert_int_eq(sp_pca_apply(pca, planes, n, planes_per_position(), want), SP_OK);
    ck_assert_mem_eq(keys, want, n * 8 * sizeof *keys);
    ck_assert_mem_eq(games, games2, n * sizeof *games);
    /* From a PCA: its id, the same keys. */
    sp_embedder *copy = NULL;
    ck_assert_int_eq(sp_embedder_from_pca(&copy, pca, SIZE, HISTORY), SP_OK);
    ck_assert_uint_eq(sp_embedder_id(copy), sp_pca_id(pca));
    ck_assert_int_eq(describe(copy).kind, SP_EMBEDDER_RAW);
    memset(keys, 0, n * 8 * sizeof *keys);
    ck_assert_int_eq(sp_embedder_embed_planes(copy, planes, n, keys), SP_OK);
    ck_assert_mem_eq(keys, want, n * 8 * sizeof *keys);
    /* A PCA trained here: from_pca copies it, so freeing it does not matter. */
    sp_pca *own = NULL;
    ck_assert_int_eq(sp_pca_train(&own, planes, n, planes_per_position(), 4, 1), SP_OK);
    uint64_t own_id = sp_pca_id(own);
    sp_embedder *from_own = NULL;
    ck_assert_int_eq(sp_embedder_from_pca(&from_own, own, SIZE, HISTORY), SP_OK);
    ck_assert_int_eq(sp_pca_apply(own, planes, n, planes_per_position(), want), SP_OK);
    sp_pca_free(own);
    ck_assert_uint_eq(sp_embedder_id(from_own), own_id);
    ck_assert_uint_eq(sp_embedder_dim(from_own), 4);
    ck_assert_int_eq(sp_embedder_embed_planes(from_own, planes, n, keys), SP_OK);
    ck_assert_mem_eq(keys, want, n * 4 * sizeof *keys);
    sp_embedder_free(from_own);
    sp_embedder_free(copy);
    sp_embedder_free(e);
    free(keys);
    free(want);
    free(games);
    free(games2);
    close_bench();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Three ways in */

/* Planes, games played to the position and dataset positions give the same
 * keys; positions come back in input order with their game ids, on one
 * thread and on two. */
START_TEST(planes_games_and_positions_agree)
{
    open_bench(3, 20, 8);
    sp_embedder *e1 = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1);
    sp_embedder *e2 = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 2);
    sp_embedder *embedders[2] = { e1, e2 };
    size_t count = (size_t)n * DIM;
    float *by_planes = malloc(count * sizeof(float)), *by_positions = malloc(count * sizeof(float));
    float *by_games = malloc(count * sizeof(float)), *one = malloc(DIM * sizeof(float));
    uint32_t *games = malloc(n * sizeof *games);
    sp_game **replays = malloc(n * sizeof *replays);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t game;
        uint32_t move;
        ck_assert_int_eq(sp_dataset_position_locate(ds, pos[i], &game, &move), SP_OK);
        ck_assert_int_eq(sp_dataset_game_replay(ds, game, (int)move, &replays[i]), SP_OK);
    }
    for (int t = 0; t < 2; t++) {
        sp_embedder *e = embedders[t];
        ck_assert_int_eq(sp_embedder_embed_planes(e, planes, n, by_planes), SP_OK);
        ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, n, by_positions, games), SP_OK);
        ck_assert_int_eq(sp_embedder_embed_games(e, (const sp_game *const *)replays, n, by_games), SP_OK);
        /* Bit for bit: batches start at the same multiples of the batch
         * size in the input whichever way the positions come in. */
        ck_assert_msg(memcmp(by_planes, by_positions, count * sizeof(float)) == 0, "%d thread(s): positions differ",
                      t + 1);
        ck_assert_msg(memcmp(by_planes, by_games, count * sizeof(float)) == 0, "%d thread(s): games differ", t + 1);
        for (uint64_t i = 0; i < n; i += 9) {
            uint64_t game;
            ck_assert_int_eq(sp_dataset_position_locate(ds, pos[i], &game, NULL), SP_OK);
            ck_assert_uint_eq(games[i], game);
            /* One at a time: the row belongs to that position, not a neighbour in the batch. */
            ck_assert_int_eq(sp_embedder_embed_games(e, (const sp_game *const *)&replays[i], 1, one), SP_OK);
            ck_assert(max_difference(one, by_positions + i * DIM, DIM) < 1e-5);
        }
    }
    /* (e1 and e2 are not compared with each other: fitted on 1 and 2 threads,
     * their PCAs differ in the last bits, and so do their ids.) */
    for (uint64_t i = 0; i < n; i++)
        sp_game_free(replays[i]);
    free(replays);
    free(games);
    free(one);
    free(by_games);
    free(by_positions);
    free(by_planes);
    sp_embedder_free(e1);
    sp_embedder_free(e2);
    close_bench();
}
END_TEST

/* A progress callback cancelling the task it names, counting its calls. */
typedef struct cancel_at {
    const char *task;
    int calls;
} cancel_at;

static int cancel_task(const char *task, uint64_t done, uint64_t total, void *payload)
{
    (void)done;
    (void)total;
    cancel_at *c = payload;
    if (strcmp(task, c->task) != 0)
        return 0;
    c->calls++;
    return 1;
}

/* rc_of() cancelled at its first report of @p task: SP_ERR_CANCELLED. */
static void assert_cancelled(const char *task, int rc_of(void))
{
    cancel_at c = { task, 0 };
    sp_set_progress_callback(cancel_task, &c);
    int rc = rc_of();
    sp_set_progress_callback(NULL, NULL);
    ck_assert_int_eq(rc, SP_ERR_CANCELLED);
    ck_assert_int_ge(c.calls, 1);
}

static int fit_learned(void)
{
    sp_embedder_options o = options(SP_EMBEDDER_LEARNED, NULL, 4, 1);
    sp_embedder *e = (sp_embedder *)1;
    int rc = sp_embedder_fit(&e, m, ds, &o);
    ck_assert_ptr_null(e);
    return rc;
}

static const sp_embedder *cancelled_embedder;

static int embed_all(void)
{
    float *keys = malloc(n * sp_embedder_dim(cancelled_embedder) * sizeof *keys);
    int rc = sp_embedder_embed_positions(cancelled_embedder, ds, pos, n, keys, NULL);
    free(keys);
    return rc;
}

START_TEST(fitting_and_embedding_can_be_cancelled)
{
    open_bench(11, 12, 17);
    assert_cancelled("embed-fit", fit_learned);
    sp_embedder *e = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 4, 1);
    cancelled_embedder = e;
    assert_cancelled("embed", embed_all);
    sp_embedder_free(e);
    close_bench();
}
END_TEST
/* model.h: a trainer holding the model keeps inference away from it. */
START_TEST(a_trainer_holding_the_model_refuses_embedding)
{
    open_bench(12, 12, 18);
    sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, 4, 1);
    float keys[4];
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, 1, keys), SP_OK);
    sp_trainer *t = NULL;
    ck_assert_msg(sp_trainer_create(&t, m, ds, NULL) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, 1, keys), SP_ERR_MISUSE);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, 1, keys, NULL), SP_ERR_MISUSE);
    sp_trainer_free(t);
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, 1, keys), SP_OK);
    sp_embedder_free(e);
    close_bench();
}
END_TEST


/* ------------------------------------------------------------------------ */
/* Files */

static void same_keys(const sp_embedder *a, const sp_embedder *b)
{
    uint32_t d = sp_embedder_dim(a);
    ck_assert_uint_eq(sp_embedder_dim(b), d);
    float *ka = malloc((size_t)n * d * sizeof *ka), *kb = malloc((size_t)n * d * sizeof *kb);
    ck_assert_int_eq(sp_embedder_embed_planes(a, planes, n, ka), SP_OK);
    ck_assert_int_eq(sp_embedder_embed_planes(b, planes, n, kb), SP_OK);
    ck_assert_mem_eq(ka, kb, (size_t)n * d * sizeof *ka);
    free(ka);
    free(kb);
}

static void same_info(const sp_embedder *a, const sp_embedder *b)
{
    sp_embedder_info x = describe(a), y = describe(b);
    ck_assert_uint_eq(x.id, y.id);
    ck_assert_int_eq(x.kind, y.kind);
    ck_assert_uint_eq(x.dim, y.dim);
    ck_assert_uint_eq(x.input_dim, y.input_dim);
    ck_assert_int_eq(x.board_size, y.board_size);
    ck_assert_int_eq(x.history, y.history);
    ck_assert_str_eq(x.layer, y.layer);
    ck_assert_uint_eq(x.model_hash, y.model_hash);
    ck_assert_double_eq_tol(x.explained_variance, y.explained_variance, 1e-12);
}

START_TEST(save_load_round_trip_is_identical)
{
    open_bench(4, 16, 10);
    sp_model *other = tiny_model(5);
    ck_assert_uint_ne(model_hash(m), model_hash(other));
    char learned[128], raw[128];
    snprintf(learned, sizeof learned, "%s/learned.spe", tmpdir);
    snprintf(raw, sizeof raw, "%s/raw.spe", tmpdir);

    sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1), *back = NULL;
    ck_assert_int_eq(sp_embedder_save(e, learned), SP_OK);
    ck_assert_int_eq(sp_embedder_load(&back, learned, m), SP_OK);
    same_info(e, back);
    same_keys(e, back);
    /* The learned file holds A and m, not FAISS's input_dim^2 eigenvectors:
     * the 128-byte header, the projection and the centre, 64 bytes to spare. */
    uint64_t in = describe(e).input_dim;
    struct stat st;
    ck_assert_int_eq(stat(learned, &st), 0);
    ck_assert_uint_le((uint64_t)st.st_size, 128 + (DIM * in + in) * 4 + 64);
    ck_assert_uint_ge((uint64_t)st.st_size, 128 + (DIM * in + in) * 4);
    ck_assert_int_eq(sp__pca_is_compact(sp_embedder_pca(e)), 1);
    ck_assert_int_eq(sp__pca_is_compact(sp_embedder_pca(back)), 1);
    ck_assert_uint_eq(sp_pca_id(sp_embedder_pca(e)), sp_pca_id(sp_embedder_pca(back)));
    sp_embedder_free(back);
    /* Another model, no model: refused, saying why. */
    back = (sp_embedder *)1;
    ck_assert_int_eq(sp_embedder_load(&back, learned, other), SP_ERR_MISUSE);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "model"));
    ck_assert_int_eq(sp_embedder_load(&back, learned, NULL), SP_ERR_MISUSE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "model"));

    sp_embedder *r = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 5, 1);
    ck_assert_int_eq(sp_embedder_save(r, raw), SP_OK);
    ck_assert_int_eq(sp_embedder_load(&back, raw, NULL), SP_OK);
    same_info(r, back);
    same_keys(r, back);
    /* A raw embedder keeps FAISS's form: its id is its .spp's. */
    ck_assert_int_eq(sp__pca_is_compact(sp_embedder_pca(back)), 0);
    ck_assert_uint_eq(sp_embedder_id(back), sp_pca_id(sp_embedder_pca(back)));
    sp_embedder_free(back);
    ck_assert_int_eq(sp_embedder_load(&back, raw, m), SP_ERR_MISUSE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "model"));
    ck_assert_ptr_null(back);
    /* Saving over an existing file replaces it whole. */
    ck_assert_int_eq(sp_embedder_save(r, learned), SP_OK);
    ck_assert_int_eq(sp_embedder_load(&back, learned, NULL), SP_OK);
    ck_assert_uint_eq(sp_embedder_id(back), sp_embedder_id(r));
    sp_embedder_free(back);

    sp_embedder_free(r);
    sp_embedder_free(e);
    sp_model_free(other);
    close_bench();
}
END_TEST

/* Plain write (no sync): the refusal loops below write hundreds of files. */
static void write_bytes(const char *path, const char *data, size_t length)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, length, f), length);
    ck_assert_int_eq(fclose(f), 0);
}

/* ------------------------------------------------------------------------ */
/* The compact PCA */

/* A compact copy of a FAISS PCA: the same A and m, keys equal to a naive
 * A (x - m) and to FAISS's to float rounding, an id of its own, no .spp;
 * its bytes round trip bit for bit and every damage to them is refused. */
START_TEST(compact_pca_is_the_projection_and_refuses_damaged_bytes)
{
    enum { ROWS = 120, IN = 37, OUT = 5 };
    float *x = malloc(ROWS * IN * sizeof *x);
    uint64_t state = 12345;
    for (size_t i = 0; i < ROWS * IN; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        /* Far from zero-mean, and correlated across columns, as activations are. */
        float u = 3.0f + (float)((state >> 40) % 1000) / 250.0f;
        x[i] = i % IN ? u + (float)(i % IN) * 0.1f * x[i - i % IN] : u;
    }
    sp_pca *faiss = NULL, *compact = NULL, *back = NULL;
    ck_assert_int_eq(sp_pca_train(&faiss, x, ROWS, IN, OUT, 1), SP_OK);
    ck_assert_int_eq(sp__pca_compact(&compact, faiss, "test"), SP_OK);
    ck_assert_int_eq(sp__pca_is_compact(faiss), 0);
    ck_assert_int_eq(sp__pca_is_compact(compact), 1);
    ck_assert_uint_eq(sp_pca_dim_in(compact), IN);
    ck_assert_uint_eq(sp_pca_dim_out(compact), OUT);
    ck_assert_uint_ne(sp_pca_id(compact), 0);
    ck_assert_uint_ne(sp_pca_id(compact), sp_pca_id(faiss));
    projection pf = projection_of(faiss), pc = projection_of(compact);
    ck_assert_mem_eq(pf.a, pc.a, OUT * IN * sizeof *pf.a);
    ck_assert_mem_eq(pf.mean, pc.mean, IN * sizeof *pf.mean);
    float *keys = malloc(ROWS * OUT * sizeof *keys), *ref = malloc(ROWS * OUT * sizeof *ref);
    ck_assert_int_eq(sp_pca_apply(compact, x, ROWS, IN, keys), SP_OK);
    ck_assert_int_eq(sp_pca_apply(faiss, x, ROWS, IN, ref), SP_OK);
    double *naive = naive_keys(&pc, x, ROWS);
    ck_assert_double_lt(relative_error(keys, naive, ROWS * OUT), 1e-4);
    ck_assert_double_lt(relative_error(ref, naive, ROWS * OUT), 1e-4);
    /* One row at a time: the same keys as the batch, bit for bit. */
    for (size_t r = 0; r < ROWS; r += 17) {
        float one[OUT];
        ck_assert_int_eq(sp_pca_apply(compact, x + r * IN, 1, IN, one), SP_OK);
        ck_assert_mem_eq(one, keys + r * OUT, sizeof one);
    }
    /* No .spp form, and no file left. */
    char path[128];
    snprintf(path, sizeof path, "%s/compact.spp", tmpdir);
    ck_assert_int_eq(sp_pca_save(compact, path), SP_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "compact"));
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0);
    /* Nor a raw embedder (whose id is a .spp's). */
    sp_embedder *raw = (sp_embedder *)1;
    ck_assert_int_eq(sp_embedder_from_pca(&raw, compact, 1, 1), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(raw);

    /* Bytes: tag, dims, A, m; a round trip gives the same bytes, id and keys. */
    const void *bytes;
    size_t size;
    sp__pca_bytes(compact, &bytes, &size);
    ck_assert_uint_eq(size, 16 + (OUT * IN + IN) * 4);
    ck_assert_mem_eq((const char *)bytes + 16, pc.a, OUT * IN * 4);
    ck_assert_mem_eq((const char *)bytes + 16 + OUT * IN * 4, pc.mean, IN * 4);
    ck_assert_int_eq(sp__pca_from_bytes(&back, bytes, size, IN, OUT, "test"), SP_OK);
    ck_assert_uint_eq(sp_pca_id(back), sp_pca_id(compact));
    ck_assert_int_eq(sp_pca_apply(back, x, ROWS, IN, ref), SP_OK);
    ck_assert_mem_eq(ref, keys, ROWS * OUT * sizeof *ref);
    sp_pca_free(back);
    char *copy = malloc(size + 1);
    memcpy(copy, bytes, size);
    copy[size] = 0;
    back = (sp_pca *)1;
    /* Every truncation, one byte more, other dimensions expected. */
    for (size_t cut = 0; cut <= size + 1; cut += cut < 64 ? 1 : 13) {
        if (cut == size)
            continue;
        ck_assert_msg(sp__pca_from_bytes(&back, copy, cut, IN, OUT, "test") == SP_ERR_FORMAT, "cut at %zu", cut);
        ck_assert_ptr_null(back);
    }
    ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN + 1, OUT, "test"), SP_ERR_FORMAT);
    ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN, OUT - 1, "test"), SP_ERR_FORMAT);
    /* A flipped tag or dimension byte; a NaN or an infinity in A or in m. */
    for (size_t at = 0; at < 16; at++) {
        copy[at] ^= 0x10;
        ck_assert_msg(sp__pca_from_bytes(&back, copy, size, IN, OUT, "test") == SP_ERR_FORMAT, "byte %zu", at);
        ck_assert_ptr_null(back);
        copy[at] ^= 0x10;
    }
    const float bad_values[] = { NAN, INFINITY, -INFINITY };
    const size_t where[] = { 16, 16 + (OUT * IN - 1) * 4, 16 + OUT * IN * 4, size - 4 };
    for (size_t v = 0; v < 3; v++)
        for (size_t w = 0; w < 4; w++) {
            float keep;
            memcpy(&keep, copy + where[w], 4);
            memcpy(copy + where[w], &bad_values[v], 4);
            ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN, OUT, "test"), SP_ERR_FORMAT);
            ck_assert_ptr_nonnull(strstr(sp_last_error(), "non-finite"));
            ck_assert_ptr_null(back);
            memcpy(copy + where[w], &keep, 4);
        }
    ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN, OUT, "test"), SP_OK);
    sp_pca_free(back);
    free(copy);
    free(naive);
    free(keys);
    free(ref);
    projection_free(&pf);
    projection_free(&pc);
    sp_pca_free(compact);
    sp_pca_free(faiss);
    free(x);
}
END_TEST

/* The FAISS form's bytes (a raw embedder's, a .spp's payload): with any
 * byte flipped, cut at any length or one byte longer they are refused with
 * SP_ERR_FORMAT or read whole, never handed to FAISS in a shape it throws
 * on halfway (FAISS 1.7.3 then leaks what it built, which the ASan suite's
 * leak check would report here). Flips in the structure are refused; the
 * untouched bytes read back with the same id. */
START_TEST(faiss_pca_bytes_are_refused_or_read_whole)
{
    enum { ROWS = 40, IN = 8, OUT = 3 };
    float x[ROWS * IN];
    uint64_t state = 99;
    for (size_t i = 0; i < ROWS * IN; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((state >> 40) % 1000) / 100.0f;
    }
    sp_pca *pca = NULL, *back = NULL;
    ck_assert_int_eq(sp_pca_train(&pca, x, ROWS, IN, OUT, 1), SP_OK);
    const void *bytes;
    size_t size;
    sp__pca_bytes(pca, &bytes, &size);
    char *copy = malloc(size + 1);
    memcpy(copy, bytes, size);
    copy[size] = 0;
    ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN, OUT, "test"), SP_OK);
    ck_assert_uint_eq(sp_pca_id(back), sp_pca_id(pca));
    sp_pca_free(back);
    for (size_t cut = 0; cut <= size + 1; cut++) {
        if (cut == size)
            continue;
        ck_assert_msg(sp__pca_from_bytes(&back, copy, cut, IN, OUT, "test") == SP_ERR_FORMAT, "cut at %zu", cut);
        ck_assert_ptr_null(back);
    }
    size_t refused = 0;
    float keys[OUT];
    for (size_t at = 0; at < size; at++) {
        for (int bit = 0; bit < 8; bit += 7) {
            copy[at] ^= (char)(1 << bit);
            int rc = sp__pca_from_bytes(&back, copy, size, IN, OUT, "test");
            ck_assert_msg(rc == SP_OK || rc == SP_ERR_FORMAT, "byte %zu bit %d: %d", at, bit, rc);
            if (rc == SP_OK)
                ck_assert_int_eq(sp_pca_apply(back, x, 1, IN, keys), SP_OK);
            else
                ck_assert_ptr_null(back);
            refused += rc != SP_OK;
            sp_pca_free(back);
            back = NULL;
            copy[at] ^= (char)(1 << bit);
        }
    }
    /* The fourccs, the dimensions and every vector's count are structure. */
    for (size_t at = 0; at < 8; at++) {
        copy[at] ^= 1;
        ck_assert_int_eq(sp__pca_from_bytes(&back, copy, size, IN, OUT, "test"), SP_ERR_FORMAT);
        copy[at] ^= 1;
    }
    ck_assert_uint_gt(refused, 100);
    free(copy);
    sp_pca_free(pca);
}
END_TEST

/* A learned .spe whose compact PCA holds a NaN, with both CRCs made right
 * again: the loader still refuses it (the CRCs only catch accidents). */
static void nan_in_learned_file_is_refused(const char *path, sp_model *model)
{
    char *data;
    size_t length;
    ck_assert_int_eq(sp__file_read(path, &data, &length), SP_OK);
    const float nan = NAN;
    memcpy(data + 128 + 16 + 4 * 3, &nan, 4);
    uint32_t crc = sp__crc32(0, data + 128, length - 128), zero = 0;
    memcpy(data + 104, &crc, 4);
    memcpy(data + 108, &zero, 4);
    crc = sp__crc32(0, data, 128);
    memcpy(data + 108, &crc, 4);
    char bad[160];
    snprintf(bad, sizeof bad, "%s.nan", path);
    write_bytes(bad, data, length);
    sp_embedder *e = (sp_embedder *)1;
    ck_assert_int_eq(sp_embedder_load(&e, bad, model), SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "non-finite"));
    ck_assert_ptr_null(e);
    remove(bad);
    free(data);
}

/* Truncations and bit flips at every offset of the first 256 bytes (the
 * header and what follows) and at about 400 offsets spread over the rest
 * (the PCA section is most of the file): SP_ERR_FORMAT, nothing
 * returned. A flip in the file's version may say SP_ERR_VERSION instead. */
static void corruptions_are_refused(const char *path, sp_model *model)
{
    char *data;
    size_t length;
    ck_assert_int_eq(sp__file_read(path, &data, &length), SP_OK);
    size_t stride = length > 256 ? (length - 256) / 400 + 1 : 1;
    char bad[160];
    snprintf(bad, sizeof bad, "%s.bad", path);
    sp_embedder *e = (sp_embedder *)1;
    int cuts = 0, flips = 0;
    for (size_t cut = 0; cut < length; cut += cut < 256 ? 1 : stride, cuts++) {
        write_bytes(bad, data, cut);
        int rc = sp_embedder_load(&e, bad, model);
        ck_assert_msg(rc == SP_ERR_FORMAT, "truncated to %zu of %zu bytes: status %d (%s)", cut, length, rc,
                      sp_last_error());
        ck_assert_ptr_null(e);
    }
    for (size_t at = 0; at < length; at += at < 256 ? 1 : stride, flips++) {
        data[at] ^= (char)(1u << (at % 8));
        write_bytes(bad, data, length);
        int rc = sp_embedder_load(&e, bad, model);
        ck_assert_msg(rc == SP_ERR_FORMAT || (rc == SP_ERR_VERSION && at < 16),
                      "bit %zu of byte %zu of %zu flipped: status %d (%s)", at % 8, at, length, rc, sp_last_error());
        ck_assert_ptr_null(e);
        data[at] ^= (char)(1u << (at % 8));
    }
    ck_assert_int_gt(cuts, 256);
    ck_assert_int_gt(flips, 256);
    /* A byte appended: not the file that was written either. */
    char *longer = malloc(length + 1);
    memcpy(longer, data, length);
    longer[length] = 0;
    write_bytes(bad, longer, length + 1);
    ck_assert_int_eq(sp_embedder_load(&e, bad, model), SP_ERR_FORMAT);
    /* The untouched bytes still load. */
    write_bytes(bad, data, length);
    ck_assert_int_eq(sp_embedder_load(&e, bad, model), SP_OK);
    sp_embedder_free(e);
    remove(bad);
    free(longer);
    free(data);
}

START_TEST(corrupted_files_are_refused)
{
    open_bench(6, 12, 11);
    char path[128];
    sp_embedder *learned = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, 3, 1);
    snprintf(path, sizeof path, "%s/corrupt-learned.spe", tmpdir);
    ck_assert_int_eq(sp_embedder_save(learned, path), SP_OK);
    corruptions_are_refused(path, m);
    nan_in_learned_file_is_refused(path, m);
    sp_embedder *raw = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 3, 1);
    snprintf(path, sizeof path, "%s/corrupt-raw.spe", tmpdir);
    ck_assert_int_eq(sp_embedder_save(raw, path), SP_OK);
    corruptions_are_refused(path, NULL);
    /* Not an embedder file at all: a PCA file. */
    snprintf(path, sizeof path, "%s/not-an-embedder.spp", tmpdir);
    ck_assert_int_eq(sp_pca_save(sp_embedder_pca(raw), path), SP_OK);
    sp_embedder *e = NULL;
    ck_assert_int_eq(sp_embedder_load(&e, path, NULL), SP_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/missing.spe", tmpdir);
    ck_assert_int_eq(sp_embedder_load(&e, path, NULL), SP_ERR_IO);
    sp_embedder_free(raw);
    sp_embedder_free(learned);
    close_bench();
}
END_TEST

/* A save that cannot finish leaves no file: not at the path, not under a
 * temporary name next to it. */
START_TEST(failed_save_leaves_no_file)
{
    open_bench(0, 10, 12);
    sp_embedder *e = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 3, 1);
    char dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/save-failures", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/no-such-dir/e.spe", dir);
    ck_assert_int_eq(sp_embedder_save(e, path), SP_ERR_IO);
    struct stat st;
    ck_assert_int_ne(stat(path, &st), 0);
    /* The target is a directory: the rename fails after the temporary file was written. */
    snprintf(path, sizeof path, "%s/taken", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_ne(sp_embedder_save(e, path), SP_OK);
    ck_assert_int_eq(entries_in(dir), 1);
    sp_embedder_free(e);
    close_bench();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Retrieval */

START_TEST(retriever_refuses_another_embedders_queries)
{
    open_bench(7, 16, 13);
    sp_embedder *raw = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, DIM, 1);
    sp_embedder *learned = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1);
    ck_assert_uint_ne(sp_embedder_id(raw), sp_embedder_id(learned));
    float *keys = malloc(n * DIM * sizeof *keys), *queries = malloc(n * DIM * sizeof *queries);
    uint32_t *games = malloc(n * sizeof *games);
    ck_assert_int_eq(sp_embedder_embed_positions(learned, ds, pos, n, keys, games), SP_OK);
    ck_assert_int_eq(sp_embedder_embed_positions(raw, ds, pos, n, queries, NULL), SP_OK);
    sp_retriever_options o = SP_RETRIEVER_OPTIONS_INIT;
    o.factory = "Flat";
    o.halves = 1;
    o.threads = 1;
    o.embedder_id = sp_embedder_id(learned);
    sp_retriever *r = NULL;
    ck_assert_int_eq(sp_retriever_build(&r, keys, pos, games, n, DIM, &o), SP_OK);
    ck_assert_uint_eq(sp_retriever_embedder_id(r), sp_embedder_id(learned));
    uint64_t ids[3];
    float dist[3];
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = sp_embedder_id(learned);
    ck_assert_int_eq(sp_retriever_search(r, keys, 1, DIM, 3, &q, ids, dist, NULL), SP_OK);
    ck_assert_float_le(dist[0], 1e-6f);  /* its own key (or an equal position's) is its nearest */
    /* The raw keys have the same dimension; only the id tells them apart. */
    q.embedder_id = sp_embedder_id(raw);
    ck_assert_int_eq(sp_retriever_search(r, queries, 1, DIM, 3, &q, ids, NULL, NULL), SP_ERR_MISUSE);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "embedder"));
    /* Learned embedders of two models are two embedders as well. */
    sp_model *other = tiny_model(8);
    sp_embedder *learned2 = fit(other, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1);
    ck_assert_uint_ne(sp_embedder_id(learned2), sp_embedder_id(learned));
    q.embedder_id = sp_embedder_id(learned2);
    ck_assert_int_eq(sp_retriever_search(r, keys, 1, DIM, 3, &q, ids, NULL, NULL), SP_ERR_MISUSE);
    /* So are two layers of one model. */
    sp_model_layer layer = SP_MODEL_LAYER_INIT;
    ck_assert_int_eq(sp_model_layer_info(m, 1, &layer), SP_OK);
    if (layer.size >= DIM) {
        sp_embedder *other_layer = fit(m, ds, SP_EMBEDDER_LEARNED, layer.name, DIM, 1);
        ck_assert_uint_ne(sp_embedder_id(other_layer), sp_embedder_id(learned));
        sp_embedder_free(other_layer);
    }
    sp_embedder_free(learned2);
    sp_model_free(other);
    sp_retriever_free(r);
    free(games);
    free(queries);
    free(keys);
    sp_embedder_free(learned);
    sp_embedder_free(raw);
    close_bench();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Arguments */

static int fit_with(sp_model *model, const sp_dataset *data, const sp_embedder_options *o)
{
    sp_embedder *e = (sp_embedder *)1;
    int rc = sp_embedder_fit(&e, model, data, o);
    ck_assert_ptr_null(e);
    if (rc != SP_OK)
        ck_assert_str_ne(sp_last_error(), "");
    return rc;
}

START_TEST(bad_arguments_are_refused)
{
    open_bench(9, 10, 14);
    sp_dataset *ds9 = random_dataset(9, 3, 15);
    sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, 4, 1);
    sp_embedder *raw = fit(NULL, ds, SP_EMBEDDER_RAW, NULL, 4, 1);
    float keys[4 * 4];

    /* Options. */
    sp_embedder_options o;
    ck_assert_int_eq(sp_embedder_options_init(NULL, SP_EMBEDDER_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_options_init(&o, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_options_init(&o, SP_EMBEDDER_OPTIONS_VERSION + 1), SP_ERR_VERSION);
    ck_assert_int_eq(sp_embedder_options_init(&o, SP_EMBEDDER_OPTIONS_VERSION), SP_OK);
    sp_embedder_options defaults = SP_EMBEDDER_OPTIONS_INIT;
    ck_assert_mem_eq(&o, &defaults, sizeof o);

    /* Fit. */
    o = options(SP_EMBEDDER_LEARNED, NULL, 4, 1);
    ck_assert_int_eq(sp_embedder_fit(NULL, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(fit_with(m, NULL, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(fit_with(NULL, ds, &o), SP_ERR_INVALID_ARG);  /* learned without a model */
    ck_assert_int_eq(fit_with(NULL, ds, NULL), SP_ERR_INVALID_ARG);  /* the default is learned */
    ck_assert_int_eq(fit_with(m, ds9, &o), SP_ERR_INVALID_ARG);      /* board 9 against the model's 5 */
    o.layer = "no.such.layer";
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "no.such.layer"));
    o.layer = NULL;
    o.dim = 0;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    sp_model_layer repr = SP_MODEL_LAYER_INIT;
    ck_assert_int_eq(sp_model_layer_info(m, 0, &repr), SP_OK);
    o.dim = (uint32_t)repr.size + 1;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.dim = 4;
    o.kind = 2;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.kind = -1;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.kind = SP_EMBEDDER_LEARNED;
    o.sample = 0;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.sample = ALL_POSITIONS;
    o.batch = 0;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.batch = 7;
    o.version = 0;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);
    o.version = SP_EMBEDDER_OPTIONS_VERSION + 1;
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_VERSION);
    o = options(SP_EMBEDDER_RAW, NULL, 4, 1);
    ck_assert_int_eq(fit_with(m, ds, &o), SP_ERR_INVALID_ARG);  /* a model given to a raw embedder */
    o.history = 0;
    ck_assert_int_eq(fit_with(NULL, ds, &o), SP_ERR_INVALID_ARG);
    o.history = 17;
    ck_assert_int_eq(fit_with(NULL, ds, &o), SP_ERR_INVALID_ARG);
    o.history = HISTORY;
    o.dim = planes_per_position() + 1;
    ck_assert_int_eq(fit_with(NULL, ds, &o), SP_ERR_INVALID_ARG);

    /* From a PCA. */
    const sp_pca *pca = sp_embedder_pca(raw);
    sp_embedder *x = (sp_embedder *)1;
    ck_assert_int_eq(sp_embedder_from_pca(NULL, pca, SIZE, HISTORY), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, NULL, SIZE, HISTORY), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(x);
    ck_assert_int_eq(sp_embedder_from_pca(&x, pca, 9, HISTORY), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, pca, SIZE, HISTORY + 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, pca, 1, HISTORY), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, pca, SIZE, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, pca, SIZE, 17), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_from_pca(&x, sp_embedder_pca(e), SIZE, HISTORY), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(x);

    /* Queries of NULL. */
    sp_embedder_free(NULL);
    ck_assert_uint_eq(sp_embedder_id(NULL), 0);
    ck_assert_uint_eq(sp_embedder_dim(NULL), 0);
    ck_assert_ptr_null(sp_embedder_pca(NULL));
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    ck_assert_int_eq(sp_embedder_describe(NULL, &info), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_describe(e, NULL), SP_ERR_INVALID_ARG);
    info.version = 0;
    ck_assert_int_eq(sp_embedder_describe(e, &info), SP_ERR_INVALID_ARG);
    info.version = SP_EMBEDDER_INFO_VERSION + 1;
    ck_assert_int_eq(sp_embedder_describe(e, &info), SP_ERR_VERSION);

    /* Embedding. */
    ck_assert_int_eq(sp_embedder_embed_planes(NULL, planes, 1, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_planes(e, NULL, 1, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, 1, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, 0, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_planes(e, planes, (1ull << 31) + 1, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_planes(raw, planes, (1ull << 31) + 1, keys), SP_ERR_INVALID_ARG);
    sp_game_options go;
    ck_assert_int_eq(sp_game_options_init(&go, SP_GAME_OPTIONS_VERSION), SP_OK);
    go.board_size = SIZE;
    sp_game *g5, *g9;
    ck_assert_int_eq(sp_game_create(&g5, &go), SP_OK);
    ck_assert_int_eq(sp_game_create(&g9, NULL), SP_OK);
    const sp_game *good[2] = { g5, g5 }, *mixed[2] = { g5, g9 }, *holes[2] = { g5, NULL };
    ck_assert_int_eq(sp_embedder_embed_games(e, good, 2, keys), SP_OK);
    ck_assert_int_eq(sp_embedder_embed_games(NULL, good, 2, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(e, NULL, 2, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(e, good, 2, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(e, good, 0, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(e, mixed, 2, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(raw, mixed, 2, keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_games(e, holes, 2, keys), SP_ERR_INVALID_ARG);
    uint64_t bad_pos[2] = { 0, sp_dataset_position_count(ds) };
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, 2, keys, NULL), SP_OK);
    ck_assert_int_eq(sp_embedder_embed_positions(NULL, ds, pos, 2, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(e, NULL, pos, 2, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, NULL, 2, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, 2, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, pos, 0, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds, bad_pos, 2, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(raw, ds, bad_pos, 2, keys, NULL), SP_ERR_INVALID_ARG);
    uint64_t first = 0;
    ck_assert_int_eq(sp_embedder_embed_positions(e, ds9, &first, 1, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_embed_positions(raw, ds9, &first, 1, keys, NULL), SP_ERR_INVALID_ARG);

    /* Files. */
    char path[128];
    snprintf(path, sizeof path, "%s/args.spe", tmpdir);
    ck_assert_int_eq(sp_embedder_save(NULL, path), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_save(e, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_embedder_save(e, path), SP_OK);
    ck_assert_int_eq(sp_embedder_load(NULL, path, m), SP_ERR_INVALID_ARG);
    x = (sp_embedder *)1;
    ck_assert_int_eq(sp_embedder_load(&x, NULL, m), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(x);

    /* The PCA's. */
    float mean[1];
    sp_pca *p = (sp_pca *)1;
    ck_assert_int_eq(sp_pca_train(&p, NULL, 4, 4, 2, 1), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(sp_pca_train(NULL, planes, 4, planes_per_position(), 2, 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_train(&p, planes, 4, planes_per_position(), 0, 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_train(&p, planes, 4, planes_per_position(), planes_per_position() + 1, 1),
                     SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_train(&p, planes, 0, planes_per_position(), 2, 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_apply(NULL, planes, 1, planes_per_position(), keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_apply(pca, NULL, 1, planes_per_position(), keys), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_apply(pca, planes, 1, planes_per_position(), NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_apply(pca, planes, 1, planes_per_position() + 1, keys), SP_ERR_INVALID_ARG);
    ck_assert_uint_eq(sp_pca_dim_in(NULL), 0);
    ck_assert_uint_eq(sp_pca_dim_out(NULL), 0);
    ck_assert_uint_eq(sp_pca_id(NULL), 0);
    ck_assert_int_eq(sp_pca_components(NULL, mean, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_components(pca, NULL, NULL), SP_OK);
    ck_assert_int_eq(sp_pca_save(NULL, path), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_save(pca, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_load(NULL, path), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_load(&p, NULL), SP_ERR_INVALID_ARG);
    size_t cap = (size_t)2 * planes_per_position();
    ck_assert_int_eq(sp_pca_position_planes(NULL, pos, 2, HISTORY, planes, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, NULL, 2, HISTORY, planes, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, pos, 2, HISTORY, NULL, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, pos, 2, 0, planes, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, pos, 2, 17, planes, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, bad_pos, 2, HISTORY, planes, cap, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_planes(ds, pos, 2, HISTORY, planes, cap - 1, NULL), SP_ERR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(sp_pca_position_keys(NULL, ds, pos, 2, HISTORY, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_keys(pca, NULL, pos, 2, HISTORY, keys, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_keys(pca, ds, pos, 2, HISTORY, NULL, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_pca_position_keys(pca, ds, pos, 2, HISTORY + 1, keys, NULL), SP_ERR_INVALID_ARG);

    sp_game_free(g5);
    sp_game_free(g9);
    sp_embedder_free(raw);
    sp_embedder_free(e);
    sp_dataset_free(ds9);
    close_bench();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Threads */

typedef struct embed_job {
    const sp_embedder *e;
    const float *planes;
    uint64_t n;
    const float *want;
    int failures, mismatches;
} embed_job;

static void *embed_main(void *arg)
{
    embed_job *job = arg;
    uint32_t d = sp_embedder_dim(job->e);
    float *keys = malloc((size_t)job->n * d * sizeof *keys);
    for (int round = 0; round < 20; round++) {
        if (sp_embedder_embed_planes(job->e, job->planes, job->n, keys) != SP_OK)
            job->failures++;
        else if (memcmp(keys, job->want, (size_t)job->n * d * sizeof *keys) != 0)
            job->mismatches++;
    }
    free(keys);
    return NULL;
}

START_TEST(two_threads_embed_at_once)
{
    open_bench(10, 16, 16);
    sp_embedder *e = fit(m, ds, SP_EMBEDDER_LEARNED, NULL, DIM, 1);
    /* Two different halves of the positions, each thread its own. */
    uint64_t half = n / 2;
    float *want[2];
    embed_job jobs[2];
    for (int t = 0; t < 2; t++) {
        want[t] = malloc(half * DIM * sizeof(float));
        const float *p = planes + (size_t)t * half * planes_per_position();
        ck_assert_int_eq(sp_embedder_embed_planes(e, p, half, want[t]), SP_OK);
        jobs[t] = (embed_job){ e, p, half, want[t], 0, 0 };
    }
    ck_assert(memcmp(want[0], want[1], half * DIM * sizeof(float)) != 0);
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, embed_main, &jobs[t]), 0);
    for (int t = 0; t < 2; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].failures == 0 && jobs[t].mismatches == 0, "thread %d: %d failures, %d mismatches", t,
                      jobs[t].failures, jobs[t].mismatches);
    }
    for (int t = 0; t < 2; t++)
        free(want[t]);
    sp_embedder_free(e);
    close_bench();
}
END_TEST

int main(void)
{
    /* One directory for the whole run, made before the tests fork and removed at the end. */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp_test_embed_XXXXXX");
    if (!mkdtemp(tmpdir))
        return EXIT_FAILURE;
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("embed");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, learned_keys_are_the_layer_through_the_pca);
    tcase_add_test(tc, learned_pca_is_a_pca_of_the_activations);
    tcase_add_test(tc, direct_fit_is_faiss_pca_and_the_naive_eigenvectors);
    tcase_add_test(tc, direct_fit_refuses_bad_arguments);
    tcase_add_test(tc, raw_keys_are_the_pca_of_the_planes);
    tcase_add_test(tc, planes_games_and_positions_agree);
    tcase_add_test(tc, fitting_and_embedding_can_be_cancelled);
    tcase_add_test(tc, a_trainer_holding_the_model_refuses_embedding);
    tcase_add_test(tc, save_load_round_trip_is_identical);
    tcase_add_test(tc, corrupted_files_are_refused);
    tcase_add_test(tc, compact_pca_is_the_projection_and_refuses_damaged_bytes);
    tcase_add_test(tc, faiss_pca_bytes_are_refused_or_read_whole);
    tcase_add_test(tc, failed_save_leaves_no_file);
    tcase_add_test(tc, retriever_refuses_another_embedders_queries);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, two_threads_embed_at_once);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_embed: could not remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
