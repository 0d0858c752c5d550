"""Payload validation for OCPP 1.6J, compiled once per process with fastjsonschema from the `ocpp` package's own
1.6 JSON schemas (ocpp/v16/schemas/*.json), which stay the source of truth. A failed validation maps to the
CALLERROR code OCPP-J 1.6 §4.2.3 names for it.

The schemas are draft-04 and compiled as such (the `ocpp` package checks them with jsonschema's Draft4Validator),
with one change to the generated code, not to what it accepts: an enum of strings is checked by membership in a
set instead of fastjsonschema's chain of `isinstance(x, str) and x == …` per value. A MeterValues sample's
measurand is one of 22 strings and a message carries several samples; this was most of a MeterValues
validation (bench/README.md)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

import fastjsonschema
import ocpp.v16
from fastjsonschema.draft04 import CodeGeneratorDraft04
from fastjsonschema.ref_resolver import RefResolver

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
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())


class _Draft04SetEnums(CodeGeneratorDraft04):
    """fastjsonschema's draft-04 code generator; an enum whose values are all strings becomes one set lookup (a
    constant frozenset in the compiled code). Only a str can be in it, as before: 1, True or a list are refused
    with the same "must be one of" error."""

    def generate_enum(self):
        enum = self._definition["enum"]
        if not (isinstance(enum, list) and enum and all(isinstance(value, str) for value in enum)):
            return super().generate_enum()
        with self.l("if not (isinstance({variable}, str) and {variable} in {}):", repr(set(enum))):
            self.exc("{name} must be one of {}", self.e(enum), rule="enum")


def _compile(schema: dict) -> Callable[[dict], dict]:
    # What fastjsonschema.compile() does, with the generator chosen here instead of by the schema's "$schema".
    resolver = RefResolver.from_schema(schema, handlers={}, store={})
    generator = _Draft04SetEnums(schema, resolver=resolver)
    state = generator.global_state
    exec(generator.func_code, state)  # noqa: S102 - code generated from the ocpp package's schemas, as compile() does
    return state[resolver.get_scope_name()]


@lru_cache(maxsize=None)
def validator(name: str) -> Callable[[dict], dict]:
    """The compiled validator of `name` (an action, or `<Action>Response`)."""
    return _compile(_load(name))


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
