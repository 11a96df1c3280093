"""What an actor receives: its tenant's transaction, a system principal, settings, enqueue, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from core.auth.permissions import Permission
from core.auth.principal import Principal
from core.db.tenant import Tx
from core.http.context import RequestContext
from core.plugins.context import PluginContext

if TYPE_CHECKING:
    from core.plugins.manager import PluginHost

SYSTEM_ACTOR_ID = UUID(int=0)
"""The actor id audit events carry for work done by the platform itself (jobs, scheduler)."""


def system_principal(tenant_id: UUID) -> Principal:
    """The principal of a background job in ``tenant_id``: the platform acting for the tenant."""
    return Principal(
        tenant_id=tenant_id, actor_id=SYSTEM_ACTOR_ID, kind="system", role=None, permissions=frozenset(Permission)
    )


class JobContext(PluginContext):
    """A :class:`PluginContext` for one delivery of one message.

    ``ctx.tx`` is the tenant transaction the worker opened for this message: the
    effect, its idempotency record and any follow-up outbox rows commit together.
    """

    __slots__ = ("actor_name", "attempt", "message_id")

    def __init__(
        self,
        *,
        module: str,
        tx: Tx,
        tenant_id: UUID,
        settings: msgspec.Struct | None,
        actor_name: str,
        message_id: str,
        attempt: int = 0,
        plugins: PluginHost | None = None,
    ) -> None:
        super().__init__(
            module=module,
            tx=tx,
            principal=system_principal(tenant_id),
            settings=settings,
            request_id=f"job:{message_id}",
            plugins=plugins,
        )
        self.actor_name = actor_name
        self.message_id = message_id
        self.attempt = attempt
        """How many times this message failed before (0 on the first delivery)."""

    def request_context(self) -> RequestContext:
        """A :class:`RequestContext` on the same transaction, for calling core services (they audit as system)."""
        return RequestContext(self.tx, self.principal, None, self.request_id, self.plugins)
