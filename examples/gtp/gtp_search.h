/* The searching player of sp-gtp: the library's agent (agent.h) over the
 * random-playout evaluator, a learned model or a retrieval model, with a
 * time budget from time_settings/time_left and the sp-top-moves extension
 * command. */
#ifndef SP_GTP_SEARCH_H
#define SP_GTP_SEARCH_H

#include "gtp_engine.h"
#include "semiparam/agent.h"

typedef struct gtp_search_options {
    int simulations;   /**< per move, at most */
    int threads;       /**< search workers */
    int batch;         /**< leaves per batch; 0 = 1, or 4 per thread with threads or a model */
    double seconds;    /**< per move at most; 0 = only the clock limits */
    int playouts;      /**< random playouts per evaluated position (without a model) */
    int kind;          /**< SP_SEARCH_PUCT or SP_SEARCH_GUMBEL */
    uint64_t seed;
    int show_top;      /**< after each genmove, write this many top moves to stderr; 0 = none */
    int fpu;           /**< SP_SEARCH_FPU_PARENT or SP_SEARCH_FPU_ZERO */
    sp_model *model;   /**< search over this model instead of random playouts (borrowed: it must
                            outlive the engine); NULL for playouts */
    int model_mode;    /**< with a model: SP_MODEL_SEARCH_LEARNED or SP_MODEL_SEARCH_RULES */
    /* A retrieval model's (agent.h, sp_agent_create), borrowed; NULL otherwise. */
    const sp_embedder *embedder;
    sp_retriever *retriever;
    sp_dataset *dataset;
    int nprobe;        /**< IVF lists visited per retrieval; 0: the index's default */
    int zero_neighbours; /**< 1: a retrieval model played with every x_i = 0 (its equal-capacity baseline) */
    /* With a retrieval model: add every game to the retrieval set when it ends (cleared, resized,
     * replaced, or at quit), and at the end save the grown set over these files (NULL: keep it in
     * memory only). */
    int remember;
    const char *save_index, *save_dataset;
    int per_node_neighbours; /**< 1: every real position searched retrieves its own neighbours (default 0: the root's serve all) */
    const char *move_log; /**< append a CSV row per searched move here (NULL: none) */
    float temperature;    /**< > 0: moves drawn with probability proportional to visits^(1/T) */
    int temperature_moves; /**< with a temperature, only the game's first this many moves; 0: all */
} gtp_search_options;

#define GTP_SEARCH_OPTIONS_INIT \
    { 1000, 1, 0, 0.0, 1, SP_SEARCH_PUCT, 1, 0, SP_SEARCH_FPU_PARENT, NULL, SP_MODEL_SEARCH_LEARNED, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, 0, NULL, 0.0f, 0 }

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

/**
 * The position to search for @p color in @p game: a copy of the game when
 * @p color is to move; otherwise (GTP lets a colour move out of turn) the
 * bare position with @p color to move, its superko history lost. NULL when
 * out of memory; free it with sp_game_free().
 */
sp_game *gtp_search_position(const sp_game *game, int color);

#endif /* SP_GTP_SEARCH_H */
