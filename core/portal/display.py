"""Helpers portal pages share to show API answers: local times, durations, names, records read side by side.

The API speaks UTC ISO 8601; pages show times in the organization's zone (``PortalUser.time_zone``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.portal.api import ApiError, PortalApi
from core.portal.forms import humane

SIDE_BY_SIDE = 4
"""API calls a page makes at once when it needs several records (each takes a pooled connection)."""


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def local_time(value: str | datetime | None, zone: str, *, with_day: bool = True) -> str:
    """``Tue 4 Mar 2025, 14:30`` in ``zone`` (``14:30`` without the day); empty for no time."""
    moment = parse_time(value)
    if moment is None:
        return ""
    here = moment.astimezone(ZoneInfo(zone))
    clock = f"{here:%H:%M}"
    return f"{here:%a} {here.day} {here:%b %Y}, {clock}" if with_day else clock


def long_date(value: str | date) -> str:
    """``Tuesday 4 March 2025``."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%A} {day.day} {day:%B %Y}"


def duration(seconds: float) -> str:
    """A span as people say it: ``2 d 3 h``, ``5 h 20 min``, ``12 min``, ``under a minute``."""
    left = int(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes = left // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def person_name(record: dict[str, Any] | None, missing: str = "(not found)") -> str:
    """``given family`` of a patient or practitioner record."""
    if not record:
        return missing
    return f"{record.get('given_name', '')} {record.get('family_name', '')}".strip() or missing


async def read_each(api: PortalApi, paths: Iterable[str]) -> dict[str, Any]:
    """GET every distinct path, a few at a time; a 404 (deleted, or not visible) reads as None."""
    gate = asyncio.Semaphore(SIDE_BY_SIDE)

    async def one(path: str) -> Any:
        async with gate:
            try:
                return await api.get(path)
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise

    unique = list(dict.fromkeys(paths))
    found = await asyncio.gather(*(one(path) for path in unique))
    return dict(zip(unique, found, strict=True))


MAX_IDS = 200
"""``GET /api/v1/patients?ids=`` takes at most this many ids at once."""


async def patients_by_id(api: PortalApi, ids: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The patients named by ``ids`` (one API search per 200, audited there), by id; unknown ids are absent."""
    wanted = sorted({str(i) for i in ids if i})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), MAX_IDS):
        chunk = wanted[start : start + MAX_IDS]
        page = await api.get("/api/v1/patients", {"ids": chunk, "limit": len(chunk)})
        found.update({str(p["id"]): p for p in page["items"]})
    return found


async def patient_names(api: PortalApi, patient_ids: Iterable[Any]) -> dict[str, str]:
    """``{patient id: "given family"}`` for rows of a list, read in one search (not one read per row)."""
    ids = [str(i) for i in patient_ids if i]
    records = await patients_by_id(api, ids)
    return {i: person_name(records.get(i), "(removed patient)") for i in ids}


def form_errors(exc: ApiError, rename: dict[str, str] | None = None) -> dict[str, str]:
    """``{form field: message}`` from an API refusal, for inputs that map onto list items or nested bodies.

    ``diagnosis_codes[0]`` and ``params.start`` become ``diagnosis_codes`` and ``start``; ``rename`` maps an
    API key (``data`` for a whole-body rule, ``target_practitioner_id``...) to the form's input name.
    """
    rename = rename or {}
    found: dict[str, str] = {}
    for error in exc.body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        key = str(error.get("field") or error.get("key") or "").removeprefix("$.").removeprefix("params.")
        base = re.sub(r"\[\d+\]", "", key)
        name = rename.get(key) or rename.get(base) or base.split(".")[-1]
        if name and name not in found:
            found[name] = humane(str(error.get("message") or "invalid value"))
    return found
