/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenAPI 3.0 schema checking of parsed JSON (cJSON) against static schema
 * tables. The southbound parser (report.c) runs it over each batch before it
 * reads the members it uses, so that a body the 3GPP YAML refuses is refused
 * here too, member by member, with JSON pointers for invalidParams. The
 * semantics follow Ajv (what shared/specs/validate.mjs runs) with
 * allErrors: keywords of the wrong type are skipped, every violation is
 * reported, anyOf/oneOf/not try their alternatives silently. Patterns are
 * matched by pattern.c, which compiles each pattern of the tables once per
 * thread.
 */
#include "locguard/core/jsonschema.h"

#include "locguard/core/common.h"
#include "locguard/core/pattern.h"
#include "locguard/core/timefmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* JSON pointers longer than this are cut (invalidParams keeps 96 bytes anyway). */
#define POINTER_MAX 256

/* Plain-words reasons for the patterns met most, so that invalidParams read well. */
static const struct {
    const char *pattern, *reason;
} PATTERN_WORDS[] = {
    {"^\\d{3}$", "must be 3 digits"},
    {"^\\d{2,3}$", "must be 2 or 3 digits"},
    {"^[A-Fa-f0-9]{2}$", "must be 2 hex digits"},
    {"^[A-Fa-f0-9]{4}$", "must be 4 hex digits"},
    {"^[A-Fa-f0-9]{7}$", "must be 7 hex digits"},
    {"^[A-Fa-f0-9]{9}$", "must be 9 hex digits"},
    {"^[A-Fa-f0-9]{11}$", "must be 11 hex digits"},
    {"(^[A-Fa-f0-9]{4}$)|(^[A-Fa-f0-9]{6}$)", "must be 4 or 6 hex digits"},
    {"^[0-9A-F]{16}$", "must be 16 upper-case hex digits"},
    {"^[0-9A-F]{20}$", "must be 20 upper-case hex digits"},
    /* Supi, Gpsi, Pei: the catch-all ".+" leaves "not empty, no line break" to check. */
    {"^(imsi-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|.+)$", "must be a SUPI: not empty, one line"},
    {"^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+|.+)$", "must be a GPSI: not empty, one line"},
    {"^(imei-[0-9]{15}|imeisv-[0-9]{16}|mac((-[0-9a-fA-F]{2}){6})(-untrusted)?|eui((-[0-9a-fA-F]{2}"
     "){8})|.+)$",
     "must be a PEI: not empty, one line"},
};

typedef struct walk {
    const lg_schema_t *table;
    lg_schema_invalid_cb on_invalid; /* NULL: count only */
    void *arg;
    char pointer[POINTER_MAX];
    size_t len;
} walk_t;

static size_t check(walk_t *w, size_t idx, const cJSON *v);

static size_t report(walk_t *w, const char *leaf, const char *reason)
{
    if (w->on_invalid == NULL)
        return 1;
    if (leaf == NULL) {
        w->on_invalid(w->arg, w->pointer, reason);
    } else {
        char p[POINTER_MAX + 64];
        snprintf(p, sizeof p, "%s/%.60s", w->pointer, leaf);
        w->on_invalid(w->arg, p, reason);
    }
    return 1;
}

/* Appends "/seg" (escaped as RFC 6901 says) to the pointer; returns the old length. */
static size_t push(walk_t *w, const char *seg)
{
    size_t old = w->len;

    if (w->len + 1 < sizeof w->pointer)
        w->pointer[w->len++] = '/';
    for (; *seg != '\0' && w->len + 2 < sizeof w->pointer; seg++) {
        if (*seg == '~' || *seg == '/') {
            w->pointer[w->len++] = '~';
            w->pointer[w->len++] = *seg == '~' ? '0' : '1';
        } else {
            w->pointer[w->len++] = *seg;
        }
    }
    w->pointer[w->len] = '\0';
    return old;
}

static void pop(walk_t *w, size_t old)
{
    w->len = old;
    w->pointer[old] = '\0';
}

/* Ajv's type test. Integers are numbers without a fraction (1.0 is one, as in JavaScript). */
static bool has_type(const cJSON *v, lg_schema_type_t t)
{
    switch (t) {
    case LG_SCHEMA_T_ANY:
        return true;
    case LG_SCHEMA_T_STRING:
        return cJSON_IsString(v);
    case LG_SCHEMA_T_INTEGER:
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
               floor(v->valuedouble) == v->valuedouble;
    case LG_SCHEMA_T_NUMBER:
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    case LG_SCHEMA_T_BOOLEAN:
        return cJSON_IsBool(v);
    case LG_SCHEMA_T_OBJECT:
        return cJSON_IsObject(v);
    case LG_SCHEMA_T_ARRAY:
        return cJSON_IsArray(v);
    }
    return false;
}

static const char *type_reason(lg_schema_type_t t)
{
    switch (t) {
    case LG_SCHEMA_T_STRING:
        return "must be a string";
    case LG_SCHEMA_T_INTEGER:
        return "must be an integer";
    case LG_SCHEMA_T_NUMBER:
        return "must be a number";
    case LG_SCHEMA_T_BOOLEAN:
        return "must be a boolean";
    case LG_SCHEMA_T_OBJECT:
        return "must be an object";
    case LG_SCHEMA_T_ARRAY:
        return "must be an array";
    case LG_SCHEMA_T_ANY:
        break;
    }
    return "has the wrong type";
}

/* Code points of a UTF-8 string (lg_json_scan has checked it is UTF-8). */
static size_t code_points(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* ajv-formats "byte": ^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$ */
static bool is_base64(const char *s)
{
    size_t n = strlen(s), pad = 0;

    if (n % 4 != 0)
        return false;
    while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

static const char *pattern_reason(const char *pattern, char *buf, size_t size)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(PATTERN_WORDS); i++)
        if (strcmp(PATTERN_WORDS[i].pattern, pattern) == 0)
            return PATTERN_WORDS[i].reason;
    snprintf(buf, size, "must match %s", pattern);
    return buf;
}

static size_t check_string(walk_t *w, const lg_schema_t *s, const cJSON *v)
{
    const char *str = v->valuestring;
    size_t n = 0;
    char buf[128];

    if (s->min_length > 0 || s->max_length >= 0) {
        size_t len = code_points(str);
        if (len < (size_t)s->min_length) {
            snprintf(buf, sizeof buf, "must be at least %d characters", s->min_length);
            n += report(w, NULL, buf);
        }
        if (s->max_length >= 0 && len > (size_t)s->max_length) {
            snprintf(buf, sizeof buf, "must be at most %d characters", s->max_length);
            n += report(w, NULL, buf);
        }
    }
    if (s->pattern != NULL && lg_pattern_match_static(s->pattern, str, strlen(str)) != 1)
        n += report(w, NULL, pattern_reason(s->pattern, buf, sizeof buf));
    if (s->format == LG_SCHEMA_F_DATE_TIME) {
        int64_t us;
        if (lg_time_parse(str, strlen(str), &us) != LG_OK)
            n += report(w, NULL, "must be an RFC 3339 date-time with offset");
    } else if (s->format == LG_SCHEMA_F_BYTE && !is_base64(str)) {
        n += report(w, NULL, "must be base64");
    }
    if (s->enum_strings != NULL) {
        bool is_listed = false;
        for (size_t i = 0; i < s->n_enum && !is_listed; i++)
            is_listed = strcmp(s->enum_strings[i], str) == 0;
        if (!is_listed)
            n += report(w, NULL, "must be one of the listed values");
    }
    return n;
}

static size_t check_number(walk_t *w, const lg_schema_t *s, const cJSON *v)
{
    static const struct {
        lg_schema_format_t format;
        double lo, hi;
    } RANGES[] = {
        {LG_SCHEMA_F_INT32, -2147483648.0, 2147483647.0},
        {LG_SCHEMA_F_UINT32, 0.0, 4294967295.0},
        {LG_SCHEMA_F_INT64, -9007199254740991.0, 9007199254740991.0},
        {LG_SCHEMA_F_UINT64, 0.0, 9007199254740991.0},
    };
    double d = v->valuedouble;
    size_t n = 0;
    char buf[96];

    if (s->has_minimum && !(d >= s->minimum)) {
        snprintf(buf, sizeof buf, "must be >= %.17g", s->minimum);
        n += report(w, NULL, buf);
    }
    if (s->has_maximum && !(d <= s->maximum)) {
        snprintf(buf, sizeof buf, "must be <= %.17g", s->maximum);
        n += report(w, NULL, buf);
    }
    for (size_t i = 0; i < LG_ARRAY_SIZE(RANGES); i++)
        if (s->format == RANGES[i].format && (!(d >= RANGES[i].lo) || !(d <= RANGES[i].hi)))
            n += report(w, NULL, "out of the range of its format");
    return n;
}

static size_t check_object(walk_t *w, const lg_schema_t *s, const cJSON *v)
{
    size_t n = 0, count = 0;
    char buf[96];

    for (size_t i = 0; i < s->n_required; i++)
        if (cJSON_GetObjectItemCaseSensitive(v, s->required[i]) == NULL)
            n += report(w, s->required[i], "required");
    for (const cJSON *m = v->child; m != NULL; m = m->next) {
        const lg_schema_prop_t *p = NULL;
        count++;
        for (size_t i = 0; i < s->n_props && p == NULL; i++)
            if (strcmp(s->props[i].name, m->string) == 0)
                p = &s->props[i];
        if (p == NULL && s->is_closed) {
            n += report(w, m->string, "unknown member");
        } else if (p != NULL || s->additional >= 0) {
            size_t old = push(w, m->string);
            n += check(w, p != NULL ? p->schema : (size_t)s->additional, m);
            pop(w, old);
        }
    }
    if (count < (size_t)s->min_properties) {
        snprintf(buf, sizeof buf, "must have at least %d members", s->min_properties);
        n += report(w, NULL, buf);
    }
    return n;
}

static size_t check_array(walk_t *w, const lg_schema_t *s, const cJSON *v)
{
    size_t n = 0, count = 0;
    char buf[96];

    for (const cJSON *e = v->child; e != NULL; e = e->next, count++) {
        if (s->items >= 0) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", count);
            size_t old = push(w, idx);
            n += check(w, (size_t)s->items, e);
            pop(w, old);
        }
    }
    if (count < (size_t)s->min_items || (s->max_items >= 0 && count > (size_t)s->max_items)) {
        if (s->max_items >= 0)
            snprintf(buf, sizeof buf, "must have %d..%d entries", s->min_items, s->max_items);
        else
            snprintf(buf, sizeof buf, "must have at least %d entr%s", s->min_items,
                     s->min_items == 1 ? "y" : "ies");
        n += report(w, NULL, buf);
    }
    return n;
}

/* True when sub only lists required members (the 3GPP "exactly one of" idiom). */
static bool is_required_only(const lg_schema_t *sub)
{
    return sub->n_required > 0 && sub->type == LG_SCHEMA_T_ANY && sub->n_props == 0 &&
           sub->n_any_of == 0 && sub->n_one_of == 0 && sub->n_all_of == 0 && sub->not_ < 0;
}

/* "a, b+c, d" from alternatives that only list required members; false for other shapes. */
static bool required_list(const lg_schema_t *table, const uint16_t *alts, size_t n_alts,
                          const char *sep, char *buf, size_t size)
{
    size_t pos = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n_alts; i++) {
        const lg_schema_t *sub = &table[alts[i]];
        if (!is_required_only(sub))
            return false;
        for (size_t j = 0; j < sub->n_required; j++) {
            int k = snprintf(buf + pos, size - pos, "%s%s",
                             i == 0 && j == 0 ? ""
                             : j              ? "+"
                                              : sep,
                             sub->required[j]);
            if (k < 0 || (size_t)k >= size - pos)
                return true; /* cut short; still readable */
            pos += (size_t)k;
        }
    }
    return true;
}

/* Counts the alternatives v matches, without reporting. */
static size_t count_matches(walk_t *w, const uint16_t *alts, size_t n_alts, const cJSON *v)
{
    walk_t quiet = {.table = w->table};
    size_t matched = 0;

    for (size_t i = 0; i < n_alts; i++)
        matched += check(&quiet, alts[i], v) == 0;
    return matched;
}

static size_t check(walk_t *w, size_t idx, const cJSON *v)
{
    const lg_schema_t *s = &w->table[idx];
    size_t n = 0;
    char buf[128];

    if (cJSON_IsNull(v) && s->is_nullable)
        return 0;
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
        return report(w, NULL, "out of range"); /* 1e400: JSON allows it, a double does not */
    if (!has_type(v, s->type))
        return report(w, NULL, type_reason(s->type));
    if (cJSON_IsString(v))
        n += check_string(w, s, v);
    else if (cJSON_IsNumber(v))
        n += check_number(w, s, v);
    else if (cJSON_IsObject(v))
        n += check_object(w, s, v);
    else if (cJSON_IsArray(v))
        n += check_array(w, s, v);
    else if (cJSON_IsBool(v) && s->enum_bools != 0 &&
             !(s->enum_bools & (1u << (cJSON_IsTrue(v) ? 1 : 0))))
        n += report(w, NULL, "must be one of the listed values");
    if (s->enum_strings != NULL && !cJSON_IsString(v))
        n += report(w, NULL, "must be one of the listed values");

    if (s->n_any_of > 0 && count_matches(w, s->any_of, s->n_any_of, v) == 0) {
        /* The 3GPP enumerations are anyOf [enum, string]: say which type is wanted. */
        lg_schema_type_t t = w->table[s->any_of[0]].type;
        for (size_t i = 1; i < s->n_any_of; i++)
            if (w->table[s->any_of[i]].type != t)
                t = LG_SCHEMA_T_ANY;
        n += report(w, NULL, t != LG_SCHEMA_T_ANY ? type_reason(t) : "must match one of its forms");
    }
    if (s->n_one_of > 0 && count_matches(w, s->one_of, s->n_one_of, v) != 1) {
        char list[96];
        if (required_list(w->table, s->one_of, s->n_one_of, ", ", list, sizeof list)) {
            snprintf(buf, sizeof buf, "must have exactly one of %s", list);
            n += report(w, NULL, buf);
        } else {
            n += report(w, NULL, "must match exactly one of its forms");
        }
    }
    for (size_t i = 0; i < s->n_all_of; i++)
        n += check(w, s->all_of[i], v);
    if (s->not_ >= 0 && count_matches(w, (const uint16_t[]){(uint16_t)s->not_}, 1, v) == 1) {
        char list[96];
        uint16_t alt = (uint16_t)s->not_;
        if (required_list(w->table, &alt, 1, ", ", list, sizeof list)) {
            snprintf(buf, sizeof buf, "must not have all of %s", list);
            n += report(w, NULL, buf);
        } else {
            n += report(w, NULL, "matches a form it must not");
        }
    }
    return n;
}

size_t lg_schema_check(const lg_schema_t *table, size_t idx, const cJSON *v, const char *pointer,
                       lg_schema_invalid_cb on_invalid, void *arg)
{
    walk_t w = {.table = table, .on_invalid = on_invalid, .arg = arg};

    lg_strlcpy(w.pointer, pointer, sizeof w.pointer);
    w.len = strlen(w.pointer);
    return check(&w, idx, v);
}
