"""A background job: answer a note with the tenant's greeting, in a worker process."""

from __future__ import annotations

from uuid import UUID

from core.plugins.sdk import PermanentError, PluginContext, actor
from partner_example.settings import ExampleSettings


@actor(name="partner_example.reply", queue="default", max_retries=3)
async def reply(ctx: PluginContext, note_id: str) -> None:
    """Add a note "<greeting>, re: <body>" to the note's patient (settings are the tenant's own)."""
    note = await ctx.tx.fetchrow("select patient_id, body from partner_example_notes where id = $1", UUID(note_id))
    if note is None:
        raise PermanentError(f"note {note_id} does not exist in this organization")
    greeting = ctx.settings.greeting if isinstance(ctx.settings, ExampleSettings) else ExampleSettings().greeting
    new_id = await ctx.tx.fetchval(
        "insert into partner_example_notes (tenant_id, patient_id, body) values ($1, $2, $3) returning id",
        ctx.tenant_id,
        note["patient_id"],
        f"{greeting}, re: {note['body']}"[:500],
    )
    await ctx.audit(
        "partner_example.note.reply", "partner_example_note", new_id, {"patient_id": str(note["patient_id"])}
    )
