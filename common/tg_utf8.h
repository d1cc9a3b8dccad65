/* UTF-8 checks for JSON output (headers, asciicast export). */
#ifndef TG_UTF8_H
#define TG_UTF8_H

#include <jansson.h>
#include <stddef.h>

#include "tg_buf.h"

#define TG_UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * The sequence starting at p[0] (len > 0 bytes available): its length 1..4
 * when it is one valid UTF-8 character (no overlongs, surrogates or values
 * past U+10FFFF), 0 when it is invalid, -1 when the bytes so far are a valid
 * start but len ends before the character does.
 */
int tg_utf8_seq(const unsigned char *p, size_t len);
/*
 * Where tg_utf8_seq() says 0: how many bytes make one invalid sequence (the
 * "maximal subpart" of Unicode ch. 3 / WHATWG, as Python's errors="replace"):
 * a character cut short counts once, a stray byte once.
 */
size_t tg_utf8_invalid_len(const unsigned char *p, size_t len);
/* Whether p[0..len) is UTF-8 throughout: every sequence whole and valid. */
int tg_utf8_valid(const void *p, size_t len);
/* The code point of the valid character p of n bytes (tg_utf8_seq() said n). */
unsigned long tg_utf8_code(const unsigned char *p, size_t n);
/* Whether code is a character that makes the text around it read in another order or on
 * another line than its bytes go: the bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069) and the line and paragraph separators (U+2028, U+2029). A
 * name or command holding U+202E shows "txt.kcab" as "back.txt". */
int tg_utf8_reorders(unsigned long code);
/* Append p to out with each invalid sequence replaced by one U+FFFD; *replaced counts them (may be
 * NULL). */
int tg_utf8_sanitize(struct tg_buf *out, const void *p, size_t len, size_t *replaced);
/* A JSON string of s, text that need not be UTF-8 (a name, a command, a value cut inside a
 * character): each invalid sequence becomes U+FFFD, where json_string() would refuse the whole
 * text; *replaced counts them (may be NULL). NULL when out of memory. */
json_t *tg_utf8_json(const char *s, size_t *replaced);
/*
 * A copy of s safe to print on a terminal (malloc'd; NULL when out of memory): control
 * characters but tab, DEL, C1 controls (as UTF-8, and lone 0x80..0x9f bytes, which an 8-bit
 * terminal takes as C1), the characters tg_utf8_reorders() names and invalid bytes become
 * \xNN or \uNNNN; other valid UTF-8 text is kept.
 * tollgate-replay passes all a recording or an S3 listing says through it (the recorded
 * stream itself, cat and play, is shown as it was), and tg_log every line it writes.
 */
char *tg_text_safe(const char *s);
/* The same into out, which holds at least 4 * strlen(s) + 1 bytes. */
void tg_text_safe_to(char *out, const char *s);
/* tg_text_safe() and tg_text_safe_to() for an 8-bit terminal too (ascii): each character that
 * is not ASCII, valid or not, is written as an escape (\uNNNN, \UNNNNNNNN, \xNN), as its
 * UTF-8 bytes are text and C1 controls there. */
char *tg_text_safe_mode(const char *s, int ascii);
void tg_text_safe_to_mode(char *out, const char *s, int ascii);
/* Whether the user's locale (LC_ALL, LC_CTYPE, LANG) is of a charset other than UTF-8, so that
 * a terminal is taken to be an 8-bit one (the ascii of tg_text_safe_mode); a locale that cannot
 * be set counts as one. The process's LC_CTYPE is put back as it was. */
int tg_locale_8bit(void);

#endif
