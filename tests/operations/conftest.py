"""The webhook receiver and endpoints of tests/integrations, for the worker's tests."""
from tests.integrations.conftest import admin, allow_private, endpoint, receiver  # noqa: F401  (fixtures)
