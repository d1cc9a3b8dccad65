/*
 * S3 client: SigV4 signed by hand (libsodium SHA-256/HMAC), libcurl only
 * sends. Used by tollgate-uploader (writes) and tollgate-replay (reads).
 * Never linked into the PAM module. A program using it ignores SIGPIPE (a
 * TLS peer that resets the connection must not end it) and keeps one client
 * for its lifetime: connections and cached credentials are reused. Not for
 * use from two threads at once (it starts its own workers for multipart).
 */
#ifndef TG_S3_H
#define TG_S3_H

#include <stddef.h>
#include <stdint.h>

#include "tg_config.h"

struct tg_s3;

/* The outcome of one request, for logs, alerts and retry decisions. */
struct tg_s3_result {
	long http_status;   /* 0 when no HTTP answer arrived */
	char code[64];      /* S3 error Code (e.g. "NoSuchBucket", "SlowDown"), or "" */
	char message[256];  /* S3 error Message or the transport error */
	int retryable;      /* 5xx, 429, SlowDown, timeouts, resets, ExpiredToken */
	int local;          /* reading the file to upload failed (an I/O error, or it shrank): S3
	                     * refused nothing; retryable is set, message names the file */
	char etag[128];
};

/* One x-amz-meta-* pair. */
struct tg_s3_meta {
	const char *name;  /* without the x-amz-meta- prefix, lower case */
	const char *value;
};

struct tg_s3_put_opts {
	const char *content_type;         /* default application/octet-stream */
	const struct tg_s3_meta *meta;
	size_t nmeta;
	/*
	 * Multipart uploads keep their progress (upload id, finished parts) in
	 * this file so that a restarted uploader resumes instead of starting
	 * over; NULL: no resume. A state that cannot be written is warned
	 * about (tg_log) and the upload goes on without it.
	 */
	const char *resume_path;
	/* Called after each part (done, total bytes) for progress bars; may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	/*
	 * Multipart only: called once every part is in, before the upload is
	 * completed (again after a restart). Anything but TG_OK withdraws the
	 * upload: it is aborted, its resume state removed, and put_file returns
	 * that code (res says why). May be NULL.
	 */
	int (*before_complete)(void *ctx, struct tg_s3_result *res);
	void *before_complete_ctx;
};

/* Make a client from the [s3] section; err says what is wrong with it. */
int tg_s3_new(struct tg_s3 **out, const struct tg_config *cfg, char *err, size_t errlen);
void tg_s3_free(struct tg_s3 *s3);

/* Upload a file (PUT, or multipart at or above multipart_threshold), streamed. */
int tg_s3_put_file(struct tg_s3 *s3, const char *key, const char *path, const struct tg_s3_put_opts *opts,
		   struct tg_s3_result *res);
/* The same from an open file (read with pread only, from offset 0 to its size at the call;
 * what names it in messages): what was checked through fd is what goes up. */
int tg_s3_put_fd(struct tg_s3 *s3, const char *key, int fd, const char *what,
                 const struct tg_s3_put_opts *opts, struct tg_s3_result *res);
/* Upload a small buffer with one PUT. */
int tg_s3_put_buffer(struct tg_s3 *s3, const char *key, const void *data, size_t len,
		     const struct tg_s3_put_opts *opts, struct tg_s3_result *res);
/* Stream an object to sink; a sink returning non-zero stops the transfer. A transfer cut
 * midway goes on from where it stopped (Range, If-Match); an answer to that with other bytes
 * than the rest is TG_ERR_HTTP, res->code "BadRange" or "ObjectChanged". */
int tg_s3_get(struct tg_s3 *s3, const char *key, int (*sink)(void *ctx, const void *p, size_t len), void *ctx,
	      struct tg_s3_result *res);
/* List keys under prefix (ListObjectsV2, all pages); cb non-zero stops. */
int tg_s3_list(struct tg_s3 *s3, const char *prefix,
	       int (*cb)(void *ctx, const char *key, uint64_t size, const char *last_modified), void *ctx,
	       struct tg_s3_result *res);
/* HEAD an object; TG_ERR_NOT_FOUND when it does not exist. */
int tg_s3_head(struct tg_s3 *s3, const char *key, uint64_t *size, struct tg_s3_result *res);

/*
 * Return codes of the calls above: TG_OK; TG_ERR_RETRY when res->retryable
 * (5xx, 429, SlowDown, timeouts, resets, ExpiredToken: keep the file, back
 * off, try again later); TG_ERR_AUTH (403), TG_ERR_NOT_FOUND (404: NoSuchKey,
 * NoSuchBucket), TG_ERR_HTTP (another status), TG_ERR_NET (TLS or another
 * transport error that retrying does not fix), TG_ERR_CONFIG (no credentials
 * anywhere; res->code "NoCredentials"), TG_ERR_PERM or TG_ERR_PARSE (an unsafe
 * or malformed credentials file), TG_ERR_INVALID (bad key or options),
 * TG_ERR_INTERRUPTED (a sink stopped a GET). Each call already retried up to
 * its attempt limit. An upload whose file cannot be read to its size at the
 * call returns TG_ERR_SYSTEM (errno's message in res) or TG_ERR_TRUNCATED (it
 * shrank) with res->local and res->retryable set, at once: not S3's doing.
 */

/* Retries inside one call: at most attempts tries, waits drawn from
 * [0, min(cap_ms, base_ms * 2^n)] (full jitter). Default 4, 200 ms, 5 s. */
void tg_s3_set_retry(struct tg_s3 *s3, unsigned attempts, unsigned base_ms, unsigned cap_ms);
/* Parts of one multipart upload sent at once, 1 to TG_S3_MAX_PARALLEL
 * ([uploader] part_concurrency). Parts go up from worker threads, each with
 * its own connection; progress is still called from one thread at a time. */
#define TG_S3_MAX_PARALLEL 16
void tg_s3_set_parallel(struct tg_s3 *s3, unsigned parts);
/* How often a multipart upload's resume state is written: after every part for uploads of at
 * most every_part_max parts (default 1,000), else at most once per interval_us (default 1 s). */
void tg_s3_set_resume_saves(struct tg_s3 *s3, unsigned every_part_max, uint64_t interval_us);
/* Override [uploader] multipart_threshold and part_size (parts are at least 5 MiB). */
void tg_s3_set_multipart(struct tg_s3 *s3, uint64_t threshold, uint64_t part_size);
/* AbortMultipartUpload; an upload that is already gone counts as success. */
int tg_s3_abort_multipart(struct tg_s3 *s3, const char *key, const char *upload_id, struct tg_s3_result *res);

#endif
