#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# check.sh: docker-compose.yml and service/dist/Dockerfile, checked without a
# Docker engine (`make composecheck`, part of `make check`). Debian's
# docker-compose (v1) validates and resolves the file offline; the resolved
# file is then checked against the rest of the repository:
#
#   - `docker-compose config -q` accepts it;
#   - no password in any environment: the database reads a secret file, the
#     daemon a libpq passfile;
#   - the daemon's stop_grace_period is longer than its drain
#     (DRAIN_TIMEOUT_MS in service/main.c), so SIGKILL never cuts a drain;
#   - every depends_on has a condition, and services waited for as healthy
#     have a healthcheck;
#   - every build names service/dist/Dockerfile and one of its stages;
#   - the build stage installs gcc, make, pkg-config and every -dev package
#     of the Makefile's DEB_PACKAGES (all but the tests' libcmocka-dev), and
#     runs `make all`; the binaries it copies out are ones `make all` built
#     ($BUILD, default build/).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BUILD=${BUILD:-build}

command -v docker-compose >/dev/null ||
    { echo "compose check: no docker-compose (Debian package docker-compose; make deps)" >&2; exit 1; }

docker-compose config -q
resolved=$(docker-compose config 2>/dev/null)
deb_packages=$(make --no-print-directory -s -f Makefile -f - print-deb-packages <<<'print-deb-packages: ; @echo $(DEB_PACKAGES)')
drain_ms=$(sed -n 's/^#define DRAIN_TIMEOUT_MS *\([0-9][0-9]*\).*/\1/p' service/main.c)
[ -n "$drain_ms" ] || { echo "compose check: no DRAIN_TIMEOUT_MS in service/main.c" >&2; exit 1; }

RESOLVED=$resolved DEB_PACKAGES=$deb_packages DRAIN_MS=$drain_ms BUILD=$BUILD /usr/bin/python3 - <<'EOF'
import os, re, sys
import yaml

problems = []
def fail(msg):
    problems.append(msg)

doc = yaml.safe_load(os.environ["RESOLVED"])
services = doc["services"]

# Durations as compose writes them: 30s, 1m30s, 500ms.
def seconds(text):
    total, units = 0.0, {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"([0-9.]+)(h|ms|us|m|s)", str(text))
    if not parts:
        return None
    for number, unit in parts:
        total += float(number) * units[unit]
    return total

# No password in any environment.
for name, svc in services.items():
    for key, value in (svc.get("environment") or {}).items():
        if "PASSWORD" in key.upper() and not key.upper().endswith("_FILE"):
            fail(f"{name}: environment {key} carries a password")
        if re.search(r"password\s*=", str(value), re.I):
            fail(f"{name}: environment {key} carries a password")

# The daemon: a grace period longer than the drain, and a healthcheck.
daemon = services.get("locguard")
if daemon is None:
    fail("no locguard service")
else:
    grace = seconds(daemon.get("stop_grace_period", "10s"))
    drain = int(os.environ["DRAIN_MS"]) / 1000
    if grace is None or grace <= drain:
        fail(f"locguard: stop_grace_period {daemon.get('stop_grace_period')} "
             f"is not longer than the {drain:g} s drain")
    if "PGPASSFILE" not in (daemon.get("environment") or {}):
        fail("locguard: no PGPASSFILE")

# Every dependency has a condition; healthy ones have a healthcheck.
for name, svc in services.items():
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        fail(f"{name}: depends_on without conditions")
        continue
    for dep, how in deps.items():
        cond = (how or {}).get("condition")
        if cond is None:
            fail(f"{name}: depends_on {dep} without a condition")
        if cond == "service_healthy" and "healthcheck" not in services.get(dep, {}):
            fail(f"{name}: waits for {dep} to be healthy, which has no healthcheck")
for name in ("db", "locguard"):
    if name in services and "healthcheck" not in services[name]:
        fail(f"{name}: no healthcheck")

# Builds: service/dist/Dockerfile and one of its stages.
dockerfile = open("service/dist/Dockerfile").read()
stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
for name, svc in services.items():
    build = svc.get("build")
    if build is None:
        continue
    if build.get("dockerfile") != "service/dist/Dockerfile":
        fail(f"{name}: builds {build.get('dockerfile')}, not service/dist/Dockerfile")
    if build.get("target") not in stages:
        fail(f"{name}: build target {build.get('target')} is not a stage of the Dockerfile")

# The build stage against the Makefile.
build_stage = re.search(r"^FROM\s+\S+\s+AS\s+build\s*$(.*?)^FROM\s", dockerfile, re.M | re.S | re.I)
if build_stage is None:
    fail("Dockerfile: no build stage")
else:
    text = build_stage.group(1).replace("\\\n", " ")
    m = re.search(r"apt-get install\s+(.*?)(?:&&|$)", text, re.M)
    installed = {w for w in (m.group(1).split() if m else []) if not w.startswith("-")}
    deb = set(os.environ["DEB_PACKAGES"].split())
    needed = {p for p in deb if p.endswith("-dev") and p != "libcmocka-dev"}
    needed |= {"gcc", "make", "pkg-config"}
    for p in sorted(needed - installed):
        fail(f"Dockerfile build stage does not install {p} (in the Makefile's DEB_PACKAGES)")
    if not re.search(r"^RUN make\b.*\ball\b", text, re.M):
        fail("Dockerfile build stage does not run `make ... all`")
for binary in sorted(set(re.findall(r"/src/build/([A-Za-z0-9_-]+)", dockerfile))):
    path = os.path.join(os.environ["BUILD"], binary)
    if not os.access(path, os.X_OK):
        fail(f"Dockerfile copies build/{binary}, which `make all` did not make ({path})")

for p in problems:
    print(f"compose check: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
echo "compose check: docker-compose.yml and service/dist/Dockerfile are consistent"
