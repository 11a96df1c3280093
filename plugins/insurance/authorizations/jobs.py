"""Background jobs of prior authorizations (registered in plugins.insurance.hooks).

- ``insurance.submit_authorization``: one submission round to the payer (queued by ``POST .../submit``);
- ``insurance.check_deadlines``: every five minutes, decision deadlines and expiry.
"""

from __future__ import annotations

from core.plugins.sdk import ActorSpec, PeriodicJob, actor
from plugins.insurance.authorizations.submission import MAX_RETRIES, submit_authorization
from plugins.insurance.authorizations.watch import check_deadlines

SUBMIT_AUTHORIZATION = actor(name="submit_authorization", queue="default", max_retries=MAX_RETRIES, min_backoff=2_000)(
    submit_authorization
)
CHECK_DEADLINES = actor(name="check_deadlines", queue="default", max_retries=3)(check_deadlines)

ACTORS: list[ActorSpec] = [SUBMIT_AUTHORIZATION, CHECK_DEADLINES]
PERIODIC_JOBS: list[PeriodicJob] = [PeriodicJob("check_deadlines", "*/5 * * * *", "insurance.check_deadlines")]
