"""Audit the pinned dependencies (constraints.txt) for known vulnerabilities with pip-audit.

Fails on any vulnerability not listed in .ci/audit-exceptions.txt (one ``ID  reason`` a line: each a finding
reviewed and explained), and on a dependency pip-audit could not look up while others were.

pip-audit asks a vulnerability service over the network. Where it has no answer at all (the build machine
reaches only a package mirror without vulnerability data), nothing was audited: that is said loudly, and is
a failure when AUDIT_REQUIRED=1 (set it where the service is reachable, so an outage cannot pass silently).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS = ROOT / ".ci" / "audit-exceptions.txt"


def _exceptions() -> dict[str, str]:
    reviewed = {}
    if EXCEPTIONS.exists():
        for line in EXCEPTIONS.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                vuln_id, _, reason = line.partition(" ")
                reviewed[vuln_id] = reason.strip()
    return reviewed


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "audit.json"
        run = subprocess.run(  # noqa: S603 - fixed arguments: pip-audit next to this interpreter
            [
                str(pip_audit), "-r", str(ROOT / "constraints.txt"), "--no-deps", "--disable-pip",
                "--progress-spinner", "off", "--format", "json", "--output", str(report_path),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )  # fmt: skip
        if not report_path.exists():
            print(run.stdout[-3000:] + run.stderr[-3000:])
            print("pip-audit wrote no report")
            return 1
        report = json.loads(report_path.read_text())
    return verdict(report, _exceptions(), required=os.environ.get("AUDIT_REQUIRED") == "1")


def verdict(report: dict[str, Any], reviewed: dict[str, str], *, required: bool) -> int:
    """Print what pip-audit's JSON ``report`` found beyond the ``reviewed`` ids; the exit status."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "no dependency listed"
        print(f"pip-audit: NOT AUDITED: no vulnerability data reachable for any of {len(skipped)} dependencies")
        print(f"  first reason: {reason}")
        return 1 if required else 0
    findings = [
        (d["name"], d["version"], v["id"], v.get("fix_versions", []))
        for d in audited
        for v in d.get("vulns", [])
        if v["id"] not in reviewed and not set(v.get("aliases", [])) & set(reviewed)
    ]
    for name, version, vuln_id, fixes in findings:
        print(f"{name} {version}: {vuln_id} (fixed in {', '.join(fixes) or 'no release yet'})")
    for dependency in skipped:
        print(f"{dependency['name']}: not audited: {dependency['skip_reason']}")
    print(f"pip-audit: {len(audited)} dependencies audited, {len(findings)} unreviewed vulnerabilities, "
          f"{len(skipped)} not audited")  # fmt: skip
    return 1 if findings or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
