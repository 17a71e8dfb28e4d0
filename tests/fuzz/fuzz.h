/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the libFuzzer drivers share: the entry point libFuzzer (or
 * replay_main.c, for `make check`) calls, the fixed "now" the drivers
 * validate against, and CHECK, which aborts when a result breaks the
 * contract of the code under test (libFuzzer reports the abort).
 */
#ifndef LOCGUARD_TESTS_FUZZ_H
#define LOCGUARD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2024-05-01T12:00:00Z. */
#define FUZZ_NOW_US INT64_C(1714564800000000)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#endif
