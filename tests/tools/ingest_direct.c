/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ingest-direct: the database's own limit for the hot path, the yardstick
 * `make bench` compares the daemon with. K threads, each with its own libpq
 * connection, call lg_ingest() (sql/ingest.sql) directly for S seconds with
 * batches of B random location reports, the same kind `mme-sim load` sends
 * through the daemon (device i from IMSI base + i, mostly its home cell
 * i % C; movers and repeats as in tests/tools/lib/mix.h, shared with
 * mme-sim). Each call carries B / P batches of P reports of node
 * "bench-direct", each with its own increasing sequence number, as the
 * daemon's flusher sends the batches of several requests in one round trip,
 * and runs in its own transaction (autocommit), so every acknowledged call
 * is a durable COMMIT. Parameters go in text format as array literals, built once
 * per thread and patched in place.
 *
 * Prints one line per second and a final line
 *   RESULT reports=N seconds=S reports_per_s=X p50_ms=.. p99_ms=.. ...
 * with the per-call latency (send to result).
 */
#include "locguard/core/common.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "lib/loadgen.h"
#include "lib/mix.h"

#define N_PARAMS 13
#define MAX_THREADS 64
#define MAX_BATCH 100000

static const char INGEST_SQL[] =
    "SELECT * FROM lg_ingest($1::text[], $2::bigint[], $3::int, $4::int, $5::int[], "
    "$6::text[], $7::bigint[], $8::text[], $9::text[], $10::float8[], $11::float8[], "
    "$12::float8[], $13::int)";

/* The command line. */
typedef struct direct_opts {
    const char *conninfo;   /* libpq connection string */
    const char *node;       /* node name of every batch */
    int connections;        /* threads, one connection each */
    int batch;              /* reports per call */
    int per_batch;          /* reports per batch (per request); batch is a multiple of it */
    double movers;          /* share of devices that change cell at every report */
    int repeat_min;         /* repeats: reports per device of the shared pool (0: none) */
    int repeat_max;
    int repeat_pool;        /* devices in the repeat pool */
    double duration_s;      /* how long to send */
    long devices;           /* device population (IMSI base + 0..devices-1) */
    long cell_count;        /* cell population */
    uint64_t imsi_base;     /* IMSI of device 0 */
    double home_fraction;   /* share of reports from the device's home cell */
    int seq_window;         /* lg_ingest p_seq_window */
    int hysteresis;         /* lg_ingest p_hysteresis */
    int refresh_ms;         /* lg_ingest p_refresh_ms */
    int64_t seq_start;      /* first sequence number (default: now in ms) */
    bool no_seq;            /* batches with no sequence number (an AMF's notifications) */
    uint64_t rng_seed;      /* 0 = from the clock */
} direct_opts_t;

/* Shared between threads. */
typedef struct direct_shared {
    const direct_opts_t *o;
    int64_t start_us, deadline_us;
    atomic_llong next_seq;
    atomic_llong reports;     /* reports of accepted calls */
    atomic_llong calls;       /* accepted calls */
    atomic_llong errors;      /* failed calls or batches not 'accepted' */
    atomic_llong retries;     /* calls rolled back by a deadlock and sent again */
    atomic_llong n_inside, n_outside, n_ambiguous, n_unknown_cell, n_unknown_device,
        n_unchecked, n_alerts, n_coalesced;
    atomic_bool failed;       /* a connection could not be made: stop */
    lg_mix_t *mix;            /* which devices and cells the reports name */
    char *accepted;           /* the batch_status of a call whose batches are all accepted */
} direct_shared_t;

/* One thread: its connection, its parameter buffers, its latencies. */
typedef struct direct_worker {
    direct_shared_t *sh;
    pthread_t thread;
    lg_mix_picker_t *picker; /* this thread's draws of the mix */
    char *nodes;           /* {"name",...}: one per batch */
    char *seqs;            /* {seq,...}: 19 digits at 1 + 20 k */
    char window[16], hyst[16], refresh[16];
    char *batch_idx;       /* {1,1,...,2,2,...}: each report's batch */
    char *supi;            /* {001010000000000,...}: 15 digits at 1 + 16 k */
    char *ts;              /* {us,...}: 16 digits at 1 + 17 k */
    char *rat;             /* {EUTRA,...} */
    char *cell;            /* {ecgi:001-01:XXXXXXX,...}: hex at 1 + 20 k + 12 */
    char *nulls;           /* {NULL,...} */
    lg_loadgen_latency_t lat; /* per accepted call */
} direct_worker_t;

static void usage(FILE *out)
{
    fprintf(out,
"usage: ingest-direct [options]\n"
"\n"
"Calls lg_ingest() directly over libpq, bypassing the daemon, to measure\n"
"what the database alone sustains on the hot path.\n"
"\n"
"  --db CONNINFO        libpq connection string (default $LOCGUARD_DATABASE)\n"
"  --connections K      threads, one connection each (default 2)\n"
"  --batch B            reports per call (default 1000)\n"
"  --per-batch P        reports per batch (default B): each call holds B / P\n"
"                       batches, each with its own sequence number, as the\n"
"                       daemon sends P-report requests together; B must be a\n"
"                       multiple of P\n"
"  --movers F           share of devices (i %% 100 >= 100 - 100 F) that report\n"
"                       home, a random cell, another, home... (mme-sim --movers)\n"
"  --repeats MIN-MAX    devices from a pool shared by all connections, each\n"
"                       reported MIN..MAX times (mme-sim --repeats)\n"
"  --repeat-pool N      devices in that pool (default 1000)\n"
"  --duration S         seconds to run (default 20)\n"
"  --devices N          devices provisioned (default 1000000)\n"
"  --cell-count C       cells provisioned (default 100000)\n"
"  --imsi-base IMSI     IMSI of device 0 (default 001010000000000)\n"
"  --home-fraction F    share of reports from the device's home cell i %% C\n"
"                       (default 0.99); the rest pick a random cell\n"
"  --node NAME          node of every batch (default bench-direct)\n"
"  --seq-start N        first batch sequence number (default: now in ms)\n"
"  --seq-window N       p_seq_window (default 1024)\n"
"  --no-seq             batches with no sequence number (NULL), as the daemon\n"
"                       sends an AMF's notifications: no replay-window row\n"
"  --hysteresis N       p_hysteresis (default 2)\n"
"  --refresh-ms MS      p_refresh_ms: coalesce reports that change nothing but\n"
"                       the stored time within MS (default 0: write every one)\n"
"  --seed N             random seed (default: from the clock)\n"
"  --help               this text\n"
"\n"
"Output: one line per second, then\n"
"RESULT reports=N seconds=S reports_per_s=X p50_ms=.. p99_ms=.. max_ms=.. calls=N\n"
"       errors=E inside=.. outside=.. ambiguous=.. unknown_cell=.. unknown_device=..\n"
"       unchecked=.. alerts=.. coalesced=.. retries=..\n");
}

/* Builds "{e,e,...}" with n copies of elem; returns a malloc'd string. */
static char *array_of(const char *elem, int n)
{
    size_t len = strlen(elem), pos = 0;
    char *s = lg_xmalloc(2 + (len + 1) * (size_t)n + 1);
    int i;

    s[pos++] = '{';
    for (i = 0; i < n; i++) {
        if (i > 0)
            s[pos++] = ',';
        memcpy(s + pos, elem, len);
        pos += len;
    }
    s[pos++] = '}';
    s[pos] = '\0';
    return s;
}

/* Builds "{1,1,2,2,...}": report k of the call is in batch k / per_batch + 1. */
static char *batch_indexes(int n, int per_batch)
{
    char *s = lg_xmalloc(2 + 12 * (size_t)n + 1);
    size_t pos = 0;
    int i;

    s[pos++] = '{';
    for (i = 0; i < n; i++)
        pos += (size_t)sprintf(s + pos, "%s%d", i > 0 ? "," : "", i / per_batch + 1);
    s[pos++] = '}';
    s[pos] = '\0';
    return s;
}

static void worker_render(direct_worker_t *w)
{
    const direct_opts_t *o = w->sh->o;
    int n_batches = o->batch / o->per_batch;
    char node[80];

    snprintf(node, sizeof(node), "\"%s\"", o->node);
    w->nodes = array_of(node, n_batches);
    w->seqs = array_of(o->no_seq ? "NULL" : "0000000000000000000", n_batches);
    snprintf(w->window, sizeof(w->window), "%d", o->seq_window);
    snprintf(w->hyst, sizeof(w->hyst), "%d", o->hysteresis);
    snprintf(w->refresh, sizeof(w->refresh), "%d", o->refresh_ms);
    w->batch_idx = batch_indexes(o->batch, o->per_batch);
    w->supi = array_of("000000000000000", o->batch);
    w->ts = array_of("0000000000000000", o->batch);
    w->rat = array_of("EUTRA", o->batch);
    w->cell = array_of("ecgi:001-01:0000000", o->batch);
    w->nulls = array_of("NULL", o->batch);
}

static void worker_fill(direct_worker_t *w, int64_t first_seq)
{
    const direct_opts_t *o = w->sh->o;
    uint64_t now = (uint64_t)lg_now_us();
    int i;

    for (i = 0; !o->no_seq && i < o->batch / o->per_batch; i++)
        lg_loadgen_put_dec(w->seqs + 1 + 20 * (size_t)i, (uint64_t)(first_seq + i), 19);
    for (i = 0; i < o->batch; i++) {
        uint64_t dev, cell;

        if (i % o->per_batch == 0)
            lg_mix_batch_begin(w->picker);
        lg_mix_pick(w->picker, &dev, &cell);
        lg_loadgen_put_dec(w->supi + 1 + 16 * (size_t)i, o->imsi_base + dev, 15);
        lg_loadgen_put_dec(w->ts + 1 + 17 * (size_t)i, now, 16);
        lg_loadgen_put_hex(w->cell + 1 + 20 * (size_t)i + 12, cell, 7);
    }
}

/* True when the call was rolled back by a deadlock (SQLSTATE 40P01). */
static bool is_deadlock(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && strcmp(state, "40P01") == 0;
}

static int col_int(const PGresult *res, const char *name)
{
    int c = PQfnumber(res, name);

    return c < 0 || PQgetisnull(res, 0, c) ? 0 : atoi(PQgetvalue(res, 0, c));
}

static void *direct_thread(void *arg)
{
    direct_worker_t *w = arg;
    direct_shared_t *sh = w->sh;
    const direct_opts_t *o = sh->o;
    PGconn *conn = PQconnectdb(o->conninfo);
    PGresult *res;
    const char *values[N_PARAMS];
    int first_error_logged = 0;

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "ingest-direct: connect: %s", PQerrorMessage(conn));
        atomic_store(&sh->failed, true);
        goto done;
    }
    res = PQprepare(conn, "ingest", INGEST_SQL, N_PARAMS, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ingest-direct: prepare: %s", PQerrorMessage(conn));
        PQclear(res);
        atomic_store(&sh->failed, true);
        goto done;
    }
    PQclear(res);
    values[0] = w->nodes;
    values[1] = w->seqs;
    values[2] = w->window;
    values[3] = w->hyst;
    values[4] = w->batch_idx;
    values[5] = w->supi;
    values[6] = w->ts;
    values[7] = w->rat;
    values[8] = w->cell;
    values[9] = w->nulls;
    values[10] = w->nulls;
    values[11] = w->nulls;
    values[12] = w->refresh;

    while (lg_mono_us() < sh->deadline_us && !atomic_load(&sh->failed)) {
        int64_t t0, seq = atomic_fetch_add(&sh->next_seq, o->batch / o->per_batch);
        int col;

        worker_fill(w, seq);
        t0 = lg_mono_us();
        res = PQexecPrepared(conn, "ingest", N_PARAMS, values, NULL, NULL, 0);
        /* A call rolled back by a deadlock wrote nothing: send it again, as the daemon does. */
        for (int attempt = 1; attempt < 3 && is_deadlock(res); attempt++) {
            PQclear(res);
            atomic_fetch_add(&sh->retries, 1);
            res = PQexecPrepared(conn, "ingest", N_PARAMS, values, NULL, NULL, 0);
        }
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            /* A failing call makes the measurement meaningless: say why once and stop. */
            const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

            fprintf(stderr, "ingest-direct: lg_ingest: %s\n", msg ? msg : PQerrorMessage(conn));
            atomic_fetch_add(&sh->errors, 1);
            atomic_store(&sh->failed, true);
            PQclear(res);
            break;
        }
        col = PQfnumber(res, "batch_status");
        if (col < 0 || strcmp(PQgetvalue(res, 0, col), sh->accepted) != 0) {
            if (!first_error_logged++)
                fprintf(stderr, "ingest-direct: batch %" PRId64 " not accepted: %s\n", seq,
                        col < 0 ? "(no batch_status)" : PQgetvalue(res, 0, col));
            atomic_fetch_add(&sh->errors, 1);
            PQclear(res);
            continue;
        }
        lg_loadgen_latency_add(&w->lat, lg_mono_us() - t0);
        atomic_fetch_add(&sh->reports, o->batch);
        atomic_fetch_add(&sh->calls, 1);
        atomic_fetch_add(&sh->n_inside, col_int(res, "n_inside"));
        atomic_fetch_add(&sh->n_outside, col_int(res, "n_outside"));
        atomic_fetch_add(&sh->n_ambiguous, col_int(res, "n_ambiguous"));
        atomic_fetch_add(&sh->n_unknown_cell, col_int(res, "n_unknown_cell"));
        atomic_fetch_add(&sh->n_unknown_device, col_int(res, "n_unknown_device"));
        atomic_fetch_add(&sh->n_unchecked, col_int(res, "n_unchecked"));
        atomic_fetch_add(&sh->n_alerts, col_int(res, "n_alerts"));
        atomic_fetch_add(&sh->n_coalesced, col_int(res, "n_coalesced"));
        PQclear(res);
    }
done:
    PQfinish(conn);
    return NULL;
}

static bool valid_node(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 1 || n > 63)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

int main(int argc, char **argv)
{
    enum { O_DB = 256, O_CONN, O_BATCH, O_DUR, O_DEV, O_CELLS, O_BASE, O_HOME, O_NODE,
           O_SEQ, O_NO_SEQ, O_WIN, O_HYST, O_REFRESH, O_SEED, O_PER_BATCH, O_MOVERS, O_REPEATS,
           O_REPEAT_POOL, O_HELP };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, O_DB},
        {"connections", required_argument, NULL, O_CONN},
        {"batch", required_argument, NULL, O_BATCH},
        {"duration", required_argument, NULL, O_DUR},
        {"devices", required_argument, NULL, O_DEV},
        {"cell-count", required_argument, NULL, O_CELLS},
        {"imsi-base", required_argument, NULL, O_BASE},
        {"home-fraction", required_argument, NULL, O_HOME},
        {"node", required_argument, NULL, O_NODE},
        {"seq-start", required_argument, NULL, O_SEQ},
        {"seq-window", required_argument, NULL, O_WIN},
        {"no-seq", no_argument, NULL, O_NO_SEQ},
        {"hysteresis", required_argument, NULL, O_HYST},
        {"refresh-ms", required_argument, NULL, O_REFRESH},
        {"seed", required_argument, NULL, O_SEED},
        {"per-batch", required_argument, NULL, O_PER_BATCH},
        {"movers", required_argument, NULL, O_MOVERS},
        {"repeats", required_argument, NULL, O_REPEATS},
        {"repeat-pool", required_argument, NULL, O_REPEAT_POOL},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    direct_opts_t o = {
        .conninfo = getenv("LOCGUARD_DATABASE"),
        .node = "bench-direct",
        .connections = 2,
        .batch = 1000,
        .duration_s = 20,
        .devices = 1000000,
        .cell_count = 100000,
        .imsi_base = 1010000000000ULL,
        .home_fraction = 0.99,
        .seq_window = 1024,
        .hysteresis = 2,
        .seq_start = lg_now_us() / 1000,
        .repeat_pool = 1000,
    };
    lg_mix_opts_t mo;
    const char *mix_err;
    direct_shared_t sh;
    direct_worker_t *w;
    lg_loadgen_latency_t all = {0};
    int64_t v, end_us, prev_t;
    long long prev_reports = 0;
    int opt, i, sec = 0, rc;
    double secs;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        bool ok = true;

        switch (opt) {
        case O_DB: o.conninfo = optarg; break;
        case O_CONN:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= MAX_THREADS;
            o.connections = (int)v;
            break;
        case O_BATCH:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= MAX_BATCH;
            o.batch = (int)v;
            break;
        case O_DUR: ok = lg_loadgen_parse_double(optarg, &o.duration_s) && o.duration_s > 0 &&
                         o.duration_s <= 3600; break;
        case O_DEV:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1;
            o.devices = (long)v;
            break;
        case O_CELLS:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= 0xFFFFFFF;
            o.cell_count = (long)v;
            break;
        case O_BASE: ok = lg_loadgen_parse_imsi(optarg, &o.imsi_base); break;
        case O_HOME:
            ok = lg_loadgen_parse_double(optarg, &o.home_fraction) && o.home_fraction >= 0 &&
                 o.home_fraction <= 1;
            break;
        case O_NODE: ok = valid_node(optarg); o.node = optarg; break;
        case O_NO_SEQ: o.no_seq = true; break;
        case O_SEQ: ok = lg_loadgen_parse_i64(optarg, &o.seq_start) && o.seq_start >= 1; break;
        case O_WIN:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 0 && v <= 1000000000;
            o.seq_window = (int)v;
            break;
        case O_HYST:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= 1000;
            o.hysteresis = (int)v;
            break;
        case O_REFRESH:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 0 && v <= 86400000;
            o.refresh_ms = (int)v;
            break;
        case O_SEED: ok = lg_loadgen_parse_i64(optarg, &v); o.rng_seed = (uint64_t)v; break;
        case O_PER_BATCH:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= MAX_BATCH;
            o.per_batch = (int)v;
            break;
        case O_MOVERS:
            ok = lg_loadgen_parse_double(optarg, &o.movers) && o.movers >= 0 && o.movers <= 1;
            break;
        case O_REPEATS: ok = lg_mix_parse_range(optarg, &o.repeat_min, &o.repeat_max); break;
        case O_REPEAT_POOL:
            ok = lg_loadgen_parse_i64(optarg, &v) && v >= 1 && v <= 10000000;
            o.repeat_pool = (int)v;
            break;
        case O_HELP:
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "ingest-direct: bad value for --%s: %s\n",
                    longopts[opt - O_DB].name, optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ingest-direct: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (o.conninfo == NULL) {
        fprintf(stderr, "ingest-direct: --db or $LOCGUARD_DATABASE is required\n");
        return 2;
    }
    if (o.imsi_base + (uint64_t)o.devices > 999999999999999ULL) {
        fprintf(stderr, "ingest-direct: --imsi-base + --devices exceeds 15 digits\n");
        return 2;
    }

    if (o.per_batch == 0)
        o.per_batch = o.batch;
    if (o.batch % o.per_batch != 0) {
        fprintf(stderr, "ingest-direct: --batch must be a multiple of --per-batch\n");
        return 2;
    }
    mo = (lg_mix_opts_t){
        .devices = o.devices,
        .cell_count = o.cell_count,
        .home_fraction = o.home_fraction,
        .movers_percent = (int)(o.movers * 100 + 0.5),
        .repeat_min = o.repeat_min,
        .repeat_max = o.repeat_max,
        .repeat_pool = o.repeat_pool,
    };
    mix_err = lg_mix_check(&mo);
    if (mix_err != NULL) {
        fprintf(stderr, "ingest-direct: %s\n", mix_err);
        return 2;
    }

    memset(&sh, 0, sizeof(sh));
    sh.o = &o;
    atomic_init(&sh.next_seq, o.seq_start);
    sh.mix = lg_mix_new(&mo);
    sh.accepted = array_of("accepted", o.batch / o.per_batch);
    w = lg_xcalloc((size_t)o.connections, sizeof(*w));
    for (i = 0; i < o.connections; i++) {
        w[i].sh = &sh;
        w[i].picker = lg_mix_picker_new(sh.mix, o.rng_seed, i, o.per_batch);
        worker_render(&w[i]);
    }
    sh.start_us = lg_mono_us();
    sh.deadline_us = sh.start_us + (int64_t)(o.duration_s * 1e6);
    for (i = 0; i < o.connections; i++)
        if (pthread_create(&w[i].thread, NULL, direct_thread, &w[i]) != 0)
            abort();

    prev_t = sh.start_us;
    while (lg_mono_us() < sh.deadline_us && !atomic_load(&sh.failed)) {
        int64_t next = sh.start_us + (int64_t)(sec + 1) * 1000000, now;
        long long rep;

        if (next > sh.deadline_us)
            next = sh.deadline_us;
        lg_loadgen_sleep_us(next - lg_mono_us());
        now = lg_mono_us();
        sec++;
        rep = atomic_load(&sh.reports);
        printf("t=%ds reports/s=%.0f errors=%lld\n", sec,
               (double)(rep - prev_reports) / ((double)(now - prev_t) / 1e6),
               (long long)atomic_load(&sh.errors));
        fflush(stdout);
        prev_reports = rep;
        prev_t = now;
    }
    for (i = 0; i < o.connections; i++)
        pthread_join(w[i].thread, NULL);
    end_us = lg_mono_us();

    for (i = 0; i < o.connections; i++)
        lg_loadgen_latency_merge(&all, &w[i].lat);
    lg_loadgen_latency_sort(&all);
    secs = (double)(end_us - sh.start_us) / 1e6;
    printf("RESULT reports=%lld seconds=%.2f reports_per_s=%.0f p50_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f calls=%lld errors=%lld inside=%lld outside=%lld ambiguous=%lld "
           "unknown_cell=%lld unknown_device=%lld unchecked=%lld alerts=%lld coalesced=%lld retries=%lld\n",
           (long long)atomic_load(&sh.reports), secs, (double)atomic_load(&sh.reports) / secs,
           lg_loadgen_latency_pct_ms(&all, 0.50), lg_loadgen_latency_pct_ms(&all, 0.99),
           lg_loadgen_latency_max_ms(&all), (long long)atomic_load(&sh.calls),
           (long long)atomic_load(&sh.errors), (long long)atomic_load(&sh.n_inside),
           (long long)atomic_load(&sh.n_outside), (long long)atomic_load(&sh.n_ambiguous),
           (long long)atomic_load(&sh.n_unknown_cell),
           (long long)atomic_load(&sh.n_unknown_device), (long long)atomic_load(&sh.n_unchecked),
           (long long)atomic_load(&sh.n_alerts), (long long)atomic_load(&sh.n_coalesced),
           (long long)atomic_load(&sh.retries));
    fflush(stdout);
    rc = atomic_load(&sh.failed) || atomic_load(&sh.reports) == 0 ? 1 : 0;

    for (i = 0; i < o.connections; i++) {
        free(w[i].nodes);
        free(w[i].seqs);
        free(w[i].batch_idx);
        free(w[i].supi);
        free(w[i].ts);
        free(w[i].rat);
        free(w[i].cell);
        free(w[i].nulls);
        lg_mix_picker_free(w[i].picker);
        lg_loadgen_latency_cleanup(&w[i].lat);
    }
    free(w);
    lg_mix_free(sh.mix);
    free(sh.accepted);
    lg_loadgen_latency_cleanup(&all);
    return rc;
}
