"""Logging helpers shared by the API and the workers."""

from __future__ import annotations

import logging
import traceback


def log_exception(logger: logging.Logger, message: str, exc: BaseException, *args: object) -> None:
    """Log ``message`` with ``exc``'s traceback as text.

    The JSON renderer of our structlog setup cannot serialise ``exc_info`` tuples, so the trace
    is formatted here; it goes to the log only, never to a response.
    """
    logger.error(message + "\n%s", *args, "".join(traceback.format_exception(exc)))
