/* Plain-C reference forward passes of every layer, in double precision and
 * plain NCHW order: slow, obvious loops that the tests use as the oracle for
 * oneDNN's results and for finite-difference gradients. */
#ifndef SP_TESTS_NN_REFERENCE_H
#define SP_TESTS_NN_REFERENCE_H

#include <stddef.h>

/* out (n, cout, h, w) = conv(in (n, cin, h, w), weight (cout, cin, k, k)) + bias,
 * stride 1, zero padding k/2. bias may be NULL. */
void sp__ref_conv(const double *in, int n, int cin, int h, int w, const double *weight, const double *bias,
                  int cout, int k, double *out);
/* out (n, cout) = weight (cout, m) . in (n, m) + bias; m = C*H*W of an NCHW input. */
void sp__ref_dense(const double *in, int n, int m, const double *weight, const double *bias, int cout, double *out);
/* Batch statistics (biased variance) per channel, then normalise. mean/var
 * may be NULL; with use_stats they are inputs instead. */
void sp__ref_bnorm(const double *in, int n, int c, int hw, const double *gamma, const double *beta, double eps,
                   int use_stats, double *mean, double *var, double *out);
void sp__ref_relu(const double *in, size_t count, double *out);
void sp__ref_tanh(const double *in, size_t count, double *out);
void sp__ref_add(const double *x, const double *y, size_t count, double *out);
/* out (n, cx + cy, hw) = [x (n, cx, hw), y (n, cy, hw)]. */
void sp__ref_concat(const double *x, int cx, const double *y, int cy, int n, int hw, double *out);
/* out (b, per) = sum_i mask[b][i] * in (b*k + i, per) / sqrt(k). */
void sp__ref_nbsum(const double *in, const double *mask, int b, int k, size_t per, double *out);
/* Mean over the batch of -sum_j t_j log softmax(z)_j. */
double sp__ref_softmax_xent(const double *z, const double *t, int n, int a);
/* Mean over the batch of sum_j (p_j - t_j)^2. */
double sp__ref_mse(const double *p, const double *t, int n, int a);

/* A residual tower's parameters in plain arrays, in the order of
 * sp__tower's parameter registration. */
typedef struct sp__ref_tower {
    int planes, channels, blocks;
    const double *const *conv;  /* 1 + 2*blocks weights */
    const double *const *gamma; /* 1 + 2*blocks each */
    const double *const *beta;
    const double *const *mean;  /* NULL: batch statistics (training mode) */
    const double *const *var;   /* running statistics when mean is given */
} sp__ref_tower;

/* Forward of the tower: in (n, planes, h, w) -> out (n, channels, h, w),
 * with batch statistics or, when t->mean is set, the given statistics. */
void sp__ref_tower_forward(const sp__ref_tower *t, const double *in, int n, int h, int w, double *out);

#endif
