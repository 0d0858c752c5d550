"""A simulated OCPP 1.6J charge point: plain asyncio and the `websockets` client, no Django, so that the
`simulate_chargers` command, the tests and the load benchmark (bench/ocpp_load.py) all drive the same code.

A charger connects to `<url>/<ocpp_id>` with subprotocol ocpp1.6 and HTTP Basic auth (security profile 1/2), boots,
reports every connector's status, heartbeats at the interval the central system gave, charges a car when told to
(by `plug_in()` with a card, or by RemoteStartTransaction), sends MeterValues that follow a charging curve and stops
the transaction when told to. It answers every CALL of OCPP 1.6 (Core, Smart Charging, Remote Trigger, Local Auth
List, Reservation, Firmware) with a schema-valid CALLRESULT, and unknown actions with CALLERROR NotImplemented.

Every message it sends and every CALL it receives is built from / checked against the `ocpp` package's 1.6
dataclasses and JSON schemas (`validate=True`, the default). The benchmark switches validation off so that the
load generator, which shares the machine with the server, spends its CPU on sending.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import websockets
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import NotImplementedError as OcppNotImplemented, NotSupportedError, OCPPError
from ocpp.messages import Call, CallResult, _validate_payload
from ocpp.v16 import call as v16call, datatypes as v16types
from ocpp.v16.enums import (ChargePointErrorCode, ChargePointStatus, Measurand, Phase, ReadingContext, Reason,
                            UnitOfMeasure)

logger = logging.getLogger("evnet.simulator")

OCPP_VERSION = "1.6"

# OCPP 1.6 actions a central system may send to a charge point (Core, Firmware Management, Local Auth List
# Management, Reservation, Smart Charging, Remote Trigger) and the security-extension actions: anything else is
# answered NotImplemented, an action of this list that the simulator does not model is answered NotSupported.
CENTRAL_SYSTEM_ACTIONS = {
    "CancelReservation", "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ClearChargingProfile",
    "DataTransfer", "GetCompositeSchedule", "GetConfiguration", "GetDiagnostics", "GetLocalListVersion",
    "RemoteStartTransaction", "RemoteStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
    "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds", "GetLog",
    "InstallCertificate", "SignedUpdateFirmware",
}


class CallRefused(Exception):
    """The central system answered one of our CALLs with a CALLERROR (or not in time: code "timeout").
    (The simulator is a client outside Django, so this is a plain exception, not an evnet DomainError.)"""

    def __init__(self, action: str, error_code: str, description: str = ""):
        self.action = action
        self.error_code = error_code
        self.description = description
        super().__init__(f"{action} refused: {error_code} {description}".strip())


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def ocpp_time(at: datetime) -> str:
    """OCPP 1.6 dateTime: ISO 8601 in UTC with a Z, millisecond precision."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def payload_of(message) -> dict:
    """An `ocpp.v16.call` / `call_result` dataclass as the camelCase JSON object OCPP puts on the wire."""
    return snake_to_camel_case(remove_nones(serialize_as_dict(message)))


def validate_call(action: str, payload: dict) -> None:
    """Check a CALL payload against the ocpp package's 1.6 schema; raises the matching ocpp OCPPError."""
    _validate_payload(Call("check", action, payload), OCPP_VERSION)


def validate_result(action: str, payload: dict) -> None:
    _validate_payload(CallResult("check", payload, action=action), OCPP_VERSION)


@dataclass
class CarModel:
    """The car on a connector: battery and state of charge drive the charging curve (constant power up to 80 %
    state of charge, then a linear taper down to 10 % of the power at 100 %)."""

    battery_wh: int = 52_000
    soc_percent: float = 35.0
    max_power_w: int = 11_000

    def accepted_power_w(self, offered_w: int) -> int:
        if self.soc_percent >= 100.0:
            return 0
        power = min(offered_w, self.max_power_w)
        if self.soc_percent > 80.0:
            power = int(power * (1.0 - 0.9 * (self.soc_percent - 80.0) / 20.0))
        return max(power, 0)


@dataclass
class ConnectorState:
    connector_id: int
    status: str = ChargePointStatus.available
    available: bool = True
    pending_unavailable: bool = False
    register_wh: float = 0.0
    power_w: int = 0
    transaction_id: int | None = None
    id_tag: str | None = None
    car: CarModel | None = None
    reservation_id: int | None = None
    profile_limit_w: int | None = None
    started_at: datetime | None = None
    meter_start_wh: int = 0
    starting: bool = False  # Authorize / StartTransaction in flight: the connector is taken

    @property
    def busy(self) -> bool:
        return self.transaction_id is not None or self.starting

    @property
    def register_int_wh(self) -> int:
        return int(self.register_wh)


@dataclass
class ChargerConfig:
    ocpp_id: str
    url: str = "ws://127.0.0.1:8000/ocpp"
    password: str | None = None
    connectors: int = 1
    current_type: str = "AC"            # AC, DC or HPC: DC chargers report SoC and DC voltage
    max_power_w: int = 11_000
    phases: int = 3
    voltage_v: int = 230
    vendor: str = "evnet"
    model: str = "SimCharger"
    firmware_version: str = "1.0.0"
    meter_interval_s: float = 60.0
    heartbeat_interval_s: float | None = None  # None: use the interval the central system gives at boot
    call_timeout_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    validate: bool = True
    local_addr: tuple[str, int] | None = None
    open_timeout_s: float = 20.0

    @property
    def endpoint(self) -> str:
        return f"{self.url.rstrip('/')}/{self.ocpp_id}"


class SimulatedCharger:
    """One charge point. Use `await charger.run(stop_event)` (connects, boots, reconnects with backoff until the
    event is set), then `await charger.wait_booted()`, `await charger.plug_in(connector_id=1, id_tag="CARD")`,
    `await charger.unplug(connector_id=1)`. Everything the central system asked is in `received_calls`."""

    def __init__(self, config: ChargerConfig, *, on_latency: Callable[[str, float], None] | None = None):
        self.config = config
        self.connectors = {n: ConnectorState(connector_id=n) for n in range(1, config.connectors + 1)}
        self.station_profile_limit_w: int | None = None
        self.configuration: dict[str, dict[str, Any]] = {
            "HeartbeatInterval": {"value": "300", "readonly": False},
            "MeterValueSampleInterval": {"value": str(int(config.meter_interval_s)), "readonly": False},
            "ClockAlignedDataInterval": {"value": "0", "readonly": False},
            "ConnectionTimeOut": {"value": "60", "readonly": False},
            "AuthorizeRemoteTxRequests": {"value": "false", "readonly": False},
            "LocalAuthorizeOffline": {"value": "true", "readonly": False},
            "LocalPreAuthorize": {"value": "false", "readonly": False},
            "MeterValuesSampledData": {"value": self._default_measurands(), "readonly": False},
            "StopTransactionOnEVSideDisconnect": {"value": "true", "readonly": True},
            "NumberOfConnectors": {"value": str(config.connectors), "readonly": True},
            "SupportedFeatureProfiles": {"value": "Core,FirmwareManagement,LocalAuthListManagement,Reservation,"
                                                  "SmartCharging,RemoteTrigger", "readonly": True},
            "ChargeProfileMaxStackLevel": {"value": "10", "readonly": True},
            "LocalAuthListEnabled": {"value": "true", "readonly": False},
            "LocalAuthListMaxLength": {"value": "1000", "readonly": True},
        }
        self.local_list_version = 0
        self.local_list: dict[str, dict] = {}
        self.registration_status: str | None = None
        self.heartbeat_interval_s: float = config.heartbeat_interval_s or 300.0
        self.received_calls: list[tuple[str, dict]] = []
        self.sent_calls: list[tuple[str, dict]] = []
        self.errors: list[str] = []
        self.heartbeats_answered = 0
        self.connects = 0
        self.on_latency = on_latency
        self._ws = None
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[str, asyncio.Future]] = {}
        self._booted = asyncio.Event()
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._session_tasks: set[asyncio.Task] = set()
        self._reset_requested: str | None = None
        self._stop: asyncio.Event | None = None

    # ------------------------------------------------------------------ connection
    def _default_measurands(self) -> str:
        measurands = ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage"]
        if self.config.current_type != "AC":
            measurands.append("SoC")
        return ",".join(measurands)

    def _headers(self) -> dict[str, str]:
        if not self.config.password:
            return {}
        token = base64.b64encode(f"{self.config.ocpp_id}:{self.config.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def connect(self):
        kwargs = {}
        if self.config.local_addr:
            kwargs["local_addr"] = self.config.local_addr
        return await websockets.connect(
            self.config.endpoint, subprotocols=["ocpp1.6"], additional_headers=self._headers(),
            open_timeout=self.config.open_timeout_s, ping_interval=None, close_timeout=2, max_queue=64,
            compression=None, **kwargs,
        )

    async def run(self, stop: asyncio.Event | None = None, *, reconnect: bool = True) -> None:
        """Connect, boot and serve until `stop` is set; after a lost connection (or a refused handshake) wait with
        exponential backoff and jitter, then reconnect — as a real charger on a flaky mobile network does."""
        self._stop = stop or asyncio.Event()
        backoff = self.config.reconnect_min_s
        while not self._stop.is_set():
            try:
                self._ws = await self.connect()
            except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidHandshake) as exc:
                self.errors.append(f"connect: {exc}")
                logger.info("%s: cannot connect (%s); retrying in %.1f s", self.config.ocpp_id, exc, backoff)
                if not reconnect:
                    raise
                if await self._sleep_or_stop(backoff * random.uniform(0.8, 1.2)):
                    break
                backoff = min(backoff * 2, self.config.reconnect_max_s)
                continue
            backoff = self.config.reconnect_min_s
            self.connects += 1
            self._connected.set()
            try:
                await self._serve_connection()
            finally:
                self._connected.clear()
                self._booted.clear()
                self._fail_pending("connection lost")
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self._tasks.clear()
            if self._reset_requested:
                self._reset_requested = None
                continue  # reboot at once, as after a Reset
            if not reconnect:
                break
            if await self._sleep_or_stop(backoff * random.uniform(0.8, 1.2)):
                break
            backoff = min(backoff * 2, self.config.reconnect_max_s)
        for task in list(self._session_tasks):
            task.cancel()
        await asyncio.gather(*self._session_tasks, return_exceptions=True)

    async def _sleep_or_stop(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def _serve_connection(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        booter = self._spawn(self._boot_sequence())
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            booter.cancel()
            if not reader.done():
                await self._ws.close()
                reader.cancel()
            await asyncio.gather(reader, stopper, return_exceptions=True)

    async def close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._ws is not None:
            await self._ws.close()

    async def drop_connection(self) -> None:
        """Close the socket without stopping: the charger reconnects after its backoff (a network cut)."""
        if self._ws is not None:
            await self._ws.close()

    def _spawn(self, coro, *, session: bool = False) -> asyncio.Task:
        task = asyncio.create_task(coro)
        bucket = self._session_tasks if session else self._tasks
        bucket.add(task)
        task.add_done_callback(bucket.discard)
        task.add_done_callback(self._log_task_failure)
        return task

    def _log_task_failure(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, (websockets.exceptions.ConnectionClosed, CallRefused)):
            self.errors.append(f"{type(exc).__name__}: {exc}")
            logger.warning("%s: %s", self.config.ocpp_id, exc, exc_info=exc)
        elif isinstance(exc, CallRefused):
            self.errors.append(str(exc))
            logger.info("%s: %s", self.config.ocpp_id, exc)

    async def wait_booted(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._booted.wait(), timeout)

    @property
    def is_booted(self) -> bool:
        return self._booted.is_set()

    # ------------------------------------------------------------------ framing
    async def _read_loop(self) -> None:
        try:
            async for raw in self._ws:
                self._handle_frame(raw)
        except websockets.exceptions.ConnectionClosed:
            pass

    def _handle_frame(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
            kind = frame[0]
        except (ValueError, TypeError, IndexError, KeyError):
            self.errors.append(f"unreadable frame from the central system: {raw!r:.200}")
            return
        if kind == 3 and len(frame) >= 3:
            entry = self._pending.pop(frame[1], None)
            if entry and not entry[1].done():
                entry[1].set_result(frame[2])
        elif kind == 4 and len(frame) >= 4:
            entry = self._pending.pop(frame[1], None)
            if entry and not entry[1].done():
                entry[1].set_exception(CallRefused(entry[0], str(frame[2]), str(frame[3])))
        elif kind == 2 and len(frame) >= 4:
            self._spawn(self._answer_call(str(frame[1]), str(frame[2]), frame[3]))
        else:
            self.errors.append(f"unexpected frame from the central system: {raw!r:.200}")

    def _fail_pending(self, reason: str) -> None:
        for action, future in self._pending.values():
            if not future.done():
                future.set_exception(CallRefused(action, "connection_lost", reason))
        self._pending.clear()

    async def call(self, action: str, payload: dict, *, timeout: float | None = None) -> dict:
        """Send a CALL and wait for its CALLRESULT payload; CALLERROR or no answer raise CallRefused."""
        if self.config.validate:
            validate_call(action, payload)
        if self._ws is None:
            raise CallRefused(action, "not_connected")
        message_id = f"{self.config.ocpp_id}-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = (action, future)
        started = time.perf_counter()
        try:
            await self._ws.send(json.dumps([2, message_id, action, payload], separators=(",", ":")))
        except websockets.exceptions.ConnectionClosed as exc:
            self._pending.pop(message_id, None)
            raise CallRefused(action, "connection_lost", str(exc)) from exc
        if self.config.validate:
            self.sent_calls.append((action, payload))
        try:
            result = await asyncio.wait_for(future, timeout or self.config.call_timeout_s)
        except asyncio.TimeoutError as exc:
            self._pending.pop(message_id, None)
            raise CallRefused(action, "timeout", f"no answer within {timeout or self.config.call_timeout_s} s") \
                from exc
        if self.on_latency is not None:
            self.on_latency(action, time.perf_counter() - started)
        if self.config.validate:
            try:
                validate_result(action, result)
            except OCPPError as exc:
                raise CallRefused(action, "invalid_result", f"{exc.description}: {exc.details}") from exc
        return result

    async def send_message(self, message) -> dict:
        """Send an `ocpp.v16.call` dataclass (the action is its class name)."""
        return await self.call(type(message).__name__, payload_of(message))

    # ------------------------------------------------------------------ charge point → central system
    async def _boot_sequence(self) -> None:
        while True:
            result = await self.send_message(v16call.BootNotification(
                charge_point_model=self.config.model, charge_point_vendor=self.config.vendor,
                charge_point_serial_number=f"SIM-{self.config.ocpp_id}"[:25],
                firmware_version=self.config.firmware_version,
                meter_type="SimMeter", meter_serial_number=f"M-{self.config.ocpp_id}"[:25],
            ))
            self.registration_status = result["status"]
            interval = float(result.get("interval") or 0)
            if result["status"] == "Accepted":
                if self.config.heartbeat_interval_s is None and interval > 0:
                    self.heartbeat_interval_s = interval
                self.configuration["HeartbeatInterval"]["value"] = str(int(self.heartbeat_interval_s))
                break
            # OCPP 1.6 §4.2: Pending / Rejected — retry the BootNotification after `interval` seconds.
            await asyncio.sleep(interval if interval > 0 else 30)
        for connector in [0, *self.connectors]:
            await self.status_notification(connector)
        self._booted.set()
        self._spawn(self._heartbeat_loop())
        for state in self.connectors.values():
            if state.transaction_id is not None and not any(
                    t.get_name() == f"meter-{state.connector_id}" for t in self._session_tasks):
                self._start_metering(state)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            await self.heartbeat()

    async def heartbeat(self) -> dict:
        result = await self.send_message(v16call.Heartbeat())
        self.heartbeats_answered += 1
        return result

    async def status_notification(self, connector_id: int, *, error_code: str = ChargePointErrorCode.no_error,
                                  info: str | None = None) -> None:
        if connector_id == 0:
            status = (ChargePointStatus.available if any(c.available for c in self.connectors.values())
                      else ChargePointStatus.unavailable)
        else:
            status = self.connectors[connector_id].status
        await self.send_message(v16call.StatusNotification(
            connector_id=connector_id, error_code=error_code, status=status, timestamp=ocpp_time(utc_now()),
            info=info,
        ))

    async def _set_status(self, state: ConnectorState, status: str) -> None:
        if state.status != status:
            state.status = status
            if self.is_booted:
                await self.status_notification(state.connector_id)

    async def authorize(self, id_tag: str) -> dict:
        result = await self.send_message(v16call.Authorize(id_tag=id_tag))
        return result["idTagInfo"]

    async def plug_in(self, *, connector_id: int = 1, id_tag: str, car: CarModel | None = None,
                      authorize: bool = True) -> int | None:
        """A driver plugs a car in and presents a card: Preparing, Authorize, StartTransaction, Charging.
        Returns the transactionId, or None when the card was refused (the connector goes back to Available)."""
        state = self.connectors[connector_id]
        if state.busy:
            raise ValueError(f"connector {connector_id} is busy (transaction {state.transaction_id})")
        state.starting = True
        try:
            state.car = car or CarModel(max_power_w=self.config.max_power_w)
            await self._set_status(state, ChargePointStatus.preparing)
            if authorize:
                info = await self.authorize(id_tag)
                if info.get("status") != "Accepted":
                    await self._set_status(state, ChargePointStatus.available)
                    state.car = None
                    return None
            return await self._start_transaction(state, id_tag)
        finally:
            state.starting = False

    async def _start_transaction(self, state: ConnectorState, id_tag: str) -> int | None:
        started_at = utc_now()
        meter_start = state.register_int_wh
        result = await self.send_message(v16call.StartTransaction(
            connector_id=state.connector_id, id_tag=id_tag, meter_start=meter_start,
            timestamp=ocpp_time(started_at), reservation_id=state.reservation_id,
        ))
        state.reservation_id = None
        if result["idTagInfo"].get("status") != "Accepted":
            # OCPP 1.6 §5.x: a transaction refused at start is stopped at once with reason DeAuthorized.
            state.transaction_id = result["transactionId"]
            await self._stop_transaction(state, Reason.de_authorized)
            return None
        state.transaction_id = int(result["transactionId"])
        state.id_tag = id_tag
        state.started_at = started_at
        state.meter_start_wh = meter_start
        await self._set_status(state, ChargePointStatus.charging)
        self._start_metering(state)
        return state.transaction_id

    def _start_metering(self, state: ConnectorState) -> None:
        task = self._spawn(self._metering_loop(state), session=True)
        task.set_name(f"meter-{state.connector_id}")

    async def unplug(self, *, connector_id: int = 1, reason: str = Reason.ev_disconnected) -> dict | None:
        """The driver ends the session (card or unplugging): StopTransaction, then Finishing → Available."""
        state = self.connectors[connector_id]
        if state.transaction_id is None:
            return None
        return await self._stop_transaction(state, reason)

    async def _stop_transaction(self, state: ConnectorState, reason: str) -> dict:
        for task in list(self._session_tasks):
            if task.get_name() == f"meter-{state.connector_id}" and task is not asyncio.current_task():
                task.cancel()
        self._accrue(state)
        state.power_w = 0
        transaction_id = state.transaction_id
        result = await self.send_message(v16call.StopTransaction(
            meter_stop=state.register_int_wh, timestamp=ocpp_time(utc_now()), transaction_id=transaction_id,
            reason=reason, id_tag=state.id_tag,
        ))
        state.transaction_id = None
        state.id_tag = None
        state.car = None
        state.started_at = None
        await self._set_status(state, ChargePointStatus.finishing)
        if state.pending_unavailable:
            state.available = False
            state.pending_unavailable = False
            await self._set_status(state, ChargePointStatus.unavailable)
        else:
            await self._set_status(state, ChargePointStatus.available)
        return result

    # ------------------------------------------------------------------ charging physics
    def offered_power_w(self, state: ConnectorState) -> int:
        limits = [self.config.max_power_w]
        if state.profile_limit_w is not None:
            limits.append(state.profile_limit_w)
        if self.station_profile_limit_w is not None:
            limits.append(self.station_profile_limit_w)
        return max(min(limits), 0)

    def _accrue(self, state: ConnectorState) -> None:
        """Add the energy delivered since the last call at the power that was flowing."""
        now = time.monotonic()
        last = getattr(state, "_last_accrual", None)
        state._last_accrual = now
        if last is None or state.car is None or state.transaction_id is None:
            return
        energy_wh = state.power_w * (now - last) / 3600.0
        state.register_wh += energy_wh
        car = state.car
        car.soc_percent = min(100.0, car.soc_percent + 100.0 * energy_wh / car.battery_wh)

    def _update_power(self, state: ConnectorState) -> None:
        state.power_w = state.car.accepted_power_w(self.offered_power_w(state)) if state.car else 0

    def sampled_values(self, state: ConnectorState, context: str = ReadingContext.sample_periodic) -> list:
        values = [
            v16types.SampledValue(value=str(state.register_int_wh), context=context,
                                  measurand=Measurand.energy_active_import_register, unit=UnitOfMeasure.wh),
            v16types.SampledValue(value=str(state.power_w), context=context,
                                  measurand=Measurand.power_active_import, unit=UnitOfMeasure.w),
        ]
        if self.config.current_type == "AC":
            phases = [Phase.l1, Phase.l2, Phase.l3][: self.config.phases]
            amps = state.power_w / (len(phases) * self.config.voltage_v)
            for phase in phases:
                values.append(v16types.SampledValue(value=f"{amps:.1f}", context=context,
                                                    measurand=Measurand.current_import, phase=phase,
                                                    unit=UnitOfMeasure.a))
            values.append(v16types.SampledValue(value=str(self.config.voltage_v), context=context,
                                                measurand=Measurand.voltage, phase=Phase.l1_n,
                                                unit=UnitOfMeasure.v))
        else:
            dc_voltage = 400 if self.config.current_type == "DC" else 800
            values.append(v16types.SampledValue(value=f"{state.power_w / dc_voltage:.1f}", context=context,
                                                measurand=Measurand.current_import, unit=UnitOfMeasure.a))
            values.append(v16types.SampledValue(value=str(dc_voltage), context=context,
                                                measurand=Measurand.voltage, unit=UnitOfMeasure.v))
            soc = state.car.soc_percent if state.car else 0
            values.append(v16types.SampledValue(value=str(int(soc)), context=context, measurand=Measurand.soc,
                                                unit=UnitOfMeasure.percent))
        return values

    async def meter_values(self, connector_id: int, *, context: str = ReadingContext.sample_periodic) -> dict:
        state = self.connectors[connector_id]
        self._accrue(state)
        return await self.send_message(v16call.MeterValues(
            connector_id=connector_id, transaction_id=state.transaction_id,
            meter_value=[v16types.MeterValue(timestamp=ocpp_time(utc_now()),
                                             sampled_value=self.sampled_values(state, context))],
        ))

    async def _metering_loop(self, state: ConnectorState) -> None:
        self._accrue(state)
        self._update_power(state)
        while state.transaction_id is not None:
            await asyncio.sleep(float(self.configuration["MeterValueSampleInterval"]["value"]) or
                                self.config.meter_interval_s)
            self._accrue(state)
            self._update_power(state)
            if self.is_booted:
                await self.meter_values(state.connector_id)
            if state.power_w == 0 and state.car and state.car.soc_percent >= 100.0:
                # The battery is full: the car stops drawing current, the transaction stays open.
                await self._set_status(state, ChargePointStatus.suspended_ev)
            elif state.power_w == 0 and self.offered_power_w(state) == 0:
                await self._set_status(state, ChargePointStatus.suspended_evse)
            elif state.power_w > 0:
                await self._set_status(state, ChargePointStatus.charging)

    def _refresh_power(self) -> None:
        for state in self.connectors.values():
            if state.transaction_id is not None:
                self._accrue(state)
                self._update_power(state)

    # ------------------------------------------------------------------ central system → charge point
    async def _answer_call(self, message_id: str, action: str, payload: Any) -> None:
        self.received_calls.append((action, payload))
        follow_up = None
        try:
            if action not in CENTRAL_SYSTEM_ACTIONS:
                raise OcppNotImplemented(description=f"{action} is not an OCPP 1.6 action a charge point handles")
            if self.config.validate:
                validate_call(action, payload)
            handler = getattr(self, f"on_{action}", None)
            if handler is None:
                raise NotSupportedError(description=f"{action} is not supported by this charger")
            answer = handler(payload)
            if isinstance(answer, tuple):
                answer, follow_up = answer
            if self.config.validate:
                validate_result(action, answer)
            frame = [3, message_id, answer]
        except OCPPError as exc:
            frame = [4, message_id, exc.code, exc.description or "", exc.details or {}]
            if isinstance(frame[4], dict):
                frame[4] = json.loads(json.dumps(frame[4], default=str))
        try:
            await self._ws.send(json.dumps(frame, separators=(",", ":")))
        except websockets.exceptions.ConnectionClosed:
            return
        if follow_up is not None:
            await follow_up()

    def _connector_for_remote_start(self, connector_id: int | None) -> ConnectorState | None:
        if connector_id:
            state = self.connectors.get(connector_id)
            return state if state and state.available and not state.busy else None
        return next((s for s in self.connectors.values() if s.available and not s.busy), None)

    def on_RemoteStartTransaction(self, payload: dict):
        state = self._connector_for_remote_start(payload.get("connectorId"))
        if state is None:
            return {"status": "Rejected"}
        id_tag = payload["idTag"]
        if payload.get("chargingProfile"):
            state.profile_limit_w = self._limit_from_profile(payload["chargingProfile"])

        async def start():
            try:
                state.car = state.car or CarModel(max_power_w=self.config.max_power_w)
                await self._set_status(state, ChargePointStatus.preparing)
                if self.configuration["AuthorizeRemoteTxRequests"]["value"] == "true":
                    if (await self.authorize(id_tag)).get("status") != "Accepted":
                        state.car = None
                        await self._set_status(state, ChargePointStatus.available)
                        return
                await self._start_transaction(state, id_tag)
            finally:
                state.starting = False

        state.starting = True  # taken from the moment the command is accepted
        return {"status": "Accepted"}, (lambda: self._spawn(start(), session=True))

    def on_RemoteStopTransaction(self, payload: dict):
        state = next((s for s in self.connectors.values() if s.transaction_id == payload["transactionId"]), None)
        if state is None:
            return {"status": "Rejected"}
        return {"status": "Accepted"}, (lambda: self._spawn(self._stop_transaction(state, Reason.remote),
                                                            session=True))

    def on_Reset(self, payload: dict):
        kind = payload["type"]

        async def reboot():
            reason = Reason.hard_reset if kind == "Hard" else Reason.soft_reset
            for state in self.connectors.values():
                if state.transaction_id is not None:
                    await self._stop_transaction(state, reason)
            self._reset_requested = kind
            await self._ws.close()

        return {"status": "Accepted"}, (lambda: self._spawn(reboot(), session=True))

    def on_UnlockConnector(self, payload: dict):
        state = self.connectors.get(payload["connectorId"])
        if state is None:
            return {"status": "NotSupported"}
        if state.transaction_id is None:
            return {"status": "Unlocked"}
        return {"status": "Unlocked"}, (lambda: self._spawn(self._stop_transaction(state, Reason.unlock_command),
                                                            session=True))

    def on_ChangeAvailability(self, payload: dict):
        connector_id, kind = payload["connectorId"], payload["type"]
        targets = list(self.connectors.values()) if connector_id == 0 else [self.connectors.get(connector_id)]
        if None in targets:
            return {"status": "Rejected"}
        scheduled = False
        for state in targets:
            if kind == "Inoperative" and state.transaction_id is not None:
                state.pending_unavailable = True  # OCPP 1.6 §5.2: takes effect when the transaction ends
                scheduled = True
            else:
                state.pending_unavailable = False
                state.available = kind == "Operative"

        async def report():
            for state in targets:
                if state.transaction_id is None:
                    await self._set_status(state, ChargePointStatus.available if state.available
                                           else ChargePointStatus.unavailable)

        return {"status": "Scheduled" if scheduled else "Accepted"}, report

    def _limit_from_profile(self, profile: dict) -> int | None:
        """The limit (W) of the schedule period in force now; amperes are converted with the charger's phases."""
        schedule = profile["chargingSchedule"]
        start = schedule.get("startSchedule")
        elapsed = 0.0
        if start:
            try:
                elapsed = (utc_now() - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            except ValueError:
                elapsed = 0.0
        periods = sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
        current = next((p for p in reversed(periods) if p["startPeriod"] <= elapsed), periods[0])
        limit = float(current["limit"])
        if schedule["chargingRateUnit"] == "A":
            phases = int(current.get("numberPhases") or self.config.phases)
            voltage = self.config.voltage_v if self.config.current_type == "AC" else 400
            return int(limit * voltage * (phases if self.config.current_type == "AC" else 1))
        return int(limit)

    def on_SetChargingProfile(self, payload: dict):
        profile = payload["csChargingProfiles"]
        connector_id = payload["connectorId"]
        purpose = profile["chargingProfilePurpose"]
        if connector_id != 0 and connector_id not in self.connectors:
            return {"status": "Rejected"}
        limit = self._limit_from_profile(profile)
        if purpose == "TxProfile":
            state = self.connectors.get(connector_id)
            # OCPP 1.6 §3.13.3: a TxProfile without an active transaction is rejected.
            if state is None or state.transaction_id is None:
                return {"status": "Rejected"}
            state.profile_limit_w = limit
        elif connector_id == 0:
            self.station_profile_limit_w = limit
        else:
            self.connectors[connector_id].profile_limit_w = limit
        self._refresh_power()
        return {"status": "Accepted"}

    def on_ClearChargingProfile(self, payload: dict):
        had = self.station_profile_limit_w is not None or any(
            s.profile_limit_w is not None for s in self.connectors.values())
        connector_id = payload.get("connectorId")
        if connector_id in (None, 0):
            self.station_profile_limit_w = None
        for state in self.connectors.values():
            if connector_id in (None, state.connector_id):
                state.profile_limit_w = None
        self._refresh_power()
        return {"status": "Accepted" if had else "Unknown"}

    def on_GetCompositeSchedule(self, payload: dict):
        connector_id = payload["connectorId"]
        if connector_id != 0 and connector_id not in self.connectors:
            return {"status": "Rejected"}
        state = self.connectors.get(connector_id)
        limit = self.offered_power_w(state) if state else self.station_profile_limit_w or self.config.max_power_w
        return {"status": "Accepted", "connectorId": connector_id, "scheduleStart": ocpp_time(utc_now()),
                "chargingSchedule": {"duration": payload["duration"], "chargingRateUnit": "W",
                                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(limit)}]}}

    def on_TriggerMessage(self, payload: dict):
        requested = payload["requestedMessage"]
        connector_id = payload.get("connectorId")
        if connector_id is not None and connector_id != 0 and connector_id not in self.connectors:
            return {"status": "Rejected"}
        senders = {
            "BootNotification": lambda: self._spawn(self._boot_sequence()),
            "Heartbeat": lambda: self._spawn(self.heartbeat()),
            "StatusNotification": lambda: self._spawn(self._trigger_status(connector_id)),
            "MeterValues": lambda: self._spawn(self._trigger_meter_values(connector_id)),
            "DiagnosticsStatusNotification": lambda: self._spawn(self.send_message(
                v16call.DiagnosticsStatusNotification(status="Idle"))),
            "FirmwareStatusNotification": lambda: self._spawn(self.send_message(
                v16call.FirmwareStatusNotification(status="Idle"))),
        }
        if requested not in senders:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}, senders[requested]

    async def _trigger_status(self, connector_id: int | None) -> None:
        for n in ([connector_id] if connector_id is not None else [0, *self.connectors]):
            await self.status_notification(n)

    async def _trigger_meter_values(self, connector_id: int | None) -> None:
        for n in ([connector_id] if connector_id else list(self.connectors)):
            await self.meter_values(n, context=ReadingContext.trigger)

    def on_GetConfiguration(self, payload: dict):
        keys = payload.get("key") or list(self.configuration)
        known = [{"key": k, "readonly": self.configuration[k]["readonly"], "value": self.configuration[k]["value"]}
                 for k in keys if k in self.configuration]
        unknown = [k for k in keys if k not in self.configuration]
        answer = {"configurationKey": known}
        if unknown:
            answer["unknownKey"] = unknown
        return answer

    def on_ChangeConfiguration(self, payload: dict):
        key, value = payload["key"], payload["value"]
        entry = self.configuration.get(key)
        if entry is None:
            return {"status": "NotSupported"}
        if entry["readonly"]:
            return {"status": "Rejected"}
        if key in ("HeartbeatInterval", "MeterValueSampleInterval", "ClockAlignedDataInterval",
                   "ConnectionTimeOut"):
            try:
                seconds = int(value)
            except ValueError:
                return {"status": "Rejected"}
            if seconds < 0 or (key != "ClockAlignedDataInterval" and seconds == 0):
                return {"status": "Rejected"}
            if key == "HeartbeatInterval":
                self.heartbeat_interval_s = float(seconds)
        elif key in ("AuthorizeRemoteTxRequests", "LocalAuthorizeOffline", "LocalPreAuthorize",
                     "LocalAuthListEnabled"):
            if value.lower() not in ("true", "false"):
                return {"status": "Rejected"}
            value = value.lower()
        entry["value"] = value
        return {"status": "Accepted"}

    def on_ClearCache(self, payload: dict):
        return {"status": "Accepted"}

    def on_DataTransfer(self, payload: dict):
        return {"status": "UnknownVendorId"}

    def on_GetLocalListVersion(self, payload: dict):
        return {"listVersion": self.local_list_version}

    def on_SendLocalList(self, payload: dict):
        if payload["updateType"] == "Full":
            self.local_list = {}
        elif payload["listVersion"] <= self.local_list_version:
            return {"status": "VersionMismatch"}
        for entry in payload.get("localAuthorizationList") or []:
            if entry.get("idTagInfo"):
                self.local_list[entry["idTag"].upper()] = entry["idTagInfo"]
            else:
                self.local_list.pop(entry["idTag"].upper(), None)
        self.local_list_version = payload["listVersion"]
        return {"status": "Accepted"}

    def on_ReserveNow(self, payload: dict):
        state = self.connectors.get(payload["connectorId"])
        if state is None:
            return {"status": "Rejected"}
        if not state.available:
            return {"status": "Unavailable"}
        if state.busy or state.reservation_id is not None:
            return {"status": "Occupied"}
        state.reservation_id = payload["reservationId"]
        return {"status": "Accepted"}, (lambda: self._spawn(self._set_status(state, ChargePointStatus.reserved)))

    def on_CancelReservation(self, payload: dict):
        state = next((s for s in self.connectors.values() if s.reservation_id == payload["reservationId"]), None)
        if state is None:
            return {"status": "Rejected"}
        state.reservation_id = None
        return {"status": "Accepted"}, (lambda: self._spawn(self._set_status(state, ChargePointStatus.available)))

    def on_UpdateFirmware(self, payload: dict):
        async def progress():
            for status in ("Downloading", "Downloaded", "Installing", "Installed"):
                await self.send_message(v16call.FirmwareStatusNotification(status=status))

        return {}, (lambda: self._spawn(progress()))

    def on_GetDiagnostics(self, payload: dict):
        async def progress():
            # The simulator has no log files to upload: it reports the upload as failed, which is a valid outcome.
            await self.send_message(v16call.DiagnosticsStatusNotification(status="UploadFailed"))

        return {}, (lambda: self._spawn(progress()))


async def run_chargers(chargers: list[SimulatedCharger], *, stop: asyncio.Event, ramp_per_s: float = 200.0) -> None:
    """Start chargers at `ramp_per_s` connections per second (a thundering herd after a power cut is its own
    test), and run them until `stop` is set."""
    tasks = []
    for index, charger in enumerate(chargers):
        if stop.is_set():
            break
        tasks.append(asyncio.create_task(charger.run(stop)))
        if ramp_per_s and (index + 1) % max(int(ramp_per_s / 10), 1) == 0:
            await asyncio.sleep(0.1)
    await asyncio.gather(*tasks, return_exceptions=True)

