/* sp-bench agent: time per move of the agent (agent.h) at the paper's 200
 * simulations, split by stage (embedding the queries, searching the index
 * and reading the neighbours, the search itself), for the retrieval model
 * beside the baseline agent of equal capacity in the same run, in both
 * search modes. The positions are mid-game positions of the dataset's test
 * games; each move is searched from a fresh tree. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <semiparam.h>

#include "bench.h"

#define MAX_POSITIONS 10000

typedef struct agent_bench_options {
    const char *spd, *index, *models, *baseline;
    uint64_t build;      /* training positions indexed when no --index is given */
    uint32_t positions;  /* moves timed per configuration */
    int32_t simulations, threads;
    uint32_t nprobe;
} agent_bench_options;

static int agent_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-bench agent --spd D.spd [--index I.spi] [--models DIR] [--baseline M.spm] [--build N]\n"
            "                      [--positions N] [--simulations N] [--threads T] [--nprobe N]\n"
            "  --spd D.spd        the dataset: the index's positions, and its test games give the positions\n"
            "  --index I.spi      the retrieval set, built with DIR/embedder.spe over D.spd's positions;\n"
            "                     without it one is built now from --build training positions\n"
            "  --models DIR       retrieval.spm, embedder.spe and baseline.spm, the embedder's model (default\n"
            "                     models)\n"
            "  --baseline M.spm   the agent without retrieval to compare with (default DIR/baseline.spm; the\n"
            "                     retrieval model's equal-capacity baseline, trained with every x_i = 0, is\n"
            "                     the fair one, and runs with every x_i = 0)\n"
            "  --build N          training positions indexed without --index (default 100000)\n"
            "  --positions N      moves timed per agent and mode (default 20)\n"
            "  --simulations N    per move (default 200)\n"
            "  --threads T        search threads (default 2)\n"
            "  --nprobe N         IVF lists visited per query (default: the index's)\n");
    return out == stdout ? 0 : 2;
}

static int fail(const char *what)
{
    fprintf(stderr, "sp-bench agent: %s: %s\n", what, sp_last_error());
    return 1;
}

/* 0, 2 for a bad command line (said on stderr), -1 after --help. */
static int parse(agent_bench_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return agent_usage(stdout) - 1;
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-bench agent: %s needs a value\n", a);
            return agent_usage(stderr);
        }
        const char *v = argv[++i];
        char *end;
        double x = strtod(v, &end);
        int bad = end == v || *end || !(x >= 1) || x != floor(x);
        if (!strcmp(a, "--spd") || !strcmp(a, "--index") || !strcmp(a, "--models") || !strcmp(a, "--baseline")) {
            *(a[2] == 's' ? &o->spd : a[2] == 'i' ? &o->index : a[2] == 'm' ? &o->models : &o->baseline) = v;
            bad = 0;
        } else if (!strcmp(a, "--build")) {
            bad |= x > 1e10;
            o->build = (uint64_t)x;
        } else if (!strcmp(a, "--positions")) {
            bad |= x > MAX_POSITIONS;
            o->positions = (uint32_t)x;
        } else if (!strcmp(a, "--simulations") || !strcmp(a, "--threads") || !strcmp(a, "--nprobe")) {
            bad |= x > 1e6;
            if (a[2] == 's')
                o->simulations = (int32_t)x;
            else if (a[2] == 't')
                o->threads = (int32_t)x;
            else
                o->nprobe = (uint32_t)x;
        } else {
            fprintf(stderr, "sp-bench agent: unknown option %s\n", a);
            return agent_usage(stderr);
        }
        if (bad) {
            fprintf(stderr, "sp-bench agent: %s %s: out of range (see --help)\n", a, v);
            return 2;
        }
    }
    if (!o->spd) {
        fprintf(stderr, "sp-bench agent: --spd is needed\n");
        return agent_usage(stderr);
    }
    return 0;
}

/* What the bench loads once. */
typedef struct world {
    sp_dataset *ds;
    sp_model *embed_model, *baseline, *retrieval; /* baseline: the embedder's model unless --baseline */
    sp_embedder *embedder;
    sp_retriever *retriever;
    sp_game **games; /* the positions timed */
    uint32_t n_games;
} world;

static void world_close(world *w)
{
    for (uint32_t i = 0; i < w->n_games; i++)
        sp_game_free(w->games[i]);
    free(w->games);
    sp_retriever_free(w->retriever);
    sp_embedder_free(w->embedder);
    sp_model_free(w->retrieval);
    if (w->baseline != w->embed_model)
        sp_model_free(w->baseline);
    sp_model_free(w->embed_model);
    sp_dataset_free(w->ds);
}

/* Every `stride`-th of the dataset's positions of `part`, at most `max`. */
static uint64_t *spread_positions(const sp_dataset *ds, int part, uint64_t max, size_t *count)
{
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    size_t all = 0;
    int rc = sp_dataset_positions(ds, part, &so, NULL, 0, &all);
    uint64_t *p = (rc == SP_OK || rc == SP_ERR_BUFFER_TOO_SMALL) && all ? malloc(all * sizeof *p) : NULL;
    if (!p || sp_dataset_positions(ds, part, &so, p, all, &all)) {
        free(p);
        return NULL;
    }
    const size_t kept = all < max ? all : (size_t)max, stride = all / kept;
    for (size_t i = 0; i < kept; i++)
        p[i] = p[i * stride];
    *count = kept;
    return p;
}

/* The retrieval set: --build training positions keyed by the embedder, indexed with the default factory. */
static int build_index(world *w, uint64_t build)
{
    size_t n = 0;
    uint64_t *positions = spread_positions(w->ds, SP_PART_TRAIN, build, &n);
    const uint32_t dim = sp_embedder_dim(w->embedder);
    float *keys = positions ? malloc(n * dim * sizeof *keys) : NULL;
    uint32_t *games = positions ? malloc(n * sizeof *games) : NULL;
    int rc = keys && games ? SP_OK : SP_ERR_NOMEM;
    const double t0 = bench_now();
    if (!rc)
        rc = sp_embedder_embed_positions(w->embedder, w->ds, positions, n, keys, games);
    sp_retriever_options ro;
    sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
    ro.embedder_id = sp_embedder_id(w->embedder);
    if (!rc)
        rc = sp_retriever_build(&w->retriever, keys, positions, games, n, dim, &ro);
    if (!rc)
        printf("index      %zu training positions keyed and indexed (%s) in %.0f s\n", n,
               sp_retriever_factory(w->retriever), bench_now() - t0);
    free(positions);
    free(keys);
    free(games);
    return rc ? fail("building the index") : 0;
}

/* Positions at moves 10..40 of test games, spread over the split. */
static int pick_positions(world *w, uint32_t count)
{
    size_t n = 0;
    uint64_t *positions = spread_positions(w->ds, SP_PART_TEST, (uint64_t)count * 50, &n);
    w->games = calloc(count, sizeof *w->games);
    if (!positions || !w->games) {
        free(positions);
        fprintf(stderr, "sp-bench agent: no test positions in the dataset\n");
        return 1;
    }
    for (size_t i = 0; i < n && w->n_games < count; i++) {
        uint64_t game;
        uint32_t move;
        if (sp_dataset_position_locate(w->ds, positions[i], &game, &move) || move < 10 || move > 40)
            continue;
        if (sp_dataset_game_replay(w->ds, game, (int)move, &w->games[w->n_games]) == SP_OK)
            w->n_games++;
    }
    free(positions);
    if (w->n_games < count)
        fprintf(stderr, "sp-bench agent: only %u positions at moves 10..40 in the test games\n", w->n_games);
    return w->n_games ? 0 : 1;
}

static int world_open(world *w, const agent_bench_options *o)
{
    char path[4096];
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    nn.threads = 1; /* the search's workers are the parallelism */
    if (sp_dataset_load(&w->ds, o->spd))
        return fail(o->spd);
    snprintf(path, sizeof path, "%s/baseline.spm", o->models);
    if (sp_model_load(&w->embed_model, path, &nn))
        return fail(path);
    w->baseline = w->embed_model;
    if (o->baseline && sp_model_load(&w->baseline, o->baseline, &nn))
        return fail(o->baseline);
    snprintf(path, sizeof path, "%s/retrieval.spm", o->models);
    if (sp_model_load(&w->retrieval, path, &nn))
        return fail(path);
    snprintf(path, sizeof path, "%s/embedder.spe", o->models);
    if (sp_embedder_load(&w->embedder, path, w->embed_model))
        return fail(path);
    if (o->index && sp_retriever_load(&w->retriever, o->index, 0, NULL))
        return fail(o->index);
    if (!o->index && build_index(w, o->build))
        return 1;
    return pick_positions(w, o->positions);
}

/* Medians over the positions of one agent: seconds per move and per stage. */
typedef struct agent_figure {
    double move, embed, retrieve, search, queries;
} agent_figure;

/* retrieval 0: the baseline; 1: the retrieval agent (the root's neighbours for every position);
   2: the same, every real position retrieving its own. */
static int time_agent(world *w, const agent_bench_options *o, int retrieval, int mode, agent_figure *out)
{
    sp_agent_options ao = SP_AGENT_OPTIONS_INIT;
    ao.per_node_neighbours = retrieval == 2;
    ao.simulations = o->simulations;
    ao.threads = o->threads;
    ao.mode = mode;
    ao.nprobe = o->nprobe;
    sp_agent *a = NULL;
    /* A baseline of the retrieval architecture runs with every x_i = 0. */
    sp_model_options mo = SP_MODEL_OPTIONS_INIT;
    ao.zero_neighbours = !retrieval && sp_model_get_options(w->baseline, &mo) == SP_OK && mo.neighbours > 0;
    int rc = retrieval ? sp_agent_create(&a, w->retrieval, w->embedder, w->retriever, w->ds, &ao)
                       : sp_agent_create(&a, w->baseline, NULL, NULL, NULL, &ao);
    if (rc)
        return fail("creating the agent");
    const uint32_t n = w->n_games;
    double *v = malloc(5 * (size_t)n * sizeof *v);
    if (!v) {
        sp_agent_free(a);
        return fail("out of memory");
    }
    /* One move first, untimed: the network's workspaces are made on the first call. */
    int32_t move;
    rc = sp_agent_genmove(a, w->games[0], 0.0, &move);
    for (uint32_t i = 0; i < n && !rc; i++) {
        sp_agent_report r = SP_AGENT_REPORT_INIT;
        rc = sp_agent_genmove(a, w->games[i], 0.0, &move) || sp_agent_report_get(a, &r);
        v[i] = r.seconds;
        v[n + i] = r.seconds_embed;
        v[2 * n + i] = r.seconds_retrieve;
        v[3 * n + i] = r.seconds_search;
        v[4 * n + i] = (double)r.queries;
    }
    sp_agent_free(a);
    if (!rc) {
        out->move = bench_median(v, n);
        out->embed = bench_median(v + n, n);
        out->retrieve = bench_median(v + 2 * n, n);
        out->search = bench_median(v + 3 * n, n);
        out->queries = bench_median(v + 4 * n, n);
    }
    free(v);
    return rc ? fail("a move") : 0;
}

/* A retrieval agent's row, against its baseline's time per move, and its retrieval's share. */
static void print_retrieval_row(const char *name, const char *mode, const agent_figure *ret,
                                const agent_figure *base, int threads)
{
    printf("%-9s %-8s %9.3f %9.4f %9.4f %9.3f %9.0f %9.2f\n", name, mode, ret->move, ret->embed, ret->retrieve,
           ret->search, ret->queries, ret->move / base->move);
    printf("           retrieval's share of the workers' time (embed + retrieve over threads x s/move): %.1f%%\n",
           100.0 * (ret->embed + ret->retrieve) / (threads * ret->move));
}

int bench_agent(int argc, char **argv)
{
    agent_bench_options o = { NULL, NULL, "models", NULL, 100000, 20, 200, 2, 0 };
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    world w = { 0 };
    if (world_open(&w, &o)) {
        world_close(&w);
        return 1;
    }
    printf("agent      %u positions (moves 10..40 of test games), %d simulations, %d threads, fresh tree each; "
           "medians\n", w.n_games, o.simulations, o.threads);
    printf("%-9s %-8s %9s %9s %9s %9s %9s %9s\n", "agent", "mode", "s/move", "embed s", "retrieve", "search s",
           "queries", "x base");
    static const char *const modes[] = { "learned", "rules" };
    rc = 0;
    for (int mode = SP_MODEL_SEARCH_LEARNED; mode <= SP_MODEL_SEARCH_RULES && !rc; mode++) {
        agent_figure base, ret;
        rc = time_agent(&w, &o, 0, mode, &base) || time_agent(&w, &o, 1, mode, &ret);
        if (rc)
            break;
        printf("%-9s %-8s %9.3f %9s %9s %9.3f %9s %9s\n", "baseline", modes[mode], base.move, "-", "-", base.search,
               "-", "1");
        print_retrieval_row("retrieval", modes[mode], &ret, &base, o.threads);
        if (mode != SP_MODEL_SEARCH_RULES)
            continue;
        /* Rules mode evaluates real positions at every node: each may retrieve its own. */
        rc = time_agent(&w, &o, 2, mode, &ret);
        if (rc)
            break;
        print_retrieval_row("per-node", modes[mode], &ret, &base, o.threads);
    }
    world_close(&w);
    return rc ? 1 : 0;
}
