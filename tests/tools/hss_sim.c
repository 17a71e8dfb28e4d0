/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hss-sim: an HSS on freeDiameter answering S6t Configuration-Information-
 * Requests (TS 29.336), for the tests and the demo. It listens (TLS from
 * the first byte, as locguard's zone does, or plain TCP), accepts only the
 * SCEF whose identity it is told, and answers each CIR: DIAMETER_SUCCESS,
 * or the Experimental-Result-Code the failure file names for the user. A
 * deletion of a reference it does not hold is answered
 * DIAMETER_ERROR_CONFIGURATION_EVENT_NON_EXISTANT (5514), as an HSS does.
 * Every Monitoring-Event-Configuration received is written as a line to
 * the record file (flushed at once), so a test can read what it was sent:
 *
 *   configure imsi=001010000000001 ref=7 scef=locguard type=2 location=0 accuracy=0 result=2001
 *   delete imsi=001010000000001 ref=7 scef=locguard type=2 result=2001
 *
 *   hss-sim --identity ID --realm REALM --listen HOST:PORT --accept SCEF-ID
 *           (--cert F --key F --ca F | --plain) --record FILE [--fail-file FILE]
 *
 * The failure file, read again for every CIR (absent: no failures), holds
 * lines "IMSI CODE": that user's CIRs are answered with Experimental-Result
 * CODE (vendor 3GPP), e.g. 5513 DIAMETER_ERROR_CONFIGURATION_EVENT_STORAGE_
 * NOT_SUCCESSFUL. Runs until SIGTERM or SIGINT.
 */
#include "locguard/diameter/dict.h"
#include "locguard/diameter/rir.h"

#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct options {
    const char *identity, *realm, *accept, *cert, *key, *ca, *record, *fail_file;
    char host[64];
    int port;
    bool is_plain;
} options_t;

static options_t O = {.realm = "test"};
static lg_dia_dict_t D;
static FILE *record_file;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The references configured (ref -> IMSI), guarded by lock. */
#define HELD_MAX 100000
static struct {
    uint32_t ref;
    char imsi[16];
} held[HELD_MAX];
static size_t n_held;

#ifdef __SANITIZE_ADDRESS__
/* As dia-sim: freeDiameter 1.2.1's own leaks at shutdown are not the simulator's. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}
#endif

static void die(const char *what)
{
    fprintf(stderr, "hss-sim: %s\n", what);
    exit(2);
}

/* The first child of parent with code, or NULL. */
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

/* The AVP after a with code, or NULL. */
static struct avp *find_next(struct avp *a, uint32_t code)
{
    struct avp_hdr *h;

    while (fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL) == 0 && a != NULL)
        if (fd_msg_avp_hdr(a, &h) == 0 && h->avp_code == code)
            return a;
    return NULL;
}

static bool u32_of(struct avp *a, uint32_t *out)
{
    struct avp_hdr *h;

    if (a == NULL || fd_msg_avp_hdr(a, &h) != 0 || h->avp_value == NULL)
        return false;
    *out = h->avp_value->u32;
    return true;
}

/* An OctetString AVP's value as text, or "-". */
static void str_of(struct avp *a, char *buf, size_t size)
{
    struct avp_hdr *h;

    if (a == NULL || fd_msg_avp_hdr(a, &h) != 0 || h->avp_value == NULL) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%.*s", (int)h->avp_value->os.len, (const char *)h->avp_value->os.data);
}

/* The failure code the failure file names for imsi, or 0. */
static uint32_t failure_for(const char *imsi)
{
    char user[64];
    unsigned code;
    uint32_t found = 0;

    if (O.fail_file == NULL)
        return 0;
    FILE *f = fopen(O.fail_file, "r");
    if (f == NULL)
        return 0;
    while (fscanf(f, "%63s %u", user, &code) == 2)
        if (strcmp(user, imsi) == 0)
            found = code;
    fclose(f);
    return found;
}

static size_t held_index(uint32_t ref)
{
    for (size_t i = 0; i < n_held; i++)
        if (held[i].ref == ref)
            return i;
    return SIZE_MAX;
}

/*
 * One Monitoring-Event-Configuration of imsi: held or released, recorded.
 * Returns its result code (2001, the scripted failure, or 5514 for the
 * deletion of a reference not held).
 */
static uint32_t configure(struct avp *mec, const char *imsi)
{
    uint32_t ref = 0, del = 0, type = 0, loc = UINT32_MAX, acc = UINT32_MAX;
    char scef[256];
    struct avp *lic = find(mec, LG_AVP_LOCATION_INFORMATION_CONFIGURATION);
    bool has_ref = u32_of(find(mec, LG_AVP_SCEF_REFERENCE_ID), &ref);
    bool has_del = u32_of(find(mec, LG_AVP_SCEF_REFERENCE_ID_FOR_DELETION), &del);
    uint32_t code = failure_for(imsi);

    str_of(find(mec, LG_AVP_SCEF_ID), scef, sizeof(scef));
    (void)u32_of(find(mec, LG_AVP_MONITORING_TYPE), &type);
    if (lic != NULL) {
        (void)u32_of(find(lic, LG_AVP_MONTE_LOCATION_TYPE), &loc);
        (void)u32_of(find(lic, LG_AVP_ACCURACY), &acc);
    }
    pthread_mutex_lock(&lock);
    if (code == 0) {
        code = 2001;
        if (has_del) {
            size_t i = held_index(del);
            if (i == SIZE_MAX || strncmp(held[i].imsi, imsi, sizeof(held[i].imsi)) != 0)
                code = LG_DIA_ERROR_CONFIGURATION_EVENT_NON_EXISTANT;
            else
                held[i] = held[--n_held];
        }
        if (has_ref && held_index(ref) == SIZE_MAX && n_held < HELD_MAX) {
            held[n_held].ref = ref;
            snprintf(held[n_held].imsi, sizeof(held[n_held].imsi), "%.15s", imsi);
            n_held++;
        }
    }
    if (has_del)
        fprintf(record_file, "delete imsi=%s ref=%u scef=%s type=%u result=%u\n", imsi, del, scef,
                type, code);
    if (has_ref) {
        fprintf(record_file, "configure imsi=%s ref=%u scef=%s type=%u", imsi, ref, scef, type);
        if (loc != UINT32_MAX)
            fprintf(record_file, " location=%u", loc);
        if (acc != UINT32_MAX)
            fprintf(record_file, " accuracy=%u", acc);
        fprintf(record_file, " result=%u\n", code);
    }
    fflush(record_file);
    pthread_mutex_unlock(&lock);
    return code;
}

static void add_u32(struct dict_object *model, msg_or_avp *parent, uint32_t x)
{
    struct avp *a;
    union avp_value v = {.u32 = x};

    if (fd_msg_avp_new(model, 0, &a) != 0 || fd_msg_avp_setvalue(a, &v) != 0 ||
        fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a) != 0)
        die("cannot build an AVP");
}

/* The CIR handler (a dispatch thread): record, answer. */
static int on_cir(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    char imsi[64];
    uint32_t code = 2001;
    (void)avp;
    (void)sess;
    (void)opaque;

    *act = DISP_ACT_CONT;
    struct avp *uid = find(*msg, LG_AVP_USER_IDENTIFIER);
    str_of(uid != NULL ? find(uid, LG_AVP_USER_NAME) : NULL, imsi, sizeof(imsi));
    for (struct avp *mec = find(*msg, LG_AVP_MONITORING_EVENT_CONFIGURATION); mec != NULL;
         mec = find_next(mec, LG_AVP_MONITORING_EVENT_CONFIGURATION)) {
        uint32_t c = configure(mec, imsi);
        if (c != 2001)
            code = c;
    }
    if (fd_msg_new_answer_from_req(D.dict, msg, 0) != 0)
        die("cannot make an answer");
    add_u32(D.auth_session_state, *msg, 1); /* NO_STATE_MAINTAINED */
    if (code == 2001) {
        if (fd_msg_rescode_set(*msg, "DIAMETER_SUCCESS", NULL, NULL, 1) != 0)
            die("cannot set the result");
    } else {
        struct avp *er;
        if (fd_msg_add_origin(*msg, 0) != 0 || fd_msg_avp_new(D.experimental_result, 0, &er) != 0)
            die("cannot build an AVP");
        add_u32(D.vendor_id, er, LG_DIA_VENDOR_3GPP);
        add_u32(D.experimental_result_code, er, code);
        if (fd_msg_avp_add(*msg, MSG_BRW_LAST_CHILD, er) != 0)
            die("cannot build an AVP");
    }
    if (fd_msg_send(msg, NULL, NULL) != 0)
        die("cannot send an answer");
    return 0;
}

/* Only the SCEF we were told of may connect; over TLS freeDiameter has checked its chain. */
static int on_validate(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
    (void)cb2;
    if (info->pi_diamidlen != strlen(O.accept) ||
        strncasecmp(info->pi_diamid, O.accept, info->pi_diamidlen) != 0) {
        *auth = -1;
        return 0;
    }
    info->config.pic_flags.sec = O.is_plain ? PI_SEC_NONE : PI_SEC_DEFAULT;
    *auth = 1;
    return 0;
}

static void quiet(int level, const char *format, va_list args)
{
    if (level >= FD_LOG_ERROR && getenv("HSS_SIM_VERBOSE") != NULL) {
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
    }
}

static void write_conf(char *path)
{
    strcpy(path, "/tmp/hss-sim-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
        die("cannot write the freeDiameter configuration");
    fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\n", O.identity, O.realm);
    fprintf(f, "Port = %d;\nSecPort = %d;\n", O.is_plain ? O.port : 0, O.is_plain ? 0 : O.port);
    fprintf(f, "ListenOn = \"%s\";\nNo_SCTP;\nNoRelay;\nTcTimer = 5;\n", O.host);
    if (!O.is_plain)
        fprintf(f, "TLS_Cred = \"%s\", \"%s\";\nTLS_CA = \"%s\";\n", O.cert, O.key, O.ca);
    fclose(f);
}

int main(int argc, char **argv)
{
    char path[64];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain") == 0) {
            O.is_plain = true;
            continue;
        }
        if (v == NULL)
            die("an option lacks its value");
        i++;
        if (strcmp(a, "--identity") == 0)
            O.identity = v;
        else if (strcmp(a, "--realm") == 0)
            O.realm = v;
        else if (strcmp(a, "--accept") == 0)
            O.accept = v;
        else if (strcmp(a, "--cert") == 0)
            O.cert = v;
        else if (strcmp(a, "--key") == 0)
            O.key = v;
        else if (strcmp(a, "--ca") == 0)
            O.ca = v;
        else if (strcmp(a, "--record") == 0)
            O.record = v;
        else if (strcmp(a, "--fail-file") == 0)
            O.fail_file = v;
        else if (strcmp(a, "--listen") == 0) {
            const char *colon = strrchr(v, ':');
            if (colon == NULL || (size_t)(colon - v) >= sizeof(O.host))
                die("--listen HOST:PORT");
            memcpy(O.host, v, (size_t)(colon - v));
            O.host[colon - v] = '\0';
            O.port = atoi(colon + 1);
        } else
            die("unknown option (see the source's header)");
    }
    if (O.identity == NULL || O.accept == NULL || O.record == NULL || O.port <= 0 ||
        (!O.is_plain && (O.cert == NULL || O.key == NULL || O.ca == NULL)))
        die("usage: see the header of tests/tools/hss_sim.c");
    if ((record_file = fopen(O.record, "a")) == NULL)
        die("cannot open the record file");

    /* SIGTERM and SIGINT are waited for below; freeDiameter's threads must not take them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    fd_g_debug_lvl = FD_LOG_ERROR;
    if (fd_log_handler_register(quiet) != 0 || fd_core_initialize() != 0)
        die("freeDiameter does not initialize");
    write_conf(path);
    int rc = fd_core_parseconf(path);
    unlink(path);
    if (rc != 0)
        die("freeDiameter refuses its configuration");
    struct disp_hdl *hdl;
    if (lg_dia_dict_load(fd_g_config->cnf_dict, &D) != LG_OK)
        die("cannot load the dictionary");
    struct disp_when when = {.app = D.app_s6t, .command = D.cmd_cir};
    if (fd_disp_app_support(D.app_s6t, D.vendor_3gpp, 1, 0) != 0 ||
        fd_disp_register(on_cir, DISP_HOW_CC, &when, NULL, &hdl) != 0 ||
        fd_peer_validate_register(on_validate) != 0)
        die("cannot register the S6t handler");
    if (fd_core_start() != 0 || fd_core_waitstartcomplete() != 0)
        die("freeDiameter does not start (is the port free?)");
    printf("hss-sim: %s listening on %s:%d\n", O.identity, O.host, O.port);
    fflush(stdout);

    int sig;
    sigwait(&sigs, &sig);
    (void)fd_core_shutdown();
    (void)fd_core_wait_shutdown_complete();
    fclose(record_file);
    return 0;
}
