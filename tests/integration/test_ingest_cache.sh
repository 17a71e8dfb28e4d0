# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The daemon's cache of coalescable rows (service/south/ingest_cache.c,
# migrations/0018_ingest_cache.sql): a report that would be coalesced into
# the row the daemon itself last wrote is counted and acknowledged without
# being sent to the database; anything that may have changed that row
# empties the cache first. Each test checks both sides: what the cache
# saved (locguard_reports_cached_total) and that the stored state and the
# alerts are what writing every report would have given.
#
# Geography as in test_decisions.sh: home box 2.30..2.40 x 48.82..48.88,
# A01 and A02 inside it, B01 in a town 50 km north. Hysteresis 2.

A01=000A001 A02=000A002 B01=000B001

# 3 s: short enough to watch a refresh, long enough for a few steps of a
# test under the sanitizers.
CONF_INGEST='refresh_ms = 3000'

setup() {
    add_node mme-1 MME
    add_node mme-2 MME
    add_area home 2.30 48.82 2.40 48.88
    add_area north 2.30 49.27 2.40 49.33
    add_cells "$(
        printf 'ecgi:001-01:%s,EUTRA,"%s"\n' \
            $A01 "$(rect_wkt 2.34 48.84 2.36 48.86)" \
            $A02 "$(rect_wkt 2.31 48.83 2.33 48.85)" \
            $B01 "$(rect_wkt 2.34 49.29 2.36 49.31)"
    )"
    local i
    for i in $(seq 1 9); do
        add_device "meter-$i@water.example" "$(supi "$i")" fixed
        authorize "meter-$i@water.example" home
    done
    add_device tracker-1@fleet.example 001010000000200 unrestricted
}

supi() { printf '0010100000%05d' "$1"; }

# at NODE METER_N ECI: meter N reported by NODE in E-UTRA cell ECI, accepted.
at() { send_ok "$1" "$(batch "$1" "$(eutra "$(supi "$2")" "$3")")"; }

# stored METER_N: the meter's row as "reported_at node cell decision zone".
stored() {
    sql "SELECT l.reported_at || ' ' || n.name || ' ' || l.cell_key || ' ' || l.decision
                || ' ' || l.zone_state
           FROM ue_location l JOIN ue u ON u.id = l.ue_id JOIN network_node n ON n.id = l.node_id
          WHERE u.external_id = 'meter-$1@water.example'"
}

cached() { metric locguard_reports_cached_total; }

# Written once, then coalesced by the daemon: the counters count it (as a
# decision, as coalesced, as cached), the batch is claimed with its report,
# and nothing of the row changes.
test_repeated_report_is_coalesced_by_the_daemon() {
    local s1 k0 c0 d0 seq
    at mme-1 1 $A01
    s1=$(stored 1)
    k0=$(cached) c0=$(metric locguard_reports_coalesced_total)
    d0=$(metric 'locguard_decisions_total{decision="inside"}')
    at mme-1 1 $A01
    seq=$(next_seq mme-1)
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "$(eutra "$(supi 1)" $A01)")")" "status"
    wait_for 5 "cached = $k0 + 2" metric_is locguard_reports_cached_total "$((k0 + 2))"
    assert_eq "$((c0 + 2))" "$(metric locguard_reports_coalesced_total)" "coalesced"
    assert_eq "$((d0 + 2))" "$(metric 'locguard_decisions_total{decision="inside"}')" "inside decisions"
    assert_eq "$s1" "$(stored 1)" "the row is the first report's"
    assert_eq 1 "$(sql "SELECT n_reports FROM node_batch b JOIN network_node n ON n.id = b.node_id
                        WHERE n.name = 'mme-1' AND b.seq = $seq")" "the claimed batch counts its report"
    # A resent batch is a duplicate, counted once.
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "$(eutra "$(supi 1)" $A01)")")" "resent"
    assert_eq "$((k0 + 2))" "$(cached)" "a duplicate batch is not counted again"
    # Another cell, another node: written.
    at mme-1 1 $A02
    assert_match " mme-1 ecgi:001-01:$A02 inside inside\$" "$(stored 1)" "another cell is written"
    at mme-2 1 $A02
    assert_match " mme-2 ecgi:001-01:$A02 inside inside\$" "$(stored 1)" "another node is written"
    assert_eq "$((k0 + 2))" "$(cached)" "changes are never cached"
    # A tracker's row is cached too (unchecked).
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000200 $B01)")"
    k0=$(cached)
    send_ok mme-1 "$(batch mme-1 "$(eutra 001010000000200 $B01)")"
    assert_eq "$((k0 + 1))" "$(cached)" "tracker report cached"
}

# An away report goes to the database every time (the streak counts), and
# the return is written with its alert.
test_leaving_and_returning_is_never_cached() {
    local k0
    at mme-1 2 $A01
    k0=$(cached)
    at mme-1 2 $B01
    at mme-1 2 $B01
    at mme-1 2 $B01
    assert_eq 1 "$(alerts meter-2@water.example left)" "left alerts"
    at mme-1 2 $A01
    assert_eq 1 "$(alerts meter-2@water.example returned)" "returned alerts"
    assert_eq "$k0" "$(cached)" "nothing cached while away or on the return"
    at mme-1 2 $A01
    assert_eq "$((k0 + 1))" "$(cached)" "home again: cached"
}

# A change of the reference data (here the device's authorized areas)
# empties the cache: the same cell is decided again, now outside.
test_area_change_empties_the_cache() {
    local r0
    at mme-1 3 $A01
    at mme-1 3 $A01
    r0=$(metric locguard_ingest_cache_resets_total)
    admin_ok PUT /v1/devices/meter-3@water.example/areas/north
    admin_ok DELETE /v1/devices/meter-3@water.example/areas/home
    at mme-1 3 $A01
    at mme-1 3 $A01
    assert_eq outside "$(decision meter-3@water.example)" "decided again: outside"
    assert_eq 1 "$(alerts meter-3@water.example left)" "left alert from the home cell"
    assert_eq 1 "$(awk -v a="$(metric locguard_ingest_cache_resets_total)" -v b="$r0" \
                   'BEGIN { print (a > b) }')" "the cache was emptied"
}

# A write the daemon did not make (another daemon, ingest-direct, a hand
# edit) empties the cache: here lg_ingest called over psql reports meter-4
# away twice (left), and the daemon's next report from home must be
# written, with its returned alert, not coalesced into what it last wrote.
test_a_write_by_another_client_empties_the_cache() {
    local t s seq
    at mme-1 4 $A01
    at mme-1 4 $A01
    t=$(date +%s%6N)
    for s in 1 2; do
        seq=$(next_seq mme-2)
        sql "SELECT batch_status FROM lg_ingest(ARRAY['mme-2'], ARRAY[$seq]::bigint[], 1024, 2,
                 ARRAY[1], ARRAY['$(supi 4)'], ARRAY[$((t + s))]::bigint[], ARRAY['EUTRA'],
                 ARRAY['ecgi:001-01:$B01'], ARRAY[NULL::float8], ARRAY[NULL::float8],
                 ARRAY[NULL::float8])" >/dev/null
    done
    assert_eq 1 "$(alerts meter-4@water.example left)" "left, written by the other client"
    sleep 0.2 # the daemon's reports are newer than the other client's
    at mme-1 4 $A01
    assert_match " mme-1 ecgi:001-01:$A01 inside inside\$" "$(stored 4)" "written by the daemon"
    assert_eq 1 "$(alerts meter-4@water.example returned)" "returned alert"
}

# Removing a device (its row goes with it) empties the cache: its next
# report is an unknown device's, not a cached inside.
test_removed_device_is_not_served_from_the_cache() {
    local u0
    at mme-1 5 $A01
    at mme-1 5 $A01
    admin_ok DELETE /v1/devices/meter-5@water.example
    u0=$(metric locguard_unknown_devices_total)
    at mme-1 5 $A01
    wait_for 5 "unknown devices = $u0 + 1" metric_is locguard_unknown_devices_total "$((u0 + 1))"
}

# Two reports of one device in one batch are both sent, whatever the cache
# holds: the newest one is stored even when an older one from another cell
# comes after it in the batch.
test_two_reports_of_a_device_in_one_batch_are_both_sent() {
    local k0 t1 t2
    at mme-1 6 $A01
    k0=$(cached)
    t2=$(now_ts)
    sleep 0.01
    t1=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%S.%3NZ)
    send_ok mme-1 "$(batch mme-1 "$(TS=$t2 eutra "$(supi 6)" $A01)" "$(TS=$t1 eutra "$(supi 6)" $A02)")"
    assert_eq "$k0" "$(cached)" "neither is cached"
    assert_match " ecgi:001-01:$A01 inside inside\$" "$(stored 6)" "the newest report stored"
}

# With refresh_ms short (3 s here), the stored time is refreshed by a write once it is
# older than that, cache or no cache.
test_stored_time_is_refreshed_after_refresh_ms() {
    local s1
    at mme-1 7 $A01
    s1=$(stored 7)
    at mme-1 7 $A01
    assert_eq "$s1" "$(stored 7)" "coalesced within refresh_ms"
    sleep 3.2
    at mme-1 7 $A01
    assert_ne "$s1" "$(stored 7)" "written after refresh_ms"
}

# Another daemon claiming the cache (here lg_ingest over psql with its own
# token) takes it over: this daemon stops using its own, and every report
# goes to the database again (coalesced there, still correct).
test_another_daemon_takes_the_cache_over() {
    local k0 c0 seq
    at mme-1 9 $A01
    at mme-1 9 $A01
    seq=$(next_seq mme-2)
    sql "SELECT cache_gen FROM lg_ingest(ARRAY['mme-2'], ARRAY[$seq]::bigint[], 1024, 2,
             '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', 60000, 'another-daemon', NULL)" >/dev/null
    assert_eq another-daemon "$(sql "SELECT token FROM ingest_cache_owner")" "claimed"
    at mme-1 9 $A01 # may be judged from the cache: refused (LG001), sent again whole
    k0=$(cached) c0=$(metric locguard_reports_coalesced_total)
    at mme-1 9 $A01
    at mme-1 9 $A01
    assert_eq "$k0" "$(cached)" "no longer cached by this daemon"
    assert_eq "$((c0 + 2))" "$(metric locguard_reports_coalesced_total)" "coalesced by the database"
    wait_for 5 "the warning about the takeover" grep -q "another locguard took over the ingest cache" \
        "$T/daemon.log"
}

# A daemon killed right after a cached report was acknowledged: the batch
# was claimed, so its resend is a duplicate, and a new daemon (empty
# cache) writes the next report. Last: it restarts the daemon (new ports),
# which first takes the cache back from the "other daemon" above.
test_acknowledged_cached_batch_survives_a_crash() {
    local seq k0
    kill_daemon
    start_daemon
    at mme-1 8 $A01
    assert_ne another-daemon "$(sql "SELECT token FROM ingest_cache_owner")" "claimed back"
    k0=$(cached)
    seq=$(next_seq mme-1)
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "$(eutra "$(supi 8)" $A01)")")" "status"
    assert_eq "$((k0 + 1))" "$(cached)" "cached"
    kill_daemon
    start_daemon
    assert_eq 1 "$(batches mme-1 "$seq")" "the batch is stored"
    assert_eq 204 "$(south mme-1 "$seq" "$(batch mme-1 "$(eutra "$(supi 8)" $A01)")")" "resent"
    assert_eq 1 "$(metric 'locguard_batches_total{outcome="duplicate"}' |
                   awk '{ print ($1 >= 1) }')" "answered as a duplicate"
    at mme-1 8 $A02
    assert_match " ecgi:001-01:$A02 inside inside\$" "$(stored 8)" "the new daemon writes"
}
