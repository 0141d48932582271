/* The model as a searcher model (model.h, sp_model_search_model): the
 * payload its callbacks share, shared by the payload's bookkeeping
 * (model_search.c) and the callbacks themselves (model_search_eval.c). */
#ifndef SP_MODEL_SEARCH_H
#define SP_MODEL_SEARCH_H

#include <pthread.h>
#include <stddef.h>

#include "semiparam/go.h"
#include "semiparam/model.h"

/* Most rows a callback hands the network in one call when the options set
 * no max_batch: bounds a call's buffers, not the searcher's batches. */
#define SP__MODEL_SEARCH_MAX_ROWS 65536

/* Buffers of one callback call. Calls borrow one from the payload's pool,
 * so any number of searches and workers may call at once. */
typedef struct sp__search_scratch {
    float *floats;
    size_t float_capacity;
    int32_t *ints;
    size_t int_capacity;
    const sp_game **games; /* a retrieval model's batch of positions for the neighbours callback */
    size_t game_capacity;
} sp__search_scratch;

/* A learned-mode state: the hidden state, and for the root and the nodes
 * reached from it by passes only, the real game. A pass is the one action
 * the dynamics never learnt mid-game (experts pass when the game is over),
 * and the tree cannot tell a pass that ends the game from one that gives a
 * move away: so a pass from a real node is played by the rules, its
 * position evaluated by initial inference with its legal mask, and a
 * second pass ends the game with the board's score. Every other action
 * leads to the dynamics, and below it `real` is NULL. */
typedef struct sp__learned_state {
    sp_game *real;      /* owned; NULL below the root but for passes */
    float hidden[];     /* state_floats */
} sp__learned_state;

typedef struct sp__model_search {
    struct sp__model_search *next; /* the list of every model's payloads (model_search.c) */
    sp_model *model;
    sp_model_search_options opts;
    int size, area, actions;       /* board size, points, points + 1 */
    int history;                   /* past positions in the planes */
    size_t plane_floats;           /* floats of one observation */
    size_t state_floats;           /* floats of one hidden state */
    int neighbours;                /* N of a retrieval model, else 0 */
    size_t neighbour_floats;       /* floats of one position's N neighbours' planes */
    pthread_mutex_t lock;          /* guards the two free lists */
    void **free_states;            /* released states kept for reuse (by mode: sp__learned_state or sp_game) */
    size_t n_free_states, cap_free_states;
    sp__search_scratch **free_scratch;
    size_t n_free_scratch, cap_free_scratch;
} sp__model_search;

/* A state for a new node: a recycled one or a fresh allocation (an
 * sp__learned_state, or an sp_game in rules mode, its position unset).
 * NULL when out of memory. */
void *sp__model_search_take_state(sp__model_search *p);

/* The searcher's release callback: the state back to the free list. */
void sp__model_search_release_state(void *state, void *payload);

/* Borrow buffers holding at least `floats` floats, `ints` int32s and
 * `games` game pointers; give them back with
 * sp__model_search_return_scratch. NULL when out of memory. */
sp__search_scratch *sp__model_search_borrow_scratch(sp__model_search *p, size_t floats, size_t ints, size_t games);
void sp__model_search_return_scratch(sp__model_search *p, sp__search_scratch *s);

/* The callbacks (model_search_eval.c). */
int sp__model_search_initial(int worker, size_t n, void *const *inputs, void **out_states, float *out_priors,
                             float *out_values, uint8_t *inout_masks, int32_t *out_terminal, void *payload);
int sp__model_search_recurrent(int worker, size_t n, void *const *states, const int32_t *actions,
                               void **out_states, float *out_rewards, float *out_priors, float *out_values,
                               uint8_t *inout_masks, int32_t *out_terminal, void *payload);

#endif
