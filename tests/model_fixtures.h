/* What the model suites share (test_model.c, test_model_retrieval.c): a
 * one-thread f32 CPU network, seeded random values, a relative difference,
 * a model's parameters moved, and temporary paths. */
#ifndef SP_TEST_MODEL_FIXTURES_H
#define SP_TEST_MODEL_FIXTURES_H

#include "model/model_internal.h"

sp__nn *make_nn(void);
/* Uniform in [0, 1) from rng. */
double uniform(struct sp_rng *rng);
/* n values uniform in [-scale, scale] from seed (malloc'd). */
float *rand_floats(size_t n, uint64_t seed, float scale);
/* max |a - b| relative to max |b|. */
double max_rel(const float *a, const float *b, size_t n);
/* Every parameter moved, the running statistics away from 0 and 1 (the
 * variances kept positive), so that folding and files see values that
 * matter. Written through sp__param_write: versions move. */
void perturb(sp_model *m, uint64_t seed);
/* A path in the temporary directory unique to this process; four in turn. */
const char *temp_path(const char *name);

#endif
