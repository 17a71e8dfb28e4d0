/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl: the operator CLI over the daemon's admin zone. It turns one
 * command line into one (or, for `health`, two) plain HTTP/1.1 requests to the
 * admin API on loopback, authenticated with the bearer token read from
 * --token-file, and prints the answer as an aligned table (or the raw JSON
 * with --json). Every command is a row of the command table below: method,
 * path template, the options it takes, how its body is built and how its
 * answer is printed. Errors from the daemon arrive as ProblemDetails and are
 * printed to stderr (with --json, also the daemon's body as sent, on stdout);
 * local errors (a bad command line, an unreadable file, a daemon that cannot
 * be reached) are printed the same way, as a problem object of the same
 * shape. The exit status says which kind of failure it was (see
 * exit_statuses). The CLI blocks on a private event_base; nothing here is
 * shared with the daemon's loop.
 */
#include "locguard/core/base64.h"
#include "locguard/core/common.h"
#include "locguard/core/timefmt.h"
#include "locguard/core/token.h"
#include "locguard/core/version.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

/*
 * Process exit statuses, one per kind of outcome a script may act on
 * differently; exit_statuses below names them for --help and the README.
 */
enum exit_status {
    EXIT_OK = 0,          /* the daemon did it */
    EXIT_FAIL = 1,        /* any other error: refused input, authentication, a local file */
    EXIT_USAGE = 2,       /* the command line is wrong; nothing was sent */
    EXIT_NOT_FOUND = 3,   /* 404: the named node, device, area... does not exist */
    EXIT_CONFLICT = 4,    /* 409: it exists already, differently, or something depends on it */
    EXIT_UNAVAILABLE = 5, /* no answer, or 502/503/504/429: the daemon or its database is down */
};

/* How each exit status is shown: in --help, and in --json problems made here. */
static const struct {
    enum exit_status status;
    int http_status; /* the HTTP status a local error of this kind stands for */
    const char *title;
    const char *cause;   /* "cause" of a problem object made locally */
    const char *meaning; /* the --help line */
} exit_statuses[] = {
    {EXIT_OK, 200, "OK", NULL, "success"},
    {EXIT_FAIL, 500, "Error", "LOCAL_ERROR",
     "other error (invalid input, authentication, an unreadable file)"},
    {EXIT_USAGE, 400, "Bad Request", "INVALID_USAGE", "bad command line; nothing was sent"},
    {EXIT_NOT_FOUND, 404, "Not Found", "RESOURCE_NOT_FOUND", "not found (HTTP 404)"},
    {EXIT_CONFLICT, 409, "Conflict", "RESOURCE_CONFLICT",
     "conflict (HTTP 409: exists with other values, or in use)"},
    {EXIT_UNAVAILABLE, 503, "Service Unavailable", "DAEMON_UNREACHABLE",
     "unavailable: daemon unreachable, HTTP 502/503/504/429, database down"},
};

#define DEFAULT_URL       "http://127.0.0.1:7080"
#define REQUEST_TIMEOUT_S 30
#define MAX_ARGS          2
#define MAX_CMD_OPTS      6
#define MAX_TOKEN_BYTES   4096
#define MAX_REPEATS       16 /* values of one repeatable option (--scope) */
#define MAX_INPUT_BYTES   (64u * 1024u * 1024u)

/* Where the admin API lives and how to authenticate; built once in main. */
struct ctl {
    char *url;               /* the --url as given, for messages */
    char *host;              /* host to connect to (IPv6 without brackets) */
    char *host_header;       /* value of the Host header */
    int port;                /* TCP port */
    char *prefix;            /* path prefix from the URL, no trailing '/' */
    char *token;             /* bearer token, NULL when no token file; wiped on exit */
    bool is_json;            /* --json: print raw JSON instead of tables */
    struct event_base *base; /* private loop, blocking is fine in a CLI */
};

/* One HTTP answer (or transport failure) collected by on_response. */
struct response {
    int status;            /* HTTP status, 0 when no response arrived */
    const char *err;       /* transport error, constant string, NULL when none */
    struct evbuffer *body; /* response body */
};

/* A request body built by a command's body builder; data is owned. */
struct body {
    char *data;
    size_t len;
    const char *content_type;
};

struct command;

/* A parsed command line: the command, its positionals, its option values. */
struct invocation {
    const struct command *cmd;
    const char *args[MAX_ARGS];
    const char *opt_values[MAX_CMD_OPTS]; /* indexed like cmd->opts; flags get "" */
    const char *repeats[MAX_REPEATS];     /* every value of the repeatable option, in order */
    size_t n_repeats;
};

/*
 * Builds a request body. Returns EXIT_OK, or the exit status to stop with
 * after printing why.
 */
typedef int (*body_cb)(const struct invocation *inv, struct body *out);

/* Prints a successful JSON answer in human form. */
typedef void (*print_cb)(json_t *doc);

/* Runs a command that does not fit the one-request pattern; returns the exit status. */
typedef int (*run_cb)(struct ctl *ctl, const struct invocation *inv);

/*
 * One CLI command. opts lists option names without dashes; a trailing '!'
 * marks a required option. In path, "{1}" is the first positional and
 * "{name}" the value of option --name, both percent-encoded as one segment.
 * For GET commands every given value option becomes a query parameter of
 * the same name.
 */
struct command {
    const char *group; /* first word */
    const char *verb;  /* second word, NULL for one-word commands */
    int nargs;         /* positional arguments after the words */
    const char *opts[MAX_CMD_OPTS];
    enum evhttp_cmd_type method;
    const char *path;
    body_cb build;  /* NULL: no body */
    print_cb print; /* NULL: the answer is text, printed as is */
    run_cb run;     /* overrides method/path/build/print when set */
    const char *synopsis;
    const char *summary;
};

/* An option any command may use, and whether it takes a value. */
struct option_spec {
    const char *name;
    bool has_value;
    const char *choices; /* '|'-separated allowed values, NULL for any */
};

/* A table column: header and '|'-separated alternative keys, each a dotted path. */
struct column {
    const char *header;
    const char *keys;
};

static int body_node_add(const struct invocation *inv, struct body *out);
static int body_node_enable(const struct invocation *inv, struct body *out);
static int body_node_disable(const struct invocation *inv, struct body *out);
static int body_allow(const struct invocation *inv, struct body *out);
static int body_deny(const struct invocation *inv, struct body *out);
static int body_device_add(const struct invocation *inv, struct body *out);
static int body_area_add(const struct invocation *inv, struct body *out);
static int body_cell_import(const struct invocation *inv, struct body *out);
static int body_scs_add(const struct invocation *inv, struct body *out);
static int body_client_add(const struct invocation *inv, struct body *out);
static int body_group_add(const struct invocation *inv, struct body *out);
static int body_grant(const struct invocation *inv, struct body *out);
static int body_consent_grant(const struct invocation *inv, struct body *out);
static int body_consent_revoke(const struct invocation *inv, struct body *out);
static int body_count(const struct invocation *inv, struct body *out);
static void print_client_secret(json_t *doc);
static void print_outbox(json_t *doc);
static void print_object(json_t *doc);
static void print_list(json_t *doc);
static void print_devices(json_t *doc);
static void print_alerts(json_t *doc);
static void print_geojson(json_t *doc);
static void print_compact(json_t *doc);
static int run_health(struct ctl *ctl, const struct invocation *inv);

static const struct option_spec option_specs[] = {
    {"url", true, NULL},
    {"token-file", true, NULL},
    {"json", false, NULL},
    {"help", false, NULL},
    {"kind", true, "MME|SGSN|AMF"},
    {"supi", true, NULL},
    {"external-id", true, NULL},
    {"msisdn", true, NULL},
    {"mobility", true, "fixed|restricted|unrestricted"},
    {"no-monitoring", false, NULL},
    {"ambiguous", true, "inside|outside"},
    {"geojson", true, NULL},
    {"limit", true, NULL},
    {"device", true, NULL},
    {"since", true, NULL},
    {"until", true, NULL},
    {"secret", true, NULL},
    {"previous-secret", true, NULL},
    {"allow-private", false, NULL},
    {"cert-cn", true, NULL},
    {"name", true, NULL},
    {"scope", true, NULL},
    {"scs", true, NULL},
    {"local-id", true, NULL},
    {"group", true, NULL},
    {"service", true, "location-monitoring"},
    {"purpose", true, "location-monitoring|anonymous-statistics"},
    {"expires", true, NULL},
    {"status", true, "pending|delivered|failed|dropped"},
    {"circle", true, NULL},
};

/* Options that may be given more than once; their values are collected in order. */
static const char *const repeatable_options[] = {"scope"};

/* Options whose query parameter (GET) has another name than the option. */
static const struct {
    const char *option;
    const char *param;
} query_names[] = {
    {"scs", "scsAsId"},
};

/* One command per row reads better than one field per line. */
/* clang-format off */
static const struct command commands[] = {
    {"node", "add", 1, {"kind!"}, EVHTTP_REQ_POST, "/v1/nodes", body_node_add, print_object,
     NULL, "node add NAME --kind MME|SGSN|AMF", "register a core-network node"},
    {"node", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/nodes", NULL, print_list, NULL,
     "node list", "list core-network nodes"},
    {"node", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/nodes/{1}", NULL, print_object, NULL,
     "node remove NAME", "delete a node"},
    {"node", "disable", 1, {NULL}, EVHTTP_REQ_PATCH, "/v1/nodes/{1}", body_node_disable,
     print_object, NULL, "node disable NAME", "stop accepting reports from a node"},
    {"node", "enable", 1, {NULL}, EVHTTP_REQ_PATCH, "/v1/nodes/{1}", body_node_enable,
     print_object, NULL, "node enable NAME", "accept reports from a node again"},
    {"device", "add", 0,
     {"supi!", "external-id!", "msisdn", "mobility!", "no-monitoring", "ambiguous"},
     EVHTTP_REQ_PUT, "/v1/devices/{external-id}", body_device_add, print_object, NULL,
     "device add --supi imsi-... --external-id ID [--msisdn msisdn-...]\n"
     "           --mobility fixed|restricted|unrestricted [--no-monitoring]\n"
     "           [--ambiguous inside|outside]",
     "create or replace a device"},
    {"device", "list", 0, {"limit"}, EVHTTP_REQ_GET, "/v1/devices", NULL, print_devices, NULL,
     "device list [--limit N]", "list devices and their zone state"},
    {"device", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}", NULL, print_object, NULL,
     "device show ID", "show one device"},
    {"device", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/devices/{1}", NULL, print_object,
     NULL, "device remove ID", "delete a device"},
    {"device", "areas", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}/areas", NULL, print_list,
     NULL, "device areas DEVICE", "list the areas a device is authorized in"},
    {"area", "add", 1, {"geojson!"}, EVHTTP_REQ_PUT, "/v1/areas/{1}", body_area_add,
     print_object, NULL, "area add NAME --geojson FILE|-",
     "create or replace an area from a GeoJSON Polygon/MultiPolygon (or Feature)"},
    {"area", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/areas", NULL, print_list, NULL,
     "area list", "list areas"},
    {"area", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/areas/{1}", NULL, print_geojson, NULL,
     "area show NAME", "print an area's GeoJSON geometry"},
    {"area", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/areas/{1}", NULL, print_object, NULL,
     "area remove NAME", "delete an area"},
    {"authorize", NULL, 2, {NULL}, EVHTTP_REQ_PUT, "/v1/devices/{1}/areas/{2}", NULL,
     print_object, NULL, "authorize DEVICE AREA", "authorize a device in an area"},
    {"unauthorize", NULL, 2, {NULL}, EVHTTP_REQ_DELETE, "/v1/devices/{1}/areas/{2}", NULL,
     print_object, NULL, "unauthorize DEVICE AREA", "withdraw a device's authorization"},
    {"cell", "import", 1, {NULL}, EVHTTP_REQ_POST, "/v1/cells", body_cell_import,
     print_compact, NULL, "cell import FILE.csv|-", "import cells from CSV"},
    {"cell", "list", 0, {"limit"}, EVHTTP_REQ_GET, "/v1/cells", NULL, print_list, NULL,
     "cell list [--limit N]", "list cells"},
    {"alert", "list", 0, {"device", "since", "until", "limit"}, EVHTTP_REQ_GET, "/v1/alerts",
     NULL, print_alerts, NULL,
     "alert list [--device ID] [--since RFC3339] [--until RFC3339] [--limit N]",
     "list zone alerts"},
    {"health", NULL, 0, {NULL}, EVHTTP_REQ_GET, NULL, NULL, NULL, run_health, "health",
     "check /healthz and /readyz"},
    {"metrics", NULL, 0, {NULL}, EVHTTP_REQ_GET, "/metrics", NULL, NULL, NULL, "metrics",
     "print the Prometheus metrics"},
    {"scs", "add", 1, {"secret!", "previous-secret", "allow-private", "cert-cn", "name"},
     EVHTTP_REQ_PUT, "/v1/scs/{1}", body_scs_add, print_object, NULL,
     "scs add SCSASID --secret whsec_... [--previous-secret whsec_...]\n"
     "           [--allow-private] [--cert-cn CN] [--name NAME]",
     "create or replace an SCS/AS: webhook secret(s), private destinations, mTLS CN"},
    {"scs", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/scs", NULL, print_list, NULL,
     "scs list", "list SCS/ASs (secrets are never shown)"},
    {"scs", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/scs/{1}", NULL, print_object, NULL,
     "scs show SCSASID", "show one SCS/AS"},
    {"scs", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/scs/{1}", NULL, print_object, NULL,
     "scs remove SCSASID", "delete an SCS/AS with its clients, grants and subscriptions"},
    {"scs", "allow-area-counts", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/area-counts",
     body_allow, print_object, NULL, "scs allow-area-counts SCSASID",
     "let an SCS/AS subscribe to NUMBER_OF_UES_IN_AN_AREA (anonymized counts only)"},
    {"scs", "deny-area-counts", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/area-counts", body_deny,
     print_object, NULL, "scs deny-area-counts SCSASID",
     "withdraw it: its area subscriptions end and pending reports are dropped"},
    {"scs", "allow-geo-area", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/geo-area", body_allow,
     print_object, NULL, "scs allow-geo-area SCSASID",
     "let an SCS/AS subscribe with accuracy GEO_AREA (reported positions)"},
    {"scs", "deny-geo-area", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/geo-area", body_deny,
     print_object, NULL, "scs deny-geo-area SCSASID",
     "withdraw it: its GEO_AREA subscriptions end and pending notifications are dropped"},
    {"client", "add", 1, {"scope!", "scs"}, EVHTTP_REQ_POST, "/v1/clients", body_client_add,
     print_client_secret, NULL, "client add CLIENTID --scope S [--scope S2 ...] [--scs SCSASID]",
     "create an OAuth2 client; prints its generated secret once"},
    {"client", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/clients", NULL, print_list, NULL,
     "client list", "list OAuth2 clients"},
    {"client", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/clients/{1}", NULL, print_object,
     NULL, "client remove CLIENTID", "delete an OAuth2 client"},
    {"group", "add", 1, {"local-id!"}, EVHTTP_REQ_PUT, "/v1/groups/{1}", body_group_add,
     print_object, NULL, "group add EXTGROUPID --local-id LOCALID",
     "create or replace a device group (External Group ID local@domain)"},
    {"group", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/groups", NULL, print_list, NULL,
     "group list", "list device groups"},
    {"group", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/groups/{1}", NULL, print_object, NULL,
     "group remove EXTGROUPID", "delete a device group"},
    {"group", "member add", 2, {NULL}, EVHTTP_REQ_PUT, "/v1/groups/{1}/members/{2}", NULL,
     print_object, NULL, "group member add EXTGROUPID DEVICE", "add a device to a group"},
    {"group", "member remove", 2, {NULL}, EVHTTP_REQ_DELETE, "/v1/groups/{1}/members/{2}", NULL,
     print_object, NULL, "group member remove EXTGROUPID DEVICE",
     "remove a device from a group"},
    {"group", "members", 1, {NULL}, EVHTTP_REQ_GET, "/v1/groups/{1}/members", NULL, print_list,
     NULL, "group members EXTGROUPID", "list the devices of a group"},
    {"grant", NULL, 1, {"device", "group", "service"}, EVHTTP_REQ_POST, "/v1/grants", body_grant,
     print_object, NULL,
     "grant SCSASID --device ID | --group EXTGROUPID [--service location-monitoring]",
     "grant an SCS/AS a service for a device or a group"},
    {"revoke-grant", NULL, 1, {"device", "group", "service"}, EVHTTP_REQ_POST,
     "/v1/grants/remove", body_grant, print_object, NULL,
     "revoke-grant SCSASID --device ID | --group EXTGROUPID [--service location-monitoring]",
     "withdraw a grant"},
    {"grants", NULL, 0, {"scs"}, EVHTTP_REQ_GET, "/v1/grants", NULL, print_list, NULL,
     "grants [--scs SCSASID]", "list grants"},
    {"consent", "grant", 1, {"purpose!", "scs", "expires"}, EVHTTP_REQ_POST,
     "/v1/devices/{1}/consents", body_consent_grant, print_object, NULL,
     "consent grant DEVICE --purpose location-monitoring|anonymous-statistics\n"
     "           [--scs SCSASID] [--expires RFC3339]",
     "record a device's consent (for one SCS/AS, or any when --scs is absent)"},
    {"consent", "revoke", 1, {"purpose!", "scs"}, EVHTTP_REQ_POST,
     "/v1/devices/{1}/consents/revoke", body_consent_revoke, print_object, NULL,
     "consent revoke DEVICE --purpose location-monitoring|anonymous-statistics [--scs SCSASID]",
     "revoke consents: drops pending alerts, ends subscriptions, notifies the SCS/AS"},
    {"consent", "list", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}/consents", NULL, print_list,
     NULL, "consent list DEVICE", "list a device's consents"},
    {"outbox", "list", 0, {"status", "scs", "limit"}, EVHTTP_REQ_GET, "/v1/outbox", NULL,
     print_outbox, NULL,
     "outbox list [--status pending|delivered|failed|dropped] [--scs SCSASID] [--limit N]",
     "list notifications waiting for or done with delivery"},
    {"count", NULL, 0, {"geojson", "circle"}, EVHTTP_REQ_POST, "/v1/counts/exact", body_count,
     print_compact, NULL, "count --geojson FILE|- | --circle LAT,LON,RADIUS_M",
     "exact number of consented devices in an area (operators only; audited)"},
};
/* clang-format on */

static const struct column device_columns[] = {
    {"EXTERNAL ID", "externalId"},   {"SUPI", "supi"},
    {"MOBILITY", "mobility"},        {"MONITORING", "monitoringAllowed"},
    {"STATE", "location.zoneState"},
};

static const struct column alert_columns[] = {
    {"ID", "id|alertId"},
    {"DEVICE", "externalId|device|deviceId"},
    {"KIND", "kind|type"},
    {"REPORTED AT", "reportedAt|reported_at|createdAt"},
    {"CELL", "cellId|cell|ecgi|ncgi|cgi"},
};

/* The outbox never shows payloads: ids, kinds and delivery state only. */
static const struct column outbox_columns[] = {
    {"NOTIF ID", "notifId|notif_id"},
    {"KIND", "kind"},
    {"STATUS", "status"},
    {"ATTEMPTS", "attempts"},
    {"SCS", "scsAsId|scs_as_id"},
    {"DEVICE", "externalId|external_id"},
    {"LAST HTTP", "lastStatus|last_status"},
    {"NEXT ATTEMPT", "nextAttemptAt|next_attempt_at"},
    {"CREATED", "createdAt|created_at"},
};

/*
 * Returns whether a command's verb is verb, or starts with verb and a space
 * ("member" names the "member add" and "member remove" commands).
 */
static bool verb_matches(const char *cmd_verb, const char *verb)
{
    size_t n = strlen(verb);

    return cmd_verb != NULL && strncmp(cmd_verb, verb, n) == 0 &&
           (cmd_verb[n] == '\0' || cmd_verb[n] == ' ');
}

/* Prints the one-line synopses of the commands whose words match (NULL = any). */
static void print_synopses(FILE *f, const char *group, const char *verb)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];

        if (group != NULL && strcmp(c->group, group) != 0)
            continue;
        if (verb != NULL && !verb_matches(c->verb, verb))
            continue;
        fprintf(f, "  locguardctl %s\n      %s\n", c->synopsis, c->summary);
    }
}

/* Prints the full help text. */
static void print_help(FILE *f)
{
    fputs("usage: locguardctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGS]\n"
          "       locguardctl help [COMMAND]\n"
          "\n"
          "Operator CLI over the locguard admin API.\n"
          "\n"
          "  --url URL          admin API (default $LOCGUARD_ADMIN_URL, else " DEFAULT_URL ")\n"
          "  --token-file FILE  file holding the admin bearer token\n"
          "                     (default $LOCGUARD_ADMIN_TOKEN_FILE)\n"
          "  --json             print the daemon's JSON instead of tables\n"
          "  --help             this text\n"
          "\n"
          "commands:\n",
          f);
    print_synopses(f, NULL, NULL);
    fputs("\nexit status:\n", f);
    for (size_t i = 0; i < LG_ARRAY_SIZE(exit_statuses); i++)
        fprintf(f, "  %d  %s\n", (int)exit_statuses[i].status, exit_statuses[i].meaning);
    fputs("\nWith --json, an error is also printed on stdout as one JSON problem object:\n"
          "the daemon's ProblemDetails as sent, or {title, status, detail, cause} made\n"
          "here (cause INVALID_USAGE, LOCAL_ERROR or DAEMON_UNREACHABLE). The message\n"
          "for people goes to stderr either way.\n",
          f);
}

/*
 * Whether errors are also printed as JSON problem objects on stdout (--json).
 * Set once in main before anything can fail; read by the error printers,
 * which every layer calls (option checks, body builders, the HTTP call)
 * without a struct ctl to carry it.
 */
static bool errors_as_json;

/* Returns the row of exit_statuses describing status (EXIT_FAIL's for an unknown one). */
static size_t exit_row(enum exit_status status)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(exit_statuses); i++)
        if (exit_statuses[i].status == status)
            return i;
    return 1;
}

/*
 * Maps the HTTP status of the daemon's answer (0: no answer at all) to the
 * exit status: 2xx success, 404 not found, 409 conflict, no answer or a
 * retryable 429/502/503/504 unavailable, anything else a plain failure.
 */
static enum exit_status exit_status_of(int http_status)
{
    if (http_status >= 200 && http_status <= 299)
        return EXIT_OK;
    switch (http_status) {
    case 0:
    case 429:
    case 502:
    case 503:
    case 504:
        return EXIT_UNAVAILABLE;
    case 404:
        return EXIT_NOT_FOUND;
    case 409:
        return EXIT_CONFLICT;
    default:
        return EXIT_FAIL;
    }
}

/*
 * Builds the problem object printed with --json for an error found here
 * rather than by the daemon: the admin zone's ProblemDetails shape (title,
 * status, detail, cause), with the HTTP status this kind of error stands for
 * and a cause naming the local kind. Returns a new reference.
 */
static json_t *local_problem(enum exit_status status, const char *detail)
{
    size_t row = exit_row(status);
    json_t *doc = json_object();
    json_t *text = json_string(detail);

    if (text == NULL) {
        /* Not UTF-8 (a file name from the command line): keep its ASCII part. */
        char *ascii = lg_xstrdup(detail);

        for (char *c = ascii; *c != '\0'; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
        text = json_string(ascii);
        free(ascii);
    }
    if (doc == NULL || text == NULL)
        abort();
    json_object_set_new(doc, "title", json_string(exit_statuses[row].title));
    json_object_set_new(doc, "status", json_integer(exit_statuses[row].http_status));
    json_object_set_new(doc, "detail", text);
    if (exit_statuses[row].cause != NULL)
        json_object_set_new(doc, "cause", json_string(exit_statuses[row].cause));
    return doc;
}

/* Prints doc compactly on one line of stdout. */
static void put_json_line(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);

    if (text == NULL)
        abort();
    puts(text);
    free(text);
}

/*
 * Prints "locguardctl: MESSAGE" to stderr and, with --json, the local
 * problem object on stdout. Returns status.
 */
static int vreport(enum exit_status status, const char *fmt, va_list ap)
{
    char msg[1024];
    json_t *doc;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "locguardctl: %s\n", msg);
    if (errors_as_json) {
        doc = local_problem(status, msg);
        put_json_line(doc);
        json_decref(doc);
    }
    return status;
}

/* Prints an error of kind status (see vreport); returns status. */
LG_PRINTF(2, 3)
static int report(enum exit_status status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(status, fmt, ap);
    va_end(ap);
    return status;
}

/* Prints a usage error and the synopsis of the command concerned; returns EXIT_USAGE. */
LG_PRINTF(2, 3)
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(EXIT_USAGE, fmt, ap);
    va_end(ap);
    if (cmd != NULL)
        print_synopses(stderr, cmd->group, cmd->verb);
    else
        fputs("try 'locguardctl --help'\n", stderr);
    return EXIT_USAGE;
}

/* Shorthands of report for the two kinds most call sites raise. */
#define report_failure(...)     report(EXIT_FAIL, __VA_ARGS__)
#define report_unavailable(...) report(EXIT_UNAVAILABLE, __VA_ARGS__)

/* Returns the spec of the option called name, or NULL. */
static const struct option_spec *find_option(const char *name)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(option_specs); i++)
        if (strcmp(option_specs[i].name, name) == 0)
            return &option_specs[i];
    return NULL;
}

/* Returns whether word is one of the '|'-separated choices. */
static bool is_choice(const char *choices, const char *word)
{
    size_t n = strlen(word);
    const char *p = choices;

    while (*p != '\0') {
        const char *end = strchr(p, '|');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        if (len == n && strncmp(p, word, n) == 0)
            return true;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

/* Compares a command's option entry ("kind!") with a bare name ("kind"). */
static bool opt_matches(const char *entry, const char *name)
{
    size_t n = strlen(name);

    return strncmp(entry, name, n) == 0 && (entry[n] == '\0' || entry[n] == '!');
}

/* Returns the value of option name in inv (flags: ""), or NULL when not given. */
static const char *opt(const struct invocation *inv, const char *name)
{
    for (int i = 0; i < MAX_CMD_OPTS && inv->cmd->opts[i] != NULL; i++)
        if (opt_matches(inv->cmd->opts[i], name))
            return inv->opt_values[i];
    return NULL;
}

/* Parses a positive decimal integer that fits an int. */
static bool parse_positive(const char *s, long *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > INT_MAX)
        return false;
    *out = v;
    return true;
}

/* Returns whether s is "whsec_" followed by non-empty, padded standard base64 (as the daemon reads
 * it). */
static bool is_webhook_secret(const char *s)
{
    static const char prefix[] = "whsec_";
    uint8_t key[256];
    size_t n;

    if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
        return false;
    s += sizeof(prefix) - 1;
    return lg_base64_decode(s, strlen(s), false, key, sizeof(key), &n) == LG_OK && n > 0;
}

/* Returns whether s is one RFC 6749 scope-token: printable ASCII but space, '"' and '\\'. */
static bool is_scope_token(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* Returns whether the option may be given more than once. */
static bool is_repeatable(const char *name)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(repeatable_options); i++)
        if (strcmp(repeatable_options[i], name) == 0)
            return true;
    return false;
}

/* Returns the query parameter name of an option of a GET command. */
static const char *query_name(const char *option)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(query_names); i++)
        if (strcmp(query_names[i].option, option) == 0)
            return query_names[i].param;
    return option;
}

/* Checks an option's value against the rules that need no daemon; returns NULL or a reason. */
static const char *check_value(const char *name, const char *value)
{
    const struct option_spec *spec = find_option(name);
    long n;
    int64_t us;

    if (spec != NULL && spec->choices != NULL && !is_choice(spec->choices, value))
        return spec->choices;
    if (strcmp(name, "limit") == 0 && !parse_positive(value, &n))
        return "a positive integer";
    if ((strcmp(name, "since") == 0 || strcmp(name, "until") == 0) &&
        lg_time_parse(value, strlen(value), &us) != LG_OK)
        return "an RFC 3339 date-time such as 2026-01-31T12:00:00Z";
    if (strcmp(name, "expires") == 0 && lg_time_parse(value, strlen(value), &us) != LG_OK)
        return "an RFC 3339 date-time such as 2027-01-31T12:00:00Z";
    if ((strcmp(name, "secret") == 0 || strcmp(name, "previous-secret") == 0) &&
        !is_webhook_secret(value))
        return "whsec_ followed by base64 (Standard Webhooks), e.g. from "
               "'echo whsec_$(openssl rand -base64 32)'";
    if (strcmp(name, "scope") == 0 && !is_scope_token(value))
        return "one OAuth2 scope (no spaces or quotes)";
    if (value[0] == '\0')
        return "a non-empty value";
    return NULL;
}

/* Returns whether some command has this group and a verb. */
static bool group_has_verbs(const char *group)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].group, group) == 0 && commands[i].verb != NULL)
            return true;
    return false;
}

/* Returns whether some command has this group. */
static bool group_exists(const char *group)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].group, group) == 0)
            return true;
    return false;
}

/* Finds the command for group and verb (verb NULL for one-word commands). */
static const struct command *find_command(const char *group, const char *verb)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];

        if (strcmp(c->group, group) != 0)
            continue;
        if ((c->verb == NULL) != (verb == NULL))
            continue;
        if (verb == NULL || strcmp(c->verb, verb) == 0)
            return c;
    }
    return NULL;
}

/* Percent-encodes s (everything but RFC 3986 unreserved characters) onto b. */
static void add_encoded(struct evbuffer *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            evbuffer_add(b, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            evbuffer_add(b, esc, sizeof(esc));
        }
    }
}

/* Takes the contents of b as a malloc'd NUL-terminated string. */
static char *buffer_to_string(struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    char *s = lg_xmalloc(len + 1);

    evbuffer_remove(b, s, len);
    s[len] = '\0';
    return s;
}

/*
 * Expands inv's path template into a request path with percent-encoded
 * segments and, for GETs, a query string. Returns a malloc'd string, or NULL
 * after printing a usage error when a segment is empty, "." or "..".
 */
static char *expand_path(const struct invocation *inv)
{
    const struct command *cmd = inv->cmd;
    struct evbuffer *b = evbuffer_new();
    const char *p = cmd->path;
    char *path = NULL;
    bool has_query = false;

    if (b == NULL)
        abort();
    while (*p != '\0') {
        const char *close;
        char name[32];
        const char *value;
        size_t len;

        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            evbuffer_add(b, p, 1);
            p++;
            continue;
        }
        len = (size_t)(close - p - 1);
        if (len >= sizeof(name))
            abort(); /* a bad template is a programming error */
        memcpy(name, p + 1, len);
        name[len] = '\0';
        if (isdigit((unsigned char)name[0]))
            value = inv->args[name[0] - '1'];
        else
            value = opt(inv, name);
        if (value == NULL || value[0] == '\0' || strcmp(value, ".") == 0 ||
            strcmp(value, "..") == 0) {
            usage_error(cmd, "'%s' cannot be used as a name", value != NULL ? value : "");
            goto failed;
        }
        add_encoded(b, value);
        p = close + 1;
    }
    if (cmd->method == EVHTTP_REQ_GET) {
        for (int i = 0; i < MAX_CMD_OPTS && cmd->opts[i] != NULL; i++) {
            const struct option_spec *spec;
            char name[32];

            if (inv->opt_values[i] == NULL)
                continue;
            lg_strlcpy(name, cmd->opts[i], sizeof(name));
            name[strcspn(name, "!")] = '\0';
            spec = find_option(name);
            if (spec == NULL || !spec->has_value)
                continue;
            evbuffer_add(b, has_query ? "&" : "?", 1);
            add_encoded(b, query_name(name));
            evbuffer_add(b, "=", 1);
            add_encoded(b, inv->opt_values[i]);
            has_query = true;
        }
    }
    path = buffer_to_string(b);
failed:
    evbuffer_free(b);
    return path;
}

/*
 * Reads a whole file (or stdin for "-") into a malloc'd NUL-terminated
 * buffer. Returns NULL after printing why.
 */
static char *read_input(const char *file, size_t *out_len)
{
    bool is_stdin = strcmp(file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(file, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL) {
        report_failure("cannot open %s: %s", file, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            cap = cap == 0 ? 8192 : cap * 2;
            data = lg_xrealloc(data, cap + 1);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (len > MAX_INPUT_BYTES) {
            report_failure("%s is larger than %u bytes", file, MAX_INPUT_BYTES);
            goto failed;
        }
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        report_failure("cannot read %s: %s", file, strerror(errno));
        goto failed;
    }
    if (!is_stdin)
        fclose(f);
    data[len] = '\0';
    *out_len = len;
    return data;
failed:
    if (!is_stdin)
        fclose(f);
    free(data);
    return NULL;
}

/* Serializes doc (stolen) as the request body. */
static void set_json_body(struct body *out, json_t *doc)
{
    out->data = json_dumps(doc, JSON_COMPACT);
    if (out->data == NULL)
        abort();
    out->len = strlen(out->data);
    out->content_type = "application/json";
    json_decref(doc);
}

static int body_node_add(const struct invocation *inv, struct body *out)
{
    set_json_body(out, json_pack("{s:s, s:s}", "name", inv->args[0], "kind", opt(inv, "kind")));
    return EXIT_OK;
}

static int body_node_enable(const struct invocation *inv, struct body *out)
{
    (void)inv;
    set_json_body(out, json_pack("{s:b}", "enabled", 1));
    return EXIT_OK;
}

static int body_node_disable(const struct invocation *inv, struct body *out)
{
    (void)inv;
    set_json_body(out, json_pack("{s:b}", "enabled", 0));
    return EXIT_OK;
}

static int body_allow(const struct invocation *inv, struct body *out)
{
    (void)inv;
    set_json_body(out, json_pack("{s:b}", "allowed", 1));
    return EXIT_OK;
}

static int body_deny(const struct invocation *inv, struct body *out)
{
    (void)inv;
    set_json_body(out, json_pack("{s:b}", "allowed", 0));
    return EXIT_OK;
}

/* Optional fields (msisdn, ambiguousPolicy) are left out so the daemon's defaults apply. */
static int body_device_add(const struct invocation *inv, struct body *out)
{
    const char *msisdn = opt(inv, "msisdn");
    const char *ambiguous = opt(inv, "ambiguous");
    json_t *doc;

    doc = json_pack("{s:s, s:s, s:s, s:b}", "supi", opt(inv, "supi"), "externalId",
                    opt(inv, "external-id"), "mobility", opt(inv, "mobility"), "monitoringAllowed",
                    opt(inv, "no-monitoring") == NULL);
    if (doc == NULL)
        return report_failure("arguments are not valid UTF-8");
    if (msisdn != NULL)
        json_object_set_new(doc, "msisdn", json_string(msisdn));
    if (ambiguous != NULL)
        json_object_set_new(doc, "ambiguousPolicy", json_string(ambiguous));
    set_json_body(out, doc);
    return EXIT_OK;
}

/*
 * Parses "LAT,LON,RADIUS_M" into a CAMARA CIRCLE area: latitude -90..90,
 * longitude -180..180, a radius of at least 1 m. NULL when malformed.
 */
static json_t *parse_circle(const char *s)
{
    double v[3];
    const char *p = s;

    for (int i = 0; i < 3; i++) {
        char *end;

        if (*p == '\0' || isspace((unsigned char)*p))
            return NULL;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno != 0 || !(v[i] == v[i]) || *end != (i < 2 ? ',' : '\0'))
            return NULL;
        p = end + (i < 2 ? 1 : 0);
    }
    if (!(v[0] >= -90 && v[0] <= 90) || !(v[1] >= -180 && v[1] <= 180) || !(v[2] >= 1) ||
        v[2] > 1e8)
        return NULL;
    return json_pack("{s:s, s:{s:f, s:f}, s:f}", "areaType", "CIRCLE", "center", "latitude", v[0],
                     "longitude", v[1], "radius", v[2]);
}

/*
 * Sets out to {member: geometry} from FILE ("-" = stdin): a GeoJSON Polygon
 * or MultiPolygon, or a Feature whose geometry is one.
 */
static int geojson_body(const char *file, const char *member, struct body *out)
{
    json_error_t jerr;
    json_t *doc, *geometry;
    const char *type;
    char *text;
    size_t len;

    text = read_input(file, &len);
    if (text == NULL)
        return EXIT_FAIL;
    doc = json_loadb(text, len, 0, &jerr);
    free(text);
    if (doc == NULL)
        return report_failure("%s: not JSON (line %d: %s)", file, jerr.line, jerr.text);
    geometry = doc;
    type = json_string_value(json_object_get(doc, "type"));
    if (type != NULL && strcmp(type, "Feature") == 0) {
        geometry = json_object_get(doc, "geometry");
        type = json_string_value(json_object_get(geometry, "type"));
    }
    if (type == NULL || (strcmp(type, "Polygon") != 0 && strcmp(type, "MultiPolygon") != 0)) {
        json_decref(doc);
        return report_failure(
            "%s: expected a GeoJSON Polygon or MultiPolygon, or a Feature holding one", file);
    }
    set_json_body(out, json_pack("{s:O}", member, geometry));
    json_decref(doc);
    return EXIT_OK;
}

/*
 * {"area": ...} from exactly one of --geojson (a Polygon/MultiPolygon, or a
 * Feature holding one) and --circle LAT,LON,RADIUS_M.
 */
static int body_count(const struct invocation *inv, struct body *out)
{
    const char *file = opt(inv, "geojson");
    const char *circle = opt(inv, "circle");

    if ((file == NULL) == (circle == NULL))
        return usage_error(inv->cmd, "give exactly one of --geojson and --circle");
    if (file != NULL)
        return geojson_body(file, "area", out);
    json_t *area = parse_circle(circle);
    if (area == NULL)
        return usage_error(inv->cmd,
                           "--circle must be LAT,LON,RADIUS_M (latitude -90..90, longitude "
                           "-180..180, radius 1 to 1e8 metres), e.g. 48.85,2.35,5000");
    set_json_body(out, json_pack("{s:o}", "area", area));
    return EXIT_OK;
}

static int body_area_add(const struct invocation *inv, struct body *out)
{
    return geojson_body(opt(inv, "geojson"), "geometry", out);
}

static int body_cell_import(const struct invocation *inv, struct body *out)
{
    out->data = read_input(inv->args[0], &out->len);
    if (out->data == NULL)
        return EXIT_FAIL;
    out->content_type = "text/csv";
    return EXIT_OK;
}

/*
 * PUT replaces the whole record, so allowPrivateDestinations is always sent;
 * optional text fields are left out when not given.
 */
static int body_scs_add(const struct invocation *inv, struct body *out)
{
    static const struct {
        const char *option;
        const char *member;
    } optional[] = {
        {"previous-secret", "webhookSecretPrevious"},
        {"cert-cn", "certCn"},
        {"name", "name"},
    };
    json_t *doc;

    doc = json_pack("{s:s, s:s, s:b}", "scsAsId", inv->args[0], "webhookSecret", opt(inv, "secret"),
                    "allowPrivateDestinations", opt(inv, "allow-private") != NULL);
    if (doc == NULL)
        return report_failure("arguments are not valid UTF-8");
    for (size_t i = 0; i < LG_ARRAY_SIZE(optional); i++) {
        const char *v = opt(inv, optional[i].option);
        json_t *s = v != NULL ? json_string(v) : NULL;

        if (v != NULL && s == NULL) {
            json_decref(doc);
            return report_failure("--%s is not valid UTF-8", optional[i].option);
        }
        if (s != NULL)
            json_object_set_new(doc, optional[i].member, s);
    }
    set_json_body(out, doc);
    return EXIT_OK;
}

/*
 * The secret of a client being added. The CLI makes it and sends only its
 * scrypt hash, so the secret never crosses the wire or reaches the daemon;
 * print_client_secret shows it once. One command runs per process, so one
 * slot is enough; it is wiped at exit.
 */
static char new_client_secret[64];

static void wipe_client_secret(void)
{
    OPENSSL_cleanse(new_client_secret, sizeof(new_client_secret));
}

static int body_client_add(const struct invocation *inv, struct body *out)
{
    char hash[256];
    const char *scs = opt(inv, "scs");
    json_t *scopes = json_array();
    json_t *doc;

    if (scopes == NULL)
        abort();
    for (size_t i = 0; i < inv->n_repeats; i++) {
        bool is_dup = false;

        /* A scope given twice is the same scope: send it once. */
        for (size_t j = 0; j < i && !is_dup; j++)
            is_dup = strcmp(inv->repeats[i], inv->repeats[j]) == 0;
        if (!is_dup)
            json_array_append_new(scopes, json_string(inv->repeats[i]));
    }
    if (lg_token_new_secret(new_client_secret, sizeof(new_client_secret)) != LG_OK ||
        lg_token_hash_secret(new_client_secret, hash, sizeof(hash)) != LG_OK) {
        json_decref(scopes);
        return report_failure("cannot make a client secret: the random source failed");
    }
    atexit(wipe_client_secret);
    doc = json_pack("{s:s, s:o, s:s}", "clientId", inv->args[0], "scopes", scopes, "secretHash",
                    hash);
    if (doc == NULL)
        return report_failure("arguments are not valid UTF-8");
    if (scs != NULL)
        json_object_set_new(doc, "scsAsId", json_string(scs));
    set_json_body(out, doc);
    return EXIT_OK;
}

static int body_group_add(const struct invocation *inv, struct body *out)
{
    json_t *doc = json_pack("{s:s, s:s}", "externalGroupId", inv->args[0], "localGroupId",
                            opt(inv, "local-id"));

    if (doc == NULL)
        return report_failure("arguments are not valid UTF-8");
    set_json_body(out, doc);
    return EXIT_OK;
}

/* grant and revoke-grant: exactly one of --device and --group names the target. */
static int body_grant(const struct invocation *inv, struct body *out)
{
    const char *device = opt(inv, "device");
    const char *group = opt(inv, "group");
    const char *service = opt(inv, "service");
    json_t *doc;

    if ((device == NULL) == (group == NULL))
        return usage_error(inv->cmd, "give exactly one of --device and --group");
    doc = json_pack("{s:s, s:s, s:s}", "scsAsId", inv->args[0], "service",
                    service != NULL ? service : "location-monitoring",
                    device != NULL ? "externalId" : "externalGroupId",
                    device != NULL ? device : group);
    if (doc == NULL)
        return report_failure("arguments are not valid UTF-8");
    set_json_body(out, doc);
    return EXIT_OK;
}

/* The device is in the path; no --scs means consent for any SCS/AS. */
static int body_consent_grant(const struct invocation *inv, struct body *out)
{
    const char *scs = opt(inv, "scs");
    const char *expires = opt(inv, "expires");
    json_t *doc = json_pack("{s:s}", "purpose", opt(inv, "purpose"));

    if (doc == NULL)
        abort(); /* purpose is one of the fixed choices */
    if (scs != NULL && json_object_set_new(doc, "scsAsId", json_string(scs)) != 0) {
        json_decref(doc);
        return report_failure("--scs is not valid UTF-8");
    }
    if (expires != NULL)
        json_object_set_new(doc, "expiresAt", json_string(expires));
    set_json_body(out, doc);
    return EXIT_OK;
}

static int body_consent_revoke(const struct invocation *inv, struct body *out)
{
    const char *scs = opt(inv, "scs");
    json_t *doc = json_pack("{s:s}", "purpose", opt(inv, "purpose"));

    if (doc == NULL)
        abort();
    if (scs != NULL && json_object_set_new(doc, "scsAsId", json_string(scs)) != 0) {
        json_decref(doc);
        return report_failure("--scs is not valid UTF-8");
    }
    set_json_body(out, doc);
    return EXIT_OK;
}

/* Appends s to b, replacing control characters so the daemon cannot drive the terminal. */
static void add_printable(struct evbuffer *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char c = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;

        evbuffer_add(b, &c, 1);
    }
}

/* Returns whether every element of the array v is a string or a number. */
static bool is_scalar_array(const json_t *v)
{
    size_t i;
    json_t *item;

    json_array_foreach(v, i, item) if (!json_is_string(item) && !json_is_number(item)) return false;
    return true;
}

/* Renders a JSON value as table text: "-" for missing/null, yes/no for booleans. */
static char *value_text(const json_t *v)
{
    struct evbuffer *b;
    char *s;

    if (v == NULL || json_is_null(v))
        return lg_xstrdup("-");
    if (json_is_true(v))
        return lg_xstrdup("yes");
    if (json_is_false(v))
        return lg_xstrdup("no");
    b = evbuffer_new();
    if (b == NULL)
        abort();
    if (json_is_string(v)) {
        add_printable(b, json_string_value(v));
    } else if (json_is_array(v) && is_scalar_array(v)) {
        size_t i;
        json_t *item;

        json_array_foreach(v, i, item)
        {
            char *text = value_text(item);

            if (i > 0)
                evbuffer_add(b, ", ", 2);
            evbuffer_add(b, text, strlen(text));
            free(text);
        }
    } else if (json_is_integer(v)) {
        evbuffer_add_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        evbuffer_add_printf(b, "%.10g", json_real_value(v));
    } else {
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        add_printable(b, dump != NULL ? dump : "?");
        free(dump);
    }
    s = buffer_to_string(b);
    evbuffer_free(b);
    return s;
}

/* Follows a dotted path ("location.zoneState") from obj; NULL when absent. */
static json_t *get_path(json_t *obj, const char *path, size_t path_len)
{
    const char *p = path, *end = path + path_len;

    while (obj != NULL && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);

        obj = json_object_getn(obj, p, len);
        p += len + 1;
    }
    return obj;
}

/* Returns the first of keys ("a|b.c") present and non-null in obj. */
static json_t *get_any(json_t *obj, const char *keys)
{
    const char *p = keys;

    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        json_t *v = get_path(obj, p, len);

        if (v != NULL && !json_is_null(v))
            return v;
        if (bar == NULL)
            return NULL;
        p = bar + 1;
    }
}

/* Display width of UTF-8 text: counts code points, not bytes. */
static size_t text_width(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Prints a left-aligned table; cells is nrows x ncols (row 0 = headers), all owned by the caller.
 */
static void print_cells(char **cells, size_t nrows, size_t ncols)
{
    size_t *width = lg_xcalloc(ncols, sizeof(*width));

    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = text_width(cells[r * ncols + c]);

            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];

            fputs(s, stdout);
            if (c + 1 < ncols)
                printf("%*s", (int)(width[c] - text_width(s) + 2), "");
        }
        putchar('\n');
    }
    free(width);
}

/* Prints items (an array of objects) as a table with the given columns. */
static void print_table(json_t *items, const struct column *cols, size_t ncols)
{
    size_t nrows = json_array_size(items) + 1;
    char **cells = lg_xcalloc(nrows * ncols, sizeof(*cells));

    for (size_t c = 0; c < ncols; c++)
        cells[c] = lg_xstrdup(cols[c].header);
    for (size_t r = 1; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            cells[r * ncols + c] = value_text(get_any(json_array_get(items, r - 1), cols[c].keys));
    print_cells(cells, nrows, ncols);
    for (size_t i = 0; i < nrows * ncols; i++)
        free(cells[i]);
    free(cells);
}

/* Turns a JSON key into a column header: "externalId" -> "EXTERNAL ID". */
static char *header_of(const char *key)
{
    size_t n = strlen(key);
    char *h = lg_xmalloc(2 * n + 1), *q = h;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c == '_' || c == '-') {
            *q++ = ' ';
            continue;
        }
        if (isupper(c) && i > 0 && islower((unsigned char)key[i - 1]))
            *q++ = ' ';
        *q++ = (char)toupper(c);
    }
    *q = '\0';
    return h;
}

/*
 * Finds the list in an answer: the answer itself when it is an array, else
 * "items", else the first array-valued member. Returns NULL when there is none.
 */
static json_t *list_of(json_t *doc)
{
    const char *key;
    json_t *v;

    if (json_is_array(doc))
        return doc;
    if (!json_is_object(doc))
        return NULL;
    v = json_object_get(doc, "items");
    if (json_is_array(v))
        return v;
    json_object_foreach(doc, key, v) if (json_is_array(v)) return v;
    return NULL;
}

/*
 * Prints a list whose shape the CLI does not fix: one column per scalar
 * member, in order of first appearance; a list of scalars prints one per line.
 */
static void print_list(json_t *doc)
{
    json_t *items = list_of(doc), *item, *v;
    struct column *cols = NULL;
    size_t ncols = 0, i;
    const char *key;

    if (items == NULL) {
        print_object(doc);
        return;
    }
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item)) {
            char *s = value_text(item);

            puts(s);
            free(s);
            continue;
        }
        json_object_foreach(item, key, v)
        {
            bool is_known = false;

            if (json_is_object(v) || json_is_array(v))
                continue;
            for (size_t c = 0; c < ncols && !is_known; c++)
                is_known = strcmp(cols[c].keys, key) == 0;
            if (is_known || strchr(key, '|') != NULL || strchr(key, '.') != NULL)
                continue;
            cols = lg_xrealloc(cols, (ncols + 1) * sizeof(*cols));
            cols[ncols].header = header_of(key);
            cols[ncols].keys = lg_xstrdup(key);
            ncols++;
        }
    }
    if (json_array_size(items) == 0)
        puts("(none)");
    else if (ncols > 0 && json_is_object(json_array_get(items, 0)))
        print_table(items, cols, ncols);
    for (size_t c = 0; c < ncols; c++) {
        free((char *)cols[c].header);
        free((char *)cols[c].keys);
    }
    free(cols);
}

static void print_devices(json_t *doc)
{
    json_t *items = list_of(doc);

    if (items == NULL)
        print_object(doc);
    else
        print_table(items, device_columns, LG_ARRAY_SIZE(device_columns));
}

static void print_alerts(json_t *doc)
{
    json_t *items = list_of(doc);

    if (items == NULL)
        print_object(doc);
    else
        print_table(items, alert_columns, LG_ARRAY_SIZE(alert_columns));
}

static void print_outbox(json_t *doc)
{
    json_t *items = list_of(doc);

    if (items == NULL)
        print_object(doc);
    else if (json_array_size(items) == 0)
        puts("(none)");
    else
        print_table(items, outbox_columns, LG_ARRAY_SIZE(outbox_columns));
}

/* Prints the new client, then says once that its secret cannot be shown again. */
static void print_client_secret(json_t *doc)
{
    if (json_is_object(doc) && new_client_secret[0] != '\0')
        json_object_set_new(doc, "clientSecret", json_string(new_client_secret));
    print_object(doc);
    if (json_is_string(json_object_get(doc, "clientSecret")))
        fputs("locguardctl: store the clientSecret now: it is not stored and cannot be shown "
              "again\n",
              stderr);
}

/* Collects "dotted.key" / value rows of obj into cells (pairs), flattening nested objects. */
static void flatten(json_t *obj, const char *prefix, char ***cells, size_t *nrows)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        struct evbuffer *b = evbuffer_new();
        char *name;

        if (b == NULL)
            abort();
        if (prefix != NULL)
            evbuffer_add_printf(b, "%s.", prefix);
        add_printable(b, key);
        name = buffer_to_string(b);
        evbuffer_free(b);
        if (json_is_object(v) && json_object_size(v) > 0) {
            flatten(v, name, cells, nrows);
            free(name);
            continue;
        }
        *cells = lg_xrealloc(*cells, (*nrows + 1) * 2 * sizeof(**cells));
        (*cells)[*nrows * 2] = name;
        (*cells)[*nrows * 2 + 1] = value_text(v);
        (*nrows)++;
    }
}

/* Prints one object as aligned "key  value" lines; anything else as its text. */
static void print_object(json_t *doc)
{
    char **cells = NULL;
    size_t nrows = 0;

    if (!json_is_object(doc)) {
        char *s = value_text(doc);

        puts(s);
        free(s);
        return;
    }
    flatten(doc, NULL, &cells, &nrows);
    if (nrows == 0)
        puts("ok");
    else
        print_cells(cells, nrows, 2);
    for (size_t i = 0; i < nrows * 2; i++)
        free(cells[i]);
    free(cells);
}

/* Prints the geometry of an area answer (or the answer itself) as GeoJSON. */
static void print_geojson(json_t *doc)
{
    json_t *geometry = json_object_get(doc, "geometry");
    /* One line, so the output can be fed back to `area add --geojson -`. */
    char *s = json_dumps(geometry != NULL ? geometry : doc, JSON_ENCODE_ANY);

    if (s != NULL)
        puts(s);
    free(s);
}

static void print_compact(json_t *doc)
{
    char *s = json_dumps(doc, JSON_ENCODE_ANY);

    if (s != NULL)
        puts(s);
    free(s);
}

/* Maps a libevent request error to a constant message. */
static const char *request_error_text(enum evhttp_request_error err)
{
    switch (err) {
    case EVREQ_HTTP_TIMEOUT:
        return "timed out";
    case EVREQ_HTTP_EOF:
        return "connection closed before the answer was complete";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid HTTP answer";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection failed";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "request cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "answer too long";
    }
    return "request failed";
}

static void on_request_error(enum evhttp_request_error err, void *arg)
{
    struct response *resp = arg;

    resp->err = request_error_text(err);
}

/* Collects status and body, then stops the private loop. */
static void on_response(struct evhttp_request *req, void *arg)
{
    struct response *resp = arg;
    struct evhttp_connection *conn = req != NULL ? evhttp_request_get_connection(req) : NULL;

    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        if (resp->err == NULL)
            resp->err = "connection failed";
    } else {
        resp->status = evhttp_request_get_response_code(req);
        evbuffer_add_buffer(resp->body, evhttp_request_get_input_buffer(req));
    }
    if (conn != NULL)
        event_base_loopbreak(evhttp_connection_get_base(conn));
}

/*
 * Sends one request and waits for the answer. path is relative to the URL's
 * prefix. Returns LG_OK when an HTTP answer arrived (any status); LG_ERR after
 * printing why (see report_unavailable) when none did.
 */
LG_MUST_CHECK
static int http_call(struct ctl *ctl, enum evhttp_cmd_type method, const char *path,
                     const struct body *body, const char *accept, struct response *resp)
{
    struct evhttp_connection *conn;
    struct evhttp_request *req;
    struct evkeyvalq *headers;
    char *uri = NULL, *auth = NULL;
    size_t uri_len, auth_len;
    char length[32];
    int rc = LG_ERR;

    resp->status = 0;
    resp->err = NULL;
    conn = evhttp_connection_base_new(ctl->base, NULL, ctl->host, (unsigned short)ctl->port);
    if (conn == NULL) {
        report_unavailable("cannot create a connection to %s", ctl->url);
        return LG_ERR;
    }
    evhttp_connection_set_timeout(conn, REQUEST_TIMEOUT_S);
    evhttp_connection_set_retries(conn, 0);
    req = evhttp_request_new(on_response, resp);
    if (req == NULL)
        abort();
    evhttp_request_set_error_cb(req, on_request_error);
    headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Host", ctl->host_header);
    evhttp_add_header(headers, "User-Agent", "locguardctl");
    evhttp_add_header(headers, "Accept", accept);
    evhttp_add_header(headers, "Connection", "close");
    if (ctl->token != NULL) {
        auth_len = strlen(ctl->token) + sizeof("Bearer ");
        auth = lg_xmalloc(auth_len);
        snprintf(auth, auth_len, "Bearer %s", ctl->token);
        evhttp_add_header(headers, "Authorization", auth);
        OPENSSL_cleanse(auth, auth_len);
        free(auth);
    }
    if (body != NULL && body->data != NULL) {
        evhttp_add_header(headers, "Content-Type", body->content_type);
        evbuffer_add(evhttp_request_get_output_buffer(req), body->data, body->len);
    }
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        /* Some servers want a length even on an empty PUT/DELETE. */
        snprintf(length, sizeof(length), "%zu", body != NULL ? body->len : 0);
        evhttp_add_header(headers, "Content-Length", length);
    }
    uri_len = strlen(ctl->prefix) + strlen(path) + 1;
    uri = lg_xmalloc(uri_len);
    snprintf(uri, uri_len, "%s%s", ctl->prefix, path);
    /* evhttp_make_request frees req on failure. */
    if (evhttp_make_request(conn, req, method, uri) != 0) {
        report_unavailable("cannot send the request to %s", ctl->url);
        goto failed;
    }
    event_base_dispatch(ctl->base);
    if (resp->status == 0) {
        report_unavailable("cannot reach the admin API at %s: %s", ctl->url,
                           resp->err != NULL ? resp->err : "no answer");
        goto failed;
    }
    rc = LG_OK;
failed:
    free(uri);
    evhttp_connection_free(conn);
    return rc;
}

/*
 * Prints the daemon's text of a problem body as it was sent, on one line of
 * stdout: a JSON object as is (newlines dropped), anything else (a proxy's
 * page, an empty body) as {title, status, detail} with the text as detail.
 */
static void put_daemon_problem(json_t *doc, int status, const char *text, size_t len)
{
    json_t *made;
    char *plain;

    if (json_is_object(doc)) {
        while (len > 0 && isspace((unsigned char)text[len - 1]))
            len--;
        plain = lg_xstrndup(text, len);
        for (char *c = plain; *c != '\0'; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        puts(plain);
        free(plain);
        return;
    }
    plain = lg_xstrndup(text, len);
    made = local_problem(exit_status_of(status), plain);
    free(plain);
    json_object_set_new(made, "status", json_integer(status));
    json_object_del(made, "cause");
    put_json_line(made);
    json_decref(made);
}

/*
 * Prints a ProblemDetails (or any error answer) to stderr, and with --json
 * the body on stdout too (see put_daemon_problem). Returns the exit status
 * for the HTTP status (see exit_status_of).
 */
static int print_problem(const struct ctl *ctl, int status, const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    const char *title = json_string_value(json_object_get(doc, "title"));
    json_t *params = json_object_get(doc, "invalidParams"), *p;
    struct evbuffer *b = evbuffer_new();
    size_t i;
    char *msg;

    if (b == NULL)
        abort();
    if (detail != NULL) {
        add_printable(b, detail);
    } else if (title != NULL) {
        add_printable(b, title);
    } else if (doc == NULL && len > 0 && len < 512) {
        /* A short text body (a proxy, an old daemon): show it without its newline. */
        char *plain = lg_xstrndup(text, len);

        plain[strcspn(plain, "\r\n")] = '\0';
        add_printable(b, plain);
        free(plain);
    }
    if (evbuffer_get_length(b) == 0)
        evbuffer_add_printf(b, "HTTP %d", status);
    msg = buffer_to_string(b);
    evbuffer_free(b);
    fprintf(stderr, "locguardctl: %s (HTTP %d)\n", msg, status);
    free(msg);
    json_array_foreach(params, i, p)
    {
        char *param = value_text(json_object_get(p, "param"));
        char *reason = value_text(json_object_get(p, "reason"));

        fprintf(stderr, "  %s: %s\n", param, reason);
        free(param);
        free(reason);
    }
    if (status == 401 && ctl->token == NULL)
        fputs("  (no token: pass --token-file or set LOCGUARD_ADMIN_TOKEN_FILE)\n", stderr);
    if (ctl->is_json)
        put_daemon_problem(doc, status, text, len);
    json_decref(doc);
    return exit_status_of(status);
}

/* Prints a successful answer the way the command asks; returns the exit status. */
static int print_answer(const struct ctl *ctl, print_cb print, int status, const char *text,
                        size_t len)
{
    json_t *doc;

    if (status == 204 || len == 0) {
        puts("ok");
        return EXIT_OK;
    }
    if (ctl->is_json && new_client_secret[0] != '\0') {
        /* The daemon never saw the new client's secret: add it to the raw answer too. */
        doc = json_loadb(text, len, 0, NULL);
        if (json_is_object(doc)) {
            json_object_set_new(doc, "clientSecret", json_string(new_client_secret));
            char *out = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            if (out == NULL)
                abort();
            puts(out);
            OPENSSL_cleanse(out, strlen(out));
            free(out);
            fputs("locguardctl: store the clientSecret now: it is not stored and cannot be shown "
                  "again\n",
                  stderr);
            return EXIT_OK;
        }
        json_decref(doc);
    }
    if (ctl->is_json || print == NULL) {
        fwrite(text, 1, len, stdout);
        if (text[len - 1] != '\n')
            putchar('\n');
        return EXIT_OK;
    }
    doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (doc == NULL) {
        fwrite(text, 1, len, stdout);
        if (text[len - 1] != '\n')
            putchar('\n');
        return EXIT_OK;
    }
    print(doc);
    json_decref(doc);
    return EXIT_OK;
}

/* Runs a table-driven command: build path and body, send, print. */
static int run_request(struct ctl *ctl, const struct invocation *inv)
{
    const struct command *cmd = inv->cmd;
    struct body body = {NULL, 0, NULL};
    struct response resp = {0, NULL, evbuffer_new()};
    const char *accept = cmd->print != NULL ? "application/json" : "text/plain";
    char *path = NULL, *text = NULL;
    size_t len;
    int status = EXIT_USAGE;

    if (resp.body == NULL)
        abort();
    path = expand_path(inv);
    if (path == NULL)
        goto failed;
    if (cmd->build != NULL) {
        status = cmd->build(inv, &body);
        if (status != EXIT_OK)
            goto failed;
    }
    status = EXIT_UNAVAILABLE;
    if (http_call(ctl, cmd->method, path, &body, accept, &resp) != LG_OK)
        goto failed;
    len = evbuffer_get_length(resp.body);
    text = buffer_to_string(resp.body);
    if (resp.status < 200 || resp.status > 299)
        status = print_problem(ctl, resp.status, text, len);
    else
        status = print_answer(ctl, cmd->print, resp.status, text, len);
failed:
    free(text);
    if (body.data != NULL)
        OPENSSL_cleanse(body.data, body.len); /* it may hold a webhook secret */
    free(body.data);
    free(path);
    evbuffer_free(resp.body);
    return status;
}

/*
 * GETs /healthz and /readyz; exits 0 only when both answer 2xx, else with the
 * exit status of the first that did not (5 when the database is down: 503).
 */
static int run_health(struct ctl *ctl, const struct invocation *inv)
{
    static const char *const checks[] = {"/healthz", "/readyz"};
    char *cells[3 * (LG_ARRAY_SIZE(checks) + 1)] = {NULL};
    json_t *all = json_object();
    int status = EXIT_OK;
    size_t n = 0;

    (void)inv;
    cells[n++] = lg_xstrdup("CHECK");
    cells[n++] = lg_xstrdup("STATUS");
    cells[n++] = lg_xstrdup("HTTP");
    for (size_t i = 0; i < LG_ARRAY_SIZE(checks); i++) {
        struct response resp = {0, NULL, evbuffer_new()};
        bool is_ok;
        json_t *doc;
        char *text;
        size_t len;

        if (resp.body == NULL)
            abort();
        if (http_call(ctl, EVHTTP_REQ_GET, checks[i], NULL, "application/json", &resp) != LG_OK) {
            evbuffer_free(resp.body);
            status = EXIT_UNAVAILABLE;
            goto failed;
        }
        len = evbuffer_get_length(resp.body);
        text = buffer_to_string(resp.body);
        evbuffer_free(resp.body);
        is_ok = resp.status >= 200 && resp.status <= 299;
        if (!is_ok && status == EXIT_OK)
            status = exit_status_of(resp.status);
        doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
        if (doc == NULL)
            doc = len > 0 ? json_stringn(text, len) : json_null();
        if (doc == NULL)
            doc = json_null();
        json_object_set_new(all, checks[i] + 1,
                            json_pack("{s:i, s:o}", "httpStatus", resp.status, "body", doc));
        cells[n++] = lg_xstrdup(checks[i] + 1);
        if (json_is_string(json_object_get(doc, "status")))
            cells[n++] = value_text(json_object_get(doc, "status"));
        else
            cells[n++] = lg_xstrdup(is_ok ? "ok" : "failing");
        cells[n] = lg_xmalloc(16);
        snprintf(cells[n++], 16, "%d", resp.status);
        free(text);
    }
    if (ctl->is_json)
        print_compact(all);
    else
        print_cells(cells, LG_ARRAY_SIZE(checks) + 1, 3);
failed:
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
    json_decref(all);
    return status;
}

/*
 * Splits the URL into host, port and path prefix. Only plain http: the admin
 * zone is loopback. Returns LG_ERR after printing why.
 */
LG_MUST_CHECK
static int parse_url(struct ctl *ctl, const char *url)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *scheme, *host, *path;
    size_t hlen;
    int rc = LG_ERR;

    ctl->url = lg_xstrdup(url);
    if (uri == NULL) {
        usage_error(NULL, "--url %s is not a URL", url);
        return LG_ERR;
    }
    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);
    if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL || host[0] == '\0') {
        usage_error(NULL, "--url must look like http://127.0.0.1:7080");
        goto failed;
    }
    if (evhttp_uri_get_userinfo(uri) != NULL || evhttp_uri_get_query(uri) != NULL ||
        evhttp_uri_get_fragment(uri) != NULL) {
        usage_error(NULL, "--url takes no user, query or fragment");
        goto failed;
    }
    ctl->port = evhttp_uri_get_port(uri);
    if (ctl->port < 0)
        ctl->port = 80;
    hlen = strlen(host);
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']')
        ctl->host = lg_xstrndup(host + 1, hlen - 2);
    else
        ctl->host = lg_xstrdup(host);
    hlen = strlen(host) + 16;
    ctl->host_header = lg_xmalloc(hlen);
    snprintf(ctl->host_header, hlen, "%s:%d", host, ctl->port);
    path = evhttp_uri_get_path(uri);
    ctl->prefix = lg_xstrdup(path != NULL ? path : "");
    for (size_t n = strlen(ctl->prefix); n > 0 && ctl->prefix[n - 1] == '/'; n--)
        ctl->prefix[n - 1] = '\0';
    rc = LG_OK;
failed:
    evhttp_uri_free(uri);
    return rc;
}

/* Reads the token, stripping trailing newlines and blanks. Returns LG_ERR after printing why. */
LG_MUST_CHECK
static int read_token(struct ctl *ctl, const char *file)
{
    FILE *f = fopen(file, "r");
    char buf[MAX_TOKEN_BYTES + 2];
    size_t len;
    int rc = LG_ERR;

    if (f == NULL) {
        report_failure("cannot open token file %s: %s", file, strerror(errno));
        return LG_ERR;
    }
    len = fread(buf, 1, sizeof(buf) - 1, f);
    if (ferror(f)) {
        report_failure("cannot read token file %s", file);
        goto failed;
    }
    if (len > MAX_TOKEN_BYTES) {
        report_failure("token file %s is too long", file);
        goto failed;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len == 0) {
        report_failure("token file %s is empty", file);
        goto failed;
    }
    for (size_t i = 0; i < len; i++) {
        /* Never echo the token; only say it is malformed. */
        if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] == 0x7f) {
            report_failure("token file %s holds more than one token", file);
            goto failed;
        }
    }
    ctl->token = lg_xstrndup(buf, len);
    rc = LG_OK;
failed:
    OPENSSL_cleanse(buf, sizeof(buf));
    fclose(f);
    return rc;
}

/* Options and words pulled out of argv before the command is known. */
struct cmdline {
    const char *url;
    const char *token_file;
    bool is_json;
    bool wants_help;
    const char **words; /* positionals, argc entries */
    size_t nwords;
    const char **opt_names; /* command options in order, argc entries */
    const char **opt_vals;
    size_t nopts;
};

/*
 * Splits argv into global options, command options and words. Options may
 * come anywhere; "--" ends them. Returns EXIT_OK or EXIT_USAGE.
 */
static int split_argv(int argc, char **argv, struct cmdline *cl)
{
    bool is_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct option_spec *spec;
        const char *value = NULL;
        char name[32];
        const char *eq;
        size_t nlen;

        if (is_done || a[0] != '-' || strcmp(a, "-") == 0) {
            cl->words[cl->nwords++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            is_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            cl->wants_help = true;
            continue;
        }
        if (a[1] != '-')
            return usage_error(NULL, "unknown option %s", a);
        eq = strchr(a + 2, '=');
        nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nlen >= sizeof(name))
            return usage_error(NULL, "unknown option %s", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        spec = find_option(name);
        if (spec == NULL)
            return usage_error(NULL, "unknown option --%s", name);
        if (spec->has_value) {
            if (eq != NULL)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return usage_error(NULL, "--%s needs a value", name);
        } else if (eq != NULL) {
            return usage_error(NULL, "--%s takes no value", name);
        }
        if (strcmp(name, "url") == 0)
            cl->url = value;
        else if (strcmp(name, "token-file") == 0)
            cl->token_file = value;
        else if (strcmp(name, "json") == 0)
            cl->is_json = true;
        else if (strcmp(name, "help") == 0)
            cl->wants_help = true;
        else {
            cl->opt_names[cl->nopts] = spec->name;
            cl->opt_vals[cl->nopts++] = value != NULL ? value : "";
        }
    }
    return EXIT_OK;
}

/*
 * Returns whether argv asks for --json, looking at it the way split_argv
 * will (a value option's value is skipped; "--" ends options), so that the
 * errors split_argv itself finds are printed in the right form.
 */
static bool wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct option_spec *spec;

        if (strcmp(a, "--") == 0)
            return false;
        if (strncmp(a, "--", 2) != 0 || strchr(a, '=') != NULL)
            continue;
        if (strcmp(a, "--json") == 0)
            return true;
        spec = find_option(a + 2);
        if (spec != NULL && spec->has_value)
            i++;
    }
    return false;
}

/* Returns whether some command of group has a verb matching verb (see verb_matches). */
static bool verb_exists(const char *group, const char *verb)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].group, group) == 0 && verb_matches(commands[i].verb, verb))
            return true;
    return false;
}

/* Handles "help [GROUP [VERB]]" and --help; returns the exit status. */
static int show_help(const char *const *words, size_t nwords)
{
    const char *group = nwords > 0 ? words[0] : NULL;
    const char *verb = nwords > 1 ? words[1] : NULL;

    if (group == NULL) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (!group_exists(group) || (verb != NULL && !verb_exists(group, verb)))
        return usage_error(NULL, "no command '%s%s%s'", group, verb != NULL ? " " : "",
                           verb != NULL ? verb : "");
    printf("usage:\n");
    print_synopses(stdout, group, verb);
    return EXIT_OK;
}

/*
 * Resolves the words and options of cl into inv. Returns EXIT_OK, or
 * EXIT_USAGE after printing why.
 */
static int resolve(const struct cmdline *cl, struct invocation *inv)
{
    const char *group = cl->words[0];
    const char *verb = NULL;
    char long_verb[64];
    size_t first_arg = 1;
    size_t nargs;
    const struct command *cmd;

    if (!group_exists(group))
        return usage_error(NULL, "unknown command '%s'", group);
    if (group_has_verbs(group)) {
        if (cl->nwords < 2) {
            report(EXIT_USAGE, "'%s' needs a subcommand", group);
            print_synopses(stderr, group, NULL);
            return EXIT_USAGE;
        }
        verb = cl->words[1];
        first_arg = 2;
        if (cl->nwords >= 3) {
            /* Three-word commands ("group member add") have a two-word verb. */
            int n = snprintf(long_verb, sizeof(long_verb), "%s %s", cl->words[1], cl->words[2]);

            if (n > 0 && (size_t)n < sizeof(long_verb) && find_command(group, long_verb) != NULL) {
                verb = long_verb;
                first_arg = 3;
            }
        }
    }
    cmd = find_command(group, verb);
    if (cmd == NULL) {
        report(EXIT_USAGE, "unknown command '%s %s'", group, verb);
        print_synopses(stderr, group, NULL);
        return EXIT_USAGE;
    }
    inv->cmd = cmd;
    nargs = cl->nwords - first_arg;
    if (nargs != (size_t)cmd->nargs)
        return usage_error(cmd, "'%s%s%s' takes %d argument%s, got %zu", group,
                           verb != NULL ? " " : "", verb != NULL ? verb : "", cmd->nargs,
                           cmd->nargs == 1 ? "" : "s", nargs);
    for (size_t i = 0; i < nargs; i++)
        inv->args[i] = cl->words[first_arg + i];
    for (size_t o = 0; o < cl->nopts; o++) {
        const char *why;
        int idx = -1;

        for (int i = 0; i < MAX_CMD_OPTS && cmd->opts[i] != NULL; i++)
            if (opt_matches(cmd->opts[i], cl->opt_names[o]))
                idx = i;
        if (idx < 0)
            return usage_error(cmd, "--%s does not apply here", cl->opt_names[o]);
        if (inv->opt_values[idx] != NULL && !is_repeatable(cl->opt_names[o]))
            return usage_error(cmd, "--%s given twice", cl->opt_names[o]);
        why = find_option(cl->opt_names[o])->has_value
                  ? check_value(cl->opt_names[o], cl->opt_vals[o])
                  : NULL;
        if (why != NULL)
            return usage_error(cmd, "--%s must be %s", cl->opt_names[o], why);
        if (is_repeatable(cl->opt_names[o])) {
            if (inv->n_repeats == MAX_REPEATS)
                return usage_error(cmd, "--%s given more than %d times", cl->opt_names[o],
                                   MAX_REPEATS);
            inv->repeats[inv->n_repeats++] = cl->opt_vals[o];
        }
        if (inv->opt_values[idx] == NULL)
            inv->opt_values[idx] = cl->opt_vals[o];
    }
    for (int i = 0; i < MAX_CMD_OPTS && cmd->opts[i] != NULL; i++) {
        const char *entry = cmd->opts[i];
        size_t n = strlen(entry);

        if (entry[n - 1] == '!' && inv->opt_values[i] == NULL)
            return usage_error(cmd, "--%.*s is required", (int)(n - 1), entry);
    }
    return EXIT_OK;
}

static void ctl_cleanup(struct ctl *ctl)
{
    if (ctl->token != NULL) {
        OPENSSL_cleanse(ctl->token, strlen(ctl->token));
        free(ctl->token);
    }
    if (ctl->base != NULL)
        event_base_free(ctl->base);
    free(ctl->url);
    free(ctl->host);
    free(ctl->host_header);
    free(ctl->prefix);
}

int main(int argc, char **argv)
{
    struct ctl ctl = {0};
    struct cmdline cl = {0};
    struct invocation inv = {0};
    const char *url, *token_file;
    int status;

    /* The same version as the daemon's: include/locguard/core/version.h. */
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("locguardctl " LG_VERSION);
        return 0;
    }
    /* A closed pipe (locguardctl ... | head) must not kill us mid-write. */
    signal(SIGPIPE, SIG_IGN);
    cl.words = lg_xcalloc((size_t)argc + 1, sizeof(*cl.words));
    cl.opt_names = lg_xcalloc((size_t)argc + 1, sizeof(*cl.opt_names));
    cl.opt_vals = lg_xcalloc((size_t)argc + 1, sizeof(*cl.opt_vals));
    errors_as_json = wants_json(argc, argv);
    status = split_argv(argc, argv, &cl);
    if (status != EXIT_OK)
        goto done;
    if (cl.nwords > 0 && strcmp(cl.words[0], "help") == 0) {
        status = show_help(cl.words + 1, cl.nwords - 1);
        goto done;
    }
    if (cl.wants_help) {
        status = show_help(cl.words, cl.nwords);
        goto done;
    }
    if (cl.nwords == 0) {
        print_help(stderr);
        status = report(EXIT_USAGE, "no command given");
        goto done;
    }
    status = resolve(&cl, &inv);
    if (status != EXIT_OK)
        goto done;

    status = EXIT_USAGE;
    url = cl.url != NULL ? cl.url : getenv("LOCGUARD_ADMIN_URL");
    if (url == NULL || url[0] == '\0')
        url = DEFAULT_URL;
    if (parse_url(&ctl, url) != LG_OK)
        goto done;
    status = EXIT_FAIL;
    token_file = cl.token_file != NULL ? cl.token_file : getenv("LOCGUARD_ADMIN_TOKEN_FILE");
    if (token_file != NULL && token_file[0] != '\0' && read_token(&ctl, token_file) != LG_OK)
        goto done;
    ctl.is_json = cl.is_json;
    ctl.base = event_base_new();
    if (ctl.base == NULL) {
        report_failure("cannot create an event loop");
        goto done;
    }
    status = inv.cmd->run != NULL ? inv.cmd->run(&ctl, &inv) : run_request(&ctl, &inv);
    if (fflush(stdout) != 0 && status == EXIT_OK)
        status = EXIT_FAIL;
done:
    ctl_cleanup(&ctl);
    free(cl.words);
    free(cl.opt_names);
    free(cl.opt_vals);
    return status;
}
