"""Roles and the permissions they carry. Guards check permissions, never role names."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    PATIENTS_READ = "patients:read"
    PATIENTS_WRITE = "patients:write"
    PATIENTS_DELETE = "patients:delete"
    AUDIT_READ = "audit:read"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    TENANT_MANAGE = "tenant:manage"
    API_KEYS_MANAGE = "api_keys:manage"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    VIEWER = "viewer"


_CARE = {Permission.PATIENTS_READ, Permission.PATIENTS_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.COORDINATOR: frozenset(_CARE | {Permission.USERS_READ}),
    Role.CLINICIAN: frozenset(_CARE),
    Role.VIEWER: frozenset({Permission.PATIENTS_READ}),
}

# What an API key may be granted: integration scopes, never user or key management.
API_KEY_SCOPES: frozenset[Permission] = frozenset(
    {Permission.PATIENTS_READ, Permission.PATIENTS_WRITE, Permission.PATIENTS_DELETE, Permission.AUDIT_READ}
)


def permissions_for(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[Role(role)]
