/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listeners' settings: what a zone serves ("[zone NAME]" kind), where it
 * listens and with which certificates. config.c fills them from the file,
 * http.c opens a listener from each, metrics.c labels requests by kind.
 */
#ifndef LOCGUARD_ZONE_H
#define LOCGUARD_ZONE_H

#include "locguard/core/common.h"

#define LG_ZONES_MAX 8

/* What a listener serves; one trust domain each (DESIGN.md "Zones"). */
typedef enum lg_zone_kind {
    LG_ZONE_SOUTHBOUND = 1, /* MME/SGSN/AMF location reports, mutual TLS */
    LG_ZONE_ADMIN,          /* operator API, loopback only, bearer token */
    LG_ZONE_NORTHBOUND,     /* SCS/AS: T8 monitoring API and the OAuth2 token endpoint */
    LG_ZONE_EXPOSURE,       /* third parties: CAMARA region device count, OAuth2 token endpoint */
} lg_zone_kind_t;

/* The kind's name as in "kind = ..." ("southbound"), for logs and metric labels; "?" if none. */
const char *lg_zone_kind_name(lg_zone_kind_t kind);

/* The kind "kind = name" names; 0 when name is none of them. */
lg_zone_kind_t lg_zone_kind_parse(const char *name);

/* One listener ("[zone NAME]"). */
typedef struct lg_zone_config {
    char name[32];        /* the NAME of "[zone NAME]" */
    lg_zone_kind_t kind;  /* "kind = southbound | admin | northbound | exposure" */
    char host[64];        /* from "listen = HOST:PORT" */
    int port;             /* 0 = any free port (the bound one is logged) */
    char *cert_file;      /* server certificate chain (PEM); NULL = plain HTTP (admin only) */
    char *key_file;       /* server private key (PEM) */
    char *client_ca_file; /* CA for client certificates; required for southbound */
    char *token_file;     /* admin: file holding the bearer token; NULL = no token */
    bool is_h2c;          /* "h2c = 1": HTTP/2 with prior knowledge, without ALPN (trusted network) */
} lg_zone_config_t;

/*
 * Checks what a complete "[zone NAME]" section needs (kind, listen, cert and
 * key together, mutual TLS for southbound, TLS for northbound and exposure,
 * loopback for a plain-HTTP admin zone). Returns NULL when it is complete,
 * else a constant string saying what is missing.
 */
const char *lg_zone_config_check(const lg_zone_config_t *z);

/* Frees the strings z owns and zeroes it. */
void lg_zone_config_cleanup(lg_zone_config_t *z);

#endif
