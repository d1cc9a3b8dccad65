/*
 * Start the user's shell: fork, set up its terminal or pipes, close every
 * other descriptor, drop to the user's ids (privsep_drop_child), reset
 * signals, exec the configured shell with the clean environment.
 */
#ifndef CHILD_EXEC_H
#define CHILD_EXEC_H

#include <sys/types.h>

#include "privsep.h"
#include "tg_config.h"
#include "tg_rec.h"

struct child_spec {
	const struct privsep *ps;
	const char *shell;   /* [recorder] shell */
	const char *command; /* run with -c; NULL: a login shell ("-bash") */
	const char *exec_path; /* set: run this program with argv, no shell (transfers) */
	char *const *argv;
	char **envp;
	/* A pipe ({-1, -1}: none). The child waits for a byte on go[0] before it does anything
	 * as the user; the recorder writes it once it is the audit user for good
	 * (privsep_drop_recorder), and a recorder that cannot be leaves without it: the child
	 * then sees EOF and exits 126, and nothing of the user's runs unrecorded meanwhile. */
	int go[2];
	/* the recording's writer (NULL: none): the child wipes its copy of the session's signing
	 * key before it becomes the user's */
	struct tg_rec_writer *writer;
	/* the config (NULL: none), wiped likewise: it may hold the uploader's secrets (the Slack
	 * webhook, static S3 keys). shell may point into it: the child copies that first. */
	struct tg_config *cfg;
};

/* The shell on the pty slave as its controlling terminal. Returns the pid, or -1. */
pid_t child_spawn_pty(const struct child_spec *cs, int master, int slave);
/* The shell with stdin, stdout, stderr on pipes; fds[i] is the child's end
 * of pipe i (0 stdin, 1 stdout, 2 stderr); our ends stay with the caller. */
pid_t child_spawn_pipes(const struct child_spec *cs, const int child_fds[3],
                        const int parent_fds[3]);
/* Close every descriptor from lowfd up (in a child). */
void child_close_from(int lowfd);
/* Replace this process with the shell (on_failure = allow, no recording): drops ids first. */
int child_exec_direct(const struct child_spec *cs);

#endif
