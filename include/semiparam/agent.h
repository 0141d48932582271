/**
 * @file agent.h
 * @brief The agent: a position in, a move out. It looks up the neighbours
 *        of the position (a retrieval model), searches over its model and
 *        plays, keeping the tree from move to move; it reports what it
 *        found; and it remembers finished games in its retrieval set.
 *
 * An agent is built from one of three models:
 * - a retrieval model (N > 0) with its embedder, the retriever over the
 *   retrieval set and the dataset the retriever's ids are positions of
 *   (paper §2.1.2): before each evaluation of a real position the agent
 *   embeds it, retrieves its N nearest keys and reads their planes
 *   (sp_dataset_neighbour_planes());
 * - a model without neighbours (the baseline), alone; or a retrieval model
 *   with sp_agent_options::zero_neighbours, its equal-capacity baseline;
 * - no model: random playouts on the real rules (go_evaluator.h).
 *
 * Moves are go.h's (`row * size + col`, ::SP_PASS); the search's actions
 * are the same points and size*size for pass.
 *
 * Ownership: the agent borrows every handle given to sp_agent_create(); they
 * must outlive it. sp_agent_add_game() appends to the dataset and the
 * retriever; save them with sp_dataset_save() and sp_retriever_save() to
 * keep the grown set.
 *
 * Threads: one call at a time on an agent (its own search may use several
 * threads). Agents sharing a model, embedder, retriever or dataset may run
 * at once on other threads, as long as none of them adds games while
 * another reads the same retriever or dataset.
 */
#ifndef SEMIPARAM_AGENT_H
#define SEMIPARAM_AGENT_H

#include "semiparam/core.h"
#include "semiparam/dataset.h"
#include "semiparam/embed.h"
#include "semiparam/go.h"
#include "semiparam/model.h"
#include "semiparam/retriever.h"
#include "semiparam/search.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Creation options of an agent. Initialise with ::SP_AGENT_OPTIONS_INIT or
 * sp_agent_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_agent_options {
    uint32_t version;     /**< ::SP_AGENT_OPTIONS_VERSION */
    int32_t simulations;  /**< per move at most, default 200 */
    int32_t kind;         /**< ::sp_search_kind, default ::SP_SEARCH_PUCT */
    int32_t mode;         /**< ::sp_model_search_mode, default ::SP_MODEL_SEARCH_RULES: real games in
                               the tree (docs/results.md: the learned dynamics overrate positions a
                               move away, and rules mode wins more) */
    int32_t threads;      /**< search workers, default 1 */
    int32_t batch;        /**< leaves per batch; 0 (default): 4 per thread with a model or threads, else 1 */
    int32_t fpu;          /**< ::sp_search_fpu, default ::SP_SEARCH_FPU_PARENT */
    int32_t playouts;     /**< without a model: random playouts per evaluated position, default 1 */
    int32_t board_size;   /**< without a model: the board, 2..19, default 9 (a model plays its own) */
    uint32_t nprobe;      /**< retrieval: IVF lists visited per query, 0 (default): the retriever's */
    float temperature;    /**< 0 (default): the search's move; > 0: a move drawn with probability
                               proportional to visits^(1 / temperature) */
    double seconds;       /**< per move at most, 0 (default): only the simulations limit it */
    uint64_t seed;        /**< search and temperature draws, default 1 */
    int32_t zero_neighbours; /**< 1: a retrieval model searched with every x_i = 0 and no retrieval
                                  (the equal-capacity baseline the model was compared with; no
                                  embedder, retriever or dataset); default 0 */
    int32_t per_node_neighbours; /**< 0 (default): the root's neighbours, retrieved once per
                                      move, serve every position the search evaluates (the paper's
                                      agent retrieves for the root only), each neighbour's next
                                      position for the other side to move; 1: every real position
                                      retrieves its own (rules mode evaluates real positions at
                                      every node: one lookup each). @since version 2 */
    int32_t temperature_moves; /**< with a temperature: only the game's first this many moves are
                                    drawn (sp_game_move_count() below it), the later ones are the
                                    search's, so that games open differently and are then played
                                    at full strength; 0 (default): every move. @since version 3 */
} sp_agent_options;

/** Version of sp_agent_options this header describes (2 adds per_node_neighbours, 3
    temperature_moves). */
#define SP_AGENT_OPTIONS_VERSION 3
/** Default options as an initialiser. */
#define SP_AGENT_OPTIONS_INIT                                                                                  \
    { SP_AGENT_OPTIONS_VERSION, 200, SP_SEARCH_PUCT, SP_MODEL_SEARCH_RULES, 1, 0, SP_SEARCH_FPU_PARENT, 1, 9, \
      0, 0.0f, 0.0, 1, 0, 0, 0 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written.
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0); SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_agent_options_init(sp_agent_options *opts, uint32_t version);

/** The agent. @since 0.1 */
typedef struct sp_agent sp_agent;

/**
 * Create an agent.
 * @param out        receives the agent (NULL on failure); free with sp_agent_free()
 * @param model      the model, or NULL for random playouts (on the options' board size) (borrowed)
 * @param embedder   for a retrieval model: the embedder it was trained with (its id the
 *                   model's), else NULL (borrowed)
 * @param retriever  for a retrieval model: the index of the retrieval set, built with that
 *                   embedder, loaded without ::SP_RETRIEVER_LOAD_MMAP to add games; else NULL
 * @param dataset    for a retrieval model: the dataset the retriever's ids are positions of,
 *                   of the model's board size; else NULL
 * @param opts       NULL for the defaults
 * @return SP_OK; SP_ERR_INVALID_ARG (a bad option, named; handles a model
 *         without neighbours does not use; missing ones a retrieval model
 *         needs; another embedder than the model's or the retriever's, or
 *         another board size: both named); SP_ERR_VERSION; SP_ERR_NOMEM;
 *         SP_ERR_UNSUPPORTED (a build without the module a handle needs).
 * @since 0.1
 */
SP_API int sp_agent_create(sp_agent **out, sp_model *model, const sp_embedder *embedder, sp_retriever *retriever,
                           sp_dataset *dataset, const sp_agent_options *opts);

/** Release an agent (not the handles it borrows); NULL is a no-op. @since 0.1 */
SP_API void sp_agent_free(sp_agent *agent);

/** The board size the agent plays; 0 for NULL. @since 0.1 */
SP_API int sp_agent_board_size(const sp_agent *agent);

/** N, the neighbours it retrieves for each position (the model's); 0 without retrieval or for NULL. @since 0.1 */
SP_API int sp_agent_neighbours(const sp_agent *agent);

/**
 * Choose the move for the side to move in @p game. When @p game continues
 * the game of the previous call (the same start, and moves only added), the
 * search keeps the subtree of the moves played since (rules mode and
 * playouts; a learned-mode tree starts afresh at every move, model.h).
 * @param agent    the agent
 * @param game     the position, of the agent's board size, its side to move the one to
 *                 play; not changed
 * @param seconds  time for this move at most; 0 or less: the options' limit
 * @param out_move receives the move (::SP_PASS when the game is over)
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, another board size); SP_ERR_NOMEM;
 *         SP_ERR_IO, SP_ERR_FORMAT (a retrieval or dataset failure, its message kept);
 *         SP_ERR_INTERNAL. After a failure, or for a finished game (no search), the tree is
 *         dropped (sp_agent_search() has no results to show) and the report holds the
 *         time spent, move ::SP_PASS and no simulations.
 * @since 0.1
 */
SP_API int sp_agent_genmove(sp_agent *agent, const sp_game *game, double seconds, int32_t *out_move);

/**
 * What the latest sp_agent_genmove() found and how long each stage took.
 * Initialise with ::SP_AGENT_REPORT_INIT or sp_agent_report_init(); fields
 * are only ever appended.
 * @since 0.1
 */
typedef struct sp_agent_report {
    uint32_t version;         /**< ::SP_AGENT_REPORT_VERSION */
    int32_t move;             /**< the move played; ::SP_PASS also before any genmove */
    int32_t simulations;      /**< simulations the search ran for this move */
    int32_t reused;           /**< visits the root kept from the previous moves' tree (the root's
                                   visits, sp_search_root_stats(), minus simulations); 0 for a new tree */
    float value;              /**< the root's value for its side to move (the side this move is for), -1..1 */
    int32_t neighbours;       /**< neighbours of the root shown by sp_agent_neighbour_get(): N, or fewer
                                   when the retrieval set holds fewer keys */
    int64_t queries;          /**< positions whose neighbours were retrieved (the root and, in rules
                                   mode, every position the search evaluated) */
    double seconds;           /**< the whole call */
    double seconds_embed;     /**< computing the queries' keys, summed over the search's workers */
    double seconds_retrieve;  /**< the index searches and the neighbours' planes, summed likewise */
    double seconds_search;    /**< the rest: the tree and the network, as wall-clock time (seconds
                                   minus the retrieval stages' sum divided by the search's threads) */
} sp_agent_report;

/** Version of sp_agent_report this header describes. */
#define SP_AGENT_REPORT_VERSION 1
/** An empty report as an initialiser. */
#define SP_AGENT_REPORT_INIT { SP_AGENT_REPORT_VERSION, SP_PASS, 0, 0, 0.0f, 0, 0, 0.0, 0.0, 0.0, 0.0 }

/**
 * Set @p report's version and the fields it has to ::SP_AGENT_REPORT_INIT's (all zero, move ::SP_PASS).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_agent_report_init(sp_agent_report *report, uint32_t version);

/**
 * The report of the latest sp_agent_genmove(); the fields @p out's version has.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_agent_report_get(const sp_agent *agent, sp_agent_report *out);

/**
 * The latest search, to read its root statistics and principal variation
 * (sp_search_root_stats(), sp_search_pv()); NULL for NULL. It stays the
 * agent's and changes with the next sp_agent_genmove().
 * @since 0.1
 */
SP_API const sp_search *sp_agent_search(const sp_agent *agent);

/**
 * One neighbour retrieved for the root of the latest sp_agent_genmove().
 * Initialise with ::SP_AGENT_NEIGHBOUR_INIT or sp_agent_neighbour_init();
 * fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_agent_neighbour {
    uint32_t version;     /**< ::SP_AGENT_NEIGHBOUR_VERSION */
    uint64_t position;    /**< its position id in the agent's dataset */
    uint64_t game;        /**< its game id */
    int32_t move_number;  /**< moves played in its game before it */
    float distance;       /**< squared L2 distance of its key to the query's */
    int32_t outcome;      /**< its game's result for its side to move: +1 won, -1 lost, 0 draw or unknown */
    int32_t next_moves[SP_NEIGHBOUR_ACTIONS]; /**< the moves played from it (::SP_PASS),
                                                   -2 past the game's end */
} sp_agent_neighbour;

/** Version of sp_agent_neighbour this header describes. */
#define SP_AGENT_NEIGHBOUR_VERSION 1
/** An empty neighbour as an initialiser. */
#define SP_AGENT_NEIGHBOUR_INIT { SP_AGENT_NEIGHBOUR_VERSION, 0, 0, 0, 0.0f, 0, { -2, -2, -2, -2, -2 } }

/**
 * Set @p neighbour's version and its fields' defaults.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_agent_neighbour_init(sp_agent_neighbour *neighbour, uint32_t version);

/**
 * Neighbour @p index (0 = nearest) of the latest root.
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, @p index outside 0..report.neighbours-1); SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_agent_neighbour_get(const sp_agent *agent, int32_t index, sp_agent_neighbour *out);

/**
 * Add a game's positions to the retrieval set at once: the game goes to
 * the dataset (sp_dataset_add_game(), no de-duplication), each of its
 * positions' keys to the retriever with their ids. The next search can
 * retrieve them; no model is retrained.
 * @param agent      an agent with retrieval
 * @param game       the game, from the empty board of the agent's size; not changed
 * @param source     provenance stored with the game; may be NULL
 * @param out_game   receives its game id in the dataset; may be NULL
 * @return SP_OK; SP_ERR_INVALID_ARG (NULL, another board size, no moves, set-up stones);
 *         SP_ERR_MISUSE (an agent without retrieval; a retriever loaded with
 *         ::SP_RETRIEVER_LOAD_MMAP; a game id past the retriever's range); SP_ERR_NOMEM;
 *         SP_ERR_INTERNAL. On a failure after the dataset took the game, the game stays in
 *         the dataset and its keys may be missing from the retriever.
 * @since 0.1
 */
SP_API int sp_agent_add_game(sp_agent *agent, const sp_game *game, const char *source, uint64_t *out_game);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_AGENT_H */
