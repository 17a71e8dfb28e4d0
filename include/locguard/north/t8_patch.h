/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T8 PATCH validator (TS 29.122 §5.3, PATCH of an individual
 * subscription): checks the JSON Patch an SCS/AS sends to add or exclude
 * UEs of a group subscription and turns it into the lists that
 * lg_t8_sub_patch (sql/northbound.sql) takes. Pure: no I/O, no global
 * state, so unit tests and the libFuzzer driver call it directly.
 */
#ifndef LOCGUARD_T8_PATCH_H
#define LOCGUARD_T8_PATCH_H

#include "locguard/core/common.h"
#include "locguard/north/t8_problems.h" /* the causes, lg_invalid_param_t */

#include <jansson.h>

/* Most UEs one PATCH may add or exclude. */
#define LG_T8_PATCH_IDS_MAX 100

/*
 * Checks the body of a PATCH of an individual subscription: a JSON Patch
 * (RFC 6902, application/json-patch+json) array of 1 or more PatchItem
 * objects that, as TS29122_MonitoringEvent.yaml says, partially cancel or
 * add UEs of an active group subscription: op "add" or "replace" with path
 * "/excludedExternalIds" or "/addedExternalIds" and a value array of 1 to
 * LG_T8_PATCH_IDS_MAX External Ids, or op "add" with path
 * "/excludedExternalIds/-" or "/addedExternalIds/-" and one External Id.
 * On success returns LG_OK and *normalised (the caller's) is
 * {"excludedExternalIds": [...]?, "addedExternalIds": [...]?}, the ids in
 * patch order without duplicates (a later item of the same path replaces
 * the list when its op is "replace"). Errors as
 * lg_t8_validate_subscription's, the params pointing into the array
 * ("/0/path").
 */
LG_MUST_CHECK int lg_t8_validate_patch(const char *body, size_t len, json_t **normalised,
                                       lg_invalid_param_t *invalid, size_t *n_invalid,
                                       const char **cause);

#endif
