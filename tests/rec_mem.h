/* Test helpers: recordings made in memory with the writer API, read back from memory. */
#ifndef TG_TEST_REC_MEM_H
#define TG_TEST_REC_MEM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_rec.h"

/* A source over a byte array; chunk > 0 caps each read (to cross buffer boundaries). */
struct mem_src {
	const unsigned char *p;
	size_t len, pos, chunk;
};

static inline ssize_t mem_read(void *ctx, void *buf, size_t n)
{
	struct mem_src *m = ctx;
	size_t k = m->len - m->pos;

	if (k > n)
		k = n;
	if (m->chunk > 0 && k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static inline void test_meta(struct tg_rec_meta *m, unsigned char fill)
{
	memset(m, 0, sizeof(*m));
	memset(m->session_id, fill, sizeof(m->session_id));
	m->user = "alice";
	m->uid = 1000;
	m->client_addr = "203.0.113.5";
	m->client_port = 51234;
	m->host = "web-1";
	m->sshd_pid = 4242;
	m->audit_session = 4240;
	m->boot_id = "0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f";
	m->start_us = 1764380000000000ULL;
	m->mode = "interactive";
	m->command = NULL;
	m->term = "xterm-256color";
	m->cols = 80;
	m->rows = 24;
	m->pam_session_id = "pam-1";
}

/* A fresh anonymous file for the writer. */
static inline int mem_fd(void)
{
	return memfd_create("tgrec", MFD_CLOEXEC);
}

/* The whole content of fd (caller frees). */
static inline unsigned char *fd_slurp(int fd, size_t *len)
{
	struct stat st;
	unsigned char *p;
	ssize_t k;
	size_t n = 0;

	if (fstat(fd, &st) != 0)
		abort();
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL)
		abort();
	while (n < (size_t)st.st_size) {
		k = pread(fd, p + n, (size_t)st.st_size - n, (off_t)n);
		if (k <= 0)
			abort();
		n += (size_t)k;
	}
	*len = n;
	return p;
}

/* Verify a byte array; returns the verdict's status (or the call's error). */
static inline int verify_mem(const unsigned char *p, size_t len, const unsigned char *pk,
                             size_t chunk, struct tg_rec_verdict *v)
{
	struct mem_src m = {p, len, 0, chunk};
	struct tg_rec_source src = {mem_read, &m};
	struct tg_rec_verdict tmp;
	int r;

	if (v == NULL)
		v = &tmp;
	r = tg_rec_verify(&src, pk, v);
	return r != TG_OK ? r : v->status;
}

#endif
