/* sp-gtp's searching player: the time budget, genmove through the search
 * (a capture-or-lose position), the clock, and the sp-top-moves command.
 * With a learned model (a tiny untrained one: legality needs no skill):
 * whole short games of legal moves over the model in both search modes and
 * with the prior alone, the network's sp-top-moves, boardsize refusing
 * another size, and sp-gtp --model's start-up errors (SP_GTP). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtp/gtp_engine.h"
#include "gtp/gtp_model.h"
#include "gtp/gtp_search.h"

static gtp_engine *engine;

static void attach(int simulations)
{
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    ck_assert_int_eq(gtp_engine_create(&engine, &opts), 0);
    gtp_search_options so = GTP_SEARCH_OPTIONS_INIT;
    so.simulations = simulations;
    so.seed = 5;
    ck_assert_int_eq(gtp_search_attach(engine, &so), 0);
}

static const char *send(const char *line)
{
    const char *response;
    gtp_engine_handle(engine, line, strlen(line), &response);
    return response;
}

START_TEST(budget_follows_the_clock)
{
    gtp_clock none = { 0, 0, 0, -1, 0 };
    ck_assert(gtp_search_budget(&none, 81) == 0.0);
    gtp_clock no_limit = { 0, 10, 0, -1, 0 }; /* byo-yomi without stones: no limit in GTP */
    ck_assert(gtp_search_budget(&no_limit, 81) == 0.0);
    gtp_clock main_time = { 60, 0, 0, -1, 0 }; /* 81 empty points: 27 moves to go */
    ck_assert_double_eq_tol(gtp_search_budget(&main_time, 81), 0.9 * 60.0 / 27.0 - 0.05, 1e-9);
    main_time.time_left = 15; /* late: at least 15 moves are assumed */
    ck_assert_double_eq_tol(gtp_search_budget(&main_time, 20), 0.9 * 1.0 - 0.05, 1e-9);
    gtp_clock byo_yomi = { 0, 10, 5, 10, 5 };
    ck_assert_double_eq_tol(gtp_search_budget(&byo_yomi, 81), 0.9 * 2.0 - 0.05, 1e-9);
    gtp_clock expiring = { 60, 0, 0, 0, 0 };
    ck_assert_double_eq_tol(gtp_search_budget(&expiring, 81), 0.01, 1e-12);
}
END_TEST

START_TEST(genmove_finds_the_capture)
{
    attach(1000);
    /* The capture-or-lose position of tests/test_search.c, set up by play. */
    ck_assert_str_eq(send("boardsize 5"), "=\n\n");
    ck_assert_str_eq(send("komi 0.5"), "=\n\n");
    static const char *const stones[] = { "b A5", "w B5", "b C5", "w B4", "b C4", "b E4", "w A3", "w C3",
                                          "b D3", "w B2", "w D2", "b E2", "b D1", "w A1" };
    for (size_t i = 0; i < sizeof stones / sizeof stones[0]; i++) {
        char line[32];
        snprintf(line, sizeof line, "play %s", stones[i]);
        ck_assert_str_eq(send(line), "=\n\n");
    }
    ck_assert_str_eq(send("genmove b"), "= C2\n\n");
    const char *top = send("sp-top-moves 2");
    ck_assert_msg(strncmp(top, "= simulations 1000 ", 19) == 0, "%s", top);
    ck_assert_ptr_nonnull(strstr(top, "\nC2    visits "));
    ck_assert_ptr_nonnull(strstr(top, "\npv C2"));
    gtp_engine_free(engine);
}
END_TEST

START_TEST(top_moves_command)
{
    attach(200);
    ck_assert_ptr_nonnull(strstr(send("list_commands"), "sp-top-moves\n"));
    ck_assert_str_eq(send("sp-top-moves"), "? no search yet: genmove first\n\n");
    const char *move = send("genmove b");
    ck_assert(move[0] == '=');
    const char *top = send("sp-top-moves 3");
    int lines = 0;
    for (const char *c = top; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 1 + 3 + 1 + 1); /* header, three moves, pv, blank */
    ck_assert_str_eq(send("sp-top-moves 0"), "? syntax error\n\n");
    ck_assert_str_eq(send("sp-top-moves 1 2"), "? syntax error\n\n");
    /* Black again, out of turn: the search must not read that as White
     * having passed, or a pass would end the game won (one stone owns the board). */
    ck_assert_str_eq(send("boardsize 5"), "=\n\n");
    ck_assert_str_eq(send("play b C3"), "=\n\n");
    ck_assert_str_ne(send("genmove b"), "= pass\n\n");
    ck_assert_str_eq(send("boardsize 9"), "=\n\n");
    /* The tree follows the game: a reply, our move, an undo, a new size. */
    ck_assert_str_eq(send("clear_board"), "=\n\n");
    ck_assert(send("play w E5")[0] == '=');
    ck_assert(send("genmove b")[0] == '=');
    ck_assert(send("undo")[0] == '=');
    ck_assert(send("genmove b")[0] == '=');
    ck_assert(send("boardsize 7")[0] == '=');
    ck_assert(send("genmove w")[0] == '=');
    ck_assert_ptr_nonnull(strstr(send("sp-top-moves 1"), "simulations 200 "));
    gtp_engine_free(engine);
}
END_TEST

/* The simulations of the latest search, read off sp-top-moves. */
static long last_simulations(void)
{
    const char *top = send("sp-top-moves 1");
    long sims = -1;
    ck_assert_msg(sscanf(top, "= simulations %ld ", &sims) == 1, "%s", top);
    return sims;
}

START_TEST(clock_limits_the_search)
{
    /* One second per move in byo-yomi: the clock ends the search, long before
     * its ten million simulations (minutes of work and a tree at its size
     * limit). No elapsed time is compared: a loaded machine only runs fewer
     * simulations in the same second. */
    attach(10000000);
    ck_assert_str_eq(send("time_settings 0 1 1"), "=\n\n");
    ck_assert(send("genmove b")[0] == '=');
    long sims = last_simulations();
    ck_assert_int_ge(sims, 1);
    ck_assert_int_lt(sims, 10000000);
    /* A clock about to expire still gets a move out of at least one batch. */
    ck_assert_str_eq(send("time_settings 60 0 0"), "=\n\n");
    ck_assert_str_eq(send("time_left w 0 0"), "=\n\n");
    ck_assert(send("genmove w")[0] == '=');
    sims = last_simulations();
    ck_assert_int_ge(sims, 1);
    ck_assert_int_lt(sims, 10000000);
    gtp_engine_free(engine);

    /* Without a clock the simulation count alone ends the search, exactly. */
    attach(300);
    ck_assert_str_eq(send("time_settings 0 0 0"), "=\n\n");
    ck_assert(send("genmove b")[0] == '=');
    ck_assert_int_eq(last_simulations(), 300);
    ck_assert(send("genmove w")[0] == '=');
    ck_assert_int_eq(last_simulations(), 300);
    gtp_engine_free(engine);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* With a learned model                                                     */
/* ------------------------------------------------------------------------ */

#define MODEL_SIZE 5

/* A tiny fresh model, or NULL where the library has no nn module. */
static sp_model *tiny_model(void)
{
    sp_model_options o;
    if (sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION) == SP_ERR_UNSUPPORTED) {
        fprintf(stderr, "gtp_search: built without the nn module; the model tests are skipped\n");
        return NULL;
    }
    o.board_size = MODEL_SIZE;
    o.history = 2;
    o.channels = 8;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.value_hidden = 8;
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    sp_model *m = NULL;
    ck_assert_msg(sp_model_create(&m, &o, &nn) == SP_OK, "%s", sp_last_error());
    return m;
}

static void attach_model(sp_model *m, int mode, int policy_only, int threads)
{
    gtp_engine_options opts = GTP_ENGINE_OPTIONS_INIT;
    opts.board_size = MODEL_SIZE;
    ck_assert_int_eq(gtp_engine_create(&engine, &opts), 0);
    gtp_search_options so = GTP_SEARCH_OPTIONS_INIT;
    so.simulations = 24;
    so.threads = threads;
    so.seed = 3;
    so.model = m;
    so.model_mode = mode;
    ck_assert_int_eq(policy_only ? gtp_model_attach_policy(engine, m) : gtp_search_attach(engine, &so), 0);
    ck_assert_int_eq(gtp_model_attach_commands(engine, m), 0);
}

/* Parse sp-top-moves' answer: the value, then moves of falling prior, each
 * legal in `game`; returns how many. */
static int check_top_moves(const char *text, const sp_game *game)
{
    float value, prior, last = 2.0f, sum = 0.0f;
    int n, moves = 0;
    ck_assert_msg(sscanf(text, "= value %f%n", &value, &n) == 1, "%s", text);
    ck_assert(value >= -1.0f && value <= 1.0f);
    for (const char *line = strchr(text, '\n'); line && line[1] != '\n'; line = strchr(line + 1, '\n')) {
        char vertex[8];
        ck_assert_msg(sscanf(line + 1, "%7s prior %f", vertex, &prior) == 2, "%s", line + 1);
        int move;
        ck_assert_int_eq(sp_move_from_gtp(MODEL_SIZE, vertex, &move), SP_OK);
        ck_assert_msg(sp_game_is_legal(game, sp_game_to_play(game), move), "%s is illegal", vertex);
        ck_assert(prior > 0.0f && prior <= last);
        last = prior;
        sum += prior;
        moves++;
    }
    ck_assert(sum <= 1.0f + 1e-4f);
    return moves;
}

/* A short game against itself: every genmove answers a move the engine
 * accepted (an illegal one comes back as an error) and sp-top-moves reads. */
static void play_short_game(void)
{
    for (int i = 0; i < 14; i++) {
        const char *answer = send(i % 2 ? "genmove w" : "genmove b");
        ck_assert_msg(answer[0] == '=' && answer[1] == ' ', "move %d: %s", i, answer);
        if (sp_game_is_over(gtp_engine_game(engine)))
            break;
        ck_assert_int_ge(check_top_moves(send("sp-top-moves 5"), gtp_engine_game(engine)), 1);
    }
}

START_TEST(model_plays_legal_games)
{
    sp_model *m = tiny_model();
    if (!m)
        return;
    for (int variant = 0; variant < 4; variant++) {
        /* learned, rules, learned on two threads, the prior alone */
        attach_model(m, variant == 1 ? SP_MODEL_SEARCH_RULES : SP_MODEL_SEARCH_LEARNED, variant == 3,
                     variant == 2 ? 2 : 1);
        play_short_game();
        /* Out of turn, after an undo, and after a new game. */
        ck_assert(send("clear_board")[0] == '=');
        ck_assert(send("play b C3")[0] == '=');
        ck_assert_msg(send("genmove b")[0] == '=', "variant %d", variant);
        ck_assert(send("undo")[0] == '=');
        ck_assert(send("clear_board")[0] == '=');
        ck_assert(send("genmove w")[0] == '=');
        gtp_engine_free(engine);
    }
    sp_model_free(m);
}
END_TEST

START_TEST(model_commands)
{
    sp_model *m = tiny_model();
    if (!m)
        return;
    attach_model(m, SP_MODEL_SEARCH_LEARNED, 0, 1);
    ck_assert_str_eq(send("boardsize 9"), "? unacceptable size: the model plays 5x5 only\n\n");
    ck_assert_str_eq(send("boardsize x"), "? syntax error\n\n");
    ck_assert_str_eq(send("boardsize 5"), "=\n\n");
    /* Before any genmove: the network's view of the empty board, every
     * point and pass legal, at most N lines. */
    ck_assert_int_eq(check_top_moves(send("sp-top-moves"), gtp_engine_game(engine)), 10);
    ck_assert_int_eq(check_top_moves(send("sp-top-moves 400"), gtp_engine_game(engine)), MODEL_SIZE * MODEL_SIZE + 1);
    ck_assert_int_eq(check_top_moves(send("sp-top-moves 3"), gtp_engine_game(engine)), 3);
    ck_assert_str_eq(send("sp-top-moves 0"), "? syntax error\n\n");
    ck_assert_str_eq(send("sp-top-moves 1 2"), "? syntax error\n\n");
    /* An occupied point leaves the list; a finished game has no moves. */
    ck_assert(send("play b C3")[0] == '=');
    ck_assert_ptr_null(strstr(send("sp-top-moves 400"), "\nC3 "));
    ck_assert(send("play w pass")[0] == '=');
    ck_assert(send("play b pass")[0] == '=');
    ck_assert_int_eq(check_top_moves(send("sp-top-moves"), gtp_engine_game(engine)), 0);
    gtp_engine_free(engine);
    sp_model_free(m);
}
END_TEST

/* Run sp-gtp with `args`, the GTP `commands` on its input; its exit status,
 * standard output in out and standard error in err (malloc'd). */
static int run_sp_gtp(const char *args, const char *commands, char **out, char **err)
{
    const char *sp_gtp = getenv("SP_GTP");
    ck_assert_msg(sp_gtp != NULL, "SP_GTP is not set");
    char in_path[] = "/tmp/sp_gtp_model_in_XXXXXX", out_path[] = "/tmp/sp_gtp_model_out_XXXXXX",
         err_path[] = "/tmp/sp_gtp_model_err_XXXXXX";
    int fds[3] = { mkstemp(in_path), mkstemp(out_path), mkstemp(err_path) };
    ck_assert(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
    ck_assert(write(fds[0], commands, strlen(commands)) == (ssize_t)strlen(commands));
    char command[4096];
    snprintf(command, sizeof command, "%s %s < %s > %s 2> %s", sp_gtp, args, in_path, out_path, err_path);
    int status = system(command);
    char **texts[2] = { out, err };
    const char *paths[2] = { out_path, err_path };
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "rb");
        ck_assert_ptr_nonnull(f);
        *texts[i] = calloc(1, 1 << 16);
        fread(*texts[i], 1, (1 << 16) - 1, f);
        fclose(f);
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    unlink(in_path);
    unlink(out_path);
    unlink(err_path);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Save the tiny model to a new file named by the mkstemp() template @p path;
 * 0 when built without the nn module. */
static int tiny_model_file(char *path)
{
    sp_model *m = tiny_model();
    if (!m)
        return 0;
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_msg(sp_model_save(m, path) == SP_OK, "%s", sp_last_error());
    sp_model_free(m);
    return 1;
}

START_TEST(sp_gtp_with_a_model_file)
{
    char path[] = "/tmp/sp_gtp_model_XXXXXX";
    if (!tiny_model_file(path))
        return;
    static const char game[] = "genmove b\ngenmove w\ngenmove b\ngenmove w\nsp-top-moves 3\nboardsize 9\n"
                               "list_commands\nquit\n";
    static const char *const flags[] = { "", "--search-mode rules --simulations 8", "--policy-only",
                                         "--threads 2 --simulations 16" };
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        char args[512], *out, *err;
        snprintf(args, sizeof args, "--model %s --seed 1 %s", path, flags[f]);
        ck_assert_msg(run_sp_gtp(args, game, &out, &err) == 0, "%s: %s", args, err);
        /* Four moves (the engine only answers legal ones), the prior, the refused size. */
        const char *p = out;
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(p[0] == '=' && p[1] == ' ', "%s", out);
            p = strstr(p, "\n\n") + 2;
        }
        ck_assert_msg(strncmp(p, "= value ", 8) == 0, "%s", p);
        ck_assert_ptr_nonnull(strstr(p, "? unacceptable size: the model plays 5x5 only\n\n"));
        ck_assert_ptr_nonnull(strstr(p, "\nsp-top-moves\n"));
        free(out);
        free(err);
    }
    /* bf16 plays where the CPU runs it, and is refused at start-up, saying
     * so, where it does not. */
    char args[512], *out, *err;
    snprintf(args, sizeof args, "--model %s --precision bf16 --simulations 8", path);
    int status = run_sp_gtp(args, "genmove b\nquit\n", &out, &err);
    if (status == 0)
        ck_assert_msg(strncmp(out, "= ", 2) == 0, "%s", out);
    else
        ck_assert_msg(status == 1 && strstr(err, "cannot load the model") && strstr(err, "bf16"), "%s", err);
    free(out);
    free(err);
    /* Start-up errors: a size the model was not made for, a missing file, a
     * corrupt one, and the model's options without a model. */
    snprintf(args, sizeof args, "--model %s --size 9", path);
    ck_assert_int_eq(run_sp_gtp(args, "quit\n", &out, &err), 1);
    ck_assert_msg(strstr(err, "plays on 5x5, not on the 9x9 board") != NULL, "%s", err);
    free(out);
    free(err);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 40, SEEK_SET);
    fputs("corrupted", f);
    fclose(f);
    snprintf(args, sizeof args, "--model %s", path);
    ck_assert_int_eq(run_sp_gtp(args, "quit\n", &out, &err), 1);
    ck_assert_msg(strstr(err, "cannot load the model") != NULL, "%s", err);
    free(out);
    free(err);
    unlink(path);
    ck_assert_int_eq(run_sp_gtp(args, "quit\n", &out, &err), 1);
    ck_assert_msg(strstr(err, "cannot load the model") != NULL, "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run_sp_gtp("--player playouts --policy-only", "quit\n", &out, &err), 2);
    ck_assert_msg(strstr(err, "--policy-only needs a model") != NULL, "%s", err);
    free(out);
    free(err);
    ck_assert_int_eq(run_sp_gtp("--player random --model x.spm", "quit\n", &out, &err), 2);
    ck_assert_msg(strstr(err, "plays no model") != NULL, "%s", err);
    free(out);
    free(err);
}
END_TEST

/* The move sp-gtp `args --seed seed` answers to `commands`, whose last is a genmove. */
static void last_move(const char *args, int seed, const char *commands, char move[16])
{
    char all[512], *text, *err;
    snprintf(all, sizeof all, "%s --seed %d", args, seed);
    ck_assert_msg(run_sp_gtp(all, commands, &text, &err) == 0, "%s: %s", all, err);
    const char *last = text;
    for (const char *p = text; (p = strstr(p, "\n\n")) && p[2]; p += 2)
        last = p + 2;
    ck_assert_msg(sscanf(last, "= %15s", move) == 1, "%s", text);
    free(text);
    free(err);
}

/* --temperature 1 --temperature-moves 1 opens games differently from seed to
 * seed, where the search alone opens every one the same, and then plays as
 * the search alone does. */
START_TEST(sp_gtp_temperature_opens_games_differently)
{
    char path[] = "/tmp/sp_gtp_model_XXXXXX";
    if (!tiny_model_file(path))
        return;
    char plain[512], drawn[600], first[16] = "";
    snprintf(plain, sizeof plain, "--model %s --search-mode rules --simulations 16", path);
    snprintf(drawn, sizeof drawn, "%s --temperature 1 --temperature-moves 1", plain);
    int distinct = 0;
    for (int seed = 1; seed <= 8; seed++) {
        char want[16], got[16], commands[64];
        last_move(plain, seed, "genmove b\n", want);
        if (seed == 1)
            snprintf(first, sizeof first, "%s", want);
        ck_assert_str_eq(want, first);
        last_move(drawn, seed, "genmove b\n", got);
        distinct += strcmp(got, first) != 0;
        /* After that first move, the second is the search's. */
        snprintf(commands, sizeof commands, "play b %s\ngenmove w\n", got);
        last_move(plain, seed, commands, want);
        last_move(drawn, seed, commands, got);
        ck_assert_str_eq(got, want);
    }
    ck_assert_int_gt(distinct, 0);
    char *out, *err;
    ck_assert_int_eq(run_sp_gtp("--temperature -1", "quit\n", &out, &err), 2);
    ck_assert_msg(strstr(err, "--temperature takes") != NULL, "%s", err);
    free(out);
    free(err);
    unlink(path);
}
END_TEST

/* One lz-analyze update as Sabaki and Lizzie read Leela Zero's: entries
 * "info move V visits N winrate W prior P lcb L order K pv V ..." on one
 * line, W, P and L in 0..10000, orders 0, 1, ..., visits not increasing
 * and summing to `simulations`, each pv starting with its move. Returns
 * the entries read, or -1 with the reason in `why`. */
static int check_analysis_line(const char *line, int simulations, char *why, size_t cap)
{
    int entries = 0, sum = 0, last = 1 << 30;
    const char *p = line;
    while (*p && *p != '\n') {
        char move[8], first[8];
        int visits, winrate, prior, lcb, order, used = 0;
        if (sscanf(p, "info move %7s visits %d winrate %d prior %d lcb %d order %d pv %7s%n", move, &visits,
                   &winrate, &prior, &lcb, &order, first, &used) != 7)
            return snprintf(why, cap, "entry %d does not parse: %.80s", entries, p), -1;
        if (order != entries || visits < 1 || visits > last || winrate < 0 || winrate > 10000 || prior < 0 ||
            prior > 10000 || lcb < 0 || lcb > 10000 || strcmp(move, first))
            return snprintf(why, cap, "entry %d is out of order or range: %.80s", entries, p), -1;
        last = visits;
        sum += visits;
        entries++;
        p += used;
        /* The rest of the pv, up to the next entry. */
        while (*p == ' ' && strncmp(p, " info ", 6))
            p += strcspn(p + 1, " \n") + 1;
        if (*p == ' ')
            p++;
    }
    if (sum != simulations)
        return snprintf(why, cap, "visits sum to %d, not %d", sum, simulations), -1;
    return entries;
}

START_TEST(lz_analyze_streams_as_sabaki_reads_it)
{
    sp_model *m = tiny_model();
    if (!m)
        return;
    char path[] = "/tmp/sp_gtp_analyze_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_msg(sp_model_save(m, path) == SP_OK, "%s", sp_last_error());
    sp_model_free(m);
    /* From a file, input is always waiting: each stream gives one update
     * and closes with the blank line before the next command's response. */
    /* Intervals of 100 s: each update stops at the simulations, not the clock. */
    static const char commands[] = "play b C3\nlz-analyze w 10000\nsp-top-moves 1\n7 lz-analyze interval 10000\n"
                                   "lz-analyze x\nquit\n";
    static const char *const flags[] = { "--search-mode rules", "--search-mode learned", "" };
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        char args[512], *out, *err, why[256];
        snprintf(args, sizeof args, "%s%s %s --simulations 16 --seed 1", f < 2 ? "--model " : "",
                 f < 2 ? path : "--player playouts --size 5", flags[f]);
        ck_assert_msg(run_sp_gtp(args, commands, &out, &err) == 0, "%s: %s", args, err);
        const char *p = strstr(out, "=\n\n=\ninfo move ");
        ck_assert_msg(p != NULL, "%s: no analysis after play: %s", args, out);
        p += 5;
        ck_assert_msg(check_analysis_line(p, 16, why, sizeof why) > 0, "%s: %s", args, why);
        p = strchr(p, '\n') + 1;
        /* Closed by a blank line; sp-top-moves then shows the analysis's search (a model's, the network). */
        ck_assert_msg(strncmp(p, f < 2 ? "\n= value " : "\n= simulations 16 ", f < 2 ? 9 : 18) == 0, "%s: %s",
                      args, p);
        /* The second analysis goes on from the kept tree but in learned mode. */
        p = strstr(p, "=7\ninfo move ");
        ck_assert_msg(p != NULL, "%s: no second analysis: %s", args, out);
        ck_assert_msg(check_analysis_line(p + 3, f == 1 ? 16 : 32, why, sizeof why) > 0, "%s: %s", args, why);
        ck_assert_msg(strstr(p, "\n\n? syntax error\n\n") != NULL, "%s: %s", args, p);
        free(out);
        free(err);
    }
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gtp_search");
    TCase *tc = tcase_create("player");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, budget_follows_the_clock);
    tcase_add_test(tc, genmove_finds_the_capture);
    tcase_add_test(tc, top_moves_command);
    tcase_add_test(tc, clock_limits_the_search);
    suite_add_tcase(s, tc);
    TCase *model = tcase_create("model");
    tcase_set_timeout(model, 120);
    tcase_add_test(model, model_plays_legal_games);
    tcase_add_test(model, model_commands);
    tcase_add_test(model, sp_gtp_with_a_model_file);
    tcase_add_test(model, sp_gtp_temperature_opens_games_differently);
    tcase_add_test(model, lz_analyze_streams_as_sabaki_reads_it);
    suite_add_tcase(s, model);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
