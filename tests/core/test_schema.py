"""The piccolo table declarations and the migrated database agree, column for column.

Services query with SQL through piccolo's transaction connection, while piccolo
owns the declarations and migrations; this keeps the two from drifting apart.
"""

from __future__ import annotations

import asyncpg
import pytest

from core.db.piccolo_app import APP_CONFIG


@pytest.mark.parametrize("table", APP_CONFIG.table_classes, ids=lambda t: t._meta.tablename)
async def test_declared_columns_exist_with_matching_nullability(owner_db: asyncpg.Connection, table: type) -> None:
    rows = await owner_db.fetch(
        "select column_name, is_nullable from information_schema.columns "
        "where table_schema = 'public' and table_name = $1",
        table._meta.tablename,
    )
    in_database = {r["column_name"]: r["is_nullable"] == "YES" for r in rows}
    declared = {c._meta.db_column_name: c._meta.null for c in table._meta.columns}
    assert set(declared) == set(in_database), f"{table._meta.tablename}: declared vs migrated columns differ"
    for name, nullable in declared.items():
        assert in_database[name] == nullable, f"{table._meta.tablename}.{name}: null={nullable} in the declaration"
