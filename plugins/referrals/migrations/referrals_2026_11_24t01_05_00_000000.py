"""What the referral metrics read: the SLA outcome stored when the clock stops, event times kept from the log.

Existing referrals get their event times (``plugins/referrals/log_times.py``) and their SLA stop
time and status from the log here (plain SQL); whether a stopped clock met its target needs the
organization's business calendar, so ``referrals.check_sla`` evaluates those on its next runs
(``sla_met`` null marks them).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements
from plugins.referrals.log_times import REFRESH_ALL

ID = "2026-11-24T01:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral SLA outcome, event times from the log, metric indexes"

STOPS = "'scheduled','seen','closed','cancelled','replaced','rejected'"

SCHEMA = [
    f"""alter table referrals
        add column sla_stopped_at timestamptz,
        add column sla_stop_status varchar(16) check (sla_stop_status in ({STOPS})),
        add column sla_met boolean,
        add column first_sent_at timestamptz,
        add column first_scheduled_at timestamptz,
        add column first_seen_at timestamptz,
        add column ended_at timestamptz,
        add check (sla_met is null or sla_stopped_at is not null),
        add check ((sla_stopped_at is null) = (sla_stop_status is null))""",
    "alter table referral_transitions add column left_at timestamptz",
    # referrals_within_sla_pct: stops in a window; check_sla: stops not evaluated yet
    "create index referrals_sla_stopped on referrals (tenant_id, sla_stopped_at) where sla_stopped_at is not null",
    "create index referrals_sla_pending on referrals (tenant_id, sla_stopped_at) "
    "where sla_stopped_at is not null and sla_met is null",
    # scheduling metrics; loop closure and open loops that ended in a window; open loops still open
    "create index referrals_first_scheduled on referrals (tenant_id, first_scheduled_at) "
    "where first_scheduled_at is not null",
    "create index referrals_ended on referrals (tenant_id, ended_at) where ended_at is not null",
    "create index referrals_seen_open on referrals (tenant_id, first_seen_at) "
    "where first_seen_at is not null and ended_at is null",
    # stays that ended in a window (referral_median_hours_<stage>)
    "create index referral_transitions_left on referral_transitions (tenant_id, to_status, left_at) "
    "where left_at is not null",
]

# Row-level security is forced on both tables (the owner too); the backfill spans every tenant, so
# it lifts the force for its own statement inside this migration's transaction and restores it.
BACKFILL = [
    "alter table referrals no force row level security",
    "alter table referral_transitions no force row level security",
    *REFRESH_ALL,
    f"""update referrals r set sla_stopped_at = s.occurred_at, sla_stop_status = s.to_status
        from (select distinct on (t.tenant_id, t.referral_id) t.tenant_id, t.referral_id, t.occurred_at, t.to_status
              from referral_transitions t
              join (select tenant_id, referral_id, min(occurred_at) as sent_at from referral_transitions
                    where to_status = 'sent' group by tenant_id, referral_id) f
                on f.tenant_id = t.tenant_id and f.referral_id = t.referral_id
              where t.to_status in ({STOPS}) and t.occurred_at >= f.sent_at
              order by t.tenant_id, t.referral_id, t.occurred_at, t.id) s
        where r.tenant_id = s.tenant_id and r.id = s.referral_id""",
    "alter table referrals force row level security",
    "alter table referral_transitions force row level security",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *BACKFILL])

    manager.add_raw(run)
    return manager
