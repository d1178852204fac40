#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_layers.py - the module map of src/ is true: calls go one way, down.

    check_layers.py MAP.dot OBJECT.o...

MAP.dot is docs/img/architecture.dot, the picture in docs/architecture.md. In it
each layer of the library is a cluster named cluster_L<n>, numbered from the top
(1 = the public API) down to the OS; each module is a node inside one, whose
label's first line names its files ("api.c", or "tx.c rx.c"). A solid arrow
between two modules says "calls"; dashed, dotted and invisible arrows are
something else (callbacks into the app, handlers, layout hints).

The objects are the library's, one per src/*.c, each compiled alone (the
memif_obj OBJECT library). For every symbol an object needs (nm -u) that
another of them defines, the check wants:

  - the defining module in the same layer or a lower one (no call goes up);
  - an arrow drawn between the two modules (the map shows every call), unless
    the callee carries called_by="all" (logging, errors, the allocator: drawn
    once as a service of every layer above, not with an arrow from each);
  - no cycle among the files, in any layer (nothing calls itself round);

and, the other way, every solid arrow between two modules that have objects
backed by at least one such symbol (the map draws no call that is gone), and
every object on the map. It prints each violation with the symbols behind it
and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys


def parse_map(path):
    """-> (module of each file, layer of each module, solid edges, all modules)."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"//[^\n]*", "", text)
    layer_of, file_of, edges = {}, {}, set()
    nodes, called_by_all = {}, set()
    # Clusters: "subgraph cluster_L3 { ... }" (no nested braces inside).
    for m in re.finditer(r"subgraph\s+cluster_L(\d+)\s*\{(.*?)\n\s*\}", text, re.S):
        layer, body = int(m.group(1)), m.group(2)
        for n in re.finditer(r"(?<![\w=\"])(\w+)\s*\[([^\]]*)\]", body):
            name, attrs = n.group(1), n.group(2)
            if name in ("graph", "node", "edge"):
                continue
            lab = re.search(r'label\s*=\s*"([^"]*)"', attrs)
            first = lab.group(1).split("\\n")[0] if lab else ""
            layer_of[name] = layer
            if re.search(r"\bcalled_by\s*=\s*\"?all", attrs):
                called_by_all.add(name)
            nodes[name] = re.findall(r"[\w-]+\.[ch]\b", first)
            for f in nodes[name]:
                file_of[f] = name
    # Statements end at ";" or a newline; neither occurs inside quotes then.
    flat = re.sub(r'"[^"]*"', lambda q: q.group(0).replace(";", " ").replace("\n", " "), text)
    for stmt in re.split(r"[;\n{}]", flat):
        m = re.match(r"^\s*(\w+(?:\s*->\s*\w+)+)\s*(?:\[(.*)\])?\s*$", stmt)
        if not m:
            continue
        attrs = m.group(2) or ""
        if re.search(r"style\s*=\s*\"?[^\"\]]*(dashed|dotted|invis)", attrs):
            continue
        parts = [p.strip() for p in m.group(1).split("->")]
        for a, b in zip(parts, parts[1:]):
            if a in layer_of and b in layer_of:
                edges.add((a, b))
    return file_of, layer_of, edges, nodes, called_by_all


def symbols(obj, defined):
    args = ["nm", "--defined-only" if defined else "-u", obj]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if not f:
            continue
        if defined:
            # value type name; only global text, data, bss, rodata symbols
            if len(f) == 3 and f[1] in "TDBRGSV":
                syms.add(f[2])
        else:
            syms.add(f[-1])
    return syms


def find_cycle(graph):
    """A cycle in {node: set(next)} as a list, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    dot, objs = sys.argv[1], sys.argv[2:]
    file_of, layer_of, edges, nodes, called_by_all = parse_map(dot)
    if not layer_of:
        print(f"{dot}: no layer clusters (subgraph cluster_L<n>) found")
        return 1
    problems = []

    # Object "foo.c.o" (CMake) or "foo.o" -> "foo.c".
    src_of = {}
    for o in objs:
        base = os.path.basename(o)
        base = re.sub(r"\.o(bj)?$", "", base)
        if not base.endswith(".c"):
            base += ".c"
        src_of[o] = base
        if base not in file_of:
            problems.append(f"{base} is not on the map ({dot})")

    owner = {}
    for o in objs:
        for s in symbols(o, True):
            owner[s] = src_of[o]

    uses = {}  # (file, file) -> symbols
    for o in objs:
        f = src_of[o]
        for s in symbols(o, False):
            g = owner.get(s)
            if g and g != f:
                uses.setdefault((f, g), set()).add(s)

    file_graph, used_edges = {}, {}
    for (f, g), syms in sorted(uses.items()):
        file_graph.setdefault(f, set()).add(g)
        a, b = file_of.get(f), file_of.get(g)
        if not a or not b:
            continue
        names = " ".join(sorted(syms))
        if layer_of[b] < layer_of[a]:
            problems.append(f"{f} (layer {layer_of[a]}) calls up into {g} (layer {layer_of[b]}): {names}")
        if a != b:
            used_edges.setdefault((a, b), set()).update(syms)
            if (a, b) not in edges and b not in called_by_all:
                problems.append(f"{f} calls {g}, but the map draws no arrow {a} -> {b}: {names}")

    with_objects = {file_of[src_of[o]] for o in objs if src_of[o] in file_of}
    for a, b in sorted(edges):
        if a in with_objects and b in with_objects and (a, b) not in used_edges:
            problems.append(f"the map draws {a} -> {b}, but no object of {a} uses a symbol of {b}")

    cycle = find_cycle(file_graph)
    if cycle:
        problems.append("a cycle among files: " + " -> ".join(cycle))

    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    n_calls = sum(len(s) for s in uses.values())
    print(f"ok: {len(objs)} objects, {len(layer_of)} modules in "
          f"{len(set(layer_of.values()))} layers, {len(uses)} file-to-file dependencies "
          f"({n_calls} symbols), all downward and drawn, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
