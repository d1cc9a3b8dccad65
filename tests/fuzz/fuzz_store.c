/*
 * Central secret store reader: tgp_store_open() over arbitrary plain text,
 * sealed here under a fixed key so that the fuzzer reaches the text parser
 * behind the MAC (and, for inputs that start with the magic, over the raw
 * bytes as they would be on disk). A text that opens must pass
 * tgp_totp_check() and survive tgp_store_seal() then tgp_store_open()
 * unchanged.
 */
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "secret_store.h"
#include "tg_error.h"

#define MAGIC "TGTOTP01"
#define USER "alice"
#define BLOB_MAX (TGP_STORE_MAX + 64)

static const unsigned char key[crypto_secretbox_KEYBYTES] = "tollgate fuzz store key 32 bytes";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char blob[BLOB_MAX], again[BLOB_MAX];
	const size_t head = 8 + crypto_secretbox_NONCEBYTES;
	struct tgp_secret *s, *s2;
	size_t len;

	if (sodium_init() < 0)
		abort();
	if ((s = tgp_secret_new()) == NULL || (s2 = tgp_secret_new()) == NULL)
		abort();
	/* the bytes as a file: the framing checks */
	if (tgp_store_open(key, USER, data, size, s) == TG_OK)
		FUZZ_CHECK(tgp_totp_check(&s->totp) == TG_OK);
	if (head + crypto_secretbox_MACBYTES + size > sizeof(blob))
		goto out;
	memcpy(blob, MAGIC, 8);
	memset(blob + 8, 0x5a, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(blob + head, data, size, blob + 8, key);
	if (tgp_store_open(key, USER, blob, head + crypto_secretbox_MACBYTES + size, s) != TG_OK)
		goto out;
	FUZZ_CHECK(tgp_totp_check(&s->totp) == TG_OK);
	FUZZ_CHECK(s->scratch.n <= TGP_SCRATCH_MAX);
	FUZZ_CHECK(tgp_store_seal(key, USER, s, again, sizeof(again), &len) == TG_OK);
	FUZZ_CHECK(tgp_store_open(key, USER, again, len, s2) == TG_OK);
	FUZZ_CHECK(memcmp(&s->totp, &s2->totp, sizeof(s->totp)) == 0);
	FUZZ_CHECK(memcmp(&s->scratch, &s2->scratch, sizeof(s->scratch)) == 0);
	/* sealed for alice: never opens as somebody else */
	FUZZ_CHECK(tgp_store_open(key, "bob", again, len, s2) != TG_OK);
out:
	tgp_secret_free(s);
	tgp_secret_free(s2);
	return 0;
}
