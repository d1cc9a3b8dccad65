/* SHA-256 of request bodies with OpenSSL's EVP interface (see tg_sha256.h). */
#include "tg_sha256.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include "tg_error.h"

#define CHUNK (256 * 1024)

int tg_sha256_mem(const void *p, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(len > 0 ? p : "", len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return TG_ERR_NOMEM;
	return TG_OK;
}

int tg_sha256_fd(int fd, off_t off, uint64_t len, unsigned char out[32])
{
	EVP_MD_CTX *ctx;
	unsigned char *buf;
	uint64_t done = 0;
	unsigned int n32 = 0;
	int r = TG_OK, err;

	if ((buf = malloc(CHUNK)) == NULL)
		return TG_ERR_NOMEM;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	while (done < len) {
		size_t want = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
		ssize_t n = pread(fd, buf, want, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n == 0 ? TG_ERR_TRUNCATED : TG_ERR_SYSTEM;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = TG_ERR_NOMEM;
			goto out;
		}
		done += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, out, &n32) != 1 || n32 != 32)
		r = TG_ERR_NOMEM;
out:
	err = errno; /* pread's, for the caller's message */
	EVP_MD_CTX_free(ctx);
	free(buf);
	errno = err;
	return r;
}
