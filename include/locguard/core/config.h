/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file: INI-style sections ("[daemon]", "[database]",
 * "[ingest]", "[amf]", "[zone NAME]"), "key = value" lines, "#" comments. Parsed once
 * at start-up into the settings struct of each module, declared in that
 * module's header; main.c hands each module its own. Unknown keys and bad
 * values are errors that name the file and line. See README.md
 * "Configuration" for every key.
 */
#ifndef LOCGUARD_CONFIG_H
#define LOCGUARD_CONFIG_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/oauth.h"
#include "locguard/core/zone.h"
#include "locguard/counts/countmap.h"
#include "locguard/counts/exposure.h"
#include "locguard/counts/release.h"
#include "locguard/diameter/peers.h"
#include "locguard/north/notifier.h"
#include "locguard/north/periodic.h"
#include "locguard/south/amfsub.h"
#include "locguard/south/ingest.h"
#include "locguard/south/southbound.h"

/* What main.c itself does with the configuration ("[daemon]"). */
typedef struct lg_daemon_config {
    int log_level;          /* LG_LOG_ERROR..LG_LOG_DEBUG */
    int log_format;         /* LG_LOG_TEXT or LG_LOG_JSON */
    const char *schema_dir; /* directory holding migrations/ and sql/; default the installed
                               one, $(datadir)/locguard */
    const char *pid_file;   /* written once the zones listen; NULL = none */
    const char *ready_file; /* written once all listeners are bound: "zone port" lines */
    int max_body_bytes;     /* [ingest] max_body_bytes: request body limit of every zone */
} lg_daemon_config_t;

/*
 * The whole configuration: one struct per module, filled by config.c's
 * table of keys. The strings are owned here (lg_config_cleanup frees them);
 * the modules' structs point at them. A few keys are read by two modules:
 * [northbound] public_url (northbound API and notifier) and [counts] k,
 * min_area_m2, max_area_m2 (exposure and periodic reports); the table fills
 * the first, and config.c copies them to the second.
 */
typedef struct lg_config {
    lg_daemon_config_t daemon;         /* [daemon] */
    lg_db_config_t db;                 /* [database] */
    lg_southbound_config_t southbound; /* [ingest]: what the southbound zone checks */
    lg_ingest_config_t ingest;         /* [ingest]: the group commit */
    lg_oauth_config_t oauth;           /* [oauth] */
    const char *public_url;            /* [northbound] public_url; NULL = none */
    lg_notifier_config_t delivery;     /* [delivery], and public_url */
    lg_release_config_t release;       /* [counts] bucket_s, epsilon, daily_epsilon */
    lg_exposure_config_t exposure;     /* [counts] k, areas, rate_per_minute, in_memory, ... */
    lg_countmap_config_t countmap;     /* [counts] memory_days, memory_poll_ms */
    lg_periodic_config_t periodic;     /* [counts] k and the areas, for the periodic reports */
    lg_diameter_config_t diameter;     /* [diameter]: the T6a/T6b zone; identity NULL = none */
    lg_amfsub_config_t amf;            /* [amf]: subscriptions at the AMFs; no peer = none */

    size_t n_zones;
    lg_zone_config_t zones[LG_ZONES_MAX]; /* one per "[zone NAME]", in file order */
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
