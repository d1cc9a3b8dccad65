#include "escape_check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"

int escape_proc_stat(pid_t pid, char *comm, size_t len, pid_t *ppid)
{
	char path[64], buf[1024], *l, *r;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return TG_ERR_IO;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
	if ((l = strchr(buf, '(')) == NULL || (r = strrchr(buf, ')')) == NULL || r < l)
		return TG_ERR_PARSE;
	*r = '\0';
	snprintf(comm, len, "%s", l + 1);
	if (sscanf(r + 1, " %*c %d", ppid) != 1)
		return TG_ERR_PARSE;
	return TG_OK;
}

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

int escape_check(pid_t parent, char *reason, size_t len)
{
	char comm[64];
	pid_t gp;

	if (escape_proc_stat(parent, comm, sizeof(comm), &gp) != TG_OK) {
		snprintf(reason, len, "cannot read the parent process %ld", (long)parent);
		return 1;
	}
	/* not "<shell> -c tollgate-record" under sshd either: ~/.bashrc runs inside that very
	 * shell, and a recorder started from there (with no argument, as sshd starts it) has
	 * that parent too, leaves a clean recording for the PAM session, and the shell goes on
	 * unrecorded. Shells exec their -c command ("ForceCommand exec ..." makes every one) */
	if (is_sshd(comm))
		return 0;
	printable(comm);
	snprintf(reason, len, "started by '%s' (pid %ld), not by sshd", comm, (long)parent);
	return 1;
}
