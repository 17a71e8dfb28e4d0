/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Diameter dictionary locguard needs and Debian's freeDiameter 1.2.1
 * lacks: the 3GPP vendor, the T6a/T6b application (TS 29.128), its
 * Reporting-Information-Request/Answer, the S6t application and its
 * Configuration-Information-Request/Answer (TS 29.336), the monitoring AVPs and
 * the TS 29.272 location AVPs a Monitoring-Event-Report carries, with the
 * rules freeDiameter checks on every message it parses (a missing
 * mandatory AVP is answered 5005 by the stack). The base protocol's AVPs
 * (Session-Id, Origin-Host, Result-Code, Failed-AVP, User-Name, ...) are
 * libfdproto's own. Every code is the specification's, checked against
 * Wireshark's dictionary (/usr/share/wireshark/diameter/dictionary.xml and
 * TGPP.xml); dict.c says where each comes from.
 */
#ifndef LOCGUARD_DIAMETER_DICT_H
#define LOCGUARD_DIAMETER_DICT_H

#include "locguard/core/common.h"

/* freeDiameter's headers need these; its libfdproto.h is not self-contained. */
#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdproto.h>

/* 3GPP's vendor id (IANA SMI Network Management Private Enterprise Code 10415). */
#define LG_DIA_VENDOR_3GPP 10415u
/* T6a/T6b application id (TS 29.128; Wireshark TGPP.xml "3GPP T6a/T6b"). */
#define LG_DIA_APP_T6A 16777346u
/* Reporting-Information-Request/Answer (TS 29.128 / TS 29.336; dictionary.xml). */
#define LG_DIA_CMD_RIR 8388719u
/* S6t application id (TS 29.336; dictionary.xml "3GPP S6t"). */
#define LG_DIA_APP_S6T 16777345u
/* Configuration-Information-Request/Answer (TS 29.336; dictionary.xml). */
#define LG_DIA_CMD_CIR 8388718u

/* AVP codes (vendor 3GPP unless said otherwise). */
enum lg_dia_avp_code {
    LG_AVP_USER_NAME = 1,                             /* RFC 6733 §8.14, vendor 0 */
    LG_AVP_VENDOR_ID = 266,                           /* RFC 6733 §5.3.3, vendor 0 */
    LG_AVP_FAILED_AVP = 279,                          /* RFC 6733 §7.5, vendor 0 */
    LG_AVP_EXPERIMENTAL_RESULT = 297,                 /* RFC 6733 §7.6, vendor 0 */
    LG_AVP_EXPERIMENTAL_RESULT_CODE = 298,            /* RFC 6733 §7.7, vendor 0 */
    LG_AVP_MSISDN = 701,                              /* TS 29.329 */
    LG_AVP_EPS_LOCATION_INFORMATION = 1496,           /* TS 29.272 */
    LG_AVP_MME_LOCATION_INFORMATION = 1600,           /* TS 29.272 */
    LG_AVP_SGSN_LOCATION_INFORMATION = 1601,          /* TS 29.272 */
    LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY = 1602,       /* TS 29.272 */
    LG_AVP_TRACKING_AREA_IDENTITY = 1603,             /* TS 29.272 */
    LG_AVP_CELL_GLOBAL_IDENTITY = 1604,               /* TS 29.272 */
    LG_AVP_ROUTING_AREA_IDENTITY = 1605,              /* TS 29.272 */
    LG_AVP_LOCATION_AREA_IDENTITY = 1606,             /* TS 29.272 */
    LG_AVP_SERVICE_AREA_IDENTITY = 1607,              /* TS 29.272 */
    LG_AVP_GEOGRAPHICAL_INFORMATION = 1608,           /* TS 29.272 */
    LG_AVP_AGE_OF_LOCATION_INFORMATION = 1611,        /* TS 29.272 */
    LG_AVP_USER_IDENTIFIER = 3102,                    /* TS 29.336 */
    LG_AVP_EXTERNAL_IDENTIFIER = 3111,                /* TS 29.336 */
    LG_AVP_MONITORING_EVENT_CONFIGURATION = 3122,     /* TS 29.336 */
    LG_AVP_MONITORING_EVENT_REPORT = 3123,            /* TS 29.336 */
    LG_AVP_SCEF_REFERENCE_ID = 3124,                  /* TS 29.336 */
    LG_AVP_SCEF_ID = 3125,                            /* TS 29.336 */
    LG_AVP_SCEF_REFERENCE_ID_FOR_DELETION = 3126,     /* TS 29.336 */
    LG_AVP_MONITORING_TYPE = 3127,                    /* TS 29.336 */
    LG_AVP_LOCATION_INFORMATION_CONFIGURATION = 3135, /* TS 29.336 */
    LG_AVP_MONTE_LOCATION_TYPE = 3136,                /* TS 29.336 */
    LG_AVP_ACCURACY = 3137,                           /* TS 29.336 */
    LG_AVP_MONITORING_EVENT_CONFIG_STATUS = 3142,     /* TS 29.336 */
};

/* Monitoring-Type LOCATION_REPORTING (TS 29.336; dictionary.xml enum). */
#define LG_DIA_MONITORING_TYPE_LOCATION_REPORTING 2u

/* MONTE-Location-Type CURRENT_LOCATION, Accuracy CGI-ECGI (TS 29.336; dictionary.xml enums). */
#define LG_DIA_MONTE_LOCATION_CURRENT 0u
#define LG_DIA_ACCURACY_CGI_ECGI      0u

/* Experimental-Result-Code DIAMETER_ERROR_USER_UNKNOWN (TS 29.336 / TS 29.128, vendor 3GPP). */
#define LG_DIA_ERROR_USER_UNKNOWN 5001u
/*
 * Experimental-Result-Codes of TS 29.336 §8.4 (vendor 3GPP; dictionary.xml
 * names them): the HSS has no such configuration (an answer to a
 * deletion), and the SCEF knows no such SCEF-Reference-ID (our answer to a
 * report naming one; TS 29.128 uses it on T6a/T6b).
 */
#define LG_DIA_ERROR_CONFIGURATION_EVENT_NON_EXISTANT 5514u
#define LG_DIA_ERROR_SCEF_REFERENCE_ID_UNKNOWN        5515u

/* The dictionary objects the zone and the simulators build messages with. */
typedef struct lg_dia_dict {
    struct dictionary *dict;
    struct dict_object *vendor_3gpp;
    struct dict_object *app_t6a, *app_s6t;
    struct dict_object *cmd_rir, *cmd_ria, *cmd_cir, *cmd_cia;
    struct dict_object *session_id, *origin_host, *origin_realm, *destination_realm,
        *destination_host, *auth_session_state, *result_code, *experimental_result,
        *experimental_result_code, *vendor_id, *failed_avp, *user_name;
    struct dict_object *user_identifier, *msisdn, *monitoring_event_report, *scef_reference_id,
        *scef_id, *monitoring_type, *eps_location_information, *mme_location_information,
        *sgsn_location_information, *ecgi, *tai, *cgi, *rai, *lai, *sai, *geographical_information,
        *age_of_location_information;
    /* S6t (TS 29.336): what a Configuration-Information-Request carries. */
    struct dict_object *monitoring_event_configuration, *scef_reference_id_for_deletion,
        *location_information_configuration, *monte_location_type, *accuracy,
        *monitoring_event_config_status;
} lg_dia_dict_t;

/*
 * Defines what is missing in dict (freeDiameter's dictionary, with the base
 * protocol already in it: libfdcore's fd_g_config->cnf_dict, or one made by
 * fd_dict_init + fd_dict_base_protocol in tests) and fills out with the
 * objects. Objects already defined (a second call, or a freeDiameter
 * extension that defines them) are found and reused. LG_ERR when
 * freeDiameter refuses a definition (logged).
 */
LG_MUST_CHECK int lg_dia_dict_load(struct dictionary *dict, lg_dia_dict_t *out);

/*
 * Message building, for the zone's answers (diameter.c) and its requests
 * (s6t.c): a new AVP of model with an Unsigned32 / Enumerated value, or an
 * OctetString / UTF8String / DiameterIdentity from s (copied), appended to
 * parent. LG_ERR when freeDiameter refuses (nothing is added).
 */
LG_MUST_CHECK int lg_dia_add_u32(struct dict_object *model, msg_or_avp *parent, uint32_t value);
LG_MUST_CHECK int lg_dia_add_str(struct dict_object *model, msg_or_avp *parent, const char *s);
/*
 * Message reading: the first child of parent (a message or a grouped AVP)
 * with code and vendor (0 for an AVP without the V flag), or NULL.
 */
struct avp *lg_dia_child(msg_or_avp *parent, uint32_t code, uint32_t vendor);
/* A new grouped AVP of model appended to parent, to add children to; NULL on failure. */
struct avp *lg_dia_add_group(struct dict_object *model, msg_or_avp *parent);

#endif
