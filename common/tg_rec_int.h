/* Internals shared by tg_rec.c (writer) and tg_rec_read.c (reader); not an API. */
#ifndef TG_REC_INT_H
#define TG_REC_INT_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_rec.h"

#define TG_REC_VARINT_MAX 10
#define TG_REC_RECHDR_MAX (1 + 2 * TG_REC_VARINT_MAX)
#define TG_REC_CP_SIGNED_LEN 57 /* index, offset, time_us, flags, chain */
#define TG_REC_CP_FINAL 0x01

/* Encode v as minimal unsigned LEB128 into p (room for 10 bytes); returns the length. */
size_t tg_rec_varint_put(unsigned char *p, uint64_t v);
/* Decode a minimal varint from p[0..avail): its length (1..10), 0 if avail ends
 * before it does, -1 if it is overlong, non-minimal or overflows 64 bits. */
int tg_rec_varint_get(const unsigned char *p, size_t avail, uint64_t *v);

void tg_rec_put_u64(unsigned char *p, uint64_t v);
uint64_t tg_rec_get_u64(const unsigned char *p);

/* H0 into h. */
void tg_rec_chain_start(unsigned char h[TG_REC_HASH_LEN]);
/* The message the host key signs to certify a session key (79 bytes). */
size_t tg_rec_session_cert_msg(unsigned char *m, const unsigned char sid[TG_REC_SESSION_ID_LEN],
                               const unsigned char session_pk[32], uint64_t start_us);
/* The message a checkpoint's signature covers, from the first 57 payload bytes (95 bytes). */
size_t tg_rec_checkpoint_msg(unsigned char *m, const unsigned char sid[TG_REC_SESSION_ID_LEN],
                             const unsigned char *signed_part);

/* At least the number of JSON values p[0..n) holds: one more than its separators and opening
 * brackets outside strings (no parse, no memory). */
size_t tg_rec_json_values_bound(const unsigned char *p, size_t n);

#define TG_REC_SESSION_CERT_MSG_MAX 96
#define TG_REC_CHECKPOINT_MSG_MAX 112

#endif
