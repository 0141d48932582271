/* Report text: the board diagram and the Wilson interval of a win rate. */
#include <math.h>

#include "match.h"

void match_print_board(FILE *out, const sp_game *game)
{
    static const char columns[] = "ABCDEFGHJKLMNOPQRST";
    int size = sp_game_size(game);
    int last = sp_game_move_count(game) > 0 ? sp_game_last_move(game) : SP_PASS;
    fprintf(out, "   ");
    for (int c = 0; c < size; c++)
        fprintf(out, " %c", columns[c]);
    fprintf(out, "\n");
    for (int r = 0; r < size; r++) {
        fprintf(out, "%2d ", size - r);
        for (int c = 0; c < size; c++) {
            int p = sp_point(size, r, c);
            int color = sp_game_color_at(game, p);
            char sep = p == last ? '(' : (c > 0 && sp_point(size, r, c - 1) == last ? ')' : ' ');
            fprintf(out, "%c%c", sep, color == SP_BLACK ? 'X' : color == SP_WHITE ? 'O' : '.');
        }
        fprintf(out, "%c%2d\n", sp_point(size, r, size - 1) == last ? ')' : ' ', size - r);
    }
    fprintf(out, "   ");
    for (int c = 0; c < size; c++)
        fprintf(out, " %c", columns[c]);
    fprintf(out, "\n");
}

void match_wilson95(double successes, int n, double *out_low, double *out_high)
{
    if (n <= 0) {
        *out_low = 0.0, *out_high = 1.0;
        return;
    }
    const double z = 1.959963984540054;
    double p = successes / n, z2n = z * z / n;
    double center = (p + z2n / 2) / (1 + z2n);
    double half = z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / (1 + z2n);
    *out_low = center - half < 0 ? 0 : center - half;
    *out_high = center + half > 1 ? 1 : center + half;
}
