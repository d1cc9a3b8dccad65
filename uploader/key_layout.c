/*
 * Where things go in the bucket. A fleet of hosts shares one bucket, so keys
 * are partitioned by date and host (Athena partition projection reads
 * dt=YYYY-MM-DD and host=NAME), and every session gets one small JSON object
 * under the index prefix that an Athena table can query.
 */
#include "uploader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_rec.h"
#include "tg_s3.h"
#include "tg_sha256.h"
#include "tg_utf8.h"

/* Characters kept as they are in a key part; everything else becomes '_'. */
static int key_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.' || ch == '@' || ch == '+';
}

/* The longest value a folder of a key holds (a user or host name, cut beyond): the file's own
 * name, last in the key, keeps keys apart, and an event or a recording whose host field is
 * longer than a key could hold must still find one, not be refused by S3 for ever. */
#define KEY_VALUE_MAX 128

/* How a value goes into a key. */
enum part_mode {
	PART_RAW,  /* as it is (the configured prefix) */
	PART_SAFE, /* other characters become '_' (a user or host name: a folder to read) */
	PART_NAME, /* the file's own name (the object's last part): '_' and other characters
	            * become _XX, so that two names never share a key, and another file's upload
	            * never overwrites one in the bucket; a name of key characters but '_' (a
	            * recording or an event as they are named) stays as it is */
};

static int put_part(char *out, size_t len, size_t *pos, const char *s, enum part_mode mode)
{
	int dots;
	size_t i;

	if (s == NULL || *s == '\0') {
		if (mode == PART_RAW)
			return TG_OK; /* an empty prefix is no folder */
		/* nor an empty value: "_" (a name "_" is _5f) */
		return put_part(out, len, pos, "_", PART_SAFE);
	}
	/* a value may not walk out of its folder */
	dots = strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
	if (mode == PART_SAFE && dots)
		s = "_";
	for (i = 0; s[i] != '\0' && (mode != PART_SAFE || i < KEY_VALUE_MAX); i++) {
		unsigned char ch = (unsigned char)s[i];

		if (mode == PART_NAME && (!key_char_ok(ch) || ch == '_' || dots)) {
			if (*pos + 3 >= len)
				return TG_ERR_LIMIT;
			snprintf(out + *pos, 4, "_%02x", ch);
			*pos += 3;
			continue;
		}
		if (mode == PART_SAFE && !key_char_ok(ch))
			ch = '_';
		if (*pos + 1 >= len)
			return TG_ERR_LIMIT;
		out[(*pos)++] = (char)ch;
	}
	out[*pos] = '\0';
	return TG_OK;
}

static void date_of(uint64_t us, char buf[16])
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 16, "1970-01-01");
}

/* Collapse "//", drop leading and trailing '/': an empty prefix leaves no empty folder. */
static void tidy_slashes(char *s)
{
	char *w = s;
	const char *r = s;

	while (*r == '/')
		r++;
	for (; *r != '\0'; r++) {
		if (*r == '/' && (r[1] == '/' || r[1] == '\0'))
			continue;
		*w++ = *r;
	}
	*w = '\0';
}

int up_key_expand(const char *tmpl, const struct up_key_vars *v, char *out, size_t len)
{
	size_t pos = 0;
	const char *p;
	char date[16];
	int r;

	if (len == 0)
		return TG_ERR_INVALID;
	out[0] = '\0';
	date_of(v->time_us, date);
	for (p = tmpl; *p != '\0'; p++) {
		const char *end;
		char var[32];
		size_t n;

		if (*p != '{') {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return TG_ERR_INVALID;
			if (pos + 1 >= len)
				return TG_ERR_LIMIT;
			out[pos++] = *p;
			out[pos] = '\0';
			continue;
		}
		if ((end = strchr(p, '}')) == NULL || (n = (size_t)(end - p - 1)) >= sizeof(var))
			return TG_ERR_INVALID;
		memcpy(var, p + 1, n);
		var[n] = '\0';
		if (strcmp(var, "prefix") == 0)
			r = put_part(out, len, &pos, v->prefix != NULL ? v->prefix : "", PART_RAW);
		else if (strcmp(var, "date") == 0)
			r = put_part(out, len, &pos, date, PART_SAFE);
		else if (strcmp(var, "host") == 0)
			r = put_part(out, len, &pos, v->host, PART_SAFE);
		else if (strcmp(var, "user") == 0)
			r = put_part(out, len, &pos, v->user, PART_SAFE);
		else if (strcmp(var, "session_id") == 0)
			r = put_part(out, len, &pos, v->session_id, PART_NAME);
		else if (strcmp(var, "ext") == 0)
			r = v->ext != NULL && *v->ext != '\0'
			        ? put_part(out, len, &pos, v->ext, PART_NAME)
			        : TG_OK;
		else if (strcmp(var, "kind") == 0)
			r = put_part(out, len, &pos, v->kind, PART_SAFE);
		else
			return TG_ERR_INVALID;
		if (r != TG_OK)
			return r;
		p = end;
	}
	tidy_slashes(out);
	/* S3 keys are at most 1024 bytes */
	if (out[0] == '\0' || strlen(out) > 1024)
		return TG_ERR_INVALID;
	return TG_OK;
}

int up_key_session(const struct tg_config *cfg, const struct up_key_vars *v, char *out, size_t len)
{
	struct up_key_vars vv = *v;

	/* without either, one key names many files: each upload would overwrite the last (x.tgr
	 * and x.old, without {ext}) */
	if (strstr(tg_config_str(cfg, TG_CONF_S3_KEY_TEMPLATE), "{session_id}") == NULL ||
	    strstr(tg_config_str(cfg, TG_CONF_S3_KEY_TEMPLATE), "{ext}") == NULL)
		return TG_ERR_INVALID;
	vv.prefix = tg_config_str(cfg, TG_CONF_S3_PREFIX);
	vv.kind = "sessions";
	return up_key_expand(tg_config_str(cfg, TG_CONF_S3_KEY_TEMPLATE), &vv, out, len);
}

/* v's session_id (a file's stem) as a key takes it when the whole would not fit: its first
 * UP_KEY_STEM_CUT bytes, '-' and the SHA-256 of name (the whole file name) in hex. */
static int short_stem(const char *stem, const char *name, char *out, size_t len)
{
	unsigned char h[32];
	size_t i, n;

	if (tg_sha256_mem(name, strlen(name), h) != TG_OK)
		return TG_ERR_CRYPTO;
	n = (size_t)snprintf(out, len, "%.*s-", UP_KEY_STEM_CUT, stem);
	for (i = 0; i < sizeof(h) && n + 3 <= len; i++)
		n += (size_t)snprintf(out + n, len - n, "%02x", h[i]);
	return i == sizeof(h) ? TG_OK : TG_ERR_LIMIT;
}

int up_key_session_fit(const struct tg_config *cfg, const struct up_key_vars *v, const char *name,
                       char *key, size_t klen, char *ikey, size_t iklen)
{
	struct up_key_vars vv = *v;
	char stem[UP_KEY_STEM_CUT + 1 + 64 + 1], ext[UP_KEY_EXT_CUT + 1];
	int r;

	if (up_key_session(cfg, v, key, klen) == TG_OK &&
	    up_key_index(cfg, v, ikey, iklen) == TG_OK)
		return TG_OK;
	/* the template expanded at the start (up_s3_check), for the longest user, host and
	 * short stem: this file's own name is what makes a key too long (escaped, a name of 255
	 * bytes grows up to threefold) */
	if ((r = short_stem(v->session_id != NULL ? v->session_id : "", name, stem,
	                    sizeof(stem))) != TG_OK)
		return r;
	vv.session_id = stem;
	/* and a long extension its first bytes (the hash holds the whole name) */
	if (v->ext != NULL && strlen(v->ext) > UP_KEY_EXT_CUT) {
		snprintf(ext, sizeof(ext), "%.*s", UP_KEY_EXT_CUT, v->ext);
		vv.ext = ext;
	}
	if ((r = up_key_session(cfg, &vv, key, klen)) != TG_OK)
		return r;
	return up_key_index(cfg, &vv, ikey, iklen);
}

int up_key_event(const struct tg_config *cfg, const char *host, uint64_t time_us, const char *name,
                 char *out, size_t len)
{
	struct up_key_vars v = {0};

	v.prefix = tg_config_str(cfg, TG_CONF_S3_PREFIX);
	v.host = host;
	v.session_id = name;
	v.kind = "events";
	v.time_us = time_us;
	return up_key_expand("{prefix}/events/dt={date}/host={host}/{session_id}", &v, out, len);
}

int up_key_index(const struct tg_config *cfg, const struct up_key_vars *v, char *out, size_t len)
{
	struct up_key_vars vv = *v;
	char base[1100], name[2 * UP_NAME_MAX];
	int r;

	if (*tg_config_str(cfg, TG_CONF_S3_INDEX_PREFIX) == '\0') {
		/* no index wanted */
		if (len > 0)
			out[0] = '\0';
		return TG_OK;
	}
	vv.prefix = tg_config_str(cfg, TG_CONF_S3_PREFIX);
	vv.kind = "index";
	if ((r = up_key_expand(tg_config_str(cfg, TG_CONF_S3_INDEX_PREFIX), &vv, base,
	                       sizeof(base))) != TG_OK)
		return r;
	vv.prefix = base;
	if (v->ext != NULL && strcmp(v->ext, TG_REC_EXT) == 0) {
		/* a recording as the recorder names them keeps its key */
		vv.ext = ".json";
		return up_key_expand("{prefix}/dt={date}/host={host}/{session_id}{ext}", &vv, out,
		                     len);
	}
	/* Any other name (put there by hand): the whole of it, or x.old would share x.tgr's
	 * index object and overwrite its line. The escaped name never ends with a bare '_' (each
	 * '_' it holds is one of _XX), so "_.json" sets these apart from the recorder's names. */
	if ((size_t)snprintf(name, sizeof(name), "%s%s", v->session_id ? v->session_id : "",
	                     v->ext ? v->ext : "") >= sizeof(name))
		return TG_ERR_LIMIT;
	vv.session_id = name;
	vv.ext = NULL;
	return up_key_expand("{prefix}/dt={date}/host={host}/{session_id}_.json", &vv, out, len);
}

static int key_check(const struct tg_config *cfg, char *err, size_t errlen)
{
	struct up_key_vars v = {0};
	char key[1100];

	if (strstr(tg_config_str(cfg, TG_CONF_S3_KEY_TEMPLATE), "{session_id}") == NULL) {
		tg_errf(err, errlen,
		        "[s3] key_template has no {session_id}: the sessions would overwrite each "
		        "other's recording in the bucket");
		return TG_ERR_CONFIG;
	}
	if (strstr(tg_config_str(cfg, TG_CONF_S3_KEY_TEMPLATE), "{ext}") == NULL) {
		tg_errf(err, errlen,
		        "[s3] key_template has no {ext}: files whose names differ in their extension "
		        "alone (x.tgr, x.old) would overwrite each other in the bucket");
		return TG_ERR_CONFIG;
	}
	/* a session as the recorder names them: what fails here fails for every one */
	v.host = "host";
	v.user = "user";
	v.session_id = "0123456789abcdef";
	v.ext = TG_REC_EXT;
	v.time_us = 1;
	if (up_key_session(cfg, &v, key, sizeof(key)) != TG_OK) {
		tg_errf(
		    err, errlen,
		    "[s3] key_template does not expand (an unknown {name}, a control character, "
		    "or a key over 1024 bytes)");
		return TG_ERR_CONFIG;
	}
	if (up_key_index(cfg, &v, key, sizeof(key)) != TG_OK) {
		tg_errf(
		    err, errlen,
		    "[s3] index_prefix does not expand (an unknown {name}, a control character, "
		    "or a key over 1024 bytes)");
		return TG_ERR_CONFIG;
	}
	/* the longest keys a file gets: user and host at their cap, and the short stem and
	 * extension of a name too long for a key, every byte of their cuts escaped */
	{
		char user[KEY_VALUE_MAX + 1], stem[UP_KEY_STEM_CUT + 1 + 64 + 1];
		char ext[UP_KEY_EXT_CUT + 1];

		memset(user, 'u', KEY_VALUE_MAX);
		user[KEY_VALUE_MAX] = '\0';
		memset(stem, '~', UP_KEY_STEM_CUT);
		memset(stem + UP_KEY_STEM_CUT, 'f', 65);
		stem[UP_KEY_STEM_CUT] = '-';
		stem[UP_KEY_STEM_CUT + 65] = '\0';
		memset(ext, '~', UP_KEY_EXT_CUT);
		ext[UP_KEY_EXT_CUT] = '\0';
		v.user = v.host = user;
		v.session_id = stem;
		v.ext = ext;
		if (up_key_session(cfg, &v, key, sizeof(key)) != TG_OK ||
		    up_key_index(cfg, &v, key, sizeof(key)) != TG_OK) {
			tg_errf(err, errlen,
			        "[s3] prefix, key_template or index_prefix leave no room in a key "
			        "(1024 bytes) for a user and host of %d bytes and a file name",
			        KEY_VALUE_MAX);
			return TG_ERR_CONFIG;
		}
	}
	return TG_OK;
}

int up_s3_check(const struct tg_config *cfg, char *err, size_t errlen)
{
	struct tg_s3 *probe = NULL;
	int r;

	if ((r = tg_s3_new(&probe, cfg, err, errlen)) == TG_OK)
		r = key_check(cfg, err, errlen);
	tg_s3_free(probe);
	return r;
}

json_t *up_json_string(const char *s)
{
	/* not UTF-8 (for example S3's message cut in the middle of a character): only the
	 * broken sequences go, the valid characters beside them stay */
	return s == NULL ? json_null() : tg_utf8_json(s, NULL);
}

json_t *up_index_json(const struct tg_rec_summary *s, const char *bucket, const char *key,
                      uint64_t file_bytes)
{
	char start[40];
	json_t *o;

	tg_time_format(s->start_us, start, sizeof(start));
	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "session_id", up_json_string(s->session_id));
	json_object_set_new(o, "pam_session_id", up_json_string(s->pam_session_id));
	json_object_set_new(o, "user", up_json_string(s->user));
	json_object_set_new(o, "host", up_json_string(s->host));
	/* the login's kernel audit session: up_rec_owner_is compares it with the login's */
	if (s->audit_session != 0)
		json_object_set_new(o, "audit_session", json_integer(s->audit_session));
	/* null when the header names none: a line without the key was written before boot ids,
	 * and compares the audit session alone */
	json_object_set_new(o, "boot_id",
	                    s->boot_id[0] != '\0' ? up_json_string(s->boot_id) : json_null());
	json_object_set_new(o, "client_addr", up_json_string(s->client_addr));
	json_object_set_new(o, "client_port", json_integer(s->client_port));
	json_object_set_new(o, "mode", up_json_string(s->mode));
	json_object_set_new(o, "command", up_json_string(s->command));
	/* the index holds 1023 bytes of it: what follows is in the recording, not here */
	json_object_set_new(o, "command_truncated", json_boolean(s->command_cut));
	json_object_set_new(o, "start", json_string(start));
	json_object_set_new(o, "start_us", json_integer((json_int_t)s->start_us));
	json_object_set_new(o, "duration_us", json_integer((json_int_t)s->duration_us));
	if (s->has_exit_status)
		json_object_set_new(o, "exit_status", json_integer(s->exit_status));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)s->bytes_out));
	json_object_set_new(o, "bytes_err", json_integer((json_int_t)s->bytes_err));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)s->bytes_in));
	json_object_set_new(o, "sealed", json_boolean(s->status == TG_OK));
	json_object_set_new(o, "status", json_string(tg_strerror(s->status)));
	json_object_set_new(o, "final_hash", json_string(s->final_hash));
	json_object_set_new(o, "key_id", up_json_string(s->key_id));
	json_object_set_new(o, "bucket", up_json_string(bucket));
	json_object_set_new(o, "s3_key", up_json_string(key));
	json_object_set_new(o, "file_bytes", json_integer((json_int_t)file_bytes));
	json_object_set_new(o, "uploaded_us", json_integer((json_int_t)tg_now_us()));
	return o;
}
