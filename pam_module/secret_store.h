/*
 * The central secret store: one file per user under <state_dir>/totp/,
 * owned by the module's user (root), no access for group or others, the
 * secret sealed with crypto_secretbox under the key in <state_dir>/store.key.
 * The file is only ever written by tollgate-enroll; what changes at each
 * login (last step, failures, used scratch codes) lives in state.c's files,
 * so configuration management can own the secrets without clobbering state.
 *
 * File: "TGTOTP01" | 24-byte nonce | secretbox(text), where text is lines
 *   user NAME / alg sha1 / digits 6 / step 30 / key HEX / salt HEX / scratch HEX (0..16 lines)
 * The user line binds a file to its name: a file copied to another name is refused.
 */
#ifndef TGP_SECRET_STORE_H
#define TGP_SECRET_STORE_H

#include <stddef.h>

#include "scratch.h"
#include "totp.h"

#define TGP_STORE_KEY_FILE "store.key"
#define TGP_STORE_SUBDIR "totp"
#define TGP_STORE_MAX 8192

/* One user's enrollment; lives in locked pages of its own (tgp_secret_new). */
struct tgp_secret {
	struct tgp_totp totp;
	struct tgp_scratch scratch;
};

/* Zeroed, page-aligned and locked (out of swap and core dumps); NULL on failure. */
struct tgp_secret *tgp_secret_new(void);
/* Wipe and release; safe on NULL. */
void tgp_secret_free(struct tgp_secret *s);

/* A user name safe to use as a file name: [A-Za-z0-9_.@-], 1..64, not starting with '.' or '-'. */
int tgp_user_name_ok(const char *user);

/*
 * Check that path is a folder owned by the caller's euid and not writable by
 * group or others (not a symlink). TG_ERR_NOT_FOUND when missing, TG_ERR_PERM.
 */
int tgp_check_private_dir(const char *path);

/* Read user's enrollment. TG_ERR_NOT_FOUND: not enrolled (the user's file is missing).
 * TG_ERR_CONFIG (state_dir or totp/ missing), TG_ERR_PERM, TG_ERR_FORMAT, TG_ERR_CRYPTO: fail
 * closed. */
int tgp_store_read(const char *state_dir, const char *user, struct tgp_secret *s)
    __attribute__((warn_unused_result));
/* Write (replace) user's enrollment atomically; makes the key and folders when missing. */
int tgp_store_write(const char *state_dir, const char *user, const struct tgp_secret *s);
/* Remove user's enrollment; TG_ERR_NOT_FOUND when there was none. */
int tgp_store_remove(const char *state_dir, const char *user);
/* Is user enrolled (the file exists)? */
int tgp_store_exists(const char *state_dir, const char *user);

/* Serialise / parse the sealed text (exposed for the unit tests). */
int tgp_store_seal(const unsigned char key[32], const char *user, const struct tgp_secret *s,
                   unsigned char *out, size_t outmax, size_t *outlen);
int tgp_store_open(const unsigned char key[32], const char *user, const unsigned char *in,
                   size_t inlen, struct tgp_secret *s) __attribute__((warn_unused_result));

#endif
