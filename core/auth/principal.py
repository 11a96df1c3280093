"""Who is calling: built only from a verified credential."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller of one request."""

    tenant_id: UUID
    actor_id: UUID
    kind: Literal["user", "api_key", "system"]
    role: str | None
    permissions: frozenset[str]
    session_id: UUID | None = None
    mfa_pending: bool = False
    """True for a login that must enrol in MFA before doing anything else."""

    def can(self, permission: str) -> bool:
        return not self.mfa_pending and permission in self.permissions
