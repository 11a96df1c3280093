"""``carecoord plugin new NAME``: the scaffold a partner starts from, and the proof that it works.

The generated package is installed into this environment only for as long as its own tests run
(other test sessions running meanwhile would discover it), and always uninstalled afterwards.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.cli import main

NAME = "demo_plugin"
DIST = "carecoord-demo-plugin"
EXPECTED_FILES = [
    "pyproject.toml",
    "README.md",
    f"{NAME}/__init__.py",
    f"{NAME}/hooks.py",
    f"{NAME}/settings.py",
    f"{NAME}/tables.py",
    f"{NAME}/service.py",
    f"{NAME}/controllers.py",
    f"{NAME}/actors.py",
    f"{NAME}/piccolo_app.py",
    f"{NAME}/piccolo_migrations/__init__.py",
    "tests/conftest.py",
    f"tests/test_{NAME}.py",
]


def run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=timeout
    )


def installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def error_line(stderr: str) -> str:
    """The CLI's ``error: ...`` line (other lines may be log records)."""
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def check_layout(package: Path) -> None:
    for relative in EXPECTED_FILES:
        assert (package / relative).is_file(), f"{relative} was not generated"
    migrations = sorted((package / NAME / "piccolo_migrations").glob(f"{NAME}_*.py"))
    assert len(migrations) == 1, migrations
    migration = migrations[0].read_text()
    assert f"create table {NAME}_items" in migration
    assert "primary key (tenant_id, id)" in migration
    assert "foreign key (tenant_id, patient_id) references patients (tenant_id, id)" in migration
    assert f'tenant_table_security("{NAME}_items")' in migration
    assert 'pytest_plugins = ["core.testing.fixtures"]' in (package / "tests/conftest.py").read_text()
    assert "{{" not in "".join(p.read_text() for p in package.rglob("*") if p.is_file()), "placeholder left over"

    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == DIST
    assert project["project"]["entry-points"]["carecoord.plugins"] == {NAME: f"{NAME}.hooks"}
    assert project["tool"]["pytest"]["ini_options"] == {
        "asyncio_mode": "auto",
        "asyncio_default_fixture_loop_scope": "session",
        "asyncio_default_test_loop_scope": "session",
        "testpaths": ["tests"],
        "filterwarnings": ["ignore::DeprecationWarning"],
    }


async def test_the_generated_plugin_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    assert not installed(DIST), f"{DIST} is already installed (left over by an interrupted run?)"

    created = run("-m", "core.cli", "plugin", "new", NAME, "--dir", str(tmp_path), cwd=tmp_path)

    assert created.returncode == 0, created.stderr
    package = tmp_path / NAME
    assert f"created {package}" in created.stdout
    check_layout(package)
    lint = run("-m", "ruff", "check", "--no-cache", str(package), cwd=package)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    try:
        install = run("-m", "pip", "install", "--no-deps", "--quiet", "-e", str(package), cwd=package)
        assert install.returncode == 0, install.stdout + install.stderr
        tests = run("-m", "pytest", str(package), "-q", "-p", "no:cacheprovider", cwd=package)
    finally:
        run("-m", "pip", "uninstall", "--yes", "--quiet", DIST, cwd=tmp_path)

    assert not installed(DIST), "the demo plugin must not stay installed in the shared environment"
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-5000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= 5, summary
    assert not re.search(r"failed|error|skipped", summary), summary


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("WoundCare", "must be lower case"),
        ("wound-care", "not a Python identifier"),
        ("2fast", "not a Python identifier"),
        ("class", "is a Python keyword"),
        ("w", "cannot be a module name"),
        ("json", "standard library or carecoord package"),
        ("core", "standard library or carecoord package"),
        ("tests", "standard library or carecoord package"),
        ("pytest", "already importable"),
    ],
)
def test_names_that_cannot_be_a_plugin_package_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, complaint: str
) -> None:
    code = main(["plugin", "new", name, "--dir", str(tmp_path)])

    assert code == 2
    assert complaint in error_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    existing = tmp_path / "wound_care"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")

    refused = run("-m", "core.cli", "plugin", "new", "wound_care", "--dir", str(tmp_path), cwd=tmp_path)

    assert refused.returncode == 2
    assert f"{existing} already exists" in error_line(refused.stderr)
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]
    assert (existing / "notes.txt").read_text() == "mine"
