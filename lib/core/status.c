/* Status names and the per-thread "last error" text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core_internal.h"

static _Thread_local char last_error[512];

const char *sp_status_str(int status)
{
    switch (status) {
    case SP_OK: return "ok";
    case SP_ERR_INVALID_ARG: return "invalid argument";
    case SP_ERR_NOMEM: return "out of memory";
    case SP_ERR_IO: return "input/output error";
    case SP_ERR_FORMAT: return "bad data format";
    case SP_ERR_ILLEGAL_MOVE: return "illegal move";
    case SP_ERR_NO_DEVICE: return "no such device";
    case SP_ERR_UNSUPPORTED: return "unsupported";
    case SP_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case SP_ERR_MISUSE: return "library misuse";
    case SP_ERR_VERSION: return "unsupported version";
    case SP_ERR_CANCELLED: return "cancelled";
    case SP_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

const char *sp_last_error(void) { return last_error; }

void sp_clear_error(void) { last_error[0] = '\0'; }

/* Callers wrap the previous failure's text ("loading x: %s", sp_last_error()),
 * so an argument may point into last_error itself: format into a scratch
 * buffer first, since vsnprintf's source and destination must not overlap. */
int sp__error(int status, const char *fmt, ...)
{
    char message[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof last_error);
    return status;
}
