/*
 * The outer terminal's keeper, for a recorder killed before it could put the
 * terminal back.
 *
 * kill -9 of the recorder (by root, the audit user, the OOM killer) runs none
 * of its own restores (term_raw.h): the terminal that "su alice" ran it on
 * stayed raw, and exclusive, so that no program of the caller's could open
 * /dev/tty again. Once the recorder is the audit user for good it forks this
 * process, which keeps the terminal and a pipe from the recorder and nothing
 * else; when the pipe ends without the recorder's word that it put the
 * terminal back itself, the keeper does (term_raw_restore_left), makes its
 * open file blocking again if the recorder had made it non-blocking, and ends.
 * In command mode ("su alice -c cmd" with stdin or stdout not a terminal) there
 * is no raw mode to undo, but the relay makes stdout and stderr non-blocking:
 * the keeper holds whichever of 0 to 2 are terminals, and makes them blocking
 * again.
 *
 * Only for a terminal the user cannot open (another user's: su from root's or
 * bob's terminal). Clearing TIOCEXCL on one the user can open (sshd's, whose
 * owner the user is) would let the user's processes that outlive the session
 * open it and keep it, and sshd's channel with it, and talk to the client
 * unrecorded; and sshd closes that terminal anyway.
 *
 * Not the hangup helper, which has the user's ids: the user could stop it,
 * and a stopped process that holds another user's terminal keeps that user's
 * ssh session from closing at logout. The keeper is the audit user's, out of
 * the user's reach, like the recorder.
 */
#ifndef TERM_GUARD_H
#define TERM_GUARD_H

#include <sys/types.h>

#include "tg_config.h"
#include "tg_rec.h"

struct term_guard {
	pid_t pid; /* the keeper; -1: none */
	int fd;    /* our end of its pipe; -1: closed */
};

#define TERM_GUARD_VOID {-1, -1}

/* Fork the keeper of the terminals on 0 to 2 (term_raw_enter may have made stdin's raw): after
 * privsep_drop_recorder. Its copies of the config's secrets and of the session's key are wiped
 * first. TG_OK, or an error with g->pid -1 (the session goes on without it). */
int term_guard_start(struct term_guard *g, struct tg_config *cfg, struct tg_rec_writer *w);
/* The recorder has put the terminal back itself: let the keeper go and wait (briefly) for its
 * end. Again: nothing. */
void term_guard_done(struct term_guard *g);

#endif
