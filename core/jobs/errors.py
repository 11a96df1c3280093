"""Exceptions an actor raises to steer retries."""

from __future__ import annotations

from uuid import UUID


class PermanentError(Exception):
    """The job can never succeed (bad payload, record gone, consent refused): no retry, dead-letter now."""


class TenantMissingError(PermanentError):
    """A message arrived without a valid ``tenant_id``; it is dead-lettered, never run."""


def payload_uuid(value: object, *, actor: str, field: str) -> UUID:
    """The id ``field`` of a job's payload; anything else fails for good (retrying cannot fix a payload)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise PermanentError(f"{actor}: {field} {str(value)[:64]!r} is not a UUID") from None
