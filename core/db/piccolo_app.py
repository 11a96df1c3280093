"""The kernel's piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.audit.tables import AuditEvent, AuditHead
from core.auth.tables import ApiKey, RefreshToken, Team, User, UserToken
from core.care.appointments.tables import Appointment, AppointmentStatusHistory
from core.care.plans.tables import CarePlan, CarePlanActivity, CarePlanGoal, CarePlanVersion, GoalMeasurement
from core.care.tasks.tables import Task, TaskStatusHistory
from core.care.team.tables import CareTeamMember
from core.care.timeline.tables import ChartEntry
from core.directory.tables import CommunityResource, Practitioner, ProviderOrganization
from core.jobs.tables import DeadLetter, JobEffect, JobPing, UnroutedMessage
from core.notifications.inbound_tables import ChannelOptOut, InboundMessage
from core.notifications.tables import (
    Notification,
    NotificationAttachment,
    NotificationChannelConfig,
    NotificationEvent,
    NotificationTemplate,
)
from core.outbox.tables import OutboxMessage
from core.patients.tables import Patient, PatientConsent, PatientContact
from core.reports.tables import ReportRun
from core.tenancy.tables import PluginFailure, Tenant, TenantModule

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        Tenant,
        User,
        Team,
        RefreshToken,
        UserToken,
        ApiKey,
        Patient,
        PatientContact,
        PatientConsent,
        AuditEvent,
        AuditHead,
        TenantModule,
        PluginFailure,
        OutboxMessage,
        ReportRun,
        JobEffect,
        DeadLetter,
        UnroutedMessage,
        JobPing,
        NotificationChannelConfig,
        NotificationTemplate,
        Notification,
        NotificationEvent,
        NotificationAttachment,
        InboundMessage,
        ChannelOptOut,
        Appointment,
        AppointmentStatusHistory,
        ProviderOrganization,
        Practitioner,
        CommunityResource,
        Task,
        TaskStatusHistory,
        CareTeamMember,
        ChartEntry,
        CarePlan,
        CarePlanGoal,
        GoalMeasurement,
        CarePlanActivity,
        CarePlanVersion,
    ],
)
