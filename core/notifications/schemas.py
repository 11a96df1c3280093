"""Wire formats of notifications, channel configuration and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from core.patients.schemas import Language

Status = Literal["queued", "deferred", "sending", "sent", "delivered", "failed", "bounced", "suppressed", "skipped"]
FINAL_STATUSES = frozenset({"delivered", "failed", "bounced", "suppressed", "skipped"})
"""Nothing changes a notification in one of these (except a provider's delivered/failed/bounced after sent)."""
ChannelName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
TemplateName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,59}$")]
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9:._/-]+$")]


class NotificationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A message to a patient; rendered and sent by the worker, subject to consent and quiet hours."""

    patient_id: UUID
    channel: ChannelName
    template: TemplateName = "generic"
    context: dict[str, Any] = {}
    """Template variables (``text`` and ``subject`` for ``generic``; ``appointment`` for reminders)."""
    language: Language | None = None
    """Null: the patient's preferred language, else English."""
    not_before: datetime | None = None
    """Send no earlier than this (a scheduled message); null: now."""
    idempotency_key: IdempotencyKey | None = None
    """Repeating a request with the same key returns the first notification instead of a second one."""
    contact_id: UUID | None = None
    """Send to this contact of the patient (a caregiver) instead: needs the patient's sharing consent for the
    contact and ``share_as`` in the contact's ``may_receive``."""
    share_as: Literal["appointment_reminders", "care_updates", "billing", "clinical_results"] = "care_updates"
    tenant_id: UUID | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise ValueError("not_before needs a time zone offset")


class NotificationEvent(msgspec.Struct, kw_only=True):
    status: Status
    source: Literal["api", "worker", "provider"]
    provider_status: str | None
    detail: str | None
    occurred_at: datetime


class AttachmentInfo(msgspec.Struct, kw_only=True):
    """What the API shows of an attachment: never its content."""

    id: UUID
    filename: str
    content_type: str
    size: int


class Notification(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID | None
    """The patient the message is about; null for a message to a staff user (``recipient_kind: user``)."""
    channel: str
    template: str
    language: str | None
    context: dict[str, Any]
    status: Status
    not_before: datetime | None
    attempts: int
    provider_message_id: str | None
    has_document: bool
    """A letter's PDF is on file (``GET /api/v1/notifications/{id}/document``)."""
    last_error: str | None
    requested_by_module: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    events: list[NotificationEvent] | None = None
    """The history, oldest first (in single-notification answers only)."""
    recipient_kind: Literal["patient", "provider", "contact", "user"] = "patient"
    """``provider``: sent to ``recipient_address`` (a care provider) about the patient, not to the patient;
    ``contact``: sent to the patient's contact ``contact_id`` (a caregiver) under a sharing consent;
    ``user``: sent to the organization's user ``user_id`` (a built report), about no patient."""
    recipient_name: str | None = None
    recipient_address: str | None = None
    contact_id: UUID | None = None
    share_as: str | None = None
    """For a contact: what the contact may receive that this message is (``appointment_reminders``...)."""
    user_id: UUID | None = None
    attachments: list[AttachmentInfo] = []
    """Files sent with the message (metadata only; the content is never returned)."""


class NotificationPage(msgspec.Struct, kw_only=True):
    items: list[Notification]
    next_cursor: str | None


class ChannelConfigUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool
    options: dict[str, Any] = {}
    """Replaces the channel's options; see docs/notifications.md for each channel's fields."""
    secrets: dict[Annotated[str, msgspec.Meta(max_length=60)], str | None] = {}
    """Write-only: a value sets a secret, null removes it, an absent name keeps it."""


class ChannelConfig(msgspec.Struct, kw_only=True):
    channel: str
    description: str
    builtin: bool
    consent_channel: str | None
    enabled: bool
    options: dict[str, Any]
    secrets_set: list[str]
    """Names of the secrets stored (values are never returned)."""
    accepted_secrets: list[str] | None
    updated_at: datetime | None
    inbound_url: str | None = None
    """sms, email: where the provider posts messages patients send in (signed for this organization)."""
    options_schema: dict[str, Any] | None = None
    """JSON Schema of ``options`` (built-in channels; null: a plugin channel's options are free-form)."""


class TemplateSave(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    subject: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class TemplatePreview(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    template: TemplateName
    channel: ChannelName
    language: Language | None = None
    context: dict[str, Any] = {}


class RenderedPreview(msgspec.Struct, kw_only=True):
    language: str
    subject: str
    body: str
