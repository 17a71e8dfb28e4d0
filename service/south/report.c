/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound batch parser. An MME/AMF/SGSN posts a TS 29.518
 * AmfEventNotification; this module turns its reportList into lg_report_t
 * structs (SUPI, timestamp, canonical cell key, optional GAD position) that
 * the group commit sends to the database, or into a list of invalidParams for
 * the 400 answer. It sits between the HTTP listener and the batch queue, on
 * the hot path: one cJSON parse per batch, no allocation per report beyond
 * the reports array, hand-written character checks instead of regexes.
 */
#include "locguard/south/report.h"

#include "locguard/core/jsonschema.h"
#include "locguard/core/jsonutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locguard/core/timefmt.h"

/* SCHEMA_TABLE: TS 29.518 AmfEventNotification and all it reaches, from the YAML. */
#include "schema_tables.inc"

/* invalidParams' name for the body as a whole (not JSON, not an object, ...). */
#define ROOT_PARAM "body"

/* Deepest nesting accepted; a valid notification needs 7. Keeps cJSON's recursion shallow. */
#define MAX_DEPTH 32

/* Member names below a report, the deepest being location/eutraLocation/ecgi/plmnId. */
#define MAX_SEGS 6

/* GAD (TS 23.032) scales: latitude 23 bits over 90 degrees, longitude 24 bits over 360. */
#define GAD_LAT_SCALE                      8388608.0  /* 2^23 */
#define GAD_LON_SCALE                      16777216.0 /* 2^24 */
#define GAD_K_MAX                          127
#define GAD_SHAPE_POINT_UNCERTAINTY_CIRCLE 1

/* Where the parser is in the document, so an error can be reported as a JSON pointer. */
typedef struct parse_ctx {
    lg_batch_t *out;               /* receives the invalidParams */
    const lg_report_limits_t *lim; /* bounds in force */
    bool in_report;                /* true while reading reportList[report_idx] */
    size_t report_idx;             /* index of the report being read */
    const char *seg[MAX_SEGS];     /* member names from the report down to the current object */
    size_t n_seg;                  /* entries used in seg */
    bool *is_off_schema;           /* per report: the YAML refuses it (its own checks are skipped) */
    size_t n_reports;              /* entries of is_off_schema */
} parse_ctx_t;

const char *lg_rat_name(lg_rat_t rat)
{
    switch (rat) {
    case LG_RAT_EUTRA:
        return "EUTRA";
    case LG_RAT_NR:
        return "NR";
    case LG_RAT_UTRA:
        return "UTRA";
    case LG_RAT_GERA:
        return "GERA";
    }
    return "?";
}

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

/* ^[A-Za-z0-9._-]{1,63}$ */
static bool is_node_name(const char *s, size_t n)
{
    if (n < 1 || n >= LG_NODE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (!is_digit(ch) && (unsigned)((ch | 0x20) - 'a') > 25 && ch != '.' && ch != '_' &&
            ch != '-')
            return false;
    }
    return true;
}

/* ---- invalidParams ---- */

/* Appends s to the pointer being built in dst, truncating at cap. */
static void append(char *dst, size_t cap, size_t *pos, const char *s)
{
    while (*s != '\0' && *pos + 1 < cap)
        dst[(*pos)++] = *s++;
    dst[*pos] = '\0';
}

/*
 * Records one invalid parameter at the current position, with leaf (a member
 * name, or NULL for the current object itself) appended to the pointer. Only
 * the first LG_INVALID_MAX are kept; all are counted.
 */
static void invalid(parse_ctx_t *c, const char *leaf, const char *reason)
{
    lg_batch_t *b = c->out;

    if (b->n_invalid++ >= LG_INVALID_MAX)
        return;

    lg_invalid_param_t *p = &b->invalid[b->n_invalid - 1];
    size_t pos = 0;

    p->param[0] = '\0';
    if (c->in_report) {
        char idx[32];

        snprintf(idx, sizeof idx, "/reportList/%zu", c->report_idx);
        append(p->param, sizeof p->param, &pos, idx);
    }
    for (size_t i = 0; i < c->n_seg && i < MAX_SEGS; i++) {
        append(p->param, sizeof p->param, &pos, "/");
        append(p->param, sizeof p->param, &pos, c->seg[i]);
    }
    if (leaf != NULL) {
        append(p->param, sizeof p->param, &pos, "/");
        append(p->param, sizeof p->param, &pos, leaf);
    }
    if (pos == 0) /* the document itself: its JSON pointer "" would name nothing */
        append(p->param, sizeof p->param, &pos, ROOT_PARAM);
    lg_strlcpy(p->reason, reason, sizeof p->reason);
}

/*
 * lg_schema_check's callback: records the violation at its pointer and marks
 * the report it lies in, whose locguard checks are then skipped (they would
 * only repeat what the schema said).
 */
static void on_schema_invalid(void *arg, const char *pointer, const char *reason)
{
    parse_ctx_t *c = arg;
    lg_batch_t *b = c->out;
    static const char prefix[] = "/reportList/";

    if (strncmp(pointer, prefix, sizeof prefix - 1) == 0) {
        char *end;
        unsigned long long i = strtoull(pointer + sizeof prefix - 1, &end, 10);
        if (end != pointer + sizeof prefix - 1 && i < c->n_reports)
            c->is_off_schema[i] = true;
    }
    if (b->n_invalid++ >= LG_INVALID_MAX)
        return;
    lg_invalid_param_t *p = &b->invalid[b->n_invalid - 1];
    lg_strlcpy(p->param, pointer[0] != '\0' ? pointer : ROOT_PARAM, sizeof p->param);
    lg_strlcpy(p->reason, reason, sizeof p->reason);
}

static void push(parse_ctx_t *c, const char *seg)
{
    if (c->n_seg < MAX_SEGS)
        c->seg[c->n_seg] = seg;
    c->n_seg++;
}

static void pop(parse_ctx_t *c)
{
    c->n_seg--;
}

/* ---- member access ---- */

/* The member named key of obj, or NULL (names compared exactly, as JSON wants). */
static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Finds a required string member; records "required" or a type error when it is not one. */
static bool need_string(parse_ctx_t *c, const cJSON *obj, const char *key, const char **s, size_t *n)
{
    const cJSON *v = member(obj, key);

    if (v == NULL) {
        invalid(c, key, "required");
        return false;
    }
    if (!cJSON_IsString(v)) {
        invalid(c, key, "must be a string");
        return false;
    }
    *s = v->valuestring;
    *n = strlen(v->valuestring); /* no NUL inside: lg_json_scan refuses \u0000 */
    return true;
}

/* Finds a required object member; records "required" or a type error when it is not one. */
static const cJSON *need_object(parse_ctx_t *c, const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);

    if (v == NULL) {
        invalid(c, key, "required");
        return NULL;
    }
    if (!cJSON_IsObject(v)) {
        invalid(c, key, "must be an object");
        return NULL;
    }
    return v;
}

/*
 * Reads the hex string member key of obj, n1 or n2 digits long (n2 = 0: n1
 * only), upper-cased into dst (at least max(n1, n2) + 1 bytes).
 */
static bool hex_member(parse_ctx_t *c, const cJSON *obj, const char *key, size_t n1, size_t n2,
                       const char *reason, char *dst)
{
    const char *s;
    size_t n;

    if (!need_string(c, obj, key, &s, &n))
        return false;
    if ((n != n1 && n != n2) || !copy_hex_upper(s, n, dst)) {
        invalid(c, key, reason);
        return false;
    }
    return true;
}

/* ---- identifiers ---- */

/* Reads parent's plmnId into plmn as "<mcc>-<mnc>" (at most 7 characters + NUL). */
static bool parse_plmn(parse_ctx_t *c, const cJSON *parent, char plmn[8])
{
    const cJSON *p = need_object(c, parent, "plmnId");
    const char *s;
    size_t n;
    bool ok = true;

    if (p == NULL)
        return false;
    push(c, "plmnId");
    if (!need_string(c, p, "mcc", &s, &n)) {
        ok = false;
    } else if (n != 3 || !all_digits(s, n)) {
        invalid(c, "mcc", "must be 3 digits");
        ok = false;
    } else {
        memcpy(plmn, s, 3);
        plmn[3] = '-';
    }
    if (!need_string(c, p, "mnc", &s, &n)) {
        ok = false;
    } else if ((n != 2 && n != 3) || !all_digits(s, n)) {
        invalid(c, "mnc", "must be 2 or 3 digits");
        ok = false;
    } else {
        memcpy(plmn + 4, s, n);
        plmn[4 + n] = '\0';
    }
    pop(c);
    return ok;
}

/* Builds "<prefix>:<plmn>:<a>[:<b>]" into key (LG_CELL_KEY_MAX bytes). */
static void make_key(char *key, const char *prefix, const char *plmn, const char *a, const char *b)
{
    size_t pos = 0;

    key[0] = '\0';
    append(key, LG_CELL_KEY_MAX, &pos, prefix);
    append(key, LG_CELL_KEY_MAX, &pos, ":");
    append(key, LG_CELL_KEY_MAX, &pos, plmn);
    append(key, LG_CELL_KEY_MAX, &pos, ":");
    append(key, LG_CELL_KEY_MAX, &pos, a);
    if (b != NULL) {
        append(key, LG_CELL_KEY_MAX, &pos, ":");
        append(key, LG_CELL_KEY_MAX, &pos, b);
    }
}

/* Checks the location's tai (required, not stored: the cell identifies the area). */
static void parse_tai(parse_ctx_t *c, const cJSON *loc)
{
    const cJSON *tai = need_object(c, loc, "tai");
    char plmn[8], tac[8];

    if (tai == NULL)
        return;
    push(c, "tai");
    (void)parse_plmn(c, tai, plmn);
    (void)hex_member(c, tai, "tac", 4, 6, "must be 4 or 6 hex digits", tac);
    pop(c);
}

/* Reads geographicalInformation, when present, into the report's position. */
static void parse_position(parse_ctx_t *c, const cJSON *loc, lg_report_t *rep)
{
    const cJSON *v = member(loc, "geographicalInformation");
    const char *key = "geographicalInformation";

    if (v == NULL)
        return;
    if (!cJSON_IsString(v)) {
        invalid(c, key, "must be a string");
        return;
    }
    if (strlen(v->valuestring) != 16 || !is_upper_hex(v->valuestring, 16)) {
        invalid(c, key, "must be 16 upper-case hex digits");
        return;
    }
    if (lg_report_decode_gad(v->valuestring, &rep->lat_deg, &rep->lon_deg,
                             &rep->uncertainty_m) != LG_OK) {
        invalid(c, key, "must be an ellipsoid point with uncertainty circle");
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
static void parse_tai_cell(parse_ctx_t *c, const cJSON *loc, lg_report_t *rep, const cell_desc_t *d)
{
    const cJSON *cgi;

    parse_tai(c, loc);
    cgi = need_object(c, loc, d->member);
    if (cgi != NULL) {
        char plmn[8], cell[16];
        bool ok;

        push(c, d->member);
        ok = parse_plmn(c, cgi, plmn);
        ok = hex_member(c, cgi, d->cell_id, d->cell_len, 0, d->reason, cell) && ok;
        pop(c);
        if (ok)
            make_key(rep->cell_key, d->member, plmn, cell, NULL);
    }
    /* A cell the sender says to ignore is no evidence of where the UE is. */
    if (cJSON_IsTrue(member(loc, d->ignore)))
        invalid(c, d->ignore, "cell marked to be ignored: no usable location");
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
static void parse_utra_gera(parse_ctx_t *c, const cJSON *loc, lg_report_t *rep, bool is_gera)
{
    const cJSON *lai = is_gera ? member(loc, "lai") : NULL;
    const cJSON *area[3];
    size_t n_present = lai != NULL;
    bool has_key = false;

    for (size_t i = 0; i < 3; i++) {
        area[i] = member(loc, AREAS[i].member);
        n_present += area[i] != NULL;
    }
    if (n_present != 1)
        invalid(c, NULL,
                is_gera ? "must have exactly one of cgi, sai, lai, rai"
                        : "must have exactly one of cgi, sai, rai");
    else if (lai != NULL)
        invalid(c, "lai", "a location area alone is not accepted: send cgi, sai or rai");

    for (size_t i = 0; i < 3; i++) {
        char plmn[8], lac[8], code[8];
        bool ok;

        if (area[i] == NULL)
            continue;
        if (!cJSON_IsObject(area[i])) {
            invalid(c, AREAS[i].member, "must be an object");
            continue;
        }
        push(c, AREAS[i].member);
        ok = parse_plmn(c, area[i], plmn);
        ok = hex_member(c, area[i], "lac", 4, 0, "must be 4 hex digits", lac) && ok;
        ok = hex_member(c, area[i], AREAS[i].code, AREAS[i].code_len, 0, AREAS[i].reason, code) &&
             ok;
        pop(c);
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
static void parse_location(parse_ctx_t *c, const cJSON *loc, lg_report_t *rep)
{
    const cJSON *rat_loc = NULL;
    size_t which = 0, n_present = 0;

    for (size_t i = 0; i < LG_ARRAY_SIZE(RATS); i++) {
        const cJSON *v = member(loc, RATS[i].member);

        if (v != NULL) {
            rat_loc = v;
            which = i;
            n_present++;
        }
    }
    if (n_present != 1) {
        invalid(c, NULL,
                "must have exactly one of eutraLocation, nrLocation, utraLocation, geraLocation");
        return;
    }
    if (!cJSON_IsObject(rat_loc)) {
        invalid(c, RATS[which].member, "must be an object");
        return;
    }
    rep->rat = RATS[which].rat;
    push(c, RATS[which].member);
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
    pop(c);
}

/* One AmfEventReport. */
static void parse_report(parse_ctx_t *c, const cJSON *r, lg_report_t *rep)
{
    const char *s;
    size_t n;
    const cJSON *loc;

    if (!cJSON_IsObject(r)) {
        invalid(c, NULL, "must be an object");
        return;
    }
    if (need_string(c, r, "type", &s, &n) && (n != 15 || memcmp(s, "LOCATION_REPORT", 15) != 0))
        invalid(c, "type", "must be LOCATION_REPORT");

    if (need_string(c, r, "supi", &s, &n)) {
        if (n < 5 + 5 || n > 5 + 15 || memcmp(s, "imsi-", 5) != 0 || !all_digits(s + 5, n - 5)) {
            invalid(c, "supi", "must match imsi-<5..15 digits>");
        } else {
            memcpy(rep->supi, s + 5, n - 5);
            rep->supi[n - 5] = '\0';
        }
    }

    if (need_string(c, r, "timeStamp", &s, &n)) {
        const lg_report_limits_t *lim = c->lim;

        if (lg_time_parse(s, n, &rep->ts_us) != LG_OK)
            invalid(c, "timeStamp", "must be an RFC 3339 date-time with offset");
        else if (rep->ts_us < lim->now_us - lim->max_age_us)
            invalid(c, "timeStamp", "older than the accepted age");
        else if (rep->ts_us > lim->now_us + lim->max_skew_us)
            invalid(c, "timeStamp", "too far in the future");
    }

    loc = need_object(c, r, "location");
    if (loc != NULL) {
        push(c, "location");
        parse_location(c, loc, rep);
        pop(c);
    }
}

/*
 * cJSON allocates every value, key and string of a document separately;
 * for a batch that is thousands of malloc/free pairs, most of the parse
 * time. During a parse its allocations come instead from a per-thread bump
 * arena of reusable blocks, released all at once when the parse ends (the
 * document never outlives lg_report_parse_batch). Outside a parse, or for a
 * large allocation, the plain allocator serves; arena_free tells the two
 * apart by address, so the hooks can stay installed. When nothing of a
 * document came from the plain allocator, it is dropped with the arena
 * instead of freed node by node.
 */
#define ARENA_BLOCK_BYTES (256 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t used;
    _Alignas(16) unsigned char data[ARENA_BLOCK_BYTES];
} arena_block_t;

typedef struct arena {
    arena_block_t *first;   /* all blocks ever made by this thread, reused */
    arena_block_t *current; /* the block being filled */
    bool is_active;         /* inside lg_report_parse_batch */
    bool has_plain;         /* the parse took memory from malloc too */
    bool has_hooks;         /* cJSON_InitHooks done (process-wide) */
} arena_t;

static _Thread_local arena_t arena;

static void *arena_malloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!arena.is_active || size > ARENA_BLOCK_BYTES / 8) {
        arena.has_plain |= arena.is_active;
        return malloc(size);
    }
    arena_block_t *b = arena.current;
    if (b->used + size > ARENA_BLOCK_BYTES) {
        if (b->next == NULL) {
            b->next = malloc(sizeof(arena_block_t));
            if (b->next == NULL)
                return NULL;
            b->next->next = NULL;
        }
        b = arena.current = b->next;
        b->used = 0;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

static void arena_free(void *p)
{
    for (arena_block_t *b = arena.first; b != NULL; b = b->next)
        if ((unsigned char *)p >= b->data && (unsigned char *)p < b->data + ARENA_BLOCK_BYTES)
            return;
    free(p);
}

static void arena_begin(void)
{
    if (arena.first == NULL) {
        arena.first = lg_xmalloc(sizeof(arena_block_t));
        arena.first->next = NULL;
    }
    arena.current = arena.first;
    arena.first->used = 0;
    if (!arena.has_hooks) {
        cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};

        cJSON_InitHooks(&hooks);
        arena.has_hooks = true;
    }
    arena.is_active = true;
    arena.has_plain = false;
}

static void arena_end(void)
{
    arena.is_active = false;
}

/* ---- the document ---- */

/* True for a member name safe to quote in an error: [A-Za-z0-9_]{1,32}. */
static bool is_plain_name(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (n >= 32 || (!is_digit((unsigned char)s[n]) &&
                        (unsigned)((s[n] | 0x20) - 'a') > 25 && s[n] != '_'))
            return false;
    return n > 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A member name twice in one object, anywhere in the document, or NULL. cJSON
 * keeps both and finds the first; we refuse the document, as jansson's
 * JSON_REJECT_DUPLICATES did. Small objects compare pairwise, large ones sort
 * their names (a hostile object of many members stays O(n log n)).
 */
static const char *duplicate_name(const cJSON *v)
{
    for (; v != NULL; v = v->next) {
        if (cJSON_IsObject(v)) {
            size_t n = 0;

            for (const cJSON *m = v->child; m != NULL; m = m->next)
                n++;
            if (n <= 16) {
                for (const cJSON *a = v->child; a != NULL; a = a->next)
                    for (const cJSON *b = a->next; b != NULL; b = b->next)
                        if (strcmp(a->string, b->string) == 0)
                            return a->string;
            } else {
                const char **names = lg_xmalloc(n * sizeof *names);
                const char *dup = NULL;
                size_t i = 0;

                for (const cJSON *m = v->child; m != NULL; m = m->next)
                    names[i++] = m->string;
                qsort(names, n, sizeof *names, cmp_names);
                for (i = 1; i < n && dup == NULL; i++)
                    if (strcmp(names[i - 1], names[i]) == 0)
                        dup = names[i];
                free(names);
                if (dup != NULL)
                    return dup;
            }
        }
        if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
            const char *dup = duplicate_name(v->child); /* depth <= MAX_DEPTH */

            if (dup != NULL)
                return dup;
        }
    }
    return NULL;
}

/*
 * Parses the body into *root; records the problem and returns false when it
 * is not a JSON document. cJSON is lenient where RFC 8259 and jansson are
 * strict (numbers like 01, control characters, \u0000 cutting a string
 * short, bad UTF-8, duplicate names): lg_json_scan refuses the first kinds
 * before it parses, duplicate_name the last after.
 */
static bool load(parse_ctx_t *c, const char *body, size_t len, cJSON **root)
{
    const char *end = NULL;
    const char *dup;
    char reason[96];
    bool too_deep;
    size_t bad = lg_json_scan(body, len, MAX_DEPTH, &too_deep);

    *root = NULL;
    if (too_deep) {
        invalid(c, NULL, "nested deeper than 32 levels");
        return false;
    }
    if (bad < len) {
        snprintf(reason, sizeof reason, "malformed JSON at byte %zu", bad);
        invalid(c, NULL, reason);
        return false;
    }
    *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (*root != NULL) {
        while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end < body + len) { /* something after the document */
            cJSON_Delete(*root);
            *root = NULL;
        }
    } else {
        end = cJSON_GetErrorPtr();
    }
    if (*root == NULL) {
        /* Our own words, not the input: it may not be UTF-8. */
        snprintf(reason, sizeof reason, "malformed JSON at byte %zu",
                 end != NULL && end >= body && end <= body + len ? (size_t)(end - body) : (size_t)0);
        invalid(c, NULL, reason);
        return false;
    }
    dup = duplicate_name(*root);
    if (dup != NULL) {
        if (is_plain_name(dup))
            snprintf(reason, sizeof reason, "duplicate member \"%s\"", dup);
        else
            lg_strlcpy(reason, "duplicate member", sizeof reason);
        invalid(c, NULL, reason);
        return false;
    }
    return true;
}

int lg_report_parse_batch(const char *body, size_t len, const lg_report_limits_t *lim,
                          lg_batch_t *out)
{
    parse_ctx_t c = {.out = out, .lim = lim};
    cJSON *root = NULL;
    const cJSON *list;
    const char *s;
    size_t n;
    char reason[96];

    memset(out, 0, sizeof *out);
    arena_begin();
    if (!load(&c, body, len, &root))
        goto done;
    if (!cJSON_IsObject(root)) {
        invalid(&c, NULL, "must be a JSON object");
        goto done;
    }

    /* The YAML leaves notifyCorrelationId optional; locguard needs the node's name there. */
    const cJSON *corr = member(root, "notifyCorrelationId");
    if (corr == NULL) {
        invalid(&c, "notifyCorrelationId", "required");
    } else if (cJSON_IsString(corr)) { /* any other type: the schema check says so */
        s = corr->valuestring;
        n = strlen(s);
        if (!is_node_name(s, n)) {
            invalid(&c, "notifyCorrelationId", "must match [A-Za-z0-9._-]{1,63}");
        } else {
            memcpy(out->node, s, n);
            out->node[n] = '\0';
        }
    }

    list = member(root, "reportList");
    if (list == NULL)
        invalid(&c, "reportList", "required"); /* optional in the YAML, not here */
    n = 0;
    for (const cJSON *r = cJSON_IsArray(list) ? list->child : NULL; r != NULL; r = r->next)
        n++;
    if (cJSON_IsArray(list) && (n < 1 || n > lim->max_reports)) {
        /* Too many: refuse before spending time on reports that will not be stored. */
        snprintf(reason, sizeof reason, "must have 1..%zu entries", lim->max_reports);
        invalid(&c, "reportList", reason);
        goto done;
    }

    /* What the TS 29.518 / TS 29.571 YAML says of every member, then what locguard needs. */
    c.n_reports = n;
    c.is_off_schema = n > 0 ? lg_xcalloc(n, sizeof *c.is_off_schema) : NULL;
    (void)lg_schema_check(SCHEMA_TABLE, SCHEMA_AMF_EVENT_NOTIFICATION, root, "", on_schema_invalid,
                          &c);
    if (!cJSON_IsArray(list))
        goto done; /* the schema said so */

    out->reports = lg_xcalloc(n, sizeof *out->reports);
    c.in_report = true;
    c.report_idx = 0;
    for (const cJSON *r = list->child; r != NULL; r = r->next, c.report_idx++)
        if (!c.is_off_schema[c.report_idx])
            parse_report(&c, r, &out->reports[c.report_idx]);
    out->n_reports = n;

done:
    free(c.is_off_schema);
    if (arena.has_plain)
        cJSON_Delete(root);
    arena_end();
    if (out->n_invalid > 0) {
        free(out->reports);
        out->reports = NULL;
        out->n_reports = 0;
        return LG_ERR;
    }
    return LG_OK;
}

void lg_batch_cleanup(lg_batch_t *batch)
{
    if (batch == NULL)
        return;
    free(batch->reports);
    batch->reports = NULL;
    batch->n_reports = 0;
}

int lg_report_parse_seq(const char *s, int64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || s[0] < '1' || s[0] > '9')
        return LG_ERR;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned d = (unsigned char)*p - '0';

        if (d > 9 || v > ((uint64_t)INT64_MAX - d) / 10)
            return LG_ERR;
        v = v * 10 + d;
    }
    *out = (int64_t)v;
    return LG_OK;
}

/* Radius in metres of GAD uncertainty code k (TS 23.032 §6.2). */
static double gad_radius_m(unsigned k)
{
    return 10.0 * (pow(1.1, (double)k) - 1.0);
}

int lg_report_decode_gad(const char *hex16, double *lat_deg, double *lon_deg, double *uncertainty_m)
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

void lg_report_encode_gad(double lat_deg, double lon_deg, double uncertainty_m, char out[17])
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
