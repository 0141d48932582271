/* The MuZero-style network of the model module (internal; issue 13): a
 * representation tower h(o), an action-conditioned dynamics tower g(s, a)
 * applied K times with shared weights, min-max normalised hidden states,
 * and policy and value heads on every state; the K-step training unroll
 * with MuZero's loss scaling, and layer-by-layer inference entry points. */
#ifndef SP_MODEL_NET_H
#define SP_MODEL_NET_H

#include "model_heads.h"
#include "nn/tower.h"

/* Hidden-state normalisation per position (all channels and points of one
 * item): y = (x - min) / (max - min + eps). The min and max are treated as
 * functions of their (first) arg-min and arg-max element in backward. */
typedef struct sp__minmax {
    sp__nn *nn;
    float eps;
    int64_t *arg;            /* per item: arg-min, arg-max */
    size_t arg_capacity;
    const sp__tensor *in;
    sp__tensor out, dsrc;
} sp__minmax;

#define SP__MINMAX_EPS 1e-5f

void sp__minmax_setup(sp__minmax *m, sp__nn *nn, float eps);
int sp__minmax_forward(sp__minmax *m, const sp__tensor *in);
int sp__minmax_backward(sp__minmax *m, const sp__tensor *dout);
void sp__minmax_release(sp__minmax *m);

/* Dynamics input: the state, then one plane with a 1 at the action's point
 * and one plane of ones for a pass. */
#define SP__MODEL_ACTION_PLANES 2

/* The action planes of n actions (points = pass) on a size x size board
 * into t; SP_ERR_INVALID_ARG for an action that is not a point or a pass. */
int sp__model_write_actions(sp__nn *nn, int64_t size, sp__tensor *t, const float *action, int64_t n);

/* One application of the recurrent part: the action planes joined to the
 * previous state, the dynamics tower, the normalisation, the heads. */
typedef struct sp__model_step {
    sp__tensor action;
    sp__concat concat;
    sp__tower dyn;
    sp__minmax norm;
    sp__model_heads heads;
    sp__add dstate;            /* head gradient + scaled gradient from the next step */
    sp__tensor dnext;          /* this step's input-state gradient, scaled */
    sp__tensor dlogits, dvalue;
} sp__model_step;

typedef struct sp__model_net {
    sp__nn *nn;
    sp__model_arch arch;
    sp__params ps;
    float value_weight;        /* weight of the value MSE in the loss */
    float dyn_grad_scale;      /* MuZero: 0.5; 1 gives the plain gradient */
    /* Neighbour regularisation (paper §2.3), with neighbours only: the
     * weight of the mean squared distance between the initial state and
     * the state with every x_i = 0 (running statistics, held fixed: no
     * gradient flows into it). reg_target holds that state for the batch;
     * reg_frozen keeps it across unrolls (gradient checks). */
    float reg_weight;
    float *reg_target;
    size_t reg_capacity;
    int reg_frozen;
    sp__tensor dreg, dreg_sum; /* the regulariser's state gradient; step 0's with it added */
    /* Unroll: step 0 is the representation (its dyn and action unused);
     * steps 1..K own the shared dynamics applications. */
    sp__tower repr;
    /* With neighbours (arch.neighbours > 0): the neighbour network, its
     * input, the joined state and the joins' gradients (model_encode.h). */
    sp__tower nbr;
    sp__tensor nbr_in, enc, doe, de;
    sp__tensor planes, state_in;
    float *scratch;            /* masked policy targets of one step */
    size_t scratch_capacity;
    sp__model_step *step;
    int64_t unroll_capacity, unrolled;
} sp__model_net;

/* Per-step losses of the last train_step / loss call. */
typedef struct sp__model_losses {
    double total;              /* as optimised: step 0 + (1/K) * steps 1..K + the regulariser */
    double policy[64], value[64];
    double regulariser;        /* the neighbour regulariser's mean squared distance (unweighted) */
} sp__model_losses;

#define SP__MODEL_MAX_UNROLL 63

/* Build the network for unrolls of up to max_unroll steps; parameters are
 * registered and initialised from seed. nn is borrowed. */
int sp__model_net_setup(sp__model_net *m, sp__nn *nn, const sp__model_arch *arch, int64_t max_unroll,
                        uint64_t seed);
void sp__model_net_release(sp__model_net *m);
/* Let unrolls reach max_unroll steps (only grows; the parameters stay). */
int sp__model_net_reserve(sp__model_net *m, int64_t max_unroll);

/* Training targets of a batch of n positions unrolled K steps (arrays in
 * step-major order): policy[(k * n + i) * (points + 1) + a] a distribution
 * (rows of zeros drop that step's policy loss), value[k * n + i] in [-1, 1],
 * action[k * n + i] for k < K the move taken from state k (points = pass),
 * mask[k * n + i] 1 for real steps and 0 past the game's end (NULL: all 1). */
typedef struct sp__model_targets {
    const float *policy, *value, *action, *mask;
} sp__model_targets;

/* What an unroll runs: inference statistics; batch statistics without a
 * backward pass (gradient checks); batch statistics and backward. */
enum { SP__MODEL_INFER = 0, SP__MODEL_FORWARD = 1, SP__MODEL_TRAIN = 2 };

/* Forward over planes (n, input_planes, size, size NCHW), with
 * arch.neighbours > 0 the neighbours' planes (n, N, neighbour_planes,
 * size, size; NULL: all zero, the equal-capacity baseline), and K dynamics
 * steps, the losses into *out; SP__MODEL_TRAIN then adds the gradients
 * into the parameters (not zeroed here). */
int sp__model_net_unroll(sp__model_net *m, const float *planes, const float *neighbours, int64_t n, int64_t k,
                         const sp__model_targets *t, int mode, sp__model_losses *out);

/* Inference with running statistics. state is (n, C, size, size) NCHW,
 * logits (n, points + 1), value (n); action as in the targets. They run
 * on the unroll's step 0 and step 1 buffers: one thread at a time per
 * network, and an unroll's activations are gone after a call. */
int sp__model_net_initial(sp__model_net *m, const float *planes, const float *neighbours, int64_t n, float *state,
                          float *logits, float *value);
int sp__model_net_recurrent(sp__model_net *m, const float *state, const float *action, int64_t n,
                            float *next_state, float *logits, float *value);

#endif
