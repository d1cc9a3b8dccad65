/*
 * A command session's hangup.
 *
 * A terminal session ends when the recorder closes the pty master: the
 * kernel hangs the terminal up and signals the shell's session. A command
 * (pipes, no terminal) has nothing the kernel would hang up, and the
 * recorder, once it runs as the audit user, may not kill() the user's
 * processes. So before that drop the recorder forks this helper, which keeps
 * the user's ids and nothing else (no descriptors but its socket, not
 * dumpable) and waits: told the command's process group and then "end" (a
 * recording failure, or SIGHUP or SIGTERM to the recorder), it sends the
 * group SIGHUP and SIGCONT, gives it RELAY_HANGUP_WAIT_MS, then SIGKILL.
 * "Release" lets it go without a signal (the command ended on its own). A
 * recorder that dies without a word (kill -9) ends the command too, as a
 * closed pty master does a terminal session. SIGINT and SIGQUIT to the
 * recorder (a Ctrl-C at the terminal of "su alice -c cmd") it sends the
 * group, as a terminal sends them its foreground job; a Ctrl-Z that reaches
 * the recorder (su alice --session-command cmd) stops the group (SIGSTOP)
 * while the recorder is stopped, and SIGCONT continues it; so does a read of the terminal by
 * the recorder as a background job (SIGTTIN, which comes to the whole group), or a write with
 * stty tostop (SIGTTOU).
 * It ignores those signals, and SIGHUP and SIGTERM, itself: they come to the
 * recorder's process group, its own.
 *
 * What the command's group holds of another user's (a setuid program that
 * made itself root for good) is out of the helper's reach: it runs on after
 * the hangup, and pipe_hangup_end says so.
 *
 * A terminal session (on_failure = deny) has one too, told the shell's
 * session instead (pipe_hangup_target_session): the kernel hangs the
 * terminal up, and after a recording failure the helper kills what of the
 * session ignores that (trap '' HUP, nohup); nothing else.
 */
#ifndef PIPE_HANGUP_H
#define PIPE_HANGUP_H

#include <sys/types.h>

#include "privsep.h"
#include "pty_relay.h"
#include "relay.h"
#include "tg_config.h"

struct pipe_hangup {
	pid_t pid;        /* the helper; -1: none */
	int fd;           /* our end of its socket; -1: closed */
	int out_of_reach; /* after pipe_hangup_end: processes of the group it may not signal
	                   * (another user's: a setuid program) ran on */
	int session;      /* the target is a terminal's session (pipe_hangup_target_session) */
};

/* Fork the helper (before privsep_drop_recorder); it wipes its copy of cfg (NULL: none) before
 * it becomes the user's. TG_OK, or an error with h->pid -1. */
int pipe_hangup_start(struct pipe_hangup *h, const struct privsep *ps, struct tg_config *cfg);
/* Name the process group to end: the command's (a session leader: its pid). */
int pipe_hangup_target(struct pipe_hangup *h, pid_t pgid);
/* Name a terminal's session instead (the shell's pid): after a recording failure the recorder
 * closes the pty master (the kernel hangs the terminal up), then pipe_hangup_end has the helper
 * SIGKILL what of the session still runs RELAY_HANGUP_WAIT_MS later. Nothing else: no signals
 * passed on, and a recorder gone without a word (or released) leaves the session to the
 * terminal's hangup, as at any logout. The caller must not reap the shell before
 * pipe_hangup_end or pipe_hangup_release. */
int pipe_hangup_target_session(struct pipe_hangup *h, pid_t sid);
/* Send the group SIGINT or SIGQUIT; stop it (SIGTSTP: SIGSTOP is sent) or continue it
 * (SIGCONT). TG_OK, or an error when the helper cannot be told. */
int pipe_hangup_signal(struct pipe_hangup *h, int sig);
/* End the group and wait for the helper to be done (at most twice RELAY_HANGUP_WAIT_MS and
 * a second), reaping the child into res meanwhile, only once the group was signalled: until
 * then the child's zombie must hold its pid, the group's id. */
void pipe_hangup_end(struct pipe_hangup *h, pid_t child, struct relay_result *res);
/* Let the helper go without a signal (again: nothing); the child may be reaped after it. */
void pipe_hangup_release(struct pipe_hangup *h);
/* Let it go and wait for its end (at most RELAY_HANGUP_WAIT_MS): before this process execs
 * a command itself, whose child it would otherwise be, a zombie nobody waits for. */
void pipe_hangup_stop(struct pipe_hangup *h);

#endif
