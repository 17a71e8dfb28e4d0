/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One report's location. The southbound parser (report.c) hands each
 * report's TS 29.571 UserLocation here, after the schema check: exactly one
 * of eutraLocation, nrLocation, utraLocation, geraLocation, whose PLMN and
 * hex cell or area ids become the canonical cell key of the cell table, and
 * whose geographicalInformation (a TS 23.032 ellipsoid point with
 * uncertainty circle) becomes the report's position. Problems are recorded
 * at the cursor's JSON pointer. On the hot path: hand-written character
 * checks instead of regexes, no allocation.
 */
#include "locguard/south/location.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* GAD (TS 23.032) scales: latitude 23 bits over 90 degrees, longitude 24 bits over 360. */
#define GAD_LAT_SCALE                      8388608.0  /* 2^23 */
#define GAD_LON_SCALE                      16777216.0 /* 2^24 */
#define GAD_K_MAX                          127
#define GAD_SHAPE_POINT_UNCERTAINTY_CIRCLE 1

/* ---- character checks (the TS 29.571 patterns, without a regex engine) ---- */

static bool is_digit(unsigned char ch)
{
    return (unsigned)(ch - '0') <= 9;
}

static int hex_value(unsigned char ch)
{
    if ((unsigned)(ch - '0') <= 9)
        return ch - '0';
    if ((unsigned)(ch - 'A') <= 5)
        return ch - 'A' + 10;
    if ((unsigned)(ch - 'a') <= 5)
        return ch - 'a' + 10;
    return -1;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

/* Copies n hex digits of s upper-cased into dst and terminates it; false on a non-hex digit. */
static bool copy_hex_upper(const char *s, size_t n, char *dst)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (hex_value(ch) < 0)
            return false;
        dst[i] = (char)((unsigned)(ch - 'a') <= 5 ? ch - ('a' - 'A') : ch);
    }
    dst[n] = '\0';
    return true;
}

static bool is_upper_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (!is_digit(ch) && (unsigned)(ch - 'A') > 5)
            return false;
    }
    return true;
}

/*
 * Reads the hex string member key of obj, n1 or n2 digits long (n2 = 0: n1
 * only), upper-cased into dst (at least max(n1, n2) + 1 bytes).
 */
static bool hex_member(lg_cursor_t *c, const cJSON *obj, const char *key, size_t n1, size_t n2,
                       const char *reason, char *dst)
{
    const char *s;
    size_t n;

    if (!lg_cursor_need_string(c, obj, key, &s, &n))
        return false;
    if ((n != n1 && n != n2) || !copy_hex_upper(s, n, dst)) {
        lg_cursor_invalid(c, key, reason);
        return false;
    }
    return true;
}

/* ---- identifiers and the location ---- */

/* Reads parent's plmnId into plmn as "<mcc>-<mnc>" (at most 7 characters + NUL). */
static bool parse_plmn(lg_cursor_t *c, const cJSON *parent, char plmn[8])
{
    const cJSON *p = lg_cursor_need_object(c, parent, "plmnId");
    const char *s;
    size_t n;
    bool ok = true;

    if (p == NULL)
        return false;
    lg_cursor_push(c, "plmnId");
    if (!lg_cursor_need_string(c, p, "mcc", &s, &n)) {
        ok = false;
    } else if (n != 3 || !all_digits(s, n)) {
        lg_cursor_invalid(c, "mcc", "must be 3 digits");
        ok = false;
    } else {
        memcpy(plmn, s, 3);
        plmn[3] = '-';
    }
    if (!lg_cursor_need_string(c, p, "mnc", &s, &n)) {
        ok = false;
    } else if ((n != 2 && n != 3) || !all_digits(s, n)) {
        lg_cursor_invalid(c, "mnc", "must be 2 or 3 digits");
        ok = false;
    } else {
        memcpy(plmn + 4, s, n);
        plmn[4 + n] = '\0';
    }
    lg_cursor_pop(c);
    return ok;
}

/* Builds "<prefix>:<plmn>:<a>[:<b>]" into key (LG_CELL_KEY_MAX bytes), cut at its end. */
static void make_key(char *key, const char *prefix, const char *plmn, const char *a, const char *b)
{
    const char *part[] = {prefix, plmn, a, b};
    size_t pos = 0;

    for (size_t i = 0; i < LG_ARRAY_SIZE(part) && part[i] != NULL; i++) {
        if (i > 0 && pos + 1 < LG_CELL_KEY_MAX)
            key[pos++] = ':';
        for (const char *s = part[i]; *s != '\0' && pos + 1 < LG_CELL_KEY_MAX; s++)
            key[pos++] = *s;
    }
    key[pos] = '\0';
}

/* Checks the location's tai (required, not stored: the cell identifies the area). */
static void parse_tai(lg_cursor_t *c, const cJSON *loc)
{
    const cJSON *tai = lg_cursor_need_object(c, loc, "tai");
    char plmn[8], tac[8];

    if (tai == NULL)
        return;
    lg_cursor_push(c, "tai");
    (void)parse_plmn(c, tai, plmn);
    (void)hex_member(c, tai, "tac", 4, 6, "must be 4 or 6 hex digits", tac);
    lg_cursor_pop(c);
}

/* Reads geographicalInformation, when present, into the report's position. */
static void parse_position(lg_cursor_t *c, const cJSON *loc, lg_report_t *rep)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(loc, "geographicalInformation");
    const char *key = "geographicalInformation";

    if (v == NULL)
        return;
    if (!cJSON_IsString(v)) {
        lg_cursor_invalid(c, key, "must be a string");
        return;
    }
    if (strlen(v->valuestring) != 16 || !is_upper_hex(v->valuestring, 16)) {
        lg_cursor_invalid(c, key, "must be 16 upper-case hex digits");
        return;
    }
    if (lg_location_decode_gad(v->valuestring, &rep->lat_deg, &rep->lon_deg, &rep->uncertainty_m) !=
        LG_OK) {
        lg_cursor_invalid(c, key, "must be an ellipsoid point with uncertainty circle");
        return;
    }
    rep->has_position = true;
}

/* The cell member of an E-UTRA or NR location. */
typedef struct cell_desc {
    const char *member;  /* "ecgi" / "ncgi", also the key prefix */
    const char *cell_id; /* "eutraCellId" / "nrCellId" */
    size_t cell_len;     /* hex digits of the cell id */
    const char *reason;  /* error for a malformed cell id */
    const char *ignore;  /* the "ignore this cell" flag */
} cell_desc_t;

static const cell_desc_t ECGI = {"ecgi", "eutraCellId", 7, "must be 7 hex digits", "ignoreEcgi"};
static const cell_desc_t NCGI = {"ncgi", "nrCellId", 9, "must be 9 hex digits", "ignoreNcgi"};

/* eutraLocation / nrLocation: tai and ecgi/ncgi required, cell key from the latter. */
static void parse_tai_cell(lg_cursor_t *c, const cJSON *loc, lg_report_t *rep, const cell_desc_t *d)
{
    const cJSON *cgi;

    parse_tai(c, loc);
    cgi = lg_cursor_need_object(c, loc, d->member);
    if (cgi != NULL) {
        char plmn[8], cell[16];
        bool ok;

        lg_cursor_push(c, d->member);
        ok = parse_plmn(c, cgi, plmn);
        ok = hex_member(c, cgi, d->cell_id, d->cell_len, 0, d->reason, cell) && ok;
        lg_cursor_pop(c);
        if (ok)
            make_key(rep->cell_key, d->member, plmn, cell, NULL);
    }
    /* A cell the sender says to ignore is no evidence of where the UE is. */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(loc, d->ignore)))
        lg_cursor_invalid(c, d->ignore, "cell marked to be ignored: no usable location");
    parse_position(c, loc, rep);
}

/* The area members of a UTRA or GERA location, most precise first. */
static const struct {
    const char *member; /* "cgi" / "sai" / "rai", also the key prefix */
    const char *code;   /* the member after lac */
    size_t code_len;    /* its hex digits */
    const char *reason; /* error for a malformed code */
} AREAS[3] = {
    {"cgi", "cellId", 4, "must be 4 hex digits"},
    {"sai", "sac", 4, "must be 4 hex digits"},
    {"rai", "rac", 2, "must be 2 hex digits"},
};

/*
 * utraLocation / geraLocation: per the TS 29.571 oneOf, exactly one of cgi,
 * sai, rai (UTRA) or cgi, sai, lai, rai (GERA). A lone lai names no cell or
 * area we key on, so it is refused.
 */
static void parse_utra_gera(lg_cursor_t *c, const cJSON *loc, lg_report_t *rep, bool is_gera)
{
    const cJSON *lai = is_gera ? cJSON_GetObjectItemCaseSensitive(loc, "lai") : NULL;
    const cJSON *area[3];
    size_t n_present = lai != NULL;
    bool has_key = false;

    for (size_t i = 0; i < 3; i++) {
        area[i] = cJSON_GetObjectItemCaseSensitive(loc, AREAS[i].member);
        n_present += area[i] != NULL;
    }
    if (n_present != 1)
        lg_cursor_invalid(c, NULL,
                          is_gera ? "must have exactly one of cgi, sai, lai, rai"
                                  : "must have exactly one of cgi, sai, rai");
    else if (lai != NULL)
        lg_cursor_invalid(c, "lai", "a location area alone is not accepted: send cgi, sai or rai");

    for (size_t i = 0; i < 3; i++) {
        char plmn[8], lac[8], code[8];
        bool ok;

        if (area[i] == NULL)
            continue;
        if (!cJSON_IsObject(area[i])) {
            lg_cursor_invalid(c, AREAS[i].member, "must be an object");
            continue;
        }
        lg_cursor_push(c, AREAS[i].member);
        ok = parse_plmn(c, area[i], plmn);
        ok = hex_member(c, area[i], "lac", 4, 0, "must be 4 hex digits", lac) && ok;
        ok = hex_member(c, area[i], AREAS[i].code, AREAS[i].code_len, 0, AREAS[i].reason, code) &&
             ok;
        lg_cursor_pop(c);
        if (ok && !has_key) {
            make_key(rep->cell_key, AREAS[i].member, plmn, lac, code);
            has_key = true;
        }
    }
    parse_position(c, loc, rep);
}

static const struct {
    const char *member;
    lg_rat_t rat;
} RATS[4] = {
    {"eutraLocation", LG_RAT_EUTRA},
    {"nrLocation", LG_RAT_NR},
    {"utraLocation", LG_RAT_UTRA},
    {"geraLocation", LG_RAT_GERA},
};

/* UserLocation: exactly one of the four RAT members (n3gaLocation is not used). */
void lg_location_parse(lg_cursor_t *c, const cJSON *loc, lg_report_t *rep)
{
    const cJSON *rat_loc = NULL;
    size_t which = 0, n_present = 0;

    for (size_t i = 0; i < LG_ARRAY_SIZE(RATS); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(loc, RATS[i].member);

        if (v != NULL) {
            rat_loc = v;
            which = i;
            n_present++;
        }
    }
    if (n_present != 1) {
        lg_cursor_invalid(
            c, NULL,
            "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation");
        return;
    }
    if (!cJSON_IsObject(rat_loc)) {
        lg_cursor_invalid(c, RATS[which].member, "must be an object");
        return;
    }
    rep->rat = RATS[which].rat;
    lg_cursor_push(c, RATS[which].member);
    switch (rep->rat) {
    case LG_RAT_EUTRA:
        parse_tai_cell(c, rat_loc, rep, &ECGI);
        break;
    case LG_RAT_NR:
        parse_tai_cell(c, rat_loc, rep, &NCGI);
        break;
    case LG_RAT_UTRA:
        parse_utra_gera(c, rat_loc, rep, false);
        break;
    case LG_RAT_GERA:
        parse_utra_gera(c, rat_loc, rep, true);
        break;
    }
    lg_cursor_pop(c);
}

/* ---- the TS 23.032 position codec ---- */

/* Radius in metres of GAD uncertainty code k (TS 23.032 §6.2). */
static double gad_radius_m(unsigned k)
{
    return 10.0 * (pow(1.1, (double)k) - 1.0);
}

int lg_location_decode_gad(const char *hex16, double *lat_deg, double *lon_deg,
                           double *uncertainty_m)
{
    uint8_t o[8];

    for (size_t i = 0; i < 8; i++) {
        int hi, lo;

        /* A NUL is not a hex digit, so a short string stops here without over-reading. */
        if ((hi = hex_value((unsigned char)hex16[2 * i])) < 0 ||
            (lo = hex_value((unsigned char)hex16[2 * i + 1])) < 0)
            return LG_ERR;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex16[16] != '\0' || o[0] >> 4 != GAD_SHAPE_POINT_UNCERTAINTY_CIRCLE)
        return LG_ERR;

    uint32_t lat_n = (uint32_t)(o[1] & 0x7f) << 16 | (uint32_t)o[2] << 8 | o[3];
    int32_t lon_n = (int32_t)((uint32_t)o[4] << 16 | (uint32_t)o[5] << 8 | o[6]);

    if (lon_n & 0x800000)
        lon_n -= 0x1000000; /* 24-bit two's complement */
    *lat_deg = lat_n * 90.0 / GAD_LAT_SCALE;
    if ((o[1] & 0x80) && lat_n != 0)
        *lat_deg = -*lat_deg;
    *lon_deg = lon_n * 360.0 / GAD_LON_SCALE;
    *uncertainty_m = gad_radius_m(o[7] & 0x7f);
    return LG_OK;
}

void lg_location_encode_gad(double lat_deg, double lon_deg, double uncertainty_m, char out[17])
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t o[8];
    long lat_n, lon_n;
    unsigned k;

    if (!isfinite(lat_deg))
        lat_deg = 0.0;
    if (!isfinite(lon_deg))
        lon_deg = 0.0;
    lat_n = lround(fmin(fabs(lat_deg), 90.0) * GAD_LAT_SCALE / 90.0);
    if (lat_n > 0x7fffff)
        lat_n = 0x7fffff; /* 90 degrees itself is not representable */
    /* Longitudes wrap: 180 east is 180 west, the representable end of the range. */
    lon_deg = fmod(lon_deg + 180.0, 360.0);
    if (lon_deg < 0.0)
        lon_deg += 360.0;
    lon_n = lround((lon_deg - 180.0) * GAD_LON_SCALE / 360.0);
    if (lon_n >= 0x800000)
        lon_n -= 0x1000000;

    /* Smallest k whose radius covers the request: start from the closed form, then settle. */
    if (!(uncertainty_m > 0.0)) {
        k = 0;
    } else {
        double guess = ceil(log1p(uncertainty_m / 10.0) / log(1.1));

        k = guess > GAD_K_MAX ? GAD_K_MAX : (unsigned)guess;
        while (k > 0 && gad_radius_m(k - 1) >= uncertainty_m)
            k--;
        while (k < GAD_K_MAX && gad_radius_m(k) < uncertainty_m)
            k++;
    }

    o[0] = GAD_SHAPE_POINT_UNCERTAINTY_CIRCLE << 4;
    o[1] = (uint8_t)((lat_deg < 0.0 && lat_n != 0 ? 0x80 : 0) | (lat_n >> 16 & 0x7f));
    o[2] = (uint8_t)(lat_n >> 8);
    o[3] = (uint8_t)lat_n;
    o[4] = (uint8_t)((uint32_t)lon_n >> 16);
    o[5] = (uint8_t)((uint32_t)lon_n >> 8);
    o[6] = (uint8_t)lon_n;
    o[7] = (uint8_t)k;
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = hex[o[i] >> 4];
        out[2 * i + 1] = hex[o[i] & 0xf];
    }
    out[16] = '\0';
}
