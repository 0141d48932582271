/* Parameter store: named plain-format tensors with gradients, deterministic
 * initialisation from a seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

void sp__params_setup(sp__params *ps, sp__nn *nn)
{
    memset(ps, 0, sizeof *ps);
    ps->nn = nn;
}

static void param_free(sp__param *p)
{
    if (!p)
        return;
    sp__nn_destroy_memory(&p->value);
    sp__nn_destroy_memory(&p->grad);
    free(p->state[0]);
    free(p->state[1]);
    free(p);
}

void sp__params_release(sp__params *ps)
{
    for (size_t i = 0; i < ps->count; i++)
        param_free(ps->items[i]);
    free(ps->items);
    ps->items = NULL;
    ps->count = ps->capacity = 0;
}

sp__param *sp__params_find(const sp__params *ps, const char *name)
{
    for (size_t i = 0; i < ps->count; i++)
        if (strcmp(ps->items[i]->name, name) == 0)
            return ps->items[i];
    return NULL;
}

int sp__params_add(sp__params *ps, sp__param **out, const char *name, int ndims, const int64_t *dims,
                   int flags, int init, float init_scale)
{
    *out = NULL;
    if (strlen(name) >= SP__PARAM_NAME_MAX)
        return sp__error(SP_ERR_INVALID_ARG, "parameter name '%s' is too long", name);
    if (sp__params_find(ps, name))
        return sp__error(SP_ERR_INVALID_ARG, "parameter '%s' is registered twice", name);
    if (ndims < 1 || ndims > SP__PARAM_MAX_DIMS)
        return sp__error(SP_ERR_INVALID_ARG, "parameter '%s' has %d dimensions", name, ndims);
    if (ps->count == ps->capacity) {
        size_t cap = ps->capacity ? 2 * ps->capacity : 16;
        sp__param **items = realloc(ps->items, cap * sizeof *items);
        if (!items)
            return sp__error(SP_ERR_NOMEM, "parameters: out of memory");
        ps->items = items;
        ps->capacity = cap;
    }
    sp__param *p = calloc(1, sizeof *p);
    if (!p)
        return sp__error(SP_ERR_NOMEM, "parameters: out of memory");
    strcpy(p->name, name);
    p->ndims = ndims;
    p->count = 1;
    for (int i = 0; i < ndims; i++) {
        p->dims[i] = dims[i];
        p->count *= (size_t)dims[i];
    }
    p->flags = flags;
    p->init = init;
    p->init_scale = init_scale;
    static const dnnl_format_tag_t plain[] = { dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd };
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&p->md, ndims, p->dims, dnnl_f32, plain[ndims - 1]);
    int rc = st == dnnl_success ? SP_OK : sp__dnnl_error(st, "parameter descriptor");
    if (!rc)
        rc = sp__nn_memory(ps->nn, &p->md, &p->value);
    if (!rc && !(flags & SP__PARAM_BUFFER))
        rc = sp__nn_memory(ps->nn, &p->md, &p->grad);
    if (rc) {
        param_free(p);
        return rc;
    }
    ps->items[ps->count++] = p;
    *out = p;
    return SP_OK;
}

size_t sp__params_total(const sp__params *ps)
{
    size_t total = 0;
    for (size_t i = 0; i < ps->count; i++)
        total += ps->items[i]->count;
    return total;
}

static int copy(dnnl_memory_t mem, float *host, size_t count, int to_device)
{
    if (!mem)
        return sp__error(SP_ERR_MISUSE, "parameter has no such buffer");
    void *ptr;
    int rc = sp__nn_map(mem, &ptr);
    if (rc)
        return rc;
    if (to_device)
        memcpy(ptr, host, count * sizeof(float));
    else
        memcpy(host, ptr, count * sizeof(float));
    sp__nn_unmap(mem, ptr);
    return SP_OK;
}

int sp__param_read(const sp__param *p, float *out) { return copy(p->value, out, p->count, 0); }
int sp__param_read_grad(const sp__param *p, float *out) { return copy(p->grad, out, p->count, 0); }
int sp__param_write_grad(sp__param *p, const float *v) { return copy(p->grad, (float *)v, p->count, 1); }

int sp__param_write(sp__param *p, const float *values)
{
    int rc = copy(p->value, (float *)values, p->count, 1);
    if (!rc)
        p->version++;
    return rc;
}

/* FNV-1a of the name mixes each parameter's own stream. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double uniform01(struct sp_rng *rng)
{
    return ((double)(sp__rng_next(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

int sp__params_initialise(sp__params *ps, uint64_t seed)
{
    for (size_t i = 0; i < ps->count; i++) {
        sp__param *p = ps->items[i];
        void *ptr;
        int rc = sp__nn_map(p->value, &ptr);
        if (rc)
            return rc;
        float *v = ptr;
        struct sp_rng rng;
        sp__rng_seed(&rng, seed ^ name_hash(p->name));
        for (size_t j = 0; j < p->count; j++) {
            switch (p->init) {
            case SP__INIT_ZERO:
                v[j] = 0.0f;
                break;
            case SP__INIT_ONE:
                v[j] = 1.0f;
                break;
            case SP__INIT_UNIFORM:
                v[j] = (float)((2.0 * uniform01(&rng) - 1.0) * p->init_scale);
                break;
            default: { /* Box-Muller; one value per pair keeps the stream simple */
                double u1 = uniform01(&rng), u2 = uniform01(&rng);
                v[j] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2) * p->init_scale);
            }
            }
        }
        sp__nn_unmap(p->value, ptr);
        p->version++;
        free(p->state[0]);
        free(p->state[1]);
        p->state[0] = p->state[1] = NULL;
    }
    return SP_OK;
}

int sp__params_zero_grad(sp__params *ps)
{
    for (size_t i = 0; i < ps->count; i++) {
        sp__param *p = ps->items[i];
        if (!p->grad)
            continue;
        void *ptr;
        int rc = sp__nn_map(p->grad, &ptr);
        if (rc)
            return rc;
        memset(ptr, 0, p->count * sizeof(float));
        sp__nn_unmap(p->grad, ptr);
    }
    return SP_OK;
}
