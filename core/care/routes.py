"""Route handlers of the care records and the directory, gathered for ``create_app``.

Each capability appends its controllers here.
"""

from __future__ import annotations

from typing import Any

from core.care.appointments.controllers import AppointmentController
from core.care.plans.controllers import CarePlanController
from core.care.tasks.controllers import ResourceRequestController, TaskController, WorklistController
from core.care.team.controllers import CareTeamController, CaseloadController
from core.care.timeline.controllers import TimelineController
from core.directory.controllers import DIRECTORY_CONTROLLERS

CARE_ROUTE_HANDLERS: list[Any] = [
    TimelineController,
    AppointmentController,
    *DIRECTORY_CONTROLLERS,
    TaskController,
    WorklistController,
    ResourceRequestController,
    CareTeamController,
    CaseloadController,
    CarePlanController,
]
