/*
 * tg_s3 without a server: addressing (virtual-hosted, path-style, http only
 * to loopback), the bounded XML reader, retry classification, Object Lock
 * dates, the multipart resume state file, and what tg_s3_new refuses.
 * The requests themselves are tested against a real server by
 * tests/test_s3_client.sh.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

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
	/* an old us-east-1 name with capitals or '_' is no DNS name (a host name is matched
	 * lower-cased, so 'Audit_Logs.s3...' would name another bucket): path-style, as
	 * botocore sends it */
	ck_assert_int_eq(tg_s3_addr_init(&a, "", "us-east-1", "Audit_Logs", 0, err, sizeof err),
	                 TG_OK);
	ck_assert_str_eq(a.host, "s3.us-east-1.amazonaws.com");
	p = path_of(&a, "Audit_Logs", "k");
	ck_assert_str_eq(p, "/Audit_Logs/k");
	free(p);
	ck_assert_int_eq(tg_s3_addr_init(&a, "https://s3.example.net", "us-east-1", "audit_logs", 0,
	                                 err, sizeof err),
	                 TG_OK);
	ck_assert_str_eq(a.host, "s3.example.net");
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
	/* an IP address or localhost cannot take BUCKET. in front: path style without asking */
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "https://10.0.0.5:9000", "us-east-1", "bkt", 0, err, sizeof err),
	    TG_OK);
	ck_assert_str_eq(a.host, "10.0.0.5:9000");
	p = path_of(&a, "bkt", "k");
	ck_assert_str_eq(p, "/bkt/k");
	free(p);
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "http://[::1]:9000", "us-east-1", "bkt", 0, err, sizeof err),
	    TG_OK);
	ck_assert_str_eq(a.host, "[::1]:9000");
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "http://LocalHost", "us-east-1", "bkt", 0, err, sizeof err), TG_OK);
	ck_assert_str_eq(a.host, "LocalHost");
	/* a name that only starts like an address is a name */
	ck_assert_int_eq(
	    tg_s3_addr_init(&a, "https://10.0.0.5.nip.io", "us-east-1", "bkt", 0, err, sizeof err),
	    TG_OK);
	ck_assert_str_eq(a.host, "bkt.10.0.0.5.nip.io");
	/* a user or a query may hold a secret: refused, and never echoed (the message goes to
	 * the log and to Slack) */
	{
		static const char *const secret_in[] = {
		    "https://AKIAEXAMPLE:wJalrSECRETKEY@minio:9000",
		    "AKIAEXAMPLE:wJalrSECRETKEY@minio:9000",
		    "https://minio:9000/?X-Amz-Signature=wJalrSECRETKEY",
		    "http://minio.internal#wJalrSECRETKEY",
		    "https://[::1@wJalrSECRETKEY",
		};
		size_t i;

		for (i = 0; i < sizeof(secret_in) / sizeof(secret_in[0]); i++) {
			err[0] = '\0';
			ck_assert_int_eq(tg_s3_addr_init(&a, secret_in[i], "us-east-1", "bkt", 1,
			                                 err, sizeof err),
			                 TG_ERR_CONFIG);
			ck_assert_msg(err[0] != '\0' && strstr(err, "SECRET") == NULL, "%s: %s",
			              secret_in[i], err);
		}
	}
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

/* Text that is only shown (an error's Code, Message) is cut to fit, where a character ends, and
 * marked; a value whose exact bytes matter is still refused by tg_s3_xml_get. */
START_TEST(test_xml_text_cut)
{
	static const struct {
		const char *xml, *want;
	} cases[] = {
	    /* out holds 11 bytes: a value of 11 as it is, else 8 and "..." */
	    {"<m>abcdefghijk</m>", "abcdefghijk"},
	    {"<m>abcdefghijkl</m>", "abcdefgh..."},
	    {"<m>abcdefg\xc3\xa9xyz</m>", "abcdefg..."}, /* é would end past the 8th byte */
	    {"<m>abcdef\xc3\xa9wxyz</m>", "abcdef\xc3\xa9..."},
	    {"<m>abcdef\xf0\x9f\x98\x80xyz</m>", "abcdef..."},       /* a 4-byte character, raw */
	    {"<m>abcd&#x1F600;wxyz</m>", "abcd\xf0\x9f\x98\x80..."}, /* ...or as an entity */
	    {"<m>abcde&#x1F600;xyz</m>", "abcde..."},
	    {"<m>abcdefg&amp;&lt;xyz</m>", "abcdefg&..."},
	    /* a broken sequence (F0 90, broken by the E2 after it) before a character the cut
	     * ends inside: kept, it would look cut in two itself once the E2 is gone */
	    {"<m>abcd\xf0\x90\xe2\x82\xacxyz</m>", "abcd..."},
	    {"<m>abc\xf0\x90\xe2\x82\xacwxyz</m>", "abc\xf0\x90\xe2\x82\xac..."},
	};
	char out[12];
	size_t i, pos;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pos = 0;
		ck_assert_int_eq(tg_s3_xml_get_text(cases[i].xml, strlen(cases[i].xml), &pos, "m",
		                                    out, sizeof out),
		                 TG_OK);
		ck_assert_str_eq(out, cases[i].want);
		ck_assert_uint_eq(pos, strlen(cases[i].xml));
		pos = 0;
		ck_assert_int_eq(
		    tg_s3_xml_get(cases[i].xml, strlen(cases[i].xml), &pos, "m", out, sizeof out),
		    strlen(cases[i].want) > 3 &&
		            strcmp(cases[i].want + strlen(cases[i].want) - 3, "...") == 0
		        ? TG_ERR_LIMIT
		        : TG_OK);
	}
	/* what comes before the cut is still checked; a buffer without room for the mark is refused
	 */
	pos = 0;
	ck_assert_int_eq(
	    tg_s3_xml_get_text("<m>ab&bogus;cdefghijklmn</m>", 28, &pos, "m", out, sizeof out),
	    TG_ERR_PARSE);
	ck_assert_str_eq(out, "");
	pos = 0;
	ck_assert_int_eq(tg_s3_xml_get_text("<m>abcdef</m>", 13, &pos, "m", out, 3),
	                 TG_ERR_INVALID);
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
	/* the request is signed with the clock of the moment: a retry is just as skewed */
	ck_assert(!tg_s3_retryable(403, "RequestTimeTooSkewed", 0));
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
	ck_assert_str_eq(back.headers, "");
	tg_s3_state_free(&back);
	/* with the headers' fingerprint */
	memset(st.headers, 'a', 64);
	st.headers[63] = '7';
	st.headers[64] = '\0';
	b.len = 0;
	ck_assert_int_eq(tg_s3_state_format(&st, &b), TG_OK);
	ck_assert_int_eq(tg_s3_state_parse((const char *)b.data, b.len, &back), TG_OK);
	ck_assert_str_eq(back.headers, st.headers);
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
	/* the headers' fingerprint: 64 lower-case hex digits, once */
	snprintf(buf, sizeof buf, "%sheaders %064d\nend\n", head, 0);
	ck_assert_int_eq(parse_str(buf, &st), TG_OK);
	tg_s3_state_free(&st);
	snprintf(buf, sizeof buf, "%sheaders %063d\nend\n", head, 0);
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%sheaders %063dA\nend\n", head, 0);
	ck_assert_int_eq(parse_str(buf, &st), TG_ERR_FORMAT);
	snprintf(buf, sizeof buf, "%sheaders %064d\nheaders %064d\nend\n", head, 0, 0);
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

static int stop_sink(void *ctx, const void *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
	return 1;
}

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
	{
		const char *no_ca[] = {
		    "s3", "bucket", "audit-bucket", "s3", "ca_file", "/nonexistent/ca.pem", NULL};

		ck_assert_int_eq(new_with(no_ca, err, sizeof err), TG_ERR_CONFIG);
		ck_assert_ptr_nonnull(strstr(err, "ca_file"));
	}
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

/* ---- failure paths against tests/servers/scripted_s3.py (and imds_server.py) ---- */

struct pysrv {
	pid_t pid;
	char port[16];
};

/* Start tests/servers/NAME (its port file in dir), then up to three more arguments. */
static int pysrv_start(struct pysrv *s, const char *dir, const char *name, const char *a1,
                       const char *a2, const char *a3)
{
	char portfile[4200];
	int port;

	snprintf(portfile, sizeof portfile, "%s/%s.port", dir, name);
	if ((port = tg_test_pyserver_start(name, portfile, &s->pid, a1, a2, a3)) < 0)
		return -1;
	snprintf(s->port, sizeof s->port, "%d", port);
	return 0;
}

static void pysrv_stop(struct pysrv *s)
{
	tg_test_pyserver_stop(&s->pid);
}

struct scripted {
	char *dir;
	char log[4200];
	struct pysrv srv;
	struct tg_s3 *s3;
	struct tg_config *cfg;
};

/* A client on a scripted server answering `script` (JSON); extra config after it. */
static void scripted_start(struct scripted *t, const char *script, const char *const *kv)
{
	char path[4200], endpoint[64], err[256];
	FILE *f;

	t->dir = tg_test_tmpdir();
	snprintf(path, sizeof path, "%s/script.json", t->dir);
	snprintf(t->log, sizeof t->log, "%s/requests.log", t->dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	fclose(f);
	ck_assert_msg(pysrv_start(&t->srv, t->dir, "scripted_s3.py", t->log, path, NULL) == 0,
	              "could not start tests/servers/scripted_s3.py");
	snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%s", t->srv.port);
	t->cfg = config(kv);
	{
		const char *base[] = {"s3",     "bucket", "scripted",   "s3",  "endpoint",
		                      endpoint, "s3",     "path_style", "yes", NULL};

		for (const char *const *p = base; p[0] != NULL; p += 3) {
			enum tg_conf_id id;

			ck_assert_int_eq(tg_config_lookup(p[0], p[1], &id), TG_OK);
			ck_assert_int_eq(tg_config_set(t->cfg, id, p[2], err, sizeof err), TG_OK);
		}
	}
	ck_assert_msg(tg_s3_new(&t->s3, t->cfg, err, sizeof err) == TG_OK, "%s", err);
	tg_s3_set_retry(t->s3, 3, 1, 5);
}

static void scripted_stop(struct scripted *t)
{
	tg_s3_free(t->s3);
	tg_config_free(t->cfg);
	pysrv_stop(&t->srv);
	tg_test_rmtree(t->dir);
	free(t->dir);
}

/* The requests the server saw, as a JSON array. */
static json_t *scripted_log(struct scripted *t)
{
	json_t *all = json_array();
	char line[65536];
	FILE *f = fopen(t->log, "r");

	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		json_t *e = json_loads(line, 0, NULL);

		ck_assert_ptr_nonnull(e);
		json_array_append_new(all, e);
	}
	if (f != NULL)
		fclose(f);
	return all;
}

static const char *req_str(json_t *log, size_t i, const char *field)
{
	return json_string_value(json_object_get(json_array_get(log, i), field));
}

static const char *req_header(json_t *log, size_t i, const char *name)
{
	return json_string_value(
	    json_object_get(json_object_get(json_array_get(log, i), "headers"), name));
}

static const char *static_keys[] = {
    "s3", "access_key_id", "AKIASTATIC", "s3", "secret_access_key", "sk", NULL};

/* What goes on the wire for a 2 MiB PUT: no Expect, every x-amz header signed, the body's hashes.
 */
START_TEST(test_wire_headers)
{
	const char *kv[] = {
	    "s3",  "access_key_id", "AKIASTATIC", "s3",         "secret_access_key", "sk", "s3",
	    "sse", "aws:kms",       "s3",         "kms_key_id", "alias/audit",       NULL};
	struct scripted t;
	struct tg_s3_result res;
	size_t len = 2 * 1024 * 1024;
	unsigned char *buf = malloc(len), h[32];
	char hex[65], b64[48];
	json_t *log;
	const char *auth;

	ck_assert_ptr_nonnull(buf);
	randombytes_buf(buf, len);
	crypto_hash_sha256(h, buf, len);
	sodium_bin2hex(hex, sizeof hex, h, 32);
	sodium_bin2base64(b64, sizeof b64, h, 32, sodium_base64_VARIANT_ORIGINAL);
	scripted_start(&t, "[]", kv);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "dir/a b", buf, len, NULL, &res), TG_OK);
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 1);
	ck_assert_str_eq(req_str(log, 0, "method"), "PUT");
	ck_assert_str_eq(req_str(log, 0, "path"), "/scripted/dir/a%20b");
	ck_assert_ptr_null(req_header(log, 0, "expect"));
	ck_assert_str_eq(req_str(log, 0, "body_sha256"), hex);
	ck_assert_str_eq(req_header(log, 0, "x-amz-content-sha256"), hex);
	ck_assert_str_eq(req_header(log, 0, "x-amz-checksum-sha256"), b64);
	ck_assert_str_eq(req_header(log, 0, "x-amz-server-side-encryption"), "aws:kms");
	ck_assert_str_eq(req_header(log, 0, "x-amz-server-side-encryption-aws-kms-key-id"),
	                 "alias/audit");
	auth = req_header(log, 0, "authorization");
	ck_assert_ptr_nonnull(strstr(auth,
	                             "SignedHeaders=content-type;host;x-amz-checksum-sha256;"
	                             "x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption;"
	                             "x-amz-server-side-encryption-aws-kms-key-id,"));
	json_decref(log);
	scripted_stop(&t);
	free(buf);
}
END_TEST

/* A key with "." or ".." segments is an S3 key like any other: the path goes on the wire as it
 * was signed, not with its dot segments removed (libcurl's URL normalisation) */
START_TEST(test_dot_segments_as_is)
{
	static const char *const keys[][2] = {{"a/./b", "/scripted/a/./b"},
	                                      {"a/../b", "/scripted/a/../b"},
	                                      {"./x/.", "/scripted/./x/."},
	                                      {"../../up", "/scripted/../../up"}};
	struct scripted t;
	struct tg_s3_result res;
	json_t *log;
	size_t i;

	scripted_start(&t, "[]", static_keys);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_int_eq(tg_s3_put_buffer(t.s3, keys[i][0], "x", 1, NULL, &res), TG_OK);
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), sizeof keys / sizeof keys[0]);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_str_eq(req_str(log, i, "path"), keys[i][1]);
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

START_TEST(test_403_not_retried)
{
	struct scripted t;
	struct tg_s3_result res;
	json_t *log;

	scripted_start(&t,
	               "[{\"status\": 403, \"body\": "
	               "\"<Error><Code>AccessDenied</Code><Message>no</Message></Error>\"}]",
	               static_keys);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_AUTH);
	ck_assert_int_eq(res.retryable, 0);
	ck_assert_int_eq(res.http_status, 403);
	ck_assert_str_eq(res.code, "AccessDenied");
	ck_assert_str_eq(res.message, "no");
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 1);
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* A clock off by more than S3 allows: every retry would be signed with the same clock, so it is
 * not retried but reported at once (the uploader keeps the file and alerts s3_error). */
START_TEST(test_clock_skew_not_retried)
{
	struct scripted t;
	struct tg_s3_result res;
	json_t *log;
	const char *skewed =
	    "{\"status\": 403, \"body\": \"<Error><Code>RequestTimeTooSkewed</Code><Message>The "
	    "difference between the request time and the current time is too large.</Message>"
	    "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>\"}";
	char script[1024];

	snprintf(script, sizeof script, "[%s, %s, %s]", skewed, skewed, skewed);
	scripted_start(&t, script, static_keys);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_AUTH);
	ck_assert_int_eq(res.retryable, 0);
	ck_assert_str_eq(res.code, "RequestTimeTooSkewed");
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 1);
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

START_TEST(test_503_bounded)
{
	struct scripted t;
	struct tg_s3_result res;
	json_t *log;
	const char *slow = "{\"status\": 503, \"body\": "
	                   "\"<Error><Code>SlowDown</Code><Message>slow</Message></Error>\"}";
	char script[1024];

	snprintf(script, sizeof script, "[%s, %s, %s, %s, %s]", slow, slow, slow, slow, slow);
	scripted_start(&t, script, static_keys);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_RETRY);
	ck_assert_int_eq(res.retryable, 1);
	ck_assert_str_eq(res.code, "SlowDown");
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 3); /* the attempt limit, and not one more */
	json_decref(log);
	/* the next call gets past the two SlowDowns left */
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_OK);
	scripted_stop(&t);
}
END_TEST

START_TEST(test_answer_checksum_mismatch)
{
	struct scripted t;
	struct tg_s3_result res;
	const char *bad =
	    "{\"status\": 200, \"headers\": {\"ETag\": \"\\\"e\\\"\", \"x-amz-checksum-sha256\": "
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}}";
	char script[1024];

	snprintf(script, sizeof script, "[%s, %s, %s]", bad, bad, bad);
	scripted_start(&t, script, static_keys);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_RETRY);
	ck_assert_str_eq(res.code, "ChecksumMismatch");
	ck_assert_int_eq(res.retryable, 1);
	scripted_stop(&t);
}
END_TEST

/* The scripted answer to CreateMultipartUpload of "big": upload id upl-1. */
static const char MPU_INIT[] =
    "{\"status\": 200, \"body\": \"<InitiateMultipartUploadResult><Bucket>scripted</Bucket>"
    "<Key>big</Key><UploadId>upl-1</UploadId></InitiateMultipartUploadResult>\"}";

/* A file of mib MiB at path: numbered 1 KiB lines, so that no two parts are alike. */
static void write_mib(const char *path, size_t mib)
{
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < mib * 1024; i++)
		ck_assert_int_eq(fprintf(f, "%01023zu\n", i), 1024);
	fclose(f);
}

/* A scripted server taking one request at a time, tries tries, 5 MiB parts, and t->dir/big of
 * mib MiB (its path into path) to put. */
static void scripted_big(struct scripted *t, const char *script, unsigned tries, char *path,
                         size_t len, size_t mib)
{
	scripted_start(t, script, static_keys);
	tg_s3_set_retry(t->s3, tries, 0, 0);
	tg_s3_set_parallel(t->s3, 1);
	tg_s3_set_multipart(t->s3, 5 * 1024 * 1024, 5 * 1024 * 1024);
	snprintf(path, len, "%s/big", t->dir);
	write_mib(path, mib);
}

/* CompleteMultipartUpload may answer 200 and an <Error>: that is a failure, and the parts are
 * aborted. */
START_TEST(test_complete_200_error)
{
	struct scripted t;
	struct tg_s3_result res;
	char path[4300], script[2048];
	json_t *log;
	size_t n;
	const char *part = "{\"status\": 200, \"headers\": {\"ETag\": \"\\\"p\\\"\"}}";
	const char *err = "{\"status\": 200, \"body\": \"<?xml "
	                  "version=\\\"1.0\\\"?><Error><Code>InternalError</Code>"
	                  "<Message>We encountered an internal error.</Message></Error>\"}";

	snprintf(script, sizeof script, "[%s, %s, %s, %s]", MPU_INIT, part, part, err);
	/* one request at a time: their order is checked below; two parts of at most 5 MiB */
	scripted_big(&t, script, 1, path, sizeof path, 6);
	ck_assert_int_eq(tg_s3_put_file(t.s3, "big", path, NULL, &res), TG_ERR_RETRY);
	ck_assert_str_eq(res.code, "InternalError");
	ck_assert_int_eq(res.retryable, 1);
	log = scripted_log(&t);
	n = json_array_size(log);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(req_str(log, 0, "path"), "/scripted/big?uploads");
	ck_assert_str_eq(req_str(log, 1, "path"), "/scripted/big?partNumber=1&uploadId=upl-1");
	ck_assert_ptr_nonnull(req_header(log, 1, "x-amz-checksum-sha256"));
	ck_assert_str_eq(req_str(log, 3, "method"), "POST");
	ck_assert_str_eq(req_str(log, 3, "path"), "/scripted/big?uploadId=upl-1");
	ck_assert_str_eq(req_str(log, 4, "method"),
	                 "DELETE"); /* no resume path: abort, leave nothing billed */
	ck_assert_str_eq(req_str(log, 4, "path"), "/scripted/big?uploadId=upl-1");
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* A file that shrinks while it goes up is the file's failure, not S3's: said so (res->local,
 * the file named), retryable, and no part past the end is sent. */
static void shrink_after_first_part(void *ctx, uint64_t done, uint64_t total)
{
	(void)total;
	if (done > 0)
		ck_assert_int_eq(ftruncate(*(int *)ctx, 1024 * 1024), 0);
}

START_TEST(test_put_fd_file_shrinks)
{
	struct scripted t;
	struct tg_s3_result res;
	struct tg_s3_put_opts opts = {0};
	char path[4300], script[1024];
	json_t *log;
	int fd;

	snprintf(script, sizeof script, "[%s]", MPU_INIT);
	/* three parts of at most 5 MiB */
	scripted_big(&t, script, 3, path, sizeof path, 11);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	opts.progress = shrink_after_first_part;
	opts.progress_ctx = &fd;
	ck_assert_int_eq(tg_s3_put_fd(t.s3, "big", fd, path, &opts, &res), TG_ERR_TRUNCATED);
	ck_assert_int_eq(res.local, 1);
	ck_assert_int_eq(res.retryable, 1);
	ck_assert_int_eq(res.http_status, 0);
	ck_assert_msg(strncmp(res.message, path, strlen(path)) == 0, "%s", res.message);
	ck_assert_msg(strstr(res.message, "short of its size") != NULL, "%s", res.message);
	log = scripted_log(&t);
	/* the upload, its first part, and its abort: no part of the shrunk file, no retry */
	ck_assert_int_eq(json_array_size(log), 3);
	ck_assert_str_eq(req_str(log, 1, "path"), "/scripted/big?partNumber=1&uploadId=upl-1");
	ck_assert_str_eq(req_str(log, 2, "method"), "DELETE");
	json_decref(log);
	close(fd);
	scripted_stop(&t);
}
END_TEST

/* A resume state that cannot be written, for another reason than a full disk (a folder that is
 * not there, a name the folder cannot take), does not stop the upload either: the file goes up
 * as without a resume path, and nothing is blamed on S3 (it answered 200 to everything). */
START_TEST(test_state_unwritable_goes_on)
{
	static const char COMPLETE[] =
	    "{\"status\": 200, \"body\": \"<CompleteMultipartUploadResult><ETag>\\\"c\\\"</ETag>"
	    "</CompleteMultipartUploadResult>\"}";
	const char *part = "{\"status\": 200, \"headers\": {\"ETag\": \"\\\"p\\\"\"}}";
	struct scripted t;
	struct tg_s3_result res;
	struct tg_s3_put_opts opts = {0};
	char path[4300], state[4400], script[4096], name[300];
	json_t *log;
	size_t i;

	snprintf(script, sizeof script, "[%s, %s, %s, %s, %s, %s, %s, %s]", MPU_INIT, part, part,
	         COMPLETE, MPU_INIT, part, part, COMPLETE);
	scripted_big(&t, script, 1, path, sizeof path, 6);
	opts.resume_path = state;
	/* no such folder (ENOENT) */
	snprintf(state, sizeof state, "%s/no-such-folder/big.json", t.dir);
	ck_assert_msg(tg_s3_put_file(t.s3, "big", path, &opts, &res) == TG_OK, "%s %s", res.code,
	              res.message);
	/* a name of 260 bytes: past NAME_MAX */
	memset(name, 'n', 260);
	name[260] = '\0';
	snprintf(state, sizeof state, "%s/%s", t.dir, name);
	ck_assert_msg(tg_s3_put_file(t.s3, "big", path, &opts, &res) == TG_OK, "%s %s", res.code,
	              res.message);
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 8); /* two uploads, no abort */
	for (i = 0; i < 8; i++)
		ck_assert_str_ne(req_str(log, i, "method"), "DELETE");
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* A resume state that is there but cannot be read now (EMFILE, EIO) is neither taken for none
 * (a new upload: the old one left to be billed, the whole file sent again) nor removed: the put
 * fails, local and retryable, before any request. */
START_TEST(test_state_unreadable_now_is_kept)
{
	struct scripted t;
	struct tg_s3_result res;
	struct tg_s3_put_opts opts = {0};
	struct rlimit old;
	char path[4300], state[4400];
	struct stat st;
	json_t *log;
	FILE *f;
	int r;

	scripted_big(&t, "[]", 1, path, sizeof path, 6);
	snprintf(state, sizeof state, "%s/big.json", t.dir);
	ck_assert_ptr_nonnull(f = fopen(state, "w"));
	fputs("a resume state\n", f);
	fclose(f);
	opts.resume_path = state;
	/* one descriptor left: the file to upload takes it, the state's open gets EMFILE */
	tg_test_fds_left(1, &old);
	r = tg_s3_put_file(t.s3, "big", path, &opts, &res);
	tg_test_fds_restore(&old);
	ck_assert_int_ne(r, TG_OK);
	ck_assert_msg(strcmp(res.code, "LocalState") == 0 && res.local && res.retryable, "%s %s",
	              res.code, res.message);
	ck_assert_int_eq(stat(state, &st), 0);
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* An S3 error's Message or Code too long for the result: cut where a character ends, marked with
 * "...", never thrown away. AWS's AccessDenied for a missing KMS permission is 292 bytes, and
 * what is missing is in it; it was shown as "HTTP 403". */
static const char KMS_DENIED[] =
    "User: arn:aws:sts::111122223333:assumed-role/tollgate-uploader/i-0123456789abcdef0 is not "
    "authorized to perform: kms:GenerateDataKey on resource: "
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab because no "
    "identity-based policy allows the kms:GenerateDataKey action";

/* The result's message is the start of want (at a character boundary), then "...". */
static void assert_cut(const char *got, size_t size, const char *want, size_t keep)
{
	ck_assert_uint_lt(strlen(got), size);
	ck_assert_uint_eq(strlen(got), keep + 3);
	ck_assert_msg(strncmp(got, want, keep) == 0, "%s", got);
	ck_assert_str_eq(got + keep, "...");
}

START_TEST(test_long_error_cut)
{
	struct scripted t;
	struct tg_s3_result res;
	char script[4096], accents[512], want[512], code[100];
	size_t i, n = 0;

	ck_assert_uint_eq(strlen(KMS_DENIED), 292);
	/* 201 ASCII bytes, then é (2 bytes each): the 252 bytes that fit end inside one */
	for (i = 0; i < 201; i++)
		want[n++] = 'a';
	for (i = 0; i < 40; i++) {
		want[n++] = '\xc3';
		want[n++] = '\xa9';
	}
	want[n] = '\0';
	snprintf(accents, sizeof accents, "%.201s", want);
	for (i = 0; i < 40; i++)
		strcat(accents, "\\u00e9");
	memset(code, 'C', 80);
	code[80] = '\0';
	snprintf(
	    script, sizeof script,
	    "[{\"status\": 403, \"body\": \"<Error><Code>AccessDenied</Code><Message>%s</Message>"
	    "</Error>\"}, {\"status\": 403, \"body\": \"<Error><Code>AccessDenied</Code>"
	    "<Message>%s</Message></Error>\"}, {\"status\": 400, \"body\": \"<Error><Code>%s"
	    "</Code><Message>odd</Message></Error>\"}]",
	    KMS_DENIED, accents, code);
	scripted_start(&t, script, static_keys);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_AUTH);
	ck_assert_int_eq(res.http_status, 403);
	ck_assert_str_eq(res.code, "AccessDenied");
	assert_cut(res.message, sizeof res.message, KMS_DENIED, sizeof res.message - 4);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_AUTH);
	/* 201 + 25 é: the 26th would end past the room */
	assert_cut(res.message, sizeof res.message, want, 251);
	ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_ERR_HTTP);
	assert_cut(res.code, sizeof res.code, code, sizeof res.code - 4);
	ck_assert_str_eq(res.message, "odd");
	ck_assert_int_eq(res.retryable, 0);
	scripted_stop(&t);
}
END_TEST

/* The same in a 200 answer to CompleteMultipartUpload that holds an <Error>. */
START_TEST(test_complete_200_long_error)
{
	struct scripted t;
	struct tg_s3_result res;
	char path[4300], script[4096];
	const char *part = "{\"status\": 200, \"headers\": {\"ETag\": \"\\\"p\\\"\"}}";

	snprintf(script, sizeof script,
	         "[%s, %s, %s, {\"status\": 200, \"body\": \"<Error><Code>InternalError</Code>"
	         "<Message>%s</Message></Error>\"}]",
	         MPU_INIT, part, part, KMS_DENIED);
	scripted_start(&t, script, static_keys);
	tg_s3_set_retry(t.s3, 1, 0, 0);
	tg_s3_set_parallel(t.s3, 1);
	tg_s3_set_multipart(t.s3, 5 * 1024 * 1024, 5 * 1024 * 1024);
	snprintf(path, sizeof path, "%s/big", t.dir);
	write_mib(path, 6);
	ck_assert_int_eq(tg_s3_put_file(t.s3, "big", path, NULL, &res), TG_ERR_RETRY);
	ck_assert_str_eq(res.code, "InternalError");
	assert_cut(res.message, sizeof res.message, KMS_DENIED, sizeof res.message - 4);
	scripted_stop(&t);
}
END_TEST

/* ExpiredToken: fresh credentials from instance metadata, then the same request again. */
START_TEST(test_expired_token_refresh)
{
	struct scripted t;
	struct tg_s3_result res;
	struct pysrv imds = {0, ""};
	char endpoint[64];
	json_t *log;
	const char *kv[] = {"s3", "imds_endpoint", endpoint, NULL};

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	{
		char *dir = tg_test_tmpdir();

		ck_assert_int_eq(pysrv_start(&imds, dir, "imds_server.py", NULL, NULL, NULL), 0);
		snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%s", imds.port);
		scripted_start(&t,
		               "[{\"status\": 400, \"body\": \"<Error><Code>ExpiredToken</Code>"
		               "<Message>The provided token has expired.</Message></Error>\"}]",
		               kv);
		ck_assert_int_eq(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_OK);
		log = scripted_log(&t);
		ck_assert_int_eq(json_array_size(log), 2);
		ck_assert_str_eq(req_str(log, 0, "access_key"), "ASIATEST000001");
		ck_assert_str_eq(req_str(log, 1, "access_key"), "ASIATEST000002");
		ck_assert_ptr_nonnull(req_header(log, 1, "x-amz-security-token"));
		ck_assert_ptr_nonnull(
		    strstr(req_header(log, 1, "authorization"), "x-amz-security-token"));
		json_decref(log);
		scripted_stop(&t);
		pysrv_stop(&imds);
		tg_test_rmtree(dir);
		free(dir);
	}
}
END_TEST

/* ExpiredToken for keys from the config: nothing can renew them, so it is not retried (it would
 * only hide the fault) but reported as an error that retrying cannot fix. */
START_TEST(test_expired_static_token_not_retried)
{
	struct scripted t;
	struct tg_s3_result res;
	json_t *log;

	scripted_start(&t,
	               "[{\"status\": 400, \"body\": \"<Error><Code>ExpiredToken</Code>"
	               "<Message>The provided token has expired.</Message></Error>\"},"
	               " {\"status\": 400, \"body\": \"<Error><Code>ExpiredToken</Code>"
	               "<Message>The provided token has expired.</Message></Error>\"}]",
	               static_keys);
	tg_s3_set_retry(t.s3, 3, 0, 0);
	ck_assert_int_ne(tg_s3_put_buffer(t.s3, "k", "x", 1, NULL, &res), TG_OK);
	ck_assert_str_eq(res.code, "ExpiredToken");
	ck_assert_int_eq(res.retryable, 0);
	ck_assert_ptr_nonnull(strstr(res.message, "nothing here can renew it"));
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 1);
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* A GET cut after some bytes went to the sink is not repeated (the sink would see them twice). */
START_TEST(test_sink_stops)
{
	struct scripted t;
	struct tg_s3_result res;

	scripted_start(&t, "[{\"status\": 200, \"body\": \"hello world\"}]", static_keys);
	ck_assert_int_eq(tg_s3_get(t.s3, "k", stop_sink, NULL, &res), TG_ERR_INTERRUPTED);
	ck_assert_int_eq(res.retryable, 0);
	scripted_stop(&t);
}
END_TEST

struct collect {
	char buf[256];
	size_t len;
};

static int collect_sink(void *ctx, const void *p, size_t len)
{
	struct collect *c = ctx;

	ck_assert_uint_le(c->len + len, sizeof c->buf);
	memcpy(c->buf + c->len, p, len);
	c->len += len;
	return 0;
}

/* A GET cut in the middle goes on with Range and If-Match, and the sink sees every byte once. */
START_TEST(test_get_resumes_with_range)
{
	struct scripted t;
	struct tg_s3_result res;
	struct collect c = {{0}, 0};
	json_t *log;

	scripted_start(&t,
	               "[{\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": "
	               "\"hello \", \"length\": 20},"
	               " {\"status\": 206, \"headers\": {\"ETag\": \"\\\"v1\\\"\", "
	               "\"Content-Range\": \"bytes 6-19/20\"},"
	               "  \"body\": \"world, all of it\"}]",
	               static_keys);
	ck_assert_int_eq(tg_s3_get(t.s3, "k", collect_sink, &c, &res), TG_OK);
	ck_assert_int_eq(c.len, 22);
	ck_assert(memcmp(c.buf, "hello world, all of it", 22) == 0);
	log = scripted_log(&t);
	ck_assert_int_eq(json_array_size(log), 2);
	ck_assert_ptr_null(req_header(log, 0, "range"));
	ck_assert_str_eq(req_header(log, 1, "range"), "bytes=6-");
	ck_assert_str_eq(req_header(log, 1, "if-match"), "\"v1\"");
	ck_assert_ptr_nonnull(
	    strstr(req_header(log, 1, "authorization"), "SignedHeaders=host;if-match;range;"));
	json_decref(log);
	scripted_stop(&t);
}
END_TEST

/* A server that ignores Range and sends the whole object again: the part already seen is dropped.
 */
START_TEST(test_get_resume_range_ignored)
{
	struct scripted t;
	struct tg_s3_result res;
	struct collect c = {{0}, 0};

	scripted_start(&t,
	               "[{\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": "
	               "\"0123\", \"length\": 10},"
	               " {\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": "
	               "\"0123456789\"}]",
	               static_keys);
	ck_assert_int_eq(tg_s3_get(t.s3, "k", collect_sink, &c, &res), TG_OK);
	ck_assert_int_eq(c.len, 10);
	ck_assert(memcmp(c.buf, "0123456789", 10) == 0);
	scripted_stop(&t);
}
END_TEST

/* The object was replaced between the two answers: 412, not a splice of two versions. */
START_TEST(test_get_resume_object_changed)
{
	struct scripted t;
	struct tg_s3_result res;
	struct collect c = {{0}, 0};

	scripted_start(&t,
	               "[{\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": "
	               "\"0123\", \"length\": 10},"
	               " {\"status\": 412, \"body\": "
	               "\"<Error><Code>PreconditionFailed</Code><Message>At least one of "
	               "the pre-conditions you specified did not hold</Message></Error>\"}]",
	               static_keys);
	ck_assert_int_eq(tg_s3_get(t.s3, "k", collect_sink, &c, &res), TG_ERR_HTTP);
	ck_assert_str_eq(res.code, "PreconditionFailed");
	ck_assert_int_eq(res.retryable, 0);
	scripted_stop(&t);
}
END_TEST

/*
 * A resumed GET answered with other bytes than the rest it asked for (bytes=4- of "\"v1\""):
 * an error that says so, never other bytes spliced in after those the sink has (which a
 * recording's reader would take for tampering), nor a short object taken for the whole.
 */
START_TEST(test_get_resume_wrong_answer)
{
	static const struct {
		const char *second, *code;
	} cases[] = {
	    /* another range: the whole object as 206 */
	    {"{\"status\": 206, \"headers\": {\"ETag\": \"\\\"v1\\\"\", \"Content-Range\": "
	     "\"bytes 0-9/10\"}, \"body\": \"0123456789\"}",
	     "BadRange"},
	    /* no Content-Range at all */
	    {"{\"status\": 206, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": \"456789\"}",
	     "BadRange"},
	    /* a range that stops short of the end */
	    {"{\"status\": 206, \"headers\": {\"ETag\": \"\\\"v1\\\"\", \"Content-Range\": "
	     "\"bytes 4-6/10\"}, \"body\": \"456\"}",
	     "BadRange"},
	    /* the Range ignored, and a whole object shorter than what the sink has */
	    {"{\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": \"01\"}",
	     "BadRange"},
	    /* If-Match ignored: another version of the object */
	    {"{\"status\": 206, \"headers\": {\"ETag\": \"\\\"v2\\\"\", \"Content-Range\": "
	     "\"bytes 4-9/10\"}, \"body\": \"abcdef\"}",
	     "ObjectChanged"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct scripted t;
		struct tg_s3_result res;
		struct collect c = {{0}, 0};
		char script[1024];
		json_t *log;

		snprintf(script, sizeof script,
		         "[{\"status\": 200, \"headers\": {\"ETag\": \"\\\"v1\\\"\"}, \"body\": "
		         "\"0123\", \"length\": 10}, %s]",
		         cases[i].second);
		scripted_start(&t, script, static_keys);
		ck_assert_int_eq(tg_s3_get(t.s3, "k", collect_sink, &c, &res), TG_ERR_HTTP);
		ck_assert_msg(c.len == 4 && memcmp(c.buf, "0123", 4) == 0,
		              "case %zu: the sink got %zu bytes", i, c.len);
		ck_assert_str_eq(res.code, cases[i].code);
		ck_assert_ptr_nonnull(
		    strstr(res.message, cases[i].code[0] == 'B' ? "bytes 4-" : "byte 4"));
		ck_assert_int_eq(res.retryable, 0);
		log = scripted_log(&t);
		ck_assert_int_eq(json_array_size(log), 2);
		ck_assert_str_eq(req_header(log, 1, "range"), "bytes=4-");
		json_decref(log);
		scripted_stop(&t);
	}
}
END_TEST

struct listed {
	char keys[8][64];
	size_t n;
};

static int list_collect(void *ctx, const char *key, uint64_t size, const char *lm)
{
	struct listed *l = ctx;

	(void)size;
	(void)lm;
	ck_assert_uint_lt(l->n, 8);
	snprintf(l->keys[l->n++], sizeof l->keys[0], "%s", key);
	return 0;
}

/* ListObjectsV2 with encoding-type=url: AWS encodes a space as '+' and a '+' as %2B (as
 * measured on s3.ap-northeast-2; botocore decodes with unquote_plus) */
START_TEST(test_list_url_encoded_keys)
{
	struct scripted t;
	struct tg_s3_result res;
	struct listed l;

	memset(&l, 0, sizeof l);
	scripted_start(&t,
	               "[{\"status\": 200, \"body\": \"<ListBucketResult><Name>scripted</Name>"
	               "<Prefix></Prefix><KeyCount>5</KeyCount><MaxKeys>1000</MaxKeys>"
	               "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
	               "<Contents><Key>a+b.txt</Key><Size>1</Size></Contents>"
	               "<Contents><Key>a%2Bb.txt</Key><Size>1</Size></Contents>"
	               "<Contents><Key>100%25.csv</Key><Size>1</Size></Contents>"
	               "<Contents><Key>run+books/x+y%20z.txt</Key><Size>1</Size></Contents>"
	               "<Contents><Key>%ED%95%9C/k</Key><Size>1</Size></Contents>"
	               "</ListBucketResult>\"}]",
	               static_keys);
	ck_assert_int_eq(tg_s3_list(t.s3, "", list_collect, &l, &res), TG_OK);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_str_eq(l.keys[0], "a b.txt");
	ck_assert_str_eq(l.keys[1], "a+b.txt");
	ck_assert_str_eq(l.keys[2], "100%.csv");
	ck_assert_str_eq(l.keys[3], "run books/x y z.txt");
	ck_assert_str_eq(l.keys[4], "\xed\x95\x9c/k");
	scripted_stop(&t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tg_s3");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_aws);
	tcase_add_test(tc, test_addr_endpoint);
	tcase_add_test(tc, test_xml);
	tcase_add_test(tc, test_xml_text_cut);
	tcase_add_test(tc, test_retryable);
	tcase_add_test(tc, test_retain_until);
	tcase_add_test(tc, test_state_roundtrip);
	tcase_add_test(tc, test_state_corrupt);
	tcase_add_test(tc, test_new_validates);
	tcase_add_test(tc, test_refuses_bad_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("scripted");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wire_headers);
	tcase_add_test(tc, test_dot_segments_as_is);
	tcase_add_test(tc, test_403_not_retried);
	tcase_add_test(tc, test_clock_skew_not_retried);
	tcase_add_test(tc, test_503_bounded);
	tcase_add_test(tc, test_answer_checksum_mismatch);
	tcase_add_test(tc, test_complete_200_error);
	tcase_add_test(tc, test_complete_200_long_error);
	tcase_add_test(tc, test_long_error_cut);
	tcase_add_test(tc, test_put_fd_file_shrinks);
	tcase_add_test(tc, test_state_unwritable_goes_on);
	tcase_add_test(tc, test_state_unreadable_now_is_kept);
	tcase_add_test(tc, test_expired_token_refresh);
	tcase_add_test(tc, test_expired_static_token_not_retried);
	tcase_add_test(tc, test_sink_stops);
	tcase_add_test(tc, test_get_resumes_with_range);
	tcase_add_test(tc, test_get_resume_range_ignored);
	tcase_add_test(tc, test_get_resume_object_changed);
	tcase_add_test(tc, test_get_resume_wrong_answer);
	tcase_add_test(tc, test_list_url_encoded_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	return tg_test_run(suite());
}
