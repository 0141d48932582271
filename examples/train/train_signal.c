/* The handler only records the signal and puts the default action back, so
 * the second signal kills the process even if the step never ends; the
 * library's saves go through a temporary and a rename, so that kill leaves
 * no partial file behind.
 *
 * The signals are taken on a thread of their own, never on a thread that
 * trains: oneDNN's JIT GEMM kernels (inner products) point rsp into a heap
 * buffer while they run, so a handler run on such a thread had the kernel
 * write its signal frame into the heap, and a later free() aborted
 * ("corrupted size vs. prev_size while consolidating"; oneDNN issue 4845).
 * The installing thread blocks both signals, and every thread it starts
 * afterwards (the library's OpenMP and worker threads) inherits the mask. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "train_signal.h"

static atomic_int received; /* lock-free: written by the handler, read by the training thread */
static const char *note = "\nsp-train: stopping after this step to save a checkpoint (again to stop at once)\n";
static size_t note_length;
static sigset_t stop_signals; /* SIGINT and SIGTERM */

static void on_signal(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    if (atomic_load(&received)) {
        /* A second signal that reached another thread before the first
         * handler put the default back: end the process all the same. */
        sigaction(sig, &dfl, NULL);
        raise(sig);
        return;
    }
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    /* write() is async-signal-safe; its result does not matter here. */
    ssize_t written = write(STDERR_FILENO, note, note_length);
    (void)written;
    /* The other signal is already waiting (both were sent while the process
     * was stopped): it ends the process as this handler returns. The
     * training thread runs on meanwhile and must not take the first one for
     * a request to checkpoint. */
    sigset_t pending;
    if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)))
        return;
    atomic_store(&received, sig);
}

/* The one thread of the process (besides any that existed before the
 * install) that does not block the signals: the kernel delivers them here. */
static void *take_signals(void *unused)
{
    (void)unused;
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
    for (;;)
        pause();
    return NULL;
}

void train_signal_install(void)
{
    train_signal_install_note(note);
}

void train_signal_install_note(const char *text)
{
    note = text;
    note_length = strlen(text);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_mask = stop_signals;
    /* Reads and writes inside the library restart rather than fail with EINTR. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    pthread_t thread;
    if (pthread_create(&thread, NULL, take_signals, NULL) == 0)
        pthread_detach(thread);
    else /* no thread to be had: the signals land on this one, as they did before */
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
}

int train_signal_received(void)
{
    return atomic_load(&received);
}
