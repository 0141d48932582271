/* Neighbours found at evaluation time (see eval_neighbours.h): the checks
 * name both sides of every mismatch; the search is the training's
 * (sp_retriever_precompute: the other half, or any key of another game),
 * so the file reads as one sp-index precompute writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_index.h"
#include "eval_neighbours.h"
#include "index/index_util.h"

/* The temporary .spn and its directory ("" when none). */
static char temporary_dir[4096], temporary_file[4200];

void eval_neighbours_remove_temporary(void)
{
    if (!temporary_dir[0])
        return;
    if (unlink(temporary_file) && errno != ENOENT)
        fprintf(stderr, "sp-eval: warning: cannot remove %s: %s\n", temporary_file, strerror(errno));
    if (rmdir(temporary_dir))
        fprintf(stderr, "sp-eval: warning: cannot remove %s: %s\n", temporary_dir, strerror(errno));
    temporary_dir[0] = '\0';
}

/* A directory of its own under $TMPDIR for the .spn: the library writes it
 * through a temporary name beside it and a rename. */
static int make_temporary(const char **path)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(temporary_dir, sizeof temporary_dir, "%s/sp-eval.XXXXXX", tmp) >= (int)sizeof temporary_dir) {
        fprintf(stderr, "sp-eval: TMPDIR is too long\n");
        temporary_dir[0] = '\0';
        return 1;
    }
    if (!mkdtemp(temporary_dir)) {
        fprintf(stderr, "sp-eval: cannot make a temporary directory in %s: %s\n", tmp, strerror(errno));
        temporary_dir[0] = '\0';
        return 1;
    }
    snprintf(temporary_file, sizeof temporary_file, "%s/neighbours.spn", temporary_dir);
    static int registered;
    if (!registered)
        registered = !atexit(eval_neighbours_remove_temporary);
    *path = temporary_file;
    return 0;
}

static int model_neighbours(const sp_model *m)
{
    sp_model_options o;
    sp_model_options_init(&o, SP_MODEL_OPTIONS_VERSION);
    return sp_model_get_options(m, &o) == SP_OK ? o.neighbours : 0;
}

/* 1, saying so, when the model was trained on another embedder's neighbours. */
static int not_the_models_embedder(const eval_args *a, const sp_model *m, const sp_embedder *e)
{
    uint64_t id = sp_embedder_id(e), model_id = sp_model_embedder_id(m);
    if (!model_id || id == model_id)
        return 0;
    fprintf(stderr, "sp-eval: %s was trained on neighbours of embedder %016llx, the embedder %s is %016llx\n",
            a->model, (unsigned long long)model_id, a->embedder ? a->embedder : a->pca, (unsigned long long)id);
    return 1;
}

/* The embedder's id against the index's and the model's; the model's
 * against its own N (sp_model_check_retrieval) last. */
static int check_ids(const eval_args *a, const sp_model *m, const sp_embedder *e, const sp_retriever *r)
{
    const char *emb = a->embedder ? a->embedder : a->pca;
    uint64_t id = sp_embedder_id(e), index_id = sp_retriever_embedder_id(r);
    if (id != index_id) {
        fprintf(stderr, "sp-eval: the embedder %s (id %016llx) did not make the keys of %s (embedder %016llx)\n", emb,
                (unsigned long long)id, a->set_name, (unsigned long long)index_id);
        return 1;
    }
    if (not_the_models_embedder(a, m, e))
        return 1;
    if (sp_embedder_dim(e) != sp_retriever_dim(r)) {
        fprintf(stderr, "sp-eval: %s makes keys of %u floats, %s holds keys of %u\n", emb, sp_embedder_dim(e),
                a->set_name, sp_retriever_dim(r));
        return 1;
    }
    int rc = sp_model_check_retrieval(m, id, model_neighbours(m));
    if (rc) {
        fprintf(stderr, "sp-eval: %s: %s (%s)\n", a->model, sp_last_error(), sp_status_str(rc));
        return 1;
    }
    return 0;
}

/* N against what the index can give each position: every key of a one-half
 * index, the smaller half of a two-half one (a position's neighbours come
 * from the half not holding its game). */
static int check_capacity(const eval_args *a, const sp_retriever *r, int neighbours)
{
    uint64_t keys = sp_retriever_halves(r) == 2
                        ? (sp_retriever_half_count(r, 0) < sp_retriever_half_count(r, 1) ? sp_retriever_half_count(r, 0)
                                                                                         : sp_retriever_half_count(r, 1))
                        : sp_retriever_count(r);
    if ((uint64_t)neighbours <= keys)
        return 0;
    fprintf(stderr, "sp-eval: %s reads %d neighbours, but %s can give at most %llu (%s)\n", a->model, neighbours,
            a->set_name, (unsigned long long)keys, sp_retriever_halves(r) == 2 ? "its smaller half" : "its keys");
    return 1;
}

/* The index's ids must be positions of `ds`: a few searches' neighbours
 * are located in the dataset and their games compared with the index's.
 * (An index of another dataset would have the model read the wrong
 * positions' planes, or ids past the dataset.) */
static int check_same_dataset(const eval_args *a, const sp_retriever *r, const sp_dataset *ds, const float *keys,
                              uint64_t n, const sp_retriever_query *q, uint32_t k)
{
    uint64_t count = n < 64 ? n : 64;
    uint64_t *ids = malloc(count * k * sizeof *ids);
    uint32_t *games = malloc(count * k * sizeof *games);
    sp_retriever_query all = *q;
    all.exclude = SP_RETRIEVER_EXCLUDE_NONE;
    int rc = !ids || !games ? SP_ERR_NOMEM : sp_retriever_search(r, keys, count, sp_retriever_dim(r), k, &all, ids,
                                                                 NULL, games);
    int status = 0;
    if (rc) {
        fprintf(stderr, "sp-eval: searching %s: %s (%s)\n", a->set_name, sp_last_error(), sp_status_str(rc));
        status = 1;
    }
    for (uint64_t i = 0; i < count * k && !status; i++) {
        uint64_t game;
        uint32_t move;
        if (ids[i] == SP_RETRIEVER_NO_ID)
            continue;
        if (sp_dataset_position_locate(ds, ids[i], &game, &move) != SP_OK) {
            fprintf(stderr, "sp-eval: %s holds position %llu, past the %llu positions of %s: an index of another "
                            "dataset\n", a->set_name, (unsigned long long)ids[i],
                    (unsigned long long)sp_dataset_position_count(ds), a->dataset);
            status = 1;
        } else if (game != games[i]) {
            fprintf(stderr, "sp-eval: %s holds position %llu as one of game %u, but in %s it is of game %llu: an index "
                            "of another dataset\n", a->set_name, (unsigned long long)ids[i], games[i], a->dataset,
                    (unsigned long long)game);
            status = 1;
        }
    }
    free(ids);
    free(games);
    return status;
}

/* Keys of the positions, the search into `path`. */
static int search(const eval_args *a, const sp_embedder *e, const sp_retriever *r, const sp_dataset *ds,
                  const uint64_t *positions, uint64_t n, uint32_t k, const char *path)
{
    uint32_t dim = sp_embedder_dim(e);
    float *keys = malloc((n ? n : 1) * dim * sizeof *keys);
    uint32_t *games = malloc((n ? n : 1) * sizeof *games);
    if (!keys || !games) {
        free(keys);
        free(games);
        fprintf(stderr, "sp-eval: out of memory for %llu keys\n", (unsigned long long)n);
        return 1;
    }
    sp_retriever_query q;
    sp_retriever_query_init(&q, SP_RETRIEVER_QUERY_VERSION);
    q.embedder_id = sp_embedder_id(e);
    q.nprobe = a->nprobe;
    q.rerank = a->rerank;
    q.threads = (uint32_t)a->threads;
    int status = 0, rc = sp_embedder_embed_positions(e, ds, positions, n, keys, games);
    if (rc) {
        fprintf(stderr, "sp-eval: embedding %llu positions: %s (%s)\n", (unsigned long long)n, sp_last_error(),
                sp_status_str(rc));
        status = 1;
    }
    if (!status)
        status = check_same_dataset(a, r, ds, keys, n, &q, k);
    if (!status && (rc = sp_retriever_precompute(r, keys, positions, games, n, dim, k, &q, path)) != SP_OK) {
        fprintf(stderr, "sp-eval: searching %s: %s (%s)\n", a->set_name, sp_last_error(), sp_status_str(rc));
        status = 1;
    }
    free(keys);
    free(games);
    return status;
}

/* The index given, or one built now: the model's embedder id is checked
 * before the work of building (check_ids() checks a loaded index's). */
static sp_retriever *open_retrieval_set(const eval_args *a, const sp_model *model, const sp_dataset *ds,
                                        const sp_embedder *e, train_progress *progress)
{
    sp_retriever *r = NULL;
    if (a->index) {
        sp_retriever_options ro;
        sp_retriever_options_init(&ro, SP_RETRIEVER_OPTIONS_VERSION);
        ro.threads = (uint32_t)a->threads;
        int rc = sp_retriever_load(&r, a->index, SP_RETRIEVER_LOAD_MMAP, &ro);
        if (rc)
            fprintf(stderr, "sp-eval: %s: %s (%s)\n", a->index, sp_last_error(), sp_status_str(rc));
        return r;
    }
    if (not_the_models_embedder(a, model, e))
        return NULL;
    return eval_index_build(a, e, ds, progress, &r) ? NULL : r;
}

int eval_neighbours_find(const eval_args *a, sp_model *model, const sp_dataset *ds, const uint64_t *positions,
                         uint64_t n, train_progress *progress, sp_neighbours **out)
{
    *out = NULL;
    index_embedder_names("sp-eval", "--embed-model");
    index_embedder_args ea = { a->embedder, a->embed_model, a->pca, a->precision, (uint32_t)a->threads };
    index_embedder emb;
    if (index_embedder_open(&ea, sp_dataset_board_size(ds), &emb))
        return 1;
    const char *path = a->neighbour_file_out;
    int neighbours = model_neighbours(model), status = 1, rc;
    sp_retriever *r = open_retrieval_set(a, model, ds, emb.embedder, progress);
    if (r && !check_ids(a, model, emb.embedder, r) && !check_capacity(a, r, neighbours) &&
        (path || !make_temporary(&path)))
        status = search(a, emb.embedder, r, ds, positions, n, (uint32_t)neighbours, path);
    sp_retriever_free(r);
    index_embedder_close(&emb);
    if (!status && (rc = sp_neighbours_open(out, path)) != SP_OK) {
        fprintf(stderr, "sp-eval: %s: %s (%s)\n", path, sp_last_error(), sp_status_str(rc));
        status = 1;
    }
    return status;
}

int eval_neighbours_open(const eval_args *a, const sp_model *model, sp_neighbours **out)
{
    int rc = sp_neighbours_open(out, a->neighbour_file);
    if (rc) {
        fprintf(stderr, "sp-eval: %s: %s (%s)\n", a->neighbour_file, sp_last_error(), sp_status_str(rc));
        return 1;
    }
    uint64_t id = sp_neighbours_embedder_id(*out), model_id = sp_model_embedder_id(model);
    int neighbours = model_neighbours(model);
    if (model_id && id != model_id)
        fprintf(stderr, "sp-eval: %s was trained on neighbours of embedder %016llx, %s holds neighbours of embedder "
                        "%016llx\n", a->model, (unsigned long long)model_id, a->neighbour_file, (unsigned long long)id);
    else if (sp_neighbours_k(*out) < (uint32_t)neighbours)
        fprintf(stderr, "sp-eval: %s reads %d neighbours, %s holds %u a position\n", a->model, neighbours,
                a->neighbour_file, sp_neighbours_k(*out));
    else
        return 0;
    sp_neighbours_free(*out);
    *out = NULL;
    return 1;
}

uint64_t eval_neighbours_short_rows(const sp_neighbours *nb, uint32_t count)
{
    uint32_t k = sp_neighbours_k(nb);
    uint64_t *ids = malloc((k ? k : 1) * sizeof *ids), rows = 0;
    for (uint64_t i = 0; ids && i < sp_neighbours_count(nb); i++) {
        if (sp_neighbours_row(nb, i, NULL, ids, NULL) != SP_OK)
            continue;
        for (uint32_t j = 0; j < count && j < k; j++)
            if (ids[j] == SP_RETRIEVER_NO_ID) {
                rows++;
                break;
            }
    }
    free(ids);
    return rows;
}
