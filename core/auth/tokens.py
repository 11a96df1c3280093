"""Short-lived JWT access tokens, signed and checked with litestar's ``Token``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import UUID, uuid4

from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import Token

ALGORITHM = "HS256"
ISSUER = "carecoord"
AUDIENCE = "carecoord-api"
VERIFIED_CACHE_SIZE = 8192
"""Verified tokens remembered per process (a few hundred bytes each)."""


def issue_access_token(
    *,
    secret: str,
    ttl_seconds: int,
    user_id: UUID,
    tenant_id: UUID,
    role: str,
    session_id: UUID,
    mfa_pending: bool = False,
) -> str:
    token = Token(
        exp=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
        sub=str(user_id),
        iss=ISSUER,
        aud=AUDIENCE,
        jti=uuid4().hex,
        extras={"tid": str(tenant_id), "sid": str(session_id), "role": role, "mfa_pending": mfa_pending},
    )
    return token.encode(secret=secret, algorithm=ALGORITHM)


def decode_access_token(encoded: str, secret: str, *, now: datetime | None = None) -> Token:
    """Decode and verify; raises litestar's ``NotAuthorizedException`` when invalid or expired.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail. A token whose signature
    was verified once is remembered (a client sends the same token for its whole 15 minutes; verifying
    it took about a sixth of a patient read's CPU); its expiry is checked again on every use, and
    revocation is checked by the caller (``is_session_revoked``) on every request.
    """
    token = _verified(encoded, secret)
    if token.exp <= (now or datetime.now(UTC)):
        raise NotAuthorizedException("Token has expired")
    return token


@lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified(encoded: str, secret: str) -> Token:
    """Signature, algorithm, audience, issuer and required claims checked (exceptions are not cached)."""
    return Token.decode(
        encoded,
        secret=secret,
        algorithm=ALGORITHM,
        audience=AUDIENCE,
        issuer=ISSUER,
        require_claims=["exp", "sub", "jti"],
    )
