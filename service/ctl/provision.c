/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's commands for the network model and the daemon itself: core
 * network nodes, devices and the areas they are authorized in, areas, cells,
 * alerts, then health and metrics. Each command is a row of the table below
 * (method, path template, options, body builder, printer) run by command.c;
 * health, two requests, runs itself. The rows for SCS/ASs, clients, grants
 * and counts are in monitoring.c; commands.c joins both tables.
 */
#include "locguard/ctl/provision.h"

#include <stdlib.h>

#include <event2/buffer.h>

static lg_ctl_exit_t body_node_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    lg_ctl_command_set_json_body(out, json_pack("{s:s, s:s}", "name", inv->args[0], "kind",
                                                lg_ctl_command_opt(inv, "kind")));
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_node_enable(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    (void)inv;
    lg_ctl_command_set_json_body(out, json_pack("{s:b}", "enabled", 1));
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_node_disable(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    (void)inv;
    lg_ctl_command_set_json_body(out, json_pack("{s:b}", "enabled", 0));
    return LG_CTL_EXIT_OK;
}

/* Optional fields (msisdn, ambiguousPolicy) are left out so the daemon's defaults apply. */
static lg_ctl_exit_t body_device_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    const char *msisdn = lg_ctl_command_opt(inv, "msisdn");
    const char *ambiguous = lg_ctl_command_opt(inv, "ambiguous");
    json_t *doc;

    doc = json_pack("{s:s, s:s, s:s, s:b}", "supi", lg_ctl_command_opt(inv, "supi"), "externalId",
                    lg_ctl_command_opt(inv, "external-id"), "mobility",
                    lg_ctl_command_opt(inv, "mobility"), "monitoringAllowed",
                    lg_ctl_command_opt(inv, "no-monitoring") == NULL);
    if (doc == NULL)
        return lg_ctl_exit_failure("arguments are not valid UTF-8");
    if (msisdn != NULL)
        json_object_set_new(doc, "msisdn", json_string(msisdn));
    if (ambiguous != NULL)
        json_object_set_new(doc, "ambiguousPolicy", json_string(ambiguous));
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_area_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    return lg_ctl_command_geojson_body(lg_ctl_command_opt(inv, "geojson"), "geometry", out);
}

static lg_ctl_exit_t body_cell_import(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    out->data = lg_ctl_command_read_input(inv->args[0], &out->len);
    if (out->data == NULL)
        return LG_CTL_EXIT_FAIL;
    out->content_type = "text/csv";
    return LG_CTL_EXIT_OK;
}

static const lg_ctl_column_t device_columns[] = {
    {"EXTERNAL ID", "externalId"},   {"SUPI", "supi"},
    {"MOBILITY", "mobility"},        {"MONITORING", "monitoringAllowed"},
    {"STATE", "location.zoneState"},
};

static const lg_ctl_column_t alert_columns[] = {
    {"ID", "id|alertId"},
    {"DEVICE", "externalId|device|deviceId"},
    {"KIND", "kind|type"},
    {"REPORTED AT", "reportedAt|reported_at|createdAt"},
    {"CELL", "cellId|cell|ecgi|ncgi|cgi"},
};

static void print_devices(json_t *doc)
{
    json_t *items = lg_ctl_print_find_list(doc);

    if (items == NULL)
        lg_ctl_print_object(doc);
    else
        lg_ctl_print_table(items, device_columns, LG_ARRAY_SIZE(device_columns));
}

static void print_alerts(json_t *doc)
{
    json_t *items = lg_ctl_print_find_list(doc);

    if (items == NULL)
        lg_ctl_print_object(doc);
    else
        lg_ctl_print_table(items, alert_columns, LG_ARRAY_SIZE(alert_columns));
}

/*
 * GETs /healthz and /readyz; exits 0 only when both answer 2xx, else with the
 * exit status of the first that did not (5 when the database is down: 503).
 */
static lg_ctl_exit_t run_health(lg_ctl_client_t *client, const lg_ctl_invocation_t *inv)
{
    static const char *const checks[] = {"/healthz", "/readyz"};
    char *cells[3 * (LG_ARRAY_SIZE(checks) + 1)] = {NULL};
    json_t *all = json_object();
    lg_ctl_exit_t status = LG_CTL_EXIT_OK;
    size_t n = 0;

    cells[n++] = lg_xstrdup("CHECK");
    cells[n++] = lg_xstrdup("STATUS");
    cells[n++] = lg_xstrdup("HTTP");
    for (size_t i = 0; i < LG_ARRAY_SIZE(checks); i++) {
        lg_ctl_request_t req = {EVHTTP_REQ_GET, checks[i], "application/json", NULL, NULL, 0};
        struct evbuffer *answer = evbuffer_new();
        int http_status;
        bool is_ok;
        json_t *doc;
        char *text;
        size_t len;

        if (answer == NULL)
            abort();
        if (lg_ctl_client_call(client, &req, &http_status, answer) != LG_OK) {
            evbuffer_free(answer);
            status = LG_CTL_EXIT_UNAVAILABLE;
            goto failed;
        }
        len = evbuffer_get_length(answer);
        text = lg_ctl_print_drain_text(answer);
        evbuffer_free(answer);
        is_ok = http_status >= 200 && http_status <= 299;
        if (!is_ok && status == LG_CTL_EXIT_OK)
            status = lg_ctl_exit_of_http(http_status);
        doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
        if (doc == NULL)
            doc = len > 0 ? json_stringn(text, len) : json_null();
        if (doc == NULL)
            doc = json_null();
        json_object_set_new(all, checks[i] + 1,
                            json_pack("{s:i, s:o}", "httpStatus", http_status, "body", doc));
        cells[n++] = lg_xstrdup(checks[i] + 1);
        if (json_is_string(json_object_get(doc, "status")))
            cells[n++] = lg_ctl_print_value_text(json_object_get(doc, "status"));
        else
            cells[n++] = lg_xstrdup(is_ok ? "ok" : "failing");
        cells[n] = lg_xmalloc(16);
        snprintf(cells[n++], 16, "%d", http_status);
        free(text);
    }
    if (inv->is_json)
        lg_ctl_print_compact(all);
    else
        lg_ctl_print_cells(cells, LG_ARRAY_SIZE(checks) + 1, 3);
failed:
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
    json_decref(all);
    return status;
}

/* One command per row reads better than one field per line. */
/* clang-format off */
static const lg_ctl_command_t commands[] = {
    {"node", "add", 1, {"kind!"}, EVHTTP_REQ_POST, "/v1/nodes", body_node_add,
     lg_ctl_print_object, NULL, "node add NAME --kind MME|SGSN|AMF",
     "register a core-network node"},
    {"node", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/nodes", NULL, lg_ctl_print_list, NULL,
     "node list", "list core-network nodes"},
    {"node", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/nodes/{1}", NULL, lg_ctl_print_object,
     NULL, "node remove NAME", "delete a node"},
    {"node", "disable", 1, {NULL}, EVHTTP_REQ_PATCH, "/v1/nodes/{1}", body_node_disable,
     lg_ctl_print_object, NULL, "node disable NAME", "stop accepting reports from a node"},
    {"node", "enable", 1, {NULL}, EVHTTP_REQ_PATCH, "/v1/nodes/{1}", body_node_enable,
     lg_ctl_print_object, NULL, "node enable NAME", "accept reports from a node again"},
    {"device", "add", 0,
     {"supi!", "external-id!", "msisdn", "mobility!", "no-monitoring", "ambiguous"},
     EVHTTP_REQ_PUT, "/v1/devices/{external-id}", body_device_add, lg_ctl_print_object, NULL,
     "device add --supi imsi-... --external-id ID [--msisdn msisdn-...]\n"
     "           --mobility fixed|restricted|unrestricted [--no-monitoring]\n"
     "           [--ambiguous inside|outside]",
     "create or replace a device"},
    {"device", "list", 0, {"limit"}, EVHTTP_REQ_GET, "/v1/devices", NULL, print_devices, NULL,
     "device list [--limit N]", "list devices and their zone state"},
    {"device", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}", NULL, lg_ctl_print_object,
     NULL, "device show ID", "show one device"},
    {"device", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/devices/{1}", NULL,
     lg_ctl_print_object, NULL, "device remove ID", "delete a device"},
    {"device", "areas", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}/areas", NULL,
     lg_ctl_print_list, NULL, "device areas DEVICE", "list the areas a device is authorized in"},
    {"area", "add", 1, {"geojson!"}, EVHTTP_REQ_PUT, "/v1/areas/{1}", body_area_add,
     lg_ctl_print_object, NULL, "area add NAME --geojson FILE|-",
     "create or replace an area from a GeoJSON Polygon/MultiPolygon (or Feature)"},
    {"area", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/areas", NULL, lg_ctl_print_list, NULL,
     "area list", "list areas"},
    {"area", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/areas/{1}", NULL, lg_ctl_print_geojson, NULL,
     "area show NAME", "print an area's GeoJSON geometry"},
    {"area", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/areas/{1}", NULL, lg_ctl_print_object,
     NULL, "area remove NAME", "delete an area"},
    {"authorize", NULL, 2, {NULL}, EVHTTP_REQ_PUT, "/v1/devices/{1}/areas/{2}", NULL,
     lg_ctl_print_object, NULL, "authorize DEVICE AREA", "authorize a device in an area"},
    {"unauthorize", NULL, 2, {NULL}, EVHTTP_REQ_DELETE, "/v1/devices/{1}/areas/{2}", NULL,
     lg_ctl_print_object, NULL, "unauthorize DEVICE AREA", "withdraw a device's authorization"},
    {"cell", "import", 1, {NULL}, EVHTTP_REQ_POST, "/v1/cells", body_cell_import,
     lg_ctl_print_compact, NULL, "cell import FILE.csv|-", "import cells from CSV"},
    {"cell", "list", 0, {"limit"}, EVHTTP_REQ_GET, "/v1/cells", NULL, lg_ctl_print_list, NULL,
     "cell list [--limit N]", "list cells"},
    {"alert", "list", 0, {"device", "since", "until", "limit"}, EVHTTP_REQ_GET, "/v1/alerts",
     NULL, print_alerts, NULL,
     "alert list [--device ID] [--since RFC3339] [--until RFC3339] [--limit N]",
     "list zone alerts"},
    {"health", NULL, 0, {NULL}, EVHTTP_REQ_GET, NULL, NULL, NULL, run_health, "health",
     "check /healthz and /readyz"},
    {"metrics", NULL, 0, {NULL}, EVHTTP_REQ_GET, "/metrics", NULL, NULL, NULL, "metrics",
     "print the Prometheus metrics"},
};
/* clang-format on */

const lg_ctl_command_t *lg_ctl_provision_commands(size_t *out_n)
{
    *out_n = LG_ARRAY_SIZE(commands);
    return commands;
}
