"""Short-lived JWT access tokens, signed and checked with litestar's ``Token``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from litestar.security.jwt import Token

ALGORITHM = "HS256"
ISSUER = "carecoord"
AUDIENCE = "carecoord-api"


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


def decode_access_token(encoded: str, secret: str) -> Token:
    """Decode and verify; raises litestar's ``NotAuthorizedException`` when invalid.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail.
    """
    return Token.decode(
        encoded,
        secret=secret,
        algorithm=ALGORITHM,
        audience=AUDIENCE,
        issuer=ISSUER,
        require_claims=["exp", "sub", "jti"],
    )
