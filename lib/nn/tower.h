/* The residual tower: a 3x3 stem (conv, batch norm, ReLU) from the input
 * planes to C channels, then B blocks of conv-BN-ReLU-conv-BN + skip, ReLU.
 * Training runs layer by layer; inference uses a fused, folded copy (BN
 * folded into the convolutions, ReLU and the skip as post-ops), in f32 or
 * bf16, with primitives cached per batch size. */
#ifndef SP_NN_TOWER_H
#define SP_NN_TOWER_H

#include "layers.h"

typedef struct sp__resblock {
    sp__linear conv1, conv2;
    sp__bnorm bn1, bn2;
    sp__act relu1, relu2;
    sp__add skip, grad_sum;
    const sp__tensor *in;
} sp__resblock;

typedef struct sp__tower_plan sp__tower_plan;

#define SP__TOWER_PLANS 6

typedef struct sp__tower {
    sp__nn *nn;
    int64_t planes, channels, blocks;
    sp__linear stem;
    sp__bnorm stem_bn;
    sp__act stem_relu;
    sp__resblock *block;
    const sp__tensor *out;   /* output of the last forward() */
    const sp__tensor *dsrc;  /* input gradient of the last backward() */
    /* Inference: folded weights (plain, f32) and per-batch plans. */
    dnnl_memory_t *folded_w, *folded_b;
    uint64_t folded_stamp;
    int folded_valid;
    sp__tower_plan *plan[SP__TOWER_PLANS];
    unsigned plan_clock;
    const char *last_impl;
} sp__tower;

int sp__tower_setup(sp__tower *t, sp__params *ps, const char *name, int64_t planes, int64_t channels,
                    int64_t blocks);
/* A second application of from's parameters (the unrolled dynamics): own
 * activations, caches and inference plans; gradients add up in the shared
 * parameters. `from` must outlive t. */
int sp__tower_share(sp__tower *t, const sp__tower *from);
void sp__tower_release(sp__tower *t);
/* Layer-by-layer forward; training uses batch statistics. */
int sp__tower_forward(sp__tower *t, const sp__tensor *in, int training);
/* dout has the shape of t->out; need_dsrc fills t->dsrc. */
int sp__tower_backward(sp__tower *t, const sp__tensor *dout, int need_dsrc);
/* Fast inference: in is an f32 (n, planes, h, w) tensor, out receives the
 * f32 (n, channels, h, w) result. Folds the current parameters the first
 * time and whenever they changed since. */
int sp__tower_infer(sp__tower *t, const sp__tensor *in, sp__tensor *out);
/* The same stopped after the first `blocks` residual blocks (0: the stem's
 * output), on the same plans: what sp__tower_forward leaves in
 * block[blocks - 1].relu2.out with running statistics. */
int sp__tower_infer_blocks(sp__tower *t, const sp__tensor *in, int64_t blocks, sp__tensor *out);
/* Build (or find) the inference plan for a batch of n positions of h x w
 * and run it once on zeros, so that the first real call pays no set-up. */
int sp__tower_warm_up(sp__tower *t, int64_t n, int64_t h, int64_t w);
/* Implementation names of the inference convolutions (for checks/benchmarks). */
const char *sp__tower_infer_impl(const sp__tower *t);

#endif
