#include "tg_test.h"

#include "rec_mem.h"

#include <jansson.h>
#include <signal.h>
#include <sodium.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_rec.h"

static unsigned char host_pk[32], host_sk[64], other_pk[32], other_sk[64];

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(tg_key_generate(host_pk, host_sk), TG_OK);
	ck_assert_int_eq(tg_key_generate(other_pk, other_sk), TG_OK);
}

#define END_JSON                                                                                   \
	"{\"exit_status\":3,\"duration_us\":5000000,\"bytes\":{\"out\":11,\"err\":2,\"in\":1}}"

/*
 * A small recording: header, checkpoint, data of every kind, a checkpoint in
 * the middle, the seal. Returns its bytes; *final gets the writer's chain hash.
 */
static unsigned char *small_recording(unsigned char sid_fill, size_t *len, unsigned char final[32])
{
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta meta;
	unsigned char *p;
	int fd = mem_fd();

	ck_assert_int_ge(fd, 0);
	test_meta(&meta, sid_fill);
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 1000, "hello ", 6), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 2000, "world", 5), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_IN, 2500, "x", 1), TG_OK);
	ck_assert_int_eq(tg_rec_write_resize(w, 3000, 132, 43), TG_OK);
	ck_assert_int_eq(tg_rec_checkpoint(w, 3500), TG_OK);
	ck_assert_int_eq(tg_rec_write_hidden(w, 4000, 8), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_ERR, 4500, "e!", 2), TG_OK);
	ck_assert_int_eq(tg_rec_write_dropped(w, 4600, TG_REC_OUT, 123456789), TG_OK);
	ck_assert_int_eq(tg_rec_write_note(w, 4700, "{\"event\":\"test\"}"), TG_OK);
	ck_assert_int_eq(tg_rec_seal(w, 5000000, END_JSON), TG_OK);
	if (final != NULL)
		tg_rec_chain_hash(w, final);
	ck_assert_uint_eq(tg_rec_writer_offset(w), (uint64_t)lseek(fd, 0, SEEK_END));
	tg_rec_writer_free(w);
	p = fd_slurp(fd, len);
	close(fd);
	return p;
}

START_TEST(roundtrip_small)
{
	unsigned char *p, final[32];
	size_t len;
	struct mem_src m;
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	const struct tg_rec_header *h;
	struct tg_buf out = TG_BUF_VOID;
	int e, types[32], n = 0, chunk;
	char hex[65];

	p = small_recording(0xab, &len, final);
	for (chunk = 0; chunk <= 7; chunk += 7) {
		m = (struct mem_src){p, len, 0, (size_t)chunk};
		n = 0;
		tg_buf_init(&out, 1024);
		ck_assert_int_eq(tg_rec_reader_open(&r, &src, host_pk), TG_OK);
		h = tg_rec_reader_header(r);
		ck_assert_str_eq(h->user, "alice");
		ck_assert_str_eq(h->host, "web-1");
		ck_assert_str_eq(h->client_addr, "203.0.113.5");
		ck_assert_uint_eq(h->client_port, 51234);
		ck_assert_uint_eq(h->uid, 1000);
		ck_assert_int_eq(h->sshd_pid, 4242);
		ck_assert_uint_eq(h->audit_session, 4240);
		ck_assert_str_eq(h->boot_id, "0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f");
		ck_assert_str_eq(h->session_id, "abababababababababababababababab");
		ck_assert_ptr_null(h->command);
		ck_assert_uint_eq(h->cols, 80);
		ck_assert_uint_eq(h->rows, 24);
		ck_assert_uint_eq(h->start_us, 1764380000000000ULL);
		ck_assert_ptr_nonnull(strstr(tg_rec_reader_header_json(r),
		                             "\"start\":\"2025-11-29T01:33:20.000000Z\""));
		while ((e = tg_rec_reader_next(r, &rec)) > 0) {
			ck_assert_int_lt(n, 32);
			types[n++] = rec.type;
			ck_assert_uint_eq(rec.index, (uint64_t)n + 1);
			if (rec.type == TG_REC_OUT)
				ck_assert_int_eq(tg_buf_append(&out, rec.data, rec.len), TG_OK);
			if (rec.type == TG_REC_RESIZE) {
				ck_assert_uint_eq(rec.cols, 132);
				ck_assert_uint_eq(rec.rows, 43);
				ck_assert_uint_eq(rec.time_us, 3000);
			}
			if (rec.type == TG_REC_IN_HIDDEN)
				ck_assert_uint_eq(rec.hidden, 8);
			if (rec.type == TG_REC_DROPPED) {
				ck_assert_int_eq(rec.stream, TG_REC_OUT);
				ck_assert_uint_eq(rec.dropped, 123456789);
			}
		}
		ck_assert_int_eq(e, 0);
		ck_assert_str_eq(tg_buf_str(&out), "hello world");
		ck_assert_int_eq(n, 12);
		ck_assert_int_eq(types[0], TG_REC_CHECKPOINT);
		ck_assert_int_eq(types[5], TG_REC_CHECKPOINT);
		ck_assert_int_eq(types[10], TG_REC_END);
		ck_assert_int_eq(types[11], TG_REC_CHECKPOINT);
		tg_rec_reader_verdict(r, &v);
		ck_assert_int_eq(v.status, TG_OK);
		ck_assert_int_eq(v.sealed, 1);
		ck_assert_int_eq(v.key_checked, 1);
		ck_assert_uint_eq(v.bytes, len);
		ck_assert_uint_eq(v.verified_bytes, len);
		ck_assert_uint_eq(v.verified_time_us, 5000000);
		ck_assert_uint_eq(v.records, 13);
		ck_assert_mem_eq(v.final_hash, final, 32);
		tg_rec_reader_free(r);
		r = NULL;
		tg_buf_free(&out);
	}
	/* the summary */
	{
		struct tg_rec_summary s;
		char path[] = "/tmp/tg-test.rec.XXXXXX";
		int fd = mkstemp(path);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, p, len), (ssize_t)len);
		close(fd);
		ck_assert_int_eq(tg_rec_summarize(path, host_pk, &s), TG_OK);
		unlink(path);
		ck_assert_int_eq(s.status, TG_OK);
		ck_assert_str_eq(s.user, "alice");
		ck_assert_uint_eq(s.audit_session, 4240);
		ck_assert_str_eq(s.boot_id, "0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f");
		ck_assert_str_eq(s.mode, "interactive");
		ck_assert_uint_eq(s.duration_us, 5000000);
		ck_assert_int_eq(s.has_exit_status, 1);
		ck_assert_int_eq(s.exit_status, 3);
		ck_assert_uint_eq(s.bytes_out, 11);
		ck_assert_uint_eq(s.bytes_err, 2);
		ck_assert_uint_eq(s.file_bytes, len);
		sodium_bin2hex(hex, sizeof(hex), final, 32);
		ck_assert_str_eq(s.final_hash, hex);
		ck_assert_int_eq(tg_rec_summarize("/nonexistent/x.tgr", host_pk, &s),
		                 TG_ERR_NOT_FOUND);
	}
	/* the seal cut off: the END before it is not verified, so not what the summary says */
	{
		struct tg_rec_summary s;
		char path[] = "/tmp/tg-test.rec.XXXXXX";
		int fd = mkstemp(path);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, p, len - 10), (ssize_t)(len - 10));
		close(fd);
		ck_assert_int_eq(tg_rec_summarize(path, host_pk, &s), TG_OK);
		unlink(path);
		ck_assert_int_eq(s.status, TG_ERR_UNSEALED);
		ck_assert_uint_eq(s.verified_time_us, 3500);
		ck_assert_uint_eq(s.duration_us, 3500);
		ck_assert_int_eq(s.has_exit_status, 0);
	}
	free(p);
}
END_TEST

/* Every byte value, no-op empty writes, and data over the payload cap split across records. */
START_TEST(roundtrip_bytes)
{
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta meta;
	unsigned char all[256], *big, *p, *got;
	size_t biglen = 3 * 1024 * 1024 + 12345, len, glen = 0, nout = 0;
	struct mem_src m;
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	int fd = mem_fd(), e, i;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	big = malloc(biglen);
	got = malloc(biglen + 256);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(got);
	randombytes_buf(big, biglen);
	test_meta(&meta, 1);
	meta.command = "printf '\\377' \xff\xfe end"; /* not UTF-8: kept in command_b64 */
	meta.mode = "command";
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 10, "", 0), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 20, all, sizeof(all)), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 30, big, biglen), TG_OK);
	/* a clock stepping back is held still, not refused */
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_ERR, 5, "z", 1), TG_OK);
	ck_assert_int_eq(tg_rec_seal(w, 40, "{}"), TG_OK);
	tg_rec_writer_free(w);
	p = fd_slurp(fd, &len);
	close(fd);
	/* le 1.02 log bytes per output byte */
	ck_assert_uint_lt(len, (biglen + 256) * 102 / 100 + 4096);

	m = (struct mem_src){p, len, 0, 65536 + 17};
	ck_assert_int_eq(tg_rec_reader_open(&r, &src, host_pk), TG_OK);
	ck_assert_ptr_nonnull(tg_rec_reader_header(r)->command);
	ck_assert_ptr_nonnull(strstr(tg_rec_reader_header_json(r), "\"command_b64\""));
	ck_assert_str_eq(tg_rec_reader_header(r)->mode, "command");
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		if (rec.type == TG_REC_OUT) {
			ck_assert_uint_le(rec.len, TG_REC_MAX_PAYLOAD);
			ck_assert_uint_gt(rec.len, 0);
			ck_assert_uint_le(glen + rec.len, biglen + 256);
			memcpy(got + glen, rec.data, rec.len);
			glen += rec.len;
			nout++;
		}
		if (rec.type == TG_REC_ERR)
			ck_assert_uint_eq(rec.time_us, 30);
	}
	ck_assert_int_eq(e, 0);
	ck_assert_uint_eq(nout, 1 + 4); /* 256 bytes, then 3 MiB + a bit in 4 records */
	ck_assert_uint_eq(glen, 256 + biglen);
	ck_assert_mem_eq(got, all, 256);
	ck_assert_int_eq(memcmp(got + 256, big, biglen), 0);
	tg_rec_reader_verdict(r, &v);
	ck_assert_int_eq(v.status, TG_OK);
	tg_rec_reader_free(r);
	free(p);
	free(big);
	free(got);
}
END_TEST

/* A command longer than the header keeps: cut there (on a character boundary), whole in a NOTE.
 * A long command used to make the recording fail to open, which with on_failure = allow ran the
 * session unrecorded. */
START_TEST(long_command)
{
	static const size_t lens[] = {TG_REC_HEADER_COMMAND_MAX, TG_REC_HEADER_COMMAND_MAX + 1,
	                              100000};
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta meta;
	struct mem_src m;
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	unsigned char *p, *dec;
	size_t len, i, k, dlen, notes;
	char *cmd;
	int fd, e;

	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		cmd = malloc(lens[k] + 1);
		dec = malloc(lens[k] + 1);
		ck_assert_ptr_nonnull(cmd);
		ck_assert_ptr_nonnull(dec);
		/* "x", then "é" (2 bytes) on odd offsets, so the cut falls inside a character, and
		 * a byte that is not UTF-8 at the end */
		cmd[0] = 'x';
		for (i = 1; i + 1 < lens[k]; i += 2)
			memcpy(cmd + i, "\xc3\xa9", 2);
		cmd[lens[k] - 1] = '\xff';
		cmd[lens[k]] = '\0';
		fd = mem_fd();
		test_meta(&meta, 7);
		meta.command = cmd;
		meta.mode = "command";
		ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
		ck_assert_int_eq(tg_rec_seal(w, 40, "{}"), TG_OK);
		tg_rec_writer_free(w);
		p = fd_slurp(fd, &len);
		close(fd);
		m = (struct mem_src){p, len, 0, 4096};
		ck_assert_int_eq(tg_rec_reader_open(&r, &src, host_pk), TG_OK);
		ck_assert_uint_le(strlen(tg_rec_reader_header(r)->command),
		                  3 * TG_REC_HEADER_COMMAND_MAX);
		ck_assert_int_eq(strstr(tg_rec_reader_header_json(r), "\"command_length\"") != NULL,
		                 lens[k] > TG_REC_HEADER_COMMAND_MAX);
		/* cut between characters: no U+FFFD (at + 1 the last byte, not UTF-8, ends the cut)
		 */
		if (lens[k] > TG_REC_HEADER_COMMAND_MAX + 1)
			ck_assert_ptr_null(
			    strstr(tg_rec_reader_header(r)->command, "\xef\xbf\xbd"));
		notes = 0;
		while ((e = tg_rec_reader_next(r, &rec)) > 0) {
			json_t *o;

			if (rec.type != TG_REC_NOTE)
				continue;
			o = json_loadb((const char *)rec.data, rec.len, 0, NULL);
			ck_assert_ptr_nonnull(o);
			ck_assert_str_eq(json_string_value(json_object_get(o, "event")), "command");
			ck_assert_int_eq(json_integer_value(json_object_get(o, "length")),
			                 (json_int_t)lens[k]);
			ck_assert(json_is_false(json_object_get(o, "truncated")));
			ck_assert_int_eq(
			    sodium_base642bin(
			        dec, lens[k] + 1,
			        json_string_value(json_object_get(o, "command_b64")),
			        strlen(json_string_value(json_object_get(o, "command_b64"))), NULL,
			        &dlen, NULL, sodium_base64_VARIANT_ORIGINAL),
			    0);
			ck_assert_uint_eq(dlen, lens[k]);
			ck_assert_int_eq(memcmp(dec, cmd, dlen), 0);
			json_decref(o);
			notes++;
		}
		ck_assert_int_eq(e, 0);
		ck_assert_uint_eq(notes, lens[k] > TG_REC_HEADER_COMMAND_MAX ? 1 : 0);
		tg_rec_reader_verdict(r, &v);
		ck_assert_int_eq(v.status, TG_OK);
		tg_rec_reader_free(r);
		free(p);
		free(cmd);
		free(dec);
	}
}
END_TEST

START_TEST(flip_every_byte)
{
	unsigned char *p;
	size_t len, i;
	int bit;

	p = small_recording(2, &len, NULL);
	ck_assert_int_eq(verify_mem(p, len, host_pk, 0, NULL), TG_OK);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit += 7) {
			int st;

			p[i] ^= (unsigned char)(1 << bit);
			st = verify_mem(p, len, host_pk, 0, NULL);
			if (st == TG_OK)
				ck_abort_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
			ck_assert_int_lt(st, 0);
			/* and without a host key, the chain alone still catches it */
			st = verify_mem(p, len, NULL, 0, NULL);
			if (st == TG_OK)
				ck_abort_msg("flip at %zu passes without a host key", i);
			p[i] ^= (unsigned char)(1 << bit);
		}
	}
	free(p);
}
END_TEST

START_TEST(cut_everywhere)
{
	unsigned char *p;
	uint64_t ends[16];
	size_t len, L, n, k;
	struct tg_rec_verdict v;
	struct mem_src m;
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	int e;

	p = small_recording(3, &len, NULL);
	/* checkpoint end offsets, from the reader itself */
	n = 0;
	m = (struct mem_src){p, len, 0, 0};
	ck_assert_int_eq(tg_rec_reader_open(&r, &src, host_pk), TG_OK);
	while ((e = tg_rec_reader_next(r, &rec)) > 0)
		if (rec.type == TG_REC_CHECKPOINT) {
			struct tg_rec_verdict vv;

			tg_rec_reader_verdict(r, &vv);
			ck_assert_uint_gt(vv.verified_bytes, rec.offset + rec.len);
			ends[n++] = vv.verified_bytes;
		}
	tg_rec_reader_free(r);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ends[2], len);
	for (L = 0; L < len; L++) {
		uint64_t want = 0;

		for (k = 0; k < n; k++)
			if (ends[k] <= L)
				want = ends[k];
		ck_assert_int_eq(verify_mem(p, L, host_pk, 3, &v), TG_ERR_UNSEALED);
		if (v.verified_bytes != want)
			ck_abort_msg("cut at %zu: verified %llu bytes, expected %llu", L,
			             (unsigned long long)v.verified_bytes,
			             (unsigned long long)want);
		ck_assert_int_eq(v.sealed, 0);
		ck_assert_uint_le(v.verified_bytes, L);
		/* every byte read is counted, a header cut short's too: L - verified_bytes are
		 * said to be unverifiable */
		if (v.bytes != L)
			ck_abort_msg("cut at %zu: %llu bytes counted", L,
			             (unsigned long long)v.bytes);
		/* a cut between records is not inside one */
		ck_assert_int_eq(v.truncated, L != want || L == 0 || L < ends[0] ? v.truncated : 0);
	}
	ck_assert_int_eq(verify_mem(p, len, host_pk, 3, &v), TG_OK);
	/* one byte too many after the seal */
	p = realloc(p, len + 1);
	p[len] = 0x01;
	ck_assert_int_eq(verify_mem(p, len + 1, host_pk, 0, &v), TG_ERR_FORMAT);
	free(p);
}
END_TEST

/* Split a recording into its records' [offset, end) ranges. */
static size_t records_of(const unsigned char *p, size_t len, uint64_t *off, uint64_t *end,
                         int *type, size_t max)
{
	struct mem_src m = {p, len, 0, 0};
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	size_t n = 0;
	int e;

	ck_assert_int_eq(tg_rec_reader_open(&r, &src, NULL), TG_OK);
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		ck_assert_uint_lt(n, max);
		tg_rec_reader_verdict(r, &v);
		off[n] = rec.offset;
		end[n] = v.bytes;
		type[n] = rec.type;
		n++;
	}
	ck_assert_int_eq(e, 0);
	tg_rec_reader_free(r);
	return n;
}

START_TEST(reorder_detected)
{
	unsigned char *p, *q;
	uint64_t off[32], end[32];
	int type[32];
	size_t len, n, a, b, la, lb;
	struct tg_rec_verdict v;

	p = small_recording(4, &len, NULL);
	n = records_of(p, len, off, end, type, 32);
	/* records 2 and 3 of the list are "hello " and "world" */
	ck_assert_int_eq(type[1], TG_REC_OUT);
	ck_assert_int_eq(type[2], TG_REC_OUT);
	a = 1;
	b = 2;
	la = end[a] - off[a];
	lb = end[b] - off[b];
	q = malloc(len);
	memcpy(q, p, len);
	memcpy(q + off[a], p + off[b], lb);
	memcpy(q + off[a] + lb, p + off[a], la);
	ck_assert_int_eq(verify_mem(q, len, host_pk, 0, &v), TG_ERR_CHAIN);
	/* found at the next checkpoint, with where it is */
	ck_assert_uint_eq(v.fail_offset, off[5]);
	ck_assert_int_eq(type[5], TG_REC_CHECKPOINT);
	ck_assert_uint_eq(v.fail_index, 7);
	ck_assert_uint_eq(v.fail_time_us, 3500);
	ck_assert_uint_eq(v.verified_bytes, end[0]);
	/* moving a whole checkpointed block is caught too: drop records 1..4 (data up to cp) */
	memcpy(q, p, off[0]);
	memcpy(q + off[0], p + end[4], len - end[4]);
	ck_assert_int_ne(verify_mem(q, off[0] + len - end[4], host_pk, 0, &v), TG_OK);
	ck_assert_int_ne(v.status, TG_ERR_UNSEALED);
	(void)n;
	free(q);
	free(p);
}
END_TEST

START_TEST(splice_detected)
{
	unsigned char *a, *b, *q;
	uint64_t offa[32], enda[32], offb[32], endb[32];
	int ta[32], tb[32];
	size_t la, lb, na, nb, ql;
	struct tg_rec_verdict v;

	a = small_recording(5, &la, NULL);
	b = small_recording(6, &lb, NULL);
	na = records_of(a, la, offa, enda, ta, 32);
	nb = records_of(b, lb, offb, endb, tb, 32);
	ck_assert_uint_eq(na, nb);
	/* A up to its middle checkpoint, then B's records after its middle checkpoint */
	ck_assert_int_eq(ta[5], TG_REC_CHECKPOINT);
	q = malloc(la + lb);
	memcpy(q, a, enda[5]);
	memcpy(q + enda[5], b + endb[5], lb - endb[5]);
	ql = enda[5] + lb - endb[5];
	ck_assert_int_eq(verify_mem(q, ql, host_pk, 0, &v), TG_ERR_BAD_SIGNATURE);
	ck_assert_uint_eq(v.verified_bytes, enda[5]);
	ck_assert_uint_eq(v.fail_offset, offa[na - 1]);
	/* B's middle checkpoint in place of A's (same length) */
	memcpy(q, a, la);
	ck_assert_uint_eq(enda[5] - offa[5], endb[5] - offb[5]);
	memcpy(q + offa[5], b + offb[5], endb[5] - offb[5]);
	ck_assert_int_eq(verify_mem(q, la, host_pk, 0, &v), TG_ERR_BAD_SIGNATURE);
	ck_assert_uint_eq(v.fail_index, 7);
	memcpy(q, a, la);
	ck_assert_int_eq(verify_mem(q, la, host_pk, 0, &v), TG_OK);
	/* B's seal on A's body */
	memcpy(q + offa[na - 1], b + offb[nb - 1], endb[nb - 1] - offb[nb - 1]);
	ck_assert_int_eq(verify_mem(q, la, host_pk, 0, &v), TG_ERR_BAD_SIGNATURE);
	free(q);
	free(a);
	free(b);
}
END_TEST

START_TEST(wrong_key)
{
	unsigned char *p;
	size_t len;
	struct tg_rec_verdict v;

	p = small_recording(7, &len, NULL);
	ck_assert_int_eq(verify_mem(p, len, other_pk, 0, &v), TG_ERR_WRONG_KEY);
	ck_assert_uint_eq(v.fail_index, 1);
	ck_assert_int_eq(v.key_checked, 1);
	ck_assert_ptr_nonnull(strstr(v.reason, "signed by host key"));
	ck_assert_int_eq(verify_mem(p, len, NULL, 0, &v), TG_OK);
	ck_assert_int_eq(v.key_checked, 0);
	free(p);
}
END_TEST

/* magic + the header record of a real recording, then extra bytes. */
static unsigned char *with_tail(const unsigned char *tail, size_t tlen, size_t *len)
{
	unsigned char *p, *q;
	uint64_t off[32], end[32];
	int type[32];
	size_t l;

	p = small_recording(8, &l, NULL);
	records_of(p, l, off, end, type, 32);
	q = malloc(off[0] + tlen);
	memcpy(q, p, off[0]); /* magic + header */
	memcpy(q + off[0], tail, tlen);
	*len = off[0] + tlen;
	free(p);
	return q;
}

static int open_bytes(const void *p, size_t len)
{
	struct mem_src m = {p, len, 0, 0};
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	int e = tg_rec_reader_open(&r, &src, host_pk);

	tg_rec_reader_free(r);
	return e;
}

/* "{"a":[0,0,...]}" with n zeros: n + 2 values by the bound (the object, "a" and its array's
 * values; the array's '[' counted too). */
static char *many_values(size_t n)
{
	char *s = malloc(2 * n + 16);
	size_t i, k;

	ck_assert_ptr_nonnull(s);
	k = (size_t)sprintf(s, "{\"a\":[");
	for (i = 0; i < n; i++)
		k += (size_t)sprintf(s + k, i ? ",0" : "0");
	strcpy(s + k, "]}");
	return s;
}

/*
 * A NOTE or END is parsed to be checked, and a parse's memory grows with its values: 1 MiB of
 * "[{},{},...]" took some 80 MiB of a reader's whose memory is to stay bounded whatever the
 * file. Past TG_REC_JSON_VALUES_MAX it is malformed unparsed, and the writer never writes one.
 */
START_TEST(json_values_bounded)
{
	struct tg_rec_writer *w = NULL;
	struct tg_rec_verdict v;
	struct tg_rec_meta meta;
	unsigned char *p, *rec;
	char *ok = many_values(TG_REC_JSON_VALUES_MAX - 3),
	     *big = many_values(TG_REC_JSON_VALUES_MAX);
	size_t len, n = strlen(big), k = 0;
	int fd = mem_fd();

	/* the writer: at the limit written, past it refused */
	ck_assert_int_ge(fd, 0);
	test_meta(&meta, 10);
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
	ck_assert_int_eq(tg_rec_write_note(w, 1, ok), TG_OK);
	ck_assert_int_eq(tg_rec_write_note(w, 2, big), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_seal(w, 3, big), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_seal(w, 3, "{}"), TG_OK);
	tg_rec_writer_free(w);
	p = fd_slurp(fd, &len);
	close(fd);
	ck_assert_int_eq(verify_mem(p, len, host_pk, 0, &v), TG_OK);
	free(p);
	/* the reader: a NOTE past it, put in by hand, is malformed */
	ck_assert_ptr_nonnull(rec = malloc(n + 8));
	rec[k++] = 0x07; /* NOTE */
	rec[k++] = 0x00; /* time */
	rec[k++] = (unsigned char)(0x80 | (n & 0x7f));
	rec[k++] = (unsigned char)(n >> 7);
	ck_assert_uint_lt(n, 1u << 14);
	memcpy(rec + k, big, n);
	p = with_tail(rec, k + n, &len);
	ck_assert_int_eq(verify_mem(p, len, host_pk, 0, &v), TG_ERR_FORMAT);
	ck_assert_ptr_nonnull(strstr(v.reason, "too many JSON values"));
	free(p);
	free(rec);
	free(ok);
	free(big);
}
END_TEST

START_TEST(hostile_inputs)
{
	static const unsigned char overlong[] = {0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	                                         0x80, 0x80, 0x80, 0x80, 0x00, 0x00};
	static const unsigned char tenth_big[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                          0xff, 0xff, 0xff, 0xff, 0x02, 0x00};
	static const unsigned char nonmin[] = {0x01, 0x80, 0x00, 0x00};
	static const unsigned char huge[] = {0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10};
	static const unsigned char unknown[] = {0x08, 0x00, 0x00};
	static const unsigned char header2[] = {0x10, 0x00, 0x02, '{', '}'};
	static const unsigned char bad_resize[] = {0x05, 0x00, 0x03, 1, 2, 3};
	static const unsigned char bad_note[] = {0x07, 0x00, 0x02, '[', ']'};
	static const unsigned char bad_drop[] = {0x06, 0x00, 0x09, 9, 0, 0, 0, 0, 0, 0, 0, 0};
	static const unsigned char bad_cp[] = {0x20, 0x00, 0x01, 0};
	static const unsigned char end_then_data[] = {0x11, 0x00, 0x02, '{', '}',
	                                              0x01, 0x00, 0x01, 'x'};
	static const unsigned char time_overflow[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                              0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
	const struct {
		const unsigned char *p;
		size_t n;
	} tails[] = {
	    {overlong, sizeof(overlong)},
	    {tenth_big, sizeof(tenth_big)},
	    {nonmin, sizeof(nonmin)},
	    {huge, sizeof(huge)},
	    {unknown, sizeof(unknown)},
	    {header2, sizeof(header2)},
	    {bad_resize, sizeof(bad_resize)},
	    {bad_note, sizeof(bad_note)},
	    {bad_drop, sizeof(bad_drop)},
	    {bad_cp, sizeof(bad_cp)},
	    {end_then_data, sizeof(end_then_data)},
	    {time_overflow, sizeof(time_overflow)},
	};
	struct tg_rec_verdict v;
	unsigned char *p, junk[4096];
	size_t len, i, j;
	char hdr[512];
	int n;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		p = with_tail(tails[i].p, tails[i].n, &len);
		if (verify_mem(p, len, host_pk, 0, &v) != TG_ERR_FORMAT)
			ck_abort_msg("hostile tail %zu: status %d (%s)", i, v.status, v.reason);
		ck_assert_uint_ge(v.fail_index, 2);
		ck_assert_uint_le(v.fail_index, 3);
		free(p);
	}

	/* headers */
	ck_assert_int_eq(open_bytes("", 0), TG_ERR_TRUNCATED);
	ck_assert_int_eq(open_bytes("TGREC", 5), TG_ERR_TRUNCATED);
	ck_assert_int_eq(open_bytes("GIF89a..........", 16), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes("TGREC\x00\x02\n", 8), TG_ERR_VERSION);
	/* no version before the first: malformed, not "unsupported" (a tampered file must not
	 * pass for a newer format); nor a header whose version is not the magic's */
	ck_assert_int_eq(open_bytes("TGREC\x00\x00\n", 8), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x00\x0d{\"version\":2}", 24), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC, 8), TG_ERR_TRUNCATED);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x00\x04{bad", 15), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x00\x02[]", 13), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x01\x00\x02{}", 13), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x05\x02{}", 13), TG_ERR_FORMAT);
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x00\x81\x80\x04", 13),
	                 TG_ERR_FORMAT); /* > 64 KiB */
	ck_assert_int_eq(open_bytes(TG_REC_MAGIC "\x10\x00\x10{}", 13), TG_ERR_TRUNCATED);
	/* a verdict says where: a malformed header is record 1 (records count from 1), after the
	 * magic; a file without the magic has no record to name */
	ck_assert_int_eq(
	    verify_mem((const unsigned char *)TG_REC_MAGIC "\x10\x00\x02[]", 13, host_pk, 0, &v),
	    TG_ERR_FORMAT);
	ck_assert_uint_eq(v.fail_index, 1);
	ck_assert_uint_eq(v.fail_offset, TG_REC_MAGIC_LEN);
	ck_assert_ptr_nonnull(strstr(v.reason, "record 1 at byte 8: "));
	ck_assert_int_eq(
	    verify_mem((const unsigned char *)TG_REC_MAGIC "\x01\x00\x02{}", 13, host_pk, 0, &v),
	    TG_ERR_FORMAT);
	ck_assert_uint_eq(v.fail_index, 1);
	ck_assert_uint_eq(v.fail_offset, TG_REC_MAGIC_LEN);
	ck_assert_int_eq(verify_mem((const unsigned char *)"GIF89a..........", 16, host_pk, 0, &v),
	                 TG_ERR_FORMAT);
	ck_assert_uint_eq(v.fail_index, 0);
	ck_assert_uint_eq(v.fail_offset, 0);
	/* fields out of bounds or of the wrong type */
	{
		static const char *bad[][2] = {
		    {"uid", "-1"},
		    {"uid", "\"0\""},
		    {"uid", "4294967296"},
		    {"client_port", "65536"},
		    {"cols", "1e3"},
		    {"rows", "null"},
		    {"session_id", "\"00\""},
		    {"session_id", "\"zz112233445566778899aabbccddeeff\""},
		    {"mode", "\"root\""},
		    {"version", "2"},
		    {"version", "\"1\""},
		    {"host_key_id", "\"00112233\""},
		    {"session_key", "\"00\""},
		    {"command", "7"},
		    {"term", "[]"},
		    {"start_us", "-5"},
		    {"audit_session", "0"},
		    {"audit_session", "-1"},
		    {"audit_session", "\"7\""},
		    {"audit_session", "4294967295"},
		    {"boot_id", "7"},
		    {"boot_id", "\"\""},
		    {"boot_id", "\"0F6E2F4C-9D1A-4B7E-8C3D-2A5B6C7D8E9F\""},
		    {"boot_id", "\"0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9\""},
		    {"boot_id", "\"0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f0\""},
		    {"boot_id", "\"0f6e2f4c+9d1a-4b7e-8c3d-2a5b6c7d8e9f\""},
		    {"boot_id", "\"0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9g\""},
		    {"user", NULL},
		    {"client_addr", NULL},
		    {"user", "NUL"},
		};
		char longs[400];

		memset(longs, 'a', sizeof(longs));
		longs[0] = '"';
		longs[300] = '"';
		longs[301] = '\0';
		for (j = 0; j <= sizeof(bad) / sizeof(bad[0]); j++) {
			unsigned char rec[1024];
			json_t *o = json_pack(
			    "{s:i,s:s,s:s,s:i,s:s,s:i,s:s,s:i,s:I,s:s,s:n,s:s,s:i,s:i,s:s,s:s,s:s,"
			    "s:s}",
			    "version", 1, "session_id", "00112233445566778899aabbccddeeff", "user",
			    "a", "uid", 1, "client_addr", "x", "client_port", 1, "host", "h",
			    "sshd_pid", 1, "start_us", (json_int_t)1, "mode", "command", "command",
			    "term", "t", "cols", 1, "rows", 1, "pam_session_id", "", "recorder",
			    "r", "host_key_id", "0011223344556677", "session_key",
			    "0000000000000000000000000000000000000000000000000000000000000000");
			char *txt;

			ck_assert_ptr_nonnull(o);
			if (j < sizeof(bad) / sizeof(bad[0])) {
				if (bad[j][1] == NULL)
					json_object_del(o, bad[j][0]);
				else if (strcmp(bad[j][1], "NUL") == 0)
					ck_assert_int_eq(json_object_set_new(
					                     o, bad[j][0], json_stringn("a\0b", 3)),
					                 0);
				else
					ck_assert_int_eq(
					    json_object_set_new(
					        o, bad[j][0],
					        json_loads(bad[j][1], JSON_DECODE_ANY, NULL)),
					    0);
			}
			txt = json_dumps(o, JSON_COMPACT);
			n = (int)strlen(txt);
			ck_assert_int_lt(n, 1000);
			memcpy(rec, TG_REC_MAGIC "\x10\x00", 10);
			rec[10] = (unsigned char)(0x80 | (n & 0x7f));
			rec[11] = (unsigned char)(n >> 7);
			memcpy(rec + 12, txt, (size_t)n);
			if (j == sizeof(bad) / sizeof(bad[0]))
				ck_assert_int_eq(open_bytes(rec, 12 + (size_t)n),
				                 TG_OK); /* the base is fine */
			else if (open_bytes(rec, 12 + (size_t)n) == TG_OK)
				ck_abort_msg("header with %s = %s accepted", bad[j][0], bad[j][1]);
			free(txt);
			json_decref(o);
		}
		/* a 300-byte user name does not fit the 256-byte field */
		snprintf(hdr, sizeof(hdr), "%s", longs);
		{
			json_t *o = json_pack(
			    "{s:i,s:s,s:s,s:i,s:s,s:i,s:s,s:i,s:I,s:s,s:n,s:s,s:i,s:i,s:s,s:s,s:s,"
			    "s:s}",
			    "version", 1, "session_id", "00112233445566778899aabbccddeeff", "user",
			    hdr + 1, "uid", 1, "client_addr", "x", "client_port", 1, "host", "h",
			    "sshd_pid", 1, "start_us", (json_int_t)1, "mode", "command", "command",
			    "term", "t", "cols", 1, "rows", 1, "pam_session_id", "", "recorder",
			    "r", "host_key_id", "0011223344556677", "session_key",
			    "0000000000000000000000000000000000000000000000000000000000000000");
			char *txt = json_dumps(o, JSON_COMPACT);
			unsigned char rec[1024];

			n = (int)strlen(txt);
			memcpy(rec, TG_REC_MAGIC "\x10\x00", 10);
			rec[10] = (unsigned char)(0x80 | (n & 0x7f));
			rec[11] = (unsigned char)(n >> 7);
			memcpy(rec + 12, txt, (size_t)n);
			ck_assert_int_eq(open_bytes(rec, 12 + (size_t)n), TG_ERR_FORMAT);
			free(txt);
			json_decref(o);
		}
	}

	/* random junk after a good header, and random damage anywhere: no crash, never OK */
	for (i = 0; i < 300; i++) {
		randombytes_buf(junk, sizeof(junk));
		p = with_tail(junk, 1 + randombytes_uniform(sizeof(junk)), &len);
		ck_assert_int_ne(verify_mem(p, len, host_pk, 0, &v), TG_OK);
		free(p);
	}
	p = small_recording(9, &len, NULL);
	for (i = 0; i < 500; i++) {
		unsigned char *q = malloc(len);
		size_t k;

		memcpy(q, p, len);
		for (k = 0; k < 1 + randombytes_uniform(8); k++)
			q[randombytes_uniform((uint32_t)len)] = (unsigned char)randombytes_random();
		if (memcmp(p, q, len) != 0)
			ck_assert_int_ne(
			    verify_mem(q, len, host_pk, 1 + randombytes_uniform(64), &v), TG_OK);
		free(q);
	}
	free(p);
}
END_TEST

static ssize_t failing_read(void *ctx, void *buf, size_t n)
{
	int *left = ctx;

	if ((*left)-- <= 0)
		return TG_ERR_NET;
	memcpy(buf, TG_REC_MAGIC, n < 4 ? n : 4);
	return n < 4 ? (ssize_t)n : 4;
}

/* A source that gives the first len bytes of p, then fails with err. */
struct cut_src {
	struct mem_src m;
	int err;
};

static ssize_t cut_read(void *ctx, void *buf, size_t n)
{
	struct cut_src *c = ctx;

	return c->m.pos < c->m.len ? mem_read(&c->m, buf, n) : c->err;
}

START_TEST(source_errors)
{
	static const int codes[] = {TG_ERR_FORMAT,  TG_ERR_LIMIT,    TG_ERR_TRUNCATED,
	                            TG_ERR_VERSION, TG_ERR_UNSEALED, TG_ERR_CHAIN,
	                            -1000};
	int left = 1;
	struct tg_rec_source src = {failing_read, &left};
	struct tg_rec_verdict v;
	struct tg_rec_reader *r = NULL;
	struct cut_src c;
	struct tg_rec_source csrc = {cut_read, &c};
	unsigned char *p;
	size_t len, i, at;

	ck_assert_int_eq(tg_rec_verify(&src, host_pk, &v), TG_ERR_NET);
	left = 0;
	ck_assert_int_eq(tg_rec_reader_open(&r, &src, NULL), TG_ERR_NET);
	ck_assert_ptr_null(r);
	/* what the source says is about the transfer, never about the recording: a code the
	 * reader gives a verdict's meaning (malformed, cut short, too long) is an I/O error, in
	 * the header as after it, never a TAMPERED or UNSEALED verdict */
	p = small_recording(3, &len, NULL);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		for (at = 4; at < len; at += len / 2) {
			c = (struct cut_src){{p, at, 0, 7}, codes[i]};
			if (tg_rec_verify(&csrc, host_pk, &v) != TG_ERR_IO)
				ck_abort_msg("source error %d at byte %zu: a verdict, %d (%s)",
				             codes[i], at, v.status, v.reason);
		}
	}
	free(p);
}
END_TEST

START_TEST(writer_contract)
{
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta meta;
	unsigned char h1[32], h2[32];
	int fd = mem_fd();

	test_meta(&meta, 10);
	meta.cols = 70000;
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_ERR_INVALID);
	ck_assert_ptr_null(w);
	/* nor a header the reader would refuse: a boot id that is no lowercase UUID, an audit
	 * session of 2^32-1 (the kernel's "none") */
	test_meta(&meta, 10);
	meta.boot_id = "0F6E2F4C-9D1A-4B7E-8C3D-2A5B6C7D8E9F";
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_ERR_INVALID);
	ck_assert_ptr_null(w);
	test_meta(&meta, 10);
	meta.audit_session = 4294967295U;
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_ERR_INVALID);
	ck_assert_ptr_null(w);
	/* nor a field past the reader's limit once bytes that are not UTF-8 became U+FFFD (3
	 * bytes each): a user name of 100 Latin-1 bytes, a host name of 255 bytes cut inside a
	 * character; each would seal a recording every reader calls malformed */
	{
		char latin1[101], cut[256];
		int fd2 = mem_fd();

		memset(latin1, 0xe9, 100);
		latin1[100] = '\0';
		test_meta(&meta, 10);
		meta.user = latin1;
		ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_ERR_INVALID);
		ck_assert_ptr_null(w);
		memset(cut, 'h', 253);
		memcpy(cut + 253, "\xe2\x82", 3); /* the first two bytes of a 3-byte character */
		test_meta(&meta, 10);
		meta.host = cut;
		ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_ERR_INVALID);
		ck_assert_ptr_null(w);
		cut[253] = '\0'; /* 253 bytes of text: taken */
		ck_assert_int_eq(tg_rec_writer_open(&w, fd2, &meta, host_sk), TG_OK);
		tg_rec_writer_free(w);
		w = NULL;
		close(fd2);
	}
	test_meta(&meta, 10);
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_NOTE, 1, "x", 1), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_write_resize(w, 1, 65536, 1), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_write_dropped(w, 1, TG_REC_RESIZE, 1), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_write_note(w, 1, "not json"), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_write_note(w, 1, "[1]"), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_seal(w, 1, "{\"a\":1,\"a\":2}"), TG_ERR_INVALID);
	tg_rec_chain_hash(w, h1);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 2, "x", 1), TG_OK);
	tg_rec_chain_hash(w, h2);
	ck_assert_int_ne(memcmp(h1, h2, 32), 0);
	ck_assert_int_eq(tg_rec_seal(w, 3, "{}"), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 4, "x", 1), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_checkpoint(w, 4), TG_ERR_INVALID);
	ck_assert_int_eq(tg_rec_seal(w, 4, "{}"), TG_ERR_INVALID);
	tg_rec_writer_free(w);
	tg_rec_writer_free(NULL);
	close(fd);
	/* a write error sticks */
	{
		int pfd[2];

		ck_assert_int_eq(pipe(pfd), 0);
		ck_assert_int_eq(close(pfd[0]), 0);
		signal(SIGPIPE, SIG_IGN);
		ck_assert_int_eq(tg_rec_writer_open(&w, pfd[1], &meta, host_sk), TG_ERR_SYSTEM);
		ck_assert_ptr_null(w);
		close(pfd[1]);
	}
}
END_TEST

/* A crash right after open leaves a header that verifies (unsealed). */
START_TEST(crash_after_open)
{
	struct tg_rec_writer *w = NULL;
	struct tg_rec_meta meta;
	struct tg_rec_verdict v;
	unsigned char *p;
	size_t len;
	int fd = mem_fd();

	test_meta(&meta, 11);
	ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
	ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 7, "lost", 4), TG_OK); /* buffered only */
	p = fd_slurp(fd, &len);
	ck_assert_int_eq(verify_mem(p, len, host_pk, 0, &v), TG_ERR_UNSEALED);
	ck_assert_uint_eq(v.verified_bytes, len);
	ck_assert_int_eq(v.truncated, 0);
	free(p);
	ck_assert_int_eq(tg_rec_flush(w), TG_OK);
	p = fd_slurp(fd, &len);
	ck_assert_int_eq(verify_mem(p, len, host_pk, 0, &v), TG_ERR_UNSEALED);
	ck_assert_uint_lt(v.verified_bytes, len);
	ck_assert_uint_eq(v.time_us, 7);
	free(p);
	tg_rec_writer_free(w);
	close(fd);
}
END_TEST

/* Write bytes to a file in dir; returns its path (static buffer). */
static const char *bytes_file(const char *dir, const unsigned char *p, size_t len)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/rec.tgr", dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* The quick guess agrees with the full pass on sealed recordings, guesses only
 * from a real seal, and misses what lies between header and seal (by design:
 * the full pass decides). */
START_TEST(quick_summary)
{
	struct tg_rec_summary q, full;
	unsigned char *p, final[32];
	char hex[65], *dir = tg_test_tmpdir();
	const char *path;
	size_t len, cut, mid;
	int variant;

	for (variant = 0; variant < 2; variant++) {
		if (variant == 0) {
			/* the seal 5 s after the last record: a 4-byte time delta */
			p = small_recording(9, &len, final);
		} else {
			/* the seal at the same time as the record before: a 1-byte delta */
			struct tg_rec_writer *w = NULL;
			struct tg_rec_meta meta;
			int fd = mem_fd();

			test_meta(&meta, 10);
			ck_assert_int_eq(tg_rec_writer_open(&w, fd, &meta, host_sk), TG_OK);
			ck_assert_int_eq(tg_rec_write_data(w, TG_REC_OUT, 0, "x", 1), TG_OK);
			ck_assert_int_eq(tg_rec_seal(w, 0, "{}"), TG_OK);
			tg_rec_chain_hash(w, final);
			tg_rec_writer_free(w);
			p = fd_slurp(fd, &len);
			close(fd);
		}
		path = bytes_file(dir, p, len);
		ck_assert_int_eq(tg_rec_summarize_quick(path, host_pk, &q), TG_OK);
		ck_assert_int_eq(tg_rec_summarize(path, host_pk, &full), TG_OK);
		ck_assert_int_eq(full.status, TG_OK);
		ck_assert_int_eq(q.status, TG_OK);
		sodium_bin2hex(hex, sizeof hex, final, 32);
		ck_assert_str_eq(q.final_hash, hex);
		ck_assert_str_eq(q.final_hash, full.final_hash);
		ck_assert_str_eq(q.session_id, full.session_id);
		ck_assert_str_eq(q.user, full.user);
		ck_assert_str_eq(q.host, full.host);
		ck_assert_str_eq(q.pam_session_id, full.pam_session_id);
		ck_assert_uint_eq(q.start_us, full.start_us);
		ck_assert_uint_eq(q.file_bytes, len);
		/* also without a host key; a wrong one makes no guess */
		ck_assert_int_eq(tg_rec_summarize_quick(path, NULL, &q), TG_OK);
		ck_assert_int_eq(tg_rec_summarize_quick(path, other_pk, &q), TG_ERR_UNSEALED);

		/* cut anywhere: never a guess of "sealed" */
		for (cut = 0; cut < len; cut++) {
			path = bytes_file(dir, p, cut);
			if (tg_rec_summarize_quick(path, host_pk, &q) == TG_OK)
				ck_abort_msg("a recording cut at %zu of %zu bytes guessed sealed",
				             cut, len);
		}
		/* any change inside the seal record spoils the guess */
		for (cut = len - 124; cut < len; cut++) {
			p[cut] ^= 0x01;
			path = bytes_file(dir, p, len);
			if (tg_rec_summarize_quick(path, host_pk, &q) == TG_OK &&
			    strcmp(q.final_hash, hex) == 0)
				ck_abort_msg("a change at byte %zu of the seal went unnoticed",
				             cut);
			p[cut] ^= 0x01;
		}
		/* a change between header and seal: the guess stands, the full pass refuses */
		mid = len - 140;
		p[mid] ^= 0x20;
		path = bytes_file(dir, p, len);
		ck_assert_int_eq(tg_rec_summarize_quick(path, host_pk, &q), TG_OK);
		ck_assert_int_eq(tg_rec_summarize(path, host_pk, &full), TG_OK);
		ck_assert_int_ne(full.status, TG_OK);
		free(p);
	}
	ck_assert_int_eq(tg_rec_summarize_quick("/nonexistent/x.tgr", host_pk, &q),
	                 TG_ERR_NOT_FOUND);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_rec");
	TCase *tc = tcase_create("rec");

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip_small);
	tcase_add_test(tc, roundtrip_bytes);
	tcase_add_test(tc, long_command);
	tcase_add_test(tc, flip_every_byte);
	tcase_add_test(tc, cut_everywhere);
	tcase_add_test(tc, reorder_detected);
	tcase_add_test(tc, splice_detected);
	tcase_add_test(tc, wrong_key);
	tcase_add_test(tc, hostile_inputs);
	tcase_add_test(tc, json_values_bounded);
	tcase_add_test(tc, source_errors);
	tcase_add_test(tc, writer_contract);
	tcase_add_test(tc, crash_after_open);
	tcase_add_test(tc, quick_summary);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
