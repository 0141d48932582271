/* The FAISS form's bytes are walked here before faiss::read_index sees
 * them. FAISS 1.7.3 builds the objects it reads with plain `new` and does
 * not free them when a later field throws, so a crafted `.spp` or `.spe`
 * (one whose checksum was recomputed) leaks whatever was read before the bad
 * field. The walk accepts exactly what sp_pca_train() writes, the "PCA<d>,
 * Flat" factory index, so FAISS is only ever handed bytes it reads whole:
 *
 *   "IxPT" header(d = dim_in)  u32 chain length 1
 *     "Pcam" f32 eigen_power 0, f32 epsilon, u8 random_rotation 0,
 *            i32 balanced_bins 0, vectors mean (dim_in), eigenvalues
 *            (dim_in), PCAMat (dim_in^2), u8 have_bias 1, vectors A
 *            (dim_out x dim_in), b (dim_out), i32 d_in, i32 d_out, u8 trained 1
 *   "IxF2" header(d = dim_out, ntotal 0)  vector codes (0 floats)
 *
 * where header(d) = i32 d, i64 ntotal 0, i64, i64 (unused), u8 trained 1,
 * i32 metric 1 (L2), and a vector is a u64 count then count f32, all in
 * host byte order (the file headers carry the byte-order mark). */
#include <string.h>

#include "core/core_internal.h"
#include "embed/embed_internal.h"

typedef struct {
    const unsigned char *p;
    size_t left;
} cursor;

static int take(cursor *c, void *out, size_t n)
{
    if (c->left < n)
        return 0;
    if (out)
        memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return 1;
}

static int fourcc(cursor *c, const char *want)
{
    char got[4];
    return take(c, got, 4) && memcmp(got, want, 4) == 0;
}

static int u8_is(cursor *c, unsigned char want)
{
    unsigned char v;
    return take(c, &v, 1) && v == want;
}

static int i32_is(cursor *c, int32_t want)
{
    int32_t v;
    return take(c, &v, 4) && v == want;
}

/* A vector of exactly `count` floats. */
static int floats(cursor *c, uint64_t count)
{
    uint64_t n;
    return take(c, &n, 8) && n == count && count <= c->left / 4 && take(c, NULL, (size_t)count * 4);
}

/* An index header of dimension d, trained, empty, L2. */
static int header(cursor *c, uint32_t d)
{
    int64_t ntotal;
    return i32_is(c, (int32_t)d) && take(c, &ntotal, 8) && ntotal == 0 && take(c, NULL, 16) && u8_is(c, 1) &&
           i32_is(c, 1);
}

int sp__pca_check_faiss_layout(const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out, const char *who)
{
    if (dim_in == 0 || dim_out == 0 || dim_out > dim_in || dim_in > INT32_MAX)
        return sp__error(SP_ERR_FORMAT, "%s: the PCA's dimensions are out of range", who);
    cursor c = { bytes, size };
    const char *why = NULL;
    float epsilon;
    if (!fourcc(&c, "IxPT") || !header(&c, dim_in) || !i32_is(&c, 1))
        why = "it is not a one-step FAISS pre-transform index of that input size";
    else if (!fourcc(&c, "Pcam") || !i32_is(&c, 0) || !take(&c, &epsilon, 4) || !u8_is(&c, 0) || !i32_is(&c, 0))
        why = "its transform is not a plain FAISS PCA matrix";
    else if (!floats(&c, dim_in) || !floats(&c, dim_in) || !floats(&c, (uint64_t)dim_in * dim_in))
        why = "its mean, eigenvalues or eigenvectors are not of the input size";
    else if (!u8_is(&c, 1) || !floats(&c, (uint64_t)dim_out * dim_in) || !floats(&c, dim_out))
        why = "its projection is not of the header's sizes";
    else if (!i32_is(&c, (int32_t)dim_in) || !i32_is(&c, (int32_t)dim_out) || !u8_is(&c, 1))
        why = "its transform's sizes are not the header's, or it is untrained";
    else if (!fourcc(&c, "IxF2") || !header(&c, dim_out) || !floats(&c, 0))
        why = "it does not end in an empty flat L2 index of the output size";
    else if (c.left != 0)
        why = "bytes follow the index";
    if (why)
        return sp__error(SP_ERR_FORMAT, "%s: the PCA is not one this library writes: %s (byte %zu of %zu)", who, why,
                         size - c.left, size);
    return SP_OK;
}
