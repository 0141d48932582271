/* The one version check of every struct a caller passes in or gets filled:
 * older versions are read and written only as far as their fields go. */
#include <string.h>

#include "core_internal.h"

/* Bytes version v has. A table that does not grow with its versions is the
 * library's bug, not the caller's: 0 makes the check fail loudly. */
static size_t bytes_of(const sp__options_type *t, uint32_t v)
{
    if (t->current > SP__MAX_VERSIONS)
        return 0;
    size_t previous = sizeof(uint32_t);
    for (uint32_t i = 1; i <= v; i++) {
        size_t n = i == t->current ? t->size : t->bytes[i - 1];
        if (n < previous || n > t->size)
            return 0;
        previous = n;
    }
    return previous;
}

int sp__options_check(uint32_t version, const sp__options_type *t, const char *fn, size_t *out_bytes)
{
    if (version == 0)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %s version is 0 (set it with its _INIT macro or _init function)",
                         fn, t->name);
    if (version > t->current)
        return sp__error(SP_ERR_VERSION, "%s: %s version %u is newer than this library's (1..%u)", fn, t->name,
                         version, t->current);
    size_t n = bytes_of(t, version);
    if (n == 0)
        return sp__error(SP_ERR_INTERNAL, "%s: %s has no size for version %u", fn, t->name, version);
    if (out_bytes)
        *out_bytes = n;
    return SP_OK;
}

int sp__options_init(void *s, uint32_t version, const sp__options_type *t, const char *fn)
{
    if (!s)
        return sp__error(SP_ERR_INVALID_ARG, "%s: %s is NULL", fn, t->name);
    size_t n = 0;
    int rc = sp__options_check(version, t, fn, &n);
    if (rc != SP_OK)
        return rc;
    memcpy(s, t->defaults, n);
    memcpy(s, &version, sizeof version);
    return SP_OK;
}

int sp__options_read(void *dst, const void *src, const sp__options_type *t, const char *fn)
{
    memcpy(dst, t->defaults, t->size);
    if (!src)
        return SP_OK;
    uint32_t version;
    memcpy(&version, src, sizeof version);
    size_t n = 0;
    int rc = sp__options_check(version, t, fn, &n);
    if (rc == SP_OK)
        memcpy(dst, src, n);
    return rc;
}

int sp__options_write(void *dst, const void *src, const sp__options_type *t, const char *fn)
{
    uint32_t version;
    memcpy(&version, dst, sizeof version);
    size_t n = 0;
    int rc = sp__options_check(version, t, fn, &n);
    if (rc == SP_OK)
        memcpy((char *)dst + sizeof version, (const char *)src + sizeof version, n - sizeof version);
    return rc;
}
