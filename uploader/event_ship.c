/*
 * Events: from events/ into two outboxes, then to S3 and to Slack.
 *
 * Fan-out copies an event into outbox/s3/ and outbox/notify/ (durably) and
 * only then removes it from events/; a crash in between repeats the copies
 * under the same names. The copies are not hard links: with
 * fs.protected_hardlinks the audit user may not link the PAM module's files.
 * outbox/s3/ drains in any order through jobs; outbox/notify/ drains strictly
 * in name (= time) order, one message at a time, so that after a Slack outage
 * every message arrives, in order. An event has left the spool once both
 * copies are gone: S3 stored it and Slack answered 200 "ok".
 */
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_event.h"
#include "rec_spool.h"
#include "tg_log.h"
#include "tg_rec.h"
#include "tg_s3.h"
#include "tg_spool.h"

/* up_alert(), or with keep 0 up_alert_now() */
static int alert_v(struct up_ctx *c, int keep, const char *what, int slack_too, const char *fmt,
                   va_list ap)
{
	char msg[1024];
	json_t *ev;
	int r;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	tg_warn("alert %s: %s", what, msg);
	ev = json_pack("{s:s, s:o, s:o, s:b}", "alert", what, "message", up_json_string(msg),
	               "host", up_json_string(c->host), "notify", slack_too);
	if (ev == NULL)
		return TG_ERR_NOMEM;
	if (c->alerts_deferred) {
		r = TG_ERR_RETRY; /* before the spool is ours: kept, written once it is */
	} else if (c->in_worker) {
		/* a worker's memory ends with it: written now, or said to its caller */
		if ((r = tg_event_write(c->spool, "alert", ev, NULL, 0)) != TG_OK)
			tg_error_r(r, "cannot write the alert event for %s", what);
		json_decref(ev);
		return r;
	} else {
		/* behind the ones kept before it, in order */
		up_alerts_write_kept(c);
		if (c->alerts_kept != NULL && json_array_size(c->alerts_kept) > 0)
			r = TG_ERR_RETRY;
		else
			r = tg_event_write(c->spool, "alert", ev, NULL, 0);
	}
	if (r != TG_OK && !keep) {
		/* the caller keeps its own trace, and raises it again */
		tg_error_r(r, "cannot write the alert event for %s now", what);
		json_decref(ev);
		return r;
	}
	if (r != TG_OK) {
		/* raised all the same (the callers do not raise it again): kept, and written
		 * once the spool takes it, or S3 and Slack would never hear of it. Its event's
		 * time is the write's: raised_us says when it was raised. */
		json_object_set_new(ev, "raised_us", json_integer((json_int_t)tg_now_us()));
		if (c->alerts_kept == NULL)
			c->alerts_kept = json_array();
		if (c->alerts_kept != NULL && json_array_size(c->alerts_kept) < UP_ALERTS_KEPT &&
		    json_array_append(c->alerts_kept, ev) == 0) {
			if (r != TG_ERR_RETRY)
				tg_error_r(r,
				           "cannot write the alert event for %s: kept, and written "
				           "once the spool takes it",
				           what);
			r = TG_OK;
		} else {
			tg_error_r(r,
			           "cannot write the alert event for %s, nor keep it (%u kept "
			           "already): it is in this log only",
			           what, UP_ALERTS_KEPT);
		}
	}
	json_decref(ev);
	return r;
}

int up_alert(struct up_ctx *c, const char *what, int slack_too, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = alert_v(c, 1, what, slack_too, fmt, ap);
	va_end(ap);
	return r;
}

/* up_alert, but keeping nothing: written now, or the error, for a caller whose own file raises
 * the alert again (a login marker kept until its alert is on disk) */
static int __attribute__((format(printf, 4, 5)))
up_alert_now(struct up_ctx *c, const char *what, int slack_too, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = alert_v(c, 0, what, slack_too, fmt, ap);
	va_end(ap);
	return r;
}

int up_slack_held(const struct up_ctx *c)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int held = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" UP_SLACK_HELD, c->state_dir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!held && (de = readdir(d)) != NULL)
		held = de->d_name[0] != '.';
	closedir(d);
	return held;
}

int up_slack_unhold(struct up_ctx *c)
{
	char dir[PATH_MAX];
	struct dirent *de;
	size_t moved = 0;
	int r, failed = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" UP_SLACK_HELD, c->state_dir);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((r = tg_spool_move(dir, de->d_name, c->q[UP_Q_NOTIFY].dir, de->d_name)) !=
		    TG_OK) {
			tg_error_r(r, "cannot move %s/%s back into %s", dir, de->d_name,
			           c->q[UP_Q_NOTIFY].dir);
			failed = 1;
			continue;
		}
		moved++;
	}
	closedir(d);
	if (moved > 0)
		tg_info("%zu Slack message%s held while webhook_url was unusable: queued again",
		        moved, moved == 1 ? "" : "s");
	return failed ? -1 : (int)(moved > 0);
}

void up_alerts_write_kept(struct up_ctx *c)
{
	while (c->alerts_kept != NULL && json_array_size(c->alerts_kept) > 0 &&
	       tg_event_write(c->spool, "alert", json_array_get(c->alerts_kept, 0), NULL, 0) ==
	           TG_OK)
		json_array_remove(c->alerts_kept, 0);
}

/* Reads of a Slack queue head that fail for a reason other than its content, before it is
 * dropped so that the messages behind it go on. */
#define NOTIFY_READ_TRIES 10

uint64_t up_event_name_us(const char *name)
{
	char *end;
	unsigned long long us = strtoull(name, &end, 10);

	return end != name && *end == '-' ? (uint64_t)us : 0;
}

/*
 * Logins waiting for their recording. A login that reaches the fan-out leaves a marker,
 * state/open/<session id>.json (the event itself), and its logout removes it. A marker
 * older than recording_grace whose session has no recording, neither read (state/sessions/)
 * nor being written (a header in the recorder's active/ naming it), raises no_recording
 * then: not at a logout that comes days later (a ~/.bashrc escape, or ssh -N holding a
 * tunnel, runs as long as the user likes) or never (sshd killed, the host down). The markers
 * are in state/, so a restart keeps them; a failure to write one is logged, and the logout
 * still checks.
 */
static int open_marker_name(const struct up_ctx *c, const json_t *ev, char *name, size_t len)
{
	const char *sid = json_string_value(json_object_get(ev, "session_id"));
	char path[PATH_MAX];

	/* a session id that names a state file is one that names a marker */
	if (up_session_state_path(c, sid, path, sizeof(path)) != TG_OK)
		return 0;
	snprintf(name, len, "%s.json", sid);
	return 1;
}

/* How long a login waits for its recording, at least: sshd writes the login event when it
 * opens the PAM session, and only then starts the shell and the recorder, while the uploader
 * fans the login out within milliseconds (recording_grace = 0 is a fine value for a logout,
 * whose recording is sealed before it). */
#define UP_LOGIN_WAIT_MIN_US (10 * 1000000ULL)

/* How long a login waits for its recording: recording_grace, UP_LOGIN_WAIT_MIN_US at least. */
static uint64_t login_wait_us(const struct up_ctx *c)
{
	uint64_t grace = tg_config_uint(c->cfg, TG_CONF_UPLOADER_RECORDING_GRACE) * 1000000u;

	return grace > UP_LOGIN_WAIT_MIN_US ? grace : UP_LOGIN_WAIT_MIN_US;
}

/* A look at the logins when this one is due (up_now_us() time), not at once: each look reads
 * every marker, and with thousands open a look at each login was most of the daemon's CPU. */
static void open_login_due(struct up_ctx *c, const json_t *ev)
{
	uint64_t due = (uint64_t)json_integer_value(json_object_get(ev, "time_us")) +
	               login_wait_us(c),
	         wall = tg_now_us(), at = up_now_us() + (due > wall ? due - wall : 0);

	/* a login from ahead of the clock (set back since) counts from now: see marker_time */
	if (due > wall + login_wait_us(c))
		at = up_now_us() + login_wait_us(c);

	if (at < c->open_check_us)
		c->open_check_us = at;
}

/*
 * A login not logged out yet: state/live/<session id>.json, written at the login's fan-out and
 * removed at its logout's. While it is there the session's join record is kept however old
 * (prune_state): an OpenSSH ControlMaster connection carries channels for weeks, and its
 * logout must still name their recordings. A logout refreshes the join record's time, so that
 * it is kept UP_STATE_KEEP_DAYS from the logout on, not from its first recording.
 *
 * The fan-out lets the events behind one that failed go on, so a logout may go out before its
 * login (tried again after a backoff, and by every restart meanwhile). A logout fanned out while
 * an event before it still waits leaves state/live/<session id>.ended, and a login that finds
 * it makes no marker: its session ended. The note goes when that login has left events/, or
 * with the join records of ended sessions (prune_state).
 */
static int live_login_note(struct up_ctx *c, const char *sid, const char *type, const char *name,
                           const struct tg_buf *text, int behind)
{
	char dir[PATH_MAX], path[PATH_MAX + 80], ended[80];
	int r;

	snprintf(dir, sizeof(dir), "%s/" UP_LIVE_DIR, c->state_dir);
	snprintf(ended, sizeof(ended), "%s" UP_LIVE_ENDED, sid);
	if (strcmp(type, "login") == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, ended);
		if (access(path, F_OK) == 0)
			return 1;
		/* a failure costs the join record its keeping past UP_STATE_KEEP_DAYS, no more */
		if ((r = tg_spool_write(dir, name, text->data, text->len, 0640)) != TG_OK)
			tg_error_r(r, "cannot note login %s as open", name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/sessions/%s", c->state_dir, name);
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT)
		tg_error("cannot refresh the time of join record %s: %s", path, strerror(errno));
	if ((r = tg_spool_remove(dir, name)) != TG_OK && r != TG_ERR_NOT_FOUND)
		tg_error_r(r, "cannot remove open login marker %s", name);
	/* a failure costs the join record 90 days of keeping if its login follows, no more */
	if (behind && (r = tg_spool_write(dir, ended, "", 0, 0640)) != TG_OK)
		tg_error_r(r, "cannot note that session %s ended before its login went out", sid);
	return 0;
}

/* The login of session sid left events/: its logout's note (see live_login_note) is done. */
static void live_ended_forget(struct up_ctx *c, const char *sid)
{
	char dir[PATH_MAX], ended[80];
	int r;

	snprintf(dir, sizeof(dir), "%s/" UP_LIVE_DIR, c->state_dir);
	snprintf(ended, sizeof(ended), "%s" UP_LIVE_ENDED, sid);
	if ((r = tg_spool_remove(dir, ended)) != TG_OK && r != TG_ERR_NOT_FOUND)
		tg_error_r(r, "cannot remove %s/%s", dir, ended);
}

/* The logout ev's own check begins (at the head of the Slack queue): its login's marker goes,
 * so that the two checks do not both alert. */
static void login_check_take_over(struct up_ctx *c, const json_t *ev)
{
	char dir[PATH_MAX], name[80];
	int r;

	if (!open_marker_name(c, ev, name, sizeof(name)))
		return;
	snprintf(dir, sizeof(dir), "%s/" UP_OPEN_DIR, c->state_dir);
	if ((r = tg_spool_remove(dir, name)) != TG_OK && r != TG_ERR_NOT_FOUND)
		tg_error_r(r, "cannot remove login marker %s", name);
}

/*
 * The markers of event ev at its fan-out (behind: an event before it still waits in events/).
 * 1 for a login whose logout went out before it: it made none, and the session id goes into
 * ended (len bytes), whose note is forgotten once the login has left events/.
 */
static int open_login_note(struct up_ctx *c, const json_t *ev, const struct tg_buf *text,
                           int behind, char *ended, size_t len)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *sid = json_string_value(json_object_get(ev, "session_id"));
	char dir[PATH_MAX], name[80];
	int r;

	if (type == NULL || !open_marker_name(c, ev, name, sizeof(name)))
		return 0;
	snprintf(dir, sizeof(dir), "%s/" UP_OPEN_DIR, c->state_dir);
	if (strcmp(type, "login") == 0) {
		if (live_login_note(c, sid, type, name, text, behind)) {
			/* nor a recording check: its logout's covers the session */
			snprintf(ended, len, "%s", sid);
			return 1;
		}
		if ((r = tg_spool_write(dir, name, text->data, text->len, 0640)) != TG_OK)
			tg_error_r(r, "cannot keep login %s for the recording check", name);
		open_login_due(c, ev);
	} else if (strcmp(type, "logout") == 0) {
		/* the login's marker stays until the logout's own check begins, at the head of
		 * the Slack queue (login_check_take_over): while Slack is down, the login's
		 * check still alerts on a session with no recording */
		live_login_note(c, sid, type, name, text, behind);
	} else if (strcmp(type, "recording_failure") == 0 &&
	           strcmp(json_string_value(json_object_get(ev, "on_failure")) ?: "", "deny") ==
	               0) {
		/* the recorder refused this channel (or ended it at the failure, its recording
		 * cut there): no shell ran unrecorded in it, and this event says so; noted in
		 * the join record with the channel's recording id, so that the logout names it.
		 * It accounts for that channel only: the other channels of the connection (one
		 * PAM session) are still checked for a recording, so that a refused channel
		 * does not hide one that escaped the recorder. The event's user and host are
		 * noted with it: one of another user's recorder, given this session's id by
		 * hand, is left out of this login's wording (up_join_owned) */
		if ((r = up_join_record_add(c, sid, NULL, ev)) != TG_OK)
			tg_error_r(r, "cannot note that the recorder refused session %s", sid);
	}
	return 0;
}

/* The PAM session ids of the recordings being written now (each header in active/ names
 * one): read once per check, however many logins are due, and only when one is. A file in
 * active/ whose recorder died (its lock gone) is not being written: it is handed over into
 * sessions/ at once, not at the next periodic rescan, which may be further away than
 * recording_grace. */
struct active_rec {
	char sid[sizeof(((struct tg_rec_header *)0)->pam_session_id)];
	char user[sizeof(((struct tg_rec_header *)0)->user)]; /* whose it is: see up_rec_owner_is */
	char host[sizeof(((struct tg_rec_header *)0)->host)];
	uint32_t audit;
	char boot[sizeof(((struct tg_rec_header *)0)->boot_id)];
	char rec_id[sizeof(((struct tg_rec_header *)0)->session_id)]; /* a mismatch names it */
	char name[UP_NAME_MAX];                                       /* its file in active/ */
};
struct active_ids {
	struct active_rec *id;
	size_t n, alloc;
	int loaded;
	const char *want; /* a session whose recordings handed over so are noted, or NULL */
	int handed_over;  /* recordings of dead recorders were moved into sessions/ */
	int want_handed;  /* one of them is want's */
};
#define ACTIVE_IDS_VOID                                                                            \
	{                                                                                          \
		NULL, 0, 0, 0, NULL, 0, 0                                                          \
	}

/* How far into a recording its header can reach: the magic, the framing, the payload. */
#define HEADER_SPAN (TG_REC_MAGIC_LEN + 32 + TG_REC_MAX_HEADER)

struct header_src {
	int fd;
	size_t left;
};

/* A read that ends where the header must have ended: the reader asks for its whole buffer
 * (2 MiB), and a live recording may be a GiB. */
static ssize_t header_read(void *ctx, void *buf, size_t n)
{
	struct header_src *h = ctx;
	ssize_t k = tg_rec_fd_read(&h->fd, buf, n < h->left ? n : h->left);

	if (k > 0)
		h->left -= (size_t)k;
	return k;
}

/* The user and host a recording's header names, as item_header keeps them. */
#define OWNER_LEN (sizeof(((struct tg_rec_header *)0)->user))

/* The PAM session id (pam_sid, "" when none), the recording id (rec_id), the user and host
 * (owner: each OWNER_LEN bytes, NULL: not wanted), the audit session (audit, 0: none) and its
 * boot (boot, BOOT_LEN bytes, "": none) the header of the recording dirfd/name names; TG_OK, or
 * an error when it cannot be read. With dead non-NULL, *dead says whether no recorder holds the
 * file's lock (its recorder died). */
#define BOOT_LEN (sizeof(((struct tg_rec_header *)0)->boot_id))
static int header_ids(const struct up_ctx *c, int dirfd, const char *name, char *pam_sid,
                      size_t pam_len, char *rec_id, size_t rec_len, char *user, char *host,
                      uint32_t *audit, char *boot, int *dead)
{
	struct tg_rec_reader *rd = NULL;
	struct header_src h = {-1, HEADER_SPAN};
	struct tg_rec_source src = {header_read, &h};
	int r;

	if ((h.fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	/* the recorder holds an exclusive lock for its lifetime; ours goes with the close */
	if (dead != NULL)
		*dead = flock(h.fd, LOCK_SH | LOCK_NB) == 0;
	if ((r = tg_rec_reader_open(&rd, &src, c->have_host_pk ? c->host_pk : NULL)) == TG_OK) {
		snprintf(pam_sid, pam_len, "%s", tg_rec_reader_header(rd)->pam_session_id);
		snprintf(rec_id, rec_len, "%s", tg_rec_reader_header(rd)->session_id);
		if (user != NULL)
			snprintf(user, OWNER_LEN, "%s", tg_rec_reader_header(rd)->user);
		if (host != NULL)
			snprintf(host, OWNER_LEN, "%s", tg_rec_reader_header(rd)->host);
		*audit = tg_rec_reader_header(rd)->audit_session;
		snprintf(boot, BOOT_LEN, "%s", tg_rec_reader_header(rd)->boot_id);
	}
	tg_rec_reader_free(rd);
	close(h.fd);
	return r;
}

static void active_ids_load(struct up_ctx *c, struct active_ids *a)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	a->loaded = 1;
	snprintf(dir, sizeof(dir), "%s/" REC_SPOOL_ACTIVE, c->spool);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct active_rec ar;
		int dead = 0;

		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0))
			continue;
		/* a recorder writes NAME.tgr (and dot-files): anything else (x.tgr.bak) is not a
		 * recording, and recovery would never move it, so a logout that waited for its
		 * hand-over would hold the Slack queue for good */
		if (de->d_name[0] != '.' && !tg_spool_has_suffix(de->d_name, TG_REC_EXT))
			continue;
		/* a dot-file is a header being written: its recorder may not hold the lock yet,
		 * and recovery leaves a young one alone */
		if (header_ids(c, dirfd(d), de->d_name, ar.sid, sizeof(ar.sid), ar.rec_id,
		               sizeof(ar.rec_id), ar.user, ar.host, &ar.audit, ar.boot,
		               de->d_name[0] == '.' ? NULL : &dead) != TG_OK ||
		    ar.sid[0] == '\0')
			continue;
		if (dead) {
			a->handed_over = 1;
			if (a->want != NULL && strcmp(a->want, ar.sid) == 0)
				a->want_handed = 1;
			continue;
		}
		snprintf(ar.name, sizeof(ar.name), "%s", de->d_name);
		if (a->n == a->alloc) {
			size_t k = a->alloc ? a->alloc * 2 : 16;
			void *p = reallocarray(a->id, k, sizeof(*a->id));

			if (p != NULL) {
				a->id = p;
				a->alloc = k;
			}
		}
		/* out of memory: the ids not kept are alerted on, not missed */
		if (a->n < a->alloc)
			a->id[a->n++] = ar;
	}
	closedir(d);
	if (a->handed_over) {
		/* as the periodic rescan does; the queue lists them at once, unread, so that
		 * the logins and logouts that wait for a first reading wait for theirs */
		up_recover_orphans(c);
		up_queue_scan(c, UP_Q_SESSIONS);
	}
}

/* A recorder is writing a recording for PAM session sid now, of the user and host of its login
 * (or logout) event login. */
static int recording_in_progress(struct up_ctx *c, struct active_ids *a, const char *sid,
                                 const json_t *login)
{
	size_t i;

	if (!a->loaded)
		active_ids_load(c, a);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->id[i].sid, sid) == 0 &&
		    up_rec_owner_is(login, a->id[i].user, a->id[i].host, a->id[i].audit,
		                    a->id[i].boot))
			return 1;
	return 0;
}

/* A recorder is still writing a recording of PAM session sid: at a logout, a command of the
 * session that outlived its connection (the client killed, its network gone). *handed_over:
 * a recording of sid whose recorder died was moved into sessions/ now, to be read. a (the
 * caller's, ACTIVE_IDS_VOID) keeps what active/ held, for the logout's mismatch check. */
static int recording_live(struct up_ctx *c, struct active_ids *a, const char *sid,
                          const json_t *login, int *handed_over)
{
	int live;

	if (a->loaded) {
		/* listed again: a dead recorder's file handed over since is seen */
		free(a->id);
		*a = (struct active_ids)ACTIVE_IDS_VOID;
	}
	a->want = sid;
	live = recording_in_progress(c, a, sid, login);
	*handed_over = a->want_handed;
	return live;
}

/* A marker that could not be read now: a look again this much later. */
#define OPEN_RETRY_US (5 * 1000000ULL)
/* A marker whose alert the spool could not take (full): raised again this much later. */
#define OPEN_ALERT_RETRY_US (30 * 1000000ULL)
/* In a marker kept for its recording_mismatch alert: its no_recording is written already. */
#define OPEN_NO_RECORDING_RAISED "no_recording_raised"

static void note_no_recording_raised(const char *dir, const char *name, json_t *ev)
{
	char *text;
	int r = TG_ERR_NOMEM;

	if (json_object_set_new(ev, OPEN_NO_RECORDING_RAISED, json_true()) == 0 &&
	    (text = json_dumps(ev, JSON_COMPACT)) != NULL) {
		r = tg_spool_write(dir, name, text, strlen(text), 0640);
		free(text);
	}
	if (r != TG_OK)
		tg_error_r(r,
		           "cannot note in login marker %s/%s that its no_recording is written: "
		           "it is raised again with its recording_mismatch",
		           dir, name);
}

/* A read error that says nothing about the file (no fd or memory left, a disk error). */
static int read_failed_for_now(int r)
{
	return r == TG_ERR_NOMEM ||
	       (r == TG_ERR_SYSTEM && (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
	                               errno == EIO || errno == EAGAIN || errno == EINTR));
}

/* What a queued recording keeps of its header's user and host (a digest: a queue may hold many
 * thousands, and two names of up to 255 bytes each would triple an item), to compare with a
 * login's. */
static void owner_digest(const char *user, const char *host, unsigned char out[UP_OWNER_DIGEST])
{
	crypto_generichash_state st;

	/* the NUL between them: no user name holds one, so "a"+"bc" is not "ab"+"c" */
	crypto_generichash_init(&st, NULL, 0, UP_OWNER_DIGEST);
	crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)host, strlen(host));
	crypto_generichash_final(&st, out, UP_OWNER_DIGEST);
}

/* The queued recording it (its header read) is of the user, host and audit session of the login (or
 * logout) event login; a login event that lacks either names no owner to compare (see
 * up_rec_owner_is). */
static int item_owned(const struct up_item *it, const json_t *login)
{
	const char *user = json_string_value(json_object_get(login, "user"));
	const char *host = json_string_value(json_object_get(login, "host"));
	unsigned char want[UP_OWNER_DIGEST];

	if (!up_rec_owner_is(login, NULL, NULL, it->header_audit, it->header_boot))
		return 0;
	if (user == NULL || host == NULL)
		return 1;
	owner_digest(user, host, want);
	return sodium_memcmp(want, it->header_owner, sizeof(want)) == 0;
}

/*
 * Read the header of the sessions/ item it once: the PAM session and recording ids it names in
 * it (header_pam_sid "" when none, or when it cannot be parsed: header_bad). *dfd is sessions/,
 * opened on first use. 1 when known, 0 when it cannot be read now (no fd left, EIO: read again
 * at the next look), -1 when the folder cannot be opened.
 */
static int item_header(struct up_ctx *c, struct up_queue_state *qs, struct up_item *it, int *dfd)
{
	char user[OWNER_LEN], host[OWNER_LEN];
	int r;

	if (it->header_read)
		return 1;
	if (*dfd < 0 && (*dfd = open(qs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	it->header_audit = 0;
	it->header_boot[0] = '\0';
	r = header_ids(c, *dfd, it->name, it->header_pam_sid, sizeof(it->header_pam_sid),
	               it->header_rec_id, sizeof(it->header_rec_id), user, host, &it->header_audit,
	               it->header_boot, NULL);
	if (r != TG_OK)
		it->header_pam_sid[0] = '\0';
	else
		owner_digest(user, host, it->header_owner);
	if (r != TG_OK && read_failed_for_now(r))
		return 0;
	it->header_read = 1;
	it->header_bad = r != TG_OK;
	return 1;
}

/*
 * What sessions/ (listed once a look: a session that ended a moment ago handed its recording
 * over from active/ after the daemon last listed it) says of PAM session sid, for its login's
 * check and its logout: QUEUED_OURS when a recording's header names it (the session was recorded;
 * the recording is read in its turn), QUEUED_MAYBE when a recording on its first reading has a
 * header that cannot be read (a damaged one joins the session its bytes name, once read), else
 * 0. A recording whose header names another session, or this one but another user or host than
 * the login's (login: its event), is not waited for: on a busy host one is
 * always on its first reading, and an escaped session would never be alerted on.
 */
enum { QUEUED_MAYBE = 1, QUEUED_OURS = 2 };
static int recording_queued_for(struct up_ctx *c, const char *sid, const json_t *login, int *listed)
{
	struct up_queue_state *qs = &c->q[UP_Q_SESSIONS];
	int dfd = -1, found = 0, known;
	size_t i;

	if (!*listed)
		up_queue_scan(c, UP_Q_SESSIONS);
	*listed = 1;
	for (i = 0; i < qs->n && found != QUEUED_OURS; i++) {
		struct up_item *it = &qs->items[i];
		int unread = it->attempts == 0 || (it->busy && it->attempts == 1);

		if ((known = item_header(c, qs, it, &dfd)) < 0) {
			found = QUEUED_MAYBE;
			break;
		}
		if (known && strcmp(it->header_pam_sid, sid) == 0 && item_owned(it, login))
			found = QUEUED_OURS;
		else if (unread && (!known || it->header_bad))
			found = QUEUED_MAYBE;
	}
	if (dfd >= 0)
		close(dfd);
	return found;
}

/* Whether the join record rec lists recording rec_id (then named after others, len bytes, by its
 * S3 location, unless it is there already: the record was read before the recording joined it),
 * or counts it past the listed ones (named by none: the check that reads the record says
 * nothing of those). */
static int join_has(const json_t *rec, const char *rec_id, char *others, size_t len)
{
	json_t *list = up_join_recordings(rec), *e;
	int has = 0;
	size_t k;

	json_array_foreach(list, k, e)
	{
		if (!has && strcmp(json_string_value(json_object_get(e, "session_id")) ?: "",
		                   rec_id) == 0) {
			up_join_others_add(others, len, e);
			has = 1;
		}
	}
	json_array_foreach(json_object_get(rec, "more_ids"), k, e)
	{
		if (strcmp(json_string_value(e) ?: "", rec_id) == 0)
			has = 1;
	}
	json_decref(list);
	return has;
}

/* A recording not read yet, of another user, host or login, named after what others (len
 * bytes) holds: its recording id, its file (where, in the spool), user, host, audit session and
 * boot. One that does not fit is not named. */
static void others_add(char *others, size_t len, const char *rec_id, const char *where,
                       const char *name, const char *user, const char *host, uint32_t audit,
                       const char *boot)
{
	size_t at = strlen(others);
	int n = snprintf(others + at, len - at,
	                 "%srecording %s (%s%s, not yet shipped; user %s, host %s, audit session "
	                 "%lu, boot %s)",
	                 at == 0 ? "" : ", ", rec_id, where, name, user, host, (unsigned long)audit,
	                 *boot ? boot : "none");

	if (n < 0 || (size_t)n >= len - at)
		others[at] = '\0';
}

/*
 * Name in others (len bytes, after the recordings of the join record it holds) each recording
 * of PAM session sid being written (active/, as a lists them) or waiting in sessions/ (listed
 * once: *listed) whose header is not of the user, host, audit session and boot of the login (or
 * logout) event login. Not read yet, it is in no join record, but it names the session all the
 * same: a user who set TOLLGATE_SESSION_ID for a recorder of theirs that is still running, or
 * whose recording waits behind a backlog, is no less to be told of. A header that cannot be read
 * (still being written, damaged) names no one, and one of a recording the join record holds by
 * now (read meanwhile: its S3 location is named instead) or named already is not named again.
 */
static void unshipped_mismatches(struct up_ctx *c, struct active_ids *a, const char *sid,
                                 const json_t *login, int *listed, char *others, size_t len)
{
	struct up_queue_state *qs = &c->q[UP_Q_SESSIONS];
	char path[PATH_MAX], user[OWNER_LEN], host[OWNER_LEN],
	    psid[sizeof(((struct tg_rec_header *)0)->pam_session_id)];
	json_t *rec = NULL;
	int dfd = -1, loaded = 0;
	size_t i, wanted = 0;

	if (!a->loaded)
		active_ids_load(c, a);
	if (!*listed)
		up_queue_scan(c, UP_Q_SESSIONS);
	*listed = 1;
	for (i = 0; i < a->n + qs->n; i++) {
		const struct active_rec *ar = i < a->n ? &a->id[i] : NULL;
		struct up_item *it = ar == NULL ? &qs->items[i - a->n] : NULL;
		char rec_id[sizeof(it->header_rec_id)], other[sizeof(rec_id)], boot[BOOT_LEN];
		uint32_t audit = 0;
		int named = 1; /* its names are known (read again, for one in sessions/) */

		if (ar != NULL) {
			if (strcmp(ar->sid, sid) != 0 ||
			    up_rec_owner_is(login, ar->user, ar->host, ar->audit, ar->boot))
				continue;
			snprintf(rec_id, sizeof(rec_id), "%s", ar->rec_id);
		} else {
			if (item_header(c, qs, it, &dfd) != 1 || it->header_bad ||
			    strcmp(it->header_pam_sid, sid) != 0 || item_owned(it, login))
				continue;
			/* the item keeps a digest of its owner: the names are read again, for
			 * the few that do not match; one gone meanwhile was read and shipped (the
			 * join record names it, below) */
			snprintf(rec_id, sizeof(rec_id), "%s", it->header_rec_id);
			named =
			    (dfd >= 0 ||
			     (dfd = open(qs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) &&
			    header_ids(c, dfd, it->name, psid, sizeof(psid), other, sizeof(other),
			               user, host, &audit, boot, NULL) == TG_OK &&
			    strcmp(psid, sid) == 0 && strcmp(other, rec_id) == 0;
		}
		if (*rec_id == '\0' || strstr(others, rec_id) != NULL)
			continue;
		if (!loaded) {
			loaded = 1;
			if (up_session_state_path(c, sid, path, sizeof(path)) == TG_OK)
				rec = json_load_file(path, 0, NULL);
		}
		if (!named && up_session_state_path(c, sid, path, sizeof(path)) == TG_OK) {
			/* gone from sessions/ since the join record was read: shipped, and
			 * joined it before its file went; read again, so that it is named */
			json_decref(rec);
			rec = json_load_file(path, 0, NULL);
		}
		if ((rec != NULL && join_has(rec, rec_id, others, len)) || !named)
			continue;
		wanted++;
		if (ar != NULL)
			others_add(others, len, rec_id, REC_SPOOL_ACTIVE "/", ar->name, ar->user,
			           ar->host, ar->audit, ar->boot);
		else
			others_add(others, len, rec_id, "sessions/", it->name, user, host, audit,
			           boot);
	}
	if (wanted > 0 && *others == '\0')
		snprintf(others, len, "(too long to name)");
	if (dfd >= 0)
		close(dfd);
	json_decref(rec);
}

/*
 * When the login of marker dirfd/name counts from, for one whose time is ahead of the wall
 * clock (wall): the clock was set back since (an NTP step on a host whose clock ran ahead), and
 * the check would wait until it caught up, the alert of a session that escaped the recorder
 * with it. The marker's time instead (when it was written, or first found ahead: set to now),
 * so that the check comes recording_grace after that at the latest.
 */
static uint64_t marker_time(int dirfd, const char *name, uint64_t wall)
{
	struct stat st;
	uint64_t t;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return wall;
	t = (uint64_t)st.st_mtim.tv_sec * 1000000u + (uint64_t)st.st_mtim.tv_nsec / 1000u;
	if (t <= wall)
		return t;
	if (utimensat(dirfd, name, NULL, AT_SYMLINK_NOFOLLOW) != 0)
		tg_warn("cannot set the time of login marker %s: %s", name, strerror(errno));
	return wall;
}

/*
 * Whether the join record of session sid lists a recording of the user and host of its login
 * event login: 1 (or it exists and cannot be read now: taken for one, as before), 0 (none, or it
 * notes only channels the recorder refused, whose ids go into refused), -1 when there is no join
 * record. The recordings it lists of another user or host go into others (olen bytes).
 */
static int join_record_state(struct up_ctx *c, const char *sid, const json_t *login, char *refused,
                             size_t len, char *others, size_t olen)
{
	char path[PATH_MAX];
	json_t *rec, *owned;
	int listed;

	*others = '\0';
	if (up_session_state_path(c, sid, path, sizeof(path)) != TG_OK || access(path, F_OK) != 0)
		return -1;
	if ((rec = json_load_file(path, 0, NULL)) == NULL)
		return 1;
	owned = up_join_owned(rec, login, others, olen);
	json_decref(rec);
	if (owned == NULL)
		return 1; /* no memory: as a record that cannot be read */
	listed = up_join_lists_recording(owned);
	if (!listed)
		up_join_refused_note(owned, refused, len);
	json_decref(owned);
	return listed;
}

/* A recording that names session sid of the login (or logout) event ev is of another user or
 * host, or of another login's audit session (others names them): it is no recording of that
 * login, and a user who set TOLLGATE_SESSION_ID for a recorder of their own would have hidden
 * that login's missing one. */
static int mismatch_alert(struct up_ctx *c, const json_t *ev, const char *sid, const char *others,
                          int keep)
{
	return (keep ? up_alert : up_alert_now)(
	    c, "recording_mismatch", 1,
	    "session %s of %s on %s (audit session %lld, boot %s) is named by a recording of "
	    "another user, host or login, which does not count as its recording: %s",
	    sid, json_string_value(json_object_get(ev, "user")) ?: "?",
	    json_string_value(json_object_get(ev, "host")) ?: "?",
	    (long long)json_integer_value(json_object_get(ev, "audit_session")),
	    json_string_value(json_object_get(ev, "boot_id")) ?: "none", others);
}

/* Look at the logins waiting for their recording; *wake_us lowered to when one is due. */
void up_open_logins_check(struct up_ctx *c, uint64_t *wake_us)
{
	uint64_t grace = login_wait_us(c), wall = tg_now_us(), now = up_now_us(), next = UINT64_MAX;
	char dir[PATH_MAX], path[PATH_MAX + 80];
	struct active_ids active = ACTIVE_IDS_VOID;
	struct dirent *de;
	int listed = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/" UP_OPEN_DIR, c->state_dir);
	c->open_alerts_unwritten = 0; /* as of this look */
	if ((d = opendir(dir)) == NULL) {
		c->open_check_us = now + 60000000u;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *sid, *user, *addr;
		char name[80], refused[512], others[768];
		uint64_t at, due;
		json_t *ev = NULL;
		int r, queued, raised = TG_OK, raised_none = 1, noted = 0;

		if (tg_spool_is_hidden(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((r = tg_event_read(path, &ev)) == TG_ERR_NOT_FOUND)
			goto next;
		if (read_failed_for_now(r)) {
			/* the marker is the only trace of that login: kept, and read again */
			tg_error_r(r, "cannot read login marker %s now", path);
			if (OPEN_RETRY_US < next)
				next = OPEN_RETRY_US;
			goto next;
		}
		if (r != TG_OK || !open_marker_name(c, ev, name, sizeof(name)) ||
		    strcmp(name, de->d_name) != 0) {
			tg_warn("login marker %s is not one this uploader wrote: removed", path);
			unlink(path);
			goto next;
		}
		sid = json_string_value(json_object_get(ev, "session_id"));
		user = json_string_value(json_object_get(ev, "user"));
		addr = json_string_value(json_object_get(ev, "client_addr"));
		at = (uint64_t)json_integer_value(json_object_get(ev, "time_us"));
		if (at > wall)
			at = marker_time(dirfd(d), de->d_name, wall);
		due = at + grace;
		if (wall < due) {
			if (due - wall < next)
				next = due - wall;
			goto next;
		}
		refused[0] = '\0';
		if (join_record_state(c, sid, ev, refused, sizeof(refused), others,
		                      sizeof(others)) > 0)
			; /* read already */
		else if ((noted = json_is_true(json_object_get(ev, OPEN_NO_RECORDING_RAISED))))
			raised_none = 0; /* raised before the marker was kept for the next alert */
		else if (recording_in_progress(c, &active, sid, ev))
			;
		else if ((queued = recording_queued_for(c, sid, ev, &listed)) == QUEUED_OURS)
			; /* in sessions/, read in its turn */
		else if (queued == QUEUED_MAYBE) {
			/* a recording not read yet may be this one: nothing waits on this check,
			 * so it waits for that first reading */
			if (1000000u < next)
				next = 1000000u;
			goto next;
		} else {
			/* the marker is this login's only trace: it goes once the alert is on
			 * disk, not while the alert is in this process's memory only (a full
			 * spool), where a kill or a --once pass's end would lose it */
			raised = up_alert_now(
			    c, "no_recording", 1,
			    "login of %s from %s (session %s) has no recording %llu s after it: "
			    "a session that escaped the recorder, or one with no shell "
			    "(ssh -N)%s%s%s",
			    user ?: "?", addr ?: "?", sid, (unsigned long long)(grace / 1000000u),
			    *refused ? "; the recorder refused channel " : "", refused,
			    *refused ? " (on_failure = deny), which accounts for itself only" : "");
			raised_none = 0;
		}
		if (raised == TG_OK) {
			unshipped_mismatches(c, &active, sid, ev, &listed, others, sizeof(others));
			if (*others != '\0') {
				raised = mismatch_alert(c, ev, sid, others, 0);
				/* kept for this one: the no_recording written before it is not
				 * raised again (if this note cannot be written, it is: twice is
				 * better than never) */
				if (raised != TG_OK && !raised_none && !noted)
					note_no_recording_raised(dir, de->d_name, ev);
			}
		}
		if (raised != TG_OK) {
			tg_warn(
			    "login marker %s kept: its alert could not be written; raised again "
			    "in %llu s",
			    path, (unsigned long long)(OPEN_ALERT_RETRY_US / 1000000u));
			if (OPEN_ALERT_RETRY_US < next)
				next = OPEN_ALERT_RETRY_US;
			c->open_alerts_unwritten++;
			goto next;
		}
		if ((r = tg_spool_remove(dir, de->d_name)) != TG_OK && r != TG_ERR_NOT_FOUND)
			tg_error_r(r, "cannot remove login marker %s", de->d_name);
	next:
		json_decref(ev);
	}
	closedir(d);
	free(active.id);
	if (next < 1000000u)
		next = 1000000u; /* a look a second at most: logins come in bursts */
	c->open_check_us = next == UINT64_MAX ? UINT64_MAX : now + next;
	if (c->open_check_us < *wake_us)
		*wake_us = c->open_check_us;
}

/* How long one call of the fan-out goes on: a backlog of many thousands (three durable
 * writes each) goes in slices, between which the loop takes signals and does its other work. */
#define FANOUT_SLICE_US 100000u

int up_events_fanout(struct up_ctx *c, uint64_t *wake_us)
{
	struct up_queue_state *qs = &c->q[UP_Q_EVENTS];
	uint64_t now = up_now_us();
	int moved = 0;
	size_t i = 0;

	while (i < qs->n) {
		char name[UP_NAME_MAX], path[PATH_MAX], ended[80] = "";
		struct tg_buf text = TG_BUF_VOID;
		json_t *ev = NULL;
		int r, burst, notify = 1, own_alert = 0;

		if (moved > 0 && up_now_us() - now >= FANOUT_SLICE_US) {
			*wake_us = now; /* the rest at once, after the loop's other work */
			break;
		}
		if (qs->items[i].next_try_us > now) {
			if (qs->items[i].next_try_us < *wake_us)
				*wake_us = qs->items[i].next_try_us;
			i++;
			continue;
		}
		snprintf(name, sizeof(name), "%s", qs->items[i].name);
		snprintf(path, sizeof(path), "%s/%s", qs->dir, name);
		tg_buf_init(&text, TG_EVENT_MAX_BYTES + 1);
		r = tg_read_file(path, TG_EVENT_MAX_BYTES, &text);
		if (r == TG_ERR_NOT_FOUND) {
			up_queue_drop(qs, name);
			tg_buf_free(&text);
			continue;
		}
		if (r != TG_OK) {
			/* too large, or unreadable (owner, mode): keep it for a person, say so once,
			 * and let the events behind it go on */
			tg_buf_free(&text);
			if (!qs->items[i].stuck_alerted) {
				qs->items[i].stuck_alerted = 1;
				up_alert(c, "bad_event", 1, "event %s cannot be read (%s%s%s): left in the spool",
				         name, tg_strerror(r), r == TG_ERR_SYSTEM ? ": " : "",
				         r == TG_ERR_SYSTEM ? strerror(errno) : "");
			}
			i++;
			continue;
		}
		if (tg_event_parse((const char *)text.data, text.len, &ev) != TG_OK) {
			/* S3 still gets the bytes: an event is never dropped */
			notify = 0;
			tg_warn("event %s is not a JSON object with a string \"type\": sent to S3 only",
			        name);
		} else {
			if (json_is_false(json_object_get(ev, "notify")))
				notify = 0;
			/* only the uploader writes alerts */
			own_alert = strcmp(json_string_value(json_object_get(ev, "type")) ?: "",
			                   "alert") == 0;
			open_login_note(c, ev, &text, i > 0, ended, sizeof(ended));
		}
		r = TG_OK;
		/* copied on an earlier try whose removal failed: the outboxes have it (and may
		 * have sent it already), so only the removal is tried again */
		if (!qs->items[i].handed_on) {
			r = tg_spool_write(c->q[UP_Q_S3].dir, name, text.data, text.len, 0640);
			/* a burst of one alert kind: counted into one Slack summary (the S3 copy
			 * is the evidence, written first) */
			if (r == TG_OK && notify &&
			    (burst = up_alert_burst_take(c, ev, name)) != 0) {
				if (burst > 0)
					notify = 0;
				else
					r = burst;
			}
			if (r == TG_OK && notify)
				r = tg_spool_write(c->q[UP_Q_NOTIFY].dir, name, text.data, text.len,
				                   0640);
			if (r == TG_OK)
				qs->items[i].handed_on = 1;
		}
		if (r == TG_OK)
			r = tg_spool_remove(qs->dir, name);
		json_decref(ev);
		tg_buf_free(&text);
		if (r != TG_OK) {
			/* a full or failing disk: try again later, not at once (each try wakes the
			 * watch), and let the events behind it go on */
			struct up_item *it = &qs->items[i];

			tg_error_r(r, "move event %s into the outboxes", name);
			if (up_retry_later(c, it, now) < *wake_us)
				*wake_us = it->next_try_us;
			/* tried: waiting no more for it (--once ends); alerted, but not for an
			 * alert of ours: its event_stuck would be an event stuck in turn, and
			 * raise the next, without end while the outbox refuses */
			if (!it->stuck_alerted) {
				it->stuck_alerted = 1;
				if (!own_alert)
					up_alert(c, "event_stuck", 1,
					         "event %s cannot be moved into the outboxes (%s): "
					         "retrying",
					         name, tg_strerror(r));
			}
			i++;
			continue;
		}
		up_queue_drop(qs, name);
		if (*ended != '\0')
			live_ended_forget(c, ended);
		moved++;
	}
	return moved;
}

void up_event_ship(struct up_ctx *c, struct tg_s3 **s3p, const char *name, struct up_result *res)
{
	struct tg_buf text = TG_BUF_VOID;
	char path[PATH_MAX], key[1100], err[256];
	struct tg_s3_put_opts opts = {0};
	struct tg_s3_result sr;
	struct tg_s3 *s3 = NULL;
	const char *host = c->host;
	uint64_t when = 0;
	json_t *ev = NULL;
	int r;

	memset(&sr, 0, sizeof(sr));
	snprintf(path, sizeof(path), "%s/%s", c->q[UP_Q_S3].dir, name);
	tg_buf_init(&text, TG_EVENT_MAX_BYTES + 1);
	if ((r = tg_read_file(path, TG_EVENT_MAX_BYTES, &text)) != TG_OK) {
		/* gone: someone else removed it; S3 never had it, so it is not "sent" */
		res->rc = r;
		res->vanished = r == TG_ERR_NOT_FOUND;
		res->local = r != TG_ERR_NOT_FOUND; /* the spool's file, not S3 */
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message), "read %s: %s", path, tg_strerror(r));
		goto out;
	}
	if ((ev = json_loadb((const char *)text.data, text.len, 0, NULL)) != NULL) {
		if (json_is_string(json_object_get(ev, "host")) &&
		    *json_string_value(json_object_get(ev, "host")))
			host = json_string_value(json_object_get(ev, "host"));
		when = (uint64_t)json_integer_value(json_object_get(ev, "time_us"));
	}
	if (when == 0)
		when = up_event_name_us(name);
	if ((r = up_key_event(c->cfg, host, when, name, key, sizeof(key))) != TG_OK) {
		res->rc = r;
		snprintf(res->message, sizeof(res->message), "%s: bad [s3] prefix", name);
		goto out;
	}
	if (*s3p == NULL && (r = tg_s3_new(s3p, c->cfg, err, sizeof(err))) != TG_OK) {
		res->rc = TG_ERR_CONFIG;
		snprintf(res->message, sizeof(res->message), "S3 client: %s", err);
		goto out;
	}
	s3 = *s3p;
	opts.content_type = "application/json";
	if ((r = tg_s3_put_buffer(s3, key, text.data, text.len, &opts, &sr)) != TG_OK) {
		up_result_from_s3(res, r, &sr, key);
		goto out;
	}
	/* as for recordings: a removal lost in a crash only repeats the same PUT */
	up_job_removing();
	if (unlink(path) != 0 && errno != ENOENT) {
		res->rc = r = TG_ERR_SYSTEM;
		res->retryable = 1;
		snprintf(res->message, sizeof(res->message), "remove %s: %s", name,
		         strerror(errno));
		goto out;
	}
	res->rc = TG_OK;
	res->bytes = text.len;
	snprintf(res->message, sizeof(res->message), "s3://%s/%s", c->bucket, key);
out:
	json_decref(ev);
	tg_buf_free(&text);
}

/* The recordings joined to the logout ev of session_id: state/sessions/<session_id>.json with
 * only those of its user and host (the others named in others, len bytes), or NULL. */
static json_t *find_recording(struct up_ctx *c, const char *session_id, const json_t *ev,
                              char *others, size_t len)
{
	char path[PATH_MAX];
	json_t *rec, *owned;

	*others = '\0';
	if (up_session_state_path(c, session_id, path, sizeof(path)) != TG_OK)
		return NULL;
	rec = json_load_file(path, 0, NULL);
	owned = up_join_owned(rec, ev, others, len);
	json_decref(rec);
	return owned;
}

/*
 * The no_recording alert of the logout whose message is name was raised: noted in
 * state/alerted/ once raised (not before: a crash in between raises it again, never loses it),
 * read back by a daemon started since, and removed with the message. A failure to note it costs
 * a second alert after a restart, no more.
 */
static int logout_alerted_before(const struct up_ctx *c, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" UP_ALERTED_DIR "/%s", c->state_dir, name);
	return access(path, F_OK) == 0;
}

static void logout_alerted_note(const struct up_ctx *c, const char *name)
{
	char dir[PATH_MAX];
	int r;

	snprintf(dir, sizeof(dir), "%s/" UP_ALERTED_DIR, c->state_dir);
	if ((r = tg_spool_write(dir, name, "", 0, 0640)) != TG_OK)
		tg_error_r(r, "cannot note that logout %s was alerted on", name);
}

static void logout_alerted_forget(const struct up_ctx *c, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" UP_ALERTED_DIR "/%s", c->state_dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		tg_warn("cannot remove %s: %s", path, strerror(errno));
}

/* After recording_grace, how long a logout still waits for recordings not read yet, at least */
#define UP_UNREAD_WAIT_MIN_US (10 * 1000000ULL)

/*
 * A recording of PAM session sid, of the user and host of its logout event login, is in
 * sessions/, on its first reading or not read yet (with
 * any: in any state, such as waiting to be tried again), and not in the session's join record
 * rec (NULL: none): a channel of a multiplexed connection that ended with the others, whose
 * recording the logout must name too. Each header is read once (kept in its item).
 */
static int recording_queued_of(struct up_ctx *c, const char *sid, const json_t *login,
                               const json_t *rec, int any)
{
	struct up_queue_state *qs = &c->q[UP_Q_SESSIONS];
	json_t *list = NULL, *e;
	int dfd = -1, found = 0;
	size_t i, k;

	for (i = 0; i < qs->n && !found; i++) {
		struct up_item *it = &qs->items[i];

		if (!any && !(it->attempts == 0 || (it->busy && it->attempts == 1)))
			continue;
		if (item_header(c, qs, it, &dfd) < 0)
			break;
		if (strcmp(it->header_pam_sid, sid) != 0 || !item_owned(it, login))
			continue;
		if (list == NULL && (list = up_join_recordings(rec)) == NULL)
			list = json_array();
		found = 1;
		json_array_foreach(list, k, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "session_id")) ?: "",
			           it->header_rec_id) == 0)
				found = 0; /* read already: a large one that is still going up */
		}
		/* read already too, and counted past the listed ones */
		json_array_foreach(json_object_get(rec, "more_ids"), k, e)
		{
			if (strcmp(json_string_value(e) ?: "", it->header_rec_id) == 0)
				found = 0;
		}
	}
	if (dfd >= 0)
		close(dfd);
	json_decref(list);
	return found;
}

/* A wait of wait us that started at *from_us (0: not yet, so now) is not over at now. */
static int wait_left(uint64_t *from_us, uint64_t now, uint64_t wait)
{
	if (*from_us == 0)
		*from_us = now;
	return now < *from_us + wait;
}

/*
 * The logout at the head may still wait for recordings on their first reading: unread_wait at
 * most, counted from its first such wait (now, up_now_us()), not from the logout's time. After
 * an outage the logouts of the backlog are hours old, and their recordings are read only now.
 */
static int unread_wait_left(struct up_item *head, uint64_t now, uint64_t unread_wait)
{
	return wait_left(&head->unread_wait_from_us, now, unread_wait);
}

/*
 * Whether the logout at the head still waits for a dead recorder's file to be handed over
 * (moved to sessions/ by recovery): as long as it would wait for a first reading, and no
 * longer, so that a recovery that keeps failing does not hold every message behind it.
 */
static int handed_wait_left(struct up_item *head, uint64_t now, uint64_t unread_wait)
{
	return wait_left(&head->handed_wait_from_us, now, unread_wait);
}

/*
 * How long the logout at the head still waits for its recording: recording_grace from the
 * logout's time (at, wall), but from when the uploader first looked at it (now, up_now_us())
 * at the latest. A logout written before the wall clock was set back has a time ahead of it,
 * and would hold the Slack queue for as long as the clock had been ahead.
 */
static uint64_t grace_left(struct up_item *head, uint64_t at, uint64_t wall, uint64_t now,
                           uint64_t grace)
{
	uint64_t left = at + grace > wall ? at + grace - wall : 0;

	if (head->grace_from_us == 0)
		head->grace_from_us = now;
	if (head->grace_from_us + grace <= now)
		return 0;
	return left < head->grace_from_us + grace - now ? left : head->grace_from_us + grace - now;
}

static void slack_failed(struct up_ctx *c, const struct slack_result *sr)
{
	struct up_dest *d = &c->slack_dest;
	char cls[96];

	snprintf(d->last_error, sizeof(d->last_error), "%s", sr->message);
	d->last_error_us = tg_now_us();
	if (sr->http_status == 429)
		return; /* Slack said when: slack_next_allowed_us() waits for it */
	if (!sr->retryable) {
		/* a person must fix the webhook: keep every message, try again only after
		 * backoff_max */
		d->paused_until_us =
		    up_now_us() + tg_config_uint(c->cfg, TG_CONF_UPLOADER_BACKOFF_MAX) * 1000000u;
		snprintf(cls, sizeof(cls), "http-%ld", sr->http_status);
		if (strcmp(cls, d->alerted) != 0) {
			snprintf(d->alerted, sizeof(d->alerted), "%s", cls);
			up_alert(c, "slack_error", 0,
			         "the Slack webhook refused a message: %s; messages are kept and "
			         "retried every %llu s",
			         sr->message, tg_config_uint(c->cfg, TG_CONF_UPLOADER_BACKOFF_MAX));
		}
	}
}

/* When to look at a Slack post under way again: soon for a quick answer, at
 * most every 50 ms for one that takes its time (the loop sleeps meanwhile). */
static uint64_t poll_at(const struct up_ctx *c, uint64_t now)
{
	uint64_t d = now > c->notify_started_us ? (now - c->notify_started_us) / 4 : 0;

	return now + (d < 1000u ? 1000u : d > 50000u ? 50000u : d);
}

/*
 * Post text for the outbox/notify item name: with --once at once, else
 * started here and finished by slack_post_poll() in the next steps, so that
 * a slow or silent webhook (up to its 30 s timeout) holds back neither the
 * fan-out nor the S3 jobs. 1: *r and *sr hold the answer; 0: under way.
 */
static int post(struct up_ctx *c, const char *name, const char *text, struct slack_result *sr,
                int *r)
{
	if (c->once) {
		/* nothing else goes on meanwhile: a webhook that does not answer holds the pass
		 * no longer than it holds a stop, and the message stays queued */
		if ((*r = slack_post(c->slack, text, SLACK_WAIT_MAX_US, sr)) == TG_ERR_INTERRUPTED)
			tg_warn("Slack has not answered the post of %s in %u s: it is left in the "
			        "Slack queue and posted again at the next run (it may show twice)",
			        name, SLACK_WAIT_MAX_US / 1000000u);
		return 1;
	}
	if ((*r = slack_post_start(c->slack, text)) != TG_OK) {
		memset(sr, 0, sizeof(*sr));
		snprintf(sr->message, sizeof(sr->message), "webhook: %s", tg_strerror(*r));
		sr->retryable = 1;
		return 1;
	}
	snprintf(c->notify_inflight, sizeof(c->notify_inflight), "%s", name);
	c->notify_started_us = up_now_us();
	return 0;
}

/* The rename of from (a path) to dir/name took place: from is gone and dir/name is there. */
static int moved_away(const char *from, const char *dir, const char *name)
{
	char to[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(to, sizeof(to), "%s/%s", dir, name) >= sizeof(to))
		return 0;
	return lstat(from, &st) != 0 && errno == ENOENT && lstat(to, &st) == 0;
}

/* Move the queue's head (name, at path) into a folder of state/ (slack-held,
 * slack-rejected) and drop it from the queue; forget: its logout's alerted/ note
 * goes with it. When the move fails it stays at the head, tried again later (not at
 * once, and not alerted again). Returns 1 when it went. */
static int set_aside(struct up_ctx *c, struct up_queue_state *qs, struct up_item *head,
                     const char *name, const char *path, const char *dir, int forget, uint64_t now,
                     uint64_t *wake_us)
{
	int r;

	if ((r = tg_mkdir_p(dir, 0750)) == TG_OK &&
	    (r = tg_spool_move(qs->dir, name, dir, name)) != TG_OK && moved_away(path, dir, name)) {
		/* renamed, only the folder's sync after it failed: the file is in dir, and its
		 * going from here is our own doing, not someone else's removal */
		tg_error_r(r, "sync after moving %s into %s", name, dir);
		r = TG_OK;
	}
	if (r != TG_OK) {
		tg_warn("notify: cannot move %s into %s; will try again", name, dir);
		*wake_us = up_retry_later(c, head, now);
		return 0;
	}
	if (forget && head->no_recording_alerted)
		logout_alerted_forget(c, name);
	up_queue_drop(qs, name);
	return 1;
}

int up_notify_step(struct up_ctx *c, uint64_t *wake_us)
{
	struct up_queue_state *qs = &c->q[UP_Q_NOTIFY];
	struct slack_result sr;
	char name[UP_NAME_MAX], path[PATH_MAX];
	json_t *ev = NULL, *rec = NULL, *payload = NULL, *plain = NULL, *noted = NULL;
	char *text = NULL, refused[512] = "", others[768] = "";
	struct active_ids active = ACTIVE_IDS_VOID; /* active/, listed once a look */
	uint64_t now = up_now_us();
	struct up_item *head;
	int r, pr = TG_OK, progress = 0, answered = 0; /* pr: Slack's answer */

	memset(&sr, 0, sizeof(sr));
	if (c->slack != NULL && slack_post_busy(c->slack)) {
		pr = slack_post_poll(c->slack, &sr, &answered);
		if (!answered) {
			*wake_us = poll_at(c, now);
			return 0;
		}
		/* the answer is for the item the post was started for, whatever the head is now */
		if ((head = up_queue_find(qs, c->notify_inflight)) == NULL) {
			/* its file was removed meanwhile (the watch left the count to us) */
			c->notify_plain = 0;
			if (pr == TG_OK) {
				c->slack_dest.sent++;
				c->slack_dest.last_ok_us = tg_now_us();
			} else {
				c->slack_dest.lost++;
				tg_warn(
				    "%s/%s was removed by someone else while it was posted, and "
				    "Slack did not take it: not sent, counted as lost",
				    qs->dir, c->notify_inflight);
			}
			return 1;
		}
		snprintf(name, sizeof(name), "%s", c->notify_inflight);
	} else {
		if (qs->n == 0)
			return 0;
		head = &qs->items[0];
		snprintf(name, sizeof(name), "%s", head->name);
		if (head->next_try_us > now) {
			*wake_us = head->next_try_us;
			return 0;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", qs->dir, name);
	if (head->handed_on)
		goto done; /* not posted again: only the removal is tried again */
	if ((r = tg_event_read(path, &ev)) != TG_OK) {
		if (answered && pr == TG_OK)
			goto sent; /* Slack has it already */
		if (r == TG_ERR_NOT_FOUND) {
			up_queue_lost(c, UP_Q_NOTIFY, name);
			goto done;
		}
		if (r != TG_ERR_PARSE && r != TG_ERR_LIMIT &&
		    ++head->read_failures < NOTIFY_READ_TRIES) {
			/* a passing failure (EIO, EMFILE, memory): the message is not given up at
			 * once, nor held forever at the head of the queue; posts that failed
			 * while Slack was down are no reason to give up sooner */
			tg_warn("notify: %s cannot be read now (%s): trying again", name,
			        tg_strerror(r));
			*wake_us = up_retry_later(c, head, now);
			goto out;
		}
		tg_warn("notify: %s cannot be read (%s): dropped from the Slack queue (S3 gets "
		        "its own copy)",
		        name, tg_strerror(r));
		goto done;
	}
	if (strcmp(json_string_value(json_object_get(ev, "type")), "logout") == 0) {
		const char *sid = json_string_value(json_object_get(ev, "session_id"));
		uint64_t at = (uint64_t)json_integer_value(json_object_get(ev, "time_us"));
		uint64_t wall = tg_now_us(); /* at is wall time */
		uint64_t grace =
		    tg_config_uint(c->cfg, TG_CONF_UPLOADER_RECORDING_GRACE) * 1000000u;
		uint64_t unread_wait =
		    grace > UP_UNREAD_WAIT_MIN_US ? grace : UP_UNREAD_WAIT_MIN_US;
		int live, handed_over = 0;

		if (!answered && !head->took_login_check) {
			login_check_take_over(c, ev);
			head->took_login_check = 1;
		}
		/* (an answer from Slack is past this point already) */
		if (sid != NULL && *sid != '\0')
			rec = find_recording(c, sid, ev, others, sizeof(others));
		if (rec != NULL && !answered && !up_join_lists_recording(rec)) {
			/* it notes only channels the recorder refused: each accounts for itself,
			 * not for another channel of the connection that has no recording */
			noted = rec;
			rec = NULL;
			up_join_refused_note(noted, refused, sizeof(refused));
		}
		if (sid != NULL && *sid != '\0' && rec == NULL && !answered) {
			/* the recorder seals at the session's end: give it (and us) time; a
			 * recording not read yet may be this one, but only for one more grace
			 * period (10 s at least), so that a long first upload does not hold
			 * every message behind this one */
			uint64_t left = grace_left(head, at, wall, now, grace);
			int listed = head->unread_wait_from_us != 0; /* once a logout */

			if (left > 0 || (recording_queued_for(c, sid, ev, &listed) &&
			                 unread_wait_left(head, now, unread_wait))) {
				*wake_us = left > 0 ? now + left : now + 1000000u;
				goto out;
			}
			live = recording_live(c, &active, sid, ev, &handed_over);
			if (handed_over && handed_wait_left(head, now, unread_wait)) {
				/* its recorder died: the recording is in sessions/ now, and the
				 * logout waits for its first reading (a wait of its own) */
				head->unread_wait_from_us = 0;
				*wake_us = now + 200000u;
				goto out;
			}
			/* sshd closed the PAM session and the recorder goes on (a command that
			 * outlived its connection): the message says so, and there is nothing to
			 * alert on, the recording comes when the command ends */
			if (live) {
				rec = json_pack("{s:b}", "being_written", 1);
			} else if (recording_queued_of(c, sid, ev, NULL, 1)) {
				/* its recording is in sessions/, not read yet: S3 is slow or down
				 * and it waits its turn (a backlog, one worker per file). The
				 * session was recorded: said, not alerted on */
				rec = json_pack("{s:b}", "in_spool", 1);
			} else {
				/* raised once: the message may wait below for Slack's rate limit,
				 * or Slack, across a restart */
				if (!head->no_recording_alerted && logout_alerted_before(c, name))
					head->no_recording_alerted = 1;
				if (!head->no_recording_alerted) {
					up_alert(
					    c, "no_recording", 1,
					    "login of %s from %s (session %s) ended with no "
					    "recording within %llu s of its logout%s%s%s",
					    json_string_value(json_object_get(ev, "user")) ?: "?",
					    json_string_value(json_object_get(ev, "client_addr"))
					        ?: "?",
					    sid,
					    tg_config_uint(c->cfg,
					                   TG_CONF_UPLOADER_RECORDING_GRACE),
					    *refused ? "; the recorder refused channel " : "",
					    refused,
					    *refused ? " (on_failure = deny), which accounts for "
					               "itself only"
					             : "");
					logout_alerted_note(c, name);
				}
				head->no_recording_alerted = 1;
			}
		} else if (rec != NULL && !answered && recording_queued_of(c, sid, ev, rec, 0) &&
		           unread_wait_left(head, now, unread_wait)) {
			/* another channel of the connection ended with it, and its recording is not
			 * read yet: the message names them all, so it waits for it (as long as a
			 * logout with none read waits for a first reading) */
			*wake_us = now + 200000u;
			goto out;
		} else if (rec != NULL && !answered &&
		           ((live = recording_live(c, &active, sid, ev, &handed_over)) ||
		            handed_over)) {
			if (handed_over && handed_wait_left(head, now, unread_wait)) {
				/* another channel's recorder died, its recording handed over
				 * now: named too, once read */
				head->unread_wait_from_us = 0;
				*wake_us = now + 200000u;
				goto out;
			}
			/* a channel of the same multiplexed connection recorded and read, and
			 * another one's command outlived the connection: said too, its hash
			 * comes with no logout of its own */
			if (live)
				json_object_set_new(rec, "being_written", json_true());
		}
		/* what this message names is settled: the recordings of another user, host or
		 * login, read by now or still being written or waiting in sessions/, are alerted
		 * on once (the message may wait below for Slack) */
		if (sid != NULL && *sid != '\0' && !answered && !head->mismatch_alerted) {
			int listed = 0;

			/* active/ as the checks above listed it, if they did */
			unshipped_mismatches(c, &active, sid, ev, &listed, others, sizeof(others));
			if (*others != '\0')
				mismatch_alert(c, ev, sid, others, 1);
			head->mismatch_alerted = 1;
		}
	}
	if (noted != NULL) {
		/* the message names the refused channels beside what was found */
		if (rec == NULL) {
			rec = noted;
			noted = NULL;
		} else if (json_is_true(json_object_get(noted, "refused"))) {
			/* noted as this login's sees it (up_join_owned): another user's refused
			 * channels left out, and with them "refused" when there were only those */
			json_t *ids = json_object_get(noted, "refused_ids");

			json_object_set_new(rec, "refused", json_true());
			if (ids != NULL)
				json_object_set(rec, "refused_ids", ids);
		}
	}
	if (c->slack == NULL && c->slack_unusable && slack_announces(ev)) {
		/* held for a start with webhook_url fixed (slack_error said so), out of the queue:
		 * the logouts behind it get their checks (no_recording) all the same */
		char dir[PATH_MAX];

		/* a no_recording raised for it stays noted (state/alerted/): queued again, it is
		 * not raised a second time */
		snprintf(dir, sizeof(dir), "%s/" UP_SLACK_HELD, c->state_dir);
		progress = set_aside(c, qs, head, name, path, dir, 0, now, wake_us);
		goto out;
	}
	if (c->slack == NULL || !slack_announces(ev))
		goto done; /* no Slack, or a type that is not announced */
	if ((payload = slack_message_for_event(ev, rec)) == NULL) {
		r = TG_ERR_NOMEM; /* out of memory: the message stays, for the next pass */
		*wake_us = now + 1000000u;
		goto out;
	}
	if (!answered) {
		if (c->slack_dest.paused_until_us > now) {
			*wake_us = c->slack_dest.paused_until_us;
			goto out;
		}
		if (slack_next_allowed_us(c->slack) > now) {
			*wake_us = slack_next_allowed_us(c->slack);
			goto out;
		}
		/* after Slack refused the blocks, the plain text says the same */
		if (head->text_only && (plain = slack_text_only(payload)) == NULL) {
			r = TG_ERR_NOMEM;
			*wake_us = now + 1000000u;
			goto out;
		}
		if ((text = json_dumps(plain != NULL ? plain : payload, JSON_COMPACT)) == NULL) {
			r = TG_ERR_NOMEM;
			goto out;
		}
		c->notify_plain = head->text_only;
		if (!post(c, name, text, &sr, &pr)) {
			*wake_us = poll_at(c, now);
			goto out;
		}
	}
	if (pr != TG_OK && sr.http_status == 400 && !c->notify_plain) {
		/* Slack did not like the blocks: the plain text next, as a post like any other
		 * (the rate limit, a Retry-After, a pause), not right behind the refused one */
		head->text_only = 1;
		c->notify_plain = 0;
		*wake_us = slack_next_allowed_us(c->slack);
		goto out;
	}
	{
		int was_plain = c->notify_plain;

		c->notify_plain = 0;
		if (pr != TG_OK && sr.http_status == 400 && was_plain) {
			char dir[PATH_MAX];

			/* a message Slack will never take: keep it for a person, go on with the
			 * next */
			snprintf(dir, sizeof(dir), "%s/slack-rejected", c->state_dir);
			if (!head->rejected_alerted)
				up_alert(c, "slack_rejected", 0,
				         "Slack refused event %s twice (%s): kept in %s", name,
				         sr.body, dir);
			head->rejected_alerted = 1;
			progress = set_aside(c, qs, head, name, path, dir, 1, now, wake_us);
			goto out;
		}
	}
	if (pr != TG_OK) {
		slack_failed(c, &sr);
		if (sr.retryable && sr.http_status != 429)
			up_retry_later(c, head, now);
		else if (!sr.retryable)
			head->attempts++; /* tried: --once is over with it (a pause as short as
			                   * backoff_max = 1 s would end within the pass) */
		*wake_us = now + 1000;
		goto out;
	}
sent:
	c->slack_dest.sent++;
	c->slack_dest.last_ok_us = tg_now_us();
	c->slack_dest.alerted[0] = '\0';
done:
	if ((r = tg_spool_remove(qs->dir, name)) != TG_OK) {
		/* a full or failing disk: try again later, and never post it again meanwhile */
		tg_error_r(r, "remove %s", path);
		head->handed_on = 1;
		*wake_us = up_retry_later(c, head, now);
		goto out;
	}
	if (head->no_recording_alerted)
		logout_alerted_forget(c, name);
	up_queue_drop(qs, name);
	progress = 1;
out:
	free(active.id);
	free(text);
	json_decref(plain);
	json_decref(payload);
	json_decref(rec);
	json_decref(noted);
	json_decref(ev);
	return progress;
}
