"""Revoked login sessions, kept in Redis for as long as their access tokens live.

A session is one login: its refresh-token family. Logout and refresh-token reuse
revoke it; every access token carries its ``sid`` and is refused once revoked.
"""

from __future__ import annotations

from uuid import UUID

from redis.asyncio import Redis

_KEY = "carecoord:revoked-session:{}"


async def revoke_session(redis: Redis, session_id: UUID, ttl_seconds: int) -> None:
    await redis.set(_KEY.format(session_id), "1", ex=ttl_seconds)


async def is_session_revoked(redis: Redis, session_id: UUID) -> bool:
    return bool(await redis.exists(_KEY.format(session_id)))
