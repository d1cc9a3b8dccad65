/*
 * tollgate-enroll: the admin's tool for the central secret store.
 *   tollgate-enroll [-c FILE] --user NAME [--algorithm A] [--digits N] [--force] [--no-qr]
 *   tollgate-enroll [-c FILE] --user NAME --import-google-authenticator FILE
 *   tollgate-enroll [-c FILE] --user NAME --reset-failures | --remove
 * The secret and the scratch codes are shown once, on stdout, and kept only
 * sealed (secret) or hashed (scratch codes).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <liboath/oath.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ga_file.h"
#include "options.h"
#include "qr.h"
#include "secret_store.h"
#include "state.h"
#include "tg_error.h"
#include "tg_spool.h"
#include "tg_utf8.h"

enum action { ENROLL, IMPORT, RESET, REMOVE };

static void usage(FILE *f)
{
	fputs("usage: tollgate-enroll [-c FILE] --user NAME [--algorithm sha1|sha256|sha512] "
	      "[--digits 6-8]\n"
	      "                       [--force] [--no-qr]\n"
	      "       tollgate-enroll [-c FILE] --user NAME --import-google-authenticator FILE "
	      "[--force]\n"
	      "       tollgate-enroll [-c FILE] --user NAME --reset-failures\n"
	      "       tollgate-enroll [-c FILE] --user NAME --remove\n"
	      "  -c, --config FILE    configuration (default " TG_CONFIG_DEFAULT_PATH ")\n"
	      "  -u, --user NAME      the user\n"
	      "  -a, --algorithm ALG  HMAC of a new secret (default: [pam] algorithm)\n"
	      "  -d, --digits N       code length of a new secret (default: [pam] digits)\n"
	      "  -i, --import-google-authenticator FILE\n"
	      "                       move the user's google-authenticator file into the store\n"
	      "      --reset-failures clear the user's failure counts\n"
	      "      --remove         remove the user's enrollment (the state is kept)\n"
	      "  -f, --force          replace an existing enrollment\n"
	      "      --no-qr          do not draw the QR code\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        the version\n"
	      "Exit status: 0 done, 1 failed, 2 usage or configuration error.\n",
	      f);
}

static int key_bytes(enum tgp_alg alg)
{
	return alg == TGP_ALG_SHA512 ? 64 : alg == TGP_ALG_SHA256 ? 32 : 20;
}

/* Percent-encode for the otpauth URI label and issuer. */
static void uri_escape(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s != '\0' && o + 4 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* 1 when all that was printed on stdout got there; else says so, and 0. */
static int stdout_ok(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 1;
	fprintf(stderr, "tollgate-enroll: cannot write to standard output: %m\n");
	return 0;
}

/* Take action a; -1 when another action was given already (last-one-wins would turn a
 * mistyped "--reset-failures --remove" into a removal). */
static int set_action(enum action *action, enum action a)
{
	if (*action != ENROLL && *action != a) {
		fputs(
		    "tollgate-enroll: --import-google-authenticator, --reset-failures and --remove "
		    "exclude each other\n",
		    stderr);
		return -1;
	}
	*action = a;
	return 0;
}

/*
 * The first option given that action does not take, or NULL. The action would ignore it, and
 * an option an admin typed is meant: "--remove --digits 8" is a mistake, not a removal.
 */
static const char *stray_option(enum action action, int alg, int digits, int force, int no_qr)
{
	if (action == ENROLL)
		return NULL;
	if (alg)
		return "--algorithm";
	if (digits)
		return "--digits";
	if (no_qr)
		return "--no-qr";
	if (force && action != IMPORT)
		return "--force";
	return NULL;
}

static const char *action_name(enum action action)
{
	return action == IMPORT  ? "--import-google-authenticator"
	       : action == RESET ? "--reset-failures"
	                         : "--remove";
}

/* TG_ERR_EXISTS (and say so) when user has a secret and --force was not given. */
static int refuse_if_enrolled(const char *state_dir, const char *user, int force)
{
	if (!tgp_store_exists(state_dir, user) || force)
		return TG_OK;
	fprintf(stderr, "tollgate-enroll: %s is already enrolled (--force replaces the secret)\n", user);
	return TG_ERR_EXISTS;
}

/*
 * TG_ERR_CONFIG (and say so) when store.key is missing while totp/ holds enrollments of others:
 * they are sealed with the lost key, which the store would replace by a new one, leaving them
 * unreadable for good (and putting the old key back would then lose this enrollment).
 */
static int refuse_if_key_lost(const char *state_dir, const char *user)
{
	char key[PATH_MAX], dir[PATH_MAX];
	struct dirent *e;
	struct stat st;
	unsigned others = 0;
	DIR *d;

	snprintf(key, sizeof(key), "%s/" TGP_STORE_KEY_FILE, state_dir);
	snprintf(dir, sizeof(dir), "%s/" TGP_STORE_SUBDIR, state_dir);
	if (lstat(key, &st) == 0 || errno != ENOENT || (d = opendir(dir)) == NULL)
		return TG_OK;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, user) != 0) /* not temp files */
			others++;
	closedir(d);
	if (others == 0)
		return TG_OK;
	fprintf(stderr,
	        "tollgate-enroll: %s is missing, but %s holds %u enrollment%s sealed with it: put "
	        "it back (a new key would leave them unreadable); nothing done\n",
	        key, dir, others, others == 1 ? "" : "s");
	return TG_ERR_CONFIG;
}

/* Forget the failure counts and lockouts, of the user and of every address; the replay
 * guard, the used scratch codes and the tokens stay. */
static void clear_failures(struct tgp_state *st)
{
	memset(&st->user, 0, sizeof(st->user));
	memset(st->addrs, 0, sizeof(st->addrs));
	st->naddrs = 0;
}

/*
 * Make state_dir (the first enrollment on a host makes it: the state never does) and take
 * user's state lock, the one logins take, or say why not. Held from the check for an
 * enrollment to the last write, it keeps two runs for one user apart: each checked, both
 * wrote, and the secret the first printed was void.
 */
static int lock_user(const char *state_dir, const char *user, struct tgp_lock *lock)
{
	int r;

	if ((r = tg_mkdir_p(state_dir, 0700)) != TG_OK) {
		fprintf(stderr, "tollgate-enroll: cannot make state_dir %s: %s; nothing done\n",
		        state_dir, tg_strerror(r));
		return r;
	}
	if ((r = tgp_state_lock(state_dir, user, lock)) == TG_OK)
		return TG_OK;
	fprintf(stderr,
	        "tollgate-enroll: cannot lock the state %s/" TGP_STATE_SUBDIR "/%s (%s)%s; nothing "
	        "done\n",
	        state_dir, user, tg_strerror(r),
	        r == TG_ERR_RETRY ? ": a login holds it; try again"
	        : r == TG_ERR_PERM && geteuid() == 0
	            ? ": every login of the user fails closed on it too; make it and its folders "
	              "root's alone (a file of mode 0600 and one link)"
	            : "");
	return r;
}

/*
 * A new enrollment's state (st as read under the lock): no failures (a clean start), but the
 * replay guard, the used scratch codes and the tokens stay, as with --reset-failures: a user
 * who still logs in with a google-authenticator file (secret=) relies on them to refuse a
 * used scratch code put back into the file, and a code already taken. A corrupt state (every
 * login fails closed on it) is started afresh, as the --reset-failures error promises.
 */
static int renew_state(struct tgp_lock *lock, struct tgp_state *st, int corrupt)
{
	if (corrupt)
		return tgp_state_clear(lock);
	clear_failures(st);
	return tgp_state_write(lock, st, 1);
}

static int enroll(struct tgp_opts *o, const char *user, int force, int qr)
{
	const char *state_dir = tg_config_str(o->cfg, TG_CONF_PAM_STATE_DIR);
	struct tgp_secret *s = tgp_secret_new();
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tgp_state st;
	char codes[TGP_SCRATCH_NEW][TGP_SCRATCH_DIGITS + 1];
	char host[256], label[512], uri[1024], *b32 = NULL;
	size_t b32len = 0;
	unsigned i;
	int r = TG_ERR_NOMEM, corrupt;

	if (s == NULL)
		goto out;
	if ((r = lock_user(state_dir, user, &lock)) != TG_OK ||
	    (r = refuse_if_enrolled(state_dir, user, force)) != TG_OK ||
	    (r = refuse_if_key_lost(state_dir, user)) != TG_OK)
		goto out;
	/* read before the secret is replaced: a state that cannot be read (but for corruption,
	 * which the enrollment starts afresh) stops it with nothing done */
	if ((r = tgp_state_read(&lock, &st)) != TG_OK && r != TG_ERR_FORMAT) {
		fprintf(stderr,
		        "tollgate-enroll: cannot read the state %s/" TGP_STATE_SUBDIR
		        "/%s: %s; nothing done\n",
		        state_dir, user, tg_strerror(r));
		goto out;
	}
	corrupt = r == TG_ERR_FORMAT;
	if ((r = tgp_alg_parse(tg_config_str(o->cfg, TG_CONF_PAM_ALGORITHM), &s->totp.alg)) !=
	    TG_OK)
		goto out;
	s->totp.digits = (unsigned)tg_config_uint(o->cfg, TG_CONF_PAM_DIGITS);
	s->totp.step = (unsigned)tg_config_uint(o->cfg, TG_CONF_PAM_STEP);
	s->totp.keylen = (size_t)key_bytes(s->totp.alg);
	randombytes_buf(s->totp.key, s->totp.keylen);
	if ((r = tgp_scratch_generate(&s->scratch, TGP_SCRATCH_NEW, codes)) != TG_OK)
		goto out;
	if ((r = tgp_store_write(state_dir, user, s)) != TG_OK) {
		fprintf(stderr, "tollgate-enroll: cannot write the secret store under %s: %s\n",
		        state_dir, tg_strerror(r));
		goto out;
	}
	/* a new secret starts with no failures; one that keeps them (a failed write) is said,
	 * or the admin reads a clean start that is not one */
	if ((r = renew_state(&lock, &st, corrupt)) != TG_OK && corrupt)
		fprintf(stderr,
		        "tollgate-enroll: warning: %s is enrolled, but the corrupt state "
		        "%s/" TGP_STATE_SUBDIR
		        "/%s stays (%s): every login of %s fails closed on it\n",
		        user, state_dir, user, tg_strerror(r), user);
	else if (r != TG_OK)
		fprintf(stderr,
		        "tollgate-enroll: warning: %s is enrolled, but the old state "
		        "%s/" TGP_STATE_SUBDIR
		        "/%s stays (%s): its failure counts and lockout still hold\n",
		        user, state_dir, user, tg_strerror(r));
	/* the secret is shown after the lock is let go: a login waits for no terminal */
	tgp_state_unlock(&lock);
	if (oath_init() != OATH_OK || oath_base32_encode((const char *)s->totp.key, s->totp.keylen,
	                                                 &b32, &b32len) != OATH_OK) {
		r = TG_ERR_CRYPTO;
		goto out;
	}
	while (b32len > 0 && b32[b32len - 1] == '=') /* authenticator apps want no padding */
		b32[--b32len] = '\0';
	/* the name the events and recordings carry, so the app's entry matches them */
	if (tg_config_hostname(tg_config_str(o->cfg, TG_CONF_GENERAL_HOSTNAME), host,
	                       sizeof(host)) != TG_OK)
		snprintf(host, sizeof(host), "unknown");
	{
		char who[300];

		snprintf(who, sizeof(who), "%s@%s", user, host);
		uri_escape(who, label, sizeof(label));
	}
	snprintf(
	    uri, sizeof(uri),
	    "otpauth://totp/Tollgate:%s?secret=%s&issuer=Tollgate&algorithm=%s&digits=%u&period=%u",
	    label, b32,
	    s->totp.alg == TGP_ALG_SHA1     ? "SHA1"
	    : s->totp.alg == TGP_ALG_SHA256 ? "SHA256"
	                                    : "SHA512",
	    s->totp.digits, s->totp.step);
	printf("Enrolled %s (%s, %u digits, %u s step).\n\n", user, tgp_alg_name(s->totp.alg),
	       s->totp.digits, s->totp.step);
	printf("Secret (base32): %s\n\n%s\n\n", b32, uri);
	if (qr && tgp_qr_print(stdout, uri) != TG_OK)
		fprintf(stderr,
		        "tollgate-enroll: cannot draw the QR code; type the secret instead\n");
	printf("\nScratch codes, each good for one login. They are shown only now; keep them "
	       "offline:\n");
	for (i = 0; i < TGP_SCRATCH_NEW; i++)
		printf("  %s\n", codes[i]);
	/* the secret and the codes exist only in this output: lost (a full disk, a closed
	 * file), the user is enrolled with a secret nobody has, and a script must not read
	 * "done" */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr,
		        "tollgate-enroll: cannot write the secret and scratch codes to standard "
		        "output: %m; %s is enrolled with a secret nobody has seen: run again with "
		        "--force\n",
		        user);
		r = TG_ERR_IO;
		goto out;
	}
	r = TG_OK;
out:
	if (b32 != NULL) {
		sodium_memzero(b32, b32len);
		free(b32);
	}
	sodium_memzero(uri, sizeof(uri));
	sodium_memzero(codes, sizeof(codes));
	tgp_state_unlock(&lock);
	tgp_secret_free(s);
	return r;
}

/*
 * The time steps google-authenticator's module took (its DISALLOW_REUSE list) into root's
 * replay guard, so that a code used just before the switch is not let in once more after it.
 * That includes a step ahead of the current one by up to the widest window a login takes (a
 * device clock a little ahead; the pam.d line may widen [pam] window, unseen here), whose code
 * would still get in; a step further ahead (a file edited by hand) is not taken: it would
 * refuse every code until then.
 */
static int seed_replay_guard(struct tgp_lock *lock, const struct tgp_ga *ga, unsigned step_size)
{
	struct tgp_state st;
	uint64_t now_step = (uint64_t)time(NULL) / step_size, latest = 0;
	unsigned i;
	int r;

	for (i = 0; i < ga->nused; i++)
		if (ga->used[i] <= now_step + TGP_WINDOW_MAX && ga->used[i] > latest)
			latest = ga->used[i];
	if (latest == 0)
		return TG_OK;
	if ((r = tgp_state_read(lock, &st)) != TG_OK)
		return r;
	/* compared in time: the state may count steps of another size; one written without its
	 * size counts in this one, as the login reads it (never lowered) */
	if (st.step_size == 0 ? latest > st.last_step
	                      : (latest + 1) * step_size > (st.last_step + 1) * st.step_size) {
		st.last_step = latest;
		st.step_size = step_size;
		r = tgp_state_write(lock, &st, 1);
	}
	return r;
}

static int import_ga(struct tgp_opts *o, const char *user, const char *file, int force)
{
	const char *state_dir = tg_config_str(o->cfg, TG_CONF_PAM_STATE_DIR);
	struct tgp_secret *s = tgp_secret_new(), *plain = tgp_secret_new();
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tg_buf text = TG_BUF_VOID;
	struct tgp_ga ga = {0};
	struct passwd *pw = getpwnam(user);
	int r = TG_ERR_NOMEM;

	tg_buf_init(&text, TGP_GA_MAX);
	if (s == NULL || plain == NULL)
		goto out;
	if (pw == NULL) {
		fprintf(stderr, "tollgate-enroll: no such user: %s\n", user);
		r = TG_ERR_NOT_FOUND;
		goto out;
	}
	/* under the lock, as an enrollment: an enrollment at once must not replace this one */
	if ((r = lock_user(state_dir, user, &lock)) != TG_OK ||
	    (r = refuse_if_enrolled(state_dir, user, force)) != TG_OK ||
	    (r = refuse_if_key_lost(state_dir, user)) != TG_OK)
		goto out;
	/* the same checks as at login: the user's own file, 0600 or stricter, read as the user */
	if ((r = tgp_ga_read(file, pw, &text)) != TG_OK) {
		/* read with the user's rights: a copy only root reaches is refused for that, and
		 * "system error" alone does not say so */
		if (r == TG_ERR_SYSTEM)
			fprintf(
			    stderr,
			    "tollgate-enroll: %s: refused: cannot read it with %s's rights: %m\n",
			    file, user);
		else if (r == TG_ERR_CONFIG)
			fprintf(stderr, "tollgate-enroll: %s: refused: no such file or folder\n",
			        file);
		else
			fprintf(stderr, "tollgate-enroll: %s: refused: %s\n", file, tg_strerror(r));
		goto out;
	}
	if ((r = tgp_ga_parse(tg_buf_str(&text), text.len, plain, &ga)) != TG_OK) {
		if (ga.hotp)
			fprintf(
			    stderr,
			    "tollgate-enroll: %s: refused: a counter-based (HOTP_COUNTER) file; "
			    "only time-based (TOTP) files can be imported\n",
			    file);
		else
			fprintf(stderr, "tollgate-enroll: %s: refused: %s\n", file, tg_strerror(r));
		goto out;
	}
	/* the scratch codes as tgp_ga_parse hashed them, under the salt derived from the key:
	 * the hashes of codes already used, in root's state, keep matching, so a used code
	 * still in the file (a failed write-back, a restored copy) stays used after the import */
	s->totp = plain->totp;
	s->scratch = plain->scratch;
	/* the replay guard goes in before the secret */
	if ((r = seed_replay_guard(&lock, &ga, s->totp.step)) != TG_OK) {
		fprintf(stderr, "tollgate-enroll: cannot write the replay guard under %s: %s\n",
		        state_dir, tg_strerror(r));
		goto out;
	}
	if ((r = tgp_store_write(state_dir, user, s)) != TG_OK) {
		fprintf(stderr, "tollgate-enroll: cannot write the secret store under %s: %s\n",
		        state_dir, tg_strerror(r));
		goto out;
	}
	tgp_state_unlock(&lock);
	if (ga.skew != 0)
		fprintf(
		    stderr,
		    "tollgate-enroll: warning: %s has TIME_SKEW %d: google-authenticator's module "
		    "moved %s's codes by %d steps (%lld s) for a device clock that is off; the "
		    "store does not: set that device's clock right, or its codes will be "
		    "refused\n",
		    file, ga.skew, user, ga.skew, (long long)ga.skew * (long long)s->totp.step);
	printf("Imported %s for %s (%u scratch codes). Set secret= back to empty (the default) to "
	       "use the store;\n"
	       "the old file can then be removed.\n",
	       file, user, s->scratch.n);
	r = TG_OK;
out:
	tgp_state_unlock(&lock);
	tg_buf_free_secret(&text);
	tgp_secret_free(s);
	tgp_secret_free(plain);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"user", required_argument, NULL, 'u'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"digits", required_argument, NULL, 'd'},
	    {"import-google-authenticator", required_argument, NULL, 'i'},
	    {"reset-failures", no_argument, NULL, 'R'},
	    {"remove", no_argument, NULL, 'X'},
	    {"force", no_argument, NULL, 'f'},
	    {"no-qr", no_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct tgp_opts o = TGP_OPTS_VOID;
	/* one slot per option, so that an option given again replaces (the last one counts) */
	const char *config = NULL, *alg = NULL, *digits = NULL, *args[3];
	char config_arg[PATH_MAX + 8], alg_arg[64], digits_arg[64], err[512];
	const char *user = NULL, *import = NULL, *state_dir, *stray;
	char account[256];
	struct passwd *pw;
	enum action action = ENROLL;
	int nargs = 0, c, force = 0, qr = 1, r;

	while ((c = getopt_long(argc, argv, "c:u:a:d:i:hVf", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(config_arg, sizeof(config_arg), "config=%s", optarg);
			config = config_arg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'a':
			snprintf(alg_arg, sizeof(alg_arg), "algorithm=%s", optarg);
			alg = alg_arg;
			break;
		case 'd':
			snprintf(digits_arg, sizeof(digits_arg), "digits=%s", optarg);
			digits = digits_arg;
			break;
		case 'i':
			import = optarg;
			if (set_action(&action, IMPORT) != 0)
				return 2;
			break;
		case 'R':
			if (set_action(&action, RESET) != 0)
				return 2;
			break;
		case 'X':
			if (set_action(&action, REMOVE) != 0)
				return 2;
			break;
		case 'f':
			force = 1;
			break;
		case 'Q':
			qr = 0;
			break;
		case 'h':
			usage(stdout);
			return stdout_ok() ? 0 : 1;
		case 'V':
			printf("tollgate-enroll " PACKAGE_VERSION "\n");
			return stdout_ok() ? 0 : 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || user == NULL) {
		usage(stderr);
		return 2;
	}
	if ((stray = stray_option(action, alg != NULL, digits != NULL, force, !qr)) != NULL) {
		fprintf(stderr,
		        "tollgate-enroll: %s does not apply to %s (see tollgate-enroll --help)\n",
		        stray, action_name(action));
		return 2;
	}
	/* the account's own name, as the module keys it: a case-insensitive NSS
	 * (SSSD) finds alice for ALICE, and her secret must be found at login */
	if ((pw = getpwnam(user)) != NULL) {
		snprintf(account, sizeof(account), "%s", pw->pw_name);
		user = account;
	}
	if (!tgp_user_name_ok(user)) {
		/* escaped: what it refuses may hold a terminal's control sequences */
		char *shown = tg_text_safe_mode(user, isatty(STDERR_FILENO) && tg_locale_8bit());

		fprintf(stderr, "tollgate-enroll: not a user name this store accepts: %s\n",
		        shown != NULL ? shown : "(not shown: out of memory)");
		free(shown);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "tollgate-enroll: libsodium failed to start\n");
		return 1;
	}
	umask(077);
	if (config != NULL)
		args[nargs++] = config;
	if (alg != NULL)
		args[nargs++] = alg;
	if (digits != NULL)
		args[nargs++] = digits;
	if ((r = tgp_opts_load(&o, nargs, args, err, sizeof(err))) != TG_OK) {
		fprintf(stderr, "tollgate-enroll: %s\n", err);
		return 2;
	}
	state_dir = tg_config_str(o.cfg, TG_CONF_PAM_STATE_DIR);
	/* no state_dir is not "no failures" nor "not enrolled": the login fails closed on it
	 * (enroll and import make it, as the package does) */
	if ((action == RESET || action == REMOVE) &&
	    tgp_check_private_dir(state_dir) == TG_ERR_NOT_FOUND) {
		fprintf(stderr,
		        "tollgate-enroll: state_dir %s does not exist (not mounted? the wrong "
		        "configuration?); nothing done\n",
		        state_dir);
		tgp_opts_free(&o);
		return 1;
	}
	switch (action) {
	case ENROLL:
		if (getpwnam(user) == NULL) {
			fprintf(stderr, "tollgate-enroll: no such user: %s\n", user);
			r = TG_ERR_NOT_FOUND;
			break;
		}
		r = enroll(&o, user, force, qr);
		/* the module then reads google-authenticator files, and this secret at no login
		 * (with nullok the user gets in without a code): "Enrolled" alone says otherwise */
		if (r == TG_OK && *tg_config_str(o.cfg, TG_CONF_PAM_SECRET) != '\0')
			fprintf(
			    stderr,
			    "tollgate-enroll: warning: [pam] secret is set in %s: pam_tollgate.so "
			    "reads %s, not this enrollment, until it is emptied\n",
			    config != NULL ? config + 7 : TG_CONFIG_DEFAULT_PATH,
			    tg_config_str(o.cfg, TG_CONF_PAM_SECRET));
		break;
	case IMPORT:
		r = import_ga(&o, user, import, force);
		break;
	case RESET: {
		struct tgp_lock lock = TGP_LOCK_VOID;
		struct tgp_state st;

		/* no state: nothing to clear, and no file is made for it; for a name that is no
		 * account either (a typo) that is an error, not "cleared" */
		if ((r = tgp_state_peek(state_dir, user, &st)) == TG_ERR_NOT_FOUND) {
			if (getpwnam(user) == NULL) {
				fprintf(stderr,
				        "tollgate-enroll: no such user and no state: %s; nothing "
				        "cleared\n",
				        user);
				r = TG_ERR_NOT_FOUND;
			} else {
				printf("No failures recorded for %s.\n", user);
				r = TG_OK;
			}
			break;
		}
		/* under the login lock, keeping the replay guard and used scratch codes */
		if ((r = tgp_state_lock(state_dir, user, &lock)) == TG_OK &&
		    (r = tgp_state_read(&lock, &st)) == TG_OK) {
			clear_failures(&st);
			r = tgp_state_write(&lock, &st, 1);
		}
		tgp_state_unlock(&lock);
		if (r == TG_OK)
			printf("Failure counts of %s cleared.\n", user);
		else if (r == TG_ERR_FORMAT)
			/* not "remove the file": used scratch codes would be good again */
			fprintf(
			    stderr,
			    "tollgate-enroll: the state %s/" TGP_STATE_SUBDIR "/%s is corrupt and "
			    "every login of %s fails closed on it; enroll %s again (--force) to "
			    "start afresh with a new secret\n",
			    state_dir, user, user, user);
		else
			fprintf(stderr, "tollgate-enroll: cannot clear the failures of %s: %s\n",
			        user, tg_strerror(r));
		break;
	}
	case REMOVE:
		/* the state stays: the replay guard and the used scratch codes still hold for a
		 * user who logs in with a google-authenticator file (secret=), or is enrolled again
		 */
		r = tgp_store_remove(state_dir, user);
		if (r == TG_ERR_NOT_FOUND)
			fprintf(
			    stderr,
			    "tollgate-enroll: %s is not enrolled in the store; any state (replay "
			    "guard, failure counts) is kept\n",
			    user);
		else if (r == TG_OK)
			printf("Removed the enrollment of %s (its state, the replay guard, used "
			       "scratch "
			       "codes and failure counts, is kept).\n",
			       user);
		else
			fprintf(stderr, "tollgate-enroll: cannot remove %s: %s\n", user,
			        tg_strerror(r));
		break;
	}
	/* an admin who forgot sudo otherwise reads only "system error" or "unsafe ownership" */
	if (r != TG_OK && geteuid() != 0)
		fprintf(
		    stderr,
		    "tollgate-enroll: it runs as uid %u, not root: the secret store, its key and "
		    "the state under %s are root's, so run it as root\n",
		    (unsigned)geteuid(), state_dir);
	/* done, but a script that reads "cleared" or "removed" must learn it was not said (an
	 * enrollment's lost output is said by enroll(), with what to do) */
	if (r == TG_OK && !stdout_ok())
		r = TG_ERR_IO;
	tgp_opts_free(&o);
	return r == TG_OK ? 0 : 1;
}
