/* The searching player of sp-gtp: MCTS (include/semiparam/search.h) over the
 * random-playout evaluator, with tree reuse between moves, a time budget
 * from time_settings/time_left, and the sp-top-moves extension command. */
#ifndef SP_GTP_SEARCH_H
#define SP_GTP_SEARCH_H

#include "gtp_engine.h"

typedef struct gtp_search_options {
    int simulations;   /**< per move, at most */
    int threads;       /**< search workers */
    int batch;         /**< leaves per batch; 0 = 1, or 4 per thread with threads */
    double seconds;    /**< per move at most; 0 = only the clock limits */
    int playouts;      /**< random playouts per evaluated position */
    int kind;          /**< SP_SEARCH_PUCT or SP_SEARCH_GUMBEL */
    uint64_t seed;
    int show_top;      /**< after each genmove, write this many top moves to stderr; 0 = none */
    int fpu;           /**< SP_SEARCH_FPU_PARENT or SP_SEARCH_FPU_ZERO */
} gtp_search_options;

#define GTP_SEARCH_OPTIONS_INIT { 1000, 1, 0, 0.0, 1, SP_SEARCH_PUCT, 1, 0, SP_SEARCH_FPU_PARENT }

/**
 * Make a searching player the engine's player and register `sp-top-moves`.
 * The engine owns the player from then on (released with the engine).
 * @return 0, or -1 (sp_last_error() says why).
 */
int gtp_search_attach(gtp_engine *engine, const gtp_search_options *opts);

/**
 * Seconds to spend on the next move under @p clock with @p empty_points
 * empty points on the board; 0 when the clock sets no limit.
 */
double gtp_search_budget(const gtp_clock *clock, int empty_points);

#endif /* SP_GTP_SEARCH_H */
