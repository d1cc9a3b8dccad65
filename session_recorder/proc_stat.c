#include "proc_stat.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"

int proc_stat_read(const char *path, struct proc_stat *st)
{
	char buf[1024], *l, *r;
	long ppid, pgrp;
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
	if (sscanf(r + 1, " %c %ld %ld", &st->state, &ppid, &pgrp) != 3)
		return TG_ERR_PARSE;
	st->ppid = (pid_t)ppid;
	st->pgrp = (pid_t)pgrp;
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
		running = !gone(st.state) || threads_running(e->d_name);
	}
	closedir(d);
	return running;
}
