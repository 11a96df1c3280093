"""Piccolo declarations of tasks and their status history (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class Task(Table, tablename="tasks"):
    """A piece of work with an owner, priority and due date (FHIR Task)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    title = Varchar(length=200)
    description = Varchar(length=4000, null=True)
    status = Varchar(length=20, help_text="FHIR Task status")
    business_status = Varchar(length=100, null=True)
    status_reason = Varchar(length=500, null=True)
    priority = Varchar(length=8, help_text="routine | urgent | asap | stat")
    due_at = Timestamptz(null=True)
    owner_user_id = UUID(null=True)
    owner_role = Varchar(length=16, null=True, help_text="pool: admin | coordinator | clinician")
    focus_type = Varchar(length=24, help_text="what the task is about")
    focus_id = UUID(null=True)
    patient_id = UUID(null=True)
    sla_due_at = Timestamptz(null=True)
    created_by = UUID(null=True, help_text="user or API key id; null for the system")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    completed_at = Timestamptz(null=True)


class TaskStatusHistory(Table, tablename="task_status_history"):
    """One status change of a task: from, to, who and when."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    task_id = UUID()
    from_status = Varchar(length=20, null=True, help_text="null for the creation")
    to_status = Varchar(length=20)
    reason = Varchar(length=500, null=True)
    changed_by = UUID(null=True)
    changed_by_type = Varchar(length=16, help_text="user | api_key | system")
    changed_at = Timestamptz()
