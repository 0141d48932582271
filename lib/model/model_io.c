/* The model in `.spm` files: a "model" section recording the architecture
 * (every sp_model_options field), then the parameters; loading refuses a
 * file of another architecture, naming the first field that differs. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "model_internal.h"

/* "model" section: u32 format, u32 field count, then each field of
 * sp__model_fields as a little-endian int32. Format 1: the 10 fields of a
 * model without neighbours. Format 2 (neighbours > 0): all 12 fields, then
 * the u64 id of the embedder whose neighbours it reads (0: none recorded).
 * A model without neighbours is still written in format 1, so its file
 * stays what it was. A later format is refused with SP_ERR_VERSION rather
 * than guessed at. */
#define MODEL_FORMAT 2
#define MODEL_TAG "model"

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int sp__model_save_sections(const sp_model *m, const sp__optim *opt, sp__spm_writer *w)
{
    int count = sp__model_field_count(&m->opts), retrieval = count > SP__MODEL_FIELDS_BASE;
    size_t size = 8 + 4 * (size_t)count + (retrieval ? 8 : 0);
    unsigned char *rec = malloc(size);
    if (!rec)
        return sp__error(SP_ERR_NOMEM, "model file: out of memory");
    put32(rec, retrieval ? 2 : 1);
    put32(rec + 4, (uint32_t)count);
    for (int i = 0; i < count; i++)
        put32(rec + 8 + 4 * i, (uint32_t)sp__model_field_get(&m->opts, i));
    if (retrieval) {
        put32(rec + 8 + 4 * (size_t)count, (uint32_t)m->embedder_id);
        put32(rec + 12 + 4 * (size_t)count, (uint32_t)(m->embedder_id >> 32));
    }
    int rc = sp__spm_add(w, MODEL_TAG, rec, size, 1);
    if (!rc)
        rc = sp__params_save(&m->net.ps, opt, w);
    return rc;
}

/* The architecture and the recorded embedder id of a parsed file. */
static int read_model_section(const sp__spm_reader *r, sp_model_options *out, uint64_t *embedder_id)
{
    const sp__spm_section *s = sp__spm_find(r, MODEL_TAG);
    if (!s)
        return sp__error(SP_ERR_FORMAT, "not a model file: no '" MODEL_TAG "' section (a bare parameter file?)");
    if (s->size < 8)
        return sp__error(SP_ERR_FORMAT, "model file: the '" MODEL_TAG "' section has %zu bytes", s->size);
    uint32_t format = get32(s->data), count = get32(s->data + 4);
    if (format > MODEL_FORMAT)
        return sp__error(SP_ERR_VERSION, "model file: architecture format %u is newer than this library's (%d)",
                         (unsigned)format, MODEL_FORMAT);
    uint32_t want = format == 1 ? SP__MODEL_FIELDS_BASE : SP__MODEL_FIELDS;
    size_t bytes = 8 + 4 * (size_t)want + (format == 2 ? 8 : 0);
    if (format == 0 || count != want || s->size != bytes)
        return sp__error(SP_ERR_FORMAT, "model file: the '" MODEL_TAG "' section (format %u, %u fields, %zu bytes) "
                         "is malformed", (unsigned)format, (unsigned)count, s->size);
    sp_model_options o;
    int rc = sp__model_options_read(&o, NULL, "model file");
    for (uint32_t i = 0; i < count && !rc; i++) {
        int32_t v = (int32_t)get32(s->data + 8 + 4 * i);
        memcpy((char *)&o + sp__model_fields[i].offset, &v, sizeof v);
    }
    *embedder_id = 0;
    if (format == 2) {
        const unsigned char *id = s->data + 8 + 4 * (size_t)count;
        *embedder_id = (uint64_t)get32(id) | (uint64_t)get32(id + 4) << 32;
        if (o.neighbours == 0)
            return sp__error(SP_ERR_FORMAT, "model file: a format 2 '" MODEL_TAG "' section with neighbours = 0");
    }
    /* A field out of range is a damaged file, not a caller's mistake. */
    sp__model_arch arch;
    rc = sp__model_arch_from_options(&o, &arch);
    if (rc == SP_ERR_INVALID_ARG)
        return sp__error(SP_ERR_FORMAT, "model file: %s", sp_last_error());
    if (rc)
        return rc;
    *out = o;
    return SP_OK;
}

int sp__model_read_options(const sp__spm_reader *r, sp_model_options *out)
{
    uint64_t embedder_id;
    return read_model_section(r, out, &embedder_id);
}

int sp__model_read_embedder(const sp__spm_reader *r, uint64_t *out)
{
    sp_model_options o;
    return read_model_section(r, &o, out);
}

int sp__model_load_sections(sp_model *m, sp__optim *opt, const sp__spm_reader *r, int *has_optim)
{
    if (has_optim)
        *has_optim = 0;
    sp_model_options file;
    uint64_t embedder_id;
    int rc = read_model_section(r, &file, &embedder_id);
    if (rc)
        return rc;
    if (sp__model_field_count(&file) != sp__model_field_count(&m->opts))
        return sp__error(SP_ERR_FORMAT, "model file has neighbours %d, this model %d", (int)file.neighbours,
                         (int)m->opts.neighbours);
    for (int i = 0; i < sp__model_field_count(&file); i++) {
        int32_t theirs = sp__model_field_get(&file, i), ours = sp__model_field_get(&m->opts, i);
        if (theirs != ours)
            return sp__error(SP_ERR_FORMAT, "model file has %s %d, this model %d", sp__model_fields[i].name,
                             (int)theirs, (int)ours);
    }
    rc = sp__params_load(&m->net.ps, opt, r, has_optim);
    if (!rc) {
        /* The parameters were trained on that embedder's neighbours. */
        m->embedder_id = embedder_id;
        sp__model_params_changed(m);
    }
    return rc;
}

int sp_model_save(const sp_model *m, const char *path)
{
    if (!m || !path || !*path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_save: %s", !m ? "model is NULL" : "path is NULL or empty");
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    int rc = sp__model_save_sections(m, NULL, &w);
    if (!rc)
        rc = sp__spm_write(&w, path);
    sp__spm_writer_release(&w);
    if (rc)
        return sp__error(rc, "sp_model_save: %s: %s", path, sp_last_error());
    return SP_OK;
}

int sp__model_load_reader(sp_model **out, const sp__spm_reader *r, const sp_nn_options *nn)
{
    *out = NULL;
    sp_model_options o;
    int rc = sp__model_read_options(r, &o);
    sp_model *m = NULL;
    if (!rc)
        rc = sp__model_create_from(&m, &o, nn, "sp_model_load");
    if (!rc)
        rc = sp__model_load_sections(m, NULL, r, NULL);
    if (rc) {
        sp_model_free(m);
        return rc;
    }
    *out = m;
    return SP_OK;
}

int sp__model_load_bytes(sp_model **out, const void *data, size_t size, const sp_nn_options *nn)
{
    *out = NULL;
    sp__spm_reader r;
    int rc = sp__spm_parse(&r, data, size);
    return rc ? rc : sp__model_load_reader(out, &r, nn);
}

/* The file is mapped, not read: a model's bytes are parsed once, in place. */
static int with_file(const char *path, const char *fn, sp_model **out, sp_model *into, const sp_nn_options *nn)
{
    const void *data = NULL;
    size_t size = 0;
    int rc = sp__file_map(path, &data, &size);
    if (!rc && into) {
        sp__spm_reader r;
        rc = sp__spm_parse(&r, data, size);
        if (!rc)
            rc = sp__model_load_sections(into, NULL, &r, NULL);
    } else if (!rc) {
        rc = sp__model_load_bytes(out, data, size, nn);
    }
    if (data)
        sp__file_unmap(data, size);
    if (rc)
        return sp__error(rc, "%s: %s: %s", fn, path, sp_last_error());
    return SP_OK;
}

int sp_model_load(sp_model **out, const char *path, const sp_nn_options *nn)
{
    if (!out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_load: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_load: path is NULL or empty");
    return with_file(path, "sp_model_load", out, NULL, nn);
}

int sp_model_load_into(sp_model *m, const char *path)
{
    if (!m || !path || !*path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_model_load_into: %s",
                         !m ? "model is NULL" : "path is NULL or empty");
    int rc = sp__model_hold(m, "sp_model_load_into");
    if (rc)
        return rc;
    rc = with_file(path, "sp_model_load_into", NULL, m, NULL);
    sp__model_unhold(m);
    return rc;
}
