#include "tg_utf8.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_error.h"

/* need: the character's length from its first byte (0: not a first byte); returns how many bytes
 * fit. */
static size_t valid_prefix(const unsigned char *p, size_t len, size_t *need_out)
{
	unsigned char c = p[0];
	size_t need, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else {
		*need_out = 0;
		return 0;
	}
	/* the second byte's range rules out overlongs, surrogates and > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	*need_out = need;
	for (i = 1; i < need && i < len; i++)
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			break;
	return i;
}

int tg_utf8_seq(const unsigned char *p, size_t len)
{
	size_t need = 1, ok;

	if (p[0] < 0x80)
		return 1;
	ok = valid_prefix(p, len, &need);
	if (need == 0 || (ok < need && ok < len))
		return 0;
	return ok == need ? (int)need : -1;
}

int tg_utf8_valid(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i = 0;
	int n;

	while (i < len) {
		if ((n = tg_utf8_seq(c + i, len - i)) <= 0)
			return 0;
		i += (size_t)n;
	}
	return 1;
}

unsigned long tg_utf8_code(const unsigned char *p, size_t n)
{
	unsigned long code = p[0] & (n == 1 ? 0x7fu : 0xffu >> (n + 1));
	size_t i;

	for (i = 1; i < n; i++)
		code = (code << 6) | (p[i] & 0x3fu);
	return code;
}

size_t tg_utf8_invalid_len(const unsigned char *p, size_t len)
{
	size_t need = 0, ok = valid_prefix(p, len, &need);

	return need == 0 || ok == 0 ? 1 : ok;
}

int tg_utf8_sanitize(struct tg_buf *out, const void *p, size_t len, size_t *replaced)
{
	const unsigned char *c = p;
	size_t i = 0, run = 0, bad = 0;
	int n, r;

	while (i < len) {
		n = tg_utf8_seq(c + i, len - i);
		if (n > 0) {
			i += (size_t)n;
			run += (size_t)n;
			continue;
		}
		if ((r = tg_buf_append(out, c + i - run, run)) != TG_OK)
			return r;
		run = 0;
		if ((r = tg_buf_puts(out, TG_UTF8_REPLACEMENT)) != TG_OK)
			return r;
		bad++;
		i += tg_utf8_invalid_len(c + i, len - i);
	}
	if ((r = tg_buf_append(out, c + i - run, run)) != TG_OK)
		return r;
	if (replaced != NULL)
		*replaced = bad;
	return TG_OK;
}

int tg_utf8_reorders(unsigned long code)
{
	return code == 0x061c || code == 0x200e || code == 0x200f ||
	       (code >= 0x2028 && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

void tg_text_safe_to(char *out, const char *s)
{
	tg_text_safe_to_mode(out, s, 0);
}

void tg_text_safe_to_mode(char *out, const char *s, int ascii)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	int n;

	while (*p != '\0') {
		unsigned c = *p;

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			n = 0;
		} else if (c < 0x80) {
			n = 1;
		} else {
			/* a lead byte keeps its bytes only when they make one valid character: a
			 * continuation byte after a bad lead (\xe0\x9b) is C1 to an 8-bit terminal;
			 * the NUL ends s, so a character it cuts short is invalid */
			n = tg_utf8_seq(p, strnlen((const char *)p, 4));
		}
		if (n <= 0) {
			o += (size_t)sprintf(out + o, "\\x%02x", c);
			p++;
		} else if ((n == 2 && c == 0xc2 && p[1] <= 0x9f) || (ascii && n > 1) ||
		           (n > 1 && tg_utf8_reorders(tg_utf8_code(p, (size_t)n)))) {
			/* C1 as UTF-8; a character that reorders the line; for an 8-bit terminal
			 * any character (its bytes are Latin-1 text and C1 controls there):
			 * \uNNNN, \UNNNNNNNN past U+FFFF, at most 10 bytes for 4 */
			unsigned long code = tg_utf8_code(p, (size_t)n);

			o +=
			    (size_t)sprintf(out + o, code > 0xffff ? "\\U%08lx" : "\\u%04lx", code);
			p += n;
		} else {
			memcpy(out + o, p, (size_t)n);
			o += (size_t)n;
			p += n;
		}
	}
	out[o] = '\0';
}

int tg_locale_8bit(void)
{
	const char *now = setlocale(LC_CTYPE, NULL), *cs;
	char *was = strdup(now != NULL ? now : "C");
	int eight = 1;

	if (was == NULL)
		return 1;
	if (setlocale(LC_CTYPE, "") != NULL) {
		cs = nl_langinfo(CODESET);
		eight = strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "UTF8") != 0;
	}
	setlocale(LC_CTYPE, was);
	free(was);
	return eight;
}

char *tg_text_safe(const char *s)
{
	return tg_text_safe_mode(s, 0);
}

char *tg_text_safe_mode(const char *s, int ascii)
{
	char *out = malloc(4 * strlen(s) + 1);

	if (out != NULL)
		tg_text_safe_to_mode(out, s, ascii);
	return out;
}

json_t *tg_utf8_json(const char *s, size_t *replaced)
{
	struct tg_buf b = TG_BUF_VOID;
	json_t *j = NULL;

	tg_buf_init(&b, 3 * strlen(s) + 1);
	if (tg_utf8_sanitize(&b, s, strlen(s), replaced) == TG_OK)
		j = json_stringn((const char *)b.data, b.len);
	tg_buf_free(&b);
	return j;
}
