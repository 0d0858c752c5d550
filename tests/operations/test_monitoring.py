"""Offline detection, connectivity history, uptime, message-log retention and the beat schedules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.ocpp.models import OcppMessage
from apps.operations.models import StationConnectivityEvent
from apps.operations.selectors import connector_uptime, station_live_status, station_uptime
from apps.operations.services import (connectivity_events_record, ocpp_message_log_prune, schedules_ensure,
                                      stations_monitor, stations_offline_mark)
from apps.stations.models import ChargingStation, Connector, StationStatusEvent
from tests.factories import ConnectorFactory, StationFactory

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=dt_timezone.utc)


@pytest.fixture(autouse=True)
def heartbeat_300(settings):
    settings.EVNET_OCPP_HEARTBEAT_INTERVAL_S = 300  # offline after 750 s of silence


def test_silent_station_is_marked_offline_after_two_and_a_half_heartbeats():
    silent = StationFactory(ocpp_id="SILENT", is_connected=True, last_seen_at=T0)
    chatty = StationFactory(ocpp_id="CHATTY", is_connected=True, last_seen_at=T0 + timedelta(seconds=100))
    assert stations_offline_mark(now=T0 + timedelta(seconds=751)) == ["SILENT"]
    silent.refresh_from_db()
    chatty.refresh_from_db()
    assert silent.is_connected is False and chatty.is_connected is True
    [event] = StationConnectivityEvent.objects.filter(station=silent)
    assert event.is_connected is False and event.at == T0 and "750 s" in event.reason


def test_station_heard_within_the_threshold_stays_connected():
    station = StationFactory(ocpp_id="LATE-HB", is_connected=True, last_seen_at=T0)
    assert stations_offline_mark(now=T0 + timedelta(seconds=749)) == []
    station.refresh_from_db()
    assert station.is_connected is True
    assert not StationConnectivityEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_silent_socket_still_open_is_asked_to_close():
    station = await database_sync_to_async(StationFactory)(ocpp_id="HALF-OPEN", is_connected=True, last_seen_at=T0)
    async with ConsumerSide("HALF-OPEN") as consumer:
        assert await sync_to_async(stations_offline_mark)(now=T0 + timedelta(hours=1)) == ["HALF-OPEN"]
        await asyncio.sleep(0.2)
    [message] = consumer.received
    assert message == {"type": "ocpp.disconnect", "ocpp_id": "HALF-OPEN", "except_connection": "",
                       "reason": message["reason"]}
    assert "No message for more than 750 s" in message["reason"]
    await database_sync_to_async(station.refresh_from_db)()
    assert station.is_connected is False


def test_connectivity_history_follows_the_connected_flag():
    station = StationFactory(ocpp_id="FLAP", is_connected=True, last_seen_at=T0)
    StationFactory(ocpp_id="NEVER", is_connected=False)  # never seen online: nothing recorded
    assert connectivity_events_record(now=T0) == 1
    assert connectivity_events_record(now=T0) == 0  # idempotent
    ChargingStation.objects.filter(pk=station.pk).update(is_connected=False,
                                                         last_seen_at=T0 + timedelta(hours=1))
    assert connectivity_events_record(now=T0 + timedelta(hours=1, minutes=1)) == 1
    assert list(StationConnectivityEvent.objects.filter(station=station).values_list("is_connected", "at")) == [
        (True, T0), (False, T0 + timedelta(hours=1))]


def test_monitor_pass_marks_offline_and_records_history_once():
    StationFactory(ocpp_id="GONE", is_connected=True, last_seen_at=T0)
    result = stations_monitor(now=T0 + timedelta(hours=1))
    assert result == {"marked_offline": ["GONE"], "events_recorded": 0}
    assert StationConnectivityEvent.objects.count() == 1


def test_station_uptime_from_connectivity_and_status_history():
    station = StationFactory(ocpp_id="UPTIME")
    # Online 08:00, offline 10:00-11:00, online again; connector 0 Faulted 12:00-12:30.
    for at, connected in [(T0, True), (T0 + timedelta(hours=2), False), (T0 + timedelta(hours=3), True)]:
        StationConnectivityEvent.objects.create(station=station, is_connected=connected, at=at)
    for at, status in [(T0 + timedelta(hours=4), "Faulted"), (T0 + timedelta(hours=4, minutes=30), "Available")]:
        StationStatusEvent.objects.create(station=station, connector_number=0, status=status, reported_at=at,
                                          received_at=at)
    uptime = station_uptime(station=station, start_at=T0, end_at=T0 + timedelta(hours=8))
    assert uptime.monitored_s == 8 * 3600
    assert uptime.online_s == 8 * 3600 - 3600 - 1800
    assert str(uptime) == "81.25%"


def test_uptime_before_any_history_is_not_monitored():
    station = StationFactory(ocpp_id="NEW")
    uptime = station_uptime(station=station, start_at=T0, end_at=T0 + timedelta(days=1))
    assert uptime.percent is None and str(uptime) == "not monitored"
    with pytest.raises(ValueError, match="end after it starts"):
        station_uptime(station=station, start_at=T0, end_at=T0)


def test_connector_uptime_counts_faults_and_station_outages():
    station = StationFactory(ocpp_id="CONN")
    for at, status in [(T0, "Available"), (T0 + timedelta(hours=1), "Charging"),
                       (T0 + timedelta(hours=2), "Faulted"), (T0 + timedelta(hours=3), "Available")]:
        StationStatusEvent.objects.create(station=station, connector_number=1, status=status, reported_at=at,
                                          received_at=at)
    StationConnectivityEvent.objects.create(station=station, is_connected=True, at=T0)
    StationConnectivityEvent.objects.create(station=station, is_connected=False, at=T0 + timedelta(hours=3))
    uptime = connector_uptime(station=station, connector_number=1, start_at=T0 - timedelta(hours=1),
                              end_at=T0 + timedelta(hours=4))
    assert uptime.monitored_s == 4 * 3600  # the hour before the first report is not monitored
    assert uptime.online_s == 2 * 3600 and str(uptime) == "50.00%"


def test_live_status_text_as_the_garage_screen():
    station = StationFactory(ocpp_id="LIVE", is_connected=True)
    ConnectorFactory(station=station, connector_id=1, status=Connector.Status.CHARGING, power_w=2400,
                     allocated_power_w=4600)
    ConnectorFactory(station=station, connector_id=2, status=Connector.Status.AVAILABLE)
    assert station_live_status(station=station) == "#1: Charging at 2.4 kW of 4.6 kW allocated; #2: Car disconnected"
    station.is_connected = False
    assert station_live_status(station=station) == "Offline"


def test_message_log_older_than_the_retention_is_deleted(settings):
    settings.EVNET_OCPP_MESSAGE_LOG_DAYS = 30
    station = StationFactory(ocpp_id="LOG")
    now = timezone.now()
    for days in (45, 31, 29, 1):
        OcppMessage.objects.create(station=station, direction="in", message_type=2, action="Heartbeat",
                                   message_id=f"d{days}", payload={}, created_at=now - timedelta(days=days))
    assert ocpp_message_log_prune(now=now, batch_size=1) == 2
    assert sorted(OcppMessage.objects.values_list("message_id", flat=True)) == ["d1", "d29"]
    assert ocpp_message_log_prune(now=now) == 0


def test_schedules_are_ensured_idempotently():
    schedules_ensure()
    PeriodicTask.objects.filter(name__startswith="operations:").update(enabled=False)
    schedules_ensure()
    tasks = {t.name: (t.task, t.interval.every, t.enabled) for t in PeriodicTask.objects.filter(
        name__startswith="operations:")}
    assert tasks == {
        "operations: mark silent stations offline": ("apps.operations.tasks.stations_monitor_task", 60, True),
        "operations: prune the OCPP message log": ("apps.operations.tasks.ocpp_message_log_prune_task", 3600, True),
    }
