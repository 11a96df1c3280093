"""``insurance.submit_authorization``: send one submission round to the payer and record its answer.

Runs on the workers in the tenant's transaction, with the authorization locked. A round is
answered once: the job acts only while the authorization is ``submitted`` in the round named by
the message and no exchange of that round is stored, so a redelivered message does nothing.

- the payer decides (some) lines: the decision is recorded (``decided``, or ``pended``);
- the payer rejects the request (AAA): back to ``draft`` with the reason, and a worklist task;
- the payer cannot be reached: retried with back-off; after the last attempt, or when no adapter
  can reach the payer, back to ``draft`` (nothing was sent) with a task;
- the payer answers something unreadable: the raw answer is kept, the request stays
  ``submitted`` (the payer may have it; its clock runs) and a task asks to confirm by phone or portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from core.payers.adapter import PayerRequestError, PayerResponseError, PayerUnavailableError
from core.payers.messages import AuthorizationRequest, AuthorizationResponse, Party, Person, ServiceLine
from core.plugins.sdk import JobContext, payload_uuid
from plugins.insurance.authorizations import decisions, states
from plugins.insurance.authorizations.checks import InvalidAuthorizationError
from plugins.insurance.authorizations.records import lines_of, log_transition, settings_of
from plugins.insurance.flags import raise_once
from plugins.insurance.payers.registry import PayerNotConfiguredError, adapter_for

ACTOR = "insurance.submit_authorization"
MAX_RETRIES = 4
RESOURCE = "prior_authorization"
RELATIONSHIP_CODES = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
"""Our relationship of the patient to the subscriber -> X12 individual relationship code."""
GENDERS: dict[str, Literal["M", "F"]] = {"male": "M", "female": "F"}

ROW = (
    "select a.id, a.patient_id, a.status, a.submission_round, a.trace_number, a.urgency, a.service_type, "
    "a.diagnosis_codes, a.coordinator_id, c.payer_id, c.member_id, c.group_number, c.relationship, "
    "c.subscriber_given_name, c.subscriber_family_name, c.subscriber_birth_date, p.given_name, p.family_name, "
    "p.birth_date, p.sex from prior_authorizations a join coverages c on c.id = a.coverage_id "
    "join patients p on p.id = a.patient_id where a.id = $1 for update of a"
)


async def submit_authorization(ctx: JobContext, authorization_id: str, submission_round: int) -> None:
    """Ask the payer about one submission round of the authorization (payload from ``service.submit``)."""
    row = await ctx.tx.fetchrow(ROW, payload_uuid(authorization_id, actor=ACTOR, field="authorization_id"))
    if row is None or row["status"] != "submitted" or row["submission_round"] != submission_round:
        return  # answered, withdrawn or resubmitted since: this message is stale
    if await ctx.tx.fetchval(
        "select exists (select 1 from prior_authorization_exchanges where authorization_id = $1 "
        "and submission_round = $2)",
        row["id"],
        submission_round,
    ):
        return  # this round already has its answer on file (an unreadable one)
    line_rows = (await lines_of(ctx, [row["id"]]))[row["id"]]
    try:
        adapter, config, payer = await adapter_for(ctx, row["payer_id"])
    except PayerNotConfiguredError as exc:
        await _not_sent(ctx, row, str(exc), "", "")
        return
    request = build_request(ctx, row, payer, line_rows)
    try:
        response = await adapter.request_authorization(request, config)
    except PayerUnavailableError as exc:
        if ctx.attempt < MAX_RETRIES:
            raise
        error = f"payer unavailable after {ctx.attempt + 1} attempts: {exc.message}"
        await _not_sent(ctx, row, error, exc.raw_request, exc.raw_response)
        return
    except PayerRequestError as exc:  # never sent: back to the coordinator to correct
        await _not_sent(ctx, row, exc.message, exc.raw_request, exc.raw_response)
        return
    except PayerResponseError as exc:
        await _unreadable(ctx, row, exc.message, exc.raw_request, exc.raw_response)
        return
    await _answered(ctx, row, line_rows, response)


def build_request(ctx: JobContext, row: Any, payer: Any, line_rows: Sequence[Any]) -> AuthorizationRequest:
    """The payer-neutral 278 request of the authorization's current round."""
    settings = settings_of(ctx)
    patient = Person(
        last_name=row["family_name"],
        first_name=row["given_name"],
        birth_date=row["birth_date"],
        gender=GENDERS.get((row["sex"] or "").lower(), "U"),
    )
    dependent: Person | None = None
    if row["relationship"] == "self":
        subscriber = msgspec.structs.replace(patient, member_id=row["member_id"], group_number=row["group_number"])
    else:
        subscriber = Person(
            last_name=row["subscriber_family_name"],
            first_name=row["subscriber_given_name"],
            birth_date=row["subscriber_birth_date"],
            member_id=row["member_id"],
            group_number=row["group_number"],
        )
        dependent = patient
    return AuthorizationRequest(
        payer=Party(name=payer["name"], identifier=payer["payer_code"]),
        provider=Party(name=settings.provider_name, identifier=settings.provider_npi or ""),
        subscriber=subscriber,
        patient=dependent,
        relationship=None if dependent is None else RELATIONSHIP_CODES.get(row["relationship"], "G8"),
        diagnosis_codes=tuple(row["diagnosis_codes"]),
        urgency=row["urgency"],
        service_lines=tuple(
            ServiceLine(
                line=line["line_number"],
                code=line["code"],
                code_system=line["code_system"],
                modifiers=tuple(line["modifiers"] or ()),
                units=line["units"],
                service_from=line["service_from"],
                service_to=line["service_to"],
            )
            for line in line_rows
        ),
        trace_number=row["trace_number"],
        service_type=row["service_type"],
    )


async def _exchange(
    ctx: JobContext,
    row: Any,
    outcome: str,
    *,
    raw_request: str,
    raw_response: str,
    error: str | None = None,
    action: str | None = None,
    rejections: Sequence[Any] = (),
) -> None:
    await ctx.tx.execute(
        "insert into prior_authorization_exchanges (tenant_id, authorization_id, submission_round, trace_number, "
        "outcome, action_code, error, rejections, raw_request, raw_response) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) on conflict do nothing",
        ctx.tenant_id,
        row["id"],
        row["submission_round"],
        row["trace_number"],
        outcome,
        action,
        None if error is None else error[:1000],
        msgspec.json.encode(list(rejections)).decode(),
        raw_request or None,
        raw_response or None,
    )


async def _task(ctx: JobContext, row: Any, flag: str, title: str, description: str) -> None:
    await raise_once(
        ctx,
        "authorization",
        row["id"],
        f"{flag}_{row['submission_round']}",
        title=title,
        description=description,
        patient_id=row["patient_id"],
        priority="urgent" if row["urgency"] == "expedited" else "routine",
        owner_user_id=row["coordinator_id"],
    )


async def _back_to_draft(ctx: JobContext, row: Any, error: str, reason: str) -> None:
    await ctx.tx.execute(
        "update prior_authorizations set status = 'draft', last_error = $2, status_reason = $3, "
        "decision_due_at = null, updated_at = now() where id = $1",
        row["id"],
        error[:1000],
        reason[:500],
    )
    await log_transition(ctx, row["id"], "submitted", "draft", reason)


async def _answered(ctx: JobContext, row: Any, line_rows: Sequence[Any], response: AuthorizationResponse) -> None:
    raw = {"raw_request": response.raw_request, "raw_response": response.raw_response}
    if response.rejections and not response.lines and response.action is None:
        await _rejected(ctx, row, response)
        return
    outcome = decisions.from_response(response, [line["line_number"] for line in line_rows])
    if outcome is None:
        await _unreadable(ctx, row, "the payer's answer decides none of the service lines", **raw)
        return
    try:
        updated = await decisions.apply(ctx, row, line_rows, outcome)
    except (InvalidAuthorizationError, states.IllegalMoveError, ValueError) as exc:
        await _unreadable(ctx, row, f"the payer's answer cannot be applied: {exc}", **raw)
        return
    rejections = [msgspec.to_builtins(r) for r in response.rejections]
    await _exchange(ctx, row, "answered", action=response.action, rejections=rejections, **raw)
    if updated["decision"] == "contact_payer":
        await _task(
            ctx, row, "contact_payer", "Payer asks to be contacted about a prior authorization",
            f"The payer answered submission {row['trace_number']} with 'contact payer': call them to continue.",
        )  # fmt: skip


async def _rejected(ctx: JobContext, row: Any, response: AuthorizationResponse) -> None:
    """The payer refused to review the request (AAA): the draft comes back to be corrected."""
    said = "; ".join(f"{r.code}: {r.message}" + (f" ({r.loop})" if r.loop else "") for r in response.rejections)
    rejections = [msgspec.to_builtins(r) for r in response.rejections]
    await _exchange(
        ctx, row, "rejected", raw_request=response.raw_request, raw_response=response.raw_response,
        error=said, rejections=rejections,
    )  # fmt: skip
    await _back_to_draft(ctx, row, said, f"payer rejected the request: {said}")
    details = {"patient_id": str(row["patient_id"]), "round": row["submission_round"], "rejections": rejections}
    await ctx.audit("insurance.authorization_rejected", RESOURCE, row["id"], details)
    await _task(
        ctx, row, "submission_rejected", "Prior authorization sent back by the payer",
        f"The payer did not review request {row['trace_number']}: {said}. Correct the draft and submit it again.",
    )  # fmt: skip


async def _not_sent(ctx: JobContext, row: Any, error: str, raw_request: str, raw_response: str) -> None:
    """The request never reached the payer: back to draft, to be submitted again."""
    await _exchange(ctx, row, "not_sent", raw_request=raw_request, raw_response=raw_response, error=error)
    await _back_to_draft(ctx, row, error, f"not sent: {error}")
    details = {"patient_id": str(row["patient_id"]), "round": row["submission_round"], "error": error[:200]}
    await ctx.audit("insurance.authorization_not_sent", RESOURCE, row["id"], details)
    await _task(
        ctx, row, "submission_not_sent", "Prior authorization could not be sent to the payer",
        f"Request {row['trace_number']} was not sent: {error}. Fix the payer set-up or submit by portal or fax.",
    )  # fmt: skip


async def _unreadable(ctx: JobContext, row: Any, error: str, raw_request: str, raw_response: str) -> None:
    """The payer answered, but not usably: keep what it said; the request stays submitted."""
    await _exchange(ctx, row, "failed", raw_request=raw_request, raw_response=raw_response, error=error)
    await ctx.tx.execute(
        "update prior_authorizations set last_error = $2, updated_at = now() where id = $1", row["id"], error[:1000]
    )
    details = {"patient_id": str(row["patient_id"]), "round": row["submission_round"], "error": error[:200]}
    await ctx.audit("insurance.authorization_failed", RESOURCE, row["id"], details)
    await _task(
        ctx, row, "submission_failed", "Payer's answer to a prior authorization could not be read",
        f"The answer to request {row['trace_number']} was unusable ({error}). Confirm with the payer whether it "
        "was received and record its decision.",
    )  # fmt: skip
