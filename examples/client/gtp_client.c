/* GTP controller: child process on two pipes, replies framed by the blank
   line that ends every GTP response, read with poll() against a deadline. */
#include "gtp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct gtp_client {
    pid_t pid;
    int to_engine;    /* write end of the engine's stdin */
    int from_engine;  /* read end of the engine's stdout */
    char *buf;        /* bytes read and not yet consumed; NUL-terminated */
    size_t len, cap;
    size_t consumed;  /* the previous reply, dropped at the next receive */
    int eof;
    int stuck;        /* a reply missed its deadline: quit would wait in vain */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

gtp_client *gtp_client_start(char *const argv[], int stderr_fd)
{
    /* Close-on-exec from the start: engines started by other threads must
     * not inherit these pipes; dup2 clears the flag on the child's 0 and 1. */
    int in[2], out[2];
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(in, O_CLOEXEC) < 0)
        return NULL;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]), close(in[1]);
        return NULL;
    }
    gtp_client *e = calloc(1, sizeof *e);
    if (e)
        e->buf = malloc(e->cap = 4096);
    if (!e || !e->buf) {
        if (e)
            free(e);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        errno = ENOMEM;
        return NULL;
    }
    e->buf[0] = '\0';
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        free(e->buf), free(e);
        errno = saved;
        return NULL;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int err = stderr_fd >= 0 ? stderr_fd : open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (err >= 0)
            dup2(err, 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also in the parent, so a kill right away reaches the group */
    close(in[0]), close(out[1]);
    e->pid = pid;
    e->to_engine = in[1];
    e->from_engine = out[0];
    return e;
}

gtp_client *gtp_client_start_shell(const char *command, int stderr_fd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    return gtp_client_start(argv, stderr_fd);
}

pid_t gtp_client_pid(const gtp_client *engine)
{
    return engine ? engine->pid : -1;
}

int gtp_client_send(gtp_client *e, const char *command)
{
    size_t n = strlen(command);
    struct { const char *p; size_t n; } parts[2] = {{command, n}, {"\n", 1}};
    for (int i = 0; i < 2; i++) {
        const char *p = parts[i].p;
        size_t left = parts[i].n;
        while (left > 0) {
            ssize_t w = write(e->to_engine, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            p += w, left -= (size_t)w;
        }
    }
    return 0;
}

/* GTP lets an engine end lines with CR LF; a reply ends at the first empty line. */
static char *find_reply_end(char *buf, size_t len, size_t *out_next)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        size_t j = i + 1;
        if (j < len && buf[j] == '\r')
            j++;
        if (j < len && buf[j] == '\n') {
            *out_next = j + 1;
            return buf + i;
        }
    }
    return NULL;
}

enum gtp_reply gtp_client_receive(gtp_client *e, int timeout_ms, const char **out_text)
{
    *out_text = "";
    if (e->consumed) {
        memmove(e->buf, e->buf + e->consumed, e->len - e->consumed + 1);
        e->len -= e->consumed;
        e->consumed = 0;
    }
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        /* Engines may print blank lines between replies; skip them. */
        size_t skip = 0;
        while (skip < e->len && (e->buf[skip] == '\n' || e->buf[skip] == '\r'))
            skip++;
        if (skip) {
            memmove(e->buf, e->buf + skip, e->len - skip + 1);
            e->len -= skip;
        }
        size_t next;
        char *end = find_reply_end(e->buf, e->len, &next);
        if (end) {
            *end = '\0';
            e->consumed = next;
            char *text = e->buf;
            char kind = text[0];
            if (kind != '=' && kind != '?')
                return GTP_REPLY_GARBLED;
            text++;
            while (*text >= '0' && *text <= '9') /* optional command id */
                text++;
            while (*text == ' ' || *text == '\t')
                text++;
            for (char *p = text + strlen(text); p > text && (p[-1] == '\r' || p[-1] == ' '); p--)
                p[-1] = '\0';
            *out_text = text;
            return kind == '=' ? GTP_REPLY_OK : GTP_REPLY_ERROR;
        }
        if (e->eof)
            return GTP_REPLY_DEAD;
        int wait_ms = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                e->stuck = 1;
                return GTP_REPLY_TIMEOUT;
            }
            wait_ms = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {e->from_engine, POLLIN, 0};
        int r = poll(&pfd, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return GTP_REPLY_DEAD;
        if (r == 0)
            continue; /* the deadline check above decides */
        if (e->cap - e->len < 4097) {
            char *grown = realloc(e->buf, e->cap * 2);
            if (!grown)
                return GTP_REPLY_DEAD;
            e->buf = grown, e->cap *= 2;
        }
        ssize_t got = read(e->from_engine, e->buf + e->len, e->cap - e->len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            e->eof = 1;
            continue;
        }
        /* NUL bytes would cut the text short; GTP forbids them anyway. */
        for (ssize_t i = 0; i < got; i++)
            if (e->buf[e->len + (size_t)i] == '\0')
                e->buf[e->len + (size_t)i] = ' ';
        e->len += (size_t)got;
        e->buf[e->len] = '\0';
    }
}

enum gtp_reply gtp_client_command(gtp_client *e, const char *command, int timeout_ms,
                                  const char **out_text)
{
    if (gtp_client_send(e, command) < 0) {
        *out_text = "";
        return GTP_REPLY_DEAD;
    }
    return gtp_client_receive(e, timeout_ms, out_text);
}

int gtp_client_stop(gtp_client *e, int grace_ms)
{
    if (!e)
        return -1;
    int status = -1;
    if (!e->eof && !e->stuck && gtp_client_send(e, "quit") == 0) {
        const char *text;
        gtp_client_receive(e, grace_ms, &text);
    }
    close(e->to_engine); /* EOF on stdin ends most engines that ignored quit */
    long long deadline = now_ms() + (grace_ms > 0 && !e->stuck ? grace_ms : 0);
    pid_t r;
    while ((r = waitpid(e->pid, &status, WNOHANG)) == 0 && now_ms() < deadline) {
        struct timespec pause = {0, 5 * 1000000};
        nanosleep(&pause, NULL);
    }
    /* Kill the whole group even after a clean exit: a shell's children may linger. */
    kill(-e->pid, SIGKILL);
    if (r == 0)
        waitpid(e->pid, &status, 0);
    close(e->from_engine);
    free(e->buf);
    free(e);
    return status;
}

const char *gtp_reply_name(enum gtp_reply reply)
{
    switch (reply) {
    case GTP_REPLY_OK: return "ok";
    case GTP_REPLY_ERROR: return "error";
    case GTP_REPLY_TIMEOUT: return "timeout";
    case GTP_REPLY_DEAD: return "engine died";
    case GTP_REPLY_GARBLED: return "unparsable reply";
    }
    return "unknown";
}
