"""The insurance module's piccolo app (``carecoord migrate`` runs it after core's).

The schema is written as SQL in the migrations (row-level security, composite keys, checks);
the module reads and writes through the tenant transaction, so no table classes are declared.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="insurance",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[],
    migration_dependencies=["core.db.piccolo_app"],
)
