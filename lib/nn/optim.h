/* Optimizers over a parameter store: SGD with momentum and AdamW, weight
 * decay on the parameters flagged for it, global-norm gradient clipping and
 * learning-rate schedules. State lives on the host beside each parameter. */
#ifndef SP_NN_OPTIM_H
#define SP_NN_OPTIM_H

#include "nn.h"

enum { SP__OPT_SGD = 0, SP__OPT_ADAMW = 1 };
enum { SP__LR_CONSTANT = 0, SP__LR_STEP = 1, SP__LR_COSINE = 2 };

typedef struct sp__optim_config {
    int kind;
    double lr;
    double momentum;       /* SGD */
    double beta1, beta2, eps; /* AdamW */
    double weight_decay;   /* SGD: L2 added to the gradient; AdamW: decoupled, lr * wd * w */
    double clip_norm;      /* global gradient norm limit; 0 turns clipping off */
    int schedule;
    int64_t warmup_steps;  /* cosine: linear ramp from 0 over these steps */
    int64_t total_steps;   /* cosine: steps to reach min_lr */
    int64_t step_size;     /* step: multiply by gamma every step_size steps */
    double gamma;
    double min_lr;
} sp__optim_config;

typedef struct sp__optim {
    sp__optim_config config;
    int64_t step;          /* updates done so far */
} sp__optim;

/* Usual defaults of each kind: SGD lr 0.1, momentum 0.9; AdamW lr 1e-3,
 * betas 0.9/0.999, eps 1e-8, weight decay 1e-4; constant schedule. */
void sp__optim_defaults(sp__optim_config *c, int kind);
int sp__optim_check(const sp__optim_config *c);
/* Learning rate at `step` (0-based). */
double sp__optim_lr(const sp__optim_config *c, int64_t step);
/* Global L2 norm of every gradient in the store. */
int sp__params_grad_norm(const sp__params *ps, double *out);
/* One update from the gradients in the store; the norm before clipping goes
 * to *grad_norm when given. */
int sp__optim_step(sp__optim *o, sp__params *ps, double *grad_norm);
/* Moments kept per parameter by this optimizer kind (1 for SGD, 2 for AdamW). */
int sp__optim_state_count(int kind);

#endif
