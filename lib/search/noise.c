/* Random draws of the search: Dirichlet noise for the root prior (through
 * Gamma variates) and Gumbel variates for Gumbel MuZero. */
#include <math.h>

#include "search_internal.h"

static double normal(struct sp_rng *rng)
{
    /* Box-Muller; 1 - u keeps the logarithm finite. */
    double u = 1.0 - sp__uniform(rng), v = sp__uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Marsaglia and Tsang's method; shapes below 1 are boosted by one and
 * scaled back with u^(1/alpha). */
static double gamma_variate(struct sp_rng *rng, double alpha)
{
    double boost = 1.0;
    if (alpha < 1.0) {
        boost = pow(1.0 - sp__uniform(rng), 1.0 / alpha);
        alpha += 1.0;
    }
    const double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = 1.0 - sp__uniform(rng);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v * boost;
    }
}

void sp__dirichlet(struct sp_rng *rng, float alpha, int n, float *out)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double g = gamma_variate(rng, alpha);
        out[i] = (float)g;
        sum += g;
    }
    for (int i = 0; i < n; i++)
        out[i] = sum > 0.0 ? (float)(out[i] / sum) : 1.0f / (float)n;
}

float sp__gumbel_sample(struct sp_rng *rng)
{
    double u = sp__uniform(rng);
    if (u <= 0.0)
        u = 0x1.0p-53;
    return (float)-log(-log(u));
}
