"""Users and roles: the organization's people, their role, team and status; invitations; MFA resets.

The API decides who may do what (only an owner changes, invites or resets an owner; the plan caps the
number of users); the page shows its refusals as messages.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import drop_empty, form_fields
from core.portal.rendering import render
from tenants.portal.admin.common import CHECK_FIELDS, field_messages, flash, portal_user, refusal, requires

GUARDS = [requires("users:manage")]
ROLES = (
    ("coordinator", "Coordinator"),
    ("clinician", "Clinician"),
    ("viewer", "Viewer"),
    ("admin", "Administrator"),
    ("owner", "Owner"),
)
ROLE_HELP = (
    "Coordinators work with patients, referrals, appointments and the worklist; clinicians with patients and "
    "their care; viewers only read patient records; administrators and owners can do everything, and only an "
    "owner can make or change an owner."
)
DONE = {
    "invited": "The invitation is on its way.",
    "reinvited": "A new invitation is on its way; earlier links no longer work.",
    "changed": "The user is updated.",
    "disabled": "The user is disabled and can no longer log in.",
    "enabled": "The user is active again.",
    "mfa_reset": "Two-factor authentication is reset: the user sets it up again at the next login.",
}
INVITE_FIELDS = ("email", "full_name", "role", "team_id")
TAKEN = "This address already belongs to a user of your organization."


async def _page(
    request: Request[Any, Any, Any],
    *,
    invite: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    invite_error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    api = portal_api(request)
    users = await api.get("/api/v1/users")
    teams = await api.get("/api/v1/teams")
    me = portal_user(request)
    roles = list(ROLES) if me.role == "owner" else [role for role in ROLES if role[0] != "owner"]
    return await render(
        request,
        "tenants/admin/users.html",
        status_code=status_code,
        users=users,
        teams=[(str(team["id"]), team["name"]) for team in teams],
        team_names={str(team["id"]): team["name"] for team in teams},
        roles=roles,
        all_roles=dict(ROLES),
        role_help=ROLE_HELP,
        me=str(me.user_id),
        invite=invite or {"role": "coordinator"},
        errors=errors or {},
        error=error,
        invite_error=invite_error,
        flash=notice,
    )


@get("/admin/users", guards=GUARDS)
async def users_page(request: Request[Any, Any, Any], done: str | None = None) -> Template:
    return await _page(request, notice=flash(done, DONE))


@post("/admin/users/invite", guards=GUARDS, status_code=200)
async def user_invite(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    values = {name: fields.get(name, "")[:300] for name in INVITE_FIELDS}
    try:
        await portal_api(request).post("/api/v1/users/invitations", drop_empty(values))
    except ApiError as exc:
        refused = refusal(exc)
        errors = {k: v for k, v in field_messages(refused).items() if k in INVITE_FIELDS}
        if refused.status == 409:
            errors["email"] = TAKEN
        message = CHECK_FIELDS if errors else refused.message  # 403: the plan's limit, or owner-only
        return await _page(request, invite=values, errors=errors, invite_error=message, status_code=refused.status)
    return Redirect("/portal/admin/users?done=invited", status_code=303)


async def _user(request: Request[Any, Any, Any], user_id: UUID) -> dict[str, Any]:
    """The user from the organization's list; anyone else's id is the 404 page, like a random one."""
    for user in await portal_api(request).get("/api/v1/users"):
        if user["id"] == str(user_id):
            return dict(user)
    raise NotFoundException()


async def _act(request: Request[Any, Any, Any], method: str, path: str, body: Any, done: str) -> Any:
    """One action on a user; a refusal (owner-only, plan limit, pending) is shown on the users page."""
    try:
        await portal_api(request).call(method, path, json=body)
    except ApiError as exc:
        refused = refusal(exc)
        return await _page(request, error=refused.message, status_code=refused.status)
    return Redirect(f"/portal/admin/users?done={done}", status_code=303)


@post("/admin/users/{user_id:uuid}/change", guards=GUARDS, status_code=200)
async def user_change(request: Request[Any, Any, Any], user_id: UUID) -> Any:
    """Role and team; only what changed is sent (so an admin can still move a team member of any role)."""
    fields = await form_fields(request)
    user = await _user(request, user_id)
    change: dict[str, Any] = {}
    if fields.get("role") and fields["role"] != user["role"]:
        change["role"] = fields["role"][:40]
    if "team_id" in fields and (fields["team_id"] or None) != user.get("team_id"):
        change["team_id"] = fields["team_id"][:40] or None
    if not change:
        return Redirect("/portal/admin/users", status_code=303)
    return await _act(request, "PATCH", f"/api/v1/users/{user_id}", change, "changed")


@post("/admin/users/{user_id:uuid}/disable", guards=GUARDS, status_code=200)
async def user_disable(request: Request[Any, Any, Any], user_id: UUID) -> Any:
    return await _act(request, "PATCH", f"/api/v1/users/{user_id}", {"status": "disabled"}, "disabled")


@post("/admin/users/{user_id:uuid}/enable", guards=GUARDS, status_code=200)
async def user_enable(request: Request[Any, Any, Any], user_id: UUID) -> Any:
    return await _act(request, "PATCH", f"/api/v1/users/{user_id}", {"status": "active"}, "enabled")


@post("/admin/users/{user_id:uuid}/mfa-reset", guards=GUARDS, status_code=200)
async def user_mfa_reset(request: Request[Any, Any, Any], user_id: UUID) -> Any:
    return await _act(request, "POST", f"/api/v1/users/{user_id}/mfa/reset", None, "mfa_reset")


@post("/admin/users/{user_id:uuid}/reinvite", guards=GUARDS, status_code=200)
async def user_reinvite(request: Request[Any, Any, Any], user_id: UUID) -> Any:
    return await _act(request, "POST", f"/api/v1/users/{user_id}/invitation", None, "reinvited")


USER_PAGES = [users_page, user_invite, user_change, user_disable, user_enable, user_mfa_reset, user_reinvite]
