"""Property tests of the whole REST API against its own OpenAPI schema (schemathesis): for every operation under
/api/v1, examples generated from the schema — valid and invalid — sent by a driver and by a fleet manager must never
get a 5xx, and every response must match what the schema says (status code, content type, body)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings
from rest_framework.authtoken.models import Token

from tests.api.population import api_population
from tests.api.schemathesis_support import CHECKS, api_schema

schema = api_schema(path_regex=r"^/api/v1/")


@pytest.fixture
def tokens(db, keep_test_connection):
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
