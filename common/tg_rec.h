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

#define TG_REC_MAGIC "TGREC\x00\x01\n"
#define TG_REC_MAGIC_LEN 8
#define TG_REC_MAX_PAYLOAD (1024 * 1024)
#define TG_REC_MAX_HEADER (64 * 1024)
#define TG_REC_HASH_LEN 32
#define TG_REC_SESSION_ID_LEN 16
#define TG_REC_KEY_ID_LEN 16 /* hex chars */
#define TG_REC_EXT ".tgr"

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
int tg_rec_write_data(struct tg_rec_writer *w, enum tg_rec_type type, uint64_t time_us, const void *data,
		      size_t len);
int tg_rec_write_resize(struct tg_rec_writer *w, uint64_t time_us, unsigned cols, unsigned rows);
int tg_rec_write_hidden(struct tg_rec_writer *w, uint64_t time_us, uint32_t count);
int tg_rec_write_dropped(struct tg_rec_writer *w, uint64_t time_us, enum tg_rec_type stream, uint64_t count);
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

/* --- summary (uploader, replay list/info) --- */

struct tg_rec_summary {
	char session_id[2 * TG_REC_SESSION_ID_LEN + 1];
	char user[256];
	char host[256];
	char client_addr[64];
	unsigned client_port;
	char mode[16];
	char command[1024]; /* truncated if longer */
	char pam_session_id[128];
	char key_id[TG_REC_KEY_ID_LEN + 1];
	uint64_t start_us;
	uint64_t duration_us;  /* from END, or the last verified time */
	int has_exit_status;
	int exit_status;
	uint64_t bytes_out, bytes_err, bytes_in;
	int status;            /* TG_OK sealed+intact, TG_ERR_UNSEALED, or the tamper error */
	uint64_t verified_bytes;  /* file bytes covered by the last good checkpoint */
	uint64_t verified_time_us;
	uint64_t file_bytes;
	char final_hash[2 * TG_REC_HASH_LEN + 1]; /* hex; empty unless sealed */
};

/*
 * Read and verify a whole recording at path. host_pk may be NULL (then the
 * session key's certificate is not checked and status says so only through
 * key_id). Returns TG_OK when the summary was filled (see s->status), or an
 * error when the file could not be read at all or has no valid header.
 */
int tg_rec_summarize(const char *path, const unsigned char *host_pk, struct tg_rec_summary *s);

#endif
