# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# What the Diameter test files share (sourced by test_diameter.sh,
# test_s6t.sh and test_diameter_busy.sh; not a test file itself): free
# ports, peer certificates, dia-sim as an MME or SGSN peer over TLS, and
# hss-sim as the HSS locguard configures monitoring at over S6t.

# Under `make SANITIZE=address`: freeDiameter 1.2.1's own use-after-free at
# TLS teardown is not ours (tests/tools/asan-freediameter.supp says why).
export ASAN_OPTIONS="suppressions=$LG_ROOT/tests/tools/asan-freediameter.supp${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# dia_free_port: a TCP port nothing listens on, for the zone or the HSS
# (freeDiameter binds the configured port; it cannot report an ephemeral one).
dia_free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}

# dia_cert NAME: a certificate for the Diameter identity NAME (CN and
# subjectAltName DNS:NAME, which freeDiameter and GnuTLS check against the
# identity), signed by the test CA: $T/dia-NAME.pem and .key.
dia_cert() {
    local name=$1 ext
    [ -f "$T/dia-$name.pem" ] && return 0
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$T/dia-$name.key" 2>/dev/null)
    ext=$(mktemp)
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:%s\n' \
        "$name" >"$ext"
    openssl req -new -key "$T/dia-$name.key" -subj "/O=locguard test/CN=$name" 2>/dev/null |
        openssl x509 -req -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial -sha256 \
            -days 30 -extfile "$ext" -out "$T/dia-$name.pem" 2>/dev/null
    rm -f "$ext"
}

# hss_ref IMSI: the SCEF-Reference-ID the HSS last accepted for IMSI (what
# it relays to the MME), from hss-sim's record; empty when none.
hss_ref() {
    [ -f "$T/hss.log" ] || return 0
    awk -v u="imsi=$1" '$1 == "configure" && $2 == u && / result=2001$/ { r = substr($3, 5) }
        END { print r }' "$T/hss.log"
}

# with_refs RIR...: each RIR (dia-sim's syntax) naming an IMSI and no ref=
# gets the reference the HSS holds for it (none known: left as it is, and
# dia-sim sends its default, which locguard did not allocate). Options
# (--parallel) pass through. One per line.
with_refs() {
    local spec r
    for spec in "$@"; do
        if [[ $spec != --* && $spec != *ref=* && $spec =~ imsi=([0-9]+) ]]; then
            r=$(hss_ref "${BASH_REMATCH[1]}")
            [ -z "$r" ] || spec="$spec,ref=$r"
        fi
        printf '%s\n' "$spec"
    done
}

# dia IDENTITY RIR...: dia-sim as the peer IDENTITY (its certificate), with
# the HSS's references (with_refs), one line per answer on stdout; its exit
# status is dia-sim's.
dia() {
    local id=$1 args
    shift
    dia_cert "$id"
    mapfile -t args < <(with_refs "$@")
    "$BUILD/dia-sim" --identity "$id" --realm test --server locguard --server-realm test \
        --connect "127.0.0.1:$DIA_PORT" --cert "$T/dia-$id.pem" --key "$T/dia-$id.key" \
        --ca "$CERTS/ca.pem" --timeout-s 10 "${args[@]}"
}

# start_hss: hss-sim as "hss" on $HSS_PORT, accepting locguard, recording
# to $T/hss.log, failing the users $T/hss.fail names. Stopped by stop_hss,
# which the file's EXIT trap runs (the file runs in a subshell of its own).
start_hss() {
    dia_cert hss
    : >"$T/hss-sim.out"
    "$BUILD/hss-sim" --identity hss --realm test --listen "127.0.0.1:$HSS_PORT" --accept locguard \
        --cert "$T/dia-hss.pem" --key "$T/dia-hss.key" --ca "$CERTS/ca.pem" \
        --record "$T/hss.log" --fail-file "$T/hss.fail" >>"$T/hss-sim.out" 2>&1 &
    echo $! >"$T/hss.pid"
    wait_for 20 "hss-sim to listen" grep -q listening "$T/hss-sim.out"
}

stop_hss() {
    local pid
    [ -s "$T/hss.pid" ] || return 0
    pid=$(cat "$T/hss.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$T/hss.pid"
}

# hss_config_lines: the [diameter] lines that make locguard configure
# monitoring at hss-sim (a pass every second, a retry after 2).
hss_config_lines() {
    printf 'hss = hss\nhss_connect = 127.0.0.1:%s\nhss_sync_s = 1\nhss_retry_s = 2\ntc_timer_s = 1\n' \
        "$HSS_PORT"
}

# hss_holds N: hss-sim holds (configured with 2001, not deleted since) N users at least.
hss_holds() {
    [ "$(awk '$1 == "configure" && / result=2001$/ { held[$3] = 1 }
              $1 == "delete" && / result=2001$/ { delete held[$3] }
              END { n = 0; for (r in held) n++; print n }' "$T/hss.log" 2>/dev/null || echo 0)" -ge "$1" ]
}

# refs_loaded N: the daemon's log says N times (once per start) that it
# loaded the references; until then its RIRs are answered 3004.
refs_loaded() {
    [ "$(grep -c 'SCEF-Reference-IDs loaded' "$DAEMON_LOG")" -ge "$1" ]
}
