"""The plugin's piccolo app: its table and migrations (``carecoord migrate`` runs them after core's)."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from partner_example.tables import PartnerExampleNote

APP_CONFIG = AppConfig(
    app_name="partner_example",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[PartnerExampleNote],
    migration_dependencies=["core.db.piccolo_app"],
)
