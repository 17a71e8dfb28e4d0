/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader of the in-memory count evaluator (see countmap.h): one state
 * machine over the asynchronous pool that polls for cell and release
 * changes, loads the cells and coverage pieces (lg_counts_geo, asked for in
 * binary so the WKB arrives as bytes and goes to lg_countgeo_add_wkb as it
 * is) and the new releases, and swaps a new snapshot in. Everything runs on
 * the loop thread; a round trip in flight when the map is freed is
 * abandoned (its callback sees op->m NULL).
 */
#include "locguard/counts/countmap.h"

#include "locguard/core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum load_state { LOAD_IDLE, LOAD_POLL, LOAD_GEO, LOAD_RELEASE } load_state_t;

/* A round trip under way; m is NULL once the map is freed. */
typedef struct op {
    lg_countmap_t *m;
} op_t;

struct lg_countmap {
    struct event_base *base;
    lg_db_t *db;
    lg_countmap_config_t cfg;
    struct event *timer;
    lg_counteval_snap_t *snap; /* the current snapshot, NULL until the first load */
    uint64_t generation;
    load_state_t state;
    bool is_poked; /* poll again as soon as the load under way ends */
    op_t *op;      /* the round trip in flight */
    /* The load under way. */
    int64_t poll_version; /* count_geo_version.version at the poll */
    int64_t bad_version;  /* a cell table version the evaluator could not load, or -1 */
    int64_t horizon_us;
    lg_countgeo_t *geo; /* the geometry of the next snapshot (a reference) */
    int64_t *want;      /* the release ids to keep, from the poll */
    size_t n_want;
    size_t next;               /* want[next] is the next release to look at */
    lg_counteval_rel_t **have; /* releases ready (references) */
    size_t n_have;
};

static const char poll_sql[] =
    "SELECT geo_version, geo_built, id FROM lg_counts_releases_since($1::bigint)";
static const char geo_sql[] = "SELECT version, kind, geom FROM lg_counts_geo()";
static const char release_sql[] = "SELECT version, bucket_start_us, bucket_end_us, cells, noisy "
                                  "FROM lg_counts_release_noisy($1::bigint)";

static void step(lg_countmap_t *m);

static void arm(lg_countmap_t *m, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(m->timer, &tv);
}

/* Drops the load under way and goes idle; the next poll starts over. */
static void load_reset(lg_countmap_t *m)
{
    for (size_t i = 0; i < m->n_have; i++)
        lg_counteval_rel_unref(m->have[i]);
    free(m->have);
    m->have = NULL;
    m->n_have = 0;
    free(m->want);
    m->want = NULL;
    m->n_want = m->next = 0;
    lg_countgeo_unref(m->geo);
    m->geo = NULL;
    m->state = LOAD_IDLE;
    m->op = NULL;
    arm(m, m->is_poked ? 0 : m->cfg.poll_ms);
    m->is_poked = false;
}

/* Starts a round trip; false (and idle again) when the pool refuses it. */
static bool send_query(lg_countmap_t *m, load_state_t state, const char *sql, int n,
                       const char *const *values, lg_db_cb cb, bool is_binary)
{
    op_t *op = lg_xcalloc(1, sizeof(*op));
    op->m = m;
    m->op = op;
    m->state = state;
    int rc = is_binary ? lg_db_query_binary(m->db, sql, n, values, cb, op)
                       : lg_db_query(m->db, sql, n, values, cb, op);
    if (rc != LG_OK) {
        free(op); /* the callback never runs */
        m->op = NULL;
        load_reset(m);
        return false;
    }
    return true;
}

/* The map of a completed round trip, or NULL when it was abandoned (op freed). */
static lg_countmap_t *op_done(op_t *op)
{
    lg_countmap_t *m = op->m;
    free(op);
    if (m != NULL)
        m->op = NULL;
    return m;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Swaps in a snapshot of m->geo and m->have. */
static void finish_load(lg_countmap_t *m)
{
    lg_counteval_snap_t *s = lg_counteval_snap_new(m->geo, m->have, m->n_have, m->horizon_us);
    lg_counteval_snap_t *old = m->snap;
    m->snap = s;
    m->generation++;
    lg_counteval_snap_unref(old);
    lg_debug("countmap: snapshot %" PRIu64 ": %zu cells, %zu pieces, %zu releases", m->generation,
             m->geo->n_cells, m->geo->n_pieces, lg_counteval_snap_releases(s));
    load_reset(m);
}

static void on_release(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 5) {
        lg_warn("countmap: loading a release failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    if (PQntuples(res) == 1) {
        int64_t version, start_us, end_us, n_cells;
        if (!parse_i64(PQgetvalue(res, 0, 0), &version) ||
            !parse_i64(PQgetvalue(res, 0, 1), &start_us) ||
            !parse_i64(PQgetvalue(res, 0, 2), &end_us) ||
            !parse_i64(PQgetvalue(res, 0, 3), &n_cells)) {
            lg_warn("countmap: unexpected release row");
            load_reset(m);
            return;
        }
        if (version != m->geo->version || (size_t)n_cells != m->geo->n_cells) {
            /* The cells changed under us: start over with a new geometry. */
            m->is_poked = true;
            load_reset(m);
            return;
        }
        int64_t *noisy = lg_xmalloc((m->geo->n_cells ? m->geo->n_cells : 1) * sizeof(int64_t));
        const char *p = PQgetvalue(res, 0, 4);
        size_t i = 0;
        bool is_ok = true;
        while (*p != '\0' && i < m->geo->n_cells) {
            char *end;
            errno = 0;
            noisy[i++] = strtoll(p, &end, 10);
            if (errno != 0 || end == p || (*end != ',' && *end != '\0')) {
                is_ok = false;
                break;
            }
            p = *end == ',' ? end + 1 : end;
        }
        if (!is_ok || i != m->geo->n_cells || *p != '\0') {
            free(noisy);
            lg_warn("countmap: a release's noisy counts do not match its cells");
            load_reset(m);
            return;
        }
        m->have = lg_xrealloc(m->have, (m->n_have + 1) * sizeof(*m->have));
        m->have[m->n_have++] = lg_counteval_rel_new(m->geo, m->want[m->next], start_us, end_us,
                                                    noisy, m->geo->n_cells);
    }
    m->next++;
    step(m);
}

/* The next release to load, or the end of the load. */
static void step(lg_countmap_t *m)
{
    while (m->next < m->n_want) {
        int64_t id = m->want[m->next];
        lg_counteval_rel_t *r = NULL;
        const lg_counteval_snap_t *s = m->snap;
        for (size_t i = 0;
             s != NULL && lg_counteval_snap_geo(s) == m->geo && i < lg_counteval_snap_releases(s);
             i++)
            if (lg_counteval_rel_id(lg_counteval_snap_release(s, i)) == id)
                r = lg_counteval_snap_release(s, i);
        if (r == NULL)
            break;
        m->have = lg_xrealloc(m->have, (m->n_have + 1) * sizeof(*m->have));
        m->have[m->n_have++] = lg_counteval_rel_ref(r);
        m->next++;
    }
    if (m->next == m->n_want) {
        finish_load(m);
        return;
    }
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, m->want[m->next]);
    const char *values[1] = {id};
    (void)send_query(m, LOAD_RELEASE, release_sql, 1, values, on_release, false);
}

/* A binary-format bigint column (8 bytes, big-endian). */
static bool read_be64(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return false;
    const unsigned char *b = (const unsigned char *)PQgetvalue(res, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *out = (int64_t)v;
    return true;
}

static void on_geo(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 3 || PQfformat(res, 2) != 1) {
        lg_warn("countmap: loading the cells failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    int rows = PQntuples(res);
    int64_t version = m->poll_version;
    if (rows > 0 && !read_be64(res, 0, 0, &version)) {
        load_reset(m);
        return;
    }
    int64_t t0_us = lg_mono_us();
    lg_countgeo_t *g = lg_countgeo_new(version);
    for (int i = 0; i < rows; i++) {
        /* Binary rows: kind is text's bytes (no NUL needed), geom the WKB itself. */
        bool is_piece = PQgetlength(res, i, 1) > 0 && PQgetvalue(res, i, 1)[0] == 'p';
        const unsigned char *wkb = (const unsigned char *)PQgetvalue(res, i, 2);
        size_t len = (size_t)PQgetlength(res, i, 2);
        if (PQgetisnull(res, i, 2) || lg_countgeo_add_wkb(g, is_piece, wkb, len) != LG_OK) {
            lg_warn("countmap: a coverage the evaluator cannot read (row %d); counts are "
                    "answered by the database until the cells change",
                    i);
            m->bad_version = m->poll_version;
            lg_countgeo_unref(g);
            load_reset(m);
            return;
        }
    }
    lg_countgeo_finish(g);
    lg_countgeo_unref(m->geo);
    m->geo = g;
    lg_info("countmap: loaded %zu cells and %zu coverage pieces (cell table version %" PRId64
            ") in %" PRId64 " ms of the loop",
            g->n_cells, g->n_pieces, version, (lg_mono_us() - t0_us) / 1000);
    step(m);
}

static void on_poll(void *arg, const PGresult *res, const char *err)
{
    lg_countmap_t *m = op_done(arg);
    if (m == NULL)
        return;
    if (err != NULL || PQnfields(res) != 3 || PQntuples(res) < 1) {
        lg_debug("countmap: poll failed: %s", err ? err : "unexpected result");
        load_reset(m);
        return;
    }
    int rows = PQntuples(res);
    if (!parse_i64(PQgetvalue(res, 0, 0), &m->poll_version)) {
        load_reset(m);
        return;
    }
    m->want = lg_xmalloc((size_t)rows * sizeof(*m->want));
    m->n_want = 0;
    for (int i = 0; i < rows; i++)
        if (!PQgetisnull(res, i, 2) && parse_i64(PQgetvalue(res, i, 2), &m->want[m->n_want]))
            m->n_want++;
    m->next = 0;

    if (m->snap == NULL || lg_counteval_snap_geo(m->snap)->version != m->poll_version) {
        if (m->poll_version == m->bad_version) {
            /* Not again until the cells change; lg_counts_query answers meanwhile. */
            lg_counteval_snap_unref(m->snap);
            m->snap = NULL;
            load_reset(m);
            return;
        }
        (void)send_query(m, LOAD_GEO, geo_sql, 0, NULL, on_geo, true);
        return;
    }
    /* Same cells: nothing to do unless the set of releases changed. */
    bool is_same = lg_counteval_snap_releases(m->snap) == m->n_want;
    for (size_t i = 0; is_same && i < m->n_want; i++)
        is_same = lg_counteval_rel_id(lg_counteval_snap_release(m->snap, i)) == m->want[i];
    if (is_same) {
        load_reset(m);
        return;
    }
    m->geo = lg_countgeo_ref(lg_counteval_snap_geo(m->snap));
    step(m);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    lg_countmap_t *m = arg;
    (void)fd;
    (void)what;
    if (m->state != LOAD_IDLE)
        return; /* re-armed when the load ends */
    if (!lg_db_is_up(m->db)) {
        arm(m, m->cfg.poll_ms);
        return;
    }
    m->horizon_us = lg_now_us() - (int64_t)m->cfg.keep_days * 86400 * INT64_C(1000000);
    char since[24];
    snprintf(since, sizeof(since), "%" PRId64, m->horizon_us);
    const char *values[1] = {since};
    (void)send_query(m, LOAD_POLL, poll_sql, 1, values, on_poll, false);
}

lg_countmap_t *lg_countmap_new(struct event_base *base, lg_db_t *db,
                               const lg_countmap_config_t *cfg)
{
    lg_countmap_t *m = lg_xcalloc(1, sizeof(*m));
    m->base = base;
    m->db = db;
    m->cfg = *cfg;
    m->bad_version = -1;
    if (m->cfg.poll_ms < 10)
        m->cfg.poll_ms = 10;
    if (m->cfg.keep_days < 0)
        m->cfg.keep_days = 0;
    m->timer = evtimer_new(base, on_timer, m);
    arm(m, 0);
    return m;
}

void lg_countmap_free(lg_countmap_t *m)
{
    if (m == NULL)
        return;
    if (m->op != NULL)
        m->op->m = NULL; /* its callback frees it */
    m->op = NULL;
    event_free(m->timer);
    for (size_t i = 0; i < m->n_have; i++)
        lg_counteval_rel_unref(m->have[i]);
    free(m->have);
    free(m->want);
    lg_countgeo_unref(m->geo);
    lg_counteval_snap_unref(m->snap);
    free(m);
}

void lg_countmap_poke(lg_countmap_t *m)
{
    if (m->state != LOAD_IDLE) {
        m->is_poked = true;
        return;
    }
    arm(m, 0);
}

const lg_counteval_snap_t *lg_countmap_snapshot(const lg_countmap_t *m)
{
    return m->snap;
}

uint64_t lg_countmap_generation(const lg_countmap_t *m)
{
    return m->generation;
}
