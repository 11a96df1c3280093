"""Per-tenant settings of the metrics module (validated by the admin modules API when saved)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

SurveyChannel = Literal["sms", "email"]
MetricName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,79}$")]


class SurveySettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Satisfaction surveys sent after care events."""

    after_fulfilled_appointment: bool = True
    after_closed_referral: bool = True
    delay_hours: Annotated[int, msgspec.Meta(ge=0, le=168, description="hours after the event")] = 2
    expires_after_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 14
    channels: Annotated[list[SurveyChannel], msgspec.Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: ["sms", "email"]
    )
    """Tried in this order; the first the patient can receive (consent, contact, opt-out) is used."""
    min_days_between: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    """A patient surveyed less than this many days ago is not asked again."""
    positive_at_least: Annotated[int, msgspec.Meta(ge=1, le=5)] = 4
    """Scores (1-5) at or above this count as positive (CSAT)."""


class MetricsSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    targets: dict[MetricName, float] = msgspec.field(default_factory=dict)
    """Goals that replace a metric's default target for this organization (``{"no_show_rate_pct": 8}``)."""
    surveys: SurveySettings = msgspec.field(default_factory=SurveySettings)
