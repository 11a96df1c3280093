"""Provider directory and community resources: create, read, partial update, deactivate, search.

Entries are the tenant's reference data, not patient data: writes are audited
(``directory.*``), reads are not. Deleting deactivates (``active = false``): the
entry leaves lists but stays readable, because appointments, referrals and
resource requests keep naming it; a PATCH with ``active: true`` restores it.
Row-level security confines every statement to the caller's tenant.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from core.audit.service import record
from core.db.filters import Filter
from core.directory.schemas import (
    CommunityResource,
    CommunityResourceCreate,
    CommunityResourcePage,
    CommunityResourceUpdate,
    Organization,
    OrganizationCreate,
    OrganizationPage,
    OrganizationUpdate,
    Practitioner,
    PractitionerCreate,
    PractitionerPage,
    PractitionerUpdate,
)
from core.http.context import RequestContext
from core.http.partial import changed_fields
from core.patients.schemas import Address
from core.patients.search import BadCursorError, escape_like

T = TypeVar("T")


class DuplicateIdentifierError(ValueError):
    """Another entry of this tenant already carries the identifier."""


class UnknownOrganizationError(ValueError):
    """``organization_id`` names no active organization of this tenant."""


@dataclass(frozen=True)
class _Kind:
    """One directory table: its columns, sort keys and audit names."""

    table: str
    resource_type: str
    columns: tuple[str, ...]
    sort_keys: tuple[str, ...]
    """SQL expressions, ordered; ``id`` is appended as the final tie-breaker."""

    @property
    def select(self) -> str:
        return ", ".join(self.columns)


_CONTACT = ("phone", "email", "address")
_COMMON_TAIL = ("languages", "active", "created_at", "updated_at")

ORGANIZATIONS = _Kind(
    table="provider_organizations",
    resource_type="provider_organization",
    columns=("id", "name", "kind", "specialty", "identifier", *_CONTACT, "fax", "accepts_referrals", *_COMMON_TAIL),
    sort_keys=("lower(name)",),
)
PRACTITIONERS = _Kind(
    table="practitioners",
    resource_type="practitioner",
    columns=(
        "id",
        "given_name",
        "family_name",
        "specialty",
        "identifier",
        "organization_id",
        *_CONTACT,
        "fax",
        "accepts_referrals",
        *_COMMON_TAIL,
    ),
    sort_keys=("lower(family_name)", "lower(given_name)"),
)
RESOURCES = _Kind(
    table="community_resources",
    resource_type="community_resource",
    columns=("id", "name", "category", "description", "website", *_CONTACT, *_COMMON_TAIL),
    sort_keys=("lower(name)",),
)


# -- rows, JSON and cursors -----------------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


def _convert(row: Any, into: type[T]) -> T:
    values = {name: value for name, value in row.items() if not name.startswith("sort_")}
    values["address"] = msgspec.json.decode(row["address"], type=Address) if row["address"] else None
    values["languages"] = list(row["languages"])
    return into(**values)


def encode_cursor(keys: list[str], last_id: UUID) -> str:
    """``keys`` are the row's sort keys as the database computed them (``lower()``)."""
    raw = msgspec.json.encode([*keys, str(last_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> tuple[list[str], UUID]:
    """The sort keys and id a cursor of ``size`` keys carries; BadCursorError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=list[str])
        if len(values) != size + 1:
            raise ValueError(cursor)
        return values[:-1], UUID(values[-1])
    except (binascii.Error, msgspec.DecodeError, msgspec.ValidationError, ValueError):
        raise BadCursorError(cursor) from None


def prefix(text: str) -> str:
    """A LIKE pattern matching what starts with ``text`` (wildcards in it escaped)."""
    return escape_like(text) + "%"


def add_language(flt: Filter, language: str) -> None:
    """Speaks ``language``: the same tag in any case, or a regional form of it (es matches es-MX)."""
    flt.add(
        "exists (select 1 from unnest(languages) as lang where lower(lang) = lower({}) or lower(lang) like lower({}))",
        language,
        escape_like(language) + "-%",
    )


async def _page(
    ctx: RequestContext,
    kind: _Kind,
    flt: Filter,
    *,
    include_inactive: bool,
    limit: int,
    cursor: str | None,
    convert: Callable[[Any], T],
) -> tuple[list[T], str | None]:
    """One page of ``kind`` ordered by its sort keys then id (keyset pagination)."""
    if not include_inactive:
        flt.clauses.append("active")
    size = len(kind.sort_keys)
    if cursor:
        keys, last_id = decode_cursor(cursor, size)
        flt.add(f"({', '.join(kind.sort_keys)}, id) > ({', '.join(['{}'] * (size + 1))})", *keys, last_id)
    flt.args.append(limit + 1)
    sort_columns = ", ".join(f"{expr} as sort_{i}" for i, expr in enumerate(kind.sort_keys))
    where = " and ".join(flt.clauses) or "true"
    rows = await ctx.tx.fetch(
        f"select {kind.select}, {sort_columns} from {kind.table} where {where} "
        f"order by {', '.join(kind.sort_keys)}, id limit ${len(flt.args)}",
        *flt.args,
    )
    page, more = rows[:limit], len(rows) > limit
    # The cursor carries the database's lower(), not Python's: they differ for some letters (İ, ẞ).
    next_cursor = encode_cursor([page[-1][f"sort_{i}"] for i in range(size)], page[-1]["id"]) if more else None
    return [convert(r) for r in page], next_cursor


async def _insert(ctx: RequestContext, kind: _Kind, values: dict[str, Any]) -> Any:
    names = list(values)
    placeholders = ", ".join(f"${i}{'::jsonb' if name == 'address' else ''}" for i, name in enumerate(names, start=2))
    try:
        row = await ctx.tx.fetchrow(
            f"insert into {kind.table} (tenant_id, {', '.join(names)}) values ($1, {placeholders}) "
            f"returning {kind.select}",
            ctx.tenant_id,
            *values.values(),
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateIdentifierError(values.get("identifier")) from None
    await record(ctx, f"directory.{kind.resource_type}.create", kind.resource_type, row["id"])
    return row


async def _read(ctx: RequestContext, kind: _Kind, entry_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {kind.select} from {kind.table} where id = $1", entry_id)


async def _update(ctx: RequestContext, kind: _Kind, entry_id: UUID, changes: dict[str, Any]) -> Any:
    changes.pop("tenant_id", None)
    values = {name: _json(value) if name == "address" else value for name, value in changes.items()}
    sets = "".join(f"{name} = ${i}{'::jsonb' if name == 'address' else ''}, " for i, name in enumerate(values, start=2))
    try:
        row = await ctx.tx.fetchrow(
            f"update {kind.table} set {sets}updated_at = now() where id = $1 returning {kind.select}",
            entry_id,
            *values.values(),
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateIdentifierError(values.get("identifier")) from None
    if row is None:
        return None
    await record(
        ctx, f"directory.{kind.resource_type}.update", kind.resource_type, entry_id, {"fields": sorted(values)}
    )
    return row


async def _deactivate(ctx: RequestContext, kind: _Kind, entry_id: UUID) -> bool:
    """False when there is no such entry; deactivating an inactive entry again changes nothing."""
    active = await ctx.tx.fetchval(f"select active from {kind.table} where id = $1 for update", entry_id)
    if active is None:
        return False
    if active:
        await ctx.tx.execute(f"update {kind.table} set active = false, updated_at = now() where id = $1", entry_id)
        await record(ctx, f"directory.{kind.resource_type}.delete", kind.resource_type, entry_id)
    return True


# -- organizations ------------------------------------------------------------------------------------------


def to_organization(row: Any) -> Organization:
    return _convert(row, Organization)


async def organization_usable(ctx: RequestContext, organization_id: UUID) -> bool:
    """Whether ``organization_id`` is an active organization of the caller's tenant."""
    return bool(
        await ctx.tx.fetchval(
            "select exists(select 1 from provider_organizations where id = $1 and active)", organization_id
        )
    )


async def create_organization(ctx: RequestContext, data: OrganizationCreate) -> Organization:
    values = {name: getattr(data, name) for name in ORGANIZATIONS.columns if hasattr(data, name) and name != "id"}
    values["address"] = _json(data.address)
    return to_organization(await _insert(ctx, ORGANIZATIONS, values))


async def read_organization(ctx: RequestContext, organization_id: UUID) -> Organization | None:
    row = await _read(ctx, ORGANIZATIONS, organization_id)
    return None if row is None else to_organization(row)


async def update_organization(
    ctx: RequestContext, organization_id: UUID, data: OrganizationUpdate
) -> Organization | None:
    row = await _update(ctx, ORGANIZATIONS, organization_id, changed_fields(data))
    return None if row is None else to_organization(row)


async def delete_organization(ctx: RequestContext, organization_id: UUID) -> bool:
    return await _deactivate(ctx, ORGANIZATIONS, organization_id)


async def search_organizations(
    ctx: RequestContext,
    *,
    q: str | None,
    specialty: str | None,
    accepts_referrals: bool | None,
    language: str | None,
    include_inactive: bool,
    limit: int,
    cursor: str | None,
) -> OrganizationPage:
    """Organizations by name (prefix of the name or of a word in it), specialty prefix, language."""
    flt = Filter()
    if q and q.strip():
        pattern = prefix(q.strip())
        flt.add("(lower(name) like lower({}) or lower(name) like ('% ' || lower({})))", pattern, pattern)
    if specialty and specialty.strip():
        flt.add("lower(specialty) like lower({})", prefix(specialty.strip()))
    if accepts_referrals is not None:
        flt.add("accepts_referrals = {}", accepts_referrals)
    if language:
        add_language(flt, language)
    items, next_cursor = await _page(
        ctx, ORGANIZATIONS, flt, include_inactive=include_inactive, limit=limit, cursor=cursor, convert=to_organization
    )
    return OrganizationPage(items=items, next_cursor=next_cursor)


# -- practitioners ------------------------------------------------------------------------------------------


def to_practitioner(row: Any) -> Practitioner:
    return _convert(row, Practitioner)


async def practitioner_exists(ctx: RequestContext, practitioner_id: UUID, *, active_only: bool = True) -> bool:
    """Whether ``practitioner_id`` is a (by default active) practitioner of the caller's tenant."""
    return bool(
        await ctx.tx.fetchval(
            "select exists(select 1 from practitioners where id = $1 and (active or not $2))",
            practitioner_id,
            active_only,
        )
    )


async def create_practitioner(ctx: RequestContext, data: PractitionerCreate) -> Practitioner:
    if data.organization_id is not None and not await organization_usable(ctx, data.organization_id):
        raise UnknownOrganizationError(data.organization_id)
    values = {name: getattr(data, name) for name in PRACTITIONERS.columns if hasattr(data, name) and name != "id"}
    values["address"] = _json(data.address)
    return to_practitioner(await _insert(ctx, PRACTITIONERS, values))


async def read_practitioner(ctx: RequestContext, practitioner_id: UUID) -> Practitioner | None:
    row = await _read(ctx, PRACTITIONERS, practitioner_id)
    return None if row is None else to_practitioner(row)


async def update_practitioner(
    ctx: RequestContext, practitioner_id: UUID, data: PractitionerUpdate
) -> Practitioner | None:
    changes = changed_fields(data)
    organization_id = changes.get("organization_id")
    if organization_id is not None:
        # Only an existing practitioner may learn whether an organization id is usable.
        if await _read(ctx, PRACTITIONERS, practitioner_id) is None:
            return None
        if not await organization_usable(ctx, organization_id):
            raise UnknownOrganizationError(organization_id)
    row = await _update(ctx, PRACTITIONERS, practitioner_id, changes)
    return None if row is None else to_practitioner(row)


async def delete_practitioner(ctx: RequestContext, practitioner_id: UUID) -> bool:
    return await _deactivate(ctx, PRACTITIONERS, practitioner_id)


async def search_practitioners(
    ctx: RequestContext,
    *,
    specialty: str | None,
    name: str | None,
    language: str | None,
    accepts_referrals: bool | None,
    organization_id: UUID | None,
    include_inactive: bool,
    limit: int,
    cursor: str | None,
) -> PractitionerPage:
    """Practitioners by specialty (case-insensitive, exact or prefix), name prefix, language, organization.

    ``name`` is one or more words; each must start the family or the given name ("smi", "jo smi").
    """
    flt = Filter()
    if specialty and specialty.strip():
        flt.add("lower(specialty) like lower({})", prefix(specialty.strip()))
    for word in (name or "").split():
        pattern = prefix(word)
        flt.add("(lower(family_name) like lower({}) or lower(given_name) like lower({}))", pattern, pattern)
    if language:
        add_language(flt, language)
    if accepts_referrals is not None:
        flt.add("accepts_referrals = {}", accepts_referrals)
    if organization_id is not None:
        flt.add("organization_id = {}", organization_id)
    items, next_cursor = await _page(
        ctx, PRACTITIONERS, flt, include_inactive=include_inactive, limit=limit, cursor=cursor, convert=to_practitioner
    )
    return PractitionerPage(items=items, next_cursor=next_cursor)


# -- community resources ------------------------------------------------------------------------------------


def to_resource(row: Any) -> CommunityResource:
    return _convert(row, CommunityResource)


async def resource_exists(ctx: RequestContext, resource_id: UUID, *, active_only: bool = True) -> bool:
    """Whether ``resource_id`` is a (by default active) community resource of the caller's tenant."""
    return bool(
        await ctx.tx.fetchval(
            "select exists(select 1 from community_resources where id = $1 and (active or not $2))",
            resource_id,
            active_only,
        )
    )


async def create_resource(ctx: RequestContext, data: CommunityResourceCreate) -> CommunityResource:
    values = {name: getattr(data, name) for name in RESOURCES.columns if hasattr(data, name) and name != "id"}
    values["address"] = _json(data.address)
    return to_resource(await _insert(ctx, RESOURCES, values))


async def read_resource(ctx: RequestContext, resource_id: UUID) -> CommunityResource | None:
    row = await _read(ctx, RESOURCES, resource_id)
    return None if row is None else to_resource(row)


async def update_resource(
    ctx: RequestContext, resource_id: UUID, data: CommunityResourceUpdate
) -> CommunityResource | None:
    row = await _update(ctx, RESOURCES, resource_id, changed_fields(data))
    return None if row is None else to_resource(row)


async def delete_resource(ctx: RequestContext, resource_id: UUID) -> bool:
    return await _deactivate(ctx, RESOURCES, resource_id)


async def search_resources(
    ctx: RequestContext,
    *,
    category: str | None,
    q: str | None,
    language: str | None,
    include_inactive: bool,
    limit: int,
    cursor: str | None,
) -> CommunityResourcePage:
    """Community resources by category, text (anywhere in name or description, any case) and language."""
    flt = Filter()
    if category:
        flt.add("category = {}", category)
    if q and q.strip():
        pattern = "%" + escape_like(q.strip()) + "%"
        flt.add("(lower(name) like lower({}) or lower(coalesce(description, '')) like lower({}))", pattern, pattern)
    if language:
        add_language(flt, language)
    items, next_cursor = await _page(
        ctx, RESOURCES, flt, include_inactive=include_inactive, limit=limit, cursor=cursor, convert=to_resource
    )
    return CommunityResourcePage(items=items, next_cursor=next_cursor)
