/*
 * tollgate-record: run the user's shell (or command, or file transfer) and
 * write a signed recording of it to the spool. Installed setuid (and setgid)
 * to the audit user; started by sshd as ForceCommand or as the login shell.
 * See doc/recorder.md and tollgate-record(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pty.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "child_env.h"
#include "child_exec.h"
#include "escape_check.h"
#include "pipe_relay.h"
#include "privsep.h"
#include "pty_relay.h"
#include "rec_sink.h"
#include "rec_spool.h"
#include "relay.h"
#include "session_info.h"
#include "session_mode.h"
#include "term_guard.h"
#include "term_raw.h"
#include "tg_config.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_rec.h"
#include "tg_spool.h"
#include "tg_utf8.h"

/*
 * The config path is compiled in. The installed program has no way to
 * change it at run time; only the test build (TG_RECORDER_TESTING, never
 * installed: a noinst program) reads TOLLGATE_RECORD_TEST_CONFIG.
 */
#ifndef TG_RECORDER_CONFIG
#define TG_RECORDER_CONFIG TG_CONFIG_DEFAULT_PATH
#endif

extern char **environ;

struct recorder {
	struct privsep ps;
	struct tg_config *cfg;
	struct session_info si;
	struct session_mode mode;
	struct rec_spool spool;
	struct tg_rec_writer *w;
	struct rec_sink sink;
	struct child_env env;
	/* command sessions, and terminal sessions with on_failure = deny: ends the command, or what
	 * of the terminal's session runs on past its hangup, when the recording fails */
	struct pipe_hangup hangup;
	unsigned char sid[TG_REC_SESSION_ID_LEN];
	char sid_hex[2 * TG_REC_SESSION_ID_LEN + 1];
	const char *spool_dir;
	int deny;             /* on_failure = deny */
	int failure_reported; /* on_failure ran: the recording's failure is logged */
	uint64_t start_us;
};

static const char *config_path(void)
{
#ifdef TG_RECORDER_TESTING
	const char *p = getenv("TOLLGATE_RECORD_TEST_CONFIG");

	if (p != NULL && *p != '\0')
		return p;
#endif
	return TG_RECORDER_CONFIG;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: tollgate-record                 (as sshd's ForceCommand)\n"
	    "       tollgate-record -c COMMAND      (as a login shell)\n"
	    "       tollgate-record --recover       (hand over recordings of crashed recorders)\n"
	    "       tollgate-record --help | --version\n"
	    "config: %s\n",
	    config_path());
}

/* A recorder event (doc/events.md); failures to write it are logged, not fatal. */
static void event(struct recorder *rc, const char *type, const char *reason)
{
	char dir[4096];
	json_t *ev = json_object();
	int r;

	if (ev == NULL)
		return;
	json_object_set_new(ev, "host", json_string(rc->si.host));
	json_object_set_new(ev, "user", json_string(rc->si.user));
	json_object_set_new(ev, "session_id",
	                    rc->si.pam_session_id[0] ? json_string(rc->si.pam_session_id)
	                                             : json_null());
	json_object_set_new(ev, "recording_id", json_string(rc->sid_hex));
	json_object_set_new(ev, "client_addr", json_string(rc->si.client_addr));
	json_object_set_new(ev, "reason", json_string(reason));
	if (strcmp(type, "recording_failure") == 0)
		json_object_set_new(ev, "on_failure", json_string(rc->deny ? "deny" : "allow"));
	snprintf(dir, sizeof(dir), "%s/" TG_EVENT_SUBDIR, rc->spool_dir);
	if ((r = tg_mkdir_p(dir, 0700)) != TG_OK ||
	    (r = tg_event_write(rc->spool_dir, type, ev, NULL, 0)) != TG_OK)
		tg_error("cannot write a %s event for %s: %s", type, rc->si.user, tg_strerror(r));
	json_decref(ev);
}

static int load_config(struct recorder *rc, char *err, size_t errlen)
{
	unsigned flags = TG_CONFIG_MISSING_OK;
	int r;

	/* run without setuid, the program has no more rights than its caller */
	if (!rc->ps.setuid_mode)
		flags |= TG_CONFIG_OWNER_SELF;
	if ((r = tg_config_new(&rc->cfg)) != TG_OK)
		return r;
	if ((r = tg_config_load(rc->cfg, config_path(), flags, err, errlen)) != TG_OK)
		return r;
	rc->spool_dir = tg_config_str(rc->cfg, TG_CONF_GENERAL_SPOOL_DIR);
	rc->deny = strcmp(tg_config_str(rc->cfg, TG_CONF_RECORDER_ON_FAILURE), "allow") != 0;
	return TG_OK;
}

/* Key, file, header. */
static int open_recording(struct recorder *rc, char *why, size_t whylen)
{
	unsigned char *host_sk;
	struct tg_rec_meta meta;
	struct rlimit fsize = {0, 0}, stack = {0, 0};
	uint64_t spool_bytes;
	int r;

	if ((host_sk = sodium_malloc(64)) == NULL)
		return TG_ERR_NOMEM;
	if ((r = tg_key_load_secret(tg_config_str(rc->cfg, TG_CONF_RECORDER_SIGNING_KEY),
	                            host_sk)) != TG_OK) {
		snprintf(why, whylen, "signing key %s: %s",
		         tg_config_str(rc->cfg, TG_CONF_RECORDER_SIGNING_KEY), tg_strerror(r));
		goto out;
	}
	/* privsep_init raised the soft file size limit, not a hard one the user lowered (ulimit
	 * -Hf in a start-up file, prlimit): under the size cap it would cut the recording off in
	 * the middle of the session, and what the shell did before the recorder saw the write
	 * fail would be lost. Refused now, as a recording failure (on_failure says what then). */
	if (getrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
	    (fsize.rlim_cur != RLIM_INFINITY &&
	     (unsigned long long)fsize.rlim_cur <
	         tg_config_uint(rc->cfg, TG_CONF_RECORDER_MAX_SESSION_BYTES))) {
		r = TG_ERR_LIMIT;
		snprintf(why, whylen,
		         "the file size limit (ulimit -f) is %llu bytes, under max_session_bytes "
		         "(%llu)",
		         (unsigned long long)fsize.rlim_cur,
		         tg_config_uint(rc->cfg, TG_CONF_RECORDER_MAX_SESSION_BYTES));
		goto out;
	}
	/* likewise a hard stack limit the user lowered (ulimit -Hs): the recorder would die of
	 * SIGSEGV part way through, the recording unsealed */
	if (getrlimit(RLIMIT_STACK, &stack) != 0 ||
	    (stack.rlim_cur != RLIM_INFINITY && stack.rlim_cur < PRIVSEP_STACK_MIN)) {
		r = TG_ERR_LIMIT;
		snprintf(
		    why, whylen,
		    "the stack size limit (ulimit -s) is %llu bytes, under the %u the recorder "
		    "needs",
		    (unsigned long long)stack.rlim_cur, (unsigned)PRIVSEP_STACK_MIN);
		goto out;
	}
	/* [uploader] spool_max_bytes: past it, no new recording (on_failure says what then). A
	 * folder in the spool that cannot be read holds none of the recorders' files (they write
	 * where they read): counted without it; the uploader says so (spool_unreadable) */
	(void)tg_spool_bytes(rc->spool_dir, &spool_bytes, NULL, 0);
	if (spool_bytes >= tg_config_uint(rc->cfg, TG_CONF_UPLOADER_SPOOL_MAX_BYTES)) {
		r = TG_ERR_LIMIT;
		snprintf(why, whylen,
		         "the spool %s is full: it holds spool_max_bytes (%llu MiB) or more",
		         rc->spool_dir,
		         tg_config_uint(rc->cfg, TG_CONF_UPLOADER_SPOOL_MAX_BYTES) >> 20);
		goto out;
	}
	if ((r = rec_spool_create(&rc->spool, rc->spool_dir, rc->sid_hex)) != TG_OK) {
		int e = errno;
		const char *missing =
		    r == TG_ERR_SYSTEM ? rec_spool_missing(&rc->spool, rc->spool_dir) : NULL;

		/* the audit user may not make what root's install should have: say the folder
		 * is missing, not just what mkdir() said */
		if (missing != NULL)
			snprintf(why, whylen,
			         "the spool folder %s is missing and could not be made: %s",
			         missing, strerror(e));
		else
			snprintf(why, whylen, "spool %s: %s (%s)", rc->spool_dir, tg_strerror(r),
			         strerror(e));
		goto out;
	}
	memset(&meta, 0, sizeof(meta));
	memcpy(meta.session_id, rc->sid, sizeof(meta.session_id));
	meta.user = rc->si.user;
	meta.uid = (unsigned long)rc->si.uid;
	meta.client_addr = rc->si.client_addr;
	meta.client_port = rc->si.client_port;
	meta.host = rc->si.host;
	meta.sshd_pid = rc->si.sshd_pid;
	meta.audit_session = rc->si.audit_session;
	meta.boot_id = rc->si.boot_id;
	meta.start_us = rc->start_us;
	meta.mode = session_kind_name(rc->mode.kind);
	meta.command = rc->mode.original;
	meta.term = rc->si.tty ? rc->si.term : NULL;
	meta.cols = rc->si.cols;
	meta.rows = rc->si.rows;
	meta.pam_session_id = rc->si.pam_session_id;
	if ((r = tg_rec_writer_open(&rc->w, rc->spool.fd, &meta, host_sk)) == TG_ERR_INVALID) {
		snprintf(
		    why, whylen,
		    "%s/%s: the header would be one no reader takes: a field past the format's "
		    "limits (such as a user or host name over 255 bytes once bytes that are not "
		    "UTF-8 are replaced)",
		    rc->spool.active, rc->spool.name);
		goto out;
	} else if (r != TG_OK) {
		snprintf(why, whylen, "write %s/%s: %s (%s)", rc->spool.active, rc->spool.name,
		         tg_strerror(r), strerror(errno));
		goto out;
	}
	if ((r = rec_spool_publish(&rc->spool)) != TG_OK)
		snprintf(why, whylen, "publish %s/%s: %s", rc->spool.active, rc->spool.name,
		         strerror(errno));
out:
	sodium_free(host_sk);
	return r;
}

/* The recording broke in the middle of the session: 1 ends it (deny). */
static int on_failure(void *arg, int err)
{
	struct recorder *rc = arg;
	char reason[256];

	snprintf(reason, sizeof(reason), "write failed: %s (%s)", tg_strerror(err),
	         strerror(errno));
	tg_error("recording %s of %s: %s", rc->sid_hex, rc->si.user, reason);
	event(rc, "recording_failure", reason);
	rc->failure_reported = 1;
	return rc->deny;
}

static const char late_failure_msg[] =
    "tollgate-record: the session recording failed; its end is not recorded.";

/* The relay ended the session for SIGXCPU: the recorder's hard CPU time limit is a second away
 * (privsep_init). Said once the terminal is back to normal. */
static void say_cpu_limit(const struct recorder *rc, const struct relay_result *res)
{
	if (strcmp(res->reason, "cpu_limit") != 0)
		return;
	tg_warn("recording %s of %s: the recorder's CPU time limit (ulimit -t) is reached; "
	        "the session is ended",
	        rc->sid_hex, rc->si.user);
	fprintf(stderr, "tollgate-record: the recorder's CPU time limit (ulimit -t) is reached; "
	                "the session is ended.\n");
}

/*
 * The account's shell in the password database is this very program: a
 * login-shell start ("-name", or "name -c cmd") is then sshd's, su's or
 * login's doing. Otherwise such a start is someone running the recorder by
 * hand, for example "tollgate-record -c true; exec bash" in a ~/.bashrc to
 * leave a recording behind for the PAM session, and gets the escape check.
 * The test build may name the account's shell (TOLLGATE_RECORD_TEST_ACCOUNT_SHELL).
 */
static int account_shell_is_self(const struct session_info *si)
{
	const char *shell = si->shell;
	struct stat a, b;

#ifdef TG_RECORDER_TESTING
	if (getenv("TOLLGATE_RECORD_TEST_ACCOUNT_SHELL") != NULL)
		shell = getenv("TOLLGATE_RECORD_TEST_ACCOUNT_SHELL");
#endif
	return *shell != '\0' && stat(shell, &a) == 0 && stat("/proc/self/exe", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * escape_check on the parent, then escape_check_start, looked at as the user: sshd's session
 * process, the parent, runs as the user, and under a /proc mounted with hidepid= the audit
 * user sees none of the user's processes (every start would read as an escape). Both for
 * every start that is checked: a ForceCommand's, and a login shell's (-c) when the account's
 * shell is not the recorder (a ~/.bashrc that starts a shell on the channel and then runs
 * "exec tollgate-record -c true": sshd is the parent all the same). Before
 * privsep_drop_recorder only.
 */
static int parent_escape(struct recorder *rc, char *reason, size_t len)
{
	int as_user = privsep_as_user(&rc->ps) == TG_OK, esc;

	esc =
	    escape_check(getppid(), reason, len) || escape_check_start(rc->hangup.pid, reason, len);
	if (as_user && privsep_as_audit(&rc->ps) != TG_OK) {
		fprintf(stderr, "tollgate-record: cannot switch back to the audit user: %s\n",
		        strerror(errno));
		_exit(1); /* no cleanup as a half-privileged process */
	}
	return esc;
}

/* [recorder] record_shell_input applies: the session's program reads its commands from stdin. */
static int stores_shell_input(const struct recorder *rc)
{
	return !tg_config_bool(rc->cfg, TG_CONF_RECORDER_RECORD_INPUT) &&
	       tg_config_bool(rc->cfg, TG_CONF_RECORDER_RECORD_SHELL_INPUT) &&
	       session_mode_shell_reads_stdin(&rc->mode);
}

static void note_start(struct recorder *rc)
{
	json_t *o = json_object();
	char reason[256], *s;

	json_object_set_new(o, "event", json_string("start"));
	json_object_set_new(o, "entry",
	                    json_string(rc->mode.entry == SESSION_ENTRY_LOGIN_SHELL
	                                    ? "login_shell"
	                                    : "forcecommand"));
	json_object_set_new(o, "shell",
	                    json_string(tg_config_str(rc->cfg, TG_CONF_RECORDER_SHELL)));
	if (rc->mode.transfer != NULL) {
		json_object_set_new(o, "transfer", json_string(rc->mode.transfer));
		json_object_set_new(o, "direction", json_string(rc->mode.direction));
		json_object_set_new(
		    o, "transfer_content",
		    json_string(tg_config_str(rc->cfg, TG_CONF_RECORDER_TRANSFER_CONTENT)));
	}
	if (stores_shell_input(rc))
		/* why this recording holds input although record_input is off */
		json_object_set_new(o, "input", json_string("shell_commands"));
	if (rc->mode.command != NULL && rc->mode.original != NULL &&
	    strcmp(rc->mode.command, rc->mode.original) != 0)
		/* the client's command need not be UTF-8: U+FFFD, as in the header (json_string()
		 * would give NULL, and the field be left out without a word) */
		json_object_set_new(o, "ran", tg_utf8_json(rc->mode.command, NULL));
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
		rec_sink_note(&rc->sink, s);
	free(s);
	json_decref(o);
	/* not for a real login shell: su and login start one too, and sshd cannot be bypassed;
	 * a login-shell start that is not one comes from the user (~/.bashrc under the
	 * ForceCommand's "<shell> -c tollgate-record"), and only sshd will do as its parent */
	if ((rc->mode.entry == SESSION_ENTRY_FORCECOMMAND || !account_shell_is_self(&rc->si)) &&
	    parent_escape(rc, reason, sizeof(reason))) {
		tg_warn("recording %s of %s: possible escape: %s", rc->sid_hex, rc->si.user,
		        reason);
		event(rc, "recording_escape", reason);
		o = json_pack("{s:s, s:s}", "event", "recording_escape", "reason", reason);
		if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
			rec_sink_note(&rc->sink, s);
			free(s);
		}
		json_decref(o);
	}
}

/* Whether the user could open the terminal on fd themselves (the real ids are still theirs):
 * sshd's, of which they are the owner, or one of unknown name; 1 for what is no terminal. Only
 * one they cannot open (su from another user's terminal) gets a keeper (term_guard.h). */
static int user_may_open_tty(int fd)
{
	char name[256];

	if (ttyname_r(fd, name, sizeof(name)) != 0)
		return 1;
	return access(name, R_OK) == 0 || access(name, W_OK) == 0;
}

/* Whether the session needs the terminal's keeper: interactive, the terminal on stdin, made raw
 * and exclusive; in command mode, any terminal on 0 to 2, whose open file the relay makes
 * non-blocking (stdout and stderr; stdin is often the same open file). */
static int needs_keeper(enum session_kind kind)
{
	if (kind == SESSION_INTERACTIVE)
		return !user_may_open_tty(STDIN_FILENO);
	return !user_may_open_tty(STDIN_FILENO) || !user_may_open_tty(STDOUT_FILENO) ||
	       !user_may_open_tty(STDERR_FILENO);
}

/* The command's hangup left processes running that the helper may not signal (another user's:
 * a setuid program that made itself root); the recording must not read as a clean end. */
#define OUT_OF_REACH                                                                               \
	"processes of the command that run as another user (a setuid program) could not be hung "  \
	"up and run on"
static void note_out_of_reach(struct recorder *rc)
{
	tg_warn("recording %s of %s: " OUT_OF_REACH, rc->sid_hex, rc->si.user);
	rec_sink_note(&rc->sink,
	              "{\"event\":\"hangup_incomplete\",\"reason\":\"" OUT_OF_REACH "\"}");
}

/*
 * The shell on a new pty. The slave stays open here too (*slave_out): on
 * Linux the master has termios of its own, and only the slave's tells whether
 * the shell turned echo off (a password prompt) when input arrives.
 */
static pid_t start_pty(struct recorder *rc, const struct child_spec *cs_in, int *master_out,
                       int *slave_out)
{
	struct child_spec cs = *cs_in;
	struct termios tio;
	struct winsize ws;
	char name[128];
	int master = -1, slave = -1, r;
	pid_t pid = -1;

	*master_out = *slave_out = -1;
	if (tcgetattr(STDIN_FILENO, &tio) != 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0)
		return -1;
	/* the new terminal belongs to the user, as sshd's own would */
	if (privsep_as_user(&rc->ps) != TG_OK)
		return -1;
	r = openpty(&master, &slave, name, &tio, &ws);
	if (privsep_as_audit(&rc->ps) != TG_OK) {
		if (r == 0) {
			close(master);
			close(slave);
		}
		return -1;
	}
	if (r != 0)
		return -1;
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	/* the header has the size session_info_gather saw; one that changed since (a window
	 * manager tiling the new terminal) came before the SIGWINCH handler, and the relay only
	 * compares with the new terminal's, which has it: recorded here, or a replay draws the
	 * session in the old size. A failure shows in the relay's first record. */
	if (ws.ws_col != rc->si.cols || ws.ws_row != rc->si.rows)
		(void)rec_sink_resize(&rc->sink, ws.ws_col, ws.ws_row);
	/* raw and exclusive before the fork: a shell started first could open the outer
	 * terminal (the user's, mode 0620) and keep it, past the recorder, for the session */
	if (term_raw_enter(STDIN_FILENO, &tio) != TG_OK)
		tg_warn("cannot put the terminal in raw mode: %s", strerror(errno));
	if (child_env_build(&rc->env, environ, &rc->si, cs.shell, rc->sid_hex, name) != TG_OK)
		goto out;
	cs.envp = rc->env.v;
	pid = child_spawn_pty(&cs, master, slave);
	/* no helper (on_failure = allow), or one gone early: the hangup alone ends the session */
	if (pid > 0)
		pipe_hangup_target_session(&rc->hangup, pid);
out:
	if (pid < 0) {
		close(master);
		close(slave);
	} else {
		*master_out = master;
		*slave_out = slave;
	}
	return pid;
}

static pid_t start_pipes(struct recorder *rc, const struct child_spec *cs_in, int ours[3])
{
	struct child_spec cs = *cs_in;
	int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, theirs[3], i;
	pid_t pid = -1;

	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) != 0)
			goto out;
	theirs[0] = p[0][0];
	ours[0] = p[0][1];
	theirs[1] = p[1][1];
	ours[1] = p[1][0];
	theirs[2] = p[2][1];
	ours[2] = p[2][0];
	if (child_env_build(&rc->env, environ, &rc->si, cs.shell, rc->sid_hex, NULL) != TG_OK ||
	    child_env_for_transfer(&rc->env, rc->mode.transfer) != TG_OK)
		goto out;
	cs.envp = rc->env.v;
	pid = child_spawn_pipes(&cs, theirs, ours);
	/* a helper gone early: only the pipes close on a failure */
	if (pid > 0)
		pipe_hangup_target(&rc->hangup, pid);
out:
	for (i = 0; i < 3; i++) {
		if (pid >= 0) {
			close(theirs[i]);
		} else {
			if (p[i][0] >= 0)
				close(p[i][0]);
			if (p[i][1] >= 0)
				close(p[i][1]);
		}
	}
	return pid;
}

/* The END record's JSON (doc/recording-format.md). */
static char *end_json(struct recorder *rc, const struct relay_result *res)
{
	const struct rec_sink *s = &rc->sink;
	uint64_t now = tg_now_us(), dur = rec_sink_now(s);
	json_t *o, *t = json_null();
	int have_exit = res->reaped && WIFEXITED(res->status);
	char *text;

	if (rc->mode.kind == SESSION_TRANSFER) {
		/* the client's command need not be UTF-8 (a quoted path): json_pack's "s" would
		 * refuse it and leave the transfer without its facts; U+FFFD, as in the header */
		t = json_pack(
		    "{s:o, s:s, s:s, s:I, s:I, s:I, s:o}", "command",
		    tg_utf8_json(rc->mode.original, NULL), "kind", rc->mode.transfer, "direction",
		    rc->mode.direction, "bytes_in", (json_int_t)s->bytes[TG_REC_IN], "bytes_out",
		    (json_int_t)s->bytes[TG_REC_OUT], "duration_us", (json_int_t)dur, "exit_status",
		    have_exit ? json_integer(WEXITSTATUS(res->status)) : json_null());
	}
	o = json_pack("{s:I, s:I, s:o, s:o, s:s, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:I, s:o}",
	              "end_us", (json_int_t)now, "duration_us", (json_int_t)dur, "exit_status",
	              have_exit ? json_integer(WEXITSTATUS(res->status)) : json_null(), "signal",
	              res->reaped && WIFSIGNALED(res->status) ? json_integer(WTERMSIG(res->status))
	                                                      : json_null(),
	              "reason", res->reason, "bytes", "out", (json_int_t)s->bytes[TG_REC_OUT],
	              "err", (json_int_t)s->bytes[TG_REC_ERR], "in",
	              (json_int_t)s->bytes[TG_REC_IN], "stored", "out",
	              (json_int_t)s->stored[TG_REC_OUT], "err", (json_int_t)s->stored[TG_REC_ERR],
	              "in", (json_int_t)s->stored[TG_REC_IN], "resizes_dropped",
	              (json_int_t)s->resizes_dropped, "transfer", t == NULL ? json_null() : t);
	if (o == NULL)
		return NULL;
	if (rc->mode.kind == SESSION_TRANSFER && t != NULL && !json_is_null(t)) {
		/* the same facts as a NOTE, for readers that stop before END */
		json_t *n = json_deep_copy(t);
		char *ns;

		json_object_set_new(n, "event", json_string("transfer"));
		if ((ns = json_dumps(n, JSON_COMPACT)) != NULL)
			rec_sink_note(&rc->sink, ns);
		free(ns);
		json_decref(n);
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Seal (when the recording is still good) and hand the file over, sealed or not. */
static void finish_recording(struct recorder *rc, const struct relay_result *res)
{
	char *ej = end_json(rc, res);
	int r, late;

	/* the last output into the file first: the sync in flight may take seconds on a busy
	 * disk, and a kill meanwhile must not take what the user saw with it */
	rec_sink_flush(&rc->sink);
	rec_sink_sync_stop(&rc->sink); /* the checkpoint sync in flight ends before the seal */
	if (rc->sink.error == TG_OK) {
		/* no memory for the END record (a user's RLIMIT_AS, say) is a recording failure
		 * like any other: reported below, not only logged */
		if (ej == NULL)
			rc->sink.error = TG_ERR_NOMEM;
		if (ej == NULL || (r = rec_sink_seal(&rc->sink, ej)) != TG_OK)
			tg_error("recording %s: cannot seal: %s", rc->sid_hex,
			         tg_strerror(rc->sink.error));
	}
	free(ej);
	/* a write error the relay never saw: the shell ended within REC_SINK_FLUSH_US of output
	 * still in the writer's buffer, and only the last flush (or sync) found it. The same
	 * failure as one found mid-session: logged, an event, and the user told; the shell's
	 * status stays its own (it has ended either way) */
	if ((late = rc->sink.error != TG_OK && !rc->failure_reported))
		on_failure(rc, rc->sink.error);
	if ((r = rec_spool_finish(&rc->spool)) != TG_OK) {
		tg_error("recording %s: cannot move it into %s: %s (%s)", rc->sid_hex,
		         rc->spool.sessions, tg_strerror(r), strerror(errno));
		event(rc, "recording_failure", "cannot move the recording into sessions/");
	}
	if (late) {
		/* after the hand-over, and non-blocking: a client that does not read must not
		 * hold the recording back from the uploader */
		int fl = relay_nonblock(STDERR_FILENO);

		relay_write_wait(STDERR_FILENO, late_failure_msg, sizeof(late_failure_msg) - 1,
		                 RELAY_MESSAGE_WAIT_MS);
		relay_write_wait(STDERR_FILENO, rc->si.tty ? "\r\n" : "\n", rc->si.tty ? 2 : 1,
		                 RELAY_MESSAGE_WAIT_MS);
		if (fl >= 0)
			fcntl(STDERR_FILENO, F_SETFL, fl);
	}
	tg_rec_writer_free(rc->w);
	rc->w = NULL;
}

/* Leave with the shell's status: its exit code, or the same signal. */
static void __attribute__((noreturn)) exit_like(const struct relay_result *res)
{
	sigset_t set;
	int sig;

	term_raw_restore();
	if (!res->reaped)
		exit(255);
	if (WIFEXITED(res->status))
		exit(WEXITSTATUS(res->status));
	sig = WTERMSIG(res->status);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);
}

static int recover(struct recorder *rc)
{
	char err[512];
	unsigned moved = 0;
	int r;

	if ((r = load_config(rc, err, sizeof(err))) != TG_OK) {
		fprintf(stderr, "tollgate-record: %s\n", err);
		return 1;
	}
	if (privsep_drop_recorder(&rc->ps) != TG_OK) {
		fprintf(stderr, "tollgate-record: cannot switch to the audit user: %s\n",
		        strerror(errno));
		return 1;
	}
	r = rec_spool_recover(rc->spool_dir, &moved);
	printf("%u recording(s) moved into %s/" REC_SPOOL_SESSIONS "\n", moved, rc->spool_dir);
	if (r != TG_OK) {
		fprintf(stderr, "tollgate-record: recover: %s (%s)\n", tg_strerror(r),
		        strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct recorder rc;
	struct relay_ctx x;
	struct relay_result res = {0, 0, "error"};
	struct child_spec cs;
	sigset_t waitmask;
	char err[512], why[512];
	struct term_guard guard = TERM_GUARD_VOID;
	int fds[3], master = -1, slave = -1, r, record_ok, su_shell, start_errno, keep_tty = 0;
	unsigned moved;
	pid_t child, parent = getppid();

	rc.spool = (struct rec_spool)REC_SPOOL_VOID;
	rc.hangup.pid = rc.hangup.fd = -1;
	/* stdin, stdout and stderr open, before any file is: otherwise the recording could become
	 * fd 1 and get the session's output written into it (glibc fills them only for set-id
	 * runs) */
	for (r = 0; r <= 2; r++)
		if (fcntl(r, F_GETFD) < 0 && open("/dev/null", r == 0 ? O_RDONLY : O_WRONLY) != r) {
			fprintf(stderr, "tollgate-record: fd %d is closed and cannot be opened\n",
			        r);
			return 1;
		}
	if (privsep_init(&rc.ps) != TG_OK) {
		fprintf(stderr, "tollgate-record: cannot set up: %s\n", strerror(errno));
		return 1;
	}
	tg_log_init("tollgate-record", TG_LOG_SYSLOG, LOG_AUTHPRIV);
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("tollgate-record " PACKAGE_VERSION "\n");
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "tollgate-record: libsodium failed to start\n");
		return 1;
	}
	if (argc == 2 && strcmp(argv[1], "--recover") == 0)
		return recover(&rc);
	if ((r = load_config(&rc, err, sizeof(err))) != TG_OK) {
		/* no config, no on_failure: refuse (the default) */
		fprintf(stderr, "tollgate-record: %s; session refused\n", err);
		tg_error("config: %s; session refused", err);
		return 1;
	}
	if ((r = session_info_gather(&rc.si, rc.ps.user_uid,
	                             tg_config_str(rc.cfg, TG_CONF_GENERAL_HOSTNAME))) != TG_OK) {
		fprintf(stderr, "tollgate-record: who is uid %lu? %s; session refused\n",
		        (unsigned long)rc.ps.user_uid, tg_strerror(r));
		return 1;
	}
	/* "name" alone while the account's shell is this program: su without "-" starting a
	 * non-login shell (sshd's ForceCommand comes as "-c tollgate-record"). An interactive
	 * shell, as su's user asked for: the SSH_ORIGINAL_COMMAND in its environment is that of
	 * the session su ran in, and a start su made is no escape, as that of "su -" is not */
	su_shell =
	    argc == 1 && argv[0] != NULL && argv[0][0] != '-' && account_shell_is_self(&rc.si);
	if (session_mode_parse(&rc.mode, argc, argv,
	                       su_shell ? NULL : getenv("SSH_ORIGINAL_COMMAND"), rc.si.tty,
	                       tg_config_str(rc.cfg, TG_CONF_RECORDER_SFTP_SERVER)) != TG_OK) {
		usage(stderr);
		return 2;
	}
	if (su_shell)
		rc.mode.entry = SESSION_ENTRY_LOGIN_SHELL;
	randombytes_buf(rc.sid, sizeof(rc.sid));
	sodium_bin2hex(rc.sid_hex, sizeof(rc.sid_hex), rc.sid, sizeof(rc.sid));
	rc.start_us = tg_now_us();

	cs.ps = &rc.ps;
	cs.shell = tg_config_str(rc.cfg, TG_CONF_RECORDER_SHELL);
	cs.command = rc.mode.command;
	cs.exec_path = rc.mode.exec_path;
	cs.argv = rc.mode.argv;
	cs.envp = NULL;
	cs.go[0] = cs.go[1] = -1;
	cs.writer = NULL;
	cs.cfg = rc.cfg;

	/* forked before the recording's keys exist; it goes away by itself on every path that
	 * starts no command. A terminal session needs it only to end what ignores the terminal's
	 * hangup after a recording failure (deny): a normal end leaves that running, as sshd does
	 */
	if ((rc.mode.kind != SESSION_INTERACTIVE || rc.deny) &&
	    pipe_hangup_start(&rc.hangup, &rc.ps, rc.cfg) != TG_OK) {
		fprintf(stderr, "tollgate-record: cannot set up: %s; session refused\n",
		        strerror(errno));
		tg_error("session of %s refused: fork: %s", rc.si.user, strerror(errno));
		return 1;
	}
	record_ok = open_recording(&rc, why, sizeof(why)) == TG_OK;
	if (!record_ok) {
		tg_error("session of %s not recorded: %s (on_failure = %s)", rc.si.user, why,
		         rc.deny ? "deny" : "allow");
		event(&rc, "recording_failure", why);
		tg_rec_writer_free(rc.w);
		rc.w = NULL;
		/* no session will be in it: a file with a header only is of no use to anyone */
		if (rc.spool.fd >= 0)
			rec_spool_discard(&rc.spool);
		if (rc.deny) {
			fprintf(stderr,
			        "tollgate-record: this session cannot be recorded (%s); access "
			        "denied.\n",
			        why);
			return 1;
		}
		fprintf(stderr, "tollgate-record: warning: this session is NOT recorded.\n");
		/* the shell takes this process over: the helper must not be left to it */
		pipe_hangup_stop(&rc.hangup);
		if (child_env_build(&rc.env, environ, &rc.si, cs.shell, rc.sid_hex,
		                    rc.si.tty ? ttyname(STDIN_FILENO) : NULL) != TG_OK)
			return 1;
		cs.envp = rc.env.v;
		return child_exec_direct(&cs);
	}

	cs.writer = rc.w;
	rec_sink_init(&rc.sink, rc.w, &rc.spool,
	              tg_config_uint(rc.cfg, TG_CONF_RECORDER_MAX_SESSION_BYTES),
	              tg_config_uint(rc.cfg, TG_CONF_RECORDER_MAX_RATE),
	              (unsigned)tg_config_uint(rc.cfg, TG_CONF_RECORDER_CHECKPOINT_INTERVAL));
	rec_sink_spool_cap(&rc.sink, rc.spool_dir,
	                   tg_config_uint(rc.cfg, TG_CONF_UPLOADER_SPOOL_MAX_BYTES));
	memset(&x, 0, sizeof(x));
	x.sink = &rc.sink;
	x.echo_fd = -1;
	input_guard_init(&x.guard);
	x.on_failure = on_failure;
	x.deny = rc.deny;
	x.arg = &rc;
	/* a shell with no terminal: its stdin is the commands it runs */
	x.record_input =
	    tg_config_bool(rc.cfg, TG_CONF_RECORDER_RECORD_INPUT) || stores_shell_input(&rc);
	if (rc.mode.kind == SESSION_TRANSFER) {
		int full =
		    strcmp(tg_config_str(rc.cfg, TG_CONF_RECORDER_TRANSFER_CONTENT), "full") == 0;

		rc.sink.count_only[TG_REC_OUT] = rc.sink.count_only[TG_REC_ERR] =
		    rc.sink.count_only[TG_REC_IN] = !full;
		x.record_input = 1; /* the upload stream: stored with full, counted with metadata */
	}
	note_start(&rc);
	if (relay_signals_init(&waitmask) != TG_OK) {
		fprintf(stderr, "tollgate-record: signals: %s\n", strerror(errno));
		return 1;
	}

	/* the shell waits for the drop below: it must not run while this process is not yet the
	 * audit user for good, nor at all when it cannot be */
	if (pipe2(cs.go, O_CLOEXEC) != 0)
		child = -1;
	else if (rc.mode.kind == SESSION_INTERACTIVE)
		child = start_pty(&rc, &cs, &master, &slave);
	else
		child = start_pipes(&rc, &cs, fds);
	start_errno = errno;
	if (child >= 0)
		keep_tty = needs_keeper(rc.mode.kind);
	/* from here on the user cannot signal, trace or otherwise touch this process */
	if (privsep_drop_recorder(&rc.ps) != TG_OK) {
		int e = errno;

		/* no cleanup as a half-privileged process but the terminal's (two ioctls, also
		 * safe in a signal handler): _exit skips the atexit handler, and the user's
		 * terminal would stay raw, and exclusive, so that no program could open /dev/tty.
		 * First, so the message reads right. The recording is left in active/ for the
		 * next recorder to hand over, unsealed. */
		term_raw_restore();
		fprintf(stderr, "tollgate-record: cannot switch to the audit user: %s\n",
		        strerror(e));
		tg_error("session of %s ended: cannot switch to the audit user: %s", rc.si.user,
		         strerror(e));
		_exit(1); /* the shell sees its go pipe closed: it has run nothing */
	}
	if (child >= 0)
		(void)!write(cs.go[1], "g", 1);
	if (cs.go[0] >= 0) {
		close(cs.go[0]);
		close(cs.go[1]);
	}
	if (child < 0) {
		snprintf(why, sizeof(why), "cannot start the shell: %s", strerror(start_errno));
		tg_error("session of %s ended: %s", rc.si.user, why);
		res.reason = "error";
		finish_recording(&rc, &res);
		/* the terminal first: in raw mode the message's line end would come out without a
		 * carriage return, and the next prompt start under its end */
		term_raw_restore();
		fprintf(stderr, "tollgate-record: %s\n", why);
		return 1;
	}
	if (rec_spool_recover(rc.spool_dir, &moved) == TG_OK && moved > 0)
		tg_notice("handed over %u recording(s) left by crashed recorders", moved);

	if (rc.mode.kind == SESSION_INTERACTIVE) {
		/* the parent gone (kill -9 of the su that started this login shell): the terminal
		 * is its shell's again, and this one, in the background, would hold it raw and
		 * exclusive with a shell no one sees, until it read a key first. A hangup, as
		 * when sshd goes. After the drop: a change of ids clears the setting */
		if (prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0) != 0 || getppid() != parent)
			raise(SIGHUP);
		/* a kill -9 of this process restores nothing: the keeper puts the terminal back */
		if (keep_tty && term_guard_start(&guard, rc.cfg, rc.w) != TG_OK)
			tg_warn("recording %s of %s: no keeper of the terminal: %s", rc.sid_hex,
			        rc.si.user, strerror(errno));
		x.echo_fd = slave;
		pty_relay_run(&x, master, child, &rc.hangup, &waitmask, &res);
		if (rc.hangup.out_of_reach)
			tg_warn("recording %s of %s: processes of the session that run as another "
			        "user (a setuid program) could not be ended and run on",
			        rc.sid_hex, rc.si.user);
		/* sealed and handed over first: restoring the terminal waits (TCSADRAIN) for a
		 * client that may not be reading */
		finish_recording(&rc, &res);
		term_raw_restore();
		term_guard_done(&guard);
		if (x.echo_fd >= 0)
			close(x.echo_fd);
	} else {
		/* a kill -9 of this process leaves the caller's terminal non-blocking: the keeper
		 * makes it blocking again */
		if (keep_tty && term_guard_start(&guard, rc.cfg, rc.w) != TG_OK)
			tg_warn("recording %s of %s: no keeper of the terminal: %s", rc.sid_hex,
			        rc.si.user, strerror(errno));
		pipe_relay_run(&x, fds, child, &rc.hangup, &waitmask, &res);
		if (rc.hangup.out_of_reach)
			note_out_of_reach(&rc);
		finish_recording(&rc, &res);
		term_guard_done(&guard);
	}
	say_cpu_limit(&rc, &res);
	child_env_free(&rc.env);
	session_mode_free(&rc.mode);
	tg_config_free(rc.cfg);
	exit_like(&res);
}
