"""The compiled 1.6 validators accept exactly what the `ocpp` package's own validator (jsonschema, draft 4) accepts,
including the enums compiled to set lookups (apps/ocpp/schemas.py)."""
import pytest
from hypothesis import given, settings, strategies as st
from ocpp.messages import get_validator

from apps.ocpp import schemas

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_STATUS = schemas._load("StatusNotification")["properties"]["status"]["enum"]
_MEASURAND = schemas._load("MeterValues")["properties"]["meterValue"]["items"]["properties"]["sampledValue"][
    "items"]["properties"]["measurand"]["enum"]


def _ours_accepts(name: str, payload) -> bool:
    try:
        schemas.validate(name, payload)
    except schemas.PayloadError:
        return False
    return True


def _ocpp_accepts(name: str, payload) -> bool:
    return get_validator(2, name, "1.6").is_valid(payload)


def _status(value):
    return {"connectorId": 1, "errorCode": "NoError", "status": value}


def _meter(measurand):
    return {"connectorId": 1, "meterValue": [{"timestamp": "2026-12-04T10:00:00Z",
                                              "sampledValue": [{"value": "1", "measurand": measurand}]}]}


@settings(max_examples=300, deadline=None)
@given(value=st.sampled_from(_STATUS) | st.sampled_from([s.lower() for s in _STATUS]) | _ANY_JSON)
def test_an_enum_accepts_what_the_ocpp_package_accepts(value):
    assert _ours_accepts("StatusNotification", _status(value)) == _ocpp_accepts("StatusNotification",
                                                                                 _status(value))
    assert _ours_accepts("MeterValues", _meter(value)) == _ocpp_accepts("MeterValues", _meter(value))


@pytest.mark.parametrize("value", [1, 0, True, False, None, ["Available"], {"Available": 1}, "", "available",
                                   "Available "])
def test_values_that_only_look_like_an_enum_member_are_refused_with_the_enum_or_type_code(value):
    with pytest.raises(schemas.PayloadError) as refused:
        schemas.validate("StatusNotification", _status(value))
    assert refused.value.code in ("PropertyConstraintViolation", "TypeConstraintViolation")
    assert refused.value.details["field"] == "data.status"


def test_every_member_of_every_enum_is_accepted():
    for status in _STATUS:
        schemas.validate("StatusNotification", _status(status))
    for measurand in _MEASURAND:
        schemas.validate("MeterValues", _meter(measurand))
    assert len(_MEASURAND) == 22


def test_every_schema_of_the_package_compiles():
    assert schemas.precompile() == len(list(schemas.SCHEMA_DIR.glob("*.json"))) > 50
