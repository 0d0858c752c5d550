"""Commands from any process (issue 4 §6): a charger holds its WebSocket on daphne process 1; a clerk's admin action
served by daphne process 2, and command_send called in this test process (a third process), reach it through the
Redis channel layer, and the charger's answer comes back to each caller. Needs PostgreSQL and Redis (CI runs it)."""
from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from apps.operations.exceptions import CommandTimeout, StationOffline
from apps.operations.models import CommandRecord
from apps.operations.services import command_send
from apps.stations.models import ChargingStation
from tests.factories import ConnectorFactory, StationFactory, UserFactory
from tests.live_daphne import live_daphne, server_env

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

COMMAND_TIMEOUT_S = 3


@pytest.fixture
def daphnes(transactional_db, redis_url, tmp_path):
    """Two real evnet servers serving this test's PostgreSQL database and Redis."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        if settings.EVNET_REQUIRE_SERVICES:
            pytest.fail("the two-process test needs PostgreSQL")
        pytest.skip("the two-process test needs a database shared between processes (PostgreSQL)")
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    env = server_env(var=tmp_path / "var", redis_url=redis_url,
                     database_url=f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
                     EVNET_OCPP_COMMAND_TIMEOUT_S=str(COMMAND_TIMEOUT_S), EVNET_PUBLIC_URL="http://127.0.0.1")
    with (live_daphne(env=env, log=tmp_path / "daphne1.log") as one,
          live_daphne(env=env, log=tmp_path / "daphne2.log") as two):
        yield [one.port, two.port]


class Charger:
    """A test-only charger: a real WebSocket client that boots, then records every CALL evnet sends it and answers
    with `answer(frame)` (None = stay silent)."""

    def __init__(self, port: int, ocpp_id: str, password: str = "station-secret"):
        self.url = f"ws://127.0.0.1:{port}/ocpp/{ocpp_id}"
        self.auth = "Basic " + base64.b64encode(f"{ocpp_id}:{password}".encode()).decode()
        self.calls: list[list] = []
        self.answer = lambda frame: {"status": "Accepted"}

    async def __aenter__(self):
        self.ws = await websockets.connect(self.url, subprotocols=["ocpp1.6"],
                                           additional_headers={"Authorization": self.auth}, open_timeout=10)
        await self.ws.send(json.dumps([2, "boot-1", "BootNotification",
                                       {"chargePointVendor": "Zaptec", "chargePointModel": "Go"}]))
        boot = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert boot[0] == 3 and boot[1] == "boot-1" and boot[2]["status"] == "Accepted", boot
        self.task = asyncio.create_task(self._serve())
        return self

    async def _serve(self):
        async for text in self.ws:
            frame = json.loads(text)
            if frame[0] == 2:
                self.calls.append(frame)
                result = self.answer(frame)
                if result is not None:
                    await self.ws.send(json.dumps([3, frame[1], result]))

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.ws.close()


class AdminSession:
    """A clerk's browser on one daphne process (cookies, CSRF), with the standard library only."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self, html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def post(self, path: str, fields: list[tuple[str, str]], referer_page: str) -> str:
        page = self.opener.open(self.base + referer_page, timeout=30).read().decode()
        data = urllib.parse.urlencode([("csrfmiddlewaretoken", self._csrf(page)), *fields]).encode()
        request = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + referer_page})
        return self.opener.open(request, timeout=60).read().decode()

    def login(self, username: str, password: str) -> None:
        html = self.post("/admin/login/?next=/admin/", [("username", username), ("password", password)],
                         "/admin/login/")
        assert "Log out" in html or "logout" in html, html[:500]


async def _wait_connected(station: ChargingStation, expected: bool) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        await database_sync_to_async(station.refresh_from_db)()
        if station.is_connected is expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{station.ocpp_id}.is_connected stayed {station.is_connected}")


@pytest.fixture
def station_and_clerk(transactional_db):
    station = StationFactory(ocpp_id="ZCS031974")
    ConnectorFactory(station=station, connector_id=1)
    UserFactory(username="ops-admin", is_staff=True, is_superuser=True)
    return station


async def test_command_from_process_2_and_from_a_third_process_reach_the_charger_on_process_1(
        daphnes, station_and_clerk):
    station = station_and_clerk
    port_1, port_2 = daphnes
    admin = AdminSession(port_2)
    await asyncio.to_thread(admin.login, "ops-admin", "secret-pass-123")
    async with Charger(port_1, "ZCS031974") as charger:
        await _wait_connected(station, True)
        # 1. A clerk's admin action served by process 2.
        html = await asyncio.to_thread(admin.post, "/admin/stations/chargingstation/", [
            ("action", "ops_reset"), ("_selected_action", str(station.pk)), ("apply", "1"), ("reset_type", "Soft")],
            "/admin/stations/chargingstation/")
        assert [frame[2:] for frame in charger.calls] == [["Reset", {"type": "Soft"}]]
        assert re.search(r'class="command-ok">.*?ZCS031974.*?Accepted', html, re.S), html[-3000:]

        # 2. command_send in this test process, a third process.
        charger.answer = lambda frame: {"configurationKey": [
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
        answer = await sync_to_async(command_send)(station=station, action="GetConfiguration",
                                                   payload={"key": ["HeartbeatInterval"]}, timeout=10)
        assert answer == {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
        assert charger.calls[-1][2:] == ["GetConfiguration", {"key": ["HeartbeatInterval"]}]

        # 3. The charger stays silent: the caller gets a clear timeout, from process 1's consumer.
        charger.answer = lambda frame: None
        with pytest.raises(CommandTimeout):
            await sync_to_async(command_send)(station=station, action="ClearCache", payload={}, timeout=1)

    # 4. The charger has gone: process 2 answers "offline" at once, nothing is sent.
    await _wait_connected(station, False)
    started = time.monotonic()
    html = await asyncio.to_thread(admin.post, "/admin/stations/chargingstation/", [
        ("action", "ops_clear_cache"), ("_selected_action", str(station.pk)), ("apply", "1")],
        "/admin/stations/chargingstation/")
    assert time.monotonic() - started < COMMAND_TIMEOUT_S
    assert "Station ZCS031974 is offline: ClearCache was not sent." in html
    with pytest.raises(StationOffline):
        await sync_to_async(command_send)(station=station, action="ClearCache", payload={})
    outcomes = await database_sync_to_async(
        lambda: list(CommandRecord.objects.order_by("id").values_list("action", "outcome")))()
    assert outcomes == [("Reset", "answered"), ("GetConfiguration", "answered"), ("ClearCache", "timeout"),
                        ("ClearCache", "offline"), ("ClearCache", "offline")]
