"""The worklist (``/portal/``): the caller's tasks in three tabs, with quick actions that swap their row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from core.care.tasks.states import can_transition
from core.portal.api import ApiError, PortalApi, portal_api
from core.portal.care.common import local_time, patient_name, patients_by_id
from core.portal.forms import form_fields
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    params: dict[str, Any]
    empty: str


TABS = (
    Tab("mine", "Mine", {"mine": True}, "Nothing is assigned to you right now."),
    Tab(
        "team",
        "Team",
        {"team": True},
        "Nothing open for you, your care-team colleagues or your role's pool.",
    ),
    Tab(
        "overdue",
        "Overdue",
        {"team": True, "overdue": True},
        "Nothing overdue among your and your team's tasks.",
    ),
)
TAB_BY_KEY = {tab.key: tab for tab in TABS}
QUICK = (("in-progress", "Start"), ("completed", "Complete"))
"""Quick status changes offered on a row, when the task's status allows them."""
PRIORITY_BADGE = {"stat": "bad", "asap": "bad", "urgent": "warn"}
STATUS_BADGE = {"completed": "ok", "in-progress": "warn", "on-hold": "warn", "failed": "bad", "cancelled": "bad"}


@dataclass(frozen=True)
class TaskRow:
    id: str
    title: str
    priority: str
    priority_badge: str
    status: str
    status_badge: str
    due: str
    overdue: bool
    sla_overdue: bool
    patient_id: str | None
    patient: str | None
    owner: str
    actions: tuple[tuple[str, str], ...]
    can_take: bool


def _owner(task: dict[str, Any], user: PortalUser) -> str:
    if task["owner_user_id"] == str(user.user_id):
        return "You"
    if task["owner_user_id"]:
        return "A colleague"
    if task["owner_role"]:
        return f"Pool: {task['owner_role']}"
    return "Unassigned"


def task_row(task: dict[str, Any], user: PortalUser, patients: dict[str, dict[str, Any]]) -> TaskRow:
    patient = patients.get(str(task["patient_id"])) if task["patient_id"] else None
    return TaskRow(
        id=str(task["id"]),
        title=task["title"],
        priority=task["priority"],
        priority_badge=PRIORITY_BADGE.get(task["priority"], ""),
        status=task["status"],
        status_badge=STATUS_BADGE.get(task["status"], ""),
        due=local_time(task["due_at"], user.time_zone),
        overdue=bool(task["overdue"]),
        sla_overdue=bool(task["sla_overdue"]),
        patient_id=str(task["patient_id"]) if task["patient_id"] else None,
        patient=patient_name(patient) if patient else None,
        owner=_owner(task, user),
        actions=tuple((status, label) for status, label in QUICK if can_transition(task["status"], status)),
        can_take=task["owner_user_id"] is None and can_transition(task["status"], "in-progress"),
    )


async def task_rows(api: PortalApi, user: PortalUser, tasks: list[dict[str, Any]]) -> list[TaskRow]:
    patients = await patients_by_id(api, (t["patient_id"] for t in tasks))
    return [task_row(t, user, patients) for t in tasks]


@get("/", name="portal-worklist")
async def worklist(request: Request[Any, Any, Any], tab: str = "mine") -> Template:
    chosen = TAB_BY_KEY.get(tab, TABS[0])
    user = cast(PortalUser, current_user(request))
    api = portal_api(request)
    found = await api.get("/api/v1/worklist", {**chosen.params, "limit": 100})
    rows = await task_rows(api, user, found["items"])
    return await render(
        request,
        "core/care/worklist.html",
        page_title="Worklist",
        tabs=TABS,
        tab=chosen,
        tab_key=chosen.key,
        rows=rows,
        today=date.fromisoformat(found["today"]).strftime("%A %d %B"),
    )


async def _row_answer(
    request: Request[Any, Any, Any], task: dict[str, Any], fields: dict[str, str], note: str = "", error: str = ""
) -> Response[Any]:
    """The changed row for htmx; back to the worklist tab for a plain form post."""
    tab = fields.get("tab", "mine")
    if request.headers.get("hx-request") != "true":
        return Redirect(f"/portal/?tab={tab if tab in TAB_BY_KEY else 'mine'}", status_code=303)
    user = cast(PortalUser, current_user(request))
    row = (await task_rows(portal_api(request), user, [task]))[0]
    tab_key = tab if tab in TAB_BY_KEY else "mine"
    return await render(request, "core/care/task_row.html", row=row, tab_key=tab_key, note=note, error=error)


@post("/tasks/{task_id:uuid}/status", status_code=200)
async def change_status(request: Request[Any, Any, Any], task_id: UUID) -> Response[Any]:
    """A quick action: move the task to ``status`` (the API's state machine decides; 409 shows on the row)."""
    fields = await form_fields(request)
    api = portal_api(request)
    wanted = fields.get("status", "")
    labels = dict(QUICK)
    if wanted not in labels:
        task = await api.get(f"/api/v1/tasks/{task_id}")
        return await _row_answer(request, task, fields, error="That action is not available.")
    try:
        task = await api.post(f"/api/v1/tasks/{task_id}/transition", {"status": wanted})
    except ApiError as exc:
        if exc.status != 409:
            raise
        task = await api.get(f"/api/v1/tasks/{task_id}")
        return await _row_answer(request, task, fields, error=f"Not done: the task is {task['status']} now.")
    return await _row_answer(request, task, fields, note=f"{labels[wanted]}: done, now {task['status']}.")


@post("/tasks/{task_id:uuid}/take", status_code=200)
async def take(request: Request[Any, Any, Any], task_id: UUID) -> Response[Any]:
    """Assign an unclaimed task to oneself."""
    fields = await form_fields(request)
    user = cast(PortalUser, current_user(request))
    task = await portal_api(request).patch(f"/api/v1/tasks/{task_id}", {"owner_user_id": str(user.user_id)})
    return await _row_answer(request, task, fields, note="Assigned to you.")


WORKLIST_PAGES = [worklist, change_status, take]
