/* What the SGF reader and writer share, so that whatever the writer emits the
 * reader reads back to the same game. */
#ifndef SP_GO_SGF_INTERNAL_H
#define SP_GO_SGF_INTERNAL_H

#include <stddef.h>

/* Whether property `id` (upper-case letters) is kept as record information:
 * in the root node anything that is not a rule, move, setup, markup,
 * annotation or timing property; in later nodes only the FF[4] game-info set. */
int sp__sgf_is_info_key(const char *id, int root_node);

/* Parse an SGF Real ("-6.5", "7", "0.25"; surrounding blanks allowed) without
 * the C locale's help. 0, or -1 when malformed. Huge values come out as
 * +-HUGE_VAL-like magnitudes for the caller to range-check. */
int sp__sgf_parse_real(const char *s, size_t n, double *out);

#endif
