/* sp-data gen: games between two GTP engine commands, a few random opening
 * moves each for diversity, in parallel jobs (one engine pair per job); the
 * games go to SGF files and/or a .spd dataset. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data_gen.h"
#include "match/match.h"

typedef struct gen {
    const char *out, *black, *white, *sgf_dir;
    int games, jobs, random_moves, size, timeout_ms;
    float komi;
    uint64_t seed;
    sp_dataset *ds;
    pthread_mutex_t lock;
    int next, done, faults, duplicates, failed;
    double started;
} gen;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Random legal opening moves for game i: reproducible from the seed. */
static int opening(const gen *g, int i, int *moves)
{
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = g->size;
    sp_game *game;
    sp_rng *rng;
    if (sp_game_create(&game, &o) || sp_rng_create(&rng, g->seed * 1000003u + (uint64_t)i))
        return 0;
    int n = 0;
    while (n < g->random_moves) {
        int m;
        sp_game_random_move(game, rng, &m);
        if (m == SP_PASS || sp_game_play(game, m))
            break;
        moves[n++] = m;
    }
    sp_rng_free(rng);
    sp_game_free(game);
    return n;
}

static void *job(void *arg)
{
    gen *g = arg;
    match_engine a = { .command = g->black, .label = "A" }, b = { .command = g->white, .label = "B" };
    sp_game_options o = SP_GAME_OPTIONS_INIT;
    o.board_size = g->size;
    o.komi = g->komi;
    sp_game *game;
    if (sp_game_create(&game, &o))
        return NULL;
    int *moves = malloc((size_t)(g->random_moves + 1) * sizeof *moves);
    for (;;) {
        pthread_mutex_lock(&g->lock);
        int i = g->next < g->games ? g->next++ : -1;
        pthread_mutex_unlock(&g->lock);
        if (i < 0 || !moves)
            break;
        /* A plays Black in even games, as in sp-match. */
        match_engine *black = i % 2 == 0 ? &a : &b, *white = i % 2 == 0 ? &b : &a;
        match_settings s = { .size = g->size, .komi = g->komi, .timeout_ms = g->timeout_ms,
                             .max_moves = 4 * g->size * g->size, .out = stdout };
        s.opening = moves;
        s.opening_moves = opening(g, i, moves);
        match_result res;
        sp_game_clear(game);
        match_play_game(black, white, &s, game, &res);
        sp_game_set_info(game, "RE", res.re);
        sp_game_set_info(game, "PB", black->name[0] ? black->name : black->command);
        sp_game_set_info(game, "PW", white->name[0] ? white->name : white->command);
        sp_game_set_info(game, "GC", res.reason);
        char date[16];
        time_t now = time(NULL);
        struct tm tm;
        strftime(date, sizeof date, "%Y-%m-%d", gmtime_r(&now, &tm));
        sp_game_set_info(game, "DT", date);
        char path[4096];
        int sgf_failed = 0;
        if (g->sgf_dir) {
            snprintf(path, sizeof path, "%s/game-%05d.sgf", g->sgf_dir, i + 1);
            sgf_failed = sp_sgf_save(game, path) != SP_OK;
        }
        pthread_mutex_lock(&g->lock);
        g->done++;
        g->failed += sgf_failed;
        if (res.end == MATCH_END_FAULT) {
            g->faults++; /* a crash or a timeout says nothing about the position: not stored */
        } else if (g->ds) {
            char source[64];
            snprintf(source, sizeof source, "gen#%d", i);
            int rc = sp_dataset_add_game(g->ds, game, source, 1, NULL);
            g->duplicates += rc == SP_ERR_MISUSE;
            g->failed += rc != SP_OK && rc != SP_ERR_MISUSE;
        }
        printf("game %d: %s vs %s %s (%d moves, %d random opening moves) %s\n", i + 1, black->label, white->label,
               res.re, res.moves, s.opening_moves, res.reason);
        fflush(stdout);
        if (isatty(STDERR_FILENO)) {
            double t = now_s() - g->started, rate = g->done / (t > 0 ? t : 1);
            fprintf(stderr, "\r\033[Kgames %d/%d, %.1f games/min, ETA %.0f s", g->done, g->games, 60 * rate,
                    (g->games - g->done) / (rate > 0 ? rate : 1));
        }
        pthread_mutex_unlock(&g->lock);
    }
    match_engine_stop(&a);
    match_engine_stop(&b);
    free(moves);
    sp_game_free(game);
    return NULL;
}

int data_gen(int argc, char **argv)
{
    gen g = { .games = 10, .jobs = 1, .random_moves = 4, .size = 9, .komi = 7.0f, .timeout_ms = 60000, .seed = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') { if (g.out) goto usage; g.out = a; continue; }
        if (!v) goto usage;
        i++;
        if (!strcmp(a, "--black")) g.black = v;
        else if (!strcmp(a, "--white")) g.white = v;
        else if (!strcmp(a, "--games")) g.games = atoi(v);
        else if (!strcmp(a, "--jobs")) g.jobs = atoi(v);
        else if (!strcmp(a, "--random-moves")) g.random_moves = atoi(v);
        else if (!strcmp(a, "--size")) g.size = atoi(v);
        else if (!strcmp(a, "--komi")) g.komi = strtof(v, NULL);
        else if (!strcmp(a, "--timeout")) g.timeout_ms = (int)(1000 * strtod(v, NULL));
        else if (!strcmp(a, "--seed")) g.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--sgf-dir")) g.sgf_dir = v;
        else goto usage;
    }
    if (!g.black || !g.white || (!g.out && !g.sgf_dir) || g.games < 1 || g.jobs < 1 || g.jobs > 64
        || g.random_moves < 0 || g.random_moves > 100 || g.size < 2 || g.size > 19 || g.timeout_ms < 1)
        goto usage;
    if (g.sgf_dir && mkdir(g.sgf_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "sp-data gen: cannot create %s: %s\n", g.sgf_dir, strerror(errno));
        return 1;
    }
    if (g.out) {
        struct stat st;
        int rc = stat(g.out, &st) == 0 ? sp_dataset_load(&g.ds, g.out) : sp_dataset_create(&g.ds, g.size);
        if (rc) {
            fprintf(stderr, "sp-data gen: %s: %s\n", g.out, sp_last_error());
            return 1;
        }
    }
    pthread_mutex_init(&g.lock, NULL);
    g.started = now_s();
    pthread_t tid[64];
    int jobs = g.jobs < g.games ? g.jobs : g.games;
    for (int j = 0; j < jobs; j++)
        pthread_create(&tid[j], NULL, job, &g);
    for (int j = 0; j < jobs; j++)
        pthread_join(tid[j], NULL);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    int rc = g.ds ? sp_dataset_save(g.ds, g.out) : SP_OK;
    if (rc)
        fprintf(stderr, "sp-data gen: %s\n", sp_last_error());
    printf("summary: games=%d faults=%d duplicates=%d stored=%llu seconds=%.1f\n", g.done, g.faults, g.duplicates,
           g.ds ? (unsigned long long)sp_dataset_game_count(g.ds) : 0ULL, now_s() - g.started);
    sp_dataset_free(g.ds);
    pthread_mutex_destroy(&g.lock);
    return rc || g.failed ? 1 : 0;
usage:
    fprintf(stderr, "usage: sp-data gen [OUT.spd] --black CMD --white CMD [--games N] [--jobs J] [--random-moves R]\n"
                    "                   [--sgf-dir DIR] [--size N] [--komi K] [--timeout SECONDS] [--seed S]\n"
                    "  OUT.spd is created, or appended to when it exists; at least one of OUT.spd and --sgf-dir.\n");
    return 2;
}
