#!/usr/bin/python3
"""Generates agent/cassandra_schema_table.c, the per-version cassandra.yaml schema, from the default files.

Inputs (never copied into the repository, only the derived table is):
  ../shared/data/cassandra/cassandra-{3.11,4.0,4.1,5.0}.yaml and cassandra_latest-5.0.yaml:
      the active keys (yaml.safe_load) and the commented-out ones (`# key: value` lines at column 0,
      with the `#   child: value` block that may follow), plus the commented children of active
      mappings (`  # child: value` at the children's indentation);
  ../shared/data/cassandra/cassandra-{4.1,5.0}-renamed-settings.tsv: the @Replaces table of
      Config.java (old name, new name, Java type, converter, deprecated flag, default).

Types: the Java type of the renamed-settings table wins (DurationSpec -> duration, DataStorageSpec ->
size, DataRateSpec -> data_rate, boolean, int/long); otherwise the type of the default value, where on
4.1+ strings such as `5000ms`, `64MiB` and `24MiB/s` are a duration, size and data rate.

Usage: gen_cassandra_schema.py [--data DIR] [--out FILE] [--check]
  --data   directory of the files above (default: $SHARED_DATA/cassandra, else ../shared/data/cassandra
           relative to the project root)
  --out    output file (default: agent/cassandra_schema_table.c under the project root)
  --check  do not write; exit 1 when the output file differs from what would be generated
Run with /usr/bin/python3 and PyYAML (python3-yaml).
"""

import argparse
import csv
import hashlib
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (version, C enum, default files, renamed-settings table)
VERSIONS = [
    ("3.11", "CASSANDRA_3_11", ["cassandra-3.11.yaml"], None),
    ("4.0", "CASSANDRA_4_0", ["cassandra-4.0.yaml"], None),
    ("4.1", "CASSANDRA_4_1", ["cassandra-4.1.yaml"], "cassandra-4.1-renamed-settings.tsv"),
    ("5.0", "CASSANDRA_5_0", ["cassandra-5.0.yaml", "cassandra_latest-5.0.yaml"],
     "cassandra-5.0-renamed-settings.tsv"),
]

# Settings of Config.java that no default file shows, not even commented out.
EXTRA = {
    "auto_bootstrap": ("BOOL", ["3.11", "4.0", "4.1", "5.0"]),
}

DURATION = re.compile(r"^\d+(d|h|m|s|ms|us|µs|ns)$")
SIZE = re.compile(r"^\d+(B|KiB|MiB|GiB)$")
RATE = re.compile(r"^\d+(B/s|KiB/s|MiB/s)$")
COMMENTED_KEY = re.compile(r"^#( ?)([a-z_][a-z0-9_]*):(.*)$")
INDENTED_COMMENTED_KEY = re.compile(r"^( +)# ?([a-z_][a-z0-9_]*):(.*)$")
MAX_DEPTH = 6


class Key:
    """One key of the schema: a type, flags and, for mappings and lists of mappings, children."""

    def __init__(self, name):
        self.name = name
        self.type = None
        self.flags = set()
        self.replaced_by = None
        self.children = {}


def strip_comment(value):
    """`4194304   #4MiB` -> `4194304` (a ` #` starts a comment in a plain scalar)."""
    m = re.search(r"\s#", value)
    return (value[: m.start()] if m else value).strip()


def infer(value, units, depth=0):
    """(type, flags, children) of a default value."""
    if value is None:
        return "ANY", {"NULLABLE"}, {}
    if isinstance(value, bool):
        return "BOOL", set(), {}
    if isinstance(value, int):
        return "INT", set(), {}
    if isinstance(value, float):
        return "DOUBLE", set(), {}
    if isinstance(value, str):
        if units and DURATION.match(value):
            return "DURATION", set(), {}
        if units and SIZE.match(value):
            return "SIZE", set(), {}
        if units and RATE.match(value):
            return "RATE", set(), {}
        return "STRING", set(), {}
    if isinstance(value, list):
        children = {}
        if depth < MAX_DEPTH:
            for item in value:
                if isinstance(item, dict):
                    merge_children(children, item, units, depth + 1, set())
        return "LIST", set(), children
    if isinstance(value, dict):
        children = {}
        if depth < MAX_DEPTH:
            merge_children(children, value, units, depth + 1, set())
        return "MAPPING", set(), children
    return "STRING", set(), {}


def merge_children(children, mapping, units, depth, flags):
    for name, value in mapping.items():
        if not isinstance(name, str):
            continue
        merge_value(children.setdefault(name, Key(name)), value, units, depth, flags)


def merge_value(key, value, units, depth=0, flags=frozenset()):
    """Adds what `value` says about `key`; a typed value wins over a null one."""
    t, f, children = infer(value, units, depth)
    if key.type is None or (key.type == "ANY" and t != "ANY"):
        key.type = t
    elif t == "ANY":
        pass
    elif key.type != t and {key.type, t} <= {"INT", "DOUBLE"}:
        key.type = "DOUBLE"
    key.flags |= f | set(flags)
    if t == "ANY":
        key.flags.add("NULLABLE")
    for name, child in children.items():
        mine = key.children.setdefault(name, Key(name))
        if mine.type is None or mine.type == "ANY":
            mine.type = child.type
        mine.flags |= child.flags
        for gname, g in child.children.items():
            mine.children.setdefault(gname, g)


def parse_scalar(text):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def commented_block(lines, i, prefix_len):
    """Uncommented text of the block that follows a `# key:` line at index i (its children)."""
    out = []
    j = i + 1
    while j < len(lines):
        line = lines[j]
        m = re.match(r"^#( +)(\S.*)$", line)
        if m and len(m.group(1)) > prefix_len - 1:
            content = m.group(2)
            if not re.match(r"^[a-z_][a-z0-9_]*:(\s|$)|^- ", content):
                j += 1  # prose between commented children
                continue
            out.append(" " * (len(m.group(1)) - (prefix_len - 1)) + content)
            j += 1
            continue
        m = re.match(r"^( +)#+ ?(.*)$", line)
        if m:
            if re.match(r"^[a-z_][a-z0-9_]*:|^- ", m.group(2)) and not line.lstrip().startswith("##"):
                out.append(m.group(1) + m.group(2))
            j += 1
            continue
        if re.match(r"^#\s*\S", line) and not COMMENTED_KEY.match(line):
            j += 1  # prose between commented children
            continue
        break
    # Prose lines that slipped in make the block invalid: drop lines until it parses.
    while out:
        try:
            return yaml.safe_load("\n".join(out))
        except yaml.YAMLError:
            out.pop()
    return None


def commented_keys(text, units):
    """{name: Key} of the keys that appear commented out at column 0."""
    keys = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = COMMENTED_KEY.match(line)
        if not m:
            continue
        name, raw = m.group(2), m.group(3)
        value = strip_comment(raw)
        if re.search(r"\s", value):
            continue  # prose such as "# table: Always flush with ..."
        if value == "":
            block = commented_block(lines, i, len(m.group(1)) + 1)
            value = block if isinstance(block, (dict, list)) else None
        else:
            value = parse_scalar(value)
        merge_value(keys.setdefault(name, Key(name)), value, units, 0, {"COMMENTED"})
    return keys


def commented_children(text, active, units):
    """Adds the commented-out children of active mappings (`  # child: value` at their indentation)."""
    lines = text.splitlines()
    current, indent = None, None
    for line in lines:
        m = re.match(r"^([a-z_][a-z0-9_]*):\s*(#.*)?$", line)
        if m:
            current = active.get(m.group(1))
            indent = None
            if current is None or current.type != "MAPPING":
                current = None
            continue
        if re.match(r"^\S", line) and not line.startswith("#"):
            current = None
            continue
        if current is None:
            continue
        m = re.match(r"^( +)[a-z_][a-z0-9_]*:", line)
        if m and indent is None:
            indent = len(m.group(1))
        m = INDENTED_COMMENTED_KEY.match(line)
        if m and indent is not None and len(m.group(1)) == indent:
            name, value = m.group(2), strip_comment(m.group(3))
            if re.search(r"\s", value) or name in current.children:
                continue
            child = current.children.setdefault(name, Key(name))
            merge_value(child, parse_scalar(value) if value else None, units, 1, {"COMMENTED"})


JAVA_TYPES = [
    ("DurationSpec", "DURATION"),
    ("DataStorageSpec", "SIZE"),
    ("DataRateSpec", "RATE"),
    ("boolean", "BOOL"),
    ("int", "INT"),
    ("long", "INT"),
    ("double", "DOUBLE"),
]


def java_type(jt):
    for prefix, t in JAVA_TYPES:
        if jt == prefix or jt.startswith(prefix + "."):
            return t
    return None


def old_type(converter, jt):
    """Type of the value under the old name, from the Converters enum of Config.java."""
    if converter == "IDENTITY":
        return java_type(jt) or "ANY"
    if converter == "MILLIS_DURATION_DOUBLE":
        return "DOUBLE"
    if converter == "LONG_BYTES_DATASTORAGE_MEBIBYTES_DATASTORAGE":
        return "SIZE"
    return "INT"


def load_renames(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if not row or row[0].startswith("#"):
                continue
            row += [""] * (6 - len(row))
            rows.append(row[:6])
    return rows


def build(data):
    """{version: (keys, renames)} and the list of input files with their sha256."""
    inputs = []
    tables = {}
    for version, enum, files, tsv in VERSIONS:
        units = version not in ("3.11", "4.0")
        keys = {}
        for fname in files:
            path = os.path.join(data, fname)
            with open(path, "rb") as f:
                raw = f.read()
            inputs.append((fname, hashlib.sha256(raw).hexdigest()))
            text = raw.decode("utf-8")
            active = yaml.safe_load(text) or {}
            file_keys = {}
            for name, value in active.items():
                merge_value(file_keys.setdefault(name, Key(name)), value, units)
            commented_children(text, file_keys, units)
            for name, key in file_keys.items():
                mine = keys.setdefault(name, Key(name))
                merge_key(mine, key)
                mine.flags.discard("COMMENTED")
            for name, key in commented_keys(text, units).items():
                if name in file_keys:
                    merge_key(keys[name], key, only_fill=True)
                    continue
                mine = keys.get(name)
                if mine is None:
                    keys[name] = key
                else:
                    merge_key(mine, key, only_fill=True)
        renames = []
        if tsv:
            path = os.path.join(data, tsv)
            with open(path, "rb") as f:
                inputs.append((tsv, hashlib.sha256(f.read()).hexdigest()))
            for old, new, jt, conv, _deprecated, default in load_renames(path):
                t = java_type(jt)
                nk = keys.setdefault(new, Key(new))
                if t:
                    nk.type = t
                if nk.type is None:
                    nk.type = "ANY"
                if default.strip() in ("", "null"):
                    nk.flags.add("NULLABLE")
                if old == new:
                    nk.flags.add("PLAIN_NUMBER")
                    continue
                ok = keys.setdefault(old, Key(old))
                ok.type = old_type(conv, jt)
                ok.flags.add("DEPRECATED")
                ok.flags.discard("COMMENTED")
                ok.replaced_by = new
                renames.append((old, new))
        for name, (t, versions) in EXTRA.items():
            if version in versions and name not in keys:
                k = Key(name)
                k.type = t
                keys[name] = k
        for k in keys.values():
            if k.type is None:
                k.type = "ANY"
        tables[version] = (enum, keys, renames)
    return tables, inputs


def merge_key(mine, other, only_fill=False):
    """Merges what `other` says into `mine`: an active value wins, commented-out ones only fill gaps."""
    if other.type is not None:
        if mine.type is None or (mine.type == "ANY" and other.type != "ANY" and "MIXED" not in mine.flags):
            mine.type = other.type
        elif not only_fill and other.type not in ("ANY", mine.type):
            if {mine.type, other.type} == {"INT", "DOUBLE"}:
                mine.type = "DOUBLE"
            else:
                # two default files disagree (5.0 `authenticator: X` and cassandra_latest's
                # `authenticator: {class_name: X}`): both forms are valid
                mine.type = "ANY"
                mine.flags.add("MIXED")
    mine.flags |= other.flags - ({"COMMENTED"} if only_fill else set())
    for name, child in other.children.items():
        if name not in mine.children:
            mine.children[name] = child
        else:
            merge_key(mine.children[name], child, only_fill=True)


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_flags(flags):
    names = sorted(flags - {"MIXED"})
    return " | ".join("CASSANDRA_SCHEMA_" + n for n in names) if names else "0"


def emit(tables, inputs):
    out = []
    w = out.append
    w("/* cassandra_schema_table: GENERATED per-version cassandra.yaml schema; do not edit, run tests/tools/gen_cassandra_schema.py. */")
    w("/*")
    w(" * Derived from the default files of each Cassandra version (their active and commented-out keys)")
    w(" * and the renamed-settings tables of 4.1 and 5.0 (the @Replaces annotations of Config.java).")
    w(" * Inputs (sha256):")
    for name, digest in inputs:
        w(" *   %-38s %s" % (name, digest))
    w(" */")
    w('#include "cassandra_schema.h"')
    w("")
    w("#include <stddef.h>")
    counter = [0]

    def emit_keys(prefix, keys):
        """Emits the children arrays first, then this array; returns its C name."""
        names = {}
        for name in sorted(keys):
            k = keys[name]
            if k.children:
                names[name] = emit_keys(prefix, k.children)
        counter[0] += 1
        cname = "%s_%d" % (prefix, counter[0])
        w("")
        w("static const struct cassandra_schema_key %s[] = {" % cname)
        for name in sorted(keys):
            k = keys[name]
            child = names.get(name)
            w("\t{ %s, %s, %s, %d, CASSANDRA_SCHEMA_%s, %s }," % (
                c_str(name), c_str(k.replaced_by) if k.replaced_by else "NULL",
                child if child else "NULL", len(k.children) if child else 0,
                k.type, c_flags(k.flags)))
        w("};")
        return cname

    rows = []
    for version, (enum, keys, renames) in tables.items():
        prefix = "v" + version.replace(".", "_")
        cname = emit_keys(prefix, keys)
        rname = "NULL"
        if renames:
            rname = prefix + "_renames"
            w("")
            w("static const struct cassandra_schema_rename %s[] = {" % rname)
            for old, new in sorted(renames):
                w("\t{ %s, %s }," % (c_str(old), c_str(new)))
            w("};")
        rows.append((enum, cname, len(keys), rname, len(renames)))
    w("")
    w("const struct cassandra_schema_table cassandra_schema_tables[CASSANDRA_VERSION_COUNT] = {")
    for enum, cname, n, rname, nr in rows:
        w("\t[%s] = { %s, %d, %s, %d }," % (enum, cname, n, rname, nr))
    w("};")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.path.join(os.environ["SHARED_DATA"], "cassandra") if os.environ.get("SHARED_DATA") \
        else os.path.join(ROOT, "..", "shared", "data", "cassandra")
    ap.add_argument("--data", default=default_data)
    ap.add_argument("--out", default=os.path.join(ROOT, "agent", "cassandra_schema_table.c"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    tables, inputs = build(args.data)
    text = emit(tables, inputs)
    if args.check:
        try:
            with open(args.out) as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            print("%s is out of date: run %s" % (args.out, sys.argv[0]), file=sys.stderr)
            return 1
        return 0
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    for version, (_, keys, renames) in tables.items():
        print("%s: %d keys, %d renames" % (version, len(keys), len(renames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
