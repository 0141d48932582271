/* The trainer and the evaluation (train.h) on a tiny network over games
 * built here from the go module: the loss falls; a run saved and resumed
 * ends bitwise where an uninterrupted one does; checkpoints refuse another
 * architecture or other batch options and load as models; the optimizers
 * and schedules run; every argument is checked; the evaluation's metrics
 * and floors against naive re-computations. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "data/data_internal.h"
#include "model/model_internal.h"
#include "semiparam.h"
#include "train/train_internal.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* `games` games of random legal moves (seeded), 10 to 10 + spread moves
 * each; results alternate B+R / W+R / draw every third game, and ratings
 * run 1800 + 100 * (g % 5) for Black, 2000 for White. */
static sp_dataset *make_dataset(int games, int spread, uint64_t seed)
{
    sp_dataset *ds;
    ck_assert_int_eq(sp_dataset_create(&ds, 9), SP_OK);
    sp_game *g;
    ck_assert_int_eq(sp_game_create(&g, NULL), SP_OK);
    sp_rng *rng;
    ck_assert_int_eq(sp_rng_create(&rng, seed), SP_OK);
    static const char *results[3] = { "B+R", "W+R", "0" };
    for (int i = 0; i < games; i++) {
        sp_game_clear(g);
        int moves = 10 + (spread ? i % spread : 0);
        for (int m = 0; m < moves; m++) {
            int move;
            ck_assert_int_eq(sp_game_random_move(g, rng, &move), SP_OK);
            ck_assert_int_eq(sp_game_play(g, move), SP_OK);
        }
        char rating[16];
        sp_game_set_info(g, "RE", results[i % 3]);
        snprintf(rating, sizeof rating, "%d", 1800 + 100 * (i % 5));
        sp_game_set_info(g, "BR", rating);
        sp_game_set_info(g, "WR", "2000");
        ck_assert_int_eq(sp_dataset_add_game(ds, g, "test", 1, NULL), SP_OK);
    }
    sp_rng_free(rng);
    sp_game_free(g);
    return ds;
}

static sp_model_options tiny_options(int channels)
{
    sp_model_options o;
    ck_assert_int_eq(sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION), SP_OK);
    o.history = 2;
    o.channels = channels;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.value_hidden = 8;
    return o;
}

static sp_model *tiny_model(int channels, uint64_t seed)
{
    sp_model_options o = tiny_options(channels);
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.threads = 1; /* one thread: bitwise-reproducible reductions */
    nn.seed = seed;
    sp_model *m;
    ck_assert_msg(sp_model_create(&m, &o, &nn) == SP_OK, "%s", sp_last_error());
    return m;
}

static sp_trainer_options small_trainer(void)
{
    sp_trainer_options o;
    ck_assert_int_eq(sp_trainer_options_init(&o, SP_TRAINER_OPTIONS_VERSION), SP_OK);
    o.batch_size = 16;
    o.unroll = 2;
    o.test_fraction = 0.2f;
    o.seed = 5;
    return o;
}

/* Every parameter value of a model, in store order. */
static float *model_values(const sp_model *m, size_t *count)
{
    const sp__params *ps = &m->net.ps;
    size_t total = 0;
    for (size_t i = 0; i < ps->count; i++)
        total += ps->items[i]->count;
    float *v = malloc(total * sizeof *v), *at = v;
    for (size_t i = 0; i < ps->count; i++) {
        ck_assert_int_eq(sp__param_read(ps->items[i], at), SP_OK);
        at += ps->items[i]->count;
    }
    *count = total;
    return v;
}

START_TEST(options_defaults_and_versions)
{
    sp_trainer_options o, want = SP_TRAINER_OPTIONS_INIT;
    ck_assert_int_eq(sp_trainer_options_init(&o, SP_TRAINER_OPTIONS_VERSION), SP_OK);
    ck_assert_int_eq(o.batch_size, 256);
    ck_assert_int_eq(o.unroll, 5);
    ck_assert_int_eq(o.optimizer, SP_OPTIMIZER_SGD);
    ck_assert_int_eq(o.schedule, SP_SCHEDULE_COSINE);
    ck_assert(o.learning_rate == want.learning_rate && o.weight_decay == 1e-4 && o.test_fraction == 0.05f);
    ck_assert_uint_eq(o.split_seed, 1);
    ck_assert_int_eq(o.threads, 1);
    ck_assert_int_eq(sp_trainer_options_init(NULL, SP_TRAINER_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_options_init(&o, 0), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_options_init(&o, SP_TRAINER_OPTIONS_VERSION + 1), SP_ERR_VERSION);
    /* Static: its padding is zero, as the library's defaults' is (the bytes are compared). */
    static const sp_eval_options ewant = SP_EVAL_OPTIONS_INIT;
    sp_eval_options e;
    ck_assert_int_eq(sp_eval_options_init(&e, SP_EVAL_OPTIONS_VERSION), SP_OK);
    ck_assert_mem_eq(&e, &ewant, sizeof e);
    ck_assert_int_eq(sp_eval_options_init(&e, SP_EVAL_OPTIONS_VERSION + 1), SP_ERR_VERSION);
    ck_assert_int_eq(sp_eval_options_init(NULL, SP_EVAL_OPTIONS_VERSION), SP_ERR_INVALID_ARG);
}
END_TEST

/* Per step, the loss as optimised; the mean of the first and of the last
 * few steps of a short run on a small dataset it can memorise. */
START_TEST(loss_falls)
{
    sp_dataset *ds = make_dataset(6, 0, 11);
    sp_model *m = tiny_model(16, 3);
    sp_trainer_options o = small_trainer();
    o.optimizer = SP_OPTIMIZER_ADAMW;
    o.learning_rate = 1e-2;
    o.schedule = SP_SCHEDULE_CONSTANT;
    o.test_fraction = 0.0f;
    sp_trainer *t;
    ck_assert_msg(sp_trainer_create(&t, m, ds, &o) == SP_OK, "%s", sp_last_error());
    enum { STEPS = 100, WINDOW = 8 };
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        sp_train_stats st = SP_TRAIN_STATS_INIT;
        ck_assert_msg(sp_trainer_run(t, 1, &st) == SP_OK, "%s", sp_last_error());
        ck_assert_int_eq(st.step, s + 1);
        ck_assert_uint_eq(st.positions, (uint64_t)(s + 1) * 16);
        ck_assert_int_eq(st.unroll, 2);
        ck_assert(isfinite(st.loss) && st.grad_norm > 0);
        ck_assert(st.learning_rate == 1e-2);
        /* The total is step 0 plus the recurrent steps scaled by 1/K. */
        double sum = st.policy_loss[0] + st.value_loss[0] +
                     (st.policy_loss[1] + st.value_loss[1] + st.policy_loss[2] + st.value_loss[2]) / 2;
        ck_assert_msg(fabs(sum - st.loss) < 1e-9 * fabs(st.loss) + 1e-12, "%g vs %g", sum, st.loss);
        if (s < WINDOW)
            first += st.loss / WINDOW;
        if (s >= STEPS - WINDOW)
            last += st.loss / WINDOW;
    }
    ck_assert_msg(last < 0.8 * first, "loss %g -> %g", first, last);
    sp_trainer_free(t);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* `steps` steps of a fresh model and trainer, optionally resumed first. */
static float *run_and_read(const sp_dataset *ds, const sp_trainer_options *o, const char *resume, int steps,
                           const char *save, size_t *count)
{
    sp_model *m = tiny_model(8, 7);
    sp_trainer *t;
    ck_assert_msg(sp_trainer_create(&t, m, ds, o) == SP_OK, "%s", sp_last_error());
    if (resume)
        ck_assert_msg(sp_trainer_resume(t, resume) == SP_OK, "%s", sp_last_error());
    if (steps > 3) {
        /* Test metrics between runs, as sp-train takes them: no trace in the run. */
        ck_assert_msg(sp_trainer_run(t, 3, NULL) == SP_OK, "%s", sp_last_error());
        sp_eval_report r = SP_EVAL_REPORT_INIT;
        sp_eval_options eo = SP_EVAL_OPTIONS_INIT;
        eo.test_fraction = o->test_fraction;
        eo.batch_size = 5;
        ck_assert_msg(sp_model_evaluate(m, ds, &eo, &r) == SP_OK, "%s", sp_last_error());
        steps -= 3;
    }
    ck_assert_msg(sp_trainer_run(t, steps, NULL) == SP_OK, "%s", sp_last_error());
    if (save)
        ck_assert_msg(sp_trainer_save(t, save) == SP_OK, "%s", sp_last_error());
    float *v = model_values(m, count);
    sp_trainer_free(t);
    sp_model_free(m);
    return v;
}

START_TEST(resume_is_exact)
{
    sp_dataset *ds = make_dataset(20, 15, 21);
    for (int kind = 0; kind < 2; kind++) {
        sp_trainer_options o = small_trainer();
        o.optimizer = kind ? SP_OPTIMIZER_ADAMW : SP_OPTIMIZER_SGD;
        o.learning_rate = kind ? 1e-3 : 0.02;
        o.warmup_steps = 2;
        o.total_steps = 6;
        o.clip_norm = 5;
        size_t n1, n2, n3;
        float *whole = run_and_read(ds, &o, NULL, 6, NULL, &n1);
        float *half = run_and_read(ds, &o, NULL, 3, tmp_path("half.spm"), &n2);
        float *resumed = run_and_read(ds, &o, tmp_path("half.spm"), 3, NULL, &n3);
        ck_assert_uint_eq(n1, n3);
        ck_assert(memcmp(whole, half, n1 * sizeof *whole) != 0);
        ck_assert_msg(memcmp(whole, resumed, n1 * sizeof *whole) == 0, "optimizer %d: resumed run differs", kind);
        free(whole);
        free(half);
        free(resumed);
    }
    sp_dataset_free(ds);
}
END_TEST

START_TEST(stats_follow_the_run)
{
    sp_dataset *ds = make_dataset(20, 15, 41);
    sp_trainer_options o = small_trainer();
    sp_model *m = tiny_model(4, 3);
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    /* Before a step: nothing done. */
    sp_train_stats now = SP_TRAIN_STATS_INIT, ran = SP_TRAIN_STATS_INIT;
    ck_assert_int_eq(sp_trainer_get_stats(t, &now), SP_OK);
    ck_assert_int_eq(now.step, 0);
    ck_assert_uint_eq(now.positions, 0);
    ck_assert_int_eq(now.unroll, o.unroll);
    /* After a run: the run's last figures. */
    ck_assert_int_eq(sp_trainer_run(t, 2, &ran), SP_OK);
    ck_assert_int_eq(sp_trainer_get_stats(t, &now), SP_OK);
    ck_assert_mem_eq(&now, &ran, sizeof now);
    ck_assert_int_eq(now.step, 2);
    ck_assert_uint_eq(now.positions, 2u * (unsigned)o.batch_size);
    ck_assert_int_eq(sp_trainer_save(t, tmp_path("stats.spm")), SP_OK);
    sp_trainer_free(t);
    /* After a resume: the checkpoint's step, no losses yet. */
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_resume(t, tmp_path("stats.spm")), SP_OK);
    sp_train_stats resumed = SP_TRAIN_STATS_INIT;
    ck_assert_int_eq(sp_trainer_get_stats(t, &resumed), SP_OK);
    ck_assert_int_eq(resumed.step, 2);
    ck_assert_uint_eq(resumed.positions, ran.positions);
    ck_assert(resumed.loss == 0.0);
    /* Bad arguments. */
    ck_assert_int_eq(sp_trainer_get_stats(NULL, &resumed), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_get_stats(t, NULL), SP_ERR_INVALID_ARG);
    resumed.version = SP_TRAIN_STATS_VERSION + 1;
    ck_assert_int_eq(sp_trainer_get_stats(t, &resumed), SP_ERR_VERSION);
    sp_trainer_free(t);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(checkpoint_is_a_model_and_refuses_mismatches)
{
    sp_dataset *ds = make_dataset(20, 15, 31);
    sp_trainer_options o = small_trainer();
    sp_model *m = tiny_model(8, 7);
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_run(t, 2, NULL), SP_OK);
    const char *path = tmp_path("ckpt.spm");
    ck_assert_int_eq(sp_trainer_save(t, path), SP_OK);
    /* The checkpoint loads as a model with the trained values. */
    sp_model *loaded;
    ck_assert_msg(sp_model_load(&loaded, path, NULL) == SP_OK, "%s", sp_last_error());
    size_t n1, n2;
    float *a = model_values(m, &n1), *b = model_values(loaded, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1 * sizeof *a);
    sp_model_free(loaded);
    /* A plain model file is no checkpoint. */
    sp_trainer_free(t);
    ck_assert_int_eq(sp_model_save(m, tmp_path("plain.spm")), SP_OK);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_resume(t, tmp_path("plain.spm")), SP_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "trainer"));
    sp_trainer_free(t);

    /* Another batch size, seed, unroll or optimizer: refused, named, nothing changed. */
    static const char *names[] = { "batch_size", "seed", "unroll", "optimizer", "min_rating" };
    for (int i = 0; i < 5; i++) {
        sp_trainer_options other = o;
        if (i == 0)
            other.batch_size = 8;
        else if (i == 1)
            other.seed = 6;
        else if (i == 2)
            other.unroll = 3;
        else if (i == 3)
            other.optimizer = SP_OPTIMIZER_ADAMW;
        else
            other.min_rating = 1900;
        sp_model *fresh = tiny_model(8, 9);
        size_t n;
        float *before = model_values(fresh, &n);
        ck_assert_int_eq(sp_trainer_create(&t, fresh, ds, &other), SP_OK);
        ck_assert_int_eq(sp_trainer_resume(t, path), SP_ERR_FORMAT);
        ck_assert_msg(strstr(sp_last_error(), names[i]), "%s", sp_last_error());
        float *after = model_values(fresh, &n);
        ck_assert_mem_eq(before, after, n * sizeof *before);
        ck_assert_int_eq(t->optim.step, 0);
        ck_assert_uint_eq(sp__sampler_batch_no(t->sampler), 0);
        free(before);
        free(after);
        sp_trainer_free(t);
        sp_model_free(fresh);
    }
    /* Another architecture: refused by field name. */
    sp_model *wide = tiny_model(12, 7);
    ck_assert_int_eq(sp_trainer_create(&t, wide, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_resume(t, path), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "channels"), "%s", sp_last_error());
    sp_trainer_free(t);
    sp_model_free(wide);
    /* A truncated or missing file. */
    FILE *f = fopen(path, "rb"), *g = fopen(tmp_path("cut.spm"), "wb");
    char buf[100];
    ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
    fwrite(buf, 1, sizeof buf, g);
    fclose(f);
    fclose(g);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_resume(t, tmp_path("cut.spm")), SP_ERR_FORMAT);
    ck_assert_int_eq(sp_trainer_resume(t, tmp_path("missing.spm")), SP_ERR_IO);
    /* A save into a directory that does not exist leaves nothing. */
    ck_assert_int_eq(sp_trainer_save(t, tmp_path("no/such/dir.spm")), SP_ERR_IO);
    sp_trainer_free(t);
    free(a);
    free(b);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* Inference after a resume sees the checkpoint's values, not the copies
 * its workspaces cached before (the folded towers of model_infer.c). */
START_TEST(resume_refreshes_inference)
{
    sp_dataset *ds = make_dataset(20, 15, 35);
    sp_trainer_options o = small_trainer();
    sp_model *trained = tiny_model(8, 7);
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, trained, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_run(t, 4, NULL), SP_OK);
    ck_assert_int_eq(sp_trainer_save(t, tmp_path("refresh.spm")), SP_OK);
    sp_trainer_free(t);
    sp_model_free(trained);

    float planes[2 * 6 * 81];
    for (int i = 0; i < 2 * 6 * 81; i++)
        planes[i] = (float)((i * 7) % 3 == 0);
    float before[2 * 82], after[2 * 82], want[2 * 82], v[2];
    sp_model *m = tiny_model(8, 9), *loaded;
    ck_assert_int_eq(sp_model_initial(m, planes, 2, NULL, before, v), SP_OK); /* workspaces cached */
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_resume(t, tmp_path("refresh.spm")), SP_OK);
    sp_trainer_free(t);
    ck_assert_int_eq(sp_model_initial(m, planes, 2, NULL, after, v), SP_OK);
    ck_assert_int_eq(sp_model_load(&loaded, tmp_path("refresh.spm"), NULL), SP_OK);
    ck_assert_int_eq(sp_model_initial(loaded, planes, 2, NULL, want, v), SP_OK);
    ck_assert(memcmp(before, want, sizeof want) != 0);
    ck_assert_mem_eq(after, want, sizeof want);
    sp_model_free(loaded);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* Both optimizers under the three schedules take steps; the rate each step
 * reports is the schedule's, warm-up first. */
START_TEST(optimizers_and_schedules)
{
    sp_dataset *ds = make_dataset(12, 10, 41);
    for (int kind = 0; kind < 2; kind++)
        for (int sched = SP_SCHEDULE_CONSTANT; sched <= SP_SCHEDULE_COSINE; sched++) {
            sp_trainer_options o = small_trainer();
            o.batch_size = 4;
            o.optimizer = kind;
            o.schedule = sched;
            o.learning_rate = 0.01;
            o.warmup_steps = 2;
            o.total_steps = 5;
            o.step_size = 2;
            o.gamma = 0.5;
            o.min_lr = 0.001;
            sp_model *m = tiny_model(4, 1);
            sp_trainer *t;
            ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
            for (int s = 0; s < 6; s++) {
                sp_train_stats st = SP_TRAIN_STATS_INIT;
                ck_assert_int_eq(sp_trainer_run(t, 1, &st), SP_OK);
                /* Reference: warm-up ramp over 2 steps, then the schedule. */
                double want;
                if (sched == SP_SCHEDULE_CONSTANT)
                    want = 0.01;
                else if (sched == SP_SCHEDULE_STEP)
                    want = 0.01 * pow(0.5, s / 2);
                else if (s >= 5)
                    want = 0.001;
                else
                    want = 0.001 + 0.5 * (0.01 - 0.001) * (1 + cos(M_PI * (s - 2) / 3.0));
                if (s < 2)
                    want = sched == SP_SCHEDULE_COSINE ? 0.01 * (s + 1) / 2 : want * (s + 1) / 2;
                ck_assert_msg(fabs(st.learning_rate - want) < 1e-12, "kind %d schedule %d step %d: %g, want %g",
                              kind, sched, s, st.learning_rate, want);
            }
            sp_trainer_free(t);
            sp_model_free(m);
        }
    sp_dataset_free(ds);
}
END_TEST

/* A run that diverges stops at the first non-finite loss, names the step,
 * and leaves the trainer at the step before it (the sampler wound back). */
START_TEST(non_finite_loss_is_named)
{
    sp_dataset *ds = make_dataset(12, 10, 91);
    sp_model *m = tiny_model(4, 1);
    sp_trainer_options o = small_trainer();
    o.schedule = SP_SCHEDULE_CONSTANT;
    o.learning_rate = 1e30;
    o.momentum = 0;
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    int rc = SP_OK;
    int64_t done = 0;
    for (int s = 0; s < 10 && rc == SP_OK; s++)
        if ((rc = sp_trainer_run(t, 1, NULL)) == SP_OK)
            done++;
    ck_assert_int_eq(rc, SP_ERR_INTERNAL);
    ck_assert_msg(strstr(sp_last_error(), "step"), "%s", sp_last_error());
    ck_assert_int_eq(t->optim.step, done);
    ck_assert_uint_eq(sp__sampler_batch_no(t->sampler), (uint64_t)done);
    sp_trainer_free(t);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

static int stop_after(const char *task, uint64_t done, uint64_t total, void *payload)
{
    int *calls = payload;
    ck_assert_str_eq(task, "train");
    ck_assert_uint_eq(total, 5);
    ck_assert_uint_eq(done, (uint64_t)*calls + 1);
    return ++*calls == 2;
}

START_TEST(bad_arguments)
{
    sp_dataset *ds = make_dataset(12, 10, 51);
    sp_model *m = tiny_model(4, 1);
    sp_trainer_options o = small_trainer();
    sp_trainer *t = (sp_trainer *)1;
    ck_assert_int_eq(sp_trainer_create(NULL, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_create(&t, NULL, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(sp_trainer_create(&t, m, NULL, &o), SP_ERR_INVALID_ARG);
    /* Each field out of range is named. */
    static const struct { const char *name; } fields[] = { { "batch_size" }, { "unroll" }, { "symmetries" },
        { "optimizer" }, { "schedule" }, { "learning_rate" }, { "momentum" }, { "adam_beta2" }, { "weight_decay" },
        { "clip_norm" }, { "step_size" }, { "gamma" }, { "min_rating" }, { "test_fraction" }, { "threads" },
        { "value_weight" }, { "warmup_steps" } };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        sp_trainer_options b = o;
        switch (i) {
        case 0: b.batch_size = 0; break;
        case 1: b.unroll = SP_TRAIN_MAX_UNROLL + 1; break;
        case 2: b.symmetries = 2; break;
        case 3: b.optimizer = 7; break;
        case 4: b.schedule = -1; break;
        case 5: b.learning_rate = NAN; break;
        case 6: b.momentum = 1; break;
        case 7: b.adam_beta2 = -0.1; break;
        case 8: b.weight_decay = INFINITY; break;
        case 9: b.clip_norm = -1; break;
        case 10: b.step_size = 0; break;
        case 11: b.gamma = 0; break;
        case 12: b.min_rating = -5; break;
        case 13: b.test_fraction = 1; break;
        case 14: b.threads = 0; break;
        case 15: b.value_weight = -1; break;
        default: b.warmup_steps = -1; break;
        }
        ck_assert_int_eq(sp_trainer_create(&t, m, ds, &b), SP_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sp_last_error(), fields[i].name), "%s: %s", fields[i].name, sp_last_error());
    }
    o.version = SP_TRAINER_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_VERSION);
    o.version = SP_TRAINER_OPTIONS_VERSION;
    /* Nothing left by the filter; another board size. */
    o.min_rating = 2500;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "min_rating"));
    o.min_rating = 0;
    sp_dataset *ds7;
    ck_assert_int_eq(sp_dataset_create(&ds7, 7), SP_OK);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds7, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "7x7"));
    sp_dataset_free(ds7);
    /* NULL options: the defaults. One trainer per model at a time. */
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, NULL), SP_OK);
    sp_trainer *second;
    ck_assert_int_eq(sp_trainer_create(&second, m, ds, &o), SP_ERR_MISUSE);
    ck_assert_ptr_null(second);
    sp_trainer_free(t);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    /* Run, save, resume. */
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    ck_assert_int_eq(sp_trainer_run(NULL, 1, &st), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_run(t, 0, &st), SP_ERR_INVALID_ARG);
    st.version = 0;
    ck_assert_int_eq(sp_trainer_run(t, 1, &st), SP_ERR_INVALID_ARG);
    st.version = SP_TRAIN_STATS_VERSION + 1;
    ck_assert_int_eq(sp_trainer_run(t, 1, &st), SP_ERR_VERSION);
    ck_assert_int_eq(t->optim.step, 0);
    ck_assert_int_eq(sp_trainer_save(NULL, tmp_path("x.spm")), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_save(t, NULL), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_save(t, ""), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_resume(NULL, tmp_path("x.spm")), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_trainer_resume(t, NULL), SP_ERR_INVALID_ARG);
    /* A progress callback that says stop: cancelled after that step. */
    sp_trainer_free(t);
    int calls = 0;
    o.progress = stop_after;
    o.progress_payload = &calls;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    st.version = SP_TRAIN_STATS_VERSION;
    ck_assert_int_eq(sp_trainer_run(t, 5, &st), SP_ERR_CANCELLED);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(st.step, 2);
    sp_trainer_free(t);
    sp_trainer_free(NULL);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* ---- evaluation ---------------------------------------------------------- */

typedef struct naive_report {
    uint64_t positions, count[SP_TRAIN_MAX_UNROLL + 1];
    double top1[SP_TRAIN_MAX_UNROLL + 1], ce[SP_TRAIN_MAX_UNROLL + 1], mse[SP_TRAIN_MAX_UNROLL + 1];
    double floor_top1[SP_TRAIN_MAX_UNROLL + 1], floor_mse[SP_TRAIN_MAX_UNROLL + 1], floor_value;
    double mse_se[SP_TRAIN_MAX_UNROLL + 1]; /* two passes over the kept squared errors */
} naive_report;

/* Positions the naive evaluation keeps the squared errors of (per step). */
#define NAIVE_MAX_POSITIONS 4096

static int in_filter(const sp_dataset *ds, uint64_t g, float min_rating)
{
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    ck_assert_int_eq(sp_dataset_game_info_get(ds, g, &info), SP_OK);
    return min_rating <= 0 || (info.black_rating >= min_rating && info.white_rating >= min_rating);
}

static float naive_outcome(const sp_dataset *ds, uint64_t g, int m)
{
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    sp_dataset_game_info_get(ds, g, &info);
    int mover = m % 2 ? 3 - info.first_color : info.first_color;
    return info.winner == SP_EMPTY ? 0.0f : info.winner == mover ? 1.0f : -1.0f;
}

/* The metrics of every test position from the public API alone: the split
 * and ratings from the game summaries, planes from replayed games, one
 * position at a time through sp_model_initial/recurrent. */
static void naive_evaluate(sp_model *m, const sp_dataset *ds, const sp_eval_options *o, naive_report *r)
{
    memset(r, 0, sizeof *r);
    sp_split_options split;
    sp_split_options_init(&split, SP_SPLIT_OPTIONS_VERSION);
    split.seed = o->split_seed;
    split.test_fraction = o->test_fraction;
    enum { BUCKETS = 128, A = 82 };
    static uint64_t counts[BUCKETS][A];
    memset(counts, 0, sizeof counts);
    double vsum = 0;
    uint64_t vn = 0;
    double(*errors)[NAIVE_MAX_POSITIONS] = malloc((SP_TRAIN_MAX_UNROLL + 1) * sizeof *errors);
    ck_assert_ptr_nonnull(errors);
    int32_t moves[512];
    size_t n;
    for (uint64_t g = 0; g < sp_dataset_game_count(ds); g++) {
        int part;
        sp_dataset_game_part(ds, g, &split, &part);
        if (part == SP_PART_TEST || !in_filter(ds, g, o->min_rating))
            continue;
        ck_assert_int_eq(sp_dataset_game_moves(ds, g, moves, 512, &n), SP_OK);
        for (size_t t = 0; t < n; t++) {
            counts[t < BUCKETS ? t : BUCKETS - 1][moves[t]]++;
            vsum += naive_outcome(ds, g, (int)t);
            vn++;
        }
    }
    int table[BUCKETS];
    for (int b = 0; b < BUCKETS; b++) {
        table[b] = 81;
        uint64_t best = 0;
        for (int a = 0; a < A; a++)
            if (counts[b][a] > best) {
                best = counts[b][a];
                table[b] = a;
            }
    }
    r->floor_value = vn ? vsum / (double)vn : 0;
    sp_model_info info = SP_MODEL_INFO_INIT;
    sp_model_describe(m, &info);
    float *state = malloc((size_t)info.state_size * sizeof *state), *next = malloc((size_t)info.state_size * 4);
    for (uint64_t g = 0; g < sp_dataset_game_count(ds); g++) {
        int part;
        sp_dataset_game_part(ds, g, &split, &part);
        if ((o->part == SP_PART_TEST && part != SP_PART_TEST) || !in_filter(ds, g, o->min_rating))
            continue;
        sp_dataset_game_moves(ds, g, moves, 512, &n);
        for (size_t t = 0; t < n; t++) {
            sp_game *game;
            ck_assert_int_eq(sp_dataset_game_replay(ds, g, (int)t, &game), SP_OK);
            float planes[6 * 81], logits[A], value;
            ck_assert_int_eq(sp_game_planes(game, 2, planes, 6 * 81), SP_OK);
            sp_game_free(game);
            ck_assert_msg(sp_model_initial(m, planes, 1, state, logits, &value) == SP_OK, "%s", sp_last_error());
            r->positions++;
            for (int k = 0; k <= o->unroll && t + (size_t)k < n; k++) {
                if (k > 0) {
                    int32_t a = moves[t + (size_t)k - 1];
                    ck_assert_int_eq(sp_model_recurrent(m, state, &a, 1, next, logits, &value), SP_OK);
                    memcpy(state, next, (size_t)info.state_size * sizeof *state);
                }
                int target = moves[t + (size_t)k], best = 0;
                double z = naive_outcome(ds, g, (int)(t + (size_t)k)), norm = 0;
                for (int a = 0; a < A; a++)
                    if (logits[a] > logits[best])
                        best = a;
                for (int a = 0; a < A; a++)
                    norm += exp((double)logits[a]);
                r->count[k]++;
                r->top1[k] += best == target;
                r->ce[k] += log(norm) - logits[target];
                r->mse[k] += (value - z) * (value - z);
                ck_assert_uint_le(r->count[k], NAIVE_MAX_POSITIONS);
                errors[k][r->count[k] - 1] = (value - z) * (value - z);
                size_t bucket = t + (size_t)k < BUCKETS ? t + (size_t)k : BUCKETS - 1;
                r->floor_top1[k] += table[bucket] == target;
                r->floor_mse[k] += (r->floor_value - z) * (r->floor_value - z);
            }
        }
    }
    for (int k = 0; k <= o->unroll; k++) {
        double c = (double)r->count[k];
        r->top1[k] /= c;
        r->ce[k] /= c;
        r->mse[k] /= c;
        r->floor_top1[k] /= c;
        r->floor_mse[k] /= c;
        double spread = 0;
        for (uint64_t i = 0; i < r->count[k]; i++)
            spread += (errors[k][i] - r->mse[k]) * (errors[k][i] - r->mse[k]);
        r->mse_se[k] = sqrt(spread / (c - 1) / c);
    }
    free(errors);
    free(state);
    free(next);
}

static sp_eval_options eval_options(void)
{
    sp_eval_options o;
    ck_assert_int_eq(sp_eval_options_init(&o, SP_EVAL_OPTIONS_VERSION), SP_OK);
    o.unroll = 3;
    o.test_fraction = 0.3f;
    o.min_rating = 1900;
    o.batch_size = 7; /* batches that do not divide the positions */
    return o;
}

static void expect_near(double got, double want, double tol, const char *what, int k)
{
    ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s[%d]: %.9g, naive %.9g", what, k, got, want);
}

START_TEST(evaluation_matches_a_naive_one)
{
    sp_dataset *ds = make_dataset(40, 20, 61);
    sp_model *m = tiny_model(8, 13);
    /* A few training steps, so the heads say more than their initial values. */
    sp_trainer_options to = small_trainer();
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &to), SP_OK);
    ck_assert_int_eq(sp_trainer_run(t, 5, NULL), SP_OK);
    sp_trainer_free(t);
    /* The whole dataset and the test part (the naive one knows those two). */
    for (int part = SP_PART_ALL; part <= SP_PART_TEST; part += 2) {
        sp_eval_options o = eval_options();
        o.part = part;
        sp_eval_report r = SP_EVAL_REPORT_INIT;
        ck_assert_msg(sp_model_evaluate(m, ds, &o, &r) == SP_OK, "%s", sp_last_error());
        naive_report want;
        naive_evaluate(m, ds, &o, &want);
        ck_assert_int_eq(r.unroll, 3);
        ck_assert_uint_eq(r.positions, want.positions);
        ck_assert_uint_gt(r.positions, 20);
        expect_near(r.floor_value, want.floor_value, 1e-12, "floor value", 0);
        for (int k = 0; k <= 3; k++) {
            /* Step k counts only positions whose game is still going at t + k. */
            ck_assert_uint_eq(r.count[k], want.count[k]);
            ck_assert_uint_lt(r.count[k], r.positions + (k == 0));
            expect_near(r.floor_top1[k], want.floor_top1[k], 1e-12, "floor top-1", k);
            expect_near(r.floor_value_mse[k], want.floor_mse[k], 1e-12, "floor MSE", k);
            /* The network through the training pass vs the inference path: float rounding apart. */
            expect_near(r.policy_ce[k], want.ce[k], 1e-4, "cross-entropy", k);
            expect_near(r.value_mse[k], want.mse[k], 1e-4, "value MSE", k);
            expect_near(r.value_mse_se[k], want.mse_se[k], 1e-3, "value MSE's standard error", k);
            ck_assert(r.value_mse_se[k] > 0);
            expect_near(r.top1[k], want.top1[k], 1.5 / (double)want.count[k], "top-1", k);
        }
        ck_assert(isnan(r.top1[4]) || r.top1[4] == 0); /* past unroll: untouched */
    }
    /* A version-1 caller's report (before value_mse_se), alone in a heap
     * block of its size: filled, and nothing past it written (ASan). */
    unsigned char *old = malloc(offsetof(sp_eval_report, value_mse_se));
    ck_assert_ptr_nonnull(old);
    uint32_t version = 1;
    uint64_t positions = 0;
    memcpy(old, &version, sizeof version);
    sp_eval_options o = eval_options();
    ck_assert_msg(sp_model_evaluate(m, ds, &o, (sp_eval_report *)old) == SP_OK, "%s", sp_last_error());
    memcpy(&version, old, sizeof version);
    memcpy(&positions, old + offsetof(sp_eval_report, positions), sizeof positions);
    ck_assert_uint_eq(version, 1);
    ck_assert_uint_gt(positions, 20);
    free(old);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

START_TEST(evaluation_samples_and_unroll_zero)
{
    sp_dataset *ds = make_dataset(40, 20, 71);
    sp_model *m = tiny_model(4, 13);
    sp_eval_options o = eval_options();
    sp_eval_report all = SP_EVAL_REPORT_INIT, a = SP_EVAL_REPORT_INIT, b = SP_EVAL_REPORT_INIT;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &all), SP_OK);
    o.max_positions = 25;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &a), SP_OK);
    ck_assert_uint_eq(a.positions, 25);
    ck_assert_uint_eq(a.count[0], 25);
    ck_assert(a.floor_value == all.floor_value); /* the floors come from the training part */
    /* The same seed draws the same sample; another seed another one. */
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &b), SP_OK);
    ck_assert_mem_eq(&a, &b, sizeof a);
    o.seed = 2;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &b), SP_OK);
    ck_assert(memcmp(a.count, b.count, sizeof a.count) != 0 || a.policy_ce[0] != b.policy_ce[0]);
    /* More than there are: all of them. */
    o.max_positions = all.positions + 10;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &b), SP_OK);
    ck_assert_uint_eq(b.positions, all.positions);
    ck_assert(b.policy_ce[2] == all.policy_ce[2]);
    /* K = 0: step 0 only, the same figures as step 0 of a longer unroll. */
    o.max_positions = 0;
    o.unroll = 0;
    o.batch_size = 256;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &b), SP_OK);
    ck_assert_int_eq(b.unroll, 0);
    ck_assert_uint_eq(b.count[0], all.count[0]);
    ck_assert_uint_eq(b.count[1], 0);
    expect_near(b.policy_ce[0], all.policy_ce[0], 1e-6, "cross-entropy", 0);
    ck_assert(b.top1[0] == all.top1[0]);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

static int cancel_evaluation(const char *task, uint64_t done, uint64_t total, void *payload)
{
    ck_assert_str_eq(task, "evaluate");
    ck_assert_uint_le(done, total);
    ++*(int *)payload;
    return 1;
}

START_TEST(evaluation_bad_arguments)
{
    sp_dataset *ds = make_dataset(20, 10, 81);
    sp_model *m = tiny_model(4, 13);
    sp_eval_options o = eval_options();
    sp_eval_report r = SP_EVAL_REPORT_INIT;
    ck_assert_int_eq(sp_model_evaluate(NULL, ds, &o, &r), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_evaluate(m, NULL, &o, &r), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, NULL), SP_ERR_INVALID_ARG);
    r.version = 0;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_ERR_INVALID_ARG);
    r.version = SP_EVAL_REPORT_VERSION + 1;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_ERR_VERSION);
    r.version = SP_EVAL_REPORT_VERSION;
    static const char *names[] = { "unroll", "part", "batch_size", "min_rating", "test_fraction" };
    for (int i = 0; i < 5; i++) {
        sp_eval_options b = o;
        if (i == 0)
            b.unroll = -1;
        else if (i == 1)
            b.part = 9;
        else if (i == 2)
            b.batch_size = 0;
        else if (i == 3)
            b.min_rating = NAN;
        else
            b.test_fraction = 1.5f;
        ck_assert_int_eq(sp_model_evaluate(m, ds, &b, &r), SP_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sp_last_error(), names[i]), "%s", sp_last_error());
    }
    o.version = SP_EVAL_OPTIONS_VERSION + 1;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_ERR_VERSION);
    o.version = SP_EVAL_OPTIONS_VERSION;
    o.min_rating = 3000;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sp_last_error(), "no position"));
    o.min_rating = 0;
    sp_dataset *ds7;
    ck_assert_int_eq(sp_dataset_create(&ds7, 7), SP_OK);
    ck_assert_int_eq(sp_model_evaluate(m, ds7, &o, &r), SP_ERR_INVALID_ARG);
    sp_dataset_free(ds7);
    /* NULL options: the defaults (the test part of the default split). */
    ck_assert_msg(sp_model_evaluate(m, ds, NULL, &r) == SP_OK, "%s", sp_last_error());
    ck_assert_int_eq(r.unroll, 5);
    /* Cancelled at the first report; the model is free again afterwards. */
    int calls = 0;
    o.progress = cancel_evaluation;
    o.progress_payload = &calls;
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_ERR_CANCELLED);
    ck_assert_int_eq(calls, 1);
    float planes[6 * 81] = { 0 }, logits[82], value;
    ck_assert_int_eq(sp_model_initial(m, planes, 1, NULL, logits, &value), SP_OK);
    /* The model's own trainer may evaluate between its runs. */
    o.progress = NULL;
    sp_trainer *t;
    sp_trainer_options to = small_trainer();
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &to), SP_OK);
    ck_assert_int_eq(sp_model_evaluate(m, ds, &o, &r), SP_OK);
    ck_assert_int_eq(sp_trainer_run(t, 1, NULL), SP_OK);
    ck_assert_int_eq(sp_model_initial(m, planes, 1, NULL, logits, &value), SP_ERR_MISUSE);
    sp_trainer_free(t);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* The hook sees the step's figures summed over the replicas; one replica:
 * the slices' sums. Copied here for the test. */
static float *hooked;
static size_t hooked_count;

static int capture(float *buf, size_t count, void *payload)
{
    (void)payload;
    hooked = realloc(hooked, count * sizeof *buf);
    memcpy(hooked, buf, count * sizeof *buf);
    hooked_count = count;
    return SP_OK;
}

/* Rows [from, from + n) of a sampler's position-major batch as the
 * network's step-major targets (the layout sp__model_targets documents). */
static void slice_targets(const sp_batch *b, int from, int n, int K, int actions, float *policy, float *value,
                          float *action, float *mask)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k <= K; k++) {
            int src = (from + i) * (K + 1) + k, dst = k * n + i;
            mask[dst] = b->mask[src] ? 1.0f : 0.0f;
            value[dst] = b->value[src];
            for (int a = 0; a < actions; a++)
                policy[(size_t)dst * actions + a] = b->mask[src] ? b->policy[(size_t)src * actions + a] : 0.0f;
            if (k < K)
                action[dst] = (float)b->actions[(from + i) * K + k];
        }
}

/* micro_batches M: the step's gradient is the mean of M gradients computed
 * separately, one per slice of batch_size / M rows of the one batch, each
 * with its own batch statistics; the loss their mean; the running
 * statistics the mean of the M slices' updates from the same start. The
 * reference: the sampler's whole batch cut by hand and unrolled slice by
 * slice on a twin model. */
START_TEST(micro_batches_average_slices)
{
    enum { B = 16, M = 4, N = B / M, K = 2, ACTIONS = 82 };
    sp_dataset *ds = make_dataset(20, 15, 31);
    sp_model *m = tiny_model(8, 7), *twin = tiny_model(8, 7);
    sp_trainer_options o = small_trainer();
    o.micro_batches = M;
    sp_trainer *t;
    ck_assert_msg(sp_trainer_create(&t, m, ds, &o) == SP_OK, "%s", sp_last_error());
    sp__trainer_set_reduce(t, capture, NULL);
    sp_train_stats st = SP_TRAIN_STATS_INIT;
    ck_assert_msg(sp_trainer_run(t, 1, &st) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_eq(st.positions, B);

    /* The batch the trainer drew: batch 0 of a sampler of the same options. */
    sp_sampler_options so = SP_SAMPLER_OPTIONS_INIT;
    so.seed = o.seed;
    so.part = SP_PART_TRAIN;
    so.history = 2;
    so.unroll = K;
    so.symmetries = o.symmetries;
    so.split.seed = o.split_seed;
    so.split.test_fraction = o.test_fraction;
    sp_sampler *s;
    ck_assert_int_eq(sp_sampler_create(&s, ds, &so), SP_OK);
    size_t plane_floats = (size_t)sp_go_plane_count(2) * 81;
    float *planes = malloc(B * plane_floats * sizeof *planes), *policy = malloc(B * (K + 1) * ACTIONS * 4);
    float *value = malloc(B * (K + 1) * 4), *tp = malloc(N * (K + 1) * ACTIONS * 4), *tv = malloc(N * (K + 1) * 4);
    float *ta = malloc(N * K * 4), *tm = malloc(N * (K + 1) * 4);
    int32_t *actions = malloc(B * K * sizeof *actions);
    uint8_t *mask = malloc(B * (K + 1));
    sp_batch b = { SP_BATCH_VERSION, B, planes, actions, policy, value, mask, NULL, NULL };
    ck_assert_int_eq(sp_sampler_next(s, &b), SP_OK);

    sp__params *ps = &twin->net.ps;
    size_t total = sp__params_total(ps), grads = 0, stats = 0;
    for (size_t i = 0; i < ps->count; i++) {
        grads += ps->items[i]->grad ? ps->items[i]->count : 0;
        stats += ps->items[i]->flags & SP__PARAM_BUFFER ? ps->items[i]->count : 0;
    }
    /* The figures: gradients, statistics, 1 + 2 (K + 1) losses and the regulariser, 1 status. */
    ck_assert_uint_eq(hooked_count, grads + stats + 1 + 2 * (K + 1) + 1 + 1);
    ck_assert(hooked[hooked_count - 1] == 0.0f);
    size_t n_start;
    float *start = model_values(twin, &n_start), *sum_grad = calloc(total, sizeof *sum_grad);
    float *sum_value = calloc(total, sizeof *sum_value), *one = malloc(total * sizeof *one);
    double loss = 0;
    twin->net.value_weight = (float)o.value_weight;
    ck_assert_int_eq(sp__model_reserve_unroll(twin, K), SP_OK);
    for (int j = 0; j < M; j++) {
        float *at = start;
        for (size_t i = 0; i < ps->count; i++) { /* every slice from the same running statistics */
            ck_assert_int_eq(sp__param_write(ps->items[i], at), SP_OK);
            at += ps->items[i]->count;
        }
        slice_targets(&b, j * N, N, K, ACTIONS, tp, tv, ta, tm);
        sp__model_targets tg = { tp, tv, ta, tm };
        sp__model_losses l;
        ck_assert_int_eq(sp__params_zero_grad(ps), SP_OK);
        ck_assert_msg(sp__model_net_unroll(&twin->net, planes + (size_t)j * N * plane_floats, NULL, N, K, &tg,
                                           SP__MODEL_TRAIN, &l) == SP_OK, "%s", sp_last_error());
        loss += l.total / M;
        size_t off = 0;
        for (size_t i = 0; i < ps->count; i++) {
            sp__param *p = ps->items[i];
            if (p->grad) {
                ck_assert_int_eq(sp__param_read_grad(p, one), SP_OK);
                for (size_t k = 0; k < p->count; k++)
                    sum_grad[off + k] += one[k] / M;
            }
            ck_assert_int_eq(sp__param_read(p, one), SP_OK);
            for (size_t k = 0; k < p->count; k++)
                sum_value[off + k] += one[k] / M;
            off += p->count;
        }
    }
    /* The hook's sums over the slices, divided by M, against the reference. */
    size_t g = 0, st_at = grads, off = 0;
    double worst = 0;
    for (size_t i = 0; i < ps->count; i++) {
        const sp__param *p = ps->items[i];
        for (size_t k = 0; k < p->count; k++) {
            if (p->grad) {
                double want = sum_grad[off + k], got = hooked[g++] / M;
                double err = fabs(got - want) / (fabs(want) + 1e-3);
                worst = err > worst ? err : worst;
            }
            if (p->flags & SP__PARAM_BUFFER) {
                double want = sum_value[off + k], got = hooked[st_at++] / M;
                ck_assert_msg(fabs(got - want) <= 1e-5 * (fabs(want) + 1e-3), "%s[%zu]: %g vs %g", p->name, k,
                              got, want);
            }
        }
        off += p->count;
    }
    ck_assert_msg(worst < 1e-4, "gradients differ from the mean of the slices' by %g (relative)", worst);
    ck_assert_msg(fabs(st.loss - loss) <= 1e-5 * fabs(loss), "loss %g, the slices' mean %g", st.loss, loss);
    /* The trainer's running statistics after the step are that mean too. */
    size_t n_after;
    float *after = model_values(m, &n_after);
    off = 0;
    for (size_t i = 0; i < ps->count; i++) {
        for (size_t k = 0; (ps->items[i]->flags & SP__PARAM_BUFFER) && k < ps->items[i]->count; k++)
            ck_assert(fabs(after[off + k] - sum_value[off + k]) <= 1e-5 * (fabs(sum_value[off + k]) + 1e-3));
        off += ps->items[i]->count;
    }

    /* A checkpoint of M slices resumes with another M (a warning): the run
     * goes on with the batch stream where it was. */
    ck_assert_int_eq(sp_trainer_save(t, tmp_path("micro.spm")), SP_OK);
    sp_trainer_free(t);
    sp_trainer_options one_slice = o;
    one_slice.micro_batches = 1;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &one_slice), SP_OK);
    ck_assert_msg(sp_trainer_resume(t, tmp_path("micro.spm")) == SP_OK, "%s", sp_last_error());
    ck_assert_uint_eq(sp__sampler_batch_no(t->sampler), 1);
    sp_trainer_free(t);

    /* B not a multiple of M is refused, naming the option. */
    o.micro_batches = 3;
    t = (sp_trainer *)1;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(sp_last_error(), "micro_batches"), "%s", sp_last_error());
    o.micro_batches = 0;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sp_last_error(), "micro_batches"), "%s", sp_last_error());

    free(hooked);
    hooked = NULL;
    free(after);
    free(start);
    free(sum_grad);
    free(sum_value);
    free(one);
    free(planes);
    free(policy);
    free(value);
    free(tp);
    free(tv);
    free(ta);
    free(tm);
    free(actions);
    free(mask);
    sp_sampler_free(s);
    sp_model_free(twin);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

/* A checkpoint's "trainer" record cut to its first `fields` options (and
 * its count and size with them), the other sections as they were. */
static unsigned char *cut_record(const char *path, uint32_t fields, size_t *size)
{
    char *data;
    size_t len;
    ck_assert_int_eq(sp__file_read(path, &data, &len), SP_OK);
    sp__spm_reader r;
    ck_assert_int_eq(sp__spm_parse(&r, data, len), SP_OK);
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    unsigned char record[32 + 8 * 64];
    for (size_t i = 0; i < r.count; i++) {
        const sp__spm_section *sec = &r.sections[i];
        if (strcmp(sec->tag, "trainer")) {
            ck_assert_int_eq(sp__spm_add(&w, sec->tag, sec->data, sec->size, 0), SP_OK);
            continue;
        }
        ck_assert_uint_ge(sec->size, 32 + 8 * (size_t)fields);
        memcpy(record, sec->data, 32 + 8 * (size_t)fields);
        record[4] = (unsigned char)fields; /* the count: bits 32.. of the first little-endian word */
        ck_assert_int_eq(sp__spm_add(&w, "trainer", record, 32 + 8 * (size_t)fields, 0), SP_OK);
    }
    unsigned char *out;
    ck_assert_int_eq(sp__spm_serialise(&w, &out, size), SP_OK);
    sp__spm_writer_release(&w);
    free(data);
    return out;
}

/* Checkpoints written before micro_batches was appended hold 21 options:
 * they resume as micro_batches 1 (with any micro_batches, as a record of
 * 1 would); a record of 20 is malformed. */
START_TEST(first_checkpoint_records_resume)
{
    sp_dataset *ds = make_dataset(12, 10, 41);
    sp_model *m = tiny_model(4, 1);
    sp_trainer_options o = small_trainer();
    sp_trainer *t;
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp_trainer_run(t, 2, NULL), SP_OK);
    ck_assert_int_eq(sp_trainer_save(t, tmp_path("new.spm")), SP_OK);
    sp_trainer_free(t);
    size_t size;
    unsigned char *old = cut_record(tmp_path("new.spm"), 21, &size);
    for (int micro = 1; micro <= 2; micro++) {
        o.micro_batches = micro;
        ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
        ck_assert_msg(sp__trainer_resume_bytes(t, old, size) == SP_OK, "%s", sp_last_error());
        ck_assert_uint_eq(sp__sampler_batch_no(t->sampler), 2);
        sp_trainer_free(t);
    }
    free(old);
    unsigned char *short_record = cut_record(tmp_path("new.spm"), 20, &size);
    ck_assert_int_eq(sp_trainer_create(&t, m, ds, &o), SP_OK);
    ck_assert_int_eq(sp__trainer_resume_bytes(t, short_record, size), SP_ERR_FORMAT);
    ck_assert_msg(strstr(sp_last_error(), "malformed"), "%s", sp_last_error());
    ck_assert_uint_eq(sp__sampler_batch_no(t->sampler), 0);
    sp_trainer_free(t);
    free(short_record);
    sp_model_free(m);
    sp_dataset_free(ds);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp_test_train.XXXXXX");
    if (!mkdtemp(tmpdir))
        return EXIT_FAILURE;
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("trainer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, options_defaults_and_versions);
    tcase_add_test(tc, loss_falls);
    tcase_add_test(tc, resume_is_exact);
    tcase_add_test(tc, stats_follow_the_run);
    tcase_add_test(tc, checkpoint_is_a_model_and_refuses_mismatches);
    tcase_add_test(tc, resume_refreshes_inference);
    tcase_add_test(tc, optimizers_and_schedules);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, non_finite_loss_is_named);
    tcase_add_test(tc, micro_batches_average_slices);
    tcase_add_test(tc, first_checkpoint_records_resume);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("evaluate");
    tcase_set_timeout(te, 300);
    tcase_add_test(te, evaluation_matches_a_naive_one);
    tcase_add_test(te, evaluation_samples_and_unroll_zero);
    tcase_add_test(te, evaluation_bad_arguments);
    suite_add_tcase(s, te);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_train: could not remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
