#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vpp_docs_page.py - the commands of docs/ExampleSetup.md, and their output,
for vpp_real_docs.sh (which runs them against a real VPP).

    vpp_docs_page.py plan PAGE TEST      the steps, one a line (below)
    vpp_docs_page.py match MODE EXPECTED ACTUAL   0 when ACTUAL shows EXPECTED

What the page holds, and what becomes of it:
  - a heading (any level) ends what the previous section started: step
    `H title` (the test stops the programs left running, as a reader
    types Ctrl-C before moving on);
  - a ```text block with `vpp# ` lines: each such line is a VPP CLI command
    (step `V command`), and the lines under it, up to the next `vpp# `, the
    output VPP prints for it (steps `E line`);
  - a ```sh block marked <!-- test: by TEST -->: each command line (comments
    and blank lines dropped, continuation lines joined) is step `S command`;
    every ```sh block of the page must carry that marker, so that nothing
    the page tells the reader to type escapes the test;
  - a ```text block right under the line <!-- output --> is the output of
    the last command of the ```sh block above it (steps `O line`).

Matching (`match`): EXPECTED is cut into pieces at its `...` lines; each
piece must appear in ACTUAL as consecutive lines, in order, blank lines
ignored on both sides. Without a leading `...` the first piece must start
at ACTUAL's first line; without a trailing one the last piece must end at
ACTUAL's last line, unless MODE is `running` (the output of a program that
is still running, which can only grow). Within a line these may differ from
what the page shows, everything else must be equal: the figures of
`time=... ms` and `rtt min/avg/max = ...`, fd numbers (`fd 15`), MAC
addresses, and the version in `"VPP 26.06-release"`.
"""
import os
import re
import sys

# The docs tests' own reading of a shell block (comments dropped, continuation
# lines joined), so that this page's commands are read as every page's are.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
from check_docs import commands  # noqa: E402


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        h = re.match(r"^#{1,6}\s+(.*)$", line)
        if h:
            yield ("heading", h.group(1), i + 1, None)
            i += 1
            continue
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", line)
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3).lower(), i
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        prev = lines[start - 1].strip() if start > 0 else ""
        yield ("block", lang, start + 1, (prev, lines[start + 1:j]))
        i = j + 1


def plan(page, test):
    steps, errors = [], []
    marker = re.compile(r"^<!--\s*test:\s*by\s+(.*?)\s*-->$")
    last_sh = None
    for kind, what, line, extra in blocks(page):
        if kind == "heading":
            steps.append(f"H {what}")
            last_sh = None
            continue
        prev, body = extra
        if what in ("sh", "bash", "shell", "console"):
            m = marker.match(prev)
            if not m or test not in m.group(1).split():
                errors.append(f"{page}:{line}: a ```{what} block not marked "
                              f"<!-- test: by {test} -->")
                continue
            steps.extend(f"S {c}" for c in commands("\n".join(body)))
            last_sh = line
        elif prev == "<!-- output -->":
            if last_sh is None:
                errors.append(f"{page}:{line}: <!-- output --> with no ```sh block above it")
                continue
            steps.extend(f"O {b}" for b in body)
        elif any(b.startswith("vpp# ") for b in body):
            in_cmd = False
            for b in body:
                if b.startswith("vpp# "):
                    steps.append(f"V {b[5:].strip()}")
                    in_cmd = True
                elif in_cmd:
                    steps.append(f"E {b}")
                elif b.strip():
                    errors.append(f"{page}:{line}: output before the first vpp# line")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    print("\n".join(steps))
    return 0


def pattern(line):
    """One expected line as a regular expression."""
    # Split off the variable parts first, escape the rest.
    var = re.compile(r"(time=[0-9.]+ ms)|(= [0-9.]+/[0-9.]+/[0-9.]+ ms)|"
                     r"(\bfd [0-9]+)|([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})|"
                     r"(\"VPP [^\"]*\")")
    out, pos = "", 0
    for m in var.finditer(line):
        out += re.escape(line[pos:m.start()])
        if m.group(1):
            out += r"time=[0-9.]+ ms"
        elif m.group(2):
            out += r"= [0-9.]+/[0-9.]+/[0-9.]+ ms"
        elif m.group(3):
            out += r"fd [0-9]+"
        elif m.group(4):
            out += r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}"
        else:
            out += r'"VPP [^"]*"'
        pos = m.end()
    return re.compile(out + re.escape(line[pos:]) + r"\Z")


def match(mode, expected_file, actual_file):
    exp = [l.rstrip() for l in open(expected_file, encoding="utf-8", errors="replace")]
    act = [l.rstrip() for l in open(actual_file, encoding="utf-8", errors="replace")
           if l.strip()]
    pieces, cur = [], []
    lead = bool(exp) and exp[0].strip() == "..."
    trail = bool(exp) and exp[-1].strip() == "..."
    for l in exp:
        if l.strip() == "...":
            if cur:
                pieces.append(cur)
            cur = []
        elif l.strip():
            cur.append(pattern(l))
    if cur:
        pieces.append(cur)
    pos = 0
    for n, piece in enumerate(pieces):
        first, last = n == 0, n == len(pieces) - 1
        starts = [0] if first and not lead else range(pos, len(act) - len(piece) + 1)
        found = None
        for s in starts:
            if s + len(piece) > len(act):
                break
            if all(p.match(act[s + k]) for k, p in enumerate(piece)):
                if last and not trail and mode != "running" and s + len(piece) != len(act):
                    continue
                found = s
                break
        if found is None:
            print("expected (as the page shows it):")
            print("\n".join("    " + l for l in exp))
            print("got:")
            print("\n".join("    " + l for l in act[-60:]))
            return 1
        pos = found + len(piece)
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "plan":
        return plan(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 5 and sys.argv[1] == "match":
        return match(sys.argv[2], sys.argv[3], sys.argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
