/* sp-train's options as one table: the parser, the usage text and the
 * architecture check all read it, so an option cannot be parsed but left
 * out of --help, or range-checked in one place and not another. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "train_args.h"

enum kind { K_STR, K_FLAG, K_INT, K_I32, K_I64, K_U64, K_F32, K_F64, K_CHOICE };
enum mode { TRAIN = 1, EVAL = 2, BOTH = 3 };
enum group { G_RUN, G_EVAL, G_ARCH, G_OPT, G_DATA, G_RETRIEVAL, G_NN };

typedef struct option {
    const char *name, *value, *help;
    enum kind kind;
    enum mode mode;
    enum group group;
    size_t offset; /* of the field in train_args */
    double min, max;
    const char *choices; /* K_CHOICE: the names of values 0, 1, ... separated by '|' */
} option;

#define AT(field) offsetof(train_args, field)
#define I32MAX 2147483647.0
#define I64MAX 9.2e18 /* below INT64_MAX, exactly representable as a double */
#define U64MAX 18446744073709551615.0 /* 2^64 as a double: strtoull's ERANGE guards the top */

static const option options[] = {
    { "--dataset", "D.spd", "the games (the model's board size is the dataset's)", K_STR, BOTH, G_RUN, AT(dataset), 0, 0, NULL },
    { "--out", "M.spm", "where the trained model goes (written atomically at the end)", K_STR, TRAIN, G_RUN, AT(out), 0, 0, NULL },
    { "--steps", "N", "train until step N (a resumed run continues to N)", K_I64, TRAIN, G_RUN, AT(steps), 1, I64MAX, NULL },
    { "--minutes", "M", "stop after M minutes of this run, whichever of the two comes first", K_F64, TRAIN, G_RUN, AT(minutes), 0, 1e7, NULL },
    { "--checkpoint", "FILE", "the checkpoint (default OUT.ckpt)", K_STR, TRAIN, G_RUN, AT(checkpoint), 0, 0, NULL },
    { "--checkpoint-minutes", "M", "a checkpoint every M minutes (default 5; 0 = only by steps and at the end)", K_F64, TRAIN, G_RUN, AT(checkpoint_minutes), 0, 1e7, NULL },
    { "--checkpoint-every", "N", "a checkpoint every N steps as well (default 0 = by minutes only)", K_I64, TRAIN, G_RUN, AT(checkpoint_every), 0, I64MAX, NULL },
    { "--resume", NULL, "continue from the checkpoint (architecture from it; the log is appended)", K_FLAG, TRAIN, G_RUN, AT(resume), 0, 0, NULL },
    { "--log", "FILE.csv", "CSV log of training and test rows", K_STR, TRAIN, G_RUN, AT(log), 0, 0, NULL },
    { "--log-every", "N", "a training row every N steps: the means over them (default 10)", K_I64, TRAIN, G_RUN, AT(log_every), 1, I64MAX, NULL },
    { "--eval-every", "N", "test metrics every N steps (default 0 = only at the end)", K_I64, TRAIN, G_RUN, AT(eval_every), 0, I64MAX, NULL },
    { "--eval-positions", "N", "test positions they use: a fixed sample (default 2000; 0 = all)", K_U64, TRAIN, G_RUN, AT(eval_positions), 0, U64MAX, NULL },

    { "--evaluate", "M.spm", "print the test metrics of a model instead of training", K_STR, EVAL, G_EVAL, AT(evaluate), 0, 0, NULL },
    { "--positions", "N", "a uniform sample of N test positions (default 0 = all)", K_U64, EVAL, G_EVAL, AT(eval_positions), 0, U64MAX, NULL },
    { "--eval-batch", "N", "positions per network call when evaluating (default 256)", K_INT, BOTH, G_EVAL, AT(eval_batch), 1, 65536, NULL },

    { "--history", "H", "past positions in the input planes (default 8)", K_I32, TRAIN, G_ARCH, AT(model.history), 0, 64, NULL },
    { "--channels", "C", "hidden-state channels (default 64)", K_I32, TRAIN, G_ARCH, AT(model.channels), 1, 4096, NULL },
    { "--repr-blocks", "N", "residual blocks of the representation (default 6)", K_I32, TRAIN, G_ARCH, AT(model.repr_blocks), 0, 256, NULL },
    { "--dyn-blocks", "N", "residual blocks of the dynamics (default 2)", K_I32, TRAIN, G_ARCH, AT(model.dyn_blocks), 0, 256, NULL },
    { "--policy-channels", "N", "policy head's 1x1 channels (default 2)", K_I32, TRAIN, G_ARCH, AT(model.policy_channels), 1, 4096, NULL },
    { "--value-channels", "N", "value head's 1x1 channels (default 1)", K_I32, TRAIN, G_ARCH, AT(model.value_channels), 1, 4096, NULL },
    { "--value-hidden", "N", "value head's hidden units (default 64)", K_I32, TRAIN, G_ARCH, AT(model.value_hidden), 1, 65536, NULL },
    { "--neighbours", "N", "retrieved neighbours the model reads (default 0: no retrieval; N > 0 needs --neighbour-file)", K_I32, TRAIN, G_ARCH, AT(model.neighbours), 0, 64, NULL },
    { "--neighbour-channels", "C", "with --neighbours: the hidden state's channels for the neighbours' sum (default 16)", K_I32, TRAIN, G_ARCH, AT(model.neighbour_channels), 1, 4096, NULL },
    { "--neighbour-blocks", "N", "with --neighbours: residual blocks of the neighbour network (default 1)", K_I32, TRAIN, G_ARCH, AT(model.neighbour_blocks), 0, 256, NULL },

    { "--batch", "N", "positions per step (default 256)", K_I32, TRAIN, G_OPT, AT(trainer.batch_size), 1, I32MAX, NULL },
    { "--micro-batches", "M", "run each batch as M slices of N/M positions (N a multiple of M), each with its own batch statistics, gradients averaged: memory for N/M (default 1)", K_I32, TRAIN, G_OPT, AT(trainer.micro_batches), 1, 65536, NULL },
    { "--unroll", "K", "unroll steps (default 5; with --evaluate: metrics for k = 0..K)", K_I32, BOTH, G_OPT, AT(trainer.unroll), 0, SP_TRAIN_MAX_UNROLL, NULL },
    { "--symmetries", "0|1", "a random board symmetry per position (default 1)", K_I32, TRAIN, G_OPT, AT(trainer.symmetries), 0, 1, NULL },
    { "--optimizer", "sgd|adamw", "default sgd (with momentum)", K_CHOICE, TRAIN, G_OPT, AT(trainer.optimizer), 0, 0, "sgd|adamw" },
    { "--lr", "X", "peak learning rate (default 0.05)", K_F64, TRAIN, G_OPT, AT(trainer.learning_rate), 0, 1e6, NULL },
    { "--momentum", "X", "SGD momentum (default 0.9)", K_F64, TRAIN, G_OPT, AT(trainer.momentum), 0, 1, NULL },
    { "--beta1", "X", "AdamW beta1 (default 0.9)", K_F64, TRAIN, G_OPT, AT(trainer.adam_beta1), 0, 1, NULL },
    { "--beta2", "X", "AdamW beta2 (default 0.999)", K_F64, TRAIN, G_OPT, AT(trainer.adam_beta2), 0, 1, NULL },
    { "--weight-decay", "X", "default 1e-4", K_F64, TRAIN, G_OPT, AT(trainer.weight_decay), 0, 1e6, NULL },
    { "--value-weight", "X", "weight of the value MSE (default 1)", K_F64, TRAIN, G_OPT, AT(trainer.value_weight), 0, 1e6, NULL },
    { "--clip", "X", "global gradient-norm limit (default 0 = none)", K_F64, TRAIN, G_OPT, AT(trainer.clip_norm), 0, 1e30, NULL },
    { "--schedule", "constant|step|cosine", "after the warm-up (default cosine)", K_CHOICE, TRAIN, G_OPT, AT(trainer.schedule), 0, 0, "constant|step|cosine" },
    { "--warmup", "N", "linear warm-up steps (default 0)", K_I64, TRAIN, G_OPT, AT(trainer.warmup_steps), 0, I64MAX, NULL },
    { "--total-steps", "N", "cosine: the step it ends (default --steps)", K_I64, TRAIN, G_OPT, AT(trainer.total_steps), 1, I64MAX, NULL },
    { "--step-size", "N", "step schedule: steps between decays (default 1000)", K_I64, TRAIN, G_OPT, AT(trainer.step_size), 1, I64MAX, NULL },
    { "--gamma", "X", "step schedule: factor per decay (default 0.1)", K_F64, TRAIN, G_OPT, AT(trainer.gamma), 0, 1, NULL },
    { "--min-lr", "X", "cosine: final learning rate (default 0)", K_F64, TRAIN, G_OPT, AT(trainer.min_lr), 0, 1e6, NULL },
    { "--seed", "S", "the batches (and the test sample, and by default the initial weights; default 1)", K_U64, BOTH, G_OPT, AT(trainer.seed), 0, U64MAX, NULL },

    { "--min-rating", "R", "only games whose weaker player is rated >= R (default 0 = all)", K_F32, BOTH, G_DATA, AT(trainer.min_rating), 0, 1e5, NULL },
    { "--test-fraction", "F", "games held out for testing (default 0.05)", K_F32, BOTH, G_DATA, AT(trainer.test_fraction), 0, 1, NULL },
    { "--split-seed", "S", "which games are held out (default 1, as sp-data split)", K_U64, BOTH, G_DATA, AT(trainer.split_seed), 0, U64MAX, NULL },
    { "--sampler-threads", "N", "threads drawing the batches (default 1)", K_I32, TRAIN, G_DATA, AT(trainer.threads), 1, 1024, NULL },

    { "--neighbour-file", "N.spn", "the training positions' neighbours (sp-index precompute): training draws only its positions; with --evaluate, the evaluated positions' neighbours", K_STR, BOTH, G_RETRIEVAL, AT(neighbour_file), 0, 0, NULL },
    { "--test-neighbour-file", "T.spn", "the test positions' neighbours for the test metrics (without it they read zeros)", K_STR, TRAIN, G_RETRIEVAL, AT(test_neighbour_file), 0, 0, NULL },
    { "--neighbour-dropout", "P", "each neighbour zeroed with probability P (paper 2.3; default 0)", K_F32, TRAIN, G_RETRIEVAL, AT(trainer.neighbour_dropout), 0, 1, NULL },
    { "--neighbour-randomise", "P", "each neighbour replaced by another position's with probability P (default 0)", K_F32, TRAIN, G_RETRIEVAL, AT(trainer.neighbour_randomise), 0, 1, NULL },
    { "--neighbour-regularisation", "W", "weight of the distance to the state without neighbours (default 0)", K_F32, TRAIN, G_RETRIEVAL, AT(trainer.neighbour_regularisation), 0, 1e6, NULL },
    { "--zero-neighbours", NULL, "every neighbour zero: the equal-capacity baseline on the same positions", K_FLAG, TRAIN, G_RETRIEVAL, AT(trainer.zero_neighbours), 0, 0, NULL },
    { "--neighbour-mode", "retrieved|zeroed|random", "with --evaluate: what the model reads (default retrieved)", K_CHOICE, EVAL, G_RETRIEVAL, AT(neighbour_mode), 0, 0, "retrieved|zeroed|random" },
    { "--threads", "N", "the network's OpenMP threads (default 0 = OpenMP's default)", K_INT, BOTH, G_NN, AT(nn.threads), 0, 1024, NULL },
    { "--backend", "auto|cpu|gpu", "default auto", K_CHOICE, BOTH, G_NN, AT(nn.backend), 0, 0, "auto|cpu|gpu" },
    { "--precision", "f32|bf16", "inference arithmetic, for evaluations (default f32)", K_CHOICE, BOTH, G_NN, AT(nn.precision), 0, 0, "f32|bf16" },
    { "--init-seed", "S", "the initial weights (default --seed)", K_U64, TRAIN, G_NN, AT(nn.seed), 0, U64MAX, NULL },
};

#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof ((train_args *)0)->given, "train_args.given has a flag per option");

static const char *const group_title[] = {
    [G_RUN] = "run", [G_EVAL] = "evaluation (with --evaluate: also --unroll, --seed, the data and network options)", [G_ARCH] = "architecture (a new model only; --resume reads it from the checkpoint)",
    [G_OPT] = "optimisation", [G_DATA] = "data", [G_RETRIEVAL] = "retrieval (a model with --neighbours N > 0)", [G_NN] = "network",
};

void train_args_usage(FILE *out)
{
    fprintf(out, "usage: sp-train --dataset D.spd --out M.spm (--steps N | --minutes M) [options]\n"
                 "       sp-train --evaluate M.spm --dataset D.spd [--min-rating R] [--positions N] [--unroll K]\n");
    for (int g = G_RUN; g <= G_NN; g++) {
        fprintf(out, "\n%s:\n", group_title[g]);
        for (size_t i = 0; i < N_OPTIONS; i++) {
            const option *o = &options[i];
            if (o->group != (enum group)g)
                continue;
            char head[64];
            snprintf(head, sizeof head, "%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
            fprintf(out, "  %-32s %s\n", head, o->help);
        }
    }
}

static int choice(const option *o, const char *text, int *out)
{
    const char *p = o->choices;
    size_t len = strlen(text);
    for (int i = 0; p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, text, n)) {
            *out = i;
            return 0;
        }
        p = bar ? bar + 1 : NULL;
    }
    fprintf(stderr, "sp-train: %s takes one of %s, not '%s'\n", o->name, o->choices, text);
    return -1;
}

/* A whole number or a finite decimal within the option's range: strtol and
 * strtod alone take "12x", "" and "-1" for an unsigned field silently. */
static int number(const option *o, const char *text, void *field)
{
    char *end;
    errno = 0;
    int whole = o->kind != K_F32 && o->kind != K_F64;
    double v = 0;
    long long i = 0;
    unsigned long long u = 0;
    if (o->kind == K_U64) {
        u = strtoull(text, &end, 10);
        v = (double)u;
    } else if (whole) {
        i = strtoll(text, &end, 10);
        v = (double)i;
    } else {
        v = strtod(text, &end);
    }
    if (errno || end == text || *end || !isfinite(v) || v < o->min || v > o->max ||
        (o->kind == K_U64 && strchr(text, '-'))) {
        if (whole && o->max > 1e15) /* no one types the 64-bit limit: say "at least" */
            fprintf(stderr, "sp-train: %s takes a whole number of at least %.0f, not '%s'\n", o->name, o->min, text);
        else if (whole)
            fprintf(stderr, "sp-train: %s takes a whole number from %.0f to %.0f, not '%s'\n", o->name, o->min,
                    o->max, text);
        else
            fprintf(stderr, "sp-train: %s takes a number from %g to %g, not '%s'\n", o->name, o->min, o->max, text);
        return -1;
    }
    switch (o->kind) {
    case K_INT: *(int *)field = (int)i; break;
    case K_I32: *(int32_t *)field = (int32_t)i; break;
    case K_I64: *(int64_t *)field = (int64_t)i; break;
    case K_U64: *(uint64_t *)field = u; break;
    case K_F32: *(float *)field = (float)v; break;
    default: *(double *)field = v; break;
    }
    return 0;
}

static int set(const option *o, const char *value, train_args *a)
{
    void *field = (char *)a + o->offset;
    switch (o->kind) {
    case K_STR: *(const char **)field = value; return 0;
    case K_FLAG: *(int *)field = 1; return 0;
    case K_CHOICE: return choice(o, value, (int *)field);
    default: return number(o, value, field);
    }
}

static const option *find(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

static int given(const train_args *a, const char *name)
{
    return a->given[find(name) - options];
}

static void defaults(train_args *a)
{
    memset(a, 0, sizeof *a);
    sp_model_options_init(&a->model, SP_MODEL_OPTIONS_VERSION);
    sp_trainer_options_init(&a->trainer, SP_TRAINER_OPTIONS_VERSION);
    sp_nn_options_init(&a->nn, SP_NN_OPTIONS_VERSION);
    a->log_every = 10;
    a->checkpoint_minutes = 5;
    a->eval_positions = 2000;
    a->eval_batch = 256;
}

/* What the options say together, beyond each one's range. */
static int consistent(train_args *a)
{
    int evaluate = a->evaluate != NULL;
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (a->given[i] && !(options[i].mode & (evaluate ? EVAL : TRAIN))) {
            fprintf(stderr, "sp-train: %s %s\n", options[i].name,
                    evaluate ? "is a training option: it has no meaning with --evaluate"
                             : "goes with --evaluate only");
            return -1;
        }
    if (!a->dataset) {
        fprintf(stderr, "sp-train: no --dataset given\n");
        return -1;
    }
    if (evaluate) {
        if (!given(a, "--positions"))
            a->eval_positions = 0; /* every test position unless a sample is asked for */
        return 0;
    }
    if (!a->out) {
        fprintf(stderr, "sp-train: no --out given (where the trained model goes)\n");
        return -1;
    }
    if (a->model.neighbours > 0 && !a->neighbour_file && !a->resume) {
        fprintf(stderr, "sp-train: --neighbours %d needs --neighbour-file N.spn (the training positions' neighbours, "
                        "sp-index precompute)\n", (int)a->model.neighbours);
        return -1;
    }
    if (!a->steps && !a->minutes) {
        fprintf(stderr, "sp-train: no budget: give --steps N, --minutes M or both\n");
        return -1;
    }
    if (!given(a, "--init-seed"))
        a->nn.seed = a->trainer.seed;
    if (!given(a, "--total-steps")) {
        if (a->trainer.schedule == SP_SCHEDULE_COSINE && !a->steps) {
            fprintf(stderr, "sp-train: --schedule cosine ends at --total-steps, and there is no --steps to take it "
                            "from: give one of the two\n");
            return -1;
        }
        a->trainer.total_steps = a->steps ? a->steps : a->trainer.total_steps;
    }
    return 0;
}

int train_args_parse(int argc, char **argv, train_args *a)
{
    defaults(a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            train_args_usage(stdout);
            return 1;
        }
        const option *o = find(argv[i]);
        if (!o) {
            fprintf(stderr, "sp-train: unknown option '%s' (sp-train --help lists them)\n", argv[i]);
            return -1;
        }
        /* Given twice, the last one counts (a wrapper script's defaults can be overridden). */
        a->given[o - options] = 1;
        if (o->kind == K_FLAG) {
            set(o, NULL, a);
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-train: %s needs a value (%s)\n", o->name, o->value);
            return -1;
        }
        if (set(o, argv[++i], a))
            return -1;
    }
    return consistent(a);
}

int train_args_check_architecture(const train_args *a, const sp_model_options *have, const char *source)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        if (o->group != G_ARCH || !a->given[i])
            continue;
        size_t at = o->offset - offsetof(train_args, model);
        int32_t want = *(const int32_t *)((const char *)&a->model + at);
        int32_t is = *(const int32_t *)((const char *)have + at);
        if (want != is) {
            fprintf(stderr, "sp-train: %s %d, but the model in %s has %d (with --resume the architecture comes "
                            "from the checkpoint: leave the option out or train a new model)\n",
                    o->name, (int)want, source, (int)is);
            return -1;
        }
    }
    return 0;
}
