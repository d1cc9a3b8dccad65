/*
 * tollgate-replay search's screen model (session_recorder/replay_search.c), fed records
 * directly: the file is included, so that its line model is driven without a signed
 * recording around it. The input is a pattern and a list of records:
 *
 *   flags, pattern length (mod 16), pattern bytes, then records: a byte (its low two bits
 *   pick OUT, ERR, IN or DROPPED, the rest the time step) and a length byte, then the bytes.
 *
 * Invariants: each stream's line in progress, its version taken before, and the block stay
 * within their caps (LINE_CAP, BLOCK_CAP, TIMES_CAP), every byte of the block has a time; and
 * output that is plain text (printable ASCII and newlines only) is a screen of those lines:
 * a literal pattern is found exactly as many times as it occurs, without overlap, in the
 * lines of both streams.
 */
#include <fcntl.h>
#include <unistd.h>

#include "../../session_recorder/replay_search.c"
#include "fuzz.h"
#include "fuzz_records.h"

#define MAX_RECORDS 4096

static struct search_ctx *ctx;

static void check_line(const struct search_line *ln)
{
	FUZZ_CHECK(ln->len <= LINE_CAP && ln->col <= LINE_CAP);
	FUZZ_CHECK(ln->cont <= ln->len);
	/* "the first blank_upto bytes are BLANK, a cell each" */
	FUZZ_CHECK(ln->blank_upto <= ln->len);
	for (size_t i = 0; i < ln->blank_upto; i++)
		FUZZ_CHECK(ln->text[i] == BLANK);
	FUZZ_CHECK(ln->dlo >= ln->dhi || ln->dhi <= LINE_CAP);
	if (ln->prev.have) {
		FUZZ_CHECK(ln->prev.len <= LINE_CAP);
		FUZZ_CHECK(ln->prev.off + ln->prev.len <= ln->prev.line_len);
		FUZZ_CHECK(ln->prev.line_len <= LINE_CAP);
	}
}

/* the block's bytes checked so far (each once: a block grows to BLOCK_FLUSH) */
static size_t checked;

static void check_ctx(const struct search_ctx *c)
{
	size_t i;

	check_line(&c->line[0]);
	check_line(&c->line[1]);
	FUZZ_CHECK(c->cur <= BLOCK_CAP && c->ntimes <= TIMES_CAP);
	if (c->cur < checked)
		checked = 0; /* searched and emptied since */
	for (i = checked; i < c->cur; i++)
		FUZZ_CHECK(c->cell[i] < c->ntimes);
	checked = c->cur;
}

/* Non-overlapping occurrences of pat in each line of s (lines end with '\n'). */
static uint64_t count_plain(const char *s, size_t n, const char *pat, size_t plen)
{
	uint64_t count = 0;
	size_t i = 0, ls = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		{
			const char *p = s + ls, *end = s + i, *f;

			while ((size_t)(end - p) >= plen &&
			       (f = memmem(p, (size_t)(end - p), pat, plen)) != NULL) {
				count++;
				p = f + plen;
			}
		}
		ls = i + 1;
	}
	return count;
}

static void reset(struct search_ctx *c, int input)
{
	c->input = input;
	search_restart(c);
	c->matches = 0;
	c->werr = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int saved_stdout = -1;
	static struct tg_rec_header h;
	struct search_ctx *c;
	struct tg_rec_record rec;
	char pat[17];
	size_t plen, pos, nrec = 0;
	/* the plain-text oracle: each stream's bytes, while they are all plain */
	static char plain[2][1 << 20];
	size_t nplain[2] = {0, 0};
	int all_plain = 1, flags, e, dev_null;
	uint64_t t = 0;

	if (size < 2 || size > (1 << 20))
		return 0;
	if (ctx == NULL) {
		if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
			abort();
		setlocale(LC_CTYPE, "C.UTF-8");
		snprintf(h.session_id, sizeof(h.session_id), "%s",
		         "00112233445566778899aabbccddeeff");
		snprintf(h.mode, sizeof(h.mode), "%s", "shell");
		if ((saved_stdout = dup(1)) < 0)
			abort();
	}
	c = ctx;
	flags = data[0];
	plen = data[1] % 16;
	if (2 + plen > size)
		return 0;
	memcpy(pat, data + 2, plen);
	pat[plen] = '\0';
	if (strlen(pat) != plen)
		return 0;
	if (flags & 4)
		snprintf(pat, sizeof(pat), "%s",
		         "x"); /* a fixed literal: the oracle gets its turn */
	plen = strlen(pat);
	if ((e = regcomp(&c->re, pat, REG_EXTENDED | REG_NEWLINE)) != 0)
		return 0;
	c->literal = is_literal(pat);
	c->has_eol = strchr(pat, '$') != NULL;
	c->utf8 = MB_CUR_MAX > 1;
	c->pat = pat;
	c->patlen = plen;
	c->name = "fuzz.tgr";
	reset(c, flags & 1);
	checked = 0;
	c->verified_bytes = (flags & 2) ? size / 2 : UINT64_MAX;

	/* report() prints each match: not to the fuzzer's stdout */
	fflush(stdout);
	if ((dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0 || dup2(dev_null, 1) < 0)
		abort();
	close(dev_null);

	pos = 2 + (data[1] % 16);
	static const enum tg_rec_type types[4] = {TG_REC_OUT, TG_REC_ERR, TG_REC_IN,
	                                          TG_REC_DROPPED};

	while (nrec < MAX_RECORDS &&
	       fuzz_next_record(data, size, &pos, &t, types, 2, nrec + 2, &rec)) {
		unsigned len = (unsigned)rec.len;
		size_t i;

		nrec++;
		if (rec.type == TG_REC_DROPPED) {
			rec.stream = (len & 1) ? TG_REC_IN : TG_REC_OUT;
			rec.dropped = len;
			rec.data = NULL;
			rec.len = 0;
		}
		if ((rec.type == TG_REC_OUT || rec.type == TG_REC_ERR) && !c->input) {
			int k = rec.type == TG_REC_ERR;

			for (i = 0; i < len; i++) {
				unsigned char b = data[pos + i];

				if (!((b >= 0x20 && b < 0x7f) || b == '\n'))
					all_plain = 0;
			}
			if (nplain[k] + len <= sizeof(plain[k])) {
				memcpy(plain[k] + nplain[k], data + pos, len);
				nplain[k] += len;
			} else {
				all_plain = 0;
			}
		}
		if (rec.type != TG_REC_DROPPED)
			pos += len;
		(void)search_rec(c, &h, &rec);
		check_ctx(c);
	}
	finish_lines(c);
	check_ctx(c);
	FUZZ_CHECK(c->cur == 0 && c->ntimes == 0);

	fflush(stdout);
	if (dup2(saved_stdout, 1) < 0)
		abort();
	regfree(&c->re);

	for (pos = 0; pos < plen; pos++)
		if (pat[pos] < 0x20 || pat[pos] > 0x7e)
			all_plain = 0; /* a newline or a control in the pattern: no line holds it */
	if (!c->input && all_plain && c->literal && c->werr == 0) {
		uint64_t want = count_plain(plain[0], nplain[0], pat, plen) +
		                count_plain(plain[1], nplain[1], pat, plen);

		if (c->matches != want)
			fprintf(stderr, "pattern \"%s\": %llu matches, %llu in the text\n", pat,
			        (unsigned long long)c->matches, (unsigned long long)want);
		FUZZ_CHECK(c->matches == want);
	}
	return 0;
}
