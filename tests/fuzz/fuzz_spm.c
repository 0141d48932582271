/* Fuzz the `.spm` model file reader, the parameter/optimizer loader and
 * the model loader (sp_model_load's parsing). The first byte picks:
 * - 'S': a whole file, parsed, then loaded into a small fixed network (a
 *   tower of 2 planes, 2 channels, 1 block, and a dense head) and, as a
 *   model file, through sp__model_load_bytes;
 * - 'M': a 2-byte little-endian length, then the payloads of the "model"
 *   (architecture) and "params" sections of a model file, loaded through
 *   sp__model_load_reader, so the architecture record and the model's
 *   parameter checks are reached without forging checksums;
 * - anything else: a 2-byte length and the "params" and "optim" payloads
 *   for the fixed network.
 * Models whose architecture is larger than a few thousand parameters are
 * read but not built, so an input cannot ask for gigabytes. The seed
 * corpus has valid inputs of every kind (tiny-model.spm, tiny-model.bin,
 * and a retrieval model's format-2 record: tiny-retrieval.spm). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "nn/spm.h"
#include "nn/tower.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sp__nn *nn;
static sp__params params;
static sp__tower tower;
static sp__linear head;

static int setup(void)
{
    sp_nn_options o = SP_NN_OPTIONS_INIT;
    o.backend = SP_BACKEND_CPU;
    o.threads = 1;
    if (sp__nn_create(&nn, &o))
        return -1;
    sp__params_setup(&params, nn);
    if (sp__tower_setup(&tower, &params, "tower", 2, 2, 1) || sp__dense_setup(&head, &params, "head", 2, 3, 3, 3, 1))
        return -1;
    return sp__params_initialise(&params, 1);
}

/* Two sections from one input: a 2-byte length, then both payloads. */
static void split_sections(sp__spm_reader *r, const uint8_t *data, size_t size, const char *first, const char *second)
{
    size_t split = size >= 3 ? (size_t)data[1] | (size_t)data[2] << 8 : 0;
    size_t rest = size >= 3 ? size - 3 : 0;
    split = split < rest ? split : rest;
    memset(r, 0, sizeof *r);
    strcpy(r->sections[0].tag, first);
    r->sections[0].data = data + 3;
    r->sections[0].size = split;
    strcpy(r->sections[1].tag, second);
    r->sections[1].data = data + 3 + split;
    r->sections[1].size = rest - split;
    r->count = size >= 3 ? 2 : 0;
}

/* Load r as a model when its architecture is small enough to build. */
static void load_model(const sp__spm_reader *r)
{
    sp_model_options o;
    if (sp__model_read_options(r, &o) != SP_OK)
        return;
    if (o.board_size > 9 || o.channels > 8 || o.repr_blocks + o.dyn_blocks > 4 || o.policy_channels > 4 ||
        o.value_channels > 4 || o.value_hidden > 32 || o.neighbours > 4 ||
        (o.neighbours > 0 && o.neighbour_blocks > 2))
        return;
    sp_nn_options cpu = SP_NN_OPTIONS_INIT;
    cpu.backend = SP_BACKEND_CPU;
    cpu.threads = 1;
    sp_model *m = NULL;
    if (sp__model_load_reader(&m, r, &cpu) == SP_OK && !m)
        abort();
    sp_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready = 0;
    if (!ready) {
        if (setup())
            abort();
        ready = 1;
    }
    sp__spm_reader r;
    int rc = SP_OK;
    if (size > 0 && data[0] == 'S') {
        rc = sp__spm_parse(&r, data, size);
        if (rc == SP_OK)
            load_model(&r);
    } else if (size > 0 && data[0] == 'M') {
        split_sections(&r, data, size, "model", "params");
        load_model(&r);
        return 0;
    } else {
        split_sections(&r, data, size, "params", "optim");
    }
    if (rc == SP_OK) {
        sp__optim opt = { .step = 0 };
        sp__optim_defaults(&opt.config, SP__OPT_SGD);
        int has = 0;
        sp__params_load(&params, &opt, &r, &has);
    }
    return 0;
}
