#!/usr/bin/env python3
"""Per-suite results and the closing summary table of scripts/test.sh (standard library only).

  test_report.py record NAME KIND RC [ARTIFACT]   store one suite's counts in $KR_RESULTS/NAME.json
      KIND junit   ARTIFACT is a JUnit XML file (ctest --output-junit, pytest --junitxml)
      KIND deploy  ARTIFACT is tests/deploy/run.sh's output (PASS/FAIL/SKIPPED lines)
      KIND counts  ARTIFACT is a JSON file {"passed", "failed", "skipped": [[test, reason], ...]}
      KIND none    no artifact: the suite is one check that passed when RC is 0
  test_report.py table                            print the table; exit 1 if anything failed

A suite whose command exited non-zero is failed even when its artifact shows no failing test
(a crash, a build error, a missing artifact). Skips are matched against tests/expected_skips.txt;
with CI set, a skip that is not listed there counts as a failure (missing fixtures, models, tools).
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("KR_RESULTS", REPO / "build" / "test-results"))
ALLOW_LIST = REPO / "tests" / "expected_skips.txt"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_ci() -> bool:
    return os.environ.get("CI", "") not in ("", "0", "false")


def expected_skips() -> list[tuple[str, str, str]]:
    """(suite glob, test glob, reason) per line 'SUITE TEST-GLOB | reason'."""
    out = []
    for line in ALLOW_LIST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, reason = line.partition("|")
        suite, _, test = head.strip().partition(" ")
        out.append((suite, test.strip(), reason.strip()))
    return out


def allowed(suite: str, test: str) -> str | None:
    for s, t, reason in expected_skips():
        if fnmatch.fnmatchcase(suite, s) and fnmatch.fnmatchcase(test, t):
            return reason
    return None


def gtest_skip_reason(output: str) -> str:
    """The message after gtest's 'file:line: Skipped' line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(": Skipped") and i + 1 < len(lines):
            return lines[i + 1].strip()
    return ""


def from_junit(path: Path) -> tuple[int, list[str], list[tuple[str, str]]]:
    passed, failed, skipped = 0, [], []
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname") or ""
        name = case.get("name") or ""
        test = f"{cls}::{name}" if cls and cls != name else name
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(test)
        elif (skip := case.find("skipped")) is not None:
            reason = skip.get("message") or ""
            out = case.find("system-out")
            reason = gtest_skip_reason(out.text or "") if out is not None and out.text else reason
            skipped.append((test, reason.strip() or "no reason given"))
        else:
            passed += 1
    return passed, failed, skipped


def from_deploy(path: Path) -> tuple[int, list[str], list[tuple[str, str]]]:
    passed, failed, skipped = 0, [], []
    lines = [ANSI.sub("", line) for line in path.read_text(errors="replace").splitlines()]
    for i, line in enumerate(lines):
        if m := re.match(r"\s+PASS (.*)", line):
            passed += 1
        elif m := re.match(r"\s+FAIL (.*)", line):
            failed.append(m.group(1))
        elif m := re.match(r"\s+SKIPPED (.*)", line):
            reason = lines[i + 1].strip().removeprefix("!!! ") if i + 1 < len(lines) else ""
            skipped.append((m.group(1), reason))
    return passed, failed, skipped


def record(name: str, kind: str, rc: int, artifact: str | None) -> None:
    passed, failed, skipped, note = 0, [], [], ""
    path = Path(artifact) if artifact else None
    try:
        if kind == "junit":
            passed, failed, skipped = from_junit(path)
        elif kind == "deploy":
            passed, failed, skipped = from_deploy(path)
        elif kind == "counts":
            data = json.loads(path.read_text())
            passed, failed = data["passed"], list(data["failed"])
            skipped = [tuple(s) for s in data.get("skipped", [])]
        elif kind == "none":
            passed = 1 if rc == 0 else 0  # a failure is added below from rc
        else:
            raise ValueError(f"unknown kind {kind}")
    except (OSError, ET.ParseError, ValueError, KeyError) as e:
        note = f"no readable results ({e})"
    if rc != 0 and not failed:
        failed = [f"{name}: command exited with {rc}" + (f"; {note}" if note else "")]
    unexpected = []
    for test, reason in skipped:
        if allowed(name, test) is None:
            unexpected.append(f"{test}: skipped but not in tests/expected_skips.txt ({reason})")
    if in_ci():
        failed += unexpected
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({
        "suite": name, "rc": rc, "passed": passed, "failed": failed,
        "seconds": int(os.environ.get("KR_SUITE_SECONDS", "0") or 0),
        "skipped": [{"test": t, "reason": r, "expected": allowed(name, t) is not None} for t, r in skipped],
    }, indent=1))


def table() -> int:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"), key=lambda p: p.stat().st_mtime)]
    total_p = total_f = total_s = 0
    print(f"\n{'suite':<28} {'passed':>7} {'failed':>7} {'skipped':>8} {'seconds':>8}")
    print("-" * 62)
    for r in rows:
        print(f"{r['suite']:<28} {r['passed']:>7} {len(r['failed']):>7} {len(r['skipped']):>8} {r.get('seconds', 0):>8}")
        total_p += r["passed"]
        total_f += len(r["failed"])
        total_s += len(r["skipped"])
    print("-" * 62)
    print(f"{'total':<28} {total_p:>7} {total_f:>7} {total_s:>8} {sum(r.get('seconds', 0) for r in rows):>8}")
    skips = [(r["suite"], s) for r in rows for s in r["skipped"]]
    if skips:
        print("\nskipped (reasons):")
        for suite, s in skips:
            tag = "expected" if s["expected"] else ("UNEXPECTED: counted as failed (CI)" if in_ci() else "UNEXPECTED")
            print(f"  [{suite}] {s['test']}: {s['reason']} [{tag}]")
    fails = [(r["suite"], f) for r in rows for f in r["failed"]]
    if fails:
        print("\nfailed:")
        for suite, f in fails:
            print(f"  [{suite}] {f}")
    print(f"\n{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "record":
        record(argv[1], argv[2], int(argv[3]), argv[4] if len(argv) > 4 else None)
        return 0
    if argv == ["table"]:
        return table()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
