"""Piccolo configuration, found through ``PICCOLO_CONF=core.db.piccolo_conf``.

The request path connects as the app role; ``carecoord migrate`` sets
``CARECOORD_DB_ROLE=owner`` so that migrations run as the owner role.
"""

from __future__ import annotations

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from core.plugins.manager import get_host
from core.settings import get_settings

_settings = get_settings()
_dsn = _settings.owner_dsn() if os.environ.get("CARECOORD_DB_ROLE") == "owner" else _settings.app_dsn()

DB = PostgresEngine(config={"dsn": _dsn}, extensions=())

# Core's tables first, then each loaded plugin's piccolo apps (hook ``register_piccolo_apps``).
APP_REGISTRY = AppRegistry(apps=["core.db.piccolo_app", *get_host().contributions.piccolo_apps])
