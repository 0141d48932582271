/* Key files (.spk) of `sp-index embed`: being written (issue 14). */
#ifndef SP_INDEX_KEYS_FILE_H
#define SP_INDEX_KEYS_FILE_H
#endif
