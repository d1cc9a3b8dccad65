#include "child_exec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "relay.h"
#include "tg_error.h"
#include "tg_signal.h"

void child_close_from(int lowfd)
{
	long max;
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0U) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close(fd);
}

/* In the child: wait for the recorder's word (struct child_spec's go); _exit(126) without it. */
static void wait_for_go(const struct child_spec *cs)
{
	ssize_t n;
	char c;

	if (cs->go[0] < 0)
		return;
	close(cs->go[1]); /* else the recorder's end would never be all closed */
	do
		n = read(cs->go[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(126);
	close(cs->go[0]);
}

/* In the child: ids, descriptors, signals, exec. Never returns. */
static void __attribute__((noreturn)) become_shell(const struct child_spec *cs)
{
	char argv0[256], shell[PATH_MAX];
	const char *base;
	char *argv[4];
	int r;

	if ((size_t)snprintf(shell, sizeof(shell), "%s", cs->shell) >= sizeof(shell)) {
		dprintf(STDERR_FILENO, "tollgate-record: the shell's path is too long\n");
		_exit(127);
	}
	base = strrchr(shell, '/');
	base = base != NULL ? base + 1 : shell;
	wait_for_go(cs);
	/* before the drop: from then on the process is the user's to signal (and, where the change
	 * of ids makes it dumpable, fs.suid_dumpable = 1, to trace), and the recording, open for
	 * writing, must not be among what it holds */
	child_close_from(3);
	/* nor the session's signing key, with which the user could sign a recording of their
	 * own making (the moment between setresuid() and PR_SET_DUMPABLE, fs.suid_dumpable = 1;
	 * a /proc/PID/mem opened then reads on until the execve), nor the config's secrets */
	tg_rec_writer_forget_key(cs->writer);
	tg_config_wipe(cs->cfg);
	if ((r = privsep_drop_child(cs->ps)) != TG_OK) {
		dprintf(STDERR_FILENO, "tollgate-record: cannot drop privileges: %s\n",
		        strerror(errno));
		_exit(126);
	}
	tg_signals_child_reset(NULL);
	if (cs->exec_path != NULL) {
		execve(cs->exec_path, cs->argv, cs->envp);
		dprintf(STDERR_FILENO, "tollgate-record: cannot run %s: %s\n", cs->exec_path,
		        strerror(errno));
		_exit(127);
	}
	if (cs->command == NULL) {
		snprintf(argv0, sizeof(argv0), "-%s", base);
		argv[0] = argv0;
		argv[1] = NULL;
	} else {
		snprintf(argv0, sizeof(argv0), "%s", base);
		argv[0] = argv0;
		argv[1] = (char *)"-c";
		argv[2] = (char *)cs->command;
		argv[3] = NULL;
	}
	execve(shell, argv, cs->envp);
	dprintf(STDERR_FILENO, "tollgate-record: cannot run %s: %s\n", shell, strerror(errno));
	_exit(127);
}

pid_t child_spawn_pty(const struct child_spec *cs, int master, int slave)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	close(master);
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0 || dup2(slave, 0) < 0 ||
	    dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
		dprintf(slave, "tollgate-record: cannot set up the terminal: %s\r\n",
		        strerror(errno));
		_exit(126);
	}
	if (slave > 2)
		close(slave);
	become_shell(cs);
}

pid_t child_spawn_pipes(const struct child_spec *cs, const int child_fds[3],
                        const int parent_fds[3])
{
	pid_t pid = fork();
	int i;

	if (pid != 0)
		return pid;
	for (i = 0; i < 3; i++)
		close(parent_fds[i]);
	/* a new session: no controlling terminal, like sshd's own non-pty sessions */
	setsid();
	for (i = 0; i < 3; i++)
		if (dup2(child_fds[i], i) < 0)
			_exit(126);
	for (i = 0; i < 3; i++)
		if (child_fds[i] > 2)
			close(child_fds[i]);
	become_shell(cs);
}

int child_exec_direct(const struct child_spec *cs)
{
	become_shell(cs);
}
