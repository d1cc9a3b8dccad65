/*
 * SigV4 canonicalisation: tg_sigv4_canonical_request() and
 * tg_sigv4_authorization() over a request made from the input, one field a
 * line: flags (the low bit of the first byte: TG_SIGV4_NORMALIZE_PATH), then
 * method, path, query, and "name:value" headers. Invariants (S3 mode): the
 * canonical path and query are a fixed point (signing them again as sent
 * gives the same canonical request), and whatever canonicalises also signs.
 */
#include <string.h>

#include "fuzz.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_sigv4.h"

#define NHEADERS (TG_SIGV4_MAX_HEADERS + 2)

/* Line n (0-based) of the canonical request s, copied into a fresh string. */
static char *line_of(const char *s, int n)
{
	const char *e;
	char *out;

	for (; n > 0; n--) {
		s = strchr(s, '\n');
		FUZZ_CHECK(s != NULL);
		s++;
	}
	e = strchr(s, '\n');
	FUZZ_CHECK(e != NULL);
	if ((out = strndup(s, (size_t)(e - s))) == NULL)
		abort();
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tg_sigv4_scope scope = {"20261129T035000Z", "us-east-1", "s3"};
	struct tg_sigv4_header h[NHEADERS];
	struct tg_buf creq = TG_BUF_VOID, sh = TG_BUF_VOID, again = TG_BUF_VOID, sh2 = TG_BUF_VOID,
	              auth = TG_BUF_VOID;
	struct tg_sigv4_request req;
	char *text, *fields[3 + NHEADERS], *p, *path = NULL, *query = NULL;
	size_t nfields = 0, i;
	unsigned flags;
	int r;

	if (size < 1 || size > 64 * 1024)
		return 0;
	flags = (data[0] & 1) ? TG_SIGV4_NORMALIZE_PATH : 0;
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (p = text; nfields < sizeof(fields) / sizeof(fields[0]);) {
		fields[nfields++] = p;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		*p++ = '\0';
	}
	while (nfields < 3)
		fields[nfields++] = "";
	memset(&req, 0, sizeof(req));
	req.method = fields[0];
	req.path = fields[1];
	req.query = fields[2];
	for (i = 3; i < nfields; i++) {
		char *colon = strchr(fields[i], ':');

		h[i - 3].name = fields[i];
		h[i - 3].value = "";
		if (colon != NULL) {
			*colon = '\0';
			h[i - 3].value = colon + 1;
		}
	}
	req.headers = h;
	req.nheaders = nfields - 3;
	req.payload_hash = TG_SIGV4_EMPTY_SHA256;

	tg_buf_init(&creq, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&sh, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&again, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&sh2, TG_SIGV4_MAX_CANONICAL);
	tg_buf_init(&auth, TG_SIGV4_MAX_CANONICAL);
	r = tg_sigv4_canonical_request(&req, flags, &creq, &sh);
	if (r != TG_OK)
		goto out;
	FUZZ_CHECK(strlen(tg_buf_str(&creq)) == creq.len); /* no NUL inside */
	for (i = 0; i < sh.len; i++)
		FUZZ_CHECK(!(sh.data[i] >= 'A' && sh.data[i] <= 'Z'));
	if (flags == 0) {
		struct tg_sigv4_request req2 = req;

		path = line_of(tg_buf_str(&creq), 1);
		query = line_of(tg_buf_str(&creq), 2);
		req2.path = path;
		req2.query = query;
		FUZZ_CHECK(tg_sigv4_canonical_request(&req2, flags, &again, &sh2) == TG_OK);
		FUZZ_CHECK(again.len == creq.len && memcmp(again.data, creq.data, creq.len) == 0);
	}
	r = tg_sigv4_authorization(&req, flags, &scope, "AKIDEXAMPLE",
	                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &auth);
	FUZZ_CHECK(r == TG_OK);
	FUZZ_CHECK(strstr(tg_buf_str(&auth), "Signature=") != NULL);
out:
	free(path);
	free(query);
	tg_buf_free(&creq);
	tg_buf_free(&sh);
	tg_buf_free(&again);
	tg_buf_free(&sh2);
	tg_buf_free(&auth);
	free(text);
	return 0;
}
