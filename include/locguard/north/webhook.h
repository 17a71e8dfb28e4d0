/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure half of webhook delivery: Standard Webhooks v1 signatures
 * (HMAC-SHA256 over "{msg_id}.{timestamp}.{body}" with the bytes of a
 * "whsec_<base64>" secret), the destination policy (https only, no userinfo,
 * no loopback / private / link-local / multicast / unspecified addresses
 * unless the SCS allows them), the retry back-off, Retry-After parsing, and
 * the rewrite of a stored notification's relative "subscription" link into
 * an absolute one. No I/O: service/core/httpc.c and notifier.c do
 * that, and the SCS sink (tests/tools/scs_sink.c) verifies with
 * lg_webhook_verify.
 */
#ifndef LOCGUARD_WEBHOOK_H
#define LOCGUARD_WEBHOOK_H

#include "locguard/core/common.h"

#include <sys/socket.h>

/* Room for a webhook-signature header value holding two v1 signatures. */
#define LG_WEBHOOK_SIGNATURE_MAX 128

/* Longest host name and request target (path + query) of a destination. */
#define LG_WEBHOOK_HOST_MAX   256
#define LG_WEBHOOK_TARGET_MAX 2048

/*
 * A notification whose attempt ends where retrying seldom helps (the
 * destination's name does not resolve, or it answers 3xx, a redirect that
 * is never followed) fails at its LG_WEBHOOK_DEAD_END_ATTEMPTS-th attempt
 * (earlier failed attempts of any kind count) instead of being retried for
 * [delivery] retry_max_age_s.
 */
#define LG_WEBHOOK_DEAD_END_ATTEMPTS 5

/* Error strings (compare by pointer). */
extern const char LG_WEBHOOK_ERR_NOT_ALLOWED[];  /* "destination not allowed" */
extern const char LG_WEBHOOK_ERR_NUMERIC_HOST[]; /* a host that ends in a number */

/* A destination URL taken apart by lg_webhook_check_url. */
typedef struct lg_webhook_dest {
    char host[LG_WEBHOOK_HOST_MAX];             /* name or address, IPv6 without brackets */
    int port;                                   /* 443 when the URL names none */
    bool is_ip_literal;                         /* host is an IPv4 or IPv6 address */
    char target[LG_WEBHOOK_TARGET_MAX];         /* path ("/" when empty) and "?query" */
    char host_header[LG_WEBHOOK_HOST_MAX + 16]; /* Host header value: [v6]:port as needed */
} lg_webhook_dest_t;

/*
 * Writes the webhook-signature header value for one message into out:
 * "v1,<base64 HMAC>" with secret, followed by " v1,<...>" with
 * secret_previous when that is not NULL or empty (key rotation). Secrets are
 * "whsec_<base64>" (the prefix may be absent; the key is the base64 decoding).
 * Returns LG_ERR when a secret does not decode or out_size is too small.
 */
LG_MUST_CHECK int lg_webhook_sign(const char *secret, const char *secret_previous,
                                  const char *msg_id, const char *timestamp, const char *body,
                                  size_t len, char *out, size_t out_size);

/*
 * True when one of the space-separated "v1,<base64>" signatures in
 * signature_header is the signature of the message with secret (compared in
 * constant time). Other versions and malformed entries are skipped. Does not
 * check the timestamp's age: the caller does that.
 */
bool lg_webhook_verify(const char *secret, const char *msg_id, const char *timestamp,
                       const char *body, size_t len, const char *signature_header);

/*
 * True when the host name (len bytes, no brackets) ends in a number as the
 * WHATWG URL standard reads it: its last label (a trailing dot ignored) is
 * all decimal digits, or "0x" / "0X" and hex digits. Browsers and many
 * resolvers take such a host for an IPv4 address in another form
 * ("2130706433", "0x7f000001", "127.1" are 127.0.0.1) while DNS has no such
 * name: a destination may name an IPv4 address only in dotted-decimal
 * form. Also true for a dotted-decimal address itself; callers ask it of
 * hosts that are not one.
 */
bool lg_webhook_host_is_numeric(const char *host, size_t len);

/*
 * Checks a destination URL: parses it (evhttp_uri_parse, strict), requires
 * the https scheme, a host, no userinfo, a port in 1..65535, a host that is
 * an address literal or a name that does not end in a number
 * (lg_webhook_host_is_numeric: LG_WEBHOOK_ERR_NUMERIC_HOST), and fills out.
 * Whether the host's addresses are allowed is decided after resolution with
 * lg_webhook_addr_is_private. On refusal returns LG_ERR and sets *err to a
 * constant string (never containing the URL).
 */
LG_MUST_CHECK int lg_webhook_check_url(const char *url, lg_webhook_dest_t *out, const char **err);

/*
 * True when sa (AF_INET or AF_INET6) is an address webhooks must not reach
 * unless the SCS record allows private destinations: unspecified (0/8, ::),
 * loopback (127/8, ::1), RFC 1918, CGNAT 100.64/10, link-local (169.254/16,
 * fe80::/10), IETF protocol assignments 192.0.0/24, benchmarking 198.18/15,
 * multicast (224/4, ff00::/8), reserved and broadcast (240/4), unique-local
 * fc00::/7, site-local fec0::/10, and IPv4 addresses of those kinds embedded
 * in IPv6 (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96).
 * Any other family counts as private.
 */
bool lg_webhook_addr_is_private(const struct sockaddr *sa);

/*
 * Delay before the next attempt after `attempts` earlier failed ones (0 for
 * the first failure): "full jitter", uniformly in [0, min(max_ms, 1 s * 2^attempts)],
 * drawn from the 32 random bits `random`. max_ms is clamped to 2^31 (about
 * 24 days). Never negative.
 */
int64_t lg_webhook_backoff_ms(int attempts, int64_t max_ms, uint32_t random);

/*
 * Parses a Retry-After header value given in delta-seconds ("120").
 * Returns the seconds, or -1 when value is NULL, empty, an HTTP-date or
 * malformed. Large values are clamped to 10^9.
 */
int64_t lg_webhook_retry_after_s(const char *value);

/*
 * Makes a stored payload ready to send: when it is a JSON object whose
 * "subscription" member is a string starting with "/", returns a new
 * compact serialisation with that member replaced by public_url (without
 * its trailing slashes) followed by the path; otherwise returns a copy of
 * payload unchanged. Returns NULL when payload is not valid JSON. The
 * caller frees the result.
 */
char *lg_webhook_prepare_payload(const char *payload, const char *public_url);

/*
 * Whether secret is one the signer can use: "whsec_" (optional) followed by
 * strict padded base64 of 1 to 128 bytes. locguardctl checks a secret with
 * it before sending it.
 */
bool lg_webhook_secret_is_valid(const char *secret);

#endif
