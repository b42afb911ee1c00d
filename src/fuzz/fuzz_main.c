/* The libFuzzer entry point, built once per target with -DFUZZ_TARGET="name" (see the
 * Makefile's fuzz section). A failed check aborts, so libFuzzer saves the input. */
#include <stdlib.h>

#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_run(FUZZ_TARGET, data, size) != 0) abort();
    return 0;
}
