"""Appointments over HTTP: booking, the status state machine, history, conflicts, day views, isolation."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.auth.principal import Principal
from core.care.appointments import service
from core.care.appointments.schemas import Appointment, AppointmentCreate
from core.db.tenant import SET_TENANT_SQL, Tx
from core.http.context import RequestContext
from core.testing.services import TestServices
from tests.conftest import Org, add_user, create_patient, sign_up

Client = AsyncTestClient[Any]
APPOINTMENTS = "/api/v1/appointments"

STATUSES = [
    "proposed",
    "pending",
    "booked",
    "arrived",
    "checked-in",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
]
LEGAL = {
    "proposed": {"pending", "booked", "cancelled", "entered-in-error"},
    "pending": {"booked", "cancelled", "entered-in-error"},
    "booked": {"arrived", "checked-in", "cancelled", "noshow", "entered-in-error"},
    "arrived": {"checked-in", "fulfilled", "entered-in-error"},
    "checked-in": {"fulfilled", "entered-in-error"},
    "fulfilled": {"entered-in-error"},
    "cancelled": set(),
    "noshow": set(),
    "entered-in-error": set(),
}
# How to reach each status from creation: (initial status, transitions after it).
PATHS: dict[str, tuple[str, list[str]]] = {
    "proposed": ("proposed", []),
    "pending": ("proposed", ["pending"]),
    "booked": ("booked", []),
    "arrived": ("booked", ["arrived"]),
    "checked-in": ("booked", ["checked-in"]),
    "fulfilled": ("booked", ["arrived", "fulfilled"]),
    "cancelled": ("booked", ["cancelled"]),
    "noshow": ("booked", ["noshow"]),
    "entered-in-error": ("proposed", ["entered-in-error"]),
}

# Every appointment of a shared organization gets its own hour, far in the future, so none overlap.
_slots = itertools.count()
BASE = datetime(2031, 1, 6, 0, tzinfo=UTC)


def next_slot() -> datetime:
    return BASE + timedelta(hours=next(_slots))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    assert "asyncpg" not in response.text
    return body


async def create(
    client: Client, org: Org, patient_id: str, start: datetime | None = None, minutes: int = 30, **extra: Any
) -> httpx.Response:
    start = start or next_slot()
    body = {
        "patient_id": patient_id,
        "start": iso(start),
        "end": iso(start + timedelta(minutes=minutes)),
        "time_zone": "America/Chicago",
        **extra,
    }
    return await client.post(APPOINTMENTS, headers=org.headers, json=body)


async def book(client: Client, org: Org, patient_id: str, **kwargs: Any) -> dict[str, Any]:
    response = await create(client, org, patient_id, **kwargs)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def transition(client: Client, org: Org, appointment_id: str, status: str, **extra: Any) -> httpx.Response:
    return await client.post(
        f"{APPOINTMENTS}/{appointment_id}/transition", headers=org.headers, json={"status": status, **extra}
    )


async def appointment_in(client: Client, org: Org, patient_id: str, status: str) -> dict[str, Any]:
    initial, steps = PATHS[status]
    appointment = await book(client, org, patient_id, status=initial)
    for step in steps:
        response = await transition(client, org, appointment["id"], step)
        assert response.status_code == 200, response.text
        appointment = response.json()
    assert appointment["status"] == status
    return appointment


async def add_practitioner(db: asyncpg.Connection, org: Org, family_name: str = "Osler") -> str:
    practitioner_id = await db.fetchval(
        "insert into practitioners (tenant_id, given_name, family_name, specialty) values ($1, 'William', $2, "
        "'cardiology') returning id",
        org.tenant_id,
        family_name,
    )
    return str(practitioner_id)


async def listed(client: Client, org: Org, **params: Any) -> list[str]:
    response = await client.get(APPOINTMENTS, headers=org.headers, params=params)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


@pytest.fixture(scope="module")
async def clinic(client: Client) -> Org:
    """One organization shared by the many state-machine cases (sign-up is the slow part)."""
    return await sign_up(client)


@pytest.fixture(scope="module")
async def clinic_patient(client: Client, clinic: Org) -> str:
    return str((await create_patient(client, clinic))["id"])


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every plugin event core raises during the test, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = RequestContext.emit

    async def spy(self: RequestContext, hook: str, **kwargs: Any) -> None:
        seen.append((hook, kwargs))
        await original(self, hook, **kwargs)

    monkeypatch.setattr(RequestContext, "emit", spy)
    return seen


# -- create and read ----------------------------------------------------------------------------------------


async def test_book_and_read_an_appointment(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    practitioner = await add_practitioner(owner_db, org)
    referral, activity = str(uuid4()), str(uuid4())
    response = await create(
        client,
        org,
        patient["id"],
        start=datetime(2031, 3, 2, 15, tzinfo=UTC),
        minutes=45,
        practitioner_id=practitioner,
        location="Cardiology clinic, room 4",
        reason="follow-up after discharge",
        referral_id=referral,
        care_plan_activity_id=activity,
        tenant_id=str(uuid4()),  # ignored
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "booked"
    assert created["patient_id"] == patient["id"]
    assert created["practitioner_id"] == practitioner
    assert created["location"] == "Cardiology clinic, room 4"
    assert created["reason"] == "follow-up after discharge"
    assert created["referral_id"] == referral
    assert created["care_plan_activity_id"] == activity
    assert created["time_zone"] == "America/Chicago"
    assert created["created_by"] == str(org.owner_id)
    assert created["cancel_reason"] is None
    assert datetime.fromisoformat(created["start"]) == datetime(2031, 3, 2, 15, tzinfo=UTC)
    assert datetime.fromisoformat(created["end"]) == datetime(2031, 3, 2, 15, 45, tzinfo=UTC)
    read = await client.get(f"{APPOINTMENTS}/{created['id']}", headers=org.headers)
    assert read.status_code == 200, read.text
    assert read.json() == created
    stored = await owner_db.fetchval("select tenant_id from appointments where id = $1", UUID(created["id"]))
    assert stored == org.tenant_id


async def test_create_proposed(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    created = await book(client, org, patient["id"], status="proposed")
    assert created["status"] == "proposed"


async def test_every_route_is_audited(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    created = await book(client, org, patient["id"])
    appointment_id = created["id"]
    await client.get(f"{APPOINTMENTS}/{appointment_id}", headers=org.headers)
    await client.get(APPOINTMENTS, headers=org.headers, params={"patient_id": patient["id"]})
    start = next_slot()
    moved = await client.post(
        f"{APPOINTMENTS}/{appointment_id}/reschedule",
        headers=org.headers,
        json={"start": iso(start), "end": iso(start + timedelta(minutes=20))},
    )
    assert moved.status_code == 200, moved.text
    assert (await transition(client, org, appointment_id, "arrived")).status_code == 200
    await client.get(f"{APPOINTMENTS}/{appointment_id}/history", headers=org.headers)
    rows = await owner_db.fetch(
        "select action, resource_id, actor_id, details from audit_events "
        "where tenant_id = $1 and action like 'appointment.%' order by seq",
        org.tenant_id,
    )
    assert [r["action"] for r in rows] == [
        "appointment.create",
        "appointment.read",
        "appointment.list",
        "appointment.reschedule",
        "appointment.transition",
        "appointment.history",
    ]
    assert all(r["actor_id"] == org.owner_id for r in rows)
    by_action = {r["action"]: r for r in rows}
    assert by_action["appointment.read"]["resource_id"] == UUID(appointment_id)
    assert appointment_id in by_action["appointment.list"]["details"]
    assert '"to_status": "arrived"' in by_action["appointment.transition"]["details"]


async def test_a_viewer_reads_but_cannot_write(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    created = await book(client, org, patient["id"])
    viewer = await add_user(client, org, "viewer")
    assert (await client.get(f"{APPOINTMENTS}/{created['id']}", headers=viewer)).status_code == 200
    start = next_slot()
    body = {"patient_id": patient["id"], "start": iso(start), "end": iso(start + timedelta(hours=1))}
    assert_problem(await client.post(APPOINTMENTS, headers=viewer, json={**body, "time_zone": "UTC"}), 403)
    assert_problem(
        await client.post(f"{APPOINTMENTS}/{created['id']}/transition", headers=viewer, json={"status": "cancelled"}),
        403,
    )
    assert_problem(
        await client.post(
            f"{APPOINTMENTS}/{created['id']}/reschedule",
            headers=viewer,
            json={"start": body["start"], "end": body["end"]},
        ),
        403,
    )
    assert_problem(await client.get(APPOINTMENTS), 401)


# -- the state machine over HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "requested"), [(a, b) for a in STATUSES for b in STATUSES])
async def test_transition_matrix(
    client: Client, clinic: Org, clinic_patient: str, current: str, requested: str
) -> None:
    appointment = await appointment_in(client, clinic, clinic_patient, current)
    response = await transition(client, clinic, appointment["id"], requested, reason="per patient call")
    if requested in LEGAL[current]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == requested
    else:
        body = assert_problem(response, 409)
        assert body["current_status"] == current
        assert body["requested_status"] == requested
        assert current in body["detail"]
        assert requested in body["detail"]
    after = await client.get(f"{APPOINTMENTS}/{appointment['id']}", headers=clinic.headers)
    assert after.json()["status"] == (requested if requested in LEGAL[current] else current)


async def test_history_records_who_when_and_why(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    before = datetime.now(UTC)
    created = await book(client, org, patient["id"], status="proposed")
    coordinator = await add_user(client, org, "coordinator")
    coordinator_id = (await client.get("/api/v1/users/me", headers=coordinator)).json()["id"]
    booked = await client.post(
        f"{APPOINTMENTS}/{created['id']}/transition", headers=coordinator, json={"status": "booked"}
    )
    assert booked.status_code == 200, booked.text
    cancelled = await transition(client, org, created["id"], "cancelled", reason="patient is travelling")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_reason"] == "patient is travelling"
    # A refused transition leaves no trace in the history.
    assert_problem(await transition(client, org, created["id"], "booked"), 409)
    after = datetime.now(UTC)

    response = await client.get(f"{APPOINTMENTS}/{created['id']}/history", headers=org.headers)
    assert response.status_code == 200, response.text
    history = response.json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "booked"),
        ("booked", "cancelled"),
    ]
    assert [h["changed_by"] for h in history] == [str(org.owner_id), coordinator_id, str(org.owner_id)]
    assert [h["reason"] for h in history] == [None, None, "patient is travelling"]
    times = [datetime.fromisoformat(h["changed_at"]) for h in history]
    assert times == sorted(times)
    assert all(before - timedelta(seconds=5) <= t <= after + timedelta(seconds=5) for t in times)
    assert all(h["appointment_id"] == created["id"] for h in history)


async def test_transitions_raise_plugin_events(
    client: Client, org: Org, events: list[tuple[str, dict[str, Any]]]
) -> None:
    patient = await create_patient(client, org)
    created = await book(client, org, patient["id"], status="proposed")
    assert [name for name, _ in events if name.startswith("appointment")] == []
    assert (await transition(client, org, created["id"], "booked")).status_code == 200
    assert (await transition(client, org, created["id"], "cancelled")).status_code == 200
    raised = [(name, kw) for name, kw in events if name.startswith("appointment")]
    assert [name for name, _ in raised] == [
        "appointment_status_changed",
        "appointment_booked",
        "appointment_status_changed",
        "appointment_cancelled",
    ]
    assert raised[0][1]["previous_status"] == "proposed"
    assert raised[0][1]["appointment"].status == "booked"
    assert raised[1][1]["appointment"].id == UUID(created["id"])
    assert raised[2][1]["previous_status"] == "booked"
    assert raised[3][1]["appointment"].status == "cancelled"
    events.clear()
    await book(client, org, patient["id"])  # created booked: entering booked
    assert [name for name, _ in events if name.startswith("appointment")] == ["appointment_booked"]
    events.clear()
    assert_problem(await transition(client, org, created["id"], "booked"), 409)
    assert [name for name, _ in events if name.startswith("appointment")] == []


# -- conflicts ----------------------------------------------------------------------------------------------


async def test_conflicts_for_the_same_practitioner_or_patient(
    client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    practitioner = await add_practitioner(owner_db, org)
    other_practitioner = await add_practitioner(owner_db, org, "Nightingale")
    ada, grace = (await create_patient(client, org))["id"], (await create_patient(client, org))["id"]
    nine = datetime(2031, 5, 6, 14, tzinfo=UTC)
    first = await book(client, org, ada, start=nine, minutes=60, practitioner_id=practitioner)

    # Same practitioner, another patient, overlapping by a minute at either end.
    for start in (nine - timedelta(minutes=29), nine + timedelta(minutes=59)):
        response = await create(client, org, grace, start=start, practitioner_id=practitioner)
        body = assert_problem(response, 409)
        assert body["conflicting_appointment_id"] == first["id"]
        assert first["id"] in body["detail"]
        assert "practitioner" in body["detail"]
    # Same patient, another practitioner.
    body = assert_problem(await create(client, org, ada, start=nine, practitioner_id=other_practitioner), 409)
    assert body["conflicting_appointment_id"] == first["id"]
    assert "patient" in body["detail"]
    # Touching end to start is no overlap; neither is another patient with another practitioner.
    await book(client, org, grace, start=nine + timedelta(minutes=60), practitioner_id=practitioner)
    await book(client, org, grace, start=nine - timedelta(minutes=30), practitioner_id=practitioner)
    third = (await create_patient(client, org))["id"]
    await book(client, org, third, start=nine, practitioner_id=other_practitioner)
    # A proposal does not hold the slot, but booking it does check.
    proposal = await book(client, org, grace, start=nine, practitioner_id=practitioner, status="proposed")
    body = assert_problem(await transition(client, org, proposal["id"], "booked"), 409)
    assert body["conflicting_appointment_id"] == first["id"]
    # Once the first one is cancelled the slot is free again.
    assert (await transition(client, org, first["id"], "cancelled")).status_code == 200
    assert (await transition(client, org, proposal["id"], "booked")).status_code == 200


async def test_concurrent_bookings_of_one_slot_are_serialized(
    client: Client, org: Org, test_services: TestServices
) -> None:
    """A second booking waits for the first transaction, then sees it: never two in one slot.

    Without the per-patient/practitioner lock the second transaction could not see the
    first's uncommitted row and would book the same slot. (Own connections: the app's pool
    lives on the test client's event loop.)
    """
    patient = UUID((await create_patient(client, org))["id"])
    start = next_slot()
    body = AppointmentCreate(patient_id=patient, start=start, end=start + timedelta(minutes=30), time_zone="UTC")
    principal = Principal(
        tenant_id=org.tenant_id, actor_id=org.owner_id, kind="user", role="owner", permissions=frozenset()
    )
    first_booked, release_first = asyncio.Event(), asyncio.Event()

    async def book_in_own_transaction(name: str, hold: bool) -> Appointment:
        conn = await asyncpg.connect(test_services.database_url)
        try:
            async with conn.transaction():
                await conn.execute(SET_TENANT_SQL, str(org.tenant_id))
                ctx = RequestContext(Tx(conn, org.tenant_id), principal, None, name)
                made = await service.create_appointment(ctx, body)
                if hold:
                    first_booked.set()
                    await release_first.wait()
                return made
        finally:
            await conn.close()

    async def second() -> Appointment:
        await first_booked.wait()
        return await book_in_own_transaction("race-2", hold=False)

    one = asyncio.create_task(book_in_own_transaction("race-1", hold=True))
    two = asyncio.create_task(second())
    try:
        await asyncio.wait_for(first_booked.wait(), 10)
        await asyncio.sleep(0.5)
        assert not two.done(), "the second booking did not wait for the first"
    finally:
        release_first.set()
    made = await asyncio.wait_for(one, 10)
    with pytest.raises(service.ConflictError) as raised:
        await asyncio.wait_for(two, 10)
    assert raised.value.conflicting_id == made.id
    assert await listed(client, org, patient_id=str(patient)) == [str(made.id)]


@pytest.mark.parametrize("blocking", ["arrived", "checked-in"])
async def test_arrived_and_checked_in_also_hold_the_slot(
    client: Client, clinic: Org, clinic_patient: str, blocking: str
) -> None:
    held = await appointment_in(client, clinic, clinic_patient, blocking)
    start = datetime.fromisoformat(held["start"])
    body = assert_problem(await create(client, clinic, clinic_patient, start=start + timedelta(minutes=10)), 409)
    assert body["conflicting_appointment_id"] == held["id"]


@pytest.mark.parametrize("released", ["fulfilled", "noshow", "entered-in-error", "cancelled"])
async def test_finished_appointments_free_the_slot(
    client: Client, clinic: Org, clinic_patient: str, released: str
) -> None:
    done = await appointment_in(client, clinic, clinic_patient, released)
    await book(client, clinic, clinic_patient, start=datetime.fromisoformat(done["start"]))


async def test_other_tenants_do_not_conflict(client: Client, org: Org, other_org: Org) -> None:
    start = next_slot()
    await book(client, org, (await create_patient(client, org))["id"], start=start)
    await book(client, other_org, (await create_patient(client, other_org))["id"], start=start)


# -- reschedule ---------------------------------------------------------------------------------------------


async def test_reschedule(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    practitioner = await add_practitioner(owner_db, org)
    patient = (await create_patient(client, org))["id"]
    other = (await create_patient(client, org))["id"]
    start = datetime(2031, 7, 1, 15, tzinfo=UTC)
    moving = await book(client, org, patient, start=start, practitioner_id=practitioner)
    blocker = await book(client, org, other, start=start + timedelta(hours=2), practitioner_id=practitioner)

    # Overlapping its own old time is fine (it excludes itself).
    response = await client.post(
        f"{APPOINTMENTS}/{moving['id']}/reschedule",
        headers=org.headers,
        json={
            "start": "2031-07-01T10:15:00-05:00",
            "end": "2031-07-01T10:45:00-05:00",
            "time_zone": "America/New_York",
        },
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert datetime.fromisoformat(moved["start"]) == start + timedelta(minutes=15)
    assert datetime.fromisoformat(moved["end"]) == start + timedelta(minutes=45)
    assert moved["time_zone"] == "America/New_York"
    assert moved["status"] == "booked"

    # Onto the blocker: 409 naming it, and nothing changes.
    response = await client.post(
        f"{APPOINTMENTS}/{moving['id']}/reschedule",
        headers=org.headers,
        json={"start": iso(start + timedelta(hours=2, minutes=15)), "end": iso(start + timedelta(hours=3))},
    )
    assert assert_problem(response, 409)["conflicting_appointment_id"] == blocker["id"]
    again = (await client.get(f"{APPOINTMENTS}/{moving['id']}", headers=org.headers)).json()
    assert again == moved


@pytest.mark.parametrize("status", STATUSES)
async def test_reschedule_only_while_not_under_way(
    client: Client, clinic: Org, clinic_patient: str, status: str
) -> None:
    appointment = await appointment_in(client, clinic, clinic_patient, status)
    start = next_slot()
    response = await client.post(
        f"{APPOINTMENTS}/{appointment['id']}/reschedule",
        headers=clinic.headers,
        json={"start": iso(start), "end": iso(start + timedelta(minutes=30))},
    )
    if status in {"proposed", "pending", "booked"}:
        assert response.status_code == 200, response.text
        assert datetime.fromisoformat(response.json()["start"]) == start
        assert response.json()["status"] == status
    else:
        body = assert_problem(response, 409)
        assert body["current_status"] == status


# -- lists --------------------------------------------------------------------------------------------------


async def test_list_per_patient_practitioner_and_status(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    practitioner = await add_practitioner(owner_db, org)
    ada, grace = (await create_patient(client, org))["id"], (await create_patient(client, org))["id"]
    a1 = await book(client, org, ada, practitioner_id=practitioner)
    a2 = await book(client, org, ada, status="proposed")
    g1 = await book(client, org, grace, practitioner_id=practitioner)
    g2 = await book(client, org, grace)
    assert await listed(client, org, patient_id=ada) == [a1["id"], a2["id"]]
    assert await listed(client, org, patient_id=grace) == [g1["id"], g2["id"]]
    assert await listed(client, org, practitioner_id=practitioner) == [a1["id"], g1["id"]]
    assert await listed(client, org, practitioner_id=practitioner, patient_id=grace) == [g1["id"]]
    assert await listed(client, org, patient_id=ada, status="proposed") == [a2["id"]]
    assert await listed(client, org, status="proposed") == [a2["id"]]
    assert await listed(client, org) == [a1["id"], a2["id"], g1["id"], g2["id"]]
    assert await listed(client, org, patient_id=str(uuid4())) == []


async def test_list_pages_with_a_cursor(client: Client, org: Org) -> None:
    patient = (await create_patient(client, org))["id"]
    ids = [(await book(client, org, patient))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"patient_id": patient, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(APPOINTMENTS, headers=org.headers, params=params)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_day_view_uses_the_given_time_zone(client: Client, org: Org) -> None:
    patient = (await create_patient(client, org))["id"]
    # 23:30 in Chicago on 25 Nov 2032 is 05:30 UTC on the 26th.
    late = await book(client, org, patient, start=datetime.fromisoformat("2032-11-25T23:30:00-06:00"))
    early = await book(client, org, patient, start=datetime.fromisoformat("2032-11-25T00:00:00-06:00"))
    before = await book(client, org, patient, start=datetime.fromisoformat("2032-11-24T23:30:00-06:00"))
    after = await book(client, org, patient, start=datetime.fromisoformat("2032-11-26T00:00:00-06:00"))
    chicago = {"day": "2032-11-25", "time_zone": "America/Chicago"}
    assert await listed(client, org, **chicago) == [early["id"], late["id"]]
    assert await listed(client, org, day="2032-11-26", time_zone="America/Chicago") == [after["id"]]
    # The same instants by the UTC calendar.
    assert await listed(client, org, day="2032-11-25", time_zone="UTC") == [before["id"], early["id"]]
    assert await listed(client, org, day="2032-11-26", time_zone="UTC") == [late["id"], after["id"]]
    # Without time_zone the organization's zone (UTC at sign-up) applies.
    assert await listed(client, org, day="2032-11-26") == [late["id"], after["id"]]
    assert await listed(client, org, patient_id=patient, status="booked", **chicago) == [early["id"], late["id"]]


async def test_day_view_across_daylight_saving(client: Client, org: Org) -> None:
    patient = (await create_patient(client, org))["id"]
    # 1 Nov 2026 in Chicago lasts 25 hours: 23:30 CST is 05:30 UTC on the 2nd.
    late = await book(client, org, patient, start=datetime.fromisoformat("2026-11-01T23:30:00-06:00"))
    first = await book(client, org, patient, start=datetime.fromisoformat("2026-11-01T00:10:00-05:00"))
    assert await listed(client, org, day="2026-11-01", time_zone="America/Chicago") == [first["id"], late["id"]]


async def test_a_deleted_patients_appointments_disappear(client: Client, org: Org) -> None:
    patient = (await create_patient(client, org))["id"]
    created = await book(client, org, patient)
    assert (await client.delete(f"/api/v1/patients/{patient}", headers=org.headers)).status_code == 204
    assert_problem(await client.get(f"{APPOINTMENTS}/{created['id']}", headers=org.headers), 404)
    assert await listed(client, org, patient_id=patient) == []
    assert_problem(await create(client, org, patient), 422)


# -- isolation ----------------------------------------------------------------------------------------------


def id_routes(appointment_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    start = datetime(2033, 1, 3, 15, tzinfo=UTC)
    return [
        ("GET", f"{APPOINTMENTS}/{appointment_id}", None),
        ("GET", f"{APPOINTMENTS}/{appointment_id}/history", None),
        (
            "POST",
            f"{APPOINTMENTS}/{appointment_id}/reschedule",
            {"start": iso(start), "end": iso(start + timedelta(minutes=30))},
        ),
        ("POST", f"{APPOINTMENTS}/{appointment_id}/transition", {"status": "cancelled"}),
        ("POST", f"{APPOINTMENTS}/{appointment_id}/transition", {"status": "arrived"}),
    ]


async def test_another_tenants_appointment_is_404_like_a_random_id(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection
) -> None:
    patient = (await create_patient(client, org))["id"]
    practitioner = await add_practitioner(owner_db, org)
    theirs = await book(client, org, patient, practitioner_id=practitioner)
    for (method, path, body), (_, random_path, _) in zip(id_routes(theirs["id"]), id_routes(str(uuid4())), strict=True):
        foreign = await client.request(method, path, headers=other_org.headers, json=body)
        random = await client.request(method, random_path, headers=other_org.headers, json=body)
        foreign_body, random_body = assert_problem(foreign, 404), assert_problem(random, 404)
        assert foreign_body == random_body, (method, path)
    # Lists never show it, whatever the filters.
    assert await listed(client, other_org, patient_id=patient) == []
    assert await listed(client, other_org, practitioner_id=practitioner) == []
    assert theirs["id"] not in await listed(client, other_org)
    # Nor can it be referenced from the other tenant's bookings.
    other_patient = (await create_patient(client, other_org))["id"]
    for response in (
        await create(client, other_org, patient),
        await create(client, other_org, str(uuid4())),
    ):
        body = assert_problem(response, 422)
        assert body["errors"][0]["key"] == "patient_id"
    for response in (
        await create(client, other_org, other_patient, practitioner_id=practitioner),
        await create(client, other_org, other_patient, practitioner_id=str(uuid4())),
    ):
        body = assert_problem(response, 422)
        assert body["errors"][0]["key"] == "practitioner_id"
    # And it is untouched.
    after = (await client.get(f"{APPOINTMENTS}/{theirs['id']}", headers=org.headers)).json()
    assert after == theirs
    history = (await client.get(f"{APPOINTMENTS}/{theirs['id']}/history", headers=org.headers)).json()
    assert len(history) == 1


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2031-01-01T09:00:00Z", "start": "2031-01-01T10:00:00Z"}, "end"),
        ({"end": "2031-01-01T10:00:00Z", "start": "2031-01-01T10:00:00Z"}, "end"),
        ({"start": "2031-01-01T10:00:00", "end": "2031-01-01T11:00:00Z"}, "start"),
        ({"start": "2031-01-01T10:00:00Z", "end": "2031-01-01T11:00:00"}, "end"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "x" * 65}, "time_zone"),
        ({"status": "arrived"}, "status"),
        ({"start": "tomorrow"}, "start"),
        ({"patient_id": "not-a-uuid"}, "patient_id"),
        ({"practitioner_id": 7}, "practitioner_id"),
        ({"location": "x" * 201}, "location"),
        ({"reason": ""}, "reason"),
        ({"referral_id": "nope"}, "referral_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_create_bodies_are_4xx_problems(
    client: Client, clinic: Org, clinic_patient: str, change: dict[str, Any], field: str
) -> None:
    body = {
        "patient_id": clinic_patient,
        "start": "2031-01-01T10:00:00Z",
        "end": "2031-01-01T11:00:00Z",
        "time_zone": "UTC",
        **change,
    }
    problem = assert_problem(await client.post(APPOINTMENTS, headers=clinic.headers, json=body), 400)
    assert any(field in e["key"] or field in e["message"] for e in problem["errors"]), problem


async def test_missing_fields_and_malformed_json(client: Client, clinic: Org, clinic_patient: str) -> None:
    for missing in ("patient_id", "start", "end", "time_zone"):
        body = {
            "patient_id": clinic_patient,
            "start": "2031-01-01T10:00:00Z",
            "end": "2031-01-01T11:00:00Z",
            "time_zone": "UTC",
        }
        del body[missing]
        problem = assert_problem(await client.post(APPOINTMENTS, headers=clinic.headers, json=body), 400)
        assert any(missing in e["key"] or missing in e["message"] for e in problem["errors"]), problem
    response = await client.post(
        APPOINTMENTS, headers={**clinic.headers, "content-type": "application/json"}, content=b"{not json"
    )
    assert_problem(response, 400)


async def test_bad_reschedule_and_transition_bodies(client: Client, clinic: Org, clinic_patient: str) -> None:
    appointment = await book(client, clinic, clinic_patient)
    path = f"{APPOINTMENTS}/{appointment['id']}"
    for body in (
        {"start": "2031-01-01T10:00:00Z", "end": "2031-01-01T09:00:00Z"},
        {"start": "2031-01-01T10:00:00", "end": "2031-01-01T11:00:00"},
        {"start": "2031-01-01T10:00:00Z", "end": "2031-01-01T11:00:00Z", "time_zone": "Nowhere/Land"},
        {"start": "2031-01-01T10:00:00Z"},
        {"start": "2031-01-01T10:00:00Z", "end": "2031-01-01T11:00:00Z", "status": "booked"},
    ):
        assert_problem(await client.post(f"{path}/reschedule", headers=clinic.headers, json=body), 400)
    for body in ({"status": "confirmed"}, {}, {"status": "cancelled", "reason": "x" * 501}, {"status": 3}):
        assert_problem(await client.post(f"{path}/transition", headers=clinic.headers, json=body), 400)
    assert (await client.get(path, headers=clinic.headers)).json() == appointment


@pytest.mark.parametrize(
    "params",
    [
        {"time_zone": "Mars/Olympus", "day": "2031-01-01"},
        {"day": "2031-02-30"},
        {"day": "yesterday"},
        {"status": "confirmed"},
        {"patient_id": "nope"},
        {"limit": 0},
        {"limit": 501},
        {"cursor": "garbage"},
    ],
)
async def test_bad_list_parameters_are_400(client: Client, clinic: Org, params: dict[str, Any]) -> None:
    assert_problem(await client.get(APPOINTMENTS, headers=clinic.headers, params=params), 400)


async def test_unknown_ids_are_404(client: Client, clinic: Org) -> None:
    assert_problem(await client.get(f"{APPOINTMENTS}/{uuid4()}", headers=clinic.headers), 404)
    assert_problem(await client.get(f"{APPOINTMENTS}/not-a-uuid", headers=clinic.headers), 404)
