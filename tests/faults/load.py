"""The load a fault test runs while it breaks things: care coordinators' clients at work.

Each writer repeats one *visit*: register a patient, record their consent to a channel, send them a
message (with an idempotency key), read the patient back. It behaves as a well-made client does in an
outage: a connection error or a 503 is tried again after a short pause, with the same request, until a
definite answer. A repeated registration that the server had committed before the connection broke
answers 409 (the MRN is unique in the organization), and the client finds the patient by MRN; a repeated
message answers with the first notification (its idempotency key). So every visit that finishes names
exactly the rows it made, and the test can look for each of them afterwards.

Every try is recorded with its start, end and outcome, so recovery times are read off the record.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.testing.fixtures import patient_body

RETRY_PAUSE_SECONDS = 0.2
VISIT_DEADLINE_SECONDS = 120.0
"""A visit that cannot finish in this long is a failure of the service to recover."""
RETRIED = {502, 503, 504}
"""Answers a client tries again (with the same request): the service said it could not serve it now."""


@dataclass(frozen=True)
class Attempt:
    step: str
    started: float
    ended: float
    outcome: str
    """The HTTP status, or the transport error's name when no answer came."""

    @property
    def succeeded(self) -> bool:
        return self.outcome.isdigit() and int(self.outcome) < 400


@dataclass
class Visit:
    writer: int
    number: int
    channel: str
    mrn: str
    phone: str
    email: str
    patient_id: str | None = None
    notification_id: str | None = None
    found_by_mrn: bool = False
    """The registration's first answer was lost but it had committed: the retry got 409."""
    done: bool = False


class UnexpectedAnswerError(Exception):
    pass


@dataclass
class Load:
    base_url: str
    headers: dict[str, str]
    writers: int
    channels: tuple[str, ...] = ("email", "sms")
    attempts: list[Attempt] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.writers, max_keepalive_connections=self.writers)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10, limits=limits) as http:
            await asyncio.gather(*(self._writer(http, n) for n in range(self.writers)))

    def stop(self) -> None:
        """Start no new visit; the ones under way finish."""
        self.stopping.set()

    async def _writer(self, http: httpx.AsyncClient, writer: int) -> None:
        number = 0
        while not self.stopping.is_set():
            tag = f"{writer:02d}{number:05d}"
            visit = Visit(
                writer=writer,
                number=number,
                channel=self.channels[number % len(self.channels)],
                mrn=f"FAULT-{tag}",
                phone=f"+1555{tag[-7:]}",
                email=f"visit-{tag}@example.net",
            )
            self.visits.append(visit)
            number += 1
            try:
                await asyncio.wait_for(self._visit(http, visit), VISIT_DEADLINE_SECONDS)
            except UnexpectedAnswerError as exc:
                self.unexpected.append(str(exc))
            except TimeoutError:
                self.unexpected.append(f"visit {visit.mrn} did not finish in {VISIT_DEADLINE_SECONDS:.0f} s")

    async def _visit(self, http: httpx.AsyncClient, visit: Visit) -> None:
        body = patient_body(mrn=visit.mrn, phone=visit.phone, email=visit.email, given_name=f"Visit{visit.number}")
        created = await self._call(http, "register", "POST", "/api/v1/patients", {201, 409}, json=body)
        if created.status_code == 409:
            found = await self._call(http, "find", "GET", "/api/v1/patients", {200}, params={"mrn": visit.mrn})
            items = found.json()["items"]
            if len(items) != 1:
                raise UnexpectedAnswerError(f"{visit.mrn}: 409 on registration but {len(items)} patients by MRN")
            visit.patient_id, visit.found_by_mrn = items[0]["id"], True
        else:
            visit.patient_id = created.json()["id"]
        consent = {"kind": "channel", "channel": visit.channel}
        await self._call(
            http, "consent", "POST", f"/api/v1/patients/{visit.patient_id}/consents", {201, 409}, json=consent
        )
        message = {
            "patient_id": visit.patient_id,
            "channel": visit.channel,
            "context": {"subject": "Your visit", "text": f"See you soon ({visit.mrn})."},
            "idempotency_key": f"fault-visit-{visit.mrn}",
        }
        sent = await self._call(http, "notify", "POST", "/api/v1/notifications", {200, 201, 202}, json=message)
        if visit.notification_id is None:
            visit.notification_id = sent.json()["id"]
        await self._call(http, "read", "GET", f"/api/v1/patients/{visit.patient_id}", {200})
        visit.done = True

    async def _call(
        self, http: httpx.AsyncClient, step: str, method: str, url: str, ok: set[int], **kw: Any
    ) -> httpx.Response:
        while True:
            started = time.monotonic()
            response: httpx.Response | None
            try:
                response = await http.request(method, url, headers=self.headers, **kw)
                outcome = str(response.status_code)
            except httpx.TransportError as exc:
                response, outcome = None, type(exc).__name__
            self.attempts.append(Attempt(step, started, time.monotonic(), outcome))
            if response is not None:
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRIED:
                    raise UnexpectedAnswerError(f"{step} {method} {url}: {response.status_code} {response.text[:300]}")
                if not response.headers.get("content-type", "").startswith("application/problem+json"):
                    raise UnexpectedAnswerError(f"{step}: {response.status_code} without a problem body")
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    # -- reading the record ----------------------------------------------------------------------

    def first_success_after(self, moment: float) -> float | None:
        """When the first try that started at or after ``moment`` succeeded."""
        ended = [a.ended for a in self.attempts if a.started >= moment and a.succeeded]
        return min(ended) if ended else None

    def outcomes_between(self, start: float, end: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for attempt in self.attempts:
            if start <= attempt.started < end:
                counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
        return counts
