/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file: INI-style sections ("[daemon]", "[database]",
 * "[ingest]", "[zone NAME]"), "key = value" lines, "#" comments. Parsed once
 * at start-up into plain structs; unknown keys and bad values are errors that
 * name the file and line. See README.md "Configuration" for every key.
 */
#ifndef LOCGUARD_CONFIG_H
#define LOCGUARD_CONFIG_H

#include "locguard/core/common.h"

#define LG_ZONES_MAX 8

/* What a listener serves; one trust domain each (DESIGN.md "Zones"). */
typedef enum lg_zone_kind {
    LG_ZONE_SOUTHBOUND = 1, /* MME/SGSN/AMF location reports, mutual TLS */
    LG_ZONE_ADMIN,          /* operator API, loopback only, bearer token */
    LG_ZONE_NORTHBOUND,     /* SCS/AS: T8 monitoring API and the OAuth2 token endpoint */
    LG_ZONE_EXPOSURE,       /* third parties: CAMARA region device count, OAuth2 token endpoint */
} lg_zone_kind_t;

/* The kind's name as in "kind = ..." ("southbound"), for logs and metric labels; "?" if none. */
const char *lg_zone_kind_name(lg_zone_kind_t kind);

/* One listener. */
typedef struct lg_zone_config {
    char name[32];         /* the NAME of "[zone NAME]" */
    lg_zone_kind_t kind;   /* "kind = southbound | admin" */
    char host[64];         /* from "listen = HOST:PORT" */
    int port;              /* 0 = any free port (the bound one is logged) */
    char *cert_file;       /* server certificate chain (PEM); NULL = plain HTTP (admin only) */
    char *key_file;        /* server private key (PEM) */
    char *client_ca_file;  /* CA for client certificates; required for southbound */
    char *token_file;      /* admin: file holding the bearer token; NULL = no token */
} lg_zone_config_t;

/* The whole configuration. */
typedef struct lg_config {
    int log_level;             /* LG_LOG_ERROR..LG_LOG_DEBUG */
    int log_format;            /* LG_LOG_TEXT (default) or LG_LOG_JSON */
    char *schema_dir;          /* directory holding migrations/ and sql/; default
                                  the installed one, $(datadir)/locguard */
    char *pid_file;            /* written at start when set */
    char *ready_file;          /* written once all listeners are bound: "zone port" lines */

    char *db_conninfo;         /* libpq conninfo; $LOCGUARD_DATABASE overrides */
    int db_pool_size;          /* async connections, default 3 (one kept from ingest) */
    int db_connect_timeout_s;  /* default 5 */

    int max_batch_reports;     /* reports per southbound request, default 1000 */
    int max_body_bytes;        /* request body limit, default 1 MiB */
    int flush_max_reports;     /* reports per database round trip, default 8192 */
    int queue_max_reports;     /* reports queued before new batches get 503, default 65536 */
    int seq_window;            /* replay window in sequence numbers, default 1024 */
    int freshness_s;           /* Locguard-Sent-At must be within +-this, default 300 */
    int report_max_age_s;      /* oldest acceptable report timeStamp, default 86400 */
    int report_max_skew_s;     /* report timeStamp at most this far ahead, default 300 */
    int hysteresis;            /* outside decisions before a "left" alert, default 2 */
    int refresh_ms;            /* a report changing nothing but the time is coalesced
                                  when the stored one is younger than this; default
                                  60000, 0 = write every report */
    int cache_devices;         /* devices in the daemon's cache of coalescable rows,
                                  default 1000000 (117 MB: 56-byte slots, a power
                                  of two at least 4/3 of it), 0 = no cache */
    int retry_after_s;         /* Retry-After on 503, default 5 */

    char *oauth_signing_key;   /* EC P-256 private key (PEM) signing access tokens */
    char *oauth_issuer;        /* "iss" of our tokens */
    int oauth_token_ttl_s;     /* access token lifetime, default 300 */

    char *public_url;          /* northbound: prefix of self links and Location headers */

    char *delivery_ca_file;    /* trust anchors for SCS servers; NULL = system store */
    int delivery_retry_max_age_s;   /* give up on a notification after this, default 86400 */
    int delivery_max_backoff_s;     /* longest wait between attempts, default 600 */
    int delivery_concurrency;       /* deliveries in flight per destination, default 4 */
    int delivery_timeout_s;         /* per attempt, default 10 */
    int delivery_lease_s;           /* outbox lease, default 60 */
    int delivery_poll_ms;           /* how often the outbox is polled, default 500 */
    int delivery_idle_s;            /* idle kept-alive connections close after this, default 30 */

    int counts_bucket_s;            /* one noisy release per bucket, default 3600 */
    uint32_t counts_eps_num, counts_eps_den;             /* epsilon per release, default 1/2 */
    uint32_t counts_daily_eps_num, counts_daily_eps_den; /* epsilon per UTC day, default 12/1 */
    int counts_k;                   /* answers below k are suppressed, default 10 */
    int counts_min_area_m2;         /* smallest query area, default 1 km2 */
    int64_t counts_max_area_m2;     /* largest query area, default 300 km radius */
    int counts_rate_per_minute;     /* queries per client per minute, default 60 */
    int counts_in_memory;           /* 1: answer from the in-memory evaluator (countmap.c) */
    int counts_memory_days;         /* releases it keeps: the last N days, default 2 */
    int counts_memory_poll_ms;      /* how often it looks for releases, default 1000 */
    int counts_audit_wait;          /* 1: an answer from memory waits for its audit row */

    size_t n_zones;
    lg_zone_config_t zones[LG_ZONES_MAX];
} lg_config_t;

/* Fills cfg with the defaults (no zones). */
void lg_config_defaults(lg_config_t *cfg);

/*
 * Reads path into cfg (which must hold the defaults). On error writes a
 * message naming the file and line into err and returns LG_ERR.
 */
LG_MUST_CHECK int lg_config_load(lg_config_t *cfg, const char *path, char *err, size_t err_size);

/* Parses config text (for tests); name is used in error messages. */
LG_MUST_CHECK int lg_config_parse(lg_config_t *cfg, const char *text, const char *name, char *err,
                                  size_t err_size);

/* Frees the strings cfg owns; cfg may then be reused after lg_config_defaults. */
void lg_config_cleanup(lg_config_t *cfg);

#endif
