/*
 * Per-user login state (replay guard, used scratch codes, failure counters):
 * tgp_state_parse() over arbitrary text. A text that parses must format back
 * within TGP_STATE_MAX, and that text must parse to the same state (format,
 * parse, format is a fixed point).
 */
#include <string.h>

#include "fuzz.h"
#include "state.h"
#include "tg_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[TGP_STATE_MAX + 1], text2[TGP_STATE_MAX + 1];
	struct tgp_state st, st2;
	size_t len, len2;

	memset(&st, 0, sizeof(st));
	if (tgp_state_parse((const char *)data, size, &st) != TG_OK)
		return 0;
	FUZZ_CHECK(st.nused <= TGP_STATE_USED && st.naddrs <= TGP_STATE_ADDRS);
	FUZZ_CHECK(tgp_state_format(&st, text, sizeof(text), &len) == TG_OK);
	FUZZ_CHECK(len < sizeof(text));
	memset(&st2, 0, sizeof(st2));
	FUZZ_CHECK(tgp_state_parse(text, len, &st2) == TG_OK);
	FUZZ_CHECK(tgp_state_format(&st2, text2, sizeof(text2), &len2) == TG_OK);
	FUZZ_CHECK(len == len2 && memcmp(text, text2, len) == 0);
	return 0;
}
