/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound batch parser. An MME/AMF/SGSN posts a TS 29.518
 * AmfEventNotification; this module turns its reportList into lg_report_t
 * structs (SUPI, timestamp, canonical cell key, optional GAD position) that
 * the group commit sends to the database, or into a list of invalidParams for
 * the 400 answer. It sits between the HTTP listener and the batch queue, on
 * the hot path: one cJSON parse per batch, no allocation per report beyond
 * the reports array, hand-written character checks instead of regexes. It
 * reads the document (strict JSON), runs the schema check (jsonschema.c),
 * then its own rules on the envelope and on each report; each report's
 * location is location.c's, and every problem is recorded through the
 * cursor (cursor.c).
 */
#include "locguard/south/report.h"

#include "locguard/core/jsonschema.h"
#include "locguard/core/jsonutil.h"
#include "locguard/core/timefmt.h"
#include "locguard/south/cursor.h"
#include "locguard/south/location.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SCHEMA_TABLE: TS 29.518 AmfEventNotification and all it reaches, from the YAML. */
#include "schema_tables.inc"

/* Deepest nesting accepted; a valid notification needs 7. Keeps cJSON's recursion shallow. */
#define MAX_DEPTH 32

/* One parse: where it is and what it records, the bounds in force, the schema's verdicts. */
typedef struct parse_ctx {
    lg_cursor_t cur;               /* the position, and the batch receiving the invalidParams */
    const lg_report_limits_t *lim; /* bounds in force */
    bool *is_off_schema;           /* per report: the YAML refuses it (no checks of ours) */
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

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
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

/*
 * lg_schema_check's callback: records the violation at its pointer and marks
 * the report it lies in, whose locguard checks are then skipped (they would
 * only repeat what the schema said).
 */
static void on_schema_invalid(void *arg, const char *pointer, const char *reason)
{
    parse_ctx_t *c = arg;
    static const char prefix[] = "/reportList/";

    if (strncmp(pointer, prefix, sizeof prefix - 1) == 0) {
        char *end;
        unsigned long long i = strtoull(pointer + sizeof prefix - 1, &end, 10);
        if (end != pointer + sizeof prefix - 1 && i < c->n_reports)
            c->is_off_schema[i] = true;
    }
    lg_cursor_invalid_at(&c->cur, pointer, reason);
}

/* One AmfEventReport. */
static void parse_report(parse_ctx_t *c, const cJSON *r, lg_report_t *rep)
{
    lg_cursor_t *cur = &c->cur;
    const char *s;
    size_t n;
    const cJSON *loc;

    if (!cJSON_IsObject(r)) {
        lg_cursor_invalid(cur, NULL, "must be an object");
        return;
    }
    if (lg_cursor_need_string(cur, r, "type", &s, &n) &&
        (n != 15 || memcmp(s, "LOCATION_REPORT", 15) != 0))
        lg_cursor_invalid(cur, "type", "must be LOCATION_REPORT");

    if (lg_cursor_need_string(cur, r, "supi", &s, &n)) {
        if (n < 5 + 5 || n > 5 + 15 || memcmp(s, "imsi-", 5) != 0 || !all_digits(s + 5, n - 5)) {
            lg_cursor_invalid(cur, "supi", "must match imsi-<5..15 digits>");
        } else {
            memcpy(rep->supi, s + 5, n - 5);
            rep->supi[n - 5] = '\0';
        }
    }

    if (lg_cursor_need_string(cur, r, "timeStamp", &s, &n)) {
        const lg_report_limits_t *lim = c->lim;

        if (lg_time_parse(s, n, &rep->ts_us) != LG_OK)
            lg_cursor_invalid(cur, "timeStamp", "must be an RFC 3339 date-time with offset");
        else if (rep->ts_us < lim->now_us - lim->max_age_us)
            lg_cursor_invalid(cur, "timeStamp", "older than the accepted age");
        else if (rep->ts_us > lim->now_us + lim->max_skew_us)
            lg_cursor_invalid(cur, "timeStamp", "too far in the future");
    }

    loc = lg_cursor_need_object(cur, r, "location");
    if (loc != NULL) {
        lg_cursor_push(cur, "location");
        lg_location_parse(cur, loc, rep);
        lg_cursor_pop(cur);
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
        lg_cursor_invalid(&c->cur, NULL, "nested deeper than 32 levels");
        return false;
    }
    if (bad < len) {
        snprintf(reason, sizeof reason, "malformed JSON at byte %zu", bad);
        lg_cursor_invalid(&c->cur, NULL, reason);
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
        lg_cursor_invalid(&c->cur, NULL, reason);
        return false;
    }
    dup = duplicate_name(*root);
    if (dup != NULL) {
        if (is_plain_name(dup))
            snprintf(reason, sizeof reason, "duplicate member \"%s\"", dup);
        else
            lg_strlcpy(reason, "duplicate member", sizeof reason);
        lg_cursor_invalid(&c->cur, NULL, reason);
        return false;
    }
    return true;
}

int lg_report_parse_batch(const char *body, size_t len, const lg_report_limits_t *lim,
                          lg_batch_t *out)
{
    parse_ctx_t c = {.cur = {.out = out}, .lim = lim};
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
        lg_cursor_invalid(&c.cur, NULL, "must be a JSON object");
        goto done;
    }

    /* The YAML leaves notifyCorrelationId optional; locguard needs the node's name there. */
    const cJSON *corr = cJSON_GetObjectItemCaseSensitive(root, "notifyCorrelationId");
    if (corr == NULL) {
        lg_cursor_invalid(&c.cur, "notifyCorrelationId", "required");
    } else if (cJSON_IsString(corr)) { /* any other type: the schema check says so */
        s = corr->valuestring;
        n = strlen(s);
        if (!is_node_name(s, n)) {
            lg_cursor_invalid(&c.cur, "notifyCorrelationId", "must match [A-Za-z0-9._-]{1,63}");
        } else {
            memcpy(out->node, s, n);
            out->node[n] = '\0';
        }
    }

    list = cJSON_GetObjectItemCaseSensitive(root, "reportList");
    if (list == NULL)
        lg_cursor_invalid(&c.cur, "reportList", "required"); /* optional in the YAML, not here */
    n = 0;
    for (const cJSON *r = cJSON_IsArray(list) ? list->child : NULL; r != NULL; r = r->next)
        n++;
    if (cJSON_IsArray(list) && (n < 1 || n > lim->max_reports)) {
        /* Too many: refuse before spending time on reports that will not be stored. */
        snprintf(reason, sizeof reason, "must have 1..%zu entries", lim->max_reports);
        lg_cursor_invalid(&c.cur, "reportList", reason);
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
    c.cur.in_report = true;
    c.cur.report_idx = 0;
    for (const cJSON *r = list->child; r != NULL; r = r->next, c.cur.report_idx++)
        if (!c.is_off_schema[c.cur.report_idx])
            parse_report(&c, r, &out->reports[c.cur.report_idx]);
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
