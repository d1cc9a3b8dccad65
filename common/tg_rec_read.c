/*
 * The recording format's reader and verifier: one pass over a read callback,
 * constant memory (one buffer that holds the largest record), every length
 * and field checked before use. The format: doc/recording-format.md.
 */
#include "tg_rec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_rec_int.h"

/* the largest record plus room to read ahead in big chunks */
#define READ_BUF (TG_REC_MAX_PAYLOAD + TG_REC_RECHDR_MAX + 1024 * 1024)

struct tg_rec_reader {
	crypto_generichash_state hinit; /* first: 64-byte aligned */
	struct tg_rec_source src;
	int have_host_pk;
	unsigned char host_pk[32];
	struct tg_rec_header hdr;
	char *command;
	char *header_json;
	unsigned char *buf;
	size_t pos, end; /* unread bytes are buf[pos..end) */
	int eof;
	uint64_t buf_off;                     /* file offset of buf[0] */
	unsigned char chain[TG_REC_HASH_LEN]; /* H(count) */
	uint64_t count;
	uint64_t time_us;
	int prev_type;
	int saw_end;
	int fatal; /* once set, next() returns it */
	int done;
	int failed;
	unsigned version; /* a format version not read (TG_ERR_VERSION) */
	struct tg_rec_verdict v;
};

ssize_t tg_rec_fd_read(void *ctx, void *buf, size_t n)
{
	int fd = *(int *)ctx;
	ssize_t k;

	do
		k = read(fd, buf, n);
	while (k < 0 && errno == EINTR);
	return k < 0 ? TG_ERR_SYSTEM : k;
}

/*
 * A source's error is about the transfer, never about the recording: one of the codes the
 * reader gives a verdict's meaning (malformed, too long, cut short, another version, ...), or
 * one that is no code at all, is an I/O error; the others (TG_ERR_NET, TG_ERR_SYSTEM, ...) say
 * more and are kept.
 */
static int source_error(ssize_t k)
{
	switch (k) {
	case TG_ERR_LIMIT:
	case TG_ERR_FORMAT:
	case TG_ERR_BAD_SIGNATURE:
	case TG_ERR_CHAIN:
	case TG_ERR_TRUNCATED:
	case TG_ERR_UNSEALED:
	case TG_ERR_VERSION:
	case TG_ERR_WRONG_KEY:
		return TG_ERR_IO;
	default:
		return k < TG_ERR_LAST ? TG_ERR_IO : (int)k;
	}
}

/* Make at least n unread bytes available, fewer only at the end of the input. */
static int fill(struct tg_rec_reader *r, size_t n)
{
	ssize_t k;

	while (r->end - r->pos < n && !r->eof) {
		if (READ_BUF - r->pos < n) {
			memmove(r->buf, r->buf + r->pos, r->end - r->pos);
			r->buf_off += r->pos;
			r->end -= r->pos;
			r->pos = 0;
		}
		k = r->src.read(r->src.ctx, r->buf + r->end, READ_BUF - r->end);
		if (k < 0)
			return source_error(k);
		if ((size_t)k > READ_BUF - r->end)
			return TG_ERR_IO; /* a source that claims more than it was given */
		if (k == 0)
			r->eof = 1;
		r->end += (size_t)k;
	}
	return TG_OK;
}

/* Record the first failure with where it was found; later ones add nothing. */
static void __attribute__((format(printf, 6, 7)))
fail(struct tg_rec_reader *r, int code, uint64_t index, uint64_t offset, uint64_t time_us,
     const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = 1;
	r->v.status = code;
	r->v.fail_index = index;
	r->v.fail_offset = offset;
	r->v.fail_time_us = time_us;
	va_start(ap, fmt);
	vsnprintf(r->v.reason, sizeof(r->v.reason), fmt, ap);
	va_end(ap);
}

/* Copy a JSON string member into a fixed field; absent, wrong type or too long is an error. */
static int get_str(json_t *o, const char *k, char *dst, size_t cap)
{
	json_t *j = json_object_get(o, k);
	size_t n;

	if (!json_is_string(j))
		return TG_ERR_FORMAT;
	n = json_string_length(j);
	if (n >= cap || memchr(json_string_value(j), '\0', n) != NULL)
		return TG_ERR_FORMAT;
	memcpy(dst, json_string_value(j), n + 1);
	return TG_OK;
}

static int get_int(json_t *o, const char *k, json_int_t min, json_int_t max, json_int_t *v)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_integer(j) || json_integer_value(j) < min || json_integer_value(j) > max)
		return TG_ERR_FORMAT;
	*v = json_integer_value(j);
	return TG_OK;
}

static int get_hex(json_t *o, const char *k, unsigned char *dst, size_t len)
{
	char hex[2 * 64 + 1];
	size_t bin = 0;

	if (2 * len >= sizeof(hex) || get_str(o, k, hex, sizeof(hex)) != TG_OK ||
	    strlen(hex) != 2 * len)
		return TG_ERR_FORMAT;
	if (sodium_hex2bin(dst, len, hex, 2 * len, NULL, &bin, NULL) != 0 || bin != len)
		return TG_ERR_FORMAT;
	return TG_OK;
}

/* Parse and bounds-check the HEADER's JSON. */
static int parse_header(struct tg_rec_reader *r, const unsigned char *p, size_t len)
{
	json_error_t jerr;
	struct tg_rec_header *h = &r->hdr;
	unsigned char kid[TG_REC_KEY_ID_LEN / 2];
	json_t *o, *cmd;
	json_int_t n;
	int e = TG_ERR_FORMAT;

	o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL && json_error_code(&jerr) == json_error_out_of_memory)
		e = TG_ERR_NOMEM; /* not the file's fault */
	if (!json_is_object(o))
		goto out;
	if (get_int(o, "version", 0, INT32_MAX, &n) != TG_OK)
		goto out;
	/* the magic said this version already: a header that says another is not one a writer
	 * made (an edit to pass a tampered file off as a newer format) */
	if (n != TG_REC_VERSION)
		goto out;
	if (get_hex(o, "session_id", h->session_id_raw, TG_REC_SESSION_ID_LEN) != TG_OK)
		goto out;
	sodium_bin2hex(h->session_id, sizeof(h->session_id), h->session_id_raw,
	               TG_REC_SESSION_ID_LEN);
	if (get_str(o, "user", h->user, sizeof(h->user)) != TG_OK ||
	    get_str(o, "client_addr", h->client_addr, sizeof(h->client_addr)) != TG_OK ||
	    get_str(o, "host", h->host, sizeof(h->host)) != TG_OK ||
	    get_str(o, "mode", h->mode, sizeof(h->mode)) != TG_OK ||
	    get_str(o, "term", h->term, sizeof(h->term)) != TG_OK ||
	    get_str(o, "pam_session_id", h->pam_session_id, sizeof(h->pam_session_id)) != TG_OK ||
	    get_str(o, "recorder", h->recorder, sizeof(h->recorder)) != TG_OK ||
	    get_str(o, "host_key_id", h->key_id, sizeof(h->key_id)) != TG_OK)
		goto out;
	if (strcmp(h->mode, "interactive") != 0 && strcmp(h->mode, "command") != 0 &&
	    strcmp(h->mode, "transfer") != 0)
		goto out;
	if (strlen(h->key_id) != TG_REC_KEY_ID_LEN ||
	    sodium_hex2bin(kid, sizeof(kid), h->key_id, TG_REC_KEY_ID_LEN, NULL, NULL, NULL) != 0)
		goto out;
	if (get_int(o, "uid", 0, UINT32_MAX, &n) != TG_OK)
		goto out;
	h->uid = (unsigned long)n;
	if (get_int(o, "client_port", 0, 65535, &n) != TG_OK)
		goto out;
	h->client_port = (unsigned)n;
	if (get_int(o, "sshd_pid", -1, INT32_MAX, &n) != TG_OK)
		goto out;
	h->sshd_pid = (long)n;
	/* optional: none without pam_loginuid, and from recorders before it */
	if (json_object_get(o, "audit_session") != NULL &&
	    get_int(o, "audit_session", 1, 4294967294LL, &n) != TG_OK)
		goto out;
	h->audit_session = json_object_get(o, "audit_session") != NULL ? (uint32_t)n : 0;
	/* optional too (recorders before it): the boot that audit session is of */
	h->boot_id[0] = '\0';
	if (json_object_get(o, "boot_id") != NULL &&
	    (get_str(o, "boot_id", h->boot_id, sizeof(h->boot_id)) != TG_OK ||
	     !tg_boot_id_ok(h->boot_id)))
		goto out;
	if (get_int(o, "start_us", 0, INT64_MAX, &n) != TG_OK)
		goto out;
	h->start_us = (uint64_t)n;
	if (get_int(o, "cols", 0, 65535, &n) != TG_OK)
		goto out;
	h->cols = (unsigned)n;
	if (get_int(o, "rows", 0, 65535, &n) != TG_OK)
		goto out;
	h->rows = (unsigned)n;
	if (get_hex(o, "session_key", h->session_pk, 32) != TG_OK)
		goto out;
	cmd = json_object_get(o, "command");
	if (json_is_string(cmd)) {
		if (memchr(json_string_value(cmd), '\0', json_string_length(cmd)) != NULL)
			goto out;
		if ((r->command = strdup(json_string_value(cmd))) == NULL) {
			e = TG_ERR_NOMEM; /* not the file's fault */
			goto out;
		}
		h->command = r->command;
	} else if (!json_is_null(cmd)) {
		goto out;
	}
	e = TG_OK;
out:
	json_decref(o);
	return e;
}

int tg_rec_header_check(const char *json, size_t len)
{
	struct tg_rec_reader *r;
	void *mem = NULL;
	int e;

	if (posix_memalign(&mem, 64, sizeof(*r)) != 0)
		return TG_ERR_NOMEM;
	r = mem;
	memset(r, 0, sizeof(*r));
	e = parse_header(r, (const unsigned char *)json, len);
	free(r->command);
	free(r);
	return e;
}

/* Check the host key's certificate of the session key. */
static void check_cert(struct tg_rec_reader *r, json_t *o)
{
	unsigned char sig[64], m[TG_REC_SESSION_CERT_MSG_MAX];
	char kid[TG_REC_KEY_ID_LEN + 1];
	size_t mlen;

	if (!r->have_host_pk)
		return;
	r->v.key_checked = 1;
	tg_key_id(r->host_pk, kid);
	if (get_hex(o, "session_key_sig", sig, sizeof(sig)) != TG_OK) {
		fail(r, TG_ERR_FORMAT, 1, TG_REC_MAGIC_LEN, 0, "header: bad session_key_sig");
		return;
	}
	mlen =
	    tg_rec_session_cert_msg(m, r->hdr.session_id_raw, r->hdr.session_pk, r->hdr.start_us);
	if (crypto_sign_verify_detached(sig, m, mlen, r->host_pk) == 0) {
		r->v.cert_ok = 1;
		return;
	}
	if (strcmp(kid, r->hdr.key_id) != 0)
		fail(r, TG_ERR_WRONG_KEY, 1, TG_REC_MAGIC_LEN, 0,
		     "signed by host key %s, not by the given key %s", r->hdr.key_id, kid);
	else
		fail(r, TG_ERR_BAD_SIGNATURE, 1, TG_REC_MAGIC_LEN, 0,
		     "header: the session key's certificate does not verify");
}

/* Hash one record's bytes onto the chain. */
static void chain_add(struct tg_rec_reader *r, const unsigned char *p, size_t len)
{
	crypto_generichash_state st;

	memcpy(&st, &r->hinit, sizeof(st));
	crypto_generichash_update(&st, r->chain, sizeof(r->chain));
	crypto_generichash_update(&st, p, len);
	crypto_generichash_final(&st, r->chain, sizeof(r->chain));
}

/*
 * Frame the record at the read position: type, dt, len, and the whole
 * record in the buffer. 1: framed; 0: the input ends inside it (or right
 * before it when *at_eof); <0: malformed.
 */
static int frame(struct tg_rec_reader *r, size_t maxlen, unsigned *type, uint64_t *dt, size_t *hl,
                 size_t *plen, int *at_eof)
{
	const unsigned char *p;
	uint64_t len;
	size_t avail;
	int k, k2, e;

	*at_eof = 0;
	if ((e = fill(r, TG_REC_RECHDR_MAX)) != TG_OK)
		return e;
	avail = r->end - r->pos;
	if (avail == 0) {
		*at_eof = 1;
		return 0;
	}
	p = r->buf + r->pos;
	*type = p[0];
	k = tg_rec_varint_get(p + 1, avail - 1, dt);
	if (k < 0)
		return TG_ERR_FORMAT;
	if (k == 0)
		return 0;
	k2 = tg_rec_varint_get(p + 1 + k, avail - 1 - (size_t)k, &len);
	if (k2 < 0)
		return TG_ERR_FORMAT;
	if (k2 == 0)
		return 0;
	if (len > maxlen)
		return TG_ERR_LIMIT;
	*hl = 1 + (size_t)k + (size_t)k2;
	*plen = (size_t)len;
	if ((e = fill(r, *hl + *plen)) != TG_OK)
		return e;
	if (r->end - r->pos < *hl + *plen)
		return 0;
	return 1;
}

/*
 * Where a recording whose header cannot be read is malformed, into bad (may be NULL): record 1,
 * the HEADER, after the magic; index 0 before any record (the magic). Returns TG_ERR_FORMAT.
 */
static int header_fail(struct tg_rec_verdict *bad, uint64_t index, uint64_t offset, const char *why)
{
	if (bad == NULL)
		return TG_ERR_FORMAT;
	bad->fail_index = index;
	bad->fail_offset = offset;
	if (index == 0)
		snprintf(bad->reason, sizeof(bad->reason), "not a recording: %s", why);
	else
		snprintf(bad->reason, sizeof(bad->reason), "record %llu at byte %llu: %s",
		         (unsigned long long)index, (unsigned long long)offset, why);
	return TG_ERR_FORMAT;
}

static int open_reader(struct tg_rec_reader **out, const struct tg_rec_source *src,
                       const unsigned char *host_pk, unsigned *version, struct tg_rec_verdict *bad);

int tg_rec_reader_open(struct tg_rec_reader **out, const struct tg_rec_source *src,
                       const unsigned char *host_pk)
{
	unsigned version;

	return open_reader(out, src, host_pk, &version, NULL);
}

int tg_rec_reader_open_version(struct tg_rec_reader **out, const struct tg_rec_source *src,
                               const unsigned char *host_pk, unsigned *version)
{
	return open_reader(out, src, host_pk, version, NULL);
}

/* tg_rec_reader_open_version(); on TG_ERR_FORMAT, bad (may be NULL) says where and why. */
static int open_reader(struct tg_rec_reader **out, const struct tg_rec_source *src,
                       const unsigned char *host_pk, unsigned *version, struct tg_rec_verdict *bad)
{
	struct tg_rec_reader *r = NULL;
	unsigned type = 0;
	uint64_t dt = 0;
	size_t hl = 0, plen = 0;
	void *mem = NULL;
	json_t *o = NULL;
	int e, at_eof;

	*out = NULL;
	*version = 0;
	if (src == NULL || src->read == NULL)
		return TG_ERR_INVALID;
	if (posix_memalign(&mem, 64, sizeof(*r)) != 0)
		return TG_ERR_NOMEM;
	r = mem;
	memset(r, 0, sizeof(*r));
	r->src = *src;
	if (host_pk != NULL) {
		r->have_host_pk = 1;
		memcpy(r->host_pk, host_pk, 32);
	}
	crypto_generichash_init(&r->hinit, NULL, 0, TG_REC_HASH_LEN);
	tg_rec_chain_start(r->chain);
	if ((r->buf = malloc(READ_BUF)) == NULL) {
		e = TG_ERR_NOMEM;
		goto out;
	}
	if ((e = fill(r, TG_REC_MAGIC_LEN)) != TG_OK)
		goto out;
	if (r->end < TG_REC_MAGIC_LEN) {
		e = memcmp(r->buf, TG_REC_MAGIC, r->end) == 0
		        ? TG_ERR_TRUNCATED
		        : header_fail(bad, 0, 0, "no recording magic");
		goto out;
	}
	if (memcmp(r->buf, TG_REC_MAGIC, 6) != 0 || r->buf[7] != '\n') {
		e = header_fail(bad, 0, 0, "no recording magic");
		goto out;
	}
	/* a newer format is not read, and not called tampered; an older one than the first there
	 * is (0) is no format at all. A HEADER of this version under a newer version byte is this
	 * format's file with that byte changed, which would pass a tampered file off as "not
	 * verified": it is tampered */
	if (r->buf[6] != TG_REC_VERSION) {
		r->version = r->buf[6];
		if (r->buf[6] < TG_REC_VERSION) {
			e = header_fail(bad, 0, 6, "format version 0");
			goto out;
		}
		e = TG_ERR_VERSION;
		r->pos = TG_REC_MAGIC_LEN;
		if (frame(r, TG_REC_MAX_HEADER, &type, &dt, &hl, &plen, &at_eof) > 0 &&
		    type == TG_REC_HEADER && plen <= TG_REC_MAX_HEADER &&
		    (o = json_loadb((const char *)r->buf + r->pos + hl, plen, 0, NULL)) != NULL &&
		    json_is_integer(json_object_get(o, "version")) &&
		    json_integer_value(json_object_get(o, "version")) == TG_REC_VERSION)
			e = header_fail(
			    bad, 0, 6,
			    "a HEADER of this version under a newer format version byte");
		goto out;
	}
	r->pos = TG_REC_MAGIC_LEN;
	if ((e = frame(r, TG_REC_MAX_HEADER, &type, &dt, &hl, &plen, &at_eof)) < 0) {
		if (e == TG_ERR_LIMIT)
			e = header_fail(bad, 1, TG_REC_MAGIC_LEN, "HEADER longer than 64 KiB");
		else if (e == TG_ERR_FORMAT)
			e = header_fail(bad, 1, TG_REC_MAGIC_LEN, "malformed varint");
		goto out;
	}
	if (e == 0) {
		e = TG_ERR_TRUNCATED;
		goto out;
	}
	if (type != TG_REC_HEADER || dt != 0 || plen > TG_REC_MAX_HEADER) {
		e = header_fail(bad, 1, TG_REC_MAGIC_LEN,
		                type != TG_REC_HEADER ? "not a HEADER" : "a HEADER after time 0");
		goto out;
	}
	if ((e = parse_header(r, r->buf + r->pos + hl, plen)) == TG_ERR_NOMEM) {
		goto out;
	} else if (e != TG_OK) {
		e = header_fail(bad, 1, TG_REC_MAGIC_LEN, "malformed HEADER");
		goto out;
	}
	if ((r->header_json = malloc(plen + 1)) == NULL) {
		e = TG_ERR_NOMEM;
		goto out;
	}
	memcpy(r->header_json, r->buf + r->pos + hl, plen);
	r->header_json[plen] = '\0';
	/* parsed once already: failing now is out of memory, not a bad certificate */
	if ((o = json_loadb(r->header_json, plen, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		e = TG_ERR_NOMEM;
		goto out;
	}
	check_cert(r, o);
	chain_add(r, r->buf + r->pos, hl + plen);
	r->count = 1;
	r->prev_type = TG_REC_HEADER;
	r->pos += hl + plen;
	r->v.records = 1;
	r->v.bytes = r->buf_off + r->pos;
	*out = r; /* transferred */
	r = NULL;
	e = TG_OK;
out:
	if (e == TG_ERR_VERSION)
		*version = r->version;
	json_decref(o);
	tg_rec_reader_free(r);
	return e;
}

const struct tg_rec_header *tg_rec_reader_header(const struct tg_rec_reader *r)
{
	return &r->hdr;
}

const char *tg_rec_reader_header_json(const struct tg_rec_reader *r)
{
	return r->header_json;
}

/* Decode and check a payload by type; fills rec's decoded fields. */
static int check_payload(struct tg_rec_reader *r, struct tg_rec_record *rec, const char **why)
{
	const unsigned char *p = rec->data;
	json_t *j;
	int ok;

	switch (rec->type) {
	case TG_REC_OUT:
	case TG_REC_ERR:
	case TG_REC_IN:
		return TG_OK;
	case TG_REC_IN_HIDDEN:
		if (rec->len != 4)
			break;
		rec->hidden = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		              (uint32_t)p[3] << 24;
		return TG_OK;
	case TG_REC_RESIZE:
		if (rec->len != 4)
			break;
		rec->cols = p[0] | (unsigned)p[1] << 8;
		rec->rows = p[2] | (unsigned)p[3] << 8;
		return TG_OK;
	case TG_REC_DROPPED:
		if (rec->len != 9 || p[0] < TG_REC_OUT || p[0] > TG_REC_IN)
			break;
		rec->stream = (enum tg_rec_type)p[0];
		rec->dropped = tg_rec_get_u64(p + 1);
		return TG_OK;
	case TG_REC_NOTE:
	case TG_REC_END:
		if (rec->type == TG_REC_END && r->saw_end) {
			*why = "a second END record";
			return TG_ERR_FORMAT;
		}
		/* bounded before it is parsed: a parse's memory grows with the values */
		if (tg_rec_json_values_bound(p, rec->len) > TG_REC_JSON_VALUES_MAX) {
			*why = rec->type == TG_REC_NOTE ? "a NOTE of too many JSON values"
			                                : "an END of too many JSON values";
			return TG_ERR_FORMAT;
		}
		j = json_loadb((const char *)p, rec->len, JSON_REJECT_DUPLICATES, NULL);
		ok = json_is_object(j);
		json_decref(j);
		if (!ok)
			break;
		return TG_OK;
	case TG_REC_CHECKPOINT:
		if (rec->len != TG_REC_CHECKPOINT_LEN || (p[24] & ~TG_REC_CP_FINAL) != 0)
			break;
		rec->final = p[24] & TG_REC_CP_FINAL;
		return TG_OK;
	case TG_REC_HEADER:
		*why = "a HEADER after record 1";
		return TG_ERR_FORMAT;
	default:
		*why = "unknown record type";
		return TG_ERR_FORMAT;
	}
	*why = "malformed payload";
	return TG_ERR_FORMAT;
}

/* Whether a checkpoint payload p carries the session key's signature over its fields. */
static int checkpoint_signed(const struct tg_rec_reader *r, const unsigned char *p)
{
	unsigned char m[TG_REC_CHECKPOINT_MSG_MAX];
	size_t mlen = tg_rec_checkpoint_msg(m, r->hdr.session_id_raw, p);

	return crypto_sign_verify_detached(p + TG_REC_CP_SIGNED_LEN, m, mlen, r->hdr.session_pk) ==
	       0;
}

/* Verify a checkpoint against what was read; chain is H(index-1). */
static void check_checkpoint(struct tg_rec_reader *r, const struct tg_rec_record *rec, size_t total)
{
	const unsigned char *p = rec->data;

	if (r->failed)
		return;
	if (!checkpoint_signed(r, p)) {
		fail(r, TG_ERR_BAD_SIGNATURE, rec->index, rec->offset, rec->time_us,
		     "checkpoint signature does not verify");
		return;
	}
	if (tg_rec_get_u64(p) != rec->index || tg_rec_get_u64(p + 8) != rec->offset ||
	    tg_rec_get_u64(p + 16) != rec->time_us) {
		fail(r, TG_ERR_CHAIN, rec->index, rec->offset, rec->time_us,
		     "checkpoint signed for record %llu at byte %llu, time %llu us: records were "
		     "removed, "
		     "inserted or moved",
		     (unsigned long long)tg_rec_get_u64(p),
		     (unsigned long long)tg_rec_get_u64(p + 8),
		     (unsigned long long)tg_rec_get_u64(p + 16));
		return;
	}
	if (sodium_memcmp(p + 25, r->chain, TG_REC_HASH_LEN) != 0) {
		fail(r, TG_ERR_CHAIN, rec->index, rec->offset, rec->time_us,
		     "hash chain broken: records after byte %llu were changed",
		     (unsigned long long)r->v.verified_bytes);
		return;
	}
	if (rec->final && r->prev_type != TG_REC_END) {
		fail(r, TG_ERR_FORMAT, rec->index, rec->offset, rec->time_us,
		     "seal without an END record");
		return;
	}
	r->v.verified_index = rec->index;
	r->v.verified_bytes = rec->offset + total;
	r->v.verified_time_us = rec->time_us;
}

int tg_rec_reader_next(struct tg_rec_reader *r, struct tg_rec_record *rec)
{
	unsigned type = 0;
	uint64_t dt = 0, off, idx, t;
	size_t hl = 0, plen = 0;
	const char *why = "malformed record";
	int e, at_eof = 0;

	if (r->fatal != TG_OK)
		return r->fatal;
	if (r->done)
		return 0;
	memset(rec, 0, sizeof(*rec));
	off = r->buf_off + r->pos;
	idx = r->count + 1;
	e = frame(r, TG_REC_MAX_PAYLOAD, &type, &dt, &hl, &plen, &at_eof);
	if (e < 0 && e != TG_ERR_FORMAT && e != TG_ERR_LIMIT) {
		r->fatal = e; /* the source failed: no verdict about the file */
		return e;
	}
	if (e < 0) {
		why = e == TG_ERR_LIMIT ? "record length over the limit" : "malformed varint";
		goto malformed;
	}
	if (e == 0) {
		r->done = 1;
		r->v.bytes = r->buf_off + r->end;
		if (!at_eof && r->v.sealed) {
			fail(r, TG_ERR_FORMAT, idx, off, r->time_us, "%llu bytes after the seal",
			     (unsigned long long)(r->end - r->pos));
		} else if (!at_eof) {
			r->v.truncated = 1;
			if (!r->failed && !r->v.sealed)
				snprintf(r->v.reason, sizeof(r->v.reason),
				         "the input ends inside record %llu at byte %llu",
				         (unsigned long long)idx, (unsigned long long)off);
		}
		return 0;
	}
	if (r->v.sealed) {
		why = "data after the seal";
		goto malformed;
	}
	t = r->time_us + dt;
	if (t < r->time_us || t > (uint64_t)INT64_MAX) {
		why = "session time overflows";
		goto malformed;
	}
	rec->type = (enum tg_rec_type)type;
	rec->index = idx;
	rec->offset = off;
	rec->time_us = t;
	rec->data = r->buf + r->pos + hl;
	rec->len = plen;
	if (check_payload(r, rec, &why) != TG_OK)
		goto malformed;
	if (r->saw_end && !(type == TG_REC_CHECKPOINT && rec->final)) {
		why = "a record between END and the seal";
		goto malformed;
	}
	if (type == TG_REC_CHECKPOINT)
		check_checkpoint(r, rec, hl + plen);
	chain_add(r, r->buf + r->pos, hl + plen);
	if (type == TG_REC_CHECKPOINT && rec->final && !r->failed) {
		r->v.sealed = 1;
		memcpy(r->v.final_hash, r->chain, TG_REC_HASH_LEN);
	}
	if (type == TG_REC_END)
		r->saw_end = 1;
	r->prev_type = (int)type;
	r->count = idx;
	r->time_us = t;
	r->pos += hl + plen;
	r->v.records = idx;
	r->v.bytes = r->buf_off + r->pos;
	r->v.time_us = t;
	return 1;
malformed:
	fail(r, TG_ERR_FORMAT, idx, off, r->time_us, "record %llu at byte %llu: %s",
	     (unsigned long long)idx, (unsigned long long)off, why);
	r->fatal = TG_ERR_FORMAT;
	r->v.bytes = r->buf_off + r->end;
	return TG_ERR_FORMAT;
}

void tg_rec_reader_verdict(const struct tg_rec_reader *r, struct tg_rec_verdict *v)
{
	*v = r->v;
	if (r->failed)
		return;
	v->status = v->sealed ? TG_OK : TG_ERR_UNSEALED;
	if (!v->sealed && v->reason[0] == '\0')
		snprintf(v->reason, sizeof(v->reason), "no seal");
}

void tg_rec_reader_free(struct tg_rec_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->command);
	free(r->header_json);
	free(r);
}

/* A source that counts the bytes it gives: a header cut short is all of the input. */
struct counted_source {
	struct tg_rec_source src;
	uint64_t n;
};

static ssize_t counted_read(void *ctx, void *buf, size_t n)
{
	struct counted_source *c = ctx;
	ssize_t k = c->src.read(c->src.ctx, buf, n);

	if (k > 0)
		c->n += (uint64_t)k;
	return k;
}

int tg_rec_verify(const struct tg_rec_source *src, const unsigned char *host_pk,
                  struct tg_rec_verdict *v)
{
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct counted_source cs = {{NULL, NULL}, 0};
	struct tg_rec_source csrc = {counted_read, &cs};
	int e;

	memset(v, 0, sizeof(*v));
	if (src == NULL || src->read == NULL)
		return TG_ERR_INVALID;
	cs.src = *src;
	e = open_reader(&r, &csrc, host_pk, &v->version, v);
	if (e == TG_ERR_TRUNCATED) {
		v->status = TG_ERR_UNSEALED;
		v->truncated = 1;
		v->bytes = cs.n; /* read to its end: none of it verified */
		v->key_checked = host_pk != NULL;
		snprintf(v->reason, sizeof(v->reason),
		         "the input ends inside the header: nothing verified");
		return TG_OK;
	}
	if (e == TG_ERR_FORMAT || e == TG_ERR_VERSION) {
		v->status = e;
		v->key_checked = host_pk != NULL;
		if (e == TG_ERR_VERSION) /* else open_reader() said where and why */
			snprintf(v->reason, sizeof(v->reason),
			         "unsupported format version %u (this reader reads up to %d)",
			         v->version, TG_REC_VERSION);
		return TG_OK;
	}
	if (e != TG_OK)
		return e;
	while ((e = tg_rec_reader_next(r, &rec)) > 0)
		;
	if (e < 0 && e != TG_ERR_FORMAT)
		goto out;
	tg_rec_reader_verdict(r, v);
	snprintf(v->session_id, sizeof(v->session_id), "%s", tg_rec_reader_header(r)->session_id);
	e = TG_OK;
out:
	tg_rec_reader_free(r);
	return e;
}

/* Take duration, exit status and byte totals from END's JSON o when they are there. */
static void summarize_end(struct tg_rec_summary *s, json_t *o)
{
	json_t *j, *b;

	if (o == NULL)
		return;
	j = json_object_get(o, "duration_us");
	if (json_is_integer(j) && json_integer_value(j) >= 0)
		s->duration_us = (uint64_t)json_integer_value(j);
	j = json_object_get(o, "exit_status");
	if (json_is_integer(j) && json_integer_value(j) >= INT32_MIN &&
	    json_integer_value(j) <= INT32_MAX) {
		s->has_exit_status = 1;
		s->exit_status = (int)json_integer_value(j);
	}
	b = json_object_get(o, "bytes");
	if (json_is_object(b)) {
		j = json_object_get(b, "out");
		if (json_is_integer(j) && json_integer_value(j) >= 0)
			s->bytes_out = (uint64_t)json_integer_value(j);
		j = json_object_get(b, "err");
		if (json_is_integer(j) && json_integer_value(j) >= 0)
			s->bytes_err = (uint64_t)json_integer_value(j);
		j = json_object_get(b, "in");
		if (json_is_integer(j) && json_integer_value(j) >= 0)
			s->bytes_in = (uint64_t)json_integer_value(j);
	}
}

/* The summary's fields that come from the header. */
static void summary_header(struct tg_rec_summary *s, const struct tg_rec_header *h)
{
	snprintf(s->session_id, sizeof(s->session_id), "%s", h->session_id);
	snprintf(s->user, sizeof(s->user), "%s", h->user);
	snprintf(s->host, sizeof(s->host), "%s", h->host);
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", h->client_addr);
	s->client_port = h->client_port;
	snprintf(s->mode, sizeof(s->mode), "%s", h->mode);
	snprintf(s->command, sizeof(s->command), "%s", h->command ? h->command : "");
	s->command_cut = h->command != NULL && strlen(h->command) >= sizeof(s->command);
	snprintf(s->pam_session_id, sizeof(s->pam_session_id), "%s", h->pam_session_id);
	s->audit_session = h->audit_session;
	snprintf(s->boot_id, sizeof(s->boot_id), "%s", h->boot_id);
	snprintf(s->key_id, sizeof(s->key_id), "%s", h->key_id);
	s->start_us = h->start_us;
}

int tg_rec_summarize_source(const struct tg_rec_source *src, const unsigned char *host_pk,
                            struct tg_rec_summary *s)
{
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	json_t *end = NULL;
	uint64_t end_offset = 0, end_time = 0;
	int e, have_end = 0;

	memset(s, 0, sizeof(*s));
	if ((e = tg_rec_reader_open_version(&r, src, host_pk, &s->version)) != TG_OK)
		return e;
	summary_header(s, tg_rec_reader_header(r));
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		if (rec.type == TG_REC_OUT)
			s->bytes_out += rec.len;
		else if (rec.type == TG_REC_ERR)
			s->bytes_err += rec.len;
		else if (rec.type == TG_REC_IN)
			s->bytes_in += rec.len;
		else if (rec.type == TG_REC_END) {
			have_end = 1;
			end_offset = rec.offset;
			end_time = rec.time_us;
			json_decref(end);
			end = json_loadb((const char *)rec.data, rec.len, 0, NULL);
		}
	}
	if (e < 0 && e != TG_ERR_FORMAT)
		goto out;
	tg_rec_reader_verdict(r, &v);
	s->status = v.status;
	s->verified_bytes = v.verified_bytes;
	s->verified_time_us = v.verified_time_us;
	s->file_bytes = v.bytes;
	/* an END past the verified part (no seal after it, or a forged one) is not a fact: the
	 * session lasted as long as what verified, as info says */
	if (have_end && end_offset < v.verified_bytes) {
		s->duration_us = end_time;
		summarize_end(s, end);
	} else {
		s->duration_us = v.verified_time_us;
	}
	if (v.status == TG_OK)
		sodium_bin2hex(s->final_hash, sizeof(s->final_hash), v.final_hash, TG_REC_HASH_LEN);
	e = TG_OK;
out:
	json_decref(end);
	tg_rec_reader_free(r);
	return e;
}

/* Reads at an offset of its own: the fd's may be another thread's (an upload of the same file). */
struct pread_ctx {
	int fd;
	off_t off;
};

static ssize_t pread_read(void *ctx, void *buf, size_t n)
{
	struct pread_ctx *p = ctx;
	ssize_t k;

	do
		k = pread(p->fd, buf, n, p->off);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return TG_ERR_SYSTEM;
	p->off += k;
	return k;
}

int tg_rec_summarize_fd(int fd, const unsigned char *host_pk, struct tg_rec_summary *s)
{
	struct pread_ctx pc = {fd, 0};
	struct tg_rec_source src = {pread_read, &pc};

	return tg_rec_summarize_source(&src, host_pk, s);
}

int tg_rec_summarize(const char *path, const unsigned char *host_pk, struct tg_rec_summary *s)
{
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	e = tg_rec_summarize_fd(fd, host_pk, s);
	close(fd);
	return e;
}

/* A seal is the last record: type, dt (1 to 10 bytes), length (1 byte), payload. */
#define SEAL_MAX (1 + TG_REC_VARINT_MAX + 1 + TG_REC_CHECKPOINT_LEN)

int tg_rec_summarize_quick(const char *path, const unsigned char *host_pk, struct tg_rec_summary *s)
{
	int fd, e;

	memset(s, 0, sizeof(*s));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	e = tg_rec_summarize_quick_fd(fd, host_pk, s);
	close(fd);
	return e;
}

int tg_rec_summarize_quick_fd(int fd, const unsigned char *host_pk, struct tg_rec_summary *s)
{
	struct pread_ctx pc = {fd, 0};
	struct tg_rec_source src = {pread_read, &pc};
	struct tg_rec_reader *r = NULL;
	unsigned char tail[SEAL_MAX];
	struct stat sb;
	size_t tl, k;
	ssize_t n;
	int e;

	memset(s, 0, sizeof(*s));
	if (fstat(fd, &sb) != 0) {
		e = TG_ERR_SYSTEM;
		goto out;
	}
	if ((e = tg_rec_reader_open(&r, &src, host_pk)) != TG_OK)
		goto out;
	e = TG_ERR_UNSEALED;
	/* a certificate that does not verify: only the full pass can say what is wrong */
	if (r->failed || (uint64_t)sb.st_size <= r->v.bytes)
		goto out;
	tl = (uint64_t)sb.st_size - r->v.bytes < SEAL_MAX ? (size_t)(sb.st_size - r->v.bytes)
	                                                  : SEAL_MAX;
	do
		n = pread(fd, tail, tl, sb.st_size - (off_t)tl);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		e = TG_ERR_SYSTEM;
		goto out;
	}
	if ((size_t)n != tl)
		goto out;
	for (k = 1; k <= TG_REC_VARINT_MAX; k++) {
		size_t rl = 2 + k + TG_REC_CHECKPOINT_LEN; /* the seal record's length */
		const unsigned char *p, *pl;
		uint64_t dt, len;

		if (rl > tl)
			break;
		p = tail + tl - rl;
		pl = p + 2 + k;
		if (p[0] != TG_REC_CHECKPOINT || tg_rec_varint_get(p + 1, k, &dt) != (int)k ||
		    tg_rec_varint_get(p + 1 + k, 1, &len) != 1 || len != TG_REC_CHECKPOINT_LEN ||
		    tg_rec_get_u64(pl + 8) != (uint64_t)sb.st_size - rl ||
		    pl[24] != TG_REC_CP_FINAL || !checkpoint_signed(r, pl))
			continue;
		/* the final hash: the seal's own record hashed onto the chain it signs */
		memcpy(r->chain, pl + 25, TG_REC_HASH_LEN);
		chain_add(r, p, rl);
		summary_header(s, &r->hdr);
		s->status = TG_OK;
		s->file_bytes = s->verified_bytes = (uint64_t)sb.st_size;
		s->verified_time_us = tg_rec_get_u64(pl + 16);
		sodium_bin2hex(s->final_hash, sizeof(s->final_hash), r->chain, TG_REC_HASH_LEN);
		e = TG_OK;
		break;
	}
out:
	tg_rec_reader_free(r);
	return e;
}
