"""Patient routes: ``/api/v1/patients`` and its contacts and consents.

Another tenant's id, a deleted patient and a random id all answer the same 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients import consents, contacts, service
from core.patients.require import NOT_FOUND, require_patient
from core.patients.schemas import (
    Consent,
    ConsentCreate,
    Contact,
    ContactCreate,
    ContactUpdate,
    Patient,
    PatientCreate,
    PatientPage,
    PatientUpdate,
)
from core.patients.search import BadCursorError

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]


class PatientController(Controller):
    path = "/api/v1/patients"
    tags = ["patients"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Search and list patients")
    async def list_patients(
        self,
        ctx: RequestContext,
        q: Annotated[
            str | None, Parameter(max_length=100, description="name prefix, MRN, ISO birth date or phone")
        ] = None,
        mrn: Annotated[str | None, Parameter(max_length=64)] = None,
        birth_date: date | None = None,
        phone: Annotated[str | None, Parameter(max_length=32)] = None,
        name: Annotated[str | None, Parameter(max_length=100, description="name prefix")] = None,
        ids: Annotated[
            list[UUID] | None,
            Parameter(max_items=200, description="only these patients (repeat ids=); unknown ids are left out"),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=600)] = None,
    ) -> PatientPage:
        try:
            return await service.search_patients(
                ctx, q=q, mrn=mrn, birth_date=birth_date, phone=phone, name=name, ids=ids, limit=limit, cursor=cursor
            )
        except BadCursorError:
            raise problem(400, "The cursor is not valid; start again without it") from None

    @post("/", guards=WRITE, summary="Register a patient")
    async def create(self, ctx: RequestContext, data: PatientCreate) -> Patient:
        """Create a patient; an MRN already used in this organization is 409."""
        return await service.create_patient(ctx, data)

    @get("/{patient_id:uuid}", guards=READ, summary="Read a patient")
    async def read(self, ctx: RequestContext, patient_id: UUID) -> Patient:
        patient = await service.read_patient(ctx, patient_id)
        if patient is None:
            raise problem(404, NOT_FOUND)
        return patient

    @patch("/{patient_id:uuid}", guards=WRITE, summary="Change some fields of a patient")
    async def update(self, ctx: RequestContext, patient_id: UUID, data: PatientUpdate) -> Patient:
        patient = await service.update_patient(ctx, patient_id, data)
        if patient is None:
            raise problem(404, NOT_FOUND)
        return patient

    @delete(
        "/{patient_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_permission(Permission.PATIENTS_DELETE)],
        summary="Soft-delete a patient",
    )
    async def remove(self, ctx: RequestContext, patient_id: UUID) -> None:
        if not await service.delete_patient(ctx, patient_id):
            raise problem(404, NOT_FOUND)

    # -- contacts (family, caregivers) ------------------------------------------------------------

    @get("/{patient_id:uuid}/contacts", guards=READ, summary="A patient's contacts")
    async def list_contacts(self, ctx: RequestContext, patient_id: UUID) -> list[Contact]:
        await require_patient(ctx, patient_id)
        return await contacts.list_contacts(ctx, patient_id)

    @post("/{patient_id:uuid}/contacts", guards=WRITE, summary="Add a contact")
    async def add_contact(self, ctx: RequestContext, patient_id: UUID, data: ContactCreate) -> Contact:
        await require_patient(ctx, patient_id)
        return await contacts.add_contact(ctx, patient_id, data)

    @patch("/{patient_id:uuid}/contacts/{contact_id:uuid}", guards=WRITE, summary="Change a contact")
    async def update_contact(
        self, ctx: RequestContext, patient_id: UUID, contact_id: UUID, data: ContactUpdate
    ) -> Contact:
        await require_patient(ctx, patient_id)
        contact = await contacts.update_contact(ctx, patient_id, contact_id, data)
        if contact is None:
            raise problem(404, "No such contact")
        return contact

    @delete(
        "/{patient_id:uuid}/contacts/{contact_id:uuid}",
        guards=WRITE,
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a contact (revokes consents naming it)",
    )
    async def remove_contact(self, ctx: RequestContext, patient_id: UUID, contact_id: UUID) -> None:
        await require_patient(ctx, patient_id)
        if not await contacts.remove_contact(ctx, patient_id, contact_id):
            raise problem(404, "No such contact")

    # -- consents -----------------------------------------------------------------------------------

    @get("/{patient_id:uuid}/consents", guards=READ, summary="A patient's consents, history included")
    async def list_consents(self, ctx: RequestContext, patient_id: UUID) -> list[Consent]:
        await require_patient(ctx, patient_id)
        return await consents.list_consents(ctx, patient_id)

    @post("/{patient_id:uuid}/consents", guards=WRITE, summary="Record a consent")
    async def grant(self, ctx: RequestContext, patient_id: UUID, data: ConsentCreate) -> Consent:
        await require_patient(ctx, patient_id)
        if data.contact_id is not None and not await consents.contact_of(ctx, patient_id, data.contact_id):
            raise problem(
                422,
                "contact_id is not a contact of this patient",
                errors=[{"key": "contact_id", "message": "unknown contact"}],
            )
        return await consents.grant_consent(ctx, patient_id, data)

    @post(
        "/{patient_id:uuid}/consents/{consent_id:uuid}/revoke",
        guards=WRITE,
        status_code=200,
        summary="Revoke a consent",
    )
    async def revoke(self, ctx: RequestContext, patient_id: UUID, consent_id: UUID) -> Consent:
        await require_patient(ctx, patient_id)
        consent = await consents.revoke_consent(ctx, patient_id, consent_id)
        if consent is None:
            raise problem(404, "No such consent")
        return consent
