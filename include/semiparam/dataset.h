/**
 * @file dataset.h
 * @brief Game records to training data: streaming import of SGF collections
 *        (plain, .xz, .gz) with filters and deduplication, the `.spd` dataset
 *        file, deterministic splits by game, the training batch sampler and
 *        the neighbour metadata planes of the retrieval set.
 *
 * A dataset holds games of one board size. Game ids run 0..games-1 in the
 * order games were added; position ids run 0..positions-1 over the games in
 * that order, one position before each move of a game (position `first + i`
 * is the board before move i). Appending games never changes existing ids.
 *
 * Actions are `0..size*size-1` for points (row-major from the top, as go.h)
 * and `size*size` for a pass.
 */
#ifndef SEMIPARAM_DATASET_H
#define SEMIPARAM_DATASET_H

#include "semiparam/go.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A set of games and its position index, in memory or mapped from a `.spd`
 * file. Thread rule: reading calls (counts, game look-ups, planes, samplers)
 * may run concurrently from any number of threads; adding games and saving
 * need exclusive access.
 * @since 0.1
 */
typedef struct sp_dataset sp_dataset;

/** How a game ended, from its SGF `RE` property. Values are frozen. @since 0.1 */
typedef enum sp_result_kind {
    SP_RESULT_NONE = 0,    /**< no result recorded or unreadable */
    SP_RESULT_SCORE = 1,   /**< counted: "B+3.5" (margin in points) */
    SP_RESULT_RESIGN = 2,  /**< "W+R", "W+Resign" */
    SP_RESULT_TIME = 3,    /**< "B+T", "B+Time" */
    SP_RESULT_ILLEGAL = 4, /**< "B+Illegal": the loser played an illegal move */
    SP_RESULT_DRAW = 5,    /**< "Draw", "0", "Jigo" */
    SP_RESULT_FORFEIT = 6, /**< "B+F", "B+Forfeit" */
    SP_RESULT_OTHER = 7,   /**< a winner without a known reason ("B+", "B+?") */
    SP_RESULT_VOID = 8     /**< "Void", "?": no winner */
} sp_result_kind;

/** Number of ::sp_result_kind values. */
#define SP_RESULT_KIND_COUNT 9

/** Why the import dropped a game. Values are frozen; new ones are appended. @since 0.1 */
typedef enum sp_skip_reason {
    SP_SKIP_BROKEN = 0,      /**< malformed SGF, or a game tree cut off by the end of its file */
    SP_SKIP_BOARD_SIZE = 1,  /**< not the dataset's board size (e.g. not 9x9) */
    SP_SKIP_NO_MOVES = 2,    /**< no moves */
    SP_SKIP_ILLEGAL = 3,     /**< a move breaks the rules (occupied, suicide, superko) */
    SP_SKIP_UNSUPPORTED = 4, /**< not Go, setup stones (handicap), or colours that do not alternate */
    SP_SKIP_DUPLICATE = 5,   /**< same move sequence as a game already in the dataset */
    SP_SKIP_RATING = 6,      /**< weaker player below the rating filter, or a rating missing */
    SP_SKIP_KOMI = 7,        /**< komi outside the filter */
    SP_SKIP_RESULT = 8,      /**< result kind not accepted */
    SP_SKIP_TOO_LONG = 9     /**< more moves than the file format holds (65,535) */
} sp_skip_reason;

/** Number of ::sp_skip_reason values; also the size of sp_import_report::skipped. */
#define SP_SKIP_REASON_COUNT 10

/** Static name of a result kind ("score", "resign", ...); "unknown" when out of range. @since 0.1 */
SP_API const char *sp_result_kind_name(int kind);

/** Static name of a skip reason ("broken", "board-size", ...); "unknown" when out of range. @since 0.1 */
SP_API const char *sp_skip_reason_name(int reason);

/**
 * Parse an SGF `RE` value ("B+3.5", "W+Resign", "Draw", ...).
 * @param text        the RE value, NUL-terminated; borrowed for the call
 * @param out_kind    receives the ::sp_result_kind (::SP_RESULT_NONE when unreadable)
 * @param out_winner  receives ::SP_BLACK, ::SP_WHITE or ::SP_EMPTY (draw, void, none)
 * @param out_margin  receives the margin of a counted result, else NaN; may be NULL
 * @return SP_OK, or SP_ERR_INVALID_ARG when a required pointer is NULL. Thread-safe.
 * @since 0.1
 */
SP_API int sp_result_parse(const char *text, int *out_kind, int *out_winner, float *out_margin);

/* ------------------------------------------------------------------------ */
/* Creating, loading and saving                                             */
/* ------------------------------------------------------------------------ */

/**
 * Create an empty dataset for games on a board of @p board_size (2..19).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_NOMEM; *out is NULL on failure.
 * @since 0.1
 */
SP_API int sp_dataset_create(sp_dataset **out, int board_size);

/**
 * Open a `.spd` file read-only through mmap and check all of it: header,
 * per-section CRC-32s, every game record, move and string bound. Games added
 * later live in memory until sp_dataset_save(). The file must stay unchanged
 * while the dataset is open.
 * @return SP_OK; SP_ERR_IO (cannot open or map); SP_ERR_FORMAT (not a dataset,
 *         truncated or corrupt: the detail says which check failed);
 *         SP_ERR_VERSION (written by a newer library); SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_dataset_load(sp_dataset **out, const char *path);

/**
 * The same checks on a `.spd` image in memory (@p data must stay valid and
 * unchanged while the dataset lives; it is not copied). For fuzzing and
 * embedded data.
 * @since 0.1
 */
SP_API int sp_dataset_load_memory(sp_dataset **out, const void *data, size_t length);

/** Release a dataset (and its mapping); NULL is a no-op. @since 0.1 */
SP_API void sp_dataset_free(sp_dataset *ds);

/**
 * Write every game of @p ds to @p path as a `.spd` file, via a temporary
 * name and a rename: an interrupted save never leaves a partial file. Saving
 * onto the file the dataset was loaded from is allowed (that is how games are
 * appended to a file).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_dataset_save(const sp_dataset *ds, const char *path);

/* ------------------------------------------------------------------------ */
/* Import                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Import options. Initialise with ::SP_IMPORT_OPTIONS_INIT or
 * sp_import_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_import_options {
    uint32_t version;       /**< ::SP_IMPORT_OPTIONS_VERSION */
    float min_rating;       /**< keep games whose weaker player (BR/WR, a trailing '?' allowed) is rated at least this; 0 = no filter */
    float komi_min;         /**< keep games with komi in [komi_min, komi_max]; default -1000..1000 */
    float komi_max;         /**< upper end of the komi filter; default 1000 */
    uint32_t result_kinds;  /**< bit (1 << kind) set for each accepted ::sp_result_kind; default every kind with a winner or a draw */
    int32_t dedup;          /**< 1 (default): drop games whose move sequence is already in the dataset */
    uint64_t max_games;     /**< stop after reading this many game trees; 0 = all */
    sp_progress_fn progress;/**< called with bytes read (task "import"); NULL = the process-wide callback */
    void *progress_payload; /**< passed to @c progress */
    /** Final ownership of a game not counted on its last board (resignation,
     *  time, ...): the Monte-Carlo estimate of this many random playouts from
     *  its last position (::SP_GAME_OWNERSHIP_MONTE_CARLO), default
     *  ::SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS; 0 = the area of the last board,
     *  as before version 2. Counted games keep their counted area whatever
     *  this is. Each playout costs a few microseconds on 9x9. @since version 2 */
    uint32_t ownership_playouts;
} sp_import_options;

/** Version of sp_import_options this header describes. */
#define SP_IMPORT_OPTIONS_VERSION 2
/** Playouts of the Monte-Carlo final ownership by default (sp_import_options::ownership_playouts). */
#define SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS 64
/** Result kinds accepted by default: all but ::SP_RESULT_NONE and ::SP_RESULT_VOID. */
#define SP_IMPORT_DEFAULT_RESULTS 0xFEu
/** Default import options as an initialiser. */
#define SP_IMPORT_OPTIONS_INIT                                                                                 \
    { SP_IMPORT_OPTIONS_VERSION, 0.0f, -1000.0f, 1000.0f, SP_IMPORT_DEFAULT_RESULTS, 1, 0, NULL, NULL,       \
      SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_IMPORT_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_import_options_init(sp_import_options *opts, uint32_t version);

/**
 * What an import did. Counts add up over calls that share a report: zero it
 * (or use ::SP_IMPORT_REPORT_INIT) before the first.
 * @since 0.1
 */
typedef struct sp_import_report {
    uint32_t version;       /**< ::SP_IMPORT_REPORT_VERSION */
    uint64_t files;         /**< files read */
    uint64_t bytes;         /**< SGF bytes read (after decompression) */
    uint64_t games_read;    /**< game trees found */
    uint64_t games_added;   /**< games kept in the dataset */
    uint64_t positions_added; /**< positions (moves) of the games kept */
    uint64_t skipped[SP_SKIP_REASON_COUNT]; /**< games dropped, by ::sp_skip_reason */
    uint64_t results[SP_RESULT_KIND_COUNT]; /**< games added, by ::sp_result_kind */
} sp_import_report;

/** Version of sp_import_report this header describes. */
#define SP_IMPORT_REPORT_VERSION 1
/** An empty report as an initialiser. */
#define SP_IMPORT_REPORT_INIT { SP_IMPORT_REPORT_VERSION, 0, 0, 0, 0, 0, { 0 }, { 0 } }

/**
 * Import games from @p path: an SGF file or collection (several game trees in
 * one file), compressed with xz or gzip or not (recognised by content), or a
 * directory, searched recursively (in name order) for `*.sgf`, `*.sgf.xz`
 * and `*.sgf.gz` (other files, such as indexes, are left alone). Files are
 * decompressed as streams, so memory stays bounded whatever their size. A
 * bad game is skipped and counted in @p report; the import goes on. Keeps
 * the main line of each game tree.
 * @param ds      the dataset to add to (exclusive access)
 * @param path    file or directory, UTF-8; borrowed for the call
 * @param opts    filters and progress, or NULL for the defaults
 * @param report  counts to add to; may be NULL
 * @return SP_OK (even when games were skipped); SP_ERR_IO when a file cannot
 *         be read or a compressed stream is corrupt (games read before stay
 *         added); SP_ERR_INVALID_ARG; SP_ERR_VERSION; SP_ERR_NOMEM; SP_ERR_CANCELLED.
 * @since 0.1
 */
SP_API int sp_dataset_import(sp_dataset *ds, const char *path, const sp_import_options *opts,
                             sp_import_report *report);

/**
 * Import the game trees of SGF text in memory (@p length bytes, not
 * compressed). @p source names them in the dataset (NULL: "memory").
 * @since 0.1
 */
SP_API int sp_dataset_import_memory(sp_dataset *ds, const char *data, size_t length, const char *source,
                                    const sp_import_options *opts, sp_import_report *report);

/**
 * Append one game (its moves, komi, and the record information RE, PB, PW,
 * BR, WR, DT) as the next game id. The game's own result is taken from its
 * `RE` information when set, else from how it ended (scored when two passes
 * ended it, resignation when a player resigned). No filter applies, but
 * duplicates are refused when @p dedup is non-zero. The final ownership of
 * a game not counted on its last board is the Monte-Carlo estimate of
 * ::SP_IMPORT_DEFAULT_OWNERSHIP_PLAYOUTS playouts, as the import's default.
 * @param ds         the dataset to add to (exclusive access)
 * @param game       the game to copy; not changed
 * @param source     provenance text stored with the game; may be NULL
 * @param dedup      non-zero to refuse a move sequence already in the dataset
 * @param out_game   receives the new game id; may be NULL
 * @return SP_OK; SP_ERR_INVALID_ARG (wrong board size, no moves, setup
 *         stones, colours that do not alternate); SP_ERR_MISUSE (duplicate); SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_dataset_add_game(sp_dataset *ds, const sp_game *game, const char *source, int dedup,
                               uint64_t *out_game);

/**
 * Copy game @p game of @p src (same board size) to the end of @p dst,
 * with its result, players and source.
 * @since 0.1
 */
SP_API int sp_dataset_copy_game(sp_dataset *dst, const sp_dataset *src, uint64_t game);

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

/** Board size of the dataset's games; 0 for NULL. @since 0.1 */
SP_API int sp_dataset_board_size(const sp_dataset *ds);

/** Number of games; 0 for NULL. @since 0.1 */
SP_API uint64_t sp_dataset_game_count(const sp_dataset *ds);

/** Number of positions (moves over all games); 0 for NULL. @since 0.1 */
SP_API uint64_t sp_dataset_position_count(const sp_dataset *ds);

/** Flags of sp_dataset_game_info::flags. */
#define SP_GAME_BLACK_PROVISIONAL 1u /**< BR carried a trailing '?' */
#define SP_GAME_WHITE_PROVISIONAL 2u /**< WR carried a trailing '?' */
/** Final ownership is an estimate: the game was not counted on its last
 *  board (resignation, time, or a result that area counting of the final
 *  board does not reproduce, as under Japanese rules). Alone, the estimate is
 *  the area of the last position (files of `.spd` version 1, or
 *  sp_import_options::ownership_playouts 0); with
 *  ::SP_GAME_OWNERSHIP_MONTE_CARLO, random playouts from it. */
#define SP_GAME_OWNERSHIP_ESTIMATED 4u
/** Set with ::SP_GAME_OWNERSHIP_ESTIMATED only: the estimate is Monte-Carlo
 *  ownership, each point to the colour holding it (stone or area) in more
 *  than half of the random playouts from the last position, else nobody's.
 *  Files holding it are `.spd` version 2. @since 0.1 */
#define SP_GAME_OWNERSHIP_MONTE_CARLO 8u

/**
 * One game's summary. Initialise `version` to ::SP_DATASET_GAME_INFO_VERSION.
 * @since 0.1
 */
typedef struct sp_dataset_game_info {
    uint32_t version;        /**< ::SP_DATASET_GAME_INFO_VERSION */
    uint32_t moves;          /**< moves (passes included) = positions of the game */
    uint64_t first_position; /**< position id before its first move */
    int32_t result_kind;     /**< ::sp_result_kind */
    int32_t winner;          /**< ::SP_BLACK, ::SP_WHITE or ::SP_EMPTY */
    float margin;            /**< points of a counted result; NaN otherwise */
    float komi;              /**< points given to White */
    float black_rating;      /**< NaN when absent or not a number */
    float white_rating;      /**< NaN when absent or not a number */
    uint32_t flags;          /**< SP_GAME_* flags */
    int32_t first_color;     /**< colour of the first move */
    uint64_t key;            /**< hash of the move sequence (what deduplication compares) */
} sp_dataset_game_info;

/** Version of sp_dataset_game_info this header describes. */
#define SP_DATASET_GAME_INFO_VERSION 1

/**
 * Summary of game @p game.
 * @return SP_OK, SP_ERR_INVALID_ARG (NULL, game id out of range) or SP_ERR_VERSION.
 * @since 0.1
 */
SP_API int sp_dataset_game_info_get(const sp_dataset *ds, uint64_t game, sp_dataset_game_info *out);

/** Text fields of a game for sp_dataset_game_text(). @since 0.1 */
typedef enum sp_game_text {
    SP_TEXT_BLACK = 0,  /**< PB */
    SP_TEXT_WHITE = 1,  /**< PW */
    SP_TEXT_DATE = 2,   /**< DT */
    SP_TEXT_SOURCE = 3  /**< where the game came from: "file#ordinal" for imports */
} sp_game_text;

/**
 * Copy a text field of game @p game into @p buf (NUL-terminated; empty when absent).
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_dataset_game_text(const sp_dataset *ds, uint64_t game, int field, char *buf, size_t capacity);

/**
 * The actions of game @p game (see the file comment) into @p out.
 * @param ds         the dataset
 * @param game       game id
 * @param out        caller array of actions; may be NULL with @p capacity 0 to ask for the count
 * @param capacity   entries available at @p out
 * @param out_count  receives the number of moves (on SP_ERR_BUFFER_TOO_SMALL too); may be NULL
 * @since 0.1
 */
SP_API int sp_dataset_game_moves(const sp_dataset *ds, uint64_t game, int32_t *out, size_t capacity,
                                 size_t *out_count);

/**
 * Rebuild game @p game as a new ::sp_game after its first @p moves moves
 * (-1 for all), with komi and record information (RE, PB, PW, BR, WR, DT).
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_FORMAT (the stored moves are
 *         illegal: a crafted file), SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_dataset_game_replay(const sp_dataset *ds, uint64_t game, int moves, sp_game **out);

/**
 * Game id and move number (0-based) of position @p position.
 * @return SP_OK or SP_ERR_INVALID_ARG (out of range).
 * @since 0.1
 */
SP_API int sp_dataset_position_locate(const sp_dataset *ds, uint64_t position, uint64_t *out_game,
                                      uint32_t *out_move);

/* ------------------------------------------------------------------------ */
/* Splits                                                                   */
/* ------------------------------------------------------------------------ */

/** Subsets of a dataset's positions. @since 0.1 */
typedef enum sp_dataset_part {
    SP_PART_ALL = 0,    /**< every (kept) position */
    SP_PART_TRAIN = 1,  /**< games not in the test split */
    SP_PART_TEST = 2,   /**< games in the test split */
    SP_PART_HALF0 = 3,  /**< training games of retrieval half 0 */
    SP_PART_HALF1 = 4   /**< training games of retrieval half 1 */
} sp_dataset_part;

/**
 * How a dataset is split. Every decision depends only on the seed and the
 * game's move sequence (its key), never on the order games were added, so a
 * game keeps its side when files are appended or merged.
 * Initialise with ::SP_SPLIT_OPTIONS_INIT or sp_split_options_init().
 * @since 0.1
 */
typedef struct sp_split_options {
    uint32_t version;       /**< ::SP_SPLIT_OPTIONS_VERSION */
    uint64_t seed;          /**< default 1 */
    float test_fraction;    /**< fraction of games in the test split, default 0.05 */
    float keep_fraction;    /**< fraction of positions kept (sub-sampling), default 1; the paper kept 0.15 */
} sp_split_options;

/** Version of sp_split_options this header describes. */
#define SP_SPLIT_OPTIONS_VERSION 1
/** Default split options as an initialiser. */
#define SP_SPLIT_OPTIONS_INIT { SP_SPLIT_OPTIONS_VERSION, 1, 0.05f, 1.0f }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_SPLIT_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_split_options_init(sp_split_options *opts, uint32_t version);

/**
 * Which part game @p game belongs to: ::SP_PART_TEST, or ::SP_PART_HALF0 /
 * ::SP_PART_HALF1 for training games (each in exactly one retrieval half).
 * @param ds        the dataset
 * @param game      game id
 * @param opts      NULL for the defaults
 * @param out_part  receives the ::sp_dataset_part
 * @since 0.1
 */
SP_API int sp_dataset_game_part(const sp_dataset *ds, uint64_t game, const sp_split_options *opts, int *out_part);

/** Whether position @p position survives sub-sampling (1) or not (0). @since 0.1 */
SP_API int sp_dataset_position_kept(const sp_dataset *ds, uint64_t position, const sp_split_options *opts,
                                    int *out_kept);

/**
 * The kept position ids of @p part, in increasing order.
 * @param ds         the dataset
 * @param part       an ::sp_dataset_part
 * @param opts       the split, or NULL for the defaults
 * @param out        caller array of position ids; may be NULL with @p capacity 0 to ask for the count
 * @param capacity   entries available at @p out
 * @param out_count  receives how many there are (also on SP_ERR_BUFFER_TOO_SMALL)
 * @since 0.1
 */
SP_API int sp_dataset_positions(const sp_dataset *ds, int part, const sp_split_options *opts, uint64_t *out,
                                size_t capacity, size_t *out_count);

/* ------------------------------------------------------------------------ */
/* Neighbour metadata                                                       */
/* ------------------------------------------------------------------------ */

/**
 * Planes of a retrieval neighbour x_i (paper §2.2), each size x size floats,
 * all from the side to move at that position:
 * 0 its stones, 1 the opponent's, 2 ones when Black is to move,
 * 3 the game's outcome (+1 win, -1 loss, 0 draw or unknown) everywhere,
 * 4 final ownership of the side to move, 5 of the opponent,
 * 6 ones when that ownership is estimated (the game ended without counting;
 *   see ::SP_GAME_OWNERSHIP_ESTIMATED), 7..11 the next 5 actions as one-hot
 *   points, 12..16 ones where that action is a pass. Past the end of the game
 *   both planes of an action are zero.
 */
#define SP_NEIGHBOUR_PLANES 17
/** Future actions in the neighbour planes. */
#define SP_NEIGHBOUR_ACTIONS 5

/**
 * Write the neighbour planes of position @p position, turned by board
 * symmetry @p symmetry (0..7, see sp_symmetry_point(); 0 for none).
 * @param ds        the dataset
 * @param position  position id
 * @param symmetry  0..7
 * @param out       caller array of ::SP_NEIGHBOUR_PLANES x size x size floats
 * @param capacity  floats at @p out; needs SP_NEIGHBOUR_PLANES * size * size
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_BUFFER_TOO_SMALL, SP_ERR_FORMAT, SP_ERR_NOMEM.
 * Thread-safe on a shared dataset.
 * @since 0.1
 */
SP_API int sp_dataset_neighbour_planes(const sp_dataset *ds, uint64_t position, int symmetry, float *out,
                                       size_t capacity);

/**
 * Final area ownership of game @p game (size*size bytes of ::sp_color), as
 * stored at import: Tromp-Taylor area of its last position for a counted
 * game, else the estimate its flags name (::SP_GAME_OWNERSHIP_ESTIMATED,
 * ::SP_GAME_OWNERSHIP_MONTE_CARLO).
 * @since 0.1
 */
SP_API int sp_dataset_game_ownership(const sp_dataset *ds, uint64_t game, uint8_t *out, size_t capacity);

/* ------------------------------------------------------------------------ */
/* Training batches                                                         */
/* ------------------------------------------------------------------------ */

/**
 * Draws training positions uniformly from a part of a dataset and fills
 * batches. Reproducible: the n-th batch depends only on the seed, the
 * dataset and n, not on the thread count.
 * Thread rule: one thread at a time per sampler (it runs its own workers).
 * @since 0.1
 */
typedef struct sp_sampler sp_sampler;

/**
 * Sampler options. Initialise with ::SP_SAMPLER_OPTIONS_INIT or
 * sp_sampler_options_init(); fields are only ever appended.
 * @since 0.1
 */
typedef struct sp_sampler_options {
    uint32_t version;        /**< ::SP_SAMPLER_OPTIONS_VERSION */
    uint64_t seed;           /**< default 1 */
    int32_t part;            /**< ::sp_dataset_part to draw from, default ::SP_PART_TRAIN */
    int32_t history;         /**< past positions in the planes (sp_game_planes()), default 8 */
    int32_t unroll;          /**< K: future steps, default 5 */
    int32_t symmetries;      /**< 1 (default): a random board symmetry per sample; 0: none */
    int32_t threads;         /**< worker threads, default 1 */
    sp_split_options split;  /**< how parts are defined */
    float min_rating;        /**< draw only from games whose weaker player (BR/WR) is rated at least this,
                                  as sp_import_options::min_rating; 0 (default) = every game. @since version 2 */
    const uint64_t *positions; /**< NULL (default): every position of the part the filters keep; else draw
                                    only these position ids (any order, repeats counted once) of those, e.g.
                                    the positions a `.spn` neighbour file holds; the sampler copies them.
                                    @since version 3 */
    uint64_t position_count; /**< entries at @c positions. @since version 3 */
} sp_sampler_options;

/** Version of sp_sampler_options this header describes. */
#define SP_SAMPLER_OPTIONS_VERSION 3
/** Default sampler options as an initialiser. */
#define SP_SAMPLER_OPTIONS_INIT                                                                              \
    { SP_SAMPLER_OPTIONS_VERSION, 1, SP_PART_TRAIN, 8, 5, 1, 1, SP_SPLIT_OPTIONS_INIT, 0.0f, NULL, 0 }

/**
 * Fill @p opts with the defaults of the fields that @p version has and set its
 * version; nothing past those fields is written. Pass ::SP_SAMPLER_OPTIONS_VERSION:
 * a program built against an older header passes that header's smaller
 * value and its shorter struct is filled (see docs/architecture.md).
 * @return SP_OK; SP_ERR_INVALID_ARG (opts NULL or version 0);
 *         SP_ERR_VERSION (@p version newer than this library's).
 * @since 0.1
 */
SP_API int sp_sampler_options_init(sp_sampler_options *opts, uint32_t version);

/**
 * Create a sampler over @p ds, which it borrows (it must outlive the sampler
 * and not change meanwhile).
 * @return SP_OK; SP_ERR_INVALID_ARG (bad options, a position id out of
 *         range, or the part holds no position); SP_ERR_VERSION; SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_sampler_create(sp_sampler **out, const sp_dataset *ds, const sp_sampler_options *opts);

/** Release a sampler; NULL is a no-op. @since 0.1 */
SP_API void sp_sampler_free(sp_sampler *s);

/** Positions the sampler draws from. @since 0.1 */
SP_API uint64_t sp_sampler_position_count(const sp_sampler *s);

/**
 * Caller-owned arrays for one batch of @p size samples; with A = size*size+1
 * actions, P = planes (sp_go_plane_count(history)), K = unroll and
 * S = size*size. Any pointer but `planes` may be NULL to skip that output.
 * @since 0.1
 */
typedef struct sp_batch {
    uint32_t version;        /**< ::SP_BATCH_VERSION */
    int32_t size;            /**< samples in the batch */
    float *planes;           /**< size x P x S observation planes */
    int32_t *actions;        /**< size x K actions a_t..a_{t+K-1} to unroll; past the end a random action */
    float *policy;           /**< size x (K+1) x A targets: one-hot a_{t+k}, uniform past the end */
    float *value;            /**< size x (K+1) outcome from the side to move at t+k: +1, -1, 0 */
    uint8_t *mask;           /**< size x (K+1): 1 while t+k is a position of the game */
    uint64_t *positions;     /**< size position ids */
    int32_t *symmetry;       /**< size symmetries applied */
} sp_batch;

/** Version of sp_batch this header describes. */
#define SP_BATCH_VERSION 1

/**
 * Fill the next batch. Planes and actions are turned by the same symmetry.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_VERSION, SP_ERR_FORMAT (a stored
 *         game is illegal: a crafted file), SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_sampler_next(sp_sampler *s, sp_batch *batch);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_DATASET_H */
