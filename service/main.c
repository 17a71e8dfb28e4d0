/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguard: parses the command line, loads the configuration, migrates the
 * schema, then wires the modules together around one event loop:
 *
 *   zones (http) -> southbound -> ingest (group commit) -> db (async libpq)
 *                   amfsub (Namf_EventExposure subscriptions at the AMFs) -> db, AMFs
 *   diameter (freeDiameter's threads -> the loop) -------^
 *                -> northbound -> oauth, token, db     notifier (outbox) -> SCS
 *                -> exposure   -> oauth, token, db     (counts from noisy releases)
 *                                                      periodic (area count reports) -> outbox
 *                -> admin      -> db                   release (noisy counts) -> db
 *
 * and runs until SIGTERM/SIGINT, when it stops accepting, lets the batches
 * under way commit and be answered, and exits. Under systemd (Type=notify)
 * it reports READY=1 once the schema is current and every listener is bound,
 * and STOPPING=1 when the drain starts; without $NOTIFY_SOCKET sd_notify
 * does nothing.
 */
#include "locguard/admin/admin.h"
#include "locguard/core/config.h"
#include "locguard/core/db.h"
#include "locguard/counts/countmap.h"
#include "locguard/counts/exposure.h"
#include "locguard/diameter/diameter.h"
#include "locguard/core/http.h"
#include "locguard/south/ingest.h"
#include "locguard/core/log.h"
#include "locguard/core/metrics.h"
#include "locguard/core/migrate.h"
#include "locguard/north/northbound.h"
#include "locguard/north/notifier.h"
#include "locguard/core/oauth.h"
#include "locguard/north/periodic.h"
#include "locguard/counts/release.h"
#include "locguard/south/amfsub.h"
#include "locguard/south/southbound.h"
#include "locguard/core/token.h"
#include "locguard/core/version.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef LG_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Built without libsystemd (make USE_SYSTEMD=no): nothing to tell. */
static int sd_notify(int unset_environment, const char *state)
{
    (void)unset_environment;
    (void)state;
    return 0;
}
#endif

#define DRAIN_TIMEOUT_MS 10000
#define AUDIT_QUEUE_MAX  4096 /* count answers whose audit row is not yet written */
#define AUDIT_BATCH_MAX  512  /* count audit rows per statement */

/* Everything the running daemon owns; built by main, passed down. */
typedef struct daemon_ctx {
    lg_config_t cfg;
    struct event_base *base;
    lg_metrics_t *metrics;
    lg_db_t *db;
    lg_ingest_t *ingest;
    lg_southbound_t *southbound;
    lg_amfsub_t *amfsub;         /* NULL without [amf] peers */
    lg_diameter_t *diameter;     /* NULL without [diameter] */
    lg_admin_t *admin;
    lg_notifier_t *notifier;
    lg_token_signer_t *signer;   /* NULL without [oauth] */
    lg_oauth_t *oauth_north;     /* token endpoint of the northbound zone */
    lg_northbound_t *northbound;
    lg_oauth_t *oauth_exposure;  /* token endpoint of the exposure zone */
    lg_exposure_t *exposure;
    lg_countmap_t *countmap;     /* the releases in memory, for the exposure zone */
    lg_auditq_t *auditq;         /* the audit rows of its answers */
    lg_release_t *release;
    lg_periodic_t *periodic;     /* NUMBER_OF_UES_IN_AN_AREA reports */
    lg_http_zone_t *zones[LG_ZONES_MAX];
    size_t n_zones;
    struct event *sigterm, *sigint, *drain_timer;
    int64_t drain_deadline_us;
    bool is_draining;
} daemon_ctx_t;

static void usage(FILE *out)
{
    fputs("usage: locguard -c FILE                run the daemon\n"
          "       locguard migrate -c FILE        apply the schema and exit\n"
          "       locguard check-config -c FILE   check the configuration and exit\n"
          "       locguard --version | --help\n"
          "\n"
          "The database connection string comes from [database] conninfo in FILE,\n"
          "or from $LOCGUARD_DATABASE when set. See README.md \"Configuration\".\n",
          out);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    daemon_ctx_t *d = arg;
    (void)fd;
    (void)what;
    size_t pending = lg_ingest_pending(d->ingest);
    size_t audits = d->auditq != NULL ? lg_auditq_depth(d->auditq) : 0;
    if ((pending == 0 && audits == 0) || lg_mono_us() > d->drain_deadline_us) {
        if (pending > 0)
            lg_warn("shutdown: %zu batches still pending after the drain timeout", pending);
        if (audits > 0)
            lg_warn("shutdown: %zu count audit rows still pending after the drain timeout",
                    audits);
        event_base_loopexit(d->base, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_ctx_t *d = arg;
    (void)what;
    if (d->is_draining) {
        lg_warn("second signal: exiting now");
        event_base_loopexit(d->base, NULL);
        return;
    }
    d->is_draining = true;
    lg_info("signal %d: no new connections; draining batches under way", (int)sig);
    (void)sd_notify(0, "STOPPING=1\nSTATUS=draining the batches under way");
    for (size_t i = 0; i < d->n_zones; i++)
        lg_http_zone_stop_accepting(d->zones[i]);
    d->drain_deadline_us = lg_mono_us() + DRAIN_TIMEOUT_MS * 1000LL;
    d->drain_timer = event_new(d->base, -1, EV_PERSIST, on_drain_tick, d);
    struct timeval tv = {0, 20000};
    event_add(d->drain_timer, &tv);
}

static int write_file(const char *path, const char *text)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        lg_error("cannot write %s: %s", path, strerror(errno));
        return LG_ERR;
    }
    return LG_OK;
}

static void kick_notifier(void *arg)
{
    lg_notifier_kick(arg);
}

static bool has_zone(const lg_config_t *cfg, lg_zone_kind_t kind, bool *has_client_ca)
{
    for (size_t i = 0; i < cfg->n_zones; i++) {
        if (cfg->zones[i].kind == kind) {
            if (has_client_ca != NULL)
                *has_client_ca = cfg->zones[i].client_ca_file != NULL;
            return true;
        }
    }
    return false;
}

/* A release was stored: the in-memory counts reload now. */
static void poke_countmap(void *arg)
{
    lg_countmap_poke(arg);
}

/* The notifier, the token signer, the northbound API and the count releases. */
static int start_services(daemon_ctx_t *d)
{
    const lg_config_t *c = &d->cfg;
    d->notifier = lg_notifier_new(d->base, d->db, d->metrics, &c->delivery);
    if (d->notifier == NULL)
        return LG_ERR;
    lg_ingest_on_alerts(d->ingest, kick_notifier, d->notifier);

    if (c->oauth.signing_key != NULL) {
        d->signer = lg_token_signer_new(c->oauth.signing_key, c->oauth.issuer);
        if (d->signer == NULL) {
            lg_error("[oauth] signing_key: cannot load an EC P-256 private key");
            return LG_ERR;
        }
    }
    bool needs_client_cert = false;
    if (has_zone(c, LG_ZONE_NORTHBOUND, &needs_client_cert)) {
        d->oauth_north = lg_oauth_new(d->db, d->signer, "northbound", LG_NORTHBOUND_AUDIENCE,
                                      &c->oauth, true, d->metrics);
        if (d->oauth_north == NULL)
            return LG_ERR;
        d->northbound = lg_northbound_new(d->db, d->metrics, d->signer, d->oauth_north,
                                          d->notifier, c->public_url, needs_client_cert);
        if (d->northbound == NULL)
            return LG_ERR;
    }

    if (has_zone(c, LG_ZONE_EXPOSURE, NULL)) {
        d->oauth_exposure = lg_oauth_new(d->db, d->signer, "exposure", LG_EXPOSURE_AUDIENCE,
                                         &c->oauth, false, d->metrics);
        if (d->oauth_exposure == NULL)
            return LG_ERR;
        d->exposure = lg_exposure_new(d->db, d->metrics, d->signer, d->oauth_exposure,
                                      &c->exposure);
        if (d->exposure == NULL)
            return LG_ERR;
        lg_exposure_on_queued(d->exposure, kick_notifier, d->notifier);
    }

    d->release = lg_release_new(d->base, d->db, d->metrics, &c->release);
    if (d->release == NULL)
        return LG_ERR;
    if (d->exposure != NULL)
        lg_exposure_set_release(d->exposure, d->release);
    if (d->exposure != NULL && c->exposure.is_in_memory) {
        d->countmap = lg_countmap_new(d->base, d->db, &c->countmap);
        d->auditq = lg_auditq_new(d->base, d->db, AUDIT_QUEUE_MAX, AUDIT_BATCH_MAX);
        lg_exposure_set_countmap(d->exposure, d->countmap, d->auditq, c->exposure.is_audit_wait);
        lg_release_on_stored(d->release, poke_countmap, d->countmap);
    }

    d->periodic = lg_periodic_new(d->base, d->db, d->metrics, d->notifier, &c->periodic);
    if (d->periodic == NULL)
        return LG_ERR;
    return LG_OK;
}

static int start_zones(daemon_ctx_t *d)
{
    char ready[1024] = "";
    for (size_t i = 0; i < d->cfg.n_zones; i++) {
        const lg_zone_config_t *z = &d->cfg.zones[i];
        lg_http_handler_cb handler;
        void *arg;
        switch (z->kind) {
        case LG_ZONE_SOUTHBOUND:
            handler = lg_southbound_handle;
            arg = d->southbound;
            break;
        case LG_ZONE_ADMIN:
            handler = lg_admin_handle;
            arg = d->admin;
            break;
        case LG_ZONE_NORTHBOUND:
            handler = lg_northbound_handle;
            arg = d->northbound;
            break;
        case LG_ZONE_EXPOSURE:
            handler = lg_exposure_handle;
            arg = d->exposure;
            break;
        default:
            lg_error("zone %s: unknown kind", z->name);
            return LG_ERR;
        }
        lg_http_zone_t *zone = lg_http_zone_new(d->base, z, d->cfg.daemon.max_body_bytes,
                                                d->metrics, handler, arg);
        if (zone == NULL)
            return LG_ERR;
        d->zones[d->n_zones++] = zone;
        size_t used = strlen(ready);
        snprintf(ready + used, sizeof(ready) - used, "%s %d\n", z->name, lg_http_zone_port(zone));
    }
    if (d->cfg.diameter.identity != NULL) {
        lg_diameter_limits_t lim = {.max_batch_reports = d->cfg.southbound.max_batch_reports,
                                    .report_max_age_s = d->cfg.southbound.report_max_age_s};
        d->diameter =
            lg_diameter_new(d->base, &d->cfg.diameter, &lim, d->db, d->ingest, d->metrics);
        if (d->diameter == NULL)
            return LG_ERR;
        size_t used = strlen(ready);
        snprintf(ready + used, sizeof(ready) - used, "diameter %d\n",
                 lg_diameter_port(d->diameter));
    }
    if (d->cfg.daemon.ready_file != NULL && write_file(d->cfg.daemon.ready_file, ready) != LG_OK)
        return LG_ERR;
    return LG_OK;
}

static int run(daemon_ctx_t *d)
{
    int schema_version;
    const char *admin_token = NULL;
    (void)sd_notify(0, "STATUS=applying the schema");
    const lg_config_t *c = &d->cfg;
    if (lg_migrate_run(c->db.conninfo, c->daemon.schema_dir, c->db.connect_timeout_s) != LG_OK ||
        lg_migrate_latest(c->daemon.schema_dir, &schema_version) != LG_OK)
        return LG_ERR;
    for (size_t i = 0; i < d->cfg.n_zones; i++)
        if (d->cfg.zones[i].kind == LG_ZONE_ADMIN && d->cfg.zones[i].token_file != NULL)
            admin_token = d->cfg.zones[i].token_file;

    /* The changelist folds the epoll_ctl calls of one loop turn: a reply
     * written at once adds and removes its write event in the same turn,
     * which then costs no system call (two per request without it). We dup()
     * no descriptor, the changelist's one caveat. */
    struct event_config *ecfg = event_config_new();
    if (ecfg == NULL)
        return LG_ERR;
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (d->base == NULL) {
        lg_error("cannot create the event loop");
        return LG_ERR;
    }
    d->metrics = lg_metrics_new();
    d->db = lg_db_new(d->base, &c->db, d->metrics);
    d->ingest = lg_ingest_new(d->db, d->metrics, &c->ingest);
    d->southbound = lg_southbound_new(&c->southbound, d->ingest, d->metrics);
    if (c->amf.n_peers > 0) {
        d->amfsub = lg_amfsub_new(d->base, d->db, d->metrics, &c->amf);
        if (d->amfsub == NULL)
            return LG_ERR;
        lg_southbound_set_amfsub(d->southbound, d->amfsub);
    }
    d->admin = lg_admin_new(d->db, d->metrics, admin_token, schema_version);
    if (d->admin == NULL || start_services(d) != LG_OK || start_zones(d) != LG_OK)
        return LG_ERR;

    if (d->cfg.daemon.pid_file != NULL) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (write_file(d->cfg.daemon.pid_file, pid) != LG_OK)
            return LG_ERR;
    }
    d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sigint = evsignal_new(d->base, SIGINT, on_signal, d);
    event_add(d->sigterm, NULL);
    event_add(d->sigint, NULL);
    lg_info("locguard %s running", LG_VERSION);
    /* The ready file is written and every listener bound: systemd may start what follows us. */
    char state[128];
    snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %zu zones, schema version %d",
             d->n_zones, schema_version);
    (void)sd_notify(0, state);
    event_base_dispatch(d->base);
    lg_info("locguard stopped");
    return LG_OK;
}

static void cleanup(daemon_ctx_t *d)
{
    /* These take their queries back from the pool. */
    lg_periodic_free(d->periodic);
    lg_release_free(d->release);
    lg_countmap_free(d->countmap);
    lg_notifier_free(d->notifier);
    /*
     * The pool completes every query under way; the completions answer their
     * requests, so it goes before the zones and before the modules those
     * completions point into.
     */
    lg_db_free(d->db);
    lg_ingest_free(d->ingest);
    /* After the pool and the group commit: their completions sent the last answers. */
    lg_diameter_free(d->diameter);
    for (size_t i = 0; i < d->n_zones; i++)
        lg_http_zone_free(d->zones[i]);
    lg_southbound_free(d->southbound);
    /* After the pool: its completions of the subscriptions' writes point into it. */
    lg_amfsub_free(d->amfsub);
    lg_northbound_free(d->northbound);
    lg_oauth_free(d->oauth_north);
    lg_exposure_free(d->exposure);
    lg_auditq_free(d->auditq);
    lg_oauth_free(d->oauth_exposure);
    lg_token_signer_free(d->signer);
    lg_admin_free(d->admin);
    if (d->sigterm != NULL)
        event_free(d->sigterm);
    if (d->sigint != NULL)
        event_free(d->sigint);
    if (d->drain_timer != NULL)
        event_free(d->drain_timer);
    lg_metrics_free(d->metrics);
    if (d->base != NULL)
        event_base_free(d->base);
    if (d->cfg.daemon.ready_file != NULL)
        unlink(d->cfg.daemon.ready_file);
    if (d->cfg.daemon.pid_file != NULL)
        unlink(d->cfg.daemon.pid_file);
    lg_config_cleanup(&d->cfg);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool is_migrate = false, is_check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "migrate") == 0) {
            is_migrate = true;
        } else if (strcmp(argv[i], "check-config") == 0) {
            is_check = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            puts("locguard " LG_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL) {
        usage(stderr);
        return 2;
    }

    daemon_ctx_t d;
    memset(&d, 0, sizeof(d));
    char err[512];
    lg_config_defaults(&d.cfg);
    if (lg_config_load(&d.cfg, config_path, err, sizeof(err)) != LG_OK) {
        fprintf(stderr, "locguard: %s\n", err);
        lg_config_cleanup(&d.cfg);
        return 1;
    }
    if (is_check) {
        /* Parsed and validated as the daemon would: nothing is opened or started. */
        printf("%s: ok (schema_dir %s, %zu zones)\n", config_path, d.cfg.daemon.schema_dir,
               d.cfg.n_zones);
        lg_config_cleanup(&d.cfg);
        return 0;
    }
    lg_log_level = d.cfg.daemon.log_level;
    lg_log_format = d.cfg.daemon.log_format;
    signal(SIGPIPE, SIG_IGN);

    int rc;
    if (is_migrate)
        rc = lg_migrate_run(d.cfg.db.conninfo, d.cfg.daemon.schema_dir,
                            d.cfg.db.connect_timeout_s);
    else
        rc = run(&d);
    cleanup(&d);
    return rc == LG_OK ? 0 : 1;
}
