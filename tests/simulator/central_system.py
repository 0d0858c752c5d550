"""A minimal OCPP 1.6 central system built only from the `ocpp` library's ChargePoint and a `websockets` server:
the simulator's counterpart in tests that exercise commands the simulator must obey independently of evnet's
server (evnet's own server is exercised end to end in test_against_evnet.py)."""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

_transaction_ids = itertools.count(100)


class CentralChargePoint(ChargePoint):
    """What the central system knows of one connected charger, and every CALL it received."""

    accepted_tags = {"CARD-OK"}

    def __init__(self, *args, heartbeat_interval: int = 300, **kwargs):
        super().__init__(*args, **kwargs)
        self.heartbeat_interval = heartbeat_interval
        self.messages: list[tuple[str, dict]] = []

    def _now(self) -> str:
        return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")

    def _tag_info(self, id_tag: str) -> dict:
        ok = id_tag in self.accepted_tags
        return {"status": AuthorizationStatus.accepted if ok else AuthorizationStatus.invalid}

    @on(Action.boot_notification)
    def on_boot(self, **payload):
        self.messages.append(("BootNotification", payload))
        return call_result.BootNotification(current_time=self._now(), interval=self.heartbeat_interval,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **payload):
        self.messages.append(("Heartbeat", payload))
        return call_result.Heartbeat(current_time=self._now())

    @on(Action.status_notification)
    def on_status(self, **payload):
        self.messages.append(("StatusNotification", payload))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag, **payload):
        self.messages.append(("Authorize", {"id_tag": id_tag}))
        return call_result.Authorize(id_tag_info=self._tag_info(id_tag))

    @on(Action.start_transaction)
    def on_start(self, **payload):
        self.messages.append(("StartTransaction", payload))
        return call_result.StartTransaction(transaction_id=next(_transaction_ids),
                                            id_tag_info=self._tag_info(payload["id_tag"]))

    @on(Action.stop_transaction)
    def on_stop(self, **payload):
        self.messages.append(("StopTransaction", payload))
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(self, **payload):
        self.messages.append(("MeterValues", payload))
        return call_result.MeterValues()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **payload):
        self.messages.append(("FirmwareStatusNotification", payload))
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **payload):
        self.messages.append(("DiagnosticsStatusNotification", payload))
        return call_result.DiagnosticsStatusNotification()

    def actions(self) -> list[str]:
        return [action for action, _ in self.messages]


class CentralSystem:
    """`async with CentralSystem() as cs:` serves ws://127.0.0.1:<cs.port>/<id>; `cs.points[id]` is the
    connected CentralChargePoint. Requires HTTP Basic `<id>:<password>` when `password` is set (else 401)."""

    def __init__(self, *, password: str | None = None, heartbeat_interval: int = 300):
        self.password = password
        self.heartbeat_interval = heartbeat_interval
        self.points: dict[str, CentralChargePoint] = {}
        self.connections = 0
        self.refused = 0
        self._server = None
        self.port = 0

    def _process_request(self, connection, request):
        if self.password is None:
            return None
        station_id = request.path.rstrip("/").split("/")[-1]
        expected = "Basic " + base64.b64encode(f"{station_id}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            self.refused += 1
            return connection.respond(401, "wrong station password\n")
        return None

    async def _handler(self, connection):
        station_id = connection.request.path.rstrip("/").split("/")[-1]
        self.connections += 1
        point = CentralChargePoint(station_id, connection, heartbeat_interval=self.heartbeat_interval)
        self.points[station_id] = point
        try:
            await point.start()
        except websockets.exceptions.ConnectionClosed:
            pass

    async def __aenter__(self) -> "CentralSystem":
        self._server = await websockets.serve(self._handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"],
                                              process_request=self._process_request, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def wait_for(self, station_id: str, action: str, *, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Wait until the station has sent `count` messages of `action`; returns their payloads."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            point = self.points.get(station_id)
            found = [p for a, p in point.messages if a == action] if point else []
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(f"{station_id} sent {len(found)} {action} within {timeout} s; "
                                     f"got {point.actions() if point else 'no connection'}")
            await asyncio.sleep(0.02)


async def raw_call(point: CentralChargePoint, action: str, payload, *, timeout: float = 5.0):
    """Send a CALL frame exactly as given (even an invalid one) and return the charger's answer as the
    list it put on the wire: [3, id, payload] or [4, id, code, description, details]."""
    unique_id = f"raw-{next(_transaction_ids)}"
    async with point._call_lock:
        await point._send(f'[2,"{unique_id}","{action}",{json.dumps(payload)}]')
        answer = await point._get_specific_response(unique_id, timeout)
    return json.loads(answer.to_json())
