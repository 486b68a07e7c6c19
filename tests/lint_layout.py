#!/usr/bin/env python3
"""Layout checks over src/ (DESIGN 9: each layer a DAG of files):

1. No dependency cycle between the files of a library: file A depends on file B when
   A's object uses a symbol B's object defines (read with nm from the static library).
   A cycle means two files that can only be understood, tested and changed together
   (render_cluster.c <-> render_services.c, config.c <-> kubeconfig.c were two).
2. Every header keeps all its declarations inside its include guard.

usage: lint_layout.py SRC_DIR NM LIB.a...
"""
import os
import re
import subprocess
import sys

src, nm, libs = sys.argv[1], sys.argv[2], sys.argv[3:]
failures = 0
checks = 0


def members(lib):
    """{member: (defined, undefined)} from `nm -A` of a static library."""
    out = subprocess.run([nm, "-A", lib], capture_output=True, text=True, check=True).stdout
    files = {}
    for line in out.splitlines():
        # "LIB:MEMBER:VALUE TYPE NAME" (VALUE absent for undefined symbols)
        if not line.startswith(lib + ":"):
            continue
        member, _, rest = line[len(lib) + 1:].partition(":")
        member = re.sub(r"\.c\.o(bj)?$", ".c", member)
        d, u = files.setdefault(member, (set(), set()))
        parts = rest.split()
        if len(parts) == 3 and parts[1] in "TDBRCGSV":
            d.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            u.add(parts[1])
    return files


def cycles(edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


for lib in libs:
    files = members(lib)
    edges = {a: {b for b in files if b != a and files[a][1] & files[b][0]} for a in files}
    checks += 1
    if len(files) < 2 or not any(edges.values()):
        failures += 1  # a parse that finds nothing would pass every library
        print(f"{os.path.basename(lib)}: no files or no dependencies read from nm")
        continue
    for comp in cycles(edges):
        failures += 1
        why = []
        for a in comp:
            for b in comp:
                if b in edges[a]:
                    used = sorted(files[a][1] & files[b][0])
                    why.append(f"{a} -> {b} ({', '.join(used[:3])})")
        print(f"{os.path.basename(lib)}: dependency cycle between {', '.join(comp)}:\n  "
              + "\n  ".join(why))

guard = re.compile(r"^#ifndef\s+(\w+)\s*\n#define\s+\1\b", re.M)
for root, _, names in os.walk(src):
    for name in sorted(names):
        if not name.endswith(".h"):
            continue
        path = os.path.join(root, name)
        text = open(path, encoding="utf-8").read()
        checks += 1
        # Comments do not count as declarations.
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        code = re.sub(r"//[^\n]*", "", code)
        m = guard.search(code)
        last_endif = code.rfind("#endif")
        if not m or last_endif < 0:
            failures += 1
            print(f"{os.path.relpath(path, src)}: no include guard")
        elif code[:m.start()].strip() or code[last_endif + len("#endif"):].strip():
            failures += 1
            print(f"{os.path.relpath(path, src)}: declarations outside the include guard")

print(f"{checks - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
