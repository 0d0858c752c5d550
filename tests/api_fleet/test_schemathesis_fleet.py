"""Schemathesis over the fleet managers' endpoints *inside the manager's own fleet* (tests/api/test_schemathesis.py
sends random fleet ids, which mostly meet the 404): every generated example — valid and invalid query strings and
bodies, on real drivers, vehicles, cards, plans and invoices — gets no 5xx and a response that matches the schema."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings

from tests.api.schemathesis_support import CHECKS, api_schema

from .conftest import make_fleet
from .test_cross_tenant import objects_of

schema = api_schema(path_regex=r"^/api/v1/fleets/")


@pytest.fixture
def fleet_objects(db, keep_test_connection):
    fleet = make_fleet("Frota S", "frota-s", uid_prefix="FS", plate_prefix="SS")
    ids = objects_of(fleet)
    return fleet, {"fleet_id": fleet.org.pk, **{f"{name}_id": pk for name, pk in ids.items()}}


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fleet_endpoints_never_fail_and_match_their_schema(case, fleet_objects):
    fleet, ids = fleet_objects
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name]
    response = case.call(headers={"Authorization": f"Token {fleet.client._credentials['HTTP_AUTHORIZATION'][6:]}"})
    case.validate_response(response, checks=CHECKS)
