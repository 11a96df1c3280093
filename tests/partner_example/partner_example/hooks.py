"""The plugin's hook implementations: the entry point ``carecoord.plugins: partner_example``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.patients.schemas import Patient
from core.plugins.sdk import ActorSpec, MetricSpec, ModuleSpec, PermissionSpec, PluginContext, PortalPage, hookimpl
from partner_example.actors import reply
from partner_example.portal import NotesPage
from partner_example.routes import READ, WRITE, add_note, list_notes, queue_reply
from partner_example.settings import ExampleSettings

HOOK_API_VERSION = 1
MODULE = "partner_example"
EXPLODING_FAMILY_NAME = "Explode"
"""A patient created with, or changed to, this family name makes the event hook fail after writing a
note: the host must undo that note and let core's operation succeed."""


@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(
        name=MODULE,
        title="Partner example",
        description="Notes on patients; an example of a partner plugin",
        settings=ExampleSettings,
        plans=None,
    )


@hookimpl
def register_routes() -> Sequence[Any]:
    return [list_notes, add_note, queue_reply]


@hookimpl
def register_portal_pages() -> Sequence[PortalPage]:
    """A "Notes" button on every patient chart (``menu_section="Patient"`` with ``{patient_id}`` in the path)."""
    return [
        PortalPage(path="patients/{patient_id:uuid}/notes", title="Notes", handler=NotesPage, menu_section="Patient")
    ]


@hookimpl
def register_actors() -> Sequence[ActorSpec]:
    return [reply]


@hookimpl
def register_metrics() -> Sequence[MetricSpec]:
    """Notes written per period: the facts are the notes, bucketed and counted by the metrics module."""
    return [
        MetricSpec(
            "partner_example_notes_written",
            "Notes written",
            "count",
            facts=(
                "select created_at as at, 1.0 as value, null::uuid as coordinator_id, null::uuid as provider_id, "
                "null::timestamptz as until from partner_example_notes where created_at >= $1 and created_at < $2"
            ),
            aggregate="count",
            category="Partner example",
        )
    ]


@hookimpl
def register_piccolo_apps() -> Sequence[str]:
    return ["partner_example.piccolo_app"]


@hookimpl
def register_permissions() -> Sequence[PermissionSpec]:
    care = frozenset({"owner", "admin", "coordinator"})
    return [
        PermissionSpec(READ, "Read partner example notes", roles=care, api_key_scope=True),
        PermissionSpec(WRITE, "Add partner example notes", roles=care, api_key_scope=True),
    ]


async def _add_note(ctx: PluginContext, patient: Patient, body: str) -> None:
    note_id = await ctx.tx.fetchval(
        "insert into partner_example_notes (tenant_id, patient_id, body) values ($1, $2, $3) returning id",
        ctx.tenant_id,
        patient.id,
        body,
    )
    await ctx.audit("partner_example.note.create", "partner_example_note", note_id, {"patient_id": str(patient.id)})


def _explode_for(patient: Patient, hook: str) -> None:
    if patient.family_name == EXPLODING_FAMILY_NAME:
        raise RuntimeError(f"{hook}: partner_example refuses family name {EXPLODING_FAMILY_NAME!r}")


@hookimpl
async def patient_created(ctx: PluginContext, patient: Patient) -> None:
    """Welcome every new patient with a note (and fail on purpose for one family name)."""
    await _add_note(ctx, patient, f"welcome {patient.given_name}")
    _explode_for(patient, "patient_created")


@hookimpl
async def patient_updated(ctx: PluginContext, patient: Patient) -> None:
    """Fails on purpose for one family name, after a write the host must roll back."""
    if patient.family_name == EXPLODING_FAMILY_NAME:
        await _add_note(ctx, patient, "about to explode")
        _explode_for(patient, "patient_updated")
