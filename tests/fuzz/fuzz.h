/* What every fuzz target shares: libFuzzer's entry point, and CHECK, an
 * assertion that stays on in every build (abort() is what libFuzzer reports
 * as a crash, with the input that caused it). */
#ifndef AT_TESTS_FUZZ_H
#define AT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                     \
	do {                            \
		if (!(cond))            \
			abort();        \
	} while (0)

#endif
