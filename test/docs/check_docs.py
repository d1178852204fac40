#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_docs.py - the docs cannot rot: their commands are run, their
listings compared, their links followed.

    check_docs.py lint SOURCE_DIR [BUILD_DIR]
    check_docs.py run  SOURCE_DIR DOC.md

Every ```sh (or bash, shell, console) block of README.md and docs/*.md carries
a marker, an HTML comment on the line above it (invisible on the rendered
page):

    <!-- test -->              run by `run` for that page, in order, as is
    <!-- test: root -->        the same, but only as root (installs into /usr,
                               dpkg); skipped, and said so, for other users
    <!-- test: by NAME... -->  what the block shows is exercised by these CTest
                               tests (a trailing * matches a prefix)
    <!-- test: same-as PAGE --> every command line of the block also appears in
                               a test or root block of PAGE
    <!-- test: no REASON -->   not run, and why (another host, VPP, the CI
                               command itself)

and any fenced block may carry `<!-- file: PATH -->`: it must equal that file
of the source tree byte for byte.

`lint` checks the markers (names against `ctest -N` of BUILD_DIR), the
listings, and every relative link and #anchor. `run` copies the source tree
to a temporary directory, sets HOME to an empty directory inside it, and runs
the page's test blocks in one bash (set -e), from the copy's top directory,
like a reader typing them into one terminal. As root, `sudo` is a function
that runs its command directly, and whatever the page installed outside the
copy is removed at the end (the libmemif package, files of any
install_manifest.txt); when the system already has a libmemif (package, or
/usr/local), or MEMIF_TEST_NO_SYSTEM is set, root blocks are skipped so the
system is left alone.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

SHELL_LANGS = {"sh", "bash", "shell", "console"}
MARKER = re.compile(r"^<!--\s*test(?::\s*(.*?))?\s*-->$")
FILE_MARKER = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->$")


def blocks(path):
    """Fenced blocks of a Markdown file: dicts with lang, text, line, marker
    (None, or the text after 'test', '' for a bare <!-- test -->), file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3).lower(), i
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        prev = lines[start - 1].strip() if start > 0 else ""
        mk = MARKER.match(prev)
        fm = FILE_MARKER.match(prev)
        out.append({
            "lang": lang,
            "text": "\n".join(lines[start + 1:j]) + "\n",
            "line": start + 1,
            "marker": (mk.group(1) or "") if mk else None,
            "file": fm.group(1) if fm else None,
        })
        i = j + 1
    return out


def doc_files(src):
    return [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))


def commands(text):
    """Command lines of a shell block: comments and blank lines dropped,
    trailing comments cut, continuation lines joined."""
    out, cur = [], ""
    for line in text.split("\n"):
        line = re.sub(r"\s+#\s.*$", "", line).rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1].strip() + " "
            continue
        out.append(re.sub(r"\s+", " ", (cur + line).strip()))
        cur = ""
    return out


def slug(heading):
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[`*_]", "", s)
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    seen = {}
    out = set()
    in_fence = False
    for line in open(path, encoding="utf-8"):
        if re.match(r"^\s*(```|~~~)", line):
            in_fence = not in_fence
            continue
        m = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def ctest_names(build):
    try:
        res = subprocess.run(["ctest", "-N"], cwd=build, capture_output=True, text=True,
                             check=True, env=dict(os.environ, MEMIF_DOCS_NESTED="1"))
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"lint: cannot list the tests of {build}: {e}")
        return None
    return set(re.findall(r"Test\s+#\d+:\s+(\S+)", res.stdout))


def lint(src, build=None):
    errors = []
    names = ctest_names(build) if build else None
    runnable = {}  # page -> set of command lines of its test/root blocks
    for path in doc_files(src):
        for b in blocks(path):
            if b["marker"] in ("", "root") and b["lang"] in SHELL_LANGS:
                runnable.setdefault(os.path.relpath(path, src), set()).update(commands(b["text"]))

    counts = {"run": 0, "root": 0, "by": 0, "same-as": 0, "no": 0, "file": 0}
    for path in doc_files(src):
        rel = os.path.relpath(path, src)
        for b in blocks(path):
            where = f"{rel}:{b['line']}"
            if b["file"]:
                counts["file"] += 1
                want = os.path.join(src, b["file"])
                if not os.path.isfile(want):
                    errors.append(f"{where}: listing of {b['file']}, which does not exist")
                elif open(want, encoding="utf-8").read() != b["text"]:
                    errors.append(f"{where}: the listing differs from {b['file']} "
                                  f"(copy the file into the page again)")
            if b["lang"] not in SHELL_LANGS:
                continue
            mk = b["marker"]
            if mk is None:
                errors.append(f"{where}: ```{b['lang']} block without a marker: put "
                              "<!-- test -->, <!-- test: root -->, <!-- test: by NAME -->, "
                              "<!-- test: same-as PAGE --> or <!-- test: no REASON --> "
                              "on the line above it (see test/docs/check_docs.py)")
                continue
            word, _, rest = mk.partition(" ")
            rest = rest.strip()
            if mk == "":
                counts["run"] += 1
                if re.search(r"(^|[;&|(]\s*)sudo\s", b["text"], re.M):
                    errors.append(f"{where}: a <!-- test --> block uses sudo: "
                                  "mark it <!-- test: root -->")
            elif mk == "root":
                counts["root"] += 1
            elif word == "by":
                counts["by"] += 1
                if not rest:
                    errors.append(f"{where}: <!-- test: by --> names no test")
                elif names is not None:
                    for n in rest.split():
                        ok = (any(t.startswith(n[:-1]) for t in names) if n.endswith("*")
                              else n in names)
                        if not ok:
                            errors.append(f"{where}: no CTest test named {n}")
            elif word == "same-as":
                counts["same-as"] += 1
                have = runnable.get(rest)
                if have is None:
                    errors.append(f"{where}: same-as {rest}: that page has no test blocks")
                else:
                    for c in commands(b["text"]):
                        if c not in have:
                            errors.append(f"{where}: `{c}` is not run by any test block "
                                          f"of {rest}")
            elif word == "no":
                counts["no"] += 1
                if not rest:
                    errors.append(f"{where}: <!-- test: no --> needs a reason")
            else:
                errors.append(f"{where}: unknown marker <!-- test: {mk} -->")

        # Relative links and their anchors, outside fenced blocks.
        text, in_fence = [], False
        for line in open(path, encoding="utf-8"):
            if re.match(r"^\s*(```|~~~)", line):
                in_fence = not in_fence
            elif not in_fence:
                text.append(line)
        text = "".join(text)
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) \
                if file_part else path
            if not os.path.exists(dest):
                errors.append(f"{rel}: link to {target}: {file_part} does not exist")
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                errors.append(f"{rel}: link to {target}: no heading with that anchor")

    for e in errors:
        print(e)
    print("docs lint: {run} run, {root} run as root, {by} covered by tests, "
          "{same-as} same as a tested page, {no} not run, {file} listings; "
          .format(**counts) + f"{len(errors)} problem(s)")
    return 1 if errors else 0


def system_has_libmemif():
    q = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "libmemif"],
                       capture_output=True, text=True) if shutil.which("dpkg-query") else None
    if q is not None and q.stdout.strip() == "installed":
        return "a libmemif package is installed"
    for pattern in ("/usr/local/lib/libmemif*", "/usr/local/lib/*/libmemif*",
                    "/usr/local/lib/pkgconfig/libmemif.pc", "/usr/local/lib/cmake/memif",
                    "/usr/local/include/libmemif.h"):
        hit = glob.glob(pattern)
        if hit:
            return f"{hit[0]} exists"
    return None


def copy_tree(src, dest):
    """The source tree as a checkout has it: tracked files plus untracked ones
    that are not ignored (no build trees)."""
    files = None
    if os.path.isdir(os.path.join(src, ".git")) and shutil.which("git"):
        res = subprocess.run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"],
                             capture_output=True)
        if res.returncode == 0:
            files = [f for f in res.stdout.decode().split("\0") if f]
    if files is None:
        files = []
        for root, dirs, fs in os.walk(src):
            dirs[:] = [d for d in dirs if not d.startswith("build") and d != ".git"]
            files += [os.path.relpath(os.path.join(root, f), src) for f in fs]
    for f in files:
        s = os.path.join(src, f)
        if not os.path.isfile(s):
            continue  # deleted in the work tree
        d = os.path.join(dest, f)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d)


def run(src, doc):
    if os.environ.get("MEMIF_DOCS_NESTED"):
        print("skipped: a docs test inside a docs test")
        return 77
    page = os.path.join(src, doc)
    is_root = os.geteuid() == 0
    preexisting = system_has_libmemif() if is_root else None
    if is_root and os.environ.get("MEMIF_TEST_NO_SYSTEM"):
        preexisting = "MEMIF_TEST_NO_SYSTEM is set"
    selected = []
    for b in blocks(page):
        if b["lang"] not in SHELL_LANGS or b["marker"] not in ("", "root"):
            continue
        if b["marker"] == "root" and not is_root:
            print(f"{doc}:{b['line']}: not run (needs root)")
            continue
        if b["marker"] == "root" and preexisting:
            print(f"{doc}:{b['line']}: not run ({preexisting}; left alone)")
            continue
        selected.append(b)
    if not selected:
        if any(b["marker"] == "root" for b in blocks(page)):
            print(f"skipped: every test block of {doc} needs root, or a system without libmemif")
            return 77
        print(f"{doc}: no test blocks")
        return 1

    # Directories a system-wide install creates: those that did not exist
    # before are removed again once empty.
    sysdirs = [d for d in ("/usr/local/lib/cmake", "/usr/local/lib/pkgconfig",
                           "/usr/local/share/doc", "/usr/local/share/man/man3",
                           "/usr/local/share/man/man7", "/usr/local/share/man")
               if not os.path.exists(d)] if is_root and not preexisting else []

    tmp = tempfile.mkdtemp(prefix="memif-docs.")
    work = os.path.join(tmp, "libmemif")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    copy_tree(src, work)
    script = ["set -eo pipefail"]
    if is_root:
        script.append('sudo() { env "$@"; }')
    for n, b in enumerate(selected, 1):
        script.append(f"printf '\\n### {doc}:{b['line']} (block {n} of {len(selected)})\\n'")
        script.append("set -x")
        script.append(b["text"].rstrip("\n"))
        script.append("{ set +x; } 2>/dev/null")
    script.append(f"printf '\\n### {doc}: all {len(selected)} blocks ran\\n'")
    with open(os.path.join(tmp, "page.sh"), "w") as f:
        f.write("\n".join(script) + "\n")

    env = dict(os.environ, HOME=home, MEMIF_DOCS_NESTED="1", PS4="$ ")
    env.pop("PKG_CONFIG_PATH", None)
    env.pop("LD_LIBRARY_PATH", None)
    env.pop("CMAKE_PREFIX_PATH", None)
    proc = subprocess.Popen(["bash", os.path.join(tmp, "page.sh")], cwd=work, env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=int(os.environ.get("MEMIF_DOCS_TIMEOUT", "600")))
    except subprocess.TimeoutExpired:
        print(f"{doc}: timed out")
        rc = 1
    # Whatever the page started in the background goes with it.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    if rc != 0:
        print(f"\n{doc}: FAILED (exit {rc}) in the block printed last")

    if is_root and not preexisting:
        cleanup_system(work)
        for d in sysdirs:  # deepest first: man3 and man7 before man
            try:
                os.rmdir(d)
            except OSError:
                pass
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rc == 0 else 1


def cleanup_system(work):
    """Remove what a failed page may have left outside its copy."""
    if shutil.which("dpkg-query"):
        q = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "libmemif"],
                           capture_output=True, text=True)
        if q.stdout.strip() == "installed":
            print("cleanup: dpkg -P libmemif")
            subprocess.run(["dpkg", "-P", "libmemif"], capture_output=True)
    for manifest in glob.glob(os.path.join(work, "**", "install_manifest.txt"), recursive=True):
        for f in open(manifest).read().split("\n"):
            if f and not f.startswith(os.path.dirname(work)) and os.path.lexists(f):
                print(f"cleanup: rm {f}")
                os.remove(f)
    if shutil.which("ldconfig"):
        subprocess.run(["ldconfig"])


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "lint":
        return lint(os.path.abspath(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        return run(os.path.abspath(sys.argv[2]), sys.argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
