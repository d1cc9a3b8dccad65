/*
 * tollgate-replay export --format asciicast, parsed back with jansson: the
 * header, every event's time and code, the output text (invalid UTF-8 as
 * U+FFFD, characters split across records joined, the sequences that act on
 * the terminal withheld as play's guard withholds them), input, resize and
 * note events, and --raw's exact bytes.
 */
#include "tg_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <sys/wait.h>

#include "replay.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_rec.h"
#include "tg_utf8.h"

static char *dir, rec_path[4096], pub_path[4096], cmd_path[4096], conf_path[4096];
static unsigned char all_bytes[256];

struct ev {
	double t;
	char code[4];
	unsigned char data[1024];
	size_t len;
};

/* What was written, in order, for the checks. */
static const struct {
	enum tg_rec_type type;
	uint64_t t;
	const char *data;
	size_t len;
} script[] = {
    {TG_REC_OUT, 0, "$ ", 2},
    {TG_REC_IN, 500000, "ls\r", 3},
    {TG_REC_OUT, 600000, "caf\xc3", 4},
    {TG_REC_OUT, 600001, "\xa9 \xff\xfe!", 5},
    {TG_REC_ERR, 700000, "\xe2\x82", 2},
    {TG_REC_ERR, 700002, "\xac\r\n", 3},
    /* a clipboard write and a cursor position query, cut across records */
    {TG_REC_OUT, 750000, "\x1b]52;c;cm0gLXJmIH4K\x07\x1b[6", 23},
    {TG_REC_OUT, 750001, "n\x1b]5", 4},
    {TG_REC_ERR, 750002, "2;c;QQ==\x1b\\\x1b[1;31mred\x1b[0m", 24},
    {TG_REC_RESIZE, 800000, NULL, 0},
    {TG_REC_NOTE, 900000, "{\"event\":\"x\"}", 13},
    {TG_REC_OUT, 1000000, (const char *)all_bytes, 256},
    {TG_REC_OUT, 1500000, "\xf0", 1},
    {TG_REC_OUT, 1500001, "\x9f", 1},
    {TG_REC_OUT, 1500002, "\x98\x80", 2},
    {TG_REC_OUT, 2500000, "end \xf0\x9f", 6},
};

static void setup(void)
{
	unsigned char pk[32], sk[64];
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta m;
	const char *b = getenv("TG_TOP_BUILDDIR");
	size_t i;
	int fd;

	ck_assert_int_ge(sodium_init(), 0);
	for (i = 0; i < 256; i++)
		all_bytes[i] = (unsigned char)i;
	dir = tg_test_tmpdir();
	snprintf(cmd_path, sizeof(cmd_path), "%s/session_recorder/tollgate-replay", b ? b : ".");
	snprintf(rec_path, sizeof(rec_path), "%s/x.tgr", dir);
	snprintf(pub_path, sizeof(pub_path), "%s/signing.pub", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/tollgate.conf", dir);
	fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* empty: every default */
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tg_key_generate(pk, sk), TG_OK);
	ck_assert_int_eq(tg_key_save_public(pub_path, pk), TG_OK);
	memset(&m, 0, sizeof(m));
	memset(m.session_id, 0x5a, sizeof(m.session_id));
	m.user = "bob";
	m.host = "db-2";
	m.client_addr = "198.51.100.7";
	m.start_us = 1764380000123456ULL;
	m.mode = "interactive";
	m.term = "screen";
	m.cols = 100;
	m.rows = 30;
	fd = open(rec_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &m, sk), TG_OK);
	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		if (script[i].type == TG_REC_RESIZE)
			ck_assert_int_eq(tg_rec_write_resize(w, script[i].t, 132, 43), TG_OK);
		else if (script[i].type == TG_REC_NOTE)
			ck_assert_int_eq(tg_rec_write_note(w, script[i].t, script[i].data), TG_OK);
		else
			ck_assert_int_eq(tg_rec_write_data(w, script[i].type, script[i].t,
			                                   script[i].data, script[i].len),
			                 TG_OK);
	}
	ck_assert_int_eq(tg_rec_seal(w, 3000000, "{\"exit_status\":0}"), TG_OK);
	tg_rec_writer_free(w);
	close(fd);
	sodium_memzero(sk, sizeof(sk));
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

static const char *jstr(json_t *j)
{
	return json_is_string(j) ? json_string_value(j) : "";
}

/* Run export; the header in *hdr, the events in ev[]; returns their count. */
static size_t export(int raw, json_t **hdr, struct ev *ev, size_t max)
{
	char cmd[16384], line[65536];
	json_error_t jerr;
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' -c '%s' --key '%s' export --format asciicast %s '%s'",
	         cmd_path, conf_path, pub_path, raw ? "--raw" : "", rec_path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	*hdr = json_loads(line, 0, &jerr);
	ck_assert_msg(*hdr != NULL, "header: %s", jerr.text);
	while (fgets(line, sizeof(line), p) != NULL) {
		json_t *e = json_loads(line, JSON_ALLOW_NUL, &jerr), *d;

		ck_assert_msg(json_is_array(e) && json_array_size(e) == 3, "event line: %s", line);
		ck_assert_uint_lt(n, max);
		ck_assert(json_is_real(json_array_get(e, 0)));
		ev[n].t = json_real_value(json_array_get(e, 0));
		ck_assert(json_is_string(json_array_get(e, 1)));
		snprintf(ev[n].code, sizeof(ev[n].code), "%s",
		         json_string_value(json_array_get(e, 1)));
		d = json_array_get(e, 2);
		ck_assert(json_is_string(d));
		ck_assert_uint_le(json_string_length(d), sizeof(ev[n].data));
		memcpy(ev[n].data, json_string_value(d), json_string_length(d));
		ev[n].len = json_string_length(d);
		json_decref(e);
		n++;
	}
	st = pclose(p);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	return n;
}

START_TEST(header_and_events)
{
	struct ev ev[64];
	json_t *h = NULL;
	struct tg_buf want = TG_BUF_VOID, got = TG_BUF_VOID, raw_out = TG_BUF_VOID;
	size_t n, i, bad = 0;
	int saw_r = 0, saw_m = 0, saw_i = 0;

	n = export(0, &h, ev, 64);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "version")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "width")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "height")), 30);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "timestamp")), 1764380000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "env"), "TERM")),
	                 "screen");
	ck_assert_str_eq(
	    jstr(json_object_get(json_object_get(json_object_get(h, "tollgate"), "header"),
	                         "session_id")),
	    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	json_decref(h);

	/* the output text is the UTF-8 repair of the whole output stream, in order */
	tg_buf_init(&want, 1 << 20);
	tg_buf_init(&got, 1 << 20);
	tg_buf_init(&raw_out, 1 << 20);
	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++)
		if (script[i].type == TG_REC_OUT || script[i].type == TG_REC_ERR)
			ck_assert_int_eq(tg_buf_append(&raw_out, script[i].data, script[i].len),
			                 TG_OK);
	ck_assert_int_eq(tg_utf8_sanitize(&want, raw_out.data, raw_out.len, &bad), TG_OK);
	ck_assert_uint_gt(bad, 100);
	/* ... as a player gets it: through play's guard (a UTF-8 terminal) */
	{
		static unsigned char out[REPLAY_GUARD_OUT_SIZE(4096)];
		struct replay_guard g;

		ck_assert_uint_le(want.len, 4096);
		replay_guard_init(&g);
		raw_out.len = 0;
		ck_assert_int_eq(
		    tg_buf_append(&raw_out, out, replay_guard_feed(&g, out, want.data, want.len)),
		    TG_OK);
		replay_guard_end(&g);
		ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_CLIPBOARD), 2);
		/* the cursor position query, and the ENQ of all_bytes */
		ck_assert_uint_eq(replay_guard_withheld(&g, REPLAY_GUARD_QUERY), 2);
		tg_buf_reset(&want);
		ck_assert_int_eq(tg_buf_append(&want, raw_out.data, raw_out.len), TG_OK);
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			ck_assert(ev[i].t >= ev[i - 1].t);
		if (strcmp(ev[i].code, "o") == 0) {
			ck_assert_int_eq(tg_buf_append(&got, ev[i].data, ev[i].len), TG_OK);
		} else if (strcmp(ev[i].code, "r") == 0) {
			saw_r = 1;
			ck_assert(fabs(ev[i].t - 0.8) < 1e-7);
			ck_assert_uint_eq(ev[i].len, 6);
			ck_assert_mem_eq(ev[i].data, "132x43", 6);
		} else if (strcmp(ev[i].code, "m") == 0) {
			saw_m = 1;
			ck_assert(fabs(ev[i].t - 0.9) < 1e-7);
		} else if (strcmp(ev[i].code, "i") == 0) {
			saw_i = 1;
			ck_assert(fabs(ev[i].t - 0.5) < 1e-7);
			ck_assert_mem_eq(ev[i].data, "ls\r", 3);
		} else {
			ck_abort_msg("unexpected event code %s", ev[i].code);
		}
	}
	ck_assert(saw_r && saw_m && saw_i);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);
	/* none of what acts on the terminal, whole or cut across records; colours stay */
	ck_assert_ptr_null(memmem(got.data, got.len, "]52", 3));
	ck_assert_ptr_null(memmem(got.data, got.len, "\x1b[6n", 4));
	ck_assert_ptr_null(memmem(got.data, got.len, "QQ==", 4));
	ck_assert_ptr_null(memmem(got.data, got.len, "cm0gLXJmIH4K", 12));
	ck_assert_ptr_nonnull(memmem(got.data, got.len, "\x1b[1;31mred\x1b[0m", 14));
	/* the split é and € come whole, in the event of the record that completed them */
	ck_assert_ptr_nonnull(memmem(got.data, got.len, "caf\xc3\xa9", 5));
	ck_assert_ptr_nonnull(memmem(got.data, got.len, "\xe2\x82\xac\r\n", 5));
	/* and one split across three records */
	ck_assert_ptr_nonnull(memmem(got.data, got.len, "\xf0\x9f\x98\x80", 4));
	for (i = 0; i < n; i++)
		if (strcmp(ev[i].code, "o") == 0 &&
		    memmem(ev[i].data, ev[i].len, "\xe2\x82\xac", 3) != NULL)
			ck_assert(fabs(ev[i].t - 0.700002) < 1e-7);
	/* a character cut off by the end of the recording is one U+FFFD at the end */
	ck_assert_mem_eq(got.data + got.len - 7, "end " TG_UTF8_REPLACEMENT, 7);
	tg_buf_free(&want);
	tg_buf_free(&got);
	tg_buf_free(&raw_out);
}
END_TEST

START_TEST(raw_bytes_kept)
{
	struct ev ev[64];
	json_t *h = NULL;
	struct tg_buf want = TG_BUF_VOID, got = TG_BUF_VOID;
	size_t n, i, nb = 0;

	n = export(1, &h, ev, 64);
	ck_assert_str_eq(jstr(json_object_get(json_object_get(h, "tollgate"), "invalid_utf8")),
	                 "U+FFFD, exact bytes in \"b\" events");
	json_decref(h);
	tg_buf_init(&want, 1 << 20);
	tg_buf_init(&got, 1 << 20);
	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++)
		if (script[i].type == TG_REC_OUT || script[i].type == TG_REC_ERR)
			ck_assert_int_eq(tg_buf_append(&want, script[i].data, script[i].len),
			                 TG_OK);
	/* each "b" in place of the "o" before it gives back the exact output, held bytes too */
	for (i = 0; i < n; i++) {
		unsigned char bin[400];
		size_t blen = 0;

		if (strcmp(ev[i].code, "o") != 0) {
			ck_assert_str_ne(ev[i].code, "b");
			continue;
		}
		if (i + 1 == n || strcmp(ev[i + 1].code, "b") != 0) {
			ck_assert_int_eq(tg_buf_append(&got, ev[i].data, ev[i].len), TG_OK);
			continue;
		}
		nb++;
		i++;
		ck_assert_int_eq(sodium_base642bin(bin, sizeof(bin), (const char *)ev[i].data,
		                                   ev[i].len, NULL, &blen, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL),
		                 0);
		ck_assert_int_eq(tg_buf_append(&got, bin, blen), TG_OK);
	}
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);
	/* "\xa9 \xff\xfe!" (with the \xc3 before it), the 256 bytes, the cut-off end */
	ck_assert_uint_eq(nb, 3);
	tg_buf_free(&want);
	tg_buf_free(&got);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay_export");
	TCase *tc = tcase_create("export");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, header_and_events);
	tcase_add_test(tc, raw_bytes_kept);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
