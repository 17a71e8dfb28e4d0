#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench.sh CONNINFO [SECONDS] [CLIENTS]: measure lg_ingest throughput as the
# daemon's flusher uses it: one call of 1000 reports (10 batches of 100, cell
# evidence) per transaction, arrays sent as text literals, commit per call.
# Needs gen.sql loaded first. Prints pgbench's summary and reports/s.
set -euo pipefail
conninfo=${1:?usage: bench.sh CONNINFO [SECONDS] [CLIENTS]}
secs=${2:-30}
clients=${3:-1}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One pgbench script per pre-built call, arrays inlined as literals; the
# sequence number and report time are fresh on every run.
for id in $(seq 1 "${BENCH_CALLS:-100}"); do
    psql "$conninfo" -Atq -v id="$id" >"$tmp/call$id.sql" <<'SQL'
SELECT format($f$SELECT * FROM lg_ingest('{mme1,mme2,mme3,mme4,mme5,mme6,mme7,mme8,mme9,mme10}',
    array_fill(nextval('bench_seq'), ARRAY[10]), 1024, 2, %L, %L,
    array_fill((extract(epoch FROM clock_timestamp()) * 1e6)::bigint, ARRAY[1000]),
    %L, %L, %L, %L, %L);$f$, batch, supi, rat, cell, nul, nul, nul)
  FROM bench_call WHERE id = :id
SQL
done
args=()
for f in "$tmp"/call*.sql; do args+=(-f "$f"); done
out=$("$pgbench" "$conninfo" -n -M simple -c "$clients" -j "$clients" -T "$secs" "${args[@]}" 2>&1)
echo "$out" | grep -E "^(number of transactions actually|number of failed|latency average|tps)"
tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
echo "reports/s: $(echo "$tps * 1000" | bc)"
