/*
 * The multipart upload's resume state file (tg_s3_state_parse()): read back
 * after a crash, so whatever is on disk must be refused or make sense. A
 * state that parses has 1..TG_S3_MAX_PARTS parts that cover its size, and
 * formats to a text that parses to the same text again.
 */
#include <string.h>

#include "fuzz.h"
#include "tg_buf.h"
#include "tg_error.h"
#include "tg_s3_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_s3_mpu_state st, st2;
	struct tg_buf a = TG_BUF_VOID, b = TG_BUF_VOID;

	if (tg_s3_state_parse((const char *)data, size, &st) != TG_OK)
		return 0;
	FUZZ_CHECK(st.nparts >= 1 && st.nparts <= TG_S3_MAX_PARTS && st.parts != NULL);
	FUZZ_CHECK(st.part_size > 0 && st.key[0] != '\0');
	FUZZ_CHECK((unsigned __int128)st.nparts * st.part_size >= st.size);
	tg_buf_init(&a, TG_S3_MAX_STATE);
	tg_buf_init(&b, TG_S3_MAX_STATE);
	FUZZ_CHECK(tg_s3_state_format(&st, &a) == TG_OK);
	FUZZ_CHECK(tg_s3_state_parse((const char *)a.data, a.len, &st2) == TG_OK);
	FUZZ_CHECK(tg_s3_state_format(&st2, &b) == TG_OK);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	tg_s3_state_free(&st2);
	tg_s3_state_free(&st);
	tg_buf_free(&a);
	tg_buf_free(&b);
	return 0;
}
