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

/* x->echo_fd (the slave) is closed once the shell has exited; master is closed at the end. */
int pty_relay_run(struct relay_ctx *x, int master, pid_t child, const sigset_t *waitmask,
                  struct relay_result *res);

#endif
