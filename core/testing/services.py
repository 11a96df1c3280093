"""Real PostgreSQL and Redis for the test session: the given URLs, or embedded servers.

Each session gets a database of its own (created, migrated through the real
``carecoord migrate`` command, dropped at the end) so runs never see each
other's rows.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from core.embedded import EmbeddedServices, start_embedded


@dataclass
class TestServices:
    __test__ = False  # a fixture's value, not a test class for pytest to collect

    admin_url: str
    database_url: str
    redis_url: str
    database: str
    embedded: EmbeddedServices


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def create_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
    finally:
        await conn.close()


def start() -> TestServices:
    import asyncio

    embedded = start_embedded(
        tempfile.mkdtemp(prefix="carecoord-test-"),
        database=not os.environ.get("DATABASE_URL"),
        redis=not os.environ.get("REDIS_URL"),
    )
    admin_url = embedded.database_url or os.environ["DATABASE_URL"]
    redis_url = embedded.redis_url or os.environ["REDIS_URL"]
    database = f"carecoord_test_{secrets.token_hex(4)}"
    asyncio.run(create_database(admin_url, database))
    database_url = with_database(admin_url, database)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ENV": "test",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
            "PASSWORD_HASH_PROFILE": "cheapest",  # argon2's real cost is for production, not 3,000 sign-ups
        }
    )
    os.environ.pop("APP_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "core.cli", "migrate"], check=True, stdout=subprocess.DEVNULL)
    return TestServices(admin_url, database_url, redis_url, database, embedded)
