"""Is a booked appointment ready on the insurance side? Coverage verified, authorization in hand.

Checked when an appointment is booked (hook ``appointment_booked``) and again every morning for
the appointments of the next days (``insurance.reverify_upcoming``), which also re-asks payers
for coverage whose last answer went stale. Each problem raises one worklist task per appointment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from core.plugins.sdk import JobContext, PluginContext, actor
from plugins.insurance.coverage.service import eligibility_state, settings_of
from plugins.insurance.eligibility.requests import request_check
from plugins.insurance.flags import raise_once

APPROVED = ("certified", "partially_certified", "modified")
ACTIVE_APPOINTMENT = ("booked", "proposed", "arrived")


def _day(start: datetime, zone: str) -> Any:
    try:
        return start.astimezone(ZoneInfo(zone)).date()
    except (KeyError, ValueError):
        return start.astimezone(UTC).date()


async def check_appointment(ctx: PluginContext, appointment: Any) -> None:
    """Raise what keeps ``appointment`` (a core Appointment or a row with the same fields) from being ready."""
    day = _day(appointment.start if hasattr(appointment, "start") else appointment["start"],
               _get(appointment, "time_zone"))  # fmt: skip
    await _check_coverage(ctx, appointment, day)
    await _check_authorization(ctx, appointment, day)


def _get(appointment: Any, name: str) -> Any:
    return getattr(appointment, name) if hasattr(appointment, name) else appointment[name]


async def _check_coverage(ctx: PluginContext, appointment: Any, day: Any) -> None:
    appointment_id, patient_id = _get(appointment, "id"), _get(appointment, "patient_id")
    coverage = await ctx.tx.fetchrow(
        "select c.id, c.updated_at, e.id as check_id, e.status as check_status, e.checked_at from coverages c "
        "left join lateral (select id, status, checked_at from eligibility_checks x where x.coverage_id = c.id "
        "order by x.requested_at desc, x.id limit 1) e on true where c.patient_id = $1 and c.retired_at is null "
        "and c.coverage_order = 'primary' and c.effective_from <= $2 "
        "and (c.effective_to is null or c.effective_to >= $2) limit 1",
        patient_id,
        day,
    )
    if coverage is None:
        await raise_once(
            ctx, "appointment", appointment_id, "coverage_missing",
            title="No insurance coverage on file for an upcoming appointment",
            description=f"The patient has no primary coverage valid on {day.isoformat()}. Record it or mark self-pay.",
            patient_id=patient_id, due_at=_get(appointment, "start"),
        )  # fmt: skip
        return
    state = eligibility_state(coverage, settings_of(ctx).eligibility_fresh_days, datetime.now(UTC))
    if state.status == "queued":
        return  # the answer will tell (eligibility.follow_up)
    if state.stale:
        await request_check(ctx, coverage["id"], patient_id, "appointment", as_of=day, appointment_id=appointment_id)
        return
    if state.status != "active":
        await raise_once(
            ctx, "appointment", appointment_id, "coverage_unverified",
            title="Coverage not verified for an upcoming appointment",
            description=f"The last eligibility answer is {state.status}. Confirm coverage before the visit.",
            patient_id=patient_id, due_at=_get(appointment, "start"), priority="urgent",
        )  # fmt: skip


async def needs_authorization(ctx: PluginContext, appointment: Any) -> bool:
    referral_id = _get(appointment, "referral_id")
    if referral_id is not None and await ctx.tx.fetchval(
        "select prior_auth_required from insurance_referrals where referral_id = $1", referral_id
    ):
        return True
    specialties = [s.lower() for s in settings_of(ctx).authorization_required_specialties]
    practitioner_id = _get(appointment, "practitioner_id")
    if not specialties or practitioner_id is None:
        return False
    specialty = await ctx.tx.fetchval("select lower(specialty) from practitioners where id = $1", practitioner_id)
    return specialty in specialties


async def _check_authorization(ctx: PluginContext, appointment: Any, day: Any) -> None:
    if not await needs_authorization(ctx, appointment):
        return
    appointment_id, referral_id = _get(appointment, "id"), _get(appointment, "referral_id")
    found = await ctx.tx.fetchrow(
        "select bool_or(status = 'decided' and decision = any($4::text[]) and (valid_from is null or valid_from <= $3) "
        "and (valid_to is null or valid_to >= $3)) as approved, bool_or(status in ('submitted','pended')) as pending "
        "from prior_authorizations where appointment_id = $1 or ($2::uuid is not null and referral_id = $2)",
        appointment_id,
        referral_id,
        day,
        list(APPROVED),
    )
    if found is not None and found["approved"]:
        return
    pending = " One is pending with the payer." if found is not None and found["pending"] else ""
    await raise_once(
        ctx, "appointment", appointment_id, "authorization_missing",
        title="Prior authorization missing for an upcoming appointment",
        description=f"No approved authorization covers {day.isoformat()}.{pending}",
        patient_id=_get(appointment, "patient_id"), due_at=_get(appointment, "start"), priority="urgent",
    )  # fmt: skip


async def reverify_upcoming(ctx: JobContext) -> None:
    """Every booked appointment of the next ``reverify_days_ahead`` days: re-ask stale coverage, raise gaps."""
    now = datetime.now(UTC)
    horizon = now + timedelta(days=settings_of(ctx).reverify_days_ahead)
    rows = await ctx.tx.fetch(
        "select id, patient_id, practitioner_id, referral_id, start_at as start, time_zone from appointments "
        "where status = any($3::text[]) and start_at >= $1 and start_at < $2 order by start_at",
        now,
        horizon,
        list(ACTIVE_APPOINTMENT),
    )
    for row in rows:
        await check_appointment(ctx, row)


async def flag_referral(ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
    """Remember each referral (its patient, whether it needs an authorization); one task when one is sent without it.

    Authorizations link to referrals by id; this copy is how the module checks such a link without
    reading the referrals module's tables.
    """
    referral_id: UUID = _field(referral, "id")
    patient_id: UUID = _field(referral, "patient_id")
    required = bool(_field(referral, "prior_auth_required"))
    await ctx.tx.execute(
        "insert into insurance_referrals (tenant_id, referral_id, patient_id, prior_auth_required, status) "
        "values ($1, $2, $3, $4, $5) on conflict (tenant_id, referral_id) do update set "
        "prior_auth_required = excluded.prior_auth_required, status = excluded.status, updated_at = now()",
        ctx.tenant_id,
        referral_id,
        patient_id,
        required,
        str(_field(referral, "status")),
    )
    if not required or _field(referral, "status") != "sent":
        return
    if await ctx.tx.fetchval(
        "select exists (select 1 from prior_authorizations where referral_id = $1 and status <> 'cancelled')",
        referral_id,
    ):
        return
    await raise_once(
        ctx, "referral", referral_id, "authorization_needed",
        title="Referral needs a prior authorization",
        description="The referral was sent and requires prior authorization; none has been requested yet.",
        patient_id=patient_id, priority="urgent",
    )  # fmt: skip


def _field(record: Any, name: str) -> Any:
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


REVERIFY_UPCOMING = actor(name="reverify_upcoming", queue="default", max_retries=3)(reverify_upcoming)
