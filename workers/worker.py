"""The module ``dramatiq`` loads in each worker process (``carecoord worker`` runs it).

Importing it configures the broker with the worker middleware and declares every actor.
"""

from __future__ import annotations

import logging

from core.plugins.manager import get_host
from core.settings import get_settings
from workers.actors import bind_actors
from workers.broker import build_broker

settings = get_settings()
logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
broker = build_broker(settings, with_worker_middleware=True)
actors = bind_actors(broker, get_host())
