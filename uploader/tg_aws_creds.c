#include "tg_aws_creds.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_error.h"

#define IMDS_TOKEN_TTL "21600"
#define IMDS_MAX_ANSWER (64 * 1024)
#define CREDS_MAX_LINE 8192

struct tg_aws_creds_provider {
	struct tg_aws_creds cached;
	int have_cached;
	struct tg_aws_creds config; /* [s3] access_key_id etc.; access_key_id[0] == 0 when unset */
	char *credentials_file;     /* NULL: $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials */
	char *profile;              /* NULL: $AWS_PROFILE or "default" */
	char *imds_endpoint;
	int use_imds;
};

void tg_aws_creds_clear(struct tg_aws_creds *c)
{
	sodium_memzero(c, sizeof *c);
}

/* Copy a credential value, refusing what cannot be one (controls, spaces, too long). */
static int set_field(char *dst, size_t dstlen, const char *v, size_t len, int allow_space)
{
	size_t i;

	if (len == 0 || len >= dstlen)
		return TG_ERR_LIMIT;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c >= 0x7f || (!allow_space && c == ' '))
			return TG_ERR_PARSE;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return TG_OK;
}

static int fill(struct tg_aws_creds *out, const char *id, const char *secret, const char *token,
                const char *source, char *err, size_t errlen)
{
	int r;

	tg_aws_creds_clear(out);
	if ((r = set_field(out->access_key_id, sizeof out->access_key_id, id, strlen(id), 0)) !=
	        TG_OK ||
	    (r = set_field(out->secret_access_key, sizeof out->secret_access_key, secret,
	                   strlen(secret), 0)) != TG_OK ||
	    (token != NULL && *token != '\0' &&
	     (r = set_field(out->session_token, sizeof out->session_token, token, strlen(token),
	                    0)) != TG_OK)) {
		tg_aws_creds_clear(out);
		tg_errf(err, errlen,
		       "%s: a credential is empty, too long or holds invalid characters", source);
		return TG_ERR_PARSE;
	}
	snprintf(out->source, sizeof out->source, "%s", source);
	return TG_OK;
}

int tg_aws_creds_from_env(struct tg_aws_creds *out, char *err, size_t errlen)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	tg_aws_creds_clear(out);
	if ((id == NULL || *id == '\0') && (secret == NULL || *secret == '\0'))
		return TG_ERR_NOT_FOUND;
	if (id == NULL || *id == '\0' || secret == NULL || *secret == '\0') {
		tg_errf(err, errlen,
		       "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
		       "together");
		return TG_ERR_CONFIG;
	}
	return fill(out, id, secret, token, "env", err, errlen);
}

static const char *trim(char *s, size_t *len)
{
	size_t n = *len;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	*len = n;
	return s;
}

int tg_aws_creds_parse_file(const char *text, size_t len, const char *profile,
                            struct tg_aws_creds *out, char *err, size_t errlen)
{
	/* the three values of the chosen profile, pointing into text */
	const char *val[3] = {NULL, NULL, NULL};
	size_t vlen[3] = {0, 0, 0};
	static const char *const names[3] = {"aws_access_key_id", "aws_secret_access_key",
	                                     "aws_session_token"};
	size_t pos = 0, lineno = 0, plen = strlen(profile), indent = 0;
	/* have_key: a key line came since the section header, indented by indent; got: which of
	 * the profile's keys were given (the token's old name apart: it wins over the new one,
	 * as botocore reads them, aws_security_token first) */
	int in_profile = 0, seen = 0, have_key = 0, got[4] = {0, 0, 0, 0}, r, i;

	tg_aws_creds_clear(out);
	if (memchr(text, '\0', len) != NULL) {
		tg_errf(err, errlen, "credentials file: holds a NUL byte");
		return TG_ERR_PARSE;
	}
	while (pos < len) {
		const char *line = text + pos, *eol = memchr(line, '\n', len - pos);
		size_t ll = eol ? (size_t)(eol - line) : len - pos;
		const char *s, *eq;
		size_t sl;

		pos += ll + (eol != NULL);
		lineno++;
		if (ll > CREDS_MAX_LINE) {
			tg_errf(err, errlen, "credentials file: line %zu is too long", lineno);
			return TG_ERR_PARSE;
		}
		sl = ll;
		s = trim((char *)line, &sl);
		if (sl == 0 || s[0] == '#' || s[0] == ';')
			continue;
		/* a line indented deeper than the key before it continues that key (nested
		 * settings): not ours; any other line starts a key or a section, indented or
		 * not, as configparser reads it */
		if (have_key && (size_t)(s - line) > indent)
			continue;
		indent = (size_t)(s - line);
		if (s[0] == '[') {
			const char *name, *after = NULL, *close = memchr(s, ']', sl);
			size_t nl, rest = 0;

			/* a comment may follow the header ("[default] # ours"), as botocore reads
			 * it */
			if (close != NULL) {
				rest = sl - (size_t)(close + 1 - s);
				after = trim((char *)close + 1, &rest);
			}
			if (close == NULL || (rest > 0 && *after != '#' && *after != ';')) {
				tg_errf(
				    err, errlen,
				    "credentials file: line %zu: a section header lacks its ']' "
				    "(or has more than a comment after it)",
				    lineno);
				return TG_ERR_PARSE;
			}
			nl = (size_t)(close - s) - 1;
			name = trim((char *)s + 1, &nl);
			in_profile = nl == plen && memcmp(name, profile, plen) == 0;
			/* twice: which keys count? The AWS CLI refuses such a file (configparser's
			 * DuplicateSectionError); taking the last would pair one's key with the
			 * other's secret */
			if (in_profile && seen) {
				tg_errf(
				    err, errlen,
				    "credentials file: line %zu: a second [%s] section (the AWS "
				    "CLI refuses such a file too)",
				    lineno, profile);
				return TG_ERR_PARSE;
			}
			seen |= in_profile;
			have_key = 0;
			continue;
		}
		/* '=' or ':', whichever comes first, as configparser (and so the AWS CLI)
		 * splits "key: value" too; a value may hold the other one (a token's '=') */
		eq = memchr(s, '=', sl);
		{
			const char *colon = memchr(s, ':', eq != NULL ? (size_t)(eq - s) : sl);

			if (colon != NULL)
				eq = colon;
		}
		if (eq == NULL) {
			tg_errf(err, errlen, "credentials file: line %zu: expected 'key = value'",
			       lineno);
			return TG_ERR_PARSE;
		}
		have_key = 1;
		if (!in_profile)
			continue;
		{
			size_t kl = (size_t)(eq - s), vl = sl - kl - 1;
			const char *k = trim((char *)s, &kl), *v = trim((char *)eq + 1, &vl);

			for (i = 0; i < 3; i++) {
				if (kl == strlen(names[i]) && strncasecmp(k, names[i], kl) == 0)
					break;
			}
			if (i == 3 && kl == 18 && strncasecmp(k, "aws_security_token", kl) == 0)
				i = 3; /* the old name of aws_session_token */
			else if (i == 3)
				continue;
			if (got[i]) {
				tg_errf(
				    err, errlen,
				    "credentials file: line %zu: %.*s given twice in [%s] (the AWS "
				    "CLI refuses such a file too)",
				    lineno, (int)kl, k, profile);
				return TG_ERR_PARSE;
			}
			got[i] = 1;
			/* the token under its new name, unless the old one is there */
			if (i == 2 && got[3])
				continue;
			i = i == 3 ? 2 : i;
			val[i] = v;
			vlen[i] = vl;
		}
	}
	if (!seen) {
		tg_errf(err, errlen, "no profile [%s]", profile);
		return TG_ERR_NOT_FOUND;
	}
	if (val[0] == NULL && val[1] == NULL) {
		tg_errf(err, errlen, "profile [%s] has no aws_access_key_id", profile);
		return TG_ERR_NOT_FOUND;
	}
	if (val[0] == NULL || val[1] == NULL || vlen[0] == 0 || vlen[1] == 0) {
		tg_errf(err, errlen,
		       "credentials file: profile [%s] needs both aws_access_key_id and "
		       "aws_secret_access_key",
		       profile);
		return TG_ERR_PARSE;
	}
	if ((r = set_field(out->access_key_id, sizeof out->access_key_id, val[0], vlen[0], 0)) !=
	        TG_OK ||
	    (r = set_field(out->secret_access_key, sizeof out->secret_access_key, val[1], vlen[1],
	                   0)) != TG_OK ||
	    (val[2] != NULL && vlen[2] > 0 &&
	     (r = set_field(out->session_token, sizeof out->session_token, val[2], vlen[2], 0)) !=
	         TG_OK)) {
		tg_aws_creds_clear(out);
		tg_errf(err, errlen,
		       "credentials file: profile [%s]: a value is too long or holds invalid "
		       "characters",
		       profile);
		return TG_ERR_PARSE;
	}
	snprintf(out->source, sizeof out->source, "file");
	return TG_OK;
}

int tg_aws_creds_from_file(const char *path, const char *profile, struct tg_aws_creds *out,
                           char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r;

	tg_aws_creds_clear(out);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return TG_ERR_NOT_FOUND;
		tg_errf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM;
	}
	if (fstat(fd, &st) != 0) {
		tg_errf(err, errlen, "%s: %s", path, strerror(errno));
		r = TG_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		tg_errf(err, errlen, "%s: not a regular file, or writable by group or others", path);
		r = TG_ERR_PERM;
		goto out;
	}
	if (st.st_size > TG_AWS_CREDS_MAX_FILE) {
		tg_errf(err, errlen, "%s: larger than %d bytes", path, TG_AWS_CREDS_MAX_FILE);
		r = TG_ERR_LIMIT;
		goto out;
	}
	/* one allocation of the cap: no realloc leaves a copy of the secrets behind */
	if ((text = sodium_malloc(TG_AWS_CREDS_MAX_FILE + 1)) == NULL) {
		r = TG_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, text + got, TG_AWS_CREDS_MAX_FILE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tg_errf(err, errlen, "%s: %s", path, strerror(errno));
			r = TG_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > TG_AWS_CREDS_MAX_FILE) {
			tg_errf(err, errlen, "%s: larger than %d bytes", path,
			       TG_AWS_CREDS_MAX_FILE);
			r = TG_ERR_LIMIT;
			goto out;
		}
	}
	r = tg_aws_creds_parse_file(text, got, profile, out, err, errlen);
out:
	if (text != NULL)
		sodium_free(text); /* sodium_free wipes */
	close(fd);
	return r;
}

/* The n digits at s as a number; -1 when one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int tg_aws_parse_iso8601(const char *s, time_t *out)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 19;
	time_t t;

	/* digits where digits go (sscanf's %d takes a sign or blanks: "T-1:00" was 23:00 the
	 * day before), and a day its month has (timegm made 31 February 3 March) */
	if (s == NULL || strnlen(s, 19) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || (y = digits(s, 4)) < 0 || (mo = digits(s + 5, 2)) < 0 ||
	    (d = digits(s + 8, 2)) < 0 || (h = digits(s + 11, 2)) < 0 ||
	    (mi = digits(s + 14, 2)) < 0 || (sec = digits(s + 17, 2)) < 0)
		return TG_ERR_PARSE;
	if (mo >= 1 && mo <= 12 &&
	    (d > mdays[mo - 1] ||
	     (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))))
		return TG_ERR_PARSE;
	s += n;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (strcmp(s, "Z") != 0 && strcmp(s, "+00:00") != 0)
		return TG_ERR_PARSE;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return TG_ERR_PARSE;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return TG_ERR_PARSE;
	*out = t;
	return TG_OK;
}

/* IMDS: the instance metadata service is plain http on a link-local address. */
static int imds_endpoint_ok(const char *ep)
{
	static const char *const ok[] = {"http://169.254.169.254", "http://[fd00:ec2::254]",
	                                 "http://127.", "http://localhost", "http://[::1]"};
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		size_t n = strlen(ok[i]);

		if (strncmp(ep, ok[i], n) == 0) {
			const char *rest = ep + n;

			if (ok[i][n - 1] == '.') /* 127.x.y.z */
				rest += strspn(rest, "0123456789.");
			/* at most a port: "http://127.0.0.1:80@host" is a user and password, and
			 * curl would ask host */
			if (*rest == ':')
				rest += 1 + strspn(rest + 1, "0123456789");
			if (*rest == '\0' || *rest == '/')
				return 1;
		}
	}
	return 0;
}

static size_t imds_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct tg_buf *b = ctx;

	if (tg_buf_append(b, p, size * nmemb) != TG_OK)
		return 0;
	return size * nmemb;
}

/* One IMDS request; the answer (at most IMDS_MAX_ANSWER bytes) into ans. */
static int imds_call(CURL *c, const char *method, const char *url, const char *header,
                     struct tg_buf *ans, char *err, size_t errlen)
{
	struct curl_slist *hs = NULL, *tmp;
	long status = 0;
	CURLcode cc;
	int r = TG_OK;

	curl_easy_reset(c);
	tg_buf_reset(ans);
	if (header != NULL) {
		if ((tmp = curl_slist_append(hs, header)) == NULL)
			return TG_ERR_NOMEM;
		hs = tmp;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, imds_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		tg_errf(err, errlen, "instance metadata %s: %s", url, curl_easy_strerror(cc));
		r = TG_ERR_NET;
	} else if (status != 200) {
		tg_errf(err, errlen, "instance metadata %s: HTTP %ld", url, status);
		r = status == 404 ? TG_ERR_NOT_FOUND : TG_ERR_HTTP;
	}
	curl_slist_free_all(hs);
	return r;
}

/* Wipe a jansson string in place before the object is released (it may hold a secret). */
static void wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

int tg_aws_creds_from_imds(const char *endpoint, struct tg_aws_creds *out, char *err, size_t errlen)
{
	struct tg_buf ans = TG_BUF_VOID, url = TG_BUF_VOID, hdr = TG_BUF_VOID;
	char role[129];
	json_t *doc = NULL;
	json_error_t jerr;
	CURL *c = NULL;
	size_t rl;
	int r;

	tg_aws_creds_clear(out);
	tg_buf_init(&ans, IMDS_MAX_ANSWER);
	tg_buf_init(&url, 2048);
	tg_buf_init(&hdr, 4096);
	if (endpoint == NULL || !imds_endpoint_ok(endpoint) || strlen(endpoint) > 1024) {
		tg_errf(err, errlen,
		       "imds_endpoint '%s': must be http:// to 169.254.169.254, [fd00:ec2::254] or "
		       "loopback",
		       endpoint ? endpoint : "");
		return TG_ERR_CONFIG;
	}
	if ((c = curl_easy_init()) == NULL)
		return TG_ERR_NOMEM;
	if ((r = tg_buf_printf(&url, "%s/latest/api/token", endpoint)) != TG_OK)
		goto out;
	if ((r = imds_call(c, "PUT", tg_buf_str(&url),
	                   "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, &ans, err,
	                   errlen)) != TG_OK)
		goto out;
	if (ans.len == 0 || ans.len > 1024 || strpbrk(tg_buf_str(&ans), "\r\n") != NULL) {
		tg_errf(err, errlen, "instance metadata: a malformed session token");
		r = TG_ERR_PARSE;
		goto out;
	}
	if ((r = tg_buf_printf(&hdr, "X-aws-ec2-metadata-token: %s", tg_buf_str(&ans))) != TG_OK)
		goto out;
	tg_buf_reset(&url);
	if ((r = tg_buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/", endpoint)) !=
	    TG_OK)
		goto out;
	if ((r = imds_call(c, "GET", tg_buf_str(&url), tg_buf_str(&hdr), &ans, err, errlen)) !=
	    TG_OK) {
		if (r == TG_ERR_NOT_FOUND)
			tg_errf(err, errlen,
			       "instance metadata: no IAM role is attached to this instance");
		goto out;
	}
	/* the first line names the role */
	rl = strcspn(tg_buf_str(&ans), "\r\n");
	if (rl == 0 || rl >= sizeof role ||
	    strspn(tg_buf_str(&ans),
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-") != rl) {
		tg_errf(err, errlen, "instance metadata: a malformed role name");
		r = TG_ERR_PARSE;
		goto out;
	}
	memcpy(role, ans.data, rl);
	role[rl] = '\0';
	tg_buf_reset(&url);
	if ((r = tg_buf_printf(&url, "%s/latest/meta-data/iam/security-credentials/%s", endpoint,
	                       role)) != TG_OK)
		goto out;
	if ((r = imds_call(c, "GET", tg_buf_str(&url), tg_buf_str(&hdr), &ans, err, errlen)) !=
	    TG_OK)
		goto out;
	if ((doc = json_loadb((const char *)ans.data, ans.len, 0, &jerr)) == NULL ||
	    !json_is_object(doc)) {
		tg_errf(err, errlen, "instance metadata: the credentials are not a JSON object");
		r = TG_ERR_PARSE;
		goto out;
	}
	{
		const char *code = json_string_value(json_object_get(doc, "Code"));
		const char *id = json_string_value(json_object_get(doc, "AccessKeyId"));
		const char *secret = json_string_value(json_object_get(doc, "SecretAccessKey"));
		const char *token = json_string_value(json_object_get(doc, "Token"));
		const char *exp = json_string_value(json_object_get(doc, "Expiration"));
		time_t t;

		if (code == NULL || strcmp(code, "Success") != 0) {
			tg_errf(err, errlen, "instance metadata: credentials Code is '%.40s'",
			       code ? code : "");
			r = TG_ERR_AUTH;
			goto out;
		}
		if (id == NULL || secret == NULL || token == NULL || exp == NULL ||
		    tg_aws_parse_iso8601(exp, &t) != TG_OK) {
			tg_errf(err, errlen,
			       "instance metadata: credentials lack a field or a valid Expiration");
			r = TG_ERR_PARSE;
			goto out;
		}
		if ((r = fill(out, id, secret, token, "imds", err, errlen)) != TG_OK)
			goto out;
		out->expiration = t;
	}
out:
	if (doc != NULL) {
		wipe_json_string(json_object_get(doc, "SecretAccessKey"));
		wipe_json_string(json_object_get(doc, "Token"));
		json_decref(doc);
	}
	if (ans.data != NULL)
		sodium_memzero(ans.data, ans.alloc);
	if (hdr.data != NULL)
		sodium_memzero(hdr.data, hdr.alloc);
	tg_buf_free(&ans);
	tg_buf_free(&hdr);
	tg_buf_free(&url);
	curl_easy_cleanup(c);
	return r;
}

int tg_aws_creds_provider_new(struct tg_aws_creds_provider **out, const struct tg_config *cfg,
                              char *err, size_t errlen)
{
	struct tg_aws_creds_provider *p;
	const char *id = tg_config_str(cfg, TG_CONF_S3_ACCESS_KEY_ID);
	const char *secret = tg_config_str(cfg, TG_CONF_S3_SECRET_ACCESS_KEY);
	const char *token = tg_config_str(cfg, TG_CONF_S3_SESSION_TOKEN);
	const char *file = tg_config_str(cfg, TG_CONF_S3_CREDENTIALS_FILE);
	int r;

	*out = NULL;
	if ((p = sodium_malloc(sizeof *p)) == NULL)
		return TG_ERR_NOMEM;
	memset(p, 0, sizeof *p);
	if (*id != '\0' || *secret != '\0') {
		if (*id == '\0' || *secret == '\0') {
			tg_errf(err, errlen,
			       "[s3] access_key_id and secret_access_key must be set together");
			r = TG_ERR_CONFIG;
			goto fail;
		}
		if ((r = fill(&p->config, id, secret, token, "config", err, errlen)) != TG_OK) {
			r = TG_ERR_CONFIG;
			goto fail;
		}
	}
	p->use_imds = tg_config_bool(cfg, TG_CONF_S3_USE_IMDS);
	if ((p->imds_endpoint = strdup(tg_config_str(cfg, TG_CONF_S3_IMDS_ENDPOINT))) == NULL) {
		r = TG_ERR_NOMEM;
		goto fail;
	}
	if (p->use_imds && !imds_endpoint_ok(p->imds_endpoint)) {
		tg_errf(err, errlen,
		       "[s3] imds_endpoint must be http:// to 169.254.169.254, [fd00:ec2::254] or "
		       "loopback");
		r = TG_ERR_CONFIG;
		goto fail;
	}
	if (*file != '\0' && (p->credentials_file = strdup(file)) == NULL) {
		r = TG_ERR_NOMEM;
		goto fail;
	}
	/* empty: $AWS_PROFILE, else default (decided at each lookup) */
	if (*tg_config_str(cfg, TG_CONF_S3_PROFILE) != '\0' &&
	    (p->profile = strdup(tg_config_str(cfg, TG_CONF_S3_PROFILE))) == NULL) {
		r = TG_ERR_NOMEM;
		goto fail;
	}
	*out = p;
	return TG_OK;
fail:
	tg_aws_creds_provider_free(p);
	return r;
}

void tg_aws_creds_provider_free(struct tg_aws_creds_provider *p)
{
	if (p == NULL)
		return;
	free(p->credentials_file);
	free(p->profile);
	free(p->imds_endpoint);
	sodium_free(p); /* wipes the cached and configured keys */
}

static int fresh(const struct tg_aws_creds *c)
{
	return c->expiration == 0 || time(NULL) + TG_AWS_CREDS_REFRESH_MARGIN < c->expiration;
}

/* The shared credentials file to read: configured (NULL: none), then
 * $AWS_SHARED_CREDENTIALS_FILE, then ~/.aws/credentials. */
static int credentials_path(const char *configured, char *out, size_t outlen)
{
	const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *path = configured ? configured : env && *env ? env : NULL;
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	int n;

	if (path != NULL && strncmp(path, "~/", 2) != 0) {
		n = snprintf(out, outlen, "%s", path);
		return n < 0 || (size_t)n >= outlen ? TG_ERR_LIMIT : TG_OK;
	}
	/* the running user's home from passwd, not $HOME: systemd units have none */
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) != 0 || res == NULL ||
	    pw.pw_dir == NULL)
		return TG_ERR_NOT_FOUND;
	n = snprintf(out, outlen, "%s/%s", pw.pw_dir, path ? path + 2 : ".aws/credentials");
	return n < 0 || (size_t)n >= outlen ? TG_ERR_LIMIT : TG_OK;
}

int tg_aws_creds_file_in_use(const struct tg_config *cfg, char *out, size_t outlen)
{
	const char *file = tg_config_str(cfg, TG_CONF_S3_CREDENTIALS_FILE);
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");

	if (outlen > 0)
		out[0] = '\0';
	/* the sources before it, as tg_aws_creds_get() takes them: either key of a pair set
	 * is that source's (or an error), and the file is not read */
	if (*tg_config_str(cfg, TG_CONF_S3_ACCESS_KEY_ID) != '\0' ||
	    *tg_config_str(cfg, TG_CONF_S3_SECRET_ACCESS_KEY) != '\0' ||
	    (id != NULL && *id != '\0') || (secret != NULL && *secret != '\0'))
		return TG_ERR_NOT_FOUND;
	return credentials_path(*file != '\0' ? file : NULL, out, outlen);
}

int tg_aws_creds_get(struct tg_aws_creds_provider *p, int force, struct tg_aws_creds *out,
                     char *err, size_t errlen)
{
	char path[4096], why[512] = "";
	const char *profile, *envp;
	int named;
	/* credentials renewed early, before they expire: usable meanwhile if the renewal fails
	 * for a reason that passes (not after ExpiredToken: S3 has said they are not) */
	struct tg_aws_creds old;
	int have_old, r;

	tg_aws_creds_clear(out);
	tg_aws_creds_clear(&old);
	if (p->have_cached && !force && fresh(&p->cached)) {
		*out = p->cached;
		return TG_OK;
	}
	have_old = p->have_cached && !force && time(NULL) < p->cached.expiration;
	if (have_old)
		old = p->cached;
	p->have_cached = 0;
	tg_aws_creds_clear(&p->cached);
	if (p->config.access_key_id[0] != '\0') {
		*out = p->config;
		return TG_OK; /* never cached: the config copy is the cache */
	}
	r = tg_aws_creds_from_env(&p->cached, err, errlen);
	if (r != TG_ERR_NOT_FOUND)
		goto done;
	envp = getenv("AWS_PROFILE");
	named = p->profile != NULL || (envp != NULL && *envp != '\0');
	profile = p->profile ? p->profile : named ? envp : "default";
	if ((r = credentials_path(p->credentials_file, path, sizeof path)) == TG_OK) {
		char ferr[512] = "";

		r = tg_aws_creds_from_file(path, profile, &p->cached, ferr, sizeof ferr);
		if (r != TG_ERR_NOT_FOUND) {
			if (r != TG_OK)
				tg_errf(err, errlen, "%s", ferr);
			goto done;
		}
		if (access(path, F_OK) != 0 && errno == ENOENT)
			snprintf(why, sizeof why, "no file %s", path);
		else /* ferr: no such profile, or one without keys */
			snprintf(why, sizeof why, "%s in %s", ferr[0] ? ferr : "no profile", path);
	} else {
		snprintf(why, sizeof why, "no credentials file (no home directory)");
	}
	/* A profile someone named must be the one used: falling through to the instance role
	 * would upload with other rights than asked for, silently (the AWS CLI and SDKs stop
	 * with "The config profile could not be found"). Only the implicit default goes on. */
	if (named) {
		tg_aws_creds_clear(&old);
		tg_errf(err, errlen, "AWS profile [%s] (%s) has no credentials: %s", profile,
		        p->profile ? "[s3] profile" : "$AWS_PROFILE", why);
		return TG_ERR_CONFIG;
	}
	if (p->use_imds) {
		char ierr[256] = "";

		r = tg_aws_creds_from_imds(p->imds_endpoint, &p->cached, ierr, sizeof ierr);
		if (r == TG_OK)
			goto done;
		if (have_old && r != TG_ERR_CONFIG && r != TG_ERR_NOT_FOUND) {
			p->cached = old;
			r = TG_OK;
			goto done;
		}
		tg_aws_creds_clear(&old);
		tg_errf(err, errlen,
		       "no AWS credentials: none in [s3] or the environment, %s, and %s", why,
		       ierr);
		/* no role is final; an unreachable or confused metadata service may come back */
		return r == TG_ERR_CONFIG || r == TG_ERR_NOT_FOUND ? r : TG_ERR_NET;
	}
	tg_errf(
	    err, errlen,
	    "no AWS credentials: none in [s3] or the environment, %s, instance metadata not asked",
	    why);
	return TG_ERR_NOT_FOUND;
done:
	tg_aws_creds_clear(&old);
	if (r != TG_OK) {
		tg_aws_creds_clear(&p->cached);
		return r;
	}
	p->have_cached = 1;
	*out = p->cached;
	return TG_OK;
}
