/* The controller side of GTP: start an engine as a child process, send it
   commands and read its replies with a deadline (sp-match, tests/test_gnugo). */
#ifndef SP_EXAMPLES_GTP_CLIENT_H
#define SP_EXAMPLES_GTP_CLIENT_H

#include <sys/types.h>

/** Outcome of one command. */
enum gtp_reply {
    GTP_REPLY_OK = 0,       /**< "= text" */
    GTP_REPLY_ERROR = 1,    /**< "? text": the engine refused the command */
    GTP_REPLY_TIMEOUT = 2,  /**< no complete reply before the deadline */
    GTP_REPLY_DEAD = 3,     /**< the engine closed its output or could not be written to */
    GTP_REPLY_GARBLED = 4   /**< the reply starts with neither '=' nor '?' */
};

typedef struct gtp_client gtp_client;

/**
 * Start argv[0] (looked up in PATH) with its standard input and output on
 * pipes; its standard error goes to @p stderr_fd, or to /dev/null when -1.
 * The child leads its own process group so that a stop kills every process
 * it started. Ignores SIGPIPE in the calling process: a dead engine then
 * shows as GTP_REPLY_DEAD instead of killing the controller.
 * @return the engine, or NULL (errno set) when the process cannot be started.
 */
gtp_client *gtp_client_start(char *const argv[], int stderr_fd);

/** Start `/bin/sh -c command`, otherwise as gtp_client_start(). */
gtp_client *gtp_client_start_shell(const char *command, int stderr_fd);

/** Queue one command (a newline is appended). 0, or -1 when the engine is gone. */
int gtp_client_send(gtp_client *engine, const char *command);

/**
 * Wait for the next reply, in the order the commands were sent.
 * @param timeout_ms  deadline in milliseconds; negative waits forever
 * @param out_text    receives the reply text without the '='/'?' and the
 *                    blank line; valid until the next call on this engine
 */
enum gtp_reply gtp_client_receive(gtp_client *engine, int timeout_ms, const char **out_text);

/** gtp_client_send() then gtp_client_receive(). */
enum gtp_reply gtp_client_command(gtp_client *engine, const char *command, int timeout_ms,
                                  const char **out_text);

/** Process id of the engine (its process group id too). */
pid_t gtp_client_pid(const gtp_client *engine);

/**
 * Say `quit`, give the engine @p grace_ms to leave, then kill its process
 * group, reap it and free the handle. NULL is a no-op.
 * @return the engine's wait status as waitpid() gives it, or -1.
 */
int gtp_client_stop(gtp_client *engine, int grace_ms);

/** Static name of a reply kind ("ok", "error", "timeout", ...). */
const char *gtp_reply_name(enum gtp_reply reply);

#endif
