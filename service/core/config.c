/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file parser. A small INI dialect: "[section]" or
 * "[zone NAME]" headers, "key = value" lines, "#" or ";" comments. Each key
 * is described once in a table (section, name, type, where it goes), so the
 * parser, its range checks and its error messages stay in one place.
 */
#include "locguard/core/config.h"

#include "locguard/core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_INT,
    T_INT64,
    T_STR,
    T_LOGLEVEL,
    T_LOGFORMAT,
    T_ZONEKIND,
    T_LISTEN,
    T_RATIO
} key_type_t;

/* One known key: where it lives in lg_config_t (or lg_zone_config_t). */
typedef struct key_def {
    const char *section; /* "daemon", "database", "ingest" or "zone" */
    const char *name;
    key_type_t type;
    size_t offset; /* into lg_config_t, or lg_zone_config_t for section "zone" */
    int min, max;  /* for T_INT */
} key_def_t;

/*
 * Where `make install` puts migrations/ and sql/ ($(pkgdatadir)): the
 * Makefile passes it when it compiles this file.
 */
#ifndef LG_SCHEMA_DIR
#define LG_SCHEMA_DIR "/usr/local/share/locguard"
#endif

#define CFG(field) offsetof(lg_config_t, field)
#define ZONE(field) offsetof(lg_zone_config_t, field)

static const key_def_t keys[] = {
    {"daemon", "log_level", T_LOGLEVEL, CFG(log_level), 0, 0},
    {"daemon", "log_format", T_LOGFORMAT, CFG(log_format), 0, 0},
    {"daemon", "schema_dir", T_STR, CFG(schema_dir), 0, 0},
    {"daemon", "pid_file", T_STR, CFG(pid_file), 0, 0},
    {"daemon", "ready_file", T_STR, CFG(ready_file), 0, 0},
    {"database", "conninfo", T_STR, CFG(db_conninfo), 0, 0},
    {"database", "pool_size", T_INT, CFG(db_pool_size), 1, 64},
    {"database", "connect_timeout_s", T_INT, CFG(db_connect_timeout_s), 1, 300},
    {"ingest", "max_batch_reports", T_INT, CFG(max_batch_reports), 1, 10000},
    {"ingest", "max_body_bytes", T_INT, CFG(max_body_bytes), 1024, 64 << 20},
    {"ingest", "flush_max_reports", T_INT, CFG(flush_max_reports), 1, 1000000},
    {"ingest", "queue_max_reports", T_INT, CFG(queue_max_reports), 1, 10000000},
    {"ingest", "seq_window", T_INT, CFG(seq_window), 1, 1000000},
    {"ingest", "freshness_s", T_INT, CFG(freshness_s), 1, 86400},
    {"ingest", "report_max_age_s", T_INT, CFG(report_max_age_s), 1, 30 * 86400},
    {"ingest", "report_max_skew_s", T_INT, CFG(report_max_skew_s), 0, 86400},
    {"ingest", "hysteresis", T_INT, CFG(hysteresis), 1, 100},
    {"ingest", "refresh_ms", T_INT, CFG(refresh_ms), 0, 86400000},
    {"ingest", "cache_devices", T_INT, CFG(cache_devices), 0, 100000000},
    {"ingest", "retry_after_s", T_INT, CFG(retry_after_s), 1, 3600},
    {"oauth", "signing_key", T_STR, CFG(oauth_signing_key), 0, 0},
    {"oauth", "issuer", T_STR, CFG(oauth_issuer), 0, 0},
    {"oauth", "token_ttl_s", T_INT, CFG(oauth_token_ttl_s), 10, 86400},
    {"northbound", "public_url", T_STR, CFG(public_url), 0, 0},
    {"delivery", "ca_file", T_STR, CFG(delivery_ca_file), 0, 0},
    {"delivery", "retry_max_age_s", T_INT, CFG(delivery_retry_max_age_s), 1, 30 * 86400},
    {"delivery", "max_backoff_s", T_INT, CFG(delivery_max_backoff_s), 1, 86400},
    {"delivery", "concurrency_per_destination", T_INT, CFG(delivery_concurrency), 1, 1000},
    {"delivery", "timeout_s", T_INT, CFG(delivery_timeout_s), 1, 300},
    {"delivery", "lease_s", T_INT, CFG(delivery_lease_s), 1, 3600},
    {"delivery", "poll_ms", T_INT, CFG(delivery_poll_ms), 10, 60000},
    {"delivery", "idle_s", T_INT, CFG(delivery_idle_s), 0, 3600},
    {"counts", "bucket_s", T_INT, CFG(counts_bucket_s), 60, 86400},
    {"counts", "epsilon", T_RATIO, CFG(counts_eps_num), 0, 0},
    {"counts", "daily_epsilon", T_RATIO, CFG(counts_daily_eps_num), 0, 0},
    {"counts", "k", T_INT, CFG(counts_k), 1, 1000000},
    {"counts", "min_area_m2", T_INT, CFG(counts_min_area_m2), 1, 2000000000},
    {"counts", "max_area_m2", T_INT64, CFG(counts_max_area_m2), 1, 0},
    {"counts", "rate_per_minute", T_INT, CFG(counts_rate_per_minute), 1, 100000},
    {"counts", "in_memory", T_INT, CFG(counts_in_memory), 0, 1},
    {"counts", "memory_days", T_INT, CFG(counts_memory_days), 0, 366},
    {"counts", "memory_poll_ms", T_INT, CFG(counts_memory_poll_ms), 100, 3600000},
    {"counts", "audit_wait", T_INT, CFG(counts_audit_wait), 0, 1},
    {"zone", "kind", T_ZONEKIND, ZONE(kind), 0, 0},
    {"zone", "listen", T_LISTEN, 0, 0, 0},
    {"zone", "cert", T_STR, ZONE(cert_file), 0, 0},
    {"zone", "key", T_STR, ZONE(key_file), 0, 0},
    {"zone", "client_ca", T_STR, ZONE(client_ca_file), 0, 0},
    {"zone", "token_file", T_STR, ZONE(token_file), 0, 0},
};

void lg_config_defaults(lg_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LG_LOG_INFO;
    cfg->db_pool_size = 3;
    cfg->db_connect_timeout_s = 5;
    cfg->max_batch_reports = 1000;
    cfg->max_body_bytes = 1 << 20;
    cfg->flush_max_reports = 8192;
    cfg->queue_max_reports = 65536;
    cfg->seq_window = 1024;
    cfg->freshness_s = 300;
    cfg->report_max_age_s = 86400;
    cfg->report_max_skew_s = 300;
    cfg->hysteresis = 2;
    cfg->refresh_ms = 60000;
    cfg->cache_devices = 1000000;
    cfg->retry_after_s = 5;
    cfg->oauth_token_ttl_s = 300;
    cfg->delivery_retry_max_age_s = 86400;
    cfg->delivery_max_backoff_s = 600;
    cfg->delivery_concurrency = 4;
    cfg->delivery_timeout_s = 10;
    cfg->delivery_lease_s = 60;
    cfg->delivery_poll_ms = 500;
    cfg->delivery_idle_s = 30;
    cfg->counts_bucket_s = 3600;
    cfg->counts_eps_num = 1;
    cfg->counts_eps_den = 2;
    cfg->counts_daily_eps_num = 12;
    cfg->counts_daily_eps_den = 1;
    cfg->counts_k = 10;
    cfg->counts_min_area_m2 = 1000000;
    cfg->counts_max_area_m2 = 282743338823LL; /* a circle of 300 km */
    cfg->counts_rate_per_minute = 60;
    cfg->counts_in_memory = 1;
    cfg->counts_memory_days = 2;
    cfg->counts_memory_poll_ms = 1000;
}

static void set_err(char *err, size_t err_size, const char *name, int line, const char *fmt, ...)
    LG_PRINTF(5, 6);

static void set_err(char *err, size_t err_size, const char *name, int line, const char *fmt, ...)
{
    int n = snprintf(err, err_size, "%s:%d: ", name, line);
    if (n < 0 || (size_t)n >= err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

static int parse_int64(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < 1)
        return LG_ERR;
    *out = x;
    return LG_OK;
}

/* "NUM/DEN" or "NUM" with 1 <= NUM, DEN <= 1000000: an exact rational (epsilon). */
static int parse_ratio(const char *v, uint32_t out[2])
{
    char *end;
    errno = 0;
    unsigned long num = strtoul(v, &end, 10), den = 1;
    if (errno != 0 || end == v || num < 1 || num > 1000000)
        return LG_ERR;
    if (*end == '/') {
        const char *d = end + 1;
        den = strtoul(d, &end, 10);
        if (errno != 0 || end == d || den < 1 || den > 1000000)
            return LG_ERR;
    }
    if (*end != '\0')
        return LG_ERR;
    out[0] = (uint32_t)num;
    out[1] = (uint32_t)den;
    return LG_OK;
}

static int parse_int(const char *v, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < min || x > max)
        return LG_ERR;
    *out = (int)x;
    return LG_OK;
}

/* "HOST:PORT" with an optional [IPv6] host. */
static int parse_listen(const char *v, lg_zone_config_t *z)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v)
        return LG_ERR;
    const char *host = v;
    size_t host_len = (size_t)(colon - v);
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(z->host))
        return LG_ERR;
    memcpy(z->host, host, host_len);
    z->host[host_len] = '\0';
    return parse_int(colon + 1, 0, 65535, &z->port);
}

static int apply(lg_config_t *cfg, lg_zone_config_t *zone, const key_def_t *k, const char *v)
{
    char *base = zone ? (char *)zone : (char *)cfg;
    switch (k->type) {
    case T_INT:
        return parse_int(v, k->min, k->max, (int *)(void *)(base + k->offset));
    case T_INT64:
        return parse_int64(v, (int64_t *)(void *)(base + k->offset));
    case T_RATIO:
        /* The numerator field is followed by its denominator. */
        return parse_ratio(v, (uint32_t *)(void *)(base + k->offset));
    case T_STR: {
        char **slot = (char **)(void *)(base + k->offset);
        if (*v == '\0')
            return LG_ERR;
        free(*slot);
        *slot = lg_xstrdup(v);
        return LG_OK;
    }
    case T_LOGLEVEL: {
        int level = lg_log_level_parse(v);
        if (level < 0)
            return LG_ERR;
        cfg->log_level = level;
        return LG_OK;
    }
    case T_LOGFORMAT: {
        int format = lg_log_format_parse(v);
        if (format < 0)
            return LG_ERR;
        cfg->log_format = format;
        return LG_OK;
    }
    case T_ZONEKIND:
        if (strcmp(v, "southbound") == 0)
            zone->kind = LG_ZONE_SOUTHBOUND;
        else if (strcmp(v, "admin") == 0)
            zone->kind = LG_ZONE_ADMIN;
        else if (strcmp(v, "northbound") == 0)
            zone->kind = LG_ZONE_NORTHBOUND;
        else if (strcmp(v, "exposure") == 0)
            zone->kind = LG_ZONE_EXPOSURE;
        else
            return LG_ERR;
        return LG_OK;
    case T_LISTEN:
        return parse_listen(v, zone);
    }
    return LG_ERR;
}

/* Checks what a zone needs once its section is complete. */
static const char *check_zone(const lg_zone_config_t *z)
{
    if (z->kind == 0)
        return "missing \"kind\"";
    if (z->host[0] == '\0')
        return "missing \"listen\"";
    if ((z->cert_file == NULL) != (z->key_file == NULL))
        return "\"cert\" and \"key\" go together";
    if (z->kind == LG_ZONE_SOUTHBOUND && (z->cert_file == NULL || z->client_ca_file == NULL))
        return "a southbound zone needs \"cert\", \"key\" and \"client_ca\" (mutual TLS)";
    if ((z->kind == LG_ZONE_NORTHBOUND || z->kind == LG_ZONE_EXPOSURE) && z->cert_file == NULL)
        return "northbound and exposure zones need \"cert\" and \"key\" (TLS)";
    if (z->kind == LG_ZONE_ADMIN && z->cert_file == NULL && strcmp(z->host, "127.0.0.1") != 0 &&
        strcmp(z->host, "::1") != 0 && strcmp(z->host, "localhost") != 0)
        return "a plain-HTTP admin zone must listen on loopback";
    return NULL;
}

int lg_config_parse(lg_config_t *cfg, const char *text, const char *name, char *err,
                    size_t err_size)
{
    char section[64] = "";
    lg_zone_config_t *zone = NULL;
    int line_no = 0;
    const char *p = text;

    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char buf[1024];
        line_no++;
        if (len >= sizeof(buf)) {
            set_err(err, err_size, name, line_no, "line too long");
            return LG_ERR;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (eol ? 1 : 0);

        char *line = trim(buf);
        if (*line == '\0' || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (close == NULL || close[1] != '\0') {
                set_err(err, err_size, name, line_no, "bad section header");
                return LG_ERR;
            }
            *close = '\0';
            char *sec = trim(line + 1);
            if (zone != NULL) {
                const char *why = check_zone(zone);
                if (why != NULL) {
                    set_err(err, err_size, name, line_no, "zone \"%s\": %s", zone->name, why);
                    return LG_ERR;
                }
            }
            zone = NULL;
            if (strncmp(sec, "zone ", 5) == 0) {
                char *zname = trim(sec + 5);
                if (*zname == '\0' || strlen(zname) >= sizeof(zone->name)) {
                    set_err(err, err_size, name, line_no, "bad zone name");
                    return LG_ERR;
                }
                for (size_t i = 0; i < cfg->n_zones; i++) {
                    if (strcmp(cfg->zones[i].name, zname) == 0) {
                        set_err(err, err_size, name, line_no, "zone \"%s\" defined twice", zname);
                        return LG_ERR;
                    }
                }
                if (cfg->n_zones == LG_ZONES_MAX) {
                    set_err(err, err_size, name, line_no, "at most %d zones", LG_ZONES_MAX);
                    return LG_ERR;
                }
                zone = &cfg->zones[cfg->n_zones++];
                lg_strlcpy(zone->name, zname, sizeof(zone->name));
                lg_strlcpy(section, "zone", sizeof(section));
            } else if (strcmp(sec, "daemon") == 0 || strcmp(sec, "database") == 0 ||
                       strcmp(sec, "ingest") == 0 || strcmp(sec, "oauth") == 0 ||
                       strcmp(sec, "northbound") == 0 || strcmp(sec, "delivery") == 0 ||
                       strcmp(sec, "counts") == 0) {
                lg_strlcpy(section, sec, sizeof(section));
            } else {
                set_err(err, err_size, name, line_no, "unknown section [%s]", sec);
                return LG_ERR;
            }
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            set_err(err, err_size, name, line_no, "expected \"key = value\"");
            return LG_ERR;
        }
        *eq = '\0';
        char *key = trim(line);
        char *value = trim(eq + 1);
        if (section[0] == '\0') {
            set_err(err, err_size, name, line_no, "\"%s\" outside of a section", key);
            return LG_ERR;
        }
        const key_def_t *k = NULL;
        for (size_t i = 0; i < LG_ARRAY_SIZE(keys); i++)
            if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, key) == 0)
                k = &keys[i];
        if (k == NULL) {
            set_err(err, err_size, name, line_no, "unknown key \"%s\" in [%s]", key, section);
            return LG_ERR;
        }
        if (apply(cfg, zone, k, value) != LG_OK) {
            if (k->type == T_INT)
                set_err(err, err_size, name, line_no, "\"%s\" must be an integer in %d..%d", key,
                        k->min, k->max);
            else
                set_err(err, err_size, name, line_no, "bad value for \"%s\"", key);
            return LG_ERR;
        }
    }
    if (zone != NULL) {
        const char *why = check_zone(zone);
        if (why != NULL) {
            set_err(err, err_size, name, line_no, "zone \"%s\": %s", zone->name, why);
            return LG_ERR;
        }
    }
    const char *env = getenv("LOCGUARD_DATABASE");
    if (env != NULL && *env != '\0') {
        free(cfg->db_conninfo);
        cfg->db_conninfo = lg_xstrdup(env);
    }
    if (cfg->db_conninfo == NULL) {
        set_err(err, err_size, name, line_no,
                "no database: set [database] conninfo or $LOCGUARD_DATABASE");
        return LG_ERR;
    }
    for (size_t i = 0; i < cfg->n_zones; i++) {
        lg_zone_kind_t kind = cfg->zones[i].kind;
        if ((kind == LG_ZONE_NORTHBOUND || kind == LG_ZONE_EXPOSURE) &&
            (cfg->oauth_signing_key == NULL || cfg->oauth_issuer == NULL)) {
            set_err(err, err_size, name, line_no,
                    "northbound and exposure zones need [oauth] signing_key and issuer");
            return LG_ERR;
        }
        if (kind == LG_ZONE_NORTHBOUND && cfg->public_url == NULL) {
            set_err(err, err_size, name, line_no, "a northbound zone needs [northbound] public_url");
            return LG_ERR;
        }
    }
    if (cfg->schema_dir == NULL)
        cfg->schema_dir = lg_xstrdup(LG_SCHEMA_DIR);
    return LG_OK;
}

int lg_config_load(lg_config_t *cfg, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return LG_ERR;
    }
    size_t cap = 4096, len = 0;
    char *text = lg_xmalloc(cap);
    size_t n;
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap >= (1u << 20)) {
                snprintf(err, err_size, "%s: larger than 1 MiB", path);
                free(text);
                fclose(f);
                return LG_ERR;
            }
            cap *= 2;
            text = lg_xrealloc(text, cap);
        }
    }
    text[len] = '\0';
    fclose(f);
    int rc = lg_config_parse(cfg, text, path, err, err_size);
    free(text);
    return rc;
}

void lg_config_cleanup(lg_config_t *cfg)
{
    free(cfg->schema_dir);
    free(cfg->pid_file);
    free(cfg->ready_file);
    free(cfg->db_conninfo);
    free(cfg->oauth_signing_key);
    free(cfg->oauth_issuer);
    free(cfg->public_url);
    free(cfg->delivery_ca_file);
    for (size_t i = 0; i < cfg->n_zones; i++) {
        lg_zone_config_t *z = &cfg->zones[i];
        free(z->cert_file);
        free(z->key_file);
        free(z->client_ca_file);
        free(z->token_file);
    }
    memset(cfg, 0, sizeof(*cfg));
}

const char *lg_zone_kind_name(lg_zone_kind_t kind)
{
    switch (kind) {
    case LG_ZONE_SOUTHBOUND:
        return "southbound";
    case LG_ZONE_ADMIN:
        return "admin";
    case LG_ZONE_NORTHBOUND:
        return "northbound";
    case LG_ZONE_EXPOSURE:
        return "exposure";
    }
    return "?";
}
