"""Per-tenant settings of the built-in channels: validated on save, read again at send time."""

from __future__ import annotations

import ipaddress
from datetime import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from core.tenancy.schemas import Email, check_time_zone

E164 = Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164 number, e.g. +15550100")]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.\-:\[\]]+$")]


class CommonOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Settings every channel has."""

    quiet_hours_start: time | None = None
    """Local start of the tenant's quiet hours on this channel (the patient's own override them)."""
    quiet_hours_end: time | None = None
    apply_quiet_hours: bool | None = None
    """Wait out quiet hours before sending; null: the channel's default (SMS and voice yes, e-mail and letter no)."""
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """Zone of the quiet hours when the patient has none; null: the organization's time zone."""

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet_hours_start and quiet_hours_end go together")


class EmailOptions(CommonOptions, kw_only=True):
    from_address: Email | None = None
    from_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    reply_to: Email | None = None
    smtp_host: Host = "localhost"
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    """``tls``: implicit TLS (port 465); ``none`` only for a relay on a trusted network."""
    username: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    """SMTP login; its password is the secret ``smtp_password``."""


class ProviderOptions(CommonOptions, kw_only=True):
    """A Twilio-style REST provider (Twilio itself, or any service speaking its API)."""

    base_url: Annotated[str, msgspec.Meta(max_length=300)] = "https://api.twilio.com"
    account_sid: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{2,64}$")] | None = None
    """Account id; its auth token is the secret ``auth_token``."""
    from_number: E164 | None = None
    default_country_prefix: Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9]{0,3}$")] | None = None
    """Prefix for patient numbers written without one (e.g. ``+1``); null: such numbers are refused."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_base_url(self.base_url)


class VoiceOptions(ProviderOptions, kw_only=True):
    voice: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")] = "alice"


class LetterOptions(CommonOptions, kw_only=True):
    sender_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    """Printed above the return address; empty: the organization's name."""
    return_address: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=6)] = []



OPTIONS_BY_CHANNEL: dict[str, type[CommonOptions]] = {
    "email": EmailOptions,
    "sms": ProviderOptions,
    "voice": VoiceOptions,
    "letter": LetterOptions,
}
"""The options Struct of each built-in channel (its JSON Schema is ``options_schema`` in the admin API)."""

def check_base_url(url: str) -> None:
    """The provider address: http(s), no credentials, and never a private address in production.

    Tenant admins choose it and the worker calls it, so production refuses loopback and private
    literals (a way into the internal network otherwise). Names that resolve to private addresses
    are not caught here; an egress proxy is the real control (docs/notifications.md).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("base_url takes no credentials, query or fragment")
    from core.settings import get_settings

    if get_settings().env != "production":
        return
    if parts.scheme != "https":
        raise ValueError("base_url must use https")
    host = parts.hostname
    if host == "localhost" or host.endswith((".localhost", ".internal")):
        raise ValueError("base_url must be a public address")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address.is_global:
        raise ValueError("base_url must be a public address")


def parse_options(kind: type[CommonOptions], options: dict[str, Any]) -> CommonOptions:
    """``options`` as ``kind``; raises ValueError with msgspec's explanation (naming the field)."""
    try:
        return msgspec.convert(options, kind)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None


def options_dict(options: CommonOptions) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(options)
    return data
