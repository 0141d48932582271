/* sp-data ownership-check: how well the import's Monte-Carlo final ownership
 * (issue 15) agrees with counting, on the games that were counted. Each
 * counted game is replayed without its two final passes, so the import sees
 * a game that stopped on the same board without counting and estimates its
 * ownership; the estimate is compared point by point with the stored
 * counted area. Public API only: what is measured is the import itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_ownership.h"
#include "semiparam.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int failed(const char *what, int rc)
{
    fprintf(stderr, "sp-data ownership-check: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

/* Agreement over the games checked: points, and per game for the interval. */
typedef struct tally {
    uint64_t games, points, agree, all_agree;
    uint64_t estimate_none, opposite; /* disagreements: left nobody's, given to the other colour */
    double sum_share, sum_share2;
} tally;

/* Estimate game g of ds from its board before the final passes and count
 * agreement; 1 when the game was checked, 0 when it cannot be (no move before
 * the passes), or an error below 0. */
static int check_game(const sp_dataset *ds, uint64_t g, uint32_t moves, const sp_import_options *o, tally *t)
{
    if (moves <= 2)
        return 0;
    sp_game *game;
    int rc = sp_dataset_game_replay(ds, g, (int)moves - 2, &game);
    if (rc)
        return rc;
    static char sgf[1 << 16];
    size_t length;
    rc = sp_sgf_write(game, sgf, sizeof sgf, &length);
    sp_game_free(game);
    if (rc)
        return rc;
    sp_dataset *one;
    if ((rc = sp_dataset_create(&one, sp_dataset_board_size(ds))) != SP_OK)
        return rc;
    sp_import_report report = SP_IMPORT_REPORT_INIT;
    rc = sp_dataset_import_memory(one, sgf, length, "check", o, &report);
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    if (!rc && report.games_added != 1)
        rc = SP_ERR_INTERNAL;
    if (!rc)
        rc = sp_dataset_game_info_get(one, 0, &info);
    if (!rc && !(info.flags & SP_GAME_OWNERSHIP_MONTE_CARLO))
        rc = SP_ERR_INTERNAL; /* the truncated game must not count as counted */
    uint8_t counted[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE], estimate[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    if (!rc)
        rc = sp_dataset_game_ownership(ds, g, counted, sizeof counted);
    if (!rc)
        rc = sp_dataset_game_ownership(one, 0, estimate, sizeof estimate);
    sp_dataset_free(one);
    if (rc)
        return rc;
    int area = sp_dataset_board_size(ds) * sp_dataset_board_size(ds), agree = 0;
    for (int p = 0; p < area; p++) {
        agree += estimate[p] == counted[p];
        t->estimate_none += estimate[p] != counted[p] && estimate[p] == SP_EMPTY;
        t->opposite += estimate[p] != counted[p] && estimate[p] != SP_EMPTY && counted[p] != SP_EMPTY;
    }
    double share = (double)agree / area;
    t->games++;
    t->points += (uint64_t)area;
    t->agree += (uint64_t)agree;
    t->all_agree += agree == area;
    t->sum_share += share;
    t->sum_share2 += share * share;
    return 1;
}

int data_ownership_check(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sp-data ownership-check D.spd [--games N] [--playouts P]\n");
        return 2;
    }
    uint64_t max_games = 2000;
    sp_import_options o;
    sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION);
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--games") && v) { max_games = strtoull(v, NULL, 10); i++; }
        else if (!strcmp(argv[i], "--playouts") && v && atol(v) > 0) { o.ownership_playouts = (uint32_t)atol(v); i++; }
        else { fprintf(stderr, "sp-data ownership-check: bad option %s\n", argv[i]); return 2; }
    }
    /* The replayed game is stored whatever its result or players. */
    o.result_kinds = (1u << SP_RESULT_KIND_COUNT) - 1;
    o.dedup = 0;
    sp_dataset *ds;
    int rc = sp_dataset_load(&ds, argv[1]);
    if (rc)
        return failed(argv[1], rc);
    tally t = { 0 };
    uint64_t uncheckable = 0, estimated = 0;
    double t0 = seconds_now();
    for (uint64_t g = 0; g < sp_dataset_game_count(ds) && t.games < max_games; g++) {
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        if ((rc = sp_dataset_game_info_get(ds, g, &info)) != SP_OK)
            break;
        if (info.flags & SP_GAME_OWNERSHIP_ESTIMATED) {
            estimated++;
            continue;
        }
        rc = check_game(ds, g, info.moves, &o, &t);
        if (rc < 0)
            break;
        uncheckable += rc == 0;
        rc = SP_OK;
    }
    double seconds = seconds_now() - t0;
    sp_dataset_free(ds);
    if (rc)
        return failed(argv[1], rc);
    if (!t.games) {
        fprintf(stderr, "sp-data ownership-check: %s has no counted game\n", argv[1]);
        return 1;
    }
    /* Points of one game are not independent: the interval is over games. */
    double n = (double)t.games, mean = t.sum_share / n;
    double var = t.games > 1 ? (t.sum_share2 - n * mean * mean) / (n - 1) : 0;
    double half = 1.96 * sqrt(var > 0 ? var : 0) / sqrt(n);
    printf("counted games checked   %llu (skipped: %llu estimated, %llu with no move before the passes)\n",
           (unsigned long long)t.games, (unsigned long long)estimated, (unsigned long long)uncheckable);
    printf("playouts per game       %u\n", o.ownership_playouts);
    printf("points agreeing         %.4f (95%% interval %.4f-%.4f over games), %llu of %llu\n", mean, mean - half,
           mean + half, (unsigned long long)t.agree, (unsigned long long)t.points);
    printf("games agreeing fully    %.4f\n", (double)t.all_agree / n);
    printf("disagreeing points      %llu left nobody's, %llu given to the other colour, %llu given where counting gave none\n",
           (unsigned long long)t.estimate_none, (unsigned long long)t.opposite,
           (unsigned long long)(t.points - t.agree - t.estimate_none - t.opposite));
    printf("seconds                 %.2f (%.0f games/s)\n", seconds, n / (seconds > 0 ? seconds : 1));
    return 0;
}
