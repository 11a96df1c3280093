"""Inbound-message routes: the providers' webhooks (signed, no credential) and the coordinators' list.

The webhooks answer 403 to anything whose address we did not sign for that channel, or (SMS) whose
``X-Twilio-Signature`` does not verify with the tenant's auth token, and change nothing then.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.db.cursors import BadCursorError
from core.db.tenant import TenantInactiveError, Tx, tenant_transaction
from core.http.context import RequestContext, provide_context, request_origin
from core.http.problems import problem
from core.jobs.context import system_principal
from core.notifications.callbacks import provider_signature_valid, public_base_url
from core.notifications.config import load_config
from core.notifications.crypto import SecretsUnreadableError
from core.notifications.inbound import (
    INBOUND_PATH,
    MAX_ADDRESS,
    MAX_SUBJECT,
    Incoming,
    clean,
    email_address,
    list_inbound,
    match_email,
    match_phone,
    message_ids,
    parse_inbound_ref,
    receive,
)
from core.notifications.inbound_schemas import InboundEmail, InboundMessagePage

FORBIDDEN = "The inbound message's signature is not valid"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _context(request: Request[Any, Any, Any], tx: Tx, tenant_id: UUID) -> RequestContext:
    ip, request_id = request_origin(request)
    return RequestContext(tx, system_principal(tenant_id), ip, request_id, request.app.state.get("plugin_host"))


@post(
    f"{INBOUND_PATH}/sms/{{ref:str}}",
    opt={"public": True},
    status_code=200,
    tags=["notifications"],
    summary="A text message a patient sent to the organization's number (Twilio-style, signed; no credential)",
    security=[],
)
async def inbound_sms(request: Request[Any, Any, Any], ref: str) -> Response[str]:
    """Form-encoded ``From``, ``To``, ``Body``, ``MessageSid``; signed with ``X-Twilio-Signature``.

    Answers an empty TwiML document (no automatic reply): modules answer through notifications.
    """
    tenant_id = parse_inbound_ref("sms", ref)
    if tenant_id is None:
        raise problem(403, FORBIDDEN)
    params = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    query = request.url.query
    url = f"{public_base_url()}{request.url.path}" + (f"?{query}" if query else "")
    try:
        async with tenant_transaction(tenant_id, require_active=True) as tx:
            config = await load_config(tx, "sms")
            try:
                token = config.secrets().get("auth_token", "")
            except SecretsUnreadableError:
                token = ""
            if not provider_signature_valid(url, params, token, request.headers.get("x-twilio-signature")):
                raise problem(403, FORBIDDEN)
            values = dict(params)
            sid = values.get("MessageSid") or values.get("SmsMessageSid") or values.get("SmsSid")
            sender = clean(values.get("From"), MAX_ADDRESS)
            if not sid or not sender:
                raise problem(400, "An inbound message needs From and MessageSid")
            prefix = config.options.get("default_country_prefix")
            matched = await match_phone(tx, sender, prefix if isinstance(prefix, str) else None)
            incoming = Incoming(
                channel="sms",
                from_address=sender,
                to_address=clean(values.get("To"), MAX_ADDRESS),
                subject=None,
                body=values.get("Body") or "",
                provider_message_id=sid,
            )
            await receive(_context(request, tx, tenant_id), incoming, matched)
    except TenantInactiveError:
        raise problem(403, FORBIDDEN) from None
    return Response(EMPTY_TWIML, media_type="text/xml")


@post(
    f"{INBOUND_PATH}/email/{{ref:str}}",
    opt={"public": True},
    status_code=HTTP_204_NO_CONTENT,
    tags=["notifications"],
    summary="An e-mail sent to the organization's inbound address (JSON from an inbound-parse webhook; signed address)",
    security=[],
)
async def inbound_email(request: Request[Any, Any, Any], ref: str) -> None:
    """JSON ``{from, to?, subject?, text, message_id, in_reply_to?, references?}``.

    The signed address is the credential: keep it secret (it changes with ``SECRET_KEY``).
    """
    tenant_id = parse_inbound_ref("email", ref)
    if tenant_id is None:
        raise problem(403, FORBIDDEN)
    try:
        data = msgspec.json.decode(await request.body(), type=InboundEmail)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise problem(400, f"The inbound e-mail is not valid: {exc}") from None
    sender = email_address(data.from_)
    if sender is None or not data.message_id.strip():
        raise problem(400, "An inbound e-mail needs a from address and a message_id")
    try:
        async with tenant_transaction(tenant_id, require_active=True) as tx:
            matched = await match_email(tx, sender, message_ids(data.in_reply_to, data.references))
            incoming = Incoming(
                channel="email",
                from_address=sender,
                to_address=email_address(data.to) or clean(data.to, MAX_ADDRESS),
                subject=clean(data.subject, MAX_SUBJECT),
                body=data.text,
                provider_message_id=data.message_id,
            )
            await receive(_context(request, tx, tenant_id), incoming, matched)
    except TenantInactiveError:
        raise problem(403, FORBIDDEN) from None


@get(
    INBOUND_PATH,
    guards=[requires_permission(Permission.NOTIFICATIONS_READ)],
    dependencies={"ctx": Provide(provide_context)},
    tags=["notifications"],
    summary="Messages patients sent in (SMS, e-mail), newest first (optionally one patient's, or the unmatched)",
)
async def list_inbound_messages(
    ctx: RequestContext,
    patient_id: UUID | None = None,
    channel: Literal["sms", "email"] | None = None,
    unmatched: bool = False,
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Parameter(max_length=200)] = None,
) -> InboundMessagePage:
    try:
        return await list_inbound(
            ctx, patient_id=patient_id, channel=channel, unmatched=unmatched, limit=limit, cursor=cursor
        )
    except BadCursorError:
        raise problem(400, "The cursor is not valid; start again without it") from None
