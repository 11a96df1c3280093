"""``/api/v1/partner_example/notes``: list and add notes, within the tenant's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import get, post

from core.plugins.sdk import PluginContext, problem, requires_permission
from partner_example.settings import ExampleSettings

READ = "partner_example:read"
WRITE = "partner_example:write"
NOTE_COLUMNS = "id, patient_id, body, created_at"


class NoteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    patient_id: UUID
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Note(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    body: str
    created_at: datetime


class NoteList(msgspec.Struct, kw_only=True):
    greeting: str
    """The tenant's ``greeting`` setting, echoed to show the settings in effect."""
    notes: list[Note]


class NoteCreated(msgspec.Struct, kw_only=True):
    greeting: str
    note: Note


def settings_of(plugin: PluginContext) -> ExampleSettings:
    return plugin.settings if isinstance(plugin.settings, ExampleSettings) else ExampleSettings()


def to_note(row: Any) -> Note:
    return Note(id=row["id"], patient_id=row["patient_id"], body=row["body"], created_at=row["created_at"])


@get("/notes", guards=[requires_permission(READ)], summary="Notes, oldest first")
async def list_notes(plugin: PluginContext, patient_id: UUID | None = None) -> NoteList:
    if patient_id is None:
        rows = await plugin.tx.fetch(f"select {NOTE_COLUMNS} from partner_example_notes order by created_at, id")
    else:
        rows = await plugin.tx.fetch(
            f"select {NOTE_COLUMNS} from partner_example_notes where patient_id = $1 order by created_at, id",
            patient_id,
        )
    await plugin.audit(
        "partner_example.note.list",
        "partner_example_note",
        None,
        {"count": len(rows), "patient_id": str(patient_id) if patient_id else None},
    )
    return NoteList(greeting=settings_of(plugin).greeting, notes=[to_note(r) for r in rows])


@post("/notes", guards=[requires_permission(WRITE)], summary="Add a note to a patient")
async def add_note(plugin: PluginContext, data: NoteIn) -> NoteCreated:
    settings = settings_of(plugin)
    exists = await plugin.tx.fetchval("select 1 from patients where id = $1 and deleted_at is null", data.patient_id)
    if exists is None:
        raise problem(404, "No such patient")
    count = await plugin.tx.fetchval(
        "select count(*) from partner_example_notes where patient_id = $1", data.patient_id
    )
    if count >= settings.max_notes:
        raise problem(
            422,
            f"A patient may have at most {settings.max_notes} notes",
            errors=[{"key": "patient_id", "message": f"already has {count} notes"}],
        )
    row = await plugin.tx.fetchrow(
        f"insert into partner_example_notes (tenant_id, patient_id, body) values ($1, $2, $3) returning {NOTE_COLUMNS}",
        plugin.tenant_id,
        data.patient_id,
        data.body,
    )
    await plugin.audit(
        "partner_example.note.create", "partner_example_note", row["id"], {"patient_id": str(data.patient_id)}
    )
    return NoteCreated(greeting=settings.greeting, note=to_note(row))


class ReplyQueued(msgspec.Struct, kw_only=True):
    job_id: UUID


@post("/notes/{note_id:uuid}/reply", status_code=202, guards=[requires_permission(WRITE)], summary="Queue a reply")
async def queue_reply(plugin: PluginContext, note_id: UUID) -> ReplyQueued:
    """Queue the ``partner_example.reply`` job; it runs in a worker once this request commits."""
    if await plugin.tx.fetchval("select 1 from partner_example_notes where id = $1", note_id) is None:
        raise problem(404, "No such note")
    job_id = await plugin.enqueue(
        "partner_example.reply", {"note_id": str(note_id)}, idempotency_key=f"reply:{note_id}"
    )
    return ReplyQueued(job_id=job_id)
