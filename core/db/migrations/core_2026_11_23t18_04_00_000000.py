"""Care plans: goals with measured progress, activities, and a versioned history of every change."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T18:04:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "care plans, goals, goal measurements, activities, versions"

TABLES = ("care_plans", "care_plan_goals", "goal_measurements", "care_plan_activities", "care_plan_versions")

SCHEMA = [
    """create table care_plans (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        title varchar(200) not null,
        description varchar(4000),
        status varchar(20) not null default 'draft'
            check (status in ('draft','active','on-hold','revoked','completed','entered-in-error')),
        period_start date not null,
        period_end date,
        version integer not null default 1 check (version >= 1),
        created_by uuid not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        check (period_end is null or period_end >= period_start))""",
    "create index care_plans_patient on care_plans (tenant_id, patient_id, created_at)",
    """create table care_plan_goals (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        care_plan_id uuid not null,
        description varchar(1000) not null,
        target varchar(200),
        target_value numeric,
        unit varchar(32),
        due_date date,
        status varchar(20) not null default 'proposed'
            check (status in ('proposed','planned','accepted','active','on-hold','completed','cancelled',
                              'entered-in-error','rejected')),
        achievement varchar(20)
            check (achievement in ('in-progress','improving','worsening','no-change','achieved','not-achieved')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, care_plan_id) references care_plans (tenant_id, id))""",
    "create index care_plan_goals_plan on care_plan_goals (tenant_id, care_plan_id, created_at)",
    """create table goal_measurements (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        goal_id uuid not null,
        value numeric not null,
        measured_at timestamptz not null,
        note varchar(500),
        recorded_by uuid not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, goal_id) references care_plan_goals (tenant_id, id))""",
    "create index goal_measurements_goal on goal_measurements (tenant_id, goal_id, measured_at)",
    """create table care_plan_activities (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        care_plan_id uuid not null,
        kind varchar(20) not null
            check (kind in ('appointment','referral','task','education','medication','other')),
        description varchar(1000) not null,
        status varchar(20) not null default 'not-started'
            check (status in ('not-started','scheduled','in-progress','on-hold','completed','cancelled','stopped')),
        linked_type varchar(20) check (linked_type in ('appointment','referral','task')),
        linked_id uuid,
        due_date date,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, care_plan_id) references care_plans (tenant_id, id),
        check ((linked_type is null) = (linked_id is null)))""",
    "create index care_plan_activities_plan on care_plan_activities (tenant_id, care_plan_id, created_at)",
    "create index care_plan_activities_linked on care_plan_activities (tenant_id, linked_type, linked_id)",
    """create table care_plan_versions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        care_plan_id uuid not null,
        version integer not null,
        snapshot jsonb not null,
        changed_by uuid not null,
        changed_at timestamptz not null default now(),
        change_summary varchar(500) not null,
        primary key (tenant_id, id),
        foreign key (tenant_id, care_plan_id) references care_plans (tenant_id, id))""",
    "create unique index care_plan_versions_plan on care_plan_versions (tenant_id, care_plan_id, version)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in TABLES:
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
