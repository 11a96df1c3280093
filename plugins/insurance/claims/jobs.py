"""Background jobs of insurance claims: actors and periodic jobs (registered in plugins.insurance.hooks)."""

from __future__ import annotations

from core.plugins.sdk import ActorSpec, PeriodicJob

ACTORS: list[ActorSpec] = []
PERIODIC_JOBS: list[PeriodicJob] = []
