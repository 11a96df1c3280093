"""Per-tenant settings of the referrals module (validated when an admin saves them)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from plugins.referrals.calendar import CalendarSettings
from plugins.referrals.sla import SlaTargets, TargetHours


class ReferralSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    routine_hours: TargetHours = 72.0
    """Business hours from sent to scheduled for a routine referral."""
    urgent_hours: TargetHours = 24.0
    asap_hours: TargetHours = 8.0
    stat_hours: TargetHours = 2.0
    at_risk_fraction: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.75
    """Share of the target after which a referral counts as at risk."""
    calendar: CalendarSettings | None = None
    """Working hours per weekday and holidays for the SLA clocks, in the organization's time zone. Unset:
    the organization's business hours (Administration, Organization; ``business_hours`` of the tenant)."""
    open_loop_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    """A referral seen but without a consult report this long counts as an open loop."""

    def targets(self) -> SlaTargets:
        return SlaTargets(
            routine_hours=self.routine_hours,
            urgent_hours=self.urgent_hours,
            asap_hours=self.asap_hours,
            stat_hours=self.stat_hours,
            at_risk_fraction=self.at_risk_fraction,
        )
