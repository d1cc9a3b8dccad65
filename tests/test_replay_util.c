/* tollgate-replay's helpers: times as search prints and play --from reads them, exit codes, the escape stripper. */
#include "tg_test.h"

#include "replay.h"
#include "tg_error.h"
#include "tg_utf8.h"

START_TEST(times)
{
	static const struct {
		const char *s;
		uint64_t us;
	} ok[] = {
		{"0", 0},
		{"83", 83000000},
		{"83.5", 83500000},
		{"1:23.5", 83500000},
		{"0:01:23.500", 83500000},
		{"1:02:03.456789", 3723456789ULL},
		{"1:02:03.4567891", 3723456789ULL}, /* past microseconds: dropped */
		{"100:00:00", 360000000000ULL},
	};
	static const char *bad[] = {"", ":", "1:", ":1", "1.", ".5", "1:60", "1:60:00", "a", "1e3", "-1", "1:2:3:4", " 1"};
	char buf[32];
	uint64_t us;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		us = 1;
		if (replay_parse_time(ok[i].s, &us) != 0 || us != ok[i].us)
			ck_abort_msg("%s: got %llu", ok[i].s, (unsigned long long)us);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (replay_parse_time(bad[i], &us) == 0)
			ck_abort_msg("'%s' accepted", bad[i]);
	replay_fmt_time(buf, sizeof(buf), 3723456789ULL);
	ck_assert_str_eq(buf, "1:02:03.456");
	replay_fmt_time(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "0:00:00.000");
	/* what search prints, play --from reads back (to the millisecond) */
	ck_assert_int_eq(replay_parse_time("1:02:03.456", &us), 0);
	ck_assert_uint_eq(us, 3723456000ULL);
}
END_TEST

START_TEST(exit_codes)
{
	ck_assert_int_eq(replay_exit_for(TG_OK), REPLAY_EXIT_OK);
	ck_assert_int_eq(replay_exit_for(TG_ERR_UNSEALED), REPLAY_EXIT_UNSEALED);
	ck_assert_int_eq(replay_exit_for(TG_ERR_CHAIN), REPLAY_EXIT_TAMPERED);
	ck_assert_int_eq(replay_exit_for(TG_ERR_BAD_SIGNATURE), REPLAY_EXIT_TAMPERED);
	ck_assert_int_eq(replay_exit_for(TG_ERR_WRONG_KEY), REPLAY_EXIT_TAMPERED);
	ck_assert_int_eq(replay_exit_for(TG_ERR_FORMAT), REPLAY_EXIT_TAMPERED);
}
END_TEST

/* The showing pass found what the verifying pass did not: the file changed in between. */
START_TEST(recheck)
{
	struct replay_opts o;
	struct tg_rec_verdict v;

	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	v.status = TG_OK;
	ck_assert_int_eq(replay_recheck(&o, "x", TG_OK, &v), REPLAY_EXIT_OK);
	/* the gate found it sealed, so all of it was shown: a showing pass that ends unsealed read
	 * another file (cut or rewritten in between), whose tail nothing verified */
	v.status = TG_ERR_UNSEALED;
	ck_assert_int_eq(replay_recheck(&o, "x", TG_OK, &v), REPLAY_EXIT_TAMPERED);
	/* sealed, but with another final hash: another seal than the one verified */
	v.status = TG_OK;
	v.final_hash[0] = 1;
	ck_assert_int_eq(replay_recheck(&o, "x", TG_OK, &v), REPLAY_EXIT_TAMPERED);
	v.final_hash[0] = 0;
	v.status = TG_ERR_CHAIN;
	ck_assert_int_eq(replay_recheck(&o, "x", TG_OK, &v), REPLAY_EXIT_TAMPERED);
	ck_assert_int_eq(replay_recheck(&o, "x", TG_ERR_UNSEALED, &v), REPLAY_EXIT_TAMPERED);
	o.force = 1;
	ck_assert_int_eq(replay_recheck(&o, "x", TG_OK, &v), REPLAY_EXIT_OK);
}
END_TEST

/* Output (input 0) or typed input stripped; with input, '#' marks where a key's sequence ended;
 * in output, '>', '<' and '=' an erase in line to its end, from its start and all of it, '|',
 * '{' and '}' the cursor moved to a column, back and forward, '^' and 'v' up and down, '+',
 * '-' and '_' cells inserted, deleted and erased at the cursor. */
static void strip_as(int input, const char *in, char *out, size_t cap)
{
	struct replay_strip st = REPLAY_STRIP_VOID;
	size_t n = 0;
	int k, j, kept[2];

	st.input = input;
	for (; *in != '\0'; in++) {
		k = replay_strip_byte(&st, (unsigned char)*in, kept);
		for (j = 0; j < k && n + 1 < cap; j++)
			out[n++] = kept[j] == REPLAY_STRIP_KEY           ? '#'
			           : kept[j] == REPLAY_STRIP_ERASE_END   ? '>'
			           : kept[j] == REPLAY_STRIP_ERASE_START ? '<'
			           : kept[j] == REPLAY_STRIP_ERASE_LINE  ? '='
			           : kept[j] == REPLAY_STRIP_COLUMN      ? '|'
			           : kept[j] == REPLAY_STRIP_LEFT        ? '{'
			           : kept[j] == REPLAY_STRIP_RIGHT       ? '}'
			           : kept[j] == REPLAY_STRIP_UP          ? '^'
			           : kept[j] == REPLAY_STRIP_DOWN        ? 'v'
			           : kept[j] == REPLAY_STRIP_INSERT      ? '+'
			           : kept[j] == REPLAY_STRIP_DELETE      ? '-'
			           : kept[j] == REPLAY_STRIP_ERASE_CHARS ? '_'
			                                                 : (char)kept[j];
	}
	if ((k = replay_strip_end(&st)) >= 0 && n + 1 < cap) /* the end of the stream */
		out[n++] = (char)k;
	out[n] = '\0';
}

static void strip(const char *in, char *out, size_t cap)
{
	strip_as(0, in, out, cap);
}

START_TEST(escapes)
{
	char out[256];

	strip("\033[01;32mgreen\033[0m plain", out, sizeof(out));
	ck_assert_str_eq(out, "green plain");
	strip("\033]0;title\007after", out, sizeof(out)); /* OSC ended by BEL */
	ck_assert_str_eq(out, "after");
	strip("\033]8;;http://x\033\\link\033]8;;\033\\", out, sizeof(out)); /* OSC ended by ST */
	ck_assert_str_eq(out, "link");
	strip("\033(Bascii\0337\0338", out, sizeof(out)); /* charset, save/restore cursor */
	ck_assert_str_eq(out, "ascii");
	strip("\033P1$r0m\033\\dcs gone", out, sizeof(out));
	ck_assert_str_eq(out, "dcs gone");
	strip("a\033[?1049hb\033[2Jc\033[10;20Hd", out, sizeof(out));
	ck_assert_str_eq(out, "abcd");
	strip("bell\007 nul-free\x01\x7f", out, sizeof(out));
	ck_assert_str_eq(out, "bell nul-free");
	strip("tab\tnl\ncr\rbs\b", out, sizeof(out)); /* kept for the line builder */
	ck_assert_str_eq(out, "tab\tnl\ncr\rbs\b");
	strip("caf\xc3\xa9", out, sizeof(out)); /* UTF-8 is text */
	ck_assert_str_eq(out, "caf\xc3\xa9");
	/* a newline, return, backspace or tab inside a sequence is done there, as a terminal
	 * does it, and the sequence goes on: no line is joined to the next */
	strip("a\033[1\n;31mb\033\n[0mc\033(\rBd\033\b", out, sizeof(out));
	ck_assert_str_eq(out, "a\nb\nc\rd\b");
	strip("\033[1;2\030x", out, sizeof(out)); /* CAN aborts a sequence */
	ck_assert_str_eq(out, "x");
	strip("\033OAx\x15\x7f", out, sizeof(out)); /* output: SS3 shifts one character */
	ck_assert_str_eq(out, "Ax");
	/* C1 controls as UTF-8 are controls to a UTF-8 terminal: CSI, OSC ended by ST, NEL */
	strip("a\xc2\x9b"
	      "1;31mb\xc2\x9d"
	      "0;t\xc2\x9c"
	      "c\xc2\x85"
	      "d",
	      out, sizeof(out));
	ck_assert_str_eq(out, "abcd");
	strip("\xc2\xa9 \xc2\xc2\x9bK.", out, sizeof(out)); /* U+00A9 is text, a lone 0xc2 too */
	ck_assert_str_eq(out, "\xc2\xa9 \xc2>.");
	/* erase in line is said, for search to apply; another CSI ending in K is not it */
	strip("a\033[Kb\033[0Kc\033[1Kd\033[2Ke\xc2\x9b"
	      "2Kf\033[3Kg\033[?1Kh\033[1;2Ki",
	      out, sizeof(out));
	ck_assert_str_eq(out, "a>b>c<d=e=fghi");
	strip_as(1, "a\033[Kb", out, sizeof(out)); /* typed: a key's */
	ck_assert_str_eq(out, "a#b");
	/* the cursor's moves on its line too (the count in param), not those with another
	 * parameter or a private one */
	strip("a\033[5Gb\033[Dc\033[2Cd\033[3`e\xc2\x9b"
	      "7Gf\033[1;2Gg\033[?5Dh",
	      out, sizeof(out));
	ck_assert_str_eq(out, "a|b{c}d|e|fgh");
	/* and between the rows of a line wider than the terminal: up, down */
	strip("a\033[Ab\033[2Bc\033[?1Ad", out, sizeof(out));
	ck_assert_str_eq(out, "a^bvcd");
	/* and edits of the cursor's row: cells inserted (ICH), deleted (DCH), erased (ECH); not
	 * with another parameter, a private one or an intermediate (CSI n SP @ scrolls) */
	strip("a\033[@b\033[3Pc\033[0Xd\xc2\x9b"
	      "2@e\033[1;2Pf\033[?1Xg\033[1 @h",
	      out, sizeof(out));
	ck_assert_str_eq(out, "a+b-c_d+efgh");
	{
		struct replay_strip st = REPLAY_STRIP_VOID;
		int kept[2];
		const char *in = "\033[12D";

		while (*in != '\0' && replay_strip_byte(&st, (unsigned char)*in, kept) == 0)
			in++;
		ck_assert_int_eq(kept[0], REPLAY_STRIP_LEFT);
		ck_assert_uint_eq(st.param, 12);
	}
	strip("5\xc2", out, sizeof(out)); /* a lone 0xc2 that ends the stream: text too */
	ck_assert_str_eq(out, "5\xc2");
}
END_TEST

/*
 * An 8-bit C1 control outside a UTF-8 character is one to the guard (what play shows): CSI
 * (0x9b), OSC (0x9d) and the strings' introducers start what they start, the others go. Read
 * otherwise, 0x9d and a C1 CSI after it hid the letter after a BEL (and the digits before it)
 * from search while play showed them. Inside a character, a 0x80..0x9f byte is text.
 */
START_TEST(c1_8bit)
{
	char out[256];

	strip("\x9d\xc2\x9b\007r\x9d\xc2\x9b\007m 4111", out, sizeof(out));
	ck_assert_str_eq(out, "rm 4111");
	strip("x\x9by\x85z", out, sizeof(out));
	ck_assert_str_eq(out, "xz");
	strip("a\x9b"
	      "2Kb",
	      out, sizeof(out)); /* withheld by the guard: no erase either */
	ck_assert_str_eq(out, "ab");
	strip("\x90q\x9cshown", out, sizeof(out));
	ck_assert_str_eq(out, "shown");
	/* U+201B ends in 0x9b; 0xe0 0x9b is no character: the 0x9b is CSI */
	strip("\xe2\x80\x9b-\xe0\x9bZz", out, sizeof(out));
	ck_assert_str_eq(out, "\xe2\x80\x9b-\xe0z");
	/* a character cut across the bytes fed one by one is still one */
	strip("\xf0\x9f\x98\x80!", out, sizeof(out));
	ck_assert_str_eq(out, "\xf0\x9f\x98\x80!");
	/* typed input: left as it was */
	strip_as(1, "x\x9by", out, sizeof(out));
	ck_assert_str_eq(out, "x\x9by");
}
END_TEST

/*
 * An ESC inside a string (OSC, DCS, SOS, PM, APC) that is not ST cuts the string off and starts
 * a sequence of its own, as a terminal (and the guard, play's view) reads it: what follows is
 * on the screen, and must not be hidden from search until a BEL.
 */
START_TEST(string_cut_by_esc)
{
	char out[256];

	strip("a\033]0;t\033[msecret\007b", out, sizeof(out));
	ck_assert_str_eq(out, "asecretb");
	strip("\033]0;t\033\033[1mx", out, sizeof(out)); /* ESC ESC: the second starts it */
	ck_assert_str_eq(out, "x");
	strip("\033Pq\033(Bshown", out, sizeof(out)); /* a DCS cut off by a charset */
	ck_assert_str_eq(out, "shown");
	strip("\xc2\x9d"
	      "0;t\xc2\x1b[mz",
	      out, sizeof(out)); /* an OSC as C1, an ESC after a 0xc2 */
	ck_assert_str_eq(out, "z");
	strip("\033]0;t\033\\kept", out, sizeof(out)); /* ST still ends it */
	ck_assert_str_eq(out, "kept");
}
END_TEST

/*
 * An 8-bit ST (a 0x9c byte, raw or inside a character) ends a DCS, SOS, PM or APC string, and
 * an OSC begun by a C1 control, as the guard reads it: what follows is shown by play, and must
 * be searched. An OSC begun by ESC ] ends at any raw 0x9c, also one inside what would be a
 * UTF-8 character: the guard ends it there for an 8-bit terminal (a non-UTF-8 locale), and at
 * any once it is over-long for every terminal.
 */
START_TEST(string_cut_by_st8)
{
	char out[256];

	strip("\033Px\xc4\x9csecret\033\\", out, sizeof(out));
	ck_assert_str_eq(out, "secret");
	strip("\033_x\x9cshown\007", out, sizeof(out));
	ck_assert_str_eq(out, "shown");
	strip("\xc2\x9d"
	      "0;t\x9cshown\007",
	      out, sizeof(out)); /* an OSC as C1 */
	ck_assert_str_eq(out, "shown");
	strip("\xc2\x90q\xc4\x9cshown\033\\", out, sizeof(out)); /* a DCS as C1 */
	ck_assert_str_eq(out, "shown");
	strip("\033]0;a\x9c"
	      "b\007c",
	      out, sizeof(out));
	ck_assert_str_eq(out, "bc");
	strip("\033]0;a\xc4\x9c"
	      "b\007c",
	      out, sizeof(out));
	ck_assert_str_eq(out, "bc");
	{
		/* over-long: any 0x9c ends it, one inside a character too */
		char in[5000];
		size_t n = 0;

		n += (size_t)snprintf(in, sizeof(in), "\033]0;");
		memset(in + n, 'A', 4500);
		n += 4500;
		snprintf(in + n, sizeof(in) - n,
		         "\xc4\x9c"
		         "shown\007");
		strip(in, out, sizeof(out));
		ck_assert_str_eq(out, "shown");
	}
}
END_TEST

/* A BEL, CAN or SUB after a 0xc2 in an OSC ends it all the same, as the guard reads it: the
 * 0xc2 begins no ST there. */
START_TEST(string_end_after_c2)
{
	char out[256];

	strip("\033]0;t\xc2\007shown", out, sizeof(out));
	ck_assert_str_eq(out, "shown");
	strip("\033]0;t\xc2\030shown", out, sizeof(out));
	ck_assert_str_eq(out, "shown");
	strip("\033]0;t\xc2\xc2\x1a"
	      "shown",
	      out, sizeof(out));
	ck_assert_str_eq(out, "shown");
	strip("\033]0;t\xc2\xa9\xc2\x9c"
	      "shown",
	      out, sizeof(out)); /* U+00A9 in the title, then ST as C1 */
	ck_assert_str_eq(out, "shown");
}
END_TEST

/*
 * In output, a byte past ASCII inside an escape or control sequence ends it there and is read
 * afresh, as the guard (what play shows) reads it: a zero-width space after ESC [ must not take
 * the letter (or the digits) after it out of what search sees.
 */
START_TEST(sequence_cut_by_byte)
{
	char out[256];

	strip("\033[\xe2\x80\x8br\033[\xe2\x80\x8bm 4111\033[\xc3\xa9"
	      "12",
	      out, sizeof(out));
	ck_assert_str_eq(out, "\xe2\x80\x8br\xe2\x80\x8bm 4111\xc3\xa9"
	                      "12");
	strip("a\033\xc3\xa9"
	      "b\033(\xc3\xa9"
	      "c",
	      out, sizeof(out)); /* after ESC, and after its intermediate */
	ck_assert_str_eq(out, "a\xc3\xa9"
	                      "b\xc3\xa9"
	                      "c");
	strip("\033[1\xc2\x9b"
	      "2Kx",
	      out, sizeof(out)); /* a C1 CSI (as UTF-8) cuts one off too */
	ck_assert_str_eq(out, "=x");
	/* typed input is keys: unchanged */
	strip_as(1, "\033[\xc3\xa9x", out, sizeof(out));
	ck_assert_str_eq(out, "#");
}
END_TEST

/* Typed input: keys' sequences go whole, the erasing controls stay for search to apply. */
START_TEST(input_keys)
{
	char out[256];

	strip_as(1, "\033[Als\033OBx\033Ny", out, sizeof(out)); /* CSI, SS3, SS2 keys */
	ck_assert_str_eq(out, "#ls#x#");
	strip_as(1, "a\033[1;5Cb\033[3~c\033bd\033\033[De", out, sizeof(out)); /* Alt+b, Alt+Left */
	ck_assert_str_eq(out, "a#b#c#d#e");
	strip_as(1, "\033[200~paste\033[201~\033[2000~", out,
	         sizeof(out)); /* paste marks: no key */
	ck_assert_str_eq(out, "paste#");
	strip_as(1, "x\x7fy\by\x15z\r", out, sizeof(out));
	ck_assert_str_eq(out, "x\x7fy\by\x15z\r");
	strip_as(1, "vi\033\rk", out, sizeof(out)); /* ESC then Enter: the Enter counts */
	ck_assert_str_eq(out, "vi\rk");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay_util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, times);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, escapes);
	tcase_add_test(tc, string_cut_by_esc);
	tcase_add_test(tc, string_cut_by_st8);
	tcase_add_test(tc, string_end_after_c2);
	tcase_add_test(tc, c1_8bit);
	tcase_add_test(tc, sequence_cut_by_byte);
	tcase_add_test(tc, input_keys);
	tcase_add_test(tc, recheck);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
