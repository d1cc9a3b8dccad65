#include "pipe_hangup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_exec.h"
#include "proc_stat.h"
#include "tg_event.h"
#include "tg_error.h"
#include "tg_signal.h"

#define TICK_MS 10
/* after the SIGKILL: how long the group gets to be gone before the helper says who is left */
#define KILL_WAIT_MS 500
/* the helper's exit status when what is left of the group is another user's */
#define HELPER_EXIT_OUT_OF_REACH 2

/* what the helper is told first: whom to end */
struct hangup_target {
	pid_t id;    /* the command's process group, or the terminal's session */
	int session; /* id is a session: a shell that setsid() made the leader of its terminal's */
};

static void tick(void)
{
	struct timespec ts = {0, TICK_MS * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* Read exactly n bytes; 0 when the pipe ended (or failed) first. */
static int read_full(int fd, void *p, size_t n)
{
	unsigned char *b = p;
	ssize_t r;

	while (n > 0) {
		r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		b += r;
		n -= (size_t)r;
	}
	return 1;
}

/* The command's process group, or the command alone while it has not made its own group yet
 * (setsid() in the child: a failure right after the start can come first). -1 with errno EPERM:
 * the group is there, but all of it another user's. */
static int signal_group(pid_t pgid, int sig)
{
	if (kill(-pgid, sig) == 0)
		return 0;
	if (errno != ESRCH)
		return -1;
	return kill(pgid, sig);
}

/* Whether the group (or the command alone, as in signal_group) has a process that runs still:
 * one left with zombies only is done, though kill() finds them (proc_stat.h). Another user's
 * group (EPERM) counts as done, as it did for kill(): out of reach. */
static int group_running(pid_t pgid)
{
	if (kill(-pgid, 0) == 0)
		return proc_group_running(pgid) != 0;
	return errno == ESRCH && kill(pgid, 0) == 0;
}

/* Wait up to ms for the group to be gone: 1 when it is. */
static int wait_group_gone(pid_t pgid, int ms)
{
	uint64_t end = tg_mono_us() + (uint64_t)ms * 1000;

	while (group_running(pgid)) {
		if (tg_mono_us() >= end)
			return 0;
		tick();
	}
	return 1;
}

/* Send sig to what runs of the session; 1 when a process it may signal is left (and so got
 * it). A /proc that cannot be read leaves nothing to find. *denied: those it may not signal. */
static int session_signal(pid_t sid, int sig, int *denied)
{
	int n = proc_session_signal(sid, sig, denied);

	return n > *denied;
}

/*
 * A terminal's session after a recording failure (on_failure = deny): the recorder has closed
 * the pty master, so the kernel has hung the terminal up, and the shell, which its SIGHUP ends,
 * has passed it on to its jobs. What ignores it (trap '' HUP, nohup), or never got it (a
 * disowned job), gets SIGKILL after RELAY_HANGUP_WAIT_MS, as a command's group does. The
 * recorder keeps the shell's zombie meanwhile (pipe_hangup_end): its pid, the session's id,
 * cannot go to another session of the user's. 1 when processes of another user's ran on.
 */
static int end_session(pid_t sid)
{
	uint64_t end = tg_mono_us() + (uint64_t)RELAY_HANGUP_WAIT_MS * 1000;
	int denied;

	while (session_signal(sid, 0, &denied)) {
		if (tg_mono_us() >= end) {
			/* again and again: a process that forks while the pass runs leaves a child
			 * the pass did not see */
			end = tg_mono_us() + (uint64_t)KILL_WAIT_MS * 1000;
			while (session_signal(sid, SIGKILL, &denied) && tg_mono_us() < end)
				tick();
			break;
		}
		tick();
	}
	(void)session_signal(sid, 0, &denied);
	return denied > 0;
}

/*
 * What the helper ignores: it is in the recorder's process group, so a Ctrl-C at the terminal
 * that a command session runs on (su alice -c cmd), or a signal an admin sends the group, reaches
 * it too. It is there to pass those on (or to end the command when they end the recorder), not
 * to die of them; the recorder's end it learns from its socket. A stopped helper could neither
 * stop the command nor end it; SIGTTIN (SIGTTOU) comes to the whole group when the recorder, a
 * background job, reads (writes) the terminal.
 */
static void helper_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGTSTP);
	sigaddset(set, SIGTTIN);
	sigaddset(set, SIGTTOU);
}

/* The helper: the user's ids, its socket on 3, nothing else. Never returns. Starts with
 * helper_signals() blocked (pipe_hangup_start), and ignores them before it lets any in: one
 * that came while it set up would otherwise end it, and the command with it out of reach. */
static void __attribute__((noreturn))
helper(int rd, const struct privsep *ps, struct tg_config *cfg)
{
	struct rlimit zero = {0, 0};
	struct hangup_target t;
	sigset_t ignored;
	pid_t pgid;
	char cmd;
	int fd, sig, out_of_reach;

	helper_signals(&ignored);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&ignored, sig) == 1)
			signal(sig, SIG_IGN);

	/* the config may hold the uploader's secrets (the Slack webhook, static S3 keys), and this
	 * process is the user's for the whole session: PR_SET_DUMPABLE 0 comes one system call
	 * after the drop, and a /proc/PID/mem the user opened in that moment (fs.suid_dumpable = 1)
	 * would read on for as long as the helper lives */
	tg_config_wipe(cfg);
	/* what it holds, down to its socket, before the drop, as the shell does (become_shell):
	 * from then on the process is the user's, and in the moment before PR_SET_DUMPABLE 0
	 * (fs.suid_dumpable = 1) the user may take a copy of any of its descriptors
	 * (pidfd_getfd): 0 to 2 are the terminal the recorder was started on (another user's,
	 * after su), or sshd's pipes, which must also close when the recorder is done */
	if (dup2(rd, 3) != 3)
		_exit(1);
	child_close_from(4);
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	if (dup2(fd, 0) != 0 || dup2(fd, 1) != 1 || dup2(fd, 2) != 2)
		_exit(1);
	if (fd > 3)
		close(fd);
	if (privsep_drop_child(ps) != TG_OK)
		_exit(1);
	/* the drop may have made it dumpable again (fs.suid_dumpable): the recorder's memory,
	 * the config among it, is not for the user to read */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		_exit(1);
	zero.rlim_max = ps->core_saved.rlim_max;
	setrlimit(RLIMIT_CORE, &zero);
	/* the others back to their defaults, and all let in: what came meanwhile is dropped */
	tg_signals_child_reset(&ignored);
	if (!read_full(3, &t, sizeof(t)) || t.id <= 1)
		_exit(0); /* no command was started */
	if (t.session) {
		/* the recorder gone without a word, or done: the kernel hangs a terminal up when
		 * its master closes, and what ignores that runs on, as after any logout. Only "E"
		 */
		if (!read_full(3, &cmd, 1) || cmd != 'E')
			_exit(0);
		out_of_reach = end_session(t.id);
		(void)!send(3, "H", 1, MSG_NOSIGNAL);
		_exit(out_of_reach ? HELPER_EXIT_OUT_OF_REACH : 0);
	}
	pgid = t.id;
	/* "I", "Q": the recorder's SIGINT, SIGQUIT, passed on as a terminal passes them to its
	 * foreground job; "Z", "C": the recorder stops for a SIGTSTP, and goes on; "R": released;
	 * "E", or the recorder gone without a word: end the command */
	while (read_full(3, &cmd, 1) && cmd != 'E') {
		if (cmd == 'R')
			_exit(0);
		if (cmd == 'I' || cmd == 'Q')
			signal_group(pgid, cmd == 'I' ? SIGINT : SIGQUIT);
		/* SIGSTOP, not SIGTSTP: the command's group, alone in a session of its own, is
		 * orphaned, and the kernel drops a SIGTSTP to it unless it is caught */
		if (cmd == 'Z' || cmd == 'C')
			signal_group(pgid, cmd == 'Z' ? SIGSTOP : SIGCONT);
	}
	signal_group(pgid, SIGHUP);
	signal_group(pgid, SIGCONT); /* a stopped process acts on SIGHUP only once it runs */
	/* the group has its hangup: the recorder may reap the command now. From here on the group's
	 * id is free again at most TICK_MS before the probe that lets the helper go */
	(void)!send(3, "H", 1, MSG_NOSIGNAL);
	/* until all are gone (the recorder reaps its child meanwhile); by the clock, not by the
	 * ticks: a group of thousands of processes makes each look at /proc take a while */
	if (!wait_group_gone(pgid, RELAY_HANGUP_WAIT_MS)) {
		signal_group(pgid, SIGKILL);
		(void)wait_group_gone(pgid, KILL_WAIT_MS);
	}
	/* a process that made itself another user (a setuid program that became root) is out of
	 * reach: it runs on, and the recorder says so */
	_exit(signal_group(pgid, 0) != 0 && errno == EPERM ? HELPER_EXIT_OUT_OF_REACH : 0);
}

int pipe_hangup_start(struct pipe_hangup *h, const struct privsep *ps, struct tg_config *cfg)
{
	sigset_t block, old;
	int p[2];

	h->pid = -1;
	h->fd = -1;
	h->out_of_reach = 0;
	h->session = 0;
	/* both ways: the helper says when the group has its hangup (pipe_hangup_end) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
		return TG_ERR_SYSTEM;
	/* the helper is born with them blocked, and ignores them first (helper()) */
	helper_signals(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	h->pid = fork();
	if (h->pid == 0) {
		close(p[1]);
		helper(p[0], ps, cfg);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	if (h->pid < 0) {
		close(p[1]);
		return TG_ERR_SYSTEM;
	}
	h->fd = p[1];
	return TG_OK;
}

static int send_target(struct pipe_hangup *h, pid_t id, int session)
{
	struct hangup_target t;

	if (h->fd < 0)
		return TG_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	t.id = id;
	t.session = session;
	h->session = session;
	return send(h->fd, &t, sizeof(t), MSG_NOSIGNAL) == (ssize_t)sizeof(t) ? TG_OK : TG_ERR_IO;
}

int pipe_hangup_target(struct pipe_hangup *h, pid_t pgid)
{
	return send_target(h, pgid, 0);
}

int pipe_hangup_target_session(struct pipe_hangup *h, pid_t sid)
{
	return send_target(h, sid, 1);
}

int pipe_hangup_signal(struct pipe_hangup *h, int sig)
{
	char cmd;

	switch (sig) {
	case SIGINT:
		cmd = 'I';
		break;
	case SIGQUIT:
		cmd = 'Q';
		break;
	case SIGTSTP:
		cmd = 'Z';
		break;
	case SIGCONT:
		cmd = 'C';
		break;
	default:
		return TG_ERR_INVALID;
	}
	if (h->fd < 0)
		return TG_ERR_INVALID;
	return send(h->fd, &cmd, 1, MSG_NOSIGNAL) == 1 ? TG_OK : TG_ERR_IO;
}

void pipe_hangup_end(struct pipe_hangup *h, pid_t child, struct relay_result *res)
{
	/* a session's "H" comes after its grace and the SIGKILL, a group's after the SIGHUP */
	int ack_ms = h->session ? RELAY_HANGUP_WAIT_MS + KILL_WAIT_MS + 1000 : RELAY_HANGUP_WAIT_MS;
	struct pollfd pfd;
	char ack;
	int waited, st;
	pid_t r;

	if (h->pid <= 0)
		return;
	if (h->fd >= 0) {
		/* the command is not reaped before the helper has signalled its group (its "H", or
		 * its end): until then the zombie holds the group's id, which could otherwise go to
		 * a new process of the user's, another session's, and have that hung up instead;
		 * so does a shell's zombie its session's id until the helper is done with it */
		pfd.fd = h->fd;
		pfd.events = POLLIN;
		if (send(h->fd, "E", 1, MSG_NOSIGNAL) == 1 && poll(&pfd, 1, ack_ms) > 0)
			(void)!read(h->fd, &ack, 1);
		close(h->fd);
		h->fd = -1;
	}
	for (waited = 0; waited < RELAY_HANGUP_WAIT_MS + 1000; waited += TICK_MS) {
		if (!res->reaped && relay_child_ended(child, 0, &res->status) == 1)
			res->reaped = 1;
		if ((r = waitpid(h->pid, &st, WNOHANG)) != 0) {
			h->out_of_reach = r == h->pid && WIFEXITED(st) &&
			                  WEXITSTATUS(st) == HELPER_EXIT_OUT_OF_REACH;
			break; /* done (or not ours to wait for any more) */
		}
		tick();
	}
	h->pid = -1;
}

void pipe_hangup_release(struct pipe_hangup *h)
{
	int st;

	if (h->fd >= 0) {
		(void)!send(h->fd, "R", 1, MSG_NOSIGNAL);
		close(h->fd);
		h->fd = -1;
	}
	/* it ends at once; should the user have stopped it (it is theirs), the recorder does
	 * not wait on it: a zombie for the moment the recorder has left */
	if (h->pid > 0)
		waitpid(h->pid, &st, WNOHANG);
	h->pid = -1;
}

void pipe_hangup_stop(struct pipe_hangup *h)
{
	pid_t pid = h->pid;
	int st;

	pipe_hangup_release(h);
	/* gone at once (no command was named); a helper the user stopped is not waited for long */
	if (pid > 0)
		relay_wait_child(pid, &st, RELAY_HANGUP_WAIT_MS);
}
