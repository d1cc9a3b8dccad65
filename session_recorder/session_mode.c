#include "session_mode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_error.h"

#define MAX_WORDS 64

const char *session_kind_name(enum session_kind k)
{
	switch (k) {
	case SESSION_INTERACTIVE:
		return "interactive";
	case SESSION_COMMAND:
		return "command";
	case SESSION_TRANSFER:
		return "transfer";
	}
	return "?";
}

/* The part after the last '/'. */
static const char *base_name(const char *s)
{
	const char *p = strrchr(s, '/');

	return p != NULL ? p + 1 : s;
}

/* Split a copy of s on blanks into at most MAX_WORDS words; returns the count. */
static int split_words(char *s, char **w)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, " \t\n", &save); t != NULL && n < MAX_WORDS;
	     t = strtok_r(NULL, " \t\n", &save))
		w[n++] = t;
	return n;
}

/* An scp option word ("-t", "-pt", "-r") holds letter c. */
static int scp_flag(char **w, int n, char c)
{
	int i;

	for (i = 1; i < n; i++) {
		if (strcmp(w[i], "--") == 0)
			break;
		if (w[i][0] == '-' && w[i][1] != '-' && strchr(w[i] + 1, c) != NULL)
			return 1;
	}
	return 0;
}

static int has_word(char **w, int n, const char *word)
{
	int i;

	for (i = 1; i < n; i++)
		if (strcmp(w[i], word) == 0)
			return 1;
	return 0;
}

/* Recognise a file transfer from the command's words. */
static void detect_transfer(struct session_mode *m, const char *cmd, const char *sftp_server)
{
	char *copy, *w[MAX_WORDS];
	const char *b;
	int n;

	if ((copy = strdup(cmd)) == NULL)
		return;
	n = split_words(copy, w);
	if (n == 0)
		goto out;
	b = base_name(w[0]);
	if (strcmp(b, "sftp-server") == 0 ||
	    (sftp_server != NULL && strcmp(w[0], sftp_server) == 0)) {
		m->transfer = "sftp";
		m->direction = "both";
	} else if (strcmp(b, "scp") == 0 && (scp_flag(w, n, 't') || scp_flag(w, n, 'f'))) {
		m->transfer = "scp";
		m->direction = scp_flag(w, n, 't') ? "upload" : "download";
	} else if (strcmp(b, "rsync") == 0 && has_word(w, n, "--server")) {
		m->transfer = "rsync";
		m->direction = has_word(w, n, "--sender") ? "download" : "upload";
	} else if (strcmp(b, "git-upload-pack") == 0 ||
	           (strcmp(b, "git") == 0 && n > 1 && strcmp(w[1], "upload-pack") == 0)) {
		m->transfer = "git-upload-pack";
		m->direction = "download";
	} else if (strcmp(b, "git-upload-archive") == 0 ||
	           (strcmp(b, "git") == 0 && n > 1 && strcmp(w[1], "upload-archive") == 0)) {
		m->transfer = "git-upload-archive";
		m->direction = "download";
	} else if (strcmp(b, "git-receive-pack") == 0 ||
	           (strcmp(b, "git") == 0 && n > 1 && strcmp(w[1], "receive-pack") == 0)) {
		m->transfer = "git-receive-pack";
		m->direction = "upload";
	}
out:
	free(copy);
}

/* internal-sftp [args] becomes "<sftp_server> [args]": sshd would have run it in-process. */
static char *map_internal_sftp(const char *cmd, const char *sftp_server)
{
	const char *p = cmd + strspn(cmd, " \t");
	size_t n = strlen("internal-sftp");
	char *out = NULL;

	if (strncmp(p, "internal-sftp", n) != 0 || (p[n] != '\0' && p[n] != ' ' && p[n] != '\t'))
		return strdup(cmd);
	if (asprintf(&out, "%s%s", sftp_server, p + n) < 0)
		return NULL;
	return out;
}

/* A -c command that is this program itself: ForceCommand through a recorder login shell. */
static int is_self(const char *cmd)
{
	char *copy, *w[MAX_WORDS];
	int n, self;

	if ((copy = strdup(cmd)) == NULL)
		return 0;
	n = split_words(copy, w);
	self = n == 1 && strcmp(base_name(w[0]), "tollgate-record") == 0;
	free(copy);
	return self;
}

int session_mode_parse(struct session_mode *m, int argc, char **argv, const char *orig_env, int tty,
                       const char *sftp_server)
{
	const char *cmd = NULL;

	*m = (struct session_mode)SESSION_MODE_VOID;
	if (argc == 1 && argv[0] != NULL && argv[0][0] == '-') {
		m->entry = SESSION_ENTRY_LOGIN_SHELL;
	} else if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		m->entry = SESSION_ENTRY_LOGIN_SHELL;
		cmd = argv[2];
		if (is_self(cmd)) {
			m->entry = SESSION_ENTRY_FORCECOMMAND;
			cmd = orig_env;
		}
	} else if (argc <= 1) {
		m->entry = SESSION_ENTRY_FORCECOMMAND;
		cmd = orig_env;
	} else {
		return TG_ERR_INVALID;
	}
	if (cmd != NULL && *cmd == '\0')
		cmd = NULL;
	if (cmd != NULL) {
		if ((m->original = strdup(cmd)) == NULL ||
		    (m->command = map_internal_sftp(cmd, sftp_server)) == NULL) {
			session_mode_free(m);
			return TG_ERR_NOMEM;
		}
		if (!tty)
			detect_transfer(m, m->command, sftp_server);
	}
	if (tty)
		m->kind = SESSION_INTERACTIVE;
	else if (m->transfer != NULL)
		m->kind = SESSION_TRANSFER;
	else
		m->kind = SESSION_COMMAND;
	return TG_OK;
}

void session_mode_free(struct session_mode *m)
{
	free(m->command);
	free(m->original);
	m->command = m->original = NULL;
}
