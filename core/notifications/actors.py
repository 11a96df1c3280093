"""The notification actors, declared for the worker (bound by ``core.jobs.catalog``).

``notifications.send`` (queue ``notifications``): decide at send time, claim, send, record;
see :mod:`core.notifications.delivery`. Up to 5 retries with backoff from 5 s to 10 min for
transient failures (SMTP or provider down); permanent ones fail the notification at once.

``notifications.release_deferred``: queues deferred notifications whose time has come (quiet
hours over, scheduled time reached). The scheduler should run it every minute for every tenant.
"""

from __future__ import annotations

from core.jobs.context import JobContext
from core.jobs.errors import PermanentError
from core.notifications.delivery import MAX_RETRIES, release_due, send_notification
from core.plugins.sdk import actor

SEND_NOTIFICATION = actor(
    name="send",
    queue="notifications",
    max_retries=MAX_RETRIES,
    min_backoff=5_000,
    max_backoff=600_000,
    time_limit=120_000,
    throws=(PermanentError,),
)(send_notification)


async def release_deferred(ctx: JobContext) -> None:
    """Queue every deferred notification of the tenant that is due now."""
    while await release_due(ctx) >= 500:
        pass


RELEASE_DEFERRED = actor(name="release_deferred", queue="notifications", max_retries=3, throws=(PermanentError,))(
    release_deferred
)
