/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A checker of parsed JSON values against OpenAPI 3.0 schemas given as
 * static tables (the 3GPP ones are generated from the YAML files by
 * tests/tools/gen-schema-tables.py into service/south/schema_tables.inc). It does
 * what a JSON Schema validator such as Ajv does with the keywords those files
 * use: type, nullable, properties, required, items, min/maxItems,
 * minimum/maximum, min/maxLength, pattern (the ECMAScript subset the files
 * use, matched by locguard/core/pattern.h), format (date-time, byte,
 * int32/64), enum, anyOf, oneOf, allOf, not, additionalProperties. Every
 * violation is reported with the JSON pointer of the member at fault. Pure:
 * no I/O; its only state is the pattern matcher's per-thread cache.
 */
#ifndef LOCGUARD_JSONSCHEMA_H
#define LOCGUARD_JSONSCHEMA_H

#include "locguard/core/common.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* The JSON type a schema requires (LG_SCHEMA_T_ANY: no "type" keyword). */
typedef enum lg_schema_type {
    LG_SCHEMA_T_ANY = 0,
    LG_SCHEMA_T_STRING,
    LG_SCHEMA_T_INTEGER,
    LG_SCHEMA_T_NUMBER,
    LG_SCHEMA_T_BOOLEAN,
    LG_SCHEMA_T_OBJECT,
    LG_SCHEMA_T_ARRAY,
} lg_schema_type_t;

/* The "format" keywords that constrain a value; others are ignored, as Ajv ignores unknown ones. */
typedef enum lg_schema_format {
    LG_SCHEMA_F_NONE = 0,
    LG_SCHEMA_F_DATE_TIME, /* RFC 3339 date-time, read by lg_time_parse */
    LG_SCHEMA_F_BYTE,      /* base64 */
    LG_SCHEMA_F_INT32,
    LG_SCHEMA_F_UINT32,
    LG_SCHEMA_F_INT64,
    LG_SCHEMA_F_UINT64,
} lg_schema_format_t;

/* One member of an object schema: its name and the table index of its schema. */
typedef struct lg_schema_prop {
    const char *name;
    uint16_t schema;
} lg_schema_prop_t;

/*
 * One schema. Indexes (items, additional, not_, props, any_of, ...) point
 * into the same table; -1 means absent. A zero-initialised entry accepts
 * everything, except that max_length, max_items, items, additional and not_
 * must be -1 when unused (the generator writes them).
 */
typedef struct lg_schema {
    const char *name;                /* components.schemas name, or NULL for an inline schema */
    lg_schema_type_t type;           /* required JSON type */
    bool is_nullable;                /* null is accepted too */
    lg_schema_format_t format;       /* format keyword */
    const char *pattern;             /* ECMAScript pattern, as RegExp.test searches, or NULL; static */
    bool has_minimum;                /* minimum is set */
    bool has_maximum;                /* maximum is set */
    double minimum;                  /* inclusive lower bound of a number */
    double maximum;                  /* inclusive upper bound of a number */
    int min_length;                  /* string length in code points, at least */
    int max_length;                  /* ... and at most, or -1 */
    int min_items;                   /* array entries, at least */
    int max_items;                   /* ... and at most, or -1 */
    int min_properties;              /* object members, at least */
    int items;                       /* schema of every array entry, or -1 */
    int additional;                  /* schema of members not in props, or -1 */
    bool is_closed;                  /* additionalProperties: false */
    int not_;                        /* a schema the value must not match, or -1 */
    const char *const *enum_strings; /* allowed strings (n_enum of them), or NULL */
    size_t n_enum;                   /* entries of enum_strings */
    unsigned enum_bools;             /* allowed booleans: bit 0 false, bit 1 true; 0 = no enum */
    const lg_schema_prop_t *props;   /* known members */
    size_t n_props;                  /* entries of props */
    const char *const *required;     /* members that must be present */
    size_t n_required;               /* entries of required */
    const uint16_t *any_of;          /* the value must match at least one of these */
    size_t n_any_of;
    const uint16_t *one_of; /* ... exactly one of these */
    size_t n_one_of;
    const uint16_t *all_of; /* ... all of these */
    size_t n_all_of;
} lg_schema_t;

/* Called once per violation with the member's JSON pointer and a short reason. */
typedef void (*lg_schema_invalid_cb)(void *arg, const char *pointer, const char *reason);

/*
 * Checks v against table[idx]. pointer is v's JSON pointer ("" for the
 * document). Each violation is passed to on_invalid (which may be NULL to
 * count only). Returns the number of violations (0: valid).
 */
size_t lg_schema_check(const lg_schema_t *table, size_t idx, const cJSON *v, const char *pointer,
                       lg_schema_invalid_cb on_invalid, void *arg);

#endif
