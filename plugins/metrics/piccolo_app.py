"""The metrics module's piccolo app (``carecoord migrate`` runs it after core's)."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.metrics.surveys.tables import MetricSurvey

APP_CONFIG = AppConfig(
    app_name="metrics",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[MetricSurvey],
    migration_dependencies=["core.db.piccolo_app"],
)
