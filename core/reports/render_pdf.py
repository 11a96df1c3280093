"""PDF reports with fpdf2: a title block, a vector chart drawn with fpdf2's primitives, the table.

No plotting library: bars, lines, axes and the legend are rectangles, lines and text, which keeps
the worker small and the chart sharp at any zoom. Text uses DejaVu Sans when the machine has it
(any script), otherwise the PDF core font Helvetica, in which characters outside Latin-1 become ``?``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import TableBordersLayout

from core.pdf import FONT_CANDIDATES
from core.reports.cells import as_number, as_text
from core.reports.render import Table

PDF_MAX_ROWS = 5000
"""A PDF lists at most this many rows (about 150 pages); CSV and XLSX carry all of them."""
CHART_MAX_POINTS = 60
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))


class _Document(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.report_title = title
        self.font_family_name = "Helvetica"
        self.unicode = False
        for candidate in FONT_CANDIDATES:
            if candidate.is_file():
                self.add_font("DejaVu", "", str(candidate))
                bold = candidate.with_name("DejaVuSans-Bold.ttf")
                self.add_font("DejaVu", "B", str(bold if bold.is_file() else candidate))
                self.font_family_name, self.unicode = "DejaVu", True
                break
        self.set_auto_page_break(auto=True, margin=14)
        self.set_margins(12, 12, 12)
        self.set_title(title)
        self.set_creator("carecoord")

    def text_of(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.font_family_name, size=7)
        self.set_text_color(110)
        self.cell(0, 5, self.text_of(f"{self.report_title} - page {self.page_no()}/{{nb}}"), align="R")


def render_pdf(table: Table) -> bytes:
    pdf = _Document(table.title)
    pdf.alias_nb_pages()
    pdf.add_page()
    family = pdf.font_family_name
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 9, pdf.text_of(table.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=8)
    pdf.set_text_color(90)
    facts = [f"Generated {table.generated_at:%Y-%m-%d %H:%M %Z}", f"{len(table.rows)} rows"]
    facts += [f"{key}: {value}" for key, value in table.params.items() if value is not None]
    pdf.multi_cell(0, 4, pdf.text_of(" | ".join(facts)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)
    if table.chart is not None and table.rows:
        _draw_chart(pdf, table)
    _draw_table(pdf, table)
    return bytes(pdf.output())


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = float(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return 10.0 * magnitude


def _draw_chart(pdf: _Document, table: Table) -> None:
    spec = table.chart
    assert spec is not None
    rows = table.rows[:CHART_MAX_POINTS]
    x_index = table.index(spec.x)
    series = [(key, table.columns[table.index(key)].heading, table.index(key)) for key in spec.y]
    values = [[as_number(row[index]) for row in rows] for _, _, index in series]
    top = _nice_ceiling(max((v for column in values for v in column), default=0.0))
    family = pdf.font_family_name

    pdf.set_font(family, "B", 10)
    caption = spec.title or table.title
    if len(table.rows) > len(rows):
        caption += f" (first {len(rows)} of {len(table.rows)})"
    pdf.cell(0, 6, pdf.text_of(caption), new_x="LMARGIN", new_y="NEXT")
    left, top_y = pdf.l_margin + 14, pdf.get_y() + 2
    width, height = pdf.w - pdf.r_margin - left, 70.0
    bottom = top_y + height

    # grid and y axis labels
    pdf.set_font(family, size=6)
    pdf.set_line_width(0.1)
    for step in range(5 + 1):
        y = bottom - height * step / 5
        pdf.set_draw_color(220)
        pdf.line(left, y, left + width, y)
        label = f"{top * step / 5:g}"
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(12, 4, label, align="R")
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.line(left, top_y, left, bottom)
    pdf.line(left, bottom, left + width, bottom)

    slot = width / max(1, len(rows))
    if spec.kind == "bar":
        bar = slot * 0.8 / max(1, len(series))
        for s, column in enumerate(values):
            pdf.set_fill_color(*PALETTE[s % len(PALETTE)])
            for i, value in enumerate(column):
                bar_height = height * value / top
                if bar_height > 0:
                    pdf.rect(left + i * slot + slot * 0.1 + s * bar, bottom - bar_height, bar, bar_height, style="F")
    else:
        pdf.set_line_width(0.5)
        for s, column in enumerate(values):
            pdf.set_draw_color(*PALETTE[s % len(PALETTE)])
            points = [(left + (i + 0.5) * slot, bottom - height * value / top) for i, value in enumerate(column)]
            for (x1, y1), (x2, y2) in itertools.pairwise(points):
                pdf.line(x1, y1, x2, y2)
        pdf.set_draw_color(0)
        pdf.set_line_width(0.2)

    # x labels: at most about 20, so they stay legible
    every = max(1, math.ceil(len(rows) / 20))
    pdf.set_font(family, size=6)
    for i, row in enumerate(rows):
        if i % every == 0:
            pdf.set_xy(left + i * slot, bottom + 1)
            pdf.cell(slot * every, 4, pdf.text_of(as_text(row[x_index])[:16]), align="L")

    # legend
    x = left
    legend_y = bottom + 7
    pdf.set_font(family, size=7)
    for s, (_, heading, _) in enumerate(series):
        pdf.set_fill_color(*PALETTE[s % len(PALETTE)])
        pdf.rect(x, legend_y + 1, 3, 3, style="F")
        pdf.set_xy(x + 4, legend_y)
        text = pdf.text_of(heading)
        pdf.cell(pdf.get_string_width(text) + 2, 5, text)
        x += pdf.get_string_width(text) + 10
    pdf.set_xy(pdf.l_margin, legend_y + 9)


def _column_widths(table: Table, rows: Sequence[Sequence[object]]) -> list[float]:
    sample = rows[:200]
    lengths = []
    for index, column in enumerate(table.columns):
        longest = max([len(column.heading), *(len(str(row[index])) for row in sample)])
        lengths.append(min(max(longest, 4), 40))
    return [float(length) for length in lengths]


def _draw_table(pdf: _Document, table: Table) -> None:
    rows = [[pdf.text_of(as_text(cell)) for cell in row] for row in table.rows[:PDF_MAX_ROWS]]
    pdf.set_font(pdf.font_family_name, size=7)
    if len(table.rows) > PDF_MAX_ROWS:
        pdf.multi_cell(
            0,
            4,
            pdf.text_of(f"Showing the first {PDF_MAX_ROWS} of {len(table.rows)} rows; CSV and XLSX carry all."),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    headings = [pdf.text_of(column.heading) for column in table.columns]
    align = ["RIGHT" if column.kind in ("integer", "number") else "LEFT" for column in table.columns]
    with pdf.table(
        col_widths=tuple(_column_widths(table, rows)),
        text_align=tuple(align),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=4,
        repeat_headings=1,
        first_row_as_headings=True,
    ) as pdf_table:
        pdf_table.row(headings)
        for row in rows:
            pdf_table.row(row)
