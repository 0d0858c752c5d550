"""End to end through a real daphne process started the way run_evnet and production start it
(`python -m apps.ocpp.server`): HTTP 401 without a WebSocket for a wrong password, an OCPP session for the right
one, and a clean shutdown that keeps what was acknowledged. The server runs on its own SQLite file (the test
database of the suite is not visible to another process on SQLite)."""
from __future__ import annotations

import base64
import json
import socket

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.live_daphne import daphne_stop, live_daphne, python_run, server_env, station_setup_script

OCPP_ID = "LIVE-CP-1"
PASSWORD = "live-station-secret"

SETUP = station_setup_script(ocpp_id=OCPP_ID, password=PASSWORD, name="Live")


@pytest.fixture(scope="module")
def evnet_daphne(tmp_path_factory):
    var = tmp_path_factory.mktemp("live-daphne")
    env = server_env(var=var)
    python_run(env=env, script=SETUP)
    with live_daphne(env=env, log=var / "daphne.log") as server:
        yield server


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
    answer = _raw_handshake(evnet_daphne.port, "Authorization: Basic " +
                            base64.b64encode(f"{OCPP_ID}:wrong".encode()).decode() + "\r\n")
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 401 Unauthorized"
    assert b'www-authenticate: basic realm="evnet ocpp"' in rest.lower()
    assert b"upgrade: websocket" not in rest.lower()
    assert rest.endswith(b"Unknown station or wrong credentials.\n")


async def test_websockets_client_sees_401_for_missing_credentials(evnet_daphne):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{evnet_daphne.ocpp_url}/{OCPP_ID}",
                                      subprotocols=["ocpp1.6"]):
            pass
    assert refused.value.response.status_code == 401


async def test_wrong_subprotocol_is_refused_with_400(evnet_daphne):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{evnet_daphne.ocpp_url}/{OCPP_ID}",
                                      subprotocols=["ocpp2.0.1"], additional_headers=_auth(PASSWORD)):
            pass
    assert refused.value.response.status_code == 400


async def test_right_password_boots_and_heartbeats_over_live_daphne(evnet_daphne):
    async with websockets.connect(f"{evnet_daphne.ocpp_url}/{OCPP_ID}",
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
    assert daphne_stop(evnet_daphne) == 0
    check = ("import django; django.setup(); from apps.stations.models import ChargingStation; "
             f"s = ChargingStation.objects.get(ocpp_id='{OCPP_ID}'); "
             "from apps.ocpp.models import OcppMessage; "
             "print(s.vendor, s.last_heartbeat_at is not None, OcppMessage.objects.filter(station=s).count())")
    vendor, beat, logged = python_run(env=evnet_daphne.env, script=check, timeout=60).split()[-3:]
    assert vendor == "Zaptec" and beat == "True"
    # BootNotification + its answer, the broken frame, Heartbeat + its answer.
    assert int(logged) >= 5
