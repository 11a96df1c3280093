"""TOTP (RFC 6238) with pyotp, refusing a code that was already used."""

from __future__ import annotations

import time

import pyotp

ISSUER = "carecoord"


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, account: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER))


def accepted_counter(secret: str, code: str, last_counter: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` matches (one step of clock drift allowed), or None.

    A step at or before ``last_counter`` was already used: refused, so a code
    seen over someone's shoulder cannot be replayed.
    """
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // totp.interval)
    for counter in (current, current - 1, current + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if pyotp.utils.strings_equal(code, totp.generate_otp(counter)):
            return counter
    return None
