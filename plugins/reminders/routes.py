"""``/api/v1/reminders``: the rules, an appointment's touches, a patient's delivery log, manual resend."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.reminders.facts import settings_of
from plugins.reminders.kinds import SCREENING, plan_screening
from plugins.reminders.plan import touch_key
from plugins.reminders.planning import cancel_unsent
from plugins.reminders.schemas import (
    Confirmation,
    Delivery,
    DeliveryLogEntry,
    EffectiveRule,
    ResendIn,
    Rules,
    Screening,
    ScreeningIn,
    Touch,
)
from plugins.reminders.sending import TOUCH_COLUMNS, ResendRefusedError, resend

READ = "reminders:read"
WRITE = "reminders:write"
DELIVERY_COLUMNS = "id, touch_id, round, channel, contact_id, notification_id, status, detail, created_at, updated_at"


def _delivery(row: Any) -> Delivery:
    return Delivery(**{name: row[name] for name in Delivery.__struct_fields__})


async def _touches(plugin: PluginContext, where: str, *args: Any) -> list[Touch]:
    rows = await plugin.tx.fetch(
        f"select {TOUCH_COLUMNS} from reminder_touches where {where} order by subject_at, send_at nulls last, "
        f"offset_seconds desc",
        *args,
    )
    deliveries = await plugin.tx.fetch(
        f"select {DELIVERY_COLUMNS} from reminder_deliveries where touch_id = any($1::uuid[]) order by created_at",
        [r["id"] for r in rows],
    )
    by_touch: dict[UUID, list[Delivery]] = {}
    for row in deliveries:
        by_touch.setdefault(row["touch_id"], []).append(_delivery(row))
    confirmations = await plugin.tx.fetch(
        "select appointment_id, subject_at, confirmed_at from reminder_confirmations "
        "where appointment_id = any($1::uuid[])",
        list({r["subject_id"] for r in rows if r["kind"] == "appointment"}),
    )
    confirmed = {(c["appointment_id"], c["subject_at"]): c["confirmed_at"] for c in confirmations}
    fields = [f for f in Touch.__struct_fields__ if f not in ("deliveries", "confirmed_at")]
    return [
        Touch(
            **{f: r[f] for f in fields},
            deliveries=by_touch.get(r["id"], []),
            confirmed_at=confirmed.get((r["subject_id"], r["subject_at"])) if r["kind"] == "appointment" else None,
        )
        for r in rows
    ]


@get("/rules", guards=[requires_permission(READ)], summary="The reminder rules in effect")
async def read_rules(plugin: PluginContext, practitioner_id: UUID | None = None) -> Rules:
    """The organization's settings, and what applies to ``practitioner_id`` (overrides resolved)."""
    settings = settings_of(plugin)
    specialty = None
    if practitioner_id is not None:
        specialty = await plugin.tx.fetchval("select specialty from practitioners where id = $1", practitioner_id)
        if specialty is None:
            raise problem(404, "No such practitioner")
    rule = settings.rule_for(practitioner_id, specialty)
    return Rules(
        settings=msgspec.to_builtins(settings),
        effective=EffectiveRule(
            offsets=[touch_key(o) for o in rule.offsets],
            channels=list(rule.channels),
            min_lead_minutes=settings.min_lead_minutes,
        ),
    )


@get(
    "/appointments/{appointment_id:uuid}/touches",
    guards=[requires_permission(READ)],
    summary="An appointment's reminder touches, with each channel tried",
)
async def appointment_touches(plugin: PluginContext, appointment_id: UUID) -> list[Touch]:
    patient_id = await plugin.tx.fetchval(
        "select a.patient_id from appointments a join patients p on p.id = a.patient_id "
        "where a.id = $1 and p.deleted_at is null",
        appointment_id,
    )
    if patient_id is None:
        raise problem(404, "No such appointment")
    touches = await _touches(plugin, "kind = 'appointment' and subject_id = $1", appointment_id)
    await plugin.audit("reminders.touches.read", "appointment", appointment_id, {"patient_id": str(patient_id)})
    return touches


@get("/touches", guards=[requires_permission(READ)], summary="The reminder touches of several appointments")
async def touches_of_appointments(
    plugin: PluginContext,
    appointment_ids: Annotated[
        list[UUID], Parameter(min_items=1, max_items=200, description="repeat appointment_ids= (up to 200)")
    ],
) -> list[Touch]:
    """One read for a day view: the touches of every appointment named (unknown or foreign ids have none),
    audited once with the appointments and their patients."""
    rows = await plugin.tx.fetch(
        "select a.id, a.patient_id from appointments a join patients p on p.id = a.patient_id "
        "where a.id = any($1::uuid[]) and p.deleted_at is null",
        appointment_ids,
    )
    found = [r["id"] for r in rows]
    touches = await _touches(plugin, "kind = 'appointment' and subject_id = any($1::uuid[])", found) if found else []
    await plugin.audit(
        "reminders.touches.read",
        "appointment",
        None,
        {"ids": [str(i) for i in found], "patient_ids": sorted({str(r["patient_id"]) for r in rows})},
    )
    return touches


@get(
    "/patients/{patient_id:uuid}/deliveries",
    guards=[requires_permission(READ)],
    summary="A patient's reminder delivery log, newest first",
)
async def patient_deliveries(
    plugin: PluginContext, patient_id: UUID, limit: Annotated[int, Parameter(ge=1, le=500)] = 100
) -> list[DeliveryLogEntry]:
    if not await plugin.tx.fetchval(
        "select exists (select 1 from patients where id = $1 and deleted_at is null)", patient_id
    ):
        raise problem(404, "No such patient")
    rows = await plugin.tx.fetch(
        "select d.id, d.touch_id, d.round, d.channel, d.contact_id, d.notification_id, d.status, d.detail, "
        "d.created_at, d.updated_at, t.kind, t.subject_id, t.subject_at, t.touch_key, t.status as touch_status "
        "from reminder_deliveries d join reminder_touches t on t.id = d.touch_id where t.patient_id = $1 "
        "order by d.created_at desc, d.id limit $2",
        patient_id,
        limit,
    )
    await plugin.audit("reminders.deliveries.read", "patient", patient_id, {"patient_id": str(patient_id)})
    return [
        DeliveryLogEntry(
            delivery=_delivery(r),
            kind=r["kind"],
            subject_id=r["subject_id"],
            subject_at=r["subject_at"],
            touch_key=r["touch_key"],
            touch_status=r["touch_status"],
        )
        for r in rows
    ]


@post(
    "/touches/{touch_id:uuid}/resend",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Send a reminder touch again (409 when delivered, under way or sent in the last 10 minutes)",
)
async def resend_touch(plugin: PluginContext, touch_id: UUID, data: ResendIn | None = None) -> Touch:
    try:
        found = await resend(plugin, touch_id, data.channel if data else None)
    except ResendRefusedError as exc:
        raise problem(409, str(exc)) from None
    if not found:
        raise problem(404, "No such reminder")
    touches = await _touches(plugin, "id = $1", touch_id)
    return touches[0]


@get(
    "/appointments/{appointment_id:uuid}/confirmation",
    guards=[requires_permission(READ)],
    summary="Whether the patient confirmed the appointment (by replying to a reminder)",
)
async def appointment_confirmation(plugin: PluginContext, appointment_id: UUID) -> Confirmation:
    appointment = await plugin.tx.fetchrow(
        "select a.patient_id, a.start_at from appointments a join patients p on p.id = a.patient_id "
        "where a.id = $1 and p.deleted_at is null",
        appointment_id,
    )
    if appointment is None:
        raise problem(404, "No such appointment")
    row = await plugin.tx.fetchrow(
        "select confirmed_at, channel, inbound_message_id, text from reminder_confirmations "
        "where appointment_id = $1 and subject_at = $2",
        appointment_id,
        appointment["start_at"],
    )
    await plugin.audit(
        "reminders.confirmation.read", "appointment", appointment_id, {"patient_id": str(appointment["patient_id"])}
    )
    return Confirmation(
        appointment_id=appointment_id,
        start=appointment["start_at"],
        confirmed=row is not None,
        confirmed_at=row["confirmed_at"] if row else None,
        channel=row["channel"] if row else None,
        inbound_message_id=row["inbound_message_id"] if row else None,
        text=row["text"] if row else None,
    )


SCREENING_COLUMNS = "id, patient_id, name, due_on, created_at"


async def _patient_exists(plugin: PluginContext, patient_id: UUID) -> None:
    if not await plugin.tx.fetchval(
        "select exists (select 1 from patients where id = $1 and deleted_at is null)", patient_id
    ):
        raise problem(404, "No such patient")


async def _screenings(plugin: PluginContext, where: str, *args: Any) -> list[Screening]:
    rows = await plugin.tx.fetch(
        f"select {SCREENING_COLUMNS} from reminder_screenings where {where} order by due_on, name", *args
    )
    touches = await _touches(plugin, "kind = 'screening' and subject_id = any($1::uuid[])", [r["id"] for r in rows])
    by_screening: dict[UUID, list[Touch]] = {}
    for touch in touches:
        by_screening.setdefault(touch.subject_id, []).append(touch)
    return [Screening(**dict(r), touches=by_screening.get(r["id"], [])) for r in rows]


@post(
    "/patients/{patient_id:uuid}/screenings",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_201_CREATED,
    summary="Add a preventive screening coming due (reminded before and on the due date)",
)
async def add_screening(plugin: PluginContext, patient_id: UUID, data: ScreeningIn) -> Screening:
    await _patient_exists(plugin, patient_id)
    name = " ".join(data.name.split())
    screening_id = await plugin.tx.fetchval(
        "insert into reminder_screenings (tenant_id, patient_id, name, due_on) values ($1, $2, $3, $4) "
        "on conflict (tenant_id, patient_id, name, due_on) do nothing returning id",
        plugin.tenant_id,
        patient_id,
        name,
        data.due_on,
    )
    if screening_id is None:
        raise problem(409, "This screening is already recorded for that date")
    await plugin.audit(
        "reminders.screening.create",
        "screening",
        screening_id,
        {"patient_id": str(patient_id), "name": name, "due_on": data.due_on.isoformat()},
    )
    await plan_screening(plugin, screening_id, patient_id, data.due_on)
    return (await _screenings(plugin, "id = $1", screening_id))[0]


@get(
    "/patients/{patient_id:uuid}/screenings",
    guards=[requires_permission(READ)],
    summary="A patient's preventive screenings with their reminder touches",
)
async def list_screenings(plugin: PluginContext, patient_id: UUID) -> list[Screening]:
    await _patient_exists(plugin, patient_id)
    screenings = await _screenings(plugin, "patient_id = $1", patient_id)
    await plugin.audit("reminders.screenings.read", "patient", patient_id, {"patient_id": str(patient_id)})
    return screenings


@delete(
    "/patients/{patient_id:uuid}/screenings/{screening_id:uuid}",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_204_NO_CONTENT,
    summary="Remove a screening; its unsent reminders are cancelled",
)
async def remove_screening(plugin: PluginContext, patient_id: UUID, screening_id: UUID) -> None:
    removed = await plugin.tx.fetchval(
        "delete from reminder_screenings where id = $1 and patient_id = $2 returning id", screening_id, patient_id
    )
    if removed is None:
        raise problem(404, "No such screening")
    await cancel_unsent(plugin, screening_id, "the screening was removed", kind=SCREENING)
    await plugin.audit("reminders.screening.delete", "screening", screening_id, {"patient_id": str(patient_id)})


ROUTES = [
    read_rules,
    appointment_touches,
    touches_of_appointments,
    appointment_confirmation,
    patient_deliveries,
    resend_touch,
    add_screening,
    list_screenings,
    remove_screening,
]
