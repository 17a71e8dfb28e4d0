/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen: what the test and bench tools (mme-sim, count-load, ingest-direct,
 * scs-sink) share. An HTTP/1.1-over-TLS client (OpenSSL directly on a
 * socket, TCP_NODELAY, the server certificate verified against a CA and the
 * host name or address): blocking round trips for the simple tools, and
 * non-blocking steps (connect, handshake, send, receive into an incremental
 * response parser) for an event loop's many connections (mme-sim load), a
 * small xorshift random generator, writers
 * of fixed-width digits for patching pre-rendered requests in place, a
 * latency recorder with nearest-rank percentiles, and the option parsers the
 * tools have in common. Nothing here prints to stdout: every tool keeps its
 * own output format; errors go to stderr prefixed with the tool's name.
 *
 * It is built once and linked into every tool (Makefile); it is not a
 * daemon module and the daemon never links it.
 */
#ifndef LOCGUARD_TOOLS_LOADGEN_H
#define LOCGUARD_TOOLS_LOADGEN_H

#include "locguard/core/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* --------------------------------------------------------- TLS client -- */

/* A TLS connection to one host:port with its read buffer, blocking or not. */
typedef struct lg_loadgen_conn lg_loadgen_conn_t;

/* A parsed HTTP/1.1 response. Embedded by callers; init before first use. */
typedef struct lg_loadgen_response {
    int status;        /* status code, 0 when none was read */
    char *body;        /* malloc'd, NUL-terminated, or NULL */
    size_t body_len;   /* bytes in body, without the NUL */
    int retry_after_s; /* Retry-After in seconds, -1 when absent */
    bool must_close;   /* "Connection: close" or HTTP/1.0: close after this answer */
} lg_loadgen_response_t;

/* Flags of lg_loadgen_roundtrip. */
enum {
    LG_LOADGEN_KEEP_BODY = 1,   /* keep the body in the response (else it is read and dropped) */
    LG_LOADGEN_BODY_TO_EOF = 2, /* an answer with neither Content-Length nor chunked framing
                                   runs to the end of the connection; without this flag it is
                                   a protocol error */
};

/*
 * Prints "PROG: WHAT" followed by OpenSSL's queued errors (": e1: e2") on one
 * stderr line, and empties the queue.
 */
void lg_loadgen_print_ssl_errors(const char *prog, const char *what);

/*
 * Builds a client TLS context: TLS >= 1.2, no session cache; with cert_file
 * and key_file (either may be NULL) the client certificate chain and key;
 * with ca_file (may be NULL: no verification) the server is verified against
 * it. Returns NULL after printing why; the caller frees it with SSL_CTX_free.
 */
SSL_CTX *lg_loadgen_ssl_ctx_new(const char *prog, const char *cert_file, const char *key_file,
                                const char *ca_file);

/*
 * Returns a closed connection to host:port (host: a name or a numeric
 * address; the strings are borrowed and must outlive it) whose socket reads
 * and writes time out after io_timeout_s. prog prefixes its error messages.
 */
lg_loadgen_conn_t *lg_loadgen_conn_new(const char *prog, const char *host, int port,
                                       int io_timeout_s);

/* Closes and frees c; accepts NULL. */
void lg_loadgen_conn_free(lg_loadgen_conn_t *c);

/*
 * Connects TCP (TCP_NODELAY, I/O timeouts) and TLS with ctx, checking the
 * server certificate against the host name (with SNI) or the IP address.
 * Returns LG_OK, or LG_ERR after printing why (c is then closed).
 */
LG_MUST_CHECK
int lg_loadgen_conn_open(lg_loadgen_conn_t *c, SSL_CTX *ctx);

/* Returns whether c is open (opened and not closed since). */
bool lg_loadgen_conn_is_open(const lg_loadgen_conn_t *c);

/* Shuts TLS down and closes the socket; c can be opened again. Idempotent. */
void lg_loadgen_conn_close(lg_loadgen_conn_t *c);

/* The open connection's TLS session (NULL when closed), for a caller that speaks another
 * protocol on it (mme-sim's HTTP/2). */
SSL *lg_loadgen_conn_ssl(lg_loadgen_conn_t *c);

/*
 * Writes one rendered request and reads its response into r (reset first):
 * status line, headers (Content-Length, Transfer-Encoding: chunked,
 * Connection, Retry-After) and the body, at most 1 MiB. flags: LG_LOADGEN_*.
 * Returns LG_OK, or LG_ERR on a transport or framing error, after which the
 * connection is unusable (close it).
 */
LG_MUST_CHECK
int lg_loadgen_roundtrip(lg_loadgen_conn_t *c, const char *req, size_t req_len, unsigned flags,
                         lg_loadgen_response_t *r);

/* Prepares an empty response. */
void lg_loadgen_response_init(lg_loadgen_response_t *r);

/* Frees r's body and leaves it empty (as after init). */
void lg_loadgen_response_cleanup(lg_loadgen_response_t *r);

/* ---------------------------------------------------- response parser -- */

/*
 * An incremental parser of one HTTP/1.1 response, fed the bytes as they
 * come: both the blocking round trip and a caller's event loop use it.
 * Embedded by callers; its fields are private.
 */
typedef struct lg_loadgen_parser {
    lg_loadgen_response_t *r; /* where the answer goes (borrowed) */
    unsigned flags;           /* LG_LOADGEN_* */
    int state;                /* where in the response (loadgen.c's P_*) */
    long long content_length; /* -1 when absent */
    long long remaining;      /* body or chunk bytes still to come */
    bool is_chunked;
} lg_loadgen_parser_t;

/* What a parser step found. */
typedef enum lg_loadgen_parse {
    LG_LOADGEN_PARSE_MORE,  /* the response goes on: feed more bytes */
    LG_LOADGEN_PARSE_DONE,  /* the response is complete */
    LG_LOADGEN_PARSE_ERROR, /* malformed, unframed without LG_LOADGEN_BODY_TO_EOF, or too long */
} lg_loadgen_parse_t;

/* Starts parsing a new response into r (reset first) with LG_LOADGEN_* flags. */
void lg_loadgen_parser_begin(lg_loadgen_parser_t *p, lg_loadgen_response_t *r, unsigned flags);

/*
 * Parses what it can of buf[0..len) and sets *used to the bytes consumed;
 * the caller keeps the rest (an incomplete line: at most 4 KiB) and feeds it
 * again with more bytes after it. Bytes past a complete response are left.
 */
lg_loadgen_parse_t lg_loadgen_parser_feed(lg_loadgen_parser_t *p, const char *buf, size_t len,
                                          size_t *used);

/* The connection ended: completes a body that runs to the end, else an error. */
lg_loadgen_parse_t lg_loadgen_parser_eof(lg_loadgen_parser_t *p);

/* ------------------------------------------------ non-blocking client -- */

/* What a non-blocking step of a connection needs next. */
typedef enum lg_loadgen_io {
    LG_LOADGEN_IO_DONE,       /* the step is complete */
    LG_LOADGEN_IO_WANT_READ,  /* call again when the socket is readable */
    LG_LOADGEN_IO_WANT_WRITE, /* call again when the socket is writable */
    LG_LOADGEN_IO_ERROR,      /* the connection is unusable: close it */
} lg_loadgen_io_t;

/*
 * Opens c without blocking: a non-blocking socket whose TCP connect is under
 * way and a TLS session set up as lg_loadgen_conn_open does (SNI, host name
 * or address check); then lg_loadgen_conn_handshake until it is done.
 * Returns LG_OK, or LG_ERR after printing why (c is then closed).
 */
LG_MUST_CHECK
int lg_loadgen_conn_start(lg_loadgen_conn_t *c, SSL_CTX *ctx);

/* The socket of an open or opening connection (-1 when closed), for the caller's poller. */
int lg_loadgen_conn_fd(const lg_loadgen_conn_t *c);

/* Advances the TCP connect and TLS handshake; on LG_LOADGEN_IO_ERROR prints why. */
lg_loadgen_io_t lg_loadgen_conn_handshake(lg_loadgen_conn_t *c);

/*
 * Writes buf[*sent..len) and advances *sent. After a WANT the caller calls
 * again with the same buf (OpenSSL retries the same record).
 */
lg_loadgen_io_t lg_loadgen_conn_send(lg_loadgen_conn_t *c, const char *buf, size_t len,
                                     size_t *sent);

/*
 * Reads what the socket has and feeds it to p (begun by the caller): DONE
 * when the response is complete; an end of the connection completes a body
 * that runs to it, else is an error.
 */
lg_loadgen_io_t lg_loadgen_conn_receive(lg_loadgen_conn_t *c, lg_loadgen_parser_t *p);

/*
 * Whether the server is done with the handshake too: always after TLS 1.2;
 * after TLS 1.3 once a session ticket came (a server sends it after checking
 * the client's certificate and Finished, the costly part of its side).
 */
bool lg_loadgen_conn_is_settled(const lg_loadgen_conn_t *c);

/*
 * Reads from an idle connection (no request in flight) that became readable:
 * WANT_READ when it was only TLS housekeeping (a TLS 1.3 session ticket) and
 * the connection is still usable, ERROR when the server closed it or sent
 * bytes nobody asked for.
 */
lg_loadgen_io_t lg_loadgen_conn_check_idle(lg_loadgen_conn_t *c);

/* --------------------------------------------------- load generation -- */

/*
 * Returns the xorshift64* state of worker `index` (0, 1, ...): seed (0 =
 * the wall clock) mixed with the index, never 0.
 */
uint64_t lg_loadgen_rng_seed(uint64_t seed, int index);

/* Advances the xorshift64* state and returns the next 64 random bits. */
uint64_t lg_loadgen_rng_next(uint64_t *state);

/* Writes v as exactly `width` decimal digits at p (zero-padded, cut on the left); no NUL. */
void lg_loadgen_put_dec(char *p, uint64_t v, int width);

/* Writes v as exactly `width` upper-case hex digits at p (zero-padded, cut on the left); no NUL. */
void lg_loadgen_put_hex(char *p, uint64_t v, int width);

/* Sleeps us microseconds (nothing when us <= 0), resuming after signals. */
void lg_loadgen_sleep_us(int64_t us);

/*
 * Latency samples in microseconds. Embedded by callers; zero-initialised it
 * keeps every sample; lg_loadgen_latency_init_reservoir bounds it.
 */
typedef struct lg_loadgen_latency {
    int64_t *us;     /* samples kept, in the order added until lg_loadgen_latency_sort */
    size_t n, cap;   /* samples kept and room for them */
    size_t max_kept; /* 0: keep all; else a uniform reservoir of this many */
    uint64_t n_seen; /* samples added, kept or not */
    int64_t max_us;  /* largest sample added (exact even past the reservoir) */
    uint64_t rng;    /* reservoir sampling state */
} lg_loadgen_latency_t;

/*
 * Makes l an empty recorder that keeps at most max_kept samples, chosen
 * uniformly (reservoir sampling, seeded with seed; 0 = the clock), so its
 * percentiles stay unbiased; the count and the max stay exact.
 */
void lg_loadgen_latency_init_reservoir(lg_loadgen_latency_t *l, size_t max_kept, uint64_t seed);

/* Adds one sample. */
void lg_loadgen_latency_add(lg_loadgen_latency_t *l, int64_t us);

/* Appends src's samples to dst, which keeps all (src is left as it is). */
void lg_loadgen_latency_merge(lg_loadgen_latency_t *dst, const lg_loadgen_latency_t *src);

/* Sorts the samples; the percentile and max functions need it. */
void lg_loadgen_latency_sort(lg_loadgen_latency_t *l);

/*
 * Returns the nearest-rank p-quantile (0 < p <= 1) of the sorted samples in
 * milliseconds, 0 when there are none.
 */
double lg_loadgen_latency_pct_ms(const lg_loadgen_latency_t *l, double p);

/* Returns the largest sample added in milliseconds, 0 when there are none. */
double lg_loadgen_latency_max_ms(const lg_loadgen_latency_t *l);

/* Frees the samples; l is empty again. */
void lg_loadgen_latency_cleanup(lg_loadgen_latency_t *l);

/* ------------------------------------------------------------ options -- */

/* Parses a whole string as a finite double. */
bool lg_loadgen_parse_double(const char *s, double *out);

/* Parses a whole string as a decimal int64. */
bool lg_loadgen_parse_i64(const char *s, int64_t *out);

/* Parses a 15-digit IMSI, with or without the "imsi-" prefix. */
bool lg_loadgen_parse_imsi(const char *s, uint64_t *out);

#endif
