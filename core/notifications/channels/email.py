"""E-mail over SMTP (stdlib ``smtplib`` in a worker thread).

The Message-ID is derived from the notification id, so if a crash makes the worker send the
same notification twice, receiving systems can recognise the duplicate.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from core.jobs.errors import PermanentError
from core.notifications.channels.base import ChannelContext, ConsentChannel, Message, Recipient, SendResult
from core.notifications.options import EmailOptions, options_dict, parse_options

TIMEOUT_SECONDS = 20


def build_email(options: EmailOptions, ctx: ChannelContext, recipient: Recipient, message: Message) -> EmailMessage:
    if not options.from_address:
        raise PermanentError("the e-mail channel has no from_address configured")
    if not recipient.email:
        raise PermanentError("the recipient has no e-mail address")
    mail = EmailMessage()
    mail["From"] = formataddr((options.from_name or ctx.tenant_name, options.from_address))
    mail["To"] = formataddr((recipient.full_name, recipient.email))
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(ctx)
    if options.reply_to:
        mail["Reply-To"] = options.reply_to
    mail.set_content(message.body)
    for attachment in message.attachments:  # checked against the allow-list when requested
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    mail["Content-Language"] = message.language  # last: set_content and add_attachment move Content-* headers
    return mail


def message_id(ctx: ChannelContext) -> str:
    return f"<{ctx.notification_id}.{ctx.tenant_id}@notifications.carecoord>"


def _deliver(options: EmailOptions, password: str | None, mail: EmailMessage) -> None:
    if options.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            options.smtp_host, options.smtp_port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(options.smtp_host, options.smtp_port, timeout=TIMEOUT_SECONDS)
    with smtp:
        if options.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if options.username:
            smtp.login(options.username, password or "")
        smtp.send_message(mail)


def _permanent(exc: smtplib.SMTPException) -> bool:
    """5xx answers about the recipient, sender or content will not change on retry; 4xx may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and isinstance(code, int) and code >= 500


@dataclass(frozen=True)
class EmailChannel:
    name: str = "email"
    description: str = "E-mail through the organization's SMTP server"
    consent_channel: ConsentChannel | None = "email"
    quiet_hours_by_default: bool = False
    secret_names: frozenset[str] | None = frozenset({"smtp_password"})
    recipient_field: str = "email"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options_dict(parse_options(EmailOptions, options))

    async def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> SendResult:
        options = parse_options(EmailOptions, ctx.options)
        assert isinstance(options, EmailOptions)
        mail = build_email(options, ctx, recipient, message)
        try:
            await asyncio.to_thread(_deliver, options, ctx.secrets.get("smtp_password"), mail)
        except smtplib.SMTPException as exc:
            if _permanent(exc):
                raise PermanentError(f"the SMTP server refused the message: {type(exc).__name__}") from None
            raise
        return SendResult(provider_message_id=message_id(ctx))
