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
 * @param out           receives the game; NULL on failure
 * @param out_consumed  bytes used up to the end of this game tree; may be NULL
 * @return SP_OK; SP_ERR_FORMAT for malformed SGF (sp_last_error() gives the
 *         byte offset); SP_ERR_ILLEGAL_MOVE when a move breaks the rules (with
 *         its offset); SP_ERR_UNSUPPORTED for non-Go games or setup after the
 *         first move; SP_ERR_INVALID_ARG; SP_ERR_NOMEM.
 *         On SP_ERR_FORMAT with no game left in the data, *out_consumed is @p length.
 * Thread-safe (no shared state).
 * @since 0.1
 */
SP_API int sp_sgf_parse(sp_game **out, const char *data, size_t length, size_t *out_consumed);

/**
 * Read the first game of the SGF file at @p path (UTF-8).
 * @return as sp_sgf_parse(), plus SP_ERR_IO when the file cannot be read.
 * @since 0.1
 */
SP_API int sp_sgf_load(sp_game **out, const char *path);

/**
 * Write @p game as SGF FF[4] into @p buf with a terminating NUL.
 * @param out_length  receives the text length without the NUL; on
 *                    SP_ERR_BUFFER_TOO_SMALL the capacity needed (NUL included). May be NULL.
 * @return SP_OK, SP_ERR_INVALID_ARG or SP_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SP_API int sp_sgf_write(const sp_game *game, char *buf, size_t capacity, size_t *out_length);

/**
 * Save @p game as an SGF file at @p path. The file is written under a
 * temporary name and renamed, so @p path never holds a partial file.
 * @return SP_OK, SP_ERR_INVALID_ARG, SP_ERR_IO or SP_ERR_NOMEM.
 * @since 0.1
 */
SP_API int sp_sgf_save(const sp_game *game, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SEMIPARAM_SGF_H */
