/* Parameters and optimizer state as `.spm` sections, little-endian. A load
 * checks both sections completely against the store before changing it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "spm.h"

/* Growing little-endian output buffer. */
typedef struct out_buf {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} out_buf;

static void put_bytes(out_buf *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 1024;
        while (cap < b->size + n)
            cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->capacity = cap;
    }
    memcpy(b->data + b->size, src, n);
    b->size += n;
}

static void put_u32(out_buf *b, uint32_t v)
{
    unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    put_bytes(b, p, 4);
}

static void put_u64(out_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(out_buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_u64(b, bits);
}

static void put_floats(out_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        put_u32(b, bits);
    }
}

static void put_name(out_buf *b, const char *name)
{
    put_u32(b, (uint32_t)strlen(name));
    put_bytes(b, name, strlen(name));
}

/* Bounds-checked input cursor: reads past the end set `bad` and yield 0. */
typedef struct in_buf {
    const unsigned char *p;
    size_t left;
    int bad;
} in_buf;

static const unsigned char *take(in_buf *b, size_t n)
{
    if (b->bad || n > b->left) {
        b->bad = 1;
        return NULL;
    }
    const unsigned char *p = b->p;
    b->p += n;
    b->left -= n;
    return p;
}

static uint32_t get_u32(in_buf *b)
{
    const unsigned char *p = take(b, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}

static uint64_t get_u64(in_buf *b)
{
    uint64_t lo = get_u32(b);
    return lo | (uint64_t)get_u32(b) << 32;
}

static double get_f64(in_buf *b)
{
    uint64_t bits = get_u64(b);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

static void get_floats(const unsigned char *p, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                        (uint32_t)p[4 * i + 3] << 24;
        memcpy(&out[i], &bits, 4);
    }
}

/* Reads a name into buf (NUL-terminated); 0 when it does not fit. */
static int get_name(in_buf *b, char *buf, size_t cap)
{
    uint32_t len = get_u32(b);
    const unsigned char *p = len < cap ? take(b, len) : NULL;
    if (!p) {
        b->bad = 1;
        return 0;
    }
    memcpy(buf, p, len);
    buf[len] = 0;
    return memchr(buf, 0, len) == NULL;
}

int sp__params_save(const sp__params *ps, const sp__optim *opt, sp__spm_writer *w)
{
    out_buf b = { 0 };
    size_t max = 0;
    for (size_t i = 0; i < ps->count; i++)
        max = ps->items[i]->count > max ? ps->items[i]->count : max;
    float *tmp = malloc((max ? max : 1) * sizeof *tmp);
    if (!tmp)
        return sp__error(SP_ERR_NOMEM, "model file: out of memory");
    put_u32(&b, (uint32_t)ps->count);
    int rc = SP_OK;
    for (size_t i = 0; i < ps->count && !rc; i++) {
        const sp__param *p = ps->items[i];
        put_name(&b, p->name);
        put_u32(&b, (uint32_t)p->ndims);
        for (int d = 0; d < p->ndims; d++)
            put_u64(&b, (uint64_t)p->dims[d]);
        put_u32(&b, (uint32_t)p->flags);
        rc = sp__param_read(p, tmp);
        put_floats(&b, tmp, p->count);
    }
    free(tmp);
    if (!rc && b.failed)
        rc = sp__error(SP_ERR_NOMEM, "model file: out of memory");
    if (rc) {
        free(b.data);
        return rc;
    }
    rc = sp__spm_add(w, "params", b.data, b.size, 1);
    if (rc || !opt)
        return rc;

    out_buf o = { 0 };
    const sp__optim_config *c = &opt->config;
    put_u32(&o, (uint32_t)c->kind);
    put_u32(&o, (uint32_t)c->schedule);
    put_u64(&o, (uint64_t)opt->step);
    const double reals[9] = { c->lr, c->momentum, c->beta1, c->beta2, c->eps, c->weight_decay, c->clip_norm,
                              c->gamma, c->min_lr };
    for (int i = 0; i < 9; i++)
        put_f64(&o, reals[i]);
    put_u64(&o, (uint64_t)c->warmup_steps);
    put_u64(&o, (uint64_t)c->total_steps);
    put_u64(&o, (uint64_t)c->step_size);
    put_u32(&o, (uint32_t)ps->count);
    int states = sp__optim_state_count(c->kind);
    for (size_t i = 0; i < ps->count; i++) {
        const sp__param *p = ps->items[i];
        int have = p->state[0] && (states < 2 || p->state[1]);
        put_name(&o, p->name);
        put_u32(&o, have ? (uint32_t)states : 0);
        put_u64(&o, p->count);
        for (int s = 0; have && s < states; s++)
            put_floats(&o, p->state[s], p->count);
    }
    if (o.failed) {
        free(o.data);
        return sp__error(SP_ERR_NOMEM, "model file: out of memory");
    }
    return sp__spm_add(w, "optim", o.data, o.size, 1);
}

/* One parameter record of the "params" section, checked against the store. */
static int check_param(in_buf *b, const sp__params *ps, size_t index, sp__param **out, const unsigned char **values)
{
    char name[SP__PARAM_NAME_MAX];
    if (!get_name(b, name, sizeof name))
        return sp__error(SP_ERR_FORMAT, "model file: parameter record %zu is malformed", index);
    sp__param *p = sp__params_find(ps, name);
    if (!p)
        return sp__error(SP_ERR_FORMAT, "model file does not fit the model: it has a parameter '%s' the model lacks",
                         name);
    uint32_t ndims = get_u32(b);
    int same = ndims == (uint32_t)p->ndims;
    char shape[128] = "";
    size_t at = 0;
    for (uint32_t d = 0; d < ndims && d < 8 && !b->bad; d++) {
        uint64_t dim = get_u64(b);
        same = same && dim == (uint64_t)p->dims[d];
        if (at < sizeof shape)
            at += (size_t)snprintf(shape + at, sizeof shape - at, d ? "x%llu" : "%llu", (unsigned long long)dim);
    }
    if (ndims > 8)
        b->bad = 1;
    (void)get_u32(b); /* flags: informative */
    if (b->bad)
        return sp__error(SP_ERR_FORMAT, "model file: parameter '%s' is truncated", name);
    if (!same)
        return sp__error(SP_ERR_FORMAT, "model file does not fit the model: parameter '%s' has shape %s in the file",
                         name, shape);
    *values = take(b, p->count * 4);
    if (!*values)
        return sp__error(SP_ERR_FORMAT, "model file: values of parameter '%s' are truncated", name);
    *out = p;
    return SP_OK;
}

int sp__params_load(sp__params *ps, sp__optim *opt, const sp__spm_reader *r, int *has_optim)
{
    if (has_optim)
        *has_optim = 0;
    const sp__spm_section *sec = sp__spm_find(r, "params");
    if (!sec)
        return sp__error(SP_ERR_FORMAT, "model file has no parameter section");
    in_buf b = { sec->data, sec->size, 0 };
    uint32_t count = get_u32(&b);
    if (b.bad || count != ps->count)
        return sp__error(SP_ERR_FORMAT, "model file does not fit the model: %u parameters in the file, %zu in the model",
                         (unsigned)count, ps->count);
    const unsigned char **values = calloc(ps->count + 1, sizeof *values);
    const unsigned char **states = calloc(ps->count + 1, sizeof *states);
    if (!values || !states) {
        free(values);
        free(states);
        return sp__error(SP_ERR_NOMEM, "model file: out of memory");
    }
    int rc = SP_OK;
    /* Pass 1: check. */
    for (size_t i = 0; i < count && !rc; i++) {
        sp__param *p = NULL;
        const unsigned char *v = NULL;
        rc = check_param(&b, ps, i, &p, &v);
        if (!rc) {
            for (size_t j = 0; j < ps->count; j++)
                if (ps->items[j] == p) {
                    if (values[j])
                        rc = sp__error(SP_ERR_FORMAT, "model file: parameter '%s' appears twice", p->name);
                    values[j] = v;
                }
        }
    }
    if (!rc && b.left)
        rc = sp__error(SP_ERR_FORMAT, "model file: %zu stray bytes after the parameters", b.left);
    const sp__spm_section *osec = opt ? sp__spm_find(r, "optim") : NULL;
    sp__optim loaded = { 0 };
    int nstates = 0;
    if (!rc && osec) {
        in_buf o = { osec->data, osec->size, 0 };
        sp__optim_config *c = &loaded.config;
        c->kind = (int)get_u32(&o);
        c->schedule = (int)get_u32(&o);
        loaded.step = (int64_t)get_u64(&o);
        double *reals[9] = { &c->lr, &c->momentum, &c->beta1, &c->beta2, &c->eps, &c->weight_decay, &c->clip_norm,
                             &c->gamma, &c->min_lr };
        for (int i = 0; i < 9; i++)
            *reals[i] = get_f64(&o);
        c->warmup_steps = (int64_t)get_u64(&o);
        c->total_steps = (int64_t)get_u64(&o);
        c->step_size = (int64_t)get_u64(&o);
        uint32_t ocount = get_u32(&o);
        if (o.bad || loaded.step < 0 || ocount != ps->count)
            rc = sp__error(SP_ERR_FORMAT, "model file: optimizer section is malformed");
        else if (sp__optim_check(c))
            rc = sp__error(SP_ERR_FORMAT, "model file: optimizer settings are invalid (%s)", sp_last_error());
        nstates = rc ? 0 : sp__optim_state_count(c->kind);
        for (size_t i = 0; i < ocount && !rc; i++) {
            char name[SP__PARAM_NAME_MAX];
            sp__param *p = get_name(&o, name, sizeof name) ? sp__params_find(ps, name) : NULL;
            uint32_t have = get_u32(&o);
            uint64_t n = get_u64(&o);
            if (o.bad || !p || (have != 0 && have != (uint32_t)nstates) || n != p->count) {
                rc = sp__error(SP_ERR_FORMAT, "model file: optimizer state record %zu does not fit the model", i);
                break;
            }
            const unsigned char *data = have ? take(&o, (size_t)nstates * p->count * 4) : NULL;
            if (have && !data) {
                rc = sp__error(SP_ERR_FORMAT, "model file: optimizer state of '%s' is truncated", name);
                break;
            }
            for (size_t j = 0; j < ps->count; j++)
                if (ps->items[j] == p)
                    states[j] = data;
        }
        if (!rc && o.left)
            rc = sp__error(SP_ERR_FORMAT, "model file: %zu stray bytes after the optimizer state", o.left);
    }
    /* Pass 2: write. Allocate all optimizer state first so a failure leaves
     * the store unchanged. */
    float **fresh = NULL;
    if (!rc && osec) {
        fresh = calloc(2 * ps->count + 1, sizeof *fresh);
        if (!fresh)
            rc = sp__error(SP_ERR_NOMEM, "model file: out of memory");
        for (size_t j = 0; j < ps->count && !rc; j++)
            if (states[j])
                for (int s = 0; s < nstates && !rc; s++)
                    if (!(fresh[2 * j + s] = malloc(ps->items[j]->count * sizeof(float))))
                        rc = sp__error(SP_ERR_NOMEM, "model file: out of memory");
    }
    float *tmp = NULL;
    if (!rc) {
        size_t max = 1;
        for (size_t j = 0; j < ps->count; j++)
            max = ps->items[j]->count > max ? ps->items[j]->count : max;
        tmp = malloc(max * sizeof *tmp);
        if (!tmp)
            rc = sp__error(SP_ERR_NOMEM, "model file: out of memory");
    }
    for (size_t j = 0; j < ps->count && !rc; j++) {
        get_floats(values[j], tmp, ps->items[j]->count);
        rc = sp__param_write(ps->items[j], tmp);
    }
    if (!rc && osec) {
        for (size_t j = 0; j < ps->count; j++) {
            sp__param *p = ps->items[j];
            for (int s = 0; s < 2; s++) {
                free(p->state[s]);
                p->state[s] = fresh[2 * j + s];
                fresh[2 * j + s] = NULL;
                if (p->state[s])
                    get_floats(states[j] + (size_t)s * p->count * 4, p->state[s], p->count);
            }
        }
        *opt = loaded;
        if (has_optim)
            *has_optim = 1;
    }
    if (fresh)
        for (size_t j = 0; j < 2 * ps->count; j++)
            free(fresh[j]);
    free(fresh);
    free(tmp);
    free(values);
    free(states);
    return rc;
}

int sp__params_save_file(const sp__params *ps, const sp__optim *opt, const char *path)
{
    sp__spm_writer w;
    sp__spm_writer_init(&w);
    int rc = sp__params_save(ps, opt, &w);
    if (!rc)
        rc = sp__spm_write(&w, path);
    sp__spm_writer_release(&w);
    return rc;
}

int sp__params_load_file(sp__params *ps, sp__optim *opt, const char *path)
{
    char *data;
    size_t size;
    int rc = sp__file_read(path, &data, &size);
    if (rc)
        return rc;
    sp__spm_reader r;
    rc = sp__spm_parse(&r, data, size);
    if (!rc)
        rc = sp__params_load(ps, opt, &r, NULL);
    free(data);
    return rc;
}
