/* sp-gtp's searching player: the engine's game goes to the library's agent
 * (agent.h), which keeps its tree while the game only grows and, for a
 * retrieval model, retrieves the neighbours; here only what GTP adds: the
 * time budget from the clock, a colour moving out of turn, and the
 * sp-top-moves command. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtp_internal.h"
#include "gtp_search.h"

#define TOP_DEFAULT 10
#define PV_MAX 16

typedef struct searcher {
    gtp_engine *engine;
    gtp_search_options opts;
    int size;
    sp_agent *agent;    /* the player: search, tree reuse and retrieval are the agent's */
    int has_result;     /* sp-top-moves has something to show */
    int analysis_color; /* lz-analyze's side to move */
    double analysis_seconds; /* between its updates */
    int game_remembered;  /* the engine's current game is in the retrieval set already */
    int games_remembered; /* games added, saved at the end with --remember */
    /* Our own clock when the controller sends no time_left. */
    gtp_clock settings;
    double used_seconds;
    FILE *move_log;       /* --move-log */
} searcher;

double gtp_search_budget(const gtp_clock *c, int empty_points)
{
    if (c->main_time == 0 && c->byo_yomi_time == 0)
        return 0.0;
    if (c->byo_yomi_time > 0 && c->byo_yomi_stones == 0)
        return 0.0;
    double per_stone = c->byo_yomi_time > 0 ? (double)c->byo_yomi_time / c->byo_yomi_stones : 0.0;
    double budget;
    if (c->time_left >= 0 && c->stones_left > 0) {
        budget = (double)c->time_left / c->stones_left;
    } else {
        /* Main time: share what is left over the moves a 9x9 game still has. */
        double left = c->time_left >= 0 ? c->time_left : c->main_time;
        double moves = empty_points / 3.0 > 15.0 ? empty_points / 3.0 : 15.0;
        budget = left / moves;
        if (budget < per_stone)
            budget = per_stone;
    }
    /* Keep a margin for the protocol and the controller's clock. */
    budget = 0.9 * budget - 0.05;
    return budget > 0.01 ? budget : 0.01;
}

static int write_top_moves(searcher *s, int top, FILE *out);
static int write_neighbours(searcher *s, int count, int boards, FILE *out);
static void log_move(searcher *s, const sp_game *root, int color, int move);

/* The agent for a board of @p size: a model plays its own size only. */
static int make_agent(searcher *s, int size)
{
    sp_agent_free(s->agent);
    s->agent = NULL;
    s->has_result = 0;
    sp_agent_options o = SP_AGENT_OPTIONS_INIT;
    o.simulations = s->opts.simulations;
    o.kind = s->opts.kind;
    o.mode = s->opts.model_mode;
    o.threads = s->opts.threads;
    o.batch = s->opts.batch;
    o.fpu = s->opts.fpu;
    o.playouts = s->opts.playouts;
    o.board_size = size;
    o.nprobe = (uint32_t)s->opts.nprobe;
    o.seed = s->opts.seed;
    o.zero_neighbours = s->opts.zero_neighbours;
    o.per_node_neighbours = s->opts.per_node_neighbours;
    o.temperature = s->opts.temperature;
    o.temperature_moves = s->opts.temperature_moves;
    if (sp_agent_create(&s->agent, s->opts.model, s->opts.embedder, s->opts.retriever, s->opts.dataset, &o))
        return -1;
    s->size = size;
    return 0;
}

static sp_game *clone_game(const sp_game *game)
{
    sp_game *g = NULL;
    return sp_game_clone(&g, game) == SP_OK ? g : NULL;
}

/* GTP lets a colour move out of turn. Pretending the other side passed
 * would let a pass of ours end the game in the search's eyes; instead the
 * search gets the bare position with @p color to move (superko history lost). */
sp_game *gtp_search_position(const sp_game *game, int color)
{
    if (sp_game_to_play(game) == color)
        return clone_game(game);
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = sp_game_size(game);
    o.komi = sp_game_komi(game);
    sp_game *g = NULL;
    if (sp_game_create(&g, &o))
        return NULL;
    int rc = SP_OK;
    for (int p = 0; p < o.board_size * o.board_size && !rc; p++) {
        int c = sp_game_color_at(game, p);
        if (c != SP_EMPTY)
            rc = sp_game_setup(g, p, c);
    }
    if (rc || sp_game_set_to_play(g, color)) {
        sp_game_free(g);
        return NULL;
    }
    return g;
}

static int search_genmove(void *payload, const sp_game *game, int color, const gtp_clock *clock, int *out_move)
{
    searcher *s = payload;
    const int size = sp_game_size(game);
    if ((!s->agent || s->size != size) && make_agent(s, size))
        return -1;
    s->has_result = 0;
    sp_game *root = gtp_search_position(game, color);
    if (!root)
        return -1;

    /* Time: the controller's time_left when it sends one, else our own count. */
    gtp_clock c = *clock;
    if (memcmp(&c, &s->settings, 3 * sizeof(int)) || sp_game_move_count(root) < 2) {
        s->settings = c;
        s->used_seconds = 0.0;
    }
    if (c.time_left < 0 && c.main_time > 0)
        c.time_left = (int)fmax(0.0, c.main_time - s->used_seconds);
    int empty = 0;
    for (int p = 0; p < size * size; p++)
        empty += sp_game_color_at(root, p) == SP_EMPTY;
    double budget = gtp_search_budget(&c, empty);
    if (s->opts.seconds > 0.0 && (budget == 0.0 || s->opts.seconds < budget))
        budget = s->opts.seconds;

    int32_t move = SP_PASS;
    const int over = sp_game_is_over(root);
    int rc = sp_agent_genmove(s->agent, root, budget, &move);
    if (!rc && !over)
        log_move(s, root, color, move);
    sp_game_free(root);
    sp_agent_report report = SP_AGENT_REPORT_INIT;
    sp_agent_report_get(s->agent, &report);
    s->used_seconds += report.seconds;
    if (rc)
        return -1;
    s->has_result = !over;
    if (s->has_result && s->opts.show_top > 0) {
        char vertex[8];
        sp_move_to_gtp(size, move, vertex, sizeof vertex);
        fprintf(stderr, "sp-gtp: %s plays %s after ", color == SP_BLACK ? "Black" : "White", vertex);
        write_top_moves(s, s->opts.show_top, stderr);
        if (s->opts.retriever) {
            fprintf(stderr, "\nneighbours of the position:\n");
            write_neighbours(s, 3, 0, stderr);
        }
        fprintf(stderr, "\n");
    }
    *out_move = move;
    return 0;
}

/* --move-log: one CSV row per searched move, flushed at once (a match may
 * kill the engine): the position's move number, the move, the report's
 * figures and the distances of the root's neighbours (Fig. 6 of the paper
 * compares those met in play with the test positions'). */
static void log_move(searcher *s, const sp_game *root, int color, int move)
{
    sp_agent_report r = SP_AGENT_REPORT_INIT;
    if (!s->move_log || sp_agent_report_get(s->agent, &r))
        return;
    char vertex[8];
    sp_move_to_gtp(s->size, move, vertex, sizeof vertex);
    fprintf(s->move_log, "%d,%c,%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%d", sp_game_move_count(root),
            color == SP_BLACK ? 'B' : 'W', vertex, (int)r.simulations, (int)r.reused, (double)r.value, r.seconds,
            r.seconds_embed, r.seconds_retrieve, (int)r.queries);
    for (int i = 0; i < r.neighbours; i++) {
        sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
        if (sp_agent_neighbour_get(s->agent, i, &n) == SP_OK)
            fprintf(s->move_log, ",%.6f", (double)n.distance);
    }
    fprintf(s->move_log, "\n");
    fflush(s->move_log);
}

static int open_move_log(searcher *s, const char *path)
{
    s->move_log = fopen(path, "a");
    if (!s->move_log) {
        fprintf(stderr, "sp-gtp: cannot open the move log %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* A header when the file is new; runs that share it append rows. */
    if (ftell(s->move_log) == 0) {
        fprintf(s->move_log, "move_number,color,move,simulations,reused,value,seconds,seconds_embed,"
                             "seconds_retrieve,queries");
        for (int i = 1; i <= sp_agent_neighbours(s->agent); i++)
            fprintf(s->move_log, ",d%d", i);
        fprintf(s->move_log, "\n");
        fflush(s->move_log);
    }
    return 0;
}

/* Add @p game to the retrieval set; 0, or -1 with the reason in sp_last_error(). */
static int remember_game(searcher *s, const sp_game *game, uint64_t *out_id)
{
    if ((!s->agent || s->size != sp_game_size(game)) && make_agent(s, sp_game_size(game)))
        return -1;
    if (sp_agent_add_game(s->agent, game, "sp-gtp", out_id))
        return -1;
    s->game_remembered = 1;
    return 0;
}

/* --remember: the game that ends goes to the retrieval set (once, and only with moves). */
static void game_ends(gtp_engine *e, const sp_game *game, void *payload)
{
    searcher *s = payload;
    (void)e;
    uint64_t id;
    if (!s->game_remembered && sp_game_move_count(game) > 0) {
        if (remember_game(s, game, &id))
            fprintf(stderr, "sp-gtp: the game is not remembered: %s\n", sp_last_error());
        else
            s->games_remembered++;
    }
    s->game_remembered = 0;
}

static void release_searcher(void *payload)
{
    searcher *s = payload;
    /* --remember with files: the grown set replaces them (each written whole, then renamed). */
    if (s->opts.remember && s->games_remembered > 0 && s->opts.save_index && s->opts.save_dataset) {
        if (sp_dataset_save(s->opts.dataset, s->opts.save_dataset) ||
            sp_retriever_save(s->opts.retriever, s->opts.save_index))
            fprintf(stderr, "sp-gtp: cannot save the grown retrieval set: %s\n", sp_last_error());
        else
            fprintf(stderr, "sp-gtp: %d game%s remembered in %s and %s\n", s->games_remembered,
                    s->games_remembered == 1 ? "" : "s", s->opts.save_dataset, s->opts.save_index);
    }
    if (s->move_log)
        fclose(s->move_log);
    sp_agent_free(s->agent);
    free(s);
}

/* The move of a search action; a search that found none (-1) passes. */
static int move_of(int size, int action)
{
    int move;
    return sp_action_to_move(size, action, &move) == SP_OK ? move : SP_PASS;
}

/* The latest search's best @p top moves by visits, each with its visits,
 * prior and value (for the side that moved, -1..1), then the principal
 * variation; 0, or -1 when the search cannot be read. */
static int write_top_moves(searcher *s, int top, FILE *out)
{
    const int actions = s->size * s->size + 1;
    const sp_search *search = sp_agent_search(s->agent);
    sp_agent_report report = SP_AGENT_REPORT_INIT;
    int32_t *visits = malloc((size_t)actions * sizeof *visits);
    float *priors = malloc((size_t)actions * sizeof *priors), *values = malloc((size_t)actions * sizeof *values);
    int32_t pv[PV_MAX];
    size_t pv_len = 0;
    int ok = visits && priors && values && sp_agent_report_get(s->agent, &report) == SP_OK &&
             sp_search_root_stats(search, visits, priors, values, NULL, (size_t)actions) == SP_OK &&
             sp_search_pv(search, pv, PV_MAX, &pv_len) == SP_OK;
    if (ok) {
        fprintf(out, "simulations %d seconds %.3f value %+.3f\n", report.simulations, report.seconds,
                (double)report.value);
        if (report.queries > 0)
            fprintf(out, "retrieval %d neighbours for %lld positions, embedding %.3f s, search %.3f s\n",
                    (int)report.neighbours, (long long)report.queries, report.seconds_embed,
                    report.seconds_retrieve);
        for (int shown = 0; shown < top; shown++) {
            int best = -1;
            for (int a = 0; a < actions; a++)
                if (visits[a] > 0 && (best < 0 || visits[a] > visits[best]))
                    best = a;
            if (best < 0)
                break;
            char vertex[8];
            sp_move_to_gtp(s->size, move_of(s->size, best), vertex, sizeof vertex);
            fprintf(out, "%-5s visits %5d prior %.3f value %+.3f\n", vertex, visits[best], (double)priors[best],
                    (double)values[best]);
            visits[best] = -visits[best];
        }
        fprintf(out, "pv");
        for (size_t i = 0; i < pv_len; i++) {
            char vertex[8];
            sp_move_to_gtp(s->size, move_of(s->size, pv[i]), vertex, sizeof vertex);
            fprintf(out, " %s", vertex);
        }
    }
    free(visits);
    free(priors);
    free(values);
    return ok ? 0 : -1;
}

/* The board of @p g, rows from the top as GTP numbers them, Black X, White
 * O, and @p mark (a point, or -1) as *. */
static void write_board(FILE *out, const sp_game *g, int mark)
{
    static const char letters[] = "ABCDEFGHJKLMNOPQRST";
    const int size = sp_game_size(g);
    fprintf(out, "   ");
    for (int col = 0; col < size; col++)
        fprintf(out, " %c", letters[col]);
    for (int row = 0; row < size; row++) {
        fprintf(out, "\n%2d ", size - row);
        for (int col = 0; col < size; col++) {
            const int p = row * size + col, c = sp_game_color_at(g, p);
            fprintf(out, " %c", p == mark ? '*' : c == SP_BLACK ? 'X' : c == SP_WHITE ? 'O' : '.');
        }
    }
}

/* The latest root's neighbours, nearest first: one line each (game, move,
 * squared distance, outcome for its side to move, next moves), then its
 * board with the next move as * when @p boards. */
static int write_neighbours(searcher *s, int count, int boards, FILE *out)
{
    sp_agent_report report = SP_AGENT_REPORT_INIT;
    if (sp_agent_report_get(s->agent, &report))
        return -1;
    if (count > report.neighbours)
        count = report.neighbours;
    for (int i = 0; i < count; i++) {
        sp_agent_neighbour n = SP_AGENT_NEIGHBOUR_INIT;
        if (sp_agent_neighbour_get(s->agent, i, &n))
            return -1;
        fprintf(out, "%s%d game %llu move %d distance %.4f outcome %+d next", i ? "\n" : "", i + 1,
                (unsigned long long)n.game, (int)n.move_number, (double)n.distance, (int)n.outcome);
        for (int k = 0; k < SP_NEIGHBOUR_ACTIONS && n.next_moves[k] != -2; k++) {
            char vertex[8];
            sp_move_to_gtp(s->size, n.next_moves[k], vertex, sizeof vertex);
            fprintf(out, " %s", vertex);
        }
        sp_game *at = NULL;
        if (boards && sp_dataset_game_replay(s->opts.dataset, n.game, n.move_number, &at) == SP_OK) {
            fprintf(out, "\n");
            write_board(out, at, n.next_moves[0]);
        }
        sp_game_free(at);
    }
    return 0;
}

/* Run @p write into a GTP response. */
static int respond(gtp_engine *e, int write(searcher *, int, int, FILE *), searcher *s, int a, int b)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    int rc = out ? write(s, a, b, out) : -1;
    if (out)
        fclose(out);
    if (rc)
        gtp_printf(e, "cannot read the agent: %s", sp_last_error());
    else
        gtp_printf(e, "%s", text);
    free(text);
    return rc;
}

/* sp-top-moves [N]: write_top_moves() of the latest genmove. */
static int write_top(searcher *s, int top, int unused, FILE *out)
{
    (void)unused;
    return write_top_moves(s, top, out);
}

/* The optional count argument of sp-top-moves and sp-neighbours: 1..max,
 * else @p fallback; 0, or -1 with the error written. */
static int count_argument(gtp_engine *e, int argc, char **args, int fallback, int max, int *out)
{
    *out = fallback;
    return argc > 1 || (argc == 1 && ((*out = atoi(args[0])) < 1 || *out > max)) ? gtp__fail(e, "syntax error") : 0;
}

/* 0 when a genmove left a search to show, else -1 with the error written. */
static int searched(gtp_engine *e, const searcher *s)
{
    return s->has_result ? 0 : gtp__fail(e, "no search yet: genmove first");
}

static int cmd_top_moves(gtp_engine *e, int argc, char **args, void *payload)
{
    searcher *s = payload;
    int top;
    if (count_argument(e, argc, args, TOP_DEFAULT, 400, &top) || searched(e, s))
        return -1;
    return respond(e, write_top, s, top, 0);
}

/* sp-neighbours [N]: write_neighbours() of the latest genmove, with boards. */
static int cmd_neighbours(gtp_engine *e, int argc, char **args, void *payload)
{
    searcher *s = payload;
    int count;
    if (count_argument(e, argc, args, 10, 1000, &count))
        return -1;
    if (!s->opts.retriever)
        return gtp__fail(e, "the player retrieves no neighbours: give a retrieval model (--model, --index ...)");
    if (searched(e, s))
        return -1;
    return respond(e, write_neighbours, s, count, 1);
}

/* sp-remember: the game on the board into the retrieval set (sp_agent_add_game). */
static int cmd_remember(gtp_engine *e, int argc, char **args, void *payload)
{
    searcher *s = payload;
    (void)args;
    if (argc != 0)
        return gtp__fail(e, "syntax error");
    const sp_game *game = gtp_engine_game(e);
    if (!s->opts.retriever)
        return gtp__fail(e, "the player has no retrieval set to remember in: give a retrieval model (--model, "
                            "--index ...)");
    uint64_t id;
    if (remember_game(s, game, &id)) {
        gtp_printf(e, "cannot remember the game: %s", sp_last_error());
        return -1;
    }
    s->games_remembered++;
    gtp_printf(e, "game %llu, %d positions", (unsigned long long)id, sp_game_move_count(game));
    return 0;
}

/* One lz-analyze update: search the position on the board for another
 * interval (the tree kept between updates, but in learned mode) and write
 * every visited move as Leela Zero does, on one line: "info move V visits N
 * winrate W prior P lcb W order K pv ..." with W and P in 0..10000 for the
 * side analysed, the most visited first; the best move's pv is the
 * search's principal variation, the others' their own move. */
static int analysis_step(gtp_engine *e, FILE *out, void *payload)
{
    searcher *s = payload;
    const sp_game *game = gtp_engine_game(e);
    const int size = sp_game_size(game), actions = size * size + 1;
    if ((!s->agent || s->size != size) && make_agent(s, size))
        return 1;
    sp_game *root = gtp_search_position(game, s->analysis_color);
    int32_t move;
    int rc = !root || sp_game_is_over(root) || sp_agent_genmove(s->agent, root, s->analysis_seconds, &move);
    sp_game_free(root);
    int32_t *visits = malloc((size_t)actions * sizeof *visits), pv[PV_MAX];
    float *priors = malloc((size_t)actions * sizeof *priors), *values = malloc((size_t)actions * sizeof *values);
    size_t pv_len = 0;
    const sp_search *search = sp_agent_search(s->agent);
    rc = rc || !visits || !priors || !values ||
         sp_search_root_stats(search, visits, priors, values, NULL, (size_t)actions) ||
         sp_search_pv(search, pv, PV_MAX, &pv_len);
    s->has_result = !rc;
    for (int order = 0; !rc; order++) {
        int best = -1;
        for (int a = 0; a < actions; a++)
            if (visits[a] > 0 && (best < 0 || visits[a] > visits[best]))
                best = a;
        if (best < 0)
            break;
        char vertex[8];
        const int winrate = (int)lround(5000.0 * (1.0 + values[best]));
        sp_move_to_gtp(size, move_of(size, best), vertex, sizeof vertex);
        fprintf(out, "%sinfo move %s visits %d winrate %d prior %d lcb %d order %d pv", order ? " " : "", vertex,
                visits[best], winrate, (int)lround(10000.0 * priors[best]), winrate, order);
        if (order == 0 && pv_len > 0 && pv[0] == best) {
            for (size_t i = 0; i < pv_len; i++) {
                sp_move_to_gtp(size, move_of(size, pv[i]), vertex, sizeof vertex);
                fprintf(out, " %s", vertex);
            }
        } else {
            fprintf(out, " %s", vertex);
        }
        visits[best] = 0;
    }
    fprintf(out, "\n");
    free(visits);
    free(priors);
    free(values);
    return rc;
}

/* lz-analyze [color] [interval] [interval N] [minmoves N] [maxmoves N]:
 * Leela Zero's live analysis, as Sabaki and Lizzie ask for it (interval in
 * centiseconds, default 100; KataGo's minmoves and maxmoves are accepted
 * and ignored: every visited move is listed). The response stays open,
 * one update per interval, until the next command. */
static int cmd_lz_analyze(gtp_engine *e, int argc, char **args, void *payload)
{
    searcher *s = payload;
    int color = sp_game_to_play(gtp_engine_game(e)), interval = 100, at = 0, ignored;
    if (at < argc && gtp_parse_color(args[at]) > 0)
        color = gtp_parse_color(args[at++]);
    if (at < argc && strspn(args[at], "0123456789") == strlen(args[at]) &&
        gtp__parse_int(args[at++], 0, 100000, &interval))
        return gtp__fail(e, "syntax error");
    for (; at < argc; at += 2) {
        const int is_interval = strcmp(args[at], "interval") == 0;
        if ((!is_interval && strcmp(args[at], "minmoves") && strcmp(args[at], "maxmoves")) || at + 1 >= argc ||
            gtp__parse_int(args[at + 1], 0, 100000, is_interval ? &interval : &ignored))
            return gtp__fail(e, "syntax error");
    }
    s->analysis_color = color;
    /* An interval of 0 asks for updates as often as possible: a tenth of a second here. */
    s->analysis_seconds = interval > 0 ? interval / 100.0 : 0.1;
    gtp_engine_stream(e, analysis_step, s);
    return 0;
}

int gtp_search_attach(gtp_engine *engine, const gtp_search_options *opts)
{
    searcher *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->engine = engine;
    s->opts = *opts;
    if (make_agent(s, sp_game_size(gtp_engine_game(engine)))) {
        free(s);
        return -1;
    }
    if (opts->move_log && open_move_log(s, opts->move_log)) {
        release_searcher(s);
        return -1;
    }
    if (gtp_engine_register(engine, "sp-top-moves", cmd_top_moves, s) ||
        gtp_engine_register(engine, "sp-neighbours", cmd_neighbours, s) ||
        gtp_engine_register(engine, "sp-remember", cmd_remember, s) ||
        gtp_engine_register(engine, "lz-analyze", cmd_lz_analyze, s)) {
        release_searcher(s);
        return -1;
    }
    gtp_player player = { "semiparam-mcts", search_genmove, release_searcher, s };
    gtp_engine_set_player(engine, &player);
    if (opts->remember && opts->retriever)
        gtp_engine_on_game_end(engine, game_ends, s);
    return 0;
}
