#include "child_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_error.h"

#define USER_PATH "/usr/local/bin:/usr/bin:/bin"
#define ROOT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Passed on as they are; LC_* too. SSH_TTY and TOLLGATE_SESSION_ID are handled apart. */
static const char *const allowed[] = {
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "SSH_CONNECTION",
    "SSH_CLIENT",
    "SSH_AUTH_SOCK",
    "SSH_ORIGINAL_COMMAND",
    "DISPLAY",
    "MAIL",
    "XDG_SESSION_ID",
    "XDG_RUNTIME_DIR",
    "XDG_SESSION_TYPE",
    "XDG_SESSION_CLASS",
    "GIT_PROTOCOL", /* value checked: git_protocol_ok */
    NULL,
};

#define GIT_PROTOCOL_MAX 256

/*
 * GIT_PROTOCOL, as git's ssh client sends it (SendEnv) for git-upload-pack and
 * git-receive-pack to read: "version=2", in general key[=value] pairs joined by ':'. Without
 * it a clone falls back to protocol v0. Only that form passes, short: a long or odd value is
 * nothing git sends.
 */
static int git_protocol_ok(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (i >= GIT_PROTOCOL_MAX ||
		    !((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || strchr("=:._,+-", v[i]) != NULL))
			return 0;
	return i > 0;
}

static int is_name(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && strncmp(name, want, len) == 0;
}

/* Values with a form of their own; the others are bounded by CHILD_ENV_VALUE_MAX alone but
 * SSH_ORIGINAL_COMMAND: a forced command of the key (rrsync, borg serve, gitolite) reads the
 * client's command from it, which may be longer (an rsync or git command line). */
static int value_ok(const char *name, size_t len, const char *value)
{
	if (is_name(name, len, "GIT_PROTOCOL"))
		return git_protocol_ok(value);
	if (is_name(name, len, "SSH_ORIGINAL_COMMAND"))
		return strlen(value) <= CHILD_ENV_COMMAND_MAX;
	return strlen(value) <= CHILD_ENV_VALUE_MAX;
}

int child_env_allowed(const char *name, size_t len)
{
	size_t i;

	if (len > 3 && strncmp(name, "LC_", 3) == 0) {
		for (i = 3; i < len; i++)
			if (!((name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'))
				return 0;
		return 1;
	}
	for (i = 0; allowed[i] != NULL; i++)
		if (strlen(allowed[i]) == len && strncmp(allowed[i], name, len) == 0)
			return 1;
	return 0;
}

static int add(struct child_env *e, const char *name, const char *value)
{
	char *s;

	if (e->n >= CHILD_ENV_MAX)
		return TG_ERR_LIMIT;
	if (asprintf(&s, "%s=%s", name, value) < 0)
		return TG_ERR_NOMEM;
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return TG_OK;
}

/* Was name already added (the first of duplicate entries wins)? */
static int has(const struct child_env *e, const char *name, size_t len)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
			return 1;
	return 0;
}

int child_env_for_transfer(struct child_env *e, const char *transfer)
{
	if (transfer == NULL || strncmp(transfer, "git", 3) != 0)
		return TG_OK;
	return add(e, "GIT_CONFIG_GLOBAL", "/dev/null");
}

int child_env_build(struct child_env *e, char **environ_in, const struct session_info *si,
                    const char *shell, const char *recording_id, const char *tty_name)
{
	char **p, *eq;
	char name[256];
	size_t len;
	int r = TG_OK;

	e->n = 0;
	e->v[0] = NULL;
	if ((r = add(e, "HOME", si->home)) != TG_OK || (r = add(e, "USER", si->user)) != TG_OK ||
	    (r = add(e, "LOGNAME", si->user)) != TG_OK || (r = add(e, "SHELL", shell)) != TG_OK ||
	    (r = add(e, "PATH", si->uid == 0 ? ROOT_PATH : USER_PATH)) != TG_OK ||
	    (r = add(e, "TOLLGATE_RECORDING", recording_id)) != TG_OK)
		goto out;
	if (tty_name != NULL && (r = add(e, "SSH_TTY", tty_name)) != TG_OK)
		goto out;
	if (si->pam_session_id[0] != '\0' &&
	    (r = add(e, "TOLLGATE_SESSION_ID", si->pam_session_id)) != TG_OK)
		goto out;
	for (p = environ_in; p != NULL && *p != NULL; p++) {
		if ((eq = strchr(*p, '=')) == NULL)
			continue;
		len = (size_t)(eq - *p);
		if (len == 0 || len >= sizeof(name))
			continue;
		if (!child_env_allowed(*p, len) || !value_ok(*p, len, eq + 1) || has(e, *p, len))
			continue;
		memcpy(name, *p, len);
		name[len] = '\0';
		if ((r = add(e, name, eq + 1)) == TG_ERR_LIMIT) {
			r = TG_OK; /* a flood of LC_* variables is cut, not fatal */
			break;
		}
		if (r != TG_OK)
			goto out;
	}
out:
	if (r != TG_OK)
		child_env_free(e);
	return r;
}

void child_env_free(struct child_env *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
	e->v[0] = NULL;
}
