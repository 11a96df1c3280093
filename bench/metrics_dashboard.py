"""Metrics dashboard: the KPI dashboard of a tenant with 100,000 referrals, over HTTP.

Data (written with COPY as the owner, in a transaction pinned to the tenant, deterministic for a
seed): one tenant in ``America/New_York`` with the metrics, referrals, insurance and reminders modules
on; 20 coordinators in 4 teams (when core has teams), 20 provider organizations and 200
practitioners, 30,000 patients, 100,000 referrals created over the last 12 months with their
``referral_transitions`` (draft -> sent -> received -> accepted -> scheduled -> seen -> closed, with
holds, rejections, cancellations and appointments that fell through), about 100,000 appointments
(fulfilled, no-show, cancelled, booked) with their status history, 50,000 tasks (some overdue)
with theirs, and the rows the insurance and reminders metrics read. Then ``vacuum analyze``.

Timed over HTTP against the real app (``carecoord serve``, one uvicorn process):
- ``GET /api/v1/metrics/dashboard?period=week`` and ``?period=month``: the first call, then the
  p50/p95 of ``BENCH_CALLS`` (20) calls;
- ``GET /api/v1/metrics/referrals_within_sla_pct?period=day&by=coordinator`` over 90 days.

Baseline in the same run: a bare litestar app (one uvicorn process, its own asyncpg pool) whose one
endpoint runs ``select count(*) from referral_transitions where tenant_id = $1``, the cheapest query
that touches every transition of the tenant. Then each metric's facts alone (its SQL, or its
function, in a tenant transaction over the dashboard's month window), slowest first, and
``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest SQL facts query.
The figures are printed and written as JSON to ``BENCH_OUTPUT`` (``bench-metrics-dashboard.json``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

REFERRALS = int(os.environ.get("BENCH_REFERRALS", "100000"))
PATIENTS = int(os.environ.get("BENCH_PATIENTS", str(max(100, REFERRALS * 3 // 10))))
APPOINTMENTS = int(os.environ.get("BENCH_APPOINTMENTS", str(REFERRALS)))
TASKS = int(os.environ.get("BENCH_TASKS", str(REFERRALS // 2)))
CALLS = int(os.environ.get("BENCH_CALLS", "20"))
SEED = int(os.environ.get("BENCH_SEED", "20261124"))
OUTPUT = os.environ.get("BENCH_OUTPUT", "bench-metrics-dashboard.json")
TARGET_SECONDS = 1.0
COORDINATORS = 20
TEAMS = 4
ORGANIZATIONS = 20
PRACTITIONERS = 200
DAYS = 365
TIME_ZONE = "America/New_York"
MODULES = ("metrics", "referrals", "insurance", "reminders")
SPECIALTIES = (
    "Cardiology", "Dermatology", "Endocrinology", "Gastroenterology", "Neurology", "Oncology",
    "Orthopedics", "Psychiatry", "Pulmonology", "Rheumatology", "Urology", "Ophthalmology",
)  # fmt: skip
PRIORITIES = (("routine", 0.72), ("urgent", 0.2), ("asap", 0.06), ("stat", 0.02))
ADDRESS = json.dumps({"line": ["1 Main Street"], "city": "Springfield", "state": "MA", "postal_code": "01101",
                      "country": "US"})  # fmt: skip
COMMUNICATION = json.dumps({"channels": ["sms", "email"], "language": "en"})
SPEED = {"routine": 1.0, "urgent": 0.35, "asap": 0.12, "stat": 0.04}
"""Higher priorities move faster: every referral delay is scaled by this."""


# ---------------------------------------------------------------------------------------------- data


class Ids:
    """Deterministic UUIDs (version 4) from the bench's seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self) -> UUID:
        return UUID(int=self._rng.getrandbits(128), version=4)


@dataclass
class Data:
    """What was written, for the report and for the measuring phase."""

    tenant_id: UUID
    slug: str
    email: str
    password: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Move:
    from_status: str | None
    to_status: str
    at: datetime
    reason: str | None = None


@dataclass
class Life:
    """A referral's simulated history up to ``now``."""

    moves: list[Move]
    status: str
    held_from: str | None
    seen_at: datetime | None
    planned_visit: datetime | None
    fell_through: list[datetime]


def _hours(rng: random.Random, median: float, spread: float = 0.8) -> timedelta:
    return timedelta(hours=median * rng.lognormvariate(0, spread))


class _Walk:
    """One referral being walked through its statuses; a move that would land after ``now`` ends the walk."""

    def __init__(self, rng: random.Random, created: datetime, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.moves = [Move(None, "draft", created)]
        self.status, self.at = "draft", created
        self.held_from: str | None = None
        self.hold_at: str | None = None
        self.cancel_at: str | None = None

    def move(self, target: str, delay: timedelta, reason: str | None = None) -> bool:
        at = self.at + max(delay, timedelta(minutes=1))
        if at >= self.now:
            return False
        self.moves.append(Move(self.status, target, at, reason))
        self.status, self.at = target, at
        return True

    def reach(self, target: str, delay: timedelta, speed: float) -> bool:
        """Move to ``target``; then maybe a hold there (and the resume), or a cancellation."""
        if not self.move(target, delay):
            return False
        if self.hold_at == target:
            self.hold_at = None
            if not self.move("on_hold", _hours(self.rng, 6), "waiting for patient documents"):
                return False
            if not self.move(target, _hours(self.rng, 96, 0.7)):
                self.held_from = target
                return False
        if self.cancel_at == target:
            self.move("cancelled", _hours(self.rng, 30 * speed + 4), "patient declined")
            return False
        return True


def _lifecycle(rng: random.Random, created: datetime, priority: str, now: datetime) -> Life:
    """Walk one referral through its statuses with realistic delays, stopping at ``now``."""
    speed = SPEED[priority]
    walk = _Walk(rng, created, now)
    if rng.random() < 0.08:
        walk.hold_at = rng.choice(("sent", "received", "accepted", "scheduled", "seen"))
    if rng.random() < 0.05:
        walk.cancel_at = rng.choice(("draft", "sent", "received", "accepted", "scheduled"))
    seen_at: datetime | None = None
    planned_visit: datetime | None = None
    fell_through: list[datetime] = []
    accepted = False
    if walk.cancel_at == "draft" or rng.random() < 0.01:
        walk.move("cancelled", _hours(rng, 20), "created in error")
    elif walk.reach("sent", _hours(rng, 3), speed) and walk.reach("received", _hours(rng, 6 * speed + 0.5), speed):
        if rng.random() < 0.05:
            if walk.move("rejected", _hours(rng, 12), "out of network") and rng.random() < 0.7:
                walk.move("cancelled", _hours(rng, 48), "rejected by the specialist")
        else:
            accepted = walk.reach("accepted", _hours(rng, 10 * speed + 0.5), speed)
    while accepted and walk.reach("scheduled", _hours(rng, 90 * speed + 1, 1.0), speed):
        planned_visit = walk.at + timedelta(days=rng.uniform(4, 28))
        if rng.random() < 0.1 and len(fell_through) < 2:  # the appointment fell through: back to accepted
            if not walk.move("accepted", min(planned_visit - walk.at, _hours(rng, 72)), "appointment fell through"):
                break
            fell_through.append(walk.at)
            planned_visit = None
            continue
        if walk.reach("seen", planned_visit - walk.at, speed):
            seen_at = walk.at
            # most consult reports arrive within weeks; some loops stay open for months, a few for good
            roll = rng.random()
            if roll < 0.97:
                days = rng.uniform(1, 25) if roll < 0.85 else rng.uniform(30, 150)
                walk.reach("closed", timedelta(days=days), speed)
        break
    held_from = walk.held_from if walk.status == "on_hold" else None
    if walk.status == "on_hold" and held_from is None:
        held_from = walk.moves[-1].from_status
    return Life(walk.moves, walk.status, held_from, seen_at, planned_visit, fell_through)


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    point = rng.random()
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


def _created_at(rng: random.Random, now: datetime) -> datetime:
    """A creation time in the last ``DAYS`` days, busier on weekdays and in office hours, growing a little."""
    while True:
        days = DAYS * (1 - rng.random() ** 1.15)  # slightly more recent than old
        at = now - timedelta(days=days)
        local_hour = (at.hour - 5) % 24
        weekday = at.weekday()
        weight = (1.0 if 8 <= local_hour < 18 else 0.15) * (1.0 if weekday < 5 else 0.2)
        if rng.random() < weight:
            return at.replace(microsecond=0)


async def _columns(conn: Any, table: str) -> set[str]:
    rows = await conn.fetch(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = $1",
        table,
    )
    return {r["column_name"] for r in rows}


async def _copy(conn: Any, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> int:
    if records:
        await conn.copy_records_to_table(table, columns=list(columns), records=records)
    return len(records)


def _sla(priority: str, moves: list[Move], calendar: Any, settings: Any) -> dict[str, Any]:
    """``sla_stopped_at``, ``sla_stop_status``, ``sla_met`` of the referral, as the referrals plugin
    records them when the clock stops (``record_sla_outcomes``: from the log as it is at the stop).

    The log is cut at the stop, as it was when the plugin evaluated it (and ``clock_of`` rejects a
    hold that is still open after the stop: scheduled -> on_hold).
    """
    from plugins.referrals.clock import clock_of
    from plugins.referrals.states import SLA_STOP

    log: list[dict[str, Any]] = []
    sent = False
    for m in moves:
        log.append({"to_status": m.to_status, "occurred_at": m.at})
        sent = sent or m.to_status == "sent"
        if sent and m.to_status in SLA_STOP:
            break
    clock = clock_of(priority, log, settings, calendar)
    if clock is None or clock.stopped_at is None:
        return {"sla_stopped_at": None, "sla_stop_status": None, "sla_met": None}
    met = clock.state(clock.stopped_at) == "met"
    return {"sla_stopped_at": clock.stopped_at, "sla_stop_status": log[-1]["to_status"], "sla_met": met}


async def _tenant() -> tuple[UUID, str, str, str]:
    from core.db.engine import close_pool, start_pool
    from core.platform import create_tenant
    from core.tenancy.schemas import SignupRequest

    slug, email, password = f"bench-metrics-{os.getpid()}", "owner@bench-metrics.example", "bench-password-123"
    await start_pool(2)
    try:
        tenant = await create_tenant(
            SignupRequest(organization_name="Bench metrics", slug=slug, owner_email=email, owner_password=password)
        )
    finally:
        await close_pool()
    return tenant.id, slug, email, password


@dataclass
class World:
    """The tenant's people and directory, shared by the writers of each table family."""

    tenant_id: UUID
    owner_id: UUID
    now: datetime
    rng: random.Random
    new_id: Ids
    counts: dict[str, int]
    coordinators: list[UUID] = field(default_factory=list)
    practitioners: list[UUID] = field(default_factory=list)
    specialty_of: dict[UUID, str] = field(default_factory=dict)
    patients: list[UUID] = field(default_factory=list)

    def coordinator(self) -> UUID:
        """A coordinator; a few carry more of the load than the others."""
        if self.rng.random() < 0.3:
            return self.coordinators[min(int(self.rng.paretovariate(1.6)) - 1, COORDINATORS - 1)]
        return self.coordinators[self.rng.randrange(COORDINATORS)]

    def patient(self) -> UUID:
        return self.patients[self.rng.randrange(len(self.patients))]


async def generate(now: datetime) -> Data:
    """Create the tenant and write its rows with COPY (see the module docstring)."""
    import asyncpg

    began = time.perf_counter()
    tenant_id, slug, email, password = await _tenant()
    data = Data(tenant_id, slug, email, password)
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        owner: Any = await conn.fetchrow("select id, password_hash from users where tenant_id = $1", tenant_id)
        rng = random.Random(SEED)
        world = World(tenant_id, owner["id"], now, rng, Ids(rng), data.counts)
        async with conn.transaction():
            await conn.execute("select set_config('app.tenant_id', $1, true)", str(tenant_id))
            await conn.execute("update tenants set time_zone = $2 where id = $1", tenant_id, TIME_ZONE)
            for module in MODULES:
                await conn.execute(
                    "insert into tenant_modules (tenant_id, module, enabled, settings, updated_by) "
                    "values ($1, $2, true, '{}', $3) on conflict (tenant_id, module) do update set enabled = true",
                    tenant_id,
                    module,
                    world.owner_id,
                )
            await conn.execute("update tenants set modules_version = modules_version + 1 where id = $1", tenant_id)
            await _people(conn, world, owner["password_hash"])
            referrals, appointments = await _referrals(conn, world)
            await _tasks(conn, world, [r[1] for r in referrals])
            await _insurance(conn, world, referrals, appointments)
            await _reminders(conn, world, appointments)
        tables = [t for t in data.counts if t not in ("coordinators",)]
        await conn.execute(f"vacuum analyze users, {', '.join(tables)}")
    finally:
        await conn.close()
    data.seconds = time.perf_counter() - began
    return data


async def _people(conn: Any, world: World, password_hash: str) -> None:
    """Teams (when core has them), coordinators, the provider directory, patients and their care teams."""
    tenant_id, rng, new_id, now = world.tenant_id, world.rng, world.new_id, world.now
    teams: list[UUID] = []
    if "team_id" in await _columns(conn, "users"):
        teams = [new_id() for _ in range(TEAMS)]
        rows = [(tenant_id, t, f"Team {chr(65 + i)}") for i, t in enumerate(teams)]
        world.counts["teams"] = await _copy(conn, "teams", ["tenant_id", "id", "name"], rows)
    world.coordinators = [new_id() for _ in range(COORDINATORS)]
    world.counts["coordinators"] = await _copy(
        conn,
        "users",
        ["tenant_id", "id", "email", "full_name", "role", "password_hash", *(["team_id"] if teams else [])],
        [
            (tenant_id, c, f"coordinator{i:02d}@bench-metrics.example", f"Coordinator {i:02d}", "coordinator",
             password_hash, *([teams[i % TEAMS]] if teams else []))
            for i, c in enumerate(world.coordinators)
        ],
    )  # fmt: skip
    organizations = [new_id() for _ in range(ORGANIZATIONS)]
    world.counts["provider_organizations"] = await _copy(
        conn,
        "provider_organizations",
        ["tenant_id", "id", "name", "kind", "specialty", "identifier"],
        [
            (tenant_id, o, f"Clinic {i:02d}", "clinic", SPECIALTIES[i % len(SPECIALTIES)], f"ORG{i:04d}")
            for i, o in enumerate(organizations)
        ],
    )
    world.practitioners = [new_id() for _ in range(PRACTITIONERS)]
    world.specialty_of = {p: SPECIALTIES[i % len(SPECIALTIES)] for i, p in enumerate(world.practitioners)}
    world.counts["practitioners"] = await _copy(
        conn,
        "practitioners",
        ["tenant_id", "id", "given_name", "family_name", "specialty", "identifier", "organization_id"],
        [
            (tenant_id, p, "Pat", f"Provider {i:03d}", world.specialty_of[p], f"NPI{i:07d}",
             organizations[i % ORGANIZATIONS] if i % 3 else None)
            for i, p in enumerate(world.practitioners)
        ],
    )  # fmt: skip
    world.patients = [new_id() for _ in range(PATIENTS)]
    patients: list[tuple[Any, ...]] = []
    care_team: list[tuple[Any, ...]] = []
    for i, p in enumerate(world.patients):
        # most patients predate the window; the rest registered during the year; a fifth lack some data
        registered = now - timedelta(days=DAYS + 30) if rng.random() < 0.7 else _created_at(rng, now)
        complete = rng.random() < 0.8
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(30000))
        patients.append(
            (tenant_id, p, f"M{i:08d}", "Bench", f"Patient {i}", born, f"+1555{i:07d}", f"1555{i:07d}",
             f"patient{i}@bench-metrics.example" if complete else None, ADDRESS if complete else None,
             COMMUNICATION if complete or rng.random() < 0.5 else "{}", registered, registered)
        )  # fmt: skip
        since = registered.date()
        care_team.append((tenant_id, new_id(), p, world.coordinator(), None, "care_coordinator", since, True))
        if rng.random() < 0.85:
            pcp = world.practitioners[rng.randrange(PRACTITIONERS)]
            care_team.append((tenant_id, new_id(), p, None, pcp, "primary_care_physician", since, False))
    world.counts["patients"] = await _copy(
        conn,
        "patients",
        ["tenant_id", "id", "mrn", "given_name", "family_name", "birth_date", "phone", "phone_digits", "email",
         "address", "communication", "created_at", "updated_at"],
        patients,
    )  # fmt: skip
    world.counts["care_team_members"] = await _copy(
        conn,
        "care_team_members",
        ["tenant_id", "id", "patient_id", "user_id", "practitioner_id", "role", "period_start",
         "is_primary_coordinator"],
        care_team,
    )  # fmt: skip


REFERRAL_COLUMNS = (
    "tenant_id", "id", "patient_id", "target_practitioner_id", "specialty", "reason", "priority", "coordinator_id",
    "appointment_id", "consult_report", "status", "held_from", "sent_at", "closed_at", "created_by", "created_at",
    "updated_at",
)  # fmt: skip
APPOINTMENT_COLUMNS = (
    "tenant_id", "id", "patient_id", "practitioner_id", "location", "start_at", "end_at", "time_zone", "status",
    "referral_id", "created_by", "created_at",
)  # fmt: skip
SLA_COLUMNS = ("sla_stopped_at", "sla_stop_status", "sla_met")
LOG_COLUMNS = ("first_sent_at", "first_scheduled_at", "first_seen_at", "ended_at")
"""Event times the referrals plugin keeps on the referral from its log (``plugins/referrals/log_times.py``);
written when the schema has them, as the plugin computes them."""


def _log_times(moves: list[Move]) -> dict[str, datetime | None]:
    def first(*statuses: str) -> datetime | None:
        return next((m.at for m in moves if m.to_status in statuses), None)

    return {
        "first_sent_at": first("sent"),
        "first_scheduled_at": first("scheduled"),
        "first_seen_at": first("seen"),
        "ended_at": first("closed", "cancelled", "replaced"),
    }


async def _referrals(conn: Any, world: World) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Referrals with their transitions and appointments (the visit, and any that fell through), then
    appointments of their own up to ``APPOINTMENTS``; returns the referral and appointment rows."""
    from plugins.referrals.calendar import BusinessCalendar, CalendarSettings
    from plugins.referrals.settings import ReferralSettings

    tenant_id, rng, new_id, now = world.tenant_id, world.rng, world.new_id, world.now
    settings = ReferralSettings()
    # The module's calendar is unset by default: the SLA clock then runs on the organization's business hours.
    hours = await conn.fetchval("select business_hours from tenants where id = $1", tenant_id)
    hours = json.loads(hours) if isinstance(hours, str) else hours
    week = settings.calendar or CalendarSettings.from_business_hours(hours)
    calendar = BusinessCalendar.from_settings(week, TIME_ZONE)
    present = await _columns(conn, "referrals")
    sla_columns = [c for c in SLA_COLUMNS if c in present]
    log_columns = [c for c in LOG_COLUMNS if c in present]
    left_at = "left_at" in await _columns(conn, "referral_transitions")
    referrals: list[tuple[Any, ...]] = []
    transitions: list[tuple[Any, ...]] = []
    appointments: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []

    def appointment(referral: UUID | None, patient: UUID, practitioner: UUID, visit: datetime, status: str,
                    booked: datetime, changed: datetime | None, by: UUID) -> UUID:  # fmt: skip
        appointment_id = new_id()
        location, minutes = ("Specialist clinic", 30) if referral else ("Primary care", 20)
        appointments.append(
            (tenant_id, appointment_id, patient, practitioner, location, visit, visit + timedelta(minutes=minutes),
             TIME_ZONE, status, referral, by, booked)
        )  # fmt: skip
        history.append((tenant_id, new_id(), appointment_id, None, "booked", by, booked))
        if changed is not None:
            history.append((tenant_id, new_id(), appointment_id, "booked", status, by, min(changed, now)))
        return appointment_id

    for _ in range(REFERRALS):
        referral_id = new_id()
        priority = _weighted(rng, PRIORITIES)
        created = _created_at(rng, now)
        life = _lifecycle(rng, created, priority, now)
        coordinator = world.coordinator()
        target = world.practitioners[int(PRACTITIONERS * rng.random() ** 1.5)]  # some providers are busier
        patient = world.patient()
        for i, move in enumerate(life.moves):
            actor = coordinator if move.to_status not in ("received", "accepted", "rejected") else None
            left = (life.moves[i + 1].at if i + 1 < len(life.moves) else None,) if left_at else ()
            transitions.append(
                (tenant_id, new_id(), referral_id, move.from_status, move.to_status, move.reason,
                 "user" if actor else "system", actor, move.at, *left)
            )  # fmt: skip
        for lapsed in life.fell_through:  # missed, or cancelled before the day
            status = "cancelled" if rng.random() < 0.4 else "noshow"
            visit = lapsed if status == "noshow" else lapsed + timedelta(days=2)
            booked = lapsed - timedelta(days=3)
            appointment(referral_id, patient, target, visit, status, booked, lapsed, coordinator)
        appointment_id = None
        if life.planned_visit is not None and life.status in ("scheduled", "seen", "closed", "on_hold", "cancelled"):
            visit = life.seen_at or life.planned_visit
            booked = next(m.at for m in reversed(life.moves) if m.to_status == "scheduled")
            status = "fulfilled" if life.seen_at else ("cancelled" if life.status == "cancelled" else "booked")
            changed = {"fulfilled": visit + timedelta(minutes=40), "cancelled": life.moves[-1].at}.get(status)
            appointment_id = appointment(referral_id, patient, target, visit, status, booked, changed, coordinator)
        sent_at = next((m.at for m in life.moves if m.to_status == "sent"), None)
        closed_at = next((m.at for m in life.moves if m.to_status == "closed"), None)
        sla = _sla(priority, life.moves, calendar, settings) if sla_columns else {}
        times = _log_times(life.moves)
        referrals.append(
            (tenant_id, referral_id, patient, target, world.specialty_of[target], "Bench referral", priority,
             coordinator, appointment_id, "Consult report" if closed_at else None, life.status, life.held_from,
             sent_at, closed_at, world.owner_id, created, life.moves[-1].at, *(sla[c] for c in sla_columns),
             *(times[c] for c in log_columns))
        )  # fmt: skip
    for _ in range(max(0, APPOINTMENTS - len(appointments))):
        start = (now - timedelta(days=DAYS - rng.uniform(0, DAYS + 30))).replace(
            minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0
        )
        booked = min(start - timedelta(days=rng.uniform(1, 30)), now - timedelta(hours=1))
        if start < now:
            status = _weighted(rng, (("fulfilled", 0.8), ("noshow", 0.08), ("cancelled", 0.12)))
        else:
            status = "cancelled" if rng.random() < 0.05 else "booked"
        changed = {"fulfilled": start + timedelta(minutes=30), "noshow": start + timedelta(minutes=30),
                   "cancelled": booked + (start - booked) / 2}.get(status)  # fmt: skip
        practitioner = world.practitioners[rng.randrange(PRACTITIONERS)]
        appointment(None, world.patient(), practitioner, start, status, booked, changed, world.coordinator())
    # appointments first (referrals point at them), then the referrals, then their logs
    world.counts["appointments"] = await _copy(conn, "appointments", APPOINTMENT_COLUMNS, appointments)
    world.counts["appointment_status_history"] = await _copy(
        conn,
        "appointment_status_history",
        ["tenant_id", "id", "appointment_id", "from_status", "to_status", "changed_by", "changed_at"],
        history,
    )
    world.counts["referrals"] = await _copy(
        conn, "referrals", [*REFERRAL_COLUMNS, *sla_columns, *log_columns], referrals
    )
    world.counts["referral_transitions"] = await _copy(
        conn,
        "referral_transitions",
        ["tenant_id", "id", "referral_id", "from_status", "to_status", "reason", "actor_type", "actor_id",
         "occurred_at", *(["left_at"] if left_at else [])],
        transitions,
    )  # fmt: skip
    return referrals, appointments


async def _tasks(conn: Any, world: World, referral_ids: list[UUID]) -> None:
    """Tasks owned by coordinators, due within days: most closed in time, some late, some still overdue."""
    tenant_id, rng, new_id, now = world.tenant_id, world.rng, world.new_id, world.now
    tasks: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    for _ in range(TASKS):
        task_id = new_id()
        created = _created_at(rng, now)
        due = created + timedelta(days=rng.uniform(0.5, 10))
        owner = world.coordinator()
        closed: datetime | None = None
        roll = rng.random()
        if roll < 0.85:
            closed = created + (due - created) * rng.uniform(0.1, 1.6)
            status, closed = ("completed", closed) if closed < now else ("in-progress", None)
        elif roll < 0.9:
            status, closed = "cancelled", min(created + timedelta(days=rng.uniform(0.1, 5)), now)
        else:
            status = rng.choice(("requested", "in-progress"))
        focus = referral_ids[rng.randrange(len(referral_ids))] if rng.random() < 0.6 else None
        tasks.append(
            (tenant_id, task_id, "Follow up", status, rng.choice(("routine", "routine", "urgent")), due, owner,
             "referral" if focus else "patient", focus, world.patient(), owner, created, closed or created,
             closed if status == "completed" else None)
        )  # fmt: skip
        history.append((tenant_id, new_id(), task_id, None, "requested", owner, "user", created))
        if status != "requested":
            started = created + ((closed or now) - created) / 2
            history.append((tenant_id, new_id(), task_id, "requested", "in-progress", owner, "user", started))
        if closed is not None:
            history.append((tenant_id, new_id(), task_id, "in-progress", status, owner, "user", closed))
    world.counts["tasks"] = await _copy(
        conn,
        "tasks",
        ["tenant_id", "id", "title", "status", "priority", "due_at", "owner_user_id", "focus_type", "focus_id",
         "patient_id", "created_by", "created_at", "updated_at", "completed_at"],
        tasks,
    )  # fmt: skip
    world.counts["task_status_history"] = await _copy(
        conn,
        "task_status_history",
        ["tenant_id", "id", "task_id", "from_status", "to_status", "changed_by", "changed_by_type", "changed_at"],
        history,
    )


async def _insurance(
    conn: Any, world: World, referrals: list[tuple[Any, ...]], appointments: list[tuple[Any, ...]]
) -> None:
    """Payers, coverages, prior authorizations (a fifth of the sent referrals), claims (most fulfilled
    visits) and appeals (of denials), each with its transition log. Rows as written: referrals
    ``(tenant, id, patient, practitioner, specialty, reason, priority [6], coordinator [7], appointment [8],
    ..., sent_at [12], ...)``, appointments ``(tenant, id, patient, practitioner, location, start [5],
    end [6], zone, status [8], referral, created_by [10], created_at [11])``."""
    tenant_id, rng, new_id, now = world.tenant_id, world.rng, world.new_id, world.now
    counts = world.counts
    patients = world.patients
    payers = [new_id() for _ in range(5)]
    counts["insurance_payers"] = await _copy(
        conn,
        "insurance_payers",
        ["tenant_id", "id", "name", "payer_code", "adapter"],
        [(tenant_id, p, f"Health Plan {i}", f"BENCH{i:02d}", "demo") for i, p in enumerate(payers)],
    )
    coverage_of = {p: new_id() for p in patients}
    counts["coverages"] = await _copy(
        conn,
        "coverages",
        ["tenant_id", "id", "patient_id", "payer_id", "member_id", "coverage_order", "relationship", "effective_from"],
        [
            (tenant_id, c, p, payers[i % len(payers)], f"MB{i:09d}", "primary", "self", date(2020, 1, 1))
            for i, (p, c) in enumerate(coverage_of.items())
        ],
    )

    # prior authorizations: a fifth of the sent referrals, submitted soon after, decided in hours to days
    authorizations: list[tuple[Any, ...]] = []
    auth_moves: list[tuple[Any, ...]] = []
    for referral in referrals:
        sent_at = referral[12]
        if sent_at is None or rng.random() >= 0.2:
            continue
        auth_id, coordinator = new_id(), referral[7]
        urgency = "expedited" if referral[6] != "routine" else "standard"
        created = sent_at - timedelta(hours=rng.uniform(1, 24))
        submitted = created + _hours(rng, 4)
        due = submitted + (timedelta(hours=72) if urgency == "expedited" else timedelta(days=7))
        decided = submitted + _hours(rng, 30 if urgency == "expedited" else 90, 0.7)
        moves = [(None, "draft", created), ("draft", "submitted", submitted)] if submitted < now else []
        if not moves:
            status, decided_at, decision = "draft", None, None
            moves = [(None, "draft", created)]
        elif decided < now:
            if rng.random() < 0.25:
                moves.append(("submitted", "pended", submitted + (decided - submitted) / 2))
            moves.append((moves[-1][1], "decided", decided))
            status, decided_at = "decided", decided
            decision = _weighted(rng, (("certified", 0.85), ("not_certified", 0.08), ("partially_certified", 0.07)))
        else:
            status, decided_at, decision = "submitted", None, None
        authorizations.append(
            (tenant_id, auth_id, referral[2], coverage_of[referral[2]], referral[1], referral[8], urgency, status,
             decision, 1 if status != "draft" else 0, submitted if status != "draft" else None,
             due if status != "draft" else None, decided_at, coordinator, coordinator, created, moves[-1][2])
        )  # fmt: skip
        auth_moves.extend(
            (tenant_id, new_id(), auth_id, before, after, None, "user" if after != "decided" else "system",
             coordinator if after != "decided" else None, at)
            for before, after, at in moves
        )  # fmt: skip
    counts["prior_authorizations"] = await _copy(
        conn,
        "prior_authorizations",
        ["tenant_id", "id", "patient_id", "coverage_id", "referral_id", "appointment_id", "urgency", "status",
         "decision", "submission_round", "submitted_at", "decision_due_at", "decided_at", "coordinator_id",
         "created_by", "created_at", "updated_at"],
        authorizations,
    )  # fmt: skip
    counts["prior_authorization_transitions"] = await _copy(
        conn,
        "prior_authorization_transitions",
        ["tenant_id", "id", "authorization_id", "from_status", "to_status", "reason", "actor_type", "actor_id",
         "occurred_at"],
        auth_moves,
    )  # fmt: skip

    # claims for most fulfilled visits: accepted next day, paid or denied weeks later; appeals of denials
    claims: list[tuple[Any, ...]] = []
    claim_moves: list[tuple[Any, ...]] = []
    appeals: list[tuple[Any, ...]] = []
    appeal_moves: list[tuple[Any, ...]] = []
    for appointment in appointments:
        if appointment[8] != "fulfilled" or rng.random() >= 0.6:
            continue
        claim_id, author, patient = new_id(), appointment[10], appointment[2]
        submitted = appointment[6] + timedelta(days=rng.uniform(0.5, 5))
        if submitted >= now:
            continue
        billed = round(rng.uniform(80, 900), 2)
        accepted = submitted + _hours(rng, 20)
        adjudicated = accepted + timedelta(days=rng.uniform(5, 30))
        claim_steps: list[tuple[Any, ...]] = [(None, "submitted", submitted, None, None)]
        status, allowed, paid, adjudicated_at = "submitted", None, None, None
        if accepted < now:
            claim_steps.append(("submitted", "accepted", accepted, None, None))
            status = "accepted"
        if adjudicated < now:
            adjudicated_at = adjudicated
            if rng.random() < 0.12:
                status = "denied"
            else:
                status, allowed = "paid", round(billed * rng.uniform(0.5, 1), 2)
                paid = round(allowed * 0.8, 2)
            claim_steps.append(("accepted", status, adjudicated, allowed, paid))
        claims.append(
            (tenant_id, claim_id, patient, coverage_of[patient], appointment[1], f"CLM{len(claims):09d}",
             appointment[5].date(), appointment[5].date(), billed, allowed, paid, status,
             "Not medically necessary" if status == "denied" else None, submitted, adjudicated_at, author,
             submitted, claim_steps[-1][2])
        )  # fmt: skip
        claim_moves.extend(
            (tenant_id, new_id(), claim_id, before, after, billed, allowed_at, paid_at, "system", None, at)
            for before, after, at, allowed_at, paid_at in claim_steps
        )
        if status != "denied" or rng.random() >= 0.4:
            continue
        appeal_id = new_id()
        filed = adjudicated + timedelta(days=rng.uniform(1, 10))
        if filed >= now:
            continue
        submitted_appeal = filed + _hours(rng, 24)
        reviewed = submitted_appeal + timedelta(days=rng.uniform(1, 7))
        decided = reviewed + timedelta(days=rng.uniform(5, 30))
        steps: list[tuple[Any, ...]] = [(None, "draft", filed, None)]
        for before, after, at in (("draft", "submitted", submitted_appeal), ("submitted", "in_review", reviewed)):
            if at < now:
                steps.append((before, after, at, None))
        outcome = None
        if decided < now and steps[-1][1] == "in_review":
            outcome = _weighted(rng, (("overturned", 0.4), ("partially_overturned", 0.1), ("upheld", 0.5)))
            steps.append(("in_review", "decided", decided, outcome))
        appeal_status = steps[-1][1]
        appeals.append(
            (tenant_id, appeal_id, patient, claim_id, appeal_status, outcome, (filed + timedelta(days=60)).date(),
             submitted_appeal if appeal_status != "draft" else None, decided if outcome else None, author, filed,
             steps[-1][2])
        )  # fmt: skip
        appeal_moves.extend(
            (tenant_id, new_id(), appeal_id, before, after, outcome_at, "user", author, at)
            for before, after, at, outcome_at in steps
        )
    counts["claims"] = await _copy(
        conn,
        "claims",
        ["tenant_id", "id", "patient_id", "coverage_id", "appointment_id", "claim_number", "service_from",
         "service_to", "billed_amount", "allowed_amount", "paid_amount", "status", "denial_reason", "submitted_at",
         "adjudicated_at", "created_by", "created_at", "updated_at"],
        claims,
    )  # fmt: skip
    counts["claim_transitions"] = await _copy(
        conn,
        "claim_transitions",
        ["tenant_id", "id", "claim_id", "from_status", "to_status", "billed_amount", "allowed_amount", "paid_amount",
         "actor_type", "actor_id", "occurred_at"],
        claim_moves,
    )  # fmt: skip
    counts["appeals"] = await _copy(
        conn,
        "appeals",
        ["tenant_id", "id", "patient_id", "claim_id", "status", "outcome", "filing_deadline", "submitted_at",
         "decided_at", "created_by", "created_at", "updated_at"],
        appeals,
    )  # fmt: skip
    counts["appeal_transitions"] = await _copy(
        conn,
        "appeal_transitions",
        ["tenant_id", "id", "appeal_id", "from_status", "to_status", "outcome", "actor_type", "actor_id",
         "occurred_at"],
        appeal_moves,
    )  # fmt: skip


async def _reminders(conn: Any, world: World, appointments: list[tuple[Any, ...]]) -> None:
    """Reminder touches 72 h and 24 h before every visit (most reach the patient) and confirmations."""
    tenant_id, rng, new_id, now = world.tenant_id, world.rng, world.new_id, world.now
    counts = world.counts
    touches: list[tuple[Any, ...]] = []
    confirmations: list[tuple[Any, ...]] = []
    for appointment in appointments:
        appointment_id, patient, start = appointment[1], appointment[2], appointment[5]
        first_sent: datetime | None = None
        for key, offset in (("72h", 72 * 3600), ("24h", 24 * 3600)):
            due = start - timedelta(seconds=offset)
            if due < appointment[11]:
                continue  # booked after this touch was due
            if due >= now:
                touches.append(
                    (tenant_id, new_id(), "appointment", appointment_id, start, patient, key, offset, due, due,
                     "planned", None, None, None, appointment[11])
                )  # fmt: skip
                continue
            status = _weighted(rng, (("sent", 0.78), ("delivered", 0.14), ("failed", 0.05), ("skipped", 0.03)))
            claimed = due + timedelta(seconds=rng.uniform(1, 60)) if status != "skipped" else None
            sent = claimed + timedelta(seconds=rng.uniform(1, 5)) if claimed and status != "failed" else None
            if sent is not None and first_sent is None:
                first_sent = sent
            touches.append(
                (tenant_id, new_id(), "appointment", appointment_id, start, patient, key, offset, due, due, status,
                 "sms" if status != "skipped" else None, claimed, sent, appointment[11])
            )  # fmt: skip
        if first_sent is not None and appointment[8] != "cancelled" and rng.random() < 0.58:
            confirmed = min(first_sent + _hours(rng, 3), start, now)
            confirmations.append((tenant_id, appointment_id, start, patient, "sms", "C", confirmed))
    counts["reminder_touches"] = await _copy(
        conn,
        "reminder_touches",
        ["tenant_id", "id", "kind", "subject_id", "subject_at", "patient_id", "touch_key", "offset_seconds", "due_at",
         "send_at", "status", "channel", "claimed_at", "sent_at", "created_at"],
        touches,
    )  # fmt: skip
    counts["reminder_confirmations"] = await _copy(
        conn,
        "reminder_confirmations",
        ["tenant_id", "appointment_id", "subject_at", "patient_id", "channel", "text", "confirmed_at"],
        confirmations,
    )


# ----------------------------------------------------------------------------------------- measuring


def baseline_app() -> Any:
    """The floor: a bare litestar app whose one endpoint runs one raw asyncpg count over the tenant's log."""
    import asyncpg
    from litestar import Litestar, get

    pool: dict[str, Any] = {}

    async def open_pool() -> None:
        pool["pool"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=4)

    async def close_pool() -> None:
        await pool["pool"].close()

    @get("/count")
    async def count(tenant: UUID) -> dict[str, int]:
        async with pool["pool"].acquire() as conn:
            found = await conn.fetchval("select count(*) from referral_transitions where tenant_id = $1", tenant)
        return {"count": int(found)}

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([count, health], on_startup=[open_pool], on_shutdown=[close_pool])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(arguments: list[str], port: int) -> subprocess.Popen[bytes]:
    """A uvicorn process (one worker) on ``port``, ready when its /health answers."""
    import httpx

    env = {**os.environ, "LOG_LEVEL": "WARNING", "ACCESS_TOKEN_TTL_SECONDS": "7200"}
    process = subprocess.Popen(
        [sys.executable, "-m", *arguments], env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(arguments)} did not start")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Timing:
    name: str
    first: float
    samples: list[float]
    detail: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _timed(client: Any, name: str, url: str, **params: Any) -> tuple[Timing, Any]:
    """The first call, then ``CALLS`` more, one after the other; each must answer 200."""
    samples: list[float] = []
    body: Any = None
    for _ in range(CALLS + 1):
        started = time.perf_counter()
        response = client.get(url, params=params)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:500]}")
        body = response.json()
    return Timing(name, samples[0], samples[1:]), body


def _measure_http(data: Data, app_url: str, baseline_url: str) -> tuple[list[Timing], dict[str, Any]]:
    import httpx

    timings: list[Timing] = []
    facts: dict[str, Any] = {}
    with httpx.Client(base_url=baseline_url, timeout=120) as client:
        timing, body = _timed(client, "bare litestar + asyncpg count(*) of referral_transitions (baseline)",
                              "/count", tenant=str(data.tenant_id))  # fmt: skip
        timing.detail = f"{body['count']} rows"
        timings.append(timing)
    with httpx.Client(base_url=app_url, timeout=300) as client:
        login = client.post("/api/v1/auth/token", json={"tenant": data.slug, "email": data.email,
                                                        "password": data.password})  # fmt: skip
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        catalogue = client.get("/api/v1/metrics/")
        catalogue.raise_for_status()
        facts["metrics"] = [item["name"] for item in catalogue.json()["items"]]
        for period in ("week", "month"):
            timing, body = _timed(client, f"GET /metrics/dashboard?period={period}", "/api/v1/metrics/dashboard",
                                  period=period)  # fmt: skip
            timing.detail = f"{len(body['items'])} metrics x 8 {period}s"
            timings.append(timing)
            facts[f"dashboard_{period}"] = [
                {"name": i["name"], "current": i["current"], "previous": i["previous"], "status": i["status"]}
                for i in body["items"]
            ]
        today = datetime.now(UTC).astimezone(_zone()).date()
        days = {"from": (today - timedelta(days=89)).isoformat(), "to": today.isoformat()}
        timing, body = _timed(
            client,
            "GET /metrics/referrals_within_sla_pct?period=day&by=coordinator (90 d)",
            "/api/v1/metrics/referrals_within_sla_pct",
            period="day",
            by="coordinator",
            **days,
        )
        timing.detail = f"{len(body['series'])} series x {len(body['series'][0]['points'])} days, " + (
            f"total {body['total']['value']:.1f} % of {body['total']['count']}"
            if body["total"]["value"] is not None
            else "no facts"
        )
        timings.append(timing)
    return timings, facts


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIME_ZONE)


async def _per_metric(data: Data) -> tuple[list[tuple[str, str, float, int]], dict[str, Any]]:
    """Each metric alone through the engine (the dashboard's month window), slowest first; then
    EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL facts query over that window."""
    from core.db.engine import close_pool, start_pool
    from core.db.tenant import tenant_transaction
    from core.jobs.context import system_principal
    from core.metrics.periods import buckets, floor
    from core.plugins.manager import get_host
    from core.plugins.sdk import PluginContext
    from core.plugins.tenant_modules import tenant_modules
    from plugins.metrics.catalogue import available
    from plugins.metrics.engine import compute

    host = get_host()
    today = datetime.now(UTC).astimezone(_zone()).date()
    first = floor(today, "month")
    for _ in range(7):
        first = floor(first - timedelta(days=1), "month")
    window = buckets(first, today, "month", TIME_ZONE)
    start, end = window[0].start, window[-1].end
    results: list[tuple[str, str, float, int]] = []
    plan: dict[str, Any] = {}
    await start_pool(2)
    try:
        async with tenant_transaction(data.tenant_id) as tx:
            modules = await tenant_modules(host, tx, data.tenant_id)
            ctx = PluginContext(
                module="metrics",
                tx=tx,
                principal=system_principal(data.tenant_id),
                settings=modules.settings.get("metrics"),
                plugins=host,
            )
            for spec in await available(ctx):
                for _ in range(2):  # the second run, as warm as the dashboard's warm calls
                    began = time.perf_counter()
                    result = await compute(ctx, spec, first=first, last=today, period="month", time_zone=TIME_ZONE)
                    seconds = time.perf_counter() - began
                kind = "sql" if isinstance(spec.facts, str) else ("python facts" if spec.facts else "compute")
                results.append((spec.name, kind, seconds, result.total.count))
            results.sort(key=lambda r: -r[2])
            slowest = next((r for r in results if r[1] == "sql"), None)
            if slowest is not None:
                spec = next(s for s in await available(ctx) if s.name == slowest[0])
                rows = await tx.fetch(f"explain (analyze, buffers) {spec.facts}", start, end)
                plan = {"metric": spec.name, "window": [start.isoformat(), end.isoformat()],
                        "plan": [r[0] for r in rows]}  # fmt: skip
    finally:
        await close_pool()
    return results, plan


def main() -> None:
    from core.testing import services

    started = services.start()
    try:
        run()
    finally:
        from core.testing.services import drop_database

        if os.environ.get("BENCH_KEEP_DATABASE"):
            print(f"database kept for profiling: {started.database_url} (drop it when done)")
        else:
            asyncio.run(drop_database(started.admin_url, started.database))
        started.embedded.stop()


def run() -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    data = asyncio.run(generate(now))
    app_port, baseline_port = _free_port(), _free_port()
    app = _serve(["core.cli", "serve", "--port", str(app_port)], app_port)
    try:
        baseline = _serve(
            ["uvicorn", "bench.metrics_dashboard:baseline_app", "--factory", "--port", str(baseline_port),
             "--log-level", "warning", "--no-access-log"],
            baseline_port,
        )  # fmt: skip
        try:
            timings, facts = _measure_http(data, f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{baseline_port}")
        finally:
            _stop(baseline)
    finally:
        _stop(app)
    per_metric, plan = asyncio.run(_per_metric(data))
    _report(data, timings, facts, per_metric, plan)


def _report(
    data: Data,
    timings: list[Timing],
    facts: dict[str, Any],
    per_metric: list[tuple[str, str, float, int]],
    plan: dict[str, Any],
) -> None:
    counts = data.counts
    print(
        f"metrics dashboard: one tenant with {counts.get('referrals', 0):,} referrals "
        f"({counts.get('referral_transitions', 0):,} transitions), {counts.get('appointments', 0):,} appointments, "
        f"{counts.get('tasks', 0):,} tasks, {counts.get('patients', 0):,} patients, "
        f"{counts.get('reminder_touches', 0):,} reminder touches, {counts.get('claims', 0):,} claims "
        f"(written with COPY in {data.seconds:.0f} s); {len(facts.get('metrics', []))} metrics enabled; "
        f"one uvicorn process each, calls one after the other"
    )
    baseline = timings[0].p50
    print(f"{'':72} {'first':>8} {'p50':>8} {'p95':>8} {'p50 vs baseline':>16}")
    for t in timings:
        print(f"{t.name:72} {t.first * 1000:>6.0f}ms {t.p50 * 1000:>6.0f}ms {t.p95 * 1000:>6.0f}ms "
              f"{t.p50 / baseline:>15.1f}x")  # fmt: skip
        if t.detail:
            print(f"    {t.detail}")
    dashboards = [t for t in timings if "dashboard" in t.name]
    worst = max(max(t.p95, t.first) for t in dashboards)
    verdict = "met" if worst < TARGET_SECONDS else "MISSED"
    print(f"target: dashboard < {TARGET_SECONDS:.0f} s at {REFERRALS:,} referrals: {verdict} "
          f"(slowest dashboard call {worst * 1000:.0f} ms, first calls included)")  # fmt: skip
    print("each metric alone, the dashboard's month window (8 months), warm, slowest first:")
    for name, kind, seconds, count in per_metric:
        print(f"    {name:52} {kind:13} {seconds * 1000:>7.0f} ms {count:>9,} facts")
    print(f"    {'sum':52} {'':13} {sum(r[2] for r in per_metric) * 1000:>7.0f} ms")
    if plan:
        print(f"EXPLAIN (ANALYZE, BUFFERS) of the slowest SQL facts query ({plan['metric']}, month window):")
        for line in plan["plan"]:
            print(f"    {line}")
    report = {
        "benchmark": "metrics_dashboard",
        "seed": SEED,
        "counts": counts,
        "setup_seconds": round(data.seconds, 2),
        "target_seconds": TARGET_SECONDS,
        "target_met": worst < TARGET_SECONDS,
        "http": [
            {
                "name": t.name,
                "first_ms": round(t.first * 1000, 1),
                "p50_ms": round(t.p50 * 1000, 1),
                "p95_ms": round(t.p95 * 1000, 1),
                "p50_vs_baseline": round(t.p50 / baseline, 2),
                "detail": t.detail,
            }
            for t in timings
        ],
        "per_metric_ms": [{"name": n, "kind": k, "ms": round(s * 1000, 1), "facts": c} for n, k, s, c in per_metric],
        "slowest_sql_plan": plan,
        "dashboard": {k: v for k, v in facts.items() if k.startswith("dashboard_")},
    }
    with open(OUTPUT, "w") as out:
        json.dump(report, out, indent=2, default=str)
    print(f"written: {OUTPUT}")


if __name__ == "__main__":
    main()
