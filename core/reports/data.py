"""What a report query returns: columns, rows (all at once or in chunks), and how to chart them.

Leaf module (standard library only): plugin authors import these through ``core.plugins.sdk``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

Cell = str | int | float | bool | Decimal | date | datetime | None
Row = Sequence[Cell]
ColumnKind = Literal["text", "integer", "number", "date", "datetime", "boolean"]
ChartKind = Literal["bar", "line"]


@dataclass(frozen=True)
class ReportColumn:
    """One column: ``key`` names it for charts, ``title`` heads it in the file."""

    key: str
    title: str = ""
    kind: ColumnKind = "text"

    @property
    def heading(self) -> str:
        return self.title or self.key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ChartSpec:
    """A chart drawn into XLSX (a native Excel chart) and PDF (vector drawing).

    ``x`` is the column of categories; ``y`` the numeric column(s), one series each.
    """

    kind: ChartKind
    x: str
    y: tuple[str, ...]
    title: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("bar", "line"):
            raise ValueError(f"chart kind must be bar or line, not {self.kind!r}")
        if not self.y:
            raise ValueError("a chart needs at least one y column")


@dataclass
class ReportData:
    """A query's answer.

    ``rows`` is either an iterable of rows, or an async iterable of *chunks* (lists of rows): the
    builder reports progress after each chunk, using ``total_rows`` when the query knows it.
    """

    columns: Sequence[ReportColumn]
    rows: Iterable[Row] | AsyncIterable[Sequence[Row]] = field(default_factory=list)
    total_rows: int | None = None
