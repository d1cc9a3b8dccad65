/*
 * TOTP (RFC 6238) over liboath, with the two checks liboath leaves to its
 * caller: the code must have exactly the configured number of digits (liboath
 * takes the length from the string it is given), and the comparison is
 * constant time (liboath's own is strcmp).
 */
#ifndef TGP_TOTP_H
#define TGP_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TGP_KEY_MIN 10 /* bytes; shorter keys are refused (RFC 4226 asks for 16, GA makes 10) */
#define TGP_KEY_MAX 64
#define TGP_DIGITS_MIN 6
#define TGP_DIGITS_MAX 8
#define TGP_WINDOW_MAX 10

enum tgp_alg {
	TGP_ALG_SHA1 = 0,
	TGP_ALG_SHA256 = 1,
	TGP_ALG_SHA512 = 2,
};

struct tgp_totp {
	unsigned char key[TGP_KEY_MAX];
	size_t keylen;
	enum tgp_alg alg;
	unsigned digits; /* 6..8 */
	unsigned step;   /* seconds, 1..300 */
};

/* "sha1", "sha256", "sha512" (any case) to an enum; TG_ERR_INVALID otherwise. */
int tgp_alg_parse(const char *s, enum tgp_alg *alg);
const char *tgp_alg_name(enum tgp_alg alg);

/* Parameters are in range and the key long enough; TG_OK or TG_ERR_FORMAT. */
int tgp_totp_check(const struct tgp_totp *t);

/*
 * Is code (len bytes, not NUL-terminated necessarily) the code of a time step
 * within window steps of now? On a match *step is that time step
 * (floor(time / t->step)). TG_ERR_INVALID when code is not exactly t->digits
 * ASCII digits (it is then never compared), TG_ERR_AUTH on no match,
 * TG_ERR_CRYPTO on a liboath failure.
 */
int tgp_totp_verify(const struct tgp_totp *t, time_t now, unsigned window, const char *code,
                    size_t len, uint64_t *step) __attribute__((warn_unused_result));

/* The code of the time step holding `when` into out (t->digits + 1 bytes). */
int tgp_totp_generate(const struct tgp_totp *t, time_t when, char *out, size_t outlen);

/* True when p[0..len) is non-empty and all ASCII digits. */
int tgp_all_digits(const char *p, size_t len);

#endif
