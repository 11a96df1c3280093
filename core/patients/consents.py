"""Consents: which channels a patient may be reached on, and with whom information is shared.

A consent is never edited, only granted or revoked, so its history is the rows
themselves. ``active`` is computed at read time (granted, not revoked, not expired).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.audit.service import record
from core.http.context import RequestContext
from core.patients.schemas import Consent, ConsentCreate

COLUMNS = (
    "id, patient_id, kind, channel, contact_id, status, granted_at, expires_at, revoked_at, note, "
    "(status = 'granted' and (expires_at is null or expires_at > now())) as active"
)


def to_consent(row: Any) -> Consent:
    return Consent(**dict(row))


async def list_consents(ctx: RequestContext, patient_id: UUID) -> list[Consent]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from patient_consents where patient_id = $1 order by granted_at, id", patient_id
    )
    await record(ctx, "patient_consent.list", "patient", patient_id, {"count": len(rows)})
    return [to_consent(r) for r in rows]


async def contact_of(ctx: RequestContext, patient_id: UUID, contact_id: UUID) -> bool:
    return bool(
        await ctx.tx.fetchval(
            "select exists(select 1 from patient_contacts where id = $1 and patient_id = $2 and deleted_at is null)",
            contact_id,
            patient_id,
        )
    )


async def grant_consent(ctx: RequestContext, patient_id: UUID, data: ConsentCreate) -> Consent:
    row = await ctx.tx.fetchrow(
        f"insert into patient_consents (tenant_id, patient_id, kind, channel, contact_id, expires_at, "
        f"recorded_by, note) values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}",
        ctx.tenant_id,
        patient_id,
        data.kind,
        data.channel,
        data.contact_id,
        data.expires_at,
        ctx.principal.actor_id,
        data.note,
    )
    await record(
        ctx,
        "patient_consent.grant",
        "patient_consent",
        row["id"],
        {"patient_id": str(patient_id), "kind": data.kind, "channel": data.channel},
    )
    consent = to_consent(row)
    await ctx.emit("consent_changed", patient_id=patient_id, consent=consent)
    return consent


async def revoke_consent(ctx: RequestContext, patient_id: UUID, consent_id: UUID) -> Consent | None:
    row = await ctx.tx.fetchrow(
        f"update patient_consents set status = 'revoked', revoked_at = coalesce(revoked_at, now()) "
        f"where id = $1 and patient_id = $2 returning {COLUMNS}",
        consent_id,
        patient_id,
    )
    if row is None:
        return None
    await record(ctx, "patient_consent.revoke", "patient_consent", consent_id, {"patient_id": str(patient_id)})
    consent = to_consent(row)
    await ctx.emit("consent_changed", patient_id=patient_id, consent=consent)
    return consent
