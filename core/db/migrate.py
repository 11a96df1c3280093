"""``carecoord migrate``: piccolo migrations as the owner, then the app role's grants."""

from __future__ import annotations

import os

import asyncpg

from core.db.roles import ensure_app_role
from core.settings import Settings


async def migrate(settings: Settings) -> None:
    """Apply pending migrations and (re)grant the app role.

    Must run in a process whose piccolo engine is the owner's, which is why the
    CLI sets ``CARECOORD_DB_ROLE=owner`` before anything imports piccolo_conf.
    """
    if os.environ.get("CARECOORD_DB_ROLE") != "owner":
        raise RuntimeError("migrate must run with CARECOORD_DB_ROLE=owner")
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    conn = await asyncpg.connect(settings.owner_dsn())
    try:
        await ensure_app_role(conn, settings.app_db_password)
    finally:
        await conn.close()
