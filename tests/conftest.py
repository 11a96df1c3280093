"""carecoord's own tests use the same fixtures partners get (core.testing.fixtures)."""

import pytest

pytest.register_assert_rewrite("core.testing.fixtures")

from core.testing.fixtures import (  # noqa: E402, F401 - re-exported for the test modules
    PASSWORD,
    Org,
    add_user,
    create_patient,
    enable_module,
    login,
    patient_body,
    sign_up,
)

pytest_plugins = ["core.testing.fixtures"]
