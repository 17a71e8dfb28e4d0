/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the log line formats (service/core/log.c): text and JSON, escaping, cutting. */
#include "locguard/core/log.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 2023-11-14T22:13:20.123456Z */
#define T_US INT64_C(1700000000123456)

static char line[8192];

static const char *fmt(int format, int level, const char *zone, const char *peer, const char *msg)
{
    size_t n = lg_log_format_line(line, sizeof(line), format, T_US, level, zone, peer, msg);
    assert_true(n < sizeof(line));
    line[n] = '\0';
    return line;
}

static void test_text_line_names_zone_and_peer(void **state)
{
    (void)state;
    assert_string_equal(fmt(LG_LOG_TEXT, LG_LOG_INFO, "southbound", "mme-1", "batch refused"),
                        "2023-11-14T22:13:20.123Z INFO [southbound mme-1] batch refused\n");
    assert_string_equal(fmt(LG_LOG_TEXT, LG_LOG_WARN, "admin", NULL, "x"),
                        "2023-11-14T22:13:20.123Z WARN [admin] x\n");
    assert_string_equal(fmt(LG_LOG_TEXT, LG_LOG_ERROR, NULL, NULL, "db[0]: lost"),
                        "2023-11-14T22:13:20.123Z ERROR db[0]: lost\n");
}

static void test_text_line_stays_one_line(void **state)
{
    (void)state;
    /* A peer or message from the network cannot start a forged line. */
    assert_string_equal(fmt(LG_LOG_TEXT, LG_LOG_INFO, "northbound", "evil\n2023 ERROR", "a\nb\rc"),
                        "2023-11-14T22:13:20.123Z INFO [northbound evil?2023 ERROR] a b c\n");
}

static void test_json_line_has_every_field(void **state)
{
    (void)state;
    assert_string_equal(fmt(LG_LOG_JSON, LG_LOG_INFO, "southbound", "mme-1", "batch refused"),
                        "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"info\","
                        "\"zone\":\"southbound\",\"peer\":\"mme-1\",\"msg\":\"batch refused\"}\n");
    assert_string_equal(fmt(LG_LOG_JSON, LG_LOG_DEBUG, NULL, NULL, "started"),
                        "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"debug\","
                        "\"zone\":null,\"peer\":null,\"msg\":\"started\"}\n");
}

static void test_json_escapes_quotes_controls_and_bad_utf8(void **state)
{
    (void)state;
    const char *out = fmt(LG_LOG_JSON, LG_LOG_WARN, "exposure", "c\"1\\",
                          "q\" b\\ n\n t\t r\r c\x01 d\x7f e\xc3\xa9 bad\xff\xc3 end");
    assert_string_equal(out, "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"warn\","
                             "\"zone\":\"exposure\",\"peer\":\"c\\\"1\\\\\","
                             "\"msg\":\"q\\\" b\\\\ n\\n t\\t r\\r c\\u0001 d\\u007f "
                             "e\xc3\xa9 bad\\ufffd\\ufffd end\"}\n");
    /* And a JSON parser reads back what was logged. */
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "peer")), "c\"1\\");
    assert_string_equal(
        json_string_value(json_object_get(j, "msg")),
        "q\" b\\ n\n t\t r\r c\x01 d\x7f e\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end");
    json_decref(j);
}

static void test_overlong_and_surrogate_utf8_are_replaced(void **state)
{
    (void)state;
    /* C0 80: an overlong NUL; ED A0 80: a UTF-16 surrogate; F4 90: beyond U+10FFFF. */
    const char *out =
        fmt(LG_LOG_JSON, LG_LOG_INFO, NULL, NULL, "a\xc0\x80 b\xed\xa0\x80 c\xf4\x90");
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    assert_non_null(msg);
    assert_null(strchr(msg, '\xc0'));
    assert_null(strstr(msg, "\xed\xa0"));
    assert_null(strstr(msg, "\xf4\x90"));
    json_decref(j);
}

/* However small the buffer, a JSON line is one whole object ending in a newline. */
static void test_cut_json_line_is_still_json(void **state)
{
    (void)state;
    char msg[3000];
    for (size_t i = 0; i < sizeof(msg) - 1; i++)
        msg[i] = i % 7 == 0 ? '"' : 'x';
    msg[sizeof(msg) - 1] = '\0';
    for (size_t size = 8; size <= 400; size += 7) {
        char buf[512];
        size_t n = lg_log_format_line(buf, size, LG_LOG_JSON, T_US, LG_LOG_INFO, "northbound",
                                      "scs-1", msg);
        assert_true(n <= size);
        assert_true(n >= 2);
        assert_memory_equal(buf + n - 2, "}\n", 2);
        buf[n] = '\0';
        if (size >= 100) {
            json_t *j = json_loads(buf, 0, NULL);
            if (j == NULL)
                fail_msg("size %zu: not JSON: %s", size, buf);
            json_decref(j);
        }
    }
}

static void test_formats_parse(void **state)
{
    (void)state;
    assert_int_equal(lg_log_format_parse("text"), LG_LOG_TEXT);
    assert_int_equal(lg_log_format_parse("json"), LG_LOG_JSON);
    assert_int_equal(lg_log_format_parse("JSON"), -1);
    assert_int_equal(lg_log_format_parse(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line_names_zone_and_peer),
        cmocka_unit_test(test_text_line_stays_one_line),
        cmocka_unit_test(test_json_line_has_every_field),
        cmocka_unit_test(test_json_escapes_quotes_controls_and_bad_utf8),
        cmocka_unit_test(test_overlong_and_surrogate_utf8_are_replaced),
        cmocka_unit_test(test_cut_json_line_is_still_json),
        cmocka_unit_test(test_formats_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
