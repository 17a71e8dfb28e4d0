/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The diameter zone's settings ("[diameter]"): our identity and realm,
 * where to listen, TLS or plain TCP, and the peers, each a Diameter
 * identity tied to a provisioned network node. Plain data and checks, no
 * freeDiameter: config.c fills and checks them, diameter.c runs them.
 */
#ifndef LOCGUARD_DIAMETER_PEERS_H
#define LOCGUARD_DIAMETER_PEERS_H

#include "locguard/core/common.h"
#include "locguard/south/report.h"

#define LG_DIA_PEERS_MAX    32
#define LG_DIA_IDENTITY_MAX 256 /* DiameterIdentity: an FQDN, at most 255 octets */

/* One configured peer ("peer = IDENTITY NODE"): its Diameter identity and its network node. */
typedef struct lg_dia_peer_config {
    char identity[LG_DIA_IDENTITY_MAX]; /* the peer's Origin-Host, and its certificate's name */
    char node[LG_NODE_NAME_MAX];        /* network_node.name its reports are stored under */
} lg_dia_peer_config_t;

/* "[diameter]" in the config (defaults in config.c's table). No identity: no zone. */
typedef struct lg_diameter_config {
    const char *identity;  /* our Origin-Host (FQDN) */
    const char *realm;     /* our Origin-Realm */
    char host[64];         /* "listen = HOST:PORT": the address to bind */
    int port;              /* the port (TLS at once on connect, or plain TCP) */
    const char *cert_file; /* our certificate chain (PEM) */
    const char *key_file;  /* its private key (PEM) */
    const char *ca_file;   /* CA the peers' certificates must chain to */
    bool is_plain_tcp;     /* "plain_tcp = 1": no TLS, only inside an NDS/IP domain */
    int queue_max;         /* requests waiting for the loop before 3004 */
    int tc_timer_s;        /* freeDiameter's Tc (reconnect) timer */
    int tw_timer_s;        /* watchdog interval (RFC 3539 Tw) */
    const char *work_dir;  /* where the generated freeDiameter configuration is written */
    size_t n_peers;
    lg_dia_peer_config_t peers[LG_DIA_PEERS_MAX];
    /* The HSS monitoring is configured at over S6t (s6t.h); hss NULL: none. */
    const char *hss;       /* "hss = IDENTITY": its Diameter identity (and certificate name) */
    const char *hss_realm; /* its realm (Destination-Realm); NULL: ours */
    char hss_host[64];     /* "hss_connect = HOST:PORT": where locguard connects to it */
    int hss_port;
    int hss_sync_s;    /* a pass of the S6t client every this many seconds */
    int hss_retry_s;   /* a CIR unanswered (or refused) is sent again after this (doubling) */
    int hss_timeout_s; /* a CIR's answer is awaited this long */
} lg_diameter_config_t;

/*
 * Checks a "[diameter]" section once read: identity and realm, listen,
 * certificate, key and CA unless plain_tcp, at least one peer, no identity
 * twice; with an hss, its identity (not a peer's), realm and hss_connect.
 * NULL when complete, else a constant reason.
 */
const char *lg_diameter_config_check(const lg_diameter_config_t *cfg);

/*
 * Parses "IDENTITY NODE" (a DiameterIdentity, a node name) into peer.
 * LG_ERR when either is malformed.
 */
LG_MUST_CHECK int lg_diameter_parse_peer(const char *value, lg_dia_peer_config_t *peer);

/*
 * The configured peer whose identity is the len octets at identity (not
 * NUL-terminated; compared without case, as DiameterIdentities are), or NULL.
 */
const lg_dia_peer_config_t *lg_diameter_find_peer(const lg_diameter_config_t *cfg,
                                                  const char *identity, size_t len);

/*
 * True when the X.509 certificate der (len octets) names identity, as a TLS
 * client checks a server's name (GnuTLS's hostname check: a subjectAltName
 * DNS entry, or without any, the subject CN). A certificate that does not
 * parse names nothing.
 */
bool lg_diameter_cert_names(const uint8_t *der, size_t len, const char *identity);

#endif
