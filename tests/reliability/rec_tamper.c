/*
 * rec-tamper: change a sealed recording in every way tamper.py asks for and
 * verify each variant in memory with the format library's verifier.
 *   rec-tamper PUBKEY FILE SEED PART PARTS [noxr]
 * For every byte offset: the byte xor 0x01, and (unless "noxr") the byte xor
 * a random value other than 0 and 0x01 (from SEED and the offset); for every
 * length 0..size-1: the file cut there. Only offsets and lengths i with
 * i % PARTS == PART are done, so that PARTS processes share the work.
 * Prints one line per kind of change:
 *   flip1|flipr|cut N detected D tampered T format F unsealed U
 * ("tampered": a signature, chain or key failure; "unsealed": intact up to a
 * checkpoint, no seal) and a line "undetected KIND OFFSET" for every variant
 * that verified as sealed and intact, whose verified prefix holds the changed
 * byte, or a cut whose verified prefix is longer than the cut. Exit 0 when
 * every variant was detected, 1 if not, 2 on a usage or I/O error.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_mem.h"
#include "tg_error.h"
#include "tg_rec.h"

struct tally {
	const char *kind;
	unsigned long n, detected, tampered, format, unsealed;
};

static int classify(struct tally *t, int st, size_t off)
{
	t->n++;
	switch (st) {
	case TG_OK:
		printf("undetected %s %zu\n", t->kind, off);
		return 0;
	case TG_ERR_UNSEALED:
		t->unsealed++;
		break;
	case TG_ERR_BAD_SIGNATURE:
	case TG_ERR_CHAIN:
	case TG_ERR_WRONG_KEY:
		t->tampered++;
		break;
	default: /* TG_ERR_FORMAT, TG_ERR_VERSION, TG_ERR_LIMIT */
		t->format++;
		break;
	}
	t->detected++;
	return 1;
}

/* A variant changed at byte off: detected when it does not verify, and its verified prefix
 * ends before that byte (an "unsealed, intact up to X" past it would vouch for the change). */
static int flipped(struct tally *t, const unsigned char *p, size_t len, const unsigned char *pk,
                   size_t off)
{
	struct tg_rec_verdict v;
	int st = verify_mem(p, len, pk, 0, &v);

	if (st != TG_OK && v.verified_bytes > off) {
		t->n++;
		printf("undetected %s %zu (verified %llu)\n", t->kind, off,
		       (unsigned long long)v.verified_bytes);
		return 0;
	}
	return classify(t, st, off);
}

static void report(const struct tally *t)
{
	printf("%s %lu detected %lu tampered %lu format %lu unsealed %lu\n", t->kind, t->n,
	       t->detected, t->tampered, t->format, t->unsealed);
}

int main(int argc, char **argv)
{
	struct tally flip1 = {"flip1", 0, 0, 0, 0, 0}, flipr = {"flipr", 0, 0, 0, 0, 0},
	             cut = {"cut", 0, 0, 0, 0, 0};
	struct tg_rec_verdict v;
	unsigned char pk[32], *p;
	unsigned long seed, part, parts;
	size_t len, i;
	int fd, st, ok = 1, xr;
	unsigned char x;
	uint64_t h;

	if (argc < 6 || argc > 7 || (argc == 7 && strcmp(argv[6], "noxr") != 0)) {
		fprintf(stderr, "usage: rec-tamper PUBKEY FILE SEED PART PARTS [noxr]\n");
		return 2;
	}
	seed = strtoul(argv[3], NULL, 10);
	part = strtoul(argv[4], NULL, 10);
	parts = strtoul(argv[5], NULL, 10);
	xr = argc == 6;
	if (parts == 0 || part >= parts) {
		fprintf(stderr, "rec-tamper: PART must be below PARTS\n");
		return 2;
	}
	if (sodium_init() < 0 || tg_key_load_public(argv[1], pk) != TG_OK) {
		fprintf(stderr, "rec-tamper: cannot load %s\n", argv[1]);
		return 2;
	}
	if ((fd = open(argv[2], O_RDONLY)) < 0) {
		perror(argv[2]);
		return 2;
	}
	p = fd_slurp(fd, &len);
	close(fd);
	/* the original must be sealed and intact, or nothing below means anything */
	if ((st = verify_mem(p, len, pk, 0, &v)) != TG_OK) {
		fprintf(stderr, "rec-tamper: %s does not verify as sealed: %s (%s)\n", argv[2],
		        tg_strerror(st), v.reason);
		return 2;
	}
	if (part == 0)
		printf("original %zu bytes, %llu records, sealed\n", len,
		       (unsigned long long)v.records);
	for (i = part; i < len; i += parts) {
		p[i] ^= 0x01;
		ok &= flipped(&flip1, p, len, pk, i);
		p[i] ^= 0x01;
		if (!xr)
			continue;
		/* splitmix64 of (seed, offset): the same value whatever PARTS is */
		h = seed * 0x9e3779b97f4a7c15ULL + i;
		do {
			h += 0x9e3779b97f4a7c15ULL;
			h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
			h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
			h ^= h >> 31;
			x = (unsigned char)h;
		} while (x == 0 || x == 0x01);
		p[i] ^= x;
		ok &= flipped(&flipr, p, len, pk, i);
		p[i] ^= x;
	}
	for (i = part; i < len; i += parts) {
		st = verify_mem(p, i, pk, 0, &v);
		if (st == TG_OK || v.verified_bytes > i) {
			printf("undetected cut %zu (verified %llu)\n", i,
			       (unsigned long long)v.verified_bytes);
			cut.n++;
			ok = 0;
			continue;
		}
		classify(&cut, st, i);
	}
	report(&flip1);
	report(&flipr);
	report(&cut);
	free(p);
	return ok ? 0 : 1;
}
