"""Chart entries and the merged timeline under ``/api/v1/patients/{id}``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.care.timeline import service
from core.care.timeline.schemas import ChartEntryCreate, ChartEntryOut, ChartEntryUpdate, TimelinePage
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients.require import require_patient

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
_FAR = datetime(2999, 1, 1, tzinfo=UTC)


class TimelineController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}"
    tags = ["timeline"]
    dependencies = {"ctx": Provide(provide_context)}

    @post("/chart-entries", guards=WRITE, summary="Add a note or an outside event to the chart")
    async def add(self, ctx: RequestContext, patient_id: UUID, data: ChartEntryCreate) -> ChartEntryOut:
        await require_patient(ctx, patient_id)
        return await service.add_entry(ctx, patient_id, data)

    @get("/chart-entries", guards=READ, summary="The patient's chart entries, newest first")
    async def list_entries(self, ctx: RequestContext, patient_id: UUID) -> list[ChartEntryOut]:
        await require_patient(ctx, patient_id)
        return await service.list_entries(ctx, patient_id)

    @get("/chart-entries/{entry_id:uuid}", guards=READ, summary="One chart entry")
    async def read(self, ctx: RequestContext, patient_id: UUID, entry_id: UUID) -> ChartEntryOut:
        await require_patient(ctx, patient_id)
        entry = await service.read_entry(ctx, patient_id, entry_id)
        if entry is None:
            raise problem(404, "No such chart entry")
        return entry

    @patch("/chart-entries/{entry_id:uuid}", guards=WRITE, summary="Correct a chart entry or mark it in error")
    async def update(
        self, ctx: RequestContext, patient_id: UUID, entry_id: UUID, data: ChartEntryUpdate
    ) -> ChartEntryOut:
        await require_patient(ctx, patient_id)
        entry = await service.update_entry(ctx, patient_id, entry_id, data)
        if entry is None:
            raise problem(404, "No such chart entry")
        return entry

    @get("/timeline", guards=READ, summary="Everything that happened to the patient, newest first")
    async def timeline(
        self,
        ctx: RequestContext,
        patient_id: UUID,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> TimelinePage:
        """Merges chart entries, consents and the other core records with what enabled plugins add
        (hook ``timeline_items``)."""
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise problem(400, f"{name} needs a time zone offset", errors=[{"key": name, "message": "naive"}])
        await require_patient(ctx, patient_id)
        items = await service.timeline(ctx, patient_id, since or _EPOCH, until or _FAR, limit)
        return TimelinePage(items=items)
