/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Southbound: POST /v1/location-reports, an AMF's notifyUri and batching
 * nodes' endpoint. The order of the checks is the
 * order of their cost: the TLS layer has already verified the certificate;
 * then the framing (one Content-Length), the headers (none from an AMF; from
 * a batching node Locguard-Seq and Locguard-Sent-At, each once, and its
 * freshness), then the body (lg_report_parse_batch: the 3GPP YAML, then
 * locguard's rules), then the claim (notifyCorrelationId is the
 * certificate's node, or a live subscription of locguard at that AMF:
 * lg_amfsub_match, in memory). An AMF's notification goes to the group
 * commit with seq 0: no replay window, its retries counted once by their
 * content. Only a batch that passes all of them
 * reaches the group commit; the node's enabled flag and the replay window are checked there, inside
 * the transaction that stores the batch. Every answer but the 204 is a ProblemDetails; a 400 names
 * each invalid parameter: a JSON pointer into the body, "body", or "header <Name>". What the
 * server refuses before this handler runs (a body over the limit, 16 KiB of headers, broken
 * chunked framing) is a ProblemDetails too (http.c). The same code serves HTTP/1.1 and HTTP/2.
 */
#include "locguard/south/southbound.h"

#include "locguard/core/http.h"
#include "locguard/core/log.h"
#include "locguard/core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPORTS_PATH "/v1/location-reports"
#define ZONE         "southbound"

struct lg_southbound {
    lg_southbound_config_t cfg;
    lg_ingest_t *ingest;
    lg_metrics_t *metrics;
    const lg_amfsub_t *amfsub; /* the subscriptions at the AMFs; NULL = none */
};

/* A request waiting for its batch to commit. */
typedef struct pending {
    lg_southbound_t *sb;
    lg_httpd_req_t *req;
    size_t n_reports;
    int64_t received_us;
    char node[LG_NODE_NAME_MAX]; /* the certificate's node, the peer of log lines */
} pending_t;

lg_southbound_t *lg_southbound_new(const lg_southbound_config_t *cfg, lg_ingest_t *ingest,
                                   lg_metrics_t *metrics)
{
    lg_southbound_t *sb = lg_xcalloc(1, sizeof(*sb));
    sb->cfg = *cfg;
    sb->ingest = ingest;
    sb->metrics = metrics;
    return sb;
}

void lg_southbound_set_amfsub(lg_southbound_t *sb, const lg_amfsub_t *amfsub)
{
    sb->amfsub = amfsub;
}

void lg_southbound_free(lg_southbound_t *sb)
{
    free(sb);
}

/*
 * Counts a refused batch under reason and logs it, naming the peer (the
 * node, or the connection's address before the certificate is read), the
 * status and why; never a report's content.
 */
static void refuse(lg_southbound_t *sb, const char *peer, lg_counter_t reason, size_t n_reports,
                   int status, const char *why)
{
    lg_metrics_add(sb->metrics, reason, n_reports ? n_reports : 1);
    lg_zinfo(ZONE, peer, "batch refused with %d (%zu report%s): %s", status, n_reports,
             n_reports == 1 ? "" : "s", why);
}

static void on_ingested(void *arg, lg_ingest_status_t status)
{
    pending_t *p = arg;
    lg_southbound_t *sb = p->sb;
    lg_httpd_req_t *req = p->req;

    switch (status) {
    case LG_INGEST_ACCEPTED:
    case LG_INGEST_DUPLICATE:
        lg_ingest_count_committed(sb->metrics, status, p->n_reports);
        lg_http_reply_json(req, 204, NULL);
        break;
    case LG_INGEST_STALE:
        refuse(sb, p->node, LG_C_REFUSED_STALE, p->n_reports, 409,
               "Locguard-Seq below the replay window");
        lg_http_reply_problem(req, 409, "Conflict",
                              "Locguard-Seq is below the node's replay window", "STALE_SEQUENCE",
                              NULL, 0, 0);
        break;
    case LG_INGEST_UNKNOWN_NODE:
        refuse(sb, p->node, LG_C_REFUSED_UNKNOWN_NODE, p->n_reports, 403,
               "the node is not provisioned or is disabled");
        lg_http_reply_problem(req, 403, "Forbidden", "the node is not provisioned or is disabled",
                              "UNKNOWN_NODE", NULL, 0, 0);
        break;
    default:
        refuse(sb, p->node, LG_C_REFUSED_UNAVAILABLE, p->n_reports, 503,
               "the database is unavailable");
        lg_http_reply_unavailable(req, "the database is unavailable; resend this batch later",
                                  sb->cfg.retry_after_s);
        break;
    }
    lg_metrics_observe(sb->metrics, LG_H_ACK_LATENCY,
                       (double)(lg_mono_us() - p->received_us) / 1e6);
    free(p);
}

/* Appends one invalidParams entry naming a header ("header Locguard-Seq"). */
static void invalid_header(lg_invalid_param_t *invalid, size_t *n, const char *name,
                           const char *reason)
{
    snprintf(invalid[*n].param, sizeof(invalid[*n].param), "header %s", name);
    lg_strlcpy(invalid[*n].reason, reason, sizeof(invalid[*n].reason));
    (*n)++;
}

/*
 * Checks Locguard-Seq and Locguard-Sent-At. An AMF's notification has
 * neither: *seq is then 0 (no sequence, no replay window; the group commit
 * counts an AMF's retry once by its content). A batching node's has both,
 * each once, well formed, Sent-At fresh: one without the other is refused
 * too. On failure replies 400 naming each bad header and returns LG_ERR.
 */
static int check_headers(lg_southbound_t *sb, lg_httpd_req_t *req, const char *node,
                         int64_t *seq)
{
    lg_invalid_param_t invalid[2];
    size_t n = 0;
    bool is_stale = false;

    if (lg_httpd_header_count(req, "Locguard-Seq") == 0 &&
        lg_httpd_header_count(req, "Locguard-Sent-At") == 0) {
        *seq = 0;
        return LG_OK;
    }
    const char *s = lg_httpd_header(req, "Locguard-Seq");
    if (lg_httpd_header_count(req, "Locguard-Seq") > 1)
        invalid_header(invalid, &n, "Locguard-Seq", "must appear once");
    else if (s == NULL || lg_report_parse_seq(s, seq) != LG_OK)
        invalid_header(invalid, &n, "Locguard-Seq", "required: a decimal integer 1..2^63-1");

    const char *t = lg_httpd_header(req, "Locguard-Sent-At");
    int64_t sent_us;
    if (lg_httpd_header_count(req, "Locguard-Sent-At") > 1) {
        invalid_header(invalid, &n, "Locguard-Sent-At", "must appear once");
    } else if (t == NULL || lg_time_parse(t, strlen(t), &sent_us) != LG_OK) {
        invalid_header(invalid, &n, "Locguard-Sent-At", "required: an RFC 3339 date-time");
    } else {
        int64_t skew = lg_now_us() - sent_us;
        if (skew < 0)
            skew = -skew;
        if (skew > (int64_t)sb->cfg.freshness_s * 1000000) {
            char reason[96];
            snprintf(reason, sizeof(reason), "outside the freshness window of %d s",
                     sb->cfg.freshness_s);
            invalid_header(invalid, &n, "Locguard-Sent-At", reason);
            is_stale = true;
        }
    }
    if (n == 0)
        return LG_OK;
    refuse(sb, node, is_stale && n == 1 ? LG_C_REFUSED_NOT_FRESH : LG_C_REFUSED_INVALID, 0, 400,
           is_stale && n == 1 ? "Locguard-Sent-At outside the freshness window"
                              : "invalid Locguard-Seq or Locguard-Sent-At");
    lg_http_reply_problem(req, 400, "Bad Request", "invalid batch headers",
                          is_stale && n == 1 ? "STALE_TIMESTAMP" : "MANDATORY_IE_INCORRECT",
                          invalid, n, 0);
    return LG_ERR;
}

/*
 * Refuses a body framed twice (RFC 9112 6.3, the ways of request smuggling):
 * two Content-Lengths, or Content-Length with Transfer-Encoding. The HTTP/1.1
 * parser refuses both before this handler (httpd_h1.c) and HTTP/2 has no
 * Transfer-Encoding; this check keeps the rule where the zone reads the body,
 * whatever the layer under it. The connection is closed after the 400.
 */
static int check_framing(lg_southbound_t *sb, lg_httpd_req_t *req, const char *node)
{
    size_t n_lengths = lg_httpd_header_count(req, "Content-Length");
    lg_invalid_param_t invalid;
    size_t n = 0;

    if (n_lengths > 1)
        invalid_header(&invalid, &n, "Content-Length", "must appear once");
    else if (n_lengths == 1 && lg_httpd_header(req, "Transfer-Encoding") != NULL)
        invalid_header(&invalid, &n, "Content-Length", "not allowed with Transfer-Encoding");
    if (n == 0)
        return LG_OK;
    refuse(sb, node, LG_C_REFUSED_INVALID, 0, 400, "ambiguous body framing");
    lg_httpd_add_header(req, "Connection", "close");
    lg_http_reply_problem(req, 400, "Bad Request", "ambiguous body framing", "INVALID_MSG_FORMAT",
                          &invalid, n, 0);
    return LG_ERR;
}

/*
 * Ties the notification to its sender: notifyCorrelationId is the
 * certificate's node (a batching node), or "<node>.<token>" of a live
 * subscription of locguard at that AMF (lg_amfsub_match, in memory); the
 * batch is then the node's. A stale subscription's gets 404 (TS 29.500
 * §5.2.7: the AMF should drop it), anything else 403.
 */
static int check_correlation(lg_southbound_t *sb, lg_httpd_req_t *req, const char *node,
                             lg_batch_t *batch)
{
    if (strcmp(batch->node, node) == 0)
        return LG_OK;
    switch (lg_amfsub_match(sb->amfsub, node, batch->node)) {
    case LG_AMFSUB_LIVE:
        lg_strlcpy(batch->node, node, sizeof(batch->node));
        return LG_OK;
    case LG_AMFSUB_GONE:
        refuse(sb, node, LG_C_REFUSED_UNKNOWN_NODE, batch->n_reports, 404,
               "notifyCorrelationId names no live subscription");
        lg_http_reply_problem(req, 404, "Not Found",
                              "notifyCorrelationId names no live subscription of locguard",
                              "SUBSCRIPTION_NOT_FOUND", NULL, 0, 0);
        return LG_ERR;
    case LG_AMFSUB_OTHER:
        break;
    }
    refuse(sb, node, LG_C_REFUSED_UNKNOWN_NODE, batch->n_reports, 403,
           "notifyCorrelationId names another node");
    lg_http_reply_problem(req, 403, "Forbidden",
                          "notifyCorrelationId names neither the certificate's node nor one of "
                          "its subscriptions",
                          "NODE_MISMATCH", NULL, 0, 0);
    return LG_ERR;
}

void lg_southbound_handle(lg_httpd_req_t *req, void *arg)
{
    lg_southbound_t *sb = arg;
    const lg_southbound_config_t *cfg = &sb->cfg;
    int64_t received_us = lg_mono_us();
    char node[LG_NODE_NAME_MAX];

    if (strcmp(lg_httpd_path(req), REPORTS_PATH) != 0) {
        lg_http_reply_problem(req, 404, "Not Found", "no such resource", NULL, NULL, 0, 0);
        return;
    }
    if (lg_httpd_method(req) != LG_HTTP_POST) {
        lg_httpd_add_header(req, "Allow", "POST");
        lg_http_reply_problem(req, 405, "Method Not Allowed", "use POST", NULL, NULL, 0, 0);
        return;
    }
    if (lg_http_peer_cn(req, node, sizeof(node)) != LG_OK) {
        char addr[64];
        lg_http_peer_addr(req, addr, sizeof(addr));
        refuse(sb, addr, LG_C_REFUSED_UNKNOWN_NODE, 0, 403, "no usable client certificate");
        lg_http_reply_problem(req, 403, "Forbidden", "no usable client certificate", "UNKNOWN_NODE",
                              NULL, 0, 0);
        return;
    }
    if (check_framing(sb, req, node) != LG_OK)
        return;
    if (!lg_http_is_media_type(lg_httpd_header(req, "Content-Type"), "application/json")) {
        refuse(sb, node, LG_C_REFUSED_INVALID, 0, 415, "Content-Type is not application/json");
        lg_http_reply_problem(req, 415, "Unsupported Media Type", "send application/json", NULL,
                              NULL, 0, 0);
        return;
    }
    int64_t seq;
    if (check_headers(sb, req, node, &seq) != LG_OK)
        return;

    size_t len;
    const char *body = lg_http_body(req, &len);
    lg_report_limits_t lim = {
        .max_reports = (size_t)cfg->max_batch_reports,
        .now_us = lg_now_us(),
        .max_age_us = (int64_t)cfg->report_max_age_s * 1000000,
        .max_skew_us = (int64_t)cfg->report_max_skew_s * 1000000,
    };
    lg_batch_t batch = {0};
    if (lg_report_parse_batch(body, len, &lim, &batch) != LG_OK) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "%zu invalid parameter%s; nothing of this batch was stored", batch.n_invalid,
                 batch.n_invalid == 1 ? "" : "s");
        refuse(sb, node, LG_C_REFUSED_INVALID, 0, 400, detail);
        lg_http_reply_problem(req, 400, "Bad Request", detail, "MANDATORY_IE_INCORRECT",
                              batch.invalid, batch.n_invalid, 0);
        lg_batch_cleanup(&batch);
        return;
    }
    if (check_correlation(sb, req, node, &batch) != LG_OK) {
        lg_batch_cleanup(&batch);
        return;
    }

    pending_t *p = lg_xcalloc(1, sizeof(*p));
    p->sb = sb;
    p->req = req;
    p->n_reports = batch.n_reports;
    p->received_us = received_us;
    lg_strlcpy(p->node, node, sizeof(p->node));
    size_t n_reports = batch.n_reports;
    switch (lg_ingest_submit(sb->ingest, &batch, seq, on_ingested, p)) {
    case LG_INGEST_QUEUED:
        return;
    case LG_INGEST_QUEUE_FULL:
        refuse(sb, node, LG_C_REFUSED_QUEUE_FULL, n_reports, 503, "the ingest queue is full");
        lg_http_reply_unavailable(req, "the ingest queue is full; resend this batch later",
                                  sb->cfg.retry_after_s);
        break;
    default:
        refuse(sb, node, LG_C_REFUSED_UNAVAILABLE, n_reports, 503, "the database is unavailable");
        lg_http_reply_unavailable(req, "the database is unavailable; resend this batch later",
                                  sb->cfg.retry_after_s);
        break;
    }
    free(p);
}
