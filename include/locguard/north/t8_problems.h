/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two T8 request validators (t8.c for subscriptions, t8_patch.c
 * for PATCH bodies) share: the list of problems a 400 answer carries as
 * ProblemDetails invalidParams, how bad each one is, the cause the worst
 * one picks, and the parse of the body that comes before any member is
 * looked at. Pure: no I/O, no global state.
 */
#ifndef LOCGUARD_T8_PROBLEMS_H
#define LOCGUARD_T8_PROBLEMS_H

#include "locguard/core/common.h"
#include "locguard/south/report.h" /* lg_invalid_param_t, LG_INVALID_MAX */

#include <jansson.h>

/*
 * ProblemDetails causes of a refused T8 body (TS 29.500 table 5.2.7.2-1,
 * the common application errors TS 29.122 APIs reuse). Compare by pointer
 * or by content.
 */
extern const char lg_t8_cause_invalid_msg_format[]; /* "INVALID_MSG_FORMAT": not a JSON object */
extern const char lg_t8_cause_ie_missing[];         /* "MANDATORY_IE_MISSING" */
extern const char lg_t8_cause_ie_incorrect[];       /* "MANDATORY_IE_INCORRECT" */
extern const char lg_t8_cause_optional_incorrect[]; /* "OPTIONAL_IE_INCORRECT" */

/* How bad a problem is; the worst one found picks the cause. */
typedef enum lg_t8_severity {
    LG_T8_OPTIONAL_INCORRECT = 1, /* an optional member is wrong */
    LG_T8_MANDATORY_INCORRECT,    /* a required member is wrong */
    LG_T8_MANDATORY_MISSING,      /* a required member is absent */
    LG_T8_MSG_FORMAT,             /* the body is not what the API takes at all */
} lg_t8_severity_t;

/* The problems found so far; embedded on the validator's stack. */
typedef struct lg_t8_problems {
    lg_invalid_param_t *invalid; /* the caller's, room for LG_INVALID_MAX */
    size_t n_invalid;            /* all problems, also those not stored */
    lg_t8_severity_t worst;      /* 0 while none */
} lg_t8_problems_t;

/*
 * Records one problem at the JSON pointer "/member" (or at the root ""
 * when member is NULL) with its reason; only the first LG_INVALID_MAX are
 * kept, all are counted.
 */
void lg_t8_problem(lg_t8_problems_t *c, lg_t8_severity_t sev, const char *member,
                   const char *reason);

/*
 * Parses the len bytes of body: at most 32 levels deep, well-formed, no
 * duplicate member. Returns the parsed value (the caller's), or NULL after
 * recording an LG_T8_MSG_FORMAT problem at the root that never quotes the
 * input.
 */
json_t *lg_t8_problems_parse(lg_t8_problems_t *c, const char *body, size_t len);

/*
 * Ends a validation: takes out (the normalised result so far, may be
 * NULL). With no problem recorded, returns LG_OK and hands out to
 * *normalised, *n_invalid 0 and *cause NULL. Otherwise frees out and
 * returns LG_ERR with *normalised NULL, *n_invalid the number of problems
 * and *cause the lg_t8_cause_* of the worst.
 */
LG_MUST_CHECK int lg_t8_problems_finish(lg_t8_problems_t *c, json_t *out, json_t **normalised,
                                        size_t *n_invalid, const char **cause);

#endif
