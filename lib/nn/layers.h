/* Layers of the network toolkit. Each layer owns its output and the
 * gradient of its input; forward remembers the input tensor (borrowed: it
 * must stay untouched until backward). Backward *adds* weight gradients into
 * the parameters' grad buffers, so a layer may be applied several times with
 * shared parameters (unrolled dynamics) before one optimizer step. */
#ifndef SP_NN_LAYERS_H
#define SP_NN_LAYERS_H

#include "nn.h"

/* A parameter in the blocked format a primitive asked for, refreshed from
 * the plain values when the parameter's version moves (once per optimizer
 * step, never inside a forward pass). */
typedef struct sp__wcache {
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    dnnl_primitive_t reorder;
    uint64_t version;
    int valid;
} sp__wcache;

int sp__wcache_get(sp__nn *nn, sp__wcache *c, sp__param *p, const dnnl_memory_desc_t *want,
                   dnnl_memory_t *out);
/* The same from any plain source memory whose contents carry `version`. */
int sp__wcache_get_mem(sp__nn *nn, sp__wcache *c, dnnl_memory_t src, const dnnl_memory_desc_t *src_md,
                       uint64_t version, const dnnl_memory_desc_t *want, dnnl_memory_t *out);
void sp__wcache_release(sp__wcache *c);

/* A gradient produced in a primitive's format, added into a parameter's
 * plain grad buffer. */
typedef struct sp__gacc {
    dnnl_memory_desc_t md;
    dnnl_memory_t tmp;
    dnnl_primitive_t reorder;
    int valid;
} sp__gacc;

int sp__gacc_prepare(sp__nn *nn, sp__gacc *g, sp__param *p, const dnnl_memory_desc_t *md);
int sp__gacc_commit(sp__nn *nn, sp__gacc *g, sp__param *p);
void sp__gacc_release(sp__gacc *g);

/* ------------------------------------------------------------------------ */
/* Convolution (k x k, stride 1, same padding) and inner product share the
 * code of a linear layer with weights and an optional bias. */
enum { SP__LINEAR_CONV, SP__LINEAR_DENSE };

typedef struct sp__linear {
    sp__nn *nn;
    int kind;
    sp__param *weight, *bias;
    int64_t cin, cout, k;   /* k: kernel size (conv) */
    int64_t ih, iw;         /* dense: input spatial size, 0 for (n, c) inputs */
    int64_t n, h, w;        /* shape the cached primitives were made for */
    dnnl_primitive_desc_t fwd_pd[2];
    dnnl_primitive_t fwd[2];
    sp__wcache wfwd[2], wbwd;
    dnnl_primitive_desc_t bwd_data_pd, bwd_weights_pd;
    dnnl_primitive_t bwd_data, bwd_weights;
    sp__gacc gw, gb;
    int last_training;
    sp__tensor out, dsrc;
    const sp__tensor *in;
} sp__linear;

/* Conv weights are (cout, cin, k, k), He-normal; bias (cout), zero. */
int sp__conv_setup(sp__linear *l, sp__params *ps, const char *name, int64_t cin, int64_t cout, int64_t k,
                   int bias);
/* Dense weights are (cout, cin[, ih, iw]) applied to the whole input. */
int sp__dense_setup(sp__linear *l, sp__params *ps, const char *name, int64_t cin, int64_t ih, int64_t iw,
                    int64_t cout, int bias);
/* A second application of the same parameters (own activations and caches). */
void sp__linear_share(sp__linear *l, const sp__linear *from);
int sp__linear_forward(sp__linear *l, const sp__tensor *in, int training);
/* dout has the shape of l->out; fills l->dsrc when need_dsrc. */
int sp__linear_backward(sp__linear *l, const sp__tensor *dout, int need_dsrc);
void sp__linear_release(sp__linear *l);

/* ------------------------------------------------------------------------ */
/* Batch normalisation over (n, h, w) per channel: scale gamma, shift beta,
 * running statistics blended with `momentum` in training (biased variance,
 * as oneDNN computes it). */
typedef struct sp__bnorm {
    sp__nn *nn;
    sp__param *gamma, *beta, *mean, *var;
    int64_t c;
    float eps, momentum;
    int64_t n, h, w;
    dnnl_primitive_desc_t fwd_pd[2], bwd_pd;
    dnnl_primitive_t fwd[2], bwd;
    dnnl_memory_t batch_mean, batch_var, dgamma, dbeta;
    sp__tensor out, dsrc;
    const sp__tensor *in;
} sp__bnorm;

int sp__bnorm_setup(sp__bnorm *b, sp__params *ps, const char *name, int64_t c);
void sp__bnorm_share(sp__bnorm *b, const sp__bnorm *from);
int sp__bnorm_forward(sp__bnorm *b, const sp__tensor *in, int training);
int sp__bnorm_backward(sp__bnorm *b, const sp__tensor *dout);
void sp__bnorm_release(sp__bnorm *b);

/* ------------------------------------------------------------------------ */
/* ReLU or tanh; backward uses the output, so the input may be reused. */
enum { SP__ACT_RELU, SP__ACT_TANH };

typedef struct sp__act {
    sp__nn *nn;
    int kind;
    int64_t n, c, h, w;
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
    sp__tensor out, dsrc;
} sp__act;

void sp__act_setup(sp__act *a, sp__nn *nn, int kind);
int sp__act_forward(sp__act *a, const sp__tensor *in);
int sp__act_backward(sp__act *a, const sp__tensor *dout);
void sp__act_release(sp__act *a);

/* Residual add out = x + y; the gradient of both inputs is dout itself. */
typedef struct sp__add {
    sp__nn *nn;
    int64_t n, c, h, w;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    sp__tensor out;
} sp__add;

void sp__add_setup(sp__add *a, sp__nn *nn);
int sp__add_forward(sp__add *a, const sp__tensor *x, const sp__tensor *y);
void sp__add_release(sp__add *a);

/* ------------------------------------------------------------------------ */
/* Concatenation of two tensors on channels (same n, h, w). */
typedef struct sp__concat {
    sp__nn *nn;
    sp__tensor out, dx, dy;
    int64_t cx, cy;
} sp__concat;

void sp__concat_setup(sp__concat *c, sp__nn *nn);
int sp__concat_forward(sp__concat *c, const sp__tensor *x, const sp__tensor *y);
int sp__concat_backward(sp__concat *c, const sp__tensor *dout);
void sp__concat_release(sp__concat *c);

/* Masked neighbour sum: input (b*k, c, h, w), mask (b, k) on the host;
 * out[b] = sum_i mask[b][i] * in[b*k + i] / sqrt(k). */
typedef struct sp__nbsum {
    sp__nn *nn;
    int64_t k;
    float *mask;
    size_t mask_capacity;
    sp__tensor out, dsrc;
} sp__nbsum;

void sp__nbsum_setup(sp__nbsum *s, sp__nn *nn, int64_t k);
int sp__nbsum_forward(sp__nbsum *s, const sp__tensor *in, const float *mask);
int sp__nbsum_backward(sp__nbsum *s, const sp__tensor *dout);
void sp__nbsum_release(sp__nbsum *s);

/* Repeat each item k times along the batch: out[b*k + i] = in[b] (the
 * observation's embedding beside each of its neighbours); backward sums. */
typedef struct sp__repeat {
    sp__nn *nn;
    int64_t k;
    sp__tensor out, dsrc;
} sp__repeat;

void sp__repeat_setup(sp__repeat *r, sp__nn *nn, int64_t k);
int sp__repeat_forward(sp__repeat *r, const sp__tensor *in);
int sp__repeat_backward(sp__repeat *r, const sp__tensor *dout);
void sp__repeat_release(sp__repeat *r);

/* ------------------------------------------------------------------------ */
/* Losses, averaged over the batch. Cross-entropy of log-softmax(logits)
 * against soft targets (b, a) (rows need not sum to 1; a zero row
 * contributes nothing); squared error summed over outputs. Both fill
 * dlogits / dpred (the gradient of the returned loss) when given. */
int sp__softmax_xent(const sp__tensor *logits, const float *targets, double *loss, sp__tensor *dlogits,
                     sp__nn *nn);
int sp__mse(const sp__tensor *pred, const float *targets, double *loss, sp__tensor *dpred, sp__nn *nn);

#endif
