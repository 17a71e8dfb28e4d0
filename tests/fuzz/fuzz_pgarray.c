/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for the readers of PostgreSQL array values
 * (service/core/pgarray.c), which parse what lg_ingest returns (batch_status,
 * cache_ords, cache_ts). Reads the input with lg_pgarray_next and with
 * lg_pgarray_parse_int64 and aborts when a result breaks their contract:
 * every element fits its buffer and is NUL-terminated at its length, a NULL
 * is empty, END and MALFORMED repeat, the integer parser agrees with the
 * reader on what an array is and how many elements it has, and whatever
 * the reader accepted, written again by the literal builder, reads back to
 * the same elements. `make check` replays tests/fuzz/corpus/pgarray/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/core/pgarray.h"

#define MAX_ELEMS 256
#define ELEM_CAP  32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    static char elems[MAX_ELEMS][ELEM_CAP];
    static bool nulls[MAX_ELEMS];
    size_t n = 0;
    bool is_array = true;
    lg_pgarray_reader_t rd;

    if (lg_pgarray_open(&rd, text, size) != LG_OK)
        is_array = false;
    while (is_array) {
        char buf[ELEM_CAP];
        size_t len;
        bool is_null;
        memset(buf, 'X', sizeof buf);
        lg_pgarray_item_t item = lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null);
        if (item == LG_PGARRAY_END) {
            CHECK(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null) == LG_PGARRAY_END);
            break;
        }
        if (item == LG_PGARRAY_MALFORMED) {
            CHECK(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null) == LG_PGARRAY_MALFORMED);
            is_array = false;
            break;
        }
        CHECK(item == LG_PGARRAY_ELEM);
        CHECK(len < sizeof buf && buf[len] == '\0' && strlen(buf) == len);
        CHECK(!is_null || len == 0);
        if (n < MAX_ELEMS) {
            memcpy(elems[n], buf, len + 1);
            nulls[n] = is_null;
        }
        n++;
    }

    /* The integer parser: refuses what the reader refuses; counts what it accepts alike. */
    int64_t ints[MAX_ELEMS];
    size_t n_ints;
    if (lg_pgarray_parse_int64(text, size, ints, MAX_ELEMS, &n_ints) == LG_OK) {
        CHECK(is_array && n_ints == n);
        for (size_t i = 0; i < n_ints; i++)
            CHECK(!nulls[i]);
    }

    /* What was read, written again, reads back the same. */
    if (is_array && n <= MAX_ELEMS) {
        lg_pgarray_t a;
        lg_pgarray_init(&a);
        for (size_t i = 0; i < n; i++)
            lg_pgarray_add_str(&a, nulls[i] ? NULL : elems[i]);
        const char *lit = lg_pgarray_end(&a);
        CHECK(lg_pgarray_open(&rd, lit, strlen(lit)) == LG_OK);
        for (size_t i = 0; i < n; i++) {
            char buf[2 * ELEM_CAP];
            size_t len;
            bool is_null;
            CHECK(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null) == LG_PGARRAY_ELEM);
            CHECK(is_null == nulls[i] && strcmp(buf, elems[i]) == 0);
        }
        char buf[4];
        size_t len;
        bool is_null;
        CHECK(lg_pgarray_next(&rd, buf, sizeof buf, &len, &is_null) == LG_PGARRAY_END);
        lg_pgarray_cleanup(&a);
    }
    return 0;
}
