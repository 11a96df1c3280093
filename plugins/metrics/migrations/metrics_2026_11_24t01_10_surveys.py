"""Patient satisfaction surveys: one row per care event surveyed, its hashed token, and the answer.

Tables: ``metric_surveys`` (row-level security like every tenant table). The public answer page
knows only the token, so the narrow SECURITY DEFINER function ``metric_survey_tenant(bytea)``
answers the tenant of a token hash and nothing else; everything after that runs in the tenant's
own transaction, under RLS.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-24T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "patient satisfaction surveys"

STATUSES = "'scheduled','sent','failed','unsent','answered'"
EVENTS = "'appointment','referral'"

SCHEMA = [
    f"""create table metric_surveys (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        event_type varchar(16) not null check (event_type in ({EVENTS})),
        event_id uuid not null,
        event_at timestamptz not null,
        patient_id uuid not null,
        coordinator_id uuid,
        provider_id uuid,
        status varchar(16) not null check (status in ({STATUSES})),
        reason varchar(500),
        token_hash bytea unique check (token_hash is null or length(token_hash) = 32),
        channel varchar(16),
        channels_tried varchar(16)[] not null default '{{}}',
        notification_id uuid,
        send_at timestamptz,
        sent_at timestamptz,
        expires_at timestamptz,
        answered_at timestamptz,
        score smallint check (score between 1 and 5),
        clarity smallint check (clarity between 1 and 5),
        comment varchar(1000),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, event_type, event_id),
        check ((answered_at is null) = (score is null) and (score is null) = (clarity is null)),
        check (status = 'unsent' or token_hash is not null),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    # min_days_between: the patient's latest survey.
    "create index metric_surveys_patient on metric_surveys (tenant_id, patient_id, created_at desc)",
    # Facts of the score metrics (answer time) and of the response rate (sent time); the staff list.
    "create index metric_surveys_answered on metric_surveys (tenant_id, answered_at) where answered_at is not null",
    "create index metric_surveys_sent on metric_surveys (tenant_id, sent_at) where sent_at is not null",
    "create index metric_surveys_created on metric_surveys (tenant_id, created_at desc, id desc)",
    "create index metric_surveys_notification on metric_surveys (tenant_id, notification_id)",
    # The public page resolves a token's tenant without a credential: the tenant id of one hash, nothing more.
    """create or replace function metric_survey_tenant(token_hash bytea)
        returns uuid language sql stable security definer set search_path = public as $$
            select s.tenant_id from metric_surveys s where s.token_hash = metric_survey_tenant.token_hash
        $$""",
    "revoke all on function metric_survey_tenant(bytea) from public",
    # core/db/roles.py grants the app role execute on functions whose comment starts with "carecoord:app".
    "comment on function metric_survey_tenant(bytea) is 'carecoord:app: the tenant of a survey token hash'",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="metrics", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *tenant_table_security("metric_surveys")])

    manager.add_raw(run)
    return manager
