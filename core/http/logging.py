"""Structured logs with structlog, through litestar's plugin.

Requests are logged by :mod:`core.http.access_log` (one line: method, path, status, duration, request
id); bodies, query strings and headers carry passwords, tokens and patient details, and never reach a log.
"""

from __future__ import annotations

import logging

from litestar.logging.config import StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin

# httpx logs every request's full URL at INFO: the portal's in-process API calls carry search terms (names,
# birth dates) in query strings, and provider calls carry phone numbers. Warnings and errors still show.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def structlog_plugin() -> StructlogPlugin:
    return StructlogPlugin(
        StructlogConfig(
            structlog_logging_config=StructLoggingConfig(log_exceptions="debug"),
            enable_middleware_logging=False,  # core.http.access_log writes one line instead of two
        )
    )
