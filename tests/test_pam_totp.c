/* pam_module/totp.c: RFC 6238 and RFC 4226 vectors, exact digit count, window, step reported. */
#include "tg_test.h"

#include "tg_error.h"
#include "totp.h"

static void rfc_key(struct tgp_totp *t, enum tgp_alg alg)
{
	static const char ascii[] = "1234567890";
	size_t n = alg == TGP_ALG_SHA512 ? 64 : alg == TGP_ALG_SHA256 ? 32 : 20, i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++)
		t->key[i] = (unsigned char)ascii[i % 10];
	t->keylen = n;
	t->alg = alg;
	t->digits = 8;
	t->step = 30;
}

START_TEST(rfc6238_vectors)
{
	const char *dir = getenv("TG_TESTDATA");
	char path[4096], line[256], code[3][16], out[16];
	long long when;
	FILE *f;
	int rows = 0, a;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/totp-vectors.txt", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' ||
		    sscanf(line, "%lld %15s %15s %15s", &when, code[0], code[1], code[2]) != 4)
			continue;
		for (a = 0; a < 3; a++) {
			struct tgp_totp t;
			uint64_t step = 0;

			rfc_key(&t, (enum tgp_alg)a);
			ck_assert_int_eq(tgp_totp_generate(&t, (time_t)when, out, sizeof(out)),
			                 TG_OK);
			ck_assert_str_eq(out, code[a]);
			ck_assert_int_eq(tgp_totp_verify(&t, (time_t)when, 0, code[a], 8, &step),
			                 TG_OK);
			ck_assert_uint_eq(step, (uint64_t)when / 30);
		}
		rows++;
	}
	fclose(f);
	ck_assert_int_eq(rows, 6);
}
END_TEST

/* RFC 4226 appendix D: HOTP is TOTP with a 1 s step at time = counter. */
START_TEST(rfc4226_vectors)
{
	static const char *codes[] = {"755224", "287082", "359152", "969429", "338314",
	                              "254676", "287922", "162583", "399871", "520489"};
	struct tgp_totp t;
	uint64_t step;
	char out[16];
	int i;

	rfc_key(&t, TGP_ALG_SHA1);
	t.digits = 6;
	t.step = 1;
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(tgp_totp_generate(&t, i, out, sizeof(out)), TG_OK);
		ck_assert_str_eq(out, codes[i]);
		ck_assert_int_eq(tgp_totp_verify(&t, i, 0, codes[i], 6, &step), TG_OK);
		ck_assert_uint_eq(step, (uint64_t)i);
	}
}
END_TEST

START_TEST(exact_digits)
{
	struct tgp_totp t;
	uint64_t step;
	char eight[16], six[16];

	rfc_key(&t, TGP_ALG_SHA1);
	ck_assert_int_eq(tgp_totp_generate(&t, 59, eight, sizeof(eight)), TG_OK);
	t.digits = 6;
	ck_assert_int_eq(tgp_totp_generate(&t, 59, six, sizeof(six)), TG_OK);
	/* the 8-digit code ends with the 6-digit one; liboath alone would take the 8 */
	ck_assert_str_eq(six, eight + 2);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, eight, 8, &step), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, six, 5, &step), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, "12a456", 6, &step), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, " 12345", 6, &step), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, "", 0, &step), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, six, 6, &step), TG_OK);
	/* a NUL inside the given length is not a digit */
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, "28\0823", 6, &step), TG_ERR_INVALID);
}
END_TEST

START_TEST(window_and_step)
{
	struct tgp_totp t;
	uint64_t step = 0;
	char code[16];
	const time_t now = 1111111109;

	rfc_key(&t, TGP_ALG_SHA256);
	t.digits = 6;
	ck_assert_int_eq(tgp_totp_generate(&t, now - 30, code, sizeof(code)), TG_OK);
	ck_assert_int_eq(tgp_totp_verify(&t, now, 0, code, 6, &step), TG_ERR_AUTH);
	ck_assert_int_eq(tgp_totp_verify(&t, now, 1, code, 6, &step), TG_OK);
	ck_assert_uint_eq(step, (uint64_t)(now - 30) / 30);
	ck_assert_int_eq(tgp_totp_generate(&t, now + 60, code, sizeof(code)), TG_OK);
	ck_assert_int_eq(tgp_totp_verify(&t, now, 1, code, 6, &step), TG_ERR_AUTH);
	ck_assert_int_eq(tgp_totp_verify(&t, now, 2, code, 6, &step), TG_OK);
	ck_assert_uint_eq(step, (uint64_t)(now + 60) / 30);
}
END_TEST

START_TEST(parameters_checked)
{
	struct tgp_totp t;
	enum tgp_alg alg;
	uint64_t step;

	rfc_key(&t, TGP_ALG_SHA1);
	t.keylen = 9;
	ck_assert_int_eq(tgp_totp_check(&t), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_totp_verify(&t, 59, 1, "123456", 6, &step), TG_ERR_FORMAT);
	t.keylen = 20;
	t.digits = 9;
	ck_assert_int_eq(tgp_totp_check(&t), TG_ERR_FORMAT);
	t.digits = 6;
	t.step = 0;
	ck_assert_int_eq(tgp_totp_check(&t), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_alg_parse("SHA256", &alg), TG_OK);
	ck_assert_int_eq(alg, TGP_ALG_SHA256);
	ck_assert_int_eq(tgp_alg_parse("md5", &alg), TG_ERR_INVALID);
	ck_assert_str_eq(tgp_alg_name(TGP_ALG_SHA512), "sha512");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam totp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc6238_vectors);
	tcase_add_test(tc, rfc4226_vectors);
	tcase_add_test(tc, exact_digits);
	tcase_add_test(tc, window_and_step);
	tcase_add_test(tc, parameters_checked);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
