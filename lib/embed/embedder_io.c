/* The `.spe` embedder file: a 128-byte header (what the embedder is, the
 * model it was made from, its id, CRCs) and the PCA's bytes: FAISS's for a
 * raw embedder, the compact form (A and m) for a learned one. The loader
 * checks every field and both CRCs before FAISS reads a byte. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "embed/embed_internal.h"

static const char SPE_MAGIC[8] = { 'S', 'P', 'E', 'M', 'B', 'E', 'D', 0x1a };
#define SPE_VERSION 1u
#define SPE_ENDIAN 0x0A0B0C0Du
#define SPE_HEADER 128u
/* Offsets in the header (docs/file-formats.md). */
enum {
    AT_VERSION = 8, AT_ENDIAN = 12, AT_KIND = 16, AT_DIM = 20, AT_INPUT = 24, AT_BOARD = 28, AT_HISTORY = 32,
    AT_RESERVED = 36, AT_MODEL = 40, AT_ID = 48, AT_VARIANCE = 56, AT_LAYER = 64, AT_PCA_SIZE = 96,
    AT_PCA_CRC = 104, AT_HEAD_CRC = 108, AT_TAIL = 112
};
/* Largest layer (or planes) a file may claim: 64M floats per position. */
#define MAX_INPUT (1u << 26)

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int sp_embedder_save(const sp_embedder *e, const char *path)
{
    if (!e || !path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_save: %s is NULL", e ? "path" : "embedder");
    const void *bytes;
    size_t size;
    sp__pca_bytes(e->pca, &bytes, &size);
    unsigned char head[SPE_HEADER];
    memset(head, 0, sizeof head);
    memcpy(head, SPE_MAGIC, 8);
    put32(head + AT_VERSION, SPE_VERSION);
    put32(head + AT_ENDIAN, SPE_ENDIAN);
    put32(head + AT_KIND, (uint32_t)e->kind);
    put32(head + AT_DIM, e->dim);
    put32(head + AT_INPUT, e->input_dim);
    put32(head + AT_BOARD, (uint32_t)e->board_size);
    put32(head + AT_HISTORY, (uint32_t)e->history);
    put64(head + AT_MODEL, e->model_hash);
    put64(head + AT_ID, e->id);
    memcpy(head + AT_VARIANCE, &e->explained_variance, 8);
    memcpy(head + AT_LAYER, e->layer, SP_MODEL_LAYER_NAME_MAX); /* zero-padded */
    put64(head + AT_PCA_SIZE, size);
    put32(head + AT_PCA_CRC, sp__crc32(0, bytes, size));
    put32(head + AT_HEAD_CRC, sp__crc32(0, head, SPE_HEADER));
    sp__atomic_file f;
    int rc = sp__atomic_open(&f, path);
    if (rc == SP_OK)
        rc = sp__atomic_write(&f, head, sizeof head);
    if (rc == SP_OK)
        rc = sp__atomic_write(&f, bytes, size);
    if (rc == SP_OK)
        return sp__atomic_commit(&f);
    sp__atomic_abort(&f);
    return rc;
}

static int bad(const char *name, const char *what)
{
    return sp__error(SP_ERR_FORMAT, "sp_embedder_load: %s: %s", name, what);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Fields of the header, each checked on its own (the shapes against each other). */
static int check_fields(const sp_embedder *e, const unsigned char *p, const char *name)
{
    if (e->kind != SP_EMBEDDER_RAW && e->kind != SP_EMBEDDER_LEARNED)
        return bad(name, "unknown embedder kind (offset 16)");
    if (e->dim == 0 || e->input_dim == 0 || e->dim > e->input_dim || e->input_dim > MAX_INPUT)
        return bad(name, "key or input dimension out of range (offsets 20, 24)");
    if (e->board_size < 2 || e->board_size > SP_GO_MAX_SIZE || sp_go_plane_count(e->history) <= 0)
        return bad(name, "board size or history out of range (offsets 28, 32)");
    if (!all_zero(p + AT_RESERVED, 4) || !all_zero(p + AT_TAIL, SPE_HEADER - AT_TAIL))
        return bad(name, "reserved header bytes are not zero (offsets 36, 112..127)");
    const unsigned char *layer = p + AT_LAYER;
    size_t len = strnlen((const char *)layer, SP_MODEL_LAYER_NAME_MAX);
    if (len == SP_MODEL_LAYER_NAME_MAX || !all_zero(layer + len, SP_MODEL_LAYER_NAME_MAX - len))
        return bad(name, "the layer name is not NUL-terminated and zero-padded (offset 64)");
    if (!(e->explained_variance >= 0.0 && e->explained_variance <= 1.0))
        return bad(name, "explained variance outside [0, 1] (offset 56)");
    if (e->id == 0)
        return bad(name, "the embedder id is 0 (offset 48)");
    if (e->kind == SP_EMBEDDER_RAW) {
        if (len != 0 || e->model_hash != 0)
            return bad(name, "a raw embedder with a layer or a model hash (offsets 40, 64)");
        uint64_t planes = (uint64_t)sp_go_plane_count(e->history) * (uint64_t)(e->board_size * e->board_size);
        if (planes != e->input_dim)
            return bad(name, "the input dimension is not the planes' of its board size and history (offset 24)");
    } else if (len == 0 || e->model_hash == 0) {
        return bad(name, "a learned embedder without its layer or model hash (offsets 40, 64)");
    }
    return SP_OK;
}

/* A learned embedder's model: the one it was made from, whose layer still
 * gives what the PCA reads; a raw one takes none. */
static int check_model(sp_embedder *e, sp_model *model, const char *name)
{
    if (e->kind == SP_EMBEDDER_RAW) {
        if (model)
            return sp__error(SP_ERR_MISUSE, "sp_embedder_load: %s is a raw embedder and takes no model (pass NULL)",
                             name);
        return SP_OK;
    }
    uint64_t made_from = e->model_hash;
    if (!model)
        return sp__error(SP_ERR_MISUSE, "sp_embedder_load: %s is a learned embedder made from model 0x%016llx, "
                         "and no model was given", name, (unsigned long long)made_from);
    sp_model_info info = SP_MODEL_INFO_INIT;
    int rc = sp_model_describe(model, &info);
    if (rc != SP_OK)
        return rc;
    if (info.content_hash != made_from)
        return sp__error(SP_ERR_MISUSE, "sp_embedder_load: %s was made from model 0x%016llx, given 0x%016llx", name,
                         (unsigned long long)made_from, (unsigned long long)info.content_hash);
    sp_embedder bound = *e;
    if ((rc = sp__embedder_bind_model(&bound, model, e->layer, "sp_embedder_load")) != SP_OK)
        return rc == SP_ERR_INVALID_ARG ? bad(name, "its layer is not one of its model's") : rc;
    if (bound.input_dim != e->input_dim || bound.board_size != e->board_size || bound.history != e->history)
        return bad(name, "its shapes differ from its model's layer (offsets 24..32)");
    e->model = model;
    return SP_OK;
}

int sp__embedder_load_bytes(sp_embedder **out, const void *data, size_t length, sp_model *model, const char *name)
{
    if (!out || (!data && length) || !name)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_load: a pointer is NULL");
    *out = NULL;
    const unsigned char *p = data;
    if (length < SPE_HEADER || memcmp(p, SPE_MAGIC, 8) != 0)
        return bad(name, "not a .spe embedder file (bad magic or shorter than its 128-byte header)");
    /* The mark byte-swapped is another machine's file; anything else is damage. */
    if (get32(p + AT_ENDIAN) == __builtin_bswap32(SPE_ENDIAN))
        return sp__error(SP_ERR_UNSUPPORTED, "sp_embedder_load: %s: written on a machine of the other byte order",
                         name);
    if (get32(p + AT_ENDIAN) != SPE_ENDIAN)
        return bad(name, "bad byte-order mark (offset 12)");
    uint32_t version = get32(p + AT_VERSION);
    if (version != SPE_VERSION)
        return sp__error(version > SPE_VERSION ? SP_ERR_VERSION : SP_ERR_FORMAT,
                         "sp_embedder_load: %s: format version %u, this library reads %u", name, version, SPE_VERSION);
    unsigned char head[SPE_HEADER];
    memcpy(head, p, SPE_HEADER);
    put32(head + AT_HEAD_CRC, 0);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (sp__crc32(0, head, SPE_HEADER) != get32(p + AT_HEAD_CRC))
        return bad(name, "header checksum mismatch (bytes 0..127)");
#endif
    sp_embedder e = { 0 };
    e.kind = (int32_t)get32(p + AT_KIND);
    e.dim = get32(p + AT_DIM);
    e.input_dim = get32(p + AT_INPUT);
    e.board_size = (int32_t)get32(p + AT_BOARD);
    e.history = (int32_t)get32(p + AT_HISTORY);
    e.model_hash = get64(p + AT_MODEL);
    e.id = get64(p + AT_ID);
    memcpy(&e.explained_variance, p + AT_VARIANCE, 8);
    memcpy(e.layer, p + AT_LAYER, SP_MODEL_LAYER_NAME_MAX);
    e.batch = SP__EMBED_DEFAULT_BATCH;
    int rc = check_fields(&e, p, name);
    if (rc != SP_OK)
        return rc;
    uint64_t size = get64(p + AT_PCA_SIZE);
    if (size != length - SPE_HEADER)
        return bad(name, "truncated or padded: the PCA section at offset 128 is not the rest of the file");
    /* Always checked, fuzzing or not: FAISS does not defend itself against crafted bytes. */
    if (sp__crc32(0, p + SPE_HEADER, (size_t)size) != get32(p + AT_PCA_CRC))
        return bad(name, "the PCA section (offset 128) fails its checksum (corrupted file)");
    if ((rc = check_model(&e, model, name)) != SP_OK)
        return rc;
    char who[320];
    snprintf(who, sizeof who, "sp_embedder_load: %s", name);
    if ((rc = sp__pca_from_bytes(&e.pca, p + SPE_HEADER, (size_t)size, e.input_dim, e.dim, who)) != SP_OK)
        return rc;
    /* The form goes with the kind: what sp_embedder_fit() and _from_pca() make. */
    if (sp__pca_is_compact(e.pca) != (e.kind == SP_EMBEDDER_LEARNED)) {
        sp_pca_free(e.pca);
        return bad(name, e.kind == SP_EMBEDDER_LEARNED ? "a learned embedder's PCA is not in compact form"
                                                       : "a raw embedder's PCA is not a FAISS one");
    }
    uint64_t id = e.kind == SP_EMBEDDER_RAW ? sp_pca_id(e.pca) : sp__embedder_learned_id(&e);
    sp_embedder *copy = id == e.id ? malloc(sizeof *copy) : NULL;
    if (!copy) {
        sp_pca_free(e.pca);
        return id != e.id ? bad(name, "the recorded id (offset 48) is not its content's")
                          : sp__error(SP_ERR_NOMEM, "sp_embedder_load: out of memory");
    }
    *copy = e;
    *out = copy;
    return SP_OK;
}

int sp_embedder_load(sp_embedder **out, const char *path, sp_model *model)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_load: out is NULL");
    *out = NULL;
    if (!path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_embedder_load: path is NULL");
    char *data;
    size_t length;
    int rc = sp__file_read(path, &data, &length);
    if (rc != SP_OK)
        return rc;
    rc = sp__embedder_load_bytes(out, data, length, model, path);
    free(data);
    return rc;
}
