"""The ``carecoord`` command.

``carecoord dev`` is what ``make dev`` runs: embedded PostgreSQL and Redis when
``DATABASE_URL`` / ``REDIS_URL`` are unset, migrations, a demo tenant, then the
service processes until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from core.settings import SettingsError, get_settings


def _run(coro_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    from core.platform import pool

    async def main() -> Any:
        async with pool():
            return await coro_factory()

    return asyncio.run(main())


def cmd_migrate(_: argparse.Namespace) -> int:
    os.environ["CARECOORD_DB_ROLE"] = "owner"
    from core.db.migrate import migrate

    asyncio.run(migrate(get_settings()))
    print("migrations applied; app role ready")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from core.app import create_app

    settings = get_settings()
    config = uvicorn.Config(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Replace this process with Dramatiq's worker CLI (process supervision, graceful SIGTERM)."""
    settings = get_settings()
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.worker",
        "--processes",
        str(args.processes or settings.worker_processes),
        "--threads",
        str(args.threads or settings.worker_threads),
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    if settings.worker_metrics_port:
        metrics_dir = Path(settings.data_dir).resolve() / f"worker-metrics-{os.getpid()}"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(
            {
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "dramatiq_prom_db": str(metrics_dir),
                "dramatiq_prom_host": settings.host,
                "dramatiq_prom_port": str(settings.worker_metrics_port),
            }
        )
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - this interpreter running dramatiq


def cmd_scheduler(_: argparse.Namespace) -> int:
    from workers.scheduler import main as run_scheduler

    return run_scheduler(get_settings())


def cmd_jobs_ping(args: argparse.Namespace) -> int:
    from core.jobs.ping import enqueue_ping

    outbox_id = _run(lambda: enqueue_ping(args.tenant, args.note, args.fail))
    print(outbox_id)
    return 0


def cmd_tenant_create(args: argparse.Namespace) -> int:
    import msgspec

    from core.platform import create_tenant
    from core.tenancy.schemas import SignupRequest
    from core.tenancy.service import SlugTakenError

    # convert (not the constructor) so the same limits as POST /api/v1/signup apply
    request = msgspec.convert(
        {
            "organization_name": args.name,
            "slug": args.slug,
            "owner_email": args.owner_email,
            "owner_password": args.owner_password,
            "time_zone": args.time_zone,
        },
        SignupRequest,
    )
    try:
        tenant = _run(lambda: create_tenant(request))
    except SlugTakenError:
        raise ValueError(f"the slug {args.slug!r} is taken") from None
    print(json.dumps({"id": str(tenant.id), "slug": tenant.slug, "status": tenant.status}))
    return 0


def cmd_tenant_list(_: argparse.Namespace) -> int:
    from core.platform import tenants

    for tenant in _run(tenants):
        print(f"{tenant.slug}\t{tenant.status}\t{tenant.plan}\t{tenant.id}\t{tenant.name}")
    return 0


def cmd_tenant_status(args: argparse.Namespace) -> int:
    from core.platform import set_tenant_status

    tenant = _run(lambda: set_tenant_status(args.slug, args.status))
    print(f"{tenant.slug}\t{tenant.status}")
    return 0


def cmd_tenant_export(args: argparse.Namespace) -> int:
    from core.platform import tenant_id_for
    from core.tenancy.lifecycle import export_lines

    out = open(args.output, "wb") if args.output != "-" else sys.stdout.buffer  # noqa: SIM115 - closed below

    async def write() -> int:
        lines = 0
        async for line in export_lines(await tenant_id_for(args.slug)):
            out.write(line)
            lines += 1
        return lines

    try:
        lines = _run(write)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    print(f"{lines} lines", file=sys.stderr)
    return 0


def cmd_tenant_delete(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from core.db.tenant import tenant_transaction
    from core.platform import tenant_id_for
    from core.settings import get_settings
    from core.tenancy.lifecycle import request_deletion

    grace = timedelta(
        days=args.grace_days if args.grace_days is not None else get_settings().tenant_deletion_grace_days
    )

    async def delete() -> Any:
        tenant_id = await tenant_id_for(args.slug)
        async with tenant_transaction(tenant_id) as tx:
            return await request_deletion(tx, tenant_id, grace=grace, actor_type="system", actor_id=None)

    print(json.dumps({"slug": args.slug, "status": "closed", "purge_after": _run(delete).isoformat()}))
    return 0


def cmd_tenant_reopen(args: argparse.Namespace) -> int:
    from core.platform import tenant_id_for
    from core.tenancy.lifecycle import reopen

    async def run() -> None:
        await reopen(await tenant_id_for(args.slug))

    _run(run)
    print(json.dumps({"slug": args.slug, "status": "active"}))
    return 0


def cmd_tenant_purge(args: argparse.Namespace) -> int:
    from core.platform import tenant_id_for
    from core.tenancy.lifecycle import purge, purge_due

    async def run() -> dict[Any, int]:
        if args.slug:
            tenant_id = await tenant_id_for(args.slug)
            return {tenant_id: await purge(tenant_id)}
        return await purge_due()

    for tenant_id, rows in _run(run).items():
        print(json.dumps({"tenant_id": str(tenant_id), "rows_deleted": rows}))
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    import asyncpg
    import msgspec

    from core.auth.schemas import UserCreate
    from core.platform import create_user

    # convert (not the constructor) so the same limits as POST /api/v1/users apply
    user = msgspec.convert(
        {"email": args.email, "password": args.password, "role": args.role, "full_name": args.name}, UserCreate
    )
    try:
        user_id = _run(lambda: create_user(args.tenant, user.email, user.password, user.role, user.full_name))
    except asyncpg.UniqueViolationError:
        raise ValueError(f"{args.email!r} is already a user of {args.tenant!r}") from None
    print(user_id)
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    from core.platform import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG, seed_demo

    created = _run(seed_demo)
    print(
        f"demo tenant {'created' if created else 'already present'}: "
        f"tenant={DEMO_SLUG} email={DEMO_EMAIL} password={DEMO_PASSWORD}"
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from core.platform import describe, verify_audit

    reports = _run(lambda: verify_audit(args.tenant))
    for report in reports:
        print(json.dumps(describe(report)))
    broken = [r for r in reports if not r.ok]
    print(f"{len(reports) - len(broken)} chain(s) intact, {len(broken)} tampered", file=sys.stderr)
    return 1 if broken else 0


def cmd_plugin_list(_: argparse.Namespace) -> int:
    from core.plugins.manager import get_host

    records = sorted(get_host().records.values(), key=lambda r: r.name)
    print("name\tversion\thook_api\tstatus\tmodule\terror")
    for record in records:
        print(
            f"{record.name}\t{record.version}\t{record.hook_api_version}\t{record.status}\t"
            f"{record.module or '-'}\t{record.error or ''}"
        )
    return 0


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from core.plugins.template import write_plugin

    target = write_plugin(args.name, Path(args.dir))
    print(f"created {target}; install it with: pip install -e {target}")
    return 0


def _child(*args: str) -> list[str]:
    return [sys.executable, "-m", "core.cli", *args]


def cmd_dev(args: argparse.Namespace) -> int:
    """Embedded services if needed, migrate, seed, then serve until Ctrl-C."""
    from core.embedded import export, start_embedded

    data_dir = Path(os.environ.get("DATA_DIR", ".carecoord")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret_key"
    if not os.environ.get("SECRET_KEY"):
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        os.environ["SECRET_KEY"] = key_file.read_text().strip()
    # plain http://127.0.0.1 in development: not every browser keeps Secure cookies there
    os.environ.setdefault("PORTAL_COOKIE_SECURE", "false")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    embedded = start_embedded(
        data_dir, database=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL")
    )
    export(embedded)
    children: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(_child("migrate"), check=True)
        subprocess.run(_child("demo"), check=True)
        port = str(args.port or os.environ.get("PORT") or 8000)
        children.append(subprocess.Popen(_child("serve", "--port", port), start_new_session=True))
        for extra in dev_processes():
            children.append(subprocess.Popen(_child(*extra), start_new_session=True))
        print(f"carecoord is serving on http://127.0.0.1:{port}  (Ctrl-C stops everything)", flush=True)
        print(f"web portal: http://127.0.0.1:{port}/portal/login", flush=True)
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
        return max((child.returncode or 0) for child in children)
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        embedded.stop()
        print("carecoord stopped", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops ``dev`` the same orderly way as Ctrl-C."""
    raise KeyboardInterrupt


def dev_processes() -> list[list[str]]:
    """Processes ``dev`` runs beside the API."""
    return [["worker", "--processes", "1"], ["scheduler"]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carecoord", description="carecoord service and operator commands")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="embedded services + migrations + demo tenant + API, until Ctrl-C")
    dev.add_argument("--port", type=int)
    dev.set_defaults(func=cmd_dev)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run Dramatiq workers (notifications, reports, plugin jobs)")
    worker.add_argument("--processes", type=int, help="default WORKER_PROCESSES")
    worker.add_argument("--threads", type=int, help="default WORKER_THREADS")
    worker.add_argument("--queues", nargs="+", help="queues to consume (default: all)")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("scheduler", help="run the outbox relay and periodic jobs").set_defaults(func=cmd_scheduler)
    jobs = sub.add_parser("jobs", help="background job tools").add_subparsers(dest="action", required=True)
    ping = jobs.add_parser("ping", help="send a diagnostic job through outbox, relay and worker")
    ping.add_argument("--tenant", required=True, help="tenant slug")
    ping.add_argument("--note", default="ping")
    ping.add_argument("--fail", choices=["permanent", "transient"], help="make the job fail, to test dead letters")
    ping.set_defaults(func=cmd_jobs_ping)

    sub.add_parser("migrate", help="apply migrations as the owner; create/refresh the app role").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("demo", help="create the demo tenant if absent").set_defaults(func=cmd_demo)

    tenant = sub.add_parser("tenant", help="tenant administration").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create an active tenant with its owner")
    create.add_argument("--slug", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--owner-email", required=True)
    create.add_argument("--owner-password", required=True)
    create.add_argument("--time-zone", default="UTC")
    create.set_defaults(func=cmd_tenant_create)
    tenant.add_parser("list", help="list tenants").set_defaults(func=cmd_tenant_list)
    status = tenant.add_parser("set-status", help="suspend, reactivate or close a tenant")
    status.add_argument("slug")
    status.add_argument("status", choices=["trial", "active", "suspended", "closed"])
    status.set_defaults(func=cmd_tenant_status)
    export = tenant.add_parser("export", help="write all of a tenant's data as JSON lines (credentials left out)")
    export.add_argument("slug")
    export.add_argument("-o", "--output", default="-", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_tenant_export)
    delete = tenant.add_parser("delete", help="close a tenant now and purge its data after the grace period")
    delete.add_argument("slug")
    delete.add_argument("--grace-days", type=int, help="default TENANT_DELETION_GRACE_DAYS")
    delete.set_defaults(func=cmd_tenant_delete)
    reopen = tenant.add_parser("reopen", help="cancel a deletion within its grace period")
    reopen.add_argument("slug")
    reopen.set_defaults(func=cmd_tenant_reopen)
    purge = tenant.add_parser("purge", help="purge closed tenants past their grace period (or the one named)")
    purge.add_argument("--slug", help="only this tenant (it must be closed past its grace period)")
    purge.set_defaults(func=cmd_tenant_purge)

    user = sub.add_parser("user", help="user administration").add_subparsers(dest="action", required=True)
    ucreate = user.add_parser("create", help="add a user to a tenant")
    ucreate.add_argument("--tenant", required=True, help="tenant slug")
    ucreate.add_argument("--email", required=True)
    ucreate.add_argument("--password", required=True)
    ucreate.add_argument("--role", required=True, choices=["owner", "admin", "coordinator", "clinician", "viewer"])
    ucreate.add_argument("--name", default="")
    ucreate.set_defaults(func=cmd_user_create)

    audit = sub.add_parser("audit", help="audit log tools").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="recompute hash chains; exit 1 if any was tampered with")
    verify.add_argument("--tenant", help="tenant slug (default: all)")
    verify.set_defaults(func=cmd_audit_verify)
    plugin = sub.add_parser("plugin", help="plugins").add_subparsers(dest="action", required=True)
    plugin.add_parser("list", help="discovered plugins: version, hook API, status, error").set_defaults(
        func=cmd_plugin_list
    )
    new = plugin.add_parser("new", help="scaffold a plugin package with hooks, settings, a table, a route, tests")
    new.add_argument("name", help="python package name, e.g. wound_care")
    new.add_argument("--dir", default=".", help="parent folder of the new package (default: here)")
    new.set_defaults(func=cmd_plugin_new)

    from core.plugins.manager import get_host

    get_host().add_cli_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (LookupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
