"""CSV and XLSX files from a report's columns and rows (PDF is in ``render_pdf``).

Pure functions of their input: the actor runs them in a thread so the event loop stays free.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from core.reports.cells import as_spreadsheet, safe_text
from core.reports.data import ChartSpec, ReportColumn, Row

Format = Literal["csv", "xlsx", "pdf"]
CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass
class Table:
    """Everything a renderer needs: what the report is, when it was built, its data and chart."""

    title: str
    columns: Sequence[ReportColumn]
    rows: Sequence[Row]
    generated_at: datetime
    chart: ChartSpec | None = None
    params: dict[str, object] = field(default_factory=dict)

    def index(self, key: str) -> int:
        for position, column in enumerate(self.columns):
            if column.key == key:
                return position
        raise KeyError(key)


def render_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read accents right; RFC 4180 quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.heading for column in table.columns])
    for row in table.rows:
        writer.writerow([safe_text(cell) for cell in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def render_xlsx(table: Table) -> bytes:
    """A ``Data`` sheet and, when the report has a chart, a native Excel chart on a ``Chart`` sheet."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "Data"
    sheet.append([column.heading for column in table.columns])
    for row in table.rows:
        sheet.append([as_spreadsheet(cell) for cell in row])
    sheet.freeze_panes = "A2"
    for position, column in enumerate(table.columns, start=1):
        if column.kind == "date":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                cell.number_format = "yyyy-mm-dd"
        elif column.kind == "datetime":
            for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                cell.number_format = "yyyy-mm-dd hh:mm"
    if table.chart is not None and table.rows:
        chart_sheet = workbook.create_sheet("Chart")
        chart_sheet.add_chart(_xlsx_chart(table, table.chart, sheet), "A1")
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _xlsx_chart(table: Table, spec: ChartSpec, sheet: Worksheet) -> BarChart | LineChart:
    chart: BarChart | LineChart = BarChart() if spec.kind == "bar" else LineChart()
    chart.title = spec.title or table.title
    chart.width, chart.height = 28, 14
    last_row = len(table.rows) + 1
    for key in spec.y:
        column = table.index(key) + 1
        chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=last_row), titles_from_data=True)
    x_column = table.index(spec.x) + 1
    chart.set_categories(Reference(sheet, min_col=x_column, min_row=2, max_row=last_row))
    chart.x_axis.title = table.columns[x_column - 1].heading
    return chart
