"""What the engine reads about an appointment and its patient: zone, quiet hours, language, channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from core.plugins.sdk import PluginContext
from plugins.reminders.messages import AppointmentFacts, appointment_message
from plugins.reminders.settings import Channel, ReminderSettings, Rule

RECIPIENT_FIELD: dict[str, str] = {"sms": "phone", "voice": "phone", "email": "email", "letter": "address"}


def settings_of(ctx: PluginContext) -> ReminderSettings:
    settings = ctx.settings
    return settings if isinstance(settings, ReminderSettings) else ReminderSettings()


def zone_of(*names: str | None) -> ZoneInfo:
    """The first of ``names`` that is a known IANA zone; UTC when none is."""
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _json(value: Any) -> dict[str, Any]:
    decoded = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return dict(decoded or {})


@dataclass(frozen=True)
class Appointment:
    """An appointment with what planning and the message need."""

    id: UUID
    patient_id: UUID
    status: str
    start: Any
    location: str | None
    practitioner_id: UUID | None
    practitioner: str | None
    specialty: str | None
    appointment_zone: ZoneInfo
    patient_zone: ZoneInfo
    quiet_start: time | None
    quiet_end: time | None
    language: str | None
    preferred: tuple[str, ...]
    has: frozenset[str]
    """Which of phone, email, address the patient has."""
    patient_deleted: bool
    reason: str | None = None

    def rule(self, settings: ReminderSettings) -> Rule:
        return settings.rule_for(self.practitioner_id, self.specialty)

    def channels(self, settings: ReminderSettings) -> list[Channel]:
        """The rule's channels, the patient's preferred ones first, only those the patient has an address for."""
        return order_channels(self.rule(settings).channels, self.preferred, self.has)

    def message(self, *, rescheduled: bool, documents: list[str] | None = None) -> dict[str, Any]:
        facts = AppointmentFacts(
            start=self.start,
            patient_zone=self.patient_zone,
            appointment_zone=self.appointment_zone,
            location=self.location,
            practitioner=self.practitioner,
            rescheduled=rescheduled,
        )
        return appointment_message(facts, self.language, documents=documents)


def order_channels(allowed: Any, preferred: tuple[str, ...], has: frozenset[str]) -> list[Channel]:
    """The rule's channels, the patient's preferred ones first, only those the patient has an address for."""
    ordered: list[Channel] = [c for c in allowed if c in preferred]
    ordered.sort(key=preferred.index)
    ordered += [c for c in allowed if c not in ordered]
    return [c for c in ordered if RECIPIENT_FIELD[c] in has]


@dataclass(frozen=True)
class Patient:
    """What a reminder not tied to an appointment (screening, referral follow-up) needs about the patient."""

    id: UUID
    zone: ZoneInfo
    quiet_start: time | None
    quiet_end: time | None
    language: str | None
    preferred: tuple[str, ...]
    has: frozenset[str]
    deleted: bool

    def channels(self, settings: ReminderSettings) -> list[Channel]:
        return order_channels(settings.channels, self.preferred, self.has)


async def load_patient(ctx: PluginContext, patient_id: UUID, settings: ReminderSettings) -> Patient | None:
    row = await ctx.tx.fetchrow(
        "select p.id, p.communication, p.phone, p.email, p.address is not null as has_address, "
        "p.deleted_at is not null as deleted, (select t.time_zone from tenants t where t.id = p.tenant_id) "
        "as tenant_zone from patients p where p.id = $1",
        patient_id,
    )
    if row is None:
        return None
    communication = _json(row["communication"])
    quiet_start, quiet_end = settings.quiet_hours_start, settings.quiet_hours_end
    if communication.get("quiet_hours_start") and communication.get("quiet_hours_end"):
        quiet_start = time.fromisoformat(communication["quiet_hours_start"])
        quiet_end = time.fromisoformat(communication["quiet_hours_end"])
    has = {name for name in ("phone", "email") if row[name]} | ({"address"} if row["has_address"] else set())
    return Patient(
        id=row["id"],
        zone=zone_of(communication.get("time_zone"), row["tenant_zone"]),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        language=communication.get("language"),
        preferred=tuple(communication.get("channels") or ()),
        has=frozenset(has),
        deleted=row["deleted"],
    )


async def load_appointment(ctx: PluginContext, appointment_id: UUID, settings: ReminderSettings) -> Appointment | None:
    """The appointment as this tenant sees it (row-level security), or None."""
    row = await ctx.tx.fetchrow(
        "select a.id, a.patient_id, a.status, a.start_at, a.location, a.reason, a.time_zone, a.practitioner_id, "
        "pr.given_name as pr_given, pr.family_name as pr_family, pr.specialty, p.communication, p.phone, p.email, "
        "p.address is not null as has_address, p.deleted_at is not null as patient_deleted, "
        "(select t.time_zone from tenants t where t.id = a.tenant_id) as tenant_zone "
        "from appointments a join patients p on p.id = a.patient_id "
        "left join practitioners pr on pr.id = a.practitioner_id where a.id = $1",
        appointment_id,
    )
    if row is None:
        return None
    communication = _json(row["communication"])
    quiet_start, quiet_end = settings.quiet_hours_start, settings.quiet_hours_end
    if communication.get("quiet_hours_start") and communication.get("quiet_hours_end"):
        quiet_start = time.fromisoformat(communication["quiet_hours_start"])
        quiet_end = time.fromisoformat(communication["quiet_hours_end"])
    has = {name for name in ("phone", "email") if row[name]} | ({"address"} if row["has_address"] else set())
    practitioner = f"{row['pr_given']} {row['pr_family']}" if row["pr_family"] else None
    return Appointment(
        id=row["id"],
        patient_id=row["patient_id"],
        status=row["status"],
        start=row["start_at"],
        location=row["location"],
        practitioner_id=row["practitioner_id"],
        practitioner=practitioner,
        specialty=row["specialty"],
        appointment_zone=zone_of(row["time_zone"], row["tenant_zone"]),
        patient_zone=zone_of(communication.get("time_zone"), row["tenant_zone"]),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        language=communication.get("language"),
        preferred=tuple(communication.get("channels") or ()),
        has=frozenset(has),
        patient_deleted=row["patient_deleted"],
        reason=row["reason"],
    )
