#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-man.py - man pages for libmemif, generated from include/libmemif.h.

Usage: gen-man.py HEADER OUTDIR [VERSION]

Writes OUTDIR/man3/<function>.3 for every function the header declares, and
OUTDIR/man7/libmemif.7, the overview. The text comes from the header:

  - a function's page is the block comment right above its declaration
    (a declaration with no comment of its own shares the page of the one
    above it and gets a ".so" link page, e.g. memif_get_rx_ring_details);
  - "/* ---- Group ---- */" lines group the functions, as in docs/api.md;
  - libmemif(7) takes the header's opening comment (objects, threads,
    callbacks), the function list and the error codes with their comments.

Only the Python standard library is used. Old pages in OUTDIR are removed
first, so a function removed from the header loses its page.
"""
import os
import re
import sys

MANUAL = "libmemif Manual"

# int functions that return a value, not a memif_err_t code.
VALUE_RETURNING = {"memif_get_listener_fd"}


def esc(text):
    """Escape text for roff and render `code` as bold."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    return text


def line_safe(line):
    """A roff text line must not start with '.' or '\''."""
    if line.startswith(".") or line.startswith("'"):
        return "\\&" + line
    return line


def comment_lines(raw):
    """Lines of a /* ... */ block without the comment markers."""
    body = raw.strip()
    body = body[2:] if body.startswith("/*") else body
    body = body[:-2] if body.endswith("*/") else body
    out = []
    for line in body.split("\n"):
        line = re.sub(r"^\s*\* ?", "", line, count=1) if line.strip().startswith("*") else line.strip()
        out.append(line.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def parse(header):
    text = open(header, encoding="utf-8").read()
    lines = text.split("\n")

    # The opening comment: after the SPDX line, the first block comment.
    m = re.search(r"/\*\n(.*?)\*/", text, re.S)
    intro = comment_lines("/*\n" + m.group(1) + "*/") if m else []

    # Error codes: "MEMIF_ERR_X, /* comment */".
    errors = re.findall(r"^\s*(MEMIF_ERR_\w+)(?:\s*=\s*\d+)?,\s*/\*\s*(.*?)\s*\*/", text, re.M)

    groups = []  # [(group name, [page])]; page = {names, protos, doc}
    group = None
    pending = None  # last block comment and the line it ended on
    i = 0
    while i < len(lines):
        line = lines[i]
        g = re.match(r"^/\* -+ (.+?) -+ \*/$", line)
        if g:
            group = (g.group(1), [])
            groups.append(group)
            pending = None
            i += 1
            continue
        if line.startswith("/*"):
            start = i
            while "*/" not in lines[i]:
                i += 1
            pending = ("\n".join(lines[start:i + 1]), i)
            i += 1
            continue
        d = re.match(r"^[a-z][\w ]*?[ *](memif_\w+)\(", line)
        if d and group is not None:
            start = i
            while not lines[i].rstrip().endswith(";"):
                i += 1
            proto = " ".join(s.strip() for s in lines[start:i + 1])
            proto = re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", proto))
            name = d.group(1)
            if pending and pending[1] == start - 1:
                group[1].append({"names": [name], "protos": [proto],
                                 "doc": comment_lines(pending[0])})
            elif group[1]:
                # No comment of its own: documented with the one above.
                group[1][-1]["names"].append(name)
                group[1][-1]["protos"].append(proto)
            else:
                sys.exit(f"gen-man: {name} has no comment and nothing to share one with")
            pending = None
        elif line.strip():
            pending = None if not line.startswith(" ") else pending
        i += 1
    return intro, errors, groups


def params(proto):
    """Parameter names of a prototype."""
    inner = proto[proto.index("(") + 1:proto.rindex(")")]
    names = []
    for p in inner.split(","):
        m = re.search(r"(\w+)\s*$", p.strip())
        if m and m.group(1) != "void":
            names.append(m.group(1))
    return names


def wrap_proto(proto, width=72):
    """Break a long prototype after its commas, aligned under the '('."""
    if len(proto) <= width:
        return [proto]
    indent = " " * (proto.index("(") + 1)
    lines, cur = [], ""
    for part in re.split(r"(?<=,) ", proto):
        if cur and len(cur) + 1 + len(part) > width:
            lines.append(cur)
            cur = indent + part
        else:
            cur = f"{cur} {part}" if cur else part
    lines.append(cur)
    return lines


def paragraphs(doc, names=()):
    """Split comment lines into roff: plain paragraphs, and "name: text"
    lists (lines such as "sock:        out, the new handle."): a word
    followed by a colon and two spaces, or a parameter name and a colon."""
    out = []
    para = []
    item = None

    def flush_para():
        if para:
            out.append(".PP")
            out.append(line_safe(esc(" ".join(para))))
            para.clear()

    for line in doc:
        lm = re.match(r"^(\w+):\s{2,}(.*)$", line) or (
            re.match(r"^(\w+):\s+(.*)$", line) if line.split(":")[0] in names else None)
        if not line.strip():
            flush_para()
            item = None
        elif lm:
            flush_para()
            out.append(".TP")
            out.append(f"\\fI{esc(lm.group(1))}\\fR")
            out.append(line_safe(esc(lm.group(2))))
            item = True
        elif item and re.match(r"^\s{4,}", line):
            out[-1] += " " + esc(line.strip())
        else:
            if item:
                item = None
            para.append(line.strip())
    flush_para()
    return out


def summary(doc):
    """The first sentence of a comment, for the NAME line."""
    first = []
    for line in doc:
        if not line.strip() or re.match(r"^\w+:\s{2,}", line):
            break
        first.append(line.strip())
    text = re.sub(r"^Extension: ", "", " ".join(first))
    end = len(text)
    for m in re.finditer(r"\.(?=\s+[A-Z(]|$)", text):
        if not re.search(r"\b(e\.g|i\.e)$", text[:m.start()]):
            end = m.start()
            break
    s = text[:end].replace("`", "")
    if s[:1].isupper() and not s[1:2].isupper():
        s = s[0].lower() + s[1:]
    return s


def head(name, section, version, date):
    return [f'.TH {name.upper()} {section} "{date}" "libmemif {version}" "{MANUAL}"']


def function_page(page, group, groups, version, date):
    name = page["names"][0]
    out = head(name, 3, version, date)
    out += [".SH NAME", ", ".join(esc(n) for n in page["names"]) + " \\- " + esc(summary(page["doc"]))]
    out += [".SH SYNOPSIS", ".nf", ".B #include <libmemif.h>", ".PP"]
    for proto in page["protos"]:
        out += [line_safe(esc(l)) for l in wrap_proto(proto)]
    out += [".fi", ".PP", "Link with \\fB\\-lmemif\\fR "
            "(\\fBpkg\\-config \\-\\-cflags \\-\\-libs libmemif\\fR, or CMake's "
            "\\fBfind_package(memif)\\fR and the target \\fBmemif::memif\\fR)."]
    out += [".SH DESCRIPTION"] + paragraphs(page["doc"], params(page["protos"][0]))
    ret = page["protos"][0].split(name)[0].strip()
    if ret == "int" and name not in VALUE_RETURNING:
        out += [".SH RETURN VALUE",
                "\\fBMEMIF_ERR_SUCCESS\\fR (0) on success, otherwise one of the "
                "\\fBMEMIF_ERR_*\\fR codes of \\fBmemif_err_t\\fR (named above without "
                "that prefix). \\fBmemif_strerror\\fR(3) gives a sentence for a code; "
                "\\fBlibmemif\\fR(7) lists them all."]
    out += [".SH NOTES",
            "Source\\-compatible with upstream libmemif 4.0; calls marked "
            "\\(lqExtension\\(rq are not in upstream. Which thread may make the call, and "
            "which callbacks it can run, is in \\fBlibmemif\\fR(7)."]
    see = ["libmemif(7)"]
    for other in group:
        for n in other["names"]:
            if n not in page["names"]:
                see.append(f"{n}(3)")
    out += [".SH SEE ALSO", ",\n".join(f".BR {s.split('(')[0]} ({s.split('(')[1]}"
                                       for s in see)]
    return "\n".join(out) + "\n"


def overview_page(intro, errors, groups, version, date):
    out = head("libmemif", 7, version, date)
    out += [".SH NAME", "libmemif \\- shared\\-memory packet interfaces (memif protocol 2.0)"]
    out += [".SH SYNOPSIS", ".nf", ".B #include <libmemif.h>", ".PP",
            "cc app.c $(pkg\\-config \\-\\-cflags \\-\\-libs libmemif)",
            ".PP",
            "find_package(memif REQUIRED)        # CMake",
            "target_link_libraries(app PRIVATE memif::memif)",
            ".fi"]
    out += [".SH DESCRIPTION",
            ".PP",
            "libmemif moves packets between two processes on the same Linux host through "
            "shared memory, speaking the memif protocol 2.0 of VPP and DPDK's "
            "\\fBnet_memif\\fR. One process is the \\fImaster\\fR: it listens on a Unix "
            "socket. The other is the \\fIslave\\fR: it connects, creates the shared memory "
            "and the interrupt eventfds, and hands them over. Then packets travel through "
            "rings in that memory."]
    # The header's opening comment: skip its first paragraph (file name and
    # compatibility note), render "Objects", "Threads", "Callbacks" as
    # subsections.
    sections = []
    cur = None
    for line in intro:
        if re.match(r"^[A-Z][a-z]+$", line.strip()) and not line.startswith(" "):
            cur = (line.strip(), [])
            sections.append(cur)
        elif cur is not None:
            cur[1].append(line)
    for title, body in sections:
        out.append(f".SS {esc(title)}")
        items = []
        for line in body:
            m = re.match(r"^  (\w+)\s{2,}(.*)$", line)
            if m:
                items.append([m.group(1), m.group(2).strip()])
            elif items and re.match(r"^\s{6,}", line):
                items[-1][1] += " " + line.strip()
            else:
                items.append([None, line.strip()])
        para = []
        for key, text in items:
            if key:
                if para:
                    out += [".PP", line_safe(esc(" ".join(para)))]
                    para = []
                out += [".TP", f"\\fI{esc(key)}\\fR", line_safe(esc(text))]
            elif text:
                para.append(text)
            elif para:
                out += [".PP", line_safe(esc(" ".join(para)))]
                para = []
        if para:
            out += [".PP", line_safe(esc(" ".join(para)))]
    out.append(".SH FUNCTIONS")
    for name, pages in groups:
        out.append(f".SS {esc(name)}")
        for page in pages:
            for n in page["names"]:
                out += [".TP", f".BR {n} (3)", line_safe(esc(summary(page["doc"])) + ".")]
    out += [".SH ERRORS",
            "Every call that returns \\fBint\\fR (except \\fBmemif_get_listener_fd\\fR) "
            "returns one of these; \\fBmemif_strerror\\fR(3) turns one into a sentence."]
    for i, (code, text) in enumerate(errors):
        out += [".TP", f"\\fB{esc(code)}\\fR ({i})", line_safe(esc(text))]
    out += [".SH ENVIRONMENT",
            ".TP", "\\fBMEMIF_LOG\\fR",
            "Log level of the library on stderr, read once when it is loaded: unset or 0 "
            "is silent, 1 errors, 2 warnings, 3 info, 4 debug."]
    out += [".SH FILES",
            ".TP", "\\fI/run/vpp/memif.sock\\fR",
            "The socket used when \\fBmemif_socket_args_t.path\\fR is empty "
            "(\\fBMEMIF_DEFAULT_SOCKET_PATH\\fR). A path starting with \\fB@\\fR, or with a "
            "NUL byte followed by a name, names an abstract socket instead."]
    out += [".SH SEE ALSO",
            ".BR memif_create_socket (3),", ".BR memif_create (3),",
            ".BR memif_poll_event (3),", ".BR memif_control_fd_handler (3),",
            ".BR memif_buffer_alloc (3),", ".BR memif_tx_burst (3),",
            ".BR memif_rx_burst (3),", ".BR memif_refill_queue (3)",
            ".PP",
            "The Markdown documentation (GettingStarted.md, api.md, event\\-loop.md, "
            "errors.md) in the source tree, installed under \\fIshare/doc/libmemif\\fR."]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen-man.py HEADER OUTDIR [VERSION]")
    header, outdir = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) > 3 else "4.0.0"
    # A fixed date keeps the pages reproducible; SOURCE_DATE_EPOCH wins.
    date = "2026-01-01"
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        import time
        date = time.strftime("%Y-%m-%d", time.gmtime(int(os.environ["SOURCE_DATE_EPOCH"])))

    intro, errors, groups = parse(header)
    if not groups or not errors:
        sys.exit("gen-man: found no functions or no error codes in " + header)
    for sub in ("man3", "man7"):
        d = os.path.join(outdir, sub)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))

    count = 0
    for gname, pages in groups:
        for page in pages:
            first = page["names"][0]
            with open(os.path.join(outdir, "man3", first + ".3"), "w", encoding="utf-8") as f:
                f.write(function_page(page, pages, groups, version, date))
            count += 1
            for alias in page["names"][1:]:
                with open(os.path.join(outdir, "man3", alias + ".3"), "w", encoding="utf-8") as f:
                    f.write(f".so man3/{first}.3\n")
                count += 1
    with open(os.path.join(outdir, "man7", "libmemif.7"), "w", encoding="utf-8") as f:
        f.write(overview_page(intro, errors, groups, version, date))
    print(f"gen-man: {count} function pages and libmemif(7) in {outdir}")


if __name__ == "__main__":
    main()
