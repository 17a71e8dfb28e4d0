/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scs-sink: a stand-in SCS/AS notification endpoint for the integration
 * tests, the demo and `make bench`. It serves HTTPS (evhttp over
 * bufferevent_openssl, the server certificate from tests/tools/mkcerts.sh),
 * verifies each request's Standard Webhooks signature (webhook-id,
 * webhook-timestamp, webhook-signature: "v1,<base64 HMAC-SHA256>" over
 * "{id}.{timestamp}.{body}", keyed by the base64 bytes after "whsec_" of one
 * of the --secret values; the timestamp must be within five minutes), and
 * appends one JSON line per request to --out:
 *
 *   {"receivedAt", "path", "webhookId", "webhookTimestamp",
 *    "signatureValid", "status", "body"}
 *
 * plus "contentType", "authorization" and "xCorrelator" when the request has
 * those headers.
 *
 * It answers 204, or what it is told to: 500 to the first N deliveries of
 * each webhook-id (--fail-first), always one code (--status, e.g. 410),
 * slowly (--delay-ms), with Retry-After on failures (--retry-after), with a
 * Location header on 3xx answers (--location, a redirect locguard must not
 * follow). A bad
 * signature is answered 401. With --latency it prints, at SIGTERM/SIGINT,
 * one RESULT line with the report-to-sink latency (receivedAt minus each
 * monitoringEventReports[].eventTime of the notifications it accepted).
 *
 * Memory is bounded: the per-webhook-id failure counts live in a fixed-size
 * table that forgets its oldest ids, and latency samples in a fixed-size
 * reservoir (percentiles stay unbiased past it; max and count are exact).
 */
#include "locguard/core/common.h"
#include "locguard/core/timefmt.h"
#include "locguard/north/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/loadgen.h"

#define MAX_SECRETS      4
#define MAX_BODY_BYTES   (1u << 20)
#define MAX_HEADER_BYTES (16u * 1024u)
#define MAX_ID_BYTES     255
#define TOLERANCE_S      300
#define FAIL_TABLE_SIZE  65536u /* ids remembered by --fail-first; a power of two */
#define RESERVOIR_SIZE   1000000u
#define CONN_TIMEOUT_S   30

/* How many times one webhook-id was answered with a failure; a chained, FIFO-evicted entry. */
struct fail_entry {
    char id[MAX_ID_BYTES + 1];
    int failures;
    bool is_used;
    struct fail_entry *next; /* next in the same hash bucket */
};

/* The bounded per-id failure table used by --fail-first. */
struct fail_table {
    struct fail_entry *entries;  /* FAIL_TABLE_SIZE slots, reused oldest first */
    struct fail_entry **buckets; /* FAIL_TABLE_SIZE chains */
    size_t next_slot;            /* the slot the next new id takes */
};

/* Latency samples: a reservoir of microseconds plus exact count and max. */
struct latency {
    lg_loadgen_latency_t samples; /* receivedAt - eventTime, RESERVOIR_SIZE kept at most */
    uint64_t notifications;       /* accepted notifications that carried at least one eventTime */
};

/* A reply held back by --delay-ms. */
struct delayed {
    struct sink *sink;
    struct evhttp_request *req;
    struct event *timer;
    int status;
    struct delayed *prev, *next;
};

/* Everything the command line says. */
struct sink_opts {
    const char *host;
    int port;
    const char *cert_file;
    const char *key_file;
    const char *out_file;   /* NULL: stdout */
    const char *ready_file; /* gets the bound port */
    int fail_first;
    int status; /* 0: 204 (or --fail-first) */
    int delay_ms;
    int retry_after_s;    /* 0: no Retry-After header */
    const char *location; /* Location of 3xx answers; NULL = none */
    bool wants_latency;
};

/* The running sink. */
struct sink {
    struct sink_opts opts;
    const char *secrets[MAX_SECRETS]; /* "whsec_..." as given (argv) */
    size_t n_secrets;
    struct event_base *base;
    struct evhttp *http;
    SSL_CTX *ssl_ctx;
    FILE *out;
    struct fail_table fails;
    struct latency latency;
    struct delayed *pending; /* replies waiting for their delay */
};

static void usage(FILE *f)
{
    fputs("usage: scs-sink --cert FILE --key FILE --secret whsec_... [options]\n"
          "\n"
          "An HTTPS endpoint that verifies Standard Webhooks signatures and records\n"
          "every request as one JSON line.\n"
          "\n"
          "  --host ADDR          address to listen on (default 127.0.0.1)\n"
          "  --port N             port (default 0: any free port)\n"
          "  --cert FILE          server certificate chain (PEM)\n"
          "  --key FILE           its private key (PEM)\n"
          "  --secret whsec_...   a signing secret; give it twice during a rotation\n"
          "  --out FILE           append the JSON lines here (default stdout)\n"
          "  --ready-file FILE    write the bound port here once listening\n"
          "  --fail-first N       answer 500 to the first N deliveries of each webhook-id\n"
          "  --status CODE        always answer CODE (e.g. 410) to validly signed requests\n"
          "  --delay-ms N         wait N ms before answering\n"
          "  --retry-after S      add Retry-After: S to failure answers\n"
          "  --location URL       add Location: URL to 3xx answers (with --status 30x)\n"
          "  --latency            print at SIGTERM/SIGINT:\n"
          "                       RESULT notifications=N p50_ms=X p99_ms=X max_ms=X\n"
          "  --help               this text\n"
          "\n"
          "Invalid or missing signatures, and timestamps more than 5 minutes away, are\n"
          "answered 401 and recorded with \"signatureValid\": false.\n",
          f);
}

/* Parses a decimal integer in [lo, hi]. */
static bool parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    if (s[0] == '\0')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

/*
 * Returns whether text is a usable signing secret: "whsec_" (required here,
 * though the library also takes bare base64) followed by base64 that
 * lg_webhook_sign accepts.
 */
static bool is_secret(const char *text)
{
    char sig[LG_WEBHOOK_SIGNATURE_MAX];
    bool is_ok = strncmp(text, "whsec_", 6) == 0 && text[6] != '\0' &&
                 lg_webhook_sign(text, NULL, "msg_check", "0", "", 0, sig, sizeof(sig)) == LG_OK;

    OPENSSL_cleanse(sig, sizeof(sig));
    return is_ok;
}

/*
 * Checks a request's Standard Webhooks headers: the id and timestamp are
 * well-formed, the timestamp is within 5 minutes of now_s, and one "v1,"
 * signature of the header matches one of the secrets (lg_webhook_verify,
 * constant-time). Returns NULL when valid, else a constant string saying why.
 */
static const char *verify_signature(const char *const *secrets, size_t n_secrets, const char *id,
                                    const char *timestamp, const char *signature, const char *body,
                                    size_t body_len, int64_t now_s)
{
    bool is_valid = false;
    int64_t ts;
    char *end;

    if (id == NULL || timestamp == NULL || signature == NULL)
        return "missing webhook-id, webhook-timestamp or webhook-signature";
    if (id[0] == '\0' || strlen(id) > MAX_ID_BYTES)
        return "bad webhook-id";
    errno = 0;
    ts = strtoll(timestamp, &end, 10);
    if (timestamp[0] < '0' || timestamp[0] > '9' || *end != '\0' || errno != 0)
        return "bad webhook-timestamp";
    if (ts < now_s - TOLERANCE_S || ts > now_s + TOLERANCE_S)
        return "webhook-timestamp outside the 5 minute tolerance";
    for (size_t i = 0; i < n_secrets; i++)
        if (lg_webhook_verify(secrets[i], id, timestamp, body, body_len, signature))
            is_valid = true;
    return is_valid ? NULL : "no v1 signature matches";
}

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

/* Unlinks e from its bucket chain. */
static void fail_unlink(struct fail_table *t, struct fail_entry *e)
{
    struct fail_entry **pp = &t->buckets[hash_id(e->id) & (FAIL_TABLE_SIZE - 1)];

    while (*pp != NULL && *pp != e)
        pp = &(*pp)->next;
    if (*pp == e)
        *pp = e->next;
    e->next = NULL;
    e->is_used = false;
}

/* Returns the entry for id, creating it (evicting the oldest when full). */
static struct fail_entry *fail_lookup(struct fail_table *t, const char *id)
{
    uint32_t b = hash_id(id) & (FAIL_TABLE_SIZE - 1);
    struct fail_entry *e;

    for (e = t->buckets[b]; e != NULL; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    e = &t->entries[t->next_slot];
    t->next_slot = (t->next_slot + 1) & (FAIL_TABLE_SIZE - 1);
    if (e->is_used)
        fail_unlink(t, e);
    lg_strlcpy(e->id, id, sizeof(e->id));
    e->failures = 0;
    e->is_used = true;
    e->next = t->buckets[b];
    t->buckets[b] = e;
    return e;
}

/* Records receivedAt − eventTime of each report in an accepted notification. */
static void latency_record(struct sink *s, const json_t *body, int64_t received_us)
{
    json_t *reports = json_object_get(body, "monitoringEventReports"), *r;
    bool has_any = false;
    size_t i;

    json_array_foreach(reports, i, r)
    {
        const char *t = json_string_value(json_object_get(r, "eventTime"));
        int64_t event_us;

        if (t == NULL || lg_time_parse(t, strlen(t), &event_us) != LG_OK)
            continue;
        lg_loadgen_latency_add(&s->latency.samples, received_us - event_us);
        has_any = true;
    }
    if (has_any)
        s->latency.notifications++;
}

static void print_latency(struct sink *s)
{
    struct latency *l = &s->latency;

    lg_loadgen_latency_sort(&l->samples);
    printf("RESULT notifications=%" PRIu64 " p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           l->notifications, lg_loadgen_latency_pct_ms(&l->samples, 0.50),
           lg_loadgen_latency_pct_ms(&l->samples, 0.99), lg_loadgen_latency_max_ms(&l->samples));
    fflush(stdout);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return status < 300 ? "OK" : "Error";
}

/* Sends the answer; failures other than a bad signature may carry Retry-After. */
static void send_answer(struct sink *s, struct evhttp_request *req, int status)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    char value[16];

    if (status >= 400 && status != 401 && s->opts.retry_after_s > 0) {
        snprintf(value, sizeof(value), "%d", s->opts.retry_after_s);
        evhttp_add_header(headers, "Retry-After", value);
    }
    if (status >= 300 && status < 400 && s->opts.location != NULL)
        evhttp_add_header(headers, "Location", s->opts.location);
    if (status == 204 || status == 304 || status < 200) {
        evhttp_send_reply(req, status, reason_of(status), NULL);
        return;
    }
    evhttp_add_header(headers, "Content-Type", "text/plain");
    {
        struct evbuffer *b = evbuffer_new();

        if (b == NULL)
            abort();
        evbuffer_add_printf(b, "%d %s\n", status, reason_of(status));
        evhttp_send_reply(req, status, reason_of(status), b);
        evbuffer_free(b);
    }
}

static void delayed_unlink(struct delayed *d)
{
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        d->sink->pending = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
}

static void on_delay_done(evutil_socket_t fd, short what, void *arg)
{
    struct delayed *d = arg;

    (void)fd;
    (void)what;
    delayed_unlink(d);
    send_answer(d->sink, d->req, d->status);
    event_free(d->timer);
    free(d);
}

/* Appends the request's JSON line to --out and flushes it. */
static void record(struct sink *s, struct evhttp_request *req, int64_t received_us, const char *id,
                   const char *timestamp, const char *why_invalid, int status, json_t *body)
{
    char at[40];
    const char *uri = evhttp_request_get_uri(req);
    const struct evhttp_uri *parsed = evhttp_request_get_evhttp_uri(req);
    const char *path = parsed != NULL ? evhttp_uri_get_path(parsed) : NULL;
    json_t *line;
    char *text;

    line = json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:i, s:O?}", "receivedAt",
                     lg_time_format(received_us, at, sizeof(at)), "path", path != NULL ? path : uri,
                     "webhookId", id, "webhookTimestamp", timestamp, "signatureValid",
                     why_invalid == NULL, "status", status, "body", body);
    if (line == NULL) {
        /* A header that is not UTF-8: record the request without it. */
        line = json_pack("{s:s, s:n, s:n, s:n, s:b, s:i, s:O?}", "receivedAt", at, "path",
                         "webhookId", "webhookTimestamp", "signatureValid", why_invalid == NULL,
                         "status", status, "body", body);
    }
    if (line == NULL)
        abort();
    if (why_invalid != NULL)
        json_object_set_new(line, "error", json_string(why_invalid));
    {
        /* What the tests of the asynchronous counts check: the media type and the credential. */
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        const char *content_type = evhttp_find_header(in, "Content-Type");
        const char *authorization = evhttp_find_header(in, "Authorization");
        const char *correlator = evhttp_find_header(in, "x-correlator");

        if (content_type != NULL)
            json_object_set_new(line, "contentType", json_string(content_type));
        if (authorization != NULL)
            json_object_set_new(line, "authorization", json_string(authorization));
        if (correlator != NULL)
            json_object_set_new(line, "xCorrelator", json_string(correlator));
    }
    text = json_dumps(line, JSON_COMPACT);
    if (text == NULL)
        abort();
    fputs(text, s->out);
    fputc('\n', s->out);
    if (fflush(s->out) != 0)
        fprintf(stderr, "scs-sink: cannot write the record: %s\n", strerror(errno));
    free(text);
    json_decref(line);
}

/* Decides the answer to one request: 401 for a bad signature, else what the mode says. */
static int decide_status(struct sink *s, const char *id, const char *why_invalid)
{
    if (why_invalid != NULL)
        return 401;
    if (s->opts.status != 0)
        return s->opts.status;
    if (s->opts.fail_first > 0) {
        struct fail_entry *e = fail_lookup(&s->fails, id);

        if (e->failures < s->opts.fail_first) {
            e->failures++;
            return 500;
        }
    }
    return 204;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sink *s = arg;
    int64_t received_us = lg_now_us();
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *input = evhttp_request_get_input_buffer(req);
    const char *id = evhttp_find_header(in, "webhook-id");
    const char *timestamp = evhttp_find_header(in, "webhook-timestamp");
    const char *signature = evhttp_find_header(in, "webhook-signature");
    size_t len = evbuffer_get_length(input);
    const char *body = (const char *)evbuffer_pullup(input, -1);
    const char *why_invalid;
    json_t *doc;
    int status;

    if (body == NULL)
        body = "";
    why_invalid = verify_signature(s->secrets, s->n_secrets, id, timestamp, signature, body, len,
                                   received_us / 1000000);
    doc = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    status = decide_status(s, id, why_invalid);
    record(s, req, received_us, id, timestamp, why_invalid, status, doc);
    if (s->opts.wants_latency && why_invalid == NULL && status >= 200 && status <= 299)
        latency_record(s, doc, received_us);
    json_decref(doc);
    if (s->opts.delay_ms > 0) {
        struct delayed *d = lg_xcalloc(1, sizeof(*d));
        struct timeval tv = {s->opts.delay_ms / 1000, (s->opts.delay_ms % 1000) * 1000};

        d->sink = s;
        d->req = req;
        d->status = status;
        d->timer = evtimer_new(s->base, on_delay_done, d);
        if (d->timer == NULL)
            abort();
        d->next = s->pending;
        if (s->pending != NULL)
            s->pending->prev = d;
        s->pending = d;
        evtimer_add(d->timer, &tv);
        return;
    }
    send_answer(s, req, status);
}

/* Wraps each accepted socket in a server-side TLS bufferevent. */
static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
    struct sink *s = arg;
    SSL *ssl = SSL_new(s->ssl_ctx);
    struct bufferevent *bev;

    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev != NULL)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct sink *s = arg;

    (void)sig;
    (void)what;
    event_base_loopexit(s->base, NULL);
}

static SSL_CTX *make_ssl_ctx(const struct sink_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e;
        char buf[256];

        while ((e = ERR_get_error()) != 0) {
            ERR_error_string_n(e, buf, sizeof(buf));
            fprintf(stderr, "scs-sink: %s\n", buf);
        }
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Writes the port to path atomically (temporary file + rename). */
LG_MUST_CHECK
static int write_ready_file(const char *path, int port)
{
    size_t n = strlen(path) + 8;
    char *tmp = lg_xmalloc(n);
    FILE *f;
    int rc = LG_ERR;

    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL)
        goto failed;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        goto failed;
    rc = LG_OK;
failed:
    if (rc != LG_OK)
        fprintf(stderr, "scs-sink: cannot write %s: %s\n", path, strerror(errno));
    free(tmp);
    return rc;
}

/* Returns the local port of a bound listener, or -1. */
static int bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Sets up everything, runs until a signal, tears down; returns the exit status. */
static int run(struct sink *s)
{
    struct evhttp_bound_socket *bound;
    struct event *sigterm = NULL, *sigint = NULL;
    int status = 1, port;

    s->ssl_ctx = make_ssl_ctx(&s->opts);
    if (s->ssl_ctx == NULL) {
        fprintf(stderr, "scs-sink: cannot load --cert/--key\n");
        return 1;
    }
    s->out = stdout;
    if (s->opts.out_file != NULL) {
        s->out = fopen(s->opts.out_file, "a");
        if (s->out == NULL) {
            fprintf(stderr, "scs-sink: cannot open %s: %s\n", s->opts.out_file, strerror(errno));
            goto failed;
        }
    }
    s->fails.entries = lg_xcalloc(FAIL_TABLE_SIZE, sizeof(*s->fails.entries));
    s->fails.buckets = lg_xcalloc(FAIL_TABLE_SIZE, sizeof(*s->fails.buckets));
    lg_loadgen_latency_init_reservoir(&s->latency.samples, RESERVOIR_SIZE, 0);
    s->base = event_base_new();
    s->http = s->base != NULL ? evhttp_new(s->base) : NULL;
    if (s->http == NULL) {
        fprintf(stderr, "scs-sink: cannot create the event loop\n");
        goto failed;
    }
    evhttp_set_bevcb(s->http, on_new_bev, s);
    evhttp_set_gencb(s->http, on_request, s);
    evhttp_set_max_body_size(s->http, MAX_BODY_BYTES);
    evhttp_set_max_headers_size(s->http, MAX_HEADER_BYTES);
    evhttp_set_timeout(s->http, CONN_TIMEOUT_S);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_GET |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
    bound = evhttp_bind_socket_with_handle(s->http, s->opts.host, (ev_uint16_t)s->opts.port);
    if (bound == NULL) {
        fprintf(stderr, "scs-sink: cannot listen on %s:%d\n", s->opts.host, s->opts.port);
        goto failed;
    }
    port = bound_port(bound);
    sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0)
        goto failed;
    if (s->opts.ready_file != NULL && write_ready_file(s->opts.ready_file, port) != LG_OK)
        goto failed;
    fprintf(stderr, "scs-sink: listening on https://%s:%d\n", s->opts.host, port);
    event_base_dispatch(s->base);
    if (s->opts.wants_latency)
        print_latency(s);
    status = 0;
failed:
    /* Answer what is still delayed, so no request outlives the server. */
    while (s->pending != NULL) {
        struct delayed *d = s->pending;

        delayed_unlink(d);
        send_answer(s, d->req, d->status);
        event_free(d->timer);
        free(d);
    }
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (s->http != NULL)
        evhttp_free(s->http);
    if (s->base != NULL)
        event_base_free(s->base);
    if (s->out != NULL && s->out != stdout)
        fclose(s->out);
    free(s->fails.entries);
    free(s->fails.buckets);
    lg_loadgen_latency_cleanup(&s->latency.samples);
    SSL_CTX_free(s->ssl_ctx);
    return status;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CERT,
    OPT_KEY,
    OPT_SECRET,
    OPT_OUT,
    OPT_READY_FILE,
    OPT_FAIL_FIRST,
    OPT_STATUS,
    OPT_DELAY_MS,
    OPT_RETRY_AFTER,
    OPT_LOCATION,
    OPT_LATENCY,
    OPT_HELP,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"out", required_argument, NULL, OPT_OUT},
        {"ready-file", required_argument, NULL, OPT_READY_FILE},
        {"fail-first", required_argument, NULL, OPT_FAIL_FIRST},
        {"status", required_argument, NULL, OPT_STATUS},
        {"delay-ms", required_argument, NULL, OPT_DELAY_MS},
        {"retry-after", required_argument, NULL, OPT_RETRY_AFTER},
        {"location", required_argument, NULL, OPT_LOCATION},
        {"latency", no_argument, NULL, OPT_LATENCY},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    static struct sink s; /* large; zeroed */
    int opt;

    signal(SIGPIPE, SIG_IGN);
    s.opts.host = "127.0.0.1";
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            s.opts.host = optarg;
            break;
        case OPT_PORT:
            if (!parse_int(optarg, 0, 65535, &s.opts.port))
                goto bad;
            break;
        case OPT_CERT:
            s.opts.cert_file = optarg;
            break;
        case OPT_KEY:
            s.opts.key_file = optarg;
            break;
        case OPT_SECRET:
            if (s.n_secrets == MAX_SECRETS) {
                fprintf(stderr, "scs-sink: at most %d --secret\n", MAX_SECRETS);
                return 2;
            }
            if (!is_secret(optarg)) {
                /* Never echo a secret, not even a malformed one. */
                fprintf(stderr, "scs-sink: --secret must be whsec_ followed by base64\n");
                return 2;
            }
            s.secrets[s.n_secrets++] = optarg;
            break;
        case OPT_OUT:
            s.opts.out_file = optarg;
            break;
        case OPT_READY_FILE:
            s.opts.ready_file = optarg;
            break;
        case OPT_FAIL_FIRST:
            if (!parse_int(optarg, 0, 1000000, &s.opts.fail_first))
                goto bad;
            break;
        case OPT_STATUS:
            if (!parse_int(optarg, 200, 599, &s.opts.status))
                goto bad;
            break;
        case OPT_DELAY_MS:
            if (!parse_int(optarg, 0, 3600000, &s.opts.delay_ms))
                goto bad;
            break;
        case OPT_RETRY_AFTER:
            if (!parse_int(optarg, 0, 86400, &s.opts.retry_after_s))
                goto bad;
            break;
        case OPT_LOCATION:
            s.opts.location = optarg;
            break;
        case OPT_LATENCY:
            s.opts.wants_latency = true;
            break;
        case OPT_HELP:
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "scs-sink: bad value for --%s: %s\n", longopts[opt - OPT_HOST].name,
                optarg);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "scs-sink: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (s.opts.cert_file == NULL || s.opts.key_file == NULL || s.n_secrets == 0) {
        fprintf(stderr, "scs-sink: --cert, --key and at least one --secret are required\n");
        usage(stderr);
        return 2;
    }
    return run(&s);
}
