/* Data-parallel training (dist.h) under mpirun (tests/dist/run-mpi.sh): R
 * ranks with global batch B track one rank with batch B in R micro-batches
 * (the same computation: per-replica batch norm) step by step, loss within
 * 1e-4 relative, and end with the same network; how far plain one-rank
 * batch B (one slice: batch statistics over all B rows) is from them is
 * printed; a checkpoint written by R ranks resumes on one rank and on R
 * ranks and continues the uninterrupted stream; the weights start from rank
 * 0's; bad arguments fail on every rank. Plain C, as test_dist.c; dist.h
 * first: it compiles alone. */
#include "semiparam/dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist_check.h"
#include "semiparam.h"


enum { STEPS = 20, HALF = 10, BATCH = 12, UNROLL = 2 };

static char dir[256]; /* rank 0's temporary directory, its name on every rank */

/* The same games on every rank: random legal moves from a fixed seed. */
static sp_dataset *make_dataset(void)
{
    sp_dataset *ds;
    sp_game *g;
    sp_rng *rng;
    if (sp_dataset_create(&ds, 9) || sp_game_create(&g, NULL) || sp_rng_create(&rng, 21))
        abort();
    static const char *results[3] = { "B+R", "W+R", "0" };
    for (int i = 0; i < 20; i++) {
        sp_game_clear(g);
        for (int m = 0; m < 10 + i % 15; m++) {
            int move;
            if (sp_game_random_move(g, rng, &move) || sp_game_play(g, move))
                abort();
        }
        sp_game_set_info(g, "RE", results[i % 3]);
        if (sp_dataset_add_game(ds, g, "test", 1, NULL))
            abort();
    }
    sp_rng_free(rng);
    sp_game_free(g);
    return ds;
}

/* A tiny network on one thread (bitwise-reproducible reductions). */
static sp_model *tiny_model(uint64_t seed)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    o.history = 2;
    o.channels = 8;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.value_hidden = 8;
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.threads = 1;
    nn.seed = seed;
    sp_model *m = NULL;
    if (sp_model_create(&m, &o, &nn) != SP_OK) {
        fprintf(stderr, "rank %d: %s\n", my_rank, sp_last_error());
        abort();
    }
    return m;
}

static sp_trainer_options options(int micro_batches)
{
    sp_trainer_options o;
    sp_trainer_options_init(&o, SP_TRAINER_OPTIONS_VERSION);
    o.batch_size = BATCH;
    o.unroll = UNROLL;
    o.test_fraction = 0.2f;
    o.seed = 5;
    o.learning_rate = 0.02;
    o.warmup_steps = 2;
    o.total_steps = STEPS;
    o.clip_norm = 5;
    o.micro_batches = micro_batches;
    return o;
}

/* One rank alone: `steps` losses of a fresh trainer, resumed from `from`
 * first when given. */
static void run_alone(const sp_dataset *ds, uint64_t seed, int micro_batches, const char *from, int steps,
                      double *loss, sp_model **keep)
{
    sp_model *m = tiny_model(seed);
    sp_trainer_options o = options(micro_batches);
    sp_trainer *t = NULL;
    CHECK(sp_trainer_create(&t, m, ds, &o) == SP_OK, "trainer");
    if (from)
        CHECK(sp_trainer_resume(t, from) == SP_OK, "resume %s on one rank", from);
    for (int s = 0; s < steps; s++) {
        sp_train_stats st = SP_TRAIN_STATS_INIT;
        CHECK(sp_trainer_run(t, 1, &st) == SP_OK, "step %d", s);
        loss[s] = st.loss;
    }
    sp_trainer_free(t);
    if (keep)
        *keep = m;
    else
        sp_model_free(m);
}

static double worst_relative(const double *a, const double *b, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / fabs(b[i]);
        worst = e > worst ? e : worst;
    }
    return worst;
}

/* The two models' initial inference on the same fixed observations: the
 * largest difference of a logit or value, relative to the largest one. */
static double network_gap(sp_model *a, sp_model *b)
{
    enum { N = 4, PLANES = 2 * 2 + 2, AREA = 81 };
    static float planes[N * PLANES * AREA], la[N * 82], lb[N * 82], va[N], vb[N];
    for (int i = 0; i < N * PLANES * AREA; i++)
        planes[i] = (float)((i * 7919) % 3 == 0);
    CHECK(sp_model_initial(a, planes, N, NULL, la, va) == SP_OK, "inference");
    CHECK(sp_model_initial(b, planes, N, NULL, lb, vb) == SP_OK, "inference");
    double gap = 0, scale = 1e-6;
    for (int i = 0; i < N * 82; i++) {
        gap = fmax(gap, fabs(la[i] - lb[i]));
        scale = fmax(scale, fabs(lb[i]));
    }
    for (int i = 0; i < N; i++)
        gap = fmax(gap, fabs(va[i] - vb[i]));
    return gap / scale;
}

/* Whether every rank holds the same model: rank 0's outputs against each one's. */
static int same_network_everywhere(sp_model *m)
{
    enum { N = 2, FLOATS = N * 82 };
    static float planes[N * 6 * 81], logits[FLOATS], lo[FLOATS], hi[FLOATS];
    for (int i = 0; i < N * 6 * 81; i++)
        planes[i] = (float)(i % 5 == 0);
    CHECK(sp_model_initial(m, planes, N, NULL, logits, NULL) == SP_OK, "inference");
    MPI_Allreduce(logits, lo, FLOATS, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(logits, hi, FLOATS, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
    return memcmp(lo, hi, sizeof lo) == 0;
}

/* R ranks against one rank with R micro-batches over STEPS steps; then the
 * checkpoint of step HALF resumed on one rank and on R ranks. */
static void test_tracking_and_resume(const sp_dataset *ds, int size)
{
    double ref[STEPS], plain[STEPS], dist[STEPS], again[HALF], alone[HALF];
    sp_model *ref_model;
    run_alone(ds, 100, size, NULL, STEPS, ref, &ref_model);
    run_alone(ds, 100, 1, NULL, STEPS, plain, NULL);

    /* Each rank's model from its own seed: the start is rank 0's (the
     * references' seed), broadcast. */
    sp_model *m = tiny_model(100 + (uint64_t)my_rank);
    sp_trainer_options o = options(1);
    sp_dist_trainer *d = NULL;
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o) == SP_OK, "create");
    char path[300];
    snprintf(path, sizeof path, "%s/half.spm", dir);
    for (int s = 0; s < STEPS && d; s++) {
        sp_train_stats st = SP_TRAIN_STATS_INIT;
        CHECK(sp_dist_trainer_run(d, 1, &st) == SP_OK, "step %d", s);
        CHECK(st.step == s + 1 && st.positions == (uint64_t)(s + 1) * BATCH, "step %lld positions %llu",
              (long long)st.step, (unsigned long long)st.positions);
        dist[s] = st.loss;
        if (s + 1 == HALF)
            CHECK(sp_dist_trainer_save(d, path) == SP_OK, "save");
    }
    sp_dist_trainer_free(d);
    double worst = worst_relative(dist, ref, STEPS), plain_gap = worst_relative(plain, ref, STEPS);
    double net = network_gap(m, ref_model);
    CHECK(same_network_everywhere(m), "the ranks' models differ after training");
    CHECK(worst <= 1e-4, "%d ranks vs 1 rank x %d micro-batches: loss differs by %g (relative)", size, size, worst);
    CHECK(net <= 1e-3, "%d ranks vs 1 rank x %d micro-batches: the networks differ by %g", size, size, net);
    if (my_rank == 0)
        printf("%d ranks, batch %d, %d steps: loss within %.2g (relative) of 1 rank x %d micro-batches, "
               "outputs within %.2g; plain 1 rank batch %d (batch statistics over all rows) is %.2g away\n",
               size, BATCH, STEPS, worst, size, net, BATCH, plain_gap);

    /* The checkpoint of R ranks on one rank, micro_batches R: the stream goes on. */
    if (my_rank == 0) {
        run_alone(ds, 7, size, path, HALF, alone, NULL);
        double e = worst_relative(alone, ref + HALF, HALF);
        CHECK(e <= 1e-4, "checkpoint of %d ranks resumed on one: loss differs by %g", size, e);
        printf("checkpoint of %d ranks at step %d resumed on 1 rank: steps %d..%d within %.2g\n", size, HALF,
               HALF + 1, STEPS, e);
    }
    /* ... and on R ranks again, each model from yet another seed. */
    sp_model *m2 = tiny_model(200 + (uint64_t)my_rank);
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m2, ds, &o) == SP_OK, "create");
    CHECK(sp_dist_trainer_resume(d, path) == SP_OK, "resume");
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    CHECK(sp_dist_trainer_get_stats(d, &st) == SP_OK && st.step == HALF, "step after resume %lld",
          (long long)st.step);
    for (int s = 0; s < HALF && d; s++) {
        CHECK(sp_dist_trainer_run(d, 1, &st) == SP_OK, "step %d after resume", s);
        again[s] = st.loss;
    }
    double e = worst_relative(again, ref + HALF, HALF);
    CHECK(e <= 1e-4, "resumed on %d ranks: loss differs by %g", size, e);
    sp_dist_trainer_free(d);
    CHECK(network_gap(m2, ref_model) <= 1e-3, "resumed run's network");
    sp_model_free(m2);
    sp_model_free(m);
    sp_model_free(ref_model);
}

/* The bytes of a step's allreduce: every parameter and running statistic,
 * the loss figures and a status per rank, 4 bytes each. */
static void test_step_bytes(const sp_dataset *ds, int size)
{
    sp_model *m = tiny_model(7);
    sp_model_info info = SP_MODEL_INFO_INIT;
    CHECK(sp_model_describe(m, &info) == SP_OK, "describe");
    sp_trainer_options o = options(1);
    sp_dist_trainer *d = NULL;
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o) == SP_OK, "create");
    /* The loss figures: the total, policy and value per unroll step, the neighbour regulariser. */
    uint64_t bytes = sp_dist_trainer_step_bytes(d), figures = 2 + 2 * (UNROLL + 1) + (uint64_t)size;
    CHECK(bytes % 4 == 0 && bytes / 4 > info.parameters + figures, "step bytes %llu", (unsigned long long)bytes);
    /* What is left are the running statistics: a mean and a variance per
     * normalised channel, fewer than the trained parameters. */
    uint64_t stats = bytes / 4 - info.parameters - figures;
    CHECK(stats % 2 == 0 && stats < info.parameters, "%llu running statistics", (unsigned long long)stats);
    if (my_rank == 0)
        printf("step exchange: %llu bytes = 4 x (%llu parameters + %llu running statistics + %llu losses and "
               "statuses)\n", (unsigned long long)bytes, (unsigned long long)info.parameters,
               (unsigned long long)stats, (unsigned long long)figures);
    sp_dist_trainer_free(d);
    sp_model_free(m);
}

/* Each bad argument, on one rank or all, fails the call on every rank. */
static void test_errors(const sp_dataset *ds, int size)
{
    sp_model *m = tiny_model(7);
    sp_trainer_options o = options(1);
    sp_dist_trainer *d = (sp_dist_trainer *)1;
    CHECK(sp_dist_trainer_create(NULL, MPI_COMM_WORLD, m, ds, &o) == SP_ERR_INVALID_ARG, "NULL out");
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_NULL, m, ds, &o) == SP_ERR_INVALID_ARG && !d, "MPI_COMM_NULL");
    /* A batch that does not split into the ranks. */
    o.batch_size = BATCH + 1;
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o) == SP_ERR_INVALID_ARG && !d, "batch %d",
          o.batch_size);
    CHECK(strstr(sp_last_error(), "batch_size") != NULL, "message names batch_size");
    o.batch_size = BATCH;
    /* Another seed on the last rank: all refuse. */
    o.seed = my_rank == size - 1 ? 6 : 5;
    int rc = sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o);
    CHECK(rc == SP_ERR_INVALID_ARG && !d && strstr(sp_last_error(), "seed"), "seeds differ: %d", rc);
    o.seed = 5;
    /* A NULL model on rank 0 only: the others fail with MISUSE naming it. */
    rc = sp_dist_trainer_create(&d, MPI_COMM_WORLD, my_rank ? m : NULL, ds, &o);
    CHECK(!d && rc == (my_rank ? SP_ERR_MISUSE : SP_ERR_INVALID_ARG), "NULL model on rank 0: %d", rc);
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o) == SP_OK, "create");
    CHECK(sp_dist_trainer_run(d, 0, NULL) == SP_ERR_INVALID_ARG, "0 steps");
    rc = sp_dist_trainer_run(d, my_rank ? 2 : 1, NULL);
    CHECK(rc == SP_ERR_INVALID_ARG, "different step counts: %d", rc);
    sp_train_stats bad = SP_TRAIN_STATS_INIT;
    bad.version = 99;
    CHECK(sp_dist_trainer_run(d, 1, my_rank == size - 1 ? &bad : NULL) != SP_OK, "stats of a future version");
    CHECK(sp_dist_trainer_save(d, my_rank == size - 1 ? NULL : "x.spm") != SP_OK, "NULL path on one rank");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.spm", dir);
    rc = sp_dist_trainer_resume(d, missing);
    CHECK(rc == (my_rank ? SP_ERR_MISUSE : SP_ERR_IO), "missing checkpoint: %d", rc);
    /* A checkpoint of another batch size: refused by every rank, nothing changed. */
    char other[300];
    snprintf(other, sizeof other, "%s/other.spm", dir);
    if (my_rank == 0) {
        sp_model *m1 = tiny_model(7);
        sp_trainer_options o1 = options(1);
        o1.batch_size = 2 * BATCH;
        sp_trainer *t;
        CHECK(sp_trainer_create(&t, m1, ds, &o1) == SP_OK && sp_trainer_run(t, 1, NULL) == SP_OK &&
                  sp_trainer_save(t, other) == SP_OK, "the other checkpoint");
        sp_trainer_free(t);
        sp_model_free(m1);
    }
    rc = sp_dist_trainer_resume(d, other);
    CHECK(rc == SP_ERR_FORMAT && strstr(sp_last_error(), "batch_size"), "checkpoint of another batch: %d", rc);
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    CHECK(sp_dist_trainer_get_stats(d, &st) == SP_OK && st.step == 0, "step %lld after refusals", (long long)st.step);
    CHECK(sp_dist_trainer_run(d, 2, &st) == SP_OK && st.step == 2, "runs after the refusals");
    CHECK(sp_dist_trainer_run(NULL, 1, NULL) == SP_ERR_INVALID_ARG, "NULL trainer");
    CHECK(sp_dist_trainer_get_stats(NULL, &st) == SP_ERR_INVALID_ARG, "NULL trainer");
    CHECK(sp_dist_trainer_save(NULL, "x") == SP_ERR_INVALID_ARG, "NULL trainer");
    CHECK(sp_dist_trainer_resume(NULL, "x") == SP_ERR_INVALID_ARG, "NULL trainer");
    CHECK(sp_dist_trainer_step_bytes(NULL) == 0, "NULL trainer");
    sp_dist_trainer_free(NULL);
    sp_dist_trainer_free(d);
    sp_model_free(m);
}

/* A progress callback stopping on one rank stops all after the same step. */
static int stop_at_two(const char *task, uint64_t done, uint64_t total, void *payload)
{
    (void)task;
    (void)total;
    return *(int *)payload && done == 2;
}

static void test_cancel(const sp_dataset *ds, int size)
{
    sp_model *m = tiny_model(7);
    int mine = my_rank == size - 1;
    sp_trainer_options o = options(1);
    o.progress = stop_at_two;
    o.progress_payload = &mine;
    sp_dist_trainer *d = NULL;
    CHECK(sp_dist_trainer_create(&d, MPI_COMM_WORLD, m, ds, &o) == SP_OK, "create");
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    CHECK(sp_dist_trainer_run(d, 5, &st) == SP_ERR_CANCELLED && st.step == 2, "stopped at step %lld",
          (long long)st.step);
    sp_dist_trainer_free(d);
    sp_model_free(m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (my_rank == 0) {
        snprintf(dir, sizeof dir, "/tmp/sp_test_dist_train.XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    sp_dataset *ds = make_dataset();
    test_tracking_and_resume(ds, size);
    test_step_bytes(ds, size);
    test_errors(ds, size);
    test_cancel(ds, size);
    sp_dataset_free(ds);
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (my_rank == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        printf("%s: %d failed checks over %d ranks\n", all ? "FAIL" : "ok", all, size);
    }
    MPI_Finalize();
    return all ? 1 : 0;
}
