/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound parser's cursor: the JSON pointer of the member being read
 * and the bounded list of invalidParams of the batch. report.c and
 * location.c record every problem through it, so a 400 answer names each
 * parameter the same way, whichever check found it. Called for every member
 * of every report: no allocation, no formatting until a problem is found.
 */
#include "locguard/south/cursor.h"

#include <stdio.h>
#include <string.h>

/* invalidParams' name for the body as a whole (not JSON, not an object, ...). */
#define ROOT_PARAM "body"

/* Appends s to the pointer being built in dst, truncating at cap. */
static void append(char *dst, size_t cap, size_t *pos, const char *s)
{
    while (*s != '\0' && *pos + 1 < cap)
        dst[(*pos)++] = *s++;
    dst[*pos] = '\0';
}

/* The next entry of c->out's invalidParams, or NULL when LG_INVALID_MAX are kept; counts it. */
static lg_invalid_param_t *next_invalid(lg_cursor_t *c)
{
    lg_batch_t *b = c->out;

    if (b->n_invalid++ >= LG_INVALID_MAX)
        return NULL;
    return &b->invalid[b->n_invalid - 1];
}

void lg_cursor_invalid(lg_cursor_t *c, const char *leaf, const char *reason)
{
    lg_invalid_param_t *p = next_invalid(c);
    size_t pos = 0;

    if (p == NULL)
        return;
    p->param[0] = '\0';
    if (c->in_report) {
        char idx[32];

        snprintf(idx, sizeof idx, "/reportList/%zu", c->report_idx);
        append(p->param, sizeof p->param, &pos, idx);
    }
    for (size_t i = 0; i < c->n_seg && i < LG_CURSOR_SEGS_MAX; i++) {
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

void lg_cursor_invalid_at(lg_cursor_t *c, const char *pointer, const char *reason)
{
    lg_invalid_param_t *p = next_invalid(c);

    if (p == NULL)
        return;
    lg_strlcpy(p->param, pointer[0] != '\0' ? pointer : ROOT_PARAM, sizeof p->param);
    lg_strlcpy(p->reason, reason, sizeof p->reason);
}

bool lg_cursor_need_string(lg_cursor_t *c, const cJSON *obj, const char *key, const char **s,
                           size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL) {
        lg_cursor_invalid(c, key, "required");
        return false;
    }
    if (!cJSON_IsString(v)) {
        lg_cursor_invalid(c, key, "must be a string");
        return false;
    }
    *s = v->valuestring;
    *n = strlen(v->valuestring); /* no NUL inside: lg_json_scan refuses \u0000 */
    return true;
}

const cJSON *lg_cursor_need_object(lg_cursor_t *c, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL) {
        lg_cursor_invalid(c, key, "required");
        return NULL;
    }
    if (!cJSON_IsObject(v)) {
        lg_cursor_invalid(c, key, "must be an object");
        return NULL;
    }
    return v;
}
