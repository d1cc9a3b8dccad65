/*
 * Session events: login at open_session, logout at close_session, each a
 * small JSON file in the spool (no network: the uploader sends them). The
 * login makes the session id the recorder picks up from TOLLGATE_SESSION_ID.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sodium.h>
#include <stdint.h>
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
#include "tg_event.h"

#define SESSION_ID_BYTES 16

/*
 * The MFA method of this login, for its login and logout events. When the auth part ran in this
 * process (su, login) it left the method in PAM data. sshd runs keyboard-interactive auth in
 * another process, so the method comes as TOLLGATE_MFA_METHOD in the PAM environment; but the
 * user can set that too (Debian's pam_env.so user_readenv=1 reads ~/.pam_environment), so it is
 * believed only where root's own data agrees: exempt when the user is in exempt_group; totp or
 * scratch when the auth step's token (TOLLGATE_MFA_TOKEN, taken out of the PAM environment by
 * open_session before the session sees it) is one root's state keeps for this service, issued
 * in the last TGP_TOKEN_TTL seconds, and not taken yet: believing a token takes it out of the
 * state, so one that reached the user (a stack without this line) is not good again (a recent
 * code of another login vouches for nothing: a publickey-only login, or su with no auth line,
 * is "none" even just after one); nullok when nullok is on and the user has no secret, as the
 * auth step would find (nullok never lets in anyone else: an enrolled user's claim would pass
 * a login without MFA for a rollout's). Kept in PAM data for the logout.
 */

/*
 * Whether pw's user has no secret: no entry in a store that is there or, with secret=, no
 * google-authenticator file in a folder that is there. Anything else (an error, a missing store
 * or home) is not "no secret", as it is not for the auth step.
 */
static int no_secret(const struct tgp_opts *o, const struct passwd *pw)
{
	const char *tmpl = tg_config_str(o->cfg, TG_CONF_PAM_SECRET);
	struct tg_buf text = TG_BUF_VOID;
	struct tgp_secret *s;
	char path[PATH_MAX];
	int r;

	if (*tmpl == '\0') {
		/* a name the store cannot hold has no entry, as the auth step finds */
		if (!tgp_user_name_ok(pw->pw_name))
			return 1;
		if ((s = tgp_secret_new()) == NULL)
			return 0;
		r = tgp_store_read(tg_config_str(o->cfg, TG_CONF_PAM_STATE_DIR), pw->pw_name, s);
		tgp_secret_free(s);
		return r == TG_ERR_NOT_FOUND;
	}
	tg_buf_init(&text, TGP_GA_MAX);
	if ((r = tgp_ga_path(tmpl, pw, path, sizeof(path))) == TG_OK)
		r = tgp_ga_read(path, pw, &text);
	tg_buf_free_secret(&text);
	return r == TG_ERR_NOT_FOUND;
}

/* Why the state could not take a token out (what failed, r with the errno err), into fail. */
static void state_failure(char *fail, size_t n, const char *state_dir, const char *what, int r,
                          int err)
{
	size_t len;

	snprintf(fail, n, "the state under %s %s: %s", state_dir, what, tg_strerror(r));
	if (r == TG_ERR_SYSTEM && err != 0 && (len = strlen(fail)) < n) {
		errno = err;
		snprintf(fail + len, n - len, ": %m");
	}
}

/*
 * The method ("totp", "scratch") of the token (hex, may be NULL) that this login's auth step
 * handed over, as root's state keeps it for this service; NULL when it keeps none such. The
 * token is taken out of the state as it is believed: one session open per token. NULL too
 * when the state cannot take it out (fail, of size n, then says why; "" otherwise): a claim
 * that could be made again is not believed.
 */
static const char *token_method(pam_handle_t *pamh, const struct tgp_opts *o, const char *user,
                                const char *token, char *fail, size_t n)
{
	const char *state_dir = tg_config_str(o->cfg, TG_CONF_PAM_STATE_DIR), *method = NULL;
	unsigned char raw[TGP_TOKEN_BYTES], hash[16];
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tgp_state *st = NULL;
	size_t got = 0;
	int r, err;

	fail[0] = '\0';
	if (token == NULL ||
	    sodium_hex2bin(raw, sizeof(raw), token, strlen(token), NULL, &got, NULL) != 0 ||
	    got != sizeof(raw) || (st = calloc(1, sizeof(*st))) == NULL)
		goto out;
	tgp_token_hash(raw, tgp_service(pamh), hash);
	/* a look without the lock first: it makes no state file for a user who has none, and
	 * a token the state does not keep costs no lock */
	if ((r = tgp_state_peek(state_dir, user, st)) != TG_OK) {
		/* none: no token kept; else said, as an unusable state is at the auth step */
		err = errno;
		if (r != TG_ERR_NOT_FOUND)
			state_failure(fail, n, state_dir, "cannot be read", r, err);
		goto out;
	}
	if (tgp_state_token_find(st, hash, time(NULL)) == NULL)
		goto out;
	/* then taken out under the lock the auth step records under, and written back durably
	 * before it is believed: of the sessions that present one token, at once or one after
	 * the other (it reached the user through a stack without this line), one reads its
	 * method */
	if ((r = tgp_state_lock(state_dir, user, &lock)) != TG_OK ||
	    (r = tgp_state_read(&lock, st)) != TG_OK) {
		err = errno;
		state_failure(fail, n, state_dir, "cannot be locked and read", r, err);
		goto out;
	}
	if ((method = tgp_state_token_take(st, hash, time(NULL))) != NULL &&
	    (r = tgp_state_write(&lock, st, 1)) != TG_OK) {
		err = errno;
		method = NULL; /* the token would be good again */
		state_failure(fail, n, state_dir, "cannot record the token as used", r, err);
	}
out:
	tgp_state_unlock(&lock);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(hash, sizeof(hash));
	free(st);
	return method;
}

static const char *mfa_method(pam_handle_t *pamh, const struct tgp_opts *o, const char *user,
                              const char *token)
{
	const void *m = NULL;
	const char *env = pam_getenv(pamh, TGP_ENV_METHOD), *exempt, *method = "none", *t;
	struct passwd pw, *pwp = NULL;
	char *buf = NULL, fail[PATH_MAX + 192] = "";

	if (pam_get_data(pamh, TGP_DATA_METHOD, &m) == PAM_SUCCESS && m != NULL)
		return m;
	exempt = tg_config_str(o->cfg, TG_CONF_PAM_EXEMPT_GROUP);
	if (env != NULL && strcmp(env, "exempt") == 0 && *exempt != '\0' &&
	    (buf = malloc(TGP_PWBUF)) != NULL && getpwnam_r(user, &pw, buf, TGP_PWBUF, &pwp) == 0 &&
	    pwp != NULL && tgp_in_group(pwp, exempt)) {
		method = "exempt";
	} else if (env != NULL && (strcmp(env, "totp") == 0 || strcmp(env, "scratch") == 0) &&
	           (t = token_method(pamh, o, user, token, fail, sizeof(fail))) != NULL) {
		method = t;
	} else if (env != NULL && strcmp(env, "nullok") == 0 &&
	           tg_config_bool(o->cfg, TG_CONF_PAM_NULLOK) &&
	           (buf != NULL || (buf = malloc(TGP_PWBUF)) != NULL) &&
	           getpwnam_r(user, &pw, buf, TGP_PWBUF, &pwp) == 0 && pwp != NULL &&
	           no_secret(o, pwp)) {
		method = "nullok";
	}
	/* a claim not believed: the session line may lack the auth line's arguments (an
	 * exempt_group, nullok or state_dir given there only), and "none" alone would leave an
	 * event wrong without a word; or the user set the variable */
	if (env != NULL && strcmp(env, "none") != 0 && strcmp(method, "none") == 0) {
		char claim[16], who[80], why[PATH_MAX + 256];

		if (fail[0] != '\0')
			snprintf(why, sizeof(why), "%s", fail);
		else if (strcmp(env, "exempt") == 0)
			snprintf(why, sizeof(why), "%s",
			         *exempt == '\0' ? "no exempt_group here" : "not in exempt_group");
		else if (strcmp(env, "totp") == 0 || strcmp(env, "scratch") == 0)
			snprintf(why, sizeof(why),
			         "%s " TGP_ENV_TOKEN " that the state under %s keeps, unused, "
			         "for this service from the last %d s",
			         token == NULL ? "no" : "not a",
			         tg_config_str(o->cfg, TG_CONF_PAM_STATE_DIR), TGP_TOKEN_TTL);
		else if (strcmp(env, "nullok") == 0)
			snprintf(why, sizeof(why), "%s",
			         tg_config_bool(o->cfg, TG_CONF_PAM_NULLOK)
			             ? "the user has a secret"
			             : "no nullok here");
		else
			snprintf(why, sizeof(why), "not a method this module reports");
		tgp_log_safe(env, claim, sizeof(claim));
		tgp_log_safe(user, who, sizeof(who));
		pam_syslog(pamh, LOG_WARNING,
		           "user=%s: the MFA method %s that " TGP_ENV_METHOD " gives is not "
		           "confirmed by this session line's arguments and root's data (%s): "
		           "recorded as none",
		           who, claim, why);
	}
	free(buf);
	(void)pam_set_data(pamh, TGP_DATA_METHOD, (void *)method, NULL);
	return method;
}

/*
 * The client's port, from SSH_CONNECTION ("addr port addr port") as sshd set it (kept before
 * the session stack ran: pam_env.so may have changed it since): 1 to 65535 in digits alone, and
 * only beside an address of sshd's (tgp_ssh_addr), the one the event names; -1 otherwise.
 */
static long client_port(pam_handle_t *pamh)
{
	const char *c = tgp_connection(pamh), *p;
	char addr[TGP_NUMERIC_MAX];
	long port = 0;
	size_t n;

	if (c == NULL || tgp_ssh_addr(pamh, addr) == NULL)
		return -1;
	p = c + strcspn(c, " ");
	if (*p++ != ' ' || (n = strspn(p, "0123456789")) == 0 || n > 5 ||
	    (p[n] != ' ' && p[n] != '\0'))
		return -1;
	while (n-- > 0)
		port = port * 10 + (*p++ - '0');
	return port >= 1 && port <= 65535 ? port : -1;
}

/*
 * This login's own audit session: the one pam_loginuid, earlier in the session stack, made for
 * it. 0 when there is none or it is not the login's own: the same as sshd's (the parent) when
 * pam_loginuid is missing, could not write (a container), or wrote nothing (the loginuid was
 * already the user's: sshd started from that user's login), so that every login of the user
 * would share it and it would tie no recording to this login.
 */
static uint32_t login_audit_session(pam_handle_t *pamh)
{
	uint32_t own = tg_audit_session();

	if (own == 0)
		return 0;
	if (own == tg_audit_session_of(getppid())) {
		pam_syslog(pamh, LOG_WARNING,
		           "this login has no audit session of its own (pam_loginuid.so missing "
		           "before pam_tollgate.so in the session stack, or it could not set one): "
		           "its recordings are tied to it by the session id alone");
		return 0;
	}
	return own;
}

/* token: the one open_session took out of the PAM environment, or NULL */
static json_t *session_fields(pam_handle_t *pamh, const struct tgp_opts *o, const char *user,
                              const char *session_id, const char *token)
{
	const void *tty = NULL;
	long port = client_port(pamh);
	uint32_t audit = login_audit_session(pamh);
	char boot[TG_BOOT_ID_LEN + 1];
	json_t *f;

	if (pam_get_item(pamh, PAM_TTY, &tty) != PAM_SUCCESS)
		tty = NULL;
	f = json_pack("{s:o, s:o, s:I, s:o, s:s}", "client_port",
	              port >= 0 ? json_integer(port) : json_null(), "tty", tgp_json_text(tty),
	              "pid", (json_int_t)getpid(), "session_id",
	              session_id != NULL ? json_string(session_id) : json_null(), "mfa_method",
	              mfa_method(pamh, o, user, token));
	/* the kernel's id of this login (pam_loginuid, earlier in the stack, made it), which
	 * every process of the session inherits and its user cannot change: the uploader
	 * counts a recording for this login only when its header names the same, and the same
	 * boot (the kernel counts again from 1 at each boot) */
	if (f == NULL || audit == 0)
		return f;
	if (json_object_set_new(f, "audit_session", json_integer((json_int_t)audit)) != 0)
		goto fail;
	if (tg_boot_id(boot) != 0)
		pam_syslog(
		    pamh, LOG_WARNING,
		    "cannot read this boot's id (/proc/sys/kernel/random/boot_id): recordings "
		    "are tied to this login by its audit session alone");
	else if (json_object_set_new(f, "boot_id", json_string(boot)) != 0)
		goto fail;
	return f;
fail:
	json_decref(f);
	return NULL;
}

int tgp_session_open(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	unsigned char raw[SESSION_ID_BYTES];
	char id[2 * SESSION_ID_BYTES + 1], env[sizeof(TGP_ENV_SESSION_ID) + sizeof(id) + 1];
	const char *user = NULL;
	char account[256], *saved = NULL, token[2 * TGP_TOKEN_BYTES + 1];
	const char *t = pam_getenv(pamh, TGP_ENV_TOKEN);
	uint64_t *start = NULL;
	json_t *f = NULL;
	int have_token = 0, rc = PAM_SESSION_ERR;

	/* the auth step's token is for this line alone: out of the PAM environment before
	 * anything else, so that the user's session (sshd hands it the PAM environment) never
	 * gets it, however this call ends */
	if (t != NULL) {
		have_token = strlen(t) < sizeof(token);
		snprintf(token, sizeof(token), "%s", have_token ? t : "");
		(void)pam_putenv(pamh, TGP_ENV_TOKEN);
	}
	if (tgp_module_opts(pamh, argc, argv, &o) != TG_OK)
		goto out;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) {
		pam_syslog(pamh, LOG_ERR, "open_session: no user name");
		goto out;
	}
	user = tgp_account_name(user, account, sizeof(account));
	if (sodium_init() < 0)
		goto out;
	randombytes_buf(raw, sizeof(raw));
	tg_hex(raw, sizeof(raw), id);
	snprintf(env, sizeof(env), TGP_ENV_SESSION_ID "=%s", id);
	if (pam_putenv(pamh, env) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "open_session: cannot set " TGP_ENV_SESSION_ID);
		goto out;
	}
	/* the logout's id is kept where only this module reaches it: the PAM environment is
	 * open to every module after this one (pam_env reads ~/.pam_environment) */
	if ((saved = strdup(id)) == NULL ||
	    pam_set_data(pamh, TGP_DATA_SESSION_ID, saved, tgp_free_data) != PAM_SUCCESS) {
		free(saved);
		pam_syslog(pamh, LOG_ERR, "open_session: cannot keep the session id");
		goto out;
	}
	/* the boot clock (tg_mono_us): an NTP step during the session must not stretch its
	 * duration or zero it, and a suspended host's pause is part of it */
	if ((start = malloc(sizeof(*start))) != NULL) {
		*start = tg_mono_us();
		if (pam_set_data(pamh, TGP_DATA_START, start, tgp_free_data) != PAM_SUCCESS)
			free(start);
	}
	if ((f = session_fields(pamh, &o, user, id, have_token ? token : NULL)) == NULL ||
	    tgp_event(pamh, &o, "login", user, f) != TG_OK)
		goto out;
	rc = PAM_SUCCESS;
out:
	sodium_memzero(token, sizeof(token));
	json_decref(f);
	tgp_opts_free(&o);
	return rc;
}

int tgp_session_close(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	const char *user = NULL;
	char account[256];
	const void *start = NULL, *id = NULL;
	json_t *f = NULL;
	int rc = PAM_SESSION_ERR;

	if (tgp_module_opts(pamh, argc, argv, &o) != TG_OK)
		return PAM_SESSION_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) {
		pam_syslog(pamh, LOG_ERR, "close_session: no user name");
		goto out;
	}
	user = tgp_account_name(user, account, sizeof(account));
	/* the id open_session made, not TOLLGATE_SESSION_ID: another module may have changed
	 * that to another session's id, whose recording would then stand for this one */
	if (pam_get_data(pamh, TGP_DATA_SESSION_ID, &id) != PAM_SUCCESS)
		id = NULL;
	if ((f = session_fields(pamh, &o, user, id, NULL)) == NULL)
		goto out;
	if (pam_get_data(pamh, TGP_DATA_START, &start) == PAM_SUCCESS && start != NULL) {
		uint64_t now = tg_mono_us(), s = *(const uint64_t *)start;

		json_object_set_new(f, "duration_us",
		                    json_integer((json_int_t)(now > s ? now - s : 0)));
	}
	if (tgp_event(pamh, &o, "logout", user, f) != TG_OK)
		goto out;
	rc = PAM_SUCCESS;
out:
	json_decref(f);
	tgp_opts_free(&o);
	return rc;
}
