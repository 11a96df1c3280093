"""What the claim and appeal services refuse, and the problem (RFC 9457) each refusal answers with."""

from __future__ import annotations

from typing import Any

from core.plugins.sdk import problem


class IllegalTransitionError(Exception):
    """The lifecycle does not allow ``current -> requested`` (409)."""

    def __init__(self, what: str, current: str, requested: str, hint: str = "") -> None:
        super().__init__(f"{current} -> {requested}")
        self.what = what
        self.current = current
        self.requested = requested
        self.hint = hint


class UnknownReferenceError(Exception):
    """A body names an id that is not a record of this organization (another tenant's looks the same)."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(field)
        self.field = field
        self.what = what


class InvalidFieldError(Exception):
    """Values are well-typed but break a rule (a missing reason, amounts out of order...): 422, one error a field."""

    def __init__(self, field: str, message: str, *more: tuple[str, str]) -> None:
        super().__init__(message)
        self.errors = [(field, message), *more]

    @classmethod
    def of(cls, errors: list[tuple[str, str]]) -> InvalidFieldError:
        (field, message), *more = errors
        return cls(field, message, *more)


class ConflictError(Exception):
    """The request clashes with the record's state other than by status (an open appeal exists...): 409."""

    def __init__(self, message: str, **extra: str) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


SERVICE_ERRORS = (IllegalTransitionError, UnknownReferenceError, InvalidFieldError, ConflictError)


def as_problem(exc: Exception) -> Exception:
    """The problem a refusal of the services is answered with."""
    if isinstance(exc, IllegalTransitionError):
        detail = f"The {exc.what} is {exc.current} and cannot become {exc.requested}"
        return problem(
            409,
            f"{detail}: {exc.hint}" if exc.hint else detail,
            current_status=exc.current,
            requested_status=exc.requested,
        )
    if isinstance(exc, UnknownReferenceError):
        return problem(
            422,
            f"{exc.field} is not a {exc.what} of this organization",
            errors=[{"key": exc.field, "message": f"unknown {exc.what}"}],
        )
    if isinstance(exc, InvalidFieldError):
        return problem(
            422,
            "; ".join(message for _, message in exc.errors),
            errors=[{"key": field, "message": message} for field, message in exc.errors],
        )
    if isinstance(exc, ConflictError):
        extra: dict[str, Any] = dict(exc.extra)
        return problem(409, exc.message, **extra)
    raise TypeError(f"not a service refusal: {exc!r}")
