#include "totp.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "tg_error.h"

struct cmp_handle {
	const char *code;
	size_t len;
};

int tgp_alg_parse(const char *s, enum tgp_alg *alg)
{
	if (strcasecmp(s, "sha1") == 0)
		*alg = TGP_ALG_SHA1;
	else if (strcasecmp(s, "sha256") == 0)
		*alg = TGP_ALG_SHA256;
	else if (strcasecmp(s, "sha512") == 0)
		*alg = TGP_ALG_SHA512;
	else
		return TG_ERR_INVALID;
	return TG_OK;
}

const char *tgp_alg_name(enum tgp_alg alg)
{
	switch (alg) {
	case TGP_ALG_SHA256:
		return "sha256";
	case TGP_ALG_SHA512:
		return "sha512";
	default:
		return "sha1";
	}
}

static int oath_flags(enum tgp_alg alg)
{
	switch (alg) {
	case TGP_ALG_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case TGP_ALG_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	default:
		return 0;
	}
}

int tgp_totp_check(const struct tgp_totp *t)
{
	if (t->keylen < TGP_KEY_MIN || t->keylen > TGP_KEY_MAX || t->digits < TGP_DIGITS_MIN ||
	    t->digits > TGP_DIGITS_MAX || t->step < 1 || t->step > 300 ||
	    (t->alg != TGP_ALG_SHA1 && t->alg != TGP_ALG_SHA256 && t->alg != TGP_ALG_SHA512))
		return TG_ERR_FORMAT;
	return TG_OK;
}

int tgp_all_digits(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* liboath's strcmp-like callback: 0 on a match, compared in constant time. */
static int const_time_cmp(void *handle, const char *test_otp)
{
	const struct cmp_handle *h = handle;

	if (strlen(test_otp) != h->len)
		return 1;
	return sodium_memcmp(test_otp, h->code, h->len) == 0 ? 0 : 1;
}

int tgp_totp_verify(const struct tgp_totp *t, time_t now, unsigned window, const char *code,
                    size_t len, uint64_t *step)
{
	struct cmp_handle h = {code, len};
	uint64_t counter = 0;
	int pos = 0, rc;

	if (tgp_totp_check(t) != TG_OK)
		return TG_ERR_FORMAT;
	if (len != t->digits || !tgp_all_digits(code, len))
		return TG_ERR_INVALID;
	if (window > TGP_WINDOW_MAX)
		window = TGP_WINDOW_MAX;
	if (oath_init() != OATH_OK)
		return TG_ERR_CRYPTO;
	rc = oath_totp_validate4_callback((const char *)t->key, t->keylen, now, t->step, 0,
	                                  t->digits, window, &pos, &counter, oath_flags(t->alg),
	                                  const_time_cmp, &h);
	if (rc == OATH_INVALID_OTP)
		return TG_ERR_AUTH;
	if (rc < 0)
		return TG_ERR_CRYPTO;
	*step = counter;
	return TG_OK;
}

int tgp_totp_generate(const struct tgp_totp *t, time_t when, char *out, size_t outlen)
{
	char buf[16];

	if (tgp_totp_check(t) != TG_OK)
		return TG_ERR_FORMAT;
	if (outlen < t->digits + 1u)
		return TG_ERR_LIMIT;
	if (oath_init() != OATH_OK)
		return TG_ERR_CRYPTO;
	if (oath_totp_generate2((const char *)t->key, t->keylen, when, t->step, 0, t->digits,
	                        oath_flags(t->alg), buf) != OATH_OK)
		return TG_ERR_CRYPTO;
	memcpy(out, buf, t->digits + 1u);
	sodium_memzero(buf, sizeof(buf));
	return TG_OK;
}
