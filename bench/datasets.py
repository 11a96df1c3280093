"""Multi-tenant data sets for the HTTP workloads, written with COPY and deterministic for a seed.

``build(dsn, shape, seed)`` writes ``shape`` = ``"<tenants>x<patients per tenant>"`` (the suite's
shapes are ``10x10000``, ``100x1000`` and ``1000x100``: 100,000 patients each, spread differently)
into an already migrated database, as its owner:

- tenants (active, ``America/New_York``) with their audit chain heads, the referrals and insurance
  modules enabled, an owner and one coordinator each, two practitioners and three payers;
- per patient: a coverage, ~1 referral (0 to 2; draft, sent, received, accepted, scheduled, seen or
  closed, with its transition log; 40 % are ``sent``, the supply of the transition workload),
  ~2 appointments (0 to 4, past ones fulfilled, no-show or cancelled, later ones booked, with their
  status history) and ~2 tasks (0 to 4, owned by the coordinator, most open, with their history).

Rows go in with one COPY per table when the owner bypasses row-level security (a superuser, as the
embedded and CI servers have), else one COPY per table and tenant in a transaction pinned to it
(``app.tenant_id``), as ``bench/metrics_dashboard.py`` does. Then ``vacuum analyze``.

The same seed and shape give the same rows (ids, names, statuses; times are relative to the hour
of the build). Several shapes can share a database: slugs and the seed stream depend on the shape.
Access tokens are minted for each tenant's coordinator with ``core.auth.tokens.issue_access_token``
and the process's ``SECRET_KEY`` (the API must run with the same one): a JWT needs no row.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from bench.metrics_dashboard import Ids, _columns, _copy, _weighted

SHAPES = ("10x10000", "100x1000", "1000x100")
QUICK_SHAPES = ("2x200", "4x100", "8x50")
"""``BENCH_QUICK=1``: the same three spreads, 400 patients each."""
TIME_ZONE = "America/New_York"
MODULES = ("referrals", "insurance")
PASSWORD = "bench-password-123"
TOKEN_TTL_SECONDS = 4 * 3600
BATCH_PATIENTS = 20000
"""Rows are generated and written for this many patients at a time (whole tenants)."""
SAMPLE = 4000
"""How many (tenant, id) pairs the read and search samples hold, and at most how many sent referrals."""

GIVEN = (
    "Maria", "James", "Linh", "Ahmed", "Sofia", "Noah", "Aisha", "Lucas", "Mei", "Omar", "Elena", "Mateo",
    "Priya", "Daniel", "Fatima", "Samuel", "Chloe", "Ivan", "Grace", "Kofi", "Hana", "Diego", "Zara", "Leo",
    "Amara", "Ethan", "Yuki", "Carlos", "Nadia", "Felix", "Rosa", "Tariq", "Lena", "Hugo", "Ines", "Arjun",
)  # fmt: skip
SYLLABLES = (
    "ba", "ko", "mi", "ra", "te", "lu", "sa", "no", "vi", "de", "ha", "ji", "pe", "qu", "ro", "ma", "ki", "lo",
    "ne", "su", "ta", "we", "ze", "fa",
)  # fmt: skip
SPECIALTIES = ("Cardiology", "Dermatology", "Neurology", "Orthopedics", "Pulmonology", "Urology")
REFERRAL_STATUSES = (
    ("draft", 0.1), ("sent", 0.4), ("received", 0.1), ("accepted", 0.15), ("scheduled", 0.1), ("seen", 0.05),
    ("closed", 0.1),
)  # fmt: skip
CHAIN = ("draft", "sent", "received", "accepted", "scheduled", "seen", "closed")
ADDRESS = json.dumps({"line": ["1 Main Street"], "city": "Springfield", "state": "MA", "postal_code": "01101",
                      "country": "US"})  # fmt: skip
COMMUNICATION = json.dumps({"channels": ["sms", "email"], "language": "en"})


def shapes() -> tuple[str, ...]:
    """The shapes of this run: ``QUICK_SHAPES`` with ``BENCH_QUICK=1``, else ``SHAPES``."""
    return QUICK_SHAPES if os.environ.get("BENCH_QUICK") == "1" else SHAPES


def parse_shape(shape: str) -> tuple[int, int]:
    """``"100x1000"`` -> (100 tenants, 1000 patients per tenant)."""
    tenants, _, patients = shape.partition("x")
    try:
        parsed = int(tenants), int(patients)
    except ValueError:
        raise ValueError(f"a shape is <tenants>x<patients per tenant>, not {shape!r}") from None
    if min(parsed) < 1:
        raise ValueError(f"a shape needs at least one tenant and one patient: {shape!r}")
    return parsed


@dataclass
class BenchTenant:
    id: UUID
    slug: str
    owner_id: UUID
    coordinator_id: UUID
    token: str
    """Bearer access token of the coordinator (``TOKEN_TTL_SECONDS``)."""


@dataclass
class Dataset:
    """What ``build`` wrote, and the samples the workloads spread their requests over.

    Samples are (tenant index, value) pairs ordered round-robin over the tenants, so consecutive
    requests go to different tenants.
    """

    dsn: str
    shape: str
    seed: int
    tenants: list[BenchTenant]
    patients: list[tuple[int, UUID]] = field(default_factory=list)
    """Patients to read."""
    search_terms: list[tuple[int, str]] = field(default_factory=list)
    """Family-name prefixes (5 letters) of the tenant's patients."""
    sent_referrals: list[tuple[int, UUID]] = field(default_factory=list)
    """Referrals in ``sent`` with their packet sent: held and resumed by the transition workload."""
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self, pairs: Iterable[tuple[int, object]] | None = None) -> list[str]:
        """``"token value"`` lines for a wrk script (``BENCH_TOKENS_FILE``); one ``token`` line per
        tenant without ``pairs``."""
        if pairs is None:
            return [t.token for t in self.tenants]
        return [f"{self.tenants[i].token} {value}" for i, value in pairs]


# ------------------------------------------------------------------------------------------- build


def build(dsn: str, shape: str, seed: int) -> Dataset:
    """Write ``shape`` into the migrated database at ``dsn`` (the owner's DSN); see the module docstring."""
    return asyncio.run(build_async(dsn, shape, seed))


async def build_async(dsn: str, shape: str, seed: int) -> Dataset:
    import asyncpg

    began = time.perf_counter()
    tenant_count, per_tenant = parse_shape(shape)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    writer = _Writer(random.Random(f"{seed}:{shape}"), now)
    tenants = writer.tenants(shape, tenant_count)
    batch = max(1, BATCH_PATIENTS // per_tenant)
    conn = await asyncpg.connect(dsn)
    try:
        bypass = bool(await conn.fetchval("select rolsuper or rolbypassrls from pg_roles where rolname = current_user"))
        if os.environ.get("BENCH_PIN_TENANTS") == "1":
            bypass = False  # exercise the per-tenant path on a superuser too
        async with conn.transaction():
            await writer.write(conn, bypass)  # the tenants, their users and directories
            for first in range(0, tenant_count, batch):
                for index in range(first, min(first + batch, tenant_count)):
                    writer.tenant_rows(index, per_tenant)
                await writer.write(conn, bypass)
        await conn.execute(f"vacuum analyze {', '.join(COLUMNS)}")
    finally:
        await conn.close()
    dataset = Dataset(dsn, shape, seed, tenants, counts=writer.counts)
    _samples(dataset, writer)
    dataset.seconds = time.perf_counter() - began
    return dataset


def _samples(dataset: Dataset, writer: _Writer) -> None:
    """Round-robin samples over the tenants (seeded, like the rows)."""
    rng = random.Random(f"{dataset.seed}:{dataset.shape}:samples")
    count = len(dataset.tenants)
    dataset.patients = [(i % count, rng.choice(writer.patients[i % count])) for i in range(SAMPLE)]
    dataset.search_terms = [(i % count, rng.choice(writer.family[i % count])[:5]) for i in range(SAMPLE)]
    queues = [list(sent) for sent in writer.sent]
    for queue in queues:
        rng.shuffle(queue)
    supply: list[tuple[int, UUID]] = []
    depth = 0
    while len(supply) < SAMPLE and any(depth < len(q) for q in queues):
        supply.extend((i, q[depth]) for i, q in enumerate(queues) if depth < len(q))
        depth += 1
    dataset.sent_referrals = supply[:SAMPLE]


def _count(roll: float) -> int:
    """0, 1 or 2 (a quarter, a half, a quarter: mean 1) for a uniform ``roll``."""
    return 0 if roll < 0.25 else (1 if roll < 0.75 else 2)


class _Writer:
    """Generates the rows of every table (as tuples in COPY column order), then writes them."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now, self.new_id = rng, now, Ids(rng)
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
        self.counts: dict[str, int] = {}
        self.checked: set[str] = set()
        self.bench: list[BenchTenant] = []
        self.patients: list[list[UUID]] = []
        self.family: list[list[str]] = []
        self.sent: list[list[UUID]] = []
        self.practitioners: list[list[UUID]] = []
        self.payers: list[list[UUID]] = []

    def tenants(self, shape: str, count: int) -> list[BenchTenant]:
        from core.audit.chain import GENESIS
        from core.auth.passwords import hash_password
        from core.auth.tokens import issue_access_token
        from core.settings import get_settings

        secret = get_settings().jwt_secret()
        password_hash = hash_password(PASSWORD)
        rows, new_id, now = self.rows, self.new_id, self.now
        for index in range(count):
            tenant_id, owner, coordinator = new_id(), new_id(), new_id()
            slug = f"bench-{shape}-{index:04d}"
            rows["tenants"].append((tenant_id, slug, f"Bench {shape} {index}", "active", TIME_ZONE, 1, now, now))
            rows["audit_heads"].append((tenant_id, 0, GENESIS))
            for module in MODULES:
                rows["tenant_modules"].append((tenant_id, module, True, "{}", owner, now))
            rows["users"].append((tenant_id, owner, f"owner@{slug}.example", "Bench Owner", "owner", password_hash))
            rows["users"].append(
                (tenant_id, coordinator, f"coordinator@{slug}.example", "Bench Coordinator", "coordinator",
                 password_hash)
            )  # fmt: skip
            practitioners = [new_id(), new_id()]
            for i, p in enumerate(practitioners):
                rows["practitioners"].append(
                    (tenant_id, p, "Pat", f"Specialist {i}", SPECIALTIES[i % len(SPECIALTIES)], f"NPI{i:07d}")
                )
            payers = [new_id() for _ in range(3)]
            for i, p in enumerate(payers):
                rows["insurance_payers"].append((tenant_id, p, f"Health Plan {i}", f"BENCH{i:02d}", "demo"))
            self.practitioners.append(practitioners)
            self.payers.append(payers)
            token = issue_access_token(
                secret=secret,
                ttl_seconds=TOKEN_TTL_SECONDS,
                user_id=coordinator,
                tenant_id=tenant_id,
                role="coordinator",
                session_id=new_id(),
            )
            self.bench.append(BenchTenant(tenant_id, slug, owner, coordinator, token))
        return self.bench

    def tenant_rows(self, index: int, count: int) -> None:
        """Patients of tenant ``index`` with their coverage, referrals, appointments and tasks."""
        rng, new_id, now, rows = self.rng, self.new_id, self.now, self.rows
        tenant = self.bench[index]
        tenant_id, coordinator = tenant.id, tenant.coordinator_id
        practitioners, payers = self.practitioners[index], self.payers[index]
        patients_rows, coverages = rows["patients"], rows["coverages"]
        referrals, moves = rows["referrals"], rows["referral_transitions"]
        appointments, appointment_history = rows["appointments"], rows["appointment_status_history"]
        tasks, task_history = rows["tasks"], rows["task_status_history"]
        patients: list[UUID] = []
        family_names: list[str] = []
        sent: list[UUID] = []
        random_, choice, randrange = rng.random, rng.choice, rng.randrange
        for n in range(count):
            patient = new_id()
            family = "".join(choice(SYLLABLES) for _ in range(3)).capitalize()
            registered = now - timedelta(days=400 + randrange(2000))
            patients_rows.append(
                (tenant_id, patient, f"M{n:08d}", choice(GIVEN), family, date(1930, 1, 1) + timedelta(randrange(30000)),
                 f"+1555{n:07d}", f"1555{n:07d}", f"patient{n}@example.org", ADDRESS, COMMUNICATION, registered,
                 registered)
            )  # fmt: skip
            patients.append(patient)
            family_names.append(family)
            coverages.append(
                (tenant_id, new_id(), patient, payers[n % 3], f"MB{n:09d}", "primary", "self", date(2020, 1, 1))
            )
            for _ in range(_count(random_())):
                referral = new_id()
                status = _weighted(rng, REFERRAL_STATUSES)
                created = now - timedelta(hours=1 + 2000 * random_())
                path = CHAIN[: CHAIN.index(status) + 1]
                step = (now - created) / (len(path) + 1)
                for i, to in enumerate(path):
                    moves.append(
                        (tenant_id, new_id(), referral, path[i - 1] if i else None, to, "user", coordinator,
                         created + step * i)
                    )  # fmt: skip
                sent_at = created + step if status != "draft" else None
                closed_at = created + step * 6 if status == "closed" else None
                target = practitioners[randrange(2)]
                referrals.append(
                    (tenant_id, referral, patient, target, SPECIALTIES[randrange(len(SPECIALTIES))],
                     "Bench referral", "routine", coordinator, status, "sent" if sent_at else "not_sent", sent_at,
                     closed_at, "Consult report" if closed_at else None, coordinator, created,
                     created + step * (len(path) - 1))
                )  # fmt: skip
                if status == "sent":
                    sent.append(referral)
            for _ in range(_count(random_()) + _count(random_())):
                appointment = new_id()
                start = (now + timedelta(days=120 * random_() - 60)).replace(
                    minute=15 * randrange(4), second=0, microsecond=0
                )
                booked = min(start, now) - timedelta(days=1 + randrange(20))
                if start < now:
                    status = _weighted(rng, (("fulfilled", 0.8), ("noshow", 0.08), ("cancelled", 0.12)))
                else:
                    status = "booked"
                appointments.append(
                    (tenant_id, appointment, patient, practitioners[randrange(2)], "Clinic", start,
                     start + timedelta(minutes=30), TIME_ZONE, status, coordinator, booked)
                )  # fmt: skip
                appointment_history.append((tenant_id, new_id(), appointment, None, "booked", coordinator, booked))
                if status != "booked":
                    changed = start + timedelta(minutes=40) if status != "cancelled" else booked + (start - booked) / 2
                    appointment_history.append(
                        (tenant_id, new_id(), appointment, "booked", status, coordinator, changed)
                    )
            for _ in range(_count(random_()) + _count(random_())):
                task = new_id()
                created = now - timedelta(hours=1 + 700 * random_())
                due = created + timedelta(hours=4 + 200 * random_())
                roll = random_()
                status = "completed" if roll < 0.3 else ("in-progress" if roll < 0.55 else "requested")
                completed = created + (now - created) * random_() if status == "completed" else None
                tasks.append(
                    (tenant_id, task, "Follow up", status, "urgent" if random_() < 0.2 else "routine", due,
                     coordinator, "patient", patient, patient, coordinator, created, completed or created, completed)
                )  # fmt: skip
                task_history.append((tenant_id, new_id(), task, None, "requested", coordinator, "user", created))
                if status != "requested":
                    task_history.append(
                        (tenant_id, new_id(), task, "requested", status, coordinator, "user", completed or created)
                    )
        self.patients.append(patients)
        self.family.append(family_names)
        self.sent.append(sent)

    async def write(self, conn: Any, bypass: bool) -> None:
        """COPY the rows generated so far, tables in dependency order, then forget them."""
        for table, columns in COLUMNS.items():
            records = self.rows[table]
            if not records:
                continue
            if table not in self.checked:
                missing = set(columns) - await _columns(conn, table)
                if missing:
                    raise RuntimeError(f"{table} has no {', '.join(sorted(missing))}; update bench/datasets.py")
                self.checked.add(table)
            if bypass or table == "tenants":
                await _copy(conn, table, columns, records)
            else:
                await _copy_pinned(conn, table, columns, records)
            self.counts[table] = self.counts.get(table, 0) + len(records)
            self.rows[table] = []


COLUMNS: dict[str, Sequence[str]] = {
    "tenants": ("id", "slug", "name", "status", "time_zone", "modules_version", "created_at", "updated_at"),
    "audit_heads": ("tenant_id", "seq", "last_hash"),
    "users": ("tenant_id", "id", "email", "full_name", "role", "password_hash"),
    "tenant_modules": ("tenant_id", "module", "enabled", "settings", "updated_by", "updated_at"),
    "practitioners": ("tenant_id", "id", "given_name", "family_name", "specialty", "identifier"),
    "insurance_payers": ("tenant_id", "id", "name", "payer_code", "adapter"),
    "patients": (
        "tenant_id", "id", "mrn", "given_name", "family_name", "birth_date", "phone", "phone_digits", "email",
        "address", "communication", "created_at", "updated_at",
    ),
    "coverages": (
        "tenant_id", "id", "patient_id", "payer_id", "member_id", "coverage_order", "relationship", "effective_from",
    ),
    "referrals": (
        "tenant_id", "id", "patient_id", "target_practitioner_id", "specialty", "reason", "priority",
        "coordinator_id", "status", "packet_status", "sent_at", "closed_at", "consult_report", "created_by",
        "created_at", "updated_at",
    ),
    "referral_transitions": (
        "tenant_id", "id", "referral_id", "from_status", "to_status", "actor_type", "actor_id", "occurred_at",
    ),
    "appointments": (
        "tenant_id", "id", "patient_id", "practitioner_id", "location", "start_at", "end_at", "time_zone", "status",
        "created_by", "created_at",
    ),
    "appointment_status_history": (
        "tenant_id", "id", "appointment_id", "from_status", "to_status", "changed_by", "changed_at",
    ),
    "tasks": (
        "tenant_id", "id", "title", "status", "priority", "due_at", "owner_user_id", "focus_type", "focus_id",
        "patient_id", "created_by", "created_at", "updated_at", "completed_at",
    ),
    "task_status_history": (
        "tenant_id", "id", "task_id", "from_status", "to_status", "changed_by", "changed_by_type", "changed_at",
    ),
}  # fmt: skip
"""Tables in the order they are written (references first) and the columns the bench fills."""


async def _copy_pinned(conn: Any, table: str, columns: Sequence[str], records: list[tuple[Any, ...]]) -> int:
    """One COPY per tenant (the first column), each with ``app.tenant_id`` pinned for row-level security."""
    by_tenant: dict[UUID, list[tuple[Any, ...]]] = {}
    for record in records:
        by_tenant.setdefault(record[0], []).append(record)
    for tenant_id, rows in by_tenant.items():
        await conn.execute("select set_config('app.tenant_id', $1, true)", str(tenant_id))
        await _copy(conn, table, columns, rows)
    await conn.execute("select set_config('app.tenant_id', '', true)")
    return len(records)


# ------------------------------------------------------------------------------- changes between runs


async def _as_owner(dsn: str, work: Sequence[tuple[UUID, Sequence[tuple[str, Sequence[Any]]]]]) -> None:
    """Run each tenant's statements (``$1`` is the tenant id, further parameters follow) in one
    transaction as the owner, pinned to the tenant for row-level security."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for tenant_id, statements in work:
                await conn.execute("select set_config('app.tenant_id', $1::text, true)", str(tenant_id))
                for sql, args in statements:
                    await conn.execute(sql, tenant_id, *args)
    finally:
        await conn.close()


def reset_sent_referrals(dataset: Dataset) -> None:
    """Put the transition workload's referrals back in ``sent`` (a run leaves some on hold)."""
    by_tenant: dict[int, list[UUID]] = {}
    for index, referral in dataset.sent_referrals:
        by_tenant.setdefault(index, []).append(referral)
    sql = (
        "update referrals set status = 'sent', held_from = null, status_reason = null "
        "where tenant_id = $1 and id = any($2::uuid[]) and status <> 'sent'"
    )
    work = [(dataset.tenants[index].id, [(sql, [ids])]) for index, ids in by_tenant.items()]
    asyncio.run(_as_owner(dataset.dsn, work))


def enable_modules(
    dataset: Dataset, tenant_indexes: Sequence[int], enabled: Sequence[str], known: Sequence[str]
) -> None:
    """Enable exactly ``enabled`` among ``known`` modules for those tenants (the rest of ``known`` off),
    and bump ``modules_version`` so every process reloads the tenant's modules at its next request."""
    statements: list[tuple[str, Sequence[Any]]] = [
        ("delete from tenant_modules where tenant_id = $1 and module = any($2::text[])", [list(known)]),
        (
            "insert into tenant_modules (tenant_id, module, enabled, settings) "
            "select $1, m, true, '{}' from unnest($2::text[]) as m",
            [list(enabled)],
        ),
        ("update tenants set modules_version = modules_version + 1 where id = $1", []),
    ]
    asyncio.run(_as_owner(dataset.dsn, [(dataset.tenants[i].id, statements) for i in tenant_indexes]))
