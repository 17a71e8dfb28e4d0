/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mme-sim: a simulated MME / SGSN / AMF that feeds locguard's southbound
 * zone. It is a real client of the interface: OpenSSL directly on sockets,
 * mutual TLS (the client certificate's CN is the node name), HTTP/1.1
 * keep-alive, POST /v1/location-reports with Locguard-Seq and
 * Locguard-Sent-At headers and a TS 29.518 AmfEventNotification body.
 *
 * Three commands: `send` posts a prepared body (tests, demo), `report` posts
 * one report built from options, and `load` is the load generator of
 * `make bench`: K connections (HTTP/1.1: a few event-loop threads with
 * non-blocking TLS; --http2: one pthread each) post batches of B random
 * reports for S seconds, optionally paced to R reports/s, and print one
 * summary line per second and a final machine-readable RESULT line with the
 * per-batch acknowledgement latency. The generator renders each thread's
 * batch once and only patches fixed-width digits in place per batch, so its
 * own CPU use stays small next to the daemon and PostgreSQL it measures.
 */
#include "locguard/core/common.h"
#include "locguard/south/location.h"
#include "locguard/south/report.h"
#include "locguard/core/timefmt.h"

#include <errno.h>
#include <getopt.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/loadgen.h"
#include "lib/mix.h"

#define PROG "mme-sim"              /* prefix of error messages */
#define PATH_REPORTS "/v1/location-reports"
#define HDR_ROOM 512                 /* bytes reserved before a body for the request head */
#define IO_TIMEOUT_S 30              /* blocking: per read or write; event loop: per request, set-up */
#define MAX_CONNECTIONS 8192       /* HTTP/1.1: one-report mixes need many in flight */
#define MAX_H2_CONNECTIONS 2048    /* --http2: one thread each */
#define MAX_THREADS 64             /* HTTP/1.1 event-loop threads */
#define THREAD_STACK_BYTES (256 * 1024) /* a load thread needs little; 2048 of them fit */
#define MAX_BATCH 1000
#define MAX_ATTEMPTS 5               /* sends of one seq in `load` before giving up on it */
#define SETTLE_WAIT_US 10000000  /* load set-up: the longest wait for a server's session ticket */
#define MAX_STREAMS 1000             /* load --http2: requests in flight per connection */

/* Everything the command line says. */
typedef struct sim_opts {
    const char *host;        /* address to connect to (numeric or name) */
    int port;                /* southbound port */
    const char *cert_file;   /* client certificate (PEM), CN = node name */
    const char *key_file;    /* its private key */
    const char *ca_file;     /* CA that signed the daemon's server certificate */
    const char *node;        /* notifyCorrelationId */
    int64_t seq_start;       /* first Locguard-Seq; default: wall clock in ms */
    int64_t seq;             /* `send`/`report`: explicit seq, 0 = seq_start */
    double sent_at_offset_s; /* added to the Locguard-Sent-At clock (skew tests) */
    bool no_seq;             /* no Locguard-* headers at all, as an AMF sends notifications */
    const char *mcc;         /* PLMN of generated reports */
    const char *mnc;
    /* send */
    const char *file;
    /* report */
    const char *supi;
    const char *cell;
    const char *rat;
    const char *time;        /* report timeStamp override (RFC 3339) */
    double lat, lon, unc_m;
    bool has_lat, has_lon;
    /* load */
    uint64_t imsi_base;
    long devices;
    long cell_count;
    int connections;
    int threads;             /* load over HTTP/1.1: event-loop threads (at most connections) */
    int batch;
    double duration_s;
    double rate;             /* reports/s over all connections, 0 = unpaced */
    double home_fraction;
    double movers;           /* share of devices that change cell at every report */
    int repeat_min;          /* repeats: reports per device of the shared pool (0: none) */
    int repeat_max;
    long repeat_pool;        /* devices in the repeat pool */
    bool is_burst;           /* paced connections send together, not one after another */
    bool is_http2;           /* load: HTTP/2 (ALPN h2), --streams requests per connection */
    int streams;             /* load --http2: requests in flight per connection */
    uint64_t rng_seed;
} sim_opts_t;

static void usage(FILE *out)
{
    fprintf(out,
"usage: mme-sim COMMAND [options]\n"
"\n"
"A simulated MME/SGSN/AMF for locguard's southbound zone (mutual TLS,\n"
"POST " PATH_REPORTS ", TS 29.518 AmfEventNotification bodies).\n"
"\n"
"Commands:\n"
"  send    --file BATCH.json [--seq N]\n"
"          post one body as is; print \"HTTP <status>\" and the response body;\n"
"          exit 0 on 2xx, 1 otherwise\n"
"  report  --supi imsi-DIGITS --cell ID [--rat EUTRA|NR|UTRA|GERA]\n"
"          [--lat DEG --lon DEG [--unc-m M]] [--time RFC3339] [--seq N]\n"
"          post one LOCATION_REPORT; same output and exit status as send.\n"
"          ID is 7 hex digits (eutraCellId) for EUTRA, 9 hex digits (nrCellId)\n"
"          for NR, LAC:CI (4+4 hex digits, a CGI) for UTRA and GERA.\n"
"          --lat/--lon add geographicalInformation (TS 23.032 point with\n"
"          uncertainty circle, default --unc-m 50)\n"
"  load    --devices N --cell-count C --connections K --batch B --duration S\n"
"          [--imsi-base 001010000000000] [--rate R] [--home-fraction 0.99]\n"
"          [--movers F] [--repeats MIN-MAX [--repeat-pool N]] [--burst]\n"
"          [--seed N] [--threads N] [--http2 [--streams M]]\n"
"          K connections post batches of B EUTRA reports for S seconds, each\n"
"          with one request in flight (HTTP/1.1 keep-alive), all opened\n"
"          before the clock starts (stderr says in how long); --threads N\n"
"          (default 2) event-loop threads share them (K at most %d).\n"
"          Each report picks a random device i (IMSI = base + i, 15 digits)\n"
"          and, with probability --home-fraction, its home cell i %% C,\n"
"          else a random cell; eutraCellId = printf(\"%%07X\", cell).\n"
"          The devices of a batch are distinct (unless --devices is too small).\n"
"          --movers F: devices i with i %% 100 >= 100 - 100 F report home, a\n"
"          random cell, another random cell, home... (another cell at every\n"
"          report: a \"left\" and a \"returned\" alert every three reports).\n"
"          --repeats MIN-MAX: devices come from a pool of --repeat-pool N\n"
"          (default 1000) shared by all connections, each reported MIN..MAX\n"
"          times before another takes its place: the same device in several\n"
"          concurrent batches. --batch 1 sends one report per request; with\n"
"          --no-seq and no Locguard-* header, as an AMF does.\n"
"          --rate paces to R reports/s over all connections (0 = as fast as\n"
"          possible); with --burst the connections send together, every\n"
"          K * B / R seconds. A 503 is resent with the same seq after\n"
"          Retry-After.\n"
"          --http2: each connection (one thread each, K at most %d) speaks\n"
"          HTTP/2 (ALPN h2) and keeps M requests in flight on concurrent\n"
"          streams (default 100), each with its own Locguard-Seq; a 503 is\n"
"          counted as busy and not resent.\n"
"          Prints one line per second and a final line\n"
"          RESULT reports=N seconds=S reports_per_s=X batches=B p50_ms=..\n"
"                 p99_ms=.. max_ms=.. errors=E busy=N\n"
"          (reports = acknowledged reports; latency = per batch, from the\n"
"          first send to the 2xx answer)\n"
"\n"
"Common options:\n"
"  --host ADDR        daemon address (default 127.0.0.1)\n"
"  --port N           southbound port (required)\n"
"  --cert FILE        client certificate, PEM; its CN is the node name\n"
"  --key FILE         client private key, PEM\n"
"  --ca FILE          CA certificate that signed the server certificate\n"
"  --node NAME        notifyCorrelationId (default mme-1)\n"
"  --seq-start N      first Locguard-Seq (default: now in ms since the epoch,\n"
"                     so a restarted simulator never reuses an old seq)\n"
"  --seq N            (send, report) the seq of that one batch\n"
"  --sent-at-offset S add S seconds to Locguard-Sent-At (clock-skew tests)\n"
"  --no-seq           send neither Locguard-Seq nor Locguard-Sent-At, as an AMF\n"
"                     sends its notifications (TS 29.518); a resent request\n"
"                     is then the same notification again\n"
"  --mcc 001 --mnc 01 PLMN of generated reports\n"
"  --help             this text\n",
            MAX_CONNECTIONS, MAX_H2_CONNECTIONS);
}

/* ------------------------------------------------------------ request -- */

/*
 * Writes the request head for a body of body_len bytes so that it ends
 * exactly at `end` (the first byte of the body), and returns where it starts.
 * The caller reserved HDR_ROOM bytes before `end`.
 */
static char *render_head(char *end, const sim_opts_t *o, int64_t seq, size_t body_len)
{
    char head[HDR_ROOM], sent_at[40];
    int n;

    lg_time_format(lg_now_us() + (int64_t)(o->sent_at_offset_s * 1e6), sent_at,
                   sizeof(sent_at));
    if (o->no_seq)
        n = snprintf(head, sizeof(head),
                     "POST " PATH_REPORTS " HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     o->host, o->port, body_len);
    else
        n = snprintf(head, sizeof(head),
                     "POST " PATH_REPORTS " HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Locguard-Seq: %" PRId64 "\r\n"
                     "Locguard-Sent-At: %s\r\n"
                     "\r\n",
                     o->host, o->port, body_len, seq, sent_at);
    if (n < 0 || n >= (int)sizeof(head))
        abort(); /* host names are bounded by the option parser */
    memcpy(end - n, head, (size_t)n);
    return end - n;
}

/* ------------------------------------------------------- send / report -- */

/* Posts one body, prints the answer, returns the exit status. */
static int post_once(const sim_opts_t *o, const char *body, size_t body_len)
{
    SSL_CTX *ctx = lg_loadgen_ssl_ctx_new(PROG, o->cert_file, o->key_file, o->ca_file);
    lg_loadgen_conn_t *c = lg_loadgen_conn_new(PROG, o->host, o->port, IO_TIMEOUT_S);
    lg_loadgen_response_t r;
    char *buf = lg_xmalloc(HDR_ROOM + body_len);
    char *start;
    int64_t seq = o->seq > 0 ? o->seq : o->seq_start;
    int rc = 1;

    lg_loadgen_response_init(&r);
    if (ctx == NULL || lg_loadgen_conn_open(c, ctx) != LG_OK)
        goto done;
    memcpy(buf + HDR_ROOM, body, body_len);
    start = render_head(buf + HDR_ROOM, o, seq, body_len);
    if (lg_loadgen_roundtrip(c, start, (size_t)(buf + HDR_ROOM - start) + body_len,
                             LG_LOADGEN_KEEP_BODY | LG_LOADGEN_BODY_TO_EOF, &r) != LG_OK) {
        fprintf(stderr, "mme-sim: no valid HTTP response (seq %" PRId64 ")\n", seq);
        goto done;
    }
    printf("HTTP %d\n", r.status);
    if (r.retry_after_s >= 0)
        printf("Retry-After: %d\n", r.retry_after_s);
    if (r.body_len > 0) {
        fwrite(r.body, 1, r.body_len, stdout);
        if (r.body[r.body_len - 1] != '\n')
            putchar('\n');
    }
    rc = r.status >= 200 && r.status < 300 ? 0 : 1;
done:
    fflush(stdout);
    lg_loadgen_response_cleanup(&r);
    lg_loadgen_conn_free(c);
    free(buf);
    SSL_CTX_free(ctx);
    return rc;
}

static int cmd_send(const sim_opts_t *o)
{
    FILE *f;
    char *body = NULL;
    size_t len = 0, cap = 0, n;
    int rc;

    if (o->file == NULL) {
        fprintf(stderr, "mme-sim send: --file is required\n");
        return 2;
    }
    f = strcmp(o->file, "-") == 0 ? stdin : fopen(o->file, "rb");
    if (f == NULL) {
        fprintf(stderr, "mme-sim: %s: %s\n", o->file, strerror(errno));
        return 2;
    }
    do {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            body = lg_xrealloc(body, cap);
        }
        n = fread(body + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (f != stdin)
        fclose(f);
    rc = post_once(o, body, len);
    free(body);
    return rc;
}

static int cmd_report(const sim_opts_t *o)
{
    char body[2048], loc[1024], geo[64] = "", ts[40];
    const char *rat = o->rat ? o->rat : "EUTRA";
    const char *supi = o->supi;
    int n;

    if (supi == NULL || o->cell == NULL) {
        fprintf(stderr, "mme-sim report: --supi and --cell are required\n");
        return 2;
    }
    if (strlen(supi) > 64 || strlen(o->cell) > 32) {
        fprintf(stderr, "mme-sim report: --supi or --cell too long\n");
        return 2;
    }
    if (o->has_lat != o->has_lon) {
        fprintf(stderr, "mme-sim report: --lat and --lon go together\n");
        return 2;
    }
    if (o->has_lat) {
        char gad[17];

        lg_location_encode_gad(o->lat, o->lon, o->unc_m, gad);
        snprintf(geo, sizeof(geo), ",\"geographicalInformation\":\"%s\"", gad);
    }
    if (o->time) {
        if (strlen(o->time) > 35) {
            fprintf(stderr, "mme-sim report: --time too long\n");
            return 2;
        }
        lg_strlcpy(ts, o->time, sizeof(ts));
    } else {
        lg_time_format(lg_now_us(), ts, sizeof(ts));
    }

    if (strcmp(rat, "EUTRA") == 0) {
        snprintf(loc, sizeof(loc),
                 "\"eutraLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                 "\"tac\":\"0001\"},\"ecgi\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                 "\"eutraCellId\":\"%s\"}%s}",
                 o->mcc, o->mnc, o->mcc, o->mnc, o->cell, geo);
    } else if (strcmp(rat, "NR") == 0) {
        snprintf(loc, sizeof(loc),
                 "\"nrLocation\":{\"tai\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                 "\"tac\":\"000001\"},\"ncgi\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                 "\"nrCellId\":\"%s\"}%s}",
                 o->mcc, o->mnc, o->mcc, o->mnc, o->cell, geo);
    } else if (strcmp(rat, "UTRA") == 0 || strcmp(rat, "GERA") == 0) {
        char lac[8] = "", ci[8] = "";
        const char *colon = strchr(o->cell, ':');

        if (colon == NULL || colon - o->cell > 6 || strlen(colon + 1) > 6) {
            fprintf(stderr, "mme-sim report: --cell for %s is LAC:CI (e.g. 0A1B:00FF)\n",
                    rat);
            return 2;
        }
        memcpy(lac, o->cell, (size_t)(colon - o->cell));
        lg_strlcpy(ci, colon + 1, sizeof(ci));
        snprintf(loc, sizeof(loc),
                 "\"%s\":{\"cgi\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                 "\"lac\":\"%s\",\"cellId\":\"%s\"}%s}",
                 strcmp(rat, "UTRA") == 0 ? "utraLocation" : "geraLocation", o->mcc, o->mnc,
                 lac, ci, geo);
    } else {
        fprintf(stderr, "mme-sim report: --rat must be EUTRA, NR, UTRA or GERA\n");
        return 2;
    }
    /* Deliberately no format check of --supi / --cell beyond length: tests send bad ones. */
    n = snprintf(body, sizeof(body),
                 "{\"notifyCorrelationId\":\"%s\",\"reportList\":[{\"type\":\"LOCATION_REPORT\","
                 "\"state\":{\"active\":true},\"timeStamp\":\"%s\",\"supi\":\"%s\","
                 "\"location\":{%s}}]}",
                 o->node, ts, supi, loc);
    if (n < 0 || n >= (int)sizeof(body))
        return 2;
    return post_once(o, body, (size_t)n);
}

/* ---------------------------------------------------------------- load -- */

/* State shared by the load threads and the reporting main thread. */
typedef struct load_shared {
    const sim_opts_t *o;
    SSL_CTX *ctx;
    int64_t start_us;            /* monotonic start */
    int64_t deadline_us;         /* monotonic end of sending */
    int64_t batch_interval_us;   /* pacing: one batch every this, over all threads; 0 = none */
    atomic_llong next_slot_us;   /* pacing: the next free send time */
    atomic_llong next_seq;       /* next Locguard-Seq to hand out */
    atomic_llong reports;        /* acknowledged reports */
    atomic_llong batches;        /* acknowledged batches */
    atomic_llong errors;         /* failed batches and transport errors */
    atomic_llong busy;           /* 503 answers */
    atomic_llong lat_sum_us;     /* sum of ack latencies, for the per-second mean */
    atomic_int first_error_status; /* first non-2xx, non-503 status seen */
    lg_mix_t *mix;               /* which devices and cells the reports name */
    pthread_barrier_t ready;     /* HTTP/1.1: all connected, then the clock started */
} load_shared_t;

/* One connection's batch: pre-rendered, patched per send (and its thread with --http2). */
typedef struct load_worker {
    load_shared_t *sh;
    pthread_t thread;
    int id;
    lg_mix_picker_t *picker; /* this thread's draws of the mix */
    char *buf;             /* HDR_ROOM + body */
    size_t body_len;
    size_t *supi_off;      /* per report: offset of the 15 IMSI digits in the body */
    size_t *cell_off;      /* per report: offset of the 7 eutraCellId digits */
    size_t *ts_off;        /* per report: offset of the 24-char timeStamp */
    lg_loadgen_latency_t lat; /* ack latency of every acknowledged batch */
} load_worker_t;

/* Renders the worker's batch of B identical reports and records where the digits to patch are. */
static void worker_render(load_worker_t *w)
{
    const sim_opts_t *o = w->sh->o;
    char one[1024], head[256];
    int one_len, head_len, i;
    size_t off_ts, off_supi, off_cell, pos;
    const char *mark;

    one_len = snprintf(one, sizeof(one),
                       "{\"type\":\"LOCATION_REPORT\",\"state\":{\"active\":true},"
                       "\"timeStamp\":\"2000-01-01T00:00:00.000Z\","
                       "\"supi\":\"imsi-000000000000000\",\"location\":{\"eutraLocation\":{"
                       "\"tai\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},\"tac\":\"0001\"},"
                       "\"ecgi\":{\"plmnId\":{\"mcc\":\"%s\",\"mnc\":\"%s\"},"
                       "\"eutraCellId\":\"0000000\"}}}}",
                       o->mcc, o->mnc, o->mcc, o->mnc);
    mark = strstr(one, "\"timeStamp\":\"");
    off_ts = (size_t)(mark - one) + strlen("\"timeStamp\":\"");
    mark = strstr(one, "\"supi\":\"imsi-");
    off_supi = (size_t)(mark - one) + strlen("\"supi\":\"imsi-");
    mark = strstr(one, "\"eutraCellId\":\"");
    off_cell = (size_t)(mark - one) + strlen("\"eutraCellId\":\"");
    head_len = snprintf(head, sizeof(head), "{\"notifyCorrelationId\":\"%s\",\"reportList\":[",
                        o->node);

    w->body_len = (size_t)head_len + (size_t)o->batch * (size_t)one_len + (size_t)o->batch - 1 + 2;
    w->buf = lg_xmalloc(HDR_ROOM + w->body_len);
    w->supi_off = lg_xcalloc((size_t)o->batch, sizeof(size_t));
    w->cell_off = lg_xcalloc((size_t)o->batch, sizeof(size_t));
    w->ts_off = lg_xcalloc((size_t)o->batch, sizeof(size_t));
    pos = 0;
    memcpy(w->buf + HDR_ROOM, head, (size_t)head_len);
    pos += (size_t)head_len;
    for (i = 0; i < o->batch; i++) {
        if (i > 0)
            w->buf[HDR_ROOM + pos++] = ',';
        memcpy(w->buf + HDR_ROOM + pos, one, (size_t)one_len);
        w->ts_off[i] = pos + off_ts;
        w->supi_off[i] = pos + off_supi;
        w->cell_off[i] = pos + off_cell;
        pos += (size_t)one_len;
    }
    memcpy(w->buf + HDR_ROOM + pos, "]}", 2);
    pos += 2;
    if (pos != w->body_len)
        abort();
}

/* Counts an acknowledged batch first sent at first_send_us, its latency into lat. */
static void count_acked(load_shared_t *sh, lg_loadgen_latency_t *lat, int64_t first_send_us)
{
    int64_t us = lg_mono_us() - first_send_us;

    lg_loadgen_latency_add(lat, us);
    atomic_fetch_add(&sh->reports, sh->o->batch);
    atomic_fetch_add(&sh->batches, 1);
    atomic_fetch_add(&sh->lat_sum_us, us);
}

/* Counts a batch the daemon refused with status (0: no answer), keeping the first status. */
static void count_refused(load_shared_t *sh, int status)
{
    int expected = 0;

    if (status != 0)
        atomic_compare_exchange_strong(&sh->first_error_status, &expected, status);
    atomic_fetch_add(&sh->errors, 1);
}

/* Patches fresh random devices, cells and the current time into the batch. */
static void worker_fill(load_worker_t *w)
{
    const sim_opts_t *o = w->sh->o;
    char *body = w->buf + HDR_ROOM;
    char ts[40];
    int i;

    lg_time_format(lg_now_us(), ts, sizeof(ts));
    lg_mix_batch_begin(w->picker);
    for (i = 0; i < o->batch; i++) {
        uint64_t dev, cell;

        lg_mix_pick(w->picker, &dev, &cell);
        lg_loadgen_put_dec(body + w->supi_off[i], o->imsi_base + dev, 15);
        lg_loadgen_put_hex(body + w->cell_off[i], cell, 7);
        memcpy(body + w->ts_off[i], ts, 24);
    }
}

/* --------------------------------------------------- HTTP/1.1 loop -- */

/*
 * `load` over HTTP/1.1: --threads threads, each with one epoll over its
 * share of the connections (non-blocking sockets, non-blocking OpenSSL) and
 * a min-heap of their timers. A connection has one request in flight at a
 * time (keep-alive, no pipelining), as a thread with a blocking connection
 * had, so the daemon sees the same traffic; the load generator just needs
 * no thread, no stack and no wake-up per connection.
 */

/* Where a connection is. */
typedef enum h1_state {
    H1_CLOSED,     /* no connection: one is opened for the next send */
    H1_CONNECTING, /* TCP connect and TLS handshake under way */
    H1_IDLE,       /* open, no request in flight (waiting for a slot or a Retry-After) */
    H1_SENDING,    /* request partly written: TLS waits for the socket */
    H1_READING,    /* request written, its answer not complete */
    H1_FINISHED,   /* sending has stopped for this connection; closed */
} h1_state_t;

typedef struct h1_thread h1_thread_t;

/* One connection of a thread: a socket, its batch, its timer. */
typedef struct h1_conn {
    h1_thread_t *t;
    load_worker_t *w; /* the rendered batch and the mix picker */
    lg_loadgen_conn_t *c;
    h1_state_t state;
    uint32_t events;  /* epoll events asked for; 0 when not registered */
    bool has_batch;   /* a batch (seq) is under way: being sent or waiting to be resent */
    bool is_settling; /* set-up: connected, waiting for the server to finish its side */
    int attempts;     /* failed sends of this seq (a 503 is not one) */
    int64_t seq;
    int64_t first_send_us; /* the batch's first send, for its latency */
    const char *req;       /* the rendered request in w->buf */
    size_t req_len, req_sent;
    int64_t wake_us; /* timer: the next slot, a resend, or an I/O timeout */
    int heap_index;  /* position in the thread's timer heap, -1 when not in it */
    lg_loadgen_parser_t parser;
    lg_loadgen_response_t resp;
} h1_conn_t;

/* One thread: its connections, its epoll, its timers. */
struct h1_thread {
    load_shared_t *sh;
    pthread_t thread;
    int epfd;
    h1_conn_t *conns; /* this thread's share of the connections */
    int n_conns;
    int active;       /* connections not yet H1_FINISHED */
    int connecting;   /* set-up: connections not yet settled (or given up) */
    h1_conn_t **heap; /* min-heap on wake_us, n_conns room */
    int heap_len;
    lg_loadgen_latency_t lat; /* ack latency of this thread's acknowledged batches */
};

static void h1_heap_swap(h1_thread_t *t, int i, int j)
{
    h1_conn_t *x = t->heap[i];

    t->heap[i] = t->heap[j];
    t->heap[j] = x;
    t->heap[i]->heap_index = i;
    t->heap[j]->heap_index = j;
}

/* Restores the heap order around position i. */
static void h1_heap_fix(h1_thread_t *t, int i)
{
    while (i > 0 && t->heap[(i - 1) / 2]->wake_us > t->heap[i]->wake_us) {
        h1_heap_swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        int l = 2 * i + 1, m = i;

        if (l < t->heap_len && t->heap[l]->wake_us < t->heap[m]->wake_us)
            m = l;
        if (l + 1 < t->heap_len && t->heap[l + 1]->wake_us < t->heap[m]->wake_us)
            m = l + 1;
        if (m == i)
            return;
        h1_heap_swap(t, i, m);
        i = m;
    }
}

/* Sets k's one timer to at (replacing the one it had). */
static void h1_timer_set(h1_conn_t *k, int64_t at)
{
    h1_thread_t *t = k->t;

    k->wake_us = at;
    if (k->heap_index < 0) {
        k->heap_index = t->heap_len;
        t->heap[t->heap_len++] = k;
    }
    h1_heap_fix(t, k->heap_index);
}

/* Cancels k's timer, if it has one. */
static void h1_timer_clear(h1_conn_t *k)
{
    h1_thread_t *t = k->t;
    int i = k->heap_index;

    if (i < 0)
        return;
    k->heap_index = -1;
    if (--t->heap_len != i) {
        t->heap[i] = t->heap[t->heap_len];
        t->heap[i]->heap_index = i;
        h1_heap_fix(t, i);
    }
}

/* Asks epoll for events on k's socket (0: none), with a syscall only when they change. */
static void h1_want(h1_conn_t *k, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = k};

    if (events == k->events)
        return;
    if (epoll_ctl(k->t->epfd, k->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
                  lg_loadgen_conn_fd(k->c), &ev) != 0) {
        fprintf(stderr, "mme-sim: epoll_ctl: %s\n", strerror(errno));
        abort();
    }
    k->events = events;
}

/* Closes k's connection (closing the socket takes it out of epoll). */
static void h1_close(h1_conn_t *k)
{
    lg_loadgen_conn_close(k->c);
    k->events = 0;
    k->state = H1_CLOSED;
}

/* k sends no more: its connection closes; the thread ends with its last one. */
static void h1_finish(h1_conn_t *k)
{
    h1_timer_clear(k);
    h1_close(k);
    k->has_batch = false;
    k->state = H1_FINISHED;
    k->t->active--;
}

static void h1_attempt(h1_conn_t *k);

/*
 * The batch is over (acknowledged, refused or given up): wait for the next
 * send slot (the shared pacing slot, the --burst tick, or at once), or
 * finish at the deadline.
 */
static void h1_next_batch(h1_conn_t *k)
{
    load_shared_t *sh = k->t->sh;
    const sim_opts_t *o = sh->o;
    int64_t now = lg_mono_us(), slot = now;

    k->has_batch = false;
    if (now >= sh->deadline_us) {
        h1_finish(k);
        return;
    }
    if (sh->batch_interval_us > 0 && o->is_burst) {
        /* Every connection sends at the same ticks, one batch each. */
        int64_t tick = sh->batch_interval_us * o->connections;

        slot = sh->start_us + ((now - sh->start_us) / tick + 1) * tick;
    } else if (sh->batch_interval_us > 0) {
        slot = atomic_fetch_add(&sh->next_slot_us, sh->batch_interval_us);
    }
    if (slot >= sh->deadline_us) {
        h1_finish(k);
        return;
    }
    if (slot > now)
        h1_timer_set(k, slot);
    else
        h1_attempt(k);
}

/* A send failed at the transport: unknown whether it was stored, so resend the seq anew. */
static void h1_transport_error(h1_conn_t *k)
{
    atomic_fetch_add(&k->t->sh->errors, 1);
    h1_timer_clear(k);
    h1_close(k);
    k->attempts++;
    h1_attempt(k);
}

/* Writes (the rest of) the request; then waits for its answer. */
static void h1_send(h1_conn_t *k)
{
    switch (lg_loadgen_conn_send(k->c, k->req, k->req_len, &k->req_sent)) {
    case LG_LOADGEN_IO_DONE:
        k->state = H1_READING;
        lg_loadgen_parser_begin(&k->parser, &k->resp, LG_LOADGEN_BODY_TO_EOF);
        h1_want(k, EPOLLIN);
        break;
    case LG_LOADGEN_IO_WANT_READ:
        k->state = H1_SENDING;
        h1_want(k, EPOLLIN);
        break;
    case LG_LOADGEN_IO_WANT_WRITE:
        k->state = H1_SENDING;
        h1_want(k, EPOLLOUT);
        break;
    case LG_LOADGEN_IO_ERROR:
        h1_transport_error(k);
        break;
    }
}

/*
 * Sends the batch under way (a new one first when there is none): opens the
 * connection when it is closed, renders the head (a fresh Locguard-Sent-At)
 * and writes it, with an I/O timeout as the blocking sockets had.
 */
static void h1_attempt(h1_conn_t *k)
{
    load_shared_t *sh = k->t->sh;
    const sim_opts_t *o = sh->o;

    if (!k->has_batch) {
        worker_fill(k->w);
        k->seq = atomic_fetch_add(&sh->next_seq, 1);
        k->first_send_us = lg_mono_us();
        k->attempts = 0;
        k->has_batch = true;
    }
    if (k->attempts >= MAX_ATTEMPTS) {
        h1_next_batch(k); /* given up on this seq */
        return;
    }
    h1_timer_set(k, lg_mono_us() + (int64_t)IO_TIMEOUT_S * 1000000);
    if (k->state == H1_CLOSED) {
        if (lg_loadgen_conn_start(k->c, sh->ctx) != LG_OK) {
            /* As a failed connect: counted, retried in 200 ms. */
            atomic_fetch_add(&sh->errors, 1);
            k->attempts++;
            h1_timer_set(k, lg_mono_us() + 200000);
            return;
        }
        k->state = H1_CONNECTING;
        h1_want(k, EPOLLOUT);
        return;
    }
    k->req = render_head(k->w->buf + HDR_ROOM, o, k->seq, k->w->body_len);
    k->req_len = (size_t)(k->w->buf + HDR_ROOM - k->req) + k->w->body_len;
    k->req_sent = 0;
    h1_send(k);
}

/* The answer is complete: count it; a 503 is resent after its Retry-After. */
static void h1_on_response(h1_conn_t *k)
{
    load_shared_t *sh = k->t->sh;
    const lg_loadgen_response_t *r = &k->resp;

    h1_timer_clear(k);
    if (r->must_close)
        h1_close(k);
    else
        k->state = H1_IDLE;
    if (r->status >= 200 && r->status < 300) {
        count_acked(sh, &k->t->lat, k->first_send_us);
        h1_next_batch(k);
    } else if (r->status == 503) {
        int64_t wait_us = r->retry_after_s > 0 ? (int64_t)r->retry_after_s * 1000000 : 100000;

        atomic_fetch_add(&sh->busy, 1);
        if (lg_mono_us() + wait_us >= sh->deadline_us)
            h1_next_batch(k); /* no time left to resend this one */
        else
            h1_timer_set(k, lg_mono_us() + wait_us); /* not a failed attempt */
    } else {
        count_refused(sh, r->status);
        h1_next_batch(k); /* the daemon refused this batch; resending will not help */
    }
}

/* Set-up: k is connected, or no longer tried; the thread waits for the others. */
static void h1_setup_done(h1_conn_t *k)
{
    k->is_settling = false;
    k->t->connecting--;
    h1_timer_clear(k);
}

/*
 * Set-up: k counts as open once the server is done with its handshake too
 * (TLS 1.3: its session ticket came, sent after it checked our certificate),
 * so that the daemon's share of the handshakes is not in the measured run.
 */
static void h1_setup_check(h1_conn_t *k)
{
    if (lg_loadgen_conn_is_settled(k->c))
        h1_setup_done(k);
    else if (!k->is_settling) {
        /* Until the session ticket; a server that sends none costs this wait. */
        k->is_settling = true;
        h1_timer_set(k, lg_mono_us() + SETTLE_WAIT_US);
    }
}

/* The handshake finished or failed (during set-up or for a send). */
static void h1_on_handshake(h1_conn_t *k, lg_loadgen_io_t io)
{
    bool is_setup = !k->has_batch;

    if (io == LG_LOADGEN_IO_WANT_READ || io == LG_LOADGEN_IO_WANT_WRITE) {
        h1_want(k, io == LG_LOADGEN_IO_WANT_READ ? EPOLLIN : EPOLLOUT);
        return;
    }
    if (io == LG_LOADGEN_IO_ERROR) {
        h1_timer_clear(k);
        h1_close(k);
        if (is_setup) {
            h1_setup_done(k); /* the first send tries again */
        } else {
            atomic_fetch_add(&k->t->sh->errors, 1);
            k->attempts++;
            h1_timer_set(k, lg_mono_us() + 200000);
        }
        return;
    }
    k->state = H1_IDLE;
    h1_want(k, EPOLLIN);
    if (is_setup)
        h1_setup_check(k);
    else
        h1_attempt(k);
}

/* The socket of k is ready. */
static void h1_on_event(h1_conn_t *k)
{
    switch (k->state) {
    case H1_CONNECTING:
        h1_on_handshake(k, lg_loadgen_conn_handshake(k->c));
        break;
    case H1_SENDING:
        h1_send(k);
        break;
    case H1_READING:
        switch (lg_loadgen_conn_receive(k->c, &k->parser)) {
        case LG_LOADGEN_IO_DONE:
            h1_on_response(k);
            break;
        case LG_LOADGEN_IO_WANT_READ:
            h1_want(k, EPOLLIN);
            break;
        case LG_LOADGEN_IO_WANT_WRITE:
            h1_want(k, EPOLLOUT);
            break;
        case LG_LOADGEN_IO_ERROR:
            h1_transport_error(k);
            break;
        }
        break;
    case H1_IDLE:
        /* Nothing in flight: a session ticket, or the server closed the connection
         * (the next send opens another; nothing was lost). */
        if (lg_loadgen_conn_check_idle(k->c) == LG_LOADGEN_IO_ERROR) {
            h1_close(k);
            if (k->is_settling)
                h1_setup_done(k);
        } else if (k->is_settling) {
            h1_setup_check(k);
        }
        break;
    case H1_CLOSED:
    case H1_FINISHED:
        break;
    }
}

/* k's timer is due: an I/O timeout, the retry of a connect or a 503, or the next slot. */
static void h1_on_timer(h1_conn_t *k)
{
    load_shared_t *sh = k->t->sh;

    if (k->is_settling) { /* set-up: no session ticket came; open enough */
        h1_setup_done(k);
        return;
    }
    switch (k->state) {
    case H1_CONNECTING:
        if (!k->has_batch) { /* set-up: the first send tries again */
            h1_close(k);
            h1_setup_done(k);
            break;
        }
        /* fall through */
    case H1_SENDING:
    case H1_READING:
        fprintf(stderr, "mme-sim: no answer in %d s\n", IO_TIMEOUT_S);
        h1_transport_error(k);
        break;
    case H1_CLOSED:
    case H1_IDLE:
        if (k->has_batch && k->attempts > 0 && lg_mono_us() >= sh->deadline_us)
            h1_finish(k); /* a failed connect at the end: stop */
        else
            h1_attempt(k);
        break;
    case H1_FINISHED:
        break;
    }
}

/* Waits for events up to the first due timer and handles them; then the due timers. */
static void h1_poll(h1_thread_t *t)
{
    struct epoll_event evs[256];
    int64_t now = lg_mono_us();
    int timeout_ms = 1000, n, i;

    if (t->heap_len > 0) {
        int64_t wait_us = t->heap[0]->wake_us - now;

        timeout_ms = wait_us <= 0 ? 0 : wait_us >= 1000000 ? 1000 : (int)((wait_us + 999) / 1000);
    }
    n = epoll_wait(t->epfd, evs, LG_ARRAY_SIZE(evs), timeout_ms);
    for (i = 0; i < n; i++)
        h1_on_event(evs[i].data.ptr);
    now = lg_mono_us();
    while (t->heap_len > 0 && t->heap[0]->wake_us <= now) {
        h1_conn_t *k = t->heap[0];

        h1_timer_clear(k);
        h1_on_timer(k);
    }
}

/* Opens all of the thread's connections at once, before the clock starts. */
static void h1_connect_all(h1_thread_t *t)
{
    load_shared_t *sh = t->sh;
    int64_t until = lg_mono_us() + (int64_t)IO_TIMEOUT_S * 1000000;

    for (int i = 0; i < t->n_conns; i++) {
        h1_conn_t *k = &t->conns[i];

        if (lg_loadgen_conn_start(k->c, sh->ctx) != LG_OK)
            continue; /* the first send tries again */
        k->state = H1_CONNECTING;
        t->connecting++;
        h1_timer_set(k, until);
        h1_want(k, EPOLLOUT);
    }
    while (t->connecting > 0)
        h1_poll(t);
}

static void *load_thread_h1(void *arg)
{
    h1_thread_t *t = arg;
    load_shared_t *sh = t->sh;

    h1_connect_all(t);
    pthread_barrier_wait(&sh->ready); /* every thread connected */
    pthread_barrier_wait(&sh->ready); /* the clock has started */
    t->active = t->n_conns;
    for (int i = 0; i < t->n_conns; i++)
        h1_next_batch(&t->conns[i]);
    while (t->active > 0)
        h1_poll(t);
    return NULL;
}

/* ------------------------------------------------------------ HTTP/2 -- */

/*
 * `load --http2`: each thread holds one HTTP/2 connection (ALPN h2, the same
 * mutual TLS) and keeps --streams requests in flight on it, each a batch of
 * its own Locguard-Seq, as an AMF with many notifications under way does.
 * nghttp2 frames them; the socket stays blocking, with poll() for pacing.
 */

/* One request in flight on a stream. */
typedef struct h2_req {
    bool in_use;
    int64_t seq;
    int64_t first_send_us;
    char *body;      /* this request's copy of the worker's rendered batch */
    size_t len, off; /* body length, bytes handed to nghttp2 so far */
    int status;      /* :status, 0 until the answer's headers */
} h2_req_t;

/* One thread's connection. */
typedef struct h2_conn {
    load_worker_t *w;
    SSL *ssl;
    h2_req_t *reqs; /* --streams of them */
    int in_flight;
    bool failed;    /* the connection broke: reopen */
} h2_conn_t;

static ssize_t h2_send(nghttp2_session *session, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    h2_conn_t *hc = user;
    (void)session;
    (void)flags;
    int n = SSL_write(hc->ssl, data, (int)len);
    if (n <= 0) {
        hc->failed = true;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return n;
}

static ssize_t h2_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user)
{
    h2_req_t *q = source->ptr;
    (void)session;
    (void)stream_id;
    (void)user;
    size_t n = q->len - q->off;
    if (n > length)
        n = length;
    memcpy(buf, q->body + q->off, n);
    q->off += n;
    if (q->off == q->len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user)
{
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE)
        return 0;
    h2_req_t *q = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (q != NULL && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        q->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

/* The stream is over: its answer is counted as the HTTP/1.1 path counts one. */
static int h2_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                       void *user)
{
    h2_conn_t *hc = user;
    load_shared_t *sh = hc->w->sh;
    h2_req_t *q = nghttp2_session_get_stream_user_data(session, stream_id);
    (void)error_code;
    if (q == NULL)
        return 0;
    if (q->status >= 200 && q->status < 300)
        count_acked(sh, &hc->w->lat, q->first_send_us);
    else if (q->status == 503)
        atomic_fetch_add(&sh->busy, 1); /* not resent: counted, as the RESULT line says */
    else
        count_refused(sh, q->status);
    q->in_use = false;
    hc->in_flight--;
    return 0;
}

/* Submits the next batch on a free slot; false when none is free or nghttp2 refuses. */
static bool h2_submit(nghttp2_session *session, h2_conn_t *hc)
{
    load_worker_t *w = hc->w;
    const sim_opts_t *o = w->sh->o;
    h2_req_t *q = NULL;
    char len[24], seq[24], sent_at[40], authority[300];

    for (int i = 0; i < o->streams && q == NULL; i++)
        if (!hc->reqs[i].in_use)
            q = &hc->reqs[i];
    if (q == NULL)
        return false;
    worker_fill(w);
    memcpy(q->body, w->buf + HDR_ROOM, w->body_len);
    q->len = w->body_len;
    q->off = 0;
    q->status = 0;
    q->seq = atomic_fetch_add(&w->sh->next_seq, 1);
    q->first_send_us = lg_mono_us();
    snprintf(len, sizeof(len), "%zu", q->len);
    snprintf(seq, sizeof(seq), "%" PRId64, q->seq);
    lg_time_format(lg_now_us() + (int64_t)(o->sent_at_offset_s * 1e6), sent_at, sizeof(sent_at));
    snprintf(authority, sizeof(authority), "%s:%d", o->host, o->port);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nv[] = {
        NV(":method", "POST"),
        NV(":scheme", "https"),
        NV(":authority", authority),
        NV(":path", PATH_REPORTS),
        NV("content-type", "application/json"),
        NV("content-length", len),
        NV("locguard-seq", seq),
        NV("locguard-sent-at", sent_at),
    };
#undef NV
    nghttp2_data_provider dp = {.source.ptr = q, .read_callback = h2_read_body};
    /* --no-seq: the two locguard headers (last in nv) are left out */
    size_t n_nv = LG_ARRAY_SIZE(nv) - (o->no_seq ? 2 : 0);
    if (nghttp2_submit_request(session, NULL, nv, n_nv, &dp, q) < 0)
        return false;
    q->in_use = true;
    hc->in_flight++;
    return true;
}

/*
 * One connection's life: submit up to --streams requests (paced when --rate
 * is given), send, wait for input, feed it to nghttp2, until sending stops
 * and every answer is in (or 30 s more). Returns false when the connection
 * broke (its requests in flight are counted as errors).
 */
static bool h2_run(h2_conn_t *hc, int64_t *my_slot)
{
    load_shared_t *sh = hc->w->sh;
    const sim_opts_t *o = sh->o;
    nghttp2_session_callbacks *cb;
    nghttp2_session *session;
    uint8_t buf[16384];
    bool ok = true;

    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, h2_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
    if (nghttp2_session_client_new(&session, cb, hc) != 0)
        abort();
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    (void)nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, iv, LG_ARRAY_SIZE(iv));

    for (;;) {
        int64_t now = lg_mono_us(), wait_us = 100000;
        bool sending = now < sh->deadline_us;

        while (sending && hc->in_flight < o->streams) {
            if (sh->batch_interval_us > 0) {
                if (*my_slot < 0)
                    *my_slot = atomic_fetch_add(&sh->next_slot_us, sh->batch_interval_us);
                if (*my_slot >= sh->deadline_us) {
                    sending = false;
                    break;
                }
                if (*my_slot > now) {
                    wait_us = *my_slot - now;
                    break;
                }
                *my_slot = -1;
            }
            if (!h2_submit(session, hc))
                break;
        }
        if (nghttp2_session_send(session) != 0 || hc->failed) {
            ok = false;
            break;
        }
        if (!sending && hc->in_flight == 0)
            break;
        if (!sending && now > sh->deadline_us + 30 * 1000000LL) {
            ok = false; /* answers that never came */
            break;
        }
        if (SSL_pending(hc->ssl) == 0) {
            struct pollfd pfd = {.fd = SSL_get_fd(hc->ssl), .events = POLLIN};
            int timeout_ms = (int)(wait_us / 1000) + 1;
            int r = poll(&pfd, 1, timeout_ms);
            if (r == 0)
                continue;
            if (r < 0 && errno == EINTR)
                continue;
        }
        int n = SSL_read(hc->ssl, buf, (int)sizeof(buf));
        if (n <= 0 || nghttp2_session_mem_recv(session, buf, (size_t)n) < 0) {
            ok = false;
            break;
        }
    }
    if (!ok && hc->in_flight > 0) {
        atomic_fetch_add(&sh->errors, hc->in_flight);
        for (int i = 0; i < o->streams; i++)
            hc->reqs[i].in_use = false;
        hc->in_flight = 0;
    }
    nghttp2_session_del(session);
    return ok;
}

static void *load_thread_h2(void *arg)
{
    load_worker_t *w = arg;
    load_shared_t *sh = w->sh;
    const sim_opts_t *o = sh->o;
    lg_loadgen_conn_t *c = lg_loadgen_conn_new(PROG, o->host, o->port, IO_TIMEOUT_S);
    h2_conn_t hc = {.w = w};
    int64_t my_slot = -1;

    hc.reqs = lg_xcalloc((size_t)o->streams, sizeof(*hc.reqs));
    for (int i = 0; i < o->streams; i++)
        hc.reqs[i].body = lg_xmalloc(w->body_len);
    while (lg_mono_us() < sh->deadline_us) {
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;

        if (lg_loadgen_conn_open(c, sh->ctx) != LG_OK) {
            atomic_fetch_add(&sh->errors, 1);
            lg_loadgen_sleep_us(200000);
            continue;
        }
        hc.ssl = lg_loadgen_conn_ssl(c);
        SSL_get0_alpn_selected(hc.ssl, &alpn, &alpn_len);
        if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0) {
            fprintf(stderr, "mme-sim: the server did not choose h2 (ALPN)\n");
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        hc.failed = false;
        bool ok = h2_run(&hc, &my_slot);
        lg_loadgen_conn_close(c);
        if (ok)
            break;
    }
    for (int i = 0; i < o->streams; i++)
        free(hc.reqs[i].body);
    free(hc.reqs);
    lg_loadgen_conn_free(c);
    return NULL;
}

/* Starts the clock: the run's start, its deadline and the first pacing slot. */
static void start_clock(load_shared_t *sh)
{
    sh->start_us = lg_mono_us();
    sh->deadline_us = sh->start_us + (int64_t)(sh->o->duration_s * 1e6);
    atomic_store(&sh->next_slot_us, sh->start_us);
}

/* Makes room for n sockets (and a few more) in the file descriptor limit; false when it can't. */
static bool reserve_fds(int n)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)n + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            return false;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return false;
    }
    return true;
}

/* Makes the HTTP/1.1 threads and hands each its share of the connections. */
static h1_thread_t *h1_threads_new(load_shared_t *sh, load_worker_t *w, int n_threads)
{
    const sim_opts_t *o = sh->o;
    h1_thread_t *ts = lg_xcalloc((size_t)n_threads, sizeof(*ts));

    for (int i = 0, first = 0; i < n_threads; i++) {
        h1_thread_t *t = &ts[i];

        t->sh = sh;
        t->n_conns = o->connections / n_threads + (i < o->connections % n_threads);
        t->conns = lg_xcalloc((size_t)t->n_conns, sizeof(*t->conns));
        t->heap = lg_xcalloc((size_t)t->n_conns, sizeof(*t->heap));
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (t->epfd < 0) {
            fprintf(stderr, "mme-sim: epoll_create1: %s\n", strerror(errno));
            abort();
        }
        for (int j = 0; j < t->n_conns; j++) {
            h1_conn_t *k = &t->conns[j];

            k->t = t;
            k->w = &w[first + j];
            k->c = lg_loadgen_conn_new(PROG, o->host, o->port, IO_TIMEOUT_S);
            k->heap_index = -1;
            lg_loadgen_response_init(&k->resp);
        }
        first += t->n_conns;
    }
    return ts;
}

/* Says on stderr how long opening the connections took (the threads wait at the barrier). */
static void report_setup(const h1_thread_t *ts, int n_threads, int64_t took_us)
{
    int open = 0, all = 0;

    for (int i = 0; i < n_threads; i++) {
        for (int j = 0; j < ts[i].n_conns; j++)
            open += ts[i].conns[j].state == H1_IDLE;
        all += ts[i].n_conns;
    }
    fprintf(stderr, "mme-sim: %d of %d connections open in %.2f s\n", open, all,
            (double)took_us / 1e6);
}

static void h1_threads_free(h1_thread_t *ts, int n_threads)
{
    for (int i = 0; i < n_threads; i++) {
        for (int j = 0; j < ts[i].n_conns; j++) {
            lg_loadgen_conn_free(ts[i].conns[j].c);
            lg_loadgen_response_cleanup(&ts[i].conns[j].resp);
        }
        close(ts[i].epfd);
        free(ts[i].conns);
        free(ts[i].heap);
        lg_loadgen_latency_cleanup(&ts[i].lat);
    }
    free(ts);
}

static int cmd_load(const sim_opts_t *o)
{
    load_shared_t sh;
    load_worker_t *w;
    h1_thread_t *ts = NULL;
    lg_loadgen_latency_t all = {0};
    lg_mix_opts_t mo = {
        .devices = o->devices,
        .cell_count = o->cell_count,
        .home_fraction = o->home_fraction,
        .movers_percent = (int)(o->movers * 100 + 0.5),
        .repeat_min = o->repeat_min,
        .repeat_max = o->repeat_max,
        .repeat_pool = (int)o->repeat_pool,
    };
    const char *mix_err = lg_mix_check(&mo);
    int n_threads = o->threads < o->connections ? o->threads : o->connections;
    pthread_attr_t attr;
    int64_t end_us, prev_t_us, setup_us;
    long long prev_reports = 0, prev_batches = 0, prev_lat = 0;
    int i, sec = 0;
    double secs;

    if (o->devices <= 0 || o->cell_count <= 0 || o->connections < 1 ||
        o->connections > (o->is_http2 ? MAX_H2_CONNECTIONS : MAX_CONNECTIONS) || o->batch < 1 ||
        o->batch > MAX_BATCH || o->duration_s <= 0 || o->duration_s > 3600 || o->rate < 0 ||
        o->home_fraction < 0 || o->home_fraction > 1 || o->cell_count > 0xFFFFFFF ||
        o->movers < 0 || o->movers > 1 ||
        (o->is_http2 && (o->streams < 1 || o->streams > MAX_STREAMS))) {
        fprintf(stderr, "mme-sim load: need --devices >0, --cell-count 1..2^28-1, "
                        "--connections 1..%d (--http2: 1..%d), --batch 1..%d, "
                        "--duration 0..3600 s, --rate >= 0, --home-fraction 0..1, "
                        "--movers 0..1, --streams 1..%d\n",
                MAX_CONNECTIONS, MAX_H2_CONNECTIONS, MAX_BATCH, MAX_STREAMS);
        return 2;
    }
    if (mix_err != NULL) {
        fprintf(stderr, "mme-sim load: %s\n", mix_err);
        return 2;
    }
    if (o->imsi_base + (uint64_t)o->devices > 999999999999999ULL) {
        fprintf(stderr, "mme-sim load: --imsi-base + --devices exceeds 15 digits\n");
        return 2;
    }
    if (!reserve_fds(o->connections)) {
        fprintf(stderr, "mme-sim load: the open files limit (ulimit -n) is below %d\n",
                o->connections + 64);
        return 2;
    }
    memset(&sh, 0, sizeof(sh));
    sh.o = o;
    sh.ctx = lg_loadgen_ssl_ctx_new(PROG, o->cert_file, o->key_file, o->ca_file);
    if (sh.ctx == NULL)
        return 1;
    if (o->is_http2 && SSL_CTX_set_alpn_protos(sh.ctx, (const unsigned char *)"\x02h2", 3) != 0)
        abort(); /* 0 is success */
    atomic_init(&sh.next_seq, o->seq_start);
    if (o->rate > 0)
        sh.batch_interval_us = (int64_t)((double)o->batch * 1e6 / o->rate);
    if (o->rate > 0 && sh.batch_interval_us < 1)
        sh.batch_interval_us = 1;
    atomic_init(&sh.next_slot_us, 0);
    sh.mix = lg_mix_new(&mo);

    w = lg_xcalloc((size_t)o->connections, sizeof(*w));
    for (i = 0; i < o->connections; i++) {
        w[i].sh = &sh;
        w[i].id = i;
        w[i].picker = lg_mix_picker_new(sh.mix, o->rng_seed, i, o->batch);
        worker_render(&w[i]);
    }
    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstacksize(&attr, THREAD_STACK_BYTES) != 0)
        abort();
    if (o->is_http2) {
        /* One thread per connection; each connects after the clock starts. */
        start_clock(&sh);
        for (i = 0; i < o->connections; i++) {
            if (pthread_create(&w[i].thread, &attr, load_thread_h2, &w[i]) != 0) {
                fprintf(stderr, "mme-sim: pthread_create failed\n");
                abort();
            }
        }
    } else {
        /* A few event-loop threads; every connection is open before the clock starts. */
        setup_us = lg_mono_us();
        ts = h1_threads_new(&sh, w, n_threads);
        if (pthread_barrier_init(&sh.ready, NULL, (unsigned)n_threads + 1) != 0)
            abort();
        for (i = 0; i < n_threads; i++) {
            if (pthread_create(&ts[i].thread, &attr, load_thread_h1, &ts[i]) != 0) {
                fprintf(stderr, "mme-sim: pthread_create failed\n");
                abort();
            }
        }
        pthread_barrier_wait(&sh.ready);
        start_clock(&sh);
        report_setup(ts, n_threads, sh.start_us - setup_us);
        pthread_barrier_wait(&sh.ready);
    }
    pthread_attr_destroy(&attr);

    /* One summary line per second until sending stops. */
    prev_t_us = sh.start_us;
    while (lg_mono_us() < sh.deadline_us) {
        int64_t next = sh.start_us + (int64_t)(sec + 1) * 1000000, now;
        long long rep, bat, lat;
        double dt;

        if (next > sh.deadline_us)
            next = sh.deadline_us;
        lg_loadgen_sleep_us(next - lg_mono_us());
        now = lg_mono_us();
        sec++;
        rep = atomic_load(&sh.reports);
        bat = atomic_load(&sh.batches);
        lat = atomic_load(&sh.lat_sum_us);
        dt = (double)(now - prev_t_us) / 1e6;
        printf("t=%ds reports/s=%.0f batches/s=%.0f mean_ms=%.1f errors=%lld busy=%lld\n", sec,
               (double)(rep - prev_reports) / dt, (double)(bat - prev_batches) / dt,
               bat > prev_batches ? (double)(lat - prev_lat) / 1000.0 / (double)(bat - prev_batches)
                                  : 0.0,
               (long long)atomic_load(&sh.errors), (long long)atomic_load(&sh.busy));
        fflush(stdout);
        prev_reports = rep;
        prev_batches = bat;
        prev_lat = lat;
        prev_t_us = now;
    }
    if (o->is_http2) {
        for (i = 0; i < o->connections; i++)
            pthread_join(w[i].thread, NULL);
    } else {
        for (i = 0; i < n_threads; i++)
            pthread_join(ts[i].thread, NULL);
        pthread_barrier_destroy(&sh.ready);
    }
    end_us = lg_mono_us();

    for (i = 0; i < o->connections; i++)
        lg_loadgen_latency_merge(&all, &w[i].lat);
    for (i = 0; ts != NULL && i < n_threads; i++)
        lg_loadgen_latency_merge(&all, &ts[i].lat);
    lg_loadgen_latency_sort(&all);
    secs = (double)(end_us - sh.start_us) / 1e6;
    if (atomic_load(&sh.first_error_status))
        fprintf(stderr, "mme-sim: first refused batch got HTTP %d\n",
                atomic_load(&sh.first_error_status));
    printf("RESULT reports=%lld seconds=%.2f reports_per_s=%.0f batches=%lld p50_ms=%.1f "
           "p99_ms=%.1f max_ms=%.1f errors=%lld busy=%lld\n",
           (long long)atomic_load(&sh.reports), secs,
           (double)atomic_load(&sh.reports) / secs, (long long)atomic_load(&sh.batches),
           lg_loadgen_latency_pct_ms(&all, 0.50), lg_loadgen_latency_pct_ms(&all, 0.99),
           lg_loadgen_latency_max_ms(&all), (long long)atomic_load(&sh.errors),
           (long long)atomic_load(&sh.busy));
    fflush(stdout);

    if (ts != NULL)
        h1_threads_free(ts, n_threads);
    for (i = 0; i < o->connections; i++) {
        free(w[i].buf);
        free(w[i].supi_off);
        free(w[i].cell_off);
        free(w[i].ts_off);
        lg_mix_picker_free(w[i].picker);
        lg_loadgen_latency_cleanup(&w[i].lat);
    }
    free(w);
    lg_mix_free(sh.mix);
    lg_loadgen_latency_cleanup(&all);
    SSL_CTX_free(sh.ctx);
    return atomic_load(&sh.reports) > 0 && atomic_load(&sh.errors) == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- main -- */

enum {
    OPT_HOST = 256, OPT_PORT, OPT_CERT, OPT_KEY, OPT_CA, OPT_NODE, OPT_SEQ_START, OPT_SEQ,
    OPT_SENT_AT_OFFSET, OPT_MCC, OPT_MNC, OPT_FILE, OPT_SUPI, OPT_CELL, OPT_RAT, OPT_TIME,
    OPT_LAT, OPT_LON, OPT_UNC, OPT_IMSI_BASE, OPT_DEVICES, OPT_CELL_COUNT, OPT_CONNECTIONS,
    OPT_BATCH, OPT_DURATION, OPT_RATE, OPT_HOME_FRACTION, OPT_SEED, OPT_MOVERS, OPT_REPEATS,
    OPT_REPEAT_POOL, OPT_BURST, OPT_HTTP2, OPT_STREAMS, OPT_NO_SEQ, OPT_THREADS, OPT_HELP
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"node", required_argument, NULL, OPT_NODE},
        {"seq-start", required_argument, NULL, OPT_SEQ_START},
        {"seq", required_argument, NULL, OPT_SEQ},
        {"sent-at-offset", required_argument, NULL, OPT_SENT_AT_OFFSET},
        {"no-seq", no_argument, NULL, OPT_NO_SEQ},
        {"mcc", required_argument, NULL, OPT_MCC},
        {"mnc", required_argument, NULL, OPT_MNC},
        {"file", required_argument, NULL, OPT_FILE},
        {"supi", required_argument, NULL, OPT_SUPI},
        {"cell", required_argument, NULL, OPT_CELL},
        {"rat", required_argument, NULL, OPT_RAT},
        {"time", required_argument, NULL, OPT_TIME},
        {"lat", required_argument, NULL, OPT_LAT},
        {"lon", required_argument, NULL, OPT_LON},
        {"unc-m", required_argument, NULL, OPT_UNC},
        {"imsi-base", required_argument, NULL, OPT_IMSI_BASE},
        {"devices", required_argument, NULL, OPT_DEVICES},
        {"cell-count", required_argument, NULL, OPT_CELL_COUNT},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"rate", required_argument, NULL, OPT_RATE},
        {"home-fraction", required_argument, NULL, OPT_HOME_FRACTION},
        {"seed", required_argument, NULL, OPT_SEED},
        {"movers", required_argument, NULL, OPT_MOVERS},
        {"repeats", required_argument, NULL, OPT_REPEATS},
        {"repeat-pool", required_argument, NULL, OPT_REPEAT_POOL},
        {"burst", no_argument, NULL, OPT_BURST},
        {"http2", no_argument, NULL, OPT_HTTP2},
        {"streams", required_argument, NULL, OPT_STREAMS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    sim_opts_t o = {
        .host = "127.0.0.1",
        .node = "mme-1",
        .mcc = "001",
        .mnc = "01",
        .unc_m = 50,
        .imsi_base = 1010000000000ULL, /* 001010000000000 */
        .devices = 1000,
        .cell_count = 100,
        .connections = 1,
        .threads = 2,
        .batch = 100,
        .duration_s = 10,
        .home_fraction = 0.99,
        .repeat_pool = 1000,
        .streams = 100,
    };
    const char *cmd;
    int opt;
    int64_t v;
    double d;

    signal(SIGPIPE, SIG_IGN);
    o.seq_start = lg_now_us() / 1000;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    optind = 2;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            if (strlen(optarg) > 253)
                goto bad;
            o.host = optarg;
            break;
        case OPT_PORT:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > 65535)
                goto bad;
            o.port = (int)v;
            break;
        case OPT_CERT: o.cert_file = optarg; break;
        case OPT_KEY: o.key_file = optarg; break;
        case OPT_CA: o.ca_file = optarg; break;
        case OPT_NODE:
            if (strlen(optarg) > 63)
                goto bad;
            o.node = optarg;
            break;
        case OPT_SEQ_START:
            if (!lg_loadgen_parse_i64(optarg, &o.seq_start) || o.seq_start < 1)
                goto bad;
            break;
        case OPT_SEQ:
            if (!lg_loadgen_parse_i64(optarg, &o.seq) || o.seq < 1)
                goto bad;
            break;
        case OPT_SENT_AT_OFFSET:
            if (!lg_loadgen_parse_double(optarg, &o.sent_at_offset_s))
                goto bad;
            break;
        case OPT_MCC:
            if (strlen(optarg) > 3)
                goto bad;
            o.mcc = optarg;
            break;
        case OPT_MNC:
            if (strlen(optarg) > 3)
                goto bad;
            o.mnc = optarg;
            break;
        case OPT_FILE: o.file = optarg; break;
        case OPT_SUPI: o.supi = optarg; break;
        case OPT_CELL: o.cell = optarg; break;
        case OPT_RAT: o.rat = optarg; break;
        case OPT_TIME: o.time = optarg; break;
        case OPT_LAT:
            if (!lg_loadgen_parse_double(optarg, &o.lat))
                goto bad;
            o.has_lat = true;
            break;
        case OPT_LON:
            if (!lg_loadgen_parse_double(optarg, &o.lon))
                goto bad;
            o.has_lon = true;
            break;
        case OPT_UNC:
            if (!lg_loadgen_parse_double(optarg, &o.unc_m) || o.unc_m < 0)
                goto bad;
            break;
        case OPT_IMSI_BASE:
            if (!lg_loadgen_parse_imsi(optarg, &o.imsi_base))
                goto bad;
            break;
        case OPT_DEVICES:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1)
                goto bad;
            o.devices = (long)v;
            break;
        case OPT_CELL_COUNT:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1)
                goto bad;
            o.cell_count = (long)v;
            break;
        case OPT_CONNECTIONS:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > MAX_CONNECTIONS)
                goto bad;
            o.connections = (int)v;
            break;
        case OPT_BATCH:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > MAX_BATCH)
                goto bad;
            o.batch = (int)v;
            break;
        case OPT_DURATION:
            if (!lg_loadgen_parse_double(optarg, &o.duration_s))
                goto bad;
            break;
        case OPT_RATE:
            if (!lg_loadgen_parse_double(optarg, &o.rate))
                goto bad;
            break;
        case OPT_HOME_FRACTION:
            if (!lg_loadgen_parse_double(optarg, &d))
                goto bad;
            o.home_fraction = d;
            break;
        case OPT_SEED:
            if (!lg_loadgen_parse_i64(optarg, &v))
                goto bad;
            o.rng_seed = (uint64_t)v;
            break;
        case OPT_MOVERS:
            if (!lg_loadgen_parse_double(optarg, &o.movers) || o.movers < 0 || o.movers > 1)
                goto bad;
            break;
        case OPT_REPEATS:
            if (!lg_mix_parse_range(optarg, &o.repeat_min, &o.repeat_max))
                goto bad;
            break;
        case OPT_REPEAT_POOL:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > 10000000)
                goto bad;
            o.repeat_pool = (long)v;
            break;
        case OPT_BURST: o.is_burst = true; break;
        case OPT_HTTP2: o.is_http2 = true; break;
        case OPT_NO_SEQ: o.no_seq = true; break;
        case OPT_STREAMS:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > MAX_STREAMS) {
                fprintf(stderr, "mme-sim: --streams must be 1..%d\n", MAX_STREAMS);
                return 2;
            }
            o.streams = (int)v;
            break;
        case OPT_THREADS:
            if (!lg_loadgen_parse_i64(optarg, &v) || v < 1 || v > MAX_THREADS)
                goto bad;
            o.threads = (int)v;
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
        for (v = 0; longopts[v].name != NULL && longopts[v].val != opt; v++)
            ; /* the option's name: longopts is not in the order of the OPT_ values */
        fprintf(stderr, "mme-sim: bad value for --%s: %s\n",
                longopts[v].name ? longopts[v].name : "?", optarg);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "mme-sim: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (o.port == 0) {
        fprintf(stderr, "mme-sim: --port is required\n");
        return 2;
    }
    if (strcmp(cmd, "send") == 0)
        return cmd_send(&o);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(&o);
    if (strcmp(cmd, "load") == 0)
        return cmd_load(&o);
    fprintf(stderr, "mme-sim: unknown command %s (send, report, load; --help)\n", cmd);
    return 2;
}
