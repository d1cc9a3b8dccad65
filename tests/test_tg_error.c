#include "tg_test.h"

#include <errno.h>

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

/* Errors of the moment, which a caller tries again later, against those of the file itself,
 * which it does not wait out. */
START_TEST(transient_errors)
{
	ck_assert(tg_err_transient(TG_ERR_SYSTEM, EMFILE));
	ck_assert(tg_err_transient(TG_ERR_SYSTEM, EIO));
	ck_assert(tg_err_transient(TG_ERR_SYSTEM, ENOMEM));
	ck_assert(tg_err_transient(TG_ERR_NOMEM, 0));
	ck_assert(!tg_err_transient(TG_ERR_SYSTEM, ELOOP));
	ck_assert(!tg_err_transient(TG_ERR_SYSTEM, ENAMETOOLONG));
	ck_assert(!tg_err_transient(TG_ERR_SYSTEM, ENOTDIR));
	ck_assert(!tg_err_transient(TG_ERR_NOT_FOUND, EIO));
	ck_assert(!tg_err_transient(TG_ERR_PERM, EMFILE));
	ck_assert(!tg_err_transient(TG_ERR_LIMIT, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_code_has_a_message);
	tcase_add_test(tc, transient_errors);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
