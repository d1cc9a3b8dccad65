#include "escape_check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_stat.h"
#include "tg_error.h"

static int is_sshd(const char *comm)
{
	return strcmp(comm, "sshd") == 0 || strcmp(comm, "sshd-session") == 0;
}

/* The parent's name is the user's choice (a copy of a shell named so): printable ASCII only in
 * the reason, which goes into JSON (a NOTE, an event) and syslog. Bytes that are not UTF-8 would
 * make those JSON strings fail to build, and the alert vanish. */
static void printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/*
 * A process that was there before the recorder ran anything of its own and stays out of its
 * sight: a child (the recorder is the shell sshd started, "bash -c", exec'd: a job that shell
 * put in the background before the exec is now its child) or, when the recorder leads its
 * session (sshd made the shell a session leader), another process of that session (a job
 * whose parent has gone). A ~/.bashrc that starts "bash -s <&0 >&1 &" and then runs the
 * recorder on something harmless leaves both. own is the recorder's helper (-1: none).
 */
static int stray_process(pid_t own, char *reason, size_t len)
{
	pid_t self = getpid(), sid = getsid(0), pid;
	struct proc_stat st;
	struct dirent *e;
	char path[64], *end;
	DIR *d;
	int found = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		pid = (pid_t)strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == self || pid == own)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if (proc_stat_read(path, &st) != TG_OK)
			continue;
		if (st.ppid != self && (sid != self || st.session != sid))
			continue;
		printable(st.comm);
		snprintf(reason, len, "process %ld ('%s') %s", (long)pid, st.comm,
		         st.ppid == self
		             ? "was started before the recorder, by the shell that ran it"
		             : "is in the session the recorder leads, and not its own");
		found = 1;
	}
	closedir(d);
	return found;
}

/* A standard fd that is none of what sshd hands a session (its pipes or sockets, the
 * terminal): /dev/null or a file, which a ~/.bashrc gives a recorder it runs on the side while
 * something else has the session's own. */
static int odd_std_fd(char *reason, size_t len)
{
	static const char *const name[] = {"input", "output", "error"};
	struct stat st;
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
		    isatty(fd))
			continue;
		snprintf(reason, len, "standard %s is %s, not a channel of sshd's", name[fd],
		         S_ISCHR(st.st_mode)   ? "a device that is no terminal (/dev/null?)"
		         : S_ISREG(st.st_mode) ? "a file"
		                               : "neither a pipe, a socket nor a terminal");
		return 1;
	}
	return 0;
}

int escape_check_start(pid_t own, char *reason, size_t len)
{
	return odd_std_fd(reason, len) || stray_process(own, reason, len);
}

int escape_check(pid_t parent, char *reason, size_t len)
{
	char path[64];
	struct proc_stat st;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)parent);
	if (proc_stat_read(path, &st) != TG_OK) {
		snprintf(reason, len, "cannot read the parent process %ld", (long)parent);
		return 1;
	}
	/* not "<shell> -c tollgate-record" under sshd either: ~/.bashrc runs inside that very
	 * shell, and a recorder started from there (with no argument, as sshd starts it) has
	 * that parent too, leaves a clean recording for the PAM session, and the shell goes on
	 * unrecorded. Shells exec their -c command ("ForceCommand exec ..." makes every one) */
	if (is_sshd(st.comm))
		return 0;
	printable(st.comm);
	snprintf(reason, len, "started by '%s' (pid %ld), not by sshd", st.comm, (long)parent);
	return 1;
}
