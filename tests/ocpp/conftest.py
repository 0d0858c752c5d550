"""Fixtures for OCPP tests over a real WebSocket (Channels' communicator on evnet's ASGI application)."""
from __future__ import annotations

import base64
import json
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from apps.ocpp.hub import hubs_stop
from apps.ocpp.writer import writer_get, writers_stop
from evnet.asgi import application
from tests.factories import ConnectorFactory, StationFactory

PASSWORD = "station-secret"


def basic(user: str, password: str = PASSWORD) -> tuple[bytes, bytes]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return (b"authorization", f"Basic {token}".encode())


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Charger:
    """A test charger on a communicator: call() sends a CALL and returns the answer frame."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.ws = communicator
        self.counter = 0

    async def send_raw(self, text: str) -> None:
        await self.ws.send_to(text_data=text)

    async def receive(self, timeout: float = 5) -> list:
        return json.loads(await self.ws.receive_from(timeout=timeout))

    async def call(self, action: str, payload: dict, timeout: float = 5) -> list:
        self.counter += 1
        message_id = f"m{self.counter}"
        await self.send_raw(json.dumps([2, message_id, action, payload]))
        answer = await self.receive(timeout)
        assert answer[1] == message_id, answer
        return answer

    async def result(self, action: str, payload: dict) -> dict:
        answer = await self.call(action, payload)
        assert answer[0] == 3, answer
        return answer[2]


@asynccontextmanager
async def connected(ocpp_id: str, *, password: str = PASSWORD, path: str | None = None):
    communicator = WebsocketCommunicator(application, path or f"/ocpp/{ocpp_id}", subprotocols=["ocpp1.6"],
                                         headers=[basic(ocpp_id, password)])
    ok, subprotocol = await communicator.connect(timeout=10)
    assert ok, subprotocol
    assert subprotocol == "ocpp1.6"
    try:
        yield Charger(communicator)
    finally:
        await communicator.disconnect()


async def writer_drained() -> None:
    """Wait until everything the OCPP writer has queued so far is committed. Tests that write through another connection right after an answer use it: on the suite's
    in-memory SQLite, a write that meets the writer's open transaction fails at once ("table is locked") instead
    of waiting, as it would on a database file or on PostgreSQL."""
    await writer_get().flush()


@pytest.fixture
async def ocpp_writer():
    """Stop this event loop's OCPP hub, flush and stop its group-commit writer after the test (closes its database connection), and
    close the connection of asgiref's thread-sensitive thread where the test's own reads ran, so PostgreSQL can drop
    the test database at the end of the run."""
    yield
    await hubs_stop()
    await writers_stop()
    await sync_to_async(connections.close_all)()


@pytest.fixture
def station(db):
    station = StationFactory(ocpp_id="ZCS031974", max_power_w=7400)
    ConnectorFactory(station=station, connector_id=1, max_power_w=7400)
    return station
