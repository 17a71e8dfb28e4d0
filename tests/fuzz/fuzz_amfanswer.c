/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer driver for what an AMF answers to locguard's subscriptions
 * (service/south/amfsub.c): the input's first line is the Location header
 * (no newline: no Location), the rest the body of a 201 or a 200. Aborts
 * when lg_amfsub_created_uri gives a URI that could not go on a request
 * line as it is (not https, a space or a control character, too long, or
 * built from an id that is not one path segment under the API root), or
 * when a result changes from one call to the next. `make check` replays
 * tests/fuzz/corpus/amfanswer/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locguard/south/amfsub.h"

#define ROOT "https://amf1.example:8443"
#define SUBS ROOT "/namf-evts/v1/subscriptions/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    char *location = NULL;
    const char *body = in;
    size_t body_len = size;
    if (nl != NULL) {
        size_t n = (size_t)(nl - in);
        location = malloc(n + 1);
        CHECK(location != NULL);
        memcpy(location, in, n);
        location[n] = '\0';
        body = nl + 1;
        body_len = size - n - 1;
    }
    /* The body is not NUL-terminated: a copy of exactly body_len bytes lets ASan see overreads. */
    char *copy = malloc(body_len > 0 ? body_len : 1);
    CHECK(copy != NULL);
    memcpy(copy, body, body_len);

    char *uri = lg_amfsub_created_uri(ROOT, location, copy, body_len);
    if (uri != NULL) {
        size_t n = strlen(uri);
        CHECK(n < LG_AMFSUB_URI_MAX && strncmp(uri, "https://", 8) == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(uri[i] > 0x20 && uri[i] < 0x7f);
        bool from_location = location != NULL && strcmp(uri, location) == 0;
        if (!from_location) {
            /* Built from subscriptionId: one segment, no '%', '/', '?' or '#'. */
            CHECK(strncmp(uri, SUBS, strlen(SUBS)) == 0);
            CHECK(n > strlen(SUBS) && strpbrk(uri + strlen(SUBS), "%/?#") == NULL);
        }
        char *again = lg_amfsub_created_uri(ROOT, location, copy, body_len);
        CHECK(again != NULL && strcmp(again, uri) == 0);
        free(again);
        free(uri);
    }
    int64_t e1 = lg_amfsub_granted_expiry(copy, body_len, -1);
    int64_t e2 = lg_amfsub_granted_expiry(copy, body_len, -2);
    /* The fallback comes back only when the body grants nothing. */
    CHECK(e1 == e2 || (e1 == -1 && e2 == -2));
    free(copy);
    free(location);
    return 0;
}
