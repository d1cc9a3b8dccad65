/*
 * What the pty relay and the pipe relay share: a one-way channel with a
 * buffer (read only when it is empty: back-pressure without blocking the
 * other direction), the recording of what passes, and the signals.
 *
 * Signals are blocked outside ppoll() and set flags; the loops act on them.
 * The recorder runs as the audit user and cannot kill() the user's shell: it
 * passes signals on through the kernel (TIOCSIG on the pty) or through the
 * hangup helper (pipe_hangup.h), and the shell's end through its exit status.
 */
#ifndef RELAY_H
#define RELAY_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "input_guard.h"
#include "rec_sink.h"

#define RELAY_BUF (64 * 1024)
/* a read this big means output streams in: read on without a poll, at most this many times */
#define RELAY_BURST_MIN 2048
#define RELAY_BURST_MAX 4
#define RELAY_DRAIN_MS 100 /* after the shell ended: output quiet this long ends the session */
/* after the shell ended: a job that keeps writing to its terminal, never quiet, is waited for
 * this long (sshd ends such a session with the shell), counted from the last time the client
 * was slow to take what was read */
#define RELAY_DRAIN_MAX_MS 1000
#define RELAY_HANGUP_WAIT_MS 2000 /* after a hangup: how long the shell gets to end */
/* after a recording failure, the shell hung up: how long a slow client gets to take its last
 * output and the message that says why the session ended */
#define RELAY_MESSAGE_WAIT_MS 5000

struct relay_chan {
	int from, to; /* -1 when closed */
	enum tg_rec_type stream;
	int close_to_on_eof; /* close `to` once from hit EOF and the buffer is drained */
	int eof;
	size_t len, off;
	unsigned char buf[RELAY_BUF];
};

struct relay_ctx {
	struct rec_sink *sink; /* NULL: not recording (on_failure = allow after a failure) */
	int record_input;
	int echo_fd; /* pty slave whose modes decide IN vs IN_HIDDEN; -1: none (pipes) */
	struct input_guard guard; /* the last line of output, with record_input and echo_fd */
	/* Called once when the sink fails; returns 1 to end the session (deny), 0 to go on. */
	int (*on_failure)(void *arg, int err);
	void *arg;
	int failed_end; /* the session is ended because recording failed */
	int deny;       /* on_failure = deny: what on_failure would answer */
};

/* relay_got_term: the last of SIGHUP, SIGTERM, SIGXCPU, SIGINT, SIGQUIT, SIGTSTP, but a SIGHUP,
 * SIGTERM or SIGXCPU stays. One flag loses none of them: they are unblocked only inside ppoll(),
 * and each handler blocks the others, so a wake-up takes one signal (ppoll's mask is back when it
 * returns) and those pending with it wait for the next ppoll, lowest number first. Keep it so: a
 * handler that left the others unblocked, or a wait that unblocked them, would lose all but the
 * last. */
/* relay_got_tty_stop: SIGTTIN or SIGTTOU, a background job's read or write of the terminal
 * (relay_signals_catch_tty_stop) */
extern volatile sig_atomic_t relay_got_chld, relay_got_winch, relay_got_term, relay_got_tty_stop;

/* Block and catch SIGCHLD, SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTSTP, SIGXCPU; ignore
 * SIGPIPE and SIGXFSZ. *waitmask is the mask to use inside ppoll(). */
int relay_signals_init(sigset_t *waitmask);
/* sig ends the session, as a hangup does: SIGHUP, SIGTERM (an admin), SIGXCPU (the recorder's
 * CPU time limit, a second before the kernel's SIGKILL: privsep_init). */
int relay_ends_session(int sig);
/* The END record's reason for such a signal: "hangup", or "cpu_limit" for SIGXCPU. */
const char *relay_end_reason(int sig);
/* Catch SIGTTIN and SIGTTOU too, unblocked: a read of the terminal while this process is a
 * background job (or a write, with stty tostop) then fails with EINTR and sets
 * relay_got_tty_stop, instead of stopping this process group alone (the pipe relay stops the
 * command with it). Where it is not called, they stop as ever. */
int relay_signals_catch_tty_stop(void);

void relay_chan_init(struct relay_chan *c, int from, int to, enum tg_rec_type stream,
                     int close_to_on_eof);
/* Read once into the empty buffer and record it. 1 data, 0 EOF, -1 nothing now, TG_ERR_IO (below
 * -1) a read error, which ends the channel like EOF. */
/* x->sink failed (its error set): on_failure says whether the session ends (failed_end);
 * either way nothing more is recorded (x->sink = NULL). */
void relay_sink_failed(struct relay_ctx *x);
int relay_chan_read(struct relay_ctx *x, struct relay_chan *c);
/* Write the buffer out. 0 drained, 1 some left (wait for POLLOUT; also after EINTR), <0 the peer
 * is gone. */
int relay_chan_write(struct relay_chan *c);
/* Close both ends. */
void relay_chan_close(struct relay_chan *c);
/* Write what the buffer still holds to its non-blocking `to`, waiting for it at most timeout_ms,
 * then empty it: the session's last output before a message that ends it. */
void relay_chan_flush(struct relay_chan *c, int timeout_ms);
/* Write n bytes to a non-blocking fd, waiting for it at most timeout_ms in all: a message the
 * user must see is not lost to a client slow to read (EAGAIN). 0 all written, -1 not. */
int relay_write_wait(int fd, const void *p, size_t n, int timeout_ms);
/* Set O_NONBLOCK on fd; returns the old flags (or -1). */
int relay_nonblock(int fd);
/* One look at the child's end: 1 ended (*status set as waitpid() sets it), 0 not yet, -1 not
 * ours to wait for. With keep its zombie is left, to be reaped later (waitid WNOWAIT). A child
 * stopped for this process as its tracer (it asked for that: PTRACE_TRACEME) is let go,
 * untraced, and has not ended. */
int relay_child_ended(pid_t child, int keep, int *status);
/* Wait for the child's end with a timeout (ms; -1: for ever): 1 ended (*status set) or not ours
 * to wait for, 0 not yet. keep as in relay_child_ended(). */
int relay_wait_child_keep(pid_t child, int keep, int *status, int timeout_ms);
/* relay_wait_child_keep() that reaps it. */
int relay_wait_child(pid_t child, int *status, int timeout_ms);

#endif
