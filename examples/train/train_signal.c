/* The handler only records the signal and puts the default action back, so
 * the second signal kills the process even if the step never ends; the
 * library's saves go through a temporary and a rename, so that kill leaves
 * no partial file behind. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "train_signal.h"

static volatile sig_atomic_t received;
static const char *note = "\nsp-train: stopping after this step to save a checkpoint (again to stop at once)\n";
static size_t note_length;

static void on_signal(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    if (received) {
        /* A second signal that reached another thread before the first
         * handler put the default back: end the process all the same. */
        sigaction(sig, &dfl, NULL);
        raise(sig);
        return;
    }
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    received = sig;
    /* write() is async-signal-safe; its result does not matter here. */
    if (write(STDERR_FILENO, note, note_length) < 0)
        return;
}

void train_signal_install(void)
{
    train_signal_install_note(note);
}

void train_signal_install_note(const char *text)
{
    note = text;
    note_length = strlen(text);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    /* Reads and writes inside the library restart rather than fail with EINTR. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int train_signal_received(void)
{
    return received;
}
