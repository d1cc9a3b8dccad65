#include "tg_test.h"

#include "tg_buf.h"
#include "tg_error.h"

START_TEST(append_within_cap)
{
	struct tg_buf b = TG_BUF_VOID;

	tg_buf_init(&b, 10);
	ck_assert_int_eq(tg_buf_append(&b, "hello", 5), TG_OK);
	ck_assert_int_eq(tg_buf_puts(&b, "world"), TG_OK);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(tg_buf_str(&b), "helloworld");
	tg_buf_free(&b);
	tg_buf_free(&b); /* twice is safe */
}
END_TEST

START_TEST(append_past_cap_leaves_buffer_unchanged)
{
	struct tg_buf b = TG_BUF_VOID;

	tg_buf_init(&b, 8);
	ck_assert_int_eq(tg_buf_puts(&b, "1234"), TG_OK);
	ck_assert_int_eq(tg_buf_puts(&b, "56789"), TG_ERR_LIMIT);
	ck_assert_str_eq(tg_buf_str(&b), "1234");
	ck_assert_int_eq(tg_buf_printf(&b, "%d", 12345), TG_ERR_LIMIT);
	ck_assert_int_eq(tg_buf_printf(&b, "%d", 5678), TG_OK);
	ck_assert_str_eq(tg_buf_str(&b), "12345678");
	/* a huge length must not wrap around */
	ck_assert_int_eq(tg_buf_append(&b, "x", SIZE_MAX), TG_ERR_LIMIT);
	tg_buf_free(&b);
}
END_TEST

START_TEST(consume_and_reset)
{
	struct tg_buf b = TG_BUF_VOID;

	tg_buf_init(&b, 1024);
	ck_assert_str_eq(tg_buf_str(&b), "");
	ck_assert_int_eq(tg_buf_puts(&b, "abcdef"), TG_OK);
	tg_buf_consume(&b, 2);
	ck_assert_str_eq(tg_buf_str(&b), "cdef");
	tg_buf_consume(&b, 100);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(tg_buf_puts(&b, "x"), TG_OK);
	tg_buf_reset(&b);
	ck_assert_str_eq(tg_buf_str(&b), "");
	tg_buf_free_secret(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(grows_large)
{
	struct tg_buf b = TG_BUF_VOID;
	char chunk[1000];
	int i;

	memset(chunk, 'a', sizeof(chunk));
	tg_buf_init(&b, 1000 * 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(tg_buf_append(&b, chunk, sizeof(chunk)), TG_OK);
	ck_assert_uint_eq(b.len, 1000 * 1000);
	ck_assert_int_eq(tg_buf_append(&b, "a", 1), TG_ERR_LIMIT);
	ck_assert_uint_le(b.alloc, 1000 * 1000 + 1);
	tg_buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, append_within_cap);
	tcase_add_test(tc, append_past_cap_leaves_buffer_unchanged);
	tcase_add_test(tc, consume_and_reset);
	tcase_add_test(tc, grows_large);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
