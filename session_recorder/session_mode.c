#include "session_mode.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shell_line.h"
#include "tg_error.h"
#include "tg_spool.h"

#define MAX_WORDS 64
#define MAX_TRANSFER_WORDS 4096

/* Where a transfer program named without a path is looked for. */
static const char *const program_dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};

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

/* A file name that is the reader's own stdin: a script read from there is read from stdin. */
static int is_stdin_name(const char *w)
{
	return strcmp(w, "-") == 0 || strcmp(w, "/dev/stdin") == 0 || strcmp(w, "/dev/fd/0") == 0 ||
	       strcmp(w, "/proc/self/fd/0") == 0;
}

/* The program word (its part after the last '/') is name, or name and a version: "python3.11" for
 * "python", "perl5.36.0", "lua5.4"; not "pythonic". */
static int is_program(const char *word, const char *name)
{
	const char *b = base_name(word), *p;
	size_t len = strlen(name);

	if (strncmp(b, name, len) != 0)
		return 0;
	p = b + len;
	if (*p == '\0')
		return 1;
	if (!isdigit((unsigned char)*p))
		return 0;
	p += strspn(p, "0123456789.");
	/* Debian's perl5.36-x86_64-linux-gnu: a version and the architecture's triplet */
	return *p == '\0' || (*p == '-' && strstr(p, "-linux-") != NULL);
}

static const char *const shells[] = {"sh",    "bash", "rbash", "dash", "zsh",  "ksh",
                                     "ksh93", "mksh", "lksh",  "ash",  "hush", "yash",
                                     "posh",  "fish", "csh",   "tcsh"};

static int is_shell(const char *word)
{
	size_t k;

	for (k = 0; k < sizeof(shells) / sizeof(shells[0]); k++)
		if (is_program(word, shells[k]))
			return 1;
	return 0;
}

/* How deep command strings inside command strings are followed ("sh -c \"su -c 'bash'\""); past
 * that, a line is looked at for names only. */
#define MAX_NESTING 4

static int line_reads_stdin(const char *cmd, int depth);

/* The long options of the wrappers below that take an argument ("--signal KILL" or "--signal=KILL")
 * and their flags, as the versions in Debian 12 (coreutils 9.1, util-linux 2.38) read them. */
static const char *const no_long[] = {NULL};
static const char *const nice_long_arg[] = {"--adjustment", NULL};
static const char *const timeout_long_arg[] = {"--kill-after", "--signal", NULL};
static const char *const timeout_long_flag[] = {"--preserve-status", "--foreground", "--verbose",
                                                NULL};
static const char *const setsid_long_flag[] = {"--ctty", "--fork", "--wait", NULL};
static const char *const stdbuf_long_arg[] = {"--input", "--output", "--error", NULL};
static const char *const ionice_long_arg[] = {"--class", "--classdata", NULL};
static const char *const ionice_long_flag[] = {"--ignore", NULL};
static const char *const chrt_long_arg[] = {"--sched-runtime", "--sched-period", "--sched-deadline",
                                            NULL};
static const char *const chrt_long_flag[] = {"--batch",         "--deadline", "--fifo",
                                             "--idle",          "--other",    "--rr",
                                             "--reset-on-fork", "--verbose",  NULL};
static const char *const taskset_long_flag[] = {"--cpu-list", NULL};
static const char *const flock_long_arg[] = {"--timeout", "--conflict-exit-code", NULL};
static const char *const flock_long_flag[] = {"--shared", "--exclusive", "--unlock",  "--nonblock",
                                              "--close",  "--no-fork",   "--verbose", NULL};
static const char *const chroot_long_arg[] = {"--groups", "--userspec", NULL};
static const char *const chroot_long_flag[] = {"--skip-chdir", NULL};
/* unshare's and nsenter's; those with an optional value take it only after '=' ("--mount=FILE",
 * "--mount-proc=DIR"): flags here, read with it by skip_wrapper_options */
static const char *const unshare_long_arg[] = {
    "--propagation", "--setgroups",  "--root",     "--wd",       "--setuid",
    "--setgid",      "--monotonic",  "--boottime", "--map-user", "--map-group",
    "--map-users",   "--map-groups", NULL};
static const char *const unshare_long_flag[] = {"--mount",
                                                "--uts",
                                                "--ipc",
                                                "--net",
                                                "--pid",
                                                "--user",
                                                "--cgroup",
                                                "--time",
                                                "--fork",
                                                "--map-root-user",
                                                "--map-current-user",
                                                "--map-auto",
                                                "--kill-child",
                                                "--mount-proc",
                                                "--keep-caps",
                                                NULL};
static const char *const nsenter_long_arg[] = {"--target", "--setuid", "--setgid", "--wdns", NULL};
static const char *const nsenter_long_flag[] = {"--all",
                                                "--mount",
                                                "--uts",
                                                "--ipc",
                                                "--net",
                                                "--pid",
                                                "--cgroup",
                                                "--user",
                                                "--time",
                                                "--root",
                                                "--wd",
                                                "--no-fork",
                                                "--follow-context",
                                                "--preserve-credentials",
                                                NULL};

/* Programs that run the next word as a program with the same stdin (xargs: with words read
 * from its stdin), and their options: flags, those that take an argument (in the same word or the
 * next, or only in the same word: "attached"), and those that run a shell, which reads stdin when
 * no word follows ("sudo -s", "sudo -i"); the words between the options and the program
 * (timeout's DURATION, chrt's PRIORITY, taskset's MASK, flock's FILE, chroot's NEWROOT); the long
 * options, when they are read from these lists (NULL: by code of their own). Options not listed
 * make the program not told apart: -p of ionice, chrt and taskset (a running process), chrt -m,
 * doas -C and -L run no program. su and runuser are read by skip_su. */
static const struct {
	const char *name, *flags, *with_arg, *attached, *shell;
	int positional;
	const char *const *long_arg, *const *long_flag;
} wrappers[] = {
    {"exec", "cl", "a", "", "", 0, NULL, NULL}, /* bash's; dash's takes none */
    {"env", "i0v", "uC", "", "", 0, NULL, NULL},
    {"command", "p", "", "", "", 0, NULL, NULL},
    {"builtin", "", "", "", "", 0, NULL, NULL}, /* bash's: "builtin eval ..." */
    {"busybox", "", "", "", "", 0, NULL, NULL}, /* its applet: "busybox sh" */
    {"toybox", "", "", "", "", 0, NULL, NULL},
    {"sudo", "AEHknPS", "ugCDhprtTU", "", "si", 0, NULL, NULL},
    /* -a only naming stdin: with a file, the program's stdin is xargs' own */
    {"xargs", "0oprtx", "dEILnPs", "eil", "", 0, NULL, NULL},
    {"nice", "", "n", "", "", 0, nice_long_arg, no_long}, /* not the old "nice -5" */
    {"nohup", "", "", "", "", 0, no_long, no_long},
    {"timeout", "v", "ks", "", "", 1, timeout_long_arg, timeout_long_flag},
    {"setsid", "cfw", "", "", "", 0, no_long, setsid_long_flag},
    {"stdbuf", "", "ioe", "", "", 0, stdbuf_long_arg, no_long},
    {"ionice", "t", "cn", "", "", 0, ionice_long_arg, ionice_long_flag},
    {"chrt", "bdfioRrv", "TPD", "", "", 1, chrt_long_arg, chrt_long_flag},
    {"taskset", "c", "", "", "", 1, no_long, taskset_long_flag},
    {"flock", "sexnoFu", "wE", "", "", 1, flock_long_arg, flock_long_flag},
    {"chroot", "", "", "", "", 1, chroot_long_arg, chroot_long_flag}, /* alone: "$SHELL -i" */
    /* alone, they run "$SHELL"; a namespace's FILE only attached: "-n/run/netns/x" */
    {"unshare", "fcr", "RwSG", "muinpUCT", "", 0, unshare_long_arg, unshare_long_flag},
    {"nsenter", "aFZ", "tSGW", "muinpCUTrw", "", 0, nsenter_long_arg, nsenter_long_flag},
    {"doas", "n", "u", "", "s", 0, no_long, no_long}, /* OpenDoas */
    {"su", "", "", "", "", 0, NULL, NULL},
    {"script", "", "", "", "", 0, NULL, NULL}, /* read by skip_script */
    {"runuser", "", "", "", "", 0, NULL, NULL},
};

/* What xargs in front of the program does with its input. */
struct xargs_feed {
	int appends;         /* adds the words it reads to the program's: "xargs sh -c" */
	const char *replace; /* -I: puts each line in the program's words in place of this */
};
#define XARGS_FEED_VOID                                                                            \
	{                                                                                          \
		0, NULL                                                                            \
	}

/* sudo's long options that take an argument ("--user root" or "--user=root"), its flags, and
 * those that run a shell */
static const char *const sudo_long_arg[] = {
    "--user", "--group",      "--chdir",           "--prompt",     "--host", "--role",
    "--type", "--close-from", "--command-timeout", "--other-user", NULL};
static const char *const sudo_long_flag[] = {"--preserve-env", "--non-interactive", "--stdin",
                                             "--set-home",     "--askpass",         NULL};
static const char *const sudo_long_shell[] = {"--login", "--shell", NULL};
/* GNU xargs' long options that take an argument (or "--name=value"), and its flags */
static const char *const xargs_long_arg[] = {"--delimiter", "--max-args",         "--max-procs",
                                             "--max-chars", "--process-slot-var", NULL};
static const char *const xargs_long_flag[] = {
    "--null", "--no-run-if-empty", "--verbose", "--interactive", "--exit", "--open-tty",
    "--eof",  "--max-lines",       NULL};
static const char *const xargs_long_replace[] = {"--replace", NULL};
static const char *const xargs_long_arg_file[] = {"--arg-file", NULL};

static int in_list(const char *w, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

/*
 * The long option of the NULL-terminated list that the first len bytes of w name, as getopt_long
 * reads them: the option itself, or else the start of its name ("--comm" for "--command"; a start
 * shared by two options is one getopt_long refuses, and the program then runs nothing). NULL for
 * none.
 */
static const char *long_name(const char *w, size_t len, const char *const *list)
{
	const char *const *l;

	for (l = list; *l != NULL; l++)
		if (strlen(*l) == len && strncmp(w, *l, len) == 0)
			return *l;
	for (l = list; len > 2 && *l != NULL; l++)
		if (strlen(*l) > len && strncmp(w, *l, len) == 0)
			return *l;
	return NULL;
}

/* A long option of a wrapper whose long options are listed: 0 a flag, 1 one that takes the next
 * word, -1 one not known (or a flag given a value). */
static int listed_long(size_t k, const char *w)
{
	const char *eq = strchr(w, '=');
	size_t len = eq != NULL ? (size_t)(eq - w) : strlen(w);

	if (long_name(w, len, wrappers[k].long_arg) != NULL)
		return eq == NULL;
	return eq == NULL && long_name(w, len, wrappers[k].long_flag) != NULL ? 0 : -1;
}

/* NAME=value: an assignment before a command, or env's. */
static int is_assignment(const char *w)
{
	const char *p = w;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return *p == '=';
}

/* Puts the word at o in single quotes, a blank after it, for sh to read back as it is; returns
 * the end. */
static char *put_quoted(char *o, const char *word)
{
	*o++ = '\'';
	for (; *word != '\0'; word++) {
		if (*word == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *word;
		}
	}
	*o++ = '\'';
	*o++ = ' ';
	return o;
}

/*
 * env -S STRING (--split-string; "#!/usr/bin/env -S sh -s") reads STRING as words of its own, env's
 * options and the command, put in place of the option: the command line again with STRING left
 * unquoted, for sh's cutting (env's quoting is sh's, near enough) to read. w[opt] is the option's
 * word, its first keep bytes the flags before S ("-i" of "-iS"), the words from next on follow the
 * string. NULL when out of memory.
 */
static char *env_split_line(char **w, int n, int opt, size_t keep, const char *string, int next)
{
	size_t len = strlen(string) + keep + 3;
	char *line, *o;
	int j;

	for (j = 0; j < n; j++)
		len += 4 * strlen(w[j]) + 3;
	if ((line = malloc(len)) == NULL)
		return NULL;
	for (j = 0, o = line; j < opt; j++)
		o = put_quoted(o, w[j]);
	if (keep > 1) { /* not "-" alone: that is env's -i */
		memcpy(o, w[opt], keep);
		o += keep;
		*o++ = ' ';
	}
	memcpy(o, string, strlen(string));
	o += strlen(string);
	*o++ = ' ';
	for (j = next; j < n; j++)
		o = put_quoted(o, w[j]);
	*o = '\0';
	return line;
}

/* The options of wrappers[k] from w[i] on: the index of the word after them, -1 for an option
 * not known here (command -v, sudo -e: the next word may not be run at all). *shell: an option
 * that makes it run a shell was given; x->replace: xargs' -I string; *split: env -S, the command
 * line to read in place of this one (env_split_line), with n returned. */
static int skip_wrapper_options(size_t k, char **w, int i, int n, int *shell, struct xargs_feed *x,
                                char **split)
{
	int sudo = strcmp(wrappers[k].name, "sudo") == 0;
	int xargs = strcmp(wrappers[k].name, "xargs") == 0;
	int env = strcmp(wrappers[k].name, "env") == 0;
	int namespaces =
	    strcmp(wrappers[k].name, "unshare") == 0 || strcmp(wrappers[k].name, "nsenter") == 0;
	const char *p;

	for (; i < n && w[i][0] == '-'; i++) {
		if (strcmp(w[i], "--") == 0)
			return i + 1;
		if (strcmp(w[i], "-") == 0) {
			if (strcmp(wrappers[k].name, "env") == 0)
				continue; /* env's -i */
			break;            /* not an option: the program's name */
		}
		if (w[i][1] == '-' && wrappers[k].long_arg != NULL) {
			int r = listed_long(k, w[i]);

			if (r < 0 && namespaces && strchr(w[i], '=') != NULL &&
			    long_name(w[i], strcspn(w[i], "="), wrappers[k].long_flag) != NULL)
				r = 0; /* "--mount=FILE", "--kill-child=SIGTERM" */
			if (r < 0 || (r > 0 && ++i >= n))
				return -1;
			continue;
		}
		if (w[i][1] == '-' && sudo) {
			if (long_name(w[i], strlen(w[i]), sudo_long_shell) != NULL) {
				*shell = 1;
			} else if (long_name(w[i], strlen(w[i]), sudo_long_arg) != NULL) {
				if (++i >= n) /* the next word is the argument */
					return -1;
			} else if (strchr(w[i], '=') == NULL &&
			           long_name(w[i], strlen(w[i]), sudo_long_flag) == NULL) {
				return -1;
			}
			continue;
		}
		if (w[i][1] == '-' && xargs) {
			size_t len = strcspn(w[i], "=");

			if (long_name(w[i], len, xargs_long_replace) != NULL) {
				x->replace = w[i][len] == '=' ? w[i] + len + 1 : "{}";
			} else if (long_name(w[i], len, xargs_long_arg_file) != NULL) {
				/* --arg-file=FILE: the words from there, the command's stdin is
				 * xargs' own; when FILE is stdin, as without it */
				const char *file = w[i][len] == '=' ? w[i] + len + 1
				                   : i + 1 < n      ? w[++i]
				                                    : NULL;

				if (file == NULL || !is_stdin_name(file))
					return -1;
			} else if (long_name(w[i], strlen(w[i]), xargs_long_arg) != NULL) {
				if (++i >= n)
					return -1;
			} else if (strchr(w[i], '=') == NULL &&
			           long_name(w[i], strlen(w[i]), xargs_long_flag) == NULL) {
				return -1;
			}
			continue;
		}
		if (w[i][1] == '-') {
			/* env's: "--unset NAME", "--chdir DIR", "--name=value", flags */
			static const char *const env_split[] = {"--split-string", NULL};
			static const char *const env_arg[] = {"--unset", "--chdir", NULL};
			size_t len = strcspn(w[i], "=");

			if (!env)
				return -1;
			if (long_name(w[i], len, env_split) != NULL) {
				if (w[i][len] == '\0' && i + 1 >= n)
					return -1;
				*split = env_split_line(
				    w, n, i, 0, w[i][len] == '=' ? w[i] + len + 1 : w[i + 1],
				    w[i][len] == '=' ? i + 1 : i + 2);
				return *split != NULL ? n : -1;
			}
			if (w[i][len] == '\0' && long_name(w[i], len, env_arg) != NULL && ++i >= n)
				return -1;
			continue;
		}
		for (p = w[i] + 1; *p != '\0'; p++) {
			if (env && *p == 'S') { /* -S STRING, -SSTRING */
				if (p[1] == '\0' && i + 1 >= n)
					return -1;
				*split = env_split_line(w, n, i, (size_t)(p - w[i]),
				                        p[1] != '\0' ? p + 1 : w[i + 1],
				                        p[1] != '\0' ? i + 1 : i + 2);
				return *split != NULL ? n : -1;
			}
			if (strchr(wrappers[k].with_arg, *p) != NULL) {
				if (p[1] == '\0')
					i++; /* the next word is the argument */
				if (xargs && *p == 'I')
					x->replace = p[1] != '\0' ? p + 1 : i < n ? w[i] : NULL;
				break;
			}
			if (xargs && *p == 'a') { /* -a FILE: as --arg-file */
				if (p[1] == '\0' && ++i >= n)
					return -1;
				if (!is_stdin_name(p[1] != '\0' ? p + 1 : w[i]))
					return -1;
				break;
			}
			if (strchr(wrappers[k].attached, *p) != NULL) {
				if (xargs && *p == 'i') /* -i[R]: -I R, {} when R is not given */
					x->replace = p[1] != '\0' ? p + 1 : "{}";
				break;
			}
			if (strchr(wrappers[k].shell, *p) != NULL)
				*shell = 1;
			else if (strchr(wrappers[k].flags, *p) == NULL)
				return -1;
		}
	}
	return i;
}

/*
 * su [options] [-] [USER [ARG...]], and runuser, which runs a command as well: runuser -u USER
 * [--] COMMAND [ARG...]. Their getopt reads options anywhere up to "--" ("su root --login").
 * The index of the program's word: the command of runuser -u, or -s SHELL (its word, or the
 * rest of it: *end is then the index after it, the SHELL getting no words); n with *shell for
 * the user's own shell; n with *code for -c CMD (--command, --session-command), the string the
 * shell runs (not with a -s SHELL that is no shell). -1 for words for the shell after USER
 * without -c, options after runuser's command, or an option not known here.
 */
static int skip_su(char **w, int i, int n, int runuser, int *shell, int *end, const char **code)
{
	static const char *const flag_long[] = {"--preserve-environment", "--login", "--fast",
	                                        "--pty", NULL};
	static const char *const arg_long[] = {"--group", "--supp-group", "--whitelist-environment",
	                                       "--shell", "--user",       NULL};
	static const char *const code_long[] = {"--command", "--session-command", NULL};
	const char *p, *eq, *opt;
	int first = -1, words = 0, user = 0, sh = -1, dashdash = 0, opt_after = 0;
	size_t len;

	for (; i < n; i++) {
		if (dashdash || w[i][0] != '-' || (strcmp(w[i], "-") == 0 && first >= 0)) {
			if (first < 0)
				first = i;
			words++;
			continue;
		}
		if (first >= 0)
			opt_after = 1;
		if (strcmp(w[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(w[i], "-") == 0) /* --login */
			continue;
		if (w[i][1] == '-') {
			eq = strchr(w[i], '=');
			len = eq != NULL ? (size_t)(eq - w[i]) : strlen(w[i]);
			if (eq == NULL && long_name(w[i], len, flag_long) != NULL)
				continue;
			if (((opt = long_name(w[i], len, arg_long)) == NULL &&
			     (opt = long_name(w[i], len, code_long)) == NULL) ||
			    (!runuser && strcmp(opt, "--user") == 0))
				return -1;
			if (eq != NULL)
				w[i] = (char *)eq + 1; /* the argument */
			else if (++i >= n)
				return -1;
			if (long_name(opt, strlen(opt), code_long) != NULL)
				*code = w[i];
			if (strcmp(opt, "--shell") == 0)
				sh = i;
			user |= strcmp(opt, "--user") == 0;
			continue;
		}
		for (p = w[i] + 1; *p != '\0'; p++) {
			if (strchr("gGswc", *p) != NULL || (runuser && *p == 'u')) {
				if (p[1] != '\0') {
					w[i] = (char *)p + 1;
				} else if (++i >= n) {
					return -1;
				}
				if (*p == 's')
					sh = i;
				if (*p == 'c')
					*code = w[i];
				user |= *p == 'u';
				break;
			}
			if (strchr("mpflP", *p) == NULL)
				return -1;
		}
	}
	if (user) /* runuser -u: the words left are the command */
		return sh < 0 && !opt_after && first >= 0 && *code == NULL ? first : -1;
	if (*code != NULL) /* the words after USER are the shell's $0, $1, ... */
		return sh < 0 || is_shell(w[sh]) ? n : -1;
	if (words > 1)
		return -1;
	if (sh >= 0) {
		*end = sh + 1;
		return sh;
	}
	*shell = 1;
	return n;
}

/*
 * script [options] [FILE] (util-linux 2.38) runs the user's shell, or with -c CMD (--command) that
 * shell running CMD, on a new pty that script's own stdin feeds. Its options from w[i] on: n with
 * *shell, or with *code for -c; -1 for -h, -V, a second FILE or an option not known here.
 */
static int skip_script(char **w, int i, int n, int *shell, const char **code)
{
	static const char *const flag_long[] = {"--append", "--return", "--flush",
	                                        "--force",  "--quiet",  NULL};
	static const char *const arg_long[] = {"--echo",         "--log-io",     "--log-in",
	                                       "--log-out",      "--log-timing", "--logging-format",
	                                       "--output-limit", "--command",    NULL};
	static const char *const timing_long[] = {"--timing", NULL};
	const char *p, *eq, *arg, *opt;
	int files = 0, dashdash = 0, command;
	size_t len;

	for (; i < n; i++) {
		if (dashdash || w[i][0] != '-' || w[i][1] == '\0') {
			files++; /* the typescript */
			continue;
		}
		if (strcmp(w[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (w[i][1] == '-') {
			eq = strchr(w[i], '=');
			len = eq != NULL ? (size_t)(eq - w[i]) : strlen(w[i]);
			if ((eq == NULL && long_name(w[i], len, flag_long) != NULL) ||
			    long_name(w[i], len, timing_long) != NULL)
				continue; /* --timing takes its FILE only after '=' */
			if ((opt = long_name(w[i], len, arg_long)) == NULL)
				return -1;
			command = strcmp(opt, "--command") == 0;
			arg = eq != NULL ? eq + 1 : ++i < n ? w[i] : NULL;
			if (arg == NULL)
				return -1;
			if (command)
				*code = arg;
			continue;
		}
		for (p = w[i] + 1; *p != '\0' && *p != 't'; p++) { /* -t[FILE]: the rest of it */
			if (strchr("cEBIOTmo", *p) != NULL) {
				arg = p[1] != '\0' ? p + 1 : ++i < n ? w[i] : NULL;
				if (arg == NULL)
					return -1;
				if (*p == 'c')
					*code = arg;
				break;
			}
			if (strchr("aefq", *p) == NULL)
				return -1;
		}
	}
	if (files > 1)
		return -1;
	*shell = *code == NULL;
	return n;
}

/* flock FILE -c CMD (--command CMD, --command=CMD) from w[i] on: CMD, a shell's command string;
 * NULL for a program and its words. */
static const char *flock_code(char **w, int i, int n)
{
	const char *opt = "--command=";

	if (i < n && strncmp(w[i], opt, strlen(opt)) == 0)
		return w[i] + strlen(opt);
	if (i + 1 < n && (strcmp(w[i], "-c") == 0 || strcmp(w[i], "--command") == 0))
		return w[i + 1];
	return NULL;
}

/* The index of the program's word past assignments and wrappers; *n when the last wrapper runs a
 * shell with no command ("sudo -s") or, after xargs, a command from xargs' input ("xargs env"), or
 * runs a shell's command string (*code: "su -c CMD", "flock FILE -c CMD"), or env -S gives the
 * command line to read instead (*code and *owned, for the caller to free); -1 when it cannot be
 * told. *n is lowered when the program gets no more words ("su -s SHELL USER"). *x: what an xargs
 * among the wrappers feeds the program. */
static int program_word(char **w, int *np, struct xargs_feed *x, const char **code, char **owned)
{
	size_t k;
	int i = 0, n = *np, shell = 0, after_xargs = 0;
	const char *name;

	while (i < n) {
		if (is_assignment(w[i])) {
			i++;
			continue;
		}
		for (k = 0; k < sizeof(wrappers) / sizeof(wrappers[0]); k++)
			if (strcmp(base_name(w[i]), wrappers[k].name) == 0)
				break;
		if (k == sizeof(wrappers) / sizeof(wrappers[0]))
			return i;
		name = wrappers[k].name;
		shell = 0;
		after_xargs = x->appends || x->replace != NULL;
		if (strcmp(name, "xargs") == 0) {
			after_xargs = 0;
			x->replace = NULL;
		}
		if (strcmp(name, "script") == 0) {
			if ((i = skip_script(w, i + 1, n, &shell, code)) < 0)
				return -1;
			if (*code != NULL)
				return n;
			continue;
		}
		if (strcmp(name, "su") == 0 || strcmp(name, "runuser") == 0) {
			if ((i = skip_su(w, i + 1, n, name[0] == 'r', &shell, np, code)) < 0)
				return -1;
			if (*code != NULL)
				return *np;
			n = *np;
			continue;
		}
		if ((i = skip_wrapper_options(k, w, i + 1, n, &shell, x, owned)) < 0)
			return -1;
		if (*owned != NULL) {
			*code = *owned;
			return n;
		}
		if (wrappers[k].positional > 0) {
			/* DURATION, PRIORITY, MASK, FILE, NEWROOT */
			if (i >= n ||
			    (strcmp(name, "chrt") == 0 && w[i][strspn(w[i], "0123456789")] != '\0'))
				return -1;
			if (strcmp(name, "flock") == 0 && (*code = flock_code(w, i + 1, n)) != NULL)
				return n;
			i++;
			shell = strcmp(name, "chroot") == 0; /* with no command: "$SHELL -i" */
		}
		if (strcmp(name, "unshare") == 0 || strcmp(name, "nsenter") == 0)
			shell = 1; /* with no program: "$SHELL" */
		if (strcmp(name, "xargs") == 0)
			x->appends = x->replace == NULL; /* -I puts, in place of adding */
	}
	return shell || (after_xargs && x->appends) ? n : -1;
}

/* The word is xargs' -I string, or holds it: xargs puts each line it reads there. */
static int from_xargs(const struct xargs_feed *x, const char *word)
{
	return x->replace != NULL && x->replace[0] != '\0' && strstr(word, x->replace) != NULL;
}

/*
 * A shell's words after its name leave it reading its commands from stdin: options only ("-l",
 * "--login", "-o posix", "--rcfile FILE"), or with -s the shell's own arguments after them
 * ("sh -s a b"), or the script /dev/stdin; not a script ("bash x.sh", "bash -- x.sh"), not
 * --version or --help; with -c, when the command string does ("sh -c 'cd /x; bash'", read at
 * depth + 1) or xargs gives it ("xargs sh -c").
 */
static int shell_args_read_stdin(char **w, int n, const struct xargs_feed *x, int depth)
{
	const char *p, *opt;
	int i, dash_s = 0, dash_c = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(w[i], "--") == 0 || strcmp(w[i], "-") == 0) {
			i++;
			break;
		}
		if (w[i][0] != '-' && w[i][0] != '+')
			break;
		if (w[i][1] == '-') {
			if (strcmp(w[i], "--version") == 0 || strcmp(w[i], "--help") == 0)
				return 0;
			if (strcmp(w[i], "--rcfile") == 0 || strcmp(w[i], "--init-file") == 0)
				i++; /* the file */
			continue;
		}
		/* the letters' word: -o moves i on to its name, "-oc" past the last word */
		for (opt = w[i], p = opt + 1; *p != '\0'; p++) {
			if (*p == 'c' && opt[0] == '-')
				dash_c = 1;
			if (*p == 's' && opt[0] == '-')
				dash_s = 1;
			if (*p == 'o' || *p == 'O')
				i++; /* the option's name, the next word ("-eo pipefail") */
		}
	}
	if (dash_c) /* the command is the first word left */
		return i < n ? from_xargs(x, w[i]) || line_reads_stdin(w[i], depth + 1)
		             : x->appends;
	return i >= n || dash_s || is_stdin_name(w[i]);
}

/* What an interpreter's long option (without its "--") does. */
enum long_kind {
	LONG_FLAG,       /* not listed: a flag, or "--name=value" */
	LONG_ARG,        /* takes an argument: "--require mod" or "--require=mod" */
	LONG_INLINE,     /* the program is its argument: "--eval code" */
	LONG_FILE,       /* its argument is the file the program is read from: awk's "--file f" */
	LONG_STDIN,      /* reads commands from stdin whatever else is given: "--interactive" */
	LONG_NO_PROGRAM, /* runs no program: "--version" */
	LONG_END, /* the rest are the program's arguments, no script among them: R's "--args" */
	LONG_TWO_ARGS, /* takes two arguments: sqlite3's "-lookaside SIZE N" */
	LONG_NO_STDIN, /* reads no commands from stdin, only its files: gdb's "-batch" */
	LONG_FILE_TOO, /* its argument is a file of commands read before stdin: gdb's "-x FILE" */
};

struct long_option {
	const char *name;
	enum long_kind kind;
};

/* Where the words after the program's name put the first word that is not an option. */
enum positional {
	POS_SCRIPT,   /* a script file: python3 x.py */
	POS_PROGRAM,  /* the program's text: awk NF, sed p */
	POS_IGNORED,  /* no script: R, at, make, ed read on, and their options may follow */
	POS_DATABASE, /* the database, then the program's text: sqlite3 db.sqlite 'select 1' */
	POS_JS_FILES, /* the server's address, or a script if it ends in .js: mongosh host x.js */
	POS_FILES,    /* files of its program, each run after -e and -f: dc -e 1 x.dc - */
};

/*
 * An interpreter's options, as far as they tell where its program comes from. Short options are
 * letters in a word after '-' ("-Wignore", "-lane"); one taking an argument takes the rest of the
 * word or, if that is empty, the next word; an "attached" one only the rest of its word
 * ("perl -i.bak"). Options not listed are flags: an argument so missed is taken for a script, and
 * the input left unstored, never the other way round.
 */
static const struct interpreter {
	const char *const *names; /* a version may follow: python3.11 */
	const char *with_arg, *attached, *digits;
	const char *inline_prog; /* the program is its argument: -c, -e */
	const char *prog_file;   /* its argument is the file the program is read from: awk -f */
	const char *stdin_too;   /* reads commands from stdin whatever else is given: python -i */
	const char *no_program;  /* runs no program: -V, -h */
	const struct long_option *longs;
	enum positional positional;
	int program_ends_options; /* options after -c are the program's: python3 -c x -i */
	int bare_reads;           /* with no script and no program given, reads one from stdin */
	int word_options;         /* its options are words of longs after - or --: sqlite3 -cmd */
	int script_after_inline;  /* a script may follow its inline programs: lua -e x - */
} interpreters[] = {
    {(const char *const[]){"python", "pypy", NULL}, "WX", "", "", "cm", "", "i", "hV",
     (const struct long_option[]){{"check-hash-based-pycs", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"help-env", LONG_NO_PROGRAM},
                                  {"help-xoptions", LONG_NO_PROGRAM},
                                  {"help-all", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_SCRIPT, 1, 1, 0, 0},
    {(const char *const[]){"perl", NULL}, "I", "MmxiCFdD0", "l", "eE", "", "", "hvV",
     (const struct long_option[]){
         {"version", LONG_NO_PROGRAM}, {"help", LONG_NO_PROGRAM}, {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 1, 0, 0},
    {(const char *const[]){"ruby", NULL}, "ICEr", "xFKTWi0", "", "e", "", "", "hv",
     (const struct long_option[]){{"enable", LONG_ARG},
                                  {"disable", LONG_ARG},
                                  {"encoding", LONG_ARG},
                                  {"external-encoding", LONG_ARG},
                                  {"internal-encoding", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"copyright", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 1, 0, 0},
    {(const char *const[]){"node", "nodejs", NULL}, "rC", "", "", "ep", "", "i", "hv",
     (const struct long_option[]){{"eval", LONG_INLINE},
                                  {"print", LONG_INLINE},
                                  {"run", LONG_INLINE},
                                  {"interactive", LONG_STDIN},
                                  {"require", LONG_ARG},
                                  {"import", LONG_ARG},
                                  {"loader", LONG_ARG},
                                  {"experimental-loader", LONG_ARG},
                                  {"conditions", LONG_ARG},
                                  {"input-type", LONG_ARG},
                                  {"title", LONG_ARG},
                                  {"env-file", LONG_ARG},
                                  {"test", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"v8-options", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 1, 0, 0},
    {(const char *const[]){"php", NULL}, "cdzt", "", "", "rRBE", "fF", "a", "himvS",
     (const struct long_option[]){{"php-ini", LONG_ARG},
                                  {"define", LONG_ARG},
                                  {"zend-extension", LONG_ARG},
                                  {"docroot", LONG_ARG},
                                  {"run", LONG_INLINE},
                                  {"process-begin", LONG_INLINE},
                                  {"process-code", LONG_INLINE},
                                  {"process-end", LONG_INLINE},
                                  {"file", LONG_FILE},
                                  {"process-file", LONG_FILE},
                                  {"interactive", LONG_STDIN},
                                  {"info", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"modules", LONG_NO_PROGRAM},
                                  {"server", LONG_NO_PROGRAM},
                                  {"ini", LONG_NO_PROGRAM},
                                  {"rf", LONG_NO_PROGRAM},
                                  {"rc", LONG_NO_PROGRAM},
                                  {"re", LONG_NO_PROGRAM},
                                  {"rz", LONG_NO_PROGRAM},
                                  {"ri", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 1, 0, 0},
    /* lua reads stdin when given neither -e nor -v; luajit's -j, -O and -b too */
    /* "-e stat" runs before the script, which may still follow: "lua -e x -" runs stdin */
    {(const char *const[]){"lua", "luajit", NULL}, "lj", "O", "", "e", "", "i", "vb",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_SCRIPT, 0, 1, 0, 1},
    {(const char *const[]){"Rscript", NULL}, "", "", "", "e", "", "", "",
     (const struct long_option[]){
         {"version", LONG_NO_PROGRAM}, {"help", LONG_NO_PROGRAM}, {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 0, 0, 0},
    {(const char *const[]){"R", NULL}, "dg", "", "", "e", "f", "", "h",
     (const struct long_option[]){{"file", LONG_FILE},
                                  {"args", LONG_END},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    {(const char *const[]){"awk", "gawk", "mawk", "nawk", "original-awk", NULL}, "FvlW", "", "",
     "e", "fEi", "", "Vh",
     (const struct long_option[]){{"file", LONG_FILE},
                                  {"exec", LONG_FILE},
                                  {"include", LONG_FILE},
                                  {"source", LONG_INLINE},
                                  {"field-separator", LONG_ARG},
                                  {"assign", LONG_ARG},
                                  {"load", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"usage", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_PROGRAM, 0, 0, 0, 0},
    {(const char *const[]){"sed", "gsed", NULL}, "l", "i", "", "e", "f", "", "",
     (const struct long_option[]){{"expression", LONG_INLINE},
                                  {"file", LONG_FILE},
                                  {"line-length", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_PROGRAM, 0, 0, 0, 0},
    /* the jobs at and batch run later, outside the session: stdin is all there is of them */
    {(const char *const[]){"at", "batch", NULL}, "qt", "", "", "", "f", "", "lrdc",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_IGNORED, 0, 1, 0, 0},
    {(const char *const[]){"crontab", NULL}, "un", "", "", "", "", "", "lerVcT",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_SCRIPT, 0, 1, 0, 0},
    /* without -f it reads its Makefile: stdin is then the recipes' */
    {(const char *const[]){"make", "gmake", NULL}, "CIoW", "jlO", "", "E", "f", "", "vh",
     (const struct long_option[]){{"file", LONG_FILE},
                                  {"makefile", LONG_FILE},
                                  {"eval", LONG_INLINE},
                                  {"directory", LONG_ARG},
                                  {"include-dir", LONG_ARG},
                                  {"old-file", LONG_ARG},
                                  {"assume-old", LONG_ARG},
                                  {"new-file", LONG_ARG},
                                  {"assume-new", LONG_ARG},
                                  {"what-if", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 0, 0, 0},
    /* its commands (and "!command") always come from stdin; its words name the file */
    {(const char *const[]){"ed", "red", NULL}, "p", "", "", "", "", "", "hV",
     (const struct long_option[]){{"prompt", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    /* Query clients and consoles that, with stdin not a terminal, run the commands they read
     * there: SQL (and sqlite3's .shell, psql's \!, mysql's system), a debugger's commands, an FTP
     * client's (and its "!command"). Not telnet or nc: their stdin is data for the peer. */
    {(const char *const[]){"sqlite3", NULL}, "", "", "", "", "", "", "",
     (const struct long_option[]){{"cmd", LONG_ARG},
                                  {"init", LONG_FILE_TOO}, /* read before the SQL */
                                  {"separator", LONG_ARG},
                                  {"newline", LONG_ARG},
                                  {"nullvalue", LONG_ARG},
                                  {"vfs", LONG_ARG},
                                  {"mmap", LONG_ARG},
                                  {"maxsize", LONG_ARG},
                                  {"nonce", LONG_ARG},
                                  {"heap", LONG_ARG},
                                  {"lookaside", LONG_TWO_ARGS},
                                  {"pagecache", LONG_TWO_ARGS},
                                  {"A", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_DATABASE, 0, 1, 1, 0},
    {(const char *const[]){"psql", NULL}, "dvLoFPRThpU", "", "", "c", "f", "", "lV?",
     (const struct long_option[]){{"command", LONG_INLINE},
                                  {"file", LONG_FILE},
                                  {"dbname", LONG_ARG},
                                  {"set", LONG_ARG},
                                  {"variable", LONG_ARG},
                                  {"log-file", LONG_ARG},
                                  {"output", LONG_ARG},
                                  {"field-separator", LONG_ARG},
                                  {"pset", LONG_ARG},
                                  {"record-separator", LONG_ARG},
                                  {"table-attr", LONG_ARG},
                                  {"host", LONG_ARG},
                                  {"port", LONG_ARG},
                                  {"username", LONG_ARG},
                                  {"list", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    /* -p only attached: alone it asks for the password */
    {(const char *const[]){"mysql", "mariadb", NULL}, "DhPSuO", "p#", "", "e", "", "", "V?I",
     (const struct long_option[]){{"execute", LONG_INLINE},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    /* the first word is a command to send (stdin is then data, or its last argument: -x) */
    {(const char *const[]){"redis-cli", NULL}, "hpsaunridD", "", "", "", "", "", "",
     (const struct long_option[]){{"user", LONG_ARG},
                                  {"pass", LONG_ARG},
                                  {"sni", LONG_ARG},
                                  {"cacert", LONG_ARG},
                                  {"cacertdir", LONG_ARG},
                                  {"cert", LONG_ARG},
                                  {"key", LONG_ARG},
                                  {"tls-ciphers", LONG_ARG},
                                  {"tls-ciphersuites", LONG_ARG},
                                  {"pipe-timeout", LONG_ARG},
                                  {"eval", LONG_FILE},
                                  {"pipe", LONG_STDIN},
                                  {"rdb", LONG_NO_PROGRAM},
                                  {"functions-rdb", LONG_NO_PROGRAM},
                                  {"stat", LONG_NO_PROGRAM},
                                  {"scan", LONG_NO_PROGRAM},
                                  {"bigkeys", LONG_NO_PROGRAM},
                                  {"memkeys", LONG_NO_PROGRAM},
                                  {"hotkeys", LONG_NO_PROGRAM},
                                  {"latency", LONG_NO_PROGRAM},
                                  {"latency-history", LONG_NO_PROGRAM},
                                  {"latency-dist", LONG_NO_PROGRAM},
                                  {"lru-test", LONG_NO_PROGRAM},
                                  {"intrinsic-latency", LONG_NO_PROGRAM},
                                  {"replica", LONG_NO_PROGRAM},
                                  {"slave", LONG_NO_PROGRAM},
                                  {"cluster", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_PROGRAM, 0, 1, 0, 0},
    {(const char *const[]){"mongosh", "mongo", NULL}, "up", "", "", "", "f", "", "h",
     (const struct long_option[]){{"eval", LONG_INLINE},
                                  {"file", LONG_FILE},
                                  {"shell", LONG_STDIN},
                                  {"host", LONG_ARG},
                                  {"port", LONG_ARG},
                                  {"username", LONG_ARG},
                                  {"password", LONG_ARG},
                                  {"authenticationDatabase", LONG_ARG},
                                  {"authenticationMechanism", LONG_ARG},
                                  {"apiVersion", LONG_ARG},
                                  {"tlsCAFile", LONG_ARG},
                                  {"tlsCertificateKeyFile", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"build-info", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_JS_FILES, 0, 1, 0, 0},
    /* -batch ends after its -x files and -ex commands; without it, stdin's commands follow */
    {(const char *const[]){"gdb", "gdb-multiarch", NULL}, "", "", "", "", "", "", "",
     (const struct long_option[]){{"batch", LONG_NO_STDIN},
                                  {"batch-silent", LONG_NO_STDIN},
                                  {"x", LONG_FILE_TOO},
                                  {"command", LONG_FILE_TOO},
                                  {"ix", LONG_FILE_TOO},
                                  {"init-command", LONG_FILE_TOO},
                                  {"ex", LONG_ARG},
                                  {"eval-command", LONG_ARG},
                                  {"iex", LONG_ARG},
                                  {"init-eval-command", LONG_ARG},
                                  {"p", LONG_ARG},
                                  {"pid", LONG_ARG},
                                  {"c", LONG_ARG},
                                  {"core", LONG_ARG},
                                  {"e", LONG_ARG},
                                  {"exec", LONG_ARG},
                                  {"s", LONG_ARG},
                                  {"symbols", LONG_ARG},
                                  {"se", LONG_ARG},
                                  {"d", LONG_ARG},
                                  {"directory", LONG_ARG},
                                  {"D", LONG_ARG},
                                  {"data-directory", LONG_ARG},
                                  {"cd", LONG_ARG},
                                  {"tty", LONG_ARG},
                                  {"i", LONG_ARG},
                                  {"interpreter", LONG_ARG},
                                  {"b", LONG_ARG},
                                  {"l", LONG_ARG},
                                  {"args", LONG_END},
                                  {"h", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {"v", LONG_NO_PROGRAM},
                                  {"version", LONG_NO_PROGRAM},
                                  {"configuration", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 1, 0},
    /* GNU bc runs its files, then stdin */
    {(const char *const[]){"bc", NULL}, "", "", "", "", "", "", "hv",
     (const struct long_option[]){
         {"version", LONG_NO_PROGRAM}, {"help", LONG_NO_PROGRAM}, {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    /* GNU dc; its "!command" runs a shell command */
    {(const char *const[]){"dc", NULL}, "", "", "", "e", "f", "", "Vh",
     (const struct long_option[]){{"expression", LONG_INLINE},
                                  {"file", LONG_FILE},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_FILES, 0, 1, 0, 0},
    {(const char *const[]){"lftp", NULL}, "epu", "", "", "c", "f", "", "vh",
     (const struct long_option[]){{"rcfile", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_IGNORED, 0, 1, 0, 0},
    /* OpenSSH's: -b FILE reads its commands there "instead of stdin" (-b -: stdin) */
    {(const char *const[]){"sftp", NULL}, "BcDFiJloPRSsX", "", "", "", "b", "", "",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_IGNORED, 0, 1, 0, 0},
    {(const char *const[]){"ftp", "tnftp", NULL}, "oPrsTuq", "", "", "", "", "", "",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_IGNORED, 0, 1, 0, 0},
    /* with no command word, its own commands ("OpenSSL> "); with one, stdin is that command's data
     */
    {(const char *const[]){"openssl", NULL}, "", "", "", "", "", "", "",
     (const struct long_option[]){{NULL, LONG_FLAG}}, POS_PROGRAM, 0, 1, 0, 0},
    {(const char *const[]){"irb", NULL}, "rIE", "W", "", "", "", "", "hv",
     (const struct long_option[]){{"context-mode", LONG_ARG},
                                  {"prompt", LONG_ARG},
                                  {"prompt-mode", LONG_ARG},
                                  {"back-trace-limit", LONG_ARG},
                                  {"extra-doc-dir", LONG_ARG},
                                  {"version", LONG_NO_PROGRAM},
                                  {"help", LONG_NO_PROGRAM},
                                  {NULL, LONG_FLAG}},
     POS_SCRIPT, 0, 1, 0, 0},
};

/* The kind of the long option w ("--name" or "--name=value", or with one '-' for word_options);
 * *value: what follows '=', or NULL. */
static enum long_kind long_option_kind(const struct interpreter *ip, const char *w,
                                       const char **value)
{
	const struct long_option *o;
	const char *name = w + (w[1] == '-' ? 2 : 1); /* word_options: "-cmd" as "--cmd" */
	size_t len = strcspn(name, "=");

	*value = name[len] == '=' ? name + len + 1 : NULL;
	for (o = ip->longs; o->name != NULL; o++)
		if (strlen(o->name) == len && strncmp(name, o->name, len) == 0)
			return o->kind;
	return LONG_FLAG;
}

/* Where an option's argument goes: the program (inline), the program's file, or neither. */
enum option_use {
	USE_ARG,
	USE_INLINE,
	USE_FILE,
	USE_FILE_TOO, /* a file of commands read before stdin */
};

/*
 * The words after an interpreter's name leave it reading its program from stdin: no script and
 * no program given ("python3", "perl -w"), the script "-" or /dev/stdin ("python3 -",
 * "awk -f -"), or an option that reads commands after the rest ("python3 -i x.py"). Not a
 * script, a program given inline ("python3 -c ...", "awk NF": stdin is then data, even when the
 * program reads and runs it), --version or --help. After xargs, the words it adds may be the
 * program: "xargs python3", "xargs python3 -c", "xargs -I X python3 -c X".
 */
static int interpreter_reads_stdin(const struct interpreter *ip, char **w, int n,
                                   const struct xargs_feed *x)
{
	const char *p, *arg;
	enum option_use use;
	int i, given = 0, stdin_file = 0, stdin_too = 0, fed = 0, database = 0, options_end = 0;

	for (i = 0; i < n && !(given && ip->program_ends_options); i++) {
		if (strcmp(w[i], "--") == 0 && !options_end) {
			options_end = 1; /* the words left are not options: "psql -- app" */
			continue;
		}
		if (options_end || w[i][0] != '-' || w[i][1] == '\0') {
			if (ip->positional == POS_DATABASE) {
				given |= database; /* the words after the database are its SQL */
				database = 1;
				continue;
			}
			if (ip->positional == POS_JS_FILES) {
				given |= tg_spool_has_suffix(w[i], ".js") ||
				         tg_spool_has_suffix(w[i], ".mongodb");
				continue;
			}
			if (ip->positional == POS_FILES) {
				given = 1;
				stdin_file |= is_stdin_name(w[i]);
				continue;
			}
			if (ip->positional != POS_IGNORED)
				break;
			if (i == 0 && strcmp(w[i], "CMD") == 0)
				return 0; /* R CMD BATCH x.R */
			continue;
		}
		arg = NULL;
		use = USE_ARG;
		if (w[i][1] == '-' || ip->word_options) {
			switch (long_option_kind(ip, w[i], &arg)) {
			case LONG_NO_PROGRAM:
				return 0;
			case LONG_END:
				i = n - 1; /* the loop ends, with no script */
				continue;
			case LONG_STDIN:
				stdin_too = 1;
				continue;
			case LONG_FLAG:
				continue;
			case LONG_ARG:
				use = USE_ARG;
				break;
			case LONG_INLINE:
				use = USE_INLINE;
				break;
			case LONG_FILE:
				use = USE_FILE;
				break;
			case LONG_TWO_ARGS:
				i += arg != NULL ? 1 : 2;
				continue;
			case LONG_NO_STDIN:
				given = 1;
				continue;
			case LONG_FILE_TOO:
				use = USE_FILE_TOO;
				break;
			}
		} else {
			for (p = w[i] + 1; *p != '\0'; p++) {
				if (strchr(ip->no_program, *p) != NULL)
					return 0;
				if (strchr(ip->stdin_too, *p) != NULL)
					stdin_too = 1;
				else if (strchr(ip->digits, *p) != NULL)
					p += strspn(p + 1, "0123456789"); /* perl -l0 */
				else if (strchr(ip->attached, *p) != NULL)
					break;
				else if (strchr(ip->with_arg, *p) != NULL ||
				         strchr(ip->inline_prog, *p) != NULL ||
				         strchr(ip->prog_file, *p) != NULL)
					break;
			}
			if (*p == '\0' || strchr(ip->attached, *p) != NULL)
				continue;
			use = strchr(ip->inline_prog, *p) != NULL ? USE_INLINE
			      : strchr(ip->prog_file, *p) != NULL ? USE_FILE
			                                          : USE_ARG;
			if (p[1] != '\0')
				arg = p + 1;
		}
		if (arg == NULL && i + 1 < n)
			arg = w[++i];
		if (use == USE_INLINE || use == USE_FILE)
			given = 1;
		if (use == USE_INLINE && (arg != NULL ? from_xargs(x, arg) : x->appends))
			fed = 1;
		if ((use == USE_FILE || use == USE_FILE_TOO) && arg != NULL && is_stdin_name(arg))
			stdin_file = 1;
	}
	if (stdin_too || stdin_file || fed)
		return 1;
	if (given && ip->script_after_inline && i < n)
		return is_stdin_name(w[i]); /* the script after the inline programs */
	if (given)
		return 0; /* the words left are the program's arguments or its data files */
	if (i < n)
		return ip->positional == POS_SCRIPT && is_stdin_name(w[i]);
	return ip->bare_reads || x->appends;
}

/* tclsh [-encoding name] [script [arg ...]]: a first word with a '-' is no script, but the
 * first argument of the commands it reads from stdin. */
static int tclsh_reads_stdin(char **w, int n)
{
	if (n > 0 && strcmp(w[0], "-encoding") == 0) {
		w += 2;
		n -= 2;
	}
	return n <= 0 || w[0][0] == '-' || is_stdin_name(w[0]);
}

/* BASH_ENV=/dev/stdin or ENV=/dev/stdin (or /dev/fd/0, /proc/self/fd/0; not "-", a file of that
 * name to them), before a command, through env or export, or alone: a bash given a script or a
 * command string, and an interactive sh, run the file it names first, so a shell the line starts
 * with it in its environment (directly or not: make's recipes) runs stdin's commands. */
static int sets_stdin_start_file(const char *word)
{
	const char *v;

	if (strncmp(word, "BASH_ENV=", 9) == 0)
		v = word + 9;
	else if (strncmp(word, "ENV=", 4) == 0)
		v = word + 4;
	else
		return 0;
	return strcmp(v, "-") != 0 && is_stdin_name(v);
}

/* The word names a shell or an interpreter: what an uncertain line is looked at for. */
static int names_reader(const char *word)
{
	/* the user's shell runs the command with -c: its $0 is that shell, $BASH bash's path */
	static const char *const shell_vars[] = {"$SHELL", "${SHELL}", "$0",
	                                         "${0}",   "$BASH",    "${BASH}"};
	const char *const *name;
	size_t k;

	if (is_assignment(word))
		word = strchr(word, '=') + 1; /* P=python3; $P - */
	if (in_list(word, shell_vars, sizeof(shell_vars) / sizeof(shell_vars[0])))
		return 1;
	if (is_shell(word))
		return 1;
	for (k = 0; k < sizeof(interpreters) / sizeof(interpreters[0]); k++)
		for (name = interpreters[k].names; *name != NULL; name++)
			if (is_program(word, *name))
				return 1;
	return is_program(word, "tclsh") || is_program(word, "su") || is_program(word, "runuser") ||
	       is_program(word, "script");
}

/* The words joined by blanks, as eval joins them; NULL when out of memory. */
static char *joined(char **w, int n)
{
	size_t len = 1, k;
	char *s, *o;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	/* not strcat: a line of 60,000 words would cost minutes */
	for (i = 0, o = s; i < n; i++) {
		if (i > 0)
			*o++ = ' ';
		k = strlen(w[i]);
		memcpy(o, w[i], k);
		o += k;
	}
	*o = '\0';
	return s;
}

/*
 * The shell's own commands that run shell code given as words: eval (its words joined), alias
 * (each value: "alias p='python3 -'", then p on a later line), trap (its action), and . or
 * source of stdin itself ("source /dev/stdin").
 */
static int builtin_reads_stdin(char **w, int n, int depth)
{
	char *code;
	int i, reads = 0;

	if (strcmp(w[0], "eval") == 0) {
		i = n > 1 && strcmp(w[1], "--") == 0 ? 2 : 1; /* bash's eval takes "--" */
		if ((code = joined(w + i, n - i)) != NULL)
			reads = line_reads_stdin(code, depth + 1);
		free(code);
		return reads;
	}
	if (strcmp(w[0], "alias") == 0) {
		for (i = 1; i < n && !reads; i++)
			if (strchr(w[i], '=') != NULL)
				reads = line_reads_stdin(strchr(w[i], '=') + 1, depth + 1);
		return reads;
	}
	i = n > 1 && strcmp(w[1], "--") == 0 ? 2 : 1; /* "trap -- CMD", bash's ". -- FILE" */
	if (strcmp(w[0], "trap") == 0)
		return i < n && line_reads_stdin(w[i], depth + 1);
	if (strcmp(w[0], ".") == 0 || strcmp(w[0], "source") == 0)
		return i < n && is_stdin_name(w[i]);
	return 0;
}

/* One simple command's words (w[n] is NULL) leave its program reading its commands from stdin;
 * a command string in them is read at depth + 1. */
static int simple_reads_stdin(char **w, int n, int depth)
{
	const char *const *name, *code = NULL;
	struct xargs_feed x = XARGS_FEED_VOID;
	char *split = NULL;
	int i, reads = 0;
	size_t k;

	if (n == 0 || (i = program_word(w, &n, &x, &code, &split)) < 0)
		return 0;
	if (code != NULL) { /* su -c CMD, flock FILE -c CMD, env -S's line */
		reads = line_reads_stdin(code, depth + 1);
		free(split);
		return reads;
	}
	if (i < n && builtin_reads_stdin(w + i, n - i, depth))
		return 1;
	reads = i == n; /* "sudo -s": a shell, given nothing to run */
	if (i < n && is_shell(w[i]))
		reads = shell_args_read_stdin(w + i + 1, n - i - 1, &x, depth);
	for (k = 0; i < n && k < sizeof(interpreters) / sizeof(interpreters[0]); k++)
		for (name = interpreters[k].names; *name != NULL; name++)
			if (is_program(w[i], *name))
				reads = interpreter_reads_stdin(&interpreters[k], w + i + 1,
				                                n - i - 1, &x);
	if (i < n && is_program(w[i], "tclsh"))
		reads = tclsh_reads_stdin(w + i + 1, n - i - 1);
	return reads;
}

/*
 * A command line, as the user's shell runs it, leaves a program reading its commands from stdin:
 * one of its simple commands does ("cd /tmp; python3 -", "umask 077 && sh"). A line with syntax
 * that is not followed here (a pipe, a redirection, $, a glob, a compound command) is taken to do
 * so when any of its words names a shell or an interpreter ("cat | python3 -", "cd $D; bash",
 * "P=python3; $P -"), or holds a line that does ("cat | sh -c 'cd /; bash'"), or one of the
 * commands it is cut into does, as a simple command would ("cd $D; sudo -s"): what it runs cannot
 * be told, and stored input is the safe side of that. depth: how many command strings this one is
 * inside ("sh -c 'bash'"); past MAX_NESTING the line is looked at for names only.
 */
static int line_reads_stdin(const char *cmd, int depth)
{
	struct shell_line l = SHELL_LINE_VOID;
	int i, k, start, reads = 0, names_only;

	if (shell_line_split(&l, cmd) != TG_OK)
		return 0;
	names_only = l.uncertain || depth > MAX_NESTING;
	for (start = 0; start < l.count && !reads; start = i + 1) {
		for (i = start; l.words[i] != NULL; i++)
			if (names_only && !reads &&
			    (names_reader(l.words[i]) ||
			     (strpbrk(l.words[i], " \t\n;&|") != NULL && depth <= MAX_NESTING &&
			      line_reads_stdin(l.words[i], depth + 1))))
				reads = 1;
			else if (sets_stdin_start_file(l.words[i]))
				reads = 1;
		/* in a line not followed too, a command that names no reader ("cd $D; sudo -s",
		 * ". /dev/stdin > log"), after the reserved words in front ("then sudo -s", "time
		 * -p sudo -s") */
		for (k = start; names_only && k < i &&
		                (shell_line_reserved(l.words[k]) ||
		                 (k > start && strcmp(l.words[k - 1], "time") == 0 &&
		                  strcmp(l.words[k], "-p") == 0));
		     k++)
			;
		if (!reads && depth <= MAX_NESTING)
			reads = simple_reads_stdin(l.words + k, i - k, depth);
	}
	shell_line_free(&l);
	return reads;
}

int session_mode_shell_reads_stdin(const struct session_mode *m)
{
	if (m->kind != SESSION_COMMAND)
		return 0;
	if (m->command == NULL)
		return 1;
	return line_reads_stdin(m->command, 0);
}

/*
 * The flags OpenSSH's scp client puts on the remote scp it starts ("scp -v -r -p -d -t -- x"):
 * no other option reaches a server scp, and each of the others (-S, -F, -o, -J...) is one a
 * client acts on.
 */
static const char scp_server_flags[] = "dfprtv";

/*
 * The scp server a client starts: options before the first operand, as scp's getopt (OpenSSH's
 * own, which stops at the first operand and at "--") reads them, made only of
 * scp_server_flags, with -t or -f among them; after the first operand no word that looks like
 * an option (a getopt that reorders would take it for one). Anything else may be a client,
 * which starts the program of -S, or what an ssh_config (-F, ~/.ssh/config) or -o
 * ProxyCommand names: "scp -S ~/sh h:x -t" sees "-t" only as a file name.
 * *download: -f was given (scp's source mode, which wins over -t).
 */
static int scp_server(char **w, int n, int *download)
{
	int i, t = 0, f = 0, operands = 0;
	const char *p;

	for (i = 1; i < n; i++) {
		if (!operands && strcmp(w[i], "--") == 0) {
			operands = 2; /* the words after it may start with '-' */
			continue;
		}
		if (w[i][0] == '-' && w[i][1] != '\0') {
			if (operands == 1)
				return 0;
			if (operands == 2)
				continue;
			for (p = w[i] + 1; *p != '\0'; p++) {
				if (strchr(scp_server_flags, *p) == NULL)
					return 0;
				t |= *p == 't';
				f |= *p == 'f';
			}
			continue;
		}
		if (!operands)
			operands = 1;
	}
	*download = f;
	return t || f;
}

/* How many words after the first are word. */
static int word_count(char **w, int n, const char *word)
{
	int i, c = 0;

	for (i = 1; i < n; i++)
		c += strcmp(w[i], word) == 0;
	return c;
}

/*
 * git's pack and archive servers, from words[first] on: only the options a git client's
 * transport gives them, and one repository. Any other word that starts with '-' ("--help"
 * runs "git help", which runs the man viewer a repository's config names) makes it no
 * transfer.
 */
static int git_server_args(char **w, int n, int first)
{
	static const char *const ok[] = {"--strict", "--no-strict", "--stateless-rpc",
	                                 "--advertise-refs", "--http-backend-info-refs"};
	int i, repos = 0;
	size_t k;

	for (i = first; i < n; i++) {
		if (w[i][0] != '-') {
			repos++;
			continue;
		}
		if (strncmp(w[i], "--timeout=", strlen("--timeout=")) == 0 &&
		    w[i][strlen("--timeout=")] != '\0' &&
		    strspn(w[i] + strlen("--timeout="), "0123456789") ==
		        strlen(w[i] + strlen("--timeout=")))
			continue;
		for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
			if (strcmp(w[i], ok[k]) == 0)
				break;
		if (k == sizeof(ok) / sizeof(ok[0]))
			return 0;
	}
	return repos == 1;
}

/* The git server kind is w[0] ("git-upload-pack") or "git" w[1] ("git upload-pack") with
 * allowed arguments: 1, else 0. */
static int git_server(char **w, int n, const char *kind)
{
	const char *b = base_name(w[0]);
	size_t len = strlen("git-");

	if (strcmp(b, kind) == 0)
		return git_server_args(w, n, 1);
	return strcmp(b, "git") == 0 && n > 1 && strcmp(w[1], kind + len) == 0 &&
	       git_server_args(w, n, 2);
}

/* A word after the first starts with prefix. */
static int has_prefix(char **w, int n, const char *prefix)
{
	int i;

	for (i = 1; i < n; i++)
		if (strncmp(w[i], prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

/*
 * The words of cmd as sh would split them, when cmd is a plain command line:
 * unquoted characters are letters, digits, blanks and -_./,:=@+%^ ; quoting is
 * '...', "..." (without $ ` \ ! inside) and a backslash before one character.
 * Anything else a shell acts on (; | & < > ( ) $ ` * ? [ ] { } ~ # newline, a
 * byte outside ASCII) makes it not plain: NULL. Otherwise a NULL-terminated
 * array in one block (free() it); *count gets the number of words.
 */
static char **plain_words(const char *cmd, int *count)
{
	size_t len = strlen(cmd);
	const char *p = cmd, *e;
	char **w, *o;
	int n = 0, in_word = 0;

	/* the words are never longer than cmd: quotes go, each separator becomes a NUL */
	if ((w = calloc(1, (MAX_TRANSFER_WORDS + 1) * sizeof(char *) + len + 1)) == NULL)
		return NULL;
	o = (char *)(w + MAX_TRANSFER_WORDS + 1);
	for (;;) {
		if (*p == '\0' || *p == ' ' || *p == '\t') {
			if (in_word)
				*o++ = '\0';
			in_word = 0;
			if (*p++ == '\0')
				break;
			continue;
		}
		if (!in_word) {
			if (n == MAX_TRANSFER_WORDS)
				goto not_plain;
			w[n++] = o;
			in_word = 1;
		}
		if (*p == '\'') {
			if ((e = strchr(p + 1, '\'')) == NULL)
				goto not_plain;
			memcpy(o, p + 1, (size_t)(e - p - 1));
			o += e - p - 1;
			p = e + 1;
		} else if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0' || strchr("$`\\!", *p) != NULL)
					goto not_plain;
				*o++ = *p;
			}
			p++;
		} else if (*p == '\\') {
			if (p[1] == '\0' || p[1] == '\n')
				goto not_plain;
			*o++ = p[1];
			p += 2;
		} else if ((isascii((unsigned char)*p) && isalnum((unsigned char)*p)) ||
		           strchr("-_./,:=@+%^", *p) != NULL) {
			*o++ = *p++;
		} else {
			goto not_plain;
		}
	}
	*count = n;
	return w;
not_plain:
	free(w);
	return NULL;
}

/* Owned by root and writable by nobody else: a regular executable (file) or a directory. */
static int root_only(const char *path, int file)
{
	struct stat st;

	if (stat(path, &st) != 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return 0;
	return file ? S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) != 0 : S_ISDIR(st.st_mode);
}

/*
 * Every name along the absolute path as given, from the first folder to the file, is root's: a
 * folder root's alone, a symlink root's (where it leads, root_only_path checks). The name decides
 * the kind of transfer: a link of the user's named "scp" that leads to /bin/sh (a shell's -t
 * reads one command from stdin) must not pass for scp.
 */
static int names_root_only(const char *path)
{
	char buf[4096], *p, c;
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof(buf))
		return 0;
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (p[-1] != '/' &&
		    (lstat(buf, &st) != 0 || st.st_uid != 0 ||
		     (!S_ISLNK(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)))
			return 0;
		*p = c;
		if (c == '\0')
			return 1;
	}
}

/*
 * path with every symlink resolved (free() it), when every name along path is root's
 * (names_root_only) and the file it leads to and every folder above that, up to "/", are
 * root's alone; else NULL. The child runs this very path, later and as the user: a symlink of
 * the user's on the way (a link to /usr/bin in their own folder), or a folder they may write
 * above a folder of root's, could otherwise be pointed at their own program between the check
 * and the exec.
 */
static char *root_only_path(const char *path)
{
	char *real = NULL, *dir = NULL, *slash;

	if (!names_root_only(path) || (real = realpath(path, NULL)) == NULL || real[0] != '/' ||
	    !root_only(real, 1) || (dir = strdup(real)) == NULL)
		goto no;
	for (;;) {
		slash = strrchr(dir, '/');
		if (slash == dir) {
			if (!root_only("/", 0))
				goto no;
			break;
		}
		*slash = '\0';
		if (!root_only(dir, 0))
			goto no;
	}
	free(dir);
	return real;
no:
	free(dir);
	free(real);
	return NULL;
}

/*
 * The file a transfer runs: a name without '/' is looked for in program_dirs
 * (never the user's PATH), a path must be absolute; the file and every folder
 * above it (root_only_path) must be root's alone, so a user's own "scp" is
 * never taken for a transfer. Returns the resolved path, the one to run.
 */
static char *resolve_program(const char *prog)
{
	char path[4096], *real;
	size_t i;

	if (strchr(prog, '/') != NULL)
		return prog[0] == '/' ? root_only_path(prog) : NULL;
	for (i = 0; i < sizeof(program_dirs) / sizeof(program_dirs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", program_dirs[i], prog) >=
		    (int)sizeof(path))
			return NULL;
		if ((real = root_only_path(path)) != NULL)
			return real;
	}
	return NULL;
}

/*
 * Recognise a file transfer from the command's words. Only a plain command
 * line (plain_words) of a program that resolve_program finds is one; it is
 * then run directly, without a shell (m->argv, m->exec_path), so neither shell
 * syntax nor the shell's start-up files (bash reads ~/.bashrc for sshd's
 * commands) can run anything else inside a session recorded as metadata.
 */
static void detect_transfer(struct session_mode *m, const char *cmd, const char *sftp_server)
{
	char **w;
	const char *b;
	int n = 0, download = 0;

	if ((w = plain_words(cmd, &n)) == NULL)
		return;
	if (n == 0)
		goto out;
	b = base_name(w[0]);
	if (strcmp(b, "sftp-server") == 0 ||
	    (sftp_server != NULL && strcmp(w[0], sftp_server) == 0)) {
		m->transfer = "sftp";
		m->direction = "both";
	} else if (strcmp(b, "scp") == 0 && scp_server(w, n, &download)) {
		m->transfer = "scp";
		m->direction = download ? "download" : "upload";
	} else if (strcmp(b, "rsync") == 0 && n > 1 && strcmp(w[1], "--server") == 0 &&
	           !has_prefix(w, n, "--daemon") && !has_prefix(w, n, "--config") &&
	           word_count(w, n, "--server") == 1 &&
	           word_count(w, n, "--sender") == (n > 2 && strcmp(w[2], "--sender") == 0)) {
		/* "--server" first, where the client puts it: further on it may be an option's
		 * argument ("--log-file --server"), and rsync a client that runs the program of -e.
		 * Not daemon mode: its config ("pre-xfer exec") runs commands. A --sender, which
		 * makes it send, only second, where the client puts it: rsync reads options in any
		 * order, and one further on may be that, or an option's argument, which the
		 * metadata's direction cannot tell */
		m->transfer = "rsync";
		m->direction = n > 2 && strcmp(w[2], "--sender") == 0 ? "download" : "upload";
	} else if (git_server(w, n, "git-upload-pack")) {
		m->transfer = "git-upload-pack";
		m->direction = "download";
	} else if (git_server(w, n, "git-upload-archive")) {
		m->transfer = "git-upload-archive";
		m->direction = "download";
	} else if (git_server(w, n, "git-receive-pack")) {
		m->transfer = "git-receive-pack";
		m->direction = "upload";
	}
	if (m->transfer != NULL && (m->exec_path = resolve_program(w[0])) == NULL) {
		m->transfer = m->direction = NULL;
		goto out;
	}
	if (m->transfer != NULL) {
		m->argv = w; /* transferred */
		w = NULL;
	}
out:
	free(w);
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

/* A -c command that is this program itself ("exec" before it or not): ForceCommand through a
 * recorder login shell. */
static int is_self(const char *cmd)
{
	char *copy, *w[MAX_WORDS];
	int n, self;

	if ((copy = strdup(cmd)) == NULL)
		return 0;
	n = split_words(copy, w);
	self = (n == 1 && strcmp(base_name(w[0]), "tollgate-record") == 0) ||
	       (n == 2 && strcmp(w[0], "exec") == 0 &&
	        strcmp(base_name(w[1]), "tollgate-record") == 0);
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
	free(m->argv);
	free(m->exec_path);
	m->command = m->original = m->exec_path = NULL;
	m->argv = NULL;
}
