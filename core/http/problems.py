"""RFC 9457 problem details for every error, through litestar's ProblemDetailsPlugin.

No body ever carries a stack trace or SQL: database errors that bad input can
provoke become 409/422 with a plain sentence, PostgreSQL or Redis being unreachable a 503 with
``Retry-After``, anything else a bare 500 whose details go to the log under the request id.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
import redis.exceptions
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from core.log import log_exception

log = logging.getLogger("carecoord.errors")

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable-content",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemDetailsException:
    """A problem-details exception with a stable ``type`` per status."""
    return ProblemDetailsException(
        status_code=status,
        title=HTTPStatus(status).phrase,
        detail=detail,
        type_=f"/problems/{_SLUGS.get(status, 'error')}",
        headers=headers,
        extra=extra or None,
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, list) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc.extra, dict):
        extra.update(exc.extra)
    detail = exc.detail
    if exc.status_code >= 500:
        detail = HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, detail, headers=exc.headers, **extra)


def _from_unique_violation(exc: asyncpg.UniqueViolationError) -> ProblemDetailsException:
    return problem(409, "A record with the same unique value already exists")


def _from_integrity(exc: asyncpg.IntegrityConstraintViolationError) -> ProblemDetailsException:
    return problem(422, "The request refers to a record that does not exist or breaks a rule")


def _from_data_error(exc: asyncpg.DataError) -> ProblemDetailsException:
    return problem(422, "A value is out of range or malformed")


OUTAGES: tuple[type[Exception], ...] = (
    ConnectionError,  # refused or reset: the server is down or restarting
    asyncpg.PostgresConnectionError,  # the connection broke mid-request
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, crashed, "cannot connect now" while starting
    redis.exceptions.ConnectionError,  # also Redis loading its append-only file
    redis.exceptions.TimeoutError,
)
"""PostgreSQL or Redis unreachable: the request was not served and is safe to retry once they are back."""


def _from_outage(exc: Exception) -> ProblemDetailsException:
    log.warning("a backing service is unavailable: %s: %s", type(exc).__name__, exc)
    return problem(
        503, "A service this request needs is briefly unavailable; retry shortly", headers={"Retry-After": "1"}
    )


def is_outage(exc: BaseException) -> bool:
    """``exc`` is an outage, or a group litestar made of what a dependency's cleanup raised (a transaction
    whose rollback found the connection gone) with the handler's error as its cause, an outage among them."""
    if isinstance(exc, BaseExceptionGroup):
        return any(isinstance(error, OUTAGES) for error in (exc.__cause__, *exc.exceptions))
    return isinstance(exc, OUTAGES)


def _from_group(exc: ExceptionGroup[Exception]) -> ProblemDetailsException:
    """An outage in a group (:func:`is_outage`) is a 503, as on its own."""
    if is_outage(exc):
        return _from_outage(exc)
    return _from_unexpected(exc)


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log_exception(log, "unhandled error", exc)
    return problem(500, "Something went wrong on our side; the request id identifies it in our logs")


problem_details_plugin = ProblemDetailsPlugin(
    ProblemDetailsConfig(
        enable_for_all_http_exceptions=False,
        exception_to_problem_detail_map={
            HTTPException: _from_http_exception,
            asyncpg.UniqueViolationError: _from_unique_violation,
            asyncpg.IntegrityConstraintViolationError: _from_integrity,
            asyncpg.DataError: _from_data_error,
            **dict.fromkeys(OUTAGES, _from_outage),
            ExceptionGroup: _from_group,
            Exception: _from_unexpected,
        },
    )
)
