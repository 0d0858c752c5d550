"""End to end through a real daphne process started the way run_evnet and production start it
(`python -m apps.ocpp.server`): HTTP 401 without a WebSocket for a wrong password, an OCPP session for the right
one, and a clean shutdown that keeps what was acknowledged. The server runs on its own SQLite file (the test
database of the suite is not visible to another process on SQLite)."""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
OCPP_ID = "LIVE-CP-1"
PASSWORD = "live-station-secret"

SETUP = f"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from decimal import Decimal
from apps.organizations.models import Organization
from apps.sites.models import Site
from apps.stations.services import station_register
org = Organization.objects.create(name="Live", slug="live", kind="condominium", country="PT")
site = Site.objects.create(organization=org, name="Live garage", address="Rua 1", city="Lisboa", country="PT",
                           latitude=Decimal("38.7"), longitude=Decimal("-9.1"), time_zone="Europe/Lisbon",
                           currency="EUR")
station_register(ocpp_id="{OCPP_ID}", site=site, password="{PASSWORD}", max_power_w=7400,
                 connectors=[{{"connector_id": 1, "max_power_w": 7400}}])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def evnet_daphne(tmp_path_factory):
    var = tmp_path_factory.mktemp("live-daphne")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evnet.settings.test", "EVNET_VAR_DIR": str(var),
           "DATABASE_URL": f"sqlite:///{var / 'live.sqlite3'}", "REDIS_URL": "", "EVNET_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=300)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "apps.ocpp.server", "-b", "127.0.0.1", "-p", str(port),
                                "evnet.asgi:application"], cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("daphne did not start")
    yield {"port": port, "env": env, "process": process, "var": var}
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


def _auth(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{OCPP_ID}:{password}".encode()).decode()}


def _raw_handshake(port: int, headers: str) -> bytes:
    request = (f"GET /ocpp/{OCPP_ID} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: ocpp1.6\r\n{headers}\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data or (b"Content-Length" in data and not data.endswith(b"\n")):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


def test_wrong_password_gets_http_401_and_no_websocket(evnet_daphne):
    answer = _raw_handshake(evnet_daphne["port"], "Authorization: Basic " +
                            base64.b64encode(f"{OCPP_ID}:wrong".encode()).decode() + "\r\n")
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 401 Unauthorized"
    assert b'www-authenticate: basic realm="evnet ocpp"' in rest.lower()
    assert b"upgrade: websocket" not in rest.lower()
    assert rest.endswith(b"Unknown station or wrong credentials.\n")


async def test_websockets_client_sees_401_for_missing_credentials(evnet_daphne):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"ws://127.0.0.1:{evnet_daphne['port']}/ocpp/{OCPP_ID}",
                                      subprotocols=["ocpp1.6"]):
            pass
    assert refused.value.response.status_code == 401


async def test_wrong_subprotocol_is_refused_with_400(evnet_daphne):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"ws://127.0.0.1:{evnet_daphne['port']}/ocpp/{OCPP_ID}",
                                      subprotocols=["ocpp2.0.1"], additional_headers=_auth(PASSWORD)):
            pass
    assert refused.value.response.status_code == 400


async def test_right_password_boots_and_heartbeats_over_live_daphne(evnet_daphne):
    async with websockets.connect(f"ws://127.0.0.1:{evnet_daphne['port']}/ocpp/{OCPP_ID}",
                                  subprotocols=["ocpp1.6"], additional_headers=_auth(PASSWORD)) as ws:
        assert ws.subprotocol == "ocpp1.6"
        await ws.send(json.dumps([2, "b1", "BootNotification", {"chargePointVendor": "Zaptec",
                                                                 "chargePointModel": "Go"}]))
        boot = json.loads(await ws.recv())
        assert boot[:2] == [3, "b1"] and boot[2]["status"] == "Accepted" and boot[2]["interval"] == 300
        await ws.send("this is not json")
        await ws.send(json.dumps([2, "h1", "Heartbeat", {}]))
        heartbeat = json.loads(await ws.recv())
        assert heartbeat[:2] == [3, "h1"] and heartbeat[2]["currentTime"].endswith("Z")


def test_clean_shutdown_keeps_what_was_acknowledged(evnet_daphne):
    process = evnet_daphne["process"]
    process.terminate()
    assert process.wait(timeout=30) == 0
    check = ("import django; django.setup(); from apps.stations.models import ChargingStation; "
             f"s = ChargingStation.objects.get(ocpp_id='{OCPP_ID}'); "
             "from apps.ocpp.models import OcppMessage; "
             "print(s.vendor, s.last_heartbeat_at is not None, OcppMessage.objects.filter(station=s).count())")
    out = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=evnet_daphne["env"], capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    vendor, beat, logged = out[-3:]
    assert vendor == "Zaptec" and beat == "True"
    # BootNotification + its answer, the broken frame, Heartbeat + its answer.
    assert int(logged) >= 5
