#!/usr/bin/env python3
"""Checks tests/conftest.py's rule on a probe suite (skip_probe/): without CI a run with a
skipped test exits 77 (ctest: skipped) and prints the reason; with CI=true it fails."""

import os
import subprocess
import sys

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "skip_probe", "test_probe.py")


def run(ci):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", PROBE],
        capture_output=True,
        text=True,
        env=env,
    )


def main():
    problems = []
    local = run(ci=False)
    if local.returncode != 77:
        problems.append(f"without CI: exit status {local.returncode}, expected 77 (skipped)")
    if "the probe's skip" not in local.stdout:
        problems.append("without CI: the skip's reason is not printed")
    ci = run(ci=True)
    if ci.returncode != 1:
        problems.append(f"with CI=true: exit status {ci.returncode}, expected 1 (failed)")
    if "CI=true: this test must run in CI, but it skipped: the probe's skip" not in ci.stdout:
        problems.append("with CI=true: the failure does not say which skip it was")
    for p in problems:
        print("check_skip_reporting:", p)
    if problems:
        print(local.stdout[-600:], ci.stdout[-600:], sep="\n")
    print("check_skip_reporting:", "FAILED" if problems else "both rules hold")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
