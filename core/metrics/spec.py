"""A metric as a module declares it: what it measures and where its facts come from.

A metric is a set of *facts* (one per event: a referral scheduled, an appointment fulfilled, a
task that became overdue), each with its event time, a value, and the coordinator and provider it
belongs to, plus an *aggregate* that turns the facts of a period into one number. The metrics
plugin buckets facts by their event time into the tenant's local days, weeks or months and groups
them by coordinator, team or provider; the module never writes that arithmetic itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

Aggregate = Literal["pct", "median", "mean", "sum", "count", "open_at_end"]
"""How the facts of a period become its value.

* ``pct``: 100 times the mean of 0/1 values (share of facts that were a success);
* ``median`` / ``mean`` / ``sum``: of the values;
* ``count``: how many facts;
* ``open_at_end``: how many facts were open at the period's end (``at`` < end and ``until`` unset
  or ≥ end); for backlogs such as open loops or overdue tasks. The current period ends *now*.
"""

Dimension = Literal["coordinator", "team", "provider"]
"""What a series can be grouped by. ``team`` is the coordinator's team (see core.teams)."""

AGGREGATES: tuple[str, ...] = Aggregate.__args__  # type: ignore[attr-defined]
DIMENSIONS: tuple[str, ...] = Dimension.__args__  # type: ignore[attr-defined]

FACT_COLUMNS = ("at", "value", "coordinator_id", "provider_id", "until")
"""The columns a ``facts`` SQL query returns, in any order: ``at timestamptz``, ``value`` (a number),
``coordinator_id uuid``, ``provider_id uuid``, ``until timestamptz`` (null where not applicable)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,79}$")


@dataclass(frozen=True)
class MetricFact:
    """One event a metric counts, as returned by a Python ``facts`` function."""

    at: datetime
    """Event time (aware); decides the period the fact falls in."""
    value: float = 1.0
    coordinator_id: UUID | None = None
    provider_id: UUID | None = None
    until: datetime | None = None
    """For ``open_at_end``: when the item stopped being open (None: still open)."""


FactsQuery = str | Callable[[Any, datetime, datetime], Awaitable[Sequence[MetricFact]]]
"""SQL run in the tenant's transaction with ``$1`` = window start and ``$2`` = window end (timestamptz,
end exclusive) returning :data:`FACT_COLUMNS`; or ``async facts(ctx, start, end) -> [MetricFact]``.

Either returns the facts whose ``at`` is in ``[start, end)``; for ``open_at_end`` those with
``at < end`` and (``until`` null or ``until >= start``)."""


@dataclass(frozen=True)
class MetricSpec:
    """A KPI of a module, listed in ``GET /api/v1/metrics`` while the tenant has the module enabled."""

    name: str
    description: str
    unit: str
    """Shown next to values: ``%``, ``h``, ``d``, ``count``, ``score``."""
    compute: Callable[..., Awaitable[float | None]] | None = None
    """Simple form: ``async compute(ctx, start, end) -> value`` for one period (no dimensions)."""
    facts: FactsQuery | None = None
    """Full form: where the facts come from (see :data:`FactsQuery`); then set ``aggregate``."""
    aggregate: Aggregate = "mean"
    dimensions: tuple[Dimension, ...] = ()
    """Groupings the facts support; ``team`` needs ``coordinator_id``, ``provider`` needs ``provider_id``."""
    target: float | None = None
    """Default goal (a tenant may override it in the metrics module's settings)."""
    better: Literal["higher", "lower"] = "higher"
    """Whether values above the target are good (rates met) or bad (no-shows, overdue tasks)."""
    dashboard: bool = True
    """Shown on ``/metrics/dashboard``; False for drill-down figures (still in the catalogue and reports)."""
    category: str = ""
    """Dashboard section (``Referrals``, ``Insurance``...); defaults to the module's name."""
    module: str = ""
    """Set by the host to the registering plugin's module."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r} must be 2-80 lower-case letters, digits or underscores")
        if (self.compute is None) == (self.facts is None):
            raise ValueError(f"metric {self.name!r}: give exactly one of compute or facts")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"metric {self.name!r}: aggregate must be one of {', '.join(AGGREGATES)}")
        unknown = [d for d in self.dimensions if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"metric {self.name!r}: unknown dimension {unknown[0]!r}")
        if self.compute is not None and self.dimensions:
            raise ValueError(f"metric {self.name!r}: dimensions need facts, not compute")
        if "team" in self.dimensions and "coordinator" not in self.dimensions:
            raise ValueError(f"metric {self.name!r}: the team dimension is derived from the coordinator")


def owned_metrics(module: str, specs: Sequence[Any], taken: Sequence[MetricSpec]) -> list[MetricSpec]:
    """A plugin's metrics stamped with its module; raises on a wrong type or a name already taken."""
    names = {spec.name for spec in taken}
    owned: list[MetricSpec] = []
    for spec in specs:
        if not isinstance(spec, MetricSpec):
            raise TypeError("register_metrics must return MetricSpec objects")
        if spec.name in names:
            raise ValueError(f"metric {spec.name!r} is registered twice")
        names.add(spec.name)
        owned.append(replace(spec, module=module, category=spec.category or module.replace("_", " ").capitalize()))
    return owned
