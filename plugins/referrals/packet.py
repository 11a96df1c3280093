"""The specialist packet: what the specialist needs to act on a referral, as one PDF.

Read from the tenant's own records (patient, directory, referral) in the caller's transaction;
reading it is a read of patient data, so :func:`load_packet` audits it. Coverage comes from whichever
module answers the core query hook ``coverage_summary`` (the insurance module); without one the
packet says so plainly instead of leaving the section out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.payers.summaries import AuthorizationSummary, CoverageSummary
from core.pdf import start_pdf
from core.plugins.sdk import PluginContext

COVERAGE_NOT_ON_FILE = "Coverage: not on file"


@dataclass(frozen=True)
class Party:
    """A practitioner or organization of the directory, as the packet names it."""

    name: str
    email: str | None
    phone: str | None
    fax: str | None


@dataclass(frozen=True)
class PacketData:
    referral_id: UUID
    created_at: datetime
    status: str
    specialty: str
    priority: str
    reason: str
    diagnosis_codes: list[str]
    clinical_notes: str | None
    prior_auth_required: bool
    patient_name: str
    birth_date: date
    mrn: str
    phone: str | None
    language: str | None
    interpreter_needed: bool
    referring: Party | None
    target_practitioner: Party | None
    target_organization: Party | None
    coverage: CoverageSummary | None = None
    authorization: AuthorizationSummary | None = None


def _json(value: Any) -> dict[str, Any]:
    decoded = msgspec.json.decode(value) if isinstance(value, str) else value
    return dict(decoded or {})


async def _practitioner(ctx: PluginContext, practitioner_id: UUID | None) -> tuple[Party | None, UUID | None]:
    if practitioner_id is None:
        return None, None
    row = await ctx.tx.fetchrow(
        "select given_name, family_name, email, phone, fax, organization_id from practitioners where id = $1",
        practitioner_id,
    )
    if row is None:
        return None, None
    name = f"{row['given_name']} {row['family_name']}"
    return Party(name, row["email"], row["phone"], row["fax"]), row["organization_id"]


async def _organization(ctx: PluginContext, organization_id: UUID | None) -> Party | None:
    if organization_id is None:
        return None
    row = await ctx.tx.fetchrow(
        "select name, email, phone, fax from provider_organizations where id = $1", organization_id
    )
    return None if row is None else Party(row["name"], row["email"], row["phone"], row["fax"])


async def load_packet(ctx: PluginContext, referral_id: UUID, *, purpose: str) -> PacketData | None:
    """Everything the packet shows, audited as ``referral.packet`` with ``purpose``; None if no such referral."""
    referral = await ctx.tx.fetchrow(
        "select id, patient_id, status, specialty, priority, reason, diagnosis_codes, clinical_notes, "
        "prior_auth_required, referring_practitioner_id, target_practitioner_id, target_organization_id, created_at "
        "from referrals where id = $1",
        referral_id,
    )
    if referral is None:
        return None
    patient = await ctx.tx.fetchrow(
        "select given_name, family_name, birth_date, mrn, phone, communication from patients where id = $1",
        referral["patient_id"],
    )
    if patient is None:
        return None
    referring, _ = await _practitioner(ctx, referral["referring_practitioner_id"])
    target, practice_id = await _practitioner(ctx, referral["target_practitioner_id"])
    organization = await _organization(ctx, referral["target_organization_id"] or practice_id)
    communication = _json(patient["communication"])
    coverage = next((c for _, c in await ctx.collect("coverage_summary", patient_id=referral["patient_id"]) if c), None)
    authorization = None
    if referral["prior_auth_required"]:
        answers = await ctx.collect("authorization_status", subject_type="referral", subject_ids=[referral_id])
        authorization = next((a[referral_id] for _, a in answers if a and referral_id in a), None)
    await ctx.audit(
        "referral.packet", "referral", referral_id, {"patient_id": str(referral["patient_id"]), "purpose": purpose}
    )
    return PacketData(
        referral_id=referral["id"],
        created_at=referral["created_at"],
        status=referral["status"],
        specialty=referral["specialty"],
        priority=referral["priority"],
        reason=referral["reason"],
        diagnosis_codes=list(referral["diagnosis_codes"] or []),
        clinical_notes=referral["clinical_notes"],
        prior_auth_required=referral["prior_auth_required"],
        patient_name=f"{patient['given_name']} {patient['family_name']}",
        birth_date=patient["birth_date"],
        mrn=patient["mrn"],
        phone=patient["phone"],
        language=communication.get("language"),
        interpreter_needed=bool(communication.get("interpreter_needed")),
        referring=referring,
        target_practitioner=target,
        target_organization=organization,
        coverage=coverage if isinstance(coverage, CoverageSummary) else None,
        authorization=authorization if isinstance(authorization, AuthorizationSummary) else None,
    )


def _party(party: Party | None) -> str:
    if party is None:
        return "not named"
    contacts = [
        f"{label} {value}"
        for label, value in (("tel", party.phone), ("fax", party.fax), ("e-mail", party.email))
        if value
    ]
    return f"{party.name} ({', '.join(contacts)})" if contacts else party.name


def coverage_lines(data: PacketData) -> list[str]:
    """The packet's coverage section: the primary coverage and, when required, the authorization."""
    if data.coverage is None:
        lines = [COVERAGE_NOT_ON_FILE]
    else:
        c = data.coverage
        checked = f", checked {c.checked_at:%Y-%m-%d}" if c.checked_at else ""
        lines = [
            f"Payer: {c.payer_name}; plan: {c.plan_name or 'not recorded'}",
            f"Member id: {c.member_id}; group: {c.group_number or 'none'}",
            f"Eligibility: {c.eligibility}{checked}",
        ]
    if data.prior_auth_required:
        a = data.authorization
        if a is None:
            lines.append("Prior authorization: not requested yet")
        else:
            decision = f" ({a.decision})" if a.decision else ""
            number = f", number {a.authorization_number}" if a.authorization_number else ""
            valid = f", valid {a.valid_from} to {a.valid_to}" if a.valid_from and a.valid_to else ""
            lines.append(f"Prior authorization: {a.status}{decision}{number}{valid}")
    return lines


def packet_sections(data: PacketData) -> list[tuple[str, list[str]]]:
    """The packet's content as titled sections of lines (the PDF's text, also handy for tests)."""
    language = data.language or "not recorded"
    return [
        (
            "Referral",
            [
                f"Referral id: {data.referral_id}",
                f"Date: {data.created_at.astimezone(UTC).strftime('%Y-%m-%d')}",
                f"Specialty: {data.specialty}",
                f"Priority: {data.priority}",
                f"Prior authorization required: {'yes' if data.prior_auth_required else 'no'}",
            ],
        ),
        (
            "Patient",
            [
                f"Name: {data.patient_name}",
                f"Birth date: {data.birth_date.isoformat()}",
                f"MRN: {data.mrn}",
                f"Phone: {data.phone or 'not recorded'}",
                f"Language: {language}; interpreter needed: {'yes' if data.interpreter_needed else 'no'}",
            ],
        ),
        ("Coverage", coverage_lines(data)),
        (
            "Providers",
            [
                f"Referring practitioner: {_party(data.referring)}",
                f"Target practitioner: {_party(data.target_practitioner)}",
                f"Target organization: {_party(data.target_organization)}",
            ],
        ),
        ("Reason for referral", [data.reason]),
        ("Diagnoses (ICD-10)", [", ".join(data.diagnosis_codes) or "none given"]),
        ("Clinical notes", [data.clinical_notes or "none"]),
    ]


def render_packet(data: PacketData, organization_name: str) -> bytes:
    """The packet as an A4 PDF (DejaVu Sans when installed, else Helvetica with Latin-1 text)."""
    document = start_pdf()
    pdf, family, text = document.pdf, document.family, document.text

    pdf.set_title(text(f"Referral packet {data.referral_id}"))
    pdf.set_creator("carecoord")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font(family, size=15)
    pdf.multi_cell(0, 8, text(f"Referral packet: {data.specialty}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    pdf.multi_cell(
        0, 5, text(f"From {organization_name}. Confidential patient information."), new_x="LMARGIN", new_y="NEXT"
    )
    for title, lines in packet_sections(data):
        pdf.ln(3)
        pdf.set_font(family, size=12)
        pdf.multi_cell(0, 6, text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        for line in lines:
            pdf.multi_cell(0, 5, text(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
