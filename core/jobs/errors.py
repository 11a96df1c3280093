"""Exceptions an actor raises to steer retries."""

from __future__ import annotations


class PermanentError(Exception):
    """The job can never succeed (bad payload, record gone, consent refused): no retry, dead-letter now."""


class TenantMissingError(PermanentError):
    """A message arrived without a valid ``tenant_id``; it is dead-lettered, never run."""
