/* The network toolkit on oneDNN: engine and stream per network, tensors,
 * parameters, and the calling conventions every layer file follows. */
#ifndef SP_NN_H
#define SP_NN_H

#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/core_internal.h"
#include "semiparam/nn.h"

/* Engine, stream and run options of one network. Borrowed by every layer. */
typedef struct sp__nn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int backend;   /* resolved: SP_BACKEND_CPU or SP_BACKEND_GPU */
    int threads;   /* 0: leave the caller's OpenMP setting alone */
    int precision;
    uint64_t seed;
} sp__nn;

int sp__nn_create(sp__nn **out, const sp_nn_options *opts);
void sp__nn_free(sp__nn *nn);

/* The thread count applies to the calling thread only: enter sets its
 * OpenMP ICV and returns the old value, leave restores it. */
int sp__nn_threads_enter(const sp__nn *nn);
void sp__nn_threads_leave(const sp__nn *nn, int saved);

/* oneDNN failure -> sp status with the call named in the error text. */
int sp__dnnl_error(dnnl_status_t status, const char *what);
#define SP__DNNL_TRY(call, what)                                   \
    do {                                                           \
        dnnl_status_t st_ = (call);                                \
        if (st_ != dnnl_success) {                                 \
            rc = sp__dnnl_error(st_, what);                        \
            goto fail;                                             \
        }                                                          \
    } while (0)

/* Primitive descriptor from an op descriptor, refusing oneDNN's reference
 * kernels when refuse_ref is set (a mix of formats silently makes them 100x
 * slower). Creates the primitive too. */
int sp__nn_primitive(sp__nn *nn, const void *op_desc, const dnnl_primitive_attr_t attr,
                     const dnnl_primitive_desc_t hint, int refuse_ref, const char *what,
                     dnnl_primitive_desc_t *out_pd, dnnl_primitive_t *out_prim);
/* Run a primitive on the network's stream and wait. */
int sp__nn_execute(sp__nn *nn, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                   const char *what);
/* Reorder src_md -> dst_md; with accumulate, dst += src. */
int sp__nn_reorder(sp__nn *nn, const dnnl_memory_desc_t *src_md, const dnnl_memory_desc_t *dst_md,
                   int accumulate, dnnl_primitive_t *out);
int sp__nn_run_reorder(sp__nn *nn, dnnl_primitive_t reorder, dnnl_memory_t src, dnnl_memory_t dst);
int sp__nn_memory(sp__nn *nn, const dnnl_memory_desc_t *md, dnnl_memory_t *out);
const dnnl_memory_desc_t *sp__nn_query_md(dnnl_primitive_desc_t pd, dnnl_query_t what);
/* Host access to a memory object (a copy on a GPU, the buffer on a CPU). */
int sp__nn_map(dnnl_memory_t mem, void **out);
void sp__nn_unmap(dnnl_memory_t mem, void *ptr);
void sp__nn_destroy_primitive(dnnl_primitive_t *prim);
void sp__nn_destroy_pd(dnnl_primitive_desc_t *pd);
void sp__nn_destroy_memory(dnnl_memory_t *mem);

/* ------------------------------------------------------------------------ */
/* Tensors: activations of shape (n, c, h, w), channels-last (nhwc) in the
 * device, or (n, c) when h == 0. Host copies use plain NCHW order. */
typedef struct sp__tensor {
    dnnl_memory_t mem;
    dnnl_memory_desc_t md;
    int64_t n, c, h, w;
    dnnl_data_type_t type;
} sp__tensor;

/* (Re)allocate t for the shape unless it has it already. */
int sp__tensor_ensure(sp__tensor *t, sp__nn *nn, int64_t n, int64_t c, int64_t h, int64_t w);
int sp__tensor_ensure_type(sp__tensor *t, sp__nn *nn, int64_t n, int64_t c, int64_t h, int64_t w,
                           dnnl_data_type_t type);
void sp__tensor_release(sp__tensor *t);
size_t sp__tensor_count(const sp__tensor *t);
int sp__tensor_same_shape(const sp__tensor *a, const sp__tensor *b);
/* Copy between host NCHW floats and the tensor (f32 tensors only). */
int sp__tensor_write(sp__tensor *t, const float *nchw);
int sp__tensor_read(const sp__tensor *t, float *nchw);
int sp__tensor_zero(sp__tensor *t);
/* Offset of element (n, c, h, w) in the mapped buffer. */
static inline size_t sp__tensor_index(const sp__tensor *t, int64_t n, int64_t c, int64_t h, int64_t w)
{
    if (t->h == 0)
        return (size_t)(n * t->c + c);
    return (size_t)(((n * t->h + h) * t->w + w) * t->c + c);
}

/* ------------------------------------------------------------------------ */
/* Parameters: plain-format values and gradients in oneDNN memory, optimizer
 * state on the host. Layers keep their own blocked copies of the values and
 * refresh them when `version` moves. */
enum {
    SP__PARAM_DECAY = 1,   /* weight decay applies */
    SP__PARAM_BUFFER = 2,  /* not trained (running statistics): no gradient */
};
enum { SP__INIT_ZERO, SP__INIT_ONE, SP__INIT_NORMAL, SP__INIT_UNIFORM };

#define SP__PARAM_NAME_MAX 64
#define SP__PARAM_MAX_DIMS 4

typedef struct sp__param {
    char name[SP__PARAM_NAME_MAX];
    int ndims;
    dnnl_dims_t dims;      /* first ndims used */
    size_t count;
    int flags;
    int init;
    float init_scale;      /* std (normal) or bound (uniform) */
    dnnl_memory_desc_t md; /* plain */
    dnnl_memory_t value, grad;
    float *state[2];       /* optimizer moments, NULL until used */
    uint64_t version;
} sp__param;

typedef struct sp__params {
    sp__nn *nn;
    sp__param **items;
    size_t count, capacity;
} sp__params;

void sp__params_setup(sp__params *ps, sp__nn *nn);
void sp__params_release(sp__params *ps);
/* Register a parameter; names are unique in a store. */
int sp__params_add(sp__params *ps, sp__param **out, const char *name, int ndims, const int64_t *dims,
                   int flags, int init, float init_scale);
sp__param *sp__params_find(const sp__params *ps, const char *name);
/* Deterministic values from the seed: each parameter draws from its own
 * stream keyed by its name, so adding a layer leaves the others unchanged. */
int sp__params_initialise(sp__params *ps, uint64_t seed);
int sp__params_zero_grad(sp__params *ps);
size_t sp__params_total(const sp__params *ps);

int sp__param_read(const sp__param *p, float *out);
int sp__param_write(sp__param *p, const float *values);
int sp__param_read_grad(const sp__param *p, float *out);
int sp__param_write_grad(sp__param *p, const float *values);

#endif
