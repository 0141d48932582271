/* Process-wide log and progress callbacks; silent unless the user sets them. */
#include <stdarg.h>
#include <stdio.h>

#include "core_internal.h"

static sp_log_fn log_fn;
static int log_max_level;
static void *log_payload;
static sp_progress_fn progress_fn;
static void *progress_payload;

void sp_set_log_callback(sp_log_fn fn, int max_level, void *payload)
{
    log_fn = fn;
    log_max_level = max_level;
    log_payload = payload;
}

void sp_set_progress_callback(sp_progress_fn fn, void *payload)
{
    progress_fn = fn;
    progress_payload = payload;
}

void sp__log(int level, const char *fmt, ...)
{
    if (!log_fn || level > log_max_level)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    log_fn(level, message, log_payload);
}

int sp__progress(const char *task, uint64_t done, uint64_t total)
{
    return progress_fn ? progress_fn(task, done, total, progress_payload) : 0;
}
