"""A coordinator with the portal open through the faults: the patient list, reloaded again and again.

The reader logs in through the login form before the faults and keeps the session's cookie; it reloads
``/portal/patients`` every ``PAUSE_SECONDS`` (faster than the 503 page's own refresh, to time recovery
finely) and records each answer: its status or the transport error's name, whether a 503 carried
``Retry-After`` and was the HTML page, and whether the session was lost (a redirect to the login form).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

PAUSE_SECONDS = 0.25
PAGE = "/portal/patients"


@dataclass(frozen=True)
class PortalAnswer:
    started: float
    ended: float
    outcome: str
    """The HTTP status, or the transport error's name when no answer came."""
    retry_after: str | None = None
    html: bool = False
    logged_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.outcome == "200"


@dataclass
class PortalReader:
    base_url: str
    cookies: httpx.Cookies
    answers: list[PortalAnswer] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, cookies=self.cookies, timeout=10) as http:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    page = await http.get(PAGE)
                except httpx.TransportError as exc:
                    self.answers.append(PortalAnswer(started, time.monotonic(), type(exc).__name__))
                else:
                    self.answers.append(
                        PortalAnswer(
                            started,
                            time.monotonic(),
                            str(page.status_code),
                            retry_after=page.headers.get("retry-after"),
                            html=page.headers.get("content-type", "").startswith("text/html"),
                            logged_out="/portal/login" in page.headers.get("location", ""),
                        )
                    )
                await asyncio.sleep(PAUSE_SECONDS)

    def stop(self) -> None:
        self.stopping.set()

    def first_success_after(self, moment: float) -> float | None:
        ended = [a.ended for a in self.answers if a.started >= moment and a.succeeded]
        return min(ended) if ended else None
