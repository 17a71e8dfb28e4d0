/* SPDX-License-Identifier: Apache-2.0 */
/*
 * locguardctl's commands for who may monitor or count what: SCS/ASs and
 * their permissions, OAuth2 clients, device groups and their members,
 * grants, consents, the notification outbox, and the operator's exact
 * count. Each command is a row of the table below run by command.c; the
 * body builders here build the JSON the admin routes take. client add makes
 * the new client's secret itself and sends only its scrypt hash, so the
 * secret never reaches the daemon; it is shown once with the answer.
 */
#include "locguard/ctl/monitoring.h"

#include "locguard/core/token.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static lg_ctl_exit_t body_allow(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    (void)inv;
    lg_ctl_command_set_json_body(out, json_pack("{s:b}", "allowed", 1));
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_deny(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    (void)inv;
    lg_ctl_command_set_json_body(out, json_pack("{s:b}", "allowed", 0));
    return LG_CTL_EXIT_OK;
}

/*
 * PUT replaces the whole record, so allowPrivateDestinations is always sent;
 * optional text fields are left out when not given.
 */
static lg_ctl_exit_t body_scs_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
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

    doc = json_pack("{s:s, s:s, s:b}", "scsAsId", inv->args[0], "webhookSecret",
                    lg_ctl_command_opt(inv, "secret"), "allowPrivateDestinations",
                    lg_ctl_command_opt(inv, "allow-private") != NULL);
    if (doc == NULL)
        return lg_ctl_exit_failure("arguments are not valid UTF-8");
    for (size_t i = 0; i < LG_ARRAY_SIZE(optional); i++) {
        const char *v = lg_ctl_command_opt(inv, optional[i].option);
        json_t *s = v != NULL ? json_string(v) : NULL;

        if (v != NULL && s == NULL) {
            json_decref(doc);
            return lg_ctl_exit_failure("--%s is not valid UTF-8", optional[i].option);
        }
        if (s != NULL)
            json_object_set_new(doc, optional[i].member, s);
    }
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

/*
 * The new client's secret is made here and kept in out->client_secret, to be
 * shown once with the answer; only its scrypt hash is sent.
 */
static lg_ctl_exit_t body_client_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    char hash[256];
    const char *scs = lg_ctl_command_opt(inv, "scs");
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
    if (lg_token_new_secret(out->client_secret, sizeof(out->client_secret)) != LG_OK ||
        lg_token_hash_secret(out->client_secret, hash, sizeof(hash)) != LG_OK) {
        json_decref(scopes);
        return lg_ctl_exit_failure("cannot make a client secret: the random source failed");
    }
    doc = json_pack("{s:s, s:o, s:s}", "clientId", inv->args[0], "scopes", scopes, "secretHash",
                    hash);
    if (doc == NULL)
        return lg_ctl_exit_failure("arguments are not valid UTF-8");
    if (scs != NULL)
        json_object_set_new(doc, "scsAsId", json_string(scs));
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_group_add(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    json_t *doc = json_pack("{s:s, s:s}", "externalGroupId", inv->args[0], "localGroupId",
                            lg_ctl_command_opt(inv, "local-id"));

    if (doc == NULL)
        return lg_ctl_exit_failure("arguments are not valid UTF-8");
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

/* grant and revoke-grant: exactly one of --device and --group names the target. */
static lg_ctl_exit_t body_grant(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    const char *device = lg_ctl_command_opt(inv, "device");
    const char *group = lg_ctl_command_opt(inv, "group");
    const char *service = lg_ctl_command_opt(inv, "service");
    json_t *doc;

    if ((device == NULL) == (group == NULL))
        return lg_ctl_command_usage_error(inv->cmd, "give exactly one of --device and --group");
    doc = json_pack("{s:s, s:s, s:s}", "scsAsId", inv->args[0], "service",
                    service != NULL ? service : "location-monitoring",
                    device != NULL ? "externalId" : "externalGroupId",
                    device != NULL ? device : group);
    if (doc == NULL)
        return lg_ctl_exit_failure("arguments are not valid UTF-8");
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

/* The device is in the path; no --scs means consent for any SCS/AS. */
static lg_ctl_exit_t body_consent_grant(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    const char *scs = lg_ctl_command_opt(inv, "scs");
    const char *expires = lg_ctl_command_opt(inv, "expires");
    json_t *doc = json_pack("{s:s}", "purpose", lg_ctl_command_opt(inv, "purpose"));

    if (doc == NULL)
        abort(); /* purpose is one of the fixed choices */
    if (scs != NULL && json_object_set_new(doc, "scsAsId", json_string(scs)) != 0) {
        json_decref(doc);
        return lg_ctl_exit_failure("--scs is not valid UTF-8");
    }
    if (expires != NULL)
        json_object_set_new(doc, "expiresAt", json_string(expires));
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
}

static lg_ctl_exit_t body_consent_revoke(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    const char *scs = lg_ctl_command_opt(inv, "scs");
    json_t *doc = json_pack("{s:s}", "purpose", lg_ctl_command_opt(inv, "purpose"));

    if (doc == NULL)
        abort();
    if (scs != NULL && json_object_set_new(doc, "scsAsId", json_string(scs)) != 0) {
        json_decref(doc);
        return lg_ctl_exit_failure("--scs is not valid UTF-8");
    }
    lg_ctl_command_set_json_body(out, doc);
    return LG_CTL_EXIT_OK;
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
 * {"area": ...} from exactly one of --geojson (a Polygon/MultiPolygon, or a
 * Feature holding one) and --circle LAT,LON,RADIUS_M.
 */
static lg_ctl_exit_t body_count(const lg_ctl_invocation_t *inv, lg_ctl_body_t *out)
{
    const char *file = lg_ctl_command_opt(inv, "geojson");
    const char *circle = lg_ctl_command_opt(inv, "circle");
    json_t *area;

    if ((file == NULL) == (circle == NULL))
        return lg_ctl_command_usage_error(inv->cmd, "give exactly one of --geojson and --circle");
    if (file != NULL)
        return lg_ctl_command_geojson_body(file, "area", out);
    area = parse_circle(circle);
    if (area == NULL)
        return lg_ctl_command_usage_error(
            inv->cmd, "--circle must be LAT,LON,RADIUS_M (latitude -90..90, longitude "
                      "-180..180, radius 1 to 1e8 metres), e.g. 48.85,2.35,5000");
    lg_ctl_command_set_json_body(out, json_pack("{s:o}", "area", area));
    return LG_CTL_EXIT_OK;
}

/* The outbox never shows payloads: ids, kinds and delivery state only. */
static const lg_ctl_column_t outbox_columns[] = {
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

static void print_outbox(json_t *doc)
{
    json_t *items = lg_ctl_print_find_list(doc);

    if (items == NULL)
        lg_ctl_print_object(doc);
    else if (json_array_size(items) == 0)
        puts("(none)");
    else
        lg_ctl_print_table(items, outbox_columns, LG_ARRAY_SIZE(outbox_columns));
}

/* One command per row reads better than one field per line. */
/* clang-format off */
static const lg_ctl_command_t commands[] = {
    {"scs", "add", 1, {"secret!", "previous-secret", "allow-private", "cert-cn", "name"},
     EVHTTP_REQ_PUT, "/v1/scs/{1}", body_scs_add, lg_ctl_print_object, NULL,
     "scs add SCSASID --secret whsec_... [--previous-secret whsec_...]\n"
     "           [--allow-private] [--cert-cn CN] [--name NAME]",
     "create or replace an SCS/AS: webhook secret(s), private destinations, mTLS CN"},
    {"scs", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/scs", NULL, lg_ctl_print_list, NULL,
     "scs list", "list SCS/ASs (secrets are never shown)"},
    {"scs", "show", 1, {NULL}, EVHTTP_REQ_GET, "/v1/scs/{1}", NULL, lg_ctl_print_object, NULL,
     "scs show SCSASID", "show one SCS/AS"},
    {"scs", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/scs/{1}", NULL, lg_ctl_print_object,
     NULL, "scs remove SCSASID", "delete an SCS/AS with its clients, grants and subscriptions"},
    {"scs", "allow-area-counts", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/area-counts",
     body_allow, lg_ctl_print_object, NULL, "scs allow-area-counts SCSASID",
     "let an SCS/AS subscribe to NUMBER_OF_UES_IN_AN_AREA (anonymized counts only)"},
    {"scs", "deny-area-counts", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/area-counts", body_deny,
     lg_ctl_print_object, NULL, "scs deny-area-counts SCSASID",
     "withdraw it: its area subscriptions end and pending reports are dropped"},
    {"scs", "allow-geo-area", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/geo-area", body_allow,
     lg_ctl_print_object, NULL, "scs allow-geo-area SCSASID",
     "let an SCS/AS subscribe with accuracy GEO_AREA (reported positions)"},
    {"scs", "deny-geo-area", 1, {NULL}, EVHTTP_REQ_PUT, "/v1/scs/{1}/geo-area", body_deny,
     lg_ctl_print_object, NULL, "scs deny-geo-area SCSASID",
     "withdraw it: its GEO_AREA subscriptions end and pending notifications are dropped"},
    {"client", "add", 1, {"scope!", "scs"}, EVHTTP_REQ_POST, "/v1/clients", body_client_add,
     lg_ctl_print_object, NULL, "client add CLIENTID --scope S [--scope S2 ...] [--scs SCSASID]",
     "create an OAuth2 client; prints its generated secret once"},
    {"client", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/clients", NULL, lg_ctl_print_list, NULL,
     "client list", "list OAuth2 clients"},
    {"client", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/clients/{1}", NULL,
     lg_ctl_print_object, NULL, "client remove CLIENTID", "delete an OAuth2 client"},
    {"group", "add", 1, {"local-id!"}, EVHTTP_REQ_PUT, "/v1/groups/{1}", body_group_add,
     lg_ctl_print_object, NULL, "group add EXTGROUPID --local-id LOCALID",
     "create or replace a device group (External Group ID local@domain)"},
    {"group", "list", 0, {NULL}, EVHTTP_REQ_GET, "/v1/groups", NULL, lg_ctl_print_list, NULL,
     "group list", "list device groups"},
    {"group", "remove", 1, {NULL}, EVHTTP_REQ_DELETE, "/v1/groups/{1}", NULL,
     lg_ctl_print_object, NULL, "group remove EXTGROUPID", "delete a device group"},
    {"group", "member add", 2, {NULL}, EVHTTP_REQ_PUT, "/v1/groups/{1}/members/{2}", NULL,
     lg_ctl_print_object, NULL, "group member add EXTGROUPID DEVICE", "add a device to a group"},
    {"group", "member remove", 2, {NULL}, EVHTTP_REQ_DELETE, "/v1/groups/{1}/members/{2}", NULL,
     lg_ctl_print_object, NULL, "group member remove EXTGROUPID DEVICE",
     "remove a device from a group"},
    {"group", "members", 1, {NULL}, EVHTTP_REQ_GET, "/v1/groups/{1}/members", NULL,
     lg_ctl_print_list, NULL, "group members EXTGROUPID", "list the devices of a group"},
    {"grant", NULL, 1, {"device", "group", "service"}, EVHTTP_REQ_POST, "/v1/grants", body_grant,
     lg_ctl_print_object, NULL,
     "grant SCSASID --device ID | --group EXTGROUPID [--service location-monitoring]",
     "grant an SCS/AS a service for a device or a group"},
    {"revoke-grant", NULL, 1, {"device", "group", "service"}, EVHTTP_REQ_POST,
     "/v1/grants/remove", body_grant, lg_ctl_print_object, NULL,
     "revoke-grant SCSASID --device ID | --group EXTGROUPID [--service location-monitoring]",
     "withdraw a grant"},
    {"grants", NULL, 0, {"scs"}, EVHTTP_REQ_GET, "/v1/grants", NULL, lg_ctl_print_list, NULL,
     "grants [--scs SCSASID]", "list grants"},
    {"consent", "grant", 1, {"purpose!", "scs", "expires"}, EVHTTP_REQ_POST,
     "/v1/devices/{1}/consents", body_consent_grant, lg_ctl_print_object, NULL,
     "consent grant DEVICE --purpose location-monitoring|anonymous-statistics\n"
     "           [--scs SCSASID] [--expires RFC3339]",
     "record a device's consent (for one SCS/AS, or any when --scs is absent)"},
    {"consent", "revoke", 1, {"purpose!", "scs"}, EVHTTP_REQ_POST,
     "/v1/devices/{1}/consents/revoke", body_consent_revoke, lg_ctl_print_object, NULL,
     "consent revoke DEVICE --purpose location-monitoring|anonymous-statistics [--scs SCSASID]",
     "revoke consents: drops pending alerts, ends subscriptions, notifies the SCS/AS"},
    {"consent", "list", 1, {NULL}, EVHTTP_REQ_GET, "/v1/devices/{1}/consents", NULL,
     lg_ctl_print_list, NULL, "consent list DEVICE", "list a device's consents"},
    {"outbox", "list", 0, {"status", "scs", "limit"}, EVHTTP_REQ_GET, "/v1/outbox", NULL,
     print_outbox, NULL,
     "outbox list [--status pending|delivered|failed|dropped] [--scs SCSASID] [--limit N]",
     "list notifications waiting for or done with delivery"},
    {"count", NULL, 0, {"geojson", "circle"}, EVHTTP_REQ_POST, "/v1/counts/exact", body_count,
     lg_ctl_print_compact, NULL, "count --geojson FILE|- | --circle LAT,LON,RADIUS_M",
     "exact number of consented devices in an area (operators only; audited)"},
};
/* clang-format on */

const lg_ctl_command_t *lg_ctl_monitoring_commands(size_t *out_n)
{
    *out_n = LG_ARRAY_SIZE(commands);
    return commands;
}
