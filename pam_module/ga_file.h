/*
 * google-authenticator's ~/.google_authenticator file, so that teams move
 * over without enrolling again:
 *   line 1      base32 secret (decoded: 10..64 bytes; spaces, tabs, dashes skipped)
 *   " OPTION    RATE_LIMIT n m [t...], WINDOW_SIZE n, DISALLOW_REUSE [t...],
 *               TOTP_AUTH, STEP_SIZE n, TIME_SKEW n (read, not applied; HOTP_COUNTER is
 *               refused: TOTP only)
 *   12345678    scratch codes, 8 digits, one a line
 * The file is read with the user's privileges, and must be a regular file
 * (opened O_NOFOLLOW) owned by the user, mode 0600 or stricter, at most 64 KiB.
 * Replay guard and rate limit stay in root's state (state.c), which the user
 * cannot edit; the file gets back only what google-authenticator keeps in it:
 * a used scratch code is removed, DISALLOW_REUSE records the last step.
 */
#ifndef TGP_GA_FILE_H
#define TGP_GA_FILE_H

#include <pwd.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>

#include "secret_store.h"
#include "tg_buf.h"

#define TGP_GA_MAX (64 * 1024)

/* time steps a DISALLOW_REUSE line lists at most (google-authenticator keeps those within its
 * window, WINDOW_SIZE <= 100); a longer list is a malformed file */
#define TGP_GA_USED_MAX 128

struct tgp_ga {
	int has_window;  /* WINDOW_SIZE given */
	unsigned window; /* steps either side, from WINDOW_SIZE n (1..100) as (n - 1) / 2 */
	int disallow_reuse;
	/* the steps DISALLOW_REUSE lists: used under google-authenticator's module, before root's
	 * replay guard knew of them (a migration), so refused here too */
	uint64_t used[TGP_GA_USED_MAX];
	unsigned nused;
	int hotp; /* HOTP_COUNTER: a counter-based file, refused (set even when parsing fails) */
	/* TIME_SKEW: the steps google-authenticator's module moves every code by, learnt from a
	 * device whose clock is off; not applied here (the replay guard counts real time) */
	int skew;
	int scratch_line[TGP_SCRATCH_MAX]; /* line number (0-based) of each scratch code */
};

/* Expand ~, ${USER} and ${HOME} in tmpl for pw into out. */
int tgp_ga_path(const char *tmpl, const struct passwd *pw, char *out, size_t outlen);

/*
 * Parse text (len bytes) into s (TOTP parameters, hashed scratch codes) and ga. A HOTP file is
 * TG_ERR_FORMAT with ga->hotp set, so that callers can say why.
 */
int tgp_ga_parse(const char *text, size_t len, struct tgp_secret *s, struct tgp_ga *ga)
    __attribute__((warn_unused_result));

/* Whether step is one ga's DISALLOW_REUSE line lists. */
int tgp_ga_step_used(const struct tgp_ga *ga, uint64_t step);

/* As tgp_ga_read (below); id (when not NULL) gets the file's fstat, the identity of what was
 * read. */
int tgp_ga_read_id(const char *path, const struct passwd *pw, struct tg_buf *text, struct stat *id)
    __attribute__((warn_unused_result));
/* lstat of path as pw's user (where root may not look: NFS with root squashed): TG_OK,
 * TG_ERR_NOT_FOUND, TG_ERR_SYSTEM (errno), or a failed switch of ids. */
int tgp_ga_stat(const char *path, const struct passwd *pw, struct stat *st)
    __attribute__((warn_unused_result));
/* Read path as pw's user with every check above into text (a secret buffer). */
int tgp_ga_read(const char *path, const struct passwd *pw, struct tg_buf *text)
    __attribute__((warn_unused_result));

/*
 * The file's new text: without line drop_line (-1: none), and with
 * DISALLOW_REUSE holding step when reuse_step is set (and the steps later than it that the line
 * listed: codes taken ahead of the clock stay refused).
 */
int tgp_ga_rewrite(const char *text, size_t len, int drop_line, uint64_t reuse_step,
                   struct tg_buf *out);

/* Replace path with text, atomically, as pw's user, keeping the mode. */
int tgp_ga_write(const char *path, const struct passwd *pw, const struct tg_buf *text);

#endif
