"""Account onboarding: users waiting for e-mail verification or an accepted invitation, their single-use
tokens, and the organization's business hours.

A ``pending`` user exists (counted against the plan, listed, invitable again) but cannot log in until
the link e-mailed to them is used. ``user_tokens`` holds only the SHA-256 of each link's secret; the
link itself carries the tenant and the row id, so a lookup runs under the tenant's own RLS pin.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-24T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending users, e-mail verification and invitation tokens, business hours"

BUSINESS_HOURS = '{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "17:00"}'

SCHEMA = [
    """alter table users
        drop constraint users_status_check,
        add constraint users_status_check check (status in ('active', 'disabled', 'pending')),
        add column email_verified_at timestamptz""",
    f"""alter table tenants
        add column business_hours jsonb not null default '{BUSINESS_HOURS}'::jsonb
            check (jsonb_typeof(business_hours) = 'object')""",
    """create table user_tokens (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        user_id uuid not null,
        purpose varchar(16) not null check (purpose in ('verify_email', 'invite')),
        token_hash varchar(64) not null,
        expires_at timestamptz not null,
        used_at timestamptz,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, user_id) references users (tenant_id, id))""",
    "create index user_tokens_user on user_tokens (tenant_id, user_id, purpose)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("user_tokens")])

    manager.add_raw(run)
    return manager
