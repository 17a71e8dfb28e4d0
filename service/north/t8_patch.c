/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The T8 PATCH validator. northbound.c hands it the body of a PATCH on
 * .../subscriptions/{subscriptionId} (a JSON Patch adding or excluding UEs
 * of a group subscription); it answers with the lists that
 * lg_t8_sub_patch (sql/northbound.sql) applies, or with the invalidParams
 * of the 400 answer (t8_problems.c).
 *
 * Which rules live here: the body's shape (the operations and paths
 * supported, External Ids, at most LG_T8_PATCH_IDS_MAX of them). Not here,
 * because they need the database (sql/northbound.sql): that the
 * subscription exists and is to a group, and that every id names a member
 * of that group (else the one refusal).
 */
#include "locguard/north/t8_patch.h"

#include "locguard/north/t8.h"

#include <stdio.h>
#include <string.h>

/* The two members a PATCH may change, as paths. */
static const char *const PATCH_MEMBERS[2] = {"excludedExternalIds", "addedExternalIds"};

/* Appends External Id v to list unless it is there; records a problem at ptr when v is not one. */
static bool take_patch_id(lg_t8_problems_t *c, json_t *list, json_t *v, const char *ptr)
{
    size_t i;
    json_t *x;

    if (!json_is_string(v) || !lg_t8_is_external_id(json_string_value(v), json_string_length(v))) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr,
                      "must be <local id>@<domain>, at most 255 bytes");
        return false;
    }
    json_array_foreach(list, i, x) if (json_equal(x, v)) return true;
    if (json_array_size(list) >= LG_T8_PATCH_IDS_MAX) {
        lg_t8_problem(c, LG_T8_MANDATORY_INCORRECT, ptr, "at most 100 UEs per PATCH");
        return false;
    }
    json_array_append(list, v);
    return true;
}

/* One PatchItem at index idx, applied to out. */
static void check_patch_item(lg_t8_problems_t *c, json_t *item, size_t idx, json_t *out)
{
    static const char *const KNOWN_OPS[] = {"add", "remove", "replace", "move", "copy", "test"};
    json_t *op = json_object_get(item, "op"), *path = json_object_get(item, "path");
    json_t *value = json_object_get(item, "value");
    char ptr[48];
    int member = -1;
    bool is_append = false;

    if (!json_is_object(item)) {
        snprintf(ptr, sizeof ptr, "%zu", idx);
        lg_t8_problem(c, LG_T8_MSG_FORMAT, ptr, "must be a PatchItem object");
        return;
    }
    snprintf(ptr, sizeof ptr, "%zu/op", idx);
    const char *op_s = json_string_value(op);
    bool is_known_op = false;
    for (size_t i = 0; op_s != NULL && i < LG_ARRAY_SIZE(KNOWN_OPS); i++)
        is_known_op = is_known_op || strcmp(op_s, KNOWN_OPS[i]) == 0;
    if (!is_known_op) {
        lg_t8_problem(c, op == NULL ? LG_T8_MANDATORY_MISSING : LG_T8_MANDATORY_INCORRECT, ptr,
                      "must be a JSON Patch operation");
        return;
    }
    bool is_replace = strcmp(op_s, "replace") == 0;
    if (!is_replace && strcmp(op_s, "add") != 0) {
        lg_t8_problem(
            c, LG_T8_MANDATORY_INCORRECT, ptr,
            "not supported: only add and replace of excludedExternalIds / addedExternalIds");
        return;
    }
    snprintf(ptr, sizeof ptr, "%zu/path", idx);
    const char *path_s = json_string_value(path);
    for (int i = 0; path_s != NULL && i < 2; i++) {
        size_t n = strlen(PATCH_MEMBERS[i]);
        if (path_s[0] == '/' && strncmp(path_s + 1, PATCH_MEMBERS[i], n) == 0) {
            if (path_s[n + 1] == '\0') {
                member = i;
            } else if (strcmp(path_s + n + 1, "/-") == 0 && !is_replace) {
                member = i;
                is_append = true;
            }
        }
    }
    if (member < 0) {
        lg_t8_problem(c, path == NULL ? LG_T8_MANDATORY_MISSING : LG_T8_MANDATORY_INCORRECT, ptr,
                      "must be /excludedExternalIds or /addedExternalIds (or .../- to add one)");
        return;
    }
    snprintf(ptr, sizeof ptr, "%zu/value", idx);
    json_t *list = json_object_get(out, PATCH_MEMBERS[member]);
    if (list == NULL || is_replace) {
        list = json_array();
        json_object_set_new(out, PATCH_MEMBERS[member], list);
    }
    if (is_append) {
        take_patch_id(c, list, value, ptr);
        return;
    }
    if (!json_is_array(value) || json_array_size(value) == 0) {
        lg_t8_problem(c, value == NULL ? LG_T8_MANDATORY_MISSING : LG_T8_MANDATORY_INCORRECT, ptr,
                      "must be an array of 1 or more External Ids");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(value, i, v)
    {
        char item_ptr[72];
        snprintf(item_ptr, sizeof item_ptr, "%s/%zu", ptr, i);
        if (!take_patch_id(c, list, v, item_ptr))
            return;
    }
}

int lg_t8_validate_patch(const char *body, size_t len, json_t **normalised,
                         lg_invalid_param_t *invalid_params, size_t *n_invalid, const char **cause)
{
    lg_t8_problems_t c = {.invalid = invalid_params};
    json_t *out = NULL, *item;
    json_t *root = lg_t8_problems_parse(&c, body, len);
    size_t i;

    if (root == NULL)
        goto done;
    if (!json_is_array(root) || json_array_size(root) == 0) {
        lg_t8_problem(&c, LG_T8_MSG_FORMAT, NULL,
                      "must be a JSON Patch: an array of 1 or more PatchItems");
        goto done;
    }
    out = json_object();
    json_array_foreach(root, i, item) check_patch_item(&c, item, i, out);
    /* A list emptied by nothing cannot happen: each item adds at least one id or fails. */

done:
    json_decref(root);
    return lg_t8_problems_finish(&c, out, normalised, n_invalid, cause);
}
