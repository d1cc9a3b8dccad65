/*
 * tollgate-replay's terminal guard (replay_guard.c) over arbitrary recorded output, the bytes
 * the recorded user chose. The first input byte picks where the stream is cut in two writes:
 * the guard keeps state across writes, so the output and the counts must not depend on the
 * cut. Each write stays within REPLAY_GUARD_OUT_SIZE. What it lets through is text and whole
 * sequences it passes: fed through a fresh guard, it comes out unchanged, nothing withheld, and
 * it holds no 8-bit C1 control outside a character. For an 8-bit terminal (the C locale's
 * ASCII) the same stream, cut the same way, gives the same output and counts however cut, and
 * none of its bytes is 0x80..0x9f: a C1 control there wherever it is.
 */
#include <string.h>

#include "fuzz.h"
#include "replay.h"

static size_t run(const uint8_t *d, size_t n, size_t cut, unsigned char *out,
                  struct replay_guard *g, int eight_bit)
{
	size_t k;

	replay_guard_init_term(g, eight_bit);
	k = replay_guard_feed(g, out, d, cut);
	FUZZ_CHECK(k <= REPLAY_GUARD_OUT_SIZE(cut));
	k += replay_guard_feed(g, out + k, d + cut, n - cut);
	replay_guard_end(g);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct replay_guard a, b, c;
	unsigned char *x, *y, *z;
	size_t cut, nx, ny, nz, k;

	if (size < 1 || size > 64 * 1024)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	x = malloc(REPLAY_GUARD_OUT_SIZE(size) + 1);
	y = malloc(REPLAY_GUARD_OUT_SIZE(size) + 1);
	FUZZ_CHECK(x != NULL && y != NULL);
	nx = run(data, size, 0, x, &a, 1);
	ny = run(data, size, cut < size ? cut : size, y, &b, 1);
	FUZZ_CHECK(nx == ny && memcmp(x, y, nx) == 0);
	FUZZ_CHECK(replay_guard_unmapped(&a) == replay_guard_unmapped(&b));
	for (k = 0; k < REPLAY_GUARD_KINDS; k++)
		FUZZ_CHECK(replay_guard_withheld(&a, (enum replay_guard_kind)k) ==
		           replay_guard_withheld(&b, (enum replay_guard_kind)k));
	for (k = 0; k < nx; k++)
		FUZZ_CHECK(x[k] < 0x80 || x[k] > 0x9f);
	nx = run(data, size, 0, x, &a, 0);
	ny = run(data, size, cut < size ? cut : size, y, &b, 0);
	FUZZ_CHECK(nx == ny && memcmp(x, y, nx) == 0);
	for (k = 0; k < REPLAY_GUARD_KINDS; k++)
		FUZZ_CHECK(replay_guard_withheld(&a, (enum replay_guard_kind)k) ==
		           replay_guard_withheld(&b, (enum replay_guard_kind)k));
	z = malloc(REPLAY_GUARD_OUT_SIZE(nx) + 1);
	FUZZ_CHECK(z != NULL);
	nz = run(x, nx, 0, z, &c, 0);
	FUZZ_CHECK(nz == nx && memcmp(z, x, nx) == 0);
	for (k = 0; k < REPLAY_GUARD_KINDS; k++)
		FUZZ_CHECK(replay_guard_withheld(&c, (enum replay_guard_kind)k) == 0);
	free(x);
	free(y);
	free(z);
	return 0;
}
