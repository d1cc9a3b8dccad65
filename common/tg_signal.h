/* Signals in a child process. */
#ifndef TG_SIGNAL_H
#define TG_SIGNAL_H

#include <signal.h>

/*
 * First thing in a child (a shell about to run, a helper, an upload worker): every signal's
 * disposition back to the default but those in keep (NULL: none), then nothing blocked, in
 * that order. A signal the parent had blocked and that came after the fork is pending: let in
 * first, it would run the parent's handler in the child (which notes it for a loop the child
 * does not run) and be lost; let in after, it has its default effect (SIGTERM ends the child).
 */
void tg_signals_child_reset(const sigset_t *keep);

#endif
