/*
 * Scratch (recovery) codes: 8 digits, single use. Only a salted BLAKE2b hash
 * of each is kept; the state file records which hashes were used.
 */
#ifndef TGP_SCRATCH_H
#define TGP_SCRATCH_H

#include <stddef.h>

#define TGP_SCRATCH_DIGITS 8
#define TGP_SCRATCH_MAX 16 /* codes one secret may carry (GA files hold up to 10) */
#define TGP_SCRATCH_NEW 10 /* codes made at enrollment */
#define TGP_SCRATCH_HASH 32
#define TGP_SCRATCH_SALT 16

struct tgp_scratch {
	unsigned char salt[TGP_SCRATCH_SALT];
	unsigned char hash[TGP_SCRATCH_MAX][TGP_SCRATCH_HASH];
	unsigned n;
};

/* Hash one 8-digit code with s->salt into out. */
int tgp_scratch_hash(const struct tgp_scratch *s, const char *code,
                     unsigned char out[TGP_SCRATCH_HASH]);
/*
 * Fill s with n fresh codes (new salt); codes[i] gets code i as text. The
 * caller shows them once and wipes them.
 */
int tgp_scratch_generate(struct tgp_scratch *s, unsigned n, char codes[][TGP_SCRATCH_DIGITS + 1]);
/* Add one code (as text) to s, e.g. from a google-authenticator file. */
int tgp_scratch_add(struct tgp_scratch *s, const char *code);
/*
 * Index of the code matching code[0..len), or -1. Every stored hash is
 * compared (constant time each), whatever matched.
 */
int tgp_scratch_match(const struct tgp_scratch *s, const char *code, size_t len);

#endif
