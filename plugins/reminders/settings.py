"""Per-tenant rules of the reminders module (validated by the admin modules API when saved).

``offsets`` name how long before the start each touch goes out (``"72h"``, ``"90m"``); overrides
by practitioner id win over overrides by the practitioner's specialty, which win over the defaults.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from plugins.reminders.plan import touch_key

Channel = Literal["sms", "email", "voice", "letter"]
Kind = Literal["appointment", "referral_followup", "screening", "documents"]
Offset = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,4}[hm]$", description="e.g. 72h or 90m")]
TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[a-z0-9_.-]+$")]
Offsets = Annotated[list[Offset], msgspec.Meta(min_length=1, max_length=6)]
Channels = Annotated[list[Channel], msgspec.Meta(min_length=1, max_length=4)]

DocumentKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
DocumentList = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]], msgspec.Meta(min_length=1, max_length=10)
]

DEFAULT_CHANNELS: tuple[Channel, ...] = ("sms", "email", "voice", "letter")
MAX_OFFSET = timedelta(days=60)


def parse_offset(text: str) -> timedelta:
    """``"72h"`` -> 72 hours, ``"90m"`` -> 90 minutes."""
    amount = int(text[:-1])
    return timedelta(hours=amount) if text.endswith("h") else timedelta(minutes=amount)


def _check_offsets(offsets: list[str], field: str) -> None:
    parsed = [parse_offset(o) for o in offsets]
    if any(p > MAX_OFFSET for p in parsed):
        raise ValueError(f"{field}: an offset may be at most {MAX_OFFSET.days} days")
    if len({touch_key(p) for p in parsed}) != len(parsed):
        raise ValueError(f"{field}: offsets must not repeat (72h and 4320m are the same)")


def _check_channels(channels: list[Channel], field: str) -> None:
    if len(set(channels)) != len(channels):
        raise ValueError(f"{field}: channels must not repeat")


class RuleOverride(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Offsets and/or channels for one specialty or practitioner; absent fields keep the defaults."""

    offsets: Offsets | None = None
    channels: Channels | None = None

    def __post_init__(self) -> None:
        if self.offsets is not None:
            _check_offsets(self.offsets, "offsets")
        if self.channels is not None:
            _check_channels(self.channels, "channels")


class Templates(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The core notification template each kind is sent with (per tenant and language in core).

    ``generic`` renders the ``subject`` and ``text`` the module writes; a tenant may point a kind at
    a template of its own (``/api/v1/admin/notification-templates``), which also sees ``appointment``
    (``when``, ``date``, ``time``, ``location``, ``practitioner``, ``rescheduled``, ``reply``). A name
    the tenant has no template for falls back to ``generic``.
    """

    appointment: TemplateName = "generic"
    referral_followup: TemplateName = "generic"
    screening: TemplateName = "generic"
    documents: TemplateName = "generic"

    def of(self, kind: Kind) -> str:
        name: str = getattr(self, kind)
        return name


class ReminderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    offsets: Offsets = msgspec.field(default_factory=lambda: ["72h", "24h", "2h"])
    """How long before the appointment each touch goes out."""
    by_specialty: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=100)], RuleOverride] = {}
    """Overrides by the practitioner's specialty (compared case-insensitively)."""
    by_practitioner: dict[UUID, RuleOverride] = {}
    """Overrides by practitioner id (win over the specialty's)."""
    channels: Channels = msgspec.field(default_factory=lambda: list(DEFAULT_CHANNELS))
    """Channels in order: the next one is tried when one fails (no consent, opted out, not configured)."""
    quiet_hours_start: time | None = time(21, 0)
    """Quiet hours for patients who set none, on the patient's clock (their zone, else the organization's)."""
    quiet_hours_end: time | None = time(8, 0)
    min_lead_minutes: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 15
    """Nothing goes out less than this before the start."""
    caregiver_copies: bool = False
    """Also send each touch to contacts allowed ``appointment_reminders`` with a sharing consent."""
    templates: Templates = Templates()
    max_failures: Annotated[int, msgspec.Meta(ge=1, le=10)] = 4
    """Failed channels of one touch before it counts as undeliverable and a coordinator gets a task."""
    referral_followup_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5
    """A referral sent or accepted and not scheduled this many days later: the patient is reminded to book."""
    screening_lead_days: Annotated[int, msgspec.Meta(ge=0, le=90)] = 14
    """A screening reminder this many days before its due date (0: none), and one on the due date."""
    local_send_time: time = time(10, 0)
    """Patient's clock time of screening reminders (then moved out of quiet hours)."""
    documents_by_specialty: dict[DocumentKey, DocumentList] = {}
    """Documents to bring, by the practitioner's specialty (case-insensitive): listed in the appointment
    reminders sent 24 h or more before the start."""
    documents_by_reason: dict[DocumentKey, DocumentList] = {}
    """The same by the appointment's reason (case-insensitive, whole reason)."""

    def __post_init__(self) -> None:
        _check_offsets(self.offsets, "offsets")
        _check_channels(self.channels, "channels")
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet_hours_start and quiet_hours_end go together")

    def rule_for(self, practitioner_id: UUID | None, specialty: str | None) -> Rule:
        """Offsets and channels for an appointment with this practitioner."""
        offsets, channels = self.offsets, self.channels
        lowered = {name.strip().lower(): o for name, o in self.by_specialty.items()}
        for override in (
            lowered.get(specialty.strip().lower()) if specialty else None,
            self.by_practitioner.get(practitioner_id) if practitioner_id else None,
        ):
            if override is not None:
                offsets = override.offsets or offsets
                channels = override.channels or channels
        return Rule(
            offsets=tuple(parse_offset(o) for o in offsets),
            channels=tuple(channels),
            min_lead=timedelta(minutes=self.min_lead_minutes),
        )

    def documents_for(self, specialty: str | None, reason: str | None) -> list[str]:
        """Documents the patient must bring: the specialty's, then the reason's (no repeats)."""
        found: list[str] = []
        for table, key in ((self.documents_by_specialty, specialty), (self.documents_by_reason, reason)):
            if not key:
                continue
            lowered = {name.strip().lower(): docs for name, docs in table.items()}
            for doc in lowered.get(key.strip().lower(), []):
                if doc not in found:
                    found.append(doc)
        return found


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """The resolved rule of one appointment."""

    offsets: tuple[timedelta, ...]
    channels: tuple[Channel, ...]
    min_lead: timedelta
