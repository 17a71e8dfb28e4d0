#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# Generates service/south/schema_tables.inc: the OpenAPI 3.0 schemas that the
# southbound body reaches from TS 29.518 AmfEventNotification (through
# TS 29.571 and the other files its $refs name), as lg_schema_t tables that
# service/core/jsonschema.c checks a parsed document against. Every keyword the
# closure uses is translated; an unknown one stops the generator, so a new
# spec version cannot be half-checked silently.
#
#   tests/tools/gen-schema-tables.py SPECS_DIR/3gpp >service/south/schema_tables.inc
#
# SPECS_DIR is the copy of the 3GPP OpenAPI files described in
# shared/specs/README.md (jdegre/5GC_APIs, Rel-18, 045f2ab).
import json
import os
import sys

import yaml

ROOTS = [("TS29518_Namf_EventExposure.yaml", "AmfEventNotification")]
# Keywords that carry no constraint for a request body.
IGNORED = {"description", "example", "externalDocs", "default", "readOnly", "writeOnly",
           "deprecated", "title", "x-example"}
HANDLED = {"type", "properties", "required", "items", "minItems", "maxItems", "minimum",
           "maximum", "pattern", "format", "enum", "anyOf", "oneOf", "allOf", "not",
           "maxLength", "minLength", "nullable", "$ref", "additionalProperties",
           "minProperties"}
FORMATS = {"date-time": "LG_SCHEMA_F_DATE_TIME", "byte": "LG_SCHEMA_F_BYTE",
           "int32": "LG_SCHEMA_F_INT32", "uint32": "LG_SCHEMA_F_UINT32",
           "int64": "LG_SCHEMA_F_INT64", "uint64": "LG_SCHEMA_F_UINT64"}
TYPES = {"string": "LG_SCHEMA_T_STRING", "integer": "LG_SCHEMA_T_INTEGER",
         "number": "LG_SCHEMA_T_NUMBER", "boolean": "LG_SCHEMA_T_BOOLEAN",
         "object": "LG_SCHEMA_T_OBJECT", "array": "LG_SCHEMA_T_ARRAY"}

spec_dir = sys.argv[1]
files = {}
nodes = []   # emitted C initialisers, by index
named = {}   # (file, name) -> index
pending = []


def load(f):
    if f not in files:
        with open(os.path.join(spec_dir, f), encoding="utf-8") as fh:
            files[f] = yaml.safe_load(fh)["components"]["schemas"]
    return files[f]


def ref_target(ref, cur):
    f, _, p = ref.partition("#")
    return (f or cur, p.rsplit("/", 1)[1])


def c_str(s):
    return json.dumps(s, ensure_ascii=True)


def index_of(node, cur, name=None):
    """The table index of a schema node, emitting it (and what it reaches) if new."""
    if "$ref" in node and len([k for k in node if k not in IGNORED]) == 1:
        key = ref_target(node["$ref"], cur)
        if key not in named:
            named[key] = len(nodes)
            nodes.append(None)
            nodes[named[key]] = emit(load(key[0])[key[1]], key[0], key[1], named[key])
        return named[key]
    idx = len(nodes)
    nodes.append(None)
    nodes[idx] = emit(node, cur, name, idx)
    return idx


extra = []  # arrays the initialisers point to


def emit(node, cur, name, idx):
    unknown = [k for k in node if k not in HANDLED and k not in IGNORED]
    if unknown:
        sys.exit(f"{cur} {name or idx}: unsupported keywords {unknown}")
    if "$ref" in node:
        # $ref with siblings: OpenAPI 3.0 ignores the siblings.
        return None, index_of({"$ref": node["$ref"]}, cur)
    f = {".name": c_str(name) if name else "NULL"}
    if "type" in node:
        f[".type"] = TYPES[node["type"]]
    if node.get("nullable") is True and "type" in node:
        f[".is_nullable"] = "true"
    if "format" in node and node["format"] in FORMATS:
        f[".format"] = FORMATS[node["format"]]
    if "pattern" in node:
        f[".pattern"] = c_str(node["pattern"])
    for kw, field in (("minimum", "minimum"), ("maximum", "maximum")):
        if kw in node:
            f[f".has_{field}"] = "true"
            f[f".{field}"] = repr(float(node[kw]))
    for kw in ("minLength", "maxLength", "minItems", "maxItems", "minProperties"):
        if kw in node:
            f["." + {"minLength": "min_length", "maxLength": "max_length",
                     "minItems": "min_items", "maxItems": "max_items",
                     "minProperties": "min_properties"}[kw]] = str(int(node[kw]))
    if "enum" in node:
        vals = node["enum"]
        if all(isinstance(v, str) for v in vals):
            extra.append(f"static const char *const E{idx}[] = {{{', '.join(c_str(v) for v in vals)}}};")
            f[".enum_strings"] = f"E{idx}"
            f[".n_enum"] = str(len(vals))
        elif all(isinstance(v, bool) for v in vals):
            f[".enum_bools"] = str(sum(1 << int(v) for v in vals))
        else:
            sys.exit(f"{cur} {name or idx}: enum of other values {vals}")
    if "items" in node:
        f[".items"] = str(index_of(node["items"], cur))
    if "additionalProperties" in node:
        ap = node["additionalProperties"]
        if ap is False:
            f[".is_closed"] = "true"
        elif isinstance(ap, dict):
            f[".additional"] = str(index_of(ap, cur))
    if "properties" in node:
        props = [(k, index_of(v, cur)) for k, v in node["properties"].items()]
        extra.append(f"static const lg_schema_prop_t P{idx}[] = {{"
                     + ", ".join(f"{{{c_str(k)}, {i}}}" for k, i in props) + "};")
        f[".props"] = f"P{idx}"
        f[".n_props"] = str(len(props))
    if "required" in node:
        extra.append(f"static const char *const R{idx}[] = {{"
                     + ", ".join(c_str(k) for k in node["required"]) + "};")
        f[".required"] = f"R{idx}"
        f[".n_required"] = str(len(node["required"]))
    for kw, field in (("anyOf", "any_of"), ("oneOf", "one_of"), ("allOf", "all_of")):
        if kw in node:
            subs = [index_of(s, cur) for s in node[kw]]
            extra.append(f"static const uint16_t {field.upper().replace('_', '')}{idx}[] = {{"
                         + ", ".join(str(s) for s in subs) + "};")
            f[f".{field}"] = f"{field.upper().replace('_', '')}{idx}"
            f[f".n_{field}"] = str(len(subs))
    if "not" in node:
        f[".not_"] = str(index_of(node["not"], cur))
    return f, None


for f, n in ROOTS:
    index_of({"$ref": f"{f}#/components/schemas/{n}"}, f)

# A node that was a bare $ref with siblings points at its target: copy it.
for i, n in enumerate(nodes):
    while isinstance(n, tuple) and n[0] is None:
        n = nodes[n[1]]
    nodes[i] = n[0] if isinstance(n, tuple) else n

print("/* SPDX-License-Identifier: Apache-2.0 */")
print("/* Generated by tests/tools/gen-schema-tables.py from the 3GPP Rel-18 OpenAPI files")
print(" * (jdegre/5GC_APIs 045f2ab). Do not edit: regenerate. */")
print()
for line in extra:
    print(line)
print()
print(f"static const lg_schema_t SCHEMA_TABLE[{len(nodes)}] = {{")
for i, f in enumerate(nodes):
    fields = ", ".join(f"{k} = {v}" for k, v in f.items())
    # The index field: unused entries still need .not_/.items/.additional = -1 defaults.
    defaults = {".items": "-1", ".not_": "-1", ".additional": "-1", ".max_length": "-1",
                ".max_items": "-1"}
    for k, v in defaults.items():
        if k not in f:
            fields += f", {k} = {v}"
    print(f"    [{i}] = {{{fields}}},")
print("};")
for (f, n), i in sorted(named.items(), key=lambda kv: kv[1]):
    if (f, n) in [(rf, rn) for rf, rn in ROOTS] or n in ("AmfEventReport",):
        cname = "".join("_" + c if c.isupper() else c.upper() for c in n).lstrip("_")
        print(f"#define SCHEMA_{cname} {i}")
