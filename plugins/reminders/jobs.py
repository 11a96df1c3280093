"""The module's jobs: ``reminders.sweep`` every five minutes, ``reminders.dispatch`` right after a booking.

The sweep repairs plans (booked appointments of the next four days without touches for their
current time: a missed hook, or the module enabled later; planned touches of appointments that
moved or ended) and then sends the touches that are due. ``reminders.dispatch`` is queued through
the outbox when planning yields a touch due now (the catch-up touch of a same-day booking), so the
patient does not wait for the next sweep. Both claim touches the same way, so they never overlap.
"""

from __future__ import annotations

from core.plugins.sdk import JobContext, PeriodicJob, actor, payload_uuid
from plugins.reminders.planning import repair
from plugins.reminders.sending import dispatch_due


async def sweep(ctx: JobContext) -> None:
    await repair(ctx)
    while await dispatch_due(ctx, limit=200) == 200:
        pass


async def dispatch(ctx: JobContext, subject_id: str | None = None) -> None:
    ident = payload_uuid(subject_id, actor="reminders.dispatch", field="subject_id") if subject_id else None
    await dispatch_due(ctx, subject_id=ident)


SWEEP = actor(name="sweep", queue="default", max_retries=3)(sweep)
DISPATCH = actor(name="dispatch", queue="default", max_retries=5)(dispatch)
ACTORS = [SWEEP, DISPATCH]
PERIODIC_JOBS = [PeriodicJob("sweep", "*/5 * * * *", "reminders.sweep")]
