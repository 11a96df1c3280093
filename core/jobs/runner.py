"""Run one delivery of one message, exactly as a worker does.

The worker's Dramatiq actors are thin wrappers around :func:`run_job`; tests and the
``carecoord jobs`` commands call it directly. The effect key is inserted into
``job_effects`` in the same tenant transaction as the actor's work, so a message
delivered five times has one effect: later deliveries find the key and do nothing.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Literal
from uuid import UUID

from core.db.tenant import TenantInactiveError, tenant_transaction
from core.jobs.catalog import CORE_MODULES, BoundActor, actor_catalog
from core.jobs.context import JobContext
from core.jobs.errors import PermanentError, TenantMissingError
from core.plugins.manager import PluginHost, get_host
from core.plugins.tenant_modules import tenant_modules

log = logging.getLogger("carecoord.jobs")

Outcome = Literal["done", "duplicate", "module_disabled"]


class _SkipError(Exception):
    """Unwinds the transaction (and its effect row) when the actor must not run."""


def parse_tenant(value: object) -> UUID:
    """The message's tenant; anything else is a permanent failure (the message is dead-lettered)."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str) or not value:
        raise TenantMissingError("the message carries no tenant_id")
    try:
        return UUID(value)
    except ValueError:
        raise TenantMissingError(f"the message's tenant_id {value[:64]!r} is not a UUID") from None


def effect_key_for(message_id: str, effect_key: str | None) -> str:
    return effect_key or f"message:{message_id}"


def find_actor(actor_name: str, host: PluginHost | None = None) -> BoundActor:
    bound = actor_catalog(host or get_host()).get(actor_name)
    if bound is None:
        raise PermanentError(f"no actor named {actor_name!r} is loaded")
    return bound


def check_payload(bound: BoundActor, payload: object) -> dict[str, Any]:
    """The payload must be an object whose keys the actor accepts; otherwise retrying cannot help."""
    if not isinstance(payload, dict):
        raise PermanentError(f"{bound.name}: the payload must be a JSON object")
    try:
        inspect.signature(bound.spec.fn).bind(None, **payload)
    except TypeError as exc:
        raise PermanentError(f"{bound.name}: payload does not fit the actor: {exc}") from None
    return payload


async def run_job(
    actor_name: str,
    *,
    tenant_id: object,
    payload: object,
    message_id: str,
    effect_key: str | None = None,
    attempt: int = 0,
    host: PluginHost | None = None,
) -> Outcome:
    """Run ``actor_name`` for one message; returns what happened.

    Raises:
        PermanentError: the message can never succeed (no tenant, unknown actor, bad payload,
            inactive tenant, or the actor said so); the worker dead-letters it at once.
        Exception: anything else the actor raised; the worker retries by the actor's policy.
    """
    host = host or get_host()
    tenant = parse_tenant(tenant_id)
    bound = find_actor(actor_name, host)
    kwargs = check_payload(bound, payload)
    key = effect_key_for(message_id, effect_key)
    try:
        async with tenant_transaction(tenant, require_active=True) as tx:
            first = await tx.fetchval(
                "insert into job_effects (tenant_id, idempotency_key, actor_name, message_id) "
                "values ($1, $2, $3, $4) on conflict do nothing returning true",
                tenant,
                key[:200],
                bound.name,
                message_id[:64],
            )
            if not first:
                return "duplicate"
            settings = None
            if bound.module not in CORE_MODULES:
                modules = await tenant_modules(host, tx, tenant)
                if bound.module not in modules.enabled:
                    raise _SkipError
                settings = modules.settings.get(bound.module)
            ctx = JobContext(
                module=bound.module,
                tx=tx,
                tenant_id=tenant,
                settings=settings,
                actor_name=bound.name,
                message_id=message_id,
                attempt=attempt,
                plugins=host,
            )
            result = bound.spec.fn(ctx, **kwargs)
            if inspect.isawaitable(result):
                await result
    except _SkipError:
        log.info("skipped %s for tenant %s: module %s is not enabled", bound.name, tenant, bound.module)
        return "module_disabled"
    except TenantInactiveError:
        raise PermanentError(f"tenant {tenant} is not active") from None
    return "done"
