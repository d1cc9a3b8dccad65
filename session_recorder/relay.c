#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"

volatile sig_atomic_t relay_got_chld, relay_got_winch, relay_got_term, relay_got_tty_stop;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		relay_got_chld = 1;
		break;
	case SIGWINCH:
		relay_got_winch = 1;
		break;
	case SIGTTIN:
	case SIGTTOU:
		relay_got_tty_stop = sig;
		break;
	default:
		/* a hangup is not undone by a SIGINT, SIGQUIT or SIGTSTP that comes with it (the
		 * handlers block each other: this test and the store are one step) */
		if (!relay_ends_session(relay_got_term))
			relay_got_term = sig;
		break;
	}
}

static const int caught[] = {SIGCHLD, SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTSTP, SIGXCPU};

int relay_ends_session(int sig)
{
	return sig == SIGHUP || sig == SIGTERM || sig == SIGXCPU;
}

const char *relay_end_reason(int sig)
{
	return sig == SIGXCPU ? "cpu_limit" : "hangup";
}

int relay_signals_init(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaddset(&block, caught[i]);
	if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0)
		return TG_ERR_SYSTEM;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigdelset(waitmask, caught[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_mask = block;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		if (sigaction(caught[i], &sa, NULL) != 0)
			return TG_ERR_SYSTEM;
	/* a write error is handled where it happens; a file size limit is a recording failure */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0 || sigaction(SIGXFSZ, &sa, NULL) != 0)
		return TG_ERR_SYSTEM;
	return TG_OK;
}

int relay_signals_catch_tty_stop(void)
{
	struct sigaction sa;
	size_t i;

	/* not blocked, and no SA_RESTART: the signal comes inside read() or write(), which it
	 * must end (EINTR) rather than restart into the same signal again */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaddset(&sa.sa_mask, caught[i]);
	return sigaction(SIGTTIN, &sa, NULL) == 0 && sigaction(SIGTTOU, &sa, NULL) == 0
	           ? TG_OK
	           : TG_ERR_SYSTEM;
}

void relay_chan_init(struct relay_chan *c, int from, int to, enum tg_rec_type stream,
                     int close_to_on_eof)
{
	c->from = from;
	c->to = to;
	c->stream = stream;
	c->close_to_on_eof = close_to_on_eof;
	c->eof = 0;
	c->len = c->off = 0;
}

int relay_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	return fl;
}

/* Typed input: stored when record_input is on, but for what input_guard takes for a secret:
 * an IN_HIDDEN count stands for that; counted only otherwise. */
static int record_input(struct relay_ctx *x, const unsigned char *p, size_t n)
{
	struct termios t;
	size_t hidden;
	int r, known;

	if (!x->record_input) {
		x->sink->bytes[TG_REC_IN] += n;
		return TG_OK;
	}
	if (x->echo_fd < 0) /* pipes: stdin is data, not typing */
		return rec_sink_data(x->sink, TG_REC_IN, p, n);
	/* the slave's modes at the moment of input (on Linux the master has its own) */
	known = tcgetattr(x->echo_fd, &t) == 0;
	hidden = input_guard_hidden(&x->guard, known, known ? t.c_lflag : 0, p, n);
	if (hidden > 0 && (r = rec_sink_hidden(x->sink, hidden)) != TG_OK)
		return r;
	if (hidden < n)
		return rec_sink_data(x->sink, TG_REC_IN, p + hidden, n - hidden);
	return TG_OK;
}

void relay_sink_failed(struct relay_ctx *x)
{
	/* the recording broke: end the session (deny) or go on unrecorded (allow) */
	if (x->on_failure == NULL || x->on_failure(x->arg, x->sink->error))
		x->failed_end = 1;
	x->sink = NULL;
}

static void record(struct relay_ctx *x, struct relay_chan *c, size_t n)
{
	struct termios t;
	int r;

	if (x->sink == NULL)
		goto out;
	if (c->stream == TG_REC_IN) {
		r = record_input(x, c->buf, n);
	} else {
		/* for prompts; a bounded copy. A secret prompt's line ended while the terminal is
		 * raw with echo off: the line end was drawn elsewhere (tmux), the prompt waits on
		 */
		if (c->stream == TG_REC_OUT && x->record_input && x->echo_fd >= 0 &&
		    input_guard_output(&x->guard, c->buf, n) &&
		    (tcgetattr(x->echo_fd, &t) != 0 || (t.c_lflag & (ECHO | ICANON)) == 0))
			input_guard_hold(&x->guard);
		r = rec_sink_data(x->sink, c->stream, c->buf, n);
	}
	if (r == TG_OK || x->sink->error == TG_OK)
		return;
	relay_sink_failed(x);
out:
	/* the session ends (deny): input is recorded before it is passed on, and what failed to
	 * be, or was read in the same round of the relay loop after the failure, is not */
	if (x->failed_end && c->stream == TG_REC_IN)
		c->len = c->off = 0;
}

int relay_chan_read(struct relay_ctx *x, struct relay_chan *c)
{
	ssize_t n;

	if (c->from < 0 || c->len > 0)
		return -1;
	n = read(c->from, c->buf, sizeof(c->buf));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return -1;
		if (errno == EIO) /* a pty master whose slave side is all closed */
			return 0;
		/* EBADF (a write-only stdin), ...: an end, not "nothing now" (TG_ERR_SYSTEM is -1
		 * too), or poll would report the fd ready for ever and the loop spin */
		return TG_ERR_IO;
	}
	if (n == 0)
		return 0;
	c->len = (size_t)n;
	c->off = 0;
	if (c->stream != TG_REC_IN && c->to >= 0) {
		/* Output goes on to the client before it is recorded, so the hash and the copy
		 * run while the client is already drawing it (a key's echo, a screen of text):
		 * the relay's one core is the pipeline's narrow stage. It loses nothing that
		 * recording first would keep: the record lands in the writer's buffer either
		 * way, and a failing recording ends the session in the same round of the relay
		 * loop (the other direction may still be read once, as before). An error
		 * here recurs in relay_chan_write, where the caller sees it. Input stays
		 * recorded first: the guard must see the terminal's modes as they were. */
		ssize_t w = write(c->to, c->buf, c->len);

		if (w > 0)
			c->off = (size_t)w;
	}
	record(x, c, (size_t)n);
	return 1;
}

int relay_chan_write(struct relay_chan *c)
{
	ssize_t n;

	while (c->len > c->off) {
		if (c->to < 0) { /* the reader is gone: what it would have got is dropped */
			c->len = c->off = 0;
			return TG_ERR_IO;
		}
		n = write(c->to, c->buf + c->off, c->len - c->off);
		if (n < 0) {
			/* EINTR: only the signal of a background job's write (SIGTTOU), which the
			 * loop acts on; written again at once, it would come again */
			if (errno == EAGAIN || errno == EINTR)
				return 1;
			c->len = c->off = 0;
			return TG_ERR_IO;
		}
		c->off += (size_t)n;
	}
	c->len = c->off = 0;
	return 0;
}

int relay_write_wait(int fd, const void *p, size_t n, int timeout_ms)
{
	const unsigned char *b = p;
	int64_t end = (int64_t)(tg_mono_us() / 1000) + timeout_ms, left;
	struct pollfd pfd;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		/* EINTR: as EAGAIN, within the time (SIGTTOU would come again at once) */
		if (w == 0 || (errno != EAGAIN && errno != EINTR) ||
		    (left = end - (int64_t)(tg_mono_us() / 1000)) <= 0)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

void relay_chan_flush(struct relay_chan *c, int timeout_ms)
{
	if (c->to >= 0 && c->len > c->off)
		relay_write_wait(c->to, c->buf + c->off, c->len - c->off, timeout_ms);
	c->len = c->off = 0;
}

void relay_chan_close(struct relay_chan *c)
{
	if (c->from >= 0)
		close(c->from);
	if (c->to >= 0 && c->to != c->from)
		close(c->to);
	c->from = c->to = -1;
}

/*
 * A child may make its parent its tracer without the parent's say (PTRACE_TRACEME: the user's
 * shell, a program it execs in its place, or a thread of either, made this recorder its tracer).
 * It then stops at each signal it gets, reported to this wait as CLD_TRAPPED, and stays stopped
 * for a tracer that never acts: taken for its end, such a stop ended the session with a made-up
 * status, or, with the command's pipes still open, hung it. It is let go instead, untraced from
 * then on, with the signal it stopped for; but not the SIGTRAP that an execve raises for a
 * tracer (sent by the process to itself), which would kill it untraced. tid: the stopped thread,
 * tgid: its process.
 */
static void untrace(pid_t tid, pid_t tgid, int sig)
{
	siginfo_t info;

	if (sig == SIGTRAP) {
		memset(&info, 0, sizeof(info));
		if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &info) == 0 && info.si_code == SI_USER &&
		    info.si_pid == tgid)
			sig = 0;
	}
	(void)ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

/*
 * The threads of child other than its first that made this process their tracer: let go when
 * stopped, and reaped once ended (a traced thread's end waits for its tracer, and holds back
 * the report of child's own end until then: the session would never end). child leads a
 * process group of its own (setsid() before the exec), and of that group only child and such
 * threads are this process's to wait for (child's children are child's): one waitid() looks,
 * and nothing in /proc is needed, which hidepid=2 would hide. A SIGTRAP is passed on to a
 * thread: an execve's is reported by child's id (the thread that execs takes it over).
 */
static void untrace_threads(pid_t child)
{
	siginfo_t si;
	pid_t tid;
	int k;

	/* one let go or reaped a pass, 64 at most a look: the rest wait for the next */
	for (k = 0; k < 64; k++) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PGID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 ||
		    si.si_pid == 0 || si.si_pid == child)
			return; /* none, or child itself: its own wait looks at it */
		if (si.si_code == CLD_TRAPPED) {
			untrace(si.si_pid, (pid_t)-1, si.si_status);
			continue;
		}
		tid = si.si_pid; /* an ended thread: reaped */
		if (waitid(P_PID, (id_t)tid, &si, WEXITED | WNOHANG | __WALL) != 0)
			return;
	}
}

int relay_child_ended(pid_t child, int keep, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | (keep ? WNOWAIT : 0)) != 0)
		return errno != EINTR ? -1 : 0;
	if (si.si_pid != child) {
		untrace_threads(child);
		return 0;
	}
	if (si.si_code == CLD_TRAPPED) {
		untrace(child, child, si.si_status);
		return 0;
	}
	/* as waitpid() would have put it */
	if (si.si_code == CLD_EXITED)
		*status = (si.si_status & 0xff) << 8;
	else
		*status = (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
	return 1;
}

int relay_wait_child_keep(pid_t child, int keep, int *status, int timeout_ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int waited = 0;

	for (;;) {
		if (relay_child_ended(child, keep, status) != 0)
			return 1; /* ended, or not ours any more: nothing to wait for */
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return 0;
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

int relay_wait_child(pid_t child, int *status, int timeout_ms)
{
	return relay_wait_child_keep(child, 0, status, timeout_ms);
}
