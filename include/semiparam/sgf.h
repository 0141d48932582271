/**
 * @file sgf.h
 * @brief Reading and writing games in SGF (FF[4]): board size, komi, record
 *        information, setup stones and the main line of moves.
 */
#ifndef SEMIPARAM_SGF_H
#define SEMIPARAM_SGF_H

#include "semiparam/go.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse the first game tree found in @p data (@p length bytes, need not be
 * NUL-terminated) into a new game: SZ, KM, PL, AB/AW/AE setup, B/W moves
 * (pass as `[]`, or `[tt]` on boards up to 19x19) along the main line (the
 * first variation at every branch), and the other root properties as record
 * information (sp_game_info()). Text before the first '(' is skipped, so a
 * collection of games is read by calling again at @p data + *out_consumed.
 *
 * Details:
 * - Defaults are SGF's: no SZ means 19x19, no KM means komi 0. SZ may be
 *   "9" or "9:9"; only square boards of 2..19 are supported. GM, when
 *   present, must be 1. FF and CA are read but not kept (values are kept as
 *   the bytes found; the writer declares UTF-8).
 * - Record information: every root property that is not a rule, move,
 *   setup, markup, annotation or timing property (PB, PW, BR, WR, RE, DT,
 *   GN, EV, RU, HA, ... and unknown ones such as DTX), plus the FF[4]
 *   game-information properties found in later nodes of the main line.
 *   Values are unescaped as SGF text: an escaped line break is removed,
 *   other white space becomes a space (GC keeps its line breaks). Only the
 *   first value of a property is kept; identifiers longer than 8 letters
 *   and all other properties are ignored.
 * - FF[3] identifiers with lower-case letters are read without them
 *   (`AddBlack` is `AB`).
 * - Moves are played with sp_game_play_as() in the colour given, so one
 *   colour may move twice. Two passes in a row end the game: a move after
 *   them is illegal. A resignation is no SGF move (RE states it), so none is
 *   ever played.
 * - Within a node, AE is applied before AB/AW, then PL, then the move.
 *
 * Error messages say where, counted from @p data: "line 3, column 7 (byte 123): ...".
 *
 * @param out           receives the game; NULL on failure
 * @param data          SGF text, borrowed for the call
 * @param length        bytes at @p data
 * @param out_consumed  bytes used up to and including the ')' that closes
 *                      this game tree; may be NULL. On failure: the end of
 *                      the failed tree when its brackets balance (so a loop
 *                      over a collection can go on past a bad game), else
 *                      @p length. Greater than 0 whenever @p length is.
 * @return SP_OK; SP_ERR_FORMAT for malformed SGF (sp_last_error() gives the
 *         byte offset); SP_ERR_ILLEGAL_MOVE when a move or the setup breaks
 *         the rules (with its offset); SP_ERR_UNSUPPORTED for non-Go games,
 *         unsupported board sizes or setup (AB/AW/AE/PL) after the first
 *         move; SP_ERR_INVALID_ARG; SP_ERR_NOMEM.
 *         On SP_ERR_FORMAT with no game left in the data, *out_consumed is @p length.
 * Thread-safe (no shared state).
 * @since 0.1
 */
SP_API int sp_sgf_parse(sp_game **out, const char *data, size_t length, size_t *out_consumed);

/**
 * Read the first game of the SGF file at @p path (UTF-8), as sp_sgf_parse().
 * @param out   receives the game; NULL on failure
 * @param path  file name, UTF-8; borrowed for the call
 * @return as sp_sgf_parse(), plus SP_ERR_IO when the file cannot be read.
 * Thread-safe.
 * @since 0.1
 */
SP_API int sp_sgf_load(sp_game **out, const char *path);

/**
 * Write @p game as SGF FF[4] into @p buf with a terminating NUL:
 * `FF[4]GM[1]CA[UTF-8]`, SZ, KM (the fewest decimals that read back to the
 * same float, never locale-dependent), the record information (`]` and `\`
 * escaped), `PL[W]` when White was to move in the initial position, AB/AW
 * for its stones, then one node per move (pass as `[]`). A final
 * resignation is not written as a move; RE says it instead (`W+R` or `B+R`
 * is added when the game has no RE). sp_sgf_parse() reads the text back to
 * the same size, komi, initial position, moves and information (simple-text
 * information containing line breaks or tabs reads back with spaces).
 *
 * @param game        the game to write; not changed
 * @param buf         the output; may be NULL when @p capacity is 0 (to ask
 *                    for the size). Emptied ("") on SP_ERR_BUFFER_TOO_SMALL.
 * @param capacity    bytes available at @p buf
 * @param out_length  receives the text length without the NUL; on
 *                    SP_ERR_BUFFER_TOO_SMALL the capacity needed (NUL included). May be NULL.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * Thread rule: as for the game (read only).
 * @since 0.1
 */
SP_API int sp_sgf_write(const sp_game *game, char *buf, size_t capacity, size_t *out_length);

/**
 * Save @p game as an SGF file at @p path, in the form of sp_sgf_write(). The
 * file is written under a temporary name and renamed, so @p path never
 * holds a partial file.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO or SP_ERR_NOMEM.
 * Thread rule: as for the game (read only).
 * @since 0.1
 */
SP_API int sp_sgf_save(const sp_game *game, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_SGF_H */
