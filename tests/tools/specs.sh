#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# specs.sh DIR: a working copy of the 3GPP/CAMARA OpenAPI files and their
# validator (validate.mjs, Ajv) in DIR, ready for `node DIR/validate.mjs`.
# The tests check our JSON against the published YAML with it.
#
# The files come from $LG_SPECS (default ../shared/specs beside the
# checkout), which may be read-only: they are copied into DIR. The
# validator's npm packages, pinned as the specs' README pins them, are
# copied too when the specs' own node_modules holds those versions (the
# README installs them there), else installed into DIR/node_modules from
# the npm registry the first time. Prints DIR; fails,
# naming what is missing, when the specs, node or npm are not there.
set -euo pipefail

dir=${1:?usage: specs.sh DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
src=${LG_SPECS:-$root/../shared/specs}
packages="ajv@8.17.1 ajv-formats@3.0.1 js-yaml@4.1.0"

fail() { echo "specs.sh: $*" >&2; exit 1; }
[ -f "$src/validate.mjs" ] && [ -d "$src/3gpp" ] ||
    fail "no OpenAPI files at $src (the shared specs beside the checkout, or set LG_SPECS)"
command -v node >/dev/null || fail "no node (Debian package nodejs)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The copy is refreshed when the source changes (cp -u keeps it cheap).
cp -ru "$src/validate.mjs" "$src/3gpp" "$dir/"
[ -d "$src/camara" ] && cp -ru "$src/camara" "$dir/"

# has_packages DIR: whether DIR/node_modules holds the pinned versions.
has_packages() {
    local p
    for p in $packages; do
        grep -q "\"version\": *\"${p##*@}\"" "$1/node_modules/${p%@*}/package.json" 2>/dev/null ||
            return 1
    done
}

# The specs' README installs the packages beside the files (specs/node_modules):
# when they are there, at the pinned versions, they are copied; else npm
# installs them.
if ! has_packages "$dir" && has_packages "$src"; then
    cp -r "$src/node_modules" "$dir/"
fi
if ! has_packages "$dir"; then
    command -v npm >/dev/null || fail "no npm (Debian package npm)"
    # shellcheck disable=SC2086 # one package per word
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
        $packages >&2 || fail "npm install $packages failed"
fi
echo "$dir"
