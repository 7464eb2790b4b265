#!/usr/bin/env python3
"""Lists the public and open declarations of Sources/Descent that carry no `///` comment.

    python3 Scripts/doc_coverage.py          # prints each undocumented declaration, then the count
    python3 Scripts/doc_coverage.py --check  # the same, exit status 1 if any is undocumented

Overrides (`public override …`) count as documented: DocC shows the documentation of the
declaration they override. Declarations inside a `///`-documented extension still need their own.
"""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Descent")
DECL = re.compile(r"^\s*(@\w+(\([^)]*\))?\s+)*(public|open)\s+(?!extension\b)(?!import\b)")


def undocumented():
    out, total = [], 0
    for folder, _, files in sorted(os.walk(ROOT)):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(folder, name)
            lines = open(path, encoding="utf-8").read().split("\n")
            for i, line in enumerate(lines):
                if not DECL.match(line) or re.search(r"\boverride\b", line):
                    continue
                total += 1
                j = i - 1
                while j >= 0 and re.match(r"^\s*@\w+", lines[j]) and not lines[j].strip().startswith("///"):
                    j -= 1
                if j < 0 or not lines[j].strip().startswith("///"):
                    out.append(f"{os.path.relpath(path, os.path.join(ROOT, '..', '..'))}:{i + 1}: {line.strip()}")
    return out, total


if __name__ == "__main__":
    missing, total = undocumented()
    for m in missing:
        print(m)
    print(f"{total - len(missing)} of {total} public declarations documented ({len(missing)} without ///)")
    sys.exit(1 if missing and "--check" in sys.argv else 0)
