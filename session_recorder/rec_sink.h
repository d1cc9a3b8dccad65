/*
 * The recording as the relays see it: data goes in, caps and checkpoints
 * are applied here, the format is written by common/tg_rec.c.
 *
 * - max_session_bytes caps the file: data is stored while the file stays
 *   under cap - reserve; past it only counts are kept (DROPPED records), and no
 *   RESIZE or IN_HIDDEN record is written either.
 * - spool_max_bytes (rec_sink_spool_cap) caps it too, for all recordings together: once a look
 *   finds the spool holding it, data is only counted, as past max_session_bytes.
 * - max_rate (bytes/s, 1 s burst) caps stored data the same way, and records
 *   without data too (RESIZE, IN_HIDDEN: REC_SINK_CONTROL_COST each): past it
 *   they wait, coalesced (the last window size, the sum of the hidden counts),
 *   and are written when the rate lets them through, before any data that
 *   follows them (data is counted, not stored, while they cannot be), and at
 *   the seal. Window changes never written are counted in resizes_dropped.
 * - a stream may be "counted only" (transfers with transfer_content =
 *   metadata): its bytes are passed on and counted, never stored.
 * - a signed checkpoint at most checkpoint_interval after the first record it
 *   covers, an idle heartbeat every checkpoint_interval (12 times that once
 *   the size cap is reached, about 140 bytes a minute, and none once they
 *   have used half of the cap's reserve: the rest is the end's).
 * - buffered records are written out at least every 100 ms.
 * - a checkpoint is followed by fdatasync when it is an idle heartbeat or at
 *   most 1 MiB was written since the last one (interactive sessions: every
 *   checkpoint); under bulk output the sync thread syncs every 8 MiB of growth
 *   and the next idle heartbeat or the seal syncs the rest, so a relay of
 *   100 MB/s never stalls on the disk and the seal waits for a few MiB, not
 *   for the whole session. kill -9 needs no sync: the page cache outlives us.
 * The first write error is kept: later calls do nothing and return it.
 */
#ifndef REC_SINK_H
#define REC_SINK_H

#include <stdint.h>
#include <stddef.h>

#include "rec_spool.h"
#include "tg_rec.h"

struct rec_bgsync;

#define REC_SINK_FLUSH_US 100000ULL
#define REC_SINK_SYNC_MAX                                                                          \
	(1024 * 1024ULL) /* fdatasync a checkpoint when it covers at most this much */
/* sync (on the sync thread, the relay does not wait) each time the file grew by this much */
#define REC_SINK_WRITEBACK_STEP (8 * 1024 * 1024ULL)
#define REC_SINK_IDLE_FACTOR_CAPPED 12
#define REC_SINK_SPOOL_STEP_MIN (64 * 1024ULL) /* rec_sink_spool_cap: how often it looks */
#define REC_SINK_SPOOL_STEP_MAX (16 * 1024 * 1024ULL)
#define REC_SINK_CONTROL_COST 16 /* a RESIZE or IN_HIDDEN record, at least its size in the file */
#define REC_SINK_MIN_FRAGMENT 64 /* no smaller piece of output stored while the rate cap bites */

struct rec_sink {
	struct tg_rec_writer *w;
	struct rec_spool *spool;
	uint64_t t0_us; /* tg_mono_us() at start */
	uint64_t cap;   /* max file bytes for data (0: none) */
	uint64_t rate;  /* bytes/s, 0: none */
	uint64_t tokens, tokens_us;
	uint64_t cp_interval_us;
	uint64_t last_cp_us, first_unsigned_us, last_flush_us, flushed_offset;
	uint64_t cp_offset;        /* the file's size at the last checkpoint */
	uint64_t writeback_offset; /* the file's offset when a growth sync was last asked for */
	int unsigned_records; /* records written since the last checkpoint */
	int capped;           /* the size cap was reached */
	int rate_noted;
	int count_only[4]; /* by stream type (OUT, ERR, IN) */
	uint64_t bytes[4]; /* passed on, by stream */
	uint64_t stored[4];
	uint64_t dropped[4];         /* not stored (caps, count-only); bytes = stored + dropped */
	uint64_t dropped_pending[4]; /* of those, not yet in a DROPPED record */
	uint64_t hidden_pending;     /* IN bytes typed hidden, their IN_HIDDEN not yet written */
	int resize_pending;          /* a window size waits to be written: */
	unsigned resize_cols, resize_rows;
	uint64_t resizes_dropped; /* window changes never written (a later one took their place) */
	const char *spool_dir;    /* [uploader] spool_max_bytes applies to it (NULL: none) */
	uint64_t spool_max, spool_checked; /* the cap; the file's offset at the last look */
	int spool_full;                    /* the spool held spool_max at a look */
	int error;                   /* first error, TG_OK while fine */
	struct rec_bgsync *bg;       /* checkpoint syncs off the relay's thread; NULL: none yet */
};

/* A sink over an open writer. */
void rec_sink_init(struct rec_sink *s, struct tg_rec_writer *w, struct rec_spool *spool,
                   uint64_t cap, uint64_t rate, unsigned cp_interval_s);
/* The spool's size cap, spool_max_bytes, as a cap on this recording too: the spool is looked at
 * each time the file grew by a sixteenth of the cap (at least 64 KiB, at most 16 MiB); once it
 * holds the cap, data is counted, not stored, as past max_session_bytes. */
void rec_sink_spool_cap(struct rec_sink *s, const char *spool_dir, uint64_t spool_max);
/* Session time now, in microseconds since rec_sink_init. */
uint64_t rec_sink_now(const struct rec_sink *s);
/* Count n bytes of stream and store what the caps allow. */
int rec_sink_data(struct rec_sink *s, enum tg_rec_type stream, const void *p, size_t n);
/* Count n input bytes typed with echo off: an IN_HIDDEN marker, never the bytes. */
int rec_sink_hidden(struct rec_sink *s, size_t n);
int rec_sink_resize(struct rec_sink *s, unsigned cols, unsigned rows);
int rec_sink_note(struct rec_sink *s, const char *json);
/* Checkpoint or flush when due. */
int rec_sink_tick(struct rec_sink *s);
/* Write what the buffer holds now, before a wait (a hangup's, a stop's, the seal's): output the
 * user has seen is in the file (the kernel's) while the recorder waits, not 100 ms after it.
 * A failure is the sink's error, as in rec_sink_tick. NULL: nothing. */
void rec_sink_flush(struct rec_sink *s);
/* Milliseconds until rec_sink_tick has something to do (for poll). */
int rec_sink_timeout_ms(const struct rec_sink *s);
/* Write pending DROPPED counts, END (end_json) and the seal. */
int rec_sink_seal(struct rec_sink *s, const char *end_json);
/* Wait for the checkpoint sync in progress and end its thread (before the file is sealed,
 * moved or closed); an error it met becomes the sink's. */
void rec_sink_sync_stop(struct rec_sink *s);

#endif
