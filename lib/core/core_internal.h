/* Internal helpers of the core module shared by every other module:
 * error reporting, logging and argument checks. Never exported. */
#ifndef SP_CORE_INTERNAL_H
#define SP_CORE_INTERNAL_H

#include "semiparam/core.h"

#if defined(__GNUC__)
#define SP__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SP__PRINTF(fmt, args)
#endif

/* Marks the few internals libsemiparam-mpi (lib/dist) calls: default
 * visibility, exported only under the SEMIPARAM_PRIVATE node of
 * lib/libsemiparam.map, declared in no public header. */
#if defined(__GNUC__)
#define SP__SHARED __attribute__((visibility("default")))
#else
#define SP__SHARED
#endif

/* Record the calling thread's error text and return status, so that a
 * failing call reads `return sp__error(SP_ERR_INVALID_ARG, "...", ...);`. */
SP__SHARED int sp__error(int status, const char *fmt, ...) SP__PRINTF(2, 3);

/* Send a message to the user's log callback, if one is set. */
void sp__log(int level, const char *fmt, ...) SP__PRINTF(2, 3);

/* Report progress to the process-wide callback; returns non-zero to cancel. */
int sp__progress(const char *task, uint64_t done, uint64_t total);

/* A struct the caller versions (libgit2 way: `uint32_t version` first, fields
 * only appended, each append bumps the version). The library keeps one of
 * these per struct and never touches more of a caller's struct than the
 * caller's version has, so a program built against an older header is
 * neither over-read nor over-written. */
/* Versions a struct may reach before this grows; past it the check fails
 * with SP_ERR_INTERNAL rather than reading a table that is too short. */
#define SP__MAX_VERSIONS 8
typedef struct sp__options_type {
    const char *name;       /* "sp_game_options", for messages */
    uint32_t current;       /* the version this library's header describes */
    size_t size;            /* sizeof the struct at `current` */
    const void *defaults;   /* the struct at `current`, every field at its default */
    /* bytes[v - 1], v < current: the bytes version v has, the offsetof of the
     * first field a later version appended (not sizeof the old struct: a new
     * field may fill old tail padding). */
    size_t bytes[SP__MAX_VERSIONS];
} sp__options_type;

/* Check a caller's `version` against t: 0 is SP_ERR_INVALID_ARG, above
 * t->current SP_ERR_VERSION, both naming fn and the struct. On SP_OK,
 * *out_bytes (may be NULL) holds the bytes that version has. */
int sp__options_check(uint32_t version, const sp__options_type *t, const char *fn, size_t *out_bytes);

/* The public sp_X_init(s, version): the defaults of the fields `version` has,
 * nothing past them, and s->version = version. */
SP__SHARED int sp__options_init(void *s, uint32_t version, const sp__options_type *t, const char *fn);

/* Read a caller's struct: dst (t->size bytes) gets the defaults, then the
 * fields src's version has. src NULL leaves the defaults. dst->version keeps
 * the caller's version. */
SP__SHARED int sp__options_read(void *dst, const void *src, const sp__options_type *t, const char *fn);

/* Write the library's full struct src back into a caller's dst, only the
 * fields dst's version has; dst->version is kept. */
int sp__options_write(void *dst, const void *src, const sp__options_type *t, const char *fn);

/* The generator's state is visible inside the library so hot loops
 * (playouts, sampling) can inline it. */
struct sp_rng {
    uint64_t s[4];
};

void sp__rng_seed(struct sp_rng *rng, uint64_t seed);

/* splitmix64: one step from state x, i.e. the finaliser of x + the golden
 * gamma. Seeds the generator and hashes every deterministic decision (dedup
 * keys, splits, retrieval halves), so those stay the same across builds. */
static inline uint64_t sp__mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t sp__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** step. */
static inline uint64_t sp__rng_next(struct sp_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = sp__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sp__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, bound) by Lemire's multiply-shift; the bias (< bound/2^32)
 * is far below anything a playout could notice, and it avoids a division. */
static inline uint32_t sp__rng_below(struct sp_rng *rng, uint32_t bound)
{
    return (uint32_t)(((sp__rng_next(rng) >> 32) * (uint64_t)bound) >> 32);
}

#endif
