"""Send an OCPP 1.6 command to a station from any process and wait for its answer (contract 1).

The caller publishes `ocpp.command` (naming the station) to the station's channel-layer group; the process holding
the station's socket (apps/ocpp/hub.py) sends the CALL, waits for the CALLRESULT/CALLERROR and sends `ocpp.command.reply`
to the caller's fresh reply channel. With Redis as channel layer this works across processes and hosts; with the
in-memory layer only inside the process that holds the socket."""
from __future__ import annotations

import asyncio
import functools
import json
import uuid
import weakref
from importlib import resources
from typing import Any

import fastjsonschema
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.conf import settings
from django.utils import timezone

from apps.stations.models import ChargingStation
from apps.stations.selectors import station_group_name

from ..exceptions import CommandRejected, CommandTimeout, InvalidCommand, StationOffline
from ..models import CommandRecord

# OCPP 1.6 messages the central system sends to a charge point (Core, Firmware Management, Local Auth List
# Management, Reservation, Smart Charging, Remote Trigger) and the security extension's central-system calls.
CSMS_ACTIONS = (
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ClearChargingProfile",
    "DataTransfer", "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds", "GetLog",
    "InstallCertificate", "SignedUpdateFirmware",
)

# How long past the OCPP connection's own timeout the caller keeps listening: the connection answers "timeout"
# itself after `timeout`; this margin only matters when no process is listening at all (a station marked
# connected whose process died), so the caller still ends with a clear timeout.
REPLY_GRACE_S = 2.0


@functools.cache
def _validator(action: str):
    """The request validator of `action`, compiled once per process from the `ocpp` package's own 1.6 schema."""
    schema_text = resources.files("ocpp.v16").joinpath("schemas", f"{action}.json").read_text(encoding="utf-8")
    return fastjsonschema.compile(json.loads(schema_text))


def command_validate(*, action: str, payload: dict) -> None:
    """Raise InvalidCommand unless `payload` is a valid OCPP 1.6 request of `action` sent by a central system."""
    if action not in CSMS_ACTIONS:
        raise InvalidCommand(f"“{action}” is not an OCPP 1.6 command a central system can send.",
                             extra={"action": action})
    if not isinstance(payload, dict):
        raise InvalidCommand(f"The {action} payload must be a JSON object.", extra={"action": action})
    try:
        _validator(action)(payload)
    except fastjsonschema.JsonSchemaException as exc:
        raise InvalidCommand(f"Invalid {action} payload: {exc.message}.",
                             extra={"action": action, "path": exc.name or ""}) from exc


def _record_start(*, station: ChargingStation, action: str, payload: dict, requested_by,
                  request_id: str | None) -> tuple[CommandRecord, bool]:
    """Write the command's record; tell whether the station is connected right now (read fresh from the database,
    since the OCPP connection keeps `is_connected` true while it holds the socket)."""
    connected = bool(ChargingStation.objects.filter(pk=station.pk).values_list("is_connected", flat=True).first())
    record = CommandRecord.objects.create(
        station=station, request_id=request_id or uuid.uuid4().hex, action=action, payload=payload,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None, requested_at=timezone.now(),
        outcome=CommandRecord.Outcome.PENDING if connected else CommandRecord.Outcome.OFFLINE,
    )
    return record, connected


def _record_finish(*, record: CommandRecord, reply: dict | None) -> dict:
    """Store the answer (or its absence) and return the CALLRESULT payload, or raise the matching DomainError."""
    ocpp_id = record.station.ocpp_id
    if reply is None:
        record.outcome = CommandRecord.Outcome.TIMEOUT
        record.response = {"code": "timeout", "description": "No answer from the station's connection.",
                           "details": {}}
    elif reply.get("ok"):
        record.outcome = CommandRecord.Outcome.ANSWERED
        record.response = reply.get("payload") or {}
        record.answered_at = timezone.now()
    else:
        error = reply.get("error") or {}
        code = str(error.get("code") or "GenericError")
        record.response = {"code": code, "description": str(error.get("description") or ""),
                           "details": error.get("details") or {}}
        if code == "timeout":
            record.outcome = CommandRecord.Outcome.TIMEOUT
        elif code == "station_offline":
            record.outcome = CommandRecord.Outcome.OFFLINE
        else:
            record.outcome = CommandRecord.Outcome.CALL_ERROR
            record.answered_at = timezone.now()
    record.save(update_fields=["outcome", "response", "answered_at"])
    if record.outcome == CommandRecord.Outcome.ANSWERED:
        return record.response
    if record.outcome == CommandRecord.Outcome.TIMEOUT:
        raise CommandTimeout(f"Station {ocpp_id} did not answer {record.action} in time.",
                             extra={"station": ocpp_id, "action": record.action, "record": record.pk})
    if record.outcome == CommandRecord.Outcome.OFFLINE:
        raise StationOffline(f"Station {ocpp_id} is offline: {record.action} was not sent.",
                             extra={"station": ocpp_id, "action": record.action, "record": record.pk})
    description = record.response["description"]
    raise CommandRejected(
        f"Station {ocpp_id} refused {record.action}: {record.response['code']}"
        + (f" ({description})" if description else ""),
        error_code=record.response["code"],
        extra={"station": ocpp_id, "action": record.action, "record": record.pk, **record.response},
    )


def _offline(*, record: CommandRecord) -> dict:
    return _record_finish(record=record, reply={"ok": False, "error": {
        "code": "station_offline", "description": "The station is not connected.", "details": {}}})


# One networked layer instance per event loop for async callers (a daphne process, a bench): channels_redis lets
# only one event loop receive on a layer object, and a long-lived loop should reuse its Redis connections.
_LOOP_LAYERS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()


async def _exchange(*, ocpp_id: str, request_id: str, action: str, payload: dict, timeout: float,
                    private_layer: bool = False) -> dict | None:
    """Publish the command to the station's group and wait for the reply on a fresh channel. None = no reply.
    `private_layer`: use a layer instance of its own and close it (sync callers, whose event loop ends with the
    call)."""
    shared = get_channel_layer()
    if isinstance(shared, InMemoryChannelLayer):
        # Groups of the in-memory layer live in this one object (and this one process).
        return await _exchange_on(shared, ocpp_id=ocpp_id, request_id=request_id, action=action,
                                  payload=payload, timeout=timeout)
    if not private_layer:
        loop = asyncio.get_running_loop()
        layer = _LOOP_LAYERS.get(loop)
        if layer is None:
            layer = _LOOP_LAYERS[loop] = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        return await _exchange_on(layer, ocpp_id=ocpp_id, request_id=request_id, action=action, payload=payload,
                                  timeout=timeout)
    # Groups live in Redis, so any instance reaches the station.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        return await _exchange_on(layer, ocpp_id=ocpp_id, request_id=request_id, action=action, payload=payload,
                                  timeout=timeout)
    finally:
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()


async def _exchange_on(layer, *, ocpp_id: str, request_id: str, action: str, payload: dict,
                       timeout: float) -> dict | None:
    reply_channel = await layer.new_channel("ops.reply.")
    await layer.group_send(station_group_name(ocpp_id=ocpp_id), {
        "type": "ocpp.command", "ocpp_id": ocpp_id, "request_id": request_id, "action": action, "payload": payload,
        "reply_channel": reply_channel, "timeout": float(timeout),
    })
    # One deadline for the whole wait (asyncio.timeout, not a wait_for per receive: on Python 3.11 wait_for can
    # drop a result that completes as its timeout fires, and a reply arriving at the deadline would be lost).
    try:
        async with asyncio.timeout(timeout + REPLY_GRACE_S):
            while True:
                message = await layer.receive(reply_channel)
                if message.get("type") == "ocpp.command.reply" and message.get("request_id") == request_id:
                    return message
    except TimeoutError:
        return None


def _timeout(timeout: float | None) -> float:
    value = float(settings.EVNET_OCPP_COMMAND_TIMEOUT_S if timeout is None else timeout)
    if value <= 0:
        raise InvalidCommand("The timeout must be a positive number of seconds.")
    return value


def command_send(*, station: ChargingStation, action: str, payload: dict, timeout: float | None = None,
                 requested_by=None, request_id: str | None = None) -> dict:
    """Send `action` with `payload` to the station and return the charger's CALLRESULT payload.

    Raises InvalidCommand (payload violates the OCPP 1.6 schema; nothing sent, nothing recorded), StationOffline
    (not connected: answered at once, nothing sent), CommandTimeout (no answer within `timeout` seconds, default
    EVNET_OCPP_COMMAND_TIMEOUT_S) or CommandRejected (the charger's CALLERROR, its code in `error_code`). Every
    command sent or refused for being offline is kept as a CommandRecord. Synchronous: admin actions, views,
    Celery tasks, the shell; `command_send_async` is its twin for async code. `request_id` (a fresh uuid hex by
    default) names the command's CommandRecord, for callers that link other rows to it."""
    command_validate(action=action, payload=payload)
    seconds = _timeout(timeout)
    record, connected = _record_start(station=station, action=action, payload=payload, requested_by=requested_by,
                                      request_id=request_id)
    if not connected:
        return _offline(record=record)
    reply = async_to_sync(_exchange)(ocpp_id=station.ocpp_id, request_id=record.request_id, action=action,
                                     payload=payload, timeout=seconds, private_layer=True)
    return _record_finish(record=record, reply=reply)


async def command_send_async(*, station: ChargingStation, action: str, payload: dict,
                             timeout: float | None = None, requested_by=None, request_id: str | None = None) -> dict:
    """The async twin of command_send (same arguments, answers and errors)."""
    command_validate(action=action, payload=payload)
    seconds = _timeout(timeout)
    # Not thread-sensitive: concurrent commands write their records on parallel threads and connections instead of
    # queueing behind one another on the single thread-sensitive executor.
    record, connected = await database_sync_to_async(_record_start, thread_sensitive=False)(
        station=station, action=action, payload=payload, requested_by=requested_by, request_id=request_id)
    if not connected:
        return await database_sync_to_async(_offline, thread_sensitive=False)(record=record)
    reply = await _exchange(ocpp_id=station.ocpp_id, request_id=record.request_id, action=action, payload=payload,
                            timeout=seconds)
    return await database_sync_to_async(_record_finish, thread_sensitive=False)(record=record, reply=reply)


def command_reply_describe(*, response: dict[str, Any]) -> str:
    """A one-line summary of a CALLRESULT payload for a clerk."""
    if not response:
        return "Answered (empty result)"
    if set(response) == {"status"}:
        return str(response["status"])
    return json.dumps(response, ensure_ascii=False, sort_keys=True)
