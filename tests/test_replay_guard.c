/* The terminal guard of play and cat (session_recorder/replay_guard.c): what reaches the
 * investigator's terminal of a recorded stream, whatever the writes it comes in. */
#include "tg_test.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "replay.h"

/* Filter s (n bytes) in two writes cut at split (n: one write) into out, for a terminal that
 * is UTF-8 or not (eight_bit); the length. */
static size_t guard_split(struct replay_guard *g, int eight_bit, const char *s, size_t n,
                          size_t split, unsigned char *out)
{
	size_t k;

	replay_guard_init_term(g, eight_bit);
	k = replay_guard_feed(g, out, s, split);
	return k + replay_guard_feed(g, out + k, s + split, n - split);
}

/* s through the guard, whole: checks that every cut into two writes, and one byte a write,
 * gives the same; returns the output (static) and its length in *len. */
static const unsigned char *guard_all_term(struct replay_guard *g, int eight_bit, const char *s,
                                           size_t n, size_t *len)
{
	static unsigned char whole[REPLAY_GUARD_OUT_SIZE(8192)], cut[REPLAY_GUARD_OUT_SIZE(8192)];
	size_t k, m, i;
	uint64_t counts[REPLAY_GUARD_KINDS], unmapped;

	ck_assert_uint_le(n, 8192);
	*len = guard_split(g, eight_bit, s, n, n, whole);
	for (i = 0; i < REPLAY_GUARD_KINDS; i++)
		counts[i] = replay_guard_withheld(g, i);
	unmapped = replay_guard_unmapped(g);
	for (k = 0; k <= n; k++) {
		m = guard_split(g, eight_bit, s, n, k, cut);
		if (m != *len || memcmp(cut, whole, m) != 0)
			ck_abort_msg("cut at %zu of %zu: another output", k, n);
		for (i = 0; i < REPLAY_GUARD_KINDS; i++)
			ck_assert_uint_eq(replay_guard_withheld(g, i), counts[i]);
		ck_assert_uint_eq(replay_guard_unmapped(g), unmapped);
	}
	replay_guard_init_term(g, eight_bit);
	for (k = 0, m = 0; k < n; k++)
		m += replay_guard_feed(g, cut + m, s + k, 1);
	if (m != *len || memcmp(cut, whole, m) != 0)
		ck_abort_msg("a byte a write: another output");
	return whole;
}

static const unsigned char *guard_all(struct replay_guard *g, const char *s, size_t n, size_t *len)
{
	return guard_all_term(g, 0, s, n, len);
}

static uint64_t total(const struct replay_guard *g)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < REPLAY_GUARD_KINDS; i++)
		t += replay_guard_withheld(g, i);
	return t;
}

/* What rendering needs passes byte for byte, and nothing is counted. */
START_TEST(passes)
{
	static const char *const keep[] = {
	    "plain text\r\n",
	    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe2\x9b\x80", /* 0x9b, 0x9c inside chars */
	    "secret\xff\xfe.txt \xa0\xbf\xc0\xc1\xf5",                /* not UTF-8, no C1 */
	    "\b\t\n\v\f\r\x0e\x0f\a\x7f",
	    "\033[H\033[2J\033[10;20H\033[3A\033[B\033[12C\033[D\033[E\033[F\033[5G\033[K",
	    "\033[1K\033[2K\033[J\033[1J\033[3J\033[2L\033[M\033[4P\033[@\033[X\033[S\033[T",
	    "\033[1;24r\033[r\033[s\033[u\033[5d\033[3`\033[2b\033[Z\033[I\033[g\033[3g",
	    "\033[0m\033[1;31m\033[38;5;208m\033[38;2;10;20;30m\033[48:2::1:2:3m\033[4:3m\033[m",
	    "\033[?1049h\033[?1049l\033[?2004h\033[?2004l\033[?25l\033[?25h\033[?1h\033[?7l",
	    "\033[?47h\033[?1047l\033[?1048h\033[?12;25h\033[?2026h\033[4h\033[4l\033[?1J",
	    "\033[2 q\033[!p",
	    "\033(B\033)0\033(0\033*A\033+B\033#8\033#6",
	    "\0337\0338\033M\033D\033E\033H\033=\033>\033c\033N\033n\033o",
	    "\033]0;a title\a\033]2;caf\xc3\xa9\033\\\033]1;icon\a",
	    "\033]8;;https://example.com/x\033\\link\033]8;;\033\\",
	    "\033]8;id=1;file:///etc/passwd\a",
	};
	struct replay_guard g;
	const unsigned char *out;
	size_t i, n;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		out = guard_all(&g, keep[i], strlen(keep[i]), &n);
		if (n != strlen(keep[i]) || memcmp(out, keep[i], n) != 0)
			ck_abort_msg("not passed as it was: case %zu (%zu bytes out)", i, n);
		ck_assert_uint_eq(total(&g), 0);
	}
}
END_TEST

/* Each attack, between two pieces of text: only the text comes out, counted as its kind. */
START_TEST(withholds)
{
	static const struct {
		const char *s;
		enum replay_guard_kind kind;
	} bad[] = {
	    {"\033]52;c;ZWNobyBwd25lZAo=\a", REPLAY_GUARD_CLIPBOARD},
	    {"\033]52;c;ZWNobyBwd25lZAo=\033\\", REPLAY_GUARD_CLIPBOARD},
	    {"\033]52;c;?\a", REPLAY_GUARD_CLIPBOARD},
	    {"\033[6n", REPLAY_GUARD_QUERY},
	    {"\033[5n", REPLAY_GUARD_QUERY},
	    {"\033[?6n", REPLAY_GUARD_QUERY},
	    {"\033[c", REPLAY_GUARD_QUERY},
	    {"\033[0c", REPLAY_GUARD_QUERY},
	    {"\033[>c", REPLAY_GUARD_QUERY},
	    {"\033[=c", REPLAY_GUARD_QUERY},
	    {"\033[x", REPLAY_GUARD_QUERY},
	    {"\033[?2004$p", REPLAY_GUARD_QUERY},
	    {"\033[4$p", REPLAY_GUARD_QUERY},
	    {"\033[>q", REPLAY_GUARD_QUERY},
	    {"\033[>0q", REPLAY_GUARD_QUERY},
	    {"\033[11t", REPLAY_GUARD_QUERY},
	    {"\033[14t", REPLAY_GUARD_QUERY},
	    {"\033[18t", REPLAY_GUARD_QUERY},
	    {"\033[21t", REPLAY_GUARD_QUERY},
	    {"\033P$qm\033\\", REPLAY_GUARD_QUERY},
	    {"\033P+q544e\033\\", REPLAY_GUARD_QUERY},
	    {"\033]4;1;?\a", REPLAY_GUARD_QUERY},
	    {"\033]10;?\a", REPLAY_GUARD_QUERY},
	    {"\033]11;?\033\\", REPLAY_GUARD_QUERY},
	    {"\033]12;?\a", REPLAY_GUARD_QUERY},
	    {"\005", REPLAY_GUARD_QUERY},
	    {"\033Z", REPLAY_GUARD_QUERY},
	    {"\033[1t", REPLAY_GUARD_WINDOW},
	    {"\033[2t", REPLAY_GUARD_WINDOW},
	    {"\033[3;0;0t", REPLAY_GUARD_WINDOW},
	    {"\033[4;9999;9999t", REPLAY_GUARD_WINDOW},
	    {"\033[8;1;1t", REPLAY_GUARD_WINDOW},
	    {"\033[9;1t", REPLAY_GUARD_WINDOW},
	    /* the title stack: play and cat push the investigator's title on it before the
	     * recording and pop it after; a recording's own pop (vim's, cut off before its
	     * push was popped, or one sent on purpose) would leave the recorded title */
	    {"\033[22;0t", REPLAY_GUARD_WINDOW},
	    {"\033[23;2t", REPLAY_GUARD_WINDOW},
	    {"\033[?1000h", REPLAY_GUARD_REPORTING},
	    {"\033[?1002h", REPLAY_GUARD_REPORTING},
	    {"\033[?1003h", REPLAY_GUARD_REPORTING},
	    {"\033[?1004h", REPLAY_GUARD_REPORTING},
	    {"\033[?1005h", REPLAY_GUARD_REPORTING},
	    {"\033[?1006h", REPLAY_GUARD_REPORTING},
	    {"\033[?1015h", REPLAY_GUARD_REPORTING},
	    {"\033[?1016h", REPLAY_GUARD_REPORTING},
	    {"\033[?9h", REPLAY_GUARD_REPORTING},
	    {"\033]50;fixed\a", REPLAY_GUARD_FONT},
	    {"\033]9;you have mail\a", REPLAY_GUARD_NOTIFY},
	    {"\033]777;notify;title;body\a", REPLAY_GUARD_NOTIFY},
	    {"\033Ptmux;\033\033]52;c;eA==\a\033\\", REPLAY_GUARD_PASSTHROUGH},
	    {"\033Pq#0;2;0;0;0#0~~~\033\\", REPLAY_GUARD_STRING},
	    {"\033_Gf=24;AAAA\033\\", REPLAY_GUARD_STRING},
	    {"\033^private\033\\", REPLAY_GUARD_STRING},
	    {"\033Xstart of string\033\\", REPLAY_GUARD_STRING},
	    {"\x9b"
	     "6n",
	     REPLAY_GUARD_C1},
	    {"\xc2\x9b"
	     "6n",
	     REPLAY_GUARD_C1},
	    {"\x9d"
	     "52;c;ZWNobw==\a",
	     REPLAY_GUARD_C1},
	    {"\xc2\x9d"
	     "52;c;ZWNobw==\xc2\x9c",
	     REPLAY_GUARD_C1},
	    {"\x90$qm\x9c", REPLAY_GUARD_C1},
	    {"\x9f"
	     "apc\033\\",
	     REPLAY_GUARD_C1},
	    {"\x9e"
	     "pm\033\\",
	     REPLAY_GUARD_C1},
	    {"\x98"
	     "sos\033\\",
	     REPLAY_GUARD_C1},
	    {"\x9a", REPLAY_GUARD_C1},
	    {"\x85", REPLAY_GUARD_C1},
	    {"\033[?2h", REPLAY_GUARD_OTHER},            /* VT52 mode: another parser */
	    {"\033[?3h", REPLAY_GUARD_OTHER},            /* 132 columns: a resize */
	    {"\033]0;x\xc2\x9cy\a", REPLAY_GUARD_OTHER}, /* a C1 in a title */
	    {"\033]0;x\ty\a", REPLAY_GUARD_OTHER},
	    {"\033]1337;File=name=eA==:eA==\a", REPLAY_GUARD_OTHER},
	    {"\033[2h", REPLAY_GUARD_OTHER}, /* keyboard locked */
	    {"\033[>4;2m", REPLAY_GUARD_OTHER},
	    {"\033]4;1;rgb:00/00/00\a", REPLAY_GUARD_OTHER},
	    {"\033%@", REPLAY_GUARD_OTHER},
	    {"\033 G", REPLAY_GUARD_OTHER},
	    {"\033[5i", REPLAY_GUARD_OTHER},
	};
	struct replay_guard g;
	const unsigned char *out;
	char in[512];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(in, sizeof(in), "a%sb", bad[i].s);
		out = guard_all(&g, in, strlen(in), &n);
		if (n != 2 || memcmp(out, "ab", 2) != 0)
			ck_abort_msg("case %zu: %zu bytes came out, not ab", i, n);
		if (replay_guard_withheld(&g, bad[i].kind) < 1)
			ck_abort_msg("case %zu: not counted as kind %d", i, (int)bad[i].kind);
	}
}
END_TEST

/* Modes: those that draw are kept, reporting ones taken out of the same sequence. */
START_TEST(modes)
{
	static const char in[] = "\033[?1049;1000;25h\033[?1006;1004l\033[?1;2h";
	struct replay_guard g;
	const unsigned char *out;
	size_t n;

	out = guard_all(&g, in, strlen(in), &n);
	ck_assert_uint_eq(n, strlen("\033[?1049;25h\033[?1h"));
	ck_assert(memcmp(out, "\033[?1049;25h\033[?1h", n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_REPORTING), 2);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_OTHER), 1);
}
END_TEST

/* tmux's passthrough carries a clipboard write with its ESCs doubled: none of it gets out,
 * nor does the invalid UTF-8 around it (a U+FFFD each) form a C1 control. */
START_TEST(passthrough_and_utf8)
{
	static const char tmux[] = "x\033Ptmux;\033\033]52;c;ZWNobw==\a\033\\y";
	static const char bytes[] = "\xe0\x82\x9b"
	                            "6n\xc2"
	                            "A\xff";
	struct replay_guard g;
	const unsigned char *out;
	size_t n;

	out = guard_all(&g, tmux, strlen(tmux), &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(out, "xy", 2) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_PASSTHROUGH), 1);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_CLIPBOARD), 1);
	/* an overlong U+009B is no character: U+FFFD, then its bytes are 8-bit C1 controls to
	 * an 8-bit terminal, withheld (0x9b 6 n a CSI); a 0xc2 cut short is U+FFFD too, and a
	 * byte no character holds passes as it is */
	out = guard_all(&g, bytes, strlen(bytes), &n);
	ck_assert_uint_eq(n, 3 + 3 + 1 + 1);
	ck_assert(memcmp(out,
	                 "\xef\xbf\xbd\xef\xbf\xbd"
	                 "A\xff",
	                 n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_C1), 2);
}
END_TEST

/* An OSC far longer than the cap is withheld whole (the guard holds a fixed array), and what
 * follows it is text again. */
START_TEST(overlong)
{
	static char in[8192];
	struct replay_guard g;
	const unsigned char *out;
	size_t n, len;

	memcpy(in, "a\033]0;", 5);
	memset(in + 5, 'x', sizeof(in) - 5);
	memcpy(in + sizeof(in) - 3, "\ab", 2);
	len = sizeof(in) - 1;
	in[len] = '\0';
	ck_assert_uint_le(sizeof(g), REPLAY_GUARD_SEQ_MAX + 512);
	out = guard_all(&g, in, len, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(out, "ab", 2) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_LONG), 1);
	ck_assert_uint_eq(total(&g), 1);
}
END_TEST

/* A backward seek renders the start again: a kind is counted as the most any pass saw. An
 * unfinished sequence at the end is withheld. */
START_TEST(restart_and_end)
{
	static const char s[] = "\033[6n\033[6n";
	unsigned char out[REPLAY_GUARD_OUT_SIZE(16)];
	struct replay_guard g;

	replay_guard_init(&g);
	replay_guard_feed(&g, out, s, strlen(s));
	replay_guard_restart(&g);
	replay_guard_feed(&g, out, s, 4);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_QUERY), 2);
	replay_guard_restart(&g);
	replay_guard_feed(&g, out, s, strlen(s));
	replay_guard_feed(&g, out, s, strlen(s));
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_QUERY), 4);
	ck_assert_uint_eq(replay_guard_feed(&g, out, "\033]52;c;", 7), 0);
	replay_guard_end(&g);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_OTHER), 1);
}
END_TEST

/* No byte 0x80..0x9f in out (n bytes): each is a C1 control to an 8-bit terminal. */
static void assert_no_c1(const unsigned char *out, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i] >= 0x80 && out[i] <= 0x9f)
			ck_abort_msg("%s: byte 0x%02x at %zu reaches an 8-bit terminal", what,
			             out[i], i);
}

/* An 8-bit terminal in the C locale (ASCII): U+00DB is C3 9B in UTF-8, and 9B is CSI there,
 * so "\u00db6n" would be a cursor position query. Each character is '?', counted. */
START_TEST(eight_bit_c_locale)
{
	static const char query[] = "a\xc3\x9b"
	                            "6nb";
	static const char text[] = "caf\xc3\xa9 \xe2\x9b\x80 \xf0\x9f\x98\x80 \xc2\xa0";
	static const char raw[] = "x\x9b"
	                          "6ny\x9d"
	                          "52;c;ZWNobw==\a"
	                          "z\xff";
	static const char cut[] = "\xe2\x9b"
	                          "A\xe9 \xe2\xa9!";
	struct replay_guard g;
	const unsigned char *out;
	size_t n;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C"));
	ck_assert_int_eq(replay_term_8bit(), 1);
	out = guard_all_term(&g, 1, query, strlen(query), &n);
	assert_no_c1(out, n, "C3 9B 6n");
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, "a?6nb", n) == 0);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 1);
	ck_assert_uint_eq(total(&g), 0);

	out = guard_all_term(&g, 1, text, strlen(text), &n);
	assert_no_c1(out, n, "text");
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(out, "caf? ? ? ?", n) == 0);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 4);

	/* raw C1 controls: withheld as to a UTF-8 terminal (an OSC read to its end); a byte no
	 * character holds and that is not 0x80..0x9f passes as it is */
	out = guard_all_term(&g, 1, raw, strlen(raw), &n);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "xyz\xff", n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_C1), 2);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 0);

	/* no character (cut short): its bytes as the terminal reads them, E2 text, then 9B A a
	 * CSI withheld; Latin-1 text, a byte no character holds, as it is */
	out = guard_all_term(&g, 1, cut, strlen(cut), &n);
	assert_no_c1(out, n, "cut short");
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "\xe2\xe9 \xe2\xa9!", n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_C1), 1);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 0);

	/* a UTF-8 terminal gets the same characters as they were */
	out = guard_all_term(&g, 0, text, strlen(text), &n);
	ck_assert_uint_eq(n, strlen(text));
	ck_assert(memcmp(out, text, n) == 0);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 0);
	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	ck_assert_int_eq(replay_term_8bit(), 0);
	setlocale(LC_CTYPE, "C");
}
END_TEST

/* Titles and hyperlinks pass to an 8-bit terminal with printable ASCII text only: the bytes of
 * a character inside a string passed byte for byte may be C1 (9C: ST, ending it early). */
START_TEST(eight_bit_osc)
{
	static const char ascii[] =
	    "\033]0;a title\a\033]8;;https://example.com/\033\\l\033]8;;\033\\";
	static const char title[] = "a\033]2;caf\xc3\xa9\033\\b";
	static const char st[] = "a\033]0;x\xe2\x9c\x93y\ab";
	struct replay_guard g;
	const unsigned char *out;
	size_t n;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C"));
	out = guard_all_term(&g, 1, ascii, strlen(ascii), &n);
	ck_assert_uint_eq(n, strlen(ascii));
	ck_assert(memcmp(out, ascii, n) == 0);
	ck_assert_uint_eq(total(&g), 0);

	out = guard_all_term(&g, 1, title, strlen(title), &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(out, "ab", n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_OTHER), 1);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 0);

	/* 9C ends the string on an 8-bit terminal: withheld there, and what follows is read as
	 * the terminal reads it (93 a C1 control, y text, BEL) */
	out = guard_all_term(&g, 1, st, strlen(st), &n);
	assert_no_c1(out, n, "OSC with 9C");
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(out, "ay\ab", n) == 0);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_OTHER), 1);
	ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_C1), 1);

	/* to a UTF-8 terminal the title with a character passes as before */
	out = guard_all_term(&g, 0, title, strlen(title), &n);
	ck_assert_uint_eq(n, strlen(title));
}
END_TEST

/* An 8-bit terminal in a Latin-1 locale: é is E9 there; a character Latin-1 lacks is '?'. */
START_TEST(eight_bit_latin1)
{
	static const char *const names[] = {
	    "C.ISO-8859-1",     "en_US.ISO-8859-1", "en_US.iso88591",  "en_US",
	    "de_DE.ISO-8859-1", "fr_FR.ISO-8859-1", "en_GB.ISO-8859-1"};
	static const char text[] = "caf\xc3\xa9 \xc3\x9b"
	                           "6n \xe2\x82\xac";
	struct replay_guard g;
	const unsigned char *out;
	const char *got = NULL;
	size_t i, n;

	char dir[] = "/tmp/tg-locale-XXXXXX", cmd[256];

	for (i = 0; i < sizeof(names) / sizeof(names[0]) && got == NULL; i++)
		if (setlocale(LC_CTYPE, names[i]) != NULL &&
		    strcmp(nl_langinfo(CODESET), "ISO-8859-1") == 0)
			got = names[i];
	if (got == NULL && mkdtemp(dir) != NULL) {
		/* none installed (Debian's minimal systems have C and C.UTF-8 only): one of our
		 * own, from the sources of the locales package, found through LOCPATH */
		snprintf(cmd, sizeof(cmd),
		         "localedef -i en_US -f ISO-8859-1 %s/en_US.ISO-8859-1 >/dev/null 2>&1",
		         dir);
		if (system(cmd) == 0 && setenv("LOCPATH", dir, 1) == 0 &&
		    setlocale(LC_CTYPE, "en_US.ISO-8859-1") != NULL &&
		    strcmp(nl_langinfo(CODESET), "ISO-8859-1") == 0)
			got = "en_US.ISO-8859-1 (made with localedef)";
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0); /* the locale stays loaded */
	}
	if (got == NULL) {
		setlocale(LC_CTYPE, "C");
		fprintf(stderr,
		        "eight_bit_latin1: skipped: no ISO-8859-1 locale (tried "
		        "en_US.ISO-8859-1 and others, and localedef -i en_US -f ISO-8859-1: "
		        "apt-get install locales)\n");
		return;
	}
	out = guard_all_term(&g, 1, text, strlen(text), &n);
	assert_no_c1(out, n, got);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(out,
	                 "caf\xe9 \xdb"
	                 "6n ?",
	                 n) == 0);
	ck_assert_int_eq(replay_term_8bit(), 1);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 1); /* the euro sign */
	setlocale(LC_CTYPE, "C");
}
END_TEST

/* A backward seek counts the characters written as '?' as the most of any pass, like the
 * withheld ones, and the report says how many with a hint. */
START_TEST(eight_bit_restart)
{
	static const char s[] = "\xc3\xa9\xc3\xa9";
	unsigned char out[REPLAY_GUARD_OUT_SIZE(16)];
	struct replay_guard g;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C"));
	replay_guard_init_term(&g, 1);
	replay_guard_feed(&g, out, s, strlen(s));
	replay_guard_restart(&g);
	ck_assert_uint_eq(replay_guard_feed(&g, out, s, 2), 1);
	ck_assert_uint_eq(replay_guard_unmapped(&g), 2);
	replay_guard_restart(&g);
	replay_guard_feed(&g, out, s, strlen(s));
	replay_guard_feed(&g, out, s, strlen(s));
	ck_assert_uint_eq(replay_guard_unmapped(&g), 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay_guard");
	TCase *tc = tcase_create("guard");

	tcase_add_test(tc, passes);
	tcase_add_test(tc, withholds);
	tcase_add_test(tc, modes);
	tcase_add_test(tc, passthrough_and_utf8);
	tcase_add_test(tc, overlong);
	tcase_add_test(tc, restart_and_end);
	tcase_add_test(tc, eight_bit_c_locale);
	tcase_add_test(tc, eight_bit_osc);
	tcase_add_test(tc, eight_bit_latin1);
	tcase_add_test(tc, eight_bit_restart);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
