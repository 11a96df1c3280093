"""schemathesis hooks for the stateful run (``SCHEMATHESIS_HOOKS=tests.core.stateful_hooks``).

Stateful sequences only go deep when the record at their start is created, and four rules of the service
that a JSON schema cannot state refuse most generated bodies: a birth date between 1880 and today, an IANA
time zone, an end after its start, a medical record number not already taken (hypothesis draws the same
small values again and again). Their refusals are covered by the stateless fuzzing
(``test_schemathesis.py``) and by the tests of each capability; here each generated body is moved just
inside those rules, everything else in it left as generated, so a generated patient or appointment is
created and the operations linked to it are reached with its id.
"""

from __future__ import annotations

import itertools
import zlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import schemathesis

TIME_ZONES = sorted(available_timezones() - {"Factory", "localtime"})
OLDEST_BIRTH_YEAR = 1880
MRN_MAX_LENGTH = 64
_serial = itertools.count(1)


def _parse_datetime(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _birth_date(value: Any) -> Any:
    try:
        born = date.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    today = date.today()
    if born.year >= OLDEST_BIRTH_YEAR and born <= today:
        return value
    year = OLDEST_BIRTH_YEAR + born.year % (today.year - OLDEST_BIRTH_YEAR)
    return born.replace(year=year, day=min(born.day, 28)).isoformat()


def _time_zone(value: Any) -> Any:
    if value in TIME_ZONES or not isinstance(value, str):
        return value
    return TIME_ZONES[zlib.crc32(value.encode("utf-8", "surrogatepass")) % len(TIME_ZONES)]


def inside_the_rules(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its birth date, time zone, end and MRN moved inside the service's rules (a new dict)."""
    body = dict(body)
    if isinstance(body.get("mrn"), str):
        suffix = f"-{next(_serial)}"
        body["mrn"] = body["mrn"][: MRN_MAX_LENGTH - len(suffix)] + suffix
    if "birth_date" in body:
        body["birth_date"] = _birth_date(body["birth_date"])
    if "time_zone" in body:
        body["time_zone"] = _time_zone(body["time_zone"])
    start, end = _parse_datetime(body.get("start")), _parse_datetime(body.get("end"))
    if start is not None and end is not None and end <= start:
        body["end"] = (start + timedelta(minutes=30)).isoformat()
    return body


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return inside_the_rules(body) if isinstance(body, dict) else body
