/*
 * The recording format (doc/recording-format.md): writer, reader, verifier.
 * This header is the contract between tollgate-record (writer),
 * tollgate-replay (reader) and tollgate-uploader (summary).
 */
#ifndef TG_REC_H
#define TG_REC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A boot id's length: a UUID in lowercase hex with its four dashes (see tg_boot_id()) */
#define TG_BOOT_ID_LEN 36

#define TG_REC_MAGIC "TGREC\x00\x01\n"
#define TG_REC_VERSION 1 /* the format version written, and the newest one read */
#define TG_REC_MAGIC_LEN 8
#define TG_REC_MAX_PAYLOAD (1024 * 1024)
/* The most JSON values (objects, arrays, keys, strings, numbers, literals) a NOTE or END
 * holds: parsed, 1 MiB of "[{},{},...]" takes some 80 MiB; a reader's memory stays bounded
 * whatever a hostile file holds. The recorder's hold a few dozen. */
#define TG_REC_JSON_VALUES_MAX 4096
#define TG_REC_MAX_HEADER (64 * 1024)
#define TG_REC_HASH_LEN 32
#define TG_REC_SESSION_ID_LEN 16
#define TG_REC_KEY_ID_LEN 16 /* hex chars */
#define TG_REC_EXT ".tgr"
#define TG_REC_CHECKPOINT_LEN 121 /* index, offset, time_us, flags, chain, sig */
#define TG_REC_WRITE_BUF (256 * 1024)
/* The header keeps this much of the command; a longer one is whole in a NOTE after it. */
#define TG_REC_HEADER_COMMAND_MAX 4096
#define TG_REC_COMMAND_NOTE_MAX (512 * 1024)

enum tg_rec_type {
	TG_REC_OUT = 0x01,
	TG_REC_ERR = 0x02,
	TG_REC_IN = 0x03,
	TG_REC_IN_HIDDEN = 0x04,
	TG_REC_RESIZE = 0x05,
	TG_REC_DROPPED = 0x06,
	TG_REC_NOTE = 0x07,
	TG_REC_HEADER = 0x10,
	TG_REC_END = 0x11,
	TG_REC_CHECKPOINT = 0x20,
};

/* What the header binds; strings may be NULL (written as empty or null). */
struct tg_rec_meta {
	unsigned char session_id[TG_REC_SESSION_ID_LEN]; /* random, from the recorder */
	const char *user;
	unsigned long uid;
	const char *client_addr;
	unsigned client_port;
	const char *host;
	long sshd_pid;
	uint32_t audit_session; /* tg_audit_session() (the login's, unforgeable); 0: none */
	const char *boot_id; /* tg_boot_id(): the boot the audit session is of; NULL or "": none */
	uint64_t start_us; /* wall clock, Unix epoch microseconds */
	const char *mode;  /* "interactive", "command" or "transfer" */
	const char *command;
	const char *term;
	unsigned cols, rows;
	const char *pam_session_id;
};

/* --- host keys (tollgate-keygen, recorder, replay) --- */

/* Make a new Ed25519 key pair. */
int tg_key_generate(unsigned char pk[32], unsigned char sk[64]);
/* Write the secret key file atomically with mode 0400. */
int tg_key_save_secret(const char *path, const unsigned char sk[64]);
/* The same, owned by uid:gid from the start (set before the rename; -1 keeps ours):
 * TG_ERR_PERM when they cannot be set, and nothing is replaced. */
int tg_key_save_secret_owned(const char *path, const unsigned char sk[64], uid_t uid, gid_t gid);
/* Write the public key file atomically with mode 0444. */
int tg_key_save_public(const char *path, const unsigned char pk[32]);
/* Read a secret key file (regular, not a symlink, not readable by others). */
int tg_key_load_secret(const char *path, unsigned char sk[64]);
/* Read a public key file. */
int tg_key_load_public(const char *path, unsigned char pk[32]);
/* The key id: 16 hex chars of BLAKE2b-256(pk), NUL-terminated. */
void tg_key_id(const unsigned char pk[32], char id[TG_REC_KEY_ID_LEN + 1]);

/* --- writer (tollgate-record) --- */

struct tg_rec_writer;

/*
 * Start a recording on fd (positioned at 0): writes the magic and HEADER,
 * made with a fresh session key certified by host_sk. Time arguments below
 * are session times in microseconds (monotonic, non-decreasing).
 */
int tg_rec_writer_open(struct tg_rec_writer **out, int fd, const struct tg_rec_meta *meta,
                       const unsigned char host_sk[64]);
/* Append one data record (OUT, ERR or IN); len may exceed the payload cap (it is split). */
int tg_rec_write_data(struct tg_rec_writer *w, enum tg_rec_type type, uint64_t time_us,
                      const void *data, size_t len);
int tg_rec_write_resize(struct tg_rec_writer *w, uint64_t time_us, unsigned cols, unsigned rows);
int tg_rec_write_hidden(struct tg_rec_writer *w, uint64_t time_us, uint32_t count);
int tg_rec_write_dropped(struct tg_rec_writer *w, uint64_t time_us, enum tg_rec_type stream,
                         uint64_t count);
/* A NOTE record: json is one JSON object's text. */
int tg_rec_write_note(struct tg_rec_writer *w, uint64_t time_us, const char *json);
/* Write a signed checkpoint covering everything so far, then flush. */
int tg_rec_checkpoint(struct tg_rec_writer *w, uint64_t time_us);
/* Write buffered records to the fd (the writer buffers at most 256 KiB). */
int tg_rec_flush(struct tg_rec_writer *w);
/* Write END (end_json: one JSON object's text) and the seal; flush. */
int tg_rec_seal(struct tg_rec_writer *w, uint64_t time_us, const char *end_json);
/* Chain hash over every record written so far (after seal: the final hash). */
void tg_rec_chain_hash(const struct tg_rec_writer *w, unsigned char out[TG_REC_HASH_LEN]);
/* Bytes written to the file so far, including buffered ones. */
uint64_t tg_rec_writer_offset(const struct tg_rec_writer *w);
/* Wipe the session secret key and free; does not close fd. Safe on NULL. */
void tg_rec_writer_free(struct tg_rec_writer *w);
/* In a process forked from the writer's that will not write (the user's shell before its
 * exec): wipe that process's copy of the session's signing key. */
void tg_rec_writer_forget_key(struct tg_rec_writer *w);

/* --- summary (uploader, replay list/info) --- */

struct tg_rec_summary {
	char session_id[2 * TG_REC_SESSION_ID_LEN + 1];
	char user[256];
	char host[256];
	char client_addr[64];
	unsigned client_port;
	char mode[16];
	char command[1024]; /* truncated if longer */
	int command_cut;    /* it was: the command is longer than command holds */
	char pam_session_id[128];
	uint32_t audit_session; /* the header's, 0: none */
	char boot_id[TG_BOOT_ID_LEN + 1]; /* the header's, "": none */
	char key_id[TG_REC_KEY_ID_LEN + 1];
	uint64_t start_us;
	uint64_t duration_us; /* from a verified END, or the last verified time */
	int has_exit_status;
	int exit_status;
	uint64_t bytes_out, bytes_err, bytes_in;
	int status;              /* TG_OK sealed+intact, TG_ERR_UNSEALED, or the tamper error */
	unsigned version;        /* when TG_ERR_VERSION was returned: the recording's version */
	uint64_t verified_bytes; /* file bytes covered by the last good checkpoint */
	uint64_t verified_time_us;
	uint64_t file_bytes;
	char final_hash[2 * TG_REC_HASH_LEN + 1]; /* hex; empty unless sealed */
};

/* --- reader and verifier (tollgate-replay, uploader) --- */

/*
 * Where a reader's bytes come from: a local file, a pipe, an S3 object stream.
 * read() returns the count of bytes put in buf (1..n), 0 at the end of the
 * input, or a negative TG_ERR_* code. The reader never seeks: one pass.
 * A source's error is the reader's error, never a verdict: one that would
 * read as one (TG_ERR_FORMAT, _LIMIT, _TRUNCATED, _VERSION, ...) is
 * TG_ERR_IO, the others are passed on as they are.
 */
struct tg_rec_source {
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	void *ctx;
};

/* A read callback over a file descriptor: ctx points to an int holding the fd. */
ssize_t tg_rec_fd_read(void *ctx, void *buf, size_t n);

/* The HEADER, parsed and bounds-checked. */
struct tg_rec_header {
	char session_id[2 * TG_REC_SESSION_ID_LEN + 1];
	unsigned char session_id_raw[TG_REC_SESSION_ID_LEN];
	char user[256];
	unsigned long uid;
	char client_addr[64];
	unsigned client_port;
	char host[256];
	long sshd_pid;
	uint32_t audit_session; /* 0: none (no pam_loginuid, or a recorder before it) */
	char boot_id[TG_BOOT_ID_LEN + 1]; /* the boot it was made in; "": none */
	uint64_t start_us;
	char mode[16];
	const char *command; /* NULL when the header has null; owned by the reader */
	char term[128];
	unsigned cols, rows;
	char pam_session_id[128];
	char recorder[128];
	char key_id[TG_REC_KEY_ID_LEN + 1];
	unsigned char session_pk[32];
};

/*
 * One record as the reader yields it. data/len point into the reader's
 * buffer and stay valid until the next call on the reader. A record is
 * yielded before the checkpoint that covers it has been read: whoever needs
 * only verified content verifies first (tg_rec_verify) and reads again.
 */
struct tg_rec_record {
	enum tg_rec_type type;
	uint64_t index;            /* record number; the HEADER is 1 */
	uint64_t offset;           /* byte offset of the record in the file */
	uint64_t time_us;          /* session time */
	const unsigned char *data; /* payload */
	size_t len;
	/* decoded payload fields, by type */
	unsigned cols, rows;     /* RESIZE */
	uint32_t hidden;         /* IN_HIDDEN: bytes typed with echo off */
	enum tg_rec_type stream; /* DROPPED: TG_REC_OUT, _ERR or _IN */
	uint64_t dropped;        /* DROPPED: bytes not stored */
	int final;               /* CHECKPOINT: the seal */
};

/* What verification found, so far or at the end. */
struct tg_rec_verdict {
	/* TG_OK sealed and intact; TG_ERR_UNSEALED; or what was wrong:
	 * TG_ERR_BAD_SIGNATURE, _CHAIN, _FORMAT, _WRONG_KEY, _VERSION */
	int status;
	int key_checked; /* the session key's certificate was checked against a host key */
	int cert_ok;     /* ... and that host key signed it */
	int sealed;
	int truncated;           /* the input ends inside a record or the header */
	uint64_t records;        /* records read, the HEADER included */
	uint64_t bytes;          /* bytes read */
	uint64_t time_us;        /* session time of the last record read */
	uint64_t verified_index; /* last good checkpoint's record number (0: none) */
	uint64_t verified_bytes; /* file bytes covered by it (up to and including it) */
	uint64_t verified_time_us;
	uint64_t fail_index, fail_offset, fail_time_us; /* where a failure was found */
	char reason[192];                               /* "" when status is TG_OK */
	unsigned version; /* TG_ERR_VERSION: the format version the recording has */
	unsigned char final_hash[TG_REC_HASH_LEN];      /* valid when sealed */
	/* the header's session id (lowercase hex; "" when the header could not be read), which
	 * the host key's certificate of the session key covers */
	char session_id[2 * TG_REC_SESSION_ID_LEN + 1];
};

struct tg_rec_reader;

/* Whether a reader takes this HEADER JSON (its fields, their types and limits): the writer
 * checks its own, so that a header it writes is never one every reader refuses (TG_OK, or
 * TG_ERR_FORMAT, TG_ERR_NOMEM). */
int tg_rec_header_check(const char *json, size_t len);

/*
 * Read the magic and the HEADER from src (which the reader then owns until
 * freed, but does not close). host_pk may be NULL: the session key is then
 * not checked against a host key. A header whose certificate fails does not
 * make this fail: the verdict says so. Errors: TG_ERR_TRUNCATED (input ends
 * in the header), TG_ERR_FORMAT, TG_ERR_VERSION, or the source's error.
 */
int tg_rec_reader_open(struct tg_rec_reader **out, const struct tg_rec_source *src,
                       const unsigned char *host_pk);
/*
 * The same; on TG_ERR_VERSION, *version is the format version the recording
 * has (its magic's, or its header's "version"), newer than TG_REC_VERSION.
 */
int tg_rec_reader_open_version(struct tg_rec_reader **out, const struct tg_rec_source *src,
                               const unsigned char *host_pk, unsigned *version);
const struct tg_rec_header *tg_rec_reader_header(const struct tg_rec_reader *r);
/* The HEADER's JSON text as recorded (NUL-terminated). */
const char *tg_rec_reader_header_json(const struct tg_rec_reader *r);
/*
 * The next record after the HEADER: 1 with *rec filled, 0 at the end of the
 * input (also when it ends inside a record: see the verdict), or a negative
 * code when the input cannot be read on (malformed framing or payload, data
 * after the seal, or the source's error). Chain and signature failures are
 * not fatal: they go into the verdict and reading goes on (replay --force).
 */
int tg_rec_reader_next(struct tg_rec_reader *r, struct tg_rec_record *rec)
    __attribute__((warn_unused_result));
/* The verdict so far (final once next() returned 0 or an error). */
void tg_rec_reader_verdict(const struct tg_rec_reader *r, struct tg_rec_verdict *v);
/* Release; safe on NULL. */
void tg_rec_reader_free(struct tg_rec_reader *r);

/*
 * Verify a whole recording in one pass and constant memory. Returns TG_OK
 * when *v holds a verdict (including "ends inside the header": unsealed,
 * nothing verified), or the source's error / TG_ERR_NOMEM.
 */
int tg_rec_verify(const struct tg_rec_source *src, const unsigned char *host_pk,
                  struct tg_rec_verdict *v) __attribute__((warn_unused_result));

/* A short name for a record type ("out", "resize", ...), "?" when unknown. */
const char *tg_rec_type_name(enum tg_rec_type type);

/*
 * Read and verify a whole recording at path. host_pk may be NULL (then the
 * session key's certificate is not checked and status says so only through
 * key_id). Returns TG_OK when the summary was filled (see s->status), or an
 * error when the file could not be read at all or has no valid header.
 */
int tg_rec_summarize(const char *path, const unsigned char *host_pk, struct tg_rec_summary *s);
/* The same over an open file, read from its start with pread (its offset is left alone). */
int tg_rec_summarize_fd(int fd, const unsigned char *host_pk, struct tg_rec_summary *s);
/* The same over any source (an S3 object stream). */
int tg_rec_summarize_source(const struct tg_rec_source *src, const unsigned char *host_pk,
                            struct tg_rec_summary *s);
/*
 * A guess, in the time of two small reads, at what tg_rec_summarize() will
 * say of a sealed recording: the header (and the session key's certificate)
 * from the start of the file, and a seal signed by the session key as its
 * last record, which gives the final hash. TG_OK fills the header fields,
 * status (TG_OK), final_hash and file_bytes; duration and byte counts stay 0.
 * TG_ERR_UNSEALED when the file does not end in such a seal, or an error as
 * tg_rec_summarize(). It checks nothing in between: it lets the uploader start
 * sending a large recording while the full verification runs, and only the
 * full verification's verdict may be trusted.
 */
int tg_rec_summarize_quick(const char *path, const unsigned char *host_pk,
                           struct tg_rec_summary *s);
/* The same over an open file (pread only). */
int tg_rec_summarize_quick_fd(int fd, const unsigned char *host_pk, struct tg_rec_summary *s);

#endif
