#include "input_guard.h"

#include <string.h>

/* Words of a secret prompt, lower case (ASCII; other letters as they are, in UTF-8). Anywhere in
 * the line: "passw" takes password, passwd and the German Passwort. The others are the words of
 * prompts in other languages, as gpg-agent gives pinentry its own (translated) prompt: a
 * translated prompt that names no secret in English still asks for one. */
static const char *const secret_anywhere[] = {
    "passw",
    "passphrase",
    "pass phrase",
    "passcode",
    "kennwort",
    "secret",
    "verification code",
    "mot de passe",
    /* fr: secrète; es, ca: contraseña, contrasenya; pt: senha; it, ro, tr: parola, parolası;
     * nl: wachtwoord; nb: passord, passordfrase; da: adgangskode, adgangsfrase; sv: lösenord,
     * lösenfras; fi: salasana; cs, sk: heslo; pl: hasło; hu: jelszó */
    "secr\xc3\xa8t",
    "contrase",
    "senha",
    "parola",
    "wachtwoord",
    "passord",
    "adgangs",
    "l\xc3\xb6sen",
    "salasana",
    "heslo",
    "has\xc5\x82o",
    "jelsz\xc3\xb3",
    /* ru, uk, bg: пароль, парола, in either case (only ASCII is lowered); uk: пінкод */
    "\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb",
    "\xd1\x96\xd0\xbd\xd0\xba\xd0\xbe\xd0\xb4",
    /* ja: パスワード, パスフレーズ; zh_CN: 密码; zh_TW: 密碼, 密語; ko: 비밀번호 */
    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89",
    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\x95\xe3\x83\xac\xe3\x83\xbc\xe3\x82\xba",
    "\xe5\xaf\x86\xe7\xa0\x81",
    "\xe5\xaf\x86\xe7\xa2\xbc",
    "\xe5\xaf\x86\xe8\xaa\x9e",
    "\xeb\xb9\x84\xeb\xb0\x80\xeb\xb2\x88\xed\x98\xb8",
};
/* Only as whole words: as parts of words they are everywhere (ping, spinner, tokens/, keyboard).
 * "key" takes vim's "Enter encryption key" and its "Enter same key again". */
static const char *const secret_words[] = {"pin", "otp", "token", "key"};

void input_guard_init(struct input_guard *g)
{
	g->len = 0;
	g->unscanned = 0;
	g->pending = 0;
}

/* Whether the tail followed by p[0..n) names a secret anywhere, looked at in windows of the
 * tail's size, each one half new: a word cut at the end of one is whole in the next. The tail
 * is left holding the last window. */
static int names_secret(struct input_guard *g, const unsigned char *p, size_t n)
{
	size_t k;

	for (;;) {
		k = INPUT_GUARD_TAIL - g->len < n ? INPUT_GUARD_TAIL - g->len : n;
		memcpy(g->tail + g->len, p, k);
		g->len += k;
		p += k;
		n -= k;
		if (input_guard_is_prompt(g))
			return 1;
		if (n == 0)
			return 0;
		memmove(g->tail, g->tail + INPUT_GUARD_TAIL / 2,
		        INPUT_GUARD_TAIL - INPUT_GUARD_TAIL / 2);
		g->len = INPUT_GUARD_TAIL - INPUT_GUARD_TAIL / 2;
	}
}

int input_guard_output(struct input_guard *g, const unsigned char *p, size_t n)
{
	size_t i = n, drop;
	int ended = 0;

	while (i > 0 && p[i - 1] != '\n' && p[i - 1] != '\r')
		i--;
	if (i > 0) {
		/* Lines end: was one of them a secret prompt? Every one, not only the last: one
		 * write can hold the prompt and then the lines of another pane (tmux draws both
		 * at once). The caller asks the terminal whether a prompt still waits (the line
		 * ends drawn elsewhere) or the lines were a program's output. At most two looks
		 * at each byte, and none while a prompt is held already. */
		ended = !g->pending && names_secret(g, p, i);
		g->len = g->unscanned = 0;
		p += i;
		n -= i;
	}
	if (n > INPUT_GUARD_TAIL) {
		/* the last line is longer than the window: what leaves it in this read is looked
		 * at first, as below, and so is the half window after it */
		if (!g->pending)
			g->pending = names_secret(g, p, n - INPUT_GUARD_TAIL / 2);
		g->len = g->unscanned = 0;
		p += n - INPUT_GUARD_TAIL;
		n = INPUT_GUARD_TAIL;
	}
	if (g->len + n > INPUT_GUARD_TAIL) {
		/* Bytes leave the line without a new line: a full-screen program draws on (the
		 * clock of tmux's status line while sudo waits inside). A secret prompt among them
		 * must still hide what is typed for it, so the line is looked at before they go:
		 * at most once per half a window of new output (what leaves was in the window for
		 * more than that), not on every small write. */
		if (!g->pending && g->len > 0 && g->unscanned + n >= INPUT_GUARD_TAIL / 2) {
			g->pending = input_guard_is_prompt(g);
			g->unscanned = 0;
		}
		drop = g->len + n - INPUT_GUARD_TAIL;
		if (drop >= g->len) {
			p += drop - g->len;
			n -= drop - g->len;
			g->len = 0;
		} else {
			memmove(g->tail, g->tail + drop, g->len - drop);
			g->len -= drop;
		}
	}
	memcpy(g->tail + g->len, p, n);
	g->len += n;
	g->unscanned += n;
	return ended;
}

void input_guard_hold(struct input_guard *g)
{
	g->pending = 1;
}

/* The tail's text, lower case (ASCII), control sequences and characters left out (ECMA-48: CSI,
 * OSC/DCS/APC/PM/SOS strings, other ESC sequences). Returns its length. */
static size_t text_of(const struct input_guard *g, char *text)
{
	enum { TEXT, ESC, CSI, STRING, STRING_ESC } st = TEXT;
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < g->len; i++) {
		c = g->tail[i];
		switch (st) {
		case TEXT:
			if (c == 0x1b)
				st = ESC;
			else if (c == '\n' || c == '\r')
				text[n++] =
				    '\n'; /* lines looked at together: no word goes across */
			else if (c >= 'A' && c <= 'Z')
				text[n++] = (char)(c - 'A' + 'a');
			else if (c >= 0x20 && c != 0x7f)
				text[n++] = (char)c;
			break;
		case ESC:
			if (c == '[')
				st = CSI;
			else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
				st = STRING;
			else if (c < 0x20 || c > 0x2f) /* intermediates (ESC ( B) go on */
				st = c == 0x1b ? ESC : TEXT;
			break;
		case CSI:
			if (c >= 0x40 && c <= 0x7e)
				st = TEXT;
			else if (c == 0x1b)
				st = ESC;
			break;
		case STRING:
			if (c == 0x07)
				st = TEXT;
			else if (c == 0x1b)
				st = STRING_ESC;
			break;
		case STRING_ESC:
			st = c == '\\' ? TEXT : c == 0x1b ? STRING_ESC : STRING;
			break;
		}
	}
	return n;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int has_word(const char *text, size_t n, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; i + wl <= n; i++)
		if (memcmp(text + i, w, wl) == 0 && (i == 0 || !is_alnum(text[i - 1])) &&
		    (i + wl == n || !is_alnum(text[i + wl])))
			return 1;
	return 0;
}

int input_guard_is_prompt(const struct input_guard *g)
{
	char text[INPUT_GUARD_TAIL];
	size_t n = text_of(g, text), i;

	for (i = 0; i < sizeof(secret_anywhere) / sizeof(secret_anywhere[0]); i++)
		if (memmem(text, n, secret_anywhere[i], strlen(secret_anywhere[i])) != NULL)
			return 1;
	for (i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (has_word(text, n, secret_words[i]))
			return 1;
	return 0;
}

size_t input_guard_hidden(struct input_guard *g, int known, tcflag_t lflag, const unsigned char *p,
                          size_t n)
{
	const unsigned char *cr, *lf;

	if (!known)
		return n; /* in doubt */
	if (lflag & (ECHO | ICANON))
		g->pending = 0; /* not a raw-mode prompt's answer, whatever was drawn before */
	if (lflag & ECHO)
		return 0;
	if (lflag & ICANON)
		return n; /* getpass(): a password, whatever the prompt said */
	if (!g->pending && !input_guard_is_prompt(g))
		return 0; /* a line editor or full-screen program, echoing by itself */
	cr = memchr(p, '\r', n);
	lf = memchr(p, '\n', n);
	if (cr == NULL || (lf != NULL && lf < cr))
		cr = lf;
	if (cr == NULL)
		return n;
	/* answered: what comes after the Enter is judged by what the program prints next */
	g->len = g->unscanned = 0;
	g->pending = 0;
	return (size_t)(cr - p) + 1;
}
