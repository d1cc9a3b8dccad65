/*
 * How the recorder was started and what kind of session it runs.
 *
 * Two ways in:
 *   ForceCommand: sshd runs "$SHELL -c tollgate-record"; the client's command,
 *     if any, is in SSH_ORIGINAL_COMMAND.
 *   login shell: sshd runs the recorder as the user's shell: argv[0] starts
 *     with '-' for an interactive login, or argv is {name, "-c", command}.
 * Three kinds of session:
 *   interactive: a terminal was given: the shell (or the command) on a new pty;
 *   command: no terminal: the command through pipes, stdout and stderr apart;
 *   transfer: sftp, scp -t/-f, rsync --server, git-*-pack: pipes, byte for
 *     byte, recorded as metadata unless [recorder] transfer_content = full.
 *     Only a plain command line (no shell syntax beyond quoting) of a program
 *     owned by root is a transfer, and it runs without a shell (argv,
 *     exec_path); anything else is a command, recorded in full.
 */
#ifndef SESSION_MODE_H
#define SESSION_MODE_H

enum session_entry {
	SESSION_ENTRY_FORCECOMMAND,
	SESSION_ENTRY_LOGIN_SHELL,
};

enum session_kind {
	SESSION_INTERACTIVE,
	SESSION_COMMAND,
	SESSION_TRANSFER,
};

struct session_mode {
	enum session_entry entry;
	enum session_kind kind;
	char *command;         /* what the shell runs with -c; NULL: a login shell */
	char *original;        /* the command as the client gave it (NULL: none) */
	const char *transfer;  /* "sftp", "scp", "rsync", "git-upload-pack", ...; NULL */
	const char *direction; /* "upload", "download" or "both"; NULL */
	char **argv;           /* a transfer: its words, NULL-terminated; else NULL */
	char *exec_path;       /* a transfer: the program's resolved path; else NULL */
};
#define SESSION_MODE_VOID                                                                          \
	{                                                                                          \
		SESSION_ENTRY_FORCECOMMAND, SESSION_INTERACTIVE, NULL, NULL, NULL, NULL, NULL,     \
		    NULL                                                                           \
	}

/*
 * Work out entry and kind from argv, SSH_ORIGINAL_COMMAND (orig_env, may be
 * NULL), whether there is a terminal, and [recorder] sftp_server (internal-sftp
 * is mapped to it). TG_ERR_INVALID for an argv this program does not take.
 */
int session_mode_parse(struct session_mode *m, int argc, char **argv, const char *orig_env, int tty,
                       const char *sftp_server);
/*
 * A command session whose program reads the commands it runs from stdin: no command at all (the
 * shell with no terminal: "ssh -T host", "ssh host < script"), or a shell with options only
 * ("bash -l", "sh -i", "bash -o posix") or -s and its arguments ("sh -s a b"), after assignments
 * and through env, exec, command, busybox, toybox, sudo, doas, nice, nohup, timeout, setsid,
 * stdbuf, ionice, chrt, taskset, flock, chroot, unshare, nsenter, su or runuser ("env bash",
 * "busybox sh", "sudo bash", "timeout 60 bash", "flock /tmp/l bash", env -S's string: "env -S 'sh
 * -s'", and "sudo -s", "su -", "unshare -r" alone); not a script,
 * --version or --help, nor -c with a command string that reads none. Likewise an
 * interpreter that reads its program from stdin ("python3 -", "perl", "awk -f -", "bash
 * /dev/stdin", "at now", "crontab -", "make -f -", "ed", a query client, debugger or console
 * with no commands on its line: "sqlite3 db", "psql", "mysql", "redis-cli", "mongosh", "gdb"
 * without -batch, "bc", "dc", "lftp", "sftp -b -", "ftp", "openssl", "irb"; a path or a version
 * in the name: "/usr/bin/python3.11"); not one given a script or an inline program ("python3 x.py",
 * "python3 -c ..."): its stdin is data. Through xargs, also one whose program xargs' input
 * supplies ("xargs sh -c", "xargs python3", "xargs -I X sh -c X", "xargs env"). The command is
 * read as sh reads it (shell_line): any of simple commands joined by ; && || ("cd /tmp; python3
 * -"); in a line with other syntax (a pipe, $, a redirection), any word that names a shell or an
 * interpreter ("cat | bash", "cd $D; sh"), or any command cut at that syntax that reads stdin as
 * above ("cd $D; sudo -s"). A command string is read as a command line of its own
 * ("sh -c 'bash'", "su -c 'python3 -' root", "flock FILE -c CMD", eval, alias, trap,
 * "script -c CMD"; "script" alone runs the user's shell on a pty its stdin feeds), up to
 * MAX_NESTING strings deep. A line that sets BASH_ENV or ENV to stdin ("BASH_ENV=/dev/stdin bash -c
 * :", "export BASH_ENV=/dev/fd/0; make") has a shell run stdin's commands first.
 */
int session_mode_shell_reads_stdin(const struct session_mode *m);
/* "interactive", "command" or "transfer". */
const char *session_kind_name(enum session_kind k);
void session_mode_free(struct session_mode *m);

#endif
