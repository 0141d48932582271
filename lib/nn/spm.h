/* The `.spm` model file: a header (magic, format version, endianness mark,
 * section count, header CRC) and a table of named sections, each with its
 * offset, size and CRC-32. The network toolkit stores parameters and
 * optimizer state as sections; the model adds its own (architecture, step).
 * The reader checks everything before anyone looks at a byte of a section. */
#ifndef SP_NN_SPM_H
#define SP_NN_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "optim.h"

#define SP__SPM_VERSION 1
#define SP__SPM_TAG_SIZE 8
#define SP__SPM_MAX_SECTIONS 256

typedef struct sp__spm_section {
    char tag[SP__SPM_TAG_SIZE + 1];
    const unsigned char *data;
    size_t size;
} sp__spm_section;

/* Writer: sections are borrowed until sp__spm_write returns. */
typedef struct sp__spm_writer {
    sp__spm_section sections[SP__SPM_MAX_SECTIONS];
    unsigned char *owned[SP__SPM_MAX_SECTIONS];
    size_t count;
} sp__spm_writer;

void sp__spm_writer_init(sp__spm_writer *w);
/* Add a section; with take_ownership the writer frees data when released. */
int sp__spm_add(sp__spm_writer *w, const char *tag, const void *data, size_t size, int take_ownership);
/* Write atomically (temporary name + rename). */
int sp__spm_write(const sp__spm_writer *w, const char *path);
/* The whole file in memory (malloc'ed), for tests and fuzz seeds. */
int sp__spm_serialise(const sp__spm_writer *w, unsigned char **out, size_t *out_size);
void sp__spm_writer_release(sp__spm_writer *w);

/* Reader over a caller's buffer (sections point into it). */
typedef struct sp__spm_reader {
    sp__spm_section sections[SP__SPM_MAX_SECTIONS];
    size_t count;
} sp__spm_reader;

/* SP_ERR_FORMAT (or SP_ERR_VERSION for a newer format) with the reason. */
int sp__spm_parse(sp__spm_reader *r, const void *data, size_t size);
const sp__spm_section *sp__spm_find(const sp__spm_reader *r, const char *tag);

/* Parameters ("params") and optimizer state ("optim") as sections. */
int sp__params_save(const sp__params *ps, const sp__optim *opt, sp__spm_writer *w);
/* Values must match the store's names and shapes exactly; nothing is
 * changed unless the whole file checks out. opt may be NULL (the optimizer
 * section is then ignored); when given and the file has none, the optimizer
 * is left as it is and *has_optim (if given) is 0. */
int sp__params_load(sp__params *ps, sp__optim *opt, const sp__spm_reader *r, int *has_optim);

/* Convenience: whole files. */
int sp__params_save_file(const sp__params *ps, const sp__optim *opt, const char *path);
int sp__params_load_file(sp__params *ps, sp__optim *opt, const char *path);

#endif
