/*
 * The environment the user's shell gets: a fixed allow-list taken over from
 * ours (terminal, locale, time zone, what sshd sets, git's GIT_PROTOCOL in its
 * short form) plus HOME, USER, LOGNAME,
 * SHELL and PATH set from the password database and the config. Nothing else
 * passes: the recorder may be setuid, so LD_*, IFS, BASH_ENV and the like
 * from the caller must never reach a process started from here.
 */
#ifndef CHILD_ENV_H
#define CHILD_ENV_H

#include "session_info.h"

#define CHILD_ENV_MAX 128        /* entries */
#define CHILD_ENV_VALUE_MAX 4096 /* bytes in one value */
/* SSH_ORIGINAL_COMMAND: whole, up to what execve takes in one string (MAX_ARG_STRLEN), as
 * sshd passes it */
#define CHILD_ENV_COMMAND_MAX (128 * 1024)

struct child_env {
	char *v[CHILD_ENV_MAX + 1]; /* NULL-terminated, for execve */
	int n;
};
#define CHILD_ENV_VOID                                                                             \
	{                                                                                          \
		{NULL}, 0                                                                          \
	}

/*
 * Build the child's environment from environ. shell is the configured shell,
 * recording_id the recording's session id (TOLLGATE_RECORDING), tty_name the
 * inner terminal's name for SSH_TTY (NULL: drop SSH_TTY).
 */
int child_env_build(struct child_env *e, char **environ_in, const struct session_info *si,
                    const char *shell, const char *recording_id, const char *tty_name);
/*
 * What a transfer program must not take from the user: git reads the user's
 * ~/.gitconfig, whose uploadpack.packObjectsHook runs any command in the place
 * of pack-objects, and its output would go out as the "transfer", recorded as
 * metadata only. For a git transfer: GIT_CONFIG_GLOBAL=/dev/null.
 */
int child_env_for_transfer(struct child_env *e, const char *transfer);
/* 1 when the variable name is one the allow-list passes on unchanged (GIT_PROTOCOL: when its
 * value has git's form, checked by child_env_build). */
int child_env_allowed(const char *name, size_t len);
void child_env_free(struct child_env *e);

#endif
