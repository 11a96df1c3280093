"""Tasks (FHIR Task) with their status history, and care team members."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T18:03:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tasks, task status history and care team members"

_STATUSES = (
    "'draft','requested','received','accepted','rejected','ready','cancelled',"
    "'in-progress','on-hold','failed','completed','entered-in-error'"
)
_POOLS = "'admin','coordinator','clinician'"

SCHEMA = [
    f"""create table tasks (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        title varchar(200) not null,
        description varchar(4000),
        status varchar(20) not null check (status in ({_STATUSES})),
        business_status varchar(100),
        status_reason varchar(500),
        priority varchar(8) not null default 'routine' check (priority in ('routine','urgent','asap','stat')),
        due_at timestamptz,
        owner_user_id uuid,
        owner_role varchar(16) check (owner_role in ({_POOLS})),
        focus_type varchar(24) not null default 'other' check (focus_type in
            ('patient','referral','appointment','authorization','resource_request','care_plan','other')),
        focus_id uuid,
        patient_id uuid,
        sla_due_at timestamptz,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        completed_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, owner_user_id) references users (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index tasks_owner on tasks (tenant_id, owner_user_id, status)",
    "create index tasks_pool on tasks (tenant_id, owner_role, status) where owner_user_id is null",
    "create index tasks_due on tasks (tenant_id, due_at)",
    "create index tasks_patient on tasks (tenant_id, patient_id)",
    "create index tasks_focus on tasks (tenant_id, focus_type, focus_id)",
    f"""create table task_status_history (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        task_id uuid not null,
        from_status varchar(20) check (from_status in ({_STATUSES})),
        to_status varchar(20) not null check (to_status in ({_STATUSES})),
        reason varchar(500),
        changed_by uuid,
        changed_by_type varchar(16) not null,
        changed_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, task_id) references tasks (tenant_id, id))""",
    "create index task_status_history_task on task_status_history (tenant_id, task_id, changed_at)",
    """create table care_team_members (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        user_id uuid,
        practitioner_id uuid,
        role varchar(32) not null,
        period_start date not null default current_date,
        period_end date,
        is_primary_coordinator boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, user_id) references users (tenant_id, id),
        foreign key (tenant_id, practitioner_id) references practitioners (tenant_id, id),
        check (num_nonnulls(user_id, practitioner_id) = 1),
        check (period_end is null or period_end >= period_start))""",
    "create index care_team_members_patient on care_team_members (tenant_id, patient_id)",
    "create index care_team_members_user on care_team_members (tenant_id, user_id) where user_id is not null",
    "create unique index care_team_members_one_primary on care_team_members (tenant_id, patient_id) "
    "where is_primary_coordinator",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("tasks", "task_status_history", "care_team_members"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
