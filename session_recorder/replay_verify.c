/* tollgate-replay: verify, info and list. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "replay.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_spool.h"
#include "tg_utf8.h"

#define INFO_MAX_NOTES 1000
/* bytes of notes held to be shown: as parsed JSON, a note of 1 MiB (the largest record) may
 * take tens of MiB; the first notes up to this much are shown, the rest counted */
#define INFO_NOTES_BYTES (1024 * 1024)
#define INFO_NOTE_SHOW 800 /* bytes of a note's JSON on its line of info (--json: whole) */

/* Worst of two exit codes: usage/I/O, then tampered, then unsealed, then OK. */
static int worse(int a, int b)
{
	static const int rank[] = {0, 2, 1, 3}; /* by exit code */

	return rank[b] > rank[a] ? b : a;
}

/* The last part of a file name or S3 key. */
static const char *name_session(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash != NULL ? slash + 1 : name;
}

/*
 * Whether name is that of another session's recording: its last part is a session id and
 * TG_REC_EXT, as the recorder names its files and the uploader's keys end by default, but not
 * the id the recording's header holds (which the host key's certificate covers). A recording
 * put in another's place (the object of a key overwritten with another genuine recording of
 * the host) verifies as intact: only its name is wrong. Other names are not checked.
 */
static int misplaced(const char *name, const char *session_id)
{
	const char *last = name_session(name);
	size_t i, n = 2 * TG_REC_SESSION_ID_LEN;

	if (*session_id == '\0' || strlen(last) != n + strlen(TG_REC_EXT) ||
	    strcmp(last + n, TG_REC_EXT) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((last[i] >= '0' && last[i] <= '9') || (last[i] >= 'a' && last[i] <= 'f')))
			return 0;
	return strncmp(last, session_id, n) != 0;
}

/* Verify one source; prints the verdict line; returns the exit code. */
static int verify_one(const struct replay_opts *o, const char *name)
{
	struct tg_rec_verdict v;
	int r;

	if ((r = replay_verify_name(o, name, &v)) != TG_OK) {
		char *safe =
		    replay_text_safe(stdout, name); /* an S3 key or a file name: anyone's */

		printf("%s: error: %s\n", safe != NULL ? safe : "?", tg_strerror(r));
		free(safe);
		return REPLAY_EXIT_USAGE;
	}
	replay_describe(stdout, name, &v);
	if ((v.status == TG_OK || v.status == TG_ERR_UNSEALED) && misplaced(name, v.session_id)) {
		char *safe = replay_text_safe(stdout, name);

		printf("%s: MISPLACED: its name says session %.32s, but it is the recording of "
		       "session %s: moved, or put in the place of that session's recording\n",
		       safe != NULL ? safe : "?", name_session(name), v.session_id);
		free(safe);
		return REPLAY_EXIT_TAMPERED;
	}
	return replay_exit_for(v.status);
}

int replay_cmd_verify(const struct replay_opts *o, int argc, char **argv)
{
	struct replay_names n = REPLAY_NAMES_VOID;
	int code = REPLAY_EXIT_OK, e;
	size_t i;

	/* an empty folder is an error, but does not keep the other recordings from a verdict */
	if ((e = replay_names_expand(o, argc, argv, &n)) == TG_ERR_NOMEM) {
		replay_names_free(&n);
		return REPLAY_EXIT_USAGE;
	}
	if (e != TG_OK)
		code = REPLAY_EXIT_USAGE;
	for (i = 0; i < n.n; i++) {
		if (n.v[i].bad != NULL) { /* a *.tgr in a folder that is not a regular file */
			char *safe = replay_text_safe(stdout, n.v[i].name);

			printf("%s: error: %s\n", safe != NULL ? safe : "?", n.v[i].bad);
			free(safe);
			code = worse(code, REPLAY_EXIT_USAGE);
			continue;
		}
		code = worse(code, verify_one(o, n.v[i].name));
	}
	replay_names_free(&n);
	/* the verdicts are the output: one that could not be written is no verdict */
	if (!replay_stdout_ok(0))
		code = REPLAY_EXIT_USAGE;
	return code;
}

/* What a run of records holds: bytes stored and dropped, hidden input, window changes. */
struct info_tally {
	uint64_t stored[4];  /* by TG_REC_OUT, _ERR, _IN */
	uint64_t dropped[4]; /* likewise */
	uint64_t hidden_bytes, hidden_times, resizes;
	unsigned last_cols, last_rows;
};

struct info {
	struct tg_rec_verdict v;
	json_t *end;
	uint64_t end_offset;
	int end_unverified; /* an END past the verified part: left out */
	json_t *notes;
	size_t notes_bytes; /* of the notes held */
	size_t notes_dropped;
	/* a command too long for the header: whole, from its "command" note (NULL: none) */
	char *command;
	uint64_t command_offset;
	/* a record is counted in tail until a checkpoint verifies it, then moved to ok: the
	 * figures info shows are the verified part's, the tail's are said apart */
	struct info_tally ok, tail;
};

/* Add what the records of b hold to a (b's last window size is the later one). */
static void tally_add(struct info_tally *a, const struct info_tally *b)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		a->stored[i] += b->stored[i];
		a->dropped[i] += b->dropped[i];
	}
	a->hidden_bytes += b->hidden_bytes;
	a->hidden_times += b->hidden_times;
	if (b->resizes > 0) {
		a->last_cols = b->last_cols;
		a->last_rows = b->last_rows;
	}
	a->resizes += b->resizes;
}

/* Whether t counts anything. */
static int tally_any(const struct info_tally *t)
{
	return t->stored[1] + t->stored[2] + t->stored[3] + t->dropped[1] + t->dropped[2] +
	           t->dropped[3] + t->hidden_times + t->resizes >
	       0;
}

/* A tally as the JSON members "stored", "dropped", "hidden_input" and "resizes" of o. */
static int tally_json(json_t *o, const struct info_tally *t)
{
	return json_object_set_new(o, "stored",
	                           json_pack("{s:I,s:I,s:I}", "out", (json_int_t)t->stored[1],
	                                     "err", (json_int_t)t->stored[2], "in",
	                                     (json_int_t)t->stored[3])) |
	       json_object_set_new(o, "dropped",
	                           json_pack("{s:I,s:I,s:I}", "out", (json_int_t)t->dropped[1],
	                                     "err", (json_int_t)t->dropped[2], "in",
	                                     (json_int_t)t->dropped[3])) |
	       json_object_set_new(o, "hidden_input",
	                           json_pack("{s:I,s:I}", "bytes", (json_int_t)t->hidden_bytes,
	                                     "records", (json_int_t)t->hidden_times)) |
	       json_object_set_new(o, "resizes", json_integer((json_int_t)t->resizes));
}

static json_t *verdict_json(const struct tg_rec_verdict *v)
{
	char hex[2 * TG_REC_HASH_LEN + 1];
	const char *st = v->status == TG_OK              ? "sealed"
	                 : v->status == TG_ERR_UNSEALED  ? "unsealed"
	                 : v->status == TG_ERR_WRONG_KEY ? "wrong-key"
	                                                 : "tampered";

	sodium_bin2hex(hex, sizeof(hex), v->final_hash, TG_REC_HASH_LEN);
	return json_pack(
	    "{s:s,s:s,s:i,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:s,s:o}", "status", st, "error",
	    v->status == TG_OK ? "" : tg_strerror(v->status), "exit", replay_exit_for(v->status),
	    "key_checked", v->key_checked, "truncated", v->truncated, "records",
	    (json_int_t)v->records, "bytes", (json_int_t)v->bytes, "verified_bytes",
	    (json_int_t)v->verified_bytes, "unverified_bytes",
	    (json_int_t)(v->bytes - v->verified_bytes), "verified_time_us",
	    (json_int_t)v->verified_time_us, "time_us", (json_int_t)v->time_us, "failure",
	    v->status == TG_OK || v->status == TG_ERR_UNSEALED
	        ? json_null()
	        : json_pack("{s:I,s:I,s:I}", "record", (json_int_t)v->fail_index, "offset",
	                    (json_int_t)v->fail_offset, "time_us", (json_int_t)v->fail_time_us),
	    "reason", v->reason, "final_hash", v->status == TG_OK ? json_string(hex) : json_null());
}

/* A command's exact bytes from its base64 string b, decoded (NUL-terminated); NULL when b is
 * not one, or what it carries is not a command (a NUL in it). */
static char *command_b64(json_t *b)
{
	size_t n, len = 0;
	char *out;

	if (!json_is_string(b))
		return NULL;
	n = json_string_length(b);
	if ((out = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;
	if (sodium_base642bin((unsigned char *)out, n / 4 * 3 + 2, json_string_value(b), n, NULL,
	                      &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    memchr(out, '\0', len) != NULL) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* The command a "command" note carries, decoded (NUL-terminated); NULL when note is not one,
 * or what it carries is not a command. */
static char *command_note(json_t *note)
{
	json_t *ev = json_object_get(note, "event");

	if (!json_is_string(ev) || strcmp(json_string_value(ev), "command") != 0)
		return NULL;
	return command_b64(json_object_get(note, "command_b64"));
}

/* A value from the recording may hold terminal controls: printed made safe. */
static void print_kv(const char *k, const char *v)
{
	char *safe = replay_text_safe(stdout, v);

	printf("%-15s %s\n", k, safe != NULL ? safe : "?");
	free(safe);
}

/*
 * The header's terminal as "TERM COLSxROWS", or "-" as for the other absent fields: the
 * recorder writes an empty term (and a 0x0 size) for a session without a pty.
 */
static const char *terminal_text(const struct tg_rec_header *h, char *buf, size_t n)
{
	if (h->term[0] == '\0' && h->cols == 0 && h->rows == 0)
		return "-";
	snprintf(buf, n, "%s %ux%u", h->term[0] != '\0' ? h->term : "-", h->cols, h->rows);
	return buf;
}

/* The client as "ADDR port PORT", or "-" when SSH_CONNECTION gave none (the recorder leaves
 * the address empty and the port 0). */
static const char *client_text(const struct tg_rec_header *h, char *buf, size_t n)
{
	if (h->client_addr[0] == '\0')
		return "-";
	snprintf(buf, n, "%s port %u", h->client_addr, h->client_port);
	return buf;
}

/* JSON member as text for the plain listing. */
static const char *jtext(json_t *o, const char *k, char *buf, size_t n)
{
	json_t *j = json_object_get(o, k);

	if (json_is_string(j))
		return json_string_value(j);
	if (json_is_integer(j)) {
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return buf;
	}
	if (j == NULL || json_is_null(j))
		return "-";
	{
		char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(buf, n, "%s", d ? d : "?");
		free(d);
	}
	return buf;
}

/*
 * The figures of the records past the verified part, on a line of their own and said to be
 * unverified: what they claim is not a fact, and is not in the totals above it.
 */
static void print_unverified_tally(const struct info_tally *t, uint64_t from)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
	         "UNVERIFIED after byte %" PRIu64 " (not counted above): stored out %" PRIu64
	         ", err %" PRIu64 ", in %" PRIu64 "; dropped out %" PRIu64 ", err %" PRIu64
	         ", in %" PRIu64 "; hidden input %" PRIu64 " bytes in %" PRIu64
	         " records; resizes %" PRIu64,
	         from, t->stored[1], t->stored[2], t->stored[3], t->dropped[1], t->dropped[2],
	         t->dropped[3], t->hidden_bytes, t->hidden_times, t->resizes);
	if (t->resizes > 0) {
		size_t len = strlen(buf);

		snprintf(buf + len, sizeof(buf) - len, " (last %ux%u)", t->last_cols, t->last_rows);
	}
	print_kv("unverified:", buf);
}

static void info_text(const char *name, const struct tg_rec_header *h, const char *hjson,
                      struct info *in)
{
	char buf[1024], t[32], b2[2 * TG_REC_HASH_LEN + 1];
	json_t *hj = json_loads(hjson, 0, NULL), *tr;
	/* window changes past max_rate or the size cap, counted in END (a verified one only) */
	json_int_t rdropped =
	    in->end != NULL ? json_integer_value(json_object_get(in->end, "resizes_dropped")) : 0;
	json_int_t clen;
	char *exact;
	const char *head;
	size_t i;
	int len;

	print_kv("file:", name);
	print_kv("session:", h->session_id);
	snprintf(buf, sizeof(buf), "%s (uid %lu)", h->user, h->uid);
	print_kv("user:", buf);
	print_kv("client:", client_text(h, buf, sizeof(buf)));
	print_kv("host:", h->host);
	print_kv("mode:", h->mode);
	clen = json_integer_value(json_object_get(hj, "command_length"));
	/* a command that is not UTF-8 has U+FFFD in "command": its bytes are in "command_b64",
	 * and what was run is those (shown escaped). Its length is theirs, not the longer text's:
	 * compared with that, a cut command with enough bad bytes would pass for a whole one */
	exact = h->command != NULL ? command_b64(json_object_get(hj, "command_b64")) : NULL;
	head = exact != NULL ? exact : h->command;
	if (head != NULL && clen > (json_int_t)strlen(head)) {
		/* the header holds the first 4 KiB: what follows must not go unseen. The whole
		 * command is in a note; one past the verified part is a claim, said apart. */
		int whole = in->command != NULL &&
		            (in->v.status == TG_OK || in->command_offset < in->v.verified_bytes);

		print_kv("command:", whole ? in->command : head);
		snprintf(buf, sizeof(buf), "%zu of %" JSON_INTEGER_FORMAT " bytes%s",
		         strlen(whole ? in->command : head), clen,
		         whole || in->command == NULL
		             ? ""
		             : "; the rest is in a note past the verified part (UNVERIFIED)");
		print_kv("command shown:", buf);
		if (!whole && in->command != NULL)
			print_kv("UNVERIFIED:", in->command);
	} else {
		print_kv("command:", head != NULL ? head : "-");
	}
	free(exact);
	print_kv("terminal:", terminal_text(h, buf, sizeof(buf)));
	print_kv("start:", jtext(hj, "start", buf, sizeof(buf)));
	snprintf(buf, sizeof(buf), "%" PRIu64, h->start_us);
	print_kv("start_us:", buf);
	if (in->end != NULL) {
		json_t *d = json_object_get(in->end, "duration_us");

		replay_fmt_time(t, sizeof(t),
		                json_is_integer(d) ? (uint64_t)json_integer_value(d)
		                                   : in->v.time_us);
		print_kv("duration:", t);
		print_kv("exit status:", jtext(in->end, "exit_status", buf, sizeof(buf)));
		print_kv("signal:", jtext(in->end, "signal", buf, sizeof(buf)));
		print_kv("end reason:", jtext(in->end, "reason", buf, sizeof(buf)));
		print_kv("bytes seen:", jtext(in->end, "bytes", buf, sizeof(buf)));
		tr = json_object_get(in->end, "transfer");
		if (json_is_object(tr)) {
			char *txt = json_dumps(tr, JSON_COMPACT | JSON_PRESERVE_ORDER);

			print_kv("transfer:", txt ? txt : "?");
			free(txt);
		}
	} else {
		/* as far as it verified, as list says it: a later record's time is a claim */
		replay_fmt_time(t, sizeof(t), in->v.verified_time_us);
		snprintf(buf, sizeof(buf), "%s so far (%s)", t,
		         in->end_unverified
		             ? "its END record lies past the verified part: not shown"
		             : "no END record");
		print_kv("duration:", buf);
	}
	snprintf(buf, sizeof(buf), "out %" PRIu64 ", err %" PRIu64 ", in %" PRIu64,
	         in->ok.stored[TG_REC_OUT], in->ok.stored[TG_REC_ERR], in->ok.stored[TG_REC_IN]);
	print_kv("bytes stored:", buf);
	if (in->ok.dropped[1] + in->ok.dropped[2] + in->ok.dropped[3] > 0) {
		snprintf(buf, sizeof(buf),
		         "out %" PRIu64 ", err %" PRIu64 ", in %" PRIu64 " (passed on, not stored)",
		         in->ok.dropped[1], in->ok.dropped[2], in->ok.dropped[3]);
		print_kv("bytes dropped:", buf);
	}
	if (in->ok.stored[TG_REC_IN] > 0)
		print_kv("input:", "recorded (tollgate-replay cat --input)");
	if (in->ok.hidden_times > 0) {
		snprintf(buf, sizeof(buf),
		         "%" PRIu64 " bytes typed with echo off, in %" PRIu64
		         " records (not stored)",
		         in->ok.hidden_bytes, in->ok.hidden_times);
		print_kv("hidden input:", buf);
	}
	if (in->ok.resizes > 0 || rdropped > 0) {
		len = snprintf(buf, sizeof(buf), "%" PRIu64, in->ok.resizes);
		if (in->ok.resizes > 0 && len > 0 && (size_t)len < sizeof(buf))
			len += snprintf(buf + len, sizeof(buf) - (size_t)len, " (last %ux%u)",
			                in->ok.last_cols, in->ok.last_rows);
		if (rdropped > 0 && len > 0 && (size_t)len < sizeof(buf))
			snprintf(buf + len, sizeof(buf) - (size_t)len,
			         ", %" JSON_INTEGER_FORMAT
			         " more not recorded (max_rate or max_session_bytes)",
			         rdropped);
		print_kv("resizes:", buf);
	}
	if (tally_any(&in->tail))
		print_unverified_tally(&in->tail, in->v.verified_bytes);
	for (i = 0; i < json_array_size(in->notes); i++) {
		json_t *n = json_array_get(in->notes, i);
		char *d =
		    json_dumps(json_object_get(n, "note"), JSON_COMPACT | JSON_PRESERVE_ORDER);
		size_t dl = d != NULL ? strlen(d) : 0, show = dl;

		/* cut on a character's start, and said: what follows may matter */
		if (dl > INFO_NOTE_SHOW)
			for (show = INFO_NOTE_SHOW;
			     show > 0 && ((unsigned char)d[show] & 0xc0) == 0x80; show--)
				;
		replay_fmt_time(t, sizeof(t),
		                (uint64_t)json_integer_value(json_object_get(n, "time_us")));
		len = snprintf(buf, sizeof(buf), "%s%s %.*s",
		               json_is_false(json_object_get(n, "verified")) ? "UNVERIFIED " : "",
		               t, d ? (int)show : 1, d ? d : "?");
		if (show < dl && len > 0 && (size_t)len < sizeof(buf))
			snprintf(buf + len, sizeof(buf) - (size_t)len,
			         "... (cut: %zu of %zu bytes shown; info --json has it whole)",
			         show, dl);
		print_kv(i == 0 ? "notes:" : "", buf);
		free(d);
	}
	if (in->notes_dropped > 0) {
		snprintf(buf, sizeof(buf), "... and %zu more", in->notes_dropped);
		print_kv("", buf);
	}
	snprintf(buf, sizeof(buf), "%s (%s)", h->key_id,
	         !in->v.key_checked                 ? "host key not checked"
	         : in->v.status == TG_ERR_WRONG_KEY ? "NOT the given host key"
	         : in->v.cert_ok                    ? "the given host key"
	                         : "the given host key's id, but its certificate does NOT verify");
	print_kv("host key id:", buf);
	print_kv("recorder:", h->recorder);
	if (h->pam_session_id[0] != '\0')
		print_kv("pam session:", h->pam_session_id);
	/* what ties the recording to its login event (the uploader compares them): the kernel's
	 * audit session of the login, and the boot it is of */
	if (h->audit_session != 0) {
		snprintf(buf, sizeof(buf), "%" PRIu32 " (boot %s)", h->audit_session,
		         h->boot_id[0] != '\0' ? h->boot_id : "not named");
		print_kv("audit session:", buf);
	}
	printf("%-15s ", "verification:");
	replay_describe(stdout, name, &in->v);
	if (in->v.status == TG_OK) {
		sodium_bin2hex(b2, sizeof(b2), in->v.final_hash, TG_REC_HASH_LEN);
		print_kv("final hash:", b2);
	}
	json_decref(hj);
}

/*
 * info --json of name: what in holds, and the header r read (NULL: none could be read, JSON
 * null). 0, or -1 when the JSON could not be made (said) or written (said by the caller).
 */
static int info_json(const char *name, struct tg_rec_reader *r, struct info *in)
{
	/* notes past INFO_MAX_NOTES or INFO_NOTES_BYTES are left out: said, as the text does */
	json_t *j =
	    json_pack("{s:o,s:o,s:O,s:o,s:I}", "file", tg_utf8_json(name, NULL), "header",
	              r != NULL ? json_loads(tg_rec_reader_header_json(r), 0, NULL) : json_null(),
	              "end", in->end ? in->end : json_null(), "notes", json_incref(in->notes),
	              "notes_dropped", (json_int_t)in->notes_dropped);
	json_t *u = in->v.status == TG_OK
	                ? json_null()
	                : json_pack("{s:I}", "from_byte", (json_int_t)in->v.verified_bytes);
	int bad = j == NULL || u == NULL || tally_json(j, &in->ok) != 0 ||
	          (!json_is_null(u) && tally_json(u, &in->tail) != 0);

	/* the verified part's figures above, the tail's apart (null when sealed) */
	bad = json_object_set_new(j, "unverified", u) != 0 || bad;
	bad = json_object_set_new(j, "verification", verdict_json(&in->v)) != 0 || bad;
	if (bad || replay_json_print(stdout, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		json_decref(j);
		if (!ferror(stdout)) /* else said by the caller: stdout */
			tg_error("%s: could not make the JSON", name);
		return -1;
	}
	json_decref(j);
	return 0;
}

/*
 * The source as info reads it, the bytes read while the header is opened kept (up to TEE_MAX),
 * so that a recording that fails there is verified from the same bytes: standard input cannot
 * be read a second time (the second read found its end, and called a malformed recording cut).
 */
#define TEE_MAX (4 * TG_REC_MAX_PAYLOAD)
struct tee_src {
	struct tg_rec_source in;
	unsigned char *buf;
	size_t len, pos;
	int keeping;   /* the header is being opened: keep what is read */
	int over;      /* more than TEE_MAX was read, or no memory: not all kept */
	int replaying; /* give what was kept first, then the rest of in */
};

static ssize_t tee_read(void *ctx, void *b, size_t n)
{
	struct tee_src *t = ctx;
	unsigned char *more;
	ssize_t k;

	if (t->replaying && t->pos < t->len) {
		k = (ssize_t)(n < t->len - t->pos ? n : t->len - t->pos);
		memcpy(b, t->buf + t->pos, (size_t)k);
		t->pos += (size_t)k;
		return k;
	}
	k = t->in.read(t->in.ctx, b, n);
	if (k > 0 && t->keeping && !t->over) {
		if ((size_t)k > TEE_MAX - t->len ||
		    (more = realloc(t->buf, t->len + (size_t)k)) == NULL) {
			t->over = 1;
		} else {
			t->buf = more;
			memcpy(t->buf + t->len, b, (size_t)k);
			t->len += (size_t)k;
		}
	}
	return k;
}

int replay_cmd_info(const struct replay_opts *o, int argc, char **argv)
{
	struct replay_src s;
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tee_src tee = {{NULL, NULL}, NULL, 0, 0, 0, 0, 0};
	struct tg_rec_source tsrc = {tee_read, &tee};
	struct info in;
	json_t *note;
	unsigned version;
	int e, e2, code = REPLAY_EXIT_USAGE;

	if (argc != 1) {
		tg_error("info: one FILE");
		return REPLAY_EXIT_USAGE;
	}
	memset(&in, 0, sizeof(in));
	in.notes = json_array();
	if (replay_src_open(&s, o, argv[0]) != TG_OK)
		goto out_nosrc;
	tee.in = s.src;
	tee.keeping = 1;
	e = tg_rec_reader_open_version(&r, &tsrc, o->have_pk ? o->host_pk : NULL, &version);
	tee.keeping = 0;
	if (e == TG_OK) { /* the rest is read once */
		free(tee.buf);
		tee.buf = NULL;
		tee.len = 0;
	}
	if (e == TG_ERR_VERSION) {
		tg_error("%s: %s", argv[0], replay_version_str(version));
		goto out;
	}
	if (e == TG_ERR_FORMAT || e == TG_ERR_TRUNCATED) {
		tg_error("%s: %s", argv[0],
		         e == TG_ERR_TRUNCATED ? "ends inside the header: nothing verified"
		                               : "not a recording, or its header is malformed");
		code = e == TG_ERR_TRUNCATED ? REPLAY_EXIT_UNSEALED : REPLAY_EXIT_TAMPERED;
		/* --json: the verdict a script reads, of this recording as of any (verify's) */
		if (o->json) {
			/* from the bytes read, then the rest: read again, standard input would be
			 * at its end; by name when more was read than kept (a file, S3) */
			tee.replaying = 1;
			if (!tee.over)
				e = tg_rec_verify(&tsrc, o->have_pk ? o->host_pk : NULL, &in.v);
			else
				e = replay_verify_name(o, argv[0], &in.v);
			if (e != TG_OK) {
				tg_error("%s: %s", argv[0], tg_strerror(e));
				code = REPLAY_EXIT_USAGE;
			} else {
				code = info_json(argv[0], NULL, &in) != 0
				           ? REPLAY_EXIT_USAGE
				           : replay_exit_for(in.v.status);
			}
		}
		goto out;
	}
	if (e != TG_OK) {
		tg_error("%s: %s", argv[0], tg_strerror(e));
		goto out;
	}
	while ((e = tg_rec_reader_next(r, &rec)) > 0) {
		switch (rec.type) {
		case TG_REC_OUT:
		case TG_REC_ERR:
		case TG_REC_IN:
			in.tail.stored[rec.type] += rec.len;
			break;
		case TG_REC_DROPPED:
			in.tail.dropped[rec.stream] += rec.dropped;
			break;
		case TG_REC_IN_HIDDEN:
			in.tail.hidden_bytes += rec.hidden;
			in.tail.hidden_times++;
			break;
		case TG_REC_RESIZE:
			in.tail.resizes++;
			in.tail.last_cols = rec.cols;
			in.tail.last_rows = rec.rows;
			break;
		case TG_REC_CHECKPOINT:
			/* it verified what came since the one before: counted as verified */
			tg_rec_reader_verdict(r, &in.v);
			if (in.v.verified_index == rec.index) {
				tally_add(&in.ok, &in.tail);
				memset(&in.tail, 0, sizeof(in.tail));
			}
			break;
		case TG_REC_NOTE:
			note = json_loadb((const char *)rec.data, rec.len, 0, NULL);
			if (in.command == NULL && (in.command = command_note(note)) != NULL)
				in.command_offset = rec.offset;
			if (in.notes_dropped == 0 && json_array_size(in.notes) < INFO_MAX_NOTES &&
			    in.notes_bytes + rec.len <= INFO_NOTES_BYTES) {
				in.notes_bytes += rec.len;
				json_array_append_new(
				    in.notes,
				    json_pack("{s:I,s:I,s:o}", "time_us", (json_int_t)rec.time_us,
				              "offset", (json_int_t)rec.offset, "note", note));
			} else {
				json_decref(note);
				in.notes_dropped++;
			}
			break;
		case TG_REC_END:
			json_decref(in.end);
			in.end = json_loadb((const char *)rec.data, rec.len, 0, NULL);
			in.end_offset = rec.offset;
			break;
		default:
			break;
		}
	}
	if (e < 0 && e != TG_ERR_FORMAT) {
		tg_error("%s: %s", argv[0], tg_strerror(e));
		goto out;
	}
	tg_rec_reader_verdict(r, &in.v);
	/* what lies past the verified part is not a fact: an END there is not shown as the
	 * session's end, and notes there are marked */
	if (in.v.status != TG_OK) {
		size_t i;

		for (i = 0; i < json_array_size(in.notes); i++) {
			json_t *n = json_array_get(in.notes, i);

			json_object_set_new(
			    n, "verified",
			    json_boolean((uint64_t)json_integer_value(
			                     json_object_get(n, "offset")) < in.v.verified_bytes));
		}
		if (in.end != NULL && in.end_offset >= in.v.verified_bytes) {
			json_decref(in.end);
			in.end = NULL;
			in.end_unverified = 1;
		}
	}
	/* a header no checkpoint covers is a claim as any other part past the verified one: the
	 * host key's certificate covers the session key, not the user, host or command, and the
	 * writer puts the first checkpoint in the same write as the header. Nothing verified, as
	 * of a recording cut inside its header; so too when the first checkpoint fails (tampered,
	 * or signed by another key than the investigator's: anyone's key signs any header). */
	if (in.v.status != TG_OK && in.v.verified_index == 0) {
		if (in.v.status != TG_ERR_UNSEALED)
			replay_describe(stderr, argv[0], &in.v);
		tg_error("%s: no checkpoint covers its header: nothing verified", argv[0]);
		code = replay_exit_for(in.v.status);
		if (o->json && info_json(argv[0], NULL, &in) != 0)
			code = REPLAY_EXIT_USAGE;
		goto out;
	}
	if (o->json) {
		if (info_json(argv[0], r, &in) != 0)
			goto out;
	} else {
		info_text(argv[0], tg_rec_reader_header(r), tg_rec_reader_header_json(r), &in);
	}
	code = replay_exit_for(in.v.status);
out:
	tg_rec_reader_free(r);
	e2 = replay_src_close(&s);
	if (e2 != TG_OK && code != REPLAY_EXIT_USAGE) {
		tg_error("%s: %s", argv[0], tg_strerror(e2));
		code = REPLAY_EXIT_USAGE;
	}
out_nosrc:
	free(tee.buf);
	json_decref(in.end);
	json_decref(in.notes);
	free(in.command);
	if (!replay_stdout_ok(0))
		code = REPLAY_EXIT_USAGE;
	return code;
}

/* --- list --- */

struct list_item {
	char *name;
	char *bad; /* see replay_list_where() */
	uint64_t size;
	struct tg_rec_summary s;
	int code;
};

struct list_acc {
	struct list_item *items;
	size_t n, cap;
};

static int list_add(void *ctx, const char *name, uint64_t size, const char *bad)
{
	struct list_acc *a = ctx;

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		struct list_item *p = realloc(a->items, nc * sizeof(*p));

		if (p == NULL)
			return -1;
		a->items = p;
		a->cap = nc;
	}
	memset(&a->items[a->n], 0, sizeof(a->items[a->n]));
	if ((a->items[a->n].name = strdup(name)) == NULL)
		return -1;
	a->items[a->n].size = size;
	if (bad != NULL && (a->items[a->n].bad = strdup(bad)) == NULL) {
		free(a->items[a->n].name);
		return -1;
	}
	a->n++;
	return 0;
}

static int by_start(const void *x, const void *y)
{
	const struct list_item *a = x, *b = y;

	if (a->s.start_us != b->s.start_us)
		return a->s.start_us < b->s.start_us ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void fmt_start(char *out, size_t n, uint64_t us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
}

int replay_cmd_list(const struct replay_opts *o, int argc, char **argv)
{
	struct list_acc a = {NULL, 0, 0};
	char start[32], dur[32];
	size_t i;
	int code = REPLAY_EXIT_OK, r;

	if (argc != 1) {
		tg_error("list: one SPOOLDIR or s3://bucket/prefix");
		return REPLAY_EXIT_USAGE;
	}
	if (replay_list_where(o, argv[0], list_add, &a) != TG_OK) {
		code = REPLAY_EXIT_USAGE;
		goto out;
	}
	if (a.n == 0) { /* as verify and search say of it: an empty listing is no answer */
		char *safe = tg_text_safe(argv[0]);

		tg_error("%s: no recordings (*" TG_REC_EXT ") there", safe != NULL ? safe : "?");
		free(safe);
		code = REPLAY_EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < a.n; i++) {
		struct replay_src s;

		a.items[i].code = REPLAY_EXIT_USAGE;
		if (a.items[i].bad != NULL) { /* an ERROR line, and said why */
			tg_error("%s: %s", a.items[i].name, a.items[i].bad);
			continue;
		}
		if (replay_src_open(&s, o, a.items[i].name) != TG_OK)
			continue;
		r = tg_rec_summarize_source(&s.src, o->have_pk ? o->host_pk : NULL, &a.items[i].s);
		if (replay_src_close(&s) != TG_OK && r == TG_OK)
			r = TG_ERR_IO;
		if (r == TG_OK && a.items[i].s.status != TG_OK && a.items[i].s.verified_bytes == 0) {
			/* no checkpoint covers its header (unsealed before the first, its header
			 * edited, signed by another key): its user, host, start and session are
			 * claims, not shown (as of a recording cut inside its header) */
			uint64_t file_bytes = a.items[i].s.file_bytes;
			int status = a.items[i].s.status;

			memset(&a.items[i].s, 0, sizeof(a.items[i].s));
			a.items[i].s.status = status;
			a.items[i].s.file_bytes = file_bytes;
		}
		if (r == TG_OK)
			a.items[i].code = replay_exit_for(a.items[i].s.status);
		else if (r == TG_ERR_VERSION) { /* an ERROR line: not known to be tampered */
			char *safe = tg_text_safe(a.items[i].name);

			tg_error("%s: %s", safe != NULL ? safe : "?",
			         replay_version_str(a.items[i].s.version));
			free(safe);
		} else if (r == TG_ERR_FORMAT || r == TG_ERR_TRUNCATED) {
			a.items[i].code =
			    r == TG_ERR_TRUNCATED ? REPLAY_EXIT_UNSEALED : REPLAY_EXIT_TAMPERED;
			a.items[i].s.status = r == TG_ERR_TRUNCATED ? TG_ERR_UNSEALED : r;
		} else {
			char *safe = tg_text_safe(a.items[i].name);

			tg_error("%s: %s", safe != NULL ? safe : "?", tg_strerror(r));
			free(safe);
		}
	}
	qsort(a.items, a.n, sizeof(a.items[0]), by_start);
	if (o->no_key) /* said on every result: once here, for the whole listing */
		tg_warn("host key NOT checked (--no-key): a recording listed as sealed is intact, "
		        "but not known to be genuine");
	printf("%-20s %-12s %-12s %-16s %12s %-9s %-32s %s\n", "START", "DURATION", "USER", "HOST",
	       "SIZE", "STATUS", "SESSION", "FILE");
	for (i = 0; i < a.n; i++) {
		struct list_item *it = &a.items[i];
		/* S3 keys, user and host names come from whoever wrote them: made safe */
		char *fname = replay_text_safe(stdout, it->name),
		     *user = replay_text_safe(stdout, it->s.user),
		     *host = replay_text_safe(stdout, it->s.host);

		code = worse(code, it->code);
		if (it->code == REPLAY_EXIT_USAGE) {
			printf("%-20s %-12s %-12s %-16s %12" PRIu64 " %-9s %-32s %s\n", "?", "?",
			       "?", "?", it->size, "ERROR", "?", fname ? fname : "?");
		} else {
			fmt_start(start, sizeof(start), it->s.start_us);
			replay_fmt_time(dur, sizeof(dur), it->s.duration_us);
			printf("%-20s %-12s %-12s %-16s %12" PRIu64 " %-9s %-32s %s\n",
			       it->s.start_us ? start : "?", dur, user && *user ? user : "?",
			       host && *host ? host : "?", it->size,
			       replay_status_word(it->s.status),
			       it->s.session_id[0] ? it->s.session_id : "?", fname ? fname : "?");
		}
		free(fname);
		free(user);
		free(host);
	}
out:
	for (i = 0; i < a.n; i++) {
		free(a.items[i].name);
		free(a.items[i].bad);
	}
	free(a.items);
	if (!replay_stdout_ok(0))
		code = REPLAY_EXIT_USAGE;
	return code;
}
