"""What the coordinator's screens share: local times, patients' names for rows, API refusals as field errors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.portal.api import ApiError
from core.portal.display import local_time, patients_by_id
from core.portal.forms import humane

__all__ = ["local_time", "patients_by_id"]

_MISSING = re.compile(r"missing required field `(\w+)`")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(value: str | None) -> str:
    """An ISO date (``1961-12-10``) as ``10 Dec 1961``."""
    return date.fromisoformat(value).strftime("%d %b %Y") if value else ""


def patient_name(patient: dict[str, Any]) -> str:
    return f"{patient['family_name']}, {patient['given_name']}"


def form_problem(exc: ApiError, fields: Iterable[str]) -> tuple[dict[str, str], str]:
    """The API's refusal as ``({field: message}, message for the whole form)``.

    Errors that name a field of the form go next to it; a rule about the whole body (``key`` ``data``)
    whose message starts with a field's name ("birth_date must be ...") goes next to that field too.
    """
    names = set(fields)
    errors = {k: v for k, v in exc.field_errors().items() if k in names}
    general: list[str] = []
    for error in exc.body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        key = str(error.get("field") or error.get("key") or "").removeprefix("$.").split(".")[-1]
        message = str(error.get("message") or "")
        if key in names:
            continue
        missing = _MISSING.search(message)
        named = next((n for n in sorted(names, key=len, reverse=True) if message.startswith(f"{n} ")), None)
        if missing and missing.group(1) in names:
            errors.setdefault(missing.group(1), "is required")
        elif named is not None:
            errors.setdefault(named, humane(message[len(named) :].strip()))
        elif message:
            general.append(humane(message))
    if general:
        return errors, "; ".join(general)
    if errors:
        return errors, "Some values need correcting: see the messages next to the fields."
    return errors, exc.message
