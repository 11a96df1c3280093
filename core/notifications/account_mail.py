"""Account e-mails (address verification, invitations): sealed links and the platform's own sender.

These messages carry a single-use link that logs somebody into an account. The notification's
``context`` is readable by anyone with ``notifications:read`` in the organization, so the link is
*sealed*: stored Fernet-encrypted (the keys of the channel credentials) under :data:`SEALED_KEY`
and opened by the worker only to render the message.

A brand-new organization has no e-mail channel of its own yet, so when its channel is not enabled
an account e-mail goes through the platform's SMTP server (``PLATFORM_SMTP_URL``), if one is set.
Account e-mails also reach ``pending`` users, who get nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from core.notifications.config import StoredConfig
from core.notifications.crypto import decrypt_secrets, encrypt_secrets
from core.notifications.options import EmailOptions, options_dict, parse_options
from core.settings import Settings

ACCOUNT_TEMPLATES = frozenset({"account.verify_email", "account.invitation"})
SEALED_KEY = "_sealed"
"""Context key of the encrypted variables; templates cannot name it (the sandbox refuses ``_`` names)."""
DEFAULT_FROM_NAME = "carecoord"


def seal(values: dict[str, str]) -> dict[str, str]:
    """Context entries holding ``values`` encrypted; merge them into a notification's context."""
    return {SEALED_KEY: encrypt_secrets(values)}


def unseal(context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with its sealed entries decrypted in place of :data:`SEALED_KEY`.

    Raises :class:`~core.notifications.crypto.SecretsUnreadableError` when the keys no longer open them.
    """
    sealed = context.get(SEALED_KEY)
    if sealed is None:
        return context
    opened = {k: v for k, v in context.items() if k != SEALED_KEY}
    opened.update(decrypt_secrets(str(sealed)))
    return opened


def platform_email_options(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    """``smtp[s]://[user[:password]@]host[:port]?from=address[&from_name=...][&security=starttls|tls|none]``
    as e-mail channel options and secrets; ValueError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("PLATFORM_SMTP_URL must look like smtp://user:password@host:587?from=no-reply@example.org")
    query = dict(parse_qsl(parts.query))
    if not query.get("from"):
        raise ValueError("PLATFORM_SMTP_URL needs ?from=<sender address>")
    security = "tls" if parts.scheme == "smtps" else query.get("security", "starttls")
    options = {
        "from_address": query["from"],
        "from_name": query.get("from_name", DEFAULT_FROM_NAME),
        "smtp_host": parts.hostname,
        "smtp_port": parts.port or (465 if security == "tls" else 587),
        "security": security,
        "username": unquote(parts.username) if parts.username else None,
    }
    checked = options_dict(parse_options(EmailOptions, options))
    secrets = {"smtp_password": unquote(parts.password)} if parts.password else {}
    return checked, secrets


def platform_email_config(settings: Settings) -> StoredConfig | None:
    """The platform sender as an enabled e-mail channel configuration; None when none is set."""
    if not settings.platform_smtp_url:
        return None
    options, secrets = platform_email_options(settings.platform_smtp_url)
    return StoredConfig(
        enabled=True,
        options=options,
        secret_token=encrypt_secrets(secrets, settings) if secrets else None,
        secret_names=sorted(secrets),
    )
