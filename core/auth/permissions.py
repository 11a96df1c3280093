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
    TENANT_EXPORT = "tenant:export"
    TENANT_DELETE = "tenant:delete"
    API_KEYS_MANAGE = "api_keys:manage"
    MODULES_MANAGE = "modules:manage"
    DIRECTORY_MANAGE = "directory:manage"
    REPORTS_READ = "reports:read"
    REPORTS_RUN = "reports:run"
    JOBS_MANAGE = "jobs:manage"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_SEND = "notifications:send"
    NOTIFICATIONS_MANAGE = "notifications:manage"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    VIEWER = "viewer"


_CARE = {Permission.PATIENTS_READ, Permission.PATIENTS_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    # Taking all the data out, or deleting the organization, is the owner's decision alone.
    Role.ADMIN: frozenset(Permission) - {Permission.TENANT_EXPORT, Permission.TENANT_DELETE},
    Role.COORDINATOR: frozenset(
        _CARE
        | {Permission.USERS_READ, Permission.DIRECTORY_MANAGE, Permission.REPORTS_READ, Permission.REPORTS_RUN}
        | {Permission.NOTIFICATIONS_READ, Permission.NOTIFICATIONS_SEND}
    ),
    Role.CLINICIAN: frozenset(_CARE | {Permission.NOTIFICATIONS_READ}),
    Role.VIEWER: frozenset({Permission.PATIENTS_READ}),
}

# What an API key may be granted: integration scopes, never user or key management.
_CORE_API_KEY_SCOPES = frozenset(
    {Permission.PATIENTS_READ, Permission.PATIENTS_WRITE, Permission.PATIENTS_DELETE, Permission.AUDIT_READ}
)
# Permissions plugins add (``register_permissions``): role -> names, and those API keys may hold.
_plugin_role_permissions: dict[str, set[str]] = {}
_plugin_api_key_scopes: set[str] = set()


def add_plugin_permission(name: str, roles: frozenset[str], api_key_scope: bool) -> None:
    """Make a plugin's permission known; called by the plugin host at start-up."""
    for role in roles:
        _plugin_role_permissions.setdefault(Role(role).value, set()).add(name)
    if api_key_scope:
        _plugin_api_key_scopes.add(name)


def permissions_for(role: str) -> frozenset[str]:
    """Everything ``role`` may do: core's permissions plus the plugins'."""
    return ROLE_PERMISSIONS[Role(role)] | _plugin_role_permissions.get(role, set())


def api_key_scopes() -> frozenset[str]:
    """What an API key may be granted: integration scopes, never user or key management."""
    return _CORE_API_KEY_SCOPES | _plugin_api_key_scopes
