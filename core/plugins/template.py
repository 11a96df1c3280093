"""``carecoord plugin new``: scaffold a partner plugin package.

The package is copied from ``template_files/`` (files ending ``.tmpl``, so that tools never take
them for carecoord's own code), replacing ``{{name}}``-style placeholders. ``package/`` becomes the
plugin's import package; the migration and the test module are renamed after the plugin.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import keyword
import sys
from datetime import UTC, datetime
from pathlib import Path

from core.plugins.records import normalise_name

TEMPLATE_DIR = Path(__file__).parent / "template_files"
SUFFIX = ".tmpl"
RESERVED = frozenset({"core", "tests", "test", "plugins", "tenants", "workers", "carecoord", "conftest"})
"""Names that would shadow carecoord's own packages or the generated package's test folder."""


def validate_name(name: str) -> None:
    """Raise ``ValueError`` (the CLI prints it and exits 2) unless ``name`` can be a new plugin package."""
    if not name.isidentifier():
        raise ValueError(f"{name!r} is not a Python identifier: use letters, digits and underscores, e.g. wound_care")
    if keyword.iskeyword(name):
        raise ValueError(f"{name!r} is a Python keyword; choose another name")
    if name != name.lower():
        raise ValueError(f"{name!r} must be lower case, e.g. {name.lower()!r}")
    if name in sys.stdlib_module_names or name in RESERVED:
        raise ValueError(f"{name!r} is the name of a standard library or carecoord package; choose another")
    try:
        normalise_name(name)
    except ValueError as exc:
        raise ValueError(f"{name!r} cannot be a module name: {exc}") from None


def _refuse_importable(name: str) -> None:
    try:
        existing = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        existing = None
    if existing is not None:
        where = existing.origin or ", ".join(existing.submodule_search_locations or [])
        raise ValueError(f"a module named {name!r} is already importable ({where}); choose another name")


def write_plugin(name: str, parent: Path) -> Path:
    """Create ``parent/name``: a plugin package with hooks, settings, a table and its migration, routes,
    an actor and tests. Returns the new folder."""
    validate_name(name)
    target = parent / name
    if target.exists():
        raise ValueError(f"{target} already exists")
    _refuse_importable(name)
    now = datetime.now(UTC)
    migration_id = now.strftime("%Y-%m-%dT%H:%M:%S:%f")
    migration_module = f"{name}_{now.strftime('%Y_%m_%dt%H_%M_%S_%f')}"
    values = {
        "{{name}}": name,
        "{{dist}}": "carecoord-" + name.replace("_", "-"),
        "{{title}}": name.replace("_", " ").title(),
        "{{class_name}}": "".join(part.capitalize() for part in name.split("_")),
        "{{migration_id}}": migration_id,
        "{{piccolo_version}}": importlib.metadata.version("piccolo"),
    }
    renames = {"package": name, "migration.py": f"{migration_module}.py", "test_module.py": f"test_{name}.py"}
    sources = sorted(p for p in TEMPLATE_DIR.rglob(f"*{SUFFIX}") if p.is_file())
    if not sources:
        raise LookupError(f"the plugin template is missing from {TEMPLATE_DIR}")
    target.mkdir(parents=True)
    for source in sources:
        parts = [renames.get(part, part) for part in source.relative_to(TEMPLATE_DIR).with_suffix("").parts]
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return target
