#!/usr/bin/env python3
"""Join src_parts/NN_name.ext into the single header digby.h.

Usage:
    python3 amalgamate.py                  write digby.h next to this script
    python3 amalgamate.py -o PATH          write PATH instead
    python3 amalgamate.py --check          exit 1 with a diff if digby.h is stale
    python3 amalgamate.py --line -o PATH   add #line markers (debug builds only;
                                           the committed digby.h has none)

Layout of the output:
    banner (version from DIGBY_VERSION_STRING in src_parts/01_config.h)
    license line
    table of contents: a comment listing each part (public, then
        implementation) with its summary (see "Summaries" below)
    #ifndef DIGBY_H ... extern "C" { parts 00..09 } ... #endif
    #ifdef DIGBY_IMPLEMENTATION
    #ifndef DIGBY__IMPLEMENTATION_DONE ... extern "C" { parts 10..99 } ... #endif
    #endif
The implementation sits outside the DIGBY_H guard, so a translation unit may
include digby.h first without and then with DIGBY_IMPLEMENTATION.  Each part
is copied verbatim between "---- begin NN_name.ext ----" and "---- end ..."
comments.  The output is LF only and holds no timestamp and no absolute path:
the same parts always give the same bytes.  A file is only rewritten when its
bytes change.

Lints.  Any failure prints file:line: message and exits 2; nothing is rewritten.
  * Hidden files (".*") in src_parts/ are ignored; every other entry must be a
    file named ^\\d\\d_[a-z0-9_]+\\.(h|c)$.  No two parts share a number.
    Parts numbered below 10 are the public header and must be .h.
  * Bytes: no CR (CRLF line ends), no non-ASCII byte, no control character
    other than tab and LF, no trailing whitespace.  No comment or string may
    be left open at the end of a part.
  * No local include: #include "..." (comments are ignored, so the usage
    example in 00_intro.h is fine).  System <...> includes are allowed.
  * Every part starts (after blank lines) with a /* comment whose first line
    says what the part holds: the table of contents shows it.  See
    "Summaries" below.
  * DIGBY_VERSION_STRING must exist in 01_config.h and agree with
    DIGBY_VERSION_MAJOR/MINOR/PATCH when those exist.
  * Names (all parts).  A deliberately simple heuristic: comments and string
    literals are blanked first, preprocessor lines (and their backslash
    continuations) are skipped, and only lines that start in column 0 are
    looked at, because digby code indents everything inside braces.  Such a
    line is a function head when it matches

        TOKENS NAME (        TOKENS = identifiers, spaces and '*' only

    with at least one token before NAME (so "MACRO(x)" is not a head) and
    NAME not a C keyword (so "static void (*hook)(void)", a function
    pointer, is not one).  Upper-case macro calls such as DIGBY__X(y) and
    __attribute__((...)) are removed before matching.  A line that starts
    with "static" or "DIGBY_API" but holds none of "(;={[" is joined with
    the next line first (for "static int\\ndigby__f(void)").  Then:
      - TOKENS holds "static":    NAME must start with "digby__";
      - TOKENS holds "DIGBY_API": NAME must start with "digby_", not "digby__";
      - TOKENS starts with typedef, extern or a statement keyword: ignored;
      - otherwise it is a non-static function without DIGBY_API: rejected.
    A line starting with "DIGBY_API" where no NAME can be found is rejected
    too (put the name and its "(" on the DIGBY_API line).
    Static data (tables, function pointers) is not checked.

Summaries.  A part's summary is the first line of its leading comment, cut
after its first sentence when another follows on that line (two spaces after
the full stop, the house style), and ending in " ..." when it stops
mid-sentence and the comment goes on.  No leading comment, or a first line
holding "/*", is a lint failure.  A first line that is only a rule
("/* ====... */") or a section banner ("/* ---- Options ---- */") says
nothing about the part: that is a warning ("file:1: warning: ..." on stderr;
digby.h is still written, and its table of contents shows "(no summary
line)").  Whether a summary is true no lint can tell: read the table.

Exit status: 0 success; 1 --check found digby.h stale or missing; 2 a lint
failed or the arguments were wrong.
"""

import argparse
import difflib
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.abspath(__file__))
PARTS_DIR = "src_parts"
DEFAULT_OUT = "digby.h"

NAME_RE = re.compile(r"^(\d\d)_[a-z0-9_]+\.(h|c)$")
VERSION_RE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+DIGBY_VERSION_STRING[ \t]+"([^"]*)"', re.M)
VERSION_PART_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+DIGBY_VERSION_(MAJOR|MINOR|PATCH)[ \t]+(\d+)\b", re.M)
LOCAL_INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"')
MACRO_CALL_RE = re.compile(r"\b(?:[A-Z][A-Z0-9_]*|__attribute__|__declspec)\s*\((?:[^()]|\([^()]*\))*\)")
RULE_RE = re.compile(r"^[-=*_~#\s]*$")
BANNER_RE = re.compile(r"^[-=*_~#]{3,}\s*(.*?)\s*[-=*_~#]{3,}$")
SENTENCE_END_RE = re.compile(r"[.!?][)\"']*(?=  +\S)")
NO_SUMMARY = "(no summary line)"
HEAD_RE = re.compile(r"^((?:[A-Za-z_]\w*[\s*]+)+?)\**([A-Za-z_]\w*)\s*\(")

C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Bool _Complex _Imaginary bool
""".split())
# A head whose first token is one of these is not a function of ours.
SKIP_FIRST = frozenset("""
    typedef extern return case default goto else if for while do switch
    sizeof break continue
""".split())


class LintError(Exception):
    pass


def part_summary(text):
    """(summary, error, warning) for a part: its leading comment's first line
    for the table of contents (see "Summaries" in the docstring).  error and
    warning are None or a message; with an error there is no summary, with a
    warning the summary is NO_SUMMARY."""
    lines = text.split("\n")
    idx = 0
    while idx < len(lines) and not lines[idx].strip():
        idx += 1
    if idx == len(lines):
        idx = 0  # an empty part: report line 1
    first = lines[idx].strip()
    if not first.startswith("/*"):
        return None, ("%d: no leading comment: a part starts with a /* comment "
                      "whose first line says what it holds (digby.h's table of "
                      "contents shows that line)" % (idx + 1)), None
    line = first[2:]
    closed = "*/" in line
    if closed:
        line = line[:line.index("*/")]
    line = line.strip()
    if "/*" in line:
        return None, ("%d: the leading comment's first line holds \"/*\", which "
                      "cannot go into the table of contents (a comment)" % (idx + 1)), None
    if RULE_RE.match(line):
        return NO_SUMMARY, None, ("%d: warning: the leading comment's first line is a rule, "
                                  "not a summary of the part" % (idx + 1))
    if BANNER_RE.match(line):
        return NO_SUMMARY, None, ("%d: warning: the leading comment's first line is a section "
                                  "banner (%s), not a summary of the part"
                                  % (idx + 1, BANNER_RE.match(line).group(1)))
    m = SENTENCE_END_RE.search(line)
    if m:
        return line[:m.end()], None, None
    if not closed and line[-1] not in ".!?":
        line += " ..."
    return line, None, None


def table_of_contents(parts):
    """The comment after the license line: every part with its summary."""
    width = 79
    col = 5 + max(len(f) for n, f, t in parts) + 2
    out = ["/* Contents: the parts of src_parts/ joined here, each with the first line of",
           "   its leading comment (amalgamate.py, \"Summaries\")."]
    groups = [("The header (always):", [p for p in parts if p[0] < 10]),
              ("The implementation (in the one file that defines DIGBY_IMPLEMENTATION):",
               [p for p in parts if p[0] >= 10])]
    for title, group in groups:
        if not group:
            continue
        out.append("")
        out.append("   " + title)
        for number, fname, text in group:
            summary = part_summary(text)[0]
            wrapped = textwrap.wrap(summary, width - col, break_long_words=False,
                                    break_on_hyphens=False) or [""]
            out.append(("     %-*s%s" % (col - 5, fname, wrapped[0])).rstrip())
            out.extend(" " * col + w for w in wrapped[1:])
    out[-1] += " */"
    return out


def blank_comments(text, strings_too):
    """Return text with comments (and, if strings_too, the inside of string and
    character literals) replaced by spaces; newlines are kept, so line numbers
    stay.  Also returns None or a message if a comment/literal is left open."""
    out = []
    i, n = 0, len(text)
    state = None  # None, "block", "line", '"', "'"
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if state is None:
            if c == "/" and nxt == "*":
                state = "block"
                out.append("  ")
                i += 2
                continue
            if c == "/" and nxt == "/":
                state = "line"
                out.append("  ")
                i += 2
                continue
            if c in "\"'":
                state = c
            out.append(c)
        elif state == "block":
            if c == "*" and nxt == "/":
                state = None
                out.append("  ")
                i += 2
                continue
            out.append("\n" if c == "\n" else " ")
        elif state == "line":
            if c == "\n" and (i == 0 or text[i - 1] != "\\"):
                state = None
                out.append("\n")
            else:
                out.append("\n" if c == "\n" else " ")
        else:  # inside a string or character literal
            if c == "\\" and nxt:
                out.append("  " if strings_too and nxt != "\n" else c + nxt)
                i += 2
                continue
            if c == state:
                state = None
                out.append(c)
            elif c == "\n":
                # An unterminated literal; C does not continue it.
                state = None
                out.append(c)
            else:
                out.append(" " if strings_too else c)
        i += 1
    problem = None
    if state == "block":
        problem = "comment left open at end of part"
    return "".join(out), problem


def preprocessor_lines(lines):
    """Indexes (0-based) of lines that belong to a preprocessor directive."""
    result = set()
    cont = False
    for idx, line in enumerate(lines):
        if cont or line.lstrip().startswith("#"):
            result.add(idx)
            cont = line.endswith("\\")
        else:
            cont = False
    return result


def function_head(line):
    """(tokens, name) if this column-0 line looks like a function head."""
    line = MACRO_CALL_RE.sub(" ", line).lstrip()
    m = HEAD_RE.match(line)
    if not m:
        return None
    tokens = re.findall(r"[A-Za-z_]\w*", m.group(1))
    name = m.group(2)
    if not tokens or name in C_KEYWORDS:
        return None
    return tokens, name


def lint_names(fname, code_lines, errors):
    skip = preprocessor_lines(code_lines)
    for idx, line in enumerate(code_lines):
        if idx in skip or not line[:1].isalpha() and line[:1] != "_":
            continue
        first = re.match(r"[A-Za-z_]\w*", line).group(0)
        joined = line
        if (first in ("static", "DIGBY_API") and not re.search(r"[(;={\[]", line)
                and idx + 1 < len(code_lines) and idx + 1 not in skip):
            joined = line + " " + code_lines[idx + 1]
        head = function_head(joined)
        where = "%s/%s:%d" % (PARTS_DIR, fname, idx + 1)
        if head is None:
            if first == "DIGBY_API":
                errors.append("%s: DIGBY_API line without a function name and '(' "
                              "on it (or the line after it)" % where)
            continue
        tokens, name = head
        if "static" in tokens:
            if not name.startswith("digby__"):
                errors.append("%s: static function '%s' must be named digby__*"
                              % (where, name))
        elif "DIGBY_API" in tokens:
            if not name.startswith("digby_") or name.startswith("digby__"):
                errors.append("%s: public (DIGBY_API) function '%s' must be named "
                              "digby_* (not digby__*)" % (where, name))
        elif tokens[0] in SKIP_FIRST:
            continue
        else:
            errors.append("%s: function '%s' is neither static (name it digby__*) "
                          "nor DIGBY_API (name it digby_*)" % (where, name))


def lint_part(fname, raw, errors):
    """Check one part's bytes; return its text (str) or None."""
    where = "%s/%s" % (PARTS_DIR, fname)
    bad = False
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if b"\r" in line:
            errors.append("%s:%d: CR character (CRLF line ending?); use LF only"
                          % (where, lineno))
            bad = True
        if any(b > 0x7F for b in line):
            col = next(i for i, b in enumerate(line) if b > 0x7F) + 1
            errors.append("%s:%d:%d: non-ASCII byte 0x%02X"
                          % (where, lineno, col, line[col - 1]))
            bad = True
        elif any((b < 0x20 and b not in (0x09, 0x0D)) or b == 0x7F for b in line):
            errors.append("%s:%d: control character (only tab and LF allowed)"
                          % (where, lineno))
            bad = True
        if line.rstrip(b"\r").endswith((b" ", b"\t")):
            errors.append("%s:%d: trailing whitespace" % (where, lineno))
            bad = True
    if bad:
        return None
    text = raw.decode("ascii")
    if text and not text.endswith("\n"):
        text += "\n"

    no_comments, problem = blank_comments(text, strings_too=False)
    if problem:
        errors.append("%s: %s" % (where, problem))
        return None
    for lineno, line in enumerate(no_comments.split("\n"), 1):
        if LOCAL_INCLUDE_RE.match(line):
            errors.append('%s:%d: local #include "..." is not allowed in a part '
                          "(parts are joined; only <system> headers)" % (where, lineno))

    code, _ = blank_comments(text, strings_too=True)
    lint_names(fname, code.split("\n"), errors)
    return text


def read_parts(parts_dir):
    """Return ([(number, fname, text)], version, warnings) or raise
    LintError."""
    errors = []
    warnings = []
    if not os.path.isdir(parts_dir):
        raise LintError(["%s: no such directory" % parts_dir])
    parts = []
    seen = {}
    for fname in sorted(os.listdir(parts_dir)):
        if fname.startswith("."):
            continue
        path = os.path.join(parts_dir, fname)
        m = NAME_RE.match(fname)
        if not m or not os.path.isfile(path):
            errors.append("%s/%s: bad part name: want NN_name.h or NN_name.c "
                          "(^\\d\\d_[a-z0-9_]+\\.(h|c)$, a regular file)" % (PARTS_DIR, fname))
            continue
        number = int(m.group(1))
        if m.group(1) in seen:
            errors.append("%s/%s: number %s already used by %s"
                          % (PARTS_DIR, fname, m.group(1), seen[m.group(1)]))
            continue
        seen[m.group(1)] = fname
        if number < 10 and m.group(2) != "h":
            errors.append("%s/%s: a public part (number < 10) must be a .h file"
                          % (PARTS_DIR, fname))
        with open(path, "rb") as f:
            raw = f.read()
        text = lint_part(fname, raw, errors)
        if text is not None:
            parts.append((number, fname, text))
            _, error, warning = part_summary(text)
            if error:
                errors.append("%s/%s:%s" % (PARTS_DIR, fname, error))
            if warning:
                warnings.append("%s/%s:%s" % (PARTS_DIR, fname, warning))

    version = None
    config = [t for n, f, t in parts if f == "01_config.h"]
    if "01_config.h" not in seen.values():
        errors.append("%s/01_config.h: missing (it defines DIGBY_VERSION_STRING)" % PARTS_DIR)
    elif config:
        m = VERSION_RE.search(config[0])
        if not m or not m.group(1):
            errors.append('%s/01_config.h: no #define DIGBY_VERSION_STRING "X.Y.Z"' % PARTS_DIR)
        else:
            version = m.group(1)
            nums = dict(VERSION_PART_RE.findall(config[0]))
            if len(nums) == 3:
                want = "%d.%d.%d" % (int(nums["MAJOR"]), int(nums["MINOR"]), int(nums["PATCH"]))
                if not re.match(re.escape(want) + r"(?![0-9])", version):
                    errors.append("%s/01_config.h: DIGBY_VERSION_STRING \"%s\" disagrees "
                                  "with MAJOR.MINOR.PATCH %s" % (PARTS_DIR, version, want))
    if not any(n < 10 for n, f, t in parts) and not errors:
        errors.append("%s: no public parts (00..09)" % PARTS_DIR)
    if errors:
        raise LintError(errors, warnings)
    return parts, version, warnings


def build(parts, version, line_markers=False, out_name=DEFAULT_OUT):
    out = []

    def emit(s=""):
        out.append(s)

    def emit_part(fname, text):
        emit("/* ---- begin %s ---- */" % fname)
        if line_markers:
            emit('#line 1 "%s/%s"' % (PARTS_DIR, fname))
        body = text.split("\n")
        if body and body[-1] == "":
            body.pop()
        out.extend(body)
        if line_markers:
            # The next output line is len(out) + 2 (1-based, after this one).
            emit('#line %d "%s"' % (len(out) + 2, out_name))
        emit("/* ---- end %s ---- */" % fname)
        emit()

    emit("/* digby.h v%s -- generated by amalgamate.py from src_parts/: do not edit */" % version)
    emit("/* SPDX-License-Identifier: Apache-2.0 -- Licensed under the Apache License, "
         "Version 2.0 (see LICENSE). */")
    emit()
    out.extend(table_of_contents(parts))
    emit()
    emit("#ifndef DIGBY_H")
    emit("#define DIGBY_H")
    emit()
    emit("#ifdef __cplusplus")
    emit('extern "C" {')
    emit("#endif")
    emit()
    for number, fname, text in parts:
        if number < 10:
            emit_part(fname, text)
    emit("#ifdef __cplusplus")
    emit("}")
    emit("#endif")
    emit()
    emit("#endif /* DIGBY_H */")

    impl = [(f, t) for n, f, t in parts if n >= 10]
    if impl:
        emit()
        emit("#ifdef DIGBY_IMPLEMENTATION")
        emit("#ifndef DIGBY__IMPLEMENTATION_DONE")
        emit("#define DIGBY__IMPLEMENTATION_DONE")
        emit()
        emit("#ifdef __cplusplus")
        emit('extern "C" {')
        emit("#endif")
        emit()
        for fname, text in impl:
            emit_part(fname, text)
        emit("#ifdef __cplusplus")
        emit("}")
        emit("#endif")
        emit()
        emit("#endif /* DIGBY__IMPLEMENTATION_DONE */")
        emit("#endif /* DIGBY_IMPLEMENTATION */")
    return "\n".join(out) + "\n"


def display_name(path):
    """How the output names itself in #line markers: relative to the repo if
    inside it, else the bare file name (never an absolute path)."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    if rel.startswith(".."):
        rel = os.path.basename(path)
    return rel.replace(os.sep, "/")


def main(argv):
    ap = argparse.ArgumentParser(
        description="Join src_parts/NN_name.ext into digby.h (see the docstring).")
    ap.add_argument("-o", "--output", metavar="PATH",
                    help="write (or with --check, compare) PATH instead of digby.h "
                         "next to this script")
    ap.add_argument("--check", action="store_true",
                    help="build in memory and compare with the existing file; "
                         "exit 1 with a diff if it differs")
    ap.add_argument("--line", action="store_true",
                    help="emit #line markers pointing into src_parts/ (debug builds)")
    args = ap.parse_args(argv)

    out_path = args.output or os.path.join(ROOT, DEFAULT_OUT)
    try:
        parts, version, warnings = read_parts(os.path.join(ROOT, PARTS_DIR))
    except LintError as e:
        for msg in e.args[0] + (e.args[1] if len(e.args) > 1 else []):
            sys.stderr.write("amalgamate.py: %s\n" % msg)
        sys.stderr.write("amalgamate.py: %d problem(s); nothing written\n" % len(e.args[0]))
        return 2
    for msg in warnings:
        sys.stderr.write("amalgamate.py: %s\n" % msg)
    data = build(parts, version, args.line, display_name(out_path)).encode("ascii")
    shown = display_name(out_path)

    try:
        with open(out_path, "rb") as f:
            old = f.read()
    except FileNotFoundError:
        old = None

    if args.check:
        if old == data:
            return 0
        if old is None:
            sys.stderr.write("amalgamate.py: %s does not exist; run: python3 amalgamate.py\n"
                             % shown)
            return 1
        sys.stderr.write("amalgamate.py: %s is stale (src_parts/ changed); "
                         "run: python3 amalgamate.py (or make amalgamate)\n" % shown)
        diff = difflib.unified_diff(
            old.decode("ascii", "replace").splitlines(),
            data.decode("ascii").splitlines(),
            fromfile=shown + " (committed)", tofile=shown + " (from src_parts/)",
            lineterm="")
        for i, line in enumerate(diff):
            if i == 40:
                sys.stderr.write("... (diff cut at 40 lines)\n")
                break
            sys.stderr.write(line + "\n")
        return 1

    if old != data:
        d = os.path.dirname(os.path.abspath(out_path))
        os.makedirs(d, exist_ok=True)
        tmp = out_path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
