/*
 * tollgate-replay export (asciicast v2, session_recorder/replay_text.c), fed records
 * directly: the file is included, so that export_rec() runs without a signed recording
 * around it. The input: a flags byte (1: --raw), then records: a byte (its low three bits
 * pick OUT, ERR, IN, RESIZE, NOTE or END, the rest the time step) and a length byte, then
 * the bytes. The export ends as replay_cmd_export() ends it (export_flush()).
 *
 * Invariants: every line is an asciicast event, [time, code, string], in time order; the
 * text of the "o" events (OUT and ERR) and of the "i" events (IN) is each stream's bytes,
 * exactly, when they are UTF-8, and with --raw, each "b" event put in place of the event
 * before it gives back the exact bytes of its stream whatever they are ("each "b" put in
 * place of its event gives back the exact stream"); and replaced counts the U+FFFD put in.
 */
#include <fcntl.h>
#include <jansson.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../session_recorder/replay_text.c"
#include "fuzz.h"
#include "fuzz_records.h"

#define MAX_RECORDS 4096

static int out_fd = -1, saved_stdout = -1;

static unsigned char *read_out(size_t *n)
{
	off_t end = lseek(out_fd, 0, SEEK_END);
	unsigned char *b;

	if (end < 0 || (b = malloc((size_t)end + 1)) == NULL)
		abort();
	if (end > 0 && pread(out_fd, b, (size_t)end, 0) != (ssize_t)end)
		abort();
	b[end] = '\0';
	*n = (size_t)end;
	return b;
}

/* Check the events in out against the streams' bytes (want[0]: OUT and ERR, want[1]: IN). */
static void check_events(const struct export_ctx *c, unsigned char *out, size_t n,
                         struct tg_buf want[2])
{
	struct tg_buf got[2] = {TG_BUF_VOID, TG_BUF_VOID}, exact[2] = {TG_BUF_VOID, TG_BUF_VOID};
	unsigned char *line = out, *nl, *raw = NULL;
	size_t raw_len, last_len = 0;
	int last = -1, k;
	double last_t = 0;
	uint64_t fffd = 0;

	for (k = 0; k < 2; k++) {
		tg_buf_init(&got[k], SIZE_MAX / 2);
		tg_buf_init(&exact[k], SIZE_MAX / 2);
	}
	for (; line < out + n; line = nl + 1) {
		json_t *j, *s;
		json_error_t err;
		const char *code, *text;
		size_t len;

		nl = memchr(line, '\n', (size_t)(out + n - line));
		FUZZ_CHECK(nl != NULL); /* each event a line */
		j = json_loadb((const char *)line, (size_t)(nl - line), JSON_ALLOW_NUL, &err);
		if (j == NULL)
			fprintf(stderr, "not JSON: %.*s (%s)\n", (int)(nl - line), line, err.text);
		FUZZ_CHECK(j != NULL && json_is_array(j) && json_array_size(j) == 3);
		FUZZ_CHECK(json_is_number(json_array_get(j, 0)));
		FUZZ_CHECK(json_number_value(json_array_get(j, 0)) >= last_t);
		last_t = json_number_value(json_array_get(j, 0));
		FUZZ_CHECK(json_is_string(json_array_get(j, 1)));
		s = json_array_get(j, 2);
		FUZZ_CHECK(json_is_string(s));
		code = json_string_value(json_array_get(j, 1));
		text = json_string_value(s);
		len = json_string_length(s);
		/* the terminal-safe dump: no DEL or C1 control raw in the line */
		for (const unsigned char *p = line; p < nl; p++)
			FUZZ_CHECK(*p != 0x7f &&
			           !(p[0] == 0xc2 && p + 1 < nl && p[1] >= 0x80 && p[1] <= 0x9f));
		if (strcmp(code, "b") == 0) {
			/* stands for the event before it, an "o" or an "i" */
			FUZZ_CHECK(c->raw && last >= 0);
			raw = malloc(len + 1);
			FUZZ_CHECK(raw != NULL);
			FUZZ_CHECK(sodium_base642bin(raw, len + 1, text, len, NULL, &raw_len, NULL,
			                             sodium_base64_VARIANT_ORIGINAL) == 0);
			exact[last].len -= last_len;
			FUZZ_CHECK(tg_buf_append(&exact[last], raw, raw_len) == TG_OK);
			free(raw);
			last = -1;
		} else if (strcmp(code, "o") == 0 || strcmp(code, "i") == 0) {
			k = code[0] == 'i';
			FUZZ_CHECK(len > 0);
			for (size_t i = 0; i + 3 <= len; i++)
				if (memcmp(text + i, TG_UTF8_REPLACEMENT, 3) == 0)
					fffd++;
			FUZZ_CHECK(tg_buf_append(&got[k], text, len) == TG_OK);
			FUZZ_CHECK(tg_buf_append(&exact[k], text, len) == TG_OK);
			last = k;
			last_len = len;
		} else {
			FUZZ_CHECK(strcmp(code, "r") == 0 || strcmp(code, "m") == 0);
			last = -1;
		}
		json_decref(j);
	}
	for (k = 0; k < 2; k++) {
		FUZZ_CHECK(
		    tg_utf8_valid(got[k].data ? got[k].data : (const unsigned char *)"", got[k].len));
		if (tg_utf8_valid(want[k].data ? want[k].data : (const unsigned char *)"", want[k].len))
			FUZZ_CHECK(got[k].len == want[k].len &&
			           (got[k].len == 0 ||
			            memcmp(got[k].data, want[k].data, got[k].len) == 0));
		if (c->raw)
			FUZZ_CHECK(exact[k].len == want[k].len &&
			           (exact[k].len == 0 ||
			            memcmp(exact[k].data, want[k].data, exact[k].len) == 0));
		tg_buf_free(&got[k]);
		tg_buf_free(&exact[k]);
	}
	/* each replaced sequence is one U+FFFD (the input may hold some of its own) */
	FUZZ_CHECK(fffd >= c->replaced);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tg_rec_type types[8] = {TG_REC_OUT,  TG_REC_ERR, TG_REC_IN, TG_REC_RESIZE,
	                                          TG_REC_NOTE, TG_REC_OUT, TG_REC_IN, TG_REC_END};
	static struct tg_rec_header h;
	struct export_ctx c;
	struct tg_rec_record rec;
	struct tg_buf want[2] = {TG_BUF_VOID, TG_BUF_VOID};
	size_t pos = 1, nrec = 0, n;
	uint64_t t = 0;
	unsigned char *out;
	int k;

	if (size < 1 || size > (1 << 20))
		return 0;
	if (out_fd < 0) {
		if ((out_fd = memfd_create("fuzz-export", MFD_CLOEXEC)) < 0 ||
		    (saved_stdout = dup(1)) < 0)
			abort();
	}
	fflush(stdout);
	if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0 || dup2(out_fd, 1) < 0)
		abort();

	memset(&c, 0, sizeof(c));
	c.raw = data[0] & 1;
	if (data[0] & 2) {
		c.verified_bytes = size / 2;
		c.unverified_note = "NOT VERIFIED from here";
	}
	tg_buf_init(&c.text, 4 * TG_REC_MAX_PAYLOAD);
	tg_buf_init(&c.bytes, 2 * TG_REC_MAX_PAYLOAD);
	for (k = 0; k < 2; k++)
		tg_buf_init(&want[k], SIZE_MAX / 2);
	while (nrec < MAX_RECORDS &&
	       fuzz_next_record(data, size, &pos, &t, types, 3, nrec + 2, &rec)) {
		unsigned len = (unsigned)rec.len;

		nrec++;
		pos += len;
		if (rec.type == TG_REC_RESIZE) {
			rec.cols = len;
			rec.rows = len > 0 ? rec.data[0] : 0;
			rec.data = NULL;
			rec.len = 0;
		}
		if (rec.type == TG_REC_NOTE &&
		    !tg_utf8_valid(rec.data, rec.len)) /* the reader checks a NOTE is JSON */
			continue;
		if (rec.type == TG_REC_OUT || rec.type == TG_REC_ERR || rec.type == TG_REC_IN)
			FUZZ_CHECK(tg_buf_append(&want[rec.type == TG_REC_IN], rec.data, rec.len) ==
			           TG_OK);
		if (export_rec(&c, &h, &rec) != 0 || rec.type == TG_REC_END)
			break; /* END is a recording's last record */
	}
	if (!c.werr)
		export_flush(&c, c.last_us);
	fflush(stdout);
	if (dup2(saved_stdout, 1) < 0)
		abort();
	FUZZ_CHECK(c.werr == 0);
	FUZZ_CHECK(c.ncarry[0] == 0 && c.ncarry[1] == 0);

	out = read_out(&n);
	check_events(&c, out, n, want);
	free(out);
	tg_buf_free(&c.text);
	tg_buf_free(&c.bytes);
	for (k = 0; k < 2; k++)
		tg_buf_free(&want[k]);
	return 0;
}
