/*
 * tollgate-replay search: match a regex against the text a person saw.
 * Output goes through an escape-sequence stripper into lines laid out as a
 * terminal would (\r returns, \b steps back, text overwrites), each cell
 * remembering the session time it was written at. A line wider than the
 * terminal (the header's width, then each window-size record's) goes on on
 * rows of that width, and stays one line, as tmux's copy mode joins them: \r
 * goes back to its row's start, the cursor moves within its row or (CSI A, B)
 * between the rows of its line, and an edit at the cursor (CSI @, P, X: cells
 * inserted, deleted, erased) or an erase in line (CSI K) changes its row alone.
 * Finished lines collect in
 * a block that is searched in one regexec() call (REG_NEWLINE), or with
 * memmem() when the pattern is a plain string: per-line calls cost more
 * than the matching itself. Typed input (--input) goes through the same
 * stripper, keys' sequences dropped whole, into a line for each Enter, with
 * Backspace and ^U applied where it is plain what they erased. A command's
 * stdout and stderr are two streams, each with its own line in progress (and
 * its own escape state), where it stays while the other one writes.
 * Text erased or written over before its line ended was on the screen too:
 * before a character written since goes, the line as it is (around what
 * changed) is taken, and searched as a line of its own once the next version
 * is known, each byte marked when the next version still has it there (a
 * match of those alone is that version's, and said once, there).
 */
#include <inttypes.h>
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_utf8.h"

#define LINE_CAP 16384 /* a longer line is searched in pieces */
/* each piece after the first starts with the last bytes of the one before: a match up to
 * this long across the cut is found whole */
#define LINE_OVERLAP 4096
#define BLOCK_FLUSH (256 * 1024) /* search the block once it holds this much */
#define BLOCK_CAP (BLOCK_FLUSH + LINE_CAP + LINE_OVERLAP + 2)
#define TIMES_CAP 65536 /* distinct record times in one block (a line has LINE_CAP at most) */
#define SHOW_CAP 400    /* bytes of a line printed, around the match */
/* in times[]: the record lies past the verified part (--force); session times are < 2^63 */
#define UNVERIFIED_BIT (1ULL << 63)
#define NOT_UTF8 '\x1a' /* SUB: a byte that is not UTF-8, as the regex sees it */
/* a cell erased (CSI K) in the line in progress (never text: the stripper drops DEL): a space
 * once the line is done, but none at its end, where a terminal shows nothing */
#define BLANK '\x7f'
/* a version of a line taken before text on it went (erased or written over) is searched
 * around what changed since the version before, this far either side */
#define SNAP_AROUND 512
/* snap[], of each byte of the block: of a version of a line before text on it went (not the
 * line as it ended), whether the byte is the same in the next version (or was searched in the
 * piece before): a match of such bytes alone is found in the next version; and of the '\n'
 * that ends such a version, whether it starts after its line's start and ends before its
 * end (it is searched around what changed), and whether the next version is longer or
 * shorter (a match that ends at its end is no longer there) */
#define SNAP_LINE 1
#define SNAP_KEPT 2
#define SNAP_NOTBOL 4
#define SNAP_NOTEOL 8
#define SNAP_ENDCHG 16
/* a tab, to line_control(): none of the stripper's controls */
#define REPLAY_STRIP_TAB (-100)

/* A stream's line in progress, as a terminal lays it out, each byte with the session time (in
 * times[] form) of the record that wrote it. A command's stdout and stderr have one each, and
 * a turn of the other stream costs nothing: neither line moves. */
struct search_line {
	char text[LINE_CAP];
	uint64_t t[LINE_CAP];
	size_t len, col;
	/* the line continues a piece of its line: its first cont bytes were in that piece (and
	 * were searched there) */
	size_t cont;
	/* a piece of its line after the first (it does not start at the line's start, whatever
	 * is overwritten of it) */
	int piece;
	int moved; /* --input: a key moved the cursor on this line: where it is is unknown */
	/* output: the cell (character) of the line, counted from its start (from before the
	 * piece), at byte offset at: where the cursor's row and column are worked out from,
	 * counting the characters written since (cursor_cell()) */
	size_t at;
	uint64_t at_cell;
	/* output: the last thing done was a character written: at a row's last column, the
	 * cursor stays on that row (the terminal's wrap is pending) until the next one */
	int printed;
	/* the first blank_upto bytes are BLANK, a cell each (0 when not known): an erase counts
	 * the cells before the cursor from there, not from the start */
	size_t blank_upto;
	struct replay_strip strip; /* each stream has its own escape state */
	/* the time of the record that ended with the 0xc2 strip holds */
	uint64_t held_t;
	/* output: the bytes [dlo, dhi) were written since the last version of the line was
	 * taken (none when dlo >= dhi) */
	size_t dlo, dhi;
	/* output: the line as it was before text on it last went, bytes [off, off + len) of it
	 * (the part around what had changed), to be searched once the next version is known */
	struct {
		char text[LINE_CAP];
		uint64_t t[LINE_CAP];
		size_t off, len;
		size_t line_len; /* the line's length then */
		size_t cont;     /* its first cont bytes were searched in the piece before */
		int have, notbol;
	} prev;
};

struct search_ctx {
	regex_t re;
	int literal; /* the pattern has no special characters: memmem */
	int has_eol; /* the pattern has a '$' (a line's end matters to it) */
	int utf8;    /* the locale's regexec() reads UTF-8: it sees the block as match[] */
	const char *pat;
	size_t patlen;
	const char *name;
	/* a copy: the last lines are printed after the reader (and its header) is gone */
	char session_id[2 * TG_REC_SESSION_ID_LEN + 1];
	int input;
	uint64_t verified_bytes;       /* --force: a record from here on is not verified */
	struct replay_input_seen seen; /* --input: of the recording being searched */
	/* of the recording being searched: bytes of the stream(s) searched passed on, not stored
	 * (no match there is no answer: said, as cat says it) */
	uint64_t dropped;
	int transfer;
	uint64_t now; /* the time (in times[] form) of the record whose bytes are being read */
	/* the terminal's width (columns): from the header, then each window-size record; 0: none
	 * known, the line has one row */
	unsigned width;
	int have_width;
	struct search_line line[2]; /* stdout (and input), stderr */
	struct search_line *ln;     /* the one being written */
	/* the block: finished lines [0, cur) */
	char text[BLOCK_CAP + 1];
	char match[BLOCK_CAP + 1]; /* text with each byte that is not UTF-8 as NOT_UTF8 */
	uint16_t cell[BLOCK_CAP];  /* each byte's index in times[] */
	unsigned char snap[BLOCK_CAP + 1]; /* SNAP_*: 0 for a line as it ended */
	uint64_t times[TIMES_CAP]; /* session times, with UNVERIFIED_BIT */
	size_t ntimes;
	size_t cur;
	/* the block's first line continues a piece of its line (its first head_cont bytes were
	 * searched there), and is a piece after the first: '^' does not match at its start */
	size_t head_cont;
	int head_piece;
	/* the block's last line is a piece cut before its line's end: '$' does not match at the
	 * cut */
	int cut;
	/* the line of the block line_of() found last (none: line_ls > line_le) */
	size_t line_ls, line_le;
	uint64_t matches;
	int werr;
	/* an 8-bit terminal (a tty and a locale not UTF-8): each line goes through the guard,
	 * which writes its characters in the terminal's charset (term_loc, the locale as it was
	 * before the pattern's UTF-8 one was set), as play does; else (LC_GLOBAL_LOCALE)
	 * printed as it is */
	struct replay_guard guard;
	locale_t term_loc;
};

/* The start of the line holding pos (lines end with '\n'). */
static size_t line_start(const struct search_ctx *c, size_t pos)
{
	while (pos > 0 && c->text[pos - 1] != '\n')
		pos--;
	return pos;
}

/* The line of the block holding pos, [*ls, *le) (*le: its '\n', or end): the one found last is
 * kept, so that the many matches of a long line cost no walk of it each. */
static void line_of(struct search_ctx *c, size_t pos, size_t end, size_t *ls, size_t *le)
{
	const char *nl;

	if (!(c->line_ls <= pos && pos <= c->line_le && c->line_le <= end)) {
		nl = memchr(c->text + pos, '\n', end - pos);
		c->line_ls = line_start(c, pos);
		c->line_le = nl != NULL ? (size_t)(nl - c->text) : end;
	}
	*ls = c->line_ls;
	*le = c->line_le;
}

/* Whether b continues a UTF-8 character (a window edge must not split one). */
static int is_cont(char b)
{
	return ((unsigned char)b & 0xc0) == 0x80;
}

/*
 * The part of the line [ls, le) to show for the match at so: all of it, or, when it is
 * longer than SHOW_CAP, SHOW_CAP bytes from a little before the match, on character bounds.
 */
static void show_window(const struct search_ctx *c, size_t so, size_t ls, size_t le, size_t *ws,
                        size_t *we)
{
	*ws = ls;
	*we = le;
	if (le - ls <= SHOW_CAP)
		return;
	if (so - ls > SHOW_CAP / 4)
		*ws = so - SHOW_CAP / 4;
	if (le - *ws < SHOW_CAP)
		*ws = le - SHOW_CAP;
	*we = *ws + SHOW_CAP;
	while (*ws < so && is_cont(c->text[*ws]))
		(*ws)++;
	/* step back to the start of a character cut at the end (never before the match) */
	while (*we > so && *we < le && is_cont(c->text[*we]))
		(*we)--;
}

/* Print the match [so, eo) of the text searched, [0, end): a match with a byte from past the
 * verified part says so. */
static void report(struct search_ctx *c, size_t so, size_t eo, size_t end)
{
	size_t ls, le, ws, we, k;
	char t[32];

	line_of(c, so, end, &ls, &le);
	char line[SHOW_CAP + 1], *safe_line, *safe_name, *out;
	int unverified = 0, from_start, to_end, len;
	locale_t was;

	for (k = so; k < eo || k == so; k++)
		unverified |= (c->times[c->cell[k]] & UNVERIFIED_BIT) != 0;
	show_window(c, so, ls, le, &ws, &we);
	/* what is shown around the match too: "approved by " verified, then "mallory" past the
	 * verified part, is no verified line */
	for (k = ws; k < we; k++)
		unverified |= (c->times[c->cell[k]] & UNVERIFIED_BIT) != 0;
	/* a cut piece, or the part of a version of a line searched around what changed: its
	 * line goes on */
	from_start = ws == ls && !(ls == 0 && c->head_piece) &&
	             !(le < c->cur && (c->snap[le] & SNAP_NOTBOL));
	to_end =
	    we == le && !(le == end && c->cut) && !(le < c->cur && (c->snap[le] & SNAP_NOTEOL));
	replay_fmt_time(t, sizeof(t), c->times[c->cell[so]] & ~UNVERIFIED_BIT);
	/* the escapes are stripped already; what is left (C1 bytes, an S3 key) made safe too */
	memcpy(line, c->text + ws, we - ws);
	line[we - ws] = '\0';
	safe_line = tg_text_safe(line);
	safe_name = tg_text_safe(c->name);
	len = asprintf(&out, "%s %s%s %s: %s%s%s\n", c->session_id, unverified ? "UNVERIFIED " : "",
	               t, safe_name ? safe_name : "?", from_start ? "" : "...",
	               safe_line ? safe_line : "?", to_end ? "" : "...");
	if (len < 0) {
		c->werr = 1;
	} else if (c->term_loc != LC_GLOBAL_LOCALE) {
		was = uselocale(c->term_loc);
		if (replay_guard_write(&c->guard, stdout, out, (size_t)len) != 0)
			c->werr = 1;
		uselocale(was);
	} else if (fwrite(out, 1, (size_t)len, stdout) != (size_t)len) {
		c->werr = 1;
	}
	if (len >= 0)
		free(out);
	free(safe_line);
	free(safe_name);
	c->matches++;
}

/*
 * What regexec() reads of the finished lines: in a UTF-8 locale it matches no character at a
 * byte that is not UTF-8 ('.' stops there), so each such byte is one NOT_UTF8 control
 * (never in the text: the stripper drops controls), at the same offset.
 */
static const char *match_text(struct search_ctx *c)
{
	const unsigned char *t = (const unsigned char *)c->text;
	size_t i = 0;
	int n;

	if (!c->utf8)
		return c->text;
	while (i < c->cur) {
		if (t[i] < 0x80) {
			c->match[i] = (char)t[i];
			i++;
		} else if ((n = tg_utf8_seq(t + i, c->cur - i)) > 0) {
			memcpy(c->match + i, t + i, (size_t)n);
			i += (size_t)n;
		} else {
			c->match[i++] = NOT_UTF8;
		}
	}
	c->match[c->cur] = '\0';
	return c->match;
}

/* Whether the match [so, eo) of a version of a line (its '\n' at le) holds text that went
 * before the next version: else the next version has the match, and says it. */
static int went(const struct search_ctx *c, size_t so, size_t eo, size_t le)
{
	size_t k;

	if (eo == le && c->has_eol && (c->snap[le] & SNAP_ENDCHG))
		return 1;
	for (k = so; k < eo; k++)
		if (!(c->snap[k] & SNAP_KEPT))
			return 1;
	return 0;
}

/*
 * The block's search found [so, eo) in a version of a line taken before text on it went:
 * reported when it holds text that went. A version that is the part of its line around what
 * changed is searched alone, where its ends are not its line's ('^', '$'). A match of the empty
 * string is its line's, said of the line as it ended. mt: what regexec() reads of the block.
 * Returns where the block's search goes on.
 */
static size_t search_prev(struct search_ctx *c, char *mt, size_t so, size_t eo, size_t end)
{
	size_t ls, le, p;
	regmatch_t m;
	int flags;

	line_of(c, so, end, &ls, &le);
	if (c->literal || !(c->snap[le] & (SNAP_NOTBOL | SNAP_NOTEOL))) {
		if (so == eo)
			return le + 1;
		if (went(c, so, eo, le))
			report(c, so, eo, end);
		return eo;
	}
	mt[le] = '\0';
	for (p = ls; p < le; p = eo) {
		flags = p > ls || (c->snap[le] & SNAP_NOTBOL) ? REG_NOTBOL : 0;
		if (c->snap[le] & SNAP_NOTEOL)
			flags |= REG_NOTEOL;
		if (regexec(&c->re, mt + p, 1, &m, flags) != 0 || m.rm_so == m.rm_eo)
			break;
		so = p + (size_t)m.rm_so;
		eo = p + (size_t)m.rm_eo;
		if (went(c, so, eo, le))
			report(c, so, eo, end);
	}
	mt[le] = '\n';
	return le + 1;
}

/* Search the finished lines. */
static void flush_block(struct search_ctx *c)
{
	size_t pos = 0;
	size_t said = SIZE_MAX; /* where the last match reported starts */
	regmatch_t m;
	const char *mt;
	char saved;

	if (c->cur > 0) {
		/* a cut piece is searched without the '\n' that ends it in the block */
		size_t end = c->cut ? c->cur - 1 : c->cur;

		saved = c->text[end];
		c->text[end] = '\0';
		c->line_ls = 1; /* none found yet in this block */
		c->line_le = 0;
		mt = c->literal ? c->text : match_text(c);
		while (pos < end) {
			size_t so, eo;

			if (c->literal) {
				const char *f = memmem(c->text + pos, end - pos, c->pat, c->patlen);

				if (f == NULL)
					break;
				so = (size_t)(f - c->text);
				eo = so + c->patlen;
			} else {
				int flags = (pos > 0 && c->text[pos - 1] != '\n') ||
				                    (pos == 0 && c->head_piece)
				                ? REG_NOTBOL
				                : 0;

				if (c->cut)
					flags |= REG_NOTEOL;

				if (regexec(&c->re, mt + pos, 1, &m, flags) != 0)
					break;
				so = pos + (size_t)m.rm_so;
				eo = pos + (size_t)m.rm_eo;
			}
			if (so >= end)
				break;
			if (c->snap[so] & SNAP_LINE) {
				pos =
				    search_prev(c, mt == c->text ? c->text : c->match, so, eo, end);
				continue;
			}
			if (so == eo) {
				/* an empty match ('$', '^$', 'x*'): its line matches, said once (of
				 * a piece after the first, only at the line's end: the pieces
				 * before had the rest), and the next one is on the next line */
				size_t ls, le;

				line_of(c, so, end, &ls, &le);
				if ((said == SIZE_MAX || said < ls) &&
				    !(ls == 0 && c->head_piece && so < le)) {
					report(c, so, eo, end);
					said = so;
				}
				pos = le + 1;
				continue;
			}
			if (so < c->head_cont && eo <= c->head_cont) {
				pos = eo; /* found in the piece before */
				continue;
			}
			report(c, so, eo, end);
			said = so;
			pos = eo;
		}
		c->text[end] = saved;
		c->head_cont = 0;
		c->head_piece = 0;
		c->cut = 0;
	}
	c->cur = 0;
	c->ntimes = 0;
}

/* The line's erased cells are spaces, and at its end (atend) nothing: it is done, to its end or
 * to a cut. */
static void fill_blanks(struct search_line *ln, int atend)
{
	char *b = ln->text, *end;

	while (atend && ln->len > 0 && ln->text[ln->len - 1] == BLANK)
		ln->len--;
	end = ln->text + ln->len;
	/* on from the last one: a line of blanks is one pass, not one for each */
	while ((b = memchr(b, BLANK, (size_t)(end - b))) != NULL)
		*b++ = ' ';
}

/*
 * Put the line ln into the block as a finished line (cut: a piece cut before its line's end,
 * searched at once). A piece of a long line starts the block: '^' and what the piece before
 * searched are known there.
 */
static void append_line(struct search_ctx *c, const struct search_line *ln, int cut)
{
	size_t j, k;

	if ((ln->piece || ln->cont > 0) && c->cur > 0)
		flush_block(c);
	if (c->cur + ln->len + 1 > BLOCK_CAP || c->ntimes + ln->len + 1 > TIMES_CAP)
		flush_block(c);
	if (c->cur == 0) {
		c->head_cont = ln->cont;
		c->head_piece = ln->piece;
	}
	memcpy(c->text + c->cur, ln->text, ln->len);
	memset(c->snap + c->cur, 0, ln->len + 1);
	/* a time a run of bytes (most lines are written by a record or two) */
	for (j = 0; j < ln->len; j = k) {
		uint64_t t = ln->t[j];
		uint16_t idx;

		if (c->ntimes == 0 || c->times[c->ntimes - 1] != t)
			c->times[c->ntimes++] = t;
		idx = (uint16_t)(c->ntimes - 1);
		for (k = j; k < ln->len && ln->t[k] == t; k++)
			c->cell[c->cur + k] = idx;
	}
	/* the line's end: at the time of the record that ended it */
	if (c->ntimes == 0 || c->times[c->ntimes - 1] != c->now)
		c->times[c->ntimes++] = c->now;
	c->text[c->cur + ln->len] = '\n';
	c->cell[c->cur + ln->len] = (uint16_t)(c->ntimes - 1);
	c->cur += ln->len + 1;
	c->cut = cut;
	if (cut || c->cur >= BLOCK_FLUSH)
		flush_block(c);
}

/* The bytes of the character at p (n bytes left): a UTF-8 one whole, else one. */
static inline size_t char_at(const char *p, size_t n)
{
	int k = (unsigned char)p[0] < 0x80 ? 1 : tg_utf8_seq((const unsigned char *)p, n);

	return k > 0 ? (size_t)k : 1;
}

/*
 * Output: the version of ln taken before text on it went (erased, or written over) into the
 * block, now that the next version, ln as it is, is known: each character the same in the
 * same cell there (or searched in the piece before) is SNAP_KEPT, a match of those alone is
 * the next version's. Its blanks are spaces, and at its line's end nothing, as a line's.
 * [upto_from, upto_to): the bytes of ln that the next version holds (all of ln, but a version
 * taken now of a long line holds only the part around what changed): a character in its place
 * outside them is not kept, since an edit may take it away before any version holds it (a
 * delete at the start of the line, after a fix at its end).
 */
static void put_prev(struct search_ctx *c, struct search_line *ln, size_t upto_from, size_t upto_to)
{
	size_t n = ln->prev.len, j, k, cl, sl, q = ln->prev.off;
	int noteol = ln->prev.off + n < ln->prev.line_len;
	unsigned char kept;
	char b;

	if (!ln->prev.have)
		return;
	ln->prev.have = 0;
	while (!noteol && n > 0 && ln->prev.text[n - 1] == BLANK)
		n--;
	if (c->cur + n + 1 > BLOCK_CAP || c->ntimes + n + 1 > TIMES_CAP)
		flush_block(c);
	/* cell by cell from where it starts in both (a character may have more or fewer bytes
	 * than the one in its place now) */
	for (j = 0; j < n; j += sl, q += cl) {
		sl = char_at(ln->prev.text + j, n - j);
		cl = q < ln->len ? char_at(ln->text + q, ln->len - q) : 1;
		kept = ln->prev.off + j < ln->prev.cont ||
		               (q >= upto_from && q < upto_to && q < ln->len && cl == sl &&
		                ln->prev.text[j] == ln->text[q] &&
		                (sl == 1 || memcmp(ln->prev.text + j, ln->text + q, sl) == 0))
		           ? SNAP_KEPT
		           : 0;
		for (k = j; k < j + sl; k++) {
			b = ln->prev.text[k];
			c->text[c->cur + k] = b == BLANK ? ' ' : b;
			c->snap[c->cur + k] = SNAP_LINE | kept;
			if (c->ntimes == 0 || c->times[c->ntimes - 1] != ln->prev.t[k])
				c->times[c->ntimes++] = ln->prev.t[k];
			c->cell[c->cur + k] = (uint16_t)(c->ntimes - 1);
		}
	}
	if (c->ntimes == 0 || c->times[c->ntimes - 1] != c->now)
		c->times[c->ntimes++] = c->now;
	c->text[c->cur + n] = '\n';
	c->cell[c->cur + n] = (uint16_t)(c->ntimes - 1);
	c->snap[c->cur + n] = (unsigned char)(SNAP_LINE | (ln->prev.notbol ? SNAP_NOTBOL : 0) |
	                                      (noteol ? SNAP_NOTEOL : 0) |
	                                      (ln->len != ln->prev.line_len ? SNAP_ENDCHG : 0));
	c->cur += n + 1;
	if (c->cur >= BLOCK_FLUSH)
		flush_block(c);
}

/*
 * Output: text on the line in progress is about to go (erased, or written over): take the line
 * as it is, to be searched as it was shown (the version taken before goes into the block, the
 * line as it is now its next version). Of a long line, the part around what was written since
 * the version before: what lies further was in that one.
 */
static void take_prev(struct search_ctx *c)
{
	struct search_line *ln = c->ln;
	size_t from, to;

	to = ln->dhi + SNAP_AROUND < ln->len ? ln->dhi + SNAP_AROUND : ln->len;
	from = ln->dlo > SNAP_AROUND ? ln->dlo - SNAP_AROUND : 0;
	if (from > 0 && from < ln->blank_upto) /* a cut in the blanks it starts with: none */
		from = ln->blank_upto;
	if (from > to)
		from = to;
	while (from > 0 && from < to && is_cont(ln->text[from])) /* on character bounds */
		from++;
	while (to < ln->len && to > from && is_cont(ln->text[to]))
		to--;
	put_prev(c, ln, from, to); /* this version holds [from, to) of the line */
	memcpy(ln->prev.text, ln->text + from, to - from);
	memcpy(ln->prev.t, ln->t + from, (to - from) * sizeof(ln->t[0]));
	ln->prev.off = from;
	ln->prev.len = to - from;
	ln->prev.line_len = ln->len;
	ln->prev.cont = ln->cont;
	ln->prev.notbol = from > 0 || ln->piece;
	ln->prev.have = 1;
	ln->dlo = ln->dhi = 0;
}

/* Bytes [from, to) of the line in progress were written. */
static inline void written(struct search_line *ln, size_t from, size_t to)
{
	if (ln->dlo >= ln->dhi) {
		ln->dlo = from;
		ln->dhi = to;
		return;
	}
	if (from < ln->dlo)
		ln->dlo = from;
	if (to > ln->dhi)
		ln->dhi = to;
}

static void end_line(struct search_ctx *c)
{
	struct search_line *ln = c->ln;

	put_prev(c, ln, 0, ln->len);
	ln->dlo = ln->dhi = 0;
	fill_blanks(ln, 1);
	append_line(c, ln, 0);
	ln->len = ln->col = ln->blank_upto = ln->cont = ln->at = 0;
	ln->at_cell = 0;
	ln->piece = 0;
	ln->moved = ln->printed = 0;
}

static uint64_t cursor_cell(struct search_line *ln);

/*
 * The line in progress is too long for one piece: search it as far as it goes, and go on
 * with a piece that starts with its last LINE_OVERLAP bytes (a match that spans the cut is
 * found there; one found in the piece before is not reported again).
 */
static void split_line(struct search_ctx *c)
{
	struct search_line *ln = c->ln;
	size_t keep = ln->len < LINE_OVERLAP ? ln->len : LINE_OVERLAP;

	(void)cursor_cell(ln); /* at its end: the same cell after, at the piece's end */
	put_prev(c, ln, 0, ln->len);
	ln->dlo = ln->dhi = 0; /* what it keeps was searched in this piece */
	fill_blanks(ln, 0);
	ln->blank_upto = 0;
	append_line(c, ln, 1);
	memmove(ln->text, ln->text + ln->len - keep, keep);
	memmove(ln->t, ln->t + ln->len - keep, keep * sizeof(ln->t[0]));
	ln->len = ln->col = ln->cont = ln->at = keep;
	ln->piece = 1;
}

/* The bytes of the character before byte pos (> 0) of the line: a UTF-8 one whole, else the
 * byte. A terminal cell holds a character, not a byte. */
static size_t char_before(const struct search_line *ln, size_t pos)
{
	const unsigned char *t = (const unsigned char *)ln->text;
	size_t n = 1, k;

	if (t[pos - 1] < 0x80) /* ends no longer character */
		return 1;
	for (k = 2; k <= 4 && k <= pos; k++)
		if (tg_utf8_seq(t + pos - k, k) == (int)k)
			n = k;
	return n;
}

/*
 * A character starts at col, over the one there: that one goes whole (the rest of the line
 * moves back), and the room of one byte is left for the new one's first byte; the bytes that
 * follow it make room for themselves (cont_room()). As a terminal puts a character in place
 * of another, whatever their bytes.
 */
static void overwrite(struct search_line *ln)
{
	int n = tg_utf8_seq((const unsigned char *)ln->text + ln->col, ln->len - ln->col);
	size_t old = n > 0 ? (size_t)n : 1, tail = ln->len - ln->col - old;

	if (old == 1)
		return;
	memmove(ln->text + ln->col + 1, ln->text + ln->col + old, tail);
	memmove(ln->t + ln->col + 1, ln->t + ln->col + old, tail * sizeof(ln->t[0]));
	ln->len -= old - 1;
}

/*
 * A continuation byte b at col, over text: when it goes on with the character started just
 * before it, room is made for it (the rest of the line moves on); else it is a character of
 * its own (a stray byte: one cell) and goes over the one there.
 */
static void cont_room(struct search_line *ln, unsigned char b)
{
	char *t = ln->text;
	unsigned char seq[4];
	size_t k;
	int n;

	for (k = 1; k <= 3 && k <= ln->col && is_cont(t[ln->col - k]); k++)
		;
	if (k > 3 || k > ln->col || (unsigned char)t[ln->col - k] < 0xc0) {
		overwrite(ln);
		return;
	}
	memcpy(seq, t + ln->col - k, k);
	seq[k] = b;
	n = tg_utf8_seq(seq, k + 1);
	if (n != -1 && n != (int)k + 1) {
		overwrite(ln);
		return;
	}
	if (ln->len >= LINE_CAP) /* the line's last byte goes: a line holds LINE_CAP */
		ln->len = LINE_CAP - 1;
	memmove(t + ln->col + 1, t + ln->col, ln->len - ln->col);
	memmove(ln->t + ln->col + 1, ln->t + ln->col, (ln->len - ln->col) * sizeof(ln->t[0]));
	ln->len++;
}

/*
 * --input: Backspace (DEL, ^H) erases the character before the cursor, a UTF-8 one whole
 * (else the byte), ^U (all) the line. Only at the end of the line, where typing puts the
 * cursor: once a key may have moved it, what an erase took is unknown, and it is not
 * applied (what was typed stays searchable).
 */
static void erase(struct search_line *ln, int all)
{
	size_t n;

	if (ln->moved || ln->col == 0)
		return;
	n = all ? ln->col : char_before(ln, ln->col);
	ln->col -= n;
	ln->len = ln->col;
	if (ln->blank_upto > ln->len)
		ln->blank_upto = ln->len;
	if (ln->cont > ln->len)
		ln->cont = ln->len;
}

/* The cells (characters) of the line before byte offset end: counted from the blanks it starts
 * with (a line erased again and again costs no more than once). */
static size_t cells_before(const struct search_line *ln, size_t end)
{
	const unsigned char *t = (const unsigned char *)ln->text;
	size_t k = ln->blank_upto < end ? ln->blank_upto : end, cells = k;
	int n;

	for (; k < end; cells++) {
		n = t[k] < 0x80 ? 1 : tg_utf8_seq(t + k, end - k);
		k += n > 0 ? (size_t)n : 1;
	}
	return cells;
}

/* Move the cursor n cells (characters) forward on its line, past its end over BLANKs as a
 * terminal leaves blank cells there (up to LINE_CAP): no more work than n, whatever the line.
 * Returns the cells it moved. */
static size_t move_right(struct search_ctx *c, size_t n)
{
	struct search_line *ln = c->ln;
	const unsigned char *t = (const unsigned char *)ln->text;
	size_t want = n;
	int s;

	for (; n > 0 && ln->col < ln->len; n--) {
		s = t[ln->col] < 0x80 ? 1 : tg_utf8_seq(t + ln->col, ln->len - ln->col);
		ln->col += s > 0 ? (size_t)s : 1;
	}
	if (n > 0 && ln->blank_upto == ln->len) /* the blanks it starts with go on */
		ln->blank_upto = ln->len + (n < LINE_CAP - ln->len ? n : LINE_CAP - ln->len);
	for (; n > 0 && ln->col < LINE_CAP; n--) {
		ln->text[ln->col] = BLANK;
		ln->t[ln->col] = c->now;
		ln->len = ++ln->col;
	}
	return want - n;
}

/* The cells (characters) of the line's bytes [from, to). */
static size_t cells_between(const struct search_line *ln, size_t from, size_t to)
{
	size_t cells = 0;

	for (; from < to; cells++)
		from += char_at(ln->text + from, to - from);
	return cells;
}

/* Output: the cell of the line the cursor is at, counted on from the last one known (the
 * characters written since: no more work than they were). */
static uint64_t cursor_cell(struct search_line *ln)
{
	if (ln->col >= ln->at)
		ln->at_cell += cells_between(ln, ln->at, ln->col);
	else /* not by a move of the cursor (an erase): counted afresh */
		ln->at_cell = cells_before(ln, ln->col);
	ln->at = ln->col;
	return ln->at_cell;
}

/*
 * Output: the cell that starts the cursor's row (*column: its column there). A line wider than
 * the terminal goes on on rows of width cells; a character written in a row's last column
 * leaves the cursor there (the wrap is pending), until the next one starts the next row, as an
 * xterm (and tmux, which joins the rows back into the line) does. No width: one row.
 */
static uint64_t cursor_row(const struct search_ctx *c, struct search_line *ln, uint64_t *column)
{
	uint64_t cell = cursor_cell(ln), w = c->width;

	if (w == 0) {
		*column = cell;
		return 0;
	}
	if (ln->printed && cell > 0 && cell % w == 0) {
		*column = w - 1;
		return cell - w;
	}
	*column = cell % w;
	return cell - *column;
}

/* Output: move the cursor to the cell target of its line (not before the start of the piece in
 * progress; past the line's end over blanks). */
static void move_to(struct search_ctx *c, uint64_t target)
{
	struct search_line *ln = c->ln;
	uint64_t cell = cursor_cell(ln);

	for (; cell > target && ln->col > 0; cell--)
		ln->col -= char_before(ln, ln->col);
	if (target > cell)
		cell +=
		    move_right(c, target - cell < LINE_CAP ? (size_t)(target - cell) : LINE_CAP);
	ln->at = ln->col;
	ln->at_cell = cell;
	ln->printed = 0;
}

/* Output: move the cursor n rows down (up when up is set) in its line, to the same column:
 * not past its first row nor its last (the rows the line has reached, the cursor's too). */
static void move_rows(struct search_ctx *c, unsigned n, int up)
{
	struct search_line *ln = c->ln;
	uint64_t column, start = cursor_row(c, ln, &column), w = c->width, cell, last;
	size_t k;

	if (w == 0)
		return;
	if (up) {
		move_to(c, start - (n < start / w ? n : start / w) * w + column);
		return;
	}
	/* down: where the line ends, looked for no further than the rows the cursor may go
	 * (a move costs no more than that, whatever the line) */
	cell = cursor_cell(ln);
	for (k = ln->col; k < ln->len && cell < start + (uint64_t)(n + 1) * w; cell++)
		k += char_at(ln->text + k, ln->len - k);
	last = cell > 0 ? (cell - 1) / w * w : 0;
	if (last < start)
		last = start;
	move_to(c, (n < (last - start) / w ? start + n * w : last) + column);
}

/* The byte past up to n cells (characters) of the line from byte from, not past byte to; *got:
 * how many there were. */
static size_t cells_on(const struct search_line *ln, size_t from, size_t to, size_t n, size_t *got)
{
	size_t k = 0;

	for (; k < n && from < to; k++)
		from += char_at(ln->text + from, to - from);
	*got = k;
	return from;
}

/*
 * Output: the cursor's row from the cursor on, for an edit of it: *to, the byte past its last
 * column's cell or the line's end (*last: no row follows on the line), *room, the cells from the
 * cursor to its last column (no width: SIZE_MAX, the line one row). A cursor whose wrap is
 * pending is past the row's last column, as tmux has it, with no room: an edit there leaves the
 * row's cells as they are (xterm's cursor stays in that column, and its erase takes the last
 * character: the line keeps what either terminal shows).
 */
static void row_ahead(struct search_ctx *c, size_t *to, size_t *room, int *last)
{
	struct search_line *ln = c->ln;
	uint64_t column, start = cursor_row(c, ln, &column);
	size_t got;

	if (c->width == 0) {
		*to = ln->len;
		*room = SIZE_MAX;
	} else if (cursor_cell(ln) != start + column) { /* the wrap pending */
		*to = ln->col;
		*room = 0;
	} else {
		*room = c->width - column;
		*to = cells_on(ln, ln->col, ln->len, *room, &got);
	}
	*last = *to == ln->len;
}

/* Output: the byte at which the cursor's row starts (the piece's start, when the row started
 * before it), *before: the cells from there to the cursor. */
static size_t row_start(struct search_ctx *c, size_t *before)
{
	struct search_line *ln = c->ln;
	uint64_t column, start = cursor_row(c, ln, &column), back = cursor_cell(ln) - start;
	size_t k = ln->col, n;

	if (start == 0) { /* counted from the blanks the line starts with */
		*before = cells_before(ln, ln->col);
		return 0;
	}
	for (n = 0; n < back && k > 0; n++)
		k -= char_before(ln, k);
	*before = n;
	return k;
}

/*
 * Output: bytes [from, to) of the line become n BLANK cells (n <= to - from: a cell is a byte
 * at least), written now but those blank already, the rest of the line moving back to follow
 * them.
 */
static void blank_bytes(struct search_ctx *c, size_t from, size_t to, size_t n)
{
	struct search_line *ln = c->ln;
	size_t tail = ln->len - to, k;

	memmove(ln->text + from + n, ln->text + to, tail);
	memmove(ln->t + from + n, ln->t + to, tail * sizeof(ln->t[0]));
	for (k = ln->blank_upto > from ? ln->blank_upto : from; k < from + n; k++) {
		ln->text[k] = BLANK;
		ln->t[k] = c->now;
	}
	ln->len = from + n + tail;
	if (ln->blank_upto >= to)
		ln->blank_upto -= to - from - n;
	else if (ln->blank_upto >= from)
		ln->blank_upto = from + n;
	if (ln->cont > from) /* changed: not what the piece before searched */
		ln->cont = from;
}

/* Output: the line ends at the cursor (the cells from it on erased: at a line's end, nothing). */
static void cut_at_cursor(struct search_ctx *c)
{
	struct search_line *ln = c->ln;

	/* cut short past the verified part (--force): what is left is no verified line, and a
	 * match that reaches its end says so */
	if (ln->col > 0 && ln->col < ln->len && (c->now & UNVERIFIED_BIT))
		ln->t[ln->col - 1] = c->now;
	ln->len = ln->col;
	if (ln->cont > ln->len)
		ln->cont = ln->len;
	if (ln->blank_upto > ln->len)
		ln->blank_upto = ln->len;
}

/*
 * Erase in line (CSI K), as a terminal does it, in the cursor's row, the cursor staying where it
 * is: from the cursor to the row's end (REPLAY_STRIP_ERASE_END), from the row's start to the
 * cursor, its cell too (REPLAY_STRIP_ERASE_START), or all the row (REPLAY_STRIP_ERASE_LINE).
 * Each cell erased before the cursor, or before a row that follows, is one BLANK byte,
 * whatever character it held; at the line's end the line ends.
 */
static void erase_in_line(struct search_ctx *c, int how)
{
	struct search_line *ln = c->ln;
	size_t to, room, from, before, upto, n, got;
	int last;

	row_ahead(c, &to, &room, &last);
	/* text written since the version before goes, or shown with it */
	if (ln->dlo < ln->dhi && (how == REPLAY_STRIP_ERASE_END ? ln->col < to : ln->len > 0))
		take_prev(c);
	if (how == REPLAY_STRIP_ERASE_END) {
		if (last)
			cut_at_cursor(c);
		else /* a row follows: the walk to its end went room cells */
			blank_bytes(c, ln->col, to, room);
		return;
	}
	from = row_start(c, &before);
	if (how == REPLAY_STRIP_ERASE_START) {
		/* the cell under the cursor (none past the row's last column) */
		upto = cells_on(ln, ln->col, ln->len, room > 0, &got);
		n = before + got;
	} else {
		upto = last ? ln->len : to;
		n = before + (last ? 0 : room);
	}
	blank_bytes(c, from, upto, n);
	ln->col = from + before;
}

/* Output: an edit at the cursor (CSI @, P, X) is to be made in its row (row_ahead's *to, *room,
 * *last), the line as it was taken first; 0 when it changes no cell (the cursor past the line's
 * end, or past its row's last column). */
static int edit_start(struct search_ctx *c, size_t *to, size_t *room, int *last)
{
	struct search_line *ln = c->ln;

	row_ahead(c, to, room, last);
	if (ln->col >= ln->len || *room == 0)
		return 0;
	if (ln->dlo < ln->dhi)
		take_prev(c);
	return 1;
}

/* Output: bytes [at, at + n) of the line are n BLANK cells, written now. */
static void put_blanks(struct search_ctx *c, size_t at, size_t n)
{
	size_t k;

	for (k = at; k < at + n; k++) {
		c->ln->text[k] = BLANK;
		c->ln->t[k] = c->now;
	}
}

/* Output: the line changed from the cursor on: neither what the piece before searched nor the
 * blanks it starts with reach past it. */
static void edit_done(struct search_line *ln)
{
	if (ln->cont > ln->col)
		ln->cont = ln->col;
	if (ln->blank_upto > ln->col)
		ln->blank_upto = ln->col;
}

/*
 * Output: n blank cells inserted at the cursor (CSI n @), which stays: the rest of its row moves
 * right, and what passes the row's last column is lost (no width: what passes LINE_CAP bytes).
 * What moved was on the screen where it was: the line as it was is taken first.
 */
static void insert_cells(struct search_ctx *c, size_t n)
{
	struct search_line *ln = c->ln;
	size_t to, room, kb, got, tail, at, keep;
	int last;

	if (!edit_start(c, &to, &room, &last)) /* blanks past the line's end: nothing */
		return;
	if (n > room)
		n = room;
	if (n > LINE_CAP - ln->col)
		n = LINE_CAP - ln->col;
	kb = c->width == 0 ? to : cells_on(ln, ln->col, to, room - n, &got); /* what stays */
	tail = ln->len - to;
	/* from the end back: the rows after this one, what stays of it, the blanks; each cut at
	 * LINE_CAP */
	at = kb + n < LINE_CAP ? kb + n : LINE_CAP;
	tail = tail < LINE_CAP - at ? tail : LINE_CAP - at;
	memmove(ln->text + at, ln->text + to, tail);
	memmove(ln->t + at, ln->t + to, tail * sizeof(ln->t[0]));
	keep = kb - ln->col < LINE_CAP - ln->col - n ? kb - ln->col : LINE_CAP - ln->col - n;
	memmove(ln->text + ln->col + n, ln->text + ln->col, keep);
	memmove(ln->t + ln->col + n, ln->t + ln->col, keep * sizeof(ln->t[0]));
	put_blanks(c, ln->col, n);
	ln->len = ln->col + n + keep + tail;
	while (last && ln->len > ln->col && ln->text[ln->len - 1] == BLANK)
		ln->len--; /* blanks at the line's end: nothing */
	/* the line's end moved past the verified part (--force): a match that reaches it says so,
	 * as after a cut (cut_at_cursor) */
	if (last && ln->len > 0 && (c->now & UNVERIFIED_BIT))
		ln->t[ln->len - 1] = c->now;
	edit_done(ln);
}

/*
 * Output: n cells deleted at the cursor (CSI n P), which stays: the rest of its row moves left,
 * and blanks enter at its right (before a row that follows; at the line's end, nothing). The
 * line as it was is taken first, and the characters brought together at the cursor are as if
 * written there: once they go, the line as it was with them is taken too.
 */
static void delete_cells(struct search_ctx *c, size_t n)
{
	struct search_line *ln = c->ln;
	size_t to, room, dh, got, kl, nb, tail;
	int last;

	if (!edit_start(c, &to, &room, &last))
		return;
	dh = cells_on(ln, ln->col, to, n, &got);
	kl = to - dh;
	nb = last ? 0 : got;
	tail = ln->len - to;
	memmove(ln->text + ln->col, ln->text + dh, kl);
	memmove(ln->t + ln->col, ln->t + dh, kl * sizeof(ln->t[0]));
	put_blanks(c, ln->col + kl, nb);
	memmove(ln->text + ln->col + kl + nb, ln->text + to, tail);
	memmove(ln->t + ln->col + kl + nb, ln->t + to, tail * sizeof(ln->t[0]));
	ln->len = ln->col + kl + nb + tail;
	if (ln->col > 0 && (c->now & UNVERIFIED_BIT)) /* joined past the verified part */
		ln->t[ln->col - 1] = c->now;
	edit_done(ln);
	if (ln->col < ln->len)
		written(ln, ln->col, cells_on(ln, ln->col, ln->len, 1, &got));
}

/* Output: n cells erased at the cursor (CSI n X), which stays, no further than its row's end. */
static void erase_cells(struct search_ctx *c, size_t n)
{
	struct search_line *ln = c->ln;
	size_t to, room, xb, got;
	int last;

	if (!edit_start(c, &to, &room, &last))
		return;
	xb = cells_on(ln, ln->col, to, n, &got);
	if (xb == ln->len)
		cut_at_cursor(c);
	else
		blank_bytes(c, ln->col, xb, got);
}

/* A control of the line from the stripper (REPLAY_STRIP_ERASE_*, REPLAY_STRIP_COLUMN, ...),
 * applied as a terminal does, the cursor kept in its row (CSI A and B move it between the rows
 * of its line); n: a cursor move's count. */
static void line_control(struct search_ctx *c, int what, unsigned n)
{
	struct search_line *ln = c->ln;
	uint64_t column, start = cursor_row(c, ln, &column), last = c->width - 1;

	if (c->width == 0)
		last = UINT64_MAX;
	switch (what) {
	case REPLAY_STRIP_COLUMN:
		move_to(c, start + (n - 1 < last ? n - 1 : last));
		break;
	case REPLAY_STRIP_LEFT:
		move_to(c, start + (n < column ? column - n : 0));
		break;
	case REPLAY_STRIP_RIGHT:
		move_to(c, start + (n < last - column ? column + n : last));
		break;
	case REPLAY_STRIP_TAB:
		move_to(c, start + (column / 8 * 8 + 8 < last ? column / 8 * 8 + 8 : last));
		break;
	case REPLAY_STRIP_UP:
	case REPLAY_STRIP_DOWN:
		move_rows(c, n, what == REPLAY_STRIP_UP);
		break;
	case REPLAY_STRIP_INSERT:
		insert_cells(c, n);
		break;
	case REPLAY_STRIP_DELETE:
		delete_cells(c, n);
		break;
	case REPLAY_STRIP_ERASE_CHARS:
		erase_cells(c, n);
		break;
	default:
		erase_in_line(c, what);
		ln->at = ln->col; /* the cursor's cell is the same */
		break;
	}
}

/* One text byte, placed as a terminal would place it. */
static inline void put_byte(struct search_ctx *c, unsigned char b)
{
	struct search_line *ln = c->ln;

	if (b >= 0x20 && b != 0x7f) {
		if (ln->col >= LINE_CAP)
			split_line(c);
		if (ln->col < ln->cont) /* overwritten: not what the piece before searched */
			ln->cont = ln->col;
		if (ln->col < ln->blank_upto)
			ln->blank_upto = ln->col;
		/* written over: a character written since the version before goes (a UTF-8 one
		 * may, whatever its first byte) */
		if (!c->input && ln->col >= ln->dlo && ln->col < ln->dhi && ln->col < ln->len &&
		    !is_cont((char)b) && ln->text[ln->col] != BLANK &&
		    (ln->text[ln->col] != (char)b || (unsigned char)ln->text[ln->col] >= 0xc0))
			take_prev(c);
		if (ln->col < ln->len && is_cont((char)b))
			cont_room(ln, b);
		else if (ln->col < ln->len)
			overwrite(ln);
		ln->text[ln->col] = (char)b;
		ln->t[ln->col] = c->now;
		written(ln, ln->col, ln->col + 1);
		if (++ln->col > ln->len)
			ln->len = ln->col;
		ln->printed = 1;
		return;
	}
	switch (b) {
	case '\n':
		end_line(c);
		break;
	case '\r':
		if (c->input)
			end_line(c); /* Enter */
		else if (c->width == 0)
			ln->col = ln->at = ln->at_cell = 0;
		else
			line_control(c, REPLAY_STRIP_COLUMN, 1); /* its row's start */
		break;
	case '\b':
	case 0x7f:
		if (c->input)
			erase(ln, 0);
		else
			line_control(c, REPLAY_STRIP_LEFT, 1); /* a cell back: a character */
		break;
	case 0x15: /* ^U (only input: output's is stripped) */
		erase(ln, 1);
		break;
	case '\t':
		if (c->input)
			put_byte(c, ' ');
		else /* to the next tab stop (every 8 columns), over the cells, writing none */
			line_control(c, REPLAY_STRIP_TAB, 1);
		break;
	default:
		break;
	}
}

/* The stream whose line is written from here: 0 stdout (and input), 1 stderr. */
static void switch_stream(struct search_ctx *c, int k)
{
	c->ln = &c->line[k];
}

/*
 * The 0xc2 the stripper holds from a record before is text when next (the byte that follows
 * it, -1 for none) does not make it a C1 control: it goes in at the time of the record that
 * wrote it, not the one of next's record.
 */
static void put_held(struct search_ctx *c, int next)
{
	if (!replay_strip_holds(&c->ln->strip) || (next >= 0x80 && next <= 0x9f))
		return;
	c->now = c->ln->held_t;
	put_byte(c, (unsigned char)replay_strip_end(&c->ln->strip));
}

/* The end of a recording: each stream's last line, unfinished, is a line. */
static void finish_lines(struct search_ctx *c)
{
	int k;

	for (k = 0; k < 2; k++) {
		switch_stream(c, k);
		put_held(c, -1);
		(void)replay_strip_end(&c->ln->strip); /* starts afresh */
		if (c->ln->len > 0)
			end_line(c);
		else
			put_prev(c, c->ln, 0, 0); /* what went at the end: next to nothing */
	}
	flush_block(c);
}

/*
 * How many bytes at p (n left) are text to the stripper whatever follows them, and leave it as
 * it was (0 for none): a run of these is copied whole. Typed input: a byte that is not a
 * control, nor the lead byte of a C1 control in UTF-8. Output: printable ASCII, a whole UTF-8
 * character but a C1 control, or a byte no character goes on from; not a byte 0x80..0x9f outside
 * a character (an 8-bit C1 control), nor a character the record's end cuts short.
 */
static size_t plain_len(const unsigned char *p, size_t n, int input)
{
	int k;

	if (input)
		return p[0] >= 0x20 && p[0] != 0x7f && p[0] != 0xc2;
	if (p[0] >= 0x20 && p[0] < 0x7f)
		return 1;
	if (p[0] < 0xa0)
		return 0;
	k = tg_utf8_seq(p, n);
	if (k < 0 || (k == 2 && p[0] == 0xc2 && p[1] <= 0x9f))
		return 0;
	/* a character broken off (e2 9d then x): its bytes so far go as one, as the stripper
	 * and play read them; its 0x9d alone would start an 8-bit OSC, and hide what follows */
	return k > 0 ? (size_t)k : tg_utf8_invalid_len(p, n);
}

static int search_rec(void *ctx, const struct tg_rec_header *h, const struct tg_rec_record *rec)
{
	struct search_ctx *c = ctx;
	struct search_line *ln;
	const unsigned char *p = rec->data;
	uint64_t t = rec->time_us | (rec->offset >= c->verified_bytes ? UNVERIFIED_BIT : 0);
	size_t i, pl;
	int k, nk, kept[2];

	snprintf(c->session_id, sizeof(c->session_id), "%s", h->session_id);
	if (c->input)
		replay_input_see(&c->seen, rec);
	c->transfer = strcmp(h->mode, "transfer") == 0;
	if (!c->have_width) {
		c->width = h->cols;
		c->have_width = 1;
	}
	if (rec->type == TG_REC_RESIZE) /* where a row ends, for what follows */
		c->width = rec->cols;
	if (rec->type == TG_REC_DROPPED && (rec->stream == TG_REC_IN) == (c->input != 0))
		c->dropped += rec->dropped;
	if (c->input ? rec->type != TG_REC_IN : rec->type != TG_REC_OUT && rec->type != TG_REC_ERR)
		return 0;
	switch_stream(c, rec->type == TG_REC_ERR);
	ln = c->ln;
	if (rec->len > 0)
		put_held(c, p[0]);
	c->now = t;
	for (i = 0; i < rec->len; i++) {
		/* a run of plain text outside any escape sequence, at the end of the line: the
		 * common case, copied whole (over text: put_byte() replaces characters whole) */
		if (ln->strip.state == 0 && ln->strip.chlen == 0 && ln->col == ln->len &&
		    (pl = plain_len(p + i, rec->len - i, c->input)) > 0) {
			size_t run = pl, room, n, j;

			for (; i + run < rec->len; run += pl) {
				/* printable ASCII, the most of it, without a call */
				if (p[i + run] >= 0x20 && p[i + run] < 0x7f)
					pl = 1;
				else if ((pl = plain_len(p + i + run, rec->len - i - run,
				                         c->input)) == 0)
					break;
			}
			while (run > 0) {
				if (ln->col >= LINE_CAP)
					split_line(c);
				if (ln->col < ln->cont)
					ln->cont = ln->col;
				room = LINE_CAP - ln->col;
				n = run < room ? run : room;
				memcpy(ln->text + ln->col, p + i, n);
				for (j = 0; j < n; j++)
					ln->t[ln->col + j] = t;
				written(ln, ln->col, ln->col + n);
				ln->col += n;
				if (ln->col > ln->len)
					ln->len = ln->col;
				ln->printed = 1;
				i += n;
				run -= n;
			}
			i--; /* the for loop steps over the last byte copied */
			continue;
		}
		nk = replay_strip_byte(&ln->strip, p[i], kept);
		for (k = 0; k < nk; k++)
			if (kept[k] >= 0)
				put_byte(c, (unsigned char)kept[k]);
			else if (kept[k] == REPLAY_STRIP_KEY && ln->len > 0)
				ln->moved = 1;
			else if (kept[k] != REPLAY_STRIP_KEY)
				line_control(c, kept[k], ln->strip.param);
	}
	if (rec->len > 0 && replay_strip_holds(&ln->strip))
		ln->held_t = t; /* its last byte: what it is shows in a later record */
	return c->werr ? -1 : 0;
}

/* Whether a POSIX ERE has no special characters at all. */
static int is_literal(const char *p)
{
	return p[0] != '\0' && strpbrk(p, ".[]()*+?{}|^$\\") == NULL;
}

/* A recording's search starts afresh: each stream's line, and its escape state. */
static void search_restart(struct search_ctx *c)
{
	int k;

	c->cur = c->ntimes = c->head_cont = 0;
	c->head_piece = c->cut = 0;
	c->have_width = 0;
	for (k = 0; k < 2; k++) {
		struct search_line *ln = &c->line[k];

		ln->len = ln->col = ln->cont = ln->blank_upto = ln->at = 0;
		ln->at_cell = 0;
		ln->piece = ln->moved = ln->printed = 0;
		ln->held_t = 0;
		ln->dlo = ln->dhi = 0;
		ln->prev.have = 0;
		ln->strip = (struct replay_strip)REPLAY_STRIP_VOID;
		ln->strip.input = c->input;
	}
	c->ln = &c->line[0];
	memset(&c->seen, 0, sizeof(c->seen));
	c->dropped = 0;
}

int replay_cmd_search(const struct replay_opts *o, int argc, char **argv)
{
	struct search_ctx *c = calloc(1, sizeof(*c));
	struct replay_names n = REPLAY_NAMES_VOID;
	struct tg_rec_verdict v;
	char err[256];
	int e, code = REPLAY_EXIT_OK;
	size_t i;

	if (c == NULL)
		return REPLAY_EXIT_USAGE;
	c->term_loc = LC_GLOBAL_LOCALE;
	/* the matches' text is the recorded user's: an 8-bit terminal must get it in its own
	 * charset (a pipe or a file gets it as it was) */
	if (replay_8bit_tty(STDOUT_FILENO)) {
		replay_guard_init_term(&c->guard, 1);
		if ((c->term_loc = duplocale(LC_GLOBAL_LOCALE)) == (locale_t)0) {
			tg_error("search: %s", tg_strerror(TG_ERR_NOMEM));
			free(c);
			return REPLAY_EXIT_USAGE;
		}
	}
	/* what a terminal showed is UTF-8 text whatever the investigator's locale: '.' is one
	 * character of it in a script run with LANG=C as at a UTF-8 prompt (a pattern that is
	 * not UTF-8 itself, raw bytes typed to match raw bytes, is left to the locale's bytes) */
	if (MB_CUR_MAX == 1 && tg_utf8_valid(argv[0], strlen(argv[0])))
		setlocale(LC_CTYPE, "C.UTF-8");
	if ((e = regcomp(&c->re, argv[0], REG_EXTENDED | REG_NEWLINE)) != 0) {
		regerror(e, &c->re, err, sizeof(err));
		tg_error("search: %s: %s", argv[0], err);
		if (c->term_loc != LC_GLOBAL_LOCALE)
			freelocale(c->term_loc);
		free(c);
		return REPLAY_EXIT_USAGE;
	}
	c->literal = is_literal(argv[0]);
	c->has_eol = strchr(argv[0], '$') != NULL;
	c->utf8 = MB_CUR_MAX > 1;
	c->pat = argv[0];
	c->patlen = strlen(argv[0]);
	c->input = o->input;
	/* an empty folder is an error, but the other recordings are searched all the same */
	if ((e = replay_names_expand(o, argc - 1, argv + 1, &n)) != TG_OK) {
		code = REPLAY_EXIT_USAGE;
		if (e == TG_ERR_NOMEM)
			replay_names_free(&n); /* nothing searched */
	}
	for (i = 0; i < n.n; i++) {
		const char *name = n.v[i].name;
		uint64_t limit = 0;
		int fc, status = TG_OK;

		c->name = name;
		search_restart(c);
		memset(&v, 0, sizeof(v));
		/* as cat: verified first, then searched up to what verified (all with --force) */
		if (n.v[i].bad != NULL) { /* a *.tgr in a folder that is not a regular file */
			tg_error("%s: %s", name, n.v[i].bad);
			fc = REPLAY_EXIT_USAGE;
		} else {
			fc = replay_gate(o, name, &limit, &status);
			c->verified_bytes =
			    status == TG_OK ? UINT64_MAX : replay_gate_verdict()->verified_bytes;
		}
		if (fc == REPLAY_EXIT_OK) {
			e = replay_each_record(o, name, limit, search_rec, c, &v);
			finish_lines(c);
			if (e == TG_OK && c->input)
				replay_input_absent(name, &c->seen);
			if (e == TG_OK && c->dropped > 0)
				tg_warn("%s: %" PRIu64
				        " bytes of %s were passed on but not stored, "
				        "and not searched (%s)",
				        name, c->dropped, c->input ? "input" : "output",
				        c->transfer ? "a file transfer, recorded as metadata: "
				                      "transfer_content = metadata"
				                    : "size or rate cap");
			if (e != TG_OK)
				fc = REPLAY_EXIT_USAGE;
			else if ((fc = replay_recheck(o, name, status, &v)) == REPLAY_EXIT_OK)
				fc = replay_exit_for(status);
			if (fc != REPLAY_EXIT_OK && fc != REPLAY_EXIT_USAGE && o->force)
				tg_warn("%s: matches from this recording are not all verified",
				        name);
		}
		if (code != REPLAY_EXIT_USAGE &&
		    (fc == REPLAY_EXIT_USAGE || fc == REPLAY_EXIT_TAMPERED ||
		     code == REPLAY_EXIT_OK))
			code = fc;
	}
	regfree(&c->re);
	replay_names_free(&n);
	if (!replay_stdout_ok(c->werr))
		code = REPLAY_EXIT_USAGE;
	if (c->term_loc != LC_GLOBAL_LOCALE) { /* its charset named as the terminal's */
		locale_t was = uselocale(c->term_loc);

		replay_guard_end(&c->guard);
		replay_guard_report(&c->guard, "search", 0);
		uselocale(was);
		freelocale(c->term_loc);
	}
	free(c);
	return code;
}
