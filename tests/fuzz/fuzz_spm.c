/* Fuzz the `.spm` model file reader and the parameter/optimizer loader
 * against a small fixed network (a tower of 2 planes, 2 channels, 1 block,
 * and a dense head). An input starting with 'S' is a whole file; any other
 * first byte is followed by a 2-byte little-endian length and the payloads
 * of the "params" and "optim" sections, so that the section decoders are
 * reached without the fuzzer having to forge checksums. The seed corpus has
 * valid inputs of both kinds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready = 0;
    if (!ready) {
        if (setup())
            abort();
        ready = 1;
    }
    sp__spm_reader r;
    int rc;
    if (size > 0 && data[0] == 'S') {
        rc = sp__spm_parse(&r, data, size);
    } else {
        size_t split = size >= 3 ? (size_t)data[1] | (size_t)data[2] << 8 : 0;
        size_t rest = size >= 3 ? size - 3 : 0;
        split = split < rest ? split : rest;
        memset(&r, 0, sizeof r);
        strcpy(r.sections[0].tag, "params");
        r.sections[0].data = data + 3;
        r.sections[0].size = split;
        strcpy(r.sections[1].tag, "optim");
        r.sections[1].data = data + 3 + split;
        r.sections[1].size = rest - split;
        r.count = size >= 3 ? 2 : 0;
        rc = SP_OK;
    }
    if (rc == SP_OK) {
        sp__optim opt = { .step = 0 };
        sp__optim_defaults(&opt.config, SP__OPT_SGD);
        int has = 0;
        sp__params_load(&params, &opt, &r, &has);
    }
    return 0;
}
