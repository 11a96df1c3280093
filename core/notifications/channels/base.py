"""The channel interface: what a channel receives and returns, for built-ins and plugins alike.

A plugin contributes a channel with ``ChannelSpec(name, description, send)`` from
``register_channels``; ``send(ctx, recipient, message)`` gets the objects below and returns
the provider's message id. Raise :class:`core.jobs.errors.PermanentError` for failures that
retrying cannot fix (address refused, account closed); any other exception is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from uuid import UUID

ConsentChannel = Literal["sms", "email", "voice", "letter"]
"""The channels a patient can consent to (``patient_consents.channel``)."""


RecipientKind = Literal["patient", "provider", "contact", "user"]
"""``patient``: the patient's own addresses; ``provider``: an explicit address of a care provider;
``contact``: a patient's contact (caregiver); ``user``: a staff user of the organization (a report e-mail)."""


@dataclass(frozen=True)
class Recipient:
    """Who a notification goes to, read at send time.

    For a patient (``kind="patient"``) everything comes from the patient record. For a provider
    (``kind="provider"``: a specialist receiving a referral packet) ``given_name`` is the
    provider's display name, ``family_name`` is empty and ``email`` is the explicit address the
    requester gave; ``patient_id`` still names the patient the message is about. For a staff user
    (``kind="user"``: a built report) ``patient_id`` is None: the message is about no patient.
    """

    patient_id: UUID | None
    given_name: str
    family_name: str
    email: str | None
    phone: str | None
    address: dict[str, Any] | None
    language: str
    kind: RecipientKind = "patient"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class ProviderRecipient:
    """An explicit provider address for :func:`core.notifications.service.request_notification`."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a referral packet PDF). Checked by ``core.notifications.attachments``."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Message:
    """A rendered message. ``subject`` is empty for channels without one (SMS, voice)."""

    notification_id: UUID
    template: str
    language: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    """Files to send along: e-mail attaches them, letters list them as enclosures, SMS/voice ignore them."""


@dataclass(frozen=True)
class ChannelContext:
    """What a channel may use while sending: its tenant's settings and credentials for it."""

    tenant_id: UUID
    tenant_name: str
    notification_id: UUID
    channel: str
    options: dict[str, Any]
    """The tenant's non-secret settings of this channel (``PUT /api/v1/admin/channels/{channel}``)."""
    secrets: dict[str, str] = field(repr=False)
    """The tenant's decrypted credentials of this channel; never log them."""
    callback_url: str | None = None
    """Where the provider should report delivery status (signed for this notification), if supported."""
    data_dir: str = ".carecoord"


@dataclass(frozen=True)
class SendResult:
    """The provider's id for the message and the status it has now (``delivered`` for letters on file)."""

    provider_message_id: str
    status: Literal["sent", "delivered"] = "sent"
    document_key: str | None = None


class Channel(Protocol):
    """A way to reach a patient. Built-ins implement it; plugins' ChannelSpecs are adapted to it."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def consent_channel(self) -> ConsentChannel | None:
        """The consent that must be active; None: no consent can allow it, so nothing is ever sent."""
        ...

    @property
    def quiet_hours_by_default(self) -> bool:
        """Interrupting channels (SMS, calls) wait out quiet hours unless the tenant turns that off."""
        ...

    @property
    def secret_names(self) -> frozenset[str] | None:
        """Credentials the channel accepts; None: any name (plugin channels)."""
        ...

    @property
    def recipient_field(self) -> str | None:
        """What the patient record must have (``email``, ``phone``, ``address``); None: the channel decides."""
        ...

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate the tenant's settings; raise ValueError naming the problem."""
        ...

    def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> Awaitable[SendResult]: ...


@dataclass(frozen=True)
class PluginChannel:
    """A plugin's ``ChannelSpec`` behind the :class:`Channel` interface."""

    name: str
    description: str
    send_fn: Callable[..., Awaitable[Any]]
    consent_channel: ConsentChannel | None
    quiet_hours_by_default: bool = True
    secret_names: frozenset[str] | None = None
    recipient_field: str | None = None

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return dict(options)

    async def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> SendResult:
        provider_id = await self.send_fn(ctx, recipient, message)
        return SendResult(provider_message_id=str(provider_id or "")[:200])
