/* The public face of the xoshiro256** generator. */
#include <stdlib.h>

#include "core_internal.h"

/* splitmix64 spreads any seed (even 0) over the four state words. */
void sp__rng_seed(struct sp_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++, seed += 0x9e3779b97f4a7c15ull)
        rng->s[i] = sp__mix64(seed);
}

int sp_rng_create(sp_rng **out, uint64_t seed)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_rng_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return sp__error(SP_ERR_NOMEM, "sp_rng_create: out of memory");
    sp__rng_seed(*out, seed);
    return SP_OK;
}

void sp_rng_free(sp_rng *rng) { free(rng); }

int sp_rng_seed(sp_rng *rng, uint64_t seed)
{
    if (!rng)
        return sp__error(SP_ERR_INVALID_ARG, "sp_rng_seed: rng is NULL");
    sp__rng_seed(rng, seed);
    return SP_OK;
}

uint64_t sp_rng_next(sp_rng *rng) { return rng ? sp__rng_next(rng) : 0; }

uint32_t sp_rng_below(sp_rng *rng, uint32_t bound)
{
    return rng && bound ? sp__rng_below(rng, bound) : 0;
}

double sp_rng_uniform(sp_rng *rng)
{
    return rng ? (double)(sp__rng_next(rng) >> 11) * 0x1.0p-53 : 0.0;
}
