"""KPIs over core's own tables: no-shows, overdue tasks, complete patient records.

Registered by the metrics module itself (core has no hook of its own to register them). Facts queries
(see core.metrics.spec) run in the tenant's transaction with ``$1`` = window start and ``$2`` = window
end (exclusive); docs/metrics.md ("Core metrics") defines each one. Records of soft-deleted patients
are left out everywhere (tasks of a deleted patient leave the worklist with the patient, too).

``coordinator`` is the patient's primary coordinator on the care team (a user; none when the patient
has none or it is a practitioner) except for tasks, where it is the task's owner.
"""

from __future__ import annotations

from core.plugins.sdk import MetricSpec

CLOSED = "('rejected', 'cancelled', 'failed', 'completed', 'entered-in-error')"
"""core.care.tasks.states.CLOSED: nobody works on such a task any more, so it is never overdue."""
CLOSING = "('rejected', 'cancelled', 'failed', 'completed')"
"""The moves that end a task's work (``entered-in-error`` instead erases the task from the figures)."""
LIVE_PATIENT = "not exists (select 1 from patients p where p.id = {patient} and p.deleted_at is not null)"
"""Deleted patients are few: an anti-join on them (index ``patients_deleted``) beats joining every patient.
A task without a patient passes too, as core's worklist shows it."""
VISIBLE_TASK = LIVE_PATIENT.format(patient="t.patient_id")
PRIMARY_COORDINATOR = """left join lateral (
    select m.user_id from care_team_members m where m.patient_id = {patient} and m.is_primary_coordinator limit 1
) m on true"""

NO_SHOW_FACTS = f"""
select a.start_at as at, (case when a.status = 'noshow' then 1 else 0 end)::double precision as value,
       m.user_id as coordinator_id, a.practitioner_id as provider_id, null::timestamptz as until
from appointments a
{PRIMARY_COORDINATOR.format(patient="a.patient_id")}
where a.start_at >= $1 and a.start_at < $2 and a.status in ('fulfilled', 'noshow')
  and {LIVE_PATIENT.format(patient="a.patient_id")}
"""
"""Appointments that ended as ``fulfilled`` or ``noshow``, dated by their (scheduled) start."""

TASKS_OVERDUE_FACTS = f"""
select t.due_at as at, 1::double precision as value, t.owner_user_id as coordinator_id,
       null::uuid as provider_id, null::timestamptz as until
from tasks t
where t.status not in {CLOSED} and t.due_at < $2 and {VISIBLE_TASK}
union all
select t.due_at as at, 1::double precision as value, t.owner_user_id as coordinator_id,
       null::uuid as provider_id, h.changed_at as until
from task_status_history h
cross join lateral (
    select t.due_at, t.owner_user_id, t.patient_id from tasks t
    where t.id = h.task_id and t.due_at < $2 and t.due_at < h.changed_at and t.status <> 'entered-in-error'
    limit 1
) t
where h.to_status in {CLOSING} and h.changed_at >= $1 and {VISIBLE_TASK}
"""
"""A task is overdue from its ``due_at`` until the move that closed it (task_status_history): open
tasks past due (no ``until``), and closed ones whose closing came after their due time. A closed task
can only move on to ``entered-in-error``, so each has one closing move."""

TASK_OVERDUE_RATE_FACTS = f"""
select t.due_at as at,
       (case when c.closed_at is null or c.closed_at > t.due_at then 1 else 0 end)::double precision as value,
       t.owner_user_id as coordinator_id, null::uuid as provider_id, null::timestamptz as until
from tasks t
left join lateral (
    select min(h.changed_at) as closed_at from task_status_history h
    where h.task_id = t.id and h.to_status in {CLOSING}
) c on true
where t.due_at >= $1 and t.due_at < $2 and t.due_at <= now() and t.status <> 'entered-in-error' and {VISIBLE_TASK}
"""
"""Tasks that fell due in the period (not those due later today): 1 when still open at their due time."""

TENANT_TODAY = (
    "(now() at time zone (select z.time_zone from tenants z "
    "where z.id = nullif(current_setting('app.tenant_id', true), '')::uuid))::date"
)
"""Today in the organization's zone (the transaction's tenant: evaluated once, not per patient)."""
COMPLETE = f"""(
    (nullif(btrim(p.phone), '') is not null or nullif(btrim(p.email), '') is not null)
    and nullif(btrim(p.communication ->> 'language'), '') is not null
    and nullif(btrim(p.address -> 'line' ->> 0), '') is not null
    and nullif(btrim(p.address ->> 'city'), '') is not null
    and exists (
        select 1 from care_team_members c
        where c.patient_id = p.id and c.role = 'primary_care_physician'
          and c.period_start <= {TENANT_TODAY} and (c.period_end is null or c.period_end >= {TENANT_TODAY})
    )
)"""
"""A complete record: a phone number or an e-mail address, a preferred language, an address with a
street line and a city, and a primary-care physician on the care team today (the date of birth and
the name are required by the API, so always present)."""

DOCUMENTATION_FACTS = f"""
select p.created_at as at, (case when {COMPLETE} then 1 else 0 end)::double precision as value,
       m.user_id as coordinator_id, null::uuid as provider_id, null::timestamptz as until
from patients p
{PRIMARY_COORDINATOR.format(patient="p.id")}
where p.created_at >= $1 and p.created_at < $2 and p.deleted_at is null
"""
"""Patients registered in the period, each 1 when its record is complete now (so a period's figure
rises as the records registered in it are completed)."""

CORE_METRICS: list[MetricSpec] = [
    MetricSpec(
        name="no_show_rate_pct",
        description="Appointments in the period (fulfilled or missed) that the patient missed",
        unit="%",
        facts=NO_SHOW_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team", "provider"),
        target=10.0,
        better="lower",
        category="Appointments",
    ),
    MetricSpec(
        name="tasks_overdue",
        description="Open tasks past their due time at the end of the period",
        unit="count",
        facts=TASKS_OVERDUE_FACTS,
        aggregate="open_at_end",
        dimensions=("coordinator", "team"),
        better="lower",
        category="Tasks",
    ),
    MetricSpec(
        name="task_overdue_rate_pct",
        description="Tasks due in the period that were not closed by their due time",
        unit="%",
        facts=TASK_OVERDUE_RATE_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team"),
        better="lower",
        category="Tasks",
    ),
    MetricSpec(
        name="documentation_completeness_pct",
        description="Patients registered in the period whose record has every required field",
        unit="%",
        facts=DOCUMENTATION_FACTS,
        aggregate="pct",
        dimensions=("coordinator", "team"),
        target=95.0,
        better="higher",
        category="Documentation",
    ),
]
