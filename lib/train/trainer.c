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
                                                       sizeof(sp_trainer_options), &trainer_defaults,
                                                       { offsetof(sp_trainer_options, neighbours) } };
static const sp_train_stats stats_defaults = SP_TRAIN_STATS_INIT;
static const sp__options_type stats_type = { "sp_train_stats", SP_TRAIN_STATS_VERSION, sizeof(sp_train_stats),
                                             &stats_defaults, { offsetof(sp_train_stats, regularisation) } };

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
    else if (o->micro_batches < 1 || o->micro_batches > o->batch_size || o->batch_size % o->micro_batches)
        bad = "micro_batches (1..batch_size, dividing batch_size)";
    else if (!finite_at_least(o->neighbour_dropout, 0) || o->neighbour_dropout > 1)
        bad = "neighbour_dropout ([0, 1])";
    else if (!finite_at_least(o->neighbour_randomise, 0) || o->neighbour_randomise > 1)
        bad = "neighbour_randomise ([0, 1])";
    else if (!finite_at_least(o->neighbour_regularisation, 0))
        bad = "neighbour_regularisation (finite, >= 0)";
    else if (o->zero_neighbours != 0 && o->zero_neighbours != 1)
        bad = "zero_neighbours (0 or 1)";
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
    sp__neighbour_batch_free(t->nb);
    free(t->positions);
    free(t->symmetry);
    free(t->nbr);
    free(t->reduce_buf);
    free(t->stats_start);
    free(t);
}

/* Room for one slice: batch_size / micro_batches positions (a replica's
 * slices are no larger). */
static int allocate_batch(sp_trainer *t)
{
    size_t n = (size_t)(t->o.batch_size / t->o.micro_batches), steps = (size_t)t->o.unroll + 1, a = (size_t)t->actions;
    t->planes = malloc(n * t->plane_floats * sizeof *t->planes);
    t->policy = malloc(n * steps * a * sizeof *t->policy);
    t->value = malloc(n * steps * sizeof *t->value);
    t->action = malloc((n * (steps - 1) + 1) * sizeof *t->action); /* + 1: K = 0 still allocates */
    t->mask = malloc(n * steps);
    t->t_policy = malloc(n * steps * a * sizeof *t->t_policy);
    t->t_value = malloc(n * steps * sizeof *t->t_value);
    t->t_action = malloc((n * (steps - 1) + 1) * sizeof *t->t_action);
    t->t_mask = malloc(n * steps * sizeof *t->t_mask);
    if (t->nb) {
        t->positions = malloc(n * sizeof *t->positions);
        t->symmetry = malloc(n * sizeof *t->symmetry);
        t->nbr = malloc(n * sp__neighbour_batch_sample_floats(t->nb) * sizeof *t->nbr);
    }
    if (!t->planes || !t->policy || !t->value || !t->action || !t->mask || !t->t_policy || !t->t_value ||
        !t->t_action || !t->t_mask || (t->nb && (!t->positions || !t->symmetry || !t->nbr)))
        return sp__error(SP_ERR_NOMEM, "sp_trainer_create: out of memory for batches of %d positions",
                         t->o.batch_size);
    return SP_OK;
}

int sp__train_spn_positions(const sp_neighbours *file, uint64_t **out, uint64_t *out_count, const char *fn)
{
    uint64_t count = sp_neighbours_count(file);
    *out = malloc((count ? count : 1) * sizeof **out);
    if (!*out)
        return sp__error(SP_ERR_NOMEM, "%s: out of memory for %llu positions", fn, (unsigned long long)count);
    for (uint64_t r = 0; r < count; r++) {
        int rc = sp_neighbours_row(file, r, &(*out)[r], NULL, NULL);
        if (rc) {
            free(*out);
            *out = NULL;
            return rc;
        }
    }
    *out_count = count;
    return SP_OK;
}

sp__neighbour_rng sp__train_neighbour_rng(uint64_t seed, uint64_t batch)
{
    sp__neighbour_rng rng;
    sp__neighbour_rng_seed(&rng, sp__mix64(seed ^ 0x6e65696768626f72ull));
    rng.batch = batch;
    return rng;
}

/* A retrieval model's options: the file needed and indexed, its embedder
 * the model's (recorded once the trainer exists); a model without
 * neighbours takes none. */
static int neighbour_setup(sp_trainer *t, sp_model *model, const sp_dataset *ds)
{
    const sp_trainer_options *o = &t->o;
    int32_t count = model->opts.neighbours;
    if (count == 0) {
        if (o->neighbours || o->neighbour_dropout > 0 || o->neighbour_randomise > 0 ||
            o->neighbour_regularisation > 0 || o->zero_neighbours)
            return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: the model reads no neighbours; the neighbour "
                             "options are for a model with neighbours > 0");
        return SP_OK;
    }
    if (!o->neighbours)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: the model reads %d neighbours: give the training "
                         "positions' pre-computed neighbours (options.neighbours, a .spn file)", (int)count);
    uint64_t id = sp_neighbours_embedder_id(o->neighbours);
    if (model->embedder_id && id != model->embedder_id)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_create: the model was trained on neighbours of embedder "
                         "%016llx, the neighbour file's are of embedder %016llx",
                         (unsigned long long)model->embedder_id, (unsigned long long)id);
    sp__neighbour_options no = SP__NEIGHBOUR_OPTIONS_INIT;
    no.neighbours = count;
    no.dropout = o->neighbour_dropout;
    no.randomise = o->neighbour_randomise;
    no.zero_neighbours = o->zero_neighbours;
    no.threads = o->threads;
    int rc = sp__neighbour_batch_create(&t->nb, ds, o->neighbours, &no);
    if (rc)
        return sp__error(rc, "sp_trainer_create: %s", sp_last_error());
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
    t->replicas = 1;
    t->rows = o.batch_size;
    t->micro_rows = o.batch_size / o.micro_batches;
    optim_config(&o, &t->optim.config);
    rc = sp__optim_check(&t->optim.config);
    if (!rc)
        rc = neighbour_setup(t, model, ds);
    uint64_t *listed = NULL, listed_count = 0;
    if (!rc && t->nb)
        rc = sp__train_spn_positions(o.neighbours, &listed, &listed_count, "sp_trainer_create");
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
    so.positions = listed;
    so.position_count = listed_count;
    if (!rc)
        rc = sp_sampler_create(&t->sampler, ds, &so);
    free(listed);
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
    /* Only a trainer that exists changes the model: its neighbours' embedder and regulariser. */
    if (t->nb) {
        model->embedder_id = sp_neighbours_embedder_id(o.neighbours);
        model->net.reg_weight = o.neighbour_regularisation;
    }
    pthread_mutex_lock(&live_lock);
    t->next_live = live;
    live = t;
    pthread_mutex_unlock(&live_lock);
    *out = t;
    return SP_OK;
}

/* The sampler's position-major slice as the network's step-major targets;
 * past a game's end the policy row is zero (no policy loss) and the mask 0
 * (no value loss), the action the sampler's random one. */
static void to_targets(sp_trainer *t)
{
    const size_t n = (size_t)t->micro_rows, K = (size_t)t->o.unroll, a = (size_t)t->actions;
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

/* Slice j of this trainer's rows of the current batch: drawn, unrolled,
 * its gradients added into the parameters' (the losses its mean over its
 * rows). */
static int run_slice(sp_trainer *t, int32_t j, sp__model_losses *losses)
{
    sp_batch b = { SP_BATCH_VERSION, t->micro_rows, t->planes, t->action, t->policy, t->value, t->mask,
                   t->positions, t->symmetry };
    int64_t first = (int64_t)t->first_row + (int64_t)j * t->micro_rows;
    int rc = sp__sampler_draw_rows(t->sampler, &b, first);
    /* The neighbours' dice follow the sampler's batch number, which a
     * checkpoint restores: a resumed run draws the same. */
    if (!rc && t->nb) {
        sp__neighbour_rng rng = sp__train_neighbour_rng(t->o.seed, sp__sampler_batch_no(t->sampler));
        rc = sp__neighbour_batch_fill(t->nb, &rng, t->positions, t->symmetry, t->micro_rows, first, t->nbr,
                                      (size_t)t->micro_rows * sp__neighbour_batch_sample_floats(t->nb));
    }
    if (rc)
        return rc;
    to_targets(t);
    sp__model_net *net = &t->model->net;
    net->value_weight = (float)t->o.value_weight;
    sp__model_targets targets = { t->t_policy, t->t_value, t->t_action, t->t_mask };
    return sp__model_net_unroll(net, t->planes, t->nb ? t->nbr : NULL, t->micro_rows, t->o.unroll, &targets,
                                SP__MODEL_TRAIN, losses);
}

/* The step's figures, in one vector of floats (what data-parallel replicas
 * sum in one exchange): the gradients of the trained parameters, the
 * running statistics (buffers), the loss figures (total, policy[0..K],
 * value[0..K], the neighbour regulariser), then one status per replica. */
enum { FIG_GRADS, FIG_STATS };
enum { FIG_READ, FIG_ADD, FIG_WRITE };

static int in_part(const sp__param *p, int part)
{
    return part == FIG_GRADS ? p->grad != NULL : (p->flags & SP__PARAM_BUFFER) != 0;
}

static size_t part_floats(const sp__params *ps, int part)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->count; i++)
        n += in_part(ps->items[i], part) ? ps->items[i]->count : 0;
    return n;
}

static size_t loss_floats(const sp_trainer *t) { return 2 + 2 * ((size_t)t->o.unroll + 1); }

/* v (a part's floats) read from, added to, or written into the parameters:
 * gradients for FIG_GRADS, values for FIG_STATS. */
static int copy_part(sp__params *ps, int part, float *v, int how)
{
    for (size_t i = 0; i < ps->count; i++) {
        sp__param *p = ps->items[i];
        if (!in_part(p, part))
            continue;
        dnnl_memory_t mem = part == FIG_GRADS ? p->grad : p->value;
        void *ptr;
        int rc = sp__nn_map(mem, &ptr);
        if (rc)
            return rc;
        float *x = ptr;
        if (how == FIG_READ)
            memcpy(v, x, p->count * sizeof *v);
        else if (how == FIG_WRITE)
            memcpy(x, v, p->count * sizeof *v);
        else
            for (size_t k = 0; k < p->count; k++)
                v[k] += x[k];
        sp__nn_unmap(mem, ptr);
        if (how == FIG_WRITE && part == FIG_STATS)
            p->version++;
        v += p->count;
    }
    return SP_OK;
}

size_t sp__trainer_reduce_floats(const sp_trainer *t)
{
    const sp__params *ps = &t->model->net.ps;
    return part_floats(ps, FIG_GRADS) + part_floats(ps, FIG_STATS) + loss_floats(t) + (size_t)t->replicas;
}

static int ensure_figures(sp_trainer *t)
{
    size_t stats = part_floats(&t->model->net.ps, FIG_STATS);
    if (!t->reduce_buf) {
        t->reduce_count = sp__trainer_reduce_floats(t);
        t->reduce_buf = malloc(t->reduce_count * sizeof *t->reduce_buf);
    }
    if (!t->stats_start) {
        t->stats_floats = stats;
        t->stats_start = malloc((stats ? stats : 1) * sizeof *t->stats_start);
    }
    if (!t->reduce_buf || !t->stats_start)
        return sp__error(SP_ERR_NOMEM, "out of memory for a step's %zu figures", t->reduce_count);
    return SP_OK;
}

/* The slices of this trainer's rows, each from the same running statistics
 * and with gradients of its own, summed into the figures; the figures then
 * summed over the replicas by the hook and divided by slices x replicas;
 * the gradients, statistics and losses written back. One replica with M
 * slices is so the same computation as M replicas with one slice each. */
static int sliced_pass(sp_trainer *t, sp__model_losses *out)
{
    sp__params *ps = &t->model->net.ps;
    const int M = t->o.micro_batches, K = t->o.unroll;
    int rc = ensure_figures(t);
    if (rc)
        return rc;
    float *grads = t->reduce_buf, *stats = grads + part_floats(ps, FIG_GRADS), *fig = stats + t->stats_floats;
    float *status = fig + loss_floats(t);
    rc = copy_part(ps, FIG_STATS, t->stats_start, FIG_READ);
    for (int j = 0; j < M && !rc; j++) {
        sp__model_losses l;
        if (j)
            rc = copy_part(ps, FIG_STATS, t->stats_start, FIG_WRITE);
        if (!rc)
            rc = sp__params_zero_grad(ps);
        if (!rc)
            rc = run_slice(t, j, &l);
        if (!rc)
            rc = copy_part(ps, FIG_GRADS, grads, j ? FIG_ADD : FIG_READ);
        if (!rc)
            rc = copy_part(ps, FIG_STATS, stats, j ? FIG_ADD : FIG_READ);
        for (int k = 0; !rc && k <= K; k++) {
            float v[3] = { (float)l.total, (float)l.policy[k], (float)l.value[k] };
            size_t at[3] = { 0, 1 + (size_t)k, 2 + (size_t)K + (size_t)k };
            for (int i = k ? 1 : 0; i < 3; i++)
                fig[at[i]] = j ? fig[at[i]] + v[i] : v[i];
        }
        if (!rc)
            fig[3 + 2 * K] = j ? fig[3 + 2 * K] + (float)l.regulariser : (float)l.regulariser;
    }
    memset(status, 0, (size_t)t->replicas * sizeof *status);
    status[t->replica] = (float)rc;
    /* Every replica reaches the exchange, also one that failed: the others
     * would wait for it forever otherwise. */
    if (t->reduce) {
        int hook = t->reduce(t->reduce_buf, t->reduce_count, t->reduce_payload);
        if (!rc)
            rc = hook;
    }
    for (int r = 0; r < t->replicas && !rc; r++)
        if (status[r] != 0)
            rc = sp__error(SP_ERR_MISUSE, "sp_trainer_run: replica %d of %d failed (%s); see its sp_last_error()",
                           r, t->replicas, sp_status_str((int)status[r]));
    if (rc) {
        /* The statistics as they were: the failed step did not happen. */
        copy_part(ps, FIG_STATS, t->stats_start, FIG_WRITE);
        return rc;
    }
    const float scale = (float)(1.0 / ((double)M * (double)t->replicas));
    for (float *v = t->reduce_buf; v < status; v++)
        *v *= scale;
    rc = copy_part(ps, FIG_GRADS, grads, FIG_WRITE);
    if (!rc)
        rc = copy_part(ps, FIG_STATS, stats, FIG_WRITE);
    out->total = fig[0];
    for (int k = 0; k <= K; k++) {
        out->policy[k] = fig[1 + k];
        out->value[k] = fig[2 + K + k];
    }
    out->regulariser = fig[3 + 2 * K];
    return rc;
}

/* One optimizer step; on failure the sampler is wound back so the trainer
 * stays at the step it had. */
static int train_step(sp_trainer *t)
{
    sp__model_net *net = &t->model->net;
    uint64_t batch_no = sp__sampler_batch_no(t->sampler);
    sp__model_losses losses;
    int64_t step = t->optim.step;
    int rc;
    /* The whole batch at once: the computation as it was before slices. */
    if (t->o.micro_batches == 1 && t->replicas == 1 && !t->reduce) {
        rc = sp__params_zero_grad(&net->ps);
        if (!rc)
            rc = run_slice(t, 0, &losses);
    } else
        rc = sliced_pass(t, &losses);
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
    sp__sampler_set_batch_no(t->sampler, rc ? batch_no : batch_no + 1);
    if (rc)
        return rc;
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
    s->regularisation = losses.regulariser;
    s->positions = (uint64_t)t->optim.step * (uint64_t)t->o.batch_size;
    return SP_OK;
}

int sp__trainer_set_replica(sp_trainer *t, int replica, int replicas)
{
    if (!t || replicas < 1 || replica < 0 || replica >= replicas)
        return sp__error(SP_ERR_INVALID_ARG, "sp__trainer_set_replica: %s",
                         t ? "replica out of range" : "trainer is NULL");
    int64_t parts = (int64_t)replicas * t->o.micro_batches;
    if (t->o.batch_size % parts)
        return sp__error(SP_ERR_INVALID_ARG, "options batch_size %d and micro_batches %d: the batch does not split "
                         "into %d replicas x %d micro-batches (batch_size must be a multiple of %lld)",
                         t->o.batch_size, t->o.micro_batches, replicas, t->o.micro_batches, (long long)parts);
    t->replica = replica;
    t->replicas = replicas;
    t->rows = t->o.batch_size / replicas;
    t->first_row = replica * t->rows;
    t->micro_rows = t->rows / t->o.micro_batches;
    /* The figures' room now, not at a step: a replica that could not get
     * it there would never reach the exchange the others wait in. Its
     * status slots follow the replica count. */
    free(t->reduce_buf);
    t->reduce_buf = NULL;
    return ensure_figures(t);
}

void sp__trainer_set_reduce(sp_trainer *t, sp__trainer_reduce_fn fn, void *payload)
{
    t->reduce = fn;
    t->reduce_payload = payload;
}

size_t sp__trainer_state_floats(const sp_trainer *t) { return sp__params_total(&t->model->net.ps); }

int sp__trainer_read_state(const sp_trainer *t, float *out)
{
    const sp__params *ps = &t->model->net.ps;
    for (size_t i = 0; i < ps->count; i++) {
        int rc = sp__param_read(ps->items[i], out);
        if (rc)
            return rc;
        out += ps->items[i]->count;
    }
    return SP_OK;
}

int sp__trainer_write_state(sp_trainer *t, const float *in)
{
    sp__params *ps = &t->model->net.ps;
    int rc = SP_OK;
    for (size_t i = 0; i < ps->count && !rc; i++) {
        rc = sp__param_write(ps->items[i], in);
        in += ps->items[i]->count;
    }
    sp__model_params_changed(t->model);
    return rc;
}

int sp__trainer_report(const sp_trainer *t, uint64_t done, uint64_t total)
{
    return t->o.progress ? t->o.progress("train", done, total, t->o.progress_payload)
                         : sp__progress("train", done, total);
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
        if (!rc && !t->reduce) {
            if (sp__trainer_report(t, (uint64_t)i + 1, (uint64_t)steps))
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
