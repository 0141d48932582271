/* sp_trainer (train.h): options, creation over a model and a dataset's
 * training part, and the training loop (sampler batch -> MuZero unroll ->
 * optimizer step). Checkpoints are in trainer_io.c. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "train_internal.h"

static const sp_trainer_options trainer_defaults = SP_TRAINER_OPTIONS_INIT;
static const sp__options_type trainer_options_type = { "sp_trainer_options", SP_TRAINER_OPTIONS_VERSION,
                                                       sizeof(sp_trainer_options), &trainer_defaults, { 0 } };
static const sp_train_stats stats_defaults = SP_TRAIN_STATS_INIT;
static const sp__options_type stats_type = { "sp_train_stats", SP_TRAIN_STATS_VERSION, sizeof(sp_train_stats),
                                             &stats_defaults, { 0 } };

/* The live trainers, for sp__trainer_holds. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static sp_trainer *live;

int sp__trainer_holds(const sp_model *m)
{
    pthread_mutex_lock(&live_lock);
    const sp_trainer *t = live;
    while (t && t->model != m)
        t = t->next_live;
    pthread_mutex_unlock(&live_lock);
    return t != NULL;
}

static void live_remove(sp_trainer *t)
{
    pthread_mutex_lock(&live_lock);
    for (sp_trainer **p = &live; *p; p = &(*p)->next_live)
        if (*p == t) {
            *p = t->next_live;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

int sp_trainer_options_init(sp_trainer_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &trainer_options_type, "sp_trainer_options_init");
}

static int finite_at_least(double x, double lo) { return isfinite(x) && x >= lo; }

/* Every field in range, the first one out named. */
static int check_options(const sp_trainer_options *o)
{
    const char *bad = NULL;
    if (o->batch_size < 1 || o->batch_size > 65536)
        bad = "batch_size (1..65536)";
    else if (o->unroll < 0 || o->unroll > SP_TRAIN_MAX_UNROLL)
        bad = "unroll (0..SP_TRAIN_MAX_UNROLL)";
    else if (o->symmetries != 0 && o->symmetries != 1)
        bad = "symmetries (0 or 1)";
    else if (o->optimizer != SP_OPTIMIZER_SGD && o->optimizer != SP_OPTIMIZER_ADAMW)
        bad = "optimizer (an sp_optimizer)";
    else if (o->schedule < SP_SCHEDULE_CONSTANT || o->schedule > SP_SCHEDULE_COSINE)
        bad = "schedule (an sp_lr_schedule)";
    else if (!finite_at_least(o->learning_rate, 0))
        bad = "learning_rate (finite, >= 0)";
    else if (!finite_at_least(o->momentum, 0) || o->momentum >= 1)
        bad = "momentum ([0, 1))";
    else if (!finite_at_least(o->adam_beta1, 0) || o->adam_beta1 >= 1)
        bad = "adam_beta1 ([0, 1))";
    else if (!finite_at_least(o->adam_beta2, 0) || o->adam_beta2 >= 1)
        bad = "adam_beta2 ([0, 1))";
    else if (!finite_at_least(o->weight_decay, 0))
        bad = "weight_decay (finite, >= 0)";
    else if (!finite_at_least(o->value_weight, 0))
        bad = "value_weight (finite, >= 0)";
    else if (!finite_at_least(o->clip_norm, 0))
        bad = "clip_norm (finite, >= 0; 0 = off)";
    else if (o->warmup_steps < 0)
        bad = "warmup_steps (>= 0)";
    else if (o->total_steps < 0)
        bad = "total_steps (>= 0)";
    else if (o->step_size < 1)
        bad = "step_size (>= 1)";
    else if (!isfinite(o->gamma) || !(o->gamma > 0))
        bad = "gamma (finite, > 0)";
    else if (!finite_at_least(o->min_lr, 0))
        bad = "min_lr (finite, >= 0)";
    else if (!finite_at_least(o->min_rating, 0))
        bad = "min_rating (finite, >= 0)";
    else if (!finite_at_least(o->test_fraction, 0) || o->test_fraction >= 1)
        bad = "test_fraction ([0, 1))";
    else if (o->threads < 1 || o->threads > 256)
        bad = "threads (1..256)";
    if (bad)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: option %s is out of range", bad);
    return SP_OK;
}

int sp__train_check_data(const sp_model *m, const sp_dataset *ds, const char *fn)
{
    int size = sp_dataset_board_size(ds);
    if (size != m->opts.board_size)
        return sp__error(SP_ERR_INVALID_ARG, "%s: the dataset's games are %dx%d, the model's board %dx%d", fn, size,
                         size, (int)m->opts.board_size, (int)m->opts.board_size);
    if (sp_go_plane_count(m->opts.history) != m->arch.input_planes)
        return sp__error(SP_ERR_INVALID_ARG, "%s: the model reads %lld planes, its history %d gives %d", fn,
                         (long long)m->arch.input_planes, (int)m->opts.history, sp_go_plane_count(m->opts.history));
    return SP_OK;
}

static void optim_config(const sp_trainer_options *o, sp__optim_config *c)
{
    sp__optim_defaults(c, o->optimizer == SP_OPTIMIZER_ADAMW ? SP__OPT_ADAMW : SP__OPT_SGD);
    c->lr = o->learning_rate;
    c->momentum = o->momentum;
    c->beta1 = o->adam_beta1;
    c->beta2 = o->adam_beta2;
    c->weight_decay = o->weight_decay;
    c->clip_norm = o->clip_norm;
    c->schedule = o->schedule == SP_SCHEDULE_STEP ? SP__LR_STEP
                  : o->schedule == SP_SCHEDULE_COSINE ? SP__LR_COSINE : SP__LR_CONSTANT;
    c->warmup_steps = o->warmup_steps;
    c->total_steps = o->total_steps;
    c->step_size = o->step_size;
    c->gamma = o->gamma;
    c->min_lr = o->min_lr;
}

double sp__trainer_lr(const sp__optim_config *c, int64_t step)
{
    double lr = sp__optim_lr(c, step);
    /* lib/nn ramps up only inside its cosine schedule; train.h's warm-up
     * comes before every schedule, with the same ramp. */
    if (c->schedule != SP__LR_COSINE && step < c->warmup_steps)
        lr *= (double)(step + 1) / (double)c->warmup_steps;
    return lr;
}

void sp_trainer_free(sp_trainer *t)
{
    if (!t)
        return;
    live_remove(t);
    sp__model_unhold(t->model);
    sp_sampler_free(t->sampler);
    free(t->planes);
    free(t->policy);
    free(t->value);
    free(t->action);
    free(t->mask);
    free(t->t_policy);
    free(t->t_value);
    free(t->t_action);
    free(t->t_mask);
    free(t);
}

static int allocate_batch(sp_trainer *t)
{
    size_t n = (size_t)t->o.batch_size, steps = (size_t)t->o.unroll + 1, a = (size_t)t->actions;
    t->planes = malloc(n * t->plane_floats * sizeof *t->planes);
    t->policy = malloc(n * steps * a * sizeof *t->policy);
    t->value = malloc(n * steps * sizeof *t->value);
    t->action = malloc((n * (steps - 1) + 1) * sizeof *t->action); /* + 1: K = 0 still allocates */
    t->mask = malloc(n * steps);
    t->t_policy = malloc(n * steps * a * sizeof *t->t_policy);
    t->t_value = malloc(n * steps * sizeof *t->t_value);
    t->t_action = malloc((n * (steps - 1) + 1) * sizeof *t->t_action);
    t->t_mask = malloc(n * steps * sizeof *t->t_mask);
    if (!t->planes || !t->policy || !t->value || !t->action || !t->mask || !t->t_policy || !t->t_value ||
        !t->t_action || !t->t_mask)
        return sp__error(SP_ERR_NOMEM, "sp_trainer_create: out of memory for batches of %d positions",
                         t->o.batch_size);
    return SP_OK;
}

int sp_trainer_create(sp_trainer **out, sp_model *model, const sp_dataset *ds, const sp_trainer_options *opts)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: out is NULL");
    *out = NULL;
    if (!model || !ds)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: %s is NULL", model ? "dataset" : "model");
    sp_trainer_options o;
    int rc = sp__options_read(&o, opts, &trainer_options_type, "sp_trainer_create");
    if (!rc)
        rc = check_options(&o);
    if (rc)
        return rc;
    rc = sp__train_check_data(model, ds, "sp_trainer_create");
    if (rc)
        return rc;
    sp_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return sp__error(SP_ERR_NOMEM, "sp_trainer_create: out of memory");
    rc = sp__model_hold(model, "sp_trainer_create");
    if (rc) {
        free(t);
        return rc;
    }
    t->model = model;
    t->ds = ds;
    t->o = o;
    t->actions = (int64_t)model->opts.board_size * model->opts.board_size + 1;
    t->plane_floats = (size_t)model->arch.input_planes * (size_t)(t->actions - 1);
    t->last = stats_defaults;
    t->last.unroll = o.unroll;
    optim_config(&o, &t->optim.config);
    rc = sp__optim_check(&t->optim.config);
    sp_sampler_options so;
    sp_sampler_options_init(&so, SP_SAMPLER_OPTIONS_VERSION);
    so.seed = o.seed;
    so.part = SP_PART_TRAIN;
    so.history = model->opts.history;
    so.unroll = o.unroll;
    so.symmetries = o.symmetries;
    so.threads = o.threads;
    so.split.seed = o.split_seed;
    so.split.test_fraction = o.test_fraction;
    so.min_rating = o.min_rating;
    if (!rc)
        rc = sp_sampler_create(&t->sampler, ds, &so);
    if (rc)
        rc = sp__error(rc, "sp_trainer_create: %s", sp_last_error());
    if (!rc)
        rc = allocate_batch(t);
    if (!rc)
        rc = sp__model_reserve_unroll(model, o.unroll);
    if (rc) {
        sp_trainer_free(t);
        return rc;
    }
    pthread_mutex_lock(&live_lock);
    t->next_live = live;
    live = t;
    pthread_mutex_unlock(&live_lock);
    *out = t;
    return SP_OK;
}

/* The sampler's position-major batch as the network's step-major targets;
 * past a game's end the policy row is zero (no policy loss) and the mask 0
 * (no value loss), the action the sampler's random one. */
static void to_targets(sp_trainer *t)
{
    const size_t n = (size_t)t->o.batch_size, K = (size_t)t->o.unroll, a = (size_t)t->actions;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k <= K; k++) {
            size_t from = i * (K + 1) + k, to = k * n + i;
            int inside = t->mask[from] != 0;
            t->t_mask[to] = inside ? 1.0f : 0.0f;
            t->t_value[to] = t->value[from];
            if (inside)
                memcpy(t->t_policy + to * a, t->policy + from * a, a * sizeof *t->t_policy);
            else
                memset(t->t_policy + to * a, 0, a * sizeof *t->t_policy);
            if (k < K)
                t->t_action[to] = (float)t->action[i * K + k];
        }
}

/* One optimizer step; on failure the sampler is wound back so the trainer
 * stays at the step it had. */
static int train_step(sp_trainer *t)
{
    sp__model_net *net = &t->model->net;
    uint64_t batch_no = sp__sampler_batch_no(t->sampler);
    sp_batch b = { SP_BATCH_VERSION, t->o.batch_size, t->planes, t->action, t->policy, t->value, t->mask, NULL,
                   NULL };
    int rc = sp_sampler_next(t->sampler, &b);
    if (rc) {
        sp__sampler_set_batch_no(t->sampler, batch_no);
        return rc;
    }
    to_targets(t);
    net->value_weight = (float)t->o.value_weight;
    sp__model_targets targets = { t->t_policy, t->t_value, t->t_action, t->t_mask };
    sp__model_losses losses;
    int64_t step = t->optim.step;
    rc = sp__params_zero_grad(&net->ps);
    if (!rc)
        rc = sp__model_net_unroll(net, t->planes, t->o.batch_size, t->o.unroll, &targets, SP__MODEL_TRAIN, &losses);
    if (!rc && !isfinite(losses.total))
        rc = sp__error(SP_ERR_INTERNAL, "sp_trainer_run: the loss is not finite at step %lld (policy %g, value %g "
                       "at unroll step 0)", (long long)step, losses.policy[0], losses.value[0]);
    /* The schedule's rate of this step, handed to lib/nn as a constant. */
    double lr = sp__trainer_lr(&t->optim.config, step), grad_norm = 0;
    if (!rc) {
        sp__optim_config kept = t->optim.config;
        t->optim.config.schedule = SP__LR_CONSTANT;
        t->optim.config.lr = lr;
        rc = sp__optim_step(&t->optim, &net->ps, &grad_norm);
        t->optim.config = kept;
        if (rc == SP_ERR_INVALID_ARG)
            rc = sp__error(SP_ERR_INTERNAL, "sp_trainer_run: step %lld: %s", (long long)step, sp_last_error());
    }
    if (rc) {
        sp__sampler_set_batch_no(t->sampler, batch_no);
        return rc;
    }
    sp_train_stats *s = &t->last;
    s->unroll = t->o.unroll;
    s->step = t->optim.step;
    s->loss = losses.total;
    for (int k = 0; k <= t->o.unroll; k++) {
        s->policy_loss[k] = losses.policy[k];
        s->value_loss[k] = losses.value[k];
    }
    s->learning_rate = lr;
    s->grad_norm = grad_norm;
    s->positions = (uint64_t)t->optim.step * (uint64_t)t->o.batch_size;
    return SP_OK;
}

int sp_trainer_run(sp_trainer *t, int64_t steps, sp_train_stats *stats)
{
    if (!t)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_run: trainer is NULL");
    if (steps < 1)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_run: %lld steps (at least 1)", (long long)steps);
    if (stats) {
        int rc = sp__options_check(stats->version, &stats_type, "sp_trainer_run", NULL);
        if (rc)
            return rc;
    }
    int rc = SP_OK;
    for (int64_t i = 0; i < steps && !rc; i++) {
        rc = train_step(t);
        if (!rc) {
            int stop = t->o.progress ? t->o.progress("train", (uint64_t)i + 1, (uint64_t)steps, t->o.progress_payload)
                                     : sp__progress("train", (uint64_t)i + 1, (uint64_t)steps);
            if (stop)
                rc = sp__error(SP_ERR_CANCELLED, "sp_trainer_run: cancelled by the progress callback after step %lld",
                               (long long)t->optim.step);
        }
    }
    /* The figures of the last step done, also when a later one failed. */
    if (stats && t->optim.step > 0)
        sp__options_write(stats, &t->last, &stats_type, "sp_trainer_run");
    return rc;
}

int sp_trainer_get_stats(const sp_trainer *t, sp_train_stats *stats)
{
    if (!t || !stats)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_get_stats: %s is NULL", t ? "stats" : "trainer");
    return sp__options_write(stats, &t->last, &stats_type, "sp_trainer_get_stats");
}
