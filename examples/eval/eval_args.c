/* sp-eval's options: whole numbers through index_number() (which refuses
 * "-1" and overflow instead of wrapping), decimals checked for range, and the
 * neighbour modes as a comma-separated list. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eval_args.h"
#include "index/index_util.h"

static const char *const mode_names[] = { "retrieved", "zeroed", "random" };

const char *eval_mode_name(int mode)
{
    return mode >= 0 && mode < EVAL_MAX_MODES ? mode_names[mode] : "?";
}

void eval_args_usage(FILE *out)
{
    fprintf(out,
            "usage: sp-eval --model M.spm --dataset D.spd [--min-rating R] [options]\n"
            "Test metrics of a model per unroll step k (one top-1 line each, as sp-train --evaluate prints them);\n"
            "a retrieval model reads neighbours that sp-eval finds in an index given now (no retraining).\n"
            "\npositions:\n"
            "  --part test|train|all           which games (default test)\n"
            "  --min-rating R                  only games whose weaker player is rated >= R (default 0 = all)\n"
            "  --test-fraction F               games held out for testing (default 0.05)\n"
            "  --split-seed S                  which games are held out (default 1)\n"
            "  --positions N                   a seeded uniform sample of N positions (default 0 = every one)\n"
            "  --seed S                        the sample (default 1)\n"
            "\nevaluation:\n"
            "  --unroll K                      metrics for k = 0..K (default 5)\n"
            "  --batch N                       positions per network call (default 256)\n"
            "  --threads T                     threads of the network, the embedder and the search (default 0 = "
            "OpenMP's)\n"
            "  --precision f32|bf16            inference arithmetic (default f32)\n"
            "\nretrieval (a model with neighbours N > 0):\n"
            "  --index I.spi                   the retrieval set: the N nearest keys of each position, of another\n"
            "                                  game (a two-half index: from the half not holding it)\n"
            "  --embedder E.spe                the embedder that made the index's keys (its id must be the index's\n"
            "                                  and the model's); or --pca P.spp (a raw embedder)\n"
            "  --embed-model B.spm             the model a learned embedder reads\n"
            "  --build-fraction F              without --index: the retrieval set is built now with the embedder\n"
            "                                  from a share F (drawn with seed 1) of the training part's positions,\n"
            "                                  all ratings (default 0.05); one half for test positions, two halves\n"
            "                                  by game otherwise; the default factory\n"
            "  --index-out I.spi               keep the index built now\n"
            "  --nprobe N, --rerank R          search settings (default the index's)\n"
            "  --neighbour-file T.spn          ready neighbours instead of a search: their positions are evaluated\n"
            "  --neighbour-file-out F.spn      keep the neighbours found (default a temporary file, removed)\n"
            "  --neighbour-mode retrieved|zeroed|random   what the model reads (default retrieved)\n"
            "  --modes LIST                    several of them on the same positions, e.g. retrieved,zeroed,random\n"
            "\noutput:\n"
            "  --csv FILE                      append a row per (mode, k), with a header when the file is new\n"
            "  --label TEXT                    the rows' label (e.g. the retrieval-set fraction)\n"
            "  --distances FILE                squared distance of each position to its neighbours 1..N (CSV)\n");
}

static int decimal(const char *option, const char *text, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "sp-eval: %s takes a number in [%g, %g], not '%s'\n", option, lo, hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int whole(const char *option, const char *text, uint64_t max, uint64_t *out)
{
    return index_number("sp-eval", option, text, max, out);
}

/* "retrieved,zeroed" into a->modes. */
static int parse_modes(const char *option, const char *list, eval_args *a)
{
    a->mode_count = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        int mode = -1;
        for (int i = 0; i < EVAL_MAX_MODES; i++)
            if (strlen(mode_names[i]) == n && !strncmp(p, mode_names[i], n))
                mode = i;
        for (int i = 0; i < a->mode_count && mode >= 0; i++)
            if (a->modes[i] == mode)
                mode = -2;
        if (mode < 0) {
            fprintf(stderr, "sp-eval: %s takes retrieved, zeroed or random (each once), not '%s'\n", option,
                    list);
            return -1;
        }
        a->modes[a->mode_count++] = mode;
        p += n;
        if (*p == ',' && *++p == '\0')
            break;
    }
    if (a->mode_count == 0) {
        fprintf(stderr, "sp-eval: %s is empty\n", option);
        return -1;
    }
    a->modes_given = 1;
    return 0;
}

static int part_of(const char *text, int *out)
{
    if (!strcmp(text, "test"))
        *out = SP_PART_TEST;
    else if (!strcmp(text, "train"))
        *out = SP_PART_TRAIN;
    else if (!strcmp(text, "all"))
        *out = SP_PART_ALL;
    else {
        fprintf(stderr, "sp-eval: --part takes test, train or all, not '%s'\n", text);
        return -1;
    }
    return 0;
}

/* One option with its value; returns 0, or -1 after saying why. */
static int take(eval_args *a, const char *o, const char *v)
{
    static const struct {
        const char *name;
        size_t offset;
    } paths[] = {
        { "--model", offsetof(eval_args, model) },         { "--dataset", offsetof(eval_args, dataset) },
        { "--index", offsetof(eval_args, index) },         { "--embedder", offsetof(eval_args, embedder) },
        { "--embed-model", offsetof(eval_args, embed_model) }, { "--pca", offsetof(eval_args, pca) },
        { "--neighbour-file", offsetof(eval_args, neighbour_file) },
        { "--neighbour-file-out", offsetof(eval_args, neighbour_file_out) },
        { "--csv", offsetof(eval_args, csv) },             { "--distances", offsetof(eval_args, distances) },
        { "--label", offsetof(eval_args, label) },         { "--index-out", offsetof(eval_args, index_out) },
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!strcmp(o, paths[i].name)) {
            *(const char **)((char *)a + paths[i].offset) = v;
            return 0;
        }
    uint64_t n = 1;
    double x;
    if (!strcmp(o, "--part"))
        return part_of(v, &a->part);
    if (!strcmp(o, "--min-rating"))
        return decimal(o, v, 0, 1e5, &x) ? -1 : (a->min_rating = (float)x, 0);
    if (!strcmp(o, "--build-fraction")) {
        if (decimal(o, v, 1e-9, 1, &x))
            return -1;
        a->build_fraction = x;
        a->fraction_given = 1;
        return 0;
    }
    if (!strcmp(o, "--test-fraction"))
        return decimal(o, v, 0, 0.999999, &x) ? -1 : (a->test_fraction = (float)x, 0);
    if (!strcmp(o, "--split-seed"))
        return whole(o, v, UINT64_MAX, &a->split_seed);
    if (!strcmp(o, "--positions"))
        return whole(o, v, UINT64_MAX, &a->positions);
    if (!strcmp(o, "--seed"))
        return whole(o, v, UINT64_MAX, &a->seed);
    if (!strcmp(o, "--unroll"))
        return whole(o, v, SP_TRAIN_MAX_UNROLL, &n) ? -1 : (a->unroll = (int)n, 0);
    if (!strcmp(o, "--batch")) {
        if (whole(o, v, 65536, &n) || !n) {
            if (!n)
                fprintf(stderr, "sp-eval: --batch takes 1..65536\n");
            return -1;
        }
        a->batch = (int)n;
        return 0;
    }
    if (!strcmp(o, "--threads"))
        return whole(o, v, 1024, &n) ? -1 : (a->threads = (int)n, 0);
    if (!strcmp(o, "--nprobe"))
        return whole(o, v, SP_RETRIEVER_MAX_NPROBE, &n) ? -1 : (a->nprobe = (uint32_t)n, 0);
    if (!strcmp(o, "--rerank"))
        return whole(o, v, SP_RETRIEVER_MAX_RERANK, &n) ? -1 : (a->rerank = (uint32_t)n, 0);
    if (!strcmp(o, "--precision")) {
        if (strcmp(v, "f32") && strcmp(v, "bf16")) {
            fprintf(stderr, "sp-eval: --precision takes f32 or bf16, not '%s'\n", v);
            return -1;
        }
        a->precision = strcmp(v, "f32") ? SP_PRECISION_BF16 : SP_PRECISION_F32;
        return 0;
    }
    if (!strcmp(o, "--neighbour-mode") || !strcmp(o, "--modes")) {
        if (a->modes_given) {
            fprintf(stderr, "sp-eval: give the modes once, as --neighbour-mode M or --modes LIST\n");
            return -1;
        }
        if (parse_modes(o, v, a))
            return -1;
        if (!strcmp(o, "--neighbour-mode") && a->mode_count > 1) {
            fprintf(stderr, "sp-eval: --neighbour-mode takes one mode; --modes takes several\n");
            return -1;
        }
        return 0;
    }
    fprintf(stderr, "sp-eval: unknown option %s (sp-eval --help lists them)\n", o);
    return -1;
}

/* What the options say together. */
static int check(const eval_args *a)
{
    if (!a->model || !a->dataset) {
        fprintf(stderr, "sp-eval: --model M.spm and --dataset D.spd are needed (sp-eval --help)\n");
        return -1;
    }
    if (a->neighbour_file && (a->index || a->embedder || a->pca || a->embed_model || a->neighbour_file_out)) {
        fprintf(stderr, "sp-eval: --neighbour-file gives the neighbours; --index, --embedder, --pca, --embed-model "
                        "and --neighbour-file-out are for finding them\n");
        return -1;
    }
    if (a->index && !a->embedder && !a->pca) {
        fprintf(stderr, "sp-eval: --index needs the embedder of its keys: --embedder E.spe [--embed-model B.spm] "
                        "or --pca P.spp\n");
        return -1;
    }
    if (!a->index && !a->embedder && !a->pca && (a->embed_model || a->neighbour_file_out)) {
        fprintf(stderr, "sp-eval: --embed-model and --neighbour-file-out go with --index or --embedder/--pca\n");
        return -1;
    }
    if ((a->index || (!a->embedder && !a->pca)) && (a->fraction_given || a->index_out)) {
        fprintf(stderr, "sp-eval: --build-fraction and --index-out are for the retrieval set built without --index "
                        "(with --embedder or --pca)\n");
        return -1;
    }
    return 0;
}

/* The retrieval set's name: the index given, or how the built one is made. */
static const char *set_name(const eval_args *a)
{
    static char built[128];
    if (a->index || a->neighbour_file)
        return a->index ? a->index : a->neighbour_file;
    if (a->index_out)
        return a->index_out;
    snprintf(built, sizeof built, "built:%g", a->build_fraction);
    return built;
}

int eval_args_parse(int argc, char **argv, eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->part = SP_PART_TEST;
    a->test_fraction = 0.05f;
    a->split_seed = 1;
    a->seed = 1;
    a->unroll = 5;
    a->batch = 256;
    a->precision = SP_PRECISION_F32;
    a->modes[0] = SP_EVAL_RETRIEVED;
    a->mode_count = 1;
    a->build_fraction = 0.05;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            eval_args_usage(stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sp-eval: %s needs a value\n", o);
            return -1;
        }
        if (take(a, o, argv[++i]))
            return -1;
    }
    if (check(a))
        return -1;
    a->set_name = set_name(a);
    return 0;
}
