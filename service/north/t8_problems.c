/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The problems of a T8 request body, collected for the 400 answer: the
 * shared part of the subscription validator (t8.c) and the PATCH validator
 * (t8_patch.c). northbound.c turns what they collect into ProblemDetails.
 */
#include "locguard/north/t8_problems.h"

#include "locguard/core/jsonutil.h"

#include <stdio.h>

/* Deepest nesting accepted (a valid subscription needs 6); keeps jansson's recursion shallow. */
#define MAX_DEPTH 32

const char lg_t8_cause_invalid_msg_format[] = "INVALID_MSG_FORMAT";
const char lg_t8_cause_ie_missing[] = "MANDATORY_IE_MISSING";
const char lg_t8_cause_ie_incorrect[] = "MANDATORY_IE_INCORRECT";
const char lg_t8_cause_optional_incorrect[] = "OPTIONAL_IE_INCORRECT";

void lg_t8_problem(lg_t8_problems_t *c, lg_t8_severity_t sev, const char *member,
                   const char *reason)
{
    if (sev > c->worst)
        c->worst = sev;
    if (c->n_invalid++ >= LG_INVALID_MAX)
        return;
    lg_invalid_param_t *p = &c->invalid[c->n_invalid - 1];
    if (member == NULL)
        p->param[0] = '\0';
    else
        snprintf(p->param, sizeof p->param, "/%s", member);
    lg_strlcpy(p->reason, reason, sizeof p->reason);
}

json_t *lg_t8_problems_parse(lg_t8_problems_t *c, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *root;
    char reason[96];

    if (!lg_json_depth_ok(body, len, MAX_DEPTH)) {
        lg_t8_problem(c, LG_T8_MSG_FORMAT, NULL, "nested deeper than 32 levels");
        return NULL;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        /* Our own words, not jerr.text: that quotes the input, which may not be UTF-8. */
        snprintf(reason, sizeof reason, "%s at byte %d",
                 json_error_code(&jerr) == json_error_duplicate_key ? "duplicate member"
                                                                    : "malformed JSON",
                 jerr.position);
        lg_t8_problem(c, LG_T8_MSG_FORMAT, NULL, reason);
    }
    return root;
}

/* The cause the worst problem picks. */
static const char *cause_of(lg_t8_severity_t worst)
{
    switch (worst) {
    case LG_T8_MSG_FORMAT:
        return lg_t8_cause_invalid_msg_format;
    case LG_T8_MANDATORY_MISSING:
        return lg_t8_cause_ie_missing;
    case LG_T8_MANDATORY_INCORRECT:
        return lg_t8_cause_ie_incorrect;
    case LG_T8_OPTIONAL_INCORRECT:
        break;
    }
    return lg_t8_cause_optional_incorrect;
}

int lg_t8_problems_finish(lg_t8_problems_t *c, json_t *out, json_t **normalised, size_t *n_invalid,
                          const char **cause)
{
    if (c->n_invalid > 0) {
        json_decref(out);
        *normalised = NULL;
        *n_invalid = c->n_invalid;
        *cause = cause_of(c->worst);
        return LG_ERR;
    }
    *normalised = out;
    *n_invalid = 0;
    *cause = NULL;
    return LG_OK;
}
