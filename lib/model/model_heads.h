/* The architecture of the model network and its policy and value heads
 * (internal; issue 13). */
#ifndef SP_MODEL_HEADS_H
#define SP_MODEL_HEADS_H

#include "nn/layers.h"

/* Value head kinds: only a scalar tanh value in [-1, 1] so far. */
enum { SP__VALUE_TANH = 0 };

typedef struct sp__model_arch {
    int64_t board_size;        /* points = board_size^2; policy = points + 1 (pass) */
    int64_t input_planes;      /* 18 for the go module's features */
    int64_t channels;          /* hidden-state channels C */
    int64_t repr_blocks, dyn_blocks;
    int64_t policy_channels;   /* 1x1 conv before the policy's dense layer */
    int64_t value_channels;    /* 1x1 conv before the value's hidden layer */
    int64_t value_hidden;
    int value_kind;
    /* The retrieval encoder (paper Eq. 2; none when neighbours = 0): the
     * state's last neighbour_channels channels are the neighbours' sum, the
     * first channels - neighbour_channels the representation's o_e. */
    int64_t neighbours;        /* N neighbours read per observation */
    int64_t neighbour_planes;  /* planes of one neighbour x_i (SP_NEIGHBOUR_PLANES) */
    int64_t neighbour_channels, neighbour_blocks;
} sp__model_arch;

/* Channels of the representation's output o_e: the state's channels less
 * the neighbours' share. */
static inline int64_t sp__model_repr_channels(const sp__model_arch *a)
{
    return a->channels - (a->neighbours > 0 ? a->neighbour_channels : 0);
}

/* 9x9, 18 planes, 64 channels, 6 + 6 blocks, heads 2 / 1 / 64. */
void sp__model_arch_default(sp__model_arch *a);
int sp__model_arch_check(const sp__model_arch *a);

/* Policy head: 1x1 conv, BN, ReLU, dense to points + 1 logits. Value head:
 * 1x1 conv, BN, ReLU, dense, ReLU, dense to 1, tanh. */
typedef struct sp__model_heads {
    sp__linear pconv, pdense, vconv, vdense1, vdense2;
    sp__bnorm pbn, vbn;
    sp__act prelu, vrelu1, vrelu2, vtanh;
    sp__add join;              /* sum of both heads' state gradients */
} sp__model_heads;

/* Heads reading a state (n, C, size, size); the shared copies reuse from's
 * parameters (from must outlive them). Outputs: pdense.out logits (n,
 * points + 1), vtanh.out value (n, 1); backward leaves the state's
 * gradient in join.out. */
int sp__model_heads_setup(sp__model_heads *h, sp__params *ps, const sp__model_arch *a);
void sp__model_heads_share(sp__model_heads *h, const sp__model_heads *from);
void sp__model_heads_release(sp__model_heads *h);
int sp__model_heads_forward(sp__model_heads *h, const sp__tensor *state, int training);
/* Its first stages alone, for the layers an embedder reads: the policy's
 * 1x1 convolution, batch norm and ReLU (into prelu.out), and the value's up
 * to its hidden layer's ReLU (into vrelu2.out). */
int sp__model_heads_policy_conv(sp__model_heads *h, const sp__tensor *state, int training);
int sp__model_heads_value_hidden(sp__model_heads *h, const sp__tensor *state, int training);
int sp__model_heads_backward(sp__model_heads *h, const sp__tensor *dlogits, const sp__tensor *dvalue);

#endif
