/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listeners' settings: the zone kinds' one name table, and the checks a
 * "[zone NAME]" section must pass before http.c opens a listener from it.
 */
#include "locguard/core/zone.h"

#include <stdlib.h>
#include <string.h>

/* The kinds' names, indexed by lg_zone_kind_t. */
static const char *const kind_names[] = {
    [LG_ZONE_SOUTHBOUND] = "southbound",
    [LG_ZONE_ADMIN] = "admin",
    [LG_ZONE_NORTHBOUND] = "northbound",
    [LG_ZONE_EXPOSURE] = "exposure",
};

const char *lg_zone_kind_name(lg_zone_kind_t kind)
{
    if ((size_t)kind >= LG_ARRAY_SIZE(kind_names) || kind_names[kind] == NULL)
        return "?";
    return kind_names[kind];
}

lg_zone_kind_t lg_zone_kind_parse(const char *name)
{
    for (size_t i = 0; i < LG_ARRAY_SIZE(kind_names); i++)
        if (kind_names[i] != NULL && strcmp(kind_names[i], name) == 0)
            return (lg_zone_kind_t)i;
    return 0;
}

const char *lg_zone_config_check(const lg_zone_config_t *z)
{
    if (z->kind == 0)
        return "missing \"kind\"";
    if (z->host[0] == '\0')
        return "missing \"listen\"";
    if ((z->cert_file == NULL) != (z->key_file == NULL))
        return "\"cert\" and \"key\" go together";
    if (z->kind == LG_ZONE_SOUTHBOUND && (z->cert_file == NULL || z->client_ca_file == NULL))
        return "a southbound zone needs \"cert\", \"key\" and \"client_ca\" (mutual TLS)";
    if ((z->kind == LG_ZONE_NORTHBOUND || z->kind == LG_ZONE_EXPOSURE) && z->cert_file == NULL)
        return "northbound and exposure zones need \"cert\" and \"key\" (TLS)";
    if (z->kind == LG_ZONE_ADMIN && z->cert_file == NULL && strcmp(z->host, "127.0.0.1") != 0 &&
        strcmp(z->host, "::1") != 0 && strcmp(z->host, "localhost") != 0)
        return "a plain-HTTP admin zone must listen on loopback";
    return NULL;
}

void lg_zone_config_cleanup(lg_zone_config_t *z)
{
    free(z->cert_file);
    free(z->key_file);
    free(z->client_ca_file);
    free(z->token_file);
    memset(z, 0, sizeof(*z));
}
