#!/usr/bin/env python3
"""Hold digby.h's documented error lists to the result codes the fault
sweeps see.

    doc_errors.py [--header digby.h] [--wrappers tests/seen_errors.h] [SEEN ...]

Every public function of digby.h that returns int must document its
results under a "Returns:" heading in its comment: the DIGBY_* codes it
names, plus "the errors of digby_other()" for another function's list.
Each SEEN file (written by a test run with DIGBY_SEEN_ERRORS=FILE; lines
"function code", code a digby result name) lists the results the test saw
each function return; every one must be on that function's list.  Exit
status 1 with one line per problem, else 0.  The script that reads the
header is the same one a user reads: no second copy of the lists.
"""
import argparse
import re
import sys

HEADINGS = ("Params:", "Ownership:", "Returns:", "Threads:", "Technique:", "Cost:")
DECL_RE = re.compile(r"DIGBY_API\s+int\s+(digby_\w+)\s*\(")
CODE_RE = re.compile(r"\bDIGBY_(?:OK|[A-Z]+)\b")
ERRORS_OF_RE = re.compile(r"errors\s+of\s+(digby_\w+)\(\)", re.S)


def public_part(text):
    """The header's declarations: everything before the implementation."""
    cut = text.find("#ifdef DIGBY_IMPLEMENTATION")
    return text if cut < 0 else text[:cut]


def result_names(text):
    """The codes of the DIGBY__ERRORS X-macro list."""
    return set(re.findall(r"X\((DIGBY_[A-Z]+),", text))


def returns_sections(text):
    """{function: (codes, [functions whose errors it includes])} for every
    DIGBY_API int function; a function without a Returns: section maps to
    None.  A comment documents the declarations that follow it up to the
    next comment (several declarations may share one)."""
    out = {}
    comment = None
    token_re = re.compile(r"/\*.*?\*/|DIGBY_API\s+int\s+(digby_\w+)\s*\(", re.S)
    for m in token_re.finditer(text):
        if m.group(0).startswith("/*"):
            comment = m.group(0)
            continue
        name = m.group(1)
        if comment is None or "Returns:" not in comment:
            out[name] = None
            continue
        sec = comment[comment.index("Returns:") + len("Returns:"):]
        for h in HEADINGS:
            k = sec.find(h)
            if k >= 0:
                sec = sec[:k]
        codes = set(CODE_RE.findall(sec))
        out[name] = (codes, ERRORS_OF_RE.findall(sec))
    return out


def expand(sections):
    """{function: every code it documents, includes followed}."""
    full = {}

    def get(name, seen):
        if name in full:
            return full[name]
        entry = sections.get(name)
        if not entry:
            return set()
        codes = set(entry[0])
        for other in entry[1]:
            if other not in seen:
                codes |= get(other, seen | {name})
        full[name] = codes
        return codes

    for name in sections:
        get(name, {name})
    return full


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--header", default="digby.h")
    ap.add_argument("--wrappers", metavar="SEEN_ERRORS_H",
                    help="tests/seen_errors.h: it must wrap every public function "
                         "that returns int")
    ap.add_argument("seen", nargs="*")
    args = ap.parse_args(argv)
    with open(args.header, encoding="ascii") as f:
        text = f.read()
    names = result_names(text)
    sections = returns_sections(public_part(text))
    problems = []
    for name, entry in sorted(sections.items()):
        if entry is None:
            problems.append("%s: no 'Returns:' list in its comment" % name)
            continue
        for code in sorted(entry[0] - names):
            problems.append("%s: documents %s, which is no result code" % (name, code))
        for other in entry[1]:
            if other not in sections:
                problems.append("%s: cites the errors of %s(), which is not a "
                                "public function returning int" % (name, other))
    if args.wrappers:
        with open(args.wrappers, encoding="ascii") as f:
            wrapped = set(re.findall(r"#define\s+(digby_\w+)\(\.\.\.\)", f.read()))
        for name in sorted(set(sections) - wrapped):
            problems.append("%s: not wrapped in %s, so no sweep records it"
                            % (name, args.wrappers))
    documented = expand(sections)
    checked = 0
    undocumented = {}  # (function, code) -> [times, first file]
    for path in args.seen:
        with open(path, encoding="ascii") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    problems.append("%s:%d: bad line %r" % (path, lineno, line))
                    continue
                fn, code = parts
                checked += 1
                if fn not in documented:
                    problems.append("%s:%d: %s is not a documented public function"
                                    % (path, lineno, fn))
                elif code not in documented[fn]:
                    undocumented.setdefault((fn, code), [0, path])[0] += 1
    for (fn, code), (times, path) in sorted(undocumented.items()):
        problems.append("%s returned %s, which its 'Returns:' list in digby.h does "
                        "not name (in %d file(s), first %s)" % (fn, code, times, path))
    for p in problems:
        print("doc_errors: " + p)
    print("doc_errors: %d public functions' error lists, %d observed results checked, "
          "%d problem(s)" % (len(sections), checked, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
