/*
 * Interactive sessions: relay between the outer terminal (stdin/stdout, raw)
 * and the master of the shell's pty, recording output (and input when
 * record_input is on), window-size changes, and passing signals on with
 * TIOCSIG (the kernel delivers them; the recorder may not kill() the user).
 */
#ifndef PTY_RELAY_H
#define PTY_RELAY_H

#include <signal.h>
#include <sys/types.h>

#include "relay.h"

struct relay_result {
	int status; /* the shell's wait status, valid when reaped */
	int reaped;
	const char *reason; /* "exit", "hangup", "signal", "recording_failure", "error" */
};

struct pipe_hangup;

/* x->echo_fd (the slave) is closed once the shell has exited; master is closed at the end.
 * hangup (NULL, or one without a helper: none) names the shell's session as its target
 * (pipe_hangup_target_session): after a recording failure it kills what of the session runs on
 * past the hangup, and until it is done or let go the shell is not reaped (its end is seen with
 * waitid(WNOWAIT)), so that its pid, the session's id, cannot go to another session. */
int pty_relay_run(struct relay_ctx *x, int master, pid_t child, struct pipe_hangup *hangup,
                  const sigset_t *waitmask, struct relay_result *res);

#endif
