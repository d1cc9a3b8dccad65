/* Host Ed25519 key files (doc/recording-format.md, "Keys"). */
#include "tg_rec.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_spool.h"

#define SECRET_PREFIX "tollgate-ed25519-secret "
#define PUBLIC_PREFIX "tollgate-ed25519 "
#define KEY_FILE_MAX 1024

int tg_key_generate(unsigned char pk[32], unsigned char sk[64])
{
	return crypto_sign_keypair(pk, sk) == 0 ? TG_OK : TG_ERR_CRYPTO;
}

void tg_key_id(const unsigned char pk[32], char id[TG_REC_KEY_ID_LEN + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), pk, 32, NULL, 0);
	sodium_bin2hex(id, TG_REC_KEY_ID_LEN + 1, h, TG_REC_KEY_ID_LEN / 2);
}

/* Replace path with text atomically; the temp file gets its owner (-1: unchanged) before the
 * rename, so the file is never in place with the wrong one. */
static int save(const char *path, const char *text, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	char d[PATH_MAX], b[PATH_MAX];
	struct tg_atomic a = TG_ATOMIC_VOID;
	int r;

	if (path == NULL || strlen(path) >= sizeof(d))
		return TG_ERR_INVALID;
	snprintf(d, sizeof(d), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	if ((r = tg_atomic_open(&a, dirname(d), basename(b), mode)) != TG_OK)
		return r;
	r = tg_atomic_write(&a, text, len);
	if (r == TG_OK && (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(a.fd, uid, gid) != 0)
		r = TG_ERR_PERM;
	if (r != TG_OK) {
		tg_atomic_abort(&a);
		return r;
	}
	return tg_atomic_commit(&a);
}

int tg_key_save_secret(const char *path, const unsigned char sk[64])
{
	return tg_key_save_secret_owned(path, sk, (uid_t)-1, (gid_t)-1);
}

int tg_key_save_secret_owned(const char *path, const unsigned char sk[64], uid_t uid, gid_t gid)
{
	char line[sizeof(SECRET_PREFIX) +
	          sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL) + 2];
	size_t n;
	int r;

	n = (size_t)snprintf(line, sizeof(line), "%s", SECRET_PREFIX);
	sodium_bin2base64(line + n, sizeof(line) - n, sk, 64, sodium_base64_VARIANT_ORIGINAL);
	n = strlen(line);
	line[n++] = '\n';
	r = save(path, line, n, 0400, uid, gid);
	sodium_memzero(line, sizeof(line));
	return r;
}

int tg_key_save_public(const char *path, const unsigned char pk[32])
{
	char line[sizeof(PUBLIC_PREFIX) +
	          sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) +
	          TG_REC_KEY_ID_LEN + 4];
	char id[TG_REC_KEY_ID_LEN + 1];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s", PUBLIC_PREFIX);
	sodium_bin2base64(line + n, sizeof(line) - n, pk, 32, sodium_base64_VARIANT_ORIGINAL);
	tg_key_id(pk, id);
	n = strlen(line);
	n += (size_t)snprintf(line + n, sizeof(line) - n, " %s\n", id);
	return save(path, line, n, 0444, (uid_t)-1, (gid_t)-1);
}

/* Read a small key file into text (NUL-terminated); secret: owner-only mode and no symlink. */
static int read_key_file(const char *path, int secret, char *text, size_t cap, size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t k;
	int fd, r = TG_ERR_SYSTEM;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (secret ? O_NOFOLLOW : 0));
	if (fd < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND
		                       : (errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM);
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || (secret && (st.st_mode & 077) != 0)) {
		r = TG_ERR_PERM;
		goto out;
	}
	if (st.st_size >= (off_t)cap) {
		r = TG_ERR_FORMAT;
		goto out;
	}
	for (;;) {
		k = read(fd, text + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == cap - 1) {
			r = TG_ERR_FORMAT;
			goto out;
		}
	}
	/* the text is read as a C string: a NUL would hide what follows it from the checks of
	 * the file's end ("<key>\0anything" was a key) */
	if (memchr(text, '\0', n) != NULL) {
		r = TG_ERR_FORMAT;
		goto out;
	}
	text[n] = '\0';
	*len = n;
	r = TG_OK;
out:
	close(fd);
	return r;
}

/* Decode the base64 field that starts text after prefix, up to a space or newline. */
static int decode_field(const char *text, const char *prefix, unsigned char *out, size_t outlen,
                        const char **end)
{
	size_t plen = strlen(prefix), bin = 0;
	const char *b64 = text + plen, *e;

	if (strncmp(text, prefix, plen) != 0)
		return TG_ERR_FORMAT;
	e = b64 + strcspn(b64, " \n");
	if (sodium_base642bin(out, outlen, b64, (size_t)(e - b64), NULL, &bin, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != outlen)
		return TG_ERR_FORMAT;
	*end = e;
	return TG_OK;
}

int tg_key_load_secret(const char *path, unsigned char sk[64])
{
	char text[KEY_FILE_MAX];
	unsigned char k[64], pk[32], sk2[64];
	const char *end;
	size_t len = 0;
	int r;

	if ((r = read_key_file(path, 1, text, sizeof(text), &len)) != TG_OK)
		goto out;
	if ((r = decode_field(text, SECRET_PREFIX, k, sizeof(k), &end)) != TG_OK)
		goto out;
	if (strcmp(end, "\n") != 0 && *end != '\0') {
		r = TG_ERR_FORMAT;
		goto out;
	}
	/* the public half stored in the secret key must be the seed's */
	if (crypto_sign_seed_keypair(pk, sk2, k) != 0 || sodium_memcmp(sk2, k, sizeof(k)) != 0) {
		r = TG_ERR_FORMAT;
		goto out;
	}
	memcpy(sk, k, sizeof(k));
	r = TG_OK;
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(sk2, sizeof(sk2));
	return r;
}

int tg_key_load_public(const char *path, unsigned char pk[32])
{
	char text[KEY_FILE_MAX], id[TG_REC_KEY_ID_LEN + 1];
	unsigned char k[32];
	const char *end;
	size_t len = 0;
	int r;

	if ((r = read_key_file(path, 0, text, sizeof(text), &len)) != TG_OK)
		return r;
	if ((r = decode_field(text, PUBLIC_PREFIX, k, sizeof(k), &end)) != TG_OK)
		return r;
	/* the key id, when present, must be this key's: a mismatch is a damaged file */
	if (*end == ' ') {
		tg_key_id(k, id);
		if (strncmp(end + 1, id, TG_REC_KEY_ID_LEN) != 0 ||
		    (end[1 + TG_REC_KEY_ID_LEN] != '\n' && end[1 + TG_REC_KEY_ID_LEN] != '\0'))
			return TG_ERR_FORMAT;
		end += 1 + TG_REC_KEY_ID_LEN;
	}
	if (*end != '\0' && strcmp(end, "\n") != 0)
		return TG_ERR_FORMAT;
	memcpy(pk, k, sizeof(k));
	return TG_OK;
}
