/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T6a/T6b dictionary, defined into freeDiameter's. One table of AVPs
 * (code, name, type, whether M is set on what we send), then the grouped
 * AVPs' and the commands' rules. Codes and flags are the specifications'
 * (TS 29.128 for RIR/RIA, TS 29.336 for CIR/CIA and the monitoring AVPs, TS 29.272
 * for the location AVPs), each checked against Wireshark's
 * /usr/share/wireshark/diameter/dictionary.xml and TGPP.xml, which the
 * integration test's tshark decodes with. Only V is checked on what we
 * receive (M is what we set): an MME that sets M on a location AVP is not
 * refused for it.
 */
#include "locguard/diameter/dict.h"

#include "locguard/core/log.h"

#include <string.h>

/* One vendor-3GPP AVP this module defines. */
typedef struct avp_def {
    uint32_t code;
    const char *name;
    enum dict_avp_basetype type;
    bool is_mandatory; /* M set when we send it (Wireshark: mandatory="must") */
    size_t field;      /* offsetof(lg_dia_dict_t, ...) */
} avp_def_t;

#define F(member) offsetof(lg_dia_dict_t, member)

/* Wireshark dictionary.xml / TGPP.xml agree with each line (code, type, M). */
static const avp_def_t avps[] = {
    /* TS 29.329: MSISDN, OctetString, M (dictionary.xml: mandatory="must"). */
    {LG_AVP_MSISDN, "MSISDN", AVP_TYPE_OCTETSTRING, true, F(msisdn)},
    /* TS 29.336: monitoring (dictionary.xml: all mandatory="must"). */
    {LG_AVP_USER_IDENTIFIER, "User-Identifier", AVP_TYPE_GROUPED, true, F(user_identifier)},
    {LG_AVP_MONITORING_EVENT_REPORT, "Monitoring-Event-Report", AVP_TYPE_GROUPED, true,
     F(monitoring_event_report)},
    {LG_AVP_SCEF_REFERENCE_ID, "SCEF-Reference-ID", AVP_TYPE_UNSIGNED32, true,
     F(scef_reference_id)},
    {LG_AVP_SCEF_ID, "SCEF-ID", AVP_TYPE_OCTETSTRING, true, F(scef_id)}, /* DiameterIdentity */
    {LG_AVP_MONITORING_TYPE, "Monitoring-Type", AVP_TYPE_UNSIGNED32, true, F(monitoring_type)},
    /* TS 29.336: S6t configuration (dictionary.xml: all mandatory="must"). */
    {LG_AVP_MONITORING_EVENT_CONFIGURATION, "Monitoring-Event-Configuration", AVP_TYPE_GROUPED,
     true, F(monitoring_event_configuration)},
    {LG_AVP_SCEF_REFERENCE_ID_FOR_DELETION, "SCEF-Reference-ID-for-Deletion", AVP_TYPE_UNSIGNED32,
     true, F(scef_reference_id_for_deletion)},
    {LG_AVP_LOCATION_INFORMATION_CONFIGURATION, "Location-Information-Configuration",
     AVP_TYPE_GROUPED, true, F(location_information_configuration)},
    {LG_AVP_MONTE_LOCATION_TYPE, "MONTE-Location-Type", AVP_TYPE_UNSIGNED32, true,
     F(monte_location_type)},
    {LG_AVP_ACCURACY, "Accuracy", AVP_TYPE_UNSIGNED32, true, F(accuracy)},
    {LG_AVP_MONITORING_EVENT_CONFIG_STATUS, "Monitoring-Event-Config-Status", AVP_TYPE_GROUPED,
     true, F(monitoring_event_config_status)},
    /* TS 29.272: location (TGPP.xml: mandatory="mustnot" for each). */
    {LG_AVP_EPS_LOCATION_INFORMATION, "EPS-Location-Information", AVP_TYPE_GROUPED, false,
     F(eps_location_information)},
    {LG_AVP_MME_LOCATION_INFORMATION, "MME-Location-Information", AVP_TYPE_GROUPED, false,
     F(mme_location_information)},
    {LG_AVP_SGSN_LOCATION_INFORMATION, "SGSN-Location-Information", AVP_TYPE_GROUPED, false,
     F(sgsn_location_information)},
    {LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY, "E-UTRAN-Cell-Global-Identity", AVP_TYPE_OCTETSTRING,
     false, F(ecgi)},
    {LG_AVP_TRACKING_AREA_IDENTITY, "Tracking-Area-Identity", AVP_TYPE_OCTETSTRING, false, F(tai)},
    {LG_AVP_CELL_GLOBAL_IDENTITY, "Cell-Global-Identity", AVP_TYPE_OCTETSTRING, false, F(cgi)},
    {LG_AVP_ROUTING_AREA_IDENTITY, "Routing-Area-Identity", AVP_TYPE_OCTETSTRING, false, F(rai)},
    {LG_AVP_LOCATION_AREA_IDENTITY, "Location-Area-Identity", AVP_TYPE_OCTETSTRING, false, F(lai)},
    {LG_AVP_SERVICE_AREA_IDENTITY, "Service-Area-Identity", AVP_TYPE_OCTETSTRING, false, F(sai)},
    {LG_AVP_GEOGRAPHICAL_INFORMATION, "Geographical-Information", AVP_TYPE_OCTETSTRING, false,
     F(geographical_information)},
    {LG_AVP_AGE_OF_LOCATION_INFORMATION, "Age-Of-Location-Information", AVP_TYPE_UNSIGNED32, false,
     F(age_of_location_information)},
};

/* The base protocol's AVPs, found by name in libfdproto's dictionary. */
static const struct {
    const char *name;
    size_t field;
} base_avps[] = {
    {"Session-Id", F(session_id)},
    {"Origin-Host", F(origin_host)},
    {"Origin-Realm", F(origin_realm)},
    {"Destination-Realm", F(destination_realm)},
    {"Destination-Host", F(destination_host)},
    {"Auth-Session-State", F(auth_session_state)},
    {"Result-Code", F(result_code)},
    {"Experimental-Result", F(experimental_result)},
    {"Experimental-Result-Code", F(experimental_result_code)},
    {"Vendor-Id", F(vendor_id)},
    {"Failed-AVP", F(failed_avp)},
    {"User-Name", F(user_name)},
};

static struct dict_object **slot(lg_dia_dict_t *d, size_t field)
{
    return (struct dict_object **)(void *)((char *)d + field);
}

/* Finds or defines the 3GPP AVP of def. */
static int define_avp(lg_dia_dict_t *d, const avp_def_t *def)
{
    struct dict_avp_request req = {.avp_vendor = LG_DIA_VENDOR_3GPP, .avp_code = def->code};
    struct dict_object **obj = slot(d, def->field);

    if (fd_dict_search(d->dict, DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, obj, ENOENT) == 0)
        return LG_OK;
    struct dict_avp_data data = {
        .avp_code = def->code,
        .avp_vendor = LG_DIA_VENDOR_3GPP,
        .avp_name = (char *)def->name,
        .avp_flag_mask = AVP_FLAG_VENDOR,
        .avp_flag_val = AVP_FLAG_VENDOR | (def->is_mandatory ? AVP_FLAG_MANDATORY : 0),
        .avp_basetype = def->type,
    };
    int rc = fd_dict_new(d->dict, DICT_AVP, &data, NULL, obj);
    if (rc != 0) {
        lg_error("diameter: cannot define AVP %s (%u): %s", def->name, def->code, strerror(rc));
        return LG_ERR;
    }
    return LG_OK;
}

/* One rule: child in parent, with its position and counts (-1: the default). */
static int rule(struct dictionary *dict, struct dict_object *parent, struct dict_object *child,
                enum rule_position pos, int min, int max)
{
    struct dict_rule_data data = {.rule_avp = child,
                                  .rule_position = pos,
                                  .rule_order = pos == RULE_FIXED_HEAD ? 1 : 0,
                                  .rule_min = min,
                                  .rule_max = max};
    int rc = fd_dict_new(dict, DICT_RULE, &data, parent, NULL);

    /* EEXIST: the rule is there from a previous load. */
    if (rc != 0 && rc != EEXIST) {
        lg_error("diameter: cannot define a dictionary rule: %s", strerror(rc));
        return LG_ERR;
    }
    return LG_OK;
}

/* The grouped AVPs' contents that locguard reads (TS 29.336, TS 29.272). */
static int group_rules(lg_dia_dict_t *d)
{
    struct dictionary *x = d->dict;
    int rc = LG_OK;

    /* User-Identifier: [User-Name] [MSISDN] [External-Identifier] ... (TS 29.336). */
    rc |= rule(x, d->user_identifier, d->user_name, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->user_identifier, d->msisdn, RULE_OPTIONAL, -1, 1);
    /* Monitoring-Event-Report: {SCEF-Reference-ID} [SCEF-ID] ... [EPS-Location-Information]
     * [Monitoring-Type] ... (TS 29.336). */
    rc |= rule(x, d->monitoring_event_report, d->scef_reference_id, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->monitoring_event_report, d->scef_id, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->monitoring_event_report, d->eps_location_information, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->monitoring_event_report, d->monitoring_type, RULE_OPTIONAL, -1, 1);
    /* EPS-Location-Information: [MME-Location-Information] [SGSN-Location-Information]. */
    rc |= rule(x, d->eps_location_information, d->mme_location_information, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->eps_location_information, d->sgsn_location_information, RULE_OPTIONAL, -1, 1);
    /* MME-Location-Information: [ECGI] [TAI] [Geographical-Information] ... [Age]. */
    rc |= rule(x, d->mme_location_information, d->ecgi, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->mme_location_information, d->tai, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->mme_location_information, d->geographical_information, RULE_OPTIONAL, -1, 1);
    rc |=
        rule(x, d->mme_location_information, d->age_of_location_information, RULE_OPTIONAL, -1, 1);
    /* SGSN-Location-Information: [CGI] [LAI] [SAI] [RAI] [Geographical-Information] ... [Age]. */
    rc |= rule(x, d->sgsn_location_information, d->cgi, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->sgsn_location_information, d->lai, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->sgsn_location_information, d->sai, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->sgsn_location_information, d->rai, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->sgsn_location_information, d->geographical_information, RULE_OPTIONAL, -1, 1);
    rc |=
        rule(x, d->sgsn_location_information, d->age_of_location_information, RULE_OPTIONAL, -1, 1);
    /* Monitoring-Event-Configuration: [SCEF-Reference-ID] ... { SCEF-ID } { Monitoring-Type }
     * *[ SCEF-Reference-ID-for-Deletion ] ... [ Location-Information-Configuration ] ... */
    rc |= rule(x, d->monitoring_event_configuration, d->scef_reference_id, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->monitoring_event_configuration, d->scef_id, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->monitoring_event_configuration, d->monitoring_type, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->monitoring_event_configuration, d->scef_reference_id_for_deletion,
               RULE_OPTIONAL, -1, -1);
    rc |= rule(x, d->monitoring_event_configuration, d->location_information_configuration,
               RULE_OPTIONAL, -1, 1);
    /* Location-Information-Configuration: [ MONTE-Location-Type ] [ Accuracy ] ... */
    rc |= rule(x, d->location_information_configuration, d->monte_location_type, RULE_OPTIONAL, -1,
               1);
    rc |= rule(x, d->location_information_configuration, d->accuracy, RULE_OPTIONAL, -1, 1);
    /* Monitoring-Event-Config-Status: [ Service-Report ] ... [ SCEF-Reference-ID ] [ SCEF-ID ]. */
    rc |= rule(x, d->monitoring_event_config_status, d->scef_reference_id, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->monitoring_event_config_status, d->scef_id, RULE_OPTIONAL, -1, 1);
    return rc == LG_OK ? LG_OK : LG_ERR;
}

/* RIR and RIA as TS 29.128 writes them for T6a/T6b. */
static int command_rules(lg_dia_dict_t *d)
{
    struct dictionary *x = d->dict;
    int rc = LG_OK;

    /* < RIR > ::= < Diameter Header: 8388719, REQ, PXY, 16777346 > < Session-Id > [ DRMP ]
     * { Auth-Session-State } { Origin-Host } { Origin-Realm } [ Destination-Host ]
     * { Destination-Realm } *[ Supported-Features ] [ User-Identifier ]
     * *[ Monitoring-Event-Report ] *[ Proxy-Info ] *[ Route-Record ] *[AVP] */
    rc |= rule(x, d->cmd_rir, d->session_id, RULE_FIXED_HEAD, -1, 1);
    rc |= rule(x, d->cmd_rir, d->auth_session_state, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_rir, d->origin_host, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_rir, d->origin_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_rir, d->destination_host, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_rir, d->destination_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_rir, d->user_identifier, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_rir, d->monitoring_event_report, RULE_OPTIONAL, -1, -1);
    /* < RIA > ::= < Diameter Header: 8388719, PXY, 16777346 > < Session-Id > [ DRMP ]
     * [ Result-Code ] [ Experimental-Result ] { Auth-Session-State } { Origin-Host }
     * { Origin-Realm } ... *[ Monitoring-Event-Report-Status ] [ Failed-AVP ] ... */
    rc |= rule(x, d->cmd_ria, d->session_id, RULE_FIXED_HEAD, -1, 1);
    rc |= rule(x, d->cmd_ria, d->result_code, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_ria, d->experimental_result, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_ria, d->auth_session_state, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_ria, d->origin_host, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_ria, d->origin_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_ria, d->failed_avp, RULE_OPTIONAL, -1, 1);
    /* < CIR > ::= < Diameter Header: 8388718, REQ, PXY, 16777345 > < Session-Id > [ DRMP ]
     * [ Vendor-Specific-Application-Id ] { Auth-Session-State } { Origin-Host }
     * { Origin-Realm } [ Destination-Host ] { Destination-Realm } { User-Identifier }
     * ... *[ Monitoring-Event-Configuration ] ... (TS 29.336 §7.2.3) */
    rc |= rule(x, d->cmd_cir, d->session_id, RULE_FIXED_HEAD, -1, 1);
    rc |= rule(x, d->cmd_cir, d->auth_session_state, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cir, d->origin_host, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cir, d->origin_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cir, d->destination_host, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_cir, d->destination_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cir, d->user_identifier, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cir, d->monitoring_event_configuration, RULE_OPTIONAL, -1, -1);
    /* < CIA > ::= < Diameter Header: 8388718, PXY, 16777345 > < Session-Id > [ DRMP ]
     * [ Result-Code ] [ Experimental-Result ] { Auth-Session-State } { Origin-Host }
     * { Origin-Realm } ... [ User-Identifier ] *[ Monitoring-Event-Report ]
     * *[ Monitoring-Event-Config-Status ] ... [ Failed-AVP ] ... (TS 29.336 §7.2.4) */
    rc |= rule(x, d->cmd_cia, d->session_id, RULE_FIXED_HEAD, -1, 1);
    rc |= rule(x, d->cmd_cia, d->result_code, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_cia, d->experimental_result, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_cia, d->auth_session_state, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cia, d->origin_host, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cia, d->origin_realm, RULE_REQUIRED, -1, 1);
    rc |= rule(x, d->cmd_cia, d->user_identifier, RULE_OPTIONAL, -1, 1);
    rc |= rule(x, d->cmd_cia, d->monitoring_event_report, RULE_OPTIONAL, -1, -1);
    rc |= rule(x, d->cmd_cia, d->monitoring_event_config_status, RULE_OPTIONAL, -1, -1);
    rc |= rule(x, d->cmd_cia, d->failed_avp, RULE_OPTIONAL, -1, 1);
    return rc == LG_OK ? LG_OK : LG_ERR;
}

/* The S6t application and its Configuration-Information-Request/Answer (TS 29.336). */
static int define_s6t(lg_dia_dict_t *d)
{
    application_id_t aid = LG_DIA_APP_S6T;
    command_code_t code = LG_DIA_CMD_CIR;
    int rc;

    if (fd_dict_search(d->dict, DICT_APPLICATION, APPLICATION_BY_ID, &aid, &d->app_s6t, ENOENT) !=
        0) {
        struct dict_application_data a = {LG_DIA_APP_S6T, "3GPP S6t"};
        if ((rc = fd_dict_new(d->dict, DICT_APPLICATION, &a, d->vendor_3gpp, &d->app_s6t)) != 0)
            goto failed;
    }
    if (fd_dict_search(d->dict, DICT_COMMAND, CMD_BY_CODE_R, &code, &d->cmd_cir, ENOENT) != 0) {
        /* REQ and PXY set, E clear (TS 29.336 §7.2.3: "REQ, PXY"). */
        struct dict_cmd_data r = {LG_DIA_CMD_CIR, "Configuration-Information-Request",
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR,
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE};
        if ((rc = fd_dict_new(d->dict, DICT_COMMAND, &r, d->app_s6t, &d->cmd_cir)) != 0)
            goto failed;
    }
    if (fd_dict_search(d->dict, DICT_COMMAND, CMD_BY_CODE_A, &code, &d->cmd_cia, ENOENT) != 0) {
        struct dict_cmd_data a = {LG_DIA_CMD_CIR, "Configuration-Information-Answer",
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE, CMD_FLAG_PROXIABLE};
        if ((rc = fd_dict_new(d->dict, DICT_COMMAND, &a, d->app_s6t, &d->cmd_cia)) != 0)
            goto failed;
    }
    return LG_OK;
failed:
    lg_error("diameter: cannot define the S6t application: %s", strerror(rc));
    return LG_ERR;
}

/* The 3GPP vendor, the T6a/T6b application and its two commands (then S6t's). */
static int define_app(lg_dia_dict_t *d)
{
    vendor_id_t vid = LG_DIA_VENDOR_3GPP;
    application_id_t aid = LG_DIA_APP_T6A;
    command_code_t code = LG_DIA_CMD_RIR;
    int rc;

    if (fd_dict_search(d->dict, DICT_VENDOR, VENDOR_BY_ID, &vid, &d->vendor_3gpp, ENOENT) != 0) {
        struct dict_vendor_data v = {LG_DIA_VENDOR_3GPP, "3GPP"};
        if ((rc = fd_dict_new(d->dict, DICT_VENDOR, &v, NULL, &d->vendor_3gpp)) != 0)
            goto failed;
    }
    if (fd_dict_search(d->dict, DICT_APPLICATION, APPLICATION_BY_ID, &aid, &d->app_t6a, ENOENT) !=
        0) {
        struct dict_application_data a = {LG_DIA_APP_T6A, "3GPP T6a/T6b"};
        if ((rc = fd_dict_new(d->dict, DICT_APPLICATION, &a, d->vendor_3gpp, &d->app_t6a)) != 0)
            goto failed;
    }
    if (fd_dict_search(d->dict, DICT_COMMAND, CMD_BY_CODE_R, &code, &d->cmd_rir, ENOENT) != 0) {
        /* REQ and PXY set, E clear (TS 29.128: "REQ, PXY"). */
        struct dict_cmd_data r = {LG_DIA_CMD_RIR, "Reporting-Information-Request",
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR,
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE};
        if ((rc = fd_dict_new(d->dict, DICT_COMMAND, &r, d->app_t6a, &d->cmd_rir)) != 0)
            goto failed;
    }
    if (fd_dict_search(d->dict, DICT_COMMAND, CMD_BY_CODE_A, &code, &d->cmd_ria, ENOENT) != 0) {
        /* PXY set, REQ clear; E may be set (a protocol error answer). */
        struct dict_cmd_data a = {LG_DIA_CMD_RIR, "Reporting-Information-Answer",
                                  CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE, CMD_FLAG_PROXIABLE};
        if ((rc = fd_dict_new(d->dict, DICT_COMMAND, &a, d->app_t6a, &d->cmd_ria)) != 0)
            goto failed;
    }
    return define_s6t(d);
failed:
    lg_error("diameter: cannot define the T6a/T6b application: %s", strerror(rc));
    return LG_ERR;
}

int lg_dia_dict_load(struct dictionary *dict, lg_dia_dict_t *out)
{
    memset(out, 0, sizeof(*out));
    out->dict = dict;
    for (size_t i = 0; i < LG_ARRAY_SIZE(base_avps); i++) {
        if (fd_dict_search(dict, DICT_AVP, AVP_BY_NAME, base_avps[i].name,
                           slot(out, base_avps[i].field), ENOENT) != 0) {
            lg_error("diameter: the base dictionary has no %s", base_avps[i].name);
            return LG_ERR;
        }
    }
    if (define_app(out) != LG_OK)
        return LG_ERR;
    for (size_t i = 0; i < LG_ARRAY_SIZE(avps); i++)
        if (define_avp(out, &avps[i]) != LG_OK)
            return LG_ERR;
    if (group_rules(out) != LG_OK || command_rules(out) != LG_OK)
        return LG_ERR;
    return LG_OK;
}

#ifdef __SANITIZE_ADDRESS__
/*
 * LeakSanitizer's suppressions, in every program that loads this dictionary
 * (the daemon, dia-sim, the tests): freeDiameter 1.2.1 imports the
 * TLS_Cred certificate chain (gnutls_x509_crt_list_import2, in its
 * configuration parser) and never frees the list. Its leak, not ours.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:gnutls_x509_crt_list_import2\n";
}
#endif

/* Adds an AVP of model with value v as parent's last child. */
static int add_value(struct dict_object *model, msg_or_avp *parent, union avp_value *v)
{
    struct avp *a;

    if (fd_msg_avp_new(model, 0, &a) != 0)
        return LG_ERR;
    if (fd_msg_avp_setvalue(a, v) != 0 || fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0) {
        fd_msg_free(a);
        return LG_ERR;
    }
    return LG_OK;
}

int lg_dia_add_u32(struct dict_object *model, msg_or_avp *parent, uint32_t value)
{
    union avp_value v = {.u32 = value};
    return add_value(model, parent, &v);
}

int lg_dia_add_str(struct dict_object *model, msg_or_avp *parent, const char *s)
{
    union avp_value v;

    memset(&v, 0, sizeof(v));
    v.os.data = (uint8_t *)(uintptr_t)s;
    v.os.len = strlen(s);
    return add_value(model, parent, &v);
}

struct avp *lg_dia_add_group(struct dict_object *model, msg_or_avp *parent)
{
    struct avp *a;

    if (fd_msg_avp_new(model, 0, &a) != 0)
        return NULL;
    if (fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0) {
        fd_msg_free(a);
        return NULL;
    }
    return a;
}

struct avp *lg_dia_child(msg_or_avp *parent, uint32_t code, uint32_t vendor)
{
    struct avp *a = NULL;
    struct avp_hdr *h;

    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &a, NULL) != 0)
        return NULL;
    while (a != NULL) {
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_code == code &&
            ((h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0) == vendor)
            return a;
        if (fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL) != 0)
            return NULL;
    }
    return NULL;
}
