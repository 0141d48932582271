/* sp-gtp: a Go engine speaking GTP version 2 on stdin/stdout. It plays
 * through the library's agent (gtp/gtp_search.c): by default the shipped
 * retrieval model with its retrieval set (gtp/gtp_retrieval.c), or any
 * --model; or MCTS over random playouts (--player playouts), the model's
 * prior alone (--policy-only, gtp/gtp_model.c), or uniformly random moves
 * that keep its own eyes (--player random). */
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gtp/gtp_engine.h"
#include "gtp/gtp_model.h"
#include "gtp/gtp_retrieval.h"
#include "gtp/gtp_search.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sp-gtp [--seed N] [--size N] [--komi X] [--player agent|playouts|random]\n"
            "              [--simulations N] [--threads N] [--batch N] [--seconds S] [--playouts M] [--search puct|gumbel]\n"
            "              [--fpu parent|zero] [--temperature T [--temperature-moves N]] [--show-search N]\n"
            "              [--move-log FILE]\n"
            "              [--model M.spm [--search-mode learned|rules] [--policy-only] [--precision f32|bf16]\n"
            "               [--zero-neighbours | --embedder E.spe [--embed-model B.spm] --index I.spi\n"
            "                --dataset D.spd [--nprobe N] [--per-node-neighbours] [--remember]]]\n"
            "              | --help | --version\n"
            "Speak GTP version 2 on standard input and output.\n"
            "  --seed N         seed of the player (default: from the clock and process id)\n"
            "  --size N         initial board size, 2..19 (default 9)\n"
            "  --komi X         initial komi (default 7)\n"
            "  --player P       agent (the default: the search over --model, or without it over the\n"
            "                   shipped retrieval model, models/retrieval.spm, and its retrieval set\n"
            "                   data/agent.spi of data/agent.spd, which tools/demo builds), playouts\n"
            "                   (the search over random playouts) or random\n"
            "  --simulations N  simulations per move at most (default 200 with a model, 1000 over playouts)\n"
            "  --threads N      search threads (default 1)\n"
            "  --batch N        leaves evaluated together (default 1, or 4 per thread with --threads\n"
            "                   or --model)\n"
            "  --seconds S      seconds per move at most (default 0: only the GTP clock limits)\n"
            "  --playouts M     random playouts per evaluated position (default 1)\n"
            "  --search K       puct (MuZero, the default) or gumbel (Gumbel MuZero)\n"
            "  --fpu F          value of unvisited moves: parent (the parent's mean, the default) or zero\n"
            "                   (MuZero: the worst value seen)\n"
            "  --temperature T  play a move drawn with probability proportional to visits^(1/T)\n"
            "                   (default 0: the search's move); games against a fixed opponent then vary\n"
            "  --temperature-moves N  draw only the game's first N moves, then play the search's\n"
            "                   (default 0: every move)\n"
            "  --show-search N  after each genmove, print the search's top N moves to stderr\n"
            "  --move-log FILE  append a CSV row per searched move to FILE: move number, colour, move,\n"
            "                   simulations, reused visits, value, seconds (all, embedding, retrieval),\n"
            "                   queries, and the distances of the root's neighbours d1..dN\n"
            "  --model M.spm    search over this learned model (model.h) instead of random playouts;\n"
            "                   the board size is the model's (boardsize refuses any other)\n"
            "  --search-mode K  with a model: rules (AlphaZero: real games in the tree, the default) or\n"
            "                   learned (MuZero: the model's dynamics below the root, as the paper)\n"
            "  --policy-only    with --model: play the prior's most likely legal move, no search\n"
            "  --precision P    with --model: f32 (the default) or bf16 network arithmetic\n"
            "  --zero-neighbours  a retrieval model with every x_i = 0 and no retrieval: its baseline of\n"
            "                   equal capacity\n"
            "  --per-node-neighbours  in rules mode, every position the search evaluates retrieves its own\n"
            "                   neighbours (default: the root's, retrieved once per move, serve them all)\n"
            "  --remember       add every game that ends (clear_board, boardsize, loadsgf, quit) to the\n"
            "                   retrieval set, and at quit write the grown set over its index and\n"
            "                   dataset files (one sp-gtp at a time per set)\n"
            "  --embedder E.spe a retrieval model's embedder (--embed-model: the .spm a learned one was\n"
            "                   made from), --index its retrieval set's index, --dataset the games\n"
            "                   the index's positions are of; --nprobe N: IVF lists visited per query\n"
            "  --help           show this help\n"
            "  --version        print the library version\n"
            "Extension commands: sp-top-moves [N] shows the last search's best N moves\n"
            "(visits, prior, value) and its principal variation; with a --model without\n"
            "neighbours, the network's value and N most likely legal moves for the side to move\n"
            "instead. With a retrieval model, sp-neighbours [N] shows the last search's root\n"
            "neighbours (game, move, distance, outcome, next moves, board) and sp-remember adds\n"
            "the game on the board to the retrieval set (for this process; no file changes).\n"
            "lz-analyze [color] [interval] streams Leela Zero's analysis lines (Sabaki, Lizzie) every\n"
            "interval centiseconds until the next command. final_status_list (Monte-Carlo ownership),\n"
            "kgs-genmove_cleanup and kgs-time_settings are there for servers and referees.\n");
}

static int parse_number(const char *text, double min, double max, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Read one line of at most GTP_MAX_LINE + 1 bytes (the rest of a longer one
 * is dropped: the engine rejects it by its length). -1 at end of input. */
static long read_line(FILE *in, char *buf, size_t capacity)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(in)) != EOF && c != '\n')
        if (n < capacity)
            buf[n++] = (char)c;
    if (c == EOF && n == 0)
        return -1;
    return (long)n;
}

/* Whether standard input has something to read (or is at its end). */
static int input_waiting(void)
{
    struct pollfd p = { .fd = 0, .events = POLLIN };
    return poll(&p, 1, 0) != 0;
}

/* Who plays: the agent (a model, by default the shipped retrieval model),
 * the search over random playouts, or random moves; "search" is
 * --player's old name for the search over --model or else playouts. */
enum { PLAYER_AGENT, PLAYER_PLAYOUTS, PLAYER_RANDOM, PLAYER_SEARCH };

/* Simulations per move with a model unless --simulations says otherwise
 * (issue 13: the paper's budget), far fewer than over playouts. */
#define MODEL_SIMULATIONS 200

static int model_board_size(sp_model *model)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    return sp_model_get_options(model, &o) == SP_OK ? o.board_size : 0;
}

static int model_neighbours(sp_model *model)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    return sp_model_get_options(model, &o) == SP_OK ? o.neighbours : 0;
}

/* Load the model for play: one OpenMP thread per network call, since the
 * search's own threads (--threads) are what run calls side by side. A
 * model of another size than --size (when given) is refused here, at start-up. */
static int load_model(const char *path, int precision, int size, sp_model **out)
{
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    nn.threads = 1;
    nn.precision = precision > 0 ? SP_PRECISION_BF16 : SP_PRECISION_F32;
    int rc = sp_model_load(out, path, &nn);
    if (rc) {
        fprintf(stderr, "sp-gtp: cannot load the model %s: %s%s\n", path, sp_last_error(),
                rc == SP_ERR_UNSUPPORTED && precision > 0 ? " (--precision bf16 needs a CPU that runs bf16; "
                                                            "f32 always works)" : "");
        return -1;
    }
    const int model_size = model_board_size(*out);
    if (size && size != model_size) {
        fprintf(stderr, "sp-gtp: the model %s plays on %dx%d, not on the %dx%d board --size asks for\n", path,
                model_size, model_size, size, size);
        sp_model_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "seed", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'n' },
        { "komi", required_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },    { "player", required_argument, NULL, 'p' },
        { "simulations", required_argument, NULL, 'S' }, { "threads", required_argument, NULL, 't' },
        { "batch", required_argument, NULL, 'b' },  { "seconds", required_argument, NULL, 'c' },
        { "playouts", required_argument, NULL, 'm' }, { "search", required_argument, NULL, 'K' },
        { "show-search", required_argument, NULL, 'T' }, { "fpu", required_argument, NULL, 'F' },
        { "model", required_argument, NULL, 'M' }, { "search-mode", required_argument, NULL, 'D' },
        { "policy-only", no_argument, NULL, 'P' }, { "precision", required_argument, NULL, 'R' },
        { "embedder", required_argument, NULL, 'E' }, { "embed-model", required_argument, NULL, 'B' },
        { "index", required_argument, NULL, 'I' }, { "dataset", required_argument, NULL, 'A' },
        { "nprobe", required_argument, NULL, 'N' }, { "zero-neighbours", no_argument, NULL, 'Z' },
        { "remember", no_argument, NULL, 'r' }, { "per-node-neighbours", no_argument, NULL, 'O' },
        { "move-log", required_argument, NULL, 'L' }, { "temperature", required_argument, NULL, 'U' },
        { "temperature-moves", required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    gtp_search_options search = GTP_SEARCH_OPTIONS_INIT;
    int player = PLAYER_AGENT, size_given = 0, simulations_given = 0, policy_only = 0, precision = -1, mode = -1;
    const char *model_path = NULL;
    gtp_retrieval_paths paths = { NULL, NULL, NULL, NULL };
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    opts.seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    double v;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *end;
            unsigned long long seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "sp-gtp: --seed takes a non-negative integer, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.seed = seed;
            break;
        }
        case 'n':
            if (parse_number(optarg, 2, 19, &v) || v != (int)v) {
                fprintf(stderr, "sp-gtp: --size takes an integer in 2..19, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.board_size = (int)v;
            size_given = 1;
            break;
        case 'k':
            if (parse_number(optarg, -1000, 1000, &v)) {
                fprintf(stderr, "sp-gtp: --komi takes a number in -1000..1000, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            opts.komi = (float)v;
            break;
        case 'p':
            if (strcmp(optarg, "agent") && strcmp(optarg, "playouts") && strcmp(optarg, "search") &&
                strcmp(optarg, "random")) {
                fprintf(stderr, "sp-gtp: --player takes agent, playouts or random, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            /* "search", its old name: the search over --model, else over playouts. */
            player = !strcmp(optarg, "random") ? PLAYER_RANDOM : !strcmp(optarg, "playouts") ? PLAYER_PLAYOUTS
                     : !strcmp(optarg, "search")                                         ? PLAYER_SEARCH
                                                                                         : PLAYER_AGENT;
            break;
        case 'F':
            if (strcmp(optarg, "parent") && strcmp(optarg, "zero")) {
                fprintf(stderr, "sp-gtp: --fpu takes parent or zero, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.fpu = strcmp(optarg, "zero") ? SP_SEARCH_FPU_PARENT : SP_SEARCH_FPU_ZERO;
            break;
        case 'K':
            if (strcmp(optarg, "puct") && strcmp(optarg, "gumbel")) {
                fprintf(stderr, "sp-gtp: --search takes puct or gumbel, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.kind = strcmp(optarg, "puct") ? SP_SEARCH_GUMBEL : SP_SEARCH_PUCT;
            break;
        case 'S':
        case 't':
        case 'b':
        case 'm':
        case 'T':
        case 'W': {
            const char *name = c == 'S' ? "--simulations" : c == 't' ? "--threads" : c == 'b' ? "--batch"
                             : c == 'm' ? "--playouts" : c == 'T' ? "--show-search" : "--temperature-moves";
            const int min = c == 'b' || c == 'T' || c == 'W' ? 0 : 1;
            const double max = c == 'S' ? 10000000 : c == 'm' || c == 'W' ? 100000 : c == 't' ? 256 : c == 'T' ? 400 : 65536;
            if (parse_number(optarg, min, max, &v) || v != (int)v) {
                fprintf(stderr, "sp-gtp: %s takes an integer in %d..%.0f, not \"%s\"\n", name, min, max, optarg);
                usage(stderr);
                return 2;
            }
            *(c == 'S' ? &search.simulations : c == 't' ? &search.threads : c == 'b' ? &search.batch
                       : c == 'm' ? &search.playouts : c == 'T' ? &search.show_top : &search.temperature_moves) = (int)v;
            simulations_given |= c == 'S';
            break;
        }
        case 'M':
            model_path = optarg;
            break;
        case 'E':
            paths.embedder = optarg;
            break;
        case 'Z':
            search.zero_neighbours = 1;
            break;
        case 'r':
            search.remember = 1;
            break;
        case 'O':
            search.per_node_neighbours = 1;
            break;
        case 'L':
            search.move_log = optarg;
            break;
        case 'U':
            if (parse_number(optarg, 0, 100, &v)) {
                fprintf(stderr, "sp-gtp: --temperature takes a number in 0..100, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.temperature = (float)v;
            break;
        case 'B':
            paths.embed_model = optarg;
            break;
        case 'I':
            paths.index = optarg;
            break;
        case 'A':
            paths.dataset = optarg;
            break;
        case 'N':
            if (parse_number(optarg, 1, 65536, &v) || v != (int)v) {
                fprintf(stderr, "sp-gtp: --nprobe takes an integer in 1..65536, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.nprobe = (int)v;
            break;
        case 'P':
            policy_only = 1;
            break;
        case 'D':
        case 'R': {
            const char *name = c == 'D' ? "--search-mode" : "--precision";
            const char *first = c == 'D' ? "learned" : "f32", *second = c == 'D' ? "rules" : "bf16";
            if (strcmp(optarg, first) && strcmp(optarg, second)) {
                fprintf(stderr, "sp-gtp: %s takes %s or %s, not \"%s\"\n", name, first, second, optarg);
                usage(stderr);
                return 2;
            }
            *(c == 'D' ? &mode : &precision) = strcmp(optarg, first) != 0;
            break;
        }
        case 'c':
            if (parse_number(optarg, 0, 1e6, &v)) {
                fprintf(stderr, "sp-gtp: --seconds takes a number in 0..1000000, not \"%s\"\n", optarg);
                usage(stderr);
                return 2;
            }
            search.seconds = v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'v':
            printf("sp-gtp (libsemiparam) %s\n", sp_version_string());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sp-gtp: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (player == PLAYER_SEARCH)
        player = model_path ? PLAYER_AGENT : PLAYER_PLAYOUTS;
    if (player != PLAYER_AGENT && (policy_only || mode >= 0 || precision >= 0)) {
        fprintf(stderr, "sp-gtp: --%s needs a model: --player %s plays none\n",
                policy_only ? "policy-only" : mode >= 0 ? "search-mode" : "precision",
                player == PLAYER_RANDOM ? "random" : "playouts");
        usage(stderr);
        return 2;
    }
    if (model_path && player != PLAYER_AGENT) {
        fprintf(stderr, "sp-gtp: --player %s plays no model: drop --model\n",
                player == PLAYER_RANDOM ? "random" : "playouts");
        usage(stderr);
        return 2;
    }
    /* The agent without --model: the shipped retrieval model and its files. */
    char home[4096], model_default[4200], defaults[4][4096];
    gtp_retrieval_home(home, sizeof home);
    if (player == PLAYER_AGENT && !model_path) {
        snprintf(model_default, sizeof model_default, "%s/models/retrieval.spm", home);
        model_path = model_default;
    }
    const int retrieval_given = paths.embedder || paths.embed_model || paths.index || paths.dataset || search.nprobe ||
                                search.per_node_neighbours;
    if (!model_path && retrieval_given) {
        fprintf(stderr, "sp-gtp: --embedder, --embed-model, --index, --dataset, --nprobe and --per-node-neighbours "
                        "are a retrieval model's: they need --model\n");
        usage(stderr);
        return 2;
    }
    sp_model *model = NULL;
    gtp_retrieval retrieval = { NULL, NULL, NULL, NULL };
    if (search.remember && (!model_path || search.zero_neighbours)) {
        fprintf(stderr, "sp-gtp: --remember needs a retrieval model that retrieves (its set is what grows)\n");
        usage(stderr);
        return 2;
    }
    if (model_path) {
        if (load_model(model_path, precision, size_given ? opts.board_size : 0, &model))
            return 1;
        if (search.zero_neighbours && model_neighbours(model) == 0) {
            fprintf(stderr, "sp-gtp: --zero-neighbours is for a retrieval model; %s reads no neighbours\n",
                    model_path);
            sp_model_free(model);
            return 2;
        }
        if (model_neighbours(model) > 0 && policy_only && !search.zero_neighbours) {
            fprintf(stderr, "sp-gtp: the model reads %d neighbours, which --policy-only does not retrieve: play "
                            "it through its search (--simulations 1 for its prior alone)\n", model_neighbours(model));
            sp_model_free(model);
            return 2;
        }
        if (model_neighbours(model) > 0 && !search.zero_neighbours) {
            gtp_retrieval_default_paths(&paths, home, defaults);
            if (gtp_retrieval_load(&retrieval, &paths)) {
                sp_model_free(model);
                return 1;
            }
            search.embedder = retrieval.embedder;
            search.retriever = retrieval.retriever;
            search.dataset = retrieval.dataset;
            search.save_index = paths.index;
            search.save_dataset = paths.dataset;
        } else if (search.remember) {
            fprintf(stderr, "sp-gtp: --remember needs a retrieval model; %s retrieves nothing\n", model_path);
            sp_model_free(model);
            return 2;
        } else if (retrieval_given) {
            fprintf(stderr, "sp-gtp: the model %s retrieves nothing%s: drop --embedder, --embed-model, "
                            "--index, --dataset, --nprobe and --per-node-neighbours\n", model_path,
                    search.zero_neighbours ? " with --zero-neighbours" : "");
            sp_model_free(model);
            return 2;
        }
        opts.board_size = model_board_size(model);
        search.model = model;
        /* Rules by default, as the agent's: docs/results.md (issue 13) has rules mode far
         * stronger than the learned dynamics at 200 simulations (0.825 against 0.365). */
        search.model_mode = mode == 0 ? SP_MODEL_SEARCH_LEARNED : SP_MODEL_SEARCH_RULES;
        if (!simulations_given)
            search.simulations = MODEL_SIMULATIONS;
    }
    gtp_engine *engine;
    if (gtp_engine_create(&engine, &opts)) {
        fprintf(stderr, "sp-gtp: cannot create the engine: %s\n", sp_last_error());
        gtp_retrieval_free(&retrieval);
        sp_model_free(model);
        return 1;
    }
    search.seed = opts.seed;
    int failed = 0;
    if (model && policy_only)
        failed = gtp_model_attach_policy(engine, model);
    else if (player != PLAYER_RANDOM)
        failed = gtp_search_attach(engine, &search);
    /* The model's commands replace the search's sp-top-moves. */
    if (!failed && model)
        failed = gtp_model_attach_commands(engine, model);
    if (failed) {
        fprintf(stderr, "sp-gtp: cannot create the player: %s\n", sp_last_error());
        gtp_engine_free(engine);
        gtp_retrieval_free(&retrieval);
        sp_model_free(model);
        return 1;
    }
    /* Unbuffered input: an open stream (lz-analyze) runs until the next
     * command arrives, which poll() sees only when no buffer holds it. */
    setvbuf(stdin, NULL, _IONBF, 0);
    static char line[GTP_MAX_LINE + 1];
    long n;
    int quit = 0;
    while (!quit && (n = read_line(stdin, line, sizeof line)) >= 0) {
        const char *response;
        quit = gtp_engine_handle(engine, line, (size_t)n, &response);
        fputs(response, stdout);
        fflush(stdout);
        /* At least one update, then more until input is waiting. */
        while (gtp_engine_stream_step(engine, stdout) && !input_waiting())
            ;
        gtp_engine_stream_end(engine, stdout);
    }
    /* The engine's agent holds the model's states and borrows the retrieval files: they go last. */
    gtp_engine_free(engine);
    gtp_retrieval_free(&retrieval);
    sp_model_free(model);
    return 0;
}
