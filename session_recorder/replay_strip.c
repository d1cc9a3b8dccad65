/*
 * tollgate-replay: strip terminal control sequences from output so that
 * search matches what a person saw (ECMA-48: CSI, OSC, DCS/SOS/PM/APC
 * strings, two- and three-byte ESC sequences, C0 controls but tab and
 * newline; erase in line, CSI K, and the cursor's moves on its line are
 * said for the caller to apply, as the line controls are kept). A C1 control written as UTF-8
 * (U+0080..U+009F) is one to a UTF-8 terminal (U+009B is CSI): it goes as its ESC form does. In
 * their 8-bit form, outside a UTF-8 character, C1 controls are read as the guard reads them (what
 * play shows): CSI, OSC and the strings' introducers start what they start, the others go; inside
 * a character such a byte is text. Typed input
 * (search --input) goes through it too: there the keys' sequences go whole (SS3 ESC O A is the Up
 * arrow in application mode) and the erasing controls are kept.
 */
#include "replay.h"
#include "tg_utf8.h"

/* S_STRING: an OSC begun by ESC ]; S_STRING8: a DCS, SOS, PM or APC string, or an OSC begun by a
 * C1 control, which an 8-bit ST (a 0x9c byte) ends too, as the guard reads them */
enum {
	S_TEXT,
	S_ESC,
	S_ESC_INTER,
	S_CSI,
	S_STRING,
	S_STRING_ESC,
	S_SS,
	S_C2,
	S_STRING_C2,
	S_STRING8
};

/* The lead byte of a C1 control in UTF-8: U+0080..U+009F are 0xc2 0x80..0x9f. */
#define C1_LEAD 0xc2

/* From this length on an OSC is over-long to the guard, which then ends it at any 0x9c; a
 * little early, so that a string the guard cuts is cut here too. */
#define OSC_GUARD_CUT (REPLAY_GUARD_SEQ_MAX - 16)

/* A byte c of an OSC's text: its length, and where a character in it stands. */
static void osc_char(struct replay_strip *st, unsigned char c)
{
	if (st->str_len < OSC_GUARD_CUT)
		st->str_len++;
	if (c >= 0x80 && c <= 0xbf && st->str_need > 0)
		st->str_need--;
	else if (c >= 0xc2 && c <= 0xdf)
		st->str_need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		st->str_need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		st->str_need = 3;
	else
		st->str_need = 0;
}

/* The end of a sequence: in input, a key's (which may move the cursor) unless it is a
 * bracketed paste mark. */
static int seq_end(const struct replay_strip *st, int paste_mark)
{
	return st->input && !paste_mark ? REPLAY_STRIP_KEY : -1;
}

/* The end c of a CSI in output: what it does to the line, for the caller, or -1 (removed). */
static int line_control(struct replay_strip *st, unsigned char c)
{
	if (c == 'K' && st->param <= 2) /* EL: the caller erases */
		return REPLAY_STRIP_ERASE_END - (int)st->param;
	if (st->param == REPLAY_STRIP_PARAM_OTHER)
		return -1;
	if (st->param == 0)
		st->param = 1;
	switch (c) {
	case 'G':
	case '`':
		return REPLAY_STRIP_COLUMN;
	case 'D':
		return REPLAY_STRIP_LEFT;
	case 'C':
		return REPLAY_STRIP_RIGHT;
	case 'A':
		return REPLAY_STRIP_UP;
	case 'B':
		return REPLAY_STRIP_DOWN;
	case '@':
		return REPLAY_STRIP_INSERT;
	case 'P':
		return REPLAY_STRIP_DELETE;
	case 'X':
		return REPLAY_STRIP_ERASE_CHARS;
	default:
		return -1;
	}
}

/* The controls the caller makes lines of. */
static int is_layout(unsigned char c)
{
	return c == '\n' || c == '\t' || c == '\b' || c == '\r';
}

static int strip_one(struct replay_strip *st, unsigned char c);

/*
 * Output: a byte past ASCII inside an ESC or CSI sequence, which no such sequence holds: the
 * sequence ends there and the byte is read afresh, as the guard reads it (and play shows it),
 * so that what follows is not taken for the rest of the sequence and hidden from search.
 */
static int cut_off(struct replay_strip *st, unsigned char c)
{
	st->state = S_TEXT;
	return strip_one(st, c);
}

/* Output: an 8-bit C1 control c outside a character, as the guard reads it: a CSI (withheld by
 * the guard whole, so it does nothing to the line here either), an OSC or a string begun, or
 * another control, gone. */
static int c1_8bit(struct replay_strip *st, unsigned char c)
{
	if (c == 0x9b) {
		st->state = S_CSI;
		st->param = REPLAY_STRIP_PARAM_OTHER;
	} else if (c == 0x9d || c == 0x90 || c == 0x98 || c == 0x9e || c == 0x9f) {
		st->state = S_STRING8;
	}
	return -1;
}

/* One byte: the byte to keep as text, -1 when it is part of a control sequence (or held),
 * (input only) REPLAY_STRIP_KEY, or (output only) a REPLAY_STRIP_ERASE_*. */
static int strip_one(struct replay_strip *st, unsigned char c)
{
	int k;

	switch (st->state) {
	case S_TEXT:
		if (!st->input && st->chlen > 0) {
			/* in a character: c goes on with it, or it was cut short and c is read
			 * afresh */
			st->ch[st->chlen] = c;
			k = tg_utf8_seq(st->ch, st->chlen + 1);
			if (k < 0) {
				st->chlen++;
				return c;
			}
			st->chlen = 0;
			if (k > 0)
				return c;
		}
		if (c == 0x1b) {
			st->state = S_ESC;
			return -1;
		}
		if (c == C1_LEAD) {
			st->state = S_C2; /* held: replay_strip_byte() says what it was */
			return -1;
		}
		if (!st->input && c >= 0x80 && c <= 0x9f)
			return c1_8bit(st, c);
		if (!st->input && c > C1_LEAD && c <= 0xf4) {
			st->ch[0] = c; /* a character begins */
			st->chlen = 1;
			return c;
		}
		if (is_layout(c))
			return c; /* the caller makes lines of these */
		if (st->input && (c == 0x7f || c == 0x15))
			return c; /* DEL (Backspace), ^U: the caller erases */
		if (c < 0x20 || c == 0x7f)
			return -1;
		return c;
	case S_ESC:
		if (c == '[') {
			st->state = S_CSI;
			st->param = 0;
		} else if (st->input && (c == 'N' || c == 'O')) {
			st->state = S_SS; /* SS2, SS3: a key's byte follows */
		} else if (c == ']') {
			st->state = S_STRING;
			st->str_len = 2;
			st->str_need = 0;
		} else if (c == 'P' || c == 'X' || c == '^' || c == '_') {
			st->state = S_STRING8;
		} else if (c >= 0x20 && c <= 0x2f) {
			st->state = S_ESC_INTER; /* e.g. ESC ( B */
		} else if (c == 0x1b) {
			st->state = S_ESC;
		} else if (st->input && c < 0x20) {
			st->state = S_TEXT; /* ESC (vi mode), then Enter: the Enter counts */
			return strip_one(st, c);
		} else if (is_layout(c)) {
			return c; /* a terminal does it inside the sequence, which goes on */
		} else if (!st->input && c >= 0x80) {
			return cut_off(st, c);
		} else {
			st->state = S_TEXT; /* ESC 7, ESC =, ESC c, ... (typed: Alt+key) */
			return seq_end(st, 0);
		}
		return -1;
	case S_ESC_INTER:
		if (is_layout(c))
			return c; /* done, and the sequence goes on */
		if (!st->input && c >= 0x80)
			return cut_off(st, c);
		if (c < 0x20 || c > 0x2f) {
			st->state = S_TEXT;
			return seq_end(st, 0);
		}
		return -1;
	case S_SS:
		st->state = S_TEXT;
		return seq_end(st, 0);
	case S_CSI:
		if (is_layout(c))
			return c; /* done, and the sequence goes on */
		if (!st->input && c >= 0x80)
			return cut_off(st, c);
		if (c >= 0x40 && c <= 0x7e) {
			st->state = S_TEXT;
			if (!st->input)
				return line_control(st, c);
			return seq_end(st, c == '~' && (st->param == 200 || st->param == 201));
		}
		if (c >= '0' && c <= '9' && st->param != REPLAY_STRIP_PARAM_OTHER) {
			st->param = st->param * 10 + (unsigned)(c - '0');
			if (st->param > REPLAY_STRIP_PARAM_MAX) /* CSI 1000 D: as far as it goes */
				st->param = REPLAY_STRIP_PARAM_MAX;
		} else if (c < 0x40) {
			st->param =
			    REPLAY_STRIP_PARAM_OTHER; /* another parameter, or an intermediate */
		}
		if (c == 0x1b)
			st->state = S_ESC;
		else if (c == 0x18 || c == 0x1a)
			st->state = S_TEXT; /* CAN, SUB abort it */
		return -1;
	case S_STRING:
		if (c == 0x07 || c == 0x18 || c == 0x1a)
			st->state = S_TEXT; /* BEL ends an OSC (xterm) */
		else if (c == 0x1b)
			st->state = S_STRING_ESC;
		else if (c == C1_LEAD)
			st->state = S_STRING_C2;
		else if (c == 0x9c)
			/* an 8-bit ST: the guard ends the OSC there for an 8-bit terminal (a
			 * non-UTF-8 locale), also inside what would be a UTF-8 character, and for
			 * any once it is over-long, and play then shows what follows; here too,
			 * lest search miss text play shows in some locale (on a UTF-8 terminal the
			 * rest is then a title's text that search shows: more, never less) */
			st->state = S_TEXT;
		else
			osc_char(st, c);
		return -1;
	case S_STRING8:
		if (c == 0x07 || c == 0x18 || c == 0x1a || c == 0x9c)
			st->state = S_TEXT;
		else if (c == 0x1b)
			st->state = S_STRING_ESC;
		return -1;
	case S_STRING_ESC:
		if (c == '\\') {
			st->state = S_TEXT; /* ST */
			return -1;
		}
		/* any other ESC cuts the string off and starts a sequence of its own, as a
		 * terminal (and the guard) reads it: what follows it may be text on the screen */
		st->state = S_ESC;
		return strip_one(st, c);
	case S_STRING_C2: /* ST (U+009C) ends the string */
		if (c == 0x9c) {
			st->state = S_TEXT;
			return -1;
		}
		/* else c is read as in the string: a BEL, CAN or SUB still ends it; the lead
		 * byte held starts a character */
		st->state = S_STRING;
		osc_char(st, C1_LEAD);
		return strip_one(st, c);
	case S_C2: /* a C1 control (replay_strip_byte() saw to it): as ESC and its 7-bit form */
		st->state = S_ESC;
		k = strip_one(st, (unsigned char)(c - 0x40));
		if (st->state == S_STRING) /* an OSC as C1: an 8-bit ST ends it */
			st->state = S_STRING8;
		return k;
	}
	st->state = S_TEXT;
	return -1;
}

int replay_strip_byte(struct replay_strip *st, unsigned char c, int out[2])
{
	int n = 0, k;

	if (st->state == S_C2 && (c < 0x80 || c > 0x9f)) {
		/* not a C1 control: the byte held is text (a character, or a byte that is not
		 * UTF-8), and c comes after it */
		out[n++] = C1_LEAD;
		st->state = S_TEXT;
	}
	if ((k = strip_one(st, c)) != -1)
		out[n++] = k;
	return n;
}

int replay_strip_holds(const struct replay_strip *st)
{
	return st->state == S_C2;
}

int replay_strip_end(struct replay_strip *st)
{
	int held = st->state == S_C2 ? C1_LEAD : -1;

	st->state = S_TEXT;
	st->chlen = 0;
	return held;
}
