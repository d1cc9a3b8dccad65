#include "proc_stat.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tg_error.h"

int proc_stat_read(const char *path, struct proc_stat *st)
{
	char buf[1024], *l, *r;
	long ppid, pgrp, session;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return TG_ERR_IO;
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses */
	if ((l = strchr(buf, '(')) == NULL || (r = strrchr(buf, ')')) == NULL || r < l)
		return TG_ERR_PARSE;
	*r = '\0';
	snprintf(st->comm, sizeof(st->comm), "%s", l + 1);
	if (sscanf(r + 1, " %c %ld %ld %ld", &st->state, &ppid, &pgrp, &session) != 4)
		return TG_ERR_PARSE;
	st->ppid = (pid_t)ppid;
	st->pgrp = (pid_t)pgrp;
	st->session = (pid_t)session;
	return TG_OK;
}

static int is_pid(const char *name)
{
	if (*name == '\0')
		return 0;
	for (; *name != '\0'; name++)
		if (!isdigit((unsigned char)*name))
			return 0;
	return 1;
}

static int gone(char state)
{
	return state == 'Z' || state == 'X';
}

/* Whether a thread of the process runs (its leader may be a zombie while the others run). */
static int threads_running(const char *pid)
{
	char path[96];
	struct proc_stat st;
	struct dirent *e;
	DIR *d;
	int running = 0;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	if ((d = opendir(path)) == NULL)
		return 0; /* gone meanwhile */
	while (!running && (e = readdir(d)) != NULL) {
		if (!is_pid(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, e->d_name);
		running = proc_stat_read(path, &st) == TG_OK && !gone(st.state);
	}
	closedir(d);
	return running;
}

/* Whether the process named pid, whose stat is st, still runs: not a zombie, or one whose other
 * threads run on. */
static int stat_running(const char *pid, const struct proc_stat *st)
{
	return !gone(st->state) || threads_running(pid);
}

int proc_group_running(pid_t pgid)
{
	char path[64];
	struct proc_stat st;
	struct dirent *e;
	DIR *d;
	int running = 0;

	/* hidepid: what another user runs is not there to see (a setuid program of the group
	 * among it, which kill() may still reach); unknown then */
	if (proc_stat_read("/proc/1/stat", &st) != TG_OK || (d = opendir("/proc")) == NULL)
		return -1;
	while (!running && (e = readdir(d)) != NULL) {
		if (!is_pid(e->d_name) || strlen(e->d_name) > 20)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (proc_stat_read(path, &st) != TG_OK || st.pgrp != pgid)
			continue; /* gone meanwhile, hidden (hidepid), or another group */
		running = stat_running(e->d_name, &st);
	}
	closedir(d);
	return running;
}

static int pidfd_open_pid(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
	(void)sig;
	errno = ENOSYS;
	return -1;
#endif
}

/* One process of /proc: signal it when it runs in session sid (or is sid). 1 found, 0 not. */
static int session_member_signal(const char *name, pid_t sid, int sig, int *denied)
{
	char path[64];
	struct proc_stat st;
	pid_t pid = (pid_t)strtol(name, NULL, 10);
	int pidfd, r, found = 0;

	/* first the pidfd, then the stat: should the pid go to another process in between, the
	 * stat is that one's, but the pidfd names the process that ended, which takes no signal */
	pidfd = pidfd_open_pid(pid);
	if (pidfd < 0 && errno != ENOSYS)
		return 0; /* gone */
	snprintf(path, sizeof(path), "/proc/%s/stat", name);
	if (proc_stat_read(path, &st) != TG_OK || (st.session != sid && pid != sid) ||
	    !stat_running(name, &st))
		goto out;
	r = pidfd >= 0 ? pidfd_signal(pidfd, sig) : kill(pid, sig);
	if (r == 0 || errno == EPERM) {
		found = 1;
		*denied += r != 0;
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	return found;
}

int proc_session_signal(pid_t sid, int sig, int *denied)
{
	struct dirent *e;
	DIR *d;
	int found = 0;

	*denied = 0;
	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (is_pid(e->d_name) && strlen(e->d_name) <= 20)
			found += session_member_signal(e->d_name, sid, sig, denied);
	closedir(d);
	return found;
}
