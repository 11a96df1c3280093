"""Referrals: the referral lifecycle, SLA clocks on business calendars, loop closure."""
