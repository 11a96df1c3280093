"""The adapter protocol, its registration record and its errors.

A payer adapter is an object with two coroutines; partners register theirs with the
``register_payer_adapters`` hook and an admin picks one per payer in the insurance module's payer
directory, with a configuration its ``settings`` schema validates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from core.payers.messages import AuthorizationRequest, AuthorizationResponse, EligibilityInquiry, EligibilityResult


class PayerAdapter(Protocol):
    async def check_eligibility(self, inquiry: EligibilityInquiry, config: Mapping[str, Any]) -> EligibilityResult:
        """Ask the payer; raise :class:`PayerUnavailableError` to be retried, :class:`PayerResponseError` for an
        unusable answer, :class:`PayerRequestError` when the request cannot be made from what we hold."""
        ...

    async def request_authorization(
        self, request: AuthorizationRequest, config: Mapping[str, Any]
    ) -> AuthorizationResponse:
        """Submit a prior-authorization request and return the payer's (possibly pended) answer."""
        ...


class PayerError(Exception):
    """Base of what an adapter raises. ``raw`` keeps whatever the payer sent, for the record."""

    def __init__(self, message: str, *, raw_request: str = "", raw_response: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.raw_request = raw_request
        self.raw_response = raw_response


class PayerUnavailableError(PayerError):
    """The payer (or clearinghouse) could not be reached or answered 5xx: worth retrying."""


class PayerRequestError(PayerError):
    """The request could not be built from our records (no NPI, a name the format cannot carry):
    nothing was sent, retrying won't help, a person must correct the data."""


class PayerResponseError(PayerError):
    """The payer answered something unusable (malformed X12, wrong transaction): retrying won't help."""


_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class PayerAdapterSpec:
    """An adapter as a plugin registers it."""

    name: str
    """Lower-case identifier admins choose in a payer's ``adapter`` field (``x12_http``, ``demo``)."""
    title: str
    adapter: PayerAdapter
    settings: type[msgspec.Struct] | None = None
    """Schema of the per-payer configuration (endpoint, submitter ids...); None: no configuration."""
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"payer adapter name {self.name!r} must be 2-40 lower-case letters, digits or _")
