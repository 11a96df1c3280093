"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's low-memory profile).

``PASSWORD_HASH_PROFILE=cheapest`` swaps in argon2's cheapest parameters for test runs, where a
real hash per sign-up and log-in costs a quarter of a second each; production refuses it. Hashes
carry their parameters, so either profile verifies the other's, and a log-in rehashes a password
whose hash does not match the profile in force.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

from core.settings import get_settings

PROFILES = {"rfc9106_low_memory": RFC_9106_LOW_MEMORY, "cheapest": CHEAPEST}


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(PROFILES[get_settings().password_hash_profile])


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified when the e-mail is unknown, so both answers take the same time."""
    return _hasher().hash("carecoord-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, burn the same time and say no."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
