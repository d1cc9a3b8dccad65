/*
 * One recording from sessions/ to S3, in a job (child process):
 *   summarize and verify it (tg_rec_summarize), note where it goes in
 *   state/sessions/<pam_session_id>.json (the logout message needs the place
 *   and the final chain hash even while S3 is down), upload it (multipart
 *   with a resume file above the threshold), upload its index line, and only
 *   then remove it from the spool. A crash anywhere repeats the same PUTs of
 *   the same bytes to the same keys: S3 ends up holding each object once.
 */
#include "uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_s3.h"
#include "tg_sha256.h"
#include "tg_spool.h"

int up_session_state_path(const struct up_ctx *c, const char *pam_session_id, char *out, size_t len)
{
	size_t i;

	if (pam_session_id == NULL || *pam_session_id == '\0' || strlen(pam_session_id) > 64)
		return TG_ERR_INVALID;
	for (i = 0; pam_session_id[i] != '\0'; i++) {
		char ch = pam_session_id[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
			return TG_ERR_INVALID;
	}
	if ((size_t)snprintf(out, len, "%s/sessions/%s.json", c->state_dir, pam_session_id) >= len)
		return TG_ERR_LIMIT;
	return TG_OK;
}

/* x-amz-meta-* values travel as HTTP header values: printable ASCII only. */
static void meta_value(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		out[i] =
		    ((unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f) ? in[i] : '_';
	out[i] = '\0';
}

void up_result_from_s3(struct up_result *res, int rc, const struct tg_s3_result *sr, const char *what)
{
	res->rc = rc;
	res->retryable = sr->retryable;
	res->http_status = sr->http_status;
	snprintf(res->code, sizeof(res->code), "%s", sr->code);
	if (sr->local) {
		/* the file could not be read (EIO, it shrank): S3 refused nothing, so nothing
		 * pauses S3 or blames it; the message names the file, and it is tried again */
		res->retryable = 1;
		res->local = 1;
		snprintf(res->message, sizeof(res->message), "%s", sr->message);
		return;
	}
	snprintf(res->message, sizeof(res->message), "%s: %s", what, tg_strerror(rc));
	if (sr->http_status != 0) {
		size_t n = strlen(res->message);

		/* a failure after an answer may have no S3 code: the status alone then */
		snprintf(res->message + n, sizeof(res->message) - n, " (HTTP %ld%s%s)",
		         sr->http_status, sr->code[0] != '\0' ? " " : "", sr->code);
	}
	if (sr->message[0] != '\0') {
		size_t n = strlen(res->message);

		snprintf(res->message + n, sizeof(res->message) - n, ": %s", sr->message);
	}
}

static void part_progress(void *ctx, uint64_t done, uint64_t total)
{
	up_progress_draw(done, total, ctx);
}

/*
 * A large recording is sent while it is verified: a guess from its header and
 * its seal (tg_rec_summarize_quick) names the object and its metadata, the
 * full verification runs in a thread beside the upload, and the upload is
 * completed only if the two agree. When they do not (a recording changed
 * between header and seal), the upload is aborted and sent again with the
 * full verification's verdict, so S3 never holds a recording whose metadata
 * says more than the verification found.
 */
struct verify_job {
	pthread_t th;
	int fd; /* the upload's: pread only, so the two never move each other's offset */
	const unsigned char *pk;
	const struct tg_rec_summary *guess;
	struct tg_rec_summary full;
	int rc; /* tg_rec_summarize()'s */
	int joined;
	int agrees;
};

static void *verify_run(void *arg)
{
	struct verify_job *j = arg;

	j->rc = tg_rec_summarize_fd(j->fd, j->pk, &j->full);
	return NULL;
}

static void verify_join(struct verify_job *j)
{
	const struct tg_rec_summary *g = j->guess, *f = &j->full;

	if (j->joined)
		return;
	pthread_join(j->th, NULL);
	j->joined = 1;
	j->agrees = j->rc == TG_OK && f->status == g->status &&
	            strcmp(f->final_hash, g->final_hash) == 0 && strcmp(f->user, g->user) == 0 &&
	            strcmp(f->host, g->host) == 0 && strcmp(f->session_id, g->session_id) == 0 &&
	            strcmp(f->pam_session_id, g->pam_session_id) == 0 && f->start_us == g->start_us;
}

static int verify_before_complete(void *ctx, struct tg_s3_result *res)
{
	struct verify_job *j = ctx;

	verify_join(j);
	if (j->agrees)
		return TG_OK;
	snprintf(res->code, sizeof(res->code), "Withdrawn");
	snprintf(res->message, sizeof(res->message),
	         "the full verification disagrees with the seal");
	res->retryable = 1;
	return TG_ERR_INTERRUPTED;
}

/*
 * The join record of a PAM session lists each of its recordings: several channels of one
 * multiplexed connection (ssh -o ControlMaster) share the PAM session, and each has its own
 * recording, which the logout message must all name. Format 2 is
 *   {"v":2,"recordings":[<index line>, ...],"more":<n>,"more_ids":[<recording id>, ...]}
 * sorted by start time, UP_JOIN_MAX listed at most, "more" counting those past it, and
 * "more_ids" naming those counted (UP_JOIN_MORE_IDS at most), so that a recording shipped
 * again (its upload retried after its entry was written) is not counted twice. Past
 * UP_JOIN_MORE_IDS a recording is not counted, since it could not be told from one counted
 * already: "more_uncounted": true says there are more than "more" (a lower bound, never one
 * too many). A format-1 record (before multiplexing was seen) is one index line: read as a
 * list of one.
 */
#define UP_JOIN_MAX 32
#define UP_JOIN_MORE_IDS 1024

/* The recordings listed in a join record, format 1 or 2 (a new reference), or NULL. */
json_t *up_join_recordings(const json_t *rec)
{
	const json_t *list = json_object_get(rec, "recordings");

	if (json_is_array(list))
		return json_incref((json_t *)list);
	if (json_is_string(json_object_get(rec, "s3_key")))
		return json_pack("[O]", rec);
	return NULL;
}

int up_join_lists_recording(const json_t *rec)
{
	json_t *list = up_join_recordings(rec);
	int any = json_array_size(list) > 0 || json_integer_value(json_object_get(rec, "more")) > 0;

	json_decref(list);
	return any;
}

void up_join_refused_note(const json_t *rec, char *out, size_t len)
{
	const json_t *ids = json_object_get(rec, "refused_ids"), *e;
	size_t i, at = 0;

	*out = '\0';
	if (!json_is_true(json_object_get(rec, "refused")) && json_array_size(ids) == 0)
		return;
	json_array_foreach(ids, i, e)
	{
		int n = snprintf(out + at, len - at, "%s%s", i == 0 ? "" : ", ",
		                 json_string_value(e) ?: "?");

		if (n < 0 || (size_t)n >= len - at) {
			out[at] = '\0';
			break;
		}
		at += (size_t)n;
	}
	if (at == 0)
		snprintf(out, len, "(recording id not noted)");
}

int up_rec_owner_is(const json_t *login, const char *user, const char *host, uint32_t audit,
                    const char *boot)
{
	const char *lu = json_string_value(json_object_get(login, "user"));
	const char *lh = json_string_value(json_object_get(login, "host"));
	json_int_t la = json_integer_value(json_object_get(login, "audit_session")); /* 0: none */
	const char *lb = json_string_value(json_object_get(login, "boot_id")); /* NULL: none */

	if ((lu != NULL && user != NULL && strcmp(lu, user) != 0) ||
	    (lh != NULL && host != NULL && strcmp(lh, host) != 0))
		return 0;
	/* the session id comes from the recorder's environment, which the user's ~/.bashrc can
	 * set to that of another of their logins; the audit session comes from the kernel: a
	 * recorder of another connection of theirs does not count for this login. A login that
	 * has one is not matched by a header without: its recorder inherited the login's (the
	 * recorder and the module are of one version), so such a recording was made elsewhere.
	 * The kernel counts audit sessions from 1 again at each boot: a login whose recording is
	 * still awaited across a reboot is not claimed by a connection of the new boot that got
	 * its number. boot NULL: not known (an index line written before boot ids) */
	if (la <= 0)
		return 1;
	if (la != (json_int_t)audit)
		return 0;
	return lb == NULL || boot == NULL || strcmp(lb, boot) == 0;
}

/* Whether the join record entry e (an index line) counts for login: a recording whose header
 * could not be read (shipped unsealed as user _unknown) names no user to compare, and counts as
 * it did before, so that the logout names it as one that does not verify. */
static int join_entry_owned(const json_t *e, const json_t *login)
{
	const char *user = json_string_value(json_object_get(e, "user"));
	json_int_t audit = json_integer_value(json_object_get(e, "audit_session")); /* 0: none */
	json_t *jb = json_object_get(e, "boot_id");
	/* null: the header names none; no such key: a line written before boot ids (NULL: the
	 * audit session alone is compared) */
	const char *boot = jb == NULL ? NULL : json_is_string(jb) ? json_string_value(jb) : "";

	if (user != NULL && strcmp(user, "_unknown") == 0 &&
	    !json_is_true(json_object_get(e, "sealed")))
		return 1;
	return up_rec_owner_is(login, user, json_string_value(json_object_get(e, "host")),
	                       audit > 0 && audit < 4294967295LL ? (uint32_t)audit : 0, boot);
}

void up_join_others_add(char *others, size_t len, const json_t *e)
{
	char where[1400];
	size_t at = strlen(others);
	int n;

	snprintf(where, sizeof(where), "s3://%s/%s (",
	         json_string_value(json_object_get(e, "bucket")) ?: "?",
	         json_string_value(json_object_get(e, "s3_key")) ?: "?");
	if (strstr(others, where) != NULL)
		return;
	n = snprintf(others + at, len - at, "%s%suser %s, host %s, audit session %lld, boot %s)",
	             at == 0 ? "" : ", ", where,
	             json_string_value(json_object_get(e, "user")) ?: "?",
	             json_string_value(json_object_get(e, "host")) ?: "?",
	             (long long)json_integer_value(json_object_get(e, "audit_session")),
	             json_string_value(json_object_get(e, "boot_id")) ?: "none");
	if (n < 0 || (size_t)n >= len - at)
		others[at] = '\0'; /* the ones that do not fit are not named */
}

/*
 * Leave out of the join record copy out the refused channels whose recording_failure event named
 * a user or host that is not the login's: a recorder of another user, given the session id of
 * this login by hand, says nothing of this login's channels (its own event, posted on its own,
 * names its user). Those noted with no owner (by an earlier version) stay. 0, or -1 when memory
 * ran out.
 */
static int join_refused_owned(json_t *out, const json_t *login)
{
	const char *lu = json_string_value(json_object_get(login, "user"));
	const char *lh = json_string_value(json_object_get(login, "host"));
	json_t *ids = json_object_get(out, "refused_ids");
	const json_t *owners = json_object_get(out, "refused_owners");
	size_t i, had = json_array_size(ids);

	for (i = 0; i < json_array_size(ids);) {
		const char *id = json_string_value(json_array_get(ids, i));
		const json_t *o = id != NULL ? json_object_get(owners, id) : NULL;
		const char *user = json_string_value(json_object_get(o, "user"));
		const char *host = json_string_value(json_object_get(o, "host"));

		if ((lu != NULL && user != NULL && strcmp(lu, user) != 0) ||
		    (lh != NULL && host != NULL && strcmp(lh, host) != 0)) {
			if (json_array_remove(ids, i) != 0)
				return -1;
			continue;
		}
		i++;
	}
	if (had > 0 && json_array_size(ids) == 0) {
		/* every channel it noted was another user's: none of this login's was refused */
		json_object_del(out, "refused");
		json_object_del(out, "refused_ids");
	}
	return 0;
}

json_t *up_join_owned(const json_t *rec, const json_t *login, char *others, size_t len)
{
	json_t *list = up_join_recordings(rec), *kept = NULL, *out = NULL, *e;
	size_t i, at = 0;

	*others = '\0';
	if (rec == NULL || (out = json_deep_copy(rec)) == NULL)
		goto fail;
	if (join_refused_owned(out, login) != 0)
		goto fail;
	if (list == NULL)
		return out;
	if ((kept = json_array()) == NULL)
		goto fail;
	json_array_foreach(list, i, e)
	{
		if (join_entry_owned(e, login)) {
			if (json_array_append(kept, e) != 0)
				goto fail;
			continue;
		}
		up_join_others_add(others, len, e);
		at = strlen(others);
	}
	if (json_array_size(kept) == json_array_size(list))
		goto done; /* all of them the login's */
	if (at == 0)
		snprintf(others, len, "(too long to name)");
	/* format 1 is an object of its own: the copy becomes format 2 */
	json_object_del(out, "s3_key");
	if (json_object_set(out, "recordings", kept) != 0)
		goto fail;
	/* the recordings past the list are counted, not named with their user and host: they
	 * count only beside one of the login's own */
	if (json_array_size(kept) == 0) {
		json_object_del(out, "more");
		json_object_del(out, "more_ids");
		json_object_del(out, "more_uncounted");
	}
done:
	json_decref(kept);
	json_decref(list);
	return out;
fail:
	json_decref(kept);
	json_decref(list);
	json_decref(out);
	return NULL;
}

/* What tells one recording from another in "more_ids": its id, or its key without one. */
static const json_t *join_id(const json_t *index)
{
	const json_t *id = json_object_get(index, "session_id");

	return json_is_string(id) && *json_string_value(id) != '\0'
	           ? id
	           : json_object_get(index, "s3_key");
}

/* Where id is in ids, or -1. */
static long join_id_find(const json_t *ids, const json_t *id)
{
	size_t i;

	for (i = 0; id != NULL && i < json_array_size(ids); i++)
		if (json_equal(json_array_get(ids, i), id))
			return (long)i;
	return -1;
}

/* Add the channel the recording_failure event refused names (NULL: none) to the ids of old's
 * "refused_ids" (UP_JOIN_MAX at most, each once) in rec, with the user and host the event names
 * in "refused_owners" (by id), which a login's check compares with its own. 0, or -1 when memory
 * ran out. */
static int join_refused_ids(json_t *rec, const json_t *old, const json_t *refused)
{
	const json_t *had = json_object_get(old, "refused_ids"), *e;
	const json_t *had_owners = json_object_get(old, "refused_owners");
	const char *rid = json_string_value(json_object_get(refused, "recording_id"));
	const char *user = json_string_value(json_object_get(refused, "user"));
	const char *host = json_string_value(json_object_get(refused, "host"));
	json_t *ids = json_array(), *owners = json_object();
	size_t i;
	int found = 0;

	if (ids == NULL || owners == NULL)
		goto fail;
	json_array_foreach(had, i, e)
	{
		const json_t *owner;

		if (!json_is_string(e) || json_array_size(ids) >= UP_JOIN_MAX)
			continue;
		if (rid != NULL && strcmp(json_string_value(e), rid) == 0)
			found = 1;
		if (json_array_append(ids, (json_t *)e) != 0)
			goto fail;
		owner = json_object_get(had_owners, json_string_value(e));
		if (owner != NULL &&
		    json_object_set(owners, json_string_value(e), (json_t *)owner) != 0)
			goto fail;
	}
	if (rid != NULL && *rid != '\0' && !found && json_array_size(ids) < UP_JOIN_MAX) {
		if (json_array_append_new(ids, json_string(rid)) != 0)
			goto fail;
		/* the recorder takes both from its uid and the host, not from the environment
		 * its session id came from: a user cannot make them another's */
		if (user != NULL && host != NULL &&
		    json_object_set_new(owners, rid,
		                        json_pack("{s:s, s:s}", "user", user, "host", host)) != 0)
			goto fail;
	}
	if (json_object_size(owners) > 0 && json_object_set(rec, "refused_owners", owners) != 0)
		goto fail;
	json_decref(owners);
	if (json_array_size(ids) == 0) {
		json_decref(ids);
		return 0;
	}
	return json_object_set_new(rec, "refused_ids", ids);
fail:
	json_decref(ids);
	json_decref(owners);
	return -1;
}

/* The join record old (NULL: none yet) with index added: one recording shipped again (a retry,
 * a wrong guess) replaces its own entry, or is counted once in "more". index NULL adds none
 * and notes "refused": true instead, with the recording id of the channel the recording_failure
 * event refused names in "refused_ids" (the recorder refused that channel of the session) and
 * the event's user and host in "refused_owners", which the record keeps from then on. A
 * refused channel accounts for itself only: it is no recording of the session's other
 * channels. A new reference, or NULL when memory ran out. */
static json_t *join_add(const json_t *old, const json_t *index, const json_t *refused)
{
	const json_t *key = json_object_get(index, "s3_key");
	json_int_t start = json_integer_value(json_object_get(index, "start_us"));
	json_int_t more = json_integer_value(json_object_get(old, "more"));
	int is_refused = index == NULL || json_is_true(json_object_get(old, "refused"));
	int uncounted = json_is_true(json_object_get(old, "more_uncounted"));
	json_t *list = up_join_recordings(old), *rec = NULL, *e, *ids = NULL;
	long at_id;
	size_t i, at;

	if (list == NULL && (list = json_array()) == NULL)
		return NULL;
	if ((ids = json_is_array(json_object_get(old, "more_ids"))
	               ? json_deep_copy(json_object_get(old, "more_ids"))
	               : json_array()) == NULL)
		goto out;
	for (i = 0; index != NULL && i < json_array_size(list); i++) {
		e = json_array_get(list, i);
		if (key != NULL && json_equal(json_object_get(e, "s3_key"), key)) {
			json_array_remove(list, i);
			break;
		}
	}
	/* counted already: counted again below only if it is past the list again */
	if (index != NULL && (at_id = join_id_find(ids, join_id(index))) >= 0) {
		json_array_remove(ids, (size_t)at_id);
		more--;
	}
	for (at = 0; index != NULL && at < json_array_size(list); at++)
		if (json_integer_value(json_object_get(json_array_get(list, at), "start_us")) >
		    start)
			break;
	if (index != NULL && json_array_insert(list, at, (json_t *)index) != 0)
		goto out;
	if (json_array_size(list) > UP_JOIN_MAX) {
		const json_t *id = join_id(json_array_get(list, json_array_size(list) - 1));

		/* one that cannot be named is not counted: shipped again, it would be counted
		 * again, at every retry; the record says there are more than it counts */
		if (id != NULL && json_array_size(ids) < UP_JOIN_MORE_IDS) {
			if (json_array_append(ids, (json_t *)id) != 0)
				goto out;
			more++;
		} else {
			uncounted = 1;
		}
		json_array_remove(list, json_array_size(list) - 1);
	}
	rec = json_pack("{s:i, s:O, s:I}", "v", 2, "recordings", list, "more", more);
	if (rec != NULL && uncounted &&
	    json_object_set_new(rec, "more_uncounted", json_true()) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	if (rec != NULL && json_array_size(ids) > 0 && json_object_set(rec, "more_ids", ids) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	if (rec != NULL && is_refused && json_object_set_new(rec, "refused", json_true()) != 0) {
		json_decref(rec);
		rec = NULL;
	}
	if (rec != NULL && join_refused_ids(rec, old, index == NULL ? refused : NULL) != 0) {
		json_decref(rec);
		rec = NULL;
	}
out:
	json_decref(ids);
	json_decref(list);
	return rec;
}

/*
 * Add index to the join record at dir/name. Jobs shipping recordings of one session run at
 * once: the read, the merge and the write are one step under a lock on the folder.
 */
static int join_record_add(const char *dir, const char *name, const json_t *index,
                           const json_t *refused)
{
	char path[PATH_MAX], *text = NULL;
	json_t *old = NULL, *rec = NULL;
	json_error_t jerr;
	FILE *f;
	int dfd, r, err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	if (flock(dfd, LOCK_EX) != 0) {
		r = TG_ERR_SYSTEM;
		goto out;
	}
	if ((f = fopen(path, "re")) == NULL && errno != ENOENT) {
		r = TG_ERR_SYSTEM; /* EIO, EMFILE: not a reason to forget what it lists */
		goto out;
	}
	if (f != NULL) {
		if ((old = json_loadf(f, 0, &jerr)) == NULL &&
		    (ferror(f) || json_error_code(&jerr) == json_error_out_of_memory)) {
			/* a read that failed (EIO) or no memory: no more a reason to forget what
			 * it lists than a failed open; the job tries again */
			err = ferror(f) ? (errno != 0 ? errno : EIO) : ENOMEM;
			r = ferror(f) ? TG_ERR_SYSTEM : TG_ERR_NOMEM;
			fclose(f);
			errno = err;
			goto out;
		}
		if (old == NULL)
			/* not ours to understand: better the recordings from here on than none */
			tg_warn("join record %s cannot be read (%s): started again", path,
			        jerr.text);
		fclose(f);
	}
	if ((rec = join_add(old, index, refused)) == NULL ||
	    (text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	r = tg_spool_write(dir, name, text, strlen(text), 0640);
out:
	err = errno; /* the caller tells a full disk from other failures */
	free(text);
	json_decref(rec);
	json_decref(old);
	close(dfd); /* and the lock with it */
	errno = err;
	return r;
}

int up_join_record_add(const struct up_ctx *c, const char *pam_session_id, const json_t *index,
                       const json_t *refused)
{
	char dir[PATH_MAX], *slash;
	int r;

	if ((r = up_session_state_path(c, pam_session_id, dir, sizeof(dir))) != TG_OK)
		return r;
	slash = strrchr(dir, '/');
	*slash = '\0';
	return join_record_add(dir, slash + 1, index, refused);
}

/*
 * The recording's index line, and its entry in the join record the logout message reads
 * (state/sessions/<pam_session_id>.json, when there is a PAM session). The line, or NULL
 * when either fails (res says why). A join record that cannot be written because the spool's
 * disk is full does not hold the upload back: only the upload, removing the recording, frees
 * the space. *later is then set, and the caller writes the entry once the recording is gone.
 */
static char *keep_join_record(struct up_ctx *c, const struct tg_rec_summary *s, const char *key,
                              uint64_t size, struct up_result *res, int *later)
{
	char statepath[PATH_MAX], *line = NULL;
	json_t *index = up_index_json(s, c->bucket, key, size);
	int r, e;

	if (index == NULL || (line = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(index);
		res->rc = TG_ERR_NOMEM;
		res->retryable = 1;
		return NULL;
	}
	if (up_session_state_path(c, s->pam_session_id, statepath, sizeof(statepath)) != TG_OK) {
		json_decref(index);
		return line; /* no PAM session to join */
	}
	r = up_join_record_add(c, s->pam_session_id, index, NULL);
	e = errno;
	json_decref(index);
	if (r == TG_ERR_SYSTEM && (e == ENOSPC || e == EDQUOT)) {
		tg_warn("%s cannot be written (%s): the recording goes up first, which frees the "
		        "space, and its entry is written after it",
		        statepath, strerror(e));
		*later = 1;
		return line;
	}
	if (r != TG_OK) {
		res->rc = r;
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message), "join record %s: %s", statepath,
		         r == TG_ERR_SYSTEM ? strerror(e) : tg_strerror(r));
		free(line);
		return NULL;
	}
	return line;
}

/*
 * With a guess: wait for the full verification. When it agrees, its summary
 * replaces the guess and its join record is kept; when it does not, the
 * caller ships again with the full summary.
 */
static int settle(struct up_ctx *c, struct verify_job *job, struct tg_rec_summary *s,
                  const char *key, uint64_t size, char **line, struct up_result *res, int *later)
{
	verify_join(job);
	if (!job->agrees) {
		res->rc = TG_ERR_INTERRUPTED;
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message),
		         "the full verification disagrees with the seal");
		return TG_ERR_INTERRUPTED;
	}
	*s = job->full;
	if ((*line = keep_join_record(c, s, key, size, res, later)) == NULL)
		return res->rc;
	return TG_OK;
}

/*
 * The join record entry of a recording shipped while the disk was full (keep_join_record), its
 * index line: written now that the recording is gone and its file closed.
 */
static void join_record_later(struct up_ctx *c, const char *pam_session_id, const char *line,
                              const char *where)
{
	json_t *index = json_loads(line, 0, NULL);
	int r = index != NULL ? up_join_record_add(c, pam_session_id, index, NULL) : TG_ERR_NOMEM;

	if (r != TG_OK)
		tg_error(
		    "the join record of session %s cannot be written (%s): its logout will not "
		    "name %s",
		    pam_session_id, r == TG_ERR_SYSTEM ? strerror(errno) : tg_strerror(r), where);
	json_decref(index);
}

/*
 * A recording S3 confirmed whose index line then failed: state/multipart/<id>.sent says so
 * (<id>: up_multipart_file(); {the endpoint, region, bucket and key, the file's identity as
 * opened, its SHA-256}), so that the retry puts only the index line instead of the whole
 * recording again, to the same store only. Written only when
 * the file is still as it was opened (its ctime, which no write or utimensat leaves alone,
 * unchanged: what was sent is what was hashed); trusted only while the file is the same, byte
 * for byte. The recording leaves the spool only once its index line is in too, as always.
 */
static int sent_note_path(const struct up_ctx *c, const char *name, char *out, size_t len)
{
	return up_multipart_path(c, name, UP_MULTIPART_SENT, out, len);
}

static int sent_note_hash(int fd, const struct stat *st, char hex[65])
{
	unsigned char h[32];

	if (tg_sha256_fd(fd, 0, (uint64_t)st->st_size, h) != TG_OK)
		return -1;
	sodium_bin2hex(hex, 65, h, sizeof(h));
	return 0;
}

/* Where the recording went (the store, the region, the bucket and the key: a bucket moved
 * to or an endpoint fixed since has not got it) and which file it was. */
static json_t *sent_note_json(const struct up_ctx *c, const char *key, const struct stat *st,
                              const char *hex)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "endpoint",
	                 tg_config_str(c->cfg, TG_CONF_S3_ENDPOINT), "region",
	                 tg_config_str(c->cfg, TG_CONF_S3_REGION), "bucket", c->bucket, "key", key,
	                 "size", (json_int_t)st->st_size, "dev", (json_int_t)st->st_dev, "ino",
	                 (json_int_t)st->st_ino, "mtime_sec", (json_int_t)st->st_mtim.tv_sec,
	                 "mtime_nsec", (json_int_t)st->st_mtim.tv_nsec, "ctime_sec",
	                 (json_int_t)st->st_ctim.tv_sec, "ctime_nsec",
	                 (json_int_t)st->st_ctim.tv_nsec, "sha256", hex);
}

/* After the recording went up (key) and its index line failed: note it, best effort (without
 * the note, the retry sends the recording again, as before). */
static void sent_note_write(const struct up_ctx *c, const char *name, const char *key, int fd,
                            const struct stat *st)
{
	char dir[PATH_MAX], file[80], hex[65], *text = NULL;
	struct stat now;
	json_t *note = NULL;
	int r;

	if (fstat(fd, &now) != 0 || now.st_size != st->st_size ||
	    now.st_ctim.tv_sec != st->st_ctim.tv_sec || now.st_ctim.tv_nsec != st->st_ctim.tv_nsec)
		return; /* changed since it was opened: what S3 has is not known to be this */
	if (sent_note_hash(fd, st, hex) != 0 || (note = sent_note_json(c, key, st, hex)) == NULL ||
	    (text = json_dumps(note, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(note);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/%s", c->state_dir, UP_MULTIPART_DIR);
	if ((r = up_multipart_file(name, UP_MULTIPART_SENT, file, sizeof(file))) != TG_OK ||
	    (r = tg_spool_write(dir, file, text, strlen(text), 0640)) != TG_OK)
		tg_warn("%s/%s cannot be written (%s): the retry sends the recording again", dir,
		        file, tg_strerror(r));
	free(text);
	json_decref(note);
}

/* Whether S3 has the recording under key already: the note says it went up, and the file is
 * the one noted, with the same bytes. */
static int sent_note_matches(const struct up_ctx *c, const char *path, const char *key, int fd,
                             const struct stat *st)
{
	char hex[65];
	json_t *note, *want = NULL;
	struct stat nst;
	int same;

	/* a note is a few hundred bytes: anything larger is not one */
	if (stat(path, &nst) != 0 || nst.st_size > 4096 ||
	    (note = json_load_file(path, 0, NULL)) == NULL)
		return 0;
	if (!json_is_string(json_object_get(note, "sha256")) ||
	    (want = sent_note_json(c, key, st,
	                           json_string_value(json_object_get(note, "sha256")))) == NULL ||
	    !json_equal(note, want)) {
		json_decref(want);
		json_decref(note);
		return 0;
	}
	same = sent_note_hash(fd, st, hex) == 0 &&
	       strcmp(hex, json_string_value(json_object_get(note, "sha256"))) == 0;
	json_decref(want);
	json_decref(note);
	return same;
}

/*
 * Ship one recording with summary s (or, with job, with the guess in s while
 * job verifies). When job->agrees is 0 afterwards the guess was wrong: ship
 * again with job->full. *join_line: the index line whose join record entry the
 * caller writes once it closed fd (the disk was full), or left NULL.
 */
static void ship(struct up_ctx *c, struct tg_s3 **s3p, const char *name, const char *path, int fd,
                 const struct stat *st, const char *stem, const char *ext, struct tg_rec_summary *s,
                 struct verify_job *job, struct up_result *res, char **join_line)
{
	char resume[PATH_MAX], sent[PATH_MAX], key[1100], ikey[1100], err[256];
	char m_user[128], m_host[128], m_sealed[8], m_status[64];
	const struct tg_config *cfg = c->cfg;
	struct tg_s3_result sr;
	struct up_key_vars v = {0};
	struct tg_s3 *s3 = NULL;
	char *line = NULL;
	int r, join_later = 0, in_s3 = 0;

	memset(&sr, 0, sizeof(sr));
	/* named after the name's hash, so any name the spool takes has them; none (only a spool
	 * path near PATH_MAX) goes without */
	if (sent_note_path(c, name, sent, sizeof(sent)) != TG_OK)
		sent[0] = '\0';
	if (up_multipart_path(c, name, UP_MULTIPART_RESUME, resume, sizeof(resume)) != TG_OK)
		resume[0] = '\0';
	v.host = s->host[0] != '\0' ? s->host : c->host;
	v.user = s->user;
	v.session_id = stem;
	v.ext = ext;
	v.time_us = s->start_us;
	if ((r = up_key_session_fit(cfg, &v, name, key, sizeof(key), ikey, sizeof(ikey))) !=
	    TG_OK) {
		res->rc = r;
		res->retryable = 0;
		snprintf(res->message, sizeof(res->message),
		         "%s: bad [s3] key_template or index_prefix", name);
		goto out;
	}
	/* the join record for the logout message, kept before anything can fail on the
	 * network (while a guess is checked: as soon as the check is over) */
	if (job == NULL &&
	    (line = keep_join_record(c, s, key, (uint64_t)st->st_size, res, &join_later)) == NULL)
		goto out;
	if (*s3p == NULL && (r = tg_s3_new(s3p, cfg, err, sizeof(err))) != TG_OK) {
		res->rc = TG_ERR_CONFIG;
		res->retryable = r == TG_ERR_NOMEM || r == TG_ERR_NET || r == TG_ERR_RETRY;
		snprintf(res->message, sizeof(res->message), "S3 client: %s", err);
		if (job != NULL) /* the join record all the same */
			settle(c, job, s, key, (uint64_t)st->st_size, &line, res, &join_later);
		goto out;
	}
	s3 = *s3p;
	{
		char m_sid[80], m_psid[136], m_hash[2 * TG_REC_HASH_LEN + 1];
		struct tg_s3_meta meta[] = {
		    {"user", m_user},           {"host", m_host},       {"session-id", m_sid},
		    {"pam-session-id", m_psid}, {"final-hash", m_hash}, {"sealed", m_sealed},
		    {"status", m_status},
		};
		struct tg_s3_put_opts opts = {0};

		meta_value(s->user, m_user, sizeof(m_user));
		meta_value(s->host, m_host, sizeof(m_host));
		meta_value(s->session_id, m_sid, sizeof(m_sid));
		meta_value(s->pam_session_id, m_psid, sizeof(m_psid));
		meta_value(s->final_hash, m_hash, sizeof(m_hash));
		snprintf(m_sealed, sizeof(m_sealed), "%s", s->status == TG_OK ? "yes" : "no");
		meta_value(tg_strerror(s->status), m_status, sizeof(m_status));
		opts.content_type = "application/vnd.tollgate.recording";
		/* an empty header value would not be sent at all (libcurl drops "Name:"): leave
		 * those out */
		for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
			if (meta[i].value[0] != '\0')
				meta[opts.nmeta++] = meta[i];
		opts.meta = meta;
		opts.resume_path = resume[0] != '\0' ? resume : NULL;
		if (c->progress && (uint64_t)st->st_size >=
		                       tg_config_uint(cfg, TG_CONF_UPLOADER_MULTIPART_THRESHOLD)) {
			opts.progress = part_progress;
			opts.progress_ctx = (void *)name;
		}
		if (job != NULL) {
			opts.before_complete = verify_before_complete;
			opts.before_complete_ctx = job;
		}
		/* the file verified, from the same open file: a file renamed over the name
		 * since is not what goes up; not again when S3 has it (its index line failed) */
		if (ikey[0] != '\0' && (in_s3 = sent_note_matches(c, sent, key, fd, st)) != 0) {
			tg_log(LOG_INFO,
			       "%s: S3 has it already as s3://%s/%s (its index line failed): "
			       "only the index line goes",
			       name, c->bucket, key);
			r = TG_OK;
		} else {
			r = tg_s3_put_fd(s3, key, fd, path, &opts, &sr);
		}
		if (job != NULL &&
		    settle(c, job, s, key, (uint64_t)st->st_size, &line, res, &join_later) != TG_OK)
			goto out;
		if (r != TG_OK) {
			up_result_from_s3(res, r, &sr, key);
			goto out;
		}
	}
	if (ikey[0] != '\0') { /* empty: [s3] index_prefix is off */
		struct tg_s3_put_opts iopts = {0};
		size_t n = strlen(line);

		line[n] = '\n'; /* JSON lines: json_dumps left room for its NUL */
		iopts.content_type = "application/json";
		r = tg_s3_put_buffer(s3, ikey, line, n + 1, &iopts, &sr);
		line[n] = '\0';
		if (r != TG_OK) {
			up_result_from_s3(res, r, &sr, ikey);
			if (!in_s3)
				sent_note_write(c, name, key, fd, st);
			goto out;
		}
	}
	/*
	 * S3 has both: now, and only now, the spool lets go. No fsync of the
	 * folder: should a crash bring the file back, it goes up again to the
	 * same key with the same bytes, and S3 still holds it once.
	 *
	 * A recording that does not verify is alerted on first: once it has left the
	 * spool no later pass would find it to raise the alert, which a crash in between
	 * would lose; a crash after the alert repeats it at worst.
	 */
	if (s->status != TG_OK && s->status != TG_ERR_UNSEALED &&
	    (r = up_alert(c, "recording_damaged", 1,
	                  "recording %s (user %s) does not verify: %s; shipped as s3://%s/%s", name,
	                  s->user, tg_strerror(s->status), c->bucket, key)) != TG_OK) {
		/* the alert cannot be written (a full disk): the file stays, and the next try
		 * raises it again, rather than leaving with nobody told */
		res->rc = r;
		res->retryable = 1;
		res->local = 1;
		snprintf(res->message, sizeof(res->message),
		         "%s does not verify, and its recording_damaged alert cannot be written: "
		         "kept in the spool",
		         name);
		goto out;
	}
	{
		struct stat now;

		/* what the name holds now is not ours to remove if it is another file (renamed
		 * over it since): that one ships on its own turn */
		if (lstat(path, &now) == 0 &&
		    (now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
			/* up_alert() logs it too: one line, not a warning beside it */
			up_alert(
			    c, "recording_removed", 1,
			    "%s/%s (session %s, user %s) was replaced by someone else while it "
			    "was uploaded: S3 has the verified file as s3://%s/%s; the new one "
			    "is left to ship on its own",
			    c->q[UP_Q_SESSIONS].dir, name, s->session_id, s->user, c->bucket, key);
			goto removed;
		}
	}
	up_job_removing();
	if (unlink(path) != 0) {
		if (errno != ENOENT) {
			res->rc = r = TG_ERR_SYSTEM;
			res->retryable = 1;
			snprintf(res->message, sizeof(res->message), "remove %s: %s", name,
			         strerror(errno));
			goto out;
		}
		/* not by us (only this job ships it): S3 has what was verified, but someone
		 * tried to make it go, which an auditor must hear of */
		up_alert(c, "recording_removed", 1,
		         "%s/%s (session %s, user %s) was removed by someone else while it was "
		         "uploaded: S3 has it as s3://%s/%s",
		         c->q[UP_Q_SESSIONS].dir, name, s->session_id, s->user, c->bucket, key);
	}
removed:
	unlink(resume);
	unlink(sent);
	if (join_later) {
		/* written by the caller once it closed the file, which frees its space */
		*join_line = line;
		line = NULL;
	}
	res->rc = TG_OK;
	res->bytes = (uint64_t)st->st_size;
	snprintf(res->message, sizeof(res->message), "s3://%s/%s", c->bucket, key);
out:
	free(line);
}

/*
 * The PAM session id a damaged header still names: "pam_session_id":"<id>" in the bytes the
 * header spans, the id made only of the characters a session id has. Found, the recording
 * joins its session: the logout names it as one that does not verify, rather than calling the
 * session unrecorded (a false no_recording beside the recording_damaged alert). What it claims
 * is not verified, as no part of a damaged header is; the status says so.
 */
static void salvage_pam_session_id(int fd, char *out, size_t len)
{
	static const char tag[] = "\"pam_session_id\":\"";
	char *buf, *p, *end;
	ssize_t n;
	size_t k;

	if ((buf = malloc(TG_REC_MAGIC_LEN + 32 + TG_REC_MAX_HEADER)) == NULL)
		return;
	do
		n = pread(fd, buf, TG_REC_MAGIC_LEN + 32 + TG_REC_MAX_HEADER, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0 && (p = memmem(buf, (size_t)n, tag, sizeof(tag) - 1)) != NULL) {
		p += sizeof(tag) - 1;
		end = buf + n;
		for (k = 0; p + k < end && k + 1 < len && p[k] != '"'; k++)
			if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'z') ||
			      (p[k] >= 'A' && p[k] <= 'Z') || p[k] == '-' || p[k] == '_'))
				break;
		if (k > 0 && p + k < end && p[k] == '"') {
			memcpy(out, p, k);
			out[k] = '\0';
		}
	}
	free(buf);
}

/* What a recording that cannot be read at all is shipped as: its bytes, nothing dropped. */
static void unreadable_summary(struct up_ctx *c, int fd, const char *stem, const struct stat *st,
                               int r, struct tg_rec_summary *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->session_id, sizeof(s->session_id), "%.32s", stem);
	snprintf(s->user, sizeof(s->user), "_unknown");
	snprintf(s->host, sizeof(s->host), "%s", c->host);
	s->start_us = (uint64_t)st->st_mtim.tv_sec * 1000000u;
	s->status = r;
	salvage_pam_session_id(fd, s->pam_session_id, sizeof(s->pam_session_id));
}

void up_session_ship(struct up_ctx *c, struct tg_s3 **s3p, const char *name, struct up_result *res)
{
	const unsigned char *pk = c->have_host_pk ? c->host_pk : NULL;
	struct tg_rec_summary s, guess;
	struct verify_job job;
	char path[PATH_MAX];
	struct stat st;
	const char *ext;
	char *stem = NULL, *join_line = NULL;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", c->q[UP_Q_SESSIONS].dir, name);
	/* opened once: what is verified and what is uploaded are the same file, whatever is
	 * renamed over the name meanwhile */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)) < 0) {
		/* gone: not by an uploader (one per spool, and a job reports what it removed),
		 * so by someone else, and S3 never had it */
		res->rc = errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
		res->vanished = errno == ENOENT;
		res->local = errno != ENOENT;
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message), "open %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0) {
		res->rc = TG_ERR_SYSTEM;
		res->retryable = 1;
		res->local = 1;
		snprintf(res->message, sizeof(res->message), "stat %s: %s", path, strerror(errno));
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		/* the recording the scan found was replaced (O_NONBLOCK: a FIFO put over its name
		 * held the worker for ever in open); the scan reports what is there now */
		res->rc = TG_ERR_NOT_FOUND;
		res->vanished = 1;
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message), "%s is no longer a regular file",
		         path);
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	ext = strrchr(name, '.');
	if (ext == NULL || ext == name)
		ext = "";
	if ((stem = strndup(name, strlen(name) - strlen(ext))) == NULL) {
		res->rc = TG_ERR_NOMEM;
		res->retryable = 1;
		goto out;
	}
	memset(&job, 0, sizeof(job));
	if ((uint64_t)st.st_size >= tg_config_uint(c->cfg, TG_CONF_UPLOADER_MULTIPART_THRESHOLD) &&
	    tg_rec_summarize_quick_fd(fd, pk, &guess) == TG_OK) {
		job.fd = fd;
		job.pk = pk;
		job.guess = &guess;
		if (pthread_create(&job.th, NULL, verify_run, &job) == 0) {
			s = guess;
			ship(c, s3p, name, path, fd, &st, stem, ext, &s, &job, res, &join_line);
			verify_join(&job);
			if (job.agrees)
				goto out;
			tg_warn(
			    "%s: the full verification disagrees with its seal (%s): sending it "
			    "again with that verdict",
			    name,
			    job.rc == TG_OK ? tg_strerror(job.full.status) : tg_strerror(job.rc));
			memset(res, 0, sizeof(*res));
		}
	}
	if (job.joined)
		r = job.rc, s = job.full;
	else
		r = tg_rec_summarize_fd(fd, pk, &s);
	if (r == TG_ERR_SYSTEM || r == TG_ERR_NOMEM) {
		/* the system failed us (EIO, EMFILE, no memory), not the file: try again later
		 * rather than ship it filed as damaged under _unknown */
		res->rc = r;
		res->retryable = 1;
		res->local = r == TG_ERR_SYSTEM;
		snprintf(res->message, sizeof(res->message), "reading %s: %s", path,
		         r == TG_ERR_SYSTEM && !job.joined ? strerror(errno) : tg_strerror(r));
		goto out;
	}
	if (r != TG_OK)
		unreadable_summary(c, fd, stem, &st, r, &s);
	ship(c, s3p, name, path, fd, &st, stem, ext, &s, NULL, res, &join_line);
out:
	close(fd);
	if (join_line != NULL)
		join_record_later(c, s.pam_session_id, join_line, res->message);
	free(join_line);
	free(stem);
}
