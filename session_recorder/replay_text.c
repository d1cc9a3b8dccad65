/* tollgate-replay: cat, search and export (asciicast v2). */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "replay.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_utf8.h"

int replay_each_record(const struct replay_opts *o, const char *name, uint64_t limit,
                       int (*fn)(void *ctx, const struct tg_rec_header *h,
                                 const struct tg_rec_record *rec),
                       void *ctx, struct tg_rec_verdict *v)
{
	struct replay_src s;
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	int e, e2, stopped = 0;

	if (replay_src_open(&s, o, name) != TG_OK)
		return TG_ERR_IO;
	e = tg_rec_reader_open(&r, &s.src, o->have_pk ? o->host_pk : NULL);
	if (e != TG_OK) {
		tg_error("%s: %s", name, tg_strerror(e));
		goto out;
	}
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		if (rec.offset >= limit)
			break;
		if ((e = fn(ctx, tg_rec_reader_header(r), &rec)) < 0) {
			stopped = 1;
			break;
		}
	}
	if (stopped)
		e = TG_ERR_IO; /* fn's failure (writing stdout): the caller says it */
	else if (e == 0 || e == TG_ERR_FORMAT || e == 1)
		e = TG_OK;
	else
		tg_error("%s: %s", name, tg_strerror(e));
	if (v != NULL)
		tg_rec_reader_verdict(r, v);
out:
	tg_rec_reader_free(r);
	e2 = replay_src_close(&s);
	if (e == TG_OK && e2 != TG_OK) {
		tg_error("%s: %s", name, tg_strerror(e2));
		e = e2;
	}
	return e;
}

/* --- typed input --- */

/* END's count of typed bytes ("bytes": {"in": N}); -1 when it has none. */
static int end_input_count(const struct tg_rec_record *rec, uint64_t *n)
{
	json_t *j = json_loadb((const char *)rec->data, rec->len, 0, NULL);
	json_t *in = json_object_get(json_object_get(j, "bytes"), "in");
	int r = -1;

	if (json_is_integer(in) && json_integer_value(in) >= 0) {
		*n = (uint64_t)json_integer_value(in);
		r = 0;
	}
	json_decref(j);
	return r;
}

void replay_input_see(struct replay_input_seen *s, const struct tg_rec_record *rec)
{
	if (rec->type == TG_REC_IN || rec->type == TG_REC_IN_HIDDEN ||
	    (rec->type == TG_REC_DROPPED && rec->stream == TG_REC_IN))
		s->records++;
	if (rec->type == TG_REC_END) {
		s->have_end = 1;
		s->have_count = end_input_count(rec, &s->counted) == 0;
	}
}

void replay_input_absent(const char *name, const struct replay_input_seen *s)
{
	if (s->records > 0)
		return;
	if (s->have_count && s->counted == 0)
		tg_warn("%s: holds no typed input: its END record counts none typed", name);
	else if (s->have_count)
		tg_warn("%s: holds no typed input: its END record counts %" PRIu64
		        " bytes typed, none stored (input is stored only with record_input = yes, "
		        "and a "
		        "shell's commands with no terminal)",
		        name, s->counted);
	else
		tg_warn("%s: holds no typed input, and %s to count it (input is stored only with "
		        "record_input = yes, and a shell's commands with no terminal)",
		        name,
		        s->have_end ? "its END record has no count" : "no END record was read");
}

/* --- cat --- */

struct cat_ctx {
	int input;
	int transfer; /* a transfer: what was not stored is its content, by transfer_content */
	uint64_t dropped, hidden;
	struct replay_input_seen seen;
	int werr;
	struct replay_guard *guard; /* to a terminal, unless --raw; else NULL */
};

static int cat_rec(void *ctx, const struct tg_rec_header *h, const struct tg_rec_record *rec)
{
	struct cat_ctx *c = ctx;
	int want =
	    c->input ? rec->type == TG_REC_IN : rec->type == TG_REC_OUT || rec->type == TG_REC_ERR;

	c->transfer = strcmp(h->mode, "transfer") == 0;
	if (c->input)
		replay_input_see(&c->seen, rec);
	if (want &&
	    (c->guard != NULL ? replay_guard_write(c->guard, stdout, rec->data, rec->len) != 0
	                      : fwrite(rec->data, 1, rec->len, stdout) != rec->len)) {
		c->werr = 1;
		return -1;
	}
	if (rec->type == TG_REC_DROPPED && (rec->stream == TG_REC_IN) == (c->input != 0))
		c->dropped += rec->dropped;
	if (c->input && rec->type == TG_REC_IN_HIDDEN) {
		c->hidden += rec->hidden;
		printf("[%" PRIu32 " bytes typed with echo off, not recorded]", rec->hidden);
	}
	return 0;
}

/* cat to a terminal ended by a signal (^C): the terminal given back first, the title popped,
 * then the signal's own end. Async-signal-safe. */
static void cat_on_signal(int sig)
{
	ssize_t k = write(STDOUT_FILENO, REPLAY_TERM_RESTORE "\r\n",
	                  sizeof(REPLAY_TERM_RESTORE "\r\n") - 1);

	(void)k;
	signal(sig, SIG_DFL);
	raise(sig);
}

int replay_cmd_cat(const struct replay_opts *o, int argc, char **argv)
{
	struct cat_ctx c = {o->input, 0, 0, 0, {0, 0, 0, 0}, 0, NULL};
	struct replay_guard guard;
	struct tg_rec_verdict v;
	uint64_t limit = 0;
	int status = TG_OK, code, e, ok;

	if (argc != 1) {
		tg_error("cat: one FILE");
		return REPLAY_EXIT_USAGE;
	}
	if ((code = replay_gate(o, argv[0], &limit, &status)) != REPLAY_EXIT_OK)
		return code;
	/* a terminal acts on what it is sent: the recorded user's bytes go through the guard
	 * (a file or a pipe gets them as they were: what scripts and export rely on) */
	if (!o->raw && isatty(STDOUT_FILENO)) {
		replay_guard_init_term(&guard, replay_8bit_tty(STDOUT_FILENO));
		c.guard = &guard;
	}
	if (isatty(STDOUT_FILENO)) {
		struct sigaction sa;
		static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
		size_t i;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = cat_on_signal;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
		/* on the terminal before any pop the handler may write */
		fputs(REPLAY_TERM_START, stdout);
		fflush(stdout);
	}
	e = replay_each_record(o, argv[0], limit, cat_rec, &c, &v);
	/* the modes the recording left the terminal in (insert mode, the alternate screen,
	 * reverse video, ...) are not the investigator's: given back, as at play's end */
	if (isatty(STDOUT_FILENO))
		fputs(REPLAY_TERM_RESTORE, stdout);
	ok = replay_stdout_ok(c.werr);
	if (isatty(STDOUT_FILENO))
		replay_discard_input(STDOUT_FILENO, o->raw);
	if (c.guard != NULL) { /* after the output, which it is about */
		replay_guard_end(c.guard);
		replay_guard_report(c.guard, argv[0], 0);
	}
	if (!ok)
		return REPLAY_EXIT_USAGE;
	if (e != TG_OK)
		return REPLAY_EXIT_USAGE;
	if (replay_recheck(o, argv[0], status, &v) != REPLAY_EXIT_OK)
		return REPLAY_EXIT_TAMPERED;
	replay_warn_dropped(argv[0], c.dropped, c.input, c.transfer);
	if (c.input)
		replay_input_absent(argv[0], &c.seen);
	return replay_exit_for(status);
}

/* --- export --- */

int replay_check_format(const char *format, int required)
{
	if (format == NULL && !required)
		return REPLAY_EXIT_OK;
	if (format == NULL) {
		tg_error("export: --format is required (export formats: %s)",
		         REPLAY_EXPORT_FORMATS);
		return REPLAY_EXIT_USAGE;
	}
	if (strcmp(format, "asciicast") != 0) {
		tg_error("--format %s: not an export format (export formats: %s)", format,
		         REPLAY_EXPORT_FORMATS);
		return REPLAY_EXIT_USAGE;
	}
	return REPLAY_EXIT_OK;
}

struct export_ctx {
	int raw;
	/* unless --raw: the "o" events' text goes through the guard play and cat use, for a
	 * player sends it to the terminal that plays it (NULL with --raw) */
	struct replay_guard *guard;
	struct tg_buf guarded, clean;
	unsigned char carry[3][4]; /* an incomplete UTF-8 character held per stream (o, i) */
	size_t ncarry[3];
	struct tg_buf text, bytes;
	uint64_t replaced;
	uint64_t last_us; /* the time of the last record exported */
	/* --force past the verified part: where it ends, and the "m" event said there */
	uint64_t verified_bytes;
	const char *unverified_note;
	int marked;
	int werr;
	/* a session without a terminal (a command's pipes): its lines end in a bare \n, which the
	 * player's terminal (raw: no output processing) would not take back to column 0, and each
	 * line would start where the last one ended. \r\n, as the client's terminal showed it. */
	int crlf;
	int prev_cr; /* the last byte of the last "o" event was \r */
	struct tg_buf crlfed;
	uint64_t dropped; /* output bytes a cap kept out (DROPPED records) */
	int transfer;     /* ... or transfer_content = metadata */
};

static void emit(struct export_ctx *c, uint64_t t, const char *code, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *d = j ? replay_json_dumps(j, JSON_ENCODE_ANY) : NULL;

	if (d == NULL || printf("[%" PRIu64 ".%06u, \"%s\", %s]\n", t / 1000000,
	                        (unsigned)(t % 1000000), code, d) < 0)
		c->werr = 1;
	free(d);
	json_decref(j);
}

/* Append p to c->text as UTF-8: a character split across records is joined, bad bytes become
 * U+FFFD. */
static int export_utf8(struct export_ctx *c, int k, const unsigned char *p, size_t n, int final,
                       size_t *bad)
{
	unsigned char tmp[8];
	size_t i = 0, t;
	int s, r;

	*bad = 0;
	/* complete a held character first */
	while (c->ncarry[k] > 0 && i < n) {
		t = c->ncarry[k];
		memcpy(tmp, c->carry[k], t);
		tmp[t] = p[i];
		s = tg_utf8_seq(tmp, t + 1);
		if (s < 0) {
			c->carry[k][c->ncarry[k]++] = p[i++];
			continue;
		}
		if (s > 0) {
			if ((r = tg_buf_append(&c->text, tmp, t + 1)) != TG_OK)
				return r;
			i++;
		} else {
			if ((r = tg_buf_puts(&c->text, TG_UTF8_REPLACEMENT)) != TG_OK)
				return r;
			(*bad)++;
			/* the held bytes were invalid; p[i] starts afresh */
		}
		c->ncarry[k] = 0;
	}
	/* hold an incomplete character at the end */
	t = n;
	if (!final) {
		size_t back;

		for (back = 1; back <= 3 && back <= n - i; back++) {
			s = tg_utf8_seq(p + n - back, back);
			if (s == -1) {
				t = n - back;
				break;
			}
			if (p[n - back] < 0x80 || p[n - back] >= 0xc0)
				break;
		}
	}
	{
		size_t before = c->text.len, nb = 0;

		if ((r = tg_utf8_sanitize(&c->text, p + i, t - i, &nb)) != TG_OK)
			return r;
		(void)before;
		*bad += nb;
	}
	/* a record that only continued the held character (one split across three or more
	 * records) leaves it held */
	if (t < n) {
		memcpy(c->carry[k], p + t, n - t);
		c->ncarry[k] = n - t;
	}
	if (final && c->ncarry[k] > 0) {
		if ((r = tg_buf_puts(&c->text, TG_UTF8_REPLACEMENT)) != TG_OK)
			return r;
		(*bad)++;
		c->ncarry[k] = 0;
	}
	return TG_OK;
}

/*
 * --raw: a "b" event with the exact bytes the event before it stands for: the start of a
 * character held from the record before (held), then the record's bytes but those held now
 * for the next one. Each "b" put in place of its event gives back the exact stream.
 */
static void emit_raw(struct export_ctx *c, uint64_t t, const unsigned char *held, size_t nheld,
                     const unsigned char *p, size_t n)
{
	tg_buf_reset(&c->text);
	tg_buf_reset(&c->bytes);
	if (tg_buf_append(&c->text, held, nheld) != TG_OK ||
	    tg_buf_append(&c->text, p, n) != TG_OK ||
	    tg_buf_reserve(&c->bytes, sodium_base64_ENCODED_LEN(
	                                  c->text.len, sodium_base64_VARIANT_ORIGINAL)) != TG_OK) {
		c->werr = 1;
		return;
	}
	sodium_bin2base64((char *)c->bytes.data, c->bytes.alloc, c->text.data, c->text.len,
	                  sodium_base64_VARIANT_ORIGINAL);
	emit(c, t, "b", (const char *)c->bytes.data, strlen((char *)c->bytes.data));
}

/* An "o" event of the text p (n bytes), its bare line feeds made \r\n with c->crlf. */
static void emit_o(struct export_ctx *c, uint64_t t, const unsigned char *p, size_t n)
{
	const unsigned char *lf;
	size_t k;

	if (!c->crlf || n == 0) {
		emit(c, t, "o", (const char *)p, n);
		return;
	}
	tg_buf_reset(&c->crlfed);
	while (n > 0) {
		lf = memchr(p, '\n', n);
		k = lf != NULL ? (size_t)(lf - p) : n;
		if (tg_buf_append(&c->crlfed, p, k) != TG_OK) {
			c->werr = 1;
			return;
		}
		if (k > 0)
			c->prev_cr = p[k - 1] == '\r';
		if (lf == NULL)
			break;
		if ((!c->prev_cr && tg_buf_append(&c->crlfed, "\r", 1) != TG_OK) ||
		    tg_buf_append(&c->crlfed, "\n", 1) != TG_OK) {
			c->werr = 1;
			return;
		}
		c->prev_cr = 0;
		p += k + 1;
		n -= k + 1;
	}
	emit(c, t, "o", (const char *)c->crlfed.data, c->crlfed.len);
}

/*
 * An "o" event of n bytes of UTF-8 at t: through the guard (a sequence cut across records is
 * held, and comes out whole, or not at all, in the event of the record that ends it), unless
 * --raw. None when nothing is left of it.
 */
static void emit_out(struct export_ctx *c, uint64_t t, const unsigned char *p, size_t n)
{
	static unsigned char out[REPLAY_GUARD_OUT_SIZE(4096)];
	size_t k;

	if (c->guard == NULL) {
		if (n > 0)
			emit(c, t, "o", (const char *)p, n);
		return;
	}
	tg_buf_reset(&c->guarded);
	for (; n > 0; p += k, n -= k) {
		k = n < 4096 ? n : 4096;
		if (tg_buf_append(&c->guarded, out, replay_guard_feed(c->guard, out, p, k)) !=
		    TG_OK) {
			c->werr = 1;
			return;
		}
	}
	if (c->guarded.len == 0)
		return;
	/* the guard ends a string at any raw 0x9C, also one inside a character (U+2720..U+273F
	 * are e2 9c xx): what is left of that character is no UTF-8, which an "o" event must be.
	 * One U+FFFD each, counted with the recording's own. */
	if (!tg_utf8_valid(c->guarded.data, c->guarded.len)) {
		size_t bad = 0;

		tg_buf_reset(&c->clean);
		if (tg_utf8_sanitize(&c->clean, c->guarded.data, c->guarded.len, &bad) != TG_OK) {
			c->werr = 1;
			return;
		}
		c->replaced += bad;
		emit_o(c, t, c->clean.data, c->clean.len);
		return;
	}
	emit_o(c, t, c->guarded.data, c->guarded.len);
}

/* A character still incomplete where the export ends never will be: one U+FFFD each. */
static void export_flush(struct export_ctx *c, uint64_t t)
{
	int k;

	for (k = 0; k < 2; k++)
		if (c->ncarry[k] > 0) {
			c->replaced++;
			if (k)
				emit(c, t, "i", TG_UTF8_REPLACEMENT, 3);
			else
				emit_out(c, t, (const unsigned char *)TG_UTF8_REPLACEMENT, 3);
			if (c->raw)
				emit_raw(c, t, c->carry[k], c->ncarry[k], NULL, 0);
			c->ncarry[k] = 0;
		}
	/* a sequence the output left unfinished is withheld */
	if (c->guard != NULL)
		replay_guard_end(c->guard);
}

static int export_rec(void *ctx, const struct tg_rec_header *h, const struct tg_rec_record *rec)
{
	struct export_ctx *c = ctx;
	unsigned char held[4];
	char sz[32];
	size_t bad = 0, nheld;
	int k;

	/* without a terminal (a command's pipes), unless --raw (the bytes as recorded) */
	c->crlf = !c->raw && strcmp(h->mode, "interactive") != 0;
	c->last_us = rec->time_us;
	if (c->unverified_note != NULL && !c->marked && rec->offset >= c->verified_bytes) {
		emit(c, rec->time_us, "m", c->unverified_note, strlen(c->unverified_note));
		c->marked = 1;
	}
	switch (rec->type) {
	case TG_REC_OUT:
	case TG_REC_ERR:
	case TG_REC_IN:
		k = rec->type == TG_REC_IN ? 1 : 0;
		nheld = c->ncarry[k];
		memcpy(held, c->carry[k], nheld);
		tg_buf_reset(&c->text);
		if (export_utf8(c, k, rec->data, rec->len, 0, &bad) != TG_OK) {
			c->werr = 1;
			return -1;
		}
		/* typed input is not played: players send the terminal "o" events only */
		if (k && c->text.len > 0)
			emit(c, rec->time_us, "i", (const char *)c->text.data, c->text.len);
		else if (!k)
			emit_out(c, rec->time_us, c->text.data, c->text.len);
		if (bad > 0) {
			c->replaced += bad;
			/* with bad bytes, what is held now came from this record alone */
			if (c->raw)
				emit_raw(c, rec->time_us, held, nheld, rec->data,
				         rec->len - c->ncarry[k]);
		}
		break;
	case TG_REC_RESIZE:
		snprintf(sz, sizeof(sz), "%ux%u", rec->cols, rec->rows);
		emit(c, rec->time_us, "r", sz, strlen(sz));
		break;
	case TG_REC_NOTE:
		emit(c, rec->time_us, "m", (const char *)rec->data, rec->len);
		break;
	case TG_REC_DROPPED:
		if (rec->stream != TG_REC_IN) {
			c->dropped += rec->dropped;
			c->transfer = strcmp(h->mode, "transfer") == 0;
		}
		break;
	case TG_REC_END:
		export_flush(c, rec->time_us);
		break;
	default:
		break;
	}
	return c->werr ? -1 : 0;
}

/* What the header says of the escape sequences in the "o" events: whether it is safe to play. */
#define EXPORT_ESCAPES(raw)                                                                        \
	((raw) ? "as recorded (--raw): unsafe to play, they may act on the terminal"               \
	       : "withheld where they act on the terminal beyond its screen, as by play")

static int export_header(const struct replay_opts *o, const char *name, int status)
{
	struct replay_src s;
	struct tg_rec_reader *r = NULL;
	const struct tg_rec_header *h;
	const struct tg_rec_verdict *v = replay_gate_verdict();
	json_t *j = NULL;
	char title[600], t[32];
	int e;

	if (replay_src_open(&s, o, name) != TG_OK)
		return TG_ERR_IO;
	if ((e = tg_rec_reader_open(&r, &s.src, o->have_pk ? o->host_pk : NULL)) != TG_OK) {
		tg_error("%s: %s", name, tg_strerror(e));
		goto out;
	}
	h = tg_rec_reader_header(r);
	if (status != TG_OK && v->verified_index == 0) {
		/* no checkpoint covers its header: its fields are claims, which a player would
		 * show as the session's (as info, nothing of it; the verdict stays) */
		tg_warn("%s: no checkpoint covers its header: nothing of it is exported", name);
		j = json_pack("{s:i,s:i,s:i,s:{s:n,s:s,s:b,s:s,s:s}}", "version", 2, "width", 80,
		              "height", 24, "tollgate", "header", "verification",
		              replay_status_word(status), "key_checked", v->key_checked,
		              "invalid_utf8",
		              o->raw ? "U+FFFD, exact bytes in \"b\" events" : "U+FFFD",
		              "escape_sequences", EXPORT_ESCAPES(o->raw));
	} else {
		snprintf(title, sizeof(title), "%s@%s %s", h->user, h->host, h->session_id);
		j = json_pack(
		    "{s:i,s:i,s:i,s:I,s:s,s:{s:s},s:{s:o,s:s,s:b,s:s,s:s}}", "version", 2, "width",
		    h->cols ? h->cols : 80, "height", h->rows ? h->rows : 24, "timestamp",
		    (json_int_t)(h->start_us / 1000000), "title", title, "env", "TERM", h->term,
		    "tollgate", "header", json_loads(tg_rec_reader_header_json(r), 0, NULL),
		    "verification", replay_status_word(status), "key_checked", v->key_checked,
		    "invalid_utf8", o->raw ? "U+FFFD, exact bytes in \"b\" events" : "U+FFFD",
		    "escape_sequences", EXPORT_ESCAPES(o->raw));
	}
	/* not all verified: up to where it is, in the file itself */
	replay_fmt_time(t, sizeof(t), v->verified_time_us);
	if (j != NULL && status != TG_OK &&
	    json_object_set_new(json_object_get(j, "tollgate"), "verified",
	                        json_pack("{s:I,s:I,s:s}", "bytes", (json_int_t)v->verified_bytes,
	                                  "time_us", (json_int_t)v->verified_time_us, "time", t)) !=
	        0) {
		json_decref(j);
		j = NULL;
	}
	if (j == NULL) {
		tg_error("%s: %s", name, tg_strerror(TG_ERR_NOMEM));
		e = TG_ERR_NOMEM;
	} else if (replay_json_print(stdout, j, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
		e = TG_ERR_IO; /* the caller says it: stdout */
	}
out:
	json_decref(j);
	tg_rec_reader_free(r);
	replay_src_close(&s);
	return e;
}

int replay_cmd_export(const struct replay_opts *o, int argc, char **argv)
{
	struct export_ctx c;
	struct replay_guard guard;
	struct tg_rec_verdict v;
	uint64_t limit = 0;
	int status = TG_OK, code, e;
	char note[160], t[32];

	if (argc != 1) {
		tg_error("export: one FILE");
		return REPLAY_EXIT_USAGE;
	}
	if ((code = replay_check_format(o->format, 1)) != REPLAY_EXIT_OK)
		return code;
	if ((code = replay_gate(o, argv[0], &limit, &status)) != REPLAY_EXIT_OK)
		return code;
	memset(&c, 0, sizeof(c));
	c.raw = o->raw;
	/* a player sends the "o" events to a terminal: the recorded user's bytes go through
	 * the guard, as to play's (one of UTF-8, which asciicast is) */
	if (!o->raw) {
		replay_guard_init(&guard);
		c.guard = &guard;
	}
	if (status != TG_OK) { /* --force: shown past the verified part, marked where it starts */
		c.verified_bytes = replay_gate_verdict()->verified_bytes;
		replay_fmt_time(t, sizeof(t), replay_gate_verdict()->verified_time_us);
		snprintf(note, sizeof(note),
		         "NOT VERIFIED from here: %s, intact up to byte %" PRIu64
		         " (session time %s)",
		         replay_status_word(status), c.verified_bytes, t);
		c.unverified_note = note;
	}
	tg_buf_init(&c.text, 4 * TG_REC_MAX_PAYLOAD);
	tg_buf_init(&c.bytes, 2 * TG_REC_MAX_PAYLOAD);
	/* what the guard writes of c.text: at most its text and the sequence it held */
	tg_buf_init(&c.guarded, 4 * TG_REC_MAX_PAYLOAD + REPLAY_GUARD_OUT_SIZE(4096));
	/* what the guard wrote made UTF-8: at most three bytes (U+FFFD) for each of its bytes */
	tg_buf_init(&c.clean, 3 * (4 * TG_REC_MAX_PAYLOAD + REPLAY_GUARD_OUT_SIZE(4096)));
	/* ... with a \r before each \n: at most twice that */
	tg_buf_init(&c.crlfed, 6 * (4 * TG_REC_MAX_PAYLOAD + REPLAY_GUARD_OUT_SIZE(4096)));
	code = REPLAY_EXIT_USAGE;
	if ((e = export_header(o, argv[0], status)) == TG_OK) {
		e = replay_each_record(o, argv[0], limit, export_rec, &c, &v);
		/* no END read (unsealed, or cut at the verified part): what is held ends here */
		if (e == TG_OK && !c.werr)
			export_flush(&c, c.last_us);
	}
	if (!replay_stdout_ok(0))
		goto out;
	if (e != TG_OK || c.werr) {
		/* not a write (said above): an event that could not be built, which the loop
		 * over the records ended on without a word */
		if (c.werr)
			tg_error("%s: export stopped: an event could not be built: %s", argv[0],
			         tg_strerror(TG_ERR_NOMEM));
		goto out;
	}
	if (replay_recheck(o, argv[0], status, &v) != REPLAY_EXIT_OK) {
		code = REPLAY_EXIT_TAMPERED;
		goto out;
	}
	/* sequences, not bytes: one to three bytes make one U+FFFD ("maximal subpart") */
	if (c.replaced > 0)
		tg_warn("%s: %" PRIu64 " invalid UTF-8 sequence%s replaced with one U+FFFD%s",
		        argv[0], c.replaced, c.replaced == 1 ? "," : "s, each",
		        o->raw ? " (exact bytes kept in \"b\" events)"
		               : " (--raw keeps the exact bytes)");
	if (c.guard != NULL)
		replay_guard_report(c.guard, argv[0], 1);
	replay_warn_dropped(argv[0], c.dropped, 0, c.transfer);
	code = replay_exit_for(status);
out:
	tg_buf_free(&c.text);
	tg_buf_free(&c.bytes);
	tg_buf_free(&c.guarded);
	tg_buf_free(&c.clean);
	tg_buf_free(&c.crlfed);
	return code;
}
