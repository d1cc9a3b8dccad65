#include "tg_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

const char *tg_strerror(int code)
{
	switch (code) {
	case TG_OK: return "success";
	case TG_ERR_SYSTEM: return "system error";
	case TG_ERR_NOMEM: return "out of memory";
	case TG_ERR_LIMIT: return "size limit reached";
	case TG_ERR_INVALID: return "invalid argument";
	case TG_ERR_PARSE: return "parse error";
	case TG_ERR_PERM: return "unsafe ownership or permissions";
	case TG_ERR_NOT_FOUND: return "not found";
	case TG_ERR_EXISTS: return "already exists";
	case TG_ERR_FORMAT: return "corrupt or malformed data";
	case TG_ERR_BAD_SIGNATURE: return "bad signature";
	case TG_ERR_CHAIN: return "hash chain broken";
	case TG_ERR_TRUNCATED: return "truncated input";
	case TG_ERR_UNSEALED: return "not sealed";
	case TG_ERR_CRYPTO: return "cryptographic failure";
	case TG_ERR_IO: return "input/output error";
	case TG_ERR_NET: return "network error";
	case TG_ERR_HTTP: return "unexpected HTTP status";
	case TG_ERR_AUTH: return "authentication failed";
	case TG_ERR_REPLAY: return "already used";
	case TG_ERR_RATE_LIMITED: return "rate limited";
	case TG_ERR_VERSION: return "unsupported version";
	case TG_ERR_RETRY: return "temporary failure";
	case TG_ERR_CONFIG: return "configuration error";
	case TG_ERR_INTERRUPTED: return "interrupted";
	case TG_ERR_WRONG_KEY: return "signed by another key";
	}
	return "unknown error";
}

void tg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int tg_err_transient(int r, int err)
{
	if (r == TG_ERR_NOMEM)
		return 1;
	if (r != TG_ERR_SYSTEM)
		return 0;
	switch (err) {
	case EIO:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOBUFS:
	case EAGAIN:
	case EINTR:
		return 1;
	default:
		return 0;
	}
}
