/*
 * Bursts of one alert kind: one Slack message per [uploader] alert_window, not one per alert.
 * MFA failures (mfa_failure_window) and the recorder's events are counted the same way
 * (own_kinds).
 *
 * Slack takes a message a second per webhook, and its queue is strictly in order: a thousand
 * recording_removed alerts (a cleanup script, an intruder) held every login behind them for
 * a quarter of an hour. Every alert still goes to syslog and to S3 as its own event; only
 * its Slack copy is decided here, in the fan-out. The first alert of a kind goes to Slack and
 * opens the kind's window, state/alerts/<kind>.json; the next ones of that kind within the
 * window are counted into that file instead (their count, when the first came, the first
 * few messages), and when the window ends the file becomes one summary alert event
 * ("N more <kind> alerts since ..."), which goes out like any event and opens the next window.
 *
 * Nothing is lost in a crash. A count is saved (temp file, fsync, rename, fsync the folder)
 * before its event leaves events/, with the event's name: the same event fanned out again
 * after a crash is not counted twice. A summary is written over the window file, then
 * renamed into events/: a crash leaves it in one place or the other, never in both.
 */
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_spool.h"

/* Messages of the counted alerts a summary quotes, and how much of each. */
#define BURST_EXAMPLES 3
#define BURST_EXAMPLE_CHARS 200
/* A window file is small (three cut messages and a few numbers): anything larger is not one. */
#define BURST_FILE_MAX (16 * 1024)

/*
 * Events of their own types, not alerts, counted the same way, each type its own kind (a
 * recording failure two: by its on_failure, see event_kind). Anyone
 * who reaches the code prompt makes an MFA failure per attempt (refused unread past the rate
 * limit, or for a name that is no account, too); any user may run the setuid recorder so that
 * it fails (ulimit -f 1) or says it is run by hand, as often as they like. Posted one by one,
 * each would hold every later login and logout behind it in Slack's queue.
 */
static const struct {
	const char *kind, *type;
	const char *one, *many; /* what a summary calls them */
} own_kinds[] = {
    {"mfa_failure", "mfa_failure", "MFA failure", "MFA failures"},
    {"recording_failure", "recording_failure", "recording failure (session refused)",
     "recording failures (sessions refused)"},
    /* a window of their own: never counted in with refusals of a user's own making */
    {"recording_failure_allow", "recording_failure",
     "recording failure (the session ran on UNRECORDED)",
     "recording failures (the sessions ran on UNRECORDED)"},
    {"recording_escape", "recording_escape", "recording escape attempt",
     "recording escape attempts"},
};

/* The index of kind in own_kinds, or -1 (an alert's kind). */
static int own_kind(const char *kind)
{
	size_t i;

	for (i = 0; kind != NULL && i < sizeof(own_kinds) / sizeof(own_kinds[0]); i++)
		if (strcmp(kind, own_kinds[i].kind) == 0)
			return (int)i;
	return -1;
}

/* The kind event ev of type is counted under: its type, a recording failure by its
 * on_failure; NULL for an alert's (its "alert"). */
static const char *event_kind(const char *type, const json_t *ev)
{
	if (strcmp(type, "recording_failure") == 0)
		return strcmp(json_string_value(json_object_get(ev, "on_failure")) ?: "", "deny") ==
		               0
		           ? "recording_failure"
		           : "recording_failure_allow";
	return own_kind(type) >= 0 ? type : NULL;
}

static uint64_t window_us(const struct up_ctx *c, const char *kind)
{
	return tg_config_uint(c->cfg, own_kind(kind) == 0 ? TG_CONF_UPLOADER_MFA_FAILURE_WINDOW
	                                                  : TG_CONF_UPLOADER_ALERT_WINDOW) *
	       1000000u;
}

/* An alert kind that can name a file: the uploader's own kinds are all [a-z0-9_]. */
static int kind_ok(const char *kind)
{
	size_t n;

	if (kind == NULL || *kind == '\0')
		return 0;
	n = strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return kind[n] == '\0' && n <= 64;
}

static void alerts_dir(const struct up_ctx *c, char *dir, size_t len)
{
	snprintf(dir, len, "%s/" UP_ALERTS_DIR, c->state_dir);
}

/*
 * state/alerts/<kind>.json into *st, or NULL there (none, or not a window file: it is
 * replaced). A file that is there but could not be read now (EIO, EMFILE: tg_err_transient())
 * is no missing one: its error, for the alert to be tried again later, not a fresh window
 * written over the count.
 */
static int window_load(const struct up_ctx *c, const char *kind, json_t **st)
{
	char path[PATH_MAX];
	struct tg_buf text = TG_BUF_VOID;
	int r;

	*st = NULL;
	snprintf(path, sizeof(path), "%s/" UP_ALERTS_DIR "/%s.json", c->state_dir, kind);
	tg_buf_init(&text, BURST_FILE_MAX + 1);
	if ((r = tg_read_file(path, BURST_FILE_MAX, &text)) == TG_OK) {
		*st = json_loadb((const char *)text.data, text.len, 0, NULL);
	} else if (r == TG_ERR_NOT_FOUND) {
		r = TG_OK;
	} else if (!tg_err_transient(r, errno)) {
		/* no window file (too long, not a regular file, a symlink): replaced */
		tg_error_r(r, "read %s", path);
		r = TG_OK;
	} else {
		tg_error_r(r, "read %s (tried again later)", path);
	}
	tg_buf_free(&text);
	if (*st != NULL && !json_is_object(*st)) {
		json_decref(*st);
		*st = NULL;
	}
	return r;
}

static int window_save(const struct up_ctx *c, const char *kind, const json_t *st)
{
	char dir[PATH_MAX], name[80];
	char *text;
	int r;

	alerts_dir(c, dir, sizeof(dir));
	snprintf(name, sizeof(name), "%s.json", kind);
	if ((text = json_dumps(st, JSON_COMPACT)) == NULL)
		return TG_ERR_NOMEM;
	if ((r = tg_spool_write(dir, name, text, strlen(text), 0640)) != TG_OK)
		tg_error_r(r, "save the alert window %s/%s", dir, name);
	free(text);
	return r;
}

static uint64_t uint_of(const json_t *st, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(st, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* A window file that became its summary event, and only waits to be moved into events/. */
static int is_summary(const json_t *st)
{
	return json_is_string(json_object_get(st, "type"));
}

/* The window is over at now (wall time); one that ends further ahead than a window can is
 * over too: the wall clock was set back, and must not hold the summary up. */
static int window_over(const struct up_ctx *c, const json_t *st, uint64_t now)
{
	uint64_t until = uint_of(st, "until_us");

	return until <= now ||
	       until > now + window_us(c, json_string_value(json_object_get(st, "alert")));
}

/*
 * Open kind's next window at now, with nothing counted. last: the event last counted into the
 * window before (or NULL), kept so that the same event fanned out again after a crash is not
 * counted into this one too.
 */
static int window_open(struct up_ctx *c, const char *kind, uint64_t now, const char *last)
{
	json_t *st = json_pack("{s:s, s:I}", "alert", kind, "until_us",
	                       (json_int_t)(now + window_us(c, kind)));
	uint64_t at = up_now_us() + window_us(c, kind);
	int r;

	if (st == NULL)
		return TG_ERR_NOMEM;
	if (last != NULL && json_object_set_new(st, "last", up_json_string(last)) != 0) {
		json_decref(st);
		return TG_ERR_NOMEM;
	}
	r = window_save(c, kind, st);
	json_decref(st);
	if (r == TG_OK && at < c->burst_check_us)
		c->burst_check_us = at;
	return r;
}

static void hms(uint64_t us, char *out, size_t len)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%H:%M:%S", &tm) == 0)
		snprintf(out, len, "?");
}

/* The summary event of a window with a count (as up_alert() writes alerts, plus "coalesced"). */
static json_t *summary_event(const struct up_ctx *c, const char *kind, const json_t *st,
                             uint64_t now)
{
	uint64_t n = uint_of(st, "count");
	int own = own_kind(kind);
	const char *key = json_string_value(json_object_get(st, "first_key"));
	json_t *ex = json_object_get(st, "examples"), *v, *ev = NULL;
	struct tg_buf msg = TG_BUF_VOID;
	char since[16], last[16], when[40];
	size_t i;

	hms(uint_of(st, "since_us"), since, sizeof(since));
	hms(uint_of(st, "last_us"), last, sizeof(last));
	tg_buf_init(&msg, 4096);
	/* "3 more recording_removed alerts ... its own alert event", "3 more MFA failures ... its
	 * own mfa_failure event" */
	if (tg_buf_printf(&msg,
	                  "%llu more %s%s since %s UTC (the last at %s UTC), counted here rather "
	                  "than posted one by one; each is its own %s event in S3 (the first: "
	                  "s3://%s/%s) and in syslog",
	                  (unsigned long long)n,
	                  own >= 0 ? (n == 1 ? own_kinds[own].one : own_kinds[own].many) : kind,
	                  own >= 0 ? "" : (n == 1 ? " alert" : " alerts"), since, last,
	                  own >= 0 ? own_kinds[own].type : "alert", c->bucket, key ?: "?") != TG_OK)
		goto out;
	json_array_foreach(ex, i, v)
	{
		if (tg_buf_printf(&msg, "%s %s", i == 0 ? ". The first:" : " |",
		                  json_string_value(v) ?: "") != TG_OK)
			goto out;
	}
	if (n > json_array_size(ex) && json_array_size(ex) > 0 &&
	    tg_buf_printf(&msg, " | ...") != TG_OK)
		goto out;
	if (tg_buf_append(&msg, "", 1) != TG_OK)
		goto out;
	tg_time_format(now, when, sizeof(when));
	ev = json_pack("{s:i, s:s, s:s, s:I, s:s, s:o, s:o, s:b, s:I, s:I}", "v", TG_EVENT_VERSION,
	               "type", "alert", "time", when, "time_us", (json_int_t)now, "alert", kind,
	               "message", up_json_string((const char *)msg.data), "host",
	               up_json_string(c->host), "notify", 1, "coalesced", (json_int_t)n, "since_us",
	               (json_int_t)uint_of(st, "since_us"));
out:
	tg_buf_free(&msg);
	return ev;
}

/*
 * Hand kind's window st (its count not zero, or a summary already) over as a summary event
 * into events/, and open the next window. The summary first replaces the window file, then
 * is renamed into events/: a crash between repeats only the rename.
 */
static int window_release(struct up_ctx *c, const char *kind, const json_t *st)
{
	char dir[PATH_MAX], from[80], to[TG_EVENT_NAME_MAX], last[UP_NAME_MAX] = "";
	uint64_t now = tg_now_us();
	json_t *ev = NULL;
	int r;

	alerts_dir(c, dir, sizeof(dir));
	snprintf(from, sizeof(from), "%s.json", kind);
	/* the window's last event: the next window must not count it again (a crash after it
	 * was counted, before it left events/, and the window ended before the restart) */
	snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(st, "last")) ?: "");
	if (!is_summary(st)) {
		if ((ev = summary_event(c, kind, st, now)) == NULL)
			return TG_ERR_NOMEM;
		if ((r = window_save(c, kind, ev)) != TG_OK)
			goto out;
		st = ev;
	}
	now = uint_of(st, "time_us");
	snprintf(to, sizeof(to), "%020llu-%016llx.json", (unsigned long long)now,
	         (unsigned long long)randombytes_random() << 32 | randombytes_random());
	if ((r = tg_spool_move(dir, from, c->q[UP_Q_EVENTS].dir, to)) != TG_OK) {
		tg_error_r(r, "move the %s alert summary into %s", kind, c->q[UP_Q_EVENTS].dir);
		goto out;
	}
	/* each counted alert was logged as it was raised: the summary says only how many */
	tg_warn("alert summary %s: %llu more %s alerts counted for Slack into event %s", kind,
	        (unsigned long long)uint_of(st, "coalesced"), kind, to);
	/* the summary is the window's message: the kind's next alerts are counted into the next */
	if (window_open(c, kind, tg_now_us(), last[0] != '\0' ? last : NULL) != TG_OK)
		tg_warn("the next %s alert goes to Slack on its own", kind);
out:
	json_decref(ev);
	return r;
}

int up_alert_burst_take(struct up_ctx *c, const json_t *ev, const char *name)
{
	const char *type = json_string_value(json_object_get(ev, "type")) ?: "";
	const char *kind = event_kind(type, ev) ?: json_string_value(json_object_get(ev, "alert"));
	int own = strcmp(type, "alert") == 0 ? -1 : own_kind(kind);
	const char *msg = json_string_value(json_object_get(ev, "message"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	uint64_t now = tg_now_us(),
	         at = (uint64_t)json_integer_value(json_object_get(ev, "time_us"));
	char key[1100], cut[BURST_EXAMPLE_CHARS + 8], what[BURST_EXAMPLE_CHARS + 8];
	json_t *st = NULL, *ex;
	int r = 0;

	/* MFA failures and the recorder's events too (own_kinds) */
	if (window_us(c, kind) == 0 || !kind_ok(kind) || (own < 0 && strcmp(type, "alert") != 0) ||
	    json_object_get(ev, "coalesced") != NULL)
		return 0; /* off, not an alert, or a summary itself */
	if (own >= 0) {
		/* the example a summary quotes: who, from where, why (the user's own words are
		 * cut, and Slack's copy escapes them) */
		snprintf(what, sizeof(what), "%.64s from %.64s (%.40s)",
		         json_string_value(json_object_get(ev, "user")) ?: "?",
		         json_string_value(json_object_get(ev, "client_addr")) ?: "?",
		         json_string_value(json_object_get(ev, "reason")) ?: "?");
		msg = what;
	}
	if (at == 0)
		at = up_event_name_us(name);
	if ((r = window_load(c, kind, &st)) != TG_OK)
		goto out;
	if (st != NULL && is_summary(st)) {
		/* a summary a crash left before its move: it goes first */
		if ((r = window_release(c, kind, st)) != TG_OK)
			goto out;
		json_decref(st);
		if ((r = window_load(c, kind, &st)) != TG_OK)
			goto out;
	}
	if (st != NULL && window_over(c, st, now)) {
		if (uint_of(st, "count") > 0) {
			if ((r = window_release(c, kind, st)) != TG_OK)
				goto out;
			json_decref(st);
			if ((r = window_load(c, kind, &st)) != TG_OK)
				goto out;
		} else {
			json_decref(st);
			st = NULL;
		}
	}
	if (st == NULL) {
		/* the first of its kind for a while: to Slack, and the window opens */
		if (window_open(c, kind, now, NULL) != TG_OK)
			tg_warn("alert %s: its window could not be opened; the next one goes to "
			        "Slack on its own too",
			        kind);
		r = 0;
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(st, "last")) ?: "", name) == 0) {
		r = 1; /* counted before a crash took the daemon before the event left events/ */
		goto out;
	}
	if (uint_of(st, "count") == 0) {
		if (up_key_event(c->cfg, host != NULL && *host != '\0' ? host : c->host, at, name,
		                 key, sizeof(key)) != TG_OK)
			snprintf(key, sizeof(key), "?/%s", name);
		if (json_object_set_new(st, "since_us", json_integer((json_int_t)at)) != 0 ||
		    json_object_set_new(st, "first_key", up_json_string(key)) != 0 ||
		    json_object_set_new(st, "examples", json_array()) != 0) {
			r = TG_ERR_NOMEM;
			goto out;
		}
	}
	ex = json_object_get(st, "examples");
	snprintf(cut, sizeof(cut), "%.*s%s", BURST_EXAMPLE_CHARS, msg ?: "",
	         msg != NULL && strlen(msg) > BURST_EXAMPLE_CHARS ? "..." : "");
	if (json_object_set_new(st, "count", json_integer((json_int_t)uint_of(st, "count") + 1)) !=
	        0 ||
	    json_object_set_new(st, "last_us", json_integer((json_int_t)at)) != 0 ||
	    json_object_set_new(st, "last", up_json_string(name)) != 0 ||
	    (json_array_size(ex) < BURST_EXAMPLES &&
	     json_array_append_new(ex, up_json_string(cut)) != 0)) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	if ((r = window_save(c, kind, st)) == TG_OK)
		r = 1;
out:
	json_decref(st);
	return r;
}

int up_alert_bursts_release(struct up_ctx *c, int all, uint64_t *wake_us)
{
	uint64_t now = tg_now_us(), next = UINT64_MAX;
	char dir[PATH_MAX];
	struct dirent *de;
	int released = 0;
	DIR *d;

	c->burst_check_us = UINT64_MAX;
	alerts_dir(c, dir, sizeof(dir));
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			tg_warn("cannot list %s: %s", dir, strerror(errno));
		c->burst_check_us = up_now_us() + 60000000u;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char kind[80];
		size_t n = strlen(de->d_name);
		json_t *st;

		if (tg_spool_is_hidden(de->d_name) || !tg_spool_has_suffix(de->d_name, ".json") ||
		    n - 5 >= sizeof(kind))
			continue;
		snprintf(kind, sizeof(kind), "%.*s", (int)(n - 5), de->d_name);
		if (!kind_ok(kind))
			continue;
		if (window_load(c, kind, &st) != TG_OK) {
			if (5000000u < next)
				next = 5000000u; /* unreadable for now: again later */
			continue;
		}
		if (st == NULL)
			continue;
		if (is_summary(st) ||
		    (uint_of(st, "count") > 0 && (all || window_over(c, st, now)))) {
			if (window_release(c, kind, st) == TG_OK)
				released++;
			else if (5000000u < next)
				next = 5000000u; /* a full or failing disk: again later */
		} else if (window_over(c, st, now)) {
			/* a window nothing was counted into: the next alert opens its own */
			tg_spool_remove(dir, de->d_name);
		} else if (uint_of(st, "until_us") - now < next) {
			next = uint_of(st, "until_us") - now;
		}
		json_decref(st);
	}
	closedir(d);
	if (next != UINT64_MAX && up_now_us() + next < c->burst_check_us)
		c->burst_check_us = up_now_us() + next;
out:
	if (c->burst_check_us < *wake_us)
		*wake_us = c->burst_check_us;
	return released;
}
