"""The referrals module's report: every referral created in a period, one row each, streamed.

Listed as ``referrals.referral_list``; it carries patient names and MRNs, so it needs
``referrals:read`` on top of ``reports:run`` and every download is audited like any report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.plugins.sdk import Period, PluginContext, ReportColumn, ReportData, ReportSpec, cursor_chunks, local_days
from plugins.referrals.routes import READ
from plugins.referrals.states import Status


class ReferralListParams(Period, forbid_unknown_fields=True, kw_only=True):
    status: Status | None = None
    """Only referrals now in this status."""
    specialty: str | None = None
    """Only this specialty (exact, case-insensitive)."""


_WHERE = """
    from referrals r
    join patients p on p.tenant_id = r.tenant_id and p.id = r.patient_id and p.deleted_at is null
    left join provider_organizations o on o.tenant_id = r.tenant_id and o.id = r.target_organization_id
    left join practitioners pr on pr.tenant_id = r.tenant_id and pr.id = r.target_practitioner_id
    where r.created_at >= ($1::date::timestamp at time zone $3)
      and r.created_at < (($2::date + 1)::timestamp at time zone $3)
      and ($4::text is null or r.status = $4)
      and ($5::text is null or lower(r.specialty) = lower($5))
"""
_LOCAL = "to_char({column} at time zone $3, 'YYYY-MM-DD HH24:MI')"
_SELECT = f"""
    select {_LOCAL.format(column="r.created_at")}, p.mrn, p.family_name || ', ' || p.given_name, r.specialty,
           coalesce(o.name, pr.family_name || ', ' || pr.given_name), r.priority, r.status,
           {_LOCAL.format(column="r.first_sent_at")}, {_LOCAL.format(column="r.ended_at")},
           case when r.sla_met then 'yes' when not r.sla_met then 'no' else '' end
"""


async def referral_list(ctx: PluginContext, params: ReferralListParams) -> ReportData:
    """Referrals created in the period, oldest first, read through a cursor in chunks."""
    zone, start, end = await local_days(ctx, params)
    args: Sequence[Any] = (start, end, zone, params.status, params.specialty)
    total = int(await ctx.tx.fetchval(f"select count(*) {_WHERE}", *args))

    columns = [
        ReportColumn("created", f"Created ({zone})"),
        ReportColumn("mrn", "MRN"),
        ReportColumn("patient", "Patient"),
        ReportColumn("specialty", "Specialty"),
        ReportColumn("receiver", "Sent to"),
        ReportColumn("priority", "Priority"),
        ReportColumn("status", "Status"),
        ReportColumn("sent", f"First sent ({zone})"),
        ReportColumn("ended", f"Ended ({zone})"),
        ReportColumn("sla_met", "SLA met"),
    ]
    rows = cursor_chunks(ctx, f"{_SELECT} {_WHERE} order by r.created_at, r.id", *args)
    return ReportData(columns=columns, rows=rows, total_rows=total)


REFERRAL_REPORTS = [
    ReportSpec(
        name="referral_list",
        title="Referral list",
        description="Every referral created in the period with patient, MRN, specialty, receiver, status, "
        "when it was first sent and ended, and whether its SLA was met",
        query=referral_list,
        params=ReferralListParams,
        permission=READ,
    )
]
