"""Payload validation for OCPP 1.6J, compiled once per process with fastjsonschema from the `ocpp` package's own
1.6 JSON schemas (ocpp/v16/schemas/*.json), which stay the source of truth. A failed validation maps to the
CALLERROR code OCPP-J 1.6 §4.2.3 names for it."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

import fastjsonschema
import ocpp.v16

SCHEMA_DIR = Path(ocpp.v16.__file__).parent / "schemas"

# Messages a charge point sends to the central system (OCPP 1.6 core and feature profiles, plus the security
# extension's notifications a 1.6 charger may send).
CHARGE_POINT_ACTIONS = frozenset({
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
    "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction",
    "SecurityEventNotification", "SignedFirmwareStatusNotification", "LogStatusNotification", "SignCertificate",
})
# Every other action of the schema directory goes from the central system to the charger.
ALL_ACTIONS = frozenset(p.stem for p in SCHEMA_DIR.glob("*.json") if not p.stem.endswith("Response"))
CENTRAL_SYSTEM_ACTIONS = ALL_ACTIONS - CHARGE_POINT_ACTIONS


class PayloadError(Exception):
    """A payload the schema refuses, with the OCPP-J error code."""

    def __init__(self, code: str, description: str, details: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details or {}


# fastjsonschema rule → OCPP-J 1.6 error code.
_RULE_CODES = {
    "type": "TypeConstraintViolation",
    "required": "OccurenceConstraintViolation",
    "minItems": "OccurenceConstraintViolation",
    "maxItems": "OccurenceConstraintViolation",
    "additionalProperties": "FormatViolation",
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
}


def _load(name: str) -> dict:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    schema.pop("$schema", None)  # draft-04 is what fastjsonschema assumes without it
    return schema


@lru_cache(maxsize=None)
def validator(name: str) -> Callable[[dict], dict]:
    """The compiled validator of `name` (an action, or `<Action>Response`)."""
    return fastjsonschema.compile(_load(name))


def precompile() -> int:
    """Compile every 1.6 schema now (at import of apps.ocpp.connection) so no message pays for it."""
    for path in SCHEMA_DIR.glob("*.json"):
        validator(path.stem)
    return len(list(SCHEMA_DIR.glob("*.json")))


def validate(name: str, payload: dict) -> None:
    """Raise PayloadError with the OCPP-J code when `payload` does not satisfy the schema `name`."""
    try:
        validator(name)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        code = _RULE_CODES.get(exc.rule or "", "FormatViolation")
        raise PayloadError(code, f"{name}: {exc.message}", {"field": exc.name, "rule": exc.rule}) from None
