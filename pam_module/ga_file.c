#include "ga_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liboath/oath.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privs.h"
#include "tg_error.h"
#include "tg_spool.h"

int tgp_ga_path(const char *tmpl, const struct passwd *pw, char *out, size_t outlen)
{
	struct tg_buf b = TG_BUF_VOID;
	const char *p = tmpl;
	int r = TG_OK;

	tg_buf_init(&b, outlen - 1);
	if (*p == '~' && (p[1] == '/' || p[1] == '\0')) {
		r = tg_buf_puts(&b, pw->pw_dir);
		p++;
	}
	while (r == TG_OK && *p != '\0') {
		if (strncmp(p, "${USER}", 7) == 0) {
			r = tg_buf_puts(&b, pw->pw_name);
			p += 7;
		} else if (strncmp(p, "${HOME}", 7) == 0) {
			r = tg_buf_puts(&b, pw->pw_dir);
			p += 7;
		} else {
			r = tg_buf_append(&b, p++, 1);
		}
	}
	if (r == TG_OK && (b.len == 0 || b.data[0] != '/'))
		r = TG_ERR_INVALID; /* relative paths would depend on sshd's working folder */
	if (r == TG_OK)
		snprintf(out, outlen, "%s", tg_buf_str(&b));
	tg_buf_free(&b);
	return r;
}

/*
 * A number in lo..hi after blanks. rest NULL: only blanks may follow (google-authenticator's
 * module refuses "STEP_SIZE 30s" too); else *rest is where the number ends, for more fields.
 */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out, const char **rest)
{
	char *end;
	unsigned long n;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return TG_ERR_FORMAT;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || n < lo || n > hi)
		return TG_ERR_FORMAT;
	if (rest != NULL) {
		*rest = end;
	} else {
		while (*end == ' ')
			end++;
		if (*end != '\0')
			return TG_ERR_FORMAT;
	}
	*out = (unsigned)n;
	return TG_OK;
}

/*
 * Line one: base32 (upper or lower case) into the key. Spaces, tabs and dashes are skipped, and
 * the digits 0, 1 and 8 read as the letters O, L and B they are mistyped for, as
 * google-authenticator's module reads them: a secret kept in groups of four for reading (as
 * apps show it, and some tools write it), typed in by hand, or with a trailing blank works
 * there, and must not lock its user out here.
 */
static int parse_secret(const char *line, size_t n, struct tgp_secret *s)
{
	char b32[160];
	char *key = NULL;
	size_t i, len = 0, keylen = 0;
	int r = TG_ERR_FORMAT;

	for (i = 0; i < n; i++) {
		char c = line[i];

		if (c == ' ' || c == '\t' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '0')
			c = 'O';
		else if (c == '1')
			c = 'L';
		else if (c == '8')
			c = 'B';
		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') || c == '=') ||
		    len + 1 >= sizeof(b32))
			goto out;
		b32[len++] = c;
	}
	if (len == 0)
		goto out;
	b32[len] = '\0';
	if (oath_init() != OATH_OK || oath_base32_decode(b32, len, &key, &keylen) != OATH_OK) {
		key = NULL;
		goto out;
	}
	/* liboath decodes a cut string without complaint: insist on a real key length */
	if (keylen < TGP_KEY_MIN || keylen > TGP_KEY_MAX)
		goto out;
	memcpy(s->totp.key, key, keylen);
	s->totp.keylen = keylen;
	/* salt the scratch hashes with a value derived from the key, so that the
	 * used-code list in root's state stays valid from login to login */
	if (crypto_generichash(s->scratch.salt, sizeof(s->scratch.salt), s->totp.key, keylen,
	                       (const unsigned char *)"tollgate ga scratch", 19) != 0)
		goto out;
	r = TG_OK;
out:
	if (key != NULL) {
		sodium_memzero(key, keylen);
		free(key);
	}
	sodium_memzero(b32, sizeof(b32));
	return r;
}

/*
 * Numbers separated by blanks, as google-authenticator's module reads DISALLOW_REUSE's used time
 * steps and RATE_LIMIT's timestamps: anything else is a malformed file (it fails closed on one
 * too). v NULL: checked for form only; else stored, at most max of them.
 */
static int parse_list(const char *p, uint64_t *v, unsigned max, unsigned *n)
{
	unsigned long long x;
	char *end;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return TG_OK;
		if (*p < '0' || *p > '9' || (v != NULL && *n >= max))
			return TG_ERR_FORMAT;
		errno = 0;
		x = strtoull(p, &end, 10);
		if (errno != 0 || (*end != ' ' && *end != '\0'))
			return TG_ERR_FORMAT;
		if (v != NULL)
			v[(*n)++] = (uint64_t)x;
		p = end;
	}
}

int tgp_ga_step_used(const struct tgp_ga *ga, uint64_t step)
{
	unsigned i;

	for (i = 0; i < ga->nused; i++)
		if (ga->used[i] == step)
			return 1;
	return 0;
}

int tgp_ga_parse(const char *text, size_t len, struct tgp_secret *s, struct tgp_ga *ga)
{
	/* a 64-byte secret in groups of four; RATE_LIMIT and DISALLOW_REUSE lines, which hold
	 * up to 101 timestamps in google-authenticator's module (100 attempts, WINDOW_SIZE 100) */
	char line[2048];
	const char *p = text, *end = text + len, *nl;
	unsigned lineno = 0, v;
	size_t n;
	int r = TG_ERR_FORMAT;

	sodium_memzero(s, sizeof(*s));
	memset(ga, 0, sizeof(*ga));
	s->totp.alg = TGP_ALG_SHA1;
	s->totp.digits = 6;
	s->totp.step = 30;
	if (len == 0 || memchr(text, '\0', len) != NULL)
		return TG_ERR_FORMAT;
	for (; p < end; p = nl + 1, lineno++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		/* google-authenticator's module takes a line ending in CRLF or in blanks (its
		 * scratch codes, its options), and blank lines anywhere: an edited file must not
		 * lock its user out */
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n >= sizeof(line))
			goto out;
		memcpy(line, p, n);
		line[n] = '\0';
		if (lineno == 0) {
			if ((r = parse_secret(line, n, s)) != TG_OK)
				goto out;
			r = TG_ERR_FORMAT;
		} else if (line[0] == '"' && line[1] == ' ') {
			const char *opt = line + 2;
			size_t i;

			/* google-authenticator's module takes a tab wherever a blank may be */
			for (i = 2; i < n; i++)
				if (line[i] == '\t')
					line[i] = ' ';

			if (strncmp(opt, "WINDOW_SIZE", 11) == 0 &&
			    (opt[11] == ' ' || opt[11] == '\0')) {
				if (parse_uint(opt + 11, 1, 100, &v, NULL) != TG_OK)
					goto out;
				ga->has_window = 1;
				ga->window = (v - 1) / 2;
			} else if (strncmp(opt, "STEP_SIZE", 9) == 0 &&
			           (opt[9] == ' ' || opt[9] == '\0')) {
				if (parse_uint(opt + 9, 1, 60, &s->totp.step, NULL) != TG_OK)
					goto out;
			} else if (strncmp(opt, "DISALLOW_REUSE", 14) == 0 &&
			           (opt[14] == ' ' || opt[14] == '\0')) {
				ga->disallow_reuse = 1;
				if (parse_list(opt + 14, ga->used, TGP_GA_USED_MAX, &ga->nused) !=
				    TG_OK)
					goto out;
			} else if (strncmp(opt, "TIME_SKEW", 9) == 0 &&
			           (opt[9] == ' ' || opt[9] == '\0')) {
				/* as google-authenticator's module reads it (strtol, no checks) */
				ga->skew = (int)strtol(opt + 9, NULL, 10);
			} else if (strcmp(opt, "TOTP_AUTH") == 0) {
				/* the default: nothing to do */
			} else if (strncmp(opt, "HOTP_COUNTER", 12) == 0) {
				ga->hotp = 1;
			} else if (strncmp(opt, "RATE_LIMIT", 10) == 0 &&
			           (opt[10] == ' ' || opt[10] == '\0')) {
				unsigned count, secs;
				const char *e;

				/* checked for form, with the bounds of google-authenticator's
				 * module (its tool writes 15..600 seconds, the module
				 * takes 1..3600), then its timestamps; the root-owned limiter
				 * does the limiting */
				if (parse_uint(opt + 10, 1, 100, &count, &e) != TG_OK ||
				    parse_uint(e, 1, 3600, &secs, &e) != TG_OK ||
				    parse_list(e, NULL, 0, NULL) != TG_OK)
					goto out;
			} else {
				/* an option google-authenticator knows and we need not act on */
			}
		} else if (n == TGP_SCRATCH_DIGITS && tgp_all_digits(line, n)) {
			if (s->scratch.n >= TGP_SCRATCH_MAX)
				goto out;
			ga->scratch_line[s->scratch.n] = (int)lineno;
			if (tgp_scratch_add(&s->scratch, line) != TG_OK)
				goto out;
		} else if (n == 0) {
			/* a blank line, or the final newline */
		} else {
			goto out;
		}
		if (nl == end)
			break;
	}
	if (ga->hotp) {
		r = TG_ERR_FORMAT; /* counter-based codes are not TOTP: refuse rather than guess */
		goto out;
	}
	r = tgp_totp_check(&s->totp);
out:
	sodium_memzero(line, sizeof(line));
	if (r != TG_OK)
		sodium_memzero(s, sizeof(*s));
	return r;
}

/* The folder that holds path is there (as the caller's fs ids see it). */
static int parent_exists(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if (slash == NULL)
		return 1; /* relative to the cwd, which is there */
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int tgp_ga_read(const char *path, const struct passwd *pw, struct tg_buf *text)
{
	return tgp_ga_read_id(path, pw, text, NULL);
}

int tgp_ga_stat(const char *path, const struct passwd *pw, struct stat *st)
{
	struct tgp_privs privs = TGP_PRIVS_VOID;
	int r, r2;

	if ((r = tgp_privs_drop(&privs, pw)) != TG_OK)
		return r;
	r = lstat(path, st) == 0 ? TG_OK : (errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM);
	r2 = tgp_privs_restore(&privs);
	return r != TG_OK ? r : r2;
}

int tgp_ga_read_id(const char *path, const struct passwd *pw, struct tg_buf *text, struct stat *id)
{
	struct tgp_privs privs = TGP_PRIVS_VOID;
	struct stat st;
	int fd = -1, r, r2;

	if ((r = tgp_privs_drop(&privs, pw)) != TG_OK)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
		r = errno == ENOENT ? TG_ERR_NOT_FOUND
		                    : (errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM);
		/* no file is "not enrolled" only where its folder is there: a home not mounted
		 * (autofs, an encrypted home before login) must not read as "not enrolled",
		 * which nullok lets in */
		if (r == TG_ERR_NOT_FOUND && !parent_exists(path))
			r = TG_ERR_CONFIG;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = TG_ERR_SYSTEM;
		goto out;
	}
	/* 0600 or stricter: no bit for group or others, no execute, no set-id or sticky bit */
	if (!S_ISREG(st.st_mode) || st.st_uid != pw->pw_uid || (st.st_mode & 07777 & ~0600) != 0) {
		r = TG_ERR_PERM;
		goto out;
	}
	if (st.st_size > TGP_GA_MAX) {
		r = TG_ERR_LIMIT;
		goto out;
	}
	r = tg_read_fd(fd, TGP_GA_MAX, text);
	if (id != NULL)
		*id = st;
out:
	if (fd >= 0)
		close(fd);
	r2 = tgp_privs_restore(&privs);
	return r != TG_OK ? r : r2;
}

/* Is the line at p (n bytes) a DISALLOW_REUSE line, as tgp_ga_rewrite replaces it? */
static int reuse_line(const char *p, size_t n)
{
	return n >= 16 && memcmp(p, "\" DISALLOW_REUSE", 16) == 0;
}

/*
 * The steps of a DISALLOW_REUSE list (line, n bytes after the keyword) later than step, appended
 * to out: codes google-authenticator's module took ahead of the clock (a phone running a little
 * fast) before the switch, which root's replay guard, holding only step, would let in once more.
 * At most *room of them (taken from it) in at most LATER_MAX bytes, so that the file still parses
 * (tgp_ga_parse: 128 steps in all, 2047 bytes a line).
 */
#define LATER_MAX (2047 - 16 - 21) /* the line, less "\" DISALLOW_REUSE" and " " step */
static int keep_later_steps(const char *line, size_t n, uint64_t step, unsigned *room,
                            struct tg_buf *out)
{
	char list[2048], num[24], *p = list, *end;
	unsigned long long v;
	size_t used = 0;
	int r = TG_OK;

	if (n >= sizeof(list))
		return TG_OK; /* longer than a line tgp_ga_parse takes */
	memcpy(list, line, n);
	list[n] = '\0';
	while (r == TG_OK && *room > 0) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p < '0' || *p > '9')
			break;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0)
			break;
		if ((uint64_t)v > step) {
			used += (size_t)snprintf(num, sizeof(num), " %llu", v);
			if (used > LATER_MAX)
				break;
			r = tg_buf_puts(out, num);
			(*room)--;
		}
		p = end;
	}
	return r;
}

int tgp_ga_rewrite(const char *text, size_t len, int drop_line, uint64_t reuse_step,
                   struct tg_buf *out)
{
	const char *p, *end = text + len, *nl;
	unsigned room = TGP_GA_USED_MAX;
	int lineno = 0, r = TG_OK;

	/* each DISALLOW_REUSE line gets reuse_step: the later steps kept fill what is left */
	for (p = text; reuse_step != 0 && p < end && room > 0; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		room -= (unsigned)reuse_line(p, (size_t)(nl - p));
		if (nl == end)
			break;
	}
	for (p = text; p < end && r == TG_OK; p = nl + 1, lineno++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (lineno == drop_line) {
			/* dropped */
		} else if (reuse_step != 0 && reuse_line(p, (size_t)(nl - p))) {
			r = tg_buf_printf(out, "\" DISALLOW_REUSE %" PRIu64, reuse_step);
			if (r == TG_OK)
				r = keep_later_steps(p + 16, (size_t)(nl - p) - 16, reuse_step,
				                     &room, out);
			if (r == TG_OK)
				r = tg_buf_puts(out, "\n");
		} else {
			/* a last line without its newline stays so: a final "\r" the parser
			 * took as the end of the file would otherwise become a blank line */
			if ((r = tg_buf_append(out, p, (size_t)(nl - p))) == TG_OK && nl != end)
				r = tg_buf_puts(out, "\n");
		}
		if (nl == end)
			break;
	}
	return r;
}

int tgp_ga_write(const char *path, const struct passwd *pw, const struct tg_buf *text)
{
	struct tgp_privs privs = TGP_PRIVS_VOID;
	struct tg_atomic a = TG_ATOMIC_VOID;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int r, r2;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir) || slash[1] == '\0')
		return TG_ERR_INVALID;
	/* past the limit, every later read would refuse the file: the login's write-back
	 * is not made (the replay guard in root's state holds without it) */
	if (text->len > TGP_GA_MAX)
		return TG_ERR_LIMIT;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	if ((r = tgp_privs_drop(&privs, pw)) != TG_OK)
		return r;
	/* the file must still be the user's regular file */
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != pw->pw_uid) {
		r = TG_ERR_PERM;
		goto out;
	}
	if ((r = tg_atomic_open(&a, dir, slash + 1, st.st_mode & 0600)) != TG_OK)
		goto out;
	if ((r = tg_atomic_write(&a, text->data, text->len)) != TG_OK) {
		tg_atomic_abort(&a);
		goto out;
	}
	r = tg_atomic_commit(&a);
out:
	r2 = tgp_privs_restore(&privs);
	return r != TG_OK ? r : r2;
}
