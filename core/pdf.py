"""Starting a PDF with fpdf2: DejaVu Sans when the machine has it (all of Unicode), else Helvetica.

Letters, report PDFs and referral packets share this so their text handling cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)


def unicode_font() -> Path | None:
    """The first DejaVu Sans found on this machine, if any."""
    return next((candidate for candidate in FONT_CANDIDATES if candidate.is_file()), None)


def latin1(value: str) -> str:
    """What Helvetica can print: characters outside Latin-1 become ``?``."""
    return value.encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class Document:
    pdf: FPDF
    family: str
    """The font family to pass to ``set_font``."""
    text: Callable[[str], str]
    """Prepares a string for the chosen font (identity with DejaVu, Latin-1 with Helvetica)."""


def start_pdf() -> Document:
    """An A4 portrait document with the best font available registered."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    font = unicode_font()
    if font is None:
        return Document(pdf, "Helvetica", latin1)
    pdf.add_font("DejaVu", "", str(font))
    return Document(pdf, "DejaVu", lambda value: value)
