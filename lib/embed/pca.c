/* PCA keys: a FAISS "PCA<d>,Flat" index used only to train the PCAMatrix and
 * to apply it (sa_encode of a flat index is the projected floats), which
 * also gives its serialisation for the `.spp` file. */
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
    FaissIndex *index;
    uint32_t dim_in;
    uint32_t dim_out;
    uint64_t id;
    char *bytes;  /* serialised FAISS index, kept for save and the id */
    size_t size;
};

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
    free(pca->bytes);
    free(pca);
}

int sp_pca_apply(const sp_pca *pca, const float *in, uint64_t count, uint32_t dim_in, float *out)
{
    if (!pca || (count > 0 && (!in || !out)))
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_apply: NULL argument");
    if (dim_in != pca->dim_in)
        return sp__error(SP_ERR_INVALID_ARG, "sp_pca_apply: input has dimension %u, the PCA %u", dim_in, pca->dim_in);
    if (count == 0)
        return SP_OK;
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
    rc = sp__pca_from_bytes(out, data + SPP_HEADER, (size_t)size, v32[2], v32[3], who);
    free(data);
    return rc;
}

int sp__pca_from_bytes(sp_pca **out, const void *bytes, size_t size, uint32_t dim_in, uint32_t dim_out,
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
    int rc = SP_OK;
    if (faiss_read_index(fp, 0, &pca->index) != 0)
        rc = sp__error(SP_ERR_FORMAT, "%s: FAISS cannot read the PCA: %s", who,
                       faiss_get_last_error() ? faiss_get_last_error() : "unknown error");
    else if ((uint64_t)ftello(fp) != size)
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
