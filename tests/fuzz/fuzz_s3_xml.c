/*
 * S3's XML answers, read the way uploader/tg_s3.c reads them, with the
 * bounded reader it exposes (tg_s3_xml_get(), tg_s3_xml_get_text() for an
 * error's Code and Message, tg_s3_xml_block()): an error
 * body (Code, Message), CreateMultipartUpload (UploadId),
 * CompleteMultipartUpload (an <Error> inside a 200, else the result's ETag)
 * and a ListObjectsV2 page (Contents, IsTruncated, NextContinuationToken).
 * Invariants: every block found lies inside the input (and inside its
 * parent), every value is NUL-terminated within its buffer and no longer
 * than its element's text, and the position always moves forward; a text
 * cut to fit ends in "..." after whole characters (none cut in two).
 */
#include <string.h>

#include "fuzz.h"
#include "tg_error.h"
#include "tg_s3_int.h"
#include "tg_utf8.h"

/* tg_s3_xml_get() with the checks above; the value's text lies in [from, len). */
static int get(const char *xml, size_t len, size_t *pos, const char *tag, char *out, size_t outlen)
{
	size_t before = *pos, s, e, p = *pos;
	int r;

	memset(out, 'x', outlen); /* whatever the caller's buffer held before */
	r = tg_s3_xml_get(xml, len, pos, tag, out, outlen);

	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
	if (r != TG_OK) {
		FUZZ_CHECK(*pos == before);
		return r;
	}
	FUZZ_CHECK(*pos > before && *pos <= len);
	FUZZ_CHECK(tg_s3_xml_block(xml, len, &p, tag, &s, &e) == TG_OK);
	FUZZ_CHECK(p == *pos && s <= e && e <= len && strlen(out) <= e - s);
	return r;
}

/* tg_s3_xml_get_text(): as get(), and a value tg_s3_xml_get() refuses as too long is cut, after
 * a whole character, and marked. */
static int get_text(const char *xml, size_t len, size_t *pos, const char *tag, char *out,
                    size_t outlen)
{
	char whole[512];
	size_t before = *pos, p = *pos, s, e, n, i = 0;
	int r, rw;

	memset(out, 'x', outlen);
	r = tg_s3_xml_get_text(xml, len, pos, tag, out, outlen);
	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
	rw = tg_s3_xml_get(xml, len, &p, tag, whole, outlen);
	if (r != TG_OK) {
		FUZZ_CHECK(*pos == before && r == rw);
		return r;
	}
	FUZZ_CHECK(*pos > before && *pos <= len);
	p = before;
	FUZZ_CHECK(tg_s3_xml_block(xml, len, &p, tag, &s, &e) == TG_OK);
	FUZZ_CHECK(p == *pos && s <= e && e <= len && strlen(out) <= e - s);
	if (rw == TG_OK) {
		FUZZ_CHECK(strcmp(out, whole) == 0);
		return r;
	}
	FUZZ_CHECK(rw == TG_ERR_LIMIT);
	n = strlen(out);
	FUZZ_CHECK(n >= 3 && strcmp(out + n - 3, "...") == 0);
	n -= 3;
	while (i < n) {
		int k = tg_utf8_seq((const unsigned char *)out + i, n - i);

		FUZZ_CHECK(k != -1); /* no character cut in two */
		i += k > 0 ? (size_t)k : tg_utf8_invalid_len((const unsigned char *)out + i, n - i);
	}
	return r;
}

static void error_body(const char *xml, size_t len)
{
	char code[64], message[256];
	size_t pos = 0;

	get_text(xml, len, &pos, "Code", code, sizeof(code));
	pos = 0;
	get_text(xml, len, &pos, "Message", message, sizeof(message));
	(void)tg_s3_retryable(400, code, 0);
	(void)tg_s3_retryable(500, code, 0);
}

static void initiate(const char *xml, size_t len)
{
	char upload_id[1024];
	size_t pos = 0;

	get(xml, len, &pos, "UploadId", upload_id, sizeof(upload_id));
}

static void complete(const char *xml, size_t len)
{
	char code[64], message[256], etag[128];
	size_t pos = 0, s, e, p2;

	if (tg_s3_xml_block(xml, len, &pos, "Error", &s, &e) == TG_OK) {
		FUZZ_CHECK(s <= e && e <= len && pos <= len);
		p2 = s;
		get_text(xml, e, &p2, "Code", code, sizeof(code));
		p2 = s;
		get_text(xml, e, &p2, "Message", message, sizeof(message));
		(void)tg_s3_retryable(500, code, 0);
		return;
	}
	pos = 0;
	if (memmem(xml, len, "<CompleteMultipartUploadResult", 30) != NULL)
		get(xml, len, &pos, "ETag", etag, sizeof(etag));
}

static void list_page(const char *xml, size_t len)
{
	char key[1024 * 3 + 1], size[32], lm[64], enc[16], trunc[16], next[2048];
	size_t pos = 0, s, e, p, last = 0;
	int r, n = 0;

	while ((r = tg_s3_xml_block(xml, len, &pos, "Contents", &s, &e)) == TG_OK) {
		FUZZ_CHECK(s <= e && e <= len && pos <= len && pos > last);
		last = pos;
		p = s;
		if (get(xml, e, &p, "Key", key, sizeof(key)) != TG_OK)
			break;
		p = s;
		if (get(xml, e, &p, "Size", size, sizeof(size)) != TG_OK)
			break;
		p = s;
		get(xml, e, &p, "LastModified", lm, sizeof(lm));
		if (++n > 10000)
			break;
	}
	pos = 0;
	get(xml, len, &pos, "EncodingType", enc, sizeof(enc));
	pos = 0;
	get(xml, len, &pos, "IsTruncated", trunc, sizeof(trunc));
	pos = 0;
	get(xml, len, &pos, "NextContinuationToken", next, sizeof(next));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;

	if (size > 1024 * 1024)
		return 0;
	error_body(xml, size < TG_S3_MAX_ERROR_BODY ? size : TG_S3_MAX_ERROR_BODY);
	initiate(xml, size);
	complete(xml, size);
	list_page(xml, size);
	return 0;
}
