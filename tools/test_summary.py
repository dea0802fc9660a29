#!/usr/bin/env python3
"""Counts test cases of a `bazel test` run: prints "N passed, N failed".

argv: the run's output, the bazel-testlogs directory, bazel's exit code,
then any number of logs of tools/fuzz.sh and tools/sanitize.sh, whose
lines "KIND NAME: passed" or "KIND NAME: failed" count one case each (a
fuzz target, a target under a sanitizer, an analysis).
For each target line of Bazel's summary, the cases come from the target's
test.xml (gtest's own, or Bazel's one-case file for shell tests). A target
that failed to build, timed out without cases, or has no XML counts as one
failure; a build error before any test ran counts as one failure.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

LINE = re.compile(r'^//([^: ]*):(\S+)\s+(?:\(cached\) )?'
                  r'(PASSED|FLAKY|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|'
                  r'INCOMPLETE|REMOTE FAILURE|SKIPPED)\b')


def cases(xml_path):
    root = ET.parse(xml_path).getroot()
    suites = root.findall('testsuite') if root.tag == 'testsuites' else [root]
    total = sum(int(s.get('tests', 0)) for s in suites)
    failed = sum(int(s.get('failures', 0)) + int(s.get('errors', 0))
                 for s in suites)
    return total, failed


def main():
    log, testlogs, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    passed = failed = 0
    with open(log, errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            package, name, status = m.groups()
            xml = os.path.join(testlogs, package, name, 'test.xml')
            counted = False
            if status in ('PASSED', 'FLAKY', 'FAILED', 'TIMEOUT') and \
                    os.path.exists(xml):
                try:
                    total, bad = cases(xml)
                    if total:
                        if status in ('FAILED', 'TIMEOUT') and bad == 0:
                            bad = 1
                        passed += max(total - bad, 0)
                        failed += bad
                        counted = True
                except ET.ParseError:
                    pass
            if not counted:
                if status in ('PASSED', 'FLAKY'):
                    passed += 1
                elif status != 'SKIPPED':
                    failed += 1
    # tools/fuzz.sh's and tools/sanitize.sh's lines: "KIND NAME: passed
    # ..." or "KIND NAME: failed ...".
    for extra in sys.argv[4:]:
        if not os.path.exists(extra):
            continue
        with open(extra, errors='replace') as f:
            for line in f:
                m = re.match(r'(?:fuzz|asan|tsan|analysis) \S+: (passed|failed)',
                             line)
                if m:
                    if m.group(1) == 'passed':
                        passed += 1
                    else:
                        failed += 1
    if rc not in (0, 3) and failed == 0:
        failed = 1
    print(f'{passed} passed, {failed} failed')


if __name__ == '__main__':
    main()
