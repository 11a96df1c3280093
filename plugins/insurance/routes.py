"""Every route of the insurance module, served below ``/api/v1/insurance``."""

from __future__ import annotations

from typing import Any

from plugins.insurance.appeals.routes import ROUTES as APPEALS
from plugins.insurance.authorizations.routes import ROUTES as AUTHORIZATIONS
from plugins.insurance.claims.routes import ROUTES as CLAIMS
from plugins.insurance.coverage.routes import ROUTES as COVERAGE
from plugins.insurance.eligibility.routes import ROUTES as ELIGIBILITY
from plugins.insurance.payers.routes import ROUTES as PAYERS

ROUTES: list[Any] = [*PAYERS, *COVERAGE, *ELIGIBILITY, *AUTHORIZATIONS, *CLAIMS, *APPEALS]
