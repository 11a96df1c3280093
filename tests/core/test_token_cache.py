"""Access tokens verified once are remembered, but expiry is checked on every use and forgeries never pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from litestar.exceptions import NotAuthorizedException

from core.auth import tokens

SECRET = "s" * 48


def _token(ttl: int = 60) -> str:
    return tokens.issue_access_token(
        secret=SECRET,
        ttl_seconds=ttl,
        user_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        role="owner",
        session_id=uuid.uuid4(),
    )


def test_a_verified_token_is_remembered_and_still_expires() -> None:
    encoded = _token()
    first = tokens.decode_access_token(encoded, SECRET)
    hits = tokens._verified.cache_info().hits
    assert tokens.decode_access_token(encoded, SECRET) is first  # the second use skips the signature check
    assert tokens._verified.cache_info().hits == hits + 1
    later = first.exp + timedelta(seconds=1)
    with pytest.raises(NotAuthorizedException, match="expired"):
        tokens.decode_access_token(encoded, SECRET, now=later)
    assert tokens.decode_access_token(encoded, SECRET, now=datetime.now(UTC)) is first


def test_forged_or_foreign_tokens_are_refused_every_time() -> None:
    encoded = _token()
    head, payload, signature = encoded.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for _ in range(2):  # a refusal is not remembered as a success
        with pytest.raises(NotAuthorizedException):
            tokens.decode_access_token(forged, SECRET)
        with pytest.raises(NotAuthorizedException):
            tokens.decode_access_token(encoded, "another secret that is long enough to sign")
