/**
 * @file go.h
 * @brief Go rules: a game with legality (positional superko, no suicide),
 *        captures, undo, Tromp-Taylor area scoring, feature planes for the
 *        networks, board symmetries, move notation and fast random playouts.
 *
 * Points are flat indices `row * size + col` with row 0 the top row (SGF
 * order: GTP row `size` is row 0). Pass is ::SP_PASS, resignation
 * ::SP_RESIGN. Networks that need a pass action use index `size * size`.
 */
#ifndef SEMIPARAM_GO_H
#define SEMIPARAM_GO_H

#include "semiparam/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Smallest supported board size. */
#define SP_GO_MIN_SIZE 2
/** Largest supported board size. */
#define SP_GO_MAX_SIZE 19

/** Move value for a pass. */
#define SP_PASS (-1)
/** Move value for a resignation. */
#define SP_RESIGN (-2)

/** Colour of a point or of a player. */
typedef enum sp_color {
    SP_EMPTY = 0, /**< no stone; no player (draws, unfinished games) */
    SP_BLACK = 1, /**< Black */
    SP_WHITE = 2  /**< White */
} sp_color;

/** How a game ended, as sp_game_end_reason() says; sp_game_winner() gives the winner. */
typedef enum sp_game_end {
    SP_END_NONE = 0,       /**< the game is still going on */
    SP_END_PASSES = 1,     /**< two consecutive passes: score the board */
    SP_END_RESIGN = 2      /**< a player resigned */
} sp_game_end;

/**
 * A game of Go: the board, whose turn it is, the move history and the
 * positions seen so far (for positional superko).
 * Thread rule: one thread at a time per handle; distinct games are independent.
 * @since 0.1
 */
typedef struct sp_game sp_game;

/**
 * Creation options of a game. Initialise with ::SP_GAME_OPTIONS_INIT or
 * sp_game_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_game_options {
    uint32_t version;   /**< ::SP_GAME_OPTIONS_VERSION */
    int32_t board_size; /**< 2..19, default 9 */
    float komi;         /**< points given to White, default 7 */
} sp_game_options;

/** Version of sp_game_options this header describes. */
#define SP_GAME_OPTIONS_VERSION 1
/** Default game options as an initialiser. */
#define SP_GAME_OPTIONS_INIT { SP_GAME_OPTIONS_VERSION, 9, 7.0f }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_GAME_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_game_options_init(sp_game_options *opts, uint32_t version);

/**
 * Create an empty game, Black to play.
 * @param out   receives the game; NULL on failure
 * @param opts  options, or NULL for the defaults (9x9, komi 7)
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_game_create(sp_game **out, const sp_game_options *opts);

/** Release a game; NULL is a no-op. @since 0.1 */
SP_API void sp_game_free(sp_game *game);

/** Deep copy of @p game into a new handle @p out. @since 0.1 */
SP_API int sp_game_clone(sp_game **out, const sp_game *game);

/** Copy the whole state of @p src into @p dst (same board size or not). @since 0.1 */
SP_API int sp_game_copy(sp_game *dst, const sp_game *src);

/** Empty the board and the history, keeping size and komi. @since 0.1 */
SP_API int sp_game_clear(sp_game *game);

/** Change the board size (2..19); clears the game. @since 0.1 */
SP_API int sp_game_set_size(sp_game *game, int size);

/** Board size, or 0 when game is NULL. @since 0.1 */
SP_API int sp_game_size(const sp_game *game);

/** Change the komi (finite, |komi| <= 1000). @since 0.1 */
SP_API int sp_game_set_komi(sp_game *game, float komi);

/** Komi, or 0 when game is NULL. @since 0.1 */
SP_API float sp_game_komi(const sp_game *game);

/** Colour to play next (::SP_BLACK or ::SP_WHITE); ::SP_EMPTY when game is NULL. @since 0.1 */
SP_API int sp_game_to_play(const sp_game *game);

/**
 * Set who plays next. Only before the first move (SGF `PL`, handicap).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_MISUSE (moves were played).
 * @since 0.1
 */
SP_API int sp_game_set_to_play(sp_game *game, int color);

/**
 * Put a setup stone (or ::SP_EMPTY to remove one) before the first move,
 * as SGF `AB`/`AW`/`AE` do. Groups left without liberties are refused.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_ILLEGAL_MOVE or SP_ERR_MISUSE
 *         (moves were already played).
 * @since 0.1
 */
SP_API int sp_game_setup(sp_game *game, int point, int color);

/**
 * Whether @p color may play @p move now (point, ::SP_PASS or ::SP_RESIGN).
 * Illegal: occupied, suicide, positional superko, or the game is over.
 * @return 1 legal, 0 illegal or bad arguments (then sp_last_error() says why).
 * @since 0.1
 */
SP_API int sp_game_is_legal(const sp_game *game, int color, int move);

/**
 * Play @p move for the side to move.
 * @return SP_OK, SP_ERR_ILLEGAL_MOVE (reason in sp_last_error()) or SP_ERR_INVALID_ARG.
 * @since 0.1
 */
SP_API int sp_game_play(sp_game *game, int move);

/**
 * Play @p move for @p color, which need not be the side to move (GTP `play`
 * allows a colour to move twice). The other colour plays next.
 * @since 0.1
 */
SP_API int sp_game_play_as(sp_game *game, int color, int move);

/**
 * Take back the last move (or resignation).
 * @return SP_OK, or SP_ERR_MISUSE when no move was played.
 * @since 0.1
 */
SP_API int sp_game_undo(sp_game *game);

/** Number of moves played (passes and a resignation included); 0 for NULL. @since 0.1 */
SP_API int sp_game_move_count(const sp_game *game);

/**
 * The @p index-th move (0-based): its colour and move value.
 * Either out pointer may be NULL.
 * @since 0.1
 */
SP_API int sp_game_move_at(const sp_game *game, int index, int *out_color, int *out_move);

/** The last move played, or ::SP_PASS when none was; ::SP_PASS for NULL. @since 0.1 */
SP_API int sp_game_last_move(const sp_game *game);

/** How the game ended (::sp_game_end), ::SP_END_NONE while it goes on. @since 0.1 */
SP_API int sp_game_end_reason(const sp_game *game);

/** 1 when the game is over (two passes in a row or a resignation). @since 0.1 */
SP_API int sp_game_is_over(const sp_game *game);

/** Colour of a point: ::SP_EMPTY, ::SP_BLACK or ::SP_WHITE; -1 when out of range. @since 0.1 */
SP_API int sp_game_color_at(const sp_game *game, int point);

/**
 * Copy the board into @p out (size*size bytes of ::sp_color, row-major from the top).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_game_board(const sp_game *game, uint8_t *out, size_t capacity);

/** Stones of @p color captured by its opponent so far; -1 on bad arguments. @since 0.1 */
SP_API int sp_game_captures(const sp_game *game, int color);

/** Point where a simple ko forbids the next move, or -1 when none. @since 0.1 */
SP_API int sp_game_ko_point(const sp_game *game);

/** Zobrist hash of the stones on the board (positional: not of the side to move). @since 0.1 */
SP_API uint64_t sp_game_hash(const sp_game *game);

/**
 * Legal moves of the side to move as a mask of size*size+1 bytes: 1 where
 * legal, the last byte for pass (always legal while the game goes on).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_game_legal_mask(const sp_game *game, uint8_t *out, size_t capacity);

/**
 * Whether @p point is a single-point eye of @p color: every neighbour is
 * @p color (or off the board), and the opponent holds fewer than two of its
 * diagonals (fewer than one on the edge). Random players never fill these.
 * @since 0.1
 */
SP_API int sp_game_is_eye(const sp_game *game, int point, int color);

/**
 * Tromp-Taylor area score: Black's stones and empty regions reaching only
 * Black, minus White's, minus komi. Positive means Black leads.
 * @since 0.1
 */
SP_API int sp_game_score(const sp_game *game, float *out_score);

/**
 * Area ownership of every point under Tromp-Taylor rules (size*size bytes of
 * ::sp_color; ::SP_EMPTY for dame, e.g. shared liberties in seki).
 * @since 0.1
 */
SP_API int sp_game_ownership(const sp_game *game, uint8_t *out, size_t capacity);

/**
 * Winner of a finished game: ::SP_BLACK, ::SP_WHITE, or ::SP_EMPTY for a
 * draw or an unfinished game. Scored games use sp_game_score().
 * @since 0.1
 */
SP_API int sp_game_winner(const sp_game *game);

/* ------------------------------------------------------------------------ */
/* Record information (SGF root properties such as PB, PW, BR, WR, RE, DT)  */
/* ------------------------------------------------------------------------ */

/**
 * Set a piece of record information, keyed by its SGF property name
 * (1..8 upper-case letters, e.g. "PB", "RE"); a NULL @p value removes it.
 * SZ and KM are not information but rules: use sp_game_set_size()/set_komi().
 * The game copies both strings. Kept by sp_game_clear(), written by SGF output.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_game_set_info(sp_game *game, const char *key, const char *value);

/**
 * Value of a piece of record information, or NULL when absent. Borrowed from
 * the game: valid until the game changes this key or is freed.
 * @since 0.1
 */
SP_API const char *sp_game_info(const sp_game *game, const char *key);

/** Number of pieces of record information held; 0 for NULL. @since 0.1 */
SP_API int sp_game_info_count(const sp_game *game);

/**
 * The @p index-th piece of record information, in the order they were set.
 * Both strings are borrowed from the game. Either out pointer may be NULL.
 * @since 0.1
 */
SP_API int sp_game_info_at(const sp_game *game, int index, const char **out_key, const char **out_value);

/* ------------------------------------------------------------------------ */
/* Feature planes and symmetries                                            */
/* ------------------------------------------------------------------------ */

/** Default number of past positions in the feature planes. */
#define SP_GO_DEFAULT_HISTORY 8

/** Number of feature planes for @p history past positions: 2*history + 2. @since 0.1 */
SP_API int sp_go_plane_count(int history);

/**
 * Write the network input planes of the current position, from the side to
 * move: for k = 0..history-1, plane 2k holds the mover's stones and plane
 * 2k+1 the opponent's stones k moves ago (zero before the game began), then a
 * plane of ones when Black is to move (zeros otherwise), then a plane of ones.
 * Layout: planes x size x size floats, row-major.
 * @param game     the position; not changed
 * @param history  1..16 past positions (::SP_GO_DEFAULT_HISTORY gives 18 planes)
 * @param out      caller array of planes x size x size floats
 * @param capacity floats available at @p out
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_game_planes(const sp_game *game, int history, float *out, size_t capacity);

/** Number of board symmetries (the dihedral group of the square). */
#define SP_SYMMETRY_COUNT 8

/**
 * Map a point by symmetry @p sym (0..7; 0 is the identity): bit 0 flips
 * columns, bit 1 flips rows, bit 2 transposes (applied after the flips).
 * ::SP_PASS and ::SP_RESIGN map to themselves. -1 on bad arguments.
 * @since 0.1
 */
SP_API int sp_symmetry_point(int sym, int size, int point);

/** The symmetry that undoes @p sym; -1 when out of range. @since 0.1 */
SP_API int sp_symmetry_inverse(int sym);

/**
 * Apply symmetry @p sym to @p channels planes of size x size floats:
 * out[c][sym(p)] = in[c][p]. @p in and @p out must not overlap.
 * @since 0.1
 */
SP_API int sp_symmetry_planes(int sym, int size, int channels, const float *in, float *out);

/* ------------------------------------------------------------------------ */
/* Notation                                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Write @p move as a GTP vertex ("D4", "pass", "resign"; columns skip I)
 * into @p buf with its terminating NUL. @return SP_OK, SP_ERR_INVALID_ARG
 * or SP_ERR_BUFFER_TOO_SMALL (8 bytes always suffice).
 * @since 0.1
 */
SP_API int sp_move_to_gtp(int size, int move, char *buf, size_t capacity);

/**
 * Parse a GTP vertex (case-insensitive; "pass", "resign") for a board of
 * @p size. @return SP_OK, SP_ERR_INVALID_ARG (malformed or off the board).
 * @since 0.1
 */
SP_API int sp_move_from_gtp(int size, const char *text, int *out_move);

/** Flat index of (row, col), row 0 on top; -1 when off the board. @since 0.1 */
SP_API int sp_point(int size, int row, int col);

/**
 * The move of an action, in the numbering that searches over Go
 * (sp_go_evaluator) and datasets use on a @p size x @p size board: actions
 * 0 .. size*size-1 are the points, action size*size is ::SP_PASS.
 * @param size      board size, 2..19
 * @param action    0 .. size*size
 * @param out_move  receives the point or ::SP_PASS
 * @return SP_OK; SP_ERR_INVALID_ARG (size outside 2..19, action outside
 *         0..size*size, out_move NULL).
 * @since 0.1
 */
SP_API int sp_action_to_move(int size, int action, int *out_move);

/**
 * The action of @p move (a point or ::SP_PASS), the inverse of
 * sp_action_to_move(). Resigning has no action.
 * @param size        board size, 2..19
 * @param move        a point of the board or ::SP_PASS
 * @param out_action  receives 0 .. size*size
 * @return SP_OK; SP_ERR_INVALID_ARG (size outside 2..19, a move that is
 *         neither a point of the board nor ::SP_PASS, out_action NULL).
 * @since 0.1
 */
SP_API int sp_move_to_action(int size, int move, int *out_action);

/* ------------------------------------------------------------------------ */
/* Random playouts                                                          */
/* ------------------------------------------------------------------------ */

/**
 * Play the game on to its end with uniformly random legal moves that do not
 * fill the mover's own single-point eyes (sp_game_is_eye()), passing when none
 * remains, until two passes in a row. @p game itself is left unchanged.
 *
 * Built for speed: simple ko and suicide are enforced, positional superko is
 * not (a long superko cycle ends at @p max_moves, then the board is scored).
 * @param game          the start position; not changed
 * @param rng           generator drawing the moves (advanced by the playout)
 * @param max_moves     moves at most; 0 means 3 * size * size
 * @param out_score     Tromp-Taylor score of the final board (Black minus White minus komi); may be NULL
 * @param out_ownership size*size bytes of final area ownership, or NULL
 * @param capacity      bytes available at @p out_ownership
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_game_playout(const sp_game *game, sp_rng *rng, int max_moves, float *out_score,
                           uint8_t *out_ownership, size_t capacity);

/**
 * Pick a uniformly random legal move for the side to move that does not
 * fill its own single-point eye, honouring positional superko; ::SP_PASS
 * when none remains.
 * @since 0.1
 */
SP_API int sp_game_random_move(const sp_game *game, sp_rng *rng, int *out_move);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_GO_H */
