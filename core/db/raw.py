"""Helpers for migrations written as SQL statements."""

from __future__ import annotations

from piccolo.table import Table


class _Raw(Table):
    """A handle for running raw SQL through piccolo's engine (no table of its own)."""


async def run_statements(statements: list[str]) -> None:
    """Run ``statements`` one at a time inside the migration's transaction."""
    for statement in statements:
        await _Raw.raw(statement.replace("{", "{{").replace("}", "}}"))
