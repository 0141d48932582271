/* PCA keys in two forms. The FAISS form: a "PCA<d>,Flat" index used to
 * train the PCAMatrix and to apply it (sa_encode of a flat index is the
 * projected floats), which also gives its serialisation for the `.spp` file.
 * The compact form (a learned embedder's): only the projection A and its
 * centre m, because FAISS also serialises the whole d_in x d_in eigenvector
 * matrix (100 MB for a 5,184-value layer) which apply never reads. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "core/core_internal.h"
#include "core/file.h"
#include "embed/embed_internal.h"
#include "retrieval/retrieval_internal.h"

struct sp_pca {
    FaissIndex *index; /* FAISS form; NULL in the compact form */
    const float *matrix; /* compact: A, dim_out x dim_in row-major (inside bytes) */
    const float *centre; /* compact: m, dim_in (inside bytes) */
    float *bias;         /* compact: b = -A m, so apply(x) = A x + b */
    uint32_t dim_in;
    uint32_t dim_out;
    uint64_t id;
    char *bytes;  /* serialised form (FAISS index or compact), kept for save and the id */
    size_t size;
};

/* The compact form's bytes: this tag (which no FAISS index's fourcc starts
 * with, and which the id hashes, so a compact id is never a FAISS
 * payload's hash by construction), dim_in and dim_out as u32, then A and m
 * as f32, all in host byte order (the .spe header has the byte-order mark). */
static const char COMPACT_TAG[8] = { 'S', 'P', 'P', 'C', 'A', 'c', 'A', 'm' };
#define COMPACT_HEAD 16u

static const char SPP_MAGIC[8] = { 'S', 'P', 'P', 'C', 'A', 0, '\r', '\n' };
#define SPP_VERSION 1u
#define SPP_ENDIAN 0x0A0B0C0Du
#define SPP_HEADER 40u

uint64_t sp__embed_hash(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

static int serialise(sp_pca *pca)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    if (!fp)
        return sp__error(SP_ERR_NOMEM, "pca: cannot open a memory stream");
    int failed = faiss_write_index(pca->index, fp) != 0;
    fclose(fp);
    if (failed) {
        free(buf);
        return sp__faiss_error("pca: serialising");
    }
    pca->bytes = buf;
    pca->size = size;
    pca->id = sp__embed_hash(buf, size);
    return SP_OK;
}

/* The projection must give exactly dim_out floats per vector. */
static int check_shape(sp_pca *pca)
{
    size_t code = 0;
    if (faiss_Index_sa_code_size(pca->index, &code) != 0)
        return sp__faiss_error("pca");
    if (code != (size_t)pca->dim_out * sizeof(float))
        return sp__error(SP_ERR_FORMAT, "pca: projection gives %zu bytes, want %u floats", code, pca->dim_out);
    return SP_OK;
}

int sp_pca_train(sp_pca **out, const float *samples, uint64_t count, uint32_t dim_in, uint32_t dim_out,
                 uint32_t threads)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_train: out is NULL");
    *out = NULL;
    if (!samples || count < 2 || dim_out == 0 || dim_out > dim_in)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_train: need samples, count >= 2 and 0 < dim_out <= dim_in");
    sp_pca *pca = calloc(1, sizeof *pca);
    if (!pca)
        return sp__error(SP_ERR_NOMEM, "sp_pca_train: out of memory");
    pca->dim_in = dim_in;
    pca->dim_out = dim_out;
    char factory[64];
    snprintf(factory, sizeof factory, "PCA%u,Flat", dim_out);
    int rc = SP_OK;
    if (faiss_index_factory(&pca->index, (int)dim_in, factory, METRIC_L2) != 0) {
        rc = sp__faiss_error("sp_pca_train");
    } else {
        int previous = sp__omp_enter(threads);
        if (faiss_Index_train(pca->index, (idx_t)count, samples) != 0)
            rc = sp__faiss_error("sp_pca_train");
        sp__omp_leave(previous);
    }
    if (rc == SP_OK)
        rc = check_shape(pca);
    if (rc == SP_OK)
        rc = serialise(pca);
    if (rc != SP_OK) {
        sp_pca_free(pca);
        return rc;
    }
    *out = pca;
    return SP_OK;
}

void sp_pca_free(sp_pca *pca)
{
    if (!pca)
        return;
    if (pca->index)
        faiss_Index_free(pca->index);
    free(pca->bias);
    free(pca->bytes);
    free(pca);
}

/* ---- The compact form ---- */

/* Y = X A^T + b by one sgemm per chunk of rows (cblas counts in int); the
 * rows start as b, so beta = 1 adds the product to it. */
static int compact_apply(const sp_pca *pca, const float *in, uint64_t count, float *out)
{
    const size_t din = pca->dim_in, dout = pca->dim_out;
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < (uint64_t)INT_MAX ? count - done : (uint64_t)INT_MAX;
        float *y = out + done * dout;
        for (uint64_t r = 0; r < n; r++)
            memcpy(y + r * dout, pca->bias, dout * sizeof *y);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)dout, (int)din, 1.0f, in + done * din,
                    (int)din, pca->matrix, (int)din, 1.0f, y, (int)dout);
        done += n;
    }
    return SP_OK;
}

static uint64_t compact_size(uint32_t dim_in, uint32_t dim_out)
{
    uint64_t floats = (uint64_t)dim_out * dim_in + dim_in;
    return floats > (UINT64_MAX - COMPACT_HEAD) / sizeof(float) ? UINT64_MAX : COMPACT_HEAD + floats * sizeof(float);
}

/* Point A and m into the bytes, compute b = -A m once (in double, so the
 * same bytes always give the same b) and the id. pca->bytes is set. */
static int compact_init(sp_pca *pca, const char *who)
{
    const size_t din = pca->dim_in, dout = pca->dim_out;
    pca->matrix = (const float *)(void *)(pca->bytes + COMPACT_HEAD);
    pca->centre = pca->matrix + dout * din;
    if (!(pca->bias = malloc(dout * sizeof *pca->bias)))
        return sp__error(SP_ERR_NOMEM, "%s: out of memory", who);
    for (size_t i = 0; i < dout; i++) {
        double s = 0.0;
        for (size_t j = 0; j < din; j++)
            s += (double)pca->matrix[i * din + j] * pca->centre[j];
        pca->bias[i] = (float)-s;
    }
    pca->id = sp__embed_hash(pca->bytes, pca->size);
    return SP_OK;
}

/* The compact form from its bytes: tag, the expected dimensions, the exact
 * size and finite values, or SP_ERR_FORMAT. */
static int compact_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
                              const char *who)
{
    *out = NULL;
    const unsigned char *p = bytes;
    uint32_t dims[2] = { 0, 0 };
    if (size >= COMPACT_HEAD)
        memcpy(dims, p + 8, sizeof dims);
    if (size < COMPACT_HEAD || memcmp(p, COMPACT_TAG, 8) != 0)
        return sp__error(SP_ERR_FORMAT, "%s: not a compact PCA (bad tag or shorter than 16 bytes)", who);
    if (dims[0] != dim_in || dims[1] != dim_out || dim_out == 0 || dim_out > dim_in)
        return sp__error(SP_ERR_FORMAT, "%s: the compact PCA is %u -> %u, the header says %u -> %u", who, dims[0],
                         dims[1], dim_in, dim_out);
    if (compact_size(dim_in, dim_out) != size)
        return sp__error(SP_ERR_FORMAT, "%s: the compact PCA has %zu bytes, its dimensions need %llu", who, size,
                         (unsigned long long)compact_size(dim_in, dim_out));
    sp_pca *pca = calloc(1, sizeof *pca);
    char *copy = pca ? malloc(size) : NULL;
    if (!copy) {
        free(pca);
        return sp__error(SP_ERR_NOMEM, "%s: out of memory", who);
    }
    pca->dim_in = dim_in;
    pca->dim_out = dim_out;
    pca->bytes = memcpy(copy, bytes, size);
    pca->size = size;
    const float *v = (const float *)(void *)(copy + COMPACT_HEAD);
    for (size_t i = 0; i < (size - COMPACT_HEAD) / sizeof *v; i++)
        if (!isfinite(v[i])) {
            sp_pca_free(pca);
            return sp__error(SP_ERR_FORMAT, "%s: the compact PCA holds a non-finite value (float %zu)", who, i);
        }
    int rc = compact_init(pca, who);
    if (rc != SP_OK) {
        sp_pca_free(pca);
        return rc;
    }
    *out = pca;
    return SP_OK;
}

int sp__pca_compact_from(sp_pca **out, const float *matrix, const float *centre, uint32_t dim_in, uint32_t dim_out,
                         const char *who)
{
    *out = NULL;
    uint64_t size = compact_size(dim_in, dim_out);
    sp_pca *c = calloc(1, sizeof *c);
    char *bytes = c && size <= SIZE_MAX ? malloc((size_t)size) : NULL;
    if (!bytes) {
        free(c);
        return sp__error(SP_ERR_NOMEM, "%s: out of memory for a compact PCA of %llu bytes", who,
                         (unsigned long long)size);
    }
    c->dim_in = dim_in;
    c->dim_out = dim_out;
    c->bytes = bytes;
    c->size = (size_t)size;
    uint32_t dims[2] = { dim_in, dim_out };
    memcpy(bytes, COMPACT_TAG, 8);
    memcpy(bytes + 8, dims, sizeof dims);
    float *a = (float *)(void *)(bytes + COMPACT_HEAD);
    memcpy(a, matrix, (size_t)dim_out * dim_in * sizeof *a);
    memcpy(a + (size_t)dim_out * dim_in, centre, (size_t)dim_in * sizeof *a);
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < (c->size - COMPACT_HEAD) / sizeof *a; i++)
        if (!isfinite(a[i]))
            rc = sp__error(SP_ERR_INTERNAL, "%s: the PCA has a non-finite component", who);
    if (rc == SP_OK)
        rc = compact_init(c, who);
    if (rc != SP_OK) {
        sp_pca_free(c);
        return rc;
    }
    *out = c;
    return SP_OK;
}

int sp__pca_compact(sp_pca **out, const sp_pca *pca, const char *who)
{
    *out = NULL;
    if (!pca->index)
        return compact_from_bytes(out, pca->bytes, pca->size, pca->dim_in, pca->dim_out, who);
    /* A and m read through the FAISS PCA into a scratch copy (1.3 MB for a
     * 5,184 -> 64 one) that the compact constructor copies into its bytes. */
    size_t floats = (size_t)pca->dim_out * pca->dim_in + pca->dim_in;
    float *matrix = malloc(floats * sizeof *matrix);
    if (!matrix)
        return sp__error(SP_ERR_NOMEM, "%s: out of memory for %zu floats", who, floats);
    float *centre = matrix + (size_t)pca->dim_out * pca->dim_in;
    int rc = sp_pca_components(pca, centre, matrix);
    if (rc == SP_OK)
        rc = sp__pca_compact_from(out, matrix, centre, pca->dim_in, pca->dim_out, who);
    free(matrix);
    return rc;
}

int sp__pca_is_compact(const sp_pca *pca) { return !pca->index; }

static int faiss_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
                            const char *who);

int sp__pca_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
                       const char *who)
{
    if (size >= sizeof COMPACT_TAG && memcmp(bytes, COMPACT_TAG, sizeof COMPACT_TAG) == 0)
        return compact_from_bytes(out, bytes, size, dim_in, dim_out, who);
    return faiss_from_bytes(out, bytes, size, dim_in, dim_out, who);
}

int sp_pca_apply(const sp_pca *pca, const float *in, uint64_t count, uint32_t dim_in, float *out)
{
    if (!pca || (count > 0 && (!in || !out)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_apply: NULL argument");
    if (dim_in != pca->dim_in)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_apply: input has dimension %u, the PCA %u", dim_in, pca->dim_in);
    if (count == 0)
        return SP_OK;
    if (!pca->index)
        return compact_apply(pca, in, count, out);
    if (faiss_Index_sa_encode(pca->index, (idx_t)count, in, (uint8_t *)out) != 0)
        return sp__faiss_error("sp_pca_apply");
    return SP_OK;
}

uint32_t sp_pca_dim_in(const sp_pca *pca) { return pca ? pca->dim_in : 0; }
uint32_t sp_pca_dim_out(const sp_pca *pca) { return pca ? pca->dim_out : 0; }
uint64_t sp_pca_id(const sp_pca *pca) { return pca ? pca->id : 0; }

int sp_pca_save(const sp_pca *pca, const char *path)
{
    if (!pca || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_save: NULL argument");
    if (!pca->index)
        return sp__error(SP_ERR_UNSUPPORTED, "sp_pca_save: a compact PCA has no .spp form; save its embedder");
    unsigned char head[SPP_HEADER];
    memset(head, 0, sizeof head);
    memcpy(head, SPP_MAGIC, 8);
    uint32_t v32[4] = { SPP_VERSION, SPP_ENDIAN, pca->dim_in, pca->dim_out };
    memcpy(head + 8, v32, sizeof v32);
    uint64_t size = pca->size;
    memcpy(head + 24, &size, 8);
    uint32_t crc = sp__crc32(0, pca->bytes, pca->size);
    memcpy(head + 32, &crc, 4);
    uint32_t head_crc = sp__crc32(0, head, SPP_HEADER);
    memcpy(head + 36, &head_crc, 4);
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc == SP_OK)
        rc = sp__atomic_write(&f, head, sizeof head);
    if (rc == SP_OK)
        rc = sp__atomic_write(&f, pca->bytes, pca->size);
    if (rc == SP_OK)
        return sp__atomic_commit(&f);
    sp__atomic_abort(&f);
    return rc;
}

int sp_pca_load(sp_pca **out, const char *path)
{
    if (!out || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_load: NULL argument");
    *out = NULL;
    char *data;
    size_t length;
    int rc = sp__file_read(path, &data, &length);
    if (rc != SP_OK)
        return rc;
    const unsigned char *p = (const unsigned char *)data;
    uint32_t v32[4], crc, head_crc;
    uint64_t size;
    if (length < SPP_HEADER || memcmp(p, SPP_MAGIC, 8) != 0) {
        free(data);
        return sp__error(SP_ERR_FORMAT, "sp_pca_load: %s is not a .spp PCA file", path);
    }
    memcpy(v32, p + 8, sizeof v32);
    memcpy(&size, p + 24, 8);
    memcpy(&crc, p + 32, 4);
    memcpy(&head_crc, p + 36, 4);
    unsigned char head[SPP_HEADER];
    memcpy(head, p, SPP_HEADER);
    memset(head + 36, 0, 4);
    const char *why = NULL;
    if (v32[1] != SPP_ENDIAN)
        why = "written on a machine of the other byte order";
    else if (v32[0] != SPP_VERSION)
        why = "unknown format version";
    else if (sp__crc32(0, head, SPP_HEADER) != head_crc)
        why = "header checksum mismatch";
    else if (size != length - SPP_HEADER)
        why = "truncated or padded";
    else if (sp__crc32(0, p + SPP_HEADER, size) != crc)
        why = "checksum mismatch (corrupted file)";
    else if (v32[2] == 0 || v32[3] == 0 || v32[3] > v32[2])
        why = "dimensions out of range";
    if (why) {
        free(data);
        return sp__error(strstr(why, "byte order") ? SP_ERR_UNSUPPORTED : SP_ERR_FORMAT, "sp_pca_load: %s: %s", path, why);
    }
    char who[320];
    snprintf(who, sizeof who, "sp_pca_load: %s", path);
    rc = faiss_from_bytes(out, data + SPP_HEADER, (size_t)size, v32[2], v32[3], who);
    free(data);
    return rc;
}

static int faiss_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
                            const char *who)
{
    *out = NULL;
    sp_pca *pca = calloc(1, sizeof *pca);
    char *copy = pca ? malloc(size ? size : 1) : NULL;
    /* FAISS reads our own copy, which the PCA keeps for saving and its id. */
    FILE *fp = copy && size ? fmemopen(memcpy(copy, bytes, size), size, "rb") : NULL;
    if (!fp) {
        free(copy);
        free(pca);
        if (copy && !size)
            return sp__error(SP_ERR_FORMAT, "%s: the PCA is empty", who);
        return sp__error(SP_ERR_NOMEM, "%s: out of memory", who);
    }
    pca->dim_in = dim_in;
    pca->dim_out = dim_out;
    pca->bytes = copy;
    pca->size = size;
    int rc = sp__pca_check_faiss_layout(copy, size, dim_in, dim_out, who);
    if (rc == SP_OK && faiss_read_index(fp, 0, &pca->index) != 0)
        rc = sp__error(SP_ERR_FORMAT, "%s: FAISS cannot read the PCA: %s", who,
                       faiss_get_last_error() ? faiss_get_last_error() : "unknown error");
    else if (rc == SP_OK && (uint64_t)ftello(fp) != size)
        rc = sp__error(SP_ERR_FORMAT, "%s: the PCA does not fill its %zu bytes", who, size);
    fclose(fp);
    if (rc == SP_OK && (uint32_t)faiss_Index_d(pca->index) != dim_in)
        rc = sp__error(SP_ERR_FORMAT, "%s: the PCA reads %d values, the header says %u", who,
                       (int)faiss_Index_d(pca->index), dim_in);
    if (rc == SP_OK)
        rc = check_shape(pca);
    if (rc != SP_OK) {
        sp_pca_free(pca);
        return rc;
    }
    pca->id = sp__embed_hash(pca->bytes, size);
    *out = pca;
    return SP_OK;
}

void sp__pca_bytes(const sp_pca *pca, const void **out_bytes, size_t *out_size)
{
    *out_bytes = pca->bytes;
    *out_size = pca->size;
}

/* Unit vectors projected per FAISS call: bounds the identity block to
 * UNIT_CHUNK x dim_in floats (5 MB for a 5,184-value layer). */
#define UNIT_CHUNK 256

/* Through sp_pca_apply() only, so it works on the bridge and on upstream
 * libfaiss_c alike: y0 = apply(0) = -A mean, and column j of A is
 * apply(e_j) - y0. The rows of a PCAMatrix without whitening or rotation
 * (the "PCA<d>" factory) are orthonormal, so mean = -A^T y0 (the mean's part
 * in A's row space) gives A (x - mean) = A x + y0 = apply(x) for every x. */
int sp_pca_components(const sp_pca *pca, float *mean, float *matrix)
{
    if (!pca)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_components: pca is NULL");
    if (!mean && !matrix)
        return SP_OK;
    if (!pca->index) {
        if (matrix)
            memcpy(matrix, pca->matrix, (size_t)pca->dim_out * pca->dim_in * sizeof *matrix);
        if (mean)
            memcpy(mean, pca->centre, (size_t)pca->dim_in * sizeof *mean);
        return SP_OK;
    }
    const size_t din = pca->dim_in, dout = pca->dim_out;
    float *units = calloc(UNIT_CHUNK * din, sizeof *units);
    float *y = malloc(UNIT_CHUNK * dout * sizeof *y);
    float *y0 = malloc(dout * sizeof *y0);
    float *a = matrix ? matrix : malloc(dout * din * sizeof *a);
    int rc = units && y && y0 && a ? SP_OK : sp__error(SP_ERR_NOMEM, "sp_pca_components: out of memory");
    if (rc == SP_OK)
        rc = sp_pca_apply(pca, units, 1, pca->dim_in, y0);
    for (size_t first = 0; rc == SP_OK && first < din; first += UNIT_CHUNK) {
        size_t n = din - first < UNIT_CHUNK ? din - first : UNIT_CHUNK;
        for (size_t k = 0; k < n; k++)
            units[k * din + first + k] = 1.0f;
        rc = sp_pca_apply(pca, units, n, pca->dim_in, y);
        for (size_t k = 0; k < n; k++) {
            units[k * din + first + k] = 0.0f;
            for (size_t i = 0; i < dout; i++)
                a[i * din + first + k] = y[k * dout + i] - y0[i];
        }
    }
    if (rc == SP_OK && mean) {
        for (size_t j = 0; j < din; j++) {
            double s = 0.0;
            for (size_t i = 0; i < dout; i++)
                s -= (double)a[i * din + j] * y0[i];
            mean[j] = (float)s;
        }
    }
    if (a != matrix)
        free(a);
    free(units);
    free(y);
    free(y0);
    return rc;
}
