"""The OCPP 1.6J central system side of one charger's WebSocket, as a plain ASGI application.

Fast path, by design (issue 4 "Speed"): this is not a Channels consumer. A consumer costs, per frame, a task and an
`asyncio.wait` in `await_many_dispatch` and, per socket, a `channel_layer.receive()` of its own; here the socket's
messages are read straight off daphne's queue, and the channel layer is reached through the process's one hub
(apps/ocpp/hub.py). Frames are parsed here (ujson), never by a JSON consumer that would close the socket on bad
text; payloads are checked by fastjsonschema validators compiled once per process from the `ocpp` package's 1.6
schemas; one handler per action. No ORM runs here: every write goes to the group-commit writer and the CALLRESULT
is sent only once that write is committed.

Commands from any process arrive through the hub (contract 1, `ocpp.command`): the connection sends the CALL and
relays the charger's CALLRESULT / CALLERROR (or a timeout) to the caller's reply channel. OCPP-J allows one
outstanding CALL per direction, so commands queue behind each other. A second connection for the same station
takes over: the hub closes every older socket of the station, on this process or another."""
from __future__ import annotations

import asyncio
import collections
import logging
import re
import uuid
from datetime import datetime, timezone as dt_timezone
from typing import Any, Awaitable, Callable

import ujson
from django.conf import settings

from apps.charging.services.live import MeterValuesReport
from apps.charging.services.meter import meter_values_parse, parse_timestamp
from apps.stations.live import ConnectionChange, StatusReport

from . import schemas
from .hub import hub_get
from .models import OcppMessage
from .services import actions
from .writer import writer_get

logger = logging.getLogger("apps.ocpp")

CALL, CALLRESULT, CALLERROR = 2, 3, 4
_FRAME_LENGTH = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}
# When a frame is not JSON, the message id may still be readable: [2,"<id>", ...
_ID_IN_BROKEN_FRAME = re.compile(r'^\s*\[\s*[234]\s*,\s*"([^"\\]{1,64})"')
CLOSE_REPLACED = 4000

schemas.precompile()


# The schemas say "integer" without bounds; the database columns have them. Refuse what cannot be stored instead of
# failing the write (and making the charger retry forever).
_INTEGER_RANGES = {
    "connectorId": (0, 32_767),
    "transactionId": (-(2**31), 2**63 - 1),
    "reservationId": (-(2**31), 2**31 - 1),
    "meterStart": (0, 2**62),
    "meterStop": (0, 2**62),
}


def _out_of_range(payload: dict) -> str:
    for key, (low, high) in _INTEGER_RANGES.items():
        value = payload.get(key)
        if isinstance(value, int) and not low <= value <= high:
            return f"{key} {value} is outside {low}..{high}"
    return ""


_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _connect_slots() -> asyncio.Semaphore:
    """The connect-phase semaphore of the running event loop (an asyncio.Semaphore belongs to one loop)."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        if len(_slots) > 16:  # loops of finished tests
            _slots.clear()
        slots = _slots[loop] = asyncio.Semaphore(settings.EVNET_OCPP_CONNECT_CONCURRENCY)
    return slots


def client_gone(scope: dict) -> bool:
    """Whether the charger behind this handshake has already hung up (the server, apps/ocpp/server.py, puts the
    check in the scope; other servers and test communicators do not: then it is never known gone). In a reconnect
    herd a charger that waited too long gives up and retries; admitting and opening its abandoned handshake would
    only spend the time the live ones are waiting for."""
    check = scope.get("evnet_client_gone")
    return bool(check is not None and check())


class CallError(Exception):
    def __init__(self, code: str, description: str = "", details: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.details = code, description, details or {}


def _now() -> datetime:
    return datetime.now(dt_timezone.utc)


def _dumps(frame: list) -> str:
    return ujson.dumps(frame, ensure_ascii=False, escape_forward_slashes=False)


def _runs_call(fn: Callable[..., dict]) -> Callable[..., Awaitable[dict]]:
    """The handler of an action that is one "call" operation of the writer: `fn` (apps/ocpp/services/actions.py)
    runs in the writer's batch transaction and its return value is the CALLRESULT payload."""

    async def handle(connection: "OcppConnection", payload: dict, log: list) -> dict:
        return await connection._call(fn, payload, log)

    handle.__name__ = handle.__qualname__ = f"on_{fn.__name__}"
    return handle


class OcppConnection:
    """One charger's socket: built by `ocpp_application` once the handshake is admitted."""

    def __init__(self, scope: dict, send: Callable[[dict], Awaitable[None]]):
        admission = scope["evnet_station"]
        self.station_id, self.ocpp_id = admission.station_id, admission.ocpp_id
        self.max_power_w = admission.max_power_w
        self._asgi_send = send
        self.writer = writer_get()
        self.hub = hub_get()
        self.name = ""  # the hub's channel and a per-socket suffix: ChargingStation.ocpp_channel while connected
        self._commands: collections.deque[dict] = collections.deque()
        self._pending: dict[str, Any] | None = None
        self._accepted = False
        self._closing = False

    # --- connection ---------------------------------------------------------------------------------------------

    async def open(self, gone: Callable[[], bool] = lambda: False) -> bool:
        """Take over the station (every older socket of it closes, contract 1), record the connection, accept.
        Returns False, having done nothing, if the charger hung up (`gone()`) while the handshake waited."""
        # A bounded number of connections talk to the channel layer at once: in a reconnect herd every concurrent
        # channel-layer call opens its own Redis connection (redis-py's pool grows per command in flight), and
        # 9,000 at once ended in Redis connect timeouts and "Too many connections" (bench/README.md); queued
        # here, handshakes wait in order instead of failing and being retried. The database write is not in the
        # bounded section: the writer batches any number of them into one UPDATE.
        async with _connect_slots():
            if gone():
                return False
            self.name = f"{await self.hub.ready()}/{uuid.uuid4().hex[:12]}"
            await self.hub.attach(self, reason="replaced by a new connection of the same station")
        try:
            await self.writer.run("open", ConnectionChange(self.station_id, self.name, _now()),
                                  station_id=self.station_id)
        except BaseException:
            # Failed, or cancelled (daphne gave up on the handshake) while the write may still commit: undo it,
            # or the station would show connected through a socket nobody holds. The close is a compare-and-set
            # on this socket's name, queued behind the open.
            try:
                self.writer.submit("close", ConnectionChange(self.station_id, self.name), station_id=self.station_id,
                                   wait=False)
            except RuntimeError:  # the writer is stopping: the process is going away with its sockets
                pass
            await self.hub.detach(self)
            raise
        await self._asgi_send({"type": "websocket.accept", "subprotocol": "ocpp1.6"})
        self._accepted = True
        logger.info("station %s connected (%s)", self.ocpp_id, self.name)
        return True

    async def closed(self, code: int | None) -> None:
        """The socket is gone: leave the group, fail queued commands, mark the station offline if still ours."""
        if not self._accepted:
            return
        self._accepted = False
        try:
            await self.hub.detach(self)
        except Exception:  # noqa: BLE001 - a stale membership only costs the hub an ignored message
            logger.exception("could not leave the group of %s", self.ocpp_id)
        self._fail_commands("station_offline", "the station disconnected")
        try:
            await self.writer.run("close", ConnectionChange(self.station_id, self.name), station_id=self.station_id)
        except Exception:  # noqa: BLE001 - the socket is gone either way; offline detection will catch up
            logger.exception("could not mark %s offline", self.ocpp_id)
        logger.info("station %s disconnected (code %s)", self.ocpp_id, code)

    def close_requested(self, reason: str) -> None:
        """Contract 1: a newer connection of this station took over, or monitoring found the socket silent."""
        if self._closing or not self._accepted:
            return
        self._closing = True
        logger.info("closing %s's socket %s: %s", self.ocpp_id, self.name, reason)
        asyncio.ensure_future(self._asgi_send({"type": "websocket.close", "code": CLOSE_REPLACED}))

    async def send(self, *, text_data: str) -> None:
        await self._asgi_send({"type": "websocket.send", "text": text_data})

    # --- frames from the charger ----------------------------------------------------------------------------------

    def _log(self, direction: str, message_type: int | None, message_id: str = "", action: str = "",
             payload: Any = None, raw: str = "", error_code: str = "") -> tuple:
        # A writer.LOG_FIELDS row: a tuple, not an OcppMessage (a model instance per frame cost more than the frame).
        return (self.station_id, direction, message_type, action[:48], message_id[:64], payload, raw[:10000],
                error_code[:32], _now())

    async def _send_frame(self, frame: list, *, action: str = "", error_code: str = "") -> None:
        await self.send(text_data=_dumps(frame))
        payload = frame[2] if frame[0] == CALLRESULT else (frame[3] if frame[0] == CALL else
                                                            {"description": frame[3], "details": frame[4]})
        self.writer.submit("log", station_id=None, wait=False,
                           log=[self._log(OcppMessage.Direction.OUT, frame[0], str(frame[1]), action, payload,
                                          error_code=error_code)])

    async def _send_error(self, message_id: str, code: str, description: str, details: dict | None = None,
                          *, action: str = "") -> None:
        await self._send_frame([CALLERROR, message_id, code, description[:500], details or {}], action=action,
                               error_code=code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            try:
                text_data = bytes_data.decode("utf-8")
            except (UnicodeDecodeError, AttributeError):
                self.writer.submit("log", wait=False, log=[self._log(OcppMessage.Direction.IN, None,
                                                                     raw=repr(bytes_data)[:2000],
                                                                     error_code="FormatViolation")])
                return
        try:
            await self._receive_text(text_data)
        except Exception:  # noqa: BLE001 - nothing a charger sends may kill its connection
            logger.exception("unexpected error on a frame from %s: %.200s", self.ocpp_id, text_data)

    async def _receive_text(self, text: str) -> None:
        try:
            frame = ujson.loads(text)
        except (ValueError, OverflowError):
            found = _ID_IN_BROKEN_FRAME.match(text)
            self.writer.submit("log", wait=False, log=[self._log(OcppMessage.Direction.IN, None,
                                                                 found.group(1) if found else "", raw=text,
                                                                 error_code="FormatViolation")])
            if found:
                await self._send_error(found.group(1), "FormatViolation", "The frame is not valid JSON.")
            return
        if not isinstance(frame, list) or len(frame) < 2 or not isinstance(frame[1], str):
            message_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
            self.writer.submit("log", wait=False, log=[self._log(
                OcppMessage.Direction.IN, None, str(message_id or ""), raw=text[:10000], error_code="ProtocolError")])
            if isinstance(message_id, (int, float)) and not isinstance(message_id, bool):
                await self._send_error(str(message_id), "ProtocolError",
                                       "An OCPP-J message is [MessageTypeId, \"UniqueId\", ...] with a string id.")
            return
        message_type, message_id = frame[0], frame[1]
        if message_type not in _FRAME_LENGTH or isinstance(message_type, bool):
            self._log_in_only(None, message_id, "", frame, "PropertyConstraintViolation")
            # As the ocpp package does for an unknown MessageTypeId.
            return await self._send_error(message_id, "PropertyConstraintViolation",
                                          f"MessageTypeId {message_type!r} is not 2, 3 or 4.")
        if len(frame) != _FRAME_LENGTH[message_type]:
            self._log_in_only(message_type, message_id, "", frame, "ProtocolError")
            if message_type == CALL:
                return await self._send_error(message_id, "ProtocolError",
                                              f"A CALL has 4 elements, this one has {len(frame)}.")
            return
        if message_type == CALL:
            return await self._on_call(message_id, frame[2], frame[3], frame)
        return await self._on_reply(frame)

    def _log_in_only(self, message_type, message_id, action, frame, error_code) -> None:
        payload = frame[3] if message_type == CALL and len(frame) > 3 else None
        self.writer.submit("log", wait=False, log=[self._log(
            OcppMessage.Direction.IN, message_type, str(message_id), action if isinstance(action, str) else "",
            payload if isinstance(payload, (dict, list)) else None, raw="" if payload is not None else _dumps(frame),
            error_code=error_code)])

    async def _on_call(self, message_id: str, action: Any, payload: Any, frame: list) -> None:
        if not isinstance(action, str):
            self._log_in_only(CALL, message_id, "", frame, "FormatViolation")
            return await self._send_error(message_id, "FormatViolation", "The action must be a string.")
        handler = self.HANDLERS.get(action)
        if handler is None:
            code = "NotSupported" if action in schemas.CENTRAL_SYSTEM_ACTIONS else "NotImplemented"
            self._log_in_only(CALL, message_id, action, frame, code)
            text = (f"{action} is sent by a central system, not to it." if code == "NotSupported"
                    else f"Unknown action {action!r}.")
            return await self._send_error(message_id, code, text, action=action)
        if not isinstance(payload, dict):
            self._log_in_only(CALL, message_id, action, frame, "TypeConstraintViolation")
            return await self._send_error(message_id, "TypeConstraintViolation", "The payload must be an object.",
                                          action=action)
        try:
            schemas.validate(action, payload)
        except schemas.PayloadError as exc:
            self._log_in_only(CALL, message_id, action, frame, exc.code)
            return await self._send_error(message_id, exc.code, exc.description, exc.details, action=action)
        problem = _out_of_range(payload)
        if problem:
            self._log_in_only(CALL, message_id, action, frame, "PropertyConstraintViolation")
            return await self._send_error(message_id, "PropertyConstraintViolation", problem, action=action)
        log = [self._log(OcppMessage.Direction.IN, CALL, message_id, action, payload)]
        try:
            result = await handler(self, payload, log)
        except CallError as exc:
            return await self._send_error(message_id, exc.code, exc.description, exc.details, action=action)
        except Exception as exc:  # noqa: BLE001 - the charger gets InternalError and will retry (STYLE.md "Errors")
            logger.exception("%s from %s failed", action, self.ocpp_id)
            return await self._send_error(message_id, "InternalError", f"{action} could not be stored; retry.",
                                          {"error": type(exc).__name__}, action=action)
        await self._send_frame([CALLRESULT, message_id, result], action=action)

    # --- one handler per action: (self, payload, log rows) -> CALLRESULT payload, after commit ---------------------

    async def _call(self, fn: Callable, payload: dict, log: list) -> dict:
        return await self.writer.run("call", (fn, {"station_id": self.station_id, "payload": payload,
                                                   "at": _now()}), station_id=self.station_id, log=log)

    async def on_heartbeat(self, payload, log):
        now = _now()
        await self.writer.run("log", station_id=self.station_id, heartbeat=True, log=log)
        return {"currentTime": actions.ocpp_time(now)}

    async def on_status_notification(self, payload, log):
        now = _now()
        report = StatusReport(station_id=self.station_id, connector_number=payload["connectorId"],
                              status=payload["status"], error_code=payload["errorCode"],
                              reported_at=parse_timestamp(payload.get("timestamp"), default=now), received_at=now,
                              info=payload.get("info", ""), vendor_id=payload.get("vendorId", ""),
                              vendor_error_code=payload.get("vendorErrorCode", ""))
        await self.writer.run("status", report, station_id=self.station_id, log=log)
        return {}

    async def on_meter_values(self, payload, log):
        now = _now()
        samples, skipped = meter_values_parse(meter_value=payload["meterValue"], default_at=now)
        report = MeterValuesReport(station_id=self.station_id, connector_number=payload["connectorId"],
                                   transaction_id=payload.get("transactionId"), samples=samples, received_at=now,
                                   max_power_w=self.max_power_w)
        result = await self.writer.run("meter_values", report, station_id=self.station_id, log=log)
        for note in result.notes:
            logger.warning("MeterValues from %s: %s", self.ocpp_id, note)
        if skipped:
            logger.info("MeterValues from %s: %d non-numeric value(s) kept in the message log only",
                        self.ocpp_id, skipped)
        return {}

    async def on_boot_notification(self, payload, log):
        return await self.writer.run("boot", actions.boot_report(station_id=self.station_id, payload=payload,
                                                                  at=_now()), station_id=self.station_id, log=log)

    HANDLERS: dict[str, Callable[..., Awaitable[dict]]] = {
        "Heartbeat": on_heartbeat,
        "StatusNotification": on_status_notification,
        "MeterValues": on_meter_values,
        "BootNotification": on_boot_notification,
        "Authorize": _runs_call(actions.authorize),
        "StartTransaction": _runs_call(actions.start_transaction),
        "StopTransaction": _runs_call(actions.stop_transaction),
        "DataTransfer": _runs_call(actions.data_transfer),
        "FirmwareStatusNotification": _runs_call(actions.firmware_status),
        "SignedFirmwareStatusNotification": _runs_call(actions.firmware_status),
        "DiagnosticsStatusNotification": _runs_call(actions.diagnostics_status),
        "LogStatusNotification": _runs_call(actions.log_status),
        "SecurityEventNotification": _runs_call(actions.security_event),
        "SignCertificate": _runs_call(actions.sign_certificate),
    }

    # --- commands to the charger (contract 1) ---------------------------------------------------------------------

    def command_enqueue(self, event: dict) -> None:
        """An `ocpp.command` for this station, from the hub: queue it; it is sent once no CALL is outstanding."""
        loop = asyncio.get_running_loop()
        timeout = float(event.get("timeout") or settings.EVNET_OCPP_COMMAND_TIMEOUT_S)
        self._commands.append({**event, "deadline": loop.time() + timeout})
        if self._pending is None:
            asyncio.ensure_future(self._command_next())

    async def _command_next(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending is None and self._commands:
            event = self._commands.popleft()
            remaining = event["deadline"] - loop.time()
            if remaining <= 0:
                await self._reply(event, error=("timeout", "no answer in time (queued behind another command)"))
                continue
            action, payload = event.get("action"), event.get("payload") or {}
            if action not in schemas.CENTRAL_SYSTEM_ACTIONS:
                await self._reply(event, error=("NotSupported", f"{action!r} is not a command a central system "
                                                                 "sends in OCPP 1.6"))
                continue
            try:
                schemas.validate(action, payload)
            except schemas.PayloadError as exc:
                await self._reply(event, error=(exc.code, exc.description, exc.details))
                continue
            message_id = str(uuid.uuid4())
            timer = loop.call_later(remaining, lambda mid=message_id: asyncio.ensure_future(self._command_timeout(mid)))
            self._pending = {"id": message_id, "event": event, "timer": timer}
            await self._send_frame([CALL, message_id, action, payload], action=action)

    async def _command_timeout(self, message_id: str) -> None:
        if self._pending is None or self._pending["id"] != message_id:
            return
        event = self._pending["event"]
        self._pending = None
        await self._reply(event, error=("timeout", f"the station did not answer {event.get('action')} in time"))
        await self._command_next()

    async def _on_reply(self, frame: list) -> None:
        message_type, message_id = frame[0], frame[1]
        pending = self._pending
        action = pending["event"].get("action", "") if pending and pending["id"] == message_id else ""
        payload = frame[2] if message_type == CALLRESULT else {"code": frame[2], "description": frame[3],
                                                               "details": frame[4]}
        self.writer.submit("log", wait=False, log=[self._log(
            OcppMessage.Direction.IN, message_type, message_id, action,
            payload if isinstance(payload, (dict, list)) else None,
            error_code=str(frame[2])[:32] if message_type == CALLERROR else "")])
        if not action:
            logger.info("%s answered %s, which is not the pending command (late after a timeout?)",
                        self.ocpp_id, message_id)
            return
        pending["timer"].cancel()
        self._pending = None
        event = pending["event"]
        if message_type == CALLRESULT:
            await self._reply(event, payload=frame[2] if isinstance(frame[2], dict) else {})
        else:
            details = frame[4] if isinstance(frame[4], dict) else {"details": frame[4]}
            await self._reply(event, error=(str(frame[2]), str(frame[3]), details))
        await self._command_next()

    async def _reply(self, event: dict, *, payload: dict | None = None, error: tuple | None = None) -> None:
        reply_channel = event.get("reply_channel")
        if not reply_channel:
            return
        message = {"type": "ocpp.command.reply", "request_id": event.get("request_id"), "ok": error is None,
                   "payload": payload if error is None else None, "error": None}
        if error is not None:
            message["error"] = {"code": error[0], "description": error[1],
                                "details": error[2] if len(error) > 2 else {}}
        try:
            await self.hub.layer.send(reply_channel, message)
        except Exception:  # noqa: BLE001 - the caller may be gone (its own timeout); nothing else to do
            logger.warning("could not reply to %s for %s", reply_channel, self.ocpp_id, exc_info=True)

    def _fail_commands(self, code: str, description: str) -> None:
        events = list(self._commands)
        self._commands.clear()
        if self._pending is not None:
            self._pending["timer"].cancel()
            events.insert(0, self._pending["event"])
            self._pending = None
        for event in events:
            asyncio.ensure_future(self._reply(event, error=(code, description)))


async def ocpp_application(scope: dict, receive: Callable[[], Awaitable[dict]],
                           send: Callable[[dict], Awaitable[None]]) -> None:
    """The ASGI application of an admitted OCPP socket (apps/ocpp/routing.py puts admission in front of it).

    Reads daphne's messages one at a time: a frame is handled (and, for a CALL, answered after its commit) before
    the next is read, which keeps a charger's messages in order."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    connection = OcppConnection(scope, send)
    try:
        if not await connection.open(gone=lambda: client_gone(scope)):
            return
    except Exception:  # noqa: BLE001 - refuse this handshake; the charger retries
        logger.exception("could not open the connection of %s", connection.ocpp_id)
        await send({"type": "websocket.close", "code": 1011})
        return
    code = None
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                await connection.receive(message.get("text"), message.get("bytes"))
            elif kind == "websocket.disconnect":
                code = message.get("code")
                break
    finally:
        await connection.closed(code)
