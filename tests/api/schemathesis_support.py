"""What the schemathesis runs of the API share: the schema loaded from the application itself, the checks every
response must pass, and the fixture that keeps the test's database connection open while schemathesis calls the
WSGI application (registered for the whole suite in tests/conftest.py)."""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis import checks

from evnet.wsgi import application

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def api_schema(*, path_regex: str):
    """The OpenAPI schema served at /api/schema/, narrowed to the operations whose path matches `path_regex`."""
    return schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=path_regex)


@pytest.fixture
def keep_test_connection():
    """Schemathesis calls the WSGI application itself, whose request signals close the database connection — and
    with it the test's transaction. Django's own test client detaches the same handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
