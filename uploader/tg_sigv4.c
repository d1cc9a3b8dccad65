#include "tg_sigv4.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tg_error.h"

#define MAX_QUERY_PAIRS 256
#define MAX_SEGMENTS 1024

void tg_sigv4_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void tg_sigv4_sha256_hex(const void *p, size_t len, char out[TG_SIGV4_HEX_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, len);
	tg_sigv4_hex(h, sizeof h, out);
}

void tg_sigv4_amz_date(time_t t, char out[TG_SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, TG_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int tg_sigv4_uri_encode(struct tg_buf *out, const char *s, size_t len, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			r = tg_buf_append(out, &c, 1);
		} else {
			esc[0] = '%';
			esc[1] = digits[c >> 4];
			esc[2] = digits[c & 0xf];
			r = tg_buf_append(out, esc, 3);
		}
		if (r != TG_OK)
			return r;
	}
	return TG_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into out; a '%' not followed by two hex digits stays as is. */
static int uri_decode(struct tg_buf *out, const char *s, size_t len)
{
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (unsigned char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		if ((r = tg_buf_append(out, &c, 1)) != TG_OK)
			return r;
	}
	return TG_OK;
}

/* Decode then encode one piece (a path segment, a query name or value). */
static int recode(struct tg_buf *out, const char *s, size_t len, int times)
{
	struct tg_buf dec = TG_BUF_VOID, tmp = TG_BUF_VOID;
	int r;

	tg_buf_init(&dec, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&tmp, TG_SIGV4_MAX_CANONICAL);
	if ((r = uri_decode(&dec, s, len)) != TG_OK)
		goto out;
	if (times == 2) {
		if ((r = tg_sigv4_uri_encode(&tmp, tg_buf_str(&dec), dec.len, 0)) != TG_OK)
			goto out;
		r = tg_sigv4_uri_encode(out, tg_buf_str(&tmp), tmp.len, 0);
	} else {
		r = tg_sigv4_uri_encode(out, tg_buf_str(&dec), dec.len, 0);
	}
out:
	tg_buf_free(&dec);
	tg_buf_free(&tmp);
	return r;
}

struct segment {
	const char *p;
	size_t len;
};

static int canonical_path(struct tg_buf *out, const char *path, unsigned flags)
{
	struct segment *segs = NULL;
	size_t nsegs = 0, i;
	const char *p, *end;
	int trailing, r = TG_OK;

	if (path == NULL || *path == '\0')
		path = "/";
	if (!(flags & TG_SIGV4_NORMALIZE_PATH)) {
		/* S3: keep every segment as it is, empty ones included */
		p = path;
		for (;;) {
			end = strchr(p, '/');
			if (end == NULL)
				end = p + strlen(p);
			if ((r = recode(out, p, (size_t)(end - p), 1)) != TG_OK)
				return r;
			if (*end == '\0')
				break;
			if ((r = tg_buf_append(out, "/", 1)) != TG_OK)
				return r;
			p = end + 1;
		}
		if (path[0] != '/' && out->len == 0)
			return tg_buf_append(out, "/", 1);
		return TG_OK;
	}
	if ((segs = calloc(MAX_SEGMENTS, sizeof *segs)) == NULL)
		return TG_ERR_NOMEM;
	p = path;
	trailing = 0;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			trailing = 1;
			break;
		}
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		trailing = *end == '/';
		if (end - p == 1 && p[0] == '.') {
			trailing = 1;
		} else if (end - p == 2 && p[0] == '.' && p[1] == '.') {
			if (nsegs > 0)
				nsegs--;
			trailing = 1;
		} else {
			if (nsegs == MAX_SEGMENTS) {
				r = TG_ERR_LIMIT;
				goto out;
			}
			segs[nsegs].p = p;
			segs[nsegs].len = (size_t)(end - p);
			nsegs++;
		}
		p = end;
	}
	for (i = 0; i < nsegs; i++) {
		if ((r = tg_buf_append(out, "/", 1)) != TG_OK)
			goto out;
		if ((r = recode(out, segs[i].p, segs[i].len, 2)) != TG_OK)
			goto out;
	}
	if (nsegs == 0 || trailing)
		r = tg_buf_append(out, "/", 1);
out:
	free(segs);
	return r;
}

struct qpair {
	char *name; /* encoded */
	char *value;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static int canonical_query(struct tg_buf *out, const char *query)
{
	struct qpair *pairs = NULL;
	size_t n = 0, i;
	const char *p, *end, *eq;
	struct tg_buf b = TG_BUF_VOID;
	int r = TG_OK;

	if (query == NULL || *query == '\0')
		return TG_OK;
	if ((pairs = calloc(MAX_QUERY_PAIRS, sizeof *pairs)) == NULL)
		return TG_ERR_NOMEM;
	for (p = query; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p)
			continue;
		if (n == MAX_QUERY_PAIRS) {
			r = TG_ERR_LIMIT;
			goto out;
		}
		eq = memchr(p, '=', (size_t)(end - p));
		tg_buf_init(&b, TG_SIGV4_MAX_CANONICAL);
		if ((r = recode(&b, p, (size_t)((eq ? eq : end) - p), 1)) != TG_OK)
			goto out;
		pairs[n].name = strdup(tg_buf_str(&b));
		tg_buf_free(&b);
		tg_buf_init(&b, TG_SIGV4_MAX_CANONICAL);
		if (eq != NULL && (r = recode(&b, eq + 1, (size_t)(end - eq - 1), 1)) != TG_OK)
			goto out;
		pairs[n].value = strdup(tg_buf_str(&b));
		tg_buf_free(&b);
		n++;
		if (pairs[n - 1].name == NULL || pairs[n - 1].value == NULL) {
			r = TG_ERR_NOMEM;
			goto out;
		}
	}
	qsort(pairs, n, sizeof *pairs, qpair_cmp);
	for (i = 0; i < n; i++) {
		if ((r = tg_buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].name,
		                       pairs[i].value)) != TG_OK)
			goto out;
	}
out:
	tg_buf_free(&b);
	for (i = 0; i < n; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	return r;
}

struct hdr {
	char name[128]; /* lower-cased */
	size_t index;   /* position in the request, to keep the order of repeated headers */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The value with leading and trailing blanks removed and inner runs of blanks made one space. */
static int append_trimmed(struct tg_buf *out, const char *v)
{
	int space = 0, started = 0, r;

	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\r' || c == '\n')
			return TG_ERR_INVALID;
		if (c == ' ' || c == '\t') {
			space = started;
			continue;
		}
		if (space && (r = tg_buf_append(out, " ", 1)) != TG_OK)
			return r;
		space = 0;
		started = 1;
		if ((r = tg_buf_append(out, &c, 1)) != TG_OK)
			return r;
	}
	return TG_OK;
}

static int canonical_headers(struct tg_buf *out, struct tg_buf *signed_headers,
                             const struct tg_sigv4_header *headers, size_t n)
{
	struct hdr hs[TG_SIGV4_MAX_HEADERS];
	size_t i, j, k;
	int r;

	if (n > TG_SIGV4_MAX_HEADERS)
		return TG_ERR_LIMIT;
	for (i = 0; i < n; i++) {
		const char *s = headers[i].name;

		if (s == NULL || headers[i].value == NULL || *s == '\0' ||
		    strlen(s) >= sizeof hs[i].name)
			return TG_ERR_INVALID;
		for (k = 0; s[k] != '\0'; k++) {
			unsigned char c = (unsigned char)s[k];

			if (c <= ' ' || c >= 0x7f || c == ':')
				return TG_ERR_INVALID;
			hs[i].name[k] = (char)tolower(c);
		}
		hs[i].name[k] = '\0';
		hs[i].index = i;
	}
	qsort(hs, n, sizeof *hs, hdr_cmp);
	for (i = 0; i < n; i = j) {
		if ((r = tg_buf_printf(out, "%s:", hs[i].name)) != TG_OK)
			return r;
		if ((r = tg_buf_printf(signed_headers, "%s%s", i ? ";" : "", hs[i].name)) != TG_OK)
			return r;
		for (j = i; j < n && strcmp(hs[j].name, hs[i].name) == 0; j++) {
			if (j > i && (r = tg_buf_append(out, ",", 1)) != TG_OK)
				return r;
			if ((r = append_trimmed(out, headers[hs[j].index].value)) != TG_OK)
				return r;
		}
		if ((r = tg_buf_append(out, "\n", 1)) != TG_OK)
			return r;
	}
	return TG_OK;
}

int tg_sigv4_canonical_request(const struct tg_sigv4_request *req, unsigned flags,
                               struct tg_buf *out, struct tg_buf *signed_headers)
{
	int r;

	if (req->method == NULL || req->payload_hash == NULL)
		return TG_ERR_INVALID;
	if ((r = tg_buf_printf(out, "%s\n", req->method)) != TG_OK)
		return r;
	if ((r = canonical_path(out, req->path, flags)) != TG_OK)
		return r;
	if ((r = tg_buf_append(out, "\n", 1)) != TG_OK)
		return r;
	if ((r = canonical_query(out, req->query)) != TG_OK)
		return r;
	if ((r = tg_buf_append(out, "\n", 1)) != TG_OK)
		return r;
	if ((r = canonical_headers(out, signed_headers, req->headers, req->nheaders)) != TG_OK)
		return r;
	return tg_buf_printf(out, "\n%s\n%s", tg_buf_str(signed_headers), req->payload_hash);
}

static int scope_ok(const struct tg_sigv4_scope *scope)
{
	size_t i;

	if (scope->date == NULL || scope->region == NULL || scope->service == NULL)
		return 0;
	if (strlen(scope->date) != TG_SIGV4_AMZ_DATE_LEN || scope->date[8] != 'T' ||
	    scope->date[15] != 'Z')
		return 0;
	for (i = 0; i < 8; i++)
		if (!isdigit((unsigned char)scope->date[i]))
			return 0;
	return *scope->region != '\0' && *scope->service != '\0' &&
	       strchr(scope->region, '/') == NULL && strchr(scope->service, '/') == NULL;
}

int tg_sigv4_string_to_sign(const struct tg_sigv4_scope *scope, const char *creq, size_t creq_len,
                            struct tg_buf *out)
{
	char hex[TG_SIGV4_HEX_LEN + 1];

	if (!scope_ok(scope))
		return TG_ERR_INVALID;
	tg_sigv4_sha256_hex(creq, creq_len, hex);
	return tg_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", scope->date,
	                     scope->date, scope->region, scope->service, hex);
}

static void hmac(unsigned char out[32], const unsigned char *key, size_t keylen, const void *msg,
                 size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

int tg_sigv4_signing_key(unsigned char out[32], const char *secret,
                         const struct tg_sigv4_scope *scope)
{
	unsigned char k[4 + 256], a[32], b[32];
	size_t slen;

	if (secret == NULL || !scope_ok(scope))
		return TG_ERR_INVALID;
	slen = strlen(secret);
	if (slen == 0 || slen > sizeof k - 4)
		return TG_ERR_INVALID;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, slen);
	hmac(a, k, 4 + slen, scope->date, 8);
	hmac(b, a, sizeof a, scope->region, strlen(scope->region));
	hmac(a, b, sizeof b, scope->service, strlen(scope->service));
	hmac(out, a, sizeof a, "aws4_request", 12);
	sodium_memzero(k, sizeof k);
	sodium_memzero(a, sizeof a);
	sodium_memzero(b, sizeof b);
	return TG_OK;
}

int tg_sigv4_authorization(const struct tg_sigv4_request *req, unsigned flags,
                           const struct tg_sigv4_scope *scope, const char *access_key_id,
                           const char *secret, struct tg_buf *out)
{
	struct tg_buf creq = TG_BUF_VOID, sh = TG_BUF_VOID, sts = TG_BUF_VOID;
	unsigned char key[32], sig[32];
	char sighex[65];
	int r;

	tg_buf_init(&creq, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&sh, 8192);
	tg_buf_init(&sts, 1024);
	if (access_key_id == NULL || *access_key_id == '\0' ||
	    strpbrk(access_key_id, "/, \r\n") != NULL) {
		r = TG_ERR_INVALID;
		goto out;
	}
	if ((r = tg_sigv4_canonical_request(req, flags, &creq, &sh)) != TG_OK)
		goto out;
	if ((r = tg_sigv4_string_to_sign(scope, tg_buf_str(&creq), creq.len, &sts)) != TG_OK)
		goto out;
	if ((r = tg_sigv4_signing_key(key, secret, scope)) != TG_OK)
		goto out;
	hmac(sig, key, sizeof key, sts.data, sts.len);
	tg_sigv4_hex(sig, sizeof sig, sighex);
	r = tg_buf_printf(out,
	                  "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
	                  "SignedHeaders=%s, Signature=%s",
	                  access_key_id, scope->date, scope->region, scope->service,
	                  tg_buf_str(&sh), sighex);
out:
	sodium_memzero(key, sizeof key);
	sodium_memzero(sig, sizeof sig);
	tg_buf_free(&creq);
	tg_buf_free(&sh);
	tg_buf_free(&sts);
	return r;
}
