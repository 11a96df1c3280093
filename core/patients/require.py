"""The 404 every patient-scoped route gives for an absent, deleted or other tenant's patient."""

from __future__ import annotations

from uuid import UUID

from core.http.context import RequestContext
from core.http.problems import problem
from core.patients.contacts import patient_exists

NOT_FOUND = "No such patient"


async def require_patient(ctx: RequestContext, patient_id: UUID) -> None:
    """Raise the same 404 for a random id, a deleted patient and another tenant's patient."""
    if not await patient_exists(ctx, patient_id):
        raise problem(404, NOT_FOUND)
