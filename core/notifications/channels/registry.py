"""Every channel a tenant can configure: core's four and those plugins contribute.

A plugin channel can never take a built-in's name; the first plugin to claim a name keeps it.
"""

from __future__ import annotations

import re

from core.notifications.channels.base import Channel, ConsentChannel, PluginChannel
from core.notifications.channels.email import EmailChannel
from core.notifications.channels.letter import LetterChannel
from core.notifications.channels.sms_provider import SmsChannel, VoiceChannel
from core.plugins.manager import PluginHost, get_host

_BUILTIN: tuple[Channel, ...] = (EmailChannel(), SmsChannel(), VoiceChannel(), LetterChannel())
BUILTIN: dict[str, Channel] = {channel.name: channel for channel in _BUILTIN}
CONSENT_CHANNELS: frozenset[str] = frozenset({"sms", "email", "voice", "letter"})
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED = frozenset({"any"})
"""``any`` names templates that serve every channel."""


def all_channels(host: PluginHost | None = None) -> dict[str, Channel]:
    channels: dict[str, Channel] = dict(BUILTIN)
    for spec in (host or get_host()).contributions.channels:
        if spec.name in channels or spec.name in RESERVED or not CHANNEL_NAME.match(spec.name):
            continue
        consent = getattr(spec, "consent_channel", None)
        consent_channel: ConsentChannel | None = consent if consent in CONSENT_CHANNELS else None
        channels[spec.name] = PluginChannel(
            name=spec.name, description=spec.description, send_fn=spec.send, consent_channel=consent_channel
        )
    return channels
