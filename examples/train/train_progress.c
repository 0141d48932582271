/* The progress line: redrawn in place with "\r\033[K", never when stderr is
 * not a terminal, so logs of unattended runs hold only the messages. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "train_progress.h"
#include "train_signal.h"

double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void train_progress_start(train_progress *p, int64_t first_step, int64_t target, double minutes)
{
    p->tty = isatty(STDERR_FILENO);
    p->start = train_now();
    p->last = 0;
    p->first_step = first_step;
    p->target = target;
    p->deadline = minutes > 0 ? p->start + 60 * minutes : 0;
    p->drawn = 0;
}

/* "1h02m", "3m05s", "12s": the time left at a glance. */
static void duration(double seconds, char *buf, size_t size)
{
    long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

void train_progress_step(train_progress *p, const sp_train_stats *s, int batch)
{
    double t = train_now();
    if (!p->tty || t - p->last < 0.5)
        return;
    p->last = t;
    double elapsed = t - p->start, done = (double)(s->step - p->first_step);
    double rate = elapsed > 0 ? done / elapsed : 0; /* steps per second in this run */
    double left = -1;
    if (p->target && rate > 0)
        left = (double)(p->target - s->step) / rate;
    if (p->deadline && (left < 0 || p->deadline - t < left))
        left = p->deadline - t;
    char eta[32] = "?";
    if (left >= 0)
        duration(left, eta, sizeof eta);
    if (p->target)
        fprintf(stderr, "\r\033[Kstep %lld/%lld", (long long)s->step, (long long)p->target);
    else
        fprintf(stderr, "\r\033[Kstep %lld", (long long)s->step);
    fprintf(stderr, "  loss %.4f  lr %.3g  %.0f positions/s  ETA %s", s->loss, s->learning_rate, rate * batch, eta);
    p->drawn = 1;
}

void train_progress_clear(train_progress *p)
{
    if (p->drawn)
        fprintf(stderr, "\r\033[K");
    p->drawn = 0;
}

int train_progress_evaluate(const char *task, uint64_t done, uint64_t total, void *payload)
{
    train_progress *p = payload;
    if (train_signal_received())
        return 1;
    double t = train_now();
    if (!p->tty || (t - p->last < 0.5 && done < total))
        return 0;
    p->last = t;
    fprintf(stderr, "\r\033[K%s %llu/%llu positions", task, (unsigned long long)done, (unsigned long long)total);
    p->drawn = 1;
    return 0;
}
