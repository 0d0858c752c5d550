"""One channel-layer receiver per process (apps/ocpp/hub.py): commands and close requests reach the connection of
the station they name, over the real channel layer, and group memberships survive the layer's group expiry."""
from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from apps.ocpp.hub import hub_get
from apps.operations.exceptions import CommandTimeout
from apps.operations.services.commands import command_send_async
from apps.stations.models import ChargingStation
from apps.stations.selectors import station_group_name
from tests.factories import ConnectorFactory, StationFactory
from tests.ocpp.conftest import connected

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def three_stations(db):
    stations = []
    for ocpp_id in ("HUB-A", "HUB-B", "HUB-C"):
        station = StationFactory(ocpp_id=ocpp_id)
        ConnectorFactory(station=station, connector_id=1)
        stations.append(station)
    return stations


async def _answer_next_call(cp, status: str) -> list:
    call = await cp.receive()
    await cp.send_raw(json.dumps([3, call[1], {"status": status}]))
    return call


async def test_each_command_reaches_only_the_station_it_names(three_stations, ocpp_writer):
    a, b, c = three_stations
    async with connected(a.ocpp_id) as cp_a, connected(b.ocpp_id) as cp_b, connected(c.ocpp_id) as cp_c:
        # Three sockets, one receiver: every station's group holds the process's one hub channel.
        hub = hub_get()
        assert set(hub.connections) == {"HUB-A", "HUB-B", "HUB-C"}
        send_b = asyncio.ensure_future(command_send_async(
            station=b, action="ChangeAvailability", payload={"connectorId": 1, "type": "Inoperative"}, timeout=5))
        call = await _answer_next_call(cp_b, "Accepted")
        assert call[2] == "ChangeAvailability"
        assert await send_b == {"status": "Accepted"}
        send_c = asyncio.ensure_future(command_send_async(station=c, action="Reset", payload={"type": "Soft"},
                                                          timeout=5))
        assert (await _answer_next_call(cp_c, "Accepted"))[2] == "Reset"
        assert await send_c == {"status": "Accepted"}
        # A saw neither command.
        assert await cp_a.ws.receive_nothing(timeout=0.3)


async def test_a_close_request_closes_only_the_named_station(three_stations, ocpp_writer):
    a, b, _ = three_stations
    async with connected(a.ocpp_id) as cp_a, connected(b.ocpp_id) as cp_b:
        await get_channel_layer().group_send(station_group_name(ocpp_id=a.ocpp_id), {
            "type": "ocpp.disconnect", "ocpp_id": a.ocpp_id, "except_connection": "", "reason": "silent"})
        closed = await cp_a.ws.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4000}
        assert (await cp_b.call("Heartbeat", {}))[0] == 3


async def test_events_for_a_station_held_elsewhere_are_ignored(three_stations, ocpp_writer):
    a, b, _ = three_stations
    async with connected(a.ocpp_id) as cp_a:
        hub = hub_get()
        # b is not held by this process: its command is another process's business (the caller times out if
        # nobody holds it), and a close request for it must not touch a.
        hub.dispatch({"type": "ocpp.command", "ocpp_id": b.ocpp_id, "action": "Reset", "payload": {"type": "Soft"},
                      "reply_channel": "", "request_id": "x"})
        hub.dispatch({"type": "ocpp.disconnect", "ocpp_id": b.ocpp_id, "except_connection": "", "reason": "x"})
        assert await cp_a.ws.receive_nothing(timeout=0.3)
        assert (await cp_a.call("Heartbeat", {}))[0] == 3


async def test_memberships_are_renewed_after_the_layer_forgets_them(three_stations, ocpp_writer):
    a = three_stations[0]
    async with connected(a.ocpp_id) as cp_a:
        hub = hub_get()
        # What the layer's group expiry (a day) does to a charger that stays connected for weeks.
        await get_channel_layer().group_discard(station_group_name(ocpp_id=a.ocpp_id), hub.channel)
        with pytest.raises(CommandTimeout):
            await command_send_async(station=a, action="ClearCache", payload={}, timeout=0.3)
        assert await cp_a.ws.receive_nothing(timeout=0.1)
        assert await hub.renew() == 1
        sending = asyncio.ensure_future(command_send_async(station=a, action="ClearCache", payload={}, timeout=5))
        assert (await _answer_next_call(cp_a, "Accepted"))[2] == "ClearCache"
        assert await sending == {"status": "Accepted"}
    station = await database_sync_to_async(ChargingStation.objects.get)(pk=a.pk)
    assert not station.is_connected
