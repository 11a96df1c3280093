"""Subscriptions to the metrics module's scheduled reports: who gets which report e-mailed, in which format.

Table ``metric_report_subscriptions`` (row-level security like every tenant table): one row per user
and report; the weekly and monthly jobs build one run per format subscribed and e-mail it.
Table ``metric_report_schedule_runs`` remembers the run each job created per report, period and format,
so a job that runs twice (a retry, two schedulers) never creates a second run or sends a second e-mail.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-24T01:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "metric report subscriptions"

REPORTS = "'metrics.weekly_referral_report','metrics.monthly_kpi_pack'"

SCHEMA = [
    f"""create table metric_report_subscriptions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        user_id uuid not null,
        report varchar(120) not null check (report in ({REPORTS})),
        format varchar(8) not null check (format in ('pdf','xlsx','csv')),
        created_by uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, user_id, report),
        foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade)""",
    # The scheduled job reads a report's subscribers.
    "create index metric_report_subscriptions_report on metric_report_subscriptions (tenant_id, report, format)",
    """create table metric_report_schedule_runs (
        tenant_id uuid not null references tenants(id),
        report varchar(120) not null,
        period_start date not null,
        format varchar(8) not null check (format in ('pdf','xlsx','csv')),
        run_id uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, report, period_start, format),
        foreign key (tenant_id, run_id) references report_runs (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="metrics", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(
            [
                *SCHEMA,
                *tenant_table_security("metric_report_subscriptions"),
                *tenant_table_security("metric_report_schedule_runs"),
            ]
        )

    manager.add_raw(run)
    return manager
