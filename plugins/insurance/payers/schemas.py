"""Wire formats of the payer directory."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored

PayerName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
PayerCode = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{2,80}$", description="The payer's X12 id (NM109 with PI), e.g. 60054")
]
AdapterName = Annotated[str, msgspec.Meta(min_length=2, max_length=40, description="An installed payer adapter")]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()./-]{7,32}$")]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S{3,490}$")]


class PayerCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: PayerName
    payer_code: PayerCode
    adapter: AdapterName = "x12_http"
    adapter_config: dict[str, Any] = {}
    """Validated by the adapter's schema (``GET /payer-adapters`` lists each one's fields)."""
    adapter_secrets: dict[
        Annotated[str, msgspec.Meta(max_length=40)], Annotated[str, msgspec.Meta(max_length=500)]
    ] = {}
    """Credentials (passwords, tokens): stored encrypted, never returned; adapters get them as ``config["secrets"]``."""
    phone: Phone | None = None
    portal_url: Url | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET


class PayerUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: PayerName | msgspec.UnsetType = msgspec.UNSET
    payer_code: PayerCode | msgspec.UnsetType = msgspec.UNSET
    adapter: AdapterName | msgspec.UnsetType = msgspec.UNSET
    adapter_config: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    adapter_secrets: (
        dict[Annotated[str, msgspec.Meta(max_length=40)], Annotated[str, msgspec.Meta(max_length=500)]]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    """Replaces all stored credentials; ``{}`` removes them."""
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    portal_url: Url | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET


class Payer(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    payer_code: str
    adapter: str
    adapter_config: dict[str, Any]
    secrets_set: list[str]
    """Names of the stored credentials (their values are never returned)."""
    phone: str | None
    portal_url: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class AdapterInfo(msgspec.Struct, kw_only=True):
    name: str
    title: str
    description: str
    config_schema: dict[str, Any] | None
    """JSON Schema of the adapter's configuration; null when it takes none."""
