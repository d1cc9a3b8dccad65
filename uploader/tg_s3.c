/*
 * The S3 client: requests signed by tg_sigv4 and sent by libcurl (which does
 * no signing of its own), retried with backoff inside one call, streamed
 * from disk in constant memory. See doc/s3.md.
 */
#include "tg_s3.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tg_aws_creds.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_s3_int.h"
#include "tg_sha256.h"
#include "tg_sigv4.h"
#include "tg_spool.h"
#include "tg_utf8.h"

#define MAX_EXTRA_HEADERS 40
#define MAX_META 16
#define MAX_KEY 1024 /* S3's own limit on a key, in bytes */
#define DEFAULT_ATTEMPTS 4
#define DEFAULT_BASE_MS 200
#define DEFAULT_CAP_MS 5000
/* The resume state is rewritten whole, with two fsyncs: after every part while it is small,
 * at most once a second for uploads of many parts (10,000 parts would write about 5 GB of
 * state otherwise). Parts finished since the last write are sent again after a crash. */
#define MPU_SAVE_EVERY_PART_MAX 1000
#define MPU_SAVE_INTERVAL_US 1000000ULL

struct tg_s3 {
	CURL *curl; /* one handle: its connection cache keeps connections alive */
	/* parts go up in parallel, one handle each (the caller's thread uses curl) */
	CURL *pool[TG_S3_MAX_PARALLEL - 1];
	unsigned parallel;
	pthread_mutex_t creds_lock; /* the credentials cache is shared by the part workers */
	struct tg_aws_creds_provider *creds;
	struct tg_s3_addr addr;
	char bucket[64];
	char region[64];
	char *ca_file;
	char sse[16];
	char *kms_key_id;
	char lock_mode[16]; /* "" for none */
	unsigned lock_days;
	char *storage_class;
	uint64_t threshold, part_size;
	unsigned attempts, base_ms, cap_ms;
	unsigned save_every_max;   /* resume state after every part up to this many parts */
	uint64_t save_interval_us; /* beyond: at most this often */
};

/* One request, its body and what its answer fills in. */
struct s3_call {
	const char *method;
	const char *key;   /* NULL: the bucket itself */
	const char *query; /* encoded, without '?'; NULL for none */
	struct tg_sigv4_header hdr[MAX_EXTRA_HEADERS];
	size_t nhdr;
	/* the body: memory, or len bytes of fd from off */
	const void *mem;
	int fd;
	off_t off;
	uint64_t len;
	uint64_t pos;
	const char *payload_hash;
	/* the answer */
	int nobody;
	int (*sink)(void *ctx, const void *p, size_t len);
	void *sink_ctx;
	struct tg_buf *answer; /* 2xx body, when no sink */
	struct tg_buf errbody; /* non-2xx body */
	uint64_t delivered;    /* bytes handed to the sink */
	uint64_t skip;         /* bytes of a 200 answer to drop: the sink had them already */
	char range[48];        /* "bytes=N-" when a cut GET goes on where it stopped */
	char if_match[128];    /* ...and only from the same version of the object */
	uint64_t range_from;   /* N, when it does (if_match set) */
	char content_range[96]; /* Content-Range of the answer ("" when none) */
	int answer_checked;     /* the answer may go to the sink (answer_fits()) */
	int answer_bad;         /* ...or not: res says why */
	int sink_stopped, answer_too_big;
	uint64_t content_length;
	int have_length;
	char checksum[64]; /* x-amz-checksum-sha256 of the answer */
	int read_failed;   /* on_read could not read the body from fd */
	int read_errno;    /* why (0: the file ended early, it shrank) */
	struct tg_s3_result *res;
	CURL *curl; /* the handle that sends it */
};

static void res_clear(struct tg_s3_result *res)
{
	memset(res, 0, sizeof *res);
}

static void res_msg(struct tg_s3_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void res_msg(struct tg_s3_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
}

/* ---- addressing ---- */

static int is_loopback_host(const char *h, size_t n)
{
	size_t i;

	if ((n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0))
		return 1;
	if (n < 4 || strncmp(h, "127.", 4) != 0)
		return 0;
	for (i = 4; i < n; i++)
		if (!isdigit((unsigned char)h[i]) && h[i] != '.')
			return 0;
	return 1;
}

/* An IP address or localhost: no name BUCKET.host can reach it, so virtual-hosted style
 * cannot work (botocore takes path style for these too). */
static int is_ip_or_localhost(const char *h, size_t n)
{
	struct in_addr a4;
	char v4[INET_ADDRSTRLEN];

	if (n > 0 && h[0] == '[')
		return 1;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	if (n >= sizeof v4)
		return 0;
	memcpy(v4, h, n);
	v4[n] = '\0';
	return inet_pton(AF_INET, v4, &a4) == 1;
}

static int bucket_ok(const char *b)
{
	size_t n = strlen(b);

	return n >= 3 && n <= 63 &&
	       strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* A name that can be the first label of a virtual-hosted host name. Not a dotted one (the
 * wildcard certificate would not match), nor an old one with capitals or '_' (host names
 * are matched lower-cased: "Audit_Logs.s3..." is another bucket's, or none) */
static int bucket_dns_label(const char *b)
{
	size_t n = strlen(b);

	return strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789-") == n && b[0] != '-' &&
	       b[n - 1] != '-';
}

int tg_s3_addr_init(struct tg_s3_addr *a, const char *endpoint, const char *region,
                    const char *bucket, int path_style, char *err, size_t errlen)
{
	const char *p, *host, *hend, *pend, *shown;
	size_t hl;
	int n;

	memset(a, 0, sizeof *a);
	if (*bucket == '\0') {
		tg_errf(err, errlen, "[s3] bucket is not set: nothing can be uploaded");
		return TG_ERR_CONFIG;
	}
	if (!bucket_ok(bucket)) {
		tg_errf(err, errlen, "[s3] bucket '%.80s' is not a valid bucket name", bucket);
		return TG_ERR_CONFIG;
	}
	if (*region == '\0' || strlen(region) > 40 ||
	    strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
		tg_errf(err, errlen, "[s3] region '%.80s' is not a valid region", region);
		return TG_ERR_CONFIG;
	}
	if (*endpoint == '\0') {
		/* AWS: virtual-hosted style, unless the name has a dot (the wildcard certificate
		 * would not match) */
		snprintf(a->scheme, sizeof a->scheme, "https");
		a->path_style = path_style || !bucket_dns_label(bucket);
		if (a->path_style)
			n = snprintf(a->host, sizeof a->host, "s3.%s.amazonaws.com", region);
		else
			n = snprintf(a->host, sizeof a->host, "%s.s3.%s.amazonaws.com", bucket,
			             region);
		return n > 0 && (size_t)n < sizeof a->host ? TG_OK : TG_ERR_CONFIG;
	}
	/* a user or query in it may hold a secret (a key pair, a presigned URL's signature):
	 * never echoed, in the log or in the alert to Slack */
	shown = strpbrk(endpoint, "@?#") != NULL ? "(not shown: it has a user, query or fragment)"
	                                         : endpoint;
	if (strncasecmp(endpoint, "https://", 8) == 0) {
		snprintf(a->scheme, sizeof a->scheme, "https");
		host = endpoint + 8;
	} else if (strncasecmp(endpoint, "http://", 7) == 0) {
		snprintf(a->scheme, sizeof a->scheme, "http");
		host = endpoint + 7;
	} else {
		tg_errf(err, errlen, "[s3] endpoint '%.200s' must start with https://", shown);
		return TG_ERR_CONFIG;
	}
	pend = host + strcspn(host, "/?#");
	if (strpbrk(host, "?#") != NULL || memchr(host, '@', (size_t)(pend - host)) != NULL) {
		tg_errf(err, errlen,
		        "[s3] endpoint: no user, query or fragment allowed (not shown: it may hold "
		        "a secret)");
		return TG_ERR_CONFIG;
	}
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(pend - host));
		if (hend == NULL) {
			tg_errf(err, errlen, "[s3] endpoint '%.200s': unclosed '['", shown);
			return TG_ERR_CONFIG;
		}
		hend++;
	} else {
		hend = host + strcspn(host, ":/");
		if (hend > pend)
			hend = pend;
	}
	hl = (size_t)(hend - host);
	if (hl == 0) {
		tg_errf(err, errlen, "[s3] endpoint '%.200s' has no host", shown);
		return TG_ERR_CONFIG;
	}
	for (p = host; p < pend; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			tg_errf(err, errlen, "[s3] endpoint has a space or control character");
			return TG_ERR_CONFIG;
		}
	}
	if (strcmp(a->scheme, "http") == 0 && !is_loopback_host(host, hl)) {
		tg_errf(
		    err, errlen,
		    "[s3] endpoint '%.200s': plain http:// is allowed only to a loopback address "
		    "(127.0.0.0/8, ::1, localhost); use https://",
		    shown);
		return TG_ERR_CONFIG;
	}
	a->path_style = path_style || is_ip_or_localhost(host, hl) || !bucket_dns_label(bucket);
	if (a->path_style)
		n = snprintf(a->host, sizeof a->host, "%.*s", (int)(pend - host), host);
	else
		n = snprintf(a->host, sizeof a->host, "%s.%.*s", bucket, (int)(pend - host), host);
	if (n < 0 || (size_t)n >= sizeof a->host) {
		tg_errf(err, errlen, "[s3] endpoint host is too long");
		return TG_ERR_CONFIG;
	}
	n = snprintf(a->base, sizeof a->base, "%s", pend);
	if (n < 0 || (size_t)n >= sizeof a->base) {
		tg_errf(err, errlen, "[s3] endpoint path is too long");
		return TG_ERR_CONFIG;
	}
	while (a->base[0] != '\0' && a->base[strlen(a->base) - 1] == '/')
		a->base[strlen(a->base) - 1] = '\0';
	return TG_OK;
}

int tg_s3_addr_path(const struct tg_s3_addr *a, const char *bucket, const char *key,
                    struct tg_buf *path)
{
	int r;

	if ((r = tg_buf_puts(path, a->base)) != TG_OK)
		return r;
	if (a->path_style) {
		if ((r = tg_buf_puts(path, "/")) != TG_OK ||
		    (r = tg_sigv4_uri_encode(path, bucket, strlen(bucket), 0)))
			return r;
	}
	if (key == NULL)
		return path->len == 0 ? tg_buf_puts(path, "/") : TG_OK;
	if ((r = tg_buf_puts(path, "/")) != TG_OK)
		return r;
	return tg_sigv4_uri_encode(path, key, strlen(key), 1);
}

/* ---- the bounded XML reader ---- */

/* Decode s[0..n) into out. TG_ERR_LIMIT when it does not fit: *used bytes were written (not
 * NUL-terminated, and the last character may be cut). */
static int xml_decode(const char *s, size_t n, char *out, size_t outlen, size_t *used)
{
	size_t i, o = 0;
	int r = TG_ERR_LIMIT;

	for (i = 0; i < n; i++) {
		unsigned long cp;
		char c = s[i];
		const char *semi;

		if (c == '&') {
			semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
			if (semi == NULL)
				return TG_ERR_PARSE;
			if (strncmp(s + i, "&amp;", 5) == 0)
				cp = '&';
			else if (strncmp(s + i, "&lt;", 4) == 0)
				cp = '<';
			else if (strncmp(s + i, "&gt;", 4) == 0)
				cp = '>';
			else if (strncmp(s + i, "&quot;", 6) == 0)
				cp = '"';
			else if (strncmp(s + i, "&apos;", 6) == 0)
				cp = '\'';
			else if (s[i + 1] == '#') {
				char *end;

				errno = 0;
				cp = (s[i + 2] == 'x' || s[i + 2] == 'X')
				         ? strtoul(s + i + 3, &end, 16)
				         : strtoul(s + i + 2, &end, 10);
				if (end != semi || errno != 0 || cp == 0 || cp > 0x10ffff)
					return TG_ERR_PARSE;
			} else {
				return TG_ERR_PARSE;
			}
			i = (size_t)(semi - s);
			/* UTF-8 encode cp */
			if (cp < 0x80) {
				if (o + 1 >= outlen)
					goto out;
				out[o++] = (char)cp;
			} else if (cp < 0x800) {
				if (o + 2 >= outlen)
					goto out;
				out[o++] = (char)(0xc0 | (cp >> 6));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				if (o + 3 >= outlen)
					goto out;
				out[o++] = (char)(0xe0 | (cp >> 12));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				if (o + 4 >= outlen)
					goto out;
				out[o++] = (char)(0xf0 | (cp >> 18));
				out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			continue;
		}
		if (c == '<')
			return TG_ERR_PARSE; /* a nested element where text was expected */
		if (c == '\0')
			return TG_ERR_PARSE; /* as &#0; is: XML has no NUL, and a C string ends at one */
		if (o + 1 >= outlen)
			goto out;
		out[o++] = c;
	}
	out[o] = '\0';
	r = TG_OK;
out:
	*used = o;
	return r;
}

/* memmem bounded to [from, len) */
static const char *find(const char *xml, size_t len, size_t from, const char *needle)
{
	size_t nl = strlen(needle);

	if (from > len)
		return NULL;
	return memmem(xml + from, len - from, needle, nl);
}

int tg_s3_xml_block(const char *xml, size_t len, size_t *pos, const char *tag, size_t *start,
                    size_t *end)
{
	char open[80], close[80];
	const char *o, *c;

	if (strlen(tag) > 60)
		return TG_ERR_INVALID;
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if ((o = find(xml, len, *pos, open)) == NULL) {
		/* an empty element <Tag/> */
		snprintf(open, sizeof open, "<%s/>", tag);
		if ((o = find(xml, len, *pos, open)) == NULL)
			return TG_ERR_NOT_FOUND;
		*start = *end = (size_t)(o - xml);
		*pos = *start + strlen(open);
		return TG_OK;
	}
	*start = (size_t)(o - xml) + strlen(open);
	if ((c = find(xml, len, *start, close)) == NULL)
		return TG_ERR_PARSE;
	*end = (size_t)(c - xml);
	*pos = *end + strlen(close);
	return TG_OK;
}

/* The longest start of s[0..n) that ends where a UTF-8 character does (an invalid byte counts
 * as one). */
static size_t utf8_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t end = n, i;

	/* walked again over what it keeps until that ends in no character cut in two: a broken
	 * sequence ("\xf0\x90" before a first byte) that a byte past the cut showed broken may
	 * look cut in two once that byte is gone */
	for (;;) {
		i = 0;
		while (i < end) {
			int k = tg_utf8_seq(u + i, end - i);
			size_t step = k > 0    ? (size_t)k
			              : k == 0 ? tg_utf8_invalid_len(u + i, end - i)
			                       : 0;

			if (step == 0) /* a character the cut ends inside */
				break;
			i += step;
		}
		if (i == end)
			return i;
		end = i;
	}
}

static int xml_get(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                   size_t outlen, int cut)
{
	size_t start, end, p = *pos, used = 0;
	int r;

	if (outlen < (cut ? sizeof "..." : 1))
		return TG_ERR_INVALID;
	out[0] = '\0';
	if ((r = tg_s3_xml_block(xml, len, &p, tag, &start, &end)) != TG_OK)
		return r;
	r = xml_decode(xml + start, end - start, out, outlen, &used);
	if (r == TG_ERR_LIMIT && cut) {
		/* what fits, to a character boundary, and "..." to say there was more */
		used =
		    utf8_prefix(out, used < outlen - sizeof "..." ? used : outlen - sizeof "...");
		memcpy(out + used, "...", sizeof "...");
		r = TG_OK;
	}
	if (r != TG_OK) {
		out[0] = '\0'; /* callers that ignore the error still get a string */
		return r;
	}
	*pos = p;
	return TG_OK;
}

int tg_s3_xml_get(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                  size_t outlen)
{
	return xml_get(xml, len, pos, tag, out, outlen, 0);
}

int tg_s3_xml_get_text(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                       size_t outlen)
{
	return xml_get(xml, len, pos, tag, out, outlen, 1);
}

/* ---- errors ---- */

int tg_s3_retryable(long http_status, const char *code, int transport_error)
{
	static const char *const retry_codes[] = {"SlowDown",
	                                          "InternalError",
	                                          "RequestTimeout",
	                                          "ServiceUnavailable",
	                                          "ExpiredToken",
	                                          "ExpiredTokenException",
	                                          "TokenRefreshRequired",
	                                          "Throttling",
	                                          "ThrottlingException",
	                                          "OperationAborted",
	                                          "XAmzContentSHA256Mismatch",
	                                          "BadDigest"};
	size_t i;

	if (transport_error)
		return 1;
	if (http_status >= 500 && http_status != 501)
		return 1;
	if (http_status == 429)
		return 1;
	for (i = 0; code != NULL && i < sizeof retry_codes / sizeof retry_codes[0]; i++)
		if (strcmp(code, retry_codes[i]) == 0)
			return 1;
	return 0;
}

static int expired_token(const char *code)
{
	return strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0 ||
	       strcmp(code, "TokenRefreshRequired") == 0;
}

/* The TG_ERR_* for a failed request, from its result. */
static int result_error(const struct tg_s3_result *res)
{
	if (res->retryable)
		return TG_ERR_RETRY;
	if (res->http_status == 0)
		return TG_ERR_NET;
	if (res->http_status == 403 || res->http_status == 401)
		return TG_ERR_AUTH;
	if (res->http_status == 404)
		return TG_ERR_NOT_FOUND;
	return TG_ERR_HTTP;
}

void tg_s3_retain_until(time_t now, unsigned days, char out[32])
{
	struct tm tm;
	time_t t = now + (time_t)days * 86400;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the client ---- */

static int value_ok(const char *v, size_t max)
{
	size_t i, n = strlen(v);

	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			return 0;
	return 1;
}

int tg_s3_new(struct tg_s3 **out, const struct tg_config *cfg, char *err, size_t errlen)
{
	struct tg_s3 *s3;
	const char *sc = tg_config_str(cfg, TG_CONF_S3_STORAGE_CLASS);
	const char *lock = tg_config_str(cfg, TG_CONF_S3_OBJECT_LOCK_MODE);
	const char *kms = tg_config_str(cfg, TG_CONF_S3_KMS_KEY_ID);
	const char *ca = tg_config_str(cfg, TG_CONF_S3_CA_FILE);
	int r;

	*out = NULL;
	if (sodium_init() < 0)
		return TG_ERR_CRYPTO;
	if ((s3 = calloc(1, sizeof *s3)) == NULL)
		return TG_ERR_NOMEM;
	if (pthread_mutex_init(&s3->creds_lock, NULL) != 0) {
		free(s3);
		return TG_ERR_SYSTEM;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(s3);
		return TG_ERR_NET;
	}
	if ((r = tg_s3_addr_init(&s3->addr, tg_config_str(cfg, TG_CONF_S3_ENDPOINT),
	                         tg_config_str(cfg, TG_CONF_S3_REGION),
	                         tg_config_str(cfg, TG_CONF_S3_BUCKET),
	                         tg_config_bool(cfg, TG_CONF_S3_PATH_STYLE), err, errlen)) != TG_OK)
		goto fail;
	snprintf(s3->bucket, sizeof s3->bucket, "%s", tg_config_str(cfg, TG_CONF_S3_BUCKET));
	snprintf(s3->region, sizeof s3->region, "%s", tg_config_str(cfg, TG_CONF_S3_REGION));
	snprintf(s3->sse, sizeof s3->sse, "%s", tg_config_str(cfg, TG_CONF_S3_SSE));
	if (strcmp(lock, "none") != 0)
		snprintf(s3->lock_mode, sizeof s3->lock_mode, "%s", lock);
	s3->lock_days = (unsigned)tg_config_uint(cfg, TG_CONF_S3_OBJECT_LOCK_DAYS);
	if (s3->lock_mode[0] != '\0' && s3->lock_days == 0) {
		tg_errf(err, errlen, "[s3] object_lock_mode = %s needs object_lock_days > 0", lock);
		r = TG_ERR_CONFIG;
		goto fail;
	}
	if (*kms != '\0' && strcmp(s3->sse, "aws:kms") != 0) {
		tg_errf(err, errlen, "[s3] kms_key_id is set but sse is not aws:kms");
		r = TG_ERR_CONFIG;
		goto fail;
	}
	if (!value_ok(kms, 2048) || !value_ok(sc, 64) || strchr(sc, ' ') != NULL) {
		tg_errf(err, errlen, "[s3] kms_key_id or storage_class holds invalid characters");
		r = TG_ERR_CONFIG;
		goto fail;
	}
	if (*ca != '\0' && access(ca, R_OK) != 0) {
		tg_errf(err, errlen, "[s3] ca_file %.200s: %s", ca, strerror(errno));
		r = TG_ERR_CONFIG;
		goto fail;
	}
	if ((*kms != '\0' && (s3->kms_key_id = strdup(kms)) == NULL) ||
	    (*sc != '\0' && (s3->storage_class = strdup(sc)) == NULL) ||
	    (*ca != '\0' && (s3->ca_file = strdup(ca)) == NULL)) {
		r = TG_ERR_NOMEM;
		goto fail;
	}
	s3->threshold = tg_config_uint(cfg, TG_CONF_UPLOADER_MULTIPART_THRESHOLD);
	s3->part_size = tg_config_uint(cfg, TG_CONF_UPLOADER_PART_SIZE);
	s3->parallel = (unsigned)tg_config_uint(cfg, TG_CONF_UPLOADER_PART_CONCURRENCY);
	if (s3->parallel < 1 || s3->parallel > TG_S3_MAX_PARALLEL)
		s3->parallel = 1;
	s3->attempts = DEFAULT_ATTEMPTS;
	s3->base_ms = DEFAULT_BASE_MS;
	s3->cap_ms = DEFAULT_CAP_MS;
	s3->save_every_max = MPU_SAVE_EVERY_PART_MAX;
	s3->save_interval_us = MPU_SAVE_INTERVAL_US;
	if ((r = tg_aws_creds_provider_new(&s3->creds, cfg, err, errlen)) != TG_OK)
		goto fail;
	if ((s3->curl = curl_easy_init()) == NULL) {
		r = TG_ERR_NOMEM;
		goto fail;
	}
	*out = s3;
	return TG_OK;
fail:
	tg_s3_free(s3);
	return r;
}

void tg_s3_free(struct tg_s3 *s3)
{
	if (s3 == NULL)
		return;
	if (s3->curl != NULL)
		curl_easy_cleanup(s3->curl);
	for (size_t i = 0; i < sizeof s3->pool / sizeof s3->pool[0]; i++)
		if (s3->pool[i] != NULL)
			curl_easy_cleanup(s3->pool[i]);
	pthread_mutex_destroy(&s3->creds_lock);
	tg_aws_creds_provider_free(s3->creds);
	free(s3->ca_file);
	free(s3->kms_key_id);
	free(s3->storage_class);
	free(s3);
	curl_global_cleanup();
}

void tg_s3_set_retry(struct tg_s3 *s3, unsigned attempts, unsigned base_ms, unsigned cap_ms)
{
	s3->attempts = attempts ? attempts : 1;
	s3->base_ms = base_ms;
	s3->cap_ms = cap_ms;
}

void tg_s3_set_parallel(struct tg_s3 *s3, unsigned parts)
{
	s3->parallel = parts < 1 ? 1 : parts > TG_S3_MAX_PARALLEL ? TG_S3_MAX_PARALLEL : parts;
}

void tg_s3_set_resume_saves(struct tg_s3 *s3, unsigned every_part_max, uint64_t interval_us)
{
	s3->save_every_max = every_part_max;
	s3->save_interval_us = interval_us;
}

void tg_s3_set_multipart(struct tg_s3 *s3, uint64_t threshold, uint64_t part_size)
{
	s3->threshold = threshold;
	s3->part_size = part_size < 5ULL * 1024 * 1024 ? 5ULL * 1024 * 1024 : part_size;
}

/* ---- one request ---- */

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct s3_call *call = ctx;
	size_t n = size * nmemb, vl;
	const char *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new answer (after a 100 Continue): forget the last one's headers */
		call->have_length = 0;
		call->checksum[0] = '\0';
		call->content_range[0] = '\0';
		call->res->etag[0] = '\0';
		return n;
	}
	v = memchr(p, ':', n);
	if (v == NULL)
		return n;
	vl = n - (size_t)(v + 1 - p);
	v++;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (strncasecmp(p, "etag:", 5) == 0 && vl < sizeof call->res->etag) {
		memcpy(call->res->etag, v, vl);
		call->res->etag[vl] = '\0';
	} else if (strncasecmp(p, "x-amz-checksum-sha256:", 22) == 0 &&
	           vl < sizeof call->checksum) {
		memcpy(call->checksum, v, vl);
		call->checksum[vl] = '\0';
	} else if (strncasecmp(p, "content-range:", 14) == 0 && vl < sizeof call->content_range) {
		memcpy(call->content_range, v, vl);
		call->content_range[vl] = '\0';
	} else if (strncasecmp(p, "content-length:", 15) == 0 && vl > 0 && vl < 21) {
		char num[24], *end;

		memcpy(num, v, vl);
		num[vl] = '\0';
		errno = 0;
		call->content_length = strtoull(num, &end, 10);
		call->have_length = *end == '\0' && errno == 0;
	}
	return n;
}

struct body_ctx {
	struct s3_call *call;
	CURL *curl;
};

/* "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"; then *total is UINT64_MAX); 0, or -1. */
static int parse_content_range(const char *s, uint64_t *first, uint64_t *last, uint64_t *total)
{
	char *end;

	if (strncmp(s, "bytes ", 6) != 0 || !isdigit((unsigned char)s[6]))
		return -1;
	errno = 0;
	*first = strtoull(s + 6, &end, 10);
	if (*end != '-' || !isdigit((unsigned char)end[1]))
		return -1;
	*last = strtoull(end + 1, &end, 10);
	if (*end != '/' || errno != 0 || *last < *first)
		return -1;
	if (strcmp(end + 1, "*") == 0) {
		*total = UINT64_MAX;
		return 0;
	}
	if (!isdigit((unsigned char)end[1]))
		return -1;
	*total = strtoull(end + 1, &end, 10);
	return *end == '\0' && errno == 0 && *last < *total ? 0 : -1;
}

/*
 * Whether a GET's answer (status 2xx) is the bytes the sink needs next: a resumed GET asked
 * for the rest from range_from of the version it began with. A 206 must say it starts
 * there and runs to the end (another range would splice other bytes in); a 200 is the whole
 * object again (the Range ignored), whose first bytes send_once() drops; either must be of
 * that version when it says which. When not, res says what was answered (an error: no retry,
 * a server that answers so would again).
 */
static int answer_fits(struct s3_call *call, long status)
{
	uint64_t first, last, total, want = call->if_match[0] != '\0' ? call->range_from : 0;

	if (call->if_match[0] != '\0' && call->res->etag[0] != '\0' &&
	    strcmp(call->res->etag, call->if_match) != 0) {
		snprintf(call->res->code, sizeof call->res->code, "ObjectChanged");
		res_msg(call->res, "asked for the rest from byte %llu of ETag %s, answered ETag %s",
		        (unsigned long long)want, call->if_match, call->res->etag);
		return 0;
	}
	if (status != 206)
		return 1;
	if (parse_content_range(call->content_range, &first, &last, &total) == 0 && first == want &&
	    (total == UINT64_MAX || last + 1 == total))
		return 1;
	snprintf(call->res->code, sizeof call->res->code, "BadRange");
	res_msg(call->res, "asked for bytes %llu- (to the end), answered Content-Range \"%.96s\"",
	        (unsigned long long)want, call->content_range);
	return 0;
}

static size_t on_body_h(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct body_ctx *bc = ctx;
	struct s3_call *call = bc->call;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(bc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		/* keep the start of an error answer; drop the rest */
		size_t room = call->errbody.max - call->errbody.len;

		tg_buf_append(&call->errbody, p, n < room ? n : room);
		return n;
	}
	if (call->sink != NULL) {
		if (!call->answer_checked) {
			if (!answer_fits(call, status)) {
				call->answer_bad = 1;
				return 0;
			}
			call->answer_checked = 1;
		}
		if (status == 200 && call->skip > 0) {
			/* a server that ignored our Range: drop what the sink has seen */
			size_t drop = call->skip < n ? (size_t)call->skip : n;

			call->skip -= drop;
			p += drop;
			n -= drop;
			if (n == 0)
				return size * nmemb;
		}
		if (call->sink(call->sink_ctx, p, n) != 0) {
			call->sink_stopped = 1;
			return 0;
		}
		call->delivered += n;
		return size * nmemb;
	}
	if (call->answer != NULL && tg_buf_append(call->answer, p, n) != TG_OK) {
		call->answer_too_big = 1;
		return 0;
	}
	return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct s3_call *call = ctx;
	size_t want = size * nmemb;
	ssize_t got;

	if (call->pos >= call->len)
		return 0;
	if (want > call->len - call->pos)
		want = (size_t)(call->len - call->pos);
	if (call->mem != NULL) {
		memcpy(p, (const char *)call->mem + call->pos, want);
		call->pos += want;
		return want;
	}
	do
		got = pread(call->fd, p, want, call->off + (off_t)call->pos);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		/* the file shrank or failed: never send a short body */
		call->read_failed = 1;
		call->read_errno = got < 0 ? errno : 0;
		return CURL_READFUNC_ABORT;
	}
	call->pos += (uint64_t)got;
	return (size_t)got;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct s3_call *call = ctx;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > call->len)
		return CURL_SEEKFUNC_FAIL;
	call->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int slist_add(struct curl_slist **l, const char *name, const char *value)
{
	struct tg_buf b = TG_BUF_VOID;
	struct curl_slist *t;

	tg_buf_init(&b, 16384);
	/* "Name:" (or "Name:" and blanks) would make libcurl drop the header; "Name;" sends it
	 * empty, as signed (SigV4 trims the blanks off a value) */
	if ((value[strspn(value, " \t")] == '\0'
	         ? tg_buf_printf(&b, "%s;", name)
	         : tg_buf_printf(&b, "%s: %s", name, value)) != TG_OK) {
		tg_buf_free_secret(&b);
		return TG_ERR_LIMIT;
	}
	t = curl_slist_append(*l, tg_buf_str(&b));
	tg_buf_free_secret(&b); /* may hold the session token */
	if (t == NULL)
		return TG_ERR_NOMEM;
	*l = t;
	return TG_OK;
}

static void slist_free_wiped(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i != NULL; i = i->next)
		sodium_memzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static int is_transport_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* Reading the body from the local file failed at byte off (-1: somewhere): errno err, or (0)
 * the file ended there, short of its size at the call. Not S3's doing: retryable, res->local. */
static int local_read_failed(struct tg_s3_result *res, int err, off_t off)
{
	snprintf(res->code, sizeof res->code, "LocalRead");
	if (err != 0 && off >= 0)
		res_msg(res, "cannot read it at byte %lld: %s", (long long)off, strerror(err));
	else if (err != 0)
		res_msg(res, "cannot read it: %s", strerror(err));
	else if (off >= 0)
		res_msg(res, "it ended at byte %lld, short of its size when the upload began",
		        (long long)off);
	else
		res_msg(res, "it ended short of its size when the upload began");
	res->local = 1;
	res->retryable = 1;
	return err != 0 ? TG_ERR_SYSTEM : TG_ERR_TRUNCATED;
}

/* tg_sha256_fd()'s failure r on the file to upload: a read that failed or came short is the
 * file's (local_read_failed), anything else is said as "what: why". */
static int hash_failed(struct tg_s3_result *res, int r, const char *what)
{
	if (r == TG_ERR_SYSTEM || r == TG_ERR_TRUNCATED)
		return local_read_failed(res, r == TG_ERR_SYSTEM ? errno : 0, -1);
	res_msg(res, "%s: %s", what, tg_strerror(r));
	return r;
}

/* Send call once; res describes the outcome. */
static int send_once(struct tg_s3 *s3, struct s3_call *call, int force_creds)
{
	struct tg_s3_result *res = call->res;
	struct tg_aws_creds creds;
	struct tg_sigv4_header hs[MAX_EXTRA_HEADERS + 4];
	struct tg_sigv4_scope scope;
	struct tg_buf path = TG_BUF_VOID, url = TG_BUF_VOID, auth = TG_BUF_VOID;
	struct curl_slist *sl = NULL;
	struct body_ctx bc = {call, call->curl};
	char date[TG_SIGV4_AMZ_DATE_LEN + 1], cerr[512] = "";
	size_t nh = 0, i;
	CURLcode cc;
	long status = 0;
	int r;

	res_clear(res);
	tg_buf_reset(&call->errbody);
	if (call->answer != NULL)
		tg_buf_reset(call->answer);
	call->pos = 0;
	call->skip = call->delivered;
	call->answer_checked = call->answer_bad = 0;
	call->have_length = 0;
	call->checksum[0] = '\0';
	call->answer_too_big = 0;
	call->read_failed = 0;
	tg_buf_init(&path, 8192);
	tg_buf_init(&url, 16384);
	tg_buf_init(&auth, 4096);

	pthread_mutex_lock(&s3->creds_lock);
	r = tg_aws_creds_get(s3->creds, force_creds, &creds, cerr, sizeof cerr);
	pthread_mutex_unlock(&s3->creds_lock);
	if (r != TG_OK) {
		snprintf(res->code, sizeof res->code, "NoCredentials");
		res_msg(res, "%s", cerr);
		/* instance metadata may answer on the next try; a bad config will not */
		res->retryable = r == TG_ERR_NET;
		r = res->retryable ? TG_ERR_RETRY : r == TG_ERR_NOT_FOUND ? TG_ERR_CONFIG : r;
		goto out;
	}
	if ((r = tg_s3_addr_path(&s3->addr, s3->bucket, call->key, &path)) != TG_OK)
		goto out;
	if ((r = tg_buf_printf(&url, "%s://%s%s%s%s", s3->addr.scheme, s3->addr.host,
	                       tg_buf_str(&path), call->query ? "?" : "",
	                       call->query ? call->query : "")) != TG_OK)
		goto out;
	tg_sigv4_amz_date(time(NULL), date);
	hs[nh++] = (struct tg_sigv4_header){"host", s3->addr.host};
	hs[nh++] = (struct tg_sigv4_header){"x-amz-date", date};
	hs[nh++] = (struct tg_sigv4_header){"x-amz-content-sha256", call->payload_hash};
	if (creds.session_token[0] != '\0')
		hs[nh++] = (struct tg_sigv4_header){"x-amz-security-token", creds.session_token};
	for (i = 0; i < call->nhdr; i++)
		hs[nh++] = call->hdr[i];
	scope = (struct tg_sigv4_scope){date, s3->region, "s3"};
	{
		struct tg_sigv4_request req = {call->method, tg_buf_str(&path), call->query, hs,
		                               nh,           call->payload_hash};

		if ((r = tg_sigv4_authorization(&req, 0, &scope, creds.access_key_id,
		                                creds.secret_access_key, &auth)) != TG_OK) {
			res_msg(res, "signing failed: %s", tg_strerror(r));
			goto out;
		}
	}
	for (i = 0; i < nh; i++) {
		if ((r = slist_add(&sl, hs[i].name, hs[i].value)) != TG_OK)
			goto out;
	}
	if ((r = slist_add(&sl, "Authorization", tg_buf_str(&auth))) != TG_OK)
		goto out;
	/* headers libcurl would add on its own: none of them may change what was signed */
	if ((sl = curl_slist_append(sl, "Expect:")) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	if (strcmp(call->method, "POST") == 0) {
		int have_ct = 0;

		for (i = 0; i < call->nhdr; i++)
			have_ct |= strcasecmp(call->hdr[i].name, "content-type") == 0;
		if (!have_ct && (sl = curl_slist_append(sl, "Content-Type:")) == NULL) {
			r = TG_ERR_NOMEM;
			goto out;
		}
	}

	curl_easy_reset(call->curl);
	curl_easy_setopt(call->curl, CURLOPT_URL, tg_buf_str(&url));
	curl_easy_setopt(call->curl, CURLOPT_PROTOCOLS_STR, s3->addr.scheme);
	/* http:// is allowed only to loopback, so that plain text never leaves the host: never
	 * through $http_proxy or $ALL_PROXY, which would get the signature, the session token and
	 * the body in clear text. https keeps the proxy: CONNECT keeps TLS from end to end. */
	if (strcmp(s3->addr.scheme, "http") == 0)
		curl_easy_setopt(call->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(call->curl, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(call->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(call->curl, CURLOPT_FOLLOWLOCATION, 0L);
	/* the path as signed: libcurl would otherwise drop "./" and "x/../" from a key */
	curl_easy_setopt(call->curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(call->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(call->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s3->ca_file != NULL)
		curl_easy_setopt(call->curl, CURLOPT_CAINFO, s3->ca_file);
	curl_easy_setopt(call->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* a stalled transfer (under 1 byte/s for 60 s) is a timeout; a slow big one is not */
	curl_easy_setopt(call->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(call->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(call->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(call->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(call->curl, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(call->curl, CURLOPT_WRITEFUNCTION, on_body_h);
	curl_easy_setopt(call->curl, CURLOPT_WRITEDATA, &bc);
	if (strcmp(call->method, "HEAD") == 0) {
		curl_easy_setopt(call->curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(call->method, "PUT") == 0) {
		curl_easy_setopt(call->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(call->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->len);
	} else if (strcmp(call->method, "POST") == 0) {
		curl_easy_setopt(call->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(call->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
	} else if (strcmp(call->method, "GET") != 0) {
		curl_easy_setopt(call->curl, CURLOPT_CUSTOMREQUEST, call->method);
	}
	if (strcmp(call->method, "PUT") == 0 || strcmp(call->method, "POST") == 0) {
		curl_easy_setopt(call->curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(call->curl, CURLOPT_READDATA, call);
		curl_easy_setopt(call->curl, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(call->curl, CURLOPT_SEEKDATA, call);
	}
	cc = curl_easy_perform(call->curl);
	curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = status;
	if (cc != CURLE_OK) {
		if (call->answer_bad) {
			r = TG_ERR_HTTP; /* answer_fits() said why */
		} else if (call->sink_stopped) {
			snprintf(res->code, sizeof res->code, "Stopped");
			res_msg(res, "the sink stopped the transfer");
			r = TG_ERR_INTERRUPTED;
		} else if (call->read_failed) {
			/* ours, not S3's: the caller retries that file later, S3 is fine */
			res->http_status = 0;
			r = local_read_failed(res, call->read_errno, call->off + (off_t)call->pos);
		} else if (call->answer_too_big) {
			snprintf(res->code, sizeof res->code, "AnswerTooLarge");
			res_msg(res, "the answer is larger than %zu bytes", call->answer->max);
			r = TG_ERR_LIMIT;
		} else {
			res->http_status = status >= 200 ? status : 0;
			snprintf(res->code, sizeof res->code, "Transport");
			res_msg(res, "%s", curl_easy_strerror(cc));
			res->retryable = is_transport_retryable(cc);
			r = res->retryable ? TG_ERR_RETRY : TG_ERR_NET;
		}
		goto out;
	}
	if (status >= 200 && status <= 299) {
		r = TG_OK;
		if (call->sink == NULL)
			goto out;
		if (!call->answer_checked && !answer_fits(call, status)) {
			r = TG_ERR_HTTP; /* no body, so not checked before */
		} else if (status == 200 && call->skip > 0) {
			/* the whole object again, shorter than what the sink has */
			snprintf(res->code, sizeof res->code, "BadRange");
			res_msg(res,
			        "asked for bytes %llu- (to the end), answered a whole object of "
			        "fewer bytes",
			        (unsigned long long)call->range_from);
			r = TG_ERR_HTTP;
		}
		goto out;
	}
	/* an S3 error: <Error><Code>..</Code><Message>..</Message></Error> */
	{
		size_t pos = 0;

		if (call->errbody.len > 0) {
			/* cut when too long: AWS's AccessDenied names the permission missing */
			tg_s3_xml_get_text((const char *)call->errbody.data, call->errbody.len,
			                   &pos, "Code", res->code, sizeof res->code);
			pos = 0;
			tg_s3_xml_get_text((const char *)call->errbody.data, call->errbody.len,
			                   &pos, "Message", res->message, sizeof res->message);
		}
		if (res->code[0] == '\0')
			snprintf(res->code, sizeof res->code, "%s",
			         status == 404   ? "NotFound"
			         : status == 403 ? "AccessDenied"
			         : status == 429 ? "TooManyRequests"
			         : status >= 500 ? "ServiceUnavailable"
			                         : "HttpError");
		if (res->message[0] == '\0')
			res_msg(res, "HTTP %ld", status);
	}
	res->retryable = tg_s3_retryable(status, res->code, 0);
	if (expired_token(res->code) &&
	    (strcmp(creds.source, "config") == 0 || strcmp(creds.source, "env") == 0)) {
		/* nothing refreshes a token from the config or the environment: retrying would
		 * only hide it (a credentials file may be rewritten, instance metadata renews) */
		res->retryable = 0;
		res_msg(res,
		        "the session token from the %s has expired, and nothing here can renew it",
		        strcmp(creds.source, "env") == 0 ? "environment" : "[s3] config");
	}
	r = result_error(res);
out:
	tg_aws_creds_clear(&creds);
	slist_free_wiped(sl);
	tg_buf_free(&path);
	tg_buf_free(&url);
	tg_buf_free(&auth);
	return r;
}

/*
 * A GET cut after the sink got some bytes goes on from there: Range for the
 * rest, If-Match with the first answer's ETag so that a replaced object is
 * refused (412) rather than spliced.
 */
static int resume_get(struct s3_call *call)
{
	if (call->sink == NULL || strcmp(call->method, "GET") != 0)
		return TG_ERR_INVALID;
	if (call->if_match[0] == '\0') {
		if (call->res->etag[0] == '\0' || call->nhdr + 2 > MAX_EXTRA_HEADERS)
			return TG_ERR_INVALID;
		snprintf(call->if_match, sizeof call->if_match, "%s", call->res->etag);
		call->hdr[call->nhdr++] = (struct tg_sigv4_header){"if-match", call->if_match};
		call->hdr[call->nhdr++] = (struct tg_sigv4_header){"range", call->range};
	}
	call->range_from = call->delivered;
	snprintf(call->range, sizeof call->range, "bytes=%llu-",
	         (unsigned long long)call->range_from);
	return TG_OK;
}

/* Send with retries: exponential backoff with full jitter, a bounded number of attempts. */
static int send_call(struct tg_s3 *s3, struct s3_call *call)
{
	unsigned attempt;
	int force = 0, r;

	if (call->curl == NULL)
		call->curl = s3->curl;
	tg_buf_init(&call->errbody, TG_S3_MAX_ERROR_BODY);
	for (attempt = 1;; attempt++) {
		r = send_once(s3, call, force);
		/* a file that cannot be read now will not be in a moment: the caller's backoff */
		if (r == TG_OK || !call->res->retryable || call->res->local ||
		    attempt >= s3->attempts)
			break;
		if (call->delivered > 0 && resume_get(call) != TG_OK)
			break; /* the sink has bytes and we cannot ask for just the rest */
		force = expired_token(call->res->code);
		{
			uint64_t ceil_ms = (uint64_t)s3->base_ms << (attempt < 20 ? attempt : 20);
			uint32_t wait_ms;
			struct timespec ts;

			if (ceil_ms > s3->cap_ms)
				ceil_ms = s3->cap_ms;
			wait_ms = ceil_ms > 0 ? randombytes_uniform((uint32_t)ceil_ms + 1) : 0;
			ts.tv_sec = wait_ms / 1000;
			ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	tg_buf_free(&call->errbody);
	return r;
}

static void call_init(struct s3_call *call, const char *method, const char *key, const char *query,
                      struct tg_s3_result *res)
{
	memset(call, 0, sizeof *call);
	call->method = method;
	call->key = key;
	call->query = query;
	call->fd = -1;
	call->payload_hash = TG_SIGV4_EMPTY_SHA256;
	call->res = res;
	call->curl = NULL; /* send_call: the client's own handle */
}

static int add_header(struct s3_call *call, const char *name, const char *value)
{
	if (call->nhdr == MAX_EXTRA_HEADERS)
		return TG_ERR_LIMIT;
	call->hdr[call->nhdr++] = (struct tg_sigv4_header){name, value};
	return TG_OK;
}

static int key_ok(const char *key)
{
	size_t n;

	if (key == NULL || (n = strlen(key)) == 0 || n > MAX_KEY)
		return 0;
	for (; *key != '\0'; key++)
		if ((unsigned char)*key < 0x20 || *key == 0x7f)
			return 0;
	return 1;
}

/* Storage headers of a new object: metadata, content type, SSE, Object Lock, storage class. */
struct obj_headers {
	char meta_names[MAX_META][160];
	char retain[32];
};

static int add_object_headers(struct tg_s3 *s3, struct s3_call *call,
                              const struct tg_s3_put_opts *opts, struct obj_headers *oh,
                              struct tg_s3_result *res)
{
	size_t i;
	int r = TG_OK;

	if (opts != NULL && opts->content_type != NULL) {
		if (!value_ok(opts->content_type, 256)) {
			res_msg(res, "content_type holds invalid characters");
			return TG_ERR_INVALID;
		}
		r = add_header(call, "content-type", opts->content_type);
	} else {
		r = add_header(call, "content-type", "application/octet-stream");
	}
	if (opts != NULL && opts->nmeta > MAX_META) {
		res_msg(res, "more than %d metadata pairs", MAX_META);
		return TG_ERR_LIMIT;
	}
	for (i = 0; r == TG_OK && opts != NULL && i < opts->nmeta; i++) {
		const char *n = opts->meta[i].name, *v = opts->meta[i].value;

		if (n == NULL || v == NULL || *n == '\0' || strlen(n) > 128 ||
		    strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(n) ||
		    !value_ok(v, 1024)) {
			res_msg(res,
			        "metadata '%.64s': names are lower-case [a-z0-9-_], values "
			        "printable ASCII",
			        n ? n : "");
			return TG_ERR_INVALID;
		}
		snprintf(oh->meta_names[i], sizeof oh->meta_names[i], "x-amz-meta-%s", n);
		r = add_header(call, oh->meta_names[i], v);
	}
	if (r == TG_OK && strcmp(s3->sse, "none") != 0)
		r = add_header(call, "x-amz-server-side-encryption", s3->sse);
	if (r == TG_OK && s3->kms_key_id != NULL)
		r = add_header(call, "x-amz-server-side-encryption-aws-kms-key-id", s3->kms_key_id);
	if (r == TG_OK && s3->lock_mode[0] != '\0') {
		tg_s3_retain_until(time(NULL), s3->lock_days, oh->retain);
		if ((r = add_header(call, "x-amz-object-lock-mode", s3->lock_mode)) == TG_OK)
			r = add_header(call, "x-amz-object-lock-retain-until-date", oh->retain);
	}
	if (r == TG_OK && s3->storage_class != NULL)
		r = add_header(call, "x-amz-storage-class", s3->storage_class);
	return r;
}

struct digest {
	char hex[TG_SIGV4_HEX_LEN + 1];
	char b64[48];
};

static void digest_set(struct digest *d, const unsigned char h[32])
{
	tg_sigv4_hex(h, 32, d->hex);
	sodium_bin2base64(d->b64, sizeof d->b64, h, 32, sodium_base64_VARIANT_ORIGINAL);
}

/* S3 echoes x-amz-checksum-sha256 when it checked ours; a different one means corruption. */
static int check_answer_checksum(const struct s3_call *call, const struct digest *d,
                                 struct tg_s3_result *res)
{
	if (call->checksum[0] != '\0' && strcmp(call->checksum, d->b64) != 0) {
		snprintf(res->code, sizeof res->code, "ChecksumMismatch");
		res_msg(res, "S3 answered x-amz-checksum-sha256 %s, we sent %s", call->checksum,
		        d->b64);
		res->retryable = 1;
		return TG_ERR_RETRY;
	}
	return TG_OK;
}

/* One PUT of a body already hashed: memory (mem) or a file range (fd). */
static int put_object(struct tg_s3 *s3, const char *key, const void *mem, int fd, uint64_t len,
                      const struct digest *d, const struct tg_s3_put_opts *opts,
                      struct tg_s3_result *res)
{
	struct s3_call call;
	struct obj_headers oh;
	int r;

	call_init(&call, "PUT", key, NULL, res);
	call.mem = mem;
	call.fd = fd;
	call.len = len;
	call.payload_hash = d->hex;
	if ((r = add_header(&call, "x-amz-checksum-sha256", d->b64)) != TG_OK ||
	    (r = add_object_headers(s3, &call, opts, &oh, res)) != TG_OK)
		return r;
	if ((r = send_call(s3, &call)) != TG_OK)
		return r;
	return check_answer_checksum(&call, d, res);
}

int tg_s3_put_buffer(struct tg_s3 *s3, const char *key, const void *data, size_t len,
                     const struct tg_s3_put_opts *opts, struct tg_s3_result *res)
{
	unsigned char h[32];
	struct digest d;
	int r;

	res_clear(res);
	if (!key_ok(key) || (data == NULL && len > 0)) {
		res_msg(res, "invalid key or buffer");
		return TG_ERR_INVALID;
	}
	if ((r = tg_sha256_mem(data, len, h)) != TG_OK) {
		res_msg(res, "cannot hash the body");
		return r;
	}
	digest_set(&d, h);
	r = put_object(s3, key, len ? data : "", -1, len, &d, opts, res);
	if (r == TG_OK && opts != NULL && opts->progress != NULL)
		opts->progress(opts->progress_ctx, len, len);
	return r;
}

/* ---- multipart ---- */

static void b64_of_part(char out[48], const unsigned char h[32])
{
	sodium_bin2base64(out, 48, h, 32, sodium_base64_VARIANT_ORIGINAL);
}

int tg_s3_state_format(const struct tg_s3_mpu_state *st, struct tg_buf *out)
{
	unsigned i;
	int r;

	if ((r = tg_buf_puts(out, "tollgate-s3-multipart 1\nkey ")) != TG_OK ||
	    (r = tg_sigv4_uri_encode(out, st->key, strlen(st->key), 1)) != TG_OK ||
	    (r = tg_buf_printf(
	         out, "\nfile %llu %lld %lld %llu\npart_size %llu\nupload_id %s\nparts %u\n",
	         (unsigned long long)st->size, (long long)st->mtime_sec, (long long)st->mtime_nsec,
	         (unsigned long long)st->ino, (unsigned long long)st->part_size, st->upload_id,
	         st->nparts)) != TG_OK)
		return r;
	if (st->headers[0] != '\0' &&
	    (r = tg_buf_printf(out, "headers %s\n", st->headers)) != TG_OK)
		return r;
	for (i = 0; i < st->nparts; i++) {
		if (st->parts[i].etag[0] == '\0')
			continue;
		if ((r = tg_buf_printf(out, "part %u %s %s\n", i + 1, st->parts[i].etag,
		                       st->parts[i].checksum)) != TG_OK)
			return r;
	}
	return tg_buf_puts(out, "end\n");
}

void tg_s3_state_free(struct tg_s3_mpu_state *st)
{
	free(st->parts);
	st->parts = NULL;
	st->nparts = 0;
}

/* A state token: printable ASCII, no space, at most max - 1 bytes. */
static int token_ok(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Percent-decode s[0..n); plus_space: a '+' is a space (form encoding, as ListObjectsV2 with
 * encoding-type=url answers: "a b" as "a+b", "a+b" as "a%2Bb"). */
static int pct_decode(const char *s, size_t n, int plus_space, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned v;

		if (o + 1 >= outlen)
			return TG_ERR_LIMIT;
		if (s[i] == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]) || sscanf(s + i + 1, "%2x", &v) != 1)
				return TG_ERR_FORMAT;
			if (v == 0)
				return TG_ERR_FORMAT;
			out[o++] = (char)v;
			i += 2;
		} else if (s[i] == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return TG_OK;
}

int tg_s3_state_parse(const char *text, size_t len, struct tg_s3_mpu_state *st)
{
	size_t pos = 0, lineno = 0;
	int have_end = 0, r = TG_ERR_FORMAT;
	unsigned seen = 0;

	memset(st, 0, sizeof *st);
	if (len > TG_S3_MAX_STATE || memchr(text, '\0', len) != NULL)
		return TG_ERR_FORMAT;
	while (pos < len) {
		const char *line = text + pos, *eol = memchr(line, '\n', len - pos);
		/* a key of MAX_KEY bytes may take three times as many encoded */
		char buf[3 * sizeof st->key + 16], a[3 * sizeof st->key], b[200], c[64];
		unsigned long long u1, u2, u4, u5;
		long long s1, s2;
		unsigned n;
		int used = 0;

		if (eol == NULL || have_end)
			goto bad; /* every line ends with '\n'; nothing after "end" */
		if ((size_t)(eol - line) >= sizeof buf)
			goto bad;
		memcpy(buf, line, (size_t)(eol - line));
		buf[eol - line] = '\0';
		pos += (size_t)(eol - line) + 1;
		lineno++;
		if (lineno == 1) {
			if (strcmp(buf, "tollgate-s3-multipart 1") != 0)
				goto bad;
		} else if (strncmp(buf, "key ", 4) == 0 && !(seen & 1)) {
			if (!token_ok(buf + 4, strlen(buf + 4), sizeof a) ||
			    pct_decode(buf + 4, strlen(buf + 4), 0, st->key, sizeof st->key) !=
			        TG_OK ||
			    st->key[0] == '\0')
				goto bad;
			seen |= 1;
		} else if (sscanf(buf, "file %llu %lld %lld %llu%n", &u1, &s1, &s2, &u2, &used) ==
		               4 &&
		           buf[used] == '\0' && !(seen & 2)) {
			st->size = u1;
			st->mtime_sec = s1;
			st->mtime_nsec = s2;
			st->ino = u2;
			seen |= 2;
		} else if (sscanf(buf, "part_size %llu%n", &u4, &used) == 1 && buf[used] == '\0' &&
		           !(seen & 4)) {
			if (u4 < 1024 * 1024 || u4 > 5ULL * 1024 * 1024 * 1024)
				goto bad;
			st->part_size = u4;
			seen |= 4;
		} else if (strncmp(buf, "upload_id ", 10) == 0 && !(seen & 8)) {
			if (!token_ok(buf + 10, strlen(buf + 10), sizeof st->upload_id))
				goto bad;
			snprintf(st->upload_id, sizeof st->upload_id, "%s", buf + 10);
			seen |= 8;
		} else if (sscanf(buf, "parts %llu%n", &u5, &used) == 1 && buf[used] == '\0' &&
		           !(seen & 16) && (seen & 7) == 7) {
			if (u5 == 0 || u5 > TG_S3_MAX_PARTS)
				goto bad;
			if (st->part_size == 0 ||
			    (st->size + st->part_size - 1) / st->part_size != u5)
				goto bad;
			st->nparts = (unsigned)u5;
			if ((st->parts = calloc(st->nparts, sizeof *st->parts)) == NULL) {
				r = TG_ERR_NOMEM;
				goto bad;
			}
			seen |= 16;
		} else if (strncmp(buf, "headers ", 8) == 0 && !(seen & 32)) {
			size_t k, hl = strlen(buf + 8);

			if (hl != sizeof st->headers - 1)
				goto bad;
			for (k = 0; k < hl; k++)
				if (!isxdigit((unsigned char)buf[8 + k]) ||
				    isupper((unsigned char)buf[8 + k]))
					goto bad;
			memcpy(st->headers, buf + 8, hl + 1);
			seen |= 32;
		} else if (strncmp(buf, "part ", 5) == 0 && (seen & 16)) {
			if (sscanf(buf, "part %u %199s %63s%n", &n, b, c, &used) != 3 ||
			    buf[used] != '\0')
				goto bad;
			if (n == 0 || n > st->nparts || st->parts[n - 1].etag[0] != '\0')
				goto bad;
			if (!token_ok(b, strlen(b), sizeof st->parts[0].etag) ||
			    !token_ok(c, strlen(c), sizeof st->parts[0].checksum))
				goto bad;
			snprintf(st->parts[n - 1].etag, sizeof st->parts[n - 1].etag, "%s", b);
			snprintf(st->parts[n - 1].checksum, sizeof st->parts[n - 1].checksum, "%s",
			         c);
		} else if (strcmp(buf, "end") == 0) {
			have_end = 1;
		} else {
			goto bad;
		}
	}
	if (!have_end || (seen & 31) != 31)
		goto bad;
	return TG_OK;
bad:
	tg_s3_state_free(st);
	return r;
}

/* dirname and basename of a state path, for tg_spool_write */
static int split_path(const char *path, char *dir, size_t dirlen, char *name, size_t namelen)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(dir, dirlen, ".");
	else if (slash == path)
		n = snprintf(dir, dirlen, "/");
	else
		n = snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= dirlen)
		return TG_ERR_LIMIT;
	n = snprintf(name, namelen, "%s", slash ? slash + 1 : path);
	if (n <= 0 || (size_t)n >= namelen)
		return TG_ERR_INVALID;
	return TG_OK;
}

static int state_save(const char *path, const struct tg_s3_mpu_state *st)
{
	struct tg_buf b = TG_BUF_VOID;
	char dir[PATH_MAX], name[256];
	int r, err;

	if ((r = split_path(path, dir, sizeof dir, name, sizeof name)) != TG_OK)
		return r;
	tg_buf_init(&b, TG_S3_MAX_STATE);
	if ((r = tg_s3_state_format(st, &b)) == TG_OK)
		r = tg_spool_write(dir, name, b.data, b.len, 0600);
	err = errno;
	tg_buf_free(&b);
	errno = err;
	return r;
}

/*
 * A resume state that could not be saved (state_save's r) does not stop the upload: it only
 * spares sending parts again after a crash, and the file must leave the host. For lack of
 * space (ENOSPC, a quota) the spool may be full of the very file going up, which only its
 * upload frees; any other failure (EIO, EACCES, a name the folder cannot take) is no reason to
 * keep it either, and none is S3's to be blamed for. A crash meanwhile resumes from an older
 * state (or starts over): parts are sent again. Said once per upload (*warned), not at every
 * part.
 */
static void state_save_failed(int r, const char *path, int *warned)
{
	if (!*warned)
		tg_warn("the resume state %s cannot be written (%s): the upload goes on without it",
		        path, r == TG_ERR_SYSTEM ? strerror(errno) : tg_strerror(r));
	*warned = 1;
}

static void state_remove(const char *path)
{
	char dir[PATH_MAX], name[256];

	if (path != NULL && split_path(path, dir, sizeof dir, name, sizeof name) == TG_OK)
		tg_spool_remove(dir, name);
}

int tg_s3_abort_multipart(struct tg_s3 *s3, const char *key, const char *upload_id,
                          struct tg_s3_result *res)
{
	struct tg_buf q = TG_BUF_VOID;
	struct s3_call call;
	int r;

	res_clear(res);
	if (!key_ok(key) || upload_id == NULL || *upload_id == '\0')
		return TG_ERR_INVALID;
	tg_buf_init(&q, 4096);
	if ((r = tg_buf_puts(&q, "uploadId=")) != TG_OK ||
	    (r = tg_sigv4_uri_encode(&q, upload_id, strlen(upload_id), 0)) != TG_OK)
		goto out;
	call_init(&call, "DELETE", key, tg_buf_str(&q), res);
	r = send_call(s3, &call);
	if (r != TG_OK && strcmp(res->code, "NoSuchUpload") == 0)
		r = TG_OK; /* already gone: what we wanted */
out:
	tg_buf_free(&q);
	return r;
}

static int mpu_initiate(struct tg_s3 *s3, const char *key, const struct tg_s3_put_opts *opts,
                        struct tg_s3_mpu_state *st, struct tg_s3_result *res)
{
	struct tg_buf ans = TG_BUF_VOID;
	struct obj_headers oh;
	struct s3_call call;
	size_t pos = 0;
	int r;

	tg_buf_init(&ans, 64 * 1024);
	call_init(&call, "POST", key, "uploads", res);
	call.answer = &ans;
	call.mem = "";
	if ((r = add_header(&call, "x-amz-checksum-algorithm", "SHA256")) != TG_OK ||
	    (r = add_object_headers(s3, &call, opts, &oh, res)) != TG_OK)
		goto out;
	if ((r = send_call(s3, &call)) != TG_OK)
		goto out;
	if (tg_s3_xml_get((const char *)ans.data, ans.len, &pos, "UploadId", st->upload_id,
	                  sizeof st->upload_id) != TG_OK ||
	    !token_ok(st->upload_id, strlen(st->upload_id), sizeof st->upload_id)) {
		snprintf(res->code, sizeof res->code, "MalformedAnswer");
		res_msg(res, "CreateMultipartUpload answered no usable UploadId");
		res->retryable = 1;
		r = TG_ERR_RETRY;
	}
out:
	tg_buf_free(&ans);
	return r;
}

static int mpu_part(struct tg_s3 *s3, CURL *curl, const char *key, int fd,
                    const struct tg_s3_mpu_state *st, unsigned n, struct tg_s3_part *part,
                    struct tg_s3_result *res)
{
	struct tg_buf q = TG_BUF_VOID;
	unsigned char h[32];
	struct digest d;
	struct s3_call call;
	off_t off = (off_t)((uint64_t)(n - 1) * st->part_size);
	uint64_t len =
	    st->size - (uint64_t)off < st->part_size ? st->size - (uint64_t)off : st->part_size;
	int r;

	tg_buf_init(&q, 4096);
	if ((r = tg_sha256_fd(fd, off, len, h)) != TG_OK) {
		char what[48];

		snprintf(what, sizeof(what), "reading part %u of the file", n);
		r = hash_failed(res, r, what);
		goto out;
	}
	digest_set(&d, h);
	if ((r = tg_buf_printf(&q, "partNumber=%u&uploadId=", n)) != TG_OK ||
	    (r = tg_sigv4_uri_encode(&q, st->upload_id, strlen(st->upload_id), 0)) != TG_OK)
		goto out;
	call_init(&call, "PUT", key, tg_buf_str(&q), res);
	call.fd = fd;
	call.off = off;
	call.len = len;
	call.payload_hash = d.hex;
	call.curl = curl;
	if ((r = add_header(&call, "x-amz-checksum-sha256", d.b64)) != TG_OK)
		goto out;
	if ((r = send_call(s3, &call)) != TG_OK)
		goto out;
	if ((r = check_answer_checksum(&call, &d, res)) != TG_OK)
		goto out;
	if (!token_ok(res->etag, strlen(res->etag), sizeof part->etag)) {
		snprintf(res->code, sizeof res->code, "MalformedAnswer");
		res_msg(res, "UploadPart %u answered no usable ETag", n);
		res->retryable = 1;
		r = TG_ERR_RETRY;
		goto out;
	}
	snprintf(part->etag, sizeof part->etag, "%s", res->etag);
	b64_of_part(part->checksum, h);
out:
	tg_buf_free(&q);
	return r;
}

static int mpu_complete(struct tg_s3 *s3, const char *key, const struct tg_s3_mpu_state *st,
                        struct tg_s3_result *res)
{
	struct tg_buf body = TG_BUF_VOID, ans = TG_BUF_VOID, q = TG_BUF_VOID;
	unsigned char h[32];
	struct s3_call call;
	char hex[TG_SIGV4_HEX_LEN + 1];
	size_t pos = 0, s, e;
	unsigned i;
	int r;

	tg_buf_init(&body, TG_S3_MAX_STATE);
	tg_buf_init(&ans, 64 * 1024);
	tg_buf_init(&q, 4096);
	if ((r = tg_buf_puts(
	         &body,
	         "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">")))
		goto out;
	for (i = 0; i < st->nparts; i++) {
		/* ETags are quoted hex and checksums base64: nothing to escape but the quotes */
		const char *t = st->parts[i].etag;

		if ((r = tg_buf_printf(&body, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1)) !=
		    TG_OK)
			goto out;
		for (; *t != '\0' && r == TG_OK; t++)
			r = *t == '"'   ? tg_buf_puts(&body, "&quot;")
			    : *t == '&' ? tg_buf_puts(&body, "&amp;")
			    : *t == '<' ? tg_buf_puts(&body, "&lt;")
			                : tg_buf_append(&body, t, 1);
		if (r != TG_OK ||
		    (r = tg_buf_printf(&body, "</ETag><ChecksumSHA256>%s</ChecksumSHA256></Part>",
		                       st->parts[i].checksum)) != TG_OK)
			goto out;
	}
	if ((r = tg_buf_puts(&body, "</CompleteMultipartUpload>")) != TG_OK)
		goto out;
	crypto_hash_sha256(h, body.data, body.len);
	tg_sigv4_hex(h, 32, hex);
	if ((r = tg_buf_puts(&q, "uploadId=")) != TG_OK ||
	    (r = tg_sigv4_uri_encode(&q, st->upload_id, strlen(st->upload_id), 0)) != TG_OK)
		goto out;
	call_init(&call, "POST", key, tg_buf_str(&q), res);
	call.mem = body.data;
	call.len = body.len;
	call.payload_hash = hex;
	call.answer = &ans;
	if ((r = add_header(&call, "content-type", "application/xml")) != TG_OK)
		goto out;
	if ((r = send_call(s3, &call)) != TG_OK)
		goto out;
	/* a 200 answer may still carry an <Error> (S3 sends the status before it knows) */
	if (tg_s3_xml_block((const char *)ans.data, ans.len, &pos, "Error", &s, &e) == TG_OK) {
		size_t p2 = s;

		tg_s3_xml_get_text((const char *)ans.data, e, &p2, "Code", res->code,
		                   sizeof res->code);
		p2 = s;
		tg_s3_xml_get_text((const char *)ans.data, e, &p2, "Message", res->message,
		                   sizeof res->message);
		res->retryable = tg_s3_retryable(500, res->code, 0);
		r = result_error(res);
		goto out;
	}
	pos = 0;
	if (memmem(ans.data ? (const char *)ans.data : "", ans.len,
	           "<CompleteMultipartUploadResult", 30) == NULL ||
	    tg_s3_xml_get((const char *)ans.data, ans.len, &pos, "ETag", res->etag,
	                  sizeof res->etag) != TG_OK) {
		snprintf(res->code, sizeof res->code, "MalformedAnswer");
		res_msg(res, "CompleteMultipartUpload answered no result");
		res->retryable = 1;
		r = TG_ERR_RETRY;
	}
out:
	tg_buf_free(&body);
	tg_buf_free(&ans);
	tg_buf_free(&q);
	return r;
}

/* The parts still missing, sent by up to s3->parallel workers that share one state. */
struct mpu_run {
	struct tg_s3 *s3;
	const char *key;
	int fd;
	struct tg_s3_mpu_state *st;
	const struct tg_s3_put_opts *opts;
	pthread_mutex_t lock; /* guards everything below, st->parts, the state file, progress */
	unsigned next;
	uint64_t done;
	uint64_t saved_us; /* when the resume state was last written (tg_mono_us) */
	int saved;         /* it was, in this run */
	int unsaved;       /* it could not be (said once) */
	int failed;
	int rc;
	struct tg_s3_result res; /* the first failure */
};

struct mpu_worker {
	struct mpu_run *run;
	CURL *curl;
};

static uint64_t part_len(const struct tg_s3_mpu_state *st, unsigned i)
{
	uint64_t off = (uint64_t)i * st->part_size;

	return st->size - off < st->part_size ? st->size - off : st->part_size;
}

static void *mpu_worker_main(void *arg)
{
	struct mpu_worker *w = arg;
	struct mpu_run *run = w->run;
	struct tg_s3_mpu_state *st = run->st;
	const char *resume = run->opts ? run->opts->resume_path : NULL;

	for (;;) {
		struct tg_s3_part part;
		struct tg_s3_result res;
		unsigned i;
		int r;

		pthread_mutex_lock(&run->lock);
		while (run->next < st->nparts && st->parts[run->next].etag[0] != '\0')
			run->next++;
		if (run->failed || run->next >= st->nparts) {
			pthread_mutex_unlock(&run->lock);
			break;
		}
		i = run->next++;
		pthread_mutex_unlock(&run->lock);

		memset(&part, 0, sizeof part);
		/* mpu_part fills only the message when it fails before a request (read, hash) */
		res_clear(&res);
		r = mpu_part(run->s3, w->curl, run->key, run->fd, st, i + 1, &part, &res);

		pthread_mutex_lock(&run->lock);
		if (r == TG_OK) {
			uint64_t now = tg_mono_us();

			st->parts[i] = part;
			/* the first part always: a clock that started less than an interval ago
			 * (a machine just booted) must not keep it unsaved */
			if (resume != NULL &&
			    (!run->saved || st->nparts <= run->s3->save_every_max ||
			     now - run->saved_us >= run->s3->save_interval_us)) {
				if ((r = state_save(resume, st)) != TG_OK) {
					state_save_failed(r, resume, &run->unsaved);
					r = TG_OK;
				}
				run->saved_us = now;
				run->saved = 1;
			}
		}
		if (r != TG_OK) {
			if (!run->failed) {
				run->failed = 1;
				run->rc = r;
				run->res = res;
			}
			pthread_mutex_unlock(&run->lock);
			break;
		}
		run->done += part_len(st, i);
		/* under the lock: the callback never runs in two threads at once */
		if (run->opts != NULL && run->opts->progress != NULL)
			run->opts->progress(run->opts->progress_ctx, run->done, st->size);
		pthread_mutex_unlock(&run->lock);
	}
	return NULL;
}

static int mpu_parts(struct tg_s3 *s3, const char *key, int fd, struct tg_s3_mpu_state *st,
                     const struct tg_s3_put_opts *opts, struct tg_s3_result *res)
{
	struct mpu_run run;
	struct mpu_worker w[TG_S3_MAX_PARALLEL];
	pthread_t tids[TG_S3_MAX_PARALLEL];
	unsigned i, missing = 0, nthreads = 0, want;

	memset(&run, 0, sizeof run);
	run.s3 = s3;
	run.key = key;
	run.fd = fd;
	run.st = st;
	run.opts = opts;
	for (i = 0; i < st->nparts; i++) {
		if (st->parts[i].etag[0] != '\0')
			run.done += part_len(st, i);
		else
			missing++;
	}
	if (pthread_mutex_init(&run.lock, NULL) != 0)
		return TG_ERR_SYSTEM;
	want = missing < s3->parallel ? missing : s3->parallel;
	/* the calling thread is worker 0; the others get a handle of their own */
	for (i = 1; i < want; i++) {
		if (s3->pool[i - 1] == NULL && (s3->pool[i - 1] = curl_easy_init()) == NULL)
			break;
		w[i].run = &run;
		w[i].curl = s3->pool[i - 1];
		if (pthread_create(&tids[nthreads], NULL, mpu_worker_main, &w[i]) != 0)
			break; /* fewer workers, same result */
		nthreads++;
	}
	w[0].run = &run;
	w[0].curl = s3->curl;
	mpu_worker_main(&w[0]);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&run.lock);
	if (run.failed) {
		*res = run.res;
		return run.rc;
	}
	return TG_OK;
}

static uint64_t choose_part_size(uint64_t size, uint64_t want)
{
	uint64_t mib = 1024 * 1024, need = (size + TG_S3_MAX_PARTS - 1) / TG_S3_MAX_PARTS;

	if (want < need)
		want = (need + mib - 1) / mib * mib;
	return want;
}

/* A state loaded from resume_path that matches this upload, or none. */
/*
 * What an upload's object headers were: a resumed upload is completed with
 * the headers it was created with, so it may only be resumed by a caller who
 * asks for the same ones (the uploader's metadata carries a verdict).
 */
static void headers_fingerprint(const struct tg_s3_put_opts *opts, char out[65])
{
	crypto_hash_sha256_state h;
	unsigned char d[32];
	size_t i;

	crypto_hash_sha256_init(&h);
	if (opts != NULL) {
		const char *ct = opts->content_type ? opts->content_type : "";

		crypto_hash_sha256_update(&h, (const unsigned char *)ct, strlen(ct) + 1);
		for (i = 0; i < opts->nmeta; i++) {
			crypto_hash_sha256_update(&h, (const unsigned char *)opts->meta[i].name,
			                          strlen(opts->meta[i].name) + 1);
			crypto_hash_sha256_update(&h, (const unsigned char *)opts->meta[i].value,
			                          strlen(opts->meta[i].value) + 1);
		}
	}
	crypto_hash_sha256_final(&h, d);
	tg_sigv4_hex(d, sizeof d, out);
}

/* The resume state at path into st: TG_ERR_NOT_FOUND when there is none or it cannot be read,
 * the parser's error when it is not well-formed. */
/* The resume state at path: TG_OK, TG_ERR_NOT_FOUND (none), TG_ERR_FORMAT (no state file: torn,
 * edited, too long, not a regular file, a symlink, a name too long), or, for one that cannot be
 * read now (EIO, EMFILE, ENOMEM: tg_err_transient()), its error. */
static int state_read(const char *path, struct tg_s3_mpu_state *st)
{
	struct tg_buf b = TG_BUF_VOID;
	int r;

	tg_buf_init(&b, TG_S3_MAX_STATE);
	if ((r = tg_read_file(path, TG_S3_MAX_STATE, &b)) == TG_OK)
		r = tg_s3_state_parse((const char *)b.data, b.len, st);
	else if (r != TG_ERR_NOT_FOUND && !tg_err_transient(r, errno))
		r = TG_ERR_FORMAT;
	tg_buf_free(&b);
	return r;
}

static int state_load(struct tg_s3 *s3, const char *path, const char *key, const struct stat *sb,
                      const char *headers, struct tg_s3_mpu_state *st, struct tg_s3_result *res)
{
	struct tg_s3_result ares;
	int r, err;

	r = state_read(path, st);
	err = errno;
	if (r == TG_ERR_FORMAT)
		state_remove(path); /* torn or edited */
	if (r == TG_ERR_NOT_FOUND || r == TG_ERR_FORMAT)
		return TG_ERR_NOT_FOUND; /* none, or unusable: start over */
	if (r != TG_OK) {
		/* there, but not to be read now: neither started over (its upload would be left
		 * to be billed, the whole file sent again) nor removed; tried again later */
		snprintf(res->code, sizeof res->code, "LocalState");
		res_msg(res, "cannot read the resume state %s: %s", path,
		        r == TG_ERR_SYSTEM ? strerror(err) : tg_strerror(r));
		res->local = 1;
		res->retryable = 1;
		return r;
	}
	if (strcmp(st->key, key) != 0 || st->size != (uint64_t)sb->st_size ||
	    st->mtime_sec != sb->st_mtim.tv_sec || st->mtime_nsec != sb->st_mtim.tv_nsec ||
	    st->ino != (uint64_t)sb->st_ino || strcmp(st->headers, headers) != 0) {
		/* another file, another version of it, or other headers: the old upload is an
		 * orphan */
		tg_s3_abort_multipart(s3, st->key, st->upload_id, &ares);
		(void)res;
		tg_s3_state_free(st);
		state_remove(path);
		return TG_ERR_NOT_FOUND;
	}
	return TG_OK;
}

static int put_multipart(struct tg_s3 *s3, const char *key, int fd, const struct stat *sb,
                         const struct tg_s3_put_opts *opts, struct tg_s3_result *res)
{
	const char *resume = opts ? opts->resume_path : NULL;
	struct tg_s3_put_opts unsaved;
	struct tg_s3_mpu_state st;
	struct tg_s3_result ares;
	char headers[65];
	int r, restarts = 0, unsaved_warned = 0;

	headers_fingerprint(opts, headers);
again:
	memset(&st, 0, sizeof st);
	if (resume != NULL && (r = state_load(s3, resume, key, sb, headers, &st, res)) != TG_OK &&
	    r != TG_ERR_NOT_FOUND)
		goto out; /* there, but not to be read now */
	if (resume == NULL || r != TG_OK) {
		snprintf(st.key, sizeof st.key, "%s", key);
		memcpy(st.headers, headers, sizeof st.headers);
		st.size = (uint64_t)sb->st_size;
		st.mtime_sec = sb->st_mtim.tv_sec;
		st.mtime_nsec = sb->st_mtim.tv_nsec;
		st.ino = (uint64_t)sb->st_ino;
		st.part_size = choose_part_size(st.size, s3->part_size);
		st.nparts = (unsigned)((st.size + st.part_size - 1) / st.part_size);
		if ((st.parts = calloc(st.nparts, sizeof *st.parts)) == NULL)
			return TG_ERR_NOMEM;
		if ((r = mpu_initiate(s3, key, opts, &st, res)) != TG_OK)
			goto out;
		if (resume != NULL && (r = state_save(resume, &st)) != TG_OK) {
			/* this run has no state to resume from: as without resume_path, a
			 * failure aborts the upload rather than leave its parts behind */
			state_save_failed(r, resume, &unsaved_warned);
			unsaved = *opts;
			unsaved.resume_path = NULL;
			opts = &unsaved;
			resume = NULL;
			r = TG_OK;
		}
	}
	r = mpu_parts(s3, key, fd, &st, opts, res);
	if (r != TG_OK && strcmp(res->code, "NoSuchUpload") == 0 && restarts++ == 0) {
		/* the upload id is gone (aborted, or expired by a lifecycle rule): start over */
		tg_s3_state_free(&st);
		state_remove(resume);
		goto again;
	}
	if (r != TG_OK)
		goto out;
	if (opts != NULL && opts->before_complete != NULL &&
	    (r = opts->before_complete(opts->before_complete_ctx, res)) != TG_OK) {
		/* withdrawn: neither completed later by a resume nor left to be billed */
		tg_s3_abort_multipart(s3, key, st.upload_id, &ares);
		state_remove(resume);
		st.upload_id[0] = '\0';
		goto out;
	}
	r = mpu_complete(s3, key, &st, res);
	if (r != TG_OK && strcmp(res->code, "InvalidPart") == 0 && restarts++ == 0) {
		/* S3 has not got a part as the resume state recorded it: sending the state
		 * again would fail again, forever; an upload started afresh does not */
		tg_s3_abort_multipart(s3, key, st.upload_id, &ares);
		tg_s3_state_free(&st);
		state_remove(resume);
		goto again;
	}
	if (r != TG_OK && strcmp(res->code, "NoSuchUpload") == 0 && restarts++ == 0) {
		tg_s3_state_free(&st);
		state_remove(resume);
		goto again;
	}
	if (r == TG_OK)
		state_remove(resume);
out:
	if (r != TG_OK && resume == NULL && st.upload_id[0] != '\0' &&
	    strcmp(res->code, "NoSuchUpload") != 0) {
		/* nothing to resume from: do not leave parts behind to be billed */
		tg_s3_abort_multipart(s3, key, st.upload_id, &ares);
	}
	tg_s3_state_free(&st);
	return r;
}

/* A resume state left by an earlier multipart attempt at a file that now goes up in one PUT
 * (the threshold was raised): its upload is an orphan, aborted; then the state goes. */
static void drop_resume(struct tg_s3 *s3, const char *path)
{
	struct tg_s3_mpu_state st;
	struct tg_s3_result ares;

	memset(&st, 0, sizeof st);
	if (state_read(path, &st) == TG_OK) {
		tg_s3_abort_multipart(s3, st.key, st.upload_id, &ares);
		tg_s3_state_free(&st);
	}
	state_remove(path);
}

int tg_s3_put_file(struct tg_s3 *s3, const char *key, const char *path,
                   const struct tg_s3_put_opts *opts, struct tg_s3_result *res)
{
	int fd, r;

	res_clear(res);
	if (!key_ok(key)) {
		res_msg(res, "invalid object key");
		return TG_ERR_INVALID;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		res_msg(res, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	}
	r = tg_s3_put_fd(s3, key, fd, path, opts, res);
	close(fd);
	return r;
}

int tg_s3_put_fd(struct tg_s3 *s3, const char *key, int fd, const char *what,
                 const struct tg_s3_put_opts *opts, struct tg_s3_result *res)
{
	struct stat sb;
	unsigned char h[32];
	struct digest d;
	int r;

	res_clear(res);
	if (!key_ok(key)) {
		res_msg(res, "invalid object key");
		return TG_ERR_INVALID;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		res_msg(res, "%s: not a regular file", what);
		return TG_ERR_INVALID;
	}
	if ((uint64_t)sb.st_size >= s3->threshold) {
		if ((r = put_multipart(s3, key, fd, &sb, opts, res)) != TG_OK)
			goto out;
		return r;
	}
	if ((r = tg_sha256_fd(fd, 0, (uint64_t)sb.st_size, h)) != TG_OK) {
		r = hash_failed(res, r, "hashing failed");
		goto out;
	}
	digest_set(&d, h);
	r = put_object(s3, key, sb.st_size == 0 ? "" : NULL, fd, (uint64_t)sb.st_size, &d, opts,
	               res);
out:
	if (r != TG_OK && res->local) {
		char msg[sizeof res->message];

		/* say which file: the caller's name for it */
		snprintf(msg, sizeof msg, "%s", res->message);
		res_msg(res, "%s: %s", what, msg);
	}
	if (r != TG_OK)
		return r;
	if (opts != NULL && opts->resume_path != NULL && access(opts->resume_path, F_OK) == 0)
		drop_resume(s3, opts->resume_path);
	if (opts != NULL && opts->progress != NULL)
		opts->progress(opts->progress_ctx, (uint64_t)sb.st_size, (uint64_t)sb.st_size);
	return TG_OK;
}

/* ---- reads ---- */

int tg_s3_get(struct tg_s3 *s3, const char *key, int (*sink)(void *ctx, const void *p, size_t len),
              void *ctx, struct tg_s3_result *res)
{
	struct s3_call call;

	res_clear(res);
	if (!key_ok(key) || sink == NULL) {
		res_msg(res, "invalid key or sink");
		return TG_ERR_INVALID;
	}
	call_init(&call, "GET", key, NULL, res);
	call.sink = sink;
	call.sink_ctx = ctx;
	return send_call(s3, &call);
}

int tg_s3_head(struct tg_s3 *s3, const char *key, uint64_t *size, struct tg_s3_result *res)
{
	struct s3_call call;
	int r;

	res_clear(res);
	if (!key_ok(key)) {
		res_msg(res, "invalid key");
		return TG_ERR_INVALID;
	}
	call_init(&call, "HEAD", key, NULL, res);
	if ((r = send_call(s3, &call)) != TG_OK)
		return r;
	if (size != NULL)
		*size = call.have_length ? call.content_length : 0;
	return TG_OK;
}

static int list_page(const char *xml, size_t len, int url_encoded,
                     int (*cb)(void *ctx, const char *key, uint64_t size,
                               const char *last_modified),
                     void *ctx, int *stopped)
{
	size_t pos = 0, s, e;
	int r;

	while ((r = tg_s3_xml_block(xml, len, &pos, "Contents", &s, &e)) == TG_OK) {
		char key[MAX_KEY * 3 + 1], dec[MAX_KEY + 1], size[32], lm[64], *end;
		size_t p = s;
		unsigned long long sz;

		if (tg_s3_xml_get(xml, e, &p, "Key", key, sizeof key) != TG_OK)
			return TG_ERR_FORMAT;
		p = s;
		if (tg_s3_xml_get(xml, e, &p, "Size", size, sizeof size) != TG_OK)
			return TG_ERR_FORMAT;
		p = s;
		if (tg_s3_xml_get(xml, e, &p, "LastModified", lm, sizeof lm) != TG_OK)
			lm[0] = '\0';
		errno = 0;
		sz = strtoull(size, &end, 10);
		if (*end != '\0' || errno != 0 || size[0] == '\0')
			return TG_ERR_FORMAT;
		if (url_encoded) {
			if (pct_decode(key, strlen(key), 1, dec, sizeof dec) != TG_OK)
				return TG_ERR_FORMAT;
		} else {
			if (strlen(key) >= sizeof dec)
				return TG_ERR_FORMAT;
			snprintf(dec, sizeof dec, "%s", key);
		}
		if (cb(ctx, dec, sz, lm) != 0) {
			*stopped = 1;
			return TG_OK;
		}
	}
	return r == TG_ERR_NOT_FOUND ? TG_OK : TG_ERR_FORMAT;
}

int tg_s3_list(struct tg_s3 *s3, const char *prefix,
               int (*cb)(void *ctx, const char *key, uint64_t size, const char *last_modified),
               void *ctx, struct tg_s3_result *res)
{
	struct tg_buf ans = TG_BUF_VOID, q = TG_BUF_VOID;
	char token[2048] = "", trunc[16], enc[16];
	struct s3_call call;
	int r, stopped = 0;

	res_clear(res);
	if (cb == NULL || (prefix != NULL && strlen(prefix) > MAX_KEY))
		return TG_ERR_INVALID;
	tg_buf_init(&ans, TG_S3_MAX_XML);
	tg_buf_init(&q, 8192);
	for (;;) {
		size_t pos = 0;

		tg_buf_reset(&q);
		if (token[0] != '\0') {
			if ((r = tg_buf_puts(&q, "continuation-token=")) != TG_OK ||
			    (r = tg_sigv4_uri_encode(&q, token, strlen(token), 0)) != TG_OK ||
			    (r = tg_buf_puts(&q, "&")) != TG_OK)
				goto out;
		}
		if ((r = tg_buf_puts(&q, "encoding-type=url&list-type=2&prefix=")) != TG_OK ||
		    (r = tg_sigv4_uri_encode(&q, prefix ? prefix : "", prefix ? strlen(prefix) : 0,
		                             0)) != TG_OK)
			goto out;
		call_init(&call, "GET", NULL, tg_buf_str(&q), res);
		call.answer = &ans;
		if ((r = send_call(s3, &call)) != TG_OK)
			goto out;
		pos = 0;
		r = tg_s3_xml_get((const char *)ans.data, ans.len, &pos, "EncodingType", enc,
		                  sizeof enc);
		if ((r = list_page((const char *)ans.data, ans.len,
		                   r == TG_OK && strcmp(enc, "url") == 0, cb, ctx, &stopped)) !=
		    TG_OK) {
			snprintf(res->code, sizeof res->code, "MalformedAnswer");
			res_msg(res, "ListObjectsV2 answered malformed XML");
			goto out;
		}
		if (stopped)
			break;
		pos = 0;
		if (tg_s3_xml_get((const char *)ans.data, ans.len, &pos, "IsTruncated", trunc,
		                  sizeof trunc) != TG_OK ||
		    strcmp(trunc, "true") != 0)
			break;
		{
			char next[sizeof token];

			pos = 0;
			if (tg_s3_xml_get((const char *)ans.data, ans.len, &pos,
			                  "NextContinuationToken", next, sizeof next) != TG_OK ||
			    next[0] == '\0' || strcmp(next, token) == 0) {
				/* truncated without a new token: stop rather than loop forever */
				snprintf(res->code, sizeof res->code, "MalformedAnswer");
				res_msg(res, "ListObjectsV2 is truncated but gives no new "
				             "continuation token");
				r = TG_ERR_FORMAT;
				goto out;
			}
			snprintf(token, sizeof token, "%s", next);
		}
	}
	r = TG_OK;
out:
	tg_buf_free(&ans);
	tg_buf_free(&q);
	return r;
}
