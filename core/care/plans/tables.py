"""Piccolo declarations of care plans, goals, goal measurements, activities and versions (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Date, Integer, Numeric, Timestamptz, Varchar
from piccolo.table import Table


class CarePlan(Table, tablename="care_plans"):
    """A patient's plan of care (FHIR CarePlan)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    title = Varchar(length=200)
    description = Varchar(length=4000, null=True)
    status = Varchar(length=20, help_text="draft | active | on-hold | revoked | completed | entered-in-error")
    period_start = Date()
    period_end = Date(null=True)
    version = Integer(help_text="bumped by every change; care_plan_versions holds each snapshot")
    created_by = UUID()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CarePlanGoal(Table, tablename="care_plan_goals"):
    """What the plan aims at (FHIR Goal), with a target and measured progress."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    care_plan_id = UUID()
    description = Varchar(length=1000)
    target = Varchar(length=200, null=True, help_text='the target in words, e.g. "HbA1c < 7%"')
    target_value = Numeric(null=True)
    unit = Varchar(length=32, null=True)
    due_date = Date(null=True)
    status = Varchar(length=20, help_text="FHIR Goal.lifecycleStatus")
    achievement = Varchar(length=20, null=True, help_text="FHIR Goal.achievementStatus")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class GoalMeasurement(Table, tablename="goal_measurements"):
    """One measured value of a goal's target quantity."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    goal_id = UUID()
    value = Numeric()
    measured_at = Timestamptz()
    note = Varchar(length=500, null=True)
    recorded_by = UUID()
    created_at = Timestamptz()


class CarePlanActivity(Table, tablename="care_plan_activities"):
    """Something the plan says to do (FHIR CarePlan.activity), optionally linked to the record doing it."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    care_plan_id = UUID()
    kind = Varchar(length=20, help_text="appointment | referral | task | education | medication | other")
    description = Varchar(length=1000)
    status = Varchar(length=20, help_text="FHIR CarePlan.activity.detail.status")
    linked_type = Varchar(length=20, null=True, help_text="appointment | referral | task")
    linked_id = UUID(null=True)
    due_date = Date(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CarePlanVersion(Table, tablename="care_plan_versions"):
    """The whole plan (goals and activities included) as it stood after one change."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    care_plan_id = UUID()
    version = Integer()
    snapshot = JSONB()
    changed_by = UUID()
    changed_at = Timestamptz()
    change_summary = Varchar(length=500)
