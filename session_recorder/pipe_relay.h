/*
 * Commands and transfers: relay stdin to the command's stdin pipe, its
 * stdout and stderr pipes to ours, byte for byte, recording OUT and ERR as
 * separate streams (or only counting them: transfers). The session ends when
 * the command has exited and both output pipes are at EOF, as sshd does.
 */
#ifndef PIPE_RELAY_H
#define PIPE_RELAY_H

#include <signal.h>
#include <sys/types.h>

#include "pipe_hangup.h"
#include "pty_relay.h"
#include "relay.h"

/* fds: our ends of the command's stdin (write), stdout and stderr (read); taken over. A
 * recording failure that ends the session (deny) ends the command through hangup, which is
 * done with on return (released otherwise); the command is reaped only after that. */
int pipe_relay_run(struct relay_ctx *x, const int fds[3], pid_t child, struct pipe_hangup *hangup,
                   const sigset_t *waitmask, struct relay_result *res);

#endif
