/* pam_module/scratch.c: codes are 8 digits, distinct, matched only by their hash. */
#include "tg_test.h"

#include "scratch.h"
#include "tg_error.h"

START_TEST(generate_and_match)
{
	struct tgp_scratch s;
	char codes[TGP_SCRATCH_NEW][TGP_SCRATCH_DIGITS + 1];
	unsigned i, j;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(tgp_scratch_generate(&s, TGP_SCRATCH_NEW, codes), TG_OK);
	ck_assert_uint_eq(s.n, 10);
	for (i = 0; i < TGP_SCRATCH_NEW; i++) {
		ck_assert_uint_eq(strlen(codes[i]), 8);
		ck_assert(codes[i][0] != '0');
		ck_assert_int_eq(tgp_scratch_match(&s, codes[i], 8), (int)i);
		for (j = 0; j < i; j++)
			ck_assert(memcmp(s.hash[i], s.hash[j], TGP_SCRATCH_HASH) != 0);
	}
	ck_assert_int_eq(tgp_scratch_match(&s, "1234567", 7), -1);
	ck_assert_int_eq(tgp_scratch_match(&s, codes[0], 7), -1);
	ck_assert_int_eq(tgp_scratch_match(&s, "abcdefgh", 8), -1);
}
END_TEST

START_TEST(add_and_salt)
{
	struct tgp_scratch a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.salt[0] = 1;
	ck_assert_int_eq(tgp_scratch_add(&a, "12345678"), TG_OK);
	ck_assert_int_eq(tgp_scratch_add(&b, "12345678"), TG_OK);
	ck_assert(memcmp(a.hash[0], b.hash[0], TGP_SCRATCH_HASH) != 0); /* salted */
	ck_assert_int_eq(tgp_scratch_match(&a, "12345678", 8), 0);
	ck_assert_int_eq(tgp_scratch_match(&a, "12345679", 8), -1);
	ck_assert_int_eq(tgp_scratch_add(&a, "1234567"), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_scratch_add(&a, "1234567x"), TG_ERR_FORMAT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam scratch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, generate_and_match);
	tcase_add_test(tc, add_and_salt);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
