/*
 * tollgate-uploader's internals, shared by its small files.
 *
 * Spool layout (below [general] spool_dir):
 *   sessions/NAME.tgr     sealed recordings (names starting with '.' are in progress)
 *   events/NAME.json      events from the PAM module, the recorder and the uploader's own alerts
 *   outbox/s3/NAME.json   an event waiting for S3
 *   outbox/notify/NAME.json  an event waiting for Slack (and the login/recording join), in name
 * order state/                lock, status.json, multipart resume files, sessions/ (per-session
 * summaries) An event is copied into both outboxes before it leaves events/, and is gone from the
 * spool once both copies are: after S3 stored it AND Slack answered ok.
 */
#ifndef TG_UPLOADER_H
#define TG_UPLOADER_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tg_config.h"
#include "tg_rec.h"

#define UP_NAME_MAX 256
#define UP_ERR_MAX 320

/* One queue: a folder of files handled in name order. */
enum up_queue {
	UP_Q_SESSIONS = 0,
	UP_Q_EVENTS, /* fan-out only */
	UP_Q_S3,     /* outbox/s3 */
	UP_Q_NOTIFY, /* outbox/notify */
	UP_Q_COUNT,
};

/* The size of the digest of a queued recording's user and host (event_ship.c). */
#define UP_OWNER_DIGEST 16

/* A file waiting in a queue, with its retry state. */
struct up_item {
	char name[UP_NAME_MAX];
	uint64_t size;
	uint64_t first_seen_us; /* file mtime, or when first seen (wall time) */
	uint64_t next_try_us;   /* 0: now */
	unsigned attempts;
	unsigned read_failures; /* outbox/notify: reads that failed (not posts) */
	int busy;          /* a worker has it */
	int stuck_alerted; /* the 'upload stuck' alert was raised */
	int no_recording_alerted; /* the 'no recording' alert for this logout was raised */
	int took_login_check;     /* this logout removed its login's marker: its check took over */
	int mismatch_alerted;     /* this logout's 'recording_mismatch' check was made (and its
	                           * alert raised, if it found one) */
	uint64_t unread_wait_from_us; /* up_now_us() when this logout began to wait for
	                               * recordings on their first reading (0: not yet) */
	uint64_t handed_wait_from_us; /* up_now_us() when this logout began to wait for a dead
	                               * recorder's file to be handed over (0: not yet) */
	uint64_t grace_from_us;       /* up_now_us() when this logout was first looked at: its
	                               * recording_grace ends by then + grace, whatever its time says */
	int rejected_alerted;     /* the 'slack_rejected' alert for this message was raised */
	int text_only;            /* Slack refused its blocks (400): posted next as plain text */
	int handed_on;     /* its work is done (events/: copied into both outboxes; outbox/notify:
	                    * Slack has it) and only its removal failed: that alone is tried again */
	int present;       /* seen by the latest scan */
	int worker_died;   /* a worker that had it died after it said it removes it (S3 has it),
	                    * and the file was not seen since */
	unsigned crashes;  /* workers that died in a row while they worked on it */
	/* sessions/: what its header names, read once by the daemon when a logout asks
	 * (event_ship.c); "" when it cannot be read */
	int header_read;
	int header_bad;          /* it cannot be parsed (damaged): it names no session we know of */
	char header_pam_sid[65]; /* the PAM session (a join record's name: 64 at most) */
	char header_rec_id[33];  /* the recording's own id, as the join record lists it */
	unsigned char header_owner[UP_OWNER_DIGEST]; /* its user and host, as a digest */
	uint32_t header_audit; /* its audit session (0: none), to compare with a login's */
	char header_boot[TG_BOOT_ID_LEN + 1]; /* the boot of that audit session ("": none) */
};

/* An entry of sessions/ or events/ that is no regular file (a symbolic link, a FIFO, a socket,
 * a device, a folder): never shipped, followed or opened, and alerted on once while it stays. */
#define UP_STRAY_ALERTS_MAX 20 /* new strays alerted on one by one per scan; then a summary */
struct up_stray {
	char name[UP_NAME_MAX];
	int present; /* seen by the latest scan */
};

struct up_queue_state {
	char dir[PATH_MAX];
	struct up_item *items; /* sorted by name */
	size_t n, alloc;
	struct up_stray *strays; /* alerted on already; [0, nsorted) sorted at a scan's start */
	size_t nstrays, astrays, nsorted;
	size_t strays_unsaid;  /* new ones a scan alerted on in its summary only */
	size_t nsorted_alerts; /* new ones a scan alerted on one by one */
	int wd; /* its inotify watch; -1: none */
};

/* What the last attempt at a destination gave, for status and alerts. */
struct up_dest {
	char last_error[UP_ERR_MAX];
	uint64_t last_error_us;   /* wall time */
	uint64_t last_ok_us;      /* wall time */
	uint64_t sent;            /* items confirmed since start */
	uint64_t lost;            /* outbox items removed by someone else before they were sent */
	uint64_t paused_until_us; /* a non-retryable error pauses the whole destination */
	char alerted[96];         /* the error class last alerted on (no repeats) */
};

struct slack;
struct up_jobs;

struct up_ctx {
	struct tg_config *cfg;
	const char *config_path;
	char spool[PATH_MAX];
	char state_dir[PATH_MAX];
	char host[256];
	char bucket[256];
	unsigned char host_pk[32];
	int have_host_pk;
	struct up_queue_state q[UP_Q_COUNT];
	struct up_dest s3, slack_dest;
	/* the last file of the spool that could not be read for its upload (res->local): shown as
	 * what it is, not as S3's last error */
	char read_error[UP_ERR_MAX];
	uint64_t read_error_us; /* wall time */
	struct slack *slack; /* NULL: no webhook configured */
	char notify_inflight[UP_NAME_MAX]; /* the outbox/notify item of the post under way */
	int notify_plain;                  /* that post is the plain-text retry after a 400 */
	uint64_t notify_started_us;        /* when it started */
	struct up_jobs *jobs;
	int inotify_fd;
	int spool_wd; /* the watch on the spool itself (a queue's folder made again) */
	int once;
	int progress; /* draw a progress bar on stderr */
	uint64_t backlog_peak;
	uint64_t spool_bytes;
	int spool_alert_level; /* 0 below, 1 past the alert share, 2 at the cap */
	int spool_unreadable;  /* part of the spool could not be read at the last look (alerted) */
	int config_alerted;
	/* alert events the spool could not take (a full disk: when the alerts about it matter
	 * most), oldest first, at most UP_ALERTS_KEPT: written at each rescan until it takes
	 * them. Their callers count them as raised. */
	json_t *alerts_kept;
	int alerts_deferred; /* the spool is not locked yet: alerts are kept, not written */
	int in_worker;       /* an upload worker (a forked process) */
	/* login markers the last recording check kept because their alert could not be written
	 * (--once says 1 then) */
	unsigned open_alerts_unwritten;
	/* [slack] webhook_url is set but not usable: no Slack, and its messages are kept in
	 * outbox/slack (not dropped as with no URL) for a start with it fixed */
	int slack_unusable;
	/* the credentials file (mode, group, path) last alerted as readable by others; "": none
	 * (or it was fixed since) */
	char creds_alerted[PATH_MAX + 32];
	int scan_alerted; /* a queue's folder could not be listed, and it was alerted */
	uint64_t last_status_us;
	uint64_t status_backlog; /* the backlog status.json shows */
	uint64_t open_check_us;  /* up_now_us() of the next look at state/open/ (0: at once) */
	uint64_t burst_check_us; /* up_now_us() of the next look at state/alerts/ (0: at once) */
};

/* Logins waiting for their recording: state/open/<session id>.json (event_ship.c). */
#define UP_OPEN_DIR "open"
/* Logouts at the head of the Slack queue whose no_recording alert was raised:
 * state/alerted/<event name>, empty, removed with the message (event_ship.c), so that a
 * restart does not raise it again; one whose message is gone is pruned (prune_state). */
#define UP_ALERTED_DIR "alerted"
/* Logins not logged out yet: state/live/<session id>.json, from the login's fan-out to its
 * logout's; their join records are kept while they are there (event_ship.c, prune_state). */
#define UP_LIVE_DIR "live"
/* Beside them, state/live/<session id>.ended: a logout fanned out before its login (that one
 * tried again after a failure), so that the login does not take its session for open. */
#define UP_LIVE_ENDED ".ended"
/* A login with no logout for this long is taken for ended (its logout was lost: sshd killed,
 * the host down), its marker dropped and its join record with it. */
#define UP_LIVE_KEEP_DAYS 90
/* A join record is kept this long after it was last written (a recording read, or its
 * session's logout), while no event older than it waits, and while its login is open. */
#define UP_STATE_KEEP_DAYS 7

/* --- spool_scan.c --- */
/* Make the spool's folders we write to (the uploader's own ones only). */
int up_spool_prepare(struct up_ctx *c);
/* Make state/live/ when it is missing (the uploader before it did not keep it, or someone
 * removed it), under the lock: a marker for each join record, dated from its session's first
 * recording, since which of their logins are still open is not known. TG_OK when it is there;
 * an error leaves it missing, for the next try. */
int up_live_adopt(struct up_ctx *c);
/* Make again the folders under state/ that someone removed while the daemon ran: without
 * state/sessions, no recording of a PAM session could leave until a restart. */
void up_spool_remake_state(struct up_ctx *c);
/* Remove temp files a killed uploader left in its own folders (outboxes, state/); the lock is held.
 */
void up_spool_clean_tmp(struct up_ctx *c);
/* events/ has writers of its own (the PAM module in sshd, recorders, upload workers): a temp
 * file there is a leftover only once it has sat untouched for UP_STALE_TMP_S (a writer killed
 * between writing and renaming it); those are removed, at each periodic rescan. Without it
 * they stayed for ever, counted toward spool_max_bytes. */
#define UP_STALE_TMP_S 3600
void up_spool_clean_stale_tmp(struct up_ctx *c);
/* Watch sessions/ and events/ (and the outboxes) with inotify; fd in c->inotify_fd. */
int up_watch_start(struct up_ctx *c);
/* Apply inotify's events to the queues; 1 when events were lost and a full rescan is due. */
int up_watch_drain(struct up_ctx *c);
/* Re-list one queue's folder: new files are added, vanished ones dropped. In sessions/ and
 * events/, an entry that is no regular file raises spool_not_regular the first scan that finds
 * it (not followed, not opened, left where it is); one gone is forgotten. */
int up_queue_scan(struct up_ctx *c, enum up_queue q);
/* Find an item by name; NULL when absent. */
struct up_item *up_queue_find(struct up_queue_state *qs, const char *name);
/* Forget an item (it left the spool). */
void up_queue_drop(struct up_queue_state *qs, const char *name);
/* An outbox item (q UP_Q_S3 or UP_Q_NOTIFY) or a recording (UP_Q_SESSIONS) was removed by
 * someone else before it was sent: log it and count it lost for its destination, never sent;
 * a recording also raises recording_removed. Other queues: nothing. An item whose worker
 * died is counted sent instead (a worker removes only what S3 has), with a warning; one
 * handed on (done, and removed by us; only the removal's fsync failed) is not counted. */
void up_queue_lost(struct up_ctx *c, enum up_queue q, const char *name);
/* Total bytes under the spool (recordings, events, outboxes), in *bytes; as tg_spool_bytes()
 * when part of it cannot be read (where: the first such path). */
int up_spool_bytes(const struct up_ctx *c, uint64_t *bytes, char *where, size_t wherelen);
/* Move recordings whose recorder died (their lock gone) from active/ into sessions/, as each
 * recorder does at its start: run at every periodic rescan, so the last crashed session of a
 * host leaves it even if no one logs in again. */
void up_recover_orphans(struct up_ctx *c);
void up_queues_free(struct up_ctx *c);

/* --- retry policy (uploader_main.c) --- */
/* Exponential backoff with full jitter: a random wait in [0, min(cap, 2^attempts)) seconds. */
uint64_t up_backoff_us(unsigned attempts, unsigned cap_s);
/* One more failed try of it: its next try after a backoff ([uploader] backoff_max); returns when.
 */
uint64_t up_retry_later(const struct up_ctx *c, struct up_item *it, uint64_t now);
/* The clock of every wait (next_try_us, paused_until_us, ...): monotonic, so that a wall
 * clock set back does not hold them up. What is shown, or compared with a file's or an
 * event's time (first_seen_us, last_ok_us, ...), is wall time: tg_now_us(). */
uint64_t up_now_us(void);

/* --- jobs: uploads run in child processes, at most [uploader] workers at once --- */
/* A job's outcome, sent back over a pipe. */
struct up_result {
	int rc;        /* TG_OK, or a TG_ERR_* code */
	int retryable; /* 1: try again after a backoff; 0: needs a person */
	long http_status;
	char code[64];
	char message[UP_ERR_MAX];
	uint64_t bytes;
	int vanished; /* the file was gone when the job came to it: removed by someone else */
	int worker_died; /* the worker ended without a report on this file, after it said it
	                  * removes it (up_job_removing) */
	int removing;    /* (between a worker and the daemon) a notice, not a report */
	int stopped;     /* with worker_died: the worker was stopped with the daemon, no error */
	int crashed;     /* the worker died while it worked on this file */
	int not_started; /* the worker died before it came to this file: no try of it */
	int local;       /* the file could not be read (EIO, it shrank: LocalRead), nor opened:
	                  * not S3's error, and not shown as S3's */
};
struct tg_s3;
struct tg_s3_result;
/* Ship one file; *s3 is the job's client, made on first use and kept for the
 * job's next files (one connection for a batch of small files). */
typedef void (*up_job_fn)(struct up_ctx *c, struct tg_s3 **s3, const char *name,
                          struct up_result *res);
#define UP_JOB_BATCH 32 /* files one job takes at most */
/* A file whose worker died this many times in a row while on it, counted across restarts, is
 * set aside (kept in the spool, not tried again until a restart) with an upload_crashed alert,
 * and its count dropped: a file that crashes its worker must not take every retry of the
 * files batched with it. */
#define UP_CRASHES_MAX 3
/* Each file's count of those deaths, kept across restarts and --once runs (crash_count.c):
 * state/crashes/sessions/<name> for recordings, state/crashes/s3/<name> for outbox/s3. */
#define UP_CRASHES_DIR "crashes"
#define UP_CRASHES_SESSIONS UP_CRASHES_DIR "/sessions"
#define UP_CRASHES_S3 UP_CRASHES_DIR "/s3"
/* The saved count of the file name of queue q: 0 when there is none, or (with a warning) when
 * it cannot be read or does not hold a count. */
unsigned up_crashes_load(const struct up_ctx *c, enum up_queue q, const char *name);
/* A worker died on it (the daemon saw it end): its count, the larger of the saved one and
 * known (the count in memory), plus one, saved durably (a failure is warned about) and
 * returned. Called only once the death is seen: never before a worker starts. */
unsigned up_crashes_count(struct up_ctx *c, enum up_queue q, const char *name, unsigned known);
/* Drop its count, durably when there was one (it was shipped, set aside, or a try ended
 * without a death: the deaths are no longer in a row). */
void up_crashes_clear(struct up_ctx *c, enum up_queue q, const char *name);
/* Drop the counts of files no longer in their queue's folder (removed by hand, or shipped by a
 * daemon killed before it dropped the count). */
void up_crashes_prune(struct up_ctx *c);
/* In a job: tell the daemon the file is removed now, S3 having confirmed it, so that should
 * the worker die before its report, the file's going is known to be its own. No-op outside
 * a job. */
void up_job_removing(void);
int up_jobs_new(struct up_jobs **out, unsigned max);
void up_jobs_free(struct up_jobs *j);
unsigned up_jobs_running(const struct up_jobs *j);
unsigned up_jobs_max(const struct up_jobs *j);
/* In a worker, before anything else: tg_signals_child_reset() but SIGPIPE, ignored as in the
 * daemon (a stop's signal pending from the fork on ends the worker, as it should) */
void up_jobs_child_signals(void);
/* Start fn() on names[0..n-1] (n <= UP_JOB_BATCH), one after the other, in a child process. */
int up_jobs_start(struct up_ctx *c, enum up_queue q, const char *const *names, size_t n,
                  up_job_fn fn);
/* Collect results (without blocking): calls done() once for each file of each job. A worker
 * dead by SIGTERM, SIGINT or SIGHUP (a stop, Ctrl-C) died on none of its files: not_started. */
void up_jobs_reap(struct up_ctx *c, void (*done)(struct up_ctx *c, enum up_queue q,
                                                 const char *name, const struct up_result *res));
/* The fd to poll for job completions (-1 when none runs). */
int up_jobs_fd(const struct up_jobs *j);
/* Kill and wait for every job (shutdown); up_jobs_reap() then reads what they wrote (done()
 * only for the files they finished, and with stopped and worker_died for those they said they
 * remove: the others stay in the spool) and frees their slots. A worker found dead already,
 * not by SIGTERM, SIGINT or SIGHUP, is reaped as one that died on its file (crashed), not as
 * stopped. */
void up_jobs_stop(struct up_jobs *j);

/* --- multipart_state.c: a recording's files under state/multipart/ while it goes up --- */
#define UP_MULTIPART_DIR "multipart"
#define UP_MULTIPART_RESUME ".json" /* its multipart upload's resume state (tg_s3) */
#define UP_MULTIPART_SENT ".sent"   /* S3 has it, its index line failed (session_ship.c) */
/* The file name of recording name's file with suffix: the SHA-256 of name in hex, then suffix
 * (any name the spool takes fits). TG_ERR_LIMIT when len is too small. */
int up_multipart_file(const char *name, const char *suffix, char *out, size_t len);
/* The same as a path: state/multipart/<file>. */
int up_multipart_path(const struct up_ctx *c, const char *name, const char *suffix, char *out,
                      size_t len);
/* At a rescan: rename the files an earlier uploader named <name>.json and <name>.sent, of
 * recordings still in sessions/, to this version's names; remove those (in either naming) of
 * recordings no longer there. Nothing is removed when sessions/ cannot be listed. */
void up_multipart_prune(struct up_ctx *c);

/* --- session_ship.c: one recording to S3 (runs in a job) --- */
/* Fill res from a failed S3 call rc/sr about what (a key): code, retryable, message. */
void up_result_from_s3(struct up_result *res, int rc, const struct tg_s3_result *sr, const char *what);
void up_session_ship(struct up_ctx *c, struct tg_s3 **s3, const char *name, struct up_result *res);
/* The per-session record written before upload: state/sessions/<pam_session_id>.json. */
int up_session_state_path(const struct up_ctx *c, const char *pam_session_id, char *out,
                          size_t len);
/* Add a recording's index line to the join record of PAM session pam_session_id (with index
 * NULL: note that the recorder refused the channel that the recording_failure event refused
 * names by its recording_id, with the event's user and host), under the folder's lock. */
int up_join_record_add(const struct up_ctx *c, const char *pam_session_id, const json_t *index,
                       const json_t *refused);
/* A join record lists a recording (a refused channel is none: it accounts for itself only). */
int up_join_lists_recording(const json_t *rec);
/* The recording ids of the channels the recorder refused that join record rec notes, ", "
 * between them, into out ("" for none; a placeholder for a record that does not name them). */
void up_join_refused_note(const json_t *rec, char *out, size_t len);
/* The recordings a join record lists (an array of index lines, a new reference), for a record
 * written by this version or one before it; NULL when it lists none. */
json_t *up_join_recordings(const json_t *rec);

/* Whether a recording whose header names user, host, audit session (tg_audit_session; 0: none)
 * and boot (tg_boot_id; "": none; NULL: not known, from an index line written before boot ids,
 * and not compared) belongs to the login (or logout) event login: the same user, host, audit
 * session and boot. A user, host, audit session or boot the login event lacks (an event of an
 * earlier version, a login with no audit session of its own) is not compared; a login's audit
 * session or boot is not matched by a header without one. */
int up_rec_owner_is(const json_t *login, const char *user, const char *host, uint32_t audit,
                    const char *boot);
/* The join record rec as it counts for the login (or logout) event login: only the recordings
 * whose user and host are the login's are listed (those past the list counted only beside one
 * of them), and only the refused channels whose event named no other user or host are noted;
 * the other recordings are named in others (len bytes, "" for none). A new reference, NULL
 * when rec is NULL or memory ran out. */
json_t *up_join_owned(const json_t *rec, const json_t *login, char *others, size_t len);
/* Name the join record entry e (an index line of a recording that is not the login's) after
 * what others (len bytes) holds: its S3 location, user, host, audit session and boot, unless that
 * location is named there already; one that does not fit is not named. */
void up_join_others_add(char *others, size_t len, const json_t *e);

/* --- event_ship.c --- */
/* The time (Unix microseconds) an event file's name starts with (tg_event_write names them
 * "<20-digit time>-<16 hex>.json"); 0 for a name not made so. */
uint64_t up_event_name_us(const char *name);
/* Copy each events/ file into the outboxes, then drop it from events/; one that fails
 * (a full or failing disk) is tried again after a backoff, *wake_us lowered to when.
 * Returns how many moved. */
int up_events_fanout(struct up_ctx *c, uint64_t *wake_us);
/* One outbox/s3 event to S3 (runs in a job). */
void up_event_ship(struct up_ctx *c, struct tg_s3 **s3, const char *name, struct up_result *res);
/*
 * Work the head of outbox/notify: join logouts to recordings, post to Slack,
 * raise 'login with no recording'. Returns 1 when it made progress, 0 when the
 * head must wait (until *wake_us), <0 on error.
 */
int up_notify_step(struct up_ctx *c, uint64_t *wake_us);
/* Logins with no recording recording_grace after them: no_recording (see event_ship.c).
 * Due at c->open_check_us; *wake_us lowered to the next. */
void up_open_logins_check(struct up_ctx *c, uint64_t *wake_us);

/* --- alerts (event_ship.c): written as events, so they reach S3 and Slack durably --- */
/* Raise an alert: syslog now, and an 'alert' event (to S3 and, unless slack_too is 0, Slack). */
/* state/ folder of the Slack messages held while [slack] webhook_url is unusable */
#define UP_SLACK_HELD "slack-held"
/* A start with Slack usable: the held messages back into outbox/notify (their names keep
 * their order). 1 some were, 0 none, -1 one could not be moved (said). */
int up_slack_unhold(struct up_ctx *c);
/* Whether messages are held there. */
int up_slack_held(const struct up_ctx *c);
#define UP_ALERTS_KEPT 64
/* Write the alerts up_alert kept (c->alerts_kept) while the spool takes them. */
void up_alerts_write_kept(struct up_ctx *c);
/* TG_OK when the alert is written, or kept to be written (the daemon); else the error (a worker,
 * whose memory ends with it, or none left to keep it). */
int up_alert(struct up_ctx *c, const char *what, int slack_too, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- alert_burst.c: one Slack message per alert kind and [uploader] alert_window --- */
/* Windows and pending counts, one file per alert kind: state/alerts/<kind>.json. */
#define UP_ALERTS_DIR "alerts"
/*
 * In the fan-out, for event ev (file name) bound for Slack, after its S3 copy: 1 when it is
 * an alert counted into its kind's open window (it does not go to Slack; the window's summary
 * counts it), 0 when it goes to Slack (an alert then opens its kind's window), a TG_ERR_*
 * code when its count could not be saved (try again later).
 */
int up_alert_burst_take(struct up_ctx *c, const json_t *ev, const char *name);
/* Write the summary of each window that ended with a count (all: of each with a count, for
 * --once) into events/, and open the next window; due at c->burst_check_us, *wake_us lowered
 * to the next. Returns how many summaries were written. */
int up_alert_bursts_release(struct up_ctx *c, int all, uint64_t *wake_us);

/* --- key_layout.c --- */
struct up_key_vars {
	const char *prefix;
	const char *host;
	const char *user;
	const char *session_id;
	const char *ext;  /* with its dot, or "" */
	const char *kind; /* "sessions", "events", "index" */
	uint64_t time_us; /* gives {date} */
};
/* Expand a key template; values are made safe for a key (no '/', no control bytes). */
int up_key_expand(const char *tmpl, const struct up_key_vars *v, char *out, size_t len);
/* The S3 key of a recording, from the [s3] key_template. */
int up_key_session(const struct tg_config *cfg, const struct up_key_vars *v, char *out, size_t len);
#define UP_KEY_STEM_CUT 32
#define UP_KEY_EXT_CUT 16
/*
 * The S3 key (key) and index key (ikey) of the file name (v->session_id its stem, v->ext its
 * extension), as up_key_session and up_key_index give them; when the name makes either longer
 * than S3 takes, the stem becomes its first UP_KEY_STEM_CUT bytes, '-' and the SHA-256 of name
 * in hex, and an extension longer than UP_KEY_EXT_CUT bytes its first UP_KEY_EXT_CUT: the file
 * still goes up, under a key of its own, the same at every try.
 */
int up_key_session_fit(const struct tg_config *cfg, const struct up_key_vars *v, const char *name,
                       char *key, size_t klen, char *ikey, size_t iklen);
/* Whether the [s3] section can be uploaded with (the S3 client takes it; key_template and
 * index_prefix give each session its own keys): an error and err when not. The daemon's check
 * at its start, made offline, which status makes too. */
int up_s3_check(const struct tg_config *cfg, char *err, size_t errlen);
/* The S3 key of an event: {prefix}/events/dt=DATE/host=HOST/NAME. */
int up_key_event(const struct tg_config *cfg, const char *host, uint64_t time_us, const char *name,
                 char *out, size_t len);
/* The index object's key: {index_prefix}/dt=DATE/host=HOST/SESSION.json for a recording
 * SESSION.tgr (v->ext TG_REC_EXT), and .../NAME_.json for any other file name NAME (session_id and
 * ext together), escaped: no two file names share one. */
int up_key_index(const struct tg_config *cfg, const struct up_key_vars *v, char *out, size_t len);
/* A JSON string even for bytes that are not UTF-8 (each invalid sequence becomes U+FFFD). */
json_t *up_json_string(const char *s);
/* One line of JSON describing a shipped session (Athena's JSON SerDe reads one object per line). */
json_t *up_index_json(const struct tg_rec_summary *s, const char *bucket, const char *key,
                      uint64_t file_bytes);

/* --- slack.c --- */
struct slack_result {
	long http_status;       /* 0: no answer */
	int retryable;          /* 5xx, 429, transport errors */
	unsigned retry_after_s; /* from a 429 */
	char body[128];         /* Slack's answer ("ok", "invalid_blocks", ...) */
	char message[UP_ERR_MAX];
};
/* What slack_new asks of the URL, for messages. */
#define SLACK_URL_RULE "it must be https:// (or http:// to loopback)"
/* A webhook client; url is a secret and never logged. */
int slack_new(struct slack **out, const char *url, const char *ca_file, unsigned min_interval_ms);
/* Whether the [slack] section can be posted with (url's rule, a readable ca_file): TG_OK, or an
 * error and err, without the URL. The daemon's check at its start, which status makes too. */
int slack_check(const char *url, const char *ca_file, char *err, size_t errlen);
void slack_free(struct slack *s);
/*
 * Keep Slack's Retry-After across restarts in dir/slack-not-before (wall-clock Unix
 * microseconds, written durably at each 429) and honour the one saved there now: at most
 * SLACK_RETRY_AFTER_MAX_S ahead (a forged file or a wall clock set back cannot stall Slack
 * longer than a live 429 can); a passed or malformed time is ignored.
 */
#define SLACK_RETRY_AFTER_MAX_S 3600
void slack_keep_state(struct slack *s, const char *dir);
/* When the next message may be sent (min_interval_ms and any Retry-After). */
uint64_t slack_next_allowed_us(const struct slack *s);
/* How long a post is waited for when nothing else can go on meanwhile (a stop, --once), well
 * short of the post's own 30 s timeout: the message stays queued and is posted again later
 * (it may show twice). */
#define SLACK_WAIT_MAX_US 5000000u
/* POST one payload and wait for the answer, max_us at most; TG_OK only for 200 "ok". No answer
 * by then: the post is dropped, TG_ERR_INTERRUPTED, res->retryable. */
int slack_post(struct slack *s, const char *payload, uint64_t max_us, struct slack_result *res);
/* The same in steps, so that the daemon's loop goes on while Slack takes its time:
 * start one post, then poll it (without blocking) until *done; cancel drops it. */
int slack_post_start(struct slack *s, const char *payload);
int slack_post_poll(struct slack *s, struct slack_result *res, int *done);
int slack_post_busy(const struct slack *s);
/* Sleep until the post under way may have news, at most ms milliseconds. */
void slack_post_wait(struct slack *s, int ms);
void slack_post_cancel(struct slack *s);
/* Whether an event's type is announced on Slack. */
int slack_announces(const json_t *ev);
/* Build a Block Kit payload (with a text fallback) for an event, or NULL when the type is not
 * announced (or memory ran out). recording: a logout's join record (with "being_written": true
 * when a recorder still writes another recording of the session), {"being_written": true}
 * while a recorder still writes the session's only recording, {"in_spool": true} while it
 * waits in sessions/ to be read, or NULL. */
json_t *slack_message_for_event(const json_t *ev, const json_t *recording);
/* Same payload without blocks (the fallback after a 400). */
json_t *slack_text_only(const json_t *payload);
/* Slack wants &, < and > escaped in text; returns a malloc'ed string. */
char *slack_escape(const char *s);

/* --- status.c --- */
/* Items waiting in all queues (the backlog status.json shows). */
uint64_t up_backlog(const struct up_ctx *c);
/* Carry the counters and last errors of the previous run over. */
void up_status_load(struct up_ctx *c);
/* Write state/status.json (at most once a second unless force). */
void up_status_write(struct up_ctx *c, int force);
/* What status and the progress bar show goes to an 8-bit terminal (tg_locale_8bit()): every
 * character that is not ASCII is written as an escape there. */
void up_status_set_8bit(int eight_bit);
/* `tollgate-uploader status`: print queues, oldest item, last errors. */
int up_status_main(struct tg_config *cfg, int tty);
/* Draw a one-line progress bar on stderr. */
void up_progress_draw(uint64_t done, uint64_t total, const char *what);
void up_progress_end(void);

#endif
