#!/usr/bin/env python3
"""Compare two JSON snapshots of tests/upgrade/run, object by object, and print what differs.

    compare.py same   LEFT RIGHT   every key in both, with equal values (schema, answers)
    compare.py kept   BEFORE AFTER every relation of BEFORE in AFTER with the same rows, each row
                                   compared on BEFORE's columns (0.2.0 may add columns and tables)

A file holds one JSON object per line; their keys are merged. Exit status 1 when they differ.
"""
import difflib
import json
import sys


def load(path):
    merged = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                merged.update(json.loads(line))
    return merged


def text(value):
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=1, sort_keys=True).splitlines()


def indented(value):
    return "\n".join("    " + line for line in text(value))


def canonical_rows(rows, columns=None):
    """Rows as a sorted list of canonical JSON strings, restricted to `columns` if given."""
    if not isinstance(rows, list):
        return rows
    if columns is not None:
        rows = [{c: r.get(c) for c in columns} for r in rows]
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def differences(left, right, mode, names):
    found = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            found.append(f"only in {names[0]}: {key}\n" + indented(left[key]))
            continue
        if key not in left:
            if mode == "same":
                found.append(f"only in {names[1]}: {key}\n" + indented(right[key]))
            continue
        a, b = left[key], right[key]
        if mode == "kept" and isinstance(a, list):
            columns = sorted({c for r in a for c in r}) if a else None
            a, b = canonical_rows(a), canonical_rows(b, columns)
            if a != b:
                lost = len([r for r in a if r not in b])
                diff = difflib.unified_diff(a, b, names[0], names[1], lineterm="", n=0)
                found.append(f"rows differ: {key} ({len(a)} before, {len(b)} after, {lost} not kept)\n"
                             + "\n".join(diff))
        elif a != b:
            diff = difflib.unified_diff(text(a), text(b), names[0], names[1], lineterm="")
            found.append(f"differs: {key}\n" + "\n".join(diff))
    return found


def main():
    mode, left_path, right_path = sys.argv[1:4]
    names = sys.argv[4:6] if len(sys.argv) > 5 else [left_path, right_path]
    found = differences(load(left_path), load(right_path), mode, names)
    for item in found:
        print(item)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
