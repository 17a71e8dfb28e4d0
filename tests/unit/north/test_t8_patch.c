/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for service/north/t8_patch.c: the JSON Patch of a group
 * subscription's UEs, normalised to the lists sql/northbound.sql applies,
 * and every other body refused at the pointer of its first problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locguard/north/t8_patch.h"

static void test_patch_adds_or_excludes_group_ues_only(void **state)
{
    static const struct {
        const char *body;
        const char *normalised; /* NULL: refused */
        const char *param;      /* the first invalid param when refused */
    } cases[] = {
        {"[{\"op\":\"add\",\"path\":\"/excludedExternalIds\",\"value\":[\"a@x\",\"b@x\",\"a@x\"]}]",
         "{\"excludedExternalIds\": [\"a@x\", \"b@x\"]}", NULL},
        {"[{\"op\":\"replace\",\"path\":\"/addedExternalIds\",\"value\":[\"a@x\"]},"
         "{\"op\":\"add\",\"path\":\"/excludedExternalIds/-\",\"value\":\"c@x\"}]",
         "{\"addedExternalIds\": [\"a@x\"], \"excludedExternalIds\": [\"c@x\"]}", NULL},
        {"[]", NULL, ""},
        {"{}", NULL, ""},
        {"[1]", NULL, "/0"},
        {"[{\"op\":\"remove\",\"path\":\"/excludedExternalIds\"}]", NULL, "/0/op"},
        {"[{\"op\":\"jump\",\"path\":\"/excludedExternalIds\"}]", NULL, "/0/op"},
        {"[{\"path\":\"/excludedExternalIds\",\"value\":[\"a@x\"]}]", NULL, "/0/op"},
        {"[{\"op\":\"replace\",\"path\":\"/monitorExpireTime\",\"value\":\"x\"}]", NULL, "/0/path"},
        {"[{\"op\":\"replace\",\"path\":\"/excludedExternalIds/-\",\"value\":\"a@x\"}]", NULL,
         "/0/path"},
        {"[{\"op\":\"add\",\"path\":\"/excludedExternalIds\",\"value\":[]}]", NULL, "/0/value"},
        {"[{\"op\":\"add\",\"path\":\"/excludedExternalIds\",\"value\":[\"nope\"]}]", NULL,
         "/0/value/0"},
        {"[{\"op\":\"add\",\"path\":\"/addedExternalIds\",\"value\":\"a@x\"}]", NULL, "/0/value"},
    };
    (void)state;
    for (size_t i = 0; i < LG_ARRAY_SIZE(cases); i++) {
        lg_invalid_param_t inv[LG_INVALID_MAX];
        size_t n;
        const char *cause;
        json_t *out;
        int rc = lg_t8_validate_patch(cases[i].body, strlen(cases[i].body), &out, inv, &n, &cause);
        if (cases[i].normalised == NULL) {
            if (rc != LG_ERR)
                fail_msg("%s: accepted", cases[i].body);
            assert_null(out);
            if (strcmp(inv[0].param, cases[i].param) != 0)
                fail_msg("%s: param %s, expected %s", cases[i].body, inv[0].param, cases[i].param);
            continue;
        }
        if (rc != LG_OK)
            fail_msg("%s: refused (%s: %s)", cases[i].body, inv[0].param, inv[0].reason);
        char *text = json_dumps(out, JSON_SORT_KEYS);
        assert_string_equal(text, cases[i].normalised);
        free(text);
        json_decref(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch_adds_or_excludes_group_ues_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
