/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a Reporting-Information-Request into a report batch. The stack
 * has already checked the framing, each AVP's length against its type and
 * the dictionary's rules (dict.c); what is left is locguard's own: a user
 * (User-Identifier with an IMSI User-Name), at least one and at most
 * max_reports Monitoring-Event-Reports, each with a location that names a
 * cell (an ECGI from an MME, a CGI, SAI or RAI from an SGSN) and an age
 * within the accepted one. The first problem found is the answer's (a
 * Diameter answer names one Failed-AVP); nothing of a refused request
 * reaches the group commit.
 */
#include "locguard/diameter/rir.h"

#include "locguard/south/location.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The AVP's code, its vendor (0 without the V flag) and its value (NULL when not understood). */
typedef struct avp_view {
    uint32_t code;
    uint32_t vendor;
    const union avp_value *value;
} avp_view_t;

static bool view(struct avp *a, avp_view_t *v)
{
    struct avp_hdr *h;

    if (fd_msg_avp_hdr(a, &h) != 0)
        return false;
    v->code = h->avp_code;
    v->vendor = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
    v->value = h->avp_value;
    return true;
}

/* The first child of parent (a msg or a grouped AVP), or NULL. */
static struct avp *first(msg_or_avp *parent)
{
    struct avp *a = NULL;

    return fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &a, NULL) == 0 ? a : NULL;
}

/* The AVP after a at its level, or NULL. */
static struct avp *next(struct avp *a)
{
    struct avp *n = NULL;

    return fd_msg_browse(a, MSG_BRW_NEXT, &n, NULL) == 0 ? n : NULL;
}


/* True for a Monitoring-Event-Report. */
static bool is_report(struct avp *a)
{
    avp_view_t v;

    return view(a, &v) && v.code == LG_AVP_MONITORING_EVENT_REPORT &&
           v.vendor == LG_DIA_VENDOR_3GPP;
}

static int missing(lg_rir_error_t *err, uint32_t code, uint32_t vendor, const char *reason)
{
    err->result_code = LG_DIA_MISSING_AVP;
    err->missing_code = code;
    err->missing_vendor = vendor;
    err->reason = reason;
    return LG_ERR;
}

static int invalid(lg_rir_error_t *err, struct avp *bad, const char *reason)
{
    err->result_code = LG_DIA_INVALID_AVP_VALUE;
    err->bad = bad;
    err->reason = reason;
    return LG_ERR;
}

/* An OctetString AVP's bytes; false when it holds none (not understood). */
static bool octets(struct avp *a, const uint8_t **p, size_t *len)
{
    avp_view_t v;

    if (!view(a, &v) || v.value == NULL)
        return false;
    *p = v.value->os.data;
    *len = v.value->os.len;
    return true;
}

/* ---- TS 23.003 / TS 24.008 identities ---------------------------------------------------------
 */

/*
 * The PLMN of 3 BCD octets (MCC digit 2 | MCC digit 1, MNC digit 3 | MCC
 * digit 3, MNC digit 2 | MNC digit 1; MNC digit 3 is 0xF for a 2-digit
 * MNC) as "<mcc>-<mnc>".
 */
static bool plmn_decode(const uint8_t *v, char out[8])
{
    unsigned d[6] = {v[0] & 0xFu, v[0] >> 4, v[1] & 0xFu, v[2] & 0xFu, v[2] >> 4, v[1] >> 4};
    size_t n = d[5] == 0xF ? 5 : 6;

    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (d[i] > 9)
            return false;
        if (i == 3)
            out[k++] = '-';
        out[k++] = (char)('0' + d[i]);
    }
    out[k] = '\0';
    return true;
}

int lg_rir_plmn_encode(const char *plmn, uint8_t out[3])
{
    size_t n = strlen(plmn);
    unsigned d[6];

    if ((n != 6 && n != 7) || plmn[3] != '-')
        return LG_ERR;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (i == 3)
            continue;
        if (plmn[i] < '0' || plmn[i] > '9')
            return LG_ERR;
        d[j++] = (unsigned)(plmn[i] - '0');
    }
    unsigned mnc3 = n == 7 ? d[5] : 0xF;
    out[0] = (uint8_t)(d[1] << 4 | d[0]);
    out[1] = (uint8_t)(mnc3 << 4 | d[2]);
    out[2] = (uint8_t)(d[4] << 4 | d[3]);
    return LG_OK;
}

/* E-UTRAN-Cell-Global-Identity: PLMN (3) + 4 spare bits + the 28-bit ECI (TS 29.272). */
int lg_rir_ecgi_key(const uint8_t *v, size_t len, char key[LG_CELL_KEY_MAX])
{
    char plmn[8];

    if (len != 7 || (v[3] & 0xF0) != 0 || !plmn_decode(v, plmn))
        return LG_ERR;
    unsigned eci = (unsigned)v[3] << 24 | (unsigned)v[4] << 16 | (unsigned)v[5] << 8 | v[6];
    snprintf(key, LG_CELL_KEY_MAX, "ecgi:%s:%07X", plmn, eci);
    return LG_OK;
}

/* Cell-Global-Identity or Service-Area-Identity: PLMN (3) + LAC (2) + CI or SAC (2). */
int lg_rir_cgi_key(const char *prefix, const uint8_t *v, size_t len, char key[LG_CELL_KEY_MAX])
{
    char plmn[8];

    if (len != 7 || !plmn_decode(v, plmn))
        return LG_ERR;
    snprintf(key, LG_CELL_KEY_MAX, "%s:%s:%04X:%04X", prefix, plmn, (unsigned)(v[3] << 8 | v[4]),
             (unsigned)(v[5] << 8 | v[6]));
    return LG_OK;
}

/* Routing-Area-Identity: PLMN (3) + LAC (2) + RAC (1). */
int lg_rir_rai_key(const uint8_t *v, size_t len, char key[LG_CELL_KEY_MAX])
{
    char plmn[8];

    if (len != 6 || !plmn_decode(v, plmn))
        return LG_ERR;
    snprintf(key, LG_CELL_KEY_MAX, "rai:%s:%04X:%02X", plmn, (unsigned)(v[3] << 8 | v[4]),
             (unsigned)v[5]);
    return LG_OK;
}

/* ---- one Monitoring-Event-Report --------------------------------------------------------------
 */

/* Geographical-Information: 8 octets of TS 23.032 "ellipsoid point with uncertainty circle". */
static int read_position(struct avp *a, lg_report_t *rep, lg_rir_error_t *err)
{
    const uint8_t *p;
    size_t len;
    char hex[17];

    if (!octets(a, &p, &len) || len != 8)
        return invalid(err, a, "Geographical-Information must be 8 octets");
    for (size_t i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02X", p[i]);
    if (lg_location_decode_gad(hex, &rep->lat_deg, &rep->lon_deg, &rep->uncertainty_m) != LG_OK)
        return invalid(err, a, "Geographical-Information is not a point with uncertainty circle");
    rep->has_position = true;
    return LG_OK;
}

/* Age-Of-Location-Information (minutes) into the report's time. */
static int read_age(struct avp *a, const lg_report_limits_t *lim, lg_report_t *rep,
                    lg_rir_error_t *err)
{
    avp_view_t v;

    rep->ts_us = lim->now_us;
    if (a == NULL)
        return LG_OK;
    if (!view(a, &v) || v.value == NULL)
        return invalid(err, a, "Age-Of-Location-Information is not understood");
    int64_t age_us = (int64_t)v.value->u32 * 60 * 1000000;
    if (age_us > lim->max_age_us)
        return invalid(err, a, "Age-Of-Location-Information is older than the accepted age");
    rep->ts_us = lim->now_us - age_us;
    return LG_OK;
}

/* MME-Location-Information: the ECGI is required; TAI, when present, must be 5 octets. */
static int read_mme(struct avp *mli, const lg_report_limits_t *lim, lg_report_t *rep,
                    lg_rir_error_t *err)
{
    const uint8_t *p;
    size_t len;
    struct avp *a;

    a = lg_dia_child(mli, LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY, LG_DIA_VENDOR_3GPP);
    if (a == NULL)
        return missing(err, LG_AVP_E_UTRAN_CELL_GLOBAL_IDENTITY, LG_DIA_VENDOR_3GPP,
                       "MME-Location-Information without E-UTRAN-Cell-Global-Identity");
    if (!octets(a, &p, &len) || lg_rir_ecgi_key(p, len, rep->cell_key) != LG_OK)
        return invalid(err, a, "E-UTRAN-Cell-Global-Identity must be a PLMN and a 28-bit ECI");
    a = lg_dia_child(mli, LG_AVP_TRACKING_AREA_IDENTITY, LG_DIA_VENDOR_3GPP);
    if (a != NULL) {
        char plmn[8];
        if (!octets(a, &p, &len) || len != 5 || !plmn_decode(p, plmn))
            return invalid(err, a, "Tracking-Area-Identity must be a PLMN and a TAC");
    }
    rep->rat = LG_RAT_EUTRA;
    a = lg_dia_child(mli, LG_AVP_GEOGRAPHICAL_INFORMATION, LG_DIA_VENDOR_3GPP);
    if (a != NULL && read_position(a, rep, err) != LG_OK)
        return LG_ERR;
    return read_age(lg_dia_child(mli, LG_AVP_AGE_OF_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP),
                    lim, rep, err);
}

/*
 * SGSN-Location-Information: the most precise of CGI, SAI and RAI (a lone
 * LAI names no cell). The AVPs do not tell UTRAN from GERAN: a report with
 * a SAI (UTRAN only) or anything else is recorded as UTRA.
 */
static int read_sgsn(struct avp *sli, const lg_report_limits_t *lim, lg_report_t *rep,
                     lg_rir_error_t *err)
{
    const uint8_t *p;
    size_t len;
    struct avp *cgi = lg_dia_child(sli, LG_AVP_CELL_GLOBAL_IDENTITY, LG_DIA_VENDOR_3GPP);
    struct avp *sai = lg_dia_child(sli, LG_AVP_SERVICE_AREA_IDENTITY, LG_DIA_VENDOR_3GPP);
    struct avp *rai = lg_dia_child(sli, LG_AVP_ROUTING_AREA_IDENTITY, LG_DIA_VENDOR_3GPP);

    if (cgi != NULL) {
        if (!octets(cgi, &p, &len) || lg_rir_cgi_key("cgi", p, len, rep->cell_key) != LG_OK)
            return invalid(err, cgi, "Cell-Global-Identity must be a PLMN, a LAC and a CI");
    } else if (sai != NULL) {
        if (!octets(sai, &p, &len) || lg_rir_cgi_key("sai", p, len, rep->cell_key) != LG_OK)
            return invalid(err, sai, "Service-Area-Identity must be a PLMN, a LAC and a SAC");
    } else if (rai != NULL) {
        if (!octets(rai, &p, &len) || lg_rir_rai_key(p, len, rep->cell_key) != LG_OK)
            return invalid(err, rai, "Routing-Area-Identity must be a PLMN, a LAC and a RAC");
    } else {
        return missing(err, LG_AVP_CELL_GLOBAL_IDENTITY, LG_DIA_VENDOR_3GPP,
                       "SGSN-Location-Information without a CGI, SAI or RAI");
    }
    rep->rat = LG_RAT_UTRA;
    struct avp *a = lg_dia_child(sli, LG_AVP_GEOGRAPHICAL_INFORMATION, LG_DIA_VENDOR_3GPP);
    if (a != NULL && read_position(a, rep, err) != LG_OK)
        return LG_ERR;
    return read_age(lg_dia_child(sli, LG_AVP_AGE_OF_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP),
                    lim, rep, err);
}

static int read_report(struct avp *mer, const lg_report_limits_t *lim, lg_report_t *rep,
                       lg_rir_error_t *err)
{
    avp_view_t v;
    struct avp *a = lg_dia_child(mer, LG_AVP_MONITORING_TYPE, LG_DIA_VENDOR_3GPP);

    if (a != NULL && view(a, &v) && v.value != NULL &&
        v.value->u32 != LG_DIA_MONITORING_TYPE_LOCATION_REPORTING)
        return invalid(err, a, "only LOCATION_REPORTING is configured");
    struct avp *eli = lg_dia_child(mer, LG_AVP_EPS_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP);
    if (eli == NULL)
        return missing(err, LG_AVP_EPS_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP,
                       "Monitoring-Event-Report without EPS-Location-Information");
    struct avp *mli = lg_dia_child(eli, LG_AVP_MME_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP);
    struct avp *sli = lg_dia_child(eli, LG_AVP_SGSN_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP);
    if (mli != NULL && sli != NULL)
        return invalid(err, sli, "EPS-Location-Information with both an MME and an SGSN location");
    if (mli != NULL)
        return read_mme(mli, lim, rep, err);
    if (sli != NULL)
        return read_sgsn(sli, lim, rep, err);
    return missing(err, LG_AVP_MME_LOCATION_INFORMATION, LG_DIA_VENDOR_3GPP,
                   "EPS-Location-Information without an MME or SGSN location");
}

/* User-Identifier's User-Name: the IMSI, 5..15 digits. */
static int read_user(struct msg *rir, char supi[LG_SUPI_MAX], lg_rir_error_t *err)
{
    struct avp *uid = lg_dia_child(rir, LG_AVP_USER_IDENTIFIER, LG_DIA_VENDOR_3GPP);
    const uint8_t *p;
    size_t len;

    if (uid == NULL)
        return missing(err, LG_AVP_USER_IDENTIFIER, LG_DIA_VENDOR_3GPP,
                       "no User-Identifier: the user is not named");
    struct avp *name = lg_dia_child(uid, LG_AVP_USER_NAME, 0);
    if (name == NULL)
        return missing(err, LG_AVP_USER_NAME, 0, "User-Identifier without User-Name (IMSI)");
    if (!octets(name, &p, &len) || len < 5 || len > 15)
        return invalid(err, name, "User-Name must be an IMSI of 5..15 digits");
    for (size_t i = 0; i < len; i++)
        if (p[i] < '0' || p[i] > '9')
            return invalid(err, name, "User-Name must be an IMSI of 5..15 digits");
    memcpy(supi, p, len);
    supi[len] = '\0';
    return LG_OK;
}

int lg_rir_refs(struct msg *rir, uint32_t *refs, struct avp **avps, size_t n)
{
    size_t i = 0;
    avp_view_t v;

    for (struct avp *a = first(rir); a != NULL && i < n; a = next(a)) {
        if (!is_report(a))
            continue;
        struct avp *ref = lg_dia_child(a, LG_AVP_SCEF_REFERENCE_ID, LG_DIA_VENDOR_3GPP);
        if (ref == NULL || !view(ref, &v) || v.value == NULL)
            return LG_ERR;
        refs[i] = v.value->u32;
        if (avps != NULL)
            avps[i] = ref;
        i++;
    }
    return i == n ? LG_OK : LG_ERR;
}

int lg_rir_read(struct msg *rir, const lg_report_limits_t *lim, lg_batch_t *out,
                lg_rir_error_t *err)
{
    char supi[LG_SUPI_MAX];
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (read_user(rir, supi, err) != LG_OK)
        return LG_ERR;
    for (struct avp *a = first(rir); a != NULL; a = next(a)) {
        if (!is_report(a))
            continue;
        if (n++ == lim->max_reports) {
            err->result_code = LG_DIA_AVP_OCCURS_TOO_MANY_TIMES;
            err->bad = a;
            err->reason = "more Monitoring-Event-Reports than a batch takes";
            return LG_ERR;
        }
    }
    if (n == 0)
        return missing(err, LG_AVP_MONITORING_EVENT_REPORT, LG_DIA_VENDOR_3GPP,
                       "no Monitoring-Event-Report");
    out->reports = lg_xcalloc(n, sizeof(*out->reports));
    out->n_reports = n;
    size_t i = 0;
    for (struct avp *a = first(rir); a != NULL; a = next(a)) {
        if (!is_report(a))
            continue;
        lg_report_t *rep = &out->reports[i++];
        lg_strlcpy(rep->supi, supi, sizeof(rep->supi));
        if (read_report(a, lim, rep, err) != LG_OK) {
            lg_batch_cleanup(out);
            return LG_ERR;
        }
    }
    return LG_OK;
}
