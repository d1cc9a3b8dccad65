/*
 * tollgate-replay's times (session_recorder/replay_util.c): replay_parse_time() over the text
 * of --from/--to/--idle-limit, and replay_fmt_time() of what it gives.
 *
 * Invariants: what parses is within 1000000 hours; formatted ("H:MM:SS.mmm", NUL-terminated
 * in any buffer size) it parses back to itself cut to the millisecond; and any time of fewer
 * than 1000000 hours survives format then parse, cut to the millisecond.
 */
#include <string.h>

#include "fuzz.h"
#include "replay.h"

static void round_trip(uint64_t us)
{
	char t[64];
	uint64_t back = 0;

	replay_fmt_time(t, sizeof(t), us);
	if (replay_parse_time(t, &back) != 0)
		fprintf(stderr, "%llu us: \"%s\" does not parse\n", (unsigned long long)us, t);
	FUZZ_CHECK(replay_parse_time(t, &back) == 0);
	FUZZ_CHECK(back == us - us % 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, small[8];
	uint64_t us = 0, raw = 0;
	size_t i;

	if (size > 256)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (replay_parse_time(s, &us) == 0) {
		FUZZ_CHECK(us < 1000001ULL * 3600 * 1000000);
		round_trip(us);
	}
	free(s);
	for (i = 0; i < size && i < 8; i++)
		raw = raw << 8 | data[i];
	raw %= 1000000ULL * 3600 * 1000000; /* fewer than 1000000 hours */
	round_trip(raw);
	/* a short buffer: cut, never past it */
	for (i = 1; i <= sizeof(small); i++) {
		memset(small, 'x', sizeof(small));
		replay_fmt_time(small, i, raw);
		FUZZ_CHECK(memchr(small, '\0', i) != NULL);
	}
	return 0;
}
