"""What a plugin's code receives: its tenant, caller, transaction, settings, enqueue and audit.

Never global state: a plugin reaches the database only through ``ctx.tx``, which is the
tenant's transaction, so row-level security confines it to that tenant like core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from core.audit.service import append_event
from core.auth.principal import Principal
from core.db.tenant import Tx
from core.outbox.service import enqueue_message

if TYPE_CHECKING:
    from core.plugins.manager import PluginHost


class PluginContext:
    """The context handed to a plugin's hooks and route handlers."""

    __slots__ = ("ip", "module", "plugins", "principal", "request_id", "settings", "tx")

    def __init__(
        self,
        *,
        module: str,
        tx: Tx,
        principal: Principal,
        settings: msgspec.Struct | None,
        ip: str | None = None,
        request_id: str | None = None,
        plugins: PluginHost | None = None,
    ) -> None:
        self.module = module
        self.tx = tx
        self.principal = principal
        self.settings = settings
        self.ip = ip
        self.request_id = request_id
        self.plugins = plugins

    @property
    def tenant_id(self) -> UUID:
        return self.principal.tenant_id

    async def audit(
        self, action: str, resource_type: str, resource_id: UUID | None, details: dict[str, Any] | None = None
    ) -> None:
        """Record an audit event for the caller; required for every read or write of patient data."""
        await append_event(
            self.tx,
            tenant_id=self.tenant_id,
            actor_type=self.principal.kind,
            actor_id=None if self.principal.kind == "system" else self.principal.actor_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            ip=self.ip,
            request_id=self.request_id,
            details={**(details or {}), "module": self.module},
        )

    async def emit(self, hook: str, **kwargs: Any) -> None:
        """Tell the other modules this tenant enabled that ``hook`` happened (your own module too).

        Each implementation runs in its own savepoint, exactly as for core's events.
        """
        from core.http.context import RequestContext
        from core.plugins.dispatch import emit

        request = RequestContext(self.tx, self.principal, self.ip, self.request_id, self.plugins)
        await emit(request, hook, **kwargs)

    async def collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Ask the tenant's enabled modules a query hook; ``(module, answer)`` for each that answered."""
        from core.http.context import RequestContext
        from core.plugins.dispatch import collect

        request = RequestContext(self.tx, self.principal, self.ip, self.request_id, self.plugins)
        return await collect(request, hook, **kwargs)

    async def enqueue(
        self,
        actor_name: str,
        payload: dict[str, Any],
        *,
        queue: str = "default",
        idempotency_key: str | None = None,
    ) -> UUID:
        """Queue a job through the transactional outbox: it is sent only if this transaction commits."""
        return await enqueue_message(
            self.tx,
            tenant_id=self.tenant_id,
            actor_name=actor_name,
            payload=payload,
            queue=queue,
            idempotency_key=idempotency_key or None,
        )
