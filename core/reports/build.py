"""Turning a report's query answer into a file: gather rows with progress, check the chart, render."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Sequence

from core.reports.data import ReportData, Row
from core.reports.progress import ProgressMeter
from core.reports.render import Format, Table, render_csv, render_xlsx
from core.reports.render_pdf import render_pdf


class TooManyRowsError(ValueError):
    pass


class BadReportError(ValueError):
    """The query's answer does not fit its own declaration (a chart naming a missing column...)."""


async def gather_rows(data: ReportData, meter: ProgressMeter, max_rows: int) -> list[Row]:
    """All rows of ``data``, reporting progress after each chunk."""
    rows: list[Row] = []
    width = len(data.columns)
    if isinstance(data.rows, AsyncIterable):
        async for chunk in data.rows:
            rows.extend(chunk)
            _check(rows, width, max_rows)
            await meter.rows_fetched(len(rows))
    else:
        rows.extend(data.rows)
        _check(rows, width, max_rows)
        await meter.rows_fetched(len(rows))
    return rows


def _check(rows: Sequence[Row], width: int, max_rows: int) -> None:
    if len(rows) > max_rows:
        raise TooManyRowsError(f"the report has more than {max_rows} rows; narrow its parameters")
    if rows and len(rows[-1]) != width:
        raise BadReportError(f"a row has {len(rows[-1])} cells for {width} columns")


def check_chart(table: Table) -> None:
    if table.chart is None:
        return
    keys = {column.key for column in table.columns}
    missing = [key for key in (table.chart.x, *table.chart.y) if key not in keys]
    if missing:
        raise BadReportError(f"the chart names column(s) the report does not have: {', '.join(missing)}")


RENDERERS = {"csv": render_csv, "xlsx": render_xlsx, "pdf": render_pdf}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "pdf": "pdf"}


async def render(table: Table, file_format: Format) -> bytes:
    """Render in a worker thread: building a large XLSX or PDF is CPU work."""
    return await asyncio.to_thread(RENDERERS[file_format], table)
