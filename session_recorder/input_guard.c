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
    /* fr: secrète; es, ca: contraseña, contrasenya; pt: senha, palavra-passe; it, ro, tr, et,
     * lv: parola, parolă, parolası, parool, parole; nl: wachtwoord; nb: passord, passordfrase;
     * da: adgangskode, adgangsfrase; sv: lösenord, lösenfras; fi: salasana; cs, sk: heslo;
     * pl: hasło; hu: jelszó; eo: pasvorto; eu: pasahitza; ga: focal faire; gl, ia, tl:
     * contrasinal, contrasigno, kontrasenyas; id: sandi, kata sandi; sr (Latin), hr:
     * lozinka; az, bs: şifrə, šifra; vi: mật khẩu; zu: iphasiwedi */
    "secr\xc3\xa8t",
    "contrase",
    "senha",
    "palavra-passe",
    "palavra passe",
    "parol",
    "parool",
    "pasvort",
    "pasahitz",
    "focal faire",
    "contrasi",
    "kontrasenya",
    "sandi",
    "lozink",
    "\xc5\x9fifr",
    "\xc5\x9eifr",
    "\xc5\xa1ifr",
    "\xc5\xa0ifr",
    "m\xe1\xba\xadt kh\xe1\xba\xa9u",
    "iphasiwedi",
    "wachtwoord",
    "passord",
    "adgangs",
    "l\xc3\xb6sen",
    "salasana",
    "heslo",
    "has\xc5\x82o",
    "jelsz\xc3\xb3",
    /* ru, uk, bg: пароль, парола, in either case (only ASCII is lowered); uk: пінкод; sr:
     * лозинка; el: συνθηματικό; ka: პაროლი; he: ססמה, סיסמה; ar: كلمة السر, كلمة سر,
     * كلمة المرور */
    "\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb",
    "\xd1\x96\xd0\xbd\xd0\xba\xd0\xbe\xd0\xb4",
    "\xd0\xbe\xd0\xb7\xd0\xb8\xd0\xbd\xd0\xba",
    "\xcf\x85\xce\xbd\xce\xb8\xce\xb7\xce\xbc\xce\xb1\xcf\x84\xce\xb9\xce\xba",
    "\xe1\x83\x9e\xe1\x83\x90\xe1\x83\xa0\xe1\x83\x9d\xe1\x83\x9a",
    "\xd7\xa1\xd7\xa1\xd7\x9e",
    "\xd7\xa1\xd7\x99\xd7\xa1\xd7\x9e",
    "\xd9\x83\xd9\x84\xd9\x85\xd8\xa9 \xd8\xa7\xd9\x84\xd8\xb3\xd8\xb1",
    "\xd9\x83\xd9\x84\xd9\x85\xd8\xa9 \xd8\xb3\xd8\xb1",
    "\xd9\x83\xd9\x84\xd9\x85\xd8\xa9 \xd8\xa7\xd9\x84\xd9\x85\xd8\xb1\xd9\x88\xd8\xb1",
    /* ja: パスワード, パスフレーズ; zh_CN: 密码; zh_TW: 密碼, 密語; ko: 비밀번호 */
    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\x89",
    "\xe3\x83\x91\xe3\x82\xb9\xe3\x83\x95\xe3\x83\xac\xe3\x83\xbc\xe3\x82\xba",
    "\xe5\xaf\x86\xe7\xa0\x81",
    "\xe5\xaf\x86\xe7\xa2\xbc",
    "\xe5\xaf\x86\xe8\xaa\x9e",
    "\xeb\xb9\x84\xeb\xb0\x80\xeb\xb2\x88\xed\x98\xb8",
    /* ko: 암호; hi, ne: पासवर्ड; mr, hi: गुप्तशब्द; hi: शब्दकूट; as: গুপ্তশব্দ; bn:
     * পাসও(য়ার্ড); gu: પાસવર્ડ; pa: ਪਾਸਵਰਡ; kn: ಗುಪ್ತಪದ; ml: അടയാളവാക്ക്; or: ପ୍ରବେଶ
     * ସଙ୍କେତ; si: රහස්පද; ta: கடவுச்சொல்; te: సంకేతపద; km: សម្ងាត់; dz: ཆོག་ཡིག */
    "\xec\x95\x94\xed\x98\xb8",
    "\xe0\xa4\xaa\xe0\xa4\xbe\xe0\xa4\xb8\xe0\xa4\xb5\xe0\xa4\xb0\xe0\xa5\x8d\xe0\xa4\xa1",
    "\xe0\xa4\x97\xe0\xa5\x81\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa4\xb6\xe0\xa4\xac\xe0\xa5"
    "\x8d\xe0\xa4\xa6",
    "\xe0\xa4\xb6\xe0\xa4\xac\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa4\x95\xe0\xa5\x82\xe0\xa4\x9f",
    "\xe0\xa6\x97\xe0\xa7\x81\xe0\xa6\xaa\xe0\xa7\x8d\xe0\xa6\xa4\xe0\xa6\xb6\xe0\xa6\xac\xe0\xa7"
    "\x8d\xe0\xa6\xa6",
    "\xe0\xa6\xaa\xe0\xa6\xbe\xe0\xa6\xb8\xe0\xa6\x93", /* its start: য় comes precomposed or not */
    "\xe0\xaa\xaa\xe0\xaa\xbe\xe0\xaa\xb8\xe0\xaa\xb5\xe0\xaa\xb0\xe0\xab\x8d\xe0\xaa\xa1",
    "\xe0\xa8\xaa\xe0\xa8\xbe\xe0\xa8\xb8\xe0\xa8\xb5\xe0\xa8\xb0\xe0\xa8\xa1",
    "\xe0\xb2\x97\xe0\xb3\x81\xe0\xb2\xaa\xe0\xb3\x8d\xe0\xb2\xa4\xe0\xb2\xaa\xe0\xb2\xa6",
    "\xe0\xb4\x85\xe0\xb4\x9f\xe0\xb4\xaf\xe0\xb4\xbe\xe0\xb4\xb3\xe0\xb4\xb5\xe0\xb4\xbe\xe0\xb4"
    "\x95\xe0\xb5\x8d\xe0\xb4\x95\xe0\xb5\x8d",
    "\xe0\xac\xaa\xe0\xad\x8d\xe0\xac\xb0\xe0\xac\xac\xe0\xad\x87\xe0\xac\xb6\x20\xe0\xac\xb8\xe0"
    "\xac\x99\xe0\xad\x8d\xe0\xac\x95\xe0\xad\x87\xe0\xac\xa4",
    "\xe0\xb6\xbb\xe0\xb7\x84\xe0\xb7\x83\xe0\xb7\x8a\xe0\xb6\xb4\xe0\xb6\xaf",
    "\xe0\xae\x95\xe0\xae\x9f\xe0\xae\xb5\xe0\xaf\x81\xe0\xae\x9a\xe0\xaf\x8d\xe0\xae\x9a\xe0\xaf"
    "\x8a\xe0\xae\xb2\xe0\xaf\x8d",
    "\xe0\xb0\xb8\xe0\xb0\x82\xe0\xb0\x95\xe0\xb1\x87\xe0\xb0\xa4\xe0\xb0\xaa\xe0\xb0\xa6",
    "\xe1\x9e\x9f\xe1\x9e\x98\xe1\x9f\x92\xe1\x9e\x84\xe1\x9e\xb6\xe1\x9e\x8f\xe1\x9f\x8b",
    "\xe0\xbd\x86\xe0\xbd\xbc\xe0\xbd\x82\xe0\xbc\x8b\xe0\xbd\xa1\xe0\xbd\xb2\xe0\xbd\x82",
};
/* Only as whole words: as parts of words they are everywhere (ping, spinner, tokens/, keyboard).
 * "key" takes vim's "Enter encryption key" and its "Enter same key again". */
static const char *const secret_words[] = {"pin", "otp", "token", "key"};

void input_guard_init(struct input_guard *g)
{
	g->len = 0;
	g->unscanned = 0;
	g->pending = 0;
	g->after_secret = 0;
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

/* Whether the last line that p[0..i) ends (i > 0, p[i - 1] a line end) names a secret: the
 * tail's line too when it began before p. */
static int last_line_names_secret(const struct input_guard *g, const unsigned char *p, size_t i)
{
	struct input_guard line;
	size_t b;

	while (i > 0 && (p[i - 1] == '\n' || p[i - 1] == '\r'))
		i--;
	for (b = i; b > 0 && p[b - 1] != '\n' && p[b - 1] != '\r'; b--)
		;
	input_guard_init(&line);
	if (b == 0) {
		memcpy(line.tail, g->tail, g->len);
		line.len = g->len;
	}
	return names_secret(&line, p + b, i - b);
}

int input_guard_output(struct input_guard *g, const unsigned char *p, size_t n)
{
	size_t i = n, drop;
	int ended = 0, last = 0;

	while (i > 0 && p[i - 1] != '\n' && p[i - 1] != '\r')
		i--;
	if (i > 0) {
		/* Lines end: was one of them a secret prompt? Every one, not only the last: one
		 * write can hold the prompt and then the lines of another pane (tmux draws both
		 * at once). The caller asks the terminal whether a prompt still waits (the line
		 * ends drawn elsewhere) or the lines were a program's output. The last line is
		 * looked at first, and on its own: a prompt then waits unless output follows it
		 * (after_secret). At most three looks at each byte, and none while a prompt is
		 * held already. */
		last = !g->pending && last_line_names_secret(g, p, i);
		ended = last || (!g->pending && names_secret(g, p, i));
		g->len = g->unscanned = 0;
		p += i;
		n -= i;
	}
	/* judged when input comes, in the modes of that moment: the program may turn raw only
	 * after this read */
	g->after_secret = last && n == 0;
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
		g->pending = g->after_secret = 0; /* not a raw-mode prompt's answer, whatever was
		                                   * drawn before */
	if (lflag & ECHO)
		return 0;
	if (lflag & ICANON)
		return n; /* getpass(): a password, whatever the prompt said */
	if (!g->pending && !g->after_secret && !input_guard_is_prompt(g))
		return 0; /* a line editor or full-screen program, echoing by itself */
	cr = memchr(p, '\r', n);
	lf = memchr(p, '\n', n);
	if (cr == NULL || (lf != NULL && lf < cr))
		cr = lf;
	if (cr == NULL) {
		/* the answer goes on up to its Enter, whatever the program draws meanwhile (a '*'
		 * for each key, which would end after_secret and push the prompt out of the
		 * tail): held, as when the prompt was read after the program turned raw */
		g->pending = 1;
		return n;
	}
	/* answered. What came in the same read after the Enter was typed before the program
	 * could draw again (a paste, a password manager typing a key and its confirmation):
	 * hidden too, as doubt hides; what comes later is judged by what the program prints
	 * next */
	g->len = g->unscanned = 0;
	g->pending = g->after_secret = 0;
	return n;
}
