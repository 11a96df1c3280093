"""The insurance module's KPIs: prior-authorization turnaround and deadlines, claim denials, appeal overturns.

Each metric is a facts query (see core.metrics.spec): one fact per event, dated by the event's row in
a transition log (never by ``updated_at``), run in the tenant's transaction with ``$1`` = window start
and ``$2`` = window end (exclusive). docs/insurance.md ("Metrics") defines each one.

The queries start from the window's events (an index on status and time) and look each record up by
its key (``lateral ... limit 1``), so their cost follows the events of the window, not the size of the
tables: PostgreSQL would otherwise scan a large table to hash-join a few thousand events. Claim denials
join plainly instead: with the ``users`` join, the lateral form scanned ``users`` once per event (480 ms
over eight months of 100,000 referrals' claims against 90 ms joined), and the first adjudication is an
anti-join, which PostgreSQL can hash, not a sorted subquery per event.

Dimensions:

* ``coordinator``: an authorization's ``coordinator_id`` (the coordinator responsible for it; the
  creator unless another was named); for claims and appeals, the user who recorded them
  (``created_by`` when that is a user, not an API key).
* ``provider``: the practitioner of the appointment the authorization or claim is for (an appeal:
  that of its claim or authorization); facts of records without an appointment have none.
"""

from __future__ import annotations

from core.plugins.sdk import MetricSpec

CATEGORY = "Insurance"

AUTHORIZATION_DECISIONS = """
select d.occurred_at as decided_at, a.submitted_at, a.decision_due_at, a.coordinator_id, ap.practitioner_id
from prior_authorization_transitions d
cross join lateral (
    select a.submitted_at, a.decision_due_at, a.coordinator_id, a.appointment_id from prior_authorizations a
    where a.id = d.authorization_id limit 1
) a
left join lateral (select ap.practitioner_id from appointments ap where ap.id = a.appointment_id limit 1) ap on true
where d.to_status = 'decided' and d.occurred_at >= $1 and d.occurred_at < $2
"""
"""Each payer decision in the window (the move to ``decided``; an authorization is decided once and
never submitted again after it) with the submission round it answers: the authorization's
``submitted_at`` and ``decision_due_at`` are written once per round, when it is submitted, so after a
decision they are that round's. A round the payer sent back (AAA rejection, back to ``draft``)
restarts the clock, as the payer's deadline does."""

PRIOR_AUTH_TURNAROUND_FACTS = f"""
select decided_at as at,
       (extract(epoch from decided_at - submitted_at) / 3600.0)::double precision as value,
       coordinator_id, practitioner_id as provider_id, null::timestamptz as until
from ({AUTHORIZATION_DECISIONS}) f
"""

PRIOR_AUTH_WITHIN_DEADLINE_FACTS = f"""
select decided_at as at,
       (case when decided_at < decision_due_at then 1 else 0 end)::double precision as value,
       coordinator_id, practitioner_id as provider_id, null::timestamptz as until
from ({AUTHORIZATION_DECISIONS}) f
"""

CLAIM_DENIAL_FACTS = """
select t.occurred_at as at, (case when t.to_status = 'denied' then 1 else 0 end)::double precision as value,
       u.id as coordinator_id, ap.practitioner_id as provider_id, null::timestamptz as until
from claim_transitions t
join claims c on c.id = t.claim_id
left join users u on u.id = c.created_by
left join appointments ap on ap.id = c.appointment_id
where t.to_status in ('paid', 'denied') and t.occurred_at >= $1 and t.occurred_at < $2
  and not exists (
    select 1 from claim_transitions e
    where e.claim_id = t.claim_id and e.to_status in ('paid', 'denied')
      and (e.occurred_at, e.id) < (t.occurred_at, t.id)
  )
"""
"""Each claim's first adjudication (``paid`` or ``denied``), as claims/summary.py counts it: a claim
paid after an overturned appeal still counts once, as the denial it first was."""

APPEAL_OVERTURN_FACTS = """
select t.occurred_at as at,
       (case when t.outcome in ('overturned', 'partially_overturned') then 1 else 0 end)::double precision as value,
       u.id as coordinator_id, ap.practitioner_id as provider_id, null::timestamptz as until
from appeal_transitions t
join appeals a on a.id = t.appeal_id
left join users u on u.id = a.created_by
left join claims c on c.id = a.claim_id
left join prior_authorizations pa on pa.id = a.authorization_id
left join appointments ap on ap.id = coalesce(c.appointment_id, pa.appointment_id)
where t.to_status = 'decided' and t.occurred_at >= $1 and t.occurred_at < $2
"""
"""Each appeal decision (an appeal is decided once; a further level is a new appeal, counted on its own)."""

METRICS: list[MetricSpec] = [
    MetricSpec(
        name="prior_auth_turnaround_hours",
        description="Median elapsed hours from submitting a prior authorization to the payer's decision",
        unit="h",
        facts=PRIOR_AUTH_TURNAROUND_FACTS,
        aggregate="median",
        dimensions=("coordinator", "team", "provider"),
        better="lower",
        category=CATEGORY,
    ),
    MetricSpec(
        name="prior_auth_within_deadline_pct",
        description="Prior authorizations decided before the payer's deadline (72 h expedited, 7 days standard)",
        unit="%",
        facts=PRIOR_AUTH_WITHIN_DEADLINE_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        target=95.0,
        better="higher",
        category=CATEGORY,
    ),
    MetricSpec(
        name="claim_denial_rate_pct",
        description="Claims first adjudicated in the period that the payer denied",
        unit="%",
        facts=CLAIM_DENIAL_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        better="lower",
        category=CATEGORY,
    ),
    MetricSpec(
        name="appeal_overturn_rate_pct",
        description="Appeals decided in the period that were overturned, fully or partly",
        unit="%",
        facts=APPEAL_OVERTURN_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        better="higher",
        category=CATEGORY,
    ),
]
