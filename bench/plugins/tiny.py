"""Twenty tiny plugins for the dispatch-overhead workload: a module each, and no-op hooks.

Each plugin is a class (hashable, as the host requires) with ``register_module`` and the event hooks
a patient or referral request fires; they do no work, so a request's extra time with them enabled is
what core spends on enabled modules. They are loaded only into the API the benchmark starts, named in
``CARECOORD_PLUGINS_EXTRA`` (see ``extra_plugins_env``); no entry point, nothing installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.plugins.sdk import ModuleSpec, hookimpl

COUNT = 20


def _plugin(index: int) -> type:
    class Tiny:
        @staticmethod
        @hookimpl
        def register_module() -> ModuleSpec:
            return ModuleSpec(name=f"bench_{index:02d}", title=f"Bench plugin {index}")

        @staticmethod
        @hookimpl
        def patient_created(ctx: Any, patient: Any) -> None:
            return None

        @staticmethod
        @hookimpl
        def patient_updated(ctx: Any, patient: Any, changed: Sequence[str]) -> None:
            return None

        @staticmethod
        @hookimpl
        def referral_status_changed(ctx: Any, referral: Any, previous_status: str | None) -> None:
            return None

    Tiny.__name__ = Tiny.__qualname__ = f"Tiny{index:02d}"
    return Tiny


PLUGINS: dict[str, type] = {f"bench_{i:02d}": _plugin(i) for i in range(COUNT)}
"""Plugin (and module) name -> plugin."""


def __getattr__(name: str) -> type:
    """``bench.plugins.tiny:bench_07`` resolves through here (what an entry point value names)."""
    try:
        return PLUGINS[name]
    except KeyError:
        raise AttributeError(name) from None


def modules(count: int) -> list[str]:
    """The first ``count`` modules (what a tenant enables to have ``count`` tiny plugins)."""
    return list(PLUGINS)[:count]


def extra_plugins_env() -> dict[str, str]:
    """The environment that loads all of them into a carecoord process."""
    return {"CARECOORD_PLUGINS_EXTRA": ",".join(f"{name}={__name__}:{name}" for name in PLUGINS)}
