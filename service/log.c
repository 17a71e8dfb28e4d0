/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one line per event on stderr, "TIME LEVEL [prefix] message".
 * The only process-wide state in locguard is the log threshold, set once at
 * start-up before the event loop runs.
 */
#include "locguard/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int lg_log_level = LG_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int lg_log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < LG_ARRAY_SIZE(names); i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

void lg_log_write(int level, const char *prefix, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s%s%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], prefix ? "[" : "",
                     prefix ? prefix : "", prefix ? "] " : "");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line so concurrent writers (tests, sims) do not interleave. */
    fwrite(line, 1, len, stderr);
}
