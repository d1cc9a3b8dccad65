/* A growable byte buffer with a hard cap fixed at init (see curl's dynbuf). */
#ifndef TG_BUF_H
#define TG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct tg_buf {
	unsigned char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t alloc;
	size_t max; /* len never exceeds max */
};
#define TG_BUF_VOID {NULL, 0, 0, 0}

/* Prepare an empty buffer that may hold at most max bytes. */
void tg_buf_init(struct tg_buf *b, size_t max);
/* Append len bytes; TG_ERR_LIMIT past the cap (buffer unchanged), TG_ERR_NOMEM. */
int tg_buf_append(struct tg_buf *b, const void *p, size_t len);
/* Append a NUL-terminated string. */
int tg_buf_puts(struct tg_buf *b, const char *s);
/* Append printf-formatted text. */
int tg_buf_printf(struct tg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tg_buf_vprintf(struct tg_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Ensure room for n more bytes without changing len. A block outgrown is wiped before it is
 * freed. */
int tg_buf_reserve(struct tg_buf *b, size_t n);
/* Drop the first n bytes (n <= len). */
void tg_buf_consume(struct tg_buf *b, size_t n);
/* Empty the buffer, keeping its memory. */
void tg_buf_reset(struct tg_buf *b);
/* Release memory; safe on a TG_BUF_VOID buffer and twice. */
void tg_buf_free(struct tg_buf *b);
/* Wipe the contents with sodium_memzero, then release. */
void tg_buf_free_secret(struct tg_buf *b);
/* The contents as a C string ("" when empty). */
const char *tg_buf_str(const struct tg_buf *b);

#endif
