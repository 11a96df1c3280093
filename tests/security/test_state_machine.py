"""A hypothesis state machine over patients, appointments and referrals of two organizations, against a real
``carecoord serve``: whatever the order of creations, reads, updates, searches, bookings and referral moves,
after every step

- each organization lists exactly its own patients, and the other's ids answer 404;
- the audit log holds exactly one event for each access to patient data the model made, and none for the
  refused ones;
- the relay publishes exactly the outbox rows that were committed: one message each, of the right
  organization, never twice.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from tests.conftest import PASSWORD, patient_body
from tests.core.test_schemathesis import serving

PHI_ACTIONS = ("patient.%", "appointment.%", "referral.%")
TENANTS = ("a", "b")


class Org:
    def __init__(self, http: httpx.Client) -> None:
        self.slug = f"sm-{secrets.token_hex(4)}"
        email = f"owner@{self.slug}.example"
        body = {
            "organization_name": "State machine",
            "slug": self.slug,
            "owner_email": email,
            "owner_password": PASSWORD,
        }
        created = http.post("/api/v1/signup", json=body)
        assert created.status_code == 201, created.text
        self.tenant_id = UUID(created.json()["tenant"]["id"])
        token = http.post("/api/v1/auth/token", json={"tenant": self.slug, "email": email, "password": PASSWORD})
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for module in ("referrals", "reminders"):
            enabled = http.put(f"/api/v1/admin/modules/{module}", headers=self.headers, json={"enabled": True})
            assert enabled.status_code == 200, enabled.text
        practitioner = http.post(
            "/api/v1/directory/practitioners",
            headers=self.headers,
            json={"given_name": "Ana", "family_name": "Cruz", "specialty": "cardiology"},
        )
        self.practitioner = practitioner.json()["id"]


class CareRecords(RuleBasedStateMachine):
    http: httpx.Client
    namespace: str
    broker: Any
    """A Dramatiq broker on a Redis namespace of the test's own: the relay publishes into it."""
    portal: Any
    """The in-process app's event loop, where the relay runs (on the app's connection pool)."""
    relayed = 0
    """Outbox rows the relay invariant saw across all runs: it must not have held vacuously."""

    patients = Bundle("patients")
    appointments = Bundle("appointments")
    referrals = Bundle("referrals")

    @initialize()
    def organizations(self) -> None:
        self.orgs = {name: Org(self.http) for name in TENANTS}
        self.owned: dict[str, set[str]] = {name: set() for name in TENANTS}
        self.phi_events = Counter[str]()
        self.baseline = {name: asyncio.run(_phi_events(org.tenant_id)) for name, org in self.orgs.items()}
        for tenant in TENANTS:  # a referral sent in each: its packet goes through the outbox in every run
            _, patient_id = self.create_patient(tenant, "Lovelace")
            _, referral_id = self.refer((tenant, patient_id))
            self.move_referral((tenant, referral_id), "sent", tenant)

    def _call(self, tenant: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.orgs[tenant].headers, **kwargs)

    @rule(target=patients, tenant=st.sampled_from(TENANTS), family=st.sampled_from(["Lovelace", "Åström", "O'Hara"]))
    def create_patient(self, tenant: str, family: str) -> tuple[str, str]:
        created = self._call(tenant, "POST", "/api/v1/patients", json=patient_body(family_name=family))
        assert created.status_code == 201, created.text
        self.owned[tenant].add(created.json()["id"])
        self.phi_events[tenant] += 1
        return tenant, created.json()["id"]

    @rule(patient=patients, reader=st.sampled_from(TENANTS))
    def read_patient(self, patient: tuple[str, str], reader: str) -> None:
        owner, patient_id = patient
        answer = self._call(reader, "GET", f"/api/v1/patients/{patient_id}")
        if reader == owner:
            assert answer.status_code == 200, answer.text
            self.phi_events[reader] += 1
        else:
            assert answer.status_code == 404, answer.text  # and no event: a refused request writes none

    @rule(patient=patients, editor=st.sampled_from(TENANTS), phone=st.sampled_from(["+1 555 010 0101", None]))
    def update_patient(self, patient: tuple[str, str], editor: str, phone: str | None) -> None:
        owner, patient_id = patient
        answer = self._call(editor, "PATCH", f"/api/v1/patients/{patient_id}", json={"phone": phone})
        assert answer.status_code == (200 if editor == owner else 404), answer.text
        if editor == owner:
            self.phi_events[editor] += 1

    @rule(target=appointments, patient=patients, booker=st.sampled_from(TENANTS), days=st.integers(1, 20))
    def book(self, patient: tuple[str, str], booker: str, days: int) -> Any:
        owner, patient_id = patient
        start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(
            days=days, minutes=secrets.randbelow(600)
        )
        end = start + timedelta(minutes=30)
        body = {"patient_id": patient_id, "start": start.isoformat(), "end": end.isoformat(), "time_zone": "UTC"}
        answer = self._call(booker, "POST", "/api/v1/appointments", json=body)
        if booker != owner:
            assert answer.status_code in (404, 422), answer.text  # another organization's patient is unknown here
            return multiple()
        assert answer.status_code == 201, answer.text
        self.phi_events[booker] += 1
        return owner, answer.json()["id"]

    @rule(appointment=consumes(appointments), status=st.sampled_from(["cancelled", "noshow"]))
    def end_appointment(self, appointment: tuple[str, str], status: str) -> None:
        owner, appointment_id = appointment
        answer = self._call(owner, "POST", f"/api/v1/appointments/{appointment_id}/transition", json={"status": status})
        assert answer.status_code in (200, 409), answer.text  # a no-show is only possible once it has started
        if answer.status_code == 200:
            self.phi_events[owner] += 1

    @rule(target=referrals, patient=patients)
    def refer(self, patient: tuple[str, str]) -> tuple[str, str]:
        owner, patient_id = patient
        body = {
            "patient_id": patient_id,
            "target_practitioner_id": self.orgs[owner].practitioner,
            "specialty": "cardiology",
            "reason": "chest pain",
            "diagnosis_codes": ["I20.9"],
            "priority": "urgent",
        }
        answer = self._call(owner, "POST", "/api/v1/referrals", json=body)
        assert answer.status_code == 201, answer.text
        self.phi_events[owner] += 1
        return owner, answer.json()["id"]

    @rule(
        referral=referrals,
        step=st.sampled_from(["sent", "received", "accepted", "cancelled"]),
        mover=st.sampled_from(TENANTS),
    )
    def move_referral(self, referral: tuple[str, str], step: str, mover: str) -> None:
        owner, referral_id = referral
        extra = {"reason": "duplicate"} if step == "cancelled" else {}
        answer = self._call(mover, "POST", f"/api/v1/referrals/{referral_id}/transitions", json={"to": step, **extra})
        if mover != owner:
            assert answer.status_code == 404, answer.text
        elif answer.status_code == 200:
            self.phi_events[owner] += 1
        else:
            assert answer.status_code == 409, answer.text  # a move the lifecycle does not allow from here

    @invariant()
    def each_lists_its_own_patients_only(self) -> None:
        if not hasattr(self, "orgs"):
            return
        for tenant in TENANTS:
            listed = self._call(tenant, "GET", "/api/v1/patients", params={"limit": 200})
            assert listed.status_code == 200
            assert {p["id"] for p in listed.json()["items"]} == self.owned[tenant]
            self.phi_events[tenant] += 1  # the listing is itself audited

    @invariant()
    def one_audit_event_per_access(self) -> None:
        if not hasattr(self, "orgs"):
            return
        for tenant, org in self.orgs.items():
            found = asyncio.run(_phi_events(org.tenant_id)) - self.baseline[tenant]
            assert found == self.phi_events[tenant], f"{tenant}: {found} events for {self.phi_events[tenant]} accesses"

    @invariant()
    def the_relay_publishes_what_was_committed(self) -> None:
        if not hasattr(self, "orgs"):
            return
        tenants = {t: o.tenant_id for t, o in self.orgs.items()}
        self.portal.call(_publish, list(tenants.values()), self.broker)
        committed = asyncio.run(_committed(tenants))
        messages = [
            msgspec.json.decode(raw)
            for key in self.broker.client.scan_iter(match=f"{self.namespace}:*.msgs")
            for raw in self.broker.client.hvals(key)
        ]
        ids = [m["message_id"] for m in messages]
        assert len(ids) == len(set(ids)), "a message was published twice"
        CareRecords.relayed = max(CareRecords.relayed, sum(len(rows) for rows in committed.values()))
        for tenant, org in self.orgs.items():
            mine = [m for m in messages if m["kwargs"]["tenant_id"] == str(org.tenant_id)]
            assert sorted(m["message_id"] for m in mine) == sorted(str(i) for i in committed[tenant])


async def _phi_events(tenant_id: UUID) -> int:
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        return int(
            await conn.fetchval(
                "select count(*) from audit_events where tenant_id = $1 and action like any($2::text[])",
                tenant_id,
                list(PHI_ACTIONS),
            )
        )
    finally:
        await conn.close()


async def _publish(tenant_ids: list[UUID], broker: Any) -> None:
    """The relay's work for these tenants, in the app's event loop (its connection pool lives there)."""
    from core.outbox.relay import publish_pending
    from workers.broker import publisher

    for tenant_id in tenant_ids:
        while await publish_pending(tenant_id, publisher(broker)):
            pass


async def _committed(tenants: dict[str, UUID]) -> dict[str, list[UUID]]:
    """Every outbox row each tenant committed (published now or before)."""
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        return {
            name: [r["id"] for r in await conn.fetch("select id from outbox where tenant_id = $1", tenant_id)]
            for name, tenant_id in tenants.items()
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def live() -> Any:
    with serving() as (base_url, _), httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def test_patients_appointments_and_referrals_keep_their_invariants(live: httpx.Client, client: Any) -> None:
    from core.settings import get_settings
    from workers.broker import build_broker

    CareRecords.http = live
    CareRecords.namespace = f"sm-{secrets.token_hex(4)}"
    CareRecords.broker = build_broker(msgspec.structs.replace(get_settings(), queue_namespace=CareRecords.namespace))
    CareRecords.portal = client.blocking_portal
    runner = CareRecords.TestCase
    runner.settings = settings(
        max_examples=8, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    try:
        runner().runTest()
        assert CareRecords.relayed > 0, "no run committed an outbox row: the relay invariant proved nothing"
    finally:
        from redis import Redis

        client = Redis.from_url(os.environ["REDIS_URL"])
        keys = list(client.scan_iter(match=f"{CareRecords.namespace}:*"))
        if keys:
            client.delete(*keys)
