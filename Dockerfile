# SPDX-License-Identifier: Apache-2.0
#
# The locguard image for docker-compose.yml: the daemon, locguardctl, the MME
# simulator, the SCS sink (scs-sink), the throwaway-PKI script and the
# count-client script (a third party asking for anonymized counts), built with the same `make` as on a
# Debian 12 machine. The schema (migrations/ and sql/) goes to
# /usr/share/locguard, which the configuration names as schema_dir.

FROM debian:12 AS build
# The build subset of the Makefile's DEB_PACKAGES (no PostgreSQL server: the
# database is the postgis/postgis service).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc make pkg-config libevent-dev libssl-dev libpq-dev libjansson-dev libcjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The simulator is build/mme-sim or build/mme_sim depending on the Makefile's
# tool rule; /out gets a stable set of names.
RUN make -j"$(nproc)" all \
 && mkdir /out && cp build/locguard build/locguardctl /out/ \
 && { cp build/mme-sim /out/mme-sim 2>/dev/null || cp build/mme_sim /out/mme-sim; } \
 && cp build/scs-sink /out/scs-sink

FROM debian:12
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-openssl-2.1-7 libssl3 libpq5 libjansson4 libcjson1 openssl curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin locguard \
 && install -d -o locguard -g locguard /run/locguard /etc/locguard
COPY --from=build /out/ /usr/local/bin/
COPY --from=build /src/migrations /usr/share/locguard/migrations
COPY --from=build /src/sql /usr/share/locguard/sql
COPY tests/tools/mkcerts.sh /usr/local/bin/mkcerts.sh
COPY tests/tools/count-client.sh /usr/local/bin/count-client.sh

# The configuration: southbound (mutual TLS) and northbound (TLS, OAuth2
# bearer tokens signed with /certs/jwt.key) on all interfaces, admin on the
# container's loopback only; certificates, the token signing key and the
# admin token come from the "certs" volume; SCS webhooks are verified
# against the same throwaway CA. The exposure zone (third parties' CAMARA
# Region Device Count, TLS, OAuth2) listens on 8445; its noisy releases are
# made once a minute (bucket_s = 60, the default is an hour) so that the
# compose stack shows a count within a minute; at epsilon 1/2 per release the
# daily total of 12 allows 24 releases, after which none are made until the
# UTC day ends. LOCGUARD_DATABASE (set by docker-compose) overrides conninfo.
RUN printf '%s\n' \
        '[daemon]' \
        'log_level = info' \
        'schema_dir = /usr/share/locguard' \
        'ready_file = /run/locguard/ready' \
        'pid_file = /run/locguard/locguard.pid' \
        '' \
        '[database]' \
        'conninfo = host=db port=5432 dbname=locguard user=locguard' \
        'pool_size = 2' \
        '' \
        '[ingest]' \
        'hysteresis = 2' \
        'seq_window = 1024' \
        'freshness_s = 300' \
        'retry_after_s = 5' \
        'queue_max_reports = 65536' \
        '' \
        '[zone south]' \
        'kind = southbound' \
        'listen = 0.0.0.0:7443' \
        'cert = /certs/server.pem' \
        'key = /certs/server.key' \
        'client_ca = /certs/ca.pem' \
        '' \
        '[zone admin]' \
        'kind = admin' \
        'listen = 127.0.0.1:7080' \
        'token_file = /certs/admin.token' \
        '' \
        '[oauth]' \
        'signing_key = /certs/jwt.key' \
        'issuer = https://locguard' \
        '' \
        '[northbound]' \
        'public_url = https://locguard:8444' \
        '' \
        '[delivery]' \
        'ca_file = /certs/ca.pem' \
        '' \
        '[zone north]' \
        'kind = northbound' \
        'listen = 0.0.0.0:8444' \
        'cert = /certs/server.pem' \
        'key = /certs/server.key' \
        '' \
        '[counts]' \
        'bucket_s = 60' \
        'epsilon = 1/2' \
        'daily_epsilon = 12' \
        'k = 5' \
        '' \
        '[zone expo]' \
        'kind = exposure' \
        'listen = 0.0.0.0:8445' \
        'cert = /certs/server.pem' \
        'key = /certs/server.key' \
        >/etc/locguard/locguard.conf

USER locguard
EXPOSE 7443 8444 8445
CMD ["locguard", "-c", "/etc/locguard/locguard.conf"]
