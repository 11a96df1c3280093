"""The built-in X12 adapter: 270/271 and 278 over HTTP to a payer or clearinghouse.

The request is the X12 interchange itself (``Content-Type: application/edi-x12``), the answer's
body the payer's interchange; credentials, when the endpoint needs them, come from the payer's
encrypted secrets (``username`` and ``password`` for basic auth, or ``token`` for a bearer token).
Transport problems and 5xx are :class:`PayerUnavailableError` (retried by the workers); a 4xx, an
empty body or anything the codec refuses is :class:`PayerResponseError`, recorded with the raw body.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import httpx
import msgspec

from core.payers.adapter import PayerAdapterSpec, PayerRequestError, PayerResponseError, PayerUnavailableError
from core.payers.messages import AuthorizationRequest, AuthorizationResponse, EligibilityInquiry, EligibilityResult
from plugins.insurance.x12 import X12SyntaxError, build_270, build_278, parse_271, parse_278

T = TypeVar("T")
X12_ID = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9 ]{2,15}$")]


class X12HttpSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    endpoint_url: Annotated[str, msgspec.Meta(pattern=r"^https?://\S{3,490}$")]
    """Where the interchange is POSTed (the payer's or clearinghouse's real-time endpoint)."""
    sender_id: X12_ID
    """Our interchange sender id (ISA06/GS02), as the payer registered us."""
    receiver_id: X12_ID
    """The payer's interchange receiver id (ISA08/GS03)."""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 30.0


def _control_number() -> int:
    return 100_000_000 + random.randbelow(900_000_000)


def _auth(config: Mapping[str, Any]) -> tuple[httpx.Auth | None, dict[str, str]]:
    secrets = dict(config.get("secrets") or {})
    if "token" in secrets:
        return None, {"Authorization": f"Bearer {secrets['token']}"}
    if "username" in secrets:
        return httpx.BasicAuth(secrets["username"], secrets.get("password", "")), {}
    return None, {}


async def exchange(document: str, config: Mapping[str, Any]) -> str:
    """POST one interchange, return the answer's text; raises the adapter errors."""
    auth, headers = _auth(config)
    try:
        async with httpx.AsyncClient(timeout=float(config.get("timeout_seconds", 30.0))) as client:
            response = await client.post(
                str(config["endpoint_url"]),
                content=document.encode(),
                headers={"Content-Type": "application/edi-x12", "Accept": "application/edi-x12", **headers},
                auth=auth or httpx.USE_CLIENT_DEFAULT,
            )
    except httpx.HTTPError as exc:
        raise PayerUnavailableError(
            f"the payer could not be reached: {type(exc).__name__}", raw_request=document
        ) from None
    body = response.text
    if response.status_code >= 500 or response.status_code == 429:
        raise PayerUnavailableError(
            f"the payer answered HTTP {response.status_code}", raw_request=document, raw_response=body[:20_000]
        )
    if response.status_code >= 400:
        raise PayerResponseError(
            f"the payer refused the request: HTTP {response.status_code}",
            raw_request=document,
            raw_response=body[:20_000],
        )
    if not body.strip():
        raise PayerResponseError("the payer answered with an empty body", raw_request=document)
    return body


def _built(build: Callable[..., str], message: Any, config: Mapping[str, Any]) -> str:
    """The interchange for ``message``; a message the format cannot carry is a :class:`PayerRequestError`."""
    try:
        return build(
            message,
            sender_id=str(config["sender_id"]),
            receiver_id=str(config["receiver_id"]),
            control_number=_control_number(),
            now=datetime.now(UTC),
        )
    except ValueError as exc:
        raise PayerRequestError(f"the request cannot be written as X12: {exc}") from None


def _parsed(parse: Callable[..., T], answer: str, document: str) -> T:
    try:
        return parse(answer, raw_request=document)
    except X12SyntaxError as exc:
        raise PayerResponseError(str(exc), raw_request=document, raw_response=answer) from None


class X12HttpAdapter:
    async def check_eligibility(self, inquiry: EligibilityInquiry, config: Mapping[str, Any]) -> EligibilityResult:
        document = _built(build_270, inquiry, config)
        return _parsed(parse_271, await exchange(document, config), document)

    async def request_authorization(
        self, request: AuthorizationRequest, config: Mapping[str, Any]
    ) -> AuthorizationResponse:
        document = _built(build_278, request, config)
        return _parsed(parse_278, await exchange(document, config), document)


X12_HTTP = PayerAdapterSpec(
    name="x12_http",
    title="X12 5010 over HTTP",
    adapter=X12HttpAdapter(),
    settings=X12HttpSettings,
    description="270/271 eligibility and 278 prior authorization, POSTed to the payer's real-time endpoint",
)
