"""Patient search: what a coordinator types into one box, and keyset cursors.

``q`` is read as a birth date when it is an ISO date, as a phone number when it
is mostly digits, else as an MRN or a name prefix ("smi", "jo smi").
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from uuid import UUID

import msgspec

from core.db.filters import Filter

_PHONE = re.compile(r"^\+?[0-9 ().-]{7,24}$")


class BadCursorError(ValueError):
    """The cursor was not one this service issued."""


def digits(phone: str | None) -> str | None:
    return re.sub(r"\D", "", phone) if phone else None


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def apply_query(flt: Filter, q: str) -> None:
    q = q.strip()
    if not q:
        return
    try:
        flt.add("birth_date = {}", date.fromisoformat(q))
        return
    except ValueError:
        pass
    if _PHONE.match(q) and sum(c.isdigit() for c in q) >= 7:
        flt.add("phone_digits = {}", digits(q))
        return
    # Lower-cased by the database (lower(...)), like the columns: Python's str.lower differs for some letters.
    words = q.split()
    if len(words) == 1:
        prefix = escape_like(words[0]) + "%"
        flt.add(
            "(mrn = {} or lower(family_name) like lower({}) or lower(given_name) like lower({}))", q, prefix, prefix
        )
    else:
        first, last = escape_like(words[0]) + "%", escape_like(" ".join(words[1:])) + "%"
        flt.add(
            "((lower(given_name) like lower({}) and lower(family_name) like lower({})) or "
            "(lower(family_name) like lower({}) and lower(given_name) like lower({})))",
            first,
            last,
            first,
            last,
        )


def encode_cursor(family_key: str, given_key: str, patient_id: UUID) -> str:
    """``family_key``/``given_key`` are the row's sort keys as the database computed them (``lower()``)."""
    raw = msgspec.json.encode([family_key, given_key, str(patient_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        family, given, patient_id = msgspec.json.decode(raw, type=tuple[str, str, str])
        return family, given, UUID(patient_id)
    except (binascii.Error, msgspec.DecodeError, msgspec.ValidationError, ValueError):
        raise BadCursorError(cursor) from None
