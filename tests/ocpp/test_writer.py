"""The group-commit writer: many connections' writes share a transaction, a bad operation fails alone, and a stop
flushes what is queued."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone

import pytest
from channels.db import database_sync_to_async
from django.db import IntegrityError

from apps.charging.models import ChargingSession, MeterValue
from apps.ocpp.models import OcppMessage
from apps.ocpp.writer import writer_get, writers_stop
from apps.stations.live import StatusReport
from apps.stations.models import Connector
from tests.factories import ConnectorFactory, StationFactory
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
    assert await good is None and await also_good is None
    with pytest.raises(IntegrityError):
        await bad
    assert writer.stats.retried_batches == 1 and writer.stats.failed_ops == 1
    connector = await database_sync_to_async(Connector.objects.get)(station=station, connector_id=1)
    assert connector.status == "Preparing"
    # The failed operation's message is still in the log (evidence), its data is not in the database.
    assert await database_sync_to_async(set)(OcppMessage.objects.values_list("message_id", flat=True)) == {"x1", "x2"}
    assert not await database_sync_to_async(ChargingSession.objects.exists)()


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
