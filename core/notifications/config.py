"""Per-tenant channel configuration: enabled flag, options, and credentials encrypted at rest.

Secrets are write-only: the API accepts them, stores a Fernet token and reports only which
names are set. They are decrypted only in the worker, for the send that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from core.db.tenant import Tx
from core.http.context import RequestContext
from core.notifications.channels.base import Channel
from core.notifications.crypto import SecretsUnreadableError, decrypt_secrets, encrypt_secrets

MAX_SECRET_LENGTH = 500


class ConfigError(ValueError):
    """An option or secret the channel does not accept."""


@dataclass
class StoredConfig:
    enabled: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    secret_token: str | None = field(default=None, repr=False)
    secret_names: list[str] = field(default_factory=list)
    updated_at: datetime | None = None

    def secrets(self) -> dict[str, str]:
        return decrypt_secrets(self.secret_token)


async def load_config(tx: Tx, channel: str) -> StoredConfig:
    row = await tx.fetchrow(
        "select enabled, options, secrets, secret_names, updated_at from notification_channel_configs "
        "where channel = $1",
        channel,
    )
    if row is None:
        return StoredConfig()
    options = row["options"]
    return StoredConfig(
        enabled=row["enabled"],
        options=msgspec.json.decode(options) if isinstance(options, str) else dict(options),
        secret_token=row["secrets"],
        secret_names=list(row["secret_names"]),
        updated_at=row["updated_at"],
    )


def merge_secrets(channel: Channel, current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """Apply ``changes`` (a value sets, null removes, absent keeps) to ``current``."""
    merged = dict(current)
    for name, value in changes.items():
        if channel.secret_names is not None and name not in channel.secret_names:
            accepted = ", ".join(sorted(channel.secret_names)) or "none"
            raise ConfigError(f"the {channel.name} channel takes no secret {name!r} (accepted: {accepted})")
        if value is None:
            merged.pop(name, None)
        elif not value or len(value) > MAX_SECRET_LENGTH:
            raise ConfigError(f"secret {name!r} must be 1 to {MAX_SECRET_LENGTH} characters")
        else:
            merged[name] = value
    return merged


async def save_config(
    ctx: RequestContext,
    channel: Channel,
    *,
    enabled: bool,
    options: dict[str, Any],
    secret_changes: dict[str, str | None],
) -> StoredConfig:
    """Validate and store the tenant's configuration of ``channel``; audit names, never values."""
    try:
        checked = channel.check_options(options)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    current = await load_config(ctx.tx, channel.name)
    existing: dict[str, str] = {}
    if secret_changes:
        try:
            existing = current.secrets()
        except SecretsUnreadableError:  # keys rotated away: what is entered now replaces them all
            existing = {}
    secrets = merge_secrets(channel, existing, secret_changes)
    if secret_changes:
        token = encrypt_secrets(secrets) if secrets else None
        names = sorted(secrets)
    else:
        token, names = current.secret_token, current.secret_names
    row = await ctx.tx.fetchrow(
        """insert into notification_channel_configs (tenant_id, channel, enabled, options, secrets, secret_names,
               updated_by, updated_at)
           values ($1, $2, $3, $4::jsonb, $5, $6, $7, now())
           on conflict (tenant_id, channel) do update set enabled = excluded.enabled, options = excluded.options,
               secrets = excluded.secrets, secret_names = excluded.secret_names, updated_by = excluded.updated_by,
               updated_at = now()
           returning updated_at""",
        ctx.tenant_id,
        channel.name,
        enabled,
        msgspec.json.encode(checked).decode(),
        token,
        names,
        ctx.principal.actor_id,
    )
    from core.audit.service import record

    await record(
        ctx,
        "notification_channel.configure",
        "notification_channel",
        None,
        {"channel": channel.name, "enabled": enabled, "secrets_changed": sorted(secret_changes)},
    )
    return StoredConfig(enabled, checked, token, names, row["updated_at"])
