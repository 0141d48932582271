/* The retrieval encoder's joins (paper Eq. 2, issue 15): the neighbour
 * network p(o_e, x_i) reads each neighbour's planes beside the
 * observation's embedding o_e, and the state joins o_e to the neighbours'
 * outputs summed and scaled by 1/sqrt(N):
 *     s = [o_e, sum_i p(o_e, x_i) / sqrt(N)].
 * Host loops over the tensors, shared by the training unroll
 * (model_net.c) and inference (model_infer.c), forward and backward.
 * Items are sample-major: neighbour j of sample i is item i * N + j. */
#ifndef SP_MODEL_ENCODE_H
#define SP_MODEL_ENCODE_H

#include "nn/layers.h"

/* out (n * N, C_o + planes, h, w): o_e of sample i, then neighbour j's
 * planes from x (n * N * planes * h * w floats; NULL: zeros, the
 * baseline's every x_i = 0). */
int sp__encode_inputs(sp__nn *nn, const sp__tensor *oe, const float *x, int64_t neighbours, int64_t planes,
                      sp__tensor *out);

/* out (n, C_o + C_e, h, w) = [o_e, sum_j e_{i,j} / sqrt(N)] from oe
 * (n, C_o) and e (n * N, C_e). */
int sp__encode_join(sp__nn *nn, const sp__tensor *oe, const sp__tensor *e, int64_t neighbours, sp__tensor *out);

/* The join's backward: from dout (n, C_o + C_e), doe (n, C_o) its first
 * C_o channels and de (n * N, C_e) its last C_e channels / sqrt(N) for
 * every neighbour. */
int sp__encode_join_backward(sp__nn *nn, const sp__tensor *dout, int64_t oe_channels, int64_t neighbours,
                             sp__tensor *doe, sp__tensor *de);

/* The inputs' backward: doe (n, C_o) += sum_j of din's (n * N, C_o +
 * planes) first C_o channels (o_e went to every neighbour). */
int sp__encode_inputs_backward(const sp__tensor *din, int64_t neighbours, sp__tensor *doe);

#endif
