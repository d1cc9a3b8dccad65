/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): one entry point
 * each, LLVMFuzzerTestOneInput(), built two ways. `make fuzz` links it with
 * clang's -fsanitize=fuzzer; `make check` links it with replay_main.c, which
 * feeds it every file of tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/.
 * A broken invariant is reported with FUZZ_CHECK: a message and abort(), which
 * libFuzzer saves as a crash and the replay driver turns into a failed test.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
