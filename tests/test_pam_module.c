/*
 * pam_tollgate.so black-box, through the real libpam: a private service
 * folder (pam_start_confdir) whose service file loads the module just built,
 * by absolute path. /etc/pam.d is never read or touched. The test user is
 * whoever runs the test, so it works as root and as anyone else.
 */
#include "tg_test.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <liboath/oath.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <sodium.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "secret_store.h"
#include "state.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_spool.h"
#include "totp.h"

static char *dir;
static char module[4096];
static char user[256];
static struct tgp_secret *secret;

/*
 * A case-insensitive name service, as SSSD with case_sensitive = false: the
 * test user's name typed in another case finds the test user's account,
 * whose pw_name is the canonical spelling. This program exports it
 * (-export-dynamic), so the module that libpam loads calls it.
 */
/* An account whose name the store cannot hold, as a Samba machine account's (a trailing $):
 * the test user's entry under that name. */
#define ODD_NAME "tg-machine$"
/* A second name for the test user's uid and home, as toor for root: getpwuid gives the test
 * user's name, as it gives the first entry's. */
#define DUP_NAME "tg-dup-uid"

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t n, struct passwd **res)
{
	static int (*real)(const char *, struct passwd *, char *, size_t, struct passwd **);
	static char odd[] = ODD_NAME, dup_name[] = DUP_NAME;
	int r;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getpwnam_r");
	if (user[0] != '\0' && strcmp(name, ODD_NAME) == 0) {
		if ((r = real(user, pw, buf, n, res)) == 0 && *res != NULL)
			pw->pw_name = odd;
		return r;
	}
	if (user[0] != '\0' && strcmp(name, DUP_NAME) == 0) {
		if ((r = real(user, pw, buf, n, res)) == 0 && *res != NULL)
			pw->pw_name = dup_name;
		return r;
	}
	if (user[0] != '\0' && strcasecmp(name, user) == 0)
		name = user;
	return real(name, pw, buf, n, res);
}

/*
 * A group whose entry does not fit a small buffer, as a directory group with thousands of
 * members: the name service answers ERANGE below 64 KiB, as glibc's does for such an entry.
 * Its gid is the test user's primary group.
 */
#define BIG_GROUP "tg-big-group"

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t n, struct group **res)
{
	static int (*real)(const char *, struct group *, char *, size_t, struct group **);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getgrnam_r");
	if (strcmp(name, BIG_GROUP) == 0) {
		*res = NULL;
		if (n < 65536)
			return ERANGE;
		return getgrgid_r(getegid(), gr, buf, n, res);
	}
	return real(name, gr, buf, n, res);
}

/*
 * The wall clock as the module sees it, moved by clock_shift_us (an NTP step during a
 * session); exported like getpwnam_r. The test's own clocks are left alone.
 */
static int64_t clock_shift_us;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int64_t ns;
	int r;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
	if ((r = real(id, ts)) != 0 || id != CLOCK_REALTIME || clock_shift_us == 0)
		return r;
	ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + clock_shift_us * 1000;
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	return 0;
}

/*
 * The module's log lines (pam_syslog), kept for the tests that read them, then passed on to
 * libpam's; exported like getpwnam_r.
 */
static char log_lines[16384];

void pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	static void (*real)(const pam_handle_t *, int, const char *, va_list);
	size_t len = strlen(log_lines);
	va_list ap;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pam_vsyslog");
	va_start(ap, fmt);
	if (len + 1 < sizeof(log_lines)) {
		va_list ap2;

		va_copy(ap2, ap);
		vsnprintf(log_lines + len, sizeof(log_lines) - len - 1, fmt, ap2);
		va_end(ap2);
		strcat(log_lines, "\n");
	}
	if (real != NULL)
		real(pamh, priority, fmt, ap);
	va_end(ap);
}

/*
 * A user in more groups than a small buffer holds, as directory users often are: with
 * many_groups set, the test user is in 300, the primary group last.
 */
static int many_groups;

int getgrouplist(const char *name, gid_t group, gid_t *groups, int *ngroups)
{
	static int (*real)(const char *, gid_t, gid_t *, int *);
	const int n = 300;
	int i;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "getgrouplist");
	if (!many_groups || strcmp(name, user) != 0)
		return real(name, group, groups, ngroups);
	if (*ngroups < n) {
		*ngroups = n;
		return -1;
	}
	for (i = 0; i < n - 1; i++)
		groups[i] = (gid_t)(100000 + i);
	groups[n - 1] = group;
	*ngroups = n;
	return n;
}

/* ANSWER_FAIL_FILLED: answers, then fails (Linux-PAM passes such an answer on) */
enum answer_kind {
	ANSWER_TEXT,
	ANSWER_NULL,
	ANSWER_FAIL,
	ANSWER_FAIL_FILLED,
	ANSWER_HUGE,
	ANSWER_NUL_INSIDE
};

struct conv_state {
	enum answer_kind kind;
	const char *text;
	int prompts;
	char last_prompt[128];
};

/* When set, the answer to every prompt after a conversation's first (ANSWER_TEXT). */
static const char *then_answer;

/*
 * When set, each prompt looks for this text in the process's writable anonymous memory (the
 * heap), where the module keeps what it holds while the user types; heap_hits counts the
 * prompts that found it.
 */
static const char *heap_needle;
static int heap_hits;

static void look_in_heap(void)
{
	static char chunk[65536 + 256];
	size_t len = heap_needle != NULL ? strlen(heap_needle) : 0;
	char line[512];
	FILE *f;
	int mem;

	if (heap_needle == NULL || (f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	/* read through /proc/self/mem, not by pointer: memory that the sanitizers or valgrind
	 * hold unaddressable (freed blocks, red zones) is read by the kernel, unchecked */
	if ((mem = open("/proc/self/mem", O_RDONLY)) < 0) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi, at;
		char perms[8], path[256] = "";
		int found = 0;

		/* not the sanitizers' shadow and reserved regions, which run to terabytes: the
		 * module's few allocations are not there */
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3 ||
		    perms[0] != 'r' || perms[1] != 'w' ||
		    (path[0] != '\0' && strcmp(path, "[heap]") != 0) || hi - lo > (256ul << 20))
			continue;
		/* chunks that overlap by the needle's length, so that none is missed at a seam */
		for (at = lo; at < hi && !found; at += 65536) {
			size_t want = hi - at < 65536 + len ? hi - at : 65536 + len;
			ssize_t n = pread(mem, chunk, want, (off_t)at);

			found = n > 0 && memmem(chunk, (size_t)n, heap_needle, len) != NULL;
		}
		memset(chunk, 0, sizeof(chunk)); /* the needle must not stay here either */
		if (found) {
			heap_hits++;
			break;
		}
	}
	close(mem);
	fclose(f);
}

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct conv_state *c = data;
	struct pam_response *r;
	int i;

	if (c->kind == ANSWER_FAIL)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		ck_assert_int_eq(msg[i]->msg_style, PAM_PROMPT_ECHO_OFF);
		c->prompts++;
		look_in_heap();
		snprintf(c->last_prompt, sizeof(c->last_prompt), "%s", msg[i]->msg);
		switch (c->kind) {
		case ANSWER_TEXT:
		case ANSWER_FAIL_FILLED:
			r[i].resp =
			    strdup(c->prompts > 1 && then_answer != NULL ? then_answer : c->text);
			break;
		case ANSWER_NULL:
			r[i].resp = NULL;
			break;
		case ANSWER_HUGE: {
			size_t n = 10 * 1024 * 1024;

			ck_assert_ptr_nonnull(r[i].resp = malloc(n + 1));
			memset(r[i].resp, '1', n);
			r[i].resp[n] = '\0';
			break;
		}
		case ANSWER_NUL_INSIDE:
			/* the code's text, a NUL, then more: PAM strings end at the NUL */
			ck_assert_ptr_nonnull(r[i].resp = malloc(32));
			memcpy(r[i].resp, c->text, strlen(c->text) + 1);
			memcpy(r[i].resp + strlen(c->text) + 1, "123456", 7);
			break;
		default:
			break;
		}
	}
	*resp = r;
	return c->kind == ANSWER_FAIL_FILLED ? PAM_CONV_ERR : PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

/* Write the service file "svc": auth with these arguments, then extra (may be ""), then session. */
static void service_with(const char *args, const char *extra)
{
	char p[4200];
	FILE *f;

	snprintf(p, sizeof(p), "%s/pam.d/svc", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fprintf(f, "auth required %s config=%s/tollgate.conf %s\n", module, dir, args);
	fprintf(f, "%s", extra);
	fprintf(f, "session required %s config=%s/tollgate.conf %s\n", module, dir, args);
	fclose(f);
}

/* A stack with first (a module line) before ours. */
static void service_first(const char *args, const char *first)
{
	char p[4200];
	FILE *f;

	snprintf(p, sizeof(p), "%s/pam.d/svc", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fprintf(f, "%sauth required %s config=%s/tollgate.conf %s\n", first, module, dir, args);
	fclose(f);
}

static void service(const char *args)
{
	service_with(args, "");
}

/* The password the module passed on, as the next module in the stack (pam_exec) saw it. */
static void passed_on(char *out, size_t n)
{
	char p[4200];
	FILE *f;

	out[0] = '\0';
	snprintf(p, sizeof(p), "%s/authtok", dir);
	if ((f = fopen(p, "r")) != NULL) {
		if (fgets(out, (int)n, f) == NULL)
			out[0] = '\0';
		fclose(f);
		unlink(p);
	}
	out[strcspn(out, "\n")] = '\0';
}

static void service_passing_on(const char *args)
{
	char extra[4400], script[4200];
	FILE *f;

	/* pam_exec hands the authtok to the command on stdin (expose_authtok) */
	snprintf(script, sizeof(script), "%s/save-authtok", dir);
	ck_assert_ptr_nonnull(f = fopen(script, "w"));
	fprintf(f, "#!/bin/sh\nexec cat > %s/authtok\n", dir);
	fclose(f);
	ck_assert_int_eq(chmod(script, 0700), 0);
	snprintf(extra, sizeof(extra), "auth required pam_exec.so expose_authtok quiet %s\n",
	         script);
	service_with(args, extra);
}

/* service_passing_on, with first (a module line) before ours. */
static void service_first_passing_on(const char *args, const char *first)
{
	char p[4200], body[16384];
	size_t n;
	FILE *f;

	service_passing_on(args);
	snprintf(p, sizeof(p), "%s/pam.d/svc", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "r"));
	n = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	body[n] = '\0';
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fprintf(f, "%s%s", first, body);
	fclose(f);
}

/* SSH_CONNECTION in the PAM environment of the next logins, as sshd puts it there; NULL: none */
static const char *ssh_connection;

/* A handle on service svc of the private service folder for who (libpam loads the module). */
static pam_handle_t *start_handle(const char *svc, const char *who, struct pam_conv *pc)
{
	pam_handle_t *pamh = NULL;
	char confdir[4200];

	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	ck_assert_int_eq(pam_start_confdir(svc, who, pc, confdir, &pamh), PAM_SUCCESS);
	return pamh;
}

static int auth_full(const char *who, struct conv_state *c, const char *rhost, const char *authtok,
                     char *authtok_out, size_t outlen)
{
	struct pam_conv pc = {conv, c};
	pam_handle_t *pamh = start_handle("svc", who, &pc);
	int rc;

	pam_set_item(pamh, PAM_RHOST, rhost != NULL ? rhost : "192.0.2.7");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	if (ssh_connection != NULL) {
		char env[256];

		snprintf(env, sizeof(env), "SSH_CONNECTION=%s", ssh_connection);
		ck_assert_int_eq(pam_putenv(pamh, env), PAM_SUCCESS);
	}
	if (authtok != NULL)
		pam_set_item(pamh, PAM_AUTHTOK, authtok);
	rc = pam_authenticate(pamh, 0);
	if (authtok_out != NULL) {
		const void *tok = NULL;

		pam_get_item(pamh, PAM_AUTHTOK, &tok);
		snprintf(authtok_out, outlen, "%s", tok != NULL ? (const char *)tok : "");
	}
	pam_end(pamh, rc);
	return rc;
}

static int auth(struct conv_state *c)
{
	return auth_full(user, c, NULL, NULL, NULL, 0);
}

static int auth_text(const char *text)
{
	struct conv_state c = {ANSWER_TEXT, text, 0, ""};

	return auth(&c);
}

static void code_at(time_t when, char *out)
{
	ck_assert_int_eq(tgp_totp_generate(&secret->totp, when, out, 16), TG_OK);
}

/* Count event files whose text holds needle. */
static int events_with(const char *needle)
{
	char p[4200];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/spool/events", dir);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char f[4500], buf[4096];
		ssize_t n2;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
		if ((fd = open(f, O_RDONLY)) < 0)
			continue;
		n2 = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n2 > 0) {
			buf[n2] = '\0';
			n += strstr(buf, needle) != NULL;
		}
	}
	closedir(d);
	return n;
}

/* Count event files of a type. */
static int events(const char *type)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
	return events_with(needle);
}

static void setup(void)
{
	const char *top = getenv("TG_TOP_BUILDDIR");
	char p[4200];
	struct passwd *pw = getpwuid(geteuid());
	FILE *f;

	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_ptr_nonnull(top);
	ck_assert_ptr_nonnull(pw);
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	snprintf(module, sizeof(module), "%s/pam_module/.libs/pam_tollgate.so", top);
	ck_assert_int_eq(access(module, R_OK), 0);
	dir = tg_test_tmpdir();
	then_answer = NULL;
	heap_needle = NULL;
	heap_hits = 0;
	snprintf(p, sizeof(p), "%s/pam.d", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/spool/events", dir);
	ck_assert_int_eq(tg_mkdir_p(p, 0750), TG_OK);
	snprintf(p, sizeof(p), "%s/tollgate.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fprintf(
	    f,
	    "[general]\nspool_dir = %s/spool\nhostname = testhost\n[pam]\nstate_dir = %s/state\n"
	    "fail_delay_ms = 0\n",
	    dir, dir);
	fclose(f);
	service("");
	ck_assert_ptr_nonnull(secret = tgp_secret_new());
	secret->totp.alg = TGP_ALG_SHA1;
	secret->totp.digits = 6;
	secret->totp.step = 30;
	secret->totp.keylen = 20;
	randombytes_buf(secret->totp.key, 20);
	ck_assert_int_eq(tgp_scratch_add(&secret->scratch, "12345678"), TG_OK);
	ck_assert_int_eq(tgp_scratch_add(&secret->scratch, "87654321"), TG_OK);
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_write(p, user, secret), TG_OK);
}

static void teardown(void)
{
	tgp_secret_free(secret);
	tg_test_rmtree(dir);
	free(dir);
}

START_TEST(good_code_then_replay)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16];

	code_at(time(NULL), code);
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_str_eq(c.last_prompt, "Verification code: ");
	/* the same code again, and any earlier step, are refused */
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	code_at(time(NULL) - 30, code);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 2);
	ck_assert_int_eq(events("mfa_failure"), 2);
}
END_TEST

/* The admin changes the enrollment's step size: codes of new time slices still work, and the
 * slice already used stays used (the replay guard holds in time, not in step numbers). */
START_TEST(step_size_change_keeps_the_guard_in_time)
{
	char code[16], p[4200];
	time_t now = time(NULL);

	snprintf(p, sizeof(p), "%s/state", dir);
	code_at(now, code);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	secret->totp.step = 60;
	ck_assert_int_eq(tgp_store_write(p, user, secret), TG_OK);
	/* the 60 s slice holding now began before the accepted 30 s slice ended */
	code_at(now, code);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 1);
	/* the next 60 s slice starts after it: not a replay (step numbers would say so: they
	 * are half as high) */
	code_at(now + 60, code);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 2);
	/* and back to 30 s: the slices before the accepted 60 s one's end stay used */
	secret->totp.step = 30;
	ck_assert_int_eq(tgp_store_write(p, user, secret), TG_OK);
	code_at(time(NULL), code);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 3);
}
END_TEST

START_TEST(bad_inputs_denied)
{
	struct conv_state c = {ANSWER_TEXT, "", 0, ""};
	char code[16], eight[16];

	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR); /* empty */
	c.kind = ANSWER_NULL;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	c.kind = ANSWER_FAIL;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	/* the right code from a conversation that says it failed: refused, and the answer is
	 * freed (the sanitizer and valgrind runs see a leak otherwise) */
	code_at(time(NULL), code);
	c.kind = ANSWER_FAIL_FILLED;
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	c.text = "";
	c.kind = ANSWER_HUGE;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	c.kind = ANSWER_TEXT;
	ck_assert_int_eq(auth_text("abcdef"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_text("12 456"), PAM_AUTH_ERR);
	/* a wrong code before an embedded NUL */
	c.kind = ANSWER_NUL_INSIDE;
	c.text = "000000";
	code_at(time(NULL), code);
	if (strcmp(code, "000000") != 0)
		ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	/* the right code with extra digits (an 8-digit code ending in the 6) */
	secret->totp.digits = 8;
	code_at(time(NULL), eight);
	secret->totp.digits = 6;
	ck_assert_int_eq(auth_text(eight), PAM_AUTH_ERR);
	{
		char spaced[32];

		snprintf(spaced, sizeof(spaced), " %s", code);
		ck_assert_int_eq(auth_text(spaced), PAM_AUTH_ERR);
	}
}
END_TEST

START_TEST(good_code_after_nul_is_its_code)
{
	/* "CODE\0junk": the PAM string is CODE, which is right: accepted, and nothing crashes */
	struct conv_state c = {ANSWER_NUL_INSIDE, NULL, 0, ""};
	char code[16];

	code_at(time(NULL), code);
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
}
END_TEST

START_TEST(scratch_codes_single_use)
{
	ck_assert_int_eq(auth_text("12345678"), PAM_SUCCESS);
	ck_assert_int_eq(auth_text("12345678"), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_text("87654321"), PAM_SUCCESS);
	ck_assert_int_eq(auth_text("11111111"), PAM_AUTH_ERR);
}
END_TEST

START_TEST(not_enrolled_prompted_and_denied)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	char p[4200];

	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_remove(p, user), TG_OK);
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1); /* looks like everyone else */
	ck_assert_int_eq(events("mfa_failure"), 1);
	/* a user that does not exist: the same */
	c.prompts = 0;
	ck_assert_int_eq(auth_full("tg-no-such-user-xyz", &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	/* nullok lets the not-enrolled user in, without a prompt, and says so */
	service("nullok");
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 0);
	ck_assert_int_eq(events("mfa_skipped"), 1);
	/* but not a user that does not exist */
	ck_assert_int_eq(auth_full("tg-no-such-user-xyz", &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
}
END_TEST

/*
 * An account whose name the secret store cannot hold (a trailing $) was never enrolled:
 * tollgate-enroll refuses the name. It is not enrolled, as any user without an entry: asked and
 * denied, and let in by nullok (issue: a rollout). With secret=, where a google-authenticator
 * file may be there but no state can be kept for the name, it fails closed, nullok or not.
 */
static void session_as_with_method_env(const char *who, const char *method);

START_TEST(unstorable_name_is_not_enrolled)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	char args[4400];

	ck_assert_int_eq(auth_full(ODD_NAME, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(events_with("\"reason\":\"not_enrolled\""), 1);
	service("nullok");
	c.prompts = 0;
	ck_assert_int_eq(auth_full(ODD_NAME, &c, NULL, NULL, NULL, 0), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 0);
	ck_assert_int_eq(events_with("\"user\":\"" ODD_NAME "\""), 2);
	ck_assert_int_eq(events("mfa_skipped"), 1);
	/* and its session says so, as for any user with no secret: not "none", with a
	 * warning that the user has one */
	session_as_with_method_env(ODD_NAME, "nullok");
	ck_assert_int_eq(events_with("\"mfa_method\":\"nullok\""), 2);
	snprintf(args, sizeof(args), "nullok secret=%s/ga", dir);
	service(args);
	c.prompts = 0;
	ck_assert_int_eq(auth_full(ODD_NAME, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(events("mfa_skipped"), 1);
	ck_assert_int_eq(events_with("\"reason\":\"bad_state\""), 1);
}
END_TEST

/*
 * The name is the client's to choose, of any length sshd takes (its packets hold 256 KiB): a
 * failure under a name past the event's size cap is still an event, the name cut, and says so.
 */
START_TEST(long_user_name_still_an_event)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	size_t n = 100 * 1024;
	char *name = malloc(n + 1), want[1100];

	ck_assert_ptr_nonnull(name);
	memset(name, 'x', n);
	name[n] = '\0';
	ck_assert_int_eq(auth_full(name, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_failure"), 1);
	snprintf(want, sizeof(want), "\"user\":\"%.1024s\",\"user_truncated\":true", name);
	ck_assert_int_eq(events_with(want), 1);
	free(name);
}
END_TEST

/*
 * The name is the client's to choose, blanks and all: in the log line it must not add fields of
 * its own (a forged rhost= would send a log watcher such as fail2ban after another host, a forged
 * result= hide a failure).
 */
START_TEST(user_name_cannot_forge_log_fields)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	const char *line, *rhost;

	log_lines[0] = '\0';
	ck_assert_int_eq(auth_full("x rhost=203.0.113.9 service=sshd result=success reason=totp",
	                           &c, "192.0.2.7", NULL, NULL, 0),
	                 PAM_AUTH_ERR);
	ck_assert_ptr_nonnull(line = strstr(log_lines, "user="));
	ck_assert_ptr_nonnull(rhost = strstr(line, " rhost="));
	/* the name is one field: the first blank ends it, and sshd's address follows */
	ck_assert_msg(strchr(line, ' ') == rhost && strncmp(rhost, " rhost=192.0.2.7 ", 17) == 0 &&
	                  strstr(line, " result=success") == NULL,
	              "log line with forged fields: %s", line);
}
END_TEST

/* The name in another case (case-insensitive NSS) is the same account: one secret, state, events.
 */
START_TEST(other_case_is_the_same_account)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char typed[256], code[16], needle[300], p[4500];
	size_t i;

	for (i = 0; user[i] != '\0'; i++)
		typed[i] = (char)toupper((unsigned char)user[i]);
	typed[i] = '\0';
	if (strcmp(typed, user) == 0)
		return; /* no letter to change the case of */
	service("nullok");
	code_at(time(NULL), code);
	/* enrolled, so asked, and a wrong code refused: never "not enrolled" let in by nullok */
	c.text = strcmp(code, "000000") == 0 ? "111111" : "000000";
	ck_assert_int_eq(auth_full(typed, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(events("mfa_skipped"), 0);
	/* the right code gets in once: both spellings share the replay guard */
	c.text = code;
	ck_assert_int_eq(auth_full(typed, &c, NULL, NULL, NULL, 0), PAM_SUCCESS);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 1);
	/* the events and the state name the account, never the spelling typed */
	snprintf(needle, sizeof(needle), "\"user\":\"%s\"", typed);
	ck_assert_int_eq(events_with(needle), 0);
	snprintf(needle, sizeof(needle), "\"user\":\"%s\"", user);
	ck_assert_int_eq(events_with(needle), 3);
	snprintf(p, sizeof(p), "%s/state/state/%s", dir, typed);
	ck_assert_int_ne(access(p, F_OK), 0);
}
END_TEST

/*
 * A missing state_dir or totp/ (a volume not mounted, a typo in state_dir)
 * fails closed, nullok or not; only a missing file of the user's is "not
 * enrolled".
 */
START_TEST(missing_store_folder_fails_closed)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	char p[4200], args[4400];

	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_remove(p, user), TG_OK);
	snprintf(args, sizeof(args), "nullok state_dir=%s/no-such-state", dir);
	service(args);
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1); /* asked all the same, and refused unread */
	ck_assert_int_eq(events("mfa_skipped"), 0);
	ck_assert_int_eq(events("mfa_failure"), 1);
	service("nullok");
	snprintf(p, sizeof(p), "%s/state/totp", dir);
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_skipped"), 0);
	/* the folder there and empty: nobody is enrolled, nullok lets the user in */
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(events("mfa_skipped"), 1);
}
END_TEST

/*
 * A user whose secret is unusable (a corrupt store entry; with secret=, a file others may read,
 * or a home folder that is not there) is denied whatever the answer, but asked for a code first,
 * as a user who is not enrolled or does not exist is: a denial before any question tells such a
 * user apart (an enrolled one, or an account that exists) to whoever tries names.
 */
START_TEST(unusable_secret_asked_like_everyone)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};
	char p[4200], args[4400], code[16];
	int fd;

	code_at(time(NULL), code);
	snprintf(p, sizeof(p), "%s/state/totp/%s", dir, user);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "junk", 4), 4);
	close(fd);
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	/* with secret=: no home folder (an account such as nobody's) */
	snprintf(args, sizeof(args), "nullok secret=%s/no-such-home/.google_authenticator", dir);
	service(args);
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	/* a file others may read, holding a good secret: the answer is never read */
	snprintf(p, sizeof(p), "%s/ga", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644), 0);
	ck_assert_int_eq(write(fd, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", 33), 33);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	close(fd);
	snprintf(args, sizeof(args), "secret=%s/ga try_first_pass", dir);
	service(args);
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	/* try_first_pass: a password ending in digits is asked about again, as for anyone */
	c.prompts = 0;
	ck_assert_int_eq(auth_full(user, &c, NULL, "secret123456", NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	/* each a failure for the unusable secret, not for the answer */
	ck_assert_int_eq(events_with("\"reason\":\"bad_state\""), 4);
	ck_assert_int_eq(events_with("\"reason\":\"bad_code\""), 0);
}
END_TEST

/*
 * A google-authenticator file holds the secret and the scratch codes in clear. The module keeps
 * what it parsed in locked memory, wiped after; the file's text itself must not stay in the
 * ordinary heap (swappable, in a core dump) while the user takes their time over the prompt.
 */
START_TEST(ga_file_text_not_kept_while_asking)
{
	static const char secret_b32[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char p[4200], args[4400], text[256];
	int fd, n;

	/* the needle is built here, not a literal that a scan of the heap could meet elsewhere */
	n = snprintf(text, sizeof(text), "%s\n\" TOTP_AUTH\n31415926\n", secret_b32);
	snprintf(p, sizeof(p), "%s/ga", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(write(fd, text, (size_t)n), n);
	close(fd);
	sodium_memzero(text, sizeof(text));
	snprintf(args, sizeof(args), "secret=%s/ga", dir);
	service(args);
	heap_needle = "\" TOTP_AUTH\n31415926";
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(heap_hits, 0);
	heap_needle = NULL;
}
END_TEST

/*
 * tollgate.conf also holds the uploader's secrets (the S3 secret key, the Slack webhook URL).
 * The module checks the whole file, but has no use for them: they must not stay in sshd's heap
 * while the user takes their time over the prompt.
 */
START_TEST(uploader_secrets_not_kept_while_asking)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char p[4200], text[256];
	FILE *f;
	int fd, n;

	/* not through stdio: its buffer, freed unwiped, would be found in the heap */
	snprintf(p, sizeof(p), "%s/tollgate.conf", dir);
	n = snprintf(text, sizeof(text),
	             "[s3]\nsecret_access_key = tg-s3-%s-secret\n[slack]\n"
	             "webhook_url = https://hooks.example/tg-%s-hook\n",
	             "wJalrXUtnFEMI", "T000B000XXXX");
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, text, (size_t)n), n);
	close(fd);
	sodium_memzero(text, sizeof(text));
	heap_needle = "tg-s3-wJalrXUtnFEMI-secret";
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(heap_hits, 0);
	heap_needle = "tg-T000B000XXXX-hook";
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_int_eq(heap_hits, 0);
	heap_needle = NULL;
	/* still checked: a malformed [s3] section fails closed, as before */
	ck_assert_ptr_nonnull(f = fopen(p, "a"));
	fprintf(f, "[s3]\nno_such_key = 1\n");
	fclose(f);
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 0);
}
END_TEST

/* A user name that is not UTF-8 still makes its event, the bad bytes replaced by U+FFFD. */
START_TEST(non_utf8_user_name_still_recorded)
{
	struct conv_state c = {ANSWER_TEXT, "123456", 0, ""};

	ck_assert_int_eq(auth_full("tg-\xff\xc3-x", &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_failure"), 1);
	ck_assert_int_eq(events_with("\"user\":\"tg-\xef\xbf\xbd\xef\xbf\xbd-x\""), 1);
}
END_TEST

/* Nor is a session's event lost to a tty name that is not UTF-8 (PAM_TTY is the caller's). */
START_TEST(non_utf8_tty_still_recorded)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;

	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_TTY, "/dev/tty\xff\xc3x");
	pam_open_session(pamh, 0);
	pam_close_session(pamh, 0);
	pam_end(pamh, PAM_SUCCESS);
	ck_assert_int_eq(events("login"), 1);
	ck_assert_int_eq(events("logout"), 1);
	ck_assert_int_eq(events_with("\"tty\":\"/dev/tty\xef\xbf\xbd\xef\xbf\xbdx\""), 2);
}
END_TEST

START_TEST(nullok_does_not_skip_enrolled)
{
	service("nullok");
	ck_assert_int_eq(auth_text("000000x"), PAM_AUTH_ERR);
}
END_TEST

START_TEST(exempt_group_skips)
{
	struct group *g = getgrgid(getegid());
	struct conv_state c = {ANSWER_TEXT, "000000x", 0, ""};
	char args[512];

	ck_assert_ptr_nonnull(g);
	snprintf(args, sizeof(args), "exempt_group=%s", g->gr_name);
	service(args);
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 0);
	ck_assert_int_eq(events("mfa_skipped"), 1);
	service("exempt_group=tg-no-such-group");
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
}
END_TEST

/* A member of a big group (its entry over 16 KiB) is a member all the same. */
START_TEST(exempt_group_with_many_members)
{
	struct conv_state c = {ANSWER_TEXT, "000000x", 0, ""};

	service("exempt_group=" BIG_GROUP);
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 0);
	ck_assert_int_eq(events("mfa_skipped"), 1);
}
END_TEST

/* A member of exempt_group who is in hundreds of groups is a member all the same. */
START_TEST(exempt_group_member_of_many_groups)
{
	struct group *g = getgrgid(getegid());
	struct conv_state c = {ANSWER_TEXT, "000000x", 0, ""};
	char args[512];

	ck_assert_ptr_nonnull(g);
	snprintf(args, sizeof(args), "exempt_group=%s", g->gr_name);
	service(args);
	many_groups = 1;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	many_groups = 0;
	ck_assert_int_eq(c.prompts, 0);
	ck_assert_int_eq(events("mfa_skipped"), 1);
}
END_TEST

START_TEST(broken_config_and_state_fail_closed)
{
	char p[4200], code[16];
	int fd;

	code_at(time(NULL), code);
	service("no_such_argument");
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	service("digits=99");
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	service("nullok config=/nonexistent/tollgate.conf");
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	service("nullok");
	/* a corrupt secret never becomes "not enrolled", even with nullok */
	snprintf(p, sizeof(p), "%s/state/totp/%s", dir, user);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "junk", 4), 4);
	close(fd);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_write(p, user, secret), TG_OK);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	/* a corrupt state file */
	snprintf(p, sizeof(p), "%s/state/state/%s", dir, user);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "junk\n", 5), 5);
	close(fd);
	code_at(time(NULL) + 30, code);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_ge(events("mfa_failure"), 2);
}
END_TEST

/*
 * A google-authenticator file with state_dir missing (a volume not mounted, a typo): the
 * replay guard, the used scratch codes and the limiter live there, so the login is denied,
 * as with the store; the folder is not made (on the file system below the mount point, with
 * an empty state).
 */
START_TEST(ga_file_with_missing_state_dir_fails_closed)
{
	struct tgp_totp t = {0};
	char p[4200], args[8600], code[16];
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP ga_file_with_missing_state_dir_fails_closed: needs root\n");
		return; /* the file must be the user's own: root's, as the test user is root */
	}
	t.alg = TGP_ALG_SHA1;
	t.digits = 6;
	t.step = 30;
	t.keylen = 20;
	memcpy(t.key, "12345678901234567890", 20);
	snprintf(p, sizeof(p), "%s/ga", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(write(fd, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", 33), 33);
	close(fd);
	snprintf(args, sizeof(args), "secret=%s/ga state_dir=%s/not-mounted/tollgate", dir, dir);
	service(args);
	ck_assert_int_eq(tgp_totp_generate(&t, time(NULL), code, sizeof(code)), TG_OK);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	snprintf(p, sizeof(p), "%s/not-mounted", dir);
	ck_assert_int_ne(stat(p, &st), 0);
	/* with the folder there, the same code is taken */
	snprintf(p, sizeof(p), "%s/not-mounted/tollgate", dir);
	ck_assert_int_eq(tg_mkdir_p(p, 0700), TG_OK);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
}
END_TEST

/*
 * Logins with different scratch codes of one google-authenticator file at once: each code is
 * removed from the file. A write-back of the file as read before the lock would put back the
 * codes the others removed (lost updates).
 */
START_TEST(ga_scratch_codes_at_once_all_removed)
{
	enum { N = 8 };
	char p[4200], args[4400], text[4096], codes[N][9];
	size_t pos;
	int fd, i, ok = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP ga_scratch_codes_at_once_all_removed: needs root\n");
		return; /* the file must be the user's own: root's, as the test user is root */
	}
	pos = (size_t)snprintf(text, sizeof(text),
	                       "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n");
	for (i = 0; i < N; i++) {
		snprintf(codes[i], sizeof(codes[i]), "%08d", 31415920 + i);
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "%s\n", codes[i]);
	}
	snprintf(p, sizeof(p), "%s/ga", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	ck_assert_int_eq(write(fd, text, pos), (ssize_t)pos);
	close(fd);
	snprintf(args, sizeof(args), "secret=%s", p);
	service(args);
	for (i = 0; i < N; i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(auth_text(codes[i]) == PAM_SUCCESS ? 0 : 1);
	}
	for (i = 0; i < N; i++) {
		int st;

		ck_assert_int_gt(wait(&st), 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	ck_assert_int_eq(ok, N);
	ck_assert_int_ge(fd = open(p, O_RDONLY), 0);
	ck_assert_int_gt(pos = (size_t)read(fd, text, sizeof(text) - 1), 0);
	close(fd);
	text[pos] = '\0';
	for (i = 0; i < N; i++)
		ck_assert_msg(strstr(text, codes[i]) == NULL,
		              "used scratch code %s back in the file", codes[i]);
	ck_assert_ptr_nonnull(strstr(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n"));
}
END_TEST

/* A google-authenticator file at path (mode 0600) with the test secret, DISALLOW_REUSE listing
 * step and TOTP_AUTH. */
static void write_ga_file(const char *path, uint64_t step)
{
	char *b32 = NULL;
	size_t b32len = 0;
	FILE *f;

	ck_assert_int_eq(oath_init(), OATH_OK);
	ck_assert_int_eq(
	    oath_base32_encode((const char *)secret->totp.key, secret->totp.keylen, &b32, &b32len),
	    OATH_OK);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s\n\" DISALLOW_REUSE %llu\n\" TOTP_AUTH\n", b32, (unsigned long long)step);
	fclose(f);
	free(b32);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/*
 * A google-authenticator file whose DISALLOW_REUSE lists a step ahead of the one a login here
 * takes (google-authenticator's module took the code of a phone running a little ahead, just
 * before the switch): that code stays refused after the login, which writes the file back.
 */
START_TEST(ga_later_listed_step_stays_used_after_a_login)
{
	uint64_t now_step = (uint64_t)time(NULL) / 30;
	char p[4200], args[4400], code[16], ahead[16];

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP ga_later_listed_step_stays_used_after_a_login: needs root\n");
		return; /* the file must be the user's own: root's, as the test user is root */
	}
	snprintf(p, sizeof(p), "%s/ga", dir);
	write_ga_file(p, now_step + 1);
	snprintf(args, sizeof(args), "secret=%s", p);
	service(args);
	code_at((time_t)(now_step * 30), code);
	code_at((time_t)((now_step + 1) * 30), ahead);
	ck_assert_int_eq(auth_text(ahead), PAM_AUTH_ERR); /* listed: refused */
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	ck_assert_int_eq(auth_text(ahead), PAM_AUTH_ERR); /* and still, after the write-back */
	ck_assert_int_eq(events("mfa_replay"), 2);
}
END_TEST

/*
 * Two names for one uid and home (root and toor) read the same google-authenticator file, but
 * would keep two replay guards and limiters, one under each name: a code taken as one name
 * would get in again as the other. The name the uid resolves to may use the file; the other
 * is refused (shared_uid), before any code is checked. A second name whose path leads to a
 * file of its own, or to none, is not concerned.
 */
START_TEST(ga_second_name_for_the_uid_refused)
{
	uint64_t now_step = (uint64_t)time(NULL) / 30;
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char p[4200], args[4400], code[16];

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP ga_second_name_for_the_uid_refused: needs root\n");
		return; /* the file must be the user's own: root's, as the test user is root */
	}
	snprintf(p, sizeof(p), "%s/ga", dir);
	write_ga_file(p, 0);
	snprintf(args, sizeof(args), "secret=%s", p);
	service(args);
	code_at((time_t)(now_step * 30), code);
	c.text = code;
	ck_assert_int_eq(auth_full(DUP_NAME, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(events_with("\"reason\":\"shared_uid\""), 1);
	/* the uid's own name gets in with that very code: the refusal recorded no step */
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	c.text = code;
	ck_assert_int_eq(auth_full(DUP_NAME, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(events_with("\"reason\":\"shared_uid\""), 2);
	/* a second name with a file of its own (${USER} in the path) is not concerned: its
	 * file, its guard */
	snprintf(p, sizeof(p), "%s/%s.ga", dir, DUP_NAME);
	write_ga_file(p, 0);
	snprintf(args, sizeof(args), "secret=%s/${USER}.ga", dir);
	service(args);
	c.text = code;
	ck_assert_int_eq(auth_full(DUP_NAME, &c, NULL, NULL, NULL, 0), PAM_SUCCESS);
	/* the same file under another path (a hard link: a second path to it, as an automount
	 * alias or a symlinked home gives) is the same file */
	unlink(p);
	snprintf(args, sizeof(args), "%s/%s.ga", dir, user);
	write_ga_file(args, 0);
	if (link(args, p) == 0) {
		snprintf(args, sizeof(args), "secret=%s/${USER}.ga", dir);
		service(args);
		c.text = code;
		ck_assert_int_eq(auth_full(DUP_NAME, &c, NULL, NULL, NULL, 0), PAM_AUTH_ERR);
		ck_assert_int_eq(events_with("\"reason\":\"shared_uid\""), 3);
	} else {
		int e = errno; /* a file system without hard links */

		fprintf(stderr, "SKIP ga_second_name_for_the_uid_refused, hard link part: %s\n",
		        strerror(e));
		ck_assert(e == EPERM || e == ENOTSUP || e == EOPNOTSUPP);
	}
	/* nor one without a file: not enrolled, which nullok lets in */
	snprintf(args, sizeof(args), "secret=%s/${USER}.none nullok", dir);
	service(args);
	c.text = code;
	ck_assert_int_eq(auth_full(DUP_NAME, &c, NULL, NULL, NULL, 0), PAM_SUCCESS);
}
END_TEST

/* The whole state file (the limiter's records), to see that a refusal changes nothing. */
static size_t state_bytes(char *out, size_t n)
{
	char p[4200];
	ssize_t got;
	int fd;

	snprintf(p, sizeof(p), "%s/state/state/%s", dir, user);
	ck_assert_int_ge(fd = open(p, O_RDONLY), 0);
	got = read(fd, out, n);
	close(fd);
	ck_assert_int_gt(got, 0);
	return (size_t)got;
}

START_TEST(rate_limit_and_refusals_do_not_extend)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	static char before[2 * 16384], after[2 * 16384];
	size_t nbefore, nafter;
	char code[16];
	int i;

	service("max_failures=3 lockout=3600");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c.text = "111111";
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c, "198.51.100.1", NULL, NULL, 0), PAM_AUTH_ERR);
	nbefore = state_bytes(before, sizeof(before));
	/* locked: even the right code is refused, and the refusals change nothing */
	c.text = code;
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(auth_full(user, &c, "198.51.100.1", NULL, NULL, 0), PAM_AUTH_ERR);
	nafter = state_bytes(after, sizeof(after));
	ck_assert_uint_eq(nbefore, nafter);
	ck_assert(memcmp(before, after, nbefore) == 0);
	ck_assert_int_ge(events("mfa_failure"), 8);
	/* another address is not locked */
	ck_assert_int_eq(auth_full(user, &c, "198.51.100.2", NULL, NULL, 0), PAM_SUCCESS);
}
END_TEST

/*
 * The clock ran ahead (a lockout recorded at the wrong time) and was set back: the lockout
 * must not last until the clock catches up (here 30 days), only one lockout period from now.
 */
START_TEST(clock_set_back_does_not_stretch_a_lockout)
{
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tgp_state st;
	char p[4200], code[16];
	time_t now = time(NULL);

	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_state_lock(p, user, &lock), TG_OK);
	ck_assert_int_eq(tgp_state_read(&lock, &st), TG_OK);
	st.user.locked_until = (int64_t)now + 30 * 86400;
	st.user.last = (int64_t)now + 30 * 86400 - 10;
	ck_assert_int_eq(tgp_state_write(&lock, &st, 1), TG_OK);
	tgp_state_unlock(&lock);
	service("lockout=2");
	code_at(time(NULL), code);
	/* still locked now (at most one lockout period) */
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	sleep(3);
	code_at(time(NULL), code);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
}
END_TEST

/* PAM_RHOST spelt another way is the same client: its failures add up. */
START_TEST(address_spellings_share_one_limit)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	const char *spellings[] = {"2001:db8::7", "2001:DB8::7", "2001:db8:0:0:0:0:0:7%eth0"};
	char code[16];
	int i;

	service("max_failures=3 max_failures_user=100 lockout=3600");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c.text = "111111";
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c, spellings[i], NULL, NULL, 0), PAM_AUTH_ERR);
	/* the good code, refused from that client however it is spelt; taken from another */
	c.text = code;
	ck_assert_int_eq(auth_full(user, &c, "2001:0db8::0007", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "192.0.2.9", NULL, NULL, 0), PAM_SUCCESS);
	/* an IPv4 client seen through an IPv4-mapped IPv6 socket is that IPv4 client */
	c.text = "00000000";
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c, i % 2 ? "::ffff:198.51.100.4" : "198.51.100.4",
		                           NULL, NULL, 0),
		                 PAM_AUTH_ERR);
	c.text = "12345678"; /* a good scratch code */
	ck_assert_int_eq(auth_full(user, &c, "::FFFF:198.51.100.4", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "192.0.2.10", NULL, NULL, 0), PAM_SUCCESS);
}
END_TEST

/*
 * An IPv4 client seen through NAT64 (64:ff9b::/96, the well-known prefix, RFC 6052) is that
 * IPv4 client: its failures add up with its own address's, and other IPv4 clients behind the
 * same translator (one /64) keep their own count.
 */
START_TEST(nat64_clients_are_their_ipv4_address)
{
	struct conv_state c = {ANSWER_TEXT, "00000000", 0, ""};
	int i;

	service("max_failures=3 max_failures_user=100 lockout=3600");
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c,
		                           i % 2 ? "198.51.100.4" : "64:ff9b::198.51.100.4", NULL,
		                           NULL, 0),
		                 PAM_AUTH_ERR);
	c.text = "12345678"; /* a good scratch code */
	ck_assert_int_eq(auth_full(user, &c, "64:FF9B::C633:6404", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "198.51.100.4", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "64:ff9b::198.51.100.5", NULL, NULL, 0), PAM_SUCCESS);
	/* the events name the client as it came */
	ck_assert_int_eq(events_with("\"client_addr\":\"64:ff9b::198.51.100.4\""), 2);
}
END_TEST

/* With UseDNS yes, PAM_RHOST is a name from the client's reverse DNS, which it can change between
 * attempts: the limiter counts sshd's numeric address from SSH_CONNECTION instead. */
/*
 * Three bad codes from sshd's address in conn under three host names (PAM_RHOST), with
 * max_failures=3, then the good code (into code, c's text then) under a fourth: refused, the
 * address is limited whatever the names.
 */
static void limit_under_names(struct conv_state *c, char code[16], const char *conn)
{
	char name[64];
	int i;

	service("max_failures=3 max_failures_user=100 lockout=3600");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c->text = "111111";
	ssh_connection = conn;
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "host%d.attacker.example", i);
		ck_assert_int_eq(auth_full(user, c, name, NULL, NULL, 0), PAM_AUTH_ERR);
	}
	c->text = code;
	ck_assert_int_eq(auth_full(user, c, "host9.attacker.example", NULL, NULL, 0), PAM_AUTH_ERR);
}

START_TEST(host_names_do_not_spread_the_limit)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char code[16];
	int i;

	/* the good code, refused from that address under yet another name */
	limit_under_names(&c, code, "198.51.100.20 50022 192.0.2.1 22");
	/* another address is another client, whatever its name */
	ssh_connection = "198.51.100.21 50022 192.0.2.1 22";
	ck_assert_int_eq(auth_full(user, &c, "host0.attacker.example", NULL, NULL, 0), PAM_SUCCESS);
	/* the events name the client by that address too, the name the client chose beside it */
	ck_assert_int_eq(events_with("\"client_addr\":\"198.51.100.20\""), 4);
	ck_assert_int_eq(events_with("\"client_addr\":\"host"), 0);
	ck_assert_int_eq(events_with("\"client_name\":\"host9.attacker.example\""), 1);
	/* no numeric address there (not sshd): PAM_RHOST, as before */
	ssh_connection = "not-an-address 1 2 3";
	c.text = "00000000";
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c, "192.0.2.50", NULL, NULL, 0), PAM_AUTH_ERR);
	c.text = "12345678"; /* a good scratch code */
	ck_assert_int_eq(auth_full(user, &c, "192.0.2.50", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "192.0.2.51", NULL, NULL, 0), PAM_SUCCESS);
	ck_assert_int_eq(events_with("\"client_addr\":\"192.0.2.50\",\"client_name\":null"), 4);
	ssh_connection = NULL;
}
END_TEST

/*
 * A link-local client: sshd writes its address with the zone (fe80::1%eth0, as getnameinfo gives
 * it). It is still sshd's numeric address: the limiter counts it, not the names PAM_RHOST gives
 * with UseDNS yes, and the events name it, zone and all; the same address on another link is
 * another client.
 */
START_TEST(link_local_clients_by_sshd_address)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char code[16];

	limit_under_names(&c, code, "fe80::1%eth0 50022 fe80::2%eth0 22");
	ck_assert_int_eq(events_with("\"client_addr\":\"fe80::1%eth0\""), 4);
	ck_assert_int_eq(events_with("\"client_name\":\"host9.attacker.example\""), 1);
	/* the same address on another link is another client */
	ssh_connection = "fe80::1%eth1 50022 fe80::2%eth1 22";
	ck_assert_int_eq(auth_full(user, &c, "host0.attacker.example", NULL, NULL, 0), PAM_SUCCESS);
	/* sshd may also give it without the zone */
	ssh_connection = "fe80::3 50022 fe80::2 22";
	c.text = "00000000";
	ck_assert_int_eq(auth_full(user, &c, "host1.attacker.example", NULL, NULL, 0),
	                 PAM_AUTH_ERR);
	ck_assert_int_eq(events_with("\"client_addr\":\"fe80::3\",\"client_name\":\"host1."), 1);
	/* a zone no interface name spells is not sshd's: PAM_RHOST, as for no address at all */
	ssh_connection = "fe80::1%a/b 50022 fe80::2 22";
	ck_assert_int_eq(auth_full(user, &c, "host2.attacker.example", NULL, NULL, 0),
	                 PAM_AUTH_ERR);
	ck_assert_int_eq(events_with("\"client_addr\":\"host2.attacker.example\""), 1);
	ssh_connection = NULL;
}
END_TEST

/* The login and logout events of a link-local client name sshd's address, with its zone. */
START_TEST(link_local_session_events)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char code[16];

	code_at(time(NULL), code);
	c.text = code;
	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_RHOST, "laptop.example");
	ck_assert_int_eq(pam_putenv(pamh, "SSH_CONNECTION=fe80::1:2%ens3 50022 fe80::9%ens3 22"),
	                 PAM_SUCCESS);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	ck_assert_int_eq(events_with("\"client_addr\":\"fe80::1:2%ens3\",\"client_name\":"
	                             "\"laptop.example\""),
	                 2);
	ck_assert_int_eq(events_with("\"client_port\":50022"), 2);
	ck_assert_int_eq(events_with("\"type\":\"logout\""), 1);
}
END_TEST

/* Every address of one IPv6 /64 is one client: a holder of a /64 gets one budget, not 2^64. */
START_TEST(ipv6_limited_per_network)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	const char *net[] = {"2001:db8:1:2::a", "2001:db8:1:2:ffff:ffff:ffff:ffff",
	                     "[2001:db8:1:2::c]"};
	char code[16];
	int i;

	service("max_failures=3 max_failures_user=100 lockout=3600");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c.text = "111111";
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(auth_full(user, &c, net[i], NULL, NULL, 0), PAM_AUTH_ERR);
	/* the good code, refused from anywhere in that /64; taken from the next one */
	c.text = code;
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:1:2:1234::1", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:1:3::a", NULL, NULL, 0), PAM_SUCCESS);
	/* only the limiter's key is the network: the events name each client's own address */
	ck_assert_int_eq(events_with("\"client_addr\":\"2001:db8:1:2::a\""), 1);
	ck_assert_int_eq(events_with("\"client_addr\":\"2001:db8:1:2:1234::1\""), 1);
	ck_assert_int_eq(events_with("/64"), 0);
}
END_TEST

/* ipv6_prefix: wider networks for providers that hand out /48s, 128 for per address. */
START_TEST(ipv6_prefix_option)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char code[16];
	int i;

	service("max_failures=2 max_failures_user=100 lockout=3600 ipv6_prefix=48");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c.text = "111111";
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:1:2::1", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:1:3::1", NULL, NULL, 0), PAM_AUTH_ERR);
	c.text = code;
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:1:ffff::1", NULL, NULL, 0), PAM_AUTH_ERR);
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:2::1", NULL, NULL, 0), PAM_SUCCESS);
	service("max_failures=2 max_failures_user=100 lockout=3600 ipv6_prefix=128");
	c.text = "00000000";
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(
		    auth_full(user, &c, i ? "2001:db8:5::2" : "2001:db8:5::1", NULL, NULL, 0),
		    PAM_AUTH_ERR);
	c.text = "12345678"; /* a good scratch code */
	ck_assert_int_eq(auth_full(user, &c, "2001:db8:5::3", NULL, NULL, 0), PAM_SUCCESS);
}
END_TEST

START_TEST(user_ceiling_across_addresses)
{
	struct conv_state c = {ANSWER_TEXT, "000000", 0, ""};
	char code[16], addr[64];
	int i;

	service("max_failures=100 max_failures_user=4 lockout=3600");
	code_at(time(NULL), code);
	if (strcmp(code, "000000") == 0)
		c.text = "111111";
	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i + 1);
		ck_assert_int_eq(auth_full(user, &c, addr, NULL, NULL, 0), PAM_AUTH_ERR);
	}
	c.text = code;
	ck_assert_int_eq(auth_full(user, &c, "203.0.113.99", NULL, NULL, 0), PAM_AUTH_ERR);
}
END_TEST

START_TEST(forward_pass_and_try_first_pass)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16], answer[64], tok[64], extra[256];

	service_passing_on("forward_pass");
	code_at(time(NULL), code);
	snprintf(answer, sizeof(answer), "hunter2%s", code);
	c.text = answer;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_str_eq(c.last_prompt, "Password & verification code: ");
	passed_on(tok, sizeof(tok));
	ck_assert_str_eq(tok, "hunter2");
	/* try_first_pass: the code is the tail of the authtok a module before us collected
	 * (pam_unix prompts and stores it whether or not the password is right) */
	snprintf(extra, sizeof(extra), "auth optional pam_unix.so nodelay\n");
	service_first("try_first_pass", extra);
	code_at(time(NULL) + 30, code);
	snprintf(answer, sizeof(answer), "pw%s", code);
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_str_eq(c.last_prompt, "Password: ");
	/* a password without a code at its end: we ask */
	c.text = "password";
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 2);
	ck_assert_str_eq(c.last_prompt, "Verification code: ");
}
END_TEST

/* try_first_pass with an authtok that is the code alone: taken, and not passed on as the next
 * module's password (it was, and a directory module would send it to its server). */
START_TEST(try_first_pass_code_alone_not_passed_on)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16], tok[64], extra[4400];

	/* pam_unix collects the authtok (the code), ours takes it, pam_exec shows what is
	 * passed on */
	snprintf(extra, sizeof(extra), "auth optional pam_unix.so nodelay\n");
	service_first_passing_on("try_first_pass", extra);
	code_at(time(NULL), code);
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	/* pam_exec found no password (it asks for its own when there is none): with the code
	 * passed on as one it asked nothing */
	ck_assert_int_eq(c.prompts, 2);
	passed_on(tok, sizeof(tok));
	ck_assert_str_eq(tok, code); /* its own answer */
}
END_TEST

/*
 * forward_pass and a user who skips MFA (exempt_group, nullok): the module after us takes the
 * password from us (use_first_pass), so it is asked for with the prompt everyone gets, and
 * handed on whole; it used to be neither asked nor handed on, and the next module refused
 * the very users let through.
 */
START_TEST(forward_pass_for_users_who_skip_mfa)
{
	struct group *g = getgrgid(getegid());
	struct conv_state c = {ANSWER_TEXT, "hunter2", 0, ""};
	char args[512], tok[64], p[4200];

	ck_assert_ptr_nonnull(g);
	snprintf(args, sizeof(args), "forward_pass exempt_group=%s", g->gr_name);
	service_passing_on(args);
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_str_eq(c.last_prompt, "Password & verification code: ");
	passed_on(tok, sizeof(tok));
	ck_assert_str_eq(tok, "hunter2");
	ck_assert_int_eq(events("mfa_skipped"), 1);
	/* nullok, a user not enrolled */
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_remove(p, user), TG_OK);
	service_passing_on("forward_pass nullok");
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_str_eq(c.last_prompt, "Password & verification code: ");
	passed_on(tok, sizeof(tok));
	ck_assert_str_eq(tok, "hunter2");
	/* a failing conversation lets nobody in */
	c.kind = ANSWER_FAIL_FILLED;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
}
END_TEST

/* A password that merely ends in digits is not a code: try_first_pass asks, and the code
 * typed then gets in (google-authenticator does the same). */
START_TEST(try_first_pass_password_ending_in_digits_then_asks)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16], wrong[16], password[64], p[4200];

	service_first("try_first_pass", "auth optional pam_unix.so nodelay\n");
	code_at(time(NULL), code);
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 500000) % 1000000);
	snprintf(password, sizeof(password), "hunter%s", wrong);
	c.text = password;
	then_answer = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_int_eq(c.prompts, 2);
	ck_assert_str_eq(c.last_prompt, "Verification code: ");
	ck_assert_int_eq(events("mfa_failure"), 0);
	/* a user who is not enrolled is asked the same way, and denied */
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_remove(p, user), TG_OK);
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 2);
}
END_TEST

/* try_first_pass: the password's digits checked and counted as a failure, then the right code
 * asked for: the owner's own logins do not add up to a lockout of the owner (3 logins with
 * max_failures_user=3 would lock at the third, its right code refused as rate_limited). */
START_TEST(try_first_pass_own_logins_do_not_lock_out)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	const char *answers[3] = {NULL, "12345678", "87654321"}; /* the code, then scratch codes */
	char code[16], wrong[16], password[64];
	int i;

	service_first("try_first_pass max_failures=100 max_failures_user=3 lockout=3600",
	              "auth optional pam_unix.so nodelay\n");
	code_at(time(NULL), code);
	answers[0] = code;
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 500000) % 1000000);
	snprintf(password, sizeof(password), "hunter%s", wrong);
	for (i = 0; i < 3; i++) {
		c.text = password;
		c.prompts = 0;
		then_answer = answers[i];
		ck_assert_msg(auth(&c) == PAM_SUCCESS, "login %d of the owner refused", i + 1);
		ck_assert_int_eq(c.prompts, 2);
	}
	ck_assert_int_eq(events("mfa_failure"), 0);
	/* a guesser's failures still count: both checks of each attempt, so the second
	 * attempt reaches the ceiling and it and the third are refused as rate_limited */
	then_answer = wrong;
	for (i = 0; i < 3; i++) {
		c.text = password;
		ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	}
	ck_assert_int_eq(events_with("\"reason\":\"bad_code\""), 1);
	ck_assert_int_eq(events_with("\"reason\":\"rate_limited\""), 2);
}
END_TEST

START_TEST(try_first_pass_own_prompt_takes_the_code_alone)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16], answer[64];

	/* with no password before us, we ask; the answer is the code alone, as without
	 * try_first_pass: a right code after other text is refused */
	service("try_first_pass");
	code_at(time(NULL), code);
	snprintf(answer, sizeof(answer), "abcXYZ%s", code);
	c.text = answer;
	c.prompts = 0;
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_int_eq(c.prompts, 1);
	ck_assert_str_eq(c.last_prompt, "Verification code: ");
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
}
END_TEST

START_TEST(prompt_and_digits_options)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	char code[16], p[4200];
	FILE *f;

	secret->totp.digits = 8;
	secret->totp.alg = TGP_ALG_SHA512;
	secret->totp.keylen = 64;
	randombytes_buf(secret->totp.key, 64);
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_write(p, user, secret), TG_OK);
	service("prompt=OTP:");
	code_at(time(NULL), code);
	c.text = code;
	ck_assert_int_eq(auth(&c), PAM_SUCCESS);
	ck_assert_str_eq(c.last_prompt, "OTP:");
	code_at(time(NULL) + 30, code);
	ck_assert_int_eq(auth_text(code + 2), PAM_AUTH_ERR); /* 6 of the 8 digits */
	/* from tollgate.conf, in quotes: the blank at its end is kept */
	snprintf(p, sizeof(p), "%s/tollgate.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "a")); /* its last section is [pam] */
	fprintf(f, "prompt = \"Code: \"\n");
	fclose(f);
	service("");
	c.prompts = 0;
	c.text = "00000000";
	ck_assert_int_eq(auth(&c), PAM_AUTH_ERR);
	ck_assert_str_eq(c.last_prompt, "Code: ");
}
END_TEST

START_TEST(session_events_and_id)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char code[16], needle[64];
	const char *id;
	size_t i;

	code_at(time(NULL), code);
	c.text = code;
	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_RHOST, "192.0.2.9");
	pam_set_item(pamh, PAM_TTY, "/dev/pts/9");
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(id = pam_getenv(pamh, "TOLLGATE_SESSION_ID"));
	ck_assert_uint_eq(strlen(id), 32);
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", id[i]) != NULL);
	snprintf(needle, sizeof(needle), "\"session_id\":\"%s\"", id);
	/* a module after ours (pam_env with user_readenv=1 reads ~/.pam_environment) may set
	 * the variable to another session's id: the logout stays this session's */
	ck_assert_int_eq(pam_putenv(pamh, "TOLLGATE_SESSION_ID=0123456789abcdef0123456789abcdef"),
	                 PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	ck_assert_int_eq(events("login"), 1);
	ck_assert_int_eq(events("logout"), 1);
	ck_assert_int_eq(events_with(needle), 2);
	ck_assert_int_eq(events_with("0123456789abcdef0123456789abcdef"), 0);
}
END_TEST

/* A session opened in a process where no auth ran (sshd), TOLLGATE_MFA_METHOD as the user set
 * it: the events' mfa_method. */
static void session_as_with_method_env(const char *who, const char *method)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char env[64];

	snprintf(env, sizeof(env), "TOLLGATE_MFA_METHOD=%s", method);
	pamh = start_handle("svc", who, &pc);
	ck_assert_int_eq(pam_putenv(pamh, env), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
}

static void session_with_method_env(const char *method)
{
	session_as_with_method_env(user, method);
}

/*
 * sshd: the auth step in a process of its own (keyboard-interactive runs pam_authenticate in
 * a child), whose PAM environment the session's process imports, then extra (may be NULL) put
 * on top, as pam_env.so user_readenv=1 does from ~/.pam_environment. The session opens under
 * service svc_session (a file like "svc"). 1 when TOLLGATE_MFA_TOKEN was still in the PAM
 * environment after open_session (the user's session would get it).
 */
static int session_after_auth_elsewhere(const char *code, const char *svc_session,
                                        const char *extra)
{
	struct conv_state c = {ANSWER_TEXT, code, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char confdir[4200], from[4300], to[4300], cmd[8800], **env;
	int i, left;

	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	snprintf(from, sizeof(from), "%s/svc", confdir);
	snprintf(to, sizeof(to), "%s/%s", confdir, svc_session);
	if (strcmp(svc_session, "svc") != 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
		ck_assert_int_eq(system(cmd), 0);
	}
	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	if (ssh_connection != NULL) {
		snprintf(cmd, sizeof(cmd), "SSH_CONNECTION=%s", ssh_connection);
		ck_assert_int_eq(pam_putenv(pamh, cmd), PAM_SUCCESS);
	}
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(env = pam_getenvlist(pamh));
	pam_end(pamh, PAM_SUCCESS); /* its PAM data (pam_set_data) dies with it */
	pamh = NULL;
	pamh = start_handle(svc_session, user, &pc);
	for (i = 0; env[i] != NULL; i++) {
		ck_assert_int_eq(pam_putenv(pamh, env[i]), PAM_SUCCESS);
		free(env[i]);
	}
	free(env);
	/* sshd establishes credentials before it opens the session */
	ck_assert_int_eq(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	if (extra != NULL)
		ck_assert_int_eq(pam_putenv(pamh, extra), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	left = pam_getenv(pamh, "TOLLGATE_MFA_TOKEN") != NULL;
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	return left;
}

/* The user can set TOLLGATE_MFA_METHOD (pam_env.so user_readenv=1 reads ~/.pam_environment):
 * the session believes only what its own login's auth step handed it. */
START_TEST(session_method_believed_only_where_root_agrees)
{
	char code[16];

	session_with_method_env("totp");   /* no code was accepted */
	session_with_method_env("exempt"); /* no exempt_group */
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"exempt\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 4);
	/* a code accepted just before, for another login: a login that ran no MFA step
	 * (publickey only) claiming it is not believed */
	code_at(time(NULL), code);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	session_with_method_env("totp");
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 6);
	/* the code of this login's own auth step, run in another process (sshd): believed, and
	 * what it handed over does not reach the user's session */
	code_at(time(NULL) + 30, code);
	ck_assert_int_eq(session_after_auth_elsewhere(code, "svc", NULL), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 2);
	/* nor can another service's auth step (sudo with no session line hands its PAM
	 * environment to the command) vouch for a login here */
	ck_assert_int_eq(session_after_auth_elsewhere("87654321", "svc-other", NULL), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"scratch\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 8);
	/* the user's ~/.pam_environment over it: not believed either */
	ck_assert_int_eq(
	    session_after_auth_elsewhere("12345678", "svc",
	                                 "TOLLGATE_MFA_TOKEN=0123456789abcdef0123456789abcdef"),
	    0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"scratch\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 10);
	/* a login whose auth did not run this module (publickey only, su with no auth line) did
	 * not pass MFA, however recently another login of the user did */
	session_with_method_env("none");
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 2);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 12);
}
END_TEST

/* An auth step on its own handle (sshd's keyboard-interactive child): the PAM environment it
 * hands on, for the session's process. */
static char **auth_env(const char *code)
{
	struct conv_state c = {ANSWER_TEXT, code, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char **env;

	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(env = pam_getenvlist(pamh));
	pam_end(pamh, PAM_SUCCESS);
	return env;
}

static void env_free(char **env)
{
	int i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* A session opened and closed on a fresh handle whose PAM environment holds env, as a login
 * that found it there (its own auth step's, or a user's ~/.pam_environment); it must open. */
static void session_with_env(char *const *env)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	int i;

	pamh = start_handle("svc", user, &pc);
	for (i = 0; env[i] != NULL; i++)
		ck_assert_int_eq(pam_putenv(pamh, env[i]), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
}

/* A token that reached the user (a session stack that skips our line) and comes back through
 * ~/.pam_environment on another login: the session open that took it once was the last. */
START_TEST(session_token_single_use)
{
	char code[16], **env;

	code_at(time(NULL), code);
	env = auth_env(code);
	session_with_env(env);
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 2);
	session_with_env(env);
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 2);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 2);
	env_free(env);
}
END_TEST

/*
 * Run run(arg) in n children released at once (a pipe they all wait on), and wait for them all:
 * exits[0] of them exited 0, exits[1] exited 1, exits[2] otherwise.
 */
static void at_once(int n, int (*run)(const void *), const void *arg, int exits[3])
{
	int gate[2], i, st;

	exits[0] = exits[1] = exits[2] = 0;
	ck_assert_int_eq(pipe(gate), 0);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char b;

			close(gate[1]);
			if (read(gate[0], &b, 1) < 0)
				_exit(3);
			_exit(run(arg));
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(wait(&st), 0);
		ck_assert(WIFEXITED(st));
		exits[WEXITSTATUS(st) <= 1 ? WEXITSTATUS(st) : 2]++;
	}
}

static int open_session_with(const void *env)
{
	session_with_env((char *const *)env);
	return 0;
}

static int auth_code_exit(const void *code)
{
	return auth_text(code) == PAM_SUCCESS ? 0 : 1;
}

/* Sessions that open at once with one token: one reads totp. */
START_TEST(session_token_claimed_once_at_once)
{
	enum { N = 8 };
	char code[16], **env;
	int exits[3];

	code_at(time(NULL), code);
	env = auth_env(code);
	at_once(N, open_session_with, env, exits);
	ck_assert_int_eq(exits[0], N);
	env_free(env);
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 2);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 2 * (N - 1));
}
END_TEST

/* The state cannot take the claim (a file-size limit refuses the write into its second slot):
 * the claim is not believed, and the session opens all the same. */
START_TEST(session_token_not_believed_when_state_unwritable)
{
	struct rlimit was, small;
	char code[16], **env;

	code_at(time(NULL), code);
	env = auth_env(code); /* the state's first write: slot 0 */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = TGP_STATE_SLOT / 2; /* event files fit, the state's slot 1 does not */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	session_with_env(env);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, SIG_DFL);
	ck_assert_int_eq(events_with("\"mfa_method\":\"totp\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 2);
	env_free(env);
}
END_TEST

/* The state is unreadable by the time the session opens (both slots damaged): the claim is not
 * believed, and the warning says why (it said the state does not keep the token). */
START_TEST(session_says_why_state_unreadable)
{
	char code[16], **env, p[4200], junk[2 * TGP_STATE_SLOT];
	FILE *f;

	code_at(time(NULL), code);
	env = auth_env(code);
	snprintf(p, sizeof(p), "%s/state/state/%s", dir, user);
	memset(junk, 'x', sizeof(junk));
	ck_assert_ptr_nonnull(f = fopen(p, "r+"));
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	ck_assert_int_eq(fclose(f), 0);
	log_lines[0] = '\0';
	session_with_env(env);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 2);
	ck_assert_ptr_nonnull(strstr(log_lines, "cannot be read"));
	env_free(env);
}
END_TEST

/*
 * sshd puts SSH_CONNECTION into the PAM environment before any module runs; pam_env.so with
 * user_readenv=1, before our session line, lets the user change it: the events name the client
 * and port sshd gave, not the user's.
 */
START_TEST(session_client_as_sshd_gave_it)
{
	char code[16];

	ssh_connection = "198.51.100.20 50022 192.0.2.1 22";
	code_at(time(NULL), code);
	ck_assert_int_eq(session_after_auth_elsewhere(
	                     code, "svc", "SSH_CONNECTION=203.0.113.66 4242 192.0.2.1 22"),
	                 0);
	ssh_connection = NULL;
	ck_assert_int_eq(events("login"), 1);
	ck_assert_int_eq(events_with("\"client_addr\":\"198.51.100.20\""), 2);
	ck_assert_int_eq(events_with("\"client_port\":50022"), 2);
	ck_assert_int_eq(events_with("203.0.113.66"), 0);
	ck_assert_int_eq(events_with("\"client_port\":4242"), 0);
}
END_TEST

/* nullok only ever lets in a user with no secret: an enrolled user's claim of it (their own
 * ~/.pam_environment) is not believed, or a login without MFA would pass for a rollout's. */
START_TEST(session_nullok_believed_only_for_users_with_no_secret)
{
	char p[4200];

	service("nullok");
	session_with_method_env("nullok"); /* enrolled (setup) */
	ck_assert_int_eq(events_with("\"mfa_method\":\"nullok\""), 0);
	ck_assert_int_eq(events_with("\"mfa_method\":\"none\""), 2);
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_store_remove(p, user), TG_OK);
	session_with_method_env("nullok");
	ck_assert_int_eq(events_with("\"mfa_method\":\"nullok\""), 2);
}
END_TEST

START_TEST(session_event_fields)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	char code[16], p[4500];
	struct dirent *e;
	json_t *ev;
	DIR *d;
	int seen = 0;

	code_at(time(NULL), code);
	c.text = code;
	pamh = start_handle("svc", user, &pc);
	pam_set_item(pamh, PAM_RHOST, "192.0.2.9");
	pam_set_item(pamh, PAM_TTY, "/dev/pts/9");
	ck_assert_int_eq(pam_putenv(pamh, "SSH_CONNECTION=192.0.2.9 50022 192.0.2.1 22"),
	                 PAM_SUCCESS);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	snprintf(p, sizeof(p), "%s/spool/events", dir);
	ck_assert_ptr_nonnull(d = opendir(p));
	while ((e = readdir(d)) != NULL) {
		char f[4800];

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
		ck_assert_int_eq(tg_event_read(f, &ev), TG_OK);
		if (strcmp(json_string_value(json_object_get(ev, "type")), "login") == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(ev, "user")), user);
			ck_assert_str_eq(json_string_value(json_object_get(ev, "client_addr")),
			                 "192.0.2.9");
			ck_assert_int_eq(json_integer_value(json_object_get(ev, "client_port")),
			                 50022);
			ck_assert_str_eq(json_string_value(json_object_get(ev, "host")),
			                 "testhost");
			ck_assert_str_eq(json_string_value(json_object_get(ev, "tty")),
			                 "/dev/pts/9");
			ck_assert_str_eq(json_string_value(json_object_get(ev, "service")), "svc");
			ck_assert_str_eq(json_string_value(json_object_get(ev, "mfa_method")),
			                 "totp");
			ck_assert_int_eq(json_integer_value(json_object_get(ev, "pid")), getpid());
			ck_assert_uint_eq(
			    strlen(json_string_value(json_object_get(ev, "session_id"))), 32);
			/* no code anywhere in the event */
			{
				char *text = json_dumps(ev, 0);

				ck_assert_ptr_null(strstr(text, code));
				free(text);
			}
			seen++;
		}
		json_decref(ev);
	}
	closedir(d);
	ck_assert_int_eq(seen, 1);
}
END_TEST

/*
 * The client's port is sshd's only beside sshd's address: where SSH_CONNECTION's first field is
 * no address (the event names PAM_RHOST instead), or its second is no port, the port is null,
 * not a number read out of whatever stands there.
 */
START_TEST(session_port_only_beside_sshd_address)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	char env[400], longaddr[200];
	const char *conn[] = {"not-an-address 4242 192.0.2.1 22", "192.0.2.9 4243x 192.0.2.1 22",
	                      "192.0.2.9 70000 192.0.2.1 22",     "192.0.2.9 -4244 192.0.2.1 22",
	                      "192.0.2.9 +4245 192.0.2.1 22",     longaddr};
	unsigned i;

	memset(longaddr, 'a', 127);
	snprintf(longaddr + 127, sizeof(longaddr) - 127, "4246 5 192.0.2.1 22");
	for (i = 0; i < sizeof(conn) / sizeof(conn[0]); i++) {
		pam_handle_t *pamh = NULL;

		pamh = start_handle("svc", user, &pc);
		pam_set_item(pamh, PAM_RHOST, "rhost.example");
		snprintf(env, sizeof(env), "SSH_CONNECTION=%s", conn[i]);
		ck_assert_int_eq(pam_putenv(pamh, env), PAM_SUCCESS);
		ck_assert_int_eq(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
		ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
		ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
		pam_end(pamh, PAM_SUCCESS);
	}
	ck_assert_int_eq(events_with("\"client_port\":4"), 0);
	ck_assert_int_eq(events_with("\"client_port\":null"), 2 * (int)i);
	ck_assert_int_eq(events_with("\"client_addr\":\"rhost.example\""), 4);
}
END_TEST

/*
 * Outside sshd (su, sudo with a session line) SSH_CONNECTION is only in the process's
 * environment, which the user who runs su sets: the event's client port is not taken from it.
 */
START_TEST(session_port_not_from_the_process_environment)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;

	ck_assert_int_eq(setenv("SSH_CONNECTION", "203.0.113.66 4242 192.0.2.1 22", 1), 0);
	pamh = start_handle("svc", user, &pc);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
	unsetenv("SSH_CONNECTION");
	ck_assert_int_eq(events_with("\"client_port\":4242"), 0);
	ck_assert_int_eq(events_with("\"client_port\":null"), 2);
}
END_TEST

/*
 * A replay guard written by a version that kept no step size counts in the enrollment's step
 * size, as at login: importing a google-authenticator file whose DISALLOW_REUSE lists an older
 * step must not lower it, or the code of the step taken last would get in again.
 */
START_TEST(import_does_not_lower_an_older_replay_guard)
{
	struct tgp_lock lock = TGP_LOCK_VOID;
	struct tgp_state st;
	uint64_t now_step = (uint64_t)time(NULL) / 30;
	char p[4200], ga[4300], cmd[9000], code[16];

	if (geteuid() != 0)
		return; /* tollgate-enroll writes root's store */
	snprintf(p, sizeof(p), "%s/state", dir);
	ck_assert_int_eq(tgp_state_lock(p, user, &lock), TG_OK);
	ck_assert_int_eq(tgp_state_read(&lock, &st), TG_OK);
	st.last_step = now_step;
	st.step_size = 0; /* as such a version wrote it */
	ck_assert_int_eq(tgp_state_write(&lock, &st, 1), TG_OK);
	tgp_state_unlock(&lock);
	snprintf(ga, sizeof(ga), "%s/ga", dir);
	write_ga_file(ga, now_step - 3);
	snprintf(cmd, sizeof(cmd),
	         "%s/pam_module/tollgate-enroll -c %s/tollgate.conf --user %s "
	         "--import-google-authenticator %s --force > /dev/null",
	         getenv("TG_TOP_BUILDDIR"), dir, user, ga);
	ck_assert_int_eq(system(cmd), 0);
	code_at((time_t)(now_step * 30), code);
	ck_assert_int_eq(auth_text(code), PAM_AUTH_ERR);
	ck_assert_int_eq(events("mfa_replay"), 1);
}
END_TEST

/* The wall clock stepped (NTP) while the session was open: its duration is the time it lasted. */
START_TEST(session_duration_ignores_a_clock_step)
{
	struct conv_state c = {ANSWER_TEXT, NULL, 0, ""};
	struct pam_conv pc = {conv, &c};
	pam_handle_t *pamh = NULL;
	const int64_t steps[] = {3600 * 1000000LL, -3600 * 1000000LL};
	char p[4500];
	struct dirent *e;
	json_t *ev;
	DIR *d;
	size_t i;
	int seen = 0;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		pamh = start_handle("svc", user, &pc);
		clock_shift_us = 0;
		ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
		usleep(20 * 1000);
		clock_shift_us = steps[i];
		ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
		clock_shift_us = 0;
		pam_end(pamh, PAM_SUCCESS);
	}
	snprintf(p, sizeof(p), "%s/spool/events", dir);
	ck_assert_ptr_nonnull(d = opendir(p));
	while ((e = readdir(d)) != NULL) {
		char f[4800];
		json_int_t us;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
		ck_assert_int_eq(tg_event_read(f, &ev), TG_OK);
		if (strcmp(json_string_value(json_object_get(ev, "type")), "logout") == 0) {
			us = json_integer_value(json_object_get(ev, "duration_us"));
			ck_assert_msg(us >= 20 * 1000 && us < 10 * 1000000,
			              "a 20 ms session lasted %lld us by the logout event",
			              (long long)us);
			seen++;
		}
		json_decref(ev);
	}
	closedir(d);
	ck_assert_int_eq(seen, 2);
}
END_TEST

/* events/ swapped for a symlink by its owner, the audit user: root writes nothing through it. */
START_TEST(symlinked_events_folder_not_followed)
{
	char evdir[4200], target[4200], code[16];
	struct dirent *e;
	DIR *d;

	snprintf(evdir, sizeof(evdir), "%s/spool/events", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(mkdir(target, 0755), 0);
	ck_assert_int_eq(rmdir(evdir), 0);
	ck_assert_int_eq(symlink(target, evdir), 0);
	/* the failure's event is not written; the outcomes are what they were */
	ck_assert_int_eq(auth_text("x"), PAM_AUTH_ERR);
	code_at(time(NULL), code);
	ck_assert_int_eq(auth_text(code), PAM_SUCCESS);
	ck_assert_ptr_nonnull(d = opendir(target));
	while ((e = readdir(d)) != NULL)
		ck_assert_msg(e->d_name[0] == '.', "%s written through the symlink", e->d_name);
	closedir(d);
}
END_TEST

/* 16 processes present the same valid code at the same instant: exactly one gets in. */
START_TEST(sixteen_at_once_one_succeeds)
{
	enum { N = 16 };
	char code[16];
	int exits[3], round;

	for (round = 0; round < 3; round++) {
		char p[4200];

		/* a fresh replay guard each round, a code far from any used step */
		snprintf(p, sizeof(p), "%s/state/state/%s", dir, user);
		unlink(p);
		code_at(time(NULL), code);
		at_once(N, auth_code_exit, code, exits);
		ck_assert_int_eq(exits[0], 1);
		ck_assert_int_eq(exits[1], N - 1);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam module");
	TCase *tc = tcase_create("black box");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, good_code_then_replay);
	tcase_add_test(tc, step_size_change_keeps_the_guard_in_time);
	tcase_add_test(tc, bad_inputs_denied);
	tcase_add_test(tc, good_code_after_nul_is_its_code);
	tcase_add_test(tc, scratch_codes_single_use);
	tcase_add_test(tc, not_enrolled_prompted_and_denied);
	tcase_add_test(tc, unstorable_name_is_not_enrolled);
	tcase_add_test(tc, long_user_name_still_an_event);
	tcase_add_test(tc, user_name_cannot_forge_log_fields);
	tcase_add_test(tc, other_case_is_the_same_account);
	tcase_add_test(tc, missing_store_folder_fails_closed);
	tcase_add_test(tc, unusable_secret_asked_like_everyone);
	tcase_add_test(tc, ga_file_text_not_kept_while_asking);
	tcase_add_test(tc, uploader_secrets_not_kept_while_asking);
	tcase_add_test(tc, ga_file_with_missing_state_dir_fails_closed);
	tcase_add_test(tc, ga_scratch_codes_at_once_all_removed);
	tcase_add_test(tc, ga_later_listed_step_stays_used_after_a_login);
	tcase_add_test(tc, non_utf8_user_name_still_recorded);
	tcase_add_test(tc, non_utf8_tty_still_recorded);
	tcase_add_test(tc, nullok_does_not_skip_enrolled);
	tcase_add_test(tc, exempt_group_skips);
	tcase_add_test(tc, exempt_group_with_many_members);
	tcase_add_test(tc, exempt_group_member_of_many_groups);
	tcase_add_test(tc, broken_config_and_state_fail_closed);
	tcase_add_test(tc, rate_limit_and_refusals_do_not_extend);
	tcase_add_test(tc, clock_set_back_does_not_stretch_a_lockout);
	tcase_add_test(tc, address_spellings_share_one_limit);
	tcase_add_test(tc, host_names_do_not_spread_the_limit);
	tcase_add_test(tc, link_local_clients_by_sshd_address);
	tcase_add_test(tc, link_local_session_events);
	tcase_add_test(tc, nat64_clients_are_their_ipv4_address);
	tcase_add_test(tc, user_ceiling_across_addresses);
	tcase_add_test(tc, ipv6_limited_per_network);
	tcase_add_test(tc, ipv6_prefix_option);
	tcase_add_test(tc, forward_pass_and_try_first_pass);
	tcase_add_test(tc, try_first_pass_code_alone_not_passed_on);
	tcase_add_test(tc, forward_pass_for_users_who_skip_mfa);
	tcase_add_test(tc, try_first_pass_password_ending_in_digits_then_asks);
	tcase_add_test(tc, try_first_pass_own_prompt_takes_the_code_alone);
	tcase_add_test(tc, try_first_pass_own_logins_do_not_lock_out);
	tcase_add_test(tc, ga_second_name_for_the_uid_refused);
	tcase_add_test(tc, prompt_and_digits_options);
	tcase_add_test(tc, session_events_and_id);
	tcase_add_test(tc, session_method_believed_only_where_root_agrees);
	tcase_add_test(tc, session_token_single_use);
	tcase_add_test(tc, session_token_claimed_once_at_once);
	tcase_add_test(tc, session_token_not_believed_when_state_unwritable);
	tcase_add_test(tc, session_says_why_state_unreadable);
	tcase_add_test(tc, session_nullok_believed_only_for_users_with_no_secret);
	tcase_add_test(tc, session_client_as_sshd_gave_it);
	tcase_add_test(tc, session_event_fields);
	tcase_add_test(tc, session_port_only_beside_sshd_address);
	tcase_add_test(tc, session_port_not_from_the_process_environment);
	tcase_add_test(tc, import_does_not_lower_an_older_replay_guard);
	tcase_add_test(tc, session_duration_ignores_a_clock_step);
	tcase_add_test(tc, symlinked_events_folder_not_followed);
	tcase_add_test(tc, sixteen_at_once_one_succeeds);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
