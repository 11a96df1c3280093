"""Per-tenant settings of the insurance module (validated when an admin saves them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from plugins.insurance.validation import check_npi

Npi = Annotated[str, msgspec.Meta(pattern=r"^\d{10}$", description="National Provider Identifier, 10 digits")]


class InsuranceSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    provider_name: Annotated[str, msgspec.Meta(min_length=1, max_length=60)] = "Care coordination clinic"
    """The requesting provider in eligibility and authorization requests (NM1*1P)."""
    provider_npi: Npi | None = None
    """The organization's NPI sent to payers; required before a real payer can be asked."""
    eligibility_fresh_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    """An eligibility answer older than this is stale and is asked again before an appointment."""
    reverify_days_ahead: Annotated[int, msgspec.Meta(ge=1, le=30)] = 3
    """The daily batch re-verifies coverage of patients with appointments this many days ahead."""
    deadline_at_risk_fraction: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.75
    """Share of the payer's decision window after which a pending authorization is at risk."""
    authorization_required_specialties: list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]] = []
    """Appointments with practitioners of these specialties need a prior authorization."""
    appeal_warning_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    """A task is raised this many days before an appeal's filing deadline if it is not filed yet."""

    def __post_init__(self) -> None:
        if self.provider_npi is not None:
            check_npi(self.provider_npi)
