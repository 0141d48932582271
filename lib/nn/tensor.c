/* Activation tensors: channels-last oneDNN memory, with host copies in
 * plain NCHW order going through map/unmap. */
#include <string.h>

#include "nn.h"

void sp__tensor_release(sp__tensor *t)
{
    sp__nn_destroy_memory(&t->mem);
    memset(t, 0, sizeof *t);
}

int sp__tensor_ensure_type(sp__tensor *t, sp__nn *nn, int64_t n, int64_t c, int64_t h, int64_t w,
                           dnnl_data_type_t type)
{
    if (t->mem && t->n == n && t->c == c && t->h == h && t->w == w && t->type == type)
        return SP_OK;
    sp__tensor_release(t);
    if (n <= 0 || c <= 0 || h < 0 || w < 0 || (h == 0) != (w == 0))
        return sp__error(SP_ERR_INVALID_ARG, "tensor shape %lldx%lldx%lldx%lld is invalid",
                         (long long)n, (long long)c, (long long)h, (long long)w);
    dnnl_dims_t dims = { n, c, h, w };
    dnnl_status_t st = h ? dnnl_memory_desc_init_by_tag(&t->md, 4, dims, type, dnnl_nhwc)
                         : dnnl_memory_desc_init_by_tag(&t->md, 2, dims, type, dnnl_nc);
    if (st != dnnl_success)
        return sp__dnnl_error(st, "tensor descriptor");
    int rc = sp__nn_memory(nn, &t->md, &t->mem);
    if (rc)
        return rc;
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    t->type = type;
    return SP_OK;
}

int sp__tensor_ensure(sp__tensor *t, sp__nn *nn, int64_t n, int64_t c, int64_t h, int64_t w)
{
    return sp__tensor_ensure_type(t, nn, n, c, h, w, dnnl_f32);
}

size_t sp__tensor_count(const sp__tensor *t)
{
    return (size_t)(t->n * t->c * (t->h ? t->h * t->w : 1));
}

int sp__tensor_same_shape(const sp__tensor *a, const sp__tensor *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

static int host_copy(sp__tensor *t, float *nchw, int to_device)
{
    if (!t->mem || t->type != dnnl_f32)
        return sp__error(SP_ERR_MISUSE, "tensor: host copy of an unallocated or non-f32 tensor");
    void *ptr;
    int rc = sp__nn_map(t->mem, &ptr);
    if (rc)
        return rc;
    float *dev = ptr;
    int64_t hw = t->h ? t->h * t->w : 1, h = t->h ? t->h : 1, w = t->h ? t->w : 1;
    for (int64_t n = 0; n < t->n; n++)
        for (int64_t c = 0; c < t->c; c++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    size_t host = (size_t)((n * t->c + c) * hw + y * w + x);
                    size_t d = sp__tensor_index(t, n, c, y, x);
                    if (to_device)
                        dev[d] = nchw[host];
                    else
                        nchw[host] = dev[d];
                }
    sp__nn_unmap(t->mem, ptr);
    return SP_OK;
}

int sp__tensor_write(sp__tensor *t, const float *nchw) { return host_copy(t, (float *)nchw, 1); }

int sp__tensor_read(const sp__tensor *t, float *nchw) { return host_copy((sp__tensor *)t, nchw, 0); }

int sp__tensor_zero(sp__tensor *t)
{
    void *ptr;
    int rc = sp__nn_map(t->mem, &ptr);
    if (rc)
        return rc;
    memset(ptr, 0, dnnl_memory_desc_get_size(&t->md));
    sp__nn_unmap(t->mem, ptr);
    return SP_OK;
}
