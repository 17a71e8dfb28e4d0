/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The [diameter] settings' checks: identities and node names well formed,
 * what TLS needs present, each peer once; and whether a peer's certificate
 * names its identity. Plain data, no freeDiameter, so the configuration
 * parser and the tests use it without the stack.
 */
#include "locguard/diameter/peers.h"

#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A DiameterIdentity as locguard accepts it: an FQDN of [A-Za-z0-9.-], 1..255 octets. */
static bool is_identity(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= LG_DIA_IDENTITY_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch == '.' ||
              ch == '-'))
            return false;
    }
    return true;
}

static bool is_node_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= LG_NODE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

int lg_diameter_parse_peer(const char *value, lg_dia_peer_config_t *peer)
{
    char id[LG_DIA_IDENTITY_MAX], node[LG_NODE_NAME_MAX], extra[2];

    memset(peer, 0, sizeof(*peer));
    if (strlen(value) >= LG_DIA_IDENTITY_MAX + LG_NODE_NAME_MAX ||
        sscanf(value, "%255s %63s %1s", id, node, extra) != 2 || !is_identity(id) ||
        !is_node_name(node))
        return LG_ERR;
    lg_strlcpy(peer->identity, id, sizeof(peer->identity));
    lg_strlcpy(peer->node, node, sizeof(peer->node));
    return LG_OK;
}

const char *lg_diameter_config_check(const lg_diameter_config_t *cfg)
{
    if (cfg->identity == NULL || !is_identity(cfg->identity))
        return "identity must be an FQDN";
    if (cfg->realm == NULL || !is_identity(cfg->realm))
        return "realm must be a domain name";
    if (cfg->host[0] == '\0' || cfg->port <= 0)
        return "listen = HOST:PORT is required (a port above 0)";
    if (!cfg->is_plain_tcp &&
        (cfg->cert_file == NULL || cfg->key_file == NULL || cfg->ca_file == NULL))
        return "cert, key and ca are required (or plain_tcp = 1 inside an NDS/IP domain)";
    if (cfg->n_peers == 0)
        return "at least one peer = IDENTITY NODE";
    for (size_t i = 0; i < cfg->n_peers; i++)
        for (size_t j = i + 1; j < cfg->n_peers; j++)
            if (strcasecmp(cfg->peers[i].identity, cfg->peers[j].identity) == 0)
                return "a peer identity is configured twice";
    if (cfg->hss != NULL) {
        if (!is_identity(cfg->hss))
            return "hss must be the HSS's Diameter identity (an FQDN)";
        if (lg_diameter_find_peer(cfg, cfg->hss, strlen(cfg->hss)) != NULL)
            return "the hss is also a peer: an HSS does not report locations";
        if (cfg->hss_realm != NULL && !is_identity(cfg->hss_realm))
            return "hss_realm must be a domain name";
        if (cfg->hss_host[0] == '\0' || cfg->hss_port <= 0)
            return "hss_connect = HOST:PORT is required with hss";
    } else if (cfg->hss_host[0] != '\0' || cfg->hss_realm != NULL) {
        return "hss_connect and hss_realm need hss = IDENTITY";
    }
    return NULL;
}

const lg_dia_peer_config_t *lg_diameter_find_peer(const lg_diameter_config_t *cfg,
                                                  const char *identity, size_t len)
{
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const lg_dia_peer_config_t *p = &cfg->peers[i];
        if (strlen(p->identity) == len && strncasecmp(p->identity, identity, len) == 0)
            return p;
    }
    return NULL;
}

bool lg_diameter_cert_names(const uint8_t *der, size_t len, const char *identity)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t d = {.data = (unsigned char *)(uintptr_t)der, .size = (unsigned)len};
    bool ok = false;

    if (der == NULL || len == 0 || len > UINT32_MAX || gnutls_x509_crt_init(&crt) != 0)
        return false;
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) == 0)
        ok = gnutls_x509_crt_check_hostname(crt, identity) != 0;
    gnutls_x509_crt_deinit(crt);
    return ok;
}
