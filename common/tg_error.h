/* Tollgate error codes: negative ints, TG_OK is 0, one tg_strerror(). */
#ifndef TG_ERROR_H
#define TG_ERROR_H

#define TG_OK 0
#define TG_ERR_SYSTEM -1          /* see errno */
#define TG_ERR_NOMEM -2           /* allocation failed */
#define TG_ERR_LIMIT -3           /* a hard size or count limit was reached */
#define TG_ERR_INVALID -4         /* invalid argument */
#define TG_ERR_PARSE -5           /* malformed input (config, JSON, ...) */
#define TG_ERR_PERM -6            /* unsafe ownership or mode */
#define TG_ERR_NOT_FOUND -7       /* no such file, key, user or item */
#define TG_ERR_EXISTS -8          /* already exists */
#define TG_ERR_FORMAT -9          /* recording or state file is corrupt */
#define TG_ERR_BAD_SIGNATURE -10  /* signature does not verify */
#define TG_ERR_CHAIN -11          /* hash chain broken */
#define TG_ERR_TRUNCATED -12      /* input ends early */
#define TG_ERR_UNSEALED -13       /* intact, but no end record */
#define TG_ERR_CRYPTO -14         /* libsodium failure */
#define TG_ERR_IO -15             /* short read or write */
#define TG_ERR_NET -16            /* network or transport error */
#define TG_ERR_HTTP -17           /* unexpected HTTP status */
#define TG_ERR_AUTH -18           /* authentication failed */
#define TG_ERR_REPLAY -19         /* one-time code or token already used */
#define TG_ERR_RATE_LIMITED -20   /* too many failures */
#define TG_ERR_VERSION -21        /* unsupported format version */
#define TG_ERR_RETRY -22          /* transient failure, try again later */
#define TG_ERR_CONFIG -23         /* configuration is missing or wrong */
#define TG_ERR_INTERRUPTED -24    /* interrupted by a signal or request */
#define TG_ERR_WRONG_KEY -25      /* signed by another key */
#define TG_ERR_LAST -25

/* Return a static, human-readable description of a TG_ERR_* code. */
const char *tg_strerror(int code);

/* Whether a failure r (TG_ERR_SYSTEM: with errno err) is of the moment, one the same call may
 * not meet again: out of memory or descriptors, an I/O error, an interrupted or busy call. A
 * file that is a symlink, a name too long, a folder missing are not. */
int tg_err_transient(int r, int err);

#include <stddef.h>
/* Write a printf-formatted explanation into err (errlen bytes); no-op when err is NULL. */
void tg_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
