/* Unit tests of tollgate-record's parts: session_mode, session_info, child_env, rec_sink,
 * rec_spool, input_guard. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_env.h"
#include "input_guard.h"
#include "proc_stat.h"
#include "relay.h"
#include "rec_sink.h"
#include "rec_spool.h"
#include "session_info.h"
#include "session_mode.h"
#include "shell_line.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_rec.h"
#include "tg_spool.h"
#include "tg_test.h"

#define SFTP "/usr/lib/openssh/sftp-server"

static struct session_mode parse(int argc, char **argv, const char *orig, int tty)
{
	struct session_mode m;

	ck_assert_int_eq(session_mode_parse(&m, argc, argv, orig, tty, SFTP), TG_OK);
	return m;
}

START_TEST(mode_entries)
{
	char *fc[] = {"/usr/libexec/tollgate/tollgate-record", NULL};
	char *login[] = {"-tollgate-record", NULL};
	char *cmd[] = {"tollgate-record", "-c", "ls -l", NULL};
	char *self[] = {"tollgate-record", "-c", "/usr/libexec/tollgate/tollgate-record", NULL};
	char *self_exec[] = {"tollgate-record", "-c", "exec /usr/libexec/tollgate/tollgate-record",
	                     NULL};
	char *bad[] = {"tollgate-record", "--evil", NULL};
	struct session_mode m;

	m = parse(1, fc, NULL, 1);
	ck_assert(m.entry == SESSION_ENTRY_FORCECOMMAND && m.kind == SESSION_INTERACTIVE &&
	          m.command == NULL);
	session_mode_free(&m);
	m = parse(1, fc, "uptime", 0);
	ck_assert(m.kind == SESSION_COMMAND && strcmp(m.command, "uptime") == 0);
	session_mode_free(&m);
	m = parse(1, fc, "", 0); /* empty command: a shell on pipes */
	ck_assert(m.kind == SESSION_COMMAND && m.command == NULL);
	session_mode_free(&m);
	m = parse(1, login, "ignored: not ForceCommand", 1);
	ck_assert(m.entry == SESSION_ENTRY_LOGIN_SHELL && m.command == NULL &&
	          m.kind == SESSION_INTERACTIVE);
	session_mode_free(&m);
	m = parse(3, cmd, NULL, 0);
	ck_assert(m.entry == SESSION_ENTRY_LOGIN_SHELL && strcmp(m.command, "ls -l") == 0);
	session_mode_free(&m);
	/* ForceCommand through a recorder login shell: one recording, of the client's command */
	m = parse(3, self, "id", 0);
	ck_assert(m.entry == SESSION_ENTRY_FORCECOMMAND && strcmp(m.command, "id") == 0);
	session_mode_free(&m);
	/* the same with "ForceCommand exec ..." (deploy.md) */
	m = parse(3, self_exec, "id", 0);
	ck_assert(m.entry == SESSION_ENTRY_FORCECOMMAND && strcmp(m.command, "id") == 0);
	session_mode_free(&m);
	ck_assert_int_eq(session_mode_parse(&m, 2, bad, NULL, 0, SFTP), TG_ERR_INVALID);
}
END_TEST

static void transfer(const char *cmd, const char *kind, const char *dir)
{
	char *fc[] = {"tollgate-record", NULL};
	struct session_mode m = parse(1, fc, cmd, 0);

	if (kind == NULL) {
		ck_assert_msg(m.kind == SESSION_COMMAND && m.transfer == NULL,
		              "%s is not a transfer", cmd);
	} else {
		ck_assert_msg(m.kind == SESSION_TRANSFER, "%s is a transfer", cmd);
		ck_assert_str_eq(m.transfer, kind);
		ck_assert_msg(strcmp(m.direction, dir) == 0, "%s: %s", cmd, m.direction);
	}
	session_mode_free(&m);
}

START_TEST(mode_transfers)
{
	char *fc[] = {"tollgate-record", NULL};
	struct session_mode m;

	transfer("scp -t /tmp", "scp", "upload");
	transfer("scp -p -t -- /tmp/x", "scp", "upload");
	transfer("scp -pf /etc/motd", "scp", "download");
	transfer("/usr/bin/scp -r -f dir", "scp", "download");
	transfer("scp", NULL, NULL);
	transfer("rsync --server -vlogDtpre.iLsfxCIvu . /dst", "rsync", "upload");
	transfer("rsync --server --sender -vlogDtpre.iLsfxCIvu . /src", "rsync", "download");
	transfer("git-upload-pack '/srv/repo.git'", "git-upload-pack", "download");
	transfer("git-receive-pack 'repo.git'", "git-receive-pack", "upload");
	transfer("git upload-archive repo", "git-upload-archive", "download");
	transfer("/usr/lib/openssh/sftp-server", "sftp", "both");
	transfer("/usr/lib/openssh/sftp-server -l INFO", "sftp", "both");
	transfer("ls -t", NULL, NULL);
	transfer("rsync -av a b", NULL, NULL);
	transfer("rsync --server --daemon .", NULL, NULL); /* rsyncd.conf can run commands */
	transfer("rsync --server --daemon --config=/home/u/r.conf .", NULL, NULL);
	/* "--server" as an option's argument is no server: rsync is then a client, and runs the
	 * program of -e as its remote shell. The client always puts it first */
	transfer("rsync -e /home/u/prog --log-file --server a host:b", NULL, NULL);
	transfer("rsync --rsh=/home/u/prog --temp-dir --server host:a b", NULL, NULL);
	transfer("rsync -av --server . /d", NULL, NULL);
	/* rsync reads options in any order: a --sender further on may be one (it then sends) or
	 * an option's argument; a client puts it second, and "--server" once */
	transfer("rsync --server --log-file --sender -vlogDtpre.iLsfxCIvu . /d", NULL, NULL);
	transfer("rsync --server -v --server --sender -vlogDtpre.iLsfxCIvu . /src", NULL, NULL);
	transfer("rsync --server --sender -v --sender . /src", NULL, NULL);
	/* shell syntax around a transfer makes it a command, recorded in full */
	transfer("scp -t /x; cat /etc/shadow", NULL, NULL);
	transfer("scp -t /x && sh -i", NULL, NULL);
	transfer("rsync --server . /d | sh", NULL, NULL);
	transfer("scp -t $HOME", NULL, NULL);
	transfer("scp -t `id`", NULL, NULL);
	transfer("scp -t \"$(id)\"", NULL, NULL);
	transfer("scp -t /x\nid", NULL, NULL);
	transfer("scp -t /x > /y", NULL, NULL);
	transfer("scp -t /x*", NULL, NULL);
	transfer("scp -t 'unterminated", NULL, NULL);
	/* a t or f in an option's argument is no -t or -f: scp then runs as a client and starts
	 * the program of -S (or the ssh_config of -F, or -o ProxyCommand) */
	transfer("scp -S/home/u/evil.t a:b c", NULL, NULL);
	transfer("scp -F/home/u/conf a:b c", NULL, NULL);
	transfer("scp -o -t -S /home/u/evil a:b c", NULL, NULL);
	transfer("scp -i -f -o ProxyCommand=/home/u/x a:b c", NULL, NULL);
	transfer("scp -S /home/u/evil -- -t a:b c", NULL, NULL);
	/* getopt stops at the first operand: a -t after it is a file name, and scp a client that
	 * runs what -S, -o ProxyCommand or ~/.ssh/config names */
	transfer("scp h:x -t", NULL, NULL);
	transfer("scp -S /home/u/evil h:x -t", NULL, NULL);
	transfer("scp -o ProxyCommand=/home/u/x h:x -t", NULL, NULL);
	transfer("scp -t /x -S /home/u/evil", NULL, NULL); /* a getopt that reorders */
	/* only the flags a client gives a server scp: a client's options are no server's */
	transfer("scp -l 100 -P 22 -vt /x", NULL, NULL);
	transfer("scp -o x -pf /x", NULL, NULL);
	transfer("scp -3 -t /x", NULL, NULL);
	transfer("scp -v -r -p -d -t -- /x", "scp", "upload");
	transfer("scp -t -- -x -y", "scp", "upload");
	/* scp's source mode wins over -t */
	transfer("scp -t -f /etc/hostname", "scp", "download");
	transfer("scp -tf /etc/hostname", "scp", "download");
	/* git's servers take a client's options and one repository; --help runs "git help",
	 * and with it the man viewer a repository's config names */
	transfer("git upload-pack --help", NULL, NULL);
	transfer("git-upload-pack --help", NULL, NULL);
	transfer("git-upload-pack -h repo", NULL, NULL);
	transfer("git receive-pack --help-all", NULL, NULL);
	transfer("git-upload-archive --exec-path repo", NULL, NULL);
	transfer("git-upload-pack a b", NULL, NULL);
	transfer("git-upload-pack", NULL, NULL);
	transfer("git-upload-pack --timeout=x repo", NULL, NULL);
	transfer("git-upload-pack --strict --timeout=600 repo", "git-upload-pack", "download");
	transfer("git upload-pack --stateless-rpc --advertise-refs repo", "git-upload-pack",
	         "download");
	/* a program that is not root's alone, or not found, is no transfer */
	transfer("./scp -t /x", NULL, NULL);
	transfer("bin/scp -t /x", NULL, NULL);
	transfer("/nonexistent/scp -t /x", NULL, NULL);
	transfer("/usr/libexec/openssh-missing/sftp-server", NULL, NULL);
	/* quoting is undone into the words the program gets; it runs without a shell */
	m = parse(1, fc, "scp -p -t -- '/tmp/a b' \"c d\" e\\ f", 0);
	ck_assert(m.kind == SESSION_TRANSFER && m.exec_path != NULL && m.argv != NULL);
	ck_assert_str_eq(m.exec_path + strlen(m.exec_path) - 4, "/scp");
	ck_assert_str_eq(m.argv[0], "scp");
	ck_assert_str_eq(m.argv[4], "/tmp/a b");
	ck_assert_str_eq(m.argv[5], "c d");
	ck_assert_str_eq(m.argv[6], "e f");
	ck_assert_ptr_null(m.argv[7]);
	session_mode_free(&m);
	m = parse(1, fc, "ls -l", 0); /* a command goes through the shell */
	ck_assert(m.exec_path == NULL && m.argv == NULL);
	session_mode_free(&m);
	m = parse(1, fc, "internal-sftp -l VERBOSE", 0);
	ck_assert(m.kind == SESSION_TRANSFER && strcmp(m.transfer, "sftp") == 0);
	ck_assert_str_eq(m.command, SFTP " -l VERBOSE");
	ck_assert_str_eq(m.original, "internal-sftp -l VERBOSE");
	session_mode_free(&m);
	m = parse(1, fc, "internal-sftpx", 0);
	ck_assert_str_eq(m.command, "internal-sftpx");
	session_mode_free(&m);
	/* with a terminal it is interactive, whatever the command */
	m = parse(1, fc, "scp -t /tmp", 1);
	ck_assert(m.kind == SESSION_INTERACTIVE && m.transfer == NULL);
	session_mode_free(&m);
}
END_TEST

/* A transfer runs the file it was checked as: every symlink resolved, every folder above it root's
 * alone (the shell's process runs it later, and a link or a folder of the user's on the way could
 * be pointed elsewhere in between). */
START_TEST(mode_transfer_path_resolved)
{
	char dir[] = "/tmp/tg-mode.XXXXXX", sub[64], prog[96], link[64], cmd[160];
	char *fc[] = {"tollgate-record", NULL}, *real;
	struct session_mode m;
	int fd;

	/* root's own links are followed (git's dashed names lead to git): the transfer runs the
	 * file they lead to, under the name given */
	m = parse(1, fc, "git-upload-pack /srv/r.git", 0);
	if ((real = realpath("/usr/bin/git-upload-pack", NULL)) != NULL && m.exec_path != NULL) {
		ck_assert(m.kind == SESSION_TRANSFER);
		ck_assert_str_eq(m.exec_path, real);
		ck_assert_str_eq(m.argv[0], "git-upload-pack");
	}
	free(real);
	session_mode_free(&m);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* a symlink of someone else's to a folder of root's, in a folder all may write: the
	 * link could be pointed elsewhere before the exec */
	snprintf(link, sizeof(link), "%s/bin", dir);
	ck_assert_int_eq(symlink("/usr/bin", link), 0);
	snprintf(cmd, sizeof(cmd), "%s/scp -t /x", link);
	transfer(cmd, NULL, NULL);
	/* a link named scp that is not root's, though it leads to a program of root's (a shell):
	 * the name must not pass for scp's */
	snprintf(prog, sizeof(prog), "%s/scp", dir);
	ck_assert_int_eq(symlink("/bin/sh", prog), 0);
	if (getuid() == 0)
		ck_assert_int_eq(lchown(prog, 65534, 65534), 0);
	snprintf(cmd, sizeof(cmd), "%s -t /x", prog);
	transfer(cmd, NULL, NULL);
	unlink(prog);
	/* root's file in root's folder, under a folder others may write: no transfer */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(prog, sizeof(prog), "%s/scp", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_ge(fd = open(prog, O_WRONLY | O_CREAT | O_EXCL, 0755), 0);
	close(fd);
	ck_assert_int_eq(chmod(prog, 0755), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(cmd, sizeof(cmd), "%s -t /x", prog);
	transfer(cmd, NULL, NULL);
	unlink(prog);
	rmdir(sub);
	unlink(link);
	rmdir(dir);
}
END_TEST

/* Whether the session's program reads the commands it runs from stdin (record_shell_input). */
static int reads_stdin(const char *cmd, int tty)
{
	char *fc[] = {"tollgate-record", NULL};
	struct session_mode m = parse(1, fc, cmd, tty);
	int r = session_mode_shell_reads_stdin(&m);

	session_mode_free(&m);
	return r;
}

START_TEST(mode_shell_reads_stdin)
{
	ck_assert(reads_stdin(NULL, 0));  /* ssh -T host, ssh host < script */
	ck_assert(!reads_stdin(NULL, 1)); /* a terminal: typing is input */
	ck_assert(reads_stdin("bash", 0));
	ck_assert(reads_stdin("/bin/sh -s", 0));
	ck_assert(reads_stdin("bash --norc -i -x +o", 0));
	ck_assert(reads_stdin("sh -", 0));
	ck_assert(!reads_stdin("bash -c true", 0));
	ck_assert(!reads_stdin("sh -ec true", 0));
	ck_assert(!reads_stdin("bash script.sh", 0));
	/* options with an argument, and -s with the shell's own arguments, still read stdin */
	ck_assert(reads_stdin("bash -o posix", 0));
	ck_assert(reads_stdin("bash -eo pipefail", 0));
	ck_assert(reads_stdin("bash +O extglob -l", 0));
	ck_assert(reads_stdin("bash --rcfile /etc/x.rc", 0));
	ck_assert(reads_stdin("sh -s a b", 0));
	ck_assert(reads_stdin("bash -l", 0));
	ck_assert(reads_stdin("bash --login", 0));
	ck_assert(reads_stdin("sh -i", 0));
	ck_assert(reads_stdin("bash -", 0));
	ck_assert(!reads_stdin("bash -- script.sh", 0));
	ck_assert(!reads_stdin("bash --rcfile x.rc script.sh", 0));
	ck_assert(!reads_stdin("bash script.sh -s", 0));
	ck_assert(!reads_stdin("bash --version", 0)); /* reads nothing: its input is not for it */
	ck_assert(!reads_stdin("bash --help", 0));
	ck_assert(!reads_stdin("bash -oc", 0)); /* -o's name and -c's string both missing */
	ck_assert(reads_stdin("bash -so posix", 0));
	/* run through a wrapper that keeps its stdin, or after assignments */
	ck_assert(reads_stdin("env bash", 0));
	ck_assert(reads_stdin("/usr/bin/env -i PATH=/bin bash -l", 0));
	ck_assert(reads_stdin("env -u HOME -- sh -s", 0));
	ck_assert(reads_stdin("exec bash", 0));
	ck_assert(reads_stdin("exec -a login -l bash", 0));
	ck_assert(reads_stdin("command bash", 0));
	ck_assert(reads_stdin("busybox sh", 0));
	ck_assert(reads_stdin("busybox ash -s", 0));
	ck_assert(reads_stdin("LC_ALL=C bash", 0));
	ck_assert(reads_stdin("rbash", 0));
	ck_assert(!reads_stdin("env", 0));
	ck_assert(!reads_stdin("exec bash x.sh", 0));
	ck_assert(!reads_stdin("env bash -c true", 0));
	ck_assert(!reads_stdin("command -v bash", 0)); /* prints where bash is, runs nothing */
	/* env -S (--split-string, a #! line's "/usr/bin/env -S sh -s") splits its string into env's
	 * words and the command's, the words after it added */
	ck_assert(reads_stdin("env -S bash", 0));
	ck_assert(reads_stdin("env -S 'sh -s'", 0));
	ck_assert(reads_stdin("env --split-string='bash'", 0));
	ck_assert(reads_stdin("env --split-string 'sudo -s'", 0));
	ck_assert(reads_stdin("env -S\"python3 -\"", 0));
	ck_assert(reads_stdin("env -Ssh", 0));
	ck_assert(reads_stdin("env -iS 'bash -l'", 0));
	ck_assert(reads_stdin("env '-S sh -s'", 0));
	ck_assert(reads_stdin("env -S '-i PATH=/bin bash' -l", 0));
	ck_assert(reads_stdin("env -S 'env -S python3'", 0));
	ck_assert(reads_stdin("sudo env -S 'bash -s' a b", 0));
	ck_assert(reads_stdin("xargs env -S 'sh -c'", 0));
	ck_assert(!reads_stdin("env -S 'bash -c id'", 0));
	ck_assert(!reads_stdin("env -S 'python3 x.py'", 0));
	ck_assert(!reads_stdin("env -S bash x.sh", 0));
	ck_assert(!reads_stdin("env -S cat", 0));
	ck_assert(!reads_stdin("env -S", 0));
	ck_assert(!reads_stdin("env -u X -S", 0));
	ck_assert(!reads_stdin("busybox cat", 0));
	ck_assert(!reads_stdin("FOO=bar", 0));
	ck_assert(!reads_stdin("env cat", 0));
	/* sudo: a shell it runs reads stdin as well, as root */
	ck_assert(reads_stdin("sudo bash", 0));
	ck_assert(reads_stdin("sudo -u root -H sh -s", 0));
	ck_assert(reads_stdin("sudo --user=root --preserve-env bash", 0));
	ck_assert(reads_stdin("sudo --user root bash -l", 0));
	ck_assert(reads_stdin("sudo -s", 0));
	ck_assert(reads_stdin("sudo -i", 0));
	ck_assert(reads_stdin("sudo --sh", 0)); /* getopt_long: --shell */
	ck_assert(reads_stdin("sudo --log", 0));
	ck_assert(reads_stdin("sudo --us root bash", 0));
	ck_assert(reads_stdin("sudo --non -u root bash", 0)); /* --non-interactive */
	ck_assert(reads_stdin("timeout --sig=KILL 60 bash", 0));
	ck_assert(reads_stdin("timeout --sig KILL --fore 60 python3 -", 0));
	ck_assert(reads_stdin("nice --adj=5 bash", 0));
	ck_assert(reads_stdin("flock --time 5 /tmp/l bash", 0));
	ck_assert(!reads_stdin("taskset --p 1", 0)); /* --pid, not listed */
	ck_assert(reads_stdin("env --ch /srv --u X bash", 0));
	ck_assert(reads_stdin("env --spl='bash -l'", 0)); /* --split-string */
	ck_assert(reads_stdin("xargs --nu sh -c", 0));
	ck_assert(reads_stdin("xargs --repl=X sh -c X", 0));
	ck_assert(!reads_stdin("xargs --arg=f sh -c", 0)); /* --arg-file: stdin is the command's */
	ck_assert(reads_stdin("sudo --login", 0));
	ck_assert(reads_stdin("sudo -nS -s", 0));
	ck_assert(reads_stdin("sudo -i bash", 0));
	ck_assert(!reads_stdin("sudo", 0));
	ck_assert(!reads_stdin("sudo -u root", 0));
	ck_assert(!reads_stdin("sudo cat", 0));
	ck_assert(!reads_stdin("sudo -s id", 0));
	ck_assert(!reads_stdin("sudo -e /etc/hosts", 0)); /* sudoedit */
	ck_assert(!reads_stdin("sudo -l", 0));
	ck_assert(!reads_stdin("sudo --list bash", 0));
	ck_assert(!reads_stdin("sudo bash -c id", 0));
	ck_assert(!reads_stdin("cat", 0));
	ck_assert(!reads_stdin("bashful", 0));
	ck_assert(!reads_stdin("scp -t /tmp", 0)); /* a transfer */
}
END_TEST

/* The words of cmd as shell_line cuts them: "|" between words, ";" after each command, and "?" in
 * front when the line is uncertain. */
static char *cut(const char *cmd)
{
	static char out[512];
	struct shell_line l = SHELL_LINE_VOID;
	int i;

	ck_assert_int_eq(shell_line_split(&l, cmd), TG_OK);
	snprintf(out, sizeof(out), "%s", l.uncertain ? "?" : "");
	for (i = 0; i < l.count; i++) {
		if (l.words[i] == NULL)
			strcat(out, ";");
		else
			strcat(strcat(out, i > 0 && l.words[i - 1] != NULL ? "|" : ""), l.words[i]);
	}
	shell_line_free(&l);
	return out;
}

/* sh's quoting is undone and its ; && || and newlines cut commands; anything else it would act on
 * leaves the line uncertain, still cut into words at each operator. */
START_TEST(line_cut_as_sh_reads)
{
	ck_assert_str_eq(cut(""), "");
	ck_assert_str_eq(cut("cd /tmp; python3 -"), "cd|/tmp;python3|-;");
	ck_assert_str_eq(cut("a && b||c\nd"), "a;b;c;d;");
	ck_assert_str_eq(cut("cd '/a b' && x\\ y \"q\\\"\" # c\nz"), "cd|/a b;x y|q\";z;");
	ck_assert_str_eq(cut("X=1 sh -c 'a; b'"), "X=1|sh|-c|a; b;");
	ck_assert_str_eq(cut("a#b c"), "a#b|c;");
	ck_assert_str_eq(cut("''"), ";");
	ck_assert_str_eq(cut("cat | python3 -"), "?cat;python3|-;");
	ck_assert_str_eq(cut("bash 2>&1 < x"), "?bash;");
	ck_assert_str_eq(cut("sh</dev/stdin"), "?sh;");
	ck_assert_str_eq(cut("cd $HOME; bash"), "?cd|$HOME;bash;");
	ck_assert_str_eq(cut("x=$(which python3)"), "?x=$;which|python3;");
	ck_assert_str_eq(cut("a & b"), "?a;b;");
	ck_assert_str_eq(cut("if a; then bash; fi"), "?if|a;then|bash;fi;");
	ck_assert_str_eq(cut("echo \"$x\""), "?echo|$x;");
	ck_assert_str_eq(cut("ls *.py"), "?ls|*.py;");
	ck_assert_str_eq(cut("echo 'open"), "?echo|open;");
	ck_assert_str_eq(cut("case x in x) a;; esac"), "?case|x|in|x;a;esac;");
}
END_TEST

/* A command line of simple commands joined by ; && || or newlines reads its stdin as commands when
 * one of them does; syntax that is not followed stores it when a word names a shell or an
 * interpreter. */
START_TEST(mode_shell_sequences)
{
	ck_assert(reads_stdin("cd /tmp; python3 -", 0));
	ck_assert(reads_stdin("cd /tmp && bash", 0));
	ck_assert(reads_stdin("umask 077; sh", 0));
	ck_assert(reads_stdin("export X=1; perl", 0));
	ck_assert(reads_stdin("X=1; Y=2 python3", 0));
	ck_assert(reads_stdin("cd /srv || exit 1; sh -s", 0));
	ck_assert(reads_stdin("true\nbash", 0));
	ck_assert(reads_stdin("cd '/tmp/a b' && exec python3 -", 0));
	ck_assert(reads_stdin("test -d /x && cd /x; bash -l # the rest", 0));
	ck_assert(reads_stdin("bash; echo done", 0)); /* any one of them */
	ck_assert(reads_stdin("cat > f; bash", 0));
	ck_assert(reads_stdin("sh -s; rm x", 0));
	ck_assert(reads_stdin("cd /tmp; sudo -u root -s", 0));
	/* not followed: a word that names a shell or an interpreter stores stdin */
	ck_assert(reads_stdin("cat | python3 -", 0));
	ck_assert(reads_stdin("cd $HOME; bash", 0));
	ck_assert(reads_stdin("P=python3; $P -", 0));
	ck_assert(reads_stdin("cd /tmp; exec \"$SHELL\"", 0));
	ck_assert(reads_stdin("$0", 0)); /* the user's shell, which runs the command with -c */
	ck_assert(reads_stdin("exec \"${BASH}\" -l", 0));
	ck_assert(reads_stdin("if true; then bash; fi", 0));
	ck_assert(reads_stdin("sh < /dev/stdin", 0));
	ck_assert(reads_stdin("bash < x", 0));
	ck_assert(reads_stdin("(cd /x && perl)", 0));
	ck_assert(reads_stdin("x=$(which python3) && $x -", 0));
	/* and a command of it that runs a reader it does not name */
	ck_assert(reads_stdin("cd $HOME; sudo -s", 0));
	ck_assert(reads_stdin("sudo -i 2>/dev/null", 0));
	ck_assert(reads_stdin(". /dev/stdin > /dev/null", 0));
	ck_assert(reads_stdin("exec 2>&1; chroot /srv/jail", 0));
	ck_assert(reads_stdin("if true; then doas -s; fi", 0));
	ck_assert(reads_stdin("{ sudo --login; }", 0));
	ck_assert(reads_stdin("time -p sudo -s", 0));
	ck_assert(!reads_stdin("sudo -u $U id > log", 0));
	ck_assert(!reads_stdin("if true; then . ./env.sh; fi", 0));
	/* data commands, scripts and inline programs, and lines naming no reader */
	ck_assert(!reads_stdin("cd /tmp; cat > f", 0));
	ck_assert(!reads_stdin("cd /tmp && tar x", 0));
	ck_assert(!reads_stdin("umask 077; python3 x.py", 0));
	ck_assert(!reads_stdin("cd /x; perl -e 1", 0));
	ck_assert(!reads_stdin("echo 'bash'", 0));
	ck_assert(!reads_stdin("'python3 -'", 0)); /* one word: no such program */
	ck_assert(!reads_stdin("python3 -c 'exec(input())'", 0));
	ck_assert(!reads_stdin("cat > f | wc -c", 0));
	ck_assert(!reads_stdin("tar xf - -C /srv > /dev/null", 0));
	ck_assert(!reads_stdin("ls *.py; cd $HOME", 0));
	ck_assert(!reads_stdin("cd /tmp; cat > bash.txt", 0));
	ck_assert(!reads_stdin("cd /tmp; python3 -", 1)); /* a terminal: typing is input */
}
END_TEST

/* An interpreter whose program comes from stdin: that program is what it runs, as a shell's
 * commands; with a script or an inline program, what comes on stdin is its data. */
START_TEST(mode_interpreter_reads_stdin)
{
	/* no script: the program is read from stdin */
	ck_assert(reads_stdin("python3", 0));
	ck_assert(reads_stdin("python3 -", 0));
	ck_assert(reads_stdin("python3 - a b", 0));
	ck_assert(reads_stdin("python3 -u -W ignore -X dev", 0));
	ck_assert(reads_stdin("python3 -i script.py", 0)); /* then reads its commands */
	ck_assert(reads_stdin("python", 0));
	ck_assert(reads_stdin("python3.11 -", 0));
	ck_assert(reads_stdin("/usr/bin/python3.11", 0));
	ck_assert(reads_stdin("python3 /dev/stdin", 0));
	ck_assert(reads_stdin("pypy3 -", 0));
	ck_assert(reads_stdin("perl", 0));
	ck_assert(reads_stdin("perl -", 0));
	ck_assert(reads_stdin("perl -w -Mstrict -I /opt/lib -", 0));
	ck_assert(reads_stdin("perl5.36.0", 0));
	ck_assert(reads_stdin("/usr/bin/perl5.36-x86_64-linux-gnu", 0)); /* Debian 12's */
	ck_assert(reads_stdin("lua -e x=1 -", 0)); /* -e runs first, then the script: stdin */
	ck_assert(reads_stdin("lua5.4 -e x=1 -l socket -", 0));
	ck_assert(reads_stdin("/usr/bin/perl -T", 0));
	ck_assert(reads_stdin("ruby", 0));
	ck_assert(reads_stdin("ruby -w -r json -", 0));
	ck_assert(reads_stdin("ruby3.1", 0));
	ck_assert(reads_stdin("node", 0));
	ck_assert(reads_stdin("node -", 0));
	ck_assert(reads_stdin("nodejs --require ./hook.js", 0));
	ck_assert(reads_stdin("node -i", 0));
	ck_assert(reads_stdin("php", 0));
	ck_assert(reads_stdin("php8.2 -n", 0));
	ck_assert(reads_stdin("php -a", 0));
	ck_assert(reads_stdin("lua", 0));
	ck_assert(reads_stdin("lua5.4 -", 0));
	ck_assert(reads_stdin("luajit", 0));
	ck_assert(reads_stdin("lua -l socket", 0));
	ck_assert(reads_stdin("tclsh", 0));
	ck_assert(reads_stdin("tclsh8.6 -encoding utf-8", 0));
	ck_assert(reads_stdin("tclsh - a", 0));
	ck_assert(reads_stdin("Rscript -", 0));
	ck_assert(reads_stdin("Rscript --vanilla -", 0));
	ck_assert(reads_stdin("R --vanilla --no-echo", 0));
	ck_assert(reads_stdin("R --no-save --args a b", 0));
	ck_assert(reads_stdin("awk -f -", 0));
	ck_assert(reads_stdin("awk -f /dev/stdin data.txt", 0));
	ck_assert(reads_stdin("gawk --file=- data.txt", 0));
	ck_assert(reads_stdin("mawk -F: -f /dev/fd/0", 0));
	ck_assert(reads_stdin("sed -f - file", 0));
	ck_assert(reads_stdin("sed -n -f /dev/stdin file", 0));
	ck_assert(reads_stdin("bash /dev/stdin", 0));
	ck_assert(reads_stdin("sh -x /dev/stdin a", 0));
	ck_assert(reads_stdin("bash5.2", 0));
	/* the same wrappers as for a shell */
	ck_assert(reads_stdin("env python3 -", 0));
	ck_assert(reads_stdin("LC_ALL=C exec perl", 0));
	ck_assert(reads_stdin("sudo -u root python3", 0));
	ck_assert(reads_stdin("/usr/bin/env -i PATH=/bin node", 0));
	ck_assert(reads_stdin("busybox awk -f -", 0));
	/* a script, an inline program (its stdin reads are not told apart), --version: stdin is
	 * data, or read by nothing */
	ck_assert(!reads_stdin("python3 script.py", 0));
	ck_assert(!reads_stdin("python3 -u script.py -", 0));
	ck_assert(!reads_stdin("python3 -- script.py", 0));
	ck_assert(!reads_stdin("python3 -c pass", 0));
	ck_assert(!reads_stdin("python3 -c pass -i", 0)); /* -i is the program's argument */
	ck_assert(!reads_stdin("python3 -m json.tool", 0));
	ck_assert(!reads_stdin("python3 -W ignore script.py", 0));
	ck_assert(!reads_stdin("python3 --version", 0));
	ck_assert(!reads_stdin("python3 -V", 0));
	ck_assert(!reads_stdin("python3 -c 'exec(input())'", 0)); /* inline: not told apart */
	ck_assert(!reads_stdin("perl script.pl", 0));
	ck_assert(!reads_stdin("perl -ne print", 0));
	ck_assert(!reads_stdin("perl -lane print", 0));
	ck_assert(!reads_stdin("perl -e print -", 0)); /* "-" is @ARGV: data */
	ck_assert(!reads_stdin("perl -pi.bak -e s/a/b/ file", 0));
	ck_assert(!reads_stdin("perl -I lib script.pl", 0));
	ck_assert(!reads_stdin("perl -v", 0));
	ck_assert(!reads_stdin("ruby script.rb", 0));
	ck_assert(!reads_stdin("ruby -e puts", 0));
	ck_assert(!reads_stdin("ruby -r json script.rb", 0));
	ck_assert(!reads_stdin("node app.js", 0));
	ck_assert(!reads_stdin("node -e 1", 0));
	ck_assert(!reads_stdin("node -r ./hook.js app.js", 0));
	ck_assert(!reads_stdin("node --version", 0));
	ck_assert(!reads_stdin("node --test", 0));
	ck_assert(!reads_stdin("php script.php", 0));
	ck_assert(!reads_stdin("php -r exit", 0));
	ck_assert(!reads_stdin("php -f script.php", 0));
	ck_assert(!reads_stdin("php -R echo", 0));
	ck_assert(!reads_stdin("php -S localhost:8000", 0));
	ck_assert(!reads_stdin("lua script.lua", 0));
	ck_assert(!reads_stdin("lua -e x=1", 0));
	ck_assert(!reads_stdin("lua -e x=1 script.lua", 0));
	ck_assert(!reads_stdin("python3-config", 0));
	ck_assert(!reads_stdin("perl5.36-x86_64", 0));
	ck_assert(!reads_stdin("lua -v", 0));
	ck_assert(!reads_stdin("tclsh script.tcl", 0));
	ck_assert(!reads_stdin("tclsh -encoding utf-8 script.tcl", 0));
	ck_assert(!reads_stdin("Rscript", 0));
	ck_assert(!reads_stdin("Rscript script.R", 0));
	ck_assert(!reads_stdin("Rscript -e 1", 0));
	ck_assert(!reads_stdin("R -f script.R", 0));
	ck_assert(!reads_stdin("R CMD BATCH script.R", 0));
	ck_assert(!reads_stdin("R --version", 0));
	ck_assert(!reads_stdin("awk", 0));
	ck_assert(!reads_stdin("awk NF", 0));
	ck_assert(!reads_stdin("awk -F: -v x=1 NF -", 0)); /* the program is NF; "-" is data */
	ck_assert(!reads_stdin("awk -f prog.awk", 0));
	ck_assert(!reads_stdin("awk -f prog.awk -", 0));
	ck_assert(!reads_stdin("gawk --version", 0));
	ck_assert(!reads_stdin("sed -n p", 0));
	ck_assert(!reads_stdin("sed -f prog.sed -", 0));
	ck_assert(!reads_stdin("sed -e p -i file", 0));
	ck_assert(!reads_stdin("env python3 script.py", 0));
	ck_assert(!reads_stdin("sudo perl -e 1", 0));
	/* data commands: their stdin is data */
	ck_assert(!reads_stdin("cat", 0));
	ck_assert(!reads_stdin("tar x", 0));
	ck_assert(!reads_stdin("tar -xf -", 0));
	ck_assert(!reads_stdin("git apply", 0));
	ck_assert(!reads_stdin("dd of=/tmp/x", 0));
	ck_assert(!reads_stdin("pythonic", 0));
	ck_assert(!reads_stdin("python3x", 0));
	ck_assert(!reads_stdin("perl-", 0));
	ck_assert(!reads_stdin("python3 -", 1)); /* a terminal: typing is input */
}
END_TEST

/* xargs makes its input the words of the command it runs: the program, when those words leave it
 * unsaid ("xargs sh -c", "xargs python3", "xargs sudo"), or the replace string stands for it. */
START_TEST(mode_xargs_program_from_stdin)
{
	ck_assert(reads_stdin("xargs sh -c", 0));
	ck_assert(reads_stdin("xargs -0 sh -c", 0));
	ck_assert(reads_stdin("xargs -0 -n 1 bash -c", 0));
	ck_assert(reads_stdin("xargs sh", 0)); /* its input may start "-c ..." */
	ck_assert(reads_stdin("xargs python3 -c", 0));
	ck_assert(reads_stdin("xargs python3", 0));
	ck_assert(reads_stdin("xargs perl -e", 0));
	ck_assert(reads_stdin("xargs awk", 0)); /* the program's text is the first word */
	ck_assert(reads_stdin("xargs sed -n", 0));
	ck_assert(reads_stdin("xargs Rscript", 0));
	ck_assert(reads_stdin("xargs -I X sh -c X", 0));
	ck_assert(reads_stdin("xargs -0 -IX python3 -c X", 0));
	ck_assert(reads_stdin("xargs --replace=@ perl -e @", 0));
	ck_assert(reads_stdin("xargs --null --max-args 1 sh -c", 0));
	ck_assert(reads_stdin("xargs env", 0)); /* the whole command from stdin */
	ck_assert(reads_stdin("xargs sudo", 0));
	ck_assert(reads_stdin("xargs -0 busybox", 0));
	ck_assert(reads_stdin("/usr/bin/xargs -r sh -c", 0));
	ck_assert(reads_stdin("sudo xargs sh -c", 0));
	ck_assert(reads_stdin("xargs -0 sudo -u root sh -c", 0));
	ck_assert(reads_stdin("env LC_ALL=C xargs -0 sh -c", 0));
	/* its input is arguments to a program given on the line, or it echoes them */
	ck_assert(!reads_stdin("xargs", 0));
	ck_assert(!reads_stdin("xargs -0", 0));
	ck_assert(!reads_stdin("xargs rm", 0));
	ck_assert(!reads_stdin("xargs -0 rm -f", 0));
	ck_assert(!reads_stdin("xargs grep -l x", 0));
	ck_assert(!reads_stdin("xargs sh -c x", 0));
	ck_assert(!reads_stdin("xargs -n 1 sh -c x", 0));
	ck_assert(!reads_stdin("xargs sh script.sh", 0));
	ck_assert(!reads_stdin("xargs python3 script.py", 0));
	ck_assert(!reads_stdin("xargs python3 -c pass", 0));
	ck_assert(!reads_stdin("xargs awk NF", 0));
	ck_assert(!reads_stdin("xargs awk -f prog.awk", 0));
	ck_assert(!reads_stdin("xargs -I X rm X", 0));
	ck_assert(!reads_stdin("xargs -I X sh -c x X", 0));
	ck_assert(!reads_stdin("xargs -I X env", 0));      /* prints the environment, once a line */
	/* -a naming stdin: xargs reads its words there, as without it */
	ck_assert(reads_stdin("xargs -a /dev/stdin sh -c", 0));
	ck_assert(reads_stdin("xargs -a - sh -c", 0));
	ck_assert(reads_stdin("xargs -0a/dev/fd/0 bash -c", 0));
	ck_assert(reads_stdin("xargs --arg-file=/dev/stdin -I X sh -c X", 0));
	ck_assert(reads_stdin("xargs --arg-file /proc/self/fd/0 python3", 0));
	ck_assert(!reads_stdin("xargs -a /dev/stdin echo", 0));
	ck_assert(!reads_stdin("xargs -a /dev/stdin sh -c x", 0));
	ck_assert(!reads_stdin("xargs -a", 0));
	ck_assert(!reads_stdin("xargs -a list sh -c", 0)); /* not told apart: stdin is sh's */
	ck_assert(!reads_stdin("xargs --arg-file=list sh -c", 0));
	ck_assert(!reads_stdin("xargs --foo sh -c", 0));
}
END_TEST

/* Wrappers that run the next word as a program with their own stdin, once their options and
 * their positional arguments (timeout's DURATION, chrt's PRIORITY, taskset's MASK, flock's FILE,
 * chroot's NEWROOT) are skipped; su and runuser run a shell. An option not known gives up. */
START_TEST(mode_more_wrappers)
{
	ck_assert(reads_stdin("nice bash", 0));
	ck_assert(reads_stdin("nice -n 5 bash", 0));
	ck_assert(reads_stdin("nice -n5 python3 -", 0));
	ck_assert(reads_stdin("nice --adjustment=5 sh -s", 0));
	ck_assert(reads_stdin("nice --adjustment 5 bash", 0));
	ck_assert(!reads_stdin("nice -n 5 cat", 0));
	ck_assert(!reads_stdin("nice", 0));
	ck_assert(!reads_stdin("nice -5 bash", 0)); /* the old form: not read here */
	ck_assert(!reads_stdin("nice --foo bash", 0));
	ck_assert(reads_stdin("nohup bash", 0));
	ck_assert(!reads_stdin("nohup bash x.sh", 0));
	ck_assert(!reads_stdin("nohup --version bash", 0));
	ck_assert(reads_stdin("timeout 60 bash", 0));
	ck_assert(reads_stdin("timeout -s KILL 60 python3 -", 0));
	ck_assert(reads_stdin("timeout -k 5 --signal=TERM --foreground 1m sh", 0));
	ck_assert(reads_stdin("timeout --preserve-status -v -- 60 bash", 0));
	ck_assert(!reads_stdin("timeout 60 python3 x.py", 0));
	ck_assert(!reads_stdin("timeout 60", 0));
	ck_assert(!reads_stdin("timeout bash", 0)); /* bash is the DURATION: no command */
	ck_assert(!reads_stdin("timeout -x 60 bash", 0));
	ck_assert(reads_stdin("setsid bash", 0));
	ck_assert(reads_stdin("setsid -f -w --ctty bash", 0));
	ck_assert(!reads_stdin("setsid cat", 0));
	ck_assert(!reads_stdin("setsid -V bash", 0));
	ck_assert(reads_stdin("stdbuf -oL -e 0 --input=0 bash", 0));
	ck_assert(reads_stdin("stdbuf --output L python3", 0));
	ck_assert(!reads_stdin("stdbuf -oL cat", 0));
	ck_assert(!reads_stdin("stdbuf -x bash", 0));
	ck_assert(reads_stdin("ionice -c 3 bash", 0));
	ck_assert(reads_stdin("ionice -c2 -n7 -t sh", 0));
	ck_assert(reads_stdin("ionice --class idle --classdata=0 bash", 0));
	ck_assert(!reads_stdin("ionice -c 3 cat", 0));
	ck_assert(!reads_stdin("ionice -p 1 bash", 0)); /* acts on process 1 */
	ck_assert(reads_stdin("chrt 10 bash", 0));
	ck_assert(reads_stdin("chrt -f 10 bash", 0));
	ck_assert(reads_stdin("chrt --idle -R 0 python3 -", 0));
	ck_assert(reads_stdin("chrt -d -T 1000 -P 2000 -D 2000 0 sh", 0));
	ck_assert(!reads_stdin("chrt -b 0 cat", 0));
	ck_assert(!reads_stdin("chrt -b bash", 0)); /* no priority */
	ck_assert(!reads_stdin("chrt -p 10 1", 0));
	ck_assert(!reads_stdin("chrt -m", 0));
	ck_assert(reads_stdin("taskset 0x3 bash", 0));
	ck_assert(reads_stdin("taskset -c 0-3 python3", 0));
	ck_assert(reads_stdin("taskset --cpu-list 1 sh -s", 0));
	ck_assert(!reads_stdin("taskset 1 cat", 0));
	ck_assert(!reads_stdin("taskset -p 1 42", 0));
	ck_assert(!reads_stdin("taskset -a 1 bash", 0)); /* only with -p */
	ck_assert(reads_stdin("flock /tmp/l bash", 0));
	ck_assert(reads_stdin("flock -n -w 10 -E 3 /tmp/l python3 -", 0));
	ck_assert(reads_stdin("flock --shared --timeout=5 /tmp/l sh", 0));
	ck_assert(!reads_stdin("flock /tmp/l cat", 0));
	ck_assert(!reads_stdin("flock -c cmd /tmp/l", 0));  /* flock rejects -c before the file */
	ck_assert(!reads_stdin("flock /tmp/l -c", 0));
	ck_assert(!reads_stdin("flock 9", 0));
	ck_assert(reads_stdin("chroot /srv/jail bash", 0));
	ck_assert(reads_stdin("chroot --userspec=u:g --skip-chdir /srv/jail sh -s", 0));
	ck_assert(reads_stdin("chroot --groups g1,g2 /srv/jail", 0)); /* runs "$SHELL -i" */
	ck_assert(!reads_stdin("chroot /srv/jail cat", 0));
	ck_assert(!reads_stdin("chroot", 0));
	ck_assert(!reads_stdin("chroot -x /srv/jail bash", 0));
	ck_assert(reads_stdin("doas bash", 0));
	ck_assert(reads_stdin("doas -n -u root python3 -", 0));
	ck_assert(reads_stdin("doas -s", 0));
	ck_assert(!reads_stdin("doas cat", 0));
	ck_assert(!reads_stdin("doas -C /etc/doas.conf bash", 0)); /* checks the config */
	ck_assert(!reads_stdin("doas -L", 0));
	ck_assert(reads_stdin("toybox sh", 0));
	ck_assert(reads_stdin("toybox env python3 -", 0));
	ck_assert(!reads_stdin("toybox cat", 0));
	/* unshare and nsenter run the program in other namespaces, or with none "$SHELL" */
	ck_assert(reads_stdin("unshare sh", 0));
	ck_assert(reads_stdin("unshare -r bash", 0));
	ck_assert(reads_stdin("unshare -mU --fork --map-root-user --propagation private sh -s", 0));
	ck_assert(reads_stdin("unshare -n/run/netns/x --setgroups=deny -R /srv/jail python3 -", 0));
	ck_assert(reads_stdin("unshare --map-user=0 --mount-proc -- bash", 0));
	ck_assert(reads_stdin("unshare -r", 0)); /* runs "$SHELL" */
	ck_assert(reads_stdin("nsenter -t 1 -a sh", 0));
	ck_assert(reads_stdin("nsenter --target 1 -m -u -i -n -p bash", 0));
	ck_assert(reads_stdin("nsenter -t1 --mount=/proc/1/ns/mnt -S 0 -G 0 -F sh -s", 0));
	ck_assert(reads_stdin("nsenter --all --target=42 --preserve-credentials", 0));
	ck_assert(reads_stdin("sudo nsenter -t 1 -a", 0));
	ck_assert(!reads_stdin("unshare -r cat", 0));
	ck_assert(!reads_stdin("unshare -r bash x.sh", 0));
	ck_assert(!reads_stdin("unshare -V", 0));
	ck_assert(!reads_stdin("unshare --foo sh", 0));
	ck_assert(!reads_stdin("nsenter -t 1 -a cat", 0));
	ck_assert(!reads_stdin("nsenter -t 1 -a sh -c id", 0));
	ck_assert(!reads_stdin("nsenter -h", 0));
	/* through several of them */
	ck_assert(reads_stdin("nohup nice -n 19 timeout 1h sudo -u root bash", 0));
	ck_assert(reads_stdin("xargs timeout 60", 0)); /* the command from xargs' input */
	ck_assert(!reads_stdin("nohup nice timeout 1h cat", 0));
	ck_assert(!reads_stdin("sudo - bash", 0)); /* "-" is sudo's command */
}
END_TEST

/* su and runuser as su run the user's shell (or -s SHELL) with no command: it reads stdin. A -c
 * command string (su USER -c CMD) is read as a command line (mode_command_strings). runuser -u
 * runs a command. */
START_TEST(mode_su_runuser)
{
	ck_assert(reads_stdin("su", 0));
	ck_assert(reads_stdin("su -", 0));
	ck_assert(reads_stdin("su root", 0));
	ck_assert(reads_stdin("su - postgres", 0));
	ck_assert(reads_stdin("su -l -m -P postgres", 0));
	ck_assert(reads_stdin("su postgres --login", 0)); /* su reads options after the user */
	ck_assert(reads_stdin("su -s /bin/bash www-data", 0));
	ck_assert(reads_stdin("su www-data -s /usr/bin/python3", 0));
	ck_assert(reads_stdin("su --shell=/bin/sh -g adm root", 0));
	ck_assert(reads_stdin("runuser -l postgres", 0));
	ck_assert(reads_stdin("runuser -s /bin/sh postgres", 0));
	ck_assert(reads_stdin("runuser -u postgres -- bash", 0));
	ck_assert(reads_stdin("runuser -u postgres python3", 0));
	ck_assert(reads_stdin("runuser --user=postgres -- sh -s", 0));
	ck_assert(reads_stdin("su -s/bin/bash root", 0));
	ck_assert(reads_stdin("su -ls /bin/sh", 0));
	ck_assert(reads_stdin("sudo su -", 0));
	ck_assert(reads_stdin("nohup su - postgres", 0));
	ck_assert(!reads_stdin("su -s /bin/cat root", 0));
	ck_assert(!reads_stdin("su --shell=/bin/cat root", 0));
	ck_assert(!reads_stdin("su --user=root", 0)); /* runuser's alone */
	ck_assert(!reads_stdin("su root -", 0));      /* "-" only before the user */
	ck_assert(!reads_stdin("su -s", 0));
	ck_assert(!reads_stdin("su -c id root", 0));
	ck_assert(!reads_stdin("su root x.sh", 0)); /* arguments to the user's shell */
	ck_assert(!reads_stdin("su root -- -c id", 0));
	ck_assert(!reads_stdin("su -x root", 0));
	ck_assert(!reads_stdin("su --help", 0));
	ck_assert(!reads_stdin("runuser -u postgres cat", 0));
	ck_assert(!reads_stdin("runuser -u postgres bash -c id", 0));
	ck_assert(!reads_stdin("runuser -u postgres bash -l", 0)); /* -l is runuser's: refused */
	ck_assert(!reads_stdin("runuser -u postgres", 0));
	ck_assert(!reads_stdin("runuser -u postgres -s /bin/sh bash", 0));
}
END_TEST

/* A command string a shell runs (sh -c, su -c, runuser -c, flock -c, eval, alias, trap) is read as
 * a command line of its own, to a bounded depth; past it, for names only. */
START_TEST(mode_command_strings)
{
	ck_assert(reads_stdin("sh -c 'bash'", 0));
	ck_assert(reads_stdin("bash -c \"cd /x; perl\"", 0));
	ck_assert(reads_stdin("bash -lc 'python3 -'", 0));
	ck_assert(reads_stdin("sudo sh -c 'cd /; exec bash -l'", 0));
	ck_assert(reads_stdin("timeout 60 bash -c 'umask 077 && python3 -'", 0));
	ck_assert(reads_stdin("sh -c \"sh -c 'sh -c bash'\"", 0));
	ck_assert(reads_stdin("su -c 'bash' postgres", 0));
	ck_assert(reads_stdin("su - postgres -c 'cd /x; perl'", 0));
	ck_assert(reads_stdin("su root -c bash", 0));
	ck_assert(reads_stdin("su -c bash", 0));
	ck_assert(reads_stdin("su -cbash root", 0));
	ck_assert(reads_stdin("su --command='python3 -' root", 0));
	ck_assert(reads_stdin("su --session-command bash root", 0));
	/* getopt_long takes the start of a long option's name for it */
	ck_assert(reads_stdin("su --comm bash root", 0));
	ck_assert(reads_stdin("su --comm='python3 -' root", 0));
	ck_assert(reads_stdin("su --sess=bash root", 0));
	ck_assert(reads_stdin("su --sh=/bin/bash root", 0));
	ck_assert(reads_stdin("su --log root", 0));
	ck_assert(!reads_stdin("su --sh=/bin/cat root", 0));
	ck_assert(reads_stdin("runuser --us postgres -- bash", 0));
	ck_assert(reads_stdin("script -q --comm bash /dev/null", 0));
	ck_assert(reads_stdin("script --tim=t.log -q out", 0));
	ck_assert(!reads_stdin("script --comm=id", 0));
	ck_assert(reads_stdin("su -s /bin/bash -c sh root", 0));
	ck_assert(reads_stdin("su -c sh root x y", 0)); /* the shell's $0 and $1 */
	ck_assert(reads_stdin("runuser -c bash postgres", 0));
	ck_assert(reads_stdin("sudo su - -c 'python3 -'", 0));
	ck_assert(reads_stdin("flock /tmp/l -c 'python3 -'", 0));
	ck_assert(reads_stdin("flock /tmp/l --command bash", 0));
	ck_assert(reads_stdin("flock -s /tmp/l --command='cd /; sh'", 0));
	ck_assert(reads_stdin("eval python3 -", 0));
	ck_assert(reads_stdin("cd /x; eval 'exec bash'", 0));
	ck_assert(reads_stdin("builtin eval bash", 0));
	ck_assert(reads_stdin("command eval 'python3 -'", 0));
	ck_assert(reads_stdin("alias p='python3 -'", 0)); /* then "p" on a later line */
	ck_assert(reads_stdin("trap bash EXIT", 0));
	ck_assert(reads_stdin("trap -- 'python3 -' EXIT", 0));
	ck_assert(reads_stdin(". /dev/stdin", 0));
	ck_assert(reads_stdin("cd /x && source /dev/stdin", 0));
	/* bash's eval, . and source skip a "--" before their words */
	ck_assert(reads_stdin("eval -- bash", 0));
	ck_assert(reads_stdin("eval -- 'cd /x; python3 -'", 0));
	ck_assert(reads_stdin(". -- /dev/stdin", 0));
	ck_assert(reads_stdin("source -- /dev/stdin", 0));
	/* script(1) runs the user's shell, or -c CMD, on a pty its stdin feeds */
	ck_assert(reads_stdin("script", 0));
	ck_assert(reads_stdin("script -q /dev/null", 0));
	ck_assert(reads_stdin("script -qc bash /dev/null", 0));
	ck_assert(reads_stdin("script --command='cd /; python3 -' -q log", 0));
	ck_assert(reads_stdin("script -a -f -tlog.t --log-out=o.log out", 0));
	ck_assert(reads_stdin("script --timing=t.log -E never out", 0));
	ck_assert(reads_stdin("sudo script -q /dev/null", 0));
	ck_assert(!reads_stdin("script -qc 'tar x' /dev/null", 0));
	ck_assert(!reads_stdin("script -c id", 0));
	ck_assert(!reads_stdin("script --version", 0));
	ck_assert(!reads_stdin("script -V", 0));
	ck_assert(!reads_stdin("script a b", 0));
	ck_assert(!reads_stdin("script -x out", 0));
	/* in a line not followed, a word that holds a line that reads stdin */
	ck_assert(reads_stdin("echo x | flock /tmp/l -c 'cd /; perl'", 0));
	/* past MAX_NESTING, names only: python3 is named */
	ck_assert(reads_stdin("eval eval eval eval eval eval python3 -", 0));
	ck_assert(reads_stdin("eval eval eval eval eval eval python3 x.py", 0));
	/* the string runs a data command, a script or an inline program */
	ck_assert(!reads_stdin("sh -c 'cat'", 0));
	ck_assert(!reads_stdin("bash -c 'cd /x; python3 x.py'", 0));
	ck_assert(!reads_stdin("sh -c \"sh -c 'tar x'\"", 0));
	ck_assert(!reads_stdin("su -c id root", 0));
	ck_assert(!reads_stdin("su -c 'cat > f' root", 0));
	ck_assert(!reads_stdin("su -s /usr/bin/python3 -c 'import os' root", 0)); /* no shell */
	ck_assert(!reads_stdin("runuser -u postgres -c bash", 0)); /* runuser refuses both */
	ck_assert(!reads_stdin("flock /tmp/l -c 'tar x'", 0));
	ck_assert(!reads_stdin("eval cat", 0));
	ck_assert(!reads_stdin("alias ll='ls -l'", 0));
	ck_assert(!reads_stdin("trap 'rm -f x' EXIT", 0));
	ck_assert(!reads_stdin(". ./env.sh", 0));
	ck_assert(!reads_stdin("source x", 0));
	ck_assert(!reads_stdin("source -- x", 0));
	ck_assert(!reads_stdin("eval -- cat", 0));
	ck_assert(!reads_stdin("echo x | flock /tmp/l -c 'cd /; tar x'", 0));
	{
		/* eval of 60,000 words, near SSH_ORIGINAL_COMMAND's 128 KiB: read whole */
		size_t n = 60000, i;
		char *line = malloc(14 + 2 * n + 1);

		ck_assert_ptr_nonnull(line);
		strcpy(line, "eval python3 -");
		for (i = 0; i < n; i++)
			strcpy(line + 14 + 2 * i, " a");
		ck_assert(reads_stdin(line, 0)); /* python3 - a a ...: the words are its argv */
		memcpy(line, "eval python3 x", 14);
		ck_assert(!reads_stdin(line, 0));
		free(line);
	}
}
END_TEST

/* BASH_ENV (a bash that runs a script or a command string) and ENV (an interactive sh) name a
 * file of commands the shell runs first: pointed at stdin, that shell runs stdin's commands, and
 * any shell the command starts with it in its environment does. */
START_TEST(mode_start_file_from_stdin)
{
	ck_assert(reads_stdin("BASH_ENV=/dev/stdin bash -c :", 0));
	ck_assert(reads_stdin("BASH_ENV=/dev/fd/0 bash -c true", 0));
	ck_assert(reads_stdin("BASH_ENV=/proc/self/fd/0 bash x.sh", 0));
	ck_assert(reads_stdin("env BASH_ENV=/dev/stdin bash -c true", 0));
	ck_assert(reads_stdin("sudo BASH_ENV=/dev/stdin bash -c id", 0));
	ck_assert(reads_stdin("export BASH_ENV=/dev/stdin; bash -c :", 0));
	ck_assert(reads_stdin("BASH_ENV=/dev/stdin; export BASH_ENV; bash -c :", 0));
	ck_assert(reads_stdin("export BASH_ENV=/dev/stdin && make", 0)); /* its recipes' shell */
	ck_assert(reads_stdin("ENV=/dev/stdin sh -ic :", 0));
	ck_assert(reads_stdin("ENV=/dev/stdin dash -i", 0));
	ck_assert(reads_stdin("sh -c 'BASH_ENV=/dev/stdin bash -c id'", 0));
	ck_assert(reads_stdin("env -S 'BASH_ENV=/dev/stdin bash -c id'", 0));
	ck_assert(reads_stdin("BASH_ENV=/dev/stdin bash -c id > log", 0));
	ck_assert(!reads_stdin("BASH_ENV=/etc/bash.env bash -c :", 0));
	ck_assert(!reads_stdin("BASH_ENV=- bash -c :", 0)); /* a file named "-" */
	ck_assert(!reads_stdin("MY_BASH_ENV=/dev/stdin bash -c :", 0));
	ck_assert(!reads_stdin("export ENV=/etc/shrc; sh -ic :", 0));
	ck_assert(!reads_stdin("BASH_ENV=/dev/stdin2 bash -c :", 0));
}
END_TEST

/* Query clients, debuggers and consoles run the commands they read from stdin when it is not a
 * terminal, unless the command line gives them their commands (or, for sqlite3, the SQL after the
 * database): read with each one's own options. */
START_TEST(mode_clients_read_stdin)
{
	ck_assert(reads_stdin("sqlite3", 0));
	ck_assert(reads_stdin("sqlite3 db.sqlite", 0));
	ck_assert(reads_stdin("sqlite3 -bail -cmd .timeout db.sqlite", 0));
	ck_assert(reads_stdin("sqlite3 --init x.sql -lookaside 64 100 db.sqlite -header", 0));
	/* its -init file is read before the SQL given: stdin's ".shell ..." runs */
	ck_assert(reads_stdin("sqlite3 -init /dev/stdin db.sqlite 'select 1'", 0));
	ck_assert(reads_stdin("sqlite3 -init /dev/fd/0 db.sqlite .tables", 0));
	ck_assert(reads_stdin("export X=1; psql", 0));
	ck_assert(reads_stdin("psql -h db -U app -d prod", 0));
	ck_assert(reads_stdin("psql app postgres -X -v ON_ERROR_STOP=1", 0));
	ck_assert(reads_stdin("psql -f -", 0));
	ck_assert(reads_stdin("psql --file=/dev/stdin app", 0));
	ck_assert(reads_stdin("sudo -u postgres psql", 0));
	ck_assert(reads_stdin("mysql", 0));
	ck_assert(reads_stdin("mysql -u root -psecret prod", 0));
	ck_assert(reads_stdin("mariadb --defaults-file=/etc/x.cnf -h db prod", 0));
	ck_assert(reads_stdin("redis-cli", 0));
	ck_assert(reads_stdin("redis-cli -h cache -n 3", 0));
	ck_assert(reads_stdin("redis-cli --pipe", 0));
	ck_assert(reads_stdin("mongosh", 0));
	ck_assert(reads_stdin("mongosh mongodb://db/app --quiet", 0));
	ck_assert(reads_stdin("mongo --host db app", 0));
	ck_assert(reads_stdin("mongosh --eval 1 --shell", 0));
	ck_assert(reads_stdin("gdb", 0));
	ck_assert(reads_stdin("gdb -q -nx ./prog core", 0));
	ck_assert(reads_stdin("gdb -p 1234", 0));
	ck_assert(reads_stdin("gdb -x setup.gdb ./prog", 0)); /* then reads stdin */
	ck_assert(reads_stdin("gdb -ex run --args ./prog -x", 0));
	ck_assert(reads_stdin("gdb -batch -x /dev/stdin ./prog", 0));
	ck_assert(reads_stdin("bc", 0));
	ck_assert(reads_stdin("bc -l lib.bc", 0)); /* its files, then stdin */
	ck_assert(reads_stdin("dc", 0));
	ck_assert(reads_stdin("dc -", 0));
	/* each of its files is a program, run after -e and -f: "-" too */
	ck_assert(reads_stdin("dc -e 1 -", 0));
	ck_assert(reads_stdin("dc lib.dc -", 0));
	ck_assert(reads_stdin("dc -f lib.dc /dev/stdin", 0));
	ck_assert(reads_stdin("lftp ftp.example.org", 0));
	ck_assert(reads_stdin("lftp -u user -e 'set ssl:verify no' host", 0));
	ck_assert(reads_stdin("sftp -b - backup@host", 0));
	ck_assert(reads_stdin("sftp -P 2222 backup@host", 0));
	ck_assert(reads_stdin("ftp -n host", 0));
	ck_assert(reads_stdin("openssl", 0));
	ck_assert(reads_stdin("irb", 0));
	ck_assert(reads_stdin("irb -r json", 0));
	ck_assert(reads_stdin("node", 0));
	ck_assert(reads_stdin("psql -X -- app", 0)); /* after "--", words that are not options */
	ck_assert(reads_stdin("gdb -q -- ./prog core", 0));
	ck_assert(reads_stdin("ed -- notes.txt", 0));
	ck_assert(reads_stdin("sqlite3 -- db.sqlite", 0));
	ck_assert(!reads_stdin("sqlite3 -- db.sqlite 'select 1'", 0));
	ck_assert(!reads_stdin("mongosh -- host x.js", 0));
	/* their commands on the command line, or nothing to run: stdin is data, or read by none */
	ck_assert(!reads_stdin("sqlite3 db.sqlite 'select 1'", 0));
	ck_assert(!reads_stdin("sqlite3 -init x.sql db.sqlite 'select 1'", 0));
	ck_assert(!reads_stdin("sqlite3 -cmd .timeout db.sqlite .dump", 0));
	ck_assert(!reads_stdin("sqlite3 -version", 0));
	ck_assert(!reads_stdin("sqlite3 --help", 0));
	ck_assert(!reads_stdin("psql -c 'select 1'", 0));
	ck_assert(!reads_stdin("psql -f dump.sql app", 0));
	ck_assert(!reads_stdin("psql --command=vacuum app", 0));
	ck_assert(!reads_stdin("psql -l", 0));
	ck_assert(!reads_stdin("psql --version", 0));
	ck_assert(!reads_stdin("mysql -e 'show databases'", 0));
	ck_assert(!reads_stdin("mysql --execute=select\\ 1 prod", 0));
	ck_assert(!reads_stdin("mysql -V", 0));
	ck_assert(!reads_stdin("redis-cli -x set k", 0)); /* stdin is the value */
	ck_assert(!reads_stdin("redis-cli -h cache get k", 0));
	ck_assert(!reads_stdin("redis-cli --eval x.lua", 0));
	ck_assert(!reads_stdin("redis-cli --rdb dump.rdb", 0));
	ck_assert(!reads_stdin("mongosh --eval 'db.x.count()'", 0));
	ck_assert(!reads_stdin("mongosh db/app script.js", 0));
	ck_assert(!reads_stdin("mongo app -f x.js", 0));
	ck_assert(!reads_stdin("gdb -batch -ex bt ./prog core", 0));
	ck_assert(!reads_stdin("gdb --batch-silent -x cmds.gdb", 0));
	ck_assert(!reads_stdin("gdb --version", 0));
	ck_assert(!reads_stdin("bc --version", 0));
	ck_assert(!reads_stdin("dc -e '2 3 + p'", 0));
	ck_assert(!reads_stdin("dc prog.dc", 0));
	ck_assert(!reads_stdin("dc -e 1 lib.dc prog.dc", 0));
	ck_assert(!reads_stdin("lftp -c 'get x' host", 0));
	ck_assert(!reads_stdin("lftp -f cmds.lftp", 0));
	ck_assert(!reads_stdin("sftp -b batch.txt backup@host", 0));
	ck_assert(!reads_stdin("openssl enc -d -aes-256-cbc", 0));
	ck_assert(!reads_stdin("openssl s_client -connect host:443", 0));
	ck_assert(!reads_stdin("irb script.rb", 0));
	ck_assert(!reads_stdin("irb --version", 0));
	/* stdin is data for a peer: not commands run here */
	ck_assert(!reads_stdin("nc host 25", 0));
	ck_assert(!reads_stdin("telnet host 25", 0));
	ck_assert(!reads_stdin("sqlite3x", 0));
	ck_assert(!reads_stdin("psql", 1)); /* a terminal: typing is input */
}
END_TEST

/* Programs that run, later or at once, commands they read from stdin: at, batch, crontab, make -f
 * -, ed. What they run later (at, cron) runs outside the session: stdin is its only trace. */
START_TEST(mode_job_commands_from_stdin)
{
	ck_assert(reads_stdin("at now", 0));
	ck_assert(reads_stdin("at -m now + 1 minute", 0));
	ck_assert(reads_stdin("at -q b 23:00", 0));
	ck_assert(reads_stdin("/usr/bin/at midnight", 0));
	ck_assert(reads_stdin("batch", 0));
	ck_assert(reads_stdin("crontab -", 0));
	ck_assert(reads_stdin("crontab", 0));
	ck_assert(reads_stdin("crontab -u root -", 0));
	ck_assert(reads_stdin("sudo crontab -", 0));
	ck_assert(reads_stdin("make -f -", 0));
	ck_assert(reads_stdin("make -C /srv --file=- all", 0));
	ck_assert(reads_stdin("make -j4 -f /dev/stdin", 0));
	ck_assert(reads_stdin("ed", 0));
	ck_assert(reads_stdin("ed -s /etc/hosts", 0));
	ck_assert(!reads_stdin("at -f job.sh now", 0));
	ck_assert(!reads_stdin("at -l", 0));
	ck_assert(!reads_stdin("at -r 5", 0));
	ck_assert(!reads_stdin("at -c 5", 0));
	ck_assert(!reads_stdin("crontab jobs.txt", 0));
	ck_assert(!reads_stdin("crontab -l", 0));
	ck_assert(!reads_stdin("crontab -u root -l", 0));
	ck_assert(!reads_stdin("crontab -r", 0));
	ck_assert(!reads_stdin("make", 0)); /* reads its Makefile: stdin is the recipes' */
	ck_assert(!reads_stdin("make -C /srv all", 0));
	ck_assert(!reads_stdin("make -f build.mk -", 0));
	ck_assert(!reads_stdin("ed --version", 0));
	ck_assert(!reads_stdin("atop", 0));
	ck_assert(!reads_stdin("edit", 0));
}
END_TEST

/* A transfer program in a folder others may write to is not trusted, even when it is root's. */
START_TEST(mode_transfer_untrusted_folder)
{
	char dir[] = "/tmp/tg-scp.XXXXXX", path[64], cmd[96];
	char *fc[] = {"tollgate-record", NULL};
	struct session_mode m;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/scp", dir);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -t /x", path);
	m = parse(1, fc, cmd, 0);
	ck_assert(m.kind == SESSION_COMMAND && m.transfer == NULL && m.exec_path == NULL);
	session_mode_free(&m);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(info_parsers)
{
	char addr[64], id[33];
	unsigned port = 0;

	ck_assert(
	    session_parse_ssh_conn("203.0.113.5 51234 10.0.0.1 22", addr, sizeof(addr), &port));
	ck_assert_str_eq(addr, "203.0.113.5");
	ck_assert_uint_eq(port, 51234);
	ck_assert(session_parse_ssh_conn("2001:db8::1 22 ::1 22", addr, sizeof(addr), &port));
	ck_assert_str_eq(addr, "2001:db8::1");
	ck_assert(session_parse_ssh_conn("198.51.100.1 1 22", addr, sizeof(addr),
	                                 &port)); /* SSH_CLIENT */
	/* a link-local client: sshd gives the zone (getnameinfo), and the address is no less the
	 * client's for it */
	port = 0;
	ck_assert(session_parse_ssh_conn("fe80::fcd3:1281:d208:aa3d%eth0 51647 fe80::1%eth0 22",
	                                 addr, sizeof(addr), &port));
	ck_assert_str_eq(addr, "fe80::fcd3:1281:d208:aa3d%eth0");
	ck_assert_uint_eq(port, 51647);
	ck_assert(session_parse_ssh_conn("fe80::1%2 22 fe80::2%2 22", addr, sizeof(addr), &port));
	ck_assert_str_eq(addr, "fe80::1%2");
	ck_assert(!session_parse_ssh_conn("1.2.3.4%eth0 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("fe80::1% 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("fe80::1%e\x1b[2J 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("fe80::1%eth0%1 22 x 22", addr, sizeof(addr), &port));
	ck_assert(
	    !session_parse_ssh_conn("fe80::1%a234567890123456 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("evil\n 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("1.2.3.4 0 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("1.2.3.4 65536 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("1.2.3.4 +22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn("999.2.3.4 22 x 22", addr, sizeof(addr), &port));
	ck_assert(!session_parse_ssh_conn(NULL, addr, sizeof(addr), &port));
	ck_assert(session_valid_pam_id("0123456789ABCDEF0123456789abcdef", id));
	ck_assert_str_eq(id, "0123456789abcdef0123456789abcdef");
	ck_assert(!session_valid_pam_id("0123456789abcdef0123456789abcde", id));
	ck_assert(!session_valid_pam_id("0123456789abcdef0123456789abcdeg", id));
	ck_assert(!session_valid_pam_id("0123456789abcdef0123456789abcdef0", id));
	ck_assert(session_valid_term("xterm-256color"));
	ck_assert(!session_valid_term("xterm\x1b[2J"));
	ck_assert(!session_valid_term(""));
}
END_TEST

static int env_has(const struct child_env *e, const char *kv)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->v[i], kv) == 0)
			return 1;
	return 0;
}

static int env_has_name(const struct child_env *e, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, n) == 0 && e->v[i][n] == '=')
			return 1;
	return 0;
}

START_TEST(env_allow_list)
{
	char *in[] = {"LD_PRELOAD=/tmp/x.so",
	              "LD_LIBRARY_PATH=/tmp",
	              "BASH_ENV=/tmp/rc",
	              "IFS=x",
	              "HOME=/evil",
	              "PATH=/evil",
	              "SHELL=/evil",
	              "TERM=xterm",
	              "LC_ALL=C",
	              "LC_EVIL-1=x",
	              "LANG=en_US.UTF-8",
	              "SSH_CONNECTION=1.2.3.4 5 6.7.8.9 22",
	              "SSH_TTY=/dev/pts/9",
	              "TOLLGATE_SESSION_ID=forged",
	              "TERM=second",
	              "GCONV_PATH=/tmp",
	              "noequals",
	              NULL};
	struct child_env e = CHILD_ENV_VOID;
	struct session_info si;

	memset(&si, 0, sizeof(si));
	snprintf(si.user, sizeof(si.user), "alice");
	snprintf(si.home, sizeof(si.home), "/home/alice");
	si.uid = 1000;
	snprintf(si.pam_session_id, sizeof(si.pam_session_id), "%s",
	         "0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(child_env_build(&e, in, &si, "/bin/bash", "feedface", "/dev/pts/3"),
	                 TG_OK);
	ck_assert(!env_has_name(&e, "LD_PRELOAD") && !env_has_name(&e, "LD_LIBRARY_PATH"));
	ck_assert(!env_has_name(&e, "BASH_ENV") && !env_has_name(&e, "IFS") &&
	          !env_has_name(&e, "GCONV_PATH"));
	ck_assert(!env_has_name(&e, "LC_EVIL-1"));
	ck_assert(env_has(&e, "HOME=/home/alice") && env_has(&e, "USER=alice") &&
	          env_has(&e, "LOGNAME=alice"));
	ck_assert(env_has(&e, "SHELL=/bin/bash") &&
	          env_has(&e, "PATH=/usr/local/bin:/usr/bin:/bin"));
	ck_assert(env_has(&e, "TERM=xterm") && !env_has(&e, "TERM=second"));
	ck_assert(env_has(&e, "LC_ALL=C") && env_has(&e, "LANG=en_US.UTF-8"));
	ck_assert(env_has(&e, "SSH_TTY=/dev/pts/3") && !env_has(&e, "SSH_TTY=/dev/pts/9"));
	ck_assert(env_has(&e, "TOLLGATE_SESSION_ID=0123456789abcdef0123456789abcdef"));
	ck_assert(env_has(&e, "TOLLGATE_RECORDING=feedface"));
	ck_assert_ptr_null(e.v[e.n]);
	/* a git transfer never reads the user's ~/.gitconfig (packObjectsHook runs commands) */
	ck_assert_int_eq(child_env_for_transfer(&e, "scp"), TG_OK);
	ck_assert(!env_has_name(&e, "GIT_CONFIG_GLOBAL"));
	ck_assert_int_eq(child_env_for_transfer(&e, NULL), TG_OK);
	ck_assert(!env_has_name(&e, "GIT_CONFIG_GLOBAL"));
	ck_assert_int_eq(child_env_for_transfer(&e, "git-upload-pack"), TG_OK);
	ck_assert(env_has(&e, "GIT_CONFIG_GLOBAL=/dev/null"));
	ck_assert_ptr_null(e.v[e.n]);
	child_env_free(&e);
}
END_TEST

/* git's GIT_PROTOCOL (protocol v2) passes, when it has the short form git sends. */
START_TEST(env_git_protocol)
{
	static char longer[300];
	const char *good[] = {"GIT_PROTOCOL=version=2",
	                      "GIT_PROTOCOL=version=2:object-format=sha256"};
	const char *bad[] = {
	    "GIT_PROTOCOL=",          "GIT_PROTOCOL=version=2\n",  "GIT_PROTOCOL=version=2\x1b[2J",
	    "GIT_PROTOCOL=version 2", "GIT_PROTOCOL=version=2;id", longer};
	struct child_env e = CHILD_ENV_VOID;
	struct session_info si;
	char *in[2] = {NULL, NULL};
	size_t i;

	memset(&si, 0, sizeof(si));
	snprintf(si.user, sizeof(si.user), "alice");
	snprintf(si.home, sizeof(si.home), "/home/alice");
	si.uid = 1000;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		in[0] = (char *)good[i];
		ck_assert_int_eq(child_env_build(&e, in, &si, "/bin/bash", "feedface", NULL),
		                 TG_OK);
		ck_assert_msg(env_has(&e, good[i]), "%s", good[i]);
		child_env_free(&e);
	}
	/* 257 bytes of value: no git sends that */
	snprintf(longer, sizeof(longer), "GIT_PROTOCOL=version=2");
	memset(longer + strlen(longer), 'x', 257 - strlen("version=2"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in[0] = (char *)bad[i];
		ck_assert_int_eq(child_env_build(&e, in, &si, "/bin/bash", "feedface", NULL),
		                 TG_OK);
		ck_assert_msg(!env_has_name(&e, "GIT_PROTOCOL"), "%s", bad[i]);
		child_env_free(&e);
	}
	/* 256 bytes: passes */
	longer[strlen("GIT_PROTOCOL=") + 256] = '\0';
	in[0] = longer;
	ck_assert_int_eq(child_env_build(&e, in, &si, "/bin/bash", "feedface", NULL), TG_OK);
	ck_assert(env_has(&e, longer));
	child_env_free(&e);
}
END_TEST

/* SSH_ORIGINAL_COMMAND passes whole, as sshd gave it: a forced command of the key (rrsync,
 * borg serve, gitolite) reads the client's command from it, and a long rsync or git command
 * line is past the 4 KiB other values are held to. */
START_TEST(env_original_command_whole)
{
	size_t big = 100 * 1024;
	char *cmd = malloc(strlen("SSH_ORIGINAL_COMMAND=") + big + 1);
	char *term = malloc(strlen("TERM=") + CHILD_ENV_VALUE_MAX + 2);
	char *in[3] = {cmd, term, NULL};
	struct child_env e = CHILD_ENV_VOID;
	struct session_info si;

	ck_assert(cmd != NULL && term != NULL);
	strcpy(cmd, "SSH_ORIGINAL_COMMAND=");
	memset(cmd + strlen(cmd), 'r', big);
	cmd[strlen("SSH_ORIGINAL_COMMAND=") + big] = '\0';
	strcpy(term, "TERM=");
	memset(term + strlen(term), 'x', CHILD_ENV_VALUE_MAX + 1);
	term[strlen("TERM=") + CHILD_ENV_VALUE_MAX + 1] = '\0';
	memset(&si, 0, sizeof(si));
	snprintf(si.user, sizeof(si.user), "alice");
	snprintf(si.home, sizeof(si.home), "/home/alice");
	si.uid = 1000;
	ck_assert_int_eq(child_env_build(&e, in, &si, "/bin/bash", "feedface", NULL), TG_OK);
	ck_assert(env_has(&e, cmd));
	ck_assert(!env_has_name(&e, "TERM")); /* the others stay bounded */
	child_env_free(&e);
	free(cmd);
	free(term);
}
END_TEST

/* A writer on a temp file with a fresh host key. */
struct fixture {
	char *dir;
	char path[512];
	int fd;
	unsigned char pk[32], sk[64];
	struct tg_rec_writer *w;
};

static void fixture_open(struct fixture *f)
{
	struct tg_rec_meta m;

	memset(&m, 0, sizeof(m));
	f->dir = tg_test_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/r.tgr", f->dir);
	ck_assert_int_ge(f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(tg_key_generate(f->pk, f->sk), TG_OK);
	randombytes_buf(m.session_id, sizeof(m.session_id));
	m.user = "alice";
	m.mode = "command";
	m.start_us = 1;
	ck_assert_int_eq(tg_rec_writer_open(&f->w, f->fd, &m, f->sk), TG_OK);
}

static void fixture_verify(struct fixture *f, struct tg_rec_verdict *v)
{
	struct tg_rec_source src = {tg_rec_fd_read, NULL};
	int fd = open(f->path, O_RDONLY);

	src.ctx = &fd;
	ck_assert_int_eq(tg_rec_verify(&src, f->pk, v), TG_OK);
	close(fd);
}

static void fixture_close(struct fixture *f)
{
	tg_rec_writer_free(f->w);
	close(f->fd);
	tg_test_rmtree(f->dir);
	free(f->dir);
}

/* Seal a sink capped at 1 MiB: the file stays within the cap, verifies and is sealed. */
static void seal_within_mib(struct fixture *f, struct rec_sink *s)
{
	struct tg_rec_verdict v;
	struct stat st;

	ck_assert_int_eq(rec_sink_seal(s, "{\"reason\":\"exit\"}"), TG_OK);
	ck_assert_int_eq(fstat(f->fd, &st), 0);
	ck_assert_int_le(st.st_size, 1024 * 1024);
	fixture_verify(f, &v);
	ck_assert_int_eq(v.status, TG_OK);
	ck_assert(v.sealed);
	fixture_close(f);
}

/* Whether n processes of session sid run, waiting up to 10 s for it. */
static int session_count_is(pid_t sid, int n)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int i, denied;

	for (i = 0; i < 1000; i++) {
		if (proc_session_signal(sid, 0, &denied) == n && denied == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* proc_session_signal finds a session by the session id of each process, across its process
 * groups, and leaves zombies (the leader's, which its parent has not reaped) alone. */
START_TEST(proc_session_members)
{
	struct proc_stat st;
	char path[64], c;
	int p[2], denied, status;
	pid_t leader;

	ck_assert_int_eq(pipe(p), 0);
	leader = fork();
	ck_assert_int_ge(leader, 0);
	if (leader == 0) {
		close(p[0]);
		if (setsid() < 0)
			_exit(1);
		if (fork() == 0) {
			setpgid(0, 0); /* a job of its own, in the same session */
			for (;;)
				pause();
		}
		(void)!write(p[1], "x", 1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)leader);
	ck_assert_int_eq(proc_stat_read(path, &st), TG_OK);
	ck_assert_int_eq(st.session, leader);
	ck_assert_msg(session_count_is(leader, 2), "the leader and its job in another group");
	ck_assert_int_eq(proc_session_signal(getsid(0), 0, &denied) > 0, 1);
	ck_assert_int_eq(proc_session_signal(leader, SIGKILL, &denied), 2);
	ck_assert_int_eq(denied, 0);
	/* the leader's zombie stays ours to reap: not counted */
	ck_assert_msg(session_count_is(leader, 0), "both killed");
	ck_assert_int_eq(waitpid(leader, &status, 0), leader);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(sink_size_cap)
{
	static unsigned char chunk[65536];
	struct fixture f;
	struct rec_sink s;
	int i;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 1024 * 1024, 0, 5);
	randombytes_buf(chunk, sizeof(chunk));
	for (i = 0; i < 100; i++) /* 6.4 MiB against a 1 MiB cap */
		ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, chunk, sizeof(chunk)), TG_OK);
	ck_assert(s.capped);
	ck_assert_uint_eq(s.bytes[TG_REC_OUT], 100 * sizeof(chunk));
	ck_assert_uint_eq(s.stored[TG_REC_OUT] + s.dropped[TG_REC_OUT], s.bytes[TG_REC_OUT]);
	seal_within_mib(&f, &s);
	ck_assert_uint_eq(s.dropped_pending[TG_REC_OUT], 0);
}
END_TEST

/* A capped session left running for days: its heartbeats (a checkpoint, with the drop counts,
 * every 12 checkpoint intervals) do not grow the file past the cap either. A simulated clock:
 * the sink's start moved back a second at a time. */
START_TEST(sink_size_cap_long_session)
{
	static unsigned char chunk[65536];
	struct fixture f;
	struct rec_sink s;
	uint64_t at_cap = 0;
	int i;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 1024 * 1024, 0, 5);
	randombytes_buf(chunk, sizeof(chunk));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, chunk, sizeof(chunk)), TG_OK);
	ck_assert(s.capped);
	/* a week, a little output on both streams every minute */
	for (i = 0; i < 7 * 24 * 3600; i++) {
		s.t0_us -= 1000000;
		if (i % 60 == 0) {
			ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, chunk, 10), TG_OK);
			ck_assert_int_eq(rec_sink_data(&s, TG_REC_ERR, chunk, 10), TG_OK);
		}
		ck_assert_int_eq(rec_sink_tick(&s), TG_OK);
		/* nothing due right after a tick: the relay does not spin */
		ck_assert_int_gt(rec_sink_timeout_ms(&s), 0);
		if (i == 0)
			at_cap = tg_rec_writer_offset(s.w);
		if (i == 3600) /* the heartbeats go on past the cap for a while */
			ck_assert_uint_gt(tg_rec_writer_offset(s.w),
			                  at_cap + 30 * TG_REC_CHECKPOINT_LEN);
	}
	ck_assert_uint_eq(s.stored[TG_REC_ERR] + s.dropped[TG_REC_ERR], s.bytes[TG_REC_ERR]);
	seal_within_mib(&f, &s);
	ck_assert_uint_eq(s.dropped_pending[TG_REC_ERR], 0);
}
END_TEST

/* Window changes and echo-off input are records too, as many as the client sends: the cap
 * holds for them as for output. */
START_TEST(sink_size_cap_control_records)
{
	struct fixture f;
	struct rec_sink s;
	int i;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 1024 * 1024, 0, 5);
	for (i = 0; i < 300000; i++) /* some 2 MiB of records against a 1 MiB cap */
		ck_assert_int_eq(
		    i % 2 ? rec_sink_hidden(&s, 1) : rec_sink_resize(&s, 80 + i % 4, 24), TG_OK);
	ck_assert(s.capped);
	ck_assert_uint_eq(s.bytes[TG_REC_IN], 150000);
	ck_assert_uint_gt(s.dropped[TG_REC_IN], 0);
	seal_within_mib(&f, &s);
}
END_TEST

/* Checkpoint syncs run on a thread of their own, so that the relay never waits for the disk;
 * the session's end waits for the one in flight, and a failed one is the sink's error. */
START_TEST(sink_checkpoint_sync_in_background)
{
	struct rec_spool sp = REC_SPOOL_VOID, bad = REC_SPOOL_VOID;
	struct tg_rec_verdict v;
	struct fixture f;
	struct rec_sink s;
	int p[2];

	fixture_open(&f);
	sp.fd = f.fd;
	rec_sink_init(&s, f.w, &sp, 0, 0, 0); /* interval 0: every tick checkpoints */
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "hello", 5), TG_OK);
	ck_assert_int_eq(rec_sink_tick(&s), TG_OK);
	ck_assert_ptr_nonnull(s.bg);
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "again", 5), TG_OK);
	ck_assert_int_eq(rec_sink_tick(&s), TG_OK);
	rec_sink_sync_stop(&s);
	ck_assert_ptr_null(s.bg);
	ck_assert_int_eq(s.error, TG_OK);
	rec_sink_sync_stop(&s); /* twice: nothing */
	ck_assert_int_eq(rec_sink_seal(&s, "{\"reason\":\"exit\"}"), TG_OK);
	fixture_verify(&f, &v);
	ck_assert_int_eq(v.status, TG_OK);
	fixture_close(&f);

	/* a sync that fails (a pipe cannot be synced): reported, not lost */
	fixture_open(&f);
	ck_assert_int_eq(pipe(p), 0);
	bad.fd = p[1];
	rec_sink_init(&s, f.w, &bad, 0, 0, 0);
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "hello", 5), TG_OK);
	ck_assert_int_eq(rec_sink_tick(&s), TG_OK); /* asked for; it fails on the thread */
	rec_sink_sync_stop(&s);
	ck_assert_int_eq(s.error, TG_ERR_SYSTEM);
	close(p[0]);
	close(p[1]);
	fixture_close(&f);
}
END_TEST

START_TEST(sink_count_only_and_hidden)
{
	struct tg_rec_verdict v;
	struct fixture f;
	struct rec_sink s;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 0, 0, 5);
	s.count_only[TG_REC_IN] = 1;
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_IN, "upload", 6), TG_OK);
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "ok", 2), TG_OK);
	ck_assert_int_eq(rec_sink_hidden(&s, 9), TG_OK);
	ck_assert_uint_eq(s.stored[TG_REC_IN], 0);
	ck_assert_uint_eq(s.bytes[TG_REC_IN], 15);
	ck_assert_uint_eq(s.dropped_pending[TG_REC_IN], 6);
	ck_assert_uint_eq(s.stored[TG_REC_OUT], 2);
	ck_assert_int_eq(rec_sink_tick(&s), TG_OK);
	ck_assert_int_ge(rec_sink_timeout_ms(&s), 0);
	ck_assert_int_eq(rec_sink_seal(&s, "{}"), TG_OK);
	fixture_verify(&f, &v);
	ck_assert_int_eq(v.status, TG_OK);
	/* no bytes of the counted stream are in the file */
	{
		struct tg_buf b = TG_BUF_VOID;

		tg_buf_init(&b, 1 << 20);
		ck_assert_int_eq(tg_read_file(f.path, 1 << 20, &b), TG_OK);
		ck_assert_ptr_null(memmem(b.data, b.len, "upload", 6));
		tg_buf_free(&b);
	}
	fixture_close(&f);
}
END_TEST

START_TEST(sink_rate_cap)
{
	static unsigned char chunk[4096];
	struct fixture f;
	struct rec_sink s;
	int i;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 0, 10000, 5);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, chunk, sizeof(chunk)), TG_OK);
	/* one second's burst at most, plus what the clock let in while the loop ran */
	ck_assert_uint_le(s.stored[TG_REC_OUT], 10000 + rec_sink_now(&s) * 10000 / 1000000 + 1);
	ck_assert_uint_eq(s.stored[TG_REC_OUT] + s.dropped[TG_REC_OUT], sizeof(chunk) * 100);
	fixture_close(&f);
}
END_TEST

/* Output that streams in past the cap is stored at max_rate, not below it: a refill that rounds
 * down must not lose the part of a byte's time it did not count (reads 1.5 ms apart at 1000 B/s
 * each let 1.5 bytes in, not one). */
START_TEST(sink_rate_cap_keeps_the_rate)
{
	/* a whole burst a read: a read late by a stall (a loaded machine) takes all the clock
	 * let in meanwhile, as a relay's full buffer would, and none of it is left behind; and
	 * a read every 1.5 ms, 1.5 bytes of the rate each, grows the file by the rate, not by a
	 * record and a DROPPED for each */
	static const unsigned char chunk[1000];
	struct timespec gap = {0, 1500 * 1000};
	struct fixture f;
	struct rec_sink s;
	uint64_t t0, last;

	uint64_t off0, clock, grew;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 0, 1000, 5);
	s.tokens = 0; /* the burst spent */
	s.tokens_us = t0 = last = rec_sink_now(&s);
	off0 = tg_rec_writer_offset(f.w);
	while (last - t0 < 600000) {
		nanosleep(&gap, NULL);
		last = rec_sink_now(&s);
		ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, chunk, sizeof(chunk)), TG_OK);
	}
	/* what the clock let in up to the last read goes to the file, records and all (each pays
	 * REC_SINK_CONTROL_COST for its framing and as much for the DROPPED before it, in pieces
	 * of at least REC_SINK_MIN_FRAGMENT): the file grows by no more, the payload by at least
	 * the pieces' share of it, give or take one piece */
	clock = (rec_sink_now(&s) - t0) * 1000 / 1000000;
	grew = tg_rec_writer_offset(f.w) - off0;
	ck_assert_uint_le(grew, clock + 1);
	ck_assert_uint_ge(s.stored[TG_REC_OUT] + REC_SINK_MIN_FRAGMENT + 2 * REC_SINK_CONTROL_COST,
	                  (last - t0) * 1000 / 1000000 * REC_SINK_MIN_FRAGMENT /
	                      (REC_SINK_MIN_FRAGMENT + 2 * REC_SINK_CONTROL_COST));
	fixture_close(&f);
}
END_TEST

/* Window changes and hidden-input markers count against the rate cap too: past it they wait,
 * coalesced, and go before the data that follows them. */
START_TEST(sink_rate_cap_control_records)
{
	struct tg_rec_source src = {tg_rec_fd_read, NULL};
	struct tg_rec_reader *rd;
	struct tg_rec_record rec;
	unsigned cols = 0, rows = 0;
	uint64_t start, hidden = 0, dropped_in = 0;
	struct fixture f;
	struct rec_sink s;
	int i, fd, e, seen = 0;

	fixture_open(&f);
	rec_sink_init(&s, f.w, NULL, 0, 1000, 5);
	start = tg_rec_writer_offset(f.w);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(
		    i % 2 ? rec_sink_hidden(&s, 1) : rec_sink_resize(&s, 80 + i % 4, 24), TG_OK);
	/* one second's burst at most, plus what the clock let in while the loop ran, and the
	 * NOTE that marks the cap */
	ck_assert_uint_le(tg_rec_writer_offset(f.w) - start,
	                  1000 + rec_sink_now(&s) * 1000 / 1000000 + 64);
	ck_assert_uint_gt(s.resizes_dropped, 0);
	ck_assert_uint_eq(s.bytes[TG_REC_IN], 50000);
	/* output while the last size waits is counted, not stored */
	ck_assert_int_eq(rec_sink_resize(&s, 132, 50), TG_OK);
	s.tokens = 0;
	s.tokens_us = rec_sink_now(&s) + 1000000; /* no refill for a while */
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "early", 5), TG_OK);
	ck_assert_uint_eq(s.stored[TG_REC_OUT], 0);
	ck_assert_uint_eq(s.dropped[TG_REC_OUT], 5);
	/* when the rate lets it through, the size goes first */
	s.tokens = s.rate;
	ck_assert_int_eq(rec_sink_data(&s, TG_REC_OUT, "hello", 5), TG_OK);
	ck_assert_uint_eq(s.stored[TG_REC_OUT], 5);
	ck_assert_int_eq(rec_sink_seal(&s, "{\"reason\":\"exit\"}"), TG_OK);
	/* read back: the size before "hello" is the last one; the hidden input is all counted */
	ck_assert_int_ge(fd = open(f.path, O_RDONLY), 0);
	src.ctx = &fd;
	ck_assert_int_eq(tg_rec_reader_open(&rd, &src, f.pk), TG_OK);
	while ((e = tg_rec_reader_next(rd, &rec)) > 0) {
		if (rec.type == TG_REC_RESIZE) {
			cols = rec.cols;
			rows = rec.rows;
		} else if (rec.type == TG_REC_OUT) {
			ck_assert(rec.len == 5 && memcmp(rec.data, "hello", 5) == 0);
			ck_assert_uint_eq(cols, 132);
			ck_assert_uint_eq(rows, 50);
			seen = 1;
		} else if (rec.type == TG_REC_IN_HIDDEN) {
			hidden += rec.hidden;
		} else if (rec.type == TG_REC_DROPPED && rec.stream == TG_REC_IN) {
			dropped_in += rec.dropped;
		}
	}
	ck_assert_int_eq(e, 0);
	ck_assert_int_eq(seen, 1);
	ck_assert_uint_eq(hidden + dropped_in, 50000);
	ck_assert_uint_eq(dropped_in, 0);
	tg_rec_reader_free(rd);
	close(fd);
	fixture_close(&f);
}
END_TEST

static int spool_has(const char *dir, const char *sub, const char *name)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600;
}

START_TEST(spool_recover)
{
	char *dir = tg_test_tmpdir(), p[1024];
	struct rec_spool a = REC_SPOOL_VOID, b = REC_SPOOL_VOID, c = REC_SPOOL_VOID,
	                 d = REC_SPOOL_VOID, e = REC_SPOOL_VOID;
	struct timespec old[2] = {{0, UTIME_OMIT}, {0, 0}};
	unsigned moved = 9;

	ck_assert_int_eq(rec_spool_create(&a, dir, "aaaa"), TG_OK);
	ck_assert_int_eq(write(a.fd, "x", 1), 1);
	ck_assert_int_eq(rec_spool_create(&c, dir, "aaaa"), TG_ERR_SYSTEM); /* O_EXCL */
	/* until published, the file has only its dot-name */
	ck_assert(spool_has(dir, "active", ".aaaa.tgr.new"));
	ck_assert(!spool_has(dir, "active", "aaaa.tgr"));
	ck_assert_int_eq(rec_spool_finish(&a), TG_ERR_INVALID);
	ck_assert_int_eq(rec_spool_publish(&a), TG_OK);
	ck_assert(spool_has(dir, "active", "aaaa.tgr"));
	ck_assert(!spool_has(dir, "active", ".aaaa.tgr.new"));
	ck_assert_int_eq(rec_spool_publish(&a), TG_ERR_INVALID);
	/* a second recorder with the same id may not publish over the first */
	ck_assert_int_eq(rec_spool_create(&c, dir, "aaaa"), TG_OK);
	ck_assert_int_eq(rec_spool_publish(&c), TG_ERR_SYSTEM);
	ck_assert_int_eq(errno, EEXIST);
	rec_spool_discard(&c);
	ck_assert(!spool_has(dir, "active", ".aaaa.tgr.new"));

	ck_assert_int_eq(rec_spool_create(&b, dir, "bbbb"), TG_OK);
	ck_assert_int_eq(write(b.fd, "y", 1), 1);
	ck_assert_int_eq(rec_spool_publish(&b), TG_OK);
	/* d dies before it publishes (young), e long ago */
	ck_assert_int_eq(rec_spool_create(&d, dir, "dddd"), TG_OK);
	rec_spool_close(&d);
	ck_assert_int_eq(rec_spool_create(&e, dir, "eeee"), TG_OK);
	ck_assert_int_eq(futimens(e.fd, old), 0);
	rec_spool_close(&e);
	/* a and b locked: nothing moves */
	ck_assert_int_eq(rec_spool_recover(dir, &moved), TG_OK);
	ck_assert_uint_eq(moved, 0);
	ck_assert(spool_has(dir, "active", "aaaa.tgr") && spool_has(dir, "active", "bbbb.tgr"));
	ck_assert(spool_has(dir, "active", ".dddd.tgr.new"));  /* may still be between open and lock */
	ck_assert(!spool_has(dir, "active", ".eeee.tgr.new")); /* stale: removed */
	/* a dies (its lock goes with it), b finishes */
	rec_spool_close(&a);
	ck_assert_int_eq(rec_spool_finish(&b), TG_OK);
	ck_assert_int_eq(rec_spool_recover(dir, &moved), TG_OK);
	ck_assert_uint_eq(moved, 1);
	ck_assert(spool_has(dir, "sessions", "aaaa.tgr"));
	ck_assert(spool_has(dir, "sessions", "bbbb.tgr"));
	ck_assert(spool_has(dir, "active", ".dddd.tgr.new"));
	snprintf(p, sizeof(p), "%s/sessions/.dddd.tgr.new", dir);
	ck_assert_int_ne(access(p, F_OK), 0); /* never handed over */
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

/* Another recorder's recovery pass must never make a recorder's create fail: recovery used to
 * try the lock of a dot-file a new recorder had created but not yet locked. */
START_TEST(spool_create_beside_recovery)
{
	char *dir = tg_test_tmpdir(), sid[16];
	struct rec_spool rs = REC_SPOOL_VOID;
	unsigned moved;
	pid_t pid;
	int i, st, failed = 0;

	ck_assert_int_eq(rec_spool_create(&rs, dir, "0000"), TG_OK); /* makes the folders */
	rec_spool_discard(&rs);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			rec_spool_recover(dir, &moved);
	}
	for (i = 0; i < 4000; i++) {
		snprintf(sid, sizeof(sid), "%08x", i);
		if (rec_spool_create(&rs, dir, sid) != TG_OK) {
			failed++;
			continue;
		}
		rec_spool_discard(&rs);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	tg_test_rmtree(dir); /* before the check: a failure must not leave the folder behind */
	free(dir);
	ck_assert_int_eq(failed, 0);
}
END_TEST

static struct input_guard guard_after(const char *out)
{
	struct input_guard g;

	input_guard_init(&g);
	input_guard_output(&g, (const unsigned char *)out, strlen(out));
	return g;
}

/* "Password: " as PAM and su say it in each language Debian 12 has a translation for
 * (Linux-PAM.mo, shadow.mo): behind a nested pty (tmux, ssh to another host) the recorder sees
 * only a raw terminal, and the prompt's words are all it has */
START_TEST(guard_pam_prompts)
{
	static const char *const prompt[] = {
	    "\xd9\x83\xd9\x84\xd9\x85\xd8\xa9 \xd8\xa7\xd9\x84\xd8\xb3\xd8\xb1:", /* ar */
	    "\xe0\xa6\x97\xe0\xa7\x81\xe0\xa6\xaa\xe0\xa7\x8d\xe0\xa6\xa4\xe0\xa6\xb6\xe0\xa6"
	    "\xac\xe0\xa7\x8d\xe0\xa6\xa6:",                     /* as */
	    "\xc5\x9ei\x66r\xc9\x99:",                           /* az */
	    "\xd0\x9f\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd0\xb0:", /* bg */
	    "\xe0\xa6\xaa\xe0\xa6\xbe\xe0\xa6\xb8\xe0\xa6\x93\xe0\xa7\x9f\xe0\xa6\xbe\xe0\xa6"
	    "\xb0\xe0\xa7\x8d\xe0\xa6\xa1:", /* bn */
	    "\xc5\xa0i\x66r\x61:",           /* bs */
	    "Contrasenya:",                  /* ca */
	    "Heslo:",                        /* cs */
	    "Adgangskode:",                  /* da */
	    "Passwort:",                     /* de */
	    "\xe0\xbd\x86\xe0\xbd\xbc\xe0\xbd\x82\xe0\xbc\x8b\xe0\xbd\xa1\xe0\xbd\xb2\xe0\xbd"
	    "\x82\xe0\xbc\x8b:", /* dz */
	    "\xce\xa3\xcf\x85\xce\xbd\xce\xb8\xce\xb7\xce\xbc\xce\xb1\xcf\x84\xce\xb9\xce\xba"
	    "\xcf\x8c:",                         /* el */
	    "Pasvorto:",                         /* eo */
	    "\x43ontr\x61s\x65\xc3\xb1\x61:",    /* es */
	    "Parool:",                           /* et */
	    "Pasahitza:",                        /* eu */
	    "Salasana:",                         /* fi */
	    "Mot de passe :",                    /* fr */
	    "Mot \x64\x65 p\x61ss\x65\xc2\xa0:", /* fr */
	    "Focal faire:",                      /* ga */
	    "Contrasinal:",                      /* gl */
	    "\xe0\xaa\xaa\xe0\xaa\xbe\xe0\xaa\xb8\xe0\xaa\xb5\xe0\xaa\xb0\xe0\xab\x8d\xe0\xaa"
	    "\xa1:",                                     /* gu */
	    "\xd7\xa1\xd7\xa1\xd7\x9e\xd7\x94:",         /* he */
	    "\xd7\xa1\xd7\x99\xd7\xa1\xd7\x9e\xd7\x94:", /* he */
	    "\xe0\xa4\xb6\xe0\xa4\xac\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa4\x95\xe0\xa5\x82\xe0\xa4"
	    "\x9f:",                                                                     /* hi */
	    "J\x65lsz\xc3\xb3:",                                                         /* hu */
	    "Contrasigno:",                                                              /* ia */
	    "Sandi:",                                                                    /* id */
	    "Kata sandi:",                                                               /* id */
	    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89:",             /* ja */
	    "\xe1\x83\x9e\xe1\x83\x90\xe1\x83\xa0\xe1\x83\x9d\xe1\x83\x9a\xe1\x83\x98:", /* ka
	                                                                                  */
	    "\xd0\x9f\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c:",                         /* kk */
	    "\xe1\x9e\x96\xe1\x9e\xb6\xe1\x9e\x80\xe1\x9f\x92\xe1\x9e\x99\xe1\x9e\x9f\xe1\x9e"
	    "\x98\xe1\x9f\x92\xe1\x9e\x84\xe1\x9e\xb6\xe1\x9e\x8f\xe1\x9f\x8b\xc2\xa0\xe1\x9f"
	    "\x96", /* km */
	    "\xe1\x9e\x96\xe1\x9e\xb6\xe1\x9e\x80\xe1\x9f\x92\xe1\x9e\x99\xe2\x80\x8b\xe1\x9e"
	    "\x9f\xe1\x9e\x98\xe1\x9f\x92\xe1\x9e\x84\xe1\x9e\xb6\xe1\x9e\x8f\xe1\x9f\x8b\xe2"
	    "\x80\x8b\xc2\xa0\xe1\x9f\x96", /* km */
	    "\xe0\xb2\x97\xe0\xb3\x81\xe0\xb2\xaa\xe0\xb3\x8d\xe0\xb2\xa4\xe0\xb2\xaa\xe0\xb2"
	    "\xa6:",                     /* kn */
	    "\xec\x95\x94\xed\x98\xb8:", /* ko */
	    "\xe0\xb4\x85\xe0\xb4\x9f\xe0\xb4\xaf\xe0\xb4\xbe\xe0\xb4\xb3\xe0\xb4\xb5\xe0\xb4"
	    "\xbe\xe0\xb4\x95\xe0\xb5\x8d\xe0\xb4\x95\xe0\xb5\x8d:", /* ml */
	    "\xe0\xa4\x97\xe0\xa5\x81\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa4\xb6\xe0\xa4"
	    "\xac\xe0\xa5\x8d\xe0\xa4\xa6:", /* mr */
	    "Passord:",                      /* nb */
	    "\xe0\xa4\xaa\xe0\xa4\xbe\xe0\xa4\xb8\xe0\xa4\xb5\xe0\xa4\xb0\xe0\xa5\x8d\xe0\xa4"
	    "\xa1:",       /* ne */
	    "Wachtwoord:", /* nl */
	    "\xe0\xac\xaa\xe0\xad\x8d\xe0\xac\xb0\xe0\xac\xac\xe0\xad\x87\xe0\xac\xb6 "
	    "\xe0\xac\xb8\xe0\xac\x99\xe0\xad\x8d\xe0\xac\x95\xe0\xad\x87\xe0\xac\xa4:", /* or
	                                                                                  */
	    "\xe0\xa8\xaa\xe0\xa8\xbe\xe0\xa8\xb8\xe0\xa8\xb5\xe0\xa8\xb0\xe0\xa8\xa1:", /* pa
	                                                                                  */
	    "H\x61s\xc5\x82o:",                                                          /* pl */
	    "Palavra-passe:",                                                            /* pt */
	    "Senha:",                                                                    /* pt_BR */
	    "Senha :",                                                                   /* pt_BR */
	    "P\x61rol\xc4\x83:",                                                         /* ro */
	    "\xe0\xb6\xbb\xe0\xb7\x84\xe0\xb7\x83\xe0\xb7\x8a\xe0\xb6\xb4\xe0\xb6\xaf\xe0\xb6"
	    "\xba:",                                                     /* si */
	    "\xd0\x9b\xd0\xbe\xd0\xb7\xd0\xb8\xd0\xbd\xd0\xba\xd0\xb0:", /* sr */
	    "Lozinka:",                                                  /* sr@latin */
	    "L\xc3\xb6s\x65nor\x64:",                                    /* sv */
	    "\xe0\xae\x95\xe0\xae\x9f\xe0\xae\xb5\xe0\xaf\x81\xe0\xae\x9a\xe0\xaf\x8d\xe0\xae"
	    "\x9a\xe0\xaf\x8a\xe0\xae\xb2\xe0\xaf\x8d:", /* ta */
	    "\xe0\xb0\xb8\xe0\xb0\x82\xe0\xb0\x95\xe0\xb1\x87\xe0\xb0\xa4\xe0\xb0\xaa\xe0\xb0"
	    "\xa6\xe0\xb0\xae\xe0\xb1\x81:",        /* te */
	    "Kontrasenyas:",                        /* tl */
	    "Parola:",                              /* tr */
	    "M\xe1\xba\xadt kh\xe1\xba\xa9u :",     /* vi */
	    "M\xe1\xba\xadt kh\xe1\xba\xa9u:",      /* vi */
	    "\xe5\xaf\x86\xe7\xa0\x81\xef\xbc\x9a", /* zh_CN */
	    "\xe5\xaf\x86\xe7\xa2\xbc\xef\xbc\x9a", /* zh_TW */
	    "Iphasiwedi:",                          /* zu */
	};
	struct input_guard g;
	size_t i;

	for (i = 0; i < sizeof(prompt) / sizeof(prompt[0]); i++) {
		g = guard_after(prompt[i]);
		ck_assert_msg(input_guard_is_prompt(&g), "a secret prompt: %s", prompt[i]);
	}
}
END_TEST

START_TEST(guard_prompts)
{
	static const char *const secret[] = {
	    "[sudo] password for alice: ",
	    "\033[1mEnter encryption key: \033[0m",
	    "Passphrase: ****",
	    "Enter PIN for 'PIV Card': ",
	    "\033]0;title\007Verification code: ",
	    "Passwort: ",
	    "OTP> ",
	    "done.\r\nAPI Token: ",
	    "the secret\033[5;10H",
	};
	static const char *const not_secret[] = {
	    "alice@host:~$ ",
	    "Password: ok\r\nalice@host:~$ ",
	    "ping -c1 host\r\n64 bytes\n",
	    "spinning tokens/ mapping ",
	    "\033]0;password\007$ ", /* only in the window title */
	    "",
	};
	/* gpg-agent gives pinentry its prompt in the user's language */
	static const char *const translated[] = {
	    "Frase contrase\xc3\xb1"
	    "a:",                      /* es */
	    "Phrase secr\xc3\xa8te :", /* fr */
	    "\xd0\xa4\xd1\x80\xd0\xb0\xd0\xb7\xd0\xb0-"
	    "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c:", /* ru */
	    "\xd0\x9f\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c:", /* uk, a capital */
	    "Heslo:",                                            /* cs */
	    "Has\xc5\x82o:",                                     /* pl */
	    "L\xc3\xb6senfras:",                                 /* sv */
	    "Anahtar Parolas\xc4\xb1:",                          /* tr */
	    "Passordfrase:",                                     /* nb */
	    "Adgangsfrase:",                                     /* da */
	    "Senha:",                                            /* pt */
	    "Wachtwoord:",                                       /* nl */
	    "Salasana:",                                         /* fi */
	    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\x95\xe3\x83\xac\xe3\x83\xbc\xe3\x82\xba:", /* ja */
	    "\xe5\xaf\x86\xe7\xa0\x81\xef\xbc\x9a",                                      /* zh_CN */
	    "\xe5\xaf\x86\xe8\xaa\x9e:",                                                 /* zh_TW */
	};
	struct input_guard g;
	size_t i;

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		g = guard_after(secret[i]);
		ck_assert_msg(input_guard_is_prompt(&g), "a secret prompt: %s", secret[i]);
	}
	for (i = 0; i < sizeof(translated) / sizeof(translated[0]); i++) {
		g = guard_after(translated[i]);
		ck_assert_msg(input_guard_is_prompt(&g), "a secret prompt: %s", translated[i]);
	}
	for (i = 0; i < sizeof(not_secret) / sizeof(not_secret[0]); i++) {
		g = guard_after(not_secret[i]);
		ck_assert_msg(!input_guard_is_prompt(&g), "no secret prompt: %s", not_secret[i]);
	}
}
END_TEST

START_TEST(guard_tail_bounded)
{
	unsigned char big[3 * INPUT_GUARD_TAIL];
	struct input_guard g;
	size_t i;

	/* a prompt pushed out of the window by a long line is no longer seen */
	g = guard_after("Password: ");
	memset(big, 'x', sizeof(big));
	input_guard_output(&g, big, INPUT_GUARD_TAIL - 1);
	ck_assert_uint_eq(g.len, INPUT_GUARD_TAIL);
	ck_assert(!input_guard_is_prompt(&g));
	/* of a large read only the last INPUT_GUARD_TAIL bytes are looked at */
	memcpy(big + sizeof(big) - 9, " PIN: ", 6);
	big[10] = '\n';
	input_guard_output(&g, big, sizeof(big) - 3);
	ck_assert_uint_eq(g.len, INPUT_GUARD_TAIL);
	ck_assert(input_guard_is_prompt(&g));
	/* a line end in them starts the line anew */
	big[sizeof(big) - 10] = '\r';
	input_guard_output(&g, big, sizeof(big) - 3);
	ck_assert_uint_eq(g.len, 6);
	ck_assert(input_guard_is_prompt(&g));
	/* a byte at a time, the line grows to the window and slides */
	input_guard_init(&g);
	for (i = 0; i < 2 * INPUT_GUARD_TAIL; i++)
		input_guard_output(&g, (const unsigned char *)(i % 2 ? "a" : "\r"), 1);
	ck_assert_uint_eq(g.len, 1);
	for (i = 0; i < 2 * INPUT_GUARD_TAIL; i++)
		input_guard_output(&g, (const unsigned char *)"b", 1);
	ck_assert_uint_eq(g.len, INPUT_GUARD_TAIL);
}
END_TEST

START_TEST(guard_hidden_by_modes)
{
	const unsigned char typed[] = "hunter2\rls\r";
	const size_t n = sizeof(typed) - 1;
	struct input_guard g;

	g = guard_after("$ ");
	ck_assert_uint_eq(input_guard_hidden(&g, 0, ECHO, typed, n), n);          /* unknown */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, ECHO | ICANON, typed, n), 0); /* cooked */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, ICANON, typed, n), n);        /* getpass */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, typed, n), 0);             /* readline */
	g = guard_after("Passphrase: ");
	ck_assert_uint_eq(input_guard_hidden(&g, 1, ECHO | ICANON, typed, n), 0);
	ck_assert_uint_eq(g.len, strlen("Passphrase: "));
	/* raw mode at a secret prompt: hidden up to and with the Enter, and the rest of the read
	 * that holds it (typed before the program drew again: a key and its confirmation pasted
	 * at once); later reads are stored */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, typed, 3), 3);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, typed + 3, n - 3), n - 3);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, typed + 8, n - 8), 0);
	g = guard_after("PIN: ");
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"12\n34\r", 6), 6);
	g = guard_after("Enter encryption key: ");
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"k3y\rk3y\r", 8), 8);
}
END_TEST

/* A prompt's line ended (a newline after it) before the program turned raw: whenever the
 * recorder read the output, in which modes, the answer typed in raw mode is hidden */
START_TEST(guard_prompt_line_ended)
{
	struct input_guard g;

	g = guard_after("Enter your PIN:\r\n");
	ck_assert(!input_guard_is_prompt(&g)); /* the line is over */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"4242", 4), 4);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"42\r", 3), 3);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ls", 2), 0);
	/* a key at a time, the program drawing a '*' for each: every one hidden up to the Enter */
	g = guard_after("Enter your PIN:\r\n");
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"4", 1), 1);
	input_guard_output(&g, (const unsigned char *)"*", 1);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"2", 1), 1);
	input_guard_output(&g, (const unsigned char *)"*", 1);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"7\r", 2), 2);
	input_guard_output(&g, (const unsigned char *)"\r\n$ ", 4);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ls", 2), 0);
	/* output after the line end: a program's output, then the shell's prompt */
	g = guard_after("password: found\r\n");
	input_guard_output(&g, (const unsigned char *)"$ ", 2);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ls\r", 3), 0);
	/* a key typed with echo or in canonical mode: no prompt waits */
	g = guard_after("Enter your PIN:\r\n");
	ck_assert_uint_eq(input_guard_hidden(&g, 1, ECHO | ICANON, (const unsigned char *)"x", 1),
	                  0);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ls", 2), 0);
}
END_TEST

START_TEST(guard_prompt_drawn_away)
{
	unsigned char draw[50], many[4 * INPUT_GUARD_TAIL];
	struct input_guard g;
	size_t j;
	int i;

	/* a raw-mode prompt pushed out of the window by drawing without a new line (tmux redraws
	 * its status line's clock while sudo waits): still hidden, up to the Enter */
	memset(draw, 'x', sizeof(draw));
	g = guard_after("Enter PIN: ");
	for (i = 0; i < 80; i++)
		input_guard_output(&g, draw, 1 + i % sizeof(draw));
	ck_assert(!input_guard_is_prompt(&g));
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"12\r34", 5), 5);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"56", 2), 0);
	/* a byte at a time too */
	g = guard_after("Enter PIN: ");
	for (i = 0; i < 2 * INPUT_GUARD_TAIL; i++)
		input_guard_output(&g, draw, 1);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"7", 1), 1);
	/* a key typed with echo on ends it: the prompt is not waiting any more */
	ck_assert_uint_eq(input_guard_hidden(&g, 1, ECHO | ICANON, (const unsigned char *)"a", 1),
	                  0);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"b", 1), 0);
	/* a line end after a secret prompt is reported, for the caller to ask the terminal whether
	 * the prompt still waits (raw, echo off: the line end was drawn in another tmux pane) */
	g = guard_after("Enter PIN: ");
	ck_assert_int_eq(input_guard_output(&g, (const unsigned char *)"\033[24;1H\nline\r\n", 15),
	                 1);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ab", 2), 0);
	input_guard_hold(&g);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ab\rc", 4), 4);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"d", 1), 0);
	g = guard_after("$ ls /etc");
	ck_assert_int_eq(input_guard_output(&g, (const unsigned char *)"\r\nhosts\r\n", 9), 0);
	/* every line a read ends is looked at, not only the last: one write holds the prompt and
	 * then another pane's lines (a line naming a secret in a command's output is reported too;
	 * the terminal, cooked then, tells the caller that no prompt waits) */
	g = guard_after("$ ");
	ck_assert_int_eq(input_guard_output(&g, (const unsigned char *)"\r\npasswd\r\n", 10), 1);
	g = guard_after("$ ");
	ck_assert_int_eq(
	    input_guard_output(&g, (const unsigned char *)"Enter PIN: \033[24;1H\nline\r\nl2\r\n",
	                       29),
	    1);
	ck_assert(!input_guard_is_prompt(&g));
	/* a read of many lines, the prompt amid them: looked at in windows, none missed */
	for (i = 0; i < 3 * INPUT_GUARD_TAIL; i += 97) {
		for (j = 0; j < sizeof(many); j++)
			many[j] = j % 20 == 19 ? '\n' : 'x';
		memcpy(many + i,
		       "\r\n[sudo] password for al: ", strlen("\r\n[sudo] password for al: "));
		g = guard_after("$ ");
		ck_assert_msg(input_guard_output(&g, many, sizeof(many)) == 1, "prompt at %d", i);
	}
	/* a prompt followed, in the same read, by more than the window without a line end: it
	 * leaves the window unseen unless looked at, and is then held as when drawn away */
	memset(many, 'x', sizeof(many));
	memcpy(many + 100, "Enter PIN: ", 11);
	g = guard_after("$ ");
	ck_assert_int_eq(input_guard_output(&g, many, sizeof(many)), 0);
	ck_assert(!input_guard_is_prompt(&g));
	ck_assert_uint_eq(g.len, INPUT_GUARD_TAIL);
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"12\r34", 5), 5);
	/* what is drawn away without naming a secret changes nothing */
	g = guard_after("alice@host:~$ ");
	for (i = 0; i < 40; i++)
		input_guard_output(&g, draw, sizeof(draw));
	ck_assert_uint_eq(input_guard_hidden(&g, 1, 0, (const unsigned char *)"ls", 2), 0);
}
END_TEST

START_TEST(signals_hangup_wins)
{
	sigset_t waitmask, one;
	int first, second;

	/* a SIGINT (or SIGQUIT) on the heels of a SIGHUP or SIGTERM, either order, before the
	 * relay loop looks: the session still ends as hung up, not as interrupted */
	for (first = 0; first < 2; first++) {
		ck_assert_int_eq(relay_signals_init(&waitmask), TG_OK);
		relay_got_term = 0;
		for (second = 0; second < 2; second++) {
			int sig = (first + second) % 2 == 0 ? SIGHUP : SIGINT;

			raise(sig);
			sigemptyset(&one);
			sigaddset(&one, sig);
			sigprocmask(SIG_UNBLOCK, &one, NULL);
			sigprocmask(SIG_BLOCK, &one, NULL);
		}
		ck_assert_int_eq(relay_got_term, SIGHUP);
	}
	relay_got_term = 0;
	raise(SIGTERM);
	raise(SIGQUIT);
	ck_assert_int_eq(relay_signals_init(&waitmask), TG_OK);
	sigprocmask(SIG_SETMASK, &waitmask, NULL);
	ck_assert_int_eq(relay_got_term, SIGTERM);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("recorder parts");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return 99;
	tcase_add_test(tc, mode_entries);
	tcase_add_test(tc, mode_transfers);
	tcase_add_test(tc, mode_transfer_path_resolved);
	tcase_add_test(tc, mode_shell_reads_stdin);
	tcase_add_test(tc, line_cut_as_sh_reads);
	tcase_add_test(tc, mode_shell_sequences);
	tcase_add_test(tc, mode_interpreter_reads_stdin);
	tcase_add_test(tc, mode_xargs_program_from_stdin);
	tcase_add_test(tc, mode_more_wrappers);
	tcase_add_test(tc, mode_su_runuser);
	tcase_add_test(tc, mode_command_strings);
	tcase_add_test(tc, mode_start_file_from_stdin);
	tcase_add_test(tc, mode_clients_read_stdin);
	tcase_add_test(tc, mode_job_commands_from_stdin);
	tcase_add_test(tc, mode_transfer_untrusted_folder);
	tcase_add_test(tc, info_parsers);
	tcase_add_test(tc, env_allow_list);
	tcase_add_test(tc, env_git_protocol);
	tcase_add_test(tc, env_original_command_whole);
	tcase_add_test(tc, proc_session_members);
	tcase_add_test(tc, sink_size_cap);
	tcase_add_test(tc, sink_size_cap_control_records);
	tcase_add_test(tc, sink_size_cap_long_session);
	tcase_add_test(tc, sink_checkpoint_sync_in_background);
	tcase_add_test(tc, sink_count_only_and_hidden);
	tcase_add_test(tc, sink_rate_cap);
	tcase_add_test(tc, sink_rate_cap_keeps_the_rate);
	tcase_add_test(tc, sink_rate_cap_control_records);
	tcase_add_test(tc, spool_recover);
	tcase_add_test(tc, spool_create_beside_recovery);
	tcase_add_test(tc, guard_prompts);
	tcase_add_test(tc, guard_pam_prompts);
	tcase_add_test(tc, guard_tail_bounded);
	tcase_add_test(tc, guard_hidden_by_modes);
	tcase_add_test(tc, guard_prompt_line_ended);
	tcase_add_test(tc, guard_prompt_drawn_away);
	tcase_add_test(tc, signals_hangup_wins);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
