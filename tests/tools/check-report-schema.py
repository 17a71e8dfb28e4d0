#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# The YAML's half of the southbound differential test. Each line of
# tests/unit/south/report_cases.txt is a body with what locguard must say of it
# (test_report.c checks that half); this script checks that the TS 29.518
# YAML, through shared/specs/validate.mjs, says the same:
#   valid, policy  validate.mjs finds nothing wrong
#   invalid        validate.mjs refuses it and names PARAM among its paths
# It also regenerates service/south/schema_tables.inc from the same YAML files and
# fails when the committed one differs (tests/tools/gen-schema-tables.py).
# One validate.mjs run checks every case: a scratch OpenAPI file defines an
# object whose member cN $refs AmfEventNotification, and the document holds
# body N as cN.
#
#   tests/tools/check-report-schema.py [CASES]
#   LG_SPECS=DIR  the specs directory with validate.mjs and its node_modules,
#                 as tests/tools/specs.sh prepares it (`make schemacheck` does)
# Without node, validate.mjs or its node_modules it fails. The last line is
# "N passed, N failed".
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
cases_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests/unit/south/report_cases.txt")
specs = os.environ.get("LG_SPECS", os.path.join(os.path.dirname(root), "shared/specs"))
validator = os.path.join(specs, "validate.mjs")
spec = os.path.join(specs, "3gpp/TS29518_Namf_EventExposure.yaml")

missing = [p for p in (validator, spec, os.path.join(specs, "node_modules/ajv"))
           if not os.path.exists(p)]
if shutil.which("node") is None:
    missing.append("node")
if missing:
    print(f"check-report-schema: {', '.join(missing)} missing (tests/tools/specs.sh prepares them)",
          file=sys.stderr)
    sys.exit(1)

cases = []
with open(cases_path, encoding="utf-8") as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        expect, param, name, body = line.rstrip("\n").split(" ", 3)
        cases.append((expect, param, name, body))

with tempfile.TemporaryDirectory() as tmp:
    props = {f"c{i}": {"$ref": f"{spec}#/components/schemas/AmfEventNotification"}
             for i in range(len(cases))}
    with open(os.path.join(tmp, "cases.yaml"), "w", encoding="utf-8") as f:
        json.dump({"openapi": "3.0.0", "info": {"title": "cases", "version": "1"}, "paths": {},
                   "components": {"schemas": {"Cases": {"type": "object",
                                                        "properties": props}}}}, f)
    # The bodies go in as raw JSON text, as the daemon reads them (1e400 stays 1e400).
    doc = "{" + ",".join(f'"c{i}":{c[3]}' for i, c in enumerate(cases)) + "}"
    with open(os.path.join(tmp, "doc.json"), "w", encoding="utf-8") as f:
        f.write(doc)
    run = subprocess.run(["node", validator, os.path.join(tmp, "cases.yaml"), "Cases",
                          os.path.join(tmp, "doc.json")], capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.exit(f"validate.mjs failed ({run.returncode}): {run.stderr}")

# "/c3/reportList/0: must have required property 'state' {...}" -> case 3, "/reportList/0/state"
paths = {}
for line in run.stdout.splitlines():
    m = re.match(r"^/c(\d+)(\S*): (.*?)(?: (\{.*\}))?$", line)
    if not m:
        continue
    path = m.group(2)
    params = json.loads(m.group(4)) if m.group(4) else {}
    if "missingProperty" in params:
        path += "/" + params["missingProperty"]
    paths.setdefault(int(m.group(1)), set()).add(path or "body")

passed = failed = 0
gen = subprocess.run([sys.executable, os.path.join(root, "tests/tools/gen-schema-tables.py"),
                      os.path.join(specs, "3gpp")], capture_output=True, text=True)
with open(os.path.join(root, "service/south/schema_tables.inc"), encoding="utf-8") as f:
    if gen.returncode == 0 and gen.stdout == f.read():
        passed += 1
    else:
        failed += 1
        print("FAIL service/south/schema_tables.inc is not what gen-schema-tables.py makes of the YAML "
              f"{gen.stderr.strip()}")
for i, (expect, param, name, _) in enumerate(cases):
    got = paths.get(i, set())
    if expect in ("valid", "policy"):
        ok = not got
        why = f"the YAML refuses it at {sorted(got)}"
    else:
        ok = param in got
        why = f"the YAML names {sorted(got) or 'nothing'}, not {param}"
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} ({expect}): {why}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
