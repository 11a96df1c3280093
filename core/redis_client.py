"""The process-wide asyncio Redis client."""

from __future__ import annotations

from redis.asyncio import Redis

_client: Redis | None = None


def redis_client(url: str) -> Redis:
    global _client
    if _client is None:
        _client = Redis.from_url(url)
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None
