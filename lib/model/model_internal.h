/* The sp_model handle's insides (model.h), shared by the model module's
 * files and by the trainer (lib/train), which trains the handle's network
 * in place. */
#ifndef SP_MODEL_INTERNAL_H
#define SP_MODEL_INTERNAL_H

#include <pthread.h>
#include <string.h>

#include "model_net.h"
#include "nn/optim.h"
#include "nn/spm.h"
#include "semiparam/model.h"

/* Everything one inference call writes: a copy of the model's sp__nn with
 * its own stream (oneDNN streams are not thread-safe; the engine is), the
 * towers and heads as further applications of the model's parameters (their
 * own folded weights, plans and weight caches), and the tensors between
 * them. The towers run the fused, folded inference path in the model's
 * precision; normalisation and heads run in f32 as in training. */
typedef struct sp__model_workspace {
    sp__nn nn;
    sp__tower repr, dyn;
    sp__tower nbr;            /* with neighbours: the neighbour network */
    sp__model_heads heads;
    sp__minmax norm;
    sp__concat concat;
    sp__tensor planes, state, action, hidden;
    sp__tensor nbr_in, nbr_out, enc; /* with neighbours: the joins of model_encode.h */
    float *actions;
    size_t actions_capacity;
} sp__model_workspace;

struct sp_model {
    sp__nn *nn;
    sp_model_options opts;
    sp__model_arch arch;
    sp__model_net net;        /* the parameters, the training unroll and its layers */
    pthread_mutex_t lock;     /* guards the workspace pool, busy and in_use */
    sp__model_workspace **free_ws; /* inference workspaces not in use (model_infer.c) */
    size_t free_count, free_capacity;
    size_t in_use;            /* workspaces lent to running inference calls */
    int busy;                 /* a trainer or evaluation holds the model (sp__model_hold) */
    uint64_t embedder_id;     /* N > 0: the embedder of the neighbours it reads; 0 for none */
};

/* Every int32 field of sp_model_options after `version`, in order: its name
 * (for messages and the file), where it is and its range. The `.spm`
 * "model" section records them in this order. */
typedef struct sp__model_field {
    const char *name;
    size_t offset;
    int32_t lo, hi;
} sp__model_field;

#define SP__MODEL_FIELDS 12
extern const sp__model_field sp__model_fields[SP__MODEL_FIELDS];
/* The fields every model has; the rest (the neighbour network's) count
 * only with neighbours > 0, so a model without neighbours keeps the file
 * and content hash it had before they existed. */
#define SP__MODEL_FIELDS_BASE 10
int sp__model_field_count(const sp_model_options *o);

static inline int32_t sp__model_field_get(const sp_model_options *o, int i)
{
    int32_t v;
    memcpy(&v, (const char *)o + sp__model_fields[i].offset, sizeof v);
    return v;
}

/* A caller's options (any version, NULL for the defaults) as a full struct. */
int sp__model_options_read(sp_model_options *out, const sp_model_options *in, const char *fn);

/* The options as the network's architecture (checked, each field named). */
int sp__model_arch_from_options(const sp_model_options *o, sp__model_arch *out);

/* A model of checked, full options; its parameters initialised from the
 * nn options' seed. */
int sp__model_create_from(sp_model **out, const sp_model_options *opts, const sp_nn_options *nn, const char *fn);

/* Make the training unroll hold k dynamics steps (k <= SP__MODEL_MAX_UNROLL). */
int sp__model_reserve_unroll(sp_model *m, int64_t k);

/* Take the model for training or evaluation: SP_ERR_MISUSE (naming who)
 * when another holder has it or an inference call is running. While held,
 * sp_model_initial/recurrent refuse with SP_ERR_MISUSE. */
int sp__model_hold(sp_model *m, const char *who);
void sp__model_unhold(sp_model *m);

/* The model as `.spm` sections: "model" (the architecture, every option
 * field) and the parameters, plus the optimizer's state when opt is given.
 * Loading checks the architecture against m's and changes nothing unless
 * every section checks out; *has_optim as in sp__params_load. */
int sp__model_save_sections(const sp_model *m, const sp__optim *opt, sp__spm_writer *w);
int sp__model_load_sections(sp_model *m, sp__optim *opt, const sp__spm_reader *r, int *has_optim);

/* The architecture recorded in a parsed file (for sp_model_load), and the
 * embedder id it records (0: none). */
int sp__model_read_options(const sp__spm_reader *r, sp_model_options *out);
int sp__model_read_embedder(const sp__spm_reader *r, uint64_t *out);

/* sp_model_load from a file's bytes, or from its parsed sections (the
 * fuzz target's entry points). */
int sp__model_load_bytes(sp_model **out, const void *data, size_t size, const sp_nn_options *nn);
int sp__model_load_reader(sp_model **out, const sp__spm_reader *r, const sp_nn_options *nn);

/* Drop the inference workspaces' cached copies of the parameters (call
 * after the parameters changed other than through the optimizer). */
void sp__model_params_changed(sp_model *m);

/* Inference workspaces (model_infer.c): free the pool (sp_model_free), and
 * run each tower once on one position so a precision the CPU lacks fails
 * at create rather than at the first call. */
void sp__model_workspaces_free(sp_model *m);
int sp__model_warm_up(sp_model *m);

/* Most positions of one inference call (model.h: n in 1..65536). */
#define SP__MODEL_MAX_BATCH 65536

/* One call's workspace (model_infer.c): taken from the pool or made, and
 * given back. Taking is refused with SP_ERR_MISUSE, naming fn, while a
 * trainer or an evaluation holds the model. */
int sp__model_workspace_take(sp_model *m, const char *fn, sp__model_workspace **out);
void sp__model_workspace_give_back(sp_model *m, sp__model_workspace *ws);

/* The observations through the representation tower's stem and first
 * `blocks` blocks (repr_blocks: the whole tower) into ws->hidden, before
 * the normalisation; call between sp__nn_threads_enter and _leave. */
int sp__model_represent(sp_model *m, sp__model_workspace *ws, const float *planes, int32_t n, int64_t blocks);

/* Free the payloads sp_model_search_model() made (their callbacks' state
 * pools and buffers): sp_model_free calls it, after every search is gone. */
void sp__model_search_release_all(sp_model *m);

#endif
