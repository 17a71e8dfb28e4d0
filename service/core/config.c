/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file parser. A small INI dialect: "[section]" or
 * "[zone NAME]" headers, "key = value" lines, "#" or ";" comments. Each key
 * is described once in a table (section, name, type, the field of the
 * module's settings struct it fills, range, default), so the parser, its
 * range checks, its error messages and the defaults stay in one place.
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
    T_BOOL,
    T_STR,
    T_LOGLEVEL,
    T_LOGFORMAT,
    T_ZONEKIND,
    T_LISTEN,
    T_RATIO,
    T_MECHANISM,
    T_DIA_LISTEN,      /* [diameter] listen: HOST:PORT into lg_diameter_config_t */
    T_DIA_PEER,        /* [diameter] peer: "IDENTITY NODE", once per peer */
    T_DIA_HSS_CONNECT, /* [diameter] hss_connect: HOST:PORT of the HSS */
    T_AMF_PEER         /* [amf] peer: "NODE APIROOT", once per AMF */
} key_type_t;

/* One known key: where it lives in lg_config_t (or lg_zone_config_t), its range and default. */
typedef struct key_def {
    const char *section; /* "daemon", "database", "ingest", ... or "zone" */
    const char *name;
    key_type_t type;
    size_t offset;   /* into lg_config_t, or lg_zone_config_t for section "zone" */
    int min, max;    /* for T_INT and T_BOOL */
    const char *def; /* the default, as it would be written in the file; NULL = none, or set
                        by the module's *_defaults function (lg_notifier_config_defaults) */
} key_def_t;

/*
 * Where `make install` puts migrations/ and sql/ ($(pkgdatadir)): the
 * Makefile passes it when it compiles this file.
 */
#ifndef LG_SCHEMA_DIR
#define LG_SCHEMA_DIR "/usr/local/share/locguard"
#endif

#define CFG(field)  offsetof(lg_config_t, field)
#define ZONE(field) offsetof(lg_zone_config_t, field)

/* T_RATIO writes the numerator, then the denominator right after it. */
_Static_assert(offsetof(lg_release_config_t, eps_den) ==
                   offsetof(lg_release_config_t, eps_num) + sizeof(uint32_t),
               "epsilon: numerator then denominator");
_Static_assert(offsetof(lg_release_config_t, daily_eps_den) ==
                   offsetof(lg_release_config_t, daily_eps_num) + sizeof(uint32_t),
               "daily epsilon: numerator then denominator");
_Static_assert(offsetof(lg_continual_config_t, eps_den) ==
                   offsetof(lg_continual_config_t, eps_num) + sizeof(uint32_t),
               "lifetime epsilon: numerator then denominator");
/* T_INT writes an int: the continual counter's counts are 32-bit unsigned (ranges below). */
_Static_assert(sizeof(((lg_continual_config_t *)0)->branching) == sizeof(int),
               "T_INT into a uint32_t field");

/* Every key, with its range and its default: README.md "Configuration" is this table. */
static const key_def_t keys[] = {
    {"daemon", "log_level", T_LOGLEVEL, CFG(daemon.log_level), 0, 0, "info"},
    {"daemon", "log_format", T_LOGFORMAT, CFG(daemon.log_format), 0, 0, "text"},
    {"daemon", "schema_dir", T_STR, CFG(daemon.schema_dir), 0, 0, LG_SCHEMA_DIR},
    {"daemon", "pid_file", T_STR, CFG(daemon.pid_file), 0, 0, NULL},
    {"daemon", "ready_file", T_STR, CFG(daemon.ready_file), 0, 0, NULL},
    {"database", "conninfo", T_STR, CFG(db.conninfo), 0, 0, NULL},
    {"database", "pool_size", T_INT, CFG(db.pool_size), 1, 64, "3"},
    {"database", "connect_timeout_s", T_INT, CFG(db.connect_timeout_s), 1, 300, "5"},
    {"ingest", "max_batch_reports", T_INT, CFG(southbound.max_batch_reports), 1, 10000, "1000"},
    {"ingest", "max_body_bytes", T_INT, CFG(daemon.max_body_bytes), 1024, 64 << 20, "1048576"},
    {"ingest", "flush_max_reports", T_INT, CFG(ingest.flush_max_reports), 1, 1000000, "8192"},
    {"ingest", "parallel_min_reports", T_INT, CFG(ingest.parallel_min_reports), 0, 1000000,
     "256"},
    {"ingest", "queue_max_reports", T_INT, CFG(ingest.queue_max_reports), 1, 10000000, "65536"},
    {"ingest", "seq_window", T_INT, CFG(ingest.seq_window), 1, 1000000, "1024"},
    {"ingest", "freshness_s", T_INT, CFG(southbound.freshness_s), 1, 86400, "300"},
    {"ingest", "report_max_age_s", T_INT, CFG(southbound.report_max_age_s), 1, 30 * 86400,
     "86400"},
    {"ingest", "report_max_skew_s", T_INT, CFG(southbound.report_max_skew_s), 0, 86400, "300"},
    {"ingest", "hysteresis", T_INT, CFG(ingest.hysteresis), 1, 100, "2"},
    {"ingest", "refresh_ms", T_INT, CFG(ingest.refresh_ms), 0, 86400000, "60000"},
    {"ingest", "cache_devices", T_INT, CFG(ingest.cache_devices), 0, 100000000, "1000000"},
    {"ingest", "retry_after_s", T_INT, CFG(southbound.retry_after_s), 1, 3600, "5"},
    {"ingest", "message_window_s", T_INT, CFG(ingest.msg_window_s), 60, 86400, "600"},
    {"oauth", "signing_key", T_STR, CFG(oauth.signing_key), 0, 0, NULL},
    {"oauth", "issuer", T_STR, CFG(oauth.issuer), 0, 0, NULL},
    {"oauth", "token_ttl_s", T_INT, CFG(oauth.token_ttl_s), 10, 86400, "300"},
    {"northbound", "public_url", T_STR, CFG(public_url), 0, 0, NULL},
    /* [delivery]'s defaults are lg_notifier_config_defaults'. */
    {"delivery", "ca_file", T_STR, CFG(delivery.ca_file), 0, 0, NULL},
    {"delivery", "retry_max_age_s", T_INT, CFG(delivery.retry_max_age_s), 1, 30 * 86400, NULL},
    {"delivery", "max_backoff_s", T_INT, CFG(delivery.max_backoff_s), 1, 86400, NULL},
    {"delivery", "concurrency_per_destination", T_INT, CFG(delivery.concurrency_per_destination),
     1, 1000, NULL},
    {"delivery", "timeout_s", T_INT, CFG(delivery.timeout_s), 1, 300, NULL},
    {"delivery", "lease_s", T_INT, CFG(delivery.lease_s), 1, 3600, NULL},
    {"delivery", "poll_ms", T_INT, CFG(delivery.poll_ms), 10, 60000, NULL},
    {"delivery", "idle_s", T_INT, CFG(delivery.idle_s), 0, 3600, NULL},
    {"counts", "bucket_s", T_INT, CFG(release.bucket_s), 60, 86400, "3600"},
    {"counts", "mechanism", T_MECHANISM, CFG(release.mechanism), 0, 0, "continual"},
    {"counts", "lifetime_epsilon", T_RATIO, CFG(release.continual.eps_num), 0, 0, "10"},
    {"counts", "branching", T_INT, CFG(release.continual.branching), 2, 64, "32"},
    {"counts", "changes_per_day", T_INT, CFG(release.continual.moves_per_day), 1, 1000, "1"},
    {"counts", "moves_per_horizon", T_INT, CFG(release.continual.moves_lifetime), 0, 1 << 20,
     "0"},
    {"counts", "presence_s", T_INT, CFG(release.presence_s), 3600, 366 * 86400, "604800"},
    {"counts", "epsilon", T_RATIO, CFG(release.eps_num), 0, 0, "1/2"},
    {"counts", "daily_epsilon", T_RATIO, CFG(release.daily_eps_num), 0, 0, "12"},
    {"counts", "k", T_INT, CFG(exposure.k), 1, 1000000, "10"},
    {"counts", "min_area_m2", T_INT, CFG(exposure.min_area_m2), 1, 2000000000, "1000000"},
    /* a circle of 300 km */
    {"counts", "max_area_m2", T_INT64, CFG(exposure.max_area_m2), 1, 0, "282743338823"},
    {"counts", "rate_per_minute", T_INT, CFG(exposure.rate_per_minute), 1, 100000, "60"},
    {"counts", "in_memory", T_BOOL, CFG(exposure.is_in_memory), 0, 1, "1"},
    {"counts", "memory_days", T_INT, CFG(countmap.keep_days), 0, 366, "2"},
    {"counts", "memory_poll_ms", T_INT, CFG(countmap.poll_ms), 100, 3600000, "1000"},
    {"counts", "audit_wait", T_BOOL, CFG(exposure.is_audit_wait), 0, 1, "0"},
    /* [diameter]: the T6a/T6b zone (service/diameter/diameter.c); no identity, no zone. */
    {"diameter", "identity", T_STR, CFG(diameter.identity), 0, 0, NULL},
    {"diameter", "realm", T_STR, CFG(diameter.realm), 0, 0, NULL},
    {"diameter", "listen", T_DIA_LISTEN, 0, 0, 0, NULL},
    {"diameter", "cert", T_STR, CFG(diameter.cert_file), 0, 0, NULL},
    {"diameter", "key", T_STR, CFG(diameter.key_file), 0, 0, NULL},
    {"diameter", "ca", T_STR, CFG(diameter.ca_file), 0, 0, NULL},
    {"diameter", "plain_tcp", T_BOOL, CFG(diameter.is_plain_tcp), 0, 1, "0"},
    {"diameter", "queue_max", T_INT, CFG(diameter.queue_max), 1, 1000000, "10000"},
    {"diameter", "tc_timer_s", T_INT, CFG(diameter.tc_timer_s), 1, 3600, "30"},
    {"diameter", "watchdog_s", T_INT, CFG(diameter.tw_timer_s), 6, 3600, "30"},
    {"diameter", "work_dir", T_STR, CFG(diameter.work_dir), 0, 0, NULL},
    {"diameter", "peer", T_DIA_PEER, 0, 0, 0, NULL},
    /* The HSS, for S6t (service/diameter/s6t.c); no hss, no monitoring configuration. */
    {"diameter", "hss", T_STR, CFG(diameter.hss), 0, 0, NULL},
    {"diameter", "hss_realm", T_STR, CFG(diameter.hss_realm), 0, 0, NULL},
    {"diameter", "hss_connect", T_DIA_HSS_CONNECT, 0, 0, 0, NULL},
    {"diameter", "hss_sync_s", T_INT, CFG(diameter.hss_sync_s), 1, 86400, "60"},
    {"diameter", "hss_retry_s", T_INT, CFG(diameter.hss_retry_s), 1, 86400, "30"},
    {"diameter", "hss_timeout_s", T_INT, CFG(diameter.hss_timeout_s), 1, 600, "10"},
    /* [amf]: the Namf_EventExposure client (service/south/amfsub.c); no peer, no client. */
    {"amf", "peer", T_AMF_PEER, 0, 0, 0, NULL},
    {"amf", "notify_uri", T_STR, CFG(amf.notify_uri), 0, 0, NULL},
    {"amf", "nf_id", T_STR, CFG(amf.nf_id), 0, 0, NULL},
    {"amf", "cert", T_STR, CFG(amf.cert_file), 0, 0, NULL},
    {"amf", "key", T_STR, CFG(amf.key_file), 0, 0, NULL},
    {"amf", "ca", T_STR, CFG(amf.ca_file), 0, 0, NULL},
    {"amf", "expiry_s", T_INT, CFG(amf.expiry_s), 60, 30 * 86400, "86400"},
    {"amf", "renew_before_s", T_INT, CFG(amf.renew_before_s), 1, 86400, "3600"},
    {"amf", "max_reports", T_INT, CFG(amf.max_reports), 0, 2000000000, "0"},
    {"amf", "poll_ms", T_INT, CFG(amf.poll_ms), 100, 600000, "2000"},
    {"amf", "timeout_s", T_INT, CFG(amf.timeout_s), 1, 300, "10"},
    {"amf", "supis_per_subscription", T_INT, CFG(amf.supis_per_subscription), 1, 1000000, "10000"},
    {"zone", "kind", T_ZONEKIND, ZONE(kind), 0, 0, NULL},
    {"zone", "listen", T_LISTEN, 0, 0, 0, NULL},
    {"zone", "cert", T_STR, ZONE(cert_file), 0, 0, NULL},
    {"zone", "key", T_STR, ZONE(key_file), 0, 0, NULL},
    {"zone", "client_ca", T_STR, ZONE(client_ca_file), 0, 0, NULL},
    {"zone", "token_file", T_STR, ZONE(token_file), 0, 0, NULL},
    {"zone", "h2c", T_BOOL, ZONE(is_h2c), 0, 1, NULL},
};

/* The release is made this long after its bucket ends, for late reports (not a key). */
#define RELEASE_DELAY_S 5

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

/* "HOST:PORT" with an optional [IPv6] host, into host (host_size bytes) and port. */
static int parse_hostport(const char *v, char *host_out, size_t host_size, int *port)
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
    if (host_len == 0 || host_len >= host_size)
        return LG_ERR;
    memcpy(host_out, host, host_len);
    host_out[host_len] = '\0';
    return parse_int(colon + 1, 0, 65535, port);
}

static int parse_listen(const char *v, lg_zone_config_t *z)
{
    return parse_hostport(v, z->host, sizeof(z->host), &z->port);
}

/* One more "peer = IDENTITY NODE" of [diameter]. */
static int add_peer(lg_diameter_config_t *d, const char *v)
{
    if (d->n_peers == LG_DIA_PEERS_MAX)
        return LG_ERR;
    if (lg_diameter_parse_peer(v, &d->peers[d->n_peers]) != LG_OK)
        return LG_ERR;
    d->n_peers++;
    return LG_OK;
}

static int apply(lg_config_t *cfg, lg_zone_config_t *zone, const key_def_t *k, const char *v)
{
    char *slot = (zone ? (char *)zone : (char *)cfg) + k->offset;
    switch (k->type) {
    case T_INT:
        return parse_int(v, k->min, k->max, (int *)(void *)slot);
    case T_INT64:
        return parse_int64(v, (int64_t *)(void *)slot);
    case T_BOOL: {
        int x;
        if (parse_int(v, k->min, k->max, &x) != LG_OK)
            return LG_ERR;
        *(bool *)(void *)slot = x != 0;
        return LG_OK;
    }
    case T_RATIO:
        /* The numerator field is followed by its denominator. */
        return parse_ratio(v, (uint32_t *)(void *)slot);
    case T_STR: {
        /* The modules' structs hold const char *; the strings are ours (lg_config_cleanup). */
        const char **str = (const char **)(void *)slot;
        if (*v == '\0')
            return LG_ERR;
        free((void *)*str);
        *str = lg_xstrdup(v);
        return LG_OK;
    }
    case T_LOGLEVEL: {
        int level = lg_log_level_parse(v);
        if (level < 0)
            return LG_ERR;
        *(int *)(void *)slot = level;
        return LG_OK;
    }
    case T_LOGFORMAT: {
        int format = lg_log_format_parse(v);
        if (format < 0)
            return LG_ERR;
        *(int *)(void *)slot = format;
        return LG_OK;
    }
    case T_MECHANISM:
        if (strcmp(v, "continual") == 0)
            *(lg_release_mechanism_t *)(void *)slot = LG_RELEASE_CONTINUAL;
        else if (strcmp(v, "per_bucket") == 0)
            *(lg_release_mechanism_t *)(void *)slot = LG_RELEASE_PER_BUCKET;
        else
            return LG_ERR;
        return LG_OK;
    case T_ZONEKIND:
        zone->kind = lg_zone_kind_parse(v);
        return zone->kind != 0 ? LG_OK : LG_ERR;
    case T_LISTEN:
        return parse_listen(v, zone);
    case T_DIA_LISTEN:
        return parse_hostport(v, cfg->diameter.host, sizeof(cfg->diameter.host),
                              &cfg->diameter.port);
    case T_DIA_PEER:
        return add_peer(&cfg->diameter, v);
    case T_DIA_HSS_CONNECT:
        return parse_hostport(v, cfg->diameter.hss_host, sizeof(cfg->diameter.hss_host),
                              &cfg->diameter.hss_port);
    case T_AMF_PEER:
        if (cfg->amf.n_peers == LG_AMF_PEERS_MAX)
            return LG_ERR;
        if (lg_amfsub_parse_peer(v, &cfg->amf.peers[cfg->amf.n_peers]) != LG_OK)
            return LG_ERR;
        cfg->amf.n_peers++;
        return LG_OK;
    }
    return LG_ERR;
}

/*
 * Settings two modules read: the table fills one struct, the other gets a
 * copy here (the string is borrowed, not copied).
 */
static void share(lg_config_t *cfg)
{
    cfg->delivery.public_url = cfg->public_url;
    cfg->periodic.k = cfg->exposure.k;
    cfg->periodic.min_area_m2 = cfg->exposure.min_area_m2;
    cfg->periodic.max_area_m2 = cfg->exposure.max_area_m2;
}

void lg_config_defaults(lg_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    lg_notifier_config_defaults(&cfg->delivery);
    cfg->release.delay_s = RELEASE_DELAY_S;
    for (size_t i = 0; i < LG_ARRAY_SIZE(keys); i++) {
        /* The table's own defaults: one that does not parse is a bug in this file. */
        if (keys[i].def != NULL && apply(cfg, NULL, &keys[i], keys[i].def) != LG_OK)
            abort();
    }
    share(cfg);
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
                const char *why = lg_zone_config_check(zone);
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
                       strcmp(sec, "counts") == 0 || strcmp(sec, "diameter") == 0 ||
                       strcmp(sec, "amf") == 0) {
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
            if (k->type == T_INT || k->type == T_BOOL)
                set_err(err, err_size, name, line_no, "\"%s\" must be an integer in %d..%d", key,
                        k->min, k->max);
            else
                set_err(err, err_size, name, line_no, "bad value for \"%s\"", key);
            return LG_ERR;
        }
    }
    if (zone != NULL) {
        const char *why = lg_zone_config_check(zone);
        if (why != NULL) {
            set_err(err, err_size, name, line_no, "zone \"%s\": %s", zone->name, why);
            return LG_ERR;
        }
    }
    const char *env = getenv("LOCGUARD_DATABASE");
    if (env != NULL && *env != '\0') {
        free((void *)cfg->db.conninfo);
        cfg->db.conninfo = lg_xstrdup(env);
    }
    if (cfg->db.conninfo == NULL) {
        set_err(err, err_size, name, line_no,
                "no database: set [database] conninfo or $LOCGUARD_DATABASE");
        return LG_ERR;
    }
    for (size_t i = 0; i < cfg->n_zones; i++) {
        lg_zone_kind_t kind = cfg->zones[i].kind;
        if ((kind == LG_ZONE_NORTHBOUND || kind == LG_ZONE_EXPOSURE) &&
            (cfg->oauth.signing_key == NULL || cfg->oauth.issuer == NULL)) {
            set_err(err, err_size, name, line_no,
                    "northbound and exposure zones need [oauth] signing_key and issuer");
            return LG_ERR;
        }
        if (kind == LG_ZONE_NORTHBOUND && cfg->public_url == NULL) {
            set_err(err, err_size, name, line_no, "a northbound zone needs [northbound] public_url");
            return LG_ERR;
        }
    }
    if (cfg->diameter.identity != NULL || cfg->diameter.n_peers > 0) {
        const char *why = lg_diameter_config_check(&cfg->diameter);
        if (why != NULL) {
            set_err(err, err_size, name, line_no, "[diameter]: %s", why);
            return LG_ERR;
        }
    }
    const char *amf_why = lg_amfsub_config_check(&cfg->amf);
    if (amf_why != NULL) {
        set_err(err, err_size, name, line_no, "[amf]: %s", amf_why);
        return LG_ERR;
    }
    share(cfg);
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
    free((void *)cfg->daemon.schema_dir);
    free((void *)cfg->daemon.pid_file);
    free((void *)cfg->daemon.ready_file);
    free((void *)cfg->db.conninfo);
    free((void *)cfg->oauth.signing_key);
    free((void *)cfg->oauth.issuer);
    free((void *)cfg->public_url); /* cfg->delivery.public_url borrows it */
    free((void *)cfg->delivery.ca_file);
    free((void *)cfg->diameter.identity);
    free((void *)cfg->diameter.realm);
    free((void *)cfg->diameter.cert_file);
    free((void *)cfg->diameter.key_file);
    free((void *)cfg->diameter.ca_file);
    free((void *)cfg->diameter.work_dir);
    free((void *)cfg->diameter.hss);
    free((void *)cfg->diameter.hss_realm);
    free((void *)cfg->amf.notify_uri);
    free((void *)cfg->amf.nf_id);
    free((void *)cfg->amf.cert_file);
    free((void *)cfg->amf.key_file);
    free((void *)cfg->amf.ca_file);
    for (size_t i = 0; i < cfg->n_zones; i++)
        lg_zone_config_cleanup(&cfg->zones[i]);
    memset(cfg, 0, sizeof(*cfg));
}
