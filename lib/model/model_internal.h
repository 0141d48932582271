/* The sp_model handle's insides (model.h), shared by the model module's
 * files and by the trainer (lib/train), which trains the handle's network
 * in place. */
#ifndef SP_MODEL_INTERNAL_H
#define SP_MODEL_INTERNAL_H

#include <pthread.h>

#include "model_net.h"
#include "nn/optim.h"
#include "nn/spm.h"
#include "semiparam/model.h"

typedef struct sp__model_workspace sp__model_workspace;

struct sp_model {
    sp__nn *nn;
    sp_model_options opts;
    sp__model_arch arch;
    sp__model_net net;        /* the parameters, the training unroll and its layers */
    pthread_mutex_t lock;     /* guards the workspace pool */
    sp__model_workspace **free_ws; /* inference workspaces not in use (model_infer.c) */
    size_t free_count, free_capacity;
    int busy;                 /* a trainer or evaluation holds the model */
};

/* The options as the network's architecture (checked). */
int sp__model_arch_from_options(const sp_model_options *o, sp__model_arch *out);

/* Make the training unroll hold k dynamics steps (k <= SP__MODEL_MAX_UNROLL). */
int sp__model_reserve_unroll(sp_model *m, int64_t k);

/* The model as `.spm` sections: "model" (the architecture, every option
 * field) and the parameters, plus the optimizer's state when opt is given.
 * Loading checks the architecture against m's and changes nothing unless
 * every section checks out; *has_optim as in sp__params_load. */
int sp__model_save_sections(const sp_model *m, const sp__optim *opt, sp__spm_writer *w);
int sp__model_load_sections(sp_model *m, sp__optim *opt, const sp__spm_reader *r, int *has_optim);

/* The architecture recorded in a parsed file (for sp_model_load). */
int sp__model_read_options(const sp__spm_reader *r, sp_model_options *out);

/* Drop the inference workspaces' cached copies of the parameters (call
 * after the parameters changed other than through the optimizer). */
void sp__model_params_changed(sp_model *m);

#endif
