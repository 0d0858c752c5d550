"""SIGTERM flushes the group-commit writer: a real evnet daphne (`python -m apps.ocpp.server`, as run_evnet and
production start it) holding a charger's MeterValues in a wide gathering window writes them before it exits.

The server needs a database another process can see: a PostgreSQL database of its own next to the suite's when the
suite runs on PostgreSQL (the production path), else an SQLite file."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sqlite3
import subprocess
import time
from urllib.parse import urlparse

import psycopg
import pytest
import websockets

from tests.live_daphne import live_daphne, python_run, server_env, station_setup_script

OCPP_ID = "SIGTERM-CP-1"
PASSWORD = "sigterm-station-secret"
WINDOW_S = 10  # the writer's gathering window in the server: far longer than the shutdown may take

SETUP = station_setup_script(ocpp_id=OCPP_ID, password=PASSWORD, name="Sigterm")


@pytest.fixture
def server_database(tmp_path):
    """(DATABASE_URL for the server, function(sql) -> first column of the first row)."""
    suite_url = os.environ.get("DATABASE_URL", "")
    if suite_url.startswith("postgres"):
        parsed = urlparse(suite_url)
        name = parsed.path.lstrip("/") + "_sigterm"
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = parsed._replace(path=f"/{name}").geturl()

        def scalar(sql: str):
            with psycopg.connect(url) as conn:
                return conn.execute(sql).fetchone()[0]

        yield url, scalar
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = tmp_path / "sigterm.sqlite3"

    def scalar(sql: str):
        with sqlite3.connect(path) as conn:
            return conn.execute(sql).fetchone()[0]

    yield f"sqlite:///{path}", scalar


def test_sigterm_writes_what_the_writer_still_held(server_database, tmp_path):
    url, scalar = server_database
    env = server_env(var=tmp_path / "var", database_url=url, EVNET_OCPP_WRITER_MAX_DELAY_S=str(WINDOW_S))
    python_run(env=env, script=SETUP)
    with live_daphne(env=env, log=tmp_path / "daphne.log") as server:
        stopped_in = asyncio.run(_send_then_terminate(server.port, server.process))
        returncode = server.process.returncode
    assert returncode is not None
    # The stop cut the gathering window short instead of waiting it out …
    assert stopped_in < WINDOW_S - 2
    # … and wrote the two samples and the frame's log entry.
    assert scalar("SELECT count(*) FROM charging_metervalue") == 2
    assert scalar("SELECT count(*) FROM ocpp_ocppmessage WHERE message_id = 'mv-sigterm' AND direction = 'in'") == 1


async def _send_then_terminate(port: int, process: subprocess.Popen) -> float:
    token = base64.b64encode(f"{OCPP_ID}:{PASSWORD}".encode()).decode()
    # The socket is accepted once its connection_open is committed: one gathering window.
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{OCPP_ID}", subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": f"Basic {token}"},
                                  open_timeout=WINDOW_S * 4) as ws:
        await ws.send(json.dumps([2, "mv-sigterm", "MeterValues", {"connectorId": 1, "meterValue": [
            {"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [
                {"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"}]}]}]))
        await asyncio.sleep(1.0)  # received and queued; the window holds it for WINDOW_S
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        while process.poll() is None and time.monotonic() - started < 60:
            await asyncio.sleep(0.05)
        return time.monotonic() - started
