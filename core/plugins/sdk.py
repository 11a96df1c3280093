"""Everything a plugin author imports, in one place.

```python
from core.plugins.sdk import ModuleSpec, PluginContext, hookimpl

@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(name="hello", title="Hello")
```

See ``docs/plugins.md`` for every hook and a complete example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.auth.guards import requires_permission
from core.care.tasks.service import TaskInputError, create_task
from core.db.raw import run_statements
from core.db.rls import rls_statements as tenant_table_security
from core.http.problems import problem
from core.jobs.context import JobContext
from core.jobs.errors import PermanentError, payload_uuid
from core.metrics.spec import MetricFact, MetricSpec
from core.notifications.inbound_opt_outs import OptOutError, opt_in, opt_out
from core.notifications.inbound_schemas import InboundMessage
from core.plugins.context import PluginContext
from core.plugins.hookspecs import HOOK_API_VERSION, hookimpl
from core.plugins.records import (
    ChannelSpec,
    ModuleSpec,
    PeriodicJob,
    PermissionSpec,
    PortalPage,
    ReportSpec,
)
from core.portal.api import ApiError, PortalApi, portal_api
from core.portal.forms import form_fields
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user
from core.reports.data import ChartSpec, ReportColumn, ReportData
from core.reports.periods import CHUNK_ROWS, Period, cursor_chunks, local_days


@dataclass(frozen=True)
class ActorSpec:
    """A background job, declared now and bound to the Dramatiq broker by the worker process.

    Declaring instead of decorating with ``dramatiq.actor`` keeps importing a plugin free of
    broker set-up; the worker runs ``fn(ctx, **payload)`` inside the message's tenant transaction.
    """

    name: str
    fn: Callable[..., Any]
    queue: str = "default"
    options: dict[str, Any] = field(default_factory=dict)


def actor(
    *, name: str | None = None, queue: str = "default", **options: Any
) -> Callable[[Callable[..., Any]], ActorSpec]:
    """Declare ``fn`` as an actor; ``options`` are Dramatiq's (``max_retries``, ``throws``...)."""

    def declare(fn: Callable[..., Any]) -> ActorSpec:
        return ActorSpec(name=name or fn.__name__, fn=fn, queue=queue, options=options)

    return declare


__all__ = [
    "CHUNK_ROWS",
    "HOOK_API_VERSION",
    "ActorSpec",
    "ApiError",
    "ChannelSpec",
    "ChartSpec",
    "InboundMessage",
    "JobContext",
    "MetricFact",
    "MetricSpec",
    "ModuleSpec",
    "OptOutError",
    "Period",
    "PeriodicJob",
    "PermanentError",
    "PermissionSpec",
    "PluginContext",
    "PortalApi",
    "PortalPage",
    "PortalUser",
    "ReportColumn",
    "ReportData",
    "ReportSpec",
    "TaskInputError",
    "actor",
    "create_task",
    "current_user",
    "cursor_chunks",
    "form_fields",
    "hookimpl",
    "local_days",
    "opt_in",
    "opt_out",
    "payload_uuid",
    "portal_api",
    "problem",
    "render",
    "requires_permission",
    "run_statements",
    "tenant_table_security",
]
