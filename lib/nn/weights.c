/* Blocked copies of parameters for primitives, and gradients added back
 * into the plain grad buffers: the only reorders of a training step, each
 * O(parameters), outside the convolution loops. */
#include <string.h>

#include "layers.h"

void sp__wcache_release(sp__wcache *c)
{
    sp__nn_destroy_memory(&c->mem);
    sp__nn_destroy_primitive(&c->reorder);
    memset(c, 0, sizeof *c);
}

int sp__wcache_get(sp__nn *nn, sp__wcache *c, sp__param *p, const dnnl_memory_desc_t *want,
                   dnnl_memory_t *out)
{
    return sp__wcache_get_mem(nn, c, p->value, &p->md, p->version, want, out);
}

int sp__wcache_get_mem(sp__nn *nn, sp__wcache *c, dnnl_memory_t src, const dnnl_memory_desc_t *src_md,
                       uint64_t version, const dnnl_memory_desc_t *want, dnnl_memory_t *out)
{
    if (dnnl_memory_desc_equal(want, src_md)) {
        *out = src;
        return SP_OK;
    }
    if (!c->valid || !dnnl_memory_desc_equal(want, &c->md)) {
        sp__wcache_release(c);
        int rc = sp__nn_memory(nn, want, &c->mem);
        if (!rc)
            rc = sp__nn_reorder(nn, src_md, want, 0, &c->reorder);
        if (rc) {
            sp__wcache_release(c);
            return rc;
        }
        c->md = *want;
        c->valid = 1;
        c->version = version - 1;
    }
    if (c->version != version) {
        int rc = sp__nn_run_reorder(nn, c->reorder, src, c->mem);
        if (rc)
            return rc;
        c->version = version;
    }
    *out = c->mem;
    return SP_OK;
}

void sp__gacc_release(sp__gacc *g)
{
    sp__nn_destroy_memory(&g->tmp);
    sp__nn_destroy_primitive(&g->reorder);
    memset(g, 0, sizeof *g);
}

int sp__gacc_prepare(sp__nn *nn, sp__gacc *g, sp__param *p, const dnnl_memory_desc_t *md)
{
    if (g->valid && dnnl_memory_desc_equal(md, &g->md))
        return SP_OK;
    sp__gacc_release(g);
    int rc = sp__nn_memory(nn, md, &g->tmp);
    if (!rc)
        rc = sp__nn_reorder(nn, md, &p->md, 1, &g->reorder);
    if (rc) {
        sp__gacc_release(g);
        return rc;
    }
    g->md = *md;
    g->valid = 1;
    return SP_OK;
}

int sp__gacc_commit(sp__nn *nn, sp__gacc *g, sp__param *p)
{
    return sp__nn_run_reorder(nn, g->reorder, g->tmp, p->grad);
}
