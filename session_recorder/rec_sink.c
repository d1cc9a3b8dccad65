#include "rec_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_spool.h"

/* Room kept under the cap for what must still be written after it: DROPPED, NOTE, END, seal. */
#define CAP_RESERVE (64 * 1024ULL)
/* Of that, what the end alone keeps: the idle heartbeats of a capped session may take the rest
 * (some 3.5 hours of them at 12 checkpoint intervals of 5 s), not more */
#define CAP_END_RESERVE (CAP_RESERVE / 2)
/* An idle heartbeat's most: a DROPPED record for each stream, then the checkpoint (32: a
 * record's framing, as in cap_room) */
#define HEARTBEAT_MAX (3 * (32 + 9) + 32 + TG_REC_CHECKPOINT_LEN)

void rec_sink_init(struct rec_sink *s, struct tg_rec_writer *w, struct rec_spool *spool,
                   uint64_t cap, uint64_t rate, unsigned cp_interval_s)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->spool = spool;
	s->t0_us = tg_mono_us();
	s->cap = cap;
	s->rate = rate;
	s->tokens = rate;
	s->cp_interval_us = (uint64_t)cp_interval_s * 1000000ULL;
	s->flushed_offset = s->cp_offset = tg_rec_writer_offset(w);
}

void rec_sink_spool_cap(struct rec_sink *s, const char *spool_dir, uint64_t spool_max)
{
	s->spool_dir = spool_dir;
	s->spool_max = spool_max;
	s->spool_checked = tg_rec_writer_offset(s->w);
}

uint64_t rec_sink_now(const struct rec_sink *s)
{
	return tg_mono_us() - s->t0_us;
}

static int fail(struct rec_sink *s, int r)
{
	if (r != TG_OK && s->error == TG_OK)
		s->error = r;
	return r;
}

/*
 * Checkpoint syncs run on a thread of their own: fdatasync can block for seconds on a busy
 * disk, and the relay must not (keystrokes, output and window-size changes would wait with
 * it). A request while one runs is folded into one more sync after it. kill -9 needs no sync
 * (the page cache has every write); the sync is for power loss, and the end of the session
 * still syncs in line before the hand-over.
 *
 * The same thread also syncs each time the file has grown by REC_SINK_WRITEBACK_STEP. Starting
 * write-back alone (sync_file_range) was not enough: the data reached the disk, but ext4
 * allocates blocks as it writes them back, and the journal commit of those allocations, a
 * whole session's, was left to the sync at the end. On 100 MB of output that end sync took
 * 130-225 ms; with an fdatasync every 8 MiB it takes 20-30 ms (doc/recorder.md).
 */
struct rec_bgsync {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	int want, stop, err; /* want: a sync is asked for; err: errno of a failed sync, 0 */
};

#define BG_SYNC 1
#define BG_WRITEBACK 2

static void *bgsync_run(void *arg)
{
	struct rec_bgsync *b = arg;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->want && !b->stop)
			pthread_cond_wait(&b->cv, &b->mu);
		if (!b->want)
			break;
		b->want = 0;
		pthread_mutex_unlock(&b->mu);
		if (fdatasync(b->fd) != 0) {
			int e = errno;

			pthread_mutex_lock(&b->mu);
			if (b->err == 0)
				b->err = e;
		} else {
			pthread_mutex_lock(&b->mu);
		}
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* Ask the thread for a sync of the recording: what is BG_SYNC (a checkpoint's, done in line when
 * no thread can be made) or BG_WRITEBACK (the growth step's, then left to the kernel: in line it
 * would stall the relay). TG_ERR_SYSTEM (errno set) when an earlier sync failed. */
static int bgsync_ask(struct rec_sink *s, int what)
{
	struct rec_bgsync *b = s->bg;
	sigset_t all, old;
	int err, rc;

	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			/* no thread: a sync in line, as before; write-back is left to the kernel */
			return what == BG_SYNC ? rec_spool_sync(s->spool) : TG_OK;
		b->fd = s->spool->fd;
		pthread_mutex_init(&b->mu, NULL);
		pthread_cond_init(&b->cv, NULL);
		/* every signal stays the relay's: its ppoll is what they must interrupt */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&b->th, NULL, bgsync_run, b);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			pthread_cond_destroy(&b->cv);
			pthread_mutex_destroy(&b->mu);
			free(b);
			return what == BG_SYNC ? rec_spool_sync(s->spool) : TG_OK;
		}
		s->bg = b;
	}
	pthread_mutex_lock(&b->mu);
	err = b->err;
	b->want |= what;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (err != 0) {
		errno = err;
		return TG_ERR_SYSTEM;
	}
	return TG_OK;
}

void rec_sink_sync_stop(struct rec_sink *s)
{
	struct rec_bgsync *b = s->bg;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL); /* a sync asked for before the stop still runs */
	if (b->err != 0) {
		errno = b->err;
		fail(s, TG_ERR_SYSTEM);
	}
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
	s->bg = NULL;
}

static void mark(struct rec_sink *s, uint64_t now)
{
	if (s->unsigned_records == 0)
		s->first_unsigned_us = now;
	s->unsigned_records++;
}

static int write_dropped(struct rec_sink *s, enum tg_rec_type stream, uint64_t now)
{
	int r;

	if (s->dropped_pending[stream] == 0)
		return TG_OK;
	if ((r = tg_rec_write_dropped(s->w, now, stream, s->dropped_pending[stream])) != TG_OK)
		return fail(s, r);
	s->dropped_pending[stream] = 0;
	mark(s, now);
	return TG_OK;
}

/* Payload bytes one more record may carry under the size cap (UINT64_MAX: no cap; 0 once the
 * spool was found full). Asked for the records that carry no data too: a client sends window
 * changes, and types with echo off, as fast as it likes, and each would be a record. */
static uint64_t cap_room(const struct rec_sink *s)
{
	uint64_t off = tg_rec_writer_offset(s->w) + 32; /* 32: a record's framing */

	if (s->spool_full)
		return 0;
	if (s->cap == 0)
		return UINT64_MAX;
	return s->cap > CAP_RESERVE + off ? s->cap - CAP_RESERVE - off : 0;
}

/*
 * Look whether the spool holds spool_max_bytes (s->spool_full, which stays). The cap is checked at
 * each session's start; without a look during the session, sessions running at once (a user's, each
 * under max_session_bytes) would fill the disk past it. Looked at each time the file grew by a
 * sixteenth of the cap: the spool may go past the cap by that much for each session that writes at
 * once.
 */
static void spool_look(struct rec_sink *s)
{
	uint64_t off = tg_rec_writer_offset(s->w), step, bytes;

	if (s->spool_full || s->spool_dir == NULL || s->spool_max == 0)
		return;
	step = s->spool_max / 16;
	if (step < REC_SINK_SPOOL_STEP_MIN)
		step = REC_SINK_SPOOL_STEP_MIN;
	if (step > REC_SINK_SPOOL_STEP_MAX)
		step = REC_SINK_SPOOL_STEP_MAX;
	if (off < s->spool_checked + step)
		return;
	s->spool_checked = off;
	/* a folder that cannot be read is counted without (see open_recording) */
	(void)tg_spool_bytes(s->spool_dir, &bytes, NULL, 0);
	s->spool_full = bytes >= s->spool_max;
}

/* The rate cap's bytes for now (1 s burst at most). The clock moves on only by the time of the
 * whole bytes let in: reads 1.5 ms apart at 1000 B/s let in 1.5 bytes each, and taking the
 * fraction away at each would store a third less than max_rate. */
static void refill(struct rec_sink *s, uint64_t now)
{
	uint64_t add;

	if (s->rate == 0 || now <= s->tokens_us)
		return;
	if (now - s->tokens_us >= 1000000ULL) { /* a second or more: the burst is whole again */
		s->tokens = s->rate;
		s->tokens_us = now;
		return;
	}
	if ((add = (now - s->tokens_us) * s->rate / 1000000ULL) == 0)
		return;
	if (s->tokens + add >= s->rate) {
		s->tokens = s->rate;
		s->tokens_us = now;
		return;
	}
	s->tokens += add;
	/* rounded up: the fraction left over is never more than the clock gave */
	s->tokens_us += (add * 1000000ULL + s->rate - 1) / s->rate;
}

/* What a RESIZE or IN_HIDDEN record counts against the rate cap: at least its size in the file
 * (a cap under that lets one through per second). */
static uint64_t control_cost(const struct rec_sink *s)
{
	return s->rate < REC_SINK_CONTROL_COST ? s->rate : REC_SINK_CONTROL_COST;
}

/*
 * How many of n bytes of stream the size cap and the rate cap let through now. Under the rate
 * cap a record pays for its framing and for the DROPPED record written before it, not only its
 * payload, and while the cap bites no fragment under REC_SINK_MIN_FRAGMENT is stored (the
 * tokens build up instead): a producer faster than the cap made one byte and a DROPPED record
 * per read, and the file grew at up to 16 times the rate.
 */
static size_t allowance(struct rec_sink *s, enum tg_rec_type stream, size_t n, uint64_t now,
                        int *size_capped)
{
	uint64_t room, over, least;
	size_t ok = n;

	spool_look(s);
	room = cap_room(s);

	*size_capped = 0;
	if (room < ok) {
		ok = (size_t)room;
		*size_capped = 1;
	}
	if (s->rate > 0) {
		refill(s, now);
		/* half the rate at most: a tiny cap still lets payload through */
		over = control_cost(s) * (s->dropped_pending[stream] > 0 ? 2 : 1);
		if (over > s->rate / 2)
			over = s->rate / 2;
		least = s->rate / 2 < REC_SINK_MIN_FRAGMENT ? s->rate / 2 : REC_SINK_MIN_FRAGMENT;
		if (s->tokens <= over)
			ok = 0;
		else if (s->tokens - over < ok)
			ok = (size_t)(s->tokens - over);
		if (ok < n && ok < least)
			ok = 0;
		if (ok > 0)
			s->tokens -= ok + over;
	}
	return ok;
}

static int note_cap(struct rec_sink *s, uint64_t now, const char *what)
{
	char json[128];
	int r;

	snprintf(json, sizeof(json), "{\"event\":\"cap\",\"cap\":\"%s\"}", what);
	if ((r = tg_rec_write_note(s->w, now, json)) != TG_OK)
		return fail(s, r);
	mark(s, now);
	return TG_OK;
}

/* The rate cap held something back: noted the first time. */
static int note_rate(struct rec_sink *s, uint64_t now)
{
	if (s->rate_noted)
		return TG_OK;
	s->rate_noted = 1;
	return note_cap(s, now, "max_rate");
}

/* n bytes of stream a cap kept out: counted for the next DROPPED record, and the cap noted the
 * first time it bites. */
static int drop(struct rec_sink *s, enum tg_rec_type stream, size_t n, uint64_t now,
                int size_capped)
{
	s->dropped[stream] += n;
	s->dropped_pending[stream] += n;
	if (size_capped && !s->capped) {
		s->capped = 1;
		return note_cap(s, now, s->spool_full ? "spool_max_bytes" : "max_session_bytes");
	}
	return size_capped ? TG_OK : note_rate(s, now);
}

/* Whether the rate cap lets a record without data through now (force: it goes anyway), its
 * cost taken. */
static int afford(struct rec_sink *s, uint64_t now, int force)
{
	uint64_t cost = control_cost(s);

	if (s->rate == 0)
		return 1;
	refill(s, now);
	if (s->tokens < cost && !force)
		return 0;
	s->tokens = s->tokens < cost ? 0 : s->tokens - cost;
	return 1;
}

/* Write the hidden-input count and the window size that wait for the rate cap, as far as it
 * lets them through now (force: at the end, all). Past the size cap they are only counted. */
static int write_waiting(struct rec_sink *s, uint64_t now, int force)
{
	uint64_t n;
	uint32_t c;
	int r;

	if (s->hidden_pending > 0) {
		n = s->hidden_pending;
		/* past the size cap: counted, in a DROPPED record, like capped data */
		if (cap_room(s) < 4) {
			s->hidden_pending = 0;
			if ((r = drop(s, TG_REC_IN, (size_t)n, now, 1)) != TG_OK)
				return r;
		} else if (afford(s, now, force)) {
			s->hidden_pending = 0;
			for (; n > 0; n -= c) {
				c = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
				if ((r = tg_rec_write_hidden(s->w, now, c)) != TG_OK)
					return fail(s, r);
				mark(s, now);
			}
		} else if ((r = note_rate(s, now)) != TG_OK) {
			return r;
		}
	}
	if (s->resize_pending) {
		/* past the size cap no output is stored: its window size does not matter */
		if (cap_room(s) < 4) {
			s->resize_pending = 0;
			s->resizes_dropped++;
		} else if (afford(s, now, force)) {
			s->resize_pending = 0;
			if ((r = tg_rec_write_resize(s->w, now, s->resize_cols, s->resize_rows)) !=
			    TG_OK)
				return fail(s, r);
			mark(s, now);
		} else if ((r = note_rate(s, now)) != TG_OK) {
			return r;
		}
	}
	return TG_OK;
}

int rec_sink_data(struct rec_sink *s, enum tg_rec_type stream, const void *p, size_t n)
{
	uint64_t now;
	size_t ok;
	int size_capped, r;

	if (stream != TG_REC_OUT && stream != TG_REC_ERR && stream != TG_REC_IN)
		return TG_ERR_INVALID;
	s->bytes[stream] += n;
	if (s->error != TG_OK)
		return s->error;
	if (n == 0)
		return TG_OK;
	if (s->count_only[stream]) {
		s->dropped[stream] += n;
		s->dropped_pending[stream] += n;
		return TG_OK;
	}
	now = rec_sink_now(s);
	if (stream == TG_REC_IN ? s->hidden_pending > 0 : s->resize_pending) {
		/* what the rate cap holds back goes first: output is never stored as drawn at a
		 * window size the recording does not have, nor typed input before the count of
		 * the hidden input typed before it */
		if ((r = write_waiting(s, now, 0)) != TG_OK)
			return r;
		if (stream == TG_REC_IN ? s->hidden_pending > 0 : s->resize_pending)
			return drop(s, stream, n, now, 0);
	}
	ok = allowance(s, stream, n, now, &size_capped);
	if (ok > 0) {
		/* bytes dropped before these go first, so replay shows the gap where it was */
		if ((r = write_dropped(s, stream, now)) != TG_OK)
			return r;
		if ((r = tg_rec_write_data(s->w, stream, now, p, ok)) != TG_OK)
			return fail(s, r);
		s->stored[stream] += ok;
		mark(s, now);
	}
	if (ok < n)
		return drop(s, stream, n - ok, now, size_capped);
	return TG_OK;
}

/* Records without data count against the rate cap too: a client sends window changes, and types
 * at a password prompt, as fast as it likes. Past the cap they wait, coalesced: one IN_HIDDEN
 * record for the hidden input typed meanwhile, the last window size for the changes (the others
 * counted in resizes_dropped), written when the rate lets them through and always before the
 * data that follows them. */
int rec_sink_hidden(struct rec_sink *s, size_t n)
{
	s->bytes[TG_REC_IN] += n;
	if (s->error != TG_OK)
		return s->error;
	s->hidden_pending += n;
	return write_waiting(s, rec_sink_now(s), 0);
}

int rec_sink_resize(struct rec_sink *s, unsigned cols, unsigned rows)
{
	if (s->error != TG_OK)
		return s->error;
	if (cols > 65535 || rows > 65535)
		return fail(s, TG_ERR_INVALID);
	if (s->resize_pending)
		s->resizes_dropped++; /* this one takes its place */
	s->resize_pending = 1;
	s->resize_cols = cols;
	s->resize_rows = rows;
	return write_waiting(s, rec_sink_now(s), 0);
}

int rec_sink_note(struct rec_sink *s, const char *json)
{
	uint64_t now = rec_sink_now(s);
	int r;

	if (s->error != TG_OK)
		return s->error;
	if ((r = tg_rec_write_note(s->w, now, json)) != TG_OK)
		return fail(s, r);
	mark(s, now);
	return TG_OK;
}

static uint64_t idle_interval(const struct rec_sink *s)
{
	return s->capped ? s->cp_interval_us * REC_SINK_IDLE_FACTOR_CAPPED : s->cp_interval_us;
}

/* Whether an idle heartbeat may be written: past the size cap only while it leaves
 * CAP_END_RESERVE for the end, or a session left running for days would grow the file past the
 * cap by one a minute. After that the drop counts wait for the seal; what is in the file is
 * signed already (a heartbeat comes only when nothing waits for a signature). */
static int heartbeat_fits(const struct rec_sink *s)
{
	return !s->capped || tg_rec_writer_offset(s->w) + HEARTBEAT_MAX + CAP_END_RESERVE <= s->cap;
}

static int checkpoint(struct rec_sink *s, uint64_t now)
{
	int st, r, idle = s->unsigned_records == 0;
	uint64_t off;

	for (st = TG_REC_OUT; st <= TG_REC_IN; st++)
		if ((r = write_dropped(s, (enum tg_rec_type)st, now)) != TG_OK)
			return r;
	if ((r = tg_rec_checkpoint(s->w, now)) != TG_OK)
		return fail(s, r);
	/* a file removed from the spool takes writes as ever, and all of it is lost at the end:
	 * a recording failure now, when on_failure can still end the session */
	if (s->spool != NULL && s->spool->published && (r = rec_spool_check(s->spool)) != TG_OK)
		return fail(s, r);
	/* what this checkpoint covers, not what is unsynced: after one burst, measured from the
	 * last sync, every later checkpoint of a busy session (top, tail -f) went unsynced until
	 * an idle heartbeat. The sync runs on its thread, the burst's growth syncs long done */
	off = tg_rec_writer_offset(s->w);
	if (s->spool != NULL && (idle || off - s->cp_offset <= REC_SINK_SYNC_MAX) &&
	    (r = bgsync_ask(s, BG_SYNC)) != TG_OK)
		return fail(s, r);
	s->cp_offset = off;
	s->last_cp_us = s->last_flush_us = now;
	s->flushed_offset = tg_rec_writer_offset(s->w);
	s->unsigned_records = 0;
	return TG_OK;
}

static int dropped_waiting(const struct rec_sink *s)
{
	return s->dropped_pending[TG_REC_OUT] || s->dropped_pending[TG_REC_ERR] ||
	       s->dropped_pending[TG_REC_IN];
}

/* Something waits for a signature soon: records, or drop counts while not capped. */
static int busy(const struct rec_sink *s)
{
	return s->unsigned_records > 0 || (dropped_waiting(s) && !s->capped);
}

/* Write the buffered records, if any (now: the session time it is done at). */
static int flush_at(struct rec_sink *s, uint64_t now)
{
	int r;

	if (tg_rec_writer_offset(s->w) == s->flushed_offset)
		return TG_OK;
	if ((r = tg_rec_flush(s->w)) != TG_OK)
		return fail(s, r);
	s->last_flush_us = now;
	s->flushed_offset = tg_rec_writer_offset(s->w);
	return TG_OK;
}

int rec_sink_tick(struct rec_sink *s)
{
	uint64_t now;
	int r;

	if (s->error != TG_OK)
		return s->error;
	now = rec_sink_now(s);
	if ((s->hidden_pending > 0 || s->resize_pending) && (r = write_waiting(s, now, 0)) != TG_OK)
		return r;
	if (busy(s)) {
		if (now - s->last_cp_us >= s->cp_interval_us)
			return checkpoint(s, now);
	} else if (now - s->last_cp_us >= idle_interval(s) && heartbeat_fits(s)) {
		return checkpoint(s, now);
	}
	if (now - s->last_flush_us >= REC_SINK_FLUSH_US && (r = flush_at(s, now)) != TG_OK)
		return r;
	if (s->spool != NULL &&
	    tg_rec_writer_offset(s->w) - s->writeback_offset >= REC_SINK_WRITEBACK_STEP) {
		s->writeback_offset = tg_rec_writer_offset(s->w);
		if ((r = bgsync_ask(s, BG_WRITEBACK)) != TG_OK)
			return fail(s, r);
	}
	return TG_OK;
}

void rec_sink_flush(struct rec_sink *s)
{
	if (s != NULL && s->error == TG_OK)
		(void)flush_at(s, rec_sink_now(s));
}

int rec_sink_timeout_ms(const struct rec_sink *s)
{
	uint64_t now = rec_sink_now(s), due, t;

	if (s->error != TG_OK)
		return -1;
	if (busy(s))
		due = s->last_cp_us + s->cp_interval_us;
	else if (heartbeat_fits(s))
		due = s->last_cp_us + idle_interval(s);
	else
		due = now + 60000 * 1000ULL; /* no heartbeat any more: the most we wait */
	if (tg_rec_writer_offset(s->w) != s->flushed_offset) {
		t = s->last_flush_us + REC_SINK_FLUSH_US;
		if (t < due)
			due = t;
	}
	if ((s->hidden_pending > 0 || s->resize_pending) && s->rate > 0) {
		/* when the rate cap lets what waits through */
		t = control_cost(s);
		t = s->tokens >= t
		        ? now
		        : s->tokens_us + ((t - s->tokens) * 1000000ULL + s->rate - 1) / s->rate;
		if (t < due)
			due = t;
	}
	if (due <= now)
		return 0;
	t = (due - now + 999) / 1000;
	return t > 60000 ? 60000 : (int)t;
}

int rec_sink_seal(struct rec_sink *s, const char *end_json)
{
	uint64_t now = rec_sink_now(s);
	int st, r;

	if (s->error != TG_OK)
		return s->error;
	if ((r = write_waiting(s, now, 1)) != TG_OK)
		return r;
	for (st = TG_REC_OUT; st <= TG_REC_IN; st++)
		if ((r = write_dropped(s, (enum tg_rec_type)st, now)) != TG_OK)
			return r;
	if ((r = tg_rec_seal(s->w, now, end_json)) != TG_OK)
		return fail(s, r);
	return TG_OK;
}
