/*
 * The recording format's writer and the pieces the reader shares with it
 * (varints, chain start, signed messages). The format: doc/recording-format.md.
 */
#include "tg_rec.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_rec_int.h"
#include "tg_spool.h"
#include "tg_utf8.h"

#define CHAIN_CONTEXT "tollgate-recording-v1"
#define CERT_CONTEXT "tollgate-session-key-v1"
#define CHECKPOINT_CONTEXT "tollgate-checkpoint-v1"

struct tg_rec_writer {
	/* first: libsodium wants the hash state 64-byte aligned */
	crypto_generichash_state hinit; /* the state right after init: copied per record */
	int fd;
	int error; /* sticky: once a write failed, the file is not what the chain says */
	int sealed;
	unsigned char sid[TG_REC_SESSION_ID_LEN];
	unsigned char session_sk[crypto_sign_SECRETKEYBYTES];
	unsigned char chain[TG_REC_HASH_LEN]; /* H(count) */
	uint64_t count;                       /* records written */
	uint64_t offset;                      /* bytes written, buffered ones included */
	uint64_t time_us;                     /* session time of the last record */
	size_t blen;
	unsigned char buf[TG_REC_WRITE_BUF];
};

size_t tg_rec_varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

int tg_rec_varint_get(const unsigned char *p, size_t avail, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < TG_REC_VARINT_MAX; i++) {
		if (i >= avail)
			return 0;
		if (i == TG_REC_VARINT_MAX - 1 && p[i] > 1)
			return -1; /* past 64 bits */
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return -1; /* not minimal */
			*v = x;
			return (int)i + 1;
		}
	}
	return -1;
}

void tg_rec_put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t tg_rec_get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void tg_rec_chain_start(unsigned char h[TG_REC_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, TG_REC_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)CHAIN_CONTEXT, strlen(CHAIN_CONTEXT));
	crypto_generichash_update(&st, (const unsigned char *)TG_REC_MAGIC, TG_REC_MAGIC_LEN);
	crypto_generichash_final(&st, h, TG_REC_HASH_LEN);
}

size_t tg_rec_session_cert_msg(unsigned char *m, const unsigned char sid[TG_REC_SESSION_ID_LEN],
                               const unsigned char session_pk[32], uint64_t start_us)
{
	size_t n = strlen(CERT_CONTEXT);

	memcpy(m, CERT_CONTEXT, n);
	memcpy(m + n, sid, TG_REC_SESSION_ID_LEN);
	n += TG_REC_SESSION_ID_LEN;
	memcpy(m + n, session_pk, 32);
	n += 32;
	tg_rec_put_u64(m + n, start_us);
	return n + 8;
}

size_t tg_rec_checkpoint_msg(unsigned char *m, const unsigned char sid[TG_REC_SESSION_ID_LEN],
                             const unsigned char *signed_part)
{
	size_t n = strlen(CHECKPOINT_CONTEXT);

	memcpy(m, CHECKPOINT_CONTEXT, n);
	memcpy(m + n, sid, TG_REC_SESSION_ID_LEN);
	n += TG_REC_SESSION_ID_LEN;
	memcpy(m + n, signed_part, TG_REC_CP_SIGNED_LEN);
	return n + TG_REC_CP_SIGNED_LEN;
}

const char *tg_rec_type_name(enum tg_rec_type type)
{
	switch (type) {
	case TG_REC_OUT:
		return "out";
	case TG_REC_ERR:
		return "err";
	case TG_REC_IN:
		return "in";
	case TG_REC_IN_HIDDEN:
		return "in-hidden";
	case TG_REC_RESIZE:
		return "resize";
	case TG_REC_DROPPED:
		return "dropped";
	case TG_REC_NOTE:
		return "note";
	case TG_REC_HEADER:
		return "header";
	case TG_REC_END:
		return "end";
	case TG_REC_CHECKPOINT:
		return "checkpoint";
	}
	return "?";
}

int tg_rec_flush(struct tg_rec_writer *w)
{
	int r;

	if (w->error != TG_OK)
		return w->error;
	if (w->blen == 0)
		return TG_OK;
	if ((r = tg_write_all(w->fd, w->buf, w->blen)) != TG_OK) {
		w->error = r;
		return r;
	}
	w->blen = 0;
	return TG_OK;
}

/* Frame, chain and buffer one record; records bigger than the buffer go straight out. */
static int append(struct tg_rec_writer *w, enum tg_rec_type type, uint64_t time_us,
                  const void *payload, size_t len)
{
	crypto_generichash_state st;
	unsigned char hdr[TG_REC_RECHDR_MAX];
	size_t hl, total;
	uint64_t t;
	int r;

	if (w->error != TG_OK)
		return w->error;
	if (w->sealed || len > TG_REC_MAX_PAYLOAD)
		return TG_ERR_INVALID;
	/* a clock that steps back must not make the file unreadable: hold time still */
	t = time_us < w->time_us ? w->time_us : time_us;
	hdr[0] = (unsigned char)type;
	hl = 1;
	hl += tg_rec_varint_put(hdr + hl, w->count == 0 ? 0 : t - w->time_us);
	hl += tg_rec_varint_put(hdr + hl, len);
	total = hl + len;
	if (total > sizeof(w->buf) - w->blen && (r = tg_rec_flush(w)) != TG_OK)
		return r;

	memcpy(&st, &w->hinit, sizeof(st));
	crypto_generichash_update(&st, w->chain, sizeof(w->chain));
	crypto_generichash_update(&st, hdr, hl);
	crypto_generichash_update(&st, payload, len);
	crypto_generichash_final(&st, w->chain, sizeof(w->chain));

	if (total <= sizeof(w->buf) - w->blen) {
		memcpy(w->buf + w->blen, hdr, hl);
		if (len > 0)
			memcpy(w->buf + w->blen + hl, payload, len);
		w->blen += total;
	} else if ((r = tg_write_all(w->fd, hdr, hl)) != TG_OK ||
	           (r = tg_write_all(w->fd, payload, len)) != TG_OK) {
		w->error = r;
		return r;
	}
	w->count++;
	w->offset += total;
	w->time_us = t;
	return TG_OK;
}

static int write_checkpoint(struct tg_rec_writer *w, uint64_t time_us, int final)
{
	unsigned char p[TG_REC_CHECKPOINT_LEN], m[TG_REC_CHECKPOINT_MSG_MAX];
	uint64_t t = time_us < w->time_us ? w->time_us : time_us;
	size_t mlen;
	int r;

	if (w->error != TG_OK)
		return w->error;
	if (w->sealed)
		return TG_ERR_INVALID;
	tg_rec_put_u64(p, w->count + 1);
	tg_rec_put_u64(p + 8, w->offset);
	tg_rec_put_u64(p + 16, t);
	p[24] = final ? TG_REC_CP_FINAL : 0;
	memcpy(p + 25, w->chain, TG_REC_HASH_LEN);
	mlen = tg_rec_checkpoint_msg(m, w->sid, p);
	if (crypto_sign_detached(p + TG_REC_CP_SIGNED_LEN, NULL, m, mlen, w->session_sk) != 0)
		return TG_ERR_CRYPTO;
	if ((r = append(w, TG_REC_CHECKPOINT, t, p, sizeof(p))) != TG_OK)
		return r;
	return tg_rec_flush(w);
}

static void iso_time(char *out, size_t n, uint64_t us)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	char date[32];

	if (gmtime_r(&s, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	snprintf(out, n, "%s.%06uZ", date, (unsigned)(us % 1000000));
}

/* A JSON string from C text that may not be UTF-8 (invalid bytes become U+FFFD). */
static json_t *jstr(const char *s, int *altered)
{
	size_t bad = 0;
	json_t *j = tg_utf8_json(s != NULL ? s : "", &bad);

	if (altered != NULL)
		*altered = bad > 0;
	return j;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v == NULL || json_object_set_new(o, k, v) != 0 ? TG_ERR_NOMEM : TG_OK;
}

/* The HEADER's JSON text (caller frees). */
static int header_json(const struct tg_rec_meta *meta, const unsigned char host_pk[32],
                       const unsigned char session_pk[32], const unsigned char sig[64], char **out)
{
	char sid[2 * TG_REC_SESSION_ID_LEN + 1], when[48], kid[TG_REC_KEY_ID_LEN + 1];
	char spk[65], ssig[129],
	    b64[sodium_base64_ENCODED_LEN(TG_REC_HEADER_COMMAND_MAX,
	                                  sodium_base64_VARIANT_ORIGINAL)];
	json_t *o = json_object();
	int r = TG_ERR_NOMEM, altered = 0;
	size_t clen = meta->command != NULL ? strlen(meta->command) : 0;
	char *command = NULL;

	*out = NULL;
	if (o == NULL)
		goto out;
	/* a long command is cut (at a character boundary) here and kept whole in a NOTE */
	if (meta->command != NULL) {
		size_t n = clen;

		if (n > TG_REC_HEADER_COMMAND_MAX) {
			n = TG_REC_HEADER_COMMAND_MAX;
			while (n > 0 && ((unsigned char)meta->command[n] & 0xc0) == 0x80)
				n--;
		}
		if ((command = strndup(meta->command, n)) == NULL)
			goto out;
	}
	sodium_bin2hex(sid, sizeof(sid), meta->session_id, TG_REC_SESSION_ID_LEN);
	iso_time(when, sizeof(when), meta->start_us);
	tg_key_id(host_pk, kid);
	sodium_bin2hex(spk, sizeof(spk), session_pk, 32);
	sodium_bin2hex(ssig, sizeof(ssig), sig, 64);
	if ((r = set_new(o, "version", json_integer(1))) != TG_OK ||
	    (r = set_new(o, "session_id", json_string(sid))) != TG_OK ||
	    (r = set_new(o, "user", jstr(meta->user, NULL))) != TG_OK ||
	    (r = set_new(o, "uid", json_integer((json_int_t)meta->uid))) != TG_OK ||
	    (r = set_new(o, "client_addr", jstr(meta->client_addr, NULL))) != TG_OK ||
	    (r = set_new(o, "client_port", json_integer(meta->client_port))) != TG_OK ||
	    (r = set_new(o, "host", jstr(meta->host, NULL))) != TG_OK ||
	    (r = set_new(o, "sshd_pid", json_integer(meta->sshd_pid))) != TG_OK ||
	    (meta->audit_session != 0 &&
	     (r = set_new(o, "audit_session", json_integer(meta->audit_session))) != TG_OK) ||
	    (meta->boot_id != NULL && meta->boot_id[0] != '\0' &&
	     (r = set_new(o, "boot_id", json_string(meta->boot_id))) != TG_OK) ||
	    (r = set_new(o, "start_us", json_integer((json_int_t)meta->start_us))) != TG_OK ||
	    (r = set_new(o, "start", json_string(when))) != TG_OK ||
	    (r = set_new(o, "mode", jstr(meta->mode ? meta->mode : "interactive", NULL))) !=
	        TG_OK ||
	    (r = set_new(o, "command", command ? jstr(command, &altered) : json_null())) != TG_OK)
		goto out;
	/* a command that is not UTF-8 is kept exactly, beside its readable form */
	if (altered) {
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)command, strlen(command),
		                  sodium_base64_VARIANT_ORIGINAL);
		if ((r = set_new(o, "command_b64", json_string(b64))) != TG_OK)
			goto out;
	}
	if (command != NULL && strlen(command) < clen &&
	    (r = set_new(o, "command_length", json_integer((json_int_t)clen))) != TG_OK)
		goto out;
	if ((r = set_new(o, "term", jstr(meta->term, NULL))) != TG_OK ||
	    (r = set_new(o, "cols", json_integer(meta->cols))) != TG_OK ||
	    (r = set_new(o, "rows", json_integer(meta->rows))) != TG_OK ||
	    (r = set_new(o, "pam_session_id", jstr(meta->pam_session_id, NULL))) != TG_OK ||
	    (r = set_new(o, "recorder", json_string("tollgate-record " PACKAGE_VERSION))) !=
	        TG_OK ||
	    (r = set_new(o, "host_key_id", json_string(kid))) != TG_OK ||
	    (r = set_new(o, "session_key", json_string(spk))) != TG_OK ||
	    (r = set_new(o, "session_key_sig", json_string(ssig))) != TG_OK)
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	r = TG_OK;
out:
	free(command);
	json_decref(o);
	return r;
}

/* A command too long for the header, whole (up to TG_REC_COMMAND_NOTE_MAX bytes), in a NOTE. */
static int write_command_note(struct tg_rec_writer *w, const char *command)
{
	size_t clen = strlen(command),
	       n = clen > TG_REC_COMMAND_NOTE_MAX ? TG_REC_COMMAND_NOTE_MAX : clen;
	size_t blen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(blen), *text = NULL;
	json_t *o = NULL;
	int r = TG_ERR_NOMEM;

	if (b64 == NULL)
		return r;
	sodium_bin2base64(b64, blen, (const unsigned char *)command, n,
	                  sodium_base64_VARIANT_ORIGINAL);
	if ((o = json_pack("{s:s, s:I, s:s, s:b}", "event", "command", "length", (json_int_t)clen,
	                   "command_b64", b64, "truncated", n < clen)) != NULL &&
	    (text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL)
		r = tg_rec_write_note(w, 0, text);
	free(text);
	json_decref(o);
	free(b64);
	return r;
}

int tg_rec_writer_open(struct tg_rec_writer **out, int fd, const struct tg_rec_meta *meta,
                       const unsigned char host_sk[64])
{
	struct tg_rec_writer *w = NULL;
	unsigned char host_pk[32], session_pk[32], m[TG_REC_SESSION_CERT_MSG_MAX], sig[64];
	char *hj = NULL;
	size_t mlen;
	void *mem = NULL;
	int r;

	*out = NULL;
	if (fd < 0 || meta == NULL || host_sk == NULL || meta->cols > 65535 || meta->rows > 65535 ||
	    meta->client_port > 65535 || meta->start_us > (uint64_t)INT64_MAX ||
	    meta->uid > (unsigned long)UINT32_MAX || meta->audit_session == UINT32_MAX ||
	    (meta->boot_id != NULL && meta->boot_id[0] != '\0' && !tg_boot_id_ok(meta->boot_id)))
		return TG_ERR_INVALID; /* what the reader would refuse */
	if (posix_memalign(&mem, 64, sizeof(*w)) != 0)
		return TG_ERR_NOMEM;
	w = mem;
	memset(w, 0, sizeof(*w) - sizeof(w->buf));
	w->fd = fd;
	memcpy(w->sid, meta->session_id, sizeof(w->sid));
	crypto_generichash_init(&w->hinit, NULL, 0, TG_REC_HASH_LEN);
	tg_rec_chain_start(w->chain);
	crypto_sign_keypair(session_pk, w->session_sk);
	crypto_sign_ed25519_sk_to_pk(host_pk, host_sk);
	mlen = tg_rec_session_cert_msg(m, w->sid, session_pk, meta->start_us);
	if (crypto_sign_detached(sig, NULL, m, mlen, host_sk) != 0) {
		r = TG_ERR_CRYPTO;
		goto out;
	}
	if ((r = header_json(meta, host_pk, session_pk, sig, &hj)) != TG_OK)
		goto out;
	if (strlen(hj) > TG_REC_MAX_HEADER) {
		r = TG_ERR_LIMIT;
		goto out;
	}
	/* a field past the reader's limit (a hostname of 255 bytes whose cut character became
	 * U+FFFD, a user name of bytes that are not UTF-8): refused here, where the caller can
	 * say so, not sealed into a recording that every reader calls malformed */
	if ((r = tg_rec_header_check(hj, strlen(hj))) != TG_OK) {
		r = r == TG_ERR_NOMEM ? r : TG_ERR_INVALID;
		goto out;
	}
	memcpy(w->buf, TG_REC_MAGIC, TG_REC_MAGIC_LEN);
	w->blen = w->offset = TG_REC_MAGIC_LEN;
	if ((r = append(w, TG_REC_HEADER, 0, hj, strlen(hj))) != TG_OK)
		goto out;
	/* a recorder killed right now still leaves a header that verifies */
	if ((r = write_checkpoint(w, 0, 0)) != TG_OK)
		goto out;
	if (meta->command != NULL && strlen(meta->command) > TG_REC_HEADER_COMMAND_MAX &&
	    (r = write_command_note(w, meta->command)) != TG_OK)
		goto out;
	*out = w; /* transferred */
	w = NULL;
out:
	free(hj);
	tg_rec_writer_free(w);
	return r;
}

int tg_rec_write_data(struct tg_rec_writer *w, enum tg_rec_type type, uint64_t time_us,
                      const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;
	int r;

	if (type != TG_REC_OUT && type != TG_REC_ERR && type != TG_REC_IN)
		return TG_ERR_INVALID;
	if (len > 0 && p == NULL)
		return TG_ERR_INVALID;
	while (len > 0) {
		n = len > TG_REC_MAX_PAYLOAD ? TG_REC_MAX_PAYLOAD : len;
		if ((r = append(w, type, time_us, p, n)) != TG_OK)
			return r;
		p += n;
		len -= n;
	}
	return TG_OK;
}

int tg_rec_write_resize(struct tg_rec_writer *w, uint64_t time_us, unsigned cols, unsigned rows)
{
	unsigned char p[4];

	if (cols > 65535 || rows > 65535)
		return TG_ERR_INVALID;
	p[0] = (unsigned char)cols;
	p[1] = (unsigned char)(cols >> 8);
	p[2] = (unsigned char)rows;
	p[3] = (unsigned char)(rows >> 8);
	return append(w, TG_REC_RESIZE, time_us, p, sizeof(p));
}

int tg_rec_write_hidden(struct tg_rec_writer *w, uint64_t time_us, uint32_t count)
{
	unsigned char p[4];
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(count >> (8 * i));
	return append(w, TG_REC_IN_HIDDEN, time_us, p, sizeof(p));
}

int tg_rec_write_dropped(struct tg_rec_writer *w, uint64_t time_us, enum tg_rec_type stream,
                         uint64_t count)
{
	unsigned char p[9];

	if (stream != TG_REC_OUT && stream != TG_REC_ERR && stream != TG_REC_IN)
		return TG_ERR_INVALID;
	p[0] = (unsigned char)stream;
	tg_rec_put_u64(p + 1, count);
	return append(w, TG_REC_DROPPED, time_us, p, sizeof(p));
}

/* JSON text that is exactly one object. */
size_t tg_rec_json_values_bound(const unsigned char *p, size_t n)
{
	size_t i, count = 1;
	int in_string = 0;

	for (i = 0; i < n; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++; /* the escaped byte, a quote too */
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '{' || p[i] == '[' || p[i] == ',' || p[i] == ':') {
			count++;
		}
	}
	return count;
}

static int check_object(const char *json)
{
	json_t *j;
	int ok;

	if (json == NULL || strlen(json) > TG_REC_MAX_PAYLOAD ||
	    tg_rec_json_values_bound((const unsigned char *)json, strlen(json)) >
	        TG_REC_JSON_VALUES_MAX)
		return TG_ERR_INVALID;
	j = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(j);
	json_decref(j);
	return ok ? TG_OK : TG_ERR_INVALID;
}

int tg_rec_write_note(struct tg_rec_writer *w, uint64_t time_us, const char *json)
{
	int r;

	if ((r = check_object(json)) != TG_OK)
		return r;
	return append(w, TG_REC_NOTE, time_us, json, strlen(json));
}

int tg_rec_checkpoint(struct tg_rec_writer *w, uint64_t time_us)
{
	return write_checkpoint(w, time_us, 0);
}

int tg_rec_seal(struct tg_rec_writer *w, uint64_t time_us, const char *end_json)
{
	int r;

	if ((r = check_object(end_json)) != TG_OK)
		return r;
	if ((r = append(w, TG_REC_END, time_us, end_json, strlen(end_json))) != TG_OK)
		return r;
	if ((r = write_checkpoint(w, time_us, 1)) != TG_OK)
		return r;
	w->sealed = 1;
	/* nothing may be signed for this session any more */
	sodium_memzero(w->session_sk, sizeof(w->session_sk));
	return TG_OK;
}

void tg_rec_chain_hash(const struct tg_rec_writer *w, unsigned char out[TG_REC_HASH_LEN])
{
	memcpy(out, w->chain, TG_REC_HASH_LEN);
}

uint64_t tg_rec_writer_offset(const struct tg_rec_writer *w)
{
	return w->offset;
}

void tg_rec_writer_forget_key(struct tg_rec_writer *w)
{
	if (w != NULL)
		sodium_memzero(w->session_sk, sizeof(w->session_sk));
}

void tg_rec_writer_free(struct tg_rec_writer *w)
{
	if (w == NULL)
		return;
	sodium_memzero(w->session_sk, sizeof(w->session_sk));
	free(w);
}
