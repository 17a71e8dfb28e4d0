/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count-load: the load generator of `make bench` for the exposure zone
 * (CAMARA Region Device Count). It is a real client of the interface:
 * OpenSSL directly on blocking sockets (as mme-sim), server certificate
 * verified against --ca, HTTP/1.1 keep-alive.
 *
 *   1. POST /oauth2/token (HTTP Basic client authentication, grant_type
 *      client_credentials, RFC 6749 §4.4) on the exposure zone's own token
 *      endpoint: one ES256 access token for the audience locguard-exposure;
 *   2. K connections (one pthread each) send POST /regionDeviceCount/vwip/count
 *      with that bearer token and a CIRCLE area of --radius-m metres, one
 *      request at a time per connection, until N requests are answered (or
 *      --duration seconds have passed), after --warmup unrecorded requests
 *      per connection (TLS handshake, the database session's first plans);
 *   3. prints one machine-readable line
 *        RESULT requests=N seconds=S requests_per_s=X p50_ms=.. p99_ms=..
 *               max_ms=.. errors=E status=STATUS count=C
 *      latency = per request, from the first byte written to the last byte
 *      of the answer read; errors = transport failures and non-200 answers;
 *      status / count = the CAMARA answer of the last request (for the eye).
 *
 * Each request's centre is the --lat/--lon centre moved by up to --spread-m
 * metres north-south and east-west (uniform, seeded), so the requests do not
 * all touch the same cells. The token is fetched again when it is about to
 * expire.
 */
#include "locguard/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define PATH_TOKEN "/oauth2/token"
#define PATH_COUNT "/regionDeviceCount/vwip/count"
#define MAX_RESPONSE_BODY (1 << 20)
#define IO_TIMEOUT_S 300 /* a 300 km count may take tens of seconds */
#define MAX_CONNECTIONS 64
#define METRES_PER_DEG_LAT 111320.0

typedef struct opts {
    const char *host;
    int port;
    const char *ca_file;
    const char *client_id;
    const char *secret_file;
    double lat, lon, radius_m, spread_m;
    long requests;
    int connections;
    int warmup;
    double duration_s;
    uint64_t seed;
} opts_t;

typedef struct conn {
    int fd;
    SSL *ssl;
    char rbuf[16384];
    size_t rpos, rlen;
} conn_t;

typedef struct response {
    int status;
    char *body; /* malloc'd, NUL-terminated, or NULL */
    size_t body_len;
    bool must_close;
} response_t;

/* The token, shared by the threads, renewed under the lock. */
typedef struct token {
    pthread_mutex_t lock;
    char value[2048];
    int64_t renew_at_us; /* monotonic */
} token_t;

typedef struct shared {
    const opts_t *o;
    SSL_CTX *ctx;
    char *basic;                /* base64(client_id:secret) */
    token_t tok;
    int64_t deadline_us;
    atomic_long next_request;   /* recorded requests handed out */
    atomic_long done;           /* recorded requests answered 200 */
    atomic_long errors;
    atomic_int first_error_status;
    pthread_mutex_t last_lock;
    char last_status[64];
    long long last_count;
} shared_t;

typedef struct worker {
    shared_t *sh;
    pthread_t thread;
    uint64_t rng;
    int64_t *lat_us;
    size_t n_lat, cap_lat;
} worker_t;

static void usage(FILE *out)
{
    fprintf(out,
"usage: count-load --port N --ca FILE --client-id ID --secret-file FILE\n"
"                  --radius-m M [--lat 47 --lon 5] [--spread-m 0]\n"
"                  [--requests 1000] [--connections 1] [--warmup 10]\n"
"                  [--duration 60] [--host 127.0.0.1] [--seed N]\n"
"\n"
"Gets an access token from the exposure zone's " PATH_TOKEN " (client\n"
"credentials), then sends --requests POST " PATH_COUNT " requests with a\n"
"CIRCLE of --radius-m metres over --connections keep-alive TLS connections\n"
"(each --warmup requests first, not recorded), stopping early after\n"
"--duration seconds. Prints\n"
"  RESULT requests=N seconds=S requests_per_s=X p50_ms=.. p99_ms=.. max_ms=..\n"
"         errors=E status=STATUS count=C\n"
"(latency per request; status and count: the last answer). Exit status 0\n"
"when every recorded request was answered 200.\n");
}

/* ---------------------------------------------------------------- TLS -- */

static void print_ssl_errors(const char *what)
{
    unsigned long e;
    char buf[256];

    fprintf(stderr, "count-load: %s", what);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, ": %s", buf);
    }
    fputc('\n', stderr);
}

static SSL_CTX *make_ssl_ctx(const opts_t *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL) {
        print_ssl_errors("SSL_CTX_new");
        return NULL;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
        print_ssl_errors(o->ca_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

static void conn_close(conn_t *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rpos = c->rlen = 0;
}

static int conn_open(conn_t *c, SSL_CTX *ctx, const opts_t *o)
{
    struct addrinfo hints, *res = NULL;
    char port[16];
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int one = 1, rc;
    unsigned char ipbuf[16];

    c->fd = -1;
    c->ssl = NULL;
    c->rpos = c->rlen = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", o->port);
    rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "count-load: %s: %s\n", o->host, gai_strerror(rc));
        return LG_ERR;
    }
    c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) != 0) {
        fprintf(stderr, "count-load: connect %s:%d: %s\n", o->host, o->port, strerror(errno));
        goto failed;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        goto ssl_failed;
    if (inet_pton(AF_INET, o->host, ipbuf) == 1 || inet_pton(AF_INET6, o->host, ipbuf) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o->host) != 1)
            goto ssl_failed;
    } else {
        SSL_set_tlsext_host_name(c->ssl, o->host);
        if (SSL_set1_host(c->ssl, o->host) != 1)
            goto ssl_failed;
    }
    if (SSL_connect(c->ssl) != 1)
        goto ssl_failed;
    freeaddrinfo(res);
    return LG_OK;
ssl_failed:
    print_ssl_errors("TLS handshake");
failed:
    freeaddrinfo(res);
    conn_close(c);
    return LG_ERR;
}

static int conn_write_all(conn_t *c, const char *buf, size_t len)
{
    while (len > 0) {
        int n = SSL_write(c->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len);

        if (n <= 0)
            return LG_ERR;
        buf += n;
        len -= (size_t)n;
    }
    return LG_OK;
}

static int conn_fill(conn_t *c)
{
    int n;

    if (c->rpos > 0 && c->rpos < c->rlen)
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->rpos = 0;
    if (c->rlen == sizeof(c->rbuf))
        return LG_ERR;
    n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
    if (n <= 0)
        return LG_ERR;
    c->rlen += (size_t)n;
    return LG_OK;
}

static int conn_read_line(conn_t *c, char *line, size_t line_size)
{
    for (;;) {
        char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);

        if (nl) {
            size_t len = (size_t)(nl - (c->rbuf + c->rpos));

            if (len > 0 && c->rbuf[c->rpos + len - 1] == '\r')
                len--;
            if (len >= line_size)
                return LG_ERR;
            memcpy(line, c->rbuf + c->rpos, len);
            line[len] = '\0';
            c->rpos = (size_t)(nl - c->rbuf) + 1;
            return LG_OK;
        }
        if (conn_fill(c) != LG_OK)
            return LG_ERR;
    }
}

static int conn_read_n(conn_t *c, char *out, size_t len)
{
    while (len > 0) {
        size_t avail = c->rlen - c->rpos;

        if (avail == 0) {
            if (conn_fill(c) != LG_OK)
                return LG_ERR;
            continue;
        }
        if (avail > len)
            avail = len;
        memcpy(out, c->rbuf + c->rpos, avail);
        c->rpos += avail;
        out += avail;
        len -= avail;
    }
    return LG_OK;
}

static bool header_is(const char *line, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    *value = line;
    return true;
}

static bool contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);

    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

static void response_reset(response_t *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* Appends n bytes read from c to r->body. */
static int read_body_part(conn_t *c, response_t *r, size_t n)
{
    if (r->body_len + n > MAX_RESPONSE_BODY)
        return LG_ERR;
    r->body = lg_xrealloc(r->body, r->body_len + n + 1);
    if (conn_read_n(c, r->body + r->body_len, n) != LG_OK)
        return LG_ERR;
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return LG_OK;
}

/* One request and its response (Content-Length or chunked body). */
static int http_roundtrip(conn_t *c, const char *req, size_t req_len, response_t *r)
{
    char line[4096];
    long long content_length = -1;
    bool chunked = false;
    int minor = 1;
    const char *v;

    response_reset(r);
    if (conn_write_all(c, req, req_len) != LG_OK || conn_read_line(c, line, sizeof(line)) != LG_OK)
        return LG_ERR;
    if (sscanf(line, "HTTP/1.%d %d", &minor, &r->status) != 2)
        return LG_ERR;
    r->must_close = minor == 0;
    for (;;) {
        if (conn_read_line(c, line, sizeof(line)) != LG_OK)
            return LG_ERR;
        if (line[0] == '\0')
            break;
        if (header_is(line, "Content-Length", &v))
            content_length = strtoll(v, NULL, 10);
        else if (header_is(line, "Transfer-Encoding", &v))
            chunked = contains_ci(v, "chunked");
        else if (header_is(line, "Connection", &v))
            r->must_close = r->must_close || contains_ci(v, "close");
    }
    if (r->status == 204 || r->status == 304)
        content_length = 0;
    if (chunked) {
        for (;;) {
            unsigned long sz;

            if (conn_read_line(c, line, sizeof(line)) != LG_OK)
                return LG_ERR;
            sz = strtoul(line, NULL, 16);
            if (sz == 0)
                break;
            if (read_body_part(c, r, sz) != LG_OK || conn_read_line(c, line, sizeof(line)) != LG_OK)
                return LG_ERR;
        }
        do {
            if (conn_read_line(c, line, sizeof(line)) != LG_OK)
                return LG_ERR;
        } while (line[0] != '\0');
    } else if (content_length > 0) {
        if (read_body_part(c, r, (size_t)content_length) != LG_OK)
            return LG_ERR;
    } else if (content_length < 0) {
        return LG_ERR; /* the daemon always frames its answers */
    }
    return LG_OK;
}

/* -------------------------------------------------------------- token -- */

static char *base64(const char *s)
{
    size_t n = strlen(s);
    char *out = lg_xmalloc(4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* Fetches a token on a fresh connection into sh->tok (caller holds the lock). */
static int fetch_token(shared_t *sh)
{
    const opts_t *o = sh->o;
    static const char form[] = "grant_type=client_credentials";
    conn_t c = {.fd = -1};
    response_t r = {0};
    char req[1024];
    json_t *doc = NULL;
    const char *tok;
    json_int_t expires_in;
    int n, rc = LG_ERR;

    n = snprintf(req, sizeof(req),
                 "POST " PATH_TOKEN " HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Authorization: Basic %s\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 o->host, o->port, sh->basic, strlen(form), form);
    if (n < 0 || n >= (int)sizeof(req))
        return LG_ERR;
    if (conn_open(&c, sh->ctx, o) != LG_OK)
        return LG_ERR;
    if (http_roundtrip(&c, req, (size_t)n, &r) != LG_OK) {
        fprintf(stderr, "count-load: no answer from " PATH_TOKEN "\n");
        goto done;
    }
    if (r.status != 200 || r.body == NULL) {
        fprintf(stderr, "count-load: " PATH_TOKEN " answered %d: %s\n", r.status,
                r.body ? r.body : "");
        goto done;
    }
    doc = json_loadb(r.body, r.body_len, 0, NULL);
    tok = json_string_value(json_object_get(doc, "access_token"));
    expires_in = json_integer_value(json_object_get(doc, "expires_in"));
    if (tok == NULL || strlen(tok) >= sizeof(sh->tok.value)) {
        fprintf(stderr, "count-load: no usable access_token in the token answer\n");
        goto done;
    }
    lg_strlcpy(sh->tok.value, tok, sizeof(sh->tok.value));
    if (expires_in <= 0)
        expires_in = 60;
    /* Renewed at half its lifetime: no request ever carries an expired token. */
    sh->tok.renew_at_us = lg_mono_us() + (int64_t)expires_in * 500000;
    rc = LG_OK;
done:
    json_decref(doc);
    response_reset(&r);
    conn_close(&c);
    return rc;
}

/* Copies the current token into out, renewing it first when due. */
static int current_token(shared_t *sh, char *out, size_t out_size)
{
    int rc = LG_OK;

    pthread_mutex_lock(&sh->tok.lock);
    if (lg_mono_us() >= sh->tok.renew_at_us)
        rc = fetch_token(sh);
    lg_strlcpy(out, sh->tok.value, out_size);
    pthread_mutex_unlock(&sh->tok.lock);
    return rc;
}

/* --------------------------------------------------------------- load -- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [-1, 1]. */
static double rng_signed_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static void record_latency(worker_t *w, int64_t us)
{
    if (w->n_lat == w->cap_lat) {
        w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
        w->lat_us = lg_xrealloc(w->lat_us, w->cap_lat * sizeof(int64_t));
    }
    w->lat_us[w->n_lat++] = us;
}

/* Renders one count request into buf; returns its length or -1. */
static int render_request(worker_t *w, const char *token, long n, char *buf, size_t size)
{
    const opts_t *o = w->sh->o;
    double dlat = o->spread_m * rng_signed_unit(&w->rng) / METRES_PER_DEG_LAT;
    double dlon = o->spread_m * rng_signed_unit(&w->rng) /
                  (METRES_PER_DEG_LAT * cos(o->lat * M_PI / 180.0));
    char body[256];
    int bn, n_all;

    bn = snprintf(body, sizeof(body),
                  "{\"area\":{\"areaType\":\"CIRCLE\",\"center\":{\"latitude\":%.6f,"
                  "\"longitude\":%.6f},\"radius\":%.0f}}",
                  o->lat + dlat, o->lon + dlon, o->radius_m);
    if (bn < 0 || bn >= (int)sizeof(body))
        return -1;
    n_all = snprintf(buf, size,
                     "POST " PATH_COUNT " HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Authorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\n"
                     "x-correlator: count-load-%ld\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     o->host, o->port, token, n, bn, body);
    return n_all < 0 || n_all >= (int)size ? -1 : n_all;
}

/* Remembers the answer's status and count (the last one wins). */
static void note_answer(shared_t *sh, const response_t *r)
{
    json_t *doc = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    const char *status = json_string_value(json_object_get(doc, "status"));
    json_t *count = json_object_get(doc, "count");

    pthread_mutex_lock(&sh->last_lock);
    lg_strlcpy(sh->last_status, status ? status : "?", sizeof(sh->last_status));
    sh->last_count = json_is_integer(count) ? (long long)json_integer_value(count) : -1;
    pthread_mutex_unlock(&sh->last_lock);
    json_decref(doc);
}

static void *load_thread(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    const opts_t *o = sh->o;
    conn_t c = {.fd = -1};
    response_t r = {0};
    char token[2048], req[4096];
    int warm = o->warmup;

    for (;;) {
        long n;
        int len;
        int64_t t0, t1;
        bool is_warmup = warm > 0;

        if (lg_mono_us() >= sh->deadline_us)
            break;
        if (is_warmup) {
            warm--;
            n = -1;
        } else {
            n = atomic_fetch_add(&sh->next_request, 1);
            if (n >= o->requests)
                break;
        }
        if (current_token(sh, token, sizeof(token)) != LG_OK) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        len = render_request(w, token, n, req, sizeof(req));
        if (len < 0) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        if (c.ssl == NULL && conn_open(&c, sh->ctx, o) != LG_OK) {
            if (!is_warmup)
                atomic_fetch_add(&sh->errors, 1);
            usleep(100000);
            continue;
        }
        t0 = lg_mono_us();
        if (http_roundtrip(&c, req, (size_t)len, &r) != LG_OK) {
            if (!is_warmup)
                atomic_fetch_add(&sh->errors, 1);
            conn_close(&c);
            continue;
        }
        t1 = lg_mono_us();
        if (r.must_close)
            conn_close(&c);
        if (r.status != 200) {
            int expected = 0;

            atomic_compare_exchange_strong(&sh->first_error_status, &expected, r.status);
            if (!is_warmup)
                atomic_fetch_add(&sh->errors, 1);
            if (expected == 0)
                fprintf(stderr, "count-load: first refused request got HTTP %d: %s\n",
                        r.status, r.body ? r.body : "");
            continue;
        }
        if (is_warmup)
            continue;
        record_latency(w, t1 - t0);
        atomic_fetch_add(&sh->done, 1);
        note_answer(sh, &r);
    }
    response_reset(&r);
    conn_close(&c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)ceil(p * (double)n);
    i = i == 0 ? 0 : i - 1;
    if (i >= n)
        i = n - 1;
    return (double)v[i] / 1000.0;
}

/* The client secret: the first line of the file. */
static char *read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];

    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        fprintf(stderr, "count-load: cannot read %s\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return lg_xstrdup(line);
}

static int run(const opts_t *o)
{
    shared_t sh;
    worker_t *w;
    char *secret, *pair;
    int64_t start_us, end_us, *all;
    size_t n_all = 0;
    double secs;
    int i, rc;

    memset(&sh, 0, sizeof(sh));
    sh.o = o;
    pthread_mutex_init(&sh.tok.lock, NULL);
    pthread_mutex_init(&sh.last_lock, NULL);
    lg_strlcpy(sh.last_status, "-", sizeof(sh.last_status));
    sh.last_count = -1;
    secret = read_secret(o->secret_file);
    if (secret == NULL)
        return 1;
    pair = lg_xmalloc(strlen(o->client_id) + strlen(secret) + 2);
    sprintf(pair, "%s:%s", o->client_id, secret);
    sh.basic = base64(pair);
    free(pair);
    free(secret);
    sh.ctx = make_ssl_ctx(o);
    if (sh.ctx == NULL)
        return 1;
    if (fetch_token(&sh) != LG_OK)
        return 1;

    start_us = lg_mono_us();
    sh.deadline_us = start_us + (int64_t)(o->duration_s * 1e6);
    w = lg_xcalloc((size_t)o->connections, sizeof(*w));
    for (i = 0; i < o->connections; i++) {
        w[i].sh = &sh;
        w[i].rng = (o->seed ? o->seed : (uint64_t)lg_now_us()) ^
                   (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1));
        if (w[i].rng == 0)
            w[i].rng = 1;
        if (pthread_create(&w[i].thread, NULL, load_thread, &w[i]) != 0) {
            fprintf(stderr, "count-load: pthread_create failed\n");
            abort();
        }
    }
    for (i = 0; i < o->connections; i++) {
        pthread_join(w[i].thread, NULL);
        n_all += w[i].n_lat;
    }
    end_us = lg_mono_us();
    all = lg_xcalloc(n_all ? n_all : 1, sizeof(int64_t));
    n_all = 0;
    for (i = 0; i < o->connections; i++) {
        if (w[i].n_lat)
            memcpy(all + n_all, w[i].lat_us, w[i].n_lat * sizeof(int64_t));
        n_all += w[i].n_lat;
        free(w[i].lat_us);
    }
    qsort(all, n_all, sizeof(int64_t), cmp_i64);
    secs = (double)(end_us - start_us) / 1e6;
    printf("RESULT requests=%zu seconds=%.2f requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f errors=%ld status=%s count=%lld\n",
           n_all, secs, secs > 0 ? (double)n_all / secs : 0.0, pct_ms(all, n_all, 0.50),
           pct_ms(all, n_all, 0.99), n_all ? (double)all[n_all - 1] / 1000.0 : 0.0,
           (long)atomic_load(&sh.errors), sh.last_status, sh.last_count);
    fflush(stdout);
    rc = n_all > 0 && atomic_load(&sh.errors) == 0 ? 0 : 1;
    free(all);
    free(w);
    free(sh.basic);
    SSL_CTX_free(sh.ctx);
    return rc;
}

/* ---------------------------------------------------------------- main -- */

static bool parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    enum {
        OPT_HOST = 256, OPT_PORT, OPT_CA, OPT_CLIENT_ID, OPT_SECRET_FILE, OPT_LAT, OPT_LON,
        OPT_RADIUS, OPT_SPREAD, OPT_REQUESTS, OPT_CONNECTIONS, OPT_WARMUP, OPT_DURATION,
        OPT_SEED, OPT_HELP
    };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"ca", required_argument, NULL, OPT_CA},
        {"client-id", required_argument, NULL, OPT_CLIENT_ID},
        {"secret-file", required_argument, NULL, OPT_SECRET_FILE},
        {"lat", required_argument, NULL, OPT_LAT},
        {"lon", required_argument, NULL, OPT_LON},
        {"radius-m", required_argument, NULL, OPT_RADIUS},
        {"spread-m", required_argument, NULL, OPT_SPREAD},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    opts_t o = {
        .host = "127.0.0.1",
        .lat = 47.0,
        .lon = 5.0,
        .requests = 1000,
        .connections = 1,
        .warmup = 10,
        .duration_s = 60,
    };
    int opt;
    long v;
    double d;

    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            if (strlen(optarg) > 253)
                goto bad;
            o.host = optarg;
            break;
        case OPT_PORT:
            if (!parse_long(optarg, 1, 65535, &v))
                goto bad;
            o.port = (int)v;
            break;
        case OPT_CA: o.ca_file = optarg; break;
        case OPT_CLIENT_ID:
            if (strlen(optarg) > 64)
                goto bad;
            o.client_id = optarg;
            break;
        case OPT_SECRET_FILE: o.secret_file = optarg; break;
        case OPT_LAT:
            if (!parse_double(optarg, &d) || d < -90 || d > 90)
                goto bad;
            o.lat = d;
            break;
        case OPT_LON:
            if (!parse_double(optarg, &d) || d < -180 || d > 180)
                goto bad;
            o.lon = d;
            break;
        case OPT_RADIUS:
            if (!parse_double(optarg, &d) || d < 1 || d > 2e7)
                goto bad;
            o.radius_m = d;
            break;
        case OPT_SPREAD:
            if (!parse_double(optarg, &d) || d < 0 || d > 1e6)
                goto bad;
            o.spread_m = d;
            break;
        case OPT_REQUESTS:
            if (!parse_long(optarg, 1, 100000000, &v))
                goto bad;
            o.requests = v;
            break;
        case OPT_CONNECTIONS:
            if (!parse_long(optarg, 1, MAX_CONNECTIONS, &v))
                goto bad;
            o.connections = (int)v;
            break;
        case OPT_WARMUP:
            if (!parse_long(optarg, 0, 100000, &v))
                goto bad;
            o.warmup = (int)v;
            break;
        case OPT_DURATION:
            if (!parse_double(optarg, &d) || d <= 0 || d > 86400)
                goto bad;
            o.duration_s = d;
            break;
        case OPT_SEED:
            if (!parse_long(optarg, 0, LONG_MAX, &v))
                goto bad;
            o.seed = (uint64_t)v;
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
        fprintf(stderr, "count-load: bad value for --%s: %s\n", longopts[opt - OPT_HOST].name,
                optarg);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "count-load: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (o.port == 0 || o.ca_file == NULL || o.client_id == NULL || o.secret_file == NULL ||
        o.radius_m <= 0) {
        fprintf(stderr, "count-load: --port, --ca, --client-id, --secret-file and --radius-m "
                        "are required\n");
        usage(stderr);
        return 2;
    }
    return run(&o);
}
