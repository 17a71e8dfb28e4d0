/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr with a level, a timestamp and an optional request or
 * connection prefix. The macros test the level before evaluating their
 * arguments. Never log SUPI/IMSI, MSISDN, coordinates, tokens or secrets at
 * info level or above.
 */
#ifndef LOCGUARD_LOG_H
#define LOCGUARD_LOG_H

#include "locguard/common.h"

enum { LG_LOG_ERROR = 0, LG_LOG_WARN = 1, LG_LOG_INFO = 2, LG_LOG_DEBUG = 3 };

/* The process-wide threshold; set once at start-up from the config. */
extern int lg_log_level;

/* Parses "error", "warn", "info" or "debug"; returns -1 otherwise. */
int lg_log_level_parse(const char *name);

/* Writes one line; use the macros instead. prefix may be NULL. */
void lg_log_write(int level, const char *prefix, const char *fmt, ...) LG_PRINTF(3, 4);

#define LG_LOG(level, prefix, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= lg_log_level)                                                               \
            lg_log_write((level), (prefix), __VA_ARGS__);                                          \
    } while (0)

#define lg_error(...) LG_LOG(LG_LOG_ERROR, NULL, __VA_ARGS__)
#define lg_warn(...) LG_LOG(LG_LOG_WARN, NULL, __VA_ARGS__)
#define lg_info(...) LG_LOG(LG_LOG_INFO, NULL, __VA_ARGS__)
#define lg_debug(...) LG_LOG(LG_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
