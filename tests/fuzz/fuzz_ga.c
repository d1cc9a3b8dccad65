/*
 * google-authenticator file parser: tgp_ga_parse() over arbitrary text, and
 * tgp_ga_rewrite() on what parsed. Invariants: a parsed secret passes
 * tgp_totp_check(); every scratch code's line number is a real line; the file
 * rewritten without its first scratch code, or with DISALLOW_REUSE updated,
 * still parses, to one code fewer (or as many), under the same key.
 */
#include <string.h>

#include "fuzz.h"
#include "ga_file.h"
#include "tg_buf.h"
#include "tg_error.h"

static struct tgp_secret *reparse(const struct tg_buf *b, struct tgp_ga *ga)
{
	struct tgp_secret *s = tgp_secret_new();

	if (s == NULL)
		abort();
	FUZZ_CHECK(tgp_ga_parse((const char *)b->data, b->len, s, ga) == TG_OK);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tgp_secret *s, *s2;
	struct tg_buf out = TG_BUF_VOID;
	struct tgp_ga ga, ga2;
	unsigned i;

	if (size > TGP_GA_MAX)
		return 0; /* tgp_ga_read() refuses larger files */
	if ((s = tgp_secret_new()) == NULL)
		abort();
	if (tgp_ga_parse((const char *)data, size, s, &ga) != TG_OK)
		goto out;
	FUZZ_CHECK(tgp_totp_check(&s->totp) == TG_OK);
	FUZZ_CHECK(s->scratch.n <= TGP_SCRATCH_MAX);
	for (i = 0; i < s->scratch.n; i++)
		FUZZ_CHECK(ga.scratch_line[i] > 0 &&
		           (i == 0 || ga.scratch_line[i] > ga.scratch_line[i - 1]));

	tg_buf_init(&out, TGP_GA_MAX + 1024);
	if (s->scratch.n > 0) {
		FUZZ_CHECK(tgp_ga_rewrite((const char *)data, size, ga.scratch_line[0], 0, &out) ==
		           TG_OK);
		s2 = reparse(&out, &ga2);
		FUZZ_CHECK(s2->scratch.n == s->scratch.n - 1);
		FUZZ_CHECK(s2->totp.keylen == s->totp.keylen &&
		           memcmp(s2->totp.key, s->totp.key, s->totp.keylen) == 0);
		tgp_secret_free(s2);
		tg_buf_reset(&out);
	}
	if (ga.disallow_reuse) {
		FUZZ_CHECK(tgp_ga_rewrite((const char *)data, size, -1, 56666667, &out) == TG_OK);
		s2 = reparse(&out, &ga2);
		FUZZ_CHECK(ga2.disallow_reuse && s2->scratch.n == s->scratch.n);
		FUZZ_CHECK(s2->totp.step == s->totp.step && ga2.window == ga.window);
		tgp_secret_free(s2);
	}
out:
	tg_buf_free(&out);
	tgp_secret_free(s);
	return 0;
}
