#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs the Debian packages named on the command line that are missing
# (the Makefile's DEB_PACKAGES): with apt-get when root, otherwise prints the
# exact command and fails. Then checks that every command, library and file
# the build, the tests (`make check`), `make demo` and `make bench` use is
# there, and fails at once naming the package that provides what is missing,
# rather than letting a test fail later on a "command not found".
#
# The target is a fresh Debian 12 minbase root: its Essential packages
# (bash, coreutils, diffutils, findutils, grep, sed, util-linux, perl-base,
# ...) and mawk (Priority: required) are always there; everything else comes
# from DEB_PACKAGES.
set -eu
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages; run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

pg_bin=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
pg_share=/usr/share/postgresql/15/extension

# What is needed, one per line: KIND NAME PACKAGE [WHO]. KIND is "cmd" (a
# command on $PATH or an absolute path), "pc" (a pkg-config module) or
# "file" (a header or a PostgreSQL extension). PACKAGE is the Debian package
# that provides it (Essential ones too, for the record); WHO uses it.
required() {
    cat <<EOF
cmd  cc                   gcc                                    the build
cmd  make                 make                                   the build
cmd  pkg-config           pkg-config                             the build
file /usr/include/stdint.h libc6-dev                             the build (C headers)
pc   libevent             libevent-dev                           the build
pc   libevent_openssl     libevent-dev                           the build
pc   libpq                libpq-dev                              the build
pc   openssl              libssl-dev                             the build
pc   jansson              libjansson-dev                         the build
pc   libcjson             libcjson-dev                           the build
pc   libsystemd           libsystemd-dev                         the build (sd_notify)
pc   geos                 libgeos-dev                            the build (counteval.c: polygon validity)
pc   libcurl              libcurl4-openssl-dev                   the build (httpc.c: HTTP/2 and HTTP/1.1 client)
pc   libnghttp2           libnghttp2-dev                         the build (httpd_h2.c: HTTP/2)
file /usr/include/http_parser.h libhttp-parser-dev               the build (httpd_h1.c: HTTP/1.1)
pc   gnutls               libgnutls28-dev                        the build (the diameter zone: peer certificates)
file /usr/include/freeDiameter/libfdcore.h libfreediameter-dev   the build (the diameter zone)
pc   cmocka               libcmocka-dev                          unit tests
cmd  objdump              binutils                               unit tests (test_dp)
cmd  $pg_bin/initdb       postgresql-15                          tests/tools/pgcluster.sh
cmd  $pg_bin/pg_ctl       postgresql-15                          tests/tools/pgcluster.sh
cmd  psql                 postgresql-client-15                   tests, demo, bench
file $pg_share/postgis-3.control postgresql-15-postgis-3         tests, demo, bench
file $pg_share/pgtap.control postgresql-15-pgtap                 make sqltest
cmd  pg_prove             libtap-parser-sourcehandler-pgtap-perl make sqltest
cmd  perl                 perl                                   pg_prove, test_systemd.sh
cmd  curl                 curl                                   integration tests, demo
cmd  openssl              openssl                                tests/tools/mkcerts.sh, tests
cmd  nghttp               nghttp2-client                         test_http2.sh (an independent HTTP/2 client)
cmd  jq                   jq                                     test_operations.sh (the JSON log)
cmd  xxd                  xxd                                    test_counts.sh
cmd  tshark               tshark                                 test_diameter.sh (the independent Diameter decoder)
cmd  ss                   iproute2                               pgcluster.sh, demo.sh
cmd  runuser              util-linux                             pgcluster.sh (as root)
cmd  awk                  mawk                                   tests, demo, bench
cmd  timeout              coreutils                              tests
cmd  nghttpd              nghttp2-server                         test_north_h2.sh (an HTTP/2-only webhook sink)
cmd  md5sum               coreutils                              pgcluster.sh
cmd  install              coreutils                              make install
cmd  cmp                  diffutils                              make install, uninstall
cmd  node                 nodejs                                 tests/tools/specs.sh (validate.mjs)
cmd  npm                  npm                                    tests/tools/specs.sh (the validator's packages)
cmd  /usr/bin/python3     python3                                tests/tools/check-report-schema.py
cmd  promtool             prometheus                             test_operations.sh (the /metrics text)
cmd  docker-compose       docker-compose                         make composecheck (config only, no engine)
file /usr/lib/python3/dist-packages/yaml/__init__.py python3-yaml  tests/compose/check.sh
EOF
}

# check: the packages providing what is missing, one per line, with a
# message for each on stderr when $1 is "say".
check() {
    local kind name package who
    while read -r kind name package who; do
        case $kind in
        cmd) command -v "$name" >/dev/null 2>&1 && continue ;;
        pc) pkg-config --exists "$name" 2>/dev/null && continue ;;
        file) [ -e "$name" ] && continue ;;
        esac
        echo "$package"
        [ "$1" = say ] && echo "missing: $name (used by $who): install the Debian package $package" >&2
    done < <(required)
    return 0
}

# A command may come from another package than Debian's (nodesource's nodejs
# brings npm, and conflicts with Debian's npm): such packages are not in
# DEB_PACKAGES, and are installed only when the command is missing.
lacking=$(check quiet | sort -u)
if [ -n "$lacking" ] && [ "$(id -u)" = 0 ]; then
    echo "installing: $(echo "$lacking" | tr '\n' ' ')"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # one package per word
    apt-get install -y -qq --no-install-recommends $lacking >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $lacking >/dev/null; } ||
        true    # the check below names what is still missing
fi
bad=$(check say | sort -u)
if [ -n "$bad" ]; then
    echo "run: sudo apt-get install -y --no-install-recommends $(echo "$bad" | tr '\n' ' ')" >&2
    exit 1
fi
