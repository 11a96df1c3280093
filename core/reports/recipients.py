"""Who may be e-mailed a report's file: active users of the organization whose role may read the report."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from core.auth.permissions import Permission, permissions_for
from core.db.tenant import Tx
from core.plugins.records import ReportSpec


def may_read(role: str, spec: ReportSpec) -> bool:
    """Whether a user of ``role`` may read (and so be e-mailed) runs of ``spec``."""
    held = permissions_for(role)
    return Permission.REPORTS_READ in held and (spec.permission is None or spec.permission in held)


async def recipient_problems(tx: Tx, spec: ReportSpec, user_ids: Sequence[UUID]) -> list[dict[str, str]]:
    """Why users cannot be e-mailed runs of ``spec`` (``errors`` entries naming ``email_to[i]``); empty: all can.

    Each must be an active user of this organization (row-level security hides the others) whose role
    may read the report: the file can hold patient data of the whole organization.
    """
    rows = await tx.fetch("select id, role, status from users where id = any($1::uuid[])", list(user_ids))
    users = {row["id"]: row for row in rows}
    problems = []
    for index, user_id in enumerate(user_ids):
        user = users.get(user_id)
        if user is None:
            message = "no such user in this organization"
        elif user["status"] != "active":
            message = "the user is disabled"
        elif not may_read(user["role"], spec):
            message = f"a {user['role']} may not read this report"
        else:
            continue
        problems.append({"key": f"email_to[{index}]", "message": message})
    return problems
