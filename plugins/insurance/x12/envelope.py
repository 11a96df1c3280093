"""X12 envelopes: walking ISA/GS/ST..SE/GE/IEA with their counts, HL hierarchies, and building envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from plugins.insurance.x12.segments import (
    ISA_WIDTHS,
    Delimiters,
    Row,
    Segment,
    read_segments,
    render,
)

DEFAULT_DELIMITERS = Delimiters()


@dataclass(frozen=True)
class Transaction:
    set_id: str
    """ST01: 270, 271, 278..."""
    control_number: str
    version: str
    """ST03, the implementation guide (005010X279A1...)."""
    segments: tuple[Segment, ...]
    """ST through SE."""

    @property
    def body(self) -> tuple[Segment, ...]:
        return self.segments[1:-1]


@dataclass(frozen=True)
class Group:
    functional_id: str
    control_number: str
    version: str
    transactions: tuple[Transaction, ...]


@dataclass(frozen=True)
class Interchange:
    delimiters: Delimiters
    sender_id: str
    receiver_id: str
    control_number: str
    usage: str
    """ISA15: P production, T test."""
    groups: tuple[Group, ...]
    segments: tuple[Segment, ...]

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        return tuple(transaction for group in self.groups for transaction in group.transactions)


@dataclass(frozen=True)
class Level:
    """One HL loop: its id, parent id, level code (HL03) and the segments that follow its HL."""

    hl: Segment
    id: str
    parent: str | None
    code: str
    segments: tuple[Segment, ...]


def parse_interchange(text: str) -> Interchange:
    """Read and check one interchange: envelope order, control numbers and counts."""
    delimiters, segments = read_segments(text)
    isa = segments[0]
    position = 1
    groups: list[Group] = []

    def current() -> Segment:
        if position >= len(segments):
            last = segments[-1]
            raise last.error("the interchange ends without an IEA segment")
        return segments[position]

    while current().id == "GS":
        gs = current()
        position += 1
        transactions: list[Transaction] = []
        while current().id == "ST":
            start = position
            st = current()
            st_control = st.require(2)
            while current().id != "SE":
                position += 1
                if current().id in ("ST", "GE", "IEA", "GS", "ISA"):
                    raise current().error(f"transaction set {st_control} (segment {st.index}) has no SE segment")
            se = current()
            count = se.integer(1)
            if count != position - start + 1:
                raise se.error(f"SE01 says {se.get(1)!r} segments, the transaction set has {position - start + 1}", 1)
            if se.require(2) != st_control:
                raise se.error(f"SE02 {se.get(2)!r} does not match ST02 {st_control!r}", 2)
            position += 1
            transactions.append(Transaction(st.require(1), st_control, st.get(3), segments[start:position]))
        ge = current()
        if ge.id != "GE":
            raise ge.error("expected ST or GE inside the functional group")
        if ge.integer(1) != len(transactions):
            raise ge.error(f"GE01 says {ge.get(1)!r} transaction sets, the group has {len(transactions)}", 1)
        if ge.require(2) != gs.require(6):
            raise ge.error(f"GE02 {ge.get(2)!r} does not match GS06 {gs.get(6)!r}", 2)
        position += 1
        groups.append(Group(gs.require(1), gs.get(6), gs.get(8), tuple(transactions)))
    iea = current()
    if iea.id != "IEA":
        raise iea.error("expected GS or IEA")
    if iea.integer(1) != len(groups):
        raise iea.error(f"IEA01 says {iea.get(1)!r} functional groups, the interchange has {len(groups)}", 1)
    if iea.require(2) != isa.get(13):
        raise iea.error(f"IEA02 {iea.get(2)!r} does not match ISA13 {isa.get(13)!r}", 2)
    if position + 1 < len(segments):
        raise segments[position + 1].error("data after the IEA segment")
    return Interchange(
        delimiters=delimiters,
        sender_id=isa.get(6).strip(),
        receiver_id=isa.get(8).strip(),
        control_number=isa.get(13),
        usage=isa.get(15),
        groups=tuple(groups),
        segments=segments,
    )


def only_transaction(text: str, set_id: str) -> Transaction:
    """The first transaction set of an interchange, which must be a ``set_id`` (e.g. 271)."""
    interchange = parse_interchange(text)
    transactions = interchange.transactions
    if not transactions:
        raise interchange.segments[-1].error(f"the interchange holds no transaction set (expected a {set_id})")
    for transaction in transactions:
        if transaction.set_id != set_id:
            st = transaction.segments[0]
            raise st.error(f"expected a {set_id} transaction set, got {transaction.set_id!r}", 1)
    return transactions[0]


def levels(transaction: Transaction) -> tuple[Level, ...]:
    """The HL loops of a transaction, checked: unique ids, parents declared before their children."""
    found: list[Level] = []
    seen: set[str] = set()
    hl: Segment | None = None
    collected: list[Segment] = []

    def close() -> None:
        if hl is not None:
            found.append(Level(hl, hl.get(1), hl.get(2) or None, hl.get(3), tuple(collected)))

    for seg in transaction.body:
        if seg.id != "HL":
            if hl is not None:
                collected.append(seg)
            continue
        close()
        hl_id, parent = seg.require(1), seg.get(2)
        seg.require(3)
        if hl_id in seen:
            raise seg.error(f"HL01 {hl_id!r} is used twice", 1)
        if parent and parent not in seen:
            raise seg.error(f"HL02 {parent!r} is not an earlier HL", 2)
        seen.add(hl_id)
        hl, collected = seg, []
    close()
    return tuple(found)


def build_interchange(
    body: Sequence[Row],
    *,
    set_id: str,
    functional_id: str,
    version: str,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    line_breaks: bool = False,
) -> str:
    """ISA/GS/ST + body + SE/GE/IEA with matching control numbers and counts (one group, one set)."""
    problem = delimiters.problem()
    if problem:
        raise ValueError(problem)
    if not 0 < control_number < 10**9:
        raise ValueError("control_number must be between 1 and 999999999")
    for label, value in (("sender_id", sender_id), ("receiver_id", receiver_id)):
        if not value or len(value) > 15 or not value.isprintable():
            raise ValueError(f"{label} must be 1-15 printable characters")
    if usage not in ("P", "T"):
        raise ValueError("usage must be P (production) or T (test)")
    st_control = f"{control_number:04d}"
    rows: list[Row] = [
        ("GS", functional_id, sender_id, receiver_id, now.strftime("%Y%m%d"), now.strftime("%H%M"),
         str(control_number), "X", version),
        ("ST", set_id, st_control, version),
        *body,
        ("SE", str(len(body) + 2), st_control),
        ("GE", "1", str(control_number)),
        ("IEA", "1", f"{control_number:09d}"),
    ]  # fmt: skip
    isa_fields = (
        "00", "", "00", "", "ZZ", sender_id, "ZZ", receiver_id, now.strftime("%y%m%d"), now.strftime("%H%M"),
        delimiters.repetition, "00501", f"{control_number:09d}", "0", usage, delimiters.component,
    )  # fmt: skip
    isa = delimiters.element.join(
        ["ISA", *(value.ljust(width) for value, width in zip(isa_fields, ISA_WIDTHS, strict=True))]
    )
    for value in (sender_id, receiver_id):
        if {delimiters.element, delimiters.segment, delimiters.component, delimiters.repetition} & set(value):
            raise ValueError(f"interchange id {value!r} contains an X12 delimiter")
    newline = "\n" if line_breaks else ""
    return isa + delimiters.segment + newline + render(rows, delimiters, line_breaks=line_breaks)
