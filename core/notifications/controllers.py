"""Notification routes: coordinators' view and sending, admins' channels and templates, provider callbacks.

A foreign or unknown id answers 404. Channel secrets are accepted and never returned. Provider
callbacks carry no credential: they are authenticated by two signatures (see ``callbacks.py``)
and answer 403 to anything forged, unsigned or for the wrong tenant.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qsl
from uuid import UUID

import anyio
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from core.audit.service import append_event
from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.db.cursors import BadCursorError
from core.db.tenant import TenantInactiveError, tenant_transaction
from core.http.context import RequestContext, provide_context
from core.http.files import download
from core.http.problems import problem
from core.jobs.context import system_principal
from core.notifications import service
from core.notifications.callbacks import (
    CALLBACK_PATH,
    apply_provider_status,
    parse_ref,
    provider_signature_valid,
    public_base_url,
)
from core.notifications.channels.base import Channel
from core.notifications.channels.letter import letter_path
from core.notifications.channels.registry import BUILTIN, all_channels
from core.notifications.config import ConfigError, StoredConfig, load_config, save_config
from core.notifications.crypto import SecretsUnreadableError
from core.notifications.delivery import announce
from core.notifications.inbound import INBOUND_CHANNELS, inbound_url
from core.notifications.options import OPTIONS_BY_CHANNEL
from core.notifications.schemas import (
    ChannelConfig,
    ChannelConfigUpdate,
    Notification,
    NotificationCreate,
    NotificationPage,
    RenderedPreview,
    Status,
    TemplatePreview,
    TemplateSave,
)
from core.notifications.template_store import (
    StoredTemplate,
    delete_template,
    find_template,
    list_templates,
    save_template,
)
from core.notifications.templates import MessageTemplateError, normalise_language, render
from core.plugins.settings_schema import settings_errors, settings_schema
from core.settings import get_settings

READ = [requires_permission(Permission.NOTIFICATIONS_READ)]
SEND = [requires_permission(Permission.NOTIFICATIONS_SEND)]
MANAGE = [requires_permission(Permission.NOTIFICATIONS_MANAGE)]
NOT_FOUND = "No such notification"
TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Notifications, newest first (optionally one patient's)")
    async def list_notifications(
        self,
        ctx: RequestContext,
        patient_id: UUID | None = None,
        status: Status | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> NotificationPage:
        try:
            return await service.list_notifications(
                ctx, patient_id=patient_id, status=status, limit=limit, cursor=cursor
            )
        except BadCursorError:
            raise problem(400, "The cursor is not valid; start again without it") from None

    @post("/", guards=SEND, status_code=HTTP_202_ACCEPTED, summary="Send a message to a patient")
    async def create(self, ctx: RequestContext, data: NotificationCreate) -> Notification:
        """Queued for the worker, which checks consent and quiet hours again when it sends."""
        try:
            return await service.request_notification(
                ctx,
                patient_id=data.patient_id,
                channel=data.channel,
                template=data.template,
                context=data.context,
                language=data.language,
                idempotency_key=data.idempotency_key,
                not_before=data.not_before,
                contact_id=data.contact_id,
                share_as=data.share_as,
            )
        except service.PatientNotFoundError:
            raise problem(404, "No such patient") from None
        except service.NotificationRequestError as exc:
            raise problem(422, str(exc)) from None

    @get("/{notification_id:uuid}", guards=READ, summary="A notification with its delivery history")
    async def read(self, ctx: RequestContext, notification_id: UUID) -> Notification:
        found = await service.get_notification(ctx, notification_id)
        if found is None:
            raise problem(404, NOT_FOUND)
        return found

    @get("/{notification_id:uuid}/document", guards=READ, summary="A letter's PDF, for mailing")
    async def document(self, ctx: RequestContext, notification_id: UUID) -> Response[bytes]:
        found = await service.document_of(ctx, notification_id)
        if found is None:
            raise problem(404, "No letter is on file for this notification")
        try:
            content = await anyio.Path(letter_path(get_settings().data_dir, found[0])).read_bytes()
        except (OSError, ValueError):
            raise problem(410, "The letter's file is no longer available") from None
        return download(content, "application/pdf", f"letter-{notification_id}.pdf")


FORBIDDEN = "The callback's signature is not valid"


@post(
    f"{CALLBACK_PATH}/{{channel:str}}/{{ref:str}}",
    opt={"public": True},
    status_code=HTTP_204_NO_CONTENT,
    tags=["notifications"],
    summary="Delivery report from an SMS/voice provider (signed; no credential)",
    security=[],
)
async def provider_callback(request: Request[Any, Any, Any], channel: str, ref: str) -> None:
    """Twilio-style status callback: form-encoded, signed with ``X-Twilio-Signature``."""
    signed = parse_ref(channel, ref)
    if signed is None:
        raise problem(403, FORBIDDEN)
    params = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    query = request.url.query
    url = f"{public_base_url()}{request.url.path}" + (f"?{query}" if query else "")
    try:
        async with tenant_transaction(signed.tenant_id, require_active=True) as tx:
            try:
                token = (await load_config(tx, channel)).secrets().get("auth_token", "")
            except SecretsUnreadableError:
                token = ""
            if not provider_signature_valid(url, params, token, request.headers.get("x-twilio-signature")):
                raise problem(403, FORBIDDEN)
            values = dict(params)
            reported = values.get("MessageStatus") or values.get("CallStatus") or values.get("SmsStatus")
            if not reported:
                raise problem(400, "The callback names no MessageStatus or CallStatus")
            outcome = await apply_provider_status(
                tx,
                signed.tenant_id,
                signed.notification_id,
                reported[:40],
                (values.get("MessageSid") or values.get("CallSid") or "")[:200] or None,
                (values.get("ErrorCode") or "")[:20] or None,
            )
            if outcome is None:
                raise problem(403, FORBIDDEN)
            status, patient_id, moved = outcome
            await append_event(
                tx,
                tenant_id=signed.tenant_id,
                actor_type="provider",
                actor_id=None,
                action="notification.provider_status",
                resource_type="notification",
                resource_id=signed.notification_id,
                ip=request.client.host if request.client else None,
                request_id=request.scope.get("state", {}).get("request_id"),
                details={
                    "patient_id": str(patient_id),
                    "channel": channel,
                    "reported": reported[:40],
                    "status": status,
                },
            )
            if moved:  # the requesting module follows its message (a reminder falls back to another channel)
                principal = system_principal(signed.tenant_id)
                context = RequestContext(tx, principal, None, "provider-callback", _host(request))
                await announce(context, signed.notification_id, status)
    except TenantInactiveError:
        raise problem(403, FORBIDDEN) from None


def _host(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.get("plugin_host")


def _channel(request: Request[Any, Any, Any], name: str) -> Channel:
    channel = all_channels(_host(request)).get(name)
    if channel is None:
        raise problem(404, f"No channel named {name!r}")
    return channel


def _options_type(channel: Channel) -> Any:
    return OPTIONS_BY_CHANNEL.get(channel.name) if channel.name in BUILTIN else None


def _config_errors(channel: Channel, data: ChannelConfigUpdate, exc: ConfigError) -> list[dict[str, str]]:
    """Each invalid option keyed ``options.<path>`` (built-ins), else the one refusal keyed by what it is about."""
    kind = _options_type(channel)
    errors = settings_errors(kind, data.options) if kind is not None else []
    if errors:
        return [{"key": "options" + e["key"].removeprefix("settings"), "message": e["message"]} for e in errors]
    return [{"key": "secrets" if "secret" in str(exc) else "options", "message": str(exc)}]


def _config_out(channel: Channel, config: StoredConfig, tenant_id: UUID) -> ChannelConfig:
    return ChannelConfig(
        channel=channel.name,
        description=channel.description,
        builtin=channel.name in BUILTIN,
        consent_channel=channel.consent_channel,
        enabled=config.enabled,
        options=config.options,
        secrets_set=sorted(config.secret_names),
        accepted_secrets=None if channel.secret_names is None else sorted(channel.secret_names),
        updated_at=config.updated_at,
        inbound_url=inbound_url(channel.name, tenant_id) if channel.name in INBOUND_CHANNELS else None,
        options_schema=settings_schema(kind) if (kind := _options_type(channel)) is not None else None,
    )


class ChannelAdminController(Controller):
    path = "/api/v1/admin/channels"
    tags = ["notifications"]
    guards = MANAGE
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", summary="Every notification channel and this organization's settings of it")
    async def list_channels(self, ctx: RequestContext, request: Request[Any, Any, Any]) -> list[ChannelConfig]:
        return [
            _config_out(channel, await load_config(ctx.tx, name), ctx.tenant_id)
            for name, channel in sorted(all_channels(_host(request)).items())
        ]

    @get("/{channel:str}", summary="One channel's settings (secrets are reported by name only)")
    async def read_channel(self, ctx: RequestContext, request: Request[Any, Any, Any], channel: str) -> ChannelConfig:
        chosen = _channel(request, channel)
        return _config_out(chosen, await load_config(ctx.tx, chosen.name), ctx.tenant_id)

    @put("/{channel:str}", summary="Configure a channel: enable it, its options, its secrets (write-only)")
    async def configure(
        self, ctx: RequestContext, request: Request[Any, Any, Any], channel: str, data: ChannelConfigUpdate
    ) -> ChannelConfig:
        chosen = _channel(request, channel)
        try:
            stored = await save_config(
                ctx, chosen, enabled=data.enabled, options=data.options, secret_changes=data.secrets
            )
        except ConfigError as exc:
            raise problem(
                422, f"Invalid {chosen.name} settings: {exc}", errors=_config_errors(chosen, data, exc)
            ) from None
        return _config_out(chosen, stored, ctx.tenant_id)


def _template_key(request: Request[Any, Any, Any], name: str, channel: str, language: str) -> tuple[str, str, str]:
    if not TEMPLATE_NAME.match(name):
        raise problem(422, "A template name is 2-60 lower-case letters, digits or underscores")
    if channel != "any":
        _channel(request, channel)
    if not LANGUAGE.match(language) or len(language) > 35:
        raise problem(422, "language must be a BCP 47 tag such as en, es or pt-BR")
    return name, channel, normalise_language(language)


class TemplateAdminController(Controller):
    path = "/api/v1/admin/notification-templates"
    tags = ["notifications"]
    guards = MANAGE
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", summary="This organization's templates and core's defaults")
    async def list_all(self, ctx: RequestContext) -> list[StoredTemplate]:
        return await list_templates(ctx.tx)

    @put("/{name:str}/{channel:str}/{language:str}", summary="Save a template (channel 'any' serves every channel)")
    async def save(
        self,
        ctx: RequestContext,
        request: Request[Any, Any, Any],
        name: str,
        channel: str,
        language: str,
        data: TemplateSave,
    ) -> StoredTemplate:
        """Refused with 422 when it does not parse or reaches for anything the sandbox forbids."""
        key = _template_key(request, name, channel, language)
        try:
            return await save_template(
                ctx, name=key[0], channel=key[1], language=key[2], subject=data.subject, body=data.body
            )
        except MessageTemplateError as exc:
            raise problem(422, f"The template cannot be used: {exc}") from None

    @delete(
        "/{name:str}/{channel:str}/{language:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a template override (core's default applies again)",
    )
    async def remove(
        self, ctx: RequestContext, request: Request[Any, Any, Any], name: str, channel: str, language: str
    ) -> None:
        key = _template_key(request, name, channel, language)
        if not await delete_template(ctx, name=key[0], channel=key[1], language=key[2]):
            raise problem(404, "This organization has no such template")

    @post("/preview", status_code=200, summary="Render a template with sample variables")
    async def preview(
        self, ctx: RequestContext, request: Request[Any, Any, Any], data: TemplatePreview
    ) -> RenderedPreview:
        chosen = _channel(request, data.channel)
        found = await find_template(ctx.tx, data.template, chosen.name, data.language)
        if found is None:
            raise problem(404, f"No template named {data.template!r} for the {chosen.name} channel")
        source, language = found
        name = await ctx.tx.fetchval("select name from tenants where id = $1", ctx.tenant_id)
        try:
            variables = {
                **service.check_context(data.context),
                "patient": {"given_name": "Alex", "family_name": "Example"},
                "organization": {"name": name},
            }
            subject, body = render(source, variables)
        except (MessageTemplateError, service.NotificationRequestError) as exc:
            raise problem(422, f"The template cannot be rendered: {exc}") from None
        return RenderedPreview(language=language, subject=subject, body=body)
