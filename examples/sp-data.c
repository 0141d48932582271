/* sp-data: game records to .spd datasets and back out as figures:
 * import, info, split (and gen, games between two GTP engines;
 * ownership-check, the final ownership estimate against counting). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data_gen.h"
#include "data_ownership.h"
#include "semiparam.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: sp-data <command> [options]\n"
            "\n"
            "  import OUT.spd INPUT...   import SGF files, collections (.sgf, .xz, .gz) or directories\n"
            "      --min-rating R        keep games whose weaker player is rated >= R (BR/WR)\n"
            "      --komi-min K, --komi-max K\n"
            "      --results LIST        accepted result kinds, e.g. score,resign,time,draw (default: all with a winner or a draw)\n"
            "      --no-dedup            keep games that repeat a move sequence\n"
            "      --max-games N         stop after N game trees\n"
            "      --ownership-playouts P  final ownership of games not counted: Monte-Carlo over P random\n"
            "                            playouts from the last position (default 64); 0 = the last board's area\n"
            "      --append              add to OUT.spd when it exists\n"
            "      --size N              board size (default 9; with --append, must match OUT.spd's)\n"
            "  info FILE.spd             games, positions, results, ratings, move-number histogram\n"
            "  split FILE.spd            game and position counts of the parts\n"
            "      --seed S, --test-fraction F, --keep F\n"
            "      --out PREFIX          write PREFIX-train.spd, PREFIX-test.spd, PREFIX-half0.spd, PREFIX-half1.spd\n"
            "  gen [OUT.spd] --black CMD --white CMD   games between two GTP engines (see `sp-data gen --help`)\n"
            "      --games N, --jobs J, --random-moves R, --sgf-dir DIR, --timeout S, --seed S\n"
            "  ownership-check FILE.spd  Monte-Carlo final ownership against counting, on the counted games\n"
            "      --games N             games checked (default 2000), --playouts P (default 64)\n");
    return out == stdout ? 0 : 2;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sp-data: %s: %s (%s)\n", what, sp_last_error(), sp_status_str(rc));
    return 1;
}

/* A progress line on a terminal: percentage of the current file, rate, ETA. */
typedef struct progress {
    double start;      /* of the import, for the rate */
    double file_start; /* of the current file, for the ETA */
    double last;
    const char *file;
    const sp_import_report *report; /* the import updates it as it goes */
} progress;

static int show_progress(const char *task, uint64_t done, uint64_t total, void *payload)
{
    progress *p = payload;
    double t = now();
    if (t - p->last < 0.5 && done < total)
        return 0;
    p->last = t;
    double frac = total ? (double)done / (double)total : 0, elapsed = t - p->start;
    double in_file = t - p->file_start, eta = frac > 0 ? in_file * (1 - frac) / frac : 0;
    unsigned long long games = p->report ? (unsigned long long)p->report->games_read : 0;
    fprintf(stderr, "\r\033[K%s %s: %5.1f%%, %llu games, %.0f games/s, ETA %.0f s", task, p->file, 100 * frac,
            games, (double)games / (elapsed > 0 ? elapsed : 1), eta);
    return 0;
}

static int parse_kinds(const char *list, uint32_t *out)
{
    *out = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < SP_RESULT_KIND_COUNT && strcmp(sp_result_kind_name(k), tok) != 0)
            k++;
        if (k == SP_RESULT_KIND_COUNT)
            return -1;
        *out |= 1u << k;
    }
    return 0;
}

static void print_report(const sp_import_report *r, double seconds)
{
    printf("files            %llu\n", (unsigned long long)r->files);
    printf("sgf bytes        %llu\n", (unsigned long long)r->bytes);
    printf("games read       %llu\n", (unsigned long long)r->games_read);
    printf("games added      %llu\n", (unsigned long long)r->games_added);
    printf("positions added  %llu\n", (unsigned long long)r->positions_added);
    for (int i = 0; i < SP_SKIP_REASON_COUNT; i++)
        printf("skipped %-12s %llu\n", sp_skip_reason_name(i), (unsigned long long)r->skipped[i]);
    for (int i = 0; i < SP_RESULT_KIND_COUNT; i++)
        if (r->results[i])
            printf("added %-14s %llu\n", sp_result_kind_name(i), (unsigned long long)r->results[i]);
    printf("seconds          %.2f\n", seconds);
    printf("games/s          %.0f\n", seconds > 0 ? (double)r->games_read / seconds : 0);
}

static int cmd_import(int argc, char **argv)
{
    sp_import_options o;
    sp_import_options_init(&o, SP_IMPORT_OPTIONS_VERSION);
    const char *out = NULL;
    /* At most argc inputs: no fixed table to overflow or silently cut. */
    const char **inputs = malloc((size_t)argc * sizeof *inputs);
    int n_inputs = 0, append = 0, size = 0;
    if (!inputs) {
        fprintf(stderr, "sp-data import: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--min-rating") && v) { o.min_rating = strtof(v, NULL); i++; }
        else if (!strcmp(a, "--komi-min") && v) { o.komi_min = strtof(v, NULL); i++; }
        else if (!strcmp(a, "--komi-max") && v) { o.komi_max = strtof(v, NULL); i++; }
        else if (!strcmp(a, "--results") && v) {
            if (parse_kinds(v, &o.result_kinds)) {
                fprintf(stderr, "sp-data: unknown result kind in '%s'\n", v);
                return 2;
            }
            i++;
        }
        else if (!strcmp(a, "--no-dedup")) o.dedup = 0;
        else if (!strcmp(a, "--max-games") && v) { o.max_games = strtoull(v, NULL, 10); i++; }
        else if (!strcmp(a, "--ownership-playouts") && v) { o.ownership_playouts = (uint32_t)strtoul(v, NULL, 10); i++; }
        else if (!strcmp(a, "--size") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n <= 0 || n > 1000) {
                fprintf(stderr, "sp-data import: --size takes a board size, not '%s'\n", v);
                free(inputs);
                return 2;
            }
            size = (int)n;
            i++;
        }
        else if (!strcmp(a, "--append")) append = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "sp-data import: unknown option %s\n", a);
            free(inputs);
            return 2;
        }
        else if (!out) out = a;
        else inputs[n_inputs++] = a;
    }
    if (!out || !n_inputs) {
        free(inputs);
        return usage(stderr);
    }
    sp_dataset *ds = NULL;
    struct stat st;
    int rc = append && stat(out, &st) == 0 ? sp_dataset_load(&ds, out) : sp_dataset_create(&ds, size ? size : 9);
    if (rc) {
        free(inputs);
        return fail(out, rc);
    }
    /* Appending keeps the file's board size; a different --size is a mistake
     * the import would otherwise hide by skipping every game as off-size. */
    if (size && sp_dataset_board_size(ds) != size) {
        fprintf(stderr, "sp-data import: --size %d, but %s holds %dx%d games\n", size, out,
                sp_dataset_board_size(ds), sp_dataset_board_size(ds));
        sp_dataset_free(ds);
        free(inputs);
        return 2;
    }
    sp_import_report report = SP_IMPORT_REPORT_INIT;
    progress p = { now(), now(), 0, "", &report };
    if (isatty(STDERR_FILENO)) {
        o.progress = show_progress;
        o.progress_payload = &p;
    }
    double t0 = now();
    int failed_input = -1;
    for (int i = 0; i < n_inputs && !rc; i++) {
        p.file = inputs[i];
        p.file_start = now(); /* progress counts the bytes of the current file */
        rc = sp_dataset_import(ds, inputs[i], &o, &report);
        if (rc)
            failed_input = i;
    }
    double seconds = now() - t0;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    if (rc) {
        sp_dataset_free(ds);
        rc = fail(inputs[failed_input], rc);
        free(inputs);
        return rc;
    }
    free(inputs);
    rc = sp_dataset_save(ds, out);
    if (!rc && stat(out, &st) == 0)
        printf("file             %s (%lld bytes)\n", out, (long long)st.st_size);
    print_report(&report, seconds);
    printf("dataset games    %llu\n", (unsigned long long)sp_dataset_game_count(ds));
    printf("dataset positions %llu\n", (unsigned long long)sp_dataset_position_count(ds));
    sp_dataset_free(ds);
    return rc ? fail(out, rc) : 0;
}

static int cmd_info(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    sp_dataset *ds;
    double t0 = now();
    int rc = sp_dataset_load(&ds, argv[1]);
    if (rc)
        return fail(argv[1], rc);
    double load = now() - t0;
    uint64_t games = sp_dataset_game_count(ds);
    uint64_t kinds[SP_RESULT_KIND_COUNT] = { 0 }, winners[3] = { 0 }, estimated = 0;
    static const int levels[] = { 1800, 2000, 2200, 2500, 2800, 3000 };
    uint64_t at_least[6] = { 0 }, pos_at_least[6] = { 0 }, rated = 0;
    uint64_t hist[8] = { 0 }; /* move counts by 50 */
    uint32_t longest = 0;
    for (uint64_t g = 0; g < games; g++) {
        sp_dataset_game_info info;
        memset(&info, 0, sizeof info);
        info.version = SP_DATASET_GAME_INFO_VERSION;
        sp_dataset_game_info_get(ds, g, &info);
        kinds[info.result_kind]++;
        winners[info.winner]++;
        estimated += (info.flags & SP_GAME_OWNERSHIP_ESTIMATED) != 0;
        hist[info.moves / 50 < 7 ? info.moves / 50 : 7]++;
        longest = info.moves > longest ? info.moves : longest;
        if (!isnan(info.black_rating) && !isnan(info.white_rating)) {
            rated++;
            float lo = fminf(info.black_rating, info.white_rating);
            for (int i = 0; i < 6; i++)
                if (lo >= (float)levels[i]) {
                    at_least[i]++;
                    pos_at_least[i] += info.moves;
                }
        }
    }
    printf("file             %s\n", argv[1]);
    printf("board size       %d\n", sp_dataset_board_size(ds));
    printf("games            %llu\n", (unsigned long long)games);
    printf("positions        %llu\n", (unsigned long long)sp_dataset_position_count(ds));
    printf("load seconds     %.3f (mmap and full check)\n", load);
    printf("winner black     %llu\nwinner white     %llu\nno winner        %llu\n", (unsigned long long)winners[1],
           (unsigned long long)winners[2], (unsigned long long)winners[0]);
    for (int i = 0; i < SP_RESULT_KIND_COUNT; i++)
        if (kinds[i])
            printf("result %-10s %llu\n", sp_result_kind_name(i), (unsigned long long)kinds[i]);
    printf("ownership estimated (no counting) %llu\n", (unsigned long long)estimated);
    printf("rated games      %llu\n", (unsigned long long)rated);
    for (int i = 0; i < 6; i++)
        printf("weaker >= %d  %llu games, %llu positions\n", levels[i], (unsigned long long)at_least[i],
               (unsigned long long)pos_at_least[i]);
    printf("moves per game histogram:\n");
    for (int i = 0; i < 8; i++)
        printf("  %3d-%-4s %llu\n", i * 50, i < 7 ? "" : "+", (unsigned long long)hist[i]);
    printf("longest game     %u moves\n", longest);
    sp_dataset_free(ds);
    return 0;
}

static int cmd_split(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    sp_split_options so;
    sp_split_options_init(&so, SP_SPLIT_OPTIONS_VERSION);
    const char *prefix = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seed")) so.seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--test-fraction")) so.test_fraction = strtof(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--keep")) so.keep_fraction = strtof(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--out")) prefix = argv[i + 1];
        else { fprintf(stderr, "sp-data split: unknown option %s\n", argv[i]); return 2; }
    }
    sp_dataset *ds;
    int rc = sp_dataset_load(&ds, argv[1]);
    if (rc)
        return fail(argv[1], rc);
    static const char *names[] = { "all", "train", "test", "half0", "half1" };
    sp_dataset *parts[5] = { NULL };
    uint64_t games[5] = { 0 };
    for (int p = 1; p < 5 && prefix && !rc; p++)
        rc = sp_dataset_create(&parts[p], sp_dataset_board_size(ds));
    for (uint64_t g = 0; g < sp_dataset_game_count(ds) && !rc; g++) {
        int part;
        rc = sp_dataset_game_part(ds, g, &so, &part);
        games[0]++;
        games[part]++;
        if (part != SP_PART_TEST)
            games[SP_PART_TRAIN]++;
        if (prefix && !rc) {
            rc = sp_dataset_copy_game(parts[part], ds, g);
            if (!rc && part != SP_PART_TEST)
                rc = sp_dataset_copy_game(parts[SP_PART_TRAIN], ds, g);
        }
    }
    for (int p = 0; p < 5 && !rc; p++) {
        size_t n;
        rc = sp_dataset_positions(ds, p, &so, NULL, 0, &n);
        if (rc == SP_ERR_BUFFER_TOO_SMALL)
            rc = SP_OK;
        printf("%-6s %llu games, %zu kept positions\n", names[p], (unsigned long long)games[p], n);
    }
    for (int p = 1; p < 5 && prefix && !rc; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s-%s.spd", prefix, names[p]);
        rc = sp_dataset_save(parts[p], path);
        if (!rc)
            printf("wrote %s\n", path);
    }
    for (int p = 0; p < 5; p++)
        sp_dataset_free(parts[p]);
    sp_dataset_free(ds);
    return rc ? fail("split", rc) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return usage(stdout);
    if (!strcmp(argv[1], "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "split"))
        return cmd_split(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ownership-check"))
        return data_ownership_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "gen"))
        return data_gen(argc - 1, argv + 1);
    fprintf(stderr, "sp-data: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
