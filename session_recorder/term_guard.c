#include "term_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "child_exec.h"
#include "relay.h"
#include "term_raw.h"
#include "tg_error.h"
#include "tg_signal.h"

/* how long the recorder waits for the keeper's end once let go: it ends at once */
#define GUARD_END_WAIT_MS 1000

/* The relay makes the recorder's stdout (command mode: stdout and stderr) non-blocking (a
 * client that stops reading must not stall it), and puts them back only at its end. Such a
 * terminal is most often the same open file as the one the caller's shell and the programs it
 * runs next read from: left so, they read EAGAIN from their terminal. fl_start: the flags of
 * stdin, stdout and stderr before the relay ran; only the terminals are still held here. */
static void restore_blocking(const int fl_start[3])
{
	int i, fl;

	for (i = 0; i <= 2; i++) {
		if (!isatty(i) || fl_start[i] < 0 || (fl_start[i] & O_NONBLOCK))
			continue;
		if ((fl = fcntl(i, F_GETFL)) >= 0 && (fl & O_NONBLOCK))
			(void)fcntl(i, F_SETFL, fl & ~O_NONBLOCK);
	}
}

/* What the keeper holds on 0 to 2: the terminals, which it may have to put back; /dev/null for
 * anything else (sshd's pipes or the caller's: held, the other end would never see EOF or
 * EPIPE once the recorder is gone). */
static void keep_terminals_only(void)
{
	int i, fd;

	for (i = 0; i <= 2; i++) {
		if (isatty(i))
			continue;
		/* without /dev/null: closed, which holds nothing either */
		if ((fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY)) < 0 || dup2(fd, i) != i)
			close(i);
		if (fd >= 0)
			close(fd);
	}
}

/* The keeper: the terminals among 0 to 2 and the pipe on 3, nothing else. Never returns. */
static void __attribute__((noreturn))
guard(int rd, const int fl_start[3], struct tg_config *cfg, struct tg_rec_writer *w)
{
	static const int ignored[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};
	sigset_t keep;
	size_t i;
	ssize_t n;
	char c;

	/* the recorder's secrets are none of its business */
	tg_rec_writer_forget_key(w);
	tg_config_wipe(cfg);
	/* the recorder's group (a Ctrl-C there, a hangup of the terminal when the recorder, its
	 * controlling process, dies) must not end it before its one task; the pipe says when */
	sigemptyset(&keep);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		signal(ignored[i], SIG_IGN);
		sigaddset(&keep, ignored[i]);
	}
	tg_signals_child_reset(&keep);
	/* a group of its own: a kill -9 of the recorder's whole job (kill -9 %1 in the caller's
	 * shell) must leave the one that puts the terminal back */
	(void)setpgid(0, 0);
	/* not the pty master (the shell's terminal must hang up when the recorder dies), not the
	 * recording, not sshd's pipes */
	if (dup2(rd, 3) != 3)
		_exit(1);
	child_close_from(4);
	keep_terminals_only();
	do
		n = read(3, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || c != 'D') {
		restore_blocking(fl_start);
		term_raw_restore_left();
	}
	_exit(0); /* not exit(): its atexit restore is the recorder's */
}

int term_guard_start(struct term_guard *g, struct tg_config *cfg, struct tg_rec_writer *w)
{
	int p[2], fl_start[3], i;

	g->pid = -1;
	g->fd = -1;
	/* here, not in the keeper: the relay, which runs on at once, may have made them
	 * non-blocking by the time the keeper looked */
	for (i = 0; i <= 2; i++)
		fl_start[i] = fcntl(i, F_GETFL);
	if (pipe2(p, O_CLOEXEC) != 0)
		return TG_ERR_SYSTEM;
	g->pid = fork();
	if (g->pid == 0) {
		close(p[1]);
		guard(p[0], fl_start, cfg, w);
	}
	close(p[0]);
	if (g->pid < 0) {
		close(p[1]);
		return TG_ERR_SYSTEM;
	}
	g->fd = p[1];
	return TG_OK;
}

void term_guard_done(struct term_guard *g)
{
	int st;

	if (g->fd >= 0) {
		(void)!write(g->fd, "D", 1);
		close(g->fd);
		g->fd = -1;
	}
	if (g->pid > 0)
		relay_wait_child(g->pid, &st, GUARD_END_WAIT_MS);
	g->pid = -1;
}
