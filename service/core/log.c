/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event on stderr, "TIME LEVEL [zone peer] message"
 * or, with "[daemon] log_format = json", one JSON object per line. The only
 * process-wide state in locguard is the log threshold and format, set once
 * at start-up before the event loop runs.
 */
#include "locguard/core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MSG_MAX 1024
/* A JSON line: the fields, and the message escaped (at most 6 bytes per byte, \u00XX). */
#define LOG_LINE_MAX (MSG_MAX * 6 + 512)

int lg_log_level = LG_LOG_INFO;
int lg_log_format = LG_LOG_TEXT;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const level_keys[] = {"error", "warn", "info", "debug"};

int lg_log_level_parse(const char *name)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(level_keys); i++)
        if (strcmp(name, level_keys[i]) == 0)
            return (int)i;
    return -1;
}

int lg_log_format_parse(const char *name)
{
    if (strcmp(name, "text") == 0)
        return LG_LOG_TEXT;
    if (strcmp(name, "json") == 0)
        return LG_LOG_JSON;
    return -1;
}

/* A bounded line being built: room keeps `reserve` bytes for the line's end. */
typedef struct line {
    char *buf;
    size_t size, len, reserve;
    bool is_full;
} line_t;

/* Appends n bytes whole or, when they do not fit, nothing (and marks the line full). */
static void put(line_t *l, const char *s, size_t n)
{
    if (l->is_full || l->len + n + l->reserve > l->size) {
        l->is_full = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(line_t *l, const char *s)
{
    put(l, s, strlen(s));
}

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF), or 0 when the bytes are not one.
 */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/*
 * Appends ,"key":value with value s as a JSON string, or null when s is
 * NULL. The key and the opening quote go whole or not at all; a string cut
 * short still gets its closing quote (kept free in reserve), so the line
 * stays one valid JSON object however little room there is.
 */
static void put_field(line_t *l, const char *key, const char *s)
{
    char head[32];
    snprintf(head, sizeof(head), "%s%s", key, s == NULL ? "null" : "\"");
    put(l, head, strlen(head));
    if (l->is_full || s == NULL)
        return;
    l->reserve++;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0' && !l->is_full) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            const char *named = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;
            if (named != NULL) {
                puts_(l, named);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                puts_(l, esc);
            }
            p++;
        } else if (*p < 0x80) {
            put(l, (const char *)p, 1);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                puts_(l, "\\ufffd"); /* not UTF-8: the replacement character */
                p++;
            } else {
                put(l, (const char *)p, n);
                p += n;
            }
        }
    }
    bool is_cut = l->is_full;
    l->reserve--;
    l->is_full = false;
    put(l, "\"", 1);
    l->is_full = is_cut;
}

size_t lg_log_format_line(char *buf, size_t size, int format, int64_t now_us, int level,
                          const char *zone, const char *peer, const char *msg)
{
    time_t sec = (time_t)(now_us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char ts[64];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now_us % 1000000 / 1000));
    if (level < LG_LOG_ERROR || level > LG_LOG_DEBUG)
        level = LG_LOG_ERROR;
    line_t l = {.buf = buf, .size = size, .reserve = 1}; /* the newline */

    if (format == LG_LOG_JSON) {
        char head[128];
        l.reserve = 2; /* "}" and the newline */
        snprintf(head, sizeof(head), "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_keys[level]);
        puts_(&l, head);
        put_field(&l, ",\"zone\":", zone);
        put_field(&l, ",\"peer\":", peer);
        put_field(&l, ",\"msg\":", msg);
        l.reserve = 0;
        l.is_full = false;
        put(&l, "}\n", 2);
        return l.len;
    }
    puts_(&l, ts);
    puts_(&l, " ");
    puts_(&l, level_names[level]);
    puts_(&l, " ");
    if (zone != NULL || peer != NULL) {
        char who[160];
        snprintf(who, sizeof(who), "[%s%s%s] ", zone != NULL ? zone : "-", peer != NULL ? " " : "",
                 peer != NULL ? peer : "");
        /* A peer name comes from the network: no control characters in a text line. */
        for (char *p = who; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        puts_(&l, who);
    }
    /* The message is cut to what fits; newlines in it would split the line. */
    for (const char *p = msg; *p != '\0' && l.len + l.reserve < l.size; p++)
        l.buf[l.len++] = *p == '\n' || *p == '\r' ? ' ' : *p;
    l.buf[l.len++] = '\n';
    return l.len;
}

void lg_log_write(int level, const char *zone, const char *peer, const char *fmt, ...)
{
    char msg[MSG_MAX];
    char line[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (m < 0)
        msg[0] = '\0';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t len = lg_log_format_line(line, sizeof(line), lg_log_format,
                                    (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, level, zone,
                                    peer, msg);
    /* One write per line so concurrent writers (tests, sims) do not interleave. */
    fwrite(line, 1, len, stderr);
}
