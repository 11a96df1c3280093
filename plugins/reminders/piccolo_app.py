"""The reminders module's piccolo app (``carecoord migrate`` runs it after core's)."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.reminders.tables import ReminderDelivery, ReminderFlag, ReminderTouch

APP_CONFIG = AppConfig(
    app_name="reminders",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[ReminderTouch, ReminderDelivery, ReminderFlag],
    migration_dependencies=["core.db.piccolo_app"],
)
