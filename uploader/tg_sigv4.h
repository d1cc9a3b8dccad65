/*
 * AWS Signature Version 4, by hand: canonical request, string to sign,
 * signing key, Authorization header. SHA-256 and HMAC-SHA-256 come from
 * libsodium. Nothing here does I/O; the caller sends the request.
 */
#ifndef TG_SIGV4_H
#define TG_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tg_buf.h"

#define TG_SIGV4_HEX_LEN 64      /* a hex SHA-256 without its NUL */
#define TG_SIGV4_AMZ_DATE_LEN 16 /* "YYYYMMDDTHHMMSSZ" */
/* Caps on what one request may carry (a bound for every buffer below). */
#define TG_SIGV4_MAX_CANONICAL (256 * 1024)
#define TG_SIGV4_MAX_HEADERS 64

/* The SHA-256 of an empty payload, in hex. */
#define TG_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Canonicalise the path as every service but S3 wants it (RFC 3986 dot
 * segments removed, '//' collapsed, each segment encoded twice). */
#define TG_SIGV4_NORMALIZE_PATH 0x1

struct tg_sigv4_header {
	const char *name; /* any case; lower-cased when signed */
	const char *value;
};

/*
 * One request as it goes on the wire. path and query are the encoded forms
 * sent (query without '?'); they are decoded and re-encoded the AWS way, so
 * either a strictly encoded or a loosely encoded form signs the same.
 * Every header given is signed (include host and x-amz-date).
 */
struct tg_sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct tg_sigv4_header *headers;
	size_t nheaders;
	const char *payload_hash; /* lower-case hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
};

struct tg_sigv4_scope {
	const char *date;    /* x-amz-date, "YYYYMMDDTHHMMSSZ" */
	const char *region;  /* e.g. "us-east-1" */
	const char *service; /* e.g. "s3" */
};

/* Hex SHA-256 of len bytes into out (65 bytes with the NUL). */
void tg_sigv4_sha256_hex(const void *p, size_t len, char out[TG_SIGV4_HEX_LEN + 1]);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void tg_sigv4_hex(const unsigned char *p, size_t n, char *out);
/* Format t as an x-amz-date into out (17 bytes). */
void tg_sigv4_amz_date(time_t t, char out[TG_SIGV4_AMZ_DATE_LEN + 1]);

/*
 * Append s (len bytes) URI-encoded the AWS way to out: A-Z a-z 0-9 - _ . ~
 * kept, every other byte as %XX (upper-case hex); '/' kept when keep_slash.
 */
int tg_sigv4_uri_encode(struct tg_buf *out, const char *s, size_t len, int keep_slash);

/* The canonical request; signed_headers gets "host;x-amz-date;..." (both appended). */
int tg_sigv4_canonical_request(const struct tg_sigv4_request *req, unsigned flags,
                               struct tg_buf *out, struct tg_buf *signed_headers);
/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of creq>", appended to out. */
int tg_sigv4_string_to_sign(const struct tg_sigv4_scope *scope, const char *creq, size_t creq_len,
                            struct tg_buf *out);
/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, yyyymmdd), region), service), "aws4_request"). */
int tg_sigv4_signing_key(unsigned char out[32], const char *secret,
                         const struct tg_sigv4_scope *scope);
/*
 * The whole Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=..."), appended to out. Every intermediate
 * holding the secret is wiped before return.
 */
int tg_sigv4_authorization(const struct tg_sigv4_request *req, unsigned flags,
                           const struct tg_sigv4_scope *scope, const char *access_key_id,
                           const char *secret, struct tg_buf *out);

#endif
