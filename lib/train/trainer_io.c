/* Trainer checkpoints: one `.spm` file holding the model's sections (so
 * sp_model_load reads it as a model), the optimizer state and a "trainer"
 * section with the step, the sampler's batch number and the options. A
 * resume parses and compares everything before it changes anything. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "data/data_internal.h"
#include "train_internal.h"

/* "trainer" section, little-endian: u32 format, u32 field count, u64 step,
 * u64 the sampler's next batch number, u64 positions of the training part,
 * then each option of `fields` as 8 bytes (integers as int64, reals as the
 * bits of a double; a float widens exactly). A later format may append
 * fields; this library refuses it with SP_ERR_VERSION. */
#define TRAINER_FORMAT 1
#define TRAINER_TAG "trainer"
#define HEAD_BYTES 32

enum { F_I32, F_I64, F_U64, F_F32, F_F64 };

typedef struct field {
    const char *name;
    int type;
    size_t offset;
    int decides; /* decides the batches or the kind of update: a resume refuses another value */
} field;

#define FIELD(name, type, decides) { #name, type, offsetof(sp_trainer_options, name), decides }
static const field fields[] = {
    FIELD(batch_size, F_I32, 1),    FIELD(unroll, F_I32, 1),         FIELD(symmetries, F_I32, 1),
    FIELD(optimizer, F_I32, 1),     FIELD(seed, F_U64, 1),           FIELD(split_seed, F_U64, 1),
    FIELD(test_fraction, F_F32, 1), FIELD(min_rating, F_F32, 1),     FIELD(schedule, F_I32, 0),
    FIELD(learning_rate, F_F64, 0), FIELD(momentum, F_F64, 0),       FIELD(adam_beta1, F_F64, 0),
    FIELD(adam_beta2, F_F64, 0),    FIELD(weight_decay, F_F64, 0),   FIELD(value_weight, F_F64, 0),
    FIELD(clip_norm, F_F64, 0),     FIELD(warmup_steps, F_I64, 0),   FIELD(total_steps, F_I64, 0),
    FIELD(step_size, F_I64, 0),     FIELD(gamma, F_F64, 0),          FIELD(min_lr, F_F64, 0),
    /* Appended (still format 1): a record of the first 21 fields was
     * written before it and reads as micro_batches 1. It holds the slices
     * each batch was normalised in: micro-batches x data-parallel replicas. */
    FIELD(micro_batches, F_I32, 0),
    /* Appended (still format 1; a shorter record reads as the defaults):
     * the retrieval model's neighbour options. */
    FIELD(neighbour_dropout, F_F32, 1), FIELD(neighbour_randomise, F_F32, 1),
    FIELD(neighbour_regularisation, F_F32, 0), FIELD(zero_neighbours, F_I32, 1),
};
#undef FIELD
#define FIELD_COUNT (sizeof fields / sizeof fields[0])
#define FIELD_COUNT_FIRST 21

/* The options as a checkpoint records them: micro_batches counts the
 * replicas' slices too, so a run of R replicas with M micro-batches and
 * one of 1 replica with R x M compute the same steps. */
static sp_trainer_options recorded(const sp_trainer *t)
{
    sp_trainer_options o = t->o;
    o.micro_batches *= t->replicas;
    return o;
}

/* A field's value as the 8 bytes the file holds. */
static uint64_t field_bits(const sp_trainer_options *o, const field *f)
{
    const char *p = (const char *)o + f->offset;
    int32_t i32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    switch (f->type) {
    case F_I32:
        memcpy(&i32, p, sizeof i32);
        return (uint64_t)(int64_t)i32;
    case F_I64:
        memcpy(&i64, p, sizeof i64);
        return (uint64_t)i64;
    case F_U64:
        memcpy(&u64, p, sizeof u64);
        return u64;
    case F_F32:
        memcpy(&f32, p, sizeof f32);
        f64 = f32;
        break;
    default:
        memcpy(&f64, p, sizeof f64);
    }
    memcpy(&u64, &f64, sizeof u64);
    return u64;
}

/* A field's value for a message. */
static void field_text(const field *f, uint64_t bits, char *buf, size_t size)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    if (f->type == F_F32 || f->type == F_F64)
        snprintf(buf, size, "%g", d);
    else if (f->type == F_U64)
        snprintf(buf, size, "%llu", (unsigned long long)bits);
    else
        snprintf(buf, size, "%lld", (long long)(int64_t)bits);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int sp_trainer_save(const sp_trainer *t, const char *path)
{
    if (!t || !path || !*path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_save: %s", !t ? "trainer is NULL" : "path is NULL or empty");
    size_t size = HEAD_BYTES + 8 * FIELD_COUNT;
    unsigned char *rec = malloc(size);
    if (!rec)
        return sp__error(SP_ERR_NOMEM, "sp_trainer_save: out of memory");
    put64(rec, (uint64_t)TRAINER_FORMAT | (uint64_t)FIELD_COUNT << 32);
    put64(rec + 8, (uint64_t)t->optim.step);
    put64(rec + 16, sp__sampler_batch_no(t->sampler));
    put64(rec + 24, sp_sampler_position_count(t->sampler));
    sp_trainer_options o = recorded(t);
    for (size_t i = 0; i < FIELD_COUNT; i++)
        put64(rec + HEAD_BYTES + 8 * i, field_bits(&o, &fields[i]));
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    int rc = sp__spm_add(&w, TRAINER_TAG, rec, size, 1);
    if (!rc)
        rc = sp__model_save_sections(t->model, &t->optim, &w);
    if (!rc)
        rc = sp__spm_write(&w, path);
    sp__spm_writer_release(&w);
    if (rc)
        return sp__error(rc, "sp_trainer_save: %s: %s", path, sp_last_error());
    return SP_OK;
}

typedef struct checkpoint {
    int64_t step;
    uint64_t batch_no, positions;
} checkpoint;

/* The "trainer" section checked against t: SP_ERR_FORMAT naming the first
 * option that decides the batches and differs; the others are logged. */
static int read_trainer(const sp_trainer *t, const sp__spm_reader *r, checkpoint *out)
{
    const sp__spm_section *s = sp__spm_find(r, TRAINER_TAG);
    if (!s)
        return sp__error(SP_ERR_FORMAT, "not a trainer checkpoint: no '" TRAINER_TAG "' section (a model file?)");
    if (s->size < HEAD_BYTES)
        return sp__error(SP_ERR_FORMAT, "the '" TRAINER_TAG "' section has %zu bytes", s->size);
    uint64_t head = get64(s->data);
    uint32_t format = (uint32_t)head, count = (uint32_t)(head >> 32);
    if (format > TRAINER_FORMAT)
        return sp__error(SP_ERR_VERSION, "trainer format %u is newer than this library's (%d)", (unsigned)format,
                         TRAINER_FORMAT);
    if (format == 0 || count < FIELD_COUNT_FIRST || count > FIELD_COUNT || s->size != HEAD_BYTES + 8 * (size_t)count)
        return sp__error(SP_ERR_FORMAT, "the '" TRAINER_TAG "' section (format %u, %u fields, %zu bytes) is malformed",
                         (unsigned)format, (unsigned)count, s->size);
    out->step = (int64_t)get64(s->data + 8);
    out->batch_no = get64(s->data + 16);
    out->positions = get64(s->data + 24);
    if (out->step < 0)
        return sp__error(SP_ERR_FORMAT, "the '" TRAINER_TAG "' section records step %lld", (long long)out->step);
    sp_trainer_options o = recorded(t), then = SP_TRAINER_OPTIONS_INIT;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        /* A field the record lacks had its default then. */
        uint64_t theirs = i < count ? get64(s->data + HEAD_BYTES + 8 * i) : field_bits(&then, &fields[i]);
        uint64_t ours = field_bits(&o, &fields[i]);
        if (theirs == ours)
            continue;
        char a[64], b[64];
        field_text(&fields[i], theirs, a, sizeof a);
        field_text(&fields[i], ours, b, sizeof b);
        if (fields[i].decides)
            return sp__error(SP_ERR_FORMAT, "written with %s %s, this trainer has %s", fields[i].name, a, b);
        sp__log(SP_LOG_WARNING, "sp_trainer_resume: the checkpoint was written with %s %s; continuing with %s",
                fields[i].name, a, b);
    }
    uint64_t ours = sp_sampler_position_count(t->sampler);
    if (out->positions != ours)
        return sp__error(SP_ERR_FORMAT, "written over a training part of %llu positions, this trainer's has %llu "
                         "(another dataset, split or rating filter)", (unsigned long long)out->positions,
                         (unsigned long long)ours);
    return SP_OK;
}

static int resume_from(sp_trainer *t, const void *data, size_t size)
{
    sp__spm_reader r;
    checkpoint c = { 0 };
    int rc = sp__spm_parse(&r, data, size);
    if (!rc)
        rc = read_trainer(t, &r, &c);
    if (!rc && !sp__spm_find(&r, "optim"))
        rc = sp__error(SP_ERR_FORMAT, "the checkpoint has no optimizer state");
    /* The model's sections check the architecture and every parameter
     * before they write one. The file's optimizer settings are not taken:
     * the trainer's options decide them (the kind was compared above). */
    /* The checkpoint's model read the neighbours of one embedder: so must the resumed run. */
    uint64_t embedder_id = 0;
    if (!rc && t->nb && (rc = sp__model_read_embedder(&r, &embedder_id)) == SP_OK &&
        embedder_id != sp_neighbours_embedder_id(t->o.neighbours))
        rc = sp__error(SP_ERR_FORMAT, "written with neighbours of embedder %016llx, this trainer's are of %016llx",
                       (unsigned long long)embedder_id,
                       (unsigned long long)sp_neighbours_embedder_id(t->o.neighbours));
    sp__optim loaded = t->optim;
    int has_optim = 0;
    if (!rc)
        rc = sp__model_load_sections(t->model, &loaded, &r, &has_optim);
    if (rc)
        return rc;
    t->optim.step = c.step;
    sp__sampler_set_batch_no(t->sampler, c.batch_no);
    sp_train_stats fresh = SP_TRAIN_STATS_INIT;
    t->last = fresh;
    t->last.unroll = t->o.unroll;
    t->last.step = c.step;
    t->last.positions = (uint64_t)c.step * (uint64_t)t->o.batch_size;
    /* The inference workspaces must see the new values, whatever path the
     * load took to write them. */
    sp__model_params_changed(t->model);
    return SP_OK;
}

int sp__trainer_resume_bytes(sp_trainer *t, const void *data, size_t size)
{
    if (!t || !data)
        return sp__error(SP_ERR_INVALID_ARG, "sp__trainer_resume_bytes: %s is NULL", t ? "data" : "trainer");
    return resume_from(t, data, size);
}

int sp_trainer_resume(sp_trainer *t, const char *path)
{
    if (!t || !path || !*path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_trainer_resume: %s", !t ? "trainer is NULL" : "path is NULL or empty");
    const void *data = NULL;
    size_t size = 0;
    int rc = sp__file_map(path, &data, &size);
    if (!rc)
        rc = resume_from(t, data, size);
    if (data)
        sp__file_unmap(data, size);
    if (rc)
        return sp__error(rc, "sp_trainer_resume: %s: %s", path, sp_last_error());
    return SP_OK;
}
