#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Throwaway PKI for the tests, the demo and docker-compose, made with the
# openssl CLI (EC P-256 keys: fast to generate).
#
#   mkcerts.sh DIR
#
# DIR/ca.pem, ca.key           the CA the southbound zone trusts for clients
# DIR/server.pem, server.key   the daemon's certificate (SAN 127.0.0.1,
#                              localhost, locguard; and scs-sink, the SCS
#                              sink of docker-compose), signed by the CA
# DIR/NODE.pem, NODE.key       client certificates, CN = node name, for
#                              mme-1 sgsn-1 amf-1 mme-2 (and $MKCERTS_NODES)
# DIR/dia-NAME.pem, .key       for each NAME of $MKCERTS_DIAMETER: a Diameter
#                              peer's certificate (SAN DNS:NAME, client and
#                              server use: freeDiameter checks its own
#                              certificate names its identity), e.g. hss, mme-1
# DIR/rogue-ca.pem             a CA nobody trusts, and
# DIR/rogue-mme-1.pem/.key     a client certificate "mme-1" signed by it
# DIR/jwt.key                  the EC P-256 key the token endpoint signs its
#                              ES256 access tokens with ([oauth] signing_key)
#
# Existing files are kept: running it twice is cheap and changes nothing.
set -euo pipefail

dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"

read -ra extra <<<"${MKCERTS_NODES:-}"
nodes=(mme-1 sgsn-1 amf-1 mme-2 "${extra[@]}")
days=3650

# new_key FILE: a fresh P-256 private key, readable by its owner only.
new_key() {
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# new_ca NAME CN: a self-signed CA certificate NAME.pem with key NAME.key.
new_ca() {
    [ -f "$1.pem" ] && return 0
    new_key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "/O=locguard test/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.pem" 2>/dev/null
}

# new_cert NAME CN CA USAGE [SAN]: a leaf certificate NAME.pem signed by CA
# for USAGE (serverAuth or clientAuth).
new_cert() {
    local name=$1 cn=$2 ca=$3 usage=$4 san=${5:-} ext
    [ -f "$name.pem" ] && return 0
    new_key "$name.key"
    ext=$(mktemp)
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$usage"
        [ -n "$san" ] && echo "subjectAltName=$san"
    } >"$ext"
    openssl req -new -key "$name.key" -subj "/O=locguard test/CN=$cn" 2>/dev/null |
        openssl x509 -req -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -sha256 \
            -days "$days" -extfile "$ext" -out "$name.pem" 2>/dev/null
    rm -f "$ext"
}

new_ca ca "locguard test CA"
new_cert server locguard ca serverAuth "IP:127.0.0.1,DNS:localhost,DNS:locguard,DNS:scs-sink,DNS:amf-sim"
# locguard's own client certificate towards the AMFs it subscribes at ([amf] cert).
new_cert nef locguard-nef ca clientAuth
for n in "${nodes[@]}"; do
    new_cert "$n" "$n" ca clientAuth
done
read -ra diameter <<<"${MKCERTS_DIAMETER:-}"
for n in "${diameter[@]}"; do
    new_cert "dia-$n" "$n" ca "clientAuth,serverAuth" "DNS:$n"
done

# The rogue CA signs a certificate with a legitimate node name: the daemon
# must refuse it at the handshake because the chain does not reach ca.pem.
new_ca rogue-ca "rogue CA"
new_cert rogue-mme-1 mme-1 rogue-ca clientAuth

# The OAuth2 token endpoint's signing key: an EC P-256 private key (ES256).
[ -f jwt.key ] || new_key jwt.key
