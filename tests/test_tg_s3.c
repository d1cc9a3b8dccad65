/*
 * tg_s3 without a server: addressing (virtual-hosted, path-style, http only
 * to loopback), the bounded XML reader, retry classification, Object Lock
 * dates, the multipart resume state file, and what tg_s3_new refuses.
 * The requests themselves are tested against a real server by
 * tests/test_s3_client.sh.
 */
#include <sodium.h>

#include "tg_config.h"
#include "tg_error.h"
#include "tg_s3.h"
#include "tg_s3_int.h"
#include "tg_test.h"

static char *path_of(const struct tg_s3_addr *a, const char *bucket, const char *key)
{
	struct tg_buf b = TG_BUF_VOID;
	char *s;

	tg_buf_init(&b, 8192);
	ck_assert_int_eq(tg_s3_addr_path(a, bucket, key, &b), TG_OK);
	s = strdup(tg_buf_str(&b));
	tg_buf_free(&b);
	return s;
}

START_TEST(test_addr_aws)
{
	struct tg_s3_addr a;
	char err[256], *p;

	ck_assert_int_eq(tg_s3_addr_init(&a, "", "eu-west-1", "audit-logs", 0, err, sizeof err),
	                 TG_OK);
	ck_assert_str_eq(a.scheme, "https");
	ck_assert_str_eq(a.host, "audit-logs.s3.eu-west-1.amazonaws.com");
	p = path_of(&a, "audit-logs", "tollgate/dt=2026-11-29/a b.trec");
	ck_assert_str_eq(p, "/tollgate/dt%3D2026-11-29/a%20b.trec");
	free(p);
	p = path_of(&a, "audit-logs", NULL);
	ck_assert_str_eq(p, "/");
	free(p);
	/* a dotted name breaks the wildcard certificate: path-style */
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "", "us-east-1", "audit.example.com", 0, err, sizeof err), TG_OK);
	ck_assert_str_eq(a.host, "s3.us-east-1.amazonaws.com");
	p = path_of(&a, "audit.example.com", "k");
	ck_assert_str_eq(p, "/audit.example.com/k");
	free(p);
	ck_assert_int_eq(tg_s3_addr_init(&a, "", "us-east-1", "audit-logs", 1, err, sizeof err),
	                 TG_OK);
	ck_assert_str_eq(a.host, "s3.us-east-1.amazonaws.com");
}
END_TEST

START_TEST(test_addr_endpoint)
{
	struct tg_s3_addr a;
	char err[256], *p;

	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "http://127.0.0.1:9000", "us-east-1", "b-1", 1, err, sizeof err),
	    TG_OK);
	ck_assert_str_eq(a.scheme, "http");
	ck_assert_str_eq(a.host, "127.0.0.1:9000");
	p = path_of(&a, "b-1", "x/y");
	ck_assert_str_eq(p, "/b-1/x/y");
	free(p);
	p = path_of(&a, "b-1", NULL);
	ck_assert_str_eq(p, "/b-1");
	free(p);
	ck_assert_int_eq(tg_s3_addr_init(&a, "https://minio.internal:9443/s3/", "us-east-1", "b-1",
	                                 0, err, sizeof err),
	                 TG_OK);
	ck_assert_str_eq(a.host, "b-1.minio.internal:9443");
	ck_assert_str_eq(a.base, "/s3");
	p = path_of(&a, "b-1", "k");
	ck_assert_str_eq(p, "/s3/k");
	free(p);
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "http://[::1]:9000", "us-east-1", "bkt", 1, err, sizeof err),
	    TG_OK);
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "http://localhost:9000", "us-east-1", "bkt", 1, err, sizeof err),
	    TG_OK);
	/* plain http anywhere but loopback is refused, with a message that says so */
	ck_assert_int_eq(tg_s3_addr_init(&a, "http://minio.internal:9000", "us-east-1", "bkt", 1,
	                                 err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "loopback"));
	ck_assert_int_eq(tg_s3_addr_init(&a, "http://127.0.0.1.evil.com", "us-east-1", "bkt", 1,
	                                 err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(tg_s3_addr_init(&a, "ftp://x", "us-east-1", "bkt", 1, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "https://user:pw@x", "us-east-1", "bkt", 1, err, sizeof err),
	    TG_ERR_CONFIG);
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "https://x?a=b", "us-east-1", "bkt", 1, err, sizeof err),
	    TG_ERR_CONFIG);
	ck_assert_int_eq(tg_s3_addr_init(&a, "https://", "us-east-1", "bkt", 1, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(tg_s3_addr_init(&a, "", "us-east-1", "b", 0, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(tg_s3_addr_init(&a, "", "us-east-1", "bad/bucket", 0, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(tg_s3_addr_init(&a, "", "us east", "bucket", 0, err, sizeof err),
	                 TG_ERR_CONFIG);
}
END_TEST

START_TEST(test_xml)
{
	const char *x =
	    "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>a&amp;b&lt;c&gt;&quot;&apos;&#233;&#x1F600;</Key><Size>12</Size></"
	    "Contents>"
	    "<Contents><Key>second</Key><Size>3</Size></Contents><Empty/></ListBucketResult>";
	char out[64];
	size_t pos = 0, s, e;

	ck_assert_int_eq(tg_s3_xml_get(x, strlen(x), &pos, "IsTruncated", out, sizeof out), TG_OK);
	ck_assert_str_eq(out, "true");
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_block(x, strlen(x), &pos, "Contents", &s, &e), TG_OK);
	{
		size_t p = s;

		ck_assert_int_eq(tg_s3_xml_get(x, e, &p, "Key", out, sizeof out), TG_OK);
		ck_assert_str_eq(out, "a&b<c>\"'\xc3\xa9\xf0\x9f\x98\x80");
	}
	ck_assert_int_eq(tg_s3_xml_block(x, strlen(x), &pos, "Contents", &s, &e), TG_OK);
	ck_assert_int_eq(tg_s3_xml_block(x, strlen(x), &pos, "Contents", &s, &e), TG_ERR_NOT_FOUND);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get(x, strlen(x), &pos, "Empty", out, sizeof out), TG_OK);
	ck_assert_str_eq(out, "");
	/* bounded: too long for out, an unknown entity, an unclosed element, a nested one, a search
	 * past the end */
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get(x, strlen(x), &pos, "Key", out, 4), TG_ERR_LIMIT);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a>&bogus;</a>", 14, &pos, "a", out, sizeof out),
	                 TG_ERR_PARSE);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a>&#0;</a>", 11, &pos, "a", out, sizeof out),
	                 TG_ERR_PARSE);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a>&#x110000;</a>", 17, &pos, "a", out, sizeof out),
	                 TG_ERR_PARSE);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a>never closed", 15, &pos, "a", out, sizeof out),
	                 TG_ERR_PARSE);
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a><b>x</b></a>", 15, &pos, "a", out, sizeof out),
	                 TG_ERR_PARSE);
	pos = 100;
	ck_assert_int_eq(tg_s3_xml_get("<a>x</a>", 8, &pos, "a", out, sizeof out),
	                 TG_ERR_NOT_FOUND);
	/* a length that cuts the document is honoured: nothing is read past it */
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get("<a>x</a>", 6, &pos, "a", out, sizeof out), TG_ERR_PARSE);
}
END_TEST

START_TEST(test_retryable)
{
	ck_assert(tg_s3_retryable(0, "", 1));
	ck_assert(tg_s3_retryable(500, "InternalError", 0));
	ck_assert(tg_s3_retryable(503, "SlowDown", 0));
	ck_assert(tg_s3_retryable(502, "", 0));
	ck_assert(tg_s3_retryable(429, "", 0));
	ck_assert(tg_s3_retryable(400, "ExpiredToken", 0));
	ck_assert(tg_s3_retryable(400, "RequestTimeout", 0));
	ck_assert(!tg_s3_retryable(403, "AccessDenied", 0));
	ck_assert(!tg_s3_retryable(403, "SignatureDoesNotMatch", 0));
	ck_assert(!tg_s3_retryable(404, "NoSuchBucket", 0));
	ck_assert(!tg_s3_retryable(404, "NoSuchKey", 0));
	ck_assert(!tg_s3_retryable(400, "InvalidRequest", 0));
	ck_assert(!tg_s3_retryable(501, "NotImplemented", 0));
}
END_TEST

START_TEST(test_retain_until)
{
	char d[32];

	tg_s3_retain_until(1369353600, 30, d);
	ck_assert_str_eq(d, "2013-06-23T00:00:00Z");
	tg_s3_retain_until(1369353600 + 59, 365, d);
	ck_assert_str_eq(d, "2014-05-24T00:00:59Z");
}
END_TEST

static void sample_state(struct tg_s3_mpu_state *st)
{
	memset(st, 0, sizeof *st);
	snprintf(st->key, sizeof st->key, "tollgate/dt=2026-11-29/host=a b/k\xc3\xa9y.trec");
	st->size = 20 * 1024 * 1024 + 5;
	st->mtime_sec = 1795915729;
	st->mtime_nsec = 137247217;
	st->ino = 10954067;
	st->part_size = 5 * 1024 * 1024;
	snprintf(st->upload_id, sizeof st->upload_id, "VXBsb2FkIElE.-_~x");
	st->nparts = 5;
	st->parts = calloc(5, sizeof *st->parts);
	snprintf(st->parts[0].etag, sizeof st->parts[0].etag,
	         "\"29097979268588516d2b740a2275628a\"");
	snprintf(st->parts[0].checksum, sizeof st->parts[0].checksum,
	         "49yos7eFjqwbEhkB+aekxVv3ygelaS7Yuljecc9pC4E=");
	snprintf(st->parts[2].etag, sizeof st->parts[2].etag, "\"abc\"");
	snprintf(st->parts[2].checksum, sizeof st->parts[2].checksum, "AAAA");
}

static int parse_str(const char *s, struct tg_s3_mpu_state *st)
{
	return tg_s3_state_parse(s, strlen(s), st);
}

START_TEST(test_state_roundtrip)
{
	struct tg_s3_mpu_state st, back;
	struct tg_buf b = TG_BUF_VOID;

	sample_state(&st);
	tg_buf_init(&b, TG_S3_MAX_STATE);
	ck_assert_int_eq(tg_s3_state_format(&st, &b), TG_OK);
	ck_assert_int_eq(tg_s3_state_parse((const char *)b.data, b.len, &back), TG_OK);
	ck_assert_str_eq(back.key, st.key);
	ck_assert_uint_eq(back.size, st.size);
	ck_assert_int_eq(back.mtime_nsec, st.mtime_nsec);
	ck_assert_str_eq(back.upload_id, st.upload_id);
	ck_assert_uint_eq(back.nparts, 5);
	ck_assert_str_eq(back.parts[0].etag, st.parts[0].etag);
	ck_assert_str_eq(back.parts[0].checksum, st.parts[0].checksum);
	ck_assert_str_eq(back.parts[1].etag, "");
	ck_assert_str_eq(back.parts[2].etag, "\"abc\"");
	tg_s3_state_free(&back);
	tg_s3_state_free(&st);
	tg_buf_free(&b);
}
END_TEST

START_TEST(test_state_corrupt)
{
	static const char *const head =
	    "tollgate-s3-multipart 1\nkey k\nfile 10485760 1 2 3\npart_size 5242880\n"
	    "upload_id u\nparts 2\n";
	struct tg_s3_mpu_state st;
	char buf[1024];

	snprintf(buf, sizeof buf, "%send\n", head);
	ck_assert_int_eq(parse_str(buf, &st), TG_OK);
	tg_s3_state_free(&st);
	/* each of these is a torn, edited or hostile state file */
	ck_assert_int_eq(parse_str("", &st), TG_ERR_FORMAT);
	ck_assert_int_eq(parse_str("tollgate-s3-multipart 2\n", &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%s", head); /* no "end": torn */
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%send", head); /* last line without its newline */
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%spart 3 \"e\" c\nend\n", head); /* part beyond the count */
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%spart 0 \"e\" c\nend\n", head);
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%spart 1 \"e\" c\npart 1 \"f\" d\nend\n", head); /* twice */
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%spart 1 \"e\" c extra\nend\n", head);
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%send\njunk\n", head);
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	ck_assert_int_eq(
	    parse_str("tollgate-s3-multipart 1\nkey k\nfile 10485760 1 2 3\npart_size 5242880\n"
	              "upload_id u\nparts 7\nend\n",
	              &st),
	    TG_ERR_FORMAT); /* a count that does not fit the size */
	ck_assert_int_eq(
	    parse_str("tollgate-s3-multipart 1\nkey k\nfile 1 1 2 3\npart_size 5242880\n"
	              "upload_id u\nparts 1\nparts 1\nend\n",
	              &st),
	    TG_ERR_FORMAT);
	ck_assert_int_eq(
	    parse_str("tollgate-s3-multipart 1\nkey k%00x\nfile 1 1 2 3\npart_size 5242880\n"
	              "upload_id u\nparts 1\nend\n",
	              &st),
	    TG_ERR_FORMAT); /* a NUL smuggled into the key */
	ck_assert_int_eq(
	    parse_str("tollgate-s3-multipart 1\nkey k%4\nfile 1 1 2 3\npart_size 5242880\n"
	              "upload_id u\nparts 1\nend\n",
	              &st),
	    TG_ERR_FORMAT);
	ck_assert_int_eq(
	    parse_str("tollgate-s3-multipart 1\nkey k\nfile 1 1 2 3\npart_size 5242880\n"
	              "upload_id u\nparts 99999\nend\n",
	              &st),
	    TG_ERR_FORMAT);
	ck_assert_int_eq(tg_s3_state_parse("tollgate-s3-multipart 1\n\0", 25, &st), TG_ERR_FORMAT);
	ck_assert_ptr_null(st.parts);
}
END_TEST

static struct tg_config *config(const char *const *kv)
{
	struct tg_config *cfg;
	char err[256];

	ck_assert_int_eq(tg_config_new(&cfg), TG_OK);
	for (; kv != NULL && kv[0] != NULL; kv += 3) {
		enum tg_conf_id id;

		ck_assert_int_eq(tg_config_lookup(kv[0], kv[1], &id), TG_OK);
		ck_assert_msg(tg_config_set(cfg, id, kv[2], err, sizeof err) == TG_OK, "%s", err);
	}
	return cfg;
}

static int new_with(const char *const *kv, char *err, size_t errlen)
{
	struct tg_config *cfg = config(kv);
	struct tg_s3 *s3 = NULL;
	int r = tg_s3_new(&s3, cfg, err, errlen);

	if (r == TG_OK)
		ck_assert_ptr_nonnull(s3);
	else
		ck_assert_ptr_null(s3);
	tg_s3_free(s3);
	tg_config_free(cfg);
	return r;
}

START_TEST(test_new_validates)
{
	char err[256];
	const char *ok[] = {"s3", "bucket", "audit-bucket", "s3", "use_imds", "no", NULL};
	const char *lock_no_days[] = {
	    "s3", "bucket", "audit-bucket", "s3", "object_lock_mode", "COMPLIANCE", NULL};
	const char *kms_wrong_sse[] = {"s3",      "bucket", "audit-bucket", "s3", "kms_key_id",
	                               "alias/k", NULL};
	const char *no_bucket[] = {"s3", "use_imds", "no", NULL};
	const char *http_remote[] = {
	    "s3", "bucket", "audit-bucket", "s3", "endpoint", "http://s3.example.com", NULL};
	const char *all[] = {"s3",
	                     "bucket",
	                     "audit-bucket",
	                     "s3",
	                     "sse",
	                     "aws:kms",
	                     "s3",
	                     "kms_key_id",
	                     "alias/k",
	                     "s3",
	                     "object_lock_mode",
	                     "GOVERNANCE",
	                     "s3",
	                     "object_lock_days",
	                     "30",
	                     "s3",
	                     "storage_class",
	                     "STANDARD_IA",
	                     NULL};

	ck_assert_int_eq(new_with(ok, err, sizeof err), TG_OK);
	ck_assert_int_eq(new_with(all, err, sizeof err), TG_OK);
	ck_assert_int_eq(new_with(lock_no_days, err, sizeof err), TG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "object_lock_days"));
	ck_assert_int_eq(new_with(kms_wrong_sse, err, sizeof err), TG_ERR_CONFIG);
	ck_assert_int_eq(new_with(no_bucket, err, sizeof err), TG_ERR_CONFIG);
	ck_assert_int_eq(new_with(http_remote, err, sizeof err), TG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "loopback"));
}
END_TEST

/* Bad keys and options are refused before anything is sent (no server here). */
START_TEST(test_refuses_bad_requests)
{
	const char *kv[] = {"s3",
	                    "bucket",
	                    "audit-bucket",
	                    "s3",
	                    "endpoint",
	                    "http://127.0.0.1:9",
	                    "s3",
	                    "path_style",
	                    "yes",
	                    "s3",
	                    "access_key_id",
	                    "AK",
	                    "s3",
	                    "secret_access_key",
	                    "SK",
	                    NULL};
	struct tg_config *cfg = config(kv);
	struct tg_s3 *s3;
	struct tg_s3_result res;
	struct tg_s3_meta bad_name = {"User", "x"},
	                  bad_value = {"user", "a\r\nx-amz-acl: public-read"};
	struct tg_s3_put_opts opts;
	char err[256], longkey[1100];

	ck_assert_int_eq(tg_s3_new(&s3, cfg, err, sizeof err), TG_OK);
	tg_s3_set_retry(s3, 1, 0, 0);
	memset(&opts, 0, sizeof opts);
	ck_assert_int_eq(tg_s3_put_buffer(s3, "", "x", 1, NULL, &res), TG_ERR_INVALID);
	ck_assert_int_eq(tg_s3_put_buffer(s3, "a\nb", "x", 1, NULL, &res), TG_ERR_INVALID);
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	ck_assert_int_eq(tg_s3_put_buffer(s3, longkey, "x", 1, NULL, &res), TG_ERR_INVALID);
	opts.meta = &bad_name;
	opts.nmeta = 1;
	ck_assert_int_eq(tg_s3_put_buffer(s3, "k", "x", 1, &opts, &res), TG_ERR_INVALID);
	opts.meta = &bad_value;
	ck_assert_int_eq(tg_s3_put_buffer(s3, "k", "x", 1, &opts, &res), TG_ERR_INVALID);
	opts.nmeta = 0;
	opts.content_type = "text/plain\r\nX-Evil: 1";
	ck_assert_int_eq(tg_s3_put_buffer(s3, "k", "x", 1, &opts, &res), TG_ERR_INVALID);
	/* nothing listens on port 9: a transport error, retryable, with no HTTP status */
	ck_assert_int_eq(tg_s3_put_buffer(s3, "k", "x", 1, NULL, &res), TG_ERR_RETRY);
	ck_assert_int_eq(res.retryable, 1);
	ck_assert_int_eq(res.http_status, 0);
	ck_assert_str_eq(res.code, "Transport");
	ck_assert_int_eq(tg_s3_put_file(s3, "k", "/nonexistent/file", NULL, &res),
	                 TG_ERR_NOT_FOUND);
	tg_s3_free(s3);
	tg_config_free(cfg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tg_s3");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_aws);
	tcase_add_test(tc, test_addr_endpoint);
	tcase_add_test(tc, test_xml);
	tcase_add_test(tc, test_retryable);
	tcase_add_test(tc, test_retain_until);
	tcase_add_test(tc, test_state_roundtrip);
	tcase_add_test(tc, test_state_corrupt);
	tcase_add_test(tc, test_new_validates);
	tcase_add_test(tc, test_refuses_bad_requests);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	return tg_test_run(suite());
}
