"""The simulated charger against a central system made of the `ocpp` library alone: what it sends (boot, status,
authorize, transaction, meter values following the charging curve) and how it obeys every command."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

from apps.simulator.charger import CarModel, ChargerConfig, SimulatedCharger, validate_call
from tests.simulator.central_system import CentralSystem, raw_call

PASSWORD = "sim-secret"


@contextlib.asynccontextmanager
async def running(cs: CentralSystem, ocpp_id: str = "SIM1", **config):
    config.setdefault("password", PASSWORD)
    config.setdefault("meter_interval_s", 0.2)
    config.setdefault("reconnect_min_s", 0.1)
    config.setdefault("reconnect_max_s", 0.2)
    charger = SimulatedCharger(ChargerConfig(ocpp_id=ocpp_id, url=cs.url, **config))
    stop = asyncio.Event()
    task = asyncio.create_task(charger.run(stop))
    try:
        yield charger
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def samples(meter_values_payload: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for value in meter_values_payload["meter_value"][0]["sampled_value"]:
        out.setdefault(value["measurand"], []).append(value)
    return out


async def test_charger_boots_reports_connectors_and_heartbeats_at_the_given_interval():
    async with CentralSystem(password=PASSWORD, heartbeat_interval=1) as cs, running(cs, connectors=2) as charger:
        await charger.wait_booted()
        boot = (await cs.wait_for("SIM1", "BootNotification"))[0]
        assert boot["charge_point_vendor"] == "evnet" and boot["charge_point_model"] == "SimCharger"
        statuses = await cs.wait_for("SIM1", "StatusNotification", count=3)
        assert [(s["connector_id"], s["status"]) for s in statuses] == [(0, "Available"), (1, "Available"),
                                                                         (2, "Available")]
        await cs.wait_for("SIM1", "Heartbeat", timeout=3)
        for _ in range(50):
            if charger.heartbeats_answered:
                break
            await asyncio.sleep(0.02)
        assert charger.heartbeat_interval_s == 1.0
        assert charger.heartbeats_answered >= 1


async def test_wrong_password_is_refused_and_the_charger_keeps_retrying_with_backoff():
    async with CentralSystem(password=PASSWORD) as cs, running(cs, password="wrong") as charger:
        await asyncio.sleep(0.8)
        assert cs.refused >= 2 and cs.connections == 0
        assert not charger.is_booted
        assert any("401" in error for error in charger.errors)


async def test_charger_charges_with_a_card_and_reports_cumulative_energy_until_stop():
    async with CentralSystem(password=PASSWORD) as cs, running(cs, max_power_w=11_000) as charger:
        await charger.wait_booted()
        transaction_id = await charger.plug_in(id_tag="CARD-OK")
        assert transaction_id is not None
        meter_values = await cs.wait_for("SIM1", "MeterValues", count=4)
        await charger.unplug()
        stop = (await cs.wait_for("SIM1", "StopTransaction"))[0]

    start = (await cs.wait_for("SIM1", "StartTransaction"))[0]
    assert start["id_tag"] == "CARD-OK" and start["meter_start"] == 0
    registers = [int(samples(mv)["Energy.Active.Import.Register"][0]["value"]) for mv in meter_values]
    assert registers == sorted(registers) and registers[-1] > 0
    assert all(mv["transaction_id"] == transaction_id for mv in meter_values)
    last = samples(meter_values[-1])
    assert last["Power.Active.Import"][0]["value"] == "11000"
    assert [c["phase"] for c in last["Current.Import"]] == ["L1", "L2", "L3"]
    assert last["Current.Import"][0]["value"] == "15.9"  # 11 kW over 3 phases at 230 V
    assert "SoC" not in last  # AC chargers do not know the car's state of charge
    assert stop["transaction_id"] == transaction_id and stop["reason"] == "EVDisconnected"
    assert stop["meter_stop"] >= registers[-1]
    statuses = [p["status"] for a, p in cs.points["SIM1"].messages if a == "StatusNotification"]
    assert statuses[-4:] == ["Preparing", "Charging", "Finishing", "Available"]


async def test_refused_card_does_not_start_a_transaction():
    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        assert await charger.plug_in(id_tag="STOLEN") is None
        await asyncio.sleep(0.1)
        assert "StartTransaction" not in cs.points["SIM1"].actions()
        assert charger.connectors[1].status == "Available"


async def test_dc_charger_reports_soc_and_tapers_then_suspends_when_the_battery_is_full():
    async with CentralSystem(password=PASSWORD) as cs, running(cs, current_type="DC", max_power_w=50_000) as ch:
        await ch.wait_booted()
        # A 60 Wh "battery" at 79 %: at 50 kW it crosses 80 % at once and is full within a second.
        await ch.plug_in(id_tag="CARD-OK", car=CarModel(battery_wh=60, soc_percent=79.0, max_power_w=50_000))
        for _ in range(100):
            if ch.connectors[1].status == "SuspendedEV":
                break
            await asyncio.sleep(0.05)
        meter_values = [p for a, p in cs.points["SIM1"].messages if a == "MeterValues"]
    assert ch.connectors[1].status == "SuspendedEV"
    socs = [int(samples(mv)["SoC"][0]["value"]) for mv in meter_values]
    powers = [int(samples(mv)["Power.Active.Import"][0]["value"]) for mv in meter_values]
    assert socs[-1] == 100 and socs == sorted(socs)
    assert 0 < min(p for p in powers if p) < 50_000  # tapered above 80 %
    assert powers[-1] == 0
    assert samples(meter_values[-1])["Voltage"][0]["value"] == "400"


async def test_remote_start_and_remote_stop_drive_a_transaction():
    from ocpp.v16 import call

    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        result = await point.call(call.RemoteStartTransaction(id_tag="CARD-OK", connector_id=1))
        assert result.status == "Accepted"
        start = (await cs.wait_for("SIM1", "StartTransaction"))[0]
        assert start["id_tag"] == "CARD-OK"
        for _ in range(100):  # the central system logs the CALL before the charger has read its answer
            if charger.connectors[1].transaction_id is not None:
                break
            await asyncio.sleep(0.02)
        transaction_id = charger.connectors[1].transaction_id
        # A second remote start on the busy connector is rejected.
        assert (await point.call(call.RemoteStartTransaction(id_tag="CARD-OK", connector_id=1))).status == "Rejected"
        assert (await point.call(call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"
        assert (await point.call(call.RemoteStopTransaction(transaction_id=transaction_id))).status == "Accepted"
        stop = (await cs.wait_for("SIM1", "StopTransaction"))[0]
        assert stop["reason"] == "Remote" and stop["transaction_id"] == transaction_id


async def test_charging_profile_limits_the_power_and_a_tx_profile_without_transaction_is_rejected():
    from ocpp.v16 import call

    def profile(purpose: str, limit: float, unit: str = "W") -> dict:
        return {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": purpose,
                "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": unit,
                                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}

    async with CentralSystem(password=PASSWORD) as cs, running(cs, max_power_w=11_000) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        refused = await point.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile("TxProfile",
                                                                                                         3680.0)))
        assert refused.status == "Rejected"
        await charger.plug_in(id_tag="CARD-OK")
        accepted = await point.call(call.SetChargingProfile(connector_id=1,
                                                            cs_charging_profiles=profile("TxProfile", 10.0, "A")))
        assert accepted.status == "Accepted"
        before = len(await cs.wait_for("SIM1", "MeterValues"))
        after = (await cs.wait_for("SIM1", "MeterValues", count=before + 2))[-1]
        assert samples(after)["Power.Active.Import"][0]["value"] == "6900"  # 10 A × 3 phases × 230 V
        station_wide = await point.call(call.SetChargingProfile(
            connector_id=0, cs_charging_profiles=profile("ChargePointMaxProfile", 2300.0)))
        assert station_wide.status == "Accepted"
        count = len(await cs.wait_for("SIM1", "MeterValues"))
        latest = (await cs.wait_for("SIM1", "MeterValues", count=count + 2))[-1]
        assert samples(latest)["Power.Active.Import"][0]["value"] == "2300"
        assert (await point.call(call.ClearChargingProfile())).status == "Accepted"
        assert charger.offered_power_w(charger.connectors[1]) == 11_000


async def test_configuration_commands_answer_as_the_spec_says():
    from ocpp.v16 import call

    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        got = await point.call(call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]))
        assert got.configuration_key == [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        assert got.unknown_key == ["NoSuchKey"]
        assert (await point.call(call.ChangeConfiguration(key="HeartbeatInterval", value="60"))).status == "Accepted"
        assert charger.heartbeat_interval_s == 60.0
        assert (await point.call(call.ChangeConfiguration(key="HeartbeatInterval", value="soon"))).status == \
            "Rejected"
        assert (await point.call(call.ChangeConfiguration(key="NumberOfConnectors", value="4"))).status == "Rejected"
        assert (await point.call(call.ChangeConfiguration(key="Colour", value="red"))).status == "NotSupported"
        assert (await point.call(call.TriggerMessage(requested_message="Heartbeat"))).status == "Accepted"
        await cs.wait_for("SIM1", "Heartbeat")
        assert (await point.call(call.TriggerMessage(requested_message="StatusNotification", connector_id=7))
                ).status == "Rejected"


async def test_reset_stops_the_transaction_and_reboots():
    from ocpp.v16 import call

    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        await charger.plug_in(id_tag="CARD-OK")
        point = cs.points["SIM1"]
        assert (await point.call(call.Reset(type="Hard"))).status == "Accepted"
        stop = (await cs.wait_for("SIM1", "StopTransaction"))[0]
        assert stop["reason"] == "HardReset"
        for _ in range(100):
            if cs.connections == 2 and charger.is_booted:
                break
            await asyncio.sleep(0.05)
        assert cs.connections == 2
        await cs.wait_for("SIM1", "BootNotification")  # on the new connection's central charge point


async def test_unlock_and_availability_commands():
    from ocpp.v16 import call

    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        assert (await point.call(call.UnlockConnector(connector_id=3))).status == "NotSupported"
        await charger.plug_in(id_tag="CARD-OK")
        # Inoperative while charging takes effect when the transaction ends (OCPP 1.6 §5.2).
        assert (await point.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Scheduled"
        assert (await point.call(call.UnlockConnector(connector_id=1))).status == "Unlocked"
        stop = (await cs.wait_for("SIM1", "StopTransaction"))[0]
        assert stop["reason"] == "UnlockCommand"
        for _ in range(50):
            if charger.connectors[1].status == "Unavailable":
                break
            await asyncio.sleep(0.05)
        assert charger.connectors[1].status == "Unavailable"
        assert (await point.call(call.RemoteStartTransaction(id_tag="CARD-OK"))).status == "Rejected"
        assert (await point.call(call.ChangeAvailability(connector_id=1, type="Operative"))).status == "Accepted"


async def test_unknown_actions_and_invalid_payloads_get_a_callerror_and_the_connection_stays_up():
    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        unknown = await raw_call(point, "MakeCoffee", {})
        assert unknown[0] == 4 and unknown[2] == "NotImplemented"
        invalid = await raw_call(point, "Reset", {"type": "Gentle"})
        assert invalid[0] == 4 and invalid[2] in ("FormatViolation", "PropertyConstraintViolation")
        missing = await raw_call(point, "RemoteStopTransaction", {})
        assert missing[0] == 4 and missing[2] == "ProtocolError"
        clear = await raw_call(point, "ClearCache", {})
        assert clear[0] == 3 and clear[2] == {"status": "Accepted"}
        assert (await raw_call(point, "DataTransfer", {"vendorId": "x"}))[2] == {"status": "UnknownVendorId"}
        assert charger.is_booted and cs.connections == 1


async def test_reservation_local_list_firmware_and_composite_schedule():
    from ocpp.v16 import call

    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        point = cs.points["SIM1"]
        reserved = await point.call(call.ReserveNow(connector_id=1, expiry_date="2030-01-01T00:00:00Z",
                                                    id_tag="CARD-OK", reservation_id=7))
        assert reserved.status == "Accepted"
        assert (await point.call(call.CancelReservation(reservation_id=8))).status == "Rejected"
        assert (await point.call(call.CancelReservation(reservation_id=7))).status == "Accepted"
        sent = await point.call(call.SendLocalList(list_version=3, update_type="Full", local_authorization_list=[
            {"idTag": "CARD-OK", "idTagInfo": {"status": "Accepted"}}]))
        assert sent.status == "Accepted"
        assert (await point.call(call.GetLocalListVersion())).list_version == 3
        await point.call(call.UpdateFirmware(location="http://127.0.0.1/fw.bin", retrieve_date="2030-01-01T00:00:00Z"))
        firmware = await cs.wait_for("SIM1", "FirmwareStatusNotification", count=4)
        assert [f["status"] for f in firmware] == ["Downloading", "Downloaded", "Installing", "Installed"]
        schedule = await point.call(call.GetCompositeSchedule(connector_id=1, duration=3600))
        assert schedule.status == "Accepted"


async def test_charger_reconnects_after_the_network_drops():
    async with CentralSystem(password=PASSWORD) as cs, running(cs) as charger:
        await charger.wait_booted()
        await charger.drop_connection()
        for _ in range(100):
            if cs.connections == 2 and charger.is_booted:
                break
            await asyncio.sleep(0.05)
        assert cs.connections == 2 and charger.connects == 2


def test_outgoing_messages_are_checked_against_the_ocpp_schemas():
    from ocpp.exceptions import OCPPError

    validate_call("Heartbeat", {})
    with pytest.raises(OCPPError):
        validate_call("StartTransaction", {"connectorId": 1, "idTag": "X" * 21, "meterStart": 0,
                                           "timestamp": "2026-01-01T00:00:00Z"})
