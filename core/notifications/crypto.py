"""Keys of the notification subsystem: credentials at rest and signed callback addresses.

Credentials are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The keys come from
``ENCRYPTION_KEY`` (comma-separated Fernet keys, newest first: the first encrypts, all
decrypt, so a new key can be introduced without losing the old secrets) or, when it is
unset, from ``SECRET_KEY`` through HKDF. Callback addresses are signed with another key
derived from ``SECRET_KEY``, so the two purposes never share key material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings, SettingsError, get_settings


class SecretsUnreadableError(Exception):
    """Stored credentials cannot be decrypted with the configured keys (a key was rotated away)."""


UNREADABLE = "stored channel credentials cannot be decrypted with the configured keys"


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


@lru_cache(maxsize=8)
def _fernet(encryption_key: str | None, secret_key: str | None) -> MultiFernet:
    if encryption_key:
        try:
            keys = [Fernet(part.strip().encode()) for part in encryption_key.split(",") if part.strip()]
        except ValueError:
            raise SettingsError(
                "ENCRYPTION_KEY must be Fernet keys (urlsafe base64 of 32 bytes), comma-separated"
            ) from None
        if keys:
            return MultiFernet(keys)
    if not secret_key:
        raise SettingsError("SECRET_KEY (or ENCRYPTION_KEY) is needed to store notification credentials")
    derived = base64.urlsafe_b64encode(_derive(secret_key, b"carecoord notification credentials v1"))
    return MultiFernet([Fernet(derived)])


def credentials_cipher(settings: Settings | None = None) -> MultiFernet:
    settings = settings or get_settings()
    return _fernet(settings.encryption_key, settings.secret_key)


def encrypt_secrets(values: dict[str, str], settings: Settings | None = None) -> str:
    """A Fernet token holding ``values`` as JSON."""
    return credentials_cipher(settings).encrypt(msgspec.json.encode(values)).decode()


def decrypt_secrets(token: str | None, settings: Settings | None = None) -> dict[str, str]:
    if not token:
        return {}
    try:
        raw = credentials_cipher(settings).decrypt(token.encode())
    except InvalidToken:
        raise SecretsUnreadableError(UNREADABLE) from None
    values: Any = msgspec.json.decode(raw)
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}


def reencrypt(token: str, settings: Settings | None = None) -> str:
    """The same secrets under the newest key (after adding a key in front of ``ENCRYPTION_KEY``)."""
    try:
        return credentials_cipher(settings).rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretsUnreadableError(UNREADABLE) from None


@lru_cache(maxsize=8)
def _callback_key(secret_key: str) -> bytes:
    return _derive(secret_key, b"carecoord notification callbacks v1")


def callback_signature(message: str, settings: Settings | None = None) -> str:
    """HMAC-SHA256 of ``message`` under the server's callback key, url-safe, 32 characters."""
    settings = settings or get_settings()
    digest = hmac.new(_callback_key(settings.jwt_secret()), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def signature_matches(message: str, signature: str, settings: Settings | None = None) -> bool:
    return hmac.compare_digest(callback_signature(message, settings).encode(), signature.encode())
