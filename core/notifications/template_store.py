"""Tenants' template overrides, and finding the template a notification uses.

Lookup, for each language of the chain (``es-MX``, ``es``, ``en``): the tenant's template for
the channel, the tenant's for ``any`` channel, core's for the channel, core's for ``any``.
So a tenant's Spanish text wins over core's, and English is the last resort.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from core.db.tenant import Tx
from core.http.context import RequestContext
from core.notifications.templates import (
    BUILTIN_TEMPLATES,
    TemplateSource,
    check_template,
    language_chain,
)

COLUMNS = "id, name, channel, language, subject, body, updated_at"


class StoredTemplate(msgspec.Struct, kw_only=True):
    name: str
    channel: str
    language: str
    subject: str | None
    body: str
    source: str
    """``tenant`` (an override saved by this organization) or ``builtin``."""
    updated_at: datetime | None = None


async def find_template(tx: Tx, name: str, channel: str, language: str | None) -> tuple[TemplateSource, str] | None:
    """The template to use and the language it is in; None when no language has one."""
    rows = await tx.fetch(
        "select channel, language, subject, body from notification_templates where name = $1 "
        "and channel = any($2::varchar[])",
        name,
        [channel, "any"],
    )
    tenant = {(r["channel"], r["language"]): TemplateSource(r["subject"] or "", r["body"]) for r in rows}
    for tag in language_chain(language):
        for source in (tenant.get((channel, tag)), tenant.get(("any", tag))):
            if source is not None:
                return source, tag
        for key in ((name, channel, tag), (name, "any", tag)):
            if key in BUILTIN_TEMPLATES:
                return BUILTIN_TEMPLATES[key], tag
    return None


async def list_templates(tx: Tx) -> list[StoredTemplate]:
    rows = await tx.fetch(f"select {COLUMNS} from notification_templates order by name, channel, language")
    saved = [
        StoredTemplate(
            name=r["name"],
            channel=r["channel"],
            language=r["language"],
            subject=r["subject"],
            body=r["body"],
            source="tenant",
            updated_at=r["updated_at"],
        )
        for r in rows
    ]
    builtin = [
        StoredTemplate(
            name=name, channel=channel, language=language, subject=t.subject or None, body=t.body, source="builtin"
        )
        for (name, channel, language), t in sorted(BUILTIN_TEMPLATES.items())
    ]
    return saved + builtin


async def save_template(
    ctx: RequestContext, *, name: str, channel: str, language: str, subject: str | None, body: str
) -> StoredTemplate:
    """Check and store a tenant override; :class:`MessageTemplateError` (a 422) when it is unsafe or malformed."""
    if subject:
        check_template(subject, "subject")
    check_template(body, "body")
    row = await ctx.tx.fetchrow(
        f"""insert into notification_templates (tenant_id, name, channel, language, subject, body, updated_by)
            values ($1, $2, $3, $4, $5, $6, $7)
            on conflict (tenant_id, name, channel, language) do update set subject = excluded.subject,
                body = excluded.body, updated_by = excluded.updated_by, updated_at = now()
            returning {COLUMNS}""",
        ctx.tenant_id,
        name,
        channel,
        language,
        subject,
        body,
        ctx.principal.actor_id,
    )
    await _audit(ctx, "notification_template.save", row["id"], {"name": name, "channel": channel, "language": language})
    return StoredTemplate(
        name=name,
        channel=channel,
        language=language,
        subject=subject,
        body=body,
        source="tenant",
        updated_at=row["updated_at"],
    )


async def delete_template(ctx: RequestContext, *, name: str, channel: str, language: str) -> bool:
    deleted = await ctx.tx.fetchval(
        "delete from notification_templates where name = $1 and channel = $2 and language = $3 returning id",
        name,
        channel,
        language,
    )
    if deleted is None:
        return False
    await _audit(ctx, "notification_template.delete", deleted, {"name": name, "channel": channel, "language": language})
    return True


async def _audit(ctx: RequestContext, action: str, resource_id: UUID | None, details: dict[str, Any]) -> None:
    from core.audit.service import record

    await record(ctx, action, "notification_template", resource_id, details)
