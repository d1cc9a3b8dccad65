/*
 * What changes at each login, kept apart from the secret, in root-owned
 * files under <state_dir>/state/: the last accepted time step and its length
 * (the replay guard), the used scratch codes, and failure counts per user and per client
 * address (the rate limiter).
 *
 * One lock per user (flock on <state_dir>/state/<user>, the state file itself)
 * is held from before the code is checked until after the outcome is
 * recorded, so that of N logins presenting the same code at once exactly one
 * succeeds.
 *
 * The file is never renamed (that would split the lock) but updated in place,
 * crash-safe: it has two slots of TGP_STATE_SLOT bytes, each "TGST", a 64-bit
 * sequence number, the text length and a BLAKE2b-128 of all three and the
 * text. A read takes the valid slot with the higher number. A success is
 * fdatasync'd, and then marked on the disk (a mark after the slots, not
 * synced); a failure count is not synced, and its slot says so ("opt
 * unsynced", which older readers skip). A write never goes over the slot that
 * holds the last state known to be on the disk (a success's replay guard):
 * over the older slot when the newest is marked, over the newest again when
 * it says it is unsynced and the older one is marked (failure counts after a
 * success), and otherwise after a sync of the newest (the mark, never synced,
 * may lag behind the slots). A write torn by a crash
 * leaves the other slot, so a crash never loses an answered success nor turns
 * into a corrupt file that would lock everybody out. An empty file is an
 * empty state.
 */
#ifndef TGP_STATE_H
#define TGP_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "scratch.h"

#define TGP_STATE_SUBDIR "state"
#define TGP_STATE_ADDRS 64 /* client addresses remembered per user */
#define TGP_STATE_USED 64  /* used scratch codes remembered */
#define TGP_ADDR_MAX 64
#define TGP_STATE_SLOT (16 * 1024)
#define TGP_STATE_HEAD 32
#define TGP_STATE_MAX (TGP_STATE_SLOT - TGP_STATE_HEAD) /* bytes of text */
#define TGP_LOCK_WAIT_MS 10000 /* give up (deny) after this long */
#define TGP_STATE_TOKENS 8     /* MFA tokens remembered for the session lines to come */
#define TGP_TOKEN_BYTES 16
#define TGP_TOKEN_TTL 600 /* s from auth to session (sshd's LoginGraceTime: 120 by default) */

struct tgp_counter {
	uint32_t failures;    /* counted since a lockout period without one */
	int64_t last;         /* time of the last counted failure */
	int64_t locked_until; /* refused until then */
};

struct tgp_addr_state {
	char addr[TGP_ADDR_MAX];
	struct tgp_counter c;
};

/* An auth step's word to its own login's session line: the hash of the token it handed over. */
struct tgp_token {
	unsigned char hash[16]; /* tgp_token_hash */
	int64_t issued;         /* Unix seconds */
	char method[8];         /* "totp" or "scratch" */
};

struct tgp_state {
	uint64_t last_step;                     /* highest time step accepted; 0: none */
	unsigned step_size; /* its length in seconds; 0: not known (a file written before) */
	unsigned char used[TGP_STATE_USED][16]; /* prefixes of used scratch-code hashes */
	unsigned nused;
	struct tgp_counter user;
	struct tgp_addr_state addrs[TGP_STATE_ADDRS];
	unsigned naddrs;
	struct tgp_token tokens[TGP_STATE_TOKENS]; /* oldest first */
	unsigned ntokens;
};

struct tgp_limits {
	unsigned max_failures;      /* per user and address */
	unsigned max_failures_user; /* per user, all addresses */
	unsigned lockout;           /* seconds */
};

/* An open, locked state file. */
struct tgp_lock {
	int fd;
	uint64_t seq; /* sequence number of the newest valid slot (0: none) */
	int slot;     /* which slot holds it */
	uint64_t other_seq; /* the other slot's (0: not valid) */
	uint64_t synced;    /* the sequence number the mark says is on the disk (0: none) */
	int unsynced;       /* the newest was written without a sync (it says so) */
};
/* clang-format off */
#define TGP_LOCK_VOID {.fd = -1, .slot = 1}
/* clang-format on */

/*
 * Open (create) user's state file and lock it, waiting up to
 * TGP_LOCK_WAIT_MS; makes the state/ folder when missing, but not state_dir:
 * TG_ERR_CONFIG without it (not mounted?). A file it makes has its name synced
 * in state/ before this returns (TG_ERR_SYSTEM, and the file removed, when that
 * fails); an existing one costs one open and no sync. TG_ERR_PERM when the file
 * or a folder is not root's own (or is a symlink), TG_ERR_RETRY on timeout.
 */
int tgp_state_lock(const char *state_dir, const char *user, struct tgp_lock *l)
    __attribute__((warn_unused_result));
/* Release; safe on TGP_LOCK_VOID and twice. */
void tgp_state_unlock(struct tgp_lock *l);
/*
 * Read user's state without locking it, and without making the file or its
 * folders (session open: most users have none): TG_ERR_NOT_FOUND when there
 * is none. Safe beside a writer: a slot being written fails its checksum and
 * the other is read.
 */
int tgp_state_peek(const char *state_dir, const char *user, struct tgp_state *st)
    __attribute__((warn_unused_result));

/* Read the locked state; an empty file is an empty state. TG_ERR_FORMAT: fail closed. */
int tgp_state_read(struct tgp_lock *l, struct tgp_state *st) __attribute__((warn_unused_result));
/*
 * Write the state into a slot that does not hold the last state known to be on the disk (see
 * above). durable: fdatasync before returning (a success: the replay guard and used scratch
 * codes must survive a crash), then mark it so; otherwise (failure counts only) the kernel
 * writes it back in its own time.
 */
int tgp_state_write(struct tgp_lock *l, const struct tgp_state *st, int durable)
    __attribute__((warn_unused_result));
/*
 * Empty the locked state, durably: an empty file is an empty state (tollgate-enroll starting
 * a corrupt one afresh; a write into a slot would leave the other, and may be older than it).
 */
int tgp_state_clear(struct tgp_lock *l) __attribute__((warn_unused_result));

/* Text form (exposed for the unit tests). */
int tgp_state_format(const struct tgp_state *st, char *out, size_t outlen, size_t *len);
int tgp_state_parse(const char *text, size_t len, struct tgp_state *st)
    __attribute__((warn_unused_result));

/*
 * Make addr (PAM_RHOST, may be NULL) the client's one key: an IP address in its canonical
 * form (IPv4-mapped IPv6 as IPv4, no zone but on a link-local address: fe80::1%eth0), a name
 * in lower case; then safe to store:
 * [A-Za-z0-9.:_%-], capped, "-" when empty.
 */
void tgp_addr_clean(const char *addr, char out[TGP_ADDR_MAX]);
/*
 * The rate limiter's key for a client (clean: from tgp_addr_clean): an IPv6 address stands
 * for its network of v6_prefix bits ("2001:db8:1:2::/64"), since one holder gets a whole /64
 * (or more); v6_prefix 128, IPv4 addresses and names are keyed as they are, and an address
 * of NAT64's 64:ff9b::/96 or local-use 64:ff9b:1::/48 (a /96 in it), SIIT's ::ffff:0:0:0/96,
 * 6to4's 2002::/16 or Teredo's 2001:0::/32 as the IPv4 address it carries; a link-local
 * address with its zone as its network on that link ("fe80::/64%eth0").
 */
void tgp_addr_limit_key(const char *clean, unsigned v6_prefix, char out[TGP_ADDR_MAX]);

/* TG_ERR_RATE_LIMITED when user or (user, addr) is locked out at now (addr: a key from
 * tgp_addr_limit_key, here and below). Changes nothing. */
int tgp_limit_check(const struct tgp_state *st, const char *addr, time_t now);
/*
 * Count one failure of (user, addr); may start a lockout. Each count is forgotten once a
 * lockout period passes without a failure, so no lockout period holds more failures than the
 * limit. A new address takes a free entry; with all TGP_STATE_ADDRS taken, the one least worth
 * keeping: one not locked out before one that is (the one whose last failure is oldest),
 * and of the locked ones, the one whose lockout ends first. So a client rotating addresses
 * cannot push out the entry of one that is locked out.
 */
void tgp_limit_fail(struct tgp_state *st, const char *addr, time_t now,
                    const struct tgp_limits *lim);
/*
 * A clock set back (NTP stepping a clock that ran ahead) must not stretch a lockout until it
 * catches up: no lockout ends later than lockout seconds from now, and no failure is later
 * than now. Returns 1 when it changed st (then it should be written back).
 */
int tgp_limit_clock(struct tgp_state *st, time_t now, unsigned lockout);
/* A success clears the count of (user, addr); the user's count across addresses stays, and
 * ages out as without it. */
void tgp_limit_success(struct tgp_state *st, const char *addr);
/* Take back one failure from the user's count (a failure of the same login, whose next check
 * succeeded: try_first_pass's password digits). after: the count right after that failure,
 * whose last failure time was last_before until then: that goes back too while the count is
 * still as it was then. */
void tgp_limit_unfail_user(struct tgp_state *st, const struct tgp_counter *after,
                           int64_t last_before);

/* Has the scratch code with this hash been used? Record that it has. */
int tgp_state_scratch_used(const struct tgp_state *st, const unsigned char hash[TGP_SCRATCH_HASH]);
void tgp_state_scratch_use(struct tgp_state *st, const unsigned char hash[TGP_SCRATCH_HASH]);

/*
 * MFA tokens. sshd runs keyboard-interactive auth in a child process: only the PAM
 * environment reaches the session line, and the user can add to that (pam_env.so
 * user_readenv=1). So a successful auth step hands over a random token there, and keeps in
 * root's state only the hash of it with the service's name; the session line believes a
 * method only when the token it got hashes to one kept, issued within TGP_TOKEN_TTL, and
 * takes it out of the state as it does: one session open per token.
 */
void tgp_token_hash(const unsigned char token[TGP_TOKEN_BYTES], const char *service,
                    unsigned char out[16]);
/* Keep a token's hash (the oldest one goes when all TGP_STATE_TOKENS are taken; expired
 * ones go first). */
void tgp_state_token_add(struct tgp_state *st, const unsigned char hash[16], time_t now,
                         const char *method);
/* The method ("totp" or "scratch", static) of the token with this hash issued within
 * TGP_TOKEN_TTL before now; NULL when there is none. Constant time in the hash. */
const char *tgp_state_token_find(const struct tgp_state *st, const unsigned char hash[16],
                                 time_t now);
/* As tgp_state_token_find, and the token goes out of st: a token vouches for one session
 * open only (write st back, durably, under the lock, before believing it). Also drops expired
 * tokens. Constant time in the hash. */
const char *tgp_state_token_take(struct tgp_state *st, const unsigned char hash[16], time_t now);

#endif
