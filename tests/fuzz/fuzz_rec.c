/*
 * Recording reader and verifier (doc/recording-format.md): the input is a
 * recording file. Checked with the host key the seed recordings were signed
 * with (tests/fuzz/rec-seed.key, made by tests/tg-rec-gen), so that the
 * fuzzer starts from valid chains and signatures.
 *
 * Invariants: every record the reader yields lies inside the input, in order;
 * the reader's verdict and tg_rec_verify()'s agree, whatever size the
 * source's reads come in; and a recording that verifies as sealed and intact
 * covers every byte of the input, summarises the same, verifies again without
 * a host key, and no longer verifies once cut short or once one byte changes.
 * tg_rec_summarize_quick() (the uploader's guess from header and seal) reads
 * the same bytes as a file: it must not crash, a guess of "sealed" covers the
 * whole file, and it guesses right on every recording that verifies.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../rec_mem.h"
#include "fuzz.h"
#include "tg_error.h"
#include "tg_rec.h"

static const unsigned char host_pk[32] = {
    0x34, 0x8a, 0xfc, 0x33, 0xf3, 0xfb, 0x5b, 0x73, 0xd1, 0x8b, 0x47, 0xee, 0xfa, 0xc2, 0x06, 0xb2,
    0x79, 0x3d, 0xc6, 0xa8, 0xaa, 0x2a, 0x71, 0xf2, 0xe9, 0x3a, 0x8a, 0x06, 0x5c, 0xdb, 0x7d, 0x41,
};

/* what the reader's payload bytes read into (their reading is the point) */
volatile unsigned char sink;

static void same_verdict(const struct tg_rec_verdict *a, const struct tg_rec_verdict *b)
{
	FUZZ_CHECK(a->status == b->status);
	FUZZ_CHECK(a->sealed == b->sealed && a->truncated == b->truncated);
	FUZZ_CHECK(a->records == b->records);
	/* after a failure, how far the reader had read ahead depends on the read sizes */
	FUZZ_CHECK(a->bytes == b->bytes || (a->status != TG_OK && a->status != TG_ERR_UNSEALED));
	FUZZ_CHECK(a->verified_index == b->verified_index &&
	           a->verified_bytes == b->verified_bytes);
	FUZZ_CHECK(a->verified_time_us == b->verified_time_us);
	FUZZ_CHECK(!a->sealed || memcmp(a->final_hash, b->final_hash, TG_REC_HASH_LEN) == 0);
}

/*
 * One pass with the reader: check each record, fill *v and return how reading
 * ended; 1 when the header did not open (no verdict then).
 */
static int read_all(const uint8_t *data, size_t size, struct tg_rec_verdict *v)
{
	struct mem_src m = {data, size, 0, 0};
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	uint64_t index = 1, offset = 0;
	int e;

	if (tg_rec_reader_open(&r, &src, host_pk) != TG_OK)
		return 1;
	FUZZ_CHECK(tg_rec_reader_header(r) != NULL && tg_rec_reader_header_json(r) != NULL);
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		FUZZ_CHECK(rec.index == ++index);
		FUZZ_CHECK(rec.offset > offset && rec.offset < size);
		FUZZ_CHECK(rec.len <= TG_REC_MAX_PAYLOAD && rec.len <= size - rec.offset);
		if (rec.len > 0) {
			FUZZ_CHECK(rec.data != NULL);
			sink ^=
			    rec.data[0] ^ rec.data[rec.len - 1]; /* in bounds, or ASan says so */
		}
		offset = rec.offset;
		(void)tg_rec_type_name(rec.type);
	}
	tg_rec_reader_verdict(r, v);
	tg_rec_reader_free(r);
	return e;
}

static void check_quick(const uint8_t *data, size_t size, const struct tg_rec_verdict *v)
{
	static int fd = -1;
	char path[64], hex[2 * TG_REC_HASH_LEN + 1];
	struct tg_rec_summary q;
	int e;

	if (fd < 0 && (fd = memfd_create("fuzz-rec", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	e = tg_rec_summarize_quick(path, host_pk, &q);
	if (e == TG_OK)
		FUZZ_CHECK(q.status == TG_OK && q.file_bytes == size && strlen(q.final_hash) == 64);
	if (v->status == TG_OK) {
		FUZZ_CHECK(e == TG_OK);
		sodium_bin2hex(hex, sizeof(hex), v->final_hash, TG_REC_HASH_LEN);
		FUZZ_CHECK(strcmp(hex, q.final_hash) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_rec_verdict v1, v2, v3;
	struct tg_rec_summary s;
	struct mem_src m = {data, size, 0, 1 + size % 97};
	struct tg_rec_source src = {mem_read, &m};
	unsigned char *copy;
	int e;

	if (size > 4 * 1024 * 1024)
		return 0;
	memset(&v1, 0, sizeof(v1));
	e = read_all(data, size, &v1);
	FUZZ_CHECK(tg_rec_verify(&src, host_pk, &v2) == TG_OK);
	if (e == 0 || e == TG_ERR_FORMAT) /* what tg_rec_verify() reports as a verdict */
		same_verdict(&v1, &v2);
	check_quick(data, size, &v2);
	if (v2.status != TG_OK)
		return 0;

	/* sealed and intact */
	FUZZ_CHECK(v2.sealed && v2.key_checked && v2.bytes == size && v2.verified_bytes == size);
	m.pos = 0;
	m.chunk = 0;
	FUZZ_CHECK(tg_rec_summarize_source(&src, host_pk, &s) == TG_OK);
	FUZZ_CHECK(s.status == TG_OK && s.file_bytes == size && s.final_hash[0] != '\0');
	FUZZ_CHECK(verify_mem(data, size, NULL, 0, &v3) == TG_OK);
	FUZZ_CHECK(memcmp(v3.final_hash, v2.final_hash, TG_REC_HASH_LEN) == 0);
	FUZZ_CHECK(verify_mem(data, size - 1, host_pk, 0, &v3) != TG_OK);
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size / 2] ^= 0x01;
	FUZZ_CHECK(verify_mem(copy, size, host_pk, 0, &v3) != TG_OK);
	free(copy);
	return 0;
}
