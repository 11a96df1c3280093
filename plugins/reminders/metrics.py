"""The reminders module's KPIs: how many reminders reach the patient, how many appointments get confirmed.

Facts queries (see core.metrics.spec) run in the tenant's transaction with ``$1`` = window start and
``$2`` = window end (exclusive); docs/reminders.md ("Metrics") defines each metric.

Dimensions: ``coordinator`` is the patient's primary coordinator on the care team (a user; none when
the patient has none, or when it is a practitioner), ``provider`` the appointment's practitioner
(appointment touches only). Touches of soft-deleted patients are left out.
"""

from __future__ import annotations

from core.plugins.sdk import MetricSpec

CATEGORY = "Reminders"

PRIMARY_COORDINATOR = "left join care_team_members m on m.patient_id = t.patient_id and m.is_primary_coordinator"
"""At most one per patient (unique index ``care_team_members_one_primary``): a plain join, which PostgreSQL
may hash when the window holds many touches, where a lateral subquery forced one lookup per touch."""
LIVE_PATIENT = "not exists (select 1 from patients p where p.id = t.patient_id and p.deleted_at is not null)"
"""Deleted patients are few: an anti-join on them (index ``patients_deleted``) beats joining every patient."""

IN_FLIGHT_HOURS = 24
"""A touch still being sent (a notification queued, deferred or awaiting its provider's answer) has no
outcome yet and is left out; one still in flight this long after it went out counts as not delivered."""

REMINDER_DELIVERY_FACTS = f"""
select t.claimed_at as at,
       (case when t.status in ('sent', 'delivered') then 1 else 0 end)::double precision as value,
       m.user_id as coordinator_id, ap.practitioner_id as provider_id, null::timestamptz as until
from reminder_touches t
{PRIMARY_COORDINATOR}
left join appointments ap on t.kind = 'appointment' and ap.id = t.subject_id
where t.claimed_at >= $1 and t.claimed_at < $2 and {LIVE_PATIENT}
  and (t.status in ('sent', 'delivered', 'failed')
       or (t.status = 'sending' and t.claimed_at < now() - make_interval(hours => {IN_FLIGHT_HOURS})))
"""
"""Every touch that went out (claimed by the send sweep: ``claimed_at``), dated by that moment: its
first channel was tried then. Success is the touch's status: ``sent`` or ``delivered`` on some channel
(after any fallback or manual resend). Touches skipped (superseded, too close to the start) or
cancelled at send time sent nothing and are not counted."""

APPOINTMENT_CONFIRMATION_FACTS = f"""
select t.sent_at as at,
       (case when exists (
           select 1 from reminder_confirmations c where c.appointment_id = t.subject_id and c.subject_at = t.subject_at
       ) then 1 else 0 end)::double precision as value,
       m.user_id as coordinator_id, ap.practitioner_id as provider_id, null::timestamptz as until
from reminder_touches t
cross join lateral (
    select ap.practitioner_id from appointments ap
    where ap.id = t.subject_id and ap.start_at = t.subject_at and ap.status not in ('cancelled', 'entered-in-error')
    limit 1
) ap
{PRIMARY_COORDINATOR}
where t.kind = 'appointment' and t.status in ('sent', 'delivered') and t.sent_at >= $1 and t.sent_at < $2
  and {LIVE_PATIENT}
  and not exists (
    select 1 from reminder_touches e
    where e.kind = 'appointment' and e.subject_id = t.subject_id and e.subject_at = t.subject_at
      and e.status in ('sent', 'delivered') and (e.sent_at, e.id) < (t.sent_at, t.id)
  )
"""
"""One fact per appointment at its current start time, dated by its first reminder that reached the
patient; 1 when the patient confirmed that start time (a ``reminder_confirmations`` row, written when
a reply is read as a confirmation). Cancelled appointments and those entered in error are left out."""

METRICS: list[MetricSpec] = [
    MetricSpec(
        name="reminder_delivery_rate_pct",
        description="Reminders that went out in the period and reached the patient on some channel",
        unit="%",
        facts=REMINDER_DELIVERY_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        target=95.0,
        better="higher",
        category=CATEGORY,
    ),
    MetricSpec(
        name="appointment_confirmation_rate_pct",
        description="Appointments first reminded in the period that the patient confirmed by replying",
        unit="%",
        facts=APPOINTMENT_CONFIRMATION_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        better="higher",
        category=CATEGORY,
    ),
]
