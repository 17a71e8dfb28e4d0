/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr, one line per event, as text ("TIME LEVEL [zone peer]
 * message") or as one JSON object ({"ts","level","zone","peer","msg"}).
 * A line about a request names its zone and its peer, as pgbouncer's
 * slog_info(client, ...) names the connection: the node for southbound,
 * the client or SCS id for northbound and exposure, "admin" for the admin
 * zone, the connection's address while nothing better is known. The macros
 * test the level before evaluating their arguments. Never log SUPI/IMSI,
 * MSISDN, coordinates, tokens or secrets at info level or above.
 */
#ifndef LOCGUARD_LOG_H
#define LOCGUARD_LOG_H

#include "locguard/core/common.h"

enum { LG_LOG_ERROR = 0, LG_LOG_WARN = 1, LG_LOG_INFO = 2, LG_LOG_DEBUG = 3 };

/* Line formats ("[daemon] log_format"). */
enum { LG_LOG_TEXT = 0, LG_LOG_JSON = 1 };

/* The process-wide threshold and format; set once at start-up from the config. */
extern int lg_log_level;
extern int lg_log_format;

/* Parses "error", "warn", "info" or "debug"; returns -1 otherwise. */
int lg_log_level_parse(const char *name);

/* Parses "text" or "json"; returns LG_LOG_TEXT, LG_LOG_JSON or -1. */
int lg_log_format_parse(const char *name);

/*
 * Formats one line, newline included, into buf (size > 2): time now_us
 * (microseconds since the epoch), level, zone and peer (either may be NULL)
 * and the message. A message too long for buf is cut (a JSON line stays
 * valid JSON). Returns the line's length. Decision logic for tests; no I/O.
 */
size_t lg_log_format_line(char *buf, size_t size, int format, int64_t now_us, int level,
                          const char *zone, const char *peer, const char *msg);

/* Writes one line; use the macros instead. zone and peer may be NULL. */
void lg_log_write(int level, const char *zone, const char *peer, const char *fmt, ...)
    LG_PRINTF(4, 5);

#define LG_LOG(level, zone, peer, ...)                                                             \
    do {                                                                                           \
        if ((level) <= lg_log_level)                                                               \
            lg_log_write((level), (zone), (peer), __VA_ARGS__);                                    \
    } while (0)

/* Lines about the daemon itself. */
#define lg_error(...) LG_LOG(LG_LOG_ERROR, NULL, NULL, __VA_ARGS__)
#define lg_warn(...) LG_LOG(LG_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define lg_info(...) LG_LOG(LG_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define lg_debug(...) LG_LOG(LG_LOG_DEBUG, NULL, NULL, __VA_ARGS__)

/* Lines about a request or a peer of a zone. */
#define lg_zerror(zone, peer, ...) LG_LOG(LG_LOG_ERROR, (zone), (peer), __VA_ARGS__)
#define lg_zwarn(zone, peer, ...) LG_LOG(LG_LOG_WARN, (zone), (peer), __VA_ARGS__)
#define lg_zinfo(zone, peer, ...) LG_LOG(LG_LOG_INFO, (zone), (peer), __VA_ARGS__)
#define lg_zdebug(zone, peer, ...) LG_LOG(LG_LOG_DEBUG, (zone), (peer), __VA_ARGS__)

#endif
