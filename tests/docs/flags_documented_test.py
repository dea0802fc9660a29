#!/usr/bin/env python3
"""Every flag of xenlet and xenletctl is documented in docs/operations.md,
and the guide documents no flag that does not exist.

The flags come from the binaries' own --help: `xenlet --help`,
`xenletctl --help` (global flags) and `xenletctl VERB --help` for each verb
that the top-level help lists. A verb whose help lists subcommands of its
own is a group (`xenletctl fleet`): each of its verbs is a scope,
`xenletctl fleet list`, and the group is one only if it has flags of its
own. In docs/operations.md each scope has a table after a marker line,
`<!-- flags: xenlet -->`, `<!-- flags: xenletctl -->`,
`<!-- flags: xenletctl VERB -->` or `<!-- flags: xenletctl GROUP VERB -->`,
whose first column names the flags in
backticks (`--flag`). Both directions are checked per scope; every missing
flag is named with where it is missing. A verb's own --help is not asked to
be documented per verb (it is documented once, with the global flags).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"])
XENLET = os.path.join(ROOT, "agent", "xenlet")
XENLETCTL = os.path.join(ROOT, "tools", "xenletctl", "xenletctl")
GUIDE = "docs/operations.md"

# A CLI11 option line: two spaces, then the names ("-w,--watch",
# "--initial-state,--no-initial-state{false}", "--socket TEXT=...").
OPTION_LINE = re.compile(r"^  (-[^\s]+)")
LONG_NAME = re.compile(r"^--[A-Za-z0-9][A-Za-z0-9-]*")
MARKER = re.compile(r"^<!--\s*flags:\s*(.+?)\s*-->\s*$")
DOCUMENTED = re.compile(r"`(--[A-Za-z0-9][A-Za-z0-9-]*)`")


def run_help(argv):
    """The --help text of argv; fails the test if it cannot be had."""
    proc = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    if proc.returncode != 0:
        sys.exit("FAIL: %s --help exited %d:\n%s" %
                 (" ".join(os.path.basename(a) if i == 0 else a
                           for i, a in enumerate(argv)),
                  proc.returncode, proc.stdout))
    return proc.stdout


def long_flags(help_text):
    flags = set()
    for line in help_text.splitlines():
        m = OPTION_LINE.match(line)
        if not m:
            continue
        for name in m.group(1).split(","):
            long_name = LONG_NAME.match(name.lstrip("!"))
            if long_name:
                flags.add(long_name.group(0))
    return flags


def verbs(help_text):
    """The verbs of the "Subcommands:" section of xenletctl --help."""
    out, inside = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
            continue
        if inside:
            if not line.strip() or not line.startswith("  "):
                break
            if line.startswith("  ") and not line.startswith("   "):
                out.append(line.split()[0])
    return out


def collect_verbs(words, help_text, actual):
    """Adds the scope of every verb under `words` (the verbs before it on the
    command line) to `actual`, descending into groups; returns how many."""
    count = 0
    for verb in verbs(help_text):
        argv = words + [verb]
        text = run_help([XENLETCTL] + argv)
        flags = long_flags(text)
        flags.discard("--help")
        scope = "xenletctl " + " ".join(argv)
        if verbs(text):
            if flags:
                actual[scope] = flags
            count += collect_verbs(argv, text, actual)
        else:
            actual[scope] = flags
            count += 1
    return count


def documented_scopes(path):
    """scope -> set of flags named in the first column of its table."""
    scopes, lines = {}, open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        scope = m.group(1)
        if scope in scopes:
            sys.exit("FAIL: %s has two flag tables for %s" % (GUIDE, scope))
        flags, j = set(), i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        rows = []
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            rows.append(lines[j])
            j += 1
        if len(rows) < 2:
            sys.exit("FAIL: %s: no table after <!-- flags: %s -->" %
                     (GUIDE, scope))
        for row in rows[2:]:  # after the header and its separator
            first_cell = row.strip().strip("|").split("|")[0]
            flags.update(DOCUMENTED.findall(first_cell))
        scopes[scope] = flags
    return scopes


def main():
    problems = []
    top = run_help([XENLETCTL])
    actual = {
        "xenlet": long_flags(run_help([XENLET])),
        "xenletctl": long_flags(top),
    }
    verb_count = collect_verbs([], top, actual)
    if not verb_count:
        problems.append("xenletctl --help lists no verbs under Subcommands:")

    docs = documented_scopes(os.path.join(ROOT, GUIDE))
    checked = 0
    for scope in sorted(actual):
        where = "`%s --help`" % scope
        if scope not in docs:
            problems.append(
                "%s has no flag table for %s (a line <!-- flags: %s --> "
                "before it); its flags: %s" %
                (GUIDE, scope, scope, " ".join(sorted(actual[scope])) or
                 "(none)"))
            continue
        documented = set(docs[scope])
        if scope.startswith("xenletctl "):
            documented.discard("--help")
        for flag in sorted(actual[scope] - documented):
            problems.append("%s is in %s but not documented in %s under "
                            "<!-- flags: %s -->" % (flag, where, GUIDE, scope))
        for flag in sorted(documented - actual[scope]):
            problems.append("%s documents %s under <!-- flags: %s -->, but "
                            "%s has no such flag" % (GUIDE, flag, scope, where))
        checked += len(actual[scope])
    for scope in sorted(set(docs) - set(actual)):
        problems.append("%s has a flag table for %s, which is not xenlet, "
                        "xenletctl or a verb of xenletctl --help (or of a "
                        "group's --help)" %
                        (GUIDE, scope))

    if problems:
        print("FAIL: %d problem(s):" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("PASS: %d flags of %d --help texts (xenlet, xenletctl and %d "
          "verbs) are documented in %s, and nothing more" %
          (checked, len(actual), verb_count, GUIDE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
