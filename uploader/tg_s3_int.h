/*
 * Internals of the S3 client shared with its unit tests (tests/test_tg_s3.c):
 * endpoint parsing and addressing, the bounded XML reader, error
 * classification, and the multipart resume state file.
 */
#ifndef TG_S3_INT_H
#define TG_S3_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tg_buf.h"

#define TG_S3_MAX_PARTS 10000
#define TG_S3_MAX_STATE (2 * 1024 * 1024) /* a resume state file is at most this large */
#define TG_S3_MAX_XML (16 * 1024 * 1024)  /* an XML answer is at most this large */
#define TG_S3_MAX_ERROR_BODY (16 * 1024)

/* Where requests go: scheme://host[/base]/[bucket/]key. */
struct tg_s3_addr {
	char scheme[8]; /* "https", or "http" to loopback only */
	char host[256]; /* host[:port] sent as Host (the bucket prepended when virtual-hosted) */
	char base[256]; /* "" or "/base" from the endpoint, without a trailing '/' */
	int path_style; /* the bucket is the first path segment */
};

/*
 * Work out the addressing from the [s3] endpoint (empty: AWS in region),
 * path_style and the bucket. Plain http:// is refused unless the host is a
 * loopback address; err says why.
 */
int tg_s3_addr_init(struct tg_s3_addr *a, const char *endpoint, const char *region,
                    const char *bucket, int path_style, char *err, size_t errlen);
/* The request path ("/bucket/key" or "/key", encoded) and full URL of key (NULL: the bucket). */
int tg_s3_addr_path(const struct tg_s3_addr *a, const char *bucket, const char *key,
                    struct tg_buf *path);

/*
 * Find the first <tag>text</tag> in xml[0..len) at or after *pos, decode
 * XML entities into out (NUL-terminated, at most outlen - 1 bytes) and move
 * *pos past it. TG_ERR_NOT_FOUND when absent, TG_ERR_LIMIT when too long,
 * TG_ERR_PARSE on a bad entity or an unclosed element.
 */
int tg_s3_xml_get(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                  size_t outlen);
/* The same for text that is only shown (an error's Code and Message): a value too long for out
 * is cut where a UTF-8 character ends and marked with "..." (TG_OK). Values whose exact bytes
 * matter (UploadId, Key, ETag, NextContinuationToken) go through tg_s3_xml_get, which refuses
 * them. outlen is at least 4. */
int tg_s3_xml_get_text(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                       size_t outlen);
/* Bounds of the next <tag>...</tag> block at or after *pos: [*start, *end) is its inside. */
int tg_s3_xml_block(const char *xml, size_t len, size_t *pos, const char *tag, size_t *start,
                    size_t *end);

/* Whether a failed request is worth repeating: transport errors, 5xx, 429, SlowDown, ExpiredToken.
 */
int tg_s3_retryable(long http_status, const char *code, int transport_error);
/* x-amz-object-lock-retain-until-date for now + days, "YYYY-MM-DDTHH:MM:SSZ". */
void tg_s3_retain_until(time_t now, unsigned days, char out[32]);

/* Progress of one multipart upload, as kept in the resume state file. */
struct tg_s3_part {
	char etag[128];    /* as S3 answered it, quotes included; "" while not uploaded */
	char checksum[48]; /* base64 SHA-256 of the part */
};

struct tg_s3_mpu_state {
	char key[1200]; /* the object key, decoded */
	uint64_t size;  /* identity of the source file when the upload began */
	int64_t mtime_sec, mtime_nsec;
	uint64_t ino;
	uint64_t part_size;
	char upload_id[1024];
	/* hex SHA-256 of the object headers the upload was created with (content type,
	 * metadata); empty in a state written before it was kept */
	char headers[65];
	unsigned nparts;
	struct tg_s3_part *parts; /* nparts entries, index 0 is part 1 */
};

/* Text of a state (appended to out). */
int tg_s3_state_format(const struct tg_s3_mpu_state *st, struct tg_buf *out);
/* Parse a state file's text; st->parts allocated (free with tg_s3_state_free). TG_ERR_FORMAT when
 * corrupt. */
int tg_s3_state_parse(const char *text, size_t len, struct tg_s3_mpu_state *st);
void tg_s3_state_free(struct tg_s3_mpu_state *st);

#endif
