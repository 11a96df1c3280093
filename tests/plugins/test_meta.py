"""Every hook is documented and tested: adding a hookspec without both fails here.

The hookspecs are the functions of ``core.plugins.hookspecs`` that pluggy's ``@hookspec`` marked
(they carry a ``carecoord_spec`` attribute). Their signatures are read from the source, so the
guide in ``docs/plugins.md`` must follow every change to a spec, character for character.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from core.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
HOOK_TESTS = Path(__file__).with_name("test_hooks.py")


def hookspec_names() -> set[str]:
    """Names of the functions pluggy knows as hookspecs."""
    return {
        name
        for name, value in vars(hookspecs).items()
        if inspect.isfunction(value) and getattr(value, f"{hookspecs.PROJECT}_spec", None) is not None
    }


def source_signatures() -> dict[str, str]:
    """``def name(args) -> ret`` of each hookspec, exactly as written in the source (line breaks included)."""
    source = inspect.getsource(hookspecs)
    lines = source.splitlines()
    signatures = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in hookspec_names():
            assert node.returns is not None, f"hookspec {node.name} needs a return annotation"
            assert node.returns.end_lineno is not None
            text = lines[node.lineno - 1 : node.returns.end_lineno]
            text[-1] = text[-1][: node.returns.end_col_offset]
            signatures[node.name] = "\n".join(text)
    return signatures


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.DOTALL)


def is_documented(signature: str, blocks: list[str]) -> bool:
    """The signature starts a line of a python block and ends one (a trailing ``:`` and body allowed)."""
    pattern = re.compile(rf"^{re.escape(signature)}(?::.*)?$", flags=re.MULTILINE)
    return any(pattern.search(block) for block in blocks)


def hook_test_names() -> set[str]:
    tree = ast.parse(HOOK_TESTS.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_hook_")
    }


def test_the_signatures_are_read_for_every_hookspec() -> None:
    # Guards the two helpers below against reading nothing (and so passing vacuously).
    names = hookspec_names()
    assert {"register_module", "register_routes", "patient_created", "consent_changed", "module_enabled"} <= names
    assert set(source_signatures()) == names
    signatures = source_signatures()
    assert signatures["patient_created"] == (
        "def patient_created(ctx: PluginContext, patient: Patient) -> Awaitable[None] | None"
    )
    assert all(signature.startswith(f"def {name}(") for name, signature in signatures.items())
    assert python_blocks()


def test_every_hookspec_is_documented_with_its_exact_signature() -> None:
    blocks = python_blocks()
    missing = {
        name: signature for name, signature in source_signatures().items() if not is_documented(signature, blocks)
    }
    assert not missing, f"docs/plugins.md lacks (or has a stale signature for): {missing}"


def test_every_hookspec_has_a_test() -> None:
    tests = hook_test_names()
    untested = sorted(
        name
        for name in hookspec_names()
        if not any(test == f"test_hook_{name}" or test.startswith(f"test_hook_{name}_") for test in tests)
    )
    assert not untested, f"tests/plugins/test_hooks.py has no test_hook_<name> test for: {untested}"
