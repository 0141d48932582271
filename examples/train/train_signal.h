/* SIGINT and SIGTERM during training: the first asks the run to stop after
 * its current step (and save a checkpoint); a second one ends it at once. */
#ifndef TRAIN_SIGNAL_H
#define TRAIN_SIGNAL_H

/* Call before the program starts any thread that trains or evaluates: the
 * calling thread, and every thread it starts afterwards, blocks SIGINT and
 * SIGTERM, and a thread of this module's takes them (see train_signal.c). */
void train_signal_install(void);

/* The same for another program (sp-eval): the first signal prints @p note
 * (a string that lives as long as the process) instead of sp-train's. */
void train_signal_install_note(const char *note);

/* The first signal received, or 0. */
int train_signal_received(void);

#endif
