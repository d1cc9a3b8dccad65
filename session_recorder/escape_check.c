#include "escape_check.h"

#include <stdio.h>
#include <string.h>

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
