#include "state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secret_store.h"
#include "tg_error.h"
#include "tg_spool.h"

/*
 * The state's text: this line, then one line per fact, each starting with its keyword. A reader
 * that finds a keyword it does not know fails closed (TG_ERR_FORMAT): after a downgrade the
 * line may hold what keeps a code from being used twice (a step size, a used scratch code),
 * and a state read without it would let that code in. A later version adds what an older one
 * may safely drop (it only ever makes the older module refuse or report less, never let more
 * in) as "opt KEYWORD ...": those lines are skipped, and lost at the next write. A line that
 * must not be dropped is a new keyword; a change that older readers must not even try is a
 * new magic ("tollgate-state 2"), which they refuse.
 */
#define STATE_MAGIC "tollgate-state 1"
/*
 * After the slots, at 2 * TGP_STATE_SLOT: which sequence number is known to be on the disk,
 * written (not synced) after a successful fdatasync of it: MARK_MAGIC, the number, and the
 * number inverted (a cut or stale mark is no mark). Never synced itself: a mark that a crash
 * took only makes the next write sync first. Older versions neither read nor write it.
 */
#define MARK_MAGIC "TGSYNCED"
#define MARK_LEN 24
/* The last line of a slot written without a sync (failure counts); older readers skip it */
#define UNSYNCED_LINE "opt unsynced\n"

static int state_dir_path(const char *state_dir, char *dir, size_t len)
{
	if ((size_t)snprintf(dir, len, "%s/" TGP_STATE_SUBDIR, state_dir) >= len)
		return TG_ERR_LIMIT;
	return TG_OK;
}

static int ensure_dirs(const char *state_dir, char *dir, size_t len)
{
	int r;

	if ((r = state_dir_path(state_dir, dir, len)) != TG_OK)
		return r;
	/* state_dir itself is made by the package or tollgate-enroll, never here: missing, it is
	 * a volume not mounted or a typo, and a state made anew there would have forgotten the
	 * replay guard, the used scratch codes and the failure counts */
	if ((r = tgp_check_private_dir(state_dir)) != TG_OK)
		return r == TG_ERR_NOT_FOUND ? TG_ERR_CONFIG : r;
	if ((r = tg_mkdir_p(dir, 0700)) != TG_OK || (r = tgp_check_private_dir(dir)) != TG_OK)
		return r;
	return TG_OK;
}

/* An open state file is root's own: regular, owned by us, no bits for group or others, one
 * link (not a hard link to someone's file). */
static int state_fd_ok(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	       (st.st_mode & (S_IRWXG | S_IRWXO)) == 0 && st.st_nlink == 1;
}

/* Nothing was ever written into it (or it was cleared): its name may not be synced yet. */
static int state_empty(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && sb.st_size == 0;
}

/* The locked file is still the one under path: not removed meanwhile (by hand: rm). */
static int still_named(int fd, const char *path)
{
	struct stat held, named;

	return fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
	       held.st_ino == named.st_ino;
}

int tgp_state_lock(const char *state_dir, const char *user, struct tgp_lock *l)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct timespec pause = {0, 2 * 1000 * 1000};
	int waited = 0, r;

	l->fd = -1;
	l->seq = 0;
	l->slot = 1;
	l->other_seq = 0;
	l->synced = 0;
	l->unsynced = 0;
	if (!tgp_user_name_ok(user))
		return TG_ERR_INVALID;
	if ((r = ensure_dirs(state_dir, dir, sizeof(dir))) != TG_OK)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, user) >= sizeof(path))
		return TG_ERR_LIMIT;
	for (;;) {
		int made = 0;

		/* the file as it is (the common login: one open); a missing one is made apart,
		 * and the folder synced under the lock by whoever finds the file empty (below) */
		if ((l->fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) <
		        0 &&
		    errno == ENOENT) {
			l->fd = open(path,
			             O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
			                 O_NONBLOCK | O_NOCTTY,
			             0600);
			if (l->fd < 0 && errno == EEXIST && waited < TGP_LOCK_WAIT_MS) {
				waited += 2;
				continue; /* made by another meanwhile: open that one */
			}
			made = 1;
		}
		if (l->fd < 0)
			return errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM;
		if (!state_fd_ok(l->fd)) {
			/* opened just as it was removed (no link left): open the name again */
			int gone = !still_named(l->fd, path);

			tgp_state_unlock(l);
			if (!gone || waited >= TGP_LOCK_WAIT_MS)
				return TG_ERR_PERM;
			waited += 2;
			continue;
		}
		/* poll rather than block: a stuck holder must not hang sshd forever */
		while (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
			if ((errno != EWOULDBLOCK && errno != EINTR) ||
			    waited >= TGP_LOCK_WAIT_MS) {
				tgp_state_unlock(l);
				return TG_ERR_RETRY;
			}
			nanosleep(&pause, NULL);
			waited += 2;
		}
		/* the file was removed while we waited (by hand: rm): a
		 * lock on it no longer keeps out the logins that open the name now */
		if (still_named(l->fd, path)) {
			/* a new file's entry is synced before anything is written into it: the
			 * replay guard's fdatasync keeps no file whose name a crash may take. By
			 * whoever holds the lock on it first, its maker or a login that opened it
			 * in the few syscalls before its maker locked it: an empty file (a new one,
			 * or one cleared) gets it. On failure the file goes (under the lock: those
			 * that opened it meanwhile then open the name again) and the next lock
			 * makes it anew */
			if ((made || state_empty(l->fd)) && tg_fsync_dir(dir) != TG_OK) {
				int e = errno;

				(void)unlink(path);
				tgp_state_unlock(l);
				errno = e;
				return TG_ERR_SYSTEM;
			}
			return TG_OK;
		}
		tgp_state_unlock(l);
		if (waited >= TGP_LOCK_WAIT_MS)
			return TG_ERR_RETRY;
		waited += 2;
	}
}

int tgp_state_peek(const char *state_dir, const char *user, struct tgp_state *st)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct tgp_lock l = TGP_LOCK_VOID;
	int r;

	memset(st, 0, sizeof(*st));
	if (!tgp_user_name_ok(user))
		return TG_ERR_INVALID;
	if ((r = state_dir_path(state_dir, dir, sizeof(dir))) != TG_OK ||
	    (r = tgp_check_private_dir(state_dir)) != TG_OK ||
	    (r = tgp_check_private_dir(dir)) != TG_OK)
		return r;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, user) >= sizeof(path))
		return TG_ERR_LIMIT;
	if ((l.fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return errno == ENOENT ? TG_ERR_NOT_FOUND
		                       : (errno == ELOOP ? TG_ERR_PERM : TG_ERR_SYSTEM);
	r = state_fd_ok(l.fd) ? tgp_state_read(&l, st) : TG_ERR_PERM;
	tgp_state_unlock(&l);
	return r;
}

void tgp_state_unlock(struct tgp_lock *l)
{
	if (l->fd >= 0)
		close(l->fd); /* closing drops the flock */
	l->fd = -1;
}

/* When s (of len bytes) is an IP address: its canonical form into out (size n), and 1. */
static int addr_numeric(const char *s, size_t len, char *out, size_t n)
{
	char v6buf[256], *v6 = v6buf, *pct;
	unsigned char bin[16];

	if (inet_pton(AF_INET, s, bin) == 1) {
		(void)inet_ntop(AF_INET, bin, out, (socklen_t)n);
		return 1;
	}
	if (strchr(s, ':') == NULL || len >= sizeof(v6buf))
		return 0;
	memcpy(v6buf, s, len + 1);
	if (v6[0] == '[' && len >= 2 && v6[len - 1] == ']') {
		v6[len - 1] = '\0';
		v6++;
	}
	if ((pct = strchr(v6, '%')) != NULL)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, v6, bin) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)bin)) {
		(void)inet_ntop(AF_INET, bin + 12, out, (socklen_t)n);
	} else if (inet_ntop(AF_INET6, bin, out, (socklen_t)n) != NULL && pct != NULL &&
	           *pct != '\0' && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)bin)) {
		/* every link has its fe80::/64: the zone says which one */
		len = strlen(out);
		snprintf(out + len, n - len, "%%%s", pct);
	}
	return 1;
}

/*
 * One spelling per client, so that failures from one client add up however PAM_RHOST spells
 * it: an IPv6 address in its canonical form (lower case, zeros compressed, no brackets, and
 * no %zone but on a link-local address), an IPv4-mapped one as the IPv4 address, a name in lower
 * case without its final dot, cut to the key's cap. Into out (size n); so is anything else
 * (what is neither an address nor a name is cleaned as a name: cleaning the key changes nothing).
 */
static void addr_canonical(const char *addr, char *out, size_t n)
{
	char tmp[256];
	size_t len = strlen(addr), i;

	/* longer than any address or name: cut, and cleaned all the same (one spelling of the
	 * key it is cut to, whatever its case) */
	if (len + 1 > sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, addr, len);
	tmp[len] = '\0';
	if (addr_numeric(tmp, len, out, n))
		return;
	/* a host name (UseDNS): DNS names are the same in any case */
	for (i = 0; i < len; i++)
		if (tmp[i] >= 'A' && tmp[i] <= 'Z')
			tmp[i] = (char)(tmp[i] - 'A' + 'a');
	/* cut to the key's cap first: a cut just after a dot must not leave it final */
	if (len > TGP_ADDR_MAX - 1)
		tmp[len = TGP_ADDR_MAX - 1] = '\0';
	while (len > 1 && tmp[len - 1] == '.')
		tmp[--len] = '\0';
	/* "192.0.2.7." and "::1." are names to inet_pton(), and the address once the dot is gone:
	 * that address, so that its key cleans to itself */
	if (!addr_numeric(tmp, len, out, n))
		snprintf(out, n, "%s", tmp);
}

void tgp_addr_clean(const char *addr, char out[TGP_ADDR_MAX])
{
	char canon[256];
	size_t i, n = 0;

	addr_canonical(addr != NULL ? addr : "", canon, sizeof(canon));
	for (i = 0; canon[i] != '\0' && n < TGP_ADDR_MAX - 1; i++) {
		char c = canon[i];

		out[n++] =
		    ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '.' || c == ':' || c == '_' || c == '%' || c == '-')
		        ? c
		        : '_';
	}
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

static const unsigned char nat64_prefix[12] = {0x00, 0x64, 0xff, 0x9b};
static const unsigned char nat64_local_prefix[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
static const unsigned char siit_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};

void tgp_addr_limit_key(const char *clean, unsigned v6_prefix, char out[TGP_ADDR_MAX])
{
	unsigned char bin[16];
	char net[INET6_ADDRSTRLEN], addr[TGP_ADDR_MAX], net6[TGP_ADDR_MAX];
	const char *pct;
	unsigned i;

	snprintf(out, TGP_ADDR_MAX, "%s", clean);
	/* a link-local address with its zone: the network on that link (fe80::/64%eth0) */
	if ((pct = strchr(clean, '%')) != NULL && (size_t)(pct - clean) < sizeof(addr)) {
		memcpy(addr, clean, (size_t)(pct - clean));
		addr[pct - clean] = '\0';
		if (inet_pton(AF_INET6, addr, bin) == 1 &&
		    IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)bin)) {
			tgp_addr_limit_key(addr, v6_prefix, net6);
			snprintf(out, TGP_ADDR_MAX, "%s%s", net6, pct);
		}
		return;
	}
	/* tgp_addr_clean left IPv6 in its canonical form and IPv4-mapped as IPv4 */
	if (strchr(clean, ':') == NULL || inet_pton(AF_INET6, clean, bin) != 1)
		return;
	/* NAT64's well-known prefix (RFC 6052) holds every IPv4 client of a translator: each is
	 * its IPv4 address, not one /64 for all of them (nor a second count beside its own) */
	if (memcmp(bin, nat64_prefix, sizeof(nat64_prefix)) == 0) {
		(void)inet_ntop(AF_INET, bin + 12, out, TGP_ADDR_MAX);
		return;
	}
	/* so are those of its local-use prefix 64:ff9b:1::/48 (RFC 8215), as the translators
	 * use it: a /96 of the operator's in it, the IPv4 address in the last 32 bits (the
	 * prefix length is not in the address; where it is shorter, clients share keys: more
	 * limited, never less), and SIIT's IPv4-translated ::ffff:0:0:0/96 (RFC 7915) */
	if (memcmp(bin, nat64_local_prefix, sizeof(nat64_local_prefix)) == 0 ||
	    memcmp(bin, siit_prefix, sizeof(siit_prefix)) == 0) {
		(void)inet_ntop(AF_INET, bin + 12, out, TGP_ADDR_MAX);
		return;
	}
	/* 6to4 (2002::/16, RFC 3056): the holder of one IPv4 address holds the /48 after it, 65536
	 * /64s, each a fresh count; it is that IPv4 address */
	if (bin[0] == 0x20 && bin[1] == 0x02) {
		(void)inet_ntop(AF_INET, bin + 2, out, TGP_ADDR_MAX);
		return;
	}
	/* Teredo (2001:0::/32, RFC 4380): the /64 is the Teredo server's, shared by all of its
	 * clients; each is its own public IPv4 address, the last 32 bits inverted */
	if (bin[0] == 0x20 && bin[1] == 0x01 && bin[2] == 0 && bin[3] == 0) {
		for (i = 12; i < 16; i++)
			bin[i] = (unsigned char)~bin[i];
		(void)inet_ntop(AF_INET, bin + 12, out, TGP_ADDR_MAX);
		return;
	}
	if (v6_prefix >= 128)
		return;
	for (i = 0; i < 16; i++) {
		if (i * 8 >= v6_prefix)
			bin[i] = 0;
		else if (i * 8 + 8 > v6_prefix)
			bin[i] &= (unsigned char)(0xff00u >> (v6_prefix - i * 8));
	}
	if (inet_ntop(AF_INET6, bin, net, sizeof(net)) != NULL)
		snprintf(out, TGP_ADDR_MAX, "%s/%u", net, v6_prefix);
}

static void counter_text(char *out, size_t len, size_t *pos, const char *head,
                         const struct tgp_counter *c)
{
	if (*pos < len)
		*pos += (size_t)snprintf(out + *pos, len - *pos,
		                         "%s %" PRIu32 " %" PRId64 " %" PRId64 "\n", head,
		                         c->failures, c->last, c->locked_until);
}

int tgp_state_format(const struct tgp_state *st, char *out, size_t outlen, size_t *len)
{
	char hex[33], head[TGP_ADDR_MAX + 8];
	size_t pos = 0;
	unsigned i;

	pos +=
	    (size_t)snprintf(out, outlen, STATE_MAGIC "\nlast_step %" PRIu64 "\n", st->last_step);
	if (st->step_size != 0 && pos < outlen)
		pos += (size_t)snprintf(out + pos, outlen - pos, "step_size %u\n", st->step_size);
	for (i = 0; i < st->nused && i < TGP_STATE_USED && pos < outlen; i++) {
		sodium_bin2hex(hex, sizeof(hex), st->used[i], 16);
		pos += (size_t)snprintf(out + pos, outlen - pos, "used %s\n", hex);
	}
	counter_text(out, outlen, &pos, "user", &st->user);
	for (i = 0; i < st->naddrs && i < TGP_STATE_ADDRS; i++) {
		snprintf(head, sizeof(head), "addr %s", st->addrs[i].addr);
		counter_text(out, outlen, &pos, head, &st->addrs[i].c);
	}
	for (i = 0; i < st->ntokens && i < TGP_STATE_TOKENS && pos < outlen; i++) {
		sodium_bin2hex(hex, sizeof(hex), st->tokens[i].hash, 16);
		pos += (size_t)snprintf(out + pos, outlen - pos, "token %s %" PRId64 " %s\n", hex,
		                        st->tokens[i].issued, st->tokens[i].method);
	}
	if (pos >= outlen)
		return TG_ERR_LIMIT;
	*len = pos;
	return TG_OK;
}

static int parse_counter(const char *s, struct tgp_counter *c)
{
	char tail;

	if (sscanf(s, "%" SCNu32 " %" SCNd64 " %" SCNd64 "%c", &c->failures, &c->last,
	           &c->locked_until, &tail) != 3)
		return TG_ERR_FORMAT;
	return TG_OK;
}

int tgp_state_parse(const char *text, size_t len, struct tgp_state *st)
{
	char line[256];
	const char *p = text, *end = text + len, *nl;
	size_t n;
	int first = 1;

	memset(st, 0, sizeof(*st));
	if (memchr(text, '\0', len) != NULL)
		return TG_ERR_FORMAT;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return TG_ERR_FORMAT; /* every line ends: a cut file is corrupt */
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			return TG_ERR_FORMAT;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (first) {
			if (strcmp(line, STATE_MAGIC) != 0)
				return TG_ERR_FORMAT;
			first = 0;
		} else if (strncmp(line, "last_step ", 10) == 0) {
			char *e;

			errno = 0;
			st->last_step = strtoull(line + 10, &e, 10);
			if (errno != 0 || *e != '\0' || line[10] < '0' || line[10] > '9')
				return TG_ERR_FORMAT;
		} else if (strncmp(line, "step_size ", 10) == 0) {
			char *e;
			unsigned long v;

			errno = 0;
			v = strtoul(line + 10, &e, 10);
			if (errno != 0 || *e != '\0' || line[10] < '1' || line[10] > '9' || v > 300)
				return TG_ERR_FORMAT;
			st->step_size = (unsigned)v;
		} else if (strncmp(line, "success ", 8) == 0) {
			/* when a code was last accepted, and with what: the session line read it
			 * before the tokens came; no longer written, checked and dropped here */
			int64_t when;
			char method[8], tail;

			if (sscanf(line + 8, "%" SCNd64 " %7s%c", &when, method, &tail) != 2 ||
			    when <= 0 ||
			    (strcmp(method, "totp") != 0 && strcmp(method, "scratch") != 0))
				return TG_ERR_FORMAT;
		} else if (strncmp(line, "used ", 5) == 0) {
			size_t got = 0;

			if (st->nused >= TGP_STATE_USED ||
			    sodium_hex2bin(st->used[st->nused], 16, line + 5, strlen(line + 5),
			                   NULL, &got, NULL) != 0 ||
			    got != 16)
				return TG_ERR_FORMAT;
			st->nused++;
		} else if (strncmp(line, "user ", 5) == 0) {
			if (parse_counter(line + 5, &st->user) != TG_OK)
				return TG_ERR_FORMAT;
		} else if (strncmp(line, "addr ", 5) == 0) {
			char *sp = strchr(line + 5, ' ');
			struct tgp_addr_state *a;

			if (sp == NULL || st->naddrs >= TGP_STATE_ADDRS ||
			    (size_t)(sp - (line + 5)) >= TGP_ADDR_MAX)
				return TG_ERR_FORMAT;
			a = &st->addrs[st->naddrs];
			memcpy(a->addr, line + 5, (size_t)(sp - (line + 5)));
			a->addr[sp - (line + 5)] = '\0';
			if (parse_counter(sp + 1, &a->c) != TG_OK)
				return TG_ERR_FORMAT;
			st->naddrs++;
		} else if (strncmp(line, "token ", 6) == 0) {
			struct tgp_token *t = &st->tokens[st->ntokens];
			char hex[33], tail;
			size_t got = 0;

			if (st->ntokens >= TGP_STATE_TOKENS ||
			    sscanf(line + 6, "%32s %" SCNd64 " %7s%c", hex, &t->issued, t->method,
			           &tail) != 3 ||
			    sodium_hex2bin(t->hash, 16, hex, strlen(hex), NULL, &got, NULL) != 0 ||
			    got != 16 || t->issued <= 0 ||
			    (strcmp(t->method, "totp") != 0 && strcmp(t->method, "scratch") != 0))
				return TG_ERR_FORMAT;
			st->ntokens++;
		} else if (strncmp(line, "opt ", 4) == 0 && line[4] > ' ') {
			/* a later version's line that it marks as safe to lose: skipped here, and
			 * not written back. One exists: UNSYNCED_LINE, which tgp_state_read looks
			 * for itself; see STATE_MAGIC */
		} else {
			return TG_ERR_FORMAT;
		}
	}
	return first ? TG_ERR_FORMAT : TG_OK;
}

static void put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Checksum of a slot: its header without the checksum, then the text. */
static void slot_hash(const unsigned char *head, const unsigned char *text, size_t len,
                      unsigned char out[16])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, 16);
	crypto_generichash_update(&h, head, 16);
	crypto_generichash_update(&h, text, len);
	crypto_generichash_final(&h, out, 16);
}

/* Read one slot; its text (NUL-terminated) into text. 1 valid, 0 not. */
static int read_slot(int fd, int slot, unsigned char *buf, uint64_t *seq, size_t *len)
{
	unsigned char sum[16];
	ssize_t n;
	uint32_t l;

	n = pread(fd, buf, TGP_STATE_SLOT, (off_t)slot * TGP_STATE_SLOT);
	if (n < TGP_STATE_HEAD || memcmp(buf, "TGST", 4) != 0)
		return 0;
	l = (uint32_t)buf[12] | (uint32_t)buf[13] << 8 | (uint32_t)buf[14] << 16 |
	    (uint32_t)buf[15] << 24;
	if (l > TGP_STATE_MAX || (size_t)n < TGP_STATE_HEAD + (size_t)l)
		return 0;
	slot_hash(buf, buf + TGP_STATE_HEAD, l, sum);
	if (sodium_memcmp(sum, buf + 16, 16) != 0)
		return 0;
	*seq = get64(buf + 4);
	*len = l;
	return 1;
}

/*
 * Both slots invalid, but only because the file's very first write was cut by a crash:
 * slot 1 never written (the file ends within slot 0), and slot 0 starts as that write
 * would (its header with sequence 1, or zeros: written but never flushed). Anything else
 * is corruption.
 */
static int first_write_cut(int fd, const struct stat *sb)
{
	static const unsigned char zeros[TGP_STATE_HEAD];
	unsigned char head[TGP_STATE_HEAD];
	ssize_t n;

	if (sb->st_size > TGP_STATE_SLOT)
		return 0;
	n = pread(fd, head, sizeof(head), 0);
	if (n <= 0)
		return 0;
	if (memcmp(head, zeros, (size_t)n) == 0)
		return 1;
	return n >= 12 && memcmp(head, "TGST", 4) == 0 && get64(head + 4) == 1;
}

/* The sequence number the mark says is on the disk; 0 when there is no valid mark. */
static uint64_t read_mark(int fd)
{
	unsigned char m[MARK_LEN];
	uint64_t v;

	if (pread(fd, m, sizeof(m), 2 * (off_t)TGP_STATE_SLOT) != (ssize_t)sizeof(m) ||
	    memcmp(m, MARK_MAGIC, 8) != 0)
		return 0;
	v = get64(m + 8);
	return get64(m + 16) == ~v ? v : 0;
}

/* Mark seq as on the disk (after its fdatasync); not synced, and a failure only costs the
 * next write a sync first. */
static void write_mark(int fd, uint64_t seq)
{
	unsigned char m[MARK_LEN];

	memcpy(m, MARK_MAGIC, 8);
	put64(m + 8, seq);
	put64(m + 16, ~seq);
	if (pwrite(fd, m, sizeof(m), 2 * (off_t)TGP_STATE_SLOT) != (ssize_t)sizeof(m)) {
		/* nothing to do: without the mark the next write syncs first */
	}
}

int tgp_state_read(struct tgp_lock *l, struct tgp_state *st)
{
	unsigned char *buf[2] = {NULL, NULL};
	uint64_t seq[2] = {0, 0};
	size_t len[2] = {0, 0};
	int ok[2], best, r = TG_ERR_NOMEM;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (l->fd < 0)
		return TG_ERR_INVALID;
	if (fstat(l->fd, &sb) != 0)
		return TG_ERR_SYSTEM;
	l->other_seq = 0;
	l->synced = 0;
	l->unsynced = 0;
	if (sb.st_size == 0) {
		l->seq = 0;
		l->slot = 1; /* the first write goes to slot 0 */
		return TG_OK;
	}
	if ((buf[0] = malloc(TGP_STATE_SLOT + 1)) == NULL ||
	    (buf[1] = malloc(TGP_STATE_SLOT + 1)) == NULL)
		goto out;
	ok[0] = read_slot(l->fd, 0, buf[0], &seq[0], &len[0]);
	ok[1] = read_slot(l->fd, 1, buf[1], &seq[1], &len[1]);
	if (!ok[0] && !ok[1]) {
		if (!first_write_cut(l->fd, &sb)) {
			r = TG_ERR_FORMAT; /* corrupt: fail closed */
			goto out;
		}
		/* nothing was ever durable here: a success is synced before the module
		 * answers, so no login rests on what the crash took */
		l->seq = 0;
		l->slot = 1;
		r = TG_OK;
		goto out;
	}
	best = ok[0] && ok[1] ? (seq[1] > seq[0]) : ok[1];
	if ((r = tgp_state_parse((const char *)buf[best] + TGP_STATE_HEAD, len[best], st)) != TG_OK)
		goto out;
	l->seq = seq[best];
	l->slot = best;
	l->other_seq = ok[1 - best] ? seq[1 - best] : 0;
	l->synced = read_mark(l->fd);
	/* the line ends the text; the parse took it for a later version's and skipped it */
	l->unsynced = len[best] >= sizeof(UNSYNCED_LINE) - 1 &&
	              memcmp(buf[best] + TGP_STATE_HEAD + len[best] - (sizeof(UNSYNCED_LINE) - 1),
	                     UNSYNCED_LINE, sizeof(UNSYNCED_LINE) - 1) == 0;
out:
	free(buf[0]);
	free(buf[1]);
	return r;
}

int tgp_state_write(struct tgp_lock *l, const struct tgp_state *st, int durable)
{
	unsigned char *buf;
	size_t len;
	int slot, r;
	ssize_t n;

	if (l->fd < 0)
		return TG_ERR_INVALID;
	/*
	 * A write may be torn by a crash, so it must not go over the one slot that holds the last
	 * state known to be on the disk. The newest slot known synced (the mark names it): the
	 * older one takes the write. The newest written without a sync (it says so: failure
	 * counts) and the older one known synced: over the newest again. Anything else (a mark
	 * that lags, as the mark is not synced and a crash may take it; a success whose login
	 * died before its sync; a file of an older version): sync the newest first, then the
	 * older slot takes the write. The first write has no slot to keep.
	 */
	if (l->seq == 0 || l->synced == l->seq) {
		slot = 1 - l->slot;
	} else if (l->unsynced && l->synced != 0 && l->synced == l->other_seq) {
		slot = l->slot;
	} else {
		if (fdatasync(l->fd) != 0)
			return TG_ERR_SYSTEM;
		l->synced = l->seq;
		write_mark(l->fd, l->seq);
		slot = 1 - l->slot;
	}
	if ((buf = malloc(TGP_STATE_SLOT)) == NULL)
		return TG_ERR_NOMEM;
	if ((r = tgp_state_format(st, (char *)buf + TGP_STATE_HEAD,
	                          TGP_STATE_MAX - (sizeof(UNSYNCED_LINE) - 1), &len)) != TG_OK)
		goto out;
	if (!durable) {
		memcpy(buf + TGP_STATE_HEAD + len, UNSYNCED_LINE, sizeof(UNSYNCED_LINE) - 1);
		len += sizeof(UNSYNCED_LINE) - 1;
	}
	memcpy(buf, "TGST", 4);
	put64(buf + 4, l->seq + 1);
	buf[12] = (unsigned char)len;
	buf[13] = (unsigned char)(len >> 8);
	buf[14] = (unsigned char)(len >> 16);
	buf[15] = (unsigned char)(len >> 24);
	slot_hash(buf, buf + TGP_STATE_HEAD, len, buf + 16);
	n = pwrite(l->fd, buf, TGP_STATE_HEAD + len, (off_t)slot * TGP_STATE_SLOT);
	if (n < 0 || (size_t)n != TGP_STATE_HEAD + len) {
		r = n < 0 ? TG_ERR_SYSTEM : TG_ERR_IO;
		goto out;
	}
	if (durable && fdatasync(l->fd) != 0) {
		r = TG_ERR_SYSTEM;
		goto out;
	}
	if (slot != l->slot)
		l->other_seq = l->seq;
	l->seq++;
	l->slot = slot;
	l->unsynced = !durable;
	if (durable) {
		l->synced = l->seq;
		write_mark(l->fd, l->seq);
	}
	r = TG_OK;
out:
	free(buf);
	return r;
}

int tgp_state_clear(struct tgp_lock *l)
{
	if (l->fd < 0)
		return TG_ERR_INVALID;
	if (ftruncate(l->fd, 0) != 0 || fdatasync(l->fd) != 0)
		return TG_ERR_SYSTEM;
	l->seq = 0;
	l->slot = 1; /* the next write goes to slot 0 */
	l->other_seq = 0;
	l->synced = 0;
	l->unsynced = 0;
	return TG_OK;
}

static struct tgp_addr_state *find_addr(const struct tgp_state *st, const char *addr)
{
	unsigned i;

	for (i = 0; i < st->naddrs; i++)
		if (strcmp(st->addrs[i].addr, addr) == 0)
			return (struct tgp_addr_state *)&st->addrs[i];
	return NULL;
}

int tgp_limit_check(const struct tgp_state *st, const char *addr, time_t now)
{
	const struct tgp_addr_state *a = find_addr(st, addr);

	if (st->user.locked_until > now || (a != NULL && a->c.locked_until > now))
		return TG_ERR_RATE_LIMITED;
	return TG_OK;
}

static void count(struct tgp_counter *c, time_t now, unsigned max, unsigned lockout)
{
	/* failures are forgotten once a lockout period passes without one: typos spread over weeks
	 * never add up. Not a window from the first failure: max - 1 failures just before its end
	 * and max - 1 more just after it would be twice the limit within seconds. */
	if (c->failures == 0 || now - c->last > (time_t)lockout)
		c->failures = 0;
	c->last = now;
	if (++c->failures >= max) {
		c->locked_until = now + (time_t)lockout;
		c->failures = 0;
	}
}

void tgp_limit_fail(struct tgp_state *st, const char *addr, time_t now,
                    const struct tgp_limits *lim)
{
	struct tgp_addr_state *a = find_addr(st, addr);
	unsigned i, victim = 0;

	if (a == NULL) {
		if (st->naddrs < TGP_STATE_ADDRS) {
			a = &st->addrs[st->naddrs++];
		} else {
			/* full: reuse the entry least worth keeping: not locked out (the one whose
			 * last failure is oldest), else the lockout that ends first; never a locked
			 * one while another is not, or rotating addresses would set a locked-out
			 * client free */
			for (i = 1; i < st->naddrs; i++) {
				const struct tgp_counter *c = &st->addrs[i].c,
				                         *v = &st->addrs[victim].c;
				int cl = c->locked_until > now, vl = v->locked_until > now;

				if ((vl && !cl) || (!vl && !cl && c->last < v->last) ||
				    (vl && cl && c->locked_until < v->locked_until))
					victim = i;
			}
			a = &st->addrs[victim];
		}
		memset(a, 0, sizeof(*a));
		snprintf(a->addr, sizeof(a->addr), "%s", addr);
	}
	count(&a->c, now, lim->max_failures, lim->lockout);
	count(&st->user, now, lim->max_failures_user, lim->lockout);
}

static int counter_clock(struct tgp_counter *c, time_t now, unsigned lockout)
{
	int changed = 0;

	if (c->locked_until > (int64_t)now + (int64_t)lockout) {
		c->locked_until = (int64_t)now + (int64_t)lockout;
		changed = 1;
	}
	if (c->last > (int64_t)now) {
		c->last = (int64_t)now;
		changed = 1;
	}
	return changed;
}

int tgp_limit_clock(struct tgp_state *st, time_t now, unsigned lockout)
{
	int changed = counter_clock(&st->user, now, lockout);
	unsigned i;

	for (i = 0; i < st->naddrs && i < TGP_STATE_ADDRS; i++)
		changed |= counter_clock(&st->addrs[i].c, now, lockout);
	return changed;
}

void tgp_limit_success(struct tgp_state *st, const char *addr)
{
	struct tgp_addr_state *a = find_addr(st, addr);

	/* the user's count stays: it ages out as it would (a lockout period without a failure),
	 * or each login of the owner would hand a guesser on other addresses
	 * max_failures_user - 1 more tries */
	if (a != NULL) {
		/* drop the entry: the table only holds addresses that failed */
		*a = st->addrs[--st->naddrs];
		memset(&st->addrs[st->naddrs], 0, sizeof(st->addrs[0]));
	}
}

void tgp_limit_unfail_user(struct tgp_state *st, const struct tgp_counter *after,
                           int64_t last_before)
{
	/* the failures before it age out as they would have, from their own last one; unless
	 * the count moved since (another login's failure, even within the same second) */
	int unchanged = st->user.failures == after->failures && st->user.last == after->last &&
	                st->user.locked_until == after->locked_until;

	/* not when the count was forgotten or used up since (a lockout period passed while the
	 * owner took their time at the prompt, and a guesser's failure started it afresh): that
	 * failure is someone else's */
	if (st->user.failures > 0 && st->user.failures >= after->failures)
		st->user.failures--;
	if (unchanged)
		st->user.last = last_before;
}

int tgp_state_scratch_used(const struct tgp_state *st, const unsigned char hash[TGP_SCRATCH_HASH])
{
	unsigned i;
	int used = 0;

	for (i = 0; i < st->nused && i < TGP_STATE_USED; i++)
		used |= sodium_memcmp(st->used[i], hash, 16) == 0;
	return used;
}

void tgp_state_scratch_use(struct tgp_state *st, const unsigned char hash[TGP_SCRATCH_HASH])
{
	if (st->nused == TGP_STATE_USED) {
		memmove(st->used[0], st->used[1], sizeof(st->used[0]) * (TGP_STATE_USED - 1));
		st->nused--;
	}
	memcpy(st->used[st->nused++], hash, 16);
}

void tgp_token_hash(const unsigned char token[TGP_TOKEN_BYTES], const char *service,
                    unsigned char out[16])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, 16);
	crypto_generichash_update(&h, token, TGP_TOKEN_BYTES);
	crypto_generichash_update(&h, (const unsigned char *)service, strlen(service));
	crypto_generichash_final(&h, out, 16);
}

static int token_live(const struct tgp_token *t, time_t now)
{
	return t->issued <= (int64_t)now && (int64_t)now - t->issued <= TGP_TOKEN_TTL;
}

void tgp_state_token_add(struct tgp_state *st, const unsigned char hash[16], time_t now,
                         const char *method)
{
	unsigned i, n = 0;

	for (i = 0; i < st->ntokens && i < TGP_STATE_TOKENS; i++)
		if (token_live(&st->tokens[i], now))
			st->tokens[n++] = st->tokens[i];
	if (n == TGP_STATE_TOKENS) {
		memmove(&st->tokens[0], &st->tokens[1], sizeof(st->tokens[0]) * (n - 1));
		n--;
	}
	memset(&st->tokens[n], 0, sizeof(st->tokens[0]) * (TGP_STATE_TOKENS - n));
	memcpy(st->tokens[n].hash, hash, 16);
	st->tokens[n].issued = (int64_t)now;
	snprintf(st->tokens[n].method, sizeof(st->tokens[n].method), "%s",
	         strcmp(method, "scratch") == 0 ? "scratch" : "totp");
	st->ntokens = n + 1;
}

const char *tgp_state_token_find(const struct tgp_state *st, const unsigned char hash[16],
                                 time_t now)
{
	const char *method = NULL;
	unsigned i;

	for (i = 0; i < st->ntokens && i < TGP_STATE_TOKENS; i++)
		if (sodium_memcmp(st->tokens[i].hash, hash, 16) == 0 &&
		    token_live(&st->tokens[i], now))
			method = strcmp(st->tokens[i].method, "scratch") == 0 ? "scratch" : "totp";
	return method;
}

const char *tgp_state_token_take(struct tgp_state *st, const unsigned char hash[16], time_t now)
{
	const char *method = tgp_state_token_find(st, hash, now);
	unsigned i, n = 0;

	for (i = 0; i < st->ntokens && i < TGP_STATE_TOKENS; i++) {
		int match = sodium_memcmp(st->tokens[i].hash, hash, 16) == 0;

		if (!match && token_live(&st->tokens[i], now))
			st->tokens[n++] = st->tokens[i];
	}
	memset(&st->tokens[n], 0, sizeof(st->tokens[0]) * (TGP_STATE_TOKENS - n));
	st->ntokens = n;
	return method;
}
