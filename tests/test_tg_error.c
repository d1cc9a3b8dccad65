#include "tg_test.h"

#include "tg_error.h"

START_TEST(every_code_has_a_message)
{
	int c;

	for (c = TG_ERR_LAST; c <= 0; c++)
		ck_assert_str_ne(tg_strerror(c), "unknown error");
	ck_assert_str_eq(tg_strerror(TG_ERR_LAST - 1), "unknown error");
	ck_assert_str_eq(tg_strerror(1), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_code_has_a_message);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
