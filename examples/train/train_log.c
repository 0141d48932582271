/* The CSV log (see train_log.h). Rows are flushed one by one, so a killed
 * run loses at most the row it was writing; a resumed run drops that
 * incomplete line together with the rows of the steps it does again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_log.h"

struct train_log {
    FILE *f;
    const char *path;
    int unroll;
};

void train_sums_add(train_sums *sums, const sp_train_stats *s)
{
    sums->steps++;
    sums->loss += s->loss;
    sums->grad_norm += s->grad_norm;
    for (int k = 0; k <= s->unroll && k <= SP_TRAIN_MAX_UNROLL; k++) {
        sums->policy[k] += s->policy_loss[k];
        sums->value[k] += s->value_loss[k];
    }
}

static const char *const per_k[] = { "policy_loss", "value_loss", "top1", "policy_ce", "value_mse", "floor_top1",
                                     "floor_value_mse" };
#define N_PER_K (sizeof per_k / sizeof per_k[0])
#define N_TRAIN_PER_K 2 /* policy_loss and value_loss: the rest are test columns */

static void header(char *buf, size_t size, int unroll)
{
    size_t n = (size_t)snprintf(buf, size, "kind,step,positions,elapsed_s,lr,loss,grad_norm");
    for (size_t c = 0; c < N_PER_K; c++)
        for (int k = 0; k <= unroll && n < size; k++)
            n += (size_t)snprintf(buf + n, size - n, ",%s_k%d", per_k[c], k);
    if (n < size)
        snprintf(buf + n, size - n, "\n");
}

static int failed(const char *path, const char *what)
{
    fprintf(stderr, "sp-train: %s %s: %s\n", what, path, strerror(errno));
    return -1;
}

/* Keep the rows of steps up to @p step and cut the rest (see train_log_open). */
static int cut_after(const char *path, const char *want_header, int64_t step, double *elapsed)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 1 : failed(path, "cannot read the log");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    long keep = len > 0 ? (long)len : 0;
    int rc = 0;
    if (len < 0 || strcmp(line, want_header) != 0) {
        fprintf(stderr, "sp-train: the log %s is not this run's: its header differs (another --unroll?); give "
                        "another --log or remove it\n", path);
        rc = -1;
    }
    double checkpoint_elapsed = -1;
    while (!rc && (len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        char kind[16];
        long long row_step;
        unsigned long long positions;
        double seconds;
        if (sscanf(line, "%15[^,],%lld,%llu,%lf", kind, &row_step, &positions, &seconds) != 4) {
            fprintf(stderr, "sp-train: the log %s has a malformed row at byte %ld; give another --log\n", path, keep);
            rc = -1;
        } else if (row_step > step) {
            break;
        } else {
            keep += (long)len;
            *elapsed = seconds;
            if (!strcmp(kind, "checkpoint") && row_step == step)
                checkpoint_elapsed = seconds;
        }
    }
    free(line);
    fclose(f);
    /* The checkpoint row of the resumed step, when it made it to the file,
     * has the exact time; else the last kept row is the best there is. */
    if (checkpoint_elapsed >= 0)
        *elapsed = checkpoint_elapsed;
    if (!rc && truncate(path, keep) != 0)
        return failed(path, "cannot cut the log");
    return rc;
}

int train_log_open(train_log **out, const char *path, int unroll, int64_t resume_step, double *elapsed)
{
    char head[4096];
    header(head, sizeof head, unroll);
    *out = NULL;
    *elapsed = 0;
    int fresh = 1;
    if (resume_step >= 0) {
        int rc = cut_after(path, head, resume_step, elapsed);
        if (rc < 0)
            return -1;
        fresh = rc == 1;
    }
    train_log *l = calloc(1, sizeof *l);
    if (!l) {
        fprintf(stderr, "sp-train: out of memory\n");
        return -1;
    }
    l->path = path;
    l->unroll = unroll;
    l->f = fopen(path, fresh ? "w" : "a");
    if (!l->f || (fresh && (fputs(head, l->f) == EOF || fflush(l->f) != 0))) {
        failed(path, "cannot write the log");
        train_log_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* The row's end: every column of the header, so each row has as many. */
static int finish(train_log *l, const char *text, int empty_after)
{
    fputs(text, l->f);
    for (int i = 0; i < empty_after; i++)
        fputc(',', l->f);
    fputc('\n', l->f);
    if (fflush(l->f) != 0 || ferror(l->f))
        return failed(l->path, "cannot write the log");
    return 0;
}

static int columns(const train_log *l, size_t groups)
{
    return (int)groups * (l->unroll + 1);
}

int train_log_train(train_log *l, train_sums *sums, const sp_train_stats *last, double elapsed)
{
    char row[4096];
    double n = sums->steps > 0 ? (double)sums->steps : 1;
    size_t at = (size_t)snprintf(row, sizeof row, "train,%lld,%llu,%.3f,%.9g,%.9g,%.9g", (long long)last->step,
                                 (unsigned long long)last->positions, elapsed, last->learning_rate, sums->loss / n,
                                 sums->grad_norm / n);
    for (int k = 0; k <= l->unroll; k++)
        at += (size_t)snprintf(row + at, sizeof row - at, ",%.9g", sums->policy[k] / n);
    for (int k = 0; k <= l->unroll; k++)
        at += (size_t)snprintf(row + at, sizeof row - at, ",%.9g", sums->value[k] / n);
    memset(sums, 0, sizeof *sums);
    return finish(l, row, columns(l, N_PER_K - N_TRAIN_PER_K));
}

int train_log_test(train_log *l, int64_t step, uint64_t positions, double elapsed, const sp_eval_report *r)
{
    char row[4096];
    size_t at = (size_t)snprintf(row, sizeof row, "test,%lld,%llu,%.3f,,,", (long long)step,
                                 (unsigned long long)positions, elapsed);
    for (int c = 0; c < columns(l, N_TRAIN_PER_K); c++)
        row[at++] = ',';
    const double *metric[] = { r->top1, r->policy_ce, r->value_mse, r->floor_top1, r->floor_value_mse };
    for (size_t m = 0; m < sizeof metric / sizeof metric[0]; m++)
        for (int k = 0; k <= l->unroll; k++)
            at += (size_t)snprintf(row + at, sizeof row - at, ",%.6f", metric[m][k]);
    return finish(l, row, 0);
}

int train_log_checkpoint(train_log *l, int64_t step, uint64_t positions, double elapsed)
{
    char row[128];
    snprintf(row, sizeof row, "checkpoint,%lld,%llu,%.3f,,,", (long long)step, (unsigned long long)positions,
             elapsed);
    return finish(l, row, columns(l, N_PER_K));
}

void train_log_close(train_log *l)
{
    if (!l)
        return;
    if (l->f)
        fclose(l->f);
    free(l);
}
