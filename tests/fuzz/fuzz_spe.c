/* Fuzz the `.spe` embedder loader: any bytes are refused cleanly or give an
 * embedder that describes itself consistently and embeds a position. Each
 * input is loaded twice, with no model (a raw embedder's way) and with a
 * tiny model (a learned one's: the model the seed corpus's learned file was
 * made from, so the loader gets past the model check to the PCA). Built with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (tests/fuzz/meson.build), as the
 * .spi loader is, so that a loader which skips its checksum there lets
 * mutations reach the checks behind it.
 *
 * The public loader reads the input through a memfd's /proc path, so the
 * file-reading part is fuzzed too (it hands the bytes to
 * sp__embedder_load_bytes, which skips the CRC in this build).
 *
 * Seed corpus (tests/fuzz/corpus/spe/): raw.spe, a raw embedder of 3x3
 * boards with history 1 (36 floats in, 3 keys, FAISS's PCA), and
 * learned.spe, the tiny model's "repr" layer (27 floats in, 2 keys, the
 * compact PCA: A and m, so mutations reach its checks); both fitted with
 * semiparam.embed.Embedder.fit (threads=1, default seed) on 20 random 3x3
 * games (sp.Rng(1), 3 + i % 5 moves each), learned.spe with the model below
 * built by semiparam.model.Model with the same fields and nn seed.
 * faiss-leak.spe is an earlier finding: raw.spe with its PCA's transform
 * damaged, which FAISS read partly and leaked before the layout check
 * (lib/embed/pca_layout.c) refused such bytes up front. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "semiparam/embed.h"
#include "semiparam/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];
static sp_model *model;

/* The seed corpus's model: board 3, one past position, 3 channels, seed 1.
 * Changing it changes its content hash, and learned.spe no longer loads. */
static int setup(void)
{
    sp_model_options o = SP_MODEL_OPTIONS_INIT;
    o.board_size = 3;
    o.history = 1;
    o.channels = 3;
    o.repr_blocks = 1;
    o.dyn_blocks = 1;
    o.policy_channels = 2;
    o.value_channels = 1;
    o.value_hidden = 4;
    sp_nn_options nn = SP_NN_OPTIONS_INIT;
    nn.backend = SP_BACKEND_CPU;
    nn.threads = 1;
    nn.seed = 1;
    if (sp_model_create(&model, &o, &nn) != SP_OK)
        return -1;
    fd = memfd_create("fuzz_spe", 0);
    if (fd < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

/* A loaded embedder must agree with itself and embed the empty board of its
 * size (and all-zero planes): a failure here is a loader that let through
 * what the embedder cannot use. */
static void use(sp_embedder *e)
{
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    if (sp_embedder_describe(e, &info) != SP_OK)
        abort();
    const sp_pca *pca = sp_embedder_pca(e);
    if (info.id == 0 || info.id != sp_embedder_id(e) || info.dim != sp_embedder_dim(e) || info.dim == 0 ||
        info.dim != sp_pca_dim_out(pca) || info.input_dim != sp_pca_dim_in(pca))
        abort();
    if (info.board_size < 2 || info.board_size > 19 || info.history < 1 || info.history > 16)
        abort();
    if (info.kind == SP_EMBEDDER_RAW &&
        info.input_dim != (uint32_t)sp_go_plane_count(info.history) * (uint32_t)(info.board_size * info.board_size))
        abort();
    sp_game_options go = SP_GAME_OPTIONS_INIT;
    go.board_size = info.board_size;
    sp_game *g;
    if (sp_game_create(&g, &go) != SP_OK)
        abort();
    size_t planes = (size_t)sp_go_plane_count(info.history) * (size_t)(info.board_size * info.board_size);
    float *x = calloc(planes, sizeof *x), *keys = calloc(2 * (size_t)info.dim, sizeof *keys);
    if (!x || !keys)
        abort();
    const sp_game *games[1] = { g };
    if (sp_embedder_embed_games(e, games, 1, keys) != SP_OK || sp_embedder_embed_planes(e, x, 1, keys + info.dim) != SP_OK)
        abort();
    free(x);
    free(keys);
    sp_game_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0 && setup() != 0)
        abort();
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    sp_model *with[2] = { NULL, model };
    for (int i = 0; i < 2; i++) {
        sp_embedder *e = NULL;
        if (sp_embedder_load(&e, path, with[i]) == SP_OK) {
            use(e);
            sp_embedder_free(e);
        } else if (e) {
            abort();  /* a failed load returns no handle */
        }
    }
    return 0;
}
