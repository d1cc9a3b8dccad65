#include "pty_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipe_hangup.h"
#include "tg_error.h"
#include "tg_event.h"

static const char failure_msg[] =
    "\r\ntollgate-record: the session recording failed; the session is ended.\r\n";

static void pass_winsize(struct relay_ctx *x, int master, struct winsize *last)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0)
		return;
	if (ws.ws_col == last->ws_col && ws.ws_row == last->ws_row &&
	    ws.ws_xpixel == last->ws_xpixel && ws.ws_ypixel == last->ws_ypixel)
		return;
	/* the kernel sends SIGWINCH to the shell's foreground job; the size in pixels goes on
	 * too (image protocols draw by it), though only columns and rows are recorded */
	ioctl(master, TIOCSWINSZ, &ws);
	if (ws.ws_col == last->ws_col && ws.ws_row == last->ws_row) {
		*last = ws;
		return;
	}
	*last = ws;
	if (x->sink != NULL && rec_sink_resize(x->sink, ws.ws_col, ws.ws_row) != TG_OK &&
	    x->sink->error != TG_OK) {
		relay_sink_failed(x);
	}
}

/* The shell's end, and its status, seen: 1, 0 not yet, -1 not ours to wait for (done, too).
 * With keep its zombie is left (hang_up reaps it). */
static int reap(pid_t child, int keep, struct relay_result *res)
{
	int r;

	if (res->reaped)
		return 1;
	if ((r = relay_child_ended(child, keep, &res->status)) == 1)
		res->reaped = 1;
	return r;
}

/* reap(), waiting up to timeout_ms for it (-1: for ever); one not ours counts as reaped. */
static void reap_wait(pid_t child, int keep, struct relay_result *res, int timeout_ms)
{
	if (!res->reaped)
		res->reaped = relay_wait_child_keep(child, keep, &res->status, timeout_ms);
}

/* Hang the shell's terminal up (SIGHUP to its session) and give it a moment to end. After a
 * recording failure the helper then kills what runs on of the session; the shell's zombie,
 * kept while the helper may act, is reaped once it is done or let go. */
static void hang_up(struct relay_ctx *x, int *master, pid_t child, struct pipe_hangup *hangup,
                    struct relay_result *res)
{
	int keep = hangup != NULL && hangup->pid > 0, st;

	/* before up to seconds of waiting for the shell. With on_failure = deny a failure now
	 * ends what ignores the hangup, not left to run on unrecorded; with allow it is left
	 * to the end, which reports it and tells the user that the end is not recorded */
	rec_sink_flush(x->sink);
	if (x->sink != NULL && x->sink->error != TG_OK && (x->on_failure == NULL || x->deny)) {
		relay_sink_failed(x);
	}
	if (*master >= 0) {
		close(*master);
		*master = -1;
	}
	if (keep && x->failed_end)
		pipe_hangup_end(hangup, child, res);
	reap_wait(child, keep, res, RELAY_HANGUP_WAIT_MS);
	if (keep) {
		pipe_hangup_release(hangup);
		if (res->reaped)
			(void)waitpid(child, &st, WNOHANG);
	}
}

/* Takes master over (closes it). */
int pty_relay_run(struct relay_ctx *x, int master, pid_t child, struct pipe_hangup *hangup,
                  const sigset_t *waitmask, struct relay_result *res)
{
	int keep = hangup != NULL && hangup->pid > 0;
	struct relay_chan *in = NULL, *out = NULL;
	static struct relay_chan chans[2];
	struct winsize ws = {0, 0, 0, 0};
	struct pollfd pfd[3];
	struct timespec ts;
	int timeout, n, r, sig, fl_out, burst = 0;
	uint64_t drain_end_us = 0;
	size_t got = 0;

	res->reaped = 0;
	res->status = 0;
	res->reason = "exit";
	in = &chans[0];
	out = &chans[1];
	relay_chan_init(in, STDIN_FILENO, master, TG_REC_IN, 0);
	relay_chan_init(out, master, STDOUT_FILENO, TG_REC_OUT, 0);
	relay_nonblock(master);
	/* a client that stops reading must not stall the recorder in write(): checkpoints go on */
	fl_out = relay_nonblock(STDOUT_FILENO);
	ioctl(master, TIOCGWINSZ, &ws);
	for (;;) {
		if (relay_got_chld) {
			relay_got_chld = 0;
			(void)reap(child, keep, res);
			if (res->reaped && x->echo_fd >= 0) {
				/* no more input goes in; without our copy of the slave the master
				 * reads EIO as soon as the shell's last holder is gone */
				close(x->echo_fd);
				x->echo_fd = -1;
			}
		}
		if (relay_got_winch) {
			relay_got_winch = 0;
			pass_winsize(x, master, &ws);
		}
		if ((sig = relay_got_term) != 0) {
			relay_got_term = 0;
			/* the kernel passes only SIGINT, SIGQUIT (and SIGTSTP) through TIOCSIG;
			 * SIGHUP, SIGTERM and SIGXCPU end the session: the master closes, which
			 * hangs up the shell's terminal (SIGHUP to its session) */
			if (relay_ends_session(sig) || ioctl(master, TIOCSIG, sig) != 0) {
				res->reason = relay_end_reason(sig);
				break;
			}
		}
		if (x->failed_end) {
			res->reason = "recording_failure";
			break;
		}
		pfd[0].fd = pfd[1].fd = pfd[2].fd = -1;
		pfd[0].events = pfd[1].events = pfd[2].events = 0;
		if (in->len == 0 && in->from >= 0 && !res->reaped) {
			pfd[0].fd = STDIN_FILENO;
			pfd[0].events = POLLIN;
		}
		if (out->len > 0) {
			pfd[1].fd = STDOUT_FILENO;
			pfd[1].events = POLLOUT;
		}
		if (out->len == 0)
			pfd[2].events |= POLLIN;
		if (in->len > 0)
			pfd[2].events |= POLLOUT;
		if (pfd[2].events != 0)
			pfd[2].fd = master;
		timeout = x->sink != NULL ? rec_sink_timeout_ms(x->sink) : -1;
		if (res->reaped) {
			uint64_t now = tg_mono_us();

			/* a client slow to take the shell's last output gets it all; a job left
			 * writing to the terminal does not hold the session open for ever */
			if (drain_end_us == 0 || out->len > 0)
				drain_end_us = now + RELAY_DRAIN_MAX_MS * 1000u;
			else if (now >= drain_end_us)
				break;
			timeout = RELAY_DRAIN_MS; /* quiet this long after the end: done */
		}
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
		}
		if (got >= RELAY_BURST_MIN && burst < RELAY_BURST_MAX && out->len == 0 &&
		    in->len == 0 && pfd[2].fd >= 0) {
			/* output streams in: read on without a poll, a few rounds, then look at the
			 * rest */
			pfd[0].revents = pfd[1].revents = 0;
			pfd[2].revents = POLLIN;
			n = 1;
			burst++;
		} else {
			n = ppoll(pfd, 3, timeout >= 0 ? &ts : NULL, waitmask);
			burst = 0;
		}
		got = 0;
		if (n < 0 && errno != EINTR) {
			res->reason = "error";
			break;
		}
		if (n == 0 && res->reaped && out->len == 0)
			/* the shell is gone, its terminal quiet, and the client has taken it all: a
			 * client that is slow to read (a slow link) is not quiet, and ending then
			 * would cut off the shell's last output for the client and the recording
			 * alike */
			break;
		if (n > 0) {
			if (pfd[2].revents != 0 && out->len == 0) {
				r = relay_chan_read(x, out);
				got = out->len;
				if (r == 0 || r < -1) {
					/* every slave closed: nothing more can come */
					reap_wait(child, keep, res, -1);
					break;
				}
			}
			if (out->len > 0 && relay_chan_write(out) < 0) {
				res->reason = "hangup"; /* the client is gone */
				break;
			}
			if (pfd[0].revents != 0 && in->len == 0) {
				r = relay_chan_read(x, in);
				if (r == 0 || r < -1) {
					res->reason = "hangup";
					break;
				}
			}
			if (in->len > 0 && relay_chan_write(in) < 0)
				in->len = in->off = 0;
		}
		if (x->sink != NULL && rec_sink_tick(x->sink) != TG_OK) {
			relay_sink_failed(x);
		}
	}
	hang_up(x, &master, child, hangup, res);
	if (x->failed_end) {
		/* the shell hung up first, so nothing runs on unrecorded meanwhile; then stdout,
		 * still non-blocking: a client slow to read (the very output that filled the
		 * disk) must still get the shell's last output and the reason the session
		 * ended, not an EAGAIN that drops them */
		relay_chan_flush(out, RELAY_MESSAGE_WAIT_MS);
		relay_write_wait(STDOUT_FILENO, failure_msg, sizeof(failure_msg) - 1,
		                 RELAY_MESSAGE_WAIT_MS);
	}
	if (fl_out >= 0)
		fcntl(STDOUT_FILENO, F_SETFL, fl_out);
	return TG_OK;
}
