#include "secret_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_spool.h"

#define MAGIC "TGTOTP01"
#define MAGIC_LEN 8
#define TEXT_MAX 4096

/*
 * A secret gets pages of its own, locked (out of swap and core dumps) and
 * wiped before they are released. Not sodium_malloc: its guard pages cost an
 * mmap, four mprotect and a munmap per login, each flushing the TLB, about
 * 20 us of a login's 250 on a virtual machine, to guard a buffer that lives
 * for microseconds and is only ever written by code that checks its bounds.
 */
static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (size_t)page : 4096;
}

static size_t secret_size(void)
{
	return (sizeof(struct tgp_secret) + page_size() - 1) / page_size() * page_size();
}

struct tgp_secret *tgp_secret_new(void)
{
	struct tgp_secret *s;

	if (sodium_init() < 0)
		return NULL;
	if ((s = aligned_alloc(page_size(), secret_size())) == NULL)
		return NULL;
	/* locking fails under a small RLIMIT_MEMLOCK: the secret is still wiped (as sodium_malloc)
	 */
	(void)sodium_mlock(s, secret_size());
	sodium_memzero(s, secret_size());
	return s;
}

void tgp_secret_free(struct tgp_secret *s)
{
	if (s != NULL) {
		/* wipes, then unlocks: the pages are the secret's alone, so no other data is
		 * unlocked */
		(void)sodium_munlock(s, secret_size());
		free(s);
	}
}

int tgp_user_name_ok(const char *user)
{
	size_t i, n;

	if (user == NULL)
		return 0;
	n = strnlen(user, 65);
	if (n == 0 || n > 64 || user[0] == '.' || user[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = user[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

int tgp_check_private_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return TG_ERR_PERM;
	return TG_OK;
}

/* Open a root-only regular file: no symlink, owned by euid, no group/other bits. */
static int open_private(const char *path, int *fd_out)
{
	struct stat st;
	int fd;

	*fd_out = -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND
		                       : (errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return TG_ERR_PERM;
	}
	*fd_out = fd;
	return TG_OK;
}

static int read_key(const char *state_dir, unsigned char key[32])
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/" TGP_STORE_KEY_FILE, state_dir) >=
	    sizeof(path))
		return TG_ERR_LIMIT;
	if ((r = open_private(path, &fd)) != TG_OK)
		return r == TG_ERR_NOT_FOUND ? TG_ERR_CONFIG : r;
	/* exactly the key: one more byte means the file is not ours */
	unsigned char buf[crypto_secretbox_KEYBYTES + 1];
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != crypto_secretbox_KEYBYTES) {
		sodium_memzero(buf, sizeof(buf));
		return TG_ERR_FORMAT;
	}
	memcpy(key, buf, crypto_secretbox_KEYBYTES);
	sodium_memzero(buf, sizeof(buf));
	return TG_OK;
}

static int make_key(const char *state_dir, unsigned char key[32])
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, r;

	r = read_key(state_dir, key);
	if (r != TG_ERR_CONFIG)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/" TGP_STORE_KEY_FILE, state_dir) >=
	        sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp.store.key.XXXXXX", state_dir) >=
	        sizeof(tmp))
		return TG_ERR_LIMIT;
	crypto_secretbox_keygen(key);
	/* written whole under a name of its own, then linked into place: the key file never
	 * exists empty or cut (parallel first enrollments read it as soon as it is there, and
	 * a crash must not leave one), and link() never replaces a key that appeared
	 * meanwhile */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	r = fchmod(fd, 0600) == 0 ? tg_write_all(fd, key, crypto_secretbox_KEYBYTES)
	                          : TG_ERR_SYSTEM;
	if (r == TG_OK && fsync(fd) != 0)
		r = TG_ERR_SYSTEM;
	close(fd);
	if (r == TG_OK && link(tmp, path) != 0)
		r = errno == EEXIST ? TG_ERR_EXISTS : TG_ERR_SYSTEM;
	unlink(tmp);
	if (r == TG_ERR_EXISTS)
		return read_key(state_dir, key); /* another one made it first: use theirs */
	if (r != TG_OK) {
		sodium_memzero(key, crypto_secretbox_KEYBYTES);
		return r;
	}
	return tg_fsync_dir(state_dir);
}

static int hex_line(char *t, size_t tmax, size_t *pos, const char *name, const unsigned char *p,
                    size_t n)
{
	size_t need = strlen(name) + 1 + 2 * n + 1;

	if (*pos + need + 1 > tmax)
		return TG_ERR_LIMIT;
	*pos += (size_t)snprintf(t + *pos, tmax - *pos, "%s ", name);
	sodium_bin2hex(t + *pos, tmax - *pos, p, n);
	*pos += 2 * n;
	t[(*pos)++] = '\n';
	t[*pos] = '\0';
	return TG_OK;
}

int tgp_store_seal(const unsigned char key[32], const char *user, const struct tgp_secret *s,
                   unsigned char *out, size_t outmax, size_t *outlen)
{
	char *text;
	size_t pos = 0;
	unsigned i;
	int r = TG_ERR_LIMIT;

	*outlen = 0;
	if (!tgp_user_name_ok(user) || tgp_totp_check(&s->totp) != TG_OK ||
	    s->scratch.n > TGP_SCRATCH_MAX)
		return TG_ERR_INVALID;
	if ((text = sodium_malloc(TEXT_MAX)) == NULL)
		return TG_ERR_NOMEM;
	pos = (size_t)snprintf(text, TEXT_MAX, "user %s\nalg %s\ndigits %u\nstep %u\n", user,
	                       tgp_alg_name(s->totp.alg), s->totp.digits, s->totp.step);
	if ((r = hex_line(text, TEXT_MAX, &pos, "key", s->totp.key, s->totp.keylen)) != TG_OK ||
	    (r = hex_line(text, TEXT_MAX, &pos, "salt", s->scratch.salt,
	                  sizeof(s->scratch.salt))) != TG_OK)
		goto out;
	for (i = 0; i < s->scratch.n; i++)
		if ((r = hex_line(text, TEXT_MAX, &pos, "scratch", s->scratch.hash[i],
		                  TGP_SCRATCH_HASH)) != TG_OK)
			goto out;
	if (outmax < MAGIC_LEN + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pos) {
		r = TG_ERR_LIMIT;
		goto out;
	}
	memcpy(out, MAGIC, MAGIC_LEN);
	randombytes_buf(out + MAGIC_LEN, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + MAGIC_LEN + crypto_secretbox_NONCEBYTES, (unsigned char *)text,
	                      pos, out + MAGIC_LEN, key);
	*outlen = MAGIC_LEN + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pos;
	r = TG_OK;
out:
	sodium_free(text);
	return r;
}

/* Parse "name HEX" into exactly n bytes. */
static int parse_hex(const char *v, unsigned char *p, size_t n, size_t *got)
{
	size_t len = 0;

	if (sodium_hex2bin(p, n, v, strlen(v), NULL, &len, NULL) != 0)
		return TG_ERR_FORMAT;
	if (got != NULL)
		*got = len;
	else if (len != n)
		return TG_ERR_FORMAT;
	return TG_OK;
}

static int parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return TG_ERR_FORMAT;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return TG_ERR_FORMAT;
	*out = (unsigned)n;
	return TG_OK;
}

/* Parse the opened text (NUL-terminated, in guarded memory) into s. */
static int parse_text(char *text, const char *user, struct tgp_secret *s)
{
	char *line, *save = NULL, *v;
	int seen_user = 0, seen_key = 0, seen_salt = 0, seen_alg = 0, seen_digits = 0,
	    seen_step = 0;

	sodium_memzero(s, sizeof(*s));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			return TG_ERR_FORMAT;
		*v++ = '\0';
		if (strcmp(line, "user") == 0 && !seen_user++) {
			if (strcmp(v, user) != 0)
				return TG_ERR_FORMAT; /* sealed for somebody else */
		} else if (strcmp(line, "alg") == 0 && !seen_alg++) {
			if (tgp_alg_parse(v, &s->totp.alg) != TG_OK)
				return TG_ERR_FORMAT;
		} else if (strcmp(line, "digits") == 0 && !seen_digits++) {
			if (parse_uint(v, TGP_DIGITS_MIN, TGP_DIGITS_MAX, &s->totp.digits) != TG_OK)
				return TG_ERR_FORMAT;
		} else if (strcmp(line, "step") == 0 && !seen_step++) {
			if (parse_uint(v, 1, 300, &s->totp.step) != TG_OK)
				return TG_ERR_FORMAT;
		} else if (strcmp(line, "key") == 0 && !seen_key++) {
			if (parse_hex(v, s->totp.key, sizeof(s->totp.key), &s->totp.keylen) !=
			    TG_OK)
				return TG_ERR_FORMAT;
		} else if (strcmp(line, "salt") == 0 && !seen_salt++) {
			if (parse_hex(v, s->scratch.salt, sizeof(s->scratch.salt), NULL) != TG_OK)
				return TG_ERR_FORMAT;
		} else if (strcmp(line, "scratch") == 0) {
			if (s->scratch.n >= TGP_SCRATCH_MAX ||
			    parse_hex(v, s->scratch.hash[s->scratch.n], TGP_SCRATCH_HASH, NULL) !=
			        TG_OK)
				return TG_ERR_FORMAT;
			s->scratch.n++;
		} else {
			return TG_ERR_FORMAT; /* unknown or repeated line */
		}
	}
	if (!seen_user || !seen_key || !seen_salt || !seen_alg || !seen_digits || !seen_step)
		return TG_ERR_FORMAT;
	return tgp_totp_check(&s->totp);
}

int tgp_store_open(const unsigned char key[32], const char *user, const unsigned char *in,
                   size_t inlen, struct tgp_secret *s)
{
	size_t head = MAGIC_LEN + crypto_secretbox_NONCEBYTES, textlen;
	char text[TEXT_MAX]; /* a fixed array, wiped: cheaper than guarded pages at every login */
	int r;

	if (inlen < head + crypto_secretbox_MACBYTES || memcmp(in, MAGIC, MAGIC_LEN) != 0)
		return TG_ERR_FORMAT;
	textlen = inlen - head - crypto_secretbox_MACBYTES;
	if (textlen >= TEXT_MAX)
		return TG_ERR_FORMAT;
	if (crypto_secretbox_open_easy((unsigned char *)text, in + head, inlen - head,
	                               in + MAGIC_LEN, key) != 0) {
		r = TG_ERR_CRYPTO; /* wrong key or tampered with */
		goto out;
	}
	text[textlen] = '\0';
	if (memchr(text, '\0', textlen) != NULL) {
		r = TG_ERR_FORMAT;
		goto out;
	}
	r = parse_text(text, user, s);
	if (r != TG_OK)
		sodium_memzero(s, sizeof(*s));
out:
	sodium_memzero(text, sizeof(text));
	return r;
}

static int store_path(const char *state_dir, const char *user, char *dir, size_t dirlen, char *path,
                      size_t pathlen)
{
	if (!tgp_user_name_ok(user))
		return TG_ERR_INVALID;
	if ((size_t)snprintf(dir, dirlen, "%s/" TGP_STORE_SUBDIR, state_dir) >= dirlen ||
	    (size_t)snprintf(path, pathlen, "%s/%s", dir, user) >= pathlen)
		return TG_ERR_LIMIT;
	return TG_OK;
}

int tgp_store_read(const char *state_dir, const char *user, struct tgp_secret *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char key[crypto_secretbox_KEYBYTES];
	struct tg_buf file = TG_BUF_VOID;
	int fd = -1, r;

	if (sodium_init() < 0)
		return TG_ERR_CRYPTO;
	if ((r = store_path(state_dir, user, dir, sizeof(dir), path, sizeof(path))) != TG_OK)
		return r;
	/* only the user's own file may be missing: no store at all (a volume not mounted, a
	 * typo in state_dir) must not read as "nobody enrolled", which nullok lets in */
	if ((r = tgp_check_private_dir(state_dir)) != TG_OK ||
	    (r = tgp_check_private_dir(dir)) != TG_OK)
		return r == TG_ERR_NOT_FOUND ? TG_ERR_CONFIG : r;
	if ((r = open_private(path, &fd)) != TG_OK)
		return r;
	tg_buf_init(&file, TGP_STORE_MAX);
	if ((r = tg_read_fd(fd, TGP_STORE_MAX, &file)) != TG_OK)
		goto out;
	if ((r = read_key(state_dir, key)) != TG_OK)
		goto out;
	r = tgp_store_open(key, user, file.data, file.len, s);
out:
	sodium_memzero(key, sizeof(key));
	if (fd >= 0)
		close(fd);
	tg_buf_free_secret(&file);
	return r;
}

int tgp_store_write(const char *state_dir, const char *user, const struct tgp_secret *s)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char *out = NULL;
	size_t outlen;
	int r;

	if (sodium_init() < 0)
		return TG_ERR_CRYPTO;
	if ((r = store_path(state_dir, user, dir, sizeof(dir), path, sizeof(path))) != TG_OK)
		return r;
	if ((r = tg_mkdir_p(state_dir, 0700)) != TG_OK ||
	    (r = tgp_check_private_dir(state_dir)) != TG_OK ||
	    (r = tg_mkdir_p(dir, 0700)) != TG_OK || (r = tgp_check_private_dir(dir)) != TG_OK)
		return r;
	if ((r = make_key(state_dir, key)) != TG_OK)
		goto out;
	if ((out = malloc(TGP_STORE_MAX)) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	if ((r = tgp_store_seal(key, user, s, out, TGP_STORE_MAX, &outlen)) != TG_OK)
		goto out;
	r = tg_spool_write(dir, user, out, outlen, 0600);
out:
	sodium_memzero(key, sizeof(key));
	free(out);
	return r;
}

int tgp_store_remove(const char *state_dir, const char *user)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int r;

	if ((r = store_path(state_dir, user, dir, sizeof(dir), path, sizeof(path))) != TG_OK)
		return r;
	if (unlink(path) != 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	return tg_fsync_dir(dir);
}

int tgp_store_exists(const char *state_dir, const char *user)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;

	if (store_path(state_dir, user, dir, sizeof(dir), path, sizeof(path)) != TG_OK)
		return 0;
	return lstat(path, &st) == 0;
}
