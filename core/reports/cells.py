"""How cell values become text (CSV, PDF) and spreadsheet values (XLSX)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from core.reports.data import Cell

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def safe_text(value: Cell) -> str:
    """Text for a CSV cell; text that a spreadsheet would run as a formula is quoted with ``'``.

    Report cells can hold what patients or staff typed (a reason, a note): opened in a spreadsheet,
    ``=HYPERLINK(...)`` would otherwise execute (OWASP "CSV injection").
    """
    text = as_text(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def as_spreadsheet(value: Cell) -> str | int | float | bool | date | datetime | None:
    """XLSX stores no time zone: aware datetimes are written in UTC (the column title should say so)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def as_number(value: Cell) -> float:
    """A chart's y value; anything not numeric counts as 0."""
    if isinstance(value, bool) or value is None:
        return 0.0
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return 0.0
