#include "tg_test.h"

#include <dlfcn.h>

#include "tg_buf.h"
#include "tg_error.h"

/*
 * The block a growing tg_buf is about to let go of, and whether it was still
 * holding data when it went: free() and realloc() below (this program's
 * own, called by tg_buf.c linked into it) look at it before the real ones
 * run. Once a block is back with the allocator nothing portable can read it,
 * so this checks what tg_buf hands over, not the allocator's memory. Under
 * valgrind, which replaces free and realloc wherever they are, and under
 * AddressSanitizer, only the contents are checked.
 */
/* volatile: the compiler takes free() and malloc() for the C library's, which touch none of
 * these */
static const unsigned char *volatile watched;
static volatile size_t watched_len;
static volatile int released_unwiped, calls;

/* AddressSanitizer has its own free and realloc, and our dlsym() of the next ones would recurse
 * into them: with it, as under valgrind, only the contents are checked. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

#ifndef NO_INTERPOSE
static void look_at(void *p)
{
	size_t i;

	calls++;
	if (p == NULL || p != watched)
		return;
	for (i = 0; i < watched_len; i++)
		if (watched[i] != 0) {
			released_unwiped++;
			break;
		}
	watched = NULL;
}

void free(void *p)
{
	static void (*real)(void *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "free");
	look_at(p);
	real(p);
}

void *realloc(void *p, size_t n)
{
	static void *(*real)(void *, size_t);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "realloc");
	look_at(p); /* realloc may move the data and free the old block as it is */
	return real(p, n);
}
#endif

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

/*
 * A secret read into a tg_buf (a google-authenticator file) must not be left
 * in a block given back unwiped when the buffer grows; and growing keeps
 * the contents, at every size up to the cap.
 */
START_TEST(growth_keeps_contents_and_wipes_the_old_block)
{
	struct tg_buf b = TG_BUF_VOID;
	static unsigned char want[70000];
	size_t i, n, step;
	int before = calls, watching;
	void *volatile probe = malloc(1); /* volatile: the pair is not optimised away */

	free(probe);
	watching = calls > before;
	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(1 + i % 251); /* never 0: a wiped byte shows */
	for (step = 1; step <= 4099; step += 349) {
		tg_buf_init(&b, sizeof(want));
		for (n = 0; n < sizeof(want); n += step) {
			size_t len = n + step <= sizeof(want) ? step : sizeof(want) - n;
			int grows = watching && b.len + len + 1 > b.alloc && b.data != NULL;
			const unsigned char *old = b.data;

			if (grows) {
				watched = b.data;
				watched_len = b.len;
			}
			ck_assert_int_eq(tg_buf_append(&b, want + n, len), TG_OK);
			ck_assert_int_eq(released_unwiped, 0);
			if (grows && b.data != old)
				ck_assert_ptr_null(watched); /* the old block was given back */
			watched = NULL;
			ck_assert_uint_eq(b.len, n + len);
			ck_assert_uint_eq(b.data[b.len], 0);
			ck_assert(memcmp(b.data, want, b.len) == 0);
		}
		ck_assert_int_eq(tg_buf_append(&b, "x", 1), TG_ERR_LIMIT);
		tg_buf_free_secret(&b);
	}
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
	tcase_add_test(tc, growth_keeps_contents_and_wipes_the_old_block);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
