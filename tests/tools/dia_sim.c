/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dia-sim: an MME (T6a) or SGSN (T6b) peer on freeDiameter, for the tests
 * and the demo. It connects to locguard's diameter zone over TLS (or plain
 * TCP), waits for the capabilities exchange, sends the
 * Reporting-Information-Requests its arguments describe, one after the
 * other, and prints each answer on a line:
 *
 *   rir 1: result=2001
 *   rir 2: result=5004 failed=1602
 *   rir 3: experimental=5001
 *
 * Exit status: 0 when every RIR got an answer, 3 when the peer connection
 * never opened (a refused peer), 4 when an answer did not come in time.
 *
 *   dia-sim --identity ID --realm REALM --connect HOST:PORT --server ID --server-realm REALM
 *           (--cert F --key F --ca F | --plain) [--timeout-s N] [--parallel] RIR...
 * (--parallel: every RIR sent at once, the answers printed in their order)
 *   dia-sim --identity ID --server ID --connect HOST:PORT --plain --dump DIR RIR...
 *           writes each RIR's bytes to DIR/rir-N.bin instead (the fuzz corpus)
 *
 * Each RIR is a comma-separated list:
 *   imsi=DIGITS        User-Identifier/User-Name (left out with noimsi)
 *   ecgi=MCC-MNC:ECI   MME-Location-Information with an ECGI (ECI: 7 hex digits),
 *   tai=MCC-MNC:TAC    ... and a TAI (TAC: 4 hex digits)
 *   cgi=MCC-MNC:LAC:CI, sai=MCC-MNC:LAC:SAC, rai=MCC-MNC:LAC:RAC
 *                      SGSN-Location-Information
 *   gad=HEX16          Geographical-Information (TS 23.032 point with uncertainty circle)
 *   age=MINUTES        Age-Of-Location-Information
 *   reports=N          N Monitoring-Event-Reports alike (default 1)
 *   ref=N              their SCEF-Reference-ID (default 1000, 1001, ...: one the HSS gave
 *                      locguard, when it configures references, is in hss-sim's record)
 * and the faults the tests need:
 *   origin=ID          an Origin-Host other than ours
 *   noimsi, nomer, noloc   User-Identifier / every report / its EPS-Location-Information left out
 *   badtype            SCEF-Reference-ID (Unsigned32) sent with 8 octets
 *   imsilen=N          a User-Name of N digits
 *   ecgilen=N          an E-UTRAN-Cell-Global-Identity of N octets
 *   resend             sent a second time with the T flag, the same End-to-End-Identifier
 *   e2e=HEX            this End-to-End-Identifier (a retransmission by a peer that restarted)
 *   tflag              the T flag set (a retransmission)
 */
#include "locguard/diameter/dict.h"
#include "locguard/diameter/rir.h"
#include "locguard/south/location.h"

#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct options {
    const char *identity, *realm, *server, *server_realm, *host, *cert, *key, *ca, *dump_dir;
    int port;
    bool is_plain;
    bool is_parallel; /* --parallel: every RIR sent at once */
    int timeout_s;
} options_t;

/* One answer, filled by freeDiameter's thread. */
typedef struct outcome {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    uint32_t result, experimental, failed;
} outcome_t;

static lg_dia_dict_t D;

#ifdef __SANITIZE_ADDRESS__
/*
 * Under `make SANITIZE=address`: no leak report for this simulator.
 * freeDiameter 1.2.1 leaves the requests it stored for answers and the CER
 * of a refused connection allocated when it shuts down; the daemon, whose
 * leaks matter, keeps LeakSanitizer on.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

static void die(const char *what)
{
    fprintf(stderr, "dia-sim: %s\n", what);
    exit(2);
}

static void add_os(struct dict_object *model, msg_or_avp *parent, const void *p, size_t len)
{
    struct avp *a;
    union avp_value v;
    memset(&v, 0, sizeof(v));
    v.os.data = (uint8_t *)(uintptr_t)p;
    v.os.len = len;
    if (fd_msg_avp_new(model, 0, &a) != 0 || fd_msg_avp_setvalue(a, &v) != 0 ||
        fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0)
        die("cannot build an AVP");
}

static void add_str(struct dict_object *model, msg_or_avp *parent, const char *s)
{
    add_os(model, parent, s, strlen(s));
}

static void add_u32(struct dict_object *model, msg_or_avp *parent, uint32_t x)
{
    struct avp *a;
    union avp_value v = {.u32 = x};
    if (fd_msg_avp_new(model, 0, &a) != 0 || fd_msg_avp_setvalue(a, &v) != 0 ||
        fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0)
        die("cannot build an AVP");
}

static struct avp *add_group(struct dict_object *model, msg_or_avp *parent)
{
    struct avp *a;
    if (fd_msg_avp_new(model, 0, &a) != 0 || fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0)
        die("cannot build an AVP");
    return a;
}

/* "MCC-MNC:X[:Y]": the PLMN's 3 octets and the hex fields after it, each of width bytes. */
static size_t identity(const char *spec, const int *widths, size_t n_fields, uint8_t *out)
{
    char plmn[8];
    const char *colon = strchr(spec, ':');
    size_t k = 3;

    if (colon == NULL || (size_t)(colon - spec) >= sizeof(plmn))
        die("bad identity");
    memcpy(plmn, spec, (size_t)(colon - spec));
    plmn[colon - spec] = '\0';
    if (lg_rir_plmn_encode(plmn, out) != LG_OK)
        die("bad PLMN");
    const char *p = colon + 1;
    for (size_t f = 0; f < n_fields; f++) {
        char *end;
        unsigned long x = strtoul(p, &end, 16);
        for (int b = widths[f] - 1; b >= 0; b--)
            out[k++] = (uint8_t)(x >> (8 * b));
        p = *end == ':' ? end + 1 : end;
    }
    return k;
}

/* The value of key in spec ("a=1,b=2"), copied into buf; NULL when absent. */
static const char *opt(const char *spec, const char *key, char *buf, size_t size)
{
    size_t n = strlen(key);
    for (const char *p = spec; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= n && strncmp(p, key, n) == 0 && (len == n || p[n] == '=')) {
            size_t vlen = len > n ? len - n - 1 : 0;
            if (vlen >= size)
                vlen = size - 1;
            memcpy(buf, p + (len > n ? n + 1 : n), vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void add_location(struct avp *mer, const char *spec)
{
    char v[128];
    uint8_t id[16];
    static const int ecgi_w[] = {4}, tai_w[] = {2}, cgi_w[] = {2, 2}, rai_w[] = {2, 1};

    if (opt(spec, "noloc", v, sizeof(v)))
        return;
    struct avp *eli = add_group(D.eps_location_information, mer);
    bool is_mme = opt(spec, "ecgi", v, sizeof(v)) != NULL || opt(spec, "ecgilen", v, sizeof(v));
    struct avp *li =
        add_group(is_mme ? D.mme_location_information : D.sgsn_location_information, eli);
    if (opt(spec, "ecgilen", v, sizeof(v))) {
        uint8_t big[4096];
        size_t n = (size_t)atoi(v);
        memset(big, 0x11, sizeof(big));
        add_os(D.ecgi, li, big, n < sizeof(big) ? n : sizeof(big));
    } else if (opt(spec, "ecgi", v, sizeof(v))) {
        add_os(D.ecgi, li, id, identity(v, ecgi_w, 1, id));
    }
    if (opt(spec, "tai", v, sizeof(v)))
        add_os(D.tai, li, id, identity(v, tai_w, 1, id));
    if (opt(spec, "cgi", v, sizeof(v)))
        add_os(D.cgi, li, id, identity(v, cgi_w, 2, id));
    if (opt(spec, "sai", v, sizeof(v)))
        add_os(D.sai, li, id, identity(v, cgi_w, 2, id));
    if (opt(spec, "rai", v, sizeof(v)))
        add_os(D.rai, li, id, identity(v, rai_w, 2, id));
    if (opt(spec, "gad", v, sizeof(v))) {
        uint8_t g[8];
        for (int i = 0; i < 8; i++) {
            unsigned x;
            if (sscanf(v + 2 * i, "%2x", &x) != 1)
                die("bad gad");
            g[i] = (uint8_t)x;
        }
        add_os(D.geographical_information, li, g, 8);
    }
    if (opt(spec, "age", v, sizeof(v)))
        add_u32(D.age_of_location_information, li, (uint32_t)atol(v));
}

/* A RIR as spec says, from us to the server. */
static struct msg *build(const options_t *o, const char *spec)
{
    struct msg *m;
    char v[256];

    if (fd_msg_new(D.cmd_rir, MSGFL_ALLOC_ETEID, &m) != 0 ||
        fd_msg_new_session(m, (os0_t) "dia-sim", 7) != 0)
        die("cannot build a RIR");
    struct msg_hdr *hdr;
    if (fd_msg_hdr(m, &hdr) != 0)
        die("no header");
    /* RFC 6733 §3: the low 12 bits of the time, then a random 20-bit start,
     * counted up. freeDiameter 1.2.1's own start is the same in every
     * process started in the same second (random() unseeded), and the tests
     * start many: that would make their requests look like retransmissions. */
    static uint32_t next_e2e;
    if (next_e2e == 0) {
        uint32_t r = 0;
        FILE *f = fopen("/dev/urandom", "rb");
        if (f == NULL || fread(&r, sizeof r, 1, f) != 1)
            die("no /dev/urandom");
        fclose(f);
        next_e2e = ((uint32_t)time(NULL) & 0xFFFu) << 20 | (r & 0xFFFFFu);
    }
    hdr->msg_eteid = next_e2e++;
    if (opt(spec, "e2e", v, sizeof(v)))
        hdr->msg_eteid = (uint32_t)strtoul(v, NULL, 16);
    if (opt(spec, "tflag", v, sizeof(v)))
        hdr->msg_flags |= CMD_FLAG_RETRANSMIT;
    add_u32(D.auth_session_state, m, 1); /* NO_STATE_MAINTAINED */
    if (opt(spec, "origin", v, sizeof(v))) {
        add_str(D.origin_host, m, v);
        add_str(D.origin_realm, m, o->realm);
    } else if (fd_msg_add_origin(m, 0) != 0) {
        die("cannot add the origin");
    }
    add_str(D.destination_host, m, o->server);
    add_str(D.destination_realm, m, o->server_realm);
    if (!opt(spec, "noimsi", v, sizeof(v))) {
        struct avp *uid = add_group(D.user_identifier, m);
        if (opt(spec, "imsilen", v, sizeof(v))) {
            char digits[8192];
            size_t n = (size_t)atoi(v);
            if (n >= sizeof(digits))
                n = sizeof(digits) - 1;
            memset(digits, '1', n);
            digits[n] = '\0';
            add_str(D.user_name, uid, digits);
        } else if (opt(spec, "imsi", v, sizeof(v))) {
            add_str(D.user_name, uid, v);
        }
    }
    if (opt(spec, "nomer", v, sizeof(v)))
        return m;
    int n = opt(spec, "reports", v, sizeof(v)) ? atoi(v) : 1;
    for (int i = 0; i < n; i++) {
        struct avp *mer = add_group(D.monitoring_event_report, m);
        if (opt(spec, "badtype", v, sizeof(v))) {
            /* An OctetString AVP relabelled as SCEF-Reference-ID: 8 octets for an Unsigned32. */
            struct avp *a;
            struct avp_hdr *h;
            union avp_value val;
            static uint8_t eight[8];
            memset(&val, 0, sizeof(val));
            val.os.data = eight;
            val.os.len = sizeof(eight);
            if (fd_msg_avp_new(D.tai, 0, &a) != 0 || fd_msg_avp_setvalue(a, &val) != 0 ||
                fd_msg_avp_hdr(a, &h) != 0)
                die("cannot build an AVP");
            h->avp_code = LG_AVP_SCEF_REFERENCE_ID;
            h->avp_flags |= AVP_FLAG_MANDATORY;
            fd_msg_avp_add(mer, MSG_BRW_LAST_CHILD, a);
        } else if (opt(spec, "ref", v, sizeof(v))) {
            add_u32(D.scef_reference_id, mer, (uint32_t)strtoul(v, NULL, 10));
        } else {
            add_u32(D.scef_reference_id, mer, 1000u + (uint32_t)i);
        }
        add_u32(D.monitoring_type, mer, LG_DIA_MONITORING_TYPE_LOCATION_REPORTING);
        add_location(mer, spec);
    }
    return m;
}

/* The first AVP of parent with code (vendor 0), or NULL. */
static struct avp *find(msg_or_avp *parent, uint32_t code)
{
    struct avp *a = NULL;
    struct avp_hdr *h;
    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &a, NULL) != 0)
        return NULL;
    while (a != NULL) {
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_code == code)
            return a;
        if (fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL) != 0)
            return NULL;
    }
    return NULL;
}

static uint32_t u32_of(struct avp *a)
{
    struct avp_hdr *h;
    return a != NULL && fd_msg_avp_hdr(a, &h) == 0 && h->avp_value != NULL ? h->avp_value->u32 : 0;
}

/* freeDiameter's thread: the answer came. */
static void on_answer(void *data, struct msg **msg)
{
    outcome_t *out = data;
    struct avp *a;
    struct avp_hdr *h;

    pthread_mutex_lock(&out->lock);
    out->result = u32_of(find(*msg, 268)); /* Result-Code */
    a = find(*msg, LG_AVP_EXPERIMENTAL_RESULT);
    out->experimental = a != NULL ? u32_of(find(a, LG_AVP_EXPERIMENTAL_RESULT_CODE)) : 0;
    a = find(*msg, LG_AVP_FAILED_AVP);
    if (a != NULL && fd_msg_browse(a, MSG_BRW_FIRST_CHILD, &a, NULL) == 0 && a != NULL &&
        fd_msg_avp_hdr(a, &h) == 0)
        out->failed = h->avp_code;
    out->is_done = true;
    pthread_cond_signal(&out->cond);
    pthread_mutex_unlock(&out->lock);
    fd_msg_free(*msg);
    *msg = NULL;
}

/* Sends m; its answer will be in out. */
static void send_rir(struct msg *m, outcome_t *out)
{
    pthread_mutex_init(&out->lock, NULL);
    pthread_cond_init(&out->cond, NULL);
    out->is_done = false;
    out->result = out->experimental = out->failed = 0;
    if (fd_msg_send(&m, on_answer, out) != 0)
        die("cannot send");
}

/* Waits (until the deadline) for out's answer and prints it. LG_ERR on timeout. */
static int await_answer(int n, outcome_t *out, const struct timespec *until)
{
    pthread_mutex_lock(&out->lock);
    while (!out->is_done)
        if (pthread_cond_timedwait(&out->cond, &out->lock, until) == ETIMEDOUT)
            break;
    bool is_done = out->is_done;
    pthread_mutex_unlock(&out->lock);
    if (!is_done) {
        printf("rir %d: no answer\n", n);
        return LG_ERR;
    }
    if (out->experimental != 0)
        printf("rir %d: experimental=%u", n, out->experimental);
    else
        printf("rir %d: result=%u", n, out->result);
    if (out->failed != 0)
        printf(" failed=%u", out->failed);
    printf("\n");
    fflush(stdout);
    return LG_OK;
}

static struct timespec deadline(const options_t *o)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += o->timeout_s;
    return until;
}

/* Sends m and waits for its answer; prints it. LG_ERR on timeout. */
static int exchange(const options_t *o, int n, struct msg *m)
{
    outcome_t out;
    send_rir(m, &out);
    struct timespec until = deadline(o);
    return await_answer(n, &out, &until);
}

/* A copy of m (same End-to-End-Identifier) with the T flag: a retransmission. */
static struct msg *retransmission(struct msg *m)
{
    uint8_t *buf;
    size_t len;
    struct msg *copy;
    struct msg_hdr *h;

    if (fd_msg_bufferize(m, &buf, &len) != 0 || fd_msg_parse_buffer(&buf, len, &copy) != 0 ||
        fd_msg_parse_dict(copy, D.dict, NULL) != 0 || fd_msg_hdr(copy, &h) != 0)
        die("cannot copy a RIR");
    h->msg_flags |= CMD_FLAG_RETRANSMIT;
    return copy;
}

static void write_conf(const options_t *o, char *path)
{
    strcpy(path, "/tmp/dia-sim-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
        die("cannot write the freeDiameter configuration");
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\n", o->identity, o->realm);
    fprintf(f, "Port = 0;\nSecPort = 0;\nNo_SCTP;\nNoRelay;\nTcTimer = 5;\n");
    if (!o->is_plain)
        fprintf(f, "TLS_Cred = \"%s\", \"%s\";\nTLS_CA = \"%s\";\n", o->cert, o->key, o->ca);
    fprintf(f, "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %d; No_SCTP; %s};\n", o->server,
            o->host, o->port, o->is_plain ? "No_TLS; " : "");
    fclose(f);
}

static bool is_open(const options_t *o)
{
    struct peer_hdr *p = NULL;
    return fd_peer_getbyid((DiamId_t)o->server, strlen(o->server), 0, &p) == 0 && p != NULL &&
           fd_peer_get_state(p) == STATE_OPEN;
}

static void quiet(int level, const char *format, va_list args)
{
    if (level >= FD_LOG_ERROR && getenv("DIA_SIM_VERBOSE") != NULL) {
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
    }
}

int main(int argc, char **argv)
{
    options_t o = {.timeout_s = 10, .realm = "test", .server_realm = "test"};
    int i;
    char path[64];

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain") == 0) {
            o.is_plain = true;
            continue;
        }
        if (strcmp(a, "--parallel") == 0) {
            o.is_parallel = true;
            continue;
        }
        if (v == NULL)
            die("an option lacks its value");
        i++;
        if (strcmp(a, "--identity") == 0)
            o.identity = v;
        else if (strcmp(a, "--realm") == 0)
            o.realm = v;
        else if (strcmp(a, "--server") == 0)
            o.server = v;
        else if (strcmp(a, "--server-realm") == 0)
            o.server_realm = v;
        else if (strcmp(a, "--cert") == 0)
            o.cert = v;
        else if (strcmp(a, "--key") == 0)
            o.key = v;
        else if (strcmp(a, "--ca") == 0)
            o.ca = v;
        else if (strcmp(a, "--dump") == 0)
            o.dump_dir = v;
        else if (strcmp(a, "--timeout-s") == 0)
            o.timeout_s = atoi(v);
        else if (strcmp(a, "--connect") == 0) {
            static char host[64];
            const char *colon = strrchr(v, ':');
            if (colon == NULL || (size_t)(colon - v) >= sizeof(host))
                die("--connect HOST:PORT");
            memcpy(host, v, (size_t)(colon - v));
            host[colon - v] = '\0';
            o.host = host;
            o.port = atoi(colon + 1);
        } else
            die("unknown option (see the source's header)");
    }
    if (o.identity == NULL || o.server == NULL || o.host == NULL ||
        (!o.is_plain && (o.cert == NULL || o.key == NULL || o.ca == NULL)))
        die("usage: see the header of tests/tools/dia_sim.c");

    /* freeDiameter may write to a connection the server has just closed (after the DPA). */
    signal(SIGPIPE, SIG_IGN);
    fd_g_debug_lvl = FD_LOG_ERROR;
    if (fd_log_handler_register(quiet) != 0 || fd_core_initialize() != 0)
        die("freeDiameter does not initialize");
    write_conf(&o, path);
    int rc = fd_core_parseconf(path);
    unlink(path);
    if (rc != 0)
        die("freeDiameter refuses its configuration");
    if (lg_dia_dict_load(fd_g_config->cnf_dict, &D) != LG_OK ||
        fd_disp_app_support(D.app_t6a, D.vendor_3gpp, 1, 0) != 0)
        die("cannot load the dictionary");
    if (o.dump_dir != NULL) {
        for (int n = 1; i < argc; i++, n++) {
            struct msg *m = build(&o, argv[i]);
            uint8_t *buf;
            size_t len;
            char file[512];
            snprintf(file, sizeof(file), "%s/rir-%d.bin", o.dump_dir, n);
            FILE *f = fopen(file, "wb");
            if (fd_msg_bufferize(m, &buf, &len) != 0 || f == NULL || fwrite(buf, 1, len, f) != len)
                die("cannot dump a RIR");
            fclose(f);
            free(buf);
            fd_msg_free(m);
        }
        return 0;
    }
    if (fd_core_start() != 0 || fd_core_waitstartcomplete() != 0)
        die("freeDiameter does not start");

    int status = 0;
    for (int waited_ms = 0; !is_open(&o); waited_ms += 50) {
        if (waited_ms >= o.timeout_s * 1000) {
            printf("not connected\n");
            status = 3;
            goto out;
        }
        usleep(50 * 1000);
    }
    if (o.is_parallel) {
        /* Every RIR sent at once, then the answers awaited in order. */
        int n_rirs = argc - i;
        outcome_t *outs = calloc((size_t)n_rirs, sizeof(*outs));
        if (outs == NULL)
            die("out of memory");
        for (int k = 0; k < n_rirs; k++)
            send_rir(build(&o, argv[i + k]), &outs[k]);
        struct timespec until = deadline(&o);
        for (int k = 0; k < n_rirs; k++)
            if (await_answer(k + 1, &outs[k], &until) != LG_OK)
                status = 4;
        goto out; /* outs stays allocated: answers may still come in */
    }
    for (int n = 1; i < argc; i++, n++) {
        char v[8];
        struct msg *m = build(&o, argv[i]);
        struct msg *again = opt(argv[i], "resend", v, sizeof(v)) ? retransmission(m) : NULL;
        if (exchange(&o, n, m) != LG_OK) {
            status = 4;
            break;
        }
        if (again != NULL && exchange(&o, n, again) != LG_OK) {
            status = 4;
            break;
        }
    }
out:
    /* A clean Disconnect-Peer exchange: a peer that vanishes stays open at
     * locguard until its watchdog notices, and the next dia-sim of the same
     * identity would meet that stale connection. */
    fflush(stdout);
    (void)fd_core_shutdown();
    (void)fd_core_wait_shutdown_complete();
    return status;
}
