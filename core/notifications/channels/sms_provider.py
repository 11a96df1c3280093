"""SMS and voice calls through a Twilio-style REST provider.

``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` (or ``Calls.json``),
form-encoded, HTTP basic auth with the account id and the tenant's auth token, and a
``StatusCallback`` address the provider posts delivery reports to (see ``callbacks.py``).
A 4xx answer other than 429 is permanent (bad number, unverified sender...); a 5xx, a 429
or a network error is retried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import httpx

from core.jobs.errors import PermanentError
from core.notifications.channels.base import ChannelContext, ConsentChannel, Message, Recipient, SendResult
from core.notifications.options import ProviderOptions, VoiceOptions, options_dict, parse_options

TIMEOUT_SECONDS = 20
API_VERSION = "2010-04-01"


class ProviderError(Exception):
    """The provider failed in a way a retry may fix (5xx, 429, network)."""


def e164(phone: str | None, default_prefix: str | None) -> str:
    """The patient's number in E.164; PermanentError when it cannot be made one."""
    if not phone:
        raise PermanentError("the patient has no phone number")
    digits = re.sub(r"[^0-9]", "", phone)
    if phone.strip().startswith("+"):
        number = f"+{digits}"
    elif default_prefix:
        number = f"{default_prefix}{digits.lstrip('0')}"  # a leading 0 is a national trunk prefix
    else:
        raise PermanentError("the patient's phone number has no country prefix and the channel sets none")
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
        raise PermanentError("the patient's phone number is not a valid international number")
    return number


async def post_to_provider(ctx: ChannelContext, options: ProviderOptions, resource: str, form: dict[str, str]) -> str:
    """POST ``form`` to the provider's ``resource`` (``Messages``/``Calls``); returns the ``sid``."""
    if not options.account_sid or not options.from_number:
        raise PermanentError(f"the {ctx.channel} channel needs account_sid and from_number")
    token = ctx.secrets.get("auth_token")
    if not token:
        raise PermanentError(f"the {ctx.channel} channel has no auth_token")
    url = f"{options.base_url.rstrip('/')}/{API_VERSION}/Accounts/{options.account_sid}/{resource}.json"
    if ctx.callback_url:
        form["StatusCallback"] = ctx.callback_url
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = await client.post(
                url,
                data=form,
                auth=(options.account_sid, token),
                headers={"Idempotency-Key": f"carecoord-{ctx.notification_id}"},
            )
    except httpx.HTTPError as exc:
        raise ProviderError(f"{ctx.channel} provider unreachable: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise ProviderError(f"{ctx.channel} provider answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(
            f"{ctx.channel} provider refused the message ({response.status_code}): {_reason(response)}"
        )
    try:
        sid = response.json().get("sid")
    except ValueError:
        sid = None
    if not isinstance(sid, str) or not sid:
        raise ProviderError(f"{ctx.channel} provider answered {response.status_code} without a sid")
    return sid[:200]


def _reason(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return "no details"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("code") or "no details")[:300]
    return "no details"


@dataclass(frozen=True)
class SmsChannel:
    name: str = "sms"
    description: str = "Text messages through a Twilio-style provider"
    consent_channel: ConsentChannel | None = "sms"
    quiet_hours_by_default: bool = True
    secret_names: frozenset[str] | None = frozenset({"auth_token"})
    recipient_field: str | None = "phone"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options_dict(parse_options(ProviderOptions, options))

    async def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> SendResult:
        options = parse_options(ProviderOptions, ctx.options)
        assert isinstance(options, ProviderOptions)
        to = e164(recipient.phone, options.default_country_prefix)
        form = {"To": to, "From": options.from_number or "", "Body": message.body}
        return SendResult(provider_message_id=await post_to_provider(ctx, options, "Messages", form))


def twiml_say(text: str, language: str, voice: str) -> str:
    """A TwiML document that reads ``text`` aloud (escaped: the text comes from a template)."""
    return f'<Response><Say voice="{escape(voice)}" language="{escape(language)}">{escape(text)}</Say></Response>'


@dataclass(frozen=True)
class VoiceChannel:
    name: str = "voice"
    description: str = "Automated voice calls that read the message, through a Twilio-style provider"
    consent_channel: ConsentChannel | None = "voice"
    quiet_hours_by_default: bool = True
    secret_names: frozenset[str] | None = frozenset({"auth_token"})
    recipient_field: str | None = "phone"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options_dict(parse_options(VoiceOptions, options))

    async def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> SendResult:
        options = parse_options(VoiceOptions, ctx.options)
        assert isinstance(options, VoiceOptions)
        to = e164(recipient.phone, options.default_country_prefix)
        form = {
            "To": to,
            "From": options.from_number or "",
            "Twiml": twiml_say(message.body, message.language, options.voice),
        }
        return SendResult(provider_message_id=await post_to_provider(ctx, options, "Calls", form))
