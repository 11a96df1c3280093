"""Letters: the message rendered to an A4 PDF (window-envelope layout) and stored for mailing.

The file lands in ``{DATA_DIR}/letters/{tenant}/{notification}.pdf``; the mail room (or a
print-and-post service) fetches it through ``GET /api/v1/notifications/{id}/document``. The
notification is ``sent`` once the PDF is on file; nothing reports delivery of paper mail.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.jobs.errors import PermanentError
from core.notifications.channels.base import ChannelContext, ConsentChannel, Message, Recipient, SendResult
from core.notifications.options import LetterOptions, options_dict, parse_options
from core.pdf import start_pdf


def address_lines(recipient: Recipient) -> list[str]:
    address = recipient.address or {}
    lines = [str(line) for line in address.get("line") or [] if line]
    city = " ".join(str(part) for part in (address.get("postal_code"), address.get("city")) if part)
    if address.get("state"):
        city = f"{city}, {address['state']}" if city else str(address["state"])
    if city:
        lines.append(city)
    if address.get("country"):
        lines.append(str(address["country"]))
    if not lines:
        raise PermanentError("the patient has no postal address")
    return [recipient.full_name, *lines]


def render_letter(sender: list[str], recipient_lines: list[str], message: Message) -> bytes:
    document = start_pdf()
    pdf, family, text = document.pdf, document.family, document.text

    pdf.set_title(text(message.subject or "Letter"))
    pdf.set_creator("carecoord")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font(family, size=8)
    pdf.set_xy(20, 20)
    pdf.multi_cell(85, 3.5, text("\n".join(sender)))
    pdf.set_font(family, size=11)
    pdf.set_xy(20, 50)  # the window of a DL envelope
    pdf.multi_cell(85, 5, text("\n".join(recipient_lines)))
    pdf.set_xy(20, 95)
    pdf.set_font(family, size=9)
    pdf.cell(0, 5, datetime.now(UTC).strftime("%Y-%m-%d"), align="R", new_x="LMARGIN", new_y="NEXT")
    if message.subject:
        pdf.ln(4)
        pdf.set_font(family, size=12)
        pdf.multi_cell(0, 6, text(message.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, size=11)
    pdf.multi_cell(0, 5.5, text(message.body), new_x="LMARGIN", new_y="NEXT")
    if message.attachments:  # the mail room prints and encloses them; the letter names them
        pdf.ln(4)
        pdf.set_font(family, size=9)
        names = "\n".join(f"- {a.filename}" for a in message.attachments)
        pdf.multi_cell(0, 4.5, text(f"Enclosures:\n{names}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def letter_key(ctx: ChannelContext) -> str:
    return f"letters/{ctx.tenant_id}/{ctx.notification_id}.pdf"


def letter_path(data_dir: str, key: str) -> Path:
    """The file of ``key`` below ``data_dir``; keys are ours, but never follow one out of it."""
    root = (Path(data_dir) / "letters").resolve()
    path = (Path(data_dir) / key).resolve()
    if root not in path.parents:
        raise ValueError("document key outside the letters directory")
    return path


def _store(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".pdf.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


@dataclass(frozen=True)
class LetterChannel:
    name: str = "letter"
    description: str = "Letters rendered to PDF and kept for mailing"
    consent_channel: ConsentChannel | None = "letter"
    quiet_hours_by_default: bool = False
    secret_names: frozenset[str] | None = frozenset()
    recipient_field: str | None = "address"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return options_dict(parse_options(LetterOptions, options))

    async def send(self, ctx: ChannelContext, recipient: Recipient, message: Message) -> SendResult:
        options = parse_options(LetterOptions, ctx.options)
        assert isinstance(options, LetterOptions)
        sender = [options.sender_name or ctx.tenant_name, *options.return_address]
        content = await asyncio.to_thread(render_letter, sender, address_lines(recipient), message)
        key = letter_key(ctx)
        await asyncio.to_thread(_store, letter_path(ctx.data_dir, key), content)
        return SendResult(provider_message_id=f"letter:{ctx.notification_id}", document_key=key)
