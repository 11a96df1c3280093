"""The referrals module's portal pages: the referral board, a referral's page, and sending one for a patient."""

from __future__ import annotations

from core.plugins.sdk import PortalPage
from plugins.referrals.portal.board import BoardPages
from plugins.referrals.portal.detail import ReferralPages
from plugins.referrals.portal.send import SendReferralPages


class ReferralWorkPages(BoardPages, ReferralPages):
    """The board and each referral's page (one menu entry: the board)."""


PORTAL_PAGES = [
    PortalPage(path="board", title="Referral board", handler=ReferralWorkPages, menu_section="Work"),
    PortalPage(
        path="new/{patient_id:uuid}", title="Send a referral", handler=SendReferralPages, menu_section="Patient"
    ),
]
"""The board in the sidebar; "Send a referral" is an action on the patient's chart."""
