/* The eight symmetries of the square board, for points and for planes. */
#include "core/core_internal.h"
#include "semiparam/go.h"

static void map(int sym, int size, int *row, int *col)
{
    int r = *row, c = *col;
    if (sym & 1)
        c = size - 1 - c;
    if (sym & 2)
        r = size - 1 - r;
    if (sym & 4) {
        int t = r;
        r = c;
        c = t;
    }
    *row = r;
    *col = c;
}

int sp_symmetry_point(int sym, int size, int point)
{
    if (sym < 0 || sym >= SP_SYMMETRY_COUNT || size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE)
        return -1;
    if (point == SP_PASS || point == SP_RESIGN)
        return point;
    if (point < 0 || point >= size * size)
        return -1;
    int row = point / size, col = point % size;
    map(sym, size, &row, &col);
    return row * size + col;
}

int sp_symmetry_inverse(int sym)
{
    if (sym < 0 || sym >= SP_SYMMETRY_COUNT)
        return -1;
    /* Flips are their own inverse; with a transpose the two flips swap. */
    if (sym & 4)
        return 4 | ((sym & 1) << 1) | ((sym & 2) >> 1);
    return sym;
}

int sp_symmetry_planes(int sym, int size, int channels, const float *in, float *out)
{
    if (sym < 0 || sym >= SP_SYMMETRY_COUNT)
        return sp__error(SP_ERR_INVALID_ARG, "sp_symmetry_planes: symmetry %d outside 0..7", sym);
    if (size < SP_GO_MIN_SIZE || size > SP_GO_MAX_SIZE || channels < 0)
        return sp__error(SP_ERR_INVALID_ARG, "sp_symmetry_planes: bad size %d or channel count %d", size, channels);
    if (!in || !out)
        return sp__error(SP_ERR_INVALID_ARG, "sp_symmetry_planes: %s is NULL", in ? "out" : "in");
    const int area = size * size;
    int to[SP_GO_MAX_SIZE * SP_GO_MAX_SIZE];
    for (int p = 0; p < area; p++)
        to[p] = sp_symmetry_point(sym, size, p);
    for (int c = 0; c < channels; c++) {
        const float *src = in + (size_t)c * (size_t)area;
        float *dst = out + (size_t)c * (size_t)area;
        for (int p = 0; p < area; p++)
            dst[to[p]] = src[p];
    }
    return SP_OK;
}
