#include "tg_buf.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_error.h"

void tg_buf_init(struct tg_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

int tg_buf_reserve(struct tg_buf *b, size_t n)
{
	size_t need, nalloc;
	unsigned char *p;

	if (n > b->max || b->len > b->max - n)
		return TG_ERR_LIMIT;
	need = b->len + n + 1; /* room for the terminating NUL */
	if (need <= b->alloc)
		return TG_OK;
	nalloc = b->alloc ? b->alloc : 64;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	if (nalloc > b->max + 1)
		nalloc = b->max + 1;
	/* not realloc: it may give the old block back as it is, and a tg_buf may hold a
	 * secret (a google-authenticator file); the copy costs little at doubling sizes */
	if ((p = malloc(nalloc)) == NULL)
		return TG_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		sodium_memzero(b->data, b->alloc);
		free(b->data);
	}
	p[b->len] = '\0';
	b->data = p;
	b->alloc = nalloc;
	return TG_OK;
}

int tg_buf_append(struct tg_buf *b, const void *p, size_t len)
{
	int r;

	if ((r = tg_buf_reserve(b, len)) != TG_OK)
		return r;
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return TG_OK;
}

int tg_buf_puts(struct tg_buf *b, const char *s)
{
	return tg_buf_append(b, s, strlen(s));
}

int tg_buf_vprintf(struct tg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return TG_ERR_INVALID;
	if ((r = tg_buf_reserve(b, (size_t)n)) != TG_OK)
		return r;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return TG_OK;
}

int tg_buf_printf(struct tg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void tg_buf_consume(struct tg_buf *b, size_t n)
{
	if (n >= b->len) {
		tg_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void tg_buf_reset(struct tg_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void tg_buf_free(struct tg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void tg_buf_free_secret(struct tg_buf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->alloc);
	tg_buf_free(b);
}

const char *tg_buf_str(const struct tg_buf *b)
{
	return b->data != NULL ? (const char *)b->data : "";
}
