"""The verdict of `make audit` (.ci/audit_dependencies.py) on pip-audit's JSON reports.

pip-audit itself needs its vulnerability service, which the build machines cannot reach (docs/security.md);
these reports have the shape pip-audit 2.x writes with ``--format json``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit_dependencies.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dependency(name: str, *vulns: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "version": "1.0", "vulns": list(vulns)}


VULN = {"id": "PYSEC-2099-1", "fix_versions": ["1.1"], "aliases": ["CVE-2099-0001"], "description": "bad"}


def test_a_clean_audit_passes(audit: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    report = {"dependencies": [_dependency("litestar"), _dependency("msgspec")]}
    assert audit.verdict(report, {}, required=True) == 0
    assert "2 dependencies audited, 0 unreviewed vulnerabilities, 0 not audited" in capsys.readouterr().out


def test_an_unreviewed_vulnerability_fails_and_names_its_fix(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {"dependencies": [_dependency("litestar", VULN), _dependency("msgspec")]}
    assert audit.verdict(report, {}, required=False) == 1
    assert "litestar 1.0: PYSEC-2099-1 (fixed in 1.1)" in capsys.readouterr().out


@pytest.mark.parametrize("reviewed_id", ["PYSEC-2099-1", "CVE-2099-0001"])
def test_a_reviewed_vulnerability_passes_by_its_id_or_an_alias(audit: ModuleType, reviewed_id: str) -> None:
    report = {"dependencies": [_dependency("litestar", VULN)]}
    assert audit.verdict(report, {reviewed_id: "the vulnerable code path is not used"}, required=True) == 0


def test_a_dependency_left_unaudited_among_audited_ones_fails(audit: ModuleType) -> None:
    report = {"dependencies": [_dependency("litestar"), {"name": "x", "skip_reason": "not found"}]}
    assert audit.verdict(report, {}, required=False) == 1


def test_no_vulnerability_data_at_all_is_said_and_fails_only_where_required(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {"dependencies": [{"name": "litestar", "skip_reason": "Dependency not found"}]}
    assert audit.verdict(report, {}, required=False) == 0
    assert "NOT AUDITED" in capsys.readouterr().out
    assert audit.verdict(report, {}, required=True) == 1


def test_the_exceptions_file_parses(audit: ModuleType) -> None:
    assert all(" " not in vuln_id for vuln_id in audit._exceptions())
