#include "tg_test.h"

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What tg_log hands to syslog, caught here instead of the system log (with _FORTIFY_SOURCE
 * the library calls the _chk variants; the plain ones can be replaced only without it). */
static char syslog_got[512];

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)pri;
	(void)flag;
	vsnprintf(syslog_got, sizeof(syslog_got), fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vsyslog_chk(pri, flag, fmt, ap);
	va_end(ap);
}

#if !defined(__USE_FORTIFY_LEVEL) || __USE_FORTIFY_LEVEL == 0
void vsyslog(int pri, const char *fmt, va_list ap)
{
	__vsyslog_chk(pri, 0, fmt, ap);
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__vsyslog_chk(pri, 0, fmt, ap);
	va_end(ap);
}
#endif

START_TEST(sequences)
{
	/* a whole text: every character whole and valid, a NUL byte included */
	ck_assert(tg_utf8_valid("", 0));
	ck_assert(tg_utf8_valid("a\0\xc3\xa9\xe2\x9c\xbc", 7));
	ck_assert(!tg_utf8_valid("a\xbc", 2));    /* what is left of U+273C after 0x9C */
	ck_assert(!tg_utf8_valid("caf\xc3", 4));  /* cut short at the end */
	ck_assert(!tg_utf8_valid("\xc0\xaf", 2)); /* overlong */
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"a", 1), 1);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xc3\xa9", 2), 2);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xe2\x82\xac", 3), 3);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xe2\x82", 2), -1);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xf0\x9f", 2), -1);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xc0\x80", 2), 0); /* overlong NUL */
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xe0\x80\x80", 3), 0); /* overlong */
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4),
	                 0); /* > U+10FFFF */
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\x80", 1), 0);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xff", 1), 0);
	ck_assert_int_eq(tg_utf8_seq((const unsigned char *)"\xc3(", 2), 0);
}
END_TEST

/* What tg_log writes to stderr (a terminal, often) carries no control sequence from its
 * arguments: a key or a server's message with ESC in it is shown escaped. */
START_TEST(log_stderr_is_terminal_safe)
{
	char path[] = "/tmp/tg-log-XXXXXX", got[512];
	int fd = mkstemp(path), saved = dup(2);
	FILE *f;
	size_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, 2), 2);
	tg_log_init("t", TG_LOG_STDERR, 0);
	tg_log(LOG_ERR, "key %s: %s", "a\x1b]0;owned\x07" "b", "\xc2\x9b" "31m");
	/* to an 8-bit terminal a character's bytes are text and C1 controls: an escape */
	tg_log_set_ascii(1);
	tg_log(LOG_ERR, "user %s",
	       "\xc3\x9b"
	       "6n");
	tg_log_set_ascii(0);
	tg_log(LOG_ERR, "user %s", "\xc3\xa9");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	close(fd);
	unlink(path);
	ck_assert_str_eq(got, "t: key a\\x1b]0;owned\\x07b: \\u009b31m\n"
	                      "t: user \\u00db6n\n"
	                      "t: user \xc3\xa9\n");
	ck_assert_ptr_null(strchr(got, '\x1b'));
}
END_TEST

/* The recorder logs to syslog what the recorded user can choose (its parent's process name):
 * no line break to forge a log line with, no control sequence for whoever reads the log. */
START_TEST(log_syslog_is_terminal_safe)
{
	tg_log_init("t", TG_LOG_SYSLOG, LOG_USER);
	tg_log(LOG_WARNING, "possible escape: started by '%s'",
	       "sh\nsshd[1]: Accepted publickey for root\x1b[2J");
	closelog();
	tg_log_init("t", TG_LOG_STDERR, 0);
	ck_assert_str_eq(syslog_got, "possible escape: started by 'sh\\x0asshd[1]: Accepted "
	                             "publickey for root\\x1b[2J'");
}
END_TEST

static void safe_is(const char *in, const char *want)
{
	char *got = tg_text_safe(in);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

/* What a recording says reaches the investigator's terminal without its controls. */
START_TEST(safe_text)
{
	safe_is("plain text\tand tab", "plain text\tand tab");
	safe_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
	safe_is("ls \x1b]0;PWNED\x07\x1b[2J", "ls \\x1b]0;PWNED\\x07\\x1b[2J");
	safe_is("a\rb\nc\x7f", "a\\x0db\\x0ac\\x7f");
	safe_is("csi \xc2\x9b"
	        "2J",
	        "csi \\u009b2J"); /* C1 written as UTF-8 */
	safe_is("csi \x9b"
	        "2J",
	        "csi \\x9b2J");                   /* C1 as a lone byte */
	safe_is("\xc0\xff", "\\xc0\\xff");        /* bytes that never appear in UTF-8 */
	safe_is("\xc3\xa9\xa9", "\xc3\xa9\\xa9"); /* one continuation too many */
}
END_TEST

/* A right-to-left override in a command or a name shows "txt.kcab" as "back.txt" on a
 * terminal or log viewer that does bidi, and a line separator breaks the line there: these
 * are escaped, the characters around them kept. */
START_TEST(safe_text_reordering)
{
	safe_is("cp /etc/shadow /tmp/\xe2\x80\xaetxt.kcab", "cp /etc/shadow /tmp/\\u202etxt.kcab");
	safe_is("a\xe2\x80\xa8"
	        "b\xd8\x9c"
	        "c\xe2\x81\xa6"
	        "d\xe2\x80\x8f"
	        "e\xe2\x80\x8e"
	        "f\xe2\x81\xa9"
	        "g\xe2\x80\xa9",
	        "a\\u2028b\\u061cc\\u2066d\\u200fe\\u200ef\\u2069g\\u2029");
	/* their neighbours are text: U+2027, U+202F (narrow no-break space), U+2065, U+206A,
	 * U+200D (joiner, in emoji), U+061B */
	safe_is("\xe2\x80\xa7 \xe2\x80\xaf \xe2\x81\xa5 \xe2\x81\xaa \xe2\x80\x8d \xd8\x9b",
	        "\xe2\x80\xa7 \xe2\x80\xaf \xe2\x81\xa5 \xe2\x81\xaa \xe2\x80\x8d \xd8\x9b");
	ck_assert(tg_utf8_reorders(0x202e) && tg_utf8_reorders(0x061c) &&
	          !tg_utf8_reorders(0x202f));
}
END_TEST

/* Bytes that do not make a valid character are escaped one by one, whatever lead byte came
 * before them: to an 8-bit terminal the \x9b of "\xe0\x9b" is CSI. */
START_TEST(text_safe_escapes_invalid_sequences)
{
	safe_is("\xe0\x9b[2J", "\\xe0\\x9b[2J");             /* overlong lead, then C1 */
	safe_is("\xc3\x01\x9b[2J", "\\xc3\\x01\\x9b[2J");    /* a control between */
	safe_is("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
	safe_is("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	safe_is("caf\xc3", "caf\\xc3");                      /* cut short by the end */
	safe_is("\xc3\xc3\xa9", "\\xc3\xc3\xa9");
	safe_is("\xc2\x9b"
	        "2J \xc2\xa0 \xf0\x9f\x98\x80",
	        "\\u009b2J \xc2\xa0 \xf0\x9f\x98\x80");
}
END_TEST

/* For an 8-bit terminal every character that is not ASCII is an escape: its UTF-8 bytes are
 * Latin-1 text and C1 controls there (C3 9B: a CSI). */
START_TEST(text_safe_ascii)
{
	char *got =
	    tg_text_safe_mode("\xc3\x9b"
	                      "6n caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \xc2\x9b \x9b\xff\x1b",
	                      1);
	char out[4 * 4 + 1];

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "\\u00db6n caf\\u00e9 \\u20ac \\U0001f511 \\u009b \\x9b\\xff\\x1b");
	free(got);
	/* the longest escape for the fewest bytes still fits in 4 a byte */
	tg_text_safe_to_mode(out, "\xf4\x8f\xbf\xbf", 1);
	ck_assert_str_eq(out, "\\U0010ffff");
	ck_assert_uint_eq(tg_utf8_code((const unsigned char *)"A", 1), 0x41);
	ck_assert_uint_eq(tg_utf8_code((const unsigned char *)"\xc3\x9b", 2), 0xdb);
	ck_assert_uint_eq(tg_utf8_code((const unsigned char *)"\xe2\x82\xac", 3), 0x20ac);
	ck_assert_uint_eq(tg_utf8_code((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 0x10ffff);
	tg_text_safe_to_mode(out, "\xc3\xa9", 0);
	ck_assert_str_eq(out, "\xc3\xa9");
}
END_TEST

START_TEST(sanitize)
{
	struct tg_buf b = TG_BUF_VOID;
	size_t bad = 99;

	tg_buf_init(&b, 100);
	ck_assert_int_eq(tg_utf8_sanitize(&b, "ok\xff\xc3\xa9!\xe2\x82", 8, &bad), TG_OK);
	/* a stray byte, then a character cut short: one U+FFFD each */
	ck_assert_str_eq(tg_buf_str(&b), "ok\xef\xbf\xbd\xc3\xa9!\xef\xbf\xbd");
	ck_assert_uint_eq(bad, 2);
	tg_buf_reset(&b);
	ck_assert_int_eq(tg_utf8_sanitize(&b, "\xe2\x82x\xf0\x9f\x98y\xed\xa0\x80", 10, &bad),
	                 TG_OK);
	ck_assert_str_eq(tg_buf_str(&b),
	                 "\xef\xbf\xbdx\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_uint_eq(bad, 5);
	ck_assert_uint_eq(tg_utf8_invalid_len((const unsigned char *)"\xe2\x82x", 3), 2);
	ck_assert_uint_eq(tg_utf8_invalid_len((const unsigned char *)"\xed\xa0", 2), 1);
	tg_buf_free(&b);
	tg_buf_init(&b, 4);
	ck_assert_int_eq(tg_utf8_sanitize(&b, "\xff\xff", 2, NULL), TG_ERR_LIMIT);
	tg_buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_test(tc, sequences);
	tcase_add_test(tc, sanitize);
	tcase_add_test(tc, safe_text);
	tcase_add_test(tc, safe_text_reordering);
	tcase_add_test(tc, text_safe_escapes_invalid_sequences);
	tcase_add_test(tc, text_safe_ascii);
	tcase_add_test(tc, log_stderr_is_terminal_safe);
	tcase_add_test(tc, log_syslog_is_terminal_safe);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
