"""``insurance.check_eligibility``: ask the payer, keep its answer with the raw exchange.

Runs on the workers, in the tenant's transaction. A check is answered once: a redelivered message
finds the row no longer ``queued`` and stops. An unreachable payer is retried with back-off; on
the last attempt, or when the payer's answer is unusable, the check is recorded ``failed`` with the
reason and whatever the payer sent, so nothing is lost and nothing crashes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from core.payers.adapter import PayerRequestError, PayerResponseError, PayerUnavailableError
from core.payers.messages import EligibilityInquiry, EligibilityResult, Party, Person
from core.plugins.sdk import JobContext, actor, payload_uuid
from plugins.insurance.coverage.service import settings_of
from plugins.insurance.eligibility.follow_up import after_answer
from plugins.insurance.payers.registry import PayerNotConfiguredError, adapter_for

MAX_RETRIES = 4
RELATIONSHIP_CODES = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
"""Our relationship -> X12 individual relationship code (INS02)."""


async def check_eligibility(ctx: JobContext, check_id: str) -> None:
    row = await ctx.tx.fetchrow(
        "select e.id, e.status, e.as_of, e.trace_number, e.coverage_id, c.payer_id, c.member_id, c.group_number, "
        "c.relationship, c.subscriber_given_name, c.subscriber_family_name, c.subscriber_birth_date, "
        "p.given_name, p.family_name, p.birth_date, p.sex from eligibility_checks e "
        "join coverages c on c.id = e.coverage_id join patients p on p.id = e.patient_id "
        "where e.id = $1 for update of e",
        payload_uuid(check_id, actor="insurance.check_eligibility", field="check_id"),
    )
    if row is None or row["status"] != "queued":
        return  # answered already (a redelivery), or gone
    try:
        adapter, config, payer = await adapter_for(ctx, row["payer_id"])
    except PayerNotConfiguredError as exc:
        await _failed(ctx, row, str(exc), "", "")
        return
    inquiry = build_inquiry(ctx, row, payer)
    try:
        result = await adapter.check_eligibility(inquiry, config)
    except PayerUnavailableError as exc:
        if ctx.attempt < MAX_RETRIES:
            raise
        await _failed(ctx, row, f"payer unavailable after {ctx.attempt + 1} attempts: {exc.message}",
                      exc.raw_request, exc.raw_response)  # fmt: skip
        return
    except (PayerResponseError, PayerRequestError) as exc:
        await _failed(ctx, row, exc.message, exc.raw_request, exc.raw_response)
        return
    await _answered(ctx, row, result)


def _gender(sex: str | None) -> Any:
    return {"male": "M", "female": "F"}.get((sex or "").lower(), "U")


def build_inquiry(ctx: JobContext, row: Any, payer: Any) -> EligibilityInquiry:
    settings = settings_of(ctx)
    patient = Person(
        last_name=row["family_name"], first_name=row["given_name"], birth_date=row["birth_date"],
        gender=_gender(row["sex"]),
    )  # fmt: skip
    provider = Party(name=settings.provider_name, identifier=settings.provider_npi or "")
    if row["relationship"] == "self":
        subscriber = Person(
            last_name=patient.last_name, first_name=patient.first_name, birth_date=patient.birth_date,
            gender=patient.gender, member_id=row["member_id"], group_number=row["group_number"],
        )  # fmt: skip
        dependent = None
    else:
        subscriber = Person(
            last_name=row["subscriber_family_name"], first_name=row["subscriber_given_name"],
            birth_date=row["subscriber_birth_date"], member_id=row["member_id"], group_number=row["group_number"],
        )  # fmt: skip
        dependent = patient
    return EligibilityInquiry(
        payer=Party(name=payer["name"], identifier=payer["payer_code"]),
        provider=provider,
        subscriber=subscriber,
        patient=dependent,
        relationship=None if dependent is None else RELATIONSHIP_CODES[row["relationship"]],
        as_of=row["as_of"],
        trace_number=row["trace_number"],
    )


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _answered(ctx: JobContext, row: Any, result: EligibilityResult) -> None:
    await ctx.tx.execute(
        "update eligibility_checks set status = $2, checked_at = $3, payer_name = $4, plan_name = $5, "
        "plan_number = $6, group_number = $7, coverage_begin = $8, coverage_end = $9, copay = $10, "
        "coinsurance_percent = $11, deductible = $12, deductible_remaining = $13, out_of_pocket = $14, "
        "out_of_pocket_remaining = $15, benefits = $16::jsonb, rejections = $17::jsonb, raw_request = $18, "
        "raw_response = $19, error = null where id = $1",
        row["id"],
        result.status,
        datetime.now(UTC),
        result.payer_name,
        (result.plan_name or "")[:200] or None,
        result.plan_number,
        result.group_number,
        result.coverage_begin,
        result.coverage_end,
        result.copay,
        result.coinsurance_percent,
        result.deductible,
        result.deductible_remaining,
        result.out_of_pocket,
        result.out_of_pocket_remaining,
        _json(result.benefits),
        _json(result.rejections),
        result.raw_request,
        result.raw_response,
    )
    patient_id = await _record(ctx, row, result.status)
    await after_answer(ctx, row["id"], result.status, patient_id)


async def _failed(ctx: JobContext, row: Any, error: str, raw_request: str, raw_response: str) -> None:
    await ctx.tx.execute(
        "update eligibility_checks set status = 'failed', checked_at = $2, error = $3, raw_request = $4, "
        "raw_response = $5 where id = $1",
        row["id"],
        datetime.now(UTC),
        error[:1000],
        raw_request or None,
        raw_response or None,
    )
    patient_id = await _record(ctx, row, "failed")
    await after_answer(ctx, row["id"], "failed", patient_id)


async def _record(ctx: JobContext, row: Any, status: str) -> Any:
    patient_id = await ctx.tx.fetchval("select patient_id from eligibility_checks where id = $1", row["id"])
    details = {"patient_id": str(patient_id), "coverage_id": str(row["coverage_id"]), "status": status}
    await ctx.audit("insurance.eligibility_answer", "eligibility_check", row["id"], details)
    return patient_id


CHECK_ELIGIBILITY = actor(name="check_eligibility", queue="default", max_retries=MAX_RETRIES, min_backoff=2_000)(
    check_eligibility
)
