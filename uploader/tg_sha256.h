/*
 * SHA-256 of request bodies (x-amz-checksum-sha256 and SigV4's payload
 * hash), from OpenSSL's libcrypto: it uses the CPU's SHA extensions (about
 * 1.4 GB/s on the test machine) where libsodium's portable code does
 * 253 MB/s, and a 1 GiB recording is hashed once per upload. SigV4's own
 * hashing and HMACs stay in libsodium (tg_sigv4.c).
 */
#ifndef TG_SHA256_H
#define TG_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* SHA-256 of len bytes of memory. TG_OK, or TG_ERR_NOMEM. */
int tg_sha256_mem(const void *p, size_t len, unsigned char out[32]);
/* SHA-256 of len bytes of fd from off (pread, constant memory). TG_OK;
 * TG_ERR_TRUNCATED when the file ends first; TG_ERR_SYSTEM (errno) on a read error. */
int tg_sha256_fd(int fd, off_t off, uint64_t len, unsigned char out[32]);

#endif
