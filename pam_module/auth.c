/*
 * The auth flow: who is asking, which secret applies, one code from the
 * user, and the decision made under the user's lock (rate limit, TOTP with
 * replay guard, scratch codes), recorded before the lock is dropped.
 * Everything that goes wrong denies (fail closed) and says why in syslog;
 * no code or secret is ever logged.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <sys/stat.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ga_file.h"
#include "module.h"
#include "secret_store.h"
#include "state.h"
#include "tg_error.h"

#define RESPONSE_MAX 1024 /* longer answers are refused unread (password + code fits easily) */
#define FORWARD_PROMPT "Password & verification code: "

/* One authentication attempt. */
struct attempt {
	pam_handle_t *pamh;
	struct tgp_opts opts;
	const char *user; /* the account's name (pw_name) once found, else as typed */
	char user_log[80];
	char addr[TGP_ADDR_MAX];      /* the client, as logged */
	char limit_key[TGP_ADDR_MAX]; /* the client as the limiter counts it: IPv6 per network */
	struct passwd pw;
	char *pwbuf;
	int have_pw;
	struct tgp_secret *secret; /* tgp_secret_new: locked, wiped on release */
	struct tgp_ga ga;
	int is_ga;
	char ga_path[PATH_MAX];
	char response[RESPONSE_MAX + 1]; /* the answer, NUL-terminated; wiped at the end */
	size_t response_len;
	int from_authtok; /* the response came from PAM_AUTHTOK (try_first_pass) */
	int authtok_counted; /* PAM_AUTHTOK's digits were checked and counted as a failure */
	int64_t authtok_last;             /* the user's last failure time before that count */
	struct tgp_counter authtok_after; /* the user's count right after it */
	unsigned window;
	const char *reason;  /* why it failed, for syslog and the event */
	const char *method;  /* how it succeeded */
	size_t password_len; /* forward_pass: the password is response[0..password_len) */
	char ga_scratch[TGP_SCRATCH_DIGITS + 1]; /* the scratch code used, to drop from the file */
	uint64_t ga_reuse_step;
	unsigned char token[TGP_TOKEN_BYTES]; /* for this login's session line; wiped at the end */
	int has_token;
};

static void log_result(struct attempt *a, int ok, const char *detail)
{
	pam_syslog(a->pamh, ok ? LOG_NOTICE : LOG_WARNING,
	           "user=%s rhost=%s service=%s result=%s reason=%s%s%s", a->user_log, a->addr,
	           tgp_service(a->pamh), ok ? "success" : "failure", ok ? a->method : a->reason,
	           detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

static void failure_event(struct attempt *a)
{
	json_t *f = json_pack("{s:s}", "reason", a->reason);

	(void)tgp_event(a->pamh, &a->opts, "mfa_failure", a->user, f);
	json_decref(f);
}

static void skipped_event(struct attempt *a, const char *reason)
{
	json_t *f = json_pack("{s:s}", "reason", reason);

	(void)tgp_event(a->pamh, &a->opts, "mfa_skipped", a->user, f);
	json_decref(f);
}

int tgp_in_group(const struct passwd *pw, const char *group)
{
	struct group gr, *grp = NULL;
	char *buf = NULL, *more;
	size_t len = TGP_PWBUF;
	gid_t *groups = NULL, *more_groups;
	int want = 256, n, i, r, member = 0;

	/* a group's entry lists its members: a directory group with thousands of them does not
	 * fit TGP_PWBUF (ERANGE), and its members are members all the same */
	for (;;) {
		if ((more = realloc(buf, len)) == NULL)
			goto out;
		buf = more;
		if ((r = getgrnam_r(group, &gr, buf, len, &grp)) != ERANGE || len >= TGP_GRBUF_MAX)
			break;
		len *= 2;
	}
	if (r != 0 || grp == NULL)
		goto out;
	/* a directory user may be in hundreds of groups: getgrouplist says how many */
	for (;;) {
		if ((more_groups = realloc(groups, sizeof(*groups) * (size_t)want)) == NULL)
			goto out;
		groups = more_groups;
		n = want;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
			break;
		if (n <= want || n > NGROUPS_MAX)
			goto out; /* not treated as a member (fail closed) */
		want = n;
	}
	for (i = 0; i < n; i++)
		if (groups[i] == grp->gr_gid)
			member = 1;
out:
	free(groups);
	free(buf);
	return member;
}

/* Ask one question with echo off; the answer goes into a->response. */
static int ask(struct attempt *a, const char *prompt)
{
	char *resp = NULL;
	size_t n;
	int rc;

	rc = pam_prompt(a->pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);
	if (rc != PAM_SUCCESS) {
		a->reason = "conversation_failed";
		/* Linux-PAM hands back what a failing conversation answered: it may be a code */
		if (resp != NULL) {
			sodium_memzero(resp, strlen(resp));
			free(resp);
		}
		return -1;
	}
	if (resp == NULL) {
		a->reason = "no_code";
		return -1;
	}
	n = strnlen(resp, RESPONSE_MAX + 1);
	if (n <= RESPONSE_MAX) {
		memcpy(a->response, resp, n);
		a->response[n] = '\0';
		a->response_len = n;
	} else {
		a->reason = "bad_code"; /* too long to be a code */
	}
	sodium_memzero(resp, n + strlen(resp + n));
	free(resp);
	return n <= RESPONSE_MAX ? 0 : -1;
}

/* Ask with our own prompt: the answer is the code alone, or password and code with
 * forward_pass. */
static int ask_code(struct attempt *a)
{
	a->from_authtok = 0;
	if (a->opts.forward_pass)
		return ask(a, FORWARD_PROMPT);
	return ask(a, tg_config_str(a->opts.cfg, TG_CONF_PAM_PROMPT));
}

/* Put the code (and any password before it) into a->response. */
static int get_code(struct attempt *a)
{
	const void *tok = NULL;

	if (a->opts.try_first_pass && pam_get_item(a->pamh, PAM_AUTHTOK, &tok) == PAM_SUCCESS &&
	    tok != NULL) {
		size_t n = strnlen(tok, RESPONSE_MAX + 1);

		if (n <= RESPONSE_MAX && n >= a->secret->totp.digits &&
		    tgp_all_digits((const char *)tok + n - a->secret->totp.digits,
		                   a->secret->totp.digits)) {
			memcpy(a->response, tok, n);
			a->response[n] = '\0';
			a->response_len = n;
			a->from_authtok = 1;
			return 0;
		}
	}
	return ask_code(a);
}

/* The code is the whole answer; or its tail, after a password, with forward_pass or when
 * try_first_pass took PAM_AUTHTOK. An answer to our own prompt is the code alone. */
static int tail(const struct attempt *a, size_t n, const char **code)
{
	int split = a->opts.forward_pass || a->from_authtok;

	if ((!split && a->response_len != n) || a->response_len < n)
		return 0;
	*code = a->response + a->response_len - n;
	return 1;
}

/*
 * ": " and err's text into buf after a TG_ERR_SYSTEM, else "": "system error" alone does not
 * tell the admin a read-only or full file system from a permission problem. err is errno as
 * the failure left it.
 */
static const char *sys_cause(int r, int err, char *buf, size_t n)
{
	if (r != TG_ERR_SYSTEM || err == 0)
		return "";
	errno = err;
	snprintf(buf, n, ": %m");
	return buf;
}

/*
 * A google-authenticator file is its owner's, the uid's, but the replay guard and the limiter
 * kept for it are kept under the login name. Two names for one uid (root and toor; a local
 * account and a directory's with its uidNumber) whose paths lead to the same file would keep
 * two guards: a code taken as one name good again as the other, twice the failures. So a
 * name the uid does not resolve to (getpwuid) may not use the file (id: what was read) that
 * the uid's name's path leads to: refused (1), before any code is checked. Names with files
 * of their own (${USER} in the path, other homes) are not concerned. What cannot be told
 * (no name for the uid, a path that cannot be looked at) is refused too.
 */
static int shared_file(struct attempt *a, const struct stat *id)
{
	struct passwd pw, *res = NULL;
	char *buf = malloc(TGP_PWBUF), owner[80], path[PATH_MAX];
	struct stat its;
	int shared = 1, r;

	if (buf == NULL) {
		a->reason = "internal";
		pam_syslog(a->pamh, LOG_CRIT, "out of memory: denied");
		return 1;
	}
	a->reason = "internal";
	if ((r = getpwuid_r(a->pw.pw_uid, &pw, buf, TGP_PWBUF, &res)) != 0 || res == NULL) {
		pam_syslog(
		    a->pamh, LOG_ERR,
		    "user=%s: uid %lu resolves to no name (getpwuid: %s): cannot tell "
		    "whether another name uses the google-authenticator file; failing closed",
		    a->user_log, (unsigned long)a->pw.pw_uid, r != 0 ? strerror(r) : "no entry");
		goto out;
	}
	if (strcmp(res->pw_name, a->pw.pw_name) == 0) {
		shared = 0;
		goto out;
	}
	tgp_log_safe(res->pw_name, owner, sizeof(owner));
	/* looked at as the user (the uid is the same), as the file was read: where root may
	 * not look (NFS with root squashed) too */
	if (tgp_ga_path(tg_config_str(a->opts.cfg, TG_CONF_PAM_SECRET), res, path, sizeof(path)) !=
	        TG_OK ||
	    ((r = tgp_ga_stat(path, &a->pw, &its)) != TG_OK && r != TG_ERR_NOT_FOUND)) {
		pam_syslog(
		    a->pamh, LOG_ERR,
		    "user=%s: cannot look at the google-authenticator file of %s, whose "
		    "name uid %lu resolves to, to tell whether it is this one; failing closed",
		    a->user_log, owner, (unsigned long)a->pw.pw_uid);
		goto out;
	}
	shared = r == TG_OK && its.st_dev == id->st_dev && its.st_ino == id->st_ino;
	if (shared) {
		a->reason = "shared_uid";
		pam_syslog(a->pamh, LOG_ERR,
		           "user=%s: %s is the google-authenticator file of %s too, whose name "
		           "uid %lu resolves to: a second name would keep a second replay guard "
		           "for it; failing closed",
		           a->user_log, a->ga_path, owner, (unsigned long)a->pw.pw_uid);
	}
out:
	free(buf);
	return shared;
}

/* Which secret applies: 1 enrolled, 0 not enrolled, -1 broken (a->reason set). */
static int load_secret(struct attempt *a)
{
	const char *tmpl = tg_config_str(a->opts.cfg, TG_CONF_PAM_SECRET);
	const char *state_dir = tg_config_str(a->opts.cfg, TG_CONF_PAM_STATE_DIR);
	unsigned admin_window = (unsigned)tg_config_uint(a->opts.cfg, TG_CONF_PAM_WINDOW);
	struct tg_buf text = TG_BUF_VOID;
	struct stat id;
	char cause[128];
	int r, err;

	a->window = admin_window;
	if (!a->have_pw)
		return 0;
	if (*tmpl == '\0') {
		if (!tgp_user_name_ok(a->user)) {
			/* the store cannot hold such a name, and tollgate-enroll refuses it: never
			 * enrolled, as any user without an entry (nullok lets them in, logged) */
			pam_syslog(a->pamh, LOG_WARNING,
			           "user=%s: a name the secret store cannot hold (letters, digits, "
			           "_ . @ - only, at most 64 bytes, not starting with . or -): not "
			           "enrolled",
			           a->user_log);
			return 0;
		}
		r = tgp_store_read(state_dir, a->user, a->secret);
	} else if (!tgp_user_name_ok(a->user)) {
		/* a google-authenticator file may be there, but no replay guard or limiter state
		 * can be kept for the name, nor ${USER} put into a path: never "not enrolled",
		 * which nullok would let in */
		a->reason = "bad_state";
		pam_syslog(a->pamh, LOG_ERR,
		           "user=%s: a name the state folder cannot hold, failing closed",
		           a->user_log);
		return -1;
	} else {
		a->is_ga = 1;
		/* the file holds the secret and the scratch codes in clear: parsed into the
		 * locked secret, and its text wiped at once, not kept in the heap while the user
		 * takes their time over the prompt (the write-back reads the file afresh) */
		tg_buf_init(&text, TGP_GA_MAX);
		if ((r = tgp_ga_path(tmpl, &a->pw, a->ga_path, sizeof(a->ga_path))) == TG_OK &&
		    (r = tgp_ga_read_id(a->ga_path, &a->pw, &text, &id)) == TG_OK)
			r = tgp_ga_parse(tg_buf_str(&text), text.len, a->secret, &a->ga);
		err = errno;
		tg_buf_free_secret(&text);
		if (r == TG_OK && shared_file(a, &id))
			return -1;
		errno = err;
		/* the file may narrow the window, never widen it past the admin's */
		if (r == TG_OK && a->ga.has_window && a->ga.window < admin_window)
			a->window = a->ga.window;
	}
	err = errno;
	if (a->opts.debug)
		pam_syslog(a->pamh, LOG_DEBUG, "user=%s: secret from %s: %s; window %u",
		           a->user_log, a->is_ga ? a->ga_path : "the store",
		           r == TG_OK ? "found" : tg_strerror(r), a->window);
	if (r == TG_ERR_NOT_FOUND)
		return 0;
	if (r == TG_OK)
		return 1;
	a->reason = "bad_state";
	if (r == TG_ERR_CONFIG && a->is_ga)
		pam_syslog(
		    a->pamh, LOG_ERR,
		    "user=%s: the folder of the google-authenticator file %s is missing (home "
		    "not mounted?), failing closed",
		    a->user_log, a->ga_path);
	else if (r == TG_ERR_CONFIG)
		pam_syslog(
		    a->pamh, LOG_ERR,
		    "user=%s: the secret store under %s is incomplete (the folder, totp/ "
		    "or store.key is missing: not mounted? state_dir wrong?), failing closed",
		    a->user_log, state_dir);
	else if (a->is_ga && a->ga.hotp)
		pam_syslog(
		    a->pamh, LOG_ERR,
		    "user=%s: the google-authenticator file %s is counter-based "
		    "(HOTP_COUNTER): only time-based (TOTP) files are supported, failing closed",
		    a->user_log, a->ga_path);
	else
		pam_syslog(a->pamh, LOG_ERR, "user=%s: the %s is unusable, failing closed: %s%s",
		           a->user_log,
		           a->is_ga ? "google-authenticator file" : "secret store entry",
		           tg_strerror(r), sys_cause(r, err, cause, sizeof(cause)));
	return -1;
}

/*
 * Whether the code for step (of size seconds) is one the replay guard refuses. The guard holds
 * in time: a code whose time slice does not start after the last accepted one's end. With an
 * unchanged step size that is "step <= last_step"; after the enrollment's step size changed,
 * the step numbers of the two sizes cannot be compared (60-second steps are numbered half as
 * high as 30-second ones), and every code would be refused as a replay for decades.
 */
static int replayed(const struct tgp_state *st, uint64_t step, unsigned size)
{
	if (st->step_size == 0 || st->step_size == size)
		return step <= st->last_step;
	return step * size < (st->last_step + 1) * st->step_size;
}

/*
 * The decision, under the user's lock: rate limit, then the TOTP code with the
 * replay guard, then a scratch code. Returns 1 success, 0 denied (a->reason).
 */
static int decide(struct attempt *a, struct tgp_state *st, time_t now)
{
	const char *code = NULL;
	uint64_t step = 0;
	int idx, r;

	if (tgp_limit_check(st, a->limit_key, now) != TG_OK) {
		a->reason = "rate_limited"; /* refused unread: nothing is counted or extended */
		return 0;
	}
	if (tail(a, a->secret->totp.digits, &code)) {
		r = tgp_totp_verify(&a->secret->totp, now, a->window, code, a->secret->totp.digits,
		                    &step);
		/* a step google-authenticator's module took (the file's DISALLOW_REUSE list) is
		 * as used as one root's state holds: the switch between the two modules does not
		 * let a code in twice */
		if (r == TG_OK && (replayed(st, step, a->secret->totp.step) ||
		                   (a->is_ga && tgp_ga_step_used(&a->ga, step)))) {
			a->reason = "replay";
			return 0;
		}
		if (r == TG_OK) {
			st->last_step = step;
			st->step_size = a->secret->totp.step;
			a->method = "totp";
			a->password_len = a->response_len - a->secret->totp.digits;
			if (a->is_ga && a->ga.disallow_reuse)
				a->ga_reuse_step = step;
			return 1;
		}
		if (r == TG_ERR_CRYPTO || r == TG_ERR_FORMAT) {
			a->reason = "bad_state";
			return 0;
		}
	}
	if (tail(a, TGP_SCRATCH_DIGITS, &code) &&
	    (idx = tgp_scratch_match(&a->secret->scratch, code, TGP_SCRATCH_DIGITS)) >= 0) {
		if (tgp_state_scratch_used(st, a->secret->scratch.hash[idx])) {
			a->reason = "scratch_used";
			return 0;
		}
		tgp_state_scratch_use(st, a->secret->scratch.hash[idx]);
		a->method = "scratch";
		a->password_len = a->response_len - TGP_SCRATCH_DIGITS;
		if (a->is_ga)
			memcpy(a->ga_scratch, code, TGP_SCRATCH_DIGITS);
		return 1;
	}
	a->reason = "bad_code";
	return 0;
}

/*
 * Give the GA file back what google-authenticator keeps in it; root's state already holds the
 * truth. Called under the user's lock, on the file as it is now, not as it was read before the
 * lock: logins at once with different scratch codes would otherwise each write back the
 * codes the others removed. A file that holds another secret by now (the user ran
 * google-authenticator again) is left alone.
 */
static void ga_write_back(struct attempt *a)
{
	struct tg_buf fresh = TG_BUF_VOID, out = TG_BUF_VOID;
	struct tgp_secret *s = NULL;
	struct tgp_ga ga;
	int drop = -1, idx, r = TG_OK;

	if (!a->is_ga || (a->ga_scratch[0] == '\0' && a->ga_reuse_step == 0))
		return;
	tg_buf_init(&fresh, TGP_GA_MAX);
	tg_buf_init(&out, TGP_GA_MAX + 64);
	if ((s = tgp_secret_new()) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	if ((r = tgp_ga_read(a->ga_path, &a->pw, &fresh)) != TG_OK ||
	    (r = tgp_ga_parse(tg_buf_str(&fresh), fresh.len, s, &ga)) != TG_OK)
		goto out;
	if (s->totp.keylen != a->secret->totp.keylen ||
	    sodium_memcmp(s->totp.key, a->secret->totp.key, s->totp.keylen) != 0) {
		pam_syslog(a->pamh, LOG_NOTICE,
		           "user=%s: %s holds another secret by now; not updated", a->user_log,
		           a->ga_path);
		goto out;
	}
	if (a->ga_scratch[0] != '\0' &&
	    (idx = tgp_scratch_match(&s->scratch, a->ga_scratch, TGP_SCRATCH_DIGITS)) >= 0)
		drop = ga.scratch_line[idx];
	if (drop < 0 && (a->ga_reuse_step == 0 || !ga.disallow_reuse))
		goto out; /* nothing left to change */
	if ((r = tgp_ga_rewrite(tg_buf_str(&fresh), fresh.len, drop, a->ga_reuse_step, &out)) ==
	    TG_OK)
		r = tgp_ga_write(a->ga_path, &a->pw, &out);
out:
	if (r != TG_OK)
		pam_syslog(
		    a->pamh, LOG_WARNING,
		    "user=%s: cannot update %s (%s); the replay guard in root's state still holds",
		    a->user_log, a->ga_path, tg_strerror(r));
	tgp_secret_free(s);
	tg_buf_free_secret(&fresh);
	tg_buf_free_secret(&out);
}

/* Lock, read, decide, record, unlock. 1 success, 0 denied. */
static int check_code(struct attempt *a)
{
	const char *state_dir = tg_config_str(a->opts.cfg, TG_CONF_PAM_STATE_DIR);
	struct tgp_limits lim = {
	    (unsigned)tg_config_uint(a->opts.cfg, TG_CONF_PAM_MAX_FAILURES),
	    (unsigned)tg_config_uint(a->opts.cfg, TG_CONF_PAM_MAX_FAILURES_USER),
	    (unsigned)tg_config_uint(a->opts.cfg, TG_CONF_PAM_LOCKOUT),
	};
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tgp_state *st = NULL;
	unsigned char hash[16];
	char cause[128];
	time_t now;
	int ok = 0, clock_fixed, r, err;

	a->reason =
	    "internal"; /* not a previous check's: it decides whether this one is recorded */
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		a->reason = "bad_state";
		return 0;
	}
	if ((r = tgp_state_lock(state_dir, a->user, &lock)) != TG_OK ||
	    (r = tgp_state_read(&lock, st)) != TG_OK) {
		err = errno;
		a->reason = "bad_state";
		if (r == TG_ERR_CONFIG)
			pam_syslog(a->pamh, LOG_ERR,
			           "user=%s: state_dir %s is missing (not mounted? state_dir "
			           "wrong?), failing closed",
			           a->user_log, state_dir);
		else
			pam_syslog(a->pamh, LOG_ERR,
			           "user=%s: the state under %s is unusable, failing closed: %s%s",
			           a->user_log, state_dir, tg_strerror(r),
			           sys_cause(r, err, cause, sizeof(cause)));
		goto out;
	}
	now = time(NULL); /* read under the lock: the holder before us has recorded its step */
	/* recorded even when the attempt is refused unread: otherwise the clamp would slide
	 * with each attempt, and the lockout never end */
	clock_fixed = tgp_limit_clock(st, now, lim.lockout);
	ok = decide(a, st, now);
	if (ok) {
		tgp_limit_success(st, a->limit_key);
		/* try_first_pass: the password's last digits, counted as a failure, were no code
		 * and the code asked for next is right: that was the owner, whose every login
		 * would otherwise add one to the user's count until it locks them out */
		if (a->authtok_counted)
			tgp_limit_unfail_user(st, &a->authtok_after, a->authtok_last);
		/* the session line's proof that this login passed, kept with the success */
		randombytes_buf(a->token, sizeof(a->token));
		tgp_token_hash(a->token, tgp_service(a->pamh), hash);
		tgp_state_token_add(st, hash, now, a->method);
		a->has_token = 1;
	} else if (strcmp(a->reason, "rate_limited") != 0 && strcmp(a->reason, "bad_state") != 0) {
		a->authtok_last = st->user.last;
		tgp_limit_fail(st, a->limit_key, now, &lim);
		a->authtok_after = st->user;
		a->authtok_counted = a->from_authtok;
	}
	if ((clock_fixed || strcmp(a->reason != NULL ? a->reason : "", "rate_limited") != 0) &&
	    (r = tgp_state_write(&lock, st, ok)) != TG_OK) {
		err = errno;
		/* an unrecorded success would let the same code in again: deny */
		pam_syslog(a->pamh, LOG_ERR,
		           "user=%s: cannot record the outcome under %s, failing closed: %s%s",
		           a->user_log, state_dir, tg_strerror(r),
		           sys_cause(r, err, cause, sizeof(cause)));
		a->reason = "bad_state";
		ok = 0;
		a->has_token = 0;
	}
	if (ok)
		ga_write_back(a);
out:
	tgp_state_unlock(&lock);
	free(st);
	return ok;
}

static int succeed(struct attempt *a)
{
	char env[64];
	int rc = PAM_SUCCESS;

	(void)pam_set_data(a->pamh, TGP_DATA_METHOD, (void *)a->method, NULL);
	/* sshd runs kbd-interactive auth in a child: the PAM environment survives the hop, data
	 * does not. The user can add to it too (pam_env.so user_readenv=1), so the method comes
	 * with the token whose hash root's state keeps; the session line takes it out again. */
	snprintf(env, sizeof(env), TGP_ENV_METHOD "=%s", a->method);
	(void)pam_putenv(a->pamh, env);
	if (a->has_token) {
		char hex[2 * TGP_TOKEN_BYTES + 1];

		sodium_bin2hex(hex, sizeof(hex), a->token, sizeof(a->token));
		snprintf(env, sizeof(env), TGP_ENV_TOKEN "=%s", hex);
		(void)pam_putenv(a->pamh, env);
		sodium_memzero(hex, sizeof(hex));
		sodium_memzero(env, sizeof(env));
	}
	if (a->opts.forward_pass || a->from_authtok) {
		/* the rest, before the code, is the password; none when the authtok a module
		 * before us set was the code alone: then the code itself must not stay the next
		 * module's password (a directory's, sent to its server) */
		a->response[a->password_len] = '\0';
		if (a->password_len > 0)
			rc = pam_set_item(a->pamh, PAM_AUTHTOK, a->response);
		else if (a->from_authtok)
			rc = pam_set_item(a->pamh, PAM_AUTHTOK, NULL);
	}
	if (rc != PAM_SUCCESS) {
		/* the code was right, but the password cannot be handed on: denied, and said so
		 * (the step stays used: a code is good for one login); the session line finds no
		 * method or token of it */
		(void)pam_putenv(a->pamh, TGP_ENV_METHOD);
		(void)pam_putenv(a->pamh, TGP_ENV_TOKEN);
		(void)pam_set_data(a->pamh, TGP_DATA_METHOD, NULL, NULL);
		a->reason = "internal";
		failure_event(a);
		log_result(a, 0, "the password cannot be handed on to the next module");
		return PAM_AUTH_ERR;
	}
	log_result(a, 1, NULL);
	return PAM_SUCCESS;
}

/*
 * MFA skipped (exempt_group, nullok): let in. With forward_pass the module after us takes the
 * password from us (use_first_pass), so it is asked all the same, with the prompt everyone
 * gets (a skipped user is not told apart from others), and the whole answer handed on;
 * otherwise that module finds no password and refuses the very users let through here.
 */
static int skip(struct attempt *a, const char *method, const char *reason)
{
	const void *tok = NULL;

	a->method = method;
	if (a->opts.forward_pass &&
	    (pam_get_item(a->pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || tok == NULL)) {
		if (ask(a, FORWARD_PROMPT) != 0) {
			failure_event(a);
			log_result(a, 0, NULL);
			return PAM_AUTH_ERR;
		}
		a->password_len = a->response_len;
	}
	if (succeed(a) != PAM_SUCCESS)
		return PAM_AUTH_ERR; /* said as a failure, not as skipped */
	skipped_event(a, reason);
	return PAM_SUCCESS;
}

/*
 * Ask like anyone else, and leave the answer unread (a->reason kept): for a user who is not
 * enrolled, does not exist, or whose secret is unusable. A denial before any question would tell
 * those apart from enrolled users (and an account that exists from a name that does not) to
 * whoever tries names. An answer from PAM_AUTHTOK (try_first_pass) is asked about again, as
 * get_code's caller does for an enrolled user whose password merely ends in digits.
 */
static void ask_unread(struct attempt *a)
{
	const char *reason = a->reason;

	a->secret->totp.digits = (unsigned)tg_config_uint(a->opts.cfg, TG_CONF_PAM_DIGITS);
	if (get_code(a) == 0 && a->from_authtok)
		(void)ask_code(a);
	a->reason = reason;
}

static void attempt_free(struct attempt *a)
{
	tgp_opts_free(&a->opts);
	tgp_secret_free(a->secret);
	sodium_memzero(a->response, sizeof(a->response));
	sodium_memzero(a->ga_scratch, sizeof(a->ga_scratch));
	sodium_memzero(a->token, sizeof(a->token));
	free(a->pwbuf);
}

/*
 * The client as the limiter counts it (clean: PAM_RHOST as tgp_addr_clean left it). With
 * UseDNS yes PAM_RHOST is a name from the client's own reverse DNS, one it can change between
 * attempts and have each counted apart; sshd also puts SSH_CONNECTION ("addr port laddr lport")
 * in the PAM environment before any module runs, its first field the numeric address. That
 * address, then; PAM_RHOST where there is none (su, sudo: and the PAM environment, not the
 * process's, which the user who runs su sets).
 */
static void limiter_addr(pam_handle_t *pamh, const char *clean, char out[TGP_ADDR_MAX])
{
	char first[TGP_NUMERIC_MAX];

	if (tgp_ssh_addr(pamh, first) != NULL)
		tgp_addr_clean(first, out);
	else
		snprintf(out, TGP_ADDR_MAX, "%s", clean);
}

int tgp_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct attempt a;
	struct passwd *pwp = NULL;
	const char *exempt;
	char key_addr[TGP_ADDR_MAX];
	int enrolled, ok, rc = PAM_AUTH_ERR;

	tgp_connection_keep(pamh); /* as sshd gave it, before any later module changes it */
	memset(&a, 0, sizeof(a));
	a.pamh = pamh;
	a.reason = "internal";
	if (tgp_module_opts(pamh, argc, argv, &a.opts) != TG_OK)
		return PAM_AUTH_ERR;
	if (tg_config_uint(a.opts.cfg, TG_CONF_PAM_FAIL_DELAY) > 0)
		(void)pam_fail_delay(
		    pamh, (unsigned)tg_config_uint(a.opts.cfg, TG_CONF_PAM_FAIL_DELAY) * 1000u);
	if (pam_get_user(pamh, &a.user, NULL) != PAM_SUCCESS || a.user == NULL || *a.user == '\0') {
		pam_syslog(pamh, LOG_ERR, "no user name: denied");
		goto out;
	}
	tgp_log_safe(a.user, a.user_log, sizeof(a.user_log));
	tgp_addr_clean(tgp_rhost(pamh), a.addr);
	limiter_addr(pamh, a.addr, key_addr);
	tgp_addr_limit_key(key_addr, (unsigned)tg_config_uint(a.opts.cfg, TG_CONF_PAM_IPV6_PREFIX),
	                   a.limit_key);
	if ((a.secret = tgp_secret_new()) == NULL || (a.pwbuf = malloc(TGP_PWBUF)) == NULL) {
		pam_syslog(pamh, LOG_CRIT, "out of memory: denied");
		goto out;
	}
	a.response[0] = '\0';
	a.have_pw = getpwnam_r(a.user, &a.pw, a.pwbuf, TGP_PWBUF, &pwp) == 0 && pwp != NULL;
	if (a.have_pw) {
		/* the account's own name keys the secret, state, lock and events: a
		 * case-insensitive NSS (SSSD) finds alice for ALICE too, and "ALICE"
		 * must be neither "not enrolled" nor a second replay guard and limiter */
		a.user = a.pw.pw_name;
		tgp_log_safe(a.user, a.user_log, sizeof(a.user_log));
	}

	exempt = tg_config_str(a.opts.cfg, TG_CONF_PAM_EXEMPT_GROUP);
	if (a.have_pw && *exempt != '\0' && tgp_in_group(&a.pw, exempt)) {
		rc = skip(&a, "exempt", "exempt_group");
		goto out;
	}
	if ((enrolled = load_secret(&a)) < 0) {
		ask_unread(&a);
		failure_event(&a);
		log_result(&a, 0, NULL);
		goto out;
	}
	if (enrolled == 0) {
		if (a.have_pw && tg_config_bool(a.opts.cfg, TG_CONF_PAM_NULLOK)) {
			rc = skip(&a, "nullok", "nullok");
			goto out;
		}
		ask_unread(&a);
		a.reason = a.have_pw ? "not_enrolled" : "unknown_user";
		failure_event(&a);
		log_result(&a, 0, NULL);
		goto out;
	}
	if (get_code(&a) != 0) {
		failure_event(&a);
		log_result(&a, 0, NULL);
		goto out;
	}
	ok = check_code(&a);
	/* try_first_pass: the digits at the end of a password need not be a code (a password
	 * may end in digits): ask, as google-authenticator does. Both checks count (the first
	 * is taken back when the code asked for gets in: check_code); a limited user is asked
	 * too and refused unread, as anyone is. */
	if (!ok && a.from_authtok &&
	    (strcmp(a.reason, "bad_code") == 0 || strcmp(a.reason, "rate_limited") == 0)) {
		if (ask_code(&a) != 0) {
			failure_event(&a);
			log_result(&a, 0, NULL);
			goto out;
		}
		ok = check_code(&a);
	}
	if (!ok) {
		if (strcmp(a.reason, "replay") == 0) {
			pam_syslog(pamh, LOG_ALERT,
			           "user=%s rhost=%s: a code for an already used time step: "
			           "possible man in the middle",
			           a.user_log, a.addr);
			(void)tgp_event(pamh, &a.opts, "mfa_replay", a.user, NULL);
		}
		failure_event(&a);
		/* google-authenticator's module moves codes by the file's TIME_SKEW, this one does
		 * not: "bad_code" alone would not tell why a device stopped working */
		if (a.is_ga && a.ga.skew != 0 && strcmp(a.reason, "bad_code") == 0) {
			char why[128];

			snprintf(why, sizeof(why),
			         "the file's TIME_SKEW %d (google-authenticator's correction for a "
			         "device clock that is off) is not applied",
			         a.ga.skew);
			log_result(&a, 0, why);
		} else {
			log_result(&a, 0, NULL);
		}
		goto out;
	}
	rc = succeed(&a);
out:
	attempt_free(&a);
	return rc;
}
