"""Core's own reports, built from core's tables, so the pipeline is useful before any plugin.

Each query runs in the tenant's transaction (row-level security applies), computes local days in
the requested or the organization's time zone, and leaves out soft-deleted patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

import msgspec

from core.care.appointments.states import STATUSES as APPOINTMENT_STATUSES
from core.care.appointments.states import Status
from core.plugins.context import PluginContext
from core.plugins.records import ReportSpec
from core.reports.data import ChartSpec, ReportColumn, ReportData
from core.reports.periods import Period, cursor_chunks, local_days

_COUNTED = [s for s in APPOINTMENT_STATUSES if s != "entered-in-error"]


class AppointmentsPerDayParams(Period, forbid_unknown_fields=True, kw_only=True):
    practitioner_id: UUID | None = None


class AppointmentListParams(Period, forbid_unknown_fields=True, kw_only=True):
    status: Status | None = None


class OverdueTasksParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    priority: Literal["routine", "urgent", "asap", "stat"] | None = None


def _status_key(status: str) -> str:
    return status.replace("-", "_")


async def appointments_by_status_per_day(ctx: PluginContext, params: AppointmentsPerDayParams) -> ReportData:
    zone, start, end = await local_days(ctx, params)
    counts = ", ".join(
        f"count(a.id) filter (where a.status = '{status}') as {_status_key(status)}" for status in _COUNTED
    )
    rows = await ctx.tx.fetch(
        f"""
        with days as (select generate_series($1::date, $2::date, interval '1 day')::date as day)
        select days.day, {counts}, count(a.id) as total
        from days
        left join (
            select a.id, a.status, (a.start_at at time zone $3)::date as day
            from appointments a
            join patients p on p.tenant_id = a.tenant_id and p.id = a.patient_id and p.deleted_at is null
            where a.start_at >= ($1::date::timestamp at time zone $3)
              and a.start_at < (($2::date + 1)::timestamp at time zone $3)
              and a.status <> 'entered-in-error'
              and ($4::uuid is null or a.practitioner_id = $4)
        ) a on a.day = days.day
        group by days.day
        order by days.day
        """,
        start,
        end,
        zone,
        params.practitioner_id,
    )
    columns = [
        ReportColumn("day", "Day", "date"),
        *(ReportColumn(_status_key(s), s.capitalize(), "integer") for s in _COUNTED),
        ReportColumn("total", "Total", "integer"),
    ]
    return ReportData(columns=columns, rows=[tuple(row) for row in rows], total_rows=len(rows))


async def appointment_list(ctx: PluginContext, params: AppointmentListParams) -> ReportData:
    """Every appointment in the period with its patient: protected health information, read in chunks."""
    zone, start, end = await local_days(ctx, params)
    where = """
        from appointments a
        join patients p on p.tenant_id = a.tenant_id and p.id = a.patient_id and p.deleted_at is null
        left join practitioners pr on pr.tenant_id = a.tenant_id and pr.id = a.practitioner_id
        where a.start_at >= ($1::date::timestamp at time zone $3)
          and a.start_at < (($2::date + 1)::timestamp at time zone $3)
          and ($4::text is null or a.status = $4)
    """
    args: Sequence[Any] = (start, end, zone, params.status)
    total = int(await ctx.tx.fetchval(f"select count(*) {where}", *args))

    columns = [
        ReportColumn("start", f"Start ({zone})"),
        ReportColumn("mrn", "MRN"),
        ReportColumn("patient", "Patient"),
        ReportColumn("practitioner", "Practitioner"),
        ReportColumn("location", "Location"),
        ReportColumn("status", "Status"),
        ReportColumn("reason", "Reason"),
    ]
    rows = cursor_chunks(
        ctx,
        f"""select to_char(a.start_at at time zone $3, 'YYYY-MM-DD HH24:MI'), p.mrn,
                       p.family_name || ', ' || p.given_name, pr.family_name, a.location, a.status, a.reason
                {where} order by a.start_at, a.id""",
        *args,
    )
    return ReportData(columns=columns, rows=rows, total_rows=total)


_OPEN_TASK = "t.status not in ('completed', 'cancelled', 'failed', 'rejected', 'entered-in-error', 'draft')"


async def tasks_overdue_by_owner(ctx: PluginContext, params: OverdueTasksParams) -> ReportData:
    rows = await ctx.tx.fetch(
        f"""
        select coalesce(u.email, case when t.owner_role is not null then 'pool: ' || t.owner_role end, 'unassigned'),
               count(*) as overdue,
               count(*) filter (where t.priority in ('urgent', 'asap', 'stat')) as urgent,
               min(t.due_at) as oldest_due
        from tasks t
        left join users u on u.tenant_id = t.tenant_id and u.id = t.owner_user_id
        where {_OPEN_TASK} and t.due_at < now() and ($1::text is null or t.priority = $1)
        group by 1
        order by 2 desc, 1
        """,
        params.priority,
    )
    columns = [
        ReportColumn("owner", "Owner"),
        ReportColumn("overdue", "Overdue", "integer"),
        ReportColumn("urgent", "Urgent or higher", "integer"),
        ReportColumn("oldest_due", "Oldest due", "datetime"),
    ]
    return ReportData(columns=columns, rows=[tuple(row) for row in rows], total_rows=len(rows))


CORE_REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="appointments_by_status_per_day",
        title="Appointments by status per day",
        description="How many appointments start on each local day, by status (entered-in-error left out).",
        query=appointments_by_status_per_day,
        params=AppointmentsPerDayParams,
        chart=ChartSpec("bar", x="day", y=("booked", "fulfilled", "cancelled", "noshow"), title="Appointments"),
        module="core",
    ),
    ReportSpec(
        name="appointment_list",
        title="Appointment list",
        description="Every appointment in the period with patient, MRN, practitioner and status.",
        query=appointment_list,
        params=AppointmentListParams,
        module="core",
    ),
    ReportSpec(
        name="tasks_overdue_by_owner",
        title="Overdue tasks by owner",
        description="Open tasks past their due time, per owner (a user, a role's pool, or unassigned).",
        query=tasks_overdue_by_owner,
        params=OverdueTasksParams,
        chart=ChartSpec("bar", x="owner", y=("overdue", "urgent"), title="Overdue tasks"),
        module="core",
    ),
)
