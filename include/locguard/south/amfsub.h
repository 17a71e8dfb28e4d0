/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Namf_EventExposure client (TS 29.518 §5.3): for each configured AMF,
 * locguard holds LOCATION_REPORT subscriptions naming every provisioned
 * device, and keeps them so.
 *
 * anyUE with includeSupiList (the SUPIs of the `ue` table), rather than one
 * subscription per UE (a subscription, its renewals and its state per
 * device at every AMF) or per group (an internal group id that the UDM must
 * know, which locguard cannot provision). The devices are split into chunks
 * of at most supis_per_subscription SUPIs (sql/amfsub.sql: a device keeps
 * its chunk while provisioned, a new one goes to the lowest chunk with
 * room), and each AMF holds one subscription per chunk, so a provisioning
 * change sends one PATCH replacing one chunk's /includeSupiList (TS 29.518's
 * AmfUpdateEventSubscriptionItem has no path to one element of the list).
 * The expiry of each is renewed by a PATCH of /options/expiry
 * renew_before_s before it passes; a chunk's subscription is deleted when
 * the chunk empties, and all of an AMF's when it leaves the configuration
 * (at start-up). An AMF that answers 404 (it restarted and forgot) gets a
 * new subscription at once. State is kept in the amf_subscription table
 * (one row per AMF and chunk), so a restarted daemon resumes, and
 * amf_device_version (raised by a trigger on ue) tells when the SUPIs
 * changed: one small read per poll, the chunks recomputed only when it
 * moved and the lists of the changed chunks only read.
 *
 * notifyCorrelationId is "<AMF node>.<token>": the token (8 hex digits) is
 * made once per AMF and chunk and kept across recreations, so the
 * southbound can tell a notification of a live subscription from a stale
 * one with a lookup in memory (lg_amfsub_match), no SQL per request.
 *
 * Requests go through locguard/core/httpc.h (HTTP/2 over TLS, locguard's
 * client certificate); everything runs on the daemon's event loop.
 */
#ifndef LOCGUARD_AMFSUB_H
#define LOCGUARD_AMFSUB_H

#include "locguard/core/common.h"
#include "locguard/core/db.h"
#include "locguard/core/metrics.h"
#include "locguard/south/report.h"

#include <event2/event.h>

#define LG_AMF_PEERS_MAX 16
#define LG_AMF_NODE_MAX                                                                            \
    55                        /* an AMF's node name: 1..54 characters, so that                     \
                                 "<node>.<token>" is a node name of at most 63 */
#define LG_AMF_TOKEN_LEN    8 /* hex digits of the correlation token */
#define LG_AMF_API_ROOT_MAX 256

/* One "[amf] peer = NODE APIROOT" line. */
typedef struct lg_amf_peer {
    char node[LG_AMF_NODE_MAX];         /* the AMF's node: its certificate's CN, a network_node */
    char api_root[LG_AMF_API_ROOT_MAX]; /* https://host[:port][/prefix], no trailing '/' */
} lg_amf_peer_t;

/* The client's settings ("[amf]" in the config; defaults in config.c's table). */
typedef struct lg_amfsub_config {
    const char *notify_uri;     /* eventNotifyUri: where the AMFs POST (the southbound zone's
                                   https://.../v1/location-reports) */
    const char *nf_id;          /* nfId: locguard's NF instance id, a UUID */
    const char *cert_file;      /* locguard's client certificate towards the AMFs */
    const char *key_file;       /* its key; NULL = in cert_file */
    const char *ca_file;        /* trust anchors of the AMFs' certificates; NULL = system store */
    int expiry_s;               /* options.expiry asked: now + this */
    int renew_before_s;         /* the expiry is renewed this long before it passes */
    int max_reports;            /* options.maxReports; 0 = not sent (no limit) */
    int poll_ms;                /* how often the device version is read */
    int timeout_s;              /* one request to an AMF */
    int supis_per_subscription; /* at most this many SUPIs in one subscription */
    size_t n_peers;
    lg_amf_peer_t peers[LG_AMF_PEERS_MAX];
} lg_amfsub_config_t;

/*
 * Parses "NODE APIROOT" into peer: NODE 1..54 of [A-Za-z0-9._-], APIROOT
 * an https:// URI (a trailing '/' dropped). LG_ERR on anything else.
 */
LG_MUST_CHECK int lg_amfsub_parse_peer(const char *v, lg_amf_peer_t *peer);

/* NULL when cfg is usable with its peers, else why not (a constant string). */
const char *lg_amfsub_config_check(const lg_amfsub_config_t *cfg);

typedef struct lg_amfsub lg_amfsub_t;

/*
 * Creates the client on base, and starts: the rows of amf_subscription are
 * read (made for new AMFs), subscriptions of AMFs no longer configured are
 * deleted, then every poll_ms each AMF's subscription is created, updated,
 * renewed or deleted as needed. cfg is copied (its strings too). Returns
 * NULL (after logging why) when the HTTP client cannot be made.
 */
lg_amfsub_t *lg_amfsub_new(struct event_base *base, lg_db_t *db, lg_metrics_t *metrics,
                           const lg_amfsub_config_t *cfg);

/* Abandons the requests under way and frees. Accepts NULL. */
void lg_amfsub_free(lg_amfsub_t *s);

/* What a notification's notifyCorrelationId is to the AMF that sent it. */
typedef enum lg_amfsub_match {
    LG_AMFSUB_OTHER, /* not "<node>.<token>" of this AMF: not one of ours */
    LG_AMFSUB_LIVE,  /* the correlation of one of this AMF's live subscriptions */
    LG_AMFSUB_GONE,  /* "<node>.<token>" of this AMF, but no live subscription has it */
} lg_amfsub_match_t;

/*
 * Matches correlation_id of a notification from node (its certificate's)
 * against the subscriptions in memory. s may be NULL (no [amf]): then a
 * correlation "<node>.<anything>" is GONE. A subscription is live from its
 * creation request until it is deleted or its AMF answers 404.
 */
lg_amfsub_match_t lg_amfsub_match(const lg_amfsub_t *s, const char *node,
                                  const char *correlation_id);

/* ---- The bodies, as pure functions (unit tests call them) ---------------------------------- */

/*
 * The AmfCreateEventSubscription for peer's subscription: LOCATION_REPORT,
 * anyUE with includeSupiList supis_json (a JSON array text of "imsi-..."
 * strings, at least one), notifyCorrelationId corr, options CONTINUOUS with
 * expiry expiry_us and maxReports when cfg says. Returns a malloc'd string.
 */
char *lg_amfsub_create_body(const lg_amfsub_config_t *cfg, const char *corr, const char *supis_json,
                            int64_t expiry_us);

/* The PATCH body replacing /includeSupiList with supis_json (one chunk's). Malloc'd. */
char *lg_amfsub_supis_patch(const char *supis_json);

/* The PATCH body replacing /options/expiry with expiry_us. Malloc'd. */
char *lg_amfsub_expiry_patch(int64_t expiry_us);

/* ---- What an AMF answers, as pure functions (unit tests and tests/fuzz call them) ------------ */

#define LG_AMFSUB_URI_MAX 1024 /* a subscription's URI, its terminating NUL included */
#define LG_AMFSUB_ID_MAX  256  /* a subscriptionId */

/*
 * The URI of the subscription an AMF created (its 201, TS 29.518
 * 6.2.3.2.3.1): the Location header when it is an https URI of printable
 * characters without spaces, shorter than LG_AMFSUB_URI_MAX; else api_root
 * "/namf-evts/v1/subscriptions/" and the body's subscriptionId (1 to
 * LG_AMFSUB_ID_MAX characters of a URI path segment, RFC 3986 pchar,
 * without '%'); NULL when neither is usable. location may be NULL, body
 * anything (body_len bytes, not NUL-terminated). Malloc'd.
 */
char *lg_amfsub_created_uri(const char *api_root, const char *location, const char *body,
                            size_t body_len);

/*
 * The expiry an AMF granted in its answer to a create or an update
 * (subscription.options.expiry of AmfCreatedEventSubscription or
 * AmfUpdatedEventSubscription, an RFC 3339 time), or fallback_us when the
 * body has none that parses.
 */
int64_t lg_amfsub_granted_expiry(const char *body, size_t body_len, int64_t fallback_us);

/* The next step of one subscription (one AMF, one chunk). */
typedef enum lg_amfsub_action {
    LG_AMFSUB_NONE,
    LG_AMFSUB_CREATE,      /* POST {apiRoot}/namf-evts/v1/subscriptions */
    LG_AMFSUB_PATCH_SUPIS, /* PATCH the subscription: replace /includeSupiList */
    LG_AMFSUB_RENEW,       /* PATCH the subscription: replace /options/expiry */
    LG_AMFSUB_DELETE,      /* DELETE the subscription */
} lg_amfsub_action_t;

/* "none", "create", "patch", "renew", "delete". */
const char *lg_amfsub_action_name(lg_amfsub_action_t a);

/*
 * What to do next: has_sub (the AMF holds one), its expiry expires_us and
 * the chunk version its SUPIs are of, against the chunk's current version
 * and its n_supis SUPIs (0: the chunk is gone), at now_us, renewing renew_before_us early. An
 * expired subscription counts as gone (the AMF dropped it).
 */
lg_amfsub_action_t lg_amfsub_next(bool has_sub, int64_t expires_us, int64_t sub_version,
                                  int64_t cur_version, size_t n_supis, int64_t now_us,
                                  int64_t renew_before_us);

#endif
