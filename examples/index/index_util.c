/* Shared helpers of sp-index and sp-bench retrieval (see index_util.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index_util.h"

double index_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int index_progress(const char *task, uint64_t done, uint64_t total, void *payload)
{
    static double start, last;
    static char current[32];
    double t = index_now();
    if (strncmp(current, task, sizeof current - 1) != 0) {
        snprintf(current, sizeof current, "%s", task);
        start = t;
        last = 0;
    }
    if (!isatty(2) || (t - last < 0.5 && done < total))
        return 0;
    last = t;
    double rate = t > start ? (double)done / (t - start) : 0;
    fprintf(stderr, "\r\033[K%s %llu/%llu (%.0f/s)%s", task, (unsigned long long)done, (unsigned long long)total,
            rate, done >= total ? "\n" : "");
    return 0;
}

int index_train_pca(const sp_dataset *ds, uint64_t n_positions, uint64_t sample, int history, uint32_t dim,
                    uint32_t threads, sp_pca **out)
{
    int size = sp_dataset_board_size(ds);
    uint32_t dim_in = (uint32_t)sp_go_plane_count(history) * (uint32_t)(size * size);
    if (sample > n_positions)
        sample = n_positions;
    uint64_t *pos = malloc(sample * sizeof *pos);
    float *planes = malloc(sample * dim_in * sizeof *planes);
    int rc = pos && planes ? SP_OK : SP_ERR_NOMEM;
    for (uint64_t i = 0; i < sample; i++)
        pos[i] = i * (n_positions / sample);
    if (rc == SP_OK)
        rc = sp_pca_position_planes(ds, pos, sample, history, planes, sample * dim_in, NULL);
    if (rc == SP_OK)
        rc = sp_pca_train(out, planes, sample, dim_in, dim, threads);
    free(pos);
    free(planes);
    return rc;
}

int index_pca_history(const sp_pca *pca, int board_size)
{
    int planes = (int)(sp_pca_dim_in(pca) / (uint32_t)(board_size * board_size));
    return (planes - 2) / 2;
}

double index_recall(const float *queries, uint64_t nq, uint32_t dim, uint32_t k, const float *exact_dist,
                    const uint64_t *approx_ids, index_keys_fn keys_of, void *ctx)
{
    float *keys = malloc((size_t)k * dim * sizeof *keys);
    uint64_t hits = 0;
    for (uint64_t i = 0; keys && i < nq; i++) {
        float kth = exact_dist[i * k + k - 1];
        uint64_t ids[256];
        uint32_t m = 0;
        for (uint32_t j = 0; j < k && j < 256; j++)
            if (approx_ids[i * k + j] != SP_RETRIEVER_NO_ID)
                ids[m++] = approx_ids[i * k + j];
        if (m && keys_of(ctx, ids, m, keys) != 0) {
            free(keys);
            return -1;
        }
        for (uint32_t j = 0; j < m; j++) {
            float d = 0;
            for (uint32_t c = 0; c < dim; c++) {
                float t = queries[i * dim + c] - keys[j * dim + c];
                d += t * t;
            }
            /* Relative slack for float rounding between the two searches. */
            if (d <= kth * 1.0001f + 1e-6f)
                hits++;
        }
    }
    free(keys);
    return nq ? (double)hits / (double)(nq * k) : 0;
}

static const char *embedder_program = "sp-index", *model_option = "--model";

void index_embedder_names(const char *program_name, const char *model_option_name)
{
    embedder_program = program_name;
    model_option = model_option_name;
}

int index_model_load(const index_embedder_args *a, sp_model **out)
{
    sp_nn_options nn;
    sp_nn_options_init(&nn, SP_NN_OPTIONS_VERSION);
    /* With a thread count the embedder runs that many workers, each calling
     * the model on one OpenMP thread: a team of `threads` per worker would
     * oversubscribe the machine threads-fold. */
    nn.precision = a->precision;
    nn.threads = a->threads ? 1 : 0;
    int rc = sp_model_load(out, a->model, &nn);
    if (rc != SP_OK)
        fprintf(stderr, "%s: %s: %s (%s)\n", embedder_program, a->model, sp_last_error(), sp_status_str(rc));
    return rc != SP_OK;
}

int index_embedder_open(const index_embedder_args *a, int board_size, index_embedder *out)
{
    out->embedder = NULL;
    out->model = NULL;
    if (!!a->embedder == !!a->pca) {
        fprintf(stderr, "%s: give the embedder as --embedder E.spe [%s M.spm] or as --pca P.spp, one of the two\n",
                embedder_program, model_option);
        return 1;
    }
    if (a->pca && a->model) {
        fprintf(stderr, "%s: %s goes with --embedder; --pca makes a raw embedder, which reads no model\n", embedder_program,
                model_option);
        return 1;
    }
    int rc;
    const char *what;
    if (a->pca) {
        sp_pca *pca = NULL;
        what = a->pca;
        if ((rc = sp_pca_load(&pca, a->pca)) == SP_OK)
            rc = sp_embedder_from_pca(&out->embedder, pca, board_size, index_pca_history(pca, board_size));
        sp_pca_free(pca);
    } else {
        if (a->model && index_model_load(a, &out->model))
            return 1;
        what = a->embedder;
        rc = sp_embedder_load(&out->embedder, a->embedder, out->model);
    }
    if (rc != SP_OK) {
        fprintf(stderr, "%s: %s: %s (%s)\n", embedder_program, what, sp_last_error(), sp_status_str(rc));
        index_embedder_close(out);
        return 1;
    }
    sp_embedder_info info = SP_EMBEDDER_INFO_INIT;
    if (sp_embedder_describe(out->embedder, &info) == SP_OK && info.board_size != board_size) {
        fprintf(stderr, "%s: %s embeds %dx%d positions, the dataset holds %dx%d\n", embedder_program, what,
                info.board_size, info.board_size, board_size, board_size);
        index_embedder_close(out);
        return 1;
    }
    return 0;
}

void index_embedder_close(index_embedder *e)
{
    sp_embedder_free(e->embedder);
    sp_model_free(e->model);
    e->embedder = NULL;
    e->model = NULL;
}

/* The outcome of game `info` for the player `color`. */
static const char *outcome_for(const sp_dataset_game_info *info, int color)
{
    if (info->winner == SP_BLACK || info->winner == SP_WHITE)
        return info->winner == color ? "win" : "loss";
    return info->result_kind == SP_RESULT_DRAW ? "draw" : "no result";
}

/* The move played at `position` (index `move` of its game) as a point, SP_PASS, or
 * -3 when the game ends there. */
static int next_move(const sp_dataset *ds, uint64_t game, uint32_t move, int size, int *out)
{
    size_t count = 0;
    int rc = sp_dataset_game_moves(ds, game, NULL, 0, &count);
    if (rc != SP_OK && rc != SP_ERR_BUFFER_TOO_SMALL)
        return rc;
    *out = -3;
    if (move >= count)
        return SP_OK;
    int32_t *actions = malloc(count * sizeof *actions);
    if (!actions)
        return SP_ERR_NOMEM;
    if ((rc = sp_dataset_game_moves(ds, game, actions, count, &count)) == SP_OK)
        rc = sp_action_to_move(size, actions[move], out);
    free(actions);
    return rc;
}

int index_diagram_make(const sp_dataset *ds, uint64_t position, const char *title, index_diagram *out)
{
    uint64_t game;
    uint32_t move;
    int size = sp_dataset_board_size(ds), next, rc;
    sp_dataset_game_info info = { .version = SP_DATASET_GAME_INFO_VERSION };
    sp_game *g = NULL;
    uint8_t board[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    if ((rc = sp_dataset_position_locate(ds, position, &game, &move)) != SP_OK ||
        (rc = sp_dataset_game_info_get(ds, game, &info)) != SP_OK ||
        (rc = next_move(ds, game, move, size, &next)) != SP_OK ||
        (rc = sp_dataset_game_replay(ds, game, (int)move, &g)) != SP_OK ||
        (rc = sp_game_board(g, board, sizeof board)) != SP_OK) {
        sp_game_free(g);
        return rc;
    }
    int to_play = sp_game_to_play(g);
    sp_game_free(g);
    char vertex[16] = "end";
    if (next != -3)
        sp_move_to_gtp(size, next, vertex, sizeof vertex);
    memset(out, 0, sizeof *out);
    int n = 0;
    snprintf(out->text[n++], INDEX_DIAGRAM_WIDTH, "%s", title);
    snprintf(out->text[n++], INDEX_DIAGRAM_WIDTH, "game %llu move %u", (unsigned long long)game, move);
    snprintf(out->text[n++], INDEX_DIAGRAM_WIDTH, "%s to move: %s", to_play == SP_BLACK ? "black" : "white",
             outcome_for(&info, to_play));
    snprintf(out->text[n++], INDEX_DIAGRAM_WIDTH, "next %s", vertex);
    /* GTP columns skip I; rows count up from the bottom. */
    char *line = out->text[n++];
    int at = snprintf(line, INDEX_DIAGRAM_WIDTH, "  ");
    for (int c = 0; c < size; c++)
        at += snprintf(line + at, (size_t)(INDEX_DIAGRAM_WIDTH - at), " %c", 'A' + c + (c >= 8));
    for (int r = 0; r < size; r++) {
        line = out->text[n++];
        at = snprintf(line, INDEX_DIAGRAM_WIDTH, "%2d", size - r);
        for (int c = 0; c < size; c++) {
            int p = r * size + c;
            char glyph = p == next ? '*' : board[p] == SP_BLACK ? 'X' : board[p] == SP_WHITE ? 'O' : '.';
            at += snprintf(line + at, (size_t)(INDEX_DIAGRAM_WIDTH - at), " %c", glyph);
        }
    }
    out->lines = n;
    out->width = 3 + 2 * size;
    for (int i = 0; i < n; i++)
        if ((int)strlen(out->text[i]) > out->width)
            out->width = (int)strlen(out->text[i]);
    return SP_OK;
}

void index_diagram_print(FILE *out, const index_diagram *d, uint32_t n, int columns)
{
    const int gap = 4;
    for (uint32_t first = 0; first < n;) {
        /* As many as fit, at least one. */
        uint32_t last = first + 1;
        int width = d[first].width;
        while (last < n && width + gap + d[last].width <= columns)
            width += gap + d[last++].width;
        int lines = 0;
        for (uint32_t i = first; i < last; i++)
            lines = d[i].lines > lines ? d[i].lines : lines;
        for (int l = 0; l < lines; l++) {
            int pad = 0;
            for (uint32_t i = first; i < last; i++) {
                const char *t = l < d[i].lines ? d[i].text[l] : "";
                fprintf(out, "%*s%s", pad, "", t);
                pad = d[i].width - (int)strlen(t) + gap;
            }
            fprintf(out, "\n");
        }
        if (last < n)
            fprintf(out, "\n");
        first = last;
    }
}

int index_number(const char *program, const char *option, const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v > max) {
        fprintf(stderr, "%s: %s takes a whole number from 0 to %llu, not '%s'\n", program, option,
                (unsigned long long)max, text);
        return -1;
    }
    *out = v;
    return 0;
}
