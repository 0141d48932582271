/* Fuzz the .spd loader: whatever the bytes, loading fails cleanly or gives a
 * dataset every reader can walk without reading out of bounds. Built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the loader skips its checksum
 * comparisons so that the fuzzer reaches the structural checks behind them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "semiparam/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t *copy = malloc(size + 8); /* the loader wants 8-byte alignment */
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    sp_dataset *ds;
    if (sp_dataset_load_memory(&ds, copy, size) != SP_OK) {
        free(copy);
        return 0;
    }
    uint64_t games = sp_dataset_game_count(ds), positions = sp_dataset_position_count(ds);
    int size_ = sp_dataset_board_size(ds);
    for (uint64_t g = 0; g < games && g < 64; g++) {
        sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
        if (sp_dataset_game_info_get(ds, g, &info) != SP_OK)
            abort();
        char text[8192];
        for (int t = 0; t < 4; t++)
            if (sp_dataset_game_text(ds, g, t, text, sizeof text) != SP_OK)
                abort();
        uint8_t own[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
        if (sp_dataset_game_ownership(ds, g, own, sizeof own) != SP_OK)
            abort();
        sp_game *replay;
        if (sp_dataset_game_replay(ds, g, -1, &replay) == SP_OK)
            sp_game_free(replay);
    }
    float *planes = malloc((size_t)SP_NEIGHBOUR_PLANES * (size_t)(size_ * size_) * sizeof(float));
    for (uint64_t p = 0; planes && p < positions && p < 64; p += 7)
        sp_dataset_neighbour_planes(ds, p, (int)(p % 8), planes, (size_t)SP_NEIGHBOUR_PLANES * (size_t)(size_ * size_));
    free(planes);
    sp_sampler *s;
    sp_sampler_options o = SP_SAMPLER_OPTIONS_INIT;
    o.part = SP_PART_ALL;
    if (sp_sampler_create(&s, ds, &o) == SP_OK) {
        enum { B = 4 };
        int area = size_ * size_;
        sp_batch b = { .version = SP_BATCH_VERSION, .size = B };
        b.planes = malloc((size_t)B * 18 * (size_t)area * sizeof(float));
        b.policy = malloc((size_t)B * 6 * (size_t)(area + 1) * sizeof(float));
        b.actions = malloc((size_t)B * 5 * sizeof(int32_t));
        b.value = malloc((size_t)B * 6 * sizeof(float));
        if (b.planes && b.policy && b.actions && b.value)
            sp_sampler_next(s, &b);
        free(b.planes);
        free(b.policy);
        free(b.actions);
        free(b.value);
        sp_sampler_free(s);
    }
    sp_dataset_free(ds);
    free(copy);
    return 0;
}
