"""Transactions over a real WebSocket: authorization, start/meter/stop, and the integrity cases peers get wrong
(SteVe #1293/#1294/#156, libocpp #495)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from channels.db import database_sync_to_async

from apps.charging.models import ChargingSession, MeterValue
from apps.stations.models import ChargingStation, Connector, StationPermission
from apps.users.models import IdTag
from tests.factories import IdTagFactory, StationFactory
from tests.ocpp.conftest import connected, iso

pytestmark = [pytest.mark.django_db(transaction=True)]


def _codes(session: ChargingSession) -> list[str]:
    """The anomalies that need a clerk (late_message only informs)."""
    return [a["code"] for a in session.anomalies if a["code"] != "late_message"]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@database_sync_to_async
def _session(pk: int) -> ChargingSession:
    return ChargingSession.objects.get(pk=pk)


@database_sync_to_async
def _card(station, uid="CARD-1", **fields) -> IdTag:
    return IdTagFactory(uid=uid, organization=station.site.organization, **fields)


def _meter(at: datetime, wh: int, watts: int | None = None, tx: int | None = None, connector: int = 1) -> dict:
    sampled = [{"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh",
                "context": "Sample.Periodic"}]
    if watts is not None:
        sampled.append({"value": str(watts / 1000), "measurand": "Power.Active.Import", "unit": "kW"})
    payload = {"connectorId": connector, "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}]}
    if tx is not None:
        payload["transactionId"] = tx
    return payload


async def test_authorize_answers_each_card_status(station, ocpp_writer):
    await _card(station, "GOOD")
    await _card(station, "LOST", status=IdTag.Status.BLOCKED)
    await _card(station, "OLD", expires_at=_now() - timedelta(days=1))
    async with connected(station.ocpp_id) as cp:
        assert (await cp.result("Authorize", {"idTag": "good"}))["idTagInfo"] == {"status": "Accepted"}
        assert (await cp.result("Authorize", {"idTag": "LOST"}))["idTagInfo"]["status"] == "Blocked"
        assert (await cp.result("Authorize", {"idTag": "OLD"}))["idTagInfo"]["status"] == "Expired"
        assert (await cp.result("Authorize", {"idTag": "NOBODY"}))["idTagInfo"] == {"status": "Invalid"}


async def test_restricted_station_accepts_only_cards_with_a_permission(station, ocpp_writer):
    await database_sync_to_async(ChargingStation.objects.filter(pk=station.pk).update)(
        access_mode=ChargingStation.AccessMode.RESTRICTED)
    allowed = await _card(station, "ALLOWED")
    await _card(station, "NEIGHBOUR")
    await database_sync_to_async(StationPermission.objects.create)(station=station, id_tag=allowed)
    async with connected(station.ocpp_id) as cp:
        assert (await cp.result("Authorize", {"idTag": "ALLOWED"}))["idTagInfo"]["status"] == "Accepted"
        assert (await cp.result("Authorize", {"idTag": "NEIGHBOUR"}))["idTagInfo"]["status"] == "Invalid"


async def test_card_of_another_organization_is_invalid_at_an_organization_station(station, ocpp_writer):
    await database_sync_to_async(IdTagFactory)(uid="STRANGER")
    async with connected(station.ocpp_id) as cp:
        assert (await cp.result("Authorize", {"idTag": "STRANGER"}))["idTagInfo"]["status"] == "Invalid"


async def test_card_charging_elsewhere_is_concurrent_tx(station, ocpp_writer):
    card = await _card(station, "BUSY")
    other = await database_sync_to_async(StationFactory)(site=station.site, ocpp_id="OTHER-1")
    await database_sync_to_async(ChargingSession.objects.create)(station=other, connector_number=1, id_tag=card,
                                                        id_tag_uid="BUSY", started_at=_now(), meter_start_wh=0)
    async with connected(station.ocpp_id) as cp:
        answer = await cp.result("StartTransaction", {"connectorId": 1, "idTag": "BUSY", "meterStart": 0,
                                                      "timestamp": iso(_now())})
        assert answer["idTagInfo"]["status"] == "ConcurrentTx"
        assert isinstance(answer["transactionId"], int)


async def test_charge_start_meter_stop_bills_the_register_increase(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(minutes=10)
    async with connected(station.ocpp_id) as cp:
        start = await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 1_000_000,
                                                     "timestamp": iso(t0)})
        assert start["idTagInfo"]["status"] == "Accepted"
        tx = start["transactionId"]
        assert await cp.result("MeterValues", _meter(t0 + timedelta(minutes=5), 1_000_600, 7200, tx)) == {}
        connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
        assert connector.power_w == 7200
        running = await _session(tx)
        assert running.energy_wh == 600 and running.state == "active"
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=8), 1_000_900, 0, tx))
        stop = await cp.result("StopTransaction", {"transactionId": tx, "meterStop": 1_000_900, "idTag": "CARD-1",
                                                   "timestamp": iso(t0 + timedelta(minutes=10)),
                                                   "reason": "EVDisconnected"})
        assert stop == {"idTagInfo": {"status": "Accepted"}}
    session = await _session(tx)
    assert session.state == "completed" and session.energy_wh == 900
    assert session.meter_stop_wh == 1_000_900 and session.stop_reason == "EVDisconnected"
    # Power fell to 0 at minute 8: idle time counts from there.
    assert session.charging_ended_at == t0 + timedelta(minutes=8)
    assert not session.needs_attention and session.anomalies == []
    connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
    assert connector.power_w == 0


async def test_retransmitted_start_returns_the_same_transaction_id(station, ocpp_writer):
    await _card(station, "CARD-1")
    payload = {"connectorId": 1, "idTag": "CARD-1", "meterStart": 5000, "timestamp": iso(_now())}
    async with connected(station.ocpp_id) as cp:
        first = await cp.result("StartTransaction", payload)
        again = await cp.result("StartTransaction", payload)
        other = await cp.result("StartTransaction", {**payload, "meterStart": 5001})
    assert again["transactionId"] == first["transactionId"]
    assert other["transactionId"] != first["transactionId"]
    same = ChargingSession.objects.filter(station=station, meter_start_wh=5000)
    assert await database_sync_to_async(same.count)() == 1


async def test_second_stop_is_answered_and_flagged_without_changing_totals(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(minutes=10)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 0,
                                                   "timestamp": iso(t0)}))["transactionId"]
        stop = {"transactionId": tx, "meterStop": 500, "timestamp": iso(t0 + timedelta(minutes=5))}
        assert await cp.result("StopTransaction", stop) == {}
        answer = await cp.call("StopTransaction", {**stop, "meterStop": 9000})
        assert answer[0] == 3 and answer[2] == {}
    session = await _session(tx)
    assert session.energy_wh == 500 and session.meter_stop_wh == 500
    assert session.needs_attention and _codes(session) == ["duplicate_stop"]


async def test_stop_for_unknown_transaction_is_answered_and_queued_for_a_clerk(station, ocpp_writer):
    await _card(station, "CARD-1")
    at = _now()
    async with connected(station.ocpp_id) as cp:
        payload = {"transactionId": -1, "meterStop": 1234, "timestamp": iso(at), "idTag": "CARD-1"}
        assert await cp.result("StopTransaction", payload) == {"idTagInfo": {"status": "Accepted"}}
        # The charger retries: same answer, still one anomaly row.
        assert await cp.result("StopTransaction", payload) == {"idTagInfo": {"status": "Accepted"}}
        unknown_card = await cp.result("StopTransaction", {**payload, "idTag": "NOBODY"})
        assert unknown_card == {"idTagInfo": {"status": "Invalid"}}
    rows = await database_sync_to_async(list)(ChargingSession.objects.filter(station=station, needs_attention=True,
                                                                    id_tag_uid="CARD-1"))
    assert len(rows) == 1
    assert rows[0].anomalies[0]["code"] == "unknown_transaction_stop" and rows[0].energy_wh == 0
    assert "transactionId -1" in rows[0].anomalies[0]["detail"]


async def test_meter_reset_is_flagged_and_never_billed_negative(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(hours=1)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 50_000,
                                                   "timestamp": iso(t0)}))["transactionId"]
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=10), 51_000, tx=tx))
        # The register restarts from zero (meter reset); 200 Wh were charged since.
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=12), 200, tx=tx))
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=20), 1_200, tx=tx))
        await cp.result("StopTransaction", {"transactionId": tx, "meterStop": 1_200,
                                            "timestamp": iso(t0 + timedelta(minutes=20))})
    session = await _session(tx)
    assert session.energy_wh == 1000 + 200 + 1000
    assert session.needs_attention
    assert _codes(session) == ["meter_backwards"]


async def test_implausible_meter_jump_is_flagged_and_not_billed(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(hours=1)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 0,
                                                   "timestamp": iso(t0)}))["transactionId"]
        # 7.4 kW for one minute is ~123 Wh; 500 kWh is a broken meter.
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=1), 500_000, tx=tx))
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=2), 500_100, tx=tx))
        running = await _session(tx)
        assert running.energy_wh == 100 and running.needs_attention
        await cp.result("StopTransaction", {"transactionId": tx, "meterStop": 500_100,
                                            "timestamp": iso(t0 + timedelta(minutes=3))})
    session = await _session(tx)
    assert session.energy_wh == 100
    assert _codes(session) == ["meter_jump"]


async def test_boot_closes_the_session_a_power_cut_left_open(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(minutes=40)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 10_000,
                                                   "timestamp": iso(t0)}))["transactionId"]
        await cp.result("MeterValues", _meter(t0 + timedelta(minutes=15), 11_500, tx=tx))
        boot = await cp.result("BootNotification", {"chargePointVendor": "Zaptec", "chargePointModel": "Pro",
                                                    "firmwareVersion": "2.1.0", "iccid": "8935101", "imsi": "268"})
        assert boot["status"] == "Accepted"
        session = await _session(tx)
        assert session.state == "interrupted" and session.needs_attention
        assert session.meter_stop_wh == 11_500 and session.energy_wh == 1500
        assert session.stopped_at == t0 + timedelta(minutes=15)
        assert _codes(session) == ["closed_by_boot"]
        # The charger's queued StopTransaction arrives after the boot: its figures replace the estimate.
        await cp.result("StopTransaction", {"transactionId": tx, "meterStop": 11_800,
                                            "timestamp": iso(t0 + timedelta(minutes=20))})
    session = await _session(tx)
    assert session.state == "completed" and session.energy_wh == 1800
    assert _codes(session) == ["closed_by_boot", "late_stop_after_boot"]
    refreshed = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert (refreshed.vendor, refreshed.model, refreshed.firmware_version, refreshed.iccid) == \
        ("Zaptec", "Pro", "2.1.0", "8935101")


async def test_late_transaction_after_offline_keeps_the_chargers_timestamps(station, ocpp_writer):
    await _card(station, "CARD-1")
    t0 = _now() - timedelta(hours=6)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-1", "meterStart": 0,
                                                   "timestamp": iso(t0)}))["transactionId"]
        await cp.result("MeterValues", _meter(t0 + timedelta(hours=1), 7000, tx=tx))
        await cp.result("StopTransaction", {"transactionId": tx, "meterStop": 7000,
                                            "timestamp": iso(t0 + timedelta(hours=1))})
    session = await _session(tx)
    assert session.started_at == t0 and session.stopped_at == t0 + timedelta(hours=1)
    assert session.energy_wh == 7000
    # Informational only: a late message does not need a clerk.
    assert {a["code"] for a in session.anomalies} == {"late_message"} and not session.needs_attention


async def test_clock_aligned_values_without_transaction_are_kept_for_the_station(station, ocpp_writer):
    at = _now()
    payload = {"connectorId": 0, "meterValue": [{"timestamp": iso(at), "sampledValue": [
        {"value": "123.456", "measurand": "Energy.Active.Import.Register", "unit": "kWh", "context": "Sample.Clock"},
        {"value": "230.1", "measurand": "Voltage", "phase": "L1-N", "unit": "V", "context": "Sample.Clock"},
        {"value": "16.2", "measurand": "Current.Import", "phase": "L1", "unit": "A", "context": "Sample.Clock"},
        {"value": "49.98", "measurand": "Frequency", "context": "Sample.Clock"},
        {"value": "35.5", "measurand": "Temperature", "unit": "Celsius", "location": "Body"},
        {"value": "80", "measurand": "SoC", "unit": "Percent", "location": "EV"},
        {"value": "1.2", "measurand": "Energy.Reactive.Import.Register", "unit": "kvarh"},
        {"value": "0.98", "measurand": "Power.Factor"},
    ]}]}
    async with connected(station.ocpp_id) as cp:
        assert await cp.result("MeterValues", payload) == {}
    rows = await database_sync_to_async(list)(MeterValue.objects.filter(station=station).order_by("id").values_list(
        "session_id", "connector_number", "measurand", "value", "unit", "context"))
    assert rows == [
        (None, 0, "Energy.Active.Import.Register", 123456, "Wh", "Sample.Clock"),
        (None, 0, "Voltage", 230100, "mV", "Sample.Clock"),
        (None, 0, "Current.Import", 16200, "mA", "Sample.Clock"),
        (None, 0, "Frequency", 49980, "mHz", "Sample.Clock"),
        (None, 0, "Temperature", 35500, "m°C", ""),
        (None, 0, "SoC", 80, "%", ""),
        (None, 0, "Energy.Reactive.Import.Register", 1200, "varh", ""),
        (None, 0, "Power.Factor", 980, "‰", ""),
    ]


async def test_meter_values_for_a_foreign_transaction_are_kept_without_session(station, ocpp_writer):
    other = await database_sync_to_async(StationFactory)(site=station.site, ocpp_id="OTHER-2")
    foreign = await database_sync_to_async(ChargingSession.objects.create)(station=other, connector_number=1,
                                                                  started_at=_now(), meter_start_wh=0)
    async with connected(station.ocpp_id) as cp:
        assert await cp.result("MeterValues", _meter(_now(), 10, tx=foreign.pk)) == {}
    row = await database_sync_to_async(MeterValue.objects.get)(station=station)
    assert row.session_id is None
    assert (await _session(foreign.pk)).energy_wh == 0


async def test_pending_station_boots_pending_and_accepts_no_card(ocpp_writer, db):
    station = await database_sync_to_async(StationFactory)(ocpp_id="NEW-1",
                                                  registration_status=ChargingStation.RegistrationStatus.PENDING)
    await _card(station, "CARD-1")
    async with connected("NEW-1") as cp:
        boot = await cp.result("BootNotification", {"chargePointVendor": "ABB", "chargePointModel": "Terra"})
        assert boot["status"] == "Pending"
        assert (await cp.result("Authorize", {"idTag": "CARD-1"}))["idTagInfo"]["status"] == "Invalid"
