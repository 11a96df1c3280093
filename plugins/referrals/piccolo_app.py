"""The referrals module's piccolo app (``carecoord migrate`` runs it after core's)."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.referrals.tables import Referral, ReferralAttachment, ReferralSlaEvent, ReferralTransition

APP_CONFIG = AppConfig(
    app_name="referrals",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[ReferralAttachment, Referral, ReferralTransition, ReferralSlaEvent],
    migration_dependencies=["core.db.piccolo_app"],
)
