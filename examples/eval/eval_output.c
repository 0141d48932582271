/* The CSV files of sp-eval (see eval_output.h): text fields quoted as RFC
 * 4180 says when they hold a comma, a quote or a line break; the metrics
 * with six decimals, NaN as "nan" (a step no position reached). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval_output.h"
#include "eval_positions.h"

void eval_wilson(double p, uint64_t n, double *low, double *high)
{
    const double z = 1.959963984540054;
    if (!n || !isfinite(p)) {
        *low = *high = NAN;
        return;
    }
    double m = (double)n, z2 = z * z / m;
    double centre = (p + z2 / 2) / (1 + z2);
    double half = z / (1 + z2) * sqrt(p * (1 - p) / m + z2 / (4 * m));
    *low = centre - half > 0 ? centre - half : 0;
    *high = centre + half < 1 ? centre + half : 1;
}

void eval_mse_interval(double mse, double se, double *low, double *high)
{
    const double z = 1.959963984540054;
    if (!isfinite(mse) || !isfinite(se)) {
        *low = *high = NAN;
        return;
    }
    *low = mse - z * se > 0 ? mse - z * se : 0;
    *high = mse + z * se;
}

static void field(FILE *f, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* Close `f`, saying why when anything written to it failed. */
static int finish(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "sp-eval: writing %s: %s\n", path, strerror(errno ? errno : EIO));
        return 1;
    }
    return 0;
}

int eval_csv_append(const char *path, const eval_row *row, const sp_eval_report *r)
{
    struct stat st;
    int fresh = stat(path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "sp-eval: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (fresh)
        fputs("model,neighbours,index,label,mode,k,positions,top1,top1_low,top1_high,policy_ce,value_mse,"
              "floor_top1,floor_value_mse,value_mse_low,value_mse_high\n", f);
    for (int k = 0; k <= r->unroll && k <= SP_TRAIN_MAX_UNROLL; k++) {
        double low, high, mse_low, mse_high;
        eval_wilson(r->top1[k], r->count[k], &low, &high);
        eval_mse_interval(r->value_mse[k], r->value_mse_se[k], &mse_low, &mse_high);
        field(f, row->model);
        fprintf(f, ",%d,", row->neighbours);
        field(f, row->index);
        fputc(',', f);
        field(f, row->label);
        fprintf(f, ",%s,%d,%llu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", row->mode, k,
                (unsigned long long)r->count[k], r->top1[k], low, high, r->policy_ce[k], r->value_mse[k],
                r->floor_top1[k], r->floor_value_mse[k], mse_low, mse_high);
    }
    return finish(f, path);
}

int eval_distances_write(const char *path, const sp_neighbours *nb, uint32_t count, const uint64_t *positions,
                         uint64_t n)
{
    uint32_t k = sp_neighbours_k(nb);
    uint64_t *ids = malloc((k ? k : 1) * sizeof *ids);
    float *distances = malloc((k ? k : 1) * sizeof *distances);
    FILE *f = ids && distances ? fopen(path, "w") : NULL;
    if (!f) {
        fprintf(stderr, "sp-eval: cannot write %s: %s\n", path, ids && distances ? strerror(errno) : "out of memory");
        free(ids);
        free(distances);
        return 1;
    }
    fputs("position,rank,neighbour,distance\n", f);
    for (uint64_t i = 0; i < sp_neighbours_count(nb); i++) {
        uint64_t position;
        if (sp_neighbours_row(nb, i, &position, ids, distances) != SP_OK ||
            !eval_positions_contain(positions, n, position))
            continue;
        for (uint32_t j = 0; j < count && j < k; j++) {
            if (ids[j] == SP_RETRIEVER_NO_ID)
                fprintf(f, "%llu,%u,,inf\n", (unsigned long long)position, j + 1);
            else
                fprintf(f, "%llu,%u,%llu,%.9g\n", (unsigned long long)position, j + 1, (unsigned long long)ids[j],
                        (double)distances[j]);
        }
    }
    free(ids);
    free(distances);
    return finish(f, path);
}
