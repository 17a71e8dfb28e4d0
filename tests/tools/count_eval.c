/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count-eval: times the in-memory count evaluator (service/counts/counteval.c)
 * alone, without TLS, HTTP, token or audit: loads the cells, coverage pieces
 * and releases from a database the way the daemon does (lg_countmap over the
 * asynchronous pool), then answers --requests CIRCLE areas of --radius-m
 * metres around --lat/--lon moved by up to --spread-m metres (seeded), and
 * prints
 *   RESULT requests=N load_ms=L p50_us=.. p99_us=.. max_us=.. status=S count=C
 * `make bench` phase (e) runs it next to count-load to show what of the
 * latency is the count itself.
 */
#include "locguard/counts/countmap.h"
#include "locguard/core/log.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *db_conninfo = NULL;
    double lat = 47, lon = 5, radius_m = 50000, spread_m = 0;
    int requests = 1000;
    unsigned seed = 7;
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},       {"lat", required_argument, NULL, 'a'},
        {"lon", required_argument, NULL, 'o'},      {"radius-m", required_argument, NULL, 'r'},
        {"spread-m", required_argument, NULL, 's'}, {"requests", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'S'},     {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_conninfo = optarg;
            break;
        case 'a':
            lat = atof(optarg);
            break;
        case 'o':
            lon = atof(optarg);
            break;
        case 'r':
            radius_m = atof(optarg);
            break;
        case 's':
            spread_m = atof(optarg);
            break;
        case 'n':
            requests = atoi(optarg);
            break;
        case 'S':
            seed = (unsigned)atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: count-eval --db CONNINFO [--lat --lon --radius-m --spread-m "
                            "--requests --seed]\n");
            return 2;
        }
    }
    if (db_conninfo == NULL || requests < 1) {
        fprintf(stderr, "count-eval: --db is required\n");
        return 2;
    }
    lg_log_level = LG_LOG_WARN;
    struct event_base *base = event_base_new();
    lg_metrics_t *metrics = lg_metrics_new();
    lg_db_t *db = lg_db_new(base, &(lg_db_config_t){db_conninfo, 1, 5}, metrics);
    lg_countmap_config_t cfg = {.poll_ms = 100, .keep_days = 2};
    lg_countmap_t *map = lg_countmap_new(base, db, &cfg);
    int64_t t0 = lg_mono_us();
    for (int i = 0; i < 12000 && lg_countmap_generation(map) == 0; i++) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    const lg_counteval_snap_t *s = lg_countmap_snapshot(map);
    if (s == NULL) {
        fprintf(stderr, "count-eval: nothing loaded in 120 s\n");
        return 1;
    }
    int64_t load_us = lg_mono_us() - t0;
    int64_t *lat_us = calloc((size_t)requests, sizeof(int64_t));
    srand(seed);
    lg_counteval_params_t p = {10, 0, 1e15};
    lg_counteval_answer_t a = {0};
    for (int i = 0; i < requests; i++) {
        lg_planar_area_t area = {.is_circle = true, .radius_m = radius_m};
        double dy = ((double)rand() / RAND_MAX * 2 - 1) * spread_m;
        double dx = ((double)rand() / RAND_MAX * 2 - 1) * spread_m;
        area.lat = lat + dy / 111320.0;
        area.lon = lon + dx / (111320.0 * cos(lat * M_PI / 180));
        lg_counteval_answer_cleanup(&a);
        int64_t t = lg_mono_us();
        lg_counteval_answer(s, &area, false, 0, 0, &p, &a);
        lat_us[i] = lg_mono_us() - t;
    }
    qsort(lat_us, (size_t)requests, sizeof(int64_t), cmp_i64);
    printf("RESULT requests=%d load_ms=%" PRId64 " p50_us=%" PRId64 " p99_us=%" PRId64
           " max_us=%" PRId64 " status=%s count=%" PRId64 "\n",
           requests, load_us / 1000, lat_us[requests / 2], lat_us[(requests * 99) / 100],
           lat_us[requests - 1], a.outcome == LG_COUNTEVAL_ANSWERED ? a.status : "none",
           a.has_count ? a.count : -1);
    lg_counteval_answer_cleanup(&a);
    free(lat_us);
    lg_countmap_free(map);
    lg_db_free(db);
    lg_metrics_free(metrics);
    event_base_free(base);
    return 0;
}
