/* Reference forward passes: the definitions the oneDNN layers must match (test oracle, not shipped). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_reference.h"

void sp__ref_conv(const double *in, int n, int cin, int h, int w, const double *weight, const double *bias,
                  int cout, int k, double *out)
{
    int pad = k / 2;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < cout; o++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double sum = bias ? bias[o] : 0.0;
                    for (int c = 0; c < cin; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int sy = y + ky - pad, sx = x + kx - pad;
                                if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                                    continue;
                                sum += weight[((o * cin + c) * k + ky) * k + kx] *
                                       in[((b * cin + c) * h + sy) * w + sx];
                            }
                    out[((b * cout + o) * h + y) * w + x] = sum;
                }
}

void sp__ref_dense(const double *in, int n, int m, const double *weight, const double *bias, int cout, double *out)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < cout; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int j = 0; j < m; j++)
                sum += weight[(size_t)o * m + j] * in[(size_t)b * m + j];
            out[b * cout + o] = sum;
        }
}

void sp__ref_bnorm(const double *in, int n, int c, int hw, const double *gamma, const double *beta, double eps,
                   int use_stats, double *mean, double *var, double *out)
{
    for (int ch = 0; ch < c; ch++) {
        double mu = 0.0, v = 0.0;
        if (use_stats) {
            mu = mean[ch];
            v = var[ch];
        } else {
            for (int b = 0; b < n; b++)
                for (int i = 0; i < hw; i++)
                    mu += in[((size_t)b * c + ch) * hw + i];
            mu /= (double)n * hw;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < hw; i++) {
                    double d = in[((size_t)b * c + ch) * hw + i] - mu;
                    v += d * d;
                }
            v /= (double)n * hw;
            if (mean)
                mean[ch] = mu;
            if (var)
                var[ch] = v;
        }
        double inv = 1.0 / sqrt(v + eps);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++) {
                size_t j = ((size_t)b * c + ch) * hw + i;
                out[j] = gamma[ch] * (in[j] - mu) * inv + beta[ch];
            }
    }
}

void sp__ref_relu(const double *in, size_t count, double *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0 ? in[i] : 0.0;
}

void sp__ref_tanh(const double *in, size_t count, double *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = tanh(in[i]);
}

void sp__ref_add(const double *x, const double *y, size_t count, double *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = x[i] + y[i];
}

void sp__ref_concat(const double *x, int cx, const double *y, int cy, int n, int hw, double *out)
{
    for (int b = 0; b < n; b++) {
        memcpy(out + (size_t)b * (cx + cy) * hw, x + (size_t)b * cx * hw, (size_t)cx * hw * sizeof *out);
        memcpy(out + ((size_t)b * (cx + cy) + cx) * hw, y + (size_t)b * cy * hw, (size_t)cy * hw * sizeof *out);
    }
}

void sp__ref_nbsum(const double *in, const double *mask, int b, int k, size_t per, double *out)
{
    for (int i = 0; i < b; i++)
        for (size_t j = 0; j < per; j++) {
            double sum = 0.0;
            for (int m = 0; m < k; m++)
                sum += mask[i * k + m] * in[((size_t)i * k + m) * per + j];
            out[(size_t)i * per + j] = sum / sqrt((double)k);
        }
}

double sp__ref_softmax_xent(const double *z, const double *t, int n, int a)
{
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        double max = z[b * a], sum = 0.0;
        for (int j = 1; j < a; j++)
            if (z[b * a + j] > max)
                max = z[b * a + j];
        for (int j = 0; j < a; j++)
            sum += exp(z[b * a + j] - max);
        for (int j = 0; j < a; j++)
            total -= t[b * a + j] * (z[b * a + j] - max - log(sum));
    }
    return total / n;
}

double sp__ref_mse(const double *p, const double *t, int n, int a)
{
    double total = 0.0;
    for (int i = 0; i < n * a; i++)
        total += (p[i] - t[i]) * (p[i] - t[i]);
    return total / n;
}

static void conv_bn(const sp__ref_tower *t, int layer, const double *in, int n, int cin, int h, int w, double *tmp,
                    double *out)
{
    sp__ref_conv(in, n, cin, h, w, t->conv[layer], NULL, t->channels, 3, tmp);
    sp__ref_bnorm(tmp, n, t->channels, h * w, t->gamma[layer], t->beta[layer], 1e-5, t->mean != NULL,
                  t->mean ? (double *)t->mean[layer] : NULL, t->var ? (double *)t->var[layer] : NULL, out);
}

void sp__ref_tower_forward(const sp__ref_tower *t, const double *in, int n, int h, int w, double *out)
{
    size_t count = (size_t)n * t->channels * h * w;
    double *tmp = malloc(count * sizeof *tmp), *mid = malloc(count * sizeof *mid);
    if (!tmp || !mid) {
        free(tmp);
        free(mid);
        return;
    }
    conv_bn(t, 0, in, n, t->planes, h, w, tmp, out);
    sp__ref_relu(out, count, out);
    for (int b = 0; b < t->blocks; b++) {
        conv_bn(t, 1 + 2 * b, out, n, t->channels, h, w, tmp, mid);
        sp__ref_relu(mid, count, mid);
        conv_bn(t, 2 + 2 * b, mid, n, t->channels, h, w, tmp, mid);
        sp__ref_add(mid, out, count, out);
        sp__ref_relu(out, count, out);
    }
    free(tmp);
    free(mid);
}
