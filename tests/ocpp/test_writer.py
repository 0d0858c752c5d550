"""The group-commit writer: many connections' writes share a transaction, a bad operation fails alone, and a stop
flushes what is queued."""
from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from channels.db import database_sync_to_async
from django.db import IntegrityError, connection

from apps.charging.models import ChargingSession, MeterValue
from apps.ocpp.models import OcppMessage
from apps.ocpp.services import actions
from apps.ocpp.writer import writer_get, writers_stop
from apps.stations.live import ConnectionChange, StatusReport, station_firmware_status_record
from apps.stations.models import ChargingStation, Connector
from tests.factories import ConnectorFactory, IdTagFactory, StationFactory
from tests.ocpp.conftest import connected, iso

pytestmark = [pytest.mark.django_db(transaction=True)]


def _stations(n: int) -> list:
    stations = []
    for i in range(n):
        station = StationFactory(ocpp_id=f"BATCH-{i:03d}")
        ConnectorFactory(station=station, connector_id=1)
        stations.append(station)
    return stations


@pytest.fixture
def twelve_stations(db):
    return _stations(12)


async def test_meter_values_of_many_chargers_are_committed_in_shared_batches(twelve_stations, ocpp_writer):
    stations = twelve_stations
    writer = writer_get()
    writer.max_delay_s = 0.02  # a wide window makes batching certain on a loaded test machine

    async def charger(cp) -> None:
        for k in range(4):
            payload = {"connectorId": 1, "meterValue": [{"timestamp": iso(datetime.now(timezone.utc)),
                                                         "sampledValue": [{"value": str(1000 + k)}]}]}
            assert await cp.result("MeterValues", payload) == {}

    async with contextlib.AsyncExitStack() as stack:
        # Connect one by one (admission reads run beside the writer: the suite's in-memory SQLite locks whole
        # tables across connections), then send concurrently.
        chargers = [await stack.enter_async_context(connected(s.ocpp_id)) for s in stations]
        await asyncio.gather(*(charger(cp) for cp in chargers))
    assert await database_sync_to_async(MeterValue.objects.count)() == 48
    # 48 MeterValues plus connects and disconnects, in far fewer transactions than messages.
    assert writer.stats.ops >= 48 + 24
    assert writer.stats.batches < writer.stats.ops / 2
    assert writer.stats.largest_batch >= 4


def _card(station, uid: str):
    return IdTagFactory(uid=uid, organization=station.site.organization)


def _ten_minutes_ago() -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=10)


def _impossible_session(**kwargs):
    # A real constraint violation (energy is never negative), not a mock.
    return ChargingSession.objects.create(energy_wh=-1, **kwargs)


async def test_a_failing_operation_fails_alone_and_the_batch_commits(station, ocpp_writer):
    writer = writer_get()
    writer.max_delay_s = 0.05
    now = datetime.now(timezone.utc)
    good = writer.submit("status", StatusReport(station_id=station.pk, connector_number=1, status="Preparing",
                                                error_code="NoError", reported_at=now, received_at=now),
                         station_id=station.pk)
    bad = writer.submit("call", (_impossible_session, {"station_id": station.pk, "connector_number": 1,
                                                       "started_at": now, "meter_start_wh": 0}),
                        log=[OcppMessage(station_id=station.pk, direction="in", message_type=2,
                                         action="StartTransaction", message_id="x1", payload={}, created_at=now)])
    also_good = writer.submit("log", station_id=station.pk, log=[OcppMessage(
        station_id=station.pk, direction="in", message_type=2, action="Heartbeat", message_id="x2", payload={},
        created_at=now)])
    # "call" operations share lane 0 whatever the station, so this one is in the failing operation's batch.
    good_call = writer.submit("call", (station_firmware_status_record, {"station_id": station.pk,
                                                                       "status": "Installed", "at": now}))
    assert await good is None and await also_good is None and await good_call is None
    with pytest.raises(IntegrityError):
        await bad
    assert writer.stats.retried_batches == 1 and writer.stats.failed_ops == 1
    connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
    assert connector.status == "Preparing"
    station_now = await database_sync_to_async(ChargingStation.objects.get)(pk=station.pk)
    assert station_now.firmware_status == "Installed"
    # The failed operation's message is still in the log (evidence), its data is not in the database.
    assert await database_sync_to_async(set)(OcppMessage.objects.values_list("message_id", flat=True)) == {"x1", "x2"}
    assert not await database_sync_to_async(ChargingSession.objects.exists)()


async def test_the_writer_reports_how_it_kept_up_once_per_interval(station, ocpp_writer, caplog):
    writer = writer_get()
    writer.max_delay_s = 0.02
    now = datetime.now(timezone.utc)
    caplog.set_level("INFO", logger="apps.ocpp.writer")

    def heartbeats(prefix: str, n: int) -> list:
        return [writer.submit("log", station_id=station.pk, heartbeat=True, log=[OcppMessage(
            station_id=station.pk, direction="in", message_type=2, action="Heartbeat", message_id=f"{prefix}{i}",
            payload={}, created_at=now)]) for i in range(n)]

    writer.report_interval_s = 3600
    await asyncio.gather(*heartbeats("a", 3))
    assert not [r for r in caplog.records if r.name == "apps.ocpp.writer"]  # not yet an interval
    writer.report_interval_s = 0.001
    writer._reported_at -= 1
    await asyncio.gather(*heartbeats("b", 5))
    reports = [r.getMessage() for r in caplog.records if r.name == "apps.ocpp.writer"]
    # The first report counts everything since the writer started (8 operations), in batches of a few each.
    assert len(reports) == 1 and reports[0].startswith("OCPP writer: 8 operations in ")
    assert "0 batches retried, 0 operations failed" in reports[0]
    writer.report_interval_s = 0
    await asyncio.gather(*heartbeats("c", 2))
    assert len([r for r in caplog.records if r.name == "apps.ocpp.writer"]) == 1


async def test_stop_flushes_everything_queued(station, ocpp_writer):
    writer = writer_get()
    writer.max_delay_s = 30  # nothing would be written for thirty seconds, but a stop does not wait
    now = datetime.now(timezone.utc)
    for i in range(5):
        writer.submit("log", wait=False, log=[OcppMessage(station_id=station.pk, direction="out", message_type=3,
                                                          message_id=f"q{i}", payload={}, created_at=now)])
    started = asyncio.get_running_loop().time()
    await writers_stop()
    assert asyncio.get_running_loop().time() - started < 10
    assert await database_sync_to_async(OcppMessage.objects.count)() == 5


async def test_a_meter_values_answer_comes_only_after_its_rows_are_committed(station, ocpp_writer):
    """While the batch gathers, the charger has no answer and nothing is in the database; the moment the answer
    arrives, another connection sees every sample, the session's running energy and the message log."""
    writer = writer_get()
    writer.max_delay_s = 0.6  # a wide gathering window: the state before the commit lasts long enough to look at
    await database_sync_to_async(_card)(station, "CARD-W1")
    async with connected(station.ocpp_id) as cp:
        start = await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-W1", "meterStart": 1000,
                                                     "timestamp": iso(_ten_minutes_ago())})
        tx = start["transactionId"]
        before = await database_sync_to_async(MeterValue.objects.count)()
        await cp.send_raw(json.dumps([2, "mv-1", "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
            {"timestamp": iso(datetime.now(timezone.utc)), "sampledValue": [
                {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"}]}]}]))
        await asyncio.sleep(0.2)
        assert await cp.ws.receive_nothing(timeout=0.05)  # not answered yet …
        assert await database_sync_to_async(MeterValue.objects.count)() == before  # … and not written yet
        answer = await cp.receive(timeout=10)
        assert answer == [3, "mv-1", {}]
        # Answered: committed, visible to any other connection at once.
        assert await database_sync_to_async(MeterValue.objects.count)() == before + 2
        session = await database_sync_to_async(ChargingSession.objects.get)(pk=tx)
        assert session.energy_wh == 500 and session.meter_last_wh == 1500
        logged = await database_sync_to_async(OcppMessage.objects.filter(message_id="mv-1", direction="in").count)()
        assert logged == 1


async def test_two_lanes_write_each_station_in_order_and_a_failure_stays_in_its_lane(twelve_stations, ocpp_writer,
                                                                                     settings):
    """Lanes (PostgreSQL): batches of different stations commit on two connections at once; every station's
    meter values still advance its session in order; a failing "call" in lane 0 does not fail lane 1."""
    if connection.vendor != "postgresql":
        pytest.skip("lanes run on PostgreSQL (one writer connection on SQLite)")
    settings.EVNET_OCPP_WRITER_LANES = 2  # one by default
    stations = twelve_stations
    writer = writer_get()
    assert writer.lanes == 2
    writer.max_delay_s = 0.01

    for i, s in enumerate(stations):
        await database_sync_to_async(_card)(s, f"CARD-L{i}")

    async def charger(i: int, cp) -> int:
        start = await cp.result("StartTransaction", {"connectorId": 1, "idTag": f"CARD-L{i}", "meterStart": 0,
                                                     "timestamp": iso(_ten_minutes_ago())})
        for k in range(1, 6):
            await asyncio.sleep(0.01)
            payload = {"connectorId": 1, "transactionId": start["transactionId"], "meterValue": [
                {"timestamp": iso(datetime.now(timezone.utc)), "sampledValue": [{"value": str(50 * k)}]}]}
            assert await cp.result("MeterValues", payload) == {}
        return start["transactionId"]

    async with contextlib.AsyncExitStack() as stack:
        chargers = [await stack.enter_async_context(connected(s.ocpp_id)) for s in stations]
        now = datetime.now(timezone.utc)
        bad = writer.submit("call", (_impossible_session, {"station_id": stations[0].pk, "connector_number": 1,
                                                           "started_at": now, "meter_start_wh": 0}))
        transactions = await asyncio.gather(*(charger(i, cp) for i, cp in enumerate(chargers)))
        with pytest.raises(IntegrityError):
            await bad
    sessions = await database_sync_to_async(list)(ChargingSession.objects.filter(pk__in=transactions))
    assert len(sessions) == 12
    assert {s.energy_wh for s in sessions} == {250} and {s.meter_last_wh for s in sessions} == {250}
    assert await database_sync_to_async(MeterValue.objects.count)() == 60
    assert writer.stats.failed_ops == 1


async def test_a_restart_herd_is_written_in_batches_and_each_station_keeps_its_own_answer(twelve_stations,
                                                                                         ocpp_writer):
    """Connection opens, boots and closes of many stations share batches (one UPDATE each), and duplicates of a
    station inside one batch resolve as they would one at a time."""
    first, second, *others = twelve_stations
    await database_sync_to_async(ChargingStation.objects.filter(pk=second.pk).update)(
        vendor="OldVendor", model="M1", registration_status=ChargingStation.RegistrationStatus.PENDING)
    writer = writer_get()
    writer.max_delay_s = 0.05  # everything below lands in one gathering window
    now = datetime.now(timezone.utc)
    opens = [writer.submit("open", ConnectionChange(s.pk, f"sock-{s.pk}", now), station_id=s.pk)
             for s in twelve_stations]
    # The same station opening twice in one batch keeps its last socket.
    opens.append(writer.submit("open", ConnectionChange(first.pk, "sock-newer", now), station_id=first.pk))
    boots = [writer.submit("boot", actions.boot_report(station_id=s.pk, payload={
        "chargePointVendor": "Zaptec", "chargePointModel": "Go", "firmwareVersion": f"1.{i}"}, at=now),
        station_id=s.pk) for i, s in enumerate(twelve_stations)]
    # A second boot of `second` in the same batch reports only its firmware: vendor and model stay as booted.
    boots.append(writer.submit("boot", actions.boot_report(station_id=second.pk, payload={
        "chargePointVendor": "Zaptec", "chargePointModel": "Go", "firmwareVersion": "9.9"}, at=now),
        station_id=second.pk))
    await asyncio.gather(*opens)
    answers = await asyncio.gather(*boots)
    assert [a["status"] for a in answers] == ["Accepted", "Pending", *["Accepted"] * 10, "Pending"]
    assert all(a["interval"] > 0 for a in answers)

    # Closing: only the station's current socket marks it offline (compare-and-set per station in one UPDATE).
    closes = await asyncio.gather(
        writer.submit("close", ConnectionChange(first.pk, f"sock-{first.pk}"), station_id=first.pk),  # replaced
        writer.submit("close", ConnectionChange(second.pk, f"sock-{second.pk}"), station_id=second.pk),
        *(writer.submit("close", ConnectionChange(s.pk, "not-its-socket"), station_id=s.pk) for s in others[:2]))
    assert closes == [False, True, False, False]

    rows = await database_sync_to_async(lambda: {s.pk: s for s in ChargingStation.objects.filter(
        pk__in=[s.pk for s in twelve_stations])})()
    assert (rows[first.pk].is_connected, rows[first.pk].ocpp_channel) == (True, "sock-newer")
    assert (rows[second.pk].is_connected, rows[second.pk].ocpp_channel) == (False, "")
    assert all(rows[s.pk].is_connected for s in others)
    assert (rows[second.pk].vendor, rows[second.pk].model, rows[second.pk].firmware_version) == \
        ("Zaptec", "Go", "9.9")
    assert rows[others[3].pk].firmware_version == "1.5" and rows[others[3].pk].last_boot_at == now
    # Far fewer transactions than operations.
    assert writer.stats.batches <= 6 and writer.stats.ops == 13 + 13 + 4


async def test_two_boots_in_one_batch_close_the_open_session_once(station, ocpp_writer):
    await database_sync_to_async(_card)(station, "CARD-BOOT")
    t0 = datetime.now(timezone.utc) - timedelta(minutes=30)
    async with connected(station.ocpp_id) as cp:
        tx = (await cp.result("StartTransaction", {"connectorId": 1, "idTag": "CARD-BOOT", "meterStart": 5_000,
                                                   "timestamp": iso(t0)}))["transactionId"]
    writer = writer_get()
    writer.max_delay_s = 0.05
    now = datetime.now(timezone.utc)
    answers = await asyncio.gather(*(writer.submit("boot", actions.boot_report(
        station_id=station.pk, payload={"chargePointVendor": "V", "chargePointModel": "M"}, at=now),
        station_id=station.pk) for _ in range(2)))
    assert [a["status"] for a in answers] == ["Accepted", "Accepted"]
    session = await database_sync_to_async(ChargingSession.objects.get)(pk=tx)
    assert session.state == "interrupted"
    # (late_message only informs: the start was 30 minutes old when it arrived)
    assert [a["code"] for a in session.anomalies if a["code"] != "late_message"] == ["closed_by_boot"]


async def test_flush_returns_once_everything_queued_before_it_is_committed(station, ocpp_writer):
    writer = writer_get()
    writer.max_delay_s = 0.05
    now = datetime.now(timezone.utc)
    for status in ("Preparing", "Charging", "Finishing"):
        writer.submit("status", StatusReport(station_id=station.pk, connector_number=1, status=status,
                                             error_code="NoError", reported_at=now, received_at=now), wait=False)
    await writer.flush()
    connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
    assert connector.status == "Finishing"
