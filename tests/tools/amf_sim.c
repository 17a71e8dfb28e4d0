/* SPDX-License-Identifier: Apache-2.0 */
/*
 * amf-sim: an AMF's Namf_EventExposure (TS 29.518), for the tests, the demo
 * and docker-compose. Two modes:
 *
 *   amf-sim serve --listen HOST:PORT --cert F --key F --ca F --dir DIR [--ready-file F]
 *       An HTTP/2 server (TLS with ALPN h2, HTTP/1.1 fallback; a client
 *       certificate from --ca required; the nghttp2 server of locguard's own
 *       zones) of POST /namf-evts/v1/subscriptions, PATCH and DELETE
 *       /namf-evts/v1/subscriptions/{id}. Each body is checked for its basic
 *       shape (the tests validate the full bodies with validate.mjs): a bad
 *       one gets 400, an unknown id 404, a wrong Content-Type 415, all as
 *       ProblemDetails. Each request body is written to DIR/req-NNNN-OP.json
 *       (OP: create, patch, delete; numbered after those of an earlier
 *       run), and the subscriptions held to
 *       DIR/subscriptions.json ([{"id", "uri", "subscription"}], replaced
 *       atomically after every change). The subscriptions live in memory
 *       only: a restarted amf-sim (a new process) has forgotten them, as a
 *       restarted AMF has. The ready file gets "PORT\n" once it listens.
 *
 *   amf-sim notify --dir DIR --cert F --key F --ca F [--repeat N] [--corr ID] [--http1.1]
 *       Reads story lines "SUPI TAI CELL" from stdin (imsi-001010000000001
 *       001-01:0001 001-01:000A001; a CELL of 7 hex digits is an ECGI sent
 *       as eutraLocation, of 9 an NCGI sent as nrLocation) and sends, for
 *       each, one AmfEventNotification with one LOCATION_REPORT and no
 *       Locguard-* header to the eventNotifyUri of the subscription in
 *       DIR/subscriptions.json whose includeSupiList (or anyUE without a
 *       list) covers the SUPI, with its notifyCorrelationId (or --corr).
 *       libcurl over HTTP/2 with the client certificate --cert. --repeat N
 *       sends each notification N times, as an AMF retrying. Prints one
 *       line per notification: its status ("204"), or "skip" when no
 *       subscription covers the SUPI. Each body is written to
 *       DIR/notify-NNNN.json (numbered after the files there). Exit status 0 when every
 * notification sent got a 2xx, 1 otherwise, 2 on bad usage.
 */
#include "locguard/core/common.h"
#include "locguard/core/http.h"
#include "locguard/core/log.h"
#include "locguard/core/metrics.h"
#include "locguard/core/timefmt.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBS_PATH "/namf-evts/v1/subscriptions"
#define MAX_SUBS  1024

typedef struct options {
    const char *listen, *cert, *key, *ca, *dir, *ready_file, *corr;
    int repeat;
    bool is_http1;
} options_t;

/* One subscription held. */
typedef struct sub {
    unsigned id;
    cJSON *body; /* the AmfEventSubscription, as created and patched */
} sub_t;

typedef struct sim {
    options_t opts;
    struct event_base *base;
    char origin[128]; /* https://HOST:PORT */
    unsigned next_id;
    unsigned n_requests;
    size_t n_subs;
    sub_t subs[MAX_SUBS];
} sim_t;

/* ---- files -------------------------------------------------------------------------------- */

static int write_atomic(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return LG_ERR;
    bool ok = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
        return LG_ERR;
    return LG_OK;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0, n;
    char *text = lg_xmalloc(cap);
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            text = lg_xrealloc(text, cap);
        }
    }
    text[len] = '\0';
    fclose(f);
    return text;
}

/* Writes a request body to DIR/req-NNNN-OP.json. */
static void dump_request(sim_t *sim, const char *op, const char *body, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/req-%04u-%s.json", sim->opts.dir, ++sim->n_requests, op);
    if (write_atomic(path, body, len) != LG_OK)
        fprintf(stderr, "amf-sim: cannot write %s: %s\n", path, strerror(errno));
}

/* DIR/subscriptions.json: every subscription held. */
static void save_subs(sim_t *sim)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < sim->n_subs; i++) {
        char id[16], uri[256];
        snprintf(id, sizeof(id), "%u", sim->subs[i].id);
        snprintf(uri, sizeof(uri), "%s%s/%u", sim->origin, SUBS_PATH, sim->subs[i].id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "uri", uri);
        cJSON_AddItemToObject(o, "subscription", cJSON_Duplicate(sim->subs[i].body, true));
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    char path[4096];
    snprintf(path, sizeof(path), "%s/subscriptions.json", sim->opts.dir);
    if (write_atomic(path, text, strlen(text)) != LG_OK)
        fprintf(stderr, "amf-sim: cannot write %s: %s\n", path, strerror(errno));
    free(text);
    cJSON_Delete(arr);
}

/* ---- serve -------------------------------------------------------------------------------- */

static void reply_json(lg_httpd_req_t *req, int status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    lg_httpd_add_header(req, "Content-Type", "application/json");
    lg_httpd_reply(req, status, text, strlen(text));
    free(text);
}

static void problem(lg_httpd_req_t *req, int status, const char *title, const char *detail)
{
    lg_http_reply_problem(req, status, title, detail, NULL, NULL, 0, 0);
}

static bool is_string(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring[0] != '\0';
}

static bool is_supi_list(const cJSON *v)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1)
        return false;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) if (!cJSON_IsString(e) ||
                                 strncmp(e->valuestring, "imsi-", 5) != 0) return false;
    return true;
}

/* NULL when sub has the shape of an AmfEventSubscription locguard may send, else why not. */
static const char *check_subscription(const cJSON *sub)
{
    if (!cJSON_IsObject(sub))
        return "subscription must be an object";
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(sub, "eventList");
    if (!cJSON_IsArray(events) || cJSON_GetArraySize(events) < 1)
        return "eventList must be a non-empty array";
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) if (!is_string(ev, "type")) return "an event without a type";
    if (!is_string(sub, "eventNotifyUri") || !is_string(sub, "notifyCorrelationId") ||
        !is_string(sub, "nfId"))
        return "eventNotifyUri, notifyCorrelationId and nfId are required";
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(sub, "anyUE");
    if (!cJSON_IsTrue(any) && !is_string(sub, "supi") && !is_string(sub, "groupId"))
        return "one of supi, groupId or anyUE is required";
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(sub, "includeSupiList");
    if (inc != NULL && !is_supi_list(inc))
        return "includeSupiList must be a non-empty array of imsi- SUPIs";
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(sub, "options");
    if (opt != NULL && (!cJSON_IsObject(opt) || !is_string(opt, "trigger")))
        return "options needs a trigger";
    return NULL;
}

static sub_t *find_sub(sim_t *sim, const char *id_text)
{
    char *end;
    unsigned long id = strtoul(id_text, &end, 10);
    if (end == id_text || *end != '\0')
        return NULL;
    for (size_t i = 0; i < sim->n_subs; i++)
        if (sim->subs[i].id == id)
            return &sim->subs[i];
    return NULL;
}

static void on_create(sim_t *sim, lg_httpd_req_t *req, const char *body, size_t len)
{
    dump_request(sim, "create", body, len);
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(doc, "subscription");
    const char *why = doc == NULL ? "not JSON" : check_subscription(sub);
    if (why != NULL) {
        cJSON_Delete(doc);
        problem(req, 400, "Bad Request", why);
        return;
    }
    if (sim->n_subs == MAX_SUBS) {
        cJSON_Delete(doc);
        problem(req, 503, "Service Unavailable", "too many subscriptions");
        return;
    }
    sub_t *s = &sim->subs[sim->n_subs++];
    s->id = ++sim->next_id;
    s->body = cJSON_Duplicate(sub, true);
    cJSON_Delete(doc);
    save_subs(sim);

    char uri[256];
    snprintf(uri, sizeof(uri), "%s%s/%u", sim->origin, SUBS_PATH, s->id);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddItemToObject(answer, "subscription", cJSON_Duplicate(s->body, true));
    cJSON_AddStringToObject(answer, "subscriptionId", uri);
    lg_httpd_add_header(req, "Location", uri);
    reply_json(req, 201, answer);
    cJSON_Delete(answer);
}

/* Applies one patch item to sub; NULL or why it cannot. */
static const char *apply_item(cJSON *sub, const cJSON *item)
{
    if (!cJSON_IsObject(item) || !is_string(item, "op") || !is_string(item, "path"))
        return "each item needs op and path";
    const char *op = cJSON_GetObjectItemCaseSensitive(item, "op")->valuestring;
    const char *path = cJSON_GetObjectItemCaseSensitive(item, "path")->valuestring;
    if (strcmp(op, "add") != 0 && strcmp(op, "remove") != 0 && strcmp(op, "replace") != 0)
        return "op must be add, remove or replace";
    if (strcmp(path, "/includeSupiList") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "includeSupiList");
        if (strcmp(op, "remove") == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(sub, "includeSupiList");
            return NULL;
        }
        if (!is_supi_list(list))
            return "includeSupiList must be a non-empty array of imsi- SUPIs";
        cJSON_DeleteItemFromObjectCaseSensitive(sub, "includeSupiList");
        cJSON_AddItemToObject(sub, "includeSupiList", cJSON_Duplicate(list, true));
        return NULL;
    }
    if (strcmp(path, "/options/expiry") == 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "value");
        int64_t us;
        if (strcmp(op, "replace") != 0 || !cJSON_IsString(v) ||
            lg_time_parse(v->valuestring, strlen(v->valuestring), &us) != LG_OK)
            return "replace /options/expiry with a date-time value";
        cJSON *opt = cJSON_GetObjectItemCaseSensitive(sub, "options");
        if (opt == NULL)
            return "the subscription has no options";
        cJSON_DeleteItemFromObjectCaseSensitive(opt, "expiry");
        cJSON_AddStringToObject(opt, "expiry", v->valuestring);
        return NULL;
    }
    return "amf-sim patches only /includeSupiList and /options/expiry";
}

static void on_patch(sim_t *sim, lg_httpd_req_t *req, sub_t *s, const char *body, size_t len)
{
    dump_request(sim, "patch", body, len);
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const char *why = NULL;
    if (!cJSON_IsArray(doc) || cJSON_GetArraySize(doc) < 1)
        why = "the body must be a non-empty JSON Patch array";
    cJSON *copy = cJSON_Duplicate(s->body, true);
    const cJSON *item;
    if (why == NULL)
        cJSON_ArrayForEach(item, doc) if (why == NULL) why = apply_item(copy, item);
    cJSON_Delete(doc);
    if (why != NULL) {
        cJSON_Delete(copy);
        problem(req, 400, "Bad Request", why);
        return;
    }
    cJSON_Delete(s->body);
    s->body = copy;
    save_subs(sim);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddItemToObject(answer, "subscription", cJSON_Duplicate(s->body, true));
    reply_json(req, 200, answer);
    cJSON_Delete(answer);
}

static void on_delete(sim_t *sim, lg_httpd_req_t *req, sub_t *s)
{
    dump_request(sim, "delete", "", 0);
    cJSON_Delete(s->body);
    size_t i = (size_t)(s - sim->subs);
    memmove(&sim->subs[i], &sim->subs[i + 1], (sim->n_subs - i - 1) * sizeof(sub_t));
    sim->n_subs--;
    save_subs(sim);
    lg_httpd_reply(req, 204, NULL, 0);
}

static void on_request(lg_httpd_req_t *req, void *arg)
{
    sim_t *sim = arg;
    const char *path = lg_httpd_path(req);
    lg_http_method_t method = lg_httpd_method(req);
    const char *ctype = lg_httpd_header(req, "Content-Type");
    size_t len;
    const char *body = lg_http_body(req, &len);

    if (strcmp(path, SUBS_PATH) == 0) {
        if (method != LG_HTTP_POST) {
            lg_httpd_add_header(req, "Allow", "POST");
            problem(req, 405, "Method Not Allowed", "use POST");
        } else if (!lg_http_is_media_type(ctype, "application/json")) {
            problem(req, 415, "Unsupported Media Type", "send application/json");
        } else {
            on_create(sim, req, body, len);
        }
        return;
    }
    if (strncmp(path, SUBS_PATH "/", sizeof(SUBS_PATH)) != 0) {
        problem(req, 404, "Not Found", "no such resource");
        return;
    }
    sub_t *s = find_sub(sim, path + sizeof(SUBS_PATH));
    if (method == LG_HTTP_PATCH) {
        if (!lg_http_is_media_type(ctype, "application/json-patch+json"))
            problem(req, 415, "Unsupported Media Type", "send application/json-patch+json");
        else if (s == NULL)
            problem(req, 404, "Not Found", "no such subscription");
        else
            on_patch(sim, req, s, body, len);
    } else if (method == LG_HTTP_DELETE) {
        if (s == NULL)
            problem(req, 404, "Not Found", "no such subscription");
        else
            on_delete(sim, req, s);
    } else {
        lg_httpd_add_header(req, "Allow", "PATCH, DELETE");
        problem(req, 405, "Method Not Allowed", "use PATCH or DELETE");
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static int serve(sim_t *sim)
{
    const options_t *o = &sim->opts;
    lg_zone_config_t zc;
    memset(&zc, 0, sizeof(zc));
    lg_strlcpy(zc.name, "amf-sim", sizeof(zc.name));
    zc.kind = LG_ZONE_SOUTHBOUND; /* TLS with a client certificate required */
    const char *colon = strrchr(o->listen, ':');
    if (colon == NULL || (size_t)(colon - o->listen) >= sizeof(zc.host))
        return 2;
    memcpy(zc.host, o->listen, (size_t)(colon - o->listen));
    zc.port = atoi(colon + 1);
    zc.cert_file = (char *)o->cert;
    zc.key_file = (char *)o->key;
    zc.client_ca_file = (char *)o->ca;

    sim->base = event_base_new();
    lg_metrics_t *metrics = lg_metrics_new();
    lg_http_zone_t *zone = lg_http_zone_new(sim->base, &zc, 64 << 20, metrics, on_request, sim);
    if (zone == NULL) {
        fprintf(stderr, "amf-sim: cannot listen on %s\n", o->listen);
        return 1;
    }
    snprintf(sim->origin, sizeof(sim->origin), "https://%s:%d", zc.host, lg_http_zone_port(zone));
    /* Ids unique across restarts, as an AMF's are: a restarted one never
     * hands out the id of a subscription it forgot. */
    sim->next_id = (unsigned)(time(NULL) % 100000) * 1000;
    /* The request dumps go on after those of an earlier run in the same directory. */
    char pattern[4096];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "%s/req-*.json", o->dir);
    if (glob(pattern, 0, NULL, &g) == 0)
        sim->n_requests = (unsigned)g.gl_pathc;
    globfree(&g);
    save_subs(sim);
    if (o->ready_file != NULL) {
        char port[16];
        snprintf(port, sizeof(port), "%d\n", lg_http_zone_port(zone));
        if (write_atomic(o->ready_file, port, strlen(port)) != LG_OK) {
            fprintf(stderr, "amf-sim: cannot write %s\n", o->ready_file);
            return 1;
        }
    }
    struct event *term = evsignal_new(sim->base, SIGTERM, on_stop, sim->base);
    struct event *intr = evsignal_new(sim->base, SIGINT, on_stop, sim->base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(sim->base);
    event_free(term);
    event_free(intr);
    lg_http_zone_free(zone);
    for (size_t i = 0; i < sim->n_subs; i++)
        cJSON_Delete(sim->subs[i].body);
    lg_metrics_free(metrics);
    event_base_free(sim->base);
    return 0;
}

/* ---- notify ------------------------------------------------------------------------------- */

/* The subscription of subs (subscriptions.json) that covers supi, or NULL. */
static const cJSON *covering(const cJSON *subs, const char *supi)
{
    const cJSON *entry;
    cJSON_ArrayForEach(entry, subs)
    {
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(entry, "subscription");
        const cJSON *inc = cJSON_GetObjectItemCaseSensitive(sub, "includeSupiList");
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(sub, "supi");
        if (cJSON_IsString(one) && strcmp(one->valuestring, supi) == 0)
            return entry;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sub, "anyUE")))
            continue;
        if (inc == NULL)
            return entry;
        const cJSON *e;
        cJSON_ArrayForEach(e, inc) if (cJSON_IsString(e) &&
                                       strcmp(e->valuestring, supi) == 0) return entry;
    }
    return NULL;
}

/* "MCC-MNC" into a plmnId object; NULL when malformed. */
static cJSON *plmn(const char *s, size_t n)
{
    char mcc[4], mnc[4];
    if (n < 6 || n > 7 || s[3] != '-')
        return NULL;
    memcpy(mcc, s, 3);
    mcc[3] = '\0';
    memcpy(mnc, s + 4, n - 4);
    mnc[n - 4] = '\0';
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "mcc", mcc);
    cJSON_AddStringToObject(p, "mnc", mnc);
    return p;
}

/* The location of "TAI CELL": eutraLocation (7 hex digits) or nrLocation (9). */
static cJSON *location(const char *tai, const char *cell)
{
    const char *tc = strchr(tai, ':'), *cc = strchr(cell, ':');
    if (tc == NULL || cc == NULL)
        return NULL;
    cJSON *tai_plmn = plmn(tai, (size_t)(tc - tai));
    cJSON *cell_plmn = plmn(cell, (size_t)(cc - cell));
    size_t id_len = strlen(cc + 1);
    if (tai_plmn == NULL || cell_plmn == NULL || (id_len != 7 && id_len != 9)) {
        cJSON_Delete(tai_plmn);
        cJSON_Delete(cell_plmn);
        return NULL;
    }
    bool is_nr = id_len == 9;
    cJSON *loc = cJSON_CreateObject();
    cJSON *l = cJSON_AddObjectToObject(loc, is_nr ? "nrLocation" : "eutraLocation");
    cJSON *t = cJSON_AddObjectToObject(l, "tai");
    cJSON_AddItemToObject(t, "plmnId", tai_plmn);
    cJSON_AddStringToObject(t, "tac", tc + 1);
    cJSON *c = cJSON_AddObjectToObject(l, is_nr ? "ncgi" : "ecgi");
    cJSON_AddItemToObject(c, "plmnId", cell_plmn);
    cJSON_AddStringToObject(c, is_nr ? "nrCellId" : "eutraCellId", cc + 1);
    return loc;
}

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

static int notify(sim_t *sim)
{
    const options_t *o = &sim->opts;
    char path[4096];
    snprintf(path, sizeof(path), "%s/subscriptions.json", o->dir);
    char *text = read_all(path);
    cJSON *subs = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsArray(subs)) {
        fprintf(stderr, "amf-sim: no subscriptions in %s\n", path);
        cJSON_Delete(subs);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     o->is_http1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl, CURLOPT_SSLCERT, o->cert);
    curl_easy_setopt(curl, CURLOPT_SSLKEY, o->key);
    curl_easy_setopt(curl, CURLOPT_CAINFO, o->ca);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    int rc = 0;
    unsigned n_sent = 0;
    char line[512];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char supi[64], tai[64], cell[64];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%63s %63s %63s", supi, tai, cell) != 3) {
            fprintf(stderr, "amf-sim: bad story line: %s", line);
            rc = 2;
            break;
        }
        const cJSON *entry = covering(subs, supi);
        if (entry == NULL) {
            puts("skip");
            fflush(stdout);
            continue;
        }
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(entry, "subscription");
        cJSON *loc = location(tai, cell);
        if (loc == NULL) {
            fprintf(stderr, "amf-sim: bad TAI or cell: %s", line);
            rc = 2;
            break;
        }
        char ts[40];
        cJSON *n = cJSON_CreateObject();
        cJSON_AddStringToObject(
            n, "notifyCorrelationId",
            o->corr ? o->corr
                    : cJSON_GetObjectItemCaseSensitive(sub, "notifyCorrelationId")->valuestring);
        cJSON *list = cJSON_AddArrayToObject(n, "reportList");
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "type", "LOCATION_REPORT");
        cJSON_AddBoolToObject(cJSON_AddObjectToObject(r, "state"), "active", true);
        cJSON_AddStringToObject(r, "timeStamp", lg_time_format(lg_now_us(), ts, sizeof(ts)));
        cJSON_AddStringToObject(r, "subscriptionId",
                                cJSON_GetObjectItemCaseSensitive(entry, "uri")->valuestring);
        cJSON_AddStringToObject(r, "supi", supi);
        cJSON_AddItemToObject(r, "location", loc);
        cJSON_AddItemToArray(list, r);
        char *body = cJSON_PrintUnformatted(n);
        cJSON_Delete(n);
        /* Numbered after the files earlier runs left. */
        do
            snprintf(path, sizeof(path), "%s/notify-%04u.json", o->dir, ++n_sent);
        while (access(path, F_OK) == 0);
        if (write_atomic(path, body, strlen(body)) != LG_OK)
            fprintf(stderr, "amf-sim: cannot write %s\n", path);

        curl_easy_setopt(curl, CURLOPT_URL,
                         cJSON_GetObjectItemCaseSensitive(sub, "eventNotifyUri")->valuestring);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        for (int i = 0; i < o->repeat; i++) {
            long status = 0;
            CURLcode cc = curl_easy_perform(curl);
            if (cc == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
            else
                fprintf(stderr, "amf-sim: %s\n", curl_easy_strerror(cc));
            printf("%03ld\n", status);
            fflush(stdout);
            if (status < 200 || status > 299)
                rc = rc ? rc : 1;
        }
        free(body);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    cJSON_Delete(subs);
    return rc;
}

static void usage(FILE *f)
{
    fputs("usage: amf-sim serve --listen HOST:PORT --cert F --key F --ca F --dir DIR"
          " [--ready-file F]\n"
          "       amf-sim notify --dir DIR --cert F --key F --ca F [--repeat N] [--corr ID]"
          " [--http1.1] < story\n",
          f);
}

int main(int argc, char **argv)
{
    enum { O_LISTEN = 1, O_CERT, O_KEY, O_CA, O_DIR, O_READY, O_REPEAT, O_CORR, O_HTTP1 };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"dir", required_argument, NULL, O_DIR},
        {"ready-file", required_argument, NULL, O_READY},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"corr", required_argument, NULL, O_CORR},
        {"http1.1", no_argument, NULL, O_HTTP1},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static sim_t sim; /* large; zeroed */
    sim.opts.repeat = 1;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[1];
    optind = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_LISTEN:
            sim.opts.listen = optarg;
            break;
        case O_CERT:
            sim.opts.cert = optarg;
            break;
        case O_KEY:
            sim.opts.key = optarg;
            break;
        case O_CA:
            sim.opts.ca = optarg;
            break;
        case O_DIR:
            sim.opts.dir = optarg;
            break;
        case O_READY:
            sim.opts.ready_file = optarg;
            break;
        case O_REPEAT:
            sim.opts.repeat = atoi(optarg);
            break;
        case O_CORR:
            sim.opts.corr = optarg;
            break;
        case O_HTTP1:
            sim.opts.is_http1 = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (sim.opts.cert == NULL || sim.opts.key == NULL || sim.opts.ca == NULL ||
        sim.opts.dir == NULL || sim.opts.repeat < 1 || sim.opts.repeat > 100) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    lg_log_level = LG_LOG_WARN;
    if (strcmp(mode, "serve") == 0 && sim.opts.listen != NULL)
        return serve(&sim);
    if (strcmp(mode, "notify") == 0)
        return notify(&sim);
    usage(stderr);
    return 2;
}
