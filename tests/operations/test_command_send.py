"""command_send against the consumer's side of contract 1 on the real channel layer (in-memory, or Redis when
REDIS_URL is set): the answer comes back, offline / timeout / CALLERROR / bad payloads give clear errors, and
every command is recorded."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections

from apps.operations.exceptions import CommandRejected, CommandTimeout, InvalidCommand, StationOffline
from apps.operations.models import CommandRecord
from apps.operations.services import command_send, command_send_async
from apps.stations.selectors import station_group_name
from tests.factories import StationFactory, UserFactory

from .chargerside import ConsumerSide

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _station(**kwargs):
    return StationFactory(is_connected=True, **kwargs)


@database_sync_to_async
def _records(station):
    return list(CommandRecord.objects.filter(station=station).order_by("id"))


async def test_command_reaches_the_group_and_the_answer_comes_back():
    station = await _station(ocpp_id="ZCS031974")
    clerk = await database_sync_to_async(UserFactory)(username="ana.bpo")
    async with ConsumerSide("ZCS031974") as consumer:
        answer = await command_send_async(station=station, action="Reset", payload={"type": "Soft"}, timeout=5,
                                          requested_by=clerk)
    assert answer == {"status": "Accepted"}
    [sent] = consumer.commands
    assert sent["action"] == "Reset" and sent["payload"] == {"type": "Soft"} and sent["timeout"] == 5.0
    [record] = await _records(station)
    assert record.outcome == CommandRecord.Outcome.ANSWERED
    assert record.response == {"status": "Accepted"} and record.request_id == sent["request_id"]
    assert record.requested_by_id == clerk.pk and record.answered_at is not None


async def test_offline_station_is_answered_at_once_and_nothing_is_published():
    station = await database_sync_to_async(StationFactory)(ocpp_id="OFF1", is_connected=False)
    async with ConsumerSide("OFF1") as consumer:
        started = time.monotonic()
        with pytest.raises(StationOffline, match="OFF1 is offline"):
            await command_send_async(station=station, action="ClearCache", payload={}, timeout=5)
        assert time.monotonic() - started < 1
    assert consumer.commands == []
    [record] = await _records(station)
    assert record.outcome == CommandRecord.Outcome.OFFLINE


async def test_charger_callerror_becomes_command_rejected_with_its_code():
    station = await _station(ocpp_id="CP-ERR")

    def not_supported(message):
        return {"ok": False, "payload": None,
                "error": {"code": "NotSupported", "description": "No smart charging", "details": {}}}

    async with ConsumerSide("CP-ERR", not_supported):
        with pytest.raises(CommandRejected) as caught:
            await command_send_async(station=station, action="ClearChargingProfile", payload={}, timeout=5)
    assert caught.value.error_code == "NotSupported"
    assert "refused ClearChargingProfile: NotSupported (No smart charging)" in caught.value.message
    [record] = await _records(station)
    assert record.outcome == CommandRecord.Outcome.CALL_ERROR and record.response["code"] == "NotSupported"


async def test_consumer_timeout_reply_becomes_command_timeout():
    station = await _station(ocpp_id="CP-SLOW")

    def timed_out(message):
        return {"ok": False, "payload": None, "error": {"code": "timeout", "description": "", "details": {}}}

    async with ConsumerSide("CP-SLOW", timed_out):
        with pytest.raises(CommandTimeout, match="did not answer Reset in time"):
            await command_send_async(station=station, action="Reset", payload={"type": "Hard"}, timeout=1)
    [record] = await _records(station)
    assert record.outcome == CommandRecord.Outcome.TIMEOUT


async def test_no_consumer_listening_ends_in_a_timeout_not_a_hang():
    station = await _station(ocpp_id="CP-GHOST")  # marked connected, but no process holds its socket
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await command_send_async(station=station, action="ClearCache", payload={}, timeout=0.3)
    assert time.monotonic() - started < 5
    [record] = await _records(station)
    assert record.outcome == CommandRecord.Outcome.TIMEOUT


async def test_consumer_reported_offline_becomes_station_offline():
    station = await _station(ocpp_id="CP-GONE")

    def offline(message):
        return {"ok": False, "payload": None,
                "error": {"code": "station_offline", "description": "socket closed", "details": {}}}

    async with ConsumerSide("CP-GONE", offline):
        with pytest.raises(StationOffline):
            await command_send_async(station=station, action="ClearCache", payload={}, timeout=2)


@pytest.mark.parametrize("action,payload,message", [
    ("Reset", {"type": "Warm"}, "Invalid Reset payload"),
    ("Reset", {}, "Invalid Reset payload"),
    ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": 300}, "Invalid ChangeConfiguration payload"),
    ("UnlockConnector", {"connectorId": "one"}, "Invalid UnlockConnector payload"),
    ("Heartbeat", {}, "not an OCPP 1.6 command a central system can send"),
    ("Explode", {}, "not an OCPP 1.6 command"),
])
async def test_invalid_command_is_refused_before_anything_is_sent(action, payload, message):
    station = await _station(ocpp_id="CP-BAD")
    async with ConsumerSide("CP-BAD") as consumer:
        with pytest.raises(InvalidCommand, match=message):
            await command_send_async(station=station, action=action, payload=payload, timeout=2)
    assert consumer.commands == []
    assert await _records(station) == []


async def test_sync_command_send_works_from_a_thread_like_an_admin_view():
    station = await _station(ocpp_id="CP:SYNC.1")  # ':' is escaped in the group name
    assert station_group_name(ocpp_id="CP:SYNC.1") == "station.cp_3a_sync.1"

    def configuration(message):
        return {"ok": True, "error": None, "payload": {"configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}], "unknownKey": ["Nope"]}}

    async with ConsumerSide("CP:SYNC.1", configuration):
        answer = await sync_to_async(command_send)(station=station, action="GetConfiguration",
                                                   payload={"key": ["HeartbeatInterval", "Nope"]}, timeout=5)
    assert answer["configurationKey"][0]["value"] == "300" and answer["unknownKey"] == ["Nope"]


async def test_timeout_must_be_positive():
    station = await _station(ocpp_id="CP-T0")
    with pytest.raises(InvalidCommand, match="positive"):
        await command_send_async(station=station, action="ClearCache", payload={}, timeout=0)


async def test_plain_sync_callers_like_a_celery_worker_over_redis(redis_url):
    """A worker or the shell has no event loop: each command_send runs its own. Over Redis that must work call
    after call (the in-memory layer cannot cross event loops, so this runs with Redis only)."""
    station = await _station(ocpp_id="CP-WORKER")
    answers: list = []

    def worker():
        try:
            for kind in ("Soft", "Hard"):
                answers.append(command_send(station=station, action="Reset", payload={"type": kind}, timeout=5))
        finally:
            connections.close_all()  # this thread's own database connection

    async with ConsumerSide("CP-WORKER") as consumer:
        thread = threading.Thread(target=worker)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
    assert answers == [{"status": "Accepted"}, {"status": "Accepted"}]
    assert [c["payload"]["type"] for c in consumer.commands] == ["Soft", "Hard"]
