"""Every hook of core.plugins.hookspecs, exercised through in-test plugins.

Each test loads small plugins into a ``PluginHost`` of its own, builds the app around that host and
talks to it over HTTP like a tenant would. Registration hooks must land in the host's contributions
(and routes and permissions must work for real); event hooks must fire, with the right arguments,
only for tenants that enabled the plugin. ``tests/plugins/test_meta.py`` insists that every hookspec
has a ``test_hook_<name>`` here.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec
import pytest
from litestar import Controller, Litestar, get, post
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from core.app import create_app
from core.auth.permissions import api_key_scopes, permissions_for
from core.auth.principal import Principal
from core.care.timeline.schemas import TimelineItem
from core.db.tenant import tenant_transaction
from core.http.context import RequestContext
from core.patients.schemas import Consent, Patient
from core.plugins import hookspecs, manager
from core.plugins.dispatch import collect, emit
from core.plugins.manager import PluginHost
from core.plugins.sdk import (
    ActorSpec,
    ChannelSpec,
    MetricSpec,
    ModuleSpec,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PortalPage,
    actor,
    hookimpl,
    requires_permission,
)
from tests.conftest import Org, add_user, create_patient, enable_module

PATIENTS = "/api/v1/patients"
MODULES = "/api/v1/admin/modules"


# --- in-test plugins ----------------------------------------------------------------------------------------------


class HookTestSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    greeting: str = "hello"
    max_reminders: int = 3


@dataclass
class Call:
    hook: str
    tenant_id: UUID
    ctx: PluginContext
    args: dict[str, Any]


@dataclass(eq=False)  # plugins must stay hashable: pluggy keeps them in sets
class Recorder:
    """A plugin that writes down every event, lifecycle and question hook call (some implementations are async)."""

    module: str = "hooktest"
    plans: frozenset[str] | None = None
    calls: list[Call] = field(default_factory=list)

    def seen(self, hook: str) -> list[Call]:
        return [c for c in self.calls if c.hook == hook]

    def _note(self, hook: str, ctx: PluginContext, **args: Any) -> None:
        self.calls.append(Call(hook, ctx.tenant_id, ctx, args))

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(
            name=self.module,
            title=f"{self.module} title",
            description="in-test",
            settings=HookTestSettings,
            plans=self.plans,
        )

    @hookimpl
    async def module_enabled(self, ctx: PluginContext) -> None:
        self._note("module_enabled", ctx)

    @hookimpl
    def module_disabled(self, ctx: PluginContext) -> None:
        self._note("module_disabled", ctx)

    @hookimpl
    async def patient_created(self, ctx: PluginContext, patient: Patient) -> None:
        # Same transaction as core's insert: the row is visible although not committed yet.
        visible = await ctx.tx.fetchval("select given_name from patients where id = $1", patient.id)
        self._note("patient_created", ctx, patient=patient, visible=visible)

    @hookimpl
    def patient_updated(self, ctx: PluginContext, patient: Patient, changed: list[str]) -> None:
        self._note("patient_updated", ctx, patient=patient, changed=changed)

    @hookimpl
    def patient_deleted(self, ctx: PluginContext, patient_id: UUID) -> None:
        self._note("patient_deleted", ctx, patient_id=patient_id)

    @hookimpl
    async def consent_changed(self, ctx: PluginContext, patient_id: UUID, consent: Consent) -> None:
        self._note("consent_changed", ctx, patient_id=patient_id, consent=consent)

    @hookimpl
    async def appointment_booked(self, ctx: PluginContext, appointment: Any) -> None:
        self._note("appointment_booked", ctx, appointment=appointment)

    @hookimpl
    def appointment_cancelled(self, ctx: PluginContext, appointment: Any) -> None:
        self._note("appointment_cancelled", ctx, appointment=appointment)

    @hookimpl
    def appointment_status_changed(self, ctx: PluginContext, appointment: Any, previous_status: str) -> None:
        self._note("appointment_status_changed", ctx, appointment=appointment, previous_status=previous_status)

    @hookimpl
    def appointment_rescheduled(
        self, ctx: PluginContext, appointment: Any, previous_start: datetime, previous_end: datetime
    ) -> None:
        self._note("appointment_rescheduled", ctx, appointment=appointment, start=previous_start, end=previous_end)

    @hookimpl
    async def referral_status_changed(self, ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
        self._note("referral_status_changed", ctx, status=referral.status, previous_status=previous_status)

    @hookimpl
    async def notification_status_changed(
        self, ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
    ) -> None:
        self._note("notification_status_changed", ctx, notification_id=notification_id, status=status)

    @hookimpl
    async def message_received(self, ctx: PluginContext, message: Any) -> None:
        self._note("message_received", ctx, message=message)

    @hookimpl
    async def timeline_items(
        self, ctx: PluginContext, patient_id: UUID, since: datetime, until: datetime
    ) -> list[TimelineItem]:
        self._note("timeline_items", ctx, patient_id=patient_id, since=since, until=until)
        settings = ctx.settings
        assert isinstance(settings, HookTestSettings)
        return [TimelineItem(occurred_at=since, kind="ping", title=f"{settings.greeting} from {self.module}")]


class Raiser:
    """A plugin whose patient_created queues a job, then raises: the job must vanish with its savepoint."""

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="raiser", title="Raiser")

    @hookimpl
    async def patient_created(self, ctx: PluginContext, patient: Patient) -> None:
        await ctx.enqueue("raiser.follow_up", {"patient_id": str(patient.id)})
        raise RuntimeError(f"raiser cannot handle {patient.mrn}")

    @hookimpl
    def timeline_items(self, ctx: PluginContext, patient_id: UUID) -> list[TimelineItem]:
        raise LookupError(f"no timeline for {patient_id}")


class HookTestController(Controller):
    path = "/"

    @get("/whoami")
    async def whoami(self, plugin: PluginContext) -> dict[str, Any]:
        settings = plugin.settings
        assert isinstance(settings, HookTestSettings)
        count = await plugin.tx.fetchval("select count(*) from patients")
        return {
            "module": plugin.module,
            "tenant_id": str(plugin.tenant_id),
            "actor_id": str(plugin.principal.actor_id),
            "greeting": settings.greeting,
            "patients": count,
        }

    @post("/ping/{patient_id:uuid}", status_code=202)
    async def ping(self, plugin: PluginContext, patient_id: UUID) -> dict[str, str]:
        await plugin.audit("hooktest.ping", "patient", patient_id, {"why": "test"})
        job = await plugin.enqueue("hooktest.send_ping", {"patient_id": str(patient_id)}, idempotency_key="p1")
        return {"job": str(job)}

    @post("/approve", status_code=200, guards=[requires_permission("hooktest:approve")])
    async def approve(self, plugin: PluginContext) -> dict[str, str]:
        return {"approved_by": plugin.principal.role or "-"}


@get("/hooktest-public/{word:str}", opt={"public": True})
async def hooktest_public_echo(word: str) -> dict[str, str]:
    return {"echo": word}


@get("/hooktest-private/{word:str}")
async def hooktest_private_echo(word: str) -> dict[str, str]:
    return {"echo": word}


class Contributor:
    """A plugin using every registration hook."""

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="hooktest", title="Hook test", settings=HookTestSettings)

    @hookimpl
    def register_routes(self) -> list[Any]:
        return [HookTestController]

    @hookimpl
    def register_public_routes(self) -> list[Any]:
        return [hooktest_public_echo]

    @hookimpl
    def register_piccolo_apps(self) -> list[str]:
        return ["hooktest.piccolo_app"]

    @hookimpl
    def register_actors(self) -> list[ActorSpec]:
        return [send_ping]

    @hookimpl
    def register_permissions(self) -> list[PermissionSpec]:
        return [
            PermissionSpec("hooktest:approve", "Approve hook tests", roles=frozenset({"owner", "coordinator"})),
            PermissionSpec("hooktest:read", "Read hook tests", api_key_scope=True),
        ]

    @hookimpl
    def register_notification_channels(self) -> list[ChannelSpec]:
        return [ChannelSpec("pigeon", "Carrier pigeon", send=send_pigeon)]

    @hookimpl
    def register_metrics(self) -> list[MetricSpec]:
        return [MetricSpec("pings_per_day", "Pings sent per day", "1/d", compute=compute_pings)]

    @hookimpl
    def register_portal_pages(self) -> list[PortalPage]:
        return [PortalPage("dashboard", "Hook test dashboard", handler=portal_dashboard, menu_section="Care")]

    @hookimpl
    def register_periodic_jobs(self) -> list[PeriodicJob]:
        return [PeriodicJob("nightly_ping", "0 2 * * *", "hooktest.send_ping")]

    @hookimpl
    def register_cli_commands(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        greet = subparsers.add_parser("hooktest-greet", help="say hello")
        greet.add_argument("--name", required=True)
        greet.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)


@actor(queue="hooktest", max_retries=2)
async def send_ping(ctx: PluginContext, patient_id: str) -> None:
    """The actor behind the ``ping`` route."""


async def send_pigeon(ctx: Any, recipient: str, message: str) -> str:
    return f"pigeon-{recipient}-{len(message)}"


async def compute_pings(ctx: Any, start: datetime, end: datetime) -> float | None:
    return 4.0


@get("/dashboard")
async def portal_dashboard() -> str:
    return "dashboard"


class Appointment(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    status: str
    starts_at: datetime


# --- helpers ------------------------------------------------------------------------------------------------------


def load(*plugins: tuple[str, object]) -> PluginHost:
    host = PluginHost(load_entry_points=False, plugins=plugins, environ={})
    for name, _ in plugins:
        assert host.records[name].status == "loaded", host.records[name].error
    return host


AppClient = Callable[[Litestar], AsyncTestClient[Any]]
"""The ``app_client`` fixture: a client for another app, on the session client's loop, no lifespan."""


def serve(app_client: AppClient, settings: Any, host: PluginHost) -> AsyncTestClient[Any]:
    """The carecoord API built around ``host`` instead of the installed plugins."""
    return app_client(create_app(settings, host=host))


@dataclass
class Stage:
    """Two tenants, one app: ``org`` enabled the recorder, ``other_org`` did not."""

    api: AsyncTestClient[Any]
    host: PluginHost
    recorder: Recorder
    org: Org
    other_org: Org


@pytest.fixture
async def stage(app_client: AppClient, settings: Any, org: Org, other_org: Org) -> AsyncIterator[Stage]:
    recorder = Recorder()
    bystander = Recorder(module="bystander")  # loaded, enabled by nobody: must never be called
    host = load(("recorder", recorder), ("bystander", bystander))
    api = serve(app_client, settings, host)
    await enable_module(api, org, "hooktest", {"greeting": "bonjour"})
    recorder.calls.clear()
    yield Stage(api, host, recorder, org, other_org)
    assert bystander.calls == []


def system_principal(org: Org) -> Principal:
    return Principal(tenant_id=org.tenant_id, actor_id=UUID(int=0), kind="system", role=None, permissions=frozenset())


async def in_tenant(stage: Stage, org: Org, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call ``hook`` outside HTTP, with a RequestContext built the way core.platform builds one.

    Runs in the loop that serves the app (the session client's portal thread), which owns the
    connection pool. Returns what ``collect`` gathered: ``(module, answer)`` per enabled plugin.
    """

    async def in_tenant_transaction() -> list[tuple[str, Any]]:
        async with tenant_transaction(org.tenant_id) as tx:
            context = RequestContext(tx, system_principal(org), None, "hook-test", plugins=stage.host)
            if hook in hookspecs.QUERY_HOOKS:
                return await collect(context, hook, **kwargs)
            await emit(context, hook, **kwargs)
            return []

    answers: list[tuple[str, Any]] = await asyncio.to_thread(stage.api.blocking_portal.call, in_tenant_transaction)
    return answers


def appointment(status: str) -> Appointment:
    return Appointment(id=uuid4(), patient_id=uuid4(), status=status, starts_at=datetime(2027, 1, 5, 9, tzinfo=UTC))


async def catalogue(api: AsyncTestClient[Any], org: Org) -> dict[str, Any]:
    response = await api.get(MODULES, headers=org.headers)
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()}


# --- registration hooks -------------------------------------------------------------------------------------------


async def test_hook_register_module_puts_the_module_in_the_catalogue(
    app_client: AppClient, settings: Any, org: Org
) -> None:
    host = load(("recorder", Recorder()), ("premium", Recorder(module="premium", plans=frozenset({"enterprise"}))))
    assert host.records["recorder"].module == "hooktest"
    assert set(host.modules) == {"hooktest", "premium"}
    api = serve(app_client, settings, host)

    modules = await catalogue(api, org)
    assert set(modules) == {"hooktest", "premium"}
    hooktest = modules["hooktest"]
    assert hooktest["title"] == "hooktest title"
    assert hooktest["description"] == "in-test"
    assert hooktest["available"] is True
    assert hooktest["enabled"] is False
    assert hooktest["settings"] == {"greeting": "hello", "max_reminders": 3}
    assert set(hooktest["settings_schema"]["$defs"]["HookTestSettings"]["properties"]) == {"greeting", "max_reminders"}

    # The plan limits the module: a starter organization sees it but cannot enable it.
    assert modules["premium"]["available"] is False
    refused = await api.put(f"{MODULES}/premium", headers=org.headers, json={"enabled": True})
    assert refused.status_code == 403, refused.text
    assert (await catalogue(api, org))["premium"]["enabled"] is False


async def test_hook_register_routes_mounts_them_for_enabled_tenants_only(
    app_client: AppClient, settings: Any, org: Org, other_org: Org
) -> None:
    host = load(("contributor", Contributor()))
    assert host.contributions.routes == {"hooktest": [HookTestController]}
    api = serve(app_client, settings, host)
    await create_patient(api, org)

    assert (await api.get("/api/v1/hooktest/whoami", headers=org.headers)).status_code == 404
    await enable_module(api, org, "hooktest", {"greeting": "hola"})
    response = await api.get("/api/v1/hooktest/whoami", headers=org.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "module": "hooktest",
        "tenant_id": str(org.tenant_id),
        "actor_id": str(org.owner_id),
        "greeting": "hola",
        "patients": 1,
    }

    # Another organization, the anonymous, and the organization once it disabled the module: no such route.
    assert (await api.get("/api/v1/hooktest/whoami", headers=other_org.headers)).status_code == 404
    assert (await api.get("/api/v1/hooktest/whoami")).status_code == 401
    disabled = await api.put(f"{MODULES}/hooktest", headers=org.headers, json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert (await api.get("/api/v1/hooktest/whoami", headers=org.headers)).status_code == 404


async def test_hook_register_public_routes_are_served_without_a_token(app_client: AppClient, settings: Any) -> None:
    host = load(("contributor", Contributor()))
    assert host.contributions.public_routes == [hooktest_public_echo]
    api = serve(app_client, settings, host)
    response = await api.get("/hooktest-public/hi")
    assert (response.status_code, response.json()) == (200, {"echo": "hi"})

    class Careless:
        @hookimpl
        def register_module(self) -> ModuleSpec:
            return ModuleSpec(name="careless", title="Careless")

        @hookimpl
        def register_public_routes(self) -> list[Any]:
            return [hooktest_private_echo]  # forgot opt={"public": True}

    refused = PluginHost(load_entry_points=False, plugins=[("careless", Careless())], environ={})
    assert refused.records["careless"].status == "failed"
    assert "public" in (refused.records["careless"].error or "")


async def test_hook_register_routes_handlers_audit_and_enqueue_in_the_tenant_transaction(
    app_client: AppClient, settings: Any, org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    api = serve(app_client, settings, load(("contributor", Contributor())))
    await enable_module(api, org, "hooktest")
    patient = await create_patient(api, org)

    first = await api.post(f"/api/v1/hooktest/ping/{patient['id']}", headers=org.headers)
    again = await api.post(f"/api/v1/hooktest/ping/{patient['id']}", headers=org.headers)
    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json()  # same idempotency key, same outbox message

    jobs = await owner_db.fetch("select actor_name, payload, queue from outbox where tenant_id = $1", org.tenant_id)
    assert [(j["actor_name"], msgspec.json.decode(j["payload"]), j["queue"]) for j in jobs] == [
        ("hooktest.send_ping", {"patient_id": patient["id"]}, "default")
    ]
    events = await owner_db.fetch(
        "select actor_type, actor_id, resource_id, details from audit_events "
        "where tenant_id = $1 and action = 'hooktest.ping'",
        org.tenant_id,
    )
    assert len(events) == 2
    assert events[0]["actor_type"] == "user"
    assert events[0]["actor_id"] == org.owner_id
    assert str(events[0]["resource_id"]) == patient["id"]
    assert msgspec.json.decode(events[0]["details"]) == {"why": "test", "module": "hooktest"}


async def test_hook_register_permissions_reach_roles_and_guards(
    client: AsyncTestClient[Any], app_client: AppClient, settings: Any, org: Org
) -> None:
    host = load(("contributor", Contributor()))
    assert [p.name for p in host.contributions.permissions] == ["hooktest:approve", "hooktest:read"]
    api = serve(app_client, settings, host)  # the app makes the plugin's permissions known

    assert "hooktest:approve" in permissions_for("coordinator")
    assert "hooktest:approve" in permissions_for("owner")
    assert "hooktest:approve" not in permissions_for("viewer")
    assert {"hooktest:read"} <= permissions_for("admin")
    assert "hooktest:read" in api_key_scopes()
    assert "hooktest:approve" not in api_key_scopes()

    await enable_module(api, org, "hooktest")
    coordinator = await add_user(client, org, "coordinator")
    viewer = await add_user(client, org, "viewer")
    allowed = await api.post("/api/v1/hooktest/approve", headers=coordinator)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"approved_by": "coordinator"}
    assert (await api.post("/api/v1/hooktest/approve", headers=viewer)).status_code == 403


async def test_hook_register_piccolo_apps_are_collected_in_load_order() -> None:
    class Second:
        @hookimpl
        def register_module(self) -> ModuleSpec:
            return ModuleSpec(name="second", title="Second")

        @hookimpl
        def register_piccolo_apps(self) -> list[str]:
            return ["second.tables.piccolo_app", "second.more.piccolo_app"]

    host = load(("contributor", Contributor()), ("second", Second()))
    assert host.contributions.piccolo_apps == [
        "hooktest.piccolo_app",
        "second.tables.piccolo_app",
        "second.more.piccolo_app",
    ]


async def test_hook_register_actors_are_collected_as_declared() -> None:
    host = load(("contributor", Contributor()))
    assert host.contributions.actors == [send_ping]
    (spec,) = host.contributions.actors
    assert isinstance(spec, ActorSpec)
    assert (spec.name, spec.queue, spec.options) == ("send_ping", "hooktest", {"max_retries": 2})
    assert spec.fn.__doc__ == "The actor behind the ``ping`` route."


async def test_hook_register_notification_channels_are_collected_and_callable() -> None:
    host = load(("contributor", Contributor()))
    (channel,) = host.contributions.channels
    assert (channel.name, channel.description) == ("pigeon", "Carrier pigeon")
    assert await channel.send(None, "loft-7", "hello") == "pigeon-loft-7-5"


async def test_hook_register_metrics_are_collected_and_computable() -> None:
    host = load(("contributor", Contributor()))
    (metric,) = host.contributions.metrics
    assert (metric.name, metric.unit) == ("pings_per_day", "1/d")
    assert await metric.compute(None, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)) == 4.0


async def test_hook_register_portal_pages_are_collected_per_module() -> None:
    host = load(("contributor", Contributor()), ("recorder", Recorder(module="quiet")))
    assert host.contributions.portal_pages == {
        "hooktest": [PortalPage("dashboard", "Hook test dashboard", handler=portal_dashboard, menu_section="Care")]
    }


async def test_hook_register_periodic_jobs_are_collected() -> None:
    host = load(("contributor", Contributor()))
    assert host.contributions.periodic_jobs == [PeriodicJob("nightly_ping", "0 2 * * *", "hooktest.send_ping")]


async def test_hook_register_cli_commands_become_carecoord_subcommands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host = load(("contributor", Contributor()))

    parser = argparse.ArgumentParser(prog="test")
    host.add_cli_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["hooktest-greet", "--name", "Ada"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "hello Ada\n"

    # And through the real ``carecoord`` command, whose parser asks the process's host.
    from core import cli

    monkeypatch.setattr(manager, "_default", host)
    assert cli.main(["hooktest-greet", "--name", "Grace"]) == 0
    assert capsys.readouterr().out == "hello Grace\n"


# --- module lifecycle ---------------------------------------------------------------------------------------------


async def test_hook_module_enabled_is_called_on_that_plugin_only(
    app_client: AppClient, settings: Any, org: Org
) -> None:
    recorder, neighbour = Recorder(), Recorder(module="neighbour")
    api = serve(app_client, settings, load(("recorder", recorder), ("neighbour", neighbour)))

    await enable_module(api, org, "hooktest", {"greeting": "salut", "max_reminders": 5})
    (call,) = recorder.calls
    assert call.hook == "module_enabled"
    assert call.tenant_id == org.tenant_id
    assert call.ctx.module == "hooktest"
    assert call.ctx.settings == HookTestSettings(greeting="salut", max_reminders=5)
    assert call.ctx.principal.actor_id == org.owner_id
    assert neighbour.calls == []

    # Changing the settings of an enabled module is not a second enablement.
    changed = await api.put(f"{MODULES}/hooktest", headers=org.headers, json={"settings": {"greeting": "ciao"}})
    assert changed.status_code == 200, changed.text
    assert len(recorder.calls) == 1

    # Enabling the neighbour tells the neighbour, not the recorder.
    await enable_module(api, org, "neighbour")
    assert [c.hook for c in neighbour.calls] == ["module_enabled"]
    assert len(recorder.calls) == 1


async def test_hook_module_disabled_is_called_on_that_plugin_only_and_data_survives(
    app_client: AppClient, settings: Any, org: Org
) -> None:
    recorder, neighbour = Recorder(), Recorder(module="neighbour")
    api = serve(app_client, settings, load(("recorder", recorder), ("neighbour", neighbour)))
    await enable_module(api, org, "hooktest", {"greeting": "hej"})
    await enable_module(api, org, "neighbour")
    recorder.calls.clear()
    neighbour.calls.clear()

    response = await api.put(f"{MODULES}/hooktest", headers=org.headers, json={"enabled": False})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False
    (call,) = recorder.calls
    assert call.hook == "module_disabled"
    assert call.tenant_id == org.tenant_id
    assert call.ctx.settings == HookTestSettings(greeting="hej")
    assert neighbour.calls == []

    # Disabling again is no transition; re-enabling brings the kept settings back.
    assert (await api.put(f"{MODULES}/hooktest", headers=org.headers, json={"enabled": False})).status_code == 200
    assert len(recorder.calls) == 1
    back = await enable_module(api, org, "hooktest")
    assert back["settings"] == {"greeting": "hej", "max_reminders": 3}
    assert [c.hook for c in recorder.calls] == ["module_disabled", "module_enabled"]
    assert recorder.calls[-1].ctx.settings == HookTestSettings(greeting="hej")


# --- domain events ------------------------------------------------------------------------------------------------


async def test_hook_patient_created_fires_for_enabled_tenants_only(stage: Stage) -> None:
    mine = await create_patient(stage.api, stage.org, given_name="Mary")
    await create_patient(stage.api, stage.other_org)

    (call,) = stage.recorder.calls
    assert call.hook == "patient_created"
    assert call.tenant_id == stage.org.tenant_id
    patient = call.args["patient"]
    assert isinstance(patient, Patient)
    assert (str(patient.id), patient.mrn, patient.given_name) == (mine["id"], mine["mrn"], "Mary")
    assert call.args["visible"] == "Mary"  # awaited inside the request's transaction
    assert call.ctx.settings == HookTestSettings(greeting="bonjour")
    assert call.ctx.principal.actor_id == stage.org.owner_id
    assert call.ctx.request_id


async def test_hook_patient_created_failure_is_isolated_counted_and_shown_to_the_admin(
    app_client: AppClient, settings: Any, org: Org, other_org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    recorder = Recorder()
    api = serve(app_client, settings, load(("raiser", Raiser()), ("recorder", recorder)))
    for tenant in (org, other_org):
        await enable_module(api, tenant, "raiser")
    await enable_module(api, org, "hooktest")
    before = REGISTRY.get_sample_value(
        "carecoord_plugin_hook_failures_total", {"plugin": "raiser", "hook": "patient_created"}
    )

    first = await create_patient(api, org, mrn="RAISE-1")
    second = await create_patient(api, org, mrn="RAISE-2")

    # Core went on, and so did the other plugin.
    for patient in (first, second):
        assert (await api.get(f"{PATIENTS}/{patient['id']}", headers=org.headers)).status_code == 200
    assert [c.args["patient"].mrn for c in recorder.seen("patient_created")] == ["RAISE-1", "RAISE-2"]
    # The raising hook's own write was undone with its savepoint.
    assert await owner_db.fetchval("select count(*) from outbox where actor_name = 'raiser.follow_up'") == 0
    # Counted per plugin and hook, and visible to this organization's admins only.
    after = REGISTRY.get_sample_value(
        "carecoord_plugin_hook_failures_total", {"plugin": "raiser", "hook": "patient_created"}
    )
    assert after == (before or 0) + 2
    (failure,) = (await catalogue(api, org))["raiser"]["failures"]
    assert failure["hook"] == "patient_created"
    assert failure["failures"] == 2
    assert failure["last_error"] == "RuntimeError: raiser cannot handle RAISE-2"
    assert (await catalogue(api, other_org))["raiser"]["failures"] == []


async def test_hook_patient_updated_receives_the_patient_after_the_change(stage: Stage) -> None:
    mine = await create_patient(stage.api, stage.org)
    theirs = await create_patient(stage.api, stage.other_org)
    stage.recorder.calls.clear()

    change = {"family_name": "Byron", "phone": "+1 555 010 9999"}
    for tenant, patient in ((stage.org, mine), (stage.other_org, theirs)):
        response = await stage.api.patch(f"{PATIENTS}/{patient['id']}", headers=tenant.headers, json=change)
        assert response.status_code == 200, response.text

    (call,) = stage.recorder.calls
    assert call.hook == "patient_updated"
    assert call.tenant_id == stage.org.tenant_id
    assert str(call.args["patient"].id) == mine["id"]
    assert call.args["patient"].family_name == "Byron"
    assert call.args["changed"] == ["family_name", "phone"]


async def test_hook_patient_deleted_receives_the_id(stage: Stage) -> None:
    mine = await create_patient(stage.api, stage.org)
    theirs = await create_patient(stage.api, stage.other_org)
    stage.recorder.calls.clear()

    for tenant, patient in ((stage.org, mine), (stage.other_org, theirs)):
        response = await stage.api.delete(f"{PATIENTS}/{patient['id']}", headers=tenant.headers)
        assert response.status_code == 204, response.text

    (call,) = stage.recorder.calls
    assert call.hook == "patient_deleted"
    assert call.tenant_id == stage.org.tenant_id
    assert call.args == {"patient_id": UUID(mine["id"])}


async def test_hook_consent_changed_on_grant_and_revoke(stage: Stage) -> None:
    mine = await create_patient(stage.api, stage.org)
    theirs = await create_patient(stage.api, stage.other_org)
    stage.recorder.calls.clear()

    for tenant, patient in ((stage.org, mine), (stage.other_org, theirs)):
        consents = f"{PATIENTS}/{patient['id']}/consents"
        granted = await stage.api.post(consents, headers=tenant.headers, json={"kind": "channel", "channel": "sms"})
        assert granted.status_code == 201, granted.text
        revoked = await stage.api.post(f"{consents}/{granted.json()['id']}/revoke", headers=tenant.headers)
        assert revoked.status_code == 200, revoked.text

    grant, revoke = stage.recorder.calls
    assert {grant.tenant_id, revoke.tenant_id} == {stage.org.tenant_id}
    assert grant.args["patient_id"] == revoke.args["patient_id"] == UUID(mine["id"])
    assert isinstance(grant.args["consent"], Consent)
    assert (grant.args["consent"].status, grant.args["consent"].active, grant.args["consent"].channel) == (
        "granted",
        True,
        "sms",
    )
    assert revoke.args["consent"].id == grant.args["consent"].id
    assert (revoke.args["consent"].status, revoke.args["consent"].active) == ("revoked", False)


async def test_hook_consent_changed_when_removing_a_contact_revokes_its_sharing_consent(stage: Stage) -> None:
    async def contact_with_sharing_consent(tenant: Org) -> tuple[str, str, str]:
        patient = await create_patient(stage.api, tenant)
        base = f"{PATIENTS}/{patient['id']}"
        contact = await stage.api.post(
            f"{base}/contacts", headers=tenant.headers, json={"name": "Ann", "relationship": "child"}
        )
        assert contact.status_code == 201, contact.text
        consent = await stage.api.post(
            f"{base}/consents", headers=tenant.headers, json={"kind": "sharing", "contact_id": contact.json()["id"]}
        )
        assert consent.status_code == 201, consent.text
        return patient["id"], contact.json()["id"], consent.json()["id"]

    patient_id, contact_id, consent_id = await contact_with_sharing_consent(stage.org)
    other = await contact_with_sharing_consent(stage.other_org)
    stage.recorder.calls.clear()

    for tenant, (pid, cid, _) in ((stage.org, (patient_id, contact_id, consent_id)), (stage.other_org, other)):
        removed = await stage.api.delete(f"{PATIENTS}/{pid}/contacts/{cid}", headers=tenant.headers)
        assert removed.status_code == 204, removed.text

    (call,) = stage.recorder.calls
    assert call.hook == "consent_changed"
    assert call.tenant_id == stage.org.tenant_id
    consent = call.args["consent"]
    assert call.args["patient_id"] == UUID(patient_id)
    assert (str(consent.id), str(consent.contact_id), consent.kind) == (consent_id, contact_id, "sharing")
    assert (consent.status, consent.active) == ("revoked", False)


async def test_hook_appointment_booked_reaches_enabled_tenants(stage: Stage) -> None:
    booked = appointment("booked")
    await in_tenant(stage, stage.org, "appointment_booked", appointment=booked)
    await in_tenant(stage, stage.other_org, "appointment_booked", appointment=booked)

    (call,) = stage.recorder.calls
    assert (call.hook, call.tenant_id, call.args) == (
        "appointment_booked",
        stage.org.tenant_id,
        {"appointment": booked},
    )
    assert call.ctx.principal.kind == "system"
    assert call.ctx.request_id == "hook-test"
    assert call.ctx.settings == HookTestSettings(greeting="bonjour")


async def test_hook_appointment_cancelled_reaches_enabled_tenants(stage: Stage) -> None:
    cancelled = appointment("cancelled")
    await in_tenant(stage, stage.other_org, "appointment_cancelled", appointment=cancelled)
    await in_tenant(stage, stage.org, "appointment_cancelled", appointment=cancelled)

    (call,) = stage.recorder.calls
    assert (call.hook, call.tenant_id, call.args) == (
        "appointment_cancelled",
        stage.org.tenant_id,
        {"appointment": cancelled},
    )


async def test_hook_appointment_status_changed_gets_the_previous_status(stage: Stage) -> None:
    arrived = appointment("arrived")
    await in_tenant(stage, stage.org, "appointment_status_changed", appointment=arrived, previous_status="booked")
    await in_tenant(stage, stage.other_org, "appointment_status_changed", appointment=arrived, previous_status="booked")

    (call,) = stage.recorder.calls
    assert call.hook == "appointment_status_changed"
    assert call.tenant_id == stage.org.tenant_id
    assert call.args == {"appointment": arrived, "previous_status": "booked"}


async def test_hook_appointment_rescheduled_carries_the_old_times(stage: Stage) -> None:
    for tenant in (stage.org, stage.other_org):
        patient = await create_patient(stage.api, tenant)
        body = {
            "patient_id": patient["id"],
            "start": "2031-03-04T15:00:00+00:00",
            "end": "2031-03-04T15:30:00+00:00",
            "time_zone": "UTC",
        }
        booked = await stage.api.post("/api/v1/appointments", headers=tenant.headers, json=body)
        assert booked.status_code == 201, booked.text
        moved = await stage.api.post(
            f"/api/v1/appointments/{booked.json()['id']}/reschedule",
            headers=tenant.headers,
            json={"start": "2031-03-06T16:00:00+00:00", "end": "2031-03-06T16:45:00+00:00"},
        )
        assert moved.status_code == 200, moved.text

    (call,) = stage.recorder.seen("appointment_rescheduled")
    assert call.tenant_id == stage.org.tenant_id
    assert call.args["appointment"].start == datetime(2031, 3, 6, 16, tzinfo=UTC)
    assert (call.args["start"], call.args["end"]) == (
        datetime(2031, 3, 4, 15, tzinfo=UTC),
        datetime(2031, 3, 4, 15, 30, tzinfo=UTC),
    )


async def test_hook_referral_status_changed_follows_every_referral_move(
    app_client: AppClient, settings: Any, org: Org, other_org: Org
) -> None:
    import plugins.referrals.hooks as referrals

    recorder = Recorder()
    host = load(("recorder", recorder), ("referrals", referrals))
    api = serve(app_client, settings, host)
    for tenant in (org, other_org):
        await enable_module(api, tenant, "referrals")
    await enable_module(api, org, "hooktest", {"greeting": "hi"})
    recorder.calls.clear()

    for tenant in (org, other_org):
        patient = await create_patient(api, tenant)
        doctor = await api.post(
            "/api/v1/directory/practitioners",
            headers=tenant.headers,
            json={"given_name": "Ada", "family_name": "Ng", "specialty": "cardiology"},
        )
        created = await api.post(
            "/api/v1/referrals",
            headers=tenant.headers,
            json={
                "patient_id": patient["id"],
                "target_practitioner_id": doctor.json()["id"],
                "specialty": "cardiology",
                "reason": "palpitations",
            },
        )
        assert created.status_code == 201, created.text
        sent = await api.post(
            f"/api/v1/referrals/{created.json()['id']}/transitions", headers=tenant.headers, json={"to": "sent"}
        )
        assert sent.status_code == 200, sent.text

    calls = recorder.seen("referral_status_changed")
    assert [(c.args["previous_status"], c.args["status"]) for c in calls] == [(None, "draft"), ("draft", "sent")]
    assert {c.tenant_id for c in calls} == {org.tenant_id}  # the other tenant did not enable the recorder


async def test_hook_notification_status_changed_reports_what_the_worker_decided(stage: Stage) -> None:
    from core.jobs.runner import run_job

    sent: dict[UUID, UUID] = {}
    for tenant in (stage.org, stage.other_org):
        patient = await create_patient(stage.api, tenant, email="ada@example.net")
        granted = await stage.api.post(
            f"/api/v1/patients/{patient['id']}/consents",
            headers=tenant.headers,
            json={"kind": "channel", "channel": "email"},
        )
        assert granted.status_code == 201, granted.text
        requested = await stage.api.post(
            "/api/v1/notifications",
            headers=tenant.headers,
            json={"patient_id": patient["id"], "channel": "email", "context": {"text": "hello"}},
        )
        assert requested.status_code == 202, requested.text
        notification_id = requested.json()["id"]
        sent[tenant.tenant_id] = UUID(notification_id)

        async def send(tenant_id: UUID = tenant.tenant_id, ident: str = notification_id) -> str:
            payload = {"notification_id": ident}
            return await run_job(
                "notifications.send", tenant_id=str(tenant_id), payload=payload, message_id=ident, host=stage.host
            )

        # The e-mail channel is not configured: the worker records "skipped" and says so.
        assert await asyncio.to_thread(stage.api.blocking_portal.call, send) == "done"

    (call,) = stage.recorder.seen("notification_status_changed")
    assert call.tenant_id == stage.org.tenant_id  # the other tenant did not enable the recorder
    assert call.args == {"notification_id": sent[stage.org.tenant_id], "status": "skipped"}


async def test_hook_message_received_fires_once_per_inbound_message_for_enabled_tenants(stage: Stage) -> None:
    from urllib.parse import urlsplit

    from core.notifications.callbacks import provider_signature

    for tenant in (stage.org, stage.other_org):
        configured = await stage.api.put(
            "/api/v1/admin/channels/sms",
            headers=tenant.headers,
            json={"enabled": True, "options": {}, "secrets": {"auth_token": "hook-token"}},
        )
        assert configured.status_code == 200, configured.text
        url = configured.json()["inbound_url"]
        form = {"MessageSid": "SMhook1", "From": "+15550001111", "To": "+15550002222", "Body": "hello"}
        headers = {"X-Twilio-Signature": provider_signature(url, sorted(form.items()), "hook-token")}
        for _ in range(2):  # the provider retries: stored and announced once
            answer = await stage.api.post(urlsplit(url).path, data=form, headers=headers)
            assert answer.status_code == 200, answer.text

    (call,) = stage.recorder.seen("message_received")
    assert call.tenant_id == stage.org.tenant_id  # the other tenant did not enable the recorder
    message = call.args["message"]
    assert (message.channel, message.body, message.match, message.patient_id) == ("sms", "hello", "none", None)
    assert message.provider_message_id == "SMhook1"


# --- questions core asks ------------------------------------------------------------------------------------------


async def test_hook_timeline_items_answers_are_collected_from_enabled_modules(
    app_client: AppClient, settings: Any, org: Org, other_org: Org
) -> None:
    recorder = Recorder()
    host = load(("recorder", recorder), ("raiser", Raiser()), ("quiet", Recorder(module="quiet")))
    api = serve(app_client, settings, host)
    await enable_module(api, org, "hooktest", {"greeting": "hi"})
    await enable_module(api, org, "raiser")
    stage = Stage(api, host, recorder, org, other_org)
    since, until = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    patient_id = uuid4()

    answers = await in_tenant(stage, org, "timeline_items", patient_id=patient_id, since=since, until=until)
    # The raiser answered nothing (its failure is recorded), the quiet module is not enabled.
    assert answers == [("hooktest", [TimelineItem(occurred_at=since, kind="ping", title="hi from hooktest")])]
    (call,) = recorder.seen("timeline_items")
    assert call.args == {"patient_id": patient_id, "since": since, "until": until}
    (failure,) = (await catalogue(api, org))["raiser"]["failures"]
    assert failure["hook"] == "timeline_items"
    assert failure["last_error"] == f"LookupError: no timeline for {patient_id}"

    assert await in_tenant(stage, other_org, "timeline_items", patient_id=patient_id, since=since, until=until) == []


async def test_hook_register_reports_are_collected_under_their_module() -> None:
    from core.plugins.sdk import ReportColumn, ReportData, ReportSpec

    async def counts(ctx: PluginContext, params: None) -> ReportData:
        return ReportData([ReportColumn("n", kind="integer")], [(1,)])

    class Reporter:
        @hookimpl
        def register_module(self) -> ModuleSpec:
            return ModuleSpec(name="reporter", title="Reporter")

        @hookimpl
        def register_reports(self) -> list[ReportSpec]:
            return [ReportSpec(name="counts", title="Counts", query=counts)]

    class Twice(Reporter):
        @hookimpl
        def register_module(self) -> ModuleSpec:
            return ModuleSpec(name="twice", title="Twice")

        @hookimpl
        def register_reports(self) -> list[ReportSpec]:
            return [
                ReportSpec(name="counts", title="A", query=counts),
                ReportSpec(name="counts", title="B", query=counts),
            ]

    host = load(("reporter", Reporter()))
    (spec,) = host.contributions.reports
    assert (spec.full_name, spec.module, spec.title) == ("reporter.counts", "reporter", "Counts")
    assert await spec.query(None, None) == ReportData([ReportColumn("n", kind="integer")], [(1,)])

    broken = PluginHost(load_entry_points=False, plugins=[("twice", Twice())], environ={})
    assert broken.records["twice"].status == "failed"
    assert "registered twice" in (broken.records["twice"].error or "")
    assert broken.contributions.reports == []


# --- payers: adapters, coverage and authorization questions, demo data -------------------------------------------


class Insurer:
    """A plugin with a payer adapter that answers the two insurance questions."""

    def __init__(self, module: str = "payers", adapter_name: str = "acme") -> None:
        self.module = module
        self.adapter_name = adapter_name
        self.seeded: list[PluginContext] = []

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name=self.module, title="Payers", settings=HookTestSettings)

    @hookimpl
    def register_payer_adapters(self) -> list[Any]:
        from core.payers.adapter import PayerAdapterSpec

        return [PayerAdapterSpec(name=self.adapter_name, title="Acme", adapter=AcmeAdapter())]

    @hookimpl
    async def coverage_summary(self, ctx: PluginContext, patient_id: UUID) -> Any:
        from core.payers.summaries import CoverageSummary

        return CoverageSummary(coverage_id=patient_id, payer_name="Acme", member_id="M1", eligibility="active")

    @hookimpl
    def authorization_status(self, ctx: PluginContext, subject_type: str, subject_ids: list[UUID]) -> Any:
        from core.payers.summaries import AuthorizationSummary

        return {i: AuthorizationSummary(authorization_id=i, status=f"{subject_type}-ok") for i in subject_ids[:1]}

    @hookimpl
    async def seed_demo_data(self, ctx: PluginContext) -> None:
        self.seeded.append(ctx)
        await ctx.audit("payers.demo_seeded", "module", None, {})


class AcmeAdapter:
    async def check_eligibility(self, inquiry: Any, config: Any) -> Any:
        from core.payers.messages import EligibilityResult

        return EligibilityResult(status="active", member_id=inquiry.subscriber.member_id)

    async def request_authorization(self, request: Any, config: Any) -> Any:
        raise NotImplementedError


async def test_hook_register_payer_adapters_are_collected_with_unique_names() -> None:
    from core.payers.messages import EligibilityInquiry, Party, Person

    host = load(("insurer", Insurer()))
    (spec,) = host.contributions.payer_adapters
    assert (spec.name, spec.title) == ("acme", "Acme")
    inquiry = EligibilityInquiry(
        payer=Party(name="Acme", identifier="A1"),
        provider=Party(name="Clinic", identifier="1234567893"),
        subscriber=Person(last_name="Ng", first_name="Ada", member_id="W1"),
        as_of=datetime(2027, 1, 5, tzinfo=UTC).date(),
        trace_number="T1",
    )
    assert (await spec.adapter.check_eligibility(inquiry, {})).member_id == "W1"

    clash = PluginHost(
        load_entry_points=False, plugins=[("insurer", Insurer()), ("copycat", Insurer("copy", "acme"))], environ={}
    )
    assert clash.records["copycat"].status == "failed"
    assert "payer adapter name 'acme' is taken" in str(clash.records["copycat"].error)
    assert [s.name for s in clash.contributions.payer_adapters] == ["acme"]

    class Wrong:
        @hookimpl
        def register_module(self) -> ModuleSpec:
            return ModuleSpec(name="wrong", title="Wrong")

        @hookimpl
        def register_payer_adapters(self) -> list[Any]:
            return [AcmeAdapter()]

    broken = PluginHost(load_entry_points=False, plugins=[("wrong", Wrong())], environ={})
    assert "PayerAdapterSpec" in str(broken.records["wrong"].error)


async def insurer_stage(app_client: AppClient, settings: Any, org: Org, other_org: Org) -> tuple[Stage, Insurer]:
    insurer = Insurer()
    host = load(("insurer", insurer), ("recorder", Recorder()))
    api = serve(app_client, settings, host)
    await enable_module(api, org, "payers")
    return Stage(api, host, Recorder(), org, other_org), insurer


async def test_hook_coverage_summary_is_answered_by_enabled_modules_only(
    app_client: AppClient, settings: Any, org: Org, other_org: Org
) -> None:
    stage, _ = await insurer_stage(app_client, settings, org, other_org)
    patient_id = uuid4()
    ((module, summary),) = await in_tenant(stage, org, "coverage_summary", patient_id=patient_id)
    assert module == "payers"
    assert (summary.coverage_id, summary.payer_name, summary.eligibility) == (patient_id, "Acme", "active")
    assert await in_tenant(stage, other_org, "coverage_summary", patient_id=patient_id) == []


async def test_hook_authorization_status_maps_subjects_to_summaries(
    app_client: AppClient, settings: Any, org: Org, other_org: Org
) -> None:
    stage, _ = await insurer_stage(app_client, settings, org, other_org)
    first, second = uuid4(), uuid4()
    answers = await in_tenant(stage, org, "authorization_status", subject_type="referral", subject_ids=[first, second])
    ((module, summaries),) = answers
    assert module == "payers"
    assert list(summaries) == [first]
    assert summaries[first].status == "referral-ok"
    assert await in_tenant(stage, other_org, "authorization_status", subject_type="referral", subject_ids=[first]) == []


async def test_hook_seed_demo_data_enables_the_module_and_runs_once_in_the_seeding_transaction(
    app_client: AppClient, settings: Any, org: Org, other_org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.platform import seed_modules

    insurer = Insurer()
    host = load(("insurer", insurer), ("recorder", Recorder()))  # the recorder has no demo data: stays off
    api = serve(app_client, settings, host)
    monkeypatch.setattr(manager, "get_host", lambda: host)

    async def seed() -> None:
        async with tenant_transaction(org.tenant_id) as tx:
            await seed_modules(RequestContext(tx, system_principal(org), None, "seed-test", plugins=host))

    await asyncio.to_thread(api.blocking_portal.call, seed)
    (ctx,) = insurer.seeded
    assert ctx.module == "payers"
    assert isinstance(ctx.settings, HookTestSettings)
    enabled = {m["name"]: m["enabled"] for m in await catalogue_list(api, org)}
    assert enabled == {"payers": True, "hooktest": False}
    assert {m["name"]: m["enabled"] for m in await catalogue_list(api, other_org)} == {
        "payers": False,
        "hooktest": False,
    }


async def catalogue_list(api: AsyncTestClient[Any], org: Org) -> list[dict[str, Any]]:
    response = await api.get(MODULES, headers=org.headers)
    assert response.status_code == 200, response.text
    return list(response.json())
