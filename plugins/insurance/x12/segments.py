"""X12 segments: delimiters, the segment record with typed element access, reading and rendering.

Reading takes the delimiters from the fixed-width ISA segment (element separator at position 3,
repetition separator ISA11, component separator ISA16, segment terminator right after ISA16) and
tolerates line breaks after terminators. Every problem raises :class:`X12SyntaxError` naming the
segment (1-based position in the interchange), its identifier and the element.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from core.payers.adapter import PayerResponseError

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
"""Fixed widths of ISA01..ISA16."""
ISA_LENGTH = 3 + len(ISA_WIDTHS) + sum(ISA_WIDTHS)
"""Characters of an ISA segment without its terminator (105)."""

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"-?[0-9]{1,15}")
_DATE = re.compile(r"[0-9]{8}")

Element = str | tuple[str, ...]
"""What the writer takes for one element: a simple value or the components of a composite."""
Row = Sequence[Element]
"""A segment to render: its identifier followed by its elements."""


class X12SyntaxError(PayerResponseError):
    """The payer sent X12 this codec cannot read; ``str(error)`` names the segment and element."""

    def __init__(
        self,
        detail: str,
        *,
        segment_index: int | None = None,
        segment_id: str | None = None,
        element: int | None = None,
        raw_request: str = "",
        raw_response: str = "",
    ) -> None:
        where = ""
        if segment_index is not None:
            where = f"segment {segment_index}" + (f" ({segment_id})" if segment_id else "") + ": "
        super().__init__(where + detail, raw_request=raw_request, raw_response=raw_response)
        self.detail = detail
        self.segment_index = segment_index
        self.segment_id = segment_id
        self.element = element


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def problem(self) -> str | None:
        """Why these delimiters are unusable, or None."""
        chars = (self.element, self.component, self.repetition, self.segment)
        if any(len(char) != 1 for char in chars):
            return "delimiters must be single characters"
        if len(set(chars)) != 4:
            return f"delimiters {''.join(chars)!r} are not distinct"
        if any(char.isalnum() or char == " " for char in chars):
            return f"delimiters {''.join(chars)!r} must not be letters, digits or spaces"
        return None


@dataclass(frozen=True)
class Segment:
    index: int
    """1-based position in the interchange (ISA is 1)."""
    id: str
    elements: tuple[str, ...]
    """Elements 1..n (``elements[0]`` is element 01)."""
    delimiters: Delimiters

    def name(self, position: int) -> str:
        return f"{self.id}{position:02d}"

    def error(self, detail: str, position: int | None = None) -> X12SyntaxError:
        return X12SyntaxError(detail, segment_index=self.index, segment_id=self.id, element=position)

    def get(self, position: int) -> str:
        """Element ``position`` (1-based), ``""`` when absent."""
        return self.elements[position - 1] if 0 < position <= len(self.elements) else ""

    def require(self, position: int) -> str:
        value = self.get(position)
        if not value:
            raise self.error(f"{self.name(position)} is required", position)
        return value

    def components(self, position: int) -> tuple[str, ...]:
        value = self.get(position)
        return tuple(value.split(self.delimiters.component)) if value else ()

    def repeats(self, position: int) -> tuple[str, ...]:
        value = self.get(position)
        return tuple(part for part in value.split(self.delimiters.repetition) if part) if value else ()

    def decimal(self, position: int, what: str = "a decimal number") -> Decimal | None:
        value = self.get(position)
        if not value:
            return None
        if len(value) > 30 or not _DECIMAL.fullmatch(value):
            raise self.error(f"{self.name(position)} {value!r} is not {what}", position)
        try:
            return Decimal(value)
        except (InvalidOperation, ValueError) as exc:  # pragma: no cover - the pattern already guards
            raise self.error(f"{self.name(position)} {value!r} is not {what}", position) from exc

    def amount(self, position: int) -> Decimal | None:
        return self.decimal(position, "a monetary amount")

    def integer(self, position: int) -> int | None:
        value = self.get(position)
        if not value:
            return None
        if not _INTEGER.fullmatch(value):
            raise self.error(f"{self.name(position)} {value!r} is not an integer", position)
        return int(value)

    def whole(self, position: int) -> int | None:
        """A decimal-typed (R) element that must hold a whole number, e.g. a quantity of units."""
        number = self.decimal(position, "a quantity")
        if number is None:
            return None
        if number != number.to_integral_value():
            raise self.error(f"{self.name(position)} {self.get(position)!r} is not a whole quantity", position)
        return int(number)

    def day(self, position: int) -> date | None:
        value = self.get(position)
        if not value:
            return None
        try:
            return parse_date(value)
        except ValueError as exc:
            raise self.error(f"{self.name(position)} {value!r} is not a CCYYMMDD date", position) from exc

    def period(self, format_position: int, value_position: int) -> tuple[date, date | None]:
        """A D8 date (``(day, None)``) or an RD8 range ``CCYYMMDD-CCYYMMDD`` (``(start, end)``)."""
        qualifier = self.require(format_position)
        value = self.require(value_position)
        name = self.name(value_position)
        try:
            if qualifier == "D8":
                return parse_date(value), None
            if qualifier == "RD8":
                start, sep, end = value.partition("-")
                if not sep:
                    raise ValueError(value)
                first, last = parse_date(start), parse_date(end)
                if last < first:
                    raise self.error(f"{name} {value!r} ends before it starts", value_position)
                return first, last
        except ValueError as exc:
            kind = "a CCYYMMDD date" if qualifier == "D8" else "a CCYYMMDD-CCYYMMDD range"
            raise self.error(f"{name} {value!r} is not {kind}", value_position) from exc
        raise self.error(
            f"{self.name(format_position)} {qualifier!r} is not a supported date format (D8 or RD8)", format_position
        )


def parse_date(value: str) -> date:
    """``CCYYMMDD`` -> date; ValueError otherwise."""
    if not _DATE.fullmatch(value):
        raise ValueError(value)
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def read_delimiters(text: str) -> Delimiters:
    """The delimiters an interchange declares in its ISA segment."""
    if not text.strip():
        raise X12SyntaxError("the interchange is empty (expected an ISA segment)", segment_index=1, segment_id="ISA")
    if not text.startswith("ISA"):
        raise X12SyntaxError(f"the interchange starts with {text[:3]!r}, not ISA", segment_index=1, segment_id="ISA")
    if len(text) <= ISA_LENGTH:
        raise X12SyntaxError(
            f"the ISA segment is truncated ({len(text)} characters, expected {ISA_LENGTH + 1})",
            segment_index=1,
            segment_id="ISA",
        )
    element = text[3]
    fields = text[4:ISA_LENGTH].split(element)
    if len(fields) != len(ISA_WIDTHS):
        raise X12SyntaxError(
            f"the ISA segment has {len(fields)} elements in its fixed width, expected 16",
            segment_index=1,
            segment_id="ISA",
        )
    for position, (field, width) in enumerate(zip(fields, ISA_WIDTHS, strict=True), start=1):
        if len(field) != width:
            raise X12SyntaxError(
                f"ISA{position:02d} {field!r} must be {width} characters wide",
                segment_index=1,
                segment_id="ISA",
                element=position,
            )
    repetition = fields[10]
    if repetition == "U":  # 4010 interchanges: no repetition separator; pick one that cannot clash
        repetition = "\x1e"
    delimiters = Delimiters(element=element, component=fields[15], repetition=repetition, segment=text[ISA_LENGTH])
    problem = delimiters.problem()
    if problem:
        raise X12SyntaxError(problem, segment_index=1, segment_id="ISA")
    return delimiters


def read_segments(text: str) -> tuple[Delimiters, tuple[Segment, ...]]:
    """Split an interchange into segments (ISA first) with the delimiters it declares."""
    text = text.lstrip("\ufeff\r\n\t ")
    delimiters = read_delimiters(text)
    isa = text[4:ISA_LENGTH].split(delimiters.element)  # fixed width: may hold any other delimiter
    segments = [Segment(index=1, id="ISA", elements=tuple(isa), delimiters=delimiters)]
    for piece in text[ISA_LENGTH + 1 :].split(delimiters.segment):
        piece = piece.strip("\r\n")
        if not piece:
            continue
        index = len(segments) + 1
        seg_id, *elements = piece.split(delimiters.element)
        if not _SEGMENT_ID.fullmatch(seg_id):
            shown = seg_id if len(seg_id) <= 10 else seg_id[:10] + "..."
            raise X12SyntaxError(f"{shown!r} is not a segment identifier", segment_index=index)
        segments.append(Segment(index=index, id=seg_id, elements=tuple(elements), delimiters=delimiters))
    return delimiters, tuple(segments)


def render(rows: Sequence[Row], delimiters: Delimiters, *, line_breaks: bool = False) -> str:
    """Render segments; trailing empty elements and components are dropped.

    Raises ValueError when a value contains one of the delimiters (naming the element).
    """
    reserved = {delimiters.element, delimiters.component, delimiters.repetition, delimiters.segment, "\r", "\n"}
    out: list[str] = []
    for row in rows:
        seg_id = str(row[0])
        values: list[str] = []
        for position, element in enumerate(row[1:], start=1):
            parts = (element,) if isinstance(element, str) else tuple(element)
            for part in parts:
                if reserved.intersection(part):
                    raise ValueError(f"{seg_id}{position:02d} {part!r} contains an X12 delimiter")
            values.append(delimiters.component.join(_trim(parts)))
        out.append(delimiters.element.join([seg_id, *_trim(tuple(values))]) + delimiters.segment)
    return ("\n" if line_breaks else "").join(out) + ("\n" if line_breaks else "")


def _trim(values: tuple[str, ...]) -> list[str]:
    items = list(values)
    while items and not items[-1]:
        items.pop()
    return items
