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
#include "locguard/core/common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "lib/loadgen.h"

#define PROG "count-load" /* prefix of error messages */
#define PATH_TOKEN "/oauth2/token"
#define PATH_COUNT "/regionDeviceCount/vwip/count"
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
    lg_loadgen_latency_t lat; /* per recorded request */
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
    lg_loadgen_conn_t *c = lg_loadgen_conn_new(PROG, o->host, o->port, IO_TIMEOUT_S);
    lg_loadgen_response_t r;
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
    lg_loadgen_response_init(&r);
    if (n < 0 || n >= (int)sizeof(req) || lg_loadgen_conn_open(c, sh->ctx) != LG_OK)
        goto done;
    if (lg_loadgen_roundtrip(c, req, (size_t)n, LG_LOADGEN_KEEP_BODY, &r) != LG_OK) {
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
    lg_loadgen_response_cleanup(&r);
    lg_loadgen_conn_free(c);
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

/* Uniform in [-1, 1]. */
static double rng_signed_unit(uint64_t *s)
{
    return (double)(lg_loadgen_rng_next(s) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
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
static void note_answer(shared_t *sh, const lg_loadgen_response_t *r)
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
    lg_loadgen_conn_t *c = lg_loadgen_conn_new(PROG, o->host, o->port, IO_TIMEOUT_S);
    lg_loadgen_response_t r;
    char token[2048], req[4096];
    int warm = o->warmup;

    lg_loadgen_response_init(&r);
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
        if (!lg_loadgen_conn_is_open(c) && lg_loadgen_conn_open(c, sh->ctx) != LG_OK) {
            if (!is_warmup)
                atomic_fetch_add(&sh->errors, 1);
            usleep(100000);
            continue;
        }
        t0 = lg_mono_us();
        if (lg_loadgen_roundtrip(c, req, (size_t)len, LG_LOADGEN_KEEP_BODY, &r) != LG_OK) {
            if (!is_warmup)
                atomic_fetch_add(&sh->errors, 1);
            lg_loadgen_conn_close(c);
            continue;
        }
        t1 = lg_mono_us();
        if (r.must_close)
            lg_loadgen_conn_close(c);
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
        lg_loadgen_latency_add(&w->lat, t1 - t0);
        atomic_fetch_add(&sh->done, 1);
        note_answer(sh, &r);
    }
    lg_loadgen_response_cleanup(&r);
    lg_loadgen_conn_free(c);
    return NULL;
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
    lg_loadgen_latency_t all = {0};
    int64_t start_us, end_us;
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
    sh.ctx = lg_loadgen_ssl_ctx_new(PROG, NULL, NULL, o->ca_file);
    if (sh.ctx == NULL)
        return 1;
    if (fetch_token(&sh) != LG_OK)
        return 1;

    start_us = lg_mono_us();
    sh.deadline_us = start_us + (int64_t)(o->duration_s * 1e6);
    w = lg_xcalloc((size_t)o->connections, sizeof(*w));
    for (i = 0; i < o->connections; i++) {
        w[i].sh = &sh;
        w[i].rng = lg_loadgen_rng_seed(o->seed, i);
        if (pthread_create(&w[i].thread, NULL, load_thread, &w[i]) != 0) {
            fprintf(stderr, "count-load: pthread_create failed\n");
            abort();
        }
    }
    for (i = 0; i < o->connections; i++)
        pthread_join(w[i].thread, NULL);
    end_us = lg_mono_us();
    for (i = 0; i < o->connections; i++) {
        lg_loadgen_latency_merge(&all, &w[i].lat);
        lg_loadgen_latency_cleanup(&w[i].lat);
    }
    lg_loadgen_latency_sort(&all);
    secs = (double)(end_us - start_us) / 1e6;
    printf("RESULT requests=%zu seconds=%.2f requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f errors=%ld status=%s count=%lld\n",
           all.n, secs, secs > 0 ? (double)all.n / secs : 0.0,
           lg_loadgen_latency_pct_ms(&all, 0.50), lg_loadgen_latency_pct_ms(&all, 0.99),
           lg_loadgen_latency_max_ms(&all),
           (long)atomic_load(&sh.errors), sh.last_status, sh.last_count);
    fflush(stdout);
    rc = all.n > 0 && atomic_load(&sh.errors) == 0 ? 0 : 1;
    lg_loadgen_latency_cleanup(&all);
    free(w);
    free(sh.basic);
    SSL_CTX_free(sh.ctx);
    return rc;
}

/* ---------------------------------------------------------------- main -- */

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
            if (!lg_loadgen_parse_double(optarg, &d) || d < -90 || d > 90)
                goto bad;
            o.lat = d;
            break;
        case OPT_LON:
            if (!lg_loadgen_parse_double(optarg, &d) || d < -180 || d > 180)
                goto bad;
            o.lon = d;
            break;
        case OPT_RADIUS:
            if (!lg_loadgen_parse_double(optarg, &d) || d < 1 || d > 2e7)
                goto bad;
            o.radius_m = d;
            break;
        case OPT_SPREAD:
            if (!lg_loadgen_parse_double(optarg, &d) || d < 0 || d > 1e6)
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
            if (!lg_loadgen_parse_double(optarg, &d) || d <= 0 || d > 86400)
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
