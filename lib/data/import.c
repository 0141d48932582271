/* Import of game records: game trees are cut out of a decompressed stream
 * one at a time (so memory is bounded by the longest game, not the file),
 * parsed with the SGF reader, filtered, deduplicated and appended. */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "go/game_internal.h"
#include "go/sgf_internal.h"
#include "semiparam/sgf.h"

/* One game tree may not exceed this (CGOS games are ~1.2 kB). */
#define MAX_TREE_BYTES ((size_t)64 << 20)

static const sp_import_options import_defaults = SP_IMPORT_OPTIONS_INIT;
static const sp__options_type import_options_type = { "sp_import_options", SP_IMPORT_OPTIONS_VERSION,
                                                      sizeof(sp_import_options), &import_defaults,
                                                      { offsetof(sp_import_options, ownership_playouts) } };
static const sp_import_report report_zero = SP_IMPORT_REPORT_INIT;
static const sp__options_type import_report_type = { "sp_import_report", SP_IMPORT_REPORT_VERSION,
                                                     sizeof(sp_import_report), &report_zero, { 0 } };

int sp_import_options_init(sp_import_options *opts, uint32_t version)
{
    return sp__options_init(opts, version, &import_options_type, "sp_import_options_init");
}

typedef struct importer {
    sp_dataset *ds;
    sp_import_options o;
    sp_import_report *rep;    /* &scratch: the counting goes on in the library's layout */
    sp_import_report scratch; /* the caller's counts so far, handed back by importer_finish */
    int32_t *moves;
    size_t cap;
    const char *source; /* name of the file being read */
    uint64_t ordinal;   /* game trees read from it */
    uint64_t read;      /* game trees read in this call */
    int done;           /* max_games reached */
} importer;

/* "2525", "1800?" -> 2525, 1800 (provisional); anything else NaN. */
static float parse_rating(const char *text, int *provisional)
{
    *provisional = 0;
    if (!text)
        return NAN;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '?')) {
        if (text[n - 1] == '?')
            *provisional = 1;
        n--;
    }
    for (size_t i = 0; i < n; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || text[i] == '.' || text[i] == '-' || text[i] == ' '))
            return NAN;
    double v;
    if (n == 0 || sp__sgf_parse_real(text, n, &v) != 0 || !isfinite(v))
        return NAN;
    return (float)v;
}

/* Fill rec and im->moves from a game; returns -1, or the ::sp_skip_reason. */
static int record_of(sp_dataset *ds, const sp_game *g, sp__spd_game *rec, int32_t **moves, size_t *cap,
                     uint8_t *ownership, int *err)
{
    *err = SP_OK;
    memset(rec, 0, sizeof *rec);
    if (sp_game_size(g) != ds->size)
        return SP_SKIP_BOARD_SIZE;
    int n = sp_game_move_count(g), first = 0, resigned = 0;
    if (n > 0) {
        int c, m;
        sp_game_move_at(g, n - 1, &c, &m);
        if (m == SP_RESIGN) {
            n--;
            resigned = c;
        }
    }
    if (n == 0)
        return SP_SKIP_NO_MOVES;
    if (n > 65535)
        return SP_SKIP_TOO_LONG;
    const uint8_t *setup = sp__game_board_at(g, 0);
    for (int p = 0; p < ds->area; p++)
        if (setup[p] != SP_EMPTY)
            return SP_SKIP_UNSUPPORTED;
    if ((size_t)n > *cap) {
        int32_t *m = realloc(*moves, (size_t)n * sizeof *m);
        if (!m) {
            *err = sp__error(SP_ERR_NOMEM, "out of memory reading a game of %d moves", n);
            return SP_SKIP_BROKEN;
        }
        *moves = m;
        *cap = (size_t)n;
    }
    for (int i = 0; i < n; i++) {
        int c, m, action;
        sp_game_move_at(g, i, &c, &m);
        if (i == 0)
            first = c;
        /* A resignation has no action. */
        if (c != (i % 2 ? 3 - first : first) || sp_move_to_action(ds->size, m, &action) != SP_OK)
            return SP_SKIP_UNSUPPORTED;
        (*moves)[i] = action;
    }
    rec->moves = (uint32_t)n;
    rec->first_color = (uint8_t)first;
    rec->komi = sp_game_komi(g);
    int provisional;
    rec->black_rating = parse_rating(sp_game_info(g, "BR"), &provisional);
    rec->flags |= provisional ? SP_GAME_BLACK_PROVISIONAL : 0;
    rec->white_rating = parse_rating(sp_game_info(g, "WR"), &provisional);
    rec->flags |= provisional ? SP_GAME_WHITE_PROVISIONAL : 0;
    int kind, winner;
    float margin;
    const char *re = sp_game_info(g, "RE");
    sp_result_parse(re, &kind, &winner, &margin);
    if (!re) { /* a game played here: how it ended */
        if (resigned) {
            kind = SP_RESULT_RESIGN;
            winner = 3 - resigned;
        } else if (sp_game_end_reason(g) == SP_END_PASSES) {
            float score = 0;
            sp_game_score(g, &score);
            kind = score == 0 ? SP_RESULT_DRAW : SP_RESULT_SCORE;
            winner = score > 0 ? SP_BLACK : score < 0 ? SP_WHITE : SP_EMPTY;
            margin = score == 0 ? NAN : fabsf(score);
        }
    }
    rec->result_kind = (uint8_t)kind;
    rec->winner = (uint8_t)winner;
    rec->margin = margin;
    sp_game_ownership(g, ownership, (size_t)ds->area);
    /* The ownership is final only when the game was counted on this very
     * board: two passes, and its area score is the recorded result (not so
     * under Japanese counting, where dead stones stay on the board). */
    float area_score = -rec->komi;
    for (int p = 0; p < ds->area; p++)
        area_score += ownership[p] == SP_BLACK ? 1.0f : ownership[p] == SP_WHITE ? -1.0f : 0.0f;
    int counted = n >= 2 && (*moves)[n - 1] == ds->area && (*moves)[n - 2] == ds->area
                  && ((kind == SP_RESULT_DRAW && area_score == 0)
                      || (kind == SP_RESULT_SCORE && area_score == (winner == SP_BLACK ? margin : -margin)));
    if (!counted)
        rec->flags |= SP_GAME_OWNERSHIP_ESTIMATED;
    rec->key = sp__moves_key(ds->size, *moves, (size_t)n);
    return -1;
}

/* An estimated ownership becomes the Monte-Carlo one (0 playouts: it stays
 * the last board's area). Only for a game about to be stored: the playouts
 * cost far more than the rest of its import. Seeded by the game's key, so
 * the estimate depends on the game alone, not on what was imported before. */
static void estimate_ownership(const sp_game *g, sp__spd_game *rec, uint8_t *ownership, uint32_t playouts)
{
    if (!(rec->flags & SP_GAME_OWNERSHIP_ESTIMATED) || playouts == 0)
        return;
    sp__game_ownership_estimate(g, playouts, sp__mix64(rec->key ^ 0x6f776e6572736869ull), ownership);
    rec->flags |= SP_GAME_OWNERSHIP_MONTE_CARLO;
}

static int add_record(sp_dataset *ds, const sp_game *g, sp__spd_game *rec, const int32_t *moves,
                      uint8_t *ownership, uint32_t playouts, const char *source)
{
    estimate_ownership(g, rec, ownership, playouts);
    const char *texts[SP__SPD_TEXTS] = { sp_game_info(g, "PB"), sp_game_info(g, "PW"), sp_game_info(g, "DT"),
                                         source };
    return sp__ds_append(ds, rec, moves, ownership, texts);
}

/* Import one game tree; only running out of memory stops the import. */
static int import_tree(importer *im, const char *data, size_t length)
{
    sp_dataset *ds = im->ds;
    im->rep->games_read++;
    im->ordinal++;
    if (im->o.max_games && ++im->read >= im->o.max_games)
        im->done = 1;
    sp_game *g = NULL;
    int rc = sp_sgf_parse(&g, data, length, NULL);
    int reason = -1;
    if (rc == SP_ERR_NOMEM)
        return rc;
    if (rc == SP_ERR_ILLEGAL_MOVE)
        reason = SP_SKIP_ILLEGAL;
    else if (rc == SP_ERR_UNSUPPORTED)
        reason = SP_SKIP_UNSUPPORTED;
    else if (rc)
        reason = SP_SKIP_BROKEN;
    sp__spd_game rec;
    uint8_t ownership[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    if (reason < 0) {
        reason = record_of(ds, g, &rec, &im->moves, &im->cap, ownership, &rc);
        if (rc) {
            sp_game_free(g);
            return rc;
        }
    }
    if (reason < 0) {
        double lo = fmin(rec.black_rating, rec.white_rating);
        if (im->o.min_rating > 0 && (isnan(rec.black_rating) || isnan(rec.white_rating) || lo < im->o.min_rating))
            reason = SP_SKIP_RATING;
        else if (!(rec.komi >= im->o.komi_min && rec.komi <= im->o.komi_max))
            reason = SP_SKIP_KOMI;
        else if (!(im->o.result_kinds & (1u << rec.result_kind)))
            reason = SP_SKIP_RESULT;
    }
    if (reason < 0 && im->o.dedup) {
        int64_t found;
        rc = sp__ds_find(ds, rec.key, im->moves, rec.moves, &found);
        if (rc) {
            sp_game_free(g);
            return rc;
        }
        if (found >= 0)
            reason = SP_SKIP_DUPLICATE;
    }
    if (reason >= 0) {
        im->rep->skipped[reason]++;
        /* Only a parse failure has a detail in sp_last_error(); the others
         * are decided here and named by the reason. */
        int parsed = g != NULL;
        sp__log(SP_LOG_DEBUG, "import: %s#%llu skipped (%s)%s%s", im->source, (unsigned long long)(im->ordinal - 1),
                sp_skip_reason_name(reason), parsed ? "" : ": ", parsed ? "" : sp_last_error());
        sp_game_free(g);
        return SP_OK;
    }
    char source[300];
    snprintf(source, sizeof source, "%s#%llu", im->source, (unsigned long long)(im->ordinal - 1));
    rc = add_record(ds, g, &rec, im->moves, ownership, im->o.ownership_playouts, source);
    sp_game_free(g);
    if (rc)
        return rc;
    im->rep->games_added++;
    im->rep->positions_added += rec.moves;
    im->rep->results[rec.result_kind]++;
    return SP_OK;
}

/* Where import_stream() gets bytes: a decompressing file stream or memory. */
typedef struct source_reader {
    sp__stream *st;
    const char *data;
    size_t length, pos;
} source_reader;

static int reader_read(source_reader *r, char *buf, size_t cap, size_t *out_n)
{
    if (r->st)
        return sp__stream_read(r->st, buf, cap, out_n);
    size_t n = r->length - r->pos < cap ? r->length - r->pos : cap;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *out_n = n;
    return SP_OK;
}

static int report_progress(importer *im, source_reader *r)
{
    sp__stream *st = r->st;
    if (!st)
        return SP_OK;
    uint64_t done, total;
    sp__stream_position(st, &done, &total);
    int stop = im->o.progress ? im->o.progress("import", done, total, im->o.progress_payload)
                              : sp__progress("import", done, total);
    return stop ? sp__error(SP_ERR_CANCELLED, "import cancelled by the progress callback") : SP_OK;
}

/* One line per file read: what it gave and why the rest was skipped. */
static void log_summary(const importer *im, const sp_import_report *before, int rc)
{
    const sp_import_report *r = im->rep;
    char why[512] = "";
    size_t used = 0;
    uint64_t skipped = 0;
    for (int i = 0; i < SP_SKIP_REASON_COUNT; i++) {
        uint64_t n = r->skipped[i] - before->skipped[i];
        skipped += n;
        if (n && used < sizeof why)
            used += (size_t)snprintf(why + used, sizeof why - used, "%s%s %llu", used ? ", " : " (",
                                     sp_skip_reason_name(i), (unsigned long long)n);
    }
    if (used && used < sizeof why - 1)
        snprintf(why + used, sizeof why - used, ")");
    sp__log(rc ? SP_LOG_ERROR : SP_LOG_INFO, "import: %s: %llu games read, %llu added (%llu positions), %llu skipped%s%s%s",
            im->source, (unsigned long long)(r->games_read - before->games_read),
            (unsigned long long)(r->games_added - before->games_added),
            (unsigned long long)(r->positions_added - before->positions_added), (unsigned long long)skipped, why,
            rc ? "; stopped: " : "", rc ? sp_last_error() : "");
}

/* Cut game trees out of the stream: '(' ... matching ')', with bracketed
 * values (and their escapes) skipped, since they may hold parentheses. */
static int import_stream(importer *im, source_reader *st)
{
    const sp_import_report before = *im->rep;
    sp__log(SP_LOG_INFO, "import: reading %s", im->source);
    size_t cap = 1u << 20, len = 0, scan = 0, start = 0, depth = 0;
    int in_tree = 0, in_value = 0, escape = 0, eof = 0, rc = SP_OK;
    char *buf = malloc(cap);
    if (!buf)
        return sp__error(SP_ERR_NOMEM, "out of memory reading %s", im->source);
    uint64_t last_report = 0;
    while (!rc && !im->done) {
        while (scan < len && !im->done) {
            char c = buf[scan++];
            if (!in_tree) {
                if (c == '(') {
                    in_tree = 1;
                    depth = 1;
                    start = scan - 1;
                }
            } else if (in_value) {
                if (escape)
                    escape = 0;
                else if (c == '\\')
                    escape = 1;
                else if (c == ']')
                    in_value = 0;
            } else if (c == '[') {
                in_value = 1;
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                in_tree = 0;
                if ((rc = import_tree(im, buf + start, scan - start)) != SP_OK)
                    break;
                if (im->rep->games_read - last_report >= 4096) {
                    last_report = im->rep->games_read;
                    if ((rc = report_progress(im, st)) != SP_OK)
                        break;
                }
            }
        }
        if (rc || im->done)
            break;
        size_t keep = in_tree ? start : len; /* drop what is already read */
        memmove(buf, buf + keep, len - keep);
        len -= keep;
        scan -= keep;
        start = 0;
        if (eof) {
            if (in_tree) { /* a game cut off by the end of the file */
                im->rep->games_read++;
                im->rep->skipped[SP_SKIP_BROKEN]++;
                sp__log(SP_LOG_DEBUG, "import: %s: the last game is cut off by the end of the file", im->source);
            }
            break;
        }
        if (len == cap) {
            if (cap >= MAX_TREE_BYTES) { /* a runaway tree: drop it and resynchronise */
                im->rep->games_read++;
                im->rep->skipped[SP_SKIP_BROKEN]++;
                sp__log(SP_LOG_WARNING, "import: %s: a game tree longer than %zu bytes skipped", im->source,
                        (size_t)MAX_TREE_BYTES);
                in_tree = in_value = escape = 0;
                len = scan = 0;
            } else {
                char *p = realloc(buf, cap * 2);
                if (!p) {
                    rc = sp__error(SP_ERR_NOMEM, "out of memory reading %s", im->source);
                    break;
                }
                buf = p;
                cap *= 2;
            }
        }
        size_t n;
        rc = reader_read(st, buf + len, cap - len, &n);
        im->rep->bytes += n;
        len += n;
        eof = n == 0;
    }
    free(buf);
    if (!rc)
        rc = report_progress(im, st);
    log_summary(im, &before, rc);
    return rc;
}

static int import_file(importer *im, const char *path)
{
    sp__stream *st;
    int rc = sp__stream_open(&st, path);
    if (rc)
        return rc;
    const char *slash = strrchr(path, '/');
    im->source = slash ? slash + 1 : path;
    im->ordinal = 0;
    im->rep->files++;
    source_reader r = { .st = st };
    rc = import_stream(im, &r);
    sp__stream_close(st);
    return rc;
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* In a directory only game files count: an index.tsv.xz beside a collection is not SGF. */
static int is_sgf_name(const char *name)
{
    static const char *const suffixes[] = { ".sgf", ".sgf.xz", ".sgf.gz", ".SGF", ".SGF.xz", ".SGF.gz" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (has_suffix(name, suffixes[i]))
            return 1;
    return 0;
}

static int import_dir(importer *im, const char *path, int depth)
{
    if (depth > 32)
        return sp__error(SP_ERR_IO, "%s: directories nested too deep", path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort); /* sorted: imports are reproducible */
    if (n < 0)
        return sp__error(SP_ERR_IO, "cannot list %s", path);
    int rc = SP_OK;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (!rc && !im->done && name[0] != '.') {
            size_t len = strlen(path) + strlen(name) + 2;
            char *child = malloc(len);
            if (!child) {
                rc = sp__error(SP_ERR_NOMEM, "out of memory listing %s", path);
            } else {
                snprintf(child, len, "%s/%s", path, name);
                struct stat st;
                if (stat(child, &st) == 0 && S_ISDIR(st.st_mode))
                    rc = import_dir(im, child, depth + 1);
                else if (is_sgf_name(name))
                    rc = import_file(im, child);
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int importer_init(importer *im, sp_dataset *ds, const sp_import_options *opts, sp_import_report *report,
                         const char *fn)
{
    memset(im, 0, sizeof *im);
    if (!ds)
        return sp__error(SP_ERR_INVALID_ARG, "%s: dataset is NULL", fn);
    int rc = sp__options_read(&im->o, opts, &import_options_type, fn);
    if (!rc)
        rc = sp__options_read(&im->scratch, report, &import_report_type, fn);
    im->rep = &im->scratch;
    im->ds = ds;
    return rc;
}

/* Hand the counts back, only as far as the caller's report version goes. */
static int importer_finish(importer *im, sp_import_report *report, int rc, const char *fn)
{
    free(im->moves);
    if (report)
        sp__options_write(report, &im->scratch, &import_report_type, fn);
    return rc;
}

int sp_dataset_import(sp_dataset *ds, const char *path, const sp_import_options *opts, sp_import_report *report)
{
    importer im;
    int rc = importer_init(&im, ds, opts, report, "sp_dataset_import");
    if (rc)
        return rc;
    if (!path)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_import: path is NULL");
    struct stat st;
    if (stat(path, &st) != 0)
        return sp__error(SP_ERR_IO, "cannot find %s", path);
    rc = S_ISDIR(st.st_mode) ? import_dir(&im, path, 0) : import_file(&im, path);
    return importer_finish(&im, report, rc, "sp_dataset_import");
}

int sp_dataset_import_memory(sp_dataset *ds, const char *data, size_t length, const char *source,
                             const sp_import_options *opts, sp_import_report *report)
{
    importer im;
    int rc = importer_init(&im, ds, opts, report, "sp_dataset_import_memory");
    if (rc)
        return rc;
    if (!data && length)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_import_memory: data is NULL");
    im.source = source ? source : "memory";
    source_reader r = { .data = data, .length = length };
    rc = import_stream(&im, &r);
    return importer_finish(&im, report, rc, "sp_dataset_import_memory");
}

int sp_dataset_add_game(sp_dataset *ds, const sp_game *game, const char *source, int dedup, uint64_t *out_game)
{
    if (!ds || !game)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_add_game: %s is NULL", ds ? "game" : "dataset");
    sp__spd_game rec;
    int32_t *moves = NULL;
    size_t cap = 0;
    uint8_t ownership[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    int err;
    int reason = record_of(ds, game, &rec, &moves, &cap, ownership, &err);
    if (err) {
        free(moves);
        return err;
    }
    int rc = SP_OK;
    if (reason >= 0)
        rc = sp__error(SP_ERR_INVALID_ARG, "sp_dataset_add_game: the game cannot be stored (%s)",
                       sp_skip_reason_name(reason));
    if (!rc && dedup) {
        int64_t found;
        rc = sp__ds_find(ds, rec.key, moves, rec.moves, &found);
        if (!rc && found >= 0)
            rc = sp__error(SP_ERR_MISUSE, "sp_dataset_add_game: the same moves are game %lld", (long long)found);
    }
    if (!rc)
        rc = add_record(ds, game, &rec, moves, ownership, import_defaults.ownership_playouts, source);
    free(moves);
    if (!rc && out_game)
        *out_game = ds->n_games - 1;
    return rc;
}

int sp_dataset_copy_game(sp_dataset *dst, const sp_dataset *src, uint64_t game)
{
    if (!dst || !src || game >= src->n_games)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_copy_game: %s",
                         !dst || !src ? "a dataset is NULL" : "game out of range");
    if (dst->size != src->size)
        return sp__error(SP_ERR_INVALID_ARG, "sp_dataset_copy_game: board sizes %d and %d differ", dst->size,
                         src->size);
    sp__spd_game rec = *sp__ds_game(src, game);
    /* The texts are copied out too: when dst is src, appending may realloc
     * the very buffer they would otherwise be read from. */
    size_t move_bytes = (size_t)rec.moves * sizeof(int32_t);
    int32_t *moves = malloc(move_bytes + rec.text_length + 1);
    if (!moves)
        return sp__error(SP_ERR_NOMEM, "sp_dataset_copy_game: out of memory copying game %llu",
                         (unsigned long long)game);
    for (uint32_t i = 0; i < rec.moves; i++)
        moves[i] = sp__ds_move(src, rec.move_offset + i);
    uint8_t ownership[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    sp_dataset_game_ownership(src, game, ownership, sizeof ownership);
    char *t = (char *)moves + move_bytes;
    memcpy(t, sp__seg_at(&src->text, rec.text_offset), rec.text_length);
    const char *texts[SP__SPD_TEXTS];
    for (int i = 0; i < SP__SPD_TEXTS; i++) {
        texts[i] = t;
        t += strlen(t) + 1;
    }
    int rc = sp__ds_append(dst, &rec, moves, ownership, texts);
    free(moves);
    return rc;
}
