"""Provider delivery reports: signed addresses we hand out, and the checks on what comes back.

Two signatures protect ``POST /api/v1/notifications/callbacks/{channel}/{ref}``:

1. ``ref`` names the tenant and notification and carries our own HMAC of them (a key derived
   from ``SECRET_KEY``). It is the only way the tenant is chosen, so a caller cannot pick one;
   a forged or altered ``ref`` is refused before any tenant data is touched.
2. ``X-Twilio-Signature`` is the provider's HMAC-SHA1 (base64) of the full callback URL
   followed by every form parameter, sorted by name, as ``name + value``, keyed with the
   tenant's auth token: proof that the report comes from the tenant's provider account.

Both comparisons are constant-time. Anything that fails answers 403 and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID

from core.db.tenant import Tx
from core.notifications.crypto import callback_signature, signature_matches
from core.notifications.schemas import Status
from core.settings import Settings, get_settings

CALLBACK_PATH = "/api/v1/notifications/callbacks"
PROVIDER_CHANNELS = frozenset({"sms", "voice"})

# Twilio message and call statuses -> ours; None: an intermediate report, kept in the history only.
PROVIDER_STATUSES: dict[str, Status | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "initiated": None,
    "ringing": None,
    "in-progress": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "completed": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "busy": "failed",
    "no-answer": "failed",
    "canceled": "failed",
    "bounced": "bounced",
}


@dataclass(frozen=True)
class CallbackRef:
    tenant_id: UUID
    notification_id: UUID


def _message(channel: str, tenant_id: UUID, notification_id: UUID) -> str:
    return f"notification-callback:{channel}:{tenant_id.hex}:{notification_id.hex}"


def public_base_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def callback_url(channel: str, tenant_id: UUID, notification_id: UUID, settings: Settings | None = None) -> str:
    """The StatusCallback address for one notification, signed so only we could have made it."""
    signature = callback_signature(_message(channel, tenant_id, notification_id), settings)
    ref = f"{tenant_id.hex}{notification_id.hex}.{signature}"
    return f"{public_base_url(settings)}{CALLBACK_PATH}/{channel}/{ref}"


def parse_ref(channel: str, ref: str, settings: Settings | None = None) -> CallbackRef | None:
    """The tenant and notification of a ``ref`` we signed; None for anything else."""
    ids, dot, signature = ref.partition(".")
    if not dot or len(ids) != 64 or channel not in PROVIDER_CHANNELS:
        return None
    try:
        tenant_id, notification_id = UUID(hex=ids[:32]), UUID(hex=ids[32:])
    except ValueError:
        return None
    if not signature_matches(_message(channel, tenant_id, notification_id), signature, settings):
        return None
    return CallbackRef(tenant_id, notification_id)


def provider_signature(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + sorted name+value pairs))."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def provider_signature_valid(url: str, params: list[tuple[str, str]], auth_token: str, signature: str | None) -> bool:
    if not signature or not auth_token:
        return False
    expected = provider_signature(url, params, auth_token)
    return hmac.compare_digest(expected.encode(), signature.encode())


RANK: dict[str, int] = {"queued": 0, "deferred": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "bounced": 3}


async def apply_provider_status(
    tx: Tx,
    tenant_id: UUID,
    notification_id: UUID,
    provider_status: str,
    provider_id: str | None,
    error_code: str | None,
) -> tuple[Status, UUID, bool] | None:
    """Record a provider's report; move the status forward only (reports may arrive out of order).

    Returns the notification's status afterwards, its patient and whether the status moved (None
    when the notification does not exist).
    """
    from core.notifications.service import add_event

    row = await tx.fetchrow("select status, patient_id from notifications where id = $1 for update", notification_id)
    if row is None:
        return None
    current: Status = row["status"]
    mapped = PROVIDER_STATUSES.get(provider_status.lower())
    detail = f"provider error {error_code}" if error_code else None
    if mapped is not None and current in RANK and RANK[mapped] > RANK[current]:
        await tx.execute(
            """update notifications set status = $2::text, updated_at = now(),
                   provider_message_id = coalesce(provider_message_id, $3::text),
                   delivered_at = case when $2::text = 'delivered' then now() else delivered_at end,
                   last_error = case when $2::text in ('failed', 'bounced') then $4::text else last_error end
               where id = $1""",
            notification_id,
            mapped,
            provider_id,
            detail,
        )
        current = mapped
        moved = True
    else:
        moved = False
        detail = f"{detail + '; ' if detail else ''}recorded only (status stays {current})"
    await add_event(tx, tenant_id, notification_id, current, "provider", detail, provider_status)
    return current, row["patient_id"], moved
