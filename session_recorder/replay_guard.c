/*
 * tollgate-replay: the terminal guard between a recorded stream and the investigator's
 * terminal (see replay.h). The parser follows the terminal's own (ECMA-48, as xterm reads
 * it): a sequence is held from its introducer to its end, then passed whole, byte for byte,
 * or withheld whole. What it writes is text, display controls and complete sequences it
 * knows to act on the screen only, so the terminal is back in its ground state after each.
 */
#include <inttypes.h>
#include <langinfo.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "replay.h"
#include "tg_log.h"
#include "tg_utf8.h"

#define ESC 0x1b
#define BEL 0x07
#define CAN 0x18
#define SUB 0x1a
#define ENQ 0x05

enum {
	G_GROUND,
	G_UTF8,    /* a multibyte character held */
	G_ESC,     /* ESC and intermediates */
	G_CSI,     /* ESC [ and parameters, intermediates */
	G_OSC,     /* ESC ] and the string */
	G_OSC_ESC, /* an ESC in it: ESC \ ends it, anything else cuts it off */
	G_STR,     /* DCS, SOS, PM, APC: withheld whole */
	G_STR_ESC,
};

/* the DEC private modes (CSI ? Pm h / l) passed: how the screen is drawn, never one that has
 * the terminal send something of its own (mouse, focus), resize the window (DECCOLM: 3, 40)
 * nor leave ANSI parsing (VT52: 2) */
static const unsigned dec_modes[] = {1,  4,  5,    6,    7,    8,    12,  25,
                                     45, 47, 1047, 1048, 1049, 2004, 2026};
/* mouse and focus reporting: the terminal types the investigator's clicks and focus */
static const unsigned reporting_modes[] = {9,    1000, 1001, 1002, 1003, 1004,
                                           1005, 1006, 1007, 1015, 1016};

static int in_list(const unsigned *v, size_t n, unsigned x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

struct out {
	unsigned char *p;
	size_t n;
};

static void emit(struct out *o, const void *d, size_t n)
{
	memcpy(o->p + o->n, d, n);
	o->n += n;
}

static void emit1(struct out *o, unsigned char c)
{
	o->p[o->n++] = c;
}

static void withhold(struct replay_guard *g, int kind)
{
	g->count[kind]++;
}

static void to_ground(struct replay_guard *g)
{
	g->state = G_GROUND;
	g->drop = -1;
	g->len = 0;
}

/* Hold c as part of the sequence; one past the cap withholds it whole, as over-long. */
static void hold(struct replay_guard *g, unsigned char c)
{
	if (g->drop >= 0)
		return;
	if (g->len == sizeof(g->seq)) {
		g->drop = REPLAY_GUARD_LONG;
		return;
	}
	g->seq[g->len++] = c;
}

/* The sequence held ends here: passed when kind is -1 (and it was not withheld already). */
static void finish(struct replay_guard *g, int kind, struct out *o)
{
	if (g->drop >= 0)
		withhold(g, g->drop);
	else if (kind >= 0)
		withhold(g, kind);
	else
		emit(o, g->seq, g->len);
	to_ground(g);
}

static void start(struct replay_guard *g, int state, const char *intro, int drop)
{
	g->state = state;
	g->drop = -1;
	g->len = 0;
	while (*intro != '\0')
		hold(g, (unsigned char)*intro++);
	g->drop = drop;
}

/* A C0 control, in text or inside a sequence (where the terminal acts on it at once). */
static void c0(struct replay_guard *g, unsigned char c, struct out *o)
{
	if ((c >= 0x08 && c <= 0x0f) || c == BEL) /* BS HT LF VT FF CR SO SI, BEL */
		emit1(o, c);
	else
		withhold(g, c == ENQ ? REPLAY_GUARD_QUERY : REPLAY_GUARD_OTHER);
}

/* An 8-bit C1 control (0x80..0x9f, raw or as UTF-8): the introducers' sequences are read, to
 * find their end, and withheld whole. */
static void c1(struct replay_guard *g, unsigned char c)
{
	switch (c) {
	case 0x9b:
		start(g, G_CSI, "\033[", REPLAY_GUARD_C1);
		break;
	case 0x9d:
		start(g, G_OSC, "\033]", REPLAY_GUARD_C1);
		break;
	case 0x90:
	case 0x98:
	case 0x9e:
	case 0x9f:
		start(g, G_STR, "\033P", REPLAY_GUARD_C1);
		break;
	default:
		withhold(g, REPLAY_GUARD_C1);
	}
}

static void ground(struct replay_guard *g, unsigned char c, struct out *o)
{
	if (c == ESC)
		start(g, G_ESC, "\033", -1);
	else if (c < 0x20)
		c0(g, c, o);
	else if (c < 0x80)
		emit1(o, c);
	else if (c <= 0x9f) /* not inside a character: a C1 control to an 8-bit terminal */
		c1(g, c);
	else if (c >= 0xc2 && c <= 0xf4)
		start(g, G_UTF8, (const char[]){(char)c, 0}, -1);
	else /* a byte no UTF-8 character holds (Latin-1 text, say), as it is */
		emit1(o, c);
}

/*
 * An 8-bit terminal: code in the locale's charset (glibc's wchar_t is UCS-4 in every locale),
 * or '?', counted, when the charset has no such character or its bytes there would act: a C1
 * control (0x80..0x9f) or any other control. At most 4 bytes (GB18030's longest): no more than
 * REPLAY_GUARD_OUT_SIZE() allows for the 2 bytes of UTF-8 the shortest such character takes.
 */
static void emit_local(struct replay_guard *g, wchar_t code, struct out *o)
{
	char mb[MB_LEN_MAX];
	mbstate_t ps;
	size_t n, i;

	memset(&ps, 0, sizeof(ps));
	n = wcrtomb(mb, code, &ps);
	if (n == (size_t)-1 || n == 0 || n > 4)
		goto unmapped;
	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)mb[i];

		if (b < 0x20 || b == 0x7f || (b >= 0x80 && b <= 0x9f))
			goto unmapped;
	}
	emit(o, mb, n);
	return;
unmapped:
	g->unmapped++;
	emit1(o, '?');
}

static void step(struct replay_guard *g, unsigned char c, struct out *o);

static void utf8(struct replay_guard *g, unsigned char c, struct out *o)
{
	unsigned char held[4];
	size_t n, i;
	int r;

	g->seq[g->len++] = c;
	r = tg_utf8_seq(g->seq, g->len);
	if (r < 0)
		return;
	if (r == 0 && g->eight_bit) {
		/* no character: its bytes are read as an 8-bit terminal reads them, the first
		 * (0xc2..0xf4) text, each 0x80..0x9f after it a C1 control, and c afresh */
		n = g->len;
		memcpy(held, g->seq, n);
		to_ground(g);
		emit1(o, held[0]);
		for (i = 1; i < n; i++)
			step(g, held[i], o);
		return;
	}
	if (r == 0) {
		/* what came before c began a character c does not go on: one U+FFFD for it (its
		 * bytes may be 0x80..0x9f, C1 to an 8-bit terminal), and c afresh */
		to_ground(g);
		emit(o, TG_UTF8_REPLACEMENT, 3);
		ground(g, c, o);
		return;
	}
	if (g->seq[0] == 0xc2 && g->seq[1] <= 0x9f) { /* U+0080..U+009F: C1 to a UTF-8 xterm */
		to_ground(g);
		c1(g, c);
		return;
	}
	/* to an 8-bit terminal the character's own bytes are Latin-1 text and C1 controls
	 * (C3 9B: a CSI): it is written in the terminal's charset instead */
	if (g->eight_bit)
		emit_local(g, (wchar_t)tg_utf8_code(g->seq, g->len), o);
	else
		emit(o, g->seq, g->len);
	to_ground(g);
}

static int in_str(const char *s, unsigned char c)
{
	return c != 0 && strchr(s, c) != NULL;
}

static void esc(struct replay_guard *g, unsigned char c, struct out *o)
{
	int inter = g->len > 1;

	if (c == ESC) { /* the terminal starts again */
		if (inter)
			withhold(g, REPLAY_GUARD_OTHER);
		start(g, G_ESC, "\033", -1);
	} else if (c == CAN || c == SUB) {
		withhold(g, REPLAY_GUARD_OTHER);
		to_ground(g);
	} else if (c < 0x20) {
		c0(g, c, o);
	} else if (c < 0x30) {
		hold(g, c);
	} else if (c >= 0x7f) {
		if (c == 0x7f)
			return; /* ignored inside a sequence */
		withhold(g, REPLAY_GUARD_OTHER);
		to_ground(g);
		ground(g, c, o);
	} else if (!inter && c == '[') {
		hold(g, c);
		g->state = G_CSI;
	} else if (!inter && c == ']') {
		hold(g, c);
		g->state = G_OSC;
	} else if (!inter && in_str("PX^_", c)) {
		hold(g, c);
		g->state = G_STR;
	} else if (!inter && c == '\\') {
		to_ground(g); /* ST with no string open: does nothing */
	} else {
		hold(g, c);
		/* DECSC DECRC IND NEL HTS RI SS2 SS3 RIS LS2 LS3 LS3R LS2R LS1R DECKPAM DECKPNM;
		 * charset designations; DECDHL DECSWL DECDWL DECALN */
		if ((!inter && in_str("78DEHMNOcno|}~=>", c)) ||
		    (g->len == 3 && in_str("()*+-./", g->seq[1])) ||
		    (g->len == 3 && g->seq[1] == '#' && in_str("34568", c)))
			finish(g, -1, o);
		else
			finish(g, !inter && c == 'Z' ? REPLAY_GUARD_QUERY : REPLAY_GUARD_OTHER, o);
	}
}

/* A number parameter's value, capped (no overflow); -1 when it is not digits only. */
static long param_value(const unsigned char *p, size_t n)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v < 100000)
			v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* CSI ? Pm h / l and CSI Pm h / l: the modes allowed are kept (the sequence written again
 * without the others), and one of the modes withheld counted (reporting before another). */
static void csi_modes(struct replay_guard *g, const unsigned char *p, size_t n, int dec,
                      unsigned char final, struct out *o)
{
	unsigned char keep[REPLAY_GUARD_SEQ_MAX];
	size_t k = 0, i = 0, j;
	int kind = -1, kept = 0;
	long v;

	memcpy(keep, dec ? "\033[?" : "\033[", dec ? 3 : 2);
	k = dec ? 3 : 2;
	while (i <= n) {
		for (j = i; j < n && p[j] != ';'; j++)
			;
		v = param_value(p + i, j - i);
		if (v >= 0 && j > i &&
		    (dec ? in_list(dec_modes, sizeof(dec_modes) / sizeof(dec_modes[0]), (unsigned)v)
		         : v == 4 || v == 20)) { /* IRM, LNM */
			if (kept++)
				keep[k++] = ';';
			memcpy(keep + k, p + i, j - i);
			k += j - i;
		} else if (kind < 0 || kind == REPLAY_GUARD_OTHER) {
			kind = dec && v >= 0 &&
			               in_list(reporting_modes,
			                       sizeof(reporting_modes) / sizeof(reporting_modes[0]),
			                       (unsigned)v)
			           ? REPLAY_GUARD_REPORTING
			           : REPLAY_GUARD_OTHER;
		}
		i = j + 1;
	}
	if (kind >= 0)
		withhold(g, kind);
	if (kept > 0) {
		keep[k++] = final;
		emit(o, keep, k);
	}
}

/* What the CSI sequence held is: -1 to pass it, or the kind it is withheld as (or -2 when
 * csi_modes() did both). */
static int csi_kind(struct replay_guard *g, struct out *o)
{
	const unsigned char *s = g->seq + 2, *end = g->seq + g->len - 1;
	unsigned char final = *end, prefix = 0;
	const unsigned char *params, *inter;
	long p0;

	if (s < end && *s >= 0x3c && *s <= 0x3f)
		prefix = *s++;
	params = s;
	while (s < end && *s >= 0x30 && *s <= 0x3f) {
		if (*s >= 0x3c) /* a prefix after the first byte: malformed */
			return REPLAY_GUARD_OTHER;
		s++;
	}
	inter = s;
	while (s < end && *s >= 0x20 && *s <= 0x2f)
		s++;
	if (s != end)
		return REPLAY_GUARD_OTHER; /* a parameter after an intermediate */
	{
		const unsigned char *semi = memchr(params, ';', (size_t)(inter - params));

		p0 = param_value(params, (size_t)((semi != NULL ? semi : inter) - params));
	}
	if (inter != end) { /* intermediates */
		size_t ni = (size_t)(end - inter);

		if (prefix == 0 && ni == 1 &&
		    ((*inter == ' ' && final == 'q') || /* DECSCUSR */
		     (*inter == '!' && final == 'p')))  /* DECSTR */
			return -1;
		/* DECRQM, DECRQPSR, DECRQTSR, DECRQCRA, DECRQDE */
		if ((*inter == '$' && in_str("pwu", final)) || (*inter == '*' && final == 'y') ||
		    (*inter == '"' && final == 'v'))
			return REPLAY_GUARD_QUERY;
		return REPLAY_GUARD_OTHER;
	}
	if (prefix == '?') {
		if (final == 'h' || final == 'l') {
			csi_modes(g, params, (size_t)(end - params), 1, final, o);
			return -2;
		}
		if (final == 'J' || final == 'K') /* DECSED, DECSEL */
			return -1;
		/* DECDSR, XTSMGRAPHICS, the kitty keyboard's, XTQMODKEYS */
		if (in_str("nSum", final))
			return REPLAY_GUARD_QUERY;
		return REPLAY_GUARD_OTHER;
	}
	if (prefix != 0) /* > = <: DA2, DA3, XTVERSION, and changes to how keys are sent */
		return (prefix == '>' && (final == 'c' || final == 'q')) ||
		               (prefix == '=' && final == 'c')
		           ? REPLAY_GUARD_QUERY
		           : REPLAY_GUARD_OTHER;
	if (final == 'h' || final == 'l') {
		csi_modes(g, params, (size_t)(end - params), 0, final, o);
		return -2;
	}
	/* window operations; the title stack too, which play and cat keep the investigator's
	 * title on (REPLAY_TERM_START) */
	if (final == 't')
		return p0 >= 11 && p0 <= 21 ? REPLAY_GUARD_QUERY : REPLAY_GUARD_WINDOW;
	if (final == 'T' && memchr(params, ';', (size_t)(end - params)) != NULL)
		return REPLAY_GUARD_OTHER; /* mouse highlight tracking, not SD */
	if (in_str("@ABCDEFGHIJKLMPSTXZ`abdefgmrsu", final))
		return -1;
	if (in_str("ncx", final))
		return REPLAY_GUARD_QUERY; /* DSR, DA, DECREQTPARM */
	return REPLAY_GUARD_OTHER;
}

static void csi(struct replay_guard *g, unsigned char c, struct out *o)
{
	int kind;

	if (c == ESC) {
		withhold(g, g->drop >= 0 ? g->drop : REPLAY_GUARD_OTHER);
		start(g, G_ESC, "\033", -1);
	} else if (c == CAN || c == SUB) {
		withhold(g, g->drop >= 0 ? g->drop : REPLAY_GUARD_OTHER);
		to_ground(g);
	} else if (c < 0x20) {
		c0(g, c, o);
	} else if (c == 0x7f) {
		/* ignored inside a sequence */
	} else if (c >= 0x80) {
		withhold(g, g->drop >= 0 ? g->drop : REPLAY_GUARD_OTHER);
		to_ground(g);
		ground(g, c, o);
	} else if (c < 0x40) {
		hold(g, c);
	} else {
		hold(g, c);
		if (g->drop >= 0) {
			finish(g, g->drop, o);
			return;
		}
		kind = csi_kind(g, o);
		if (kind == -2)
			to_ground(g);
		else
			finish(g, kind, o);
	}
}

/* Whether an OSC string's text may reach the terminal: printable UTF-8, no control (C0, DEL,
 * C1: U+009C would end it early) that could end it early or act. To an 8-bit terminal, printable
 * ASCII only: a character's bytes there may be C1 controls, and the guard does not convert
 * inside a string it passes byte for byte. */
static int osc_text_ok(const struct replay_guard *g, const unsigned char *p, size_t n)
{
	size_t i = 0;
	int r;

	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (g->eight_bit)
			return 0;
		r = tg_utf8_seq(p + i, n - i);
		if (r <= 0 || (p[i] == 0xc2 && p[i + 1] <= 0x9f))
			return 0;
		i += (size_t)r;
	}
	return 1;
}

/* What the OSC string held (its terminator, term bytes, at the end) is: -1 to pass it. */
static int osc_kind(struct replay_guard *g, size_t term)
{
	const unsigned char *s = g->seq + 2, *end = g->seq + g->len - term;
	const unsigned char *semi = memchr(s, ';', (size_t)(end - s));
	long num = param_value(s, (size_t)((semi != NULL ? semi : end) - s));

	if (semi == NULL || semi == s)
		num = -1;
	if (num == 52)
		return REPLAY_GUARD_CLIPBOARD;
	if (num == 50)
		return REPLAY_GUARD_FONT;
	if (num == 9 || num == 99 || num == 777)
		return REPLAY_GUARD_NOTIFY;
	/* 0 1 2: icon name and title; 8: a hyperlink, its target shown by the terminal */
	if ((num == 0 || num == 1 || num == 2 || num == 8) && term > 0 &&
	    osc_text_ok(g, s, (size_t)(end - s)))
		return -1;
	if (semi != NULL && memchr(semi, '?', (size_t)(end - semi)) != NULL)
		return REPLAY_GUARD_QUERY; /* OSC 4 ; n ; ?, OSC 10 ; ?, ... */
	return REPLAY_GUARD_OTHER;
}

/* The OSC string held ends (term: its terminator's length, 0 when cut off). */
static void osc_end(struct replay_guard *g, size_t term, struct out *o)
{
	int kind = g->drop >= 0 ? g->drop : osc_kind(g, term);

	finish(g, term == 0 && kind < 0 ? REPLAY_GUARD_OTHER : kind, o);
}

static void osc(struct replay_guard *g, unsigned char c, struct out *o)
{
	if (c == BEL) {
		hold(g, c);
		osc_end(g, 1, o);
	} else if (c == ESC) {
		hold(g, c);
		g->state = G_OSC_ESC;
	} else if (c == CAN || c == SUB || (c == 0x9c && (g->drop >= 0 || g->eight_bit))) {
		/* (an 8-bit ST ends what an 8-bit OSC began, and any to an 8-bit terminal; in
		 * another, 0x9c may be inside a character of the text, which then is not
		 * printable) */
		osc_end(g, 0, o);
	} else {
		hold(g, c);
	}
}

static void osc_esc(struct replay_guard *g, unsigned char c, struct out *o)
{
	if (c == '\\') {
		hold(g, c);
		osc_end(g, 2, o);
		return;
	}
	/* cut off by another sequence: withheld, and the ESC starts that one */
	if (g->drop < 0)
		g->len--; /* the ESC */
	osc_end(g, 0, o);
	start(g, G_ESC, "\033", -1);
	esc(g, c, o);
}

/* What kind a DCS, SOS, PM or APC string held is. */
static int str_kind(const struct replay_guard *g)
{
	const char *s = (const char *)g->seq + 2;
	size_t n = g->len - 2;

	if (g->seq[1] == 'P') {
		if (n >= 5 && memcmp(s, "tmux;", 5) == 0)
			return REPLAY_GUARD_PASSTHROUGH;
		if (n >= 2 && (memcmp(s, "$q", 2) == 0 || memcmp(s, "+q", 2) == 0))
			return REPLAY_GUARD_QUERY; /* DECRQSS, XTGETTCAP */
	}
	return REPLAY_GUARD_STRING;
}

static void str(struct replay_guard *g, unsigned char c, struct out *o)
{
	if (c == ESC) {
		g->state = G_STR_ESC;
	} else if (c == CAN || c == SUB || c == 0x9c) { /* 0x9c: ST, 8-bit */
		finish(g, g->drop >= 0 ? g->drop : str_kind(g), o);
	} else if (g->len < 16) { /* its start tells what it is; the rest is withheld unread */
		hold(g, c);
	}
}

static void str_esc(struct replay_guard *g, unsigned char c, struct out *o)
{
	finish(g, g->drop >= 0 ? g->drop : str_kind(g), o);
	if (c == '\\')
		return;
	/* cut off by another sequence (tmux passthrough's doubled ESC among them): that one is
	 * read as the terminal would */
	start(g, G_ESC, "\033", -1);
	esc(g, c, o);
}

static void step(struct replay_guard *g, unsigned char c, struct out *o)
{
	switch (g->state) {
	case G_GROUND:
		ground(g, c, o);
		break;
	case G_UTF8:
		utf8(g, c, o);
		break;
	case G_ESC:
		esc(g, c, o);
		break;
	case G_CSI:
		csi(g, c, o);
		break;
	case G_OSC:
		osc(g, c, o);
		break;
	case G_OSC_ESC:
		osc_esc(g, c, o);
		break;
	case G_STR:
		str(g, c, o);
		break;
	case G_STR_ESC:
		str_esc(g, c, o);
		break;
	}
}

void replay_guard_init(struct replay_guard *g)
{
	replay_guard_init_term(g, 0);
}

void replay_guard_init_term(struct replay_guard *g, int eight_bit)
{
	memset(g, 0, sizeof(*g));
	g->eight_bit = eight_bit != 0;
	to_ground(g);
}

int replay_term_8bit(void)
{
	const char *cs = nl_langinfo(CODESET);

	return strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "UTF8") != 0;
}

size_t replay_guard_feed(struct replay_guard *g, unsigned char *out, const void *in, size_t n)
{
	const unsigned char *p = in;
	struct out o = {out, 0};
	size_t i;

	for (i = 0; i < n; i++)
		step(g, p[i], &o);
	return o.n;
}

int replay_guard_write(struct replay_guard *g, FILE *f, const void *d, size_t n)
{
	static unsigned char out[REPLAY_GUARD_OUT_SIZE(4096)];
	const unsigned char *p = d;
	size_t k, m;

	while (n > 0) {
		k = n < 4096 ? n : 4096;
		m = replay_guard_feed(g, out, p, k);
		if (m > 0 && fwrite(out, 1, m, f) != m)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

void replay_guard_end(struct replay_guard *g)
{
	if (g->state != G_GROUND && g->state != G_UTF8)
		withhold(g, g->drop >= 0 ? g->drop : REPLAY_GUARD_OTHER);
	to_ground(g);
}

void replay_guard_restart(struct replay_guard *g)
{
	size_t k;

	for (k = 0; k < REPLAY_GUARD_KINDS; k++) {
		if (g->count[k] > g->most[k])
			g->most[k] = g->count[k];
		g->count[k] = 0;
	}
	if (g->unmapped > g->unmapped_most)
		g->unmapped_most = g->unmapped;
	g->unmapped = 0;
	to_ground(g);
}

uint64_t replay_guard_withheld(const struct replay_guard *g, enum replay_guard_kind kind)
{
	return g->count[kind] > g->most[kind] ? g->count[kind] : g->most[kind];
}

uint64_t replay_guard_unmapped(const struct replay_guard *g)
{
	return g->unmapped > g->unmapped_most ? g->unmapped : g->unmapped_most;
}

void replay_guard_report(const struct replay_guard *g, const char *name, int exported)
{
	static const char *const what[REPLAY_GUARD_KINDS][2] = {
	    [REPLAY_GUARD_QUERY] = {"terminal query", "terminal queries"},
	    [REPLAY_GUARD_CLIPBOARD] = {"clipboard write (OSC 52)", "clipboard writes (OSC 52)"},
	    [REPLAY_GUARD_WINDOW] = {"window change", "window changes"},
	    [REPLAY_GUARD_REPORTING] = {"mouse or focus reporting mode",
	                                "mouse or focus reporting modes"},
	    [REPLAY_GUARD_FONT] = {"font change (OSC 50)", "font changes (OSC 50)"},
	    [REPLAY_GUARD_NOTIFY] = {"notification", "notifications"},
	    [REPLAY_GUARD_PASSTHROUGH] = {"tmux passthrough", "tmux passthroughs"},
	    [REPLAY_GUARD_STRING] = {"DCS/APC/PM/SOS string", "DCS/APC/PM/SOS strings"},
	    [REPLAY_GUARD_C1] = {"8-bit C1 control", "8-bit C1 controls"},
	    [REPLAY_GUARD_LONG] = {"over-long sequence", "over-long sequences"},
	    [REPLAY_GUARD_OTHER] = {"other control", "other controls"},
	};
	char line[1024] = "";
	size_t k, at = 0;
	uint64_t n;

	for (k = 0; k < REPLAY_GUARD_KINDS; k++) {
		n = replay_guard_withheld(g, (enum replay_guard_kind)k);
		if (n == 0 || at >= sizeof(line))
			continue;
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%" PRIu64 " %s",
		                       at > 0 ? ", " : "", n, what[k][n != 1]);
	}
	if (at > 0 && exported)
		tg_warn("%s: withheld from the export (they act on the terminal that plays it, not "
		        "only on its screen): %s; --raw keeps them (unsafe to play)",
		        name, line);
	else if (at > 0)
		tg_warn("%s: withheld from the terminal (they act on it, not only on the screen): "
		        "%s; --raw passes them",
		        name, line);
	n = replay_guard_unmapped(g);
	if (n > 0)
		tg_warn("%s: %" PRIu64
		        " character%s written as '?': not in this terminal's charset "
		        "(%s, from the locale); use a UTF-8 locale (e.g. LANG=C.UTF-8) on a UTF-8 "
		        "terminal to see %s",
		        name, n, n != 1 ? "s" : "", nl_langinfo(CODESET), n != 1 ? "them" : "it");
}
