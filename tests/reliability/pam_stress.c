/*
 * pam_stress: put pam_tollgate.so under load through the real libpam, with a
 * private service folder (pam_start_confdir), for tests/reliability/pam-*.sh.
 *
 *   pam_stress random [-n N] [-S SEED] [-R EVERY -D STATEFILE] [-x EXCLUDE]
 *                     [-E EVENTS] [-P MODULE] [-T TIME]
 *                     -k SECRET_B32 [-a ALG] [-d DIGITS] [-t STEP] [-w WINDOW]
 *                     CONFDIR SERVICE USER
 *     N authentications, one after the other, each answered with a random
 *     response that must not be a valid code: a TOTP code of any step within
 *     WINDOW + 1 steps of now (computed here with liboath from SECRET_B32) and
 *     the lines of EXCLUDE (the scratch codes) are drawn again. Every EVERY
 *     attempts STATEFILE is removed, so that the rate limiter never refuses a
 *     response unread. With -E EVENTS (the spool's events/ folder) the
 *     module's events are read and removed as they come: each attempt must
 *     leave one mfa_failure whose reason fits the response (no_code for no
 *     answer, conversation_failed for a conversation error, bad_code for the
 *     rest; never rate_limited or bad_state). Prints the counts; exit 0 when
 *     every response was denied (and the events fit), 1 when one got in
 *     (printed in hex) or they did not fit, 2 on a usage or setup error.
 *     -P MODULE keeps the module loaded across the attempts (libpam would
 *     dlopen and dlclose it for each): much faster under valgrind, and a leak
 *     in the module still has its symbols when valgrind reports it.
 *     -T TIME only prints the code taken as the valid one at TIME (Unix
 *     seconds), so that a script can check it against oathtool.
 *
 *   pam_stress race [-n N] [-r] CONFDIR SERVICE USER CODE
 *     N processes each start a PAM handle, then wait together on a pipe and
 *     call pam_authenticate with CODE at the same instant. Prints
 *     "succeeded=K of N"; exit 0 when K is exactly 1, 1 otherwise. -r gives
 *     each process its own client address (192.0.2.<i+1>).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <liboath/oath.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESPONSE (64 * 1024)

/* ---------- shared ---------- */

enum answer_kind { ANSWER_TEXT, ANSWER_NULL, ANSWER_CONV_ERR };

struct conv_data {
	enum answer_kind kind;
	const char *text;
	unsigned long prompts; /* echo-off prompts seen */
};

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct conv_data *d = data;
	struct pam_response *r;
	int i;

	if (d->kind == ANSWER_CONV_ERR) {
		for (i = 0; i < num; i++)
			if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
				d->prompts++;
		return PAM_CONV_ERR;
	}
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		d->prompts++;
		if (d->kind == ANSWER_TEXT && (r[i].resp = strdup(d->text)) == NULL) {
			while (i-- > 0)
				free(r[i].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static int start(const char *confdir, const char *service, const char *user, const char *rhost,
                 struct pam_conv *pc, pam_handle_t **pamh)
{
	int rc;

	*pamh = NULL;
	if ((rc = pam_start_confdir(service, user, pc, confdir, pamh)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %d\n", rc);
		return -1;
	}
	if (pam_set_item(*pamh, PAM_RHOST, rhost) != PAM_SUCCESS ||
	    pam_set_item(*pamh, PAM_TTY, "ssh") != PAM_SUCCESS ||
	    pam_set_item(*pamh, PAM_FAIL_DELAY, (const void *)no_delay) != PAM_SUCCESS) {
		fprintf(stderr, "pam_set_item failed\n");
		pam_end(*pamh, PAM_SYSTEM_ERR);
		return -1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: pam_stress random [-n N] [-S SEED] [-R EVERY -D STATEFILE] "
	        "[-x EXCLUDE] [-E EVENTS] [-P MODULE] [-T TIME] -k SECRET_B32 [-a ALG] [-d DIGITS] "
	        "[-t STEP] [-w WINDOW] "
	        "CONFDIR SERVICE USER\n"
	        "       pam_stress race [-n N] [-r] CONFDIR SERVICE USER CODE\n");
}

/* ---------- random ---------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, and the seed reproduces a run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct valid {
	char *key;
	size_t keylen;
	int flags;
	unsigned digits, step, window;
	time_t cached_at;
	char codes[32][16]; /* TOTP codes within window + 1 steps of now */
	unsigned ncodes;
	char **excluded; /* scratch codes */
	unsigned nexcluded;
};

static int refresh_codes(struct valid *v, time_t now)
{
	long k, w = (long)v->window + 1;

	if (now == v->cached_at)
		return 0;
	v->ncodes = 0;
	for (k = -w; k <= w && v->ncodes < 32; k++) {
		if (oath_totp_generate2(v->key, v->keylen, now + k * (long)v->step, v->step, 0,
		                        v->digits, v->flags, v->codes[v->ncodes]) != OATH_OK) {
			fprintf(stderr, "oath_totp_generate2 failed\n");
			return -1;
		}
		v->ncodes++;
	}
	v->cached_at = now;
	return 0;
}

static int is_valid(struct valid *v, const char *s)
{
	unsigned i;

	for (i = 0; i < v->ncodes; i++)
		if (strcmp(s, v->codes[i]) == 0)
			return 1;
	for (i = 0; i < v->nexcluded; i++)
		if (strcmp(s, v->excluded[i]) == 0)
			return 1;
	return 0;
}

static size_t put_digits(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)('0' + below(10));
	return n;
}

static const char *const kind_names[] = {
    "empty",
    "digits of a wrong length",
    "wrong codes of the right length",
    "printable ASCII",
    "random binary (no NUL)",
    "non-ASCII / non-UTF-8 digit look-alikes",
    "whitespace around or inside a valid code",
    "a valid code cut, extended or signed",
    "very long (201 bytes to 64 KiB)",
    "format strings and escapes",
    "no answer (NULL)",
    "conversation error",
};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

/* A response of kind k into buf (NUL-terminated). */
static void make_response(struct valid *v, unsigned k, char *buf)
{
	static const char *const lookalike[] = {
	    "\xef\xbc\x90", "\xef\xbc\x95", "\xef\xbc\x99",         /* fullwidth 0 5 9 */
	    "\xd9\xa0",     "\xd9\xa3",     "\xdb\xb7",             /* Arabic-Indic digits */
	    "\xe0\xa5\xa6", "\xe0\xa5\xa8",                         /* Devanagari digits */
	    "\xc0\xb0",     "\xc0\xb1",     "\xe0\x80\xb5",         /* overlong '0' '1' '5' */
	    "\xff",         "\xfe",         "\x80",         "\xc3", /* invalid, truncated */
	};
	static const char *const ws[] = {" ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\xc2\xa0"};
	static const char *const fmt[] = {
	    "%s%s%s%s",
	    "%n%n%n%n",
	    "%x%x%x%x",
	    "%99999999s",
	    "%p",
	    "${USER}",
	    "~",
	    "../../../../etc/shadow",
	    "\x1b[2J\x1b[H",
	    "'; DROP TABLE users; --",
	    "$(id)",
	    "`id`",
	    "\\0",
	    "null",
	    "NaN",
	    "-1",
	    "0x123456",
	    "1e6",
	    "+123456",
	    "0",
	    "000000",
	    "999999",
	};
	const char *code;
	size_t n = 0, len, i;

	switch (k) {
	case 0:
		break;
	case 1:
		do
			len = 1 + below(20);
		while (len == v->digits);
		n = put_digits(buf, len);
		break;
	case 2:
		n = put_digits(buf, v->digits);
		break;
	case 3:
		len = 1 + below(200);
		for (i = 0; i < len; i++)
			buf[n++] = (char)(0x20 + below(0x5f));
		break;
	case 4:
		len = 1 + below(200);
		for (i = 0; i < len; i++)
			buf[n++] = (char)(1 + below(255));
		break;
	case 5:
		len = 1 + below(v->digits + 2);
		for (i = 0; i < len; i++) {
			if (below(3) == 0) {
				buf[n++] = (char)('0' + below(10));
			} else {
				const char *s =
				    lookalike[below(sizeof(lookalike) / sizeof(lookalike[0]))];

				memcpy(buf + n, s, strlen(s));
				n += strlen(s);
			}
		}
		break;
	case 6:
		/* the current code itself, with whitespace before, after or inside it */
		code = v->codes[v->window + 1];
		if (below(8) == 0) {
			len = 1 + below(10);
			for (i = 0; i < len; i++)
				buf[n++] = ws[below(4)][0];
			break;
		}
		i = below(3); /* 0 before, 1 after, 2 inside */
		if (i == 0) {
			n = (size_t)sprintf(buf, "%s%s", ws[below(8)], code);
		} else if (i == 1) {
			n = (size_t)sprintf(buf, "%s%s", code, ws[below(8)]);
		} else {
			size_t at = 1 + below(v->digits - 1);

			n = (size_t)sprintf(buf, "%.*s%s%s", (int)at, code, ws[below(8)],
			                    code + at);
		}
		break;
	case 7:
		/* a valid code (any step in the window) cut, extended, signed or doubled */
		code = v->codes[1 + below(2 * v->window + 1)];
		switch (below(6)) {
		case 0:
			n = (size_t)sprintf(buf, "%.*s", (int)(1 + below(v->digits - 1)), code);
			break;
		case 1:
			n = (size_t)sprintf(buf, "%s", code);
			n += put_digits(buf + n, 1 + below(3));
			break;
		case 2:
			n = put_digits(buf, 1 + below(3));
			n += (size_t)sprintf(buf + n, "%s", code);
			break;
		case 3:
			n = (size_t)sprintf(buf, "%c%s", "+-0 "[below(4)], code);
			break;
		case 4:
			n = (size_t)sprintf(buf, "%s%s", code,
			                    v->codes[1 + below(2 * v->window + 1)]);
			break;
		default:
			/* one digit changed: right length, wrong code (drawn again if valid) */
			n = (size_t)sprintf(buf, "%s", code);
			i = below(v->digits);
			buf[i] = (char)('0' + (buf[i] - '0' + 1 + below(9)) % 10);
			break;
		}
		break;
	case 8:
		switch (below(4)) {
		case 0:
			len = 201 + below(800);
			break;
		case 1:
			len = 1020 + below(10); /* around the module's 1024-byte limit */
			break;
		case 2:
			len = 1024;
			break;
		default:
			len = 1025 + below(MAX_RESPONSE - 1025);
			break;
		}
		if (below(2) == 0) {
			n = put_digits(buf, len);
		} else {
			for (i = 0; i < len; i++)
				buf[n++] = (char)(1 + below(255));
		}
		break;
	case 9:
		n = (size_t)sprintf(buf, "%s", fmt[below(sizeof(fmt) / sizeof(fmt[0]))]);
		break;
	default:
		break; /* 10, 11: no text */
	}
	buf[n] = '\0';
}

static int read_lines(const char *path, char ***out, unsigned *n)
{
	FILE *f = fopen(path, "r");
	char line[256];

	*out = NULL;
	*n = 0;
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char **nv;

		line[strcspn(line, "\r\n \t")] = '\0';
		if (line[0] == '\0')
			continue;
		if ((nv = realloc(*out, sizeof(char *) * (*n + 1))) == NULL ||
		    (nv[*n] = strdup(line)) == NULL) {
			fclose(f);
			return -1;
		}
		*out = nv;
		(*n)++;
	}
	fclose(f);
	return 0;
}

/* Events seen so far, by "type/reason". */
struct tally {
	char key[16][64];
	unsigned long count[16];
	unsigned n;
	unsigned long unreadable;
};

static void tally_add(struct tally *t, const char *key)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->key[i], key) == 0)
			break;
	if (i == t->n) {
		if (t->n == 16) {
			t->unreadable++;
			return;
		}
		snprintf(t->key[t->n++], sizeof(t->key[0]), "%s", key);
	}
	t->count[i]++;
}

static unsigned long tally_get(const struct tally *t, const char *key)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->key[i], key) == 0)
			return t->count[i];
	return 0;
}

/* The value of "name":"..." in a compact JSON text, into out. */
static void json_field(const char *text, const char *name, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	out[0] = '\0';
	if ((p = strstr(text, pat)) == NULL)
		return;
	p += strlen(pat);
	n = strcspn(p, "\"");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Read, count and remove every event in dir. */
static int tally_events(const char *dir, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char text[8192], type[32], reason[32], key[64];
		size_t len = strlen(e->d_name);
		ssize_t got;
		int fd;

		if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if ((fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC)) < 0) {
			t->unreadable++;
			continue;
		}
		got = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (got <= 0) {
			t->unreadable++;
		} else {
			text[got] = '\0';
			json_field(text, "type", type, sizeof(type));
			json_field(text, "reason", reason, sizeof(reason));
			snprintf(key, sizeof(key), "%s/%s", type, reason);
			tally_add(t, key);
		}
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

static int cmd_random(int argc, char **argv)
{
	struct valid v;
	unsigned long n = 10000, every = 0, i, denied = 0, accepted = 0, errors = 0, misfit = 0;
	unsigned long per_kind[NKINDS], rcs[64], redrawn = 0;
	const char *statefile = NULL, *exclude = NULL, *secret = NULL, *alg = "sha1", *evdir = NULL;
	const char *preload = NULL;
	void *module = NULL;
	time_t check_at = 0;
	struct tally ev;
	struct conv_data cd = {ANSWER_TEXT, NULL, 0};
	struct pam_conv pc = {conv, &cd};
	char *buf, rhost[64];
	double t0, secs;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	int c;

	memset(&v, 0, sizeof(v));
	memset(per_kind, 0, sizeof(per_kind));
	memset(rcs, 0, sizeof(rcs));
	memset(&ev, 0, sizeof(ev));
	v.digits = 6;
	v.step = 30;
	v.window = 1;
	v.cached_at = (time_t)-1;
	while ((c = getopt(argc, argv, "n:S:R:D:x:E:P:T:k:a:d:t:w:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'R':
			every = strtoul(optarg, NULL, 10);
			break;
		case 'D':
			statefile = optarg;
			break;
		case 'x':
			exclude = optarg;
			break;
		case 'E':
			evdir = optarg;
			break;
		case 'P':
			preload = optarg;
			break;
		case 'T':
			check_at = (time_t)strtoll(optarg, NULL, 10);
			break;
		case 'k':
			secret = optarg;
			break;
		case 'a':
			alg = optarg;
			break;
		case 'd':
			v.digits = (unsigned)atoi(optarg);
			break;
		case 't':
			v.step = (unsigned)atoi(optarg);
			break;
		case 'w':
			v.window = (unsigned)atoi(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 3 || secret == NULL || v.digits < 6 || v.digits > 8 || v.step == 0 ||
	    v.window > 10 || (every > 0 && statefile == NULL)) {
		usage();
		return 2;
	}
	if (seed == 0)
		seed = 1;
	rng_state = seed;
	v.flags = strcmp(alg, "sha256") == 0   ? OATH_TOTP_HMAC_SHA256
	          : strcmp(alg, "sha512") == 0 ? OATH_TOTP_HMAC_SHA512
	                                       : 0;
	if (oath_init() != OATH_OK ||
	    oath_base32_decode(secret, strlen(secret), &v.key, &v.keylen) != OATH_OK) {
		fprintf(stderr, "cannot decode the secret\n");
		return 2;
	}
	if (check_at > 0) {
		/* the code this program takes for the valid one at check_at, to compare with
		 * oathtool */
		if (refresh_codes(&v, check_at) != 0)
			return 2;
		printf("%s\n", v.codes[v.window + 1]);
		free(v.key);
		return 0;
	}
	if (exclude != NULL && read_lines(exclude, &v.excluded, &v.nexcluded) != 0)
		return 2;
	if ((buf = malloc(MAX_RESPONSE + 64)) == NULL)
		return 2;
	if (preload != NULL && (module = dlopen(preload, RTLD_NOW)) == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", preload, dlerror());
		return 2;
	}
	printf("seed=%llu\n", (unsigned long long)seed);
	fflush(stdout);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		pam_handle_t *pamh;
		unsigned k = below(NKINDS);
		unsigned long prompts = cd.prompts;
		int rc;

		if (every > 0 && i % every == 0) {
			if (unlink(statefile) != 0 && errno != ENOENT) {
				fprintf(stderr, "unlink %s: %s\n", statefile, strerror(errno));
				return 2;
			}
			if (evdir != NULL && tally_events(evdir, &ev) != 0)
				return 2;
		}
		if (refresh_codes(&v, time(NULL)) != 0)
			return 2;
		for (;;) {
			make_response(&v, k, buf);
			if (!is_valid(&v, buf))
				break;
			redrawn++;
		}
		cd.kind = k == 10 ? ANSWER_NULL : k == 11 ? ANSWER_CONV_ERR : ANSWER_TEXT;
		cd.text = buf;
		/* a few client addresses, so that the limiter's table is used too */
		snprintf(rhost, sizeof(rhost), "198.51.100.%lu", 1 + i % 100);
		if (start(argv[optind], argv[optind + 1], argv[optind + 2], rhost, &pc, &pamh) != 0)
			return 2;
		rc = pam_authenticate(pamh, 0);
		pam_end(pamh, rc);
		per_kind[k]++;
		rcs[rc >= 0 && rc < 64 ? rc : 63]++;
		if (cd.prompts != prompts + 1) {
			fprintf(stderr, "attempt %lu: the module asked %lu times, not once\n", i,
			        cd.prompts - prompts);
			errors++;
		}
		if (rc == PAM_SUCCESS) {
			size_t j, len = strlen(buf);

			accepted++;
			fprintf(stderr, "ACCEPTED attempt %lu, kind '%s', %zu bytes:", i,
			        kind_names[k], len);
			for (j = 0; j < len && j < 256; j++)
				fprintf(stderr, " %02x", (unsigned char)buf[j]);
			fprintf(stderr, "\n");
		} else {
			denied++;
		}
		if (n >= 10 && (i + 1) % (n / 10) == 0) {
			printf("progress: %lu of %lu, %lu denied, %.0f/s\n", i + 1, n, denied,
			       (double)(i + 1) / (now_s() - t0));
			fflush(stdout);
		}
	}
	secs = now_s() - t0;
	if (evdir != NULL) {
		unsigned long fit, total = 0;

		if (tally_events(evdir, &ev) != 0)
			return 2;
		for (i = 0; i < ev.n; i++) {
			printf("event %s: %lu\n", ev.key[i], ev.count[i]);
			total += ev.count[i];
		}
		fit = tally_get(&ev, "mfa_failure/no_code") == per_kind[10] &&
		      tally_get(&ev, "mfa_failure/conversation_failed") == per_kind[11] &&
		      tally_get(&ev, "mfa_failure/bad_code") == n - per_kind[10] - per_kind[11] &&
		      total == n && ev.unreadable == 0;
		printf("events_fit=%s\n", fit ? "yes" : "no");
		if (!fit) {
			fprintf(stderr,
			        "the events do not fit: expected %lu mfa_failure events, "
			        "%lu no_code, %lu conversation_failed, the rest bad_code\n",
			        n, per_kind[10], per_kind[11]);
			misfit = 1;
		}
	}
	for (i = 0; i < NKINDS; i++)
		printf("kind %lu (%s): %lu\n", i, kind_names[i], per_kind[i]);
	for (i = 0; i < 64; i++)
		if (rcs[i] > 0)
			printf("pam_authenticate returned %s (%lu): %lu times\n",
			       i == 63 ? "other" : pam_strerror(NULL, (int)i), i, rcs[i]);
	printf("redrawn (were valid codes): %lu\n", redrawn);
	printf("responses=%lu denied=%lu accepted=%lu prompt_errors=%lu seconds=%.2f "
	       "rate=%.0f\n",
	       n, denied, accepted, errors, secs, secs > 0 ? (double)n / secs : 0.0);
	free(buf);
	free(v.key);
	for (i = 0; i < v.nexcluded; i++)
		free(v.excluded[i]);
	free(v.excluded);
	if (module != NULL)
		dlclose(module);
	return accepted == 0 && errors == 0 && misfit == 0 && denied == n ? 0 : 1;
}

/* ---------- race ---------- */

static int cmd_race(int argc, char **argv)
{
	int n = 16, own_addr = 0, c, i, ok = 0, other = 0, gate[2], ready[2];
	char b;

	while ((c = getopt(argc, argv, "n:r")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			own_addr = 1;
		else {
			usage();
			return 2;
		}
	}
	if (argc - optind != 4 || n < 1 || n > 250) {
		usage();
		return 2;
	}
	if (pipe(gate) != 0 || pipe(ready) != 0)
		return 2;
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			struct conv_data cd = {ANSWER_TEXT, argv[optind + 3], 0};
			struct pam_conv pc = {conv, &cd};
			pam_handle_t *pamh;
			char rhost[32];
			int rc;

			close(gate[1]);
			close(ready[0]);
			snprintf(rhost, sizeof(rhost), "192.0.2.%d", own_addr ? i + 1 : 10);
			if (start(argv[optind], argv[optind + 1], argv[optind + 2], rhost, &pc,
			          &pamh) != 0)
				_exit(3);
			/* ready, then wait: read() returns 0 once the parent lets go of the write
			 * end */
			if (write(ready[1], "r", 1) != 1 || read(gate[0], &b, 1) != 0)
				_exit(3);
			rc = pam_authenticate(pamh, 0);
			pam_end(pamh, rc);
			_exit(rc == PAM_SUCCESS ? 0 : 1);
		}
	}
	close(gate[0]);
	close(ready[1]);
	for (i = 0; i < n; i++)
		if (read(ready[0], &b, 1) != 1) {
			fprintf(stderr, "a child did not get ready\n");
			break;
		}
	close(gate[1]); /* release every child at once */
	for (i = 0; i < n; i++) {
		int st;

		if (wait(&st) < 0)
			return 2;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
			other++; /* crashed, or could not start */
	}
	printf("succeeded=%d of %d\n", ok, n);
	if (other > 0)
		printf("crashed_or_failed_to_start=%d\n", other);
	return ok == 1 && other == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "random") == 0)
		return cmd_random(argc - 1, argv + 1);
	if (strcmp(argv[1], "race") == 0)
		return cmd_race(argc - 1, argv + 1);
	usage();
	return 2;
}
