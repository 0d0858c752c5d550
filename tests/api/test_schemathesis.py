"""Property tests of the whole REST API against its own OpenAPI schema (schemathesis): for every operation under
/api/v1, examples generated from the schema — valid and invalid — sent by a driver and by a fleet manager must never
get a 5xx, and every response must match what the schema says (status code, content type, body)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from evnet.wsgi import application
from tests.api.population import api_population

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=r"^/api/v1/")

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def _keep_test_connection():
    """Schemathesis calls the WSGI application itself, whose request signals close the database connection — and
    with it the test's transaction. Django's own test client detaches the same handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db, _keep_test_connection):
    """A small network with a driver and a fleet manager (tests/api/population.py), and their API tokens."""
    people = api_population()
    return {role: Token.objects.get_or_create(user=user)[0].key for role, user in people.items()}


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("role", ["driver", "fleet_manager"])
@schema.parametrize()
@hypothesis_settings(max_examples=12, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case, role, tokens):
    response = case.call(headers={"Authorization": f"Token {tokens[role]}"})
    case.validate_response(response, checks=CHECKS)
