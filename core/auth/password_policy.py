"""Which new passwords are accepted: long enough (the schemas: 12 to 256 characters), not easy to guess,
and not known from breaches.

- **Guessability** with zxcvbn (Dropbox's estimator): its dictionaries hold the most common passwords of
  public breaches, English words, names and keyboard patterns, and it is told the account's own e-mail,
  organization and name. A password it scores under :data:`MIN_SCORE` (of 4) is refused with its advice.
- **Breaches** through a range API in the "Have I Been Pwned" k-anonymity form when
  ``BREACHED_PASSWORDS_URL`` is set (e.g. ``https://api.pwnedpasswords.com/range/``): only the first five
  hex digits of the password's SHA-1 leave the service, the rest is matched locally. If that service
  does not answer within :data:`TIMEOUT_SECONDS`, the password is accepted and a warning is logged: an
  outage there must not stop sign-ups; the offline check above still ran.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

import httpx
from zxcvbn import zxcvbn

from core.http.problems import problem
from core.settings import get_settings

MIN_SCORE = 3
TIMEOUT_SECONDS = 2.0
SCORED_CHARACTERS = 72
"""zxcvbn refuses longer input (its cost grows with the length); the first 72 characters are scored, and a
passphrase that long is strong or weak in them already."""

log = logging.getLogger("carecoord.auth")


class WeakPasswordError(ValueError):
    """The password is refused; ``str(error)`` says why and what to do instead."""


def _guessability(password: str, context: Sequence[str]) -> str | None:
    inputs = [part for value in context if value for part in (value, *value.replace("@", " ").split())]
    result = zxcvbn(password[:SCORED_CHARACTERS], user_inputs=inputs)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"]["warning"] or "This password is too easy to guess."
    return f"{warning.rstrip('.')}. Choose a longer passphrase of unrelated words."


async def _breaches(url: str, password: str) -> int:
    """How many times the range API has seen ``password`` (0: never, or the API did not answer)."""
    digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            answer = await client.get(f"{url.rstrip('/')}/{digest[:5]}", headers={"Add-Padding": "true"})
            answer.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("breached-password check unavailable (%s); the password was accepted", type(exc).__name__)
        return 0
    for line in answer.text.splitlines():
        suffix, _, count = line.strip().partition(":")
        if suffix.upper() == digest[5:]:
            return int(count or 0)
    return 0


async def check_new_password(password: str, *, context: Sequence[str] = ()) -> None:
    """Raise :class:`WeakPasswordError` unless ``password`` may be set. ``context``: the account's e-mail,
    name, organization: a password made of them is easy to guess for anyone who knows the account."""
    advice = await asyncio.to_thread(_guessability, password, context)
    if advice:
        raise WeakPasswordError(advice)
    url = get_settings().breached_passwords_url
    if url and (seen := await _breaches(url, password)):
        raise WeakPasswordError(f"This password has appeared in {seen:,} data breaches. Choose another one.")


async def refuse_weak(password: str, key: str, *, context: Sequence[str] = ()) -> None:
    """:func:`check_new_password` for a request: a refusal is a 422 naming the body's field ``key``."""
    try:
        await check_new_password(password, context=context)
    except WeakPasswordError as exc:
        raise problem(422, str(exc), errors=[{"key": key, "message": str(exc)}]) from None
