"""Binding the actor catalog to the broker: one Dramatiq actor per core or plugin actor.

Every Dramatiq actor is the same thin wrapper: it hands the message to
:func:`core.jobs.runner.run_job`, which opens the tenant's transaction and records the
effect key. Retry policy comes from the actor's declaration, with carecoord's defaults
(5 retries, 1 s to 5 min backoff) and :class:`PermanentError` always in ``throws``.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from core.jobs.catalog import BoundActor, actor_catalog
from core.jobs.errors import PermanentError
from core.jobs.runner import run_job
from core.plugins.manager import PluginHost

log = logging.getLogger("carecoord.worker")

DEFAULT_OPTIONS: dict[str, Any] = {"max_retries": 5, "min_backoff": 1_000, "max_backoff": 300_000}


def options_for(bound: BoundActor) -> dict[str, Any]:
    options = {**DEFAULT_OPTIONS, **bound.spec.options}
    throws = options.get("throws") or ()
    throws = tuple(throws) if isinstance(throws, (tuple, list)) else (throws,)
    if not any(issubclass(PermanentError, t) for t in throws):
        throws = (*throws, PermanentError)
    options["throws"] = throws
    return options


def _deliver(name: str, host: PluginHost) -> Any:
    async def deliver(
        tenant_id: str | None = None, payload: Any = None, effect_key: str | None = None, **unexpected: Any
    ) -> None:
        message = CurrentMessage.get_current_message()
        if message is None:
            raise RuntimeError("the CurrentMessage middleware is missing")
        if unexpected:
            raise PermanentError(f"unexpected message fields: {sorted(unexpected)}")
        outcome = await run_job(
            name,
            tenant_id=tenant_id,
            payload=payload if payload is not None else {},
            message_id=message.message_id,
            effect_key=effect_key,
            attempt=int(message.options.get("retries", 0)),
            host=host,
        )
        if outcome != "done":
            log.info("%s %s for message %s", name, outcome, message.message_id)

    deliver.__name__ = name.replace(".", "__")
    return deliver


def bind_actors(broker: dramatiq.Broker, host: PluginHost) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every actor of the catalog on ``broker``; returns them by name."""
    bound: dict[str, dramatiq.Actor[Any, Any]] = {}
    for name, entry in actor_catalog(host).items():
        declare = dramatiq.actor(actor_name=name, queue_name=entry.queue, broker=broker, **options_for(entry))
        bound[name] = declare(_deliver(name, host))
    return bound
