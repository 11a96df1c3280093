"""carecoord's own tests use the same fixtures partners get (core.testing.fixtures)."""

from core.testing.fixtures import (  # noqa: F401 - re-exported for the test modules
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
