#include "pipe_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tg_error.h"

static const char failure_msg[] =
    "tollgate-record: the session recording failed; the session is ended.\n";

/* Whether the command has ended, without reaping it: its zombie keeps its pid, the id of its
 * process group, from going to another process (one of the user's, which the hangup helper
 * could signal) until the helper has been released or has hung the group up. */
static int child_ended(pid_t child)
{
	int status;

	return relay_child_ended(child, 1, &status) == 1;
}

/*
 * SIGTSTP (a Ctrl-Z at the terminal that "su alice --session-command cmd" runs on): the job
 * stops, as at a terminal, the command (in a session of its own, out of that terminal's reach)
 * through the helper, then this process, which its parent (su, the shell) sees stopped; when it
 * goes on (fg), so does the command. The recorder leading a session of its own ("ssh host cmd",
 * "su -c") has no job control: its group is orphaned, where the kernel drops a SIGTSTP, and so
 * does this. A helper that cannot be told: the recorder does not stop either, or the command
 * would run on while the job shows as stopped.
 * SIGTTIN and SIGTTOU (the job, put in the background with bg, read the terminal, or wrote to it
 * with stty tostop) stop it the same way, as they stop any background job; with a helper that
 * cannot be told this process stops alone, as it did before: going on, it would read or write
 * into the same signal again.
 * While stopped, stdout and stderr have the flags they came with (fl_out, fl_err): on a terminal
 * they are the open file the caller's shell reads from, which would read EAGAIN from it.
 */
static void job_stop(struct pipe_hangup *hangup, int sig, int fl_out, int fl_err)
{
	struct sigaction dfl, old;
	sigset_t set, mask;

	if (getsid(0) == getpid() ||
	    (pipe_hangup_signal(hangup, SIGTSTP) != TG_OK && sig == SIGTSTP))
		return;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigaction(sig, &dfl, &old);
	/* in reverse order, as at the end: stdout and stderr may share one open file, whose
	 * flags fl_err was read after stdout's were made non-blocking */
	if (fl_err >= 0)
		(void)fcntl(STDERR_FILENO, F_SETFL, fl_err);
	if (fl_out >= 0)
		(void)fcntl(STDOUT_FILENO, F_SETFL, fl_out);
	raise(sig); /* SIGTSTP is blocked here: it stops this process once unblocked */
	sigprocmask(SIG_UNBLOCK, &set, &mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sigaction(sig, &old, NULL);
	(void)relay_nonblock(STDOUT_FILENO);
	(void)relay_nonblock(STDERR_FILENO);
	(void)pipe_hangup_signal(hangup, SIGCONT);
}

/*
 * The command is ended, or let go: what is left to write (its last output read, why the session
 * ended, a failure found at the seal) goes out from the background too, as the restore of a
 * terminal's modes does (term_raw_restore). With SIGTTOU caught (job_stop's), a background
 * write with stty tostop failed with EINTR again and again until the wait for a slow client ran
 * out (5 s of CPU each), and the reason never came; a stop here would only hold the recording
 * back from the hand-over, with no command left to stop with it.
 */
static void tty_stop_off(void)
{
	signal(SIGTTOU, SIG_IGN);
}

/* Stop feeding the command's stdin (it sees EOF). */
static void close_input(struct relay_chan *in)
{
	if (in->to >= 0)
		close(in->to);
	in->to = -1;
	in->from = -1; /* our stdin stays open: it is sshd's */
	in->len = in->off = 0;
}

/* Stop reading an output pipe (the command gets EPIPE / SIGPIPE on its next write). */
static void close_output(struct relay_chan *c)
{
	if (c->from >= 0)
		close(c->from);
	c->from = -1;
	c->len = c->off = 0;
}

int pipe_relay_run(struct relay_ctx *x, const int fds[3], pid_t child, struct pipe_hangup *hangup,
                   const sigset_t *waitmask, struct relay_result *res)
{
	static struct relay_chan chans[3];
	struct relay_chan *in = &chans[0], *c;
	struct pollfd pfd[6];
	struct pollfd *rp[3], *wp[3];
	struct timespec ts;
	int i, n, np, r, timeout, fl_out, fl_err, ended = 0, sig = 0, stop;

	res->reaped = 0;
	res->status = 0;
	res->reason = "exit";
	relay_chan_init(&chans[0], STDIN_FILENO, fds[0], TG_REC_IN, 1);
	relay_chan_init(&chans[1], fds[1], STDOUT_FILENO, TG_REC_OUT, 0);
	relay_chan_init(&chans[2], fds[2], STDERR_FILENO, TG_REC_ERR, 0);
	for (i = 0; i < 3; i++)
		relay_nonblock(fds[i]);
	/* a client that stops reading must not stall the recorder in write(): checkpoints go on */
	fl_out = relay_nonblock(STDOUT_FILENO);
	fl_err = relay_nonblock(STDERR_FILENO);
	/* a background job's read of the terminal, or write with tostop, stops the command too
	 * (job_stop) */
	(void)relay_signals_catch_tty_stop();
	for (;;) {
		if (relay_got_chld) {
			relay_got_chld = 0;
			ended = ended || child_ended(child);
		}
		relay_got_winch = 0;
		if (relay_got_term == SIGTSTP) {
			relay_got_term = 0;
			rec_sink_flush(x->sink); /* stopped for as long as the job is */
			job_stop(hangup, SIGTSTP, fl_out, fl_err);
		}
		if ((stop = relay_got_tty_stop) != 0) {
			relay_got_tty_stop = 0;
			rec_sink_flush(x->sink);
			job_stop(hangup, stop, fl_out, fl_err);
		}
		if ((sig = relay_got_term) != 0) {
			relay_got_term = 0;
			/* SIGINT and SIGQUIT go to the command's process group, as a terminal's do
			 * to its foreground job: the command, in a session of its own, is out of
			 * the reach of the terminal that "su alice -c cmd" runs on. It may end or
			 * go on; the relay goes on either way. A helper that cannot be told (the
			 * user killed it): the pipes close, as for a hangup */
			if ((sig != SIGINT && sig != SIGQUIT) ||
			    pipe_hangup_signal(hangup, sig) != TG_OK) {
				res->reason = relay_end_reason(sig);
				break;
			}
			sig = 0;
		}
		if (x->failed_end) {
			/* the command ends first (its pipes closed, then its process group hung up,
			 * as a terminal's would be), so nothing runs on unrecorded meanwhile; then
			 * stdout and stderr, still non-blocking: a slow client must still get what
			 * was read and the reason the session ends, not an EAGAIN that drops it */
			close_input(in);
			for (i = 1; i < 3; i++) {
				if (chans[i].from >= 0)
					close(chans[i].from);
				chans[i].from = -1;
			}
			pipe_hangup_end(hangup, child, res);
			tty_stop_off();
			relay_chan_flush(&chans[1], RELAY_MESSAGE_WAIT_MS);
			relay_chan_flush(&chans[2], RELAY_MESSAGE_WAIT_MS);
			relay_write_wait(STDERR_FILENO, failure_msg, sizeof(failure_msg) - 1,
			                 RELAY_MESSAGE_WAIT_MS);
			res->reason = "recording_failure";
			break;
		}
		if (ended && in->to >= 0)
			close_input(in);
		if (ended && chans[1].from < 0 && chans[2].from < 0)
			break;
		np = 0;
		for (i = 0; i < 3; i++) {
			c = &chans[i];
			rp[i] = wp[i] = NULL;
			if (c->len == 0 && c->from >= 0 && !c->eof) {
				rp[i] = &pfd[np++];
				rp[i]->fd = c->from;
				rp[i]->events = POLLIN;
			} else if (c->len > 0) {
				wp[i] = &pfd[np++];
				wp[i]->fd = c->to;
				wp[i]->events = POLLOUT;
			}
		}
		timeout = x->sink != NULL ? rec_sink_timeout_ms(x->sink) : -1;
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
		}
		n = ppoll(pfd, (nfds_t)np, timeout >= 0 ? &ts : NULL, waitmask);
		if (n < 0 && errno != EINTR) {
			res->reason = "error";
			break;
		}
		for (i = 0; n > 0 && i < 3; i++) {
			c = &chans[i];
			if (rp[i] != NULL && rp[i]->revents != 0) {
				r = relay_chan_read(x, c);
				if (r == 0 || r < -1) {
					c->eof = 1;
					if (i == 0)
						close_input(c);
					else
						close_output(c);
					continue;
				}
			}
			if (c->len > 0 && (r = relay_chan_write(c)) < 0) {
				if (i == 0)
					close_input(c); /* the command closed its stdin */
				else
					close_output(c); /* the client is gone */
			}
		}
		if (x->sink != NULL && rec_sink_tick(x->sink) != TG_OK) {
			relay_sink_failed(x);
		}
	}
	close_input(in);
	close_output(&chans[1]);
	close_output(&chans[2]);
	/* in reverse order: stdout and stderr may share one open file */
	if (fl_err >= 0)
		fcntl(STDERR_FILENO, F_SETFL, fl_err);
	if (fl_out >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, fl_out);
	/* SIGHUP, SIGTERM and SIGXCPU end the command, as closing the pty master hangs up a
	 * terminal session's shell: closed pipes alone leave one that writes nothing more running
	 * on, unrecorded, after the seal (SIGINT and SIGQUIT the helper could not pass on only
	 * close them). Otherwise no hangup now (after a failure pipe_hangup_end has run); only
	 * then may the command's pid go. */
	if (relay_ends_session(sig)) {
		rec_sink_flush(x->sink); /* before seconds of waiting for the command to end */
		pipe_hangup_end(hangup, child, res);
	}
	pipe_hangup_release(hangup);
	tty_stop_off();
	if (!res->reaped)
		res->reaped = relay_wait_child(child, &res->status, RELAY_HANGUP_WAIT_MS);
	return TG_OK;
}
