/* One refereed game between two GTP engines, and the text helpers of a
   match report (board diagram, result notation, Wilson interval). */
#ifndef SP_EXAMPLES_MATCH_H
#define SP_EXAMPLES_MATCH_H

#include <stdio.h>

#include "semiparam.h"
#include "client/gtp_client.h"

/** A player: its command line, the running process (NULL when stopped) and its GTP name. */
typedef struct match_engine {
    const char *command;
    const char *label;       /* "A" or "B" in the report */
    gtp_client *gtp;
    char name[128];
} match_engine;

/** How a game ended. */
enum match_end {
    MATCH_END_SCORE = 0,     /* two passes: Tromp-Taylor area score */
    MATCH_END_RESIGN,        /* a player resigned */
    MATCH_END_MOVE_LIMIT,    /* too many moves: the board was scored as it stood */
    MATCH_END_FAULT          /* a player broke the protocol or the rules and lost */
};

typedef struct match_settings {
    int size;
    float komi;
    int timeout_ms;          /* per command; a slower reply loses the game */
    int max_moves;
    int show;                /* print the board after every move to @c out */
    FILE *out;
    const int *opening;      /* moves played for both engines before they choose (sp-data gen's random openings) */
    int opening_moves;
} match_settings;

typedef struct match_result {
    int winner;              /* SP_BLACK, SP_WHITE or SP_EMPTY (draw) */
    enum match_end end;
    float score;             /* Black minus White minus komi, when scored */
    int moves;
    char reason[400];        /* the fault or end, in words */
    char re[32];             /* SGF RE value: "B+3.5", "W+R", "B+F", "W+T", "0" */
} match_result;

/**
 * Start the engine if it is not running and ask its name. 0 on success,
 * otherwise -1 with the reason in @p why.
 */
int match_engine_start(match_engine *engine, int timeout_ms, char *why, size_t why_size);

/** Stop the engine (quit, then kill); safe when already stopped. */
void match_engine_stop(match_engine *engine);

/**
 * Play one game, @p black against @p white, recording the moves in @p game
 * (cleared first, with the settings' size and komi). An engine that crashes,
 * hangs past the timeout, gives an unparsable or illegal move, or refuses a
 * legal one loses; it is stopped so that the next game restarts it.
 */
void match_play_game(match_engine *black, match_engine *white, const match_settings *settings,
                     sp_game *game, match_result *result);

/** Write the board with coordinates, the last move in parentheses. */
void match_print_board(FILE *out, const sp_game *game);

/** 95% Wilson score interval of @p successes out of @p n trials. */
void match_wilson95(double successes, int n, double *out_low, double *out_high);

#endif
