"""Which adapter talks to a payer: the registered adapters and a payer's chosen one with its configuration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from core.notifications.crypto import SecretsUnreadableError, decrypt_secrets
from core.payers.adapter import PayerAdapter, PayerAdapterSpec
from core.plugins.manager import PluginHost, get_host
from core.plugins.sdk import PluginContext


class PayerNotConfiguredError(Exception):
    """The payer is unknown, inactive, or set up with an adapter that is not installed."""


class AdapterConfigError(ValueError):
    """An adapter configuration its schema refuses; ``field`` names the offending key when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def adapter_specs(host: PluginHost | None = None) -> dict[str, PayerAdapterSpec]:
    """Every installed payer adapter by name (core plugins' and partners')."""
    host = host or get_host()
    return {spec.name: spec for spec in host.contributions.payer_adapters}


def check_config(spec: PayerAdapterSpec, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` validated by the adapter's schema (defaults filled in); raises AdapterConfigError."""
    if spec.settings is None:
        if config:
            raise AdapterConfigError(f"the {spec.name} adapter takes no configuration", "adapter_config")
        return {}
    try:
        value = msgspec.convert(config, spec.settings)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("at `$.", 1)[-1].rstrip("`").split(".")[0] if "at `$." in message else None
        raise AdapterConfigError(message, f"adapter_config.{field}" if field else "adapter_config") from None
    return dict(msgspec.to_builtins(value))


async def adapter_for(ctx: PluginContext, payer_id: UUID) -> tuple[PayerAdapter, dict[str, Any], Any]:
    """The adapter of an active payer, its validated configuration and the payer row."""
    payer = await ctx.tx.fetchrow(
        "select id, name, payer_code, adapter, adapter_config, adapter_secrets, active from insurance_payers "
        "where id = $1",
        payer_id,
    )
    if payer is None or not payer["active"]:
        raise PayerNotConfiguredError("the payer is not in the directory (or no longer active)")
    spec = adapter_specs(ctx.plugins).get(payer["adapter"])
    if spec is None:
        raise PayerNotConfiguredError(f"the payer's adapter {payer['adapter']!r} is not installed")
    raw = payer["adapter_config"]
    config = msgspec.json.decode(raw) if isinstance(raw, str | bytes) else dict(raw or {})
    try:
        checked = check_config(spec, config)
        secrets = decrypt_secrets(payer["adapter_secrets"])
    except AdapterConfigError as exc:
        raise PayerNotConfiguredError(f"the payer's adapter configuration is invalid: {exc.message}") from None
    except SecretsUnreadableError as exc:
        raise PayerNotConfiguredError(f"the payer's credentials cannot be read: {exc}") from None
    return spec.adapter, {**checked, "secrets": secrets}, payer
