#include "scratch.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tg_error.h"
#include "totp.h"

int tgp_scratch_hash(const struct tgp_scratch *s, const char *code,
                     unsigned char out[TGP_SCRATCH_HASH])
{
	if (crypto_generichash(out, TGP_SCRATCH_HASH, (const unsigned char *)code,
	                       TGP_SCRATCH_DIGITS, s->salt, sizeof(s->salt)) != 0)
		return TG_ERR_CRYPTO;
	return TG_OK;
}

int tgp_scratch_generate(struct tgp_scratch *s, unsigned n, char codes[][TGP_SCRATCH_DIGITS + 1])
{
	unsigned i;
	int r;

	if (n > TGP_SCRATCH_MAX)
		return TG_ERR_LIMIT;
	randombytes_buf(s->salt, sizeof(s->salt));
	s->n = 0;
	for (i = 0; i < n; i++) {
		/* 10000000..99999999: always 8 digits, no leading zero to lose */
		unsigned v = 10000000u + randombytes_uniform(90000000u);

		snprintf(codes[i], TGP_SCRATCH_DIGITS + 1, "%08u", v);
		if ((r = tgp_scratch_hash(s, codes[i], s->hash[i])) != TG_OK)
			return r;
		s->n++;
	}
	return TG_OK;
}

int tgp_scratch_add(struct tgp_scratch *s, const char *code)
{
	if (s->n >= TGP_SCRATCH_MAX)
		return TG_ERR_LIMIT;
	if (strlen(code) != TGP_SCRATCH_DIGITS || !tgp_all_digits(code, TGP_SCRATCH_DIGITS))
		return TG_ERR_FORMAT;
	if (tgp_scratch_hash(s, code, s->hash[s->n]) != TG_OK)
		return TG_ERR_CRYPTO;
	s->n++;
	return TG_OK;
}

int tgp_scratch_match(const struct tgp_scratch *s, const char *code, size_t len)
{
	unsigned char h[TGP_SCRATCH_HASH];
	unsigned i;
	int found = -1;

	if (len != TGP_SCRATCH_DIGITS || !tgp_all_digits(code, len))
		return -1;
	if (tgp_scratch_hash(s, code, h) != TG_OK)
		return -1;
	for (i = 0; i < s->n && i < TGP_SCRATCH_MAX; i++)
		if (sodium_memcmp(h, s->hash[i], sizeof(h)) == 0 && found < 0)
			found = (int)i;
	sodium_memzero(h, sizeof(h));
	return found;
}
